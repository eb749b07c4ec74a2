/*
 * Quantization, random generation and signal processing.
 *
 * This file: element access for every quantized type (int8/16, the packed
 * int4/uint4/int2/uint2, the float8 formats and float4e2m1, with their own
 * conversion helpers), then QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear. The integer matrix ops (MatMulInteger,
 * QLinearMatMul, ConvInteger, QLinearConv), the random ops and the signal
 * ops live in kernels_quant_matmul.c, kernels_quant_random.c and
 * kernels_quant_signal.c (shared helpers in kernels_quant.h), and the
 * registration table of the family closes this file.
 */
#include "kernels_quant.h"

#include <cblas.h>
#include <math.h>

/* ---- small float formats (float8 and float4) --------------------------- */

/* A sign / exponent / mantissa format of at most 8 bits. */
typedef struct q_minifloat {
    int ebits, mbits, bias;
    bool has_inf; /* IEEE-like: the top exponent encodes inf and NaN (e5m2) */
    bool fnuz;    /* no negative zero: 0x80 is the only NaN */
    bool has_nan; /* e4m3fn: S.1111.111 is NaN */
    double max;   /* largest finite magnitude */
} q_minifloat;

static const q_minifloat Q_E4M3FN = {4, 3, 7, false, false, true, 448.0};
static const q_minifloat Q_E4M3FNUZ = {4, 3, 8, false, true, true, 240.0};
static const q_minifloat Q_E5M2 = {5, 2, 15, true, false, true, 57344.0};
static const q_minifloat Q_E5M2FNUZ = {5, 2, 16, false, true, true, 57344.0};
static const q_minifloat Q_E2M1 = {2, 1, 1, false, false, false, 6.0};

static const q_minifloat *q_minifloat_of(uint32_t dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT8E4M3FN: return &Q_E4M3FN;
    case EMBER_DTYPE_FLOAT8E4M3FNUZ: return &Q_E4M3FNUZ;
    case EMBER_DTYPE_FLOAT8E5M2: return &Q_E5M2;
    case EMBER_DTYPE_FLOAT8E5M2FNUZ: return &Q_E5M2FNUZ;
    case EMBER_DTYPE_FLOAT4E2M1: return &Q_E2M1;
    default: return NULL;
    }
}

static double q_minifloat_decode(const q_minifloat *f, unsigned bits)
{
    unsigned sign = (bits >> (f->ebits + f->mbits)) & 1u;
    unsigned exp = (bits >> f->mbits) & ((1u << f->ebits) - 1u);
    unsigned man = bits & ((1u << f->mbits) - 1u);
    unsigned top = (1u << f->ebits) - 1u;
    if (f->fnuz && bits == 0x80u)
        return NAN;
    if (f->has_inf && exp == top)
        return man == 0 ? (sign ? -INFINITY : INFINITY) : NAN;
    if (!f->has_inf && !f->fnuz && f->has_nan && exp == top && man == (1u << f->mbits) - 1u)
        return NAN;
    double v = exp == 0 ? ldexp((double)man, 1 - f->bias - f->mbits)
                        : ldexp(1.0 + ldexp((double)man, -f->mbits), (int)exp - f->bias);
    return sign ? -v : v;
}

/* The encoding of NaN, or of an overflow that does not saturate. */
static unsigned q_minifloat_special(const q_minifloat *f, unsigned sign, bool is_nan)
{
    unsigned width = (unsigned)(f->ebits + f->mbits);
    if (f->fnuz)
        return 0x80u;
    if (f->has_inf && !is_nan)
        return sign << width | (((1u << f->ebits) - 1u) << f->mbits);
    if (f->has_nan)
        return sign << width | ((1u << width) - 1u);
    return sign << width | ((1u << width) - 1u); /* float4: no NaN, the max */
}

/* Encodes the exact value r (already on the format's grid, <= max). */
static unsigned q_minifloat_pack(const q_minifloat *f, unsigned sign, double r)
{
    unsigned width = (unsigned)(f->ebits + f->mbits);
    int emin = 1 - f->bias;
    if (r == 0.0)
        return f->fnuz ? 0u : sign << width;
    if (r < ldexp(1.0, emin))
        return sign << width | (unsigned)ldexp(r, f->mbits - emin);
    int ex;
    (void)frexp(r, &ex);
    int e = ex - 1;
    unsigned man = (unsigned)(ldexp(r, f->mbits - e) - ldexp(1.0, f->mbits));
    return sign << width | (unsigned)(e + f->bias) << f->mbits | man;
}

/* Rounds v to nearest-even on the format's grid; overflow saturates to the
 * largest finite value when `saturate`, else becomes inf or NaN. */
static unsigned q_minifloat_encode(const q_minifloat *f, double v, bool saturate)
{
    unsigned sign = signbit(v) ? 1u : 0u;
    bool clamp = saturate || (!f->has_inf && !f->has_nan);
    if (isnan(v))
        return q_minifloat_special(f, sign, true);
    double a = fabs(v);
    if (isinf(a))
        return clamp ? q_minifloat_pack(f, sign, f->max) : q_minifloat_special(f, sign, false);
    int emin = 1 - f->bias, ex;
    double q;
    if (a < ldexp(1.0, emin)) {
        q = ldexp(1.0, emin - f->mbits);
    } else {
        (void)frexp(a, &ex);
        q = ldexp(1.0, ex - 1 - f->mbits);
    }
    double r = nearbyint(a / q) * q;
    if (r > f->max)
        return clamp ? q_minifloat_pack(f, sign, f->max) : q_minifloat_special(f, sign, false);
    return q_minifloat_pack(f, sign, r);
}

/* ---- element access over every numeric type ---------------------------- */

/* Elements per byte of the packed types; 0 for the others. */
static unsigned q_packed(uint32_t dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_INT4:
    case EMBER_DTYPE_UINT4:
    case EMBER_DTYPE_FLOAT4E2M1: return 2;
    case EMBER_DTYPE_INT2:
    case EMBER_DTYPE_UINT2: return 4;
    default: return 0;
    }
}

/* The raw bits of a packed element i. */
static unsigned q_packed_bits(const uint8_t *p, uint32_t dtype, size_t i)
{
    unsigned per = q_packed(dtype), width = 8u / per;
    unsigned shift = (unsigned)(i % per) * width;
    return (p[i / per] >> shift) & ((1u << width) - 1u);
}

static void q_packed_set(uint8_t *p, uint32_t dtype, size_t i, unsigned bits)
{
    unsigned per = q_packed(dtype), width = 8u / per;
    unsigned shift = (unsigned)(i % per) * width, mask = ((1u << width) - 1u) << shift;
    p[i / per] = (uint8_t)((p[i / per] & ~mask) | ((bits << shift) & mask));
}

bool cpu_q_loadable(uint32_t dtype)
{
    return dtype != EMBER_DTYPE_STRING && dtype != EMBER_DTYPE_UNDEFINED &&
           dtype != EMBER_DTYPE_COMPLEX64 && dtype != EMBER_DTYPE_COMPLEX128 &&
           dtype != EMBER_DTYPE_FLOAT8E8M0 && dtype <= EMBER_DTYPE_INT2;
}

double cpu_q_load(const void *data, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return ((const float *)data)[i];
    case EMBER_DTYPE_FLOAT64: return ((const double *)data)[i];
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(((const uint16_t *)data)[i]);
    case EMBER_DTYPE_BFLOAT16: return cpu_bf16_to_f32(((const uint16_t *)data)[i]);
    case EMBER_DTYPE_INT8: return ((const int8_t *)data)[i];
    case EMBER_DTYPE_UINT8:
    case EMBER_DTYPE_BOOL: return ((const uint8_t *)data)[i];
    case EMBER_DTYPE_INT16: return ((const int16_t *)data)[i];
    case EMBER_DTYPE_UINT16: return ((const uint16_t *)data)[i];
    case EMBER_DTYPE_INT32: return ((const int32_t *)data)[i];
    case EMBER_DTYPE_UINT32: return ((const uint32_t *)data)[i];
    case EMBER_DTYPE_INT64: return (double)((const int64_t *)data)[i];
    case EMBER_DTYPE_UINT64: return (double)((const uint64_t *)data)[i];
    case EMBER_DTYPE_UINT4:
    case EMBER_DTYPE_UINT2: return q_packed_bits(data, dtype, i);
    case EMBER_DTYPE_INT4: {
        unsigned b = q_packed_bits(data, dtype, i);
        return b >= 8 ? (double)b - 16.0 : (double)b;
    }
    case EMBER_DTYPE_INT2: {
        unsigned b = q_packed_bits(data, dtype, i);
        return b >= 2 ? (double)b - 4.0 : (double)b;
    }
    case EMBER_DTYPE_FLOAT4E2M1: return q_minifloat_decode(&Q_E2M1, q_packed_bits(data, dtype, i));
    default: {
        const q_minifloat *f = q_minifloat_of(dtype);
        return f != NULL ? q_minifloat_decode(f, ((const uint8_t *)data)[i]) : 0.0;
    }
    }
}

void cpu_q_store_float(void *data, uint32_t dtype, size_t i, double v)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT64: ((double *)data)[i] = v; break;
    case EMBER_DTYPE_FLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_f16((float)v); break;
    case EMBER_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_bf16((float)v); break;
    default: ((float *)data)[i] = (float)v; break;
    }
}

/* The integer range of a quantized integer type; false for the others. */
static bool q_int_range(uint32_t dtype, double *lo, double *hi)
{
    switch (dtype) {
    case EMBER_DTYPE_UINT8: *lo = 0; *hi = 255; return true;
    case EMBER_DTYPE_INT8: *lo = -128; *hi = 127; return true;
    case EMBER_DTYPE_UINT16: *lo = 0; *hi = 65535; return true;
    case EMBER_DTYPE_INT16: *lo = -32768; *hi = 32767; return true;
    case EMBER_DTYPE_INT32: *lo = -2147483648.0; *hi = 2147483647.0; return true;
    case EMBER_DTYPE_UINT4: *lo = 0; *hi = 15; return true;
    case EMBER_DTYPE_INT4: *lo = -8; *hi = 7; return true;
    case EMBER_DTYPE_UINT2: *lo = 0; *hi = 3; return true;
    case EMBER_DTYPE_INT2: *lo = -2; *hi = 1; return true;
    default: return false;
    }
}

bool cpu_q_is_quant_type(uint32_t dtype)
{
    double lo, hi;
    return (q_int_range(dtype, &lo, &hi) && dtype != EMBER_DTYPE_INT32) ||
           q_minifloat_of(dtype) != NULL;
}

void cpu_q_store_quant(void *data, uint32_t dtype, size_t i, double v, bool saturate)
{
    double lo, hi;
    if (q_int_range(dtype, &lo, &hi)) {
        double r = isnan(v) ? 0.0 : nearbyint(v);
        r = r < lo ? lo : r > hi ? hi : r;
        switch (dtype) {
        case EMBER_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)r; return;
        case EMBER_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)r; return;
        case EMBER_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)r; return;
        case EMBER_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)r; return;
        case EMBER_DTYPE_INT32: ((int32_t *)data)[i] = (int32_t)r; return;
        default: q_packed_set(data, dtype, i, (unsigned)(int)r & 0xfu); return;
        }
    }
    const q_minifloat *f = q_minifloat_of(dtype);
    unsigned bits = q_minifloat_encode(f, v, saturate);
    if (dtype == EMBER_DTYPE_FLOAT4E2M1)
        q_packed_set(data, dtype, i, bits);
    else
        ((uint8_t *)data)[i] = (uint8_t)bits;
}

double cpu_q_round_to(uint32_t dtype, double v)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT64: return v;
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(cpu_f32_to_f16((float)v));
    case EMBER_DTYPE_BFLOAT16: return cpu_bf16_to_f32(cpu_f32_to_bf16((float)v));
    default: return (float)v;
    }
}

/* ---- QuantizeLinear / DequantizeLinear --------------------------------- */

typedef struct ql_params {
    int64_t axis;
    int64_t block_size;   /* 0: per tensor or per axis */
    int64_t output_dtype; /* 0: from the zero point (or the scale) */
    int64_t precision;    /* 0: the promotion of x and the scale */
    bool saturate;
} ql_params;

/* How scale and zero point map onto x: one value, one per index along
 * `axis`, or one per block of block_size indices along it. */
typedef struct ql_layout {
    int mode; /* 0 tensor, 1 axis, 2 blocked */
    size_t len, inner, block, n_blocks;
} ql_layout;

static size_t ql_index(const ql_layout *l, size_t i)
{
    if (l->mode == 0)
        return 0;
    size_t a = (i / l->inner) % l->len;
    if (l->mode == 1)
        return a;
    size_t o = i / (l->len * l->inner);
    return (o * l->n_blocks + a / l->block) * l->inner + i % l->inner;
}

static ember_status ql_layout_make(const cpu_kernel *k, const ember_tensor *x,
                                   const ember_tensor *scale, ql_layout *l)
{
    const ql_params *p = k->params;
    memset(l, 0, sizeof *l);
    if (cpu_tensor_numel(scale) == 1 && (p->block_size == 0 || scale->rank <= 1))
        return EMBER_OK;
    size_t axis;
    if (!cpu_normalize_axis(p->axis, x->rank, &axis))
        return cpu_fail_shape(k, 0, x, "the axis attribute is outside its rank");
    l->len = (size_t)x->dims[axis];
    l->inner = cpu_numel(x->dims + axis + 1, x->rank - axis - 1);
    if (p->block_size == 0) {
        if (scale->rank != 1 || (size_t)scale->dims[0] != l->len)
            return cpu_fail_shape(k, 1, scale, "expected a scalar or a 1-D tensor of the axis size");
        l->mode = 1;
        return EMBER_OK;
    }
    l->mode = 2;
    l->block = (size_t)p->block_size;
    l->n_blocks = (l->len + l->block - 1) / l->block;
    bool ok = scale->rank == x->rank;
    for (size_t d = 0; ok && d < x->rank; d++)
        ok = d == axis ? (size_t)scale->dims[d] == l->n_blocks : scale->dims[d] == x->dims[d];
    if (!ok)
        return cpu_fail_shape(k, 1, scale, "does not match input 0 blocked along the axis");
    return EMBER_OK;
}

/* Reads the optional zero point (input 2), which must have the scale's
 * shape. *zp is NULL when absent. */
static ember_status ql_zero_point(const cpu_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor *scale, const ember_tensor **zp)
{
    *zp = cpu_opt_input(k, ctx, 2);
    if (*zp == NULL)
        return EMBER_OK;
    if (cpu_tensor_numel(*zp) != cpu_tensor_numel(scale))
        return cpu_fail_shape(k, 2, *zp, "its size differs from the scale's");
    if (!cpu_q_loadable((*zp)->dtype))
        return cpu_fail_dtype(k, 2, (*zp)->dtype);
    return EMBER_OK;
}

typedef struct ql_job {
    const ember_tensor *x, *scale, *zp;
    void *y;
    uint32_t y_dtype, precision;
    ql_layout lay;
    bool saturate, zp_used;
} ql_job;

static void ql_quantize_range(void *arg, size_t begin, size_t end)
{
    const ql_job *j = arg;
    for (size_t i = begin; i < end; i++) {
        size_t pi = ql_index(&j->lay, i);
        double x = cpu_q_load(j->x->data, j->x->dtype, i);
        double s = cpu_q_load(j->scale->data, j->scale->dtype, pi);
        double q = j->precision == EMBER_DTYPE_FLOAT64
                       ? x / s
                       : cpu_q_round_to(j->precision, (float)x / (float)s);
        if (j->zp != NULL) {
            double z = cpu_q_load(j->zp->data, j->zp->dtype, pi);
            double lo, hi;
            q = q_int_range(j->y_dtype, &lo, &hi) ? nearbyint(q) + z : q + z;
        }
        cpu_q_store_quant(j->y, j->y_dtype, i, q, j->saturate);
    }
}

static void ql_dequantize_range(void *arg, size_t begin, size_t end)
{
    const ql_job *j = arg;
    for (size_t i = begin; i < end; i++) {
        size_t pi = ql_index(&j->lay, i);
        double x = cpu_q_load(j->x->data, j->x->dtype, i);
        if (j->zp_used)
            x -= cpu_q_load(j->zp->data, j->zp->dtype, pi);
        double s = cpu_q_load(j->scale->data, j->scale->dtype, pi);
        double y = j->precision == EMBER_DTYPE_FLOAT64 ? x * s : (double)((float)x * (float)s);
        cpu_q_store_float(j->y, j->y_dtype, i, y);
    }
}

/* The type the division x / scale is computed in. */
static uint32_t ql_precision(const ql_params *p, uint32_t x_dtype, uint32_t s_dtype)
{
    if (p->precision != 0)
        return (uint32_t)p->precision;
    if (x_dtype == EMBER_DTYPE_FLOAT64 || s_dtype == EMBER_DTYPE_FLOAT64)
        return EMBER_DTYPE_FLOAT64;
    return x_dtype == s_dtype ? x_dtype : EMBER_DTYPE_FLOAT32;
}

static ember_status ql_inputs(const cpu_kernel *k, ember_kernel_context *ctx, ql_job *j)
{
    ember_status s = cpu_input(k, ctx, 0, &j->x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &j->scale);
    if (s != EMBER_OK)
        return s;
    if (!cpu_q_loadable(j->x->dtype))
        return cpu_fail_dtype(k, 0, j->x->dtype);
    if (!(CPU_DT(j->scale->dtype) & CPU_DT_FLOATS) &&
        !(k->op[0] == 'D' && j->scale->dtype == EMBER_DTYPE_INT32))
        return cpu_fail_dtype(k, 1, j->scale->dtype);
    s = ql_zero_point(k, ctx, j->scale, &j->zp);
    if (s == EMBER_OK)
        s = ql_layout_make(k, j->x, j->scale, &j->lay);
    return s;
}

static void ql_dispatch(const cpu_kernel *k, ember_kernel_context *ctx, ql_job *j, size_t n,
                        ember_parallel_fn fn)
{
    if (q_packed(j->y_dtype) != 0)
        fn(j, 0, n); /* neighbours share a byte */
    else
        cpu_parallel(ctx, k, n, n * 8, fn, j);
}

static ember_status quantize_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ql_params *p = k->params;
    ql_job j;
    memset(&j, 0, sizeof j);
    ember_status s = ql_inputs(k, ctx, &j);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT(j.x->dtype) & CPU_DT_FLOATS) && j.x->dtype != EMBER_DTYPE_INT32)
        return cpu_fail_dtype(k, 0, j.x->dtype);
    j.y_dtype = p->output_dtype != 0 ? (uint32_t)p->output_dtype : EMBER_DTYPE_UINT8;
    if (j.zp != NULL) {
        if (p->output_dtype != 0 && j.zp->dtype != (uint32_t)p->output_dtype)
            return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                                 "node '%s' (%s): input 2 is %s but output_dtype is %s",
                                 k->name, k->op, cpu_dtype_name(j.zp->dtype),
                                 cpu_dtype_name((uint32_t)p->output_dtype));
        j.y_dtype = j.zp->dtype;
    }
    if (!cpu_q_is_quant_type(j.y_dtype))
        return cpu_fail_dtype(k, 2, j.y_dtype);
    j.precision = ql_precision(p, j.x->dtype, j.scale->dtype);
    j.saturate = p->saturate;
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, j.y_dtype, j.x->dims, j.x->rank, &y);
    size_t n = cpu_tensor_numel(j.x);
    if (s != EMBER_OK || n == 0)
        return s;
    j.y = y->data;
    ql_dispatch(k, ctx, &j, n, ql_quantize_range);
    return EMBER_OK;
}

static ember_status dequantize_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ql_params *p = k->params;
    ql_job j;
    memset(&j, 0, sizeof j);
    ember_status s = ql_inputs(k, ctx, &j);
    if (s != EMBER_OK)
        return s;
    if (!cpu_q_is_quant_type(j.x->dtype) && j.x->dtype != EMBER_DTYPE_INT32)
        return cpu_fail_dtype(k, 0, j.x->dtype);
    /* The float formats have no zero point to subtract (it must be 0). */
    j.zp_used = j.zp != NULL && q_minifloat_of(j.x->dtype) == NULL;
    if (j.zp_used && j.zp->dtype != j.x->dtype)
        return cpu_fail_dtype(k, 2, j.zp->dtype);
    j.y_dtype = p->output_dtype != 0 ? (uint32_t)p->output_dtype : j.scale->dtype;
    if (!(CPU_DT(j.y_dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 1, j.y_dtype);
    j.precision = j.scale->dtype == EMBER_DTYPE_FLOAT64 || j.y_dtype == EMBER_DTYPE_FLOAT64
                      ? EMBER_DTYPE_FLOAT64
                      : EMBER_DTYPE_FLOAT32;
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, j.y_dtype, j.x->dims, j.x->rank, &y);
    size_t n = cpu_tensor_numel(j.x);
    if (s != EMBER_OK || n == 0)
        return s;
    j.y = y->data;
    cpu_parallel(ctx, k, n, n * 8, ql_dequantize_range, &j);
    return EMBER_OK;
}

static ember_status ql_create(cpu_kernel *k, const ember_node *node, bool quantize)
{
    ember_status s = cpu_kernel_params(k, sizeof(ql_params));
    if (s != EMBER_OK)
        return s;
    ql_params *p = k->params;
    int64_t saturate = 1;
    s = cpu_attr_int(k, node, "axis", 1, &p->axis);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "block_size", 0, &p->block_size);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "output_dtype", 0, &p->output_dtype);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "saturate", 1, &saturate);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "precision", 0, &p->precision);
    if (s != EMBER_OK)
        return s;
    p->saturate = saturate != 0;
    if (p->block_size < 0)
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute block_size is "
                             "negative", k->name, k->op);
    bool out_ok = quantize ? cpu_q_is_quant_type((uint32_t)p->output_dtype)
                           : (CPU_DT((uint32_t)p->output_dtype) & CPU_DT_FLOATS) != 0;
    if (p->output_dtype != 0 && (p->output_dtype < 0 || p->output_dtype > 31 || !out_ok))
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute output_dtype "
                             "(%lld) is not a supported type", k->name, k->op,
                             (long long)p->output_dtype);
    if (p->precision != 0 && (p->precision < 0 || p->precision > 31 ||
                              !(CPU_DT((uint32_t)p->precision) & CPU_DT_FLOATS)))
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute precision "
                             "(%lld) is not a float type", k->name, k->op,
                             (long long)p->precision);
    k->run = quantize ? quantize_run : dequantize_run;
    return EMBER_OK;
}

static ember_status quantize_create(cpu_kernel *k, const ember_node *node)
{
    return ql_create(k, node, true);
}

static ember_status dequantize_create(cpu_kernel *k, const ember_node *node)
{
    return ql_create(k, node, false);
}

/* ---- DynamicQuantizeLinear --------------------------------------------- */

/* y = saturate(round(x / scale) + zp) into uint8, with scale and zero point
 * from the range of x extended to include 0 (all in float32). */
static ember_status dql_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    size_t n = cpu_tensor_numel(x);
    float lo = 0.0f, hi = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float v = (float)cpu_q_load(x->data, x->dtype, i);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    float scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
    float zp0 = 0.0f - lo / scale;
    float zp = nearbyintf(zp0 < 0.0f ? 0.0f : zp0 > 255.0f ? 255.0f : zp0);
    ember_tensor *y, *ys, *yz;
    s = cpu_output(k, ctx, 0, EMBER_DTYPE_UINT8, x->dims, x->rank, &y);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 1, x->dtype, NULL, 0, &ys);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 2, EMBER_DTYPE_UINT8, NULL, 0, &yz);
    if (s != EMBER_OK)
        return s;
    for (size_t i = 0; i < n; i++) {
        float v = nearbyintf((float)cpu_q_load(x->data, x->dtype, i) / scale) + zp;
        ((uint8_t *)y->data)[i] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    }
    cpu_q_store_float(ys->data, x->dtype, 0, scale);
    *(uint8_t *)yz->data = (uint8_t)zp;
    return EMBER_OK;
}

static ember_status dql_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = dql_run;
    return EMBER_OK;
}

/* ---- claim checks ------------------------------------------------------ */

#define Q_DT_QINT                                                                          \
    (CPU_DT(EMBER_DTYPE_INT8) | CPU_DT(EMBER_DTYPE_UINT8) | CPU_DT(EMBER_DTYPE_INT16) |   \
     CPU_DT(EMBER_DTYPE_UINT16) | CPU_DT(EMBER_DTYPE_FLOAT8E4M3FN) |                      \
     CPU_DT(EMBER_DTYPE_FLOAT8E4M3FNUZ) | CPU_DT(EMBER_DTYPE_FLOAT8E5M2) |                \
     CPU_DT(EMBER_DTYPE_FLOAT8E5M2FNUZ))

/* QuantizeLinear: x is a float type or int32. */
static bool q_check_real_input(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_FLOATS | CPU_DT(EMBER_DTYPE_INT32));
}

/* The integer matrix ops: input 0 is an 8/16-bit integer (or float8). */
static bool q_check_qint_input(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, Q_DT_QINT);
}

/* DFT, STFT, Bernoulli, Multinomial: input 0 is a float type. */
static bool q_check_float_input(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_FLOATS);
}

const cpu_op_entry cpu_ops_quant[] = {
    {"QuantizeLinear", 10, CPU_OPSET_MAX, q_check_real_input, quantize_create},
    {"DequantizeLinear", 10, CPU_OPSET_MAX, NULL, dequantize_create},
    {"DynamicQuantizeLinear", 11, CPU_OPSET_MAX, cpu_check_float, dql_create},
    {"MatMulInteger", 10, CPU_OPSET_MAX, q_check_qint_input, cpu_mmi_create},
    {"QLinearMatMul", 10, CPU_OPSET_MAX, q_check_qint_input, cpu_qlmm_create},
    {"ConvInteger", 10, CPU_OPSET_MAX, q_check_qint_input, cpu_convi_create},
    {"QLinearConv", 10, CPU_OPSET_MAX, q_check_qint_input, cpu_qlconv_create},
    {"RandomUniform", 1, CPU_OPSET_MAX, NULL, cpu_rnd_uniform_create},
    {"RandomNormal", 1, CPU_OPSET_MAX, NULL, cpu_rnd_normal_create},
    {"RandomUniformLike", 1, CPU_OPSET_MAX, NULL, cpu_rnd_uniform_like_create},
    {"RandomNormalLike", 1, CPU_OPSET_MAX, NULL, cpu_rnd_normal_like_create},
    {"Bernoulli", 15, CPU_OPSET_MAX, q_check_float_input, cpu_rnd_bernoulli_create},
    {"Multinomial", 7, CPU_OPSET_MAX, q_check_float_input, cpu_rnd_multinomial_create},
    {"DFT", 17, CPU_OPSET_MAX, q_check_float_input, cpu_dft_create},
    {"STFT", 17, CPU_OPSET_MAX, q_check_float_input, cpu_stft_create},
    {"HannWindow", 17, CPU_OPSET_MAX, NULL, cpu_win_hann_create},
    {"HammingWindow", 17, CPU_OPSET_MAX, NULL, cpu_win_hamming_create},
    {"BlackmanWindow", 17, CPU_OPSET_MAX, NULL, cpu_win_blackman_create},
    {"MelWeightMatrix", 17, CPU_OPSET_MAX, NULL, cpu_mel_create},
    {NULL, 0, 0, NULL, NULL},
};
