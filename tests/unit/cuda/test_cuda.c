/*
 * The CUDA provider plugin through the public API. Every machine: the
 * built plugin exists and passes the loader's checks. Without a GPU (or a
 * driver): one clear message, an error in strict mode, and CPU execution
 * when the session may fall back. With a GPU: the provider is usable,
 * claims the nodes, results equal a CPU-only run, and device values round
 * trip.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/ember.h"
#include "model_builder.h"

#define N_X 6 /* x and y are [2,3] */

static const ember_device host = {EMBER_DEVICE_CPU, 0};

/* x[2,3] -> Relu -> r; r + c[3] -> a; Softmax(a, axis -1) -> y. */
static uint8_t *small_model(size_t *size)
{
    static const int64_t dims[] = {2, 3}, c_dims[] = {3};
    float c[3] = {0.5f, -1.0f, 2.0f};
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims);
    mb_graph_add_initializer(g, mb_tensor_create("c", EMBER_DTYPE_FLOAT32, 1, c_dims, c,
                                                 sizeof c));
    mb_graph_add_node(g, "Relu", "relu", "x", "r");
    mb_graph_add_node(g, "Add", "add", "r,c", "a");
    mb_graph_add_node(g, "Softmax", "softmax", "a", "y");
    uint8_t *bytes = mb_model_pack(m, size);
    mb_model_destroy(m);
    return bytes;
}

typedef struct fixture {
    ember_env *env;
    uint8_t *model;
    size_t model_size;
    bool has_gpu;
    char why[512];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(ember_env_create(&f->env), EMBER_OK);
    f->model = small_model(&f->model_size);
    f->has_gpu = ember_env_provider_available(f->env, "CUDA", f->why, sizeof f->why);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->model);
    ember_env_destroy(f->env);
    free(f);
    return 0;
}

static ember_status open_session(fixture *f, const char *const *names, size_t n, bool strict,
                                 ember_session **out)
{
    ember_session_options *opts;
    assert_int_equal(ember_session_options_create(&opts), EMBER_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ember_session_options_append_provider(opts, names[i], NULL, NULL, 0),
                         EMBER_OK);
    ember_session_options_set_strict(opts, strict);
    ember_status status =
        ember_session_create_from_bytes(f->env, f->model, f->model_size, NULL, opts, out);
    ember_session_options_destroy(opts);
    return status;
}

static void run_y(ember_session *s, const float *x, float *y)
{
    static const int64_t dims[] = {2, 3};
    ember_value *in, *out;
    assert_int_equal(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)x, sizeof(float) * N_X,
                                      host, &in),
                     EMBER_OK);
    const char *in_name = "x", *out_name = "y";
    ember_status status = ember_session_run(s, NULL, &in_name, (const ember_value *const *)&in,
                                            1, &out_name, &out, 1);
    if (status != EMBER_OK)
        fail_msg("run failed: %s", ember_last_error());
    assert_int_equal(ember_value_get_element_count(out), N_X);
    memcpy(y, ember_value_get_data(out), sizeof(float) * N_X);
    ember_value_destroy(out);
    ember_value_destroy(in);
}

static const char *provider_of(ember_session *s, const char *node)
{
    for (size_t i = 0; i < ember_session_get_node_count(s); i++) {
        ember_node_placement p;
        assert_int_equal(ember_session_get_node_placement(s, i, &p), EMBER_OK);
        if (strcmp(p.node_name, node) == 0)
            return p.provider;
    }
    fail_msg("no node %s", node);
    return NULL;
}

/* The probe's reason names the cause in one line. */
static bool is_clear_reason(const char *why)
{
    bool known = strncmp(why, "no CUDA device", 14) == 0 ||
                 strncmp(why, "CUDA driver not found", 21) == 0;
    return known && strchr(why, '\n') == NULL;
}

/* ---- every machine --------------------------------------------------------------- */

/* The plugin built with this test, or $EMBER_CUDA_PLUGIN where the test
 * runs from a copy of the build (tests/gpu/run.sh). */
static const char *plugin_path(void)
{
    const char *path = getenv("EMBER_CUDA_PLUGIN");
    return path && path[0] ? path : EMBER_CUDA_PLUGIN;
}

static void test_cuda_plugin_is_built_and_loads(void **state)
{
    fixture *f = *state;
    const char *path = plugin_path();
    if (access(path, R_OK) != 0)
        fail_msg("no CUDA plugin at %s", path);
    if (ember_env_register_provider(f->env, path) != EMBER_OK)
        fail_msg("the loader refused %s: %s", path, ember_last_error());
}

static void test_cuda_probe_gives_a_clear_reason(void **state)
{
    fixture *f = *state;
    const char *expect_gpu = getenv("EMBER_EXPECT_GPU"); /* set by tests/gpu/run.sh */
    if (expect_gpu && expect_gpu[0] == '1' && !f->has_gpu)
        fail_msg("a GPU was expected but the CUDA provider is not usable: %s", f->why);
    if (f->has_gpu) {
        assert_string_equal(f->why, "");
        return;
    }
    if (!is_clear_reason(f->why))
        fail_msg("unclear reason: '%s'", f->why);
}

static void test_cuda_strict_session_fails_with_the_reason(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"CUDA"};
    ember_session *s = NULL;
    ember_status status = open_session(f, names, 1, true, &s);
    if (f->has_gpu) {
        assert_int_equal(status, EMBER_OK);
        assert_string_equal(provider_of(s, "relu"), "CUDA");
        ember_session_destroy(s);
        return;
    }
    assert_int_equal(status, EMBER_E_DEVICE);
    assert_null(s);
    const char *message = ember_last_error();
    if (strstr(message, "CUDA") == NULL || strstr(message, f->why) == NULL)
        fail_msg("the error does not carry the probe's reason: '%s'", message);
}

/* Both spellings, with fallback allowed: the session runs, on CPU when
 * there is no GPU, and gives the CPU provider's results. */
static void test_cuda_fallback_runs_and_matches_cpu(void **state)
{
    fixture *f = *state;
    static const char *const spellings[] = {"CUDA", "CUDAExecutionProvider"};
    static const char *const cpu_only[] = {"CPU"};
    float x[N_X] = {-1.0f, 0.5f, 2.0f, 3.0f, -0.25f, 1.0f}, want[N_X], got[N_X];
    ember_session *s;
    assert_int_equal(open_session(f, cpu_only, 1, false, &s), EMBER_OK);
    run_y(s, x, want);
    ember_session_destroy(s);
    for (size_t i = 0; i < 2; i++) {
        const char *names[] = {spellings[i], "CPU"};
        if (open_session(f, names, 2, false, &s) != EMBER_OK)
            fail_msg("session with %s,CPU: %s", spellings[i], ember_last_error());
        const char *expected = f->has_gpu ? "CUDA" : "CPU";
        assert_string_equal(provider_of(s, "relu"), expected);
        assert_string_equal(provider_of(s, "softmax"), expected);
        run_y(s, x, got);
        for (int j = 0; j < N_X; j++)
            assert_true(fabsf(got[j] - want[j]) <= 1e-5f + 1e-5f * fabsf(want[j]));
        ember_session_destroy(s);
    }
}

/* ---- with a GPU -------------------------------------------------------------------- */

static void test_cuda_device_value_round_trips(void **state)
{
    fixture *f = *state;
    static const int64_t dims[] = {2, 3};
    float data[N_X] = {1, 2, 3, 4, 5, 6}, back[N_X] = {0};
    ember_value *src, *dev, *dst;
    if (!f->has_gpu)
        skip();
    assert_int_equal(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, data, sizeof data, host, &src),
                     EMBER_OK);
    assert_int_equal(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, back, sizeof back, host, &dst),
                     EMBER_OK);
    if (ember_value_create(f->env, EMBER_DTYPE_FLOAT32, dims, 2,
                           (ember_device){EMBER_DEVICE_CUDA, 0}, &dev) != EMBER_OK)
        fail_msg("device value: %s", ember_last_error());
    assert_int_equal(ember_value_copy(dev, src), EMBER_OK);
    assert_int_equal(ember_value_copy(dst, dev), EMBER_OK);
    assert_memory_equal(back, data, sizeof data);
    ember_value_destroy(dev);
    ember_value_destroy(dst);
    ember_value_destroy(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cuda_plugin_is_built_and_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cuda_probe_gives_a_clear_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cuda_strict_session_fails_with_the_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cuda_fallback_runs_and_matches_cpu, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cuda_device_value_round_trips, setup, teardown),
    };
    return cmocka_run_group_tests_name("cuda", tests, NULL, NULL);
}
