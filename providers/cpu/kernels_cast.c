/*
 * Cast, CastLike and BitCast. The activations beyond Relu/Sigmoid/Tanh
 * (LeakyRelu, Elu, Selu, Celu, Gelu, HardSigmoid, HardSwish, Softplus,
 * Softsign, Shrink, ThresholdedRelu, Mish, Swish, LogSoftmax and Hardmax)
 * live in kernels_cast_act.c, which borrows the element access declared in
 * kernels_cast.h.
 *
 * Cast goes element by element through a neutral value: a double for the
 * float types, an int64/uint64 for the integer types (so int64 -> int64
 * stays exact); common pairs (float32 <-> float64/float16/bfloat16, int to
 * float, int32 <-> int64, to bool) take direct loops. The narrow float
 * formats (float16, bfloat16, the float8s, float4e2m1) are encoded from a
 * double with round-to-nearest-even by one generic encoder; overflow gives
 * inf, NaN or the largest finite value as each format and the `saturate`
 * attribute say. Integers (int4/int2 included) wrap, as numpy's astype
 * does. Strings format numbers as numpy prints them (shortest round-trip
 * digits) and parse numbers with strtod.
 */
#include "kernels_cast.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- the neutral value ------------------------------------------------- */

/* Two's complement bits of the value, for the integer targets (which keep
 * the low bits: floats truncate toward zero; NaN and values out of the
 * int64/uint64 range give INT64_MIN's bits, as x86 does). */
static inline uint64_t num_bits(num v)
{
    if (v.kind != NUM_FLOAT)
        return v.u;
    double f = v.f;
    if (f >= -9223372036854775808.0 && f < 9223372036854775808.0)
        return (uint64_t)(int64_t)f;
    if (f >= 9223372036854775808.0 && f < 18446744073709551616.0)
        return (uint64_t)f;
    return (uint64_t)1 << 63;
}

static inline bool num_nonzero(num v)
{
    return v.kind == NUM_FLOAT ? v.f != 0.0 : v.u != 0;
}

/* ---- narrow float formats ---------------------------------------------- */

/* A binary float format of at most 16 bits. */
typedef struct minifloat {
    int exp_bits, man_bits, bias;
    bool has_inf;    /* IEEE-like: all-ones exponent is inf/NaN */
    bool fn;         /* E4M3FN: only exponent and mantissa all ones is NaN */
    bool uz;         /* FNUZ: no negative zero, 0x80 is the one NaN */
    bool no_nan;     /* float4e2m1: no NaN, no inf */
    double max;      /* largest finite value */
} minifloat;

static const minifloat MF_F16 = {5, 10, 15, true, false, false, false, 65504.0};
static const minifloat MF_BF16 = {8, 7, 127, true, false, false, false, 3.3895313892515355e38};
static const minifloat MF_E4M3FN = {4, 3, 7, false, true, false, false, 448.0};
static const minifloat MF_E4M3FNUZ = {4, 3, 8, false, false, true, false, 240.0};
static const minifloat MF_E5M2 = {5, 2, 15, true, false, false, false, 57344.0};
static const minifloat MF_E5M2FNUZ = {5, 2, 16, false, false, true, false, 57344.0};
static const minifloat MF_E2M1 = {2, 1, 1, false, false, false, true, 6.0};

static uint32_t mf_nan(const minifloat *m, bool neg)
{
    uint32_t sign = neg ? 1u << (m->exp_bits + m->man_bits) : 0u;
    if (m->uz)
        return 0x80u;
    if (m->no_nan) /* what ml_dtypes gives: the zero of the other sign */
        return neg ? 0u : 1u << (m->exp_bits + m->man_bits);
    if (m->fn)
        return sign | ((1u << (m->exp_bits + m->man_bits)) - 1u);
    return sign | (((1u << m->exp_bits) - 1u) << m->man_bits) | (1u << (m->man_bits - 1));
}

/* Bits of a finite non-negative value exactly representable in m. */
static uint32_t mf_pack(const minifloat *m, double a)
{
    int emin = 1 - m->bias;
    if (a == 0.0)
        return 0;
    if (a < ldexp(1.0, emin))
        return (uint32_t)ldexp(a, m->man_bits - emin);
    int e;
    frexp(a, &e);
    e -= 1; /* a = 1.f * 2^e */
    uint32_t man = (uint32_t)ldexp(a, m->man_bits - e) - (1u << m->man_bits);
    return ((uint32_t)(e + m->bias) << m->man_bits) | man;
}

/* Rounds x to m (nearest, ties to even) and returns its bits. With
 * `saturate`, values beyond the range (infinities included) become the
 * largest finite value; otherwise inf where the format has one, else NaN.
 * Formats without NaN or inf always saturate. */
static uint32_t mf_encode(const minifloat *m, double x, bool saturate)
{
    bool neg = signbit(x) != 0;
    uint32_t sign = neg ? 1u << (m->exp_bits + m->man_bits) : 0u;
    if (isnan(x))
        return mf_nan(m, neg);
    double a = fabs(x);
    if (m->no_nan)
        saturate = true;
    if (saturate && a > m->max)
        a = m->max;
    uint32_t bits;
    if (isinf(a)) {
        bits = UINT32_MAX;
    } else {
        int emin = 1 - m->bias, e;
        frexp(a, &e);
        e -= 1;
        if (a == 0.0 || e < emin)
            e = emin;
        double q = ldexp(1.0, e - m->man_bits);
        double r = rint(a / q) * q;
        bits = r > m->max ? UINT32_MAX : mf_pack(m, r);
    }
    if (bits == UINT32_MAX) { /* overflow */
        if (m->has_inf)
            return sign | (((1u << m->exp_bits) - 1u) << m->man_bits);
        return mf_nan(m, neg);
    }
    if (m->uz && bits == 0)
        return 0; /* no negative zero */
    return sign | bits;
}

static double mf_decode(const minifloat *m, uint32_t bits)
{
    uint32_t sign_bit = 1u << (m->exp_bits + m->man_bits);
    uint32_t e = (bits >> m->man_bits) & ((1u << m->exp_bits) - 1u);
    uint32_t man = bits & ((1u << m->man_bits) - 1u);
    bool neg = (bits & sign_bit) != 0;
    if (m->uz && bits == 0x80u)
        return NAN;
    if (m->fn && e == (1u << m->exp_bits) - 1u && man == (1u << m->man_bits) - 1u)
        return neg ? -NAN : NAN;
    if (m->has_inf && e == (1u << m->exp_bits) - 1u)
        return man ? (neg ? -NAN : NAN) : (neg ? -INFINITY : INFINITY);
    double v = e == 0 ? ldexp((double)man, 1 - m->bias - m->man_bits)
                      : ldexp((double)(man | (1u << m->man_bits)), (int)e - m->bias - m->man_bits);
    return neg ? -v : v;
}

/* ---- float8e8m0 -------------------------------------------------------- */

/* The exponent of a float32 as an E8M0 scale, per onnx's to_float8e8m0. */
static uint8_t e8m0_encode(float f, bool saturate, int round_mode)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint32_t e = (bits >> 23) & 0xffu;
    if (e == 0xffu)
        return 0xff;
    bool up = false;
    if (round_mode == ROUND_NEAREST) {
        bool g = (bits & 0x400000u) != 0, r = (bits & 0x200000u) != 0;
        bool s = (bits & 0x1fffffu) != 0, lsb = e > 0;
        up = g && (r || s || lsb);
    } else if (round_mode == ROUND_UP) {
        up = (bits & 0x7fffffu) != 0;
    }
    if (up && saturate && e == 0xfeu)
        up = false;
    return (uint8_t)(e + (up ? 1u : 0u));
}

static double e8m0_decode(uint8_t b)
{
    return b == 0xff ? NAN : ldexp(1.0, (int)b - 127);
}

/* ---- loading and storing one element ----------------------------------- */

static inline uint32_t packed_get(const uint8_t *p, size_t i, unsigned bits)
{
    unsigned per = 8u / bits;
    return (p[i / per] >> ((i % per) * bits)) & ((1u << bits) - 1u);
}

static inline void packed_set(uint8_t *p, size_t i, unsigned bits, uint32_t v)
{
    unsigned per = 8u / bits, shift = (unsigned)(i % per) * bits;
    uint8_t mask = (uint8_t)(((1u << bits) - 1u) << shift);
    p[i / per] = (uint8_t)((p[i / per] & ~mask) | ((v << shift) & mask));
}

static inline int64_t sign_extend(uint32_t v, unsigned bits)
{
    return (int64_t)(v ^ (1u << (bits - 1))) - (int64_t)(1u << (bits - 1));
}

num cpu_load_num(const void *data, uint32_t dt, size_t i)
{
    switch (dt) {
    case EMBER_DTYPE_FLOAT32: return num_float(((const float *)data)[i]);
    case EMBER_DTYPE_FLOAT64: return num_float(((const double *)data)[i]);
    case EMBER_DTYPE_FLOAT16: return num_float(cpu_f16_to_f32(((const uint16_t *)data)[i]));
    case EMBER_DTYPE_BFLOAT16: return num_float(cpu_bf16_to_f32(((const uint16_t *)data)[i]));
    case EMBER_DTYPE_INT8: return num_int(((const int8_t *)data)[i]);
    case EMBER_DTYPE_INT16: return num_int(((const int16_t *)data)[i]);
    case EMBER_DTYPE_INT32: return num_int(((const int32_t *)data)[i]);
    case EMBER_DTYPE_INT64: return num_int(((const int64_t *)data)[i]);
    case EMBER_DTYPE_UINT8:
    case EMBER_DTYPE_BOOL: return num_uint(((const uint8_t *)data)[i]);
    case EMBER_DTYPE_UINT16: return num_uint(((const uint16_t *)data)[i]);
    case EMBER_DTYPE_UINT32: return num_uint(((const uint32_t *)data)[i]);
    case EMBER_DTYPE_UINT64: return num_uint(((const uint64_t *)data)[i]);
    case EMBER_DTYPE_FLOAT8E4M3FN:
        return num_float(mf_decode(&MF_E4M3FN, ((const uint8_t *)data)[i]));
    case EMBER_DTYPE_FLOAT8E4M3FNUZ:
        return num_float(mf_decode(&MF_E4M3FNUZ, ((const uint8_t *)data)[i]));
    case EMBER_DTYPE_FLOAT8E5M2:
        return num_float(mf_decode(&MF_E5M2, ((const uint8_t *)data)[i]));
    case EMBER_DTYPE_FLOAT8E5M2FNUZ:
        return num_float(mf_decode(&MF_E5M2FNUZ, ((const uint8_t *)data)[i]));
    case EMBER_DTYPE_FLOAT8E8M0: return num_float(e8m0_decode(((const uint8_t *)data)[i]));
    case EMBER_DTYPE_FLOAT4E2M1: return num_float(mf_decode(&MF_E2M1, packed_get(data, i, 4)));
    case EMBER_DTYPE_UINT4: return num_uint(packed_get(data, i, 4));
    case EMBER_DTYPE_INT4: return num_int(sign_extend(packed_get(data, i, 4), 4));
    case EMBER_DTYPE_UINT2: return num_uint(packed_get(data, i, 2));
    case EMBER_DTYPE_INT2: return num_int(sign_extend(packed_get(data, i, 2), 2));
    default: return num_int(0);
    }
}

/* A narrow float: from a float32-exact value the fast converters apply. */
static uint16_t store_half(const cast_spec *c, num v, bool bf16)
{
    if (c->exact_float || v.kind != NUM_FLOAT) {
        float f = num_as_float(v);
        if (v.kind == NUM_FLOAT || (double)f == num_as_double(v))
            return bf16 ? cpu_f32_to_bf16(f) : cpu_f32_to_f16(f);
    }
    return (uint16_t)mf_encode(bf16 ? &MF_BF16 : &MF_F16, num_as_double(v), false);
}

void cpu_store_num(const cast_spec *c, void *data, size_t i, num v)
{
    switch (c->to) {
    case EMBER_DTYPE_FLOAT32: ((float *)data)[i] = num_as_float(v); break;
    case EMBER_DTYPE_FLOAT64: ((double *)data)[i] = num_as_double(v); break;
    case EMBER_DTYPE_FLOAT16: ((uint16_t *)data)[i] = store_half(c, v, false); break;
    case EMBER_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = store_half(c, v, true); break;
    case EMBER_DTYPE_BOOL: ((uint8_t *)data)[i] = num_nonzero(v); break;
    case EMBER_DTYPE_INT8:
    case EMBER_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)num_bits(v); break;
    case EMBER_DTYPE_INT16:
    case EMBER_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)num_bits(v); break;
    case EMBER_DTYPE_INT32:
    case EMBER_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)num_bits(v); break;
    case EMBER_DTYPE_INT64:
    case EMBER_DTYPE_UINT64: ((uint64_t *)data)[i] = num_bits(v); break;
    case EMBER_DTYPE_FLOAT8E4M3FN:
        ((uint8_t *)data)[i] = (uint8_t)mf_encode(&MF_E4M3FN, num_as_double(v), c->saturate);
        break;
    case EMBER_DTYPE_FLOAT8E4M3FNUZ:
        ((uint8_t *)data)[i] = (uint8_t)mf_encode(&MF_E4M3FNUZ, num_as_double(v), c->saturate);
        break;
    case EMBER_DTYPE_FLOAT8E5M2:
        ((uint8_t *)data)[i] = (uint8_t)mf_encode(&MF_E5M2, num_as_double(v), c->saturate);
        break;
    case EMBER_DTYPE_FLOAT8E5M2FNUZ:
        ((uint8_t *)data)[i] = (uint8_t)mf_encode(&MF_E5M2FNUZ, num_as_double(v), c->saturate);
        break;
    case EMBER_DTYPE_FLOAT8E8M0:
        ((uint8_t *)data)[i] = e8m0_encode(num_as_float(v), c->saturate, c->round_mode);
        break;
    case EMBER_DTYPE_FLOAT4E2M1:
        packed_set(data, i, 4, mf_encode(&MF_E2M1, num_as_double(v), true));
        break;
    case EMBER_DTYPE_UINT4:
    case EMBER_DTYPE_INT4: packed_set(data, i, 4, (uint32_t)num_bits(v) & 0xfu); break;
    case EMBER_DTYPE_UINT2:
    case EMBER_DTYPE_INT2: packed_set(data, i, 2, (uint32_t)num_bits(v) & 0x3u); break;
    default: break;
    }
}

static bool is_packed(uint32_t dt)
{
    return dt == EMBER_DTYPE_UINT4 || dt == EMBER_DTYPE_INT4 || dt == EMBER_DTYPE_FLOAT4E2M1 ||
           dt == EMBER_DTYPE_UINT2 || dt == EMBER_DTYPE_INT2;
}

static bool is_castable(uint32_t dt)
{
    return dt != EMBER_DTYPE_UNDEFINED && dt <= EMBER_DTYPE_INT2 &&
           dt != EMBER_DTYPE_COMPLEX64 && dt != EMBER_DTYPE_COMPLEX128;
}

static bool is_integer(uint32_t dt)
{
    return (CPU_DT(dt) & (CPU_DT_SIGNED | CPU_DT_UNSIGNED)) != 0 || dt == EMBER_DTYPE_BOOL ||
           dt == EMBER_DTYPE_INT4 || dt == EMBER_DTYPE_UINT4 || dt == EMBER_DTYPE_INT2 ||
           dt == EMBER_DTYPE_UINT2;
}

/* Bytes of n elements of a fixed-size or packed dtype. */
static size_t storage_bytes(uint32_t dt, size_t n)
{
    if (dt == EMBER_DTYPE_UINT2 || dt == EMBER_DTYPE_INT2)
        return (n + 3) / 4;
    if (is_packed(dt))
        return (n + 1) / 2;
    return n * cpu_dtype_size(dt);
}

/* ---- numbers and strings ----------------------------------------------- */

/* Writes v as "%.*e" with the fewest digits that read back as v (checked
 * with `same`, at most max_prec after the point); returns that count. */
static int shortest_exp(double v, int max_prec, bool (*same)(double, const char *), char *buf,
                        size_t cap)
{
    for (int p = 0; p < max_prec; p++) {
        snprintf(buf, cap, "%.*e", p, v);
        if (same(v, buf))
            return p;
    }
    snprintf(buf, cap, "%.*e", max_prec, v);
    return max_prec;
}

static bool same_f64(double v, const char *s)
{
    return strtod(s, NULL) == v;
}

static bool same_f32(double v, const char *s)
{
    return strtof(s, NULL) == (float)v;
}

static bool same_f16(double v, const char *s)
{
    return cpu_f32_to_f16((float)strtod(s, NULL)) == cpu_f32_to_f16((float)v);
}

/* numpy's str() of a float: shortest round-trip digits, positional for
 * 1e-4 <= |v| < a limit that depends on the type (1e3 for float16, 1e6 for
 * float32, 1e16 for float64): "1.0", "0.001"; scientific otherwise: "1e+16",
 * "1.5e-05". */
static void format_float(double v, uint32_t dt, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0.0) {
        snprintf(out, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char sci[32];
    bool (*same)(double, const char *) = dt == EMBER_DTYPE_FLOAT64 ? same_f64
                                         : dt == EMBER_DTYPE_FLOAT16 ? same_f16
                                                                     : same_f32;
    int max_prec = dt == EMBER_DTYPE_FLOAT64 ? 16 : dt == EMBER_DTYPE_FLOAT16 ? 4 : 8;
    double limit = dt == EMBER_DTYPE_FLOAT64 ? 1e16 : dt == EMBER_DTYPE_FLOAT16 ? 1e3 : 1e6;
    int prec = shortest_exp(v, max_prec, same, sci, sizeof sci);
    char *e = strchr(sci, 'e');
    int exp10 = e != NULL ? atoi(e + 1) : 0;
    double a = fabs(v);
    if (a >= 1e-4 && a < limit) {
        int decimals = prec - exp10;
        if (decimals < 1)
            decimals = 1;
        snprintf(out, cap, "%.*f", decimals, v);
        /* drop trailing zeros beyond the one after the point */
        size_t len = strlen(out);
        while (len > 2 && out[len - 1] == '0' && out[len - 2] != '.')
            out[--len] = '\0';
        return;
    }
    if (e != NULL)
        *e = '\0';
    snprintf(out, cap, "%se%c%02d", sci, exp10 < 0 ? '-' : '+', abs(exp10));
}

static void format_num(num v, uint32_t from, char *out, size_t cap)
{
    if (from == EMBER_DTYPE_BOOL)
        snprintf(out, cap, "%s", v.u ? "True" : "False");
    else if (v.kind == NUM_INT)
        snprintf(out, cap, "%lld", (long long)v.i);
    else if (v.kind == NUM_UINT)
        snprintf(out, cap, "%llu", (unsigned long long)v.u);
    else
        format_float(v.f, from, out, cap);
}

/* A number from a string: an integer when the whole string is one (so
 * large int64 values stay exact), else strtod's reading ("1e-5", "inf",
 * "NaN"), else "True"/"False", else 0. */
static num parse_num(ember_string s)
{
    char buf[128];
    size_t n = s.size < sizeof buf - 1 ? s.size : sizeof buf - 1;
    memcpy(buf, s.data, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long long iv = strtoll(buf, &end, 10);
    if (end != buf && *end == '\0' && errno == 0)
        return num_int(iv);
    errno = 0;
    double d = strtod(buf, &end);
    if (end != buf)
        return num_float(d);
    if (strcmp(buf, "True") == 0 || strcmp(buf, "true") == 0)
        return num_int(1);
    return num_int(0);
}

/* ---- Cast kernel ------------------------------------------------------- */

typedef struct cast_params {
    uint32_t to;     /* 0 for CastLike: input 1's dtype */
    bool saturate;
    int round_mode;
} cast_params;

/* Direct loops for common pairs whose C conversion is exact or rounds as
 * the spec says (never float to integer, which C leaves undefined out of
 * range): elements [lo, hi). */
typedef void (*cast_fast_fn)(const void *in, void *out, size_t lo, size_t hi);

#define DEFINE_FAST(NAME, S, D, CONV)                                                      \
    static void NAME(const void *pin, void *pout, size_t lo, size_t hi)                    \
    {                                                                                      \
        const S *in = pin;                                                                 \
        D *out = pout;                                                                     \
        for (size_t i = lo; i < hi; i++)                                                   \
            out[i] = CONV(in[i]);                                                          \
    }

#define PLAIN(x) (x)
#define TO_BOOL(x) ((x) != 0)

DEFINE_FAST(fast_f32_f64, float, double, PLAIN)
DEFINE_FAST(fast_f64_f32, double, float, PLAIN)
DEFINE_FAST(fast_f32_f16, float, uint16_t, cpu_f32_to_f16)
DEFINE_FAST(fast_f16_f32, uint16_t, float, cpu_f16_to_f32)
DEFINE_FAST(fast_f32_bf16, float, uint16_t, cpu_f32_to_bf16)
DEFINE_FAST(fast_bf16_f32, uint16_t, float, cpu_bf16_to_f32)
DEFINE_FAST(fast_i64_f32, int64_t, float, PLAIN)
DEFINE_FAST(fast_i32_f32, int32_t, float, PLAIN)
DEFINE_FAST(fast_u8_f32, uint8_t, float, PLAIN)
DEFINE_FAST(fast_i64_f64, int64_t, double, PLAIN)
DEFINE_FAST(fast_i32_i64, int32_t, int64_t, PLAIN)
DEFINE_FAST(fast_i64_i32, int64_t, int32_t, (int32_t)(uint32_t))
DEFINE_FAST(fast_f32_bool, float, uint8_t, TO_BOOL)
DEFINE_FAST(fast_i64_bool, int64_t, uint8_t, TO_BOOL)

static const struct {
    uint32_t from, to;
    cast_fast_fn fn;
} cast_fast[] = {
    {EMBER_DTYPE_FLOAT32, EMBER_DTYPE_FLOAT64, fast_f32_f64},
    {EMBER_DTYPE_FLOAT64, EMBER_DTYPE_FLOAT32, fast_f64_f32},
    {EMBER_DTYPE_FLOAT32, EMBER_DTYPE_FLOAT16, fast_f32_f16},
    {EMBER_DTYPE_FLOAT16, EMBER_DTYPE_FLOAT32, fast_f16_f32},
    {EMBER_DTYPE_FLOAT32, EMBER_DTYPE_BFLOAT16, fast_f32_bf16},
    {EMBER_DTYPE_BFLOAT16, EMBER_DTYPE_FLOAT32, fast_bf16_f32},
    {EMBER_DTYPE_INT64, EMBER_DTYPE_FLOAT32, fast_i64_f32},
    {EMBER_DTYPE_INT32, EMBER_DTYPE_FLOAT32, fast_i32_f32},
    {EMBER_DTYPE_UINT8, EMBER_DTYPE_FLOAT32, fast_u8_f32},
    {EMBER_DTYPE_BOOL, EMBER_DTYPE_FLOAT32, fast_u8_f32},
    {EMBER_DTYPE_INT64, EMBER_DTYPE_FLOAT64, fast_i64_f64},
    {EMBER_DTYPE_INT32, EMBER_DTYPE_INT64, fast_i32_i64},
    {EMBER_DTYPE_INT64, EMBER_DTYPE_INT32, fast_i64_i32},
    {EMBER_DTYPE_FLOAT32, EMBER_DTYPE_BOOL, fast_f32_bool},
    {EMBER_DTYPE_INT64, EMBER_DTYPE_BOOL, fast_i64_bool},
};

static cast_fast_fn find_fast(uint32_t from, uint32_t to)
{
    for (size_t i = 0; i < sizeof cast_fast / sizeof cast_fast[0]; i++)
        if (cast_fast[i].from == from && cast_fast[i].to == to)
            return cast_fast[i].fn;
    return NULL;
}

typedef struct cast_work {
    cast_spec spec;
    cast_fast_fn fast; /* NULL: the generic path */
    const void *in;
    void *out;
    size_t n;
} cast_work;

static void cast_range(void *arg, size_t begin, size_t end)
{
    const cast_work *w = arg;
    size_t lo = begin * CAST_CHUNK, hi = end * CAST_CHUNK < w->n ? end * CAST_CHUNK : w->n;
    if (w->fast != NULL) {
        w->fast(w->in, w->out, lo, hi);
        return;
    }
    for (size_t i = lo; i < hi; i++)
        cpu_store_num(&w->spec, w->out, i, cpu_load_num(w->in, w->spec.from, i));
}

static ember_status cast_strings(const cpu_kernel *k, const cast_spec *c, const ember_tensor *x,
                                 ember_tensor *y, size_t n)
{
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        ember_status s = EMBER_OK;
        if (c->from == EMBER_DTYPE_STRING && c->to == EMBER_DTYPE_STRING) {
            const ember_string *e = (const ember_string *)x->data + i;
            s = k->host->tensor_set_string(y, i, e->data, e->size);
        } else if (c->from == EMBER_DTYPE_STRING) {
            cpu_store_num(c, y->data, i, parse_num(((const ember_string *)x->data)[i]));
        } else {
            format_num(cpu_load_num(x->data, c->from, i), c->from, buf, sizeof buf);
            s = k->host->tensor_set_string(y, i, buf, strlen(buf));
        }
        if (s != EMBER_OK)
            return s;
    }
    return EMBER_OK;
}

static ember_status cast_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const cast_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    cast_spec c = {0, p->to, p->saturate, p->round_mode, false};
    if (s == EMBER_OK && c.to == 0) { /* CastLike */
        const ember_tensor *like;
        s = cpu_input(k, ctx, 1, &like);
        if (s == EMBER_OK)
            c.to = like->dtype;
    }
    if (s != EMBER_OK)
        return s;
    c.from = x->dtype;
    if (!is_castable(c.from))
        return cpu_fail_dtype(k, 0, c.from);
    if (!is_castable(c.to))
        return cpu_fail_dtype(k, 1, c.to);
    c.exact_float = c.from != EMBER_DTYPE_FLOAT64 && !is_integer(c.from);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, c.to, x->dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(x);
    if (c.from == EMBER_DTYPE_STRING || c.to == EMBER_DTYPE_STRING)
        return cast_strings(k, &c, x, y, n);
    if (c.from == c.to) {
        memcpy(y->data, x->data, storage_bytes(c.to, n));
        return EMBER_OK;
    }
    if (is_packed(c.to))
        memset(y->data, 0, storage_bytes(c.to, n));
    cast_work w = {c, find_fast(c.from, c.to), x->data, y->data, n};
    cpu_parallel(ctx, k, (n + CAST_CHUNK - 1) / CAST_CHUNK, n * 4, cast_range, &w);
    return EMBER_OK;
}

/* The `to` attribute: an int (opset 6 on) or a type name (opset 1). */
static ember_status cast_decode_to(cpu_kernel *k, const ember_node *node, uint32_t *to)
{
    static const char *const names[] = {
        [EMBER_DTYPE_FLOAT32] = "FLOAT",   [EMBER_DTYPE_UINT8] = "UINT8",
        [EMBER_DTYPE_INT8] = "INT8",       [EMBER_DTYPE_UINT16] = "UINT16",
        [EMBER_DTYPE_INT16] = "INT16",     [EMBER_DTYPE_INT32] = "INT32",
        [EMBER_DTYPE_INT64] = "INT64",     [EMBER_DTYPE_STRING] = "STRING",
        [EMBER_DTYPE_BOOL] = "BOOL",       [EMBER_DTYPE_FLOAT16] = "FLOAT16",
        [EMBER_DTYPE_FLOAT64] = "DOUBLE",  [EMBER_DTYPE_UINT32] = "UINT32",
        [EMBER_DTYPE_UINT64] = "UINT64",   [EMBER_DTYPE_BFLOAT16] = "BFLOAT16",
    };
    ember_attr a;
    int64_t v = -1;
    if (!k->host->node_attr(node, "to", &a))
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute 'to' is missing",
                             k->name, k->op);
    if (a.type == EMBER_ATTR_INT) {
        v = a.i;
    } else if (a.type == EMBER_ATTR_STRING) {
        for (size_t t = 0; t < sizeof names / sizeof names[0]; t++)
            if (names[t] != NULL && strlen(names[t]) == a.s.size &&
                memcmp(names[t], a.s.data, a.s.size) == 0)
                v = (int64_t)t;
    }
    if (v < 0 || v > EMBER_DTYPE_INT2 || !is_castable((uint32_t)v))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'to' names no supported type", k->name,
                             k->op);
    *to = (uint32_t)v;
    return EMBER_OK;
}

static ember_status cast_decode_round(cpu_kernel *k, const ember_node *node, int *mode)
{
    char buf[16];
    ember_status s = cpu_attr_string(k, node, "round_mode", "up", buf, sizeof buf);
    if (s != EMBER_OK)
        return s;
    if (strcmp(buf, "up") == 0)
        *mode = ROUND_UP;
    else if (strcmp(buf, "down") == 0)
        *mode = ROUND_DOWN;
    else if (strcmp(buf, "nearest") == 0)
        *mode = ROUND_NEAREST;
    else
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'round_mode' is '%s', expected up, "
                             "down or nearest", k->name, k->op, buf);
    return EMBER_OK;
}

static ember_status create_cast(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(cast_params));
    if (s != EMBER_OK)
        return s;
    cast_params *p = k->params;
    int64_t saturate = 1;
    if (strcmp(k->op, "Cast") == 0)
        s = cast_decode_to(k, node, &p->to);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "saturate", 1, &saturate);
    if (s == EMBER_OK)
        s = cast_decode_round(k, node, &p->round_mode);
    p->saturate = saturate != 0;
    k->run = cast_run;
    return s;
}

static bool check_cast(const ember_host_api *host, const ember_node *node)
{
    ember_type_info t;
    for (size_t i = 0; i < host->node_input_count(node) && i < 2; i++)
        if (host->node_input_type(node, i, &t) && t.dtype != EMBER_DTYPE_UNDEFINED &&
            !is_castable(t.dtype))
            return false;
    return true;
}

/* ---- BitCast ----------------------------------------------------------- */

/* Bits per element of the types BitCast reinterprets. */
static size_t bit_width(uint32_t dt)
{
    if (dt == EMBER_DTYPE_UINT2 || dt == EMBER_DTYPE_INT2)
        return 2;
    if (is_packed(dt))
        return 4;
    return dt == EMBER_DTYPE_STRING ? 0 : cpu_dtype_size(dt) * 8;
}

static ember_status bitcast_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const cast_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (bit_width(x->dtype) == 0 || bit_width(x->dtype) != bit_width(p->to))
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input 0 has type %s, whose width differs from "
                             "the target type %s", k->name, k->op, cpu_dtype_name(x->dtype),
                             cpu_dtype_name(p->to));
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, p->to, x->dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(x);
    memcpy(y->data, x->data, storage_bytes(p->to, n));
    if (p->to == EMBER_DTYPE_BOOL) /* keep bools 0 or 1 */
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)y->data)[i] = ((uint8_t *)y->data)[i] != 0;
    return EMBER_OK;
}

static ember_status create_bitcast(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(cast_params));
    if (s != EMBER_OK)
        return s;
    cast_params *p = k->params;
    k->run = bitcast_run;
    s = cast_decode_to(k, node, &p->to);
    if (s == EMBER_OK && bit_width(p->to) == 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'to' is a type BitCast cannot produce",
                             k->name, k->op);
    return s;
}

const cpu_op_entry cpu_ops_cast[] = {
    {"Cast", 1, CPU_OPSET_MAX, check_cast, create_cast},
    {"CastLike", 15, CPU_OPSET_MAX, check_cast, create_cast},
    {"BitCast", 26, CPU_OPSET_MAX, NULL, create_bitcast},
    {NULL, 0, 0, NULL, NULL},
};
