/*
 * BatchNormalization (inference: running statistics), LayerNormalization
 * (opset 17; the normalized dims flattened into one, so any axis works;
 * Mean and InvStdDev computed when the graph asks for both) and LRN
 * (across channels) as oneDNN primitives on the tensor's own layout.
 */
#include "onednn_kernel.h"

#include <math.h>

typedef struct norm_params {
    float epsilon;
    int64_t axis;
    float alpha, beta, bias; /* LRN */
    int64_t size;            /* LRN */
} norm_params;

/* Input `index` is a float32 or bfloat16 tensor of rank in [min, max]
 * (scales, biases and statistics: oneDNN takes them in float32, converted
 * once when they are constants). */
static bool param_float(const ember_host_api *host, const ember_node *node, size_t index,
                        int min_rank, int max_rank)
{
    ember_type_info info;
    if (index >= host->node_input_count(node) || !host->node_input_present(node, index))
        return true;
    return host->node_input_type(node, index, &info) &&
           (info.dtype == EMBER_DTYPE_FLOAT32 || info.dtype == EMBER_DTYPE_BFLOAT16) &&
           info.rank >= min_rank && info.rank <= max_rank;
}

/* Parameter input `index` as it arrives: dense, in its own float type. */
static ember_status param_user_md(const onednn_kernel *k, const onednn_shapes *in, size_t index,
                                  const int64_t *dims, size_t rank, dnnl_memory_desc_t *user)
{
    return onednn_md_plain_as(k, user, dims, rank, in->dtype[index]);
}

/* ---- BatchNormalization ------------------------------------------------ */

bool onednn_check_batchnorm(const ember_host_api *host, const ember_node *node)
{
    for (size_t i = 1; i < 5; i++)
        if (!param_float(host, node, i, 1, 1))
            return false;
    return onednn_input_float(host, node, 0, 2, 5) &&
           onednn_node_int(host, node, "training_mode", 0) == 0 &&
           onednn_node_int(host, node, "spatial", 1) == 1 && onednn_output_unused(host, node, 1) &&
           onednn_output_unused(host, node, 2) && onednn_output_unused(host, node, 3) &&
           onednn_output_unused(host, node, 4);
}

static ember_status batchnorm_args(const onednn_kernel *k, const onednn_shapes *in,
                                   onednn_plan *plan, const dnnl_memory_desc_t *data,
                                   const dnnl_memory_desc_t *channel)
{
    static const int args[] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN,
                               DNNL_ARG_VARIANCE};
    ember_status s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, 0, data, NULL);
    for (size_t i = 0; s == EMBER_OK && i < 4; i++) {
        dnnl_memory_desc_t user;
        s = param_user_md(k, in, i + 1, in->dims[i + 1], 1, &user);
        if (s == EMBER_OK)
            s = onednn_plan_input(k, in, plan, args[i], i + 1, &user, channel);
    }
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, data, NULL);
    return s;
}

static ember_status batchnorm_build(const onednn_kernel *k, const onednn_shapes *in,
                                    onednn_plan *plan)
{
    const norm_params *p = k->params;
    int64_t c = in->dims[0][1];
    for (size_t i = 1; i < 5; i++) {
        if (in->n < 5 || !in->present[i] || in->rank[i] != 1 || in->dims[i][0] != c)
            return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                                 "node '%s' (BatchNormalization): input %zu is not a [%lld] "
                                 "tensor",
                                 k->name, i, (long long)c);
    }
    dnnl_memory_desc_t data, channel;
    dnnl_batch_normalization_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    unsigned flags = dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift;
    onednn_plan_shape(plan, 0, in->dims[0], in->rank[0]);
    ember_status s = onednn_md_input(k, in, 0, &data);
    if (s == EMBER_OK)
        s = onednn_md_plain_as(k, &channel, &c, 1, EMBER_DTYPE_FLOAT32);
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_batch_normalization_forward_desc_init(
                             &desc, dnnl_forward_inference, &data, p->epsilon, flags),
                         "the batch normalization");
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = batchnorm_args(k, in, plan, &data, &channel);
    return onednn_plan_finish(k, plan, s, pd, attr);
}

ember_status onednn_create_batchnorm(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(norm_params));
    norm_params *p = k->params;
    if (s == EMBER_OK)
        s = onednn_attr_float(k, node, "epsilon", 1e-5f, &p->epsilon);
    k->build = batchnorm_build;
    k->param_mask = 0x1eu; /* scale, B, mean, var */
    return s;
}

float onednn_batchnorm_epsilon(const onednn_kernel *k)
{
    return ((const norm_params *)k->params)->epsilon;
}

/* ---- LayerNormalization ------------------------------------------------ */

bool onednn_check_layernorm(const ember_host_api *host, const ember_node *node)
{
    bool mean_unused = onednn_output_unused(host, node, 1);
    bool inv_unused = onednn_output_unused(host, node, 2);
    ember_type_info x;
    /* bfloat16: without the statistics outputs (finish computes in float). */
    bool stats_ok = mean_unused || (host->node_input_type(node, 0, &x) &&
                                    x.dtype == EMBER_DTYPE_FLOAT32);
    return onednn_input_float(host, node, 0, 1, ONEDNN_MAX_RANK) &&
           param_float(host, node, 1, 0, ONEDNN_MAX_RANK) &&
           param_float(host, node, 2, 0, ONEDNN_MAX_RANK) && mean_unused == inv_unused &&
           stats_ok;
}

static int64_t numel(const int64_t *dims, size_t rank)
{
    int64_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* InvStdDev = 1 / sqrt(variance + epsilon), in place in output 2. */
static void layernorm_finish(const onednn_kernel *k, const onednn_plan *plan,
                             ember_tensor *const *outputs)
{
    const norm_params *p = k->params;
    if (plan->n_outputs < 3)
        return;
    float *v = outputs[2]->data;
    int64_t n = numel(plan->out_dims[2], plan->out_rank[2]);
    for (int64_t i = 0; i < n; i++)
        v[i] = 1.0f / sqrtf(v[i] + p->epsilon);
}

/* The statistics outputs: shape dims[:axis] + [1] * (rank - axis). */
static ember_status layernorm_stats(const onednn_kernel *k, onednn_plan *plan,
                                    const onednn_shapes *in, size_t axis,
                                    const dnnl_memory_desc_t *stat)
{
    int64_t dims[ONEDNN_MAX_RANK];
    for (size_t d = 0; d < in->rank[0]; d++)
        dims[d] = d < axis ? in->dims[0][d] : 1;
    onednn_plan_shape(plan, 1, dims, in->rank[0]);
    onednn_plan_shape(plan, 2, dims, in->rank[0]);
    ember_status s = onednn_plan_output(k, plan, DNNL_ARG_MEAN, 1, stat, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_VARIANCE, 2, stat, NULL);
    return s;
}

static ember_status layernorm_args(const onednn_kernel *k, const onednn_shapes *in,
                                   onednn_plan *plan, const dnnl_memory_desc_t *mds,
                                   size_t axis)
{
    /* mds: data, stat, per-element. */
    bool has_bias = in->n > 2 && in->present[2];
    bool has_stats = k->n_outputs > 2;
    int64_t inner = mds[2].dims[0];
    dnnl_memory_desc_t scale, shift;
    ember_status s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, 0, &mds[0], NULL);
    if (s == EMBER_OK)
        s = param_user_md(k, in, 1, &inner, 1, &scale);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SCALE, 1, &scale, &mds[2]);
    if (s == EMBER_OK && has_bias)
        s = param_user_md(k, in, 2, &inner, 1, &shift);
    if (s == EMBER_OK && has_bias)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SHIFT, 2, &shift, &mds[2]);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &mds[0], NULL);
    if (s == EMBER_OK && has_stats)
        s = layernorm_stats(k, plan, in, axis, &mds[1]);
    return s;
}

static ember_status layernorm_build(const onednn_kernel *k, const onednn_shapes *in,
                                    onednn_plan *plan)
{
    const norm_params *p = k->params;
    int64_t r = (int64_t)in->rank[0], axis = p->axis < 0 ? p->axis + r : p->axis;
    if (axis < 0 || axis >= r)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (LayerNormalization): axis %lld is out of range", k->name,
                             (long long)p->axis);
    int64_t outer = numel(in->dims[0], (size_t)axis);
    int64_t inner = numel(in->dims[0] + axis, (size_t)(r - axis)), flat[2] = {outer, inner};
    bool has_bias = in->n > 2 && in->present[2];
    if (numel(in->dims[1], in->rank[1]) != inner ||
        (has_bias && numel(in->dims[2], in->rank[2]) != inner))
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (LayerNormalization): Scale and B must have one value "
                             "per normalized element",
                             k->name);
    dnnl_memory_desc_t mds[3];
    dnnl_layer_normalization_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    unsigned flags = dnnl_use_scale | (has_bias ? dnnl_use_shift : 0u);
    dnnl_prop_kind_t prop = k->n_outputs > 2 ? dnnl_forward_training : dnnl_forward_inference;
    onednn_plan_shape(plan, 0, in->dims[0], in->rank[0]);
    ember_status s = onednn_md_plain(k, &mds[0], flat, 2);
    if (s == EMBER_OK)
        s = onednn_md_plain_as(k, &mds[1], &outer, 1, EMBER_DTYPE_FLOAT32);
    if (s == EMBER_OK)
        s = onednn_md_plain_as(k, &mds[2], &inner, 1, EMBER_DTYPE_FLOAT32);
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_layer_normalization_forward_desc_init(&desc, prop, &mds[0], &mds[1],
                                                                    p->epsilon, flags),
                         "the layer normalization");
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = layernorm_args(k, in, plan, mds, (size_t)axis);
    return onednn_plan_finish(k, plan, s, pd, attr);
}

ember_status onednn_create_layernorm(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(norm_params));
    norm_params *p = k->params;
    if (s == EMBER_OK)
        s = onednn_attr_float(k, node, "epsilon", 1e-5f, &p->epsilon);
    if (s == EMBER_OK)
        s = onednn_attr_int(k, node, "axis", -1, &p->axis);
    /* Mean and InvStdDev are both present or both absent (claim). */
    if (s == EMBER_OK && onednn_output_unused(k->host, node, 1))
        k->n_outputs = 1;
    k->build = layernorm_build;
    k->finish = layernorm_finish;
    k->param_mask = 6u; /* Scale and B */
    return s;
}

/* ---- LRN --------------------------------------------------------------- */

bool onednn_check_lrn(const ember_host_api *host, const ember_node *node)
{
    return onednn_input_float(host, node, 0, 3, 5);
}

/* ONNX and oneDNN agree: y = x / (bias + alpha / size * sum x^2)^beta over
 * channels [c - (size - 1) / 2, c + size / 2]. */
static ember_status lrn_build(const onednn_kernel *k, const onednn_shapes *in,
                              onednn_plan *plan)
{
    const norm_params *p = k->params;
    dnnl_memory_desc_t data;
    dnnl_lrn_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    onednn_plan_shape(plan, 0, in->dims[0], in->rank[0]);
    ember_status s = onednn_md_plain(k, &data, in->dims[0], in->rank[0]);
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_lrn_forward_desc_init(&desc, dnnl_forward_inference,
                                                    dnnl_lrn_across_channels, &data, p->size,
                                                    p->alpha, p->beta, p->bias),
                         "the LRN");
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, 0, &data, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &data, NULL);
    return onednn_plan_finish(k, plan, s, pd, attr);
}

ember_status onednn_create_lrn(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(norm_params));
    norm_params *p = k->params;
    if (s == EMBER_OK)
        s = onednn_attr_float(k, node, "alpha", 1e-4f, &p->alpha);
    if (s == EMBER_OK)
        s = onednn_attr_float(k, node, "beta", 0.75f, &p->beta);
    if (s == EMBER_OK)
        s = onednn_attr_float(k, node, "bias", 1.0f, &p->bias);
    if (s == EMBER_OK)
        s = onednn_attr_int(k, node, "size", 0, &p->size);
    if (s == EMBER_OK && p->size < 1)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (LRN): attribute 'size' must be >= 1", k->name);
    k->build = lrn_build;
    return s;
}
