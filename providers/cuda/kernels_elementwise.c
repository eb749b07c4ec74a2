/*
 * Element-wise kernels of the CUDA provider: the broadcasting binary ops,
 * the unary activations, Where and Cast. Each decodes its node at
 * kernel_create and launches one device kernel (cuda_elementwise.cu).
 */
#include "cuda_provider.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef struct unary_params {
    int op;
    float alpha, beta;
} unary_params;

/* ---- claim checks ---------------------------------------------------------------------- */

static bool not_shape_like(const ember_host_api *host, const ember_node *node, size_t index)
{
    ember_type_info info;
    if (!host->node_input_type(node, index, &info))
        return false;
    bool is_int = info.dtype == EMBER_DTYPE_INT64 || info.dtype == EMBER_DTYPE_INT32;
    return !is_int || info.rank >= 2;
}

static bool check_binary(const ember_host_api *host, const ember_node *node)
{
    uint32_t dtype = cuda_input_dtype(host, node, 0);
    return host->node_input_count(node) == 2 && cuda_input_in(host, node, 0, CUDA_DT_ARITH) &&
           cuda_input_dtype(host, node, 1) == dtype && not_shape_like(host, node, 0) &&
           not_shape_like(host, node, 1);
}

static bool check_pow(const ember_host_api *host, const ember_node *node)
{
    return check_binary(host, node) && cuda_input_in(host, node, 0, CUDA_DT_FLOAT);
}

static bool check_unary(const ember_host_api *host, const ember_node *node)
{
    return cuda_input_in(host, node, 0, CUDA_DT_FLOAT);
}

static bool check_where(const ember_host_api *host, const ember_node *node)
{
    return cuda_input_in(host, node, 0, CUDA_DT(EMBER_DTYPE_BOOL)) &&
           cuda_input_in(host, node, 1, CUDA_DT_MOVE) &&
           cuda_input_dtype(host, node, 2) == cuda_input_dtype(host, node, 1) &&
           not_shape_like(host, node, 1);
}

static bool check_cast(const ember_host_api *host, const ember_node *node)
{
    return cuda_elem_type(cuda_input_dtype(host, node, 0)) != CUDA_T_NONE &&
           not_shape_like(host, node, 0);
}

/* ---- binary ------------------------------------------------------------------------------ */

static int binary_op(const char *op)
{
    static const struct {
        const char *name;
        int op;
    } ops[] = {{"Add", CUDA_BIN_ADD}, {"Sub", CUDA_BIN_SUB}, {"Mul", CUDA_BIN_MUL},
               {"Div", CUDA_BIN_DIV}, {"Pow", CUDA_BIN_POW}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, op) == 0)
            return ops[i].op;
    return -1;
}

static ember_status run_binary(cuda_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *in[2];
    ember_tensor *y;
    int64_t dims[CUDA_MAX_RANK];
    size_t rank;
    cuda_index ix;
    CUDA_TRY(cuda_input(k, ctx, 0, &in[0]));
    CUDA_TRY(cuda_input(k, ctx, 1, &in[1]));
    int type = cuda_elem_type(in[0]->dtype);
    if (in[1]->dtype != in[0]->dtype || (type != CUDA_T_F32 && type != CUDA_T_F16 &&
                                         type != CUDA_T_I64 && type != CUDA_T_I32))
        return cuda_fail_dtype(k, 1, in[1]->dtype);
    if (!cuda_broadcast(in, 2, dims, &rank, &ix))
        return cuda_fail_shape(k, 1, in[1], "does not broadcast with input 0");
    CUDA_TRY(cuda_output(k, ctx, 0, in[0]->dtype, dims, rank, &y));
    int op = *(const int *)k->params;
    return cuda_check(k, cuda_launch_binary(op, type, &ix, y->data, in[0]->data, in[1]->data,
                                            k->prov->stream),
                      "the element-wise kernel");
}

static ember_status create_binary(cuda_kernel *k, const ember_node *node)
{
    (void)node;
    CUDA_TRY(cuda_params(k, sizeof(int)));
    *(int *)k->params = binary_op(k->op);
    k->run = run_binary;
    return EMBER_OK;
}

/* ---- unary ------------------------------------------------------------------------------- */

static ember_status run_unary(cuda_kernel *k, ember_kernel_context *ctx)
{
    const unary_params *p = k->params;
    const ember_tensor *x;
    ember_tensor *y;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    int type = cuda_elem_type(x->dtype);
    if (type != CUDA_T_F32 && type != CUDA_T_F16)
        return cuda_fail_dtype(k, 0, x->dtype);
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y));
    int64_t n = (int64_t)cuda_numel(x->dims, x->rank);
    return cuda_check(k, cuda_launch_unary(p->op, type, n, y->data, x->data, p->alpha, p->beta,
                                           k->prov->stream),
                      "the activation kernel");
}

static int unary_op(const char *op)
{
    static const struct {
        const char *name;
        int op;
    } ops[] = {{"Relu", CUDA_UN_RELU},   {"Sigmoid", CUDA_UN_SIGMOID},
               {"Tanh", CUDA_UN_TANH},   {"Erf", CUDA_UN_ERF},
               {"Sqrt", CUDA_UN_SQRT},   {"LeakyRelu", CUDA_UN_LEAKY_RELU},
               {"Clip", CUDA_UN_CLIP},   {"Neg", CUDA_UN_NEG},
               {"Abs", CUDA_UN_ABS},     {"Exp", CUDA_UN_EXP},
               {"Log", CUDA_UN_LOG},     {"Reciprocal", CUDA_UN_RECIPROCAL},
               {"Gelu", CUDA_UN_GELU}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, op) == 0)
            return ops[i].op;
    return -1;
}

/* Clip's bounds: attributes before opset 11, optional constant inputs
 * after. */
static ember_status clip_bounds(cuda_kernel *k, const ember_node *node, unary_params *p)
{
    bool present;
    p->alpha = -INFINITY;
    p->beta = INFINITY;
    if (k->opset < 11) {
        CUDA_TRY(cuda_attr_float(k, node, "min", -FLT_MAX, &p->alpha));
        return cuda_attr_float(k, node, "max", FLT_MAX, &p->beta);
    }
    CUDA_TRY(cuda_const_float(k, node, 1, &p->alpha, &present));
    if (!present)
        p->alpha = -INFINITY;
    CUDA_TRY(cuda_const_float(k, node, 2, &p->beta, &present));
    if (!present)
        p->beta = INFINITY;
    return EMBER_OK;
}

static ember_status create_unary(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(unary_params)));
    unary_params *p = k->params;
    p->op = unary_op(k->op);
    if (p->op == CUDA_UN_LEAKY_RELU)
        CUDA_TRY(cuda_attr_float(k, node, "alpha", 0.01f, &p->alpha));
    if (p->op == CUDA_UN_CLIP)
        CUDA_TRY(clip_bounds(k, node, p));
    if (p->op == CUDA_UN_GELU) {
        char approximate[16];
        CUDA_TRY(cuda_attr_string(k, node, "approximate", "none", approximate,
                                  sizeof approximate));
        if (strcmp(approximate, "tanh") == 0)
            p->op = CUDA_UN_GELU_TANH;
        else if (strcmp(approximate, "none") != 0)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (Gelu): approximate='%s' is not 'none' or 'tanh'",
                                 k->name, approximate);
    }
    k->run = run_unary;
    return EMBER_OK;
}

/* ---- Where --------------------------------------------------------------------------------- */

static ember_status run_where(cuda_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *in[3];
    ember_tensor *y;
    int64_t dims[CUDA_MAX_RANK];
    size_t rank;
    cuda_index ix;
    for (size_t i = 0; i < 3; i++)
        CUDA_TRY(cuda_input(k, ctx, i, &in[i]));
    if (in[0]->dtype != EMBER_DTYPE_BOOL)
        return cuda_fail_dtype(k, 0, in[0]->dtype);
    if (in[2]->dtype != in[1]->dtype || cuda_dtype_size(in[1]->dtype) == 0)
        return cuda_fail_dtype(k, 2, in[2]->dtype);
    if (!cuda_broadcast(in, 3, dims, &rank, &ix))
        return cuda_fail_shape(k, 0, in[0], "the three inputs do not broadcast");
    CUDA_TRY(cuda_output(k, ctx, 0, in[1]->dtype, dims, rank, &y));
    return cuda_check(k, cuda_launch_where(cuda_dtype_size(in[1]->dtype), &ix, y->data,
                                           in[0]->data, in[1]->data, in[2]->data,
                                           k->prov->stream),
                      "the Where kernel");
}

static ember_status create_where(cuda_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = run_where;
    return EMBER_OK;
}

/* ---- Cast ------------------------------------------------------------------------------------ */

static ember_status run_cast(cuda_kernel *k, ember_kernel_context *ctx)
{
    uint32_t to = *(const uint32_t *)k->params;
    const ember_tensor *x;
    ember_tensor *y;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    int from_type = cuda_elem_type(x->dtype);
    if (from_type == CUDA_T_NONE)
        return cuda_fail_dtype(k, 0, x->dtype);
    CUDA_TRY(cuda_output(k, ctx, 0, to, x->dims, x->rank, &y));
    size_t n = cuda_numel(x->dims, x->rank);
    if (x->dtype == to)
        return cuda_copy_d2d(k, y->data, x->data, n * cuda_dtype_size(to));
    return cuda_check(k, cuda_launch_cast(from_type, cuda_elem_type(to), (int64_t)n, y->data,
                                          x->data, k->prov->stream),
                      "the Cast kernel");
}

static ember_status create_cast(cuda_kernel *k, const ember_node *node)
{
    int64_t to;
    CUDA_TRY(cuda_attr_int(k, node, "to", EMBER_DTYPE_UNDEFINED, &to));
    if (to <= 0 || to >= 32 || cuda_elem_type((uint32_t)to) == CUDA_T_NONE)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (Cast): the CUDA kernel does not cast to type %lld",
                             k->name, (long long)to);
    CUDA_TRY(cuda_params(k, sizeof(uint32_t)));
    *(uint32_t *)k->params = (uint32_t)to;
    k->run = run_cast;
    return EMBER_OK;
}

const cuda_op_entry cuda_ops_elementwise[] = {
    {"Add", 7, CUDA_OPSET_MAX, check_binary, create_binary},
    {"Sub", 7, CUDA_OPSET_MAX, check_binary, create_binary},
    {"Mul", 7, CUDA_OPSET_MAX, check_binary, create_binary},
    {"Div", 7, CUDA_OPSET_MAX, check_binary, create_binary},
    {"Pow", 7, CUDA_OPSET_MAX, check_pow, create_binary},
    {"Relu", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Sigmoid", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Tanh", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Erf", 9, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Sqrt", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"LeakyRelu", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Clip", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Neg", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Abs", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Exp", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Log", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Reciprocal", 6, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Gelu", 20, CUDA_OPSET_MAX, check_unary, create_unary},
    {"Where", 9, CUDA_OPSET_MAX, check_where, create_where},
    {"Cast", 6, CUDA_OPSET_MAX, check_cast, create_cast},
    {NULL, 0, 0, NULL, NULL},
};
