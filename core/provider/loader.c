/*
 * Opens one provider plugin and checks it against the ABI this core speaks,
 * in the order of STYLE.md §5: dlopen, dlsym of the entry point,
 * entry(EMBER_ABI_VERSION), then the major, the table size and the
 * required slots. Each refusal is one sentence that names the file, the
 * versions on both sides and the fix. Also the library's lifetime: the
 * last release runs the plugin's shutdown, then dlclose.
 */
#include <dlfcn.h>
#include <stdlib.h>

#include "core/provider/provider_impl.h"
#include "core/util/util.h"

/* End of the last 1.0 field: the smallest table this core can read. */
#define ABI_1_0_SIZE                                                                     \
    (offsetof(ember_provider_api, shutdown) + sizeof(((ember_provider_api *)0)->shutdown))

/* Majors tried when entry() declines ours, to name the one it speaks.
 * Safe because entry has no side effects (ember_provider.h). */
#define PROBED_MAJORS 16u

#define MAJOR(v) ((unsigned)EMBER_ABI_MAJOR_OF(v))
#define MINOR(v) ((unsigned)EMBER_ABI_MINOR_OF(v))

/* ---- refusals ---------------------------------------------------------------------- */

static ember_status refuse_major(const char *path, uint32_t found)
{
    return ember_fail(EMBER_E_PROVIDER_ABI,
                      "%s was built for provider ABI %u.%u; this Ember speaks %u.%u; "
                      "rebuild it against ember_provider.h %u.x",
                      path, MAJOR(found), MINOR(found), EMBER_ABI_MAJOR, EMBER_ABI_MINOR,
                      EMBER_ABI_MAJOR);
}

/* entry(EMBER_ABI_VERSION) returned NULL: find which major it does speak. */
static ember_status refuse_declined(const char *path, ember_provider_entry_fn entry)
{
    for (uint32_t major = 0; major < PROBED_MAJORS; major++) {
        if (major == EMBER_ABI_MAJOR)
            continue;
        const ember_provider_api *api = entry(major << 16);
        /* abi_version is the first field in every major (DESIGN.md). */
        if (api && EMBER_ABI_MAJOR_OF(api->abi_version) == major)
            return refuse_major(path, api->abi_version);
    }
    return ember_fail(EMBER_E_PROVIDER_ABI,
                      "%s declines provider ABI %u.%u (its ember_provider_entry returned NULL "
                      "for every major from 0 to %u); rebuild it against ember_provider.h %u.x",
                      path, EMBER_ABI_MAJOR, EMBER_ABI_MINOR, PROBED_MAJORS - 1,
                      EMBER_ABI_MAJOR);
}

static ember_status refuse_unloadable(const char *path)
{
    const char *why = dlerror();
    return ember_fail(EMBER_E_PROVIDER_ABI,
                      "%s could not be loaded (%s); this Ember speaks provider ABI %u.%u; "
                      "install the libraries it needs or rebuild it",
                      path, why ? why : "unknown dlopen error", EMBER_ABI_MAJOR,
                      EMBER_ABI_MINOR);
}

/* ---- checks ------------------------------------------------------------------------ */

/* The first required slot left NULL, or NULL when all are set. Called only
 * once struct_size is known to cover the 1.0 band. */
static const char *missing_slot(const ember_provider_api *api)
{
    if (!EMBER_HAS(api, ember_provider_api, name) || !api->name[0])
        return "name";
    if (!EMBER_HAS(api, ember_provider_api, device_name))
        return "device_name";
    if (!EMBER_HAS(api, ember_provider_api, create))
        return "create";
    if (!EMBER_HAS(api, ember_provider_api, destroy))
        return "destroy";
    if (!EMBER_HAS(api, ember_provider_api, claim))
        return "claim";
    if (!EMBER_HAS(api, ember_provider_api, kernel_create))
        return "kernel_create";
    if (!EMBER_HAS(api, ember_provider_api, kernel_run))
        return "kernel_run";
    if (!EMBER_HAS(api, ember_provider_api, kernel_destroy))
        return "kernel_destroy";
    if (api->device_type == EMBER_DEVICE_CPU)
        return NULL; /* host memory is the core's */
    if (!EMBER_HAS(api, ember_provider_api, alloc))
        return "alloc";
    if (!EMBER_HAS(api, ember_provider_api, free))
        return "free";
    if (!EMBER_HAS(api, ember_provider_api, copy))
        return "copy";
    return NULL;
}

static ember_status check_table(const char *path, const ember_provider_api *api)
{
    if (EMBER_ABI_MAJOR_OF(api->abi_version) != EMBER_ABI_MAJOR)
        return refuse_major(path, api->abi_version);
    if (api->struct_size < ABI_1_0_SIZE)
        return ember_fail(EMBER_E_PROVIDER_ABI,
                          "%s declares provider ABI %u.%u but a table of %u bytes, smaller "
                          "than the %zu bytes of ABI 1.0 (this Ember speaks %u.%u); rebuild "
                          "it against ember_provider.h %u.x",
                          path, MAJOR(api->abi_version), MINOR(api->abi_version),
                          (unsigned)api->struct_size, (size_t)ABI_1_0_SIZE, EMBER_ABI_MAJOR,
                          EMBER_ABI_MINOR, EMBER_ABI_MAJOR);
    const char *slot = missing_slot(api);
    if (slot)
        return ember_fail(EMBER_E_PROVIDER_ABI,
                          "%s (provider ABI %u.%u; this Ember speaks %u.%u) leaves required "
                          "slot '%s' NULL; fix the provider's table",
                          path, MAJOR(api->abi_version), MINOR(api->abi_version),
                          EMBER_ABI_MAJOR, EMBER_ABI_MINOR, slot);
    return EMBER_OK;
}

/* dlsym, then entry(EMBER_ABI_VERSION). */
static ember_status negotiate(void *handle, const char *path, const ember_provider_api **out)
{
    ember_provider_entry_fn entry;
    dlerror();
    /* POSIX's sanctioned way to turn dlsym's object pointer into a function. */
    *(void **)&entry = dlsym(handle, EMBER_PROVIDER_ENTRY_SYMBOL);
    if (!entry)
        return ember_fail(EMBER_E_PROVIDER_ABI,
                          "%s has no symbol %s; it is not an Ember provider", path,
                          EMBER_PROVIDER_ENTRY_SYMBOL);
    const ember_provider_api *api = entry(EMBER_ABI_VERSION);
    if (!api)
        return refuse_declined(path, entry);
    EMBER_TRY(check_table(path, api));
    *out = api;
    return EMBER_OK;
}

/* ---- the library record ------------------------------------------------------------ */

static ember_status make_lib(const ember_host_api *host, void *handle, const char *path,
                             const ember_provider_api *api, provider_lib **out)
{
    provider_lib *lib = util_calloc(1, sizeof *lib);
    char *copy = util_strdup(path);
    if (!lib || !copy) {
        util_free(lib);
        util_free(copy);
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading provider %s", path);
    }
    lib->api = api;
    lib->host = host;
    lib->handle = handle;
    lib->path = copy;
    atomic_init(&lib->refs, 1);
    *out = lib;
    return EMBER_OK;
}

ember_status provider_lib_open(const ember_host_api *host, const char *path,
                               provider_lib **out)
{
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        return refuse_unloadable(path);
    const ember_provider_api *api = NULL;
    ember_status status = negotiate(handle, path, &api);
    if (status == EMBER_OK)
        status = make_lib(host, handle, path, api, out);
    if (status != EMBER_OK)
        dlclose(handle);
    return status;
}

void provider_lib_retain(provider_lib *lib)
{
    atomic_fetch_add_explicit(&lib->refs, 1, memory_order_relaxed);
}

static void free_lib(provider_lib *lib)
{
    util_free(lib->path);
    util_free(lib);
}

/* Teardown order, part of the ABI: every instance (and so every kernel) is
 * gone by now; shutdown runs before the code is unmapped. */
void provider_lib_release(provider_lib *lib)
{
    if (!lib || atomic_fetch_sub_explicit(&lib->refs, 1, memory_order_acq_rel) != 1)
        return;
    const ember_provider_api *api = lib->api;
    if (EMBER_HAS(api, ember_provider_api, shutdown))
        api->shutdown();
    if (!(api->flags & EMBER_PROVIDER_FLAG_NO_UNLOAD))
        dlclose(lib->handle);
    free_lib(lib);
}

void provider_lib_discard_duplicate(provider_lib *lib)
{
    dlclose(lib->handle);
    free_lib(lib);
}

/* ---- accessors --------------------------------------------------------------------- */

const char *provider_lib_name(const provider_lib *lib)
{
    return lib->api->name;
}

const char *provider_lib_device_name(const provider_lib *lib)
{
    return lib->api->device_name;
}

uint32_t provider_lib_device_type(const provider_lib *lib)
{
    return lib->api->device_type;
}

const char *provider_lib_path(const provider_lib *lib)
{
    return lib->path;
}

uint32_t provider_lib_abi_version(const provider_lib *lib)
{
    return lib->api->abi_version;
}

ember_status provider_lib_probe(provider_lib *lib, uint32_t *score, char *why, size_t why_size)
{
    const ember_provider_api *api = lib->api;
    if (why && why_size)
        why[0] = '\0';
    if (!EMBER_HAS(api, ember_provider_api, probe)) {
        *score = 1; /* the slot's documented default */
        return EMBER_OK;
    }
    char scratch[1] = "";
    uint32_t result = 0;
    ember_status status = why && why_size ? api->probe(lib->host, &result, why, why_size)
                                          : api->probe(lib->host, &result, scratch, 1);
    if (status != EMBER_OK)
        return ember_fail_prefix(status, "provider %s (probe)", api->name);
    *score = result;
    return EMBER_OK;
}
