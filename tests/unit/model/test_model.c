/*
 * The ONNX loader: models built in memory with tests/support/model_builder
 * load into the graph IR with their values, types, nodes, order,
 * attributes, subgraphs and metadata; bad files, hostile bytes, unsafe
 * external data paths and allocation failures end in a clean status with a
 * message that names the culprit, and without leaks (a counting allocator
 * checks every test).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/graph/graph.h"
#include "core/model/model.h"
#include "model_builder.h"

/* ---- a counting, failure-injecting allocator ------------------------------ */

typedef struct alloc_stats {
    long live;      /* blocks allocated and not freed */
    long count;     /* allocations so far */
    long fail_at;   /* fail the allocation with this index, or -1 */
} alloc_stats;

static alloc_stats stats = {0, 0, -1};

#define HEADER 16

static void *count_malloc(void *user, size_t size)
{
    if (stats.fail_at >= 0 && stats.count++ == stats.fail_at)
        return NULL;
    char *p = malloc(size + HEADER);
    if (!p)
        return NULL;
    stats.live++;
    return p + HEADER;
}

static void count_free(void *user, void *ptr)
{
    if (!ptr)
        return;
    stats.live--;
    free((char *)ptr - HEADER);
}

static void *count_realloc(void *user, void *ptr, size_t size)
{
    if (!ptr)
        return count_malloc(user, size);
    if (stats.fail_at >= 0 && stats.count++ == stats.fail_at)
        return NULL;
    char *p = realloc((char *)ptr - HEADER, size + HEADER);
    return p ? p + HEADER : NULL;
}

static int setup(void **state)
{
    static const ember_allocator counting = {count_malloc, count_realloc, count_free, NULL};
    stats = (alloc_stats){0, 0, -1};
    ember_set_allocator(&counting);
    return 0;
}

static int teardown(void **state)
{
    ember_set_allocator(NULL);
    if (stats.live != 0)
        fail_msg("%ld allocations leaked", stats.live);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static ember_status load(const Onnx__ModelProto *m, const char *base_dir, graph **g)
{
    size_t size;
    uint8_t *bytes = mb_model_pack(m, &size);
    ember_status status = model_load_bytes(bytes, size, base_dir, "test.onnx", g);
    free(bytes);
    return status;
}

static graph *load_ok(const Onnx__ModelProto *m)
{
    graph *g = NULL;
    ember_status status = load(m, NULL, &g);
    if (status != EMBER_OK)
        fail_msg("load failed: %s: %s", ember_status_name(status), ember_last_error());
    return g;
}

static void expect_failure(const Onnx__ModelProto *m, const char *base_dir, ember_status want,
                           const char *a, const char *b)
{
    graph *g = NULL;
    ember_status status = load(m, base_dir, &g);
    const char *msg = ember_last_error();
    if (status != want)
        fail_msg("expected %s, got %s: %s", ember_status_name(want), ember_status_name(status),
                 msg);
    assert_null(g);
    assert_true(strncmp(msg, "test.onnx: ", 11) == 0);
    if (a && !strstr(msg, a))
        fail_msg("message '%s' lacks '%s'", msg, a);
    if (b && !strstr(msg, b))
        fail_msg("message '%s' lacks '%s'", msg, b);
}

static graph_value *val(const graph *g, const char *name)
{
    int index = graph_value_find(g, name);
    if (index < 0)
        fail_msg("no value '%s'", name);
    return &g->values[index];
}

static const graph_node *node_named(const graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return &g->nodes[i];
    fail_msg("no node '%s'", name);
    return NULL;
}

/* x[N,3] -> MatMul(W[3,2]) -> Add(B[2]) -> Relu -> z, nodes listed out
 * of order. */
static Onnx__ModelProto *small_model(void)
{
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    int64_t x_dims[] = {-1, 3}, w_dims[] = {3, 2}, b_dims[] = {2};
    float w[] = {1, 2, 3, 4, 5, 6}, b[] = {0.5f, -0.5f};
    mb_value_set_dim_param(mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 2, x_dims), 0, "N");
    mb_graph_add_initializer(g, mb_tensor_create("W", EMBER_DTYPE_FLOAT32, 2, w_dims, w,
                                                 sizeof w));
    Onnx__TensorProto *bias = mb_tensor_create("B", EMBER_DTYPE_FLOAT32, 1, b_dims, NULL, 0);
    mb_tensor_set_floats(bias, b, 2);
    mb_graph_add_initializer(g, bias);
    mb_graph_add_node(g, "Relu", NULL, "y", "z");
    mb_graph_add_node(g, "MatMul", "mm", "x,W", "h");
    mb_graph_add_node(g, "Add", "add", "h,B", "y");
    mb_graph_add_output(g, "z", EMBER_DTYPE_FLOAT32, -1, NULL);
    return m;
}

/* ---- loading ------------------------------------------------------------------ */

static void test_model_loads_values_nodes_and_order(void **state)
{
    Onnx__ModelProto *m = small_model();
    mb_model_add_metadata(m, "author", "tests");
    m->doc_string = strdup("a small model");
    graph *g = load_ok(m);

    assert_int_equal(g->n_nodes, 3);
    assert_string_equal(g->nodes[g->node_order[0]].name, "mm");
    assert_string_equal(g->nodes[g->node_order[1]].name, "add");
    assert_string_equal(g->nodes[g->node_order[2]].op_type, "Relu");
    assert_string_equal(g->nodes[g->node_order[2]].name, "");
    assert_int_equal(g->nodes[0].opset, 17);

    assert_int_equal(g->n_inputs, 1);
    assert_int_equal(g->n_outputs, 1);
    graph_value *x = val(g, "x");
    assert_true(x->is_graph_input);
    assert_int_equal(x->type.dtype, EMBER_DTYPE_FLOAT32);
    assert_int_equal(x->type.rank, 2);
    assert_int_equal(x->dims[0], -1);
    assert_string_equal(x->dim_names[0], "N");
    assert_int_equal(x->dims[1], 3);

    graph_value *w = val(g, "W"), *b = val(g, "B");
    assert_non_null(w->initializer);
    assert_false(w->is_graph_input);
    assert_int_equal(((float *)w->initializer->view.data)[5], 6.0f);
    assert_int_equal(((float *)b->initializer->view.data)[1], -0.5f);
    assert_int_equal(b->type.rank, 1);

    graph_value *z = val(g, "z");
    assert_true(z->is_graph_output);
    assert_int_equal(z->type.dtype, EMBER_DTYPE_FLOAT32);
    assert_int_equal(z->type.rank, 2);
    assert_int_equal(z->dims[1], 2);
    assert_string_equal(z->dim_names[0], "N");

    assert_string_equal(g->meta.producer_name, "ember-tests");
    assert_string_equal(g->meta.description, "a small model");
    assert_string_equal(g->meta.graph_name, "main");
    assert_int_equal(g->meta.ir_version, 8);
    assert_int_equal(g->meta.n_custom, 1);
    assert_string_equal(g->meta.custom_keys[0], "author");
    assert_string_equal(g->meta.custom_values[0], "tests");
    assert_int_equal(g->n_opsets, 1);
    assert_string_equal(g->opsets[0].domain, "");
    graph_destroy(g);
    mb_model_destroy(m);
}

static void test_model_reads_every_typed_field(void **state)
{
    Onnx__ModelProto *m = mb_model_create(17);
    int64_t three = 3, two = 2;
    Onnx__TensorProto *t;
    t = mb_tensor_create("i8", EMBER_DTYPE_INT8, 1, &three, NULL, 0);
    mb_tensor_set_int32s(t, (int32_t[]){-1, 2, -128}, 3);
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("f16", EMBER_DTYPE_FLOAT16, 1, &two, NULL, 0);
    mb_tensor_set_int32s(t, (int32_t[]){0x3c00, 0xc000}, 2);
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("flags", EMBER_DTYPE_BOOL, 1, &three, NULL, 0);
    mb_tensor_set_int32s(t, (int32_t[]){0, 5, 1}, 3);
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("nibbles", EMBER_DTYPE_INT4, 1, &three, NULL, 0);
    mb_tensor_set_int32s(t, (int32_t[]){0x21, 0x03}, 2);
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("i64", EMBER_DTYPE_INT64, 1, &two, NULL, 0);
    mb_tensor_set_int64s(t, (int64_t[]){-5, 1LL << 40}, 2);
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("u32", EMBER_DTYPE_UINT32, 1, &two, NULL, 0);
    t->uint64_data = malloc(2 * sizeof *t->uint64_data);
    t->uint64_data[0] = 7, t->uint64_data[1] = 0xffffffffu, t->n_uint64_data = 2;
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("c64", EMBER_DTYPE_COMPLEX64, 1, &two, NULL, 0);
    mb_tensor_set_floats(t, (float[]){1, 2, 3, 4}, 4);
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("f64", EMBER_DTYPE_FLOAT64, 0, NULL, NULL, 0);
    t->double_data = malloc(sizeof *t->double_data);
    t->double_data[0] = 0.25, t->n_double_data = 1;
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("words", EMBER_DTYPE_STRING, 1, &two, NULL, 0);
    mb_tensor_set_strings(t, (const char *[]){"hello", ""}, 2);
    mb_graph_add_initializer(m->graph, t);
    t = mb_tensor_create("raw_bool", EMBER_DTYPE_BOOL, 1, &two, "\0\7", 2);
    mb_graph_add_initializer(m->graph, t);
    graph *g = load_ok(m);

    const int8_t *i8 = val(g, "i8")->initializer->view.data;
    assert_int_equal(i8[0], -1);
    assert_int_equal(i8[2], -128);
    const uint16_t *f16 = val(g, "f16")->initializer->view.data;
    assert_int_equal(f16[1], 0xc000);
    const uint8_t *flags = val(g, "flags")->initializer->view.data;
    assert_int_equal(flags[1], 1);
    graph_tensor *nibbles = val(g, "nibbles")->initializer;
    assert_int_equal(nibbles->data_bytes, 2);
    assert_int_equal(((uint8_t *)nibbles->view.data)[0], 0x21);
    const int64_t *i64 = val(g, "i64")->initializer->view.data;
    assert_int_equal(i64[1], 1LL << 40);
    const uint32_t *u32 = val(g, "u32")->initializer->view.data;
    assert_int_equal(u32[1], 0xffffffffu);
    const float *c64 = val(g, "c64")->initializer->view.data;
    assert_int_equal(c64[3], 4.0f);
    graph_tensor *f64 = val(g, "f64")->initializer;
    assert_int_equal(f64->view.rank, 0);
    assert_int_equal(((double *)f64->view.data)[0], 0.25);
    const ember_string *words = val(g, "words")->initializer->view.data;
    assert_int_equal(words[0].size, 5);
    assert_memory_equal(words[0].data, "hello", 5);
    assert_int_equal(words[1].size, 0);
    assert_int_equal(((uint8_t *)val(g, "raw_bool")->initializer->view.data)[1], 1);
    assert_int_equal(val(g, "words")->type.dtype, EMBER_DTYPE_STRING);
    graph_destroy(g);
    mb_model_destroy(m);
}

static void test_model_reports_data_size_mismatches(void **state)
{
    int64_t dims[] = {2, 3};
    Onnx__ModelProto *m = mb_model_create(17);
    mb_graph_add_initializer(m->graph,
                             mb_tensor_create("short_raw", EMBER_DTYPE_FLOAT32, 2, dims,
                                              (float[5]){0}, 5 * sizeof(float)));
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "tensor 'short_raw'", "[2,3]");
    mb_model_destroy(m);

    m = mb_model_create(17);
    Onnx__TensorProto *t = mb_tensor_create("few", EMBER_DTYPE_INT64, 2, dims, NULL, 0);
    mb_tensor_set_int64s(t, (int64_t[]){1, 2}, 2);
    mb_graph_add_initializer(m->graph, t);
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "tensor 'few'", "int64_data");
    mb_model_destroy(m);

    m = mb_model_create(17);
    t = mb_tensor_create("neg", EMBER_DTYPE_FLOAT32, 2, (int64_t[]){2, -3}, NULL, 0);
    mb_graph_add_initializer(m->graph, t);
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "tensor 'neg'", "negative");
    mb_model_destroy(m);

    m = mb_model_create(17);
    t = mb_tensor_create("huge", EMBER_DTYPE_FLOAT32, 3,
                         (int64_t[]){1LL << 40, 1LL << 40, 1LL << 40}, NULL, 0);
    mb_graph_add_initializer(m->graph, t);
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "tensor 'huge'", "too large");
    mb_model_destroy(m);

    m = mb_model_create(17);
    mb_graph_add_initializer(m->graph, mb_tensor_create("odd", 77, 0, NULL, "", 0));
    expect_failure(m, NULL, EMBER_E_NOT_IMPLEMENTED, "tensor 'odd'", "data type 77");
    mb_model_destroy(m);
}

/* ---- hostile bytes -------------------------------------------------------------- */

static void test_model_refuses_every_truncation(void **state)
{
    Onnx__ModelProto *m = small_model();
    size_t size;
    uint8_t *bytes = mb_model_pack(m, &size);
    for (size_t n = 0; n < size; n++) {
        graph *g = NULL;
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, bytes, n);
        ember_status status = model_load_bytes(copy, n, NULL, "cut.onnx", &g);
        free(copy);
        if (status != EMBER_E_INVALID_MODEL)
            fail_msg("prefix %zu of %zu: %s: %s", n, size, ember_status_name(status),
                     ember_last_error());
        assert_null(g);
        assert_true(strncmp(ember_last_error(), "cut.onnx: ", 10) == 0);
    }
    free(bytes);
    mb_model_destroy(m);
}

static uint32_t next_random(uint32_t *seed)
{
    *seed = *seed * 1664525u + 1013904223u;
    return *seed >> 8;
}

static Onnx__ModelProto *if_model(void);

/* Flips 1-4 random bytes of the model, 2000 times. */
static void corrupt_and_load(const Onnx__ModelProto *m, uint32_t seed)
{
    size_t size, n_loaded = 0;
    uint8_t *bytes = mb_model_pack(m, &size);
    uint8_t *copy = malloc(size);
    for (int round = 0; round < 2000; round++) {
        memcpy(copy, bytes, size);
        int flips = 1 + (int)(next_random(&seed) % 4);
        for (int i = 0; i < flips; i++)
            copy[next_random(&seed) % size] = (uint8_t)next_random(&seed);
        graph *g = NULL;
        ember_status status = model_load_bytes(copy, size, NULL, "noise.onnx", &g);
        if (status == EMBER_OK) {
            n_loaded++;
            graph_destroy(g);
        } else {
            assert_null(g);
            assert_true(strncmp(ember_last_error(), "noise.onnx: ", 12) == 0);
        }
        assert_int_equal(stats.live, 0);
    }
    assert_true(n_loaded < 2000);
    free(copy);
    free(bytes);
}

static void test_model_survives_random_corruption(void **state)
{
    Onnx__ModelProto *m = small_model();
    corrupt_and_load(m, 12345);
    mb_model_destroy(m);
    m = if_model();
    corrupt_and_load(m, 777);
    mb_model_destroy(m);
}

static void test_model_refuses_garbage(void **state)
{
    graph *g = NULL;
    const char text[] = "this is not an onnx model at all";
    assert_int_equal(model_load_bytes(text, sizeof text, NULL, "text.onnx", &g),
                     EMBER_E_INVALID_MODEL);
    assert_non_null(strstr(ember_last_error(), "text.onnx: not a valid ONNX model"));
    assert_int_equal(model_load_bytes("", 0, NULL, NULL, &g), EMBER_E_INVALID_MODEL);
    assert_non_null(strstr(ember_last_error(), "<bytes>: not a valid ONNX model"));
    assert_null(g);
}

static void test_model_refuses_deep_nesting(void **state)
{
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__ValueInfoProto *vi = mb_graph_add_input(m->graph, "seq", 0, -1, NULL);
    Onnx__TypeProto *type = vi->type;
    for (int i = 0; i < 200; i++) {
        Onnx__TypeProto__Sequence *seq = calloc(1, sizeof *seq);
        onnx__type_proto__sequence__init(seq);
        Onnx__TypeProto *inner = calloc(1, sizeof *inner);
        onnx__type_proto__init(inner);
        seq->elem_type = inner;
        if (i == 0)
            protobuf_c_message_free_unpacked(&type->tensor_type->base, NULL);
        type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        type->sequence_type = seq;
        type = inner;
    }
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "nest deeper", NULL);
    mb_model_destroy(m);
}

/* Fails allocation 0, 1, 2, ... of a load until one succeeds: every
 * failure must be a clean EMBER_E_OUT_OF_MEMORY without leaks. */
static void oom_sweep(const Onnx__ModelProto *m)
{
    size_t size;
    uint8_t *bytes = mb_model_pack(m, &size);
    ember_status status = EMBER_E_OUT_OF_MEMORY;
    long n;
    for (n = 0; status != EMBER_OK && n < 100000; n++) {
        graph *g = NULL;
        stats.count = 0;
        stats.fail_at = n;
        status = model_load_bytes(bytes, size, NULL, "oom.onnx", &g);
        stats.fail_at = -1;
        if (status == EMBER_OK) {
            graph_destroy(g);
            break;
        }
        if (status != EMBER_E_OUT_OF_MEMORY)
            fail_msg("failing allocation %ld: %s: %s", n, ember_status_name(status),
                     ember_last_error());
        assert_null(g);
        assert_int_equal(stats.live, 0);
    }
    assert_int_equal(status, EMBER_OK);
    assert_true(n > 20);
    free(bytes);
}

static Onnx__ModelProto *function_model(void);

static void test_model_survives_allocation_failures(void **state)
{
    Onnx__ModelProto *m = small_model();
    Onnx__NodeProto *relu = m->graph->node[0];
    mb_attr_ints(relu, "unused", (int64_t[]){1, 2}, 2);
    mb_attr_strings(relu, "names", (const char *[]){"a", "b"}, 2);
    Onnx__NodeProto *k = mb_graph_add_node(m->graph, "Constant", "k", NULL, "kv");
    mb_attr_floats(k, "value_floats", (float[]){1, 2}, 2);
    mb_graph_add_output(m->graph, "kv", 0, -1, NULL);
    oom_sweep(m);
    mb_model_destroy(m);
    m = if_model();
    oom_sweep(m);
    mb_model_destroy(m);
    m = function_model();
    oom_sweep(m);
    mb_model_destroy(m);
}

/* ---- header checks ---------------------------------------------------------------- */

static void test_model_checks_the_header(void **state)
{
    Onnx__ModelProto *m = small_model();
    m->has_ir_version = 0;
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "no ir_version", NULL);
    m->has_ir_version = 1;
    m->ir_version = 99;
    expect_failure(m, NULL, EMBER_E_NOT_IMPLEMENTED, "IR version 99", NULL);
    m->ir_version = 8;
    Onnx__GraphProto *graph_proto = m->graph;
    m->graph = NULL;
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "no graph", NULL);
    m->graph = graph_proto;
    mb_model_add_opset(m, "ai.onnx", 12);
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "'ai.onnx' is imported twice", NULL);
    mb_model_destroy(m);
}

static void test_model_needs_an_ai_onnx_import(void **state)
{
    Onnx__ModelProto *m = small_model();
    free(m->opset_import[0]->domain);
    m->opset_import[0]->domain = strdup("com.example");
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "node #0 (Relu)",
                   "no opset for domain 'ai.onnx'");
    free(m->opset_import[0]->domain);
    m->opset_import[0]->domain = strdup("ai.onnx");
    graph *g = load_ok(m);
    assert_string_equal(g->opsets[0].domain, "");
    assert_int_equal(graph_opset_of(g, ""), 17);
    graph_destroy(g);
    mb_model_destroy(m);
}

static void test_model_reports_graph_errors_with_the_label(void **state)
{
    Onnx__ModelProto *m = small_model();
    free(m->graph->node[1]->input[1]);
    m->graph->node[1]->input[1] = strdup("missing_weight");
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "node 'mm' (MatMul)",
                   "'missing_weight' has no producer");
    mb_model_destroy(m);

    m = mb_model_create(17);
    mb_graph_add_input(m->graph, "x", EMBER_DTYPE_FLOAT32, -1, NULL);
    mb_graph_add_node(m->graph, "Add", "a", "x,c", "b");
    mb_graph_add_node(m->graph, "Relu", "r", "b", "c");
    mb_graph_add_output(m->graph, "c", 0, -1, NULL);
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "cycle", "node 'a' (Add)");
    mb_model_destroy(m);
}

/* ---- attributes, constants, subgraphs ------------------------------------------------ */

static void test_model_loads_attributes_of_every_type(void **state)
{
    Onnx__ModelProto *m = mb_model_single_node("Custom", "x", "y", 17, EMBER_DTYPE_FLOAT32, -1,
                                               NULL);
    mb_model_add_opset(m, "com.example", 1);
    Onnx__NodeProto *n = m->graph->node[0];
    mb_node_set_domain(n, "com.example");
    int64_t two = 2;
    mb_attr_int(n, "i", -3);
    mb_attr_float(n, "f", 1.5f);
    mb_attr_string(n, "s", "text");
    mb_attr_ints(n, "is", (int64_t[]){4, 5}, 2);
    mb_attr_floats(n, "fs", (float[]){0.5f}, 1);
    mb_attr_strings(n, "ss", (const char *[]){"p", "qr"}, 2);
    mb_attr_tensor(n, "t", mb_tensor_create("", EMBER_DTYPE_INT64, 1, &two,
                                            (int64_t[]){8, 9}, 16));
    graph *g = load_ok(m);
    ember_node view = graph_node_view(g, &g->nodes[0]);
    ember_attr a;
    assert_string_equal(graph_view_domain(&view), "com.example");
    assert_int_equal(graph_view_opset(&view), 1);
    assert_true(graph_view_attr(&view, "i", &a));
    assert_int_equal(a.type, EMBER_ATTR_INT);
    assert_int_equal(a.i, -3);
    assert_true(graph_view_attr(&view, "f", &a));
    assert_int_equal(a.f, 1.5f);
    assert_true(graph_view_attr(&view, "s", &a));
    assert_int_equal(a.s.size, 4);
    assert_string_equal(a.s.data, "text");
    assert_true(graph_view_attr(&view, "is", &a));
    assert_int_equal(a.n, 2);
    assert_int_equal(a.ints[1], 5);
    assert_true(graph_view_attr(&view, "fs", &a));
    assert_int_equal(a.floats[0], 0.5f);
    assert_true(graph_view_attr(&view, "ss", &a));
    assert_int_equal(a.strings[1].size, 2);
    assert_true(graph_view_attr(&view, "t", &a));
    assert_int_equal(a.tensor->dtype, EMBER_DTYPE_INT64);
    assert_int_equal(((const int64_t *)a.tensor->data)[1], 9);
    graph_destroy(g);

    Onnx__AttributeProto *list = calloc(1, sizeof *list);
    onnx__attribute_proto__init(list);
    list->name = strdup("many");
    list->has_type = 1;
    list->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
    n->attribute = realloc(n->attribute, (n->n_attribute + 1) * sizeof *n->attribute);
    n->attribute[n->n_attribute++] = list;
    expect_failure(m, NULL, EMBER_E_NOT_IMPLEMENTED, "node 'node' (Custom)",
                   "attribute 'many' of type TENSORS");
    mb_model_destroy(m);
}

static void test_model_normalizes_constants(void **state)
{
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__NodeProto *n = mb_graph_add_node(m->graph, "Constant", "scalar", NULL, "a");
    mb_attr_float(n, "value_float", 2.5f);
    n = mb_graph_add_node(m->graph, "Constant", "list", NULL, "b");
    mb_attr_ints(n, "value_ints", (int64_t[]){1, 2, 3}, 3);
    n = mb_graph_add_node(m->graph, "Constant", "words", NULL, "c");
    mb_attr_strings(n, "value_strings", (const char *[]){"x"}, 1);
    mb_graph_add_node(m->graph, "Relu", "user", "a", "d");
    mb_graph_add_output(m->graph, "b", 0, -1, NULL);
    mb_graph_add_output(m->graph, "c", 0, -1, NULL);
    mb_graph_add_output(m->graph, "d", 0, -1, NULL);
    graph *g = load_ok(m);

    const graph_attr *value = graph_node_attr(node_named(g, "scalar"), "value");
    assert_non_null(value);
    assert_int_equal(value->view.type, EMBER_ATTR_TENSOR);
    assert_int_equal(value->tensor->view.rank, 0);
    assert_int_equal(((float *)value->tensor->view.data)[0], 2.5f);
    assert_null(graph_node_attr(node_named(g, "scalar"), "value_float"));
    assert_int_equal(val(g, "a")->type.dtype, EMBER_DTYPE_FLOAT32);
    assert_int_equal(val(g, "a")->type.rank, 0);
    assert_int_equal(val(g, "b")->type.dtype, EMBER_DTYPE_INT64);
    assert_int_equal(val(g, "b")->dims[0], 3);
    assert_int_equal(val(g, "c")->type.dtype, EMBER_DTYPE_STRING);
    assert_int_equal(val(g, "d")->type.rank, 0);

    ember_node user = graph_node_view(g, node_named(g, "user"));
    const ember_tensor *c = graph_view_input_constant(&user, 0);
    assert_non_null(c);
    assert_int_equal(((const float *)c->data)[0], 2.5f);
    graph_destroy(g);

    n = mb_graph_add_node(m->graph, "Constant", "confused", NULL, "e");
    mb_attr_int(n, "value_float", 1);
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "node 'confused' (Constant)",
                   "'value_float' has type INT");
    mb_model_destroy(m);
}

/* If(cond) with branches that read `x` and `outer` from the main graph. */
static Onnx__ModelProto *if_model(void)
{
    int64_t dims[] = {4};
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    mb_graph_add_input(g, "cond", EMBER_DTYPE_BOOL, 0, NULL);
    mb_graph_add_input(g, "x", EMBER_DTYPE_FLOAT32, 1, dims);
    Onnx__NodeProto *if_node = mb_graph_add_node(g, "If", "if", "cond", "y");
    mb_graph_add_node(g, "Neg", "neg", "x", "outer");
    mb_graph_add_output(g, "y", 0, -1, NULL);

    Onnx__GraphProto *then_g = mb_graph_create("then");
    mb_graph_add_node(then_g, "Add", "then_add", "x,outer", "t");
    mb_graph_add_output(then_g, "t", EMBER_DTYPE_FLOAT32, -1, NULL);
    Onnx__GraphProto *else_g = mb_graph_create("else");
    mb_graph_add_node(else_g, "Identity", "else_id", "outer", "e");
    mb_graph_add_output(else_g, "e", EMBER_DTYPE_FLOAT32, -1, NULL);
    mb_attr_graph(if_node, "then_branch", then_g);
    mb_attr_graph(if_node, "else_branch", else_g);
    return m;
}

static void test_model_loads_if_subgraphs(void **state)
{
    Onnx__ModelProto *m = if_model();
    Onnx__GraphProto *else_g = m->graph->node[0]->attribute[1]->g;
    graph *loaded = load_ok(m);

    assert_string_equal(loaded->nodes[loaded->node_order[0]].name, "neg");
    const graph_node *node = node_named(loaded, "if");
    const graph_attr *then_attr = graph_node_attr(node, "then_branch");
    const graph_attr *else_attr = graph_node_attr(node, "else_branch");
    assert_non_null(then_attr->subgraph);
    assert_int_equal(then_attr->view.type, EMBER_ATTR_GRAPH);
    graph *then_loaded = then_attr->subgraph, *else_loaded = else_attr->subgraph;
    assert_ptr_equal(then_loaded->parent, loaded);
    assert_true(val(then_loaded, "x")->is_outer_scope);
    assert_true(val(then_loaded, "outer")->is_outer_scope);
    assert_false(val(then_loaded, "t")->is_outer_scope);
    assert_true(val(else_loaded, "outer")->is_outer_scope);
    assert_int_equal(then_loaded->nodes[0].opset, 17);
    assert_int_equal(val(then_loaded, "t")->type.dtype, EMBER_DTYPE_FLOAT32);
    assert_int_equal(val(then_loaded, "t")->type.rank, 1);
    assert_int_equal(val(loaded, "y")->type.dtype, EMBER_DTYPE_FLOAT32);
    graph_destroy(loaded);

    mb_graph_add_node(else_g, "Relu", "stray", "nowhere", "z");
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "subgraph 'else_branch' of node 'if' (If)",
                   "node 'stray' (Relu): input 0 'nowhere' has no producer");
    mb_model_destroy(m);
}

static const graph_node *node_with_output(const graph *g, const char *value_name)
{
    int v = graph_value_find(g, value_name);
    assert_true(v >= 0);
    assert_true(g->values[v].producer >= 0);
    return &g->nodes[g->values[v].producer];
}

/* Twice and Quad, called with slopes 0.25 and 0.125: see the test below. */
static Onnx__ModelProto *function_model(void)
{
    Onnx__ModelProto *m = small_model();
    mb_model_add_opset(m, "local", 1);
    /* Twice(X) = LeakyRelu(X + X, alpha = slope), slope defaulting to 0.5. */
    Onnx__FunctionProto *twice = mb_model_add_function(m, "local", "Twice", "X", "Y");
    mb_function_add_attr_float(twice, "slope", 0.5f);
    mb_function_add_node(twice, "Add", NULL, "X,X", "T");
    Onnx__NodeProto *leaky = mb_function_add_node(twice, "LeakyRelu", NULL, "T", "Y");
    mb_attr_ref(leaky, "alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "slope");
    /* Quad(X) = Twice(Twice(X)), passing its own slope on to the first. */
    Onnx__FunctionProto *quad = mb_model_add_function(m, "local", "Quad", "X", "Y");
    mb_function_add_attr(quad, "slope");
    Onnx__NodeProto *inner = mb_function_add_node(quad, "Twice", NULL, "X", "M");
    mb_node_set_domain(inner, "local");
    mb_attr_ref(inner, "slope", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "slope");
    mb_node_set_domain(mb_function_add_node(quad, "Twice", NULL, "M", "Y"), "local");

    Onnx__NodeProto *call = mb_graph_add_node(m->graph, "Twice", "call", "z", "w");
    mb_node_set_domain(call, "local");
    mb_attr_float(call, "slope", 0.25f);
    Onnx__NodeProto *call2 = mb_graph_add_node(m->graph, "Quad", "quad", "w", "q");
    mb_node_set_domain(call2, "local");
    mb_attr_float(call2, "slope", 0.125f);
    mb_graph_add_output(m->graph, "q", 0, -1, NULL);
    return m;
}

static void test_model_inlines_local_functions(void **state)
{
    Onnx__ModelProto *m = function_model();
    graph *g = load_ok(m);

    const graph_node *leaky = node_with_output(g, "w");
    assert_string_equal(leaky->op_type, "LeakyRelu");
    assert_int_equal(graph_node_attr(leaky, "alpha")->view.f, 0.25f);
    const graph_node *add = &g->nodes[g->values[leaky->inputs[0]].producer];
    assert_string_equal(add->op_type, "Add");
    assert_string_equal(g->values[add->inputs[0]].name, "z");
    assert_string_equal(g->values[add->outputs[0]].name, "_inline0_Twice/T");
    /* In Quad, the first Twice gets Quad's slope, the second the default. */
    const graph_node *last = node_with_output(g, "q");
    assert_int_equal(graph_node_attr(last, "alpha")->view.f, 0.5f);
    const graph_node *second_add = &g->nodes[g->values[last->inputs[0]].producer];
    assert_string_equal(second_add->op_type, "Add");
    const graph_node *first_leaky = &g->nodes[g->values[second_add->inputs[0]].producer];
    assert_string_equal(first_leaky->op_type, "LeakyRelu");
    assert_int_equal(graph_node_attr(first_leaky, "alpha")->view.f, 0.125f);
    assert_int_equal(g->n_nodes, 3 + 2 + 4);
    assert_int_equal(val(g, "q")->type.dtype, EMBER_DTYPE_FLOAT32);
    graph_destroy(g);
    mb_model_destroy(m);
}

static void test_model_refuses_recursive_functions(void **state)
{
    Onnx__ModelProto *m = small_model();
    mb_model_add_opset(m, "local", 1);
    Onnx__FunctionProto *f = mb_model_add_function(m, "local", "Forever", "X", "Y");
    mb_node_set_domain(mb_function_add_node(f, "Forever", NULL, "X", "Y"), "local");
    mb_node_set_domain(mb_graph_add_node(m->graph, "Forever", "call", "z", "w"), "local");
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "node 'call' (Forever)",
                   "does 'Forever' call itself?");
    mb_model_destroy(m);
}

static void test_model_densifies_sparse_initializers(void **state)
{
    Onnx__ModelProto *m = mb_model_create(17);
    int64_t two = 2;
    Onnx__SparseTensorProto *sp = calloc(1, sizeof *sp);
    onnx__sparse_tensor_proto__init(sp);
    sp->values = mb_tensor_create("sparse", EMBER_DTYPE_FLOAT32, 1, &two, (float[]){7, 9}, 8);
    sp->indices = mb_tensor_create("", EMBER_DTYPE_INT64, 2, (int64_t[]){2, 2},
                                   (int64_t[]){0, 1, 2, 0}, 32);
    sp->n_dims = 2;
    sp->dims = malloc(2 * sizeof *sp->dims);
    sp->dims[0] = 3, sp->dims[1] = 2;
    m->graph->sparse_initializer = malloc(sizeof *m->graph->sparse_initializer);
    m->graph->sparse_initializer[0] = sp;
    m->graph->n_sparse_initializer = 1;
    graph *g = load_ok(m);
    const graph_tensor *t = val(g, "sparse")->initializer;
    assert_int_equal(t->n_elements, 6);
    const float *d = t->view.data;
    assert_int_equal(d[1], 7.0f);
    assert_int_equal(d[4], 9.0f);
    assert_int_equal(d[0] + d[2] + d[3] + d[5], 0.0f);
    graph_destroy(g);
    ((int64_t *)sp->indices->raw_data.data)[2] = 3;
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "sparse tensor 'sparse'", "out of bounds");
    mb_model_destroy(m);
}

/* ---- files and external data ---------------------------------------------------------- */

typedef struct tmp_dir {
    char path[64];
} tmp_dir;

static void tmp_write(const tmp_dir *d, const char *name, const void *data, size_t size)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

static void tmp_remove(const tmp_dir *d, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    unlink(path);
    rmdir(path);
}

/* A model whose float [2,3] initializer `w` lives in external data. */
static Onnx__ModelProto *external_model(const char *location, int64_t offset, int64_t length)
{
    Onnx__ModelProto *m = mb_model_create(17);
    int64_t dims[] = {2, 3};
    Onnx__TensorProto *t = mb_tensor_create("w", EMBER_DTYPE_FLOAT32, 2, dims, NULL, 0);
    mb_tensor_set_external(t, location, offset, length);
    mb_graph_add_initializer(m->graph, t);
    mb_graph_add_node(m->graph, "Relu", "relu", "w", "y");
    mb_graph_add_output(m->graph, "y", 0, -1, NULL);
    return m;
}

static void write_model(const tmp_dir *d, const char *name, const Onnx__ModelProto *m)
{
    size_t size;
    uint8_t *bytes = mb_model_pack(m, &size);
    tmp_write(d, name, bytes, size);
    free(bytes);
}

static void make_tmp_dir(tmp_dir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/ember_model_XXXXXX");
    assert_non_null(mkdtemp(d->path));
}

static void test_model_file_errors_name_the_path(void **state)
{
    graph *g = NULL;
    tmp_dir d;
    char path[128];
    assert_int_equal(model_load_file("/nonexistent/dir/model.onnx", &g), EMBER_E_NO_SUCH_FILE);
    assert_string_equal(ember_last_error(),
                        "/nonexistent/dir/model.onnx: cannot open: No such file or directory");
    make_tmp_dir(&d);
    tmp_write(&d, "junk.onnx", "\xff\xff\xff", 3);
    snprintf(path, sizeof path, "%s/junk.onnx", d.path);
    assert_int_equal(model_load_file(path, &g), EMBER_E_INVALID_MODEL);
    assert_non_null(strstr(ember_last_error(), "junk.onnx: not a valid ONNX model"));
    assert_int_equal(model_load_file(d.path, &g), EMBER_E_INVALID_ARGUMENT);
    assert_non_null(strstr(ember_last_error(), "not a regular file"));
    assert_null(g);
    tmp_remove(&d, "junk.onnx");
    rmdir(d.path);
}

static void test_model_loads_external_data_inside_the_folder(void **state)
{
    tmp_dir d;
    char path[128], sub[160];
    float data[10] = {0, 0, 1, 2, 3, 4, 5, 6, 0, 0};
    make_tmp_dir(&d);
    tmp_write(&d, "weights.bin", data, sizeof data);
    snprintf(sub, sizeof sub, "%s/sub", d.path);
    assert_int_equal(mkdir(sub, 0700), 0);
    tmp_write(&d, "sub/w.bin", data + 2, 6 * sizeof(float));

    Onnx__ModelProto *m = external_model("weights.bin", 2 * sizeof(float), 6 * sizeof(float));
    write_model(&d, "model.onnx", m);
    snprintf(path, sizeof path, "%s/model.onnx", d.path);
    graph *g = NULL;
    assert_int_equal(model_load_file(path, &g), EMBER_OK);
    const float *w = val(g, "w")->initializer->view.data;
    assert_int_equal(w[0], 1.0f);
    assert_int_equal(w[5], 6.0f);
    graph_destroy(g);
    mb_model_destroy(m);

    m = external_model("./sub/w.bin", -1, -1);
    assert_int_equal(load(m, d.path, &g), EMBER_OK);
    assert_int_equal(((float *)val(g, "w")->initializer->view.data)[5], 6.0f);
    graph_destroy(g);
    mb_model_destroy(m);

    tmp_remove(&d, "sub/w.bin");
    tmp_remove(&d, "sub");
    tmp_remove(&d, "weights.bin");
    tmp_remove(&d, "model.onnx");
    rmdir(d.path);
}

static void test_model_refuses_external_data_outside_the_folder(void **state)
{
    tmp_dir d, outside;
    char target[160], link_path[160];
    float data[6] = {0};
    make_tmp_dir(&d);
    make_tmp_dir(&outside);
    tmp_write(&outside, "secret.bin", data, sizeof data);
    tmp_write(&d, "ok.bin", data, sizeof data);

    Onnx__ModelProto *m = external_model("../x.bin", -1, -1);
    expect_failure(m, d.path, EMBER_E_INVALID_MODEL, "tensor 'w'", "'../x.bin' contains '..'");
    mb_model_destroy(m);
    m = external_model("a/../../x.bin", -1, -1);
    expect_failure(m, d.path, EMBER_E_INVALID_MODEL, "tensor 'w'", "'a/../../x.bin'");
    mb_model_destroy(m);
    m = external_model("/etc/passwd", -1, -1);
    expect_failure(m, d.path, EMBER_E_INVALID_MODEL, "tensor 'w'", "'/etc/passwd' is absolute");
    mb_model_destroy(m);

    snprintf(target, sizeof target, "%s/secret.bin", outside.path);
    snprintf(link_path, sizeof link_path, "%s/link.bin", d.path);
    assert_int_equal(symlink(target, link_path), 0);
    m = external_model("link.bin", -1, -1);
    expect_failure(m, d.path, EMBER_E_INVALID_MODEL, "tensor 'w'", "outside the model's folder");
    mb_model_destroy(m);

    m = external_model("ok.bin", -1, -1);
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "tensor 'w'", "without a base directory");
    mb_model_destroy(m);
    m = external_model("missing.bin", -1, -1);
    expect_failure(m, d.path, EMBER_E_NO_SUCH_FILE, "tensor 'w'", "'missing.bin'");
    mb_model_destroy(m);

    tmp_remove(&d, "link.bin");
    tmp_remove(&d, "ok.bin");
    tmp_remove(&outside, "secret.bin");
    rmdir(d.path);
    rmdir(outside.path);
}

static void test_model_checks_external_ranges(void **state)
{
    tmp_dir d;
    float data[6] = {0};
    make_tmp_dir(&d);
    tmp_write(&d, "w.bin", data, sizeof data);

    Onnx__ModelProto *m = external_model("w.bin", 100, -1);
    expect_failure(m, d.path, EMBER_E_INVALID_MODEL, "tensor 'w'", "offset 100 is past the end");
    mb_model_destroy(m);
    m = external_model("w.bin", 8, 24);
    expect_failure(m, d.path, EMBER_E_INVALID_MODEL, "tensor 'w'", "runs past the end");
    mb_model_destroy(m);
    m = external_model("w.bin", 0, 20);
    expect_failure(m, d.path, EMBER_E_INVALID_MODEL, "tensor 'w'", "is 20 bytes");
    mb_model_destroy(m);
    m = external_model("w.bin", -1, -1);
    free(m->graph->initializer[0]->external_data[0]->key);
    m->graph->initializer[0]->external_data[0]->key = strdup("place");
    expect_failure(m, d.path, EMBER_E_INVALID_MODEL, "tensor 'w'", "no location");
    mb_model_destroy(m);

    tmp_remove(&d, "w.bin");
    rmdir(d.path);
}

/* Large raw_data is read once, straight into the graph (wire_strip.c): a
 * model with a small, a large, a typed and another large initializer (and
 * a large Constant attribute, which stays in the message) loads the same
 * values from a file and from bytes; a large raw_data of the wrong size is
 * reported as before. */
static Onnx__ModelProto *large_raw_model(size_t n_big, size_t n_declared)
{
    enum { SMALL = 4 };
    Onnx__ModelProto *m = mb_model_create(17);
    Onnx__GraphProto *g = m->graph;
    float *big = malloc(n_big * sizeof *big), small[SMALL] = {1, 2, 3, 4};
    assert_non_null(big);
    for (size_t i = 0; i < n_big; i++)
        big[i] = (float)i * 0.5f;
    int64_t small_dims[] = {SMALL}, big_dims[] = {(int64_t)n_declared};
    mb_graph_add_initializer(g, mb_tensor_create("small", EMBER_DTYPE_FLOAT32, 1, small_dims,
                                                 small, sizeof small));
    mb_graph_add_initializer(g, mb_tensor_create("big1", EMBER_DTYPE_FLOAT32, 1, big_dims, big,
                                                 n_big * sizeof *big));
    Onnx__TensorProto *typed = mb_tensor_create("typed", EMBER_DTYPE_FLOAT32, 1, small_dims,
                                                NULL, 0);
    mb_tensor_set_floats(typed, small, SMALL);
    mb_graph_add_initializer(g, typed);
    for (size_t i = 0; i < n_big; i++)
        big[i] = -(float)i;
    mb_graph_add_initializer(g, mb_tensor_create("big2", EMBER_DTYPE_FLOAT32, 1, big_dims, big,
                                                 n_big * sizeof *big));
    Onnx__NodeProto *c = mb_graph_add_node(g, "Constant", "const", "", "k");
    mb_attr_tensor(c, "value", mb_tensor_create("", EMBER_DTYPE_FLOAT32, 1, big_dims, big,
                                                n_big * sizeof *big));
    free(big);
    mb_graph_add_node(g, "Add", "a1", "big1,big2", "s1");
    mb_graph_add_node(g, "Add", "a2", "s1,k", "y");
    mb_graph_add_output(g, "y", 0, -1, NULL);
    return m;
}

static void expect_large_raw_values(const graph *g, size_t n)
{
    const float *small = val(g, "small")->initializer->view.data;
    const float *typed = val(g, "typed")->initializer->view.data;
    const float *big1 = val(g, "big1")->initializer->view.data;
    const float *big2 = val(g, "big2")->initializer->view.data;
    for (int i = 0; i < 4; i++)
        assert_true(small[i] == (float)(i + 1) && typed[i] == (float)(i + 1));
    for (size_t i = 0; i < n; i++)
        if (big1[i] != (float)i * 0.5f || big2[i] != -(float)i)
            fail_msg("element %zu: %g, %g", i, (double)big1[i], (double)big2[i]);
}

static void test_model_reads_large_raw_data_once(void **state)
{
    enum { BIG = 40000 }; /* 160 KB each: above the 64 KiB that are deferred */
    Onnx__ModelProto *m = large_raw_model(BIG, BIG);
    graph *g = load_ok(m);
    expect_large_raw_values(g, BIG);
    graph_destroy(g);

    tmp_dir d;
    char path[128];
    make_tmp_dir(&d);
    write_model(&d, "big.onnx", m);
    snprintf(path, sizeof path, "%s/big.onnx", d.path);
    g = NULL;
    assert_int_equal(model_load_file(path, &g), EMBER_OK);
    expect_large_raw_values(g, BIG);
    graph_destroy(g);
    tmp_remove(&d, "big.onnx");
    rmdir(d.path);
    mb_model_destroy(m);

    m = large_raw_model(BIG, BIG + 1);
    expect_failure(m, NULL, EMBER_E_INVALID_MODEL, "big1", "raw_data");
    mb_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_loads_values_nodes_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_reads_every_typed_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_reports_data_size_mismatches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_refuses_every_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_survives_random_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_refuses_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_refuses_deep_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_survives_allocation_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_checks_the_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_needs_an_ai_onnx_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_reports_graph_errors_with_the_label, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_loads_attributes_of_every_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_normalizes_constants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_loads_if_subgraphs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_inlines_local_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_refuses_recursive_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_densifies_sparse_initializers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_file_errors_name_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_reads_large_raw_data_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_loads_external_data_inside_the_folder, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_model_refuses_external_data_outside_the_folder,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_checks_external_ranges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
