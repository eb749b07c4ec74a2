/*
 * NonMaxSuppression (opsets 10+), part of the image family: per batch
 * and class, boxes above score_threshold are visited by descending score
 * (ties: lower index first) and kept unless their IoU with a kept box
 * exceeds iou_threshold, up to max_output_boxes_per_class.
 */
#include "kernels_image.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct nms_params {
    bool center_point;
} nms_params;

typedef struct nms_box {
    double score;
    int64_t index;
} nms_box;

static int nms_order(const void *a, const void *b)
{
    const nms_box *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Corners (ymin, xmin, ymax, xmax) of box b. */
static void nms_corners(bool center, const double *b, double *c)
{
    if (center) {
        c[0] = b[1] - b[3] / 2;
        c[2] = b[1] + b[3] / 2;
        c[1] = b[0] - b[2] / 2;
        c[3] = b[0] + b[2] / 2;
        return;
    }
    c[0] = fmin(b[0], b[2]);
    c[2] = fmax(b[0], b[2]);
    c[1] = fmin(b[1], b[3]);
    c[3] = fmax(b[1], b[3]);
}

static bool nms_suppress(bool center, const double *a, const double *b, double iou_threshold)
{
    double ca[4], cb[4];
    nms_corners(center, a, ca);
    nms_corners(center, b, cb);
    double ymin = fmax(ca[0], cb[0]), ymax = fmin(ca[2], cb[2]);
    double xmin = fmax(ca[1], cb[1]), xmax = fmin(ca[3], cb[3]);
    if (xmax <= xmin || ymax <= ymin)
        return false;
    double inter = (xmax - xmin) * (ymax - ymin);
    double area_a = (ca[2] - ca[0]) * (ca[3] - ca[1]);
    double area_b = (cb[2] - cb[0]) * (cb[3] - cb[1]);
    double uni = area_a + area_b - inter;
    if (inter <= 0 || area_a <= 0 || area_b <= 0 || uni <= 0)
        return false;
    return inter / uni > iou_threshold;
}

typedef struct nms_limits {
    int64_t max_out;
    double iou, score;
    bool has_score;
} nms_limits;

static ember_status nms_read_limits(const cpu_kernel *k, ember_kernel_context *ctx,
                                    nms_limits *l)
{
    const ember_tensor *t = cpu_opt_input(k, ctx, 2);
    double v = 0.0;
    ember_status s = EMBER_OK;
    l->max_out = 0;
    l->iou = 0.0;
    l->score = 0.0;
    l->has_score = false;
    if (t != NULL && cpu_tensor_numel(t) > 0) {
        s = cpu_img_scalar(k, ctx, 2, t, &v);
        l->max_out = v > 0 ? (int64_t)v : 0;
    }
    t = cpu_opt_input(k, ctx, 3);
    if (s == EMBER_OK && t != NULL && cpu_tensor_numel(t) > 0)
        s = cpu_img_scalar(k, ctx, 3, t, &l->iou);
    t = cpu_opt_input(k, ctx, 4);
    if (s == EMBER_OK && t != NULL && cpu_tensor_numel(t) > 0) {
        s = cpu_img_scalar(k, ctx, 4, t, &l->score);
        l->has_score = true;
    }
    return s;
}

/* Selects the boxes of one (batch, class); appends triples to sel. */
static size_t nms_class(const nms_params *p, const nms_limits *l, const double *boxes,
                        const double *scores, size_t nb, nms_box *cand, size_t *kept,
                        int64_t *sel, int64_t batch, int64_t cls)
{
    size_t n = 0, n_kept = 0, n_sel = 0;
    for (size_t i = 0; i < nb; i++) {
        if (!l->has_score || scores[i] > l->score)
            cand[n++] = (nms_box){scores[i], (int64_t)i};
    }
    qsort(cand, n, sizeof *cand, nms_order);
    for (size_t i = 0; i < n && (int64_t)n_kept < l->max_out; i++) {
        bool keep = true;
        for (size_t j = 0; keep && j < n_kept; j++)
            keep = !nms_suppress(p->center_point, boxes + cand[i].index * 4,
                                 boxes + kept[j] * 4, l->iou);
        if (!keep)
            continue;
        kept[n_kept++] = (size_t)cand[i].index;
        sel[n_sel * 3] = batch;
        sel[n_sel * 3 + 1] = cls;
        sel[n_sel * 3 + 2] = cand[i].index;
        n_sel++;
    }
    return n_sel;
}

static ember_status nms_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *boxes, *scores;
    nms_limits l;
    ember_status s = cpu_input(k, ctx, 0, &boxes);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &scores);
    if (s == EMBER_OK)
        s = nms_read_limits(k, ctx, &l);
    if (s != EMBER_OK)
        return s;
    if (boxes->rank != 3 || boxes->dims[2] != 4)
        return cpu_fail_shape(k, 0, boxes, "expected [batches, boxes, 4]");
    if (scores->rank != 3 || scores->dims[0] != boxes->dims[0] ||
        scores->dims[2] != boxes->dims[1])
        return cpu_fail_shape(k, 1, scores, "expected [batches, classes, boxes]");
    size_t nbat = (size_t)boxes->dims[0], ncls = (size_t)scores->dims[1];
    size_t nb = (size_t)boxes->dims[1];
    size_t cap_per = (size_t)l.max_out < nb ? (size_t)l.max_out : nb;
    double *bx, *sc;
    nms_box *cand;
    size_t *kept;
    int64_t *sel;
    s = cpu_img_load(k, ctx, 0, boxes, &bx);
    if (s == EMBER_OK)
        s = cpu_img_load(k, ctx, 1, scores, &sc);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, nb, sizeof(nms_box), (void **)&cand);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, nb, sizeof(size_t), (void **)&kept);
    if (s == EMBER_OK)
        s = cpu_img_scratch(k, ctx, nbat * ncls * cap_per * 3, sizeof(int64_t), (void **)&sel);
    if (s != EMBER_OK)
        return s;
    size_t total = 0;
    for (size_t b = 0; b < nbat; b++)
        for (size_t c = 0; c < ncls; c++)
            total += nms_class(k->params, &l, bx + b * nb * 4, sc + (b * ncls + c) * nb, nb,
                               cand, kept, sel + total * 3, (int64_t)b, (int64_t)c);
    int64_t dims[2] = {(int64_t)total, 3};
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, EMBER_DTYPE_INT64, dims, 2, &y);
    if (s == EMBER_OK && total > 0)
        memcpy(y->data, sel, total * 3 * sizeof(int64_t));
    return s;
}

ember_status cpu_img_create_nms(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(nms_params));
    if (s != EMBER_OK)
        return s;
    int64_t center = 0;
    s = cpu_attr_int(k, node, "center_point_box", 0, &center);
    ((nms_params *)k->params)->center_point = center != 0;
    k->run = nms_run;
    return s;
}
