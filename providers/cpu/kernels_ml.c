/*
 * Ops of the domains other than ai.onnx that the backend node tests use:
 * ai.onnx.ml LabelEncoder (opsets 2-4 forms), Binarizer,
 * ArrayFeatureExtractor and TreeEnsemble (ml opset 5), and the
 * ai.onnx.preview.training optimizers Momentum, Adam and Adagrad. Opset
 * ranges in the table are those of each op's own domain.
 *
 * This file reads top to bottom: shared helpers (element access by dtype,
 * attribute tensors; declared in kernels_ml.h), then LabelEncoder,
 * Binarizer and ArrayFeatureExtractor, and the registration table of the
 * family closes the file. TreeEnsemble lives in kernels_ml_tree.c, the
 * optimizers in kernels_ml_training.c.
 */
#include "kernels_ml.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ML_DOMAIN "ai.onnx.ml"
#define TRAINING_DOMAIN "ai.onnx.preview.training"

/* ---- shared helpers ---------------------------------------------------- */

ember_status cpu_ml_bad_attr(const cpu_kernel *k, const char *name, const char *why)
{
    return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute '%s' %s", k->name,
                         k->op, name, why);
}

ember_status cpu_ml_attr_tensor(const cpu_kernel *k, const ember_node *node,
                                const char *name, const ember_tensor **out)
{
    ember_attr attr;
    *out = NULL;
    if (!k->host->node_attr(node, name, &attr))
        return EMBER_OK;
    if (attr.type != EMBER_ATTR_TENSOR || attr.tensor == NULL)
        return cpu_ml_bad_attr(k, name, "is not a tensor");
    *out = attr.tensor;
    return EMBER_OK;
}

ember_status cpu_ml_attr_ints_dup(const cpu_kernel *k, const ember_node *node,
                                  const char *name, int64_t **out, size_t *n)
{
    ember_attr attr;
    *out = NULL;
    *n = 0;
    if (!k->host->node_attr(node, name, &attr))
        return EMBER_OK;
    if (attr.type != EMBER_ATTR_INTS && attr.type != EMBER_ATTR_INT)
        return cpu_ml_bad_attr(k, name, "is not a list of ints");
    size_t count = attr.type == EMBER_ATTR_INT ? 1 : attr.n;
    int64_t *copy = malloc((count > 0 ? count : 1) * sizeof *copy);
    if (copy == NULL)
        return cpu_fail_oom(k);
    if (attr.type == EMBER_ATTR_INT)
        copy[0] = attr.i;
    else if (count > 0)
        memcpy(copy, attr.ints, count * sizeof *copy);
    *out = copy;
    *n = count;
    return EMBER_OK;
}

/* ---- LabelEncoder ------------------------------------------------------ */

/* The kind of a key or value list: strings, integers or floats. */
typedef enum ml_kind { ML_NONE, ML_STR, ML_INT, ML_FLT } ml_kind;

/* A list of keys or values, decoded from the *_strings / *_int64s /
 * *_floats attributes or a *_tensor attribute. Strings own their bytes. */
typedef struct ml_list {
    ml_kind kind;
    size_t n;
    ember_string *strs;
    int64_t *ints;
    double *flts;
} ml_list;

typedef struct label_params {
    ml_list keys;
    ml_list values;
    uint32_t out_dtype;
    ember_string dflt_str; /* owned */
    int64_t dflt_int;
    double dflt_flt;
} label_params;

static void ml_list_free(ml_list *l)
{
    for (size_t i = 0; l->strs != NULL && i < l->n; i++)
        free((void *)l->strs[i].data);
    free(l->strs);
    free(l->ints);
    free(l->flts);
}

static void label_release(void *params)
{
    label_params *p = params;
    ml_list_free(&p->keys);
    ml_list_free(&p->values);
    free((void *)p->dflt_str.data);
}

static bool ml_str_copy(ember_string *dst, const ember_string *src)
{
    char *b = malloc(src->size + 1);
    if (b == NULL)
        return false;
    if (src->size > 0)
        memcpy(b, src->data, src->size);
    b[src->size] = '\0';
    dst->data = b;
    dst->size = src->size;
    return true;
}

/* Allocates the list's storage for n elements of `kind`. */
static bool ml_list_alloc(ml_list *l, ml_kind kind, size_t n)
{
    size_t m = n > 0 ? n : 1;
    l->kind = kind;
    l->n = n;
    if (kind == ML_STR)
        l->strs = calloc(m, sizeof *l->strs);
    else if (kind == ML_INT)
        l->ints = calloc(m, sizeof *l->ints);
    else
        l->flts = calloc(m, sizeof *l->flts);
    return l->strs != NULL || l->ints != NULL || l->flts != NULL;
}

static ember_status ml_list_from_tensor(const cpu_kernel *k, const ember_tensor *t,
                                        const char *name, ml_list *l)
{
    size_t n = cpu_tensor_numel(t);
    ml_kind kind = t->dtype == EMBER_DTYPE_STRING ? ML_STR
                   : ml_is_int(t->dtype)          ? ML_INT
                   : ml_is_float(t->dtype)        ? ML_FLT
                                                  : ML_NONE;
    if (kind == ML_NONE)
        return cpu_ml_bad_attr(k, name, "has an unsupported element type");
    if (!ml_list_alloc(l, kind, n))
        return cpu_fail_oom(k);
    for (size_t i = 0; i < n; i++) {
        if (kind == ML_STR) {
            l->n = i;
            if (!ml_str_copy(&l->strs[i], &((const ember_string *)t->data)[i]))
                return cpu_fail_oom(k);
            l->n = n;
        } else if (kind == ML_INT) {
            l->ints[i] = ml_get_int(t->data, t->dtype, i);
        } else {
            l->flts[i] = cpu_get_f64(t->data, t->dtype, i);
        }
    }
    return EMBER_OK;
}

/* Decodes `prefix`_strings / _int64s / _floats / _tensor (exactly one). */
static ember_status ml_list_decode(const cpu_kernel *k, const ember_node *node,
                                   const char *prefix, ml_list *l, uint32_t *dtype)
{
    static const char *const suffixes[] = {"_strings", "_int64s", "_floats", "_tensor"};
    char name[64], found[64] = "";
    ember_attr attr;
    int which = -1;
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, suffixes[i]);
        if (!k->host->node_attr(node, name, &attr))
            continue;
        if (which >= 0)
            return cpu_ml_bad_attr(k, name, "is given together with another list");
        which = i;
        snprintf(found, sizeof found, "%s", name);
    }
    if (which < 0) {
        snprintf(name, sizeof name, "%s_*", prefix);
        return cpu_ml_bad_attr(k, name, "is missing");
    }
    k->host->node_attr(node, found, &attr);
    if (which == 3) {
        if (attr.type != EMBER_ATTR_TENSOR || attr.tensor == NULL)
            return cpu_ml_bad_attr(k, found, "is not a tensor");
        *dtype = attr.tensor->dtype;
        return ml_list_from_tensor(k, attr.tensor, found, l);
    }
    static const uint32_t types[] = {EMBER_ATTR_STRINGS, EMBER_ATTR_INTS, EMBER_ATTR_FLOATS};
    static const uint32_t dtypes[] = {EMBER_DTYPE_STRING, EMBER_DTYPE_INT64,
                                      EMBER_DTYPE_FLOAT32};
    if (attr.type != types[which])
        return cpu_ml_bad_attr(k, found, "has the wrong type");
    *dtype = dtypes[which];
    if (!ml_list_alloc(l, which == 0 ? ML_STR : which == 1 ? ML_INT : ML_FLT, attr.n))
        return cpu_fail_oom(k);
    for (size_t i = 0; i < attr.n; i++) {
        if (which == 0) {
            l->n = i;
            if (!ml_str_copy(&l->strs[i], &attr.strings[i]))
                return cpu_fail_oom(k);
            l->n = attr.n;
        } else if (which == 1) {
            l->ints[i] = attr.ints[i];
        } else {
            l->flts[i] = attr.floats[i];
        }
    }
    return EMBER_OK;
}

/* The default value: default_tensor, or default_string / _int64 / _float
 * by the values' kind, or the spec's defaults ("_Unused", -1, -0.0). */
static ember_status label_default(const cpu_kernel *k, const ember_node *node,
                                  label_params *p)
{
    const ember_tensor *t;
    ember_status s = cpu_ml_attr_tensor(k, node, "default_tensor", &t);
    if (s != EMBER_OK)
        return s;
    static const ember_string unused = {"_Unused", 7};
    ember_string str = unused;
    p->dflt_int = -1;
    p->dflt_flt = -0.0;
    if (t != NULL && cpu_tensor_numel(t) >= 1) {
        if (t->dtype == EMBER_DTYPE_STRING)
            str = ((const ember_string *)t->data)[0];
        else if (ml_is_int(t->dtype))
            p->dflt_int = ml_get_int(t->data, t->dtype, 0);
        else
            p->dflt_flt = cpu_get_f64(t->data, t->dtype, 0);
    } else {
        ember_attr attr;
        if (k->host->node_attr(node, "default_string", &attr) &&
            attr.type == EMBER_ATTR_STRING)
            str = attr.s;
        if (k->host->node_attr(node, "default_int64", &attr) && attr.type == EMBER_ATTR_INT)
            p->dflt_int = attr.i;
        if (k->host->node_attr(node, "default_float", &attr) && attr.type == EMBER_ATTR_FLOAT)
            p->dflt_flt = attr.f;
    }
    if (!ml_str_copy(&p->dflt_str, &str))
        return cpu_fail_oom(k);
    return EMBER_OK;
}

/* Index of the key matching element i of x, or -1. As the spec says, a
 * NaN key matches any NaN and the last of repeated keys wins (the search
 * runs backwards). */
static ptrdiff_t label_find(const ml_list *keys, const ember_tensor *x, size_t i)
{
    if (keys->kind == ML_STR) {
        const ember_string *e = &((const ember_string *)x->data)[i];
        for (size_t j = keys->n; j-- > 0;)
            if (keys->strs[j].size == e->size &&
                (e->size == 0 || memcmp(keys->strs[j].data, e->data, e->size) == 0))
                return (ptrdiff_t)j;
    } else if (keys->kind == ML_INT) {
        int64_t v = ml_get_int(x->data, x->dtype, i);
        for (size_t j = keys->n; j-- > 0;)
            if (keys->ints[j] == v)
                return (ptrdiff_t)j;
    } else {
        bool single = x->dtype == EMBER_DTYPE_FLOAT32;
        double v = cpu_get_f64(x->data, x->dtype, i);
        for (size_t j = keys->n; j-- > 0;) {
            double key = single ? (float)keys->flts[j] : keys->flts[j];
            if (key == v || (isnan(key) && isnan(v)))
                return (ptrdiff_t)j;
        }
    }
    return -1;
}

static ember_status label_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const label_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    bool ok = p->keys.kind == ML_STR   ? x->dtype == EMBER_DTYPE_STRING
              : p->keys.kind == ML_INT ? ml_is_int(x->dtype)
                                       : ml_is_float(x->dtype);
    if (!ok)
        return cpu_fail_dtype(k, 0, x->dtype);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, p->out_dtype, x->dims, x->rank, &y);
    size_t n = cpu_tensor_numel(x);
    const ml_list *v = &p->values;
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        ptrdiff_t j = label_find(&p->keys, x, i);
        if (v->kind == ML_STR) {
            const ember_string *e = j >= 0 ? &v->strs[j] : &p->dflt_str;
            s = k->host->tensor_set_string(y, i, e->data, e->size);
        } else if (v->kind == ML_INT) {
            int64_t iv = j >= 0 ? v->ints[j] : p->dflt_int;
            ml_put(y->data, p->out_dtype, i, (double)iv, iv);
        } else {
            double fv = j >= 0 ? v->flts[j] : p->dflt_flt;
            ml_put(y->data, p->out_dtype, i, fv, (int64_t)fv);
        }
    }
    return s;
}

static ember_status label_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(label_params));
    if (s != EMBER_OK)
        return s;
    k->release = label_release;
    label_params *p = k->params;
    uint32_t key_dtype;
    s = ml_list_decode(k, node, "keys", &p->keys, &key_dtype);
    if (s == EMBER_OK)
        s = ml_list_decode(k, node, "values", &p->values, &p->out_dtype);
    if (s == EMBER_OK)
        s = label_default(k, node, p);
    if (s != EMBER_OK)
        return s;
    if (p->keys.n != p->values.n)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): %zu keys but %zu values", k->name, k->op,
                             p->keys.n, p->values.n);
    if (p->out_dtype != EMBER_DTYPE_STRING && cpu_dtype_size(p->out_dtype) == 0)
        return cpu_ml_bad_attr(k, "values_tensor", "has an unsupported element type");
    k->run = label_run;
    return EMBER_OK;
}

/* ---- Binarizer --------------------------------------------------------- */

typedef struct binarizer_params {
    double threshold;
} binarizer_params;

static ember_status binarizer_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const binarizer_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!ml_is_float(x->dtype) && !ml_is_int(x->dtype))
        return cpu_fail_dtype(k, 0, x->dtype);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    size_t n = cpu_tensor_numel(x);
    double thr = x->dtype == EMBER_DTYPE_FLOAT32 ? (float)p->threshold : p->threshold;
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        bool on = cpu_get_f64(x->data, x->dtype, i) > thr;
        ml_put(y->data, y->dtype, i, on ? 1.0 : 0.0, on ? 1 : 0);
    }
    return s;
}

static ember_status binarizer_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(binarizer_params));
    float thr = 0.0f;
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "threshold", 0.0f, &thr);
    if (s != EMBER_OK)
        return s;
    ((binarizer_params *)k->params)->threshold = thr;
    k->run = binarizer_run;
    return EMBER_OK;
}

static bool binarizer_check(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_NUMERIC);
}

/* ---- ArrayFeatureExtractor --------------------------------------------- */

/* Z[..., j] = X[..., Y[j]] over the flattened indices; a 1-D X gives a
 * [1, n] result (as onnxruntime and the reference do). */
static ember_status afe_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x, *y;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &y);
    if (s != EMBER_OK)
        return s;
    if (y->dtype != EMBER_DTYPE_INT64)
        return cpu_fail_dtype(k, 1, y->dtype);
    if (x->rank == 0)
        return cpu_fail_shape(k, 0, x, "must have rank 1 or more");
    size_t ni = cpu_tensor_numel(y), last = (size_t)x->dims[x->rank - 1];
    const int64_t *idx = y->data;
    for (size_t j = 0; j < ni; j++)
        if (idx[j] < 0 || (size_t)idx[j] >= last)
            return cpu_fail_shape(k, 1, y, "holds an index outside the last axis of input 0");
    int64_t dims[CPU_MAX_RANK];
    size_t rank = x->rank < 2 ? 2 : x->rank;
    if (x->rank == 1)
        dims[0] = 1;
    else
        memcpy(dims, x->dims, (x->rank - 1) * sizeof *dims);
    dims[rank - 1] = (int64_t)ni;
    ember_tensor *z;
    s = cpu_output(k, ctx, 0, x->dtype, dims, rank, &z);
    size_t rows = last > 0 ? cpu_tensor_numel(x) / last : cpu_numel(dims, rank - 1);
    size_t es = cpu_dtype_size(x->dtype);
    for (size_t r = 0; s == EMBER_OK && r < rows; r++) {
        for (size_t j = 0; s == EMBER_OK && j < ni; j++) {
            size_t src = r * last + (size_t)idx[j], dst = r * ni + j;
            if (x->dtype == EMBER_DTYPE_STRING) {
                const ember_string *e = &((const ember_string *)x->data)[src];
                s = k->host->tensor_set_string(z, dst, e->data, e->size);
            } else {
                memcpy((char *)z->data + dst * es, (const char *)x->data + src * es, es);
            }
        }
    }
    return s;
}

static ember_status afe_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = afe_run;
    return EMBER_OK;
}

static bool afe_check(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_NUMERIC | CPU_DT(EMBER_DTYPE_STRING)) &&
           cpu_input_dtype_in(host, node, 1, CPU_DT(EMBER_DTYPE_INT64));
}

/* ---- registration ------------------------------------------------------ */

const cpu_op_entry cpu_ops_ml[] = {
    {"LabelEncoder", 2, 5, NULL, label_create, ML_DOMAIN},
    {"Binarizer", 1, 5, binarizer_check, binarizer_create, ML_DOMAIN},
    {"ArrayFeatureExtractor", 1, 5, afe_check, afe_create, ML_DOMAIN},
    {"TreeEnsemble", 5, 5, cpu_tree_check, cpu_tree_create, ML_DOMAIN},
    {"Momentum", 1, 1, cpu_optim_check, cpu_momentum_create, TRAINING_DOMAIN},
    {"Adam", 1, 1, cpu_optim_check, cpu_adam_create, TRAINING_DOMAIN},
    {"Adagrad", 1, 1, cpu_optim_check, cpu_adagrad_create, TRAINING_DOMAIN},
    {NULL, 0, 0, NULL, NULL, NULL},
};
