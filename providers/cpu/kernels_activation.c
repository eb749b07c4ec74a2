/*
 * Activations: Relu, Sigmoid, Tanh (one typed loop per op and dtype), Clip
 * (bounds from attributes before opset 11, from optional inputs after) and
 * Softmax (2-D coercion at `axis` before opset 13, one axis from 13 on).
 * float16/bfloat16 are computed in float32.
 */
#include "cpu_kernel.h"

#include <float.h>
#include <math.h>

/* Elements per parallel work item. */
#define CHUNK_ELEMS 16384

enum { OP_RELU, OP_SIGMOID, OP_TANH, N_UNARY };
#define N_DTYPES 17

typedef void (*unary_fn)(const void *in, void *out, size_t n);

/* The typed loops differ only in element type and expression; T is the
 * storage type, C the compute type. */
#define DEFINE_UNARY(NAME, T, C, LOAD, STORE, EXPR)                                        \
    static void NAME(const void *pin, void *pout, size_t n)                                \
    {                                                                                      \
        const T *in = pin;                                                                 \
        T *out = pout;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                   \
            C x = LOAD(in[i]);                                                             \
            out[i] = STORE(EXPR);                                                          \
        }                                                                                  \
    }

#define SAME(x) (x)

static inline float sigmoidf(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static inline double sigmoid(double x)
{
    if (x >= 0.0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

#define DEFINE_FLOAT_UNARY(SUF, T, C, LOAD, STORE, SIG, TANH)                              \
    DEFINE_UNARY(relu_##SUF, T, C, LOAD, STORE, x > 0 ? x : 0)                             \
    DEFINE_UNARY(sigmoid_##SUF, T, C, LOAD, STORE, SIG(x))                                 \
    DEFINE_UNARY(tanh_##SUF, T, C, LOAD, STORE, TANH(x))

DEFINE_FLOAT_UNARY(f32, float, float, SAME, SAME, sigmoidf, tanhf)
DEFINE_FLOAT_UNARY(f64, double, double, SAME, SAME, sigmoid, tanh)
DEFINE_FLOAT_UNARY(f16, uint16_t, float, cpu_f16_to_f32, cpu_f32_to_f16, sigmoidf, tanhf)
DEFINE_FLOAT_UNARY(bf16, uint16_t, float, cpu_bf16_to_f32, cpu_f32_to_bf16, sigmoidf, tanhf)
DEFINE_UNARY(relu_i8, int8_t, int8_t, SAME, SAME, x > 0 ? x : 0)
DEFINE_UNARY(relu_i16, int16_t, int16_t, SAME, SAME, x > 0 ? x : 0)
DEFINE_UNARY(relu_i32, int32_t, int32_t, SAME, SAME, x > 0 ? x : 0)
DEFINE_UNARY(relu_i64, int64_t, int64_t, SAME, SAME, x > 0 ? x : 0)

static const unary_fn unary_fns[N_UNARY][N_DTYPES] = {
    [OP_RELU] = {[EMBER_DTYPE_FLOAT32] = relu_f32, [EMBER_DTYPE_FLOAT64] = relu_f64,
                 [EMBER_DTYPE_FLOAT16] = relu_f16, [EMBER_DTYPE_BFLOAT16] = relu_bf16,
                 [EMBER_DTYPE_INT8] = relu_i8, [EMBER_DTYPE_INT16] = relu_i16,
                 [EMBER_DTYPE_INT32] = relu_i32, [EMBER_DTYPE_INT64] = relu_i64},
    [OP_SIGMOID] = {[EMBER_DTYPE_FLOAT32] = sigmoid_f32, [EMBER_DTYPE_FLOAT64] = sigmoid_f64,
                    [EMBER_DTYPE_FLOAT16] = sigmoid_f16, [EMBER_DTYPE_BFLOAT16] = sigmoid_bf16},
    [OP_TANH] = {[EMBER_DTYPE_FLOAT32] = tanh_f32, [EMBER_DTYPE_FLOAT64] = tanh_f64,
                 [EMBER_DTYPE_FLOAT16] = tanh_f16, [EMBER_DTYPE_BFLOAT16] = tanh_bf16},
};

/* ---- claim checks ------------------------------------------------------ */

bool cpu_check_relu(const ember_host_api *host, const ember_node *node)
{
    uint32_t set = CPU_DT_FLOATS;
    if (host->node_opset(node) >= 14)
        set |= CPU_DT_SIGNED;
    return cpu_input_dtype_in(host, node, 0, set);
}

bool cpu_check_clip(const ember_host_api *host, const ember_node *node)
{
    uint32_t set = CPU_DT_FLOATS;
    if (host->node_opset(node) >= 12)
        set |= CPU_DT_SIGNED | CPU_DT_UNSIGNED;
    return cpu_input_dtype_in(host, node, 0, set);
}

/* ---- shared elementwise driver ----------------------------------------- */

/* Runs `body(arg, begin, end)` over [0, n) elements in chunks. */
typedef struct chunk_job {
    void (*body)(const void *arg, size_t begin, size_t end);
    const void *arg;
    size_t n;
} chunk_job;

static void chunk_range(void *arg, size_t begin, size_t end)
{
    const chunk_job *j = arg;
    for (size_t c = begin; c < end; c++) {
        size_t lo = c * CHUNK_ELEMS;
        size_t hi = lo + CHUNK_ELEMS < j->n ? lo + CHUNK_ELEMS : j->n;
        j->body(j->arg, lo, hi);
    }
}

static void run_chunked(const cpu_kernel *k, ember_kernel_context *ctx, size_t n,
                        void (*body)(const void *, size_t, size_t), const void *arg)
{
    chunk_job job = {body, arg, n};
    cpu_parallel(ctx, k, (n + CHUNK_ELEMS - 1) / CHUNK_ELEMS, n * 8, chunk_range, &job);
}

/* Input 0 and an output of the same type and shape. */
static ember_status same_shape_io(const cpu_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor **x, ember_tensor **y)
{
    ember_status s = cpu_input(k, ctx, 0, x);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, (*x)->dtype, (*x)->dims, (*x)->rank, y);
    return s;
}

/* ---- Relu, Sigmoid, Tanh ----------------------------------------------- */

typedef struct unary_work {
    unary_fn fn;
    const unsigned char *in;
    unsigned char *out;
    size_t esize;
} unary_work;

static void unary_body(const void *arg, size_t begin, size_t end)
{
    const unary_work *w = arg;
    w->fn(w->in + begin * w->esize, w->out + begin * w->esize, end - begin);
}

static ember_status unary_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const int *op = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    unary_fn fn = x->dtype < N_DTYPES ? unary_fns[*op][x->dtype] : NULL;
    if (fn == NULL)
        return cpu_fail_dtype(k, 0, x->dtype);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    unary_work w = {fn, x->data, y->data, cpu_dtype_size(x->dtype)};
    run_chunked(k, ctx, cpu_tensor_numel(x), unary_body, &w);
    return EMBER_OK;
}

ember_status cpu_create_unary(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(int));
    if (s != EMBER_OK)
        return s;
    int *op = k->params;
    *op = strcmp(k->op, "Relu") == 0      ? OP_RELU
          : strcmp(k->op, "Sigmoid") == 0 ? OP_SIGMOID
                                          : OP_TANH;
    k->run = unary_run;
    return EMBER_OK;
}

/* ---- Clip -------------------------------------------------------------- */

typedef struct clip_params {
    bool from_inputs; /* opset >= 11 */
    float min, max;   /* the attributes of opsets 1-10 */
} clip_params;

/* Bounds as storage values of the input's dtype; NULL = unbounded. */
typedef void (*clip_fn)(const void *in, void *out, size_t n, const void *lo, const void *hi);

#define DEFINE_CLIP(NAME, T, C, LOAD, STORE)                                               \
    static void NAME(const void *pin, void *pout, size_t n, const void *plo, const void *phi) \
    {                                                                                      \
        const T *in = pin;                                                                 \
        T *out = pout;                                                                     \
        bool has_lo = plo != NULL, has_hi = phi != NULL;                                   \
        C lo = has_lo ? LOAD(*(const T *)plo) : 0, hi = has_hi ? LOAD(*(const T *)phi) : 0; \
        for (size_t i = 0; i < n; i++) {                                                   \
            C x = LOAD(in[i]);                                                             \
            if (has_lo && x < lo)                                                          \
                x = lo;                                                                    \
            if (has_hi && x > hi)                                                          \
                x = hi;                                                                    \
            out[i] = STORE(x);                                                             \
        }                                                                                  \
    }

DEFINE_CLIP(clip_f32, float, float, SAME, SAME)
DEFINE_CLIP(clip_f64, double, double, SAME, SAME)
DEFINE_CLIP(clip_f16, uint16_t, float, cpu_f16_to_f32, cpu_f32_to_f16)
DEFINE_CLIP(clip_bf16, uint16_t, float, cpu_bf16_to_f32, cpu_f32_to_bf16)
DEFINE_CLIP(clip_i8, int8_t, int8_t, SAME, SAME)
DEFINE_CLIP(clip_i16, int16_t, int16_t, SAME, SAME)
DEFINE_CLIP(clip_i32, int32_t, int32_t, SAME, SAME)
DEFINE_CLIP(clip_i64, int64_t, int64_t, SAME, SAME)
DEFINE_CLIP(clip_u8, uint8_t, uint8_t, SAME, SAME)
DEFINE_CLIP(clip_u16, uint16_t, uint16_t, SAME, SAME)
DEFINE_CLIP(clip_u32, uint32_t, uint32_t, SAME, SAME)
DEFINE_CLIP(clip_u64, uint64_t, uint64_t, SAME, SAME)

static const clip_fn clip_fns[N_DTYPES] = {
    [EMBER_DTYPE_FLOAT32] = clip_f32, [EMBER_DTYPE_FLOAT64] = clip_f64,
    [EMBER_DTYPE_FLOAT16] = clip_f16, [EMBER_DTYPE_BFLOAT16] = clip_bf16,
    [EMBER_DTYPE_INT8] = clip_i8,     [EMBER_DTYPE_INT16] = clip_i16,
    [EMBER_DTYPE_INT32] = clip_i32,   [EMBER_DTYPE_INT64] = clip_i64,
    [EMBER_DTYPE_UINT8] = clip_u8,    [EMBER_DTYPE_UINT16] = clip_u16,
    [EMBER_DTYPE_UINT32] = clip_u32,  [EMBER_DTYPE_UINT64] = clip_u64,
};

typedef struct clip_work {
    clip_fn fn;
    const unsigned char *in;
    unsigned char *out;
    size_t esize;
    const void *lo, *hi;
} clip_work;

static void clip_body(const void *arg, size_t begin, size_t end)
{
    const clip_work *w = arg;
    w->fn(w->in + begin * w->esize, w->out + begin * w->esize, end - begin, w->lo, w->hi);
}

/* Writes a float attribute bound in the storage format of `dtype` (the
 * attribute form exists only for float types). */
static void store_bound(uint32_t dtype, float v, void *buf)
{
    if (dtype == EMBER_DTYPE_FLOAT32)
        memcpy(buf, &v, sizeof v);
    else if (dtype == EMBER_DTYPE_FLOAT64)
        *(double *)buf = v;
    else if (dtype == EMBER_DTYPE_FLOAT16)
        *(uint16_t *)buf = cpu_f32_to_f16(v);
    else
        *(uint16_t *)buf = cpu_f32_to_bf16(v);
}

/* Bound input `index` (1 = min, 2 = max): absent or empty means unbounded;
 * otherwise a scalar (or one-element tensor) of the input's type. */
static ember_status clip_bound(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                               uint32_t dtype, const void **out)
{
    const ember_tensor *t = NULL;
    if (index < k->host->ctx_input_count(ctx))
        t = k->host->ctx_input(ctx, index);
    if (t == NULL) {
        *out = NULL;
        return EMBER_OK;
    }
    if (t->dtype != dtype)
        return cpu_fail_dtype(k, index, t->dtype);
    if (cpu_tensor_numel(t) != 1)
        return cpu_fail_shape(k, index, t, "expected a scalar bound");
    *out = t->data;
    return EMBER_OK;
}

static ember_status clip_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const clip_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    clip_fn fn = x->dtype < N_DTYPES ? clip_fns[x->dtype] : NULL;
    if (fn == NULL || (!p->from_inputs && !(CPU_DT(x->dtype) & CPU_DT_FLOATS)))
        return cpu_fail_dtype(k, 0, x->dtype);
    double lo_buf, hi_buf;
    clip_work w = {fn, x->data, NULL, cpu_dtype_size(x->dtype), &lo_buf, &hi_buf};
    if (p->from_inputs) {
        s = clip_bound(k, ctx, 1, x->dtype, &w.lo);
        if (s == EMBER_OK)
            s = clip_bound(k, ctx, 2, x->dtype, &w.hi);
    } else {
        store_bound(x->dtype, p->min, &lo_buf);
        store_bound(x->dtype, p->max, &hi_buf);
    }
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    w.out = y->data;
    run_chunked(k, ctx, cpu_tensor_numel(x), clip_body, &w);
    return EMBER_OK;
}

ember_status cpu_create_clip(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(clip_params));
    if (s != EMBER_OK)
        return s;
    clip_params *p = k->params;
    p->from_inputs = k->opset >= 11;
    if (!p->from_inputs) {
        s = cpu_attr_float(k, node, "min", -FLT_MAX, &p->min);
        if (s == EMBER_OK)
            s = cpu_attr_float(k, node, "max", FLT_MAX, &p->max);
    }
    k->run = clip_run;
    return s;
}

/* ---- Softmax ----------------------------------------------------------- */

typedef struct softmax_params {
    int64_t axis;
    bool coerce_2d; /* opset < 13: softmax over dims [axis, rank) flattened */
} softmax_params;

/* The input seen as [outer, len, inner]; the softmax runs along len. */
typedef struct softmax_work {
    const void *in;
    void *out;
    size_t len, inner;
    bool is_double;
} softmax_work;

#define DEFINE_SOFTMAX(NAME, T, EXP)                                                       \
    static void NAME(const T *in, T *out, size_t len, size_t step)                         \
    {                                                                                      \
        T max = in[0];                                                                     \
        for (size_t i = 1; i < len; i++)                                                   \
            max = in[i * step] > max ? in[i * step] : max;                                 \
        double sum = 0.0;                                                                  \
        for (size_t i = 0; i < len; i++) {                                                 \
            T e = EXP(in[i * step] - max);                                                 \
            out[i * step] = e;                                                             \
            sum += e;                                                                      \
        }                                                                                  \
        T scale = (T)(1.0 / sum);                                                          \
        for (size_t i = 0; i < len; i++)                                                   \
            out[i * step] *= scale;                                                        \
    }

DEFINE_SOFTMAX(softmax_lane_f32, float, expf)
DEFINE_SOFTMAX(softmax_lane_f64, double, exp)

static void softmax_range(void *arg, size_t begin, size_t end)
{
    const softmax_work *w = arg;
    for (size_t lane = begin; lane < end; lane++) {
        size_t base = (lane / w->inner) * w->len * w->inner + lane % w->inner;
        if (w->is_double)
            softmax_lane_f64((const double *)w->in + base, (double *)w->out + base, w->len,
                             w->inner);
        else
            softmax_lane_f32((const float *)w->in + base, (float *)w->out + base, w->len,
                             w->inner);
    }
}

static ember_status softmax_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_tensor *y;
    ember_status s = same_shape_io(k, ctx, &x, &y);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    size_t n = cpu_tensor_numel(x), n_lanes = 0;
    softmax_work w = {x->data, y->data, 0, 0, x->dtype == EMBER_DTYPE_FLOAT64};
    const softmax_params *p = k->params;
    if (!cpu_axis_lanes(x->dims, x->rank, p->axis, p->coerce_2d, &n_lanes, &w.len, &w.inner))
        return cpu_fail_shape(k, 0, x, "the softmax axis is out of range");
    if (n == 0)
        return EMBER_OK;
    float *tmp = NULL;
    if (cpu_is_half(x->dtype)) {
        s = cpu_half_input(ctx, k, x, &tmp);
        if (s != EMBER_OK)
            return s;
        w.in = w.out = tmp;
    }
    cpu_parallel(ctx, k, n_lanes, n * 16, softmax_range, &w);
    if (tmp != NULL)
        cpu_float_to_half(x->dtype, tmp, y->data, n);
    return EMBER_OK;
}

ember_status cpu_create_softmax(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(softmax_params));
    if (s != EMBER_OK)
        return s;
    softmax_params *p = k->params;
    p->coerce_2d = k->opset < 13;
    k->run = softmax_run;
    return cpu_attr_int(k, node, "axis", p->coerce_2d ? 1 : -1, &p->axis);
}
