/*
 * GraphProto to graph IR: graph inputs and outputs with their declared
 * types (symbolic dims keep their names), initializers (dense and sparse),
 * nodes with their attributes, subgraphs loaded recursively into child
 * graphs, and value_info types for intermediate values. The checks that
 * need the whole graph (producers, order) are graph_finalize's.
 */
#include "core/model/model_impl.h"

#include <stdio.h>
#include <string.h>

#include "core/util/util.h"

#define LABEL_SIZE 300

static const char *node_label(const Onnx__NodeProto *np, size_t index, char *buf, size_t size)
{
    const char *op = np->op_type ? np->op_type : "";
    if (np->name && np->name[0])
        snprintf(buf, size, "node '%s' (%s)", np->name, op);
    else
        snprintf(buf, size, "node #%zu (%s)", index, op);
    return buf;
}

/* ---- value types ------------------------------------------------------------- */

static ember_status tensor_type_load(const Onnx__TypeProto__Tensor *tt, graph_value *v)
{
    int32_t elem = tt->has_elem_type ? tt->elem_type : 0;
    if (elem != 0 && !model_dtype_known(elem))
        return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                          "value '%s' has element type %d, which Ember does not support",
                          v->name, (int)elem);
    if (!tt->shape)
        return graph_value_set_type(v, (uint32_t)elem, -1, NULL, NULL);
    size_t rank = tt->shape->n_dim;
    if (rank > INT32_MAX / 2)
        return ember_fail(EMBER_E_INVALID_MODEL, "value '%s' has rank %zu", v->name, rank);
    int64_t *dims = util_calloc(rank, sizeof *dims);
    const char **names = util_calloc(rank, sizeof *names);
    ember_status status = EMBER_OK;
    if (!dims || !names)
        status = ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading value '%s'", v->name);
    for (size_t i = 0; status == EMBER_OK && i < rank; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        bool has_value = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dims[i] = has_value && d->dim_value >= 0 ? d->dim_value : -1;
        bool has_name = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        names[i] = has_name && d->dim_param && d->dim_param[0] ? d->dim_param : NULL;
    }
    if (status == EMBER_OK)
        status = graph_value_set_type(v, (uint32_t)elem, (int32_t)rank, dims, names);
    util_free(dims);
    util_free(names);
    return status;
}

/* Declared type of a value. Non-tensor types (sequence, map, optional,
 * sparse) stay unknown here; the ops that use them decide. */
static ember_status type_load(const Onnx__TypeProto *tp, graph_value *v)
{
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return EMBER_OK;
    return tensor_type_load(tp->tensor_type, v);
}

static ember_status value_info_name(const Onnx__ValueInfoProto *vi, const char *what, size_t i)
{
    if (!vi->name || !vi->name[0])
        return ember_fail(EMBER_E_INVALID_MODEL, "graph %s #%zu has no name", what, i);
    return EMBER_OK;
}

/* Interns `name` as scope s renames it; *index is -1 for an absent name. */
static ember_status intern(graph *g, const model_scope *s, const char *name, int *index)
{
    char *renamed = NULL;
    *index = -1;
    if (!s)
        return name && name[0] ? graph_value_intern(g, name, index) : EMBER_OK;
    EMBER_TRY(model_scope_name(s, name, &renamed));
    ember_status status = renamed[0] ? graph_value_intern(g, renamed, index) : EMBER_OK;
    util_free(renamed);
    return status;
}

/* Appends value indices for graph inputs or outputs. */
static ember_status io_load(graph *g, const model_scope *scope,
                            Onnx__ValueInfoProto *const *infos, size_t n, const char *what,
                            int **out)
{
    if (n == 0)
        return EMBER_OK;
    if (!(*out = util_calloc(n, sizeof **out)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading graph %ss", what);
    for (size_t i = 0; i < n; i++) {
        int index;
        EMBER_TRY(value_info_name(infos[i], what, i));
        EMBER_TRY(intern(g, scope, infos[i]->name, &index));
        if (index < 0)
            return ember_fail(EMBER_E_INVALID_MODEL, "graph %s #%zu has no name", what, i);
        (*out)[i] = index;
        if (what[0] == 'i')
            g->n_inputs = i + 1;
        else
            g->n_outputs = i + 1;
        graph_value *v = &g->values[index];
        if (v->type.dtype == EMBER_DTYPE_UNDEFINED && v->type.rank < 0)
            EMBER_TRY(type_load(infos[i]->type, v));
    }
    return EMBER_OK;
}

/* Types from value_info for values the graph already mentions. */
static ember_status value_info_load(graph *g, const model_scope *scope,
                                    const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_value_info; i++) {
        char *renamed = NULL;
        EMBER_TRY(model_scope_name(scope, gp->value_info[i]->name, &renamed));
        int index = graph_value_find(g, renamed);
        util_free(renamed);
        if (index < 0)
            continue;
        graph_value *v = &g->values[index];
        if (v->type.dtype == EMBER_DTYPE_UNDEFINED && v->type.rank < 0)
            EMBER_TRY(type_load(gp->value_info[i]->type, v));
    }
    return EMBER_OK;
}

/* ---- initializers --------------------------------------------------------------- */

/* Takes t: on failure it is destroyed or already owned by g. */
static ember_status attach_initializer(graph *g, const model_scope *scope, graph_tensor *t)
{
    int index;
    ember_status status = intern(g, scope, t->name, &index);
    graph_value *v = status == EMBER_OK ? &g->values[index] : NULL;
    if (v && v->initializer)
        status = ember_fail(EMBER_E_INVALID_MODEL, "initializer '%s' is given twice", t->name);
    else if (v && v->type.dtype != EMBER_DTYPE_UNDEFINED && v->type.dtype != t->view.dtype)
        status = ember_fail(EMBER_E_INVALID_MODEL,
                            "initializer '%s' is %s but the graph input declares %s", t->name,
                            ember_dtype_name((ember_dtype)t->view.dtype),
                            ember_dtype_name((ember_dtype)v->type.dtype));
    if (status != EMBER_OK) {
        graph_tensor_destroy(t);
        return status;
    }
    v->initializer = t;
    if (v->type.dtype == EMBER_DTYPE_UNDEFINED && v->type.rank < 0)
        return graph_value_set_type(v, t->view.dtype, (int32_t)t->view.rank, t->dims, NULL);
    return EMBER_OK;
}

static ember_status initializers_load(model_ctx *ctx, graph *g, const model_scope *scope,
                                      const Onnx__GraphProto *gp)
{
    char fallback[48];
    size_t n_dense = gp->n_initializer, next = 0;
    const model_deferred_set *deferred =
        ctx->deferred && !scope && gp == ctx->model->graph ? ctx->deferred : NULL;
    for (size_t i = 0; i < n_dense + gp->n_sparse_initializer; i++) {
        graph_tensor *t;
        snprintf(fallback, sizeof fallback, "#%zu", i);
        const Onnx__TensorProto *tp = i < n_dense ? gp->initializer[i] : NULL;
        const Onnx__SparseTensorProto *sp = tp ? NULL : gp->sparse_initializer[i - n_dense];
        const char *name = tp ? tp->name : sp->values ? sp->values->name : NULL;
        if (!name || !name[0])
            return ember_fail(EMBER_E_INVALID_MODEL, "initializer %s has no name", fallback);
        const model_deferred *item =
            deferred && next < deferred->n && deferred->items[next].initializer == i
                ? &deferred->items[next++]
                : NULL;
        EMBER_TRY(item ? model_tensor_load_deferred(ctx, tp, name, item, &t)
               : tp    ? model_tensor_load(ctx, tp, name, &t)
                       : model_sparse_load(ctx, sp, name, &t));
        EMBER_TRY(attach_initializer(g, scope, t));
    }
    return EMBER_OK;
}

/* Before IR version 4 every initializer had to be listed as a graph input
 * and was a constant all the same; from 4 on, a listed initializer is a
 * default the caller may override. Old models therefore drop their
 * initialized names from the inputs. */
static void drop_initialized_inputs(const model_ctx *ctx, graph *g)
{
    size_t kept = 0;
    if (ctx->ir_version >= 4)
        return;
    for (size_t i = 0; i < g->n_inputs; i++)
        if (!g->values[g->inputs[i]].initializer)
            g->inputs[kept++] = g->inputs[i];
    g->n_inputs = kept;
}

/* ---- nodes ---------------------------------------------------------------------- */

static ember_status node_values(graph *g, const model_scope *scope, char *const *names,
                                size_t n, int *slots)
{
    for (size_t i = 0; i < n; i++)
        EMBER_TRY(intern(g, scope, names[i], &slots[i]));
    return EMBER_OK;
}

static ember_status node_add(graph *g, const model_scope *scope, const Onnx__NodeProto *np,
                             size_t *index)
{
    graph_node *node;
    char *name = NULL;
    EMBER_TRY(model_scope_name(scope, np->name, &name));
    *index = g->n_nodes;
    ember_status status = graph_node_add(g, name, np->op_type, np->domain, np->n_input,
                                         np->n_output, np->n_attribute, &node);
    util_free(name);
    return status;
}

ember_status model_node_load(model_ctx *ctx, graph *g, const Onnx__NodeProto *np,
                             const model_scope *scope)
{
    size_t index;
    if (!np->op_type || !np->op_type[0])
        return ember_fail(EMBER_E_INVALID_MODEL, "it has no op_type");
    const Onnx__FunctionProto *fn = model_function_find(ctx, np);
    if (fn)
        return model_function_inline(ctx, g, np, fn, scope);
    EMBER_TRY(node_add(g, scope, np, &index));
    EMBER_TRY(node_values(g, scope, np->input, np->n_input, g->nodes[index].inputs));
    EMBER_TRY(node_values(g, scope, np->output, np->n_output, g->nodes[index].outputs));
    return model_attrs_load(ctx, g, index, np, scope);
}

static ember_status nodes_load(model_ctx *ctx, graph *g, const model_scope *scope,
                               const Onnx__GraphProto *gp)
{
    char label[LABEL_SIZE];
    for (size_t i = 0; i < gp->n_node; i++) {
        ember_status status = model_node_load(ctx, g, gp->node[i], scope);
        if (status != EMBER_OK)
            return ember_fail_prefix(status, "%s",
                                     node_label(gp->node[i], i, label, sizeof label));
    }
    return EMBER_OK;
}

/* ---- the graph ------------------------------------------------------------------- */

ember_status model_graph_load(model_ctx *ctx, const Onnx__GraphProto *gp, graph *g,
                              const model_scope *scope)
{
    EMBER_TRY(io_load(g, scope, gp->input, gp->n_input, "input", &g->inputs));
    EMBER_TRY(initializers_load(ctx, g, scope, gp));
    drop_initialized_inputs(ctx, g);
    EMBER_TRY(nodes_load(ctx, g, scope, gp));
    EMBER_TRY(io_load(g, scope, gp->output, gp->n_output, "output", &g->outputs));
    return value_info_load(g, scope, gp);
}
