/*
 * Private to core/graph: the allocation behind every graph (a name index
 * beside the public struct) and the helpers that finalize.c, infer.c and
 * node_view.c share.
 */
#ifndef EMBER_CORE_GRAPH_IMPL_H
#define EMBER_CORE_GRAPH_IMPL_H

#include "core/graph/graph.h"

/*
 * graph_create allocates a graph_impl; `g` comes first, so a graph pointer
 * is a graph_impl pointer. The index maps value names to indices with open
 * addressing (slot = value index + 1, 0 = empty; power-of-two size, at
 * most half full). It covers values[0, n_indexed); values appended to
 * values[] directly, without graph_value_intern, are found by a linear scan
 * of the tail until the next intern re-indexes. A hit is always confirmed
 * by comparing the name, so a stale slot is never trusted.
 */
typedef struct graph_impl {
    graph g;
    int *slots;
    size_t n_slots;
    size_t n_indexed;
} graph_impl;

/* "node 'name' (Op)" or "node #3 (Op)" for an unnamed node, into buf. */
const char *graph_node_label(const graph *g, const graph_node *node, char *buf, size_t size);

/* The top-level graph that holds the model's imports. */
const graph *graph_root(const graph *g);

/* The value that defines `name` for a use inside g: g's own value when g
 * produces it, else the nearest enclosing graph's defining value. NULL when
 * no graph in the chain defines it. *owner (when not NULL) receives the
 * graph that holds the returned value. */
const graph_value *graph_value_resolve(const graph *g, const char *name, const graph **owner);

/* True when v has a producer in its graph: a node output, a graph input
 * or an initializer. */
bool graph_value_is_defined(const graph_value *v);

/* The constant data of v as seen from g: its initializer (unless it is also
 * a graph input, which a caller may override), the `value` tensor of a
 * Constant producer, or the same for the value an outer-scope name refers
 * to. NULL otherwise. */
const ember_tensor *graph_value_constant(const graph *g, const graph_value *v);

/* Static types of `node`'s outputs where the op makes them known from its
 * inputs and attributes; types declared by the model are kept. finalize.c
 * calls it in node_order, after the node's subgraphs are inferred. */
ember_status graph_infer_node(graph *g, graph_node *node);

/* Gives values that hold an initializer the tensor's type when the model
 * declared none. */
ember_status graph_infer_initializers(graph *g);

#endif /* EMBER_CORE_GRAPH_IMPL_H */
