/*
 * Elementwise math, comparison, logic and bitwise ops: the unary math ops
 * (Abs ... Erf, IsInf, IsNaN, Not, BitwiseNot), the binary and variadic
 * ops with numpy broadcasting (Pow, Mod, Max, Min, Mean, Sum, PRelu,
 * BitShift, BitwiseAnd/Or/Xor), the comparisons (bool output, Equal also
 * on strings), the logical ops and Where.
 *
 * Every op has one of five shapes: unary, an n-ary fold (the result has
 * input 0's type), a comparison, a logical op or Where. The inputs are
 * mapped onto the output by an n-way broadcast (adjacent dims merged where
 * every input allows it) and walked with an odometer in parallel pieces.
 * Each element is loaded into a wide compute domain (double for the float
 * types, int64_t/uint64_t for the integers), computed and stored back;
 * the common float32 (and int64 comparison, and Where) cases have typed
 * loops over each innermost run instead (choose_row).
 */
#include "cpu_kernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Inputs a variadic op (Sum, Max, Min, Mean) may have. */
#define MATH_MAX_INPUTS 64
/* Output elements per parallel work item. */
#define MATH_PIECE 8192

enum math_shape { SH_UNARY, SH_FOLD, SH_CMP, SH_LOGIC, SH_WHERE };

enum math_op {
    OP_ABS, OP_NEG, OP_EXP, OP_LOG, OP_SQRT, OP_RECIP, OP_CEIL, OP_FLOOR, OP_ROUND, OP_SIGN,
    OP_SIN, OP_COS, OP_TAN, OP_ASIN, OP_ACOS, OP_ATAN, OP_SINH, OP_COSH, OP_ASINH, OP_ACOSH,
    OP_ATANH, OP_ERF, OP_ISINF, OP_ISNAN, OP_NOT, OP_BNOT,
    OP_POW, OP_MOD, OP_MAX, OP_MIN, OP_MEAN, OP_SUM, OP_PRELU, OP_SHIFT, OP_BAND, OP_BOR,
    OP_BXOR,
    OP_EQ, OP_GT, OP_GE, OP_LT, OP_LE,
    OP_AND, OP_OR, OP_XOR,
    OP_WHERE,
};

#define DT_BOOL CPU_DT(EMBER_DTYPE_BOOL)
#define DT_INTS (CPU_DT_SIGNED | CPU_DT_UNSIGNED)
#define DT_STRING CPU_DT(EMBER_DTYPE_STRING)

/* What the registration needs to know of an op: its shape, how many
 * inputs it takes and the types input 0 may have. */
typedef struct math_op_info {
    const char *name;
    int op;
    int shape;
    size_t min_in, max_in;
    uint32_t types;
} math_op_info;

static const math_op_info math_ops[] = {
    {"Abs", OP_ABS, SH_UNARY, 1, 1, CPU_DT_NUMERIC},
    {"Neg", OP_NEG, SH_UNARY, 1, 1, CPU_DT_NUMERIC},
    {"Exp", OP_EXP, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Log", OP_LOG, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Sqrt", OP_SQRT, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Reciprocal", OP_RECIP, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Ceil", OP_CEIL, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Floor", OP_FLOOR, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Round", OP_ROUND, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Sign", OP_SIGN, SH_UNARY, 1, 1, CPU_DT_NUMERIC},
    {"Sin", OP_SIN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Cos", OP_COS, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Tan", OP_TAN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Asin", OP_ASIN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Acos", OP_ACOS, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Atan", OP_ATAN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Sinh", OP_SINH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Cosh", OP_COSH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Asinh", OP_ASINH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Acosh", OP_ACOSH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Atanh", OP_ATANH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Erf", OP_ERF, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"IsInf", OP_ISINF, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"IsNaN", OP_ISNAN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Not", OP_NOT, SH_UNARY, 1, 1, DT_BOOL},
    {"BitwiseNot", OP_BNOT, SH_UNARY, 1, 1, DT_INTS},
    {"Pow", OP_POW, SH_FOLD, 2, 2, CPU_DT_NUMERIC},
    {"Mod", OP_MOD, SH_FOLD, 2, 2, CPU_DT_NUMERIC},
    {"Max", OP_MAX, SH_FOLD, 1, MATH_MAX_INPUTS, CPU_DT_NUMERIC},
    {"Min", OP_MIN, SH_FOLD, 1, MATH_MAX_INPUTS, CPU_DT_NUMERIC},
    {"Mean", OP_MEAN, SH_FOLD, 1, MATH_MAX_INPUTS, CPU_DT_FLOATS},
    {"Sum", OP_SUM, SH_FOLD, 1, MATH_MAX_INPUTS, CPU_DT_NUMERIC},
    {"PRelu", OP_PRELU, SH_FOLD, 2, 2, CPU_DT_NUMERIC},
    {"BitShift", OP_SHIFT, SH_FOLD, 2, 2, DT_INTS},
    {"BitwiseAnd", OP_BAND, SH_FOLD, 2, 2, DT_INTS},
    {"BitwiseOr", OP_BOR, SH_FOLD, 2, 2, DT_INTS},
    {"BitwiseXor", OP_BXOR, SH_FOLD, 2, 2, DT_INTS},
    {"Equal", OP_EQ, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL | DT_STRING},
    {"Greater", OP_GT, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL},
    {"GreaterOrEqual", OP_GE, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL},
    {"Less", OP_LT, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL},
    {"LessOrEqual", OP_LE, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL},
    {"And", OP_AND, SH_LOGIC, 2, 2, DT_BOOL},
    {"Or", OP_OR, SH_LOGIC, 2, 2, DT_BOOL},
    {"Xor", OP_XOR, SH_LOGIC, 2, 2, DT_BOOL},
    {"Where", OP_WHERE, SH_WHERE, 3, 3, DT_BOOL},
};

#define N_MATH_OPS (sizeof math_ops / sizeof math_ops[0])

/* The decoded node. */
typedef struct math_params {
    const math_op_info *info;
    bool fmod;                /* Mod: C fmod instead of the sign of the divisor */
    bool detect_pos, detect_neg; /* IsInf */
    bool shift_left;          /* BitShift */
    bool legacy_broadcast;    /* opset < 7 with broadcast=1: B aligned at axis */
    bool has_axis;
    int64_t axis;
} math_params;

/* ---- element access ---------------------------------------------------- */

/* The compute domain of a dtype. */
enum { CL_NONE, CL_FLOAT, CL_SIGNED, CL_UNSIGNED, CL_BOOL, CL_STRING, CL_BYTES };

static int dtype_class(uint32_t dtype)
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
    if (dtype_class(dtype) == CL_UNSIGNED && v >= 0.0 && v < 18446744073709551616.0)
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

typedef struct math_job math_job;
/* Computes output element `index`; off[i] is input i's element offset. */
typedef void (*math_elem_fn)(const math_job *j, const size_t *off, size_t index);
/* Computes output elements [index, index + len), a run along the innermost
 * merged dim. */
typedef void (*math_row_fn)(const math_job *j, const size_t *off, size_t index, size_t len);

struct math_job {
    const cpu_kernel *k;
    const math_params *p;
    math_elem_fn fn;
    math_row_fn row;
    size_t n_in;
    const unsigned char *in[MATH_MAX_INPUTS];
    uint32_t dtype[MATH_MAX_INPUTS];
    size_t esize[MATH_MAX_INPUTS];
    int cls; /* class of input 0 (input 1 for Where) */
    unsigned char *out;
    ember_tensor *out_tensor;
    uint32_t out_dtype;
    size_t out_esize;
    /* merged iteration space */
    size_t rank;
    int64_t dims[CPU_MAX_RANK];
    int64_t strides[MATH_MAX_INPUTS][CPU_MAX_RANK];
    size_t n_out;
    ember_status *status; /* string outputs: the first failure (serial runs only) */
};

/* Broadcasts the inputs' shapes (dims[i], rank[i]); writes the output
 * shape and fills the merged iteration space of j. False when they do not
 * broadcast. */
static bool nway_init(math_job *j, const int64_t *const *dims, const size_t *ranks,
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

/* Runs pieces [begin, end) of the output: an odometer over the merged
 * dims keeps every input's offset; each run along the innermost dim goes
 * to the row function. */
static void math_range(void *arg, size_t begin, size_t end)
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

static void unary_elem(const math_job *j, const size_t *off, size_t index)
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
           (j->cls == CL_FLOAT || dtype_class(j->dtype[1]) == CL_FLOAT);
}

static void fold_elem(const math_job *j, const size_t *off, size_t index)
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
            int64_t v = dtype_class(j->dtype[i]) == CL_UNSIGNED
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

static void compare_elem(const math_job *j, const size_t *off, size_t index)
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

static void logic_elem(const math_job *j, const size_t *off, size_t index)
{
    bool a = *(const uint8_t *)elem_in(j, 0, off) != 0;
    bool b = *(const uint8_t *)elem_in(j, 1, off) != 0;
    int op = j->p->info->op;
    bool r = op == OP_AND ? a && b : op == OP_OR ? a || b : a != b;
    *(uint8_t *)elem_out(j, index) = r;
}

static void where_elem(const math_job *j, const size_t *off, size_t index)
{
    size_t pick = *(const uint8_t *)elem_in(j, 0, off) ? 1 : 2;
    memcpy(elem_out(j, index), elem_in(j, pick, off), j->out_esize);
}

/* Strings go through host->tensor_set_string; runs serially. */
static void where_string_elem(const math_job *j, const size_t *off, size_t index)
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
static math_row_fn choose_row(const math_job *j)
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

/* ---- create ------------------------------------------------------------ */

static const math_op_info *find_op(const char *name)
{
    for (size_t i = 0; i < N_MATH_OPS; i++)
        if (strcmp(math_ops[i].name, name) == 0)
            return &math_ops[i];
    return NULL;
}

static bool math_check(const ember_host_api *host, const ember_node *node)
{
    const math_op_info *info = find_op(host->node_op_type(node));
    if (info == NULL)
        return false;
    size_t n = host->node_input_count(node);
    if (n < info->min_in || n > info->max_in)
        return false;
    if (!cpu_input_dtype_in(host, node, 0, info->types))
        return false;
    uint32_t others = info->types;
    if (info->op == OP_POW)
        others = CPU_DT_NUMERIC;
    else if (info->op == OP_WHERE)
        others = CPU_DT_NUMERIC | DT_BOOL | DT_STRING | CPU_DT(EMBER_DTYPE_FLOAT8E4M3FN) |
                 CPU_DT(EMBER_DTYPE_FLOAT8E4M3FNUZ) | CPU_DT(EMBER_DTYPE_FLOAT8E5M2) |
                 CPU_DT(EMBER_DTYPE_FLOAT8E5M2FNUZ) | CPU_DT(EMBER_DTYPE_FLOAT8E8M0) |
                 CPU_DT(EMBER_DTYPE_COMPLEX64) | CPU_DT(EMBER_DTYPE_COMPLEX128);
    for (size_t i = 1; i < n; i++)
        if (!cpu_input_dtype_in(host, node, i, others))
            return false;
    return true;
}

/* Mod's fmod, IsInf's detect_*, BitShift's direction. */
static ember_status decode_op_attrs(cpu_kernel *k, const ember_node *node, math_params *p)
{
    int64_t v = 0, w = 0;
    ember_status s = EMBER_OK;
    if (p->info->op == OP_MOD) {
        s = cpu_attr_int(k, node, "fmod", 0, &v);
        if (s == EMBER_OK && v != 0 && v != 1)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s): attribute 'fmod' is %lld, expected 0 or 1",
                                 k->name, k->op, (long long)v);
        p->fmod = v == 1;
    } else if (p->info->op == OP_ISINF) {
        s = cpu_attr_int(k, node, "detect_positive", 1, &v);
        if (s == EMBER_OK)
            s = cpu_attr_int(k, node, "detect_negative", 1, &w);
        p->detect_pos = v != 0;
        p->detect_neg = w != 0;
    } else if (p->info->op == OP_SHIFT) {
        char dir[16];
        s = cpu_attr_string(k, node, "direction", "", dir, sizeof dir);
        if (s == EMBER_OK && strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s): attribute 'direction' is '%s', expected "
                                 "LEFT or RIGHT",
                                 k->name, k->op, dir);
        p->shift_left = strcmp(dir, "LEFT") == 0;
    }
    return s;
}

/* Opsets 1-6 of the binary ops: broadcast=1 aligns B at `axis`. */
static ember_status decode_legacy(cpu_kernel *k, const ember_node *node, math_params *p)
{
    if (k->opset >= 7 || p->info->max_in != 2 || p->info->shape == SH_UNARY)
        return EMBER_OK;
    int64_t broadcast = 0;
    ember_status s = cpu_attr_int(k, node, "broadcast", 0, &broadcast);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "axis", 0, &p->axis);
    p->legacy_broadcast = broadcast != 0;
    p->has_axis = cpu_attr_has(k, node, "axis");
    return s;
}

static ember_status math_run(const cpu_kernel *k, ember_kernel_context *ctx);

static ember_status math_create(cpu_kernel *k, const ember_node *node)
{
    const math_op_info *info = find_op(k->op);
    if (info == NULL)
        return k->host->fail(EMBER_E_INTERNAL, "node '%s' (%s): not a math op", k->name, k->op);
    ember_status s = cpu_kernel_params(k, sizeof(math_params));
    if (s != EMBER_OK)
        return s;
    math_params *p = k->params;
    p->info = info;
    s = decode_op_attrs(k, node, p);
    if (s == EMBER_OK)
        s = decode_legacy(k, node, p);
    k->run = math_run;
    return s;
}

/* ---- run --------------------------------------------------------------- */

static ember_status fail_type_mismatch(const cpu_kernel *k, size_t i, uint32_t dt, size_t i0,
                                       uint32_t dt0)
{
    return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                         "node '%s' (%s): input %zu has type %s, input %zu has type %s", k->name,
                         k->op, i, cpu_dtype_name(dt), i0, cpu_dtype_name(dt0));
}

/* Checks the inputs' types against the op and fills the job's inputs. */
static ember_status gather_inputs(const cpu_kernel *k, ember_kernel_context *ctx, math_job *j,
                                  const ember_tensor **ins)
{
    const math_params *p = k->params;
    size_t n = k->host->ctx_input_count(ctx);
    if (n < p->info->min_in || n > p->info->max_in)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): %zu inputs, expected %zu to %zu", k->name, k->op,
                             n, p->info->min_in, p->info->max_in);
    j->n_in = n;
    for (size_t i = 0; i < n; i++) {
        ember_status s = cpu_input(k, ctx, i, &ins[i]);
        if (s != EMBER_OK)
            return s;
        j->in[i] = ins[i]->data;
        j->dtype[i] = ins[i]->dtype;
        j->esize[i] = cpu_dtype_size(ins[i]->dtype);
        if (ins[i]->dtype == EMBER_DTYPE_STRING)
            j->esize[i] = sizeof(ember_string);
    }
    uint32_t dt0 = j->dtype[0];
    if (!(dt0 < 32 && (CPU_DT(dt0) & p->info->types)))
        return cpu_fail_dtype(k, 0, dt0);
    size_t first = p->info->op == OP_WHERE ? 1 : 0;
    uint32_t ref = j->dtype[first];
    if (first == 1 && (dtype_class(ref) == CL_NONE || ref == EMBER_DTYPE_UNDEFINED))
        return cpu_fail_dtype(k, 1, ref);
    for (size_t i = first + 1; i < n; i++) {
        bool pow_exp = p->info->op == OP_POW && i == 1;
        if (pow_exp && !(j->dtype[i] < 32 && (CPU_DT(j->dtype[i]) & CPU_DT_NUMERIC)))
            return cpu_fail_dtype(k, i, j->dtype[i]);
        if (!pow_exp && j->dtype[i] != ref)
            return fail_type_mismatch(k, i, j->dtype[i], first, ref);
    }
    j->cls = dtype_class(ref);
    return EMBER_OK;
}

/* Input 1's dims as the legacy broadcast sees them: padded with ones to
 * input 0's rank, aligned at `axis`. */
static ember_status legacy_dims(const cpu_kernel *k, const ember_tensor *a, const ember_tensor *b,
                                int64_t *dims)
{
    const math_params *p = k->params;
    int64_t axis = p->has_axis ? p->axis : (int64_t)a->rank - (int64_t)b->rank;
    if (axis < 0)
        axis += a->rank;
    if (axis < 0 || axis + (int64_t)b->rank > (int64_t)a->rank)
        return cpu_fail_shape(k, 1, b, "does not fit input 0 at the broadcast axis");
    for (size_t i = 0; i < a->rank; i++)
        dims[i] = 1;
    for (size_t i = 0; i < b->rank; i++)
        dims[(size_t)axis + i] = b->dims[i];
    return EMBER_OK;
}

static ember_status fail_broadcast(const cpu_kernel *k, const ember_tensor **ins, size_t n)
{
    char text[512];
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n && used + 64 < sizeof text; i++) {
        char dims[256];
        cpu_format_dims(dims, sizeof dims, ins[i]->dims, ins[i]->rank);
        int w = snprintf(text + used, sizeof text - used, "%sinput %zu has shape %s",
                         i ? ", " : "", i, dims);
        used += w > 0 ? (size_t)w : 0;
        used = used < sizeof text ? used : sizeof text - 1;
    }
    return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): %s, which do not broadcast",
                         k->name, k->op, text);
}

/* Whether x and slope broadcast the numpy way. */
static bool numpy_broadcasts(const ember_tensor *x, const ember_tensor *slope)
{
    if (slope->rank > x->rank)
        return false;
    for (size_t i = 0; i < slope->rank; i++) {
        int64_t ds = slope->dims[slope->rank - 1 - i], dx = x->dims[x->rank - 1 - i];
        if (ds != dx && ds != 1)
            return false;
    }
    return true;
}

/* PRelu with a 1-D slope that does not broadcast the numpy way: opsets
 * 1-6 apply it along the channels (axis 1), and like onnx's reference any
 * opset applies it along the one dim of x with its length. Writes the
 * slope's dims padded to x's rank; false when that does not apply. */
static bool prelu_slope_dims(const cpu_kernel *k, const ember_tensor *x,
                             const ember_tensor *slope, int64_t *dims)
{
    if (slope->rank != 1 || numpy_broadcasts(x, slope))
        return false;
    int64_t d = slope->dims[0];
    size_t axis = x->rank, matches = 0;
    for (size_t i = 0; i < x->rank; i++)
        if (x->dims[i] == d && matches++ == 0)
            axis = i;
    if (k->opset < 7 && x->rank >= 2 && x->dims[1] == d)
        axis = 1;
    else if (matches != 1)
        return false;
    for (size_t i = 0; i < x->rank; i++)
        dims[i] = i == axis ? d : 1;
    return true;
}

/* Broadcasts the inputs and checks PRelu's unidirectional rule. */
static ember_status broadcast_inputs(const cpu_kernel *k, math_job *j, const ember_tensor **ins,
                                     int64_t *out_dims, size_t *out_rank)
{
    const math_params *p = k->params;
    const int64_t *dims[MATH_MAX_INPUTS];
    size_t ranks[MATH_MAX_INPUTS];
    int64_t b_dims[CPU_MAX_RANK];
    for (size_t i = 0; i < j->n_in; i++) {
        dims[i] = ins[i]->dims;
        ranks[i] = ins[i]->rank;
    }
    if (p->legacy_broadcast) {
        ember_status s = legacy_dims(k, ins[0], ins[1], b_dims);
        if (s != EMBER_OK)
            return s;
        dims[1] = b_dims;
        ranks[1] = ins[0]->rank;
    }
    if (p->info->op == OP_PRELU && prelu_slope_dims(k, ins[0], ins[1], b_dims)) {
        dims[1] = b_dims;
        ranks[1] = ins[0]->rank;
    }
    if (!nway_init(j, dims, ranks, out_dims, out_rank))
        return fail_broadcast(k, ins, j->n_in);
    bool same = *out_rank == ins[0]->rank;
    for (size_t d = 0; same && d < *out_rank; d++)
        same = out_dims[d] == ins[0]->dims[d];
    if (p->info->op == OP_PRELU && !same)
        return cpu_fail_shape(k, 1, ins[1], "does not broadcast to input 0's shape");
    return EMBER_OK;
}

static void choose_output(const math_params *p, math_job *j)
{
    switch (p->info->shape) {
    case SH_UNARY:
        j->fn = unary_elem;
        j->out_dtype = p->info->op == OP_ISINF || p->info->op == OP_ISNAN ? EMBER_DTYPE_BOOL
                                                                          : j->dtype[0];
        break;
    case SH_FOLD:
        j->fn = fold_elem;
        j->out_dtype = j->dtype[0];
        break;
    case SH_CMP:
        j->fn = compare_elem;
        j->out_dtype = EMBER_DTYPE_BOOL;
        break;
    case SH_LOGIC:
        j->fn = logic_elem;
        j->out_dtype = EMBER_DTYPE_BOOL;
        break;
    default:
        j->out_dtype = j->dtype[1];
        j->fn = j->cls == CL_STRING ? where_string_elem : where_elem;
        break;
    }
}

static ember_status math_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *ins[MATH_MAX_INPUTS];
    math_job *j = NULL;
    ember_status s = k->host->ctx_scratch(ctx, sizeof *j, (void **)&j);
    if (s != EMBER_OK)
        return s;
    memset(j, 0, sizeof *j);
    j->k = k;
    j->p = k->params;
    s = gather_inputs(k, ctx, j, ins);
    int64_t out_dims[CPU_MAX_RANK];
    size_t out_rank = 0;
    if (s == EMBER_OK)
        s = broadcast_inputs(k, j, ins, out_dims, &out_rank);
    if (s != EMBER_OK)
        return s;
    choose_output(j->p, j);
    s = cpu_output(k, ctx, 0, j->out_dtype, out_dims, out_rank, &j->out_tensor);
    if (s != EMBER_OK || j->n_out == 0)
        return s;
    j->out = j->out_tensor->data;
    j->out_esize = j->out_dtype == EMBER_DTYPE_STRING ? sizeof(ember_string)
                                                      : cpu_dtype_size(j->out_dtype);
    j->row = choose_row(j);
    size_t pieces = (j->n_out + MATH_PIECE - 1) / MATH_PIECE;
    if (j->fn == where_string_elem) {
        ember_status string_status = EMBER_OK;
        j->status = &string_status;
        math_range(j, 0, pieces);
        return string_status;
    }
    cpu_parallel(ctx, k, pieces, j->n_out * j->n_in * 4, math_range, j);
    return EMBER_OK;
}

/* ---- registration ------------------------------------------------------ */

const cpu_op_entry cpu_ops_math[] = {
    {"Abs", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Neg", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Exp", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Log", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Sqrt", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Reciprocal", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Ceil", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Floor", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Round", 11, CPU_OPSET_MAX, math_check, math_create},
    {"Sign", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Sin", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Cos", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Tan", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Asin", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Acos", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Atan", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Sinh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Cosh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Asinh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Acosh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Atanh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Erf", 9, CPU_OPSET_MAX, math_check, math_create},
    {"IsInf", 10, CPU_OPSET_MAX, math_check, math_create},
    {"IsNaN", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Not", 1, CPU_OPSET_MAX, math_check, math_create},
    {"BitwiseNot", 18, CPU_OPSET_MAX, math_check, math_create},
    {"Pow", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Mod", 10, CPU_OPSET_MAX, math_check, math_create},
    {"Max", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Min", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Mean", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Sum", 1, CPU_OPSET_MAX, math_check, math_create},
    {"PRelu", 1, CPU_OPSET_MAX, math_check, math_create},
    {"BitShift", 11, CPU_OPSET_MAX, math_check, math_create},
    {"BitwiseAnd", 18, CPU_OPSET_MAX, math_check, math_create},
    {"BitwiseOr", 18, CPU_OPSET_MAX, math_check, math_create},
    {"BitwiseXor", 18, CPU_OPSET_MAX, math_check, math_create},
    {"Equal", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Greater", 1, CPU_OPSET_MAX, math_check, math_create},
    {"GreaterOrEqual", 12, CPU_OPSET_MAX, math_check, math_create},
    {"Less", 1, CPU_OPSET_MAX, math_check, math_create},
    {"LessOrEqual", 12, CPU_OPSET_MAX, math_check, math_create},
    {"And", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Or", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Xor", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Where", 9, CPU_OPSET_MAX, math_check, math_create},
    {NULL, 0, 0, NULL, NULL},
};
