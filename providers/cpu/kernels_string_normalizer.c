/*
 * StringNormalizer (part of the string family): drops the elements of a
 * [C] or [1, C] string tensor that equal a stopword (compared exactly, or
 * after lower-casing both when is_case_sensitive is 0) and changes the
 * case of the others (case_change_action LOWER, UPPER or NONE) with the
 * mapping of kernels_string_case.c. When every element is dropped the
 * output is [1] (or [1, 1]) holding one empty string, as the spec says.
 */
#include "kernels_string.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct normalizer_params {
    int action;
    bool case_sensitive;
    bool turkish;
    size_t n_stops;
    char **stops; /* lower-cased when !case_sensitive */
    size_t *stop_len;
} normalizer_params;

static void normalizer_release(void *params)
{
    normalizer_params *p = params;
    for (size_t i = 0; p->stops != NULL && i < p->n_stops; i++)
        free(p->stops[i]);
    free(p->stops);
    free(p->stop_len);
}

/* Whether element x is a stopword; buf has room for 2 * x->size bytes. */
static bool normalizer_is_stop(const normalizer_params *p, const ember_string *x, char *buf)
{
    const char *text = cpu_string_bytes(x);
    size_t len = x->size;
    if (!p->case_sensitive && p->n_stops > 0) {
        len = cpu_case_map(text, x->size, CASE_LOWER, p->turkish, buf);
        text = buf;
    }
    for (size_t i = 0; i < p->n_stops; i++)
        if (p->stop_len[i] == len && (len == 0 || memcmp(p->stops[i], text, len) == 0))
            return true;
    return false;
}

static ember_status normalizer_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const normalizer_params *p = k->params;
    const ember_tensor *x = NULL;
    ember_status s = cpu_string_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (x->rank == 0 || x->rank > 2 || (x->rank == 2 && x->dims[0] != 1))
        return cpu_fail_shape(k, 0, x, "expected a shape [C] or [1, C]");
    size_t n = cpu_tensor_numel(x);
    const ember_string *xs = x->data;
    uint8_t *keep;
    char *buf;
    s = k->host->ctx_scratch(ctx, n + 1, (void **)&keep);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, 2 * cpu_string_max_size(x) + 4, (void **)&buf);
    size_t kept = 0;
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        keep[i] = normalizer_is_stop(p, &xs[i], buf) ? 0 : 1;
        kept += keep[i];
    }
    int64_t dims[2] = {1, kept > 0 ? (int64_t)kept : 1};
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, EMBER_DTYPE_STRING, x->rank == 2 ? dims : dims + 1, x->rank,
                       &y);
    for (size_t i = 0, j = 0; s == EMBER_OK && i < n; i++) {
        if (!keep[i])
            continue;
        size_t len = cpu_case_map(cpu_string_bytes(&xs[i]), xs[i].size, p->action, p->turkish, buf);
        s = k->host->tensor_set_string(y, j++, buf, len);
    }
    return s;
}

/* Decodes case_change_action and locale. */
static ember_status normalizer_modes(cpu_kernel *k, const ember_node *node)
{
    normalizer_params *p = k->params;
    char action[16], locale[64];
    ember_status s = cpu_attr_string(k, node, "case_change_action", "NONE", action,
                                     sizeof action);
    if (s == EMBER_OK)
        s = cpu_attr_string(k, node, "locale", "en_US", locale, sizeof locale);
    if (s != EMBER_OK)
        return s;
    if (strcmp(action, "LOWER") == 0)
        p->action = CASE_LOWER;
    else if (strcmp(action, "UPPER") == 0)
        p->action = CASE_UPPER;
    else if (strcmp(action, "NONE") == 0)
        p->action = CASE_NONE;
    else
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'case_change_action' is \"%s\", "
                             "expected LOWER, UPPER or NONE",
                             k->name, k->op, action);
    p->turkish = (strncmp(locale, "tr", 2) == 0 || strncmp(locale, "az", 2) == 0) &&
                 strchr("_-.@", locale[2]) != NULL;
    int64_t sensitive;
    s = cpu_attr_int(k, node, "is_case_sensitive", 0, &sensitive);
    p->case_sensitive = sensitive != 0;
    return s;
}

/* Copies the stopwords (lower-cased unless case sensitive). */
static ember_status normalizer_stops(cpu_kernel *k, const ember_node *node)
{
    normalizer_params *p = k->params;
    ember_attr attr;
    if (!k->host->node_attr(node, "stopwords", &attr))
        return EMBER_OK;
    if (attr.type != EMBER_ATTR_STRINGS)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'stopwords' is not a list of strings",
                             k->name, k->op);
    p->stops = calloc(attr.n + 1, sizeof *p->stops);
    p->stop_len = calloc(attr.n + 1, sizeof *p->stop_len);
    if (p->stops == NULL || p->stop_len == NULL)
        return cpu_fail_oom(k);
    p->n_stops = attr.n;
    for (size_t i = 0; i < attr.n; i++) {
        const ember_string *w = &attr.strings[i];
        p->stops[i] = malloc(2 * w->size + 4);
        if (p->stops[i] == NULL)
            return cpu_fail_oom(k);
        p->stop_len[i] = cpu_case_map(cpu_string_bytes(w), w->size,
                                  p->case_sensitive ? CASE_NONE : CASE_LOWER, p->turkish,
                                  p->stops[i]);
    }
    return EMBER_OK;
}

ember_status cpu_normalizer_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(normalizer_params));
    if (s != EMBER_OK)
        return s;
    k->release = normalizer_release;
    s = normalizer_modes(k, node);
    if (s == EMBER_OK)
        s = normalizer_stops(k, node);
    k->run = normalizer_run;
    return s;
}
