/*
 * Provider groups (ABI 1.1) through the public API, with the MockGroup
 * plugin (tests/plugins/mock_group.c) first and the CPU provider second:
 * which runs of nodes are offered, with which inputs and outputs, that
 * accepted groups give the right numbers, and that a declined group, a
 * session at EMBER_OPT_DISABLED, subgraphs and concurrent runs behave.
 * The mock's exported test hooks say what it was offered and what ran.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failing_alloc.h"
#include "ember/ember.h"
#include "model_builder.h"

#define N 6 /* every float value of the models is [2,3] */
#define MAX_IDS 16
#define TRIPS 3 /* iterations of the Loop model */

static const ember_device host = {EMBER_DEVICE_CPU, 0};
static const int64_t dims_23[] = {2, 3};
static const float c1[3] = {0.5f, -1.0f, 0.25f};                  /* [3], broadcast */
static const float c2[N] = {1.5f, -2.0f, 0.5f, 3.0f, 0.25f, -1.0f}; /* [2,3] */

/* ---- the mock's hooks ---------------------------------------------------------------- */

typedef struct mock_hooks {
    void *handle;
    void (*reset)(void);
    size_t (*offer_count)(void);
    const char *(*offer_ops)(size_t index);
    const char *(*offer_names)(size_t index);
    size_t (*offer_values)(size_t index, bool outputs, int64_t *ids, size_t cap);
    int64_t (*node_value)(const char *name, bool output, size_t index);
    long (*group_runs)(void);
    long (*node_runs)(void);
    long (*freed_inputs)(void);
    long (*create_threads)(void);
} mock_hooks;

static mock_hooks mock;

static void *hook(const char *name)
{
    void *fn = dlsym(mock.handle, name);
    if (!fn)
        fail_msg("libember_provider_mockgroup.so does not export %s", name);
    return fn;
}

/* Opens the plugin the sessions load (the same file, so the same
 * globals) and keeps it mapped for the whole run. */
static void open_hooks(void)
{
    const char *dir = getenv("EMBER_TEST_PLUGIN_DIR");
    if (!dir)
        fail_msg("EMBER_TEST_PLUGIN_DIR is not set; run the tests through meson test");
    char path[4096];
    snprintf(path, sizeof path, "%s/libember_provider_mockgroup.so", dir);
    mock.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!mock.handle)
        fail_msg("cannot open %s: %s", path, dlerror());
    *(void **)&mock.reset = hook("mock_group_reset");
    *(void **)&mock.offer_count = hook("mock_group_offer_count");
    *(void **)&mock.offer_ops = hook("mock_group_offer_ops");
    *(void **)&mock.offer_names = hook("mock_group_offer_names");
    *(void **)&mock.offer_values = hook("mock_group_offer_values");
    *(void **)&mock.node_value = hook("mock_group_node_value");
    *(void **)&mock.group_runs = hook("mock_group_run_count");
    *(void **)&mock.node_runs = hook("mock_group_node_run_count");
    *(void **)&mock.freed_inputs = hook("mock_group_freed_input_count");
    *(void **)&mock.create_threads = hook("mock_group_create_threads");
}

/* ---- fixture ------------------------------------------------------------------------- */

static ember_env *env;

static int setup_all(void **state)
{
    (void)state;
    open_hooks();
    return ember_env_create(&env) == EMBER_OK ? 0 : -1;
}

static int teardown_all(void **state)
{
    (void)state;
    ember_env_destroy(env);
    if (mock.handle)
        dlclose(mock.handle);
    return 0;
}

static int reset_mock(void **state)
{
    (void)state;
    mock.reset();
    return 0;
}

/* ---- models -------------------------------------------------------------------------- */

static void add_constants(Onnx__GraphProto *g)
{
    static const int64_t c1_dims[] = {3};
    mb_graph_add_initializer(g, mb_tensor_create("c1", EMBER_DTYPE_FLOAT32, 1, c1_dims, c1,
                                                 sizeof c1));
    mb_graph_add_initializer(g, mb_tensor_create("c2", EMBER_DTYPE_FLOAT32, 2, dims_23, c2,
                                                 sizeof c2));
}

static uint8_t *pack(Onnx__ModelProto *m, size_t *size)
{
    uint8_t *bytes = mb_model_pack(m, size);
    mb_model_destroy(m);
    return bytes;
}

/* x -> Add(x,c1) -> a -> Relu -> r -> Mul(r,c2) -> y; with r_out, r is a
 * graph output too. */
static uint8_t *chain_model(bool r_out, size_t *size)
{
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims_23);
    if (r_out)
        mb_graph_add_output(g, "r", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims_23);
    add_constants(g);
    mb_graph_add_node(g, "Add", "add", "x,c1", "a");
    mb_graph_add_node(g, "Relu", "relu", "a", "r");
    mb_graph_add_node(g, "Mul", "mul", "r,c2", "y");
    return pack(m, size);
}

/* As the chain, but r is also read by a Sigmoid (the CPU's) that comes
 * between Relu and Mul in node order: y = Mul(r,c2) + Sigmoid(r). */
static uint8_t *split_model(size_t *size)
{
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims_23);
    add_constants(g);
    mb_graph_add_node(g, "Add", "add", "x,c1", "a");
    mb_graph_add_node(g, "Relu", "relu", "a", "r");
    mb_graph_add_node(g, "Sigmoid", "sigmoid", "r", "s");
    mb_graph_add_node(g, "Mul", "mul", "r,c2", "m");
    mb_graph_add_node(g, "Add", "add_out", "m,s", "y");
    return pack(m, size);
}

/* The chain with a Sigmoid (the CPU's) reading r after the group:
 * outputs y and s = Sigmoid(r). */
static uint8_t *late_reader_model(size_t *size)
{
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(g, "s", EMBER_DTYPE_FLOAT32, 2, dims_23);
    add_constants(g);
    mb_graph_add_node(g, "Add", "add", "x,c1", "a");
    mb_graph_add_node(g, "Relu", "relu", "a", "r");
    mb_graph_add_node(g, "Mul", "mul", "r,c2", "y");
    mb_graph_add_node(g, "Sigmoid", "sigmoid", "r", "s");
    return pack(m, size);
}

/* x read by three members: y = Mul(Add(Mul(x,x),c1),x). */
static uint8_t *shared_input_model(size_t *size)
{
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims_23);
    add_constants(g);
    mb_graph_add_node(g, "Mul", "square", "x,x", "q");
    mb_graph_add_node(g, "Add", "shift", "q,c1", "p");
    mb_graph_add_node(g, "Mul", "cube", "p,x", "y");
    return pack(m, size);
}

/* v = x; TRIPS times v = Mul(Relu(Add(v,c1)),c2) in a Loop body that
 * captures c1 and c2 from the main graph; y = v. */
static Onnx__GraphProto *loop_body(void)
{
    static const int64_t scalar[] = {0};
    Onnx__GraphProto *body = mb_graph_create("body");
    mb_graph_add_input(body, "iter", EMBER_DTYPE_INT64, 0, scalar);
    mb_graph_add_input(body, "cond_in", EMBER_DTYPE_BOOL, 0, scalar);
    mb_graph_add_input(body, "v_in", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(body, "cond_out", EMBER_DTYPE_BOOL, 0, scalar);
    mb_graph_add_output(body, "v_out", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_node(body, "Identity", "keep_going", "cond_in", "cond_out");
    mb_graph_add_node(body, "Add", "body_add", "v_in,c1", "ba");
    mb_graph_add_node(body, "Relu", "body_relu", "ba", "br");
    mb_graph_add_node(body, "Mul", "body_mul", "br,c2", "v_out");
    return body;
}

static uint8_t *loop_model(size_t *size)
{
    static const int64_t trips = TRIPS;
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims_23);
    add_constants(g);
    mb_graph_add_initializer(g, mb_tensor_create("M", EMBER_DTYPE_INT64, 0, NULL, &trips,
                                                 sizeof trips));
    Onnx__NodeProto *loop = mb_graph_add_node(g, "Loop", "loop", "M,,x", "y");
    mb_attr_graph(loop, "body", loop_body());
    return pack(m, size);
}

/* r = Relu(Add(x,c1)) in the main graph; y = If(flag) then
 * Add(Mul(r,c2),c1) else Mul(r,c1); both branches capture r. */
static uint8_t *if_model(size_t *size)
{
    static const int64_t scalar[] = {0};
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_input(g, "flag", EMBER_DTYPE_BOOL, 0, scalar);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims_23);
    add_constants(g);
    mb_graph_add_node(g, "Add", "add", "x,c1", "a");
    mb_graph_add_node(g, "Relu", "relu", "a", "r");
    Onnx__GraphProto *then_branch = mb_graph_create("then");
    mb_graph_add_output(then_branch, "t2", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_node(then_branch, "Mul", "then_mul", "r,c2", "t1");
    mb_graph_add_node(then_branch, "Add", "then_add", "t1,c1", "t2");
    Onnx__GraphProto *else_branch = mb_graph_create("else");
    mb_graph_add_output(else_branch, "e1", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_node(else_branch, "Mul", "else_mul", "r,c1", "e1");
    Onnx__NodeProto *branch = mb_graph_add_node(g, "If", "branch", "flag", "y");
    mb_attr_graph(branch, "then_branch", then_branch);
    mb_attr_graph(branch, "else_branch", else_branch);
    return pack(m, size);
}

/* c2 read by the mock's Mul and by the CPU's Sub: y = Sub(Mul(Add(x,c1),c2),c2). */
static uint8_t *shared_constant_model(size_t *size)
{
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims_23);
    add_constants(g);
    mb_graph_add_node(g, "Add", "add", "x,c1", "a");
    mb_graph_add_node(g, "Mul", "mul", "a,c2", "m");
    mb_graph_add_node(g, "Sub", "sub", "m,c2", "y");
    return pack(m, size);
}

/* ---- reference numbers --------------------------------------------------------------- */

static void fill_x(float *x, int seed)
{
    for (int i = 0; i < N; i++)
        x[i] = (float)((i * 7 + seed * 3) % 11) * 0.5f - 2.5f;
}

static float sigmoid(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

static float relu_add(const float *x, int i)
{
    float a = x[i] + c1[i % 3];
    return a > 0.0f ? a : 0.0f;
}

static void want_chain(const float *x, float *r, float *y)
{
    for (int i = 0; i < N; i++) {
        r[i] = relu_add(x, i);
        y[i] = r[i] * c2[i];
    }
}

static void want_split(const float *x, float *y)
{
    for (int i = 0; i < N; i++) {
        float r = relu_add(x, i);
        y[i] = r * c2[i] + sigmoid(r);
    }
}

static void want_loop(const float *x, float *y)
{
    memcpy(y, x, N * sizeof *y);
    for (int t = 0; t < TRIPS; t++)
        for (int i = 0; i < N; i++) {
            float a = y[i] + c1[i % 3];
            y[i] = (a > 0.0f ? a : 0.0f) * c2[i];
        }
}

static void want_if(const float *x, bool flag, float *y)
{
    for (int i = 0; i < N; i++) {
        float r = relu_add(x, i);
        y[i] = flag ? r * c2[i] + c1[i % 3] : r * c1[i % 3];
    }
}

static void assert_near(const float *got, const float *want)
{
    for (int i = 0; i < N; i++)
        if (fabsf(got[i] - want[i]) > 1e-5f * (1.0f + fabsf(want[i])))
            fail_msg("element %d: got %.9g, want %.9g", i, (double)got[i], (double)want[i]);
}

static void want_shared_input(const float *x, float *y)
{
    for (int i = 0; i < N; i++)
        y[i] = (x[i] * x[i] + c1[i % 3]) * x[i];
}

/* ---- sessions and runs --------------------------------------------------------------- */

typedef struct session_spec {
    const uint8_t *model;
    size_t size;
    const char *option;  /* a MockGroup option "key=value", or NULL */
    bool is_unoptimized; /* EMBER_OPT_DISABLED */
    int threads;
} session_spec;

static ember_status try_session(const session_spec *spec, ember_session **out)
{
    ember_session_options *opts;
    assert_int_equal(ember_session_options_create(&opts), EMBER_OK);
    char key[32] = "", *value = key;
    if (spec->option) {
        snprintf(key, sizeof key, "%s", spec->option);
        value = strchr(key, '=');
        assert_non_null(value);
        *value++ = '\0';
    }
    const char *keys[] = {key}, *values[] = {value};
    assert_int_equal(ember_session_options_append_provider(opts, "MockGroup", keys, values,
                                                           spec->option ? 1 : 0),
                     EMBER_OK);
    assert_int_equal(ember_session_options_append_provider(opts, "CPU", NULL, NULL, 0),
                     EMBER_OK);
    ember_session_options_set_intra_op_threads(opts, spec->threads ? spec->threads : 1);
    if (spec->is_unoptimized)
        ember_session_options_set_opt_level(opts, EMBER_OPT_DISABLED);
    ember_status status =
        ember_session_create_from_bytes(env, spec->model, spec->size, NULL, opts, out);
    ember_session_options_destroy(opts);
    return status;
}

static ember_session *open_session(const session_spec *spec)
{
    ember_session *s = NULL;
    if (try_session(spec, &s) != EMBER_OK)
        fail_msg("session creation failed: %s", ember_last_error());
    return s;
}

/* Runs with input x (and `flag` when flag is not NULL) and copies each of
 * the n_out [2,3] outputs named out_names into outs[i]. */
static void run_session(ember_session *s, const float *x, const bool *flag,
                        const char *const *out_names, size_t n_out, float (*outs)[N])
{
    static const int64_t scalar[] = {0};
    ember_value *in[2] = {NULL, NULL}, *out[2] = {NULL, NULL};
    uint8_t flag_byte = flag && *flag;
    const char *in_names[] = {"x", "flag"};
    assert_int_equal(ember_value_wrap(EMBER_DTYPE_FLOAT32, dims_23, 2, (void *)x,
                                      N * sizeof *x, host, &in[0]),
                     EMBER_OK);
    if (flag)
        assert_int_equal(ember_value_wrap(EMBER_DTYPE_BOOL, scalar, 0, &flag_byte, 1, host,
                                          &in[1]),
                         EMBER_OK);
    ember_status status = ember_session_run(s, NULL, in_names, (const ember_value *const *)in,
                                            flag ? 2 : 1, out_names, out, n_out);
    if (status != EMBER_OK)
        fail_msg("run failed: %s", ember_last_error());
    for (size_t i = 0; i < n_out; i++) {
        assert_int_equal(ember_value_get_element_count(out[i]), N);
        memcpy(outs[i], ember_value_get_data(out[i]), N * sizeof(float));
        ember_value_destroy(out[i]);
    }
    ember_value_destroy(in[1]);
    ember_value_destroy(in[0]);
}

static void run_y(ember_session *s, const float *x, float *y)
{
    static const char *const name[] = {"y"};
    float out[1][N];
    run_session(s, x, NULL, name, 1, out);
    memcpy(y, out[0], sizeof out[0]);
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

/* ---- what was offered ---------------------------------------------------------------- */

/* The value id of input (or output) `index` of `node`, as claim saw it. */
static int64_t value_of(const char *node, bool output, size_t index)
{
    int64_t id = mock.node_value(node, output, index);
    if (id < 0)
        fail_msg("MockGroup saw no value id for %s %zu of node %s (got %lld)",
                 output ? "output" : "input", index, node, (long long)id);
    return id;
}

static size_t find_offer(const char *ops)
{
    for (size_t i = 0; i < mock.offer_count(); i++)
        if (strcmp(mock.offer_ops(i), ops) == 0)
            return i;
    fail_msg("no group %s was offered (%zu offers)", ops, mock.offer_count());
    return 0;
}

static void assert_values(size_t offer, bool outputs, const int64_t *want, size_t n_want)
{
    int64_t got[MAX_IDS];
    size_t n = mock.offer_values(offer, outputs, got, MAX_IDS);
    if (n != n_want)
        fail_msg("group %s has %zu %s, want %zu", mock.offer_ops(offer), n,
                 outputs ? "outputs" : "inputs", n_want);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("group %s: %s %zu is value %lld, want %lld", mock.offer_ops(offer),
                     outputs ? "output" : "input", i, (long long)got[i], (long long)want[i]);
}

/* The offer of `ops` (member names `names`) has exactly these inputs and
 * outputs, in this order. */
static void assert_offer(const char *ops, const char *names, const int64_t *inputs,
                         size_t n_inputs, const int64_t *outputs, size_t n_outputs)
{
    size_t offer = find_offer(ops);
    assert_string_equal(mock.offer_names(offer), names);
    assert_values(offer, false, inputs, n_inputs);
    assert_values(offer, true, outputs, n_outputs);
}

/* ---- tests: one group ---------------------------------------------------------------- */

static void test_groups_chain_is_one_group(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = chain_model(false, &size);
    ember_session *s = open_session(&(session_spec){model, size, NULL, false, 1});
    assert_string_equal(provider_of(s, "add"), "MockGroup");
    assert_string_equal(provider_of(s, "relu"), "MockGroup");
    assert_string_equal(provider_of(s, "mul"), "MockGroup");
    assert_int_equal(mock.offer_count(), 1);
    /* Inputs in the order members first read them; a (and r) connect
     * members only and have no slot. */
    int64_t inputs[] = {value_of("add", false, 0), value_of("add", false, 1),
                        value_of("mul", false, 1)};
    int64_t outputs[] = {value_of("mul", true, 0)};
    assert_int_equal(value_of("add", true, 0), value_of("relu", false, 0));
    assert_int_equal(value_of("relu", true, 0), value_of("mul", false, 0));
    assert_offer("Add,Relu,Mul", "add,relu,mul", inputs, 3, outputs, 1);

    float x[N], r[N], want[N], got[N];
    for (int run = 0; run < 2; run++) {
        fill_x(x, run);
        want_chain(x, r, want);
        run_y(s, x, got);
        assert_near(got, want);
        assert_int_equal(mock.group_runs(), run + 1);
    }
    assert_int_equal(mock.node_runs(), 0);
    ember_session_destroy(s);
    free(model);
}

/* ---- tests: where groups end --------------------------------------------------------- */

static void test_groups_export_intermediate_graph_output(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = chain_model(true, &size);
    ember_session *s = open_session(&(session_spec){model, size, NULL, false, 1});
    assert_int_equal(mock.offer_count(), 1);
    int64_t inputs[] = {value_of("add", false, 0), value_of("add", false, 1),
                        value_of("mul", false, 1)};
    int64_t outputs[] = {value_of("relu", true, 0), value_of("mul", true, 0)};
    assert_offer("Add,Relu,Mul", "add,relu,mul", inputs, 3, outputs, 2);

    static const char *const names[] = {"r", "y"};
    float x[N], want_r[N], want_y[N], got[2][N];
    fill_x(x, 4);
    want_chain(x, want_r, want_y);
    run_session(s, x, NULL, names, 2, got);
    assert_near(got[0], want_r);
    assert_near(got[1], want_y);
    assert_int_equal(mock.group_runs(), 1);
    assert_int_equal(mock.node_runs(), 0);
    ember_session_destroy(s);
    free(model);
}

static void test_groups_split_at_unclaimed_reader(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = split_model(&size);
    ember_session *s = open_session(&(session_spec){model, size, NULL, false, 1});
    assert_string_equal(provider_of(s, "sigmoid"), "CPU");
    assert_int_equal(mock.offer_count(), 2);
    /* r leaves the first group: Sigmoid and the second group read it. */
    int64_t first_in[] = {value_of("add", false, 0), value_of("add", false, 1)};
    int64_t first_out[] = {value_of("relu", true, 0)};
    assert_offer("Add,Relu", "add,relu", first_in, 2, first_out, 1);
    int64_t second_in[] = {value_of("relu", true, 0), value_of("mul", false, 1),
                           value_of("sigmoid", true, 0)};
    int64_t second_out[] = {value_of("add_out", true, 0)};
    assert_int_equal(value_of("mul", false, 0), value_of("relu", true, 0));
    assert_offer("Mul,Add", "mul,add_out", second_in, 3, second_out, 1);

    float x[N], want[N], got[N];
    fill_x(x, 2);
    want_split(x, want);
    run_y(s, x, got);
    assert_near(got, want);
    assert_int_equal(mock.group_runs(), 2);
    assert_int_equal(mock.node_runs(), 0);
    ember_session_destroy(s);
    free(model);
}

static void test_groups_export_value_read_after_group(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = late_reader_model(&size);
    ember_session *s = open_session(&(session_spec){model, size, NULL, false, 1});
    assert_string_equal(provider_of(s, "sigmoid"), "CPU");
    assert_int_equal(mock.offer_count(), 1);
    int64_t inputs[] = {value_of("add", false, 0), value_of("add", false, 1),
                        value_of("mul", false, 1)};
    int64_t outputs[] = {value_of("relu", true, 0), value_of("mul", true, 0)};
    assert_int_equal(value_of("sigmoid", false, 0), value_of("relu", true, 0));
    assert_offer("Add,Relu,Mul", "add,relu,mul", inputs, 3, outputs, 2);

    static const char *const names[] = {"y", "s"};
    float x[N], r[N], want_y[N], want_s[N], got[2][N];
    fill_x(x, 6);
    want_chain(x, r, want_y);
    for (int i = 0; i < N; i++)
        want_s[i] = sigmoid(r[i]);
    run_session(s, x, NULL, names, 2, got);
    assert_near(got[0], want_y);
    assert_near(got[1], want_s);
    assert_int_equal(mock.group_runs(), 1);
    ember_session_destroy(s);
    free(model);
}

static void test_groups_list_shared_input_once(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = shared_input_model(&size);
    ember_session *s = open_session(&(session_spec){model, size, NULL, false, 1});
    assert_int_equal(mock.offer_count(), 1);
    int64_t x_id = value_of("square", false, 0);
    assert_int_equal(value_of("square", false, 1), x_id);
    assert_int_equal(value_of("cube", false, 1), x_id);
    int64_t inputs[] = {x_id, value_of("shift", false, 1)};
    int64_t outputs[] = {value_of("cube", true, 0)};
    assert_offer("Mul,Add,Mul", "square,shift,cube", inputs, 2, outputs, 1);

    float x[N], want[N], got[N];
    fill_x(x, 9);
    want_shared_input(x, want);
    run_y(s, x, got);
    assert_near(got, want);
    assert_int_equal(mock.group_runs(), 1);
    assert_int_equal(mock.node_runs(), 0);
    ember_session_destroy(s);
    free(model);
}

/* ---- tests: no group kernel ---------------------------------------------------------- */

static void test_groups_declined_runs_node_by_node(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = chain_model(false, &size);
    ember_session *grouped = open_session(&(session_spec){model, size, NULL, false, 1});
    ember_session *declined =
        open_session(&(session_spec){model, size, "decline=1", false, 1});
    assert_int_equal(mock.offer_count(), 2); /* one per session */
    assert_string_equal(mock.offer_ops(1), "Add,Relu,Mul");

    float x[N], r[N], want[N], by_group[N], by_node[N];
    fill_x(x, 7);
    want_chain(x, r, want);
    run_y(declined, x, by_node);
    assert_int_equal(mock.group_runs(), 0);
    assert_int_equal(mock.node_runs(), 3);
    run_y(grouped, x, by_group);
    assert_int_equal(mock.group_runs(), 1);
    assert_int_equal(mock.node_runs(), 3);
    assert_near(by_node, want);
    assert_memory_equal(by_node, by_group, sizeof by_group);
    ember_session_destroy(declined);
    ember_session_destroy(grouped);
    free(model);
}

static void test_groups_not_offered_when_optimization_disabled(void **state)
{
    (void)state;
    size_t sizes[2];
    uint8_t *models[2] = {split_model(&sizes[0]), loop_model(&sizes[1])};
    float x[N], want[N], got[N];
    fill_x(x, 3);

    ember_session *s = open_session(&(session_spec){models[0], sizes[0], NULL, true, 1});
    run_y(s, x, got);
    want_split(x, want);
    assert_near(got, want);
    assert_int_equal(mock.node_runs(), 4); /* add, relu, mul, add_out */
    ember_session_destroy(s);

    s = open_session(&(session_spec){models[1], sizes[1], NULL, true, 1});
    run_y(s, x, got);
    want_loop(x, want);
    assert_near(got, want);
    assert_int_equal(mock.node_runs(), 4 + 3 * TRIPS);
    ember_session_destroy(s);

    assert_int_equal(mock.offer_count(), 0);
    assert_int_equal(mock.group_runs(), 0);
    free(models[1]);
    free(models[0]);
}

/* ---- tests: subgraphs ---------------------------------------------------------------- */

static void test_groups_offered_in_loop_body(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = loop_model(&size);
    ember_session *s = open_session(&(session_spec){model, size, NULL, false, 1});
    assert_int_equal(mock.offer_count(), 1);
    /* Value ids of the body: v_in is the body's input, c1 and c2 are
     * captured from the main graph. */
    int64_t inputs[] = {value_of("body_add", false, 0), value_of("body_add", false, 1),
                        value_of("body_mul", false, 1)};
    int64_t outputs[] = {value_of("body_mul", true, 0)};
    assert_offer("Add,Relu,Mul", "body_add,body_relu,body_mul", inputs, 3, outputs, 1);

    float x[N], want[N], got[N];
    for (int run = 0; run < 2; run++) {
        fill_x(x, 5 + run);
        want_loop(x, want);
        run_y(s, x, got);
        assert_near(got, want);
        assert_int_equal(mock.group_runs(), (run + 1) * TRIPS);
    }
    assert_int_equal(mock.node_runs(), 0);
    ember_session_destroy(s);
    free(model);
}

static void test_groups_offered_in_if_branch(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = if_model(&size);
    ember_session *s = open_session(&(session_spec){model, size, NULL, false, 1});
    assert_int_equal(mock.offer_count(), 2);
    /* The main graph's group exports r, which both branches capture. */
    int64_t main_in[] = {value_of("add", false, 0), value_of("add", false, 1)};
    int64_t main_out[] = {value_of("relu", true, 0)};
    assert_offer("Add,Relu", "add,relu", main_in, 2, main_out, 1);
    int64_t then_in[] = {value_of("then_mul", false, 0), value_of("then_mul", false, 1),
                         value_of("then_add", false, 1)};
    int64_t then_out[] = {value_of("then_add", true, 0)};
    assert_offer("Mul,Add", "then_mul,then_add", then_in, 3, then_out, 1);

    static const char *const name[] = {"y"};
    float x[N], want[N], got[1][N];
    fill_x(x, 8);
    for (int flag = 1; flag >= 0; flag--) {
        bool is_then = flag == 1;
        want_if(x, is_then, want);
        run_session(s, x, &is_then, name, 1, got);
        assert_near(got[0], want);
    }
    assert_int_equal(mock.group_runs(), 3);  /* main twice, then once */
    assert_int_equal(mock.node_runs(), 1);   /* else_mul */
    ember_session_destroy(s);
    free(model);
}

/* ---- tests: failures ----------------------------------------------------------------- */

static void test_groups_failing_group_create_fails_session(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = split_model(&size);
    ember_session *s = NULL;
    assert_int_equal(try_session(&(session_spec){model, size, "fail=1", false, 1}, &s),
                     EMBER_E_INVALID_ARGUMENT);
    assert_null(s);
    assert_non_null(strstr(ember_last_error(), "option fail=1"));
    assert_non_null(strstr(ember_last_error(), "'add'"));
    free(model);
}

/* One attempt at env, session (groups in the main graph and in a branch)
 * and a run, with allocations failing after `budget`. */
static ember_status attempt_with_budget(const uint8_t *model, size_t size, long budget,
                                        float *y)
{
    static const int64_t scalar[] = {0};
    float x[N];
    uint8_t flag = 1;
    fill_x(x, 11);
    failing_alloc_begin(budget);
    ember_env *own_env = NULL;
    ember_session_options *opts = NULL;
    ember_session *s = NULL;
    ember_value *in[2] = {NULL, NULL}, *out = NULL;
    ember_status status = ember_env_create(&own_env);
    if (status == EMBER_OK)
        status = ember_session_options_create(&opts);
    if (status == EMBER_OK)
        status = ember_session_options_append_provider(opts, "MockGroup", NULL, NULL, 0);
    if (status == EMBER_OK)
        status = ember_session_options_append_provider(opts, "CPU", NULL, NULL, 0);
    if (status == EMBER_OK)
        status = ember_session_create_from_bytes(own_env, model, size, NULL, opts, &s);
    if (status == EMBER_OK)
        status = ember_value_wrap(EMBER_DTYPE_FLOAT32, dims_23, 2, x, sizeof x, host, &in[0]);
    if (status == EMBER_OK)
        status = ember_value_wrap(EMBER_DTYPE_BOOL, scalar, 0, &flag, 1, host, &in[1]);
    const char *in_names[] = {"x", "flag"}, *out_name = "y";
    if (status == EMBER_OK)
        status = ember_session_run(s, NULL, in_names, (const ember_value *const *)in, 2,
                                   &out_name, &out, 1);
    if (status == EMBER_OK)
        memcpy(y, ember_value_get_data(out), N * sizeof *y);
    else
        assert_true(strlen(ember_last_error()) > 0);
    ember_value_destroy(out);
    ember_value_destroy(in[1]);
    ember_value_destroy(in[0]);
    ember_session_destroy(s);
    ember_session_options_destroy(opts);
    ember_env_destroy(own_env);
    failing_alloc_end();
    return status;
}

static void test_groups_survive_every_allocation_failure(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = if_model(&size);
    int n_failures = 0;
    float x[N], want[N], got[N];
    fill_x(x, 11);
    want_if(x, true, want);
    for (long n = 0;; n++) {
        assert_true(n < 100000);
        if (attempt_with_budget(model, size, n, got) == EMBER_OK)
            break;
        n_failures++;
    }
    assert_near(got, want);
    assert_true(n_failures > 20);
    assert_true(mock.group_runs() >= 2);
    free(model);
}

/* ---- tests: concurrency -------------------------------------------------------------- */

#define RUNS_PER_THREAD 50

typedef struct worker {
    ember_session *session;
    int seed;
    float want[N];
    int mismatches;
} worker;

static void *run_many(void *arg)
{
    worker *w = arg;
    float x[N], y[N];
    fill_x(x, w->seed);
    for (int i = 0; i < RUNS_PER_THREAD; i++) {
        run_y(w->session, x, y);
        w->mismatches += memcmp(y, w->want, sizeof y) != 0;
    }
    return NULL;
}

static void test_groups_run_from_four_threads(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = split_model(&size);
    ember_session *s = open_session(&(session_spec){model, size, NULL, false, 2});
    assert_int_equal(mock.offer_count(), 2);
    worker workers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        float x[N], want[N];
        workers[t] = (worker){s, t + 10, {0}, 0};
        fill_x(x, workers[t].seed);
        run_y(s, x, workers[t].want); /* single-threaded result */
        want_split(x, want);
        assert_near(workers[t].want, want);
    }
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, run_many, &workers[t]), 0);
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(workers[t].mismatches, 0);
    }
    assert_int_equal(mock.group_runs(), 2 * 4 * (RUNS_PER_THREAD + 1));
    assert_int_equal(mock.node_runs(), 0);
    ember_session_destroy(s);
    free(model);
}

/* ---- constants a kernel copied (ABI 1.2) --------------------------------------------- */

/* Kernels that copy their constants and release them (node_input_release)
 * run on their copies: the core freed c1 and c2 (both arrive with data
 * NULL) and the numbers are right; kernel_create was told the session's
 * thread count. */
static void test_released_constants_are_freed(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = chain_model(false, &size);
    session_spec spec = {model, size, "copy_constants=1", true, 3};
    ember_session *s = open_session(&spec);
    float x[N], y[N], r[N], want[N];
    fill_x(x, 1);
    want_chain(x, r, want);
    run_y(s, x, y);
    assert_near(y, want);
    assert_int_equal(mock.freed_inputs(), 2);
    assert_int_equal(mock.create_threads(), 3);
    ember_session_destroy(s);
    free(model);
}

/* A constant another kernel still reads (the CPU's Sub reads c2) stays:
 * only c1 is freed. */
static void test_constant_read_elsewhere_is_kept(void **state)
{
    (void)state;
    size_t size;
    uint8_t *model = shared_constant_model(&size);
    session_spec spec = {model, size, "copy_constants=1", true, 1};
    ember_session *s = open_session(&spec);
    assert_string_equal(provider_of(s, "sub"), "CPU");
    float x[N], y[N], want[N];
    fill_x(x, 2);
    for (int i = 0; i < N; i++)
        want[i] = (x[i] + c1[i % 3]) * c2[i] - c2[i];
    run_y(s, x, y);
    assert_near(y, want);
    assert_int_equal(mock.freed_inputs(), 1);
    ember_session_destroy(s);
    free(model);
}

/* c2 read by MockGroup's Add (which releases it) and by mockdev's Mul (a
 * copy uploaded to the other device at prepare): it stays, and both get it.
 * y = Sigmoid(Mul(Add(x,c2),c2)), the Sigmoid on the CPU. */
static void test_constant_copied_to_a_device_is_kept(void **state)
{
    (void)state;
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, dims_23);
    mb_graph_add_output(g, "y", EMBER_DTYPE_FLOAT32, 2, dims_23);
    add_constants(g);
    mb_graph_add_node(g, "Add", "add", "x,c2", "a");
    mb_graph_add_node(g, "Mul", "mul", "a,c2", "p");
    mb_graph_add_node(g, "Sigmoid", "sig", "p", "y");
    size_t size;
    uint8_t *model = pack(m, &size);
    ember_session_options *opts;
    assert_int_equal(ember_session_options_create(&opts), EMBER_OK);
    const char *claim_key[] = {"claim"}, *claim_value[] = {"Mul"};
    const char *copy_key[] = {"copy_constants"}, *copy_value[] = {"1"};
    assert_int_equal(ember_session_options_append_provider(opts, "mockdev", claim_key,
                                                           claim_value, 1),
                     EMBER_OK);
    assert_int_equal(ember_session_options_append_provider(opts, "MockGroup", copy_key,
                                                           copy_value, 1),
                     EMBER_OK);
    ember_session_options_set_opt_level(opts, EMBER_OPT_DISABLED);
    ember_session *s = NULL;
    if (ember_session_create_from_bytes(env, model, size, NULL, opts, &s) != EMBER_OK)
        fail_msg("session creation failed: %s", ember_last_error());
    ember_session_options_destroy(opts);
    assert_string_equal(provider_of(s, "add"), "MockGroup");
    assert_string_equal(provider_of(s, "mul"), "MOCKDEV");
    float x[N], y[N], want[N];
    fill_x(x, 3);
    for (int i = 0; i < N; i++)
        want[i] = sigmoid((x[i] + c2[i]) * c2[i]);
    run_y(s, x, y);
    assert_near(y, want);
    assert_int_equal(mock.freed_inputs(), 0);
    ember_session_destroy(s);
    free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_groups_chain_is_one_group, reset_mock),
        cmocka_unit_test_setup(test_groups_export_intermediate_graph_output, reset_mock),
        cmocka_unit_test_setup(test_groups_split_at_unclaimed_reader, reset_mock),
        cmocka_unit_test_setup(test_groups_export_value_read_after_group, reset_mock),
        cmocka_unit_test_setup(test_groups_list_shared_input_once, reset_mock),
        cmocka_unit_test_setup(test_groups_declined_runs_node_by_node, reset_mock),
        cmocka_unit_test_setup(test_groups_not_offered_when_optimization_disabled, reset_mock),
        cmocka_unit_test_setup(test_groups_offered_in_loop_body, reset_mock),
        cmocka_unit_test_setup(test_groups_offered_in_if_branch, reset_mock),
        cmocka_unit_test_setup(test_groups_failing_group_create_fails_session, reset_mock),
        cmocka_unit_test_setup(test_groups_survive_every_allocation_failure, reset_mock),
        cmocka_unit_test_setup(test_groups_run_from_four_threads, reset_mock),
        cmocka_unit_test_setup(test_released_constants_are_freed, reset_mock),
        cmocka_unit_test_setup(test_constant_read_elsewhere_is_kept, reset_mock),
        cmocka_unit_test_setup(test_constant_copied_to_a_device_is_kept, reset_mock),
    };
    return cmocka_run_group_tests_name("api_groups", tests, setup_all, teardown_all);
}
