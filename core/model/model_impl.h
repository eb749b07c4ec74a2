/*
 * Private to core/model: the state of one load and the steps model.c
 * calls: the wire pre-check, tensors (with external data), and graphs.
 * Messages from these steps name the tensor, node or value; model.c adds
 * the model's label in front.
 */
#ifndef EMBER_CORE_MODEL_IMPL_H
#define EMBER_CORE_MODEL_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/graph/graph.h"
#include "onnx.pb-c.h"

/* Deepest message nesting accepted (protobuf's own default limit). Bounds
 * the recursion of protobuf-c and of the loader on hostile input. */
#define MODEL_MAX_NESTING 100

/* An initializer of the main graph whose raw_data was left out of the
 * message (wire_strip.c): `length` bytes at `offset` of the model. */
typedef struct model_deferred {
    size_t initializer; /* its index among the graph's initializers */
    uint64_t offset, length;
} model_deferred;

/* Where the deferred bytes are read from: `base` (the caller's buffer),
 * else the model file `fd`. */
typedef struct model_deferred_set {
    model_deferred *items; /* by initializer index */
    size_t n, cap;
    const uint8_t *base;
    int fd;
} model_deferred_set;

/* Writes into *out (util_malloc'd) the model `bytes` without the raw_data
 * of the main graph's large initializers, and lists them in *set; *out is
 * NULL when there is nothing to leave out. */
ember_status model_strip_raw_data(const uint8_t *bytes, size_t size, uint8_t **out,
                                  size_t *out_size, model_deferred_set *set);
void model_deferred_free(model_deferred_set *set);

/* One load. base_dir is NULL when external data is not allowed. */
typedef struct model_ctx {
    const Onnx__ModelProto *model;
    const char *base_dir;
    int64_t ir_version;
    unsigned n_inlined;         /* function calls inlined so far (unique prefixes) */
    size_t n_inlined_nodes;     /* nodes those calls added */
    char *base_real;            /* realpath of base_dir, resolved on first use */
    /* The external file opened last: many tensors share one file. */
    char *ext_location;
    int ext_fd;
    uint64_t ext_size;
    const model_deferred_set *deferred; /* NULL: every initializer is in the message */
} model_ctx;

void model_ctx_init(model_ctx *ctx, const char *base_dir);
void model_ctx_release(model_ctx *ctx);

/* Walks the protobuf wire format of `desc` without building anything and
 * fails when it is malformed or nests deeper than MODEL_MAX_NESTING. */
ember_status model_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes,
                              size_t size);

/* Converts a TensorProto (inline, typed fields or external data) into an
 * owned tensor. `fallback_name` names an unnamed tensor in messages. */
ember_status model_tensor_load(model_ctx *ctx, const Onnx__TensorProto *tp,
                               const char *fallback_name, graph_tensor **out);
/* Same for an initializer whose raw_data was deferred to `item`. */
ember_status model_tensor_load_deferred(model_ctx *ctx, const Onnx__TensorProto *tp,
                                        const char *name, const model_deferred *item,
                                        graph_tensor **out);
/* Same for a sparse tensor, densified. */
ember_status model_sparse_load(model_ctx *ctx, const Onnx__SparseTensorProto *sp,
                               const char *fallback_name, graph_tensor **out);

/* Checks an external tensor's location, opens it and checks that it holds
 * exactly `bytes` bytes; on success *fd and *offset say where to read
 * (the fd belongs to ctx). */
ember_status model_external_locate(model_ctx *ctx, const Onnx__TensorProto *tp,
                                   const char *name, size_t bytes, int *fd, uint64_t *offset);
/* Reads `bytes` at `offset` of fd into dst. */
ember_status model_external_read(int fd, uint64_t offset, void *dst, size_t bytes,
                                 const char *name);

/*
 * The body of a model-local function being inlined for one call node.
 * Names of the body are renamed: a formal input or output becomes the
 * caller's actual name (renamed in turn by the caller's scope), any other
 * name gets `prefix`. A NULL scope is the model's own graph: no renaming.
 */
typedef struct model_scope model_scope;
struct model_scope {
    const model_scope *caller;
    const Onnx__NodeProto *call;
    const Onnx__FunctionProto *fn;
    char *prefix;
    unsigned depth;
};

/* The graph's name for `name` as written in scope s: an owned copy ("" for
 * an absent name). */
ember_status model_scope_name(const model_scope *s, const char *name, char **out);
/* The attribute a `ref_attr_name` in scope s stands for: the call's
 * attribute or the function's default, or NULL when neither exists.
 * *owner receives the scope the returned attribute was written in. */
const Onnx__AttributeProto *model_scope_attr(const model_scope *s, const char *ref,
                                             const model_scope **owner);

/* The model-local function a node calls, or NULL. */
const Onnx__FunctionProto *model_function_find(const model_ctx *ctx, const Onnx__NodeProto *np);
/* Loads the nodes of fn's body into g in place of the call node. */
ember_status model_function_inline(model_ctx *ctx, graph *g, const Onnx__NodeProto *call,
                                   const Onnx__FunctionProto *fn, const model_scope *scope);

/* Fills g (created empty, opsets set) from a GraphProto: inputs,
 * initializers, nodes with attributes and subgraphs, outputs, value_info.
 * Does not finalize. */
ember_status model_graph_load(model_ctx *ctx, const Onnx__GraphProto *gp, graph *g,
                              const model_scope *scope);
/* Appends one node (or the nodes of the function it calls) to g. */
ember_status model_node_load(model_ctx *ctx, graph *g, const Onnx__NodeProto *np,
                             const model_scope *scope);
/* Loads np's attributes into node node_index of g (which has room for
 * them); attributes a function body refers to but its caller omits are
 * left out. A Constant's value is normalized to a TENSOR `value`. */
ember_status model_attrs_load(model_ctx *ctx, graph *g, size_t node_index,
                              const Onnx__NodeProto *np, const model_scope *scope);

/* ONNX element type number to an ember dtype; false when Ember has none. */
bool model_dtype_known(int64_t onnx_type);

#endif /* EMBER_CORE_MODEL_IMPL_H */
