/*
 * RNN, GRU and LSTM (every opset), part of the rnn family. Gate orders:
 * GRU z,r,h; LSTM i,o,f,c (peepholes i,o,f). Directions forward, reverse
 * and bidirectional; layout 0 (X [S,B,I], Y [S,D,B,H], Y_h [D,B,H]) or 1
 * (X [B,S,I], Y [B,S,D,H], Y_h [B,D,H]); clip, input_forget,
 * linear_before_reset, the activations list with activation_alpha/beta;
 * sequence_lens: steps past a batch entry's length give Y = 0 and keep its
 * state.
 */
#include "kernels_rnn.h"

#include <cblas.h>
#include <math.h>

enum { REC_RNN, REC_GRU, REC_LSTM };
enum {
    ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_AFFINE, ACT_LEAKYRELU, ACT_THRESHOLDEDRELU,
    ACT_SCALEDTANH, ACT_HARDSIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS
};

typedef struct rec_act {
    int kind;
    double alpha, beta;
} rec_act;

typedef struct rec_params {
    int cell;
    size_t gates, n_acts; /* activations per direction */
    int64_t hidden, layout, directions;
    bool reverse, input_forget, linear_before_reset, has_clip;
    double clip;
    rec_act acts[6]; /* [direction][n_acts] */
    bool want[3];
} rec_params;

static double rec_apply(const rec_act *a, double x)
{
    switch (a->kind) {
    case ACT_RELU: return x > 0 ? x : 0;
    case ACT_TANH: return tanh(x);
    case ACT_SIGMOID: return rnn_sigmoid(x);
    case ACT_AFFINE: return a->alpha * x + a->beta;
    case ACT_LEAKYRELU: return x >= 0 ? x : a->alpha * x;
    case ACT_THRESHOLDEDRELU: return x > a->alpha ? x : 0;
    case ACT_SCALEDTANH: return a->alpha * tanh(a->beta * x);
    case ACT_HARDSIGMOID: {
        double v = a->alpha * x + a->beta;
        return v < 0 ? 0 : (v > 1 ? 1 : v);
    }
    case ACT_ELU: return x >= 0 ? x : a->alpha * (exp(x) - 1);
    case ACT_SOFTSIGN: return x / (1 + fabs(x));
    default: return log1p(exp(x));
    }
}

typedef struct rec_act_name {
    const char *name;
    int kind;
    int n_params; /* 0, 1 (alpha) or 2 (alpha, beta) */
    double alpha, beta;
} rec_act_name;

static const rec_act_name rec_act_names[] = {
    {"relu", ACT_RELU, 0, 0, 0},
    {"tanh", ACT_TANH, 0, 0, 0},
    {"sigmoid", ACT_SIGMOID, 0, 0, 0},
    {"affine", ACT_AFFINE, 2, 1.0, 0.0},
    {"leakyrelu", ACT_LEAKYRELU, 1, 0.01, 0},
    {"thresholdedrelu", ACT_THRESHOLDEDRELU, 1, 1.0, 0},
    {"scaledtanh", ACT_SCALEDTANH, 2, 1.0, 1.0},
    {"hardsigmoid", ACT_HARDSIGMOID, 2, 0.2, 0.5},
    {"elu", ACT_ELU, 1, 1.0, 0},
    {"softsign", ACT_SOFTSIGN, 0, 0, 0},
    {"softplus", ACT_SOFTPLUS, 0, 0, 0},
};

static const rec_act_name *rec_find_act(const ember_string *s)
{
    for (size_t i = 0; i < sizeof rec_act_names / sizeof rec_act_names[0]; i++) {
        const char *n = rec_act_names[i].name;
        if (strlen(n) != s->size)
            continue;
        size_t c = 0;
        while (c < s->size && (s->data[c] | 0x20) == n[c])
            c++;
        if (c == s->size)
            return &rec_act_names[i];
    }
    return NULL;
}

/* Decodes activations / activation_alpha / activation_beta. */
static ember_status rec_decode_acts(cpu_kernel *k, const ember_node *node, rec_params *p)
{
    static const int dflt[3][3] = {
        {ACT_TANH}, {ACT_SIGMOID, ACT_TANH}, {ACT_SIGMOID, ACT_TANH, ACT_TANH}};
    size_t need = p->n_acts * (size_t)p->directions;
    for (size_t i = 0; i < need; i++)
        p->acts[i] = (rec_act){dflt[p->cell][i % p->n_acts], 0, 0};
    ember_attr names, alpha, beta;
    if (!k->host->node_attr(node, "activations", &names))
        return EMBER_OK;
    bool has_a = k->host->node_attr(node, "activation_alpha", &alpha);
    bool has_b = k->host->node_attr(node, "activation_beta", &beta);
    size_t ia = 0, ib = 0;
    if (names.type != EMBER_ATTR_STRINGS || names.n < p->n_acts)
        goto bad;
    for (size_t i = 0; i < need; i++) {
        /* one direction's list may serve both */
        const rec_act_name *a = rec_find_act(&names.strings[i % names.n]);
        if (a == NULL)
            goto bad;
        rec_act act = {a->kind, a->alpha, a->beta};
        if (a->n_params >= 1 && has_a && alpha.type == EMBER_ATTR_FLOATS && ia < alpha.n)
            act.alpha = alpha.floats[ia++];
        if (a->n_params >= 2 && has_b && beta.type == EMBER_ATTR_FLOATS && ib < beta.n)
            act.beta = beta.floats[ib++];
        p->acts[i] = act;
    }
    return EMBER_OK;
bad:
    return k->host->fail(EMBER_E_INVALID_MODEL,
                         "node '%s' (%s): attribute 'activations' is invalid", k->name, k->op);
}

/* One recurrent layer's inputs and state, as doubles. */
typedef struct rec_job {
    const rec_params *p;
    size_t S, Bt, In, H, D, G;
    const double *x, *w, *r, *bias, *seq, *h0, *c0, *peep;
    double *y, *yh, *yc; /* [S,D,Bt,H], [D,Bt,H], [D,Bt,H] */
    double *xw;          /* [D, S*Bt rows of X, G*H]: X W^T + Wb */
    double *gh;          /* G*H scratch */
    double *tmp;         /* 3*H scratch (GRU) */
} rec_job;

static double rec_clip(const rec_params *p, double v)
{
    if (!p->has_clip)
        return v;
    return v < -p->clip ? -p->clip : (v > p->clip ? p->clip : v);
}

/* out[g] = sum_i m[g][i] * v[i] + b[g] for g < rows (b may be NULL). */
static void rec_matvec(const double *m, const double *v, const double *b, size_t rows,
                       size_t cols, double *out)
{
    for (size_t g = 0; g < rows; g++) {
        double acc = b ? b[g] : 0.0;
        for (size_t i = 0; i < cols; i++)
            acc += m[g * cols + i] * v[i];
        out[g] = acc;
    }
}

/* One time step of direction d for one batch entry: updates h (and c);
 * gx is the step's input projection x W^T + Wb. */
static void rec_step(const rec_job *j, size_t d, const double *gx, double *h, double *c)
{
    const rec_params *p = j->p;
    size_t H = j->H, GH = j->G * H;
    const rec_act *act = p->acts + d * p->n_acts;
    const double *wb = j->bias ? j->bias + d * 2 * GH : NULL;
    const double *rb = wb ? wb + GH : NULL;
    const double *R = j->r + d * GH * H;
    rec_matvec(R, h, rb, GH, H, j->gh);
    double *gh = j->gh;
    if (p->cell == REC_RNN) {
        for (size_t u = 0; u < H; u++)
            h[u] = rec_apply(&act[0], rec_clip(p, gx[u] + gh[u]));
    } else if (p->cell == REC_GRU) {
        double *z = j->tmp, *rh = z + H, *hn = rh + H;
        for (size_t u = 0; u < H; u++) {
            z[u] = rec_apply(&act[0], rec_clip(p, gx[u] + gh[u]));
            double r = rec_apply(&act[0], rec_clip(p, gx[H + u] + gh[H + u]));
            rh[u] = r * h[u];
            hn[u] = r; /* keep r for linear_before_reset */
        }
        for (size_t u = 0; u < H; u++) {
            double lin;
            if (p->linear_before_reset) {
                lin = hn[u] * gh[2 * H + u];
            } else {
                lin = rb ? rb[2 * H + u] : 0.0;
                for (size_t v = 0; v < H; v++)
                    lin += R[(2 * H + u) * H + v] * rh[v];
            }
            hn[u] = rec_apply(&act[1], rec_clip(p, gx[2 * H + u] + lin));
        }
        for (size_t u = 0; u < H; u++)
            h[u] = (1 - z[u]) * hn[u] + z[u] * h[u];
    } else {
        const double *P = j->peep ? j->peep + d * 3 * H : NULL;
        for (size_t u = 0; u < H; u++) {
            double i = rec_apply(&act[0], rec_clip(p, gx[u] + gh[u] + (P ? P[u] * c[u] : 0)));
            double f = p->input_forget
                           ? 1 - i
                           : rec_apply(&act[0], rec_clip(p, gx[2 * H + u] + gh[2 * H + u] +
                                                                (P ? P[2 * H + u] * c[u] : 0)));
            double ct = rec_apply(&act[1], rec_clip(p, gx[3 * H + u] + gh[3 * H + u]));
            c[u] = f * c[u] + i * ct;
            double o = rec_apply(&act[0], rec_clip(p, gx[H + u] + gh[H + u] +
                                                          (P ? P[H + u] * c[u] : 0)));
            h[u] = o * rec_apply(&act[2], c[u]);
        }
    }
}

/* xw[d] = X W[d]^T + Wb[d] for every row of X at once. */
static void rec_project(rec_job *j)
{
    size_t rows = j->S * j->Bt, GH = j->G * j->H;
    for (size_t d = 0; d < j->D; d++) {
        double *out = j->xw + d * rows * GH;
        for (size_t r = 0; j->bias != NULL && r < rows; r++)
            memcpy(out + r * GH, j->bias + d * 2 * GH, GH * sizeof(double));
        if (rows > 0 && GH > 0 && j->In > 0)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)rows, (blasint)GH,
                        (blasint)j->In, 1.0, j->x, (blasint)j->In, j->w + d * GH * j->In,
                        (blasint)j->In, j->bias != NULL ? 1.0 : 0.0, out, (blasint)GH);
    }
}

/* Runs direction d over every batch entry. */
static void rec_direction(const rec_job *j, size_t d)
{
    const rec_params *p = j->p;
    bool rev = p->reverse || d == 1;
    size_t H = j->H;
    for (size_t b = 0; b < j->Bt; b++) {
        double *h = j->yh + (d * j->Bt + b) * H, *c = j->yc + (d * j->Bt + b) * H;
        size_t hoff = p->layout ? (b * j->D + d) * H : (d * j->Bt + b) * H;
        for (size_t u = 0; u < H; u++) {
            h[u] = j->h0 ? j->h0[hoff + u] : 0.0;
            c[u] = j->c0 ? j->c0[hoff + u] : 0.0;
        }
        size_t len = j->S;
        if (j->seq && j->seq[b] >= 0 && j->seq[b] < (double)j->S)
            len = (size_t)j->seq[b];
        for (size_t n = 0; n < len; n++) {
            size_t t = rev ? len - 1 - n : n;
            size_t row = p->layout ? b * j->S + t : t * j->Bt + b;
            rec_step(j, d, j->xw + (d * j->S * j->Bt + row) * j->G * H, h, c);
            memcpy(j->y + ((t * j->D + d) * j->Bt + b) * H, h, H * sizeof(double));
        }
    }
}

static ember_status rec_check(const cpu_kernel *k, const ember_tensor *const *in, rec_job *j)
{
    const rec_params *p = k->params;
    const ember_tensor *x = in[0], *w = in[1], *r = in[2];
    if (x->rank != 3)
        return cpu_fail_shape(k, 0, x, "X must be 3-D");
    j->S = (size_t)x->dims[p->layout ? 1 : 0];
    j->Bt = (size_t)x->dims[p->layout ? 0 : 1];
    j->In = (size_t)x->dims[2];
    j->H = (size_t)p->hidden;
    j->D = (size_t)p->directions;
    j->G = p->gates;
    size_t GH = j->G * j->H;
    if (w->rank != 3 || (size_t)w->dims[0] != j->D || (size_t)w->dims[1] != GH ||
        (size_t)w->dims[2] != j->In)
        return cpu_fail_shape(k, 1, w, "W must be [directions, gates*hidden, input]");
    if (r->rank != 3 || (size_t)r->dims[0] != j->D || (size_t)r->dims[1] != GH ||
        (size_t)r->dims[2] != j->H)
        return cpu_fail_shape(k, 2, r, "R must be [directions, gates*hidden, hidden]");
    size_t want[8] = {0, 0, 0, j->D * 2 * GH, j->Bt, j->D * j->Bt * j->H, j->D * j->Bt * j->H,
                      j->D * 3 * j->H};
    for (size_t i = 3; i < 8; i++)
        if (in[i] != NULL && cpu_tensor_numel(in[i]) != want[i])
            return cpu_fail_shape(k, i, in[i], "size does not match the layer");
    return EMBER_OK;
}

static ember_status rec_outputs(const cpu_kernel *k, ember_kernel_context *ctx, rec_job *j,
                                uint32_t dtype)
{
    const rec_params *p = k->params;
    size_t S = j->S, D = j->D, Bt = j->Bt, H = j->H;
    ember_status s = EMBER_OK;
    if (p->layout) {
        double *t;
        s = cpu_rnn_alloc(ctx, k, S * D * Bt * H + 2 * D * Bt * H, &t);
        if (s != EMBER_OK)
            return s;
        double *th = t + S * D * Bt * H, *tc = th + D * Bt * H;
        for (size_t st = 0; st < S; st++)
            for (size_t d = 0; d < D; d++)
                for (size_t b = 0; b < Bt; b++)
                    memcpy(t + ((b * S + st) * D + d) * H, j->y + ((st * D + d) * Bt + b) * H,
                           H * sizeof(double));
        for (size_t d = 0; d < D; d++)
            for (size_t b = 0; b < Bt; b++) {
                memcpy(th + (b * D + d) * H, j->yh + (d * Bt + b) * H, H * sizeof(double));
                memcpy(tc + (b * D + d) * H, j->yc + (d * Bt + b) * H, H * sizeof(double));
            }
        j->y = t;
        j->yh = th;
        j->yc = tc;
    }
    int64_t yd[4] = {(int64_t)S, (int64_t)D, (int64_t)Bt, (int64_t)H};
    int64_t hd[3] = {(int64_t)D, (int64_t)Bt, (int64_t)H};
    if (p->layout) {
        int64_t y1[4] = {(int64_t)Bt, (int64_t)S, (int64_t)D, (int64_t)H};
        int64_t h1[3] = {(int64_t)Bt, (int64_t)D, (int64_t)H};
        memcpy(yd, y1, sizeof yd);
        memcpy(hd, h1, sizeof hd);
    }
    if (p->want[0])
        s = cpu_rnn_store(k, ctx, 0, dtype, yd, 4, j->y);
    if (s == EMBER_OK && p->want[1])
        s = cpu_rnn_store(k, ctx, 1, dtype, hd, 3, j->yh);
    if (s == EMBER_OK && p->want[2] && p->cell == REC_LSTM)
        s = cpu_rnn_store(k, ctx, 2, dtype, hd, 3, j->yc);
    return s;
}

static ember_status rec_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const rec_params *p = k->params;
    const ember_tensor *in[8] = {NULL};
    rec_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    ember_status s = EMBER_OK;
    for (size_t i = 0; i < 8 && s == EMBER_OK; i++) {
        if (i < 3)
            s = cpu_input(k, ctx, i, &in[i]);
        else if (i < 6 || p->cell == REC_LSTM)
            in[i] = cpu_opt_input(k, ctx, i);
        if (s == EMBER_OK && in[i] != NULL && i != 4)
            s = cpu_rnn_check_float_input(k, i, in[i]);
    }
    if (s == EMBER_OK)
        s = rec_check(k, in, &j);
    double *buf[8] = {NULL};
    for (size_t i = 0; i < 8 && s == EMBER_OK; i++)
        if (in[i] != NULL)
            s = cpu_rnn_load(ctx, k, in[i], &buf[i]);
    size_t GH = j.G * j.H, state = j.D * j.Bt * j.H;
    double *work = NULL;
    if (s == EMBER_OK)
        s = cpu_rnn_alloc(ctx, k, j.S * state + 2 * state + GH + 3 * j.H, &work);
    if (s == EMBER_OK)
        s = cpu_rnn_alloc(ctx, k, j.D * j.S * j.Bt * GH, &j.xw);
    if (s != EMBER_OK)
        return s;
    j.x = buf[0];
    j.w = buf[1];
    j.r = buf[2];
    j.bias = buf[3];
    j.seq = buf[4];
    j.h0 = buf[5];
    j.c0 = buf[6];
    j.peep = buf[7];
    j.y = work;
    j.yh = work + j.S * state;
    j.yc = j.yh + state;
    j.gh = j.yc + state;
    j.tmp = j.gh + GH;
    rec_project(&j);
    for (size_t d = 0; d < j.D; d++)
        rec_direction(&j, d);
    return rec_outputs(k, ctx, &j, in[0]->dtype);
}

ember_status cpu_rec_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(rec_params));
    if (s != EMBER_OK)
        return s;
    rec_params *p = k->params;
    const char *op = k->op;
    p->cell = strcmp(op, "RNN") == 0 ? REC_RNN : (strcmp(op, "GRU") == 0 ? REC_GRU : REC_LSTM);
    p->gates = p->cell == REC_RNN ? 1 : (p->cell == REC_GRU ? 3 : 4);
    p->n_acts = p->gates == 4 ? 3 : p->gates == 3 ? 2 : 1;
    char dir[32];
    int64_t ifg = 0, lbr = 0;
    float clip = 0;
    s = cpu_attr_int(k, node, "hidden_size", 0, &p->hidden);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "layout", 0, &p->layout);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "input_forget", 0, &ifg);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "linear_before_reset", 0, &lbr);
    if (s == EMBER_OK)
        s = cpu_attr_string(k, node, "direction", "forward", dir, sizeof dir);
    p->has_clip = cpu_attr_has(k, node, "clip");
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "clip", 0.0f, &clip);
    if (s != EMBER_OK)
        return s;
    p->clip = clip;
    p->input_forget = ifg != 0;
    p->linear_before_reset = lbr != 0;
    p->reverse = strcmp(dir, "reverse") == 0;
    p->directions = strcmp(dir, "bidirectional") == 0 ? 2 : 1;
    if ((!p->reverse && p->directions == 1 && strcmp(dir, "forward") != 0) || p->hidden <= 0 ||
        (p->layout != 0 && p->layout != 1))
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute direction, hidden_size or layout is "
                             "invalid",
                             k->name, k->op);
    for (size_t i = 0; i < 3; i++)
        p->want[i] = cpu_rnn_wants_output(k->host, node, i);
    k->run = NULL;
    s = rec_decode_acts(k, node, p);
    k->run = rec_run;
    return s;
}
