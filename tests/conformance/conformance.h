/*
 * ember_conformance: runs the ONNX backend node tests (onnx's data layout)
 * through Ember's public API. This header joins the runner's files: reading
 * .pb values (tensors, sequences, optionals) and models with protobuf-c,
 * comparing outputs, and the list of tests expected to fail. Failing helpers
 * return false and write a one-line reason into `why`.
 */
#ifndef EMBER_CONFORMANCE_H
#define EMBER_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ember/ember.h>

#define CONF_WHY_SIZE 1024

/* ---- pb_io.c: test data files and model scans --------------------------------- */

/* What a model input or output holds, from its TypeProto. */
typedef enum conf_kind {
    CONF_KIND_TENSOR,   /* also when the model states no type */
    CONF_KIND_SEQUENCE, /* a sequence of tensors */
    CONF_KIND_OPTIONAL, /* an optional tensor or sequence of tensors */
} conf_kind;

typedef struct conf_io_type {
    conf_kind kind;
    ember_dtype dtype; /* the innermost tensor's element type; UNDEFINED when unknown */
} conf_io_type;

/* A host value read from a data file: a TensorProto, SequenceProto or
 * OptionalProto. */
typedef struct conf_tensor {
    char *name;         /* the proto's name ("" when unset) */
    ember_value *value; /* owned */
    void *data;         /* the buffer a wrapped tensor `value` uses (else NULL) */
} conf_tensor;

/* Reads the file as the proto that `type` calls for (NULL: a tensor). */
bool conf_value_load(const char *path, const conf_io_type *type, conf_tensor *out, char *why);
void conf_tensor_free(conf_tensor *tensor);

/* What the runner must know about a model before creating a session. */
typedef struct conf_model_scan {
    char **op_types;      /* distinct "op" (ai.onnx) or "domain.op", subgraphs included */
    size_t n_op_types;
    conf_io_type *inputs; /* one per graph input, in order */
    size_t n_inputs;
    conf_io_type *outputs; /* one per graph output, in order */
    size_t n_outputs;
    char unsupported[256]; /* non-empty when an input/output has a kind the runner lacks */
} conf_model_scan;

bool conf_model_scan_file(const char *path, conf_model_scan *out, char *why);
void conf_model_scan_free(conf_model_scan *scan);

/* ---- compare.c --------------------------------------------------------------- */

/* Whether `actual` equals `expected`: the same kind; for tensors (and each
 * item of a sequence) the same dtype and shape, floats within
 * |a - e| <= atol + rtol * |e| (NaN equals NaN), everything else exact. */
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
