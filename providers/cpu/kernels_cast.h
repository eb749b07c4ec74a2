/*
 * Private header of the Cast family (kernels_cast.c): the neutral element
 * value and the element load/store of every dtype that kernels_cast.c
 * defines and kernels_cast_act.c borrows for Shrink's integer types.
 */
#ifndef EMBER_KERNELS_CAST_H
#define EMBER_KERNELS_CAST_H

#include "cpu_kernel.h"

/* Elements per parallel work item (a multiple of 4, so that two items
 * never share a byte of a packed 2- or 4-bit tensor). */
#define CAST_CHUNK 16384

enum { NUM_INT, NUM_UINT, NUM_FLOAT };

/* One element as a neutral value: a signed or unsigned integer or a double. */
typedef struct num {
    int kind;
    int64_t i;
    uint64_t u;
    double f;
} num;

static inline num num_float(double v)
{
    return (num){NUM_FLOAT, 0, 0, v};
}

static inline float num_as_float(num v)
{
    return v.kind == NUM_FLOAT ? (float)v.f : v.kind == NUM_INT ? (float)v.i : (float)v.u;
}

static inline num num_int(int64_t v)
{
    return (num){NUM_INT, v, (uint64_t)v, 0.0};
}

static inline num num_uint(uint64_t v)
{
    return (num){NUM_UINT, (int64_t)v, v, 0.0};
}

static inline double num_as_double(num v)
{
    return v.kind == NUM_FLOAT ? v.f : v.kind == NUM_INT ? (double)v.i : (double)v.u;
}

enum { ROUND_UP, ROUND_DOWN, ROUND_NEAREST };

/* Settings of one cast. */
typedef struct cast_spec {
    uint32_t from, to;
    bool saturate;
    int round_mode;
    bool exact_float; /* the source's values are float32-exact */
} cast_spec;

num cpu_load_num(const void *data, uint32_t dt, size_t i);

void cpu_store_num(const cast_spec *c, void *data, size_t i, num v);

#endif /* EMBER_KERNELS_CAST_H */
