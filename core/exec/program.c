/*
 * exec_prepare: turns a partition_plan into a program: one kernel per
 * kernel step, constants placed on the devices that read them (uploaded
 * once here, not at every run), and the step after which each slot's
 * buffer can be released.
 */
#include <string.h>

#include "core/exec/exec_impl.h"
#include "core/util/util.h"

provider_instance *exec_provider_for_device(const exec_program *prog, ember_device device)
{
    if (device.type == EMBER_DEVICE_CPU)
        return NULL;
    for (size_t i = 0; i < prog->n_providers; i++)
        if (partition_same_device(prog->providers[i].device, device))
            return prog->providers[i].instance;
    return NULL;
}

/* ---- kernels ---------------------------------------------------------------- */

static ember_status create_kernels(exec_program *prog)
{
    for (size_t i = 0; i < prog->plan->n_steps; i++)
        prog->steps[i].plan = &prog->plan->steps[i];
    EMBER_TRY(exec_groups_prepare(prog));
    for (size_t i = 0; i < prog->plan->n_steps; i++) {
        const partition_step *step = &prog->plan->steps[i];
        exec_step *rt = &prog->steps[i];
        if (rt->group) {
            i += rt->group->n_members - 1; /* the group's kernel runs these */
            continue;
        }
        if (step->node < 0)
            continue;
        rt->node = &prog->g->nodes[step->node];
        if (step->provider == PARTITION_CORE) {
            EMBER_TRY(exec_control_prepare(prog, rt));
            continue;
        }
        rt->provider = prog->providers[step->provider].instance;
        rt->device = prog->providers[step->provider].device;
        ember_node view = {prog->g, rt->node, exec_pool_size(prog->pool), &rt->released_inputs,
                           exec_on_release, prog};
        EMBER_TRY(provider_kernel_create(rt->provider, &view, &rt->kernel));
    }
    return EMBER_OK;
}

/* ---- constants -------------------------------------------------------------- */

/* An initializer that no run can replace (not listed as a graph input). */
static const graph_tensor *fixed_initializer(const exec_program *prog, int slot)
{
    const graph_value *v = &prog->g->values[prog->plan->slots[slot].value];
    return v->initializer && !v->is_graph_input ? v->initializer : NULL;
}

static ember_status upload_constant(exec_program *prog, int slot, const graph_tensor *init)
{
    const partition_slot *s = &prog->plan->slots[slot];
    exec_tensor *t = &prog->constants[slot];
    provider_instance *owner = exec_provider_for_device(prog, s->device);
    EMBER_TRY(exec_tensor_alloc(t, owner, s->device, init->view.dtype, init->view.dims,
                                init->view.rank));
    return exec_tensor_copy(&t->view, owner, &init->view, NULL);
}

static ember_status place_constants(exec_program *prog)
{
    for (size_t i = 0; i < prog->plan->n_slots; i++) {
        const graph_tensor *init = fixed_initializer(prog, (int)i);
        if (!init)
            continue;
        prog->is_constant[i] = true;
        if (prog->plan->slots[i].source < 0)
            EMBER_TRY(exec_tensor_borrow(&prog->constants[i], &init->view));
        else
            EMBER_TRY(upload_constant(prog, (int)i, init));
    }
    return EMBER_OK;
}

/* ---- release schedule -------------------------------------------------------- */

static void mark_uses(exec_program *prog, int *last_use)
{
    const partition_plan *plan = prog->plan;
    for (size_t s = 0; s < plan->n_steps; s++) {
        const partition_step *step = &plan->steps[s];
        for (size_t i = 0; i < step->n_outputs; i++)
            if (step->outputs[i] >= 0 && last_use[step->outputs[i]] < (int)s)
                last_use[step->outputs[i]] = (int)s;
        for (size_t i = 0; i < step->n_inputs; i++)
            if (step->inputs[i] >= 0)
                last_use[step->inputs[i]] = (int)s;
    }
    /* A copy may alias its source (when the data is already on the right
     * device), so the source lives as long as the copy. Copy slots come
     * after all home slots and copy only home slots. */
    for (size_t i = prog->g->n_values; i < plan->n_slots; i++) {
        int source = plan->slots[i].source;
        if (last_use[i] > last_use[source])
            last_use[source] = last_use[i];
    }
}

static bool is_kept(const exec_program *prog, size_t slot)
{
    if (prog->is_constant[slot])
        return true;
    return slot < prog->g->n_values && prog->g->values[slot].is_graph_output;
}

static ember_status add_release(exec_step *step, int slot)
{
    int *grown = util_realloc(step->release, (step->n_release + 1) * sizeof *grown);
    if (!grown)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory planning buffer reuse");
    grown[step->n_release++] = slot;
    step->release = grown;
    return EMBER_OK;
}

static ember_status schedule_releases(exec_program *prog)
{
    size_t n_slots = prog->plan->n_slots;
    int *last_use = util_calloc(n_slots, sizeof *last_use);
    if (!last_use)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory planning buffer reuse");
    for (size_t i = 0; i < n_slots; i++)
        last_use[i] = -1;
    mark_uses(prog, last_use);
    ember_status status = EMBER_OK;
    for (size_t i = 0; i < n_slots && status == EMBER_OK; i++)
        if (last_use[i] >= 0 && !is_kept(prog, i))
            status = add_release(&prog->steps[last_use[i]], (int)i);
    util_free(last_use);
    return status;
}

/* ---- entry ------------------------------------------------------------------- */

void exec_destroy(exec_program *prog)
{
    if (!prog)
        return;
    for (size_t i = 0; prog->steps && i < prog->plan->n_steps; i++) {
        exec_step *step = &prog->steps[i];
        if (step->kernel)
            provider_kernel_destroy(step->provider, step->kernel);
        exec_control_release(step);
        util_free(step->release);
    }
    exec_groups_release(prog);
    util_free(prog->profile);
    for (size_t i = 0; prog->constants && i < prog->plan->n_slots; i++)
        exec_tensor_release(&prog->constants[i]);
    util_free(prog->steps);
    util_free(prog->constants);
    util_free(prog->is_constant);
    util_free(prog);
}

/* ---- constants the kernels copied ------------------------------------------------ */

/* Whether every reader of constant slot `slot` is a kernel (or a group
 * member) that released it (node_input_release); false when none reads it
 * or a copy of it goes to another device. */
static bool is_released(const exec_program *prog, int slot)
{
    for (size_t i = prog->g->n_values; i < prog->plan->n_slots; i++)
        if (prog->plan->slots[i].source == slot)
            return false;
    size_t readers = 0;
    for (size_t s = 0; s < prog->plan->n_steps; s++) {
        const partition_step *step = &prog->plan->steps[s];
        for (size_t i = 0; i < step->n_inputs; i++) {
            if (step->inputs[i] != slot)
                continue;
            const graph_node *node = step->node >= 0 ? &prog->g->nodes[step->node] : NULL;
            bool released = node && step->provider != PARTITION_CORE && i < node->n_inputs &&
                            i < 64 && ((prog->steps[s].released_inputs >> i) & 1u);
            if (!released)
                return false;
            readers++;
        }
    }
    return readers > 0;
}

/* A kernel released a constant input reading `value`: once every reader
 * has, the initializer's data is freed, before the next kernel is made
 * (so that a model's weights and the providers' copies of them do not all
 * coexist); runs then pass it with data NULL. The graph is the session's,
 * which lends it to the program (hence the cast). */
void exec_on_release(void *context, int value)
{
    exec_program *prog = context;
    graph_tensor *init = fixed_initializer(prog, value) ? prog->g->values[value].initializer
                                                        : NULL;
    if (!init || !init->view.data || init->view.dtype == EMBER_DTYPE_STRING ||
        prog->plan->slots[value].source >= 0 || !is_released(prog, value))
        return;
    util_free(init->view.data);
    ((graph_tensor *)init)->view.data = NULL;
    prog->constants[value].view.data = NULL;
}

ember_status exec_prepare(const graph *g, const partition_plan *plan,
                          const partition_provider *providers, size_t n_providers,
                          exec_pool *pool, exec_program **out)
{
    exec_program *prog = util_calloc(1, sizeof *prog);
    if (!prog)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory preparing the program");
    *prog = (exec_program){g, plan, providers, n_providers, pool, NULL, NULL, NULL, NULL, NULL};
    prog->steps = util_calloc(plan->n_steps ? plan->n_steps : 1, sizeof *prog->steps);
    prog->constants = util_calloc(plan->n_slots ? plan->n_slots : 1, sizeof *prog->constants);
    prog->is_constant = util_calloc(plan->n_slots ? plan->n_slots : 1, sizeof(bool));
    ember_status status = EMBER_OK;
    if (!prog->steps || !prog->constants || !prog->is_constant)
        status = ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory preparing the program");
    if (status == EMBER_OK)
        status = create_kernels(prog);
    if (status == EMBER_OK)
        status = place_constants(prog);
    if (status == EMBER_OK)
        status = schedule_releases(prog);
    if (status != EMBER_OK) {
        exec_destroy(prog);
        return status;
    }
    *out = prog;
    return EMBER_OK;
}
