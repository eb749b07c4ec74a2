/*
 * Sequence and optional ops: SequenceConstruct, SequenceEmpty, SequenceAt,
 * SequenceInsert, SequenceErase, SequenceLength, SplitToSequence,
 * ConcatFromSequence (opset 11+), Optional, OptionalHasElement and
 * OptionalGetElement (opset 15+).
 *
 * Sequences live on the host (the core's value model): inputs are read
 * with host->ctx_sequence_*, outputs are built with ctx_output_sequence and
 * one ctx_output_item per item. An optional holding a value is that value
 * itself (a tensor or a sequence); an empty one is an EMBER_VALUE_NONE.
 * Items are copied, never shared: bytes for fixed-size and packed types,
 * one host->tensor_set_string per element for strings. SequenceMap needs a
 * subgraph and is run by the core, not here.
 */
#include "cpu_kernel.h"

#include <stdio.h>

/* A dims pointer for rank-0 outputs. */
static const int64_t scalar_dims = 1;

/* ---- copying values ---------------------------------------------------- */

/* Bytes that n elements of `dtype` occupy (packed types rounded up to a
 * byte); 0 for strings and unknown types. */
static size_t storage_bytes(uint32_t dtype, size_t n)
{
    size_t size = cpu_dtype_size(dtype);
    if (size > 0)
        return n * size;
    switch (dtype) {
    case EMBER_DTYPE_UINT4:
    case EMBER_DTYPE_INT4:
    case EMBER_DTYPE_FLOAT4E2M1: return (n + 1) / 2;
    case EMBER_DTYPE_UINT2:
    case EMBER_DTYPE_INT2: return (n + 3) / 4;
    default: return 0;
    }
}

/* Whether whole tensors of `dtype` can be copied here. */
static bool dtype_copyable(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_STRING || storage_bytes(dtype, 1) > 0;
}

/* Whether element ranges of `dtype` can be copied (no packed types). */
static bool dtype_sliceable(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_STRING || cpu_dtype_size(dtype) > 0;
}

/* Copies n elements from src[src_at..] to dst[dst_at..]; both have `dtype`,
 * which has a fixed size or is a string. */
static ember_status copy_elements(const cpu_kernel *k, ember_tensor *dst, size_t dst_at,
                                  const ember_tensor *src, size_t src_at, size_t n)
{
    if (dst->dtype != EMBER_DTYPE_STRING) {
        size_t size = cpu_dtype_size(dst->dtype);
        if (n > 0)
            memcpy((char *)dst->data + dst_at * size, (const char *)src->data + src_at * size,
                   n * size);
        return EMBER_OK;
    }
    const ember_string *s = (const ember_string *)src->data + src_at;
    for (size_t i = 0; i < n; i++) {
        ember_status status = k->host->tensor_set_string(dst, dst_at + i, s[i].data, s[i].size);
        if (status != EMBER_OK)
            return status;
    }
    return EMBER_OK;
}

/* Copies all of src into dst (same dtype and element count); packed
 * types are copied as whole bytes. */
static ember_status copy_tensor(const cpu_kernel *k, ember_tensor *dst, const ember_tensor *src)
{
    size_t n = cpu_tensor_numel(src);
    if (src->dtype == EMBER_DTYPE_STRING)
        return copy_elements(k, dst, 0, src, 0, n);
    size_t bytes = storage_bytes(src->dtype, n);
    if (bytes > 0 && dst->data != src->data)
        memcpy(dst->data, src->data, bytes);
    return EMBER_OK;
}

/* Output `index` = a copy of tensor x. */
static ember_status output_tensor_copy(const cpu_kernel *k, ember_kernel_context *ctx,
                                       size_t index, const ember_tensor *x, size_t in_index)
{
    if (!dtype_copyable(x->dtype))
        return cpu_fail_dtype(k, in_index, x->dtype);
    ember_tensor *y;
    ember_status s = cpu_output(k, ctx, index, x->dtype, x->dims, x->rank, &y);
    return s == EMBER_OK ? copy_tensor(k, y, x) : s;
}

/* Item `item` of output sequence `index` = a copy of tensor x. */
static ember_status output_item_copy(const cpu_kernel *k, ember_kernel_context *ctx,
                                     size_t index, size_t item, const ember_tensor *x)
{
    ember_tensor *y;
    ember_status s = k->host->ctx_output_item(ctx, index, item, x->dims, x->rank, &y);
    return s == EMBER_OK ? copy_tensor(k, y, x) : s;
}

/* Item `item` of sequence input `index`, failing when the core has none. */
static ember_status seq_item(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                             size_t item, const ember_tensor **out)
{
    const ember_tensor *t = k->host->ctx_sequence_item(ctx, index, item);
    if (t == NULL)
        return k->host->fail(EMBER_E_INTERNAL, "node '%s' (%s): input %zu has no item %zu",
                             k->name, k->op, index, item);
    *out = t;
    return EMBER_OK;
}

/* Output `out_index` = copies of the items of sequence input `in_index`
 * with item `skip` left out (skip >= length: none) and the tensor `extra`
 * (when not NULL) placed at output position `at`. */
static ember_status output_sequence_edit(const cpu_kernel *k, ember_kernel_context *ctx,
                                         size_t in_index, size_t out_index, size_t skip,
                                         size_t at, const ember_tensor *extra)
{
    const ember_host_api *host = k->host;
    size_t n = host->ctx_sequence_length(ctx, in_index);
    uint32_t dtype = extra ? extra->dtype : host->ctx_sequence_dtype(ctx, in_index);
    if (!dtype_copyable(dtype))
        return cpu_fail_dtype(k, in_index, dtype);
    size_t n_out = n - (skip < n) + (extra != NULL);
    ember_status s = host->ctx_output_sequence(ctx, out_index, dtype, n_out);
    for (size_t o = 0, i = 0; s == EMBER_OK && o < n_out; o++) {
        const ember_tensor *x = extra;
        if (!extra || o != at) {
            i += i == skip;
            s = seq_item(k, ctx, in_index, i++, &x);
        }
        if (s == EMBER_OK)
            s = output_item_copy(k, ctx, out_index, o, x);
    }
    return s;
}

/* Output `out_index` = a copy of input `in_index`, whatever its kind:
 * tensor, sequence or empty optional (absent when `absent_is_none`). */
static ember_status forward_value(const cpu_kernel *k, ember_kernel_context *ctx,
                                  size_t in_index, size_t out_index, bool absent_is_none)
{
    uint32_t kind = EMBER_VALUE_ABSENT;
    if (in_index < k->host->ctx_input_count(ctx))
        kind = k->host->ctx_input_kind(ctx, in_index);
    switch (kind) {
    case EMBER_VALUE_TENSOR: {
        const ember_tensor *x;
        ember_status s = cpu_input(k, ctx, in_index, &x);
        return s == EMBER_OK ? output_tensor_copy(k, ctx, out_index, x, in_index) : s;
    }
    case EMBER_VALUE_SEQUENCE:
        return output_sequence_edit(k, ctx, in_index, out_index, SIZE_MAX, SIZE_MAX, NULL);
    case EMBER_VALUE_NONE: return k->host->ctx_output_none(ctx, out_index);
    default:
        if (absent_is_none)
            return k->host->ctx_output_none(ctx, out_index);
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): required input %zu is missing", k->name, k->op,
                             in_index);
    }
}

/* ---- inputs ------------------------------------------------------------- */

/* Fails unless input `index` is a sequence. */
static ember_status want_sequence(const cpu_kernel *k, ember_kernel_context *ctx, size_t index)
{
    uint32_t kind = EMBER_VALUE_ABSENT;
    if (index < k->host->ctx_input_count(ctx))
        kind = k->host->ctx_input_kind(ctx, index);
    if (kind == EMBER_VALUE_SEQUENCE)
        return EMBER_OK;
    return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                         "node '%s' (%s): input %zu is %s, expected a sequence", k->name, k->op,
                         index,
                         kind == EMBER_VALUE_TENSOR ? "a tensor"
                         : kind == EMBER_VALUE_NONE ? "an empty optional"
                                                    : "missing");
}

/* Reads the scalar (or one-element) int32/int64 input `index`; *present
 * is false when the input is absent. */
static ember_status read_position(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                                  int64_t *pos, bool *present)
{
    const ember_tensor *t = NULL;
    if (index < k->host->ctx_input_count(ctx))
        t = k->host->ctx_input(ctx, index);
    if (t != NULL && t->dtype != EMBER_DTYPE_INT64 && t->dtype != EMBER_DTYPE_INT32)
        return cpu_fail_dtype(k, index, t->dtype);
    if (t != NULL && cpu_tensor_numel(t) != 1)
        return cpu_fail_shape(k, index, t, "expected a scalar position");
    if (t != NULL && t->dtype == EMBER_DTYPE_INT64)
        *pos = *(const int64_t *)t->data;
    else if (t != NULL)
        *pos = *(const int32_t *)t->data;
    *present = t != NULL;
    return EMBER_OK;
}

/* Maps position `pos` of a sequence of length n into [0, n + extra),
 * accepting [-n, n - 1 + extra]. */
static ember_status resolve_position(const cpu_kernel *k, size_t index, int64_t pos, size_t n,
                                     size_t extra, size_t *out)
{
    int64_t len = (int64_t)n;
    if (pos < -len || pos >= len + (int64_t)extra)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input %zu: position %lld is out of range for a "
                             "sequence of %zu tensors (accepted: [%lld, %lld])",
                             k->name, k->op, index, (long long)pos, n, (long long)-len,
                             (long long)(len - 1 + (int64_t)extra));
    *out = (size_t)(pos < 0 ? pos + len : pos);
    return EMBER_OK;
}

/* Fails unless tensor input `index` has the sequence's element type
 * (any type when that is unknown). */
static ember_status want_item_dtype(const cpu_kernel *k, size_t index, const ember_tensor *t,
                                    uint32_t dtype)
{
    if (t->dtype == dtype || dtype == EMBER_DTYPE_UNDEFINED)
        return EMBER_OK;
    return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                         "node '%s' (%s): input %zu has type %s, but the sequence holds %s",
                         k->name, k->op, index, cpu_dtype_name(t->dtype), cpu_dtype_name(dtype));
}

/* ---- SequenceConstruct, SequenceEmpty, SequenceLength -------------------- */

static ember_status construct_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    size_t n = k->host->ctx_input_count(ctx);
    const ember_tensor *first;
    ember_status s = cpu_input(k, ctx, 0, &first);
    if (s == EMBER_OK && !dtype_copyable(first->dtype))
        s = cpu_fail_dtype(k, 0, first->dtype);
    for (size_t i = 1; s == EMBER_OK && i < n; i++) {
        const ember_tensor *x;
        s = cpu_input(k, ctx, i, &x);
        if (s == EMBER_OK)
            s = want_item_dtype(k, i, x, first->dtype);
    }
    if (s == EMBER_OK)
        s = k->host->ctx_output_sequence(ctx, 0, first->dtype, n);
    for (size_t i = 0; s == EMBER_OK && i < n; i++)
        s = output_item_copy(k, ctx, 0, i, k->host->ctx_input(ctx, i));
    return s;
}

static ember_status create_construct(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = construct_run;
    return EMBER_OK;
}

typedef struct empty_params {
    uint32_t dtype;
} empty_params;

static ember_status empty_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const empty_params *p = k->params;
    return k->host->ctx_output_sequence(ctx, 0, p->dtype, 0);
}

static ember_status create_empty(cpu_kernel *k, const ember_node *node)
{
    int64_t dtype;
    ember_status s = cpu_attr_int(k, node, "dtype", EMBER_DTYPE_FLOAT32, &dtype);
    if (s != EMBER_OK)
        return s;
    if (dtype < 0 || dtype > 0xffff || !dtype_copyable((uint32_t)dtype))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'dtype' is %lld, not a supported "
                             "tensor element type",
                             k->name, k->op, (long long)dtype);
    s = cpu_kernel_params(k, sizeof(empty_params));
    if (s == EMBER_OK) {
        ((empty_params *)k->params)->dtype = (uint32_t)dtype;
        k->run = empty_run;
    }
    return s;
}

static ember_status length_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    ember_status s = want_sequence(k, ctx, 0);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, EMBER_DTYPE_INT64, &scalar_dims, 0, &y);
    if (s == EMBER_OK)
        *(int64_t *)y->data = (int64_t)k->host->ctx_sequence_length(ctx, 0);
    return s;
}

static ember_status create_length(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = length_run;
    return EMBER_OK;
}

/* ---- SequenceAt, SequenceInsert, SequenceErase --------------------------- */

static ember_status at_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    int64_t pos = 0;
    bool present;
    size_t at;
    const ember_tensor *x;
    ember_status s = want_sequence(k, ctx, 0);
    if (s == EMBER_OK)
        s = read_position(k, ctx, 1, &pos, &present);
    if (s == EMBER_OK && !present)
        s = k->host->fail(EMBER_E_INVALID_ARGUMENT,
                          "node '%s' (%s): required input 1 is missing", k->name, k->op);
    if (s == EMBER_OK)
        s = resolve_position(k, 1, pos, k->host->ctx_sequence_length(ctx, 0), 0, &at);
    if (s == EMBER_OK)
        s = seq_item(k, ctx, 0, at, &x);
    return s == EMBER_OK ? output_tensor_copy(k, ctx, 0, x, 0) : s;
}

static ember_status insert_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    size_t n = k->host->ctx_sequence_length(ctx, 0), at = n;
    int64_t pos = 0;
    bool present = false;
    const ember_tensor *t;
    ember_status s = want_sequence(k, ctx, 0);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &t);
    if (s == EMBER_OK)
        s = want_item_dtype(k, 1, t, k->host->ctx_sequence_dtype(ctx, 0));
    if (s == EMBER_OK)
        s = read_position(k, ctx, 2, &pos, &present);
    if (s == EMBER_OK && present)
        s = resolve_position(k, 2, pos, n, 1, &at);
    return s == EMBER_OK ? output_sequence_edit(k, ctx, 0, 0, SIZE_MAX, at, t) : s;
}

static ember_status erase_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    size_t n = k->host->ctx_sequence_length(ctx, 0), at = 0;
    int64_t pos = -1;
    bool present = false;
    ember_status s = want_sequence(k, ctx, 0);
    if (s == EMBER_OK)
        s = read_position(k, ctx, 1, &pos, &present);
    if (s == EMBER_OK)
        s = resolve_position(k, 1, present ? pos : -1, n, 0, &at);
    return s == EMBER_OK ? output_sequence_edit(k, ctx, 0, 0, at, SIZE_MAX, NULL) : s;
}

static ember_status create_at(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = at_run;
    return EMBER_OK;
}

static ember_status create_insert(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = insert_run;
    return EMBER_OK;
}

static ember_status create_erase(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = erase_run;
    return EMBER_OK;
}

/* ---- SplitToSequence --------------------------------------------------- */

typedef struct split_params {
    int64_t axis;
    bool keepdims;
} split_params;

/* A tensor seen as [outer, dim, inner] around `axis`. */
typedef struct axis_view {
    size_t outer, dim, inner;
} axis_view;

static axis_view view_around(const int64_t *dims, size_t rank, size_t axis)
{
    axis_view v = {1, (size_t)dims[axis], 1};
    for (size_t d = 0; d < axis; d++)
        v.outer *= (size_t)dims[d];
    for (size_t d = axis + 1; d < rank; d++)
        v.inner *= (size_t)dims[d];
    return v;
}

/* The chunk lengths along the axis (scratch memory): from the split input
 * (a scalar chunk size or one length per chunk), or all 1 when absent. */
static ember_status split_lengths(const cpu_kernel *k, ember_kernel_context *ctx, size_t dim,
                                  int64_t **lengths, size_t *n_chunks)
{
    const ember_tensor *split = cpu_opt_input(k, ctx, 1);
    if (split && split->dtype != EMBER_DTYPE_INT64 && split->dtype != EMBER_DTYPE_INT32)
        return cpu_fail_dtype(k, 1, split->dtype);
    if (split && split->rank > 1)
        return cpu_fail_shape(k, 1, split, "expected a scalar or a 1-D tensor");
    int64_t size = 1;
    size_t n = split && split->rank == 1 ? (size_t)split->dims[0] : 0;
    if (split && split->rank == 0)
        size = split->dtype == EMBER_DTYPE_INT64 ? *(const int64_t *)split->data
                                                 : *(const int32_t *)split->data;
    if (size <= 0)
        return cpu_fail_shape(k, 1, split, "the chunk size must be positive");
    if (!split || split->rank == 0)
        n = (dim + (size_t)size - 1) / (size_t)size;
    ember_status s = k->host->ctx_scratch(ctx, (n ? n : 1) * sizeof **lengths, (void **)lengths);
    if (s != EMBER_OK)
        return s;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t len = size;
        if (split && split->rank == 1)
            len = split->dtype == EMBER_DTYPE_INT64 ? ((const int64_t *)split->data)[i]
                                                    : ((const int32_t *)split->data)[i];
        else if (i + 1 == n)
            len = (int64_t)(dim - total);
        if (len < 0 || (uint64_t)len > dim - total)
            return cpu_fail_shape(k, 1, split, "the lengths must be >= 0 and sum to the axis "
                                               "dim");
        (*lengths)[i] = len;
        total += (size_t)len;
    }
    if (total != dim)
        return cpu_fail_shape(k, 1, split, "the lengths must sum to the axis dim");
    *n_chunks = n;
    return EMBER_OK;
}

/* Item `i` of the output = x[..., start:start+len, ...] along the axis. */
static ember_status split_item(const cpu_kernel *k, ember_kernel_context *ctx,
                               const ember_tensor *x, size_t axis, size_t i, size_t start,
                               size_t len, bool drop_axis)
{
    int64_t dims[CPU_MAX_RANK];
    size_t rank = 0;
    for (size_t d = 0; d < x->rank; d++)
        if (d != axis || !drop_axis)
            dims[rank++] = d == axis ? (int64_t)len : x->dims[d];
    ember_tensor *y;
    ember_status s = k->host->ctx_output_item(ctx, 0, i, dims, rank, &y);
    axis_view v = view_around(x->dims, x->rank, axis);
    for (size_t o = 0; s == EMBER_OK && o < v.outer; o++)
        s = copy_elements(k, y, o * len * v.inner, x, (o * v.dim + start) * v.inner,
                          len * v.inner);
    return s;
}

static ember_status split_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const split_params *p = k->params;
    const ember_tensor *x;
    size_t axis, n = 0;
    int64_t *lengths = NULL;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!dtype_sliceable(x->dtype))
        return cpu_fail_dtype(k, 0, x->dtype);
    if (!cpu_normalize_axis(p->axis, x->rank, &axis))
        return cpu_fail_shape(k, 0, x, "attribute 'axis' is outside the rank");
    s = split_lengths(k, ctx, (size_t)x->dims[axis], &lengths, &n);
    bool drop_axis = !p->keepdims && (k->host->ctx_input_count(ctx) < 2 ||
                                      k->host->ctx_input(ctx, 1) == NULL);
    if (s == EMBER_OK)
        s = k->host->ctx_output_sequence(ctx, 0, x->dtype, n);
    for (size_t i = 0, start = 0; s == EMBER_OK && i < n; start += (size_t)lengths[i++])
        s = split_item(k, ctx, x, axis, i, start, (size_t)lengths[i], drop_axis);
    return s;
}

static ember_status create_split(cpu_kernel *k, const ember_node *node)
{
    int64_t axis, keepdims;
    ember_status s = cpu_attr_int(k, node, "axis", 0, &axis);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "keepdims", 1, &keepdims);
    if (s == EMBER_OK)
        s = cpu_kernel_params(k, sizeof(split_params));
    if (s != EMBER_OK)
        return s;
    split_params *p = k->params;
    p->axis = axis;
    p->keepdims = keepdims != 0;
    k->run = split_run;
    return EMBER_OK;
}

/* ---- ConcatFromSequence ------------------------------------------------ */

typedef struct concat_params {
    int64_t axis;
    bool new_axis;
} concat_params;

/* Checks item i against item 0 and adds its length along the axis. */
static ember_status concat_check_item(const cpu_kernel *k, const ember_tensor *first,
                                      const ember_tensor *x, size_t i, size_t axis,
                                      bool new_axis, int64_t *total)
{
    char why[320];
    bool same = x->rank == first->rank;
    for (size_t d = 0; same && d < x->rank; d++)
        same = x->dims[d] == first->dims[d] || (d == axis && !new_axis);
    if (!same) {
        char dims[128];
        cpu_format_dims(dims, sizeof dims, first->dims, first->rank);
        snprintf(why, sizeof why, "item %zu does not match item 0 (%s, %s)%s", i,
                 cpu_dtype_name(first->dtype), dims,
                 new_axis ? "" : " outside the concatenation axis");
        return cpu_fail_shape(k, 0, x, why);
    }
    *total += new_axis ? 1 : x->dims[axis];
    return EMBER_OK;
}

/* The output shape; *axis_out is the axis in the output's rank. */
static ember_status concat_shape(const cpu_kernel *k, ember_kernel_context *ctx, size_t n,
                                 int64_t *dims, size_t *rank, size_t *axis_out)
{
    const concat_params *p = k->params;
    const ember_tensor *first, *x;
    size_t axis;
    ember_status s = seq_item(k, ctx, 0, 0, &first);
    if (s != EMBER_OK)
        return s;
    size_t out_rank = first->rank + p->new_axis;
    if (out_rank > CPU_MAX_RANK || !cpu_normalize_axis(p->axis, out_rank, &axis))
        return cpu_fail_shape(k, 0, first, "attribute 'axis' is outside the rank");
    int64_t total = 0;
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        s = seq_item(k, ctx, 0, i, &x);
        if (s == EMBER_OK)
            s = concat_check_item(k, first, x, i, axis, p->new_axis, &total);
    }
    for (size_t d = 0, src = 0; d < out_rank; d++) {
        bool at_axis = d == axis;
        dims[d] = at_axis ? total : first->dims[src];
        src += !at_axis || !p->new_axis;
    }
    *rank = out_rank;
    *axis_out = axis;
    return s;
}

static ember_status concat_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const concat_params *p = k->params;
    int64_t dims[CPU_MAX_RANK];
    size_t rank = 0, axis = 0, n = k->host->ctx_sequence_length(ctx, 0);
    ember_tensor *y;
    ember_status s = want_sequence(k, ctx, 0);
    if (s == EMBER_OK && n == 0)
        s = k->host->fail(EMBER_E_INVALID_ARGUMENT,
                          "node '%s' (%s): input 0 is an empty sequence; nothing to concatenate",
                          k->name, k->op);
    uint32_t dtype = k->host->ctx_sequence_dtype(ctx, 0);
    if (s == EMBER_OK && !dtype_sliceable(dtype))
        s = cpu_fail_dtype(k, 0, dtype);
    if (s == EMBER_OK)
        s = concat_shape(k, ctx, n, dims, &rank, &axis);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, dtype, dims, rank, &y);
    axis_view out = s == EMBER_OK ? view_around(dims, rank, axis) : (axis_view){0, 0, 0};
    for (size_t i = 0, offset = 0; s == EMBER_OK && i < n; i++) {
        const ember_tensor *x = k->host->ctx_sequence_item(ctx, 0, i);
        size_t len = p->new_axis ? 1 : (size_t)x->dims[axis];
        for (size_t o = 0; s == EMBER_OK && o < out.outer; o++)
            s = copy_elements(k, y, (o * out.dim + offset) * out.inner, x, o * len * out.inner,
                              len * out.inner);
        offset += len;
    }
    return s;
}

static ember_status create_concat(cpu_kernel *k, const ember_node *node)
{
    int64_t new_axis;
    if (!cpu_attr_has(k, node, "axis"))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'axis' is required", k->name, k->op);
    ember_status s = cpu_kernel_params(k, sizeof(concat_params));
    concat_params *p = k->params;
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "axis", 0, &p->axis);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "new_axis", 0, &new_axis);
    if (s == EMBER_OK && new_axis != 0 && new_axis != 1)
        s = k->host->fail(EMBER_E_INVALID_MODEL,
                          "node '%s' (%s): attribute 'new_axis' is %lld, expected 0 or 1",
                          k->name, k->op, (long long)new_axis);
    if (s == EMBER_OK) {
        p->new_axis = new_axis == 1;
        k->run = concat_run;
    }
    return s;
}

/* ---- Optional, OptionalHasElement, OptionalGetElement -------------------- */

static ember_status optional_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    return forward_value(k, ctx, 0, 0, true);
}

static ember_status has_element_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    uint32_t kind = EMBER_VALUE_ABSENT;
    if (k->host->ctx_input_count(ctx) > 0)
        kind = k->host->ctx_input_kind(ctx, 0);
    ember_tensor *y;
    ember_status s = cpu_output(k, ctx, 0, EMBER_DTYPE_BOOL, &scalar_dims, 0, &y);
    if (s == EMBER_OK)
        *(uint8_t *)y->data = kind == EMBER_VALUE_TENSOR || kind == EMBER_VALUE_SEQUENCE;
    return s;
}

static ember_status get_element_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    uint32_t kind = EMBER_VALUE_ABSENT;
    if (k->host->ctx_input_count(ctx) > 0)
        kind = k->host->ctx_input_kind(ctx, 0);
    if (kind == EMBER_VALUE_NONE || kind == EMBER_VALUE_ABSENT)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input 0 is %s; there is no element to get",
                             k->name, k->op,
                             kind == EMBER_VALUE_NONE ? "an empty optional" : "missing");
    return forward_value(k, ctx, 0, 0, false);
}

static ember_status create_optional(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = optional_run;
    return EMBER_OK;
}

static ember_status create_has_element(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = has_element_run;
    return EMBER_OK;
}

static ember_status create_get_element(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = get_element_run;
    return EMBER_OK;
}

/* ---- registration ------------------------------------------------------ */

const cpu_op_entry cpu_ops_sequence[] = {
    {"SequenceConstruct", 11, CPU_OPSET_MAX, NULL, create_construct},
    {"SequenceEmpty", 11, CPU_OPSET_MAX, NULL, create_empty},
    {"SequenceAt", 11, CPU_OPSET_MAX, NULL, create_at},
    {"SequenceInsert", 11, CPU_OPSET_MAX, NULL, create_insert},
    {"SequenceErase", 11, CPU_OPSET_MAX, NULL, create_erase},
    {"SequenceLength", 11, CPU_OPSET_MAX, NULL, create_length},
    {"SplitToSequence", 11, CPU_OPSET_MAX, NULL, create_split},
    {"ConcatFromSequence", 11, CPU_OPSET_MAX, NULL, create_concat},
    {"Optional", 15, CPU_OPSET_MAX, NULL, create_optional},
    {"OptionalHasElement", 15, CPU_OPSET_MAX, NULL, create_has_element},
    {"OptionalGetElement", 15, CPU_OPSET_MAX, NULL, create_get_element},
    {NULL, 0, 0, NULL, NULL},
};
