/*
 * Support for the provider tests: a small host table (fail records the
 * message, log appends to a buffer the tests read, node views read a
 * test_node, the kernel context serves a test_ctx), plugin paths, scratch
 * folders and the environment.
 */
#ifndef EMBER_TEST_PROVIDER_HOST_H
#define EMBER_TEST_PROVIDER_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/provider/provider.h"

extern const ember_host_api test_host;

/* Every host->log line since the last clear, each ending in '\n'. */
const char *test_log_text(void);
void test_log_clear(void);

/* What node views show; pass TEST_NODE(&node) where an ember_node is due. */
typedef struct test_node {
    const char *op_type, *domain, *name;
    int64_t opset;
    size_t n_inputs, n_outputs;
    ember_type_info inputs[4];
} test_node;
#define TEST_NODE(n) ((const ember_node *)(n))

/* A kernel context: inputs as given; output 0 is allocated on `device`
 * (through provider_alloc) by ctx_output. */
typedef struct test_ctx {
    provider_instance *device;
    const ember_tensor *inputs[4];
    size_t n_inputs;
    ember_tensor output;
    int64_t output_dims[8];
    bool has_output;
} test_ctx;
#define TEST_CTX(c) ((ember_kernel_context *)(c))
/* Frees the output's device memory. */
void test_ctx_release(test_ctx *ctx);

/* <EMBER_TEST_PLUGIN_DIR>/libember_provider_<stem>.so */
const char *test_plugin_dir(void);
void test_plugin_path(char *buf, size_t size, const char *stem);

/* Fails the test unless `message` contains `needle`. */
void test_expect_has(const char *message, const char *needle);

/* A fresh folder under $TMPDIR; remove it with everything inside. */
void test_dir_make(char *buf, size_t size);
void test_dir_link(const char *dir, const char *name, const char *target);
void test_dir_copy(const char *dir, const char *name, const char *source);
void test_dir_write(const char *dir, const char *name, const char *text);
void test_dir_remove(const char *dir);

/* Sets EMBER_PROVIDER_PATH (NULL unsets it) until test_env_restore. */
void test_env_set_path(const char *value);
void test_env_restore(void);

#endif
