/*
 * Private header of the reduce family (kernels_reduce*.c): element access
 * as double and the input, output and axis helpers that kernels_reduce.c
 * defines for the other files of the family, and their create functions,
 * which the family's registration table in kernels_reduce.c lists.
 */
#ifndef EMBER_KERNELS_REDUCE_H
#define EMBER_KERNELS_REDUCE_H

#include "cpu_kernel.h"

#include <math.h>

/* ---- element access as double ----------------------------------------- */

/* Converts to a signed integer of the given range, saturating (and
 * truncating toward zero, as numpy's astype does). */
static inline int64_t rd_to_int(double v, double lo, double hi)
{
    if (isnan(v))
        return 0;
    if (v <= lo)
        return (int64_t)lo;
    if (v >= hi)
        return v >= 9.2e18 ? INT64_MAX : (int64_t)hi;
    return (int64_t)v;
}

static inline uint64_t rd_to_uint(double v, double hi)
{
    if (isnan(v) || v <= 0)
        return 0;
    if (v >= hi)
        return hi >= 1.8e19 ? UINT64_MAX : (uint64_t)hi;
    return (uint64_t)v;
}

static inline void rd_set(void *data, uint32_t dtype, size_t i, double v)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: ((float *)data)[i] = (float)v; break;
    case EMBER_DTYPE_FLOAT64: ((double *)data)[i] = v; break;
    case EMBER_DTYPE_FLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_f16((float)v); break;
    case EMBER_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_bf16((float)v); break;
    case EMBER_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)rd_to_int(v, -128, 127); break;
    case EMBER_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)rd_to_int(v, -32768, 32767); break;
    case EMBER_DTYPE_INT32:
        ((int32_t *)data)[i] = (int32_t)rd_to_int(v, -2147483648.0, 2147483647.0);
        break;
    case EMBER_DTYPE_INT64:
        ((int64_t *)data)[i] = rd_to_int(v, -9223372036854775808.0, 9223372036854775807.0);
        break;
    case EMBER_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)rd_to_uint(v, 255); break;
    case EMBER_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)rd_to_uint(v, 65535); break;
    case EMBER_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)rd_to_uint(v, 4294967295.0); break;
    case EMBER_DTYPE_UINT64: ((uint64_t *)data)[i] = rd_to_uint(v, 18446744073709551615.0); break;
    case EMBER_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: break;
    }
}

/* Scratch array of n doubles (at least one element). */
ember_status cpu_rd_scratch(const cpu_kernel *k, ember_kernel_context *ctx, size_t n,
                            double **out);

/* Input `index` (required), checked to be numeric, and its elements as a
 * scratch array of doubles. */
ember_status cpu_rd_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                          const ember_tensor **t, double **vals);

/* An optional input: *t is NULL when absent. */
ember_status cpu_rd_optional(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                             const ember_tensor **t, double **vals);

void cpu_rd_store(ember_tensor *t, const double *vals, size_t n);

/* Whether output `index` exists (the node names it). */
bool cpu_rd_has_output(const cpu_kernel *k, ember_kernel_context *ctx, size_t index);

/* Static dtype of output `index`, or `dflt` when unknown. */
uint32_t cpu_rd_output_dtype(const cpu_kernel *k, const ember_node *node, size_t index,
                             uint32_t dflt);

ember_status cpu_rd_fail_axis(const cpu_kernel *k, size_t index, const ember_tensor *t,
                              int64_t axis);

/* Splits dims around `axis`: outer (before), len (the axis), inner (after). */
void cpu_rd_split(const ember_tensor *t, size_t axis, size_t *outer, size_t *len,
                  size_t *inner);

/*
 * For each element of a tensor of shape dims[0..rank), the linear index of
 * its image when the axes in `mask` are collapsed (map[] has numel
 * entries). Returns the collapsed element count.
 */
size_t cpu_rd_reduce_map(const int64_t *dims, size_t rank, uint32_t mask, size_t *map,
                         size_t n);

/*
 * Offsets into a tensor of shape sdims[0..srank) broadcast (right-aligned,
 * numpy style) to dims[0..rank), for every element of dims. False when the
 * shapes do not broadcast.
 */
bool cpu_rd_bcast_map(const int64_t *sdims, size_t srank, const int64_t *dims, size_t rank,
                      size_t *map, size_t n);

ember_status cpu_det_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_ein_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_ln_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_gn_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_in_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_lp_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_mvn_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_lrn_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_drop_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_nll_create(cpu_kernel *k, const ember_node *node);

#endif /* EMBER_KERNELS_REDUCE_H */
