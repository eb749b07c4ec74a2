/*
 * ember_conformance: runs the ONNX backend node tests (onnx's data layout)
 * through Ember's public API. This header joins the runner's files: reading
 * .pb tensors and models with protobuf-c, comparing outputs, and the list of
 * tests expected to fail. Failing helpers return false and write a one-line
 * reason into `why`.
 */
#ifndef EMBER_CONFORMANCE_H
#define EMBER_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ember/ember.h>

#define CONF_WHY_SIZE 1024

/* ---- pb_io.c: TensorProto files and model scans ----------------------------- */

/* A host tensor read from a serialized TensorProto. */
typedef struct conf_tensor {
    char *name;         /* the TensorProto's name ("" when unset) */
    ember_value *value; /* owned */
    void *data;         /* the buffer `value` wraps (NULL for strings) */
} conf_tensor;

bool conf_tensor_load(const char *path, conf_tensor *out, char *why);
void conf_tensor_free(conf_tensor *tensor);

/* What the runner must know about a model before creating a session. */
typedef struct conf_model_scan {
    char **op_types;      /* distinct "op" (ai.onnx) or "domain.op", subgraphs included */
    size_t n_op_types;
    char unsupported[256]; /* non-empty when an input/output is not a tensor */
} conf_model_scan;

bool conf_model_scan_file(const char *path, conf_model_scan *out, char *why);
void conf_model_scan_free(conf_model_scan *scan);

/* ---- compare.c --------------------------------------------------------------- */

/* Whether `actual` equals `expected`: same dtype and shape; floats within
 * |a - e| <= atol + rtol * |e| (NaN equals NaN); everything else exact. */
bool conf_compare(const char *output_name, const ember_value *expected,
                  const ember_value *actual, double rtol, double atol, char *why);

/* ---- expect.c: the expected-failure list ------------------------------------- */

typedef struct conf_expect_list {
    char **names;   /* "test_x" or "set/test_x" */
    char **reasons; /* text after '#', "" when none */
    size_t n_names;
} conf_expect_list;

/* Reads "name  # reason" lines; '#' starts a comment, blank lines are skipped. */
bool conf_expect_load(const char *path, conf_expect_list *out, char *why);
/* The entry for a test ("set/name" or bare "name"), or -1. */
long conf_expect_find(const conf_expect_list *list, const char *set, const char *name);
void conf_expect_free(conf_expect_list *list);

#endif /* EMBER_CONFORMANCE_H */
