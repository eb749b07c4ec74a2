/*
 * Reductions of the CUDA provider: ReduceSum, ReduceMean, ReduceMax and
 * ReduceMin. Reduced axes at the end of the shape are reduced in place as
 * rows; other axes are first moved to the end by a strided copy into
 * scratch memory. Axes come from the attribute (older opsets) or the
 * constant input 1.
 */
#include "cuda_provider.h"

#include <string.h>

typedef struct reduce_params {
    int op;
    int64_t axes[CUDA_MAX_RANK];
    size_t n_axes;
    bool keepdims, noop_with_empty_axes;
} reduce_params;

/* Which dims are reduced; false when an axis is out of range. */
static bool reduced_mask(const reduce_params *p, size_t rank, bool *mask)
{
    size_t axis;
    for (size_t d = 0; d < rank; d++)
        mask[d] = p->n_axes == 0;
    for (size_t i = 0; i < p->n_axes; i++) {
        if (!cuda_normalize_axis(p->axes[i], rank, &axis))
            return false;
        mask[axis] = true;
    }
    return true;
}

/* Copies x into scratch with the kept dims first and the reduced ones
 * last; *out points at the rearranged data. */
static ember_status move_reduced_last(cuda_kernel *k, ember_kernel_context *ctx,
                                      const ember_tensor *x, const bool *mask, void **out)
{
    cuda_index ix = {.rank = (int)x->rank};
    int64_t strides[CUDA_MAX_RANK];
    size_t at = 0, elem = cuda_dtype_size(x->dtype);
    cuda_row_strides(x->dims, x->rank, strides);
    for (int pass = 0; pass < 2; pass++)
        for (size_t d = 0; d < x->rank; d++)
            if (mask[d] == (pass == 1)) {
                ix.dims[at] = x->dims[d];
                ix.strides[1][at++] = strides[d];
            }
    cuda_row_strides(ix.dims, x->rank, ix.strides[0]);
    cuda_index_coalesce(&ix, 2);
    CUDA_TRY(cuda_scratch(k, cuda_numel(x->dims, x->rank) * elem, out));
    return cuda_check(k, cuda_launch_copy(elem, &ix, *out, x->data, k->prov->stream),
                      "the reduction's transposing copy");
}

static ember_status run_reduce(cuda_kernel *k, ember_kernel_context *ctx)
{
    const reduce_params *p = k->params;
    const ember_tensor *x;
    ember_tensor *y;
    bool mask[CUDA_MAX_RANK];
    int64_t dims[CUDA_MAX_RANK];
    size_t rank = 0;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    int type = cuda_elem_type(x->dtype);
    if (type != CUDA_T_F32 && type != CUDA_T_F16 && type != CUDA_T_I64 && type != CUDA_T_I32)
        return cuda_fail_dtype(k, 0, x->dtype);
    if (p->n_axes == 0 && p->noop_with_empty_axes) {
        CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y));
        return cuda_copy_d2d(k, y->data, x->data,
                             cuda_numel(x->dims, x->rank) * cuda_dtype_size(x->dtype));
    }
    if (!reduced_mask(p, x->rank, mask))
        return cuda_fail_shape(k, 0, x, "an axis is out of range");
    size_t rows = 1, cols = 1;
    bool trailing = true, seen_reduced = false; /* dims of one do not count */
    for (size_t d = 0; d < x->rank; d++) {
        if (mask[d])
            cols *= (size_t)x->dims[d];
        else
            rows *= (size_t)x->dims[d];
        if (x->dims[d] != 1 && mask[d])
            seen_reduced = true;
        else if (x->dims[d] != 1 && seen_reduced)
            trailing = false;
        if (!mask[d] || p->keepdims)
            dims[rank++] = mask[d] ? 1 : x->dims[d];
    }
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, dims, rank, &y));
    const void *src = x->data;
    void *moved = NULL;
    if (!trailing) {
        CUDA_TRY(move_reduced_last(k, ctx, x, mask, &moved));
        src = moved;
    }
    return cuda_check(k, cuda_launch_reduce_rows(p->op, type, y->data, src, (int64_t)rows,
                                                 (int64_t)cols, k->prov->stream),
                      "the reduction kernel");
}

static int reduce_op(const char *op)
{
    if (strcmp(op, "ReduceSum") == 0)
        return CUDA_RED_SUM;
    if (strcmp(op, "ReduceMean") == 0)
        return CUDA_RED_MEAN;
    return strcmp(op, "ReduceMax") == 0 ? CUDA_RED_MAX : CUDA_RED_MIN;
}

static ember_status create_reduce(cuda_kernel *k, const ember_node *node)
{
    int64_t keepdims, noop;
    CUDA_TRY(cuda_params(k, sizeof(reduce_params)));
    reduce_params *p = k->params;
    p->op = reduce_op(k->op);
    /* ReduceSum took its axes as an input from opset 13, the others from 18. */
    int64_t input_from = p->op == CUDA_RED_SUM ? 13 : 18;
    if (k->opset < input_from)
        CUDA_TRY(cuda_attr_ints(k, node, "axes", p->axes, CUDA_MAX_RANK, &p->n_axes));
    else
        CUDA_TRY(cuda_const_ints(k, node, 1, p->axes, CUDA_MAX_RANK, &p->n_axes));
    CUDA_TRY(cuda_attr_int(k, node, "keepdims", 1, &keepdims));
    CUDA_TRY(cuda_attr_int(k, node, "noop_with_empty_axes", 0, &noop));
    p->keepdims = keepdims != 0;
    p->noop_with_empty_axes = noop != 0;
    k->run = run_reduce;
    return EMBER_OK;
}

static bool check_reduce(const ember_host_api *host, const ember_node *node)
{
    return cuda_input_in(host, node, 0, CUDA_DT_ARITH) && cuda_check_move(host, node);
}

const cuda_op_entry cuda_ops_reduce[] = {
    {"ReduceSum", 1, CUDA_OPSET_MAX, check_reduce, create_reduce},
    {"ReduceMean", 1, CUDA_OPSET_MAX, check_reduce, create_reduce},
    {"ReduceMax", 1, CUDA_OPSET_MAX, check_reduce, create_reduce},
    {"ReduceMin", 1, CUDA_OPSET_MAX, check_reduce, create_reduce},
    {NULL, 0, 0, NULL, NULL},
};
