/*
 * Conv and ConvTranspose (1-D to 3-D, groups, dilations, pads, strides,
 * auto_pad, optional bias; ConvTranspose's output_padding and output_shape)
 * as one oneDNN convolution or deconvolution. Source and destination take
 * the layout oneDNN prefers (blocked), reordered at the edges of the node;
 * constant weights are reordered once when the plan is built.
 */
#include "onednn_kernel.h"

typedef struct conv_params {
    onednn_window_attrs win;
    int64_t group;
    /* ConvTranspose only. */
    size_t n_output_padding, n_output_shape;
    int64_t output_padding[ONEDNN_MAX_RANK];
    int64_t output_shape[ONEDNN_MAX_RANK];
} conv_params;

bool onednn_check_conv(const ember_host_api *host, const ember_node *node)
{
    return onednn_input_float(host, node, 0, 3, 5) && onednn_input_float(host, node, 1, 3, 5) &&
           onednn_input_float(host, node, 2, 1, 1);
}

/* Dense strides of dims[0..rank). */
static void dense_strides(const int64_t *dims, size_t rank, int64_t *strides)
{
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
        strides[i] = stride;
        stride *= dims[i];
    }
}

/*
 * The weights as oneDNN indexes them, [g,] O/g, I/g, k... (the g dim only
 * when grouped), over the ONNX storage: Conv stores [O, I/g, k...], so the
 * view is dense; ConvTranspose stores [I, O/g, k...], so O and I swap
 * strides.
 */
static ember_status weights_user_md(const onednn_kernel *k, const onednn_shapes *in,
                                    bool is_transpose, dnnl_memory_desc_t *md)
{
    const conv_params *p = k->params;
    const int64_t *w = in->dims[1];
    size_t n_k = in->rank[1] - 2, off = p->group > 1 ? 1 : 0;
    int64_t sw[ONEDNN_MAX_RANK] = {0};
    dnnl_dims_t dims, strides;
    dense_strides(w, in->rank[1], sw);
    dims[0] = p->group;
    strides[0] = w[0] / p->group * sw[0];
    dims[off] = is_transpose ? w[1] : w[0] / p->group;
    dims[off + 1] = is_transpose ? w[0] / p->group : w[1];
    strides[off] = is_transpose ? sw[1] : sw[0];
    strides[off + 1] = is_transpose ? sw[0] : sw[1];
    for (size_t d = 0; d < n_k; d++) {
        dims[off + 2 + d] = w[2 + d];
        strides[off + 2 + d] = sw[2 + d];
    }
    return onednn_check(k,
                        dnnl_memory_desc_init_by_strides(md, (int)(in->rank[1] + off), dims,
                                                         k->dt, strides),
                        "the weights descriptor");
}

static ember_status check_shapes(const onednn_kernel *k, const onednn_shapes *in,
                                 bool is_transpose)
{
    const conv_params *p = k->params;
    const int64_t *x = in->dims[0], *w = in->dims[1];
    int64_t g = p->group, out_ch = is_transpose ? w[1] * g : w[0];
    bool ok = in->rank[0] >= 3 && in->rank[1] == in->rank[0] && g >= 1 && x[1] % g == 0 &&
              w[0] % g == 0 && (is_transpose ? w[0] == x[1] : w[1] * g == x[1]) &&
              (in->n < 3 || !in->present[2] || (in->rank[2] == 1 && in->dims[2][0] == out_ch));
    if (!ok)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input, weight and bias shapes do not agree "
                             "(group %lld)",
                             k->name, k->op, (long long)g);
    return EMBER_OK;
}

typedef struct conv_mds {
    dnnl_memory_desc_t src, weights, bias, dst;
    dnnl_memory_desc_t user_src, user_weights, user_dst;
} conv_mds;

static ember_status conv_mds_init(const onednn_kernel *k, const onednn_shapes *in,
                                  bool is_transpose, const int64_t *y_dims, conv_mds *m)
{
    size_t rank = in->rank[0];
    ember_status s = weights_user_md(k, in, is_transpose, &m->user_weights);
    if (s == EMBER_OK)
        s = onednn_md_any(k, &m->weights, m->user_weights.dims,
                          (size_t)m->user_weights.ndims);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &m->user_src, in->dims[0], rank);
    if (s == EMBER_OK)
        s = onednn_md_any(k, &m->src, in->dims[0], rank);
    if (s == EMBER_OK && in->n > 2 && in->present[2])
        s = onednn_md_plain(k, &m->bias, in->dims[2], 1);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &m->user_dst, y_dims, rank);
    if (s == EMBER_OK)
        s = onednn_md_any(k, &m->dst, y_dims, rank);
    return s;
}

static ember_status conv_args(const onednn_kernel *k, const onednn_shapes *in,
                              onednn_plan *plan, const_dnnl_primitive_desc_t pd,
                              const conv_mds *m)
{
    ember_status s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, 0, &m->user_src,
                                       onednn_pd_md(pd, dnnl_query_src_md, 0));
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_WEIGHTS, 1, &m->user_weights,
                              onednn_pd_md(pd, dnnl_query_weights_md, 0));
    if (s == EMBER_OK && in->n > 2 && in->present[2])
        s = onednn_plan_input(k, in, plan, DNNL_ARG_BIAS, 2, &m->bias,
                              onednn_pd_md(pd, dnnl_query_weights_md, 1));
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &m->user_dst,
                               onednn_pd_md(pd, dnnl_query_dst_md, 0));
    return s;
}

/* The operation descriptor: a convolution or a deconvolution. */
typedef union conv_desc {
    dnnl_convolution_desc_t conv;
    dnnl_deconvolution_desc_t deconv;
} conv_desc;

static ember_status desc_init(const onednn_kernel *k, const onednn_shapes *in,
                              bool is_transpose, const onednn_window *w, const conv_mds *m,
                              conv_desc *desc)
{
    const dnnl_memory_desc_t *bias = in->n > 2 && in->present[2] ? &m->bias : NULL;
    dnnl_status_t st;
    if (is_transpose)
        st = dnnl_dilated_deconvolution_forward_desc_init(
            &desc->deconv, dnnl_forward_inference, dnnl_deconvolution_direct, &m->src,
            &m->weights, bias, &m->dst, w->strides, w->dilates, w->pad_l, w->pad_r);
    else
        st = dnnl_dilated_convolution_forward_desc_init(
            &desc->conv, dnnl_forward_inference, dnnl_convolution_auto, &m->src, &m->weights,
            bias, &m->dst, w->strides, w->dilates, w->pad_l, w->pad_r);
    return onednn_check(k, st, is_transpose ? "the deconvolution" : "the convolution");
}

/* Shared by Conv and ConvTranspose once the window and output are known. */
static ember_status conv_plan(const onednn_kernel *k, const onednn_shapes *in,
                              onednn_plan *plan, bool is_transpose, const onednn_window *w,
                              const int64_t *y_dims)
{
    conv_mds m;
    conv_desc desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    onednn_plan_shape(plan, 0, y_dims, in->rank[0]);
    ember_status s = conv_mds_init(k, in, is_transpose, y_dims, &m);
    if (s == EMBER_OK)
        s = desc_init(k, in, is_transpose, w, &m, &desc);
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = conv_args(k, in, plan, pd, &m);
    return onednn_plan_finish(k, plan, s, pd, attr);
}

/* ---- Conv -------------------------------------------------------------- */

static ember_status conv_build(const onednn_kernel *k, const onednn_shapes *in,
                               onednn_plan *plan)
{
    const conv_params *p = k->params;
    onednn_window w;
    int64_t y_dims[ONEDNN_MAX_RANK];
    ember_status s = check_shapes(k, in, false);
    if (s == EMBER_OK)
        s = onednn_window_resolve(k, &p->win, in->dims[0], in->rank[0], in->dims[1] + 2, &w);
    if (s != EMBER_OK)
        return s;
    y_dims[0] = in->dims[0][0];
    y_dims[1] = in->dims[1][0];
    memcpy(y_dims + 2, w.out, w.rank * sizeof *y_dims);
    if (onednn_winograd_fits(k, in, &w))
        return onednn_winograd_build(k, in, &w, y_dims, plan);
    return conv_plan(k, in, plan, false, &w, y_dims);
}

static ember_status decode_common(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(conv_params));
    conv_params *p = k->params;
    if (s == EMBER_OK)
        s = onednn_window_decode(k, node, false, &p->win);
    if (s == EMBER_OK)
        s = onednn_attr_int(k, node, "group", 1, &p->group);
    if (s == EMBER_OK && p->group < 1)
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): group must be >= 1",
                             k->name, k->op);
    return s;
}

ember_status onednn_create_conv(onednn_kernel *k, const ember_node *node)
{
    k->build = conv_build;
    return decode_common(k, node);
}

/* ---- ConvTranspose ----------------------------------------------------- */

/* Output size and pads of spatial dim d by the ONNX formulas; output
 * padding becomes a smaller right pad (negative pads are oneDNN's to
 * refuse). */
static void transpose_dim(const conv_params *p, onednn_window *w, size_t d, int64_t in,
                          int64_t kernel)
{
    const onednn_window_attrs *a = &p->win;
    int64_t s = a->n_strides ? a->strides[d] : 1, dil = a->n_dilations ? a->dilations[d] : 1;
    int64_t out_pad = p->n_output_padding ? p->output_padding[d] : 0;
    int64_t full = s * (in - 1) + out_pad + (kernel - 1) * dil + 1;
    int64_t pad_l = 0, pad_r = 0;
    bool is_same = a->auto_pad == ONEDNN_PAD_SAME_UPPER || a->auto_pad == ONEDNN_PAD_SAME_LOWER;
    if (p->n_output_shape > 0 || is_same) {
        int64_t want = p->n_output_shape > 0 ? p->output_shape[p->n_output_shape - w->rank + d]
                                             : in * s;
        int64_t total = full - want;
        pad_l = a->auto_pad == ONEDNN_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        pad_r = total - pad_l;
    } else if (a->auto_pad == ONEDNN_PAD_NOTSET && a->n_pads > 0) {
        pad_l = a->pads[d];
        pad_r = a->pads[w->rank + d];
    }
    w->kernel[d] = kernel;
    w->strides[d] = s;
    w->dilates[d] = dil - 1;
    w->pad_l[d] = pad_l;
    w->pad_r[d] = pad_r - out_pad;
    w->out[d] = full - pad_l - pad_r;
}

static ember_status transpose_build(const onednn_kernel *k, const onednn_shapes *in,
                                    onednn_plan *plan)
{
    const conv_params *p = k->params;
    const onednn_window_attrs *a = &p->win;
    onednn_window w = {.rank = in->rank[0] - 2};
    int64_t y_dims[ONEDNN_MAX_RANK];
    ember_status s = check_shapes(k, in, true);
    if (s != EMBER_OK)
        return s;
    if ((a->n_strides && a->n_strides != w.rank) || (a->n_pads && a->n_pads != 2 * w.rank) ||
        (a->n_dilations && a->n_dilations != w.rank) ||
        (p->n_output_padding && p->n_output_padding != w.rank) ||
        (p->n_output_shape && p->n_output_shape < w.rank))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (ConvTranspose): window attributes do not match input "
                             "rank %zu",
                             k->name, in->rank[0]);
    for (size_t d = 0; d < w.rank; d++)
        transpose_dim(p, &w, d, in->dims[0][d + 2], in->dims[1][d + 2]);
    y_dims[0] = in->dims[0][0];
    y_dims[1] = in->dims[1][1] * p->group;
    memcpy(y_dims + 2, w.out, w.rank * sizeof *y_dims);
    return conv_plan(k, in, plan, true, &w, y_dims);
}

ember_status onednn_create_conv_transpose(onednn_kernel *k, const ember_node *node)
{
    k->build = transpose_build;
    ember_status s = decode_common(k, node);
    conv_params *p = k->params;
    if (s == EMBER_OK)
        s = onednn_attr_ints(k, node, "output_padding", p->output_padding, ONEDNN_MAX_RANK,
                             &p->n_output_padding);
    if (s == EMBER_OK)
        s = onednn_attr_ints(k, node, "output_shape", p->output_shape, ONEDNN_MAX_RANK,
                             &p->n_output_shape);
    return s;
}
