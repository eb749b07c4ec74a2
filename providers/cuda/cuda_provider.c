/*
 * The CUDA execution provider: the plugin's entry point and table, the
 * probe (is there a driver and a device?), instances (one stream per
 * session with cuBLAS and cuDNN bound to it), and the registration tables
 * through which nodes are claimed. A node is claimed when its static types
 * suit a kernel and the kernel can be built (attributes, constant shape
 * inputs); anything else stays with the next provider, normally the CPU.
 */
#include "cuda_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cuda_op_entry *const families[] = {
    cuda_ops_elementwise, cuda_ops_shape, cuda_ops_index,  cuda_ops_matmul,
    cuda_ops_conv,        cuda_ops_norm,  cuda_ops_pool,   cuda_ops_reduce,
};

static const cuda_op_entry *find_op(const ember_host_api *host, const ember_node *node)
{
    const char *domain = host->node_domain(node);
    const char *op = host->node_op_type(node);
    int64_t opset = host->node_opset(node);
    if (domain != NULL && domain[0] != '\0' && strcmp(domain, "ai.onnx") != 0)
        return NULL;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const cuda_op_entry *e = families[f]; e->op != NULL; e++)
            if (strcmp(e->op, op) == 0 && opset >= e->min_opset && opset <= e->max_opset)
                return e;
    return NULL;
}

/* ---- probe ------------------------------------------------------------------------ */

static ember_status cuda_probe(const ember_host_api *host, uint32_t *score, char *why,
                               size_t why_size)
{
    int n = 0, runtime = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    cudaRuntimeGetVersion(&runtime);
    *score = 0;
    if (err == cudaErrorInsufficientDriver)
        snprintf(why, why_size,
                 "CUDA driver not found (or older than CUDA %d.%d, which this provider was "
                 "built with): %s",
                 runtime / 1000, runtime % 1000 / 10, cudaGetErrorString(err));
    else if (err != cudaSuccess)
        snprintf(why, why_size, "no CUDA device: %s", cudaGetErrorString(err));
    else if (n == 0)
        snprintf(why, why_size, "no CUDA device: the driver reports none");
    else
        *score = 100;
    (void)host;
    return EMBER_OK;
}

/* ---- options ------------------------------------------------------------------------ */

static ember_status parse_int(const ember_host_api *host, const ember_option *o, long lo,
                              long hi, long *out)
{
    char *end = NULL;
    long v = strtol(o->value, &end, 10);
    if (end == o->value || *end != '\0' || v < lo || v > hi)
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "CUDA provider: option %s='%s' is not a number in %ld..%ld", o->key,
                          o->value, lo, hi);
    *out = v;
    return EMBER_OK;
}

static ember_status parse_search(const ember_host_api *host, const ember_option *o,
                                 bool *exhaustive)
{
    if (strcmp(o->value, "EXHAUSTIVE") == 0 || strcmp(o->value, "exhaustive") == 0)
        *exhaustive = true;
    else if (strcmp(o->value, "HEURISTIC") == 0 || strcmp(o->value, "heuristic") == 0 ||
             strcmp(o->value, "DEFAULT") == 0 || strcmp(o->value, "default") == 0)
        *exhaustive = false;
    else
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "CUDA provider: cudnn_conv_algo_search='%s' is not EXHAUSTIVE, "
                          "HEURISTIC or DEFAULT",
                          o->value);
    return EMBER_OK;
}

static ember_status parse_option(ember_provider *prov, const ember_option *o)
{
    const ember_host_api *host = prov->host;
    long v = 0;
    if (strcmp(o->key, "device_id") == 0) {
        CUDA_TRY(parse_int(host, o, 0, CUDA_MAX_DEVICES - 1, &v));
        prov->device_id = (int)v;
    } else if (strcmp(o->key, "use_tf32") == 0) {
        CUDA_TRY(parse_int(host, o, 0, 1, &v));
        prov->use_tf32 = v != 0;
    } else if (strcmp(o->key, "cuda_graph") == 0) {
        CUDA_TRY(parse_int(host, o, 0, 1, &v));
        if (v) /* TODO(issue 5): needs the core to capture a whole run. */
            host->log(EMBER_LOG_WARNING, "CUDA provider: cuda_graph=1 is not supported yet; "
                                         "runs are not captured");
    } else if (strcmp(o->key, "cudnn_conv_algo_search") == 0) {
        CUDA_TRY(parse_search(host, o, &prov->conv_exhaustive));
    } else {
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "CUDA provider: unknown option '%s' (known: device_id, use_tf32, "
                          "cudnn_conv_algo_search, cuda_graph)",
                          o->key);
    }
    return EMBER_OK;
}

/* ---- instance ------------------------------------------------------------------------- */

static void cuda_destroy(ember_provider *prov)
{
    if (prov == NULL)
        return;
    cudaSetDevice(prov->device_id);
    if (prov->stream != NULL)
        cudaStreamSynchronize(prov->stream);
    if (prov->cudnn != NULL)
        cudnnDestroy(prov->cudnn);
    if (prov->cublas != NULL)
        cublasDestroy(prov->cublas);
    for (int d = 0; d < CUDA_MAX_DEVICES; d++)
        cuda_pool_destroy(prov, d);
    cuda_staging_release(prov);
    if (prov->stream != NULL)
        cudaStreamDestroy(prov->stream);
    pthread_mutex_destroy(&prov->run_lock);
    pthread_mutex_destroy(&prov->staging_lock);
    pthread_mutex_destroy(&prov->pools_lock);
    free(prov);
}

static ember_status fail_setup(ember_provider *prov, const char *what, const char *why)
{
    return prov->host->fail(EMBER_E_DEVICE, "CUDA provider: %s on device %d failed: %s", what,
                            prov->device_id, why);
}

/* The stream and the library handles bound to it. */
static ember_status open_device(ember_provider *prov)
{
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess)
        return fail_setup(prov, "cudaGetDeviceCount", cudaGetErrorString(err));
    if (prov->device_id >= n)
        return prov->host->fail(EMBER_E_INVALID_ARGUMENT,
                                "CUDA provider: device_id %d, but this machine has %d CUDA "
                                "device(s)",
                                prov->device_id, n);
    if ((err = cudaSetDevice(prov->device_id)) != cudaSuccess)
        return fail_setup(prov, "cudaSetDevice", cudaGetErrorString(err));
    /* A blocking stream: its work waits for what was queued before on the
     * legacy default stream, where PyTorch and plain cudaMemcpy put theirs,
     * so a tensor bound as an input (by pointer or DLPack, whose consumer
     * asks for the legacy stream) is complete before Ember reads it. */
    if ((err = cudaStreamCreateWithFlags(&prov->stream, cudaStreamDefault)) != cudaSuccess)
        return fail_setup(prov, "cudaStreamCreate", cudaGetErrorString(err));
    cublasStatus_t bst = cublasCreate(&prov->cublas);
    if (bst == CUBLAS_STATUS_SUCCESS)
        bst = cublasSetStream(prov->cublas, prov->stream);
    if (bst == CUBLAS_STATUS_SUCCESS)
        bst = cublasSetMathMode(prov->cublas, prov->use_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                             : CUBLAS_DEFAULT_MATH);
    if (bst != CUBLAS_STATUS_SUCCESS)
        return fail_setup(prov, "cuBLAS set-up", cublasGetStatusString(bst));
    cudnnStatus_t dst = cudnnCreate(&prov->cudnn);
    if (dst == CUDNN_STATUS_SUCCESS)
        dst = cudnnSetStream(prov->cudnn, prov->stream);
    if (dst != CUDNN_STATUS_SUCCESS)
        return fail_setup(prov, "cuDNN set-up", cudnnGetErrorString(dst));
    return cuda_pool_init(prov, prov->device_id);
}

static ember_status cuda_create(const ember_host_api *host, const ember_option *options,
                                size_t n_options, ember_provider **out)
{
    ember_provider *prov = calloc(1, sizeof *prov);
    if (prov == NULL)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "CUDA provider: out of memory");
    prov->host = host;
    prov->conv_exhaustive = true;
    pthread_mutex_init(&prov->run_lock, NULL);
    pthread_mutex_init(&prov->staging_lock, NULL);
    pthread_mutex_init(&prov->pools_lock, NULL);
    ember_status status = EMBER_OK;
    for (size_t i = 0; status == EMBER_OK && i < n_options; i++)
        status = parse_option(prov, &options[i]);
    if (status == EMBER_OK)
        status = open_device(prov);
    if (status != EMBER_OK) {
        cuda_destroy(prov);
        return status;
    }
    *out = prov;
    return EMBER_OK;
}

/* ---- kernels ---------------------------------------------------------------------------- */

static void cuda_kernel_destroy(ember_kernel *k)
{
    if (k == NULL)
        return;
    if (k->release != NULL)
        k->release(k);
    free(k->params);
    free(k->name);
    free(k);
}

static ember_status new_kernel(ember_provider *prov, const ember_node *node,
                               const cuda_op_entry *e, cuda_kernel **out)
{
    const ember_host_api *host = prov->host;
    const char *name = host->node_name(node);
    cuda_kernel *k = calloc(1, sizeof *k);
    if (k == NULL || (k->name = strdup(name ? name : "")) == NULL) {
        free(k);
        return host->fail(EMBER_E_OUT_OF_MEMORY, "CUDA provider: out of memory");
    }
    k->prov = prov;
    k->host = host;
    k->op = e->op;
    k->opset = host->node_opset(node);
    ember_status status = e->create(k, node);
    if (status == EMBER_OK && k->run == NULL)
        status = host->fail(EMBER_E_INTERNAL, "node '%s' (%s): the CUDA kernel has no run",
                            k->name, k->op);
    if (status != EMBER_OK) {
        cuda_kernel_destroy(k);
        return status;
    }
    *out = k;
    return EMBER_OK;
}

static ember_status cuda_claim(ember_provider *prov, const ember_node *node, bool *claimed)
{
    const cuda_op_entry *e = find_op(prov->host, node);
    cuda_kernel *k = NULL;
    *claimed = false;
    if (e == NULL || (e->check != NULL && !e->check(prov->host, node)))
        return EMBER_OK;
    /* A kernel that cannot be built (an attribute or a non-constant shape
     * input it does not take) is declined, not an error: the CPU runs it. */
    if (new_kernel(prov, node, e, &k) != EMBER_OK)
        return EMBER_OK;
    cuda_kernel_destroy(k);
    *claimed = true;
    return EMBER_OK;
}

static ember_status cuda_kernel_create(ember_provider *prov, const ember_node *node,
                                       ember_kernel **out)
{
    const ember_host_api *host = prov->host;
    const cuda_op_entry *e = find_op(host, node);
    if (e == NULL)
        return host->fail(EMBER_E_NOT_IMPLEMENTED,
                          "node '%s' (%s, opset %lld): not supported by the CUDA provider",
                          host->node_name(node), host->node_op_type(node),
                          (long long)host->node_opset(node));
    return new_kernel(prov, node, e, out);
}

static ember_status cuda_kernel_run(ember_kernel *k, ember_kernel_context *ctx)
{
    ember_provider *prov = k->prov;
    cudaError_t err = cudaSetDevice(prov->device_id);
    if (err != cudaSuccess)
        return cuda_check(k, err, "cudaSetDevice");
    pthread_mutex_lock(&prov->run_lock);
    ember_status status = k->run(k, ctx);
    cuda_scratch_release(prov);
    pthread_mutex_unlock(&prov->run_lock);
    return status;
}

/* ---- the table ---------------------------------------------------------------------------- */

static const ember_provider_api cuda_api = {
    .abi_version = EMBER_ABI_VERSION,
    .struct_size = sizeof(ember_provider_api),
    .name = "CUDA",
    .device_name = "cuda",
    .device_type = EMBER_DEVICE_CUDA,
    /* The CUDA runtime (linked statically) and cuDNN register exit-time
     * clean-up that runs code of this file: it must stay mapped. */
    .flags = EMBER_PROVIDER_FLAG_NO_UNLOAD,
    .probe = cuda_probe,
    .create = cuda_create,
    .destroy = cuda_destroy,
    .claim = cuda_claim,
    .kernel_create = cuda_kernel_create,
    .kernel_run = cuda_kernel_run,
    .kernel_destroy = cuda_kernel_destroy,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .copy = cuda_copy,
    .synchronize = cuda_synchronize,
    .shutdown = NULL,
};

EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version);

EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version)
{
    return EMBER_ABI_MAJOR_OF(host_abi_version) == EMBER_ABI_MAJOR ? &cuda_api : NULL;
}
