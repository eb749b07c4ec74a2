/*
 * Provider plugins: finding, loading and checking them, and the one
 * wrapper per ABI slot through which the rest of the core calls them. No
 * other file dereferences an ember_provider_api.
 *
 * Lifetime: a provider_registry (one per env) owns the loaded libraries.
 * A provider_instance holds a reference on its library, so the library
 * outlives every instance; the registry unloads a library (shutdown, then
 * dlclose unless the plugin asks to stay mapped) when both the registry and
 * the last instance have let go of it.
 */
#ifndef EMBER_CORE_PROVIDER_H
#define EMBER_CORE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/ember_provider.h"

typedef struct provider_registry provider_registry;
typedef struct provider_lib provider_lib;
typedef struct provider_instance provider_instance;

/* `host` must outlive the registry. `install_dir` is the last directory
 * searched (the install's libdir/ember/providers); may be NULL. */
ember_status provider_registry_create(const ember_host_api *host, const char *install_dir,
                                      provider_registry **out);
void provider_registry_destroy(provider_registry *reg);

/* Loads the plugin at `path` and registers it under its table's name,
 * ahead of the search path. Thread-safe. */
ember_status provider_registry_load_path(provider_registry *reg, const char *path,
                                         provider_lib **out);
/* The library for provider `name` (case-insensitive), loaded on first use
 * from: registered paths, then each EMBER_PROVIDER_PATH directory (unless
 * setuid/setgid), then install_dir; file libember_provider_<lower>.so.
 * Borrowed from the registry. Thread-safe. The message of a failure lists
 * every place searched and why each candidate was refused. */
ember_status provider_registry_find(provider_registry *reg, const char *name,
                                    provider_lib **out);

const char *provider_lib_name(const provider_lib *lib);
const char *provider_lib_device_name(const provider_lib *lib);
uint32_t provider_lib_device_type(const provider_lib *lib);
const char *provider_lib_path(const provider_lib *lib);
uint32_t provider_lib_abi_version(const provider_lib *lib);
/* Calls probe (default: score 1). */
ember_status provider_lib_probe(provider_lib *lib, uint32_t *score, char *why, size_t why_size);

/* Creates an instance (refcount 1); it holds a reference on `lib`. */
ember_status provider_instance_create(provider_lib *lib, const ember_option *options,
                                      size_t n_options, provider_instance **out);
void provider_instance_retain(provider_instance *p);
/* Drops a reference; the last one destroys the instance. NULL is a no-op. */
void provider_instance_release(provider_instance *p);
provider_lib *provider_instance_lib(const provider_instance *p);

/* ---- one wrapper per slot ---------------------------------------------------------- */
/* Each checks EMBER_HAS, applies the default of an optional slot, and
 * makes sure a failure carries a message naming the provider. */

ember_status provider_claim(provider_instance *p, const ember_node *node, bool *claimed);
ember_status provider_kernel_create(provider_instance *p, const ember_node *node,
                                    ember_kernel **out);
ember_status provider_kernel_run(provider_instance *p, ember_kernel *kernel,
                                 ember_kernel_context *ctx);
void provider_kernel_destroy(provider_instance *p, ember_kernel *kernel);
/* Whether the provider implements group_create (ABI 1.1). */
bool provider_runs_groups(const provider_instance *p);
/* Sets *out to the group's kernel, or to NULL when the provider declines. */
ember_status provider_group_create(provider_instance *p, const ember_group *group,
                                   ember_kernel **out);
ember_status provider_alloc(provider_instance *p, int32_t device_id, size_t bytes,
                            void **out);
void provider_free(provider_instance *p, int32_t device_id, void *ptr);
ember_status provider_copy(provider_instance *p, void *dst, ember_device dst_device,
                           const void *src, ember_device src_device, size_t bytes);
ember_status provider_synchronize(provider_instance *p);

#endif /* EMBER_CORE_PROVIDER_H */
