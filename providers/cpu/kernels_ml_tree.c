/*
 * TreeEnsemble (ai.onnx.ml opset 5), part of the ml family: the nodes,
 * leaves and set members are decoded once at kernel_create into flat
 * arrays, and every row walks each tree from its root at run time.
 */
#include "kernels_ml.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
        bool c = tree_cond(p, n, cpu_get_f64(x, dtype, row_off + (size_t)n->feature));
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
    ember_status s = cpu_ml_attr_tensor(k, node, name, &t);
    *out = NULL;
    *n = 0;
    if (s != EMBER_OK)
        return s;
    if (t == NULL)
        return required ? cpu_ml_bad_attr(k, name, "is missing") : EMBER_OK;
    if (!ml_is_float(t->dtype))
        return cpu_ml_bad_attr(k, name, "is not a float tensor");
    size_t count = cpu_tensor_numel(t);
    double *d = malloc((count > 0 ? count : 1) * sizeof *d);
    if (d == NULL)
        return cpu_fail_oom(k);
    for (size_t i = 0; i < count; i++)
        d[i] = cpu_get_f64(t->data, t->dtype, i);
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
    ember_status s = cpu_ml_attr_ints_dup(k, node, "nodes_featureids", &a->feature, &a->n_feature);
    if (s == EMBER_OK)
        s = cpu_ml_attr_ints_dup(k, node, "nodes_truenodeids", &a->true_id, &a->n_true_id);
    if (s == EMBER_OK)
        s = cpu_ml_attr_ints_dup(k, node, "nodes_falsenodeids", &a->false_id, &a->n_false_id);
    if (s == EMBER_OK)
        s = cpu_ml_attr_ints_dup(k, node, "nodes_trueleafs", &a->true_leaf, &a->n_true_leaf);
    if (s == EMBER_OK)
        s = cpu_ml_attr_ints_dup(k, node, "nodes_falseleafs", &a->false_leaf, &a->n_false_leaf);
    if (s == EMBER_OK)
        s = cpu_ml_attr_ints_dup(k, node, "nodes_missing_value_tracks_true", &a->missing,
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
        s = cpu_ml_attr_tensor(k, node, "nodes_modes", &modes);
    size_t n = n_splits;
    if (s == EMBER_OK && (modes == NULL || cpu_tensor_numel(modes) != n ||
                          !ml_is_int(modes->dtype) || a.n_feature != n || a.n_true_id != n ||
                          a.n_false_id != n || a.n_true_leaf != n || a.n_false_leaf != n ||
                          (a.n_missing != 0 && a.n_missing != n)))
        s = cpu_ml_bad_attr(k, "nodes_*", "lists differ in length from nodes_splits");
    if (s == EMBER_OK && (p->nodes = calloc(n > 0 ? n : 1, sizeof *p->nodes)) == NULL)
        s = cpu_fail_oom(k);
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
            s = cpu_ml_bad_attr(k, "nodes_*", "holds an out-of-range mode, feature or index");
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

ember_status cpu_tree_create(cpu_kernel *k, const ember_node *node)
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
        s = cpu_ml_attr_ints_dup(k, node, "leaf_targetids", &p->leaf_targets, &n_targets_ids);
    if (s == EMBER_OK)
        s = tree_doubles(k, node, "membership_values", false, &p->members, &p->n_members);
    if (s == EMBER_OK)
        s = tree_doubles(k, node, "nodes_splits", true, &splits, &n_splits);
    if (s == EMBER_OK)
        s = cpu_ml_attr_ints_dup(k, node, "tree_roots", &roots, &n_roots);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "n_targets", 0, &p->n_targets);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "aggregate_function", AGG_SUM, &p->aggregate);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "post_transform", POST_NONE, &p->post);
    if (s == EMBER_OK && n_targets_ids != p->n_leaves)
        s = cpu_ml_bad_attr(k, "leaf_targetids", "differs in length from leaf_weights");
    for (size_t i = 0; s == EMBER_OK && i < p->n_leaves; i++)
        if (p->leaf_targets[i] < 0 || p->leaf_targets[i] >= p->n_targets)
            s = cpu_ml_bad_attr(k, "leaf_targetids", "holds a target outside [0, n_targets)");
    if (s == EMBER_OK && (p->aggregate < AGG_AVERAGE || p->aggregate > AGG_MAX))
        s = cpu_ml_bad_attr(k, "aggregate_function", "is not 0-3");
    if (s == EMBER_OK && p->post == POST_PROBIT)
        s = k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                          "node '%s' (%s): post_transform PROBIT is not supported", k->name,
                          k->op);
    if (s == EMBER_OK && (p->post < POST_NONE || p->post > POST_PROBIT))
        s = cpu_ml_bad_attr(k, "post_transform", "is not 0-4");
    if (s == EMBER_OK)
        s = tree_build_nodes(k, node, p, splits, n_splits);
    if (s == EMBER_OK && (p->roots = malloc((n_roots + 1) * sizeof *p->roots)) == NULL)
        s = cpu_fail_oom(k);
    p->n_roots = s == EMBER_OK ? n_roots : 0;
    for (size_t i = 0; s == EMBER_OK && i < n_roots; i++) {
        if (roots[i] < 0 || (size_t)roots[i] >= n_splits ||
            (p->nodes[roots[i]].true_leaf && p->nodes[roots[i]].false_leaf &&
             p->nodes[roots[i]].true_id == p->nodes[roots[i]].false_id &&
             (size_t)roots[i] >= p->n_leaves))
            s = cpu_ml_bad_attr(k, "tree_roots", "holds an index outside nodes_*");
        else
            p->roots[i] = (size_t)roots[i];
    }
    free(splits);
    free(roots);
    k->run = tree_run;
    return s;
}

bool cpu_tree_check(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, TREE_DTYPES);
}

