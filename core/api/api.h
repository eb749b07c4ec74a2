/*
 * Private to core/api: the structs behind the public handles.
 */
#ifndef EMBER_CORE_API_H
#define EMBER_CORE_API_H

#include <pthread.h>

#include "core/exec/exec.h"
#include "core/graph/graph.h"
#include "core/partition/partition.h"
#include "core/provider/provider.h"

struct ember_env {
    provider_registry *registry;
    pthread_mutex_t lock;             /* guards the fields below */
    ember_log_fn log_fn;
    void *log_user;
    ember_log_level log_level;
    size_t n_device_providers;        /* instances that allocate user values */
    provider_instance **device_providers;
};

typedef struct api_provider_choice {
    char *name;
    size_t n_options;
    ember_option *options;            /* keys and values owned */
} api_provider_choice;

struct ember_session_options {
    size_t n_providers;
    api_provider_choice *providers;
    bool is_strict;
    int intra_op_threads;
    ember_opt_level opt_level;
    ember_log_level log_level;
    bool is_profiled;
};

struct ember_session {
    ember_env *env;
    graph *g;
    size_t n_providers;
    partition_provider *providers;    /* instances retained */
    partition_plan *plan;
    exec_pool *pool;
    exec_program *program;
    size_t n_inputs, n_outputs;
    int *input_values, *output_values; /* graph value indices */
    ember_node_placement *placement;  /* g->n_nodes entries, execution order */
};

/* exec_tensor must stay the only member: sequence items (exec_tensors) are
 * handed out as borrowed ember_values. */
struct ember_value {
    exec_tensor tensor;
};

struct ember_run_options {
    char *tag;
};

/* The host table handed to every provider. */
const ember_host_api *api_host_table(void);

/* Makes `env` receive host->log messages on this thread until the returned
 * previous value is restored. */
ember_env *api_log_scope(ember_env *env);

/* The env's instance of the provider for `device`, created on first use. */
ember_status api_env_device_provider(ember_env *env, ember_device device,
                                     provider_instance **out);

/* Sessions register the device instances they create, so that values on
 * those devices can be made through the env afterwards (retains p). */
void api_env_remember_provider(ember_env *env, provider_instance *p);

/* Wraps an exec_tensor (taking it over) into a new value. */
ember_status api_value_take(exec_tensor *t, ember_value **out);

/* Graph value index of input/output `name`, or a failure listing the names. */
ember_status api_session_input(const ember_session *s, const char *name, int *value);
ember_status api_session_output(const ember_session *s, const char *name, int *value);

#endif /* EMBER_CORE_API_H */
