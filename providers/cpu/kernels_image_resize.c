/*
 * Resize (opsets 10-19) and Upsample (7-10), part of the image family.
 * Resizing is separable: each resized axis is one pass that maps every
 * output index to a few input taps with weights (nearest: one tap chosen
 * by nearest_mode; linear: 2; cubic: 4; antialias widens the filter when
 * downsampling). Follows the ONNX reference implementation's formulas.
 */
#include "kernels_image.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum {
    RS_HALF_PIXEL,
    RS_HALF_PIXEL_SYMMETRIC,
    RS_PYTORCH_HALF_PIXEL,
    RS_ALIGN_CORNERS,
    RS_ASYMMETRIC,
    RS_TF_CROP_AND_RESIZE,
};
enum { RS_PREFER_FLOOR, RS_PREFER_CEIL, RS_FLOOR, RS_CEIL };
enum { RS_STRETCH, RS_NOT_LARGER, RS_NOT_SMALLER };

typedef struct resize_params {
    int mode, ctm, nearest_mode, policy;
    double cubic_a, extrapolation;
    bool exclude_outside, antialias;
    bool upsample;      /* Upsample and Resize-10: asymmetric; nearest takes the
                         * floor (the ceil when downsampling, as onnxruntime) */
    size_t n_axes;      /* 0: every axis */
    int64_t axes[CPU_MAX_RANK];
    size_t n_attr_scales; /* Upsample-7: the scales attribute */
    double attr_scales[CPU_MAX_RANK];
} resize_params;

/* One resized axis of one run. */
typedef struct rs_axis {
    int64_t in, out;
    double scale, roi0, roi1;
} rs_axis;

/* ---- filter coefficients ------------------------------------------------- */

static size_t rs_tap_count(const resize_params *p, double scale)
{
    double sc = scale < 1.0 ? scale : 1.0;
    if (p->mode == RS_NEAREST)
        return 2;
    if (!p->antialias)
        return p->mode == RS_LINEAR ? 2 : 4;
    int64_t start = (int64_t)floor((p->mode == RS_LINEAR ? -1.0 : -2.0) / sc) + 1;
    return (size_t)(2 - 2 * start);
}

static double rs_cubic(double x, double a)
{
    x = fabs(x);
    if (x <= 1.0)
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2.0)
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0.0;
}

static void rs_nearest(const resize_params *p, double ratio, double *c)
{
    bool upper;
    if (ratio == 1.0)
        upper = true;
    else if (p->nearest_mode == RS_PREFER_FLOOR)
        upper = ratio > 0.5;
    else if (p->nearest_mode == RS_PREFER_CEIL)
        upper = ratio >= 0.5;
    else
        upper = p->nearest_mode == RS_CEIL;
    c[0] = upper ? 0.0 : 1.0;
    c[1] = upper ? 1.0 : 0.0;
}

/* Weights of the n taps for fractional position `ratio` in (0, 1]. */
static void rs_coeffs(const resize_params *p, double ratio, double scale, double *c, size_t n)
{
    double sc = scale < 1.0 ? scale : 1.0, a = p->cubic_a, sum = 0.0;
    if (p->mode == RS_NEAREST) {
        rs_nearest(p, ratio, c);
        return;
    }
    if (!p->antialias && p->mode == RS_LINEAR) {
        c[0] = 1.0 - ratio;
        c[1] = ratio;
        return;
    }
    if (!p->antialias) {
        c[0] = ((a * (ratio + 1) - 5 * a) * (ratio + 1) + 8 * a) * (ratio + 1) - 4 * a;
        c[1] = ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1;
        c[2] = ((a + 2) * (1 - ratio) - (a + 3)) * (1 - ratio) * (1 - ratio) + 1;
        c[3] = ((a * (2 - ratio) - 5 * a) * (2 - ratio) + 8 * a) * (2 - ratio) - 4 * a;
        return;
    }
    int64_t start = 1 - (int64_t)n / 2;
    for (size_t i = 0; i < n; i++) {
        double arg = ((double)(start + (int64_t)i) - ratio) * sc;
        if (p->mode == RS_LINEAR) {
            double v = 1.0 - fabs(arg);
            c[i] = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
        } else {
            c[i] = rs_cubic(arg, a);
        }
        sum += c[i];
    }
    for (size_t i = 0; sum != 0.0 && i < n; i++)
        c[i] /= sum;
}

/* Source coordinate of output index y; *extra set when it falls outside
 * the input in tf_crop_and_resize. */
static double rs_source(const resize_params *p, const rs_axis *ax, double y, bool *extra)
{
    double in = (double)ax->in, out_w = ax->scale * in, x;
    *extra = false;
    switch (p->ctm) {
    case RS_ALIGN_CORNERS:
        return out_w == 1.0 ? 0.0 : y * (in - 1) / (out_w - 1);
    case RS_ASYMMETRIC:
        return y / ax->scale;
    case RS_TF_CROP_AND_RESIZE:
        if (out_w == 1.0)
            x = (ax->roi1 - ax->roi0) * (in - 1) / 2;
        else
            x = y * (ax->roi1 - ax->roi0) * (in - 1) / (out_w - 1);
        x += ax->roi0 * (in - 1);
        *extra = x < 0.0 || x > in - 1;
        return x;
    case RS_PYTORCH_HALF_PIXEL:
        return out_w == 1.0 ? -0.5 : (y + 0.5) / ax->scale - 0.5;
    case RS_HALF_PIXEL_SYMMETRIC: {
        double adjust = (double)ax->out / out_w, offset = in / 2 * (1 - adjust);
        return offset + (y + 0.5) / ax->scale - 0.5;
    }
    default:
        return (y + 0.5) / ax->scale - 0.5;
    }
}

/* Taps of output index o: idx[0..n) (clamped) and w[0..n); false when the
 * point is extrapolated. */
static bool rs_taps(const resize_params *p, const rs_axis *ax, int64_t o, size_t n,
                    int64_t *idx, double *w)
{
    bool extra;
    double x = rs_source(p, ax, (double)o, &extra);
    double fl = floor(x), ratio = x == fl ? 1.0 : x - fl;
    if (p->upsample && p->mode == RS_NEAREST) /* ceil when downsampling, else floor */
        ratio = x == fl || ax->scale < 1.0 ? 1.0 : 0.0;
    rs_coeffs(p, ratio, ax->scale, w, n);
    int64_t start;
    if (n % 2 == 0)
        start = (int64_t)fl - (int64_t)n / 2 + (x == fl ? 0 : 1);
    else
        start = (int64_t)fl - (int64_t)(n - 1) / 2 + (x - fl <= 0.5 ? 0 : 1);
    double sum = 0.0;
    for (size_t t = 0; t < n; t++) {
        int64_t i = start + (int64_t)t;
        if (p->exclude_outside && (i < 0 || i >= ax->in))
            w[t] = 0.0;
        sum += w[t];
        idx[t] = i < 0 ? 0 : i >= ax->in ? ax->in - 1 : i;
    }
    if (p->exclude_outside && sum != 0.0) {
        for (size_t t = 0; t < n; t++)
            w[t] /= sum;
    }
    return !extra;
}

/* ---- one pass ---------------------------------------------------------- */

typedef struct rs_pass {
    const double *src;
    double *dst;
    size_t outer, inner, n;
    int64_t in, out;
    const int64_t *idx; /* out x n */
    const double *w;    /* out x n */
    const bool *ok;     /* out */
    double extrapolation;
} rs_pass;

static void rs_pass_rows(void *arg, size_t begin, size_t end)
{
    const rs_pass *j = arg;
    for (size_t r = begin; r < end; r++) { /* r = outer * out + o */
        size_t b = r / (size_t)j->out, o = r % (size_t)j->out;
        double *dst = j->dst + r * j->inner;
        if (!j->ok[o]) {
            for (size_t i = 0; i < j->inner; i++)
                dst[i] = j->extrapolation;
            continue;
        }
        const double *src = j->src + b * (size_t)j->in * j->inner;
        for (size_t i = 0; i < j->inner; i++)
            dst[i] = 0.0;
        for (size_t t = 0; t < j->n; t++) {
            double wt = j->w[o * j->n + t];
            if (wt == 0.0)
                continue;
            const double *s = src + (size_t)j->idx[o * j->n + t] * j->inner;
            for (size_t i = 0; i < j->inner; i++)
                dst[i] += wt * s[i];
        }
    }
}

/* Resizes axis `a` of cur (dims, rank) into *out; updates dims[a]. */
static ember_status rs_axis_pass(const cpu_kernel *k, ember_kernel_context *ctx,
                                 const rs_axis *ax, size_t a, int64_t *dims, size_t rank,
                                 const double *cur, double **out)
{
    const resize_params *p = k->params;
    size_t n = rs_tap_count(p, ax->scale), no = (size_t)ax->out;
    rs_pass j = {cur, NULL, cpu_numel(dims, a), cpu_numel(dims + a + 1, rank - a - 1), n,
                 ax->in, ax->out, NULL, NULL, NULL, p->extrapolation};
    int64_t *idx;
    double *w;
    bool *ok;
    ember_status s = cpu_img_scratch(k, ctx, no * n, sizeof(int64_t), (void **)&idx);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, no * n, sizeof(double), (void **)&w);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, no, sizeof(bool), (void **)&ok);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, j.outer * no * j.inner, sizeof(double), (void **)&j.dst);
    if (s != EMBER_OK)
        return s;
    for (size_t o = 0; o < no; o++)
        ok[o] = rs_taps(p, ax, (int64_t)o, n, idx + o * n, w + o * n);
    j.idx = idx;
    j.w = w;
    j.ok = ok;
    cpu_parallel(ctx, k, j.outer * no, j.outer * no * j.inner * n, rs_pass_rows, &j);
    dims[a] = ax->out;
    *out = j.dst;
    return EMBER_OK;
}

static bool rs_is_identity(const resize_params *p, const rs_axis *ax)
{
    if (fabs(ax->scale - 1.0) > 1e-9 || ax->out != ax->in)
        return false;
    return p->ctm != RS_TF_CROP_AND_RESIZE ||
           (fabs(ax->roi0) <= 1e-9 && fabs(ax->roi1 - 1.0) <= 1e-9);
}

/* ---- nearest by copying ------------------------------------------------ */

/* Source index of every output index along each axis (nearest mode, no
 * extrapolation): src[d] holds ax[d].out entries. */
static ember_status rs_nearest_index(const cpu_kernel *k, ember_kernel_context *ctx,
                                     const rs_axis *ax, size_t rank, int64_t **src)
{
    const resize_params *p = k->params;
    for (size_t d = 0; d < rank; d++) {
        ember_status s = cpu_img_scratch(k, ctx, (size_t)ax[d].out, sizeof(int64_t),
                                     (void **)&src[d]);
        if (s != EMBER_OK)
            return s;
        for (int64_t o = 0; o < ax[d].out; o++) {
            int64_t idx[2];
            double w[2];
            if (rs_is_identity(p, &ax[d])) {
                src[d][o] = o;
                continue;
            }
            rs_taps(p, &ax[d], o, 2, idx, w);
            src[d][o] = w[1] > w[0] ? idx[1] : idx[0];
        }
    }
    return EMBER_OK;
}

/* Nearest resize of any dtype (strings included) by copying elements, exact
 * for 64-bit integers too. */
static ember_status rs_nearest_copy(const cpu_kernel *k, ember_kernel_context *ctx,
                                    const ember_tensor *x, const rs_axis *ax,
                                    const int64_t *out_dims)
{
    int64_t *src[CPU_MAX_RANK], stride[CPU_MAX_RANK], o[CPU_MAX_RANK] = {0};
    size_t r = x->rank, es = cpu_dtype_size(x->dtype);
    ember_tensor *y;
    ember_status s = rs_nearest_index(k, ctx, ax, r, src);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x->dtype, out_dims, r, &y);
    if (s != EMBER_OK)
        return s;
    for (size_t d = r; d-- > 0;)
        stride[d] = d + 1 == r ? 1 : stride[d + 1] * x->dims[d + 1];
    size_t n = cpu_tensor_numel(y);
    for (size_t i = 0; i < n && s == EMBER_OK; i++) {
        int64_t off = 0;
        for (size_t d = 0; d < r; d++)
            off += src[d][o[d]] * stride[d];
        if (x->dtype == EMBER_DTYPE_STRING) {
            const ember_string *str = (const ember_string *)x->data + off;
            s = k->host->tensor_set_string(y, i, str->data, str->size);
        } else {
            memcpy((unsigned char *)y->data + i * es,
                   (const unsigned char *)x->data + (size_t)off * es, es);
        }
        for (size_t d = r; d-- > 0;) {
            if (++o[d] < out_dims[d])
                break;
            o[d] = 0;
        }
    }
    return s;
}

/* ---- run ----------------------------------------------------------------- */

/* The resized axes' flags and the inputs holding scales, sizes and roi. */
typedef struct rs_request {
    const ember_tensor *roi, *scales, *sizes;
    size_t roi_index, scales_index, sizes_index;
    bool on_axis[CPU_MAX_RANK];
    size_t pos[CPU_MAX_RANK]; /* position of each axis in `axes` */
    size_t n_axes;
} rs_request;

static const ember_tensor *rs_nonempty(const ember_tensor *t)
{
    return t != NULL && cpu_tensor_numel(t) > 0 ? t : NULL;
}

static ember_status rs_request_init(const cpu_kernel *k, ember_kernel_context *ctx,
                                    const ember_tensor *x, rs_request *r)
{
    const resize_params *p = k->params;
    memset(r, 0, sizeof *r);
    bool new_style = !p->upsample && k->opset >= 11;
    r->scales_index = new_style ? 2 : 1;
    r->sizes_index = 3;
    r->roi_index = 1;
    r->scales = rs_nonempty(cpu_opt_input(k, ctx, r->scales_index));
    r->sizes = new_style ? rs_nonempty(cpu_opt_input(k, ctx, 3)) : NULL;
    r->roi = new_style ? rs_nonempty(cpu_opt_input(k, ctx, 1)) : NULL;
    r->n_axes = p->n_axes ? p->n_axes : x->rank;
    for (size_t i = 0; i < r->n_axes; i++) {
        size_t a = i;
        if (p->n_axes && !cpu_normalize_axis(p->axes[i], x->rank, &a))
            return cpu_fail_shape(k, 0, x, "attribute 'axes' is outside the rank");
        if (r->on_axis[a])
            return cpu_fail_shape(k, 0, x, "attribute 'axes' repeats an axis");
        r->on_axis[a] = true;
        r->pos[a] = i;
    }
    if (p->n_attr_scales == 0 && r->scales == NULL && r->sizes == NULL)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): neither scales nor sizes is given", k->name,
                             k->op);
    if (r->scales != NULL && r->sizes != NULL)
        return cpu_fail_shape(k, r->scales_index, r->scales,
                              "scales and sizes must not both be given");
    return EMBER_OK;
}

/* Scales (from the attribute or the scales input) per axis. */
static ember_status rs_from_scales(const cpu_kernel *k, ember_kernel_context *ctx,
                                   const ember_tensor *x, const rs_request *r, rs_axis *ax)
{
    const resize_params *p = k->params;
    const double *sc = p->attr_scales;
    size_t n = p->n_attr_scales;
    if (r->scales != NULL) {
        double *v;
        ember_status s = cpu_img_load(k, ctx, r->scales_index, r->scales, &v);
        if (s != EMBER_OK)
            return s;
        sc = v;
        n = cpu_tensor_numel(r->scales);
    }
    if (n != r->n_axes)
        return cpu_fail_shape(k, r->scales_index, r->scales ? r->scales : x,
                              "the number of scales differs from the resized axes");
    for (size_t d = 0; d < x->rank; d++) {
        double s = r->on_axis[d] ? sc[r->pos[d]] : 1.0;
        if (!(s > 0.0))
            return cpu_fail_shape(k, r->scales_index, r->scales ? r->scales : x,
                                  "scales must be positive");
        if (s * (double)ax[d].in >= 4.0e18)
            return cpu_fail_shape(k, r->scales_index, r->scales ? r->scales : x,
                                  "the scaled size overflows");
        ax[d].scale = s;
        ax[d].out = (int64_t)(s * (double)ax[d].in);
    }
    return EMBER_OK;
}

static ember_status rs_from_sizes(const cpu_kernel *k, const ember_tensor *x,
                                  const rs_request *r, rs_axis *ax)
{
    const resize_params *p = k->params;
    int64_t sizes[CPU_MAX_RANK];
    size_t n;
    ember_status s = cpu_read_ints(k, r->sizes_index, r->sizes, sizes, CPU_MAX_RANK, &n);
    if (s != EMBER_OK)
        return s;
    if (n != r->n_axes)
        return cpu_fail_shape(k, r->sizes_index, r->sizes,
                              "the number of sizes differs from the resized axes");
    double lo = INFINITY, hi = 0.0;
    for (size_t d = 0; d < x->rank; d++) {
        int64_t want = r->on_axis[d] ? sizes[r->pos[d]] : ax[d].in;
        if (want < 0)
            return cpu_fail_shape(k, r->sizes_index, r->sizes, "sizes must not be negative");
        ax[d].out = want;
        ax[d].scale = ax[d].in ? (double)want / (double)ax[d].in : 1.0;
        if (r->on_axis[d]) {
            lo = ax[d].scale < lo ? ax[d].scale : lo;
            hi = ax[d].scale > hi ? ax[d].scale : hi;
        }
    }
    if (p->policy == RS_STRETCH)
        return EMBER_OK;
    double scale = p->policy == RS_NOT_LARGER ? lo : hi;
    for (size_t d = 0; d < x->rank; d++) {
        if (!r->on_axis[d])
            continue;
        ax[d].scale = scale;
        ax[d].out = (int64_t)(scale * (double)ax[d].in + 0.5);
    }
    return EMBER_OK;
}

static ember_status rs_roi(const cpu_kernel *k, ember_kernel_context *ctx,
                           const ember_tensor *x, const rs_request *r, rs_axis *ax)
{
    for (size_t d = 0; d < x->rank; d++) {
        ax[d].roi0 = 0.0;
        ax[d].roi1 = 1.0;
    }
    if (r->roi == NULL)
        return EMBER_OK;
    double *v;
    ember_status s = cpu_img_load(k, ctx, r->roi_index, r->roi, &v);
    if (s != EMBER_OK)
        return s;
    if (cpu_tensor_numel(r->roi) != 2 * r->n_axes)
        return cpu_fail_shape(k, r->roi_index, r->roi,
                              "roi must hold a start and an end per resized axis");
    for (size_t d = 0; d < x->rank; d++) {
        if (!r->on_axis[d])
            continue;
        ax[d].roi0 = v[r->pos[d]];
        ax[d].roi1 = v[r->n_axes + r->pos[d]];
    }
    return EMBER_OK;
}

static ember_status resize_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const resize_params *p = k->params;
    const ember_tensor *x;
    rs_request r;
    rs_axis ax[CPU_MAX_RANK];
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = x->dtype == EMBER_DTYPE_STRING ? EMBER_OK : cpu_img_need_fixed(k, 0, x);
    if (s == EMBER_OK && x->rank > CPU_MAX_RANK)
        return cpu_fail_shape(k, 0, x, "the rank is too large");
    if (s == EMBER_OK)
        s = rs_request_init(k, ctx, x, &r);
    for (size_t d = 0; s == EMBER_OK && d < x->rank; d++)
        ax[d].in = x->dims[d];
    if (s == EMBER_OK)
        s = r.sizes != NULL ? rs_from_sizes(k, x, &r, ax) : rs_from_scales(k, ctx, x, &r, ax);
    if (s == EMBER_OK)
        s = rs_roi(k, ctx, x, &r, ax);
    if (s != EMBER_OK)
        return s;
    int64_t dims[CPU_MAX_RANK], out_dims[CPU_MAX_RANK];
    for (size_t d = 0; d < x->rank; d++) {
        dims[d] = x->dims[d];
        out_dims[d] = ax[d].out;
    }
    if (!cpu_img_count_ok(out_dims, x->rank))
        return cpu_fail_shape(k, r.sizes ? r.sizes_index : r.scales_index,
                              r.sizes ? r.sizes : r.scales ? r.scales : x,
                              "the output element count overflows");
    if (cpu_numel(out_dims, x->rank) == 0 || cpu_tensor_numel(x) == 0) {
        ember_tensor *y;
        s = cpu_output(k, ctx, 0, x->dtype, out_dims, x->rank, &y);
        if (s == EMBER_OK && cpu_tensor_numel(y) > 0 && x->dtype != EMBER_DTYPE_STRING)
            memset(y->data, 0, cpu_tensor_numel(y) * cpu_dtype_size(x->dtype));
        return s;
    }
    if (p->mode == RS_NEAREST && p->ctm != RS_TF_CROP_AND_RESIZE)
        return rs_nearest_copy(k, ctx, x, ax, out_dims);
    if (x->dtype == EMBER_DTYPE_STRING)
        return cpu_fail_dtype(k, 0, x->dtype);
    double *cur;
    s = cpu_img_load(k, ctx, 0, x, &cur);
    for (size_t d = 0; s == EMBER_OK && d < x->rank; d++) {
        if (!rs_is_identity(p, &ax[d]))
            s = rs_axis_pass(k, ctx, &ax[d], d, dims, x->rank, cur, &cur);
    }
    if (s != EMBER_OK)
        return s;
    return cpu_img_emit(k, ctx, 0, x->dtype, out_dims, x->rank, cur);
}

/* ---- create -------------------------------------------------------------- */

static ember_status rs_decode_modes(cpu_kernel *k, const ember_node *node, resize_params *p)
{
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const ctms[] = {"half_pixel",   "half_pixel_symmetric",
                                       "pytorch_half_pixel", "align_corners",
                                       "asymmetric",   "tf_crop_and_resize"};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                          "ceil"};
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller"};
    ember_status s = cpu_img_attr_enum(k, node, "mode", "nearest", modes, 3, &p->mode);
    if (s == EMBER_OK && p->upsample && p->mode == RS_CUBIC)
        return cpu_img_bad_attr(k, "mode", "cubic");
    if (s == EMBER_OK && (p->upsample || k->opset < 11)) {
        p->ctm = RS_ASYMMETRIC;
        p->upsample = true; /* Resize-10 behaves as Upsample */
        return EMBER_OK;
    }
    if (s == EMBER_OK)
        s = cpu_img_attr_enum(k, node, "coordinate_transformation_mode", "half_pixel", ctms, 6,
                          &p->ctm);
    if (s == EMBER_OK)
        s = cpu_img_attr_enum(k, node, "nearest_mode", "round_prefer_floor", nearest, 4,
                          &p->nearest_mode);
    if (s == EMBER_OK)
        s = cpu_img_attr_enum(k, node, "keep_aspect_ratio_policy", "stretch", policies, 3,
                          &p->policy);
    return s;
}

static ember_status rs_decode_numbers(cpu_kernel *k, const ember_node *node, resize_params *p)
{
    float a, ext;
    int64_t excl, anti;
    ember_status s = cpu_attr_float(k, node, "cubic_coeff_a", -0.75f, &a);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "extrapolation_value", 0.0f, &ext);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "exclude_outside", 0, &excl);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "antialias", 0, &anti);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "axes", p->axes, CPU_MAX_RANK, &p->n_axes);
    p->cubic_a = a;
    p->extrapolation = ext;
    p->exclude_outside = excl != 0;
    p->antialias = anti != 0 && p->mode != RS_NEAREST;
    return s;
}

ember_status cpu_img_create_resize(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(resize_params));
    if (s != EMBER_OK)
        return s;
    resize_params *p = k->params;
    s = rs_decode_modes(k, node, p);
    if (s == EMBER_OK && !p->upsample)
        s = rs_decode_numbers(k, node, p);
    k->run = resize_run;
    return s;
}

ember_status cpu_img_create_upsample(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(resize_params));
    if (s != EMBER_OK)
        return s;
    resize_params *p = k->params;
    p->upsample = true;
    s = rs_decode_modes(k, node, p);
    ember_attr attr;
    if (s == EMBER_OK && k->opset < 9) {
        if (!k->host->node_attr(node, "scales", &attr) || attr.type != EMBER_ATTR_FLOATS ||
            attr.n == 0 || attr.n > CPU_MAX_RANK)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s): attribute 'scales' (floats) is required",
                                 k->name, k->op);
        for (size_t i = 0; i < attr.n; i++)
            p->attr_scales[i] = attr.floats[i];
        p->n_attr_scales = attr.n;
    }
    k->run = resize_run;
    return s;
}
