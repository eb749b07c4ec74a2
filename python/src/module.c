/*
 * _ember's module: initialisation, the exception classes (named like
 * onnxruntime's), element-type mapping between Ember and numpy, and the Env
 * type. Values, sessions and bindings live in value.c, session.c and
 * binding.c.
 */
#define EMBER_PY_IMPORTS_NUMPY
#include "module.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- exceptions ------------------------------------------------------------------- */

/* onnxruntime's status codes and names, so that messages read the same. */
enum { ORT_FAIL = 1, ORT_INVALID_ARGUMENT = 2, ORT_NO_SUCHFILE = 3, ORT_NOT_IMPLEMENTED = 9,
       ORT_RUNTIME_EXCEPTION = 6, ORT_INVALID_PROTOBUF = 7, ORT_INVALID_GRAPH = 10, ORT_EP_FAIL = 11 };

typedef struct {
    const char *name; /* class name, as in onnxruntime_pybind11_state */
    const char *doc;
    PyObject *type;
} error_class;

static PyObject *base_error;

static error_class error_classes[] = {
    {"Fail", "A failure with no more specific class (ONNX Runtime's FAIL).", NULL},
    {"InvalidArgument", "An argument, input name, type or shape is not acceptable.", NULL},
    {"NoSuchFile", "A model or provider file does not exist.", NULL},
    {"NoModel", "No model is loaded.", NULL},
    {"EngineError", "The engine failed.", NULL},
    {"RuntimeException", "An unexpected failure at run time (or an Ember bug).", NULL},
    {"InvalidProtobuf", "The model bytes are not a valid protobuf.", NULL},
    {"ModelLoaded", "A model is already loaded.", NULL},
    {"NotImplemented", "Valid, but not implemented by Ember or its providers.", NULL},
    {"InvalidGraph", "The model or its graph is malformed.", NULL},
    {"EPFail", "An execution provider failed or could not be loaded.", NULL},
};

enum { ERR_FAIL, ERR_INVALID_ARGUMENT, ERR_NO_SUCH_FILE, ERR_NO_MODEL, ERR_ENGINE,
       ERR_RUNTIME, ERR_INVALID_PROTOBUF, ERR_MODEL_LOADED, ERR_NOT_IMPLEMENTED,
       ERR_INVALID_GRAPH, ERR_EP_FAIL, N_ERRORS };

typedef struct {
    int error;    /* index into error_classes */
    int ort_code; /* onnxruntime's number */
    const char *ort_name;
} status_map;

static status_map map_status(ember_status status)
{
    switch (status) {
    case EMBER_E_INVALID_ARGUMENT:
        return (status_map){ERR_INVALID_ARGUMENT, ORT_INVALID_ARGUMENT, "INVALID_ARGUMENT"};
    case EMBER_E_INVALID_MODEL:
        return (status_map){ERR_INVALID_GRAPH, ORT_INVALID_GRAPH, "INVALID_GRAPH"};
    case EMBER_E_NOT_IMPLEMENTED:
        return (status_map){ERR_NOT_IMPLEMENTED, ORT_NOT_IMPLEMENTED, "NOT_IMPLEMENTED"};
    case EMBER_E_NO_SUCH_FILE:
        return (status_map){ERR_NO_SUCH_FILE, ORT_NO_SUCHFILE, "NO_SUCHFILE"};
    case EMBER_E_PROVIDER_ABI:
    case EMBER_E_DEVICE:
        return (status_map){ERR_EP_FAIL, ORT_EP_FAIL, "EP_FAIL"};
    case EMBER_E_OUT_OF_MEMORY:
    case EMBER_E_INTERNAL:
        return (status_map){ERR_RUNTIME, ORT_RUNTIME_EXCEPTION, "RUNTIME_EXCEPTION"};
    default:
        return (status_map){ERR_FAIL, ORT_FAIL, "FAIL"};
    }
}

/* Sets attribute `name` to a new str; false on failure. */
static bool set_str_attr(PyObject *obj, const char *name, const char *value)
{
    PyObject *text = PyUnicode_DecodeUTF8(value, (Py_ssize_t)strlen(value), "replace");
    int rc = text ? PyObject_SetAttrString(obj, name, text) : -1;
    Py_XDECREF(text);
    return rc == 0;
}

/* Raises class(message) with the attributes `status` (Ember's status name)
 * and `ember_message` (Ember's own text). */
static PyObject *raise_with(ember_status status, const char *message)
{
    status_map m = map_status(status);
    /* Ember has one status for malformed models; onnxruntime tells bytes that
     * do not parse (InvalidProtobuf) from a bad graph. Until ember.h tells
     * them apart, the loader's wording does. */
    if (status == EMBER_E_INVALID_MODEL && strstr(message, "protobuf parse failed"))
        m = (status_map){ERR_INVALID_PROTOBUF, ORT_INVALID_PROTOBUF, "INVALID_PROTOBUF"};
    PyObject *type = error_classes[m.error].type;
    PyObject *body = PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace");
    PyObject *text = body ? PyUnicode_FromFormat("[Ember] : %d : %s : %U", m.ort_code,
                                                 m.ort_name, body)
                          : NULL;
    Py_XDECREF(body);
    PyObject *exc = text ? PyObject_CallOneArg(type, text) : NULL;
    Py_XDECREF(text);
    if (!exc)
        return NULL;
    if (set_str_attr(exc, "status", ember_status_name(status)) &&
        set_str_attr(exc, "ember_message", message))
        PyErr_SetObject(type, exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *py_raise_status(ember_status status)
{
    const char *message = ember_last_error();
    return raise_with(status, message && message[0] ? message : ember_status_name(status));
}

PyObject *py_raise_message(ember_status status, const char *format, ...)
{
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    return raise_with(status, message);
}

static bool add_exceptions(PyObject *module)
{
    /* A RuntimeError, as the errors of onnxruntime's IOBinding calls are. */
    base_error = PyErr_NewExceptionWithDoc(
        "ember.EmberError", "Base class of the errors Ember raises (a RuntimeError).",
        PyExc_RuntimeError, NULL);
    if (!base_error || PyModule_AddObjectRef(module, "EmberError", base_error) < 0)
        return false;
    for (int i = 0; i < N_ERRORS; i++) {
        char qualified[64];
        snprintf(qualified, sizeof qualified, "ember.%s", error_classes[i].name);
        error_classes[i].type =
            PyErr_NewExceptionWithDoc(qualified, error_classes[i].doc, base_error, NULL);
        if (!error_classes[i].type ||
            PyModule_AddObjectRef(module, error_classes[i].name, error_classes[i].type) < 0)
            return false;
    }
    return true;
}

/* ---- element types ---------------------------------------------------------------- */

/* Element types numpy lacks (bfloat16, float8...), as numpy dtypes from
 * ml_dtypes when it is installed: a dict int(ember_dtype) -> numpy.dtype,
 * filled by the Python package. */
static PyObject *extra_dtypes;

static int npy_type_for(ember_dtype dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return NPY_FLOAT32;
    case EMBER_DTYPE_FLOAT64: return NPY_FLOAT64;
    case EMBER_DTYPE_FLOAT16: return NPY_FLOAT16;
    case EMBER_DTYPE_INT8: return NPY_INT8;
    case EMBER_DTYPE_UINT8: return NPY_UINT8;
    case EMBER_DTYPE_INT16: return NPY_INT16;
    case EMBER_DTYPE_UINT16: return NPY_UINT16;
    case EMBER_DTYPE_INT32: return NPY_INT32;
    case EMBER_DTYPE_UINT32: return NPY_UINT32;
    case EMBER_DTYPE_INT64: return NPY_INT64;
    case EMBER_DTYPE_UINT64: return NPY_UINT64;
    case EMBER_DTYPE_BOOL: return NPY_BOOL;
    case EMBER_DTYPE_COMPLEX64: return NPY_COMPLEX64;
    case EMBER_DTYPE_COMPLEX128: return NPY_COMPLEX128;
    case EMBER_DTYPE_STRING: return NPY_OBJECT;
    default: return -1;
    }
}

PyArray_Descr *py_descr_for(ember_dtype dtype)
{
    int type = npy_type_for(dtype);
    if (type >= 0)
        return PyArray_DescrFromType(type);
    PyObject *key = PyLong_FromLong((long)dtype);
    PyObject *descr = key && extra_dtypes ? PyDict_GetItemWithError(extra_dtypes, key) : NULL;
    Py_XDECREF(key);
    if (descr && PyArray_DescrCheck(descr)) {
        Py_INCREF(descr);
        return (PyArray_Descr *)descr;
    }
    if (!PyErr_Occurred())
        py_raise_message(EMBER_E_NOT_IMPLEMENTED,
                         "element type %s has no numpy equivalent here%s",
                         ember_dtype_onnx_name(dtype),
                         dtype == EMBER_DTYPE_BFLOAT16 || dtype >= EMBER_DTYPE_FLOAT8E4M3FN
                             ? " (install ml_dtypes)"
                             : "");
    return NULL;
}

/* The signed or unsigned integer type of `size` bytes. */
static ember_dtype int_dtype(size_t size, bool is_signed)
{
    switch (size) {
    case 1: return is_signed ? EMBER_DTYPE_INT8 : EMBER_DTYPE_UINT8;
    case 2: return is_signed ? EMBER_DTYPE_INT16 : EMBER_DTYPE_UINT16;
    case 4: return is_signed ? EMBER_DTYPE_INT32 : EMBER_DTYPE_UINT32;
    case 8: return is_signed ? EMBER_DTYPE_INT64 : EMBER_DTYPE_UINT64;
    default: return EMBER_DTYPE_UNDEFINED;
    }
}

static ember_dtype builtin_dtype(int type_num)
{
    switch (type_num) {
    case NPY_BOOL: return EMBER_DTYPE_BOOL;
    case NPY_BYTE: return EMBER_DTYPE_INT8;
    case NPY_UBYTE: return EMBER_DTYPE_UINT8;
    case NPY_SHORT: return int_dtype(sizeof(short), true);
    case NPY_USHORT: return int_dtype(sizeof(short), false);
    case NPY_INT: return int_dtype(sizeof(int), true);
    case NPY_UINT: return int_dtype(sizeof(int), false);
    case NPY_LONG: return int_dtype(sizeof(long), true);
    case NPY_ULONG: return int_dtype(sizeof(long), false);
    case NPY_LONGLONG: return int_dtype(sizeof(long long), true);
    case NPY_ULONGLONG: return int_dtype(sizeof(long long), false);
    case NPY_HALF: return EMBER_DTYPE_FLOAT16;
    case NPY_FLOAT: return EMBER_DTYPE_FLOAT32;
    case NPY_DOUBLE: return EMBER_DTYPE_FLOAT64;
    case NPY_CFLOAT: return EMBER_DTYPE_COMPLEX64;
    case NPY_CDOUBLE: return EMBER_DTYPE_COMPLEX128;
    case NPY_OBJECT:
    case NPY_STRING:
    case NPY_UNICODE: return EMBER_DTYPE_STRING;
    default: return EMBER_DTYPE_UNDEFINED;
    }
}

static ember_dtype extra_dtype(PyArray_Descr *descr)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (extra_dtypes && PyDict_Next(extra_dtypes, &pos, &key, &value))
        if (PyArray_DescrCheck(value) && PyArray_EquivTypes(descr, (PyArray_Descr *)value))
            return (ember_dtype)PyLong_AsLong(key);
    return EMBER_DTYPE_UNDEFINED;
}

bool py_dtype_of(PyArray_Descr *descr, ember_dtype *out)
{
    ember_dtype dtype = builtin_dtype(descr->type_num);
    if (dtype == EMBER_DTYPE_UNDEFINED)
        dtype = extra_dtype(descr);
    if (dtype == EMBER_DTYPE_UNDEFINED) {
        PyObject *text = PyObject_Str((PyObject *)descr);
        py_raise_message(EMBER_E_INVALID_ARGUMENT, "numpy dtype %s has no ONNX element type",
                         text ? PyUnicode_AsUTF8(text) : "?");
        Py_XDECREF(text);
        return false;
    }
    *out = dtype;
    return true;
}

/* ---- a counting allocator, for the leak tests ------------------------------------- */

/* Live blocks the core holds; counted only after count_allocations(). */
static long live_blocks;

static void *count_malloc(void *user, size_t size)
{
    (void)user;
    void *p = malloc(size);
    if (p)
        __atomic_add_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
    return p;
}

static void *count_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        __atomic_add_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
    return p;
}

static void count_free(void *user, void *ptr)
{
    (void)user;
    if (ptr)
        __atomic_sub_fetch(&live_blocks, 1, __ATOMIC_RELAXED);
    free(ptr);
}

static int n_envs_created;

/* count_allocations(): routes the core's allocations through a counter.
 * ember_set_allocator's contract: before any Ember object exists. */
static PyObject *mod_count_allocations(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    if (n_envs_created) {
        PyErr_SetString(PyExc_RuntimeError,
                        "count_allocations() must come before the first Env");
        return NULL;
    }
    static const ember_allocator counting = {count_malloc, count_realloc, count_free, NULL};
    ember_set_allocator(&counting);
    Py_RETURN_NONE;
}

static PyObject *mod_live_allocations(PyObject *module, PyObject *unused)
{
    (void)module, (void)unused;
    return PyLong_FromLong(__atomic_load_n(&live_blocks, __ATOMIC_RELAXED));
}

/* ---- Env ---------------------------------------------------------------------------- */

static const char *const level_names[] = {"VERBOSE", "INFO", "WARNING", "ERROR", "FATAL"};

/* Ember may log from any thread; stderr needs no GIL. */
static void log_to_stderr(void *user, ember_log_level level, const char *message)
{
    (void)user;
    const char *name = (unsigned)level < 5 ? level_names[level] : "?";
    fprintf(stderr, "[ember %s] %s\n", name, message);
}

static int env_init(py_env *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"log_level", NULL};
    int level = EMBER_LOG_WARNING;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|i", keywords, &level))
        return -1;
    if (self->env) {
        PyErr_SetString(PyExc_RuntimeError, "Env is already initialised");
        return -1;
    }
    n_envs_created++;
    ember_status status = ember_env_create(&self->env);
    if (status != EMBER_OK) {
        py_raise_status(status);
        return -1;
    }
    ember_env_set_logger(self->env, (ember_log_level)level, log_to_stderr, NULL);
    return 0;
}

static void env_dealloc(py_env *self)
{
    ember_env_destroy(self->env);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *env_set_log_level(py_env *self, PyObject *arg)
{
    long level = PyLong_AsLong(arg);
    if (level == -1 && PyErr_Occurred())
        return NULL;
    if (level < EMBER_LOG_VERBOSE || level > EMBER_LOG_FATAL)
        return py_raise_message(EMBER_E_INVALID_ARGUMENT,
                                "log level %ld is out of range: use 0 (verbose) to 4 (fatal)",
                                level);
    ember_env_set_logger(self->env, (ember_log_level)level, log_to_stderr, NULL);
    Py_RETURN_NONE;
}

static PyObject *env_register_provider(py_env *self, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    ember_status status = ember_env_register_provider(self->env, PyBytes_AS_STRING(path));
    Py_DECREF(path);
    if (status != EMBER_OK)
        return py_raise_status(status);
    Py_RETURN_NONE;
}

/* (is_available, why) for provider `name`. */
static PyObject *env_provider_available(py_env *self, PyObject *arg)
{
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name)
        return NULL;
    char why[1024] = "";
    bool is_available;
    Py_BEGIN_ALLOW_THREADS
    is_available = ember_env_provider_available(self->env, name, why, sizeof why);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(Os)", is_available ? Py_True : Py_False, why);
}

static PyMethodDef env_methods[] = {
    {"register_provider", (PyCFunction)env_register_provider, METH_O,
     "register_provider(path): load the provider plugin at path now."},
    {"provider_available", (PyCFunction)env_provider_available, METH_O,
     "provider_available(name) -> (bool, why)."},
    {"set_log_level", (PyCFunction)env_set_log_level, METH_O,
     "set_log_level(level): messages at or above level (0 verbose .. 4 fatal) go to stderr."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject py_env_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ember._ember.Env",
    .tp_doc = "Env(log_level=2): an Ember environment (the loaded provider plugins).",
    .tp_basicsize = sizeof(py_env),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)env_init,
    .tp_dealloc = (destructor)env_dealloc,
    .tp_methods = env_methods,
};

/* ---- module functions --------------------------------------------------------------- */

static PyObject *mod_set_extra_dtypes(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyDict_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "set_extra_dtypes expects a dict");
        return NULL;
    }
    Py_INCREF(arg);
    Py_XSETREF(extra_dtypes, arg);
    Py_RETURN_NONE;
}

static PyObject *mod_dtype_onnx_name(PyObject *module, PyObject *arg)
{
    (void)module;
    long dtype = PyLong_AsLong(arg);
    if (dtype == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(ember_dtype_onnx_name((ember_dtype)dtype));
}

/* The Ember element type of a numpy dtype (anything numpy.dtype() takes). */
static PyObject *mod_dtype_of(PyObject *module, PyObject *arg)
{
    (void)module;
    PyArray_Descr *descr = NULL;
    ember_dtype dtype;
    if (!PyArray_DescrConverter(arg, &descr))
        return NULL;
    bool ok = py_dtype_of(descr, &dtype);
    Py_DECREF(descr);
    return ok ? PyLong_FromLong((long)dtype) : NULL;
}

static PyObject *mod_numpy_dtype(PyObject *module, PyObject *arg)
{
    (void)module;
    long dtype = PyLong_AsLong(arg);
    if (dtype == -1 && PyErr_Occurred())
        return NULL;
    return (PyObject *)py_descr_for((ember_dtype)dtype);
}

static PyMethodDef module_methods[] = {
    {"set_extra_dtypes", mod_set_extra_dtypes, METH_O,
     "set_extra_dtypes({ember_dtype: numpy.dtype}): element types numpy lacks."},
    {"dtype_onnx_name", mod_dtype_onnx_name, METH_O,
     "dtype_onnx_name(ember_dtype) -> 'tensor(float)'."},
    {"dtype_of", mod_dtype_of, METH_O, "dtype_of(numpy dtype) -> ember_dtype (ONNX number)."},
    {"numpy_dtype", mod_numpy_dtype, METH_O, "numpy_dtype(ember_dtype) -> numpy.dtype."},
    {"count_allocations", mod_count_allocations, METH_NOARGS,
     "count_allocations(): count the core's live allocations (tests; before any Env)."},
    {"live_allocations", mod_live_allocations, METH_NOARGS,
     "live_allocations() -> blocks the core holds, since count_allocations()."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ember._ember",
    .m_doc = "The C layer of the ember package over Ember's public C API.",
    .m_size = -1,
    .m_methods = module_methods,
};

static bool add_type(PyObject *module, PyTypeObject *type, const char *name)
{
    return PyType_Ready(type) == 0 && PyModule_AddObjectRef(module, name, (PyObject *)type) == 0;
}

PyMODINIT_FUNC PyInit__ember(void); /* the only exported symbol */

PyMODINIT_FUNC PyInit__ember(void)
{
    import_array();
    PyObject *module = PyModule_Create(&module_def);
    if (!module)
        return NULL;
    bool ok = add_exceptions(module) && add_type(module, &py_env_type, "Env") &&
              add_type(module, &py_value_type, "Value") &&
              add_type(module, &py_session_type, "Session") &&
              add_type(module, &py_binding_type, "Binding") &&
              PyModule_AddStringConstant(module, "version", ember_version()) == 0;
    if (!ok) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
