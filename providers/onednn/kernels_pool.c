/*
 * MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool as one oneDNN
 * pooling (v2, with dilations) on the tensor's own layout. ceil_mode is
 * expressed as a larger right pad; MaxPool's Indices output and
 * AveragePool's ceil_mode with count_include_pad are declined.
 */
#include "onednn_kernel.h"

#include <string.h>

typedef struct pool_params {
    onednn_window_attrs win;
    bool is_max, is_global;
    int64_t count_include_pad;
} pool_params;

bool onednn_check_pool(const ember_host_api *host, const ember_node *node)
{
    const char *op = host->node_op_type(node);
    if (!onednn_input_float(host, node, 0, 3, 5) || !onednn_output_unused(host, node, 1))
        return false;
    if (strcmp(op, "AveragePool") == 0)
        return !(onednn_node_int(host, node, "ceil_mode", 0) != 0 &&
                 onednn_node_int(host, node, "count_include_pad", 0) != 0);
    return true;
}

static dnnl_alg_kind_t pool_alg(const pool_params *p)
{
    if (p->is_max)
        return dnnl_pooling_max;
    return p->count_include_pad ? dnnl_pooling_avg_include_padding
                                : dnnl_pooling_avg_exclude_padding;
}

/* The window of a global pool: the whole spatial extent. */
static void global_window(const onednn_shapes *in, onednn_window *w)
{
    memset(w, 0, sizeof *w);
    w->rank = in->rank[0] - 2;
    for (size_t d = 0; d < w->rank; d++) {
        w->kernel[d] = in->dims[0][d + 2];
        w->strides[d] = 1;
        w->out[d] = 1;
    }
}

static ember_status pool_build(const onednn_kernel *k, const onednn_shapes *in,
                               onednn_plan *plan)
{
    const pool_params *p = k->params;
    onednn_window w;
    int64_t y_dims[ONEDNN_MAX_RANK];
    dnnl_memory_desc_t src, dst;
    dnnl_memory_desc_t plain_dst;
    dnnl_pooling_v2_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    ember_status s = EMBER_OK;
    if (p->is_global)
        global_window(in, &w);
    else
        s = onednn_window_resolve(k, &p->win, in->dims[0], in->rank[0], NULL, &w);
    if (s != EMBER_OK)
        return s;
    y_dims[0] = in->dims[0][0];
    y_dims[1] = in->dims[0][1];
    memcpy(y_dims + 2, w.out, w.rank * sizeof *y_dims);
    onednn_plan_shape(plan, 0, y_dims, in->rank[0]);
    s = onednn_md_input(k, in, 0, &src);
    if (s == EMBER_OK && in->layout[0] != NULL)
        s = onednn_md_any(k, &dst, y_dims, in->rank[0]);
    else if (s == EMBER_OK)
        s = onednn_md_plain(k, &dst, y_dims, in->rank[0]);
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference,
                                                           pool_alg(p), &src, &dst, w.strides,
                                                           w.kernel, w.dilates, w.pad_l,
                                                           w.pad_r),
                         "the pooling");
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &plain_dst, y_dims, in->rank[0]);
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, 0, &src, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &plain_dst,
                               onednn_pd_md(pd, dnnl_query_dst_md, 0));
    return onednn_plan_finish(k, plan, s, pd, attr);
}

ember_status onednn_create_pool(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(pool_params));
    pool_params *p = k->params;
    if (s != EMBER_OK)
        return s;
    p->is_max = strcmp(k->op, "MaxPool") == 0 || strcmp(k->op, "GlobalMaxPool") == 0;
    p->is_global = strncmp(k->op, "Global", 6) == 0;
    if (!p->is_global)
        s = onednn_window_decode(k, node, k->opset >= 10, &p->win);
    if (s == EMBER_OK && strcmp(k->op, "AveragePool") == 0)
        s = onednn_attr_int(k, node, "count_include_pad", 0, &p->count_include_pad);
    if (s == EMBER_OK && !p->is_global && p->win.n_kernel == 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'kernel_shape' is required", k->name,
                             k->op);
    k->build = pool_build;
    return s;
}
