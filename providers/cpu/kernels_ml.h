/*
 * Private header of the ai.onnx.ml and training family: element access by
 * dtype and the attribute helpers of kernels_ml.c that TreeEnsemble
 * (kernels_ml_tree.c) and the optimizers (kernels_ml_training.c) use, and
 * their create functions, which the registration table in kernels_ml.c lists.
 */
#ifndef EMBER_KERNELS_ML_H
#define EMBER_KERNELS_ML_H

#include "cpu_kernel.h"

static inline bool ml_is_int(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_INT64 || dtype == EMBER_DTYPE_INT32 ||
           dtype == EMBER_DTYPE_INT16 || dtype == EMBER_DTYPE_INT8 ||
           dtype == EMBER_DTYPE_UINT8 || dtype == EMBER_DTYPE_UINT16 ||
           dtype == EMBER_DTYPE_UINT32 || dtype == EMBER_DTYPE_UINT64;
}

static inline bool ml_is_float(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_FLOAT32 || dtype == EMBER_DTYPE_FLOAT64 ||
           dtype == EMBER_DTYPE_FLOAT16 || dtype == EMBER_DTYPE_BFLOAT16;
}

/* Element i of an integer buffer, exactly. */
static inline int64_t ml_get_int(const void *data, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case EMBER_DTYPE_INT64: return ((const int64_t *)data)[i];
    case EMBER_DTYPE_UINT64: return (int64_t)((const uint64_t *)data)[i];
    case EMBER_DTYPE_UINT32: return ((const uint32_t *)data)[i];
    default: return (int64_t)cpu_get_f64(data, dtype, i);
    }
}

/* Stores v into element i of a float or integer buffer. */
static inline void ml_put(void *data, uint32_t dtype, size_t i, double v, int64_t iv)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: ((float *)data)[i] = (float)v; break;
    case EMBER_DTYPE_FLOAT64: ((double *)data)[i] = v; break;
    case EMBER_DTYPE_FLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_f16((float)v); break;
    case EMBER_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_bf16((float)v); break;
    case EMBER_DTYPE_INT64: ((int64_t *)data)[i] = iv; break;
    case EMBER_DTYPE_INT32: ((int32_t *)data)[i] = (int32_t)iv; break;
    case EMBER_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)iv; break;
    case EMBER_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)iv; break;
    case EMBER_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)iv; break;
    case EMBER_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)iv; break;
    case EMBER_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)iv; break;
    case EMBER_DTYPE_UINT64: ((uint64_t *)data)[i] = (uint64_t)iv; break;
    default: break;
    }
}

ember_status cpu_ml_bad_attr(const cpu_kernel *k, const char *name, const char *why);

/* A tensor attribute; *out is NULL when absent. */
ember_status cpu_ml_attr_tensor(const cpu_kernel *k, const ember_node *node,
                                const char *name, const ember_tensor **out);

/* An ints attribute copied into a malloc'd array (NULL, 0 when absent). */
ember_status cpu_ml_attr_ints_dup(const cpu_kernel *k, const ember_node *node,
                                  const char *name, int64_t **out, size_t *n);

ember_status cpu_tree_create(cpu_kernel *k, const ember_node *node);

bool cpu_tree_check(const ember_host_api *host, const ember_node *node);

ember_status cpu_momentum_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_adam_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_adagrad_create(cpu_kernel *k, const ember_node *node);

/* Every input after T is float32 or float64; R too. */
bool cpu_optim_check(const ember_host_api *host, const ember_node *node);

#endif /* EMBER_KERNELS_ML_H */
