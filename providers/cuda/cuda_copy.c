/*
 * Copies of the CUDA provider, all on the instance's stream. Device to
 * device is queued and returns at once (stream order keeps it before the
 * kernels that follow; cuda_synchronize waits for it). A copy with the
 * host on one side goes through a pinned staging buffer and waits for its
 * stream before returning, because the core reads or frees host memory
 * right after the call.
 */
#include "cuda_provider.h"

#include <string.h>

/* The staging buffer grows to the largest copy up to this size; larger
 * copies go through it in chunks. */
#define STAGING_MAX ((size_t)32 << 20)

static ember_status fail_copy(ember_provider *prov, cudaError_t err, const char *what,
                              size_t bytes)
{
    return prov->host->fail(EMBER_E_DEVICE, "CUDA provider: %s of %zu bytes on device %d: %s",
                            what, bytes, prov->device_id, cudaGetErrorString(err));
}

void cuda_staging_release(ember_provider *prov)
{
    if (prov->staging != NULL)
        cudaFreeHost(prov->staging);
    prov->staging = NULL;
    prov->staging_bytes = 0;
}

/* Makes the staging buffer at least min(bytes, STAGING_MAX) long; false
 * when pinned memory is not available (the copy then goes direct). */
static bool staging_reserve(ember_provider *prov, size_t bytes)
{
    size_t want = bytes < STAGING_MAX ? bytes : STAGING_MAX;
    if (prov->staging_bytes >= want)
        return true;
    size_t size = prov->staging_bytes ? prov->staging_bytes : 1 << 20;
    while (size < want)
        size *= 2;
    size = size < STAGING_MAX ? size : STAGING_MAX;
    cuda_staging_release(prov);
    if (cudaHostAlloc(&prov->staging, size, cudaHostAllocDefault) != cudaSuccess) {
        cudaGetLastError();
        prov->staging = NULL;
        return false;
    }
    prov->staging_bytes = size;
    return true;
}

/* Pageable memory without staging: the runtime stages it itself. */
static ember_status copy_direct(ember_provider *prov, void *dst, const void *src, size_t bytes,
                                const char *what)
{
    cudaError_t err = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, prov->stream);
    if (err == cudaSuccess)
        err = cudaStreamSynchronize(prov->stream);
    return err == cudaSuccess ? EMBER_OK : fail_copy(prov, err, what, bytes);
}

static ember_status copy_to_device(ember_provider *prov, void *dst, const void *src,
                                   size_t bytes)
{
    const char *what = "copy from the host to the device";
    if (!staging_reserve(prov, bytes))
        return copy_direct(prov, dst, src, bytes, what);
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < prov->staging_bytes ? bytes - done : prov->staging_bytes;
        memcpy(prov->staging, (const char *)src + done, n);
        cudaError_t err = cudaMemcpyAsync((char *)dst + done, prov->staging, n,
                                          cudaMemcpyHostToDevice, prov->stream);
        if (err == cudaSuccess)
            err = cudaStreamSynchronize(prov->stream); /* before the buffer is refilled */
        if (err != cudaSuccess)
            return fail_copy(prov, err, what, bytes);
        done += n;
    }
    return EMBER_OK;
}

static ember_status copy_to_host(ember_provider *prov, void *dst, const void *src, size_t bytes)
{
    const char *what = "copy from the device to the host";
    if (!staging_reserve(prov, bytes))
        return copy_direct(prov, dst, src, bytes, what);
    for (size_t done = 0; done < bytes;) {
        size_t n = bytes - done < prov->staging_bytes ? bytes - done : prov->staging_bytes;
        cudaError_t err = cudaMemcpyAsync(prov->staging, (const char *)src + done, n,
                                          cudaMemcpyDeviceToHost, prov->stream);
        if (err == cudaSuccess)
            err = cudaStreamSynchronize(prov->stream);
        if (err != cudaSuccess)
            return fail_copy(prov, err, what, bytes);
        memcpy((char *)dst + done, prov->staging, n);
        done += n;
    }
    return EMBER_OK;
}

ember_status cuda_copy(ember_provider *prov, void *dst, ember_device dst_device,
                       const void *src, ember_device src_device, size_t bytes)
{
    bool dst_host = dst_device.type == EMBER_DEVICE_CPU;
    bool src_host = src_device.type == EMBER_DEVICE_CPU;
    if (bytes == 0)
        return EMBER_OK;
    if ((!dst_host && dst_device.type != EMBER_DEVICE_CUDA) ||
        (!src_host && src_device.type != EMBER_DEVICE_CUDA) || (dst_host && src_host))
        return prov->host->fail(EMBER_E_INVALID_ARGUMENT,
                                "CUDA provider: cannot copy from device type %u to %u",
                                (unsigned)src_device.type, (unsigned)dst_device.type);
    cudaError_t err = cudaSetDevice(prov->device_id);
    if (err != cudaSuccess)
        return fail_copy(prov, err, "cudaSetDevice before a copy", bytes);
    if (!dst_host && !src_host) {
        /* cudaMemcpyDefault: the pointers say which devices (peer copies
         * included, through unified addressing). */
        err = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, prov->stream);
        return err == cudaSuccess ? EMBER_OK
                                  : fail_copy(prov, err, "device to device copy", bytes);
    }
    pthread_mutex_lock(&prov->staging_lock);
    ember_status status = dst_host ? copy_to_host(prov, dst, src, bytes)
                                   : copy_to_device(prov, dst, src, bytes);
    pthread_mutex_unlock(&prov->staging_lock);
    return status;
}

ember_status cuda_synchronize(ember_provider *prov)
{
    cudaError_t err = cudaSetDevice(prov->device_id);
    if (err == cudaSuccess)
        err = cudaStreamSynchronize(prov->stream);
    if (err != cudaSuccess)
        return prov->host->fail(EMBER_E_DEVICE,
                                "CUDA provider: waiting for the stream of device %d: %s "
                                "(an earlier kernel may have failed)",
                                prov->device_id, cudaGetErrorString(err));
    return EMBER_OK;
}
