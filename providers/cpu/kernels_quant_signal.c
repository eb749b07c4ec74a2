/*
 * Part of the quantization family: the signal ops. DFT (opset 17: axis attribute
 * and dft_length input; opset 20: axis as input 2), STFT, the Hann, Hamming
 * and Blackman windows, and MelWeightMatrix. Signals are real (trailing dim
 * 1) or complex (trailing dim 2, real then imaginary); the transforms are
 * direct O(n^2) sums over a table of twiddles, in double.
 */
#include "kernels_quant.h"

#include <cblas.h>
#include <math.h>

/* cos and sin of 2*pi*i/len for i in [0, len), in scratch. */
static ember_status sig_twiddles(const cpu_kernel *k, ember_kernel_context *ctx, size_t len,
                                 double **out)
{
    ember_status s = k->host->ctx_scratch(ctx, (2 * len + 1) * sizeof(double), (void **)out);
    if (s != EMBER_OK)
        return s;
    for (size_t i = 0; i < len; i++) {
        double a = 6.283185307179586 * (double)i / (double)len;
        (*out)[2 * i] = cos(a);
        (*out)[2 * i + 1] = sin(a);
    }
    return EMBER_OK;
}

/* Forward (sign -1) or inverse (sign +1, scaled by 1/len) transform of
 * in[0..n_in) (complex pairs, zero beyond n_in) of length len; writes
 * out_len complex pairs. */
static void sig_dft(const double *tw, size_t len, const double *in, size_t n_in, double *out,
                    size_t out_len, bool inverse)
{
    size_t n = n_in < len ? n_in : len;
    double sign = inverse ? 1.0 : -1.0, norm = inverse ? 1.0 / (double)len : 1.0;
    for (size_t f = 0; f < out_len; f++) {
        double re = 0.0, im = 0.0;
        for (size_t t = 0; t < n; t++) {
            size_t idx = (f * t) % len;
            double c = tw[2 * idx], sn = sign * tw[2 * idx + 1];
            re += in[2 * t] * c - in[2 * t + 1] * sn;
            im += in[2 * t] * sn + in[2 * t + 1] * c;
        }
        out[2 * f] = re * norm;
        out[2 * f + 1] = im * norm;
    }
}

/* Real inverse of a one-sided spectrum in[0..n_in) to len real samples
 * (the imaginary parts of the DC and Nyquist bins are ignored). */
static void sig_irfft(const double *tw, size_t len, const double *in, size_t n_in, double *out)
{
    size_t half = len / 2;
    for (size_t t = 0; t < len; t++) {
        double acc = n_in > 0 ? in[0] : 0.0;
        for (size_t f = 1; f <= half && f < n_in; f++) {
            size_t idx = (f * t) % len;
            double term = in[2 * f] * tw[2 * idx] - in[2 * f + 1] * tw[2 * idx + 1];
            acc += (2 * f == len) ? term : 2.0 * term;
        }
        out[t] = acc / (double)len;
    }
}

/* ---- DFT ---------------------------------------------------------------- */

typedef struct dft_params {
    int64_t axis; /* opset 17 */
    bool inverse, onesided;
} dft_params;

/* Reads an optional scalar int input; *has is false when absent. */
static ember_status sig_scalar(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                               bool *has, int64_t *out)
{
    const ember_tensor *t = cpu_opt_input(k, ctx, index);
    *has = t != NULL;
    if (t == NULL)
        return EMBER_OK;
    if (cpu_tensor_numel(t) != 1)
        return cpu_fail_shape(k, index, t, "expected a scalar");
    if (t->dtype != EMBER_DTYPE_INT32 && t->dtype != EMBER_DTYPE_INT64)
        return cpu_fail_dtype(k, index, t->dtype);
    *out = t->dtype == EMBER_DTYPE_INT32 ? *(const int32_t *)t->data : *(const int64_t *)t->data;
    return EMBER_OK;
}

typedef struct dft_geom {
    size_t axis, outer, n_in, inner, comps, len, out_len, out_comps;
} dft_geom;

static ember_status dft_plan(const cpu_kernel *k, ember_kernel_context *ctx,
                             const ember_tensor *x, dft_geom *g)
{
    const dft_params *p = k->params;
    int64_t axis = p->axis, length = 0;
    bool has_axis = false, has_len = false;
    ember_status s = sig_scalar(k, ctx, 1, &has_len, &length);
    if (s == EMBER_OK && k->opset >= 20)
        s = sig_scalar(k, ctx, 2, &has_axis, &axis);
    if (s != EMBER_OK)
        return s;
    if (k->opset >= 20 && !has_axis)
        axis = -2;
    if (x->rank > CPU_MAX_RANK)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED, "node '%s' (%s): input 0 has rank %u, "
                             "above %d", k->name, k->op, (unsigned)x->rank, CPU_MAX_RANK);
    if (x->rank < 2 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
        return cpu_fail_shape(k, 0, x, "expected [..., signal, 1 or 2]");
    if (!cpu_normalize_axis(axis, x->rank, &g->axis) || g->axis == x->rank - 1)
        return cpu_fail_shape(k, 0, x, "the axis is outside its signal dims");
    g->outer = cpu_numel(x->dims, g->axis);
    g->n_in = (size_t)x->dims[g->axis];
    g->inner = cpu_numel(x->dims + g->axis + 1, x->rank - g->axis - 2);
    g->comps = (size_t)x->dims[x->rank - 1];
    if (has_len && length < 1)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): input 1 (dft_length) "
                             "is %lld, not positive", k->name, k->op, (long long)length);
    g->len = has_len ? (size_t)length
                     : (p->inverse && p->onesided) ? 2 * (g->n_in > 0 ? g->n_in - 1 : 0) : g->n_in;
    if (g->len == 0)
        return cpu_fail_shape(k, 0, x, "the transform length is 0");
    g->out_len = p->onesided && !p->inverse ? g->len / 2 + 1 : g->len;
    g->out_comps = p->onesided && p->inverse ? 1 : 2;
    return EMBER_OK;
}

/* One transform per (outer, inner) line; each line has its own slice of
 * the scratch buffer, so lines run in parallel. */
typedef struct dft_job {
    const dft_params *p;
    const dft_geom *g;
    double *tw;
    const ember_tensor *x;
    ember_tensor *y;
    double *buf; /* 2 * (n_in + out_len) doubles per line */
} dft_job;

static void dft_lines(void *arg, size_t begin, size_t end)
{
    const dft_job *j = arg;
    const dft_geom *g = j->g;
    for (size_t line = begin; line < end; line++) {
        size_t o = line / g->inner, i = line % g->inner;
        double *in = j->buf + line * 2 * (g->n_in + g->out_len), *out = in + 2 * g->n_in;
        for (size_t t = 0; t < g->n_in; t++) {
            size_t base = ((o * g->n_in + t) * g->inner + i) * g->comps;
            in[2 * t] = cpu_q_load(j->x->data, j->x->dtype, base);
            in[2 * t + 1] = g->comps == 2 ? cpu_q_load(j->x->data, j->x->dtype, base + 1) : 0.0;
        }
        if (j->p->inverse && j->p->onesided)
            sig_irfft(j->tw, g->len, in, g->n_in, out);
        else
            sig_dft(j->tw, g->len, in, g->n_in, out, g->out_len, j->p->inverse);
        for (size_t f = 0; f < g->out_len; f++) {
            size_t base = ((o * g->out_len + f) * g->inner + i) * g->out_comps;
            for (size_t c = 0; c < g->out_comps; c++)
                cpu_q_store_float(j->y->data, j->y->dtype, base + c,
                              g->out_comps == 1 ? out[f] : out[2 * f + c]);
        }
    }
}

static ember_status dft_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT(x->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, x->dtype);
    dft_geom g;
    s = dft_plan(k, ctx, x, &g);
    if (s != EMBER_OK)
        return s;
    int64_t dims[CPU_MAX_RANK];
    memcpy(dims, x->dims, x->rank * sizeof(int64_t));
    dims[g.axis] = (int64_t)g.out_len;
    dims[x->rank - 1] = (int64_t)g.out_comps;
    size_t lines = g.outer * g.inner;
    dft_job j = {k->params, &g, NULL, x, NULL, NULL};
    s = sig_twiddles(k, ctx, g.len, &j.tw);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (2 * lines * (g.n_in + g.out_len) + 1) * sizeof(double),
                                 (void **)&j.buf);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, x->dtype, dims, x->rank, &j.y);
    if (s == EMBER_OK)
        cpu_parallel(ctx, k, lines, lines * g.out_len * g.n_in * 4, dft_lines, &j);
    return s;
}

ember_status cpu_dft_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(dft_params));
    if (s != EMBER_OK)
        return s;
    dft_params *p = k->params;
    int64_t inverse = 0, onesided = 0;
    s = cpu_attr_int(k, node, "axis", 1, &p->axis);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "inverse", 0, &inverse);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "onesided", 0, &onesided);
    p->inverse = inverse != 0;
    p->onesided = onesided != 0;
    k->run = dft_run;
    return s;
}

/* ---- STFT --------------------------------------------------------------- */

static ember_status stft_window(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor *x, const ember_tensor **win, size_t *len)
{
    int64_t flen = 0;
    bool has_len = false;
    ember_status s = sig_scalar(k, ctx, 3, &has_len, &flen);
    if (s != EMBER_OK)
        return s;
    *win = cpu_opt_input(k, ctx, 2);
    if (*win != NULL && (!(CPU_DT((*win)->dtype) & CPU_DT_FLOATS) || (*win)->rank != 1))
        return cpu_fail_shape(k, 2, *win, "expected a 1-D float window");
    if (has_len && flen < 1)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): input 3 (frame_length) "
                             "is %lld, not positive", k->name, k->op, (long long)flen);
    *len = has_len ? (size_t)flen : *win != NULL ? (size_t)(*win)->dims[0] : (size_t)x->dims[1];
    if (*win != NULL && (size_t)(*win)->dims[0] != *len)
        return cpu_fail_shape(k, 2, *win, "its length differs from frame_length");
    if (*len == 0 || *len > (size_t)x->dims[1])
        return cpu_fail_shape(k, 0, x, "the frame is longer than the signal");
    return EMBER_OK;
}

typedef struct stft_job {
    const ember_tensor *x, *win;
    ember_tensor *y;
    double *tw;
    double *buf; /* 2 * (len + bins) doubles per frame */
    size_t n, comps, step, len, frames, bins;
} stft_job;

/* One windowed transform per (batch, frame). */
static void stft_frames(void *arg, size_t begin, size_t end)
{
    const stft_job *j = arg;
    for (size_t item = begin; item < end; item++) {
        size_t b = item / j->frames, f = item % j->frames;
        double *in = j->buf + item * 2 * (j->len + j->bins), *out = in + 2 * j->len;
        for (size_t t = 0; t < j->len; t++) {
            size_t base = (b * j->n + f * j->step + t) * j->comps;
            double w = j->win != NULL ? cpu_q_load(j->win->data, j->win->dtype, t) : 1.0;
            in[2 * t] = cpu_q_load(j->x->data, j->x->dtype, base) * w;
            in[2 * t + 1] = j->comps == 2 ? cpu_q_load(j->x->data, j->x->dtype, base + 1) * w : 0.0;
        }
        sig_dft(j->tw, j->len, in, j->len, out, j->bins, false);
        for (size_t i = 0; i < 2 * j->bins; i++)
            cpu_q_store_float(j->y->data, j->y->dtype, item * 2 * j->bins + i, out[i]);
    }
}

/* Checks the signal and reads frame_step. */
static ember_status stft_signal(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor **x, size_t *step)
{
    ember_status s = cpu_input(k, ctx, 0, x);
    if (s != EMBER_OK)
        return s;
    if (!(CPU_DT((*x)->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, 0, (*x)->dtype);
    if ((*x)->rank != 3 || ((*x)->dims[2] != 1 && (*x)->dims[2] != 2))
        return cpu_fail_shape(k, 0, *x, "expected [batch, length, 1 or 2]");
    int64_t value = 0;
    bool has = false;
    s = sig_scalar(k, ctx, 1, &has, &value);
    if (s == EMBER_OK && (!has || value < 1))
        return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): input 1 (frame_step) "
                             "must be a positive scalar", k->name, k->op);
    *step = (size_t)value;
    return s;
}

static ember_status stft_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const dft_params *p = k->params;
    stft_job j;
    memset(&j, 0, sizeof j);
    ember_status s = stft_signal(k, ctx, &j.x, &j.step);
    if (s == EMBER_OK)
        s = stft_window(k, ctx, j.x, &j.win, &j.len);
    if (s != EMBER_OK)
        return s;
    size_t batch = (size_t)j.x->dims[0];
    j.n = (size_t)j.x->dims[1];
    j.comps = (size_t)j.x->dims[2];
    j.frames = 1 + (j.n - j.len) / j.step;
    j.bins = p->onesided ? j.len / 2 + 1 : j.len;
    int64_t dims[4] = {(int64_t)batch, (int64_t)j.frames, (int64_t)j.bins, 2};
    size_t items = batch * j.frames;
    s = sig_twiddles(k, ctx, j.len, &j.tw);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (2 * items * (j.len + j.bins) + 1) * sizeof(double),
                                 (void **)&j.buf);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, j.x->dtype, dims, 4, &j.y);
    if (s == EMBER_OK)
        cpu_parallel(ctx, k, items, items * j.bins * j.len * 4, stft_frames, &j);
    return s;
}

ember_status cpu_stft_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(dft_params));
    if (s != EMBER_OK)
        return s;
    dft_params *p = k->params;
    int64_t onesided = 1;
    s = cpu_attr_int(k, node, "onesided", 1, &onesided);
    p->onesided = onesided != 0;
    k->run = stft_run;
    return s;
}

/* ---- windows ------------------------------------------------------------ */

typedef struct win_params {
    int64_t dtype;
    bool periodic;
    double a0, a1, a2; /* w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N) */
} win_params;

static ember_status win_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const win_params *p = k->params;
    int64_t size = 0;
    bool has = false;
    ember_status s = sig_scalar(k, ctx, 0, &has, &size);
    if (s == EMBER_OK && (!has || size < 0))
        return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): input 0 (size) must "
                             "be a non-negative scalar", k->name, k->op);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, (uint32_t)p->dtype, &size, 1, &y);
    if (s != EMBER_OK)
        return s;
    double N = p->periodic ? (double)size : (double)size - 1.0;
    for (int64_t i = 0; i < size; i++) {
        double a = 6.283185307179586 * (double)i / N;
        cpu_rnd_store(y->data, (uint32_t)p->dtype, (size_t)i,
                  p->a0 - p->a1 * cos(a) + p->a2 * cos(2.0 * a));
    }
    return EMBER_OK;
}

static ember_status win_create(cpu_kernel *k, const ember_node *node, double a0, double a1,
                               double a2)
{
    ember_status s = cpu_kernel_params(k, sizeof(win_params));
    if (s != EMBER_OK)
        return s;
    win_params *p = k->params;
    int64_t periodic = 1;
    s = cpu_attr_int(k, node, "periodic", 1, &periodic);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "output_datatype", EMBER_DTYPE_FLOAT32, &p->dtype);
    if (s == EMBER_OK && (p->dtype < 0 || p->dtype >= 32 ||
                          !(CPU_DT((uint32_t)p->dtype) & CPU_DT_NUMERIC)))
        s = k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute output_datatype "
                          "(%lld) is not a numeric type", k->name, k->op, (long long)p->dtype);
    p->periodic = periodic != 0;
    p->a0 = a0;
    p->a1 = a1;
    p->a2 = a2;
    k->run = win_run;
    return s;
}

ember_status cpu_win_hann_create(cpu_kernel *k, const ember_node *node)
{
    return win_create(k, node, 0.5, 0.5, 0.0);
}

ember_status cpu_win_hamming_create(cpu_kernel *k, const ember_node *node)
{
    return win_create(k, node, 25.0 / 46.0, 21.0 / 46.0, 0.0);
}

ember_status cpu_win_blackman_create(cpu_kernel *k, const ember_node *node)
{
    return win_create(k, node, 0.42, 0.5, 0.08);
}

/* ---- MelWeightMatrix ---------------------------------------------------- */

/* Reads input `index` as one number. */
static ember_status mel_number(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                               double *out)
{
    const ember_tensor *t;
    ember_status s = cpu_input(k, ctx, index, &t);
    if (s != EMBER_OK)
        return s;
    if (cpu_tensor_numel(t) != 1)
        return cpu_fail_shape(k, index, t, "expected a scalar");
    if (!cpu_q_loadable(t->dtype))
        return cpu_fail_dtype(k, index, t->dtype);
    *out = cpu_q_load(t->data, t->dtype, 0);
    return EMBER_OK;
}

/* Triangular filters between mel-spaced bin edges (the spec's reference
 * algorithm, edges floored to spectrogram bins). */
static void mel_fill(double *w, size_t bins, size_t mels, const int64_t *edge)
{
    for (size_t i = 0; i < mels; i++) {
        int64_t lo = edge[i], mid = edge[i + 1], hi = edge[i + 2];
        if (mid - lo == 0) {
            if (mid >= 0 && (size_t)mid < bins)
                w[(size_t)mid * mels + i] = 1.0;
        } else {
            for (int64_t j = lo; j <= mid; j++)
                if (j >= 0 && (size_t)j < bins)
                    w[(size_t)j * mels + i] = (double)(j - lo) / (double)(mid - lo);
        }
        for (int64_t j = mid; hi - mid > 0 && j < hi; j++)
            if (j >= 0 && (size_t)j < bins)
                w[(size_t)j * mels + i] = (double)(hi - j) / (double)(hi - mid);
    }
}

static ember_status mel_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const win_params *p = k->params;
    double v[5];
    ember_status s = EMBER_OK;
    for (size_t i = 0; i < 5 && s == EMBER_OK; i++)
        s = mel_number(k, ctx, i, &v[i]);
    if (s != EMBER_OK)
        return s;
    if (v[0] < 1 || v[1] < 1 || v[2] <= 0)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): num_mel_bins, "
                             "dft_length and sample_rate must be positive", k->name, k->op);
    size_t mels = (size_t)v[0], bins = (size_t)v[1] / 2 + 1;
    int64_t dims[2] = {(int64_t)bins, (int64_t)mels};
    int64_t *edge;
    double *w;
    ember_tensor *y;
    s = k->host->ctx_scratch(ctx, (mels + 2) * sizeof(int64_t), (void **)&edge);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (bins * mels + 1) * sizeof(double), (void **)&w);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, (uint32_t)p->dtype, dims, 2, &y);
    if (s != EMBER_OK)
        return s;
    double lo = 2595.0 * log1p(v[3] / 700.0) / log(10.0);
    double hi = 2595.0 * log1p(v[4] / 700.0) / log(10.0);
    double step = (hi - lo) / (double)(mels + 2);
    for (size_t i = 0; i < mels + 2; i++) {
        double hz = 700.0 * expm1(((double)i * step + lo) / 2595.0 * log(10.0));
        edge[i] = (int64_t)floor((v[1] + 1.0) * hz / v[2]);
    }
    memset(w, 0, bins * mels * sizeof(double));
    mel_fill(w, bins, mels, edge);
    for (size_t i = 0; i < bins * mels; i++)
        cpu_rnd_store(y->data, (uint32_t)p->dtype, i, w[i]);
    return EMBER_OK;
}

ember_status cpu_mel_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(win_params));
    if (s != EMBER_OK)
        return s;
    win_params *p = k->params;
    s = cpu_attr_int(k, node, "output_datatype", EMBER_DTYPE_FLOAT32, &p->dtype);
    if (s == EMBER_OK && (p->dtype < 0 || p->dtype >= 32 ||
                          !(CPU_DT((uint32_t)p->dtype) & CPU_DT_NUMERIC)))
        s = k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute output_datatype "
                          "(%lld) is not a numeric type", k->name, k->op, (long long)p->dtype);
    k->run = mel_run;
    return s;
}
