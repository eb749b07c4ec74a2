/*
 * Private header of the quantization family (kernels_quant*.c): element
 * access for the quantized and float types (kernels_quant.c), the helpers one
 * part lends another, and the create functions the family's registration
 * table in kernels_quant.c lists.
 */
#ifndef EMBER_KERNELS_QUANT_H
#define EMBER_KERNELS_QUANT_H

#include "cpu_kernel.h"

/* Whether cpu_q_load reads the dtype. */
bool cpu_q_loadable(uint32_t dtype);

/* Element i of a tensor's data as double. */
double cpu_q_load(const void *data, uint32_t dtype, size_t i);

/* Stores v into element i of a float tensor (float32/64, float16,
 * bfloat16), rounding to the type. */
void cpu_q_store_float(void *data, uint32_t dtype, size_t i, double v);

bool cpu_q_is_quant_type(uint32_t dtype);

/* Stores the real value v (not yet rounded) into element i of a quantized
 * tensor: integers round half to even and clip; the float formats round to
 * nearest even and saturate (or not). */
void cpu_q_store_quant(void *data, uint32_t dtype, size_t i, double v, bool saturate);

/* Rounds a float32-computed value to the precision of `dtype`. */
double cpu_q_round_to(uint32_t dtype, double v);

ember_status cpu_mmi_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_qlmm_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_convi_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_qlconv_create(cpu_kernel *k, const ember_node *node);

/* Stores v into element i of any numeric (or bool) tensor. */
void cpu_rnd_store(void *data, uint32_t dtype, size_t i, double v);

ember_status cpu_rnd_uniform_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_rnd_normal_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_rnd_uniform_like_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_rnd_normal_like_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_rnd_bernoulli_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_rnd_multinomial_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_dft_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_stft_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_win_hann_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_win_hamming_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_win_blackman_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_mel_create(cpu_kernel *k, const ember_node *node);

#endif /* EMBER_KERNELS_QUANT_H */
