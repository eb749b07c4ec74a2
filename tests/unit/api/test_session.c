/*
 * Sessions through the public API, with the real CPU provider and the
 * mockdev plugin (a second device whose memory the host cannot read):
 * placement by priority, copies exactly at device boundaries, results
 * equal to a CPU-only run, concurrent runs, io binding, and the errors a
 * user meets first.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failing_alloc.h"
#include "ember/ember.h"
#include "model_builder.h"

#define MOCKDEV_TYPE (EMBER_DEVICE_VENDOR_BASE + 1)
#define N_X 8 /* x is [2,4] */
#define N_Y 6 /* y is [2,3] */

static const ember_device host = {EMBER_DEVICE_CPU, 0};

/* ---- the model ----------------------------------------------------------------
 * x[2,4] -> Relu -> r; r + r -> a; a @ W[4,3] -> m; m * c[3] -> p; Relu(p) -> y
 * Add, Mul and Relu can go to mockdev; MatMul only to the CPU. */

static uint8_t *chain_model(size_t *size)
{
    static const int64_t x_dims[] = {2, 4}, y_dims[] = {2, 3}, w_dims[] = {4, 3}, c_dims[] = {3};
    float w[12], c[3] = {0.5f, -1.0f, 2.0f};
    for (int i = 0; i < 12; i++)
        w[i] = (float)(i % 5) * 0.25f - 0.5f;
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, x_dims);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, y_dims);
    mb_graph_add_initializer(g, mb_tensor_create("W", EMBER_DTYPE_FLOAT32, 2, w_dims, w, sizeof w));
    mb_graph_add_initializer(g, mb_tensor_create("c", EMBER_DTYPE_FLOAT32, 1, c_dims, c, sizeof c));
    mb_graph_add_node(g, "Relu", "relu_in", "x", "r");
    mb_graph_add_node(g, "Add", "double", "r,r", "a");
    mb_graph_add_node(g, "MatMul", "project", "a,W", "m");
    mb_graph_add_node(g, "Mul", "scale", "m,c", "p");
    mb_graph_add_node(g, "Relu", "relu_out", "p", "y");
    uint8_t *bytes = mb_model_pack(m, size);
    mb_model_destroy(m);
    return bytes;
}

typedef struct fixture {
    ember_env *env;
    uint8_t *model;
    size_t model_size;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(ember_env_create(&f->env), EMBER_OK);
    f->model = chain_model(&f->model_size);
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

/* A session on `providers` ("mockdev,cpu"); mockdev claims `claim`. */
static ember_status open_session(fixture *f, const char *providers, const char *claim,
                                 bool strict, int threads, ember_session **out)
{
    ember_session_options *opts;
    assert_int_equal(ember_session_options_create(&opts), EMBER_OK);
    char list[64];
    strcpy(list, providers);
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
        const char *key = "claim";
        bool is_mock = strcmp(name, "mockdev") == 0;
        assert_int_equal(ember_session_options_append_provider(opts, name, &key, &claim,
                                                               is_mock ? 1 : 0),
                         EMBER_OK);
    }
    ember_session_options_set_strict(opts, strict);
    ember_session_options_set_intra_op_threads(opts, threads);
    ember_status status =
        ember_session_create_from_bytes(f->env, f->model, f->model_size, NULL, opts, out);
    ember_session_options_destroy(opts);
    return status;
}

static void fill_x(float *x, int seed)
{
    for (int i = 0; i < N_X; i++)
        x[i] = (float)((i * 7 + seed * 3) % 11) * 0.5f - 2.0f;
}

static void run_y(ember_session *s, const float *x, float *y)
{
    static const int64_t dims[] = {2, 4};
    ember_value *in, *out;
    assert_int_equal(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, (void *)x,
                                      N_X * sizeof(float), host, &in),
                     EMBER_OK);
    const char *in_name = "x", *out_name = "y";
    ember_status status = ember_session_run(s, NULL, &in_name, (const ember_value *const *)&in,
                                            1, &out_name, &out, 1);
    if (status != EMBER_OK)
        fail_msg("run failed: %s", ember_last_error());
    assert_int_equal(ember_value_get_element_count(out), N_Y);
    memcpy(y, ember_value_get_data(out), N_Y * sizeof(float));
    ember_value_destroy(out);
    ember_value_destroy(in);
}

static void reference_y(fixture *f, const float *x, float *y)
{
    ember_session *cpu;
    assert_int_equal(open_session(f, "cpu", "", false, 1, &cpu), EMBER_OK);
    run_y(cpu, x, y);
    ember_session_destroy(cpu);
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

/* ---- placement and copies -------------------------------------------------------- */

static void test_session_priority_decides_placement(void **state)
{
    fixture *f = *state;
    ember_session *s;
    assert_int_equal(open_session(f, "mockdev,cpu", "Add,Mul,Relu", false, 1, &s), EMBER_OK);
    assert_string_equal(provider_of(s, "relu_in"), "MOCKDEV");
    assert_string_equal(provider_of(s, "double"), "MOCKDEV");
    assert_string_equal(provider_of(s, "project"), "CPU");
    assert_string_equal(provider_of(s, "scale"), "MOCKDEV");
    ember_session_destroy(s);

    assert_int_equal(open_session(f, "cpu,mockdev", "Add,Mul,Relu", false, 1, &s), EMBER_OK);
    for (size_t i = 0; i < ember_session_get_node_count(s); i++) {
        ember_node_placement p;
        ember_session_get_node_placement(s, i, &p);
        assert_string_equal(p.provider, "CPU");
    }
    assert_int_equal(ember_session_get_copy_count(s), 0);
    ember_session_destroy(s);
}

static void test_session_inserts_copies_only_at_boundaries(void **state)
{
    fixture *f = *state;
    ember_session *s;
    /* x->mockdev (1); r stays; a->CPU (1); m->mockdev (1); c->mockdev (1,
     * uploaded once); p stays. */
    assert_int_equal(open_session(f, "mockdev,cpu", "Add,Mul,Relu", false, 1, &s), EMBER_OK);
    assert_int_equal(ember_session_get_copy_count(s), 4);
    ember_session_destroy(s);
    /* Only Relu on mockdev: x->mockdev, r->CPU, p->mockdev. */
    assert_int_equal(open_session(f, "mockdev,cpu", "Relu", false, 1, &s), EMBER_OK);
    assert_int_equal(ember_session_get_copy_count(s), 3);
    ember_session_destroy(s);
    /* One value read twice on one device (Add r,r) is copied once. */
    assert_int_equal(open_session(f, "mockdev,cpu", "Add", false, 1, &s), EMBER_OK);
    assert_int_equal(ember_session_get_copy_count(s), 2);
    ember_session_destroy(s);
}

static void test_session_results_equal_cpu_only(void **state)
{
    fixture *f = *state;
    static const char *claims[] = {"Add,Mul,Relu", "Relu", "Add", "Mul", ""};
    float x[N_X], want[N_Y], got[N_Y];
    fill_x(x, 1);
    reference_y(f, x, want);
    for (size_t i = 0; i < sizeof claims / sizeof *claims; i++) {
        ember_session *s;
        assert_int_equal(open_session(f, "mockdev,cpu", claims[i], false, 1, &s), EMBER_OK);
        run_y(s, x, got);
        assert_memory_equal(got, want, sizeof want);
        ember_session_destroy(s);
    }
}

static void test_session_strict_refuses_fallback(void **state)
{
    fixture *f = *state;
    ember_session *s;
    assert_int_equal(open_session(f, "mockdev", "Add,Mul,Relu", true, 1, &s),
                     EMBER_E_NOT_IMPLEMENTED);
    assert_non_null(strstr(ember_last_error(), "project"));
    assert_non_null(strstr(ember_last_error(), "MatMul"));
    assert_non_null(strstr(ember_last_error(), "not supported by any provider"));
    assert_int_equal(open_session(f, "mockdev,cpu", "Add,Mul,Relu", true, 1, &s),
                     EMBER_E_NOT_IMPLEMENTED);
    assert_non_null(strstr(ember_last_error(), "strict"));
}

/* ---- concurrency ------------------------------------------------------------------- */

typedef struct worker {
    ember_session *session;
    int seed;
    float want[N_Y];
    int mismatches;
} worker;

static void *run_many(void *arg)
{
    worker *w = arg;
    float x[N_X], y[N_Y];
    fill_x(x, w->seed);
    for (int i = 0; i < 200; i++) {
        run_y(w->session, x, y);
        w->mismatches += memcmp(y, w->want, sizeof y) != 0;
    }
    return NULL;
}

static void test_session_runs_from_four_threads(void **state)
{
    fixture *f = *state;
    ember_session *s;
    assert_int_equal(open_session(f, "mockdev,cpu", "Add,Relu", false, 2, &s), EMBER_OK);
    worker workers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        float x[N_X];
        workers[t] = (worker){s, t + 10, {0}, 0};
        fill_x(x, workers[t].seed);
        run_y(s, x, workers[t].want); /* single-threaded result */
    }
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, run_many, &workers[t]), 0);
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(workers[t].mismatches, 0);
    }
    ember_session_destroy(s);
}

/* ---- io binding ---------------------------------------------------------------------- */

static void test_session_io_binding_on_device(void **state)
{
    fixture *f = *state;
    static const int64_t x_dims[] = {2, 4}, y_dims[] = {2, 3};
    const ember_device mock = {MOCKDEV_TYPE, 0};
    float x[N_X], want[N_Y], got[N_Y];
    fill_x(x, 3);
    reference_y(f, x, want);
    ember_session *s;
    assert_int_equal(open_session(f, "mockdev,cpu", "Add,Mul,Relu", false, 1, &s), EMBER_OK);

    ember_value *x_host, *x_dev, *y_dev, *y_host;
    assert_int_equal(ember_value_wrap(EMBER_DTYPE_FLOAT32, x_dims, 2, x, sizeof x, host, &x_host),
                     EMBER_OK);
    assert_int_equal(ember_value_create(f->env, EMBER_DTYPE_FLOAT32, x_dims, 2, mock, &x_dev),
                     EMBER_OK);
    assert_int_equal(ember_value_copy(x_dev, x_host), EMBER_OK);
    assert_memory_not_equal(ember_value_get_data(x_dev), x, sizeof x); /* device-encoded */
    assert_int_equal(ember_value_create(f->env, EMBER_DTYPE_FLOAT32, y_dims, 2, mock, &y_dev),
                     EMBER_OK);
    assert_int_equal(ember_value_create(f->env, EMBER_DTYPE_FLOAT32, y_dims, 2, host, &y_host),
                     EMBER_OK);

    ember_io_binding *b;
    assert_int_equal(ember_io_binding_create(s, &b), EMBER_OK);
    assert_int_equal(ember_io_binding_bind_input(b, "x", x_dev), EMBER_OK);
    /* Output into a preallocated device buffer. */
    assert_int_equal(ember_io_binding_bind_output(b, "y", y_dev), EMBER_OK);
    assert_int_equal(ember_session_run_with_binding(s, NULL, b), EMBER_OK);
    assert_int_equal(ember_value_copy(y_host, y_dev), EMBER_OK);
    assert_memory_equal(ember_value_get_data(y_host), want, sizeof want);

    /* Output allocated by Ember on the device. */
    assert_int_equal(ember_io_binding_bind_output_to_device(b, "y", mock), EMBER_OK);
    assert_int_equal(ember_session_run_with_binding(s, NULL, b), EMBER_OK);
    ember_value *y_out;
    const char *name;
    assert_int_equal(ember_io_binding_get_output(b, 0, &name, &y_out), EMBER_OK);
    assert_string_equal(name, "y");
    assert_int_equal(ember_value_get_device(y_out).type, MOCKDEV_TYPE);
    assert_int_equal(ember_value_copy(y_host, y_out), EMBER_OK);
    memcpy(got, ember_value_get_data(y_host), sizeof got);
    assert_memory_equal(got, want, sizeof want);

    ember_io_binding_destroy(b);
    ember_value_destroy(y_host);
    ember_value_destroy(y_dev);
    ember_value_destroy(x_dev);
    ember_value_destroy(x_host);
    ember_session_destroy(s);
}

/* ---- errors ---------------------------------------------------------------------------- */

static ember_status run_with(ember_session *s, const char *name, ember_dtype dtype,
                             const int64_t *dims, size_t rank)
{
    static double buffer[64];
    ember_value *in, *out = NULL;
    assert_int_equal(ember_value_wrap(dtype, dims, rank, buffer, sizeof buffer, host, &in),
                     EMBER_OK);
    const char *out_name = "y";
    ember_status status = ember_session_run(s, NULL, &name, (const ember_value *const *)&in, 1,
                                            &out_name, &out, 1);
    ember_value_destroy(out);
    ember_value_destroy(in);
    return status;
}

static void test_session_rejects_bad_inputs(void **state)
{
    fixture *f = *state;
    static const int64_t good[] = {2, 4}, rank3[] = {2, 4, 1}, wide[] = {2, 5};
    ember_session *s;
    assert_int_equal(open_session(f, "cpu", "", false, 1, &s), EMBER_OK);
    assert_int_equal(run_with(s, "z", EMBER_DTYPE_FLOAT32, good, 2), EMBER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(ember_last_error(), "no input named 'z'"));
    assert_int_equal(run_with(s, "x", EMBER_DTYPE_INT64, good, 2), EMBER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(ember_last_error(), "tensor(int64)"));
    assert_non_null(strstr(ember_last_error(), "tensor(float)"));
    assert_int_equal(run_with(s, "x", EMBER_DTYPE_FLOAT32, rank3, 3), EMBER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(ember_last_error(), "rank 3"));
    assert_int_equal(run_with(s, "x", EMBER_DTYPE_FLOAT32, wide, 2), EMBER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(ember_last_error(), "dim 1 is 5"));
    ember_value *out = NULL;
    const char *out_name = "y";
    assert_int_equal(ember_session_run(s, NULL, NULL, NULL, 0, &out_name, &out, 1),
                     EMBER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(ember_last_error(), "'x' was not fed"));
    assert_null(out);
    ember_session_destroy(s);
}

static void test_session_reports_unknown_op(void **state)
{
    fixture *f = *state;
    static const int64_t dims[] = {3};
    Onnx__ModelProto *m = mb_model_single_node("FrobnicateV9", "x", "y", 17,
                                               EMBER_DTYPE_FLOAT32, 1, dims);
    size_t size;
    uint8_t *bytes = mb_model_pack(m, &size);
    ember_session *s;
    assert_int_equal(ember_session_create_from_bytes(f->env, bytes, size, NULL, NULL, &s),
                     EMBER_E_NOT_IMPLEMENTED);
    assert_non_null(strstr(ember_last_error(), "FrobnicateV9"));
    assert_non_null(strstr(ember_last_error(), "opset 17"));
    assert_non_null(strstr(ember_last_error(), "float32"));
    free(bytes);
    mb_model_destroy(m);
}

static void test_session_rejects_corrupt_and_truncated_models(void **state)
{
    fixture *f = *state;
    ember_session *s;
    for (size_t cut = 1; cut < f->model_size; cut += 7) {
        ember_status status =
            ember_session_create_from_bytes(f->env, f->model, cut, NULL, NULL, &s);
        if (status == EMBER_OK) { /* a prefix can be a valid smaller model */
            ember_session_destroy(s);
            continue;
        }
        assert_true(strlen(ember_last_error()) > 0);
    }
    uint8_t garbage[256];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)(i * 131 + 7);
    assert_int_equal(ember_session_create_from_bytes(f->env, garbage, sizeof garbage, NULL, NULL,
                                                     &s),
                     EMBER_E_INVALID_MODEL);
    assert_int_equal(ember_session_create(f->env, "/nonexistent/model.onnx", NULL, &s),
                     EMBER_E_NO_SUCH_FILE);
    assert_non_null(strstr(ember_last_error(), "/nonexistent/model.onnx"));
}

static void test_session_reports_missing_provider(void **state)
{
    fixture *f = *state;
    ember_session *s;
    assert_int_equal(open_session(f, "nosuchthing", "", true, 1, &s), EMBER_E_NO_SUCH_FILE);
    assert_non_null(strstr(ember_last_error(), "libember_provider_nosuchthing.so"));
    /* Without strict placement an unavailable provider is skipped. */
    assert_int_equal(open_session(f, "nosuchthing", "", false, 1, &s), EMBER_OK);
    assert_int_equal(ember_session_get_provider_count(s), 1);
    assert_string_equal(ember_session_get_provider_name(s, 0), "CPU");
    ember_session_destroy(s);
}

/* ---- sequences and optionals ------------------------------------------------------------ */

static void test_value_sequences_copy_their_items(void **state)
{
    (void)state;
    static const int64_t dims_a[] = {2}, dims_b[] = {3};
    float a[2] = {1, 2}, b[3] = {3, 4, 5};
    ember_value *va, *vb, *seq, *none, *empty;
    assert_int_equal(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims_a, 1, a, sizeof a, host, &va),
                     EMBER_OK);
    assert_int_equal(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims_b, 1, b, sizeof b, host, &vb),
                     EMBER_OK);
    const ember_value *items[] = {va, vb};
    assert_int_equal(ember_value_create_sequence(EMBER_DTYPE_FLOAT32, items, 2, &seq), EMBER_OK);
    a[0] = 100; /* the sequence holds copies */
    assert_int_equal(ember_value_get_kind(seq), EMBER_VALUE_SEQUENCE);
    assert_int_equal(ember_value_get_sequence_length(seq), 2);
    assert_int_equal(ember_value_get_dtype(seq), EMBER_DTYPE_FLOAT32);
    const ember_value *item = ember_value_get_sequence_item(seq, 0);
    assert_int_equal(ember_value_get_kind(item), EMBER_VALUE_TENSOR);
    assert_true(((const float *)ember_value_get_data(item))[0] == 1.0f);
    assert_int_equal(ember_value_get_element_count(ember_value_get_sequence_item(seq, 1)), 3);
    assert_null(ember_value_get_sequence_item(seq, 2));
    assert_int_equal(ember_value_create_sequence(EMBER_DTYPE_INT64, items, 2, &empty),
                     EMBER_E_INVALID_ARGUMENT);
    assert_int_equal(ember_value_create_sequence(EMBER_DTYPE_INT64, NULL, 0, &empty), EMBER_OK);
    assert_int_equal(ember_value_get_sequence_length(empty), 0);
    assert_int_equal(ember_value_get_dtype(empty), EMBER_DTYPE_INT64);
    assert_int_equal(ember_value_create_none(&none), EMBER_OK);
    assert_int_equal(ember_value_get_kind(none), EMBER_VALUE_NONE);
    assert_int_equal(ember_value_get_element_count(none), 0);
    ember_value_destroy(none);
    ember_value_destroy(empty);
    ember_value_destroy(seq);
    ember_value_destroy(vb);
    ember_value_destroy(va);
}

/* ---- allocation failures ------------------------------------------------------------------ */

/* Creates a session and runs it with the Nth allocation failing, for
 * every N until one attempt succeeds: each failure must be a clean
 * status with a message (ASan checks that nothing leaks). */
static void test_session_survives_every_allocation_failure(void **state)
{
    fixture *f = *state;
    static const int64_t dims[] = {2, 4};
    float x[N_X];
    fill_x(x, 5);
    int n_failures = 0;
    for (long n = 0;; n++) {
        failing_alloc_begin(n);
        ember_env *env = NULL;
        ember_session *s = NULL;
        ember_value *in = NULL, *out = NULL;
        ember_status status = ember_env_create(&env);
        if (status == EMBER_OK)
            status = ember_session_create_from_bytes(env, f->model, f->model_size, NULL, NULL, &s);
        if (status == EMBER_OK)
            status = ember_value_wrap(EMBER_DTYPE_FLOAT32, dims, 2, x, sizeof x, host, &in);
        const char *in_name = "x", *out_name = "y";
        if (status == EMBER_OK)
            status = ember_session_run(s, NULL, &in_name, (const ember_value *const *)&in, 1,
                                       &out_name, &out, 1);
        if (status != EMBER_OK) {
            assert_true(strlen(ember_last_error()) > 0);
            n_failures++;
        }
        ember_value_destroy(out);
        ember_value_destroy(in);
        ember_session_destroy(s);
        ember_env_destroy(env);
        failing_alloc_end();
        if (status == EMBER_OK)
            break;
        assert_true(n < 100000);
    }
    assert_true(n_failures > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_priority_decides_placement),
        cmocka_unit_test(test_session_inserts_copies_only_at_boundaries),
        cmocka_unit_test(test_session_results_equal_cpu_only),
        cmocka_unit_test(test_session_strict_refuses_fallback),
        cmocka_unit_test(test_session_runs_from_four_threads),
        cmocka_unit_test(test_session_io_binding_on_device),
        cmocka_unit_test(test_session_rejects_bad_inputs),
        cmocka_unit_test(test_session_reports_unknown_op),
        cmocka_unit_test(test_session_rejects_corrupt_and_truncated_models),
        cmocka_unit_test(test_session_reports_missing_provider),
        cmocka_unit_test(test_value_sequences_copy_their_items),
        cmocka_unit_test(test_session_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests_name("api", tests, setup, teardown);
}
