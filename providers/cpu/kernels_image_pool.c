/*
 * LpPool, GlobalMaxPool, GlobalLpPool and MaxUnpool, part of the image
 * family. LpPool uses the shared window geometry (cpu_window.c);
 * pads contribute zeros to the sum.
 */
#include "kernels_image.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- LpPool -------------------------------------------------------------- */

typedef struct lppool_params {
    cpu_window_attrs win;
    double p;
} lppool_params;

typedef struct lp_job {
    const cpu_window *w;
    const double *x;
    double *y, p;
    int64_t in_stride[CPU_MAX_RANK];
} lp_job;

static double lp_window(const lp_job *j, const double *plane, size_t op)
{
    const cpu_window *w = j->w;
    int64_t start[CPU_MAX_RANK], kk[CPU_MAX_RANK] = {0};
    for (size_t d = w->rank; d-- > 0;) {
        start[d] = (int64_t)(op % (size_t)w->out[d]) * w->stride[d] - w->pad_begin[d];
        op /= (size_t)w->out[d];
    }
    double sum = 0.0;
    for (;;) {
        int64_t off = 0;
        bool inside = true;
        for (size_t d = 0; d < w->rank; d++) {
            int64_t i = start[d] + kk[d] * w->dilation[d];
            inside = inside && i >= 0 && i < w->in[d];
            off += i * j->in_stride[d];
        }
        if (inside)
            sum += pow(fabs(plane[off]), j->p);
        size_t d = w->rank;
        while (d-- > 0) {
            if (++kk[d] < w->kernel[d])
                break;
            kk[d] = 0;
        }
        if (d == (size_t)-1)
            return pow(sum, 1.0 / j->p);
    }
}

static void lp_planes(void *arg, size_t begin, size_t end)
{
    const lp_job *j = arg;
    for (size_t pl = begin; pl < end; pl++) {
        const double *plane = j->x + pl * j->w->in_size;
        for (size_t o = 0; o < j->w->out_size; o++)
            j->y[pl * j->w->out_size + o] = lp_window(j, plane, o);
    }
}

static ember_status lppool_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const lppool_params *p = k->params;
    const ember_tensor *x;
    cpu_window w;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_img_need_numeric(k, 0, x);
    if (s == EMBER_OK)
        s = cpu_window_resolve(k, &p->win, x, NULL, &w);
    if (s != EMBER_OK)
        return s;
    lp_job j = {&w, NULL, NULL, p->p, {0}};
    j.in_stride[w.rank - 1] = 1;
    for (size_t d = w.rank - 1; d > 0; d--)
        j.in_stride[d - 1] = j.in_stride[d] * w.in[d];
    int64_t dims[CPU_MAX_RANK] = {x->dims[0], x->dims[1]};
    memcpy(dims + 2, w.out, w.rank * sizeof(int64_t));
    if (!cpu_img_count_ok(dims, x->rank))
        return cpu_fail_shape(k, 0, x, "the output element count overflows");
    size_t planes = (size_t)(x->dims[0] * x->dims[1]);
    s = cpu_img_load(k, ctx, 0, x, (double **)&j.x);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, planes * w.out_size, sizeof(double), (void **)&j.y);
    if (s != EMBER_OK)
        return s;
    cpu_parallel(ctx, k, planes, planes * w.out_size * w.kernel_size * 8, lp_planes, &j);
    return cpu_img_emit(k, ctx, 0, x->dtype, dims, x->rank, j.y);
}

static ember_status img_lp_attr(cpu_kernel *k, const ember_node *node, double *out)
{
    if (k->opset < 2) {
        float pf;
        ember_status s = cpu_attr_float(k, node, "p", 2.0f, &pf);
        *out = pf;
        return s;
    }
    int64_t pi;
    ember_status s = cpu_attr_int(k, node, "p", 2, &pi);
    *out = (double)pi;
    if (s == EMBER_OK && pi < 1)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'p' is %lld; it must be >= 1",
                             k->name, k->op, (long long)pi);
    return s;
}

ember_status cpu_img_create_lppool(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(lppool_params));
    if (s != EMBER_OK)
        return s;
    lppool_params *p = k->params;
    s = cpu_window_decode(k, node, k->opset >= 18, &p->win);
    if (s == EMBER_OK)
        s = img_lp_attr(k, node, &p->p);
    k->run = lppool_run;
    return s;
}

/* ---- GlobalMaxPool / GlobalLpPool ---------------------------------------- */

typedef struct global_params {
    bool is_max;
    double p;
} global_params;

static ember_status global_img_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const global_params *p = k->params;
    const ember_tensor *x;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_img_need_numeric(k, 0, x);
    if (s == EMBER_OK && (x->rank < 2 || x->rank > CPU_MAX_RANK))
        return cpu_fail_shape(k, 0, x, "expected [N, C, spatial...]");
    if (s != EMBER_OK)
        return s;
    size_t planes = (size_t)(x->dims[0] * x->dims[1]);
    size_t size = cpu_numel(x->dims + 2, x->rank - 2);
    if (p->is_max && size == 0 && planes > 0)
        return cpu_fail_shape(k, 0, x, "the spatial dims are empty");
    double *v, *y;
    s = cpu_img_load(k, ctx, 0, x, &v);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, planes, sizeof(double), (void **)&y);
    if (s != EMBER_OK)
        return s;
    for (size_t pl = 0; pl < planes; pl++) {
        const double *src = v + pl * size;
        double acc = p->is_max ? src[0] : 0.0;
        for (size_t i = 0; i < size; i++)
            acc = p->is_max ? (src[i] > acc || isnan(src[i]) ? src[i] : acc)
                            : acc + pow(fabs(src[i]), p->p);
        y[pl] = p->is_max ? acc : pow(acc, 1.0 / p->p);
    }
    int64_t dims[CPU_MAX_RANK];
    for (size_t d = 0; d < x->rank; d++)
        dims[d] = d < 2 ? x->dims[d] : 1;
    return cpu_img_emit(k, ctx, 0, x->dtype, dims, x->rank, y);
}

ember_status cpu_img_create_global_maxpool(cpu_kernel *k, const ember_node *node)
{
    (void)node;
    ember_status s = cpu_kernel_params(k, sizeof(global_params));
    if (s != EMBER_OK)
        return s;
    ((global_params *)k->params)->is_max = true;
    k->run = global_img_run;
    return EMBER_OK;
}

ember_status cpu_img_create_global_lppool(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(global_params));
    if (s != EMBER_OK)
        return s;
    s = img_lp_attr(k, node, &((global_params *)k->params)->p);
    k->run = global_img_run;
    return s;
}

/* ---- MaxUnpool ----------------------------------------------------------- */

typedef struct maxunpool_params {
    cpu_window_attrs win;
} maxunpool_params;

/* The unpooled shape (N, C, (in-1)*stride - pads + kernel). */
static ember_status mu_inferred(const cpu_kernel *k, const ember_tensor *x, int64_t *dims)
{
    const cpu_window_attrs *a = &((const maxunpool_params *)k->params)->win;
    if (x->rank < 3 || x->rank > CPU_MAX_RANK)
        return cpu_fail_shape(k, 0, x, "expected [N, C, spatial...]");
    size_t r = x->rank - 2;
    if (a->n_kernel != r || (a->n_strides && a->n_strides != r) ||
        (a->n_pads && a->n_pads != 2 * r))
        return cpu_fail_shape(k, 0, x, "kernel_shape, strides or pads do not match the rank");
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (size_t d = 0; d < r; d++) {
        int64_t st = a->n_strides ? a->strides[d] : 1;
        int64_t pads = a->n_pads ? a->pads[d] + a->pads[r + d] : 0;
        dims[d + 2] = (x->dims[d + 2] - 1) * st - pads + a->kernel[d];
        if (dims[d + 2] < 0)
            return cpu_fail_shape(k, 0, x, "the unpooled shape is negative");
    }
    return EMBER_OK;
}

static ember_status mu_out_shape(const cpu_kernel *k, ember_kernel_context *ctx,
                                 const ember_tensor *x, const int64_t *inferred,
                                 int64_t *dims)
{
    const ember_tensor *shape = cpu_opt_input(k, ctx, 2);
    memcpy(dims, inferred, x->rank * sizeof(int64_t));
    if (shape == NULL)
        return EMBER_OK;
    size_t n;
    ember_status s = cpu_read_ints(k, 2, shape, dims, CPU_MAX_RANK, &n);
    if (s != EMBER_OK)
        return s;
    if (n != x->rank)
        return cpu_fail_shape(k, 2, shape, "output_shape must hold one value per dim of input 0");
    if (!cpu_img_count_ok(dims, n))
        return cpu_fail_shape(k, 2, shape, "output_shape is negative or overflows");
    for (size_t d = 0; d < n; d++) {
        if (dims[d] < inferred[d])
            return cpu_fail_shape(k, 2, shape, "output_shape is smaller than the unpooled shape");
    }
    return EMBER_OK;
}

static ember_status maxunpool_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *x, *ind;
    int64_t inferred[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &ind);
    if (s == EMBER_OK)
        s = mu_inferred(k, x, inferred);
    if (s == EMBER_OK)
        s = mu_out_shape(k, ctx, x, inferred, dims);
    if (s != EMBER_OK)
        return s;
    if (ind->dtype != EMBER_DTYPE_INT64)
        return cpu_fail_dtype(k, 1, ind->dtype);
    if (cpu_tensor_numel(ind) != cpu_tensor_numel(x))
        return cpu_fail_shape(k, 1, ind, "expected the shape of input 0");
    size_t es = cpu_dtype_size(x->dtype), total = cpu_numel(inferred, x->rank);
    if (es == 0)
        return cpu_fail_dtype(k, 0, x->dtype);
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, x->dtype, dims, x->rank, &y);
    if (s != EMBER_OK)
        return s;
    memset(y->data, 0, cpu_tensor_numel(y) * es);
    const int64_t *idx = ind->data;
    for (size_t i = 0; i < cpu_tensor_numel(x); i++) {
        if (idx[i] < 0 || (size_t)idx[i] >= total)
            return cpu_fail_shape(k, 1, ind, "an index is outside the unpooled tensor");
        size_t rest = (size_t)idx[i], off = 0, scale = 1;
        for (size_t d = x->rank; d-- > 0;) {
            off += rest % (size_t)inferred[d] * scale;
            rest /= (size_t)inferred[d];
            scale *= (size_t)dims[d];
        }
        memcpy((unsigned char *)y->data + off * es, (const unsigned char *)x->data + i * es,
               es);
    }
    return EMBER_OK;
}

ember_status cpu_img_create_maxunpool(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(maxunpool_params));
    if (s != EMBER_OK)
        return s;
    maxunpool_params *p = k->params;
    s = cpu_window_decode(k, node, false, &p->win);
    if (s == EMBER_OK && p->win.n_kernel == 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'kernel_shape' is required", k->name,
                             k->op);
    k->run = maxunpool_run;
    return s;
}
