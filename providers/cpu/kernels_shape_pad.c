/*
 * Part of the shape family (helpers in kernels_shape.c): Pad, every
 * opset (pads and value as attributes before opset 11, as inputs after;
 * axes from opset 18; wrap mode from opset 19).
 */
#include "kernels_shape.h"

#include <math.h>
#include <stdlib.h>

/* ---- Pad --------------------------------------------------------------- */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct pad_params {
    int mode;
    float value;   /* opset < 11 */
    size_t n_pads; /* opset < 11 */
    int64_t pads[2 * CPU_MAX_RANK];
} pad_params;

typedef struct pad_map {
    int mode;
    size_t rank;
    const int64_t *in_dims;
    int64_t begin[CPU_MAX_RANK], stride[CPU_MAX_RANK];
} pad_map;

static int64_t pad_coord(int mode, int64_t c, int64_t dim)
{
    if (c >= 0 && c < dim)
        return c;
    switch (mode) {
    case PAD_EDGE: return c < 0 ? 0 : dim - 1;
    case PAD_WRAP: return ((c % dim) + dim) % dim;
    case PAD_REFLECT: {
        if (dim == 1)
            return 0;
        int64_t period = 2 * (dim - 1);
        c = ((c % period) + period) % period;
        return c >= dim ? period - c : c;
    }
    default: return -1;
    }
}

/* Output rows (all dims but the last): each row is the source row its
 * outer coordinates select (or all fill), with the last dim's interior
 * copied as one run. */
typedef struct pad_job {
    const shp_mover *m;
    const pad_map *map;
    const int64_t *dims; /* output */
    const unsigned char *fill;
    ember_status status;
} pad_job;

/* Element offset of the source row of output row r; -1 when it is fill. */
static int64_t pad_row_source(const pad_map *p, const int64_t *dims, size_t r)
{
    int64_t off = 0;
    bool is_fill = false;
    for (size_t d = p->rank - 1; d-- > 0;) {
        int64_t c = pad_coord(p->mode, (int64_t)(r % (size_t)dims[d]) - p->begin[d],
                              p->in_dims[d]);
        r /= (size_t)dims[d];
        is_fill = is_fill || c < 0;
        off += c * p->stride[d];
    }
    return is_fill ? -1 : off;
}

/* n copies of the fill element at dst, doubling what is written. */
static void pad_fill_run(unsigned char *dst, size_t n, const unsigned char *fill, size_t esize)
{
    size_t done = n > 0 ? 1 : 0, bytes = n * esize;
    if (n > 0)
        memcpy(dst, fill, esize);
    for (done *= esize; done < bytes; done *= 2)
        memcpy(dst + done, dst, done < bytes - done ? done : bytes - done);
}

static ember_status pad_row(const pad_job *j, size_t base, int64_t off)
{
    const pad_map *p = j->map;
    size_t last = p->rank - 1, out_row = (size_t)j->dims[last], esize = j->m->esize;
    int64_t in_dim = p->in_dims[last], b = p->begin[last];
    ember_status s = EMBER_OK;
    for (size_t i = 0; s == EMBER_OK && i < out_row;) {
        int64_t c = (int64_t)i - b;
        if (off >= 0 && c >= 0 && c < in_dim) {
            size_t run = (size_t)(in_dim - c) < out_row - i ? (size_t)(in_dim - c) : out_row - i;
            s = shp_move_n(j->m, base + i, (size_t)(off + c), run);
            i += run;
            continue;
        }
        int64_t src = off < 0 ? -1 : pad_coord(p->mode, c, in_dim);
        if (src >= 0) {
            s = shp_move(j->m, base + i, (size_t)(off + src));
            i++;
            continue;
        }
        /* A fill run: up to the interior, or to the end of the row. */
        size_t stop = off >= 0 && c < 0 && (size_t)b < out_row ? (size_t)b : out_row;
        if (esize > 0)
            pad_fill_run((unsigned char *)j->m->y->data + (base + i) * esize, stop - i,
                         j->fill, esize);
        i = stop;
    }
    return s;
}

static void pad_rows(void *arg, size_t begin, size_t end)
{
    pad_job *j = arg;
    size_t out_row = (size_t)j->dims[j->map->rank - 1];
    for (size_t r = begin; r < end; r++) {
        ember_status s = pad_row(j, r * out_row, pad_row_source(j->map, j->dims, r));
        if (s != EMBER_OK) {
            j->status = s;
            return;
        }
    }
}

/* Writes output 0 (shape dims) row by row. */
static ember_status pad_emit(const cpu_kernel *k, ember_kernel_context *ctx,
                             const ember_tensor *x, const pad_map *map, const int64_t *dims,
                             const unsigned char *fill)
{
    ember_tensor *y;
    shp_mover m;
    ember_status s = cpu_output(k, ctx, 0, x->dtype, dims, x->rank, &y);
    size_t total = cpu_numel(dims, x->rank);
    if (s != EMBER_OK || total == 0)
        return s;
    shp_mover_init(&m, k, x, y);
    if (x->rank == 0)
        return shp_move(&m, 0, 0);
    pad_job j = {&m, map, dims, fill, EMBER_OK};
    size_t rows = total / (size_t)dims[x->rank - 1];
    if (m.esize > 0)
        cpu_parallel(ctx, k, rows, total, pad_rows, &j);
    else
        pad_rows(&j, 0, rows);
    return j.status;
}

/* Reads pads (and axes) into begin/end per dim. */
static ember_status pad_amounts(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor *x, int64_t *begin, int64_t *end)
{
    const pad_params *p = k->params;
    int64_t pads[2 * CPU_MAX_RANK], axes[CPU_MAX_RANK];
    size_t n_pads = p->n_pads, n_axes = x->rank;
    ember_status s = EMBER_OK;
    memcpy(pads, p->pads, sizeof pads);
    if (k->opset >= 11)
        s = cpu_shp_read_list(k, ctx, 1, pads, 2 * CPU_MAX_RANK, &n_pads);
    if (s == EMBER_OK && k->opset >= 18 && cpu_opt_input(k, ctx, 3) != NULL)
        s = cpu_shp_read_list(k, ctx, 3, axes, CPU_MAX_RANK, &n_axes);
    else
        for (size_t d = 0; d < x->rank; d++)
            axes[d] = (int64_t)d;
    if (s != EMBER_OK)
        return s;
    if (n_pads != 2 * n_axes)
        return cpu_fail_shape(k, 0, x, "pads does not hold two values per padded axis");
    memset(begin, 0, x->rank * sizeof *begin);
    memset(end, 0, x->rank * sizeof *end);
    for (size_t i = 0; i < n_axes; i++) {
        size_t a;
        if (!cpu_normalize_axis(axes[i], x->rank, &a))
            return cpu_fail_shape(k, 0, x, "a pad axis is out of range");
        begin[a] = pads[i];
        end[a] = pads[n_axes + i];
    }
    return EMBER_OK;
}

/* The constant fill element, in x's dtype. */
static ember_status pad_fill(const cpu_kernel *k, ember_kernel_context *ctx,
                             const ember_tensor *x, unsigned char *fill)
{
    const pad_params *p = k->params;
    memset(fill, 0, 16);
    if (k->opset < 11) {
        if (shp_is_numeric(x->dtype))
            shp_set(fill, x->dtype, 0, p->value);
        return EMBER_OK;
    }
    const ember_tensor *v = cpu_opt_input(k, ctx, 2);
    if (v == NULL || cpu_tensor_numel(v) == 0 || x->dtype == EMBER_DTYPE_STRING)
        return EMBER_OK;
    if (v->dtype != x->dtype)
        return cpu_fail_dtype(k, 2, v->dtype);
    memcpy(fill, v->data, cpu_dtype_size(v->dtype));
    return EMBER_OK;
}

static ember_status pad_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const pad_params *p = k->params;
    const ember_tensor *x;
    int64_t end[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    unsigned char fill[16];
    pad_map m = {p->mode, 0, NULL, {0}, {0}};
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = pad_amounts(k, ctx, x, m.begin, end);
    if (s == EMBER_OK)
        s = pad_fill(k, ctx, x, fill);
    if (s != EMBER_OK)
        return s;
    m.rank = x->rank;
    m.in_dims = x->dims;
    shp_strides(x->dims, x->rank, m.stride);
    for (size_t d = 0; d < x->rank; d++) {
        if (__builtin_add_overflow(x->dims[d], m.begin[d], &dims[d]) ||
            __builtin_add_overflow(dims[d], end[d], &dims[d]) || dims[d] < 0)
            return cpu_fail_shape(k, 0, x, "the padded dim is negative or overflows");
        if (x->dims[d] == 0 && dims[d] > 0 && p->mode != PAD_CONSTANT)
            return cpu_fail_shape(k, 0, x, "an empty dim cannot be padded in this mode");
    }
    return pad_emit(k, ctx, x, &m, dims, fill);
}

ember_status cpu_pad_create(cpu_kernel *k, const ember_node *node)
{
    char mode[16];
    ember_status s = cpu_kernel_params(k, sizeof(pad_params));
    if (s != EMBER_OK)
        return s;
    pad_params *p = k->params;
    k->run = pad_run;
    s = cpu_attr_string(k, node, "mode", "constant", mode, sizeof mode);
    if (s == EMBER_OK && k->opset < 11) {
        s = cpu_attr_ints(k, node, k->opset < 2 ? "paddings" : "pads", p->pads,
                          2 * CPU_MAX_RANK, &p->n_pads);
        if (s == EMBER_OK)
            s = cpu_attr_float(k, node, "value", 0.0f, &p->value);
    }
    if (s != EMBER_OK)
        return s;
    if (strcmp(mode, "constant") == 0)
        p->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p->mode = PAD_EDGE;
    else if (strcmp(mode, "wrap") == 0 && k->opset >= 19)
        p->mode = PAD_WRAP;
    else
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'mode' has unknown value '%s'", k->name,
                             k->op, mode);
    return EMBER_OK;
}
