/*
 * Opens a model for `ember run` and `ember info`: checks the file, the
 * providers asked for, and creates the environment and the session, turning
 * each failure into one line that names the file or the provider.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static int check_model_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cli_fail("cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cli_fail("cannot open '%s': it is a directory", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_fail("cannot open '%s': %s", path, strerror(errno));
    fclose(f);
    return CLI_OK;
}

static int check_provider(ember_env *env, const char *name)
{
    char why[512] = "";
    if (ember_env_provider_available(env, name, why, sizeof why))
        return CLI_OK;
    if (!why[0])
        return cli_fail("provider '%s' not found on the provider search path", name);
    if (strcasestr(why, name))
        return cli_fail("%s", why); // the library's reason names the provider already
    return cli_fail("provider '%s' is not available: %s", name, why);
}

/* Appends provider `item`, NAME[:KEY=VALUE...] (options after colons). */
static int append_provider(ember_session_options *opts, char *item)
{
    enum { MAX_OPTIONS = 16 };
    const char *keys[MAX_OPTIONS], *values[MAX_OPTIONS];
    size_t n = 0;
    char *save = NULL;
    char *name = strtok_r(item, ":", &save);
    for (char *opt = strtok_r(NULL, ":", &save); opt; opt = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(opt, '=');
        if (!eq || eq == opt || n == MAX_OPTIONS)
            return cli_fail("provider '%s': option '%s' is not KEY=VALUE (at most %d)", name,
                            opt, MAX_OPTIONS);
        *eq = '\0';
        keys[n] = opt;
        values[n++] = eq + 1;
    }
    if (ember_session_options_append_provider(opts, name, keys, values, n))
        return cli_fail_ember("provider list");
    return CLI_OK;
}

/* Appends each provider of the comma-separated list, after checking it
 * loads. Without --strict, a provider that cannot run here (no GPU, say)
 * is left out with a warning while later ones remain to fall back to. */
static int add_providers(ember_env *env, ember_session_options *opts, const char *list,
                         bool strict)
{
    char *copy = strdup(list);
    if (!copy)
        return cli_fail("out of memory");
    int rc = CLI_OK;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item && rc == CLI_OK;
         item = strtok_r(NULL, ",", &save)) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(item, ":"), item);
        rc = check_provider(env, name);
        bool has_fallback = save && *save;
        if (rc != CLI_OK && !strict && has_fallback) {
            fprintf(stderr, "ember: warning: %s; falling back to the next provider\n",
                    cli_message());
            rc = CLI_OK;
            continue;
        }
        if (rc == CLI_OK)
            rc = append_provider(opts, item);
    }
    free(copy);
    return rc;
}

static int make_options(ember_env *env, const cli_session_config *config,
                        ember_session_options **out)
{
    ember_session_options *opts = NULL;
    if (ember_session_options_create(&opts) != EMBER_OK)
        return cli_fail_ember("session options");
    int rc = config->providers ? add_providers(env, opts, config->providers, config->strict)
                               : check_provider(env, "CPU");
    if (rc != CLI_OK) {
        ember_session_options_destroy(opts);
        return rc;
    }
    ember_session_options_set_strict(opts, config->strict);
    if (config->threads >= 0)
        ember_session_options_set_intra_op_threads(opts, (int)config->threads);
    ember_session_options_set_profiling(opts, config->profile);
    if (config->opt_level >= 0)
        ember_session_options_set_opt_level(opts, (ember_opt_level)config->opt_level);
    *out = opts;
    return CLI_OK;
}

/* The library's message, prefixed with the file unless it names it already. */
static int fail_load(const char *path)
{
    const char *msg = ember_last_error();
    if (!msg || !msg[0])
        msg = "unknown error";
    if (strstr(msg, path))
        return cli_fail("%s", msg);
    return cli_fail("cannot load '%s': %s", path, msg);
}

int cli_open_model(const char *path, const cli_session_config *config, ember_env **env_out,
                   ember_session **session_out)
{
    ember_env *env = NULL;
    ember_session_options *opts = NULL;
    ember_session *session = NULL;
    int rc = check_model_file(path);
    if (rc != CLI_OK)
        return rc;
    if (ember_env_create(&env) != EMBER_OK)
        return cli_fail_ember("cannot create the Ember environment");
    rc = make_options(env, config, &opts);
    if (rc == CLI_OK && ember_session_create(env, path, opts, &session) != EMBER_OK)
        rc = fail_load(path);
    ember_session_options_destroy(opts);
    if (rc != CLI_OK) {
        ember_env_destroy(env);
        return rc;
    }
    *env_out = env;
    *session_out = session;
    return CLI_OK;
}
