/*
 * Private header of the shape family (kernels_shape*.c): the element mover
 * and the index, list and scratch helpers that kernels_shape.c defines for
 * the other files of the family, and their create functions, which the
 * family's one registration table in kernels_shape.c lists.
 */
#ifndef EMBER_KERNELS_SHAPE_H
#define EMBER_KERNELS_SHAPE_H

#include "cpu_kernel.h"

/* Most values a list attribute or input of this family may hold (split
 * sizes, pads); larger lists are refused. */
#define SHP_MAX_LIST 1024

/* Copies elements of x into y: by element size, or strings one by one. */
typedef struct shp_mover {
    const ember_host_api *host;
    const cpu_kernel *k;
    ember_kernel_context *ctx; /* for cpu_parallel; NULL: serial */
    const ember_tensor *x;
    ember_tensor *y;
    size_t esize; /* 0 for strings */
} shp_mover;

static inline bool shp_movable(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_STRING || cpu_dtype_size(dtype) > 0;
}

static inline void shp_mover_init(shp_mover *m, const cpu_kernel *k, const ember_tensor *x,
                                  ember_tensor *y)
{
    m->host = k->host;
    m->k = k;
    m->ctx = NULL;
    m->x = x;
    m->y = y;
    m->esize = cpu_dtype_size(x->dtype);
}

/* Copies n consecutive elements from x[si] to y[di]. */
static inline ember_status shp_move_n(const shp_mover *m, size_t di, size_t si, size_t n)
{
    if (m->esize > 0) {
        if (n > 0)
            memcpy((unsigned char *)m->y->data + di * m->esize,
                   (const unsigned char *)m->x->data + si * m->esize, n * m->esize);
        return EMBER_OK;
    }
    const ember_string *src = (const ember_string *)m->x->data + si;
    for (size_t i = 0; i < n; i++) {
        ember_status s = m->host->tensor_set_string(m->y, di + i, src[i].data, src[i].size);
        if (s != EMBER_OK)
            return s;
    }
    return EMBER_OK;
}

static inline ember_status shp_move(const shp_mover *m, size_t di, size_t si)
{
    if (m->esize == 4) {
        memcpy((unsigned char *)m->y->data + di * 4, (const unsigned char *)m->x->data + si * 4,
               4);
        return EMBER_OK;
    }
    return shp_move_n(m, di, si, 1);
}

static inline void shp_strides(const int64_t *dims, size_t rank, int64_t *strides)
{
    int64_t s = 1;
    for (size_t d = rank; d-- > 0;) {
        strides[d] = s;
        s *= dims[d];
    }
}

static inline int64_t shp_index_at(const ember_tensor *t, size_t i)
{
    return t->dtype == EMBER_DTYPE_INT64 ? ((const int64_t *)t->data)[i]
                                         : ((const int32_t *)t->data)[i];
}

static inline bool shp_is_numeric(uint32_t dt)
{
    return dt < 32 && ((CPU_DT_NUMERIC | CPU_DT(EMBER_DTYPE_BOOL)) & CPU_DT(dt)) != 0;
}

/* Element i of a numeric tensor from a double (saturating casts are the
 * caller's concern: values here come from the model). */
static inline void shp_set(void *data, uint32_t dt, size_t i, double v)
{
    switch (dt) {
    case EMBER_DTYPE_FLOAT32: ((float *)data)[i] = (float)v; break;
    case EMBER_DTYPE_FLOAT64: ((double *)data)[i] = v; break;
    case EMBER_DTYPE_FLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_f16((float)v); break;
    case EMBER_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_bf16((float)v); break;
    case EMBER_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
    case EMBER_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
    case EMBER_DTYPE_INT32: ((int32_t *)data)[i] = (int32_t)v; break;
    case EMBER_DTYPE_INT64: ((int64_t *)data)[i] = (int64_t)v; break;
    case EMBER_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case EMBER_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0.0; break;
    case EMBER_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case EMBER_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case EMBER_DTYPE_UINT64: ((uint64_t *)data)[i] = (uint64_t)v; break;
    default: break;
    }
}

/*
 * The general element map: y[coord] = x[fn(coord)] for every output
 * coordinate, or the fill element when fn returns a negative value (zero
 * bytes / the empty string when fill is NULL).
 */
typedef int64_t (*shp_map_fn)(const void *arg, const int64_t *coord);

/* Input `index` with a movable dtype. */
ember_status cpu_shp_data_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                                const ember_tensor **out);

ember_status cpu_shp_fail_index(const cpu_kernel *k, size_t input, size_t pos, int64_t v,
                                int64_t dim);

/* An index tensor (int32 or int64) as input `index`. */
ember_status cpu_shp_index_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                                 const ember_tensor **out);

ember_status cpu_shp_scratch(const cpu_kernel *k, ember_kernel_context *ctx, size_t bytes,
                             void **out);

/* Reads input `index` as a list of ints (int32/int64, scalar or 1-D). */
ember_status cpu_shp_read_list(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                               int64_t *out, size_t cap, size_t *n);

ember_status cpu_shp_emit_map(const cpu_kernel *k, ember_kernel_context *ctx,
                              const ember_tensor *x, const int64_t *dims, size_t rank,
                              shp_map_fn fn, const void *arg, const void *fill);

ember_status cpu_pad_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_ccp_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_d2s_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_s2d_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_revseq_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_compress_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_trilu_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_range_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_cos_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_eyelike_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_onehot_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_size_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_nonzero_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_gather_elements_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_scatter_elements_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_gathernd_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_scatternd_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_tensor_scatter_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_unique_create(cpu_kernel *k, const ember_node *node);

ember_status cpu_col2im_create(cpu_kernel *k, const ember_node *node);

#endif /* EMBER_KERNELS_SHAPE_H */
