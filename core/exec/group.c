/*
 * Groups: runs of consecutive nodes of one provider (see partition.h) that
 * the provider may run as one kernel. exec_groups_prepare offers each
 * group through group_create; an accepted group gets a step of its own
 * that covers its members, a declined one runs node by node. Also the
 * group views behind the host table's group_* slots.
 */
#include "core/exec/exec_impl.h"
#include "core/util/util.h"

static ember_status offer_group(exec_program *prog, size_t index)
{
    const partition_group *group = &prog->plan->groups[index];
    exec_step *rt = &prog->group_steps[index];
    ember_node *nodes = util_calloc(group->n_steps, sizeof *nodes);
    if (!nodes)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory offering a group");
    for (size_t i = 0; i < group->n_steps; i++) {
        exec_step *member = &prog->steps[group->first_step + i];
        nodes[i] = (ember_node){prog->g, &prog->g->nodes[prog->plan->steps[group->first_step + i].node],
                                exec_pool_size(prog->pool), &member->released_inputs,
                                exec_on_release, prog};
    }
    ember_group view = {prog->plan, group, nodes};
    rt->plan = &group->step;
    rt->node = &prog->g->nodes[group->step.node];
    rt->provider = prog->providers[group->step.provider].instance;
    rt->device = prog->providers[group->step.provider].device;
    ember_status status = provider_group_create(rt->provider, &view, &rt->kernel);
    util_free(nodes);
    if (status != EMBER_OK || !rt->kernel)
        return status;
    rt->n_members = group->n_steps;
    prog->steps[group->first_step].group = rt;
    return EMBER_OK;
}

ember_status exec_groups_prepare(exec_program *prog)
{
    if (prog->plan->n_groups == 0)
        return EMBER_OK;
    prog->group_steps = util_calloc(prog->plan->n_groups, sizeof *prog->group_steps);
    if (!prog->group_steps)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory offering groups");
    for (size_t i = 0; i < prog->plan->n_groups; i++)
        EMBER_TRY(offer_group(prog, i));
    return EMBER_OK;
}

void exec_groups_release(exec_program *prog)
{
    for (size_t i = 0; prog->group_steps && i < prog->plan->n_groups; i++)
        if (prog->group_steps[i].kernel)
            provider_kernel_destroy(prog->group_steps[i].provider, prog->group_steps[i].kernel);
    util_free(prog->group_steps);
}

/* ---- views for group_create --------------------------------------------------------- */

size_t exec_group_node_count(const ember_group *group)
{
    return group->group->n_steps;
}

const ember_node *exec_group_node(const ember_group *group, size_t index)
{
    return index < group->group->n_steps ? &group->nodes[index] : NULL;
}

size_t exec_group_input_count(const ember_group *group)
{
    return group->group->step.n_inputs;
}

int64_t exec_group_input_value(const ember_group *group, size_t index)
{
    if (index >= group->group->step.n_inputs)
        return -1;
    return group->plan->slots[group->group->step.inputs[index]].value;
}

size_t exec_group_output_count(const ember_group *group)
{
    return group->group->step.n_outputs;
}

int64_t exec_group_output_value(const ember_group *group, size_t index)
{
    if (index >= group->group->step.n_outputs)
        return -1;
    return group->plan->slots[group->group->step.outputs[index]].value;
}
