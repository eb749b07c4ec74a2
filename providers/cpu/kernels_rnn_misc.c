/*
 * RotaryEmbedding (opset 23+), SwiGLU, LinearAttention and
 * CausalConvWithState, part of the rnn family, following the onnx reference
 * definitions.
 */
#include "kernels_rnn.h"

#include <cblas.h>
#include <math.h>

/* ---- RotaryEmbedding ----------------------------------------------------- */

typedef struct rope_params {
    bool interleaved;
    int64_t rotary_dim, num_heads;
} rope_params;

typedef struct rope_dims {
    size_t B, S, H, D, R2;
    bool is3d;
} rope_dims;

static ember_status rope_shapes(const cpu_kernel *k, const ember_tensor *const *in,
                                rope_dims *r)
{
    const rope_params *p = k->params;
    const ember_tensor *x = in[0], *cc = in[1], *sc = in[2], *pos = in[3];
    if (x->rank == 4) {
        r->B = (size_t)x->dims[0];
        r->H = (size_t)x->dims[1];
        r->S = (size_t)x->dims[2];
        r->D = (size_t)x->dims[3];
        r->is3d = false;
    } else if (x->rank == 3 && p->num_heads > 0 && x->dims[2] % p->num_heads == 0) {
        r->B = (size_t)x->dims[0];
        r->S = (size_t)x->dims[1];
        r->H = (size_t)p->num_heads;
        r->D = (size_t)(x->dims[2] / p->num_heads);
        r->is3d = true;
    } else {
        return cpu_fail_shape(k, 0, x, "expected [B,H,S,D], or [B,S,H*D] with num_heads");
    }
    size_t rd = p->rotary_dim > 0 ? (size_t)p->rotary_dim : r->D;
    if (rd > r->D || rd % 2 != 0)
        return cpu_fail_shape(k, 0, x, "rotary_embedding_dim exceeds the head size or is odd");
    r->R2 = rd / 2;
    size_t want_rank = pos ? 2 : 3;
    for (size_t i = 1; i < 3; i++) {
        const ember_tensor *c = i == 1 ? cc : sc;
        bool ok = c->rank == want_rank && (size_t)c->dims[c->rank - 1] == r->R2;
        if (ok && !pos)
            ok = (size_t)c->dims[0] == r->B && (size_t)c->dims[1] == r->S;
        if (!ok)
            return cpu_fail_shape(k, i, c, "cache shape does not match the input");
    }
    if (pos && cpu_tensor_numel(pos) != r->B * r->S)
        return cpu_fail_shape(k, 3, pos, "position_ids must be [batch, sequence]");
    return EMBER_OK;
}

/* Row of the caches for (b, s), or false when a position id is out of range. */
static bool rope_cache_row(const ember_tensor *const *in, const double *pos, const rope_dims *r,
                           size_t b, size_t s, size_t *row)
{
    if (pos == NULL) {
        *row = b * r->S + s;
        return true;
    }
    double v = pos[b * r->S + s];
    if (v < 0 || v >= (double)in[1]->dims[0] || v >= (double)in[2]->dims[0])
        return false;
    *row = (size_t)v;
    return true;
}

static ember_status rope_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const rope_params *p = k->params;
    const ember_tensor *in[4] = {NULL};
    ember_status s = EMBER_OK;
    for (size_t i = 0; i < 3 && s == EMBER_OK; i++)
        s = cpu_input(k, ctx, i, &in[i]);
    in[3] = cpu_opt_input(k, ctx, 3);
    rope_dims r;
    memset(&r, 0, sizeof r);
    if (s == EMBER_OK)
        s = cpu_rnn_check_float_input(k, 0, in[0]);
    if (s == EMBER_OK)
        s = rope_shapes(k, in, &r);
    double *x = NULL, *cc = NULL, *sc = NULL, *pos = NULL, *y = NULL;
    if (s == EMBER_OK)
        s = cpu_rnn_load(ctx, k, in[0], &x);
    if (s == EMBER_OK)
        s = cpu_rnn_load(ctx, k, in[1], &cc);
    if (s == EMBER_OK)
        s = cpu_rnn_load(ctx, k, in[2], &sc);
    if (s == EMBER_OK && in[3] != NULL)
        s = cpu_rnn_load(ctx, k, in[3], &pos);
    if (s == EMBER_OK)
        s = cpu_rnn_alloc(ctx, k, cpu_tensor_numel(in[0]), &y);
    if (s != EMBER_OK)
        return s;
    uint32_t dt = in[0]->dtype;
    for (size_t b = 0; b < r.B; b++)
        for (size_t st = 0; st < r.S; st++) {
            size_t row;
            if (!rope_cache_row(in, pos, &r, b, st, &row))
                return cpu_fail_shape(k, 3, in[3], "a position id is outside the caches");
            const double *c = cc + row * r.R2, *sn = sc + row * r.R2;
            for (size_t h = 0; h < r.H; h++) {
                size_t off = r.is3d ? ((b * r.S + st) * r.H + h) * r.D
                                    : ((b * r.H + h) * r.S + st) * r.D;
                const double *xi = x + off;
                double *yo = y + off;
                memcpy(yo, xi, r.D * sizeof(double));
                for (size_t i = 0; i < r.R2; i++) {
                    size_t i1 = p->interleaved ? 2 * i : i;
                    size_t i2 = p->interleaved ? 2 * i + 1 : i + r.R2;
                    double x1 = xi[i1], x2 = xi[i2];
                    yo[i1] = rnn_round(dt, rnn_round(dt, c[i] * x1) - rnn_round(dt, sn[i] * x2));
                    yo[i2] = rnn_round(dt, rnn_round(dt, sn[i] * x1) + rnn_round(dt, c[i] * x2));
                }
            }
        }
    return cpu_rnn_store(k, ctx, 0, dt, in[0]->dims, in[0]->rank, y);
}

ember_status cpu_rope_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(rope_params));
    if (s != EMBER_OK)
        return s;
    rope_params *p = k->params;
    int64_t inter = 0;
    s = cpu_attr_int(k, node, "interleaved", 0, &inter);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "rotary_embedding_dim", 0, &p->rotary_dim);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "num_heads", 0, &p->num_heads);
    p->interleaved = inter != 0;
    k->run = rope_run;
    return s;
}

/* ---- SwiGLU: y = a * sigmoid(alpha * a) * b ------------------------------ */

typedef struct swiglu_params {
    float alpha;
} swiglu_params;

static ember_status swiglu_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const swiglu_params *p = k->params;
    const ember_tensor *a, *b;
    ember_status s = cpu_input(k, ctx, 0, &a);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &b);
    if (s == EMBER_OK)
        s = cpu_rnn_check_float_input(k, 0, a);
    if (s != EMBER_OK)
        return s;
    if (b->dtype != a->dtype)
        return cpu_fail_dtype(k, 1, b->dtype);
    if (b->rank != a->rank || memcmp(a->dims, b->dims, a->rank * sizeof(int64_t)) != 0)
        return cpu_fail_shape(k, 1, b, "must have the shape of input 0");
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, a->dtype, a->dims, a->rank, &y);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_tensor_numel(a);
    uint32_t dt = a->dtype;
    for (size_t i = 0; i < n; i++) {
        double x = cpu_get_f64(a->data, a->dtype, i);
        double sw = rnn_round(dt, x * rnn_round(dt, rnn_sigmoid(p->alpha * x)));
        rnn_put(y, i, sw * cpu_get_f64(b->data, b->dtype, i));
    }
    return EMBER_OK;
}

ember_status cpu_swiglu_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(swiglu_params));
    if (s != EMBER_OK)
        return s;
    swiglu_params *p = k->params;
    k->run = swiglu_run;
    return cpu_attr_float(k, node, "alpha", 1.0f, &p->alpha);
}

/* ---- LinearAttention ------------------------------------------------------ */

typedef struct linattn_params {
    int64_t q_heads, kv_heads;
    float scale;
    bool gating, delta;
    bool want_state;
} linattn_params;

typedef struct linattn_dims {
    size_t B, T, Hq, Hkv, dk, dv, decay_last, beta_last;
} linattn_dims;

static ember_status linattn_shapes(const cpu_kernel *k, const ember_tensor *const *in,
                                   linattn_dims *d)
{
    const linattn_params *p = k->params;
    const ember_tensor *q = in[0], *kk = in[1], *v = in[2];
    for (size_t i = 0; i < 3; i++)
        if (in[i]->rank != 3 || in[i]->dims[0] != q->dims[0] || in[i]->dims[1] != q->dims[1])
            return cpu_fail_shape(k, i, in[i], "query/key/value must be [B,T,H*D]");
    d->B = (size_t)q->dims[0];
    d->T = (size_t)q->dims[1];
    d->Hq = (size_t)p->q_heads;
    d->Hkv = (size_t)p->kv_heads;
    if (q->dims[2] % p->q_heads != 0 || kk->dims[2] % p->kv_heads != 0 ||
        v->dims[2] % p->kv_heads != 0 || q->dims[2] / p->q_heads != kk->dims[2] / p->kv_heads)
        return cpu_fail_shape(k, 0, q, "hidden sizes do not split into heads");
    d->dk = (size_t)(q->dims[2] / p->q_heads);
    d->dv = (size_t)(v->dims[2] / p->kv_heads);
    const ember_tensor *ps = in[3], *dc = in[4], *bt = in[5];
    if (ps && (ps->rank != 4 || (size_t)ps->dims[0] != d->B || (size_t)ps->dims[1] != d->Hkv ||
               (size_t)ps->dims[2] != d->dk || (size_t)ps->dims[3] != d->dv))
        return cpu_fail_shape(k, 3, ps, "past_state must be [B,Hkv,dk,dv]");
    if (p->gating != (dc != NULL) || p->delta != (bt != NULL))
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): decay/beta inputs do not match update_rule",
                             k->name, k->op);
    if (dc) {
        d->decay_last = dc->rank == 3 ? (size_t)dc->dims[2] : 0;
        if (dc->rank != 3 || (size_t)dc->dims[0] != d->B || (size_t)dc->dims[1] != d->T ||
            (d->decay_last != d->Hkv && d->decay_last != d->Hkv * d->dk))
            return cpu_fail_shape(k, 4, dc, "decay must be [B,T,Hkv] or [B,T,Hkv*dk]");
    }
    if (bt) {
        d->beta_last = bt->rank == 3 ? (size_t)bt->dims[2] : 0;
        if (bt->rank != 3 || (size_t)bt->dims[0] != d->B || (size_t)bt->dims[1] != d->T ||
            (d->beta_last != d->Hkv && d->beta_last != 1))
            return cpu_fail_shape(k, 5, bt, "beta must be [B,T,Hkv] or [B,T,1]");
    }
    return EMBER_OK;
}

/* One time step of one (batch, kv head): updates its state [dk,dv]. */
static void linattn_update(const linattn_params *p, const linattn_dims *d, double *st,
                           const double *kt, const double *vt, const double *decay,
                           size_t decay_stride, double beta, double *tmp)
{
    if (p->gating)
        for (size_t i = 0; i < d->dk; i++) {
            double g = exp(decay[i * decay_stride]);
            for (size_t m = 0; m < d->dv; m++)
                st[i * d->dv + m] *= g;
        }
    for (size_t m = 0; m < d->dv; m++)
        tmp[m] = vt[m];
    if (p->delta)
        for (size_t m = 0; m < d->dv; m++) {
            double r = 0.0;
            for (size_t i = 0; i < d->dk; i++)
                r += st[i * d->dv + m] * kt[i];
            tmp[m] = beta * (vt[m] - r);
        }
    for (size_t i = 0; i < d->dk; i++)
        for (size_t m = 0; m < d->dv; m++)
            st[i * d->dv + m] += kt[i] * tmp[m];
}

static void linattn_compute(const linattn_params *p, const linattn_dims *d,
                            double *const *buf, double *state, double *out, double *tmp)
{
    size_t group = d->Hq / d->Hkv;
    double scale = p->scale != 0.0f ? p->scale : 1.0 / sqrt((double)d->dk);
    for (size_t b = 0; b < d->B; b++)
        for (size_t t = 0; t < d->T; t++) {
            size_t bt = b * d->T + t;
            for (size_t h = 0; h < d->Hkv; h++) {
                double *st = state + (b * d->Hkv + h) * d->dk * d->dv;
                const double *kt = buf[1] + (bt * d->Hkv + h) * d->dk;
                const double *vt = buf[2] + (bt * d->Hkv + h) * d->dv;
                const double *dc = NULL;
                size_t dstride = 0;
                if (p->gating) {
                    bool per_key = d->decay_last != d->Hkv;
                    dc = buf[4] + bt * d->decay_last + (per_key ? h * d->dk : h);
                    dstride = per_key ? 1 : 0;
                }
                double beta = p->delta ? buf[5][bt * d->beta_last + (d->beta_last == 1 ? 0 : h)]
                                       : 0.0;
                linattn_update(p, d, st, kt, vt, dc, dstride, beta, tmp);
            }
            for (size_t h = 0; h < d->Hq; h++) {
                const double *st = state + (b * d->Hkv + h / group) * d->dk * d->dv;
                const double *qt = buf[0] + (bt * d->Hq + h) * d->dk;
                double *o = out + (bt * d->Hq + h) * d->dv;
                for (size_t m = 0; m < d->dv; m++) {
                    double acc = 0.0;
                    for (size_t i = 0; i < d->dk; i++)
                        acc += qt[i] * st[i * d->dv + m];
                    o[m] = scale * acc;
                }
            }
        }
}

static ember_status linattn_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const linattn_params *p = k->params;
    const ember_tensor *in[6] = {NULL};
    ember_status s = EMBER_OK;
    for (size_t i = 0; i < 6 && s == EMBER_OK; i++) {
        if (i < 3)
            s = cpu_input(k, ctx, i, &in[i]);
        else
            in[i] = cpu_opt_input(k, ctx, i);
        if (s == EMBER_OK && in[i] != NULL)
            s = cpu_rnn_check_float_input(k, i, in[i]);
    }
    linattn_dims d;
    memset(&d, 0, sizeof d);
    if (s == EMBER_OK)
        s = linattn_shapes(k, in, &d);
    double *buf[6] = {NULL}, *state = NULL, *out = NULL;
    for (size_t i = 0; i < 6 && s == EMBER_OK; i++)
        if (in[i] != NULL)
            s = cpu_rnn_load(ctx, k, in[i], &buf[i]);
    size_t n_state = d.B * d.Hkv * d.dk * d.dv, n_out = d.B * d.T * d.Hq * d.dv;
    if (s == EMBER_OK)
        s = cpu_rnn_alloc(ctx, k, n_state + n_out + d.dv, &state);
    if (s != EMBER_OK)
        return s;
    out = state + n_state;
    if (buf[3] != NULL)
        memcpy(state, buf[3], n_state * sizeof(double));
    linattn_compute(p, &d, buf, state, out, out + n_out);
    int64_t od[3] = {(int64_t)d.B, (int64_t)d.T, (int64_t)(d.Hq * d.dv)};
    int64_t sd[4] = {(int64_t)d.B, (int64_t)d.Hkv, (int64_t)d.dk, (int64_t)d.dv};
    s = cpu_rnn_store(k, ctx, 0, in[0]->dtype, od, 3, out);
    if (s == EMBER_OK && p->want_state)
        s = cpu_rnn_store(k, ctx, 1, in[3] ? in[3]->dtype : in[0]->dtype, sd, 4, state);
    return s;
}

ember_status cpu_linattn_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(linattn_params));
    if (s != EMBER_OK)
        return s;
    linattn_params *p = k->params;
    char rule[32];
    s = cpu_attr_int(k, node, "q_num_heads", 0, &p->q_heads);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "kv_num_heads", 0, &p->kv_heads);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "scale", 0.0f, &p->scale);
    if (s == EMBER_OK)
        s = cpu_attr_string(k, node, "update_rule", "gated_delta", rule, sizeof rule);
    if (s != EMBER_OK)
        return s;
    bool known = strcmp(rule, "linear") == 0 || strcmp(rule, "gated") == 0 ||
                 strcmp(rule, "delta") == 0 || strcmp(rule, "gated_delta") == 0;
    if (!known || p->q_heads <= 0 || p->kv_heads <= 0 || p->q_heads % p->kv_heads != 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute update_rule or q_num_heads/"
                             "kv_num_heads is invalid",
                             k->name, k->op);
    p->gating = strncmp(rule, "gated", 5) == 0;
    p->delta = strstr(rule, "delta") != NULL;
    p->want_state = cpu_rnn_wants_output(k->host, node, 1);
    k->run = linattn_run;
    return EMBER_OK;
}

/* ---- CausalConvWithState -------------------------------------------------- */

typedef struct ccws_params {
    bool silu, want_state;
} ccws_params;

static ember_status ccws_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ccws_params *p = k->params;
    const ember_tensor *in[4] = {NULL};
    ember_status s = EMBER_OK;
    for (size_t i = 0; i < 4 && s == EMBER_OK; i++) {
        if (i < 2)
            s = cpu_input(k, ctx, i, &in[i]);
        else
            in[i] = cpu_opt_input(k, ctx, i);
        if (s == EMBER_OK && in[i] != NULL)
            s = cpu_rnn_check_float_input(k, i, in[i]);
    }
    if (s != EMBER_OK)
        return s;
    const ember_tensor *x = in[0], *w = in[1];
    if (x->rank != 3)
        return cpu_fail_shape(k, 0, x, "input must be [B,C,L]");
    size_t B = (size_t)x->dims[0], C = (size_t)x->dims[1], L = (size_t)x->dims[2];
    if (w->rank != 3 || (size_t)w->dims[0] != C || w->dims[1] != 1 || w->dims[2] < 1)
        return cpu_fail_shape(k, 1, w, "weight must be [C,1,K]");
    size_t K = (size_t)w->dims[2], P = K - 1;
    if (in[2] && cpu_tensor_numel(in[2]) != C)
        return cpu_fail_shape(k, 2, in[2], "bias must be [C]");
    if (in[3] && (in[3]->rank != 3 || (size_t)in[3]->dims[0] != B ||
                  (size_t)in[3]->dims[1] != C || (size_t)in[3]->dims[2] != P))
        return cpu_fail_shape(k, 3, in[3], "past_state must be [B,C,K-1]");
    double *padded, *y;
    s = cpu_rnn_alloc(ctx, k, B * C * (P + L) + B * C * L + B * C * P, &padded);
    if (s != EMBER_OK)
        return s;
    y = padded + B * C * (P + L);
    double *state = y + B * C * L;
    uint32_t dt = x->dtype;
    for (size_t bc = 0; bc < B * C; bc++) {
        double *row = padded + bc * (P + L);
        for (size_t i = 0; i < P; i++)
            row[i] = in[3] ? cpu_get_f64(in[3]->data, in[3]->dtype, bc * P + i) : 0.0;
        for (size_t i = 0; i < L; i++)
            row[P + i] = cpu_get_f64(x->data, x->dtype, bc * L + i);
        size_t c = bc % C;
        for (size_t t = 0; t < L; t++) {
            double acc = in[2] ? cpu_get_f64(in[2]->data, in[2]->dtype, c) : 0.0;
            for (size_t q = 0; q < K; q++)
                acc += row[t + q] * cpu_get_f64(w->data, w->dtype, c * K + q);
            acc = rnn_round(dt, acc);
            if (p->silu)
                acc = acc * rnn_sigmoid(acc);
            y[bc * L + t] = acc;
        }
        memcpy(state + bc * P, row + L, P * sizeof(double));
    }
    s = cpu_rnn_store(k, ctx, 0, dt, x->dims, 3, y);
    int64_t sd[3] = {(int64_t)B, (int64_t)C, (int64_t)P};
    if (s == EMBER_OK && p->want_state)
        s = cpu_rnn_store(k, ctx, 1, in[3] ? in[3]->dtype : dt, sd, 3, state);
    return s;
}

ember_status cpu_ccws_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(ccws_params));
    if (s != EMBER_OK)
        return s;
    ccws_params *p = k->params;
    char act[16];
    s = cpu_attr_string(k, node, "activation", "none", act, sizeof act);
    if (s != EMBER_OK)
        return s;
    if (strcmp(act, "none") != 0 && strcmp(act, "silu") != 0 && strcmp(act, "swish") != 0)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute activation '%s' is not none/silu/swish",
                             k->name, k->op, act);
    p->silu = strcmp(act, "none") != 0;
    p->want_state = cpu_rnn_wants_output(k->host, node, 1);
    k->run = ccws_run;
    return EMBER_OK;
}
