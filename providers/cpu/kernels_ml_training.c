/*
 * The ai.onnx.preview.training optimizers Momentum, Adam and Adagrad, part
 * of the ml family (kernels_ml.c holds the registration table).
 */
#include "kernels_ml.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- Momentum, Adam, Adagrad ------------------------------------------- */

typedef enum optim_kind { OPT_MOMENTUM, OPT_ADAM, OPT_ADAGRAD } optim_kind;

typedef struct optim_params {
    optim_kind kind;
    bool nesterov;
    double alpha, beta, epsilon, norm, norm_post, decay;
} optim_params;

/* Inputs per optimized tensor after R and T: X, G and the states. */
static size_t optim_group(optim_kind kind)
{
    return kind == OPT_ADAM ? 4 : 3;
}

/* One element's update: x, g and the states s[0..1] in, new values out. */
static void optim_step(const optim_params *p, double r, int64_t t, double *x, double g,
                       double *st)
{
    double gr = p->norm * *x + g;
    if (p->kind == OPT_MOMENTUM) {
        double beta = t > 0 ? p->beta : 1.0;
        st[0] = p->alpha * st[0] + beta * gr;
        *x -= p->nesterov ? r * (gr + p->alpha * st[0]) : r * st[0];
    } else if (p->kind == OPT_ADAM) {
        st[0] = p->alpha * st[0] + (1.0 - p->alpha) * gr;
        st[1] = p->beta * st[1] + (1.0 - p->beta) * gr * gr;
        double ra = r;
        if (t > 0)
            ra = r * sqrt(1.0 - pow(p->beta, (double)t)) / (1.0 - pow(p->alpha, (double)t));
        *x = (1.0 - p->norm_post) * (*x - ra * (st[0] / (sqrt(st[1]) + p->epsilon)));
    } else {
        double ra = r / (1.0 + (double)t * p->decay);
        st[0] += gr * gr;
        *x -= ra * gr / (sqrt(st[0]) + p->epsilon);
    }
}

/* Checks that input `index` is a float32/float64 tensor shaped like x. */
static ember_status optim_like(const cpu_kernel *k, const ember_tensor *x, size_t index,
                               const ember_tensor *t)
{
    if (t->dtype != EMBER_DTYPE_FLOAT32 && t->dtype != EMBER_DTYPE_FLOAT64)
        return cpu_fail_dtype(k, index, t->dtype);
    if (t->rank != x->rank || memcmp(t->dims, x->dims, x->rank * sizeof *x->dims) != 0)
        return cpu_fail_shape(k, index, t, "differs from the shape of the tensor it updates");
    return EMBER_OK;
}

/* Updates tensor i of n: inputs X_i, G_i, states; outputs X_new_i, states. */
static ember_status optim_one(const cpu_kernel *k, ember_kernel_context *ctx, size_t i,
                              size_t n, double r, int64_t t)
{
    const optim_params *p = k->params;
    size_t ns = optim_group(p->kind) - 2;
    const ember_tensor *in[4];
    ember_tensor *out[3];
    ember_status s = EMBER_OK;
    for (size_t j = 0; s == EMBER_OK && j < ns + 2; j++)
        s = cpu_input(k, ctx, 2 + j * n + i, &in[j]);
    for (size_t j = 0; s == EMBER_OK && j < ns + 2; j++)
        s = optim_like(k, in[0], 2 + j * n + i, in[j]);
    for (size_t j = 0; s == EMBER_OK && j < ns + 1; j++)
        s = cpu_output(k, ctx, j * n + i, in[j == 0 ? 0 : j + 1]->dtype, in[0]->dims,
                       in[0]->rank, &out[j]);
    size_t m = s == EMBER_OK ? cpu_tensor_numel(in[0]) : 0;
    for (size_t e = 0; e < m; e++) {
        double x = cpu_get_f64(in[0]->data, in[0]->dtype, e);
        double st[2] = {cpu_get_f64(in[2]->data, in[2]->dtype, e), 0.0};
        if (ns == 2)
            st[1] = cpu_get_f64(in[3]->data, in[3]->dtype, e);
        optim_step(p, r, t, &x, cpu_get_f64(in[1]->data, in[1]->dtype, e), st);
        ml_put(out[0]->data, out[0]->dtype, e, x, 0);
        for (size_t j = 0; j < ns; j++)
            ml_put(out[j + 1]->data, out[j + 1]->dtype, e, st[j], 0);
    }
    return s;
}

static ember_status optim_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const optim_params *p = k->params;
    size_t g = optim_group(p->kind), n_in = k->host->ctx_input_count(ctx);
    if (n_in < 2 + g || (n_in - 2) % g != 0)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): %zu inputs is not 2 plus a multiple of %zu",
                             k->name, k->op, n_in, g);
    size_t n = (n_in - 2) / g;
    if (k->host->ctx_output_count(ctx) != n * (g - 1))
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): %zu outputs, expected %zu", k->name, k->op,
                             k->host->ctx_output_count(ctx), n * (g - 1));
    const ember_tensor *rt, *tt;
    ember_status s = cpu_input(k, ctx, 0, &rt);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &tt);
    if (s != EMBER_OK)
        return s;
    if (!ml_is_float(rt->dtype))
        return cpu_fail_dtype(k, 0, rt->dtype);
    if (tt->dtype != EMBER_DTYPE_INT64)
        return cpu_fail_dtype(k, 1, tt->dtype);
    if (cpu_tensor_numel(rt) != 1)
        return cpu_fail_shape(k, 0, rt, "must be a scalar");
    if (cpu_tensor_numel(tt) != 1)
        return cpu_fail_shape(k, 1, tt, "must be a scalar");
    double r = cpu_get_f64(rt->data, rt->dtype, 0);
    int64_t t = *(const int64_t *)tt->data;
    for (size_t i = 0; s == EMBER_OK && i < n; i++)
        s = optim_one(k, ctx, i, n, r, t);
    return s;
}

static ember_status optim_float(const cpu_kernel *k, const ember_node *node, const char *name,
                                bool required, float dflt, double *out)
{
    if (required && !cpu_attr_has(k, node, name))
        return cpu_ml_bad_attr(k, name, "is missing");
    float f = dflt;
    ember_status s = cpu_attr_float(k, node, name, dflt, &f);
    if (s == EMBER_OK)
        *out = f;
    return s;
}

static ember_status optim_create(cpu_kernel *k, const ember_node *node, optim_kind kind)
{
    ember_status s = cpu_kernel_params(k, sizeof(optim_params));
    if (s != EMBER_OK)
        return s;
    optim_params *p = k->params;
    p->kind = kind;
    bool m = kind == OPT_MOMENTUM;
    if (kind != OPT_ADAGRAD)
        s = optim_float(k, node, "alpha", m, 0.9f, &p->alpha);
    if (s == EMBER_OK && kind != OPT_ADAGRAD)
        s = optim_float(k, node, "beta", m, 0.999f, &p->beta);
    if (s == EMBER_OK)
        s = optim_float(k, node, "norm_coefficient", m, 0.0f, &p->norm);
    if (s == EMBER_OK && kind != OPT_MOMENTUM)
        s = optim_float(k, node, "epsilon", false, 1e-6f, &p->epsilon);
    if (s == EMBER_OK && kind == OPT_ADAM)
        s = optim_float(k, node, "norm_coefficient_post", false, 0.0f, &p->norm_post);
    if (s == EMBER_OK && kind == OPT_ADAGRAD)
        s = optim_float(k, node, "decay_factor", false, 0.0f, &p->decay);
    if (s == EMBER_OK && m) {
        char mode[16];
        if (!cpu_attr_has(k, node, "mode"))
            return cpu_ml_bad_attr(k, "mode", "is missing");
        s = cpu_attr_string(k, node, "mode", "standard", mode, sizeof mode);
        if (s == EMBER_OK && strcmp(mode, "standard") != 0 && strcmp(mode, "nesterov") != 0)
            s = cpu_ml_bad_attr(k, "mode", "is neither 'standard' nor 'nesterov'");
        p->nesterov = s == EMBER_OK && strcmp(mode, "nesterov") == 0;
    }
    k->run = optim_run;
    return s;
}

ember_status cpu_momentum_create(cpu_kernel *k, const ember_node *node)
{
    return optim_create(k, node, OPT_MOMENTUM);
}

ember_status cpu_adam_create(cpu_kernel *k, const ember_node *node)
{
    return optim_create(k, node, OPT_ADAM);
}

ember_status cpu_adagrad_create(cpu_kernel *k, const ember_node *node)
{
    return optim_create(k, node, OPT_ADAGRAD);
}

bool cpu_optim_check(const ember_host_api *host, const ember_node *node)
{
    uint32_t f = CPU_DT(EMBER_DTYPE_FLOAT32) | CPU_DT(EMBER_DTYPE_FLOAT64);
    if (!cpu_input_dtype_in(host, node, 1, CPU_DT(EMBER_DTYPE_INT64)))
        return false;
    for (size_t i = 0; i < host->node_input_count(node); i++)
        if (i != 1 && !cpu_input_dtype_in(host, node, i, f))
            return false;
    return true;
}

