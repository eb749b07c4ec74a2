/*
 * Fusion inside a oneDNN group: a BatchNormalization after a Conv folds
 * into the Conv's weights and bias; a Conv/ConvTranspose/MatMul/Gemm (or
 * Add/Sub/Mul/Div) whose only reader is an eltwise activation, or a Mul or
 * Div by a constant scalar, takes it as a post-op; a Conv or MatMul whose
 * only reader is an Add of two same-shaped tensors takes the Add as a sum
 * post-op; a MatMul followed by the Add of a constant [N] bias takes the
 * bias; the GELU PyTorch exports, x * 0.5 * (1 + Erf(x / sqrt 2)) in five
 * nodes, becomes a gelu_erf post-op of the primitive that makes x. A fused
 * primitive runs at the position of the last node it absorbed; the nodes
 * it absorbed stop being steps.
 */
#include "onednn_group.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


bool onednn_step_runs(const group_step *s)
{
    return s->sum_value != -2;
}

/* Takes step s out of the run: its work happens inside another step. */
static void retire(group_step *s)
{
    for (size_t i = 0; i < ONEDNN_MAX_IO; i++)
        s->in_value[i] = s->out_value[i] = -1;
    s->sum_value = -2;
}

static bool is_op(const group_step *s, const char *op)
{
    return s->k != NULL && strcmp(s->k->op, op) == 0;
}

static bool takes_post_ops(const group_step *s)
{
    return is_op(s, "Conv") || is_op(s, "ConvTranspose") || is_op(s, "MatMul") ||
           is_op(s, "Gemm") || is_op(s, "Add") || is_op(s, "Sub") || is_op(s, "Mul") ||
           is_op(s, "Div");
}

/* The only step reading value v, or -1 (none, several, or a group output). */
static int only_reader(const onednn_group *g, int v)
{
    int reader = -1;
    if (g->values[v].output >= 0)
        return -1;
    for (size_t s = 0; s < g->n_steps; s++) {
        const group_step *st = &g->steps[s];
        for (size_t i = 0; onednn_step_runs(st) && i < ONEDNN_MAX_IO; i++) {
            if (st->in_value[i] != v)
                continue;
            if (reader >= 0)
                return -1;
            reader = (int)s;
        }
        if (st->sum_value == v)
            return -1;
    }
    return reader;
}

/* Same rank and the same dims as far as the graph knows them (an unknown
 * dim matches only an unknown one; programs check the real shapes). */
static bool same_dims(const group_value *a, const group_value *b)
{
    return a->rank >= 0 && a->rank == b->rank &&
           memcmp(a->dims, b->dims, (size_t)a->rank * sizeof a->dims[0]) == 0;
}

/* Moves the primitive of step `from` to step `to` (its reader), which
 * stops being a primitive of its own; returns `to`. */
static size_t absorb(onednn_group *g, size_t from, size_t to, int result)
{
    group_step *a = &g->steps[from], *b = &g->steps[to];
    onednn_kernel *absorbed = b->k;
    int sum = b->sum_value;
    *b = *a;
    if (sum >= 0)
        b->sum_value = sum;
    b->out_value[0] = result;
    a->k = absorbed; /* freed with the group */
    a->folded = NULL; /* b owns it now */
    retire(a);
    return to;
}

/* Whether st is a binary op of value v and a constant float scalar *c
 * (v_first: v is its first operand). */
static bool scalar_operand(const onednn_group *g, const group_step *st, int v, float *c,
                           bool *v_first)
{
    if (!onednn_step_runs(st) || st->in.n != 2)
        return false;
    int other = st->in_value[0] == v ? 1 : st->in_value[1] == v ? 0 : -1;
    if (other < 0 || st->in.data[other] == NULL || st->in_value[other] == v)
        return false;
    const group_value *cv = &g->values[st->in_value[other]];
    if (!(cv->rank == 0 || (cv->rank == 1 && cv->dims[0] == 1)))
        return false;
    *c = *(const float *)st->in.data[other];
    *v_first = other == 1;
    return true;
}

/* v * c or v / c as oneDNN's linear eltwise (alpha * x). */
static bool scaling_post_op(const onednn_group *g, const group_step *r, int v, onednn_fusion *f)
{
    float c;
    bool v_first;
    if (!scalar_operand(g, r, v, &c, &v_first))
        return false;
    if (is_op(r, "Mul"))
        f->alpha = c;
    else if (is_op(r, "Div") && v_first && c != 0.0f)
        f->alpha = 1.0f / c;
    else
        return false;
    f->eltwise = dnnl_eltwise_linear;
    f->beta = 0.0f;
    return true;
}

static bool try_activation(onednn_group *g, size_t at, size_t *moved)
{
    group_step *s = &g->steps[at];
    int reader = s->out_value[0] >= 0 ? only_reader(g, s->out_value[0]) : -1;
    if (reader < 0 || s->k->fusion.eltwise != dnnl_alg_kind_undef)
        return false;
    group_step *r = &g->steps[reader];
    onednn_fusion f = s->k->fusion;
    if (!onednn_eltwise_post_op(r->k, &r->in, &f) &&
        !scaling_post_op(g, r, s->out_value[0], &f))
        return false;
    s->k->fusion = f;
    *moved = absorb(g, at, (size_t)reader, r->out_value[0]);
    return true;
}

/* MatMul then Add of a constant [N] bias: the bias becomes the MatMul's
 * input 2, which its family adds as a post-op. */
static bool try_bias(onednn_group *g, size_t at, size_t *moved)
{
    group_step *s = &g->steps[at];
    int out = s->out_value[0];
    int reader = out >= 0 ? only_reader(g, out) : -1;
    if (!is_op(s, "MatMul") || reader < 0 || s->k->fusion.eltwise != dnnl_alg_kind_undef ||
        !is_op(&g->steps[reader], "Add"))
        return false;
    group_step *add = &g->steps[reader];
    int j = add->in_value[0] == out ? 1 : 0;
    int bias = add->in_value[j];
    const group_value *b = bias >= 0 ? &g->values[bias] : NULL, *o = &g->values[out];
    if (b == NULL || add->in.data[j] == NULL || b->rank != 1 || o->rank < 1 ||
        b->dims[0] <= 0 || b->dims[0] != o->dims[o->rank - 1] || add->out_value[0] < 0)
        return false;
    s->in.n = 3;
    s->in.present[2] = true;
    s->in.data[2] = add->in.data[j];
    s->in_value[2] = bias;
    *moved = absorb(g, at, (size_t)reader, add->out_value[0]);
    return true;
}

/* A float32 constant of the group's own, shaped like `like` but with dims
 * [dim0] when rank1, as a new value; -1 when there is no room. */
static int own_constant(onednn_group *g, const group_value *like, bool rank1, const float *data)
{
    if (g->n_values == g->cap_values)
        return -1;
    group_value *v = &g->values[g->n_values];
    *v = *like;
    v->id = -1;
    v->input = v->output = -1;
    v->data = data;
    if (rank1)
        v->rank = 1;
    return (int)g->n_values++;
}

/* Whether input i of step st is a float32 constant [n]. */
static bool channel_constant(const onednn_group *g, const group_step *st, size_t i, int64_t n)
{
    const group_value *v = i < st->in.n && st->in.present[i] ? &g->values[st->in_value[i]] : NULL;
    return v != NULL && st->in.data[i] != NULL && v->dtype == EMBER_DTYPE_FLOAT32 &&
           v->rank == 1 && v->dims[0] == n;
}

/*
 * Conv then BatchNormalization of its output alone, weights, bias and
 * statistics all constant: the normalization folds into the Conv,
 *   s = scale / sqrt(var + epsilon),  w' = w * s,  b' = (b - mean) * s + B
 * per output channel (computed in double). Skipped when memory is short.
 */
static bool try_batchnorm(onednn_group *g, size_t at, size_t *moved)
{
    group_step *s = &g->steps[at];
    int out = s->out_value[0];
    int reader = out >= 0 ? only_reader(g, out) : -1;
    if (!is_op(s, "Conv") || reader < 0 || s->folded != NULL || s->k->fusion.sum ||
        s->k->fusion.eltwise != dnnl_alg_kind_undef || s->in.data[1] == NULL ||
        !is_op(&g->steps[reader], "BatchNormalization"))
        return false;
    group_step *bn = &g->steps[reader];
    const group_value *w = &g->values[s->in_value[1]];
    if (w->dtype != EMBER_DTYPE_FLOAT32 || w->rank < 3 || bn->in_value[0] != out ||
        bn->out_value[0] < 0)
        return false;
    int64_t k = w->dims[0], per = 1;
    for (int d = 1; d < w->rank; d++)
        per *= w->dims[d];
    bool has_bias = s->in.n > 2 && s->in.present[2];
    if (k <= 0 || per <= 0 || (has_bias && !channel_constant(g, s, 2, k)))
        return false;
    for (size_t i = 1; i < 5; i++)
        if (!channel_constant(g, bn, i, k))
            return false;
    if (g->n_values + 2 > g->cap_values)
        return false;
    float *folded = malloc((size_t)(k * per + k) * sizeof *folded);
    if (folded == NULL)
        return false;
    const float *weights = s->in.data[1], *bias = has_bias ? s->in.data[2] : NULL;
    const float *scale = bn->in.data[1], *shift = bn->in.data[2], *mean = bn->in.data[3],
                *var = bn->in.data[4];
    double eps = onednn_batchnorm_epsilon(bn->k);
    for (int64_t c = 0; c < k; c++) {
        double f = scale[c] / sqrt((double)var[c] + eps);
        for (int64_t j = 0; j < per; j++)
            folded[c * per + j] = (float)(weights[c * per + j] * f);
        folded[k * per + c] = (float)(((bias ? bias[c] : 0.0) - mean[c]) * f + shift[c]);
    }
    s->folded = folded;
    s->in.data[1] = folded;
    s->in_value[1] = own_constant(g, w, false, folded);
    s->in.n = s->in.n > 3 ? s->in.n : 3;
    s->in.present[2] = true;
    s->in.dtype[2] = EMBER_DTYPE_FLOAT32;
    s->in.data[2] = folded + k * per;
    s->in_value[2] = own_constant(g, &g->values[bn->in_value[1]], true, folded + k * per);
    *moved = absorb(g, at, (size_t)reader, bn->out_value[0]);
    return true;
}

static bool try_sum(onednn_group *g, size_t at, size_t *moved)
{
    group_step *s = &g->steps[at];
    int out = s->out_value[0];
    int reader = out >= 0 ? only_reader(g, out) : -1;
    if (reader < 0 || s->k->fusion.sum || s->k->fusion.eltwise != dnnl_alg_kind_undef ||
        !is_op(&g->steps[reader], "Add") || !(is_op(s, "Conv") || is_op(s, "MatMul")))
        return false;
    group_step *add = &g->steps[reader];
    int other = add->in_value[0] == out ? add->in_value[1] : add->in_value[0];
    if (other < 0 || other == out || add->out_value[0] < 0 ||
        !same_dims(&g->values[other], &g->values[out]) ||
        !same_dims(&g->values[add->out_value[0]], &g->values[out]))
        return false;
    s->k->fusion.sum = true;
    s->sum_value = other;
    *moved = absorb(g, at, (size_t)reader, add->out_value[0]);
    return true;
}

/* The steps reading value v (at most cap); -1 when v is a group output. */
static int readers(const onednn_group *g, int v, int *out, int cap)
{
    int n = 0;
    if (g->values[v].output >= 0)
        return -1;
    for (size_t s = 0; s < g->n_steps; s++) {
        const group_step *st = &g->steps[s];
        bool reads = st->sum_value == v;
        for (size_t i = 0; onednn_step_runs(st) && i < ONEDNN_MAX_IO; i++)
            reads = reads || st->in_value[i] == v;
        if (reads && n < cap)
            out[n] = (int)s;
        n += reads;
    }
    return n;
}

/* Whether step s is `op` of value v and a constant float scalar near c. */
static bool is_op_with(const onednn_group *g, int s, const char *op, int v, float c)
{
    float x;
    bool v_first;
    return is_op(&g->steps[s], op) && scalar_operand(g, &g->steps[s], v, &x, &v_first) &&
           x > c * 0.9999f && x < c * 1.0001f;
}

/* The single reader of v's only use, or -1. */
static int next_step(const onednn_group *g, int v)
{
    int r;
    return v >= 0 && readers(g, v, &r, 1) == 1 ? r : -1;
}

/* x / sqrt2 -> Erf -> + 1 -> x * . -> * 0.5, read off x's two readers.
 * Fills chain[0..5) with the five steps, the last one making the GELU. */
static bool match_gelu(const onednn_group *g, int x, int chain[5])
{
    int r[2];
    if (readers(g, x, r, 2) != 2)
        return false;
    int div = is_op_with(g, r[0], "Div", x, 1.41421356f) ? r[0] : r[1];
    int mul = div == r[0] ? r[1] : r[0];
    if (!is_op_with(g, div, "Div", x, 1.41421356f))
        return false;
    int erf = next_step(g, g->steps[div].out_value[0]);
    if (erf < 0 || !is_op(&g->steps[erf], "Erf"))
        return false;
    int add = next_step(g, g->steps[erf].out_value[0]);
    if (add < 0 || !is_op_with(g, add, "Add", g->steps[erf].out_value[0], 1.0f))
        return false;
    int a = g->steps[add].out_value[0];
    const group_step *m = &g->steps[mul];
    if (next_step(g, a) != mul || !is_op(m, "Mul") ||
        !((m->in_value[0] == x && m->in_value[1] == a) ||
          (m->in_value[1] == x && m->in_value[0] == a)))
        return false;
    int half = next_step(g, m->out_value[0]);
    if (half < 0 || !is_op_with(g, half, "Mul", m->out_value[0], 0.5f))
        return false;
    int steps[5] = {div, erf, add, mul, half};
    memcpy(chain, steps, sizeof steps);
    return true;
}

static bool try_gelu(onednn_group *g, size_t at)
{
    group_step *s = &g->steps[at];
    int chain[5];
    if (s->out_value[0] < 0 || s->k->fusion.eltwise != dnnl_alg_kind_undef ||
        !match_gelu(g, s->out_value[0], chain))
        return false;
    s->k->fusion.eltwise = dnnl_eltwise_gelu_erf;
    s->k->fusion.alpha = s->k->fusion.beta = 0.0f;
    s->out_value[0] = g->steps[chain[4]].out_value[0];
    for (int i = 0; i < 5; i++)
        retire(&g->steps[chain[i]]); /* their work is the post-op */
    return true;
}

void onednn_group_fuse(onednn_group *g)
{
    for (size_t i = 0; i < g->n_steps; i++) {
        if (g->steps[i].sum_value == -2 || !takes_post_ops(&g->steps[i]))
            continue;
        size_t at = i;
        try_batchnorm(g, at, &at);
        try_bias(g, at, &at);
        try_sum(g, at, &at);
        if (!try_gelu(g, at))
            try_activation(g, at, &at);
    }
}
