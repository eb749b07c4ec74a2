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

static char *dup_bytes(const ProtobufCBinaryData *b)
{
    char *s = util_malloc(b->len + 1);
    if (s) {
        if (b->len)
            memcpy(s, b->data, b->len);
        s[b->len] = '\0';
    }
    return s;
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

/* Appends value indices for graph inputs or outputs. */
static ember_status io_load(graph *g, Onnx__ValueInfoProto *const *infos, size_t n,
                            const char *what, int **out)
{
    if (n == 0)
        return EMBER_OK;
    if (!(*out = util_calloc(n, sizeof **out)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading graph %ss", what);
    for (size_t i = 0; i < n; i++) {
        int index;
        EMBER_TRY(value_info_name(infos[i], what, i));
        EMBER_TRY(graph_value_intern(g, infos[i]->name, &index));
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
static ember_status value_info_load(graph *g, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_value_info; i++) {
        int index = graph_value_find(g, gp->value_info[i]->name);
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
static ember_status attach_initializer(graph *g, graph_tensor *t)
{
    int index;
    ember_status status = graph_value_intern(g, t->name, &index);
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

static ember_status initializers_load(model_ctx *ctx, graph *g, const Onnx__GraphProto *gp)
{
    char fallback[48];
    for (size_t i = 0; i < gp->n_initializer + gp->n_sparse_initializer; i++) {
        graph_tensor *t;
        snprintf(fallback, sizeof fallback, "#%zu", i);
        bool dense = i < gp->n_initializer;
        const Onnx__TensorProto *tp = dense ? gp->initializer[i] : NULL;
        const Onnx__SparseTensorProto *sp = dense ? NULL : gp->sparse_initializer[i - gp->n_initializer];
        const char *name = dense ? tp->name : sp->values ? sp->values->name : NULL;
        if (!name || !name[0])
            return ember_fail(EMBER_E_INVALID_MODEL, "initializer %s has no name", fallback);
        EMBER_TRY(dense ? model_tensor_load(ctx, tp, name, &t)
                        : model_sparse_load(ctx, sp, name, &t));
        EMBER_TRY(attach_initializer(g, t));
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

/* ---- attributes ----------------------------------------------------------------- */

static const char *const attr_type_names[] = {
    "UNDEFINED", "FLOAT",  "INT",           "STRING",         "TENSOR",
    "GRAPH",     "FLOATS", "INTS",          "STRINGS",        "TENSORS",
    "GRAPHS",    "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};

/* The attribute's type; old files (IR < 3) left `type` unset, so it is then
 * read from whichever field holds a value. */
static uint32_t attr_type(const Onnx__AttributeProto *ap)
{
    if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return (uint32_t)ap->type;
    if (ap->t) return EMBER_ATTR_TENSOR;
    if (ap->g) return EMBER_ATTR_GRAPH;
    if (ap->sparse_tensor) return EMBER_ATTR_SPARSE_TENSOR;
    if (ap->n_floats) return EMBER_ATTR_FLOATS;
    if (ap->n_ints) return EMBER_ATTR_INTS;
    if (ap->n_strings) return EMBER_ATTR_STRINGS;
    if (ap->has_s) return EMBER_ATTR_STRING;
    if (ap->has_i) return EMBER_ATTR_INT;
    if (ap->has_f) return EMBER_ATTR_FLOAT;
    return EMBER_ATTR_UNDEFINED;
}

static ember_status copy_list(void **dst, const void *src, size_t n, size_t size)
{
    if (n == 0)
        return EMBER_OK;
    if (!(*dst = util_calloc(n, size)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying an attribute");
    memcpy(*dst, src, n * size);
    return EMBER_OK;
}

static ember_status strings_load(graph_attr *a, const Onnx__AttributeProto *ap)
{
    if (ap->n_strings == 0)
        return EMBER_OK;
    if (!(a->strings = util_calloc(ap->n_strings, sizeof *a->strings)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying attribute '%s'",
                          a->name);
    a->view.n = ap->n_strings;
    for (size_t i = 0; i < ap->n_strings; i++) {
        char *s = dup_bytes(&ap->strings[i]);
        if (!s)
            return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying attribute '%s'",
                              a->name);
        a->strings[i] = (ember_string){s, ap->strings[i].len};
    }
    a->view.strings = a->strings;
    return EMBER_OK;
}

static ember_status subgraph_load(model_ctx *ctx, graph *g, graph_attr *a,
                                  const Onnx__GraphProto *gp)
{
    EMBER_TRY(graph_create(g, &a->subgraph));
    a->view.graph = (const ember_graph *)a->subgraph;
    ember_status status = model_graph_load(ctx, gp, a->subgraph);
    if (status != EMBER_OK)
        return ember_fail_prefix(status, "subgraph '%s'", a->name);
    return EMBER_OK;
}

/* Fills a->view's payload for one attribute of known type. */
static ember_status attr_payload(model_ctx *ctx, graph *g, graph_attr *a,
                                 const Onnx__AttributeProto *ap, bool is_constant)
{
    switch (a->view.type) {
    case EMBER_ATTR_FLOAT: a->view.f = ap->f; return EMBER_OK;
    case EMBER_ATTR_INT: a->view.i = ap->i; return EMBER_OK;
    case EMBER_ATTR_STRING:
        if (!(a->s = dup_bytes(&ap->s)))
            return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying an attribute");
        a->view.s = (ember_string){a->s, ap->s.len};
        return EMBER_OK;
    case EMBER_ATTR_FLOATS:
        a->view.n = ap->n_floats;
        EMBER_TRY(copy_list((void **)&a->floats, ap->floats, ap->n_floats, sizeof(float)));
        a->view.floats = a->floats;
        return EMBER_OK;
    case EMBER_ATTR_INTS:
        a->view.n = ap->n_ints;
        EMBER_TRY(copy_list((void **)&a->ints, ap->ints, ap->n_ints, sizeof(int64_t)));
        a->view.ints = a->ints;
        return EMBER_OK;
    case EMBER_ATTR_STRINGS: return strings_load(a, ap);
    case EMBER_ATTR_TENSOR:
        if (!ap->t)
            break;
        EMBER_TRY(model_tensor_load(ctx, ap->t, a->name, &a->tensor));
        a->view.tensor = &a->tensor->view;
        return EMBER_OK;
    case EMBER_ATTR_SPARSE_TENSOR:
        if (!ap->sparse_tensor || !is_constant)
            break;
        EMBER_TRY(model_sparse_load(ctx, ap->sparse_tensor, a->name, &a->tensor));
        a->view.tensor = &a->tensor->view;
        return EMBER_OK;
    case EMBER_ATTR_GRAPH:
        if (!ap->g)
            break;
        return subgraph_load(ctx, g, a, ap->g);
    case EMBER_ATTR_TYPE_PROTO:
    case EMBER_ATTR_TYPE_PROTOS:
        return EMBER_OK; /* present, without a payload Ember reads (Optional's `type`) */
    default: break;
    }
    return ember_fail(EMBER_E_NOT_IMPLEMENTED, "attribute '%s' of type %s is not supported",
                      a->name,
                      a->view.type < sizeof attr_type_names / sizeof attr_type_names[0]
                          ? attr_type_names[a->view.type]
                          : "unknown");
}

static ember_status attr_load(model_ctx *ctx, graph *g, graph_attr *a,
                              const Onnx__AttributeProto *ap, bool is_constant)
{
    if (!ap->name || !ap->name[0])
        return ember_fail(EMBER_E_INVALID_MODEL, "an attribute has no name");
    if (!(a->name = util_strdup(ap->name)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying an attribute");
    if (ap->ref_attr_name && ap->ref_attr_name[0])
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "attribute '%s' refers to function attribute '%s' outside a function",
                          ap->name, ap->ref_attr_name);
    a->view.type = attr_type(ap);
    if (a->view.type == EMBER_ATTR_UNDEFINED)
        return ember_fail(EMBER_E_INVALID_MODEL, "attribute '%s' has no type and no value",
                          ap->name);
    return attr_payload(ctx, g, a, ap, is_constant);
}

/* ---- Constant normalization ---------------------------------------------------- */

/* Builds the tensor a Constant's value_float(s) / value_int(s) /
 * value_string(s) attribute stands for. */
static ember_status constant_tensor(const graph_attr *a, graph_tensor **out)
{
    const char *form = a->name + strlen("value_");
    bool is_list = a->view.type == EMBER_ATTR_FLOATS || a->view.type == EMBER_ATTR_INTS ||
                   a->view.type == EMBER_ATTR_STRINGS;
    uint32_t dtype = form[0] == 'f' ? EMBER_DTYPE_FLOAT32
                     : form[0] == 'i' ? EMBER_DTYPE_INT64 : EMBER_DTYPE_STRING;
    int64_t dim = is_list ? (int64_t)a->view.n : 1;
    EMBER_TRY(graph_tensor_create(a->name, dtype, &dim, is_list ? 1 : 0, out));
    graph_tensor *t = *out;
    if (dtype == EMBER_DTYPE_FLOAT32 && t->n_elements)
        memcpy(t->view.data, is_list ? a->floats : &a->view.f, t->n_elements * sizeof(float));
    else if (dtype == EMBER_DTYPE_INT64 && t->n_elements)
        memcpy(t->view.data, is_list ? a->ints : &a->view.i, t->n_elements * sizeof(int64_t));
    else if (dtype == EMBER_DTYPE_STRING) {
        ember_string *dst = t->view.data;
        for (size_t i = 0; i < t->n_elements; i++) {
            const ember_string *src = is_list ? &a->strings[i] : &a->view.s;
            char *copy = util_strndup(src->data, src->size);
            if (!copy) {
                graph_tensor_destroy(t);
                return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading a Constant");
            }
            dst[i] = (ember_string){copy, src->size};
        }
    }
    return EMBER_OK;
}

/* The attribute type each form of a Constant's value must have, or
 * UNDEFINED for a name that is not a value form. */
static uint32_t constant_form_type(const char *name)
{
    static const struct {
        const char *name;
        uint32_t type;
    } forms[] = {{"value", EMBER_ATTR_TENSOR},        {"value_float", EMBER_ATTR_FLOAT},
                 {"value_floats", EMBER_ATTR_FLOATS}, {"value_int", EMBER_ATTR_INT},
                 {"value_ints", EMBER_ATTR_INTS},     {"value_string", EMBER_ATTR_STRING},
                 {"value_strings", EMBER_ATTR_STRINGS},
                 {"sparse_value", EMBER_ATTR_SPARSE_TENSOR}};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (strcmp(name, forms[i].name) == 0)
            return forms[i].type;
    return EMBER_ATTR_UNDEFINED;
}

/* Every Constant ends up with one TENSOR attribute named `value`, whichever
 * form the model used, so providers and constant lookups read one form. */
static ember_status constant_normalize(graph_node *node)
{
    uint32_t type = node->n_attrs == 1 ? constant_form_type(node->attrs[0].name) : 0;
    if (type == EMBER_ATTR_UNDEFINED)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "a Constant needs exactly one attribute: value, value_float(s), "
                          "value_int(s), value_string(s) or sparse_value");
    graph_attr *a = &node->attrs[0];
    if (a->view.type != type)
        return ember_fail(EMBER_E_INVALID_MODEL, "attribute '%s' has type %s, expected %s",
                          a->name, attr_type_names[a->view.type], attr_type_names[type]);
    if (type == EMBER_ATTR_TENSOR)
        return EMBER_OK;
    char *name = util_strdup("value");
    if (!name)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading a Constant");
    graph_tensor *t = a->tensor;
    ember_status status = t ? EMBER_OK : constant_tensor(a, &t);
    if (status != EMBER_OK) {
        util_free(name);
        return status;
    }
    a->tensor = NULL; /* t moves into the replacement */
    graph_attr replacement = {.name = name, .tensor = t};
    replacement.view.type = EMBER_ATTR_TENSOR;
    replacement.view.tensor = &t->view;
    graph_attr old = *a;
    *a = replacement;
    util_free(old.name);
    util_free(old.s);
    util_free(old.ints);
    util_free(old.floats);
    for (size_t i = 0; old.strings && i < old.view.n; i++)
        util_free((void *)old.strings[i].data);
    util_free(old.strings);
    return EMBER_OK;
}

/* ---- nodes ---------------------------------------------------------------------- */

static ember_status node_values(graph *g, char *const *names, size_t n, int *slots)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] && names[i][0])
            EMBER_TRY(graph_value_intern(g, names[i], &slots[i]));
    return EMBER_OK;
}

static ember_status node_attrs(model_ctx *ctx, graph *g, size_t node_index,
                               const Onnx__NodeProto *np, bool is_constant)
{
    for (size_t a = 0; a < np->n_attribute; a++) {
        /* Re-read the node each time: loading a subgraph never adds nodes
         * to g, but stay independent of that. */
        graph_node *node = &g->nodes[node_index];
        EMBER_TRY(attr_load(ctx, g, &node->attrs[a], np->attribute[a], is_constant));
        for (size_t b = 0; b < a; b++)
            if (strcmp(node->attrs[b].name, node->attrs[a].name) == 0)
                return ember_fail(EMBER_E_INVALID_MODEL, "attribute '%s' is given twice",
                                  node->attrs[a].name);
    }
    return EMBER_OK;
}

static ember_status node_load(model_ctx *ctx, graph *g, const Onnx__NodeProto *np)
{
    graph_node *node;
    size_t index = g->n_nodes;
    if (!np->op_type || !np->op_type[0])
        return ember_fail(EMBER_E_INVALID_MODEL, "it has no op_type");
    EMBER_TRY(graph_node_add(g, np->name, np->op_type, np->domain, np->n_input, np->n_output,
                             np->n_attribute, &node));
    EMBER_TRY(node_values(g, np->input, np->n_input, node->inputs));
    EMBER_TRY(node_values(g, np->output, np->n_output, node->outputs));
    bool is_constant = strcmp(node->op_type, "Constant") == 0 && node->domain[0] == '\0';
    EMBER_TRY(node_attrs(ctx, g, index, np, is_constant));
    return is_constant ? constant_normalize(&g->nodes[index]) : EMBER_OK;
}

static ember_status nodes_load(model_ctx *ctx, graph *g, const Onnx__GraphProto *gp)
{
    char label[LABEL_SIZE];
    for (size_t i = 0; i < gp->n_node; i++) {
        ember_status status = node_load(ctx, g, gp->node[i]);
        if (status != EMBER_OK)
            return ember_fail_prefix(status, "%s",
                                     node_label(gp->node[i], i, label, sizeof label));
    }
    return EMBER_OK;
}

/* ---- the graph ------------------------------------------------------------------- */

ember_status model_graph_load(model_ctx *ctx, const Onnx__GraphProto *gp, graph *g)
{
    EMBER_TRY(io_load(g, gp->input, gp->n_input, "input", &g->inputs));
    EMBER_TRY(initializers_load(ctx, g, gp));
    drop_initialized_inputs(ctx, g);
    EMBER_TRY(nodes_load(ctx, g, gp));
    EMBER_TRY(io_load(g, gp->output, gp->n_output, "output", &g->outputs));
    return value_info_load(g, gp);
}
