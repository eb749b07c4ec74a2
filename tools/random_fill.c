/*
 * Seeded pseudo-random tensor data for inputs that `ember run` was not
 * given, and the float16 conversions it and the summary printer need. The
 * generator is splitmix64, so a seed gives the same data on every machine.
 */
#include <math.h>
#include <string.h>

#include "cli.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1) from the top 53 bits. */
static double next_unit(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * 0x1p-52 - 1.0;
}

uint16_t half_from_float(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = (x >> 23) & 0xFFu, mant = x & 0x7FFFFFu;
    if (exp == 0xFF)
        return sign | 0x7C00u | (mant ? 0x200u : 0);
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return sign | 0x7C00u;
    if (e <= 0) {
        if (e < -10)
            return sign;
        mant |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1u)))
            half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = ((uint32_t)e << 10) | (mant >> 13), rest = mant & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
        half++; // a carry into the exponent is the correct rounding
    return sign | (uint16_t)half;
}

float half_to_float(uint16_t h)
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

static void fill_floats(ember_dtype dtype, void *data, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; i++) {
        double v = next_unit(state);
        if (dtype == EMBER_DTYPE_FLOAT32)
            ((float *)data)[i] = (float)v;
        else if (dtype == EMBER_DTYPE_FLOAT64)
            ((double *)data)[i] = v;
        else
            ((uint16_t *)data)[i] = half_from_float((float)v);
    }
}

/* Small non-negative integers: valid as indices, counts and booleans. */
static void fill_integers(void *data, size_t n, size_t elem, int64_t range, uint64_t *state)
{
    unsigned char *bytes = data;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = splitmix64(state) % (uint64_t)range;
        for (size_t b = 0; b < elem; b++) // little-endian: the low byte first
            bytes[i * elem + b] = (unsigned char)(b < 8 ? v >> (8 * b) : 0);
    }
}

bool random_fill(ember_dtype dtype, void *data, size_t n, uint64_t seed)
{
    uint64_t state = seed;
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32:
    case EMBER_DTYPE_FLOAT64:
    case EMBER_DTYPE_FLOAT16:
        fill_floats(dtype, data, n, &state);
        return true;
    case EMBER_DTYPE_BOOL:
        fill_integers(data, n, 1, 2, &state);
        return true;
    case EMBER_DTYPE_INT8:
    case EMBER_DTYPE_UINT8:
    case EMBER_DTYPE_INT16:
    case EMBER_DTYPE_UINT16:
    case EMBER_DTYPE_INT32:
    case EMBER_DTYPE_UINT32:
    case EMBER_DTYPE_INT64:
    case EMBER_DTYPE_UINT64:
        fill_integers(data, n, ember_dtype_size(dtype), 4, &state);
        return true;
    default:
        return false;
    }
}
