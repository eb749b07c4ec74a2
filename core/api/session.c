/*
 * Sessions: load -> choose providers -> partition -> prepare, the
 * metadata queries, and ember_session_run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/api/api.h"
#include "core/model/model.h"
#include "core/util/util.h"

/* ---- choosing providers ------------------------------------------------------ */

static int32_t device_id_option(const api_provider_choice *c)
{
    for (size_t i = 0; i < c->n_options; i++)
        if (strcmp(c->options[i].key, "device_id") == 0)
            return (int32_t)strtol(c->options[i].value, NULL, 10);
    return 0;
}

static bool is_listed(const ember_session *s, provider_lib *lib)
{
    for (size_t i = 0; i < s->n_providers; i++)
        if (provider_instance_lib(s->providers[i].instance) == lib)
            return true;
    return false;
}

/* A provider that cannot be used is an error in strict mode; otherwise it
 * is skipped with a warning, as onnxruntime does. */
static ember_status unusable(const ember_session_options *opts, const char *name,
                             ember_status status, const char *why)
{
    char reason[1024]; /* `why` may be the thread's message buffer itself */
    snprintf(reason, sizeof reason, "%s", why);
    if (opts->is_strict || util_streq_nocase(name, "CPU"))
        return ember_fail(status, "provider '%s' is not usable: %s", name, reason);
    api_host_table()->log(EMBER_LOG_WARNING, "provider '%s' is skipped: %s", name, reason);
    return EMBER_OK;
}

static ember_status add_provider(ember_session *s, const ember_session_options *opts,
                                 const api_provider_choice *c)
{
    provider_lib *lib;
    uint32_t score = 1;
    char why[512] = "";
    ember_status status = provider_registry_find(s->env->registry, c->name, &lib);
    if (status != EMBER_OK)
        return unusable(opts, c->name, status, ember_last_error());
    if (is_listed(s, lib))
        return EMBER_OK;
    status = provider_lib_probe(lib, &score, why, sizeof why);
    if (status != EMBER_OK || score == 0)
        return unusable(opts, c->name, status ? status : EMBER_E_DEVICE,
                        status ? ember_last_error() : why);
    partition_provider *p = &s->providers[s->n_providers];
    EMBER_TRY(provider_instance_create(lib, c->options, c->n_options, &p->instance));
    p->device = (ember_device){provider_lib_device_type(lib), device_id_option(c)};
    p->name = provider_lib_name(lib);
    s->n_providers++;
    api_env_remember_provider(s->env, p->instance);
    return EMBER_OK;
}

static bool lists_cpu(const ember_session_options *opts)
{
    for (size_t i = 0; i < opts->n_providers; i++)
        if (util_streq_nocase(opts->providers[i].name, "CPU"))
            return true;
    return false;
}

static ember_status choose_providers(ember_session *s, const ember_session_options *opts)
{
    static const api_provider_choice cpu = {"CPU", 0, NULL};
    s->providers = util_calloc(opts->n_providers + 1, sizeof *s->providers);
    if (!s->providers)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory choosing providers");
    for (size_t i = 0; i < opts->n_providers; i++)
        EMBER_TRY(add_provider(s, opts, &opts->providers[i]));
    if (!lists_cpu(opts) && (!opts->is_strict || opts->n_providers == 0))
        EMBER_TRY(add_provider(s, opts, &cpu));
    if (s->n_providers == 0)
        return ember_fail(EMBER_E_DEVICE, "none of the listed providers is usable");
    return EMBER_OK;
}

/* ---- metadata ------------------------------------------------------------------ */

static ember_status index_io(ember_session *s)
{
    const graph *g = s->g;
    s->input_values = util_calloc(g->n_inputs + 1, sizeof(int));
    s->output_values = util_calloc(g->n_outputs + 1, sizeof(int));
    s->placement = util_calloc(g->n_nodes + 1, sizeof *s->placement);
    if (!s->input_values || !s->output_values || !s->placement)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory indexing the model");
    for (size_t i = 0; i < g->n_inputs; i++)
        if (!g->values[g->inputs[i]].initializer)
            s->input_values[s->n_inputs++] = g->inputs[i];
    for (size_t i = 0; i < g->n_outputs; i++)
        s->output_values[s->n_outputs++] = g->outputs[i];
    for (size_t i = 0; i < g->n_nodes; i++) {
        const graph_node *node = &g->nodes[g->node_order[i]];
        int p = s->plan->node_provider[g->node_order[i]];
        s->placement[i] = (ember_node_placement){node->name, node->op_type, node->domain,
                                                 p >= 0 ? s->providers[p].name : "core"};
    }
    return EMBER_OK;
}

/* ---- create / destroy ------------------------------------------------------------ */

EMBER_API void ember_session_destroy(ember_session *s)
{
    if (!s)
        return;
    exec_destroy(s->program);
    partition_destroy(s->plan);
    for (size_t i = 0; i < s->n_providers; i++)
        provider_instance_release(s->providers[i].instance);
    util_free(s->providers);
    exec_pool_destroy(s->pool);
    graph_destroy(s->g);
    util_free(s->input_values);
    util_free(s->output_values);
    util_free(s->placement);
    util_free(s);
}

static ember_status build(ember_session *s, const ember_session_options *opts)
{
    EMBER_TRY(choose_providers(s, opts));
    partition_options placement = {opts->is_strict, opts->opt_level != EMBER_OPT_DISABLED};
    EMBER_TRY(partition_build(s->g, s->providers, s->n_providers, placement, &s->plan));
    EMBER_TRY(exec_pool_create((size_t)opts->intra_op_threads, &s->pool));
    EMBER_TRY(exec_prepare(s->g, s->plan, s->providers, s->n_providers, s->pool, &s->program));
    if (opts->is_profiled)
        EMBER_TRY(exec_profile_enable(s->program));
    return index_io(s);
}

static ember_status finish_create(ember_env *env, graph *g, const ember_session_options *opts,
                                  ember_session **out)
{
    ember_session_options defaults = {0, NULL, false, 0, EMBER_OPT_ALL, EMBER_LOG_WARNING, false};
    ember_session *s = util_calloc(1, sizeof *s);
    if (!s) {
        graph_destroy(g);
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating a session");
    }
    s->env = env;
    s->g = g;
    ember_env *previous = api_log_scope(env);
    ember_status status = build(s, opts ? opts : &defaults);
    api_log_scope(previous);
    if (status != EMBER_OK) {
        ember_session_destroy(s);
        return status;
    }
    *out = s;
    return EMBER_OK;
}

EMBER_API ember_status ember_session_create(ember_env *env, const char *model_path,
                                            const ember_session_options *opts,
                                            ember_session **out)
{
    if (!env || !model_path || !out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_session_create: NULL argument");
    graph *g;
    EMBER_TRY(model_load_file(model_path, &g));
    return finish_create(env, g, opts, out);
}

EMBER_API ember_status ember_session_create_from_bytes(ember_env *env, const void *bytes,
                                                       size_t size, const char *base_dir,
                                                       const ember_session_options *opts,
                                                       ember_session **out)
{
    if (!env || (!bytes && size) || !out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "ember_session_create_from_bytes: NULL argument");
    graph *g;
    EMBER_TRY(model_load_bytes(bytes, size, base_dir, NULL, &g));
    return finish_create(env, g, opts, out);
}

/* ---- queries -------------------------------------------------------------------- */

EMBER_API size_t ember_session_get_input_count(const ember_session *s)
{
    return s ? s->n_inputs : 0;
}

EMBER_API size_t ember_session_get_output_count(const ember_session *s)
{
    return s ? s->n_outputs : 0;
}

static void describe(const graph_value *v, ember_io_info *out)
{
    *out = (ember_io_info){v->name, (ember_dtype)v->type.dtype, v->type.rank, v->dims,
                           (const char *const *)v->dim_names};
}

EMBER_API ember_status ember_session_get_input_info(const ember_session *s, size_t index,
                                                    ember_io_info *out)
{
    if (!s || !out || index >= s->n_inputs)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "input index %zu is out of range", index);
    describe(&s->g->values[s->input_values[index]], out);
    return EMBER_OK;
}

EMBER_API ember_status ember_session_get_output_info(const ember_session *s, size_t index,
                                                     ember_io_info *out)
{
    if (!s || !out || index >= s->n_outputs)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "output index %zu is out of range", index);
    describe(&s->g->values[s->output_values[index]], out);
    return EMBER_OK;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

EMBER_API void ember_session_get_model_meta(const ember_session *s, ember_model_meta *out)
{
    if (!s || !out)
        return;
    const graph_meta *m = &s->g->meta;
    *out = (ember_model_meta){or_empty(m->producer_name), or_empty(m->producer_version),
                              or_empty(m->graph_name), or_empty(m->domain),
                              or_empty(m->description), m->model_version, m->ir_version,
                              m->n_custom, (const char *const *)m->custom_keys,
                              (const char *const *)m->custom_values};
}

EMBER_API size_t ember_session_get_opset_count(const ember_session *s)
{
    return s ? s->g->n_opsets : 0;
}

EMBER_API ember_status ember_session_get_opset(const ember_session *s, size_t index,
                                               const char **domain, int64_t *version)
{
    if (!s || !domain || !version || index >= s->g->n_opsets)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "opset index %zu is out of range", index);
    *domain = s->g->opsets[index].domain;
    *version = s->g->opsets[index].version;
    return EMBER_OK;
}

EMBER_API size_t ember_session_get_node_count(const ember_session *s)
{
    return s ? s->g->n_nodes : 0;
}

EMBER_API ember_status ember_session_get_node_placement(const ember_session *s, size_t index,
                                                        ember_node_placement *out)
{
    if (!s || !out || index >= s->g->n_nodes)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "node index %zu is out of range", index);
    *out = s->placement[index];
    return EMBER_OK;
}

EMBER_API ember_status ember_session_get_profile(const ember_session *s,
                                                 ember_profile_entry *entries, size_t cap,
                                                 size_t *n)
{
    if (!s || !n || (cap > 0 && !entries))
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_session_get_profile: NULL argument");
    size_t count = exec_profile_read(s->program, entries, cap);
    if (count == 0 && s->plan->n_steps > 0)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "profiling is off for this session; enable it with "
                          "ember_session_options_set_profiling");
    *n = count;
    return EMBER_OK;
}

EMBER_API size_t ember_session_get_copy_count(const ember_session *s)
{
    return s ? s->plan->n_copies : 0;
}

EMBER_API size_t ember_session_get_provider_count(const ember_session *s)
{
    return s ? s->n_providers : 0;
}

EMBER_API const char *ember_session_get_provider_name(const ember_session *s, size_t index)
{
    return s && index < s->n_providers ? s->providers[index].name : NULL;
}

/* ---- names ---------------------------------------------------------------------- */

static ember_status unknown_name(const ember_session *s, const char *kind, const char *name,
                                 const int *values, size_t n)
{
    char known[512];
    size_t used = 0;
    known[0] = '\0';
    for (size_t i = 0; i < n && used < sizeof known; i++)
        used += (size_t)snprintf(known + used, sizeof known - used, "%s'%s'", i ? ", " : "",
                                 s->g->values[values[i]].name);
    return ember_fail(EMBER_E_INVALID_ARGUMENT, "the model has no %s named '%s' (its %ss: %s)",
                      kind, name ? name : "(null)", kind, known);
}

static int find_name(const ember_session *s, const char *name, const int *values, size_t n)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcmp(s->g->values[values[i]].name, name) == 0)
            return values[i];
    return -1;
}

ember_status api_session_input(const ember_session *s, const char *name, int *value)
{
    const graph *g = s->g;
    *value = find_name(s, name, g->inputs, g->n_inputs);
    return *value >= 0 ? EMBER_OK : unknown_name(s, "input", name, s->input_values, s->n_inputs);
}

ember_status api_session_output(const ember_session *s, const char *name, int *value)
{
    *value = find_name(s, name, s->output_values, s->n_outputs);
    return *value >= 0 ? EMBER_OK
                       : unknown_name(s, "output", name, s->output_values, s->n_outputs);
}

/* ---- run ------------------------------------------------------------------------ */

static ember_status make_feeds(const ember_session *s, const char *const *names,
                               const ember_value *const *inputs, size_t n, exec_feed *feeds)
{
    for (size_t i = 0; i < n; i++) {
        if (!inputs[i])
            return ember_fail(EMBER_E_INVALID_ARGUMENT, "input %zu ('%s') is NULL", i,
                              names[i] ? names[i] : "(null)");
        EMBER_TRY(api_session_input(s, names[i], &feeds[i].value));
        feeds[i].tensor = &inputs[i]->tensor;
    }
    return EMBER_OK;
}

static ember_status make_fetches(const ember_session *s, const char *const *names, size_t n,
                                 exec_fetch *fetches)
{
    for (size_t i = 0; i < n; i++) {
        EMBER_TRY(api_session_output(s, names[i], &fetches[i].value));
        fetches[i].device = (ember_device){EMBER_DEVICE_CPU, 0};
    }
    return EMBER_OK;
}

static ember_status hand_out(exec_fetch *fetches, size_t n, ember_value **outputs)
{
    size_t done = 0;
    ember_status status = EMBER_OK;
    for (; done < n && status == EMBER_OK; done++)
        status = api_value_take(&fetches[done].result, &outputs[done]);
    if (status == EMBER_OK)
        return EMBER_OK;
    for (size_t i = 0; i + 1 < done; i++)
        ember_value_destroy(outputs[i]);
    for (size_t i = done - 1; i < n; i++)
        exec_tensor_release(&fetches[i].result);
    return status;
}

EMBER_API ember_status ember_session_run(ember_session *s, const ember_run_options *opts,
                                         const char *const *input_names,
                                         const ember_value *const *inputs, size_t n_inputs,
                                         const char *const *output_names, ember_value **outputs,
                                         size_t n_outputs)
{
    (void)opts;
    if (!s || (n_inputs && (!input_names || !inputs)) ||
        (n_outputs && (!output_names || !outputs)))
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_session_run: NULL argument");
    exec_feed *feeds = util_calloc(n_inputs + 1, sizeof *feeds);
    exec_fetch *fetches = util_calloc(n_outputs + 1, sizeof *fetches);
    ember_status status = feeds && fetches ? EMBER_OK
                                           : ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory");
    if (status == EMBER_OK)
        status = make_feeds(s, input_names, inputs, n_inputs, feeds);
    if (status == EMBER_OK)
        status = make_fetches(s, output_names, n_outputs, fetches);
    ember_env *previous = api_log_scope(s->env);
    if (status == EMBER_OK)
        status = exec_run(s->program, feeds, n_inputs, fetches, n_outputs);
    api_log_scope(previous);
    if (status == EMBER_OK)
        status = hand_out(fetches, n_outputs, outputs);
    util_free(feeds);
    util_free(fetches);
    return status;
}
