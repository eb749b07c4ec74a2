/*
 * String ops of the default domain: StringConcat, StringSplit,
 * RegexFullMatch, StringNormalizer and TfIdfVectorizer. Input elements are
 * ember_string views (data may be NULL when size is 0); output elements are
 * copied into the core's string tensors with host->tensor_set_string.
 *
 * The file reads top to bottom: shared helpers (declared in
 * kernels_string.h), then StringConcat and StringSplit, and the family's
 * registration table closes the file. The larger ops live in
 * kernels_string_regex.c, kernels_string_case.c (case mapping),
 * kernels_string_normalizer.c and kernels_string_tfidf.c.
 */
#include "kernels_string.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- shared helpers ---------------------------------------------------- */

ember_status cpu_string_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                              const ember_tensor **out)
{
    const ember_tensor *t;
    ember_status s = cpu_input(k, ctx, index, &t);
    if (s == EMBER_OK && t->dtype != EMBER_DTYPE_STRING)
        return cpu_fail_dtype(k, index, t->dtype);
    if (s == EMBER_OK)
        *out = t;
    return s;
}

/* Claim check: every present input is a string tensor (or unknown). */
static bool string_check(const ember_host_api *host, const ember_node *node)
{
    for (size_t i = 0; i < host->node_input_count(node); i++)
        if (!cpu_input_dtype_in(host, node, i, CPU_DT(EMBER_DTYPE_STRING)))
            return false;
    return true;
}

ember_status cpu_string_attr_dup(const cpu_kernel *k, const ember_node *node,
                                 const char *name, char **out, size_t *len)
{
    ember_attr attr;
    *out = NULL;
    *len = 0;
    if (!k->host->node_attr(node, name, &attr))
        return EMBER_OK;
    if (attr.type != EMBER_ATTR_STRING)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute '%s' is not a string", k->name, k->op,
                             name);
    char *copy = malloc(attr.s.size + 1);
    if (copy == NULL)
        return cpu_fail_oom(k);
    if (attr.s.size > 0)
        memcpy(copy, attr.s.data, attr.s.size);
    copy[attr.s.size] = '\0';
    *out = copy;
    *len = attr.s.size;
    return EMBER_OK;
}

size_t cpu_string_max_size(const ember_tensor *t)
{
    const ember_string *x = t->data;
    size_t n = cpu_tensor_numel(t), max = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i].size > max)
            max = x[i].size;
    return max;
}

const char *cpu_string_bytes(const ember_string *s)
{
    return s->data != NULL ? s->data : "";
}

/* ---- StringConcat ------------------------------------------------------ */

/* Y = X + Z element-wise, with numpy broadcasting. */
static ember_status concat_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *a = NULL, *b = NULL;
    ember_status s = cpu_string_input(k, ctx, 0, &a);
    if (s == EMBER_OK)
        s = cpu_string_input(k, ctx, 1, &b);
    if (s != EMBER_OK)
        return s;
    cpu_bcast bc;
    if (!cpu_bcast_init(&bc, a->dims, a->rank, b->dims, b->rank)) {
        char other[256], why[320];
        cpu_format_dims(other, sizeof other, a->dims, a->rank);
        snprintf(why, sizeof why, "does not broadcast with input 0 of shape %s", other);
        return cpu_fail_shape(k, 1, b, why);
    }
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, EMBER_DTYPE_STRING, bc.out_dims, bc.out_rank, &y);
    if (s != EMBER_OK || bc.n_out == 0)
        return s;
    char *buf;
    s = k->host->ctx_scratch(ctx, cpu_string_max_size(a) + cpu_string_max_size(b) + 1,
                             (void **)&buf);
    const ember_string *xa = a->data, *xb = b->data;
    for (size_t i = 0; s == EMBER_OK && i < bc.n_out; i++) {
        size_t oa, ob;
        cpu_bcast_offsets(&bc, i, &oa, &ob);
        if (xa[oa].size > 0)
            memcpy(buf, xa[oa].data, xa[oa].size);
        if (xb[ob].size > 0)
            memcpy(buf + xa[oa].size, xb[ob].data, xb[ob].size);
        s = k->host->tensor_set_string(y, i, buf, xa[oa].size + xb[ob].size);
    }
    return s;
}

static ember_status concat_create(cpu_kernel *k, const ember_node *node)
{
    k->run = concat_run;
    return EMBER_OK;
}

/* ---- StringSplit ------------------------------------------------------- */

typedef struct split_params {
    char *delimiter; /* NULL: split on runs of whitespace */
    size_t delimiter_len;
    int64_t maxsplit; /* < 0: no limit */
} split_params;

static void split_release(void *params)
{
    split_params *p = params;
    free(p->delimiter);
}

/* The byte length of the whitespace character at s[i] (0 if none), as
 * Python's str.split() sees it: ASCII blanks and \x1c-\x1f, and the
 * Unicode spaces U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
 * U+202F, U+205F and U+3000 in UTF-8. */
static size_t split_space_len(const char *str, size_t i, size_t n)
{
    const unsigned char *s = (const unsigned char *)str + i;
    size_t left = n - i;
    if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r') || (s[0] >= 0x1c && s[0] <= 0x1f))
        return 1;
    if (left >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;
    if (left < 3)
        return 0;
    if ((s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) ||
        (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80))
        return 3;
    if (s[0] == 0xe2 && s[1] == 0x80 &&
        (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
        return 3;
    if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
        return 3;
    return 0;
}

/* Index of the first non-whitespace byte at or after i. */
static size_t split_skip_space(const char *s, size_t i, size_t n)
{
    size_t m;
    while (i < n && (m = split_space_len(s, i, n)) > 0)
        i += m;
    return i;
}

/* Splits s[0..n) like Python's str.split(None, maxsplit): writes at most
 * `cap` parts (offset, length) and returns the number of parts. */
static size_t split_whitespace(const split_params *p, const char *s, size_t n, size_t *parts,
                               size_t cap)
{
    size_t count = 0, i = 0;
    for (int64_t done = 0; p->maxsplit < 0 || done < p->maxsplit; done++) {
        i = split_skip_space(s, i, n);
        if (i == n)
            return count;
        size_t j = i;
        while (i < n && split_space_len(s, i, n) == 0)
            i++;
        if (count < cap)
            parts[2 * count] = j, parts[2 * count + 1] = i - j;
        count++;
    }
    i = split_skip_space(s, i, n);
    if (i < n) {
        if (count < cap)
            parts[2 * count] = i, parts[2 * count + 1] = n - i;
        count++;
    }
    return count;
}

/* Splits s[0..n) like Python's str.split(delimiter, maxsplit). */
static size_t split_delimiter(const split_params *p, const char *s, size_t n, size_t *parts,
                              size_t cap)
{
    size_t count = 0, start = 0, m = p->delimiter_len;
    for (size_t i = 0; i + m <= n;) {
        if (p->maxsplit >= 0 && (int64_t)count >= p->maxsplit)
            break;
        if (memcmp(s + i, p->delimiter, m) != 0) {
            i++;
            continue;
        }
        if (count < cap)
            parts[2 * count] = start, parts[2 * count + 1] = i - start;
        count++;
        i += m;
        start = i;
    }
    if (count < cap)
        parts[2 * count] = start, parts[2 * count + 1] = n - start;
    return count + 1;
}

static size_t split_one(const split_params *p, const ember_string *x, size_t *parts, size_t cap)
{
    const char *s = cpu_string_bytes(x);
    if (p->delimiter == NULL)
        return split_whitespace(p, s, x->size, parts, cap);
    return split_delimiter(p, s, x->size, parts, cap);
}

/* Y = X's shape + [the most parts of any element], padded with "";
 * Z = the number of parts of each element. */
static ember_status split_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const split_params *p = k->params;
    const ember_tensor *x = NULL;
    ember_status s = cpu_string_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (x->rank + 1 > CPU_MAX_RANK)
        return cpu_fail_shape(k, 0, x, "the rank is too large");
    const ember_string *xs = x->data;
    size_t n = cpu_tensor_numel(x), max_parts = 0;
    ember_tensor *y, *z;
    s = cpu_output(k, ctx, 1, EMBER_DTYPE_INT64, x->dims, x->rank, &z);
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        size_t c = split_one(p, &xs[i], NULL, 0);
        ((int64_t *)z->data)[i] = (int64_t)c;
        if (c > max_parts)
            max_parts = c;
    }
    int64_t dims[CPU_MAX_RANK];
    for (size_t d = 0; d < x->rank; d++)
        dims[d] = x->dims[d];
    dims[x->rank] = (int64_t)max_parts;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, EMBER_DTYPE_STRING, dims, x->rank + 1, &y);
    size_t *parts = NULL;
    if (s == EMBER_OK && max_parts > 0)
        s = k->host->ctx_scratch(ctx, 2 * max_parts * sizeof *parts, (void **)&parts);
    for (size_t i = 0; s == EMBER_OK && max_parts > 0 && i < n; i++) {
        size_t c = split_one(p, &xs[i], parts, max_parts);
        const char *str = cpu_string_bytes(&xs[i]);
        for (size_t j = 0; s == EMBER_OK && j < c; j++)
            s = k->host->tensor_set_string(y, i * max_parts + j, str + parts[2 * j],
                                           parts[2 * j + 1]);
    }
    return s;
}

static ember_status split_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(split_params));
    if (s != EMBER_OK)
        return s;
    split_params *p = k->params;
    k->release = split_release;
    s = cpu_string_attr_dup(k, node, "delimiter", &p->delimiter, &p->delimiter_len);
    if (s == EMBER_OK && p->delimiter != NULL && p->delimiter_len == 0) {
        free(p->delimiter);
        p->delimiter = NULL;
    }
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "maxsplit", -1, &p->maxsplit);
    k->run = split_run;
    return s;
}

/* ---- registration ------------------------------------------------------ */

const cpu_op_entry cpu_ops_string[] = {
    {"StringConcat", 20, CPU_OPSET_MAX, string_check, concat_create},
    {"StringSplit", 20, CPU_OPSET_MAX, string_check, split_create},
    {"RegexFullMatch", 20, CPU_OPSET_MAX, string_check, cpu_regex_create},
    {"StringNormalizer", 10, CPU_OPSET_MAX, string_check, cpu_normalizer_create},
    {"TfIdfVectorizer", 9, CPU_OPSET_MAX, cpu_tfidf_check, cpu_tfidf_create},
    {NULL, 0, 0, NULL, NULL},
};
