/*
 * Shape manipulation and indexing ops: the data-movement family (Slice,
 * Split, Expand, Tile, Pad, CenterCropPad, DepthToSpace, SpaceToDepth,
 * ReverseSequence, Compress, Trilu), the generators (Range,
 * ConstantOfShape, EyeLike, OneHot, Size, NonZero), the indexing ops
 * (GatherElements, GatherND, ScatterElements, Scatter, ScatterND,
 * TensorScatter), Unique and Col2Im.
 *
 * Most kernels move whole elements: they copy by element size and so serve
 * every fixed-size dtype, and strings through host->tensor_set_string. This
 * file holds the helpers the family shares (declared in kernels_shape.h),
 * Slice, Split, Expand and Tile, and the family's registration table. Pad
 * lives in kernels_shape_pad.c, the other rearranging ops and the
 * generators in kernels_shape_misc.c, the indexing ops, Unique and Col2Im
 * in kernels_shape_index.c.
 */
#include "kernels_shape.h"

#include <math.h>
#include <stdlib.h>

/* ---- helpers ----------------------------------------------------------- */

/* Claim check: input 0 holds whole elements (fixed size or string). */
static bool shp_check_data(const ember_host_api *host, const ember_node *node)
{
    ember_type_info info;
    if (!host->node_input_type(node, 0, &info) || info.dtype == EMBER_DTYPE_UNDEFINED)
        return true;
    return shp_movable(info.dtype);
}

static bool shp_check_numeric(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_NUMERIC | CPU_DT(EMBER_DTYPE_BOOL));
}

ember_status cpu_shp_data_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                                const ember_tensor **out)
{
    ember_status s = cpu_input(k, ctx, index, out);
    if (s == EMBER_OK && !shp_movable((*out)->dtype))
        return cpu_fail_dtype(k, index, (*out)->dtype);
    return s;
}

ember_status cpu_shp_fail_index(const cpu_kernel *k, size_t input, size_t pos, int64_t v,
                                int64_t dim)
{
    return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                         "node '%s' (%s): input %zu holds index %lld at position %zu, out of "
                         "range [%lld, %lld)",
                         k->name, k->op, input, (long long)v, pos, (long long)-dim,
                         (long long)dim);
}

ember_status cpu_shp_index_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                                 const ember_tensor **out)
{
    ember_status s = cpu_input(k, ctx, index, out);
    if (s == EMBER_OK && (*out)->dtype != EMBER_DTYPE_INT64 &&
        (*out)->dtype != EMBER_DTYPE_INT32)
        return cpu_fail_dtype(k, index, (*out)->dtype);
    return s;
}

ember_status cpu_shp_scratch(const cpu_kernel *k, ember_kernel_context *ctx, size_t bytes,
                             void **out)
{
    ember_status s = k->host->ctx_scratch(ctx, bytes ? bytes : 1, out);
    return s == EMBER_OK ? s : cpu_fail_oom(k);
}

ember_status cpu_shp_read_list(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                               int64_t *out, size_t cap, size_t *n)
{
    const ember_tensor *t;
    ember_status s = cpu_input(k, ctx, index, &t);
    return s == EMBER_OK ? cpu_read_ints(k, index, t, out, cap, n) : s;
}

typedef struct shp_map_job {
    const shp_mover *m;
    const int64_t *dims;
    size_t rank;
    shp_map_fn fn;
    const void *arg, *fill;
    ember_status status; /* of the serial (string) walk */
} shp_map_job;

/* Output elements [begin, end) of the map. */
static void shp_map_range(void *arg, size_t begin, size_t end)
{
    shp_map_job *j = arg;
    int64_t coord[CPU_MAX_RANK] = {0};
    size_t rem = begin;
    for (size_t d = j->rank; d-- > 0;) {
        coord[d] = (int64_t)(rem % (size_t)j->dims[d]);
        rem /= (size_t)j->dims[d];
    }
    for (size_t i = begin; i < end; i++) {
        int64_t src = j->fn(j->arg, coord);
        ember_status s = EMBER_OK;
        if (src >= 0)
            s = shp_move(j->m, i, (size_t)src);
        else if (j->m->esize > 0)
            memcpy((unsigned char *)j->m->y->data + i * j->m->esize, j->fill, j->m->esize);
        if (s != EMBER_OK) {
            j->status = s;
            return;
        }
        for (size_t d = j->rank; d-- > 0;) {
            if (++coord[d] < j->dims[d])
                break;
            coord[d] = 0;
        }
    }
}

/* Fixed-size elements spread over the session's threads; strings (whose
 * setter allocates and may fail) walk serially. */
static ember_status shp_map(const shp_mover *m, const int64_t *dims, size_t rank, shp_map_fn fn,
                            const void *arg, const void *fill)
{
    size_t n = cpu_numel(dims, rank);
    shp_map_job j = {m, dims, rank, fn, arg, fill, EMBER_OK};
    if (m->esize > 0 && m->ctx != NULL)
        cpu_parallel(m->ctx, m->k, n, n * (rank + 1), shp_map_range, &j);
    else
        shp_map_range(&j, 0, n);
    return j.status;
}

/*
 * The strided map: y[coord] = x[base + sum coord[d] * step[d]]. Walks rows
 * of the innermost dim.
 */
typedef struct shp_strided_job {
    const shp_mover *m;
    const int64_t *dims, *step;
    size_t rank;
    int64_t base;
    ember_status status;
} shp_strided_job;

static void shp_strided_rows(void *arg, size_t begin, size_t end)
{
    shp_strided_job *j = arg;
    size_t rank = j->rank, inner = (size_t)j->dims[rank - 1];
    int64_t istep = j->step[rank - 1];
    for (size_t r = begin; r < end; r++) {
        int64_t off = j->base;
        size_t rem = r;
        ember_status s = EMBER_OK;
        for (size_t d = rank - 1; d-- > 0;) {
            off += (int64_t)(rem % (size_t)j->dims[d]) * j->step[d];
            rem /= (size_t)j->dims[d];
        }
        if (istep == 1)
            s = shp_move_n(j->m, r * inner, (size_t)off, inner);
        for (size_t i = 0; istep != 1 && s == EMBER_OK && i < inner; i++)
            s = shp_move(j->m, r * inner + i, (size_t)(off + (int64_t)i * istep));
        if (s != EMBER_OK) {
            j->status = s;
            return;
        }
    }
}

static ember_status shp_strided(const shp_mover *m, const int64_t *dims, size_t rank,
                                int64_t base, const int64_t *step)
{
    size_t n = cpu_numel(dims, rank);
    if (n == 0)
        return EMBER_OK;
    if (rank == 0)
        return shp_move(m, 0, (size_t)base);
    shp_strided_job j = {m, dims, step, rank, base, EMBER_OK};
    size_t rows = n / (size_t)dims[rank - 1];
    if (m->esize > 0 && m->ctx != NULL)
        cpu_parallel(m->ctx, m->k, rows, n, shp_strided_rows, &j);
    else
        shp_strided_rows(&j, 0, rows);
    return j.status;
}

/* Output 0 shaped dims, then every element copied from x through the
 * strided map. */
static ember_status shp_emit_strided(const cpu_kernel *k, ember_kernel_context *ctx,
                                     const ember_tensor *x, const int64_t *dims, size_t rank,
                                     int64_t base, const int64_t *step)
{
    ember_tensor *y;
    shp_mover m;
    ember_status s = cpu_output(k, ctx, 0, x->dtype, dims, rank, &y);
    if (s != EMBER_OK)
        return s;
    shp_mover_init(&m, k, x, y);
    m.ctx = ctx;
    return shp_strided(&m, dims, rank, base, step);
}

ember_status cpu_shp_emit_map(const cpu_kernel *k, ember_kernel_context *ctx,
                              const ember_tensor *x, const int64_t *dims, size_t rank,
                              shp_map_fn fn, const void *arg, const void *fill)
{
    static const unsigned char zero[16] = {0};
    ember_tensor *y;
    shp_mover m;
    ember_status s = cpu_output(k, ctx, 0, x->dtype, dims, rank, &y);
    if (s != EMBER_OK)
        return s;
    shp_mover_init(&m, k, x, y);
    m.ctx = ctx;
    return shp_map(&m, dims, rank, fn, arg, fill ? fill : zero);
}

/* ---- Slice ------------------------------------------------------------- */

typedef struct slice_params {
    size_t n_starts, n_ends, n_axes; /* opset < 10: the attributes */
    int64_t starts[CPU_MAX_RANK], ends[CPU_MAX_RANK], axes[CPU_MAX_RANK];
} slice_params;

typedef struct slice_spec {
    size_t n;
    int64_t starts[CPU_MAX_RANK], ends[CPU_MAX_RANK], axes[CPU_MAX_RANK],
        steps[CPU_MAX_RANK];
} slice_spec;

static int64_t slice_clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Resolves one axis: first element and count. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *first,
                       int64_t *count)
{
    if (start < 0)
        start = start < -dim ? -1 : start + dim;
    if (end < 0)
        end = end < -dim ? -1 : end + dim;
    if (step > 0) {
        start = slice_clamp(start, 0, dim);
        end = slice_clamp(end, 0, dim);
        *count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        start = slice_clamp(start, 0, dim - 1);
        end = slice_clamp(end, -1, dim - 1);
        uint64_t back = (uint64_t)0 - (uint64_t)step;
        *count = start > end ? (int64_t)((uint64_t)(start - end - 1) / back + 1) : 0;
    }
    *first = start;
}

static ember_status slice_inputs(const cpu_kernel *k, ember_kernel_context *ctx,
                                 const ember_tensor *x, slice_spec *sp)
{
    const slice_params *p = k->params;
    size_t n_ends, n_axes, n_steps;
    ember_status s = EMBER_OK;
    if (k->opset < 10) {
        sp->n = p->n_starts;
        n_ends = p->n_ends;
        n_axes = p->n_axes;
        memcpy(sp->starts, p->starts, sizeof sp->starts);
        memcpy(sp->ends, p->ends, sizeof sp->ends);
        memcpy(sp->axes, p->axes, sizeof sp->axes);
        n_steps = 0;
    } else {
        s = cpu_shp_read_list(k, ctx, 1, sp->starts, CPU_MAX_RANK, &sp->n);
        if (s == EMBER_OK)
            s = cpu_shp_read_list(k, ctx, 2, sp->ends, CPU_MAX_RANK, &n_ends);
        n_axes = n_steps = 0;
        if (s == EMBER_OK && cpu_opt_input(k, ctx, 3) != NULL)
            s = cpu_shp_read_list(k, ctx, 3, sp->axes, CPU_MAX_RANK, &n_axes);
        if (s == EMBER_OK && cpu_opt_input(k, ctx, 4) != NULL)
            s = cpu_shp_read_list(k, ctx, 4, sp->steps, CPU_MAX_RANK, &n_steps);
    }
    if (s != EMBER_OK)
        return s;
    if (n_ends != sp->n || (n_axes && n_axes != sp->n) || (n_steps && n_steps != sp->n) ||
        sp->n > x->rank)
        return cpu_fail_shape(k, 0, x, "starts, ends, axes and steps differ in length or "
                                        "exceed the rank");
    for (size_t i = 0; i < sp->n; i++) {
        if (!n_axes)
            sp->axes[i] = (int64_t)i;
        if (!n_steps)
            sp->steps[i] = 1;
    }
    return EMBER_OK;
}

static ember_status slice_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    slice_spec sp;
    int64_t dims[CPU_MAX_RANK], step[CPU_MAX_RANK], stride[CPU_MAX_RANK], base = 0;
    bool seen[CPU_MAX_RANK] = {false};
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = slice_inputs(k, ctx, x, &sp);
    if (s != EMBER_OK)
        return s;
    shp_strides(x->dims, x->rank, stride);
    memcpy(dims, x->dims, x->rank * sizeof *dims);
    memcpy(step, stride, x->rank * sizeof *step);
    for (size_t i = 0; i < sp.n; i++) {
        size_t a;
        if (!cpu_normalize_axis(sp.axes[i], x->rank, &a) || seen[a])
            return cpu_fail_shape(k, 0, x, "an axis is out of range or repeated");
        if (sp.steps[i] == 0)
            return cpu_fail_shape(k, 0, x, "a step is 0");
        seen[a] = true;
        int64_t first, count;
        slice_axis(x->dims[a], sp.starts[i], sp.ends[i], sp.steps[i], &first, &count);
        dims[a] = count;
        step[a] = stride[a] * sp.steps[i];
        if (count > 0)
            base += first * stride[a];
    }
    if (cpu_numel(dims, x->rank) == 0)
        base = 0;
    return shp_emit_strided(k, ctx, x, dims, x->rank, base, step);
}

static ember_status slice_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(slice_params));
    if (s != EMBER_OK)
        return s;
    slice_params *p = k->params;
    k->run = slice_run;
    if (k->opset >= 10)
        return EMBER_OK;
    s = cpu_attr_ints(k, node, "starts", p->starts, CPU_MAX_RANK, &p->n_starts);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "ends", p->ends, CPU_MAX_RANK, &p->n_ends);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "axes", p->axes, CPU_MAX_RANK, &p->n_axes);
    return s;
}

/* ---- Split ------------------------------------------------------------- */

typedef struct split_params {
    int64_t axis, num_outputs;
    size_t n_split; /* from the attribute (opset < 13) */
    int64_t split[SHP_MAX_LIST];
} split_params;

/* The size of every output along the axis. */
static ember_status split_sizes(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor *x, int64_t dim, size_t n_out, int64_t *sizes)
{
    const split_params *p = k->params;
    size_t n = p->n_split;
    ember_status s = EMBER_OK;
    if (cpu_opt_input(k, ctx, 1) != NULL)
        s = cpu_shp_read_list(k, ctx, 1, sizes, SHP_MAX_LIST, &n);
    else if (n > 0)
        memcpy(sizes, p->split, n * sizeof *sizes);
    if (s != EMBER_OK)
        return s;
    if (n == 0 && p->num_outputs > 0) {
        int64_t chunk = (dim + p->num_outputs - 1) / p->num_outputs;
        for (size_t i = 0; i < n_out; i++) {
            int64_t left = dim - chunk * (int64_t)i;
            sizes[i] = left < chunk ? (left > 0 ? left : 0) : chunk;
        }
        n = n_out;
    } else if (n == 0) {
        if (n_out == 0 || dim % (int64_t)n_out != 0)
            return cpu_fail_shape(k, 0, x, "the axis does not split into equal parts");
        for (size_t i = 0; i < n_out; i++)
            sizes[i] = dim / (int64_t)n_out;
        n = n_out;
    }
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (sizes[i] < 0)
            return cpu_fail_shape(k, 0, x, "a split size is negative");
        total += sizes[i];
    }
    if (n != n_out || total != dim)
        return cpu_fail_shape(k, 0, x, "the split sizes do not match the outputs or the axis");
    return EMBER_OK;
}

static ember_status split_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const split_params *p = k->params;
    const ember_tensor *x;
    int64_t sizes[SHP_MAX_LIST], dims[CPU_MAX_RANK];
    size_t axis, n_out = k->host->ctx_output_count(ctx);
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!cpu_normalize_axis(p->axis, x->rank, &axis))
        return cpu_fail_shape(k, 0, x, "the split axis is out of range");
    if (n_out > SHP_MAX_LIST)
        return cpu_fail_shape(k, 0, x, "too many outputs");
    int64_t dim = x->dims[axis];
    s = split_sizes(k, ctx, x, dim, n_out, sizes);
    size_t outer = cpu_numel(x->dims, axis);
    size_t inner = cpu_numel(x->dims + axis + 1, x->rank - axis - 1);
    memcpy(dims, x->dims, x->rank * sizeof *dims);
    int64_t offset = 0;
    for (size_t j = 0; s == EMBER_OK && j < n_out; j++) {
        ember_tensor *y;
        shp_mover m;
        dims[axis] = sizes[j];
        s = cpu_output(k, ctx, j, x->dtype, dims, x->rank, &y);
        shp_mover_init(&m, k, x, y);
        size_t chunk = (size_t)sizes[j] * inner;
        for (size_t o = 0; s == EMBER_OK && o < outer; o++)
            s = shp_move_n(&m, o * chunk, (o * (size_t)dim + (size_t)offset) * inner, chunk);
        offset += sizes[j];
    }
    return s;
}

static ember_status split_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(split_params));
    if (s != EMBER_OK)
        return s;
    split_params *p = k->params;
    k->run = split_run;
    s = cpu_attr_int(k, node, "axis", 0, &p->axis);
    if (s == EMBER_OK && k->opset < 13)
        s = cpu_attr_ints(k, node, "split", p->split, SHP_MAX_LIST, &p->n_split);
    if (s == EMBER_OK && k->opset >= 18)
        s = cpu_attr_int(k, node, "num_outputs", 0, &p->num_outputs);
    if (s == EMBER_OK && p->num_outputs < 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'num_outputs' is negative", k->name,
                             k->op);
    return s;
}

/* ---- Expand ------------------------------------------------------------ */

static ember_status expand_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    int64_t shape[CPU_MAX_RANK], dims[CPU_MAX_RANK], step[CPU_MAX_RANK], stride[CPU_MAX_RANK];
    size_t n;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_shp_read_list(k, ctx, 1, shape, CPU_MAX_RANK, &n);
    if (s != EMBER_OK)
        return s;
    size_t rank = n > x->rank ? n : x->rank;
    shp_strides(x->dims, x->rank, stride);
    for (size_t d = 0; d < rank; d++) {
        int64_t dx = d + x->rank >= rank ? x->dims[d + x->rank - rank] : 1;
        int64_t ds = d + n >= rank ? shape[d + n - rank] : 1;
        if (dx != ds && dx != 1 && ds != 1)
            return cpu_fail_shape(k, 0, x, "it does not broadcast to the requested shape");
        dims[d] = dx == 1 ? ds : dx;
        step[d] = dx == 1 ? 0 : stride[d + x->rank - rank];
        if (dims[d] < 0)
            return cpu_fail_shape(k, 0, x, "the requested shape has a negative dim");
    }
    return shp_emit_strided(k, ctx, x, dims, rank, 0, step);
}

static ember_status expand_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = expand_run;
    return EMBER_OK;
}

/* ---- Tile ------------------------------------------------------------- */

/* Output rows (all dims but the last): row r repeats the input row that
 * its coordinates, taken modulo the input dims, select. */
typedef struct tile_job {
    const shp_mover *m;
    size_t rank;
    const int64_t *in_dims, *out_dims;
    int64_t stride[CPU_MAX_RANK];
    ember_status status;
} tile_job;

static void tile_rows(void *arg, size_t begin, size_t end)
{
    tile_job *j = arg;
    size_t last = j->rank - 1, in_row = (size_t)j->in_dims[last];
    size_t out_row = (size_t)j->out_dims[last];
    for (size_t r = begin; r < end; r++) {
        int64_t off = 0;
        size_t rem = r;
        for (size_t d = last; d-- > 0;) {
            off += (int64_t)(rem % (size_t)j->out_dims[d]) % j->in_dims[d] * j->stride[d];
            rem /= (size_t)j->out_dims[d];
        }
        for (size_t at = 0; at < out_row; at += in_row) {
            ember_status s = shp_move_n(j->m, r * out_row + at, (size_t)off, in_row);
            if (s != EMBER_OK) {
                j->status = s;
                return;
            }
        }
    }
}

/* Tile-1: input 1 holds the count for the one axis input 2 names. */
static ember_status tile1_repeats(const cpu_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor *x, int64_t *reps, size_t *n)
{
    int64_t tiles, axis;
    size_t n_tiles, n_axis, a;
    ember_status s = cpu_shp_read_list(k, ctx, 1, &tiles, 1, &n_tiles);
    if (s == EMBER_OK)
        s = cpu_shp_read_list(k, ctx, 2, &axis, 1, &n_axis);
    if (s != EMBER_OK)
        return s;
    if (n_tiles != 1 || n_axis != 1 || !cpu_normalize_axis(axis, x->rank, &a))
        return cpu_fail_shape(k, 0, x, "tiles and axis must be scalars, axis within the rank");
    for (size_t d = 0; d < x->rank; d++)
        reps[d] = d == a ? tiles : 1;
    *n = x->rank;
    return EMBER_OK;
}

static ember_status tile_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    int64_t reps[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    size_t n;
    ember_status s = cpu_shp_data_input(k, ctx, 0, &x);
    if (s == EMBER_OK && k->opset < 6)
        s = tile1_repeats(k, ctx, x, reps, &n);
    else if (s == EMBER_OK)
        s = cpu_shp_read_list(k, ctx, 1, reps, CPU_MAX_RANK, &n);
    if (s != EMBER_OK)
        return s;
    if (n != x->rank)
        return cpu_fail_shape(k, 0, x, "repeats has a different length than the rank");
    for (size_t d = 0; d < x->rank; d++) {
        if (reps[d] < 0)
            return cpu_fail_shape(k, 0, x, "a repeat count is negative");
        if (__builtin_mul_overflow(x->dims[d], reps[d], &dims[d]))
            return cpu_fail_shape(k, 0, x, "the tiled shape overflows");
    }
    ember_tensor *y;
    shp_mover m;
    s = cpu_output(k, ctx, 0, x->dtype, dims, x->rank, &y);
    size_t total = cpu_numel(dims, x->rank);
    if (s != EMBER_OK || total == 0)
        return s;
    shp_mover_init(&m, k, x, y);
    if (x->rank == 0)
        return shp_move(&m, 0, 0);
    tile_job j = {&m, x->rank, x->dims, dims, {0}, EMBER_OK};
    shp_strides(x->dims, x->rank, j.stride);
    size_t rows = total / (size_t)dims[x->rank - 1];
    if (m.esize > 0)
        cpu_parallel(ctx, k, rows, total, tile_rows, &j);
    else
        tile_rows(&j, 0, rows);
    return j.status;
}

static ember_status tile_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = tile_run;
    return EMBER_OK;
}

/* ---- registration ------------------------------------------------------ */

const cpu_op_entry cpu_ops_shape[] = {
    {"Slice", 1, CPU_OPSET_MAX, shp_check_data, slice_create},
    {"Split", 1, CPU_OPSET_MAX, shp_check_data, split_create},
    {"Expand", 8, CPU_OPSET_MAX, shp_check_data, expand_create},
    {"Tile", 1, CPU_OPSET_MAX, shp_check_data, tile_create},
    {"Pad", 1, CPU_OPSET_MAX, shp_check_data, cpu_pad_create},
    {"CenterCropPad", 18, CPU_OPSET_MAX, shp_check_data, cpu_ccp_create},
    {"DepthToSpace", 1, CPU_OPSET_MAX, shp_check_data, cpu_d2s_create},
    {"SpaceToDepth", 1, CPU_OPSET_MAX, shp_check_data, cpu_s2d_create},
    {"ReverseSequence", 10, CPU_OPSET_MAX, shp_check_data, cpu_revseq_create},
    {"Compress", 9, CPU_OPSET_MAX, shp_check_data, cpu_compress_create},
    {"Trilu", 14, CPU_OPSET_MAX, shp_check_numeric, cpu_trilu_create},
    {"Range", 11, CPU_OPSET_MAX, shp_check_numeric, cpu_range_create},
    {"ConstantOfShape", 9, CPU_OPSET_MAX, NULL, cpu_cos_create},
    {"EyeLike", 9, CPU_OPSET_MAX, shp_check_numeric, cpu_eyelike_create},
    {"OneHot", 9, CPU_OPSET_MAX, shp_check_numeric, cpu_onehot_create},
    {"Size", 1, CPU_OPSET_MAX, NULL, cpu_size_create},
    {"NonZero", 9, CPU_OPSET_MAX, shp_check_numeric, cpu_nonzero_create},
    {"GatherElements", 11, CPU_OPSET_MAX, shp_check_data, cpu_gather_elements_create},
    {"GatherND", 11, CPU_OPSET_MAX, shp_check_data, cpu_gathernd_create},
    {"ScatterElements", 11, CPU_OPSET_MAX, shp_check_data, cpu_scatter_elements_create},
    {"Scatter", 9, 11, shp_check_data, cpu_scatter_elements_create},
    {"ScatterND", 11, CPU_OPSET_MAX, shp_check_data, cpu_scatternd_create},
    {"TensorScatter", 24, CPU_OPSET_MAX, shp_check_data, cpu_tensor_scatter_create},
    {"Unique", 11, CPU_OPSET_MAX, shp_check_data, cpu_unique_create},
    {"Col2Im", 18, CPU_OPSET_MAX, cpu_check_float, cpu_col2im_create},
    {NULL, 0, 0, NULL, NULL},
};
