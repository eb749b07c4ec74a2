/*
 * MOCKDEV: a second device, written as a third party would write one. The
 * partition and executor tests use it to prove that the core inserts
 * copies wherever a tensor crosses devices.
 *
 * Its memory is a heap of its own whose bytes are stored XOR-encoded, so
 * a kernel that reads device memory without a copy sees garbage, and its
 * kernels refuse any pointer that is not inside one of its live
 * allocations. It runs float32 Add and Mul (numpy broadcasting) and Relu.
 * Options: "claim" = comma-separated ops to claim (default
 * "Add,Mul,Relu"; "" claims nothing), "device_id" = "0".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ember/ember_provider.h>

#define MOCKDEV_TYPE (EMBER_DEVICE_VENDOR_BASE + 1)
#define MOCKDEV_KEY 0xA5u
#define MOCKDEV_MAX_RANK 8

typedef enum mockdev_op { MOCKDEV_ADD, MOCKDEV_MUL, MOCKDEV_RELU, MOCKDEV_N_OPS } mockdev_op;

static const char *const op_names[MOCKDEV_N_OPS] = {"Add", "Mul", "Relu"};
static const size_t op_arity[MOCKDEV_N_OPS] = {2, 2, 1};

struct ember_provider {
    const ember_host_api *host;
    bool claims[MOCKDEV_N_OPS];
};

struct ember_kernel {
    const ember_host_api *host;
    mockdev_op op;
};

/* ---- the device heap --------------------------------------------------------------- */

/* One device per process, shared by every instance: the live blocks, each
 * [base, base + bytes), guarded by `lock`. */
typedef struct mockdev_block {
    unsigned char *base;
    size_t bytes;
} mockdev_block;

static struct {
    pthread_mutex_t lock;
    mockdev_block *blocks;
    size_t n_blocks, cap;
} heap = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static bool heap_add(unsigned char *base, size_t bytes)
{
    bool is_added = true;
    pthread_mutex_lock(&heap.lock);
    if (heap.n_blocks == heap.cap) {
        size_t cap = heap.cap ? 2 * heap.cap : 16;
        mockdev_block *grown = realloc(heap.blocks, cap * sizeof *grown);
        is_added = grown != NULL;
        if (grown) {
            heap.blocks = grown;
            heap.cap = cap;
        }
    }
    if (is_added)
        heap.blocks[heap.n_blocks++] = (mockdev_block){base, bytes};
    pthread_mutex_unlock(&heap.lock);
    return is_added;
}

static bool heap_remove(const void *base)
{
    bool is_found = false;
    pthread_mutex_lock(&heap.lock);
    for (size_t i = 0; i < heap.n_blocks && !is_found; i++) {
        is_found = heap.blocks[i].base == base;
        if (is_found)
            heap.blocks[i] = heap.blocks[--heap.n_blocks];
    }
    pthread_mutex_unlock(&heap.lock);
    return is_found;
}

/* True when [ptr, ptr + bytes) lies inside one live block. */
static bool heap_owns(const void *ptr, size_t bytes)
{
    uintptr_t p = (uintptr_t)ptr;
    bool is_owned = false;
    pthread_mutex_lock(&heap.lock);
    for (size_t i = 0; i < heap.n_blocks && !is_owned; i++) {
        uintptr_t base = (uintptr_t)heap.blocks[i].base;
        size_t size = heap.blocks[i].bytes;
        is_owned = p >= base && p - base <= size && bytes <= size - (p - base);
    }
    pthread_mutex_unlock(&heap.lock);
    return is_owned;
}

/* Encodes or decodes (XOR is its own inverse). */
static void xor_copy(void *dst, const void *src, size_t bytes)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < bytes; i++)
        d[i] = (unsigned char)(s[i] ^ MOCKDEV_KEY);
}

/* ---- memory slots ------------------------------------------------------------------ */

static ember_status mockdev_alloc(ember_provider *self, int32_t device_id, size_t bytes,
                                  void **out)
{
    if (device_id != 0)
        return self->host->fail(EMBER_E_DEVICE,
                                "mockdev has one device, 0; device %d does not exist",
                                (int)device_id);
    if (bytes == 0) {
        *out = NULL;
        return EMBER_OK;
    }
    unsigned char *base = malloc(bytes);
    if (!base || !heap_add(base, bytes)) {
        free(base);
        return self->host->fail(EMBER_E_OUT_OF_MEMORY,
                                "mockdev: out of device memory allocating %zu bytes", bytes);
    }
    memset(base, MOCKDEV_KEY, bytes); /* reads back as zeros */
    *out = base;
    return EMBER_OK;
}

static void mockdev_free(ember_provider *self, int32_t device_id, void *ptr)
{
    if (!ptr)
        return;
    if (!heap_remove(ptr)) {
        self->host->log(EMBER_LOG_ERROR, "mockdev: free of %p, which mockdev never allocated",
                        ptr);
        return;
    }
    free(ptr);
}

static ember_status check_side(ember_provider *self, const char *side, const void *ptr,
                               ember_device device, size_t bytes)
{
    if (device.type == EMBER_DEVICE_CPU)
        return EMBER_OK;
    if (device.type != MOCKDEV_TYPE || device.id != 0)
        return self->host->fail(EMBER_E_INVALID_ARGUMENT,
                                "mockdev: cannot copy %s device type %u:%d; it copies between "
                                "host memory and mockdev:0 only",
                                side, (unsigned)device.type, (int)device.id);
    if (!heap_owns(ptr, bytes))
        return self->host->fail(EMBER_E_INVALID_ARGUMENT,
                                "mockdev: copy %s %p (%zu bytes), which is not inside a live "
                                "mockdev allocation",
                                side, ptr, bytes);
    return EMBER_OK;
}

static ember_status mockdev_copy(ember_provider *self, void *dst, ember_device dst_device,
                                 const void *src, ember_device src_device, size_t bytes)
{
    bool is_dst_dev = dst_device.type == MOCKDEV_TYPE;
    bool is_src_dev = src_device.type == MOCKDEV_TYPE;
    if (!is_dst_dev && !is_src_dev)
        return self->host->fail(EMBER_E_INVALID_ARGUMENT,
                                "mockdev: asked to copy between two non-mockdev devices");
    if (bytes == 0)
        return EMBER_OK;
    ember_status status = check_side(self, "to", dst, dst_device, bytes);
    if (status == EMBER_OK)
        status = check_side(self, "from", src, src_device, bytes);
    if (status != EMBER_OK)
        return status;
    if (is_dst_dev == is_src_dev)
        memmove(dst, src, bytes); /* device to device: stays encoded */
    else
        xor_copy(dst, src, bytes);
    return EMBER_OK;
}

/* ---- instances and options --------------------------------------------------------- */

static int op_index(const char *name, size_t len)
{
    for (int i = 0; i < MOCKDEV_N_OPS; i++)
        if (strlen(op_names[i]) == len && strncmp(op_names[i], name, len) == 0)
            return i;
    return -1;
}

static ember_status parse_claims(ember_provider *self, const char *list)
{
    memset(self->claims, 0, sizeof self->claims);
    while (*list) {
        size_t len = strcspn(list, ",");
        int op = op_index(list, len);
        if (len > 0 && op < 0)
            return self->host->fail(EMBER_E_INVALID_ARGUMENT,
                                    "mockdev: option claim names unknown op '%.*s'; mockdev "
                                    "runs Add, Mul and Relu",
                                    (int)len, list);
        if (op >= 0)
            self->claims[op] = true;
        list += len + (list[len] == ',');
    }
    return EMBER_OK;
}

static ember_status apply_option(ember_provider *self, const ember_option *option)
{
    if (strcmp(option->key, "claim") == 0)
        return parse_claims(self, option->value);
    if (strcmp(option->key, "device_id") == 0 && strcmp(option->value, "0") == 0)
        return EMBER_OK;
    return self->host->fail(EMBER_E_INVALID_ARGUMENT,
                            "mockdev: unknown option %s=%s; known: claim, device_id=0",
                            option->key, option->value);
}

static ember_status mockdev_create(const ember_host_api *host, const ember_option *options,
                                   size_t n_options, ember_provider **out)
{
    ember_provider *self = malloc(sizeof *self);
    if (!self)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "mockdev: out of memory");
    self->host = host;
    for (int i = 0; i < MOCKDEV_N_OPS; i++)
        self->claims[i] = true;
    ember_status status = EMBER_OK;
    for (size_t i = 0; i < n_options && status == EMBER_OK; i++)
        status = apply_option(self, &options[i]);
    if (status != EMBER_OK) {
        free(self);
        return status;
    }
    *out = self;
    return EMBER_OK;
}

static void mockdev_destroy(ember_provider *self)
{
    free(self);
}

/* The process is done with the device: drop the bookkeeping. Blocks still
 * live here were leaked by the core, and the leak checker will say so. */
static void mockdev_shutdown(void)
{
    pthread_mutex_lock(&heap.lock);
    free(heap.blocks);
    heap.blocks = NULL;
    heap.n_blocks = heap.cap = 0;
    pthread_mutex_unlock(&heap.lock);
}

/* ---- claim and kernels ------------------------------------------------------------- */

static bool inputs_are_float(const ember_host_api *host, const ember_node *node, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ember_type_info type;
        if (!host->node_input_present(node, i) || !host->node_input_type(node, i, &type) ||
            type.dtype != EMBER_DTYPE_FLOAT32)
            return false;
    }
    return true;
}

static ember_status mockdev_claim(ember_provider *self, const ember_node *node, bool *claimed)
{
    const ember_host_api *host = self->host;
    const char *op_type = host->node_op_type(node);
    const char *domain = host->node_domain(node);
    int op = op_index(op_type, strlen(op_type));
    *claimed = op >= 0 && self->claims[op] &&
               (domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0) &&
               host->node_opset(node) >= 7 && host->node_input_count(node) == op_arity[op] &&
               host->node_output_count(node) == 1 && inputs_are_float(host, node, op_arity[op]);
    return EMBER_OK;
}

static ember_status mockdev_kernel_create(ember_provider *self, const ember_node *node,
                                          ember_kernel **out)
{
    const char *op_type = self->host->node_op_type(node);
    int op = op_index(op_type, strlen(op_type));
    if (op < 0)
        return self->host->fail(EMBER_E_INVALID_ARGUMENT,
                                "mockdev: node '%s' (%s) is not an op mockdev runs",
                                self->host->node_name(node), op_type);
    ember_kernel *kernel = malloc(sizeof *kernel);
    if (!kernel)
        return self->host->fail(EMBER_E_OUT_OF_MEMORY, "mockdev: out of memory");
    kernel->host = self->host;
    kernel->op = (mockdev_op)op;
    *out = kernel;
    return EMBER_OK;
}

static void mockdev_kernel_destroy(ember_kernel *kernel)
{
    free(kernel);
}

/* ---- kernel run -------------------------------------------------------------------- */

static size_t element_count(const int64_t *dims, size_t rank)
{
    size_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

/* Checks input `index` and returns a decoded host copy of its elements
 * (malloc'd; NULL for an empty tensor). */
static ember_status fetch_input(const ember_kernel *k, ember_kernel_context *ctx, size_t index,
                                const ember_tensor **tensor, float **values)
{
    const ember_host_api *host = k->host;
    const ember_tensor *t = host->ctx_input(ctx, index);
    const char *op = op_names[k->op];
    if (!t || t->dtype != EMBER_DTYPE_FLOAT32 || t->rank > MOCKDEV_MAX_RANK)
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "mockdev %s: input %zu is absent, not float32 or above rank %d", op,
                          index, MOCKDEV_MAX_RANK);
    size_t bytes = element_count(t->dims, t->rank) * sizeof(float);
    if (t->device_type != MOCKDEV_TYPE)
        return host->fail(EMBER_E_DEVICE,
                          "mockdev %s: input %zu is on device type %u, not mockdev; the core "
                          "skipped a copy",
                          op, index, (unsigned)t->device_type);
    if (bytes && !heap_owns(t->data, bytes))
        return host->fail(EMBER_E_DEVICE,
                          "mockdev %s: input %zu (%p, %zu bytes) is not a live mockdev "
                          "allocation; the core passed memory of another device without a copy",
                          op, index, t->data, bytes);
    float *copy = bytes ? malloc(bytes) : NULL;
    if (bytes && !copy)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "mockdev %s: out of memory", op);
    if (copy)
        xor_copy(copy, t->data, bytes);
    *tensor = t;
    *values = copy;
    return EMBER_OK;
}

/* Numpy broadcasting of a and b into dims[0..*rank). */
static bool broadcast(const ember_tensor *a, const ember_tensor *b, int64_t *dims,
                      uint32_t *rank)
{
    uint32_t r = a->rank > b->rank ? a->rank : b->rank;
    for (uint32_t i = 0; i < r; i++) {
        int64_t da = i < a->rank ? a->dims[a->rank - 1 - i] : 1;
        int64_t db = i < b->rank ? b->dims[b->rank - 1 - i] : 1;
        if (da != db && da != 1 && db != 1)
            return false;
        dims[r - 1 - i] = da == 1 ? db : da;
    }
    *rank = r;
    return true;
}

/* Element strides of t seen through the broadcast shape (0 on stretched
 * dims). */
static void broadcast_strides(const ember_tensor *t, uint32_t rank, size_t *strides)
{
    size_t stride = 1;
    for (uint32_t i = rank; i-- > 0;) {
        uint32_t lead = rank - t->rank;
        int64_t dim = i >= lead ? t->dims[i - lead] : 1;
        strides[i] = dim == 1 ? 0 : stride;
        stride *= (size_t)dim;
    }
}

static void run_binary(mockdev_op op, const ember_tensor *a, const float *av,
                       const ember_tensor *b, const float *bv, const int64_t *dims,
                       uint32_t rank, float *out)
{
    size_t sa[MOCKDEV_MAX_RANK], sb[MOCKDEV_MAX_RANK];
    broadcast_strides(a, rank, sa);
    broadcast_strides(b, rank, sb);
    size_t n = element_count(dims, rank);
    for (size_t o = 0; o < n; o++) {
        size_t rest = o, ia = 0, ib = 0;
        for (uint32_t d = rank; d-- > 0;) {
            size_t coord = rest % (size_t)dims[d];
            rest /= (size_t)dims[d];
            ia += coord * sa[d];
            ib += coord * sb[d];
        }
        out[o] = op == MOCKDEV_ADD ? av[ia] + bv[ib] : av[ia] * bv[ib];
    }
}

/* Allocates output 0 through the host (on this device) and stores the
 * encoded result. */
static ember_status store_output(const ember_kernel *k, ember_kernel_context *ctx,
                                 const int64_t *dims, uint32_t rank, const float *result)
{
    const ember_host_api *host = k->host;
    ember_tensor *out;
    ember_status status = host->ctx_output(ctx, 0, EMBER_DTYPE_FLOAT32, dims, rank, &out);
    if (status != EMBER_OK)
        return status;
    size_t bytes = element_count(dims, rank) * sizeof(float);
    if (bytes && (out->device_type != MOCKDEV_TYPE || !heap_owns(out->data, bytes)))
        return host->fail(EMBER_E_DEVICE,
                          "mockdev %s: the core gave output 0 memory that mockdev did not "
                          "allocate",
                          op_names[k->op]);
    if (bytes)
        xor_copy(out->data, result, bytes);
    return EMBER_OK;
}

static ember_status compute(const ember_kernel *k, ember_kernel_context *ctx,
                            const ember_tensor *const *in, float *const *values)
{
    int64_t dims[MOCKDEV_MAX_RANK];
    uint32_t rank = in[0]->rank;
    if (k->op == MOCKDEV_RELU) {
        if (rank > 0)
            memcpy(dims, in[0]->dims, rank * sizeof *dims);
    } else if (!broadcast(in[0], in[1], dims, &rank)) {
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "mockdev %s: input shapes do not broadcast", op_names[k->op]);
    }
    size_t n = element_count(dims, rank);
    float *result = malloc(n ? n * sizeof *result : 1);
    if (!result)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "mockdev: out of memory");
    if (k->op == MOCKDEV_RELU)
        for (size_t i = 0; i < n; i++)
            result[i] = values[0][i] > 0.0f ? values[0][i] : 0.0f;
    else
        run_binary(k->op, in[0], values[0], in[1], values[1], dims, rank, result);
    ember_status status = store_output(k, ctx, dims, rank, result);
    free(result);
    return status;
}

static ember_status mockdev_kernel_run(ember_kernel *kernel, ember_kernel_context *ctx)
{
    const ember_tensor *in[2] = {NULL, NULL};
    float *values[2] = {NULL, NULL};
    ember_status status = EMBER_OK;
    for (size_t i = 0; i < op_arity[kernel->op] && status == EMBER_OK; i++)
        status = fetch_input(kernel, ctx, i, &in[i], &values[i]);
    if (status == EMBER_OK)
        status = compute(kernel, ctx, in, values);
    free(values[0]);
    free(values[1]);
    return status;
}

/* ---- the table and entry point ----------------------------------------------------- */

static const ember_provider_api mockdev_api = {
    .abi_version = EMBER_ABI_VERSION,
    .struct_size = sizeof(ember_provider_api),
    .name = "MOCKDEV",
    .device_name = "mockdev",
    .device_type = MOCKDEV_TYPE,
    .create = mockdev_create,
    .destroy = mockdev_destroy,
    .claim = mockdev_claim,
    .kernel_create = mockdev_kernel_create,
    .kernel_run = mockdev_kernel_run,
    .kernel_destroy = mockdev_kernel_destroy,
    .alloc = mockdev_alloc,
    .free = mockdev_free,
    .copy = mockdev_copy,
    .shutdown = mockdev_shutdown,
};

EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version);
EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version)
{
    if (EMBER_ABI_MAJOR_OF(host_abi_version) != EMBER_ABI_MAJOR)
        return NULL;
    return &mockdev_api;
}
