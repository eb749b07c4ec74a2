/*
 * Conv (1-D, 2-D, 3-D and up): im2col followed by one GEMM per (batch,
 * group); a 1x1 kernel with unit strides and no pads uses the input as its
 * own column matrix. Work is split over (batch, group) pairs when there are
 * enough of them, otherwise over the columns of each product. float16 and
 * bfloat16 are computed in float32.
 */
#include "cpu_kernel.h"

#include <cblas.h>

/* Output columns per parallel block when one product is split. */
#define COL_BLOCK_MIN 256

typedef struct conv_params {
    cpu_window_attrs win;
    int64_t group;
} conv_params;

/* One run's geometry; the compute dtype is float32 or float64. */
typedef struct conv_geom {
    cpu_window w;
    size_t n, c, m, group, cg, mg;
    size_t rows;      /* cg * kernel_size: the reduction length */
    int64_t in_stride[CPU_MAX_RANK];
    bool direct;      /* 1x1, unit strides, no pads: no im2col */
    bool is_double;
    size_t esize;
} conv_geom;

static inline int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* ---- im2col ------------------------------------------------------------ */

/* Input offset of output line `line` (every out dim but the last) for the
 * kernel offsets koff; false when the line lies in the padding. */
static bool line_offset(const conv_geom *g, const int64_t *koff, size_t line, int64_t *off)
{
    const cpu_window *w = &g->w;
    int64_t total = 0;
    for (size_t d = w->rank - 1; d-- > 0;) {
        int64_t o = (int64_t)(line % (size_t)w->out[d]);
        line /= (size_t)w->out[d];
        int64_t ix = o * w->stride[d] - w->pad_begin[d] + koff[d] * w->dilation[d];
        if (ix < 0 || ix >= w->in[d])
            return false;
        total += ix * g->in_stride[d];
    }
    *off = total;
    return true;
}

/* Kernel offsets of reduction row r (r = channel * kernel_size + kidx). */
static size_t row_kernel(const conv_geom *g, size_t r, int64_t *koff)
{
    size_t kidx = r % g->w.kernel_size;
    for (size_t d = g->w.rank; d-- > 0;) {
        koff[d] = (int64_t)(kidx % (size_t)g->w.kernel[d]);
        kidx /= (size_t)g->w.kernel[d];
    }
    return r / g->w.kernel_size;
}

/* Fills rows [r0, r1) of the column matrix (rows x out_size) from the
 * input of one (batch, group): x points at its first channel. */
#define DEFINE_IM2COL(NAME, T)                                                             \
    static void NAME(const conv_geom *g, const T *x, T *col, size_t r0, size_t r1)         \
    {                                                                                      \
        const cpu_window *w = &g->w;                                                       \
        size_t last = w->rank - 1, n_out = (size_t)w->out[last];                           \
        size_t lines = w->out_size / (n_out ? n_out : 1);                                  \
        int64_t s = w->stride[last], in = w->in[last];                                     \
        for (size_t r = r0; r < r1; r++) {                                                 \
            int64_t koff[CPU_MAX_RANK];                                                    \
            const T *xc = x + row_kernel(g, r, koff) * w->in_size;                         \
            int64_t base = koff[last] * w->dilation[last] - w->pad_begin[last];            \
            int64_t lo = base >= 0 ? 0 : ceil_div(-base, s);                               \
            int64_t hi = in > base ? ceil_div(in - base, s) : 0;                           \
            hi = hi < (int64_t)n_out ? hi : (int64_t)n_out;                                \
            lo = lo < hi ? lo : hi;                                                        \
            T *dst = col + r * w->out_size;                                                \
            for (size_t line = 0; line < lines; line++, dst += n_out) {                    \
                int64_t off;                                                               \
                if (!line_offset(g, koff, line, &off)) {                                   \
                    memset(dst, 0, n_out * sizeof(T));                                     \
                    continue;                                                              \
                }                                                                          \
                const T *src = xc + off + base;                                            \
                memset(dst, 0, (size_t)lo * sizeof(T));                                    \
                if (s == 1 && hi > lo)                                                     \
                    memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof(T));             \
                else                                                                       \
                    for (int64_t o = lo; o < hi; o++)                                      \
                        dst[o] = src[o * s];                                               \
                memset(dst + hi, 0, (n_out - (size_t)hi) * sizeof(T));                     \
            }                                                                              \
        }                                                                                  \
    }

DEFINE_IM2COL(im2col_f32, float)
DEFINE_IM2COL(im2col_f64, double)

/* ---- one (batch, group) product ---------------------------------------- */

typedef struct conv_job {
    const conv_geom *g;
    const unsigned char *x, *w, *b;
    unsigned char *y, *col;
    size_t items, n_workers; /* items = n * group */
    size_t item;             /* the item being split by columns */
    size_t col_block;
} conv_job;

static void im2col_rows(const conv_job *j, const unsigned char *x, unsigned char *col,
                        size_t r0, size_t r1)
{
    if (j->g->is_double)
        im2col_f64(j->g, (const double *)x, (double *)col, r0, r1);
    else
        im2col_f32(j->g, (const float *)x, (float *)col, r0, r1);
}

/* Y[mg, p0:p1] = bias + W_g[mg, rows] * col[rows, p0:p1]. */
static void gemm_cols(const conv_job *j, size_t item, const unsigned char *col, size_t p0,
                      size_t p1)
{
    const conv_geom *g = j->g;
    size_t n = item / g->group, grp = item % g->group, P = g->w.out_size;
    size_t y_off = ((n * g->m + grp * g->mg) * P + p0) * g->esize;
    const unsigned char *wg = j->w + grp * g->mg * g->rows * g->esize;
    for (size_t m = 0; j->b != NULL && m < g->mg; m++) {
        size_t ch = grp * g->mg + m;
        for (size_t p = p0; p < p1; p++) {
            if (g->is_double)
                ((double *)(j->y + y_off))[m * P + p - p0] = ((const double *)j->b)[ch];
            else
                ((float *)(j->y + y_off))[m * P + p - p0] = ((const float *)j->b)[ch];
        }
    }
    blasint mg = (blasint)g->mg, cols = (blasint)(p1 - p0), rows = (blasint)g->rows;
    col += p0 * g->esize;
    if (g->is_double)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mg, cols, rows, 1.0,
                    (const double *)wg, rows, (const double *)col, (blasint)P,
                    j->b ? 1.0 : 0.0, (double *)(j->y + y_off), (blasint)P);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mg, cols, rows, 1.0f,
                    (const float *)wg, rows, (const float *)col, (blasint)P,
                    j->b ? 1.0f : 0.0f, (float *)(j->y + y_off), (blasint)P);
}

static const unsigned char *item_input(const conv_job *j, size_t item)
{
    const conv_geom *g = j->g;
    size_t n = item / g->group, grp = item % g->group;
    return j->x + (n * g->c + grp * g->cg) * g->w.in_size * g->esize;
}

/* Items split among workers; worker w owns column buffer w. */
static void conv_workers(void *arg, size_t begin, size_t end)
{
    const conv_job *j = arg;
    const conv_geom *g = j->g;
    size_t col_bytes = g->rows * g->w.out_size * g->esize;
    for (size_t wk = begin; wk < end; wk++) {
        unsigned char *col = j->col + wk * col_bytes;
        for (size_t it = wk * j->items / j->n_workers; it < (wk + 1) * j->items / j->n_workers;
             it++) {
            const unsigned char *x = item_input(j, it);
            if (!g->direct)
                im2col_rows(j, x, col, 0, g->rows);
            gemm_cols(j, it, g->direct ? x : col, 0, g->w.out_size);
        }
    }
}

static void conv_im2col_range(void *arg, size_t begin, size_t end)
{
    const conv_job *j = arg;
    im2col_rows(j, item_input(j, j->item), j->col, begin, end);
}

static void conv_col_range(void *arg, size_t begin, size_t end)
{
    const conv_job *j = arg;
    const unsigned char *col = j->g->direct ? item_input(j, j->item) : j->col;
    for (size_t blk = begin; blk < end; blk++) {
        size_t p0 = blk * j->col_block, p1 = p0 + j->col_block;
        gemm_cols(j, j->item, col, p0, p1 < j->g->w.out_size ? p1 : j->g->w.out_size);
    }
}

/* ---- driver ------------------------------------------------------------ */

/* Runs the convolution on raw float32/float64 buffers. */
static ember_status conv_compute(const cpu_kernel *k, ember_kernel_context *ctx,
                                 const conv_geom *g, conv_job *j)
{
    size_t threads = k->host->ctx_thread_count(ctx);
    size_t col_bytes = g->direct ? 0 : g->rows * g->w.out_size * g->esize;
    size_t flops = j->items * g->mg * g->rows * g->w.out_size;
    j->n_workers = threads < j->items ? threads : j->items;
    if (j->items >= threads || flops < ((size_t)1 << 18)) {
        if (flops < ((size_t)1 << 18))
            j->n_workers = 1;
        ember_status s = k->host->ctx_scratch(ctx, col_bytes * j->n_workers + 1,
                                              (void **)&j->col);
        if (s == EMBER_OK)
            cpu_parallel(ctx, k, j->n_workers, flops, conv_workers, j);
        return s;
    }
    ember_status s = k->host->ctx_scratch(ctx, col_bytes + 1, (void **)&j->col);
    if (s != EMBER_OK)
        return s;
    size_t blocks = ceil_div((int64_t)g->w.out_size, COL_BLOCK_MIN);
    blocks = blocks < threads ? blocks : threads;
    j->col_block = (size_t)ceil_div((int64_t)g->w.out_size, (int64_t)blocks);
    for (j->item = 0; j->item < j->items; j->item++) {
        if (!g->direct)
            cpu_parallel(ctx, k, g->rows, g->rows * g->w.out_size, conv_im2col_range, j);
        cpu_parallel(ctx, k, blocks, flops, conv_col_range, j);
    }
    return EMBER_OK;
}

static ember_status conv_check_w(const cpu_kernel *k, const conv_geom *g,
                                 const ember_tensor *x, const ember_tensor *w,
                                 const ember_tensor *b)
{
    const conv_params *p = k->params;
    if (w->rank != x->rank)
        return cpu_fail_shape(k, 1, w, "the weight rank differs from input 0's");
    if ((size_t)w->dims[1] * g->group != g->c)
        return cpu_fail_shape(k, 1, w, "dim 1 times group differs from input 0's channels");
    if (g->m % g->group != 0)
        return cpu_fail_shape(k, 1, w, "the output channels are not a multiple of group");
    for (size_t d = 0; d < p->win.n_kernel; d++) {
        if (p->win.kernel[d] != w->dims[d + 2])
            return cpu_fail_shape(k, 1, w, "the spatial dims differ from kernel_shape");
    }
    if (b != NULL && (b->rank != 1 || (size_t)b->dims[0] != g->m))
        return cpu_fail_shape(k, 2, b, "expected a 1-D bias of the output channels");
    if (w->dtype != x->dtype)
        return cpu_fail_dtype(k, 1, w->dtype);
    if (b != NULL && b->dtype != x->dtype)
        return cpu_fail_dtype(k, 2, b->dtype);
    return EMBER_OK;
}

static ember_status conv_geometry(const cpu_kernel *k, const ember_tensor *x,
                                  const ember_tensor *w, const ember_tensor *b, conv_geom *g)
{
    const conv_params *p = k->params;
    if (x->rank < 3)
        return cpu_fail_shape(k, 0, x, "expected [N, C, spatial...]");
    g->n = (size_t)x->dims[0];
    g->c = (size_t)x->dims[1];
    g->m = (size_t)w->dims[0];
    g->group = (size_t)p->group;
    ember_status s = conv_check_w(k, g, x, w, b);
    if (s == EMBER_OK)
        s = cpu_window_resolve(k, &p->win, x, w->dims + 2, &g->w);
    if (s != EMBER_OK)
        return s;
    g->cg = g->c / g->group;
    g->mg = g->m / g->group;
    g->rows = g->cg * g->w.kernel_size;
    g->direct = g->w.kernel_size == 1;
    for (size_t d = 0; d < g->w.rank; d++)
        g->direct = g->direct && g->w.stride[d] == 1 && g->w.pad_begin[d] == 0 &&
                    g->w.pad_end[d] == 0;
    g->in_stride[g->w.rank - 1] = 1;
    for (size_t d = g->w.rank - 1; d > 0; d--)
        g->in_stride[d - 1] = g->in_stride[d] * g->w.in[d];
    g->is_double = x->dtype == EMBER_DTYPE_FLOAT64;
    g->esize = g->is_double ? 8 : 4;
    return EMBER_OK;
}

/* float16/bfloat16: converted to float32 scratch around conv_compute. */
static ember_status conv_half(const cpu_kernel *k, ember_kernel_context *ctx, const conv_geom *g,
                              conv_job *j, const ember_tensor *x, const ember_tensor *w,
                              const ember_tensor *b, ember_tensor *y)
{
    float *fx, *fw, *fb = NULL, *fy;
    size_t n_out = cpu_tensor_numel(y);
    ember_status s = cpu_half_input(ctx, k, x, &fx);
    if (s == EMBER_OK)
        s = cpu_half_input(ctx, k, w, &fw);
    if (s == EMBER_OK && b != NULL)
        s = cpu_half_input(ctx, k, b, &fb);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, n_out * sizeof(float), (void **)&fy);
    if (s != EMBER_OK)
        return s;
    j->x = (const unsigned char *)fx;
    j->w = (const unsigned char *)fw;
    j->b = (const unsigned char *)fb;
    j->y = (unsigned char *)fy;
    s = conv_compute(k, ctx, g, j);
    if (s == EMBER_OK)
        cpu_float_to_half(y->dtype, fy, y->data, n_out);
    return s;
}

static ember_status conv_inputs(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor **x, const ember_tensor **w,
                                const ember_tensor **b)
{
    ember_status s = cpu_input(k, ctx, 0, x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, w);
    if (s != EMBER_OK)
        return s;
    *b = cpu_opt_input(k, ctx, 2);
    if (!(CPU_DT((*x)->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, (*x)->dtype);
    return EMBER_OK;
}

static ember_status conv_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x, *w, *b;
    conv_geom g;
    ember_status s = conv_inputs(k, ctx, &x, &w, &b);
    if (s == EMBER_OK)
        s = conv_geometry(k, x, w, b, &g);
    if (s != EMBER_OK)
        return s;
    int64_t dims[CPU_MAX_RANK] = {(int64_t)g.n, (int64_t)g.m};
    memcpy(dims + 2, g.w.out, g.w.rank * sizeof(int64_t));
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, dims, x->rank, &y);
    if (s != EMBER_OK || cpu_tensor_numel(y) == 0)
        return s;
    conv_job j = {&g, x->data, w->data, b ? b->data : NULL, y->data, NULL,
                  g.n * g.group, 1, 0, 0};
    if (g.rows == 0) {
        memset(y->data, 0, cpu_tensor_numel(y) * cpu_dtype_size(x->dtype));
        return EMBER_OK;
    }
    if (cpu_is_half(x->dtype))
        return conv_half(k, ctx, &g, &j, x, w, b, y);
    return conv_compute(k, ctx, &g, &j);
}

ember_status cpu_create_conv(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(conv_params));
    if (s != EMBER_OK)
        return s;
    conv_params *p = k->params;
    s = cpu_window_decode(k, node, false, &p->win);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "group", 1, &p->group);
    if (s == EMBER_OK && p->group < 1)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'group' is %lld; it must be >= 1",
                             k->name, k->op, (long long)p->group);
    k->run = conv_run;
    return s;
}
