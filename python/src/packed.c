/*
 * Packed element types across the numpy boundary. Ember stores UINT4, INT4
 * and FLOAT4E2M1 two elements per byte (low nibble first) and UINT2, INT2
 * four per byte (lowest bits first), as ONNX's raw_data does. numpy has no
 * such types; ml_dtypes' int4, uint4, float4_e2m1fn, int2 and uint2 hold one
 * element per byte. So these values are never views: an array is packed
 * into a new buffer, and a value is unpacked into a new array.
 */
#include "module.h"

#include <string.h>

static const ember_device host = {EMBER_DEVICE_CPU, 0};

int py_packed_bits(ember_dtype dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_UINT4:
    case EMBER_DTYPE_INT4:
    case EMBER_DTYPE_FLOAT4E2M1: return 4;
    case EMBER_DTYPE_UINT2:
    case EMBER_DTYPE_INT2: return 2;
    default: return 0;
    }
}

static bool is_signed_int(ember_dtype dtype)
{
    return dtype == EMBER_DTYPE_INT4 || dtype == EMBER_DTYPE_INT2;
}

/* ---- bits --------------------------------------------------------------------------- */

/* Keeps the low `bits` of each of n bytes; the last byte's unused bits stay
 * 0 (`packed` is zero-filled). */
static void pack_bits(const uint8_t *items, size_t n, int bits, uint8_t *packed)
{
    size_t per_byte = 8 / (size_t)bits;
    uint8_t mask = (uint8_t)((1u << bits) - 1);
    for (size_t i = 0; i < n; i++)
        packed[i / per_byte] |= (uint8_t)((items[i] & mask) << (i % per_byte * (size_t)bits));
}

/* One element per byte: the field's bits, sign-extended when `is_signed`
 * (an int4 field 0xF is -1, an int2 field 0b11 is -1). */
static void unpack_bits(const uint8_t *packed, size_t n, int bits, bool is_signed,
                        uint8_t *items)
{
    size_t per_byte = 8 / (size_t)bits;
    unsigned mask = (1u << bits) - 1, sign = 1u << (bits - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned field = (packed[i / per_byte] >> (i % per_byte * (size_t)bits)) & mask;
        if (is_signed && (field & sign))
            field |= ~mask;
        items[i] = (uint8_t)field;
    }
}

/* ---- numpy -> Ember ----------------------------------------------------------------- */

py_value *py_value_pack(PyArrayObject *arr, ember_dtype dtype, const int64_t *dims,
                        size_t rank)
{
    if (PyArray_ITEMSIZE(arr) != 1)
        return (py_value *)py_raise_message(
            EMBER_E_INVALID_ARGUMENT, "a %s array must have one element per byte, not %d",
            ember_dtype_onnx_name(dtype), (int)PyArray_ITEMSIZE(arr));
    size_t n = (size_t)PyArray_SIZE(arr);
    size_t bytes = ember_dtype_storage_bytes(dtype, n);
    npy_intp len = (npy_intp)bytes;
    PyArrayObject *packed = (PyArrayObject *)PyArray_ZEROS(1, &len, NPY_UINT8, 0);
    if (!packed)
        return NULL;
    pack_bits(PyArray_DATA(arr), n, py_packed_bits(dtype), PyArray_DATA(packed));
    ember_value *value;
    ember_status status = ember_value_wrap(dtype, dims, rank, PyArray_DATA(packed), bytes,
                                           host, &value);
    if (status != EMBER_OK) {
        Py_DECREF(packed);
        return (py_value *)py_raise_status(status);
    }
    py_value *self = py_value_take(value, NULL);
    if (!self) {
        Py_DECREF(packed);
        return NULL;
    }
    self->keep = (PyObject *)packed;
    return self;
}

/* ---- Ember -> numpy ----------------------------------------------------------------- */

/* The value's packed bytes on the host: a new uint8 array (copied from its
 * device) of exactly `bytes`. */
static PyArrayObject *host_bytes(ember_value *value, size_t bytes)
{
    npy_intp len = (npy_intp)bytes;
    PyArrayObject *arr = (PyArrayObject *)PyArray_SimpleNew(1, &len, NPY_UINT8);
    if (!arr || bytes == 0)
        return arr;
    if (ember_value_get_device(value).type == EMBER_DEVICE_CPU) {
        memcpy(PyArray_DATA(arr), ember_value_get_data(value), bytes);
        return arr;
    }
    ember_value *target = NULL;
    ember_status status = ember_value_wrap(ember_value_get_dtype(value),
                                           ember_value_get_dims(value),
                                           ember_value_get_rank(value), PyArray_DATA(arr), bytes,
                                           host, &target);
    if (status == EMBER_OK) {
        Py_BEGIN_ALLOW_THREADS
        status = ember_value_copy(target, value);
        Py_END_ALLOW_THREADS
    }
    ember_value_destroy(target);
    if (status != EMBER_OK) {
        Py_DECREF(arr);
        return (PyArrayObject *)py_raise_status(status);
    }
    return arr;
}

/* The array the fields are unpacked into: int8 or uint8 for the integer
 * types (cast to `descr` afterwards, so that ml_dtypes stores them its own
 * way), `descr` itself for FLOAT4E2M1 (its bytes are the 4-bit codes). */
static PyArrayObject *new_items(ember_dtype dtype, PyArray_Descr *descr, npy_intp *dims,
                                int rank)
{
    if (dtype == EMBER_DTYPE_FLOAT4E2M1) {
        Py_INCREF(descr);
        return (PyArrayObject *)PyArray_NewFromDescr(&PyArray_Type, descr, rank, dims, NULL,
                                                     NULL, 0, NULL);
    }
    return (PyArrayObject *)PyArray_SimpleNew(rank, dims,
                                              is_signed_int(dtype) ? NPY_INT8 : NPY_UINT8);
}

PyObject *py_packed_to_array(ember_value *value, PyArray_Descr *descr, npy_intp *dims,
                             int rank)
{
    ember_dtype dtype = ember_value_get_dtype(value);
    size_t n = ember_value_get_element_count(value);
    size_t bytes = ember_dtype_storage_bytes(dtype, n);
    PyArrayObject *packed = NULL, *items = NULL;
    PyObject *result = NULL;
    if (PyDataType_ELSIZE(descr) != 1 || ember_value_get_byte_size(value) < bytes) {
        py_raise_message(EMBER_E_INTERNAL, "a %s value of %zu elements holds %zu bytes, "
                         "numpy's type %d bytes an element", ember_dtype_onnx_name(dtype), n,
                         ember_value_get_byte_size(value), (int)PyDataType_ELSIZE(descr));
        goto out;
    }
    packed = host_bytes(value, bytes);
    items = packed ? new_items(dtype, descr, dims, rank) : NULL;
    if (!items)
        goto out;
    unpack_bits(PyArray_DATA(packed), n, py_packed_bits(dtype), is_signed_int(dtype),
                PyArray_DATA(items));
    if (dtype == EMBER_DTYPE_FLOAT4E2M1) {
        result = (PyObject *)items;
        items = NULL;
    } else {
        Py_INCREF(descr);
        result = PyArray_CastToType(items, descr, 0);
    }
out:
    Py_XDECREF(items);
    Py_XDECREF(packed);
    Py_DECREF(descr);
    return result;
}
