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
    return onednn_input_f32(host, node, 0, 3, 5) && onednn_input_f32(host, node, 1, 3, 5) &&
           onednn_input_f32(host, node, 2, 1, 1);
}

/* Weight dims as oneDNN wants them: [g, M/g, C/g, k...] when grouped. */
static size_t weight_dims(const onednn_shapes *in, int64_t group, int64_t *dims)
{
    const int64_t *w = in->dims[1];
    size_t rank = in->rank[1];
    if (group == 1) {
        memcpy(dims, w, rank * sizeof *dims);
        return rank;
    }
    dims[0] = group;
    dims[1] = w[0] / group;
    memcpy(dims + 2, w + 1, (rank - 1) * sizeof *dims);
    return rank + 1;
}

static ember_status check_shapes(const onednn_kernel *k, const onednn_shapes *in, int64_t group)
{
    const int64_t *x = in->dims[0], *w = in->dims[1];
    bool ok = in->rank[0] >= 3 && in->rank[1] == in->rank[0] && group >= 1 &&
              x[1] % group == 0 && w[0] % group == 0 && w[1] * group == x[1] &&
              (!in->present[2] || (in->rank[2] == 1 && in->dims[2][0] == w[0]));
    if (!ok)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (Conv): input, weight and bias shapes do not agree "
                             "(group %lld)",
                             k->name, (long long)group);
    return EMBER_OK;
}

typedef struct conv_mds {
    dnnl_memory_desc_t src, weights, bias, dst;
    dnnl_memory_desc_t user_src, user_weights, user_bias, user_dst;
} conv_mds;

static ember_status conv_mds_init(const onednn_kernel *k, const onednn_shapes *in,
                                  const int64_t *y_dims, conv_mds *m)
{
    const conv_params *p = k->params;
    int64_t wd[ONEDNN_MAX_RANK];
    size_t w_rank = weight_dims(in, p->group, wd);
    size_t rank = in->rank[0];
    ember_status s = onednn_md_plain(k, &m->user_src, in->dims[0], rank);
    if (s == EMBER_OK)
        s = onednn_md_any(k, &m->src, in->dims[0], rank);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &m->user_weights, wd, w_rank);
    if (s == EMBER_OK)
        s = onednn_md_any(k, &m->weights, wd, w_rank);
    if (s == EMBER_OK && in->present[2])
        s = onednn_md_plain(k, &m->user_bias, in->dims[2], 1);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &m->user_dst, y_dims, rank);
    if (s == EMBER_OK)
        s = onednn_md_any(k, &m->dst, y_dims, rank);
    m->bias = m->user_bias;
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
    if (s == EMBER_OK && in->present[2])
        s = onednn_plan_input(k, in, plan, DNNL_ARG_BIAS, 2, &m->user_bias,
                              onednn_pd_md(pd, dnnl_query_weights_md, 1));
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &m->user_dst,
                               onednn_pd_md(pd, dnnl_query_dst_md, 0));
    return s;
}

static ember_status conv_build(const onednn_kernel *k, const onednn_shapes *in,
                               onednn_plan *plan)
{
    const conv_params *p = k->params;
    onednn_window w;
    conv_mds m;
    int64_t y_dims[ONEDNN_MAX_RANK];
    dnnl_convolution_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    ember_status s = check_shapes(k, in, p->group);
    if (s == EMBER_OK)
        s = onednn_window_resolve(k, &p->win, in->dims[0], in->rank[0], in->dims[1] + 2, &w);
    if (s != EMBER_OK)
        return s;
    y_dims[0] = in->dims[0][0];
    y_dims[1] = in->dims[1][0];
    memcpy(y_dims + 2, w.out, w.rank * sizeof *y_dims);
    onednn_plan_shape(plan, 0, y_dims, in->rank[0]);
    s = conv_mds_init(k, in, y_dims, &m);
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_dilated_convolution_forward_desc_init(
                             &desc, dnnl_forward_inference, dnnl_convolution_auto, &m.src,
                             &m.weights, in->present[2] ? &m.bias : NULL, &m.dst, w.strides,
                             w.dilates, w.pad_l, w.pad_r),
                         "the convolution");
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = conv_args(k, in, plan, pd, &m);
    dnnl_primitive_attr_destroy(attr);
    if (s != EMBER_OK) {
        dnnl_primitive_desc_destroy(pd);
        return s;
    }
    return onednn_plan_primitive(k, plan, pd);
}

ember_status onednn_create_conv(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(conv_params));
    conv_params *p = k->params;
    if (s == EMBER_OK)
        s = onednn_window_decode(k, node, false, &p->win);
    if (s == EMBER_OK)
        s = onednn_attr_int(k, node, "group", 1, &p->group);
    k->build = conv_build;
    return s;
}
