/*
 * The environment (loaded providers, logging, providers for user values)
 * and the host table that every provider receives.
 */
#include <stdio.h>
#include <string.h>

#include "core/api/api.h"
#include "core/util/util.h"

#ifndef EMBER_PROVIDER_INSTALL_DIR
#define EMBER_PROVIDER_INSTALL_DIR NULL
#endif

/* ---- logging ---------------------------------------------------------------- */

static _Thread_local ember_env *log_target;

ember_env *api_log_scope(ember_env *env)
{
    ember_env *previous = log_target;
    log_target = env;
    return previous;
}

static void host_log(ember_log_level level, const char *fmt, ...)
{
    ember_env *env = log_target;
    if (!env || !env->log_fn || level < env->log_level)
        return;
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    env->log_fn(env->log_user, level, message);
}

EMBER_API void ember_env_set_logger(ember_env *env, ember_log_level level, ember_log_fn fn,
                                    void *user)
{
    if (!env)
        return;
    pthread_mutex_lock(&env->lock);
    env->log_fn = fn;
    env->log_user = user;
    env->log_level = level;
    pthread_mutex_unlock(&env->lock);
}

/* ---- the host table ------------------------------------------------------------ */

static const ember_host_api host_table = {
    .abi_version = EMBER_ABI_VERSION,
    .struct_size = sizeof(ember_host_api),
    .fail = ember_fail,
    .log = host_log,
    .node_op_type = graph_view_op_type,
    .node_domain = graph_view_domain,
    .node_name = graph_view_name,
    .node_opset = graph_view_opset,
    .node_input_count = graph_view_input_count,
    .node_output_count = graph_view_output_count,
    .node_input_present = graph_view_input_present,
    .node_input_type = graph_view_input_type,
    .node_output_type = graph_view_output_type,
    .node_input_constant = graph_view_input_constant,
    .node_attr = graph_view_attr,
    .ctx_input_count = exec_ctx_input_count,
    .ctx_input = exec_ctx_input,
    .ctx_output_count = exec_ctx_output_count,
    .ctx_output = exec_ctx_output,
    .ctx_scratch = exec_ctx_scratch,
    .ctx_parallel_for = exec_ctx_parallel_for,
    .ctx_thread_count = exec_ctx_thread_count,
    .tensor_set_string = exec_tensor_set_string,
    .ctx_input_kind = exec_ctx_input_kind,
    .ctx_sequence_length = exec_ctx_sequence_length,
    .ctx_sequence_item = exec_ctx_sequence_item,
    .ctx_sequence_dtype = exec_ctx_sequence_dtype,
    .ctx_output_sequence = exec_ctx_output_sequence,
    .ctx_output_item = exec_ctx_output_item,
    .ctx_output_none = exec_ctx_output_none,
    .node_input_value = graph_view_input_value,
    .node_output_value = graph_view_output_value,
    .group_node_count = exec_group_node_count,
    .group_node = exec_group_node,
    .group_input_count = exec_group_input_count,
    .group_input_value = exec_group_input_value,
    .group_output_count = exec_group_output_count,
    .group_output_value = exec_group_output_value,
    .node_thread_count = graph_view_thread_count,
    .node_input_release = graph_view_input_release,
};

const ember_host_api *api_host_table(void)
{
    return &host_table;
}

/* ---- env ----------------------------------------------------------------------- */

EMBER_API ember_status ember_env_create(ember_env **out)
{
    if (!out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_env_create: out is NULL");
    ember_env *env = util_calloc(1, sizeof *env);
    if (!env)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating the environment");
    ember_status status =
        provider_registry_create(&host_table, EMBER_PROVIDER_INSTALL_DIR, &env->registry);
    if (status != EMBER_OK) {
        util_free(env);
        return status;
    }
    pthread_mutex_init(&env->lock, NULL);
    env->log_level = EMBER_LOG_WARNING;
    *out = env;
    return EMBER_OK;
}

EMBER_API void ember_env_destroy(ember_env *env)
{
    if (!env)
        return;
    for (size_t i = 0; i < env->n_device_providers; i++)
        provider_instance_release(env->device_providers[i]);
    util_free(env->device_providers);
    provider_registry_destroy(env->registry);
    pthread_mutex_destroy(&env->lock);
    util_free(env);
}

EMBER_API ember_status ember_env_register_provider(ember_env *env, const char *path)
{
    if (!env || !path)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_env_register_provider: NULL argument");
    provider_lib *lib;
    return provider_registry_load_path(env->registry, path, &lib);
}

EMBER_API bool ember_env_provider_available(ember_env *env, const char *name, char *why,
                                            size_t why_size)
{
    provider_lib *lib;
    uint32_t score = 0;
    char reason[512] = "";
    if (!env || !name) {
        snprintf(why ? why : reason, why ? why_size : sizeof reason, "NULL argument");
        return false;
    }
    if (provider_registry_find(env->registry, name, &lib) != EMBER_OK) {
        if (why)
            snprintf(why, why_size, "%s", ember_last_error());
        return false;
    }
    if (provider_lib_probe(lib, &score, reason, sizeof reason) != EMBER_OK)
        snprintf(reason, sizeof reason, "%s", ember_last_error());
    if (why)
        snprintf(why, why_size, "%s", reason);
    return score > 0;
}

/* ---- providers that allocate user values ------------------------------------------ */

static provider_instance *find_device_provider(ember_env *env, ember_device device)
{
    for (size_t i = 0; i < env->n_device_providers; i++) {
        provider_lib *lib = provider_instance_lib(env->device_providers[i]);
        if (provider_lib_device_type(lib) == device.type)
            return env->device_providers[i];
    }
    return NULL;
}

static ember_status create_device_provider(ember_env *env, ember_device device,
                                           provider_instance **out)
{
    if (device.type != EMBER_DEVICE_CUDA)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "no provider is loaded for device type %u; create a session or "
                          "register the provider first",
                          (unsigned)device.type);
    provider_lib *lib;
    EMBER_TRY(provider_registry_find(env->registry, "CUDA", &lib));
    return provider_instance_create(lib, NULL, 0, out);
}

ember_status api_env_device_provider(ember_env *env, ember_device device,
                                     provider_instance **out)
{
    pthread_mutex_lock(&env->lock);
    provider_instance *p = find_device_provider(env, device);
    ember_status status = EMBER_OK;
    if (!p) {
        provider_instance **grown = util_realloc(
            env->device_providers, (env->n_device_providers + 1) * sizeof *grown);
        status = grown ? create_device_provider(env, device, &p)
                       : ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory");
        if (grown)
            env->device_providers = grown;
        if (status == EMBER_OK)
            env->device_providers[env->n_device_providers++] = p;
    }
    pthread_mutex_unlock(&env->lock);
    if (status == EMBER_OK)
        *out = p;
    return status;
}

void api_env_remember_provider(ember_env *env, provider_instance *p)
{
    pthread_mutex_lock(&env->lock);
    ember_device device = {provider_lib_device_type(provider_instance_lib(p)), 0};
    if (device.type != EMBER_DEVICE_CPU && !find_device_provider(env, device)) {
        provider_instance **grown = util_realloc(
            env->device_providers, (env->n_device_providers + 1) * sizeof *grown);
        if (grown) {
            env->device_providers = grown;
            provider_instance_retain(p);
            env->device_providers[env->n_device_providers++] = p;
        }
    }
    pthread_mutex_unlock(&env->lock);
}
