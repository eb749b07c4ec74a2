/*
 * Session and run options.
 */
#include <string.h>

#include "core/api/api.h"
#include "core/util/util.h"

EMBER_API ember_status ember_session_options_create(ember_session_options **out)
{
    if (!out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_session_options_create: out is NULL");
    ember_session_options *opts = util_calloc(1, sizeof *opts);
    if (!opts)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating session options");
    opts->opt_level = EMBER_OPT_ALL;
    opts->log_level = EMBER_LOG_WARNING;
    *out = opts;
    return EMBER_OK;
}

static void free_choice(api_provider_choice *c)
{
    for (size_t i = 0; i < c->n_options; i++) {
        util_free((char *)c->options[i].key);
        util_free((char *)c->options[i].value);
    }
    util_free(c->options);
    util_free(c->name);
}

EMBER_API void ember_session_options_destroy(ember_session_options *opts)
{
    if (!opts)
        return;
    for (size_t i = 0; i < opts->n_providers; i++)
        free_choice(&opts->providers[i]);
    util_free(opts->providers);
    util_free(opts);
}

static ember_status copy_options(api_provider_choice *c, const char *const *keys,
                                 const char *const *values, size_t n)
{
    c->options = util_calloc(n ? n : 1, sizeof *c->options);
    if (!c->options)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying provider options");
    for (; c->n_options < n; c->n_options++) {
        ember_option *o = &c->options[c->n_options];
        if (!keys[c->n_options] || !values[c->n_options])
            return ember_fail(EMBER_E_INVALID_ARGUMENT, "provider option %zu is NULL",
                              c->n_options);
        o->key = util_strdup(keys[c->n_options]);
        o->value = util_strdup(values[c->n_options]);
        if (!o->key || !o->value) {
            c->n_options++;
            return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying provider options");
        }
    }
    return EMBER_OK;
}

/* "CUDAExecutionProvider" names the same provider as "CUDA". */
static char *canonical_name(const char *name)
{
    static const char suffix[] = "ExecutionProvider";
    size_t n = strlen(name), n_suffix = sizeof suffix - 1;
    if (n > n_suffix && strcmp(name + n - n_suffix, suffix) == 0)
        n -= n_suffix;
    return util_strndup(name, n);
}

EMBER_API ember_status ember_session_options_append_provider(ember_session_options *opts,
                                                             const char *name,
                                                             const char *const *keys,
                                                             const char *const *values,
                                                             size_t n_options)
{
    if (!opts || !name || !*name || (n_options && (!keys || !values)))
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "ember_session_options_append_provider: missing argument");
    api_provider_choice *grown =
        util_realloc(opts->providers, (opts->n_providers + 1) * sizeof *grown);
    if (!grown)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory adding a provider");
    opts->providers = grown;
    api_provider_choice c = {canonical_name(name), 0, NULL};
    ember_status status = c.name ? copy_options(&c, keys, values, n_options)
                                 : ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory");
    if (status != EMBER_OK) {
        free_choice(&c);
        return status;
    }
    opts->providers[opts->n_providers++] = c;
    return EMBER_OK;
}

EMBER_API void ember_session_options_set_strict(ember_session_options *opts, bool strict)
{
    if (opts)
        opts->is_strict = strict;
}

EMBER_API void ember_session_options_set_intra_op_threads(ember_session_options *opts, int n)
{
    if (opts)
        opts->intra_op_threads = n < 0 ? 0 : n;
}

EMBER_API void ember_session_options_set_opt_level(ember_session_options *opts,
                                                   ember_opt_level level)
{
    if (opts)
        opts->opt_level = level;
}

EMBER_API void ember_session_options_set_profiling(ember_session_options *opts, bool enabled)
{
    if (opts)
        opts->is_profiled = enabled;
}

EMBER_API void ember_session_options_set_log_level(ember_session_options *opts,
                                                   ember_log_level level)
{
    if (opts)
        opts->log_level = level;
}

EMBER_API ember_status ember_run_options_create(ember_run_options **out)
{
    if (!out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_run_options_create: out is NULL");
    ember_run_options *opts = util_calloc(1, sizeof *opts);
    if (!opts)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating run options");
    *out = opts;
    return EMBER_OK;
}

EMBER_API void ember_run_options_destroy(ember_run_options *opts)
{
    if (!opts)
        return;
    util_free(opts->tag);
    util_free(opts);
}

EMBER_API void ember_run_options_set_tag(ember_run_options *opts, const char *tag)
{
    if (!opts)
        return;
    util_free(opts->tag);
    opts->tag = util_strdup(tag);
}
