/*
 * Pooling kernels of the CUDA provider: MaxPool and AveragePool over 1-D
 * and 2-D windows (own kernel, any padding, dilations, ceil_mode), and
 * GlobalAveragePool / GlobalMaxPool as row reductions. The output size
 * follows the ONNX formulas, as the CPU provider resolves them.
 */
#include "cuda_provider.h"

#include <string.h>

enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

typedef struct pool_params {
    int mode; /* cuda_pool_mode */
    int auto_pad;
    bool ceil_mode;
    size_t n_spatial;
    int64_t kernel[2], strides[2], dilations[2], pads[4]; /* [h, w]; pads: begins, ends */
} pool_params;

/* ---- attributes ---------------------------------------------------------------------------- */

static ember_status read_auto_pad(cuda_kernel *k, const ember_node *node, int *out)
{
    static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    char s[16];
    CUDA_TRY(cuda_attr_string(k, node, "auto_pad", "NOTSET", s, sizeof s));
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return EMBER_OK;
        }
    return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): auto_pad '%s' is unknown",
                         k->name, k->op, s);
}

/* Reads an attribute of n_spatial values into [h, w] (1-D: h is 1). */
static ember_status read_2d(cuda_kernel *k, const ember_node *node, const char *name,
                            size_t n_spatial, int64_t fill, int64_t *out)
{
    int64_t v[2];
    size_t n;
    CUDA_TRY(cuda_attr_ints(k, node, name, v, 2, &n));
    if (n != 0 && n != n_spatial)
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): '%s' has %zu values",
                             k->name, k->op, name, n);
    out[0] = n == 2 ? v[0] : fill;
    out[1] = n == 2 ? v[1] : (n == 1 ? v[0] : fill);
    return EMBER_OK;
}

static ember_status read_pads(cuda_kernel *k, const ember_node *node, pool_params *p)
{
    int64_t v[4];
    size_t n;
    CUDA_TRY(cuda_attr_ints(k, node, "pads", v, 4, &n));
    if (n != 0 && n != 2 * p->n_spatial)
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): pads has %zu values",
                             k->name, k->op, n);
    if (n == 4)
        memcpy(p->pads, v, sizeof v);
    if (n == 2) {
        p->pads[1] = v[0];
        p->pads[3] = v[1];
    }
    return EMBER_OK;
}

static ember_status run_pool(cuda_kernel *k, ember_kernel_context *ctx);

static ember_status create_pool(cuda_kernel *k, const ember_node *node)
{
    int64_t kernel[2], ceil_mode = 0, include_pad = 0;
    size_t n_kernel;
    CUDA_TRY(cuda_params(k, sizeof(pool_params)));
    pool_params *p = k->params;
    CUDA_TRY(cuda_attr_ints(k, node, "kernel_shape", kernel, 2, &n_kernel));
    if (n_kernel == 0)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): only 1-D and 2-D windows run on CUDA", k->name,
                             k->op);
    p->n_spatial = n_kernel;
    CUDA_TRY(read_auto_pad(k, node, &p->auto_pad));
    CUDA_TRY(read_2d(k, node, "kernel_shape", n_kernel, 1, p->kernel));
    CUDA_TRY(read_2d(k, node, "strides", n_kernel, 1, p->strides));
    CUDA_TRY(read_2d(k, node, "dilations", n_kernel, 1, p->dilations));
    CUDA_TRY(read_pads(k, node, p));
    CUDA_TRY(cuda_attr_int(k, node, "ceil_mode", 0, &ceil_mode));
    p->ceil_mode = ceil_mode != 0;
    if (strcmp(k->op, "MaxPool") == 0) {
        p->mode = CUDA_POOL_MAX;
    } else {
        CUDA_TRY(cuda_attr_int(k, node, "count_include_pad", 0, &include_pad));
        p->mode = include_pad ? CUDA_POOL_AVG_INCLUDE_PAD : CUDA_POOL_AVG_EXCLUDE_PAD;
    }
    k->run = run_pool;
    return EMBER_OK;
}

/* ---- geometry ------------------------------------------------------------------------------- */

/* Output size and pads of spatial dim d ([h, w]); false when the window
 * does not fit. */
static bool resolve_dim(const pool_params *p, int64_t in, int d, int64_t *out,
                        int64_t *pad_begin, int64_t *pad_end)
{
    int64_t s = p->strides[d], span = (p->kernel[d] - 1) * p->dilations[d] + 1;
    if (p->auto_pad == PAD_SAME_UPPER || p->auto_pad == PAD_SAME_LOWER) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + span - in;
        total = total > 0 ? total : 0;
        *pad_begin = p->auto_pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pad_end = total - *pad_begin;
        return true;
    }
    *pad_begin = p->auto_pad == PAD_NOTSET ? p->pads[d] : 0;
    *pad_end = p->auto_pad == PAD_NOTSET ? p->pads[2 + d] : 0;
    int64_t room = in + *pad_begin + *pad_end - span;
    if (room < 0 || s < 1)
        return false;
    *out = (p->ceil_mode ? (room + s - 1) / s : room / s) + 1;
    if (p->ceil_mode && (*out - 1) * s >= in + *pad_begin)
        (*out)--; /* the last window must start inside the input or its leading pad */
    return true;
}

static ember_status run_pool(cuda_kernel *k, ember_kernel_context *ctx)
{
    const pool_params *p = k->params;
    const ember_tensor *x;
    ember_tensor *y;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    if (x->rank != p->n_spatial + 2)
        return cuda_fail_shape(k, 0, x, "the rank does not match kernel_shape");
    if (x->dtype != EMBER_DTYPE_FLOAT32 && x->dtype != EMBER_DTYPE_FLOAT16)
        return cuda_fail_dtype(k, 0, x->dtype);
    bool is_1d = x->rank == 3;
    cuda_pool_desc d = {.nc = x->dims[0] * x->dims[1],
                        .ih = is_1d ? 1 : x->dims[2],
                        .iw = x->dims[x->rank - 1],
                        .kh = p->kernel[0], .kw = p->kernel[1],
                        .sh = p->strides[0], .sw = p->strides[1],
                        .dh = p->dilations[0], .dw = p->dilations[1]};
    if (!resolve_dim(p, d.ih, 0, &d.oh, &d.ph, &d.ph_end) ||
        !resolve_dim(p, d.iw, 1, &d.ow, &d.pw, &d.pw_end))
        return cuda_fail_shape(k, 0, x, "the window is larger than the padded input");
    int64_t dims[4] = {x->dims[0], x->dims[1], is_1d ? d.ow : d.oh, d.ow};
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, dims, x->rank, &y));
    return cuda_check(k, cuda_launch_pool(cuda_elem_type(x->dtype), p->mode, &d, y->data,
                                          x->data, k->prov->stream),
                      "the pooling kernel");
}

/* ---- global pools ---------------------------------------------------------------------------------- */

static ember_status run_global(cuda_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_tensor *y;
    int64_t dims[CUDA_MAX_RANK];
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    if (x->rank < 3)
        return cuda_fail_shape(k, 0, x, "expected [N, C, spatial...]");
    if (x->dtype != EMBER_DTYPE_FLOAT32 && x->dtype != EMBER_DTYPE_FLOAT16)
        return cuda_fail_dtype(k, 0, x->dtype);
    for (size_t i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, dims, x->rank, &y));
    int op = strcmp(k->op, "GlobalMaxPool") == 0 ? CUDA_RED_MAX : CUDA_RED_MEAN;
    int64_t rows = x->dims[0] * x->dims[1];
    int64_t cols = (int64_t)cuda_numel(x->dims + 2, x->rank - 2);
    return cuda_check(k, cuda_launch_reduce_rows(op, cuda_elem_type(x->dtype), y->data, x->data,
                                                 rows, cols, k->prov->stream),
                      "the global pooling kernel");
}

static ember_status create_global(cuda_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = run_global;
    return EMBER_OK;
}

static bool check_pool(const ember_host_api *host, const ember_node *node)
{
    ember_type_info x;
    return cuda_check_float(host, node) && host->node_output_count(node) == 1 &&
           host->node_input_type(node, 0, &x) && (x.rank == 3 || x.rank == 4);
}

const cuda_op_entry cuda_ops_pool[] = {
    {"MaxPool", 8, CUDA_OPSET_MAX, check_pool, create_pool},
    {"AveragePool", 7, CUDA_OPSET_MAX, check_pool, create_pool},
    {"GlobalAveragePool", 1, CUDA_OPSET_MAX, cuda_check_float, create_global},
    {"GlobalMaxPool", 1, CUDA_OPSET_MAX, cuda_check_float, create_global},
    {NULL, 0, 0, NULL, NULL},
};
