/*
 * Provider instances and the one wrapper per ABI slot through which the
 * rest of the core calls a provider (SQLite's sqlite3Os* pattern). Each
 * wrapper checks EMBER_HAS, applies the documented default of an optional
 * slot, and prefixes a failure's message with the provider and the slot.
 */
#include "core/provider/provider_impl.h"
#include "core/util/util.h"

/*
 * `refs` counts the owners (sessions, tensors that hold device memory)
 * plus one per live kernel, so kernels are always destroyed before their
 * instance, and the instance before its library: the teardown order of
 * STYLE.md §3.7. The instance holds one reference on `lib`.
 */
struct provider_instance {
    provider_lib *lib;
    ember_provider *self; /* the provider's object; may be NULL */
    atomic_uint refs;
};

static const ember_provider_api *api_of(const provider_instance *p)
{
    return p->lib->api;
}

/* Adds "provider NAME (slot)" in front of the provider's message. A
 * provider that failed without calling host->fail leaves whatever message
 * the thread had; the prefix still names the culprit. */
static ember_status blame(const provider_instance *p, const char *slot, ember_status status)
{
    if (status == EMBER_OK)
        return EMBER_OK;
    return ember_fail_prefix(status, "provider %s (%s)", api_of(p)->name, slot);
}

static ember_status missing(const provider_instance *p, const char *slot)
{
    return ember_fail(EMBER_E_NOT_IMPLEMENTED, "provider %s has no '%s' slot", api_of(p)->name,
                      slot);
}

/* ---- instances --------------------------------------------------------------------- */

ember_status provider_instance_create(provider_lib *lib, const ember_option *options,
                                      size_t n_options, provider_instance **out)
{
    provider_instance *p = util_calloc(1, sizeof *p);
    if (!p)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating provider %s",
                          lib->api->name);
    p->lib = lib;
    ember_provider *self = NULL;
    ember_status status = lib->api->create(lib->host, options, n_options, &self);
    if (status != EMBER_OK) {
        blame(p, "create", status);
        util_free(p);
        return status;
    }
    p->self = self;
    atomic_init(&p->refs, 1);
    provider_lib_retain(lib);
    *out = p;
    return EMBER_OK;
}

void provider_instance_retain(provider_instance *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void provider_instance_release(provider_instance *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    provider_lib *lib = p->lib;
    lib->api->destroy(p->self);
    util_free(p);
    provider_lib_release(lib);
}

provider_lib *provider_instance_lib(const provider_instance *p)
{
    return p->lib;
}

/* ---- nodes and kernels ------------------------------------------------------------- */

ember_status provider_claim(provider_instance *p, const ember_node *node, bool *claimed)
{
    const ember_provider_api *api = api_of(p);
    if (!EMBER_HAS(api, ember_provider_api, claim))
        return missing(p, "claim");
    bool is_claimed = false;
    EMBER_TRY(blame(p, "claim", api->claim(p->self, node, &is_claimed)));
    *claimed = is_claimed;
    return EMBER_OK;
}

/* The core marks "no kernel" with NULL, so a kernel must be non-NULL. */
ember_status provider_kernel_create(provider_instance *p, const ember_node *node,
                                    ember_kernel **out)
{
    const ember_provider_api *api = api_of(p);
    if (!EMBER_HAS(api, ember_provider_api, kernel_create))
        return missing(p, "kernel_create");
    ember_kernel *kernel = NULL;
    EMBER_TRY(blame(p, "kernel_create", api->kernel_create(p->self, node, &kernel)));
    if (!kernel)
        return ember_fail(EMBER_E_INTERNAL,
                          "provider %s (kernel_create) returned EMBER_OK without a kernel; "
                          "fix the provider",
                          api->name);
    provider_instance_retain(p);
    *out = kernel;
    return EMBER_OK;
}

ember_status provider_kernel_run(provider_instance *p, ember_kernel *kernel,
                                 ember_kernel_context *ctx)
{
    const ember_provider_api *api = api_of(p);
    if (!EMBER_HAS(api, ember_provider_api, kernel_run))
        return missing(p, "kernel_run");
    return blame(p, "kernel_run", api->kernel_run(kernel, ctx));
}

/* Drops the kernel's reference last: it may be the instance's final one. */
void provider_kernel_destroy(provider_instance *p, ember_kernel *kernel)
{
    if (!kernel)
        return;
    const ember_provider_api *api = api_of(p);
    if (EMBER_HAS(api, ember_provider_api, kernel_destroy))
        api->kernel_destroy(kernel);
    provider_instance_release(p);
}

bool provider_runs_groups(const provider_instance *p)
{
    return EMBER_HAS(api_of(p), ember_provider_api, group_create);
}

ember_status provider_group_create(provider_instance *p, const ember_group *group,
                                   ember_kernel **out)
{
    const ember_provider_api *api = api_of(p);
    ember_kernel *kernel = NULL;
    if (!EMBER_HAS(api, ember_provider_api, group_create)) {
        *out = NULL;
        return EMBER_OK;
    }
    EMBER_TRY(blame(p, "group_create", api->group_create(p->self, group, &kernel)));
    if (kernel)
        provider_instance_retain(p);
    *out = kernel;
    return EMBER_OK;
}

/* ---- device memory ----------------------------------------------------------------- */

ember_status provider_alloc(provider_instance *p, int32_t device_id, size_t bytes, void **out)
{
    const ember_provider_api *api = api_of(p);
    if (!EMBER_HAS(api, ember_provider_api, alloc))
        return missing(p, "alloc");
    void *ptr = NULL;
    EMBER_TRY(blame(p, "alloc", api->alloc(p->self, device_id, bytes, &ptr)));
    *out = ptr;
    return EMBER_OK;
}

/* Default: nothing to free (a provider without alloc handed out nothing). */
void provider_free(provider_instance *p, int32_t device_id, void *ptr)
{
    const ember_provider_api *api = api_of(p);
    if (ptr && EMBER_HAS(api, ember_provider_api, free))
        api->free(p->self, device_id, ptr);
}

ember_status provider_copy(provider_instance *p, void *dst, ember_device dst_device,
                           const void *src, ember_device src_device, size_t bytes)
{
    const ember_provider_api *api = api_of(p);
    if (!EMBER_HAS(api, ember_provider_api, copy))
        return missing(p, "copy");
    return blame(p, "copy", api->copy(p->self, dst, dst_device, src, src_device, bytes));
}

/* Default: every call already completed synchronously. */
ember_status provider_synchronize(provider_instance *p)
{
    const ember_provider_api *api = api_of(p);
    if (!EMBER_HAS(api, ember_provider_api, synchronize))
        return EMBER_OK;
    return blame(p, "synchronize", api->synchronize(p->self));
}
