/*
 * _ember.Value: one ember_value, made from a numpy array without a copy, from
 * a shape and type on a device, from a raw pointer, or from a DLPack capsule;
 * read back as an ndarray; exported through DLPack without a copy.
 */
#include "module.h"

#include <string.h>

#include "dlpack.h"

#define MAX_RANK 64

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

static void release_dl(py_value *self)
{
    if (!self->dl_managed)
        return;
    if (self->dl_is_versioned) {
        ember_dl_managed_versioned *m = self->dl_managed;
        if (m->deleter)
            m->deleter(m);
    } else {
        ember_dl_managed *m = self->dl_managed;
        if (m->deleter)
            m->deleter(m);
    }
    self->dl_managed = NULL;
}

static void value_dealloc(py_value *self)
{
    if (!self->is_borrowed)
        ember_value_destroy(self->value);
    release_dl(self);
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

bool py_value_detach(py_value *self)
{
    if (!self->is_borrowed)
        return true;
    ember_value *old = self->value, *copy = NULL;
    self->value = NULL;
    self->is_borrowed = false;
    py_env *env = (py_env *)self->env;
    ember_status status = ember_value_create(env->env, ember_value_get_dtype(old),
                                             ember_value_get_dims(old),
                                             ember_value_get_rank(old),
                                             ember_value_get_device(old), &copy);
    if (status == EMBER_OK)
        status = ember_value_copy(copy, old);
    if (status != EMBER_OK) {
        ember_value_destroy(copy);
        py_raise_status(status);
        return false;
    }
    self->value = copy;
    return true;
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

/* A fresh host array holding a copy of `value` (from any device). */
static PyObject *copy_to_array(ember_value *value, PyArray_Descr *descr, npy_intp *dims,
                               int rank)
{
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
    if (status == EMBER_OK) {
        Py_BEGIN_ALLOW_THREADS
        status = ember_value_copy(target, value);
        Py_END_ALLOW_THREADS
    }
    ember_value_destroy(target);
    if (status != EMBER_OK) {
        Py_DECREF(arr);
        return py_raise_status(status);
    }
    return (PyObject *)arr;
}

PyObject *py_value_to_array(py_value *self, bool may_view)
{
    ember_value *value = py_value_get(self);
    if (!value)
        return NULL;
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
    void *data = ember_value_get_data(value);
    if (!may_view || !is_host || self->is_borrowed || !data)
        return copy_to_array(value, descr, dims, rank);
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

/* ---- DLPack: element types and devices ---------------------------------------------- */

typedef struct {
    ember_dtype dtype;
    uint8_t code, bits;
} dl_type_entry;

static const dl_type_entry dl_types[] = {
    {EMBER_DTYPE_FLOAT32, EMBER_DL_FLOAT, 32},
    {EMBER_DTYPE_FLOAT64, EMBER_DL_FLOAT, 64},
    {EMBER_DTYPE_FLOAT16, EMBER_DL_FLOAT, 16},
    {EMBER_DTYPE_BFLOAT16, EMBER_DL_BFLOAT, 16},
    {EMBER_DTYPE_INT8, EMBER_DL_INT, 8},
    {EMBER_DTYPE_INT16, EMBER_DL_INT, 16},
    {EMBER_DTYPE_INT32, EMBER_DL_INT, 32},
    {EMBER_DTYPE_INT64, EMBER_DL_INT, 64},
    {EMBER_DTYPE_UINT8, EMBER_DL_UINT, 8},
    {EMBER_DTYPE_UINT16, EMBER_DL_UINT, 16},
    {EMBER_DTYPE_UINT32, EMBER_DL_UINT, 32},
    {EMBER_DTYPE_UINT64, EMBER_DL_UINT, 64},
    {EMBER_DTYPE_BOOL, EMBER_DL_BOOL, 8},
    {EMBER_DTYPE_COMPLEX64, EMBER_DL_COMPLEX, 64},
    {EMBER_DTYPE_COMPLEX128, EMBER_DL_COMPLEX, 128},
    {EMBER_DTYPE_FLOAT8E4M3FN, EMBER_DL_FLOAT8_E4M3FN, 8},
    {EMBER_DTYPE_FLOAT8E4M3FNUZ, EMBER_DL_FLOAT8_E4M3FNUZ, 8},
    {EMBER_DTYPE_FLOAT8E5M2, EMBER_DL_FLOAT8_E5M2, 8},
    {EMBER_DTYPE_FLOAT8E5M2FNUZ, EMBER_DL_FLOAT8_E5M2FNUZ, 8},
};

#define N_DL_TYPES (sizeof dl_types / sizeof dl_types[0])

static bool dl_type_of(ember_dtype dtype, ember_dl_dtype *out)
{
    for (size_t i = 0; i < N_DL_TYPES; i++)
        if (dl_types[i].dtype == dtype) {
            *out = (ember_dl_dtype){dl_types[i].code, dl_types[i].bits, 1};
            return true;
        }
    PyErr_Format(PyExc_BufferError, "DLPack cannot carry element type %s",
                 ember_dtype_onnx_name(dtype));
    return false;
}

static bool ember_type_of(ember_dl_dtype dl, ember_dtype *out)
{
    for (size_t i = 0; dl.lanes == 1 && i < N_DL_TYPES; i++)
        if (dl_types[i].code == dl.code && dl_types[i].bits == dl.bits) {
            *out = dl_types[i].dtype;
            return true;
        }
    PyErr_Format(PyExc_BufferError,
                 "DLPack element type (code %u, %u bits, %u lanes) has no ONNX equivalent",
                 dl.code, dl.bits, dl.lanes);
    return false;
}

static ember_dl_device dl_device_of(ember_device device)
{
    if (device.type == EMBER_DEVICE_CPU)
        return (ember_dl_device){EMBER_DL_CPU, 0};
    if (device.type == EMBER_DEVICE_CUDA)
        return (ember_dl_device){EMBER_DL_CUDA, device.id};
    return (ember_dl_device){12 /* kDLExtDev */, device.id};
}

static bool ember_device_of(ember_dl_device dl, ember_device *out)
{
    if (dl.device_type == EMBER_DL_CPU || dl.device_type == EMBER_DL_CUDA_HOST) {
        *out = host;
        return true;
    }
    if (dl.device_type == EMBER_DL_CUDA) {
        *out = (ember_device){EMBER_DEVICE_CUDA, dl.device_id};
        return true;
    }
    PyErr_Format(PyExc_BufferError, "DLPack device type %d is not one Ember knows",
                 (int)dl.device_type);
    return false;
}

/* ---- DLPack: export ----------------------------------------------------------------- */

/* The exported tensor holds a reference on the Value; the consumer may drop
 * it from any thread. */
static void dl_release_value(void *ctx)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    Py_DECREF((PyObject *)ctx);
    PyGILState_Release(gil);
}

static void dl_delete(ember_dl_managed *m)
{
    dl_release_value(m->manager_ctx);
    PyMem_RawFree(m);
}

static void dl_delete_versioned(ember_dl_managed_versioned *m)
{
    dl_release_value(m->manager_ctx);
    PyMem_RawFree(m);
}

/* Drops a capsule nobody consumed. */
static void dl_capsule_free(PyObject *capsule)
{
    if (PyCapsule_IsValid(capsule, EMBER_DL_CAPSULE)) {
        ember_dl_managed *m = PyCapsule_GetPointer(capsule, EMBER_DL_CAPSULE);
        if (m->deleter)
            m->deleter(m);
    } else if (PyCapsule_IsValid(capsule, EMBER_DL_CAPSULE_VERSIONED)) {
        ember_dl_managed_versioned *m = PyCapsule_GetPointer(capsule, EMBER_DL_CAPSULE_VERSIONED);
        if (m->deleter)
            m->deleter(m);
    }
}

/* Fills `t` over the value; shape and strides point into `dims` (2 * rank). */
static bool fill_dl_tensor(py_value *self, ember_dl_tensor *t, int64_t *dims)
{
    ember_value *value = self->value;
    size_t rank = ember_value_get_rank(value);
    if (!dl_type_of(ember_value_get_dtype(value), &t->dtype))
        return false;
    int64_t *strides = dims + rank, stride = 1;
    memcpy(dims, ember_value_get_dims(value), rank * sizeof *dims);
    for (size_t i = rank; i-- > 0;) {
        strides[i] = stride;
        stride *= dims[i] ? dims[i] : 1;
    }
    t->data = ember_value_get_data(value);
    t->device = dl_device_of(ember_value_get_device(value));
    t->ndim = (int32_t)rank;
    t->shape = dims;
    t->strides = strides;
    t->byte_offset = 0;
    return true;
}

static PyObject *export_dl(py_value *self, bool is_versioned)
{
    size_t rank = ember_value_get_rank(self->value);
    size_t head = is_versioned ? sizeof(ember_dl_managed_versioned) : sizeof(ember_dl_managed);
    char *block = PyMem_RawMalloc(head + 2 * (rank ? rank : 1) * sizeof(int64_t));
    if (!block)
        return PyErr_NoMemory();
    int64_t *dims = (int64_t *)(block + head);
    ember_dl_managed_versioned *mv = (ember_dl_managed_versioned *)block;
    ember_dl_managed *m = (ember_dl_managed *)block;
    ember_dl_tensor *t = is_versioned ? &mv->dl_tensor : &m->dl_tensor;
    if (!fill_dl_tensor(self, t, dims)) {
        PyMem_RawFree(block);
        return NULL;
    }
    if (is_versioned) {
        *mv = (ember_dl_managed_versioned){1, 0, self, dl_delete_versioned, 0, *t};
    } else {
        m->manager_ctx = self;
        m->deleter = dl_delete;
    }
    PyObject *capsule = PyCapsule_New(
        block, is_versioned ? EMBER_DL_CAPSULE_VERSIONED : EMBER_DL_CAPSULE, dl_capsule_free);
    if (!capsule) {
        PyMem_RawFree(block);
        return NULL;
    }
    Py_INCREF(self); /* released by the deleter */
    return capsule;
}

/* True when max_version asks for DLPack >= 1.0. */
static bool wants_versioned(PyObject *max_version)
{
    if (!max_version || max_version == Py_None || !PyTuple_Check(max_version) ||
        PyTuple_GET_SIZE(max_version) < 1)
        return false;
    long major = PyLong_AsLong(PyTuple_GET_ITEM(max_version, 0));
    if (major == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return false;
    }
    return major >= 1;
}

static PyObject *value_dlpack(py_value *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"stream", "max_version", "dl_device", "copy", NULL};
    PyObject *stream = NULL, *max_version = NULL, *dl_device = NULL, *copy = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$OOOO", keywords, &stream, &max_version,
                                     &dl_device, &copy))
        return NULL;
    if (!py_value_get(self) || !py_value_detach(self))
        return NULL;
    ember_dl_device here = dl_device_of(ember_value_get_device(self->value));
    if (dl_device && dl_device != Py_None) {
        int type, id;
        if (!PyArg_ParseTuple(dl_device, "ii", &type, &id))
            return NULL;
        if (type != here.device_type || id != here.device_id) {
            PyErr_SetString(PyExc_BufferError, "Ember does not copy across devices for DLPack");
            return NULL;
        }
    }
    if (copy == Py_True) {
        if (here.device_type != EMBER_DL_CPU) {
            PyErr_SetString(PyExc_BufferError, "copy=True is supported for host tensors only");
            return NULL;
        }
        PyObject *arr = py_value_to_array(self, false);
        py_value *fresh = arr ? py_value_from_array(arr) : NULL;
        Py_XDECREF(arr);
        PyObject *capsule = fresh ? export_dl(fresh, wants_versioned(max_version)) : NULL;
        Py_XDECREF(fresh);
        return capsule;
    }
    return export_dl(self, wants_versioned(max_version));
}

static PyObject *value_dlpack_device(py_value *self, PyObject *unused)
{
    (void)unused;
    if (!py_value_get(self))
        return NULL;
    ember_dl_device d = dl_device_of(ember_value_get_device(self->value));
    return Py_BuildValue("(ii)", (int)d.device_type, (int)d.device_id);
}

/* ---- DLPack: import ----------------------------------------------------------------- */

static bool is_compact(const ember_dl_tensor *t)
{
    if (!t->strides)
        return true;
    int64_t expected = 1;
    for (int32_t i = t->ndim; i-- > 0;) {
        if (t->shape[i] != 1 && t->strides[i] != expected)
            return false;
        expected *= t->shape[i];
    }
    return true;
}

static py_value *wrap_dl_tensor(const ember_dl_tensor *t)
{
    ember_dtype dtype;
    ember_device device;
    if (!ember_type_of(t->dtype, &dtype) || !ember_device_of(t->device, &device))
        return NULL;
    if (t->ndim < 0 || t->ndim > MAX_RANK || !is_compact(t)) {
        PyErr_SetString(PyExc_BufferError,
                        "Ember takes compact row-major DLPack tensors only; make the tensor "
                        "contiguous first");
        return NULL;
    }
    size_t rank = (size_t)t->ndim;
    size_t bytes = ember_dtype_storage_bytes(dtype, element_count(t->shape, rank));
    ember_value *value;
    ember_status status = ember_value_wrap(dtype, t->shape, rank,
                                           t->data ? (char *)t->data + t->byte_offset : NULL,
                                           t->data ? bytes : 0, device, &value);
    if (status != EMBER_OK)
        return (py_value *)py_raise_status(status);
    return py_value_take(value, NULL);
}

static PyObject *value_from_dlpack(PyObject *cls, PyObject *capsule)
{
    (void)cls;
    bool is_versioned = PyCapsule_IsValid(capsule, EMBER_DL_CAPSULE_VERSIONED);
    if (!is_versioned && !PyCapsule_IsValid(capsule, EMBER_DL_CAPSULE)) {
        PyErr_SetString(PyExc_TypeError,
                        "from_dlpack expects an unused DLPack capsule ('dltensor' or "
                        "'dltensor_versioned') or an object with __dlpack__");
        return NULL;
    }
    const char *name = is_versioned ? EMBER_DL_CAPSULE_VERSIONED : EMBER_DL_CAPSULE;
    void *managed = PyCapsule_GetPointer(capsule, name);
    const ember_dl_tensor *t;
    if (is_versioned) {
        ember_dl_managed_versioned *mv = managed;
        if (mv->version_major != 1) {
            PyErr_Format(PyExc_BufferError, "DLPack %u.%u is not supported; Ember reads 1.x",
                         mv->version_major, mv->version_minor);
            return NULL;
        }
        t = &mv->dl_tensor;
    } else {
        t = &((ember_dl_managed *)managed)->dl_tensor;
    }
    py_value *self = wrap_dl_tensor(t);
    if (!self)
        return NULL;
    if (PyCapsule_SetName(capsule, is_versioned ? EMBER_DL_CAPSULE_VERSIONED_USED
                                                : EMBER_DL_CAPSULE_USED) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->dl_managed = managed;
    self->dl_is_versioned = is_versioned;
    return (PyObject *)self;
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

/* wrap_pointer(address, shape, dtype, device_type, device_id): user memory,
 * not owned; the caller keeps it alive. */
static PyObject *value_wrap_pointer(PyObject *cls, PyObject *args)
{
    (void)cls;
    PyObject *address, *shape;
    int dtype, device_id;
    unsigned int device_type;
    int64_t dims[MAX_RANK];
    if (!PyArg_ParseTuple(args, "OOiIi", &address, &shape, &dtype, &device_type, &device_id))
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
    ember_value *dst = py_value_get(self), *from = py_value_get((py_value *)src);
    if (!dst || !from)
        return NULL;
    ember_status status;
    Py_BEGIN_ALLOW_THREADS
    status = ember_value_copy(dst, from);
    Py_END_ALLOW_THREADS
    if (status != EMBER_OK)
        return py_raise_status(status);
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
     "wrap_pointer(address, shape, dtype, device_type, device_id): user memory, no copy."},
    {"from_dlpack", value_from_dlpack, METH_O | METH_CLASS,
     "from_dlpack(capsule): wraps a DLPack tensor without a copy."},
    {"numpy", (PyCFunction)(void (*)(void))value_numpy, METH_VARARGS | METH_KEYWORDS,
     "numpy(copy=False): a view of a host value, a host copy of a device value."},
    {"copy_from", (PyCFunction)value_copy_from, METH_O,
     "copy_from(value): copies value's elements into this one."},
    {"__dlpack__", (PyCFunction)(void (*)(void))value_dlpack, METH_VARARGS | METH_KEYWORDS,
     "__dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None)."},
    {"__dlpack_device__", (PyCFunction)value_dlpack_device, METH_NOARGS,
     "__dlpack_device__() -> (device_type, device_id)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef value_getset[] = {
    {"shape", (getter)value_get_shape, NULL, "The dims, a tuple of ints.", NULL},
    {"dtype", (getter)value_get_dtype, NULL, "The element type (ONNX number).", NULL},
    {"device", (getter)value_get_device, NULL, "(device_type, device_id).", NULL},
    {"data_ptr", (getter)value_get_data_ptr, NULL, "Address of element 0.", NULL},
    {"byte_size", (getter)value_get_byte_size, NULL, "Bytes of storage.", NULL},
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
