/*
 * GridSample (opsets 16 and 20+, any spatial rank), AffineGrid and
 * RoiAlign, part of the image family. Follows the ONNX reference
 * implementation's formulas (coordinates denormalised in float32 as it
 * does, so ties round the same way).
 */
#include "kernels_image.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- GridSample ---------------------------------------------------------- */

enum { GS_NEAREST, GS_LINEAR, GS_CUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };

typedef struct gridsample_params {
    int mode, padding;
    bool align_corners;
} gridsample_params;

/* Taps along one spatial dim: index (-1: a zero pad) and weight. */
typedef struct gs_taps {
    int n;
    int64_t idx[4];
    double w[4];
} gs_taps;

static double gs_reflect(double x, double lo, double hi)
{
    double rng = hi - lo;
    if (x < lo) {
        double dx = lo - x;
        int64_t n = (int64_t)(dx / rng);
        double r = dx - (double)n * rng;
        return n % 2 == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        double dx = x - hi;
        int64_t n = (int64_t)(dx / rng);
        double r = dx - (double)n * rng;
        return n % 2 == 0 ? hi - r : lo + r;
    }
    return x;
}

/* The pixel index an (integer) tap reads, -1 for a zero. */
static int64_t gs_pixel(const gridsample_params *p, int64_t i, int64_t len, double lo,
                        double hi)
{
    if (p->padding == GS_ZEROS)
        return i >= 0 && i < len ? i : -1;
    if (p->padding == GS_BORDER)
        return i < 0 ? 0 : i >= len ? len - 1 : i;
    int64_t r = (int64_t)gs_reflect((double)i, lo, hi);
    return r < 0 ? 0 : r >= len ? len - 1 : r;
}

static void gs_cubic_coeffs(double x, double *c)
{
    const double a = -0.75;
    x = fabs(x);
    c[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
    c[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
    c[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a;
}

/* Taps of normalised coordinate g along a dim of length len. */
static void gs_dim_taps(const gridsample_params *p, double g, int64_t len, gs_taps *t)
{
    double lo = p->align_corners ? 0.0 : -0.5;
    double hi = p->align_corners ? (double)len - 1 : (double)len - 0.5;
    float x = p->align_corners ? (float)((g + 1) / 2.0 * (double)(len - 1))
                               : (float)(((g + 1) * (double)len - 1) / 2.0);
    if (p->mode == GS_NEAREST)
        x = rintf(x);
    if (x < lo || x > hi) {
        if (p->padding == GS_BORDER)
            x = x < 0 ? 0.0f : x > (float)(len - 1) ? (float)(len - 1) : x;
        else if (p->padding == GS_REFLECTION)
            x = (float)gs_reflect(x, lo, hi);
    }
    if (p->mode == GS_NEAREST) {
        t->n = 1;
        t->idx[0] = gs_pixel(p, (int64_t)x, len, lo, hi);
        t->w[0] = 1.0;
        return;
    }
    double x0 = floor((double)x), f = (double)x - x0;
    if (p->mode == GS_LINEAR) {
        t->n = 2;
        t->w[0] = 1.0 - f;
        t->w[1] = f;
    } else {
        t->n = 4;
        gs_cubic_coeffs(f, t->w);
        x0 -= 1.0;
    }
    for (int i = 0; i < t->n; i++)
        t->idx[i] = gs_pixel(p, (int64_t)x0 + i, len, lo, hi);
}

typedef struct gs_job {
    const gridsample_params *p;
    const double *x, *grid;
    double *y;
    size_t r, n, c, in_size, out_size;
    const int64_t *in_dims;
} gs_job;

/* Sum over the tensor product of the dims' taps for one plane. */
static double gs_gather(const gs_job *j, const gs_taps *t, const double *plane)
{
    int k[CPU_MAX_RANK] = {0};
    double sum = 0.0;
    for (;;) {
        double w = 1.0;
        int64_t off = 0;
        bool zero = false;
        for (size_t d = 0; d < j->r; d++) {
            int64_t i = t[d].idx[k[d]];
            w *= t[d].w[k[d]];
            zero = zero || i < 0;
            off = off * j->in_dims[d] + (i < 0 ? 0 : i);
        }
        if (!zero)
            sum += w * plane[off];
        size_t d = j->r;
        while (d-- > 0) {
            if (++k[d] < t[d].n)
                break;
            k[d] = 0;
        }
        if (d == (size_t)-1)
            return sum;
    }
}

static void gs_points(void *arg, size_t begin, size_t end)
{
    const gs_job *j = arg;
    for (size_t i = begin; i < end; i++) { /* i = n * out_size + point */
        size_t n = i / j->out_size, pt = i % j->out_size;
        const double *g = j->grid + i * j->r;
        gs_taps t[CPU_MAX_RANK];
        for (size_t d = 0; d < j->r; d++)
            gs_dim_taps(j->p, g[j->r - 1 - d], j->in_dims[d], &t[d]);
        for (size_t c = 0; c < j->c; c++) {
            const double *plane = j->x + (n * j->c + c) * j->in_size;
            j->y[(n * j->c + c) * j->out_size + pt] = gs_gather(j, t, plane);
        }
    }
}

static ember_status gs_check(const cpu_kernel *k, const ember_tensor *x,
                             const ember_tensor *grid)
{
    if (x->rank < 3 || x->rank > CPU_MAX_RANK)
        return cpu_fail_shape(k, 0, x, "expected [N, C, spatial...]");
    if (grid->rank != x->rank || grid->dims[0] != x->dims[0] ||
        grid->dims[grid->rank - 1] != (int64_t)x->rank - 2)
        return cpu_fail_shape(k, 1, grid, "expected [N, spatial..., spatial rank]");
    if (!(CPU_DT(grid->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 1, grid->dtype);
    return EMBER_OK;
}

static ember_status gridsample_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x, *grid;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &grid);
    if (s == EMBER_OK)
        s = cpu_img_need_numeric(k, 0, x);
    if (s == EMBER_OK)
        s = gs_check(k, x, grid);
    if (s != EMBER_OK)
        return s;
    gs_job j = {k->params, NULL, NULL, NULL, x->rank - 2, (size_t)x->dims[0],
                (size_t)x->dims[1], cpu_numel(x->dims + 2, x->rank - 2),
                cpu_numel(grid->dims + 1, grid->rank - 2), x->dims + 2};
    int64_t dims[CPU_MAX_RANK] = {x->dims[0], x->dims[1]};
    memcpy(dims + 2, grid->dims + 1, j.r * sizeof(int64_t));
    size_t n_out = j.n * j.c * j.out_size;
    s = cpu_img_load(k, ctx, 0, x, (double **)&j.x);
    if (s == EMBER_OK)
        s = cpu_img_load(k, ctx, 1, grid, (double **)&j.grid);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, n_out, sizeof(double), (void **)&j.y);
    if (s != EMBER_OK)
        return s;
    if (j.in_size == 0) {
        for (size_t i = 0; i < n_out; i++)
            j.y[i] = 0.0;
    } else {
        cpu_parallel(ctx, k, j.n * j.out_size, n_out * 16, gs_points, &j);
    }
    return cpu_img_emit(k, ctx, 0, x->dtype, dims, x->rank, j.y);
}

ember_status cpu_img_create_gridsample(cpu_kernel *k, const ember_node *node)
{
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear", "bicubic"};
    static const char *const pads[] = {"zeros", "border", "reflection"};
    ember_status s = cpu_kernel_params(k, sizeof(gridsample_params));
    if (s != EMBER_OK)
        return s;
    gridsample_params *p = k->params;
    int64_t align = 0;
    s = cpu_img_attr_enum(k, node, "mode", k->opset >= 20 ? "linear" : "bilinear", modes, 5,
                      &p->mode);
    if (s == EMBER_OK)
        s = cpu_img_attr_enum(k, node, "padding_mode", "zeros", pads, 3, &p->padding);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "align_corners", 0, &align);
    if (p->mode >= 3)
        p->mode -= 2; /* bilinear -> linear, bicubic -> cubic */
    p->align_corners = align != 0;
    k->run = gridsample_run;
    return s;
}

/* ---- AffineGrid ---------------------------------------------------------- */

typedef struct affine_params {
    bool align_corners;
} affine_params;

/* Normalised coordinate of index i along a dim of length len. */
static double ag_coord(bool align, int64_t i, int64_t len)
{
    if (align)
        return len == 1 ? -1.0 : -1.0 + (double)i * (2.0 / (double)(len - 1));
    double step = 2.0 / (double)len;
    return -1.0 + step / 2 + (double)i * step;
}

static ember_status affine_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const affine_params *p = k->params;
    const ember_tensor *theta, *size;
    int64_t sz[5];
    size_t n_sz = 0;
    ember_status s = cpu_input(k, ctx, 0, &theta);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &size);
    if (s == EMBER_OK)
        s = cpu_read_ints(k, 1, size, sz, 5, &n_sz);
    if (s != EMBER_OK)
        return s;
    if (n_sz != 4 && n_sz != 5)
        return cpu_fail_shape(k, 1, size, "expected [N, C, H, W] or [N, C, D, H, W]");
    size_t r = n_sz - 2;
    if (theta->rank != 3 || theta->dims[0] != sz[0] || theta->dims[1] != (int64_t)r ||
        theta->dims[2] != (int64_t)r + 1)
        return cpu_fail_shape(k, 0, theta, "expected [N, 2, 3] (2-D) or [N, 3, 4] (3-D)");
    if (!cpu_img_count_ok(sz, n_sz))
        return cpu_fail_shape(k, 1, size, "sizes are negative or their product overflows");
    double *th, *y;
    size_t pts = cpu_numel(sz + 2, r), n = (size_t)sz[0];
    s = cpu_img_load(k, ctx, 0, theta, &th);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, n * pts * r, sizeof(double), (void **)&y);
    if (s != EMBER_OK)
        return s;
    for (size_t b = 0; b < n; b++) {
        for (size_t pt = 0; pt < pts; pt++) {
            double v[4];
            size_t rest = pt;
            for (size_t d = r; d-- > 0;) { /* v = (x, y[, z], 1): x is the last dim */
                int64_t i = (int64_t)(rest % (size_t)sz[2 + d]);
                rest /= (size_t)sz[2 + d];
                v[r - 1 - d] = ag_coord(p->align_corners, i, sz[2 + d]);
            }
            v[r] = 1.0;
            for (size_t o = 0; o < r; o++) {
                double acc = 0.0;
                for (size_t c = 0; c <= r; c++)
                    acc += th[(b * r + o) * (r + 1) + c] * v[c];
                y[(b * pts + pt) * r + o] = acc;
            }
        }
    }
    int64_t dims[5] = {sz[0]};
    memcpy(dims + 1, sz + 2, r * sizeof(int64_t));
    dims[r + 1] = (int64_t)r;
    return cpu_img_emit(k, ctx, 0, theta->dtype, dims, r + 2, y);
}

ember_status cpu_img_create_affine_grid(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(affine_params));
    if (s != EMBER_OK)
        return s;
    int64_t align = 0;
    s = cpu_attr_int(k, node, "align_corners", 0, &align);
    ((affine_params *)k->params)->align_corners = align != 0;
    k->run = affine_run;
    return s;
}

/* ---- RoiAlign ------------------------------------------------------------ */

typedef struct roialign_params {
    bool is_max, half_pixel;
    int64_t out_h, out_w, sampling_ratio;
    double spatial_scale;
} roialign_params;

/* One bilinear sample: four offsets in the plane and their weights. */
typedef struct ra_sample {
    size_t pos[4];
    double w[4];
} ra_sample;

static void ra_sample_at(double y, double x, int64_t h, int64_t w, ra_sample *s)
{
    memset(s, 0, sizeof *s);
    if (y < -1.0 || y > (double)h || x < -1.0 || x > (double)w)
        return;
    y = y > 0 ? y : 0;
    x = x > 0 ? x : 0;
    int64_t yl = (int64_t)y, xl = (int64_t)x, yh, xh;
    if (yl >= h - 1) {
        yh = yl = h - 1;
        y = (double)yl;
    } else {
        yh = yl + 1;
    }
    if (xl >= w - 1) {
        xh = xl = w - 1;
        x = (double)xl;
    } else {
        xh = xl + 1;
    }
    double ly = y - (double)yl, lx = x - (double)xl, hy = 1 - ly, hx = 1 - lx;
    s->pos[0] = (size_t)(yl * w + xl);
    s->pos[1] = (size_t)(yl * w + xh);
    s->pos[2] = (size_t)(yh * w + xl);
    s->pos[3] = (size_t)(yh * w + xh);
    s->w[0] = hy * hx;
    s->w[1] = hy * lx;
    s->w[2] = ly * hx;
    s->w[3] = ly * lx;
}

typedef struct ra_job {
    const roialign_params *p;
    const double *x, *rois;
    const int64_t *batch;
    double *y;
    int64_t n, c, h, w;
} ra_job;

/* One output bin of one channel plane. */
static double ra_bin(const ra_job *j, const double *plane, double y0, double x0, double bh,
                     double bw, int64_t gh, int64_t gw)
{
    double acc = 0.0;
    bool first = true;
    for (int64_t iy = 0; iy < gh; iy++) {
        double yy = y0 + ((double)iy + 0.5) * bh / (double)gh;
        for (int64_t ix = 0; ix < gw; ix++) {
            double xx = x0 + ((double)ix + 0.5) * bw / (double)gw;
            ra_sample s;
            ra_sample_at(yy, xx, j->h, j->w, &s);
            if (!j->p->is_max) {
                for (int t = 0; t < 4; t++)
                    acc += s.w[t] * plane[s.pos[t]];
                continue;
            }
            double v = s.w[0] * plane[s.pos[0]];
            for (int t = 1; t < 4; t++)
                v = fmax(v, s.w[t] * plane[s.pos[t]]);
            acc = first ? v : fmax(acc, v);
            first = false;
        }
    }
    int64_t count = gh * gw > 1 ? gh * gw : 1;
    return j->p->is_max ? acc : acc / (double)count;
}

static void ra_rois(void *arg, size_t begin, size_t end)
{
    const ra_job *j = arg;
    const roialign_params *p = j->p;
    for (size_t r = begin; r < end; r++) {
        const double *roi = j->rois + r * 4;
        double off = p->half_pixel ? 0.5 : 0.0;
        double x0 = roi[0] * p->spatial_scale - off, y0 = roi[1] * p->spatial_scale - off;
        double rw = roi[2] * p->spatial_scale - off - x0;
        double rh = roi[3] * p->spatial_scale - off - y0;
        if (!p->half_pixel) {
            rw = rw > 1.0 ? rw : 1.0;
            rh = rh > 1.0 ? rh : 1.0;
        }
        double bh = rh / (double)p->out_h, bw = rw / (double)p->out_w;
        int64_t sr = p->sampling_ratio;
        int64_t gh = sr > 0 ? sr : (int64_t)ceil(rh / (double)p->out_h);
        int64_t gw = sr > 0 ? sr : (int64_t)ceil(rw / (double)p->out_w);
        for (int64_t c = 0; c < j->c; c++) {
            const double *plane = j->x + (size_t)((j->batch[r] * j->c + c) * j->h * j->w);
            double *y = j->y + ((int64_t)r * j->c + c) * p->out_h * p->out_w;
            for (int64_t ph = 0; ph < p->out_h; ph++)
                for (int64_t pw = 0; pw < p->out_w; pw++)
                    y[ph * p->out_w + pw] = ra_bin(j, plane, y0 + (double)ph * bh,
                                                   x0 + (double)pw * bw, bh, bw, gh, gw);
        }
    }
}

static ember_status ra_check(const cpu_kernel *k, const ember_tensor *x,
                             const ember_tensor *rois, const ember_tensor *bi)
{
    if (x->rank != 4)
        return cpu_fail_shape(k, 0, x, "expected [N, C, H, W]");
    if (rois->rank != 2 || rois->dims[1] != 4)
        return cpu_fail_shape(k, 1, rois, "expected [num_rois, 4]");
    if (bi->rank != 1 || bi->dims[0] != rois->dims[0])
        return cpu_fail_shape(k, 2, bi, "expected [num_rois]");
    if (bi->dtype != EMBER_DTYPE_INT64)
        return cpu_fail_dtype(k, 2, bi->dtype);
    for (int64_t i = 0; i < bi->dims[0]; i++) {
        int64_t b = ((const int64_t *)bi->data)[i];
        if (b < 0 || b >= x->dims[0])
            return cpu_fail_shape(k, 2, bi, "a batch index is outside input 0's batch");
    }
    return EMBER_OK;
}

static ember_status roialign_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const roialign_params *p = k->params;
    const ember_tensor *x, *rois, *bi;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &rois);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 2, &bi);
    if (s == EMBER_OK)
        s = ra_check(k, x, rois, bi);
    if (s != EMBER_OK)
        return s;
    ra_job j = {p, NULL, NULL, bi->data, NULL, rois->dims[0], x->dims[1], x->dims[2],
                x->dims[3]};
    int64_t dims[4] = {rois->dims[0], x->dims[1], p->out_h, p->out_w};
    if (!cpu_img_count_ok(dims, 4))
        return cpu_fail_shape(k, 1, rois, "the output element count overflows");
    s = cpu_img_load(k, ctx, 0, x, (double **)&j.x);
    if (s == EMBER_OK)
        s = cpu_img_load(k, ctx, 1, rois, (double **)&j.rois);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, cpu_numel(dims, 4), sizeof(double), (void **)&j.y);
    if (s != EMBER_OK)
        return s;
    if (j.h > 0 && j.w > 0)
        cpu_parallel(ctx, k, (size_t)j.n, cpu_numel(dims, 4) * 16, ra_rois, &j);
    else
        memset(j.y, 0, cpu_numel(dims, 4) * sizeof(double));
    return cpu_img_emit(k, ctx, 0, x->dtype, dims, 4, j.y);
}

ember_status cpu_img_create_roialign(cpu_kernel *k, const ember_node *node)
{
    static const char *const modes[] = {"avg", "max"};
    static const char *const ctms[] = {"output_half_pixel", "half_pixel"};
    ember_status s = cpu_kernel_params(k, sizeof(roialign_params));
    if (s != EMBER_OK)
        return s;
    roialign_params *p = k->params;
    int mode = 0, ctm = 0;
    float scale = 1.0f;
    s = cpu_img_attr_enum(k, node, "mode", "avg", modes, 2, &mode);
    if (s == EMBER_OK && k->opset >= 16)
        s = cpu_img_attr_enum(k, node, "coordinate_transformation_mode", "half_pixel", ctms, 2,
                          &ctm);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "output_height", 1, &p->out_h);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "output_width", 1, &p->out_w);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "sampling_ratio", 0, &p->sampling_ratio);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "spatial_scale", 1.0f, &scale);
    if (s == EMBER_OK && (p->out_h < 1 || p->out_w < 1 || p->sampling_ratio < 0))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): output_height/output_width must be >= 1 and "
                             "sampling_ratio >= 0",
                             k->name, k->op);
    p->is_max = mode == 1;
    p->half_pixel = ctm == 1;
    p->spatial_scale = scale;
    k->run = roialign_run;
    return s;
}
