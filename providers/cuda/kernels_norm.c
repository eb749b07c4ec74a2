/*
 * Normalization kernels of the CUDA provider: inference
 * BatchNormalization, LayerNormalization, Softmax and LogSoftmax, each one
 * launch of a row-wise device kernel (cuda_norm.cu).
 */
#include "cuda_provider.h"

#include <string.h>

typedef struct norm_params {
    int64_t axis;
    float epsilon;
    bool is_log;
} norm_params;

static bool is_float_type(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_FLOAT32 || dtype == EMBER_DTYPE_FLOAT16;
}

static bool check_one_output(const ember_host_api *host, const ember_node *node)
{
    return cuda_check_float(host, node) && host->node_output_count(node) == 1;
}

/* ---- BatchNormalization ------------------------------------------------------------------ */

static ember_status run_batchnorm(cuda_kernel *k, ember_kernel_context *ctx)
{
    const norm_params *p = k->params;
    const ember_tensor *x, *param[4];
    ember_tensor *y;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    if (x->rank < 2)
        return cuda_fail_shape(k, 0, x, "BatchNormalization needs [N, C, ...]");
    for (size_t i = 0; i < 4; i++) {
        CUDA_TRY(cuda_input(k, ctx, i + 1, &param[i]));
        if (param[i]->dtype != x->dtype)
            return cuda_fail_dtype(k, i + 1, param[i]->dtype);
        if (cuda_numel(param[i]->dims, param[i]->rank) != (size_t)x->dims[1])
            return cuda_fail_shape(k, i + 1, param[i], "expected one value per channel");
    }
    if (!is_float_type(x->dtype))
        return cuda_fail_dtype(k, 0, x->dtype);
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y));
    int64_t inner = (int64_t)cuda_numel(x->dims + 2, x->rank - 2);
    return cuda_check(k, cuda_launch_batchnorm(cuda_elem_type(x->dtype), y->data, x->data,
                                               param[0]->data, param[1]->data, param[2]->data,
                                               param[3]->data, x->dims[0], x->dims[1], inner,
                                               p->epsilon, k->prov->stream),
                      "the BatchNormalization kernel");
}

static ember_status create_batchnorm(cuda_kernel *k, const ember_node *node)
{
    int64_t training;
    CUDA_TRY(cuda_params(k, sizeof(norm_params)));
    norm_params *p = k->params;
    CUDA_TRY(cuda_attr_float(k, node, "epsilon", 1e-5f, &p->epsilon));
    CUDA_TRY(cuda_attr_int(k, node, "training_mode", 0, &training));
    if (training != 0)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (BatchNormalization): training mode is not on CUDA",
                             k->name);
    k->run = run_batchnorm;
    return EMBER_OK;
}

/* ---- LayerNormalization --------------------------------------------------------------------- */

static ember_status run_layernorm(cuda_kernel *k, ember_kernel_context *ctx)
{
    const norm_params *p = k->params;
    const ember_tensor *x, *scale, *bias = NULL;
    ember_tensor *y;
    size_t axis;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    CUDA_TRY(cuda_input(k, ctx, 1, &scale));
    if (k->host->ctx_input_count(ctx) > 2)
        bias = k->host->ctx_input(ctx, 2);
    if (!cuda_normalize_axis(p->axis, x->rank, &axis))
        return cuda_fail_shape(k, 0, x, "axis is out of range");
    size_t cols = cuda_numel(x->dims + axis, x->rank - axis);
    size_t rows = cuda_numel(x->dims, axis);
    if (cuda_numel(scale->dims, scale->rank) != cols ||
        (bias && cuda_numel(bias->dims, bias->rank) != cols))
        return cuda_fail_shape(k, 1, scale,
                               "the CUDA kernel needs a scale (and bias) of the full "
                               "normalized shape");
    if (!is_float_type(x->dtype) || scale->dtype != x->dtype || (bias && bias->dtype != x->dtype))
        return cuda_fail_dtype(k, 1, scale->dtype);
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y));
    return cuda_check(k, cuda_launch_layernorm(cuda_elem_type(x->dtype), y->data, x->data,
                                               scale->data, bias ? bias->data : NULL,
                                               (int64_t)rows, (int64_t)cols, p->epsilon,
                                               k->prov->stream),
                      "the LayerNormalization kernel");
}

static ember_status create_layernorm(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(norm_params)));
    norm_params *p = k->params;
    CUDA_TRY(cuda_attr_int(k, node, "axis", -1, &p->axis));
    CUDA_TRY(cuda_attr_float(k, node, "epsilon", 1e-5f, &p->epsilon));
    k->run = run_layernorm;
    return EMBER_OK;
}

/* ---- Softmax / LogSoftmax ----------------------------------------------------------------------- */

static ember_status run_softmax(cuda_kernel *k, ember_kernel_context *ctx)
{
    const norm_params *p = k->params;
    const ember_tensor *x;
    ember_tensor *y;
    size_t axis;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    if (!is_float_type(x->dtype))
        return cuda_fail_dtype(k, 0, x->dtype);
    if (x->rank == 0 || !cuda_normalize_axis(p->axis, x->rank, &axis))
        return cuda_fail_shape(k, 0, x, "axis is out of range");
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y));
    int64_t outer = (int64_t)cuda_numel(x->dims, axis), n = x->dims[axis], inner = 1;
    if (k->opset < 13) /* the input is seen as 2-D [outer, rest] */
        n = (int64_t)cuda_numel(x->dims + axis, x->rank - axis);
    else
        inner = (int64_t)cuda_numel(x->dims + axis + 1, x->rank - axis - 1);
    return cuda_check(k, cuda_launch_softmax(cuda_elem_type(x->dtype), p->is_log, y->data,
                                             x->data, outer, n, inner, k->prov->stream),
                      "the Softmax kernel");
}

static ember_status create_softmax(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(norm_params)));
    norm_params *p = k->params;
    CUDA_TRY(cuda_attr_int(k, node, "axis", k->opset < 13 ? 1 : -1, &p->axis));
    p->is_log = strcmp(k->op, "LogSoftmax") == 0;
    k->run = run_softmax;
    return EMBER_OK;
}

const cuda_op_entry cuda_ops_norm[] = {
    {"BatchNormalization", 9, CUDA_OPSET_MAX, check_one_output, create_batchnorm},
    {"LayerNormalization", 17, CUDA_OPSET_MAX, check_one_output, create_layernorm},
    {"Softmax", 1, CUDA_OPSET_MAX, cuda_check_float, create_softmax},
    {"LogSoftmax", 1, CUDA_OPSET_MAX, cuda_check_float, create_softmax},
    {NULL, 0, 0, NULL, NULL},
};
