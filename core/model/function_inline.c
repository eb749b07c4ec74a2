/*
 * Model-local functions (ModelProto.functions): a node whose domain and op
 * name a function is replaced by the function's body, loaded with its
 * names renamed (see model_scope in model_impl.h) and its attribute
 * references (ref_attr_name) bound to the call's attributes or the
 * function's defaults. Calls inside a body inline recursively, up to
 * MAX_CALL_DEPTH, which also stops a function that calls itself; the
 * nodes inlining adds are bounded too, since functions that each call the
 * next one twice grow exponentially.
 */
#include "core/model/model_impl.h"

#include <string.h>

#include "core/util/util.h"

#define MAX_CALL_DEPTH 32
#define MAX_INLINED_NODES ((size_t)1 << 21)

static const char *domain_of(const char *domain)
{
    return !domain || strcmp(domain, "ai.onnx") == 0 ? "" : domain;
}

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

const Onnx__FunctionProto *model_function_find(const model_ctx *ctx, const Onnx__NodeProto *np)
{
    const Onnx__ModelProto *mp = ctx->model;
    for (size_t i = 0; mp && i < mp->n_functions; i++) {
        const Onnx__FunctionProto *f = mp->functions[i];
        if (same(f->name, np->op_type) && same(domain_of(f->domain), domain_of(np->domain)) &&
            same(f->overload, np->overload))
            return f;
    }
    return NULL;
}

/* ---- names ------------------------------------------------------------------ */

/* Index of `name` among a function's formal names, or -1. */
static long formal_index(char *const *formals, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (formals[i] && strcmp(formals[i], name) == 0)
            return (long)i;
    return -1;
}

ember_status model_scope_name(const model_scope *s, const char *name, char **out)
{
    if (!name)
        name = "";
    while (s && name[0]) {
        long i = formal_index(s->fn->input, s->fn->n_input, name);
        if (i >= 0) {
            name = (size_t)i < s->call->n_input ? s->call->input[i] : "";
        } else if ((i = formal_index(s->fn->output, s->fn->n_output, name)) >= 0) {
            name = (size_t)i < s->call->n_output ? s->call->output[i] : "";
        } else {
            *out = util_format("%s%s", s->prefix, name);
            goto done;
        }
        s = s->caller;
        if (!name)
            name = "";
    }
    *out = util_strdup(name);
done:
    if (!*out)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory renaming '%s'", name);
    return EMBER_OK;
}

/* ---- attributes ---------------------------------------------------------------- */

static const Onnx__AttributeProto *attr_named(Onnx__AttributeProto *const *attrs, size_t n,
                                              const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (attrs[i]->name && strcmp(attrs[i]->name, name) == 0)
            return attrs[i];
    return NULL;
}

const Onnx__AttributeProto *model_scope_attr(const model_scope *s, const char *ref,
                                             const model_scope **owner)
{
    while (s) {
        const Onnx__AttributeProto *a = attr_named(s->call->attribute, s->call->n_attribute, ref);
        if (!a) {
            *owner = s;
            return attr_named(s->fn->attribute_proto, s->fn->n_attribute_proto, ref);
        }
        if (!a->ref_attr_name || !a->ref_attr_name[0]) {
            *owner = s->caller;
            return a;
        }
        /* The call itself sits in a function body and passes its own
         * caller's attribute on. */
        ref = a->ref_attr_name;
        s = s->caller;
    }
    return NULL;
}

/* ---- calls ------------------------------------------------------------------------ */

static ember_status body_load(model_ctx *ctx, graph *g, const model_scope *scope)
{
    const Onnx__FunctionProto *fn = scope->fn;
    for (size_t i = 0; i < fn->n_node; i++) {
        if (++ctx->n_inlined_nodes > MAX_INLINED_NODES)
            return ember_fail(EMBER_E_INVALID_MODEL,
                              "inlining model-local functions adds more than %zu nodes",
                              MAX_INLINED_NODES);
        ember_status status = model_node_load(ctx, g, fn->node[i], scope);
        if (status != EMBER_OK)
            return ember_fail_prefix(status, "node #%zu (%s) of function '%s'", i,
                                     fn->node[i]->op_type ? fn->node[i]->op_type : "",
                                     fn->name);
    }
    return EMBER_OK;
}

ember_status model_function_inline(model_ctx *ctx, graph *g, const Onnx__NodeProto *call,
                                   const Onnx__FunctionProto *fn, const model_scope *scope)
{
    model_scope inner = {scope, call, fn, NULL, scope ? scope->depth + 1 : 1};
    if (inner.depth > MAX_CALL_DEPTH)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "calls of model-local functions nest deeper than %d (does '%s' call "
                          "itself?)", MAX_CALL_DEPTH, fn->name);
    inner.prefix = util_format("_inline%u_%s/", ctx->n_inlined++, fn->name);
    if (!inner.prefix)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory inlining '%s'", fn->name);
    ember_status status = body_load(ctx, g, &inner);
    util_free(inner.prefix);
    return status;
}
