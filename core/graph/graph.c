/*
 * Building the graph IR: creating and destroying graphs, interning value
 * names, adding nodes, setting types, and owned host tensors. Checks and
 * inference live in finalize.c and infer.c; provider views in node_view.c.
 */
#include "core/graph/graph_impl.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/util/util.h"

/* ---- create and destroy -------------------------------------------------- */

ember_status graph_create(graph *parent, graph **out)
{
    graph_impl *impl = util_calloc(1, sizeof *impl);
    if (!impl)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating a graph");
    impl->g.parent = parent;
    if (parent) {
        const graph *root = graph_root(parent);
        impl->g.opsets = root->opsets;
        impl->g.n_opsets = root->n_opsets;
    }
    *out = &impl->g;
    return EMBER_OK;
}

void graph_tensor_destroy(graph_tensor *t)
{
    if (!t)
        return;
    if (t->view.dtype == EMBER_DTYPE_STRING && t->view.data) {
        ember_string *strings = t->view.data;
        for (size_t i = 0; i < t->n_elements; i++)
            util_free((void *)strings[i].data);
    }
    util_free(t->view.data);
    util_free(t->dims);
    util_free(t->name);
    util_free(t);
}

static void free_value(graph_value *v)
{
    for (int32_t i = 0; v->dim_names && i < v->type.rank; i++)
        util_free(v->dim_names[i]);
    util_free(v->dim_names);
    util_free(v->dims);
    util_free(v->name);
    graph_tensor_destroy(v->initializer);
}

static void free_attr(graph_attr *a)
{
    for (size_t i = 0; a->strings && i < a->view.n; i++)
        util_free((void *)a->strings[i].data);
    util_free(a->strings);
    util_free(a->name);
    util_free(a->s);
    util_free(a->ints);
    util_free(a->floats);
    graph_tensor_destroy(a->tensor);
    graph_destroy(a->subgraph);
}

static void free_node(graph_node *node)
{
    for (size_t i = 0; node->attrs && i < node->n_attrs; i++)
        free_attr(&node->attrs[i]);
    util_free(node->attrs);
    util_free(node->inputs);
    util_free(node->outputs);
    util_free(node->name);
    util_free(node->op_type);
    util_free(node->domain);
}

static void free_meta(graph_meta *m)
{
    util_free(m->producer_name);
    util_free(m->producer_version);
    util_free(m->domain);
    util_free(m->description);
    util_free(m->graph_name);
    for (size_t i = 0; i < m->n_custom; i++) {
        util_free(m->custom_keys ? m->custom_keys[i] : NULL);
        util_free(m->custom_values ? m->custom_values[i] : NULL);
    }
    util_free(m->custom_keys);
    util_free(m->custom_values);
}

void graph_destroy(graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_values; i++)
        free_value(&g->values[i]);
    for (size_t i = 0; i < g->n_nodes; i++)
        free_node(&g->nodes[i]);
    if (!g->parent) {
        for (size_t i = 0; i < g->n_opsets; i++)
            util_free(g->opsets[i].domain);
        util_free(g->opsets);
    }
    free_meta(&g->meta);
    util_free(g->values);
    util_free(g->nodes);
    util_free(g->node_order);
    util_free(g->inputs);
    util_free(g->outputs);
    graph_impl *impl = (graph_impl *)g;
    util_free(impl->slots);
    util_free(impl);
}

/* ---- the name index ------------------------------------------------------ */

static size_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static void index_insert(graph_impl *impl, size_t value)
{
    size_t mask = impl->n_slots - 1;
    size_t i = hash_name(impl->g.values[value].name) & mask;
    while (impl->slots[i])
        i = (i + 1) & mask;
    impl->slots[i] = (int)value + 1;
}

/* Rebuilds the index over all values, growing it to keep it half empty. */
static ember_status index_rebuild(graph_impl *impl)
{
    size_t need = 16;
    while (need < 2 * impl->g.n_values + 2)
        need *= 2;
    if (need != impl->n_slots) {
        int *slots = util_calloc(need, sizeof *slots);
        if (!slots)
            return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory indexing graph values");
        util_free(impl->slots);
        impl->slots = slots;
        impl->n_slots = need;
    } else {
        memset(impl->slots, 0, need * sizeof *impl->slots);
    }
    for (size_t i = 0; i < impl->g.n_values; i++)
        index_insert(impl, i);
    impl->n_indexed = impl->g.n_values;
    return EMBER_OK;
}

int graph_value_find(const graph *g, const char *name)
{
    const graph_impl *impl = (const graph_impl *)g;
    if (!name)
        return -1;
    if (impl->n_slots) {
        size_t mask = impl->n_slots - 1;
        for (size_t i = hash_name(name) & mask; impl->slots[i]; i = (i + 1) & mask) {
            size_t v = (size_t)impl->slots[i] - 1;
            if (v < g->n_values && strcmp(g->values[v].name, name) == 0)
                return (int)v;
        }
    }
    for (size_t v = impl->n_indexed; v < g->n_values; v++)
        if (strcmp(g->values[v].name, name) == 0)
            return (int)v;
    return -1;
}

ember_status graph_value_intern(graph *g, const char *name, int *index)
{
    int found = graph_value_find(g, name);
    if (found >= 0) {
        *index = found;
        return EMBER_OK;
    }
    if (!name)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "graph_value_intern: NULL name");
    if (g->n_values >= INT_MAX - 1)
        return ember_fail(EMBER_E_INVALID_MODEL, "graph has too many values");
    EMBER_TRY(util_grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof *g->values));
    graph_value *v = &g->values[g->n_values];
    *v = (graph_value){.type = {EMBER_DTYPE_UNDEFINED, -1, NULL},
                       .producer = -1,
                       .producer_output = -1};
    v->name = util_strdup(name);
    if (!v->name)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory interning value '%s'", name);
    g->n_values++;
    graph_impl *impl = (graph_impl *)g;
    if (2 * (g->n_values + 1) > impl->n_slots || impl->n_indexed + 1 != g->n_values) {
        EMBER_TRY(index_rebuild(impl));
    } else {
        index_insert(impl, g->n_values - 1);
        impl->n_indexed = g->n_values;
    }
    *index = (int)(g->n_values - 1);
    return EMBER_OK;
}

/* ---- nodes ---------------------------------------------------------------- */

static ember_status alloc_slots(int **slots, size_t n)
{
    *slots = NULL;
    if (n == 0)
        return EMBER_OK;
    *slots = util_calloc(n, sizeof **slots);
    if (!*slots)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory adding a node");
    for (size_t i = 0; i < n; i++)
        (*slots)[i] = -1;
    return EMBER_OK;
}

static ember_status fill_node(graph_node *node, const char *name, const char *op_type,
                              const char *domain, size_t n_inputs, size_t n_outputs,
                              size_t n_attrs)
{
    if (domain && strcmp(domain, "ai.onnx") == 0)
        domain = "";
    node->name = util_strdup(name ? name : "");
    node->op_type = util_strdup(op_type ? op_type : "");
    node->domain = util_strdup(domain ? domain : "");
    if (!node->name || !node->op_type || !node->domain)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory adding node '%s'",
                          name ? name : "");
    EMBER_TRY(alloc_slots(&node->inputs, n_inputs));
    node->n_inputs = n_inputs;
    EMBER_TRY(alloc_slots(&node->outputs, n_outputs));
    node->n_outputs = n_outputs;
    if (n_attrs) {
        node->attrs = util_calloc(n_attrs, sizeof *node->attrs);
        if (!node->attrs)
            return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory adding node '%s'", name);
        node->n_attrs = n_attrs;
    }
    return EMBER_OK;
}

ember_status graph_node_add(graph *g, const char *name, const char *op_type,
                            const char *domain, size_t n_inputs, size_t n_outputs,
                            size_t n_attrs, graph_node **out)
{
    EMBER_TRY(util_grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes));
    graph_node *node = &g->nodes[g->n_nodes];
    *node = (graph_node){.opset = -1};
    ember_status status = fill_node(node, name, op_type, domain, n_inputs, n_outputs, n_attrs);
    if (status != EMBER_OK) {
        free_node(node);
        return status;
    }
    /* The order of a finalized graph no longer covers every node. */
    util_free(g->node_order);
    g->node_order = NULL;
    g->n_nodes++;
    *out = node;
    return EMBER_OK;
}

/* ---- types ---------------------------------------------------------------- */

static void clear_shape(graph_value *v)
{
    for (int32_t i = 0; v->dim_names && i < v->type.rank; i++)
        util_free(v->dim_names[i]);
    util_free(v->dim_names);
    util_free(v->dims);
    v->dim_names = NULL;
    v->dims = NULL;
}

static ember_status copy_shape(int32_t rank, const int64_t *dims, const char *const *names,
                               int64_t **out_dims, char ***out_names)
{
    int64_t *d = util_calloc((size_t)rank, sizeof *d);
    char **n = util_calloc((size_t)rank, sizeof *n);
    if (!d || !n)
        goto oom;
    for (int32_t i = 0; i < rank; i++) {
        d[i] = dims ? dims[i] : -1;
        if (d[i] < -1)
            d[i] = -1;
        if (names && names[i] && !(n[i] = util_strdup(names[i])))
            goto oom;
    }
    *out_dims = d;
    *out_names = n;
    return EMBER_OK;
oom:
    for (int32_t i = 0; n && i < rank; i++)
        util_free(n[i]);
    util_free(n);
    util_free(d);
    return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory setting a value's shape");
}

ember_status graph_value_set_type(graph_value *v, uint32_t dtype, int32_t rank,
                                  const int64_t *dims, const char *const *dim_names)
{
    int64_t *new_dims = NULL;
    char **new_names = NULL;
    if (rank > 0)
        EMBER_TRY(copy_shape(rank, dims, dim_names, &new_dims, &new_names));
    clear_shape(v);
    v->dims = new_dims;
    v->dim_names = new_names;
    v->type.dtype = dtype;
    v->type.rank = rank < 0 ? -1 : rank;
    v->type.dims = new_dims;
    return EMBER_OK;
}

/* ---- tensors -------------------------------------------------------------- */

static ember_status tensor_shape(graph_tensor *t, const char *name, uint32_t dtype,
                                 const int64_t *dims, size_t rank)
{
    char shape[128];
    if (rank > UINT32_MAX)
        return ember_fail(EMBER_E_INVALID_MODEL, "tensor '%s' has rank %zu", name, rank);
    if (rank && !(t->dims = util_calloc(rank, sizeof *t->dims)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating tensor '%s'", name);
    if (rank)
        memcpy(t->dims, dims, rank * sizeof *dims);
    util_format_dims(shape, sizeof shape, dims, rank);
    if (!util_element_count(dims, rank, &t->n_elements))
        return ember_fail(EMBER_E_INVALID_MODEL, "tensor '%s' has an invalid shape %s", name,
                          shape);
    size_t bytes = ember_dtype_storage_bytes((ember_dtype)dtype, t->n_elements);
    if (bytes == SIZE_MAX)
        return ember_fail(EMBER_E_INVALID_MODEL, "tensor '%s' of shape %s is too large", name,
                          shape);
    t->data_bytes = bytes;
    t->view = (ember_tensor){NULL, t->dims, (uint32_t)rank, dtype, EMBER_DEVICE_CPU, 0};
    return EMBER_OK;
}

static ember_status tensor_fill(graph_tensor *t, const char *name, uint32_t dtype,
                                const int64_t *dims, size_t rank, bool is_zeroed)
{
    if (dtype == EMBER_DTYPE_UNDEFINED || ember_dtype_storage_bytes((ember_dtype)dtype, 2) == 0)
        return ember_fail(EMBER_E_INVALID_MODEL, "tensor '%s' has unsupported data type %u",
                          name, (unsigned)dtype);
    if (!(t->name = util_strdup(name)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating tensor '%s'", name);
    EMBER_TRY(tensor_shape(t, name, dtype, dims, rank));
    is_zeroed = is_zeroed || dtype == EMBER_DTYPE_STRING; /* strings start empty */
    if (t->n_elements && !(t->view.data = is_zeroed ? util_calloc(1, t->data_bytes)
                                                    : util_malloc(t->data_bytes)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY,
                          "out of memory allocating %zu bytes for tensor '%s'", t->data_bytes,
                          name);
    return EMBER_OK;
}

static ember_status create(const char *name, uint32_t dtype, const int64_t *dims, size_t rank,
                           bool is_zeroed, graph_tensor **out)
{
    graph_tensor *t = util_calloc(1, sizeof *t);
    if (!t)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating a tensor");
    if (!name)
        name = "";
    ember_status status = tensor_fill(t, name, dtype, dims, rank, is_zeroed);
    if (status != EMBER_OK) {
        t->view.dtype = EMBER_DTYPE_UNDEFINED; /* no strings to free */
        graph_tensor_destroy(t);
        return status;
    }
    *out = t;
    return EMBER_OK;
}

ember_status graph_tensor_create(const char *name, uint32_t dtype, const int64_t *dims,
                                 size_t rank, graph_tensor **out)
{
    return create(name, dtype, dims, rank, true, out);
}

ember_status graph_tensor_create_for_copy(const char *name, uint32_t dtype, const int64_t *dims,
                                          size_t rank, graph_tensor **out)
{
    return create(name, dtype, dims, rank, false, out);
}

/* ---- lookups -------------------------------------------------------------- */

const graph_attr *graph_node_attr(const graph_node *node, const char *name)
{
    for (size_t i = 0; node->attrs && i < node->n_attrs; i++)
        if (node->attrs[i].name && strcmp(node->attrs[i].name, name) == 0)
            return &node->attrs[i];
    return NULL;
}

const graph *graph_root(const graph *g)
{
    while (g->parent)
        g = g->parent;
    return g;
}

int64_t graph_opset_of(const graph *g, const char *domain)
{
    const graph *root = graph_root(g);
    if (!domain || strcmp(domain, "ai.onnx") == 0)
        domain = "";
    for (size_t i = 0; i < root->n_opsets; i++)
        if (strcmp(root->opsets[i].domain, domain) == 0)
            return root->opsets[i].version;
    return -1;
}

const char *graph_node_label(const graph *g, const graph_node *node, char *buf, size_t size)
{
    if (node->name && node->name[0])
        snprintf(buf, size, "node '%s' (%s)", node->name, node->op_type);
    else
        snprintf(buf, size, "node #%zu (%s)", (size_t)(node - g->nodes), node->op_type);
    return buf;
}
