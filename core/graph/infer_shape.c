/*
 * Static shape rules of type inference (see infer.c): each graph_shape_*
 * function computes output 0's shape of one kind of op from the input
 * shapes, the attributes and constant inputs, or returns false when it
 * cannot be sure (unknown rank, a non-constant shape input, an
 * inconsistent model). Unknown dims stay -1; symbolic names follow the
 * dims they came from.
 */
#include "core/graph/infer_impl.h"

#include <string.h>

#include "core/util/util.h"

/* ---- small readers --------------------------------------------------------- */

const graph_value *graph_infer_input(const graph *g, const graph_node *node, size_t k)
{
    return k < node->n_inputs && node->inputs[k] >= 0 ? &g->values[node->inputs[k]] : NULL;
}

uint32_t graph_infer_input_dtype(const graph *g, const graph_node *node, size_t k)
{
    const graph_value *v = graph_infer_input(g, node, k);
    return v ? v->type.dtype : EMBER_DTYPE_UNDEFINED;
}

static bool input_shape(const graph *g, const graph_node *node, size_t k, graph_shape *out)
{
    const graph_value *v = graph_infer_input(g, node, k);
    if (!v || v->type.rank < 0 || v->type.rank > GRAPH_MAX_RANK)
        return false;
    out->rank = v->type.rank;
    for (int32_t i = 0; i < v->type.rank; i++) {
        out->dims[i] = v->dims[i];
        out->names[i] = v->dim_names ? v->dim_names[i] : NULL;
    }
    return true;
}

int64_t graph_infer_attr_int(const graph_node *node, const char *name, int64_t fallback)
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
    const graph_value *v = graph_infer_input(g, node, k);
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
    if (!graph_infer_input(g, node, k))
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

static bool all_known(const graph_shape *s, int32_t from, int32_t to)
{
    for (int32_t i = from; i < to; i++)
        if (s->dims[i] < 0)
            return false;
    return true;
}

/* Product of dims [from, to); -1 when one is unknown or it overflows. */
static int64_t dim_product(const graph_shape *s, int32_t from, int32_t to)
{
    int64_t p = 1;
    for (int32_t i = from; i < to; i++) {
        if (s->dims[i] < 0 || (s->dims[i] && p > INT64_MAX / s->dims[i]))
            return -1;
        p *= s->dims[i];
    }
    return p;
}

/* ---- shape rules ---------------------------------------------------------- */

bool graph_shape_same(const graph *g, const graph_node *node, graph_shape *out)
{
    return input_shape(g, node, 0, out);
}

bool graph_shape_scalar(const graph *g, const graph_node *node, graph_shape *out)
{
    out->rank = 0;
    return true;
}

/* One broadcast dim of several inputs aligned to the right. */
static bool broadcast_dim(const graph_shape *const *in, size_t n, int32_t rank, int32_t d,
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

static bool broadcast(const graph_shape *const *in, size_t n, graph_shape *out)
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

bool graph_shape_broadcast(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in[4];
    const graph_shape *ptrs[4];
    if (node->n_inputs == 0 || node->n_inputs > 4)
        return false;
    for (size_t k = 0; k < node->n_inputs; k++) {
        if (!input_shape(g, node, k, &in[k]))
            return false;
        ptrs[k] = &in[k];
    }
    return broadcast(ptrs, node->n_inputs, out);
}

bool graph_shape_of_shape(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    if (!input_shape(g, node, 0, &in))
        return false;
    int64_t start = graph_infer_attr_int(node, "start", 0);
    int64_t end = graph_infer_attr_int(node, "end", in.rank);
    start = start < 0 ? start + in.rank : start;
    end = end < 0 ? end + in.rank : end;
    start = start < 0 ? 0 : start > in.rank ? in.rank : start;
    end = end < 0 ? 0 : end > in.rank ? in.rank : end;
    out->rank = 1;
    out->dims[0] = end > start ? end - start : 0;
    out->names[0] = NULL;
    return true;
}

bool graph_shape_transpose(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    bool used[GRAPH_MAX_RANK] = {false};
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

static void copy_dim(graph_shape *out, int32_t at, const graph_shape *in, int32_t from)
{
    out->dims[at] = in->dims[from];
    out->names[at] = in->names[from];
}

bool graph_shape_gemm(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape a, b;
    if (!input_shape(g, node, 0, &a) || !input_shape(g, node, 1, &b) || a.rank != 2 ||
        b.rank != 2)
        return false;
    out->rank = 2;
    copy_dim(out, 0, &a, graph_infer_attr_int(node, "transA", 0) ? 1 : 0);
    copy_dim(out, 1, &b, graph_infer_attr_int(node, "transB", 0) ? 0 : 1);
    return true;
}

bool graph_shape_matmul(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape a, b, batch_a, batch_b, batch;
    if (!input_shape(g, node, 0, &a) || !input_shape(g, node, 1, &b) || a.rank < 1 ||
        b.rank < 1)
        return false;
    batch_a = a;
    batch_a.rank = a.rank >= 2 ? a.rank - 2 : 0;
    batch_b = b;
    batch_b.rank = b.rank >= 2 ? b.rank - 2 : 0;
    const graph_shape *both[2] = {&batch_a, &batch_b};
    if (!broadcast(both, 2, &batch) || batch.rank + 2 > GRAPH_MAX_RANK)
        return false;
    *out = batch;
    if (a.rank >= 2)
        copy_dim(out, out->rank++, &a, a.rank - 2);
    if (b.rank >= 2)
        copy_dim(out, out->rank++, &b, b.rank - 1);
    return true;
}

bool graph_shape_flatten(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    if (!input_shape(g, node, 0, &in))
        return false;
    int64_t axis = graph_infer_attr_int(node, "axis", 1);
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
static bool reshape_fill(const graph_shape *in, graph_shape *out, int32_t infer_at)
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

bool graph_shape_reshape(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    size_t n;
    const ember_tensor *t = const_ints(g, node, 1, &n);
    if (!t || n > GRAPH_MAX_RANK)
        return false;
    bool has_in = input_shape(g, node, 0, &in);
    bool allow_zero = graph_infer_attr_int(node, "allowzero", 0) != 0;
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

bool graph_shape_concat(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    if (node->n_inputs == 0 || !input_shape(g, node, 0, out))
        return false;
    int64_t axis = graph_infer_attr_int(node, "axis", INT64_MIN);
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

bool graph_shape_unsqueeze(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    const int64_t *axes;
    size_t n_axes;
    bool is_new[GRAPH_MAX_RANK] = {false};
    if (!input_shape(g, node, 0, &in) || !read_axes(g, node, 1, &axes, &n_axes) || !axes ||
        in.rank + n_axes > GRAPH_MAX_RANK)
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

bool graph_shape_squeeze(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    const int64_t *axes;
    size_t n_axes;
    bool drop[GRAPH_MAX_RANK] = {false};
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

bool graph_shape_gather(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape data, indices;
    if (!input_shape(g, node, 0, &data) || !input_shape(g, node, 1, &indices))
        return false;
    int64_t axis = graph_infer_attr_int(node, "axis", 0);
    if (!normalize_axis(&axis, data.rank) || data.rank - 1 + indices.rank > GRAPH_MAX_RANK)
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

bool graph_shape_global_pool(const graph *g, const graph_node *node, graph_shape *out)
{
    if (!input_shape(g, node, 0, out) || out->rank < 2)
        return false;
    for (int32_t d = 2; d < out->rank; d++) {
        out->dims[d] = 1;
        out->names[d] = NULL;
    }
    return true;
}

bool graph_shape_reduce(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    const int64_t *axes;
    size_t n_axes;
    bool reduce[GRAPH_MAX_RANK] = {false};
    if (!input_shape(g, node, 0, &in) || !read_axes(g, node, 1, &axes, &n_axes))
        return false;
    if (n_axes == 0 && graph_infer_attr_int(node, "noop_with_empty_axes", 0)) {
        *out = in;
        return true;
    }
    for (size_t i = 0; i < n_axes; i++) {
        int64_t a = axes[i];
        if (!normalize_axis(&a, in.rank))
            return false;
        reduce[a] = true;
    }
    bool keep = graph_infer_attr_int(node, "keepdims", 1) != 0;
    out->rank = 0;
    for (int32_t d = 0; d < in.rank; d++) {
        if (!reduce[d] && n_axes)
            copy_dim(out, out->rank++, &in, d);
        else if (keep)
            out->dims[out->rank] = 1, out->names[out->rank++] = NULL;
    }
    return true;
}

bool graph_shape_arg_reduce(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in;
    if (!input_shape(g, node, 0, &in))
        return false;
    int64_t axis = graph_infer_attr_int(node, "axis", 0);
    if (!normalize_axis(&axis, in.rank))
        return false;
    bool keep = graph_infer_attr_int(node, "keepdims", 1) != 0;
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
    if (!graph_infer_attr_int(node, "ceil_mode", 0))
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
bool graph_shape_window(const graph *g, const graph_node *node, graph_shape *out)
{
    graph_shape in, w;
    bool is_conv = strcmp(node->op_type, "Conv") == 0;
    if (!input_shape(g, node, 0, &in) || in.rank < 3)
        return false;
    int32_t n_spatial = in.rank - 2;
    const graph_attr *kernel = attr_ints(node, "kernel_shape");
    const graph_attr *strides = attr_ints(node, "strides");
    const graph_attr *dilations = attr_ints(node, "dilations");
    const graph_attr *pads = attr_ints(node, "pads");
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

bool graph_shape_constant(const graph *g, const graph_node *node, graph_shape *out)
{
    const graph_attr *a = graph_node_attr(node, "value");
    out->rank = 0;
    if (a && a->tensor) {
        if (a->tensor->view.rank > GRAPH_MAX_RANK)
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

bool graph_shape_constant_of_shape(const graph *g, const graph_node *node, graph_shape *out)
{
    size_t n;
    const ember_tensor *t = const_ints(g, node, 0, &n);
    if (!t || n > GRAPH_MAX_RANK || (t->rank == 0))
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
