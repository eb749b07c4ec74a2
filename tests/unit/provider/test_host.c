/*
 * The provider tests' host table and helpers (see test_host.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util/util.h"
#include "test_host.h"

/* ---- log --------------------------------------------------------------------------- */

static char log_text[8192];

static void host_log(ember_log_level level, const char *fmt, ...)
{
    size_t used = strlen(log_text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log_text + used, sizeof log_text - used, fmt, ap);
    va_end(ap);
    used = strlen(log_text);
    if (used + 1 < sizeof log_text)
        strcpy(log_text + used, "\n");
}

const char *test_log_text(void)
{
    return log_text;
}

void test_log_clear(void)
{
    log_text[0] = '\0';
}

/* ---- node views -------------------------------------------------------------------- */

static const test_node *node_of(const ember_node *node)
{
    return (const test_node *)node;
}

static const char *node_op_type(const ember_node *n) { return node_of(n)->op_type; }
static const char *node_domain(const ember_node *n) { return node_of(n)->domain; }
static const char *node_name(const ember_node *n) { return node_of(n)->name; }
static int64_t node_opset(const ember_node *n) { return node_of(n)->opset; }
static size_t node_input_count(const ember_node *n) { return node_of(n)->n_inputs; }
static size_t node_output_count(const ember_node *n) { return node_of(n)->n_outputs; }

static bool node_input_present(const ember_node *n, size_t index)
{
    return index < node_of(n)->n_inputs;
}

static bool node_input_type(const ember_node *n, size_t index, ember_type_info *out)
{
    if (index >= node_of(n)->n_inputs)
        return false;
    *out = node_of(n)->inputs[index];
    return true;
}

static bool node_output_type(const ember_node *n, size_t index, ember_type_info *out)
{
    return false;
}

static const ember_tensor *node_input_constant(const ember_node *n, size_t index)
{
    return NULL;
}

static bool node_attr(const ember_node *n, const char *name, ember_attr *out)
{
    return false;
}

/* ---- kernel context ---------------------------------------------------------------- */

static test_ctx *ctx_of(const ember_kernel_context *ctx)
{
    return (test_ctx *)ctx;
}

static size_t ctx_input_count(const ember_kernel_context *ctx)
{
    return ctx_of(ctx)->n_inputs;
}

static const ember_tensor *ctx_input(const ember_kernel_context *ctx, size_t index)
{
    return index < ctx_of(ctx)->n_inputs ? ctx_of(ctx)->inputs[index] : NULL;
}

static size_t ctx_output_count(const ember_kernel_context *ctx)
{
    return 1;
}

static ember_status ctx_output(ember_kernel_context *context, size_t index, uint32_t dtype,
                               const int64_t *dims, size_t rank, ember_tensor **out)
{
    test_ctx *ctx = ctx_of(context);
    size_t n;
    if (index != 0 || ctx->has_output || rank > 8 || !util_element_count(dims, rank, &n))
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "test ctx: bad ctx_output call");
    ember_tensor *t = &ctx->output;
    memcpy(ctx->output_dims, dims, rank * sizeof *dims);
    provider_lib *lib = provider_instance_lib(ctx->device);
    *t = (ember_tensor){NULL, ctx->output_dims, (uint32_t)rank, dtype,
                        provider_lib_device_type(lib), 0};
    EMBER_TRY(provider_alloc(ctx->device, 0, n * ember_dtype_size((ember_dtype)dtype),
                             &t->data));
    ctx->has_output = true;
    *out = t;
    return EMBER_OK;
}

static ember_status ctx_scratch(ember_kernel_context *ctx, size_t bytes, void **out)
{
    return ember_fail(EMBER_E_NOT_IMPLEMENTED, "test ctx: no scratch");
}

static void ctx_parallel_for(ember_kernel_context *ctx, size_t n, ember_parallel_fn fn,
                             void *arg)
{
    fn(arg, 0, n);
}

static size_t ctx_thread_count(const ember_kernel_context *ctx)
{
    return 1;
}

void test_ctx_release(test_ctx *ctx)
{
    if (ctx->has_output)
        provider_free(ctx->device, 0, ctx->output.data);
    ctx->has_output = false;
}

const ember_host_api test_host = {
    .abi_version = EMBER_ABI_VERSION,
    .struct_size = sizeof(ember_host_api),
    .fail = ember_fail,
    .log = host_log,
    .node_op_type = node_op_type,
    .node_domain = node_domain,
    .node_name = node_name,
    .node_opset = node_opset,
    .node_input_count = node_input_count,
    .node_output_count = node_output_count,
    .node_input_present = node_input_present,
    .node_input_type = node_input_type,
    .node_output_type = node_output_type,
    .node_input_constant = node_input_constant,
    .node_attr = node_attr,
    .ctx_input_count = ctx_input_count,
    .ctx_input = ctx_input,
    .ctx_output_count = ctx_output_count,
    .ctx_output = ctx_output,
    .ctx_scratch = ctx_scratch,
    .ctx_parallel_for = ctx_parallel_for,
    .ctx_thread_count = ctx_thread_count,
};

/* ---- plugins and messages ---------------------------------------------------------- */

const char *test_plugin_dir(void)
{
    const char *dir = getenv("EMBER_TEST_PLUGIN_DIR");
    if (!dir)
        fail_msg("EMBER_TEST_PLUGIN_DIR is not set; run the tests through meson test");
    return dir;
}

void test_plugin_path(char *buf, size_t size, const char *stem)
{
    snprintf(buf, size, "%s/libember_provider_%s.so", test_plugin_dir(), stem);
}

void test_expect_has(const char *message, const char *needle)
{
    if (!strstr(message, needle))
        fail_msg("expected \"%s\" in the message:\n  %s", needle, message);
}

/* ---- scratch folders --------------------------------------------------------------- */

void test_dir_make(char *buf, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, size, "%s/ember_provider_test_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(buf));
}

void test_dir_link(const char *dir, const char *name, const char *target)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(symlink(target, path), 0);
}

void test_dir_copy(const char *dir, const char *name, const char *source)
{
    char path[4096], chunk[65536];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *in = fopen(source, "rb"), *out = fopen(path, "wb");
    assert_non_null(in);
    assert_non_null(out);
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, in)) > 0)
        assert_int_equal(fwrite(chunk, 1, n, out), n);
    fclose(in);
    fclose(out);
}

void test_dir_write(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
}

void test_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *entry;
    char path[4096];
    while ((entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- environment ------------------------------------------------------------------- */

static char *saved_path;
static bool is_saved;

void test_env_set_path(const char *value)
{
    if (!is_saved) {
        const char *old = getenv("EMBER_PROVIDER_PATH");
        saved_path = old ? strdup(old) : NULL;
        is_saved = true;
    }
    if (value)
        setenv("EMBER_PROVIDER_PATH", value, 1);
    else
        unsetenv("EMBER_PROVIDER_PATH");
}

void test_env_restore(void)
{
    if (!is_saved)
        return;
    if (saved_path)
        setenv("EMBER_PROVIDER_PATH", saved_path, 1);
    else
        unsetenv("EMBER_PROVIDER_PATH");
    free(saved_path);
    saved_path = NULL;
    is_saved = false;
}
