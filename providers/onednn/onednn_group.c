/*
 * Groups (ABI 1.1): a run of consecutive nodes this provider claimed runs
 * as one kernel, which is what lets tensors stay in oneDNN's blocked
 * layouts between nodes and activations, biases and residual Adds fuse
 * into the primitive before them.
 *
 * At group_create every member gets its ordinary kernel (attributes
 * decoded), the values and steps are described, and fusion rewrites the
 * steps (onednn_group_fuse.c). At run time the group finds or builds the
 * program for the run's thread count and input shapes
 * (onednn_group_program.c), takes an arena (arenas are kept between runs,
 * one per run in flight: fresh memory at every run would cost page
 * faults), and runs the steps on one stream.
 *
 * A group with a value that is not float32 or bfloat16, or whose static
 * shapes oneDNN will not build, is declined (*out = NULL) and its nodes
 * run one by one.
 */
#include "onednn_group.h"

#include <stdlib.h>
#include <string.h>

/* ---- values -------------------------------------------------------------- */

/* The value that is group input i, or NULL. */
static const group_value *input_value(const onednn_group *g, size_t i)
{
    for (size_t v = 0; v < g->n_values; v++)
        if (g->values[v].input == (int)i)
            return &g->values[v];
    return NULL;
}

static int value_index(const onednn_group *g, int64_t id)
{
    for (size_t i = 0; i < g->n_values; i++)
        if (g->values[i].id == id)
            return (int)i;
    return -1;
}

/* The value for `id`, added when new; -1 when it is not float32 or
 * bfloat16. */
static int add_value(onednn_group *g, int64_t id, const ember_type_info *type)
{
    int found = value_index(g, id);
    if (found >= 0)
        return found;
    if ((type->dtype != EMBER_DTYPE_FLOAT32 && type->dtype != EMBER_DTYPE_BFLOAT16) ||
        type->rank > ONEDNN_MAX_RANK)
        return -1;
    group_value *v = &g->values[g->n_values];
    *v = (group_value){id, -1, -1, type->dtype, type->rank, {0}, NULL};
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
        step->in.dtype[i] = type.dtype;
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
        g->cap_values = n * 2 * ONEDNN_MAX_IO + 1;
        g->values = calloc(g->cap_values, sizeof *g->values);
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
    if (value->data != NULL)
        return (void *)value->data;
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

/* Runs `plan` (or, when plan is NULL, the reorder `prim`) on the run's
 * stream with the shared scratchpad. */
static ember_status execute(const onednn_kernel *k, const group_run *r, const onednn_plan *plan,
                            const_dnnl_primitive_t prim, dnnl_exec_arg_t *args, int n_args)
{
    if (r->scratchpad_mem != NULL)
        args[n_args++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, r->scratchpad_mem};
    if (plan != NULL)
        return onednn_plan_run(k, plan, r->stream, args, n_args);
    return onednn_check(k, dnnl_primitive_execute(prim, r->stream, n_args, args), "to run");
}

static ember_status convert(const onednn_kernel *k, const group_run *r,
                            const_dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return execute(k, r, NULL, reorder, args, 2);
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
    const onednn_arg *dst = onednn_dst_arg(sp->plan);
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
                                  (uint32_t)sp->plan->out_rank[j], r->g->values[v].dtype,
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
        status = execute(st->k, r, sp->plan, NULL, args, (int)sp->plan->n_args);
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
    while (p != NULL && !onednn_program_has_key(p, key, n_key))
        p = p->next;
    if (p == NULL && (status = onednn_program_build(g, key, n_key, &p)) == EMBER_OK) {
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
        const group_value *v = input_value(r->g, i);
        if (t == NULL || v == NULL || t->dtype != v->dtype || t->rank > ONEDNN_MAX_RANK)
            return host->fail(EMBER_E_INVALID_ARGUMENT,
                              "node '%s' (oneDNN group): input %zu is not a tensor of the type "
                              "the graph gives it, of rank <= %d",
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
            ONEDNN_TRY(host->ctx_output(r->ctx, (size_t)value->output, value->dtype,
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
        if (onednn_step_runs(&r->g->steps[s]))
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
        onednn_program_free(g, g->programs);
        g->programs = next;
    }
    while (g->free_arenas != NULL) {
        arena *next = g->free_arenas->next;
        free(g->free_arenas->base);
        free(g->free_arenas);
        g->free_arenas = next;
    }
    for (size_t s = 0; g->steps != NULL && s < g->n_steps; s++) {
        onednn_kernel_free(g->steps[s].k);
        free(g->steps[s].folded);
    }
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

/* The key of the graph's static input shapes on n_threads threads;
 * false when some input shape is not static. */
static bool static_key(const onednn_group *g, size_t n_threads, int64_t *key, size_t *n_key)
{
    size_t n = 0;
    key[n++] = (int64_t)n_threads;
    for (size_t i = 0; i < g->n_inputs; i++) {
        const group_value *v = input_value(g, i);
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
static bool prebuild(onednn_group *g, size_t n_threads)
{
    size_t n_key = 0;
    int64_t *key = malloc(key_cap(g) * sizeof *key);
    bool ok = key != NULL;
    if (ok && static_key(g, n_threads, key, &n_key))
        ok = onednn_program_build(g, key, n_key, &g->programs) == EMBER_OK;
    free(key);
    return ok;
}

/* The members' constant inputs that the prebuilt program holds copies of,
 * or that no step reads any more (folded into another step's weights, or
 * baked into a post-op), are released to the core; steps rebuild later
 * programs from the copies (their data pointers become NULL). */
static void release_constants(const ember_host_api *host, const ember_group *group,
                              onednn_group *g)
{
    const group_program *p = g->programs;
    bool *needed = p != NULL ? calloc(g->n_values + 1, sizeof *needed) : NULL;
    if (needed == NULL)
        return;
    for (size_t s = 0; s < g->n_steps; s++) {
        const group_step *st = &g->steps[s];
        if (!onednn_step_runs(st))
            continue;
        for (size_t i = 0; i < ONEDNN_MAX_IO; i++)
            if (st->in_value[i] >= 0 && !onednn_plan_copied(st->k, p->steps[s].plan, i))
                needed[st->in_value[i]] = true;
        if (st->sum_value >= 0)
            needed[st->sum_value] = true;
    }
    for (size_t m = 0; m < host->group_node_count(group); m++) {
        const ember_node *node = host->group_node(group, m);
        for (size_t j = 0; j < host->node_input_count(node); j++) {
            int v = host->node_input_constant(node, j) != NULL
                        ? value_index(g, host->node_input_value(node, j))
                        : -1;
            if (v >= 0 && !needed[v] && g->values[v].data == NULL)
                onednn_release_input(host, node, j);
        }
    }
    for (size_t s = 0; s < g->n_steps; s++) {
        group_step *st = &g->steps[s];
        for (size_t i = 0; i < ONEDNN_MAX_IO; i++) {
            int v = st->in_value[i];
            if (v >= 0 && !needed[v] && g->values[v].data == NULL)
                st->in.data[i] = NULL;
        }
    }
    free(needed);
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
        onednn_group_fuse(g);
        ok = prebuild(g, onednn_node_threads(self, self->host->group_node(group, 0)));
        if (ok)
            release_constants(self->host, group, g);
    }
    if (status == EMBER_OK && ok)
        status = group_kernel(self, group, g, out);
    if (status != EMBER_OK || !ok) {
        group_free(g);
        *out = NULL;
    }
    return status;
}
