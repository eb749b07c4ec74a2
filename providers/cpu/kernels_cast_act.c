/*
 * The activations beyond Relu/Sigmoid/Tanh, with their own registration
 * table; Shrink reads its integer types through the Cast family's element
 * access (kernels_cast.h).
 *
 * The elementwise ones (LeakyRelu, Elu, Selu, Celu, Gelu, HardSigmoid,
 * HardSwish, Softplus, Softsign, Shrink, ThresholdedRelu, Mish, Swish)
 * share one driver: float32, float16 and bfloat16 compute in float,
 * float64 in double, and Shrink's integer types through double. The
 * axis-wise ones (LogSoftmax, Hardmax) see the input as [outer, len,
 * inner] like Softmax: before opset 13 `axis` coerces the input to 2-D
 * (len is the product of dims [axis, rank)); from 13 on it names one dim.
 */
#include "kernels_cast.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

enum {
    ACT_LEAKY_RELU,
    ACT_ELU,
    ACT_SELU,
    ACT_CELU,
    ACT_GELU,
    ACT_GELU_TANH,
    ACT_HARD_SIGMOID,
    ACT_HARD_SWISH,
    ACT_SOFTPLUS,
    ACT_SOFTSIGN,
    ACT_SHRINK,
    ACT_THRESHOLDED_RELU,
    ACT_MISH,
    ACT_SWISH,
};

typedef struct act_params {
    int op;
    float alpha, beta, gamma; /* beta is Shrink's bias, gamma its lambd */
} act_params;

/* One scalar function per compute type; R is float or double and F the
 * suffix of its libm functions ("f" or nothing). */
#define DEFINE_ACT_EVAL(NAME, R, EXP, EXPM1, LOG1P, TANH, ERF, FABS)                        \
    static inline R NAME(const act_params *p, R x)                                         \
    {                                                                                      \
        R a = (R)p->alpha, b = (R)p->beta, g = (R)p->gamma;                                \
        switch (p->op) {                                                                   \
        case ACT_LEAKY_RELU: return x < 0 ? a * x : x;                                     \
        case ACT_ELU: return x < 0 ? a * EXPM1(x) : x;                                     \
        case ACT_SELU: return x <= 0 ? g * (a * EXP(x) - a) : g * x;                       \
        case ACT_CELU: return x > 0 ? x : a * EXPM1(x / a);                                \
        case ACT_GELU: return (R)0.5 * x * ((R)1 + ERF(x * (R)0.70710678118654752440));    \
        case ACT_GELU_TANH:                                                                \
            return (R)0.5 * x *                                                            \
                   ((R)1 + TANH((R)0.79788456080286535588 * (x + (R)0.044715 * x * x * x))); \
        case ACT_HARD_SIGMOID: {                                                           \
            R y = a * x + b;                                                               \
            return y < 0 ? 0 : y > 1 ? 1 : y;                                              \
        }                                                                                  \
        case ACT_HARD_SWISH: {                                                             \
            R y = x / (R)6 + (R)0.5;                                                       \
            return x * (y < 0 ? 0 : y > 1 ? 1 : y);                                        \
        }                                                                                  \
        case ACT_SOFTPLUS: return x > 0 ? x + LOG1P(EXP(-x)) : LOG1P(EXP(x));              \
        case ACT_SOFTSIGN: return x / ((R)1 + FABS(x));                                    \
        case ACT_SHRINK: return x < -g ? x + b : x > g ? x - b : 0;                        \
        case ACT_THRESHOLDED_RELU: return x > a ? x : 0;                                   \
        case ACT_MISH: {                                                                   \
            R sp = x > 0 ? x + LOG1P(EXP(-x)) : LOG1P(EXP(x));                             \
            return x * TANH(sp);                                                           \
        }                                                                                  \
        default: { /* ACT_SWISH */                                                         \
            R z = a * x;                                                                   \
            R s = z >= 0 ? (R)1 / ((R)1 + EXP(-z)) : EXP(z) / ((R)1 + EXP(z));             \
            return x * s;                                                                  \
        }                                                                                  \
        }                                                                                  \
    }

DEFINE_ACT_EVAL(act_eval_f, float, expf, expm1f, log1pf, tanhf, erff, fabsf)
DEFINE_ACT_EVAL(act_eval_d, double, exp, expm1, log1p, tanh, erf, fabs)

typedef struct act_work {
    const act_params *p;
    uint32_t dtype;
    const void *in;
    void *out;
    size_t n;
} act_work;

static void act_range(void *arg, size_t begin, size_t end)
{
    const act_work *w = arg;
    size_t lo = begin * CAST_CHUNK, hi = end * CAST_CHUNK < w->n ? end * CAST_CHUNK : w->n;
    const act_params *p = w->p;
    switch (w->dtype) {
    case EMBER_DTYPE_FLOAT32:
        for (size_t i = lo; i < hi; i++)
            ((float *)w->out)[i] = act_eval_f(p, ((const float *)w->in)[i]);
        break;
    case EMBER_DTYPE_FLOAT64:
        for (size_t i = lo; i < hi; i++)
            ((double *)w->out)[i] = act_eval_d(p, ((const double *)w->in)[i]);
        break;
    case EMBER_DTYPE_FLOAT16:
        for (size_t i = lo; i < hi; i++)
            ((uint16_t *)w->out)[i] =
                cpu_f32_to_f16(act_eval_f(p, cpu_f16_to_f32(((const uint16_t *)w->in)[i])));
        break;
    case EMBER_DTYPE_BFLOAT16:
        for (size_t i = lo; i < hi; i++)
            ((uint16_t *)w->out)[i] =
                cpu_f32_to_bf16(act_eval_f(p, cpu_bf16_to_f32(((const uint16_t *)w->in)[i])));
        break;
    default: { /* Shrink's integers */
        cast_spec c = {w->dtype, w->dtype, false, ROUND_UP, false};
        for (size_t i = lo; i < hi; i++) {
            num v = cpu_load_num(w->in, w->dtype, i);
            double y = act_eval_d(p, num_as_double(v));
            cpu_store_num(&c, w->out, i, (CPU_DT(w->dtype) & CPU_DT_SIGNED) ? num_int((int64_t)y)
                                                                        : num_uint((uint64_t)y));
        }
        break;
    }
    }
}

static ember_status act_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const act_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    uint32_t ok = p->op == ACT_SHRINK ? CPU_DT_NUMERIC : CPU_DT_FLOATS;
    if (x->dtype >= 32 || !(CPU_DT(x->dtype) & ok))
        return cpu_fail_dtype(k, 0, x->dtype);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(x);
    act_work w = {p, x->dtype, x->data, y->data, n};
    cpu_parallel(ctx, k, (n + CAST_CHUNK - 1) / CAST_CHUNK, n * 16, act_range, &w);
    return EMBER_OK;
}

/* The op's attributes and their defaults. */
typedef struct act_def {
    const char *op;
    int code;
    const char *a_name, *b_name, *g_name;
    float a, b, g;
} act_def;

static const act_def act_defs[] = {
    {"LeakyRelu", ACT_LEAKY_RELU, "alpha", NULL, NULL, 0.01f, 0, 0},
    {"Elu", ACT_ELU, "alpha", NULL, NULL, 1.0f, 0, 0},
    {"Selu", ACT_SELU, "alpha", NULL, "gamma", 1.67326319217681884765625f, 0,
     1.05070102214813232421875f},
    {"Celu", ACT_CELU, "alpha", NULL, NULL, 1.0f, 0, 0},
    {"Gelu", ACT_GELU, NULL, NULL, NULL, 0, 0, 0},
    {"HardSigmoid", ACT_HARD_SIGMOID, "alpha", "beta", NULL, 0.2f, 0.5f, 0},
    {"HardSwish", ACT_HARD_SWISH, NULL, NULL, NULL, 0, 0, 0},
    {"Softplus", ACT_SOFTPLUS, NULL, NULL, NULL, 0, 0, 0},
    {"Softsign", ACT_SOFTSIGN, NULL, NULL, NULL, 0, 0, 0},
    {"Shrink", ACT_SHRINK, NULL, "bias", "lambd", 0, 0.0f, 0.5f},
    {"ThresholdedRelu", ACT_THRESHOLDED_RELU, "alpha", NULL, NULL, 1.0f, 0, 0},
    {"Mish", ACT_MISH, NULL, NULL, NULL, 0, 0, 0},
    {"Swish", ACT_SWISH, "alpha", NULL, NULL, 1.0f, 0, 0},
};

static ember_status act_attr(cpu_kernel *k, const ember_node *node, const char *name,
                             float dflt, float *out)
{
    if (name == NULL) {
        *out = dflt;
        return EMBER_OK;
    }
    return cpu_attr_float(k, node, name, dflt, out);
}

static ember_status create_act(cpu_kernel *k, const ember_node *node)
{
    const act_def *d = NULL;
    for (size_t i = 0; i < sizeof act_defs / sizeof act_defs[0]; i++)
        if (strcmp(act_defs[i].op, k->op) == 0)
            d = &act_defs[i];
    if (d == NULL)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED, "node '%s' (%s): no such activation",
                             k->name, k->op);
    ember_status s = cpu_kernel_params(k, sizeof(act_params));
    if (s != EMBER_OK)
        return s;
    act_params *p = k->params;
    p->op = d->code;
    k->run = act_run;
    s = act_attr(k, node, d->a_name, d->a, &p->alpha);
    if (s == EMBER_OK)
        s = act_attr(k, node, d->b_name, d->b, &p->beta);
    if (s == EMBER_OK)
        s = act_attr(k, node, d->g_name, d->g, &p->gamma);
    if (s == EMBER_OK && d->code == ACT_CELU && p->alpha == 0.0f)
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute 'alpha' is 0",
                             k->name, k->op);
    if (s == EMBER_OK && d->code == ACT_GELU) {
        char buf[16];
        s = cpu_attr_string(k, node, "approximate", "none", buf, sizeof buf);
        if (s == EMBER_OK && strcmp(buf, "tanh") == 0)
            p->op = ACT_GELU_TANH;
        else if (s == EMBER_OK && strcmp(buf, "none") != 0)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s): attribute 'approximate' is '%s', expected "
                                 "none or tanh", k->name, k->op, buf);
    }
    return s;
}

static bool check_act_shrink(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_NUMERIC);
}

/* ---- LogSoftmax and Hardmax -------------------------------------------- */

typedef struct axis_params {
    int64_t axis;
    bool coerce_2d; /* opset < 13 */
    bool hardmax;
} axis_params;

typedef struct axis_work {
    const axis_params *p;
    const void *in;
    void *out;
    size_t len, inner;
    bool is_double;
} axis_work;

#define DEFINE_LOGSOFTMAX(NAME, T, EXP)                                                    \
    static void NAME(const T *in, T *out, size_t len, size_t step)                         \
    {                                                                                      \
        T max = in[0];                                                                     \
        for (size_t i = 1; i < len; i++)                                                   \
            max = in[i * step] > max ? in[i * step] : max;                                 \
        double sum = 0.0;                                                                  \
        for (size_t i = 0; i < len; i++)                                                   \
            sum += EXP(in[i * step] - max);                                                \
        T shift = max + (T)log(sum);                                                       \
        for (size_t i = 0; i < len; i++)                                                   \
            out[i * step] = in[i * step] - shift;                                          \
    }

#define DEFINE_HARDMAX(NAME, T)                                                            \
    static void NAME(const T *in, T *out, size_t len, size_t step)                         \
    {                                                                                      \
        size_t arg = 0;                                                                    \
        for (size_t i = 1; i < len; i++)                                                   \
            if (in[i * step] > in[arg * step])                                             \
                arg = i;                                                                   \
        for (size_t i = 0; i < len; i++)                                                   \
            out[i * step] = i == arg ? (T)1 : (T)0;                                        \
    }

DEFINE_LOGSOFTMAX(logsoftmax_f32, float, expf)
DEFINE_LOGSOFTMAX(logsoftmax_f64, double, exp)
DEFINE_HARDMAX(hardmax_f32, float)
DEFINE_HARDMAX(hardmax_f64, double)

static void axis_range(void *arg, size_t begin, size_t end)
{
    const axis_work *w = arg;
    for (size_t lane = begin; lane < end; lane++) {
        size_t base = (lane / w->inner) * w->len * w->inner + lane % w->inner;
        const float *fi = (const float *)w->in + base;
        float *fo = (float *)w->out + base;
        const double *di = (const double *)w->in + base;
        double *dout = (double *)w->out + base;
        if (w->p->hardmax && w->is_double)
            hardmax_f64(di, dout, w->len, w->inner);
        else if (w->p->hardmax)
            hardmax_f32(fi, fo, w->len, w->inner);
        else if (w->is_double)
            logsoftmax_f64(di, dout, w->len, w->inner);
        else
            logsoftmax_f32(fi, fo, w->len, w->inner);
    }
}

static ember_status axis_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (x->dtype >= 32 || !(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(x), n_lanes = 0;
    axis_work w = {k->params, x->data, y->data, 0, 0, x->dtype == EMBER_DTYPE_FLOAT64};
    const axis_params *p = k->params;
    if (!cpu_axis_lanes(x->dims, x->rank, p->axis, p->coerce_2d, &n_lanes, &w.len, &w.inner))
        return cpu_fail_shape(k, 0, x, "the axis is out of range");
    if (n == 0 || w.len == 0)
        return EMBER_OK;
    float *tmp = NULL;
    if (cpu_is_half(x->dtype)) {
        s = cpu_half_input(ctx, k, x, &tmp);
        if (s != EMBER_OK)
            return s;
        w.in = w.out = tmp;
    }
    cpu_parallel(ctx, k, n_lanes, n * 16, axis_range, &w);
    if (tmp != NULL)
        cpu_float_to_half(x->dtype, tmp, y->data, n);
    return EMBER_OK;
}

static ember_status create_axis(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(axis_params));
    if (s != EMBER_OK)
        return s;
    axis_params *p = k->params;
    p->coerce_2d = k->opset < 13;
    p->hardmax = strcmp(k->op, "Hardmax") == 0;
    k->run = axis_run;
    return cpu_attr_int(k, node, "axis", p->coerce_2d ? 1 : -1, &p->axis);
}

/* ---- registration ------------------------------------------------------ */

const cpu_op_entry cpu_ops_cast_act[] = {
    {"LeakyRelu", 1, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Elu", 1, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Selu", 1, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Celu", 12, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Gelu", 20, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"HardSigmoid", 1, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"HardSwish", 14, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Softplus", 1, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Softsign", 1, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Shrink", 9, CPU_OPSET_MAX, check_act_shrink, create_act},
    {"ThresholdedRelu", 10, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Mish", 18, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"Swish", 24, CPU_OPSET_MAX, cpu_check_float, create_act},
    {"LogSoftmax", 1, CPU_OPSET_MAX, cpu_check_float, create_axis},
    {"Hardmax", 1, CPU_OPSET_MAX, cpu_check_float, create_axis},
    {NULL, 0, 0, NULL, NULL},
};
