/*
 * Values: the public face of exec_tensor.
 */
#include <string.h>

#include "core/api/api.h"
#include "core/util/util.h"

ember_status api_value_take(exec_tensor *t, ember_value **out)
{
    ember_value *v = util_calloc(1, sizeof *v);
    if (!v)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating a value");
    v->tensor = *t;
    memset(t, 0, sizeof *t);
    *out = v;
    return EMBER_OK;
}

static ember_status check_shape(ember_dtype dtype, const int64_t *dims, size_t rank,
                                size_t *bytes)
{
    size_t n;
    if (ember_dtype_size(dtype) == 0 && ember_dtype_storage_bytes(dtype, 2) == 0)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "invalid element type %d", (int)dtype);
    if (rank && !dims)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "dims is NULL for rank %zu", rank);
    if (rank > 64 || !util_element_count(dims, rank, &n)) {
        char shape[128];
        util_format_dims(shape, sizeof shape, dims, rank < 16 ? rank : 16);
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "invalid shape %s (negative dim, too many dims or overflow)", shape);
    }
    *bytes = ember_dtype_storage_bytes(dtype, n);
    return EMBER_OK;
}

EMBER_API ember_status ember_value_wrap(ember_dtype dtype, const int64_t *dims, size_t rank,
                                        void *data, size_t data_bytes, ember_device device,
                                        ember_value **out)
{
    size_t bytes;
    if (!out || (!data && data_bytes))
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_value_wrap: NULL argument");
    EMBER_TRY(check_shape(dtype, dims, rank, &bytes));
    if (data_bytes < bytes)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "buffer of %zu bytes is too small for %zu bytes of %s", data_bytes,
                          bytes, ember_dtype_name(dtype));
    static char empty[64];
    ember_tensor view = {data ? data : empty, dims, (uint32_t)rank, (uint32_t)dtype,
                         device.type, device.id};
    exec_tensor t;
    EMBER_TRY(exec_tensor_borrow(&t, &view));
    ember_status status = api_value_take(&t, out);
    if (status != EMBER_OK)
        exec_tensor_release(&t);
    return status;
}

EMBER_API ember_status ember_value_create(ember_env *env, ember_dtype dtype, const int64_t *dims,
                                          size_t rank, ember_device device, ember_value **out)
{
    size_t bytes;
    if (!env || !out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_value_create: NULL argument");
    EMBER_TRY(check_shape(dtype, dims, rank, &bytes));
    provider_instance *owner = NULL;
    if (device.type != EMBER_DEVICE_CPU)
        EMBER_TRY(api_env_device_provider(env, device, &owner));
    exec_tensor t;
    EMBER_TRY(exec_tensor_alloc(&t, owner, device, (uint32_t)dtype, dims, rank));
    if (device.type == EMBER_DEVICE_CPU)
        memset(t.view.data, 0, bytes);
    ember_status status = api_value_take(&t, out);
    if (status != EMBER_OK)
        exec_tensor_release(&t);
    return status;
}

EMBER_API ember_status ember_value_create_strings(const int64_t *dims, size_t rank,
                                                  const ember_string *elements,
                                                  ember_value **out)
{
    size_t bytes;
    if (!out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_value_create_strings: NULL out");
    EMBER_TRY(check_shape(EMBER_DTYPE_STRING, dims, rank, &bytes));
    size_t n = bytes / sizeof(ember_string);
    if (n && !elements)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_value_create_strings: NULL elements");
    exec_tensor t;
    EMBER_TRY(exec_tensor_alloc(&t, NULL, (ember_device){EMBER_DEVICE_CPU, 0},
                                EMBER_DTYPE_STRING, dims, rank));
    ember_tensor src = {(void *)elements, dims, (uint32_t)rank, EMBER_DTYPE_STRING, 0, 0};
    ember_status status = exec_tensor_copy(&t.view, NULL, &src, NULL);
    if (status == EMBER_OK)
        status = api_value_take(&t, out);
    if (status != EMBER_OK)
        exec_tensor_release(&t);
    return status;
}

EMBER_API void ember_value_destroy(ember_value *v)
{
    if (!v)
        return;
    exec_tensor_release(&v->tensor);
    util_free(v);
}

EMBER_API ember_dtype ember_value_get_dtype(const ember_value *v)
{
    return v ? (ember_dtype)v->tensor.view.dtype : EMBER_DTYPE_UNDEFINED;
}

EMBER_API size_t ember_value_get_rank(const ember_value *v)
{
    return v ? v->tensor.view.rank : 0;
}

EMBER_API const int64_t *ember_value_get_dims(const ember_value *v)
{
    return v ? v->tensor.view.dims : NULL;
}

EMBER_API size_t ember_value_get_element_count(const ember_value *v)
{
    size_t n = 0;
    if (!v || v->tensor.kind != EMBER_VALUE_TENSOR ||
        !util_element_count(v->tensor.view.dims, v->tensor.view.rank, &n))
        n = 0;
    return n;
}

EMBER_API size_t ember_value_get_byte_size(const ember_value *v)
{
    return v && v->tensor.kind == EMBER_VALUE_TENSOR ? exec_tensor_bytes(&v->tensor.view) : 0;
}

EMBER_API ember_device ember_value_get_device(const ember_value *v)
{
    ember_device d = {EMBER_DEVICE_CPU, 0};
    if (v)
        d = (ember_device){v->tensor.view.device_type, v->tensor.view.device_id};
    return d;
}

EMBER_API void *ember_value_get_data(const ember_value *v)
{
    return v ? v->tensor.view.data : NULL;
}

EMBER_API ember_status ember_value_copy(ember_value *dst, const ember_value *src)
{
    if (!dst || !src)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_value_copy: NULL argument");
    if (dst->tensor.kind != EMBER_VALUE_TENSOR || src->tensor.kind != EMBER_VALUE_TENSOR)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_value_copy copies tensors only");
    EMBER_TRY(exec_tensor_copy(&dst->tensor.view, dst->tensor.owner, &src->tensor.view,
                               src->tensor.owner));
    /* A provider may queue a copy (CUDA does device to device); the caller
     * may read or free either side when this returns. */
    provider_instance *p = dst->tensor.owner ? dst->tensor.owner : src->tensor.owner;
    return p ? provider_synchronize(p) : EMBER_OK;
}

/* ---- sequences and optionals ------------------------------------------------- */

EMBER_API ember_status ember_value_create_sequence(ember_dtype dtype,
                                                   const ember_value *const *items,
                                                   size_t n_items, ember_value **out)
{
    if (!out || (n_items && !items))
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_value_create_sequence: NULL argument");
    for (size_t i = 0; i < n_items; i++)
        if (!items[i] || items[i]->tensor.kind != EMBER_VALUE_TENSOR ||
            items[i]->tensor.view.dtype != (uint32_t)dtype)
            return ember_fail(EMBER_E_INVALID_ARGUMENT,
                              "sequence item %zu is not a tensor of %s", i,
                              ember_dtype_name(dtype));
    exec_tensor t;
    EMBER_TRY(exec_tensor_make_sequence(&t, (uint32_t)dtype, n_items));
    ember_status status = EMBER_OK;
    for (size_t i = 0; i < n_items && status == EMBER_OK; i++)
        status = exec_tensor_dup(&t.items[i], &items[i]->tensor);
    if (status == EMBER_OK)
        status = api_value_take(&t, out);
    if (status != EMBER_OK)
        exec_tensor_release(&t);
    return status;
}

EMBER_API ember_status ember_value_create_none(ember_value **out)
{
    if (!out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_value_create_none: NULL out");
    exec_tensor t;
    exec_tensor_make_none(&t);
    return api_value_take(&t, out);
}

EMBER_API ember_value_kind ember_value_get_kind(const ember_value *v)
{
    return v ? (ember_value_kind)v->tensor.kind : EMBER_VALUE_ABSENT;
}

EMBER_API size_t ember_value_get_sequence_length(const ember_value *v)
{
    return v && v->tensor.kind == EMBER_VALUE_SEQUENCE ? v->tensor.n_items : 0;
}

/* A sequence item is an exec_tensor, the only member of ember_value, so a
 * pointer to it is a pointer to an ember_value (C11 6.7.2.1p15). */
EMBER_API const ember_value *ember_value_get_sequence_item(const ember_value *v, size_t index)
{
    if (!v || v->tensor.kind != EMBER_VALUE_SEQUENCE || index >= v->tensor.n_items)
        return NULL;
    return (const ember_value *)&v->tensor.items[index];
}
