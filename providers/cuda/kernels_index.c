/*
 * Indexing kernels of the CUDA provider: Transpose, Slice, Concat and
 * Split (each one or more strided copies, cuda_move.cu) and Gather.
 * Slice's and Split's index inputs must be constants, read at
 * kernel_create.
 */
#include "cuda_provider.h"

#include <stdlib.h>
#include <string.h>

/* Split's outputs this kernel takes at most. */
#define MAX_SPLITS 64

typedef struct index_params {
    int64_t axis;
    int64_t perm[CUDA_MAX_RANK]; /* Transpose */
    size_t n_perm;
    int64_t starts[CUDA_MAX_RANK], ends[CUDA_MAX_RANK]; /* Slice */
    int64_t axes[CUDA_MAX_RANK], steps[CUDA_MAX_RANK];
    size_t n_slices, n_axes, n_steps;
    int64_t splits[MAX_SPLITS]; /* Split; none: equal parts */
    size_t n_splits;
} index_params;

static ember_status launch_copy(cuda_kernel *k, cuda_index *ix, void *dst, const void *src,
                                uint32_t dtype)
{
    cuda_index_coalesce(ix, 2);
    return cuda_check(k, cuda_launch_copy(cuda_dtype_size(dtype), ix, dst, src,
                                          k->prov->stream),
                      "the strided copy kernel");
}

/* ---- Transpose --------------------------------------------------------------------------- */

static ember_status run_transpose(cuda_kernel *k, ember_kernel_context *ctx)
{
    const index_params *p = k->params;
    const ember_tensor *x;
    ember_tensor *y;
    int64_t dims[CUDA_MAX_RANK], strides[CUDA_MAX_RANK];
    bool seen[CUDA_MAX_RANK] = {false};
    cuda_index ix = {0};
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    size_t rank = x->rank;
    if (p->n_perm != 0 && p->n_perm != rank)
        return cuda_fail_shape(k, 0, x, "perm does not have one entry per dim");
    cuda_row_strides(x->dims, rank, strides);
    for (size_t d = 0; d < rank; d++) {
        int64_t from = p->n_perm ? p->perm[d] : (int64_t)(rank - 1 - d);
        if (from < 0 || from >= (int64_t)rank || seen[from])
            return cuda_fail_shape(k, 0, x, "perm is not a permutation of the dims");
        seen[from] = true;
        dims[d] = x->dims[from];
        ix.strides[1][d] = strides[from];
    }
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, dims, rank, &y));
    ix.rank = (int)rank;
    memcpy(ix.dims, dims, rank * sizeof *dims);
    cuda_row_strides(dims, rank, ix.strides[0]);
    return launch_copy(k, &ix, y->data, x->data, x->dtype);
}

static ember_status create_transpose(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(index_params)));
    index_params *p = k->params;
    CUDA_TRY(cuda_attr_ints(k, node, "perm", p->perm, CUDA_MAX_RANK, &p->n_perm));
    k->run = run_transpose;
    return EMBER_OK;
}

/* ---- Slice ------------------------------------------------------------------------------------ */

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* One axis of a slice, resolved by ONNX's rules: the first element, the
 * step and the count. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first,
                       int64_t *count)
{
    start = start < 0 ? start + dim : start;
    end = end < 0 ? end + dim : end;
    if (step > 0) {
        start = clamp64(start, 0, dim);
        end = clamp64(end, 0, dim);
        *count = end > start ? (end - start + step - 1) / step : 0;
    } else {
        start = clamp64(start, 0, dim - 1);
        end = clamp64(end, -1, dim - 1);
        *count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    *first = start;
}

static ember_status run_slice(cuda_kernel *k, ember_kernel_context *ctx)
{
    const index_params *p = k->params;
    const ember_tensor *x;
    ember_tensor *y;
    int64_t strides[CUDA_MAX_RANK], first[CUDA_MAX_RANK] = {0}, step[CUDA_MAX_RANK];
    cuda_index ix = {0};
    size_t axis;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    for (size_t d = 0; d < x->rank; d++) {
        ix.dims[d] = x->dims[d];
        step[d] = 1;
    }
    for (size_t i = 0; i < p->n_slices; i++) {
        int64_t a = p->n_axes ? p->axes[i] : (int64_t)i, s = p->n_steps ? p->steps[i] : 1;
        if (!cuda_normalize_axis(a, x->rank, &axis) || s == 0)
            return cuda_fail_shape(k, 0, x, "a slice axis is out of range or its step is 0");
        step[axis] = s;
        slice_axis(x->dims[axis], p->starts[i], p->ends[i], s, &first[axis], &ix.dims[axis]);
    }
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, ix.dims, x->rank, &y));
    cuda_row_strides(x->dims, x->rank, strides);
    int64_t offset = 0;
    for (size_t d = 0; d < x->rank; d++) {
        offset += first[d] * strides[d];
        ix.strides[1][d] = strides[d] * step[d];
    }
    ix.rank = (int)x->rank;
    cuda_row_strides(ix.dims, x->rank, ix.strides[0]);
    const char *src = (const char *)x->data + offset * (int64_t)cuda_dtype_size(x->dtype);
    return launch_copy(k, &ix, y->data, src, x->dtype);
}

static ember_status create_slice(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(index_params)));
    index_params *p = k->params;
    size_t n_ends;
    if (k->opset < 10) {
        CUDA_TRY(cuda_attr_ints(k, node, "starts", p->starts, CUDA_MAX_RANK, &p->n_slices));
        CUDA_TRY(cuda_attr_ints(k, node, "ends", p->ends, CUDA_MAX_RANK, &n_ends));
        CUDA_TRY(cuda_attr_ints(k, node, "axes", p->axes, CUDA_MAX_RANK, &p->n_axes));
    } else {
        CUDA_TRY(cuda_const_ints(k, node, 1, p->starts, CUDA_MAX_RANK, &p->n_slices));
        CUDA_TRY(cuda_const_ints(k, node, 2, p->ends, CUDA_MAX_RANK, &n_ends));
        CUDA_TRY(cuda_const_ints(k, node, 3, p->axes, CUDA_MAX_RANK, &p->n_axes));
        CUDA_TRY(cuda_const_ints(k, node, 4, p->steps, CUDA_MAX_RANK, &p->n_steps));
    }
    if (n_ends != p->n_slices || (p->n_axes && p->n_axes != p->n_slices) ||
        (p->n_steps && p->n_steps != p->n_slices))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (Slice): starts, ends, axes and steps differ in length",
                             k->name);
    k->run = run_slice;
    return EMBER_OK;
}

/* ---- Concat and Split: copies along one axis ----------------------------------------------------- */

/* Copies a block of [outer, part, inner] into (or out of) a tensor of
 * [outer, whole, inner] at `at` along the middle axis. */
static ember_status copy_part(cuda_kernel *k, void *dst, const void *src, uint32_t dtype,
                              int64_t outer, int64_t part, int64_t whole, int64_t inner,
                              bool into_whole)
{
    cuda_index ix = {.rank = 2, .dims = {outer, part * inner}};
    ix.strides[0][0] = (into_whole ? whole : part) * inner;
    ix.strides[1][0] = (into_whole ? part : whole) * inner;
    ix.strides[0][1] = ix.strides[1][1] = 1;
    return launch_copy(k, &ix, dst, src, dtype);
}

static ember_status run_concat(cuda_kernel *k, ember_kernel_context *ctx)
{
    const index_params *p = k->params;
    size_t n_in = k->host->ctx_input_count(ctx), axis;
    const ember_tensor *x0, *x;
    ember_tensor *y;
    int64_t dims[CUDA_MAX_RANK];
    CUDA_TRY(cuda_input(k, ctx, 0, &x0));
    if (!cuda_normalize_axis(p->axis, x0->rank, &axis))
        return cuda_fail_shape(k, 0, x0, "axis is out of range");
    memcpy(dims, x0->dims, x0->rank * sizeof *dims);
    dims[axis] = 0;
    for (size_t i = 0; i < n_in; i++) {
        CUDA_TRY(cuda_input(k, ctx, i, &x));
        bool same = x->rank == x0->rank && x->dtype == x0->dtype;
        for (size_t d = 0; same && d < x->rank; d++)
            same = d == axis || x->dims[d] == x0->dims[d];
        if (!same)
            return cuda_fail_shape(k, i, x, "does not match input 0 off the axis");
        dims[axis] += x->dims[axis];
    }
    CUDA_TRY(cuda_output(k, ctx, 0, x0->dtype, dims, x0->rank, &y));
    int64_t outer = (int64_t)cuda_numel(dims, axis);
    int64_t inner = (int64_t)cuda_numel(dims + axis + 1, x0->rank - axis - 1), at = 0;
    size_t elem = cuda_dtype_size(x0->dtype);
    for (size_t i = 0; i < n_in; i++) {
        CUDA_TRY(cuda_input(k, ctx, i, &x));
        char *dst = (char *)y->data + (size_t)(at * inner) * elem;
        CUDA_TRY(copy_part(k, dst, x->data, x->dtype, outer, x->dims[axis], dims[axis], inner,
                           true));
        at += x->dims[axis];
    }
    return EMBER_OK;
}

static ember_status create_concat(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(index_params)));
    index_params *p = k->params;
    CUDA_TRY(cuda_attr_int(k, node, "axis", 0, &p->axis));
    k->run = run_concat;
    return EMBER_OK;
}

/* The size of each of n_out parts of `whole`. */
static ember_status split_sizes(cuda_kernel *k, const ember_tensor *x, int64_t whole,
                                size_t n_out, int64_t *sizes)
{
    const index_params *p = k->params;
    int64_t sum = 0;
    if (p->n_splits && p->n_splits != n_out)
        return cuda_fail_shape(k, 0, x, "split has another count than the outputs");
    int64_t part = (whole + (int64_t)n_out - 1) / (int64_t)n_out; /* the last may be shorter */
    for (size_t i = 0; i < n_out; i++) {
        sizes[i] = p->n_splits ? p->splits[i]
                               : (whole - sum < part ? whole - sum : part);
        sum += sizes[i];
    }
    if (sum != whole)
        return cuda_fail_shape(k, 0, x, "the split sizes do not add up to the axis");
    return EMBER_OK;
}

static ember_status run_split(cuda_kernel *k, ember_kernel_context *ctx)
{
    const index_params *p = k->params;
    size_t n_out = k->host->ctx_output_count(ctx), axis;
    const ember_tensor *x;
    int64_t sizes[MAX_SPLITS], dims[CUDA_MAX_RANK], at = 0;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    if (!cuda_normalize_axis(p->axis, x->rank, &axis) || n_out == 0 || n_out > MAX_SPLITS)
        return cuda_fail_shape(k, 0, x, "axis or output count out of range");
    CUDA_TRY(split_sizes(k, x, x->dims[axis], n_out, sizes));
    int64_t outer = (int64_t)cuda_numel(x->dims, axis);
    int64_t inner = (int64_t)cuda_numel(x->dims + axis + 1, x->rank - axis - 1);
    size_t elem = cuda_dtype_size(x->dtype);
    memcpy(dims, x->dims, x->rank * sizeof *dims);
    for (size_t i = 0; i < n_out; i++) {
        ember_tensor *y;
        dims[axis] = sizes[i];
        CUDA_TRY(cuda_output(k, ctx, i, x->dtype, dims, x->rank, &y));
        const char *src = (const char *)x->data + (size_t)(at * inner) * elem;
        CUDA_TRY(copy_part(k, y->data, src, x->dtype, outer, sizes[i], x->dims[axis], inner,
                           false));
        at += sizes[i];
    }
    return EMBER_OK;
}

static ember_status create_split(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(index_params)));
    index_params *p = k->params;
    CUDA_TRY(cuda_attr_int(k, node, "axis", 0, &p->axis));
    if (k->opset < 13)
        CUDA_TRY(cuda_attr_ints(k, node, "split", p->splits, MAX_SPLITS, &p->n_splits));
    else
        CUDA_TRY(cuda_const_ints(k, node, 1, p->splits, MAX_SPLITS, &p->n_splits));
    k->run = run_split;
    return EMBER_OK;
}

/* ---- Gather --------------------------------------------------------------------------------------- */

static ember_status run_gather(cuda_kernel *k, ember_kernel_context *ctx)
{
    const index_params *p = k->params;
    const ember_tensor *x, *idx;
    ember_tensor *y;
    int64_t dims[CUDA_MAX_RANK];
    size_t axis;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    CUDA_TRY(cuda_input(k, ctx, 1, &idx));
    if (!cuda_normalize_axis(p->axis, x->rank, &axis))
        return cuda_fail_shape(k, 0, x, "axis is out of range");
    if (idx->dtype != EMBER_DTYPE_INT64 && idx->dtype != EMBER_DTYPE_INT32)
        return cuda_fail_dtype(k, 1, idx->dtype);
    size_t rank = x->rank - 1 + idx->rank;
    if (rank > CUDA_MAX_RANK)
        return cuda_fail_shape(k, 1, idx, "the result's rank is above 8");
    memcpy(dims, x->dims, axis * sizeof *dims);
    memcpy(dims + axis, idx->dims, idx->rank * sizeof *dims);
    memcpy(dims + axis + idx->rank, x->dims + axis + 1, (x->rank - axis - 1) * sizeof *dims);
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, dims, rank, &y));
    int64_t outer = (int64_t)cuda_numel(x->dims, axis);
    int64_t inner = (int64_t)cuda_numel(x->dims + axis + 1, x->rank - axis - 1);
    int64_t n_idx = (int64_t)cuda_numel(idx->dims, idx->rank);
    return cuda_check(k, cuda_launch_gather(cuda_dtype_size(x->dtype),
                                            cuda_elem_type(idx->dtype), y->data, x->data,
                                            idx->data, outer, x->dims[axis], n_idx, inner,
                                            k->prov->stream),
                      "the Gather kernel");
}

static ember_status create_gather(cuda_kernel *k, const ember_node *node)
{
    CUDA_TRY(cuda_params(k, sizeof(index_params)));
    index_params *p = k->params;
    CUDA_TRY(cuda_attr_int(k, node, "axis", 0, &p->axis));
    k->run = run_gather;
    return EMBER_OK;
}

static bool check_gather(const ember_host_api *host, const ember_node *node)
{
    return cuda_check_move(host, node) && cuda_input_in(host, node, 1, CUDA_DT_INDEX);
}

static bool check_concat(const ember_host_api *host, const ember_node *node)
{
    uint32_t dtype = cuda_input_dtype(host, node, 0);
    for (size_t i = 1; i < host->node_input_count(node); i++)
        if (cuda_input_dtype(host, node, i) != dtype)
            return false;
    for (size_t i = 0; i < host->node_input_count(node); i++) {
        ember_type_info info;
        bool is_int = dtype == EMBER_DTYPE_INT64 || dtype == EMBER_DTYPE_INT32;
        if (!host->node_input_type(node, i, &info) || (is_int && info.rank < 2))
            return false;
    }
    return cuda_input_in(host, node, 0, CUDA_DT_MOVE);
}

const cuda_op_entry cuda_ops_index[] = {
    {"Transpose", 1, CUDA_OPSET_MAX, cuda_check_move, create_transpose},
    {"Slice", 1, CUDA_OPSET_MAX, cuda_check_move, create_slice},
    {"Concat", 4, CUDA_OPSET_MAX, check_concat, create_concat},
    {"Split", 2, CUDA_OPSET_MAX, cuda_check_move, create_split},
    {"Gather", 1, CUDA_OPSET_MAX, check_gather, create_gather},
    {NULL, 0, 0, NULL, NULL},
};
