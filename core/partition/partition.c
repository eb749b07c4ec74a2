/*
 * Builds a partition_plan (see partition.h) in four passes:
 *   1. assign: each node goes to the first provider that claims it;
 *   2. slots: every graph value gets a slot on its home device;
 *   3. steps: kernels in topological order, each preceded by the copy
 *      steps that bring its inputs onto its device (one per value+device);
 *      a group's copies all come before its first member;
 *   4. groups: the inputs and outputs of each group.
 */
#include "core/partition/partition.h"

#include <stdio.h>
#include <string.h>

#include "core/util/util.h"

typedef struct builder {
    const graph *g;
    const partition_provider *providers;
    size_t n_providers;
    partition_plan *plan;
    size_t cap_slots, cap_steps, cap_groups;
    int *group_of;       /* per node: index into plan->groups, or -1 */
} builder;

static const ember_device host_device = {EMBER_DEVICE_CPU, 0};

/* ---- pass 1: assign ------------------------------------------------------- */

static void describe_inputs(const graph *g, const graph_node *node, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < node->n_inputs && used < size; i++) {
        const char *type = "absent";
        if (node->inputs[i] >= 0) {
            uint32_t dtype = g->values[node->inputs[i]].type.dtype;
            type = dtype ? ember_dtype_name((ember_dtype)dtype) : "unknown";
        }
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", type);
    }
}

static ember_status unclaimed(const builder *b, const graph_node *node)
{
    char types[256], names[256];
    size_t used = 0;
    describe_inputs(b->g, node, types, sizeof types);
    names[0] = '\0';
    for (size_t i = 0; i < b->n_providers && used < sizeof names; i++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 b->providers[i].name);
    return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                      "node '%s' (op %s, domain '%s', opset %lld, inputs (%s)) is not "
                      "supported by any provider (%s)",
                      node->name, node->op_type, node->domain, (long long)node->opset, types,
                      names);
}

static ember_status assign_node(builder *b, size_t index, bool strict)
{
    const graph_node *node = &b->g->nodes[index];
    ember_node view = graph_node_view(b->g, node);
    if (partition_is_control(node)) {
        b->plan->node_provider[index] = PARTITION_CORE;
        return EMBER_OK;
    }
    for (size_t p = 0; p < b->n_providers; p++) {
        bool claimed = false;
        EMBER_TRY(provider_claim(b->providers[p].instance, &view, &claimed));
        if (!claimed)
            continue;
        if (strict && p > 0)
            return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                              "node '%s' (%s) is not claimed by %s and strict placement "
                              "forbids falling back to %s",
                              node->name, node->op_type, b->providers[0].name,
                              b->providers[p].name);
        b->plan->node_provider[index] = (int)p;
        return EMBER_OK;
    }
    return unclaimed(b, node);
}

static ember_status assign_all(builder *b)
{
    for (size_t i = 0; i < b->g->n_nodes; i++)
        EMBER_TRY(assign_node(b, b->g->node_order[i], b->plan->options.is_strict));
    return EMBER_OK;
}

/* ---- pass 2: home slots ---------------------------------------------------- */

static ember_status add_slot(builder *b, int value, int source, ember_device device, int *index)
{
    partition_plan *plan = b->plan;
    EMBER_TRY(util_grow((void **)&plan->slots, &b->cap_slots, plan->n_slots + 1,
                        sizeof *plan->slots));
    plan->slots[plan->n_slots] = (partition_slot){value, source, device};
    *index = (int)plan->n_slots++;
    return EMBER_OK;
}

static ember_device home_device(const builder *b, const graph_value *v)
{
    if (v->producer < 0 || b->plan->node_provider[v->producer] == PARTITION_CORE)
        return host_device;
    return b->providers[b->plan->node_provider[v->producer]].device;
}

static ember_status add_home_slots(builder *b)
{
    for (size_t i = 0; i < b->g->n_values; i++) {
        int index;
        EMBER_TRY(add_slot(b, (int)i, -1, home_device(b, &b->g->values[i]), &index));
    }
    return EMBER_OK;
}

/* ---- pass 3: steps --------------------------------------------------------- */

static int find_copy(const partition_plan *plan, size_t first_copy, int value,
                     ember_device device)
{
    for (size_t i = first_copy; i < plan->n_slots; i++)
        if (plan->slots[i].value == value && partition_same_device(plan->slots[i].device, device))
            return (int)i;
    return -1;
}

static int provider_for_device(const builder *b, ember_device device)
{
    for (size_t p = 0; p < b->n_providers; p++)
        if (partition_same_device(b->providers[p].device, device))
            return (int)p;
    return -1;
}

static ember_status add_step(builder *b, int node, int provider, size_t n_inputs,
                             size_t n_outputs, partition_step **out)
{
    partition_plan *plan = b->plan;
    EMBER_TRY(util_grow((void **)&plan->steps, &b->cap_steps, plan->n_steps + 1,
                        sizeof *plan->steps));
    partition_step *step = &plan->steps[plan->n_steps];
    *step = (partition_step){node, provider, n_inputs, NULL, n_outputs, NULL};
    step->inputs = util_calloc(n_inputs ? n_inputs : 1, sizeof *step->inputs);
    step->outputs = util_calloc(n_outputs ? n_outputs : 1, sizeof *step->outputs);
    plan->n_steps++; /* counted now so that partition_destroy frees the arrays */
    if (!step->inputs || !step->outputs)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory planning steps");
    *out = step;
    return EMBER_OK;
}

/* The provider that performs a copy between two devices: the one on the
 * non-host side (the destination when both are devices). */
static int copy_provider(const builder *b, ember_device from, ember_device to)
{
    if (to.type != EMBER_DEVICE_CPU)
        return provider_for_device(b, to);
    if (from.type != EMBER_DEVICE_CPU)
        return provider_for_device(b, from);
    return -1;
}

/* The slot through which a kernel on `device` reads graph value `value`,
 * adding a copy step the first time a (value, device) pair is needed. */
static ember_status reading_slot(builder *b, int value, ember_device device, int *slot)
{
    const graph_value *v = &b->g->values[value];
    partition_plan *plan = b->plan;
    /* Fed at run time: graph inputs (initializers listed as inputs may be
     * fed too) and, in a subgraph, the values captured from outside. */
    bool is_fed = v->is_graph_input || v->is_outer_scope;
    if (!is_fed && partition_same_device(plan->slots[value].device, device)) {
        *slot = value;
        return EMBER_OK;
    }
    *slot = find_copy(plan, b->g->n_values, value, device);
    if (*slot >= 0)
        return EMBER_OK;
    partition_step *step;
    ember_device from = plan->slots[value].device;
    EMBER_TRY(add_slot(b, value, value, device, slot));
    EMBER_TRY(add_step(b, -1, copy_provider(b, from, device), 1, 1, &step));
    step->inputs[0] = value;
    step->outputs[0] = *slot;
    if (!partition_same_device(from, device))
        plan->n_copies++;
    return EMBER_OK;
}

/* ---- captures of control-flow subgraphs ------------------------------------ */

static bool is_listed(const int *items, size_t n, int item)
{
    for (size_t i = 0; i < n; i++)
        if (items[i] == item)
            return true;
    return false;
}

/* Adds to values[] each value of g that `sub` (or a graph nested in it)
 * reads from outside; at most `cap` entries. */
static void collect_captures(const graph *g, const graph *sub, int *values, size_t *n,
                             size_t cap)
{
    for (size_t i = 0; i < sub->n_values; i++) {
        if (!sub->values[i].is_outer_scope)
            continue;
        int value = graph_value_find(g, sub->values[i].name);
        if (value >= 0 && *n < cap && !is_listed(values, *n, value))
            values[(*n)++] = value;
    }
    for (size_t i = 0; i < sub->n_nodes; i++)
        for (size_t a = 0; a < sub->nodes[i].n_attrs; a++)
            if (sub->nodes[i].attrs[a].subgraph)
                collect_captures(g, sub->nodes[i].attrs[a].subgraph, values, n, cap);
}

/* The values a node reads: its inputs, then (for control flow) the values
 * its subgraphs capture, which the step must keep alive and on the host. */
static ember_status node_reads(const builder *b, const graph_node *node, int **out, size_t *n)
{
    size_t cap = node->n_inputs + b->g->n_values + 1;
    int *values = util_calloc(cap, sizeof *values);
    if (!values)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory planning node inputs");
    if (node->n_inputs)
        memcpy(values, node->inputs, node->n_inputs * sizeof *values);
    *n = node->n_inputs;
    for (size_t a = 0; a < node->n_attrs; a++)
        if (node->attrs[a].subgraph)
            collect_captures(b->g, node->attrs[a].subgraph, values, n, cap);
    *out = values;
    return EMBER_OK;
}

/* The slots a node reads on its provider's device (adding copy steps the
 * first time a value is needed there); the caller frees *out. */
static ember_status resolve_reads(builder *b, size_t index, int **out, size_t *n)
{
    const graph_node *node = &b->g->nodes[index];
    int provider = b->plan->node_provider[index];
    ember_device device = provider >= 0 ? b->providers[provider].device : host_device;
    int *reads = NULL;
    EMBER_TRY(node_reads(b, node, &reads, n));
    ember_status status = EMBER_OK;
    for (size_t i = 0; i < *n && status == EMBER_OK; i++)
        if (reads[i] >= 0)
            status = reading_slot(b, reads[i], device, &reads[i]);
    if (status != EMBER_OK) {
        util_free(reads);
        return status;
    }
    *out = reads;
    return EMBER_OK;
}

static ember_status add_kernel_step(builder *b, size_t index)
{
    const graph_node *node = &b->g->nodes[index];
    int *reads = NULL;
    size_t n_reads;
    partition_step *step;
    EMBER_TRY(resolve_reads(b, index, &reads, &n_reads));
    ember_status status =
        add_step(b, (int)index, b->plan->node_provider[index], n_reads, node->n_outputs, &step);
    if (status == EMBER_OK) {
        memcpy(step->inputs, reads, n_reads * sizeof *reads);
        if (node->n_outputs)
            memcpy(step->outputs, node->outputs, node->n_outputs * sizeof *node->outputs);
    }
    util_free(reads);
    return status;
}

/* Length of the run of nodes from node_order[at] on that can form a group:
 * consecutive, one provider that runs groups, no control flow. */
static size_t group_length(const builder *b, size_t at)
{
    int provider = b->plan->node_provider[b->g->node_order[at]];
    if (!b->plan->options.is_grouped || provider < 0 ||
        !provider_runs_groups(b->providers[provider].instance))
        return 1;
    size_t n = 1;
    while (at + n < b->g->n_nodes && b->plan->node_provider[b->g->node_order[at + n]] == provider)
        n++;
    return n;
}

/* Emits the copy steps every member needs, then the members' steps. */
static ember_status add_group(builder *b, size_t at, size_t n)
{
    partition_plan *plan = b->plan;
    for (size_t i = 0; i < n; i++) {
        int *reads = NULL;
        size_t n_reads;
        EMBER_TRY(resolve_reads(b, b->g->node_order[at + i], &reads, &n_reads));
        util_free(reads);
    }
    EMBER_TRY(util_grow((void **)&plan->groups, &b->cap_groups, plan->n_groups + 1,
                        sizeof *plan->groups));
    int index = b->plan->node_provider[b->g->node_order[at]];
    plan->groups[plan->n_groups] = (partition_group){
        plan->n_steps, n, {(int)b->g->node_order[at], index, 0, NULL, 0, NULL}};
    for (size_t i = 0; i < n; i++)
        b->group_of[b->g->node_order[at + i]] = (int)plan->n_groups;
    plan->n_groups++;
    for (size_t i = 0; i < n; i++)
        EMBER_TRY(add_kernel_step(b, b->g->node_order[at + i]));
    return EMBER_OK;
}

static ember_status add_all_steps(builder *b)
{
    for (size_t i = 0; i < b->g->n_nodes;) {
        size_t n = group_length(b, i);
        if (n >= 2)
            EMBER_TRY(add_group(b, i, n));
        else
            EMBER_TRY(add_kernel_step(b, b->g->node_order[i]));
        i += n;
    }
    return EMBER_OK;
}

/* ---- pass 4: group inputs and outputs --------------------------------------- */

static bool is_member(const builder *b, int group, int value)
{
    int producer = b->g->values[value].producer;
    return producer >= 0 && b->group_of[producer] == group;
}

static ember_status append_slot(int **items, size_t *n, int slot)
{
    if (is_listed(*items, *n, slot))
        return EMBER_OK;
    int *grown = util_realloc(*items, (*n + 1) * sizeof *grown);
    if (!grown)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory planning groups");
    grown[(*n)++] = slot;
    *items = grown;
    return EMBER_OK;
}

/* Inputs: slots members read that no member writes. */
static ember_status group_inputs(builder *b, int index)
{
    partition_group *group = &b->plan->groups[index];
    for (size_t s = group->first_step; s < group->first_step + group->n_steps; s++) {
        const partition_step *step = &b->plan->steps[s];
        for (size_t i = 0; i < step->n_inputs; i++) {
            int slot = step->inputs[i];
            if (slot >= 0 && !is_member(b, index, b->plan->slots[slot].value))
                EMBER_TRY(append_slot(&group->step.inputs, &group->step.n_inputs, slot));
        }
    }
    return EMBER_OK;
}

/* Marks values[v] for each value that leaves its producer's group: a graph
 * output, or read by a node of another group or of none. */
static ember_status mark_exported(const builder *b, bool *exported)
{
    const graph *g = b->g;
    for (size_t i = 0; i < g->n_outputs; i++)
        exported[g->outputs[i]] = true;
    for (size_t n = 0; n < g->n_nodes; n++) {
        int *reads = NULL;
        size_t n_reads;
        EMBER_TRY(node_reads(b, &g->nodes[n], &reads, &n_reads));
        for (size_t i = 0; i < n_reads; i++) {
            int producer = reads[i] >= 0 ? g->values[reads[i]].producer : -1;
            if (producer >= 0 && b->group_of[producer] >= 0 &&
                b->group_of[producer] != b->group_of[n])
                exported[reads[i]] = true;
        }
        util_free(reads);
    }
    return EMBER_OK;
}

static ember_status group_outputs(builder *b, int index, const bool *exported)
{
    partition_group *group = &b->plan->groups[index];
    for (size_t s = group->first_step; s < group->first_step + group->n_steps; s++) {
        const partition_step *step = &b->plan->steps[s];
        for (size_t i = 0; i < step->n_outputs; i++)
            if (step->outputs[i] >= 0 && exported[step->outputs[i]])
                EMBER_TRY(append_slot(&group->step.outputs, &group->step.n_outputs,
                                      step->outputs[i]));
    }
    return EMBER_OK;
}

static ember_status describe_groups(builder *b)
{
    if (b->plan->n_groups == 0)
        return EMBER_OK;
    bool *exported = util_calloc(b->g->n_values + 1, sizeof *exported);
    if (!exported)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory planning groups");
    ember_status status = mark_exported(b, exported);
    for (size_t i = 0; i < b->plan->n_groups && status == EMBER_OK; i++) {
        status = group_inputs(b, (int)i);
        if (status == EMBER_OK)
            status = group_outputs(b, (int)i, exported);
    }
    util_free(exported);
    return status;
}

/* ---- entry ----------------------------------------------------------------- */

void partition_destroy(partition_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_steps; i++) {
        util_free(plan->steps[i].inputs);
        util_free(plan->steps[i].outputs);
    }
    for (size_t i = 0; i < plan->n_groups; i++) {
        util_free(plan->groups[i].step.inputs);
        util_free(plan->groups[i].step.outputs);
    }
    util_free(plan->groups);
    util_free(plan->steps);
    util_free(plan->slots);
    util_free(plan->node_provider);
    util_free(plan);
}

ember_status partition_build(const graph *g, const partition_provider *providers,
                             size_t n_providers, partition_options options,
                             partition_plan **out)
{
    if (n_providers == 0)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "no execution provider to place nodes on");
    partition_plan *plan = util_calloc(1, sizeof *plan);
    int *group_of = util_malloc((g->n_nodes ? g->n_nodes : 1) * sizeof *group_of);
    if (plan)
        plan->node_provider = util_calloc(g->n_nodes ? g->n_nodes : 1, sizeof(int));
    if (!plan || !plan->node_provider || !group_of) {
        partition_destroy(plan);
        util_free(group_of);
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory partitioning the graph");
    }
    for (size_t i = 0; i < g->n_nodes; i++)
        group_of[i] = -1;
    plan->options = options;
    builder b = {g, providers, n_providers, plan, 0, 0, 0, group_of};
    ember_status status = assign_all(&b);
    if (status == EMBER_OK)
        status = add_home_slots(&b);
    if (status == EMBER_OK)
        status = add_all_steps(&b);
    if (status == EMBER_OK)
        status = describe_groups(&b);
    util_free(group_of);
    if (status != EMBER_OK) {
        partition_destroy(plan);
        return status;
    }
    *out = plan;
    return EMBER_OK;
}
