/*
 * The quantized ops in int8: QLinearMatMul and QLinearConv, as oneDNN int8
 * matmul and convolution. The input is uint8 or int8, the weights int8,
 * the output of the input's type; scales and zero points are constants
 * (per output channel or column for the weight scale), which is how
 * quantized models carry them. The primitive computes
 *   y = saturate(round(x_scale * w_scale / y_scale * (X - x_zp)(W - w_zp)) + y_zp)
 * with its output-scale and zero-point attributes, rounding half to even as
 * ONNX does. Scales or zero points that are graph inputs, uint8 weights and
 * float16 scales are left to the CPU provider.
 */
#include "onednn_kernel.h"

#include <string.h>

/* Both ops number their inputs alike: x, x_scale, x_zero_point, w, w_scale,
 * w_zero_point, y_scale, y_zero_point (and QLinearConv's bias B). */
enum { X, X_SCALE, X_ZP, W, W_SCALE, W_ZP, Y_SCALE, Y_ZP, BIAS };

/* The constant scales and zero points, read at kernel_create. */
typedef struct quant_params {
    float scale_x, scale_y;
    const float *scale_w; /* the graph's constant, n_scale_w values */
    size_t n_scale_w;
    int32_t zp_x, zp_w, zp_y;
} quant_params;

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

static bool all_zero(const ember_tensor *t)
{
    for (size_t i = 0; i < numel(t); i++)
        if (((const int8_t *)t->data)[i] != 0)
            return false;
    return true;
}

/* The scales and zero points are constants of the right types; the weight
 * scale has one value or one per output (n_out); the weight zero point
 * one value, or with `zero_w` zeros only. */
static bool constants_ok(const ember_host_api *host, const ember_node *node, uint32_t x_type,
                         int64_t n_out, bool zero_w)
{
    const ember_tensor *x_scale = constant_of(host, node, X_SCALE, EMBER_DTYPE_FLOAT32);
    const ember_tensor *w_scale = constant_of(host, node, W_SCALE, EMBER_DTYPE_FLOAT32);
    const ember_tensor *y_scale = constant_of(host, node, Y_SCALE, EMBER_DTYPE_FLOAT32);
    const ember_tensor *w_zp = constant_of(host, node, W_ZP, EMBER_DTYPE_INT8);
    ember_type_info y;
    bool w_zp_ok = w_zp != NULL && (zero_w ? all_zero(w_zp) : numel(w_zp) == 1);
    return x_scale && numel(x_scale) == 1 && y_scale && numel(y_scale) == 1 && w_scale &&
           (numel(w_scale) == 1 || (n_out > 0 && numel(w_scale) == (size_t)n_out)) &&
           w_zp_ok && constant_of(host, node, X_ZP, x_type) != NULL &&
           constant_of(host, node, Y_ZP, x_type) != NULL && host->node_output_type(node, 0, &y) &&
           y.dtype == x_type;
}

bool onednn_check_qlinear_matmul(const ember_host_api *host, const ember_node *node)
{
    ember_type_info x, w;
    return host->node_input_count(node) == Y_ZP + 1 && host->node_input_type(node, X, &x) &&
           host->node_input_type(node, W, &w) && is_int8(x.dtype) &&
           w.dtype == EMBER_DTYPE_INT8 && x.rank >= 2 && x.rank <= 3 && w.rank == 2 &&
           constants_ok(host, node, x.dtype, w.dims[1], false);
}

static int32_t zero_point(const ember_tensor *t)
{
    return t->dtype == EMBER_DTYPE_UINT8 ? *(const uint8_t *)t->data
                                         : *(const int8_t *)t->data;
}

/* Reads the constants constants_ok accepted; sets the kernel's types. */
static ember_status read_quant(onednn_kernel *k, const ember_node *node, quant_params *q)
{
    const ember_host_api *host = k->host;
    const ember_tensor *w_scale = host->node_input_constant(node, W_SCALE);
    ember_type_info x;
    host->node_input_type(node, X, &x);
    q->scale_x = *(const float *)host->node_input_constant(node, X_SCALE)->data;
    q->scale_y = *(const float *)host->node_input_constant(node, Y_SCALE)->data;
    q->scale_w = w_scale->data;
    q->n_scale_w = numel(w_scale);
    q->zp_x = zero_point(host->node_input_constant(node, X_ZP));
    q->zp_w = zero_point(host->node_input_constant(node, W_ZP));
    q->zp_y = zero_point(host->node_input_constant(node, Y_ZP));
    if (q->scale_y == 0.0f)
        return host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): y_scale is 0", k->name,
                          k->op);
    k->dtype = EMBER_DTYPE_UNDEFINED; /* mixed types, checked at claim */
    k->dt = x.dtype == EMBER_DTYPE_UINT8 ? dnnl_u8 : dnnl_s8;
    return EMBER_OK;
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

/* Output scales x_scale * w_scale / y_scale (per output channel, dim 1 of
 * the destination, when w_scale has several) and the non-zero zero points. */
static ember_status quant_attr(const onednn_kernel *k, const quant_params *q,
                               dnnl_primitive_attr_t attr)
{
    float scales[4096];
    size_t count = q->n_scale_w;
    if (count > sizeof scales / sizeof scales[0])
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): %zu weight scales (at most 4096)", k->name, k->op,
                             count);
    for (size_t i = 0; i < count; i++)
        scales[i] = q->scale_x * q->scale_w[i] / q->scale_y;
    ember_status s = onednn_check(
        k, dnnl_primitive_attr_set_output_scales(attr, (dnnl_dim_t)count, count > 1 ? 1 << 1 : 0,
                                                 scales),
        "the output scales");
    const struct {
        int arg;
        const int32_t *zp;
    } zero_points[] = {{DNNL_ARG_SRC, &q->zp_x}, {DNNL_ARG_WEIGHTS, &q->zp_w},
                       {DNNL_ARG_DST, &q->zp_y}};
    for (size_t i = 0; s == EMBER_OK && i < 3; i++)
        if (*zero_points[i].zp != 0)
            s = onednn_check(k,
                             dnnl_primitive_attr_set_zero_points(attr, zero_points[i].arg, 1, 0,
                                                                 zero_points[i].zp),
                             "a zero point");
    return s;
}

/* ---- QLinearMatMul ------------------------------------------------------------- */

static ember_status qmm_build(const onednn_kernel *k, const onednn_shapes *in,
                              onednn_plan *plan)
{
    const int64_t *a = in->dims[X], *b = in->dims[W];
    size_t rank = in->rank[X];
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < rank; i++)
        rows *= a[i];
    if (in->rank[W] != 2 || a[rank - 1] != b[0])
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
        s = md_of(k, &wei, b, 2, dnnl_s8, in->data[W] != NULL);
    if (s == EMBER_OK)
        s = md_of(k, &dst, y2, 2, dt, false);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_matmul_desc_init(&desc, &src, &wei, NULL, &dst), "the matmul");
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = quant_attr(k, k->params, attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, X, &src, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_WEIGHTS, W, &wei_user,
                              onednn_pd_md(pd, dnnl_query_weights_md, 0));
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &dst, NULL);
    return onednn_plan_finish(k, plan, s, pd, attr);
}

ember_status onednn_create_qlinear_matmul(onednn_kernel *k, const ember_node *node)
{
    if (!onednn_check_qlinear_matmul(k->host, node))
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (QLinearMatMul): the oneDNN provider needs int8 weights "
                             "and constant scales and zero points",
                             k->name);
    ONEDNN_TRY(onednn_params(k, sizeof(quant_params)));
    k->build = qmm_build;
    return read_quant(k, node, k->params);
}

/* ---- QLinearConv ------------------------------------------------------------- */

/* Weights int8 constants with zero points 0 (symmetric, as quantizers write
 * them), an optional int32 bias (scale x_scale * w_scale, zero point 0). */

typedef struct qconv_params {
    quant_params q;
    onednn_window_attrs win;
    int64_t group;
} qconv_params;

bool onednn_check_qlinear_conv(const ember_host_api *host, const ember_node *node)
{
    ember_type_info x, w;
    size_t n = host->node_input_count(node);
    bool bias_ok = n <= BIAS || !host->node_input_present(node, BIAS) ||
                   constant_of(host, node, BIAS, EMBER_DTYPE_INT32) != NULL;
    return (n == Y_ZP + 1 || n == BIAS + 1) && host->node_input_type(node, X, &x) &&
           host->node_input_type(node, W, &w) && is_int8(x.dtype) &&
           w.dtype == EMBER_DTYPE_INT8 && x.rank == 4 && w.rank == 4 &&
           host->node_input_constant(node, W) != NULL && bias_ok &&
           constants_ok(host, node, x.dtype, w.dims[0], true);
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
        s = quant_attr(k, &p->q, attr);
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
    if (!onednn_check_qlinear_conv(host, node))
        return host->fail(EMBER_E_NOT_IMPLEMENTED,
                          "node '%s' (QLinearConv): the oneDNN provider needs 4-D input, constant "
                          "int8 weights with zero points 0 and constant scales",
                          k->name);
    ONEDNN_TRY(onednn_params(k, sizeof(qconv_params)));
    qconv_params *p = k->params;
    ONEDNN_TRY(onednn_window_decode(k, node, false, &p->win));
    ONEDNN_TRY(onednn_attr_int(k, node, "group", 1, &p->group));
    if (p->group < 1)
        return host->fail(EMBER_E_INVALID_MODEL, "node '%s' (QLinearConv): group must be >= 1",
                          k->name);
    k->build = qconv_build;
    return read_quant(k, node, &p->q);
}
