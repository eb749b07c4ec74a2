/*
 * Private to core/exec: the prepared program and the per-run state.
 */
#ifndef EMBER_CORE_EXEC_IMPL_H
#define EMBER_CORE_EXEC_IMPL_H

#include "core/exec/exec.h"

/* A subgraph of a control-flow node, partitioned and prepared on its own. */
typedef struct exec_sub {
    const char *attr;             /* "then_branch", "body", ... */
    const graph *g;
    partition_plan *plan;
    exec_program *program;
} exec_sub;

typedef struct exec_step {
    const partition_step *plan;
    const graph_node *node;       /* NULL for a copy step */
    provider_instance *provider;  /* the kernel's provider */
    ember_device device;          /* where the kernel runs */
    ember_kernel *kernel;
    size_t n_release;
    int *release;                 /* slots whose buffers die after this step */
    size_t n_subs;
    exec_sub *subs;               /* control flow only: one per graph attribute */
    /* Groups whose provider returned a kernel: the first member points at
     * the step that runs the whole group, which covers n_members steps;
     * the other members have no kernel of their own. */
    const struct exec_step *group;
    size_t n_members;
    /* Bit i: the kernel (or the group) released constant input i of the
     * node (node_input_release). */
    uint64_t released_inputs;
} exec_step;

/* node_input_release's hook (program.c): frees a constant every reader
 * released. `context` is the exec_program. */
void exec_on_release(void *context, int value);

/* What a provider's group_create sees (ember_group of the ABI). */
struct ember_group {
    const partition_plan *plan;
    const partition_group *group;
    ember_node *nodes;            /* group->n_steps views */
};

/* Immutable after exec_prepare, which is what makes concurrent runs safe. */
struct exec_program {
    const graph *g;
    const partition_plan *plan;
    const partition_provider *providers;
    size_t n_providers;
    exec_pool *pool;
    exec_step *steps;             /* plan->n_steps entries */
    exec_step *group_steps;       /* plan->n_groups entries; kernel NULL = declined */
    exec_tensor *constants;       /* per slot; set where is_constant */
    bool *is_constant;
    struct exec_profile *profile; /* plan->n_steps counters, or NULL */
};

typedef struct exec_run_state exec_run_state;

/* Where a subgraph run finds the values it captures: the control-flow
 * step of the enclosing run, and that run's own scope. */
typedef struct exec_scope {
    const exec_run_state *run;
    const exec_step *step;
} exec_scope;

/* State of one exec_run call. */
struct exec_run_state {
    const exec_program *prog;
    exec_tensor *slots;           /* plan->n_slots entries; view.dims NULL = empty */
    const exec_scope *outer;      /* NULL for the main graph */
};

/* exec_run for a subgraph: captured values are resolved through `outer`. */
ember_status exec_run_scoped(const exec_program *prog, const exec_feed *feeds, size_t n_feeds,
                             exec_fetch *fetches, size_t n_fetches, const exec_scope *outer);

/* profile.c: the clock and the counters of step `step`. */
uint64_t exec_profile_now(void);
void exec_profile_add(const exec_program *prog, size_t step, uint64_t ns);

/* group.c: offers each group of the plan to its provider. */
ember_status exec_groups_prepare(exec_program *prog);
void exec_groups_release(exec_program *prog);

/* control.c: prepares the subgraphs of a control-flow step, releases them,
 * and runs the step. */
ember_status exec_control_prepare(exec_program *prog, exec_step *step);
void exec_control_release(exec_step *step);
ember_status exec_control_run(exec_run_state *run, const exec_step *step);

struct ember_kernel_context {
    exec_run_state *run;
    const exec_step *step;
    exec_tensor *discard;         /* outputs the graph leaves unnamed */
    void **scratch;
    size_t n_scratch;
};

#endif /* EMBER_CORE_EXEC_IMPL_H */
