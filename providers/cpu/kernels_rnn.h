/*
 * Private header of the recurrent and attention family (kernels_rnn*.c):
 * the double scratch load/store helpers that kernels_rnn.c defines for the
 * other files of the family, and their create functions, which the family's
 * registration table in kernels_rnn.c lists.
 */
#ifndef EMBER_KERNELS_RNN_H
#define EMBER_KERNELS_RNN_H

#include "cpu_kernel.h"

#include <math.h>

/* Rounds v to the precision of a float dtype. */
static inline double rnn_round(uint32_t dtype, double v)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return (float)v;
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(cpu_f32_to_f16((float)v));
    case EMBER_DTYPE_BFLOAT16: return cpu_bf16_to_f32(cpu_f32_to_bf16((float)v));
    default: return v;
    }
}

static inline void rnn_put(const ember_tensor *t, size_t i, double v)
{
    switch (t->dtype) {
    case EMBER_DTYPE_FLOAT32: ((float *)t->data)[i] = (float)v; break;
    case EMBER_DTYPE_FLOAT64: ((double *)t->data)[i] = v; break;
    case EMBER_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = cpu_f32_to_f16((float)v); break;
    case EMBER_DTYPE_BFLOAT16: ((uint16_t *)t->data)[i] = cpu_f32_to_bf16((float)v); break;
    default: break;
    }
}

static inline double rnn_sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* Scratch array of n doubles (zeroed). */
ember_status cpu_rnn_alloc(ember_kernel_context *ctx, const cpu_kernel *k, size_t n,
                           double **out);

/* Scratch double copy of tensor t. */
ember_status cpu_rnn_load(ember_kernel_context *ctx, const cpu_kernel *k,
                          const ember_tensor *t, double **out);

/* Whether the node asks for output `index`. */
bool cpu_rnn_wants_output(const ember_host_api *host, const ember_node *node, size_t index);

/* Allocates output `index` of dtype and writes src (n doubles) into it. */
ember_status cpu_rnn_store(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                           uint32_t dtype, const int64_t *dims, size_t rank,
                           const double *src);

ember_status cpu_rnn_check_float_input(const cpu_kernel *k, size_t index,
                                       const ember_tensor *t);

ember_status cpu_attn_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_rope_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_swiglu_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_linattn_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_ccws_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_rec_create(cpu_kernel *k, const ember_node *node);

#endif /* EMBER_KERNELS_RNN_H */
