/*
 * Pooling: MaxPool (with the optional Indices output and storage_order),
 * AveragePool (count_include_pad) and GlobalAveragePool, over any number
 * of spatial dims. Planes (batch x channel) are split across threads;
 * float16/bfloat16 are computed in float32.
 */
#include "cpu_kernel.h"

#include <float.h>
#include <math.h>

typedef struct pool_params {
    cpu_window_attrs win;
    bool is_max;
    bool include_pad;   /* AveragePool count_include_pad */
    bool column_major;  /* MaxPool storage_order = 1 */
    bool has_indices;   /* MaxPool's second output is wanted */
} pool_params;

/* One run's geometry. */
typedef struct pool_geom {
    cpu_window w;
    int64_t in_stride[CPU_MAX_RANK];
    bool include_pad, column_major;
} pool_geom;

/* The window of output point `op`: its start per dim and the range
 * [klo, khi) of kernel taps that fall inside the input. Returns the number
 * of such taps, and in *padded the number inside input plus pads. */
static size_t window_box(const pool_geom *g, size_t op, int64_t *start, int64_t *klo,
                         int64_t *khi, size_t *padded)
{
    const cpu_window *w = &g->w;
    size_t n = 1, np = 1;
    for (size_t d = w->rank; d-- > 0;) {
        int64_t o = (int64_t)(op % (size_t)w->out[d]), dil = w->dilation[d];
        op /= (size_t)w->out[d];
        start[d] = o * w->stride[d] - w->pad_begin[d];
        klo[d] = start[d] >= 0 ? 0 : (-start[d] + dil - 1) / dil;
        khi[d] = start[d] >= w->in[d] ? 0 : (w->in[d] - start[d] + dil - 1) / dil;
        khi[d] = khi[d] < w->kernel[d] ? khi[d] : w->kernel[d];
        n *= khi[d] > klo[d] ? (size_t)(khi[d] - klo[d]) : 0;
        /* Taps inside [-pad_begin, in + pad_end). */
        int64_t end = w->in[d] + w->pad_end[d] - start[d];
        int64_t pin = end <= 0 ? 0 : (end + dil - 1) / dil;
        np *= (size_t)(pin < w->kernel[d] ? pin : w->kernel[d]);
    }
    *padded = np;
    return n;
}

/* Input offset of tap k; advances k over the box, false after the last. */
static inline int64_t tap_offset(const pool_geom *g, const int64_t *start, const int64_t *k)
{
    int64_t off = 0;
    for (size_t d = 0; d < g->w.rank; d++)
        off += (start[d] + k[d] * g->w.dilation[d]) * g->in_stride[d];
    return off;
}

static inline bool tap_next(size_t rank, int64_t *k, const int64_t *klo, const int64_t *khi)
{
    for (size_t d = rank; d-- > 0;) {
        if (++k[d] < khi[d])
            return true;
        k[d] = klo[d];
    }
    return false;
}

/* The Indices value of a row-major in-plane offset (storage_order 1 counts
 * the spatial dims column-major). */
static int64_t index_of(const pool_geom *g, int64_t off)
{
    if (!g->column_major)
        return off;
    int64_t idx = 0, scale = 1;
    for (size_t d = 0; d < g->w.rank; d++) {
        idx += (off / g->in_stride[d]) % g->w.in[d] * scale;
        scale *= g->w.in[d];
    }
    return idx;
}

/* Max over each window; ind (optional) receives plane_base + the index. */
#define DEFINE_MAXPOOL(NAME, T, LOWEST)                                                    \
    static void NAME(const pool_geom *g, const void *px, void *py, int64_t *ind,           \
                     int64_t base)                                                         \
    {                                                                                      \
        const T *x = px;                                                                   \
        T *y = py;                                                                         \
        int64_t start[CPU_MAX_RANK], klo[CPU_MAX_RANK], khi[CPU_MAX_RANK], k[CPU_MAX_RANK]; \
        for (size_t op = 0; op < g->w.out_size; op++) {                                    \
            size_t padded;                                                                 \
            T best = LOWEST;                                                               \
            int64_t best_off = -1;                                                         \
            if (window_box(g, op, start, klo, khi, &padded) > 0) {                         \
                memcpy(k, klo, g->w.rank * sizeof *k);                                     \
                do {                                                                       \
                    int64_t off = tap_offset(g, start, k);                                 \
                    if (best_off < 0 || x[off] > best) {                                   \
                        best = x[off];                                                     \
                        best_off = off;                                                    \
                    }                                                                      \
                } while (tap_next(g->w.rank, k, klo, khi));                                \
            }                                                                              \
            y[op] = best;                                                                  \
            if (ind != NULL)                                                               \
                ind[op] = best_off < 0 ? -1 : base + index_of(g, best_off);                \
        }                                                                                  \
    }

DEFINE_MAXPOOL(maxpool_f32, float, -FLT_MAX)
DEFINE_MAXPOOL(maxpool_f64, double, -DBL_MAX)
DEFINE_MAXPOOL(maxpool_i8, int8_t, INT8_MIN)
DEFINE_MAXPOOL(maxpool_u8, uint8_t, 0)

#define DEFINE_AVGPOOL(NAME, T)                                                            \
    static void NAME(const pool_geom *g, const void *px, void *py, int64_t *ind,           \
                     int64_t base)                                                         \
    {                                                                                      \
        const T *x = px;                                                                   \
        T *y = py;                                                                         \
        int64_t start[CPU_MAX_RANK], klo[CPU_MAX_RANK], khi[CPU_MAX_RANK], k[CPU_MAX_RANK]; \
        for (size_t op = 0; op < g->w.out_size; op++) {                                    \
            size_t padded, n = window_box(g, op, start, klo, khi, &padded);                \
            double sum = 0.0;                                                              \
            if (n > 0) {                                                                   \
                memcpy(k, klo, g->w.rank * sizeof *k);                                     \
                do                                                                         \
                    sum += x[tap_offset(g, start, k)];                                     \
                while (tap_next(g->w.rank, k, klo, khi));                                  \
            }                                                                              \
            size_t count = g->include_pad ? padded : n;                                    \
            y[op] = (T)(count ? sum / (double)count : 0.0);                                \
        }                                                                                  \
    }

DEFINE_AVGPOOL(avgpool_f32, float)
DEFINE_AVGPOOL(avgpool_f64, double)

/* ---- 2-D fast paths (1-D runs as 2-D with a unit height) -------------- */

/* Taps [lo, hi) of a window starting at `start` that fall inside [0, in). */
static inline void tap_range(int64_t start, int64_t in, int64_t k, int64_t dil, int64_t *lo,
                             int64_t *hi)
{
    if (dil == 1) {
        *lo = start >= 0 ? 0 : -start;
        *hi = in - start < k ? in - start : k;
        return;
    }
    *lo = start >= 0 ? 0 : (-start + dil - 1) / dil;
    *hi = start >= in ? 0 : (in - start + dil - 1) / dil;
    *hi = *hi < k ? *hi : k;
}

/* Taps of the window inside the padded extent [-pad_begin, in + pad_end). */
static inline int64_t padded_taps(int64_t start, int64_t in, int64_t pad_end, int64_t k,
                                  int64_t dil)
{
    int64_t end = in + pad_end - start;
    int64_t n = end <= 0 ? 0 : (end + dil - 1) / dil;
    return n < k ? n : k;
}

/* Max over one window, branch-free when the argmax is not wanted. Floats
 * start from -inf so that a window of -inf values gives -inf. */
#define DEFINE_MAXPOOL2D(NAME, T, LOWEST)                                                  \
    static inline T NAME##_max(const T *x, int64_t W, const int64_t *h, const int64_t *w)  \
    {                                                                                      \
        T best = LOWEST;                                                                   \
        for (int64_t kh = h[1]; kh < h[2]; kh++) {                                         \
            const T *row = x + (h[0] + kh * h[3]) * W + w[0];                              \
            for (int64_t kw = w[1]; kw < w[2]; kw++)                                       \
                best = row[kw * w[3]] > best ? row[kw * w[3]] : best;                      \
        }                                                                                  \
        return best;                                                                       \
    }                                                                                      \
    static inline T NAME##_argmax(const T *x, int64_t W, const int64_t *h, const int64_t *w, \
                                  int64_t *at)                                             \
    {                                                                                      \
        T best = LOWEST;                                                                   \
        for (int64_t kh = h[1]; kh < h[2]; kh++) {                                         \
            for (int64_t kw = w[1]; kw < w[2]; kw++) {                                     \
                int64_t off = (h[0] + kh * h[3]) * W + w[0] + kw * w[3];                   \
                if (*at < 0 || x[off] > best) {                                            \
                    best = x[off];                                                         \
                    *at = off;                                                             \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
        return best;                                                                       \
    }                                                                                      \
    static void NAME(const pool_geom *g, const void *px, void *py, int64_t *ind,           \
                     int64_t base)                                                         \
    {                                                                                      \
        const cpu_window *w = &g->w;                                                       \
        const T *x = px;                                                                   \
        T *y = py;                                                                         \
        int64_t hw[4], ww[4]; /* start, first tap, end tap, dilation */                    \
        hw[3] = w->dilation[0];                                                            \
        ww[3] = w->dilation[1];                                                            \
        for (int64_t oh = 0; oh < w->out[0]; oh++) {                                       \
            hw[0] = oh * w->stride[0] - w->pad_begin[0];                                   \
            tap_range(hw[0], w->in[0], w->kernel[0], hw[3], &hw[1], &hw[2]);               \
            for (int64_t ow = 0; ow < w->out[1]; ow++) {                                   \
                int64_t at = -1;                                                           \
                ww[0] = ow * w->stride[1] - w->pad_begin[1];                               \
                tap_range(ww[0], w->in[1], w->kernel[1], ww[3], &ww[1], &ww[2]);           \
                if (ind == NULL) {                                                         \
                    *y++ = NAME##_max(x, w->in[1], hw, ww);                                \
                    continue;                                                              \
                }                                                                          \
                *y++ = NAME##_argmax(x, w->in[1], hw, ww, &at);                            \
                *ind++ = at < 0 ? -1 : base + index_of(g, at);                             \
            }                                                                              \
        }                                                                                  \
    }

DEFINE_MAXPOOL2D(maxpool2d_f32, float, -INFINITY)
DEFINE_MAXPOOL2D(maxpool2d_f64, double, -INFINITY)
DEFINE_MAXPOOL2D(maxpool2d_i8, int8_t, INT8_MIN)
DEFINE_MAXPOOL2D(maxpool2d_u8, uint8_t, 0)

#define DEFINE_AVGPOOL2D(NAME, T)                                                          \
    static void NAME(const pool_geom *g, const void *px, void *py, int64_t *ind,           \
                     int64_t base)                                                         \
    {                                                                                      \
        const cpu_window *w = &g->w;                                                       \
        const T *x = px;                                                                   \
        T *y = py;                                                                         \
        int64_t W = w->in[1], dh = w->dilation[0], dw = w->dilation[1];                    \
        for (int64_t oh = 0; oh < w->out[0]; oh++) {                                       \
            int64_t hs = oh * w->stride[0] - w->pad_begin[0], hlo, hhi;                    \
            tap_range(hs, w->in[0], w->kernel[0], dh, &hlo, &hhi);                         \
            int64_t hp = padded_taps(hs, w->in[0], w->pad_end[0], w->kernel[0], dh);       \
            for (int64_t ow = 0; ow < w->out[1]; ow++, y++) {                              \
                int64_t ws = ow * w->stride[1] - w->pad_begin[1], wlo, whi;                \
                tap_range(ws, W, w->kernel[1], dw, &wlo, &whi);                            \
                double sum = 0.0;                                                          \
                for (int64_t kh = hlo; kh < hhi; kh++) {                                   \
                    const T *row = x + (hs + kh * dh) * W + ws;                            \
                    for (int64_t kw = wlo; kw < whi; kw++)                                 \
                        sum += row[kw * dw];                                               \
                }                                                                          \
                int64_t n = hhi > hlo && whi > wlo ? (hhi - hlo) * (whi - wlo) : 0;        \
                if (g->include_pad)                                                        \
                    n = hp * padded_taps(ws, W, w->pad_end[1], w->kernel[1], dw);          \
                *y = (T)(n > 0 ? sum / (double)n : 0.0);                                   \
            }                                                                              \
        }                                                                                  \
    }

DEFINE_AVGPOOL2D(avgpool2d_f32, float)
DEFINE_AVGPOOL2D(avgpool2d_f64, double)

/* ---- driver ------------------------------------------------------------ */

typedef void (*pool_fn)(const pool_geom *g, const void *x, void *y, int64_t *ind,
                        int64_t base);

typedef struct pool_job {
    const pool_geom *g;
    pool_fn fn;
    const unsigned char *x;
    unsigned char *y;
    int64_t *ind;
    size_t esize;
} pool_job;

static void pool_planes(void *arg, size_t begin, size_t end)
{
    const pool_job *j = arg;
    size_t in_size = j->g->w.in_size, out_size = j->g->w.out_size;
    for (size_t p = begin; p < end; p++)
        j->fn(j->g, j->x + p * in_size * j->esize, j->y + p * out_size * j->esize,
              j->ind ? j->ind + p * out_size : NULL, (int64_t)(p * in_size));
}

/* The loop for the dtype (float16/bfloat16 run on float32 copies) and the
 * spatial rank (2 after pool_geometry folded 1-D into 2-D). */
static pool_fn pick_fn(const pool_params *p, uint32_t dtype, size_t rank)
{
    bool flat = rank == 2;
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32:
    case EMBER_DTYPE_FLOAT16:
    case EMBER_DTYPE_BFLOAT16:
        if (p->is_max)
            return flat ? maxpool2d_f32 : maxpool_f32;
        return flat ? avgpool2d_f32 : avgpool_f32;
    case EMBER_DTYPE_FLOAT64:
        if (p->is_max)
            return flat ? maxpool2d_f64 : maxpool_f64;
        return flat ? avgpool2d_f64 : avgpool_f64;
    case EMBER_DTYPE_INT8: return !p->is_max ? NULL : flat ? maxpool2d_i8 : maxpool_i8;
    case EMBER_DTYPE_UINT8: return !p->is_max ? NULL : flat ? maxpool2d_u8 : maxpool_u8;
    default: return NULL;
    }
}

/* A 1-D window as a 2-D one of unit height, so that it takes the 2-D path. */
static void fold_1d(cpu_window *w)
{
    int64_t *fields[] = {w->in, w->out, w->kernel, w->stride, w->dilation, w->pad_begin,
                         w->pad_end};
    int64_t unit[] = {1, 1, 1, 1, 1, 0, 0};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        fields[i][1] = fields[i][0];
        fields[i][0] = unit[i];
    }
    w->rank = 2;
}

static ember_status pool_geometry(const cpu_kernel *k, const ember_tensor *x, pool_geom *g)
{
    const pool_params *p = k->params;
    ember_status s = cpu_window_resolve(k, &p->win, x, NULL, &g->w);
    if (s != EMBER_OK)
        return s;
    if (g->w.rank == 1)
        fold_1d(&g->w);
    g->in_stride[g->w.rank - 1] = 1;
    for (size_t d = g->w.rank - 1; d > 0; d--)
        g->in_stride[d - 1] = g->in_stride[d] * g->w.in[d];
    g->include_pad = p->include_pad;
    g->column_major = p->column_major;
    return EMBER_OK;
}

/* Allocates Y (and Indices) with shape [N, C, out...]. */
static ember_status pool_outputs(const cpu_kernel *k, ember_kernel_context *ctx,
                                 const ember_tensor *x, const pool_geom *g, ember_tensor **y,
                                 ember_tensor **ind)
{
    const pool_params *p = k->params;
    int64_t dims[CPU_MAX_RANK] = {x->dims[0], x->dims[1]};
    size_t n_spatial = x->rank - 2; /* 1 when fold_1d made the window 2-D */
    memcpy(dims + 2, g->w.out + (g->w.rank - n_spatial), n_spatial * sizeof(int64_t));
    ember_status s = cpu_output(k, ctx, 0, x->dtype, dims, x->rank, y);
    *ind = NULL;
    if (s == EMBER_OK && p->has_indices)
        s = cpu_output(k, ctx, 1, EMBER_DTYPE_INT64, dims, x->rank, ind);
    return s;
}

static ember_status pool_half(const cpu_kernel *k, ember_kernel_context *ctx, pool_job *j,
                              const ember_tensor *x, ember_tensor *y, size_t planes)
{
    float *fx, *fy;
    size_t n_out = cpu_tensor_numel(y);
    ember_status s = cpu_half_input(ctx, k, x, &fx);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, n_out * sizeof(float), (void **)&fy);
    if (s != EMBER_OK)
        return s;
    j->x = (const unsigned char *)fx;
    j->y = (unsigned char *)fy;
    j->esize = sizeof(float);
    cpu_parallel(ctx, k, planes, n_out * j->g->w.kernel_size, pool_planes, j);
    cpu_float_to_half(y->dtype, fy, y->data, n_out);
    return EMBER_OK;
}

static ember_status pool_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_tensor *y, *ind;
    pool_geom g;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = pool_geometry(k, x, &g);
    if (s != EMBER_OK)
        return s;
    pool_fn fn = pick_fn(k->params, x->dtype, g.w.rank);
    if (fn == NULL)
        return cpu_fail_dtype(k, 0, x->dtype);
    s = pool_outputs(k, ctx, x, &g, &y, &ind);
    size_t planes = (size_t)x->dims[0] * (size_t)x->dims[1];
    if (s != EMBER_OK || planes * g.w.out_size == 0)
        return s;
    pool_job j = {&g, fn, x->data, y->data, ind ? ind->data : NULL, cpu_dtype_size(x->dtype)};
    if (cpu_is_half(x->dtype))
        return pool_half(k, ctx, &j, x, y, planes);
    cpu_parallel(ctx, k, planes, planes * g.w.out_size * g.w.kernel_size, pool_planes, &j);
    return EMBER_OK;
}

/* ---- create ------------------------------------------------------------ */

bool cpu_check_maxpool(const ember_host_api *host, const ember_node *node)
{
    uint32_t set = CPU_DT_FLOATS;
    if (host->node_opset(node) >= 12)
        set |= CPU_DT(EMBER_DTYPE_INT8) | CPU_DT(EMBER_DTYPE_UINT8);
    return cpu_input_dtype_in(host, node, 0, set);
}

static bool wants_output(const ember_host_api *host, const ember_node *node, size_t index)
{
    ember_type_info info;
    return host->node_output_count(node) > index && host->node_output_type(node, index, &info);
}

ember_status cpu_create_maxpool(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(pool_params));
    if (s != EMBER_OK)
        return s;
    pool_params *p = k->params;
    int64_t order = 0;
    p->is_max = true;
    p->has_indices = wants_output(k->host, node, 1);
    s = cpu_window_decode(k, node, k->opset >= 10, &p->win);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "storage_order", 0, &order);
    if (s == EMBER_OK && order != 0 && order != 1)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): storage_order is %lld; it must be 0 or 1",
                             k->name, k->op, (long long)order);
    p->column_major = order == 1;
    k->run = pool_run;
    return s;
}

ember_status cpu_create_avgpool(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(pool_params));
    if (s != EMBER_OK)
        return s;
    pool_params *p = k->params;
    int64_t include_pad = 0;
    s = cpu_window_decode(k, node, k->opset >= 10, &p->win);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "count_include_pad", 0, &include_pad);
    p->include_pad = include_pad != 0;
    k->run = pool_run;
    return s;
}

/* ---- GlobalAveragePool ------------------------------------------------- */

typedef struct global_job {
    const void *x;
    void *y;
    size_t size; /* elements per plane */
    bool is_double;
} global_job;

static void global_planes(void *arg, size_t begin, size_t end)
{
    const global_job *j = arg;
    for (size_t p = begin; p < end; p++) {
        double sum = 0.0;
        if (j->is_double) {
            const double *x = (const double *)j->x + p * j->size;
            for (size_t i = 0; i < j->size; i++)
                sum += x[i];
            ((double *)j->y)[p] = j->size ? sum / (double)j->size : 0.0;
        } else {
            const float *x = (const float *)j->x + p * j->size;
            for (size_t i = 0; i < j->size; i++)
                sum += x[i];
            ((float *)j->y)[p] = (float)(j->size ? sum / (double)j->size : 0.0);
        }
    }
}

static ember_status global_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_tensor *y;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (x->rank < 2)
        return cpu_fail_shape(k, 0, x, "expected [N, C, spatial...]");
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    int64_t dims[CPU_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (size_t d = 2; d < x->rank; d++)
        dims[d] = 1;
    s = cpu_output(k, ctx, 0, x->dtype, dims, x->rank, &y);
    size_t planes = (size_t)x->dims[0] * (size_t)x->dims[1];
    if (s != EMBER_OK || planes == 0)
        return s;
    global_job j = {x->data, y->data, cpu_numel(x->dims + 2, x->rank - 2),
                    x->dtype == EMBER_DTYPE_FLOAT64};
    float *fx, *fy = NULL;
    if (cpu_is_half(x->dtype)) {
        s = cpu_half_input(ctx, k, x, &fx);
        j.x = fx;
        if (s == EMBER_OK)
            s = k->host->ctx_scratch(ctx, planes * sizeof(float), (void **)&fy);
        if (s != EMBER_OK)
            return s;
        j.y = fy;
    }
    cpu_parallel(ctx, k, planes, planes * j.size, global_planes, &j);
    if (fy != NULL)
        cpu_float_to_half(x->dtype, fy, y->data, planes);
    return EMBER_OK;
}

ember_status cpu_create_global_avgpool(cpu_kernel *k, const ember_node *node)
{
    k->run = global_run;
    return EMBER_OK;
}
