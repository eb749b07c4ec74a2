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
} exec_step;

/* Immutable after exec_prepare, which is what makes concurrent runs safe. */
struct exec_program {
    const graph *g;
    const partition_plan *plan;
    const partition_provider *providers;
    size_t n_providers;
    exec_pool *pool;
    exec_step *steps;             /* plan->n_steps entries */
    exec_tensor *constants;       /* per slot; set where is_constant */
    bool *is_constant;
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
