/*
 * Ops of the domains other than ai.onnx that the backend node tests use:
 * ai.onnx.ml LabelEncoder (opsets 2-4 forms), Binarizer,
 * ArrayFeatureExtractor and TreeEnsemble (ml opset 5), and the
 * ai.onnx.preview.training optimizers Momentum, Adam and Adagrad. Opset
 * ranges in the table are those of each op's own domain.
 *
 * The file reads top to bottom: shared helpers (element access by dtype,
 * attribute tensors), then one section per op, and the registration table
 * closes the file.
 */
#include "cpu_kernel.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ML_DOMAIN "ai.onnx.ml"
#define TRAINING_DOMAIN "ai.onnx.preview.training"

/* ---- shared helpers ---------------------------------------------------- */

static ember_status ml_oom(const cpu_kernel *k)
{
    return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (%s): out of memory", k->name, k->op);
}

static ember_status ml_bad_attr(const cpu_kernel *k, const char *name, const char *why)
{
    return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute '%s' %s", k->name,
                         k->op, name, why);
}

static bool ml_is_int(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_INT64 || dtype == EMBER_DTYPE_INT32 ||
           dtype == EMBER_DTYPE_INT16 || dtype == EMBER_DTYPE_INT8 ||
           dtype == EMBER_DTYPE_UINT8 || dtype == EMBER_DTYPE_UINT16 ||
           dtype == EMBER_DTYPE_UINT32 || dtype == EMBER_DTYPE_UINT64;
}

static bool ml_is_float(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_FLOAT32 || dtype == EMBER_DTYPE_FLOAT64 ||
           dtype == EMBER_DTYPE_FLOAT16 || dtype == EMBER_DTYPE_BFLOAT16;
}

/* Element i of a numeric buffer as a double (integers and floats). */
static double ml_get(const void *data, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return ((const float *)data)[i];
    case EMBER_DTYPE_FLOAT64: return ((const double *)data)[i];
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(((const uint16_t *)data)[i]);
    case EMBER_DTYPE_BFLOAT16: return cpu_bf16_to_f32(((const uint16_t *)data)[i]);
    case EMBER_DTYPE_INT64: return (double)((const int64_t *)data)[i];
    case EMBER_DTYPE_INT32: return ((const int32_t *)data)[i];
    case EMBER_DTYPE_INT16: return ((const int16_t *)data)[i];
    case EMBER_DTYPE_INT8: return ((const int8_t *)data)[i];
    case EMBER_DTYPE_UINT8: return ((const uint8_t *)data)[i];
    case EMBER_DTYPE_UINT16: return ((const uint16_t *)data)[i];
    case EMBER_DTYPE_UINT32: return ((const uint32_t *)data)[i];
    case EMBER_DTYPE_UINT64: return (double)((const uint64_t *)data)[i];
    default: return 0.0;
    }
}

/* Element i of an integer buffer, exactly. */
static int64_t ml_get_int(const void *data, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case EMBER_DTYPE_INT64: return ((const int64_t *)data)[i];
    case EMBER_DTYPE_UINT64: return (int64_t)((const uint64_t *)data)[i];
    case EMBER_DTYPE_UINT32: return ((const uint32_t *)data)[i];
    default: return (int64_t)ml_get(data, dtype, i);
    }
}

/* Stores v into element i of a float or integer buffer. */
static void ml_put(void *data, uint32_t dtype, size_t i, double v, int64_t iv)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: ((float *)data)[i] = (float)v; break;
    case EMBER_DTYPE_FLOAT64: ((double *)data)[i] = v; break;
    case EMBER_DTYPE_FLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_f16((float)v); break;
    case EMBER_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = cpu_f32_to_bf16((float)v); break;
    case EMBER_DTYPE_INT64: ((int64_t *)data)[i] = iv; break;
    case EMBER_DTYPE_INT32: ((int32_t *)data)[i] = (int32_t)iv; break;
    case EMBER_DTYPE_INT16: ((int16_t *)data)[i] = (int16_t)iv; break;
    case EMBER_DTYPE_INT8: ((int8_t *)data)[i] = (int8_t)iv; break;
    case EMBER_DTYPE_UINT8: ((uint8_t *)data)[i] = (uint8_t)iv; break;
    case EMBER_DTYPE_UINT16: ((uint16_t *)data)[i] = (uint16_t)iv; break;
    case EMBER_DTYPE_UINT32: ((uint32_t *)data)[i] = (uint32_t)iv; break;
    case EMBER_DTYPE_UINT64: ((uint64_t *)data)[i] = (uint64_t)iv; break;
    default: break;
    }
}

/* A tensor attribute; *out is NULL when absent. */
static ember_status ml_attr_tensor(const cpu_kernel *k, const ember_node *node,
                                   const char *name, const ember_tensor **out)
{
    ember_attr attr;
    *out = NULL;
    if (!k->host->node_attr(node, name, &attr))
        return EMBER_OK;
    if (attr.type != EMBER_ATTR_TENSOR || attr.tensor == NULL)
        return ml_bad_attr(k, name, "is not a tensor");
    *out = attr.tensor;
    return EMBER_OK;
}

/* An ints attribute copied into a malloc'd array (NULL, 0 when absent). */
static ember_status ml_attr_ints_dup(const cpu_kernel *k, const ember_node *node,
                                     const char *name, int64_t **out, size_t *n)
{
    ember_attr attr;
    *out = NULL;
    *n = 0;
    if (!k->host->node_attr(node, name, &attr))
        return EMBER_OK;
    if (attr.type != EMBER_ATTR_INTS && attr.type != EMBER_ATTR_INT)
        return ml_bad_attr(k, name, "is not a list of ints");
    size_t count = attr.type == EMBER_ATTR_INT ? 1 : attr.n;
    int64_t *copy = malloc((count > 0 ? count : 1) * sizeof *copy);
    if (copy == NULL)
        return ml_oom(k);
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
        return ml_bad_attr(k, name, "has an unsupported element type");
    if (!ml_list_alloc(l, kind, n))
        return ml_oom(k);
    for (size_t i = 0; i < n; i++) {
        if (kind == ML_STR) {
            l->n = i;
            if (!ml_str_copy(&l->strs[i], &((const ember_string *)t->data)[i]))
                return ml_oom(k);
            l->n = n;
        } else if (kind == ML_INT) {
            l->ints[i] = ml_get_int(t->data, t->dtype, i);
        } else {
            l->flts[i] = ml_get(t->data, t->dtype, i);
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
            return ml_bad_attr(k, name, "is given together with another list");
        which = i;
        snprintf(found, sizeof found, "%s", name);
    }
    if (which < 0) {
        snprintf(name, sizeof name, "%s_*", prefix);
        return ml_bad_attr(k, name, "is missing");
    }
    k->host->node_attr(node, found, &attr);
    if (which == 3) {
        if (attr.type != EMBER_ATTR_TENSOR || attr.tensor == NULL)
            return ml_bad_attr(k, found, "is not a tensor");
        *dtype = attr.tensor->dtype;
        return ml_list_from_tensor(k, attr.tensor, found, l);
    }
    static const uint32_t types[] = {EMBER_ATTR_STRINGS, EMBER_ATTR_INTS, EMBER_ATTR_FLOATS};
    static const uint32_t dtypes[] = {EMBER_DTYPE_STRING, EMBER_DTYPE_INT64,
                                      EMBER_DTYPE_FLOAT32};
    if (attr.type != types[which])
        return ml_bad_attr(k, found, "has the wrong type");
    *dtype = dtypes[which];
    if (!ml_list_alloc(l, which == 0 ? ML_STR : which == 1 ? ML_INT : ML_FLT, attr.n))
        return ml_oom(k);
    for (size_t i = 0; i < attr.n; i++) {
        if (which == 0) {
            l->n = i;
            if (!ml_str_copy(&l->strs[i], &attr.strings[i]))
                return ml_oom(k);
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
    ember_status s = ml_attr_tensor(k, node, "default_tensor", &t);
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
            p->dflt_flt = ml_get(t->data, t->dtype, 0);
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
        return ml_oom(k);
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
        double v = ml_get(x->data, x->dtype, i);
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
        return ml_bad_attr(k, "values_tensor", "has an unsupported element type");
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
        bool on = ml_get(x->data, x->dtype, i) > thr;
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

/* ---- TreeEnsemble ------------------------------------------------------ */

/* The input types the spec allows. */
#define TREE_DTYPES                                                                       \
    (CPU_DT(EMBER_DTYPE_FLOAT32) | CPU_DT(EMBER_DTYPE_FLOAT64) | CPU_DT(EMBER_DTYPE_FLOAT16))

enum { TREE_LEQ, TREE_LT, TREE_GTE, TREE_GT, TREE_EQ, TREE_NEQ, TREE_MEMBER };
enum { AGG_AVERAGE, AGG_SUM, AGG_MIN, AGG_MAX };
enum { POST_NONE, POST_SOFTMAX, POST_LOGISTIC, POST_SOFTMAX_ZERO, POST_PROBIT };

/* One interior node; `set` indexes members[] for set membership. */
typedef struct tree_node {
    double split;
    int64_t feature;
    uint8_t mode;
    bool missing_true;
    bool true_leaf, false_leaf;
    size_t true_id, false_id;
    size_t set_begin, set_end;
} tree_node;

typedef struct tree_params {
    tree_node *nodes;
    size_t n_nodes;
    double *leaf_weights;
    int64_t *leaf_targets;
    size_t n_leaves;
    double *members;
    size_t n_members;
    size_t *roots;
    size_t n_roots;
    int64_t n_targets;
    int64_t aggregate;
    int64_t post;
} tree_params;

static void tree_release(void *params)
{
    tree_params *p = params;
    free(p->nodes);
    free(p->leaf_weights);
    free(p->leaf_targets);
    free(p->members);
    free(p->roots);
}

static bool tree_cond(const tree_params *p, const tree_node *n, double x)
{
    if (isnan(x) && n->missing_true)
        return true;
    switch (n->mode) {
    case TREE_LEQ: return x <= n->split;
    case TREE_LT: return x < n->split;
    case TREE_GTE: return x >= n->split;
    case TREE_GT: return x > n->split;
    case TREE_EQ: return x == n->split;
    case TREE_NEQ: return x != n->split;
    default:
        for (size_t i = n->set_begin; i < n->set_end; i++)
            if (p->members[i] == x)
                return true;
        return false;
    }
}

/* The leaf that tree `t` reaches for one row of features; false when the
 * walk does not reach a leaf within n_nodes steps (a cycle). */
static bool tree_leaf(const tree_params *p, size_t t, const void *x, uint32_t dtype,
                      size_t row_off, size_t *leaf)
{
    size_t id = p->roots[t];
    const tree_node *n = &p->nodes[id];
    if (n->true_leaf && n->false_leaf && n->true_id == n->false_id) {
        *leaf = id;
        return true;
    }
    for (size_t steps = 0; steps <= p->n_nodes; steps++) {
        n = &p->nodes[id];
        bool c = tree_cond(p, n, ml_get(x, dtype, row_off + (size_t)n->feature));
        id = c ? n->true_id : n->false_id;
        if (c ? n->true_leaf : n->false_leaf) {
            *leaf = id;
            return true;
        }
    }
    return false;
}

static void tree_post(const tree_params *p, double *r)
{
    size_t nt = (size_t)p->n_targets;
    if (p->post == POST_LOGISTIC) {
        for (size_t j = 0; j < nt; j++)
            r[j] = 1.0 / (1.0 + exp(-r[j]));
    } else if (p->post == POST_SOFTMAX || p->post == POST_SOFTMAX_ZERO) {
        bool zero = p->post == POST_SOFTMAX_ZERO;
        double max = -INFINITY, sum = 0.0;
        for (size_t j = 0; j < nt; j++)
            if (!(zero && r[j] == 0.0) && r[j] > max)
                max = r[j];
        for (size_t j = 0; j < nt; j++) {
            r[j] = zero && r[j] == 0.0 ? 0.0 : exp(r[j] - max);
            sum += r[j];
        }
        for (size_t j = 0; j < nt && sum > 0.0; j++)
            r[j] /= sum;
    }
}

static ember_status tree_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const tree_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if ((CPU_DT(x->dtype) & TREE_DTYPES) == 0)
        return cpu_fail_dtype(k, 0, x->dtype);
    if (x->rank != 2 && x->rank != 1)
        return cpu_fail_shape(k, 0, x, "must be 1-D or 2-D");
    size_t rows = x->rank == 2 ? (size_t)x->dims[0] : 1;
    size_t cols = (size_t)x->dims[x->rank - 1];
    for (size_t i = 0; i < p->n_nodes; i++)
        if ((size_t)p->nodes[i].feature >= cols)
            return cpu_fail_shape(k, 0, x, "has fewer features than nodes_featureids uses");
    size_t nt = (size_t)p->n_targets;
    int64_t dims[2] = {(int64_t)rows, p->n_targets};
    ember_tensor *y;
    double *r;
    s = cpu_output(k, ctx, 0, x->dtype, dims, 2, &y);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (nt > 0 ? nt : 1) * sizeof *r, (void **)&r);
    double init = p->aggregate == AGG_MIN ? DBL_MAX : p->aggregate == AGG_MAX ? -DBL_MAX : 0.0;
    if (x->dtype != EMBER_DTYPE_FLOAT64 && p->aggregate >= AGG_MIN) {
        /* the largest finite value of X's type, as the reference does */
        double big = x->dtype == EMBER_DTYPE_FLOAT16 ? 65504.0 : FLT_MAX;
        init = p->aggregate == AGG_MIN ? big : -big;
    }
    for (size_t row = 0; s == EMBER_OK && row < rows; row++) {
        for (size_t j = 0; j < nt; j++)
            r[j] = init;
        for (size_t t = 0; t < p->n_roots; t++) {
            size_t leaf;
            if (!tree_leaf(p, t, x->data, x->dtype, row * cols, &leaf))
                return k->host->fail(EMBER_E_INVALID_MODEL,
                                     "node '%s' (%s): tree %zu has a cycle", k->name, k->op,
                                     t);
            double w = p->leaf_weights[leaf];
            double *d = &r[p->leaf_targets[leaf]];
            if (p->aggregate == AGG_SUM)
                *d += w;
            else if (p->aggregate == AGG_AVERAGE)
                *d += w / (double)p->n_roots;
            else if (p->aggregate == AGG_MIN)
                *d = w < *d ? w : *d;
            else
                *d = w > *d ? w : *d;
        }
        tree_post(p, r);
        for (size_t j = 0; j < nt; j++)
            ml_put(y->data, y->dtype, row * nt + j, r[j], 0);
    }
    return s;
}

/* A float tensor attribute copied into doubles (NULL, 0 when absent and
 * not required). */
static ember_status tree_doubles(const cpu_kernel *k, const ember_node *node, const char *name,
                                 bool required, double **out, size_t *n)
{
    const ember_tensor *t;
    ember_status s = ml_attr_tensor(k, node, name, &t);
    *out = NULL;
    *n = 0;
    if (s != EMBER_OK)
        return s;
    if (t == NULL)
        return required ? ml_bad_attr(k, name, "is missing") : EMBER_OK;
    if (!ml_is_float(t->dtype))
        return ml_bad_attr(k, name, "is not a float tensor");
    size_t count = cpu_tensor_numel(t);
    double *d = malloc((count > 0 ? count : 1) * sizeof *d);
    if (d == NULL)
        return ml_oom(k);
    for (size_t i = 0; i < count; i++)
        d[i] = ml_get(t->data, t->dtype, i);
    *out = d;
    *n = count;
    return EMBER_OK;
}

/* The per-node integer attributes, each of n_nodes entries. */
typedef struct tree_int_attrs {
    int64_t *feature, *true_id, *false_id, *true_leaf, *false_leaf, *missing;
    size_t n_feature, n_true_id, n_false_id, n_true_leaf, n_false_leaf, n_missing;
} tree_int_attrs;

static void tree_int_attrs_free(tree_int_attrs *a)
{
    free(a->feature);
    free(a->true_id);
    free(a->false_id);
    free(a->true_leaf);
    free(a->false_leaf);
    free(a->missing);
}

static ember_status tree_int_attrs_read(const cpu_kernel *k, const ember_node *node,
                                        tree_int_attrs *a)
{
    ember_status s = ml_attr_ints_dup(k, node, "nodes_featureids", &a->feature, &a->n_feature);
    if (s == EMBER_OK)
        s = ml_attr_ints_dup(k, node, "nodes_truenodeids", &a->true_id, &a->n_true_id);
    if (s == EMBER_OK)
        s = ml_attr_ints_dup(k, node, "nodes_falsenodeids", &a->false_id, &a->n_false_id);
    if (s == EMBER_OK)
        s = ml_attr_ints_dup(k, node, "nodes_trueleafs", &a->true_leaf, &a->n_true_leaf);
    if (s == EMBER_OK)
        s = ml_attr_ints_dup(k, node, "nodes_falseleafs", &a->false_leaf, &a->n_false_leaf);
    if (s == EMBER_OK)
        s = ml_attr_ints_dup(k, node, "nodes_missing_value_tracks_true", &a->missing,
                             &a->n_missing);
    return s;
}

/* Fills p->nodes from the attributes; checks every index. */
static ember_status tree_build_nodes(const cpu_kernel *k, const ember_node *node,
                                     tree_params *p, const double *splits, size_t n_splits)
{
    tree_int_attrs a = {0};
    const ember_tensor *modes;
    ember_status s = tree_int_attrs_read(k, node, &a);
    if (s == EMBER_OK)
        s = ml_attr_tensor(k, node, "nodes_modes", &modes);
    size_t n = n_splits;
    if (s == EMBER_OK && (modes == NULL || cpu_tensor_numel(modes) != n ||
                          !ml_is_int(modes->dtype) || a.n_feature != n || a.n_true_id != n ||
                          a.n_false_id != n || a.n_true_leaf != n || a.n_false_leaf != n ||
                          (a.n_missing != 0 && a.n_missing != n)))
        s = ml_bad_attr(k, "nodes_*", "lists differ in length from nodes_splits");
    if (s == EMBER_OK && (p->nodes = calloc(n > 0 ? n : 1, sizeof *p->nodes)) == NULL)
        s = ml_oom(k);
    if (s == EMBER_OK)
        p->n_nodes = n;
    size_t set = 0;
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        tree_node *t = &p->nodes[i];
        t->split = splits[i];
        t->feature = a.feature[i];
        int64_t mode = ml_get_int(modes->data, modes->dtype, i);
        t->mode = (uint8_t)(mode >= 0 && mode <= TREE_MEMBER ? mode : TREE_MEMBER + 1);
        t->missing_true = a.n_missing != 0 && a.missing[i] != 0;
        t->true_leaf = a.true_leaf[i] != 0;
        t->false_leaf = a.false_leaf[i] != 0;
        t->true_id = (size_t)a.true_id[i];
        t->false_id = (size_t)a.false_id[i];
        size_t lim_t = t->true_leaf ? p->n_leaves : n, lim_f = t->false_leaf ? p->n_leaves : n;
        if (t->feature < 0 || t->mode > TREE_MEMBER || a.true_id[i] < 0 ||
            a.false_id[i] < 0 || t->true_id >= lim_t || t->false_id >= lim_f)
            s = ml_bad_attr(k, "nodes_*", "holds an out-of-range mode, feature or index");
        if (s == EMBER_OK && t->mode == TREE_MEMBER) {
            t->set_begin = set;
            while (set < p->n_members && !isnan(p->members[set]))
                set++;
            t->set_end = set++;
        }
    }
    tree_int_attrs_free(&a);
    return s;
}

static ember_status tree_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(tree_params));
    if (s != EMBER_OK)
        return s;
    k->release = tree_release;
    tree_params *p = k->params;
    double *splits = NULL;
    size_t n_splits = 0, n_targets_ids = 0, n_roots = 0;
    int64_t *roots = NULL;
    s = tree_doubles(k, node, "leaf_weights", true, &p->leaf_weights, &p->n_leaves);
    if (s == EMBER_OK)
        s = ml_attr_ints_dup(k, node, "leaf_targetids", &p->leaf_targets, &n_targets_ids);
    if (s == EMBER_OK)
        s = tree_doubles(k, node, "membership_values", false, &p->members, &p->n_members);
    if (s == EMBER_OK)
        s = tree_doubles(k, node, "nodes_splits", true, &splits, &n_splits);
    if (s == EMBER_OK)
        s = ml_attr_ints_dup(k, node, "tree_roots", &roots, &n_roots);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "n_targets", 0, &p->n_targets);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "aggregate_function", AGG_SUM, &p->aggregate);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "post_transform", POST_NONE, &p->post);
    if (s == EMBER_OK && n_targets_ids != p->n_leaves)
        s = ml_bad_attr(k, "leaf_targetids", "differs in length from leaf_weights");
    for (size_t i = 0; s == EMBER_OK && i < p->n_leaves; i++)
        if (p->leaf_targets[i] < 0 || p->leaf_targets[i] >= p->n_targets)
            s = ml_bad_attr(k, "leaf_targetids", "holds a target outside [0, n_targets)");
    if (s == EMBER_OK && (p->aggregate < AGG_AVERAGE || p->aggregate > AGG_MAX))
        s = ml_bad_attr(k, "aggregate_function", "is not 0-3");
    if (s == EMBER_OK && p->post == POST_PROBIT)
        s = k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                          "node '%s' (%s): post_transform PROBIT is not supported", k->name,
                          k->op);
    if (s == EMBER_OK && (p->post < POST_NONE || p->post > POST_PROBIT))
        s = ml_bad_attr(k, "post_transform", "is not 0-4");
    if (s == EMBER_OK)
        s = tree_build_nodes(k, node, p, splits, n_splits);
    if (s == EMBER_OK && (p->roots = malloc((n_roots + 1) * sizeof *p->roots)) == NULL)
        s = ml_oom(k);
    p->n_roots = s == EMBER_OK ? n_roots : 0;
    for (size_t i = 0; s == EMBER_OK && i < n_roots; i++) {
        if (roots[i] < 0 || (size_t)roots[i] >= n_splits ||
            (p->nodes[roots[i]].true_leaf && p->nodes[roots[i]].false_leaf &&
             p->nodes[roots[i]].true_id == p->nodes[roots[i]].false_id &&
             (size_t)roots[i] >= p->n_leaves))
            s = ml_bad_attr(k, "tree_roots", "holds an index outside nodes_*");
        else
            p->roots[i] = (size_t)roots[i];
    }
    free(splits);
    free(roots);
    k->run = tree_run;
    return s;
}

static bool tree_check(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, TREE_DTYPES);
}

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
        double x = ml_get(in[0]->data, in[0]->dtype, e);
        double st[2] = {ml_get(in[2]->data, in[2]->dtype, e), 0.0};
        if (ns == 2)
            st[1] = ml_get(in[3]->data, in[3]->dtype, e);
        optim_step(p, r, t, &x, ml_get(in[1]->data, in[1]->dtype, e), st);
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
    double r = ml_get(rt->data, rt->dtype, 0);
    int64_t t = *(const int64_t *)tt->data;
    for (size_t i = 0; s == EMBER_OK && i < n; i++)
        s = optim_one(k, ctx, i, n, r, t);
    return s;
}

static ember_status optim_float(const cpu_kernel *k, const ember_node *node, const char *name,
                                bool required, float dflt, double *out)
{
    if (required && !cpu_attr_has(k, node, name))
        return ml_bad_attr(k, name, "is missing");
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
            return ml_bad_attr(k, "mode", "is missing");
        s = cpu_attr_string(k, node, "mode", "standard", mode, sizeof mode);
        if (s == EMBER_OK && strcmp(mode, "standard") != 0 && strcmp(mode, "nesterov") != 0)
            s = ml_bad_attr(k, "mode", "is neither 'standard' nor 'nesterov'");
        p->nesterov = s == EMBER_OK && strcmp(mode, "nesterov") == 0;
    }
    k->run = optim_run;
    return s;
}

static ember_status momentum_create(cpu_kernel *k, const ember_node *node)
{
    return optim_create(k, node, OPT_MOMENTUM);
}

static ember_status adam_create(cpu_kernel *k, const ember_node *node)
{
    return optim_create(k, node, OPT_ADAM);
}

static ember_status adagrad_create(cpu_kernel *k, const ember_node *node)
{
    return optim_create(k, node, OPT_ADAGRAD);
}

/* Every input after T is float32 or float64; R too. */
static bool optim_check(const ember_host_api *host, const ember_node *node)
{
    uint32_t f = CPU_DT(EMBER_DTYPE_FLOAT32) | CPU_DT(EMBER_DTYPE_FLOAT64);
    if (!cpu_input_dtype_in(host, node, 1, CPU_DT(EMBER_DTYPE_INT64)))
        return false;
    for (size_t i = 0; i < host->node_input_count(node); i++)
        if (i != 1 && !cpu_input_dtype_in(host, node, i, f))
            return false;
    return true;
}

/* ---- registration ------------------------------------------------------ */

const cpu_op_entry cpu_ops_ml[] = {
    {"LabelEncoder", 2, 5, NULL, label_create, ML_DOMAIN},
    {"Binarizer", 1, 5, binarizer_check, binarizer_create, ML_DOMAIN},
    {"ArrayFeatureExtractor", 1, 5, afe_check, afe_create, ML_DOMAIN},
    {"TreeEnsemble", 5, 5, tree_check, tree_create, ML_DOMAIN},
    {"Momentum", 1, 1, optim_check, momentum_create, TRAINING_DOMAIN},
    {"Adam", 1, 1, optim_check, adam_create, TRAINING_DOMAIN},
    {"Adagrad", 1, 1, optim_check, adagrad_create, TRAINING_DOMAIN},
    {NULL, 0, 0, NULL, NULL, NULL},
};
