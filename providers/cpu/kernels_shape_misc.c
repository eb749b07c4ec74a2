/*
 * Part of the shape family (helpers in kernels_shape.c): the
 * rearranging ops (CenterCropPad, DepthToSpace, SpaceToDepth,
 * ReverseSequence, Compress, Trilu) and the generators (Range,
 * ConstantOfShape, EyeLike, OneHot, Size, NonZero).
 */
#include "kernels_shape.h"

#include <math.h>
#include <stdlib.h>

/* ---- CenterCropPad ----------------------------------------------------- */

typedef struct ccp_params {
    size_t n_axes;
    int64_t axes[CPU_MAX_RANK];
} ccp_params;

/* offset[d]: output coordinate minus input coordinate. */
typedef struct ccp_map {
    size_t rank;
    const int64_t *in_dims;
    int64_t offset[CPU_MAX_RANK], stride[CPU_MAX_RANK];
} ccp_map;

static int64_t ccp_src(const void *arg, const int64_t *coord)
{
    const ccp_map *m = arg;
    int64_t off = 0;
    for (size_t d = 0; d < m->rank; d++) {
        int64_t c = coord[d] - m->offset[d];
        if (c < 0 || c >= m->in_dims[d])
            return -1;
        off += c * m->stride[d];
    }
    return off;
}

static ember_status ccp_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ccp_params *p = k->params;
    const ember_tensor *x;
    int64_t shape[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    size_t n;
    ccp_map m = {0, NULL, {0}, {0}};
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_shp_read_list(k, ctx, 1, shape, CPU_MAX_RANK, &n);
    if (s != EMBER_OK)
        return s;
    size_t n_axes = p->n_axes ? p->n_axes : x->rank;
    if (n != n_axes)
        return cpu_fail_shape(k, 1, k->host->ctx_input(ctx, 1),
                              "shape does not hold one value per axis");
    m.rank = x->rank;
    m.in_dims = x->dims;
    shp_strides(x->dims, x->rank, m.stride);
    memcpy(dims, x->dims, x->rank * sizeof *dims);
    for (size_t i = 0; i < n_axes; i++) {
        size_t a = i;
        if (p->n_axes && !cpu_normalize_axis(p->axes[i], x->rank, &a))
            return cpu_fail_shape(k, 0, x, "an axis is out of range");
        if (shape[i] < 0)
            return cpu_fail_shape(k, 0, x, "a requested size is negative");
        dims[a] = shape[i];
        int64_t dim = x->dims[a];
        m.offset[a] = shape[i] < dim ? -((dim - shape[i]) / 2) : (shape[i] - dim) / 2;
    }
    return cpu_shp_emit_map(k, ctx, x, dims, x->rank, ccp_src, &m, NULL);
}

ember_status cpu_ccp_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(ccp_params));
    if (s != EMBER_OK)
        return s;
    ccp_params *p = k->params;
    k->run = ccp_run;
    return cpu_attr_ints(k, node, "axes", p->axes, CPU_MAX_RANK, &p->n_axes);
}

/* ---- DepthToSpace / SpaceToDepth --------------------------------------- */

typedef struct d2s_params {
    int64_t block;
    bool crd;
} d2s_params;

typedef struct d2s_map {
    int64_t b, c_out, c_in, h_in, w_in;
    bool crd;
} d2s_map;

/* Output (n, c, y, x) of DepthToSpace. */
static int64_t d2s_src(const void *arg, const int64_t *coord)
{
    const d2s_map *m = arg;
    int64_t bh = coord[2] % m->b, bw = coord[3] % m->b;
    int64_t h = coord[2] / m->b, w = coord[3] / m->b;
    int64_t c = m->crd ? coord[1] * m->b * m->b + bh * m->b + bw
                       : (bh * m->b + bw) * m->c_out + coord[1];
    return ((coord[0] * m->c_in + c) * m->h_in + h) * m->w_in + w;
}

/* Output (n, oc, h, w) of SpaceToDepth. */
static int64_t s2d_src(const void *arg, const int64_t *coord)
{
    const d2s_map *m = arg;
    int64_t c = coord[1] % m->c_in, bw = (coord[1] / m->c_in) % m->b;
    int64_t bh = coord[1] / (m->c_in * m->b);
    if (m->crd) {
        c = coord[1] / (m->b * m->b);
        bh = (coord[1] / m->b) % m->b;
        bw = coord[1] % m->b;
    }
    int64_t y = coord[2] * m->b + bh, x = coord[3] * m->b + bw;
    return ((coord[0] * m->c_in + c) * m->h_in + y) * m->w_in + x;
}

static ember_status d2s_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const d2s_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (x->rank != 4)
        return cpu_fail_shape(k, 0, x, "expected a 4-D tensor");
    int64_t b = p->block, dims[4];
    d2s_map m = {b, 0, x->dims[1], x->dims[2], x->dims[3], p->crd};
    bool depth_to_space = strcmp(k->op, "DepthToSpace") == 0;
    if (depth_to_space) {
        if (x->dims[1] % (b * b) != 0)
            return cpu_fail_shape(k, 0, x, "channels are not a multiple of blocksize^2");
        m.c_out = x->dims[1] / (b * b);
        dims[0] = x->dims[0];
        dims[1] = m.c_out;
        if (__builtin_mul_overflow(x->dims[2], b, &dims[2]) ||
            __builtin_mul_overflow(x->dims[3], b, &dims[3]))
            return cpu_fail_shape(k, 0, x, "the output shape overflows");
    } else {
        if (x->dims[2] % b != 0 || x->dims[3] % b != 0)
            return cpu_fail_shape(k, 0, x, "height or width is not a multiple of blocksize");
        dims[0] = x->dims[0];
        if (__builtin_mul_overflow(x->dims[1], b * b, &dims[1]))
            return cpu_fail_shape(k, 0, x, "the output shape overflows");
        dims[2] = x->dims[2] / b;
        dims[3] = x->dims[3] / b;
    }
    return cpu_shp_emit_map(k, ctx, x, dims, 4, depth_to_space ? d2s_src : s2d_src, &m, NULL);
}

static ember_status d2s_decode(cpu_kernel *k, const ember_node *node, bool has_mode)
{
    char mode[8];
    ember_status s = cpu_kernel_params(k, sizeof(d2s_params));
    if (s != EMBER_OK)
        return s;
    d2s_params *p = k->params;
    k->run = d2s_run;
    if (!cpu_attr_has(k, node, "blocksize"))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'blocksize' is required", k->name,
                             k->op);
    s = cpu_attr_int(k, node, "blocksize", 1, &p->block);
    if (s == EMBER_OK && (p->block <= 0 || p->block > (1 << 30)))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'blocksize' (%lld) is out of range",
                             k->name, k->op, (long long)p->block);
    if (s == EMBER_OK && has_mode)
        s = cpu_attr_string(k, node, "mode", "DCR", mode, sizeof mode);
    if (s != EMBER_OK || !has_mode)
        return s;
    if (strcmp(mode, "CRD") != 0 && strcmp(mode, "DCR") != 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'mode' has unknown value '%s'", k->name,
                             k->op, mode);
    p->crd = strcmp(mode, "CRD") == 0;
    return EMBER_OK;
}

ember_status cpu_d2s_create(cpu_kernel *k, const ember_node *node)
{
    return d2s_decode(k, node, k->opset >= 11);
}

ember_status cpu_s2d_create(cpu_kernel *k, const ember_node *node)
{
    return d2s_decode(k, node, k->opset >= 28);
}

/* ---- ReverseSequence --------------------------------------------------- */

typedef struct revseq_params {
    int64_t batch_axis, time_axis;
} revseq_params;

typedef struct revseq_map {
    size_t rank, batch_axis, time_axis;
    const ember_tensor *lens;
    int64_t stride[CPU_MAX_RANK];
} revseq_map;

static int64_t revseq_src(const void *arg, const int64_t *coord)
{
    const revseq_map *m = arg;
    int64_t len = shp_index_at(m->lens, (size_t)coord[m->batch_axis]);
    int64_t off = 0;
    for (size_t d = 0; d < m->rank; d++) {
        int64_t c = coord[d];
        if (d == m->time_axis && c < len)
            c = len - 1 - c;
        off += c * m->stride[d];
    }
    return off;
}

static ember_status revseq_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const revseq_params *p = k->params;
    const ember_tensor *x, *lens;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_shp_index_input(k, ctx, 1, &lens);
    if (s != EMBER_OK)
        return s;
    revseq_map m = {x->rank, (size_t)p->batch_axis, (size_t)p->time_axis, lens, {0}};
    if (x->rank < 2)
        return cpu_fail_shape(k, 0, x, "expected rank 2 or more");
    if (lens->rank != 1 || lens->dims[0] != x->dims[m.batch_axis])
        return cpu_fail_shape(k, 1, lens, "sequence_lens does not match the batch size");
    for (size_t i = 0; i < (size_t)lens->dims[0]; i++) {
        int64_t v = shp_index_at(lens, i);
        if (v < 0 || v > x->dims[m.time_axis])
            return cpu_shp_fail_index(k, 1, i, v, x->dims[m.time_axis] + 1);
    }
    shp_strides(x->dims, x->rank, m.stride);
    return cpu_shp_emit_map(k, ctx, x, x->dims, x->rank, revseq_src, &m, NULL);
}

ember_status cpu_revseq_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(revseq_params));
    if (s != EMBER_OK)
        return s;
    revseq_params *p = k->params;
    k->run = revseq_run;
    s = cpu_attr_int(k, node, "batch_axis", 1, &p->batch_axis);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "time_axis", 0, &p->time_axis);
    if (s == EMBER_OK && (p->batch_axis < 0 || p->batch_axis > 1 || p->time_axis < 0 ||
                          p->time_axis > 1 || p->batch_axis == p->time_axis))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): batch_axis and time_axis must be 0 and 1", k->name,
                             k->op);
    return s;
}

/* ---- Compress ---------------------------------------------------------- */

typedef struct compress_params {
    bool has_axis;
    int64_t axis;
} compress_params;

/* Copies the selected slices: slice i of each outer block when c[i]. */
static ember_status compress_copy(const cpu_kernel *k, const ember_tensor *x, const uint8_t *c,
                                  size_t n_cond, size_t outer, size_t dim, size_t inner,
                                  ember_tensor *y)
{
    shp_mover m;
    ember_status s = EMBER_OK;
    size_t out = 0;
    shp_mover_init(&m, k, x, y);
    for (size_t o = 0; s == EMBER_OK && o < outer; o++) {
        for (size_t i = 0; s == EMBER_OK && i < n_cond; i++) {
            if (!c[i])
                continue;
            s = shp_move_n(&m, out, (o * dim + i) * inner, inner);
            out += inner;
        }
    }
    return s;
}

static ember_status compress_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const compress_params *p = k->params;
    const ember_tensor *x, *cond;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &cond);
    if (s != EMBER_OK)
        return s;
    if (cond->dtype != EMBER_DTYPE_BOOL)
        return cpu_fail_dtype(k, 1, cond->dtype);
    if (cond->rank != 1)
        return cpu_fail_shape(k, 1, cond, "expected a 1-D condition");
    size_t axis = 0, outer = 1, inner = 1, dim = cpu_tensor_numel(x);
    if (p->has_axis) {
        if (!cpu_normalize_axis(p->axis, x->rank, &axis))
            return cpu_fail_shape(k, 0, x, "the axis is out of range");
        outer = cpu_numel(x->dims, axis);
        inner = cpu_numel(x->dims + axis + 1, x->rank - axis - 1);
        dim = (size_t)x->dims[axis];
    }
    const uint8_t *c = cond->data;
    size_t n_cond = (size_t)cond->dims[0], kept = 0;
    for (size_t i = 0; i < n_cond; i++) {
        if (c[i] && i >= dim)
            return cpu_fail_shape(k, 1, cond, "the condition selects past the end of the axis");
        kept += c[i] != 0;
    }
    int64_t dims[CPU_MAX_RANK];
    size_t rank = 1;
    dims[0] = (int64_t)kept;
    if (p->has_axis) {
        memcpy(dims, x->dims, x->rank * sizeof *dims);
        dims[axis] = (int64_t)kept;
        rank = x->rank;
    }
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, dims, rank, &y);
    return s == EMBER_OK ? compress_copy(k, x, c, n_cond < dim ? n_cond : dim, outer, dim,
                                         inner, y)
                         : s;
}

ember_status cpu_compress_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(compress_params));
    if (s != EMBER_OK)
        return s;
    compress_params *p = k->params;
    k->run = compress_run;
    p->has_axis = cpu_attr_has(k, node, "axis");
    return cpu_attr_int(k, node, "axis", 0, &p->axis);
}

/* ---- Trilu ------------------------------------------------------------- */

static ember_status trilu_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const int64_t *upper = k->params;
    const ember_tensor *x, *kt = cpu_opt_input(k, ctx, 1);
    int64_t diag = 0;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (x->dtype == EMBER_DTYPE_STRING)
        return cpu_fail_dtype(k, 0, x->dtype);
    if (x->rank < 2)
        return cpu_fail_shape(k, 0, x, "expected rank 2 or more");
    if (kt != NULL) {
        size_t n;
        s = cpu_read_ints(k, 1, kt, &diag, 1, &n);
        if (s == EMBER_OK && n != 1)
            return cpu_fail_shape(k, 1, kt, "k must hold one value");
    }
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x->dtype, x->dims, x->rank, &y);
    size_t total = cpu_tensor_numel(x), esize = cpu_dtype_size(x->dtype);
    if (s != EMBER_OK || total == 0)
        return s;
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    memcpy(y->data, x->data, total * esize);
    unsigned char *out = y->data;
    for (size_t mat = 0; mat < total / (size_t)(rows * cols); mat++) {
        for (int64_t i = 0; i < rows; i++) {
            for (int64_t j = 0; j < cols; j++) {
                bool keep = *upper ? j - i >= diag : j - i <= diag;
                if (!keep)
                    memset(out + ((mat * (size_t)rows + (size_t)i) * (size_t)cols + (size_t)j) *
                                     esize,
                           0, esize);
            }
        }
    }
    return EMBER_OK;
}

ember_status cpu_trilu_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(int64_t));
    k->run = trilu_run;
    return s == EMBER_OK ? cpu_attr_int(k, node, "upper", 1, k->params) : s;
}

/* ---- Range ------------------------------------------------------------- */

static ember_status range_scalar(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                                 uint32_t dtype, const ember_tensor **out)
{
    ember_status s = cpu_input(k, ctx, index, out);
    if (s != EMBER_OK)
        return s;
    if ((*out)->dtype != dtype || !shp_is_numeric(dtype) || dtype == EMBER_DTYPE_BOOL)
        return cpu_fail_dtype(k, index, (*out)->dtype);
    if (cpu_tensor_numel(*out) != 1)
        return cpu_fail_shape(k, index, *out, "expected a scalar");
    return EMBER_OK;
}

static ember_status range_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *t0, *t1, *t2;
    ember_status s = cpu_input(k, ctx, 0, &t0);
    if (s == EMBER_OK)
        s = range_scalar(k, ctx, 0, t0->dtype, &t0);
    if (s == EMBER_OK)
        s = range_scalar(k, ctx, 1, t0->dtype, &t1);
    if (s == EMBER_OK)
        s = range_scalar(k, ctx, 2, t0->dtype, &t2);
    if (s != EMBER_OK)
        return s;
    uint32_t dt = t0->dtype;
    double start = cpu_get_f64(t0->data, dt, 0), limit = cpu_get_f64(t1->data, dt, 0);
    double delta = cpu_get_f64(t2->data, dt, 0);
    if (delta == 0.0)
        return cpu_fail_shape(k, 2, t2, "delta is 0");
    double count = ceil((limit - start) / delta);
    if (!(count >= 0.0))
        count = 0.0;
    if (count > 1e12)
        return cpu_fail_shape(k, 1, t1, "the range has too many elements");
    int64_t n = (int64_t)count;
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, dt, &n, 1, &y);
    if (s != EMBER_OK)
        return s;
    if (dt == EMBER_DTYPE_INT64) {
        int64_t a = ((const int64_t *)t0->data)[0], d = ((const int64_t *)t2->data)[0];
        for (int64_t i = 0; i < n; i++)
            ((int64_t *)y->data)[i] = (int64_t)((uint64_t)a + (uint64_t)i * (uint64_t)d);
        return EMBER_OK;
    }
    for (int64_t i = 0; i < n; i++)
        shp_set(y->data, dt, (size_t)i, start + (double)i * delta);
    return EMBER_OK;
}

ember_status cpu_range_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = range_run;
    return EMBER_OK;
}

/* ---- ConstantOfShape --------------------------------------------------- */

typedef struct cos_params {
    uint32_t dtype;
    unsigned char value[16];
} cos_params;

static ember_status cos_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const cos_params *p = k->params;
    int64_t dims[CPU_MAX_RANK];
    size_t rank;
    ember_status s = cpu_shp_read_list(k, ctx, 0, dims, CPU_MAX_RANK, &rank);
    if (s != EMBER_OK)
        return s;
    for (size_t d = 0; d < rank; d++) {
        if (dims[d] < 0)
            return cpu_fail_shape(k, 0, k->host->ctx_input(ctx, 0), "a dim is negative");
    }
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, p->dtype, dims, rank, &y);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(y), esize = cpu_dtype_size(p->dtype);
    for (size_t i = 0; i < n; i++)
        memcpy((unsigned char *)y->data + i * esize, p->value, esize);
    return EMBER_OK;
}

ember_status cpu_cos_create(cpu_kernel *k, const ember_node *node)
{
    ember_attr attr;
    ember_status s = cpu_kernel_params(k, sizeof(cos_params));
    if (s != EMBER_OK)
        return s;
    cos_params *p = k->params;
    k->run = cos_run;
    p->dtype = EMBER_DTYPE_FLOAT32;
    if (!k->host->node_attr(node, "value", &attr))
        return EMBER_OK;
    if (attr.type != EMBER_ATTR_TENSOR || attr.tensor == NULL ||
        cpu_numel(attr.tensor->dims, attr.tensor->rank) != 1 ||
        cpu_dtype_size(attr.tensor->dtype) == 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'value' must be a one-element tensor "
                             "of a fixed-size type",
                             k->name, k->op);
    p->dtype = attr.tensor->dtype;
    memcpy(p->value, attr.tensor->data, cpu_dtype_size(p->dtype));
    return EMBER_OK;
}

/* ---- EyeLike ----------------------------------------------------------- */

typedef struct eyelike_params {
    int64_t dtype, k;
} eyelike_params;

static ember_status eyelike_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const eyelike_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (x->rank != 2)
        return cpu_fail_shape(k, 0, x, "expected a 2-D tensor");
    uint32_t dt = p->dtype ? (uint32_t)p->dtype : x->dtype;
    if (!shp_is_numeric(dt))
        return cpu_fail_dtype(k, 0, dt);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, dt, x->dims, 2, &y);
    if (s != EMBER_OK)
        return s;
    int64_t rows = x->dims[0], cols = x->dims[1];
    memset(y->data, 0, cpu_tensor_numel(y) * cpu_dtype_size(dt));
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + p->k;
        if (j >= 0 && j < cols)
            shp_set(y->data, dt, (size_t)(i * cols + j), 1.0);
    }
    return EMBER_OK;
}

ember_status cpu_eyelike_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(eyelike_params));
    if (s != EMBER_OK)
        return s;
    eyelike_params *p = k->params;
    k->run = eyelike_run;
    s = cpu_attr_int(k, node, "dtype", 0, &p->dtype);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "k", 0, &p->k);
    if (s == EMBER_OK && (p->dtype < 0 || p->dtype >= 32 ||
                          (p->dtype != 0 && !shp_is_numeric((uint32_t)p->dtype))))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'dtype' (%lld) is not supported",
                             k->name, k->op, (long long)p->dtype);
    return s;
}

/* ---- OneHot ------------------------------------------------------------ */

static ember_status onehot_inputs(const cpu_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor **idx, int64_t *depth,
                                  const ember_tensor **values)
{
    const ember_tensor *d;
    ember_status s = cpu_input(k, ctx, 0, idx);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &d);
    if (s == EMBER_OK)
        s = cpu_shp_data_input(k, ctx, 2, values);
    if (s != EMBER_OK)
        return s;
    if (!shp_is_numeric((*idx)->dtype))
        return cpu_fail_dtype(k, 0, (*idx)->dtype);
    if (!shp_is_numeric(d->dtype))
        return cpu_fail_dtype(k, 1, d->dtype);
    if (cpu_tensor_numel(d) != 1)
        return cpu_fail_shape(k, 1, d, "depth must hold one value");
    if (cpu_tensor_numel(*values) != 2)
        return cpu_fail_shape(k, 2, *values, "values must hold two elements");
    double dv = cpu_get_f64(d->data, d->dtype, 0);
    if (!(dv >= 1.0 && dv < 9e15))
        return cpu_fail_shape(k, 1, d, "depth must be positive");
    *depth = (int64_t)dv;
    if (*depth <= 0)
        return cpu_fail_shape(k, 1, d, "depth must be positive");
    return EMBER_OK;
}

static ember_status onehot_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const int64_t *axis_attr = k->params;
    const ember_tensor *idx, *values;
    int64_t depth = 0, dims[CPU_MAX_RANK];
    size_t axis;
    ember_status s = onehot_inputs(k, ctx, &idx, &depth, &values);
    if (s != EMBER_OK)
        return s;
    if (idx->rank + 1 > CPU_MAX_RANK || !cpu_normalize_axis(*axis_attr, idx->rank + 1, &axis))
        return cpu_fail_shape(k, 0, idx, "the axis is out of range");
    for (size_t d = 0, j = 0; d <= idx->rank; d++)
        dims[d] = d == axis ? depth : idx->dims[j++];
    ember_tensor *y;
    shp_mover m;
    s = cpu_output(k, ctx, 0, values->dtype, dims, idx->rank + 1, &y);
    shp_mover_init(&m, k, values, y);
    size_t outer = cpu_numel(idx->dims, axis);
    size_t inner = cpu_numel(idx->dims + axis, idx->rank - axis);
    for (size_t o = 0; s == EMBER_OK && o < outer; o++) {
        for (size_t i = 0; s == EMBER_OK && i < inner; i++) {
            double dv = cpu_get_f64(idx->data, idx->dtype, o * inner + i);
            int64_t v = dv > -9e18 && dv < 9e18 ? (int64_t)dv : INT64_MIN;
            v = v < 0 ? v + depth : v;
            for (int64_t c = 0; s == EMBER_OK && c < depth; c++)
                s = shp_move(&m, (o * (size_t)depth + (size_t)c) * inner + i, c == v ? 1 : 0);
        }
    }
    return s;
}

ember_status cpu_onehot_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(int64_t));
    k->run = onehot_run;
    return s == EMBER_OK ? cpu_attr_int(k, node, "axis", -1, k->params) : s;
}

/* ---- Size -------------------------------------------------------------- */

static ember_status size_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_tensor *y;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, EMBER_DTYPE_INT64, NULL, 0, &y);
    if (s == EMBER_OK)
        *(int64_t *)y->data = (int64_t)cpu_tensor_numel(x);
    return s;
}

ember_status cpu_size_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = size_run;
    return EMBER_OK;
}

/* ---- NonZero ----------------------------------------------------------- */

static ember_status nonzero_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!shp_is_numeric(x->dtype))
        return cpu_fail_dtype(k, 0, x->dtype);
    size_t n = cpu_tensor_numel(x), nnz = 0, rank = x->rank ? x->rank : 1;
    for (size_t i = 0; i < n; i++)
        nnz += cpu_get_f64(x->data, x->dtype, i) != 0.0;
    int64_t dims[2] = {(int64_t)rank, (int64_t)nnz};
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, EMBER_DTYPE_INT64, dims, 2, &y);
    if (s != EMBER_OK)
        return s;
    int64_t *out = y->data;
    for (size_t i = 0, j = 0; i < n; i++) {
        if (cpu_get_f64(x->data, x->dtype, i) == 0.0)
            continue;
        size_t rem = i;
        for (size_t d = x->rank; d-- > 0;) {
            out[d * nnz + j] = (int64_t)(rem % (size_t)x->dims[d]);
            rem /= (size_t)x->dims[d];
        }
        if (x->rank == 0)
            out[j] = 0;
        j++;
    }
    return EMBER_OK;
}

ember_status cpu_nonzero_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = nonzero_run;
    return EMBER_OK;
}
