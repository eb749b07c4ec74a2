/*
 * Profiling: how many times each step ran and for how long in total. The
 * counters are atomics, so concurrent runs add to them without a lock.
 */
#include <stdatomic.h>
#include <time.h>

#include "core/exec/exec_impl.h"
#include "core/util/util.h"

struct exec_profile {
    atomic_uint_least64_t calls;
    atomic_uint_least64_t ns;
};

ember_status exec_profile_enable(exec_program *prog)
{
    if (prog->profile)
        return EMBER_OK;
    size_t n = prog->plan->n_steps ? prog->plan->n_steps : 1;
    prog->profile = util_calloc(n, sizeof *prog->profile);
    if (!prog->profile)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory for profiling");
    for (size_t i = 0; i < n; i++) {
        atomic_init(&prog->profile[i].calls, 0);
        atomic_init(&prog->profile[i].ns, 0);
    }
    return EMBER_OK;
}

uint64_t exec_profile_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void exec_profile_add(const exec_program *prog, size_t step, uint64_t ns)
{
    atomic_fetch_add(&prog->profile[step].calls, 1);
    atomic_fetch_add(&prog->profile[step].ns, ns);
}

static const char *provider_name(const exec_program *prog, int provider)
{
    return provider >= 0 ? prog->providers[provider].name : "core";
}

/* Step s as the public entry describes it; *skip is how many steps it covers. */
static ember_profile_entry describe(const exec_program *prog, size_t s, size_t *skip)
{
    const exec_step *step = &prog->steps[s];
    ember_profile_entry e = {0};
    *skip = 1;
    if (step->group) {
        e = (ember_profile_entry){step->group->node->name, "group",
                                  provider_name(prog, step->group->plan->provider),
                                  step->group->n_members, 0, 0};
        *skip = step->group->n_members;
    } else if (!step->node) {
        const graph_value *v = &prog->g->values[prog->plan->slots[step->plan->inputs[0]].value];
        e = (ember_profile_entry){v->name, "copy", provider_name(prog, step->plan->provider), 0,
                                  0, 0};
    } else {
        e = (ember_profile_entry){step->node->name, step->node->op_type,
                                  provider_name(prog, step->plan->provider), 1, 0, 0};
    }
    e.calls = atomic_load(&prog->profile[s].calls);
    e.total_ns = atomic_load(&prog->profile[s].ns);
    return e;
}

size_t exec_profile_read(const exec_program *prog, ember_profile_entry *entries, size_t cap)
{
    size_t n = 0;
    if (!prog->profile)
        return 0;
    for (size_t s = 0, skip; s < prog->plan->n_steps; s += skip, n++) {
        ember_profile_entry e = describe(prog, s, &skip);
        if (n < cap)
            entries[n] = e;
    }
    return n;
}
