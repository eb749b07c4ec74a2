/*
 * Part of the quantization family: the random ops. RandomUniform, RandomNormal (the
 * shape from the attribute), RandomUniformLike, RandomNormalLike (the shape
 * of input 0), Bernoulli and Multinomial. The generator is splitmix64,
 * seeded from the `seed` attribute when present (the same seed gives the
 * same values on every run), else from a process-wide counter. The ONNX
 * spec leaves the generator unspecified, so values never match numpy's.
 */
#include "kernels_quant.h"

#include <cblas.h>
#include <math.h>

#include <stdatomic.h>

typedef struct rnd_params {
    int64_t dtype; /* 0: from the input (the *Like ops) or the op default */
    float a, b;    /* low/high or mean/scale */
    bool has_seed;
    float seed;
    int64_t sample_size;
    size_t rank;
    int64_t shape[CPU_MAX_RANK];
} rnd_params;

static atomic_uint_fast64_t rnd_counter = 0x853c49e6748fea9bULL;

static uint64_t rnd_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rnd_unit(uint64_t *state)
{
    return (double)(rnd_next(state) >> 11) * 0x1.0p-53;
}

static double rnd_gauss(uint64_t *state)
{
    double u = 1.0 - rnd_unit(state), v = rnd_unit(state);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static uint64_t rnd_seed(const rnd_params *p)
{
    if (p->has_seed) {
        uint64_t s;
        double d = p->seed;
        memcpy(&s, &d, sizeof s);
        return s;
    }
    return atomic_fetch_add(&rnd_counter, 0x2545f4914f6cdd1dULL);
}

void cpu_rnd_store(void *data, uint32_t dtype, size_t i, double v)
{
    switch (dtype) {
    case EMBER_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0.0; break;
    case EMBER_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
    case EMBER_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case EMBER_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
    case EMBER_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case EMBER_DTYPE_INT32: ((int32_t *)data)[i] = (int32_t)v; break;
    case EMBER_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case EMBER_DTYPE_INT64: ((int64_t *)data)[i] = (int64_t)v; break;
    case EMBER_DTYPE_UINT64: ((uint64_t *)data)[i] = (uint64_t)v; break;
    default: cpu_q_store_float(data, dtype, i, v); break;
    }
}

/* The output dtype: the attribute, else input 0's (or float32). */
static ember_status rnd_out_dtype(const cpu_kernel *k, const ember_tensor *like, uint32_t set,
                                  uint32_t *out)
{
    const rnd_params *p = k->params;
    uint32_t dt = p->dtype != 0 ? (uint32_t)p->dtype
                                : like != NULL ? like->dtype : EMBER_DTYPE_FLOAT32;
    if (dt >= 32 || !(CPU_DT(dt) & set))
        return cpu_fail_dtype(k, 0, dt);
    *out = dt;
    return EMBER_OK;
}

/* RandomUniform(Like) and RandomNormal(Like). */
static ember_status rnd_fill_run(const cpu_kernel *k, ember_kernel_context *ctx, bool like,
                                 bool normal)
{
    const rnd_params *p = k->params;
    const ember_tensor *x = NULL;
    ember_status s = like ? cpu_input(k, ctx, 0, &x) : EMBER_OK;
    uint32_t dt = 0;
    if (s == EMBER_OK)
        s = rnd_out_dtype(k, x, CPU_DT_FLOATS, &dt);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = like ? cpu_output(k, ctx, 0, dt, x->dims, x->rank, &y)
                 : cpu_output(k, ctx, 0, dt, p->shape, p->rank, &y);
    if (s != EMBER_OK)
        return s;
    uint64_t st = rnd_seed(p);
    size_t n = cpu_tensor_numel(y);
    for (size_t i = 0; i < n; i++) {
        double v = normal ? p->a + p->b * rnd_gauss(&st) : p->a + (p->b - p->a) * rnd_unit(&st);
        cpu_rnd_store(y->data, dt, i, v);
    }
    return EMBER_OK;
}

static ember_status rnd_uniform_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    return rnd_fill_run(k, ctx, false, false);
}

static ember_status rnd_normal_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    return rnd_fill_run(k, ctx, false, true);
}

static ember_status rnd_uniform_like_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    return rnd_fill_run(k, ctx, true, false);
}

static ember_status rnd_normal_like_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    return rnd_fill_run(k, ctx, true, true);
}

static ember_status rnd_bernoulli_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const rnd_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    uint32_t dt = 0;
    s = rnd_out_dtype(k, x, CPU_DT_NUMERIC | CPU_DT(EMBER_DTYPE_BOOL), &dt);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, dt, x->dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    uint64_t st = rnd_seed(p);
    size_t n = cpu_tensor_numel(x);
    for (size_t i = 0; i < n; i++)
        cpu_rnd_store(y->data, dt, i, rnd_unit(&st) < cpu_q_load(x->data, x->dtype, i) ? 1.0 : 0.0);
    return EMBER_OK;
}

/* One draw from the categorical distribution of the unnormalized
 * log-probabilities row[0..c). */
static size_t rnd_categorical(const double *cum, size_t c, uint64_t *st)
{
    double u = rnd_unit(st) * cum[c - 1];
    size_t j = 0;
    while (j + 1 < c && !(u < cum[j]))
        j++;
    return j;
}

static ember_status rnd_multinomial_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const rnd_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    if (x->rank != 2 || x->dims[1] < 1)
        return cpu_fail_shape(k, 0, x, "expected [batch_size, class_size] with classes");
    size_t batch = (size_t)x->dims[0], c = (size_t)x->dims[1];
    uint32_t dt = p->dtype != 0 ? (uint32_t)p->dtype : EMBER_DTYPE_INT32;
    int64_t dims[2] = {(int64_t)batch, p->sample_size};
    double *cum;
    ember_tensor *y;
    s = k->host->ctx_scratch(ctx, c * sizeof(double), (void **)&cum);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, dt, dims, 2, &y);
    if (s != EMBER_OK)
        return s;
    uint64_t st = rnd_seed(p);
    for (size_t b = 0; b < batch; b++) {
        double total = 0.0;
        for (size_t j = 0; j < c; j++) {
            total += exp(cpu_q_load(x->data, x->dtype, b * c + j));
            cum[j] = total;
        }
        for (size_t i = 0; i < (size_t)p->sample_size; i++)
            cpu_rnd_store(y->data, dt, b * (size_t)p->sample_size + i,
                      (double)rnd_categorical(cum, c, &st));
    }
    return EMBER_OK;
}

/* Decodes the attributes every random op shares (dtype, seed) and the two
 * distribution parameters named a_name/b_name. */
static ember_status rnd_create(cpu_kernel *k, const ember_node *node, const char *a_name,
                               float a_dflt, const char *b_name, float b_dflt, cpu_run_fn run)
{
    ember_status s = cpu_kernel_params(k, sizeof(rnd_params));
    if (s != EMBER_OK)
        return s;
    rnd_params *p = k->params;
    p->has_seed = cpu_attr_has(k, node, "seed");
    s = cpu_attr_float(k, node, "seed", 0.0f, &p->seed);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "dtype", 0, &p->dtype);
    if (s == EMBER_OK && a_name != NULL)
        s = cpu_attr_float(k, node, a_name, a_dflt, &p->a);
    if (s == EMBER_OK && b_name != NULL)
        s = cpu_attr_float(k, node, b_name, b_dflt, &p->b);
    if (s == EMBER_OK && (p->dtype < 0 || p->dtype >= 32))
        s = k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute dtype (%lld) is "
                          "not a type", k->name, k->op, (long long)p->dtype);
    k->run = run;
    return s;
}

/* RandomUniform / RandomNormal: the required shape attribute. */
static ember_status rnd_shape(cpu_kernel *k, const ember_node *node)
{
    rnd_params *p = k->params;
    ember_status s = cpu_attr_ints(k, node, "shape", p->shape, CPU_MAX_RANK, &p->rank);
    if (s != EMBER_OK)
        return s;
    if (!cpu_attr_has(k, node, "shape"))
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute 'shape' is "
                             "required", k->name, k->op);
    for (size_t i = 0; i < p->rank; i++)
        if (p->shape[i] < 0)
            return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute 'shape' "
                                 "has a negative dim", k->name, k->op);
    return EMBER_OK;
}

ember_status cpu_rnd_uniform_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = rnd_create(k, node, "low", 0.0f, "high", 1.0f, rnd_uniform_run);
    return s == EMBER_OK ? rnd_shape(k, node) : s;
}

ember_status cpu_rnd_normal_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = rnd_create(k, node, "mean", 0.0f, "scale", 1.0f, rnd_normal_run);
    return s == EMBER_OK ? rnd_shape(k, node) : s;
}

ember_status cpu_rnd_uniform_like_create(cpu_kernel *k, const ember_node *node)
{
    return rnd_create(k, node, "low", 0.0f, "high", 1.0f, rnd_uniform_like_run);
}

ember_status cpu_rnd_normal_like_create(cpu_kernel *k, const ember_node *node)
{
    return rnd_create(k, node, "mean", 0.0f, "scale", 1.0f, rnd_normal_like_run);
}

ember_status cpu_rnd_bernoulli_create(cpu_kernel *k, const ember_node *node)
{
    return rnd_create(k, node, NULL, 0.0f, NULL, 0.0f, rnd_bernoulli_run);
}

ember_status cpu_rnd_multinomial_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = rnd_create(k, node, NULL, 0.0f, NULL, 0.0f, rnd_multinomial_run);
    rnd_params *p = k->params;
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "sample_size", 1, &p->sample_size);
    if (s == EMBER_OK && p->sample_size < 0)
        s = k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute sample_size is "
                          "negative", k->name, k->op);
    if (s == EMBER_OK && p->dtype != 0 && p->dtype != EMBER_DTYPE_INT32 &&
        p->dtype != EMBER_DTYPE_INT64)
        s = k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute dtype must be "
                          "int32 or int64", k->name, k->op);
    return s;
}
