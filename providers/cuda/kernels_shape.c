/*
 * Shape kernels of the CUDA provider: Reshape, Flatten, Squeeze,
 * Unsqueeze, Identity (a device-to-device copy under a new shape) and
 * Expand (a broadcasting copy). Shape inputs must be constants, read at
 * kernel_create; with a computed shape the node stays with the CPU.
 */
#include "cuda_provider.h"

#include <string.h>

typedef struct shape_params {
    int64_t values[CUDA_MAX_RANK]; /* Reshape/Expand: the shape; (Un)Squeeze: axes */
    size_t n_values;
    int64_t flag; /* Reshape: allowzero; Flatten: axis */
} shape_params;

static bool check_tensor(const ember_host_api *host, const ember_node *node)
{
    ember_type_info info;
    return cuda_check_move(host, node) && host->node_input_type(node, 0, &info) &&
           info.rank >= 0;
}

/* The output gets x's bytes under `dims`. */
static ember_status emit_copy(cuda_kernel *k, ember_kernel_context *ctx, const ember_tensor *x,
                              const int64_t *dims, size_t rank)
{
    ember_tensor *y;
    if (cuda_numel(dims, rank) != cuda_numel(x->dims, x->rank))
        return cuda_fail_shape(k, 0, x, "the new shape has another element count");
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, dims, rank, &y));
    return cuda_copy_d2d(k, y->data, x->data,
                         cuda_numel(dims, rank) * cuda_dtype_size(x->dtype));
}

/* ---- Reshape ------------------------------------------------------------------------------ */

static ember_status reshape_dims(cuda_kernel *k, const ember_tensor *x, int64_t *dims)
{
    const shape_params *p = k->params;
    size_t known = 1, n = cuda_numel(x->dims, x->rank);
    long infer = -1;
    for (size_t i = 0; i < p->n_values; i++) {
        dims[i] = p->values[i];
        if (dims[i] == 0 && !p->flag)
            dims[i] = i < x->rank ? x->dims[i] : 0;
        if (dims[i] == -1 && infer < 0)
            infer = (long)i;
        else if (dims[i] < 0)
            return cuda_fail_shape(k, 0, x, "the shape has a negative dim other than one -1");
        else
            known *= (size_t)dims[i];
    }
    if (infer >= 0)
        dims[infer] = known ? (int64_t)(n / known) : 0;
    return EMBER_OK;
}

static ember_status run_reshape(cuda_kernel *k, ember_kernel_context *ctx)
{
    const shape_params *p = k->params;
    const ember_tensor *x;
    int64_t dims[CUDA_MAX_RANK];
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    CUDA_TRY(reshape_dims(k, x, dims));
    return emit_copy(k, ctx, x, dims, p->n_values);
}

static ember_status create_reshape(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(shape_params)));
    shape_params *p = k->params;
    if (k->opset < 5)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED, "node '%s' (Reshape-1): not on CUDA",
                             k->name);
    CUDA_TRY(cuda_const_ints(k, node, 1, p->values, CUDA_MAX_RANK, &p->n_values));
    if (!k->host->node_input_present(node, 1))
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (Reshape): no shape input",
                             k->name);
    CUDA_TRY(cuda_attr_int(k, node, "allowzero", 0, &p->flag));
    k->run = run_reshape;
    return EMBER_OK;
}

/* ---- Flatten ------------------------------------------------------------------------------- */

static ember_status run_flatten(cuda_kernel *k, ember_kernel_context *ctx)
{
    const shape_params *p = k->params;
    const ember_tensor *x;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    int64_t axis = p->flag < 0 ? p->flag + (int64_t)x->rank : p->flag;
    if (axis < 0 || axis > (int64_t)x->rank)
        return cuda_fail_shape(k, 0, x, "axis is out of range");
    int64_t dims[2] = {(int64_t)cuda_numel(x->dims, (size_t)axis),
                       (int64_t)cuda_numel(x->dims + axis, x->rank - (size_t)axis)};
    return emit_copy(k, ctx, x, dims, 2);
}

static ember_status create_flatten(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(shape_params)));
    shape_params *p = k->params;
    CUDA_TRY(cuda_attr_int(k, node, "axis", 1, &p->flag));
    k->run = run_flatten;
    return EMBER_OK;
}

/* ---- Squeeze / Unsqueeze ------------------------------------------------------------------------ */

/* Axes from the attribute (before opset 13) or the constant input 1. */
static ember_status read_axes(cuda_kernel *k, const ember_node *node, shape_params *p)
{
    if (k->opset < 13)
        return cuda_attr_ints(k, node, "axes", p->values, CUDA_MAX_RANK, &p->n_values);
    return cuda_const_ints(k, node, 1, p->values, CUDA_MAX_RANK, &p->n_values);
}

static ember_status run_squeeze(cuda_kernel *k, ember_kernel_context *ctx)
{
    const shape_params *p = k->params;
    const ember_tensor *x;
    bool drop[CUDA_MAX_RANK] = {false};
    int64_t dims[CUDA_MAX_RANK];
    size_t rank = 0, axis;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    for (size_t i = 0; i < p->n_values; i++) {
        if (!cuda_normalize_axis(p->values[i], x->rank, &axis) || x->dims[axis] != 1)
            return cuda_fail_shape(k, 0, x, "an axis to squeeze is out of range or not 1");
        drop[axis] = true;
    }
    for (size_t d = 0; d < x->rank; d++)
        if (!(p->n_values ? drop[d] : x->dims[d] == 1))
            dims[rank++] = x->dims[d];
    return emit_copy(k, ctx, x, dims, rank);
}

static ember_status run_unsqueeze(cuda_kernel *k, ember_kernel_context *ctx)
{
    const shape_params *p = k->params;
    const ember_tensor *x;
    bool add[CUDA_MAX_RANK] = {false};
    int64_t dims[CUDA_MAX_RANK];
    size_t axis;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    size_t out_rank = x->rank + p->n_values, next = 0;
    if (out_rank > CUDA_MAX_RANK)
        return cuda_fail_shape(k, 0, x, "the result's rank is above 8");
    for (size_t i = 0; i < p->n_values; i++) {
        if (!cuda_normalize_axis(p->values[i], out_rank, &axis) || add[axis])
            return cuda_fail_shape(k, 0, x, "an axis to insert is out of range or repeated");
        add[axis] = true;
    }
    for (size_t d = 0; d < out_rank; d++)
        dims[d] = add[d] ? 1 : x->dims[next++];
    return emit_copy(k, ctx, x, dims, out_rank);
}

static ember_status create_squeeze(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(shape_params)));
    CUDA_TRY(read_axes(k, node, k->params));
    k->run = strcmp(k->op, "Squeeze") == 0 ? run_squeeze : run_unsqueeze;
    return EMBER_OK;
}

/* ---- Identity ---------------------------------------------------------------------------------- */

static ember_status run_identity(cuda_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    return emit_copy(k, ctx, x, x->dims, x->rank);
}

static ember_status create_identity(cuda_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = run_identity;
    return EMBER_OK;
}

/* ---- Expand ------------------------------------------------------------------------------------ */

static ember_status run_expand(cuda_kernel *k, ember_kernel_context *ctx)
{
    const shape_params *p = k->params;
    const ember_tensor *x;
    ember_tensor *y;
    int64_t dims[CUDA_MAX_RANK];
    size_t rank = p->n_values > 0 ? p->n_values : 0;
    cuda_index ix;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    ember_tensor shape = {NULL, p->values, (uint32_t)p->n_values, x->dtype, x->device_type,
                          x->device_id};
    const ember_tensor *in[2] = {x, &shape};
    if (!cuda_broadcast(in, 2, dims, &rank, &ix))
        return cuda_fail_shape(k, 0, x, "does not broadcast to the shape input");
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, dims, rank, &y));
    cuda_index_expand(x->dims, x->rank, dims, rank, &ix);
    return cuda_check(k, cuda_launch_copy(cuda_dtype_size(x->dtype), &ix, y->data, x->data,
                                          k->prov->stream),
                      "the Expand copy");
}

static ember_status create_expand(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(shape_params)));
    shape_params *p = k->params;
    CUDA_TRY(cuda_const_ints(k, node, 1, p->values, CUDA_MAX_RANK, &p->n_values));
    k->run = run_expand;
    return EMBER_OK;
}

const cuda_op_entry cuda_ops_shape[] = {
    {"Reshape", 5, CUDA_OPSET_MAX, check_tensor, create_reshape},
    {"Flatten", 1, CUDA_OPSET_MAX, check_tensor, create_flatten},
    {"Squeeze", 1, CUDA_OPSET_MAX, check_tensor, create_squeeze},
    {"Unsqueeze", 1, CUDA_OPSET_MAX, check_tensor, create_squeeze},
    {"Identity", 1, CUDA_OPSET_MAX, check_tensor, create_identity},
    {"Expand", 8, CUDA_OPSET_MAX, check_tensor, create_expand},
    {NULL, 0, 0, NULL, NULL},
};
