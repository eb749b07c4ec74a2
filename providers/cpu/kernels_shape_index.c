/*
 * Part of the shape family (helpers in kernels_shape.c): the indexing
 * ops (GatherElements, GatherND, ScatterElements, Scatter, ScatterND,
 * TensorScatter), Unique and Col2Im. Every index is checked before any
 * element moves; a bad one fails naming the node, the input, the position
 * and the value.
 */
#include "kernels_shape.h"

#include <math.h>
#include <stdlib.h>

/* ---- scatter reductions ------------------------------------------------ */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static ember_status red_decode(cpu_kernel *k, const ember_node *node, int *out)
{
    char name[8];
    ember_status s = cpu_attr_string(k, node, "reduction", "none", name, sizeof name);
    if (s != EMBER_OK)
        return s;
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    int allowed = k->opset >= 18 ? 5 : k->opset >= 16 ? 3 : 1;
    for (int i = 0; i < allowed; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = i;
            return EMBER_OK;
        }
    }
    return k->host->fail(EMBER_E_INVALID_MODEL,
                         "node '%s' (%s): attribute 'reduction' has unknown value '%s'", k->name,
                         k->op, name);
}

static int64_t red_i64(int red, int64_t a, int64_t b)
{
    switch (red) {
    case RED_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case RED_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case RED_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

static uint64_t red_u64(int red, uint64_t a, uint64_t b)
{
    switch (red) {
    case RED_ADD: return a + b;
    case RED_MUL: return a * b;
    case RED_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

static double red_f64(int red, double a, double b)
{
    switch (red) {
    case RED_ADD: return a + b;
    case RED_MUL: return a * b;
    case RED_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

/* y[di] = y[di] (red) u[ui]; m->x is the updates tensor. */
static ember_status red_apply(const shp_mover *m, int red, size_t di, size_t ui)
{
    if (red == RED_NONE)
        return shp_move(m, di, ui);
    uint32_t dt = m->y->dtype;
    if (dt == EMBER_DTYPE_INT64) {
        int64_t *y = m->y->data;
        y[di] = red_i64(red, y[di], ((const int64_t *)m->x->data)[ui]);
    } else if (dt == EMBER_DTYPE_UINT64) {
        uint64_t *y = m->y->data;
        y[di] = red_u64(red, y[di], ((const uint64_t *)m->x->data)[ui]);
    } else {
        double v = red_f64(red, cpu_get_f64(m->y->data, dt, di), cpu_get_f64(m->x->data, dt, ui));
        shp_set(m->y->data, dt, di, v);
    }
    return EMBER_OK;
}

/* Output 0 as a copy of data, with a mover from `updates` into it. */
static ember_status scatter_begin(const cpu_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor *data, const ember_tensor *updates,
                                  int red, shp_mover *m)
{
    ember_tensor *y;
    if (updates->dtype != data->dtype)
        return cpu_fail_dtype(k, 2, updates->dtype);
    if (red != RED_NONE && (!shp_is_numeric(data->dtype) || data->dtype == EMBER_DTYPE_BOOL))
        return cpu_fail_dtype(k, 0, data->dtype);
    ember_status s = cpu_output(k, ctx, 0, data->dtype, data->dims, data->rank, &y);
    if (s != EMBER_OK)
        return s;
    shp_mover_init(m, k, data, y);
    s = shp_move_n(m, 0, 0, cpu_tensor_numel(data));
    m->x = updates;
    return s;
}

/* ---- GatherElements / ScatterElements ---------------------------------- */

typedef struct elements_params {
    int64_t axis;
    int red;
} elements_params;

/* Checks indices against data along axis: same rank, no dim larger than
 * data's off the axis, every value in [-dim, dim). */
static ember_status elements_check(const cpu_kernel *k, const ember_tensor *data,
                                   const ember_tensor *idx, size_t *axis)
{
    const elements_params *p = k->params;
    if (!cpu_normalize_axis(p->axis, data->rank, axis))
        return cpu_fail_shape(k, 0, data, "the axis is out of range");
    if (idx->rank != data->rank)
        return cpu_fail_shape(k, 1, idx, "indices and data differ in rank");
    for (size_t d = 0; d < data->rank; d++) {
        if (d != *axis && idx->dims[d] > data->dims[d])
            return cpu_fail_shape(k, 1, idx, "indices are larger than data off the axis");
    }
    int64_t dim = data->dims[*axis];
    size_t n = cpu_tensor_numel(idx);
    for (size_t i = 0; i < n; i++) {
        int64_t v = shp_index_at(idx, i);
        if (v < -dim || v >= dim)
            return cpu_shp_fail_index(k, 1, i, v, dim);
    }
    return EMBER_OK;
}

/* Offset in data of element i of indices (coord is its coordinate). */
static size_t elements_offset(const ember_tensor *data, const ember_tensor *idx, size_t axis,
                              const int64_t *stride, const int64_t *coord, size_t i)
{
    int64_t v = shp_index_at(idx, i), off = 0;
    if (v < 0)
        v += data->dims[axis];
    for (size_t d = 0; d < data->rank; d++)
        off += (d == axis ? v : coord[d]) * stride[d];
    return (size_t)off;
}

static void elements_next(const ember_tensor *idx, int64_t *coord)
{
    for (size_t d = idx->rank; d-- > 0;) {
        if (++coord[d] < idx->dims[d])
            break;
        coord[d] = 0;
    }
}

static ember_status gather_elements_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *data, *idx;
    int64_t stride[CPU_MAX_RANK], coord[CPU_MAX_RANK] = {0};
    size_t axis;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &data);
    if (s == EMBER_OK)
        s = cpu_shp_index_input(k, ctx, 1, &idx);
    if (s == EMBER_OK)
        s = elements_check(k, data, idx, &axis);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, data->dtype, idx->dims, idx->rank, &y);
    if (s != EMBER_OK)
        return s;
    shp_mover m;
    shp_mover_init(&m, k, data, y);
    shp_strides(data->dims, data->rank, stride);
    size_t n = cpu_tensor_numel(idx);
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        s = shp_move(&m, i, elements_offset(data, idx, axis, stride, coord, i));
        elements_next(idx, coord);
    }
    return s;
}

static ember_status scatter_elements_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const elements_params *p = k->params;
    const ember_tensor *data, *idx, *upd;
    int64_t stride[CPU_MAX_RANK], coord[CPU_MAX_RANK] = {0};
    size_t axis;
    shp_mover m;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &data);
    if (s == EMBER_OK)
        s = cpu_shp_index_input(k, ctx, 1, &idx);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 2, &upd);
    if (s == EMBER_OK)
        s = elements_check(k, data, idx, &axis);
    if (s != EMBER_OK)
        return s;
    if (upd->rank != idx->rank || memcmp(upd->dims, idx->dims, idx->rank * sizeof(int64_t)))
        return cpu_fail_shape(k, 2, upd, "updates and indices differ in shape");
    s = scatter_begin(k, ctx, data, upd, p->red, &m);
    shp_strides(data->dims, data->rank, stride);
    size_t n = cpu_tensor_numel(idx);
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        s = red_apply(&m, p->red, elements_offset(data, idx, axis, stride, coord, i), i);
        elements_next(idx, coord);
    }
    return s;
}

static ember_status elements_create(cpu_kernel *k, const ember_node *node, bool scatter)
{
    ember_status s = cpu_kernel_params(k, sizeof(elements_params));
    if (s != EMBER_OK)
        return s;
    elements_params *p = k->params;
    k->run = scatter ? scatter_elements_run : gather_elements_run;
    s = cpu_attr_int(k, node, "axis", 0, &p->axis);
    if (s == EMBER_OK && scatter && strcmp(k->op, "ScatterElements") == 0)
        s = red_decode(k, node, &p->red);
    return s;
}

ember_status cpu_gather_elements_create(cpu_kernel *k, const ember_node *node)
{
    return elements_create(k, node, false);
}

ember_status cpu_scatter_elements_create(cpu_kernel *k, const ember_node *node)
{
    return elements_create(k, node, true);
}

/* ---- GatherND / ScatterND ---------------------------------------------- */

typedef struct nd_params {
    int64_t batch_dims;
    int red;
} nd_params;

/*
 * The index tuples of indices (last dim m) into data: tuple t starts at
 * element offsets[t] of data and covers `slice` elements. batch_dims b
 * leading dims are shared by data and indices.
 */
typedef struct nd_plan {
    size_t m, n_tuples, slice;
    size_t *offsets; /* scratch */
} nd_plan;

static ember_status nd_plan_make(const cpu_kernel *k, ember_kernel_context *ctx,
                                 const ember_tensor *data, const ember_tensor *idx, size_t b,
                                 nd_plan *plan)
{
    if (idx->rank < 1 || idx->rank <= b || data->rank <= b)
        return cpu_fail_shape(k, 1, idx, "indices have too low a rank for batch_dims");
    size_t m = (size_t)idx->dims[idx->rank - 1];
    if (m > data->rank - b)
        return cpu_fail_shape(k, 1, idx, "the index tuples are longer than data's rank");
    for (size_t d = 0; d < b; d++) {
        if (idx->dims[d] != data->dims[d])
            return cpu_fail_shape(k, 1, idx, "the batch dims differ from data's");
    }
    int64_t stride[CPU_MAX_RANK];
    shp_strides(data->dims, data->rank, stride);
    plan->m = m;
    plan->n_tuples = cpu_numel(idx->dims, idx->rank - 1);
    plan->slice = cpu_numel(data->dims + b + m, data->rank - b - m);
    size_t per_batch = plan->n_tuples / (cpu_numel(idx->dims, b) ? cpu_numel(idx->dims, b) : 1);
    size_t batch_stride = b ? (size_t)stride[b - 1] : 0;
    ember_status s =
        cpu_shp_scratch(k, ctx, plan->n_tuples * sizeof(size_t), (void **)&plan->offsets);
    for (size_t t = 0; s == EMBER_OK && t < plan->n_tuples; t++) {
        size_t off = per_batch ? (t / per_batch) * batch_stride : 0;
        for (size_t j = 0; j < m; j++) {
            int64_t dim = data->dims[b + j], v = shp_index_at(idx, t * m + j);
            if (v < -dim || v >= dim)
                return cpu_shp_fail_index(k, 1, t * m + j, v, dim);
            off += (size_t)(v < 0 ? v + dim : v) * (size_t)stride[b + j];
        }
        plan->offsets[t] = off;
    }
    return s;
}

static ember_status gathernd_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const nd_params *p = k->params;
    const ember_tensor *data, *idx;
    nd_plan plan;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &data);
    if (s == EMBER_OK)
        s = cpu_shp_index_input(k, ctx, 1, &idx);
    if (s == EMBER_OK)
        s = nd_plan_make(k, ctx, data, idx, (size_t)p->batch_dims, &plan);
    if (s != EMBER_OK)
        return s;
    int64_t dims[2 * CPU_MAX_RANK];
    size_t rank = 0;
    for (size_t d = 0; d + 1 < idx->rank; d++)
        dims[rank++] = idx->dims[d];
    for (size_t d = (size_t)p->batch_dims + plan.m; d < data->rank; d++)
        dims[rank++] = data->dims[d];
    if (rank > CPU_MAX_RANK)
        return cpu_fail_shape(k, 1, idx, "the result has too many dims");
    ember_tensor *y;
    shp_mover m;
    s = cpu_output(k, ctx, 0, data->dtype, dims, rank, &y);
    shp_mover_init(&m, k, data, y);
    for (size_t t = 0; s == EMBER_OK && t < plan.n_tuples; t++)
        s = shp_move_n(&m, t * plan.slice, plan.offsets[t], plan.slice);
    return s;
}

static ember_status scatternd_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const nd_params *p = k->params;
    const ember_tensor *data, *idx, *upd;
    nd_plan plan;
    shp_mover m;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &data);
    if (s == EMBER_OK)
        s = cpu_shp_index_input(k, ctx, 1, &idx);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 2, &upd);
    if (s == EMBER_OK)
        s = nd_plan_make(k, ctx, data, idx, 0, &plan);
    if (s != EMBER_OK)
        return s;
    bool ok = upd->rank == idx->rank - 1 + data->rank - plan.m;
    for (size_t d = 0; ok && d + 1 < idx->rank; d++)
        ok = upd->dims[d] == idx->dims[d];
    for (size_t d = plan.m; ok && d < data->rank; d++)
        ok = upd->dims[idx->rank - 1 + d - plan.m] == data->dims[d];
    if (!ok)
        return cpu_fail_shape(k, 2, upd, "updates do not have the shape indices and data give");
    s = scatter_begin(k, ctx, data, upd, p->red, &m);
    for (size_t t = 0; s == EMBER_OK && t < plan.n_tuples; t++) {
        for (size_t e = 0; s == EMBER_OK && e < plan.slice; e++)
            s = red_apply(&m, p->red, plan.offsets[t] + e, t * plan.slice + e);
    }
    return s;
}

ember_status cpu_gathernd_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(nd_params));
    if (s != EMBER_OK)
        return s;
    nd_params *p = k->params;
    k->run = gathernd_run;
    s = cpu_attr_int(k, node, "batch_dims", 0, &p->batch_dims);
    if (s == EMBER_OK && (p->batch_dims < 0 || p->batch_dims >= CPU_MAX_RANK))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'batch_dims' (%lld) is out of range",
                             k->name, k->op, (long long)p->batch_dims);
    return s;
}

ember_status cpu_scatternd_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(nd_params));
    if (s != EMBER_OK)
        return s;
    nd_params *p = k->params;
    k->run = scatternd_run;
    return red_decode(k, node, &p->red);
}

/* ---- TensorScatter ----------------------------------------------------- */

typedef struct tscatter_params {
    int64_t axis;
    bool circular;
} tscatter_params;

static ember_status tscatter_check(const cpu_kernel *k, const ember_tensor *cache,
                                   const ember_tensor *upd, size_t axis)
{
    if (upd->dtype != cache->dtype)
        return cpu_fail_dtype(k, 1, upd->dtype);
    if (upd->rank != cache->rank)
        return cpu_fail_shape(k, 1, upd, "update and past_cache differ in rank");
    for (size_t d = 0; d < cache->rank; d++) {
        if (d == axis ? upd->dims[d] > cache->dims[d] : upd->dims[d] != cache->dims[d])
            return cpu_fail_shape(k, 1, upd, "update does not fit past_cache");
    }
    return EMBER_OK;
}

static ember_status tscatter_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const tscatter_params *p = k->params;
    const ember_tensor *cache, *upd, *wi = cpu_opt_input(k, ctx, 2);
    size_t axis;
    shp_mover m;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &cache);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &upd);
    if (s != EMBER_OK)
        return s;
    if (!cpu_normalize_axis(p->axis, cache->rank, &axis) || axis == 0)
        return cpu_fail_shape(k, 0, cache, "the axis is out of range (or the batch axis)");
    s = tscatter_check(k, cache, upd, axis);
    if (s == EMBER_OK && wi != NULL &&
        (wi->dtype != EMBER_DTYPE_INT64 || cpu_tensor_numel(wi) != (size_t)cache->dims[0]))
        return cpu_fail_shape(k, 2, wi, "write_indices must be int64 with one value per batch");
    if (s == EMBER_OK)
        s = scatter_begin(k, ctx, cache, upd, RED_NONE, &m);
    int64_t max_len = cache->dims[axis], len = upd->dims[axis];
    size_t outer = cpu_numel(cache->dims, axis), per_batch = outer / (size_t)cache->dims[0];
    size_t inner = cpu_numel(cache->dims + axis + 1, cache->rank - axis - 1);
    for (size_t o = 0; s == EMBER_OK && o < outer; o++) {
        size_t b = o / per_batch;
        int64_t start = wi ? ((const int64_t *)wi->data)[b] : 0;
        if (start < 0 || (!p->circular && start + len > max_len))
            return cpu_shp_fail_index(k, 2, b, start, max_len - len + 1);
        for (int64_t i = 0; s == EMBER_OK && i < len; i++) {
            int64_t at = p->circular ? (start + i) % max_len : start + i;
            s = shp_move_n(&m, (o * (size_t)max_len + (size_t)at) * inner,
                           (o * (size_t)len + (size_t)i) * inner, inner);
        }
    }
    return s;
}

ember_status cpu_tensor_scatter_create(cpu_kernel *k, const ember_node *node)
{
    char mode[16];
    ember_status s = cpu_kernel_params(k, sizeof(tscatter_params));
    if (s != EMBER_OK)
        return s;
    tscatter_params *p = k->params;
    k->run = tscatter_run;
    s = cpu_attr_int(k, node, "axis", -2, &p->axis);
    if (s == EMBER_OK)
        s = cpu_attr_string(k, node, "mode", "linear", mode, sizeof mode);
    if (s != EMBER_OK)
        return s;
    p->circular = strcmp(mode, "circular") == 0;
    if (!p->circular && strcmp(mode, "linear") != 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'mode' has unknown value '%s'", k->name,
                             k->op, mode);
    return EMBER_OK;
}

/* ---- Unique ------------------------------------------------------------ */

typedef struct unique_params {
    bool has_axis;
    int64_t axis, sorted;
} unique_params;

/* Slices of x along the axis: slice i is elements (o * n + i) * inner + j. */
typedef struct unique_view {
    const ember_tensor *x;
    size_t outer, n, inner;
} unique_view;

static int unique_elem_cmp(const ember_tensor *x, size_t a, size_t b)
{
    switch (x->dtype) {
    case EMBER_DTYPE_STRING: {
        const ember_string *s = x->data;
        size_t la = s[a].size, lb = s[b].size;
        int c = memcmp(s[a].data, s[b].data, la < lb ? la : lb);
        return c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
    }
    case EMBER_DTYPE_INT64: {
        int64_t va = ((const int64_t *)x->data)[a], vb = ((const int64_t *)x->data)[b];
        return va < vb ? -1 : va > vb;
    }
    case EMBER_DTYPE_UINT64: {
        uint64_t va = ((const uint64_t *)x->data)[a], vb = ((const uint64_t *)x->data)[b];
        return va < vb ? -1 : va > vb;
    }
    default: {
        double va = cpu_get_f64(x->data, x->dtype, a), vb = cpu_get_f64(x->data, x->dtype, b);
        return va < vb ? -1 : va > vb;
    }
    }
}

static int unique_cmp(const unique_view *v, size_t a, size_t b)
{
    for (size_t o = 0; o < v->outer; o++) {
        for (size_t j = 0; j < v->inner; j++) {
            int c = unique_elem_cmp(v->x, (o * v->n + a) * v->inner + j,
                                    (o * v->n + b) * v->inner + j);
            if (c)
                return c;
        }
    }
    return 0;
}

/* Stable bottom-up merge sort of a[0..n) by slice (key NULL) or by key[]. */
static void unique_sort(const unique_view *v, const size_t *key, size_t *a, size_t *tmp,
                        size_t n)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n, i = lo, j = mid, o = lo;
            while (i < mid && j < hi) {
                bool right = key ? key[a[j]] < key[a[i]] : unique_cmp(v, a[j], a[i]) < 0;
                tmp[o++] = right ? a[j++] : a[i++];
            }
            while (i < mid)
                tmp[o++] = a[i++];
            while (j < hi)
                tmp[o++] = a[j++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* Groups equal slices: first[g] (first occurrence), count[g], inverse[i];
 * returns the group count, groups in output order. */
static size_t unique_group(const unique_view *v, bool sorted, size_t *perm, size_t *tmp,
                           size_t *first, size_t *count, size_t *inverse)
{
    size_t n = v->n, u = 0;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    unique_sort(v, NULL, perm, tmp, n);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || unique_cmp(v, perm[i - 1], perm[i]) != 0) {
            first[u] = perm[i];
            count[u++] = 0;
        }
        count[u - 1]++;
        inverse[perm[i]] = u - 1;
    }
    if (sorted)
        return u;
    /* Order the groups by first occurrence and renumber inverse. */
    size_t *order = perm, *rank = tmp + n, *cnt = tmp + 2 * n;
    for (size_t g = 0; g < u; g++)
        order[g] = g;
    unique_sort(v, first, order, tmp, u);
    for (size_t g = 0; g < u; g++)
        rank[order[g]] = g;
    for (size_t i = 0; i < n; i++)
        inverse[i] = rank[inverse[i]];
    for (size_t g = 0; g < u; g++) {
        tmp[g] = first[order[g]];
        cnt[g] = count[order[g]];
    }
    memcpy(first, tmp, u * sizeof *first);
    memcpy(count, cnt, u * sizeof *count);
    return u;
}

static ember_status unique_emit(const cpu_kernel *k, ember_kernel_context *ctx,
                                const unique_view *v, size_t axis, size_t u, const size_t *first,
                                const size_t *count, const size_t *inverse)
{
    const unique_params *p = k->params;
    int64_t dims[CPU_MAX_RANK], n64 = (int64_t)v->n, u64 = (int64_t)u;
    size_t rank = 1, n_out = k->host->ctx_output_count(ctx);
    dims[0] = u64;
    if (p->has_axis) {
        memcpy(dims, v->x->dims, v->x->rank * sizeof *dims);
        dims[axis] = u64;
        rank = v->x->rank;
    }
    ember_tensor *y, *t;
    shp_mover m;
    ember_status s = cpu_output(k, ctx, 0, v->x->dtype, dims, rank, &y);
    shp_mover_init(&m, k, v->x, y);
    for (size_t o = 0; s == EMBER_OK && o < v->outer; o++) {
        for (size_t g = 0; s == EMBER_OK && g < u; g++)
            s = shp_move_n(&m, (o * u + g) * v->inner, (o * v->n + first[g]) * v->inner,
                           v->inner);
    }
    const size_t *src[3] = {first, inverse, count};
    const int64_t *len[3] = {&u64, &n64, &u64};
    for (size_t j = 1; s == EMBER_OK && j < 4 && j < n_out; j++) {
        s = cpu_output(k, ctx, j, EMBER_DTYPE_INT64, len[j - 1], 1, &t);
        for (int64_t i = 0; s == EMBER_OK && i < *len[j - 1]; i++)
            ((int64_t *)t->data)[i] = (int64_t)src[j - 1][i];
    }
    return s;
}

static ember_status unique_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const unique_params *p = k->params;
    const ember_tensor *x;
    size_t axis = 0, *buf;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    unique_view v = {x, 1, cpu_tensor_numel(x), 1};
    if (p->has_axis) {
        if (!cpu_normalize_axis(p->axis, x->rank, &axis))
            return cpu_fail_shape(k, 0, x, "the axis is out of range");
        v.outer = cpu_numel(x->dims, axis);
        v.n = (size_t)x->dims[axis];
        v.inner = cpu_numel(x->dims + axis + 1, x->rank - axis - 1);
    }
    size_t n = v.n;
    s = cpu_shp_scratch(k, ctx, 7 * (n + 1) * sizeof(size_t), (void **)&buf);
    if (s != EMBER_OK)
        return s;
    size_t *perm = buf, *first = buf + n + 1, *count = buf + 2 * (n + 1);
    size_t *inverse = buf + 3 * (n + 1), *tmp = buf + 4 * (n + 1);
    size_t u = unique_group(&v, p->sorted != 0, perm, tmp, first, count, inverse);
    return unique_emit(k, ctx, &v, axis, u, first, count, inverse);
}

ember_status cpu_unique_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(unique_params));
    if (s != EMBER_OK)
        return s;
    unique_params *p = k->params;
    k->run = unique_run;
    p->has_axis = cpu_attr_has(k, node, "axis");
    s = cpu_attr_int(k, node, "axis", 0, &p->axis);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "sorted", 1, &p->sorted);
    return s;
}

/* ---- Col2Im ------------------------------------------------------------ */

typedef struct col2im_params {
    size_t n_dil, n_pads, n_strides;
    int64_t dil[CPU_MAX_RANK], pads[2 * CPU_MAX_RANK], strides[CPU_MAX_RANK];
} col2im_params;

/* The resolved geometry: per spatial dim the image size, block size,
 * dilation, stride, leading pad and the count of block positions. */
typedef struct col2im_geom {
    size_t nd, img_size, block_size, cols;
    int64_t img[CPU_MAX_RANK], block[CPU_MAX_RANK], dil[CPU_MAX_RANK], stride[CPU_MAX_RANK],
        pad[CPU_MAX_RANK], ncol[CPU_MAX_RANK];
} col2im_geom;

static ember_status col2im_geometry(const cpu_kernel *k, ember_kernel_context *ctx,
                                    const ember_tensor *x, col2im_geom *g)
{
    const col2im_params *p = k->params;
    size_t n_img, n_block;
    ember_status s = cpu_shp_read_list(k, ctx, 1, g->img, CPU_MAX_RANK, &n_img);
    if (s == EMBER_OK)
        s = cpu_shp_read_list(k, ctx, 2, g->block, CPU_MAX_RANK, &n_block);
    if (s != EMBER_OK)
        return s;
    g->nd = n_img;
    if (n_block != n_img || (p->n_dil && p->n_dil != n_img) ||
        (p->n_strides && p->n_strides != n_img) || (p->n_pads && p->n_pads != 2 * n_img) ||
        x->rank != 3 || n_img + 2 > CPU_MAX_RANK)
        return cpu_fail_shape(k, 0, x, "image_shape, block_shape and the attributes disagree "
                                        "(or the input is not 3-D)");
    g->img_size = g->block_size = g->cols = 1;
    for (size_t d = 0; d < n_img; d++) {
        g->dil[d] = p->n_dil ? p->dil[d] : 1;
        g->stride[d] = p->n_strides ? p->strides[d] : 1;
        g->pad[d] = p->n_pads ? p->pads[d] : 0;
        int64_t pad_end = p->n_pads ? p->pads[n_img + d] : 0;
        int64_t eff = g->dil[d] * (g->block[d] - 1) + 1;
        if (g->img[d] <= 0 || g->block[d] <= 0 || g->dil[d] <= 0 || g->stride[d] <= 0 ||
            g->img[d] > INT32_MAX || g->block[d] > INT32_MAX || g->dil[d] > INT32_MAX ||
            g->pad[d] < 0 || g->pad[d] > INT32_MAX || pad_end < 0 || pad_end > INT32_MAX)
            return cpu_fail_shape(k, 0, x, "a size, dilation, stride or pad is out of range");
        g->ncol[d] = (g->img[d] + g->pad[d] + pad_end - eff) / g->stride[d] + 1;
        if (g->ncol[d] <= 0)
            return cpu_fail_shape(k, 0, x, "the block does not fit the padded image");
        g->img_size *= (size_t)g->img[d];
        g->block_size *= (size_t)g->block[d];
        g->cols *= (size_t)g->ncol[d];
    }
    if ((size_t)x->dims[1] % g->block_size != 0 || (size_t)x->dims[2] != g->cols)
        return cpu_fail_shape(k, 0, x, "it does not match block_shape and the block count");
    return EMBER_OK;
}

/* Image offset of column element (block position kb, column l), or -1. */
static int64_t col2im_target(const col2im_geom *g, size_t kb, size_t l)
{
    int64_t off = 0;
    for (size_t d = g->nd; d-- > 0;) {
        int64_t kd = (int64_t)(kb % (size_t)g->block[d]), ld = (int64_t)(l % (size_t)g->ncol[d]);
        kb /= (size_t)g->block[d];
        l /= (size_t)g->ncol[d];
        int64_t pos = ld * g->stride[d] - g->pad[d] + kd * g->dil[d];
        if (pos < 0 || pos >= g->img[d])
            return -1;
        int64_t scale = 1;
        for (size_t e = d + 1; e < g->nd; e++)
            scale *= g->img[e];
        off += pos * scale;
    }
    return off;
}

static ember_status col2im_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    col2im_geom g;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS) || x->dtype >= 32)
        return cpu_fail_dtype(k, 0, x->dtype);
    s = col2im_geometry(k, ctx, x, &g);
    if (s != EMBER_OK)
        return s;
    int64_t dims[CPU_MAX_RANK];
    size_t channels = (size_t)x->dims[1] / g.block_size, batch = (size_t)x->dims[0];
    dims[0] = x->dims[0];
    dims[1] = (int64_t)channels;
    memcpy(dims + 2, g.img, g.nd * sizeof *dims);
    ember_tensor *y;
    double *acc;
    s = cpu_output(k, ctx, 0, x->dtype, dims, g.nd + 2, &y);
    if (s == EMBER_OK)
        s = cpu_shp_scratch(k, ctx, g.img_size * sizeof(double), (void **)&acc);
    for (size_t nc = 0; s == EMBER_OK && nc < batch * channels; nc++) {
        memset(acc, 0, g.img_size * sizeof(double));
        for (size_t kb = 0; kb < g.block_size; kb++) {
            size_t row = (nc * g.block_size + kb) * g.cols;
            for (size_t l = 0; l < g.cols; l++) {
                int64_t t = col2im_target(&g, kb, l);
                if (t >= 0)
                    acc[t] += cpu_get_f64(x->data, x->dtype, row + l);
            }
        }
        for (size_t i = 0; i < g.img_size; i++)
            shp_set(y->data, x->dtype, nc * g.img_size + i, acc[i]);
    }
    return s;
}

ember_status cpu_col2im_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(col2im_params));
    if (s != EMBER_OK)
        return s;
    col2im_params *p = k->params;
    k->run = col2im_run;
    s = cpu_attr_ints(k, node, "dilations", p->dil, CPU_MAX_RANK, &p->n_dil);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "pads", p->pads, 2 * CPU_MAX_RANK, &p->n_pads);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "strides", p->strides, CPU_MAX_RANK, &p->n_strides);
    return s;
}
