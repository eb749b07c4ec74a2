/*
 * Static type inference: element types and shapes of node outputs where
 * the op (ai.onnx domain) makes them known from the inputs' types, the
 * attributes and constant inputs. finalize.c calls graph_infer_node in
 * topological order. A type the model declared is never overwritten: the
 * dtype is filled only when unknown, the shape only when the rank is.
 * Where a rule cannot be sure (unknown rank, non-constant shape input,
 * an inconsistent model) it infers nothing rather than guess.
 */
#include "core/graph/graph_impl.h"

#include <string.h>

#include "core/util/util.h"

/* Ranks above this are left to run time. */
#define MAX_RANK 32

typedef struct shape {
    int32_t rank;
    int64_t dims[MAX_RANK];     /* -1 = unknown */
    const char *names[MAX_RANK]; /* borrowed symbolic names, or NULL */
} shape;

typedef bool (*shape_fn)(const graph *g, const graph_node *node, shape *out);

/* ---- small readers --------------------------------------------------------- */

static const graph_value *input(const graph *g, const graph_node *node, size_t k)
{
    return k < node->n_inputs && node->inputs[k] >= 0 ? &g->values[node->inputs[k]] : NULL;
}

static uint32_t input_dtype(const graph *g, const graph_node *node, size_t k)
{
    const graph_value *v = input(g, node, k);
    return v ? v->type.dtype : EMBER_DTYPE_UNDEFINED;
}

static bool input_shape(const graph *g, const graph_node *node, size_t k, shape *out)
{
    const graph_value *v = input(g, node, k);
    if (!v || v->type.rank < 0 || v->type.rank > MAX_RANK)
        return false;
    out->rank = v->type.rank;
    for (int32_t i = 0; i < v->type.rank; i++) {
        out->dims[i] = v->dims[i];
        out->names[i] = v->dim_names ? v->dim_names[i] : NULL;
    }
    return true;
}

static int64_t attr_int(const graph_node *node, const char *name, int64_t fallback)
{
    const graph_attr *a = graph_node_attr(node, name);
    return a && a->view.type == EMBER_ATTR_INT ? a->view.i : fallback;
}

static const graph_attr *attr_ints(const graph_node *node, const char *name)
{
    const graph_attr *a = graph_node_attr(node, name);
    return a && a->view.type == EMBER_ATTR_INTS ? a : NULL;
}

/* A constant 1-D (or scalar) int64 input, or NULL. */
static const ember_tensor *const_ints(const graph *g, const graph_node *node, size_t k,
                                      size_t *count)
{
    const graph_value *v = input(g, node, k);
    const ember_tensor *t = v ? graph_value_constant(g, v) : NULL;
    if (!t || t->dtype != EMBER_DTYPE_INT64 || t->rank > 1)
        return NULL;
    *count = t->rank ? (size_t)t->dims[0] : 1;
    return *count == 0 || t->data ? t : NULL;
}

/* Axes from an `axes` attribute (older opsets) or constant input k. False
 * when the node has axes that are not known. */
static bool read_axes(const graph *g, const graph_node *node, size_t k, const int64_t **axes,
                      size_t *n_axes)
{
    const graph_attr *a = attr_ints(node, "axes");
    *axes = NULL;
    *n_axes = 0;
    if (a) {
        *axes = a->ints;
        *n_axes = a->view.n;
        return true;
    }
    if (!input(g, node, k))
        return true;
    const ember_tensor *t = const_ints(g, node, k, n_axes);
    if (!t)
        return false;
    *axes = t->data;
    return true;
}

static bool normalize_axis(int64_t *axis, int32_t rank)
{
    if (*axis < 0)
        *axis += rank;
    return *axis >= 0 && *axis < rank;
}

static bool all_known(const shape *s, int32_t from, int32_t to)
{
    for (int32_t i = from; i < to; i++)
        if (s->dims[i] < 0)
            return false;
    return true;
}

/* Product of dims [from, to); -1 when one is unknown or it overflows. */
static int64_t dim_product(const shape *s, int32_t from, int32_t to)
{
    int64_t p = 1;
    for (int32_t i = from; i < to; i++) {
        if (s->dims[i] < 0 || (s->dims[i] && p > INT64_MAX / s->dims[i]))
            return -1;
        p *= s->dims[i];
    }
    return p;
}

/* ---- writing results ------------------------------------------------------- */

static ember_status set_output(graph *g, const graph_node *node, size_t k, uint32_t dtype,
                               const shape *s)
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

/* ---- shape rules ---------------------------------------------------------- */

static bool shape_same(const graph *g, const graph_node *node, shape *out)
{
    return input_shape(g, node, 0, out);
}

static bool shape_scalar(const graph *g, const graph_node *node, shape *out)
{
    out->rank = 0;
    return true;
}

/* One broadcast dim of several inputs aligned to the right. */
static bool broadcast_dim(const shape *const *in, size_t n, int32_t rank, int32_t d,
                          int64_t *dim, const char **name)
{
    int64_t known = 1;
    bool unknown = false, same_name = true;
    *name = NULL;
    for (size_t k = 0; k < n; k++) {
        int32_t i = d - (rank - in[k]->rank);
        if (i < 0)
            continue;
        int64_t x = in[k]->dims[i];
        if (x < 0) {
            if (unknown && (!*name || !in[k]->names[i] || strcmp(*name, in[k]->names[i])))
                same_name = false;
            *name = in[k]->names[i];
            unknown = true;
        } else if (x != 1) {
            if (known != 1 && known != x)
                return false; /* incompatible: leave it to the runtime check */
            known = x;
        }
    }
    *dim = known != 1 || !unknown ? known : -1;
    if (*dim >= 0 || !same_name)
        *name = NULL;
    return true;
}

static bool broadcast(const shape *const *in, size_t n, shape *out)
{
    out->rank = 0;
    for (size_t k = 0; k < n; k++)
        if (in[k]->rank > out->rank)
            out->rank = in[k]->rank;
    for (int32_t d = 0; d < out->rank; d++)
        if (!broadcast_dim(in, n, out->rank, d, &out->dims[d], &out->names[d]))
            return false;
    return true;
}

static bool shape_broadcast(const graph *g, const graph_node *node, shape *out)
{
    shape in[4];
    const shape *ptrs[4];
    if (node->n_inputs == 0 || node->n_inputs > 4)
        return false;
    for (size_t k = 0; k < node->n_inputs; k++) {
        if (!input_shape(g, node, k, &in[k]))
            return false;
        ptrs[k] = &in[k];
    }
    return broadcast(ptrs, node->n_inputs, out);
}

static bool shape_of_shape(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    if (!input_shape(g, node, 0, &in))
        return false;
    int64_t start = attr_int(node, "start", 0), end = attr_int(node, "end", in.rank);
    start = start < 0 ? start + in.rank : start;
    end = end < 0 ? end + in.rank : end;
    start = start < 0 ? 0 : start > in.rank ? in.rank : start;
    end = end < 0 ? 0 : end > in.rank ? in.rank : end;
    out->rank = 1;
    out->dims[0] = end > start ? end - start : 0;
    out->names[0] = NULL;
    return true;
}

static bool shape_transpose(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    bool used[MAX_RANK] = {false};
    if (!input_shape(g, node, 0, &in))
        return false;
    const graph_attr *perm = attr_ints(node, "perm");
    if (perm && perm->view.n != (size_t)in.rank)
        return false;
    out->rank = in.rank;
    for (int32_t i = 0; i < in.rank; i++) {
        int64_t p = perm ? perm->ints[i] : in.rank - 1 - i;
        if (!normalize_axis(&p, in.rank) || used[p])
            return false;
        used[p] = true;
        out->dims[i] = in.dims[p];
        out->names[i] = in.names[p];
    }
    return true;
}

static void copy_dim(shape *out, int32_t at, const shape *in, int32_t from)
{
    out->dims[at] = in->dims[from];
    out->names[at] = in->names[from];
}

static bool shape_gemm(const graph *g, const graph_node *node, shape *out)
{
    shape a, b;
    if (!input_shape(g, node, 0, &a) || !input_shape(g, node, 1, &b) || a.rank != 2 ||
        b.rank != 2)
        return false;
    out->rank = 2;
    copy_dim(out, 0, &a, attr_int(node, "transA", 0) ? 1 : 0);
    copy_dim(out, 1, &b, attr_int(node, "transB", 0) ? 0 : 1);
    return true;
}

static bool shape_matmul(const graph *g, const graph_node *node, shape *out)
{
    shape a, b, batch_a, batch_b, batch;
    if (!input_shape(g, node, 0, &a) || !input_shape(g, node, 1, &b) || a.rank < 1 ||
        b.rank < 1)
        return false;
    batch_a = a;
    batch_a.rank = a.rank >= 2 ? a.rank - 2 : 0;
    batch_b = b;
    batch_b.rank = b.rank >= 2 ? b.rank - 2 : 0;
    const shape *both[2] = {&batch_a, &batch_b};
    if (!broadcast(both, 2, &batch) || batch.rank + 2 > MAX_RANK)
        return false;
    *out = batch;
    if (a.rank >= 2)
        copy_dim(out, out->rank++, &a, a.rank - 2);
    if (b.rank >= 2)
        copy_dim(out, out->rank++, &b, b.rank - 1);
    return true;
}

static bool shape_flatten(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    if (!input_shape(g, node, 0, &in))
        return false;
    int64_t axis = attr_int(node, "axis", 1);
    if (axis < 0)
        axis += in.rank;
    if (axis < 0 || axis > in.rank)
        return false;
    out->rank = 2;
    out->dims[0] = dim_product(&in, 0, (int32_t)axis);
    out->dims[1] = dim_product(&in, (int32_t)axis, in.rank);
    out->names[0] = out->names[1] = NULL;
    return true;
}

/* Fills a Reshape target's -1 entry when every other size is known. */
static bool reshape_fill(const shape *in, shape *out, int32_t infer_at)
{
    if (infer_at < 0)
        return true;
    int64_t total = all_known(in, 0, in->rank) ? dim_product(in, 0, in->rank) : -1;
    out->dims[infer_at] = 1;
    int64_t rest = all_known(out, 0, out->rank) ? dim_product(out, 0, out->rank) : -1;
    out->dims[infer_at] = -1;
    if (total >= 0 && rest > 0) {
        if (total % rest != 0)
            return false;
        out->dims[infer_at] = total / rest;
    }
    return true;
}

static bool shape_reshape(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    size_t n;
    const ember_tensor *t = const_ints(g, node, 1, &n);
    if (!t || n > MAX_RANK)
        return false;
    bool has_in = input_shape(g, node, 0, &in), allow_zero = attr_int(node, "allowzero", 0);
    const int64_t *target = t->data;
    int32_t infer_at = -1;
    out->rank = (int32_t)n;
    for (int32_t i = 0; i < out->rank; i++) {
        out->names[i] = NULL;
        out->dims[i] = target[i];
        if (target[i] == 0 && !allow_zero) {
            if (!has_in || i >= in.rank)
                return false;
            copy_dim(out, i, &in, i);
        } else if (target[i] == -1) {
            if (infer_at >= 0)
                return false;
            infer_at = i;
        } else if (target[i] < 0) {
            return false;
        }
    }
    return has_in ? reshape_fill(&in, out, infer_at) : true;
}

static bool shape_concat(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    if (node->n_inputs == 0 || !input_shape(g, node, 0, out))
        return false;
    int64_t axis = attr_int(node, "axis", INT64_MIN);
    if (axis == INT64_MIN || !normalize_axis(&axis, out->rank))
        return false;
    out->names[axis] = NULL;
    for (size_t k = 1; k < node->n_inputs; k++) {
        if (!input_shape(g, node, k, &in) || in.rank != out->rank)
            return false;
        for (int32_t d = 0; d < in.rank; d++) {
            if (d == axis)
                out->dims[d] = out->dims[d] < 0 || in.dims[d] < 0 ? -1
                                                                  : out->dims[d] + in.dims[d];
            else if (out->dims[d] < 0 && in.dims[d] >= 0)
                copy_dim(out, d, &in, d);
        }
    }
    return true;
}

static bool shape_unsqueeze(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    const int64_t *axes;
    size_t n_axes;
    bool is_new[MAX_RANK] = {false};
    if (!input_shape(g, node, 0, &in) || !read_axes(g, node, 1, &axes, &n_axes) || !axes ||
        in.rank + n_axes > MAX_RANK)
        return false;
    out->rank = in.rank + (int32_t)n_axes;
    for (size_t i = 0; i < n_axes; i++) {
        int64_t a = axes[i];
        if (!normalize_axis(&a, out->rank) || is_new[a])
            return false;
        is_new[a] = true;
    }
    for (int32_t d = 0, from = 0; d < out->rank; d++) {
        if (is_new[d]) {
            out->dims[d] = 1;
            out->names[d] = NULL;
        } else {
            copy_dim(out, d, &in, from++);
        }
    }
    return true;
}

static bool shape_squeeze(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    const int64_t *axes;
    size_t n_axes;
    bool drop[MAX_RANK] = {false};
    if (!input_shape(g, node, 0, &in) || !read_axes(g, node, 1, &axes, &n_axes))
        return false;
    for (size_t i = 0; i < n_axes; i++) {
        int64_t a = axes[i];
        if (!normalize_axis(&a, in.rank) || in.dims[a] > 1 || in.dims[a] == 0)
            return false;
        drop[a] = true;
    }
    if (n_axes == 0) {
        if (!all_known(&in, 0, in.rank))
            return false;
        for (int32_t d = 0; d < in.rank; d++)
            drop[d] = in.dims[d] == 1;
    }
    out->rank = 0;
    for (int32_t d = 0; d < in.rank; d++)
        if (!drop[d])
            copy_dim(out, out->rank++, &in, d);
    return true;
}

static bool shape_gather(const graph *g, const graph_node *node, shape *out)
{
    shape data, indices;
    if (!input_shape(g, node, 0, &data) || !input_shape(g, node, 1, &indices))
        return false;
    int64_t axis = attr_int(node, "axis", 0);
    if (!normalize_axis(&axis, data.rank) || data.rank - 1 + indices.rank > MAX_RANK)
        return false;
    out->rank = 0;
    for (int32_t d = 0; d < axis; d++)
        copy_dim(out, out->rank++, &data, d);
    for (int32_t d = 0; d < indices.rank; d++)
        copy_dim(out, out->rank++, &indices, d);
    for (int32_t d = (int32_t)axis + 1; d < data.rank; d++)
        copy_dim(out, out->rank++, &data, d);
    return true;
}

static bool shape_global_pool(const graph *g, const graph_node *node, shape *out)
{
    if (!input_shape(g, node, 0, out) || out->rank < 2)
        return false;
    for (int32_t d = 2; d < out->rank; d++) {
        out->dims[d] = 1;
        out->names[d] = NULL;
    }
    return true;
}

static bool shape_reduce(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    const int64_t *axes;
    size_t n_axes;
    bool reduce[MAX_RANK] = {false};
    if (!input_shape(g, node, 0, &in) || !read_axes(g, node, 1, &axes, &n_axes))
        return false;
    if (n_axes == 0 && attr_int(node, "noop_with_empty_axes", 0)) {
        *out = in;
        return true;
    }
    for (size_t i = 0; i < n_axes; i++) {
        int64_t a = axes[i];
        if (!normalize_axis(&a, in.rank))
            return false;
        reduce[a] = true;
    }
    bool keep = attr_int(node, "keepdims", 1) != 0;
    out->rank = 0;
    for (int32_t d = 0; d < in.rank; d++) {
        if (!reduce[d] && n_axes)
            copy_dim(out, out->rank++, &in, d);
        else if (keep)
            out->dims[out->rank] = 1, out->names[out->rank++] = NULL;
    }
    return true;
}

static bool shape_arg_reduce(const graph *g, const graph_node *node, shape *out)
{
    shape in;
    if (!input_shape(g, node, 0, &in))
        return false;
    int64_t axis = attr_int(node, "axis", 0);
    if (!normalize_axis(&axis, in.rank))
        return false;
    bool keep = attr_int(node, "keepdims", 1) != 0;
    out->rank = 0;
    for (int32_t d = 0; d < in.rank; d++) {
        if (d != axis)
            copy_dim(out, out->rank++, &in, d);
        else if (keep)
            out->dims[out->rank] = 1, out->names[out->rank++] = NULL;
    }
    return true;
}

/* Output size of one spatial axis of a convolution or pooling window;
 * pads = {begin, end}. */
static int64_t window_dim(const graph_node *node, int64_t in, int64_t kernel, int64_t stride,
                          int64_t dilation, const int64_t pads[2])
{
    const graph_attr *pad = graph_node_attr(node, "auto_pad");
    const char *mode = pad && pad->view.type == EMBER_ATTR_STRING ? pad->s : "NOTSET";
    if (in < 0 || stride <= 0 || dilation <= 0 || kernel <= 0)
        return -1;
    if (strcmp(mode, "SAME_UPPER") == 0 || strcmp(mode, "SAME_LOWER") == 0)
        return (in + stride - 1) / stride;
    bool is_valid = strcmp(mode, "VALID") == 0;
    int64_t span = dilation * (kernel - 1) + 1;
    int64_t room = in + (is_valid ? 0 : pads[0] + pads[1]) - span;
    if (room < 0)
        return -1;
    if (!attr_int(node, "ceil_mode", 0))
        return room / stride + 1;
    /* With ceil_mode the last window must still start inside the input or
     * its leading pad. */
    int64_t out = (room + stride - 1) / stride + 1;
    if ((out - 1) * stride >= in + (is_valid ? 0 : pads[0]))
        out--;
    return out;
}

static int64_t ints_at(const graph_attr *a, size_t i, int64_t fallback)
{
    return a && i < a->view.n ? a->ints[i] : fallback;
}

/* Conv (weights in input 1) and MaxPool/AveragePool/LpPool (kernel_shape). */
static bool shape_window(const graph *g, const graph_node *node, shape *out)
{
    shape in, w;
    bool is_conv = strcmp(node->op_type, "Conv") == 0;
    if (!input_shape(g, node, 0, &in) || in.rank < 3)
        return false;
    int32_t n_spatial = in.rank - 2;
    const graph_attr *kernel = attr_ints(node, "kernel_shape"), *strides = attr_ints(node, "strides"),
                     *dilations = attr_ints(node, "dilations"), *pads = attr_ints(node, "pads");
    if (is_conv && (!input_shape(g, node, 1, &w) || w.rank != in.rank))
        return false;
    if ((!is_conv && !kernel) || (kernel && kernel->view.n != (size_t)n_spatial) ||
        (pads && pads->view.n != 2 * (size_t)n_spatial))
        return false;
    *out = in;
    if (is_conv)
        copy_dim(out, 1, &w, 0);
    for (int32_t i = 0; i < n_spatial; i++) {
        int64_t k = ints_at(kernel, (size_t)i, is_conv ? w.dims[2 + i] : -1);
        int64_t p[2] = {ints_at(pads, (size_t)i, 0), ints_at(pads, (size_t)(i + n_spatial), 0)};
        out->dims[2 + i] = window_dim(node, in.dims[2 + i], k, ints_at(strides, (size_t)i, 1),
                                      ints_at(dilations, (size_t)i, 1), p);
        out->names[2 + i] = NULL;
    }
    return true;
}

static bool shape_constant(const graph *g, const graph_node *node, shape *out)
{
    const graph_attr *a = graph_node_attr(node, "value");
    out->rank = 0;
    if (a && a->tensor) {
        if (a->tensor->view.rank > MAX_RANK)
            return false;
        out->rank = (int32_t)a->tensor->view.rank;
        for (int32_t d = 0; d < out->rank; d++) {
            out->dims[d] = a->tensor->dims[d];
            out->names[d] = NULL;
        }
        return true;
    }
    static const char *const lists[] = {"value_floats", "value_ints", "value_strings"};
    for (size_t i = 0; i < 3; i++)
        if ((a = graph_node_attr(node, lists[i]))) {
            out->rank = 1;
            out->dims[0] = (int64_t)a->view.n;
            out->names[0] = NULL;
        }
    return true;
}

static bool shape_constant_of_shape(const graph *g, const graph_node *node, shape *out)
{
    size_t n;
    const ember_tensor *t = const_ints(g, node, 0, &n);
    if (!t || n > MAX_RANK || (t->rank == 0))
        return false;
    const int64_t *dims = t->data;
    out->rank = (int32_t)n;
    for (size_t d = 0; d < n; d++) {
        if (dims[d] < 0)
            return false;
        out->dims[d] = dims[d];
        out->names[d] = NULL;
    }
    return true;
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
    shape_fn shape;   /* output 0's shape, or NULL */
} op_rule;

static const op_rule rules[] = {
    /* Unary elementwise and activations: type and shape of input 0. */
    {"Abs", DT_INPUT0, false, shape_same}, {"Acos", DT_INPUT0, false, shape_same},
    {"Acosh", DT_INPUT0, false, shape_same}, {"Asin", DT_INPUT0, false, shape_same},
    {"Asinh", DT_INPUT0, false, shape_same}, {"Atan", DT_INPUT0, false, shape_same},
    {"Atanh", DT_INPUT0, false, shape_same}, {"Ceil", DT_INPUT0, false, shape_same},
    {"Cos", DT_INPUT0, false, shape_same}, {"Cosh", DT_INPUT0, false, shape_same},
    {"Erf", DT_INPUT0, false, shape_same}, {"Exp", DT_INPUT0, false, shape_same},
    {"Floor", DT_INPUT0, false, shape_same}, {"Log", DT_INPUT0, false, shape_same},
    {"Neg", DT_INPUT0, false, shape_same}, {"Reciprocal", DT_INPUT0, false, shape_same},
    {"Round", DT_INPUT0, false, shape_same}, {"Sign", DT_INPUT0, false, shape_same},
    {"Sin", DT_INPUT0, false, shape_same}, {"Sinh", DT_INPUT0, false, shape_same},
    {"Sqrt", DT_INPUT0, false, shape_same}, {"Tan", DT_INPUT0, false, shape_same},
    {"Tanh", DT_INPUT0, false, shape_same}, {"Relu", DT_INPUT0, false, shape_same},
    {"LeakyRelu", DT_INPUT0, false, shape_same}, {"Elu", DT_INPUT0, false, shape_same},
    {"Selu", DT_INPUT0, false, shape_same}, {"Celu", DT_INPUT0, false, shape_same},
    {"Gelu", DT_INPUT0, false, shape_same}, {"HardSigmoid", DT_INPUT0, false, shape_same},
    {"HardSwish", DT_INPUT0, false, shape_same}, {"Mish", DT_INPUT0, false, shape_same},
    {"Softplus", DT_INPUT0, false, shape_same}, {"Softsign", DT_INPUT0, false, shape_same},
    {"Sigmoid", DT_INPUT0, false, shape_same}, {"ThresholdedRelu", DT_INPUT0, false, shape_same},
    {"Shrink", DT_INPUT0, false, shape_same}, {"Clip", DT_INPUT0, false, shape_same},
    {"Softmax", DT_INPUT0, false, shape_same}, {"LogSoftmax", DT_INPUT0, false, shape_same},
    {"Hardmax", DT_INPUT0, false, shape_same}, {"Identity", DT_INPUT0, false, shape_same},
    {"BitwiseNot", DT_INPUT0, false, shape_same}, {"Dropout", DT_INPUT0, false, shape_same},
    {"BatchNormalization", DT_INPUT0, false, shape_same},
    {"InstanceNormalization", DT_INPUT0, false, shape_same},
    {"LayerNormalization", DT_INPUT0, false, shape_same},
    {"GroupNormalization", DT_INPUT0, false, shape_same},
    {"LpNormalization", DT_INPUT0, false, shape_same}, {"LRN", DT_INPUT0, false, shape_same},
    {"MeanVarianceNormalization", DT_INPUT0, false, shape_same},
    {"CumSum", DT_INPUT0, false, shape_same}, {"Trilu", DT_INPUT0, false, shape_same},
    {"ReverseSequence", DT_INPUT0, false, shape_same},
    {"ScatterElements", DT_INPUT0, false, shape_same}, {"ScatterND", DT_INPUT0, false, shape_same},
    {"Scatter", DT_INPUT0, false, shape_same}, {"DequantizeLinear", DT_SPECIAL, false, shape_same},
    {"QuantizeLinear", DT_SPECIAL, false, shape_same}, {"Cast", DT_SPECIAL, false, shape_same},
    {"CastLike", DT_INPUT1, false, shape_same}, {"IsNaN", DT_BOOL, false, shape_same},
    {"IsInf", DT_BOOL, false, shape_same}, {"Not", DT_BOOL, false, shape_same},
    {"EyeLike", DT_SPECIAL, false, shape_same}, {"RandomNormalLike", DT_SPECIAL, false, shape_same},
    {"RandomUniformLike", DT_SPECIAL, false, shape_same},
    {"Bernoulli", DT_SPECIAL, false, shape_same},
    /* Broadcasting binary and variadic ops. */
    {"Add", DT_INPUT0, false, shape_broadcast}, {"Sub", DT_INPUT0, false, shape_broadcast},
    {"Mul", DT_INPUT0, false, shape_broadcast}, {"Div", DT_INPUT0, false, shape_broadcast},
    {"Pow", DT_INPUT0, false, shape_broadcast}, {"Mod", DT_INPUT0, false, shape_broadcast},
    {"PRelu", DT_INPUT0, false, shape_broadcast}, {"Max", DT_INPUT0, false, shape_broadcast},
    {"Min", DT_INPUT0, false, shape_broadcast}, {"Sum", DT_INPUT0, false, shape_broadcast},
    {"Mean", DT_INPUT0, false, shape_broadcast}, {"BitShift", DT_INPUT0, false, shape_broadcast},
    {"BitwiseAnd", DT_INPUT0, false, shape_broadcast},
    {"BitwiseOr", DT_INPUT0, false, shape_broadcast},
    {"BitwiseXor", DT_INPUT0, false, shape_broadcast},
    {"Equal", DT_BOOL, false, shape_broadcast}, {"Less", DT_BOOL, false, shape_broadcast},
    {"Greater", DT_BOOL, false, shape_broadcast}, {"LessOrEqual", DT_BOOL, false, shape_broadcast},
    {"GreaterOrEqual", DT_BOOL, false, shape_broadcast}, {"And", DT_BOOL, false, shape_broadcast},
    {"Or", DT_BOOL, false, shape_broadcast}, {"Xor", DT_BOOL, false, shape_broadcast},
    {"Where", DT_INPUT1, false, shape_broadcast},
    /* Shape-changing ops. */
    {"Conv", DT_INPUT0, false, shape_window}, {"MaxPool", DT_INPUT0, false, shape_window},
    {"AveragePool", DT_INPUT0, false, shape_window}, {"LpPool", DT_INPUT0, false, shape_window},
    {"ConvTranspose", DT_INPUT0, false, NULL}, {"Gemm", DT_INPUT0, false, shape_gemm},
    {"MatMul", DT_INPUT0, false, shape_matmul}, {"MatMulInteger", DT_INT32, false, shape_matmul},
    {"ConvInteger", DT_INT32, false, NULL}, {"Einsum", DT_INPUT0, false, NULL},
    {"GlobalAveragePool", DT_INPUT0, false, shape_global_pool},
    {"GlobalMaxPool", DT_INPUT0, false, shape_global_pool},
    {"GlobalLpPool", DT_INPUT0, false, shape_global_pool},
    {"Reshape", DT_INPUT0, false, shape_reshape}, {"Flatten", DT_INPUT0, false, shape_flatten},
    {"Transpose", DT_INPUT0, false, shape_transpose}, {"Concat", DT_INPUT0, false, shape_concat},
    {"Squeeze", DT_INPUT0, false, shape_squeeze}, {"Unsqueeze", DT_INPUT0, false, shape_unsqueeze},
    {"Gather", DT_INPUT0, false, shape_gather}, {"GatherElements", DT_INPUT0, false, NULL},
    {"GatherND", DT_INPUT0, false, NULL}, {"Slice", DT_INPUT0, false, NULL},
    {"Split", DT_INPUT0, true, NULL}, {"Tile", DT_INPUT0, false, NULL},
    {"Expand", DT_INPUT0, false, NULL}, {"Pad", DT_INPUT0, false, NULL},
    {"Resize", DT_INPUT0, false, NULL}, {"Upsample", DT_INPUT0, false, NULL},
    {"DepthToSpace", DT_INPUT0, false, NULL}, {"SpaceToDepth", DT_INPUT0, false, NULL},
    {"Compress", DT_INPUT0, false, NULL}, {"Range", DT_INPUT0, false, NULL},
    {"TopK", DT_INPUT0, false, NULL}, {"Unique", DT_INPUT0, false, NULL},
    {"OneHot", DT_SPECIAL, false, NULL},
    {"ReduceMax", DT_INPUT0, false, shape_reduce}, {"ReduceMin", DT_INPUT0, false, shape_reduce},
    {"ReduceMean", DT_INPUT0, false, shape_reduce}, {"ReduceSum", DT_INPUT0, false, shape_reduce},
    {"ReduceProd", DT_INPUT0, false, shape_reduce}, {"ReduceL1", DT_INPUT0, false, shape_reduce},
    {"ReduceL2", DT_INPUT0, false, shape_reduce}, {"ReduceLogSum", DT_INPUT0, false, shape_reduce},
    {"ReduceLogSumExp", DT_INPUT0, false, shape_reduce},
    {"ReduceSumSquare", DT_INPUT0, false, shape_reduce},
    {"ArgMax", DT_INT64, false, shape_arg_reduce}, {"ArgMin", DT_INT64, false, shape_arg_reduce},
    {"Shape", DT_INT64, false, shape_of_shape}, {"Size", DT_INT64, false, shape_scalar},
    {"NonZero", DT_INT64, false, NULL}, {"NonMaxSuppression", DT_INT64, false, NULL},
    {"Constant", DT_SPECIAL, false, shape_constant},
    {"ConstantOfShape", DT_SPECIAL, false, shape_constant_of_shape},
    {"RandomNormal", DT_SPECIAL, false, NULL}, {"RandomUniform", DT_SPECIAL, false, NULL},
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
    int64_t v = attr_int(node, name, 0);
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

/* Output k of a branch of an If, or NULL. */
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
static bool if_shape(const graph_node *node, size_t k, shape *out)
{
    const graph_value *a = branch_output(node, "then_branch", k),
                      *b = branch_output(node, "else_branch", k);
    if (!a || !b || a->type.rank < 0 || a->type.rank != b->type.rank || a->type.rank > MAX_RANK)
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
    shape s;
    for (size_t k = 0; k < node->n_outputs; k++)
        EMBER_TRY(set_output(g, node, k, if_dtype(node, k), if_shape(node, k, &s) ? &s : NULL));
    return EMBER_OK;
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
        return attr_dtype(node, "output_dtype", input_dtype(g, node, 1));
    if (strcmp(op, "QuantizeLinear") == 0)
        return input(g, node, 2) ? input_dtype(g, node, 2)
                                 : attr_dtype(node, "output_dtype", EMBER_DTYPE_UINT8);
    if (strcmp(op, "OneHot") == 0)
        return input_dtype(g, node, 2);
    if (strcmp(op, "Multinomial") == 0)
        return attr_dtype(node, "dtype", EMBER_DTYPE_INT32);
    if (strcmp(op, "RandomNormal") == 0 || strcmp(op, "RandomUniform") == 0)
        return attr_dtype(node, "dtype", EMBER_DTYPE_FLOAT32);
    /* EyeLike, Random*Like, Bernoulli: `dtype`, else input 0's. */
    return attr_dtype(node, "dtype", input_dtype(g, node, 0));
}

static uint32_t rule_dtype(const graph *g, const graph_node *node, const op_rule *rule,
                           size_t k)
{
    switch (rule->dtype) {
    case DT_INPUT0: return input_dtype(g, node, 0);
    case DT_INPUT1: return input_dtype(g, node, 1);
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
    shape s;
    if (node->domain[0] == '\0' && strcmp(node->op_type, "If") == 0)
        return infer_if(g, node);
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
