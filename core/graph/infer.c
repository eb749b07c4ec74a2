/*
 * Static type inference: element types and shapes of node outputs where
 * the op (ai.onnx domain) makes them known from the inputs' types, the
 * attributes and constant inputs. finalize.c calls graph_infer_node in
 * topological order. A type the model declared is never overwritten: the
 * dtype is filled only when unknown, the shape only when the rank is.
 * This file holds the dtype rules and the table of ops; the shape rules
 * are in infer_shape.c.
 */
#include "core/graph/infer_impl.h"

#include <string.h>

#include "core/util/util.h"

/* ---- writing results ------------------------------------------------------- */

static ember_status set_output(graph *g, const graph_node *node, size_t k, uint32_t dtype,
                               const graph_shape *s)
{
    if (k >= node->n_outputs || node->outputs[k] < 0)
        return EMBER_OK;
    graph_value *v = &g->values[node->outputs[k]];
    if (v->type.dtype == EMBER_DTYPE_UNDEFINED)
        v->type.dtype = dtype;
    if (s && s->rank >= 0 && v->type.rank < 0)
        return graph_value_set_type(v, v->type.dtype, s->rank, s->dims, s->names);
    return EMBER_OK;
}

/* ---- dtype rules ----------------------------------------------------------- */

enum dtype_rule {
    DT_NONE,     /* unknown statically */
    DT_INPUT0,   /* same as input 0 */
    DT_INPUT1,   /* same as input 1 */
    DT_INT64,
    DT_BOOL,
    DT_INT32,
    DT_SPECIAL,  /* special_dtype decides */
};

typedef struct op_rule {
    const char *op;
    uint8_t dtype;
    bool all_outputs; /* the dtype rule covers every output, not only output 0 */
    graph_shape_fn shape; /* output 0's shape, or NULL */
} op_rule;

static const op_rule rules[] = {
    /* Unary elementwise and activations: type and shape of input 0. */
    {"Abs", DT_INPUT0, false, graph_shape_same},
    {"Acos", DT_INPUT0, false, graph_shape_same},
    {"Acosh", DT_INPUT0, false, graph_shape_same},
    {"Asin", DT_INPUT0, false, graph_shape_same},
    {"Asinh", DT_INPUT0, false, graph_shape_same},
    {"Atan", DT_INPUT0, false, graph_shape_same},
    {"Atanh", DT_INPUT0, false, graph_shape_same},
    {"Ceil", DT_INPUT0, false, graph_shape_same},
    {"Cos", DT_INPUT0, false, graph_shape_same},
    {"Cosh", DT_INPUT0, false, graph_shape_same},
    {"Erf", DT_INPUT0, false, graph_shape_same},
    {"Exp", DT_INPUT0, false, graph_shape_same},
    {"Floor", DT_INPUT0, false, graph_shape_same},
    {"Log", DT_INPUT0, false, graph_shape_same},
    {"Neg", DT_INPUT0, false, graph_shape_same},
    {"Reciprocal", DT_INPUT0, false, graph_shape_same},
    {"Round", DT_INPUT0, false, graph_shape_same},
    {"Sign", DT_INPUT0, false, graph_shape_same},
    {"Sin", DT_INPUT0, false, graph_shape_same},
    {"Sinh", DT_INPUT0, false, graph_shape_same},
    {"Sqrt", DT_INPUT0, false, graph_shape_same},
    {"Tan", DT_INPUT0, false, graph_shape_same},
    {"Tanh", DT_INPUT0, false, graph_shape_same},
    {"Relu", DT_INPUT0, false, graph_shape_same},
    {"LeakyRelu", DT_INPUT0, false, graph_shape_same},
    {"Elu", DT_INPUT0, false, graph_shape_same},
    {"Selu", DT_INPUT0, false, graph_shape_same},
    {"Celu", DT_INPUT0, false, graph_shape_same},
    {"Gelu", DT_INPUT0, false, graph_shape_same},
    {"HardSigmoid", DT_INPUT0, false, graph_shape_same},
    {"HardSwish", DT_INPUT0, false, graph_shape_same},
    {"Mish", DT_INPUT0, false, graph_shape_same},
    {"Softplus", DT_INPUT0, false, graph_shape_same},
    {"Softsign", DT_INPUT0, false, graph_shape_same},
    {"Sigmoid", DT_INPUT0, false, graph_shape_same},
    {"ThresholdedRelu", DT_INPUT0, false, graph_shape_same},
    {"Shrink", DT_INPUT0, false, graph_shape_same},
    {"Clip", DT_INPUT0, false, graph_shape_same},
    {"Softmax", DT_INPUT0, false, graph_shape_same},
    {"LogSoftmax", DT_INPUT0, false, graph_shape_same},
    {"Hardmax", DT_INPUT0, false, graph_shape_same},
    {"Identity", DT_INPUT0, false, graph_shape_same},
    {"BitwiseNot", DT_INPUT0, false, graph_shape_same},
    {"Dropout", DT_INPUT0, false, graph_shape_same},
    {"BatchNormalization", DT_INPUT0, false, graph_shape_same},
    {"InstanceNormalization", DT_INPUT0, false, graph_shape_same},
    {"LayerNormalization", DT_INPUT0, false, graph_shape_same},
    {"GroupNormalization", DT_INPUT0, false, graph_shape_same},
    {"LpNormalization", DT_INPUT0, false, graph_shape_same},
    {"LRN", DT_INPUT0, false, graph_shape_same},
    {"MeanVarianceNormalization", DT_INPUT0, false, graph_shape_same},
    {"CumSum", DT_INPUT0, false, graph_shape_same},
    {"Trilu", DT_INPUT0, false, graph_shape_same},
    {"ReverseSequence", DT_INPUT0, false, graph_shape_same},
    {"ScatterElements", DT_INPUT0, false, graph_shape_same},
    {"ScatterND", DT_INPUT0, false, graph_shape_same},
    {"Scatter", DT_INPUT0, false, graph_shape_same},
    {"DequantizeLinear", DT_SPECIAL, false, graph_shape_same},
    {"QuantizeLinear", DT_SPECIAL, false, graph_shape_same},
    {"Cast", DT_SPECIAL, false, graph_shape_same},
    {"CastLike", DT_INPUT1, false, graph_shape_same},
    {"IsNaN", DT_BOOL, false, graph_shape_same},
    {"IsInf", DT_BOOL, false, graph_shape_same},
    {"Not", DT_BOOL, false, graph_shape_same},
    {"EyeLike", DT_SPECIAL, false, graph_shape_same},
    {"RandomNormalLike", DT_SPECIAL, false, graph_shape_same},
    {"RandomUniformLike", DT_SPECIAL, false, graph_shape_same},
    {"Bernoulli", DT_SPECIAL, false, graph_shape_same},
    /* Broadcasting binary and variadic ops. */
    {"Add", DT_INPUT0, false, graph_shape_broadcast},
    {"Sub", DT_INPUT0, false, graph_shape_broadcast},
    {"Mul", DT_INPUT0, false, graph_shape_broadcast},
    {"Div", DT_INPUT0, false, graph_shape_broadcast},
    {"Pow", DT_INPUT0, false, graph_shape_broadcast},
    {"Mod", DT_INPUT0, false, graph_shape_broadcast},
    {"PRelu", DT_INPUT0, false, graph_shape_broadcast},
    {"Max", DT_INPUT0, false, graph_shape_broadcast},
    {"Min", DT_INPUT0, false, graph_shape_broadcast},
    {"Sum", DT_INPUT0, false, graph_shape_broadcast},
    {"Mean", DT_INPUT0, false, graph_shape_broadcast},
    {"BitShift", DT_INPUT0, false, graph_shape_broadcast},
    {"BitwiseAnd", DT_INPUT0, false, graph_shape_broadcast},
    {"BitwiseOr", DT_INPUT0, false, graph_shape_broadcast},
    {"BitwiseXor", DT_INPUT0, false, graph_shape_broadcast},
    {"Equal", DT_BOOL, false, graph_shape_broadcast},
    {"Less", DT_BOOL, false, graph_shape_broadcast},
    {"Greater", DT_BOOL, false, graph_shape_broadcast},
    {"LessOrEqual", DT_BOOL, false, graph_shape_broadcast},
    {"GreaterOrEqual", DT_BOOL, false, graph_shape_broadcast},
    {"And", DT_BOOL, false, graph_shape_broadcast},
    {"Or", DT_BOOL, false, graph_shape_broadcast},
    {"Xor", DT_BOOL, false, graph_shape_broadcast},
    {"Where", DT_INPUT1, false, graph_shape_broadcast},
    /* Shape-changing ops. */
    {"Conv", DT_INPUT0, false, graph_shape_window},
    {"MaxPool", DT_INPUT0, false, graph_shape_window},
    {"AveragePool", DT_INPUT0, false, graph_shape_window},
    {"LpPool", DT_INPUT0, false, graph_shape_window},
    {"ConvTranspose", DT_INPUT0, false, NULL},
    {"Gemm", DT_INPUT0, false, graph_shape_gemm},
    {"MatMul", DT_INPUT0, false, graph_shape_matmul},
    {"MatMulInteger", DT_INT32, false, graph_shape_matmul},
    {"ConvInteger", DT_INT32, false, NULL},
    {"Einsum", DT_INPUT0, false, NULL},
    {"GlobalAveragePool", DT_INPUT0, false, graph_shape_global_pool},
    {"GlobalMaxPool", DT_INPUT0, false, graph_shape_global_pool},
    {"GlobalLpPool", DT_INPUT0, false, graph_shape_global_pool},
    {"Reshape", DT_INPUT0, false, graph_shape_reshape},
    {"Flatten", DT_INPUT0, false, graph_shape_flatten},
    {"Transpose", DT_INPUT0, false, graph_shape_transpose},
    {"Concat", DT_INPUT0, false, graph_shape_concat},
    {"Squeeze", DT_INPUT0, false, graph_shape_squeeze},
    {"Unsqueeze", DT_INPUT0, false, graph_shape_unsqueeze},
    {"Gather", DT_INPUT0, false, graph_shape_gather},
    {"GatherElements", DT_INPUT0, false, NULL},
    {"GatherND", DT_INPUT0, false, NULL},
    {"Slice", DT_INPUT0, false, NULL},
    {"Split", DT_INPUT0, true, NULL},
    {"Tile", DT_INPUT0, false, NULL},
    {"Expand", DT_INPUT0, false, NULL},
    {"Pad", DT_INPUT0, false, NULL},
    {"Resize", DT_INPUT0, false, NULL},
    {"Upsample", DT_INPUT0, false, NULL},
    {"DepthToSpace", DT_INPUT0, false, NULL},
    {"SpaceToDepth", DT_INPUT0, false, NULL},
    {"Compress", DT_INPUT0, false, NULL},
    {"Range", DT_INPUT0, false, NULL},
    {"TopK", DT_INPUT0, false, NULL},
    {"Unique", DT_INPUT0, false, NULL},
    {"OneHot", DT_SPECIAL, false, NULL},
    {"ReduceMax", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceMin", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceMean", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceSum", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceProd", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceL1", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceL2", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceLogSum", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceLogSumExp", DT_INPUT0, false, graph_shape_reduce},
    {"ReduceSumSquare", DT_INPUT0, false, graph_shape_reduce},
    {"ArgMax", DT_INT64, false, graph_shape_arg_reduce},
    {"ArgMin", DT_INT64, false, graph_shape_arg_reduce},
    {"Shape", DT_INT64, false, graph_shape_of_shape},
    {"Size", DT_INT64, false, graph_shape_scalar},
    {"NonZero", DT_INT64, false, NULL},
    {"NonMaxSuppression", DT_INT64, false, NULL},
    {"Constant", DT_SPECIAL, false, graph_shape_constant},
    {"ConstantOfShape", DT_SPECIAL, false, graph_shape_constant_of_shape},
    {"RandomNormal", DT_SPECIAL, false, NULL},
    {"RandomUniform", DT_SPECIAL, false, NULL},
    {"Multinomial", DT_SPECIAL, false, NULL},
};

/* Extra outputs whose type differs from output 0's. */
static const struct {
    const char *op;
    size_t output;
    uint32_t dtype;
} extra_outputs[] = {
    {"MaxPool", 1, EMBER_DTYPE_INT64}, {"TopK", 1, EMBER_DTYPE_INT64},
    {"Dropout", 1, EMBER_DTYPE_BOOL},  {"Unique", 1, EMBER_DTYPE_INT64},
    {"Unique", 2, EMBER_DTYPE_INT64},  {"Unique", 3, EMBER_DTYPE_INT64},
};

static const op_rule *find_rule(const graph_node *node)
{
    if (node->domain[0] != '\0')
        return NULL;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (strcmp(rules[i].op, node->op_type) == 0)
            return &rules[i];
    return NULL;
}

static uint32_t attr_dtype(const graph_node *node, const char *name, uint32_t fallback)
{
    int64_t v = graph_infer_attr_int(node, name, 0);
    return v > 0 && v <= EMBER_DTYPE_FLOAT8E8M0 ? (uint32_t)v : fallback;
}

static uint32_t constant_dtype(const graph_node *node)
{
    static const struct {
        const char *attr;
        uint32_t dtype;
    } forms[] = {{"value_float", EMBER_DTYPE_FLOAT32}, {"value_floats", EMBER_DTYPE_FLOAT32},
                 {"value_int", EMBER_DTYPE_INT64},     {"value_ints", EMBER_DTYPE_INT64},
                 {"value_string", EMBER_DTYPE_STRING}, {"value_strings", EMBER_DTYPE_STRING}};
    const graph_attr *a = graph_node_attr(node, "value");
    if (a && a->tensor)
        return a->tensor->view.dtype;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (graph_node_attr(node, forms[i].attr))
            return forms[i].dtype;
    return EMBER_DTYPE_UNDEFINED;
}

/* Output k of subgraph attribute `branch`, or NULL. */
static const graph_value *branch_output(const graph_node *node, const char *branch, size_t k)
{
    const graph_attr *a = graph_node_attr(node, branch);
    if (!a || !a->subgraph || k >= a->subgraph->n_outputs)
        return NULL;
    return &a->subgraph->values[a->subgraph->outputs[k]];
}

/* Output k of an If: the then-branch's output type. */
static uint32_t if_dtype(const graph_node *node, size_t k)
{
    const graph_value *v = branch_output(node, "then_branch", k);
    return v ? v->type.dtype : EMBER_DTYPE_UNDEFINED;
}

/* Output k of an If has the branches' common rank; a dim the branches
 * disagree on is unknown. */
static bool if_shape(const graph_node *node, size_t k, graph_shape *out)
{
    const graph_value *a = branch_output(node, "then_branch", k),
                      *b = branch_output(node, "else_branch", k);
    if (!a || !b || a->type.rank < 0 || a->type.rank != b->type.rank ||
        a->type.rank > GRAPH_MAX_RANK)
        return false;
    out->rank = a->type.rank;
    for (int32_t d = 0; d < out->rank; d++) {
        bool agree = a->dims[d] == b->dims[d];
        out->dims[d] = agree ? a->dims[d] : -1;
        out->names[d] = NULL;
    }
    return true;
}

static ember_status infer_if(graph *g, const graph_node *node)
{
    graph_shape s;
    for (size_t k = 0; k < node->n_outputs; k++)
        EMBER_TRY(set_output(g, node, k, if_dtype(node, k), if_shape(node, k, &s) ? &s : NULL));
    return EMBER_OK;
}

/* Loop's outputs are the body's outputs after `cond`; Scan's are the
 * body's outputs in order. Element types only: the shapes of carried and
 * scanned values are known at run time. */
static ember_status infer_loop_or_scan(graph *g, const graph_node *node, size_t skip)
{
    for (size_t k = 0; k < node->n_outputs; k++) {
        const graph_value *v = branch_output(node, "body", k + skip);
        EMBER_TRY(set_output(g, node, k, v ? v->type.dtype : EMBER_DTYPE_UNDEFINED, NULL));
    }
    return EMBER_OK;
}

/* Ops whose output types come from their subgraphs; true when handled. */
static bool control_flow(graph *g, const graph_node *node, ember_status *status)
{
    if (node->domain[0] != '\0')
        return false;
    if (strcmp(node->op_type, "If") == 0)
        *status = infer_if(g, node);
    else if (strcmp(node->op_type, "Loop") == 0)
        *status = infer_loop_or_scan(g, node, 1);
    else if (strcmp(node->op_type, "Scan") == 0)
        *status = infer_loop_or_scan(g, node, 0);
    else
        return false;
    return true;
}

static uint32_t special_dtype(const graph *g, const graph_node *node, size_t k)
{
    const char *op = node->op_type;
    const graph_attr *value;
    if (strcmp(op, "Cast") == 0)
        return attr_dtype(node, "to", EMBER_DTYPE_UNDEFINED);
    if (strcmp(op, "Constant") == 0)
        return constant_dtype(node);
    if (strcmp(op, "ConstantOfShape") == 0)
        return (value = graph_node_attr(node, "value")) && value->tensor
                   ? value->tensor->view.dtype
                   : EMBER_DTYPE_FLOAT32;
    if (strcmp(op, "DequantizeLinear") == 0)
        return attr_dtype(node, "output_dtype", graph_infer_input_dtype(g, node, 1));
    if (strcmp(op, "QuantizeLinear") == 0)
        return graph_infer_input(g, node, 2) ? graph_infer_input_dtype(g, node, 2)
                                 : attr_dtype(node, "output_dtype", EMBER_DTYPE_UINT8);
    if (strcmp(op, "OneHot") == 0)
        return graph_infer_input_dtype(g, node, 2);
    if (strcmp(op, "Multinomial") == 0)
        return attr_dtype(node, "dtype", EMBER_DTYPE_INT32);
    if (strcmp(op, "RandomNormal") == 0 || strcmp(op, "RandomUniform") == 0)
        return attr_dtype(node, "dtype", EMBER_DTYPE_FLOAT32);
    /* EyeLike, Random*Like, Bernoulli: `dtype`, else input 0's. */
    return attr_dtype(node, "dtype", graph_infer_input_dtype(g, node, 0));
}

static uint32_t rule_dtype(const graph *g, const graph_node *node, const op_rule *rule,
                           size_t k)
{
    switch (rule->dtype) {
    case DT_INPUT0: return graph_infer_input_dtype(g, node, 0);
    case DT_INPUT1: return graph_infer_input_dtype(g, node, 1);
    case DT_INT64: return EMBER_DTYPE_INT64;
    case DT_BOOL: return EMBER_DTYPE_BOOL;
    case DT_INT32: return EMBER_DTYPE_INT32;
    case DT_SPECIAL: return special_dtype(g, node, k);
    default: return EMBER_DTYPE_UNDEFINED;
    }
}

/* ---- entry points ---------------------------------------------------------- */

static ember_status infer_extra_outputs(graph *g, const graph_node *node)
{
    for (size_t i = 0; i < sizeof extra_outputs / sizeof extra_outputs[0]; i++)
        if (strcmp(extra_outputs[i].op, node->op_type) == 0)
            EMBER_TRY(set_output(g, node, extra_outputs[i].output, extra_outputs[i].dtype, NULL));
    return EMBER_OK;
}

ember_status graph_infer_node(graph *g, graph_node *node)
{
    const op_rule *rule = find_rule(node);
    graph_shape s;
    ember_status status;
    if (control_flow(g, node, &status))
        return status;
    if (!rule)
        return EMBER_OK;
    bool has_shape = rule->shape && rule->shape(g, node, &s);
    EMBER_TRY(set_output(g, node, 0, rule_dtype(g, node, rule, 0), has_shape ? &s : NULL));
    for (size_t k = 1; rule->all_outputs && k < node->n_outputs; k++)
        EMBER_TRY(set_output(g, node, k, rule_dtype(g, node, rule, k), NULL));
    return infer_extra_outputs(g, node);
}

ember_status graph_infer_initializers(graph *g)
{
    for (size_t i = 0; i < g->n_values; i++) {
        graph_value *v = &g->values[i];
        const graph_tensor *t = v->initializer;
        if (!t || v->type.dtype != EMBER_DTYPE_UNDEFINED)
            continue;
        if (v->type.rank >= 0) {
            v->type.dtype = t->view.dtype;
            continue;
        }
        EMBER_TRY(graph_value_set_type(v, t->view.dtype, (int32_t)t->view.rank, t->dims, NULL));
    }
    return EMBER_OK;
}
