/*
 * BatchNormalization in inference mode: y = (x - mean) / sqrt(var + eps) *
 * scale + bias per channel, folded into y = x * a[c] + b[c]. Opsets before
 * 9 also allow spatial=0 (statistics per element of [C, D1, ...]). Training
 * mode (training_mode=1, or the running-statistics outputs) is refused at
 * kernel_create.
 */
#include "cpu_kernel.h"

#include <math.h>

typedef struct bn_params {
    float epsilon;
    bool spatial;
} bn_params;

/* Element i of a float tensor as double (scale, bias, mean and var may
 * have their own float type from opset 15). */
static double read_float(const ember_tensor *t, size_t i)
{
    switch (t->dtype) {
    case EMBER_DTYPE_FLOAT32: return ((const float *)t->data)[i];
    case EMBER_DTYPE_FLOAT64: return ((const double *)t->data)[i];
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(((const uint16_t *)t->data)[i]);
    default: return cpu_bf16_to_f32(((const uint16_t *)t->data)[i]);
    }
}

typedef struct bn_job {
    const void *x;
    void *y;
    const double *a, *b; /* per channel */
    size_t channels, inner;
    uint32_t dtype;
} bn_job;

static void bn_planes(void *arg, size_t begin, size_t end)
{
    const bn_job *j = arg;
    for (size_t p = begin; p < end; p++) {
        size_t c = p % j->channels, off = p * j->inner;
        double a = j->a[c], b = j->b[c];
        if (j->dtype == EMBER_DTYPE_FLOAT64) {
            const double *x = (const double *)j->x + off;
            double *y = (double *)j->y + off;
            for (size_t i = 0; i < j->inner; i++)
                y[i] = x[i] * a + b;
        } else {
            const float *x = (const float *)j->x + off;
            float *y = (float *)j->y + off;
            float fa = (float)a, fb = (float)b;
            for (size_t i = 0; i < j->inner; i++)
                y[i] = x[i] * fa + fb;
        }
    }
}

/* Reads inputs 1-4 and folds them into a[] and b[] (scratch). */
static ember_status bn_fold(const cpu_kernel *k, ember_kernel_context *ctx, size_t channels,
                            double **a, double **b)
{
    const bn_params *p = k->params;
    const ember_tensor *t[5];
    for (size_t i = 1; i < 5; i++) {
        ember_status s = cpu_input(k, ctx, i, &t[i]);
        if (s != EMBER_OK)
            return s;
        if (!(CPU_DT(t[i]->dtype) & CPU_DT_FLOATS))
            return cpu_fail_dtype(k, i, t[i]->dtype);
        if (cpu_tensor_numel(t[i]) != channels)
            return cpu_fail_shape(k, i, t[i], "its size differs from input 0's channels");
    }
    ember_status s = k->host->ctx_scratch(ctx, 2 * channels * sizeof(double) + 1, (void **)a);
    if (s != EMBER_OK)
        return s;
    *b = *a + channels;
    for (size_t c = 0; c < channels; c++) {
        double scale = read_float(t[1], c) / sqrt(read_float(t[4], c) + p->epsilon);
        (*a)[c] = scale;
        (*b)[c] = read_float(t[2], c) - read_float(t[3], c) * scale;
    }
    return EMBER_OK;
}

static ember_status bn_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const bn_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    if (x->rank < 2)
        return cpu_fail_shape(k, 0, x, "expected [N, C, ...]");
    size_t inner = cpu_numel(x->dims + 2, x->rank - 2);
    bn_job j = {x->data, NULL, NULL, NULL, (size_t)x->dims[1], inner, x->dtype};
    if (!p->spatial) {
        j.channels *= inner;
        j.inner = 1;
    }
    double *a = NULL, *b = NULL;
    s = bn_fold(k, ctx, j.channels, &a, &b);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    size_t n = cpu_tensor_numel(x);
    if (s != EMBER_OK || n == 0)
        return s;
    j.a = a;
    j.b = b;
    j.y = y->data;
    float *fx = NULL, *fy = NULL;
    if (cpu_is_half(x->dtype)) {
        s = cpu_half_input(ctx, k, x, &fx);
        if (s == EMBER_OK)
            s = k->host->ctx_scratch(ctx, n * sizeof(float), (void **)&fy);
        if (s != EMBER_OK)
            return s;
        j.x = fx;
        j.y = fy;
        j.dtype = EMBER_DTYPE_FLOAT32;
    }
    cpu_parallel(ctx, k, n / j.inner, n * 2, bn_planes, &j);
    if (fy != NULL)
        cpu_float_to_half(x->dtype, fy, y->data, n);
    return EMBER_OK;
}

/* Training mode: opset >= 14 says so with training_mode; earlier opsets by
 * asking for the running statistics (outputs 1-4). */
static ember_status bn_refuse_training(cpu_kernel *k, const ember_node *node)
{
    int64_t training = 0;
    ember_status s = cpu_attr_int(k, node, "training_mode", 0, &training);
    if (s != EMBER_OK)
        return s;
    ember_type_info info;
    bool stats = false;
    for (size_t i = 1; i < k->host->node_output_count(node); i++)
        stats = stats || k->host->node_output_type(node, i, &info);
    if (training != 0 || stats)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): training mode (training_mode=1 or the "
                             "running-statistics outputs) is not supported; only inference",
                             k->name, k->op);
    return EMBER_OK;
}

ember_status cpu_create_batchnorm(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(bn_params));
    if (s != EMBER_OK)
        return s;
    bn_params *p = k->params;
    int64_t spatial = 1;
    s = cpu_attr_float(k, node, "epsilon", 1e-5f, &p->epsilon);
    if (s == EMBER_OK && k->opset < 9)
        s = cpu_attr_int(k, node, "spatial", 1, &spatial);
    if (s == EMBER_OK)
        s = bn_refuse_training(k, node);
    p->spatial = spatial != 0;
    k->run = bn_run;
    return s;
}
