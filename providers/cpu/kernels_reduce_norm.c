/*
 * Part of the reduce family: the normalizations
 * (LayerNormalization, RMSNormalization, GroupNormalization,
 * InstanceNormalization, LpNormalization, MeanVarianceNormalization, LRN),
 * Dropout, NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 */
#include "kernels_reduce.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- LayerNormalization / RMSNormalization -------------------------------- */

typedef struct ln_params {
    int64_t axis;
    float epsilon;
    bool rms;
    uint32_t stat_dtype[3]; /* static dtypes of outputs 1 and 2 (0: as X) */
} ln_params;

/* Map of an affine input (scale or bias) over the normalized dims. */
static ember_status ln_affine_map(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                                  const ember_tensor *t, const ember_tensor *x, size_t axis,
                                  size_t inner, size_t **map)
{
    ember_status s = k->host->ctx_scratch(ctx, (inner + 1) * sizeof(size_t), (void **)map);
    if (s != EMBER_OK)
        return s;
    if (!cpu_rd_bcast_map(t->dims, t->rank, x->dims + axis, x->rank - axis, *map, inner))
        return cpu_fail_shape(k, index, t, "it does not broadcast to the normalized dims");
    return EMBER_OK;
}

static ember_status ln_stats_out(const cpu_kernel *k, ember_kernel_context *ctx,
                                 const ember_tensor *x, size_t axis, const double *mean,
                                 const double *inv, size_t outer)
{
    const ln_params *p = k->params;
    int64_t dims[CPU_MAX_RANK];
    for (size_t d = 0; d < x->rank; d++)
        dims[d] = d < axis ? x->dims[d] : 1;
    for (size_t o = 1; o <= 2; o++) {
        if (!cpu_rd_has_output(k, ctx, o))
            continue;
        ember_tensor *t;
        uint32_t dt = p->stat_dtype[o] ? p->stat_dtype[o] : x->dtype;
        ember_status s = cpu_output(k, ctx, o, dt, dims, x->rank, &t);
        if (s != EMBER_OK)
            return s;
        cpu_rd_store(t, o == 1 ? mean : inv, outer);
    }
    return EMBER_OK;
}

typedef struct ln_job {
    double *xv;
    const double *sv, *bv;
    const size_t *smap, *bmap;
    double *stats; /* mean[outer], then inv_std[outer] */
    size_t outer, inner;
    double epsilon;
    bool rms;
} ln_job;

/* Normalizes rows [begin, end) of x in place. */
static void ln_rows(void *arg, size_t begin, size_t end)
{
    const ln_job *j = arg;
    for (size_t o = begin; o < end; o++) {
        double *row = j->xv + o * j->inner, mean = 0.0, var = 0.0;
        if (!j->rms) {
            for (size_t i = 0; i < j->inner; i++)
                mean += row[i];
            mean /= (double)j->inner;
        }
        for (size_t i = 0; i < j->inner; i++)
            var += (row[i] - mean) * (row[i] - mean);
        double inv = 1.0 / sqrt(var / (double)j->inner + j->epsilon);
        for (size_t i = 0; i < j->inner; i++)
            row[i] = (row[i] - mean) * inv * j->sv[j->smap[i]] +
                     (j->bv ? j->bv[j->bmap[i]] : 0.0);
        j->stats[o] = mean;
        j->stats[j->outer + o] = inv;
    }
}

static ember_status ln_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ln_params *p = k->params;
    const ember_tensor *x, *sc, *b = NULL;
    double *xv, *sv, *bv = NULL, *stats;
    size_t axis, *smap, *bmap = NULL;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s == EMBER_OK)
        s = cpu_rd_input(k, ctx, 1, &sc, &sv);
    if (s == EMBER_OK && !p->rms)
        s = cpu_rd_optional(k, ctx, 2, &b, &bv);
    if (s != EMBER_OK)
        return s;
    if (!cpu_normalize_axis(p->axis, x->rank, &axis))
        return cpu_rd_fail_axis(k, 0, x, p->axis);
    size_t outer = cpu_numel(x->dims, axis), inner = cpu_numel(x->dims + axis, x->rank - axis);
    s = ln_affine_map(k, ctx, 1, sc, x, axis, inner, &smap);
    if (s == EMBER_OK && b != NULL)
        s = ln_affine_map(k, ctx, 2, b, x, axis, inner, &bmap);
    if (s == EMBER_OK)
        s = cpu_rd_scratch(k, ctx, 2 * outer, &stats);
    if (s != EMBER_OK)
        return s;
    ln_job j = {xv, sv, bv, smap, bmap, stats, outer, inner, p->epsilon, p->rms};
    cpu_parallel(ctx, k, outer, outer * inner * 8, ln_rows, &j);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    cpu_rd_store(y, xv, cpu_tensor_numel(x));
    return p->rms ? EMBER_OK : ln_stats_out(k, ctx, x, axis, stats, stats + outer, outer);
}

ember_status cpu_ln_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(ln_params));
    if (s != EMBER_OK)
        return s;
    ln_params *p = k->params;
    p->rms = strcmp(k->op, "RMSNormalization") == 0;
    s = cpu_attr_int(k, node, "axis", -1, &p->axis);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "epsilon", 1e-5f, &p->epsilon);
    p->stat_dtype[1] = cpu_rd_output_dtype(k, node, 1, 0);
    p->stat_dtype[2] = cpu_rd_output_dtype(k, node, 2, 0);
    k->run = ln_run;
    return s;
}

/* ---- GroupNormalization / InstanceNormalization --------------------------- */

typedef struct gn_params {
    int64_t groups; /* 0: one group per channel (InstanceNormalization) */
    float epsilon;
} gn_params;

/* Normalizes x [N, C, spatial] in groups of C/G channels; scale and bias
 * hold one value per channel, or one per group (opset 18). */
static void gn_apply(double *xv, size_t n, size_t c, size_t g, size_t spatial, const double *sv,
                     const double *bv, bool per_channel, double eps)
{
    size_t cg = c / g, size = cg * spatial;
    for (size_t b = 0; b < n * g; b++) {
        double *row = xv + b * size, mean = 0.0, var = 0.0;
        for (size_t i = 0; i < size; i++)
            mean += row[i];
        mean /= (double)size;
        for (size_t i = 0; i < size; i++)
            var += (row[i] - mean) * (row[i] - mean);
        double inv = 1.0 / sqrt(var / (double)size + eps);
        for (size_t i = 0; i < size; i++) {
            size_t ch = (b % g) * cg + i / spatial, at = per_channel ? ch : b % g;
            row[i] = (row[i] - mean) * inv * sv[at] + bv[at];
        }
    }
}

static ember_status gn_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const gn_params *p = k->params;
    const ember_tensor *x, *sc, *b;
    double *xv, *sv, *bv;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s == EMBER_OK)
        s = cpu_rd_input(k, ctx, 1, &sc, &sv);
    if (s == EMBER_OK)
        s = cpu_rd_input(k, ctx, 2, &b, &bv);
    if (s != EMBER_OK)
        return s;
    if (x->rank < 2)
        return cpu_fail_shape(k, 0, x, "expected [N, C, ...]");
    size_t n = (size_t)x->dims[0], c = (size_t)x->dims[1];
    size_t g = p->groups > 0 ? (size_t)p->groups : c;
    size_t spatial = cpu_numel(x->dims + 2, x->rank - 2);
    if (g == 0 || c % g != 0)
        return cpu_fail_shape(k, 0, x, "the channels do not divide into num_groups");
    size_t ns = cpu_tensor_numel(sc);
    bool per_channel = ns == c;
    if ((ns != c && ns != g) || cpu_tensor_numel(b) != ns)
        return cpu_fail_shape(k, ns != c && ns != g ? 1 : 2, ns != c && ns != g ? sc : b,
                              "expected one value per channel (or per group)");
    if (c > 0)
        gn_apply(xv, n, c, g, spatial, sv, bv, per_channel, p->epsilon);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s == EMBER_OK)
        cpu_rd_store(y, xv, cpu_tensor_numel(x));
    return s;
}

ember_status cpu_gn_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(gn_params));
    if (s != EMBER_OK)
        return s;
    gn_params *p = k->params;
    s = cpu_attr_float(k, node, "epsilon", 1e-5f, &p->epsilon);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "num_groups", 0, &p->groups);
    if (s == EMBER_OK && p->groups <= 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute num_groups must be positive", k->name,
                             k->op);
    k->run = gn_run;
    return s;
}

ember_status cpu_in_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(gn_params));
    if (s != EMBER_OK)
        return s;
    gn_params *p = k->params;
    s = cpu_attr_float(k, node, "epsilon", 1e-5f, &p->epsilon);
    k->run = gn_run;
    return s;
}

/* ---- LpNormalization ------------------------------------------------------ */

typedef struct lp_params {
    int64_t axis, p;
} lp_params;

static ember_status lp_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const lp_params *p = k->params;
    const ember_tensor *x;
    double *xv;
    size_t axis, outer, len, inner;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s != EMBER_OK)
        return s;
    if (!cpu_normalize_axis(p->axis, x->rank, &axis))
        return cpu_rd_fail_axis(k, 0, x, p->axis);
    cpu_rd_split(x, axis, &outer, &len, &inner);
    for (size_t o = 0; o < outer; o++) {
        for (size_t i = 0; i < inner; i++) {
            double *line = xv + o * len * inner + i, norm = 0.0;
            for (size_t j = 0; j < len; j++)
                norm += p->p == 1 ? fabs(line[j * inner]) : line[j * inner] * line[j * inner];
            norm = p->p == 1 ? norm : sqrt(norm);
            for (size_t j = 0; j < len; j++)
                line[j * inner] = norm == 0.0 ? 0.0 : line[j * inner] / norm;
        }
    }
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s == EMBER_OK)
        cpu_rd_store(y, xv, cpu_tensor_numel(x));
    return s;
}

ember_status cpu_lp_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(lp_params));
    if (s != EMBER_OK)
        return s;
    lp_params *p = k->params;
    s = cpu_attr_int(k, node, "axis", -1, &p->axis);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "p", 2, &p->p);
    if (s == EMBER_OK && p->p != 1 && p->p != 2)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute p must be 1 or 2, not %lld", k->name,
                             k->op, (long long)p->p);
    k->run = lp_run;
    return s;
}

/* ---- MeanVarianceNormalization -------------------------------------------- */

typedef struct mvn_params {
    size_t n_axes;
    int64_t axes[CPU_MAX_RANK];
} mvn_params;

static ember_status mvn_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const mvn_params *p = k->params;
    const ember_tensor *x;
    double *xv, *acc;
    size_t *map;
    uint32_t mask = 0;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s != EMBER_OK)
        return s;
    for (size_t i = 0; i < p->n_axes; i++) {
        size_t a;
        if (!cpu_normalize_axis(p->axes[i], x->rank, &a))
            return cpu_rd_fail_axis(k, 0, x, p->axes[i]);
        mask |= 1u << a;
    }
    size_t n = cpu_tensor_numel(x);
    s = k->host->ctx_scratch(ctx, (n + 1) * sizeof(size_t), (void **)&map);
    if (s != EMBER_OK)
        return s;
    size_t n_out = cpu_rd_reduce_map(x->dims, x->rank, mask, map, n);
    s = cpu_rd_scratch(k, ctx, 2 * n_out, &acc);
    if (s != EMBER_OK)
        return s;
    double count = n_out ? (double)(n / n_out) : 1.0;
    memset(acc, 0, 2 * n_out * sizeof *acc);
    for (size_t i = 0; i < n; i++) {
        acc[map[i]] += xv[i];
        acc[n_out + map[i]] += xv[i] * xv[i];
    }
    for (size_t i = 0; i < n; i++) {
        double mean = acc[map[i]] / count, sq = acc[n_out + map[i]] / count;
        xv[i] = (xv[i] - mean) / (sqrt(sq - mean * mean) + 1e-9);
    }
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s == EMBER_OK)
        cpu_rd_store(y, xv, n);
    return s;
}

ember_status cpu_mvn_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(mvn_params));
    if (s != EMBER_OK)
        return s;
    mvn_params *p = k->params;
    s = cpu_attr_ints(k, node, "axes", p->axes, CPU_MAX_RANK, &p->n_axes);
    if (s == EMBER_OK && !cpu_attr_has(k, node, "axes")) {
        p->n_axes = 3;
        p->axes[0] = 0;
        p->axes[1] = 2;
        p->axes[2] = 3;
    }
    k->run = mvn_run;
    return s;
}

/* ---- LRN ------------------------------------------------------------------ */

typedef struct lrn_params {
    float alpha, beta, bias;
    int64_t size;
} lrn_params;

static ember_status lrn_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const lrn_params *p = k->params;
    const ember_tensor *x;
    double *xv, *yv;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s != EMBER_OK)
        return s;
    if (x->rank < 3)
        return cpu_fail_shape(k, 0, x, "expected [N, C, D1, ...]");
    size_t n = (size_t)x->dims[0], c = (size_t)x->dims[1];
    size_t spatial = cpu_numel(x->dims + 2, x->rank - 2), total = cpu_tensor_numel(x);
    s = cpu_rd_scratch(k, ctx, total, &yv);
    if (s != EMBER_OK)
        return s;
    int64_t lo = (p->size - 1) / 2, hi = p->size / 2; /* floor and ceil of (size-1)/2 */
    for (size_t b = 0; b < n; b++) {
        for (size_t ch = 0; ch < c; ch++) {
            int64_t from = (int64_t)ch - lo < 0 ? 0 : (int64_t)ch - lo;
            int64_t to = (int64_t)ch + hi >= (int64_t)c ? (int64_t)c - 1 : (int64_t)ch + hi;
            for (size_t i = 0; i < spatial; i++) {
                double sum = 0.0;
                for (int64_t j = from; j <= to; j++) {
                    double v = xv[(b * c + (size_t)j) * spatial + i];
                    sum += v * v;
                }
                size_t at = (b * c + ch) * spatial + i;
                yv[at] = xv[at] / pow(p->bias + p->alpha / (double)p->size * sum, p->beta);
            }
        }
    }
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s == EMBER_OK)
        cpu_rd_store(y, yv, total);
    return s;
}

ember_status cpu_lrn_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(lrn_params));
    if (s != EMBER_OK)
        return s;
    lrn_params *p = k->params;
    s = cpu_attr_float(k, node, "alpha", 1e-4f, &p->alpha);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "beta", 0.75f, &p->beta);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "bias", 1.0f, &p->bias);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "size", 0, &p->size);
    if (s == EMBER_OK && p->size <= 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute size must be positive", k->name, k->op);
    k->run = lrn_run;
    return s;
}

/* ---- Dropout -------------------------------------------------------------- */

/*
 * The mask of training mode comes from MT19937 seeded with the seed
 * attribute and uniform doubles in [0, 1) built from two 32-bit draws
 * (53 bits), the generator and recipe numpy's legacy RandomState uses, so
 * that a seeded node reproduces the reference outputs.
 */
typedef struct drop_mt {
    uint32_t mt[624];
    size_t i;
} drop_mt;

static void drop_mt_seed(drop_mt *g, uint32_t seed)
{
    g->mt[0] = seed;
    for (size_t i = 1; i < 624; i++)
        g->mt[i] = 1812433253u * (g->mt[i - 1] ^ (g->mt[i - 1] >> 30)) + (uint32_t)i;
    g->i = 624;
}

static uint32_t drop_mt_next(drop_mt *g)
{
    if (g->i >= 624) {
        for (size_t i = 0; i < 624; i++) {
            uint32_t y = (g->mt[i] & 0x80000000u) | (g->mt[(i + 1) % 624] & 0x7fffffffu);
            g->mt[i] = g->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        g->i = 0;
    }
    uint32_t y = g->mt[g->i++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

static double drop_uniform(drop_mt *g)
{
    uint32_t a = drop_mt_next(g) >> 5, b = drop_mt_next(g) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

typedef struct drop_params {
    float ratio; /* the attribute (opsets before 12) */
    int64_t seed;
    uint32_t mask_dtype;
} drop_params;

/* Ratio and training mode of this run (inputs 1 and 2 from opset 12). */
static ember_status drop_mode(const cpu_kernel *k, ember_kernel_context *ctx, double *ratio,
                              bool *training)
{
    const drop_params *p = k->params;
    const ember_tensor *r, *t;
    double *rv, *tv;
    *ratio = k->opset >= 12 ? 0.5 : p->ratio;
    *training = false;
    if (k->opset < 12)
        return EMBER_OK;
    ember_status s = cpu_rd_optional(k, ctx, 1, &r, &rv);
    if (s == EMBER_OK)
        s = cpu_rd_optional(k, ctx, 2, &t, &tv);
    if (s != EMBER_OK)
        return s;
    if (r != NULL && cpu_tensor_numel(r) == 1)
        *ratio = rv[0];
    *training = t != NULL && cpu_tensor_numel(t) == 1 && tv[0] != 0.0;
    if (*training && (*ratio < 0.0 || *ratio >= 1.0))
        return cpu_fail_shape(k, 1, r, "ratio must be in [0, 1)");
    return EMBER_OK;
}

static ember_status drop_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const drop_params *p = k->params;
    const ember_tensor *x;
    double *xv, ratio;
    bool training;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s == EMBER_OK)
        s = drop_mode(k, ctx, &ratio, &training);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(x);
    ember_tensor *y, *m = NULL;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s == EMBER_OK && cpu_rd_has_output(k, ctx, 1))
        s = cpu_output(k, ctx, 1, p->mask_dtype, x->dims, x->rank, &m);
    if (s != EMBER_OK)
        return s;
    drop_mt g;
    drop_mt_seed(&g, (uint32_t)p->seed);
    bool random = training && ratio > 0.0;
    for (size_t i = 0; i < n; i++) {
        bool keep = !random || drop_uniform(&g) >= ratio;
        double v = random ? (keep ? xv[i] / (1.0 - ratio) : 0.0) : xv[i];
        rd_set(y->data, y->dtype, i, v);
        if (m != NULL)
            rd_set(m->data, m->dtype, i, keep ? 1.0 : 0.0);
    }
    return EMBER_OK;
}

ember_status cpu_drop_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(drop_params));
    if (s != EMBER_OK)
        return s;
    drop_params *p = k->params;
    s = cpu_attr_float(k, node, "ratio", 0.5f, &p->ratio);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "seed", 0, &p->seed);
    p->mask_dtype = cpu_rd_output_dtype(k, node, 1, EMBER_DTYPE_BOOL);
    k->run = drop_run;
    return s;
}

/* ---- NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss ------------------ */

enum { NLL_NONE, NLL_SUM, NLL_MEAN };

typedef struct nll_params {
    int reduction;
    bool has_ignore, softmax;
    int64_t ignore;
} nll_params;

/* Replaces x [N, C, D] by its log-softmax over C. */
static void nll_log_softmax(double *xv, size_t n, size_t c, size_t d)
{
    for (size_t b = 0; b < n; b++) {
        for (size_t i = 0; i < d; i++) {
            double *line = xv + b * c * d + i, mx = -INFINITY, sum = 0.0;
            for (size_t j = 0; j < c; j++)
                mx = line[j * d] > mx ? line[j * d] : mx;
            for (size_t j = 0; j < c; j++)
                sum += exp(line[j * d] - mx);
            double lse = mx + log(sum);
            for (size_t j = 0; j < c; j++)
                line[j * d] -= lse;
        }
    }
}

/* Checks the target's shape against the input's [N, C, D...]. */
static ember_status nll_check(const cpu_kernel *k, const ember_tensor *x, const ember_tensor *t)
{
    if (x->rank < 2)
        return cpu_fail_shape(k, 0, x, "expected [N, C, ...]");
    bool ok = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (size_t d = 1; ok && d < t->rank; d++)
        ok = t->dims[d] == x->dims[d + 1];
    if (!ok)
        return cpu_fail_shape(k, 1, t, "expected input 0's shape without its class dim");
    if (t->dtype != EMBER_DTYPE_INT32 && t->dtype != EMBER_DTYPE_INT64)
        return cpu_fail_dtype(k, 1, t->dtype);
    return EMBER_OK;
}

/* Computes the per-element losses into loss[N*D] and the weight total. */
static ember_status nll_losses(const cpu_kernel *k, const ember_tensor *t, const double *lp,
                               const double *wv, size_t n, size_t c, size_t d, double *loss,
                               double *wsum)
{
    const nll_params *p = k->params;
    *wsum = 0.0;
    for (size_t b = 0; b < n; b++) {
        for (size_t i = 0; i < d; i++) {
            size_t at = b * d + i;
            int64_t cls = (int64_t)cpu_get_f64(t->data, t->dtype, at);
            if (p->has_ignore && cls == p->ignore) {
                loss[at] = 0.0;
                continue;
            }
            if (cls < 0 || cls >= (int64_t)c)
                return cpu_fail_shape(k, 1, t, "a target class is outside [0, C)");
            double w = wv ? wv[cls] : 1.0;
            loss[at] = -lp[(b * c + (size_t)cls) * d + i] * w;
            *wsum += w;
        }
    }
    return EMBER_OK;
}

static ember_status nll_outputs(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor *x, const ember_tensor *t, double *loss,
                                double wsum, const double *lp)
{
    const nll_params *p = k->params;
    size_t nd = cpu_tensor_numel(t);
    ember_tensor *y;
    ember_status s;
    if (p->reduction == NLL_NONE) {
        s = cpu_output(k, ctx, 0, x->dtype, t->dims, t->rank, &y);
        if (s == EMBER_OK)
            cpu_rd_store(y, loss, nd);
    } else {
        double sum = 0.0;
        for (size_t i = 0; i < nd; i++)
            sum += loss[i];
        sum = p->reduction == NLL_MEAN ? sum / wsum : sum;
        s = cpu_output(k, ctx, 0, x->dtype, NULL, 0, &y);
        if (s == EMBER_OK)
            cpu_rd_store(y, &sum, 1);
    }
    if (s != EMBER_OK || !p->softmax || !cpu_rd_has_output(k, ctx, 1))
        return s;
    s = cpu_output(k, ctx, 1, x->dtype, x->dims, x->rank, &y);
    if (s == EMBER_OK)
        cpu_rd_store(y, lp, cpu_tensor_numel(x));
    return s;
}

static ember_status nll_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const nll_params *p = k->params;
    const ember_tensor *x, *t, *w;
    double *xv, *wv, *loss, wsum;
    ember_status s = cpu_rd_input(k, ctx, 0, &x, &xv);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &t);
    if (s == EMBER_OK)
        s = nll_check(k, x, t);
    if (s == EMBER_OK)
        s = cpu_rd_optional(k, ctx, 2, &w, &wv);
    if (s != EMBER_OK)
        return s;
    size_t n = (size_t)x->dims[0], c = (size_t)x->dims[1];
    size_t d = cpu_numel(x->dims + 2, x->rank - 2);
    if (w != NULL && cpu_tensor_numel(w) != c)
        return cpu_fail_shape(k, 2, w, "expected one weight per class");
    if (p->softmax)
        nll_log_softmax(xv, n, c, d);
    s = cpu_rd_scratch(k, ctx, n * d, &loss);
    if (s == EMBER_OK)
        s = nll_losses(k, t, xv, wv, n, c, d, loss, &wsum);
    if (s == EMBER_OK)
        s = nll_outputs(k, ctx, x, t, loss, wsum, xv);
    return s;
}

ember_status cpu_nll_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(nll_params));
    if (s != EMBER_OK)
        return s;
    nll_params *p = k->params;
    char red[16];
    p->softmax = strcmp(k->op, "SoftmaxCrossEntropyLoss") == 0;
    p->has_ignore = cpu_attr_has(k, node, "ignore_index");
    s = cpu_attr_int(k, node, "ignore_index", 0, &p->ignore);
    if (s == EMBER_OK)
        s = cpu_attr_string(k, node, "reduction", "mean", red, sizeof red);
    if (s != EMBER_OK)
        return s;
    if (strcmp(red, "none") == 0)
        p->reduction = NLL_NONE;
    else if (strcmp(red, "sum") == 0)
        p->reduction = NLL_SUM;
    else if (strcmp(red, "mean") == 0)
        p->reduction = NLL_MEAN;
    else
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute reduction is '%s', expected none, sum "
                             "or mean",
                             k->name, k->op, red);
    k->run = nll_run;
    return EMBER_OK;
}
