/*
 * The small mock providers of the loader and ABI tests: one source, built
 * once per variant (meson.build passes -DMOCK_<VARIANT> and MOCK_NAME).
 * MOCK_OK_1_0 keeps every rule of ABI 1.0; each other variant breaks one
 * rule, or stretches one as a newer plugin would. Like any third-party
 * provider it includes only <ember/ember_provider.h>.
 *
 * MOCK_OK_1_0 reports its life cycle through host->log ("MOCK_OK_1_0
 * create", "... kernel_destroy", "... shutdown") so that tests can check
 * the teardown order. Its only option is none: any key fails create.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ember/ember_provider.h>

#ifndef MOCK_NAME
#error "meson.build defines MOCK_NAME"
#endif

/* ---- the version and device each variant declares ---------------------------------- */

#if defined(MOCK_BAD_MAJOR) || defined(MOCK_BAD_MAJOR_TABLE)
#define MOCK_ABI_VERSION ((2u << 16) | 0u)
#elif defined(MOCK_NEWER_MINOR)
#define MOCK_ABI_VERSION (((uint32_t)EMBER_ABI_MAJOR << 16) | 0x7fffu)
#else
#define MOCK_ABI_VERSION EMBER_ABI_VERSION
#endif

#if defined(MOCK_DEVICE_NO_COPY)
#define MOCK_DEVICE_TYPE (EMBER_DEVICE_VENDOR_BASE + 2)
#else
#define MOCK_DEVICE_TYPE EMBER_DEVICE_CPU
#endif

/* ---- a minimal provider ------------------------------------------------------------ */

struct ember_provider {
    const ember_host_api *host;
};

struct ember_kernel {
    int unused;
};

/* The host of the last create, for shutdown's log line (shutdown has no
 * arguments). */
static const ember_host_api *last_host;

/* Not static on purpose: built with hidden visibility, it must stay out
 * of the dynamic symbol table (tests/unit/abi checks). */
void mock_note(const char *event);
void mock_note(const char *event)
{
    if (last_host)
        last_host->log(EMBER_LOG_VERBOSE, "%s %s", MOCK_NAME, event);
}

static ember_status mock_create(const ember_host_api *host, const ember_option *options,
                                size_t n_options, ember_provider **out)
{
    if (n_options > 0)
        return host->fail(EMBER_E_INVALID_ARGUMENT, "%s: unknown option '%s'", MOCK_NAME,
                          options[0].key);
    ember_provider *self = malloc(sizeof *self);
    if (!self)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "%s: out of memory", MOCK_NAME);
    self->host = host;
    last_host = host;
    mock_note("create");
    *out = self;
    return EMBER_OK;
}

static void mock_destroy(ember_provider *self)
{
    mock_note("destroy");
    free(self);
}

static ember_status mock_claim(ember_provider *self, const ember_node *node, bool *claimed)
{
    *claimed = false;
    return EMBER_OK;
}

static ember_status mock_kernel_create(ember_provider *self, const ember_node *node,
                                       ember_kernel **out)
{
    ember_kernel *kernel = calloc(1, sizeof *kernel);
    if (!kernel)
        return self->host->fail(EMBER_E_OUT_OF_MEMORY, "%s: out of memory", MOCK_NAME);
    mock_note("kernel_create");
    *out = kernel;
    return EMBER_OK;
}

#if !defined(MOCK_NULL_REQUIRED)
static ember_status mock_kernel_run(ember_kernel *kernel, ember_kernel_context *ctx)
{
    return EMBER_OK;
}
#endif

static void mock_kernel_destroy(ember_kernel *kernel)
{
    mock_note("kernel_destroy");
    free(kernel);
}

static void mock_shutdown(void)
{
    mock_note("shutdown");
    last_host = NULL;
}

#if defined(MOCK_DEVICE_NO_COPY)
static ember_status mock_alloc(ember_provider *self, int32_t device_id, size_t bytes,
                               void **out)
{
    *out = malloc(bytes ? bytes : 1);
    return *out ? EMBER_OK : self->host->fail(EMBER_E_OUT_OF_MEMORY, "out of memory");
}

static void mock_free(ember_provider *self, int32_t device_id, void *ptr)
{
    free(ptr);
}
#endif

#if defined(MOCK_PROBE_ZERO)
static ember_status mock_probe(const ember_host_api *host, uint32_t *score, char *why,
                               size_t why_size)
{
    *score = 0;
    snprintf(why, why_size, "%s: no mock device on this machine", MOCK_NAME);
    return EMBER_OK;
}
#endif

#if defined(MOCK_NEWER_MINOR)
static ember_status mock_future_slot(ember_provider *self)
{
    return self->host->fail(EMBER_E_INTERNAL, "an ABI 1.0 core called a 1.32767 slot");
}
#endif

/* ---- the table --------------------------------------------------------------------- */

/* A newer plugin's table: today's fields, then a band this core has never
 * heard of. The core must accept it and never read past its own size. */
typedef struct mock_table {
    ember_provider_api api;
#if defined(MOCK_NEWER_MINOR)
    ember_status (*future_slot)(ember_provider *self);
    uint64_t future_field;
#endif
} mock_table;

static const mock_table table = {
    .api =
        {
            .abi_version = MOCK_ABI_VERSION,
#if defined(MOCK_SHORT_TABLE)
            .struct_size = offsetof(ember_provider_api, kernel_run),
#else
            .struct_size = sizeof(mock_table),
#endif
            .name = MOCK_NAME,
            .device_name = "mock",
            .device_type = MOCK_DEVICE_TYPE,
#if defined(MOCK_NO_UNLOAD)
            .flags = EMBER_PROVIDER_FLAG_NO_UNLOAD,
#endif
#if defined(MOCK_PROBE_ZERO)
            .probe = mock_probe,
#endif
            .create = mock_create,
            .destroy = mock_destroy,
            .claim = mock_claim,
            .kernel_create = mock_kernel_create,
#if !defined(MOCK_NULL_REQUIRED)
            .kernel_run = mock_kernel_run,
#endif
            .kernel_destroy = mock_kernel_destroy,
#if defined(MOCK_DEVICE_NO_COPY)
            .alloc = mock_alloc,
            .free = mock_free,
#endif
            .shutdown = mock_shutdown,
        },
#if defined(MOCK_NEWER_MINOR)
    .future_slot = mock_future_slot,
    .future_field = 0x5eed5eed5eed5eedu,
#endif
};

/* ---- the entry point --------------------------------------------------------------- */

#if defined(MOCK_NO_ENTRY)
/* A misspelt entry point: the file is a plugin of nothing the core knows. */
EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entri(uint32_t host_abi_version);
EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entri(uint32_t host_abi_version)
{
    return &table.api;
}
#else
EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version);
EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version)
{
#if defined(MOCK_DECLINES_ALL)
    (void)table;
    return NULL; /* speaks no major at all */
#elif defined(MOCK_BAD_MAJOR_TABLE)
    return &table.api; /* ignores the host's version: the core must check */
#else
    if (EMBER_ABI_MAJOR_OF(host_abi_version) != EMBER_ABI_MAJOR_OF(MOCK_ABI_VERSION))
        return NULL;
    return &table.api;
#endif
}
#endif
