/*
 * The oneDNN execution provider: the plugin's entry point, its table, and
 * the registration table of the ops it claims. It runs on the host like
 * the CPU provider (device "cpu", no alloc/free/copy slots), so nodes it
 * declines fall to the CPU provider with no copy. A node is claimed when
 * its types and attributes suit a kernel and, for static shapes, oneDNN
 * actually builds a primitive for it.
 */
#include "onednn_kernel.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const onednn_op_entry ops[] = {
    {"Conv", 1, ONEDNN_OPSET_MAX, onednn_check_conv, onednn_create_conv},
    {"ConvTranspose", 1, ONEDNN_OPSET_MAX, onednn_check_conv, onednn_create_conv_transpose},
    {"MatMul", 1, ONEDNN_OPSET_MAX, onednn_check_matmul, onednn_create_matmul},
    {"Gemm", 6, ONEDNN_OPSET_MAX, onednn_check_gemm, onednn_create_gemm},
    {"MaxPool", 1, ONEDNN_OPSET_MAX, onednn_check_pool, onednn_create_pool},
    {"AveragePool", 1, ONEDNN_OPSET_MAX, onednn_check_pool, onednn_create_pool},
    {"GlobalAveragePool", 1, ONEDNN_OPSET_MAX, onednn_check_pool, onednn_create_pool},
    {"GlobalMaxPool", 1, ONEDNN_OPSET_MAX, onednn_check_pool, onednn_create_pool},
    {"BatchNormalization", 6, ONEDNN_OPSET_MAX, onednn_check_batchnorm, onednn_create_batchnorm},
    {"LayerNormalization", 17, ONEDNN_OPSET_MAX, onednn_check_layernorm, onednn_create_layernorm},
    {"LRN", 1, ONEDNN_OPSET_MAX, onednn_check_lrn, onednn_create_lrn},
    {"Relu", 6, ONEDNN_OPSET_MAX, onednn_check_eltwise, onednn_create_eltwise},
    {"LeakyRelu", 6, ONEDNN_OPSET_MAX, onednn_check_eltwise, onednn_create_eltwise},
    {"Elu", 6, ONEDNN_OPSET_MAX, onednn_check_eltwise, onednn_create_eltwise},
    {"Sigmoid", 6, ONEDNN_OPSET_MAX, onednn_check_eltwise, onednn_create_eltwise},
    {"Tanh", 6, ONEDNN_OPSET_MAX, onednn_check_eltwise, onednn_create_eltwise},
    {"Clip", 6, ONEDNN_OPSET_MAX, onednn_check_eltwise, onednn_create_eltwise},
    {"Gelu", 20, ONEDNN_OPSET_MAX, onednn_check_eltwise, onednn_create_eltwise},
    {"Softmax", 1, ONEDNN_OPSET_MAX, onednn_check_softmax, onednn_create_softmax},
    {"LogSoftmax", 1, ONEDNN_OPSET_MAX, onednn_check_softmax, onednn_create_softmax},
    {"Add", 7, ONEDNN_OPSET_MAX, onednn_check_binary, onednn_create_binary},
    {"Sub", 7, ONEDNN_OPSET_MAX, onednn_check_binary, onednn_create_binary},
    {"Mul", 7, ONEDNN_OPSET_MAX, onednn_check_binary, onednn_create_binary},
    {"Div", 7, ONEDNN_OPSET_MAX, onednn_check_binary, onednn_create_binary},
    {"Erf", 9, ONEDNN_OPSET_MAX, onednn_check_erf, onednn_create_erf},
    {"QLinearMatMul", 10, ONEDNN_OPSET_MAX, onednn_check_qlinear_matmul,
     onednn_create_qlinear_matmul},
    {"QLinearConv", 10, ONEDNN_OPSET_MAX, onednn_check_qlinear_conv, onednn_create_qlinear_conv},
    {NULL, 0, 0, NULL, NULL},
};

static const onednn_op_entry *find_op(const ember_host_api *host, const ember_node *node)
{
    const char *domain = host->node_domain(node);
    if (domain != NULL && domain[0] != '\0' && strcmp(domain, "ai.onnx") != 0)
        return NULL;
    const char *op = host->node_op_type(node);
    int64_t opset = host->node_opset(node);
    for (const onednn_op_entry *e = ops; e->op != NULL; e++)
        if (strcmp(e->op, op) == 0 && opset >= e->min_opset && opset <= e->max_opset)
            return e;
    return NULL;
}

/* ---- instance ---------------------------------------------------------- */

static ember_status parse_threads(const ember_host_api *host, const char *value, size_t *out)
{
    char *end = NULL;
    long n = strtol(value, &end, 10);
    if (end == value || *end != '\0' || n < 0 || n > 4096)
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "oneDNN provider: intra_op_num_threads '%s' is not a count", value);
    if (n == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? online : 1;
    }
    *out = (size_t)n;
    return EMBER_OK;
}

static ember_status parse_switch(const ember_host_api *host, const char *key, const char *value,
                                 bool *out)
{
    if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0)
        return host->fail(EMBER_E_INVALID_ARGUMENT, "oneDNN provider: %s '%s' is not 0 or 1",
                          key, value);
    *out = value[0] == '1';
    return EMBER_OK;
}

static ember_status onednn_create(const ember_host_api *host, const ember_option *options,
                                  size_t n_options, ember_provider **out)
{
    size_t n_threads = 0;
    bool use_winograd = true;
    for (size_t i = 0; i < n_options; i++) {
        ember_status s;
        if (strcmp(options[i].key, "intra_op_num_threads") == 0)
            s = parse_threads(host, options[i].value, &n_threads);
        else if (strcmp(options[i].key, "winograd") == 0)
            s = parse_switch(host, options[i].key, options[i].value, &use_winograd);
        else
            s = host->fail(EMBER_E_INVALID_ARGUMENT,
                           "oneDNN provider: unknown option '%s' (known: "
                           "intra_op_num_threads, winograd)",
                           options[i].key);
        if (s != EMBER_OK)
            return s;
    }
    if (n_threads == 0 && parse_threads(host, "0", &n_threads) != EMBER_OK)
        return EMBER_E_INTERNAL;
    ember_provider *self = calloc(1, sizeof *self);
    if (self == NULL)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "oneDNN provider: out of memory");
    if (dnnl_engine_create(&self->engine, dnnl_cpu, 0) != dnnl_success) {
        free(self);
        return host->fail(EMBER_E_DEVICE, "oneDNN provider: cannot create a CPU engine");
    }
    self->host = host;
    self->n_threads = n_threads;
    self->use_winograd = use_winograd;
    *out = self;
    return EMBER_OK;
}

static void onednn_destroy(ember_provider *self)
{
    if (self == NULL)
        return;
    dnnl_engine_destroy(self->engine);
    free(self);
}

/* ---- kernels ----------------------------------------------------------- */

void onednn_kernel_free(onednn_kernel *k)
{
    if (k == NULL)
        return;
    onednn_group_destroy(k->group);
    onednn_kernel_release(k);
    free(k->params);
    free(k->name);
    free(k);
}

/* A kernel with the family's parameters decoded, no plan built yet. */
static ember_status new_kernel(ember_provider *self, const ember_node *node,
                               const onednn_op_entry *e, onednn_kernel **out)
{
    const ember_host_api *host = self->host;
    const char *name = host->node_name(node);
    onednn_kernel *k = calloc(1, sizeof *k);
    if (k == NULL || (k->name = strdup(name ? name : "")) == NULL) {
        free(k);
        return host->fail(EMBER_E_OUT_OF_MEMORY, "oneDNN provider: out of memory");
    }
    k->host = host;
    k->provider = self;
    k->op = e->op;
    k->opset = host->node_opset(node);
    onednn_kernel_counts(k, node);
    ember_status s = e->create(k, node);
    if (s != EMBER_OK) {
        onednn_kernel_free(k);
        return s;
    }
    *out = k;
    return EMBER_OK;
}

ember_status onednn_kernel_new(ember_provider *self, const ember_node *node,
                               onednn_kernel **out)
{
    const onednn_op_entry *e = find_op(self->host, node);
    if (e == NULL)
        return self->host->fail(EMBER_E_NOT_IMPLEMENTED,
                                "node '%s' (%s, opset %lld): not supported by the oneDNN "
                                "provider",
                                self->host->node_name(node), self->host->node_op_type(node),
                                (long long)self->host->node_opset(node));
    return new_kernel(self, node, e, out);
}

static ember_status onednn_claim(ember_provider *self, const ember_node *node, bool *claimed)
{
    const onednn_op_entry *e = find_op(self->host, node);
    onednn_kernel *k = NULL;
    *claimed = false;
    if (e == NULL || !e->check(self->host, node))
        return EMBER_OK;
    /* Attributes oneDNN cannot take, or shapes it refuses, are declined
     * here (their messages are not errors) so that the CPU provider runs
     * the node. */
    if (new_kernel(self, node, e, &k) != EMBER_OK)
        return EMBER_OK;
    *claimed = onednn_kernel_trial(k, node);
    onednn_kernel_free(k);
    return EMBER_OK;
}

static ember_status onednn_kernel_create(ember_provider *self, const ember_node *node,
                                         ember_kernel **out)
{
    onednn_kernel *k = NULL;
    ember_status s = onednn_kernel_new(self, node, &k);
    if (s == EMBER_OK)
        s = onednn_kernel_prepare(k, node);
    if (s != EMBER_OK) {
        onednn_kernel_free(k);
        return s;
    }
    *out = k;
    return EMBER_OK;
}

static ember_status onednn_kernel_run(ember_kernel *k, ember_kernel_context *ctx)
{
    if (k->group != NULL)
        return onednn_group_run(k, ctx);
    return onednn_kernel_execute(k, ctx);
}

static void onednn_kernel_destroy(ember_kernel *k)
{
    onednn_kernel_free(k);
}

/* ---- the table --------------------------------------------------------- */

static const ember_provider_api onednn_api = {
    .abi_version = EMBER_ABI_VERSION,
    .struct_size = sizeof(ember_provider_api),
    .name = "oneDNN",
    .device_name = "cpu",
    .device_type = EMBER_DEVICE_CPU,
    /* oneDNN keeps JIT code, a primitive cache and OpenMP threads that
     * outlive any instance; unloading it is not safe. */
    .flags = EMBER_PROVIDER_FLAG_NO_UNLOAD,
    .probe = NULL,
    .create = onednn_create,
    .destroy = onednn_destroy,
    .claim = onednn_claim,
    .kernel_create = onednn_kernel_create,
    .kernel_run = onednn_kernel_run,
    .kernel_destroy = onednn_kernel_destroy,
    .group_create = onednn_group_create,
};

EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version);

EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version)
{
    if (EMBER_ABI_MAJOR_OF(host_abi_version) != EMBER_ABI_MAJOR)
        return NULL;
    return &onednn_api;
}
