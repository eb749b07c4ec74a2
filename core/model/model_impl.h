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

/* One load. base_dir is NULL when external data is not allowed. */
typedef struct model_ctx {
    const char *base_dir;
    int64_t ir_version;
    char *base_real;            /* realpath of base_dir, resolved on first use */
    /* The external file opened last: many tensors share one file. */
    char *ext_location;
    int ext_fd;
    uint64_t ext_size;
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

/* Fills g (created empty, opsets set) from a GraphProto: inputs,
 * initializers, nodes with attributes and subgraphs, outputs, value_info.
 * Does not finalize. */
ember_status model_graph_load(model_ctx *ctx, const Onnx__GraphProto *gp, graph *g);

/* ONNX element type number to an ember dtype; false when Ember has none. */
bool model_dtype_known(int64_t onnx_type);

#endif /* EMBER_CORE_MODEL_IMPL_H */
