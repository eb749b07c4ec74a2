/*
 * Attention (opset 23+), part of the rnn family. Q [B,Hq,S,D] (or 3-D
 * [B,S,Hq*D] with q_num_heads/kv_num_heads), K/V [B,Hkv,L,D|Dv], optional
 * attn_mask (bool or float, broadcast right-aligned to [B,Hq,S,T], its last
 * dim padded up to T with masked entries), past_key/past_value (present =
 * past ++ new), nonpad_kv_seqlen (opset 24), is_causal (bottom-right
 * aligned), left/right_window_size (opset 25), scale, softcap and the
 * optional qk_matmul_output (modes 0-3, as the onnx reference defines them).
 * A row whose additive bias is all -inf gives zero probabilities.
 */
#include "kernels_rnn.h"

#include <cblas.h>
#include <math.h>

typedef struct attn_params {
    int64_t q_heads, kv_heads; /* 0: not given */
    bool has_scale, causal;
    float scale, softcap;
    int64_t qk_mode, left_window, right_window;
    bool want[4]; /* which outputs the node asks for */
} attn_params;

typedef struct attn_job {
    const attn_params *p;
    uint32_t dtype;
    size_t B, Hq, Hkv, S, L, P, T, D, Dv;
    bool is3d;
    const double *q, *k, *v, *pk, *pv; /* as given (k/v may be 3-D) */
    const double *mask;                /* NULL: none */
    bool mask_bool;
    size_t mask_rank;
    int64_t mask_dims[4]; /* right-aligned to [B,Hq,S,Tm], 1 for missing */
    const double *nonpad; /* NULL or [B] */
    double sscale;        /* sqrt(scale) rounded to dtype */
    double *present_k, *present_v; /* [B,Hkv,T,D|Dv] */
    double *qs, *ks;                /* Q and present K times sqrt(scale), rounded:
                                       [B,Hq,S,D], [B,Hkv,T,D] */
    bool blas; /* float32/float64: products through cblas_dgemm */
    double *qk;                     /* [B,Hq,S,T] qk output */
    double *probs;                  /* [B,Hq,S,T] */
    double *y;                      /* [B,Hq,S,Dv] */
    double *bias;                   /* [B*Hq, T]: one row per head */
} attn_job;

/* Element of Q as [B,Hq,S,D] whichever its layout. */
static double attn_q(const attn_job *j, size_t b, size_t h, size_t s, size_t d)
{
    if (j->is3d)
        return j->q[(b * j->S + s) * j->Hq * j->D + h * j->D + d];
    return j->q[((b * j->Hq + h) * j->S + s) * j->D + d];
}

/* Element of the new K (or V) as [B,Hkv,L,D]. */
static double attn_kv(const attn_job *j, const double *x, size_t D, size_t b, size_t h, size_t l,
                      size_t d)
{
    if (j->is3d)
        return x[(b * j->L + l) * j->Hkv * D + h * D + d];
    return x[((b * j->Hkv + h) * j->L + l) * D + d];
}

/* Builds present_key/present_value: past then the new keys/values. */
static void attn_present(attn_job *j)
{
    for (size_t b = 0; b < j->B; b++)
        for (size_t h = 0; h < j->Hkv; h++)
            for (size_t t = 0; t < j->T; t++) {
                double *dk = j->present_k + ((b * j->Hkv + h) * j->T + t) * j->D;
                double *dv = j->present_v + ((b * j->Hkv + h) * j->T + t) * j->Dv;
                for (size_t d = 0; d < j->D; d++)
                    dk[d] = t < j->P ? j->pk[((b * j->Hkv + h) * j->P + t) * j->D + d]
                                     : attn_kv(j, j->k, j->D, b, h, t - j->P, d);
                for (size_t d = 0; d < j->Dv; d++)
                    dv[d] = t < j->P ? j->pv[((b * j->Hkv + h) * j->P + t) * j->Dv + d]
                                     : attn_kv(j, j->v, j->Dv, b, h, t - j->P, d);
            }
}

/* The mask's additive value at (b,h,i,t). */
static double attn_mask_at(const attn_job *j, size_t b, size_t h, size_t i, size_t t)
{
    if (j->mask == NULL)
        return 0.0;
    const int64_t *md = j->mask_dims;
    if (t >= (size_t)md[3])
        return -INFINITY;
    size_t idx[4] = {b, h, i, t}, off = 0;
    for (size_t d = 0; d < 4; d++)
        off = off * (size_t)md[d] + (md[d] == 1 ? 0 : idx[d]);
    double m = j->mask[off];
    if (j->mask_bool)
        return m != 0.0 ? 0.0 : -INFINITY;
    return m;
}

/* The full additive bias at (b,h,i,t): mask, causal, window, padding. */
static double attn_bias(const attn_job *j, size_t b, size_t h, size_t i, size_t t)
{
    const attn_params *p = j->p;
    double bias = attn_mask_at(j, b, h, i, t);
    int64_t offset = (int64_t)j->P;
    if (j->nonpad != NULL && j->P == 0)
        offset = (int64_t)j->nonpad[b] - (int64_t)j->S;
    int64_t diff = (int64_t)i + offset - (int64_t)t;
    if (p->causal && diff < 0)
        bias += -INFINITY;
    if (p->left_window >= 0 && diff > p->left_window)
        bias += -INFINITY;
    if (p->right_window >= 0 && -diff > p->right_window)
        bias += -INFINITY;
    if (j->nonpad != NULL && (double)t >= j->nonpad[b])
        bias += -INFINITY;
    return bias;
}

/* Half types: numpy rounds every step of a half-precision loop. */
static double rnn_half_round(uint32_t dtype, double v)
{
    return cpu_is_half(dtype) ? rnn_round(dtype, v) : v;
}

/* numpy accumulates float32 and half products in float32. */
static double attn_acc(uint32_t dtype, double v)
{
    return dtype == EMBER_DTYPE_FLOAT64 ? v : (double)(float)v;
}

static double attn_softcap(double x, double cap)
{
    return cap > 0 ? tanh(x / cap) * cap : x;
}

/* One query row: scores, softmax, output. */
static void attn_row(const attn_job *j, size_t b, size_t h, size_t i, double *bias)
{
    const attn_params *p = j->p;
    size_t hk = h / (j->Hq / j->Hkv), T = j->T, D = j->D;
    size_t row = ((b * j->Hq + h) * j->S + i) * T;
    double *qk = j->qk + row, *pr = j->probs + row;
    double bmax = -INFINITY, xmax = -INFINITY;
    const double *qr = j->qs + ((b * j->Hq + h) * j->S + i) * D;
    for (size_t t = 0; t < T; t++) {
        double acc = pr[t]; /* the product cblas_dgemm left there */
        if (!j->blas) {
            const double *kr = j->ks + ((b * j->Hkv + hk) * T + t) * D;
            acc = 0.0;
            for (size_t d = 0; d < D; d++)
                acc = attn_acc(j->dtype, acc + qr[d] * kr[d]);
        }
        double x = rnn_round(j->dtype, attn_softcap(rnn_round(j->dtype, acc), p->softcap));
        bias[t] = attn_bias(j, b, h, i, t);
        double xb = rnn_round(j->dtype, x + bias[t]);
        qk[t] = p->qk_mode == 2 ? xb : x;
        pr[t] = xb;
        bmax = bias[t] > bmax ? bias[t] : bmax;
        xmax = xb > xmax ? xb : xmax;
    }
    double safe = isinf(xmax) && xmax < 0 ? 0.0 : xmax, sum = 0.0;
    for (size_t t = 0; t < T; t++) {
        pr[t] = rnn_half_round(j->dtype, exp(rnn_half_round(j->dtype, pr[t] - safe)));
        /* numpy sums bfloat16 (a custom dtype) step by step in bfloat16,
         * float16 pairwise in float32 */
        sum = j->dtype == EMBER_DTYPE_BFLOAT16 ? rnn_round(j->dtype, sum + pr[t])
                                                : attn_acc(j->dtype, sum + pr[t]);
    }
    sum = rnn_half_round(j->dtype, sum);
    if (sum == 0.0)
        sum = 1.0;
    bool all_masked = isinf(bmax) && bmax < 0;
    for (size_t t = 0; t < T; t++) {
        pr[t] = all_masked ? 0.0 : rnn_half_round(j->dtype, pr[t] / sum);
        if (p->qk_mode == 3)
            qk[t] = pr[t];
        pr[t] = rnn_round(j->dtype, pr[t]);
    }
    double *y = j->y + ((b * j->Hq + h) * j->S + i) * j->Dv;
    for (size_t d = 0; d < j->Dv && !j->blas; d++) {
        double acc = 0.0;
        for (size_t t = 0; t < T; t++)
            acc = attn_acc(j->dtype,
                           acc + pr[t] * j->present_v[((b * j->Hkv + hk) * T + t) * j->Dv + d]);
        y[d] = acc;
    }
}

static void attn_heads(void *arg, size_t begin, size_t end)
{
    const attn_job *j = arg;
    for (size_t bh = begin; bh < end; bh++) {
        double *bias = j->bias + bh * j->T; /* this head's row of bias */
        size_t b = bh / j->Hq, hk = (bh % j->Hq) / (j->Hq / j->Hkv);
        blasint S = (blasint)j->S, T = (blasint)j->T, D = (blasint)j->D, Dv = (blasint)j->Dv;
        double *pr = j->probs + bh * j->S * j->T;
        if (j->blas && S > 0 && T > 0)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, T, D, 1.0,
                        j->qs + bh * j->S * j->D, D, j->ks + (b * j->Hkv + hk) * j->T * j->D,
                        D, 0.0, pr, T);
        for (size_t i = 0; i < j->S; i++)
            attn_row(j, b, bh % j->Hq, i, bias);
        if (j->blas && S > 0 && Dv > 0)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, Dv, T, 1.0, pr, T,
                        j->present_v + (b * j->Hkv + hk) * j->T * j->Dv, Dv, 0.0,
                        j->y + bh * j->S * j->Dv, Dv);
    }
}

/* The scaled copies of Q and the present keys the products read. */
static void attn_scaled(attn_job *j)
{
    for (size_t b = 0; b < j->B; b++)
        for (size_t h = 0; h < j->Hq; h++)
            for (size_t i = 0; i < j->S; i++)
                for (size_t d = 0; d < j->D; d++)
                    j->qs[((b * j->Hq + h) * j->S + i) * j->D + d] =
                        rnn_round(j->dtype, attn_q(j, b, h, i, d) * j->sscale);
    size_t nk = j->B * j->Hkv * j->T * j->D;
    for (size_t i = 0; i < nk; i++)
        j->ks[i] = rnn_round(j->dtype, j->present_k[i] * j->sscale);
}

/* Reads the dims and checks the shapes of Q, K, V and the cache. */
static ember_status attn_shapes(const cpu_kernel *k, const ember_tensor *const *in,
                                attn_job *j)
{
    const attn_params *p = k->params;
    const ember_tensor *q = in[0], *kk = in[1], *v = in[2];
    if ((q->rank != 3 && q->rank != 4) || kk->rank != q->rank || v->rank != q->rank)
        return cpu_fail_shape(k, 0, q, "Q, K and V must all be 3-D or all 4-D");
    j->is3d = q->rank == 3;
    j->B = (size_t)q->dims[0];
    if (kk->dims[0] != q->dims[0] || v->dims[0] != q->dims[0])
        return cpu_fail_shape(k, 1, kk, "batch differs from Q's");
    if (j->is3d) {
        if (p->q_heads <= 0 || p->kv_heads <= 0 || q->dims[2] % p->q_heads != 0 ||
            kk->dims[2] % p->kv_heads != 0 || v->dims[2] % p->kv_heads != 0)
            return cpu_fail_shape(k, 0, q,
                                  "3-D inputs need q_num_heads/kv_num_heads dividing hidden");
        j->Hq = (size_t)p->q_heads;
        j->Hkv = (size_t)p->kv_heads;
        j->S = (size_t)q->dims[1];
        j->L = (size_t)kk->dims[1];
        j->D = (size_t)(q->dims[2] / p->q_heads);
        j->Dv = (size_t)(v->dims[2] / p->kv_heads);
        if ((size_t)(kk->dims[2] / p->kv_heads) != j->D || v->dims[1] != kk->dims[1])
            return cpu_fail_shape(k, 1, kk, "head size or length differs from Q/V");
    } else {
        j->Hq = (size_t)q->dims[1];
        j->Hkv = (size_t)kk->dims[1];
        j->S = (size_t)q->dims[2];
        j->L = (size_t)kk->dims[2];
        j->D = (size_t)q->dims[3];
        j->Dv = (size_t)v->dims[3];
        if (kk->dims[3] != q->dims[3] || v->dims[1] != kk->dims[1] || v->dims[2] != kk->dims[2])
            return cpu_fail_shape(k, 1, kk, "does not match Q/V");
    }
    if (j->Hkv == 0 || j->Hq % j->Hkv != 0)
        return cpu_fail_shape(k, 1, kk, "kv heads must divide q heads");
    j->P = 0;
    if (in[4] != NULL || in[5] != NULL) {
        const ember_tensor *pk = in[4], *pv = in[5];
        if (pk == NULL || pv == NULL || pk->rank != 4 || pv->rank != 4 ||
            (size_t)pk->dims[0] != j->B || (size_t)pk->dims[1] != j->Hkv ||
            (size_t)pk->dims[3] != j->D || pv->dims[2] != pk->dims[2] ||
            (size_t)pv->dims[3] != j->Dv)
            return cpu_fail_shape(k, 4, pk ? pk : pv, "past_key/past_value do not match K/V");
        j->P = (size_t)pk->dims[2];
    }
    j->T = j->P + j->L;
    return EMBER_OK;
}

static ember_status attn_mask_shape(const cpu_kernel *k, const ember_tensor *m, attn_job *j)
{
    if (m->rank < 1 || m->rank > 4)
        return cpu_fail_shape(k, 3, m, "attn_mask must have rank 1 to 4");
    size_t full[4] = {j->B, j->Hq, j->S, j->T};
    for (size_t d = 0; d < 4; d++)
        j->mask_dims[d] = 1;
    for (size_t d = 0; d < m->rank; d++) {
        size_t od = 4 - m->rank + d;
        int64_t md = m->dims[d];
        j->mask_dims[od] = md;
        bool ok = od == 3 ? (size_t)md <= full[3] : (md == 1 || (size_t)md == full[od]);
        if (!ok)
            return cpu_fail_shape(k, 3, m, "attn_mask does not broadcast to [B,H,S,T]");
    }
    j->mask_bool = m->dtype == EMBER_DTYPE_BOOL;
    return EMBER_OK;
}

static ember_status attn_inputs(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor **in)
{
    for (size_t i = 0; i < 7; i++)
        in[i] = i < 3 ? NULL : cpu_opt_input(k, ctx, i);
    for (size_t i = 0; i < 3; i++) {
        ember_status s = cpu_input(k, ctx, i, &in[i]);
        if (s == EMBER_OK)
            s = cpu_rnn_check_float_input(k, i, in[i]);
        if (s != EMBER_OK)
            return s;
    }
    return EMBER_OK;
}

static ember_status attn_load_all(const cpu_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor *const *in, attn_job *j)
{
    double *buf[7] = {NULL};
    for (size_t i = 0; i < 7; i++)
        if (in[i] != NULL) {
            ember_status s = cpu_rnn_load(ctx, k, in[i], &buf[i]);
            if (s != EMBER_OK)
                return s;
        }
    j->q = buf[0];
    j->k = buf[1];
    j->v = buf[2];
    j->mask = buf[3];
    j->pk = buf[4];
    j->pv = buf[5];
    j->nonpad = buf[6];
    if (in[6] != NULL && cpu_tensor_numel(in[6]) != j->B)
        return cpu_fail_shape(k, 6, in[6], "nonpad_kv_seqlen must have batch entries");
    return EMBER_OK;
}

static ember_status attn_outputs(const cpu_kernel *k, ember_kernel_context *ctx,
                                 const attn_job *j)
{
    int64_t ydims[4] = {(int64_t)j->B, (int64_t)j->Hq, (int64_t)j->S, (int64_t)j->Dv};
    double *y = j->y;
    ember_status s;
    if (j->is3d) {
        ember_status s2 = cpu_rnn_alloc(ctx, k, j->B * j->Hq * j->S * j->Dv, &y);
        if (s2 != EMBER_OK)
            return s2;
        for (size_t b = 0; b < j->B; b++)
            for (size_t h = 0; h < j->Hq; h++)
                for (size_t i = 0; i < j->S; i++)
                    memcpy(y + ((b * j->S + i) * j->Hq + h) * j->Dv,
                           j->y + ((b * j->Hq + h) * j->S + i) * j->Dv, j->Dv * sizeof(double));
        int64_t d3[3] = {(int64_t)j->B, (int64_t)j->S, (int64_t)(j->Hq * j->Dv)};
        s = cpu_rnn_store(k, ctx, 0, j->dtype, d3, 3, y);
    } else {
        s = cpu_rnn_store(k, ctx, 0, j->dtype, ydims, 4, y);
    }
    const attn_params *p = k->params;
    int64_t kd[4] = {(int64_t)j->B, (int64_t)j->Hkv, (int64_t)j->T, (int64_t)j->D};
    int64_t vd[4] = {(int64_t)j->B, (int64_t)j->Hkv, (int64_t)j->T, (int64_t)j->Dv};
    int64_t qd[4] = {(int64_t)j->B, (int64_t)j->Hq, (int64_t)j->S, (int64_t)j->T};
    if (s == EMBER_OK && p->want[1])
        s = cpu_rnn_store(k, ctx, 1, j->dtype, kd, 4, j->present_k);
    if (s == EMBER_OK && p->want[2])
        s = cpu_rnn_store(k, ctx, 2, j->dtype, vd, 4, j->present_v);
    if (s == EMBER_OK && p->want[3])
        s = cpu_rnn_store(k, ctx, 3, j->dtype, qd, 4, j->qk);
    return s;
}

static ember_status attn_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const attn_params *p = k->params;
    const ember_tensor *in[7];
    attn_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    ember_status s = attn_inputs(k, ctx, in);
    if (s == EMBER_OK)
        s = attn_shapes(k, in, &j);
    if (s == EMBER_OK && in[3] != NULL)
        s = attn_mask_shape(k, in[3], &j);
    if (s == EMBER_OK)
        s = attn_load_all(k, ctx, in, &j);
    if (s != EMBER_OK)
        return s;
    j.dtype = in[0]->dtype;
    double scale = p->has_scale ? p->scale : 1.0 / sqrt((double)j.D);
    j.sscale = rnn_round(j.dtype, sqrt(scale));
    size_t nqk = j.B * j.Hq * j.S * j.T;
    size_t nk = j.B * j.Hkv * j.T * j.D;
    s = cpu_rnn_alloc(ctx, k, 2 * nk + j.B * j.Hkv * j.T * j.Dv + j.B * j.Hq * j.S * j.D,
                  &j.present_k);
    if (s == EMBER_OK)
        s = cpu_rnn_alloc(ctx, k, 2 * nqk + j.B * j.Hq * (j.T + j.S * j.Dv), &j.qk);
    if (s != EMBER_OK)
        return s;
    j.present_v = j.present_k + nk;
    j.ks = j.present_v + j.B * j.Hkv * j.T * j.Dv;
    j.qs = j.ks + nk;
    j.blas = j.dtype == EMBER_DTYPE_FLOAT32 || j.dtype == EMBER_DTYPE_FLOAT64;
    j.probs = j.qk + nqk;
    j.y = j.probs + nqk;
    j.bias = j.y + j.B * j.Hq * j.S * j.Dv;
    attn_present(&j);
    attn_scaled(&j);
    size_t items = j.B * j.Hq;
    cpu_parallel(ctx, k, items, nqk * (j.D + j.Dv) * 4, attn_heads, &j);
    return attn_outputs(k, ctx, &j);
}

ember_status cpu_attn_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(attn_params));
    if (s != EMBER_OK)
        return s;
    attn_params *p = k->params;
    int64_t causal = 0;
    p->has_scale = cpu_attr_has(k, node, "scale");
    s = cpu_attr_float(k, node, "scale", 1.0f, &p->scale);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "softcap", 0.0f, &p->softcap);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "is_causal", 0, &causal);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "q_num_heads", 0, &p->q_heads);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "kv_num_heads", 0, &p->kv_heads);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "qk_matmul_output_mode", 0, &p->qk_mode);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "left_window_size", -1, &p->left_window);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "right_window_size", -1, &p->right_window);
    if (s != EMBER_OK)
        return s;
    p->causal = causal != 0;
    for (size_t i = 0; i < 4; i++)
        p->want[i] = cpu_rnn_wants_output(k->host, node, i);
    if (p->qk_mode < 0 || p->qk_mode > 3 || p->left_window < -1 || p->right_window < -1)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute qk_matmul_output_mode or "
                             "left/right_window_size out of range",
                             k->name, k->op);
    k->run = attn_run;
    return EMBER_OK;
}
