/*
 * Private header of the image family (kernels_image*.c): the float64
 * load/emit helpers and attribute helpers that kernels_image.c defines for
 * the other files of the family, and their create functions, which the
 * family's registration table in kernels_image.c lists.
 */
#ifndef EMBER_KERNELS_IMAGE_H
#define EMBER_KERNELS_IMAGE_H

#include "cpu_kernel.h"

ember_status cpu_img_scratch(const cpu_kernel *k, ember_kernel_context *ctx, size_t count,
                             size_t esize, void **out);

/* A float64 copy of tensor t (input `index`, for messages). */
ember_status cpu_img_load(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                          const ember_tensor *t, double **out);

/* Allocates output `index` of x's dtype (or `dtype`) and stores y into it. */
ember_status cpu_img_emit(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                          uint32_t dtype, const int64_t *dims, size_t rank, const double *y);

/* Whether the element count of dims[0..rank) fits in 2^62 (so products
 * with small element sizes cannot overflow). */
bool cpu_img_count_ok(const int64_t *dims, size_t rank);

/* The first element of a scalar-like tensor as float64 (0 when empty). */
ember_status cpu_img_scalar(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                            const ember_tensor *t, double *out);

ember_status cpu_img_bad_attr(const cpu_kernel *k, const char *name, const char *value);

/* Decodes string attribute `name` into one of names[] (*out: its index). */
ember_status cpu_img_attr_enum(const cpu_kernel *k, const ember_node *node, const char *name,
                               const char *dflt, const char *const *names, int n, int *out);

/* The input is a float or integer type. */
ember_status cpu_img_need_numeric(const cpu_kernel *k, size_t index, const ember_tensor *t);

/* The input is numeric or bool. */
ember_status cpu_img_need_fixed(const cpu_kernel *k, size_t index, const ember_tensor *t);

ember_status cpu_img_create_convtranspose(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_deformconv(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_nms(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_lppool(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_global_maxpool(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_global_lppool(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_maxunpool(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_resize(cpu_kernel *k, const ember_node *node);

/* Upsample-7 keeps its scales in an attribute; Upsample-9 and -10 take
 * them as input 1. */
ember_status cpu_img_create_upsample(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_gridsample(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_affine_grid(cpu_kernel *k, const ember_node *node);

ember_status cpu_img_create_roialign(cpu_kernel *k, const ember_node *node);

#endif /* EMBER_KERNELS_IMAGE_H */
