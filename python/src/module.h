/*
 * _ember: the thin C layer of the Python package over Ember's public C API
 * (include/ember/ember.h). It offers four types, Env, Value, Session and
 * Binding, plus the exception classes; the onnxruntime-compatible surface is
 * Python (the .py files of python/ember) on top of it. This header is shared by the
 * module's own files only.
 */
#ifndef EMBER_PY_MODULE_H
#define EMBER_PY_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL ember_py_array_api
#ifndef EMBER_PY_IMPORTS_NUMPY
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include <ember/ember.h>

/* ---- objects ---------------------------------------------------------------------- */

/* One ember_env: the loaded provider plugins. Every session and every value
 * allocated through it keeps a reference, so it is destroyed last. */
typedef struct {
    PyObject_HEAD
    ember_env *env;
} py_env;

/*
 * One ember_value. Invariants: `value` is NULL only after the value was
 * invalidated (a borrowed output whose binding went away and could not be
 * copied). When `is_borrowed`, the value belongs to a Binding, which
 * detaches it (copies it into an owned value) before it frees it. `keep`
 * holds whatever owns the memory that `value` wraps (an ndarray, or NULL);
 * `dl_managed` is an imported DLPack tensor, released on dealloc.
 * `is_foreign`: the value wraps device memory that Ember did not allocate
 * (a pointer, a DLPack import), so no provider is attached to copy it:
 * copies go through a temporary that `env` allocates on that device.
 */
typedef struct {
    PyObject_HEAD
    ember_value *value;
    bool is_borrowed;
    bool dl_is_versioned;
    bool is_foreign;
    PyObject *env;  /* py_env or NULL */
    PyObject *keep; /* owner of the wrapped memory, or NULL */
    void *dl_managed;
} py_value;

typedef struct {
    PyObject_HEAD
    ember_session *session;
    PyObject *env;          /* py_env */
    size_t n_outputs;
    const char **output_names; /* borrowed from the session */
    PyObject *output_list;  /* tuple of str, the default fetch list */
} py_session;

/* A Binding keeps every Value it was given (the C binding borrows them) and
 * every borrowed output Value it handed out, to detach them in time. */
typedef struct {
    PyObject_HEAD
    ember_io_binding *binding;
    py_session *session;
    PyObject *inputs;  /* dict name -> py_value */
    PyObject *outputs; /* dict name -> py_value (preallocated outputs) */
    PyObject *handed;  /* list of borrowed py_value handed out since the run */
    bool is_running;   /* a run is in progress (GIL released): no changes */
} py_binding;

extern PyTypeObject py_env_type;
extern PyTypeObject py_value_type;
extern PyTypeObject py_session_type;
extern PyTypeObject py_binding_type;

#define py_value_check(o) PyObject_TypeCheck((o), &py_value_type)

/* ---- errors (module.c) ------------------------------------------------------------ */

/* Raises the exception class for `status` with ember_last_error()'s message,
 * prefixed the way onnxruntime prefixes its own; returns NULL. */
PyObject *py_raise_status(ember_status status);
/* Raises the class for `status` with a message of the module's own. */
PyObject *py_raise_message(ember_status status, const char *format, ...);

/* ---- element types (module.c) ----------------------------------------------------- */

/* The numpy descriptor for an Ember element type (new reference), or NULL
 * with an exception set. STRING maps to object. */
PyArray_Descr *py_descr_for(ember_dtype dtype);
/* The Ember element type of a numpy descriptor; sets an exception and
 * returns false when there is none. */
bool py_dtype_of(PyArray_Descr *descr, ember_dtype *out);

/* The most dims a value may have here (numpy's limit). */
#define EMBER_PY_MAX_RANK 64

/* ---- values (value.c) ------------------------------------------------------------- */

/* A new Value that owns `value` (taken on success and on failure). */
py_value *py_value_take(ember_value *value, PyObject *env);
/* A new Value over a Binding's output (not destroyed by the Value). */
py_value *py_value_borrow(ember_value *value, PyObject *env);
/* Wraps an array-like without copying when it is a C-contiguous, aligned,
 * native-order ndarray (a copy otherwise; strings and the packed types,
 * int4/uint4/float4e2m1/int2/uint2, are always copied). */
py_value *py_value_from_array(PyObject *obj);
/* An ndarray over the value: a view that keeps `self` alive when the value
 * is an owned CPU value and `may_view`, a host copy otherwise (always a
 * copy for strings and the packed types). */
PyObject *py_value_to_array(py_value *self, bool may_view);
/* Turns an owned output value into an ndarray without a copy (the array
 * owns it); takes `value` in every case. */
PyObject *py_array_take(ember_value *value);
/* Copies a borrowed value into one it owns; on failure invalidates it.
 * Returns false with an exception set on failure. */
bool py_value_detach(py_value *self);
/* Copies src's elements into dst across devices (the GIL released),
 * foreign device memory included. False with an exception set on failure. */
bool py_value_copy(py_value *dst, py_value *src);
/* The wrapped value, or NULL with an exception set when invalidated. */
ember_value *py_value_get(py_value *self);

/* ---- packed element types (packed.c) ---------------------------------------------- */

/* Bits an element of `dtype` takes when several share a byte (4 for UINT4,
 * INT4 and FLOAT4E2M1, 2 for UINT2 and INT2); 0 for every other type. */
int py_packed_bits(ember_dtype dtype);
/* A new Value over a packed copy of `arr` (C-contiguous, one element per
 * byte, as ml_dtypes' int4... are), of element type `dtype`. */
py_value *py_value_pack(PyArrayObject *arr, ember_dtype dtype, const int64_t *dims,
                        size_t rank);
/* A new array of `descr` (taken) holding the unpacked elements of `value`,
 * from any device; signed types are sign-extended. Never a view. */
PyObject *py_packed_to_array(ember_value *value, PyArray_Descr *descr, npy_intp *dims,
                             int rank);

/* ---- DLPack (dlpack.c) ------------------------------------------------------------ */

/* Value.__dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None). */
PyObject *py_value_dlpack(py_value *self, PyObject *args, PyObject *kwargs);
/* Value.__dlpack_device__() -> (device_type, device_id). */
PyObject *py_value_dlpack_device(py_value *self, PyObject *unused);
/* Value.from_dlpack(capsule, env=None): wraps the tensor, marks the capsule
 * used; env lets a device tensor be copied (see is_foreign). */
PyObject *py_value_from_dlpack(PyObject *cls, PyObject *args);
/* Hands an imported DLPack tensor back to its producer (Value's dealloc). */
void py_value_release_dl(py_value *self);

#endif /* EMBER_PY_MODULE_H */
