/*
 * Part of the quantization family: the integer matrix ops. MatMulInteger and
 * QLinearMatMul (numpy matmul shapes, batch dims broadcast; zero points and
 * scales per tensor, per row of A or per column of B), ConvInteger and
 * QLinearConv (Conv's window, per-output-channel w zero point and scale).
 * Operands are widened to double with the zero points subtracted, so every
 * product and sum of 8/16-bit values stays exact.
 */
#include "kernels_quant.h"

#include <cblas.h>
#include <math.h>

/* ---- widening ---------------------------------------------------------- */

/* Copies t into scratch doubles, minus its zero point: zp (NULL: none)
 * holds one value, or one per index i / div % mod. */
static ember_status qx_widen(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                             const ember_tensor *t, const ember_tensor *zp, size_t div,
                             size_t mod, double **out)
{
    if (!cpu_q_loadable(t->dtype) || (CPU_DT(t->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, index, t->dtype);
    size_t n = cpu_tensor_numel(t), nz = zp != NULL ? cpu_tensor_numel(zp) : 0;
    if (zp != NULL && !cpu_q_loadable(zp->dtype))
        return cpu_fail_dtype(k, index, zp->dtype);
    if (nz > 1 && nz != mod)
        return cpu_fail_shape(k, index, zp, "the zero point's size does not fit its operand");
    ember_status s = k->host->ctx_scratch(ctx, (n + 1) * sizeof(double), (void **)out);
    if (s != EMBER_OK)
        return s;
    for (size_t i = 0; i < n; i++) {
        double z = nz == 0 ? 0.0 : cpu_q_load(zp->data, zp->dtype, nz == 1 ? 0 : i / div % mod);
        (*out)[i] = cpu_q_load(t->data, t->dtype, i) - z;
    }
    return EMBER_OK;
}

/* ---- matmul geometry --------------------------------------------------- */

typedef struct qmm_geom {
    size_t M, K, N;
    cpu_bcast bc; /* over the batch dims */
    int64_t out_dims[CPU_MAX_RANK + 2];
    size_t out_rank;
} qmm_geom;

static ember_status qmm_plan(const cpu_kernel *k, size_t ia, const ember_tensor *a, size_t ib,
                             const ember_tensor *b, qmm_geom *g)
{
    if (a->rank == 0)
        return cpu_fail_shape(k, ia, a, "a matmul operand needs rank >= 1");
    if (b->rank == 0)
        return cpu_fail_shape(k, ib, b, "a matmul operand needs rank >= 1");
    size_t ra = a->rank >= 2 ? a->rank - 2 : 0, rb = b->rank >= 2 ? b->rank - 2 : 0;
    g->M = a->rank >= 2 ? (size_t)a->dims[a->rank - 2] : 1;
    g->K = (size_t)a->dims[a->rank - 1];
    size_t kb = (size_t)b->dims[b->rank >= 2 ? b->rank - 2 : 0];
    g->N = b->rank >= 2 ? (size_t)b->dims[b->rank - 1] : 1;
    if (kb != g->K)
        return cpu_fail_shape(k, ib, b, "its inner dim differs from input 0's last dim");
    if (!cpu_bcast_init(&g->bc, a->dims, ra, b->dims, rb))
        return cpu_fail_shape(k, ib, b, "its batch dims do not broadcast with input 0's");
    g->out_rank = g->bc.out_rank;
    memcpy(g->out_dims, g->bc.out_dims, g->out_rank * sizeof(int64_t));
    if (a->rank >= 2)
        g->out_dims[g->out_rank++] = (int64_t)g->M;
    if (b->rank >= 2)
        g->out_dims[g->out_rank++] = (int64_t)g->N;
    return EMBER_OK;
}

/* C = (A - a_zp) x (B - b_zp) in scratch doubles. */
static ember_status qmm_product(const cpu_kernel *k, ember_kernel_context *ctx, size_t ia,
                                const ember_tensor *a, const ember_tensor *azp, size_t ib,
                                const ember_tensor *b, const ember_tensor *bzp, qmm_geom *g,
                                double **c)
{
    double *wa, *wb;
    ember_status s = qmm_plan(k, ia, a, ib, b, g);
    if (s == EMBER_OK)
        s = qx_widen(k, ctx, ia, a, azp, g->K, g->M, &wa);
    if (s == EMBER_OK)
        s = qx_widen(k, ctx, ib, b, bzp, 1, g->N, &wb);
    size_t rows = g->bc.n_out * g->M;
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (rows * g->N + 1) * sizeof(double), (void **)c);
    if (s != EMBER_OK || rows * g->N == 0)
        return s;
    /* Integers in doubles: every product and partial sum is exact, so
     * BLAS's summation order does not matter. */
    for (size_t bi = 0; bi < g->bc.n_out; bi++) {
        size_t oa, ob;
        cpu_bcast_offsets(&g->bc, bi, &oa, &ob);
        if (g->K == 0) {
            memset(*c + bi * g->M * g->N, 0, g->M * g->N * sizeof(double));
            continue;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)g->M, (blasint)g->N,
                    (blasint)g->K, 1.0, wa + oa * g->M * g->K, (blasint)g->K,
                    wb + ob * g->K * g->N, (blasint)g->N, 0.0, *c + bi * g->M * g->N,
                    (blasint)g->N);
    }
    return EMBER_OK;
}

static ember_status mmi_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *a, *b;
    ember_status s = cpu_input(k, ctx, 0, &a);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &b);
    if (s != EMBER_OK)
        return s;
    qmm_geom g;
    double *c;
    s = qmm_product(k, ctx, 0, a, cpu_opt_input(k, ctx, 2), 1, b, cpu_opt_input(k, ctx, 3),
                    &g, &c);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, EMBER_DTYPE_INT32, g.out_dims, g.out_rank, &y);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(y);
    for (size_t i = 0; i < n; i++)
        ((int32_t *)y->data)[i] = (int32_t)(int64_t)c[i];
    return EMBER_OK;
}

ember_status cpu_mmi_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = mmi_run;
    return EMBER_OK;
}

/* ---- requantization ---------------------------------------------------- */

/* Scale value for index i of a scalar or 1-D scale tensor of `len`. */
static ember_status qx_check_scale(const cpu_kernel *k, size_t index, const ember_tensor *t,
                                   size_t len)
{
    if (!(CPU_DT(t->dtype) & CPU_DT_FLOATS))
        return cpu_fail_dtype(k, index, t->dtype);
    size_t n = cpu_tensor_numel(t);
    if (n != 1 && n != len)
        return cpu_fail_shape(k, index, t, "expected one scale or one per row/channel");
    return EMBER_OK;
}

static double qx_scale_at(const ember_tensor *t, size_t i)
{
    return cpu_q_load(t->data, t->dtype, cpu_tensor_numel(t) == 1 ? 0 : i);
}

/* The multiplier a_scale * b_scale / y_scale, rounded the way the scales'
 * own type computes it. */
static double qx_multiplier(uint32_t dtype, double as, double bs, double ys)
{
    return cpu_q_round_to(dtype, cpu_q_round_to(dtype, as * bs) / ys);
}

/* Reads the inputs in[0..count); the optional ones (bit set in `optional`)
 * may be NULL. */
static ember_status qx_inputs(const cpu_kernel *k, ember_kernel_context *ctx,
                              const ember_tensor **in, size_t count, unsigned optional)
{
    for (size_t i = 0; i < count; i++) {
        in[i] = cpu_opt_input(k, ctx, i);
        if (in[i] == NULL && !(optional & (1u << i)))
            return cpu_input(k, ctx, i, &in[i]);
    }
    return EMBER_OK;
}

/* y = C * a_scale * b_scale / y_scale + y_zp, rounded and saturated;
 * in[] are QLinearMatMul's inputs. */
static void qlmm_requantize(const ember_tensor *const *in, const qmm_geom *g, const double *c,
                            ember_tensor *y)
{
    const ember_tensor *yzp = in[7];
    size_t n = cpu_tensor_numel(y);
    for (size_t i = 0; i < n; i++) {
        size_t col = i % g->N, row = i / g->N % g->M;
        double m = qx_multiplier(in[1]->dtype, qx_scale_at(in[1], row), qx_scale_at(in[4], col),
                                 qx_scale_at(in[6], col));
        double v = c[i] * m + (yzp != NULL ? qx_scale_at(yzp, col) : 0.0);
        cpu_q_store_quant(y->data, y->dtype, i, v, true);
    }
}

static ember_status qlmm_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *in[8];
    qmm_geom g;
    double *c;
    ember_status s = qx_inputs(k, ctx, in, 8, 1u << 2 | 1u << 5 | 1u << 7);
    if (s == EMBER_OK)
        s = qmm_product(k, ctx, 0, in[0], in[2], 3, in[3], in[5], &g, &c);
    if (s == EMBER_OK)
        s = qx_check_scale(k, 1, in[1], g.M);
    if (s == EMBER_OK)
        s = qx_check_scale(k, 4, in[4], g.N);
    if (s == EMBER_OK)
        s = qx_check_scale(k, 6, in[6], g.N);
    if (s != EMBER_OK)
        return s;
    uint32_t ydt = in[7] != NULL ? in[7]->dtype : in[0]->dtype;
    if (!cpu_q_is_quant_type(ydt))
        return cpu_fail_dtype(k, 7, ydt);
    if (in[7] != NULL && cpu_tensor_numel(in[7]) != 1 && cpu_tensor_numel(in[7]) != g.N)
        return cpu_fail_shape(k, 7, in[7], "expected one zero point or one per column");
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, ydt, g.out_dims, g.out_rank, &y);
    if (s == EMBER_OK)
        qlmm_requantize(in, &g, c, y);
    return s;
}

ember_status cpu_qlmm_create(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = qlmm_run;
    return EMBER_OK;
}

/* ---- integer convolution ----------------------------------------------- */

typedef struct qconv_params {
    cpu_window_attrs win;
    int64_t group;
} qconv_params;

typedef struct qconv_job {
    const double *x, *w;
    double *y;
    const cpu_window *win;
    size_t c, m, group;
} qconv_job;

/* Input offset of output position o and kernel position kk, or -1 when the
 * tap falls in the padding. */
static int64_t qconv_tap(const cpu_window *w, size_t o, size_t kk)
{
    int64_t off = 0;
    size_t ro = o, rk = kk;
    int64_t coord[CPU_MAX_RANK];
    for (size_t d = w->rank; d-- > 0;) {
        int64_t oc = (int64_t)(ro % (size_t)w->out[d]), kc = (int64_t)(rk % (size_t)w->kernel[d]);
        ro /= (size_t)w->out[d];
        rk /= (size_t)w->kernel[d];
        coord[d] = oc * w->stride[d] - w->pad_begin[d] + kc * w->dilation[d];
        if (coord[d] < 0 || coord[d] >= w->in[d])
            return -1;
    }
    for (size_t d = 0; d < w->rank; d++)
        off = off * w->in[d] + coord[d];
    return off;
}

/* One (batch, output channel) plane. */
static void qconv_planes(void *arg, size_t begin, size_t end)
{
    const qconv_job *j = arg;
    const cpu_window *w = j->win;
    size_t cg = j->c / j->group, mg = j->m / j->group;
    for (size_t item = begin; item < end; item++) {
        size_t n = item / j->m, oc = item % j->m, g = oc / mg;
        double *y = j->y + item * w->out_size;
        for (size_t o = 0; o < w->out_size; o++) {
            double acc = 0.0;
            for (size_t kk = 0; kk < w->kernel_size; kk++) {
                int64_t off = qconv_tap(w, o, kk);
                if (off < 0)
                    continue;
                for (size_t ci = 0; ci < cg; ci++) {
                    const double *xp = j->x + (n * j->c + g * cg + ci) * w->in_size;
                    acc += xp[off] * j->w[(oc * cg + ci) * w->kernel_size + kk];
                }
            }
            y[o] = acc;
        }
    }
}

/* Y = conv(X - x_zp, W - w_zp) in scratch doubles; out_dims gets Y's shape. */
static ember_status qconv_product(const cpu_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor *x, const ember_tensor *xzp, size_t iw,
                                  const ember_tensor *w, const ember_tensor *wzp, cpu_window *win,
                                  int64_t *out_dims, double **y)
{
    const qconv_params *p = k->params;
    if (x->rank > CPU_MAX_RANK)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED, "node '%s' (%s): input 0 has rank %u, "
                             "above %d", k->name, k->op, (unsigned)x->rank, CPU_MAX_RANK);
    if (w->rank != x->rank || x->rank < 3)
        return cpu_fail_shape(k, iw, w, "expected [M, C/group, kernel...] of input 0's rank");
    size_t c = (size_t)x->dims[1], m = (size_t)w->dims[0], group = (size_t)p->group;
    if ((size_t)w->dims[1] * group != c || m % group != 0)
        return cpu_fail_shape(k, iw, w, "its channels do not match input 0 and group");
    if (xzp != NULL && cpu_tensor_numel(xzp) != 1)
        return cpu_fail_shape(k, 2, xzp, "expected a single zero point");
    ember_status s = cpu_window_resolve(k, &p->win, x, w->dims + 2, win);
    double *wx, *ww;
    if (s == EMBER_OK)
        s = qx_widen(k, ctx, 0, x, xzp, 1, 1, &wx);
    size_t per_m = cpu_tensor_numel(w) / (m > 0 ? m : 1);
    if (s == EMBER_OK)
        s = qx_widen(k, ctx, iw, w, wzp, per_m, m, &ww);
    size_t planes = (size_t)x->dims[0] * m;
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (planes * win->out_size + 1) * sizeof(double), (void **)y);
    if (s != EMBER_OK)
        return s;
    out_dims[0] = x->dims[0];
    out_dims[1] = (int64_t)m;
    for (size_t d = 0; d < win->rank; d++)
        out_dims[d + 2] = win->out[d];
    qconv_job j = {wx, ww, *y, win, c, m, group};
    cpu_parallel(ctx, k, planes, planes * win->out_size * win->kernel_size * (c / group) * 2,
                 qconv_planes, &j);
    return EMBER_OK;
}

static ember_status convi_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x, *w;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &w);
    if (s != EMBER_OK)
        return s;
    cpu_window win;
    int64_t dims[CPU_MAX_RANK];
    double *yd;
    s = qconv_product(k, ctx, x, cpu_opt_input(k, ctx, 2), 1, w, cpu_opt_input(k, ctx, 3), &win,
                      dims, &yd);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, EMBER_DTYPE_INT32, dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(y);
    for (size_t i = 0; i < n; i++)
        ((int32_t *)y->data)[i] = (int32_t)(int64_t)yd[i];
    return EMBER_OK;
}

/* y = (acc + bias) * x_scale * w_scale / y_scale + y_zp per output
 * channel; in[] are QLinearConv's inputs. */
static void qlconv_requantize(const ember_tensor *const *in, size_t m, size_t plane,
                              const double *acc, ember_tensor *y)
{
    size_t n = cpu_tensor_numel(y);
    for (size_t i = 0; i < n; i++) {
        size_t oc = i / plane % m;
        double v = acc[i] + (in[8] != NULL ? cpu_q_load(in[8]->data, in[8]->dtype, oc) : 0.0);
        double mul = qx_multiplier(in[1]->dtype, qx_scale_at(in[1], 0), qx_scale_at(in[4], oc),
                                   qx_scale_at(in[6], 0));
        v = v * mul + (in[7] != NULL ? cpu_q_load(in[7]->data, in[7]->dtype, 0) : 0.0);
        cpu_q_store_quant(y->data, y->dtype, i, v, true);
    }
}

static ember_status qlconv_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *in[9];
    cpu_window win;
    int64_t dims[CPU_MAX_RANK];
    double *acc;
    ember_status s = qx_inputs(k, ctx, in, 9, 1u << 2 | 1u << 5 | 1u << 7 | 1u << 8);
    if (s == EMBER_OK)
        s = qconv_product(k, ctx, in[0], in[2], 3, in[3], in[5], &win, dims, &acc);
    size_t m = s == EMBER_OK ? (size_t)dims[1] : 0;
    if (s == EMBER_OK)
        s = qx_check_scale(k, 1, in[1], 1);
    if (s == EMBER_OK)
        s = qx_check_scale(k, 4, in[4], m);
    if (s == EMBER_OK)
        s = qx_check_scale(k, 6, in[6], 1);
    if (s == EMBER_OK && in[8] != NULL && cpu_tensor_numel(in[8]) != m)
        s = cpu_fail_shape(k, 8, in[8], "expected one bias per output channel");
    if (s != EMBER_OK)
        return s;
    uint32_t ydt = in[7] != NULL ? in[7]->dtype : in[0]->dtype;
    if (!cpu_q_is_quant_type(ydt))
        return cpu_fail_dtype(k, 7, ydt);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, ydt, dims, in[0]->rank, &y);
    if (s == EMBER_OK)
        qlconv_requantize(in, m, win.out_size, acc, y);
    return s;
}

static ember_status qconv_create(cpu_kernel *k, const ember_node *node, cpu_run_fn run)
{
    ember_status s = cpu_kernel_params(k, sizeof(qconv_params));
    if (s != EMBER_OK)
        return s;
    qconv_params *p = k->params;
    s = cpu_window_decode(k, node, false, &p->win);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "group", 1, &p->group);
    if (s == EMBER_OK && p->group < 1)
        s = k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute group must be >= 1",
                          k->name, k->op);
    k->run = run;
    return s;
}

ember_status cpu_convi_create(cpu_kernel *k, const ember_node *node)
{
    return qconv_create(k, node, convi_run);
}

ember_status cpu_qlconv_create(cpu_kernel *k, const ember_node *node)
{
    return qconv_create(k, node, qlconv_run);
}
