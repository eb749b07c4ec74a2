/*
 * Builds small ONNX models in memory for tests, as protobuf-c messages
 * that a test can still edit field by field before packing them to bytes.
 *
 * Ownership: everything hangs off the Onnx__ModelProto and is allocated
 * with plain malloc, so mb_model_destroy (protobuf-c's free_unpacked with
 * the default allocator) releases the whole tree. Functions that attach a
 * tensor or graph take ownership of it. Allocation failures abort: this is
 * test support, not library code.
 *
 * Example, a one-node model y = Relu(x) with x, y float32 [2,3]:
 *
 *     int64_t dims[] = {2, 3};
 *     Onnx__ModelProto *m = mb_model_single_node("Relu", "x", "y", 17,
 *                                                EMBER_DTYPE_FLOAT32, 2, dims);
 *     size_t size;
 *     uint8_t *bytes = mb_model_pack(m, &size);
 *     ... model_load_bytes(bytes, size, NULL, "relu", &g) ...
 *     free(bytes);
 *     mb_model_destroy(m);
 */
#ifndef EMBER_TESTS_MODEL_BUILDER_H
#define EMBER_TESTS_MODEL_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

/* ---- models ------------------------------------------------------------- */

/* An empty model: ir_version 8, one import of ai.onnx at `opset` (none
 * when opset <= 0), producer "ember-tests", and an empty graph "main". */
Onnx__ModelProto *mb_model_create(int64_t opset);
void mb_model_destroy(Onnx__ModelProto *m);
void mb_model_add_opset(Onnx__ModelProto *m, const char *domain, int64_t version);
void mb_model_add_metadata(Onnx__ModelProto *m, const char *key, const char *value);
/* Serializes m; the caller frees the result with free(). */
uint8_t *mb_model_pack(const Onnx__ModelProto *m, size_t *size);

/* A model with one node `op_type` named "node" that reads the graph
 * inputs `inputs` and writes the graph outputs `outputs` (comma-separated
 * names, see mb_graph_add_node). Every input and output is declared with
 * dtype and shape dims[0..rank); rank < 0 declares no shape. */
Onnx__ModelProto *mb_model_single_node(const char *op_type, const char *inputs,
                                       const char *outputs, int64_t opset, int32_t dtype,
                                       int rank, const int64_t *dims);

/* ---- graphs ------------------------------------------------------------- */

/* A detached graph, for subgraph attributes (see mb_attr_graph). */
Onnx__GraphProto *mb_graph_create(const char *name);
/* Frees a graph that was never attached. */
void mb_graph_destroy(Onnx__GraphProto *g);

/* Declares a graph input, output or value_info entry of tensor type.
 * rank < 0 declares no shape; dims[i] < 0 is an unknown dim (name it with
 * mb_value_set_dim_param). dtype 0 leaves the element type unset. */
Onnx__ValueInfoProto *mb_graph_add_input(Onnx__GraphProto *g, const char *name, int32_t dtype,
                                         int rank, const int64_t *dims);
Onnx__ValueInfoProto *mb_graph_add_output(Onnx__GraphProto *g, const char *name, int32_t dtype,
                                          int rank, const int64_t *dims);
Onnx__ValueInfoProto *mb_graph_add_value_info(Onnx__GraphProto *g, const char *name,
                                              int32_t dtype, int rank, const int64_t *dims);
/* Makes dim `axis` of vi's shape symbolic: dim_param = name. */
void mb_value_set_dim_param(Onnx__ValueInfoProto *vi, size_t axis, const char *name);

/* Appends a node. `inputs` and `outputs` are comma-separated value names;
 * an empty entry ("a,,c") is an absent optional input; NULL or "" is none.
 * name may be NULL (unnamed node). */
Onnx__NodeProto *mb_graph_add_node(Onnx__GraphProto *g, const char *op_type, const char *name,
                                   const char *inputs, const char *outputs);
void mb_node_set_domain(Onnx__NodeProto *n, const char *domain);

/* ---- model-local functions ---------------------------------------------- */

/* Appends a function domain.name(inputs) -> (outputs) to m, importing
 * ai.onnx at m's first opset version. Names are comma-separated. */
Onnx__FunctionProto *mb_model_add_function(Onnx__ModelProto *m, const char *domain,
                                           const char *name, const char *inputs,
                                           const char *outputs);
Onnx__NodeProto *mb_function_add_node(Onnx__FunctionProto *f, const char *op_type,
                                      const char *name, const char *inputs,
                                      const char *outputs);
/* Declares attribute `name` of f, without a default / with a float one. */
void mb_function_add_attr(Onnx__FunctionProto *f, const char *name);
void mb_function_add_attr_float(Onnx__FunctionProto *f, const char *name, float value);
/* An attribute of a node in a function body that takes the value of the
 * function's attribute `ref` (ref_attr_name); type is an
 * ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__* value. */
void mb_attr_ref(Onnx__NodeProto *n, const char *name, int type, const char *ref);

/* ---- tensors ------------------------------------------------------------ */

/* A tensor with dtype and shape; `raw` (raw_bytes long) becomes raw_data
 * unless it is NULL. Fill typed fields (float_data, ...) directly or with
 * the helpers below. */
Onnx__TensorProto *mb_tensor_create(const char *name, int32_t dtype, size_t rank,
                                    const int64_t *dims, const void *raw, size_t raw_bytes);
void mb_tensor_set_floats(Onnx__TensorProto *t, const float *values, size_t n);
void mb_tensor_set_int32s(Onnx__TensorProto *t, const int32_t *values, size_t n);
void mb_tensor_set_int64s(Onnx__TensorProto *t, const int64_t *values, size_t n);
void mb_tensor_set_strings(Onnx__TensorProto *t, const char *const *values, size_t n);
/* Marks t as external: data_location EXTERNAL with the given keys
 * (offset/length < 0 are left out). */
void mb_tensor_set_external(Onnx__TensorProto *t, const char *location, int64_t offset,
                            int64_t length);
void mb_tensor_destroy(Onnx__TensorProto *t);
/* Takes t. */
void mb_graph_add_initializer(Onnx__GraphProto *g, Onnx__TensorProto *t);

/* ---- attributes --------------------------------------------------------- */

void mb_attr_int(Onnx__NodeProto *n, const char *name, int64_t value);
void mb_attr_float(Onnx__NodeProto *n, const char *name, float value);
void mb_attr_string(Onnx__NodeProto *n, const char *name, const char *value);
void mb_attr_ints(Onnx__NodeProto *n, const char *name, const int64_t *values, size_t count);
void mb_attr_floats(Onnx__NodeProto *n, const char *name, const float *values, size_t count);
void mb_attr_strings(Onnx__NodeProto *n, const char *name, const char *const *values,
                     size_t count);
/* Take t / g. */
void mb_attr_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);
void mb_attr_graph(Onnx__NodeProto *n, const char *name, Onnx__GraphProto *g);

#endif /* EMBER_TESTS_MODEL_BUILDER_H */
