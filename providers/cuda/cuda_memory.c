/*
 * Device memory of the CUDA provider: a caching pool per device. A request
 * is rounded up to its size class (four classes per power of two, at least
 * 256 bytes); a freed block returns to its class's free stack and is
 * handed out again without cudaMalloc. Blocks are reused only by the
 * instance that owns the pool, whose work is ordered on one stream, so a
 * block freed while a kernel still reads it is safe to reuse. Memory goes
 * back to the driver (cudaFree of every parked block) when cudaMalloc
 * fails and when the instance is destroyed.
 */
#include "cuda_provider.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CLASS_SHIFT 8 /* 256 bytes */
#define N_CLASSES (4 * (64 - MIN_CLASS_SHIFT) + 1)

/* ---- size classes --------------------------------------------------------------- */

static int highest_bit(size_t v)
{
    return 63 - __builtin_clzll((unsigned long long)v);
}

/* The class of `bytes` and its size: 2^e * (4 + q) / 4 for q in 0..3. */
static size_t size_class(size_t bytes, size_t *class_bytes)
{
    if (bytes <= ((size_t)1 << MIN_CLASS_SHIFT)) {
        *class_bytes = (size_t)1 << MIN_CLASS_SHIFT;
        return 0;
    }
    int e = highest_bit(bytes - 1);
    size_t base = (size_t)1 << e, quarter = base / 4;
    size_t q = (bytes - 1 - base) / quarter + 1; /* 1..4 quarters above base */
    *class_bytes = base + q * quarter;
    return (size_t)(e - MIN_CLASS_SHIFT) * 4 + q;
}

/* ---- the pointer index ------------------------------------------------------------- */

static size_t slot_of(const cuda_pool *pool, const void *ptr)
{
    uint64_t h = (uint64_t)(uintptr_t)ptr * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & (pool->cap_index - 1);
}

static void index_put(cuda_pool *pool, size_t block)
{
    size_t s = slot_of(pool, pool->blocks[block].ptr);
    while (pool->index[s] >= 0)
        s = (s + 1) & (pool->cap_index - 1);
    pool->index[s] = (int32_t)block;
}

static bool index_rebuild(cuda_pool *pool, size_t cap)
{
    int32_t *index = malloc(cap * sizeof *index);
    if (index == NULL)
        return false;
    free(pool->index);
    pool->index = index;
    pool->cap_index = cap;
    for (size_t i = 0; i < cap; i++)
        index[i] = -1;
    for (size_t i = 0; i < pool->n_blocks; i++)
        index_put(pool, i);
    return true;
}

static long index_find(const cuda_pool *pool, const void *ptr)
{
    if (pool->cap_index == 0)
        return -1;
    for (size_t s = slot_of(pool, ptr);; s = (s + 1) & (pool->cap_index - 1)) {
        int32_t b = pool->index[s];
        if (b < 0)
            return -1;
        if (pool->blocks[b].ptr == ptr)
            return b;
    }
}

/* ---- free stacks ------------------------------------------------------------------- */

static bool stack_push(cuda_pool *pool, size_t cls, size_t block)
{
    if (pool->n_free[cls] == pool->cap_free[cls]) {
        size_t cap = pool->cap_free[cls] ? 2 * pool->cap_free[cls] : 8;
        size_t *grown = realloc(pool->free_stacks[cls], cap * sizeof *grown);
        if (grown == NULL)
            return false;
        pool->free_stacks[cls] = grown;
        pool->cap_free[cls] = cap;
    }
    pool->free_stacks[cls][pool->n_free[cls]++] = block;
    return true;
}

/* ---- pool life --------------------------------------------------------------------- */

ember_status cuda_pool_init(ember_provider *prov, int device_id)
{
    cuda_pool *pool = &prov->pools[device_id];
    memset(pool, 0, sizeof *pool);
    pool->free_stacks = calloc(N_CLASSES, sizeof *pool->free_stacks);
    pool->n_free = calloc(N_CLASSES, sizeof *pool->n_free);
    pool->cap_free = calloc(N_CLASSES, sizeof *pool->cap_free);
    if (pool->free_stacks == NULL || pool->n_free == NULL || pool->cap_free == NULL) {
        free(pool->free_stacks);
        free(pool->n_free);
        free(pool->cap_free);
        return prov->host->fail(EMBER_E_OUT_OF_MEMORY, "CUDA provider: out of memory");
    }
    pthread_mutex_init(&pool->lock, NULL);
    prov->pool_used[device_id] = true;
    return EMBER_OK;
}

/* cudaFree of every parked block; blocks in use stay. Caller holds the
 * lock and has made sure no queued work uses a parked block. */
static void pool_trim(ember_provider *prov, int device_id)
{
    cuda_pool *pool = &prov->pools[device_id];
    size_t kept = 0;
    cudaSetDevice(device_id);
    for (size_t i = 0; i < pool->n_blocks; i++) {
        if (pool->blocks[i].in_use) {
            pool->blocks[kept++] = pool->blocks[i];
            continue;
        }
        cudaFree(pool->blocks[i].ptr); /* an error here leaves nothing to recover */
        pool->bytes_held -= pool->blocks[i].bytes;
    }
    pool->n_blocks = kept;
    for (size_t c = 0; c < N_CLASSES; c++)
        pool->n_free[c] = 0;
    for (size_t i = 0; i < pool->cap_index; i++)
        pool->index[i] = -1;
    for (size_t i = 0; i < pool->n_blocks; i++)
        index_put(pool, i);
    cudaSetDevice(prov->device_id);
}

void cuda_pool_destroy(ember_provider *prov, int device_id)
{
    cuda_pool *pool = &prov->pools[device_id];
    if (!prov->pool_used[device_id])
        return;
    for (size_t i = 0; i < pool->n_blocks; i++)
        pool->blocks[i].in_use = false; /* the core freed them all already */
    pool_trim(prov, device_id);
    for (size_t c = 0; c < N_CLASSES; c++)
        free(pool->free_stacks[c]);
    free(pool->free_stacks);
    free(pool->n_free);
    free(pool->cap_free);
    free(pool->blocks);
    free(pool->index);
    pthread_mutex_destroy(&pool->lock);
    prov->pool_used[device_id] = false;
}

/* ---- alloc and free -------------------------------------------------------------------- */

/* Makes room for one more block in `blocks` and the index. */
static bool reserve_block(cuda_pool *pool)
{
    if (pool->n_blocks == pool->cap_blocks) {
        size_t cap = pool->cap_blocks ? 2 * pool->cap_blocks : 64;
        cuda_block *grown = realloc(pool->blocks, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        pool->blocks = grown;
        pool->cap_blocks = cap;
    }
    if (2 * (pool->n_blocks + 1) > pool->cap_index)
        return index_rebuild(pool, pool->cap_index ? 2 * pool->cap_index : 128);
    return true;
}

/* cudaMalloc, and on failure: wait for the stream, give the parked
 * blocks back, try once more. */
static cudaError_t device_malloc(ember_provider *prov, int device_id, size_t bytes, void **out)
{
    cudaSetDevice(device_id);
    cudaError_t err = cudaMalloc(out, bytes);
    if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError(); /* clear it */
        cudaStreamSynchronize(prov->stream);
        pool_trim(prov, device_id);
        cudaSetDevice(device_id);
        err = cudaMalloc(out, bytes);
    }
    cudaSetDevice(prov->device_id);
    return err;
}

static ember_status pool_alloc(ember_provider *prov, int device_id, size_t bytes, void **out)
{
    cuda_pool *pool = &prov->pools[device_id];
    size_t class_bytes, cls = size_class(bytes, &class_bytes);
    if (pool->n_free[cls] > 0) {
        size_t b = pool->free_stacks[cls][--pool->n_free[cls]];
        pool->blocks[b].in_use = true;
        *out = pool->blocks[b].ptr;
        return EMBER_OK;
    }
    if (!reserve_block(pool))
        return prov->host->fail(EMBER_E_OUT_OF_MEMORY, "CUDA provider: out of host memory");
    void *ptr = NULL;
    cudaError_t err = device_malloc(prov, device_id, class_bytes, &ptr);
    if (err != cudaSuccess)
        return prov->host->fail(EMBER_E_OUT_OF_MEMORY,
                                "CUDA provider: cudaMalloc of %zu bytes on device %d failed "
                                "(%zu bytes held by the pool): %s",
                                class_bytes, device_id, pool->bytes_held,
                                cudaGetErrorString(err));
    pool->blocks[pool->n_blocks] = (cuda_block){ptr, class_bytes, true};
    index_put(pool, pool->n_blocks++);
    pool->bytes_held += class_bytes;
    *out = ptr;
    return EMBER_OK;
}

static ember_status check_device(ember_provider *prov, int32_t device_id)
{
    if (device_id < 0 || device_id >= CUDA_MAX_DEVICES)
        return prov->host->fail(EMBER_E_INVALID_ARGUMENT,
                                "CUDA provider: device id %d is out of range (0..%d)",
                                (int)device_id, CUDA_MAX_DEVICES - 1);
    return prov->pool_used[device_id] ? EMBER_OK : cuda_pool_init(prov, device_id);
}

ember_status cuda_alloc(ember_provider *prov, int32_t device_id, size_t bytes, void **out)
{
    if (bytes == 0) {
        *out = NULL;
        return EMBER_OK;
    }
    /* The pool of another device than the instance's is set up on first
     * use, under pools_lock. */
    pthread_mutex_lock(&prov->pools_lock);
    ember_status status = check_device(prov, device_id);
    pthread_mutex_unlock(&prov->pools_lock);
    if (status != EMBER_OK)
        return status;
    cuda_pool *pool = &prov->pools[device_id];
    pthread_mutex_lock(&pool->lock);
    status = pool_alloc(prov, device_id, bytes, out);
    pthread_mutex_unlock(&pool->lock);
    return status;
}

void cuda_free(ember_provider *prov, int32_t device_id, void *ptr)
{
    if (ptr == NULL || device_id < 0 || device_id >= CUDA_MAX_DEVICES ||
        !prov->pool_used[device_id])
        return;
    cuda_pool *pool = &prov->pools[device_id];
    pthread_mutex_lock(&pool->lock);
    long b = index_find(pool, ptr);
    if (b >= 0 && pool->blocks[b].in_use) {
        size_t class_bytes, cls = size_class(pool->blocks[b].bytes, &class_bytes);
        pool->blocks[b].in_use = false;
        /* When the stack cannot grow (no host memory), the block stays
         * parked off the stacks; the next trim or destroy frees it. */
        stack_push(pool, cls, (size_t)b);
    }
    pthread_mutex_unlock(&pool->lock);
}

/* ---- per-run scratch ------------------------------------------------------------------ */

ember_status cuda_scratch(cuda_kernel *k, size_t bytes, void **out)
{
    ember_provider *prov = k->prov;
    void *ptr = NULL;
    if (prov->n_scratch == CUDA_MAX_SCRATCH)
        return k->host->fail(EMBER_E_INTERNAL, "node '%s' (%s): too many scratch buffers",
                             k->name, k->op);
    CUDA_TRY(cuda_alloc(prov, prov->device_id, bytes ? bytes : 1, &ptr));
    prov->scratch[prov->n_scratch++] = ptr;
    *out = ptr;
    return EMBER_OK;
}

void cuda_scratch_release(ember_provider *prov)
{
    for (size_t i = 0; i < prov->n_scratch; i++)
        cuda_free(prov, prov->device_id, prov->scratch[i]);
    prov->n_scratch = 0;
}
