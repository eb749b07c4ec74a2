/*
 * _ember.Binding: one ember_io_binding. The C binding borrows the values it
 * is given, so this object keeps them; and the outputs Ember allocates
 * belong to the C binding until its next run, clear or destroy, so the
 * Values handed out for them are borrowed: before any of those, each one
 * still referenced elsewhere is detached (copied into a value it owns, on
 * the same device), and the others are dropped.
 */
#include "module.h"

static bool check_binding(py_binding *self)
{
    if (!self->binding)
        PyErr_SetString(PyExc_RuntimeError, "the binding was not created");
    else if (self->is_running)
        PyErr_SetString(PyExc_RuntimeError,
                        "the binding is in use by a run in another thread");
    return self->binding != NULL && !self->is_running;
}

/* Detaches or drops every handed-out Value; they must not outlive the
 * C binding's outputs. A Value that cannot be copied is left invalid. */
static void release_handed(py_binding *self)
{
    Py_ssize_t n = self->handed ? PyList_GET_SIZE(self->handed) : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        py_value *value = (py_value *)PyList_GET_ITEM(self->handed, i);
        if (!value->is_borrowed)
            continue;
        if (Py_REFCNT(value) > 1) {
            if (!py_value_detach(value))
                PyErr_WriteUnraisable((PyObject *)value);
        } else {
            value->value = NULL;
            value->is_borrowed = false;
        }
    }
    if (n)
        PyList_SetSlice(self->handed, 0, n, NULL);
}

static int binding_init(py_binding *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"session", NULL};
    PyObject *session;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!", keywords, &py_session_type, &session))
        return -1;
    if (self->binding || !((py_session *)session)->session) {
        PyErr_SetString(PyExc_RuntimeError, "Binding needs a created session, once");
        return -1;
    }
    self->inputs = PyDict_New();
    self->outputs = PyDict_New();
    self->handed = PyList_New(0);
    if (!self->inputs || !self->outputs || !self->handed)
        return -1;
    ember_status status =
        ember_io_binding_create(((py_session *)session)->session, &self->binding);
    if (status != EMBER_OK) {
        py_raise_status(status);
        return -1;
    }
    Py_INCREF(session);
    self->session = (py_session *)session;
    return 0;
}

static void binding_dealloc(py_binding *self)
{
    release_handed(self);
    ember_io_binding_destroy(self->binding);
    Py_XDECREF(self->inputs);
    Py_XDECREF(self->outputs);
    Py_XDECREF(self->handed);
    Py_XDECREF(self->session);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The Value argument as a usable, owned-memory value. */
static ember_value *value_arg(PyObject *obj)
{
    if (!py_value_check(obj)) {
        PyErr_SetString(PyExc_TypeError, "expected an ember._ember.Value");
        return NULL;
    }
    py_value *value = (py_value *)obj;
    if (!py_value_get(value) || !py_value_detach(value))
        return NULL;
    return value->value;
}

static PyObject *binding_bind_input(py_binding *self, PyObject *args)
{
    PyObject *name, *obj;
    if (!PyArg_ParseTuple(args, "UO", &name, &obj) || !check_binding(self))
        return NULL;
    ember_value *value = value_arg(obj);
    if (!value)
        return NULL;
    ember_status status = ember_io_binding_bind_input(self->binding, PyUnicode_AsUTF8(name),
                                                      value);
    if (status != EMBER_OK)
        return py_raise_status(status);
    if (PyDict_SetItem(self->inputs, name, obj) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *binding_bind_output(py_binding *self, PyObject *args)
{
    PyObject *name, *obj;
    if (!PyArg_ParseTuple(args, "UO", &name, &obj) || !check_binding(self))
        return NULL;
    ember_value *value = value_arg(obj);
    if (!value)
        return NULL;
    release_handed(self);
    ember_status status = ember_io_binding_bind_output(self->binding, PyUnicode_AsUTF8(name),
                                                       value);
    if (status != EMBER_OK)
        return py_raise_status(status);
    if (PyDict_SetItem(self->outputs, name, obj) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *binding_bind_output_to_device(py_binding *self, PyObject *args)
{
    PyObject *name;
    unsigned int device_type;
    int device_id;
    if (!PyArg_ParseTuple(args, "UIi", &name, &device_type, &device_id) ||
        !check_binding(self))
        return NULL;
    release_handed(self);
    ember_status status = ember_io_binding_bind_output_to_device(
        self->binding, PyUnicode_AsUTF8(name), (ember_device){device_type, device_id});
    if (status != EMBER_OK)
        return py_raise_status(status);
    if (PyDict_Contains(self->outputs, name) == 1 && PyDict_DelItem(self->outputs, name) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *binding_clear_inputs(py_binding *self, PyObject *unused)
{
    (void)unused;
    if (!check_binding(self))
        return NULL;
    ember_io_binding_clear_inputs(self->binding);
    PyDict_Clear(self->inputs);
    Py_RETURN_NONE;
}

static PyObject *binding_clear_outputs(py_binding *self, PyObject *unused)
{
    (void)unused;
    if (!check_binding(self))
        return NULL;
    release_handed(self);
    ember_io_binding_clear_outputs(self->binding);
    PyDict_Clear(self->outputs);
    Py_RETURN_NONE;
}

static PyObject *binding_run(py_binding *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"run_tag", NULL};
    const char *tag = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z", keywords, &tag) ||
        !check_binding(self))
        return NULL;
    release_handed(self);
    ember_run_options *opts = NULL;
    ember_status status = EMBER_OK;
    self->is_running = true;
    Py_BEGIN_ALLOW_THREADS
    if (tag) {
        status = ember_run_options_create(&opts);
        if (status == EMBER_OK)
            ember_run_options_set_tag(opts, tag);
    }
    if (status == EMBER_OK)
        status = ember_session_run_with_binding(self->session->session, opts, self->binding);
    ember_run_options_destroy(opts);
    Py_END_ALLOW_THREADS
    self->is_running = false;
    if (status != EMBER_OK)
        return py_raise_status(status);
    Py_RETURN_NONE;
}

/* The Value for one bound output: the caller's own for a preallocated
 * output, else a borrowed Value (one per output until the next release). */
static PyObject *output_object(py_binding *self, PyObject *name, ember_value *value)
{
    PyObject *own = PyDict_GetItemWithError(self->outputs, name);
    if (own && ((py_value *)own)->value == value)
        return Py_NewRef(own);
    if (PyErr_Occurred())
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->handed); i++) {
        py_value *handed = (py_value *)PyList_GET_ITEM(self->handed, i);
        if (handed->value == value)
            return Py_NewRef(handed);
    }
    py_value *borrowed = py_value_borrow(value, self->session->env);
    if (!borrowed)
        return NULL;
    if (PyList_Append(self->handed, (PyObject *)borrowed) < 0) {
        borrowed->value = NULL;
        Py_CLEAR(borrowed);
    }
    return (PyObject *)borrowed;
}

/* [(name, Value)] of the outputs after the last run, in binding order. */
static PyObject *binding_outputs(py_binding *self, PyObject *unused)
{
    (void)unused;
    if (!check_binding(self))
        return NULL;
    size_t n = ember_io_binding_get_output_count(self->binding);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        const char *name;
        ember_value *value;
        ember_status status = ember_io_binding_get_output(self->binding, i, &name, &value);
        if (status != EMBER_OK) {
            Py_CLEAR(list);
            return py_raise_status(status);
        }
        if (!value) {
            Py_CLEAR(list);
            return py_raise_message(EMBER_E_INVALID_ARGUMENT,
                                    "output '%s' has no value: run the session with this "
                                    "binding first", name);
        }
        PyObject *key = PyUnicode_FromString(name);
        PyObject *object = key ? output_object(self, key, value) : NULL;
        PyObject *item = object ? PyTuple_Pack(2, key, object) : NULL;
        Py_XDECREF(key);
        Py_XDECREF(object);
        if (!item)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

static PyMethodDef binding_methods[] = {
    {"bind_input", (PyCFunction)binding_bind_input, METH_VARARGS,
     "bind_input(name, value): the binding keeps value."},
    {"bind_output", (PyCFunction)binding_bind_output, METH_VARARGS,
     "bind_output(name, value): runs write into value."},
    {"bind_output_to_device", (PyCFunction)binding_bind_output_to_device, METH_VARARGS,
     "bind_output_to_device(name, device_type, device_id): Ember allocates it there."},
    {"clear_inputs", (PyCFunction)binding_clear_inputs, METH_NOARGS, "Unbinds every input."},
    {"clear_outputs", (PyCFunction)binding_clear_outputs, METH_NOARGS,
     "Unbinds every output."},
    {"run", (PyCFunction)(void (*)(void))binding_run, METH_VARARGS | METH_KEYWORDS,
     "run(run_tag=None): runs the session with this binding."},
    {"outputs", (PyCFunction)binding_outputs, METH_NOARGS,
     "[(name, Value)] after a run, in binding order."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject py_binding_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ember._ember.Binding",
    .tp_doc = "Binding(session): inputs and outputs placed ahead of a run.",
    .tp_basicsize = sizeof(py_binding),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)binding_init,
    .tp_dealloc = (destructor)binding_dealloc,
    .tp_methods = binding_methods,
};
