/*
 * Image and spatial ops: Resize and Upsample, GridSample, AffineGrid,
 * RoiAlign, NonMaxSuppression, MaxUnpool, LpPool, GlobalMaxPool,
 * GlobalLpPool, ConvTranspose and DeformConv.
 *
 * Most kernels here compute in float64: the inputs are converted to a
 * float64 scratch copy (cpu_img_load) and the result converted back to the
 * input's dtype (img_store), which covers every float and integer dtype
 * with one code path. This file holds the helpers the family
 * shares (declared in kernels_image.h) and the registration table; the op
 * groups live in kernels_image_resize.c, kernels_image_sample.c,
 * kernels_image_pool.c, kernels_image_conv.c and kernels_image_nms.c.
 */
#include "kernels_image.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- shared helpers ------------------------------------------------------ */

ember_status cpu_img_scratch(const cpu_kernel *k, ember_kernel_context *ctx, size_t count,
                             size_t esize, void **out)
{
    if (count != 0 && esize > SIZE_MAX / count)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (%s): scratch size overflows",
                             k->name, k->op);
    return k->host->ctx_scratch(ctx, count * esize + 8, out);
}

#define IMG_LOAD_CASE(DT, T)                                                             \
    case DT:                                                                             \
        for (size_t i = 0; i < n; i++)                                                   \
            dst[i] = (double)((const T *)t->data)[i];                                    \
        break;

ember_status cpu_img_load(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                          const ember_tensor *t, double **out)
{
    size_t n = cpu_tensor_numel(t);
    double *dst;
    ember_status s = cpu_img_scratch(k, ctx, n, sizeof(double), (void **)&dst);
    if (s != EMBER_OK)
        return s;
    switch (t->dtype) {
        IMG_LOAD_CASE(EMBER_DTYPE_FLOAT32, float)
        IMG_LOAD_CASE(EMBER_DTYPE_FLOAT64, double)
        IMG_LOAD_CASE(EMBER_DTYPE_INT8, int8_t)
        IMG_LOAD_CASE(EMBER_DTYPE_INT16, int16_t)
        IMG_LOAD_CASE(EMBER_DTYPE_INT32, int32_t)
        IMG_LOAD_CASE(EMBER_DTYPE_INT64, int64_t)
        IMG_LOAD_CASE(EMBER_DTYPE_UINT8, uint8_t)
        IMG_LOAD_CASE(EMBER_DTYPE_UINT16, uint16_t)
        IMG_LOAD_CASE(EMBER_DTYPE_UINT32, uint32_t)
        IMG_LOAD_CASE(EMBER_DTYPE_UINT64, uint64_t)
        IMG_LOAD_CASE(EMBER_DTYPE_BOOL, uint8_t)
    case EMBER_DTYPE_FLOAT16:
        for (size_t i = 0; i < n; i++)
            dst[i] = cpu_f16_to_f32(((const uint16_t *)t->data)[i]);
        break;
    case EMBER_DTYPE_BFLOAT16:
        for (size_t i = 0; i < n; i++)
            dst[i] = cpu_bf16_to_f32(((const uint16_t *)t->data)[i]);
        break;
    default:
        return cpu_fail_dtype(k, index, t->dtype);
    }
    *out = dst;
    return EMBER_OK;
}

/* Rounds half to even and saturates into [lo, hi]. */
static inline double img_sat(double v, double lo, double hi)
{
    if (isnan(v))
        return 0.0;
    v = nearbyint(v);
    return v < lo ? lo : v > hi ? hi : v;
}

#define IMG_STORE_INT(DT, T, LO, HI)                                                     \
    case DT:                                                                             \
        for (size_t i = 0; i < n; i++)                                                   \
            ((T *)dst)[i] = (T)img_sat(src[i], (double)(LO), (double)(HI));              \
        break;

/* Converts n float64 values into dtype elements at dst. */
static void img_store(uint32_t dtype, const double *src, void *dst, size_t n)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32:
        for (size_t i = 0; i < n; i++)
            ((float *)dst)[i] = (float)src[i];
        break;
    case EMBER_DTYPE_FLOAT64:
        memcpy(dst, src, n * sizeof(double));
        break;
    case EMBER_DTYPE_FLOAT16:
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = cpu_f32_to_f16((float)src[i]);
        break;
    case EMBER_DTYPE_BFLOAT16:
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = cpu_f32_to_bf16((float)src[i]);
        break;
        IMG_STORE_INT(EMBER_DTYPE_INT8, int8_t, INT8_MIN, INT8_MAX)
        IMG_STORE_INT(EMBER_DTYPE_INT16, int16_t, INT16_MIN, INT16_MAX)
        IMG_STORE_INT(EMBER_DTYPE_INT32, int32_t, INT32_MIN, INT32_MAX)
        IMG_STORE_INT(EMBER_DTYPE_INT64, int64_t, -9223372036854775808.0, 9223372036854774784.0)
        IMG_STORE_INT(EMBER_DTYPE_UINT8, uint8_t, 0, UINT8_MAX)
        IMG_STORE_INT(EMBER_DTYPE_UINT16, uint16_t, 0, UINT16_MAX)
        IMG_STORE_INT(EMBER_DTYPE_UINT32, uint32_t, 0, UINT32_MAX)
        IMG_STORE_INT(EMBER_DTYPE_UINT64, uint64_t, 0, 18446744073709549568.0)
    case EMBER_DTYPE_BOOL:
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)dst)[i] = src[i] != 0.0;
        break;
    default:
        break;
    }
}

ember_status cpu_img_emit(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                          uint32_t dtype, const int64_t *dims, size_t rank, const double *y)
{
    ember_tensor *out;
    ember_status s = cpu_output(k, ctx, index, dtype, dims, rank, &out);
    if (s == EMBER_OK)
        img_store(dtype, y, out->data, cpu_tensor_numel(out));
    return s;
}

bool cpu_img_count_ok(const int64_t *dims, size_t rank)
{
    uint64_t n = 1;
    for (size_t d = 0; d < rank; d++) {
        if (dims[d] < 0)
            return false;
        if (dims[d] == 0)
            return true;
    }
    for (size_t d = 0; d < rank; d++) {
        if ((uint64_t)dims[d] > ((uint64_t)1 << 62) / n)
            return false;
        n *= (uint64_t)dims[d];
    }
    return true;
}

ember_status cpu_img_scalar(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                            const ember_tensor *t, double *out)
{
    double *v;
    ember_status s = cpu_img_load(k, ctx, index, t, &v);
    if (s == EMBER_OK)
        *out = cpu_tensor_numel(t) ? v[0] : 0.0;
    return s;
}

/* Index of `value` in names[0..n) (case-sensitive); -1 when absent. */
static int img_pick(const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(value, names[i]) == 0)
            return i;
    }
    return -1;
}

ember_status cpu_img_bad_attr(const cpu_kernel *k, const char *name, const char *value)
{
    return k->host->fail(EMBER_E_INVALID_MODEL,
                         "node '%s' (%s): attribute '%s' has the unsupported value '%s'",
                         k->name, k->op, name, value);
}

ember_status cpu_img_attr_enum(const cpu_kernel *k, const ember_node *node, const char *name,
                               const char *dflt, const char *const *names, int n, int *out)
{
    char value[64];
    ember_status s = cpu_attr_string(k, node, name, dflt, value, sizeof value);
    if (s != EMBER_OK)
        return s;
    int i = img_pick(value, names, n);
    if (i < 0)
        return cpu_img_bad_attr(k, name, value);
    *out = i;
    return EMBER_OK;
}

static bool img_check_numeric(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_NUMERIC);
}

static bool img_check_float(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_FLOATS);
}

static bool img_check_fixed(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_NUMERIC | CPU_DT(EMBER_DTYPE_BOOL));
}

ember_status cpu_img_need_numeric(const cpu_kernel *k, size_t index, const ember_tensor *t)
{
    if (!(CPU_DT(t->dtype) & CPU_DT_NUMERIC))
        return cpu_fail_dtype(k, index, t->dtype);
    return EMBER_OK;
}

ember_status cpu_img_need_fixed(const cpu_kernel *k, size_t index, const ember_tensor *t)
{
    if (t->dtype != EMBER_DTYPE_BOOL)
        return cpu_img_need_numeric(k, index, t);
    return EMBER_OK;
}

/* Resize and Upsample: any dtype (strings only in nearest mode). */
static bool img_check_any(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0,
                              CPU_DT_NUMERIC | CPU_DT(EMBER_DTYPE_BOOL) |
                                  CPU_DT(EMBER_DTYPE_STRING));
}

const cpu_op_entry cpu_ops_image[] = {
    {"Resize", 10, CPU_OPSET_MAX, img_check_any, cpu_img_create_resize},
    {"Upsample", 7, 10, img_check_any, cpu_img_create_upsample},
    {"GridSample", 16, CPU_OPSET_MAX, img_check_numeric, cpu_img_create_gridsample},
    {"AffineGrid", 20, CPU_OPSET_MAX, img_check_float, cpu_img_create_affine_grid},
    {"RoiAlign", 10, CPU_OPSET_MAX, img_check_float, cpu_img_create_roialign},
    {"NonMaxSuppression", 10, CPU_OPSET_MAX, img_check_float, cpu_img_create_nms},
    {"MaxUnpool", 9, CPU_OPSET_MAX, img_check_fixed, cpu_img_create_maxunpool},
    {"LpPool", 1, CPU_OPSET_MAX, img_check_float, cpu_img_create_lppool},
    {"GlobalMaxPool", 1, CPU_OPSET_MAX, img_check_numeric, cpu_img_create_global_maxpool},
    {"GlobalLpPool", 1, CPU_OPSET_MAX, img_check_float, cpu_img_create_global_lppool},
    {"ConvTranspose", 1, CPU_OPSET_MAX, img_check_float, cpu_img_create_convtranspose},
    {"DeformConv", 19, CPU_OPSET_MAX, img_check_float, cpu_img_create_deformconv},
    {NULL, 0, 0, NULL, NULL},
};
