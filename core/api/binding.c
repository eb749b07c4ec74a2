/*
 * IO binding: inputs and outputs placed ahead of a run, possibly on a
 * device, and outputs that Ember allocates on a chosen device.
 */
#include <string.h>

#include "core/api/api.h"
#include "core/util/util.h"

typedef struct bound_input {
    int value;
    const ember_value *source;
} bound_input;

typedef struct bound_output {
    int value;
    ember_value *into;      /* borrowed preallocated value, or NULL */
    ember_device device;    /* where Ember allocates when into is NULL */
    ember_value *result;    /* owned, after a run */
} bound_output;

struct ember_io_binding {
    ember_session *session;
    size_t n_inputs, cap_inputs;
    bound_input *inputs;
    size_t n_outputs, cap_outputs;
    bound_output *outputs;
};

EMBER_API ember_status ember_io_binding_create(ember_session *session, ember_io_binding **out)
{
    if (!session || !out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_io_binding_create: NULL argument");
    ember_io_binding *b = util_calloc(1, sizeof *b);
    if (!b)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating an io binding");
    b->session = session;
    *out = b;
    return EMBER_OK;
}

EMBER_API void ember_io_binding_clear_inputs(ember_io_binding *b)
{
    if (b)
        b->n_inputs = 0;
}

EMBER_API void ember_io_binding_clear_outputs(ember_io_binding *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_outputs; i++)
        ember_value_destroy(b->outputs[i].result);
    b->n_outputs = 0;
}

EMBER_API void ember_io_binding_destroy(ember_io_binding *b)
{
    if (!b)
        return;
    ember_io_binding_clear_outputs(b);
    util_free(b->inputs);
    util_free(b->outputs);
    util_free(b);
}

EMBER_API ember_status ember_io_binding_bind_input(ember_io_binding *b, const char *name,
                                                   const ember_value *value)
{
    int index;
    if (!b || !value)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_io_binding_bind_input: NULL argument");
    EMBER_TRY(api_session_input(b->session, name, &index));
    for (size_t i = 0; i < b->n_inputs; i++)
        if (b->inputs[i].value == index) {
            b->inputs[i].source = value; /* rebinding replaces */
            return EMBER_OK;
        }
    EMBER_TRY(util_grow((void **)&b->inputs, &b->cap_inputs, b->n_inputs + 1, sizeof *b->inputs));
    b->inputs[b->n_inputs++] = (bound_input){index, value};
    return EMBER_OK;
}

static ember_status bind_output(ember_io_binding *b, const char *name, ember_value *into,
                                ember_device device)
{
    int index;
    EMBER_TRY(api_session_output(b->session, name, &index));
    bound_output entry = {index, into, device, NULL};
    for (size_t i = 0; i < b->n_outputs; i++)
        if (b->outputs[i].value == index) {
            ember_value_destroy(b->outputs[i].result);
            b->outputs[i] = entry;
            return EMBER_OK;
        }
    EMBER_TRY(util_grow((void **)&b->outputs, &b->cap_outputs, b->n_outputs + 1,
                        sizeof *b->outputs));
    b->outputs[b->n_outputs++] = entry;
    return EMBER_OK;
}

EMBER_API ember_status ember_io_binding_bind_output(ember_io_binding *b, const char *name,
                                                    ember_value *value)
{
    if (!b || !value)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_io_binding_bind_output: NULL argument");
    return bind_output(b, name, value, ember_value_get_device(value));
}

EMBER_API ember_status ember_io_binding_bind_output_to_device(ember_io_binding *b,
                                                              const char *name,
                                                              ember_device device)
{
    if (!b)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "ember_io_binding_bind_output_to_device: NULL");
    return bind_output(b, name, NULL, device);
}

static ember_status collect_results(ember_io_binding *b, exec_fetch *fetches)
{
    ember_status status = EMBER_OK;
    for (size_t i = 0; i < b->n_outputs; i++) {
        bound_output *o = &b->outputs[i];
        ember_value_destroy(o->result);
        o->result = NULL;
        if (o->into || status != EMBER_OK)
            exec_tensor_release(&fetches[i].result);
        else
            status = api_value_take(&fetches[i].result, &o->result);
    }
    return status;
}

static ember_status run_bound(ember_session *s, ember_io_binding *b, exec_feed *feeds,
                              exec_fetch *fetches)
{
    for (size_t i = 0; i < b->n_inputs; i++)
        feeds[i] = (exec_feed){b->inputs[i].value, &b->inputs[i].source->tensor};
    for (size_t i = 0; i < b->n_outputs; i++) {
        bound_output *o = &b->outputs[i];
        fetches[i].value = o->value;
        fetches[i].device = o->device;
        fetches[i].into = o->into ? &o->into->tensor.view : NULL;
    }
    ember_env *previous = api_log_scope(s->env);
    ember_status status = exec_run(s->program, feeds, b->n_inputs, fetches, b->n_outputs);
    api_log_scope(previous);
    if (status != EMBER_OK)
        return status;
    return collect_results(b, fetches);
}

EMBER_API ember_status ember_session_run_with_binding(ember_session *s,
                                                      const ember_run_options *opts,
                                                      ember_io_binding *b)
{
    (void)opts;
    if (!s || !b || b->session != s)
        return ember_fail(EMBER_E_INVALID_ARGUMENT,
                          "ember_session_run_with_binding: the binding belongs to another "
                          "session");
    exec_feed *feeds = util_calloc(b->n_inputs + 1, sizeof *feeds);
    exec_fetch *fetches = util_calloc(b->n_outputs + 1, sizeof *fetches);
    ember_status status = feeds && fetches
                              ? run_bound(s, b, feeds, fetches)
                              : ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory");
    util_free(feeds);
    util_free(fetches);
    return status;
}

EMBER_API size_t ember_io_binding_get_output_count(const ember_io_binding *b)
{
    return b ? b->n_outputs : 0;
}

EMBER_API ember_status ember_io_binding_get_output(const ember_io_binding *b, size_t index,
                                                   const char **name, ember_value **value)
{
    if (!b || index >= b->n_outputs)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "bound output index %zu is out of range",
                          index);
    const bound_output *o = &b->outputs[index];
    if (name)
        *name = b->session->g->values[o->value].name;
    if (value)
        *value = o->into ? o->into : o->result;
    return EMBER_OK;
}
