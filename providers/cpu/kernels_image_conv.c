/*
 * ConvTranspose (any spatial rank; group, dilations, output_padding,
 * output_shape, auto_pad) and DeformConv, part of the image family.
 * Both compute in float64 with one GEMM per (batch, group):
 * ConvTranspose forms W^T X and scatters the columns into the output
 * (col2im); DeformConv gathers bilinear samples at the offset positions
 * into a column matrix and multiplies W by it.
 */
#include "kernels_image.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- ConvTranspose ------------------------------------------------------- */

typedef struct convt_params {
    cpu_window_attrs win;
    int64_t group;
    size_t n_out_pad, n_out_shape;
    int64_t out_pad[CPU_MAX_RANK];
    int64_t out_shape[CPU_MAX_RANK + 2];
} convt_params;

/* One run's geometry. */
typedef struct convt_geom {
    size_t r, n, c, m, group, cg, mg, in_size, out_size, ksize;
    int64_t in[CPU_MAX_RANK], out[CPU_MAX_RANK], kernel[CPU_MAX_RANK];
    int64_t stride[CPU_MAX_RANK], dil[CPU_MAX_RANK], pad[CPU_MAX_RANK];
} convt_geom;

static int64_t floor_div2(int64_t v)
{
    return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

/* Output size and leading pad of spatial dim d. */
static void ct_dim(const convt_params *p, convt_geom *g, size_t d)
{
    const cpu_window_attrs *a = &p->win;
    int64_t op = p->n_out_pad ? p->out_pad[d] : 0;
    int64_t full = g->stride[d] * (g->in[d] - 1) + op + (g->kernel[d] - 1) * g->dil[d] + 1;
    bool same = a->auto_pad == CPU_PAD_SAME_UPPER || a->auto_pad == CPU_PAD_SAME_LOWER;
    bool pads = a->auto_pad == CPU_PAD_NOTSET && a->n_pads > 0;
    int64_t want = -1;
    if (p->n_out_shape)
        want = p->out_shape[p->n_out_shape - g->r + d];
    else if (same)
        want = g->in[d] * g->stride[d];
    if (want >= 0 && same) {
        int64_t total = full - want;
        g->pad[d] = a->auto_pad == CPU_PAD_SAME_UPPER ? floor_div2(total)
                                                       : total - floor_div2(total);
        g->out[d] = want;
        return;
    }
    g->pad[d] = pads ? a->pads[d] : 0;
    g->out[d] = want >= 0 ? want : full - g->pad[d] - (pads ? a->pads[g->r + d] : 0);
}

static ember_status ct_geometry(const cpu_kernel *k, const ember_tensor *x,
                                const ember_tensor *w, const ember_tensor *b, convt_geom *g)
{
    const convt_params *p = k->params;
    const cpu_window_attrs *a = &p->win;
    if (x->rank < 3 || x->rank > CPU_MAX_RANK)
        return cpu_fail_shape(k, 0, x, "expected [N, C, spatial...]");
    g->r = x->rank - 2;
    g->n = (size_t)x->dims[0];
    g->c = (size_t)x->dims[1];
    g->group = (size_t)p->group;
    if (w->rank != x->rank || (size_t)w->dims[0] != g->c || g->c % g->group != 0)
        return cpu_fail_shape(k, 1, w, "expected [C, M/group, kernel...] matching input 0");
    g->mg = (size_t)w->dims[1];
    g->m = g->mg * g->group;
    g->cg = g->c / g->group;
    if (b != NULL && (b->rank != 1 || (size_t)b->dims[0] != g->m))
        return cpu_fail_shape(k, 2, b, "expected a 1-D bias of the output channels");
    if ((a->n_strides && a->n_strides != g->r) || (a->n_dilations && a->n_dilations != g->r) ||
        (a->n_pads && a->n_pads != 2 * g->r) || (p->n_out_pad && p->n_out_pad != g->r) ||
        (p->n_out_shape && p->n_out_shape < g->r))
        return cpu_fail_shape(k, 0, x, "an attribute's length does not match the rank");
    g->in_size = g->out_size = g->ksize = 1;
    for (size_t d = 0; d < g->r; d++) {
        g->in[d] = x->dims[d + 2];
        g->kernel[d] = w->dims[d + 2];
        g->stride[d] = a->n_strides ? a->strides[d] : 1;
        g->dil[d] = a->n_dilations ? a->dilations[d] : 1;
        ct_dim(p, g, d);
        if (g->out[d] < 0 || g->out[d] > ((int64_t)1 << 40))
            return cpu_fail_shape(k, 0, x, "the output size is negative or too large");
        g->in_size *= (size_t)g->in[d];
        g->out_size *= (size_t)g->out[d];
        g->ksize *= (size_t)g->kernel[d];
    }
    int64_t dims[CPU_MAX_RANK] = {(int64_t)g->n, (int64_t)g->m};
    memcpy(dims + 2, g->out, g->r * sizeof(int64_t));
    if (!cpu_img_count_ok(dims, x->rank))
        return cpu_fail_shape(k, 0, x, "the output element count overflows");
    return EMBER_OK;
}

typedef struct ct_job {
    const convt_geom *g;
    const double *col; /* mg*ksize x in_size for the current (n, group) */
    double *y;         /* the output planes of the current (n, group) */
} ct_job;

/* Adds the columns of output channels [begin, end) into y. */
static void ct_scatter(void *arg, size_t begin, size_t end)
{
    const ct_job *j = arg;
    const convt_geom *g = j->g;
    for (size_t m = begin; m < end; m++) {
        double *y = j->y + m * g->out_size;
        for (size_t kidx = 0; kidx < g->ksize; kidx++) {
            int64_t kk[CPU_MAX_RANK], ii[CPU_MAX_RANK] = {0};
            size_t rest = kidx;
            for (size_t d = g->r; d-- > 0;) {
                kk[d] = (int64_t)(rest % (size_t)g->kernel[d]);
                rest /= (size_t)g->kernel[d];
            }
            const double *col = j->col + (m * g->ksize + kidx) * g->in_size;
            for (size_t i = 0; i < g->in_size; i++) {
                int64_t off = 0;
                bool inside = true;
                for (size_t d = 0; d < g->r; d++) {
                    int64_t o = ii[d] * g->stride[d] - g->pad[d] + kk[d] * g->dil[d];
                    inside = inside && o >= 0 && o < g->out[d];
                    off = off * g->out[d] + o;
                }
                if (inside)
                    y[off] += col[i];
                for (size_t d = g->r; d-- > 0;) {
                    if (++ii[d] < g->in[d])
                        break;
                    ii[d] = 0;
                }
            }
        }
    }
}

static ember_status ct_compute(const cpu_kernel *k, ember_kernel_context *ctx,
                               const convt_geom *g, const double *x, const double *w,
                               const double *b, double *y)
{
    double *col;
    size_t rows = g->mg * g->ksize;
    ember_status s = cpu_img_scratch(k, ctx, rows * g->in_size, sizeof(double), (void **)&col);
    if (s != EMBER_OK)
        return s;
    for (size_t i = 0; i < g->n * g->m; i++)
        for (size_t o = 0; o < g->out_size; o++)
            y[i * g->out_size + o] = b ? b[i % g->m] : 0.0;
    if (rows == 0 || g->in_size == 0 || g->cg == 0)
        return EMBER_OK;
    for (size_t n = 0; n < g->n; n++) {
        for (size_t grp = 0; grp < g->group; grp++) {
            const double *xg = x + (n * g->c + grp * g->cg) * g->in_size;
            const double *wg = w + grp * g->cg * rows;
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)rows,
                        (blasint)g->in_size, (blasint)g->cg, 1.0, wg, (blasint)rows, xg,
                        (blasint)g->in_size, 0.0, col, (blasint)g->in_size);
            ct_job j = {g, col, y + (n * g->m + grp * g->mg) * g->out_size};
            cpu_parallel(ctx, k, g->mg, rows * g->in_size * 4, ct_scatter, &j);
        }
    }
    return EMBER_OK;
}

static ember_status convt_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x, *w, *b;
    convt_geom g;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &w);
    if (s != EMBER_OK)
        return s;
    b = cpu_opt_input(k, ctx, 2);
    s = ct_geometry(k, x, w, b, &g);
    if (s != EMBER_OK)
        return s;
    double *dx, *dw, *db = NULL, *dy;
    s = cpu_img_load(k, ctx, 0, x, &dx);
    if (s == EMBER_OK)
        s = cpu_img_load(k, ctx, 1, w, &dw);
    if (s == EMBER_OK && b != NULL)
        s = cpu_img_load(k, ctx, 2, b, &db);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, g.n * g.m * g.out_size, sizeof(double), (void **)&dy);
    if (s == EMBER_OK)
        s = ct_compute(k, ctx, &g, dx, dw, db, dy);
    if (s != EMBER_OK)
        return s;
    int64_t dims[CPU_MAX_RANK] = {(int64_t)g.n, (int64_t)g.m};
    memcpy(dims + 2, g.out, g.r * sizeof(int64_t));
    return cpu_img_emit(k, ctx, 0, x->dtype, dims, x->rank, dy);
}

ember_status cpu_img_create_convtranspose(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(convt_params));
    if (s != EMBER_OK)
        return s;
    convt_params *p = k->params;
    s = cpu_window_decode(k, node, false, &p->win);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "group", 1, &p->group);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "output_padding", p->out_pad, CPU_MAX_RANK, &p->n_out_pad);
    if (s == EMBER_OK)
        s = cpu_attr_ints(k, node, "output_shape", p->out_shape, CPU_MAX_RANK + 2,
                          &p->n_out_shape);
    if (s == EMBER_OK && p->group < 1)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'group' is %lld; it must be >= 1",
                             k->name, k->op, (long long)p->group);
    k->run = convt_run;
    return s;
}

/* ---- DeformConv ---------------------------------------------------------- */

typedef struct deform_params {
    cpu_window_attrs win;
    int64_t group, offset_group;
} deform_params;

typedef struct dc_geom {
    convt_geom g; /* in, out, kernel, stride, dil, pad (leading) */
    size_t og, c_per_og, oc, ocg;
} dc_geom;

/* Bilinear sample of one plane at pos[] with zeros outside. */
static double dc_sample(const convt_geom *g, const double *plane, const double *pos)
{
    int64_t base[CPU_MAX_RANK];
    double frac[CPU_MAX_RANK], sum = 0.0;
    for (size_t d = 0; d < g->r; d++) {
        double f = floor(pos[d]);
        base[d] = (int64_t)f;
        frac[d] = pos[d] - f;
    }
    for (size_t corner = 0; corner < ((size_t)1 << g->r); corner++) {
        double w = 1.0;
        int64_t off = 0;
        bool inside = true;
        for (size_t d = 0; d < g->r; d++) {
            bool hi = (corner >> (g->r - 1 - d)) & 1;
            int64_t i = base[d] + (hi ? 1 : 0);
            w *= hi ? frac[d] : 1.0 - frac[d];
            inside = inside && i >= 0 && i < g->in[d];
            off = off * g->in[d] + i;
        }
        if (inside && w != 0.0)
            sum += w * plane[off];
    }
    return sum;
}

typedef struct dc_job {
    const dc_geom *dg;
    const double *x, *offset, *mask; /* of the current batch item */
    double *col;                     /* c*ksize x out_size */
} dc_job;

/* Fills the column rows of input channels [begin, end). */
static void dc_columns(void *arg, size_t begin, size_t end)
{
    const dc_job *j = arg;
    const convt_geom *g = &j->dg->g;
    size_t P = g->out_size, K = g->ksize, r = g->r;
    for (size_t ic = begin; ic < end; ic++) {
        size_t og = ic / j->dg->c_per_og;
        const double *plane = j->x + ic * g->in_size;
        for (size_t kidx = 0; kidx < K; kidx++) {
            int64_t kk[CPU_MAX_RANK], oo[CPU_MAX_RANK] = {0};
            size_t rest = kidx;
            for (size_t d = r; d-- > 0;) {
                kk[d] = (int64_t)(rest % (size_t)g->kernel[d]);
                rest /= (size_t)g->kernel[d];
            }
            const double *off = j->offset + (og * K + kidx) * r * P;
            const double *mask = j->mask ? j->mask + (og * K + kidx) * P : NULL;
            double *col = j->col + (ic * K + kidx) * P;
            for (size_t pt = 0; pt < P; pt++) {
                double pos[CPU_MAX_RANK];
                for (size_t d = 0; d < r; d++)
                    pos[d] = (double)(oo[d] * g->stride[d] - g->pad[d] + kk[d] * g->dil[d]) +
                             off[d * P + pt];
                col[pt] = dc_sample(g, plane, pos) * (mask ? mask[pt] : 1.0);
                for (size_t d = r; d-- > 0;) {
                    if (++oo[d] < g->out[d])
                        break;
                    oo[d] = 0;
                }
            }
        }
    }
}

static ember_status dc_geometry(const cpu_kernel *k, const ember_tensor *const *t,
                                dc_geom *dg)
{
    const deform_params *p = k->params;
    const cpu_window_attrs *a = &p->win;
    const ember_tensor *x = t[0], *w = t[1], *off = t[2], *b = t[3], *mask = t[4];
    convt_geom *g = &dg->g;
    if (x->rank < 3 || x->rank > CPU_MAX_RANK)
        return cpu_fail_shape(k, 0, x, "expected [N, C, spatial...]");
    g->r = x->rank - 2;
    g->n = (size_t)x->dims[0];
    g->c = (size_t)x->dims[1];
    g->group = (size_t)p->group;
    dg->og = (size_t)p->offset_group;
    dg->oc = (size_t)w->dims[0];
    if (w->rank != x->rank || (size_t)w->dims[1] * g->group != g->c ||
        dg->oc % g->group != 0)
        return cpu_fail_shape(k, 1, w, "expected [M, C/group, kernel...] matching input 0");
    if (g->c % dg->og != 0)
        return cpu_fail_shape(k, 0, x, "the channels are not a multiple of offset_group");
    dg->c_per_og = g->c / dg->og;
    dg->ocg = dg->oc / g->group;
    g->cg = g->c / g->group;
    g->in_size = g->out_size = g->ksize = 1;
    for (size_t d = 0; d < g->r; d++) {
        g->in[d] = x->dims[d + 2];
        g->kernel[d] = w->dims[d + 2];
        if (a->n_kernel == g->r && a->kernel[d] != g->kernel[d])
            return cpu_fail_shape(k, 1, w, "the spatial dims differ from kernel_shape");
        g->stride[d] = a->n_strides == g->r ? a->strides[d] : 1;
        g->dil[d] = a->n_dilations == g->r ? a->dilations[d] : 1;
        g->pad[d] = a->n_pads == 2 * g->r ? a->pads[d] : 0;
        int64_t pe = a->n_pads == 2 * g->r ? a->pads[g->r + d] : 0;
        int64_t room = g->in[d] + g->pad[d] + pe - ((g->kernel[d] - 1) * g->dil[d] + 1);
        g->out[d] = room < 0 ? 0 : room / g->stride[d] + 1;
        g->in_size *= (size_t)g->in[d];
        g->out_size *= (size_t)g->out[d];
        g->ksize *= (size_t)g->kernel[d];
    }
    if (off->rank != x->rank || (size_t)off->dims[0] != g->n ||
        (size_t)off->dims[1] != dg->og * g->ksize * g->r ||
        memcmp(off->dims + 2, g->out, g->r * sizeof(int64_t)) != 0)
        return cpu_fail_shape(k, 2, off, "expected [N, offset_group*kernel_size*rank, out...]");
    if (b != NULL && (b->rank != 1 || (size_t)b->dims[0] != dg->oc))
        return cpu_fail_shape(k, 3, b, "expected a 1-D bias of the output channels");
    if (mask != NULL && (mask->rank != x->rank || (size_t)mask->dims[0] != g->n ||
                         (size_t)mask->dims[1] != dg->og * g->ksize ||
                         memcmp(mask->dims + 2, g->out, g->r * sizeof(int64_t)) != 0))
        return cpu_fail_shape(k, 4, mask, "expected [N, offset_group*kernel_size, out...]");
    return EMBER_OK;
}

static ember_status dc_compute(const cpu_kernel *k, ember_kernel_context *ctx,
                               const dc_geom *dg, double *const *v, double *y)
{
    const convt_geom *g = &dg->g;
    size_t K = g->ksize, P = g->out_size, rows = g->cg * K;
    dc_job j = {dg, NULL, NULL, NULL, NULL};
    ember_status s = cpu_img_scratch(k, ctx, g->c * K * P, sizeof(double), (void **)&j.col);
    if (s != EMBER_OK)
        return s;
    for (size_t n = 0; n < g->n; n++) {
        j.x = v[0] + n * g->c * g->in_size;
        j.offset = v[2] + n * dg->og * K * g->r * P;
        j.mask = v[4] ? v[4] + n * dg->og * K * P : NULL;
        cpu_parallel(ctx, k, g->c, g->c * K * P * 8, dc_columns, &j);
        for (size_t grp = 0; grp < g->group; grp++) {
            double *yg = y + (n * dg->oc + grp * dg->ocg) * P;
            for (size_t m = 0; m < dg->ocg; m++)
                for (size_t pt = 0; pt < P; pt++)
                    yg[m * P + pt] = v[3] ? v[3][grp * dg->ocg + m] : 0.0;
            if (rows == 0 || P == 0 || dg->ocg == 0)
                continue;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)dg->ocg,
                        (blasint)P, (blasint)rows, 1.0, v[1] + grp * dg->ocg * rows,
                        (blasint)rows, j.col + grp * rows * P, (blasint)P, 1.0, yg,
                        (blasint)P);
        }
    }
    return EMBER_OK;
}

static ember_status deform_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *t[5] = {NULL};
    dc_geom dg;
    ember_status s = EMBER_OK;
    for (size_t i = 0; s == EMBER_OK && i < 3; i++)
        s = cpu_input(k, ctx, i, &t[i]);
    if (s != EMBER_OK)
        return s;
    t[3] = cpu_opt_input(k, ctx, 3);
    t[4] = cpu_opt_input(k, ctx, 4);
    s = dc_geometry(k, t, &dg);
    double *v[5] = {NULL}, *y;
    for (size_t i = 0; s == EMBER_OK && i < 5; i++) {
        if (t[i] != NULL)
            s = cpu_img_load(k, ctx, i, t[i], &v[i]);
    }
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, dg.g.n * dg.oc * dg.g.out_size, sizeof(double),
                        (void **)&y);
    if (s == EMBER_OK)
        s = dc_compute(k, ctx, &dg, v, y);
    if (s != EMBER_OK)
        return s;
    int64_t dims[CPU_MAX_RANK] = {(int64_t)dg.g.n, (int64_t)dg.oc};
    memcpy(dims + 2, dg.g.out, dg.g.r * sizeof(int64_t));
    return cpu_img_emit(k, ctx, 0, t[0]->dtype, dims, t[0]->rank, y);
}

ember_status cpu_img_create_deformconv(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(deform_params));
    if (s != EMBER_OK)
        return s;
    deform_params *p = k->params;
    s = cpu_window_decode(k, node, false, &p->win);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "group", 1, &p->group);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "offset_group", 1, &p->offset_group);
    if (s == EMBER_OK && (p->group < 1 || p->offset_group < 1))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attributes 'group' and 'offset_group' must be "
                             ">= 1",
                             k->name, k->op);
    k->run = deform_run;
    return s;
}
