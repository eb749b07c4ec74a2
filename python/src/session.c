/*
 * _ember.Session: one ember_session, created from a path or bytes with a
 * provider list and options; its metadata; and run, the hot path: numpy
 * arrays in, numpy arrays (or Values) out, the GIL released around
 * ember_session_run.
 */
#include "module.h"

#include <string.h>

/* ---- creation ----------------------------------------------------------------------- */

/* Appends one (name, {key: value}) provider; options are str -> str. */
static bool append_provider(ember_session_options *opts, PyObject *entry)
{
    const char *name;
    PyObject *options;
    if (!PyArg_ParseTuple(entry, "sO!", &name, &PyDict_Type, &options))
        return false;
    Py_ssize_t n = PyDict_Size(options), pos = 0, i = 0;
    const char **keys = PyMem_Malloc((size_t)(n + 1) * 2 * sizeof *keys);
    if (!keys) {
        PyErr_NoMemory();
        return false;
    }
    const char **values = keys + n + 1;
    PyObject *key, *value;
    bool ok = true;
    while (ok && PyDict_Next(options, &pos, &key, &value)) {
        keys[i] = PyUnicode_AsUTF8(key);
        values[i] = PyUnicode_AsUTF8(value);
        ok = keys[i] && values[i];
        i++;
    }
    ember_status status = EMBER_OK;
    if (ok)
        status = ember_session_options_append_provider(opts, name, keys, values, (size_t)n);
    PyMem_Free(keys);
    if (ok && status != EMBER_OK)
        py_raise_status(status);
    return ok && status == EMBER_OK;
}

typedef struct {
    PyObject *providers;
    int is_strict, intra_threads, opt_level, log_level, is_profiled;
} options_args;

static ember_session_options *make_options(const options_args *a)
{
    ember_session_options *opts;
    ember_status status = ember_session_options_create(&opts);
    if (status != EMBER_OK)
        return (ember_session_options *)py_raise_status(status);
    ember_session_options_set_strict(opts, a->is_strict);
    ember_session_options_set_intra_op_threads(opts, a->intra_threads);
    ember_session_options_set_opt_level(opts, (ember_opt_level)a->opt_level);
    ember_session_options_set_log_level(opts, (ember_log_level)a->log_level);
    ember_session_options_set_profiling(opts, a->is_profiled);
    PyObject *seq = PySequence_Fast(a->providers, "providers must be a sequence");
    bool ok = seq != NULL;
    for (Py_ssize_t i = 0; ok && i < PySequence_Fast_GET_SIZE(seq); i++)
        ok = append_provider(opts, PySequence_Fast_GET_ITEM(seq, i));
    Py_XDECREF(seq);
    if (!ok) {
        ember_session_options_destroy(opts);
        return NULL;
    }
    return opts;
}

static ember_status create_session(ember_env *env, PyObject *model, const char *base_dir,
                                   const ember_session_options *opts, ember_session **out)
{
    ember_status status;
    if (PyObject_CheckBuffer(model) && !PyUnicode_Check(model)) {
        Py_buffer view;
        if (PyObject_GetBuffer(model, &view, PyBUF_SIMPLE) < 0)
            return EMBER_E_INTERNAL; /* exception set */
        Py_BEGIN_ALLOW_THREADS
        status = ember_session_create_from_bytes(env, view.buf, (size_t)view.len, base_dir, opts,
                                                 out);
        Py_END_ALLOW_THREADS
        PyBuffer_Release(&view);
        return status;
    }
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(model, &path))
        return EMBER_E_INTERNAL;
    Py_BEGIN_ALLOW_THREADS
    status = ember_session_create(env, PyBytes_AS_STRING(path), opts, out);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    return status;
}

/* The default fetch list: every output, in graph order. */
static bool cache_outputs(py_session *self)
{
    size_t n = ember_session_get_output_count(self->session);
    self->output_names = PyMem_Calloc(n + 1, sizeof *self->output_names);
    self->output_list = PyTuple_New((Py_ssize_t)n);
    if (!self->output_names || !self->output_list) {
        PyErr_NoMemory();
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        ember_io_info info;
        ember_status status = ember_session_get_output_info(self->session, i, &info);
        if (status != EMBER_OK) {
            py_raise_status(status);
            return false;
        }
        PyObject *name = PyUnicode_FromString(info.name);
        if (!name)
            return false;
        PyTuple_SET_ITEM(self->output_list, (Py_ssize_t)i, name);
        self->output_names[i] = info.name;
    }
    self->n_outputs = n;
    return true;
}

static int session_init(py_session *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"env", "model", "base_dir", "providers", "strict",
                               "intra_threads", "opt_level", "log_level", "profiling", NULL};
    PyObject *env, *model;
    const char *base_dir = NULL;
    options_args a = {NULL, 0, 0, EMBER_OPT_ALL, EMBER_LOG_WARNING, 0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O|zOpiiip", keywords, &py_env_type, &env,
                                     &model, &base_dir, &a.providers, &a.is_strict,
                                     &a.intra_threads, &a.opt_level, &a.log_level,
                                     &a.is_profiled))
        return -1;
    if (self->session) {
        PyErr_SetString(PyExc_RuntimeError, "Session is already initialised");
        return -1;
    }
    PyObject *none_providers = NULL;
    if (!a.providers)
        a.providers = none_providers = PyTuple_New(0);
    ember_session_options *opts = a.providers ? make_options(&a) : NULL;
    Py_XDECREF(none_providers);
    if (!opts)
        return -1;
    ember_status status = create_session(((py_env *)env)->env, model, base_dir, opts,
                                         &self->session);
    ember_session_options_destroy(opts);
    if (status != EMBER_OK) {
        if (!PyErr_Occurred())
            py_raise_status(status);
        return -1;
    }
    Py_INCREF(env);
    self->env = env;
    return cache_outputs(self) ? 0 : -1;
}

static void session_dealloc(py_session *self)
{
    ember_session_destroy(self->session);
    PyMem_Free(self->output_names);
    Py_XDECREF(self->output_list);
    Py_XDECREF(self->env);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static bool check_open(py_session *self)
{
    if (!self->session)
        PyErr_SetString(PyExc_RuntimeError, "the session was not created");
    return self->session != NULL;
}

/* ---- metadata ----------------------------------------------------------------------- */

/* One dim: its value, its symbolic name, or None. */
static PyObject *dim_object(const ember_io_info *info, int64_t i)
{
    if (info->dims[i] >= 0)
        return PyLong_FromLongLong(info->dims[i]);
    if (info->dim_names && info->dim_names[i])
        return PyUnicode_FromString(info->dim_names[i]);
    Py_RETURN_NONE;
}

/* (name, dtype, shape): shape is None when even the rank is unknown. */
static PyObject *io_tuple(const ember_io_info *info)
{
    PyObject *shape;
    if (info->rank < 0) {
        shape = Py_NewRef(Py_None);
    } else {
        shape = PyList_New((Py_ssize_t)info->rank);
        for (int64_t i = 0; shape && i < info->rank; i++) {
            PyObject *dim = dim_object(info, i);
            if (!dim)
                Py_CLEAR(shape);
            else
                PyList_SET_ITEM(shape, (Py_ssize_t)i, dim);
        }
    }
    return shape ? Py_BuildValue("(siN)", info->name, (int)info->dtype, shape) : NULL;
}

/* Item i of a list the session describes (a new reference), or NULL with
 * an exception set. */
typedef PyObject *(*item_maker)(const ember_session *session, size_t i, const void *arg);

/* [make(session, 0, arg), ..., make(session, n - 1, arg)], or NULL. */
static PyObject *session_list(py_session *self, size_t n, item_maker make, const void *arg)
{
    if (!check_open(self))
        return NULL;
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *item = make(self->session, i, arg);
        if (!item)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

typedef ember_status (*info_getter)(const ember_session *, size_t, ember_io_info *);

static PyObject *io_item(const ember_session *session, size_t i, const void *arg)
{
    info_getter get = *(const info_getter *)arg;
    ember_io_info info;
    ember_status status = get(session, i, &info);
    return status == EMBER_OK ? io_tuple(&info) : py_raise_status(status);
}

static PyObject *io_list(py_session *self, size_t n, info_getter get)
{
    return session_list(self, n, io_item, &get);
}

static PyObject *session_inputs(py_session *self, PyObject *unused)
{
    (void)unused;
    return io_list(self, self->session ? ember_session_get_input_count(self->session) : 0,
                   ember_session_get_input_info);
}

static PyObject *session_outputs(py_session *self, PyObject *unused)
{
    (void)unused;
    return io_list(self, self->n_outputs, ember_session_get_output_info);
}

static PyObject *custom_map(const ember_model_meta *meta)
{
    PyObject *map = PyDict_New();
    for (size_t i = 0; map && i < meta->n_custom; i++) {
        PyObject *value = PyUnicode_FromString(meta->custom_values[i]);
        if (!value || PyDict_SetItemString(map, meta->custom_keys[i], value) < 0)
            Py_CLEAR(map);
        Py_XDECREF(value);
    }
    return map;
}

static PyObject *session_meta(py_session *self, PyObject *unused)
{
    (void)unused;
    if (!check_open(self))
        return NULL;
    ember_model_meta meta;
    ember_session_get_model_meta(self->session, &meta);
    PyObject *custom = custom_map(&meta);
    if (!custom)
        return NULL;
    return Py_BuildValue("{s:s,s:s,s:s,s:s,s:s,s:L,s:L,s:N}", "producer_name",
                         meta.producer_name, "producer_version", meta.producer_version,
                         "graph_name", meta.graph_name, "domain", meta.domain, "description",
                         meta.description, "model_version", (long long)meta.model_version,
                         "ir_version", (long long)meta.ir_version, "custom", custom);
}

static PyObject *provider_item(const ember_session *session, size_t i, const void *arg)
{
    (void)arg;
    return PyUnicode_FromString(ember_session_get_provider_name(session, i));
}

static PyObject *session_providers(py_session *self, PyObject *unused)
{
    (void)unused;
    size_t n = self->session ? ember_session_get_provider_count(self->session) : 0;
    return session_list(self, n, provider_item, NULL);
}

static PyObject *placement_item(const ember_session *session, size_t i, const void *arg)
{
    (void)arg;
    ember_node_placement p;
    ember_status status = ember_session_get_node_placement(session, i, &p);
    if (status != EMBER_OK)
        return py_raise_status(status);
    return Py_BuildValue("(ssss)", p.node_name ? p.node_name : "", p.op_type,
                         p.domain ? p.domain : "", p.provider);
}

/* [(node_name, op_type, domain, provider)] in execution order. */
static PyObject *session_placement(py_session *self, PyObject *unused)
{
    (void)unused;
    size_t n = self->session ? ember_session_get_node_count(self->session) : 0;
    return session_list(self, n, placement_item, NULL);
}

static PyObject *session_copy_count(py_session *self, PyObject *unused)
{
    (void)unused;
    return check_open(self) ? PyLong_FromSize_t(ember_session_get_copy_count(self->session))
                            : NULL;
}

/* [(node, op_type, provider, n_nodes, calls, total_ns)] per step. */
static PyObject *session_profile(py_session *self, PyObject *unused)
{
    (void)unused;
    size_t n = 0;
    if (!check_open(self))
        return NULL;
    ember_status status = ember_session_get_profile(self->session, NULL, 0, &n);
    ember_profile_entry *entries = status == EMBER_OK ? PyMem_Calloc(n ? n : 1, sizeof *entries)
                                                      : NULL;
    if (status != EMBER_OK)
        return py_raise_status(status);
    if (!entries)
        return PyErr_NoMemory();
    status = ember_session_get_profile(self->session, entries, n, &n);
    PyObject *list = status == EMBER_OK ? PyList_New((Py_ssize_t)n) : py_raise_status(status);
    for (size_t i = 0; list && i < n; i++) {
        const ember_profile_entry *e = &entries[i];
        PyObject *item = Py_BuildValue("(sssnKK)", e->node_name, e->op_type, e->provider,
                                       (Py_ssize_t)e->n_nodes, (unsigned long long)e->calls,
                                       (unsigned long long)e->total_ns);
        if (!item)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    PyMem_Free(entries);
    return list;
}

static PyObject *opset_item(const ember_session *session, size_t i, const void *arg)
{
    (void)arg;
    const char *domain;
    int64_t version;
    ember_status status = ember_session_get_opset(session, i, &domain, &version);
    return status == EMBER_OK ? Py_BuildValue("(sL)", domain, (long long)version)
                              : py_raise_status(status);
}

/* [(domain, version)]. */
static PyObject *session_opsets(py_session *self, PyObject *unused)
{
    (void)unused;
    size_t n = self->session ? ember_session_get_opset_count(self->session) : 0;
    return session_list(self, n, opset_item, NULL);
}

/* ---- run ---------------------------------------------------------------------------- */

/* One call's scratch: names and values for ember_session_run, and the
 * Values that keep the inputs' memory alive until the call returns. */
typedef struct {
    size_t n_in, n_in_cap, n_out;
    const char **in_names;
    const ember_value **in_values;
    PyObject **in_keep;
    const char **out_names;
    ember_value **outputs;
    void *block;
} run_call;

static bool run_call_init(run_call *c, size_t n_in, size_t n_out)
{
    size_t slots = 3 * n_in + 2 * n_out + 1;
    memset(c, 0, sizeof *c);
    c->block = PyMem_Calloc(slots, sizeof(void *));
    if (!c->block) {
        PyErr_NoMemory();
        return false;
    }
    void **p = c->block;
    c->in_names = (const char **)p;
    c->in_values = (const ember_value **)(p + n_in);
    c->in_keep = (PyObject **)(p + 2 * n_in);
    c->out_names = (const char **)(p + 3 * n_in);
    c->outputs = (ember_value **)(p + 3 * n_in + n_out);
    c->n_in_cap = n_in;
    c->n_out = n_out;
    return true;
}

static void run_call_free(run_call *c)
{
    for (size_t i = 0; i < c->n_in; i++)
        Py_XDECREF(c->in_keep[i]);
    for (size_t i = 0; c->outputs && i < c->n_out; i++)
        ember_value_destroy(c->outputs[i]);
    PyMem_Free(c->block);
}

/* The Value to feed for `obj`: a Value as it is (a Binding's output is
 * first copied, so that the binding may not free it mid-run), an OrtValue's
 * Value, or a wrapped array. New reference. */
static py_value *feed_value(PyObject *obj)
{
    if (!PyArray_CheckExact(obj) && !py_value_check(obj)) {
        PyObject *inner = PyObject_GetAttrString(obj, "_value");
        if (inner && py_value_check(inner))
            obj = inner;
        else
            PyErr_Clear();
        Py_XDECREF(inner); /* obj stays alive through the feed dict */
    }
    if (!py_value_check(obj))
        return py_value_from_array(obj);
    py_value *value = (py_value *)obj;
    if (!py_value_get(value) || !py_value_detach(value))
        return NULL;
    Py_INCREF(value);
    return value;
}

static bool collect_feeds(run_call *c, PyObject *feed)
{
    Py_ssize_t pos = 0;
    PyObject *key, *obj;
    while (PyDict_Next(feed, &pos, &key, &obj)) {
        size_t i = c->n_in;
        if (i == c->n_in_cap) { /* an OrtValue's _value changed the dict */
            PyErr_SetString(PyExc_RuntimeError, "the input feed changed during run");
            return false;
        }
        c->in_names[i] = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!c->in_names[i]) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "input names must be str");
            return false;
        }
        py_value *value = feed_value(obj);
        if (!value)
            return false;
        c->in_keep[i] = (PyObject *)value;
        c->in_values[i] = value->value;
        c->n_in++;
    }
    return true;
}

static bool collect_fetches(run_call *c, PyObject *names)
{
    for (size_t i = 0; i < c->n_out; i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(names, (Py_ssize_t)i);
        c->out_names[i] = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
        if (!c->out_names[i]) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "output names must be str");
            return false;
        }
    }
    return true;
}

/* Hands the outputs over to Python objects; the call keeps none. */
static PyObject *collect_results(py_session *self, run_call *c, bool as_values)
{
    PyObject *list = PyList_New((Py_ssize_t)c->n_out);
    for (size_t i = 0; list && i < c->n_out; i++) {
        ember_value *value = c->outputs[i];
        c->outputs[i] = NULL;
        PyObject *item = as_values ? (PyObject *)py_value_take(value, self->env)
                                   : py_array_take(value);
        if (!item)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

static ember_status run_released(py_session *self, run_call *c, const char *tag)
{
    ember_run_options *opts = NULL;
    ember_status status = EMBER_OK;
    Py_BEGIN_ALLOW_THREADS
    if (tag) {
        status = ember_run_options_create(&opts);
        if (status == EMBER_OK)
            ember_run_options_set_tag(opts, tag);
    }
    if (status == EMBER_OK)
        status = ember_session_run(self->session, opts, c->in_names, c->in_values, c->n_in,
                                   c->out_names, c->outputs, c->n_out);
    ember_run_options_destroy(opts);
    Py_END_ALLOW_THREADS
    return status;
}

/* run(output_names, feed, run_tag=None, as_values=False): output_names None
 * means every output; feed maps input names to arrays or Values. Returns
 * ndarrays (as_values: Values) in output_names' order. */
static PyObject *session_run(py_session *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"output_names", "feed", "run_tag", "as_values", NULL};
    PyObject *names, *feed;
    const char *tag = NULL;
    int as_values = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!|zp", keywords, &names, &PyDict_Type,
                                     &feed, &tag, &as_values) ||
        !check_open(self))
        return NULL;
    PyObject *fetch = PySequence_Fast(names == Py_None ? self->output_list : names,
                                      "output_names must be a sequence of str");
    if (!fetch)
        return NULL;
    run_call c;
    PyObject *result = NULL;
    if (!run_call_init(&c, (size_t)PyDict_Size(feed), (size_t)PySequence_Fast_GET_SIZE(fetch)))
        goto out;
    if (collect_fetches(&c, fetch) && collect_feeds(&c, feed)) {
        ember_status status = run_released(self, &c, tag);
        result = status == EMBER_OK ? collect_results(self, &c, as_values)
                                    : py_raise_status(status);
    }
    run_call_free(&c);
out:
    Py_DECREF(fetch);
    return result;
}

static PyMethodDef session_methods[] = {
    {"run", (PyCFunction)(void (*)(void))session_run, METH_VARARGS | METH_KEYWORDS,
     "run(output_names, feed, run_tag=None, as_values=False) -> list."},
    {"inputs", (PyCFunction)session_inputs, METH_NOARGS, "[(name, dtype, shape)]."},
    {"outputs", (PyCFunction)session_outputs, METH_NOARGS, "[(name, dtype, shape)]."},
    {"meta", (PyCFunction)session_meta, METH_NOARGS, "The model's metadata as a dict."},
    {"providers", (PyCFunction)session_providers, METH_NOARGS,
     "The providers the session uses, in priority order."},
    {"placement", (PyCFunction)session_placement, METH_NOARGS,
     "[(node_name, op_type, domain, provider)] in execution order."},
    {"profile", (PyCFunction)session_profile, METH_NOARGS,
     "[(node, op_type, provider, n_nodes, calls, total_ns)] per step (profiling on)."},
    {"copy_count", (PyCFunction)session_copy_count, METH_NOARGS,
     "How many copy steps were inserted between devices."},
    {"opsets", (PyCFunction)session_opsets, METH_NOARGS, "[(domain, version)]."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject py_session_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ember._ember.Session",
    .tp_doc = "Session(env, model, base_dir=None, providers=(), strict=False, "
              "intra_threads=0, opt_level=99, log_level=2): a path or bytes.",
    .tp_basicsize = sizeof(py_session),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)session_init,
    .tp_dealloc = (destructor)session_dealloc,
    .tp_methods = session_methods,
};
