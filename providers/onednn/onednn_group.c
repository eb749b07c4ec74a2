/*
 * Groups (ABI 1.1): a run of consecutive nodes this provider claimed runs
 * as one kernel, which is what lets tensors stay in oneDNN's blocked
 * layouts between nodes and activations fuse into the primitive before
 * them.
 *
 * At group_create the group is turned into steps:
 *   - every member gets its ordinary kernel (attributes decoded);
 *   - fusion: a Conv/ConvTranspose/MatMul/Gemm (or Add/Sub/Mul/Div) whose
 *     only reader is an eltwise activation, or a Mul or Div by a constant
 *     scalar, takes it as a post-op; one whose only reader is
 *     an Add of two same-shaped tensors takes the Add as a sum post-op (the
 *     other operand is put in the destination first, or the destination
 *     simply is its buffer when that operand dies there), and an
 *     activation after that Add too. The fused primitive runs at the
 *     position of the last node it absorbed. The GELU PyTorch exports,
 *     x * 0.5 * (1 + Erf(x / sqrt 2)) in five nodes, becomes a gelu_erf
 *     post-op of the primitive that makes x (a MatMul, or the Add of its
 *     bias). A MatMul followed by the Add of a constant [N] bias takes it
 *     as a post-op too, and then a residual Add as a sum, like a Conv.
 * A program (per thread count, built on first use and cached) then holds
 * one plan per step, built for the layouts its inputs are kept in, and
 * says where every value lives: the caller's tensors for group inputs and
 * for outputs kept dense, else a block of one arena. Arenas are kept
 * between runs (one per run in flight): fresh memory at every run would
 * cost page faults worth several percent of a ResNet-50 run. Blocks are reused once their value is dead.
 * Group outputs kept in a blocked layout are reordered into the caller's
 * dense tensor right after they are made.
 *
 * A group whose shapes are not all static, or that oneDNN will not build,
 * is declined (*out = NULL) and its nodes run one by one.
 */
#include "onednn_kernel.h"

#include <stdlib.h>
#include <string.h>

/* A value as the graph types it: rank -1 and dims -1 where unknown. */
typedef struct group_value {
    int64_t id;
    int input;  /* index among the group's inputs, or -1 */
    int output; /* index among the group's outputs, or -1 */
    int rank;
    int64_t dims[ONEDNN_MAX_RANK];
} group_value;

/* One primitive run: a member's kernel, reading in_value[] and writing
 * out_value[] (indices into values; -1 = absent), after copying sum_value
 * into the destination when it fused an Add (-2: the step does not run,
 * its node was fused into a later one). `in` holds which inputs are
 * present and the constants' data; a program fills in the shapes. */
typedef struct group_step {
    onednn_kernel *k;
    onednn_shapes in;
    int in_value[ONEDNN_MAX_IO];
    int out_value[ONEDNN_MAX_IO];
    int sum_value;
} group_step;

/* Where a value lives during a run of one program. */
typedef struct value_home {
    bool has_md;
    dnnl_memory_desc_t md; /* the layout it is kept in */
    int block;             /* arena block, or -1 (the caller's tensor) */
} value_home;

/* How one plan argument is bound: the value's memory seen as `view`
 * (first made dense in dense_block by `densify` when the value is kept
 * blocked but the plan reads a dense view of it), converted by `convert`
 * into temp_block when set. */
typedef struct arg_binding {
    int value;                 /* -1: a constant the plan owns */
    dnnl_primitive_t densify;  /* owned */
    dnnl_memory_desc_t dense_md;
    int dense_block;
    dnnl_memory_desc_t view;
    dnnl_primitive_t convert;  /* view -> plan md; the plan's own reorder */
    int temp_block;
} arg_binding;

typedef struct step_program {
    onednn_plan *plan;
    arg_binding args[ONEDNN_MAX_ARGS];
    dnnl_primitive_t sum_convert; /* sum operand -> dst layout, or NULL (memcpy) */
    dnnl_memory_desc_t sum_view;
    bool sum_in_place;            /* dst already is the operand's block */
    dnnl_primitive_t export_convert[ONEDNN_MAX_IO]; /* blocked output -> caller's tensor */
    dnnl_memory_desc_t export_md[ONEDNN_MAX_IO];
} step_program;

typedef struct block {
    size_t bytes, offset;
    int first, last; /* steps during which it is live */
} block;

/* Everything built for one thread count and one set of input shapes
 * (the key: thread count, then each group input's rank and dims). */
typedef struct group_program {
    struct group_program *next;
    size_t n_threads;
    size_t n_key;
    int64_t *key;
    size_t *rank;                      /* per value, as this program computes it */
    int64_t (*dims)[ONEDNN_MAX_RANK];
    step_program *steps;
    value_home *homes;
    block *blocks;
    size_t n_blocks, cap_blocks;
    size_t arena_bytes, scratch_offset, scratch_bytes;
} group_program;

/* A run's memory, kept for the next run once this one is done. */
typedef struct arena {
    struct arena *next;
    size_t bytes;
    void *base;
} arena;

struct onednn_group {
    size_t n_values, n_steps, n_inputs, n_outputs;
    group_value *values;
    group_step *steps;
    /* Both guarded by the group kernel's lock after create. */
    group_program *programs;
    arena *free_arenas;
};

/* ---- values -------------------------------------------------------------- */

static int value_index(const onednn_group *g, int64_t id)
{
    for (size_t i = 0; i < g->n_values; i++)
        if (g->values[i].id == id)
            return (int)i;
    return -1;
}

/* The value for `id`, added when new; -1 when it is not float32. */
static int add_value(onednn_group *g, int64_t id, const ember_type_info *type)
{
    int found = value_index(g, id);
    if (found >= 0)
        return found;
    if (type->dtype != EMBER_DTYPE_FLOAT32 || type->rank > ONEDNN_MAX_RANK)
        return -1;
    group_value *v = &g->values[g->n_values];
    *v = (group_value){id, -1, -1, type->rank, {0}};
    for (int d = 0; d < type->rank; d++)
        v->dims[d] = type->dims[d];
    return (int)g->n_values++;
}

static bool map_member(const ember_host_api *host, onednn_group *g, const ember_node *node,
                       group_step *step)
{
    ember_type_info type;
    size_t n_in = host->node_input_count(node), n_out = host->node_output_count(node);
    if (n_in > ONEDNN_MAX_IO || n_out > ONEDNN_MAX_IO)
        return false;
    for (size_t i = 0; i < ONEDNN_MAX_IO; i++)
        step->in_value[i] = step->out_value[i] = -1;
    step->in.n = n_in;
    for (size_t i = 0; i < n_in; i++) {
        if (!(step->in.present[i] = host->node_input_present(node, i)))
            continue;
        if (!host->node_input_type(node, i, &type) ||
            (step->in_value[i] = add_value(g, host->node_input_value(node, i), &type)) < 0)
            return false;
        const ember_tensor *c = host->node_input_constant(node, i);
        step->in.data[i] = c != NULL ? c->data : NULL;
        if (c == NULL && ((step->k->value_mask >> i) & 1u))
            return false; /* a bound baked into the primitive must be constant */
    }
    for (size_t i = 0; i < n_out; i++) {
        if (!host->node_output_type(node, i, &type))
            continue; /* an output nobody reads */
        if ((step->out_value[i] = add_value(g, host->node_output_value(node, i), &type)) < 0)
            return false;
    }
    step->sum_value = -1;
    return true;
}

/* ---- fusion ---------------------------------------------------------------- */

static bool step_runs(const group_step *s)
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
        for (size_t i = 0; step_runs(st) && i < ONEDNN_MAX_IO; i++) {
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
    retire(a);
    return to;
}

/* Whether st is a binary op of value v and a constant float scalar *c
 * (v_first: v is its first operand). */
static bool scalar_operand(const onednn_group *g, const group_step *st, int v, float *c,
                           bool *v_first)
{
    if (!step_runs(st) || st->in.n != 2)
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
        for (size_t i = 0; step_runs(st) && i < ONEDNN_MAX_IO; i++)
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

static void fuse(onednn_group *g)
{
    for (size_t i = 0; i < g->n_steps; i++) {
        if (g->steps[i].sum_value == -2 || !takes_post_ops(&g->steps[i]))
            continue;
        size_t at = i;
        try_bias(g, at, &at);
        try_sum(g, at, &at);
        if (!try_gelu(g, at))
            try_activation(g, at, &at);
    }
}

/* ---- building ---------------------------------------------------------------- */

static void group_free(onednn_group *g);

static ember_status describe(ember_provider *self, const ember_group *group, onednn_group *g,
                             bool *ok)
{
    const ember_host_api *host = self->host;
    *ok = false;
    for (size_t m = 0; m < g->n_steps; m++) {
        const ember_node *node = host->group_node(group, m);
        group_step *st = &g->steps[m];
        ember_status s = onednn_kernel_new(self, node, &st->k);
        if (s != EMBER_OK)
            return s;
        if (!map_member(host, g, node, st))
            return EMBER_OK;
    }
    for (size_t i = 0; i < g->n_inputs; i++) {
        int v = value_index(g, host->group_input_value(group, i));
        if (v >= 0)
            g->values[v].input = (int)i;
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        int v = value_index(g, host->group_output_value(group, i));
        if (v < 0)
            return EMBER_OK; /* not a float32 tensor of static shape */
        g->values[v].output = (int)i;
    }
    *ok = true;
    return EMBER_OK;
}

static ember_status group_new(ember_provider *self, const ember_group *group,
                              onednn_group **out)
{
    const ember_host_api *host = self->host;
    size_t n = host->group_node_count(group);
    onednn_group *g = calloc(1, sizeof *g);
    if (g != NULL) {
        g->values = calloc(n * 2 * ONEDNN_MAX_IO + 1, sizeof *g->values);
        g->steps = calloc(n, sizeof *g->steps);
    }
    if (g == NULL || g->values == NULL || g->steps == NULL) {
        group_free(g);
        return host->fail(EMBER_E_OUT_OF_MEMORY, "oneDNN provider: out of memory for a group");
    }
    g->n_steps = n;
    g->n_inputs = host->group_input_count(group);
    g->n_outputs = host->group_output_count(group);
    *out = g;
    return EMBER_OK;
}

/* ---- programs ------------------------------------------------------------------ */

static bool md_is_dense(const dnnl_memory_desc_t *md)
{
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (md->format_kind != dnnl_blocked || b->inner_nblks != 0 || md->offset0 != 0)
        return false;
    int64_t stride = 1;
    for (int i = md->ndims - 1; i >= 0; i--) {
        if (md->padded_dims[i] != md->dims[i] || (md->dims[i] != 1 && b->strides[i] != stride))
            return false;
        stride *= md->dims[i];
    }
    return true;
}

static ember_status add_block(const onednn_kernel *k, group_program *p, size_t bytes, int step,
                              int *out)
{
    if (p->n_blocks == p->cap_blocks) {
        size_t cap = p->cap_blocks ? 2 * p->cap_blocks : 64;
        block *grown = realloc(p->blocks, cap * sizeof *grown);
        if (grown == NULL)
            return k->host->fail(EMBER_E_OUT_OF_MEMORY, "oneDNN provider: out of memory");
        p->blocks = grown;
        p->cap_blocks = cap;
    }
    p->blocks[p->n_blocks] = (block){(bytes + 63) & ~(size_t)63, 0, step, step};
    *out = (int)p->n_blocks++;
    return EMBER_OK;
}

/* A dense descriptor of value v's dims in program p. */
static ember_status value_dense_md(const onednn_kernel *k, const group_program *p, int v,
                                   dnnl_memory_desc_t *md)
{
    return onednn_md_plain(k, md, p->dims[v], p->rank[v]);
}

/* Marks block of value v live at step s. */
static void touch(group_program *p, int v, int s)
{
    int b = p->homes[v].block;
    if (b >= 0 && p->blocks[b].last < s)
        p->blocks[b].last = s;
}

static ember_status bind_input(const onednn_group *g, group_program *p, size_t s,
                               const onednn_arg *a, arg_binding *b)
{
    const group_step *st = &g->steps[s];
    const onednn_kernel *k = st->k;
    const value_home *h = &p->homes[b->value];
    b->temp_block = b->dense_block = -1;
    touch(p, b->value, (int)s);
    if (h->has_md && dnnl_memory_desc_equal(&h->md, &a->md)) {
        b->view = a->md;
        return EMBER_OK;
    }
    if (h->has_md && !md_is_dense(&h->md) && !dnnl_memory_desc_equal(&h->md, &a->user_md)) {
        /* The plan reads a dense view (it ignored the layout): densify. */
        ONEDNN_TRY(value_dense_md(k, p, b->value, &b->dense_md));
        ONEDNN_TRY(onednn_reorder_create(k, &h->md, &b->dense_md, &b->densify));
        ONEDNN_TRY(add_block(k, p, dnnl_memory_desc_get_size(&b->dense_md), (int)s,
                             &b->dense_block));
    }
    /* As the plan expects: its view, then its own reorder if it has one. */
    b->view = a->user_md;
    b->convert = a->reorder;
    if (b->convert != NULL)
        return add_block(k, p, dnnl_memory_desc_get_size(&a->md), (int)s, &b->temp_block);
    return EMBER_OK;
}

/* Output j of step s: kept as the primitive writes it. */
static ember_status bind_output(const onednn_group *g, group_program *p, size_t s,
                                const onednn_arg *a, arg_binding *b)
{
    const group_step *st = &g->steps[s];
    const group_value *v = &g->values[b->value];
    value_home *h = &p->homes[b->value];
    bool is_dense = md_is_dense(&a->md);
    b->view = a->md;
    b->temp_block = -1;
    h->has_md = true;
    h->md = a->md;
    if (v->output >= 0 && is_dense)
        return EMBER_OK; /* straight into the caller's tensor */
    if (h->block < 0)
        ONEDNN_TRY(add_block(st->k, p, dnnl_memory_desc_get_size(&a->md), (int)s,
                                   &h->block));
    if (v->output < 0)
        return EMBER_OK;
    step_program *sp = &p->steps[s];
    ember_status status = value_dense_md(st->k, p, b->value, &sp->export_md[a->index]);
    if (status == EMBER_OK)
        status = onednn_reorder_create(st->k, &a->md, &sp->export_md[a->index],
                                       &sp->export_convert[a->index]);
    return status;
}

/* An output the graph leaves unnamed still needs somewhere to go. */
static ember_status bind_unused(const onednn_kernel *k, group_program *p, size_t s,
                                const onednn_arg *a, arg_binding *b)
{
    b->view = a->md;
    b->temp_block = -1;
    return add_block(k, p, dnnl_memory_desc_get_size(&a->md), (int)s, &b->temp_block);
}

static const onednn_arg *dst_arg(const onednn_plan *plan)
{
    for (size_t i = 0; i < plan->n_args; i++)
        if (plan->args[i].arg == DNNL_ARG_DST)
            return &plan->args[i];
    return NULL;
}

static bool same_bytes(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    return (md_is_dense(a) && md_is_dense(b) &&
            dnnl_memory_desc_get_size(a) == dnnl_memory_desc_get_size(b)) ||
           dnnl_memory_desc_equal(a, b);
}

/* The Add's other operand goes into the destination before the primitive
 * adds to it: the destination is that operand's block when the operand
 * dies here, else it is copied (or converted) in. */
static ember_status plan_sum(const onednn_group *g, group_program *p, size_t s,
                             const int *last_use)
{
    const group_step *st = &g->steps[s];
    step_program *sp = &p->steps[s];
    const onednn_arg *dst = dst_arg(sp->plan);
    int u = st->sum_value, w = st->out_value[0];
    value_home *hu = &p->homes[u];
    const dnnl_memory_desc_t *u_md = &hu->md;
    dnnl_memory_desc_t dense;
    if (dst == NULL)
        return st->k->host->fail(EMBER_E_INTERNAL, "node '%s': a fused sum without destination",
                                 st->k->name);
    touch(p, u, (int)s);
    if (p->rank[u] != p->rank[w] ||
        memcmp(p->dims[u], p->dims[w], p->rank[u] * sizeof p->dims[u][0]) != 0)
        return st->k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                                 "node '%s' (%s): the Add fused into it broadcasts at these "
                                 "shapes; run the session with optimizations disabled",
                                 st->k->name, st->k->op);
    if (!hu->has_md || md_is_dense(&hu->md)) {
        ONEDNN_TRY(value_dense_md(st->k, p, u, &dense));
        u_md = &dense;
    }
    if (same_bytes(u_md, &dst->md)) {
        bool is_read = false; /* the primitive must not read what it overwrites */
        for (size_t i = 0; i < ONEDNN_MAX_IO; i++)
            is_read = is_read || st->in_value[i] == u;
        bool dies_here = last_use[u] == (int)s && hu->block >= 0 && !is_read &&
                         g->values[w].output < 0;
        if (dies_here) {
            p->homes[w].block = hu->block;
            sp->sum_in_place = true;
        }
        return EMBER_OK;
    }
    sp->sum_view = *u_md;
    return onednn_reorder_create(st->k, u_md, &dst->md, &sp->sum_convert);
}

static size_t scratch_of(const_dnnl_primitive_t prim)
{
    const_dnnl_primitive_desc_t pd = NULL;
    if (prim == NULL || dnnl_primitive_get_primitive_desc(prim, &pd) != dnnl_success)
        return 0;
    const dnnl_memory_desc_t *md = onednn_pd_md(pd, dnnl_query_scratchpad_md, 0);
    return md != NULL ? dnnl_memory_desc_get_size(md) : 0;
}

static void note_scratch(group_program *p, const_dnnl_primitive_t prim)
{
    size_t bytes = scratch_of(prim);
    if (bytes > p->scratch_bytes)
        p->scratch_bytes = bytes;
}

static ember_status build_step(const onednn_group *g, group_program *p, size_t s,
                               const int *last_use)
{
    const group_step *st = &g->steps[s];
    step_program *sp = &p->steps[s];
    onednn_shapes in = st->in;
    for (size_t i = 0; i < in.n; i++) {
        int v = st->in_value[i];
        if (v < 0)
            continue;
        in.rank[i] = p->rank[v];
        memcpy(in.dims[i], p->dims[v], p->rank[v] * sizeof p->dims[v][0]);
        if (p->homes[v].has_md && !md_is_dense(&p->homes[v].md))
            in.layout[i] = &p->homes[v].md;
    }
    ONEDNN_TRY(onednn_kernel_build(st->k, &in, p->n_threads, &sp->plan));
    for (size_t j = 0; j < sp->plan->n_outputs && j < ONEDNN_MAX_IO; j++) {
        int v = st->out_value[j];
        if (v < 0)
            continue;
        p->rank[v] = sp->plan->out_rank[j];
        memcpy(p->dims[v], sp->plan->out_dims[j], p->rank[v] * sizeof p->dims[v][0]);
    }
    if (st->k->finish != NULL && (sp->plan->n_outputs > 1 || !md_is_dense(&dst_arg(sp->plan)->md)))
        return st->k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                                 "node '%s' (%s): runs alone (it finishes on dense outputs)",
                                 st->k->name, st->k->op);
    note_scratch(p, sp->plan->prim);
    if (st->sum_value >= 0)
        ONEDNN_TRY(plan_sum(g, p, s, last_use));
    note_scratch(p, sp->sum_convert);
    for (size_t i = 0; i < sp->plan->n_args; i++) {
        const onednn_arg *a = &sp->plan->args[i];
        arg_binding *b = &sp->args[i];
        b->value = -1;
        b->temp_block = -1;
        if (a->from == ONEDNN_FROM_CONST)
            continue;
        if (a->from == ONEDNN_FROM_INPUT) {
            b->value = st->in_value[a->index];
            ONEDNN_TRY(bind_input(g, p, s, a, b));
        } else if ((b->value = st->out_value[a->index]) >= 0) {
            ONEDNN_TRY(bind_output(g, p, s, a, b));
        } else {
            ONEDNN_TRY(bind_unused(st->k, p, s, a, b));
        }
        note_scratch(p, b->convert);
        note_scratch(p, b->densify);
        note_scratch(p, sp->export_convert[a->index]);
    }
    return EMBER_OK;
}

/* Last step reading each value (-1: none). */
static void find_last_uses(const onednn_group *g, int *last_use)
{
    for (size_t v = 0; v < g->n_values; v++)
        last_use[v] = -1;
    for (size_t s = 0; s < g->n_steps; s++) {
        const group_step *st = &g->steps[s];
        if (!step_runs(st))
            continue;
        for (size_t i = 0; i < ONEDNN_MAX_IO; i++)
            if (st->in_value[i] >= 0)
                last_use[st->in_value[i]] = (int)s;
        if (st->sum_value >= 0)
            last_use[st->sum_value] = (int)s;
    }
}

/* First-fit placement of the blocks: two blocks may share bytes when their
 * live step ranges do not meet. */
static void place_blocks(group_program *p)
{
    p->arena_bytes = 0;
    for (size_t i = 0; i < p->n_blocks; i++) {
        block *b = &p->blocks[i];
        size_t offset = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (size_t j = 0; j < i; j++) {
                const block *o = &p->blocks[j];
                bool live_together = o->first <= b->last && b->first <= o->last;
                bool overlap = offset < o->offset + o->bytes && o->offset < offset + b->bytes;
                if (live_together && overlap) {
                    offset = o->offset + o->bytes;
                    moved = true;
                }
            }
        }
        b->offset = offset;
        if (offset + b->bytes > p->arena_bytes)
            p->arena_bytes = offset + b->bytes;
    }
    p->scratch_offset = p->arena_bytes;
    p->arena_bytes += (p->scratch_bytes + 63) & ~(size_t)63;
}

static void program_free(const onednn_group *g, group_program *p)
{
    if (p == NULL)
        return;
    for (size_t s = 0; p->steps != NULL && s < g->n_steps; s++) {
        step_program *sp = &p->steps[s];
        for (size_t i = 0; i < ONEDNN_MAX_ARGS; i++)
            dnnl_primitive_destroy(sp->args[i].densify);
        for (size_t i = 0; i < ONEDNN_MAX_IO; i++)
            dnnl_primitive_destroy(sp->export_convert[i]);
        dnnl_primitive_destroy(sp->sum_convert);
        onednn_plan_destroy(sp->plan);
    }
    free(p->steps);
    free(p->homes);
    free(p->blocks);
    free(p->key);
    free(p->rank);
    free(p->dims);
    free(p);
}

static bool same_key(const group_program *p, const int64_t *key, size_t n_key)
{
    return p->n_key == n_key && memcmp(p->key, key, n_key * sizeof *key) == 0;
}

/* Builds the program for `key` (see group_program). */
static ember_status program_build(const onednn_group *g, const int64_t *key, size_t n_key,
                                  group_program **out)
{
    const onednn_kernel *k0 = g->steps[0].k;
    size_t n = g->n_values + 1;
    group_program *p = calloc(1, sizeof *p);
    int *last_use = calloc(n, sizeof *last_use);
    if (p != NULL) {
        p->steps = calloc(g->n_steps, sizeof *p->steps);
        p->homes = calloc(n, sizeof *p->homes);
        p->key = malloc(n_key * sizeof *p->key);
        p->rank = calloc(n, sizeof *p->rank);
        p->dims = calloc(n, sizeof *p->dims);
    }
    if (p == NULL || last_use == NULL || p->steps == NULL || p->homes == NULL ||
        p->key == NULL || p->rank == NULL || p->dims == NULL) {
        program_free(g, p);
        free(last_use);
        return k0->host->fail(EMBER_E_OUT_OF_MEMORY, "oneDNN provider: out of memory");
    }
    memcpy(p->key, key, n_key * sizeof *key);
    p->n_key = n_key;
    p->n_threads = (size_t)key[0];
    for (size_t v = 0, at = 1; v < g->n_values; v++) {
        p->homes[v].block = -1;
        if (g->values[v].input < 0)
            continue;
        at = 1;
        for (int i = 0; i < g->values[v].input; i++)
            at += 1 + (size_t)key[at];
        p->rank[v] = (size_t)key[at];
        memcpy(p->dims[v], key + at + 1, p->rank[v] * sizeof *key);
    }
    find_last_uses(g, last_use);
    ember_status status = EMBER_OK;
    for (size_t s = 0; s < g->n_steps && status == EMBER_OK; s++)
        if (step_runs(&g->steps[s]))
            status = build_step(g, p, s, last_use);
    free(last_use);
    if (status != EMBER_OK) {
        program_free(g, p);
        return status;
    }
    place_blocks(p);
    *out = p;
    return EMBER_OK;
}

/* ---- running -------------------------------------------------------------------- */

typedef struct group_run {
    const onednn_group *g;
    const group_program *p;
    ember_kernel_context *ctx;
    const ember_tensor **input_list;
    ember_tensor **outputs;
    char *arena;
    arena *held;
    dnnl_stream_t stream;
    dnnl_memory_t scratchpad_mem;
} group_run;

static void *value_data(const group_run *r, int v)
{
    const group_value *value = &r->g->values[v];
    if (value->input >= 0)
        return r->input_list[value->input]->data;
    int b = r->p->homes[v].block;
    if (b >= 0)
        return r->arena + r->p->blocks[b].offset;
    return r->outputs[value->output]->data;
}

static void *block_data(const group_run *r, int b)
{
    return r->arena + r->p->blocks[b].offset;
}

/* Memory objects made for one step, destroyed after it. */
typedef struct step_mems {
    dnnl_memory_t items[4 * ONEDNN_MAX_ARGS + 2 * ONEDNN_MAX_IO + 2];
    size_t n;
} step_mems;

static ember_status memory(const onednn_kernel *k, step_mems *m, const dnnl_memory_desc_t *md,
                           void *data, dnnl_memory_t *out)
{
    ONEDNN_TRY(onednn_check(k, dnnl_memory_create(out, md, k->provider->engine, data),
                            "a memory object"));
    m->items[m->n++] = *out;
    return EMBER_OK;
}

/* Runs prim on the run's stream with the shared scratchpad. */
static ember_status execute(const onednn_kernel *k, const group_run *r,
                            const_dnnl_primitive_t prim, dnnl_exec_arg_t *args, int n_args)
{
    if (r->scratchpad_mem != NULL)
        args[n_args++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, r->scratchpad_mem};
    return onednn_check(k, dnnl_primitive_execute(prim, r->stream, n_args, args), "to run");
}

static ember_status convert(const onednn_kernel *k, const group_run *r,
                            const_dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return execute(k, r, reorder, args, 2);
}

static ember_status bind_args(const group_run *r, size_t s, step_mems *m, dnnl_exec_arg_t *args)
{
    const group_step *st = &r->g->steps[s];
    const step_program *sp = &r->p->steps[s];
    for (size_t i = 0; i < sp->plan->n_args; i++) {
        const onednn_arg *a = &sp->plan->args[i];
        const arg_binding *b = &sp->args[i];
        dnnl_memory_t mem = NULL, temp = NULL;
        if (a->from == ONEDNN_FROM_CONST) {
            args[i] = (dnnl_exec_arg_t){a->arg, a->constant};
            continue;
        }
        if (b->value < 0) {
            ONEDNN_TRY(memory(st->k, m, &b->view, block_data(r, b->temp_block), &mem));
            args[i] = (dnnl_exec_arg_t){a->arg, mem};
            continue;
        }
        void *data = value_data(r, b->value);
        if (b->densify != NULL) {
            dnnl_memory_t kept = NULL, dense = NULL;
            data = block_data(r, b->dense_block);
            ONEDNN_TRY(memory(st->k, m, &r->p->homes[b->value].md, value_data(r, b->value),
                              &kept));
            ONEDNN_TRY(memory(st->k, m, &b->dense_md, data, &dense));
            ONEDNN_TRY(convert(st->k, r, b->densify, kept, dense));
        }
        ONEDNN_TRY(memory(st->k, m, &b->view, data, &mem));
        if (b->convert != NULL) {
            ONEDNN_TRY(memory(st->k, m, &a->md, block_data(r, b->temp_block), &temp));
            ONEDNN_TRY(convert(st->k, r, b->convert, mem, temp));
            mem = temp;
        }
        args[i] = (dnnl_exec_arg_t){a->arg, mem};
    }
    return EMBER_OK;
}

/* Puts the fused Add's other operand into the destination. */
static ember_status preload_sum(const group_run *r, size_t s, step_mems *m)
{
    const group_step *st = &r->g->steps[s];
    const step_program *sp = &r->p->steps[s];
    if (st->sum_value < 0 || sp->sum_in_place)
        return EMBER_OK;
    const onednn_arg *dst = dst_arg(sp->plan);
    void *to = value_data(r, st->out_value[0]), *from = value_data(r, st->sum_value);
    if (sp->sum_convert == NULL) {
        memcpy(to, from, dnnl_memory_desc_get_size(&dst->md));
        return EMBER_OK;
    }
    dnnl_memory_t a = NULL, b = NULL;
    ONEDNN_TRY(memory(st->k, m, &sp->sum_view, from, &a));
    ONEDNN_TRY(memory(st->k, m, &dst->md, to, &b));
    return convert(st->k, r, sp->sum_convert, a, b);
}

/* Group outputs kept blocked go to the caller's dense tensors; a family's
 * finish step runs on dense outputs. */
static ember_status after_step(const group_run *r, size_t s, step_mems *m)
{
    const group_step *st = &r->g->steps[s];
    const step_program *sp = &r->p->steps[s];
    ember_tensor views[ONEDNN_MAX_IO];
    ember_tensor *outs[ONEDNN_MAX_IO] = {0};
    for (size_t j = 0; j < ONEDNN_MAX_IO; j++) {
        int v = st->out_value[j];
        if (v < 0)
            continue;
        if (sp->export_convert[j] != NULL) {
            dnnl_memory_t a = NULL, b = NULL;
            void *dst = r->outputs[r->g->values[v].output]->data;
            ONEDNN_TRY(memory(st->k, m, &r->p->homes[v].md, value_data(r, v), &a));
            ONEDNN_TRY(memory(st->k, m, &sp->export_md[j], dst, &b));
            ONEDNN_TRY(convert(st->k, r, sp->export_convert[j], a, b));
        }
        views[j] = (ember_tensor){value_data(r, v), sp->plan->out_dims[j],
                                  (uint32_t)sp->plan->out_rank[j], EMBER_DTYPE_FLOAT32,
                                  EMBER_DEVICE_CPU, 0};
        outs[j] = &views[j];
    }
    if (st->k->finish != NULL)
        st->k->finish(st->k, sp->plan, outs);
    return EMBER_OK;
}

static ember_status run_step(const group_run *r, size_t s)
{
    const group_step *st = &r->g->steps[s];
    const step_program *sp = &r->p->steps[s];
    step_mems m = {0};
    dnnl_exec_arg_t args[ONEDNN_MAX_ARGS + 1];
    ember_status status = bind_args(r, s, &m, args);
    if (status == EMBER_OK)
        status = preload_sum(r, s, &m);
    if (status == EMBER_OK)
        status = execute(st->k, r, sp->plan->prim, args, (int)sp->plan->n_args);
    if (status == EMBER_OK)
        status = after_step(r, s, &m);
    for (size_t i = 0; i < m.n; i++)
        dnnl_memory_destroy(m.items[i]);
    return status;
}

/* The program for `key`: built on first use, then shared. */
static ember_status find_program(onednn_kernel *gk, const int64_t *key, size_t n_key,
                                 const group_program **out)
{
    onednn_group *g = gk->group;
    ember_status status = EMBER_OK;
    pthread_mutex_lock(&gk->lock);
    group_program *p = g->programs;
    while (p != NULL && !same_key(p, key, n_key))
        p = p->next;
    if (p == NULL && (status = program_build(g, key, n_key, &p)) == EMBER_OK) {
        p->next = g->programs;
        g->programs = p;
    }
    pthread_mutex_unlock(&gk->lock);
    if (status == EMBER_OK)
        *out = p;
    return status;
}

/* The key of this run: thread count, then each input's rank and dims. */
static ember_status run_key(onednn_kernel *gk, group_run *r, int64_t *key, size_t *n_key)
{
    const ember_host_api *host = gk->host;
    size_t n = 0;
    key[n++] = (int64_t)host->ctx_thread_count(r->ctx);
    for (size_t i = 0; i < r->g->n_inputs; i++) {
        const ember_tensor *t = host->ctx_input(r->ctx, i);
        if (t == NULL || t->dtype != EMBER_DTYPE_FLOAT32 || t->rank > ONEDNN_MAX_RANK)
            return host->fail(EMBER_E_INVALID_ARGUMENT,
                              "node '%s' (oneDNN group): input %zu is not a float32 tensor of "
                              "rank <= %d",
                              gk->name, i, ONEDNN_MAX_RANK);
        r->input_list[i] = t;
        key[n++] = t->rank;
        memcpy(key + n, t->dims, t->rank * sizeof *t->dims);
        n += t->rank;
    }
    *n_key = n;
    return EMBER_OK;
}

static ember_status open_values(onednn_kernel *gk, group_run *r)
{
    const ember_host_api *host = gk->host;
    for (size_t v = 0; v < r->g->n_values; v++) {
        const group_value *value = &r->g->values[v];
        if (value->output >= 0)
            ONEDNN_TRY(host->ctx_output(r->ctx, (size_t)value->output, EMBER_DTYPE_FLOAT32,
                                        r->p->dims[v], r->p->rank[v],
                                        &r->outputs[value->output]));
    }
    return EMBER_OK;
}

static ember_status run_all(onednn_kernel *gk, group_run *r)
{
    ONEDNN_TRY(open_values(gk, r));
    if (r->p->scratch_bytes > 0) {
        dnnl_memory_desc_t md;
        dnnl_dims_t dims = {(dnnl_dim_t)r->p->scratch_bytes};
        ONEDNN_TRY(onednn_check(gk, dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_u8, dnnl_a),
                                "the scratchpad descriptor"));
        ONEDNN_TRY(onednn_check(gk,
                                dnnl_memory_create(&r->scratchpad_mem, &md, gk->provider->engine,
                                                   r->arena + r->p->scratch_offset),
                                "the scratchpad"));
    }
    for (size_t s = 0; s < r->g->n_steps; s++)
        if (step_runs(&r->g->steps[s]))
            ONEDNN_TRY(run_step(r, s));
    return onednn_check(gk, dnnl_stream_wait(r->stream), "to finish");
}

/* A free arena of at least `bytes` (64-byte aligned), or a new one. */
static ember_status take_arena(onednn_kernel *gk, size_t bytes, arena **out)
{
    onednn_group *g = gk->group;
    pthread_mutex_lock(&gk->lock);
    arena **at = &g->free_arenas;
    while (*at != NULL && (*at)->bytes < bytes)
        at = &(*at)->next;
    arena *a = *at;
    if (a != NULL)
        *at = a->next;
    pthread_mutex_unlock(&gk->lock);
    if (a == NULL) {
        a = calloc(1, sizeof *a);
        if (a == NULL || posix_memalign(&a->base, 64, bytes ? bytes : 64) != 0) {
            free(a);
            return gk->host->fail(EMBER_E_OUT_OF_MEMORY,
                                  "node '%s' (oneDNN group): out of memory for %zu bytes",
                                  gk->name, bytes);
        }
        a->bytes = bytes;
    }
    *out = a;
    return EMBER_OK;
}

static void give_arena(onednn_kernel *gk, arena *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&gk->lock);
    a->next = gk->group->free_arenas;
    gk->group->free_arenas = a;
    pthread_mutex_unlock(&gk->lock);
}

static size_t key_cap(const onednn_group *g)
{
    return 1 + g->n_inputs * (1 + ONEDNN_MAX_RANK);
}

ember_status onednn_group_run(onednn_kernel *gk, ember_kernel_context *ctx)
{
    const onednn_group *g = gk->group;
    group_run r = {g, NULL, ctx, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t n_key = 0;
    int64_t *key = malloc(key_cap(g) * sizeof *key);
    r.input_list = calloc(g->n_inputs + 1, sizeof *r.input_list);
    r.outputs = calloc(g->n_outputs + 1, sizeof *r.outputs);
    ember_status status = EMBER_OK;
    if (key == NULL || r.input_list == NULL || r.outputs == NULL)
        status = gk->host->fail(EMBER_E_OUT_OF_MEMORY, "oneDNN provider: out of memory");
    if (status == EMBER_OK)
        status = run_key(gk, &r, key, &n_key);
    if (status == EMBER_OK)
        status = find_program(gk, key, n_key, &r.p);
    if (status == EMBER_OK) {
        onednn_set_threads(r.p->n_threads);
        status = onednn_check(gk, dnnl_stream_create(&r.stream, gk->provider->engine,
                                                     dnnl_stream_default_flags),
                              "a stream");
    }
    if (status == EMBER_OK)
        status = take_arena(gk, r.p->arena_bytes, &r.held);
    if (status == EMBER_OK) {
        r.arena = r.held->base;
        status = run_all(gk, &r);
    }
    give_arena(gk, r.held);
    dnnl_memory_destroy(r.scratchpad_mem);
    dnnl_stream_destroy(r.stream);
    free(key);
    free(r.input_list);
    free(r.outputs);
    return status;
}

/* ---- lifecycle --------------------------------------------------------------------- */

static void group_free(onednn_group *g)
{
    if (g == NULL)
        return;
    while (g->programs != NULL) {
        group_program *next = g->programs->next;
        program_free(g, g->programs);
        g->programs = next;
    }
    while (g->free_arenas != NULL) {
        arena *next = g->free_arenas->next;
        free(g->free_arenas->base);
        free(g->free_arenas);
        g->free_arenas = next;
    }
    for (size_t s = 0; g->steps != NULL && s < g->n_steps; s++)
        onednn_kernel_free(g->steps[s].k);
    free(g->steps);
    free(g->values);
    free(g);
}

void onednn_group_destroy(onednn_group *g)
{
    group_free(g);
}

/* The kernel that stands for the group: named after its first node. */
static ember_status group_kernel(ember_provider *self, const ember_group *group, onednn_group *g,
                                 onednn_kernel **out)
{
    const ember_host_api *host = self->host;
    const char *name = host->node_name(host->group_node(group, 0));
    onednn_kernel *k = calloc(1, sizeof *k);
    if (k == NULL || (k->name = strdup(name ? name : "")) == NULL) {
        free(k);
        return host->fail(EMBER_E_OUT_OF_MEMORY, "oneDNN provider: out of memory");
    }
    if (pthread_mutex_init(&k->lock, NULL) != 0) {
        free(k->name);
        free(k);
        return host->fail(EMBER_E_INTERNAL, "oneDNN provider: cannot create a mutex");
    }
    k->has_lock = true;
    k->host = host;
    k->provider = self;
    k->op = "group";
    k->group = g;
    *out = k;
    return EMBER_OK;
}

/* The key of the graph's static input shapes on the provider's thread
 * count; false when some input shape is not static. */
static bool static_key(const onednn_group *g, size_t n_threads, int64_t *key, size_t *n_key)
{
    size_t n = 0;
    key[n++] = (int64_t)n_threads;
    for (size_t i = 0; i < g->n_inputs; i++) {
        const group_value *v = NULL;
        for (size_t j = 0; j < g->n_values && v == NULL; j++)
            if (g->values[j].input == (int)i)
                v = &g->values[j];
        if (v == NULL || v->rank < 0)
            return false;
        key[n++] = v->rank;
        for (int d = 0; d < v->rank; d++)
            if ((key[n++] = v->dims[d]) < 0)
                return false;
    }
    *n_key = n;
    return true;
}

/* With static shapes the program is built now: what oneDNN will not
 * build is then declined, not an error, and the nodes run one by one. */
static bool prebuild(ember_provider *self, onednn_group *g)
{
    size_t n_key = 0;
    int64_t *key = malloc(key_cap(g) * sizeof *key);
    bool ok = key != NULL;
    if (ok && static_key(g, self->n_threads, key, &n_key))
        ok = program_build(g, key, n_key, &g->programs) == EMBER_OK;
    free(key);
    return ok;
}

ember_status onednn_group_create(ember_provider *self, const ember_group *group,
                                 ember_kernel **out)
{
    onednn_group *g = NULL;
    bool ok = false;
    *out = NULL;
    ONEDNN_TRY(group_new(self, group, &g));
    ember_status status = describe(self, group, g, &ok);
    if (status == EMBER_OK && ok) {
        fuse(g);
        ok = prebuild(self, g);
    }
    if (status == EMBER_OK && ok)
        status = group_kernel(self, group, g, out);
    if (status != EMBER_OK || !ok) {
        group_free(g);
        *out = NULL;
    }
    return status;
}
