/*
 * Node attributes: AttributeProto to graph_attr (scalars, lists, strings,
 * tensors, sparse tensors for Constant, subgraphs loaded recursively into
 * child graphs), references to the attributes of an inlined function's
 * caller, and the normalization of every Constant to one TENSOR `value`.
 */
#include "core/model/model_impl.h"

#include <string.h>

#include "core/util/util.h"

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

/* ---- one attribute ------------------------------------------------------------ */

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
                                  const Onnx__GraphProto *gp, const model_scope *scope)
{
    EMBER_TRY(graph_create(g, &a->subgraph));
    a->view.graph = (const ember_graph *)a->subgraph;
    ember_status status = model_graph_load(ctx, gp, a->subgraph, scope);
    if (status != EMBER_OK)
        return ember_fail_prefix(status, "subgraph '%s'", a->name);
    return EMBER_OK;
}

static const char *type_name(uint32_t type)
{
    size_t n = sizeof attr_type_names / sizeof attr_type_names[0];
    return type < n ? attr_type_names[type] : "unknown";
}

static ember_status no_value(const graph_attr *a)
{
    return ember_fail(EMBER_E_INVALID_MODEL, "attribute '%s' of type %s has no value", a->name,
                      type_name(a->view.type));
}

/* Fills a->view's payload for one attribute of known type. */
static ember_status attr_payload(model_ctx *ctx, graph *g, graph_attr *a,
                                 const Onnx__AttributeProto *ap, const model_scope *scope,
                                 bool is_constant)
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
            return no_value(a);
        EMBER_TRY(model_tensor_load(ctx, ap->t, a->name, &a->tensor));
        a->view.tensor = &a->tensor->view;
        return EMBER_OK;
    case EMBER_ATTR_SPARSE_TENSOR:
        if (!ap->sparse_tensor)
            return no_value(a);
        if (!is_constant)
            break; /* only a Constant's sparse_value is densified */
        EMBER_TRY(model_sparse_load(ctx, ap->sparse_tensor, a->name, &a->tensor));
        a->view.tensor = &a->tensor->view;
        return EMBER_OK;
    case EMBER_ATTR_GRAPH:
        if (!ap->g)
            return no_value(a);
        return subgraph_load(ctx, g, a, ap->g, scope);
    case EMBER_ATTR_TYPE_PROTO:
    case EMBER_ATTR_TYPE_PROTOS:
        return EMBER_OK; /* present, without a payload Ember reads (Optional's `type`) */
    default: break;
    }
    return ember_fail(EMBER_E_NOT_IMPLEMENTED, "attribute '%s' of type %s is not supported",
                      a->name, type_name(a->view.type));
}

/* Follows ref_attr_name inside a function body to the attribute it
 * stands for (NULL: the caller omits it and there is no default). */
static ember_status resolve_ref(const Onnx__AttributeProto **ap, const model_scope **scope)
{
    const char *ref = (*ap)->ref_attr_name;
    if (!ref || !ref[0])
        return EMBER_OK;
    if (!*scope)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "attribute '%s' refers to function attribute '%s' outside a function",
                          (*ap)->name, ref);
    *ap = model_scope_attr(*scope, ref, scope);
    return EMBER_OK;
}

/* Loads attribute ap (written in `scope`) as `name`; *loaded is false when
 * it refers to a function attribute the call leaves out. */
static ember_status attr_load(model_ctx *ctx, graph *g, graph_attr *a,
                              const Onnx__AttributeProto *ap, const model_scope *scope,
                              bool is_constant, bool *loaded)
{
    const char *name = ap->name;
    *loaded = false;
    if (!name || !name[0])
        return ember_fail(EMBER_E_INVALID_MODEL, "an attribute has no name");
    EMBER_TRY(resolve_ref(&ap, &scope));
    if (!ap)
        return EMBER_OK;
    if (!(a->name = util_strdup(name)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying an attribute");
    *loaded = true;
    a->view.type = attr_type(ap);
    if (a->view.type == EMBER_ATTR_UNDEFINED)
        return ember_fail(EMBER_E_INVALID_MODEL, "attribute '%s' has no type and no value",
                          name);
    return attr_payload(ctx, g, a, ap, scope, is_constant);
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
                          a->name, type_name(a->view.type), type_name(type));
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

/* ---- a node's attributes -------------------------------------------------------- */

ember_status model_attrs_load(model_ctx *ctx, graph *g, size_t node_index,
                              const Onnx__NodeProto *np, const model_scope *scope)
{
    graph_node *node = &g->nodes[node_index];
    bool is_constant = strcmp(node->op_type, "Constant") == 0 && node->domain[0] == '\0';
    size_t n_loaded = 0;
    for (size_t i = 0; i < np->n_attribute; i++) {
        bool loaded;
        /* Re-read the node: loading a subgraph adds nodes to the child graph
         * only, but this stays correct if that changes. */
        node = &g->nodes[node_index];
        graph_attr *a = &node->attrs[n_loaded];
        EMBER_TRY(attr_load(ctx, g, a, np->attribute[i], scope, is_constant, &loaded));
        if (!loaded)
            continue;
        for (size_t b = 0; b < n_loaded; b++)
            if (strcmp(node->attrs[b].name, a->name) == 0)
                return ember_fail(EMBER_E_INVALID_MODEL, "attribute '%s' is given twice",
                                  a->name);
        n_loaded++;
    }
    node = &g->nodes[node_index];
    node->n_attrs = n_loaded;
    return is_constant ? constant_normalize(node) : EMBER_OK;
}
