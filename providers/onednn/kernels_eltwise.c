/*
 * Elementwise activations (Relu, LeakyRelu, Elu, Sigmoid, Tanh, Clip, Gelu) as a
 * oneDNN eltwise over the tensor seen as one flat vector, and Softmax /
 * LogSoftmax as a oneDNN softmax (v2) along the ONNX axis (before opset 13,
 * over the tensor flattened to 2-D at the axis).
 */
#include "onednn_kernel.h"

#include <float.h>
#include <string.h>

typedef struct eltwise_params {
    dnnl_alg_kind_t alg;
    float alpha, beta;
    int64_t axis;
    bool is_legacy_softmax;
} eltwise_params;

bool onednn_check_eltwise(const ember_host_api *host, const ember_node *node)
{
    if (!onednn_input_float(host, node, 0, 0, ONEDNN_MAX_RANK))
        return false;
    /* Clip's bounds (opset 11+): absent or float32 scalars. */
    return onednn_input_float(host, node, 1, 0, 1) && onednn_input_float(host, node, 2, 0, 1);
}

static int64_t numel(const int64_t *dims, size_t rank)
{
    int64_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* Shared tail: primitive descriptor, one input, one output, one shape. */
static ember_status unary_finish(const onednn_kernel *k, const onednn_shapes *in,
                                 onednn_plan *plan, const void *desc,
                                 const dnnl_memory_desc_t *md)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    onednn_plan_shape(plan, 0, in->dims[0], in->rank[0]);
    ember_status s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, 0, md, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, md, NULL);
    return onednn_plan_finish(k, plan, s, pd, attr);
}

/* ---- eltwise ----------------------------------------------------------- */

/* Clip's bound `index` for this plan (opset 11+), or dflt when absent. */
static float clip_bound(const onednn_kernel *k, const onednn_shapes *in, size_t index,
                        float dflt)
{
    if (index >= in->n || in->data[index] == NULL)
        return dflt;
    if (k->dtype != EMBER_DTYPE_BFLOAT16)
        return *(const float *)in->data[index];
    uint16_t half;
    uint32_t bits;
    float value;
    memcpy(&half, in->data[index], sizeof half);
    bits = (uint32_t)half << 16; /* bfloat16 is the top half of a float32 */
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* The oneDNN algorithm and its alpha/beta for this plan's inputs. */
static void eltwise_alg(const onednn_kernel *k, const onednn_shapes *in, float *alpha,
                        float *beta)
{
    const eltwise_params *p = k->params;
    *alpha = p->alpha;
    *beta = p->beta;
    if (p->alg == dnnl_eltwise_clip_v2 && k->opset >= 11) {
        *alpha = clip_bound(k, in, 1, -FLT_MAX);
        *beta = clip_bound(k, in, 2, FLT_MAX);
    }
    /* ONNX: min > max sets every value to max; oneDNN wants min <= max. */
    if (p->alg == dnnl_eltwise_clip_v2 && *alpha > *beta)
        *alpha = *beta;
}

static ember_status eltwise_build(const onednn_kernel *k, const onednn_shapes *in,
                                  onednn_plan *plan)
{
    const eltwise_params *p = k->params;
    int64_t n = numel(in->dims[0], in->rank[0]);
    float alpha, beta;
    eltwise_alg(k, in, &alpha, &beta);
    dnnl_memory_desc_t md;
    dnnl_eltwise_desc_t desc;
    /* In a group the input may arrive in a blocked layout, which an
     * eltwise takes as it is. */
    ember_status s = in->layout[0] != NULL ? onednn_md_input(k, in, 0, &md)
                                           : onednn_md_plain(k, &md, &n, 1);
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, p->alg, &md,
                                                        alpha, beta),
                         "the eltwise");
    if (s != EMBER_OK)
        return s;
    return unary_finish(k, in, plan, &desc, &md);
}

bool onednn_eltwise_post_op(const onednn_kernel *k, const onednn_shapes *in, onednn_fusion *f)
{
    if (k->build != eltwise_build)
        return false;
    f->eltwise = ((const eltwise_params *)k->params)->alg;
    eltwise_alg(k, in, &f->alpha, &f->beta);
    return true;
}

ember_status onednn_create_eltwise(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(eltwise_params));
    eltwise_params *p = k->params;
    if (s != EMBER_OK)
        return s;
    k->build = eltwise_build;
    if (strcmp(k->op, "Relu") == 0)
        p->alg = dnnl_eltwise_relu;
    else if (strcmp(k->op, "Sigmoid") == 0)
        p->alg = dnnl_eltwise_logistic;
    else if (strcmp(k->op, "Tanh") == 0)
        p->alg = dnnl_eltwise_tanh;
    else if (strcmp(k->op, "Gelu") == 0) {
        char approximate[8];
        s = onednn_attr_string(k, node, "approximate", "none", approximate, sizeof approximate);
        if (s == EMBER_OK && strcmp(approximate, "none") != 0 && strcmp(approximate, "tanh") != 0)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (Gelu): approximate must be 'none' or 'tanh', not "
                                 "'%s'",
                                 k->name, approximate);
        p->alg = strcmp(approximate, "tanh") == 0 ? dnnl_eltwise_gelu_tanh : dnnl_eltwise_gelu_erf;
        return s;
    }
    else if (strcmp(k->op, "LeakyRelu") == 0) {
        p->alg = dnnl_eltwise_relu;
        return onednn_attr_float(k, node, "alpha", 0.01f, &p->alpha);
    } else if (strcmp(k->op, "Elu") == 0) {
        p->alg = dnnl_eltwise_elu;
        return onednn_attr_float(k, node, "alpha", 1.0f, &p->alpha);
    } else { /* Clip */
        p->alg = dnnl_eltwise_clip_v2;
        if (k->opset >= 11) {
            k->value_mask = 6u; /* min and max are inputs 1 and 2 */
            return EMBER_OK;
        }
        s = onednn_attr_float(k, node, "min", -FLT_MAX, &p->alpha);
        if (s == EMBER_OK)
            s = onednn_attr_float(k, node, "max", FLT_MAX, &p->beta);
    }
    return s;
}

/* ---- Softmax ----------------------------------------------------------- */

bool onednn_check_softmax(const ember_host_api *host, const ember_node *node)
{
    return onednn_input_float(host, node, 0, 1, ONEDNN_MAX_RANK);
}

static ember_status softmax_build(const onednn_kernel *k, const onednn_shapes *in,
                                  onednn_plan *plan)
{
    const eltwise_params *p = k->params;
    int64_t r = (int64_t)in->rank[0], axis = p->axis < 0 ? p->axis + r : p->axis;
    if (axis < 0 || axis >= r)
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): axis %lld is out of range",
                             k->name, k->op, (long long)p->axis);
    dnnl_memory_desc_t md;
    dnnl_softmax_v2_desc_t desc;
    ember_status s;
    if (p->is_legacy_softmax) {
        int64_t flat[2] = {numel(in->dims[0], (size_t)axis),
                           numel(in->dims[0] + axis, (size_t)(r - axis))};
        s = onednn_md_plain(k, &md, flat, 2);
        axis = 1;
    } else {
        s = onednn_md_plain(k, &md, in->dims[0], in->rank[0]);
    }
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_softmax_v2_forward_desc_init(&desc, dnnl_forward_inference, p->alg,
                                                           &md, &md, (int)axis),
                         "the softmax");
    if (s != EMBER_OK)
        return s;
    return unary_finish(k, in, plan, &desc, &md);
}

ember_status onednn_create_softmax(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(eltwise_params));
    eltwise_params *p = k->params;
    if (s != EMBER_OK)
        return s;
    p->alg = strcmp(k->op, "LogSoftmax") == 0 ? dnnl_softmax_log : dnnl_softmax_accurate;
    p->is_legacy_softmax = k->opset < 13;
    k->build = softmax_build;
    return onednn_attr_int(k, node, "axis", p->is_legacy_softmax ? 1 : -1, &p->axis);
}
