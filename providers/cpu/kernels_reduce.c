/*
 * Reductions, arg-reductions, scans and the normalizations.
 *
 * Every kernel of this family reads its inputs as double (any numeric
 * dtype, bool included), computes in double and converts on store: one
 * code path per op for all the dtypes the spec allows. Integers are exact
 * up to 2^53. This file holds the shared helpers (kernels_reduce.h),
 * the reductions, arg-reductions and scans, and the family's registration
 * table; the normalizations, losses and Dropout live in
 * kernels_reduce_norm.c, Einsum and Det in kernels_reduce_linalg.c.
 */
#include "kernels_reduce.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- element access as double ----------------------------------------- */

static bool rd_supported(uint32_t dtype)
{
    return (CPU_DT(dtype) & (CPU_DT_NUMERIC | CPU_DT(EMBER_DTYPE_BOOL))) != 0;
}

/* Claim check: input 0 is numeric or bool (when known). */
static bool rd_check(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_NUMERIC | CPU_DT(EMBER_DTYPE_BOOL));
}

ember_status cpu_rd_scratch(const cpu_kernel *k, ember_kernel_context *ctx, size_t n,
                            double **out)
{
    return k->host->ctx_scratch(ctx, (n + 1) * sizeof(double), (void **)out);
}

ember_status cpu_rd_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                          const ember_tensor **t, double **vals)
{
    ember_status s = cpu_input(k, ctx, index, t);
    if (s != EMBER_OK)
        return s;
    if (!rd_supported((*t)->dtype))
        return cpu_fail_dtype(k, index, (*t)->dtype);
    size_t n = cpu_tensor_numel(*t);
    s = cpu_rd_scratch(k, ctx, n, vals);
    if (s != EMBER_OK)
        return s;
    for (size_t i = 0; i < n; i++)
        (*vals)[i] = cpu_get_f64((*t)->data, (*t)->dtype, i);
    return EMBER_OK;
}

ember_status cpu_rd_optional(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                             const ember_tensor **t, double **vals)
{
    *t = NULL;
    *vals = NULL;
    if (index >= k->host->ctx_input_count(ctx) || k->host->ctx_input(ctx, index) == NULL)
        return EMBER_OK;
    return cpu_rd_input(k, ctx, index, t, vals);
}

void cpu_rd_store(ember_tensor *t, const double *vals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rd_set(t->data, t->dtype, i, vals[i]);
}

bool cpu_rd_has_output(const cpu_kernel *k, ember_kernel_context *ctx, size_t index)
{
    return index < k->host->ctx_output_count(ctx);
}

uint32_t cpu_rd_output_dtype(const cpu_kernel *k, const ember_node *node, size_t index,
                             uint32_t dflt)
{
    ember_type_info info;
    if (index < k->host->node_output_count(node) &&
        k->host->node_output_type(node, index, &info) && info.dtype != EMBER_DTYPE_UNDEFINED)
        return info.dtype;
    return dflt;
}

ember_status cpu_rd_fail_axis(const cpu_kernel *k, size_t index, const ember_tensor *t,
                              int64_t axis)
{
    char why[64];
    snprintf(why, sizeof why, "axis %lld is outside its rank", (long long)axis);
    return cpu_fail_shape(k, index, t, why);
}

void cpu_rd_split(const ember_tensor *t, size_t axis, size_t *outer, size_t *len,
                  size_t *inner)
{
    *outer = cpu_numel(t->dims, axis);
    *len = (size_t)t->dims[axis];
    *inner = cpu_numel(t->dims + axis + 1, t->rank - axis - 1);
}

size_t cpu_rd_reduce_map(const int64_t *dims, size_t rank, uint32_t mask, size_t *map,
                         size_t n)
{
    size_t ostride[CPU_MAX_RANK], idx[CPU_MAX_RANK] = {0}, n_out = 1;
    for (size_t d = rank; d-- > 0;) {
        ostride[d] = (mask >> d & 1u) ? 0 : n_out;
        if (!(mask >> d & 1u))
            n_out *= (size_t)dims[d];
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        map[i] = off;
        for (size_t d = rank; d-- > 0;) {
            idx[d]++;
            off += ostride[d];
            if ((int64_t)idx[d] < dims[d])
                break;
            off -= ostride[d] * idx[d];
            idx[d] = 0;
        }
    }
    return n_out;
}

bool cpu_rd_bcast_map(const int64_t *sdims, size_t srank, const int64_t *dims, size_t rank,
                      size_t *map, size_t n)
{
    if (srank > rank)
        return false;
    int64_t sd[CPU_MAX_RANK];
    for (size_t d = 0; d < rank; d++) {
        sd[d] = d < rank - srank ? 1 : sdims[d - (rank - srank)];
        if (sd[d] != 1 && sd[d] != dims[d])
            return false;
    }
    size_t stride[CPU_MAX_RANK], idx[CPU_MAX_RANK] = {0}, acc = 1;
    for (size_t d = rank; d-- > 0;) {
        stride[d] = sd[d] == 1 ? 0 : acc;
        acc *= (size_t)sd[d];
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        map[i] = off;
        for (size_t d = rank; d-- > 0;) {
            idx[d]++;
            off += stride[d];
            if ((int64_t)idx[d] < dims[d])
                break;
            off -= stride[d] * idx[d];
            idx[d] = 0;
        }
    }
    return true;
}

/* ---- Reduce* ------------------------------------------------------------- */

typedef enum rd_op {
    RD_SUM,
    RD_MEAN,
    RD_MAX,
    RD_MIN,
    RD_PROD,
    RD_L1,
    RD_L2,
    RD_LOGSUM,
    RD_LOGSUMEXP,
    RD_SUMSQUARE,
} rd_op;

typedef struct rd_params {
    rd_op op;
    bool keepdims;
    bool noop_empty;
    bool axes_input; /* axes come from input 1 (else from the attribute) */
    size_t n_axes;
    int64_t axes[CPU_MAX_RANK];
} rd_params;

static const struct {
    const char *name;
    rd_op op;
} rd_names[] = {
    {"ReduceSum", RD_SUM},       {"ReduceMean", RD_MEAN},
    {"ReduceMax", RD_MAX},       {"ReduceMin", RD_MIN},
    {"ReduceProd", RD_PROD},     {"ReduceL1", RD_L1},
    {"ReduceL2", RD_L2},         {"ReduceLogSum", RD_LOGSUM},
    {"ReduceLogSumExp", RD_LOGSUMEXP}, {"ReduceSumSquare", RD_SUMSQUARE},
};

static double rd_identity(rd_op op, uint32_t dtype)
{
    switch (op) {
    case RD_MAX: return dtype == EMBER_DTYPE_BOOL ? 0.0 : -INFINITY;
    case RD_MIN: return dtype == EMBER_DTYPE_BOOL ? 1.0 : INFINITY;
    case RD_PROD: return 1.0;
    case RD_LOGSUMEXP: return -INFINITY;
    default: return 0.0;
    }
}

static double rd_combine(rd_op op, double acc, double x)
{
    switch (op) {
    case RD_MAX: return x > acc || isnan(x) ? x : acc;
    case RD_MIN: return x < acc || isnan(x) ? x : acc;
    case RD_PROD: return acc * x;
    case RD_L1: return acc + fabs(x);
    case RD_L2:
    case RD_SUMSQUARE: return acc + x * x;
    default: return acc + x;
    }
}

static double rd_finish(rd_op op, double acc, size_t count)
{
    switch (op) {
    case RD_MEAN: return acc / (double)count;
    case RD_L2: return sqrt(acc);
    case RD_LOGSUM: return log(acc);
    default: return acc;
    }
}

/* The axes of this run as a bit mask; *all when every axis is reduced,
 * *noop when the input passes through unchanged. */
static ember_status rd_axes(const cpu_kernel *k, ember_kernel_context *ctx, const ember_tensor *x,
                            uint32_t *mask, bool *noop)
{
    const rd_params *p = k->params;
    int64_t axes[CPU_MAX_RANK];
    size_t n = p->n_axes;
    memcpy(axes, p->axes, sizeof axes);
    if (p->axes_input && k->host->ctx_input_count(ctx) > 1 &&
        k->host->ctx_input(ctx, 1) != NULL) {
        const ember_tensor *a = k->host->ctx_input(ctx, 1);
        ember_status s = cpu_read_ints(k, 1, a, axes, CPU_MAX_RANK, &n);
        if (s != EMBER_OK)
            return s;
    }
    *noop = false;
    *mask = 0;
    if (n == 0) {
        *noop = p->noop_empty;
        *mask = x->rank >= 32 ? ~0u : (1u << x->rank) - 1u;
        return EMBER_OK;
    }
    for (size_t i = 0; i < n; i++) {
        size_t a;
        if (!cpu_normalize_axis(axes[i], x->rank, &a))
            return cpu_rd_fail_axis(k, 0, x, axes[i]);
        *mask |= 1u << a;
    }
    return EMBER_OK;
}

static ember_status rd_copy_through(const cpu_kernel *k, ember_kernel_context *ctx,
                                    const ember_tensor *x)
{
    ember_tensor *y;
    ember_status s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s == EMBER_OK)
        memcpy(y->data, x->data, cpu_tensor_numel(x) * cpu_dtype_size(x->dtype));
    return s;
}

/* Float path: acc[n_out] receives the results. */
static void rd_reduce_float(rd_op op, uint32_t dtype, const double *xv, const size_t *map,
                            size_t n, size_t n_out, size_t count, double *acc, double *mx)
{
    double init = rd_identity(op, dtype);
    for (size_t o = 0; o < n_out; o++) {
        acc[o] = op == RD_LOGSUMEXP ? 0.0 : init;
        mx[o] = -INFINITY;
    }
    if (op != RD_LOGSUMEXP) {
        for (size_t i = 0; i < n; i++)
            acc[map[i]] = rd_combine(op, acc[map[i]], xv[i]);
        for (size_t o = 0; o < n_out; o++)
            acc[o] = rd_finish(op, acc[o], count);
        return;
    }
    for (size_t i = 0; i < n; i++)
        mx[map[i]] = xv[i] > mx[map[i]] ? xv[i] : mx[map[i]];
    for (size_t i = 0; i < n; i++)
        acc[map[i]] += exp(xv[i] - mx[map[i]]);
    for (size_t o = 0; o < n_out; o++)
        acc[o] = isinf(mx[o]) ? mx[o] : mx[o] + log(acc[o]);
}

/* Raw integer element i (bits of a uint64 kept as they are). */
static uint64_t rd_get_bits(const void *data, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case EMBER_DTYPE_INT8: return (uint64_t)(int64_t)((const int8_t *)data)[i];
    case EMBER_DTYPE_INT16: return (uint64_t)(int64_t)((const int16_t *)data)[i];
    case EMBER_DTYPE_INT32: return (uint64_t)(int64_t)((const int32_t *)data)[i];
    case EMBER_DTYPE_INT64: return (uint64_t)((const int64_t *)data)[i];
    case EMBER_DTYPE_UINT8: return ((const uint8_t *)data)[i];
    case EMBER_DTYPE_UINT16: return ((const uint16_t *)data)[i];
    case EMBER_DTYPE_UINT32: return ((const uint32_t *)data)[i];
    default: return ((const uint64_t *)data)[i];
    }
}

/* Stores the low bits (integer results wrap, as numpy's do). */
static void rd_set_bits(void *data, uint32_t dtype, size_t i, uint64_t v)
{
    switch (cpu_dtype_size(dtype)) {
    case 1: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case 2: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case 4: ((uint32_t *)data)[i] = (uint32_t)v; break;
    default: ((uint64_t *)data)[i] = v; break;
    }
}

/* a > b for the dtype's ordering. */
static bool rd_int_greater(uint64_t a, uint64_t b, bool is_unsigned)
{
    return is_unsigned ? a > b : (int64_t)a > (int64_t)b;
}

/* Integer path (exact, wrapping) for the ops that stay in the integers;
 * needs count > 0. acc holds n_out uint64 slots. */
static void rd_reduce_int(rd_op op, const ember_tensor *x, const size_t *map, size_t n,
                          size_t n_out, size_t count, uint64_t *acc, ember_tensor *y)
{
    bool uns = (CPU_DT(x->dtype) & CPU_DT_UNSIGNED) != 0;
    bool *seen = (bool *)(acc + n_out);
    memset(seen, 0, n_out);
    for (size_t o = 0; o < n_out; o++)
        acc[o] = op == RD_PROD ? 1u : 0u;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = rd_get_bits(x->data, x->dtype, i), *a = &acc[map[i]];
        switch (op) {
        case RD_MAX:
        case RD_MIN:
            if (!seen[map[i]] || rd_int_greater(v, *a, uns) == (op == RD_MAX))
                *a = v;
            seen[map[i]] = true;
            break;
        case RD_PROD: *a *= v; break;
        case RD_L1: *a += !uns && (int64_t)v < 0 ? 0u - v : v; break;
        case RD_SUMSQUARE: *a += v * v; break;
        default: *a += v; break;
        }
    }
    for (size_t o = 0; o < n_out; o++) {
        uint64_t v = acc[o];
        if (op == RD_MEAN)
            v = uns ? v / count : (uint64_t)((int64_t)v / (int64_t)count);
        rd_set_bits(y->data, y->dtype, o, v);
    }
}

static bool rd_int_path(rd_op op, uint32_t dtype, size_t count)
{
    bool int_op = op == RD_SUM || op == RD_MEAN || op == RD_MAX || op == RD_MIN ||
                  op == RD_PROD || op == RD_L1 || op == RD_SUMSQUARE;
    return int_op && count > 0 && (CPU_DT(dtype) & (CPU_DT_SIGNED | CPU_DT_UNSIGNED));
}

/* Output shape of the reduction; *count gets the reduced element count. */
static size_t rd_out_dims(const ember_tensor *x, uint32_t mask, bool keepdims, int64_t *odims,
                          size_t *count)
{
    size_t orank = 0;
    *count = 1;
    for (size_t d = 0; d < x->rank; d++) {
        if (mask >> d & 1u) {
            *count *= (size_t)x->dims[d];
            if (keepdims)
                odims[orank++] = 1;
        } else {
            odims[orank++] = x->dims[d];
        }
    }
    return orank;
}

static ember_status rd_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const rd_params *p = k->params;
    const ember_tensor *x;
    double *xv, *acc;
    size_t *map, count;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    uint32_t mask = 0;
    bool noop = false;
    if (s == EMBER_OK)
        s = rd_axes(k, ctx, x, &mask, &noop);
    if (s != EMBER_OK)
        return s;
    if (noop)
        return rd_copy_through(k, ctx, x);
    int64_t odims[CPU_MAX_RANK];
    size_t orank = rd_out_dims(x, mask, p->keepdims, odims, &count);
    size_t n = cpu_tensor_numel(x);
    s = k->host->ctx_scratch(ctx, (n + 1) * sizeof(size_t), (void **)&map);
    if (s != EMBER_OK)
        return s;
    size_t n_out = cpu_rd_reduce_map(x->dims, x->rank, mask, map, n);
    ember_tensor *y;
    s = cpu_rd_scratch(k, ctx, 2 * n_out, &acc);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x->dtype, odims, orank, &y);
    if (s != EMBER_OK)
        return s;
    if (rd_int_path(p->op, x->dtype, count)) {
        rd_reduce_int(p->op, x, map, n, n_out, count, (uint64_t *)acc, y);
        return EMBER_OK;
    }
    rd_reduce_float(p->op, x->dtype, xv, map, n, n_out, count, acc, acc + n_out);
    cpu_rd_store(y, acc, n_out);
    return EMBER_OK;
}

static ember_status rd_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(rd_params));
    if (s != EMBER_OK)
        return s;
    rd_params *p = k->params;
    for (size_t i = 0; i < sizeof rd_names / sizeof rd_names[0]; i++)
        if (strcmp(k->op, rd_names[i].name) == 0)
            p->op = rd_names[i].op;
    p->axes_input = k->opset >= (p->op == RD_SUM ? 13 : 18);
    int64_t keep = 1, noop = 0;
    s = cpu_attr_int(k, node, "keepdims", 1, &keep);
    if (s == EMBER_OK && p->axes_input)
        s = cpu_attr_int(k, node, "noop_with_empty_axes", 0, &noop);
    if (s == EMBER_OK && !p->axes_input)
        s = cpu_attr_ints(k, node, "axes", p->axes, CPU_MAX_RANK, &p->n_axes);
    p->keepdims = keep != 0;
    p->noop_empty = noop != 0;
    k->run = rd_run;
    return s;
}

/* ---- ArgMax / ArgMin ------------------------------------------------------ */

typedef struct arg_params {
    int64_t axis;
    bool keepdims, last, is_max;
} arg_params;

static ember_status arg_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const arg_params *p = k->params;
    const ember_tensor *x;
    double *xv;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s != EMBER_OK)
        return s;
    size_t axis, outer, len, inner;
    if (!cpu_normalize_axis(p->axis, x->rank, &axis))
        return cpu_rd_fail_axis(k, 0, x, p->axis);
    cpu_rd_split(x, axis, &outer, &len, &inner);
    if (len == 0)
        return cpu_fail_shape(k, 0, x, "the reduced axis is empty");
    int64_t odims[CPU_MAX_RANK];
    size_t orank = 0;
    for (size_t d = 0; d < x->rank; d++)
        if (d != axis || p->keepdims)
            odims[orank++] = d == axis ? 1 : x->dims[d];
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, EMBER_DTYPE_INT64, odims, orank, &y);
    if (s != EMBER_OK)
        return s;
    int64_t *out = y->data;
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < inner; i++) {
            const double *line = xv + o * len * inner + i;
            size_t best = 0;
            for (size_t j = 1; j < len; j++) {
                double v = line[j * inner], b = line[best * inner];
                bool better = p->is_max ? v > b : v < b;
                if (better || (p->last && v == b))
                    best = j;
            }
            out[o * inner + i] = (int64_t)best;
        }
    }
    return EMBER_OK;
}

static ember_status arg_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(arg_params));
    if (s != EMBER_OK)
        return s;
    arg_params *p = k->params;
    int64_t keep = 1, last = 0;
    s = cpu_attr_int(k, node, "axis", 0, &p->axis);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "keepdims", 1, &keep);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "select_last_index", 0, &last);
    p->keepdims = keep != 0;
    p->last = last != 0;
    p->is_max = strcmp(k->op, "ArgMax") == 0;
    k->run = arg_run;
    return s;
}

/* ---- CumSum / CumProd ----------------------------------------------------- */

typedef struct cum_params {
    bool exclusive, reverse, prod;
} cum_params;

static ember_status cum_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const cum_params *p = k->params;
    const ember_tensor *x, *a;
    double *xv;
    int64_t axis_v[1];
    size_t n_axis = 0, axis, outer, len, inner;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &a);
    if (s == EMBER_OK)
        s = cpu_read_ints(k, 1, a, axis_v, 1, &n_axis);
    if (s != EMBER_OK)
        return s;
    if (n_axis != 1)
        return cpu_fail_shape(k, 1, a, "expected one axis");
    if (!cpu_normalize_axis(axis_v[0], x->rank, &axis))
        return cpu_rd_fail_axis(k, 0, x, axis_v[0]);
    cpu_rd_split(x, axis, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < inner; i++) {
            double *line = xv + o * len * inner + i, acc = p->prod ? 1.0 : 0.0;
            for (size_t j = 0; j < len; j++) {
                size_t at = (p->reverse ? len - 1 - j : j) * inner;
                double v = line[at];
                if (!p->exclusive)
                    acc = p->prod ? acc * v : acc + v;
                line[at] = acc;
                if (p->exclusive)
                    acc = p->prod ? acc * v : acc + v;
            }
        }
    }
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s == EMBER_OK)
        cpu_rd_store(y, xv, cpu_tensor_numel(x));
    return s;
}

static ember_status cum_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(cum_params));
    if (s != EMBER_OK)
        return s;
    cum_params *p = k->params;
    int64_t excl = 0, rev = 0;
    s = cpu_attr_int(k, node, "exclusive", 0, &excl);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "reverse", 0, &rev);
    p->exclusive = excl != 0;
    p->reverse = rev != 0;
    p->prod = strcmp(k->op, "CumProd") == 0;
    k->run = cum_run;
    return s;
}

/* ---- TopK ----------------------------------------------------------------- */

typedef struct topk_params {
    int64_t axis, k; /* k: the attribute (opset 1), else -1 */
    bool largest;
} topk_params;

/* Whether element a ranks before b (ties: the lower index first). */
static bool topk_before(const double *v, size_t a, size_t b, bool largest)
{
    if (v[a] != v[b])
        return largest ? v[a] > v[b] : v[a] < v[b];
    return a < b;
}

/* Stable merge sort of idx[0..n) by topk_before; tmp has n entries. */
static void topk_sort(size_t *idx, size_t *tmp, size_t n, const double *v, bool largest)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, t = lo;
            while (i < mid && j < hi)
                tmp[t++] = topk_before(v, idx[j], idx[i], largest) ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[t++] = idx[i++];
            while (j < hi)
                tmp[t++] = idx[j++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

static ember_status topk_k(const cpu_kernel *k, ember_kernel_context *ctx, int64_t *kk)
{
    const topk_params *p = k->params;
    if (p->k >= 0) {
        *kk = p->k;
        return EMBER_OK;
    }
    const ember_tensor *t;
    size_t n = 0;
    ember_status s = cpu_input(k, ctx, 1, &t);
    if (s == EMBER_OK)
        s = cpu_read_ints(k, 1, t, kk, 1, &n);
    if (s == EMBER_OK && (n != 1 || *kk < 0))
        return cpu_fail_shape(k, 1, t, "expected one non-negative k");
    return s;
}

static ember_status topk_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const topk_params *p = k->params;
    const ember_tensor *x;
    double *xv, *line;
    int64_t kk = 0;
    size_t axis, outer, len, inner, *idx;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s == EMBER_OK)
        s = topk_k(k, ctx, &kk);
    if (s != EMBER_OK)
        return s;
    if (!cpu_normalize_axis(p->axis, x->rank, &axis))
        return cpu_rd_fail_axis(k, 0, x, p->axis);
    cpu_rd_split(x, axis, &outer, &len, &inner);
    if ((size_t)kk > len)
        return cpu_fail_shape(k, 0, x, "k is larger than the axis");
    int64_t odims[CPU_MAX_RANK];
    memcpy(odims, x->dims, x->rank * sizeof *odims);
    odims[axis] = kk;
    ember_tensor *yv, *yi;
    s = cpu_output(k, ctx, 0, x->dtype, odims, x->rank, &yv);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 1, EMBER_DTYPE_INT64, odims, x->rank, &yi);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (2 * len + 1) * sizeof(size_t), (void **)&idx);
    if (s == EMBER_OK)
        s = cpu_rd_scratch(k, ctx, len, &line);
    if (s != EMBER_OK)
        return s;
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < inner; i++) {
            for (size_t j = 0; j < len; j++) {
                line[j] = xv[(o * len + j) * inner + i];
                idx[j] = j;
            }
            topk_sort(idx, idx + len, len, line, p->largest);
            for (size_t j = 0; j < (size_t)kk; j++) {
                size_t at = (o * (size_t)kk + j) * inner + i;
                rd_set(yv->data, yv->dtype, at, line[idx[j]]);
                ((int64_t *)yi->data)[at] = (int64_t)idx[j];
            }
        }
    }
    return EMBER_OK;
}

static ember_status topk_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(topk_params));
    if (s != EMBER_OK)
        return s;
    topk_params *p = k->params;
    int64_t largest = 1;
    p->k = -1;
    s = cpu_attr_int(k, node, "axis", -1, &p->axis);
    if (s == EMBER_OK && k->opset < 10)
        s = cpu_attr_int(k, node, "k", 0, &p->k);
    if (s == EMBER_OK && k->opset >= 11)
        s = cpu_attr_int(k, node, "largest", 1, &largest);
    p->largest = largest != 0;
    k->run = topk_run;
    return s;
}

const cpu_op_entry cpu_ops_reduce[] = {
    {"ReduceSum", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceMean", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceMax", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceMin", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceProd", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceL1", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceL2", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceLogSum", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceLogSumExp", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ReduceSumSquare", 1, CPU_OPSET_MAX, rd_check, rd_create},
    {"ArgMax", 1, CPU_OPSET_MAX, rd_check, arg_create},
    {"ArgMin", 1, CPU_OPSET_MAX, rd_check, arg_create},
    {"CumSum", 11, CPU_OPSET_MAX, rd_check, cum_create},
    {"CumProd", 26, CPU_OPSET_MAX, rd_check, cum_create},
    {"TopK", 1, CPU_OPSET_MAX, rd_check, topk_create},
    {"LayerNormalization", 17, CPU_OPSET_MAX, rd_check, cpu_ln_create},
    {"RMSNormalization", 23, CPU_OPSET_MAX, rd_check, cpu_ln_create},
    {"GroupNormalization", 18, CPU_OPSET_MAX, rd_check, cpu_gn_create},
    {"InstanceNormalization", 1, CPU_OPSET_MAX, rd_check, cpu_in_create},
    {"LpNormalization", 1, CPU_OPSET_MAX, rd_check, cpu_lp_create},
    {"MeanVarianceNormalization", 9, CPU_OPSET_MAX, rd_check, cpu_mvn_create},
    {"LRN", 1, CPU_OPSET_MAX, rd_check, cpu_lrn_create},
    {"Dropout", 1, CPU_OPSET_MAX, rd_check, cpu_drop_create},
    {"NegativeLogLikelihoodLoss", 12, CPU_OPSET_MAX, rd_check, cpu_nll_create},
    {"SoftmaxCrossEntropyLoss", 12, CPU_OPSET_MAX, rd_check, cpu_nll_create},
    {"Det", 11, CPU_OPSET_MAX, rd_check, cpu_det_create},
    {"Einsum", 12, CPU_OPSET_MAX, rd_check, cpu_ein_create},
    {NULL, 0, 0, NULL, NULL},
};
