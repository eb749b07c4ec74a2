/*
 * exec_tensor: allocation, borrowing, release and copies of tensors on
 * the host or on a provider's device.
 */
#include <stdint.h>
#include <string.h>

#include "core/exec/exec.h"
#include "core/util/util.h"

#define HOST_ALIGN 64

static bool is_host(ember_device d)
{
    return d.type == EMBER_DEVICE_CPU;
}

static ember_device device_of(const ember_tensor *t)
{
    return (ember_device){t->device_type, t->device_id};
}

size_t exec_tensor_bytes(const ember_tensor *t)
{
    size_t n;
    if (!util_element_count(t->dims, t->rank, &n))
        return SIZE_MAX;
    return ember_dtype_storage_bytes((ember_dtype)t->dtype, n);
}

static ember_status set_shape(exec_tensor *t, uint32_t dtype, const int64_t *dims, size_t rank,
                              ember_device device)
{
    t->dims = util_calloc(rank ? rank : 1, sizeof *t->dims);
    if (!t->dims)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory for a tensor shape");
    if (rank)
        memcpy(t->dims, dims, rank * sizeof *dims);
    t->view.dims = t->dims;
    t->view.rank = (uint32_t)rank;
    t->view.dtype = dtype;
    t->view.device_type = device.type;
    t->view.device_id = device.id;
    t->kind = EMBER_VALUE_TENSOR;
    return EMBER_OK;
}

static ember_status alloc_host(exec_tensor *t, size_t bytes)
{
    t->base = util_malloc(bytes + HOST_ALIGN);
    if (!t->base)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory allocating %zu bytes", bytes);
    uintptr_t p = ((uintptr_t)t->base + HOST_ALIGN - 1) & ~(uintptr_t)(HOST_ALIGN - 1);
    t->view.data = (void *)p;
    if (t->view.dtype == EMBER_DTYPE_STRING)
        memset(t->view.data, 0, bytes);
    return EMBER_OK;
}

ember_status exec_tensor_alloc(exec_tensor *t, provider_instance *owner, ember_device device,
                               uint32_t dtype, const int64_t *dims, size_t rank)
{
    memset(t, 0, sizeof *t);
    size_t n;
    if (!util_element_count(dims, rank, &n) ||
        ember_dtype_storage_bytes((ember_dtype)dtype, n) > SIZE_MAX / 2) {
        char shape[128];
        util_format_dims(shape, sizeof shape, dims, rank);
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "invalid tensor shape %s", shape);
    }
    size_t bytes = ember_dtype_storage_bytes((ember_dtype)dtype, n);
    ember_status status = set_shape(t, dtype, dims, rank, device);
    if (status == EMBER_OK && is_host(device))
        status = alloc_host(t, bytes);
    else if (status == EMBER_OK && !owner)
        status = ember_fail(EMBER_E_INTERNAL, "no provider to allocate on device type %u",
                            (unsigned)device.type);
    else if (status == EMBER_OK)
        status = provider_alloc(owner, device.id, bytes, &t->view.data);
    if (status != EMBER_OK) {
        util_free(t->dims);
        util_free(t->base);
        memset(t, 0, sizeof *t);
        return status;
    }
    t->base = is_host(device) ? t->base : t->view.data;
    t->owner = is_host(device) ? NULL : owner;
    if (t->owner)
        provider_instance_retain(owner);
    t->is_owned = true;
    return EMBER_OK;
}

ember_status exec_tensor_borrow(exec_tensor *t, const ember_tensor *src)
{
    memset(t, 0, sizeof *t);
    EMBER_TRY(set_shape(t, src->dtype, src->dims, src->rank, device_of(src)));
    t->view.data = src->data;
    return EMBER_OK;
}

static void free_strings(exec_tensor *t)
{
    size_t n;
    if (!util_element_count(t->view.dims, t->view.rank, &n))
        return;
    ember_string *s = t->view.data;
    for (size_t i = 0; i < n; i++)
        util_free((void *)s[i].data);
}

void exec_tensor_release(exec_tensor *t)
{
    if (t->kind == EMBER_VALUE_SEQUENCE && t->is_owned) {
        for (size_t i = 0; i < t->n_items; i++)
            exec_tensor_release(&t->items[i]);
        util_free(t->items);
    } else if (t->is_owned && t->owner) {
        provider_free(t->owner, t->view.device_id, t->base);
        provider_instance_release(t->owner);
    } else if (t->is_owned) {
        if (t->view.dtype == EMBER_DTYPE_STRING)
            free_strings(t);
        util_free(t->base);
    }
    util_free(t->dims);
    memset(t, 0, sizeof *t);
}

static ember_status copy_strings(const ember_tensor *dst, const ember_tensor *src, size_t n)
{
    ember_string *d = dst->data;
    const ember_string *s = src->data;
    for (size_t i = 0; i < n; i++) {
        char *bytes = util_malloc(s[i].size + 1);
        if (!bytes)
            return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying strings");
        if (s[i].size)
            memcpy(bytes, s[i].data, s[i].size);
        bytes[s[i].size] = '\0';
        util_free((void *)d[i].data);
        d[i] = (ember_string){bytes, s[i].size};
    }
    return EMBER_OK;
}

ember_status exec_tensor_copy(const ember_tensor *dst, provider_instance *dst_provider,
                              const ember_tensor *src, provider_instance *src_provider)
{
    size_t n_dst = 0, n_src = 0;
    if (dst->dtype != src->dtype || !util_element_count(dst->dims, dst->rank, &n_dst) ||
        !util_element_count(src->dims, src->rank, &n_src) || n_dst != n_src)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "cannot copy a %s tensor of %zu elements into a %s tensor of %zu",
                          ember_dtype_name(src->dtype), n_src, ember_dtype_name(dst->dtype),
                          n_dst);
    size_t bytes = ember_dtype_storage_bytes((ember_dtype)src->dtype, n_src);
    ember_device from = device_of(src), to = device_of(dst);
    if (bytes == 0)
        return EMBER_OK;
    if (src->dtype == EMBER_DTYPE_STRING) {
        if (!is_host(from) || !is_host(to))
            return ember_fail(EMBER_E_NOT_IMPLEMENTED, "string tensors live on the host only");
        return copy_strings(dst, src, n_src);
    }
    if (is_host(from) && is_host(to)) {
        memmove(dst->data, src->data, bytes);
        return EMBER_OK;
    }
    provider_instance *p = !is_host(to) ? dst_provider : src_provider;
    if (!p && !is_host(from) && !is_host(to))
        p = src_provider; /* the destination wraps memory no provider owns */
    if (!is_host(from) && !is_host(to) && from.type != to.type)
        return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                          "copy between two different device types (%u -> %u) is not supported",
                          (unsigned)from.type, (unsigned)to.type);
    if (!p)
        return ember_fail(EMBER_E_DEVICE, "no provider can copy to or from device type %u",
                          (unsigned)(is_host(to) ? from.type : to.type));
    return provider_copy(p, dst->data, to, src->data, from, bytes);
}

ember_status exec_tensor_set_string(ember_tensor *t, size_t index, const char *data,
                                    size_t size)
{
    size_t n;
    if (t->dtype != EMBER_DTYPE_STRING || t->device_type != EMBER_DEVICE_CPU ||
        !util_element_count(t->dims, t->rank, &n) || index >= n || (!data && size))
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "tensor_set_string: not a host string tensor, or index %zu out of "
                          "range",
                          index);
    char *bytes = util_malloc(size + 1);
    if (!bytes)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory for a %zu-byte string", size);
    if (size)
        memcpy(bytes, data, size);
    bytes[size] = '\0';
    ember_string *elements = t->data;
    util_free((void *)elements[index].data);
    elements[index] = (ember_string){bytes, size};
    return EMBER_OK;
}

/* ---- values of every kind ------------------------------------------------ */

ember_status exec_tensor_alias(exec_tensor *t, const exec_tensor *src)
{
    if (src->kind == EMBER_VALUE_TENSOR)
        return exec_tensor_borrow(t, &src->view);
    memset(t, 0, sizeof *t);
    t->kind = src->kind;
    t->view.dtype = src->view.dtype;
    t->n_items = src->n_items;
    t->items = src->items;
    return EMBER_OK;
}

void exec_tensor_make_none(exec_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->kind = EMBER_VALUE_NONE;
}

ember_status exec_tensor_make_sequence(exec_tensor *t, uint32_t dtype, size_t n_items)
{
    memset(t, 0, sizeof *t);
    t->items = util_calloc(n_items + 1, sizeof *t->items);
    if (!t->items)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory for a sequence of %zu", n_items);
    t->kind = EMBER_VALUE_SEQUENCE;
    t->view.dtype = dtype;
    t->n_items = n_items;
    t->is_owned = true;
    return EMBER_OK;
}

static ember_status dup_tensor(exec_tensor *t, const ember_tensor *src)
{
    ember_device host = {EMBER_DEVICE_CPU, 0};
    if (src->device_type != EMBER_DEVICE_CPU)
        return ember_fail(EMBER_E_NOT_IMPLEMENTED, "copying a device tensor into a host value");
    EMBER_TRY(exec_tensor_alloc(t, NULL, host, src->dtype, src->dims, src->rank));
    ember_status status = exec_tensor_copy(&t->view, NULL, src, NULL);
    if (status != EMBER_OK)
        exec_tensor_release(t);
    return status;
}

ember_status exec_tensor_dup(exec_tensor *t, const exec_tensor *src)
{
    if (src->kind == EMBER_VALUE_TENSOR)
        return dup_tensor(t, &src->view);
    if (src->kind != EMBER_VALUE_SEQUENCE) {
        exec_tensor_make_none(t);
        t->kind = src->kind;
        return EMBER_OK;
    }
    EMBER_TRY(exec_tensor_make_sequence(t, src->view.dtype, src->n_items));
    for (size_t i = 0; i < src->n_items; i++) {
        ember_status status = exec_tensor_dup(&t->items[i], &src->items[i]);
        if (status != EMBER_OK) {
            exec_tensor_release(t);
            return status;
        }
    }
    return EMBER_OK;
}
