/*
 * Private to core/provider: the loaded-library record shared by the loader
 * (loader.c), the registry (registry.c) and the slot wrappers (instance.c).
 * Other modules include provider.h only.
 */
#ifndef EMBER_CORE_PROVIDER_IMPL_H
#define EMBER_CORE_PROVIDER_IMPL_H

#include <stdatomic.h>

#include "core/provider/provider.h"

/*
 * One plugin file mapped into the process and accepted by the checks in
 * loader.c. Invariants:
 *   - `api` passed every check: major == EMBER_ABI_MAJOR, struct_size
 *     covers the 1.0 band, required slots are set. Fields of the 1.0 band
 *     may therefore be read directly; later bands only through EMBER_HAS.
 *   - `refs` counts the registry (one) plus each live provider_instance.
 *     The last release runs shutdown and then dlclose (unless the plugin
 *     set EMBER_PROVIDER_FLAG_NO_UNLOAD), so no instance outlives its code.
 *   - `next` belongs to the registry and is guarded by its lock.
 */
struct provider_lib {
    const ember_provider_api *api;
    const ember_host_api *host; /* passed to probe and create */
    void *handle;               /* from dlopen */
    char *path;                 /* as opened; used in messages */
    atomic_uint refs;
    provider_lib *next; /* the registry's list */
};

/* Opens `path` (which must contain a '/'), negotiates the ABI and checks
 * the table. The new library has one reference. Refusals are
 * EMBER_E_PROVIDER_ABI with a one-sentence message naming the file, both
 * versions and the fix. */
ember_status provider_lib_open(const ember_host_api *host, const char *path,
                               provider_lib **out);
void provider_lib_retain(provider_lib *lib);
/* Drops a reference; the last one unloads the plugin. */
void provider_lib_release(provider_lib *lib);
/* Frees a freshly opened `lib` that duplicates an already loaded one (same
 * dlopen handle): dlclose drops only this open's count, and shutdown is
 * not run because the plugin stays in use. */
void provider_lib_discard_duplicate(provider_lib *lib);

#endif /* EMBER_CORE_PROVIDER_IMPL_H */
