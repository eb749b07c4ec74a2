/*
 * Helpers shared by the CPU kernel families: claim checks, attribute
 * decoding, failure messages, shapes and broadcasting, dtype facts and the
 * float16/bfloat16 conversions. See cpu_kernel.h for the contracts.
 */
#include "cpu_kernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Below this many scalar operations a loop runs on the calling thread:
 * waking the pool costs more than it saves. */
#define CPU_PARALLEL_MIN_OPS ((size_t)1 << 16)

/* ---- claim checks ------------------------------------------------------ */

bool cpu_input_dtype_in(const ember_host_api *host, const ember_node *node, size_t index,
                        uint32_t set)
{
    ember_type_info info;
    if (!host->node_input_type(node, index, &info) || info.dtype == EMBER_DTYPE_UNDEFINED)
        return true;
    return info.dtype < 32 && (set & CPU_DT(info.dtype)) != 0;
}

bool cpu_check_float(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_FLOATS);
}

bool cpu_check_any_fixed(const ember_host_api *host, const ember_node *node)
{
    ember_type_info info;
    if (!host->node_input_type(node, 0, &info) || info.dtype == EMBER_DTYPE_UNDEFINED)
        return true;
    return cpu_dtype_size(info.dtype) > 0;
}

/* ---- kernel set-up ----------------------------------------------------- */

ember_status cpu_kernel_params(cpu_kernel *k, size_t bytes)
{
    k->params = calloc(1, bytes);
    if (k->params == NULL)
        return cpu_fail_oom(k);
    return EMBER_OK;
}

static ember_status attr_get(const cpu_kernel *k, const ember_node *node, const char *name,
                             uint32_t type, ember_attr *out, bool *found)
{
    *found = k->host->node_attr(node, name, out);
    if (*found && out->type != type)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute '%s' has type %u, expected %u", k->name,
                             k->op, name, (unsigned)out->type, (unsigned)type);
    return EMBER_OK;
}

bool cpu_attr_has(const cpu_kernel *k, const ember_node *node, const char *name)
{
    ember_attr attr;
    return k->host->node_attr(node, name, &attr);
}

ember_status cpu_attr_int(const cpu_kernel *k, const ember_node *node, const char *name,
                          int64_t dflt, int64_t *out)
{
    ember_attr attr;
    bool found;
    ember_status s = attr_get(k, node, name, EMBER_ATTR_INT, &attr, &found);
    if (s == EMBER_OK)
        *out = found ? attr.i : dflt;
    return s;
}

ember_status cpu_attr_float(const cpu_kernel *k, const ember_node *node, const char *name,
                            float dflt, float *out)
{
    ember_attr attr;
    bool found;
    ember_status s = attr_get(k, node, name, EMBER_ATTR_FLOAT, &attr, &found);
    if (s == EMBER_OK)
        *out = found ? attr.f : dflt;
    return s;
}

ember_status cpu_attr_ints(const cpu_kernel *k, const ember_node *node, const char *name,
                           int64_t *out, size_t cap, size_t *n)
{
    ember_attr attr;
    bool found;
    ember_status s = attr_get(k, node, name, EMBER_ATTR_INTS, &attr, &found);
    if (s != EMBER_OK)
        return s;
    if (!found) {
        *n = 0;
        return EMBER_OK;
    }
    if (attr.n > cap)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): attribute '%s' has %zu values, at most %zu "
                             "are supported",
                             k->name, k->op, name, attr.n, cap);
    if (attr.n > 0)
        memcpy(out, attr.ints, attr.n * sizeof *out);
    *n = attr.n;
    return EMBER_OK;
}

ember_status cpu_attr_string(const cpu_kernel *k, const ember_node *node, const char *name,
                             const char *dflt, char *out, size_t cap)
{
    ember_attr attr;
    bool found;
    ember_status s = attr_get(k, node, name, EMBER_ATTR_STRING, &attr, &found);
    if (s != EMBER_OK)
        return s;
    const char *src = found ? attr.s.data : dflt;
    size_t len = found ? attr.s.size : strlen(dflt);
    if (len >= cap)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute '%s' is too long (%zu bytes)", k->name,
                             k->op, name, len);
    if (len > 0)
        memcpy(out, src, len);
    out[len] = '\0';
    return EMBER_OK;
}

/* ---- run-time helpers -------------------------------------------------- */

ember_status cpu_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                       const ember_tensor **out)
{
    const ember_tensor *t = NULL;
    if (index < k->host->ctx_input_count(ctx))
        t = k->host->ctx_input(ctx, index);
    if (t == NULL)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): required input %zu is missing", k->name, k->op,
                             index);
    if (t->rank > CPU_MAX_RANK)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): input %zu has rank %u, at most %d is supported",
                             k->name, k->op, index, (unsigned)t->rank, CPU_MAX_RANK);
    *out = t;
    return EMBER_OK;
}

const ember_tensor *cpu_opt_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index)
{
    if (index >= k->host->ctx_input_count(ctx))
        return NULL;
    return k->host->ctx_input(ctx, index);
}

ember_status cpu_output(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                        uint32_t dtype, const int64_t *dims, size_t rank, ember_tensor **out)
{
    return k->host->ctx_output(ctx, index, dtype, dims, rank, out);
}

ember_status cpu_fail_oom(const cpu_kernel *k)
{
    return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (%s): out of memory", k->name, k->op);
}

ember_status cpu_fail_dtype(const cpu_kernel *k, size_t index, uint32_t dtype)
{
    return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                         "node '%s' (%s): input %zu has type %s, which the CPU kernel does not "
                         "support",
                         k->name, k->op, index, cpu_dtype_name(dtype));
}

ember_status cpu_fail_shape(const cpu_kernel *k, size_t index, const ember_tensor *t,
                            const char *why)
{
    char dims[256];
    cpu_format_dims(dims, sizeof dims, t->dims, t->rank);
    return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): input %zu has shape %s: %s",
                         k->name, k->op, index, dims, why);
}

void cpu_format_dims(char *buf, size_t size, const int64_t *dims, size_t rank)
{
    size_t used = 0;
    int n = snprintf(buf, size, "[");
    for (size_t i = 0; n >= 0 && i < rank; i++) {
        used += (size_t)n;
        if (used >= size)
            return;
        n = snprintf(buf + used, size - used, i == 0 ? "%lld" : ",%lld", (long long)dims[i]);
    }
    if (n >= 0 && used + (size_t)n < size)
        snprintf(buf + used + (size_t)n, size - used - (size_t)n, "]");
}

ember_status cpu_read_ints(const cpu_kernel *k, size_t index, const ember_tensor *t,
                           int64_t *out, size_t cap, size_t *n)
{
    if (t->dtype != EMBER_DTYPE_INT64 && t->dtype != EMBER_DTYPE_INT32)
        return cpu_fail_dtype(k, index, t->dtype);
    if (t->rank > 1)
        return cpu_fail_shape(k, index, t, "expected a 1-D tensor");
    size_t count = cpu_tensor_numel(t);
    if (count > cap)
        return cpu_fail_shape(k, index, t, "too many values");
    for (size_t i = 0; i < count; i++)
        out[i] = t->dtype == EMBER_DTYPE_INT64 ? ((const int64_t *)t->data)[i]
                                               : ((const int32_t *)t->data)[i];
    *n = count;
    return EMBER_OK;
}

void cpu_parallel(ember_kernel_context *ctx, const cpu_kernel *k, size_t n, size_t n_ops,
                  ember_parallel_fn fn, void *arg)
{
    if (n == 0)
        return;
    if (n == 1 || n_ops < CPU_PARALLEL_MIN_OPS || k->host->ctx_thread_count(ctx) <= 1) {
        fn(arg, 0, n);
        return;
    }
    k->host->ctx_parallel_for(ctx, n, fn, arg);
}

/* ---- dtypes and shapes ------------------------------------------------- */

size_t cpu_dtype_size(uint32_t dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_BOOL:
    case EMBER_DTYPE_INT8:
    case EMBER_DTYPE_UINT8:
    case EMBER_DTYPE_FLOAT8E4M3FN:
    case EMBER_DTYPE_FLOAT8E4M3FNUZ:
    case EMBER_DTYPE_FLOAT8E5M2:
    case EMBER_DTYPE_FLOAT8E5M2FNUZ:
    case EMBER_DTYPE_FLOAT8E8M0: return 1;
    case EMBER_DTYPE_INT16:
    case EMBER_DTYPE_UINT16:
    case EMBER_DTYPE_FLOAT16:
    case EMBER_DTYPE_BFLOAT16: return 2;
    case EMBER_DTYPE_INT32:
    case EMBER_DTYPE_UINT32:
    case EMBER_DTYPE_FLOAT32: return 4;
    case EMBER_DTYPE_INT64:
    case EMBER_DTYPE_UINT64:
    case EMBER_DTYPE_FLOAT64:
    case EMBER_DTYPE_COMPLEX64: return 8;
    case EMBER_DTYPE_COMPLEX128: return 16;
    default: return 0;
    }
}

const char *cpu_dtype_name(uint32_t dtype)
{
    static const char *const names[] = {
        "undefined", "float32", "uint8",   "int8",      "uint16",     "int16",
        "int32",     "int64",   "string",  "bool",      "float16",    "float64",
        "uint32",    "uint64",  "complex64", "complex128", "bfloat16", "float8e4m3fn",
        "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1",
        "float8e8m0",
    };
    return dtype < sizeof names / sizeof names[0] ? names[dtype] : "unknown";
}

size_t cpu_numel(const int64_t *dims, size_t rank)
{
    size_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= dims[i] > 0 ? (size_t)dims[i] : 0;
    return n;
}

bool cpu_normalize_axis(int64_t axis, size_t rank, size_t *out)
{
    int64_t r = (int64_t)rank;
    if (axis < -r || axis >= r)
        return false;
    *out = (size_t)(axis < 0 ? axis + r : axis);
    return true;
}

bool cpu_axis_lanes(const int64_t *dims, size_t rank, int64_t axis, bool coerce_2d,
                    size_t *n_lanes, size_t *len, size_t *inner)
{
    size_t a;
    if (coerce_2d) {
        int64_t r = (int64_t)rank, at = axis < 0 ? axis + r : axis;
        if (at < 0 || at > r)
            return false;
        a = (size_t)at;
    } else if (!cpu_normalize_axis(axis, rank, &a)) {
        return false;
    }
    *len = coerce_2d ? cpu_numel(dims + a, rank - a) : (size_t)dims[a];
    *inner = coerce_2d ? 1 : cpu_numel(dims + a + 1, rank - a - 1);
    *n_lanes = cpu_numel(dims, a) * *inner;
    return true;
}

/* ---- broadcasting ------------------------------------------------------ */

/* Aligns both shapes to the right and writes the output dims and each
 * input's contiguous element strides (0 where it is broadcast). */
static bool bcast_align(cpu_bcast *b, const int64_t *a_dims, size_t a_rank,
                        const int64_t *b_dims, size_t b_rank, int64_t strides[2][CPU_MAX_RANK])
{
    size_t rank = a_rank > b_rank ? a_rank : b_rank;
    int64_t stride_a = 1, stride_b = 1;
    if (rank > CPU_MAX_RANK)
        return false;
    for (size_t i = rank; i-- > 0;) {
        int64_t da = i >= rank - a_rank ? a_dims[i - (rank - a_rank)] : 1;
        int64_t db = i >= rank - b_rank ? b_dims[i - (rank - b_rank)] : 1;
        if (da != db && da != 1 && db != 1)
            return false;
        b->out_dims[i] = da == 1 ? db : da;
        strides[0][i] = da == 1 ? 0 : stride_a;
        strides[1][i] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
    }
    b->out_rank = rank;
    return true;
}

bool cpu_bcast_init(cpu_bcast *b, const int64_t *a_dims, size_t a_rank, const int64_t *b_dims,
                    size_t b_rank)
{
    int64_t strides[2][CPU_MAX_RANK];
    if (!bcast_align(b, a_dims, a_rank, b_dims, b_rank, strides))
        return false;
    b->n_out = cpu_numel(b->out_dims, b->out_rank);
    b->rank = 0;
    for (size_t i = 0; i < b->out_rank; i++) {
        if (b->out_dims[i] == 1)
            continue;
        size_t r = b->rank;
        bool merge = r > 0 && strides[0][i] * b->out_dims[i] == b->strides[0][r - 1] &&
                     strides[1][i] * b->out_dims[i] == b->strides[1][r - 1];
        if (merge) {
            b->dims[r - 1] *= b->out_dims[i];
            b->strides[0][r - 1] = strides[0][i];
            b->strides[1][r - 1] = strides[1][i];
            continue;
        }
        b->dims[r] = b->out_dims[i];
        b->strides[0][r] = strides[0][i];
        b->strides[1][r] = strides[1][i];
        b->rank++;
    }
    if (b->rank == 0) {
        b->rank = 1;
        b->dims[0] = 1;
        b->strides[0][0] = b->strides[1][0] = 0;
    }
    return true;
}

void cpu_bcast_offsets(const cpu_bcast *b, size_t index, size_t *off_a, size_t *off_b)
{
    size_t oa = 0, ob = 0;
    for (size_t d = b->rank; d-- > 0;) {
        size_t idx = index % (size_t)b->dims[d];
        index /= (size_t)b->dims[d];
        oa += idx * (size_t)b->strides[0][d];
        ob += idx * (size_t)b->strides[1][d];
    }
    *off_a = oa;
    *off_b = ob;
}

/* ---- float16 / bfloat16 ------------------------------------------------ */

float cpu_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    float f;
    if (exp == 0) {
        f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | (mant << 13);
    else
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Rounds to nearest, ties to even; overflow gives infinity. */
uint16_t cpu_f32_to_f16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    int32_t exp = (int32_t)((bits >> 23) & 0xffu);
    uint32_t mant = bits & 0x7fffffu;
    if (exp == 0xff)
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
    int32_t e = exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10)
            return sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1u);
        uint32_t halfway = 1u << (shift - 1u);
        if (rem > halfway || (rem == halfway && (half & 1u)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u)))
        half++;
    return (uint16_t)(sign | half);
}

uint16_t cpu_f32_to_bf16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

void cpu_half_to_float(uint32_t dtype, const uint16_t *src, float *dst, size_t n)
{
    if (dtype == EMBER_DTYPE_BFLOAT16)
        for (size_t i = 0; i < n; i++)
            dst[i] = cpu_bf16_to_f32(src[i]);
    else
        for (size_t i = 0; i < n; i++)
            dst[i] = cpu_f16_to_f32(src[i]);
}

void cpu_float_to_half(uint32_t dtype, const float *src, uint16_t *dst, size_t n)
{
    if (dtype == EMBER_DTYPE_BFLOAT16)
        for (size_t i = 0; i < n; i++)
            dst[i] = cpu_f32_to_bf16(src[i]);
    else
        for (size_t i = 0; i < n; i++)
            dst[i] = cpu_f32_to_f16(src[i]);
}

ember_status cpu_half_input(ember_kernel_context *ctx, const cpu_kernel *k, const ember_tensor *t,
                            float **out)
{
    size_t n = cpu_tensor_numel(t);
    void *buf = NULL;
    ember_status s = k->host->ctx_scratch(ctx, (n ? n : 1) * sizeof(float), &buf);
    if (s != EMBER_OK)
        return s;
    cpu_half_to_float(t->dtype, t->data, buf, n);
    *out = buf;
    return EMBER_OK;
}
