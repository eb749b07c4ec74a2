/*
 * Elementwise math, comparison, logic and bitwise ops: the unary math ops
 * (Abs ... Erf, IsInf, IsNaN, Not, BitwiseNot), the binary and variadic
 * ops with numpy broadcasting (Pow, Mod, Max, Min, Mean, Sum, PRelu,
 * BitShift, BitwiseAnd/Or/Xor), the comparisons (bool output, Equal also
 * on strings), the logical ops and Where.
 *
 * Every op has one of five shapes: unary, an n-ary fold (the result has
 * input 0's type), a comparison, a logical op or Where. The inputs are
 * mapped onto the output by an n-way broadcast (adjacent dims merged where
 * every input allows it) and walked with an odometer in parallel pieces.
 * Each element is loaded into a wide compute domain (double for the float
 * types, int64_t/uint64_t for the integers), computed and stored back;
 * the common float32 (and int64 comparison, and Where) cases have typed
 * loops over each innermost run instead (cpu_choose_row). This file decodes
 * the nodes, gathers and broadcasts the inputs and holds the registration
 * table; the element loops live in kernels_math_eval.c.
 */
#include "kernels_math.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const math_op_info math_ops[] = {
    {"Abs", OP_ABS, SH_UNARY, 1, 1, CPU_DT_NUMERIC},
    {"Neg", OP_NEG, SH_UNARY, 1, 1, CPU_DT_NUMERIC},
    {"Exp", OP_EXP, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Log", OP_LOG, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Sqrt", OP_SQRT, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Reciprocal", OP_RECIP, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Ceil", OP_CEIL, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Floor", OP_FLOOR, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Round", OP_ROUND, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Sign", OP_SIGN, SH_UNARY, 1, 1, CPU_DT_NUMERIC},
    {"Sin", OP_SIN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Cos", OP_COS, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Tan", OP_TAN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Asin", OP_ASIN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Acos", OP_ACOS, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Atan", OP_ATAN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Sinh", OP_SINH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Cosh", OP_COSH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Asinh", OP_ASINH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Acosh", OP_ACOSH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Atanh", OP_ATANH, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Erf", OP_ERF, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"IsInf", OP_ISINF, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"IsNaN", OP_ISNAN, SH_UNARY, 1, 1, CPU_DT_FLOATS},
    {"Not", OP_NOT, SH_UNARY, 1, 1, DT_BOOL},
    {"BitwiseNot", OP_BNOT, SH_UNARY, 1, 1, DT_INTS},
    {"Pow", OP_POW, SH_FOLD, 2, 2, CPU_DT_NUMERIC},
    {"Mod", OP_MOD, SH_FOLD, 2, 2, CPU_DT_NUMERIC},
    {"Max", OP_MAX, SH_FOLD, 1, MATH_MAX_INPUTS, CPU_DT_NUMERIC},
    {"Min", OP_MIN, SH_FOLD, 1, MATH_MAX_INPUTS, CPU_DT_NUMERIC},
    {"Mean", OP_MEAN, SH_FOLD, 1, MATH_MAX_INPUTS, CPU_DT_FLOATS},
    {"Sum", OP_SUM, SH_FOLD, 1, MATH_MAX_INPUTS, CPU_DT_NUMERIC},
    {"PRelu", OP_PRELU, SH_FOLD, 2, 2, CPU_DT_NUMERIC},
    {"BitShift", OP_SHIFT, SH_FOLD, 2, 2, DT_INTS},
    {"BitwiseAnd", OP_BAND, SH_FOLD, 2, 2, DT_INTS},
    {"BitwiseOr", OP_BOR, SH_FOLD, 2, 2, DT_INTS},
    {"BitwiseXor", OP_BXOR, SH_FOLD, 2, 2, DT_INTS},
    {"Equal", OP_EQ, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL | DT_STRING},
    {"Greater", OP_GT, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL},
    {"GreaterOrEqual", OP_GE, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL},
    {"Less", OP_LT, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL},
    {"LessOrEqual", OP_LE, SH_CMP, 2, 2, CPU_DT_NUMERIC | DT_BOOL},
    {"And", OP_AND, SH_LOGIC, 2, 2, DT_BOOL},
    {"Or", OP_OR, SH_LOGIC, 2, 2, DT_BOOL},
    {"Xor", OP_XOR, SH_LOGIC, 2, 2, DT_BOOL},
    {"Where", OP_WHERE, SH_WHERE, 3, 3, DT_BOOL},
};

#define N_MATH_OPS (sizeof math_ops / sizeof math_ops[0])

/* ---- create ------------------------------------------------------------ */

static const math_op_info *find_op(const char *name)
{
    for (size_t i = 0; i < N_MATH_OPS; i++)
        if (strcmp(math_ops[i].name, name) == 0)
            return &math_ops[i];
    return NULL;
}

static bool math_check(const ember_host_api *host, const ember_node *node)
{
    const math_op_info *info = find_op(host->node_op_type(node));
    if (info == NULL)
        return false;
    size_t n = host->node_input_count(node);
    if (n < info->min_in || n > info->max_in)
        return false;
    if (!cpu_input_dtype_in(host, node, 0, info->types))
        return false;
    uint32_t others = info->types;
    if (info->op == OP_POW)
        others = CPU_DT_NUMERIC;
    else if (info->op == OP_WHERE)
        others = CPU_DT_NUMERIC | DT_BOOL | DT_STRING | CPU_DT(EMBER_DTYPE_FLOAT8E4M3FN) |
                 CPU_DT(EMBER_DTYPE_FLOAT8E4M3FNUZ) | CPU_DT(EMBER_DTYPE_FLOAT8E5M2) |
                 CPU_DT(EMBER_DTYPE_FLOAT8E5M2FNUZ) | CPU_DT(EMBER_DTYPE_FLOAT8E8M0) |
                 CPU_DT(EMBER_DTYPE_COMPLEX64) | CPU_DT(EMBER_DTYPE_COMPLEX128);
    for (size_t i = 1; i < n; i++)
        if (!cpu_input_dtype_in(host, node, i, others))
            return false;
    return true;
}

/* Mod's fmod, IsInf's detect_*, BitShift's direction. */
static ember_status decode_op_attrs(cpu_kernel *k, const ember_node *node, math_params *p)
{
    int64_t v = 0, w = 0;
    ember_status s = EMBER_OK;
    if (p->info->op == OP_MOD) {
        s = cpu_attr_int(k, node, "fmod", 0, &v);
        if (s == EMBER_OK && v != 0 && v != 1)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s): attribute 'fmod' is %lld, expected 0 or 1",
                                 k->name, k->op, (long long)v);
        p->fmod = v == 1;
    } else if (p->info->op == OP_ISINF) {
        s = cpu_attr_int(k, node, "detect_positive", 1, &v);
        if (s == EMBER_OK)
            s = cpu_attr_int(k, node, "detect_negative", 1, &w);
        p->detect_pos = v != 0;
        p->detect_neg = w != 0;
    } else if (p->info->op == OP_SHIFT) {
        char dir[16];
        s = cpu_attr_string(k, node, "direction", "", dir, sizeof dir);
        if (s == EMBER_OK && strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s): attribute 'direction' is '%s', expected "
                                 "LEFT or RIGHT",
                                 k->name, k->op, dir);
        p->shift_left = strcmp(dir, "LEFT") == 0;
    }
    return s;
}

/* Opsets 1-6 of the binary ops: broadcast=1 aligns B at `axis`. */
static ember_status decode_legacy(cpu_kernel *k, const ember_node *node, math_params *p)
{
    if (k->opset >= 7 || p->info->max_in != 2 || p->info->shape == SH_UNARY)
        return EMBER_OK;
    int64_t broadcast = 0;
    ember_status s = cpu_attr_int(k, node, "broadcast", 0, &broadcast);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "axis", 0, &p->axis);
    p->legacy_broadcast = broadcast != 0;
    p->has_axis = cpu_attr_has(k, node, "axis");
    return s;
}

static ember_status math_run(const cpu_kernel *k, ember_kernel_context *ctx);

static ember_status math_create(cpu_kernel *k, const ember_node *node)
{
    const math_op_info *info = find_op(k->op);
    if (info == NULL)
        return k->host->fail(EMBER_E_INTERNAL, "node '%s' (%s): not a math op", k->name, k->op);
    ember_status s = cpu_kernel_params(k, sizeof(math_params));
    if (s != EMBER_OK)
        return s;
    math_params *p = k->params;
    p->info = info;
    s = decode_op_attrs(k, node, p);
    if (s == EMBER_OK)
        s = decode_legacy(k, node, p);
    k->run = math_run;
    return s;
}

/* ---- run --------------------------------------------------------------- */

static ember_status fail_type_mismatch(const cpu_kernel *k, size_t i, uint32_t dt, size_t i0,
                                       uint32_t dt0)
{
    return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                         "node '%s' (%s): input %zu has type %s, input %zu has type %s", k->name,
                         k->op, i, cpu_dtype_name(dt), i0, cpu_dtype_name(dt0));
}

/* Checks the inputs' types against the op and fills the job's inputs. */
static ember_status gather_inputs(const cpu_kernel *k, ember_kernel_context *ctx, math_job *j,
                                  const ember_tensor **ins)
{
    const math_params *p = k->params;
    size_t n = k->host->ctx_input_count(ctx);
    if (n < p->info->min_in || n > p->info->max_in)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): %zu inputs, expected %zu to %zu", k->name, k->op,
                             n, p->info->min_in, p->info->max_in);
    j->n_in = n;
    for (size_t i = 0; i < n; i++) {
        ember_status s = cpu_input(k, ctx, i, &ins[i]);
        if (s != EMBER_OK)
            return s;
        j->in[i] = ins[i]->data;
        j->dtype[i] = ins[i]->dtype;
        j->esize[i] = cpu_dtype_size(ins[i]->dtype);
        if (ins[i]->dtype == EMBER_DTYPE_STRING)
            j->esize[i] = sizeof(ember_string);
    }
    uint32_t dt0 = j->dtype[0];
    if (!(dt0 < 32 && (CPU_DT(dt0) & p->info->types)))
        return cpu_fail_dtype(k, 0, dt0);
    size_t first = p->info->op == OP_WHERE ? 1 : 0;
    uint32_t ref = j->dtype[first];
    if (first == 1 && (cpu_dtype_class(ref) == CL_NONE || ref == EMBER_DTYPE_UNDEFINED))
        return cpu_fail_dtype(k, 1, ref);
    for (size_t i = first + 1; i < n; i++) {
        bool pow_exp = p->info->op == OP_POW && i == 1;
        if (pow_exp && !(j->dtype[i] < 32 && (CPU_DT(j->dtype[i]) & CPU_DT_NUMERIC)))
            return cpu_fail_dtype(k, i, j->dtype[i]);
        if (!pow_exp && j->dtype[i] != ref)
            return fail_type_mismatch(k, i, j->dtype[i], first, ref);
    }
    j->cls = cpu_dtype_class(ref);
    return EMBER_OK;
}

/* Input 1's dims as the legacy broadcast sees them: padded with ones to
 * input 0's rank, aligned at `axis`. */
static ember_status legacy_dims(const cpu_kernel *k, const ember_tensor *a, const ember_tensor *b,
                                int64_t *dims)
{
    const math_params *p = k->params;
    int64_t axis = p->has_axis ? p->axis : (int64_t)a->rank - (int64_t)b->rank;
    if (axis < 0)
        axis += a->rank;
    if (axis < 0 || axis + (int64_t)b->rank > (int64_t)a->rank)
        return cpu_fail_shape(k, 1, b, "does not fit input 0 at the broadcast axis");
    for (size_t i = 0; i < a->rank; i++)
        dims[i] = 1;
    for (size_t i = 0; i < b->rank; i++)
        dims[(size_t)axis + i] = b->dims[i];
    return EMBER_OK;
}

static ember_status fail_broadcast(const cpu_kernel *k, const ember_tensor **ins, size_t n)
{
    char text[512];
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n && used + 64 < sizeof text; i++) {
        char dims[256];
        cpu_format_dims(dims, sizeof dims, ins[i]->dims, ins[i]->rank);
        int w = snprintf(text + used, sizeof text - used, "%sinput %zu has shape %s",
                         i ? ", " : "", i, dims);
        used += w > 0 ? (size_t)w : 0;
        used = used < sizeof text ? used : sizeof text - 1;
    }
    return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): %s, which do not broadcast",
                         k->name, k->op, text);
}

/* Whether x and slope broadcast the numpy way. */
static bool numpy_broadcasts(const ember_tensor *x, const ember_tensor *slope)
{
    if (slope->rank > x->rank)
        return false;
    for (size_t i = 0; i < slope->rank; i++) {
        int64_t ds = slope->dims[slope->rank - 1 - i], dx = x->dims[x->rank - 1 - i];
        if (ds != dx && ds != 1)
            return false;
    }
    return true;
}

/* PRelu with a 1-D slope that does not broadcast the numpy way: opsets
 * 1-6 apply it along the channels (axis 1), and like onnx's reference any
 * opset applies it along the one dim of x with its length. Writes the
 * slope's dims padded to x's rank; false when that does not apply. */
static bool prelu_slope_dims(const cpu_kernel *k, const ember_tensor *x,
                             const ember_tensor *slope, int64_t *dims)
{
    if (slope->rank != 1 || numpy_broadcasts(x, slope))
        return false;
    int64_t d = slope->dims[0];
    size_t axis = x->rank, matches = 0;
    for (size_t i = 0; i < x->rank; i++)
        if (x->dims[i] == d && matches++ == 0)
            axis = i;
    if (k->opset < 7 && x->rank >= 2 && x->dims[1] == d)
        axis = 1;
    else if (matches != 1)
        return false;
    for (size_t i = 0; i < x->rank; i++)
        dims[i] = i == axis ? d : 1;
    return true;
}

/* Broadcasts the inputs and checks PRelu's unidirectional rule. */
static ember_status broadcast_inputs(const cpu_kernel *k, math_job *j, const ember_tensor **ins,
                                     int64_t *out_dims, size_t *out_rank)
{
    const math_params *p = k->params;
    const int64_t *dims[MATH_MAX_INPUTS];
    size_t ranks[MATH_MAX_INPUTS];
    int64_t b_dims[CPU_MAX_RANK];
    for (size_t i = 0; i < j->n_in; i++) {
        dims[i] = ins[i]->dims;
        ranks[i] = ins[i]->rank;
    }
    if (p->legacy_broadcast) {
        ember_status s = legacy_dims(k, ins[0], ins[1], b_dims);
        if (s != EMBER_OK)
            return s;
        dims[1] = b_dims;
        ranks[1] = ins[0]->rank;
    }
    if (p->info->op == OP_PRELU && prelu_slope_dims(k, ins[0], ins[1], b_dims)) {
        dims[1] = b_dims;
        ranks[1] = ins[0]->rank;
    }
    if (!cpu_nway_init(j, dims, ranks, out_dims, out_rank))
        return fail_broadcast(k, ins, j->n_in);
    bool same = *out_rank == ins[0]->rank;
    for (size_t d = 0; same && d < *out_rank; d++)
        same = out_dims[d] == ins[0]->dims[d];
    if (p->info->op == OP_PRELU && !same)
        return cpu_fail_shape(k, 1, ins[1], "does not broadcast to input 0's shape");
    return EMBER_OK;
}

static void choose_output(const math_params *p, math_job *j)
{
    switch (p->info->shape) {
    case SH_UNARY:
        j->fn = cpu_unary_elem;
        j->out_dtype = p->info->op == OP_ISINF || p->info->op == OP_ISNAN ? EMBER_DTYPE_BOOL
                                                                          : j->dtype[0];
        break;
    case SH_FOLD:
        j->fn = cpu_fold_elem;
        j->out_dtype = j->dtype[0];
        break;
    case SH_CMP:
        j->fn = cpu_compare_elem;
        j->out_dtype = EMBER_DTYPE_BOOL;
        break;
    case SH_LOGIC:
        j->fn = cpu_logic_elem;
        j->out_dtype = EMBER_DTYPE_BOOL;
        break;
    default:
        j->out_dtype = j->dtype[1];
        j->fn = j->cls == CL_STRING ? cpu_where_string_elem : cpu_where_elem;
        break;
    }
}

static ember_status math_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *ins[MATH_MAX_INPUTS];
    math_job *j = NULL;
    ember_status s = k->host->ctx_scratch(ctx, sizeof *j, (void **)&j);
    if (s != EMBER_OK)
        return s;
    memset(j, 0, sizeof *j);
    j->k = k;
    j->p = k->params;
    s = gather_inputs(k, ctx, j, ins);
    int64_t out_dims[CPU_MAX_RANK];
    size_t out_rank = 0;
    if (s == EMBER_OK)
        s = broadcast_inputs(k, j, ins, out_dims, &out_rank);
    if (s != EMBER_OK)
        return s;
    choose_output(j->p, j);
    s = cpu_output(k, ctx, 0, j->out_dtype, out_dims, out_rank, &j->out_tensor);
    if (s != EMBER_OK || j->n_out == 0)
        return s;
    j->out = j->out_tensor->data;
    j->out_esize = j->out_dtype == EMBER_DTYPE_STRING ? sizeof(ember_string)
                                                      : cpu_dtype_size(j->out_dtype);
    j->row = cpu_choose_row(j);
    size_t pieces = (j->n_out + MATH_PIECE - 1) / MATH_PIECE;
    if (j->fn == cpu_where_string_elem) {
        ember_status string_status = EMBER_OK;
        j->status = &string_status;
        cpu_math_range(j, 0, pieces);
        return string_status;
    }
    cpu_parallel(ctx, k, pieces, j->n_out * j->n_in * 4, cpu_math_range, j);
    return EMBER_OK;
}

/* ---- registration ------------------------------------------------------ */

const cpu_op_entry cpu_ops_math[] = {
    {"Abs", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Neg", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Exp", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Log", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Sqrt", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Reciprocal", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Ceil", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Floor", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Round", 11, CPU_OPSET_MAX, math_check, math_create},
    {"Sign", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Sin", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Cos", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Tan", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Asin", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Acos", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Atan", 7, CPU_OPSET_MAX, math_check, math_create},
    {"Sinh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Cosh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Asinh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Acosh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Atanh", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Erf", 9, CPU_OPSET_MAX, math_check, math_create},
    {"IsInf", 10, CPU_OPSET_MAX, math_check, math_create},
    {"IsNaN", 9, CPU_OPSET_MAX, math_check, math_create},
    {"Not", 1, CPU_OPSET_MAX, math_check, math_create},
    {"BitwiseNot", 18, CPU_OPSET_MAX, math_check, math_create},
    {"Pow", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Mod", 10, CPU_OPSET_MAX, math_check, math_create},
    {"Max", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Min", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Mean", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Sum", 1, CPU_OPSET_MAX, math_check, math_create},
    {"PRelu", 1, CPU_OPSET_MAX, math_check, math_create},
    {"BitShift", 11, CPU_OPSET_MAX, math_check, math_create},
    {"BitwiseAnd", 18, CPU_OPSET_MAX, math_check, math_create},
    {"BitwiseOr", 18, CPU_OPSET_MAX, math_check, math_create},
    {"BitwiseXor", 18, CPU_OPSET_MAX, math_check, math_create},
    {"Equal", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Greater", 1, CPU_OPSET_MAX, math_check, math_create},
    {"GreaterOrEqual", 12, CPU_OPSET_MAX, math_check, math_create},
    {"Less", 1, CPU_OPSET_MAX, math_check, math_create},
    {"LessOrEqual", 12, CPU_OPSET_MAX, math_check, math_create},
    {"And", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Or", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Xor", 1, CPU_OPSET_MAX, math_check, math_create},
    {"Where", 9, CPU_OPSET_MAX, math_check, math_create},
    {NULL, 0, 0, NULL, NULL},
};

