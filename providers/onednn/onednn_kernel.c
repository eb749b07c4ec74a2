/*
 * What the oneDNN kernel families share: claim checks and attribute
 * decoding, memory descriptors, plans (a primitive plus its argument
 * layouts, built per input shape and thread count and cached on the
 * kernel) and running a plan. See onednn_kernel.h for the contracts.
 *
 * Concurrency: a plan is immutable once published, every run creates its
 * own stream and memory objects, and primitives use a user scratchpad taken
 * from host->ctx_scratch, so runs of one kernel on several threads share
 * nothing mutable. Run-time plans are added under the kernel's mutex.
 *
 * Threads: this oneDNN runs on OpenMP. Before creating or running a
 * primitive the calling thread's OpenMP thread count is set to the plan's
 * count (OpenMP keeps it per thread); the count is part of the plan's key
 * because oneDNN splits work for the count it saw at creation.
 */
#include "onednn_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

void onednn_set_threads(size_t n)
{
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? (int)n : 1);
#else
    (void)n;
#endif
}

/* ---- claim checks ------------------------------------------------------ */

bool onednn_input_f32(const ember_host_api *host, const ember_node *node, size_t index,
                      int min_rank, int max_rank)
{
    ember_type_info info;
    if (index >= host->node_input_count(node) || !host->node_input_present(node, index))
        return true;
    if (!host->node_input_type(node, index, &info))
        return false;
    return info.dtype == EMBER_DTYPE_FLOAT32 && info.rank >= min_rank && info.rank <= max_rank;
}

/* The dtype of the node's first input (its floating type), or UNDEFINED. */
static uint32_t node_dtype(const ember_host_api *host, const ember_node *node)
{
    ember_type_info info;
    if (host->node_input_count(node) == 0 || !host->node_input_present(node, 0) ||
        !host->node_input_type(node, 0, &info))
        return EMBER_DTYPE_UNDEFINED;
    return info.dtype;
}

bool onednn_input_float(const ember_host_api *host, const ember_node *node, size_t index,
                        int min_rank, int max_rank)
{
    ember_type_info info;
    uint32_t dtype = node_dtype(host, node);
    if (dtype != EMBER_DTYPE_FLOAT32 && dtype != EMBER_DTYPE_BFLOAT16)
        return false;
    if (index >= host->node_input_count(node) || !host->node_input_present(node, index))
        return true;
    if (!host->node_input_type(node, index, &info))
        return false;
    return info.dtype == dtype && info.rank >= min_rank && info.rank <= max_rank;
}

bool onednn_output_unused(const ember_host_api *host, const ember_node *node, size_t index)
{
    ember_type_info info;
    return index >= host->node_output_count(node) || !host->node_output_type(node, index, &info);
}

int64_t onednn_node_int(const ember_host_api *host, const ember_node *node, const char *name,
                        int64_t dflt)
{
    ember_attr a;
    return host->node_attr(node, name, &a) && a.type == EMBER_ATTR_INT ? a.i : dflt;
}

float onednn_node_float(const ember_host_api *host, const ember_node *node, const char *name,
                        float dflt)
{
    ember_attr a;
    return host->node_attr(node, name, &a) && a.type == EMBER_ATTR_FLOAT ? a.f : dflt;
}

/* ---- attributes -------------------------------------------------------- */

ember_status onednn_params(onednn_kernel *k, size_t bytes)
{
    k->params = calloc(1, bytes);
    if (k->params == NULL)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (%s): out of memory", k->name,
                             k->op);
    return EMBER_OK;
}

static ember_status attr_get(const onednn_kernel *k, const ember_node *node, const char *name,
                             uint32_t type, ember_attr *out, bool *found)
{
    *found = k->host->node_attr(node, name, out);
    if (*found && out->type != type)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute '%s' has type %u, expected %u", k->name,
                             k->op, name, (unsigned)out->type, (unsigned)type);
    return EMBER_OK;
}

ember_status onednn_attr_int(const onednn_kernel *k, const ember_node *node, const char *name,
                             int64_t dflt, int64_t *out)
{
    ember_attr a;
    bool found;
    ember_status s = attr_get(k, node, name, EMBER_ATTR_INT, &a, &found);
    if (s == EMBER_OK)
        *out = found ? a.i : dflt;
    return s;
}

ember_status onednn_attr_float(const onednn_kernel *k, const ember_node *node,
                               const char *name, float dflt, float *out)
{
    ember_attr a;
    bool found;
    ember_status s = attr_get(k, node, name, EMBER_ATTR_FLOAT, &a, &found);
    if (s == EMBER_OK)
        *out = found ? a.f : dflt;
    return s;
}

ember_status onednn_attr_ints(const onednn_kernel *k, const ember_node *node, const char *name,
                              int64_t *out, size_t cap, size_t *n)
{
    ember_attr a;
    bool found;
    ember_status s = attr_get(k, node, name, EMBER_ATTR_INTS, &a, &found);
    if (s != EMBER_OK)
        return s;
    *n = 0;
    if (!found)
        return EMBER_OK;
    if (a.n > cap)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): attribute '%s' has %zu values, at most %zu are "
                             "supported",
                             k->name, k->op, name, a.n, cap);
    if (a.n > 0)
        memcpy(out, a.ints, a.n * sizeof *out);
    *n = a.n;
    return EMBER_OK;
}

ember_status onednn_attr_string(const onednn_kernel *k, const ember_node *node,
                                const char *name, const char *dflt, char *out, size_t cap)
{
    ember_attr a;
    bool found;
    ember_status s = attr_get(k, node, name, EMBER_ATTR_STRING, &a, &found);
    if (s != EMBER_OK)
        return s;
    const char *src = found ? a.s.data : dflt;
    size_t len = found ? a.s.size : strlen(dflt);
    if (len >= cap)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute '%s' is too long (%zu bytes)", k->name,
                             k->op, name, len);
    memcpy(out, src, len);
    out[len] = '\0';
    return EMBER_OK;
}

/* ---- descriptors ------------------------------------------------------- */

ember_status onednn_check(const onednn_kernel *k, dnnl_status_t st, const char *what)
{
    if (st == dnnl_success)
        return EMBER_OK;
    if (st == dnnl_out_of_memory)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (%s): oneDNN: out of memory (%s)",
                             k->name, k->op, what);
    return k->host->fail(EMBER_E_NOT_IMPLEMENTED, "node '%s' (%s): oneDNN refused %s (status %d)",
                         k->name, k->op, what, (int)st);
}

static ember_status md_dense(const onednn_kernel *k, dnnl_memory_desc_t *md,
                             const int64_t *dims, size_t rank, dnnl_data_type_t dt)
{
    dnnl_dims_t d, strides;
    int64_t stride = 1;
    if (rank == 0 || rank > ONEDNN_MAX_RANK)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): rank %zu is outside oneDNN's 1..%d", k->name, k->op,
                             rank, ONEDNN_MAX_RANK);
    for (size_t i = rank; i-- > 0;) {
        d[i] = dims[i];
        strides[i] = stride;
        stride *= dims[i] > 1 ? dims[i] : 1;
    }
    return onednn_check(k, dnnl_memory_desc_init_by_strides(md, (int)rank, d, dt, strides),
                        "a memory descriptor");
}

ember_status onednn_md_plain(const onednn_kernel *k, dnnl_memory_desc_t *md,
                             const int64_t *dims, size_t rank)
{
    return md_dense(k, md, dims, rank, k->dt);
}

ember_status onednn_md_plain_as(const onednn_kernel *k, dnnl_memory_desc_t *md,
                                const int64_t *dims, size_t rank, uint32_t dtype)
{
    return md_dense(k, md, dims, rank, dtype == EMBER_DTYPE_BFLOAT16 ? dnnl_bf16 : dnnl_f32);
}

ember_status onednn_md_any(const onednn_kernel *k, dnnl_memory_desc_t *md, const int64_t *dims,
                           size_t rank)
{
    dnnl_dims_t d;
    for (size_t i = 0; i < rank && i < ONEDNN_MAX_RANK; i++)
        d[i] = dims[i];
    return onednn_check(k, dnnl_memory_desc_init_by_tag(md, (int)rank, d, k->dt,
                                                        dnnl_format_tag_any),
                        "a memory descriptor");
}

ember_status onednn_attr_plain(const onednn_kernel *k, dnnl_primitive_attr_t *out)
{
    dnnl_primitive_attr_t attr = NULL;
    ember_status s = onednn_check(k, dnnl_primitive_attr_create(&attr), "an attribute");
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
                         "the user scratchpad mode");
    if (s != EMBER_OK) {
        dnnl_primitive_attr_destroy(attr);
        return s;
    }
    *out = attr;
    return EMBER_OK;
}

ember_status onednn_fusion_append_eltwise(const onednn_kernel *k, dnnl_post_ops_t ops)
{
    const onednn_fusion *f = &k->fusion;
    if (f->eltwise == dnnl_alg_kind_undef)
        return EMBER_OK;
    return onednn_check(k, dnnl_post_ops_append_eltwise(ops, 1.0f, f->eltwise, f->alpha, f->beta),
                        "an eltwise post-op");
}

/* The fused post-ops, in oneDNN's order: sum, then eltwise. */
static ember_status attr_post_ops(const onednn_kernel *k, dnnl_primitive_attr_t attr)
{
    const onednn_fusion *f = &k->fusion;
    dnnl_post_ops_t ops = NULL;
    ember_status s = onednn_check(k, dnnl_post_ops_create(&ops), "post-ops");
    if (s == EMBER_OK && f->sum)
        s = onednn_check(k, dnnl_post_ops_append_sum(ops, 1.0f), "a sum post-op");
    if (s == EMBER_OK)
        s = onednn_fusion_append_eltwise(k, ops);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_primitive_attr_set_post_ops(attr, ops), "the post-ops");
    dnnl_post_ops_destroy(ops);
    return s;
}

ember_status onednn_attr_create(const onednn_kernel *k, dnnl_primitive_attr_t *out)
{
    dnnl_primitive_attr_t attr = NULL;
    ember_status s = onednn_attr_plain(k, &attr);
    if (s != EMBER_OK || (!k->fusion.sum && k->fusion.eltwise == dnnl_alg_kind_undef)) {
        *out = attr;
        return s;
    }
    s = attr_post_ops(k, attr);
    if (s != EMBER_OK) {
        dnnl_primitive_attr_destroy(attr);
        return s;
    }
    *out = attr;
    return EMBER_OK;
}

ember_status onednn_md_input(const onednn_kernel *k, const onednn_shapes *in, size_t index,
                             dnnl_memory_desc_t *md)
{
    if (in->layout[index] != NULL) {
        *md = *in->layout[index];
        return EMBER_OK;
    }
    return onednn_md_plain(k, md, in->dims[index], in->rank[index]);
}

static size_t plan_threads(const onednn_plan *plan)
{
    return (size_t)plan->key[plan->n_key - 1];
}

ember_status onednn_pd_create(const onednn_kernel *k, const onednn_plan *plan,
                              const void *op_desc, const_dnnl_primitive_attr_t attr,
                              dnnl_primitive_desc_t *out)
{
    onednn_set_threads(plan_threads(plan));
    return onednn_check(k,
                        dnnl_primitive_desc_create(out, op_desc, attr, k->provider->engine, NULL),
                        "the primitive descriptor");
}

const dnnl_memory_desc_t *onednn_pd_md(const_dnnl_primitive_desc_t pd, int what, int index)
{
    return dnnl_primitive_desc_query_md(pd, (dnnl_query_t)what, index);
}

/* ---- plans ------------------------------------------------------------- */

ember_status onednn_reorder_create(const onednn_kernel *k, const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *dst, dnnl_primitive_t *out)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    ember_status s = onednn_attr_plain(k, &attr);
    if (s == EMBER_OK)
        s = onednn_check(k,
                         dnnl_reorder_primitive_desc_create(&pd, src, k->provider->engine, dst,
                                                            k->provider->engine, attr),
                         "a reorder");
    if (s == EMBER_OK && !k->is_trial)
        s = onednn_check(k, dnnl_primitive_create(out, pd), "a reorder primitive");
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    return s;
}

/* Scratchpad memory of `bytes` (laid out as md, or as bytes when md is
 * NULL) for one execution, or NULL when none is needed. */
static ember_status scratchpad(const onednn_kernel *k, ember_kernel_context *ctx,
                               const dnnl_memory_desc_t *md, size_t bytes, dnnl_memory_t *out)
{
    dnnl_memory_desc_t raw;
    void *buf = NULL;
    *out = NULL;
    if (bytes == 0)
        return EMBER_OK;
    if (md == NULL) {
        dnnl_dims_t dims = {(dnnl_dim_t)bytes};
        ONEDNN_TRY(onednn_check(k, dnnl_memory_desc_init_by_tag(&raw, 1, dims, dnnl_u8, dnnl_a),
                                "the scratchpad descriptor"));
        md = &raw;
    }
    ember_status s = ctx != NULL ? k->host->ctx_scratch(ctx, bytes, &buf) : EMBER_OK;
    if (s != EMBER_OK)
        return s;
    return onednn_check(k,
                        dnnl_memory_create(out, md, k->provider->engine,
                                           buf != NULL ? buf : DNNL_MEMORY_ALLOCATE),
                        "the scratchpad");
}

static const dnnl_memory_desc_t *scratchpad_md(const_dnnl_primitive_t prim)
{
    const_dnnl_primitive_desc_t pd = NULL;
    if (prim == NULL || dnnl_primitive_get_primitive_desc(prim, &pd) != dnnl_success)
        return NULL;
    return onednn_pd_md(pd, dnnl_query_scratchpad_md, 0);
}

size_t onednn_scratch_bytes(const_dnnl_primitive_t prim)
{
    const dnnl_memory_desc_t *md = scratchpad_md(prim);
    return md != NULL ? dnnl_memory_desc_get_size(md) : 0;
}

size_t onednn_plan_scratch_bytes(const onednn_plan *plan)
{
    return plan->custom != NULL ? plan->custom->scratch_bytes : onednn_scratch_bytes(plan->prim);
}

ember_status onednn_plan_run(const onednn_kernel *k, const onednn_plan *plan,
                             dnnl_stream_t stream, const dnnl_exec_arg_t *args, int n_args)
{
    if (plan->custom != NULL)
        return plan->custom->run(k, plan->custom, stream, args, n_args);
    return onednn_check(k, dnnl_primitive_execute(plan->prim, stream, n_args, args), "to run");
}

/* Runs `plan` (or, when plan is NULL, the reorder `prim`) with args plus
 * a scratchpad on stream, and waits. */
static ember_status execute(const onednn_kernel *k, ember_kernel_context *ctx,
                            const onednn_plan *plan, const_dnnl_primitive_t prim,
                            dnnl_stream_t stream, dnnl_exec_arg_t *args, int n_args)
{
    dnnl_memory_t pad = NULL;
    const dnnl_memory_desc_t *md =
        plan != NULL && plan->custom != NULL ? NULL : scratchpad_md(plan ? plan->prim : prim);
    size_t bytes = plan != NULL ? onednn_plan_scratch_bytes(plan) : onednn_scratch_bytes(prim);
    ember_status s = scratchpad(k, ctx, md, bytes, &pad);
    if (s != EMBER_OK)
        return s;
    if (pad != NULL)
        args[n_args++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pad};
    if (plan != NULL)
        s = onednn_plan_run(k, plan, stream, args, n_args);
    else
        s = onednn_check(k, dnnl_primitive_execute(prim, stream, n_args, args), "to run");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_stream_wait(stream), "to finish");
    dnnl_memory_destroy(pad);
    return s;
}

/* Reorders constant data once into a new buffer in the layout a->md. */
static ember_status reorder_constant(const onednn_kernel *k, const onednn_arg *a,
                                     const void *data, dnnl_memory_t *out)
{
    dnnl_primitive_t reorder = NULL;
    dnnl_memory_t src = NULL, dst = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_engine_t engine = k->provider->engine;
    ember_status s = onednn_reorder_create(k, &a->user_md, &a->md, &reorder);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_memory_create(&dst, &a->md, engine, DNNL_MEMORY_ALLOCATE),
                         "the weights buffer");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_memory_create(&src, &a->user_md, engine, (void *)data),
                         "the weights");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_stream_create(&stream, engine, dnnl_stream_default_flags),
                         "a stream");
    if (s == EMBER_OK) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
        s = execute(k, NULL, NULL, reorder, stream, args, 2);
    }
    dnnl_stream_destroy(stream);
    dnnl_memory_destroy(src);
    dnnl_primitive_destroy(reorder);
    if (s != EMBER_OK) {
        dnnl_memory_destroy(dst);
        return s;
    }
    *out = dst;
    return EMBER_OK;
}

/* A copy of constant input `index` with the dims of md, or NULL. */
static const onednn_const *copy_like(const onednn_kernel *k, size_t index,
                                     const dnnl_memory_desc_t *md)
{
    for (const onednn_const *c = k->consts; c != NULL; c = c->next)
        if (c->index == index && c->md.ndims == md->ndims &&
            memcmp(c->md.dims, md->dims, (size_t)md->ndims * sizeof md->dims[0]) == 0)
            return c;
    return NULL;
}

/* The kernel's copy of constant input a->index in layout a->md, made on
 * first use from `data`, or from another copy when the core freed the
 * data (released, see onednn_plan_copied). Called at kernel_create or
 * under k->lock, the only writers of k->consts (hence the cast). */
static ember_status shared_constant(const onednn_kernel *k, onednn_arg *a, const void *data)
{
    onednn_kernel *owner = (onednn_kernel *)k;
    for (onednn_const *c = owner->consts; c != NULL; c = c->next) {
        if (c->index == a->index && dnnl_memory_desc_equal(&c->md, &a->md)) {
            a->constant = c->memory;
            return EMBER_OK;
        }
    }
    onednn_arg from = *a; /* the reorder's source: the data, or a copy of it */
    if (data == NULL) {
        const onednn_const *copy = copy_like(k, a->index, &a->md);
        void *handle = NULL;
        if (copy == NULL || dnnl_memory_get_data_handle(copy->memory, &handle) != dnnl_success)
            return k->host->fail(EMBER_E_INTERNAL,
                                 "node '%s' (%s): constant input %zu was released and the "
                                 "kernel holds no copy of its shape",
                                 k->name, k->op, a->index);
        from.user_md = copy->md;
        data = handle;
    }
    onednn_const *c = calloc(1, sizeof *c);
    if (c == NULL)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (%s): out of memory", k->name,
                             k->op);
    ember_status s = reorder_constant(k, &from, data, &c->memory);
    if (s != EMBER_OK) {
        free(c);
        return s;
    }
    c->index = a->index;
    c->md = a->md;
    c->next = owner->consts;
    owner->consts = c;
    a->constant = c->memory;
    return EMBER_OK;
}

ember_status onednn_const_memory(const onednn_kernel *k, size_t index,
                                 const dnnl_memory_desc_t *user_md,
                                 const dnnl_memory_desc_t *md, const void *data,
                                 dnnl_memory_t *out)
{
    onednn_arg a = {.from = ONEDNN_FROM_CONST, .index = index, .user_md = *user_md, .md = *md};
    ONEDNN_TRY(shared_constant(k, &a, data));
    *out = a.constant;
    return EMBER_OK;
}

static onednn_arg *plan_arg(const onednn_kernel *k, onednn_plan *plan, int arg, int from,
                            size_t index, const dnnl_memory_desc_t *user_md,
                            const dnnl_memory_desc_t *md)
{
    if (plan->n_args == ONEDNN_MAX_ARGS) {
        k->host->fail(EMBER_E_INTERNAL, "node '%s' (%s): too many oneDNN arguments", k->name,
                      k->op);
        return NULL;
    }
    onednn_arg *a = &plan->args[plan->n_args++];
    a->arg = arg;
    a->from = from;
    a->index = index;
    a->user_md = *user_md;
    a->md = md != NULL ? *md : *user_md;
    return a;
}

ember_status onednn_plan_input(const onednn_kernel *k, const onednn_shapes *in,
                               onednn_plan *plan, int arg, size_t index,
                               const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *md)
{
    onednn_arg *a = plan_arg(k, plan, arg, ONEDNN_FROM_INPUT, index, user_md, md);
    if (a == NULL)
        return EMBER_E_INTERNAL;
    bool is_released = !k->is_trial && in->data[index] == NULL && ((k->const_mask >> index) & 1u);
    if (dnnl_memory_desc_equal(&a->user_md, &a->md) && !is_released)
        return EMBER_OK;
    if (in->data[index] != NULL || is_released) {
        a->from = ONEDNN_FROM_CONST;
        return shared_constant(k, a, in->data[index]);
    }
    return onednn_reorder_create(k, &a->user_md, &a->md, &a->reorder);
}

ember_status onednn_plan_output(const onednn_kernel *k, onednn_plan *plan, int arg,
                                size_t index, const dnnl_memory_desc_t *user_md,
                                const dnnl_memory_desc_t *md)
{
    onednn_arg *a = plan_arg(k, plan, arg, ONEDNN_FROM_OUTPUT, index, user_md, md);
    if (a == NULL)
        return EMBER_E_INTERNAL;
    if (dnnl_memory_desc_equal(&a->user_md, &a->md))
        return EMBER_OK;
    return onednn_reorder_create(k, &a->md, &a->user_md, &a->reorder);
}

void onednn_plan_shape(onednn_plan *plan, size_t index, const int64_t *dims, size_t rank)
{
    memcpy(plan->out_dims[index], dims, rank * sizeof *dims);
    plan->out_rank[index] = rank;
    if (index + 1 > plan->n_outputs)
        plan->n_outputs = index + 1;
}

ember_status onednn_plan_finish(const onednn_kernel *k, onednn_plan *plan, ember_status s,
                                dnnl_primitive_desc_t pd, dnnl_primitive_attr_t attr)
{
    dnnl_primitive_attr_destroy(attr);
    onednn_set_threads(plan_threads(plan));
    if (s == EMBER_OK && !k->is_trial)
        s = onednn_check(k, dnnl_primitive_create(&plan->prim, pd), "the primitive");
    dnnl_primitive_desc_destroy(pd);
    return s;
}

void onednn_plan_destroy(onednn_plan *plan)
{
    if (plan == NULL)
        return;
    for (size_t i = 0; i < plan->n_args; i++)
        dnnl_primitive_destroy(plan->args[i].reorder);
    dnnl_primitive_destroy(plan->prim);
    if (plan->custom != NULL)
        plan->custom->destroy(plan->custom);
    free(plan);
}

/* ---- keys and building ------------------------------------------------- */

static void make_key(const onednn_kernel *k, const onednn_shapes *in, size_t n_threads,
                     onednn_plan *plan)
{
    size_t n = 0;
    for (size_t i = 0; i < in->n; i++) {
        plan->key[n++] = in->present[i];
        plan->key[n++] = (int64_t)in->rank[i];
        for (size_t d = 0; d < in->rank[i]; d++)
            plan->key[n++] = in->dims[i][d];
        if (((k->value_mask >> i) & 1u) && in->data[i] != NULL) {
            uint32_t bits = 0; /* a float32 or a bfloat16 */
            memcpy(&bits, in->data[i], k->dtype == EMBER_DTYPE_BFLOAT16 ? 2 : 4);
            plan->key[n++] = bits;
        }
    }
    plan->key[n++] = (int64_t)n_threads;
    plan->n_key = n;
}

static bool same_key(const onednn_plan *a, const onednn_plan *b)
{
    return a->n_key == b->n_key && memcmp(a->key, b->key, a->n_key * sizeof a->key[0]) == 0;
}

static ember_status build_plan(const onednn_kernel *k, const onednn_shapes *in,
                               const onednn_plan *probe, onednn_plan **out)
{
    onednn_plan *plan = calloc(1, sizeof *plan);
    if (plan == NULL)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (%s): out of memory", k->name,
                             k->op);
    memcpy(plan->key, probe->key, probe->n_key * sizeof probe->key[0]);
    plan->n_key = probe->n_key;
    ember_status s = k->build(k, in, plan);
    if (s != EMBER_OK) {
        onednn_plan_destroy(plan);
        return s;
    }
    *out = plan;
    return EMBER_OK;
}

/* Static shapes of the node's inputs; false when one is not static. */
static bool shapes_of_node(const onednn_kernel *k, const ember_node *node, bool with_data,
                           onednn_shapes *in)
{
    const ember_host_api *host = k->host;
    memset(in, 0, sizeof *in);
    in->n = k->n_inputs;
    for (size_t i = 0; i < in->n; i++) {
        ember_type_info info;
        in->present[i] = host->node_input_present(node, i);
        if (!in->present[i])
            continue;
        if (!host->node_input_type(node, i, &info) || info.rank < 0 ||
            info.rank > ONEDNN_MAX_RANK)
            return false;
        in->rank[i] = (size_t)info.rank;
        for (size_t d = 0; d < in->rank[i]; d++) {
            if (info.dims[d] < 0)
                return false;
            in->dims[i][d] = info.dims[d];
        }
        const ember_tensor *c = host->node_input_constant(node, i);
        if (c == NULL && ((k->value_mask >> i) & 1u))
            return false;
        in->data[i] = with_data && c != NULL ? c->data : NULL;
        in->dtype[i] = info.dtype;
    }
    return true;
}

static ember_status shapes_of_run(const onednn_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor **inputs, onednn_shapes *in)
{
    memset(in, 0, sizeof *in);
    in->n = k->n_inputs;
    for (size_t i = 0; i < in->n; i++) {
        const ember_tensor *t = i < k->host->ctx_input_count(ctx) ? k->host->ctx_input(ctx, i)
                                                                  : NULL;
        inputs[i] = t;
        in->present[i] = t != NULL;
        if (t == NULL)
            continue;
        bool is_free = k->dtype == EMBER_DTYPE_UNDEFINED || ((k->param_mask >> i) & 1u);
        if (t->rank > ONEDNN_MAX_RANK || (!is_free && t->dtype != k->dtype))
            return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                                 "node '%s' (%s): input %zu (rank %u, dtype %u) is not of the "
                                 "type (%u) and rank (<= %d) the kernel was built for",
                                 k->name, k->op, i, (unsigned)t->rank, (unsigned)t->dtype,
                                 (unsigned)k->dtype, ONEDNN_MAX_RANK);
        in->rank[i] = t->rank;
        memcpy(in->dims[i], t->dims, t->rank * sizeof *t->dims);
        bool is_value = (k->value_mask >> i) & 1u;
        if (is_value && (t->rank > 1 || (t->rank == 1 && t->dims[0] != 1)))
            return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                                 "node '%s' (%s): input %zu must be a scalar", k->name, k->op, i);
        in->data[i] = ((k->const_mask | k->value_mask) >> i) & 1u ? t->data : NULL;
        in->dtype[i] = t->dtype;
    }
    return EMBER_OK;
}

void onednn_kernel_counts(onednn_kernel *k, const ember_node *node)
{
    bool is_bf16 = node_dtype(k->host, node) == EMBER_DTYPE_BFLOAT16;
    k->dtype = is_bf16 ? EMBER_DTYPE_BFLOAT16 : EMBER_DTYPE_FLOAT32;
    k->dt = is_bf16 ? dnnl_bf16 : dnnl_f32;
    k->n_inputs = k->host->node_input_count(node);
    k->n_outputs = k->host->node_output_count(node);
    if (k->n_inputs > ONEDNN_MAX_IO)
        k->n_inputs = ONEDNN_MAX_IO;
    for (size_t i = 0; i < k->n_inputs; i++)
        if (k->host->node_input_constant(node, i) != NULL)
            k->const_mask |= 1u << i;
}

ember_status onednn_kernel_prepare(onednn_kernel *k, const ember_node *node)
{
    onednn_shapes in;
    onednn_plan probe;
    if (pthread_mutex_init(&k->lock, NULL) != 0)
        return k->host->fail(EMBER_E_INTERNAL, "node '%s' (%s): cannot create a mutex", k->name,
                             k->op);
    k->has_lock = true;
    if (!shapes_of_node(k, node, true, &in))
        return EMBER_OK;
    make_key(k, &in, onednn_node_threads(k->provider, node), &probe);
    ONEDNN_TRY(build_plan(k, &in, &probe, &k->fixed));
    for (size_t i = 0; i < k->n_inputs; i++)
        if (onednn_plan_copied(k, k->fixed, i))
            onednn_release_input(k->host, node, i);
    return EMBER_OK;
}

size_t onednn_node_threads(const ember_provider *self, const ember_node *node)
{
    const ember_host_api *host = self->host;
    size_t n = EMBER_HAS(host, ember_host_api, node_thread_count) ? host->node_thread_count(node)
                                                                   : 0;
    return n > 0 ? n : self->n_threads;
}

bool onednn_plan_copied(const onednn_kernel *k, const onednn_plan *plan, size_t index)
{
    static const char *const families[] = {"Conv", "ConvTranspose", "MatMul", "Gemm"};
    bool is_family = false;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        is_family = is_family || strcmp(k->op, families[f]) == 0;
    if (!is_family || plan == NULL || plan->custom != NULL || ((k->value_mask >> index) & 1u) ||
        !((k->const_mask >> index) & 1u))
        return false;
    size_t copies = 0;
    for (size_t i = 0; i < plan->n_args; i++) {
        const onednn_arg *a = &plan->args[i];
        if (a->from == ONEDNN_FROM_OUTPUT || a->index != index)
            continue;
        if (a->from != ONEDNN_FROM_CONST)
            return false;
        copies++;
    }
    return copies > 0;
}

void onednn_release_input(const ember_host_api *host, const ember_node *node, size_t index)
{
    if (EMBER_HAS(host, ember_host_api, node_input_release))
        host->node_input_release(node, index);
}

bool onednn_kernel_static_shapes(const onednn_kernel *k, const ember_node *node,
                                 onednn_shapes *in)
{
    return shapes_of_node(k, node, true, in);
}

ember_status onednn_kernel_build(const onednn_kernel *k, const onednn_shapes *in,
                                 size_t n_threads, onednn_plan **out)
{
    onednn_plan probe;
    make_key(k, in, n_threads, &probe);
    return build_plan(k, in, &probe, out);
}

bool onednn_kernel_trial(onednn_kernel *k, const ember_node *node)
{
    onednn_shapes in;
    onednn_plan probe, *plan = NULL;
    k->is_trial = true;
    if (!shapes_of_node(k, node, false, &in))
        return true;
    make_key(k, &in, k->provider->n_threads, &probe);
    if (build_plan(k, &in, &probe, &plan) != EMBER_OK)
        return false;
    onednn_plan_destroy(plan);
    return true;
}

/* The plan for `probe`'s key: the fixed one, a cached one, or a new one
 * added to the cache. */
static ember_status find_plan(onednn_kernel *k, const onednn_shapes *in,
                              const onednn_plan *probe, const onednn_plan **out)
{
    if (k->fixed != NULL && same_key(k->fixed, probe)) {
        *out = k->fixed;
        return EMBER_OK;
    }
    ember_status s = EMBER_OK;
    pthread_mutex_lock(&k->lock);
    onednn_plan *p = k->cache;
    while (p != NULL && !same_key(p, probe))
        p = p->next;
    if (p == NULL && (s = build_plan(k, in, probe, &p)) == EMBER_OK) {
        p->next = k->cache;
        k->cache = p;
    }
    pthread_mutex_unlock(&k->lock);
    if (s == EMBER_OK)
        *out = p;
    return s;
}

void onednn_kernel_release(onednn_kernel *k)
{
    onednn_plan_destroy(k->fixed);
    while (k->cache != NULL) {
        onednn_plan *next = k->cache->next;
        onednn_plan_destroy(k->cache);
        k->cache = next;
    }
    while (k->consts != NULL) {
        onednn_const *next = k->consts->next;
        dnnl_memory_destroy(k->consts->memory);
        free(k->consts);
        k->consts = next;
    }
    if (k->has_lock)
        pthread_mutex_destroy(&k->lock);
}

/* ---- running ----------------------------------------------------------- */

typedef struct run_state {
    dnnl_stream_t stream;
    dnnl_memory_t mems[2 * ONEDNN_MAX_ARGS];
    size_t n_mems;
    dnnl_exec_arg_t args[ONEDNN_MAX_ARGS + 1];
    dnnl_memory_t internal[ONEDNN_MAX_ARGS]; /* per arg, when reordered */
    dnnl_memory_t user[ONEDNN_MAX_ARGS];
} run_state;

static ember_status new_memory(const onednn_kernel *k, run_state *r, const dnnl_memory_desc_t *md,
                               void *data, dnnl_memory_t *out)
{
    ember_status s = onednn_check(k, dnnl_memory_create(out, md, k->provider->engine, data),
                                  "a memory object");
    if (s == EMBER_OK)
        r->mems[r->n_mems++] = *out;
    return s;
}

/* Memory for argument i: the Ember tensor itself, or scratch in the
 * primitive's layout (filled from the input when it is one). */
static ember_status bind_arg(const onednn_kernel *k, ember_kernel_context *ctx, run_state *r,
                             const onednn_arg *a, size_t i, void *data)
{
    void *buf = NULL;
    r->internal[i] = NULL;
    ember_status s = new_memory(k, r, &a->user_md, data, &r->user[i]);
    if (s != EMBER_OK || a->reorder == NULL) {
        r->args[i] = (dnnl_exec_arg_t){a->arg, r->user[i]};
        return s;
    }
    s = k->host->ctx_scratch(ctx, dnnl_memory_desc_get_size(&a->md), &buf);
    if (s == EMBER_OK)
        s = new_memory(k, r, &a->md, buf, &r->internal[i]);
    if (s == EMBER_OK && a->from == ONEDNN_FROM_INPUT) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, r->user[i]}, {DNNL_ARG_TO, r->internal[i]}};
        s = execute(k, ctx, NULL, a->reorder, r->stream, args, 2);
    }
    r->args[i] = (dnnl_exec_arg_t){a->arg, r->internal[i]};
    return s;
}

static ember_status run_plan(const onednn_kernel *k, ember_kernel_context *ctx,
                             const onednn_plan *plan, const ember_tensor *const *inputs,
                             ember_tensor *const *outputs, run_state *r)
{
    ember_status s = EMBER_OK;
    for (size_t i = 0; s == EMBER_OK && i < plan->n_args; i++) {
        const onednn_arg *a = &plan->args[i];
        if (a->from == ONEDNN_FROM_CONST) {
            r->args[i] = (dnnl_exec_arg_t){a->arg, a->constant};
            continue;
        }
        void *data = a->from == ONEDNN_FROM_INPUT ? inputs[a->index]->data
                                                  : outputs[a->index]->data;
        s = bind_arg(k, ctx, r, a, i, data);
    }
    if (s == EMBER_OK)
        s = execute(k, ctx, plan, NULL, r->stream, r->args, (int)plan->n_args);
    for (size_t i = 0; s == EMBER_OK && i < plan->n_args; i++) {
        const onednn_arg *a = &plan->args[i];
        if (a->from != ONEDNN_FROM_OUTPUT || a->reorder == NULL)
            continue;
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, r->internal[i]}, {DNNL_ARG_TO, r->user[i]}};
        s = execute(k, ctx, NULL, a->reorder, r->stream, args, 2);
    }
    return s;
}

static ember_status alloc_outputs(const onednn_kernel *k, ember_kernel_context *ctx,
                                  const onednn_plan *plan, ember_tensor **outputs, bool *empty)
{
    *empty = false;
    for (size_t i = 0; i < plan->n_outputs; i++) {
        uint32_t dtype = plan->out_dtype[i] ? plan->out_dtype[i] : k->dtype;
        ember_status s = k->host->ctx_output(ctx, i, dtype, plan->out_dims[i],
                                             plan->out_rank[i], &outputs[i]);
        if (s != EMBER_OK)
            return s;
        for (size_t d = 0; d < plan->out_rank[i]; d++)
            *empty = *empty || plan->out_dims[i][d] == 0;
    }
    return EMBER_OK;
}

ember_status onednn_kernel_execute(onednn_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *inputs[ONEDNN_MAX_IO] = {0};
    ember_tensor *outputs[ONEDNN_MAX_IO] = {0};
    onednn_shapes in;
    onednn_plan probe;
    const onednn_plan *plan = NULL;
    bool empty = false;
    ember_status s = shapes_of_run(k, ctx, inputs, &in);
    if (s != EMBER_OK)
        return s;
    make_key(k, &in, k->host->ctx_thread_count(ctx), &probe);
    s = find_plan(k, &in, &probe, &plan);
    if (s == EMBER_OK)
        s = alloc_outputs(k, ctx, plan, outputs, &empty);
    if (s != EMBER_OK || empty)
        return s;
    run_state r = {0};
    onednn_set_threads(plan_threads(plan));
    s = onednn_check(k, dnnl_stream_create(&r.stream, k->provider->engine,
                                           dnnl_stream_default_flags),
                     "a stream");
    if (s == EMBER_OK)
        s = run_plan(k, ctx, plan, inputs, outputs, &r);
    for (size_t i = 0; i < r.n_mems; i++)
        dnnl_memory_destroy(r.mems[i]);
    dnnl_stream_destroy(r.stream);
    if (s == EMBER_OK && k->finish != NULL)
        k->finish(k, plan, outputs);
    return s;
}
