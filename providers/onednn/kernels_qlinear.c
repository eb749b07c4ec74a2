/*
 * The quantized ops in int8: QLinearMatMul and QLinearConv.
 *
 * QLinearMatMul (opset 10, 21) as a oneDNN int8 matmul: A uint8 or int8,
 * B int8, Y uint8 or int8 (A's type), with the scales and zero points
 * constant scalars (a per-column B scale too), which is how quantized
 * models carry them. The primitive computes
 *   y = saturate(round(a_scale * b_scale / y_scale * (A - a_zp)(B - b_zp)) + y_zp)
 * with its output scale and zero-point attributes, rounding half to even as
 * ONNX does. Scales or zero points that are graph inputs, uint8 weights and
 * float16 scales are left to the CPU provider.
 */
#include "onednn_kernel.h"

#include <string.h>

typedef struct qmm_params {
    float scale_a, scale_y;
    int32_t zp_a, zp_b, zp_y;
    size_t n_scale_b;
    const float *scale_b; /* the graph's constant (n_scale_b values) */
} qmm_params;

/* Input index of each operand, as ONNX numbers them. */
enum { A, A_SCALE, A_ZP, B, B_SCALE, B_ZP, Y_SCALE, Y_ZP, N_INPUTS };

static bool is_int8(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_UINT8 || dtype == EMBER_DTYPE_INT8;
}

/* Input `index` when it is a constant of `dtype` and rank <= 1. */
static const ember_tensor *constant_of(const ember_host_api *host, const ember_node *node,
                                       size_t index, uint32_t dtype)
{
    const ember_tensor *t = host->node_input_constant(node, index);
    return t != NULL && t->dtype == dtype && t->rank <= 1 ? t : NULL;
}

static size_t numel(const ember_tensor *t)
{
    return t->rank == 0 ? 1 : (size_t)t->dims[0];
}

bool onednn_check_qlinear_matmul(const ember_host_api *host, const ember_node *node)
{
    ember_type_info a, b;
    if (host->node_input_count(node) != N_INPUTS || !host->node_input_type(node, A, &a) ||
        !host->node_input_type(node, B, &b) || !is_int8(a.dtype) ||
        b.dtype != EMBER_DTYPE_INT8 || a.rank < 2 || a.rank > 3 || b.rank != 2)
        return false;
    const ember_tensor *b_scale = constant_of(host, node, B_SCALE, EMBER_DTYPE_FLOAT32);
    ember_type_info y;
    return constant_of(host, node, A_SCALE, EMBER_DTYPE_FLOAT32) != NULL &&
           numel(constant_of(host, node, A_SCALE, EMBER_DTYPE_FLOAT32)) == 1 &&
           b_scale != NULL && (numel(b_scale) == 1 || (b.dims[1] > 0 &&
                                                        numel(b_scale) == (size_t)b.dims[1])) &&
           constant_of(host, node, Y_SCALE, EMBER_DTYPE_FLOAT32) != NULL &&
           constant_of(host, node, A_ZP, a.dtype) != NULL &&
           constant_of(host, node, B_ZP, EMBER_DTYPE_INT8) != NULL &&
           numel(constant_of(host, node, B_ZP, EMBER_DTYPE_INT8)) == 1 &&
           constant_of(host, node, Y_ZP, a.dtype) != NULL &&
           constant_of(host, node, Y_SCALE, EMBER_DTYPE_FLOAT32) != NULL &&
           numel(constant_of(host, node, Y_SCALE, EMBER_DTYPE_FLOAT32)) == 1 &&
           host->node_output_type(node, 0, &y) && y.dtype == a.dtype;
}

static int32_t zero_point(const ember_tensor *t)
{
    return t->dtype == EMBER_DTYPE_UINT8 ? *(const uint8_t *)t->data
                                         : *(const int8_t *)t->data;
}

/* ---- build ------------------------------------------------------------------ */

static ember_status md_of(const onednn_kernel *k, dnnl_memory_desc_t *md, const int64_t *dims,
                          size_t rank, dnnl_data_type_t dt, bool any)
{
    dnnl_dims_t d;
    for (size_t i = 0; i < rank; i++)
        d[i] = dims[i];
    static const dnnl_format_tag_t dense[] = {dnnl_a, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd};
    if (rank == 0 || rank > 4)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED, "node '%s' (%s): rank %zu", k->name,
                             k->op, rank);
    return onednn_check(k,
                        dnnl_memory_desc_init_by_tag(md, (int)rank, d, dt,
                                                     any ? dnnl_format_tag_any : dense[rank]),
                        "an int8 descriptor");
}

static ember_status qmm_attr(const onednn_kernel *k, dnnl_primitive_attr_t attr)
{
    const qmm_params *p = k->params;
    float scales[4096];
    size_t count = p->n_scale_b;
    if (count > sizeof scales / sizeof scales[0])
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (QLinearMatMul): %zu per-column scales (at most 4096)",
                             k->name, count);
    for (size_t i = 0; i < count; i++)
        scales[i] = p->scale_a * p->scale_b[i] / p->scale_y;
    int mask = count > 1 ? 1 << 1 : 0; /* the N dim of the [M, N] product */
    ember_status s = onednn_check(
        k, dnnl_primitive_attr_set_output_scales(attr, (dnnl_dim_t)count, mask, scales),
        "the output scales");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0,
                                                                &p->zp_a),
                         "A's zero point");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_WEIGHTS, 1, 0,
                                                                &p->zp_b),
                         "B's zero point");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_DST, 1, 0,
                                                                &p->zp_y),
                         "Y's zero point");
    return s;
}

static ember_status qmm_build(const onednn_kernel *k, const onednn_shapes *in,
                              onednn_plan *plan)
{
    const int64_t *a = in->dims[A], *b = in->dims[B];
    size_t rank = in->rank[A];
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < rank; i++)
        rows *= a[i];
    if (in->rank[B] != 2 || a[rank - 1] != b[0])
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (QLinearMatMul): A and B do not multiply", k->name);
    /* A's leading dims fold into rows: one [M, K] x [K, N] int8 product. */
    int64_t a2[2] = {rows, b[0]}, y2[2] = {rows, b[1]}, y[ONEDNN_MAX_RANK];
    memcpy(y, a, rank * sizeof *y);
    y[rank - 1] = b[1];
    onednn_plan_shape(plan, 0, y, rank);
    plan->out_dtype[0] = k->dt == dnnl_u8 ? EMBER_DTYPE_UINT8 : EMBER_DTYPE_INT8;
    dnnl_data_type_t dt = k->dt;
    dnnl_memory_desc_t src, wei_user, wei, dst;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    ember_status s = md_of(k, &src, a2, 2, dt, false);
    if (s == EMBER_OK)
        s = md_of(k, &wei_user, b, 2, dnnl_s8, false);
    if (s == EMBER_OK)
        s = md_of(k, &wei, b, 2, dnnl_s8, in->data[B] != NULL);
    if (s == EMBER_OK)
        s = md_of(k, &dst, y2, 2, dt, false);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_matmul_desc_init(&desc, &src, &wei, NULL, &dst), "the matmul");
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = qmm_attr(k, attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, A, &src, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_WEIGHTS, B, &wei_user,
                              onednn_pd_md(pd, dnnl_query_weights_md, 0));
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &dst, NULL);
    return onednn_plan_finish(k, plan, s, pd, attr);
}

ember_status onednn_create_qlinear_matmul(onednn_kernel *k, const ember_node *node)
{
    const ember_host_api *host = k->host;
    ember_type_info a;
    if (!onednn_check_qlinear_matmul(host, node) || !host->node_input_type(node, A, &a))
        return host->fail(EMBER_E_NOT_IMPLEMENTED,
                          "node '%s' (QLinearMatMul): the oneDNN provider needs int8 B and "
                          "constant scalar scales and zero points",
                          k->name);
    ember_status s = onednn_params(k, sizeof(qmm_params));
    if (s != EMBER_OK)
        return s;
    qmm_params *p = k->params;
    const ember_tensor *b_scale = host->node_input_constant(node, B_SCALE);
    p->scale_a = *(const float *)host->node_input_constant(node, A_SCALE)->data;
    p->scale_y = *(const float *)host->node_input_constant(node, Y_SCALE)->data;
    p->scale_b = b_scale->data;
    p->n_scale_b = numel(b_scale);
    p->zp_a = zero_point(host->node_input_constant(node, A_ZP));
    p->zp_b = zero_point(host->node_input_constant(node, B_ZP));
    p->zp_y = zero_point(host->node_input_constant(node, Y_ZP));
    if (p->scale_y == 0.0f)
        return host->fail(EMBER_E_INVALID_MODEL, "node '%s' (QLinearMatMul): y_scale is 0",
                          k->name);
    k->dtype = EMBER_DTYPE_UNDEFINED; /* mixed types: checked above */
    k->dt = a.dtype == EMBER_DTYPE_UINT8 ? dnnl_u8 : dnnl_s8;
    k->build = qmm_build;
    return EMBER_OK;
}

/* ---- QLinearConv ------------------------------------------------------------- */

/* QLinearConv (opset 10) as a oneDNN int8 convolution: x uint8 or int8,
 * weights int8 constant with zero points 0 (symmetric, as quantizers write
 * them), per-channel weight scales, an optional int32 bias (scale
 * x_scale * w_scale, zero point 0), y of x's type. */

typedef struct qconv_params {
    onednn_window_attrs win;
    int64_t group;
    float scale_x, scale_y;
    int32_t zp_x, zp_y;
    size_t n_scale_w;
    const float *scale_w;
} qconv_params;

enum { X, X_SCALE, X_ZP, W, W_SCALE, W_ZP, QY_SCALE, QY_ZP, BIAS, N_QCONV_INPUTS };

static bool all_zero(const ember_tensor *t)
{
    for (size_t i = 0; i < numel(t); i++)
        if (((const int8_t *)t->data)[i] != 0)
            return false;
    return true;
}

bool onednn_check_qlinear_conv(const ember_host_api *host, const ember_node *node)
{
    ember_type_info x, w, y;
    size_t n = host->node_input_count(node);
    if ((n != 8 && n != N_QCONV_INPUTS) || !host->node_input_type(node, X, &x) ||
        !host->node_input_type(node, W, &w) || !is_int8(x.dtype) ||
        w.dtype != EMBER_DTYPE_INT8 || x.rank != 4 || w.rank != 4 ||
        host->node_input_constant(node, W) == NULL)
        return false;
    const ember_tensor *x_scale = constant_of(host, node, X_SCALE, EMBER_DTYPE_FLOAT32);
    const ember_tensor *w_scale = constant_of(host, node, W_SCALE, EMBER_DTYPE_FLOAT32);
    const ember_tensor *y_scale = constant_of(host, node, QY_SCALE, EMBER_DTYPE_FLOAT32);
    const ember_tensor *w_zp = constant_of(host, node, W_ZP, EMBER_DTYPE_INT8);
    bool bias_ok = n < N_QCONV_INPUTS || !host->node_input_present(node, BIAS) ||
                   constant_of(host, node, BIAS, EMBER_DTYPE_INT32) != NULL;
    return x_scale && numel(x_scale) == 1 && y_scale && numel(y_scale) == 1 && w_scale &&
           (numel(w_scale) == 1 || (int64_t)numel(w_scale) == w.dims[0]) && w_zp &&
           all_zero(w_zp) && constant_of(host, node, X_ZP, x.dtype) != NULL &&
           constant_of(host, node, QY_ZP, x.dtype) != NULL && bias_ok &&
           host->node_output_type(node, 0, &y) && y.dtype == x.dtype;
}

static ember_status qconv_attr(const onednn_kernel *k, dnnl_primitive_attr_t attr)
{
    const qconv_params *p = k->params;
    float scales[4096];
    size_t count = p->n_scale_w;
    if (count > sizeof scales / sizeof scales[0])
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (QLinearConv): %zu channel scales (at most 4096)",
                             k->name, count);
    for (size_t i = 0; i < count; i++)
        scales[i] = p->scale_x * p->scale_w[i] / p->scale_y;
    ember_status s = onednn_check(
        k, dnnl_primitive_attr_set_output_scales(attr, (dnnl_dim_t)count, count > 1 ? 1 << 1 : 0,
                                                 scales),
        "the output scales");
    if (s == EMBER_OK && p->zp_x != 0)
        s = onednn_check(k, dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0,
                                                                &p->zp_x),
                         "x's zero point");
    if (s == EMBER_OK && p->zp_y != 0)
        s = onednn_check(k, dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_DST, 1, 0,
                                                                &p->zp_y),
                         "y's zero point");
    return s;
}

static ember_status qconv_build(const onednn_kernel *k, const onednn_shapes *in,
                                onednn_plan *plan)
{
    const qconv_params *p = k->params;
    const int64_t *x = in->dims[X], *w = in->dims[W];
    bool has_bias = in->n > BIAS && in->present[BIAS];
    onednn_window win;
    if (x[1] != w[1] * p->group || w[0] % p->group != 0)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (QLinearConv): x and w channels do not agree", k->name);
    ONEDNN_TRY(onednn_window_resolve(k, &p->win, x, 4, w + 2, &win));
    int64_t y[4] = {x[0], w[0], win.out[0], win.out[1]};
    int64_t wg[5] = {p->group, w[0] / p->group, w[1], w[2], w[3]};
    bool grouped = p->group > 1;
    onednn_plan_shape(plan, 0, y, 4);
    plan->out_dtype[0] = k->dt == dnnl_u8 ? EMBER_DTYPE_UINT8 : EMBER_DTYPE_INT8;
    dnnl_dims_t d;
    dnnl_memory_desc_t src_user, src, wei_user, wei, bias, dst_user, dst;
    dnnl_convolution_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    ember_status s = md_of(k, &src_user, x, 4, k->dt, false);
    if (s == EMBER_OK)
        s = md_of(k, &src, x, 4, k->dt, true);
    for (int i = 0; i < (grouped ? 5 : 4); i++)
        d[i] = grouped ? wg[i] : w[i];
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_memory_desc_init_by_tag(&wei_user, grouped ? 5 : 4, d, dnnl_s8,
                                                         grouped ? dnnl_goihw : dnnl_oihw),
                         "the weights");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_memory_desc_init_by_tag(&wei, grouped ? 5 : 4, d, dnnl_s8,
                                                         dnnl_format_tag_any),
                         "the weights");
    d[0] = w[0];
    if (s == EMBER_OK && has_bias)
        s = onednn_check(k, dnnl_memory_desc_init_by_tag(&bias, 1, d, dnnl_s32, dnnl_a),
                         "the bias");
    if (s == EMBER_OK)
        s = md_of(k, &dst_user, y, 4, k->dt, false);
    if (s == EMBER_OK)
        s = md_of(k, &dst, y, 4, k->dt, true);
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_dilated_convolution_forward_desc_init(
                             &desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei,
                             has_bias ? &bias : NULL, &dst, win.strides, win.dilates, win.pad_l,
                             win.pad_r),
                         "the int8 convolution");
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = qconv_attr(k, attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, X, &src_user,
                              onednn_pd_md(pd, dnnl_query_src_md, 0));
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_WEIGHTS, W, &wei_user,
                              onednn_pd_md(pd, dnnl_query_weights_md, 0));
    if (s == EMBER_OK && has_bias)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_BIAS, BIAS, &bias,
                              onednn_pd_md(pd, dnnl_query_weights_md, 1));
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &dst_user,
                               onednn_pd_md(pd, dnnl_query_dst_md, 0));
    return onednn_plan_finish(k, plan, s, pd, attr);
}

ember_status onednn_create_qlinear_conv(onednn_kernel *k, const ember_node *node)
{
    const ember_host_api *host = k->host;
    ember_type_info x;
    if (!onednn_check_qlinear_conv(host, node) || !host->node_input_type(node, X, &x))
        return host->fail(EMBER_E_NOT_IMPLEMENTED,
                          "node '%s' (QLinearConv): the oneDNN provider needs 4-D input, constant "
                          "int8 weights with zero points 0 and constant scales",
                          k->name);
    ONEDNN_TRY(onednn_params(k, sizeof(qconv_params)));
    qconv_params *p = k->params;
    const ember_tensor *w_scale = host->node_input_constant(node, W_SCALE);
    ONEDNN_TRY(onednn_window_decode(k, node, false, &p->win));
    ONEDNN_TRY(onednn_attr_int(k, node, "group", 1, &p->group));
    if (p->group < 1)
        return host->fail(EMBER_E_INVALID_MODEL, "node '%s' (QLinearConv): group must be >= 1",
                          k->name);
    p->scale_x = *(const float *)host->node_input_constant(node, X_SCALE)->data;
    p->scale_y = *(const float *)host->node_input_constant(node, QY_SCALE)->data;
    p->scale_w = w_scale->data;
    p->n_scale_w = numel(w_scale);
    p->zp_x = zero_point(host->node_input_constant(node, X_ZP));
    p->zp_y = zero_point(host->node_input_constant(node, QY_ZP));
    if (p->scale_y == 0.0f)
        return host->fail(EMBER_E_INVALID_MODEL, "node '%s' (QLinearConv): y_scale is 0",
                          k->name);
    k->dtype = EMBER_DTYPE_UNDEFINED; /* mixed types: checked above */
    k->dt = x.dtype == EMBER_DTYPE_UINT8 ? dnnl_u8 : dnnl_s8;
    k->build = qconv_build;
    return EMBER_OK;
}
