/*
 * Private to core/graph: what infer.c (dtype rules, the op table) and
 * infer_shape.c (shape rules) share.
 */
#ifndef EMBER_CORE_GRAPH_INFER_IMPL_H
#define EMBER_CORE_GRAPH_INFER_IMPL_H

#include "core/graph/graph_impl.h"

/* Ranks above this are left to run time. */
#define GRAPH_MAX_RANK 32

/* A shape being inferred; rank -1 when unknown. */
typedef struct graph_shape {
    int32_t rank;
    int64_t dims[GRAPH_MAX_RANK];     /* -1 = unknown */
    const char *names[GRAPH_MAX_RANK]; /* borrowed symbolic names, or NULL */
} graph_shape;

/* Output 0's shape of a node; false when it cannot be known statically. */
typedef bool (*graph_shape_fn)(const graph *g, const graph_node *node, graph_shape *out);

/* Input k's value, or NULL when absent; its dtype (UNDEFINED if absent). */
const graph_value *graph_infer_input(const graph *g, const graph_node *node, size_t k);
uint32_t graph_infer_input_dtype(const graph *g, const graph_node *node, size_t k);
/* An INT attribute, or `fallback`. */
int64_t graph_infer_attr_int(const graph_node *node, const char *name, int64_t fallback);

/* The shape rules, named for the ops they serve. */
bool graph_shape_same(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_scalar(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_broadcast(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_of_shape(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_transpose(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_gemm(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_matmul(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_flatten(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_reshape(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_concat(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_unsqueeze(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_squeeze(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_gather(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_global_pool(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_reduce(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_arg_reduce(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_window(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_constant(const graph *g, const graph_node *node, graph_shape *out);
bool graph_shape_constant_of_shape(const graph *g, const graph_node *node, graph_shape *out);

#endif /* EMBER_CORE_GRAPH_INFER_IMPL_H */
