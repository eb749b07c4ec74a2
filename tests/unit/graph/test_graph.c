/*
 * The graph IR: building, finalize (opsets, producers, order, outer scope,
 * the errors it reports), static type inference and the provider views.
 * Graphs are built directly through graph.h, without the model loader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/graph/graph.h"
#include "core/util/util.h"

/* ---- helpers ------------------------------------------------------------ */

static void add_opset(graph *g, const char *domain, int64_t version)
{
    assert_int_equal(util_grow((void **)&g->opsets, &(size_t){g->n_opsets}, g->n_opsets + 1,
                               sizeof *g->opsets),
                     EMBER_OK);
    g->opsets[g->n_opsets++] = (graph_opset){util_strdup(domain), version};
}

static graph *new_graph(void)
{
    graph *g;
    assert_int_equal(graph_create(NULL, &g), EMBER_OK);
    add_opset(g, "", 17);
    return g;
}

static int value(graph *g, const char *name)
{
    int index;
    assert_int_equal(graph_value_intern(g, name, &index), EMBER_OK);
    return index;
}

/* Splits "a,,b" into slots; "" entries are absent (-1). */
static size_t fill_slots(graph *g, const char *list, int *slots)
{
    size_t n = 0;
    if (!list || !*list)
        return 0;
    for (const char *p = list;; n++) {
        char name[64];
        size_t len = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        if (slots)
            slots[n] = len ? value(g, name) : -1;
        if (!p[len])
            return n + 1;
        p += len + 1;
    }
}

static graph_node *add_node(graph *g, const char *name, const char *op, const char *inputs,
                            const char *outputs, size_t n_attrs)
{
    graph_node *node;
    size_t n_in = fill_slots(g, inputs, NULL), n_out = fill_slots(g, outputs, NULL);
    assert_int_equal(graph_node_add(g, name, op, "", n_in, n_out, n_attrs, &node), EMBER_OK);
    size_t index = (size_t)(node - g->nodes);
    fill_slots(g, inputs, g->nodes[index].inputs);
    fill_slots(g, outputs, g->nodes[index].outputs);
    return &g->nodes[index];
}

static void add_io(graph *g, bool is_input, const char *name, uint32_t dtype, int32_t rank,
                   const int64_t *dims)
{
    int index = value(g, name);
    int **list = is_input ? &g->inputs : &g->outputs;
    size_t *n = is_input ? &g->n_inputs : &g->n_outputs;
    *list = util_realloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = index;
    assert_int_equal(graph_value_set_type(&g->values[index], dtype, rank, dims, NULL), EMBER_OK);
}

static graph_value *val(graph *g, const char *name)
{
    int index = graph_value_find(g, name);
    assert_true(index >= 0);
    return &g->values[index];
}

static void set_int_attr(graph_attr *a, const char *name, int64_t v)
{
    a->name = util_strdup(name);
    a->view.type = EMBER_ATTR_INT;
    a->view.i = v;
}

static void set_ints_attr(graph_attr *a, const char *name, const int64_t *v, size_t n)
{
    a->name = util_strdup(name);
    a->ints = util_calloc(n, sizeof *v);
    memcpy(a->ints, v, n * sizeof *v);
    a->view.type = EMBER_ATTR_INTS;
    a->view.ints = a->ints;
    a->view.n = n;
}

/* An int64 initializer named `name` with 1-D contents. */
static void add_int64_initializer(graph *g, const char *name, const int64_t *data, size_t n)
{
    graph_tensor *t;
    int64_t dim = (int64_t)n;
    assert_int_equal(graph_tensor_create(name, EMBER_DTYPE_INT64, &dim, 1, &t), EMBER_OK);
    memcpy(t->view.data, data, n * sizeof *data);
    int index = value(g, name);
    g->values[index].initializer = t;
}

static void expect_dims(const graph_value *v, int32_t rank, const int64_t *dims)
{
    assert_int_equal(v->type.rank, rank);
    for (int32_t i = 0; i < rank; i++)
        assert_int_equal(v->dims[i], dims[i]);
}

static void expect_error(graph *g, ember_status status, const char *a, const char *b)
{
    assert_int_equal(graph_finalize(g), status);
    const char *msg = ember_last_error();
    if (a && !strstr(msg, a))
        fail_msg("message '%s' lacks '%s'", msg, a);
    if (b && !strstr(msg, b))
        fail_msg("message '%s' lacks '%s'", msg, b);
}

/* ---- building ------------------------------------------------------------- */

static void test_graph_intern_finds_every_name(void **state)
{
    graph *g = new_graph();
    char name[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "v%d", i);
        assert_int_equal(value(g, name), i);
    }
    for (int i = 0; i < 2000; i += 7) {
        snprintf(name, sizeof name, "v%d", i);
        assert_int_equal(graph_value_find(g, name), i);
        assert_int_equal(value(g, name), i);
    }
    assert_int_equal(graph_value_find(g, "absent"), -1);
    assert_int_equal(g->n_values, 2000);
    assert_int_equal(g->values[5].producer, -1);
    assert_int_equal(g->values[5].type.rank, -1);
    graph_destroy(g);
}

static void test_graph_find_sees_values_appended_directly(void **state)
{
    graph *g = new_graph();
    value(g, "a");
    util_grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof *g->values);
    g->values[g->n_values++] = (graph_value){.name = util_strdup("direct"), .producer = -1};
    assert_int_equal(graph_value_find(g, "direct"), 1);
    assert_int_equal(value(g, "b"), 2);
    assert_int_equal(graph_value_find(g, "direct"), 1);
    graph_destroy(g);
}

static void test_graph_node_add_normalizes_domain(void **state)
{
    graph *g = new_graph();
    graph_node *node;
    assert_int_equal(graph_node_add(g, NULL, "Relu", "ai.onnx", 2, 1, 0, &node), EMBER_OK);
    assert_string_equal(node->domain, "");
    assert_string_equal(node->name, "");
    assert_int_equal(node->inputs[0], -1);
    assert_int_equal(node->inputs[1], -1);
    assert_int_equal(node->outputs[0], -1);
    graph_destroy(g);
}

static void test_graph_set_type_copies_shape(void **state)
{
    graph *g = new_graph();
    int64_t dims[] = {-1, 3};
    const char *names[] = {"batch", NULL};
    int index = value(g, "x");
    graph_value *v = &g->values[index];
    assert_int_equal(graph_value_set_type(v, EMBER_DTYPE_FLOAT32, 2, dims, names), EMBER_OK);
    assert_int_equal(v->type.dims, v->dims);
    assert_string_equal(v->dim_names[0], "batch");
    assert_null(v->dim_names[1]);
    expect_dims(v, 2, dims);
    assert_int_equal(graph_value_set_type(v, EMBER_DTYPE_INT64, -1, NULL, NULL), EMBER_OK);
    assert_int_equal(v->type.rank, -1);
    assert_null(v->dims);
    graph_destroy(g);
}

static void test_graph_tensor_create_allocates_zeroed(void **state)
{
    graph_tensor *t;
    int64_t dims[] = {2, 3};
    assert_int_equal(graph_tensor_create("w", EMBER_DTYPE_FLOAT32, dims, 2, &t), EMBER_OK);
    assert_int_equal(t->n_elements, 6);
    assert_int_equal(t->data_bytes, 24);
    assert_int_equal(t->view.rank, 2);
    assert_int_equal(t->view.dims[1], 3);
    assert_int_equal(((float *)t->view.data)[5], 0.0f);
    graph_tensor_destroy(t);

    int64_t five = 5;
    assert_int_equal(graph_tensor_create("q", EMBER_DTYPE_INT4, &five, 1, &t), EMBER_OK);
    assert_int_equal(t->data_bytes, 3);
    graph_tensor_destroy(t);

    assert_int_equal(graph_tensor_create("s", EMBER_DTYPE_STRING, &five, 1, &t), EMBER_OK);
    ((ember_string *)t->view.data)[1] = (ember_string){util_strdup("hi"), 2};
    graph_tensor_destroy(t);

    int64_t zero = 0;
    assert_int_equal(graph_tensor_create("e", EMBER_DTYPE_FLOAT32, &zero, 1, &t), EMBER_OK);
    assert_null(t->view.data);
    graph_tensor_destroy(t);

    assert_int_equal(graph_tensor_create("bad", 99, dims, 2, &t), EMBER_E_INVALID_MODEL);
    assert_non_null(strstr(ember_last_error(), "bad"));
    int64_t negative = -2;
    assert_int_equal(graph_tensor_create("neg", EMBER_DTYPE_FLOAT32, &negative, 1, &t),
                     EMBER_E_INVALID_MODEL);
}

/* ---- finalize ---------------------------------------------------------------- */

static void test_graph_finalize_orders_topologically(void **state)
{
    graph *g = new_graph();
    int64_t dims[] = {4};
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, 1, dims);
    add_node(g, "last", "Add", "b,c", "y", 0);
    add_node(g, "middle", "Relu", "a", "c", 0);
    add_node(g, "first", "Neg", "x", "a", 0);
    add_node(g, "second", "Abs", "a", "b", 0);
    add_io(g, false, "y", EMBER_DTYPE_UNDEFINED, -1, NULL);
    assert_int_equal(graph_finalize(g), EMBER_OK);
    const char *expect[] = {"first", "middle", "second", "last"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(g->nodes[g->node_order[i]].name, expect[i]);
    assert_int_equal(g->nodes[0].opset, 17);
    assert_int_equal(val(g, "y")->producer, 0);
    assert_true(val(g, "x")->is_graph_input);
    assert_true(val(g, "y")->is_graph_output);
    assert_int_equal(val(g, "y")->type.dtype, EMBER_DTYPE_FLOAT32);
    expect_dims(val(g, "y"), 1, dims);
    graph_destroy(g);
}

static void test_graph_finalize_keeps_a_sorted_order(void **state)
{
    graph *g = new_graph();
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, -1, NULL);
    add_node(g, "n0", "Relu", "x", "a", 0);
    add_node(g, "n1", "Relu", "x", "b", 0);
    add_node(g, "n2", "Add", "a,b", "c", 0);
    add_node(g, "n3", "Relu", "x", "d", 0);
    add_io(g, false, "c", 0, -1, NULL);
    add_io(g, false, "d", 0, -1, NULL);
    assert_int_equal(graph_finalize(g), EMBER_OK);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(g->node_order[i], i);
    graph_destroy(g);
}

static void test_graph_finalize_reports_a_cycle(void **state)
{
    graph *g = new_graph();
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, -1, NULL);
    add_node(g, "entry", "Relu", "x", "a", 0);
    add_node(g, "loop_a", "Add", "a,c", "b", 0);
    add_node(g, "loop_b", "Relu", "b", "c", 0);
    add_io(g, false, "c", 0, -1, NULL);
    expect_error(g, EMBER_E_INVALID_MODEL, "cycle", "node 'loop_a' (Add)");
    assert_non_null(strstr(ember_last_error(), "node 'loop_b' (Relu)"));
    graph_destroy(g);

    g = new_graph();
    add_node(g, "self", "Relu", "a", "a", 0);
    expect_error(g, EMBER_E_INVALID_MODEL, "cycle", "node 'self' (Relu) -> node 'self'");
    graph_destroy(g);
}

static void test_graph_finalize_reports_a_missing_producer(void **state)
{
    graph *g = new_graph();
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, -1, NULL);
    add_node(g, "adder", "Add", "x,ghost", "y", 0);
    add_io(g, false, "y", 0, -1, NULL);
    expect_error(g, EMBER_E_INVALID_MODEL, "node 'adder' (Add)", "'ghost' has no producer");
    graph_destroy(g);

    g = new_graph();
    add_io(g, false, "nowhere", 0, -1, NULL);
    expect_error(g, EMBER_E_INVALID_MODEL, "graph output 'nowhere' has no producer", NULL);
    graph_destroy(g);
}

static void test_graph_finalize_rejects_a_second_assignment(void **state)
{
    graph *g = new_graph();
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, -1, NULL);
    add_node(g, "one", "Relu", "x", "y", 0);
    add_node(g, "two", "Neg", "x", "y", 0);
    expect_error(g, EMBER_E_INVALID_MODEL, "'y' is assigned twice", "node 'two' (Neg)");
    graph_destroy(g);

    g = new_graph();
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, -1, NULL);
    add_node(g, "over", "Relu", "x", "x", 0);
    expect_error(g, EMBER_E_INVALID_MODEL, "node 'over' (Relu)", "also a graph input");
    graph_destroy(g);
}

static void test_graph_finalize_needs_an_opset_for_each_domain(void **state)
{
    graph *g;
    graph_node *node;
    assert_int_equal(graph_create(NULL, &g), EMBER_OK);
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, -1, NULL);
    add_node(g, "r", "Relu", "x", "y", 0);
    expect_error(g, EMBER_E_INVALID_MODEL, "node 'r' (Relu)", "no opset for domain 'ai.onnx'");
    add_opset(g, "", 13);
    assert_int_equal(graph_node_add(g, "c", "Custom", "com.example", 0, 0, 0, &node), EMBER_OK);
    expect_error(g, EMBER_E_INVALID_MODEL, "node 'c' (Custom)", "com.example");
    add_opset(g, "com.example", 2);
    assert_int_equal(graph_finalize(g), EMBER_OK);
    assert_int_equal(g->nodes[0].opset, 13);
    assert_int_equal(g->nodes[1].opset, 2);
    assert_int_equal(graph_opset_of(g, "ai.onnx"), 13);
    assert_int_equal(graph_opset_of(g, "absent"), -1);
    graph_destroy(g);
}

/* An If whose branch reads `outer` from the main graph; the producer of
 * `outer` comes after the If in node order, so the If must move. */
static graph *if_graph(graph **then_out)
{
    graph *g = new_graph(), *then_g;
    add_io(g, true, "cond", EMBER_DTYPE_BOOL, 0, NULL);
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, -1, NULL);
    graph_node *node = add_node(g, "if", "If", "cond", "y", 1);
    add_node(g, "make_outer", "Neg", "x", "outer", 0);
    add_io(g, false, "y", 0, -1, NULL);

    assert_int_equal(graph_create(g, &then_g), EMBER_OK);
    node->attrs[0].name = util_strdup("then_branch");
    node->attrs[0].view.type = EMBER_ATTR_GRAPH;
    node->attrs[0].subgraph = then_g;
    add_node(then_g, "inner", "Relu", "outer", "t", 0);
    add_io(then_g, false, "t", 0, -1, NULL);
    *then_out = then_g;
    return g;
}

static void test_graph_finalize_marks_outer_scope_values(void **state)
{
    graph *then_g, *g = if_graph(&then_g);
    assert_int_equal(graph_finalize(g), EMBER_OK);
    assert_string_equal(g->nodes[g->node_order[0]].name, "make_outer");
    assert_string_equal(g->nodes[g->node_order[1]].name, "if");
    assert_true(val(then_g, "outer")->is_outer_scope);
    assert_false(val(then_g, "t")->is_outer_scope);
    assert_int_equal(then_g->nodes[0].opset, 17);
    assert_int_equal(then_g->n_opsets, 1);
    /* Types flow into the branch and back out of the If. */
    assert_int_equal(val(then_g, "outer")->type.dtype, EMBER_DTYPE_FLOAT32);
    assert_int_equal(val(then_g, "t")->type.dtype, EMBER_DTYPE_FLOAT32);
    assert_int_equal(val(g, "y")->type.dtype, EMBER_DTYPE_FLOAT32);
    graph_destroy(g);
}

static void test_graph_finalize_names_the_subgraph_on_error(void **state)
{
    graph *then_g, *g = if_graph(&then_g);
    add_node(then_g, "lost", "Relu", "nobody", "z", 0);
    expect_error(g, EMBER_E_INVALID_MODEL, "subgraph 'then_branch' of node 'if' (If)",
                 "node 'lost' (Relu): input 0 'nobody' has no producer");
    graph_destroy(g);
}

/* ---- inference ------------------------------------------------------------------ */

static void test_graph_infer_element_types(void **state)
{
    graph *g = new_graph();
    add_io(g, true, "x", EMBER_DTYPE_FLOAT16, -1, NULL);
    set_int_attr(&add_node(g, "cast", "Cast", "x", "c", 1)->attrs[0], "to", EMBER_DTYPE_INT32);
    add_node(g, "shape", "Shape", "x", "s", 0);
    add_node(g, "eq", "Equal", "x,x", "e", 0);
    add_node(g, "relu", "Relu", "x", "r", 0);
    add_node(g, "argmax", "ArgMax", "x", "am", 0);
    add_node(g, "cos", "ConstantOfShape", "s", "zeros", 0);
    add_node(g, "where", "Where", "e,c,c", "w", 0);
    add_node(g, "pool", "MaxPool", "x", "mp,idx", 0);
    add_node(g, "custom", "Mystery", "x", "m", 0);
    assert_int_equal(graph_finalize(g), EMBER_OK);
    assert_int_equal(val(g, "c")->type.dtype, EMBER_DTYPE_INT32);
    assert_int_equal(val(g, "s")->type.dtype, EMBER_DTYPE_INT64);
    assert_int_equal(val(g, "e")->type.dtype, EMBER_DTYPE_BOOL);
    assert_int_equal(val(g, "r")->type.dtype, EMBER_DTYPE_FLOAT16);
    assert_int_equal(val(g, "am")->type.dtype, EMBER_DTYPE_INT64);
    assert_int_equal(val(g, "zeros")->type.dtype, EMBER_DTYPE_FLOAT32);
    assert_int_equal(val(g, "w")->type.dtype, EMBER_DTYPE_INT32);
    assert_int_equal(val(g, "mp")->type.dtype, EMBER_DTYPE_FLOAT16);
    assert_int_equal(val(g, "idx")->type.dtype, EMBER_DTYPE_INT64);
    assert_int_equal(val(g, "m")->type.dtype, EMBER_DTYPE_UNDEFINED);
    graph_destroy(g);
}

static void test_graph_infer_keeps_declared_types(void **state)
{
    graph *g = new_graph();
    int64_t in_dims[] = {2, 3}, out_dims[] = {-1, -1, -1};
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, 2, in_dims);
    add_node(g, "relu", "Relu", "x", "y", 0);
    add_io(g, false, "y", EMBER_DTYPE_FLOAT64, 3, out_dims);
    assert_int_equal(graph_finalize(g), EMBER_OK);
    assert_int_equal(val(g, "y")->type.dtype, EMBER_DTYPE_FLOAT64);
    expect_dims(val(g, "y"), 3, out_dims);
    graph_destroy(g);
}

static void test_graph_infer_shapes_of_common_ops(void **state)
{
    graph *g = new_graph();
    int64_t x_dims[] = {-1, 3, 8, 8}, w_dims[] = {16, 3, 3, 3}, b_dims[] = {8},
            m_dims[] = {5, 8, 4};
    const char *x_names[] = {"N", NULL, NULL, NULL};
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, 4, x_dims);
    assert_int_equal(graph_value_set_type(val(g, "x"), EMBER_DTYPE_FLOAT32, 4, x_dims, x_names),
                     EMBER_OK);
    add_io(g, true, "w", EMBER_DTYPE_FLOAT32, 4, w_dims);
    add_io(g, true, "b", EMBER_DTYPE_FLOAT32, 1, b_dims);
    add_io(g, true, "m", EMBER_DTYPE_FLOAT32, 3, m_dims);
    int64_t pads[] = {1, 1, 1, 1}, strides[] = {2, 2}, perm[] = {0, 2, 3, 1};
    graph_node *conv = add_node(g, "conv", "Conv", "x,w", "conv_out", 2);
    set_ints_attr(&conv->attrs[0], "pads", pads, 4);
    set_ints_attr(&conv->attrs[1], "strides", strides, 2);
    add_node(g, "add", "Add", "x,b", "sum", 0);
    add_node(g, "relu", "Relu", "x", "relu_out", 0);
    add_node(g, "mm", "MatMul", "m,mt", "mm_out", 0);
    set_ints_attr(&add_node(g, "t", "Transpose", "m", "mt", 1)->attrs[0], "perm",
                  (int64_t[]){0, 2, 1}, 3);
    set_ints_attr(&add_node(g, "t4", "Transpose", "x", "x_nhwc", 1)->attrs[0], "perm", perm, 4);
    add_node(g, "gap", "GlobalAveragePool", "x", "gap_out", 0);
    add_node(g, "flat", "Flatten", "m", "flat_out", 0);
    add_node(g, "shape", "Shape", "x", "x_shape", 0);
    add_int64_initializer(g, "target", (int64_t[]){0, -1}, 2);
    add_node(g, "reshape", "Reshape", "m,target", "reshaped", 0);
    add_int64_initializer(g, "axes", (int64_t[]){0, -1}, 2);
    add_node(g, "unsq", "Unsqueeze", "b,axes", "unsq_out", 0);
    assert_int_equal(graph_finalize(g), EMBER_OK);

    expect_dims(val(g, "conv_out"), 4, (int64_t[]){-1, 16, 4, 4});
    expect_dims(val(g, "sum"), 4, (int64_t[]){-1, 3, 8, 8});
    assert_string_equal(val(g, "sum")->dim_names[0], "N");
    assert_string_equal(val(g, "relu_out")->dim_names[0], "N");
    expect_dims(val(g, "mt"), 3, (int64_t[]){5, 4, 8});
    expect_dims(val(g, "mm_out"), 3, (int64_t[]){5, 8, 8});
    expect_dims(val(g, "x_nhwc"), 4, (int64_t[]){-1, 8, 8, 3});
    expect_dims(val(g, "gap_out"), 4, (int64_t[]){-1, 3, 1, 1});
    expect_dims(val(g, "flat_out"), 2, (int64_t[]){5, 32});
    expect_dims(val(g, "x_shape"), 1, (int64_t[]){4});
    expect_dims(val(g, "reshaped"), 2, (int64_t[]){5, 32});
    expect_dims(val(g, "unsq_out"), 3, (int64_t[]){1, 8, 1});
    expect_dims(val(g, "target"), 1, (int64_t[]){2});
    assert_int_equal(val(g, "target")->type.dtype, EMBER_DTYPE_INT64);
    graph_destroy(g);
}

/* ---- views ------------------------------------------------------------------------ */

static void test_graph_views_read_the_node(void **state)
{
    graph *g = new_graph();
    int64_t dims[] = {2};
    add_io(g, true, "x", EMBER_DTYPE_FLOAT32, 1, dims);
    add_io(g, true, "overridable", EMBER_DTYPE_INT64, 1, dims);
    add_int64_initializer(g, "overridable", (int64_t[]){1, 2}, 2);
    add_int64_initializer(g, "fixed", (int64_t[]){3, 4}, 2);
    graph_node *node = add_node(g, "clip", "Clip", "x,,fixed,overridable", "y", 1);
    set_int_attr(&node->attrs[0], "mode", 7);
    assert_int_equal(graph_finalize(g), EMBER_OK);

    ember_node view = graph_node_view(g, &g->nodes[0]);
    assert_string_equal(graph_view_op_type(&view), "Clip");
    assert_string_equal(graph_view_domain(&view), "");
    assert_string_equal(graph_view_name(&view), "clip");
    assert_int_equal(graph_view_opset(&view), 17);
    assert_int_equal(graph_view_input_count(&view), 4);
    assert_int_equal(graph_view_output_count(&view), 1);
    assert_true(graph_view_input_present(&view, 0));
    assert_false(graph_view_input_present(&view, 1));
    assert_false(graph_view_input_present(&view, 9));

    ember_type_info type;
    assert_true(graph_view_input_type(&view, 0, &type));
    assert_int_equal(type.dtype, EMBER_DTYPE_FLOAT32);
    assert_int_equal(type.rank, 1);
    assert_false(graph_view_input_type(&view, 1, &type));
    assert_true(graph_view_output_type(&view, 0, &type));
    assert_int_equal(type.dtype, EMBER_DTYPE_FLOAT32);

    assert_null(graph_view_input_constant(&view, 0));
    const ember_tensor *c = graph_view_input_constant(&view, 2);
    assert_non_null(c);
    assert_int_equal(((const int64_t *)c->data)[1], 4);
    assert_null(graph_view_input_constant(&view, 3)); /* an input may override it */

    ember_attr attr;
    assert_true(graph_view_attr(&view, "mode", &attr));
    assert_int_equal(attr.type, EMBER_ATTR_INT);
    assert_int_equal(attr.i, 7);
    assert_false(graph_view_attr(&view, "absent", &attr));
    graph_destroy(g);
}

static void test_graph_view_constant_follows_constant_nodes_and_outer_scope(void **state)
{
    graph *g = new_graph(), *sub;
    graph_tensor *t;
    int64_t dim = 3;
    graph_node *k = add_node(g, "k", "Constant", NULL, "kv", 1);
    assert_int_equal(graph_tensor_create("value", EMBER_DTYPE_FLOAT32, &dim, 1, &t), EMBER_OK);
    ((float *)t->view.data)[2] = 2.5f;
    k->attrs[0] = (graph_attr){.name = util_strdup("value"), .tensor = t};
    k->attrs[0].view.type = EMBER_ATTR_TENSOR;
    add_io(g, true, "cond", EMBER_DTYPE_BOOL, 0, NULL);
    graph_node *node = add_node(g, "if", "If", "cond", "y", 1);
    add_node(g, "user", "Relu", "kv", "r", 0);
    assert_int_equal(graph_create(g, &sub), EMBER_OK);
    node->attrs[0] = (graph_attr){.name = util_strdup("then_branch"), .subgraph = sub};
    node->attrs[0].view.type = EMBER_ATTR_GRAPH;
    add_node(sub, "inner", "Relu", "kv", "t", 0);
    add_io(sub, false, "t", 0, -1, NULL);
    assert_int_equal(graph_finalize(g), EMBER_OK);

    ember_node user = graph_node_view(g, &g->nodes[2]);
    ember_node inner = graph_node_view(sub, &sub->nodes[0]);
    const ember_tensor *c = graph_view_input_constant(&user, 0);
    assert_non_null(c);
    assert_int_equal(((const float *)c->data)[2], 2.5f);
    assert_ptr_equal(graph_view_input_constant(&inner, 0), c);
    expect_dims(val(g, "kv"), 1, &dim);
    ember_attr attr;
    ember_node if_view = graph_node_view(g, &g->nodes[1]);
    assert_true(graph_view_attr(&if_view, "then_branch", &attr));
    assert_ptr_equal(attr.graph, sub);
    graph_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_intern_finds_every_name),
        cmocka_unit_test(test_graph_find_sees_values_appended_directly),
        cmocka_unit_test(test_graph_node_add_normalizes_domain),
        cmocka_unit_test(test_graph_set_type_copies_shape),
        cmocka_unit_test(test_graph_tensor_create_allocates_zeroed),
        cmocka_unit_test(test_graph_finalize_orders_topologically),
        cmocka_unit_test(test_graph_finalize_keeps_a_sorted_order),
        cmocka_unit_test(test_graph_finalize_reports_a_cycle),
        cmocka_unit_test(test_graph_finalize_reports_a_missing_producer),
        cmocka_unit_test(test_graph_finalize_rejects_a_second_assignment),
        cmocka_unit_test(test_graph_finalize_needs_an_opset_for_each_domain),
        cmocka_unit_test(test_graph_finalize_marks_outer_scope_values),
        cmocka_unit_test(test_graph_finalize_names_the_subgraph_on_error),
        cmocka_unit_test(test_graph_infer_element_types),
        cmocka_unit_test(test_graph_infer_keeps_declared_types),
        cmocka_unit_test(test_graph_infer_shapes_of_common_ops),
        cmocka_unit_test(test_graph_views_read_the_node),
        cmocka_unit_test(test_graph_view_constant_follows_constant_nodes_and_outer_scope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
