/*
 * Programs of a oneDNN group: for one thread count and one set of input
 * shapes, one plan per step built for the layouts its inputs are kept in
 * (values keep the layout the primitive that makes them picks; reorders
 * only where a reader wants another), where every value lives (the
 * caller's tensors for group inputs and for outputs kept dense, else a
 * block of the run's arena, blocks reused once their value is dead), and
 * the reorders that bring blocked group outputs back to dense tensors.
 */
#include "onednn_group.h"

#include <stdlib.h>
#include <string.h>


bool onednn_md_is_dense(const dnnl_memory_desc_t *md)
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

/* A dense descriptor of value v's dims in program p, in its type. */
static ember_status value_dense_md(const onednn_kernel *k, const onednn_group *g,
                                   const group_program *p, int v, dnnl_memory_desc_t *md)
{
    return onednn_md_plain_as(k, md, p->dims[v], p->rank[v], g->values[v].dtype);
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
    if (h->has_md && !onednn_md_is_dense(&h->md) && !dnnl_memory_desc_equal(&h->md, &a->user_md)) {
        /* The plan reads a dense view (it ignored the layout): densify. */
        ONEDNN_TRY(value_dense_md(k, g, p, b->value, &b->dense_md));
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
    bool is_dense = onednn_md_is_dense(&a->md);
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
    ember_status status = value_dense_md(st->k, g, p, b->value, &sp->export_md[a->index]);
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

const onednn_arg *onednn_dst_arg(const onednn_plan *plan)
{
    for (size_t i = 0; i < plan->n_args; i++)
        if (plan->args[i].arg == DNNL_ARG_DST)
            return &plan->args[i];
    return NULL;
}

static bool same_bytes(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    return (onednn_md_is_dense(a) && onednn_md_is_dense(b) &&
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
    const onednn_arg *dst = onednn_dst_arg(sp->plan);
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
    if (!hu->has_md || onednn_md_is_dense(&hu->md)) {
        ONEDNN_TRY(value_dense_md(st->k, g, p, u, &dense));
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

static void note_scratch_bytes(group_program *p, size_t bytes)
{
    if (bytes > p->scratch_bytes)
        p->scratch_bytes = bytes;
}

static void note_scratch(group_program *p, const_dnnl_primitive_t prim)
{
    note_scratch_bytes(p, onednn_scratch_bytes(prim));
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
        if (p->homes[v].has_md && !onednn_md_is_dense(&p->homes[v].md))
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
    if (st->k->finish != NULL && (sp->plan->n_outputs > 1 || !onednn_md_is_dense(&onednn_dst_arg(sp->plan)->md)))
        return st->k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                                 "node '%s' (%s): runs alone (it finishes on dense outputs)",
                                 st->k->name, st->k->op);
    note_scratch_bytes(p, onednn_plan_scratch_bytes(sp->plan));
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
        if (!onednn_step_runs(st))
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

void onednn_program_free(const onednn_group *g, group_program *p)
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

bool onednn_program_has_key(const group_program *p, const int64_t *key, size_t n_key)
{
    return p->n_key == n_key && memcmp(p->key, key, n_key * sizeof *key) == 0;
}

/* Builds the program for `key` (see group_program). */
ember_status onednn_program_build(const onednn_group *g, const int64_t *key, size_t n_key,
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
        onednn_program_free(g, p);
        free(last_use);
        return k0->host->fail(EMBER_E_OUT_OF_MEMORY, "oneDNN provider: out of memory");
    }
    memcpy(p->key, key, n_key * sizeof *key);
    p->n_key = n_key;
    p->n_threads = (size_t)key[0];
    for (size_t v = 0, at = 1; v < g->n_values; v++) {
        p->homes[v].block = -1;
        if (g->values[v].data != NULL) { /* a constant of the group's own: static */
            p->rank[v] = (size_t)g->values[v].rank;
            memcpy(p->dims[v], g->values[v].dims, p->rank[v] * sizeof p->dims[v][0]);
        }
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
        if (onednn_step_runs(&g->steps[s]))
            status = build_step(g, p, s, last_use);
    free(last_use);
    if (status != EMBER_OK) {
        onednn_program_free(g, p);
        return status;
    }
    place_blocks(p);
    *out = p;
    return EMBER_OK;
}
