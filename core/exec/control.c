/*
 * Control flow: If, Loop, Scan and SequenceMap, run by the core on the host. Each
 * subgraph is partitioned and prepared like the main graph (so its nodes
 * go to the user's providers), and runs through exec_run_scoped with the
 * values it captures from enclosing graphs fed by name.
 */
#include <string.h>

#include "core/exec/exec_impl.h"
#include "core/util/util.h"

static const ember_device host = {EMBER_DEVICE_CPU, 0};

/* ---- prepare / release ----------------------------------------------------------- */

static ember_status prepare_sub(exec_program *prog, exec_sub *sub)
{
    partition_options placement = {false, prog->plan->options.is_grouped};
    EMBER_TRY(partition_build(sub->g, prog->providers, prog->n_providers, placement, &sub->plan));
    return exec_prepare(sub->g, sub->plan, prog->providers, prog->n_providers, prog->pool,
                        &sub->program);
}

ember_status exec_control_prepare(exec_program *prog, exec_step *step)
{
    const graph_node *node = step->node;
    step->subs = util_calloc(node->n_attrs + 1, sizeof *step->subs);
    if (!step->subs)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory preparing subgraphs");
    for (size_t a = 0; a < node->n_attrs; a++) {
        if (!node->attrs[a].subgraph)
            continue;
        exec_sub *sub = &step->subs[step->n_subs++];
        sub->attr = node->attrs[a].name;
        sub->g = node->attrs[a].subgraph;
        ember_status status = prepare_sub(prog, sub);
        if (status != EMBER_OK)
            return ember_fail_prefix(status, "node '%s' (%s), subgraph '%s'", node->name,
                                     node->op_type, sub->attr);
    }
    if (step->n_subs == 0)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (%s) has no subgraph attribute",
                          node->name, node->op_type);
    return EMBER_OK;
}

void exec_control_release(exec_step *step)
{
    for (size_t i = 0; i < step->n_subs; i++) {
        exec_destroy(step->subs[i].program);
        partition_destroy(step->subs[i].plan);
    }
    util_free(step->subs);
    step->subs = NULL;
    step->n_subs = 0;
}

static const exec_sub *find_sub(const exec_step *step, const char *attr)
{
    for (size_t i = 0; i < step->n_subs; i++)
        if (strcmp(step->subs[i].attr, attr) == 0)
            return &step->subs[i];
    return NULL;
}

/* ---- captured values ----------------------------------------------------------------- */

/* The tensor of captured value `name`: among the values the control step
 * reads beyond its inputs, in this run or an enclosing one. */
static const exec_tensor *find_captured(const exec_run_state *run, const exec_step *step,
                                        const char *name)
{
    while (run) {
        const partition_step *plan = step->plan;
        for (size_t i = step->node->n_inputs; i < plan->n_inputs; i++) {
            int slot = plan->inputs[i];
            const graph_value *v = &run->prog->g->values[run->prog->plan->slots[slot].value];
            if (strcmp(v->name, name) == 0 && exec_tensor_is_present(&run->slots[slot]))
                return &run->slots[slot];
        }
        if (!run->outer)
            return NULL;
        step = run->outer->step;
        run = run->outer->run;
    }
    return NULL;
}

/* One subgraph run: `inputs` feed the subgraph's inputs in order, captured
 * values are found by name; every subgraph output is fetched on the host. */
typedef struct sub_call {
    exec_run_state *run;
    const exec_step *step;
    const exec_sub *sub;
    exec_feed *feeds;
    exec_fetch *fetches;
} sub_call;

static ember_status call_open(sub_call *c, exec_run_state *run, const exec_step *step,
                              const exec_sub *sub)
{
    *c = (sub_call){run, step, sub, NULL, NULL};
    c->feeds = util_calloc(sub->g->n_values + 1, sizeof *c->feeds);
    c->fetches = util_calloc(sub->g->n_outputs + 1, sizeof *c->fetches);
    if (!c->feeds || !c->fetches)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory running a subgraph");
    return EMBER_OK;
}

static void call_release_results(sub_call *c)
{
    for (size_t i = 0; c->fetches && i < c->sub->g->n_outputs; i++)
        exec_tensor_release(&c->fetches[i].result);
}

static void call_close(sub_call *c)
{
    call_release_results(c);
    util_free(c->feeds);
    util_free(c->fetches);
}

static ember_status call_run(sub_call *c, const exec_tensor *const *inputs, size_t n_inputs)
{
    const graph *g = c->sub->g;
    if (n_inputs != g->n_inputs)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "node '%s' (%s): subgraph '%s' takes %zu inputs, the op gives %zu",
                          c->step->node->name, c->step->node->op_type, c->sub->attr,
                          g->n_inputs, n_inputs);
    size_t n = 0;
    for (size_t i = 0; i < n_inputs; i++)
        c->feeds[n++] = (exec_feed){g->inputs[i], inputs[i]};
    exec_scope scope = {c->run, c->step};
    for (size_t i = 0; i < g->n_values; i++) {
        if (!g->values[i].is_outer_scope)
            continue;
        const exec_tensor *t = find_captured(c->run, c->step, g->values[i].name);
        if (!t)
            return ember_fail(EMBER_E_INTERNAL, "captured value '%s' is not available",
                              g->values[i].name);
        c->feeds[n++] = (exec_feed){(int)i, t};
    }
    call_release_results(c);
    for (size_t i = 0; i < g->n_outputs; i++)
        c->fetches[i] = (exec_fetch){.value = g->outputs[i], .device = host};
    ember_status status =
        exec_run_scoped(c->sub->program, c->feeds, n, c->fetches, g->n_outputs, &scope);
    if (status != EMBER_OK)
        return ember_fail_prefix(status, "node '%s' (%s), subgraph '%s'", c->step->node->name,
                                 c->step->node->op_type, c->sub->attr);
    return EMBER_OK;
}

/* ---- helpers on host tensors ---------------------------------------------------------- */

static const exec_tensor *step_input(const exec_run_state *run, const exec_step *step,
                                     size_t index)
{
    if (index >= step->node->n_inputs || step->plan->inputs[index] < 0)
        return NULL;
    const exec_tensor *t = &run->slots[step->plan->inputs[index]];
    return exec_tensor_is_present(t) ? t : NULL;
}

/* Input `index` when it is a tensor, else NULL. */
static const ember_tensor *step_tensor(const exec_run_state *run, const exec_step *step,
                                       size_t index)
{
    const exec_tensor *t = step_input(run, step, index);
    return t && t->kind == EMBER_VALUE_TENSOR ? &t->view : NULL;
}

/* Moves an owned result into output `index` of the step (copying borrowed
 * data); an output the graph leaves unnamed is dropped. */
static ember_status emit(exec_run_state *run, const exec_step *step, size_t index,
                         exec_tensor *src)
{
    int slot = index < step->plan->n_outputs ? step->plan->outputs[index] : -1;
    if (slot < 0) {
        exec_tensor_release(src);
        return EMBER_OK;
    }
    exec_tensor *dst = &run->slots[slot];
    if (src->is_owned || src->kind == EMBER_VALUE_NONE) {
        *dst = *src;
        memset(src, 0, sizeof *src);
        return EMBER_OK;
    }
    ember_status status = exec_tensor_dup(dst, src);
    exec_tensor_release(src);
    return status;
}

/* Takes over `src` (owned), or makes an owned copy of borrowed data. */
static ember_status take(exec_tensor *dst, exec_tensor *src)
{
    if (src->is_owned || src->kind == EMBER_VALUE_NONE) {
        *dst = *src;
        memset(src, 0, sizeof *src);
        return EMBER_OK;
    }
    return exec_tensor_dup(dst, src);
}

static ember_status emit_copy(exec_run_state *run, const exec_step *step, size_t index,
                              const exec_tensor *src)
{
    exec_tensor t;
    EMBER_TRY(exec_tensor_dup(&t, src));
    return emit(run, step, index, &t);
}

static ember_status read_scalar_bool(const exec_step *step, const ember_tensor *t, bool *out)
{
    if (t->dtype != EMBER_DTYPE_BOOL || exec_tensor_bytes(t) != 1)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "node '%s' (%s): the condition must be one bool, got %s of %zu bytes",
                          step->node->name, step->node->op_type, ember_dtype_name(t->dtype),
                          exec_tensor_bytes(t));
    *out = *(const uint8_t *)t->data != 0;
    return EMBER_OK;
}

/* Copies `count` elements from src[src_at..] to dst[dst_at..]; strings are
 * deep-copied. */
static ember_status copy_elements(const ember_tensor *dst, size_t dst_at,
                                  const ember_tensor *src, size_t src_at, size_t count)
{
    if (src->dtype != EMBER_DTYPE_STRING) {
        size_t size = ember_dtype_size((ember_dtype)src->dtype);
        memcpy((char *)dst->data + dst_at * size, (const char *)src->data + src_at * size,
               count * size);
        return EMBER_OK;
    }
    const ember_string *s = src->data;
    for (size_t i = 0; i < count; i++)
        EMBER_TRY(exec_tensor_set_string((ember_tensor *)dst, dst_at + i, s[src_at + i].data,
                                         s[src_at + i].size));
    return EMBER_OK;
}

static size_t product(const int64_t *dims, size_t from, size_t to)
{
    size_t n = 1;
    for (size_t i = from; i < to; i++)
        n *= (size_t)dims[i];
    return n;
}

/* Stacks `n` tensors of one shape into a new axis `axis` of `out`. */
static ember_status stack(exec_tensor *out, exec_tensor *parts, size_t n, size_t axis,
                          bool reverse, const ember_tensor *like)
{
    const ember_tensor *first = n ? &parts[0].view : like;
    size_t rank = first->rank;
    int64_t dims[rank + 1];
    for (size_t i = 0, j = 0; i <= rank; i++)
        dims[i] = i == axis ? (int64_t)n : first->dims[j++];
    EMBER_TRY(exec_tensor_alloc(out, NULL, host, first->dtype, dims, rank + 1));
    size_t outer = product(first->dims, 0, axis), inner = product(first->dims, axis, rank);
    ember_status status = EMBER_OK;
    for (size_t t = 0; t < n && status == EMBER_OK; t++) {
        const ember_tensor *part = &parts[reverse ? n - 1 - t : t].view;
        if (part->rank != rank || part->dtype != first->dtype ||
            product(part->dims, 0, rank) != outer * inner)
            status = ember_fail(EMBER_E_INVALID_ARGUMENT,
                                "scan output parts differ in shape between iterations");
        for (size_t o = 0; o < outer && status == EMBER_OK; o++)
            status = copy_elements(&out->view, (o * n + t) * inner, part, o * inner, inner);
    }
    if (status != EMBER_OK)
        exec_tensor_release(out);
    return status;
}

/* Slice t along `axis` of src, the axis removed, into a new host tensor. */
static ember_status slice(exec_tensor *out, const ember_tensor *src, size_t axis, size_t t)
{
    int64_t dims[src->rank > 0 ? src->rank : 1];
    for (size_t i = 0, j = 0; i < src->rank; i++)
        if (i != axis)
            dims[j++] = src->dims[i];
    EMBER_TRY(exec_tensor_alloc(out, NULL, host, src->dtype, dims, src->rank - 1));
    size_t outer = product(src->dims, 0, axis), inner = product(src->dims, axis + 1, src->rank);
    size_t length = (size_t)src->dims[axis];
    ember_status status = EMBER_OK;
    for (size_t o = 0; o < outer && status == EMBER_OK; o++)
        status = copy_elements(&out->view, o * inner, src, (o * length + t) * inner, inner);
    if (status != EMBER_OK)
        exec_tensor_release(out);
    return status;
}

/* ---- If ------------------------------------------------------------------------------ */

static ember_status run_if(exec_run_state *run, const exec_step *step)
{
    const ember_tensor *cond_t = step_tensor(run, step, 0);
    bool cond;
    if (!cond_t)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (If) has no condition",
                          step->node->name);
    EMBER_TRY(read_scalar_bool(step, cond_t, &cond));
    const exec_sub *sub = find_sub(step, cond ? "then_branch" : "else_branch");
    if (!sub)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (If) lacks its %s", step->node->name,
                          cond ? "then_branch" : "else_branch");
    if (sub->g->n_outputs != step->node->n_outputs)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (If): branch has %zu outputs, node %zu",
                          step->node->name, sub->g->n_outputs, step->node->n_outputs);
    sub_call c;
    ember_status status = call_open(&c, run, step, sub);
    if (status == EMBER_OK)
        status = call_run(&c, NULL, 0);
    for (size_t i = 0; status == EMBER_OK && i < step->node->n_outputs; i++)
        status = emit(run, step, i, &c.fetches[i].result);
    call_close(&c);
    return status;
}

/* ---- Loop ------------------------------------------------------------------------------ */

typedef struct loop_state {
    size_t n_carried, n_scan;
    exec_tensor *carried;     /* owned after the first iteration */
    exec_tensor **scan_parts; /* n_scan lists of per-iteration tensors */
    size_t n_iterations, cap_iterations;
} loop_state;

static void loop_release(loop_state *s)
{
    for (size_t i = 0; s->carried && i < s->n_carried; i++)
        exec_tensor_release(&s->carried[i]);
    for (size_t k = 0; s->scan_parts && k < s->n_scan; k++) {
        for (size_t t = 0; s->scan_parts[k] && t < s->n_iterations; t++)
            exec_tensor_release(&s->scan_parts[k][t]);
        util_free(s->scan_parts[k]);
    }
    util_free(s->carried);
    util_free(s->scan_parts);
}

static ember_status loop_init(loop_state *s, size_t n_carried, size_t n_scan)
{
    *s = (loop_state){n_carried, n_scan, NULL, NULL, 0, 0};
    s->carried = util_calloc(n_carried + 1, sizeof *s->carried);
    s->scan_parts = util_calloc(n_scan + 1, sizeof *s->scan_parts);
    if (!s->carried || !s->scan_parts)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory running a loop");
    return EMBER_OK;
}

/* Takes the scan outputs of one iteration (results first_scan..). */
static ember_status loop_keep_scans(loop_state *s, exec_fetch *results, size_t first_scan)
{
    if (s->n_iterations == s->cap_iterations) {
        size_t cap = s->cap_iterations ? s->cap_iterations * 2 : 8;
        for (size_t k = 0; k < s->n_scan; k++) {
            exec_tensor *grown = util_realloc(s->scan_parts[k], cap * sizeof *grown);
            if (!grown)
                return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory collecting scan outputs");
            s->scan_parts[k] = grown;
        }
        s->cap_iterations = cap;
    }
    for (size_t k = 0; k < s->n_scan; k++) {
        exec_tensor *part = &s->scan_parts[k][s->n_iterations];
        memset(part, 0, sizeof *part);
        EMBER_TRY(take(part, &results[first_scan + k].result));
    }
    s->n_iterations++;
    return EMBER_OK;
}

/* Replaces the carried values with results first..first+n_carried. */
static ember_status loop_carry(loop_state *s, exec_fetch *results, size_t first)
{
    for (size_t i = 0; i < s->n_carried; i++) {
        exec_tensor_release(&s->carried[i]);
        EMBER_TRY(take(&s->carried[i], &results[first + i].result));
    }
    return EMBER_OK;
}

static ember_status loop_outputs(exec_run_state *run, const exec_step *step, loop_state *s,
                                 const exec_tensor *const *initial, const exec_sub *body)
{
    for (size_t i = 0; i < s->n_carried; i++) {
        if (s->n_iterations)
            EMBER_TRY(emit(run, step, i, &s->carried[i]));
        else
            EMBER_TRY(emit_copy(run, step, i, initial[i]));
    }
    for (size_t k = 0; k < s->n_scan; k++) {
        const graph_value *v = &body->g->values[body->g->outputs[1 + s->n_carried + k]];
        int64_t zero_dims[1] = {0};
        ember_tensor like = {NULL, zero_dims, 0, v->type.dtype ? v->type.dtype : 1, 0, 0};
        exec_tensor stacked;
        EMBER_TRY(stack(&stacked, s->scan_parts[k], s->n_iterations, 0, false, &like));
        EMBER_TRY(emit(run, step, s->n_carried + k, &stacked));
    }
    return EMBER_OK;
}

static ember_status loop_iterate(sub_call *c, loop_state *s, const exec_tensor *const *initial,
                                 int64_t trip_limit, bool cond)
{
    int64_t iteration = 0;
    uint8_t cond_byte = cond;
    int64_t scalar_dims[1] = {0};
    /* Borrowed scalars: never released, so their dims may be a local array. */
    exec_tensor iter_t = {.view = {&iteration, scalar_dims, 0, EMBER_DTYPE_INT64, 0, 0},
                          .kind = EMBER_VALUE_TENSOR};
    exec_tensor cond_t = {.view = {&cond_byte, scalar_dims, 0, EMBER_DTYPE_BOOL, 0, 0},
                          .kind = EMBER_VALUE_TENSOR};
    const exec_tensor *inputs[2 + s->n_carried];
    while ((trip_limit < 0 || iteration < trip_limit) && cond_byte) {
        inputs[0] = &iter_t;
        inputs[1] = &cond_t;
        for (size_t i = 0; i < s->n_carried; i++)
            inputs[2 + i] = iteration ? &s->carried[i] : initial[i];
        EMBER_TRY(call_run(c, inputs, 2 + s->n_carried));
        bool next;
        EMBER_TRY(read_scalar_bool(c->step, &c->fetches[0].result.view, &next));
        EMBER_TRY(loop_carry(s, c->fetches, 1));
        EMBER_TRY(loop_keep_scans(s, c->fetches, 1 + s->n_carried));
        cond_byte = next;
        iteration++;
    }
    return EMBER_OK;
}

static ember_status loop_bounds(exec_run_state *run, const exec_step *step, int64_t *limit,
                                bool *cond)
{
    const ember_tensor *m = step_tensor(run, step, 0), *c = step_tensor(run, step, 1);
    *limit = -1;
    *cond = true;
    if (m && (m->dtype != EMBER_DTYPE_INT64 || exec_tensor_bytes(m) != 8))
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (Loop): M must be one int64",
                          step->node->name);
    if (m)
        *limit = *(const int64_t *)m->data;
    if (c)
        EMBER_TRY(read_scalar_bool(step, c, cond));
    return EMBER_OK;
}

static ember_status run_loop(exec_run_state *run, const exec_step *step)
{
    const exec_sub *body = find_sub(step, "body");
    const graph_node *node = step->node;
    if (!body || node->n_inputs < 2 || body->g->n_outputs < 1 + (node->n_inputs - 2) ||
        node->n_outputs < node->n_inputs - 2)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "node '%s' (Loop): body inputs/outputs do not match the node",
                          node->name);
    size_t n_carried = node->n_inputs - 2, n_scan = body->g->n_outputs - 1 - n_carried;
    int64_t limit;
    bool cond;
    EMBER_TRY(loop_bounds(run, step, &limit, &cond));
    const exec_tensor *initial[n_carried + 1];
    for (size_t i = 0; i < n_carried; i++)
        if (!(initial[i] = step_input(run, step, 2 + i)))
            return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                              "node '%s' (Loop): loop-carried value %zu is absent", node->name, i);
    loop_state s;
    sub_call c = {0};
    ember_status status = loop_init(&s, n_carried, n_scan);
    if (status == EMBER_OK)
        status = call_open(&c, run, step, body);
    if (status == EMBER_OK)
        status = loop_iterate(&c, &s, initial, limit, cond);
    if (status == EMBER_OK)
        status = loop_outputs(run, step, &s, initial, body);
    if (c.feeds || c.fetches)
        call_close(&c);
    loop_release(&s);
    return status;
}

/* ---- Scan (opset 9 and later) ------------------------------------------------------------ */

typedef struct scan_attrs {
    size_t n_state, n_in, n_out;
    int64_t in_axes[64], in_dirs[64], out_axes[64], out_dirs[64];
} scan_attrs;

static int64_t attr_ints_at(const graph_node *node, const char *name, size_t i, int64_t dflt)
{
    const graph_attr *a = graph_node_attr(node, name);
    return a && a->view.type == EMBER_ATTR_INTS && i < a->view.n ? a->view.ints[i] : dflt;
}

static ember_status scan_read_attrs(const exec_step *step, const exec_sub *body, scan_attrs *a)
{
    const graph_node *node = step->node;
    const graph_attr *m = graph_node_attr(node, "num_scan_inputs");
    if (!m || m->view.i < 1 || (size_t)m->view.i > node->n_inputs || m->view.i > 64)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (Scan): bad num_scan_inputs",
                          node->name);
    a->n_in = (size_t)m->view.i;
    a->n_state = node->n_inputs - a->n_in;
    if (body->g->n_outputs < a->n_state || body->g->n_outputs - a->n_state > 64)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (Scan): body has too few outputs",
                          node->name);
    a->n_out = body->g->n_outputs - a->n_state;
    for (size_t i = 0; i < a->n_in; i++) {
        a->in_axes[i] = attr_ints_at(node, "scan_input_axes", i, 0);
        a->in_dirs[i] = attr_ints_at(node, "scan_input_directions", i, 0);
    }
    for (size_t k = 0; k < a->n_out; k++) {
        a->out_axes[k] = attr_ints_at(node, "scan_output_axes", k, 0);
        a->out_dirs[k] = attr_ints_at(node, "scan_output_directions", k, 0);
    }
    return EMBER_OK;
}

/* Normalizes the scan input axes and finds the common sequence length. */
static ember_status scan_length(exec_run_state *run, const exec_step *step, scan_attrs *a,
                                size_t *length)
{
    for (size_t i = 0; i < a->n_in; i++) {
        const ember_tensor *t = step_tensor(run, step, a->n_state + i);
        int64_t axis = a->in_axes[i];
        if (!t || axis < -(int64_t)t->rank || axis >= (int64_t)t->rank)
            return ember_fail(EMBER_E_INVALID_ARGUMENT,
                              "node '%s' (Scan): scan input %zu is absent or axis %lld is out of "
                              "range",
                              step->node->name, i, (long long)axis);
        a->in_axes[i] = axis < 0 ? axis + t->rank : axis;
        size_t len = (size_t)t->dims[a->in_axes[i]];
        if (i > 0 && len != *length)
            return ember_fail(EMBER_E_INVALID_ARGUMENT,
                              "node '%s' (Scan): scan inputs differ in length (%zu vs %zu)",
                              step->node->name, len, *length);
        *length = len;
    }
    return EMBER_OK;
}

/* Runs the body over `length` steps; sources[i] is scan input i. */
static ember_status scan_iterate(sub_call *c, loop_state *s, const scan_attrs *a,
                                 size_t length, const exec_tensor *const *initial,
                                 const ember_tensor *const *sources)
{
    const exec_tensor *inputs[a->n_state + a->n_in + 1];
    exec_tensor slices[a->n_in + 1];
    memset(slices, 0, sizeof slices);
    ember_status status = EMBER_OK;
    for (size_t t = 0; t < length && status == EMBER_OK; t++) {
        for (size_t i = 0; i < a->n_state; i++)
            inputs[i] = t ? &s->carried[i] : initial[i];
        for (size_t i = 0; i < a->n_in && status == EMBER_OK; i++) {
            const ember_tensor *src = sources[i];
            exec_tensor_release(&slices[i]);
            status = slice(&slices[i], src, (size_t)a->in_axes[i],
                           a->in_dirs[i] ? length - 1 - t : t);
            inputs[a->n_state + i] = &slices[i];
        }
        if (status == EMBER_OK)
            status = call_run(c, inputs, a->n_state + a->n_in);
        if (status == EMBER_OK)
            status = loop_carry(s, c->fetches, 0);
        if (status == EMBER_OK)
            status = loop_keep_scans(s, c->fetches, a->n_state);
    }
    for (size_t i = 0; i < a->n_in; i++)
        exec_tensor_release(&slices[i]);
    return status;
}

static ember_status scan_outputs(exec_run_state *run, const exec_step *step, loop_state *s,
                                 const scan_attrs *a, const exec_tensor *const *initial,
                                 const exec_sub *body)
{
    for (size_t i = 0; i < a->n_state; i++) {
        if (s->n_iterations)
            EMBER_TRY(emit(run, step, i, &s->carried[i]));
        else
            EMBER_TRY(emit_copy(run, step, i, initial[i]));
    }
    for (size_t k = 0; k < a->n_out; k++) {
        const graph_value *v = &body->g->values[body->g->outputs[a->n_state + k]];
        int64_t zero_dims[1] = {0};
        ember_tensor like = {NULL, zero_dims, 0, v->type.dtype ? v->type.dtype : 1, 0, 0};
        size_t rank = s->n_iterations ? s->scan_parts[k][0].view.rank : 0;
        int64_t axis = a->out_axes[k] < 0 ? a->out_axes[k] + (int64_t)rank + 1 : a->out_axes[k];
        if (axis < 0 || axis > (int64_t)rank)
            return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (Scan): scan output axis %lld",
                              step->node->name, (long long)a->out_axes[k]);
        exec_tensor stacked;
        EMBER_TRY(stack(&stacked, s->scan_parts[k], s->n_iterations, (size_t)axis,
                        a->out_dirs[k] != 0, &like));
        EMBER_TRY(emit(run, step, a->n_state + k, &stacked));
    }
    return EMBER_OK;
}

static ember_status run_scan8(exec_run_state *run, const exec_step *step,
                              const exec_sub *body);

static ember_status run_scan(exec_run_state *run, const exec_step *step)
{
    const exec_sub *body = find_sub(step, "body");
    scan_attrs a = {0};
    size_t length = 0;
    if (!body)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (Scan) has no body",
                          step->node->name);
    if (step->node->opset < 9)
        return run_scan8(run, step, body);
    EMBER_TRY(scan_read_attrs(step, body, &a));
    EMBER_TRY(scan_length(run, step, &a, &length));
    const exec_tensor *initial[a.n_state + 1];
    for (size_t i = 0; i < a.n_state; i++)
        if (!(initial[i] = step_input(run, step, i)))
            return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (Scan): state %zu is absent",
                              step->node->name, i);
    const ember_tensor *sources[a.n_in + 1];
    for (size_t i = 0; i < a.n_in; i++)
        sources[i] = step_tensor(run, step, a.n_state + i);
    loop_state s;
    sub_call c = {0};
    ember_status status = loop_init(&s, a.n_state, a.n_out);
    if (status == EMBER_OK)
        status = call_open(&c, run, step, body);
    if (status == EMBER_OK)
        status = scan_iterate(&c, &s, &a, length, initial, sources);
    if (status == EMBER_OK)
        status = scan_outputs(run, step, &s, &a, initial, body);
    if (c.feeds || c.fetches)
        call_close(&c);
    loop_release(&s);
    return status;
}

/* ---- Scan-8: a batch axis in front ------------------------------------------------------- */
/* Inputs: optional sequence_lens, then the states [batch, ...] and the scan
 * inputs [batch, sequence, ...]; each batch entry is one Scan-9 run over
 * axis 0 of its slices, and the results are stacked again on a batch axis. */

static ember_status scan8_attrs(const exec_step *step, const exec_sub *body, scan_attrs *a)
{
    const graph_node *node = step->node;
    const graph_attr *m = graph_node_attr(node, "num_scan_inputs");
    if (!m || m->view.i < 1 || (size_t)m->view.i + 1 > node->n_inputs || m->view.i > 64 ||
        body->g->n_outputs + 1 + (size_t)m->view.i < node->n_inputs ||
        body->g->n_outputs + 1 + (size_t)m->view.i - node->n_inputs > 64)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (Scan-8): bad num_scan_inputs or body",
                          node->name);
    a->n_in = (size_t)m->view.i;
    a->n_state = node->n_inputs - 1 - a->n_in;
    a->n_out = body->g->n_outputs - a->n_state;
    for (size_t i = 0; i < a->n_in; i++)
        a->in_dirs[i] = attr_ints_at(node, "directions", i, 0);
    return EMBER_OK;
}

/* The batch size, checked on every state and scan input. */
static ember_status scan8_batch(exec_run_state *run, const exec_step *step, const scan_attrs *a,
                                size_t *batch)
{
    for (size_t i = 0; i < a->n_state + a->n_in; i++) {
        const ember_tensor *t = step_tensor(run, step, 1 + i);
        size_t min_rank = i < a->n_state ? 1 : 2;
        if (!t || t->rank < min_rank || (i > 0 && (size_t)t->dims[0] != *batch))
            return ember_fail(EMBER_E_INVALID_ARGUMENT,
                              "node '%s' (Scan-8): input %zu is absent or lacks the batch axis",
                              step->node->name, 1 + i);
        *batch = (size_t)t->dims[0];
    }
    const ember_tensor *lens = step_tensor(run, step, 0);
    const ember_tensor *first = step_tensor(run, step, 1 + a->n_state);
    for (size_t b = 0; lens && b < *batch; b++)
        if (lens->dtype != EMBER_DTYPE_INT64 || exec_tensor_bytes(lens) < 8 * *batch ||
            ((const int64_t *)lens->data)[b] != first->dims[1])
            return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                              "node '%s' (Scan-8): sequence_lens shorter than the scan inputs",
                              step->node->name);
    return EMBER_OK;
}

/* One batch entry: runs the scan and leaves its final states and stacked
 * scan outputs in states[i * batch + b] and scans[k * batch + b]. */
static ember_status scan8_entry(sub_call *c, const scan_attrs *a, size_t b, size_t batch,
                                exec_tensor *states, exec_tensor *scans)
{
    exec_tensor parts[a->n_state + a->n_in + 1];
    const exec_tensor *initial[a->n_state + 1];
    const ember_tensor *sources[a->n_in + 1];
    memset(parts, 0, sizeof parts);
    ember_status status = EMBER_OK;
    for (size_t i = 0; i < a->n_state + a->n_in && status == EMBER_OK; i++)
        status = slice(&parts[i], step_tensor(c->run, c->step, 1 + i), 0, b);
    for (size_t i = 0; i < a->n_state; i++)
        initial[i] = &parts[i];
    for (size_t i = 0; i < a->n_in; i++)
        sources[i] = &parts[a->n_state + i].view;
    loop_state s;
    if (status == EMBER_OK)
        status = loop_init(&s, a->n_state, a->n_out);
    size_t length = status == EMBER_OK ? (size_t)sources[0]->dims[0] : 0;
    if (status == EMBER_OK)
        status = scan_iterate(c, &s, a, length, initial, sources);
    for (size_t i = 0; i < a->n_state && status == EMBER_OK; i++)
        status = s.n_iterations ? take(&states[i * batch + b], &s.carried[i])
                                : exec_tensor_dup(&states[i * batch + b], initial[i]);
    for (size_t k = 0; k < a->n_out && status == EMBER_OK; k++)
        status = stack(&scans[k * batch + b], s.scan_parts[k], s.n_iterations, 0, false,
                       &parts[0].view);
    if (s.carried)
        loop_release(&s);
    for (size_t i = 0; i < a->n_state + a->n_in; i++)
        exec_tensor_release(&parts[i]);
    return status;
}

static ember_status scan8_emit(exec_run_state *run, const exec_step *step, exec_tensor *parts,
                               size_t batch, size_t first_output, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        exec_tensor stacked;
        EMBER_TRY(stack(&stacked, &parts[i * batch], batch, 0, false, &parts[0].view));
        EMBER_TRY(emit(run, step, first_output + i, &stacked));
    }
    return EMBER_OK;
}

static ember_status run_scan8(exec_run_state *run, const exec_step *step,
                              const exec_sub *body)
{
    scan_attrs a = {0};
    size_t batch = 0;
    EMBER_TRY(scan8_attrs(step, body, &a));
    EMBER_TRY(scan8_batch(run, step, &a, &batch));
    exec_tensor *states = util_calloc(a.n_state * batch + 1, sizeof *states);
    exec_tensor *scans = util_calloc(a.n_out * batch + 1, sizeof *scans);
    sub_call c = {0};
    ember_status status = states && scans ? call_open(&c, run, step, body)
                                          : ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory");
    for (size_t b = 0; b < batch && status == EMBER_OK; b++)
        status = scan8_entry(&c, &a, b, batch, states, scans);
    if (status == EMBER_OK)
        status = scan8_emit(run, step, states, batch, 0, a.n_state);
    if (status == EMBER_OK)
        status = scan8_emit(run, step, scans, batch, a.n_state, a.n_out);
    if (c.feeds || c.fetches)
        call_close(&c);
    for (size_t i = 0; states && i < a.n_state * batch; i++)
        exec_tensor_release(&states[i]);
    for (size_t i = 0; scans && i < a.n_out * batch; i++)
        exec_tensor_release(&scans[i]);
    util_free(states);
    util_free(scans);
    return status;
}

/* ---- SequenceMap ----------------------------------------------------------------------- */

/* The common length of the sequence inputs. */
static ember_status map_length(exec_run_state *run, const exec_step *step, size_t *length)
{
    bool is_known = false;
    for (size_t k = 0; k < step->node->n_inputs; k++) {
        const exec_tensor *t = step_input(run, step, k);
        if (!t)
            return ember_fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (SequenceMap): input %zu is "
                              "absent", step->node->name, k);
        if (t->kind != EMBER_VALUE_SEQUENCE)
            continue;
        if (is_known && t->n_items != *length)
            return ember_fail(EMBER_E_INVALID_ARGUMENT,
                              "node '%s' (SequenceMap): input %zu has %zu items, input 0 has %zu",
                              step->node->name, k, t->n_items, *length);
        *length = t->n_items;
        is_known = true;
    }
    if (!is_known)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "node '%s' (SequenceMap): input 0 must be a sequence", step->node->name);
    return EMBER_OK;
}

static ember_status map_outputs(exec_run_state *run, const exec_step *step, loop_state *s,
                                const exec_sub *body)
{
    for (size_t j = 0; j < s->n_scan; j++) {
        const graph_value *v = &body->g->values[body->g->outputs[j]];
        uint32_t dtype = s->n_iterations ? s->scan_parts[j][0].view.dtype : v->type.dtype;
        exec_tensor seq;
        EMBER_TRY(exec_tensor_make_sequence(&seq, dtype, s->n_iterations));
        for (size_t i = 0; i < s->n_iterations; i++) {
            seq.items[i] = s->scan_parts[j][i];
            memset(&s->scan_parts[j][i], 0, sizeof s->scan_parts[j][i]);
        }
        EMBER_TRY(emit(run, step, j, &seq));
    }
    return EMBER_OK;
}

static ember_status map_iterate(sub_call *c, loop_state *s, size_t length)
{
    size_t n = c->step->node->n_inputs;
    const exec_tensor *inputs[n + 1];
    for (size_t i = 0; i < length; i++) {
        for (size_t k = 0; k < n; k++) {
            const exec_tensor *t = step_input(c->run, c->step, k);
            inputs[k] = t->kind == EMBER_VALUE_SEQUENCE ? &t->items[i] : t;
        }
        EMBER_TRY(call_run(c, inputs, n));
        EMBER_TRY(loop_keep_scans(s, c->fetches, 0));
    }
    return EMBER_OK;
}

static ember_status run_sequence_map(exec_run_state *run, const exec_step *step)
{
    const exec_sub *body = find_sub(step, "body");
    size_t length = 0;
    if (!body)
        return ember_fail(EMBER_E_INVALID_MODEL, "node '%s' (SequenceMap) has no body",
                          step->node->name);
    EMBER_TRY(map_length(run, step, &length));
    loop_state s;
    sub_call c = {0};
    ember_status status = loop_init(&s, 0, body->g->n_outputs);
    if (status == EMBER_OK)
        status = call_open(&c, run, step, body);
    if (status == EMBER_OK)
        status = map_iterate(&c, &s, length);
    if (status == EMBER_OK)
        status = map_outputs(run, step, &s, body);
    if (c.feeds || c.fetches)
        call_close(&c);
    loop_release(&s);
    return status;
}

/* ---- dispatch --------------------------------------------------------------------------- */

ember_status exec_control_run(exec_run_state *run, const exec_step *step)
{
    const char *op = step->node->op_type;
    if (strcmp(op, "If") == 0)
        return run_if(run, step);
    if (strcmp(op, "Loop") == 0)
        return run_loop(run, step);
    if (strcmp(op, "SequenceMap") == 0)
        return run_sequence_map(run, step);
    return run_scan(run, step);
}
