/*
 * DLPack for _ember.Value: __dlpack__ and __dlpack_device__ export a value
 * without a copy (the capsule keeps the Value alive), from_dlpack wraps a
 * producer's tensor without a copy (the Value releases it). Both the
 * versioned (DLPack 1.x) and the unversioned capsule are understood.
 *
 * Devices: Ember's CPU is kDLCPU, CUDA:n is kDLCUDA with id n; an import
 * from kDLCUDAHost (pinned host memory) is a host value, one from
 * kDLCUDAManaged a CUDA value. Streams: every Ember call that writes
 * device memory has finished when it returns, so an exported tensor is
 * ready on any stream the consumer names; an importer asks the producer
 * for the legacy default stream (see OrtValue.from_dlpack), which the CUDA
 * provider's streams wait for.
 */
#include "module.h"

#include <string.h>

#include "dlpack.h"

static const ember_device host = {EMBER_DEVICE_CPU, 0};

static size_t element_count(const int64_t *dims, size_t rank)
{
    size_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

void py_value_release_dl(py_value *self)
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
    if (dl.device_type == EMBER_DL_CUDA || dl.device_type == EMBER_DL_CUDA_MANAGED) {
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

/* The consumer's stream, per the DLPack protocol: None, -1 (no
 * synchronization), 1 (legacy default), 2 (per-thread default) or a stream
 * handle on CUDA; 0 is ambiguous there and refused. Nothing needs to wait
 * for it (see the header), so it is only checked. */
static bool check_stream(PyObject *stream, ember_dl_device here)
{
    if (!stream || stream == Py_None)
        return true;
    if (!PyLong_Check(stream)) {
        PyErr_Format(PyExc_TypeError, "__dlpack__: stream must be an int or None, not %s",
                     Py_TYPE(stream)->tp_name);
        return false;
    }
    int overflow = 0;
    long long handle = PyLong_AsLongLongAndOverflow(stream, &overflow);
    if (handle == -1 && PyErr_Occurred())
        return false;
    if (here.device_type == EMBER_DL_CUDA && handle == 0 && !overflow) {
        PyErr_SetString(PyExc_BufferError,
                        "__dlpack__: stream 0 is ambiguous for CUDA; pass 1 for the legacy "
                        "default stream or 2 for the per-thread one");
        return false;
    }
    return true;
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

PyObject *py_value_dlpack(py_value *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"stream", "max_version", "dl_device", "copy", NULL};
    PyObject *stream = NULL, *max_version = NULL, *dl_device = NULL, *copy = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$OOOO", keywords, &stream, &max_version,
                                     &dl_device, &copy))
        return NULL;
    if (!py_value_get(self) || !py_value_detach(self))
        return NULL;
    ember_dl_device here = dl_device_of(ember_value_get_device(self->value));
    if (!check_stream(stream, here))
        return NULL;
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

PyObject *py_value_dlpack_device(py_value *self, PyObject *unused)
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

static py_value *wrap_dl_tensor(const ember_dl_tensor *t, PyObject *env)
{
    ember_dtype dtype;
    ember_device device;
    if (!ember_type_of(t->dtype, &dtype) || !ember_device_of(t->device, &device))
        return NULL;
    if (t->ndim < 0 || t->ndim > EMBER_PY_MAX_RANK || !is_compact(t)) {
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
    bool is_device = device.type != EMBER_DEVICE_CPU;
    py_value *self = py_value_take(value, is_device ? env : NULL);
    if (self)
        self->is_foreign = is_device;
    return self;
}

PyObject *py_value_from_dlpack(PyObject *cls, PyObject *args)
{
    (void)cls;
    PyObject *capsule, *env = NULL;
    if (!PyArg_ParseTuple(args, "O|O!", &capsule, &py_env_type, &env))
        return NULL;
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
    py_value *self = wrap_dl_tensor(t, env);
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
