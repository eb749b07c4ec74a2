/*
 * The provider registry of one env: plugins registered by path, and those
 * found by name on the search path (EMBER_PROVIDER_PATH, the folders beside
 * the core's own library, the install dir). Loading and checking a single
 * file is loader.c's job; this file decides which files to try and keeps
 * what was accepted.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "core/provider/provider_impl.h"
#include "core/util/util.h"

#define FILE_PREFIX "libember_provider_"
#define FILE_SUFFIX ".so"
#define MAX_NAME 64

/*
 * Invariants: `libs` lists every accepted library once per dlopen handle.
 * Libraries registered by path come first, newest first, so a name
 * resolves to its latest registration before anything found on the search
 * path; found libraries follow in the order they were found. The registry
 * holds one reference on each. `lock` guards `libs` and every lib's
 * `next`.
 */
struct provider_registry {
    const ember_host_api *host;
    char *install_dir; /* NULL when none */
    pthread_mutex_t lock;
    provider_lib *libs;
};

/* Its address tells dladdr which file holds the core. */
static const char self_anchor;

ember_status provider_registry_create(const ember_host_api *host, const char *install_dir,
                                      provider_registry **out)
{
    if (!host)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "provider registry: host table is NULL");
    provider_registry *reg = util_calloc(1, sizeof *reg);
    char *dir = install_dir ? util_strdup(install_dir) : NULL;
    if (!reg || (install_dir && !dir)) {
        util_free(reg);
        util_free(dir);
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating the provider registry");
    }
    reg->host = host;
    reg->install_dir = dir;
    pthread_mutex_init(&reg->lock, NULL);
    *out = reg;
    return EMBER_OK;
}

void provider_registry_destroy(provider_registry *reg)
{
    if (!reg)
        return;
    provider_lib *lib = reg->libs;
    while (lib) {
        provider_lib *next = lib->next;
        provider_lib_release(lib); /* instances may keep it alive a while */
        lib = next;
    }
    pthread_mutex_destroy(&reg->lock);
    util_free(reg->install_dir);
    util_free(reg);
}

/* ---- the list ---------------------------------------------------------------------- */

static provider_lib *lookup(const provider_registry *reg, const char *name)
{
    for (provider_lib *lib = reg->libs; lib; lib = lib->next)
        if (util_streq_nocase(lib->api->name, name))
            return lib;
    return NULL;
}

/* Removes and returns the library opened through `handle`, if any. */
static provider_lib *unlink_handle(provider_registry *reg, void *handle)
{
    for (provider_lib **link = &reg->libs; *link; link = &(*link)->next) {
        provider_lib *lib = *link;
        if (lib->handle == handle) {
            *link = lib->next;
            lib->next = NULL;
            return lib;
        }
    }
    return NULL;
}

static bool has_handle(const provider_registry *reg, void *handle)
{
    for (const provider_lib *lib = reg->libs; lib; lib = lib->next)
        if (lib->handle == handle)
            return true;
    return false;
}

static void append(provider_registry *reg, provider_lib *lib)
{
    provider_lib **link = &reg->libs;
    while (*link)
        link = &(*link)->next;
    *link = lib;
}

/* Puts `lib` at the head as a registration. The same file opened twice
 * (dlopen returned a known handle) keeps its first record. */
static provider_lib *register_lib(provider_registry *reg, provider_lib *lib)
{
    provider_lib *known = unlink_handle(reg, lib->handle);
    if (known) {
        provider_lib_discard_duplicate(lib);
        lib = known;
    }
    lib->next = reg->libs;
    reg->libs = lib;
    return lib;
}

/* ---- registration by path ---------------------------------------------------------- */

ember_status provider_registry_load_path(provider_registry *reg, const char *path,
                                         provider_lib **out)
{
    if (!reg || !path || !path[0] || !out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "provider_registry_load_path: NULL argument");
    if (access(path, F_OK) != 0)
        return ember_fail(EMBER_E_NO_SUCH_FILE, "provider file %s does not exist; check the path",
                          path);
    /* A bare file name would make dlopen search the system's library path. */
    char *local = strchr(path, '/') ? NULL : util_format("./%s", path);
    if (!strchr(path, '/') && !local)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading provider %s", path);
    provider_lib *lib = NULL;
    pthread_mutex_lock(&reg->lock);
    ember_status status = provider_lib_open(reg->host, local ? local : path, &lib);
    if (status == EMBER_OK)
        lib = register_lib(reg, lib);
    pthread_mutex_unlock(&reg->lock);
    util_free(local);
    if (status == EMBER_OK)
        *out = lib;
    return status;
}

/* ---- the search path --------------------------------------------------------------- */

typedef struct dir_list {
    char **dirs;
    size_t n_dirs, cap;
    bool is_env_ignored; /* EMBER_PROVIDER_PATH set but the process is setuid */
} dir_list;

static void dirs_free(dir_list *list)
{
    for (size_t i = 0; i < list->n_dirs; i++)
        util_free(list->dirs[i]);
    util_free(list->dirs);
}

static ember_status dirs_add(dir_list *list, const char *dir, size_t len)
{
    for (size_t i = 0; i < list->n_dirs; i++)
        if (strlen(list->dirs[i]) == len && memcmp(list->dirs[i], dir, len) == 0)
            return EMBER_OK;
    EMBER_TRY(util_grow((void **)&list->dirs, &list->cap, list->n_dirs + 1, sizeof *list->dirs));
    char *copy = util_strndup(dir, len);
    if (!copy)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory listing provider directories");
    list->dirs[list->n_dirs++] = copy;
    return EMBER_OK;
}

/* ':'-separated; empty entries are skipped. Ignored in setuid/setgid
 * processes, where the environment belongs to a less trusted user (the
 * Vulkan loader's rule). */
static ember_status add_env_dirs(dir_list *list)
{
    const char *path = getenv("EMBER_PROVIDER_PATH");
    if (path && getauxval(AT_SECURE)) {
        list->is_env_ignored = true;
        return EMBER_OK;
    }
    while (path && *path) {
        size_t len = strcspn(path, ":");
        if (len)
            EMBER_TRY(dirs_add(list, path, len));
        path += len + (path[len] == ':');
    }
    return EMBER_OK;
}

/* <folder of the file holding the core>/ember/providers (an install's
 * lib/ember/providers beside lib/libember.so) and <that folder>/providers
 * (a Python package: ember/_ember*.so beside ember/providers/), so that a
 * relocated install or a wheel finds its own plugins, each loaded only
 * when a session or a query names it. */
static ember_status add_self_dirs(dir_list *list)
{
    Dl_info info;
    char real[PATH_MAX], dir[PATH_MAX + 32];
    if (!dladdr(&self_anchor, &info) || !info.dli_fname || !realpath(info.dli_fname, real))
        return EMBER_OK;
    char *slash = strrchr(real, '/');
    if (!slash)
        return EMBER_OK;
    *slash = '\0';
    static const char *const below[] = {"ember/providers", "providers"};
    for (size_t i = 0; i < sizeof below / sizeof below[0]; i++) {
        int len = snprintf(dir, sizeof dir, "%s/%s", real[0] ? real : "", below[i]);
        if (len > 0 && (size_t)len < sizeof dir)
            EMBER_TRY(dirs_add(list, dir, (size_t)len));
    }
    return EMBER_OK;
}

static ember_status search_dirs(const provider_registry *reg, dir_list *list)
{
    EMBER_TRY(add_env_dirs(list));
    EMBER_TRY(add_self_dirs(list));
    if (reg->install_dir && reg->install_dir[0])
        EMBER_TRY(dirs_add(list, reg->install_dir, strlen(reg->install_dir)));
    return EMBER_OK;
}

/* ---- search by name ---------------------------------------------------------------- */

/* libember_provider_<lowercase name>.so; letters, digits, '_' and '-' only,
 * so that a name can never reach outside the searched folders. */
static ember_status file_for(const char *name, char *file, size_t size)
{
    size_t len = strlen(name);
    bool is_valid = len > 0 && len <= MAX_NAME;
    for (size_t i = 0; is_valid && i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        is_valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '_' || c == '-';
    }
    if (!is_valid)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "provider name '%s' is not valid: use 1 to %d letters, digits, '_' "
                          "or '-'",
                          name, MAX_NAME);
    int used = snprintf(file, size, FILE_PREFIX);
    for (size_t i = 0; i < len; i++)
        file[used++] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    snprintf(file + used, size - (size_t)used, FILE_SUFFIX);
    return EMBER_OK;
}

/* Appends this thread's last message (a refusal) to *refusals. */
static ember_status note_refusal(char **refusals)
{
    char *joined = *refusals ? util_format("%s. Also: %s", *refusals, ember_last_error())
                             : util_strdup(ember_last_error());
    if (!joined)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory searching for providers");
    util_free(*refusals);
    *refusals = joined;
    return EMBER_OK;
}

/* Frees a library that was opened but not kept. */
static void drop_unused(provider_registry *reg, provider_lib *lib)
{
    if (has_handle(reg, lib->handle))
        provider_lib_discard_duplicate(lib); /* in use under another name */
    else
        provider_lib_release(lib);
}

/* Tries dir/file. Sets *found when accepted; an absent file or a refusal
 * (noted in *refusals) leaves it NULL; any other failure is returned. */
static ember_status try_candidate(provider_registry *reg, const char *dir, const char *file,
                                  const char *name, char **refusals, provider_lib **found)
{
    char *path = util_format("%s/%s", dir, file);
    if (!path)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory searching for providers");
    provider_lib *lib = NULL;
    ember_status status = EMBER_OK;
    if (access(path, F_OK) == 0)
        status = provider_lib_open(reg->host, path, &lib);
    if (lib && !util_streq_nocase(lib->api->name, name)) {
        status = ember_fail(EMBER_E_PROVIDER_ABI,
                            "%s declares provider name '%s', not '%s'; rename the file or fix "
                            "the name in its table",
                            path, lib->api->name, name);
        drop_unused(reg, lib);
        lib = NULL;
    }
    util_free(path);
    if (status == EMBER_E_PROVIDER_ABI)
        return note_refusal(refusals);
    if (status == EMBER_OK)
        *found = lib;
    return status;
}

/* "dir1, dir2, ..." (truncated to the buffer), or "no directory". */
static void join_dirs(const dir_list *list, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < list->n_dirs && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", list->dirs[i]);
    if (list->n_dirs == 0)
        snprintf(buf, size, "no directory");
}

static ember_status not_found(const char *name, const char *file, const dir_list *list)
{
    char dirs[1024];
    join_dirs(list, dirs, sizeof dirs);
    return ember_fail(EMBER_E_NO_SUCH_FILE,
                      "provider '%s' not found: looked for %s in %s%s; set "
                      "EMBER_PROVIDER_PATH or install it",
                      name, file, dirs,
                      list->is_env_ignored ? " (EMBER_PROVIDER_PATH is ignored in setuid "
                                             "programs)"
                                           : "");
}

static ember_status all_refused(const char *name, const char *refusals, const dir_list *list)
{
    char dirs[1024];
    join_dirs(list, dirs, sizeof dirs);
    return ember_fail(EMBER_E_PROVIDER_ABI, "provider '%s' could not be loaded: %s (searched %s)",
                      name, refusals, dirs);
}

static void log_skipped(const provider_registry *reg, const char *refusals)
{
    if (refusals && EMBER_HAS(reg->host, ember_host_api, log))
        reg->host->log(EMBER_LOG_WARNING, "skipped a provider candidate: %s", refusals);
}

/* Called with the lock held. */
static ember_status search(provider_registry *reg, const char *name, provider_lib **out)
{
    char file[sizeof FILE_PREFIX + MAX_NAME + sizeof FILE_SUFFIX];
    EMBER_TRY(file_for(name, file, sizeof file));
    dir_list list = {0};
    char *refusals = NULL;
    provider_lib *lib = NULL;
    ember_status status = search_dirs(reg, &list);
    for (size_t i = 0; status == EMBER_OK && !lib && i < list.n_dirs; i++)
        status = try_candidate(reg, list.dirs[i], file, name, &refusals, &lib);
    if (status == EMBER_OK && lib) {
        log_skipped(reg, refusals);
        append(reg, lib);
        *out = lib;
    } else if (status == EMBER_OK && refusals) {
        status = all_refused(name, refusals, &list);
    } else if (status == EMBER_OK) {
        status = not_found(name, file, &list);
    }
    util_free(refusals);
    dirs_free(&list);
    return status;
}

ember_status provider_registry_find(provider_registry *reg, const char *name,
                                    provider_lib **out)
{
    if (!reg || !name || !out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "provider_registry_find: NULL argument");
    pthread_mutex_lock(&reg->lock);
    provider_lib *lib = lookup(reg, name);
    ember_status status = lib ? EMBER_OK : search(reg, name, &lib);
    pthread_mutex_unlock(&reg->lock);
    if (status == EMBER_OK)
        *out = lib;
    return status;
}
