/*
 * Loading models: ONNX protobuf (through protobuf-c) into the graph IR,
 * with external data resolved inside the model's folder and subgraphs
 * loaded recursively. The result is finalized (graph_finalize) already.
 */
#ifndef EMBER_CORE_MODEL_H
#define EMBER_CORE_MODEL_H

#include <stddef.h>

#include "core/graph/graph.h"

/* Loads the ONNX model at `path`. Messages name the file. */
ember_status model_load_file(const char *path, graph **out);

/* Loads an ONNX model from memory. External data is resolved against
 * `base_dir`; with base_dir NULL a model that needs external data fails.
 * `label` names the model in messages ("<bytes>" when NULL). */
ember_status model_load_bytes(const void *bytes, size_t size, const char *base_dir,
                              const char *label, graph **out);

#endif /* EMBER_CORE_MODEL_H */
