/*
 * exec_run: feeds the graph inputs, runs the steps in order, releases each
 * buffer after its last reader, and hands the outputs over. Also the
 * kernel context that kernels use to reach their inputs and outputs.
 */
#include <stdio.h>
#include <string.h>

#include "core/exec/exec_impl.h"
#include "core/util/util.h"

static bool is_present(const exec_tensor *t)
{
    return exec_tensor_is_present(t);
}

static ember_device device_of(const ember_tensor *t)
{
    return (ember_device){t->device_type, t->device_id};
}

/* ---- feeding inputs ----------------------------------------------------------- */

static ember_status check_dims(const graph_value *v, const ember_tensor *t)
{
    if (v->type.rank < 0)
        return EMBER_OK;
    if ((int32_t)t->rank != v->type.rank)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "input '%s': got rank %u, the model expects rank %d", v->name,
                          (unsigned)t->rank, (int)v->type.rank);
    for (int32_t i = 0; i < v->type.rank; i++)
        if (v->dims[i] >= 0 && t->dims[i] != v->dims[i])
            return ember_fail(EMBER_E_INVALID_ARGUMENT,
                              "input '%s': dim %d is %lld, the model expects %lld", v->name,
                              (int)i, (long long)t->dims[i], (long long)v->dims[i]);
    return EMBER_OK;
}

static ember_status check_feed(const graph_value *v, const exec_tensor *value)
{
    const ember_tensor *t = &value->view;
    if (value->kind != EMBER_VALUE_TENSOR)
        return EMBER_OK; /* sequences and optionals carry no static tensor type here */
    if (v->type.dtype && t->dtype != v->type.dtype)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "input '%s': got %s, the model expects %s",
                          v->name, ember_dtype_onnx_name((ember_dtype)t->dtype),
                          ember_dtype_onnx_name((ember_dtype)v->type.dtype));
    return check_dims(v, t);
}

static ember_status feed_one(exec_run_state *run, const exec_feed *feed)
{
    const graph *g = run->prog->g;
    if (feed->value < 0 || (size_t)feed->value >= g->n_values ||
        !(g->values[feed->value].is_graph_input || g->values[feed->value].is_outer_scope))
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "a fed value is not a graph input");
    const graph_value *v = &g->values[feed->value];
    exec_tensor *slot = &run->slots[feed->value];
    if (is_present(slot))
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "input '%s' is fed twice", v->name);
    EMBER_TRY(check_feed(v, feed->tensor));
    return exec_tensor_alias(slot, feed->tensor);
}

static ember_status feed_defaults(exec_run_state *run)
{
    const graph *g = run->prog->g;
    for (size_t i = 0; i < g->n_inputs; i++) {
        const graph_value *v = &g->values[g->inputs[i]];
        exec_tensor *slot = &run->slots[g->inputs[i]];
        if (is_present(slot))
            continue;
        if (!v->initializer)
            return ember_fail(EMBER_E_INVALID_ARGUMENT, "input '%s' was not fed", v->name);
        EMBER_TRY(exec_tensor_borrow(slot, &v->initializer->view));
    }
    return EMBER_OK;
}

static ember_status feed_constants(exec_run_state *run)
{
    const exec_program *prog = run->prog;
    for (size_t i = 0; i < prog->plan->n_slots; i++)
        if (prog->is_constant[i])
            EMBER_TRY(exec_tensor_borrow(&run->slots[i], &prog->constants[i].view));
    return EMBER_OK;
}

static ember_status feed_all(exec_run_state *run, const exec_feed *feeds, size_t n_feeds)
{
    for (size_t i = 0; i < n_feeds; i++)
        EMBER_TRY(feed_one(run, &feeds[i]));
    EMBER_TRY(feed_defaults(run));
    return feed_constants(run);
}

/* ---- copy steps ---------------------------------------------------------------- */

static ember_status run_copy(exec_run_state *run, const exec_step *step)
{
    const exec_program *prog = run->prog;
    int src_slot = step->plan->inputs[0], dst_slot = step->plan->outputs[0];
    if (prog->is_constant[dst_slot])
        return EMBER_OK; /* uploaded once by exec_prepare */
    const ember_tensor *src = &run->slots[src_slot].view;
    ember_device to = prog->plan->slots[dst_slot].device;
    exec_tensor *dst = &run->slots[dst_slot];
    if (run->slots[src_slot].kind != EMBER_VALUE_TENSOR) {
        if (to.type != EMBER_DEVICE_CPU)
            return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                              "'%s' is a sequence or optional, which live on the host only",
                              prog->g->values[prog->plan->slots[src_slot].value].name);
        return exec_tensor_alias(dst, &run->slots[src_slot]);
    }
    if (partition_same_device(device_of(src), to))
        return exec_tensor_borrow(dst, src); /* already there: alias */
    provider_instance *dst_p = exec_provider_for_device(prog, to);
    provider_instance *src_p = exec_provider_for_device(prog, device_of(src));
    EMBER_TRY(exec_tensor_alloc(dst, dst_p, to, src->dtype, src->dims, src->rank));
    ember_status status = exec_tensor_copy(&dst->view, dst_p, src, src_p);
    if (status != EMBER_OK)
        return ember_fail_prefix(status, "copying '%s' between devices",
                                 prog->g->values[prog->plan->slots[src_slot].value].name);
    return EMBER_OK;
}

/* ---- kernel steps --------------------------------------------------------------- */

static bool on_device(const ember_kernel_context *ctx)
{
    return ctx->step->device.type != EMBER_DEVICE_CPU;
}

static void release_scratch(ember_kernel_context *ctx)
{
    for (size_t i = 0; i < ctx->n_scratch; i++) {
        if (on_device(ctx))
            provider_free(ctx->step->provider, ctx->step->device.id, ctx->scratch[i]);
        else
            util_free(ctx->scratch[i]);
    }
    util_free(ctx->scratch);
    if (ctx->discard)
        for (size_t i = 0; i < ctx->step->plan->n_outputs; i++)
            exec_tensor_release(&ctx->discard[i]);
    util_free(ctx->discard);
}

static ember_status check_outputs(const ember_kernel_context *ctx)
{
    const partition_step *plan = ctx->step->plan;
    for (size_t i = 0; i < plan->n_outputs; i++) {
        const exec_tensor *t = plan->outputs[i] >= 0 ? &ctx->run->slots[plan->outputs[i]] : NULL;
        bool is_complete = !t || is_present(t);
        for (size_t j = 0; t && t->kind == EMBER_VALUE_SEQUENCE && j < t->n_items; j++)
            is_complete = is_complete && is_present(&t->items[j]);
        if (!is_complete)
            return ember_fail(EMBER_E_INTERNAL, "node '%s' (%s) did not produce output %zu",
                              ctx->step->node->name, ctx->step->node->op_type, i);
    }
    return EMBER_OK;
}

static ember_status run_kernel(exec_run_state *run, const exec_step *step)
{
    ember_kernel_context ctx = {run, step, NULL, NULL, 0};
    ember_status status = provider_kernel_run(step->provider, step->kernel, &ctx);
    if (status == EMBER_OK)
        status = check_outputs(&ctx);
    release_scratch(&ctx);
    return status;
}

static void release_after(exec_run_state *run, const exec_step *step)
{
    for (size_t i = 0; i < step->n_release; i++)
        exec_tensor_release(&run->slots[step->release[i]]);
}

/* Runs step s (a whole group when s starts an accepted one); returns how
 * many steps it covered in *n. */
static ember_status run_step(exec_run_state *run, size_t s, size_t *n)
{
    const exec_step *step = &run->prog->steps[s];
    *n = 1;
    if (step->group) {
        *n = step->group->n_members;
        return run_kernel(run, step->group);
    }
    if (!step->node)
        return run_copy(run, step);
    if (step->subs)
        return exec_control_run(run, step);
    return run_kernel(run, step);
}

static ember_status run_steps(exec_run_state *run)
{
    const exec_program *prog = run->prog;
    for (size_t s = 0; s < prog->plan->n_steps;) {
        size_t n;
        uint64_t start = prog->profile ? exec_profile_now() : 0;
        EMBER_TRY(run_step(run, s, &n));
        if (prog->profile)
            exec_profile_add(prog, s, exec_profile_now() - start);
        for (size_t end = s + n; s < end; s++)
            release_after(run, &prog->steps[s]);
    }
    return EMBER_OK;
}

/* ---- fetching outputs ------------------------------------------------------------ */

static ember_status check_into(const graph_value *v, const ember_tensor *into,
                               const ember_tensor *t)
{
    bool same = into->dtype == t->dtype && into->rank == t->rank;
    for (uint32_t i = 0; same && i < t->rank; i++)
        same = into->dims[i] == t->dims[i];
    if (same)
        return EMBER_OK;
    char want[128], got[128];
    util_format_dims(want, sizeof want, into->dims, into->rank);
    util_format_dims(got, sizeof got, t->dims, t->rank);
    return ember_fail(EMBER_E_INVALID_ARGUMENT,
                      "output '%s' is %s %s but the bound buffer is %s %s", v->name,
                      ember_dtype_name((ember_dtype)t->dtype), got,
                      ember_dtype_name((ember_dtype)into->dtype), want);
}

static ember_status fetch_one(exec_run_state *run, exec_fetch *fetch)
{
    const exec_program *prog = run->prog;
    const graph_value *v = &prog->g->values[fetch->value];
    exec_tensor *slot = &run->slots[fetch->value];
    if (!is_present(slot))
        return ember_fail(EMBER_E_INTERNAL, "output '%s' was not produced", v->name);
    if (slot->kind != EMBER_VALUE_TENSOR) {
        if (fetch->into)
            return ember_fail(EMBER_E_INVALID_ARGUMENT,
                              "output '%s' is a sequence or optional; it cannot be bound to "
                              "a tensor buffer",
                              v->name);
        if (!slot->is_owned)
            return exec_tensor_dup(&fetch->result, slot);
        fetch->result = *slot; /* hand it over */
        memset(slot, 0, sizeof *slot);
        return exec_tensor_alias(slot, &fetch->result);
    }
    provider_instance *src_p = exec_provider_for_device(prog, device_of(&slot->view));
    if (fetch->into) {
        EMBER_TRY(check_into(v, fetch->into, &slot->view));
        provider_instance *dst_p = exec_provider_for_device(prog, device_of(fetch->into));
        return exec_tensor_copy(fetch->into, dst_p, &slot->view, src_p);
    }
    if (slot->is_owned && partition_same_device(device_of(&slot->view), fetch->device)) {
        fetch->result = *slot; /* hand the buffer over */
        memset(slot, 0, sizeof *slot);
        return exec_tensor_borrow(slot, &fetch->result.view);
    }
    provider_instance *dst_p = exec_provider_for_device(prog, fetch->device);
    if (fetch->device.type != EMBER_DEVICE_CPU && !dst_p)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "output '%s' is wanted on device type %u, which no provider of "
                          "this session runs",
                          v->name, (unsigned)fetch->device.type);
    EMBER_TRY(exec_tensor_alloc(&fetch->result, dst_p, fetch->device, slot->view.dtype,
                                slot->view.dims, slot->view.rank));
    return exec_tensor_copy(&fetch->result.view, dst_p, &slot->view, src_p);
}

static ember_status fetch_all(exec_run_state *run, exec_fetch *fetches, size_t n_fetches)
{
    for (size_t i = 0; i < n_fetches; i++) {
        const graph_value *v = &run->prog->g->values[fetches[i].value];
        if (!v->is_graph_output && !v->is_graph_input)
            return ember_fail(EMBER_E_INVALID_ARGUMENT, "'%s' is not a graph output", v->name);
        EMBER_TRY(fetch_one(run, &fetches[i]));
    }
    return EMBER_OK;
}

/* ---- entry ------------------------------------------------------------------------ */

static ember_status synchronize_devices(const exec_program *prog)
{
    for (size_t i = 0; i < prog->n_providers; i++)
        if (prog->providers[i].device.type != EMBER_DEVICE_CPU)
            EMBER_TRY(provider_synchronize(prog->providers[i].instance));
    return EMBER_OK;
}

ember_status exec_run(const exec_program *prog, const exec_feed *feeds, size_t n_feeds,
                      exec_fetch *fetches, size_t n_fetches)
{
    return exec_run_scoped(prog, feeds, n_feeds, fetches, n_fetches, NULL);
}

ember_status exec_run_scoped(const exec_program *prog, const exec_feed *feeds, size_t n_feeds,
                             exec_fetch *fetches, size_t n_fetches, const exec_scope *outer)
{
    exec_run_state run = {prog, util_calloc(prog->plan->n_slots + 1, sizeof(exec_tensor)),
                          outer};
    if (!run.slots)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory starting a run");
    for (size_t i = 0; i < n_fetches; i++)
        memset(&fetches[i].result, 0, sizeof fetches[i].result);
    ember_status status = feed_all(&run, feeds, n_feeds);
    if (status == EMBER_OK)
        status = run_steps(&run);
    if (status == EMBER_OK)
        status = synchronize_devices(prog);
    if (status == EMBER_OK)
        status = fetch_all(&run, fetches, n_fetches);
    /* A fetch into device memory may be queued (a device to device copy):
     * the caller reads the buffer as soon as the run returns. */
    if (status == EMBER_OK && n_fetches)
        status = synchronize_devices(prog);
    for (size_t i = 0; i < n_fetches && status != EMBER_OK; i++)
        exec_tensor_release(&fetches[i].result);
    for (size_t i = 0; i < prog->plan->n_slots; i++)
        exec_tensor_release(&run.slots[i]);
    util_free(run.slots);
    return status;
}

/* ---- kernel context ------------------------------------------------------------- */

size_t exec_ctx_input_count(const ember_kernel_context *ctx)
{
    return ctx->step->plan->n_inputs;
}

const ember_tensor *exec_ctx_input(const ember_kernel_context *ctx, size_t index)
{
    if (index >= ctx->step->plan->n_inputs || ctx->step->plan->inputs[index] < 0)
        return NULL;
    const exec_tensor *t = &ctx->run->slots[ctx->step->plan->inputs[index]];
    return t->kind == EMBER_VALUE_TENSOR ? &t->view : NULL;
}

size_t exec_ctx_output_count(const ember_kernel_context *ctx)
{
    return ctx->step->plan->n_outputs;
}

static ember_status output_target(ember_kernel_context *ctx, size_t index, exec_tensor **out)
{
    int slot = ctx->step->plan->outputs[index];
    if (slot >= 0) {
        *out = &ctx->run->slots[slot];
        return EMBER_OK;
    }
    if (!ctx->discard)
        ctx->discard = util_calloc(ctx->step->plan->n_outputs, sizeof *ctx->discard);
    if (!ctx->discard)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory for an unused output");
    *out = &ctx->discard[index];
    return EMBER_OK;
}

ember_status exec_ctx_output(ember_kernel_context *ctx, size_t index, uint32_t dtype,
                             const int64_t *dims, size_t rank, ember_tensor **out)
{
    const graph_node *node = ctx->step->node;
    if (index >= ctx->step->plan->n_outputs)
        return ember_fail(EMBER_E_INTERNAL, "node '%s' (%s): output %zu does not exist",
                          node->name, node->op_type, index);
    exec_tensor *t = NULL;
    EMBER_TRY(output_target(ctx, index, &t));
    if (is_present(t))
        return ember_fail(EMBER_E_INTERNAL, "node '%s' (%s): output %zu allocated twice",
                          node->name, node->op_type, index);
    provider_instance *owner =
        ctx->step->device.type == EMBER_DEVICE_CPU ? NULL : ctx->step->provider;
    ember_status status = exec_tensor_alloc(t, owner, ctx->step->device, dtype, dims, rank);
    if (status != EMBER_OK)
        return ember_fail_prefix(status, "node '%s' (%s): output %zu", node->name,
                                 node->op_type, index);
    *out = &t->view;
    return EMBER_OK;
}

ember_status exec_ctx_scratch(ember_kernel_context *ctx, size_t bytes, void **out)
{
    void **grown = util_realloc(ctx->scratch, (ctx->n_scratch + 1) * sizeof *grown);
    if (!grown)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory for scratch");
    ctx->scratch = grown;
    if (on_device(ctx)) {
        /* Device memory from the kernel's provider (its alignment). */
        void *ptr = NULL;
        EMBER_TRY(provider_alloc(ctx->step->provider, ctx->step->device.id, bytes ? bytes : 64,
                                 &ptr));
        ctx->scratch[ctx->n_scratch++] = ptr;
        *out = ptr;
        return EMBER_OK;
    }
    void *base = util_malloc(bytes + 64);
    if (!base)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory for %zu bytes of scratch",
                          bytes);
    ctx->scratch[ctx->n_scratch++] = base;
    *out = (void *)(((uintptr_t)base + 63) & ~(uintptr_t)63);
    return EMBER_OK;
}

void exec_ctx_parallel_for(ember_kernel_context *ctx, size_t n, ember_parallel_fn fn, void *arg)
{
    exec_pool_parallel_for(ctx->run->prog->pool, n, fn, arg);
}

size_t exec_ctx_thread_count(const ember_kernel_context *ctx)
{
    return exec_pool_size(ctx->run->prog->pool);
}

/* ---- sequences and optionals in the kernel context ------------------------------ */

static const exec_tensor *input_value(const ember_kernel_context *ctx, size_t index)
{
    if (index >= ctx->step->plan->n_inputs || ctx->step->plan->inputs[index] < 0)
        return NULL;
    return &ctx->run->slots[ctx->step->plan->inputs[index]];
}

uint32_t exec_ctx_input_kind(const ember_kernel_context *ctx, size_t index)
{
    const exec_tensor *t = input_value(ctx, index);
    return t ? t->kind : EMBER_VALUE_ABSENT;
}

size_t exec_ctx_sequence_length(const ember_kernel_context *ctx, size_t index)
{
    const exec_tensor *t = input_value(ctx, index);
    return t && t->kind == EMBER_VALUE_SEQUENCE ? t->n_items : 0;
}

const ember_tensor *exec_ctx_sequence_item(const ember_kernel_context *ctx, size_t index,
                                           size_t item)
{
    const exec_tensor *t = input_value(ctx, index);
    if (!t || t->kind != EMBER_VALUE_SEQUENCE || item >= t->n_items)
        return NULL;
    return &t->items[item].view;
}

uint32_t exec_ctx_sequence_dtype(const ember_kernel_context *ctx, size_t index)
{
    const exec_tensor *t = input_value(ctx, index);
    return t && t->kind == EMBER_VALUE_SEQUENCE ? t->view.dtype : EMBER_DTYPE_UNDEFINED;
}

/* The empty output `index` of the running step, ready to be set. */
static ember_status empty_output(ember_kernel_context *ctx, size_t index, exec_tensor **out)
{
    const graph_node *node = ctx->step->node;
    if (index >= ctx->step->plan->n_outputs)
        return ember_fail(EMBER_E_INTERNAL, "node '%s' (%s): output %zu does not exist",
                          node->name, node->op_type, index);
    EMBER_TRY(output_target(ctx, index, out));
    if (is_present(*out))
        return ember_fail(EMBER_E_INTERNAL, "node '%s' (%s): output %zu allocated twice",
                          node->name, node->op_type, index);
    return EMBER_OK;
}

ember_status exec_ctx_output_sequence(ember_kernel_context *ctx, size_t index, uint32_t dtype,
                                      size_t n_items)
{
    exec_tensor *t;
    EMBER_TRY(empty_output(ctx, index, &t));
    return exec_tensor_make_sequence(t, dtype, n_items);
}

ember_status exec_ctx_output_item(ember_kernel_context *ctx, size_t index, size_t item,
                                  const int64_t *dims, size_t rank, ember_tensor **out)
{
    const graph_node *node = ctx->step->node;
    exec_tensor *t = NULL;
    if (index < ctx->step->plan->n_outputs)
        EMBER_TRY(output_target(ctx, index, &t));
    if (!t || t->kind != EMBER_VALUE_SEQUENCE || item >= t->n_items ||
        is_present(&t->items[item]))
        return ember_fail(EMBER_E_INTERNAL,
                          "node '%s' (%s): output %zu item %zu is not an empty sequence item",
                          node->name, node->op_type, index, item);
    ember_device host = {EMBER_DEVICE_CPU, 0};
    EMBER_TRY(exec_tensor_alloc(&t->items[item], NULL, host, t->view.dtype, dims, rank));
    *out = &t->items[item].view;
    return EMBER_OK;
}

ember_status exec_ctx_output_none(ember_kernel_context *ctx, size_t index)
{
    exec_tensor *t;
    EMBER_TRY(empty_output(ctx, index, &t));
    exec_tensor_make_none(t);
    return EMBER_OK;
}
