/*
 * Compares an output with its expected value the way onnx's backend tests
 * do (numpy.testing.assert_allclose): same dtype and shape, floats within
 * |actual - expected| <= atol + rtol * |expected| with NaN equal to NaN and
 * infinities equal to themselves; integers, bools and strings exactly.
 * Sequences match when they have the same length and element type and each
 * item matches; empty optionals match empty optionals.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conformance.h"

static bool fail(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, CONF_WHY_SIZE, fmt, ap);
    va_end(ap);
    return false;
}

static void format_dims(char *buf, size_t size, const ember_value *v)
{
    const int64_t *dims = ember_value_get_dims(v);
    size_t rank = ember_value_get_rank(v), n = 0;
    n += (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

static float half_bits_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
    if (exp == 0)
        return (sign ? -1.0f : 1.0f) * ldexpf((float)mant, -24);
    uint32_t x = exp == 31 ? sign | 0x7F800000u | (mant << 13)
                           : sign | ((exp - 15 + 127) << 23) | (mant << 13);
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static float bfloat_bits_to_float(uint16_t b)
{
    uint32_t x = (uint32_t)b << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* Element i of a float-like tensor as a double; complex types count each
 * of their two parts as an element. */
static bool float_at(ember_dtype dtype, const void *data, size_t i, double *out)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32:
    case EMBER_DTYPE_COMPLEX64: *out = ((const float *)data)[i]; return true;
    case EMBER_DTYPE_FLOAT64:
    case EMBER_DTYPE_COMPLEX128: *out = ((const double *)data)[i]; return true;
    case EMBER_DTYPE_FLOAT16: *out = half_bits_to_float(((const uint16_t *)data)[i]); return true;
    case EMBER_DTYPE_BFLOAT16:
        *out = bfloat_bits_to_float(((const uint16_t *)data)[i]);
        return true;
    default: return false;
    }
}

static bool close_enough(double a, double e, double rtol, double atol)
{
    if (isnan(a) || isnan(e))
        return isnan(a) && isnan(e);
    if (isinf(a) || isinf(e))
        return a == e;
    return fabs(a - e) <= atol + rtol * fabs(e);
}

static bool compare_floats(const char *name, const ember_value *expected,
                           const ember_value *actual, double rtol, double atol, char *why)
{
    ember_dtype dtype = ember_value_get_dtype(expected);
    size_t n = ember_value_get_element_count(expected);
    if (dtype == EMBER_DTYPE_COMPLEX64 || dtype == EMBER_DTYPE_COMPLEX128)
        n *= 2;
    const void *e = ember_value_get_data(expected), *a = ember_value_get_data(actual);
    size_t n_bad = 0, first = 0;
    double max_diff = 0, first_a = 0, first_e = 0;
    for (size_t i = 0; i < n; i++) {
        double x, y;
        float_at(dtype, a, i, &x);
        float_at(dtype, e, i, &y);
        if (close_enough(x, y, rtol, atol))
            continue;
        if (n_bad++ == 0)
            first = i, first_a = x, first_e = y;
        double diff = fabs(x - y);
        max_diff = isnan(diff) || diff > max_diff ? diff : max_diff;
    }
    if (n_bad == 0)
        return true;
    return fail(why,
                "output '%s': %zu of %zu values differ beyond rtol %g atol %g (first at "
                "%zu: got %.9g, expected %.9g; max abs diff %.3g)",
                name, n_bad, n, rtol, atol, first, first_a, first_e, max_diff);
}

static bool compare_strings(const char *name, const ember_value *expected,
                            const ember_value *actual, char *why)
{
    const ember_string *e = ember_value_get_data(expected), *a = ember_value_get_data(actual);
    size_t n = ember_value_get_element_count(expected);
    for (size_t i = 0; i < n; i++)
        if (a[i].size != e[i].size || (e[i].size && memcmp(a[i].data, e[i].data, e[i].size)))
            return fail(why, "output '%s': string %zu is \"%.*s\", expected \"%.*s\"", name, i,
                        (int)(a[i].size > 40 ? 40 : a[i].size), a[i].data,
                        (int)(e[i].size > 40 ? 40 : e[i].size), e[i].data);
    return true;
}

/* Integers, bools and the 8- and 4-bit float formats: byte for byte, bools
 * by truth value. */
static bool compare_exact(const char *name, const ember_value *expected,
                          const ember_value *actual, char *why)
{
    ember_dtype dtype = ember_value_get_dtype(expected);
    const uint8_t *e = ember_value_get_data(expected), *a = ember_value_get_data(actual);
    size_t bytes = ember_value_get_byte_size(expected);
    size_t elem = ember_dtype_size(dtype) ? ember_dtype_size(dtype) : 1;
    for (size_t i = 0; i < bytes; i++) {
        bool same = dtype == EMBER_DTYPE_BOOL ? (a[i] != 0) == (e[i] != 0) : a[i] == e[i];
        if (same)
            continue;
        size_t at = i / elem;
        uint64_t got = 0, want = 0;
        for (size_t b = 0; b < elem && b < 8; b++) {
            got |= (uint64_t)a[at * elem + b] << (8 * b);
            want |= (uint64_t)e[at * elem + b] << (8 * b);
        }
        return fail(why, "output '%s' (%s): element %zu is 0x%llx, expected 0x%llx", name,
                    ember_dtype_name(dtype), at, (unsigned long long)got,
                    (unsigned long long)want);
    }
    return true;
}

static bool same_shape(const ember_value *a, const ember_value *b)
{
    size_t rank = ember_value_get_rank(a);
    return rank == ember_value_get_rank(b) &&
           (rank == 0 ||
            !memcmp(ember_value_get_dims(a), ember_value_get_dims(b), rank * sizeof(int64_t)));
}

static bool compare_tensor(const char *name, const ember_value *expected,
                           const ember_value *actual, double rtol, double atol, char *why)
{
    ember_dtype dtype = ember_value_get_dtype(expected);
    if (ember_value_get_dtype(actual) != dtype)
        return fail(why, "output '%s': dtype %s, expected %s", name,
                    ember_dtype_name(ember_value_get_dtype(actual)), ember_dtype_name(dtype));
    if (!same_shape(expected, actual)) {
        char got[256], want[256];
        format_dims(got, sizeof got, actual);
        format_dims(want, sizeof want, expected);
        return fail(why, "output '%s': shape %s, expected %s", name, got, want);
    }
    if (ember_value_get_element_count(expected) == 0)
        return true;
    if (!ember_value_get_data(actual))
        return fail(why, "output '%s': no data", name);
    double unused;
    if (float_at(dtype, ember_value_get_data(expected), 0, &unused))
        return compare_floats(name, expected, actual, rtol, atol, why);
    if (dtype == EMBER_DTYPE_STRING)
        return compare_strings(name, expected, actual, why);
    return compare_exact(name, expected, actual, why);
}

static const char *kind_name(ember_value_kind kind)
{
    switch (kind) {
    case EMBER_VALUE_TENSOR: return "tensor";
    case EMBER_VALUE_SEQUENCE: return "sequence";
    case EMBER_VALUE_NONE: return "empty optional";
    default: return "missing value";
    }
}

/* Same length and element type, then item by item as tensors. */
static bool compare_sequence(const char *name, const ember_value *expected,
                             const ember_value *actual, double rtol, double atol, char *why)
{
    size_t n = ember_value_get_sequence_length(expected);
    size_t n_actual = ember_value_get_sequence_length(actual);
    ember_dtype dtype = ember_value_get_dtype(expected);
    if (n_actual != n)
        return fail(why, "output '%s': a sequence of %zu tensors, expected %zu", name, n_actual,
                    n);
    if (ember_value_get_dtype(actual) != dtype)
        return fail(why, "output '%s': a sequence of %s, expected %s", name,
                    ember_dtype_name(ember_value_get_dtype(actual)), ember_dtype_name(dtype));
    for (size_t i = 0; i < n; i++) {
        char item_name[512];
        snprintf(item_name, sizeof item_name, "%s[%zu]", name, i);
        if (!compare_tensor(item_name, ember_value_get_sequence_item(expected, i),
                            ember_value_get_sequence_item(actual, i), rtol, atol, why))
            return false;
    }
    return true;
}

bool conf_compare(const char *name, const ember_value *expected, const ember_value *actual,
                  double rtol, double atol, char *why)
{
    ember_value_kind kind = ember_value_get_kind(expected);
    ember_value_kind got = ember_value_get_kind(actual);
    if (got != kind)
        return fail(why, "output '%s': a %s, expected a %s", name, kind_name(got),
                    kind_name(kind));
    if (kind == EMBER_VALUE_SEQUENCE)
        return compare_sequence(name, expected, actual, rtol, atol, why);
    if (kind == EMBER_VALUE_TENSOR)
        return compare_tensor(name, expected, actual, rtol, atol, why);
    return true;
}
