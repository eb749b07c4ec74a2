/*
 * Private to core/exec: the prepared program and the per-run state.
 */
#ifndef EMBER_CORE_EXEC_IMPL_H
#define EMBER_CORE_EXEC_IMPL_H

#include "core/exec/exec.h"

typedef struct exec_step {
    const partition_step *plan;
    const graph_node *node;       /* NULL for a copy step */
    provider_instance *provider;  /* the kernel's provider */
    ember_device device;          /* where the kernel runs */
    ember_kernel *kernel;
    size_t n_release;
    int *release;                 /* slots whose buffers die after this step */
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

/* State of one exec_run call. */
typedef struct exec_run_state {
    const exec_program *prog;
    exec_tensor *slots;           /* plan->n_slots entries; view.dims NULL = empty */
} exec_run_state;

struct ember_kernel_context {
    exec_run_state *run;
    const exec_step *step;
    exec_tensor *discard;         /* outputs the graph leaves unnamed */
    void **scratch;
    size_t n_scratch;
};

#endif /* EMBER_CORE_EXEC_IMPL_H */
