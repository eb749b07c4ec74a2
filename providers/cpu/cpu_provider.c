/*
 * The CPU execution provider: the plugin's entry point, its table, and the
 * registration table that says which ops (default domain, opset range,
 * types) it claims and which kernel family builds each one. Tensors live
 * in host memory owned by the core, so there are no alloc/free/copy slots.
 */
#include "cpu_kernel.h"

#include <cblas.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct ember_provider {
    const ember_host_api *host;
};

/* Every family's table, searched in this order; the first matching row
 * wins. Each kernels_*.c file owns its table (cpu_kernel.h). */
static const cpu_op_entry *const families[] = {
    cpu_ops_base, cpu_ops_math, cpu_ops_cast, cpu_ops_cast_act, cpu_ops_reduce,
    cpu_ops_shape, cpu_ops_image, cpu_ops_quant, cpu_ops_sequence, cpu_ops_rnn,
    cpu_ops_string, cpu_ops_ml,
};

/* Whether a domain names the default one: NULL, "" and "ai.onnx". */
static bool is_default_domain(const char *domain)
{
    return domain == NULL || domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
}

static bool same_domain(const char *a, const char *b)
{
    if (is_default_domain(a) || is_default_domain(b))
        return is_default_domain(a) && is_default_domain(b);
    return strcmp(a, b) == 0;
}

static const cpu_op_entry *find_in(const cpu_op_entry *table, const char *domain,
                                   const char *op, int64_t opset)
{
    for (const cpu_op_entry *e = table; e->op != NULL; e++)
        if (strcmp(e->op, op) == 0 && same_domain(e->domain, domain) &&
            opset >= e->min_opset && opset <= e->max_opset)
            return e;
    return NULL;
}

static const cpu_op_entry *find_op(const ember_host_api *host, const ember_node *node)
{
    const char *domain = host->node_domain(node);
    const char *op = host->node_op_type(node);
    int64_t opset = host->node_opset(node);
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        const cpu_op_entry *e = find_in(families[i], domain, op, opset);
        if (e != NULL)
            return e;
    }
    return NULL;
}

/* ---- instance ---------------------------------------------------------- */

/* OpenBLAS picks its kernels by CPU model at load time; a model newer than
 * the OpenBLAS build gets the generic SSE kernels, several times slower.
 * Says so once per process, with the fix. */
static void warn_slow_blas(const ember_host_api *host)
{
#if defined(__x86_64__) && defined(__GNUC__)
    static const char *const fast[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake",
                                       "SapphireRapids"};
    static atomic_flag warned = ATOMIC_FLAG_INIT;
    const char *core = openblas_get_corename();
    __builtin_cpu_init();
    if (core == NULL || !__builtin_cpu_supports("avx2"))
        return;
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++) {
        if (strcasecmp(core, fast[i]) == 0)
            return;
    }
    if (!atomic_flag_test_and_set(&warned))
        host->log(EMBER_LOG_WARNING,
                  "CPU provider: OpenBLAS runs its '%s' kernels on a CPU with AVX2 (it does "
                  "not know this CPU model); set OPENBLAS_CORETYPE=Haswell (or SkylakeX) "
                  "for faster GEMM",
                  core);
#else
    (void)host;
#endif
}

static ember_status cpu_create(const ember_host_api *host, const ember_option *options,
                               size_t n_options, ember_provider **out)
{
    for (size_t i = 0; i < n_options; i++) {
        if (strcmp(options[i].key, "intra_op_num_threads") != 0)
            return host->fail(EMBER_E_INVALID_ARGUMENT,
                              "CPU provider: unknown option '%s' (known: intra_op_num_threads)",
                              options[i].key);
    }
    ember_provider *self = calloc(1, sizeof *self);
    if (self == NULL)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "CPU provider: out of memory");
    self->host = host;
    /* Kernels parallelize through host->ctx_parallel_for, so the session's
     * thread count is the only one that matters: BLAS stays on the calling
     * thread. */
    openblas_set_num_threads(1);
    warn_slow_blas(host);
    *out = self;
    return EMBER_OK;
}

static void cpu_destroy(ember_provider *self)
{
    free(self);
}

static ember_status cpu_claim(ember_provider *self, const ember_node *node, bool *claimed)
{
    const cpu_op_entry *e = find_op(self->host, node);
    *claimed = e != NULL && (e->check == NULL || e->check(self->host, node));
    return EMBER_OK;
}

/* ---- kernels ----------------------------------------------------------- */

static void cpu_kernel_destroy(ember_kernel *k)
{
    if (k == NULL)
        return;
    if (k->release != NULL && k->params != NULL)
        k->release(k->params);
    free(k->params);
    free(k->name);
    free(k);
}

static ember_status cpu_kernel_create(ember_provider *self, const ember_node *node,
                                      ember_kernel **out)
{
    const ember_host_api *host = self->host;
    const cpu_op_entry *e = find_op(host, node);
    const char *name = host->node_name(node);
    if (e == NULL)
        return host->fail(EMBER_E_NOT_IMPLEMENTED,
                          "node '%s' (%s, opset %lld): not supported by the CPU provider",
                          name ? name : "", host->node_op_type(node),
                          (long long)host->node_opset(node));
    cpu_kernel *k = calloc(1, sizeof *k);
    if (k == NULL || (k->name = strdup(name ? name : "")) == NULL) {
        free(k);
        return host->fail(EMBER_E_OUT_OF_MEMORY, "CPU provider: out of memory");
    }
    k->host = host;
    k->op = e->op;
    k->opset = host->node_opset(node);
    ember_status s = e->create(k, node);
    if (s != EMBER_OK) {
        cpu_kernel_destroy(k);
        return s;
    }
    *out = k;
    return EMBER_OK;
}

static ember_status cpu_kernel_run(ember_kernel *k, ember_kernel_context *ctx)
{
    return k->run(k, ctx);
}

/* ---- the table --------------------------------------------------------- */

static const ember_provider_api cpu_api = {
    .abi_version = EMBER_ABI_VERSION,
    .struct_size = sizeof(ember_provider_api),
    .name = "CPU",
    .device_name = "cpu",
    .device_type = EMBER_DEVICE_CPU,
    /* OpenBLAS keeps worker threads and global state; unloading it while
     * other libraries may still use it is not safe. */
    .flags = EMBER_PROVIDER_FLAG_NO_UNLOAD,
    .probe = NULL, /* always usable, score 1 */
    .create = cpu_create,
    .destroy = cpu_destroy,
    .claim = cpu_claim,
    .kernel_create = cpu_kernel_create,
    .kernel_run = cpu_kernel_run,
    .kernel_destroy = cpu_kernel_destroy,
};

EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version);

EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version)
{
    if (EMBER_ABI_MAJOR_OF(host_abi_version) != EMBER_ABI_MAJOR)
        return NULL;
    return &cpu_api;
}
