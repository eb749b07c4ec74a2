/*
 * The in-memory graph: values, nodes, attributes, subgraphs, and the
 * checks and inference that run on it after loading. core/model builds it
 * from ONNX protobuf; partition and exec read it.
 *
 * Invariants of a graph after graph_finalize succeeds:
 *  - values[] holds every name the graph mentions, once. A value has at
 *    most one producer: a node output, a graph input or an initializer.
 *  - node_order[] is a topological order of nodes[] (producers first).
 *  - A node input index is -1 for an absent optional input ("" in ONNX).
 *  - A name used inside a subgraph but produced in an enclosing graph is a
 *    value of the subgraph with is_outer_scope set; it is fed at run time.
 *  - Strings are owned, NUL-terminated copies; all memory comes from
 *    util_malloc and is released by graph_destroy.
 */
#ifndef EMBER_CORE_GRAPH_H
#define EMBER_CORE_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/ember.h"
#include "ember/ember_provider.h"

typedef struct graph graph;

/* A host tensor owned by the graph (initializers, attribute tensors).
 * `view` is what providers see; its dims point at `dims`. String tensors
 * store ember_string elements whose bytes are owned by the tensor. */
typedef struct graph_tensor {
    ember_tensor view;   /* device CPU */
    int64_t *dims;
    size_t n_elements;
    size_t data_bytes;
    char *name;
} graph_tensor;

typedef struct graph_value {
    char *name;
    ember_type_info type;     /* type.dims points at `dims` */
    int64_t *dims;            /* NULL when rank is unknown or 0 */
    char **dim_names;         /* rank entries, NULL or a symbolic name */
    graph_tensor *initializer; /* constant data, or NULL */
    int producer;             /* node index, or -1 */
    int producer_output;      /* output slot in the producer */
    bool is_graph_input;
    bool is_graph_output;
    bool is_outer_scope;
} graph_value;

typedef struct graph_attr {
    char *name;
    ember_attr view;          /* pointers below back the view */
    char *s;                  /* STRING bytes (view.s) */
    int64_t *ints;
    float *floats;
    ember_string *strings;    /* STRINGS: each .data owned */
    graph_tensor *tensor;     /* TENSOR */
    graph *subgraph;          /* GRAPH */
} graph_attr;

typedef struct graph_node {
    char *name;               /* never NULL; "" when the model gave none */
    char *op_type;
    char *domain;             /* "" for ai.onnx ("ai.onnx" is normalized to "") */
    int64_t opset;            /* the model's import for `domain` */
    size_t n_inputs;
    int *inputs;              /* value indices, -1 = absent */
    size_t n_outputs;
    int *outputs;             /* value indices, -1 = absent */
    size_t n_attrs;
    graph_attr *attrs;
} graph_node;

typedef struct graph_opset {
    char *domain;
    int64_t version;
} graph_opset;

typedef struct graph_meta {
    char *producer_name, *producer_version, *domain, *description, *graph_name;
    int64_t model_version, ir_version;
    size_t n_custom;
    char **custom_keys, **custom_values;
} graph_meta;

struct graph {
    graph *parent;            /* enclosing graph of a subgraph, or NULL */
    size_t n_values, cap_values;
    graph_value *values;
    size_t n_nodes, cap_nodes;
    graph_node *nodes;
    size_t *node_order;       /* n_nodes entries after graph_finalize */
    size_t n_inputs;
    int *inputs;              /* graph inputs in declaration order (incl. initialized ones) */
    size_t n_outputs;
    int *outputs;
    size_t n_opsets;
    graph_opset *opsets;      /* the model's imports; shared view in subgraphs */
    graph_meta meta;          /* top-level graph only */
};

/* ---- building ---------------------------------------------------------- */

ember_status graph_create(graph *parent, graph **out);
void graph_destroy(graph *g);

/* Index of value `name`, creating it (untyped, no producer) when absent. */
ember_status graph_value_intern(graph *g, const char *name, int *index);
/* Index of value `name`, or -1. Does not look in enclosing graphs. */
int graph_value_find(const graph *g, const char *name);
/* Appends a node with room for the given counts (entries set to -1, attrs
 * zeroed); the node's strings are copied. */
ember_status graph_node_add(graph *g, const char *name, const char *op_type,
                            const char *domain, size_t n_inputs, size_t n_outputs,
                            size_t n_attrs, graph_node **out);
/* Sets a value's static type; dims/dim_names (rank entries) are copied. */
ember_status graph_value_set_type(graph_value *v, uint32_t dtype, int32_t rank,
                                  const int64_t *dims, const char *const *dim_names);
/* Allocates a tensor of dtype and shape with zeroed data. */
ember_status graph_tensor_create(const char *name, uint32_t dtype, const int64_t *dims,
                                 size_t rank, graph_tensor **out);
/* The same with data left unset (strings excepted), for a caller that
 * writes every byte next: zeroing a model's weights first costs a pass
 * over all of them. */
ember_status graph_tensor_create_for_copy(const char *name, uint32_t dtype, const int64_t *dims,
                                          size_t rank, graph_tensor **out);
void graph_tensor_destroy(graph_tensor *t);

/* ---- checking and inference -------------------------------------------- */

/* Resolves node opsets from the imports, links producers, marks outer-scope
 * names, computes node_order, checks single assignment and that every
 * consumed value has a producer, and propagates static types where the op
 * makes them known. Recurses into subgraphs. Messages name the node. */
ember_status graph_finalize(graph *g);

/* ---- lookups ----------------------------------------------------------- */

const graph_attr *graph_node_attr(const graph_node *node, const char *name);
/* Version imported for `domain` ("" = ai.onnx), or -1. */
int64_t graph_opset_of(const graph *g, const char *domain);

/* ---- node views for providers ---------------------------------------- */

/* What the host table's node_* slots point at: a graph node seen by a
 * provider during claim and kernel_create. The functions below have the
 * exact signatures of those slots. The fields after `node` are set for
 * kernel_create and group_create only (0 and NULL during claim). */
struct ember_node {
    const graph *g;
    const graph_node *node;
    size_t n_threads;   /* the session's intra-op threads */
    uint64_t *released; /* bit i: the kernel released constant input i */
    /* Told of each release: the value the released input reads. */
    void (*on_release)(void *context, int value);
    void *release_context;
};

const char *graph_view_op_type(const ember_node *n);
const char *graph_view_domain(const ember_node *n);
const char *graph_view_name(const ember_node *n);
int64_t graph_view_opset(const ember_node *n);
size_t graph_view_input_count(const ember_node *n);
size_t graph_view_output_count(const ember_node *n);
bool graph_view_input_present(const ember_node *n, size_t index);
bool graph_view_input_type(const ember_node *n, size_t index, ember_type_info *out);
bool graph_view_output_type(const ember_node *n, size_t index, ember_type_info *out);
/* An initializer, or the `value` tensor of a Constant producer, or NULL. */
/* A view of `node` as claim sees it (no threads, nothing to release). */
ember_node graph_node_view(const graph *g, const graph_node *node);
size_t graph_view_thread_count(const ember_node *n);
void graph_view_input_release(const ember_node *n, size_t index);
const ember_tensor *graph_view_input_constant(const ember_node *n, size_t index);
bool graph_view_attr(const ember_node *n, const char *name, ember_attr *out);
/* The graph value index of input/output `index`, or -1 when absent. */
int64_t graph_view_input_value(const ember_node *n, size_t index);
int64_t graph_view_output_value(const ember_node *n, size_t index);

#endif /* EMBER_CORE_GRAPH_H */
