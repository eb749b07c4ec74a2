/*
 * _ember.Value: one ember_value, made from a numpy array without a copy, from
 * a shape and type on a device, or from a raw pointer; read back as an
 * ndarray. A Value may also be a sequence of tensors (read back as a list of
 * arrays) or an empty optional (read back as None). Its DLPack exchange is
 * dlpack.c's; the packed types (int4...), which are always copied, are
 * packed.c's.
 */
#include "module.h"

#include <string.h>

#define MAX_RANK EMBER_PY_MAX_RANK

static const ember_device host = {EMBER_DEVICE_CPU, 0};

/* ---- life cycle --------------------------------------------------------------------- */

py_value *py_value_take(ember_value *value, PyObject *env)
{
    py_value *self = PyObject_New(py_value, &py_value_type);
    if (!self) {
        ember_value_destroy(value);
        return NULL;
    }
    self->value = value;
    self->is_borrowed = false;
    self->dl_is_versioned = false;
    self->is_foreign = false;
    self->env = env;
    Py_XINCREF(env);
    self->keep = NULL;
    self->dl_managed = NULL;
    return self;
}

py_value *py_value_borrow(ember_value *value, PyObject *env)
{
    py_value *self = py_value_take(NULL, env);
    if (self) {
        self->value = value;
        self->is_borrowed = true;
    }
    return self;
}

static void value_dealloc(py_value *self)
{
    if (!self->is_borrowed)
        ember_value_destroy(self->value);
    py_value_release_dl(self);
    Py_XDECREF(self->keep);
    Py_XDECREF(self->env);
    PyObject_Free(self);
}

ember_value *py_value_get(py_value *self)
{
    if (!self->value)
        py_raise_message(EMBER_E_INVALID_ARGUMENT,
                         "this OrtValue is no longer valid: it was an output of an IOBinding "
                         "that could not keep it");
    return self->value;
}

/* A copy of src that Ember allocates on `device` (src's own or the host). */
static ember_status owned_copy(ember_env *env, const ember_value *src, ember_device device,
                               ember_value **out)
{
    ember_value *copy = NULL;
    ember_status status = ember_value_create(env, ember_value_get_dtype(src),
                                             ember_value_get_dims(src),
                                             ember_value_get_rank(src), device, &copy);
    if (status == EMBER_OK)
        status = ember_value_copy(copy, src);
    if (status != EMBER_OK) {
        ember_value_destroy(copy);
        return status;
    }
    *out = copy;
    return EMBER_OK;
}

bool py_value_detach(py_value *self)
{
    if (!self->is_borrowed)
        return true;
    ember_value *old = self->value, *copy = NULL;
    self->value = NULL;
    self->is_borrowed = false;
    py_env *env = (py_env *)self->env;
    ember_status status = owned_copy(env->env, old, ember_value_get_device(old), &copy);
    if (status != EMBER_OK) {
        py_raise_status(status);
        return false;
    }
    self->value = copy;
    return true;
}

/* The env that reaches a foreign value's device, or NULL with an exception. */
static ember_env *foreign_env(const py_value *self)
{
    if (!self->env)
        py_raise_message(EMBER_E_INVALID_ARGUMENT,
                         "this value wraps device memory that Ember did not allocate and "
                         "was made without an environment, so Ember cannot copy it");
    return self->env ? ((py_env *)self->env)->env : NULL;
}

/* ember_value_copy(dst, src) where either side may be foreign device memory:
 * a foreign source is first copied into device memory Ember owns (device to
 * device, by that device's provider); a host source for a foreign
 * destination is first uploaded into such memory. */
static ember_status copy_staged(ember_env *dst_env, ember_value *dst, ember_env *src_env,
                                ember_value *src)
{
    ember_value *staged = NULL, *uploaded = NULL;
    const ember_value *from = src;
    ember_status status = EMBER_OK;
    if (src_env) {
        status = owned_copy(src_env, src, ember_value_get_device(src), &staged);
        from = staged;
    }
    if (status == EMBER_OK && dst_env &&
        ember_value_get_device(from).type == EMBER_DEVICE_CPU) {
        status = owned_copy(dst_env, from, ember_value_get_device(dst), &uploaded);
        from = uploaded;
    }
    if (status == EMBER_OK)
        status = ember_value_copy(dst, from);
    ember_value_destroy(staged);
    ember_value_destroy(uploaded);
    return status;
}

bool py_value_copy(py_value *dst, py_value *src)
{
    ember_value *to = py_value_get(dst), *from = py_value_get(src);
    if (!to || !from)
        return false;
    ember_env *dst_env = NULL, *src_env = NULL;
    if ((dst->is_foreign && !(dst_env = foreign_env(dst))) ||
        (src->is_foreign && !(src_env = foreign_env(src))))
        return false;
    ember_status status;
    Py_BEGIN_ALLOW_THREADS
    status = copy_staged(dst_env, to, src_env, from);
    Py_END_ALLOW_THREADS
    if (status != EMBER_OK)
        py_raise_status(status);
    return status == EMBER_OK;
}

/* ---- shapes ------------------------------------------------------------------------- */

/* A sequence of non-negative ints into dims; returns the rank or -1. */
static Py_ssize_t parse_shape(PyObject *shape, int64_t *dims)
{
    PyObject *seq = PySequence_Fast(shape, "shape must be a sequence of ints");
    if (!seq)
        return -1;
    Py_ssize_t rank = PySequence_Fast_GET_SIZE(seq);
    if (rank > MAX_RANK) {
        Py_DECREF(seq);
        py_raise_message(EMBER_E_INVALID_ARGUMENT, "shape has %zd dims; at most %d",
                         rank, MAX_RANK);
        return -1;
    }
    for (Py_ssize_t i = 0; i < rank; i++) {
        dims[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (dims[i] == -1 && PyErr_Occurred())
            rank = -1;
        else if (dims[i] < 0) {
            py_raise_message(EMBER_E_INVALID_ARGUMENT, "shape dim %zd is negative (%lld)", i,
                             (long long)dims[i]);
            rank = -1;
        }
        if (rank < 0)
            break;
    }
    Py_DECREF(seq);
    return rank;
}

static size_t element_count(const int64_t *dims, size_t rank)
{
    size_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

/* ---- from numpy --------------------------------------------------------------------- */

/* The array itself when Ember can wrap it as it is (C-contiguous, aligned,
 * native byte order); a converted copy otherwise. New reference. */
static PyArrayObject *as_wrappable(PyObject *obj)
{
    if (PyArray_Check(obj)) {
        PyArrayObject *arr = (PyArrayObject *)obj;
        if (PyArray_ISCARRAY_RO(arr) && PyArray_ISNOTSWAPPED(arr)) {
            Py_INCREF(obj);
            return arr;
        }
        if (!PyArray_ISNOTSWAPPED(arr)) {
            PyArray_Descr *native = PyArray_DescrNewByteorder(PyArray_DESCR(arr), NPY_NATIVE);
            return native ? (PyArrayObject *)PyArray_FromAny(
                                obj, native, 0, 0, NPY_ARRAY_CARRAY_RO | NPY_ARRAY_ENSURECOPY,
                                NULL)
                          : NULL;
        }
    }
    return (PyArrayObject *)PyArray_FromAny(obj, NULL, 0, 0,
                                            NPY_ARRAY_CARRAY_RO | NPY_ARRAY_ENSUREARRAY, NULL);
}

static bool string_element(PyObject *item, Py_ssize_t index, ember_string *out)
{
    Py_ssize_t size;
    if (PyUnicode_Check(item)) {
        out->data = PyUnicode_AsUTF8AndSize(item, &size);
        out->size = (size_t)size;
        return out->data != NULL;
    }
    if (PyBytes_Check(item)) {
        char *data;
        if (PyBytes_AsStringAndSize(item, &data, &size) < 0)
            return false;
        *out = (ember_string){data, (size_t)size};
        return true;
    }
    py_raise_message(EMBER_E_INVALID_ARGUMENT,
                     "string tensor element %zd is a %s, not a str or bytes", index,
                     Py_TYPE(item)->tp_name);
    return false;
}

/* String tensors are copied: Ember keeps its own ember_string array. */
static py_value *strings_from_array(PyArrayObject *arr, const int64_t *dims, size_t rank)
{
    PyArray_Descr *object = PyArray_DescrFromType(NPY_OBJECT);
    PyArrayObject *items = (PyArrayObject *)PyArray_FromAny(
        (PyObject *)arr, object, 0, 0, NPY_ARRAY_CARRAY_RO | NPY_ARRAY_ENSUREARRAY, NULL);
    if (!items)
        return NULL;
    Py_ssize_t n = PyArray_SIZE(items);
    ember_string *elements = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *elements);
    PyObject **objects = PyArray_DATA(items);
    bool ok = elements != NULL;
    for (Py_ssize_t i = 0; ok && i < n; i++)
        ok = string_element(objects[i], i, &elements[i]);
    ember_value *value = NULL;
    ember_status status = EMBER_OK;
    if (ok)
        status = ember_value_create_strings(dims, rank, elements, &value);
    PyMem_Free(elements);
    Py_DECREF(items);
    if (!ok)
        return (py_value *)(PyErr_Occurred() ? NULL : PyErr_NoMemory());
    if (status != EMBER_OK)
        return (py_value *)py_raise_status(status);
    return py_value_take(value, NULL);
}

py_value *py_value_from_array(PyObject *obj)
{
    PyArrayObject *arr = as_wrappable(obj);
    if (!arr)
        return NULL;
    ember_dtype dtype;
    int64_t dims[MAX_RANK];
    size_t rank = (size_t)PyArray_NDIM(arr);
    for (size_t i = 0; i < rank; i++)
        dims[i] = (int64_t)PyArray_DIM(arr, (int)i);
    py_value *self = NULL;
    if (!py_dtype_of(PyArray_DESCR(arr), &dtype))
        goto out;
    if (dtype == EMBER_DTYPE_STRING) {
        self = strings_from_array(arr, dims, rank);
        goto out;
    }
    if (py_packed_bits(dtype)) {
        self = py_value_pack(arr, dtype, dims, rank);
        goto out;
    }
    ember_value *value;
    ember_status status = ember_value_wrap(dtype, dims, rank, PyArray_DATA(arr),
                                           (size_t)PyArray_NBYTES(arr), host, &value);
    if (status != EMBER_OK) {
        py_raise_status(status);
        goto out;
    }
    self = py_value_take(value, NULL);
    if (self) {
        self->keep = (PyObject *)arr;
        arr = NULL;
    }
out:
    Py_XDECREF(arr);
    return self;
}

/* ---- to numpy ----------------------------------------------------------------------- */

static PyObject *strings_to_array(ember_value *value, npy_intp *dims, int rank)
{
    PyArrayObject *arr = (PyArrayObject *)PyArray_SimpleNew(rank, dims, NPY_OBJECT);
    if (!arr)
        return NULL;
    const ember_string *elements = ember_value_get_data(value);
    PyObject **items = PyArray_DATA(arr);
    size_t n = ember_value_get_element_count(value);
    for (size_t i = 0; i < n; i++) {
        PyObject *text = PyUnicode_DecodeUTF8(elements[i].data, (Py_ssize_t)elements[i].size,
                                              "surrogateescape");
        if (!text) {
            Py_DECREF(arr);
            return NULL;
        }
        Py_XSETREF(items[i], text);
    }
    return (PyObject *)arr;
}

/* A fresh host array holding a copy of `self` (from any device). */
static PyObject *copy_to_array(py_value *self, PyArray_Descr *descr, npy_intp *dims, int rank)
{
    ember_value *value = self->value;
    PyArrayObject *arr = (PyArrayObject *)PyArray_NewFromDescr(&PyArray_Type, descr, rank, dims,
                                                               NULL, NULL, 0, NULL);
    if (!arr)
        return NULL;
    size_t bytes = ember_value_get_byte_size(value);
    if (bytes == 0)
        return (PyObject *)arr;
    ember_device device = ember_value_get_device(value);
    if (device.type == EMBER_DEVICE_CPU) {
        memcpy(PyArray_DATA(arr), ember_value_get_data(value), bytes);
        return (PyObject *)arr;
    }
    ember_value *target = NULL;
    ember_status status = ember_value_wrap(ember_value_get_dtype(value),
                                           ember_value_get_dims(value),
                                           ember_value_get_rank(value), PyArray_DATA(arr),
                                           (size_t)PyArray_NBYTES(arr), host, &target);
    if (status != EMBER_OK) {
        Py_DECREF(arr);
        return py_raise_status(status);
    }
    py_value *into = py_value_take(target, NULL);
    bool ok = into && py_value_copy(into, self);
    Py_XDECREF(into);
    if (!ok)
        Py_CLEAR(arr);
    return (PyObject *)arr;
}

/* A list of host copies of a sequence's tensors. */
static PyObject *sequence_to_list(ember_value *sequence)
{
    size_t n = ember_value_get_sequence_length(sequence);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        /* borrowed from the sequence, which outlives the item: read only */
        ember_value *item = (ember_value *)ember_value_get_sequence_item(sequence, i);
        py_value *view = py_value_borrow(item, NULL);
        PyObject *arr = view ? py_value_to_array(view, false) : NULL;
        Py_XDECREF(view);
        if (!arr)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, arr);
    }
    return list;
}

PyObject *py_value_to_array(py_value *self, bool may_view)
{
    ember_value *value = py_value_get(self);
    if (!value)
        return NULL;
    ember_value_kind kind = ember_value_get_kind(value);
    if (kind == EMBER_VALUE_SEQUENCE)
        return sequence_to_list(value);
    if (kind != EMBER_VALUE_TENSOR)
        Py_RETURN_NONE;
    npy_intp dims[MAX_RANK];
    int rank = (int)ember_value_get_rank(value);
    for (int i = 0; i < rank; i++)
        dims[i] = (npy_intp)ember_value_get_dims(value)[i];
    ember_dtype dtype = ember_value_get_dtype(value);
    bool is_host = ember_value_get_device(value).type == EMBER_DEVICE_CPU;
    if (dtype == EMBER_DTYPE_STRING) {
        if (is_host)
            return strings_to_array(value, dims, rank);
        return py_raise_message(EMBER_E_NOT_IMPLEMENTED, "string tensors live on the host only");
    }
    PyArray_Descr *descr = py_descr_for(dtype);
    if (!descr)
        return NULL;
    if (py_packed_bits(dtype))
        return py_packed_to_array(value, descr, dims, rank);
    void *data = ember_value_get_data(value);
    if (!may_view || !is_host || self->is_borrowed || !data)
        return copy_to_array(self, descr, dims, rank);
    PyObject *arr = PyArray_NewFromDescr(&PyArray_Type, descr, rank, dims, NULL, data,
                                         NPY_ARRAY_CARRAY, NULL);
    if (!arr)
        return NULL;
    Py_INCREF(self);
    if (PyArray_SetBaseObject((PyArrayObject *)arr, (PyObject *)self) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}

PyObject *py_array_take(ember_value *value)
{
    py_value *self = py_value_take(value, NULL);
    if (!self)
        return NULL;
    PyObject *arr = py_value_to_array(self, true);
    Py_DECREF(self);
    return arr;
}

/* ---- constructors ------------------------------------------------------------------- */

static PyObject *value_from_array_method(PyObject *cls, PyObject *obj)
{
    (void)cls;
    return (PyObject *)py_value_from_array(obj);
}

/* create(env, shape, dtype, device_type, device_id): allocated by Ember. */
static PyObject *value_create(PyObject *cls, PyObject *args)
{
    (void)cls;
    PyObject *env, *shape;
    int dtype, device_id;
    unsigned int device_type;
    int64_t dims[MAX_RANK];
    if (!PyArg_ParseTuple(args, "O!OiIi", &py_env_type, &env, &shape, &dtype, &device_type,
                          &device_id))
        return NULL;
    Py_ssize_t rank = parse_shape(shape, dims);
    if (rank < 0)
        return NULL;
    ember_value *value;
    ember_status status = ember_value_create(((py_env *)env)->env, (ember_dtype)dtype, dims,
                                             (size_t)rank,
                                             (ember_device){device_type, device_id}, &value);
    if (status != EMBER_OK)
        return py_raise_status(status);
    return (PyObject *)py_value_take(value, env);
}

/* from_array_on(env, array, device_type, device_id): a copy on that device. */
static PyObject *value_from_array_on(PyObject *cls, PyObject *args)
{
    (void)cls;
    PyObject *env, *obj;
    int device_id;
    unsigned int device_type;
    if (!PyArg_ParseTuple(args, "O!OIi", &py_env_type, &env, &obj, &device_type, &device_id))
        return NULL;
    py_value *src = py_value_from_array(obj);
    if (!src)
        return NULL;
    ember_value *value = NULL;
    ember_status status = ember_value_create(
        ((py_env *)env)->env, ember_value_get_dtype(src->value),
        ember_value_get_dims(src->value), ember_value_get_rank(src->value),
        (ember_device){device_type, device_id}, &value);
    if (status == EMBER_OK) {
        Py_BEGIN_ALLOW_THREADS
        status = ember_value_copy(value, src->value);
        Py_END_ALLOW_THREADS
    }
    Py_DECREF(src);
    if (status != EMBER_OK) {
        ember_value_destroy(value);
        return py_raise_status(status);
    }
    return (PyObject *)py_value_take(value, env);
}

/* wrap_pointer(address, shape, dtype, device_type, device_id, env=None):
 * user memory, not owned; the caller keeps it alive. env lets a device
 * value be copied to and from the host (see is_foreign). */
static PyObject *value_wrap_pointer(PyObject *cls, PyObject *args)
{
    (void)cls;
    PyObject *address, *shape;
    int dtype, device_id;
    unsigned int device_type;
    int64_t dims[MAX_RANK];
    PyObject *env = NULL;
    if (!PyArg_ParseTuple(args, "OOiIi|O!", &address, &shape, &dtype, &device_type,
                          &device_id, &py_env_type, &env))
        return NULL;
    void *data = PyLong_AsVoidPtr(address);
    if (!data && PyErr_Occurred())
        return NULL;
    Py_ssize_t rank = parse_shape(shape, dims);
    if (rank < 0)
        return NULL;
    size_t bytes = ember_dtype_storage_bytes((ember_dtype)dtype, element_count(dims, (size_t)rank));
    ember_value *value;
    ember_status status = ember_value_wrap((ember_dtype)dtype, dims, (size_t)rank, data,
                                           data ? bytes : 0,
                                           (ember_device){device_type, device_id}, &value);
    if (status != EMBER_OK)
        return py_raise_status(status);
    bool is_device = device_type != EMBER_DEVICE_CPU;
    py_value *self = py_value_take(value, is_device ? env : NULL);
    if (self)
        self->is_foreign = is_device;
    return (PyObject *)self;
}

/* The Values to put in a sequence: Values as they are, arrays wrapped. */
static bool sequence_items(PyObject *seq, py_value **items, const ember_value **values)
{
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *obj = PySequence_Fast_GET_ITEM(seq, i);
        if (py_value_check(obj)) {
            items[i] = (py_value *)Py_NewRef(obj);
            if (!py_value_get(items[i]))
                return false;
        } else if (!(items[i] = py_value_from_array(obj))) {
            return false;
        }
        values[i] = items[i]->value;
    }
    return true;
}

/* sequence(items, dtype=0): a host sequence of copies of the items (arrays
 * or Values); dtype is the element type of an empty one. */
static PyObject *value_sequence(PyObject *cls, PyObject *args)
{
    (void)cls;
    PyObject *items_obj;
    int dtype = EMBER_DTYPE_UNDEFINED;
    if (!PyArg_ParseTuple(args, "O|i", &items_obj, &dtype))
        return NULL;
    PyObject *seq = PySequence_Fast(items_obj, "a sequence is given as a list of arrays");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    py_value **items = PyMem_Calloc((size_t)n + 1, sizeof *items);
    const ember_value **values = PyMem_Calloc((size_t)n + 1, sizeof *values);
    PyObject *result = NULL;
    if (!items || !values) {
        PyErr_NoMemory();
        goto out;
    }
    if (!sequence_items(seq, items, values))
        goto out;
    if (n > 0)
        dtype = (int)ember_value_get_dtype(values[0]);
    ember_value *value;
    ember_status status = ember_value_create_sequence((ember_dtype)dtype, values, (size_t)n,
                                                      &value);
    result = status == EMBER_OK ? (PyObject *)py_value_take(value, NULL)
                                : py_raise_status(status);
out:
    for (Py_ssize_t i = 0; items && i < n; i++)
        Py_XDECREF(items[i]);
    PyMem_Free(items);
    PyMem_Free(values);
    Py_DECREF(seq);
    return result;
}

/* none(): an optional that holds nothing. */
static PyObject *value_none(PyObject *cls, PyObject *unused)
{
    (void)cls;
    (void)unused;
    ember_value *value;
    ember_status status = ember_value_create_none(&value);
    if (status != EMBER_OK)
        return py_raise_status(status);
    return (PyObject *)py_value_take(value, NULL);
}

/* ---- methods ------------------------------------------------------------------------ */

/* numpy(copy=False): a view of a host value (as onnxruntime's numpy() is),
 * a host copy of a device value or when copy is true. */
static PyObject *value_numpy(py_value *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"copy", NULL};
    int copy = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|p", keywords, &copy) ||
        !py_value_get(self))
        return NULL;
    bool is_host = ember_value_get_device(self->value).type == EMBER_DEVICE_CPU;
    if (!copy && is_host && !py_value_detach(self))
        return NULL;
    return py_value_to_array(self, !copy);
}

/* copy_from(src): copies src's elements into this value, across devices. */
static PyObject *value_copy_from(py_value *self, PyObject *src)
{
    if (!py_value_check(src)) {
        PyErr_SetString(PyExc_TypeError, "copy_from expects a Value");
        return NULL;
    }
    if (!py_value_copy(self, (py_value *)src))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *value_get_shape(py_value *self, void *closure)
{
    (void)closure;
    ember_value *value = py_value_get(self);
    if (!value)
        return NULL;
    size_t rank = ember_value_get_rank(value);
    PyObject *shape = PyTuple_New((Py_ssize_t)rank);
    for (size_t i = 0; shape && i < rank; i++) {
        PyObject *dim = PyLong_FromLongLong(ember_value_get_dims(value)[i]);
        if (!dim) {
            Py_CLEAR(shape);
            break;
        }
        PyTuple_SET_ITEM(shape, (Py_ssize_t)i, dim);
    }
    return shape;
}

static PyObject *value_get_dtype(py_value *self, void *closure)
{
    (void)closure;
    ember_value *value = py_value_get(self);
    return value ? PyLong_FromLong((long)ember_value_get_dtype(value)) : NULL;
}

static PyObject *value_get_device(py_value *self, void *closure)
{
    (void)closure;
    ember_value *value = py_value_get(self);
    if (!value)
        return NULL;
    ember_device d = ember_value_get_device(value);
    return Py_BuildValue("(Ii)", (unsigned int)d.type, (int)d.id);
}

static PyObject *value_get_data_ptr(py_value *self, void *closure)
{
    (void)closure;
    ember_value *value = py_value_get(self);
    return value ? PyLong_FromVoidPtr(ember_value_get_data(value)) : NULL;
}

static PyObject *value_get_byte_size(py_value *self, void *closure)
{
    (void)closure;
    ember_value *value = py_value_get(self);
    return value ? PyLong_FromSize_t(ember_value_get_byte_size(value)) : NULL;
}

static PyObject *value_get_kind(py_value *self, void *closure)
{
    (void)closure;
    ember_value *value = py_value_get(self);
    return value ? PyLong_FromLong((long)ember_value_get_kind(value)) : NULL;
}

static PyObject *value_get_is_valid(py_value *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong(self->value != NULL);
}

static PyMethodDef value_methods[] = {
    {"from_array", value_from_array_method, METH_O | METH_CLASS,
     "from_array(array): wraps a host array (no copy when C-contiguous)."},
    {"from_array_on", value_from_array_on, METH_VARARGS | METH_CLASS,
     "from_array_on(env, array, device_type, device_id): a copy on a device."},
    {"create", value_create, METH_VARARGS | METH_CLASS,
     "create(env, shape, dtype, device_type, device_id): allocated by Ember."},
    {"wrap_pointer", value_wrap_pointer, METH_VARARGS | METH_CLASS,
     "wrap_pointer(address, shape, dtype, device_type, device_id, env=None): user memory, "
     "no copy."},
    {"sequence", value_sequence, METH_VARARGS | METH_CLASS,
     "sequence(items, dtype=0): a host sequence of copies of arrays or Values."},
    {"none", value_none, METH_NOARGS | METH_CLASS, "none(): an optional that holds nothing."},
    {"from_dlpack", py_value_from_dlpack, METH_VARARGS | METH_CLASS,
     "from_dlpack(capsule, env=None): wraps a DLPack tensor without a copy."},
    {"numpy", (PyCFunction)(void (*)(void))value_numpy, METH_VARARGS | METH_KEYWORDS,
     "numpy(copy=False): a view of a host value, a host copy of a device value."},
    {"copy_from", (PyCFunction)value_copy_from, METH_O,
     "copy_from(value): copies value's elements into this one."},
    {"__dlpack__", (PyCFunction)(void (*)(void))py_value_dlpack, METH_VARARGS | METH_KEYWORDS,
     "__dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None)."},
    {"__dlpack_device__", (PyCFunction)py_value_dlpack_device, METH_NOARGS,
     "__dlpack_device__() -> (device_type, device_id)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef value_getset[] = {
    {"shape", (getter)value_get_shape, NULL, "The dims, a tuple of ints.", NULL},
    {"dtype", (getter)value_get_dtype, NULL, "The element type (ONNX number).", NULL},
    {"device", (getter)value_get_device, NULL, "(device_type, device_id).", NULL},
    {"data_ptr", (getter)value_get_data_ptr, NULL, "Address of element 0.", NULL},
    {"byte_size", (getter)value_get_byte_size, NULL, "Bytes of storage.", NULL},
    {"kind", (getter)value_get_kind, NULL,
     "The value kind: 1 tensor, 2 sequence, 3 empty optional.", NULL},
    {"is_valid", (getter)value_get_is_valid, NULL, "False once invalidated.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject py_value_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ember._ember.Value",
    .tp_doc = "One Ember tensor value; made by the class methods.",
    .tp_basicsize = sizeof(py_value),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)value_dealloc,
    .tp_methods = value_methods,
    .tp_getset = value_getset,
};
