/*
 * graph_finalize: the checks that make a loaded graph usable, in two
 * recursive passes.
 *   1. link: resolve node opsets, mark graph inputs/outputs, link each
 *      value to its producer (single assignment), and check that every
 *      consumed value is defined here or in an enclosing graph (then it is
 *      marked outer-scope). Subgraphs are linked after their parent, so
 *      their outer-scope lookups see the parent's producers.
 *   2. order: a topological node_order per graph (a node that holds a
 *      subgraph also depends on the producers of the values the subgraph
 *      captures), then type inference node by node in that order.
 */
#include "core/graph/graph_impl.h"

#include <stdio.h>
#include <string.h>

#include "core/util/util.h"

#define LABEL_SIZE 300

static const char *domain_label(const char *domain)
{
    return domain[0] ? domain : "ai.onnx";
}

/* Prefixes a failure inside a subgraph with the attribute and node that
 * hold it. */
static ember_status in_subgraph(ember_status status, const graph *g, const graph_node *node,
                                const graph_attr *attr)
{
    char label[LABEL_SIZE];
    return ember_fail_prefix(status, "subgraph '%s' of %s", attr->name,
                             graph_node_label(g, node, label, sizeof label));
}

/* ---- pass 1: link ------------------------------------------------------ */

bool graph_value_is_defined(const graph_value *v)
{
    return v->producer >= 0 || v->is_graph_input || v->initializer != NULL;
}

const graph_value *graph_value_resolve(const graph *g, const char *name, const graph **owner)
{
    for (; g; g = g->parent) {
        int index = graph_value_find(g, name);
        if (index >= 0 && graph_value_is_defined(&g->values[index])) {
            if (owner)
                *owner = g;
            return &g->values[index];
        }
    }
    return NULL;
}

static ember_status resolve_opsets(graph *g)
{
    char label[LABEL_SIZE];
    if (g->parent) {
        const graph *root = graph_root(g);
        g->opsets = root->opsets;
        g->n_opsets = root->n_opsets;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        graph_node *node = &g->nodes[i];
        node->opset = graph_opset_of(g, node->domain);
        if (node->opset < 0)
            return ember_fail(EMBER_E_INVALID_MODEL,
                              "%s: the model imports no opset for domain '%s'",
                              graph_node_label(g, node, label, sizeof label),
                              domain_label(node->domain));
    }
    return EMBER_OK;
}

static bool value_index_ok(const graph *g, int index)
{
    return index >= -1 && (index < 0 || (size_t)index < g->n_values);
}

/* Clears the links and flags this pass computes, so finalize can run again
 * after a rewrite. */
static ember_status reset_links(graph *g)
{
    for (size_t i = 0; i < g->n_values; i++) {
        graph_value *v = &g->values[i];
        v->producer = v->producer_output = -1;
        v->is_graph_input = v->is_graph_output = v->is_outer_scope = false;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const graph_node *node = &g->nodes[i];
        for (size_t k = 0; k < node->n_inputs; k++)
            if (!value_index_ok(g, node->inputs[k]))
                return ember_fail(EMBER_E_INTERNAL, "node %zu: input %zu is out of range", i, k);
        for (size_t k = 0; k < node->n_outputs; k++)
            if (!value_index_ok(g, node->outputs[k]))
                return ember_fail(EMBER_E_INTERNAL, "node %zu: output %zu is out of range", i,
                                  k);
    }
    return EMBER_OK;
}

static ember_status mark_inputs_outputs(graph *g)
{
    for (size_t i = 0; i < g->n_inputs; i++) {
        if (g->inputs[i] < 0 || (size_t)g->inputs[i] >= g->n_values)
            return ember_fail(EMBER_E_INTERNAL, "graph input %zu is out of range", i);
        graph_value *v = &g->values[g->inputs[i]];
        if (v->is_graph_input)
            return ember_fail(EMBER_E_INVALID_MODEL, "graph input '%s' is declared twice",
                              v->name);
        v->is_graph_input = true;
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        if (g->outputs[i] < 0 || (size_t)g->outputs[i] >= g->n_values)
            return ember_fail(EMBER_E_INTERNAL, "graph output %zu is out of range", i);
        g->values[g->outputs[i]].is_graph_output = true;
    }
    return EMBER_OK;
}

static ember_status link_output(graph *g, size_t node_index, size_t slot)
{
    char label[LABEL_SIZE], other[LABEL_SIZE];
    const graph_node *node = &g->nodes[node_index];
    graph_value *v = &g->values[node->outputs[slot]];
    graph_node_label(g, node, label, sizeof label);
    if (v->producer >= 0)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "value '%s' is assigned twice: by %s and by %s", v->name,
                          graph_node_label(g, &g->nodes[v->producer], other, sizeof other),
                          label);
    if (v->is_graph_input || v->initializer)
        return ember_fail(EMBER_E_INVALID_MODEL, "%s: output '%s' is also a graph %s", label,
                          v->name, v->is_graph_input ? "input" : "initializer");
    v->producer = (int)node_index;
    v->producer_output = (int)slot;
    return EMBER_OK;
}

/* A value used in g that g does not define: outer scope when an enclosing
 * graph defines it. */
static bool mark_outer(graph *g, graph_value *v)
{
    if (graph_value_is_defined(v))
        return true;
    if (g->parent && graph_value_resolve(g->parent, v->name, NULL)) {
        v->is_outer_scope = true;
        return true;
    }
    return false;
}

static ember_status check_consumers(graph *g)
{
    char label[LABEL_SIZE];
    for (size_t i = 0; i < g->n_nodes; i++) {
        const graph_node *node = &g->nodes[i];
        for (size_t k = 0; k < node->n_inputs; k++) {
            if (node->inputs[k] < 0 || mark_outer(g, &g->values[node->inputs[k]]))
                continue;
            return ember_fail(EMBER_E_INVALID_MODEL,
                              "%s: input %zu '%s' has no producer (it is not a graph input, "
                              "an initializer or a node output%s)",
                              graph_node_label(g, node, label, sizeof label), k,
                              g->values[node->inputs[k]].name,
                              g->parent ? ", here or in an enclosing graph" : "");
        }
    }
    for (size_t i = 0; i < g->n_outputs; i++)
        if (!mark_outer(g, &g->values[g->outputs[i]]))
            return ember_fail(EMBER_E_INVALID_MODEL, "graph output '%s' has no producer",
                              g->values[g->outputs[i]].name);
    return EMBER_OK;
}

static ember_status link_graph(graph *g);

static ember_status link_subgraphs(graph *g)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        const graph_node *node = &g->nodes[i];
        for (size_t a = 0; a < node->n_attrs; a++) {
            graph *sub = node->attrs[a].subgraph;
            if (!sub)
                continue;
            if (sub->parent != g)
                return ember_fail(EMBER_E_INTERNAL, "subgraph '%s' has the wrong parent",
                                  node->attrs[a].name);
            ember_status status = link_graph(sub);
            if (status != EMBER_OK)
                return in_subgraph(status, g, node, &node->attrs[a]);
        }
    }
    return EMBER_OK;
}

static ember_status link_graph(graph *g)
{
    EMBER_TRY(resolve_opsets(g));
    EMBER_TRY(reset_links(g));
    EMBER_TRY(mark_inputs_outputs(g));
    for (size_t i = 0; i < g->n_nodes; i++)
        for (size_t k = 0; k < g->nodes[i].n_outputs; k++)
            if (g->nodes[i].outputs[k] >= 0)
                EMBER_TRY(link_output(g, i, k));
    EMBER_TRY(check_consumers(g));
    return link_subgraphs(g);
}

/* ---- pass 2: order ------------------------------------------------------- */

/* Dependency edges producer -> consumer, as two parallel arrays. */
typedef struct edges {
    size_t n, cap_from, cap_to;
    size_t *from, *to;
} edges;

static ember_status edge_add(edges *e, size_t from, size_t to)
{
    EMBER_TRY(util_grow((void **)&e->from, &e->cap_from, e->n + 1, sizeof *e->from));
    EMBER_TRY(util_grow((void **)&e->to, &e->cap_to, e->n + 1, sizeof *e->to));
    e->from[e->n] = from;
    e->to[e->n] = to;
    e->n++;
    return EMBER_OK;
}

static ember_status add_value_edge(const graph *g, edges *e, int value, size_t consumer)
{
    if (value >= 0 && g->values[value].producer >= 0)
        return edge_add(e, (size_t)g->values[value].producer, consumer);
    return EMBER_OK;
}

/* Edges from g's producers of the values that `sub` (or a graph nested in
 * it) captures from outside. */
static ember_status add_capture_edges(const graph *g, const graph *sub, edges *e,
                                      size_t consumer)
{
    for (size_t i = 0; i < sub->n_values; i++)
        if (sub->values[i].is_outer_scope)
            EMBER_TRY(add_value_edge(g, e, graph_value_find(g, sub->values[i].name), consumer));
    for (size_t i = 0; i < sub->n_nodes; i++)
        for (size_t a = 0; a < sub->nodes[i].n_attrs; a++)
            if (sub->nodes[i].attrs[a].subgraph)
                EMBER_TRY(add_capture_edges(g, sub->nodes[i].attrs[a].subgraph, e, consumer));
    return EMBER_OK;
}

static ember_status collect_edges(const graph *g, edges *e)
{
    for (size_t i = 0; i < g->n_nodes; i++) {
        const graph_node *node = &g->nodes[i];
        for (size_t k = 0; k < node->n_inputs; k++)
            EMBER_TRY(add_value_edge(g, e, node->inputs[k], i));
        for (size_t a = 0; a < node->n_attrs; a++)
            if (node->attrs[a].subgraph)
                EMBER_TRY(add_capture_edges(g, node->attrs[a].subgraph, e, i));
    }
    return EMBER_OK;
}

/* Compressed adjacency: the neighbours of node i are
 * items[start[i] .. start[i + 1]). */
typedef struct adjacency {
    size_t *start, *items;
} adjacency;

static ember_status adjacency_build(size_t n_nodes, const edges *e, bool by_from,
                                    adjacency *out)
{
    const size_t *key = by_from ? e->from : e->to, *other = by_from ? e->to : e->from;
    size_t *start = util_calloc(n_nodes + 1, sizeof *start);
    size_t *items = util_calloc(e->n, sizeof *items);
    size_t *fill = util_calloc(n_nodes, sizeof *fill);
    if (!start || !items || !fill) {
        util_free(start);
        util_free(items);
        util_free(fill);
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory ordering the graph");
    }
    for (size_t i = 0; i < e->n; i++)
        start[key[i] + 1]++;
    for (size_t i = 0; i < n_nodes; i++)
        start[i + 1] += start[i];
    for (size_t i = 0; i < e->n; i++)
        items[start[key[i]] + fill[key[i]]++] = other[i];
    util_free(fill);
    *out = (adjacency){start, items};
    return EMBER_OK;
}

/* A binary min-heap of node indices: among the ready nodes, the one that
 * came first in the model runs first, so a sorted model keeps its order. */
typedef struct heap {
    size_t n;
    size_t *items;
} heap;

static void heap_push(heap *h, size_t x)
{
    size_t i = h->n++;
    while (i > 0 && h->items[(i - 1) / 2] > x) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = x;
}

static size_t heap_pop(heap *h)
{
    size_t top = h->items[0], last = h->items[--h->n], i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && h->items[child + 1] < h->items[child])
            child++;
        if (h->items[child] >= last)
            break;
        h->items[i] = h->items[child];
        i = child;
    }
    if (h->n)
        h->items[i] = last;
    return top;
}

/* Writes up to n_nodes indices into order; returns how many were placed
 * (fewer than n_nodes when there is a cycle). indegree is consumed. */
static size_t kahn(size_t n_nodes, const adjacency *succ, size_t *indegree, size_t *order,
                   heap *ready)
{
    size_t placed = 0;
    for (size_t i = 0; i < n_nodes; i++)
        if (indegree[i] == 0)
            heap_push(ready, i);
    while (ready->n) {
        size_t u = heap_pop(ready);
        order[placed++] = u;
        for (size_t k = succ->start[u]; k < succ->start[u + 1]; k++)
            if (--indegree[succ->items[k]] == 0)
                heap_push(ready, succ->items[k]);
    }
    return placed;
}

/* The first producer of u that Kahn's algorithm could not place. */
static size_t unplaced_pred(const adjacency *pred, const size_t *indegree, size_t u)
{
    for (size_t k = pred->start[u]; k < pred->start[u + 1]; k++)
        if (indegree[pred->items[k]] != 0)
            return pred->items[k];
    return u; /* unreachable: a node with indegree > 0 has such a producer */
}

/* Names the nodes of one cycle among those left with a non-zero indegree.
 * Walking back through unplaced producers must revisit a node; the walk
 * from that node comes back to it. `path` has room for every node. */
static ember_status report_cycle(const graph *g, const adjacency *pred, const size_t *indegree,
                                 size_t *seen, size_t *path)
{
    char text[1024], label[LABEL_SIZE];
    size_t u = 0, n_path = 0, used;
    while (indegree[u] == 0)
        u++;
    while (!seen[u]) {
        seen[u] = 1;
        u = unplaced_pred(pred, indegree, u);
    }
    size_t v = u;
    do {
        path[n_path++] = v;
        v = unplaced_pred(pred, indegree, v);
    } while (v != u);
    /* path[i + 1] produces an input of path[i], and u produces path[n - 1]'s. */
    used = (size_t)snprintf(text, sizeof text, "%s",
                            graph_node_label(g, &g->nodes[u], label, sizeof label));
    for (size_t i = n_path; i-- > 0 && used < sizeof text;)
        used += (size_t)snprintf(text + used, sizeof text - used, " -> %s",
                                 graph_node_label(g, &g->nodes[i ? path[i] : u], label,
                                                  sizeof label));
    return ember_fail(EMBER_E_INVALID_MODEL, "the graph has a cycle: %s", text);
}

typedef struct order_work {
    edges e;
    adjacency succ, pred;
    size_t *indegree, *order, *seen;
    heap ready;
} order_work;

static void order_work_free(order_work *w)
{
    util_free(w->e.from);
    util_free(w->e.to);
    util_free(w->succ.start);
    util_free(w->succ.items);
    util_free(w->pred.start);
    util_free(w->pred.items);
    util_free(w->indegree);
    util_free(w->order);
    util_free(w->seen);
    util_free(w->ready.items);
}

static ember_status topo_sort(graph *g)
{
    order_work w = {0};
    size_t n = g->n_nodes;
    ember_status status = collect_edges(g, &w.e);
    if (status == EMBER_OK)
        status = adjacency_build(n, &w.e, true, &w.succ);
    if (status == EMBER_OK)
        status = adjacency_build(n, &w.e, false, &w.pred);
    if (status != EMBER_OK)
        goto out;
    w.indegree = util_calloc(n, sizeof *w.indegree);
    w.order = util_calloc(n, sizeof *w.order);
    w.seen = util_calloc(n, sizeof *w.seen);
    w.ready.items = util_calloc(n, sizeof *w.ready.items);
    if (!w.indegree || !w.order || !w.seen || !w.ready.items) {
        status = ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory ordering the graph");
        goto out;
    }
    for (size_t i = 0; i < w.e.n; i++)
        w.indegree[w.e.to[i]]++;
    if (kahn(n, &w.succ, w.indegree, w.order, &w.ready) < n) {
        status = report_cycle(g, &w.pred, w.indegree, w.seen, w.order);
        goto out;
    }
    util_free(g->node_order);
    g->node_order = w.order;
    w.order = NULL;
out:
    order_work_free(&w);
    return status;
}

/* Outer-scope values of a subgraph take the type of the value they name. */
static ember_status seed_outer_types(graph *sub)
{
    for (size_t i = 0; i < sub->n_values; i++) {
        graph_value *v = &sub->values[i];
        if (!v->is_outer_scope || v->type.dtype != EMBER_DTYPE_UNDEFINED)
            continue;
        const graph_value *def = graph_value_resolve(sub->parent, v->name, NULL);
        if (def && def->type.dtype != EMBER_DTYPE_UNDEFINED)
            EMBER_TRY(graph_value_set_type(v, def->type.dtype, def->type.rank, def->dims,
                                           (const char *const *)def->dim_names));
    }
    return EMBER_OK;
}

static ember_status order_graph(graph *g);

static ember_status order_node(graph *g, graph_node *node)
{
    for (size_t a = 0; a < node->n_attrs; a++) {
        graph *sub = node->attrs[a].subgraph;
        if (!sub)
            continue;
        ember_status status = seed_outer_types(sub);
        if (status == EMBER_OK)
            status = order_graph(sub);
        if (status != EMBER_OK)
            return in_subgraph(status, g, node, &node->attrs[a]);
    }
    return graph_infer_node(g, node);
}

static ember_status order_graph(graph *g)
{
    EMBER_TRY(topo_sort(g));
    EMBER_TRY(graph_infer_initializers(g));
    for (size_t i = 0; i < g->n_nodes; i++)
        EMBER_TRY(order_node(g, &g->nodes[g->node_order[i]]));
    return EMBER_OK;
}

ember_status graph_finalize(graph *g)
{
    if (!g)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "graph_finalize: NULL graph");
    EMBER_TRY(link_graph(g));
    return order_graph(g);
}
