/*
 * The engine of the elementwise math family (kernels_math.c creates the
 * kernels and runs them through it): element access by compute domain, the
 * n-way broadcast and its odometer, the element functions of the unary
 * ops, the n-ary folds, the comparisons, the logical ops and Where, and the
 * typed float32 rows (cpu_choose_row). Every call in the inner loops stays in
 * this file.
 */
#include "kernels_math.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- element access ---------------------------------------------------- */

int cpu_dtype_class(uint32_t dtype)
{
    uint32_t bit = dtype < 32 ? CPU_DT(dtype) : 0;
    if (bit & CPU_DT_FLOATS)
        return CL_FLOAT;
    if (bit & CPU_DT_SIGNED)
        return CL_SIGNED;
    if (bit & CPU_DT_UNSIGNED)
        return CL_UNSIGNED;
    if (bit & DT_BOOL)
        return CL_BOOL;
    if (bit & DT_STRING)
        return CL_STRING;
    return cpu_dtype_size(dtype) > 0 ? CL_BYTES : CL_NONE;
}

static int64_t load_signed(const void *p, uint32_t dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_INT8: return *(const int8_t *)p;
    case EMBER_DTYPE_INT16: return *(const int16_t *)p;
    case EMBER_DTYPE_INT32: return *(const int32_t *)p;
    case EMBER_DTYPE_INT64: return *(const int64_t *)p;
    case EMBER_DTYPE_BOOL: return *(const uint8_t *)p != 0;
    default: return (int64_t)0;
    }
}

static uint64_t load_unsigned(const void *p, uint32_t dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_UINT8: return *(const uint8_t *)p;
    case EMBER_DTYPE_UINT16: return *(const uint16_t *)p;
    case EMBER_DTYPE_UINT32: return *(const uint32_t *)p;
    case EMBER_DTYPE_UINT64: return *(const uint64_t *)p;
    default: return (uint64_t)load_signed(p, dtype);
    }
}

/* Any numeric element as a double. */
static double load_double(const void *p, uint32_t dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return *(const float *)p;
    case EMBER_DTYPE_FLOAT64: return *(const double *)p;
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(*(const uint16_t *)p);
    case EMBER_DTYPE_BFLOAT16: return cpu_bf16_to_f32(*(const uint16_t *)p);
    case EMBER_DTYPE_UINT8:
    case EMBER_DTYPE_UINT16:
    case EMBER_DTYPE_UINT32:
    case EMBER_DTYPE_UINT64: return (double)load_unsigned(p, dtype);
    default: return (double)load_signed(p, dtype);
    }
}

/* Stores the low bits of v into an integer or bool element. */
static void store_bits(void *p, uint32_t dtype, uint64_t v)
{
    switch (cpu_dtype_size(dtype)) {
    case 1: *(uint8_t *)p = dtype == EMBER_DTYPE_BOOL ? (uint8_t)(v != 0) : (uint8_t)v; break;
    case 2: *(uint16_t *)p = (uint16_t)v; break;
    case 4: *(uint32_t *)p = (uint32_t)v; break;
    default: *(uint64_t *)p = v; break;
    }
}

/* A double converted to an integer as numpy's astype does on x86: out of
 * range and NaN give the most negative value. */
static uint64_t double_to_bits(double v, uint32_t dtype)
{
    if (cpu_dtype_class(dtype) == CL_UNSIGNED && v >= 0.0 && v < 18446744073709551616.0)
        return (uint64_t)v;
    if (v >= -9223372036854775808.0 && v < 9223372036854775808.0)
        return (uint64_t)(int64_t)v;
    return (uint64_t)1 << 63;
}

static void store_double(void *p, uint32_t dtype, double v)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: *(float *)p = (float)v; break;
    case EMBER_DTYPE_FLOAT64: *(double *)p = v; break;
    case EMBER_DTYPE_FLOAT16: *(uint16_t *)p = cpu_f32_to_f16((float)v); break;
    case EMBER_DTYPE_BFLOAT16: *(uint16_t *)p = cpu_f32_to_bf16((float)v); break;
    default: store_bits(p, dtype, double_to_bits(v, dtype)); break;
    }
}

/* ---- the n-way broadcast and the job ----------------------------------- */

bool cpu_nway_init(math_job *j, const int64_t *const *dims, const size_t *ranks,
                   int64_t *out_dims, size_t *out_rank)
{
    size_t rank = 0;
    for (size_t i = 0; i < j->n_in; i++)
        rank = ranks[i] > rank ? ranks[i] : rank;
    if (rank > CPU_MAX_RANK)
        return false;
    int64_t strides[MATH_MAX_INPUTS][CPU_MAX_RANK];
    for (size_t i = 0; i < j->n_in; i++) {
        int64_t stride = 1;
        for (size_t d = rank; d-- > 0;) {
            size_t pad = rank - ranks[i];
            int64_t di = d >= pad ? dims[i][d - pad] : 1;
            if (i == 0)
                out_dims[d] = di;
            else if (di != out_dims[d] && di != 1 && out_dims[d] != 1)
                return false;
            else if (out_dims[d] == 1)
                out_dims[d] = di;
            strides[i][d] = di == 1 ? 0 : stride;
            stride *= di;
        }
    }
    *out_rank = rank;
    j->n_out = cpu_numel(out_dims, rank);
    j->rank = 0;
    for (size_t d = 0; d < rank; d++) {
        if (out_dims[d] == 1)
            continue;
        size_t r = j->rank;
        bool merge = r > 0;
        for (size_t i = 0; merge && i < j->n_in; i++)
            merge = strides[i][d] * out_dims[d] == j->strides[i][r - 1];
        if (!merge)
            j->dims[j->rank++] = 1;
        j->dims[j->rank - 1] *= out_dims[d];
        for (size_t i = 0; i < j->n_in; i++)
            j->strides[i][j->rank - 1] = strides[i][d];
    }
    if (j->rank == 0) {
        j->rank = 1;
        j->dims[0] = 1;
        for (size_t i = 0; i < j->n_in; i++)
            j->strides[i][0] = 0;
    }
    return true;
}

/* Moves the odometer `len` elements along the innermost dim (never past
 * its end) and carries into the outer dims. */
static void odometer_step(const math_job *j, size_t *idx, size_t *off, size_t len)
{
    size_t d = j->rank - 1;
    idx[d] += len;
    for (size_t i = 0; i < j->n_in; i++)
        off[i] += len * (size_t)j->strides[i][d];
    while (idx[d] == (size_t)j->dims[d] && d > 0) {
        for (size_t i = 0; i < j->n_in; i++)
            off[i] -= (size_t)j->strides[i][d] * (size_t)j->dims[d];
        idx[d] = 0;
        d--;
        idx[d]++;
        for (size_t i = 0; i < j->n_in; i++)
            off[i] += (size_t)j->strides[i][d];
    }
}

void cpu_math_range(void *arg, size_t begin, size_t end)
{
    const math_job *j = arg;
    size_t off[MATH_MAX_INPUTS], idx[CPU_MAX_RANK];
    size_t last = j->rank - 1;
    for (size_t piece = begin; piece < end; piece++) {
        size_t start = piece * MATH_PIECE;
        size_t stop = start + MATH_PIECE < j->n_out ? start + MATH_PIECE : j->n_out;
        size_t rest = start;
        for (size_t i = 0; i < j->n_in; i++)
            off[i] = 0;
        for (size_t d = j->rank; d-- > 0;) {
            idx[d] = rest % (size_t)j->dims[d];
            rest /= (size_t)j->dims[d];
            for (size_t i = 0; i < j->n_in; i++)
                off[i] += idx[d] * (size_t)j->strides[i][d];
        }
        for (size_t e = start; e < stop;) {
            size_t len = (size_t)j->dims[last] - idx[last];
            len = len < stop - e ? len : stop - e;
            j->row(j, off, e, len);
            odometer_step(j, idx, off, len);
            e += len;
        }
    }
}

/* The row function of every op without a typed one: element by element. */
static void generic_row(const math_job *j, const size_t *off, size_t index, size_t len)
{
    size_t o[MATH_MAX_INPUTS];
    size_t last = j->rank - 1;
    memcpy(o, off, j->n_in * sizeof *o);
    for (size_t t = 0; t < len; t++) {
        j->fn(j, o, index + t);
        for (size_t i = 0; i < j->n_in; i++)
            o[i] += (size_t)j->strides[i][last];
    }
}

static inline const void *elem_in(const math_job *j, size_t i, const size_t *off)
{
    return j->in[i] + off[i] * j->esize[i];
}

static inline void *elem_out(const math_job *j, size_t index)
{
    return j->out + index * j->out_esize;
}

/* ---- unary ------------------------------------------------------------- */

static double unary_double(const math_params *p, double x)
{
    switch (p->info->op) {
    case OP_ABS: return fabs(x);
    case OP_NEG: return -x;
    case OP_EXP: return exp(x);
    case OP_LOG: return log(x);
    case OP_SQRT: return sqrt(x);
    case OP_RECIP: return 1.0 / x;
    case OP_CEIL: return ceil(x);
    case OP_FLOOR: return floor(x);
    case OP_ROUND: return nearbyint(x); /* ties to even in the default mode */
    case OP_SIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
    case OP_SIN: return sin(x);
    case OP_COS: return cos(x);
    case OP_TAN: return tan(x);
    case OP_ASIN: return asin(x);
    case OP_ACOS: return acos(x);
    case OP_ATAN: return atan(x);
    case OP_SINH: return sinh(x);
    case OP_COSH: return cosh(x);
    case OP_ASINH: return asinh(x);
    case OP_ACOSH: return acosh(x);
    case OP_ATANH: return atanh(x);
    case OP_ERF: return erf(x);
    default: return x;
    }
}

/* Integer unary ops in uint64_t arithmetic (wrapping). */
static uint64_t unary_bits(const math_params *p, int cls, uint64_t x)
{
    bool negative = cls == CL_SIGNED && (int64_t)x < 0;
    switch (p->info->op) {
    case OP_ABS: return negative ? 0u - x : x;
    case OP_NEG: return 0u - x;
    case OP_SIGN: return negative ? (uint64_t)-1 : x != 0;
    case OP_BNOT: return ~x;
    case OP_NOT: return x == 0;
    default: return x;
    }
}

void cpu_unary_elem(const math_job *j, const size_t *off, size_t index)
{
    const void *x = elem_in(j, 0, off);
    void *y = elem_out(j, index);
    uint32_t dt = j->dtype[0];
    if (j->cls != CL_FLOAT) {
        uint64_t v = j->cls == CL_UNSIGNED ? load_unsigned(x, dt) : (uint64_t)load_signed(x, dt);
        store_bits(y, dt, unary_bits(j->p, j->cls, v));
        return;
    }
    double v = load_double(x, dt);
    if (j->p->info->op == OP_ISNAN)
        *(uint8_t *)y = isnan(v) != 0;
    else if (j->p->info->op == OP_ISINF)
        *(uint8_t *)y = isinf(v) && (v > 0 ? j->p->detect_pos : j->p->detect_neg);
    else
        store_double(y, dt, unary_double(j->p, v));
}

/* ---- n-ary folds ------------------------------------------------------- */

/* numpy's float mod: the result takes the divisor's sign. */
static double mod_double(double a, double b, bool c_fmod)
{
    double r = fmod(a, b);
    if (c_fmod || b == 0.0 || isnan(r))
        return r;
    if (r != 0.0)
        return (b < 0) != (r < 0) ? r + b : r;
    return copysign(0.0, b);
}

static double fold_double(const math_params *p, double a, double b)
{
    switch (p->info->op) {
    case OP_POW: return pow(a, b);
    case OP_MOD: return mod_double(a, b, p->fmod);
    case OP_MAX: return isnan(a) || isnan(b) ? a + b : a > b ? a : b;
    case OP_MIN: return isnan(a) || isnan(b) ? a + b : a < b ? a : b;
    case OP_PRELU: return a < 0 ? a * b : a;
    default: return a + b; /* Sum, Mean */
    }
}

/* Integer power by squaring (wrapping); negative exponents truncate
 * 1/a^-b toward zero. */
static int64_t pow_int(int64_t a, int64_t b)
{
    if (b < 0)
        return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
    uint64_t r = 1, base = (uint64_t)a;
    for (uint64_t e = (uint64_t)b; e; e >>= 1) {
        if (e & 1)
            r *= base;
        base *= base;
    }
    return (int64_t)r;
}

static int64_t shift_signed(const math_params *p, int64_t a, int64_t b, size_t bits)
{
    if (b < 0 || b >= (int64_t)bits)
        return p->shift_left ? 0 : (a < 0 ? -1 : 0);
    if (p->shift_left)
        return (int64_t)((uint64_t)a << b);
    return a >= 0 ? a >> b : ~(~a >> b); /* arithmetic shift */
}

static int64_t fold_signed(const math_params *p, int64_t a, int64_t b, size_t bits)
{
    switch (p->info->op) {
    case OP_POW: return pow_int(a, b);
    case OP_MOD: {
        if (b == 0)
            return 0;
        if (b == -1)
            return 0;
        int64_t r = a % b;
        return !p->fmod && r != 0 && (r < 0) != (b < 0) ? r + b : r;
    }
    case OP_MAX: return a > b ? a : b;
    case OP_MIN: return a < b ? a : b;
    case OP_PRELU: return a < 0 ? (int64_t)((uint64_t)a * (uint64_t)b) : a;
    case OP_SHIFT: return shift_signed(p, a, b, bits);
    case OP_BAND: return a & b;
    case OP_BOR: return a | b;
    case OP_BXOR: return a ^ b;
    default: return (int64_t)((uint64_t)a + (uint64_t)b);
    }
}

static uint64_t fold_unsigned(const math_params *p, uint64_t a, uint64_t b, size_t bits)
{
    switch (p->info->op) {
    case OP_POW: return (uint64_t)pow_int((int64_t)a, b > INT64_MAX ? INT64_MAX : (int64_t)b);
    case OP_MOD: return b == 0 ? 0 : a % b;
    case OP_MAX: return a > b ? a : b;
    case OP_MIN: return a < b ? a : b;
    case OP_PRELU: return a;
    case OP_SHIFT:
        if (b >= bits)
            return 0;
        return p->shift_left ? a << b : a >> b;
    case OP_BAND: return a & b;
    case OP_BOR: return a | b;
    case OP_BXOR: return a ^ b;
    default: return a + b;
    }
}

/* Pow with an integer base and a float exponent, or a float base: numpy
 * computes in the wider type and casts back to the base's type. */
static bool pow_through_double(const math_job *j)
{
    return j->p->info->op == OP_POW &&
           (j->cls == CL_FLOAT || cpu_dtype_class(j->dtype[1]) == CL_FLOAT);
}

void cpu_fold_elem(const math_job *j, const size_t *off, size_t index)
{
    void *y = elem_out(j, index);
    uint32_t dt = j->dtype[0];
    size_t bits = 8 * j->esize[0];
    if (j->cls == CL_FLOAT || pow_through_double(j)) {
        double acc = load_double(elem_in(j, 0, off), dt);
        for (size_t i = 1; i < j->n_in; i++)
            acc = fold_double(j->p, acc, load_double(elem_in(j, i, off), j->dtype[i]));
        if (j->p->info->op == OP_MEAN)
            acc /= (double)j->n_in;
        store_double(y, dt, acc);
    } else if (j->cls == CL_SIGNED) {
        int64_t acc = load_signed(elem_in(j, 0, off), dt);
        for (size_t i = 1; i < j->n_in; i++) {
            const void *b = elem_in(j, i, off);
            int64_t v = cpu_dtype_class(j->dtype[i]) == CL_UNSIGNED
                            ? (int64_t)load_unsigned(b, j->dtype[i])
                            : load_signed(b, j->dtype[i]);
            acc = fold_signed(j->p, acc, v, bits);
        }
        store_bits(y, dt, (uint64_t)acc);
    } else {
        uint64_t acc = load_unsigned(elem_in(j, 0, off), dt);
        for (size_t i = 1; i < j->n_in; i++)
            acc = fold_unsigned(j->p, acc, load_unsigned(elem_in(j, i, off), j->dtype[i]), bits);
        store_bits(y, dt, acc);
    }
}

/* ---- comparisons, logic, Where ----------------------------------------- */

/* -1, 0 or 1; 2 when unordered (a NaN). */
static int compare_elems(const math_job *j, const void *a, const void *b)
{
    uint32_t dt = j->dtype[0];
    if (j->cls == CL_FLOAT) {
        double x = load_double(a, dt), y = load_double(b, dt);
        return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
    }
    if (j->cls == CL_UNSIGNED) {
        uint64_t x = load_unsigned(a, dt), y = load_unsigned(b, dt);
        return x < y ? -1 : x > y;
    }
    if (j->cls == CL_STRING) {
        const ember_string *x = a, *y = b;
        return x->size == y->size && (x->size == 0 || memcmp(x->data, y->data, x->size) == 0)
                   ? 0
                   : 2;
    }
    int64_t x = load_signed(a, dt), y = load_signed(b, dt);
    return x < y ? -1 : x > y;
}

void cpu_compare_elem(const math_job *j, const size_t *off, size_t index)
{
    int c = compare_elems(j, elem_in(j, 0, off), elem_in(j, 1, off));
    bool r;
    switch (j->p->info->op) {
    case OP_EQ: r = c == 0; break;
    case OP_GT: r = c == 1; break;
    case OP_GE: r = c == 1 || c == 0; break;
    case OP_LT: r = c == -1; break;
    default: r = c == -1 || c == 0; break;
    }
    *(uint8_t *)elem_out(j, index) = r;
}

void cpu_logic_elem(const math_job *j, const size_t *off, size_t index)
{
    bool a = *(const uint8_t *)elem_in(j, 0, off) != 0;
    bool b = *(const uint8_t *)elem_in(j, 1, off) != 0;
    int op = j->p->info->op;
    bool r = op == OP_AND ? a && b : op == OP_OR ? a || b : a != b;
    *(uint8_t *)elem_out(j, index) = r;
}

void cpu_where_elem(const math_job *j, const size_t *off, size_t index)
{
    size_t pick = *(const uint8_t *)elem_in(j, 0, off) ? 1 : 2;
    memcpy(elem_out(j, index), elem_in(j, pick, off), j->out_esize);
}

void cpu_where_string_elem(const math_job *j, const size_t *off, size_t index)
{
    size_t pick = *(const uint8_t *)elem_in(j, 0, off) ? 1 : 2;
    const ember_string *s = elem_in(j, pick, off);
    if (*j->status != EMBER_OK)
        return;
    *j->status = j->k->host->tensor_set_string(j->out_tensor, index, s->data, s->size);
}

/* ---- typed rows: float32 fast paths ------------------------------------ */

static inline size_t inner_stride(const math_job *j, size_t i)
{
    return (size_t)j->strides[i][j->rank - 1];
}

static void unary_f32_row(const math_job *j, const size_t *off, size_t index, size_t len)
{
    const float *x = (const float *)j->in[0] + off[0];
    float *y = (float *)j->out + index;
    switch (j->p->info->op) {
    case OP_ABS: for (size_t t = 0; t < len; t++) y[t] = fabsf(x[t]); break;
    case OP_NEG: for (size_t t = 0; t < len; t++) y[t] = -x[t]; break;
    case OP_EXP: for (size_t t = 0; t < len; t++) y[t] = expf(x[t]); break;
    case OP_LOG: for (size_t t = 0; t < len; t++) y[t] = logf(x[t]); break;
    case OP_SQRT: for (size_t t = 0; t < len; t++) y[t] = sqrtf(x[t]); break;
    case OP_RECIP: for (size_t t = 0; t < len; t++) y[t] = 1.0f / x[t]; break;
    case OP_CEIL: for (size_t t = 0; t < len; t++) y[t] = ceilf(x[t]); break;
    case OP_FLOOR: for (size_t t = 0; t < len; t++) y[t] = floorf(x[t]); break;
    case OP_ERF: for (size_t t = 0; t < len; t++) y[t] = erff(x[t]); break;
    case OP_SIN: for (size_t t = 0; t < len; t++) y[t] = sinf(x[t]); break;
    case OP_COS: for (size_t t = 0; t < len; t++) y[t] = cosf(x[t]); break;
    default: generic_row(j, off, index, len); break;
    }
}

/* Two float32 inputs, each contiguous or a scalar along the row. */
static void fold2_f32_row(const math_job *j, const size_t *off, size_t index, size_t len)
{
    const float *a = (const float *)j->in[0] + off[0];
    const float *b = (const float *)j->in[1] + off[1];
    size_t sa = inner_stride(j, 0), sb = inner_stride(j, 1);
    float *y = (float *)j->out + index;
    switch (j->p->info->op) {
    case OP_SUM:
        for (size_t t = 0; t < len; t++)
            y[t] = a[t * sa] + b[t * sb];
        break;
    case OP_MEAN:
        for (size_t t = 0; t < len; t++)
            y[t] = (a[t * sa] + b[t * sb]) * 0.5f;
        break;
    case OP_PRELU:
        for (size_t t = 0; t < len; t++)
            y[t] = a[t * sa] < 0 ? a[t * sa] * b[t * sb] : a[t * sa];
        break;
    case OP_MAX:
        for (size_t t = 0; t < len; t++) {
            float x = a[t * sa], z = b[t * sb];
            y[t] = x != x || z != z ? x + z : x > z ? x : z;
        }
        break;
    case OP_MIN:
        for (size_t t = 0; t < len; t++) {
            float x = a[t * sa], z = b[t * sb];
            y[t] = x != x || z != z ? x + z : x < z ? x : z;
        }
        break;
    case OP_POW:
        for (size_t t = 0; t < len; t++)
            y[t] = b[t * sb] == 2.0f ? a[t * sa] * a[t * sa] : powf(a[t * sa], b[t * sb]);
        break;
    default: generic_row(j, off, index, len); break;
    }
}

/* Comparisons of two float32 or int64 inputs. */
#define DEFINE_CMP_ROW(NAME, T)                                                            \
    static void NAME(const math_job *j, const size_t *off, size_t index, size_t len)      \
    {                                                                                      \
        const T *a = (const T *)j->in[0] + off[0];                                         \
        const T *b = (const T *)j->in[1] + off[1];                                         \
        size_t sa = inner_stride(j, 0), sb = inner_stride(j, 1);                           \
        uint8_t *y = j->out + index;                                                       \
        switch (j->p->info->op) {                                                          \
        case OP_EQ: for (size_t t = 0; t < len; t++) y[t] = a[t * sa] == b[t * sb]; break; \
        case OP_GT: for (size_t t = 0; t < len; t++) y[t] = a[t * sa] > b[t * sb]; break;  \
        case OP_GE: for (size_t t = 0; t < len; t++) y[t] = a[t * sa] >= b[t * sb]; break; \
        case OP_LT: for (size_t t = 0; t < len; t++) y[t] = a[t * sa] < b[t * sb]; break;  \
        default: for (size_t t = 0; t < len; t++) y[t] = a[t * sa] <= b[t * sb]; break;    \
        }                                                                                  \
    }

DEFINE_CMP_ROW(cmp_f32_row, float)
DEFINE_CMP_ROW(cmp_i64_row, int64_t)

/* Where on 1-, 2-, 4- and 8-byte elements. */
#define DEFINE_WHERE_ROW(NAME, T)                                                          \
    static void NAME(const math_job *j, const size_t *off, size_t index, size_t len)      \
    {                                                                                      \
        const uint8_t *c = j->in[0] + off[0];                                              \
        const T *a = (const T *)j->in[1] + off[1];                                         \
        const T *b = (const T *)j->in[2] + off[2];                                         \
        size_t sc = inner_stride(j, 0), sa = inner_stride(j, 1), sb = inner_stride(j, 2);  \
        T *y = (T *)j->out + index;                                                        \
        for (size_t t = 0; t < len; t++)                                                   \
            y[t] = c[t * sc] ? a[t * sa] : b[t * sb];                                      \
    }

DEFINE_WHERE_ROW(where_row8, uint8_t)
DEFINE_WHERE_ROW(where_row16, uint16_t)
DEFINE_WHERE_ROW(where_row32, uint32_t)
DEFINE_WHERE_ROW(where_row64, uint64_t)

/* The typed row for the job, or generic_row. */
math_row_fn cpu_choose_row(const math_job *j)
{
    int shape = j->p->info->shape;
    bool f32 = j->dtype[0] == EMBER_DTYPE_FLOAT32;
    bool two_f32 = j->n_in == 2 && f32 && j->dtype[1] == EMBER_DTYPE_FLOAT32;
    if (shape == SH_UNARY && f32)
        return unary_f32_row;
    if (shape == SH_FOLD && two_f32)
        return fold2_f32_row;
    if (shape == SH_CMP && two_f32)
        return cmp_f32_row;
    if (shape == SH_CMP && j->dtype[0] == EMBER_DTYPE_INT64)
        return cmp_i64_row;
    if (shape == SH_WHERE && j->cls != CL_STRING) {
        switch (j->out_esize) {
        case 1: return where_row8;
        case 2: return where_row16;
        case 4: return where_row32;
        case 8: return where_row64;
        default: break;
        }
    }
    return generic_row;
}

