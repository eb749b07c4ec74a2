/*
 * Shape and data-movement ops for every fixed-size dtype: Reshape,
 * Flatten, Identity, Squeeze, Unsqueeze (a copy under a new shape),
 * Transpose, Concat, Gather, Shape and Constant. Elements are moved as
 * bytes of the dtype's size; string tensors are not claimed.
 */
#include "cpu_kernel.h"

#include <stdio.h>
#include <stdlib.h>

/* Input 0, checked to have a fixed element size. */
static ember_status fixed_input(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor **x)
{
    ember_status s = cpu_input(k, ctx, 0, x);
    if (s == EMBER_OK && cpu_dtype_size((*x)->dtype) == 0)
        return cpu_fail_dtype(k, 0, (*x)->dtype);
    return s;
}

/* Output 0 = input x's bytes under the shape dims (same element count). */
static ember_status copy_as(const cpu_kernel *k, ember_kernel_context *ctx,
                            const ember_tensor *x, const int64_t *dims, size_t rank)
{
    ember_tensor *y;
    ember_status s = cpu_output(k, ctx, 0, x->dtype, dims, rank, &y);
    size_t bytes = cpu_tensor_numel(x) * cpu_dtype_size(x->dtype);
    if (s == EMBER_OK && bytes > 0 && y->data != x->data)
        memcpy(y->data, x->data, bytes);
    return s;
}

/* ---- Identity ---------------------------------------------------------- */

/* Bytes that n elements of dtype occupy, the packed 4-bit and 2-bit types
 * included (strings: the ember_string array); 0 for an unknown dtype. */
static size_t storage_bytes(uint32_t dtype, size_t n)
{
    switch (dtype) {
    case EMBER_DTYPE_UINT4:
    case EMBER_DTYPE_INT4:
    case EMBER_DTYPE_FLOAT4E2M1: return n / 2 + n % 2;
    case EMBER_DTYPE_UINT2:
    case EMBER_DTYPE_INT2: return n / 4 + (n % 4 != 0);
    case EMBER_DTYPE_STRING: return n * sizeof(ember_string);
    default: return n * cpu_dtype_size(dtype);
    }
}

/* Copies tensor x into y (same dtype and shape): bytes, or one
 * tensor_set_string per element for strings. */
static ember_status identity_copy(const cpu_kernel *k, ember_tensor *y, const ember_tensor *x)
{
    size_t count = cpu_tensor_numel(x);
    if (x->dtype != EMBER_DTYPE_STRING) {
        size_t bytes = storage_bytes(x->dtype, count);
        if (bytes > 0 && y->data != x->data)
            memcpy(y->data, x->data, bytes);
        return EMBER_OK;
    }
    const ember_string *str = x->data;
    ember_status s = EMBER_OK;
    for (size_t i = 0; s == EMBER_OK && i < count; i++)
        s = k->host->tensor_set_string(y, i, str[i].data, str[i].size);
    return s;
}

/* Output 0 = a copy of sequence input 0, item by item. */
static ember_status identity_sequence(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_host_api *host = k->host;
    size_t n = host->ctx_sequence_length(ctx, 0);
    uint32_t dtype = host->ctx_sequence_dtype(ctx, 0);
    if (storage_bytes(dtype, 2) == 0)
        return cpu_fail_dtype(k, 0, dtype);
    ember_status s = host->ctx_output_sequence(ctx, 0, dtype, n);
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        const ember_tensor *x = host->ctx_sequence_item(ctx, 0, i);
        ember_tensor *y;
        if (x == NULL)
            return host->fail(EMBER_E_INTERNAL, "node '%s' (%s): input 0 has no item %zu",
                              k->name, k->op, i);
        s = host->ctx_output_item(ctx, 0, i, x->dims, x->rank, &y);
        if (s == EMBER_OK)
            s = identity_copy(k, y, x);
    }
    return s;
}

/* Tensors (strings too, when the static type did not rule them out) are
 * copied; sequences item by item; an empty optional stays empty. */
static ember_status identity_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    uint32_t kind = k->host->ctx_input_kind(ctx, 0);
    if (kind == EMBER_VALUE_SEQUENCE)
        return identity_sequence(k, ctx);
    if (kind == EMBER_VALUE_NONE)
        return k->host->ctx_output_none(ctx, 0);
    const ember_tensor *x;
    ember_tensor *y;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK && storage_bytes(x->dtype, 2) == 0)
        s = cpu_fail_dtype(k, 0, x->dtype);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    return s == EMBER_OK ? identity_copy(k, y, x) : s;
}

ember_status cpu_create_identity(cpu_kernel *k, const ember_node *node)
{
    k->run = identity_run;
    return EMBER_OK;
}

/* ---- Reshape ----------------------------------------------------------- */

typedef struct reshape_params {
    bool allow_zero;
    size_t n_shape; /* opset < 5: the shape attribute */
    int64_t shape[CPU_MAX_RANK];
} reshape_params;

/* Fails naming the target shape as well as the input's. */
static ember_status reshape_fail(const cpu_kernel *k, const ember_tensor *x,
                                 const int64_t *shape, size_t n, const char *why)
{
    char target[256], msg[400];
    cpu_format_dims(target, sizeof target, shape, n);
    snprintf(msg, sizeof msg, "cannot reshape to %s: %s", target, why);
    return cpu_fail_shape(k, 0, x, msg);
}

/* Resolves 0 (copy the input dim unless allowzero) and -1 (inferred). */
static ember_status reshape_dims(const cpu_kernel *k, const ember_tensor *x,
                                 const int64_t *shape, size_t n, int64_t *dims)
{
    const reshape_params *p = k->params;
    size_t known = 1, infer = n;
    for (size_t i = 0; i < n; i++) {
        dims[i] = shape[i];
        if (shape[i] == 0 && !p->allow_zero) {
            if (i >= x->rank)
                return reshape_fail(k, x, shape, n, "a 0 copies a dim the input lacks");
            dims[i] = x->dims[i];
        } else if (shape[i] == -1) {
            if (infer != n)
                return reshape_fail(k, x, shape, n, "more than one -1");
            infer = i;
            continue;
        } else if (shape[i] < -1) {
            return reshape_fail(k, x, shape, n, "a negative dim");
        }
        known *= (size_t)dims[i];
    }
    size_t total = cpu_tensor_numel(x);
    if (infer < n) {
        if (known == 0 || total % known != 0)
            return reshape_fail(k, x, shape, n, "no value of -1 gives the element count");
        dims[infer] = (int64_t)(total / known);
        known *= (size_t)dims[infer];
    }
    if (known != total)
        return reshape_fail(k, x, shape, n, "the element counts differ");
    return EMBER_OK;
}

static ember_status reshape_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const reshape_params *p = k->params;
    const ember_tensor *x, *shape_t;
    int64_t shape[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    size_t n = p->n_shape;
    ember_status s = fixed_input(k, ctx, &x);
    if (s == EMBER_OK && k->opset >= 5) {
        s = cpu_input(k, ctx, 1, &shape_t);
        if (s == EMBER_OK)
            s = cpu_read_ints(k, 1, shape_t, shape, CPU_MAX_RANK, &n);
    } else if (s == EMBER_OK) {
        memcpy(shape, p->shape, n * sizeof *shape);
    }
    if (s == EMBER_OK)
        s = reshape_dims(k, x, shape, n, dims);
    return s == EMBER_OK ? copy_as(k, ctx, x, dims, n) : s;
}

ember_status cpu_create_reshape(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(reshape_params));
    if (s != EMBER_OK)
        return s;
    reshape_params *p = k->params;
    int64_t allow_zero = 0;
    if (k->opset >= 14)
        s = cpu_attr_int(k, node, "allowzero", 0, &allow_zero);
    if (s == EMBER_OK && k->opset < 5)
        s = cpu_attr_ints(k, node, "shape", p->shape, CPU_MAX_RANK, &p->n_shape);
    p->allow_zero = allow_zero != 0;
    k->run = reshape_run;
    return s;
}

/* ---- Flatten ----------------------------------------------------------- */

static ember_status flatten_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const int64_t *axis_attr = k->params;
    const ember_tensor *x;
    ember_status s = fixed_input(k, ctx, &x);
    if (s != EMBER_OK)
        return s;
    int64_t axis = *axis_attr < 0 ? *axis_attr + (int64_t)x->rank : *axis_attr;
    if (axis < 0 || axis > (int64_t)x->rank)
        return cpu_fail_shape(k, 0, x, "the flatten axis is out of range");
    int64_t dims[2] = {(int64_t)cpu_numel(x->dims, (size_t)axis),
                       (int64_t)cpu_numel(x->dims + axis, x->rank - (size_t)axis)};
    return copy_as(k, ctx, x, dims, 2);
}

ember_status cpu_create_flatten(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(int64_t));
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "axis", 1, k->params);
    k->run = flatten_run;
    return s;
}

/* ---- Squeeze / Unsqueeze ----------------------------------------------- */

typedef struct axes_params {
    bool from_input; /* opset >= 13: axes is input 1 */
    size_t n_axes;
    int64_t axes[CPU_MAX_RANK];
} axes_params;

/* The axes from the attribute or input 1; *given is false when there are
 * none (Squeeze then drops every dim of size 1). */
static ember_status read_axes(const cpu_kernel *k, ember_kernel_context *ctx, int64_t *axes,
                              size_t *n, bool *given)
{
    const axes_params *p = k->params;
    if (!p->from_input) {
        memcpy(axes, p->axes, p->n_axes * sizeof *axes);
        *n = p->n_axes;
        *given = p->n_axes > 0;
        return EMBER_OK;
    }
    const ember_tensor *t = NULL;
    if (k->host->ctx_input_count(ctx) > 1)
        t = k->host->ctx_input(ctx, 1);
    *n = 0;
    ember_status s = t != NULL ? cpu_read_ints(k, 1, t, axes, CPU_MAX_RANK, n) : EMBER_OK;
    *given = *n > 0; /* an empty axes tensor squeezes every unit dim, as onnxruntime does */
    return s;
}

static ember_status squeeze_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    int64_t axes[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    size_t n_axes, rank = 0;
    bool given, drop[CPU_MAX_RANK] = {false};
    ember_status s = fixed_input(k, ctx, &x);
    if (s == EMBER_OK)
        s = read_axes(k, ctx, axes, &n_axes, &given);
    for (size_t i = 0; s == EMBER_OK && i < n_axes; i++) {
        size_t a;
        if (!cpu_normalize_axis(axes[i], x->rank, &a))
            return cpu_fail_shape(k, 0, x, "a squeeze axis is out of range");
        if (x->dims[a] != 1)
            return cpu_fail_shape(k, 0, x, "a squeezed dim is not 1");
        drop[a] = true;
    }
    if (s != EMBER_OK)
        return s;
    for (size_t d = 0; d < x->rank; d++) {
        if (!(given ? drop[d] : x->dims[d] == 1))
            dims[rank++] = x->dims[d];
    }
    return copy_as(k, ctx, x, dims, rank);
}

static ember_status unsqueeze_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    int64_t axes[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    size_t n_axes;
    bool given, added[CPU_MAX_RANK] = {false};
    ember_status s = fixed_input(k, ctx, &x);
    if (s == EMBER_OK)
        s = read_axes(k, ctx, axes, &n_axes, &given);
    if (s != EMBER_OK)
        return s;
    size_t rank = x->rank + n_axes;
    if (rank > CPU_MAX_RANK)
        return cpu_fail_shape(k, 0, x, "the result has too many dims");
    for (size_t i = 0; i < n_axes; i++) {
        size_t a;
        if (!cpu_normalize_axis(axes[i], rank, &a) || added[a])
            return cpu_fail_shape(k, 0, x, "an unsqueeze axis is out of range or repeated");
        added[a] = true;
    }
    for (size_t d = 0, j = 0; d < rank; d++)
        dims[d] = added[d] ? 1 : x->dims[j++];
    return copy_as(k, ctx, x, dims, rank);
}

static ember_status create_axes(cpu_kernel *k, const ember_node *node, cpu_run_fn run)
{
    ember_status s = cpu_kernel_params(k, sizeof(axes_params));
    if (s != EMBER_OK)
        return s;
    axes_params *p = k->params;
    p->from_input = k->opset >= 13;
    if (!p->from_input)
        s = cpu_attr_ints(k, node, "axes", p->axes, CPU_MAX_RANK, &p->n_axes);
    k->run = run;
    return s;
}

ember_status cpu_create_squeeze(cpu_kernel *k, const ember_node *node)
{
    return create_axes(k, node, squeeze_run);
}

ember_status cpu_create_unsqueeze(cpu_kernel *k, const ember_node *node)
{
    return create_axes(k, node, unsqueeze_run);
}

/* ---- Transpose --------------------------------------------------------- */

typedef struct transpose_params {
    size_t n_perm; /* 0: reverse the dims */
    int64_t perm[CPU_MAX_RANK];
} transpose_params;

/* The output walked in rows of its innermost dim; in_stride[d] is the
 * input element stride along output dim d. */
typedef struct transpose_job {
    const unsigned char *x;
    unsigned char *y;
    size_t rank, esize;
    int64_t dims[CPU_MAX_RANK], in_stride[CPU_MAX_RANK];
} transpose_job;

static void transpose_rows(void *arg, size_t begin, size_t end)
{
    const transpose_job *j = arg;
    size_t inner = (size_t)j->dims[j->rank - 1], step = (size_t)j->in_stride[j->rank - 1];
    for (size_t row = begin; row < end; row++) {
        size_t off = 0, r = row;
        for (size_t d = j->rank - 1; d-- > 0;) {
            off += (r % (size_t)j->dims[d]) * (size_t)j->in_stride[d];
            r /= (size_t)j->dims[d];
        }
        const unsigned char *src = j->x + off * j->esize;
        unsigned char *dst = j->y + row * inner * j->esize;
        if (j->esize == 4)
            for (size_t i = 0; i < inner; i++)
                memcpy(dst + i * 4, src + i * step * 4, 4);
        else
            for (size_t i = 0; i < inner; i++)
                memcpy(dst + i * j->esize, src + i * step * j->esize, j->esize);
    }
}

/* Fills perm (validated) and the merged iteration of the job. */
static ember_status transpose_plan(const cpu_kernel *k, const ember_tensor *x, int64_t *perm,
                                   int64_t *out_dims, transpose_job *j)
{
    const transpose_params *p = k->params;
    bool seen[CPU_MAX_RANK] = {false};
    int64_t stride[CPU_MAX_RANK];
    if (p->n_perm != 0 && p->n_perm != x->rank)
        return cpu_fail_shape(k, 0, x, "perm has a different length than the rank");
    for (size_t d = x->rank; d-- > 0;)
        stride[d] = d + 1 == x->rank ? 1 : stride[d + 1] * x->dims[d + 1];
    j->rank = 0;
    for (size_t i = 0; i < x->rank; i++) {
        perm[i] = p->n_perm ? p->perm[i] : (int64_t)(x->rank - 1 - i);
        if (perm[i] < 0 || perm[i] >= (int64_t)x->rank || seen[perm[i]])
            return cpu_fail_shape(k, 0, x, "perm is not a permutation of the dims");
        seen[perm[i]] = true;
        out_dims[i] = x->dims[perm[i]];
        if (out_dims[i] == 1)
            continue;
        size_t r = j->rank;
        if (r > 0 && j->in_stride[r - 1] == stride[perm[i]] * out_dims[i]) {
            j->dims[r - 1] *= out_dims[i];
            j->in_stride[r - 1] = stride[perm[i]];
            continue;
        }
        j->dims[r] = out_dims[i];
        j->in_stride[r] = stride[perm[i]];
        j->rank++;
    }
    if (j->rank == 0) {
        j->rank = 1;
        j->dims[0] = 1;
        j->in_stride[0] = 1;
    }
    return EMBER_OK;
}

static ember_status transpose_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_tensor *y;
    int64_t perm[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    transpose_job j;
    ember_status s = fixed_input(k, ctx, &x);
    if (s == EMBER_OK)
        s = transpose_plan(k, x, perm, dims, &j);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x->dtype, dims, x->rank, &y);
    size_t n = cpu_tensor_numel(x);
    if (s != EMBER_OK || n == 0)
        return s;
    j.x = x->data;
    j.y = y->data;
    j.esize = cpu_dtype_size(x->dtype);
    cpu_parallel(ctx, k, n / (size_t)j.dims[j.rank - 1], n, transpose_rows, &j);
    return EMBER_OK;
}

ember_status cpu_create_transpose(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(transpose_params));
    if (s != EMBER_OK)
        return s;
    transpose_params *p = k->params;
    k->run = transpose_run;
    return cpu_attr_ints(k, node, "perm", p->perm, CPU_MAX_RANK, &p->n_perm);
}

/* ---- Concat ------------------------------------------------------------ */

/* Checks input i against input 0 and adds its share of the axis. */
static ember_status concat_check(const cpu_kernel *k, const ember_tensor *x0,
                                 const ember_tensor *xi, size_t i, size_t axis, int64_t *total)
{
    if (xi->dtype != x0->dtype)
        return cpu_fail_dtype(k, i, xi->dtype);
    if (xi->rank != x0->rank)
        return cpu_fail_shape(k, i, xi, "its rank differs from input 0's");
    for (size_t d = 0; d < x0->rank; d++) {
        if (d != axis && xi->dims[d] != x0->dims[d])
            return cpu_fail_shape(k, i, xi, "a dim off the concat axis differs from input 0's");
    }
    *total += xi->dims[axis];
    return EMBER_OK;
}

static void concat_copy(ember_kernel_context *ctx, const cpu_kernel *k, size_t axis,
                        size_t n_in, unsigned char *out)
{
    const ember_tensor *x0 = k->host->ctx_input(ctx, 0);
    size_t esize = cpu_dtype_size(x0->dtype), outer = cpu_numel(x0->dims, axis);
    size_t inner = cpu_numel(x0->dims + axis + 1, x0->rank - axis - 1) * esize;
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < n_in; i++) {
            const ember_tensor *xi = k->host->ctx_input(ctx, i);
            size_t chunk = (size_t)xi->dims[axis] * inner;
            if (chunk > 0)
                memcpy(out, (const unsigned char *)xi->data + o * chunk, chunk);
            out += chunk;
        }
    }
}

static ember_status concat_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const int64_t *axis_attr = k->params;
    const ember_tensor *x0, *xi;
    size_t n_in = k->host->ctx_input_count(ctx), axis;
    ember_status s = fixed_input(k, ctx, &x0);
    if (s != EMBER_OK)
        return s;
    if (!cpu_normalize_axis(*axis_attr, x0->rank, &axis))
        return cpu_fail_shape(k, 0, x0, "the concat axis is out of range");
    int64_t total = 0, dims[CPU_MAX_RANK];
    for (size_t i = 0; s == EMBER_OK && i < n_in; i++) {
        s = cpu_input(k, ctx, i, &xi);
        if (s == EMBER_OK)
            s = concat_check(k, x0, xi, i, axis, &total);
    }
    ember_tensor *y;
    memcpy(dims, x0->dims, x0->rank * sizeof *dims);
    dims[axis] = total;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x0->dtype, dims, x0->rank, &y);
    if (s == EMBER_OK && cpu_tensor_numel(y) > 0)
        concat_copy(ctx, k, axis, n_in, y->data);
    return s;
}

ember_status cpu_create_concat(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(int64_t));
    if (s != EMBER_OK)
        return s;
    k->run = concat_run;
    if (k->opset >= 4 && !cpu_attr_has(k, node, "axis"))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'axis' is required", k->name, k->op);
    return cpu_attr_int(k, node, "axis", 1, k->params);
}

/* ---- Shape ------------------------------------------------------------- */

typedef struct shape_params {
    int64_t start, end;
    bool has_end;
} shape_params;

static int64_t clamp_axis(int64_t v, int64_t rank)
{
    v = v < 0 ? v + rank : v;
    return v < 0 ? 0 : v > rank ? rank : v;
}

static ember_status shape_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const shape_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    int64_t rank = (int64_t)x->rank;
    int64_t start = clamp_axis(p->start, rank);
    int64_t end = p->has_end ? clamp_axis(p->end, rank) : rank;
    int64_t n = end > start ? end - start : 0;
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, EMBER_DTYPE_INT64, &n, 1, &y);
    if (s == EMBER_OK && n > 0)
        memcpy(y->data, x->dims + start, (size_t)n * sizeof(int64_t));
    return s;
}

ember_status cpu_create_shape(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(shape_params));
    if (s != EMBER_OK)
        return s;
    shape_params *p = k->params;
    k->run = shape_run;
    p->has_end = cpu_attr_has(k, node, "end");
    s = cpu_attr_int(k, node, "start", 0, &p->start);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "end", 0, &p->end);
    return s;
}

/* ---- Gather ------------------------------------------------------------ */

bool cpu_check_gather(const ember_host_api *host, const ember_node *node)
{
    uint32_t idx = CPU_DT(EMBER_DTYPE_INT32) | CPU_DT(EMBER_DTYPE_INT64);
    return cpu_check_any_fixed(host, node) && cpu_input_dtype_in(host, node, 1, idx);
}

static int64_t index_at(const ember_tensor *t, size_t i)
{
    return t->dtype == EMBER_DTYPE_INT64 ? ((const int64_t *)t->data)[i]
                                         : ((const int32_t *)t->data)[i];
}

/* Every index must lie in [-dim, dim). */
static ember_status gather_check(const cpu_kernel *k, const ember_tensor *idx, int64_t dim)
{
    if (idx->dtype != EMBER_DTYPE_INT64 && idx->dtype != EMBER_DTYPE_INT32)
        return cpu_fail_dtype(k, 1, idx->dtype);
    size_t n = cpu_tensor_numel(idx);
    for (size_t i = 0; i < n; i++) {
        int64_t v = index_at(idx, i);
        if (v < -dim || v >= dim)
            return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                                 "node '%s' (%s): input 1 holds index %lld at position %zu, "
                                 "out of range for a gather axis of size %lld",
                                 k->name, k->op, (long long)v, i, (long long)dim);
    }
    return EMBER_OK;
}

static void gather_copy(const ember_tensor *data, const ember_tensor *idx, size_t axis,
                        unsigned char *out)
{
    size_t esize = cpu_dtype_size(data->dtype), outer = cpu_numel(data->dims, axis);
    size_t inner = cpu_numel(data->dims + axis + 1, data->rank - axis - 1) * esize;
    size_t n = cpu_tensor_numel(idx), dim = (size_t)data->dims[axis];
    const unsigned char *src = data->data;
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < n; i++, out += inner) {
            int64_t v = index_at(idx, i);
            size_t at = (size_t)(v < 0 ? v + (int64_t)dim : v);
            memcpy(out, src + (o * dim + at) * inner, inner);
        }
    }
}

static ember_status gather_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const int64_t *axis_attr = k->params;
    const ember_tensor *data, *idx;
    size_t axis;
    ember_status s = fixed_input(k, ctx, &data);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &idx);
    if (s != EMBER_OK)
        return s;
    if (!cpu_normalize_axis(*axis_attr, data->rank, &axis))
        return cpu_fail_shape(k, 0, data, "the gather axis is out of range");
    if (data->rank + idx->rank - 1 > CPU_MAX_RANK)
        return cpu_fail_shape(k, 1, idx, "the result has too many dims");
    s = gather_check(k, idx, data->dims[axis]);
    int64_t dims[CPU_MAX_RANK];
    size_t rank = 0;
    for (size_t d = 0; d < axis; d++)
        dims[rank++] = data->dims[d];
    for (size_t d = 0; d < idx->rank; d++)
        dims[rank++] = idx->dims[d];
    for (size_t d = axis + 1; d < data->rank; d++)
        dims[rank++] = data->dims[d];
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, data->dtype, dims, rank, &y);
    if (s == EMBER_OK && cpu_tensor_numel(y) > 0)
        gather_copy(data, idx, axis, y->data);
    return s;
}

ember_status cpu_create_gather(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(int64_t));
    k->run = gather_run;
    return s == EMBER_OK ? cpu_attr_int(k, node, "axis", 0, k->params) : s;
}

/* ---- Constant ---------------------------------------------------------- */

/* The value, copied out of the node at kernel_create. */
typedef struct constant_params {
    uint32_t dtype;
    size_t rank, bytes;
    int64_t dims[CPU_MAX_RANK];
    void *data; /* malloc'd; NULL when bytes is 0 */
} constant_params;

static void constant_release(void *params)
{
    constant_params *p = params;
    free(p->data);
}

bool cpu_check_constant(const ember_host_api *host, const ember_node *node)
{
    ember_attr attr;
    if (host->node_attr(node, "value", &attr))
        return attr.type == EMBER_ATTR_TENSOR && attr.tensor != NULL &&
               cpu_dtype_size(attr.tensor->dtype) > 0 && attr.tensor->rank <= CPU_MAX_RANK;
    return host->node_attr(node, "value_float", &attr) ||
           host->node_attr(node, "value_floats", &attr) ||
           host->node_attr(node, "value_int", &attr) ||
           host->node_attr(node, "value_ints", &attr);
}

static ember_status constant_store(cpu_kernel *k, uint32_t dtype, const int64_t *dims,
                                   size_t rank, const void *data)
{
    constant_params *p = k->params;
    p->dtype = dtype;
    p->rank = rank;
    if (rank > 0)
        memcpy(p->dims, dims, rank * sizeof *dims);
    p->bytes = cpu_numel(dims, rank) * cpu_dtype_size(dtype);
    if (p->bytes == 0)
        return EMBER_OK;
    p->data = malloc(p->bytes);
    if (p->data == NULL)
        return cpu_fail_oom(k);
    memcpy(p->data, data, p->bytes);
    return EMBER_OK;
}

static ember_status constant_decode(cpu_kernel *k, const ember_attr *a)
{
    int64_t n = (int64_t)a->n;
    switch (a->type) {
    case EMBER_ATTR_TENSOR:
        return constant_store(k, a->tensor->dtype, a->tensor->dims, a->tensor->rank,
                              a->tensor->data);
    case EMBER_ATTR_FLOAT: return constant_store(k, EMBER_DTYPE_FLOAT32, NULL, 0, &a->f);
    case EMBER_ATTR_FLOATS: return constant_store(k, EMBER_DTYPE_FLOAT32, &n, 1, a->floats);
    case EMBER_ATTR_INT: return constant_store(k, EMBER_DTYPE_INT64, NULL, 0, &a->i);
    case EMBER_ATTR_INTS: return constant_store(k, EMBER_DTYPE_INT64, &n, 1, a->ints);
    default:
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): attribute type %u is not supported", k->name,
                             k->op, (unsigned)a->type);
    }
}

static ember_status constant_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const constant_params *p = k->params;
    ember_tensor *y;
    ember_status s = cpu_output(k, ctx, 0, p->dtype, p->dims, p->rank, &y);
    if (s == EMBER_OK && p->bytes > 0)
        memcpy(y->data, p->data, p->bytes);
    return s;
}

ember_status cpu_create_constant(cpu_kernel *k, const ember_node *node)
{
    static const char *const names[] = {"value", "value_float", "value_floats", "value_int",
                                        "value_ints"};
    ember_status s = cpu_kernel_params(k, sizeof(constant_params));
    if (s != EMBER_OK)
        return s;
    k->release = constant_release;
    k->run = constant_run;
    ember_attr attr;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (k->host->node_attr(node, names[i], &attr))
            return constant_decode(k, &attr);
    }
    return k->host->fail(EMBER_E_INVALID_MODEL,
                         "node '%s' (%s): no value attribute (value, value_float(s), "
                         "value_int(s)) is set",
                         k->name, k->op);
}
