/*
 * TfIdfVectorizer (part of the string family): counts, per row of a [C] or
 * [B, C] tensor of int32/int64 or strings, the n-grams of the pool
 * (pool_int64s or pool_strings, grouped by length through ngram_counts)
 * with skip distances 1 .. max_skip_count + 1, then weights the counts
 * (TF: the count; IDF: weight or 1 where the count is > 0; TFIDF: weight
 * times count, or the count without weights). Output element
 * ngram_indexes[id] receives the n-gram numbered id (in pool order).
 *
 * The n-grams form a trie built at kernel_create; its edges live in one
 * open-addressing hash table keyed by (parent node, item), so each step
 * of a match is one lookup.
 */
#include "kernels_string.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

enum { TFIDF_TF, TFIDF_IDF, TFIDF_TFIDF };

/* An item: an integer or a string, with its hash. */
typedef struct tfidf_value {
    int64_t i;
    const char *s;
    size_t len;
    uint64_t hash;
} tfidf_value;

/* A trie node: the item on the edge from its parent (a pool index) and
 * the n-gram number it ends (0: none). Node 0 is the root. */
typedef struct tfidf_node {
    size_t parent;
    size_t key;
    int64_t id;
} tfidf_node;

typedef struct tfidf_params {
    int mode;
    int64_t min_n, max_n, max_skip;
    bool strings;
    size_t pool_n;
    tfidf_value *pool;
    char *pool_bytes; /* the pool strings' copies */
    int64_t *indexes;
    size_t n_indexes, output_size;
    float *weights;
    size_t n_weights;
    tfidf_node *nodes;
    size_t n_nodes;
    size_t *table; /* node numbers; 0 = empty slot */
    size_t table_mask;
} tfidf_params;

static void tfidf_release(void *params)
{
    tfidf_params *p = params;
    free(p->pool);
    free(p->pool_bytes);
    free(p->indexes);
    free(p->weights);
    free(p->nodes);
    free(p->table);
}

static uint64_t tfidf_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static void tfidf_hash_string(tfidf_value *v)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < v->len; i++)
        h = (h ^ (unsigned char)v->s[i]) * 0x100000001b3ull;
    v->hash = tfidf_mix(h);
}

static bool tfidf_equal(const tfidf_params *p, const tfidf_value *a, const tfidf_value *b)
{
    if (a->hash != b->hash)
        return false;
    if (!p->strings)
        return a->i == b->i;
    return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

static size_t tfidf_slot(const tfidf_params *p, size_t parent, const tfidf_value *v)
{
    return (size_t)tfidf_mix(v->hash ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull)) &
           p->table_mask;
}

/* The child of `parent` along item v, or 0. */
static size_t tfidf_child(const tfidf_params *p, size_t parent, const tfidf_value *v)
{
    for (size_t slot = tfidf_slot(p, parent, v); p->table[slot] != 0;
         slot = (slot + 1) & p->table_mask) {
        const tfidf_node *node = &p->nodes[p->table[slot]];
        if (node->parent == parent && tfidf_equal(p, &p->pool[node->key], v))
            return p->table[slot];
    }
    return 0;
}

/* The child of `parent` along pool item `key`, added when missing. */
static size_t tfidf_child_add(tfidf_params *p, size_t parent, size_t key)
{
    size_t found = tfidf_child(p, parent, &p->pool[key]);
    if (found != 0)
        return found;
    size_t slot = tfidf_slot(p, parent, &p->pool[key]);
    while (p->table[slot] != 0)
        slot = (slot + 1) & p->table_mask;
    p->nodes[p->n_nodes] = (tfidf_node){.parent = parent, .key = key, .id = 0};
    p->table[slot] = p->n_nodes;
    return p->n_nodes++;
}

/* ---- counting ---------------------------------------------------------- */

typedef struct tfidf_job {
    const tfidf_params *p;
    const tfidf_value *items; /* the whole input, row-major */
    size_t row_size;
    float *y;
} tfidf_job;

/* Counts the n-grams of one row into counts[] (output_size floats). */
static void tfidf_count_row(const tfidf_params *p, const tfidf_value *x, size_t c,
                            float *counts)
{
    int64_t start_n = p->min_n;
    int64_t max_distance = p->max_skip + 1 < (int64_t)c ? p->max_skip + 1 : (int64_t)c;
    for (int64_t skip = 1; skip <= max_distance; skip++) {
        for (size_t start = 0; start < c; start++) {
            if ((int64_t)start + skip * (start_n - 1) >= (int64_t)c)
                break;
            size_t node = 0, item = start;
            for (int64_t n = 1; n <= p->max_n && item < c; n++, item += (size_t)skip) {
                node = tfidf_child(p, node, &x[item]);
                if (node == 0)
                    break;
                if (n >= start_n && p->nodes[node].id != 0)
                    counts[p->indexes[p->nodes[node].id - 1]] += 1.0f;
            }
        }
        /* Unigrams are counted once: they do not depend on the skip. */
        if (start_n == 1 && ++start_n > p->max_n)
            break;
    }
}

/* Turns counts into the mode's values. */
static void tfidf_weigh(const tfidf_params *p, float *row)
{
    for (size_t i = 0; i < p->output_size; i++) {
        float w = p->n_weights > 0 ? p->weights[i] : 1.0f;
        if (p->mode == TFIDF_IDF)
            row[i] = row[i] > 0 ? w : 0.0f;
        else if (p->mode == TFIDF_TFIDF)
            row[i] *= w;
    }
}

static void tfidf_rows(void *arg, size_t begin, size_t end)
{
    const tfidf_job *job = arg;
    const tfidf_params *p = job->p;
    for (size_t r = begin; r < end; r++) {
        float *row = job->y + r * p->output_size;
        tfidf_count_row(p, job->items + r * job->row_size, job->row_size, row);
        tfidf_weigh(p, row);
    }
}

/* The input as items (hashed once). */
static ember_status tfidf_items(const cpu_kernel *k, ember_kernel_context *ctx,
                                const ember_tensor *x, size_t n, tfidf_value **out)
{
    const tfidf_params *p = k->params;
    bool is_string = x->dtype == EMBER_DTYPE_STRING;
    if (x->dtype != EMBER_DTYPE_INT32 && x->dtype != EMBER_DTYPE_INT64 && !is_string)
        return cpu_fail_dtype(k, 0, x->dtype);
    if (is_string != p->strings)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input 0 has type %s but the pool holds %s",
                             k->name, k->op, cpu_dtype_name(x->dtype),
                             p->strings ? "strings" : "integers");
    tfidf_value *v;
    ember_status s = k->host->ctx_scratch(ctx, (n + 1) * sizeof *v, (void **)&v);
    for (size_t i = 0; s == EMBER_OK && i < n; i++) {
        v[i] = (tfidf_value){0};
        if (is_string) {
            const ember_string *str = &((const ember_string *)x->data)[i];
            v[i].s = cpu_string_bytes(str);
            v[i].len = str->size;
            tfidf_hash_string(&v[i]);
        } else {
            v[i].i = x->dtype == EMBER_DTYPE_INT32 ? ((const int32_t *)x->data)[i]
                                                    : ((const int64_t *)x->data)[i];
            v[i].hash = tfidf_mix((uint64_t)v[i].i);
        }
    }
    if (s == EMBER_OK)
        *out = v;
    return s;
}

static ember_status tfidf_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const tfidf_params *p = k->params;
    const ember_tensor *x = NULL;
    ember_status s = cpu_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    if (x->rank > 2)
        return cpu_fail_shape(k, 0, x, "expected a shape [C] or [B, C]");
    size_t rows = x->rank == 2 ? (size_t)x->dims[0] : 1;
    size_t c = x->rank == 0 ? 1 : (size_t)x->dims[x->rank - 1];
    int64_t dims[2] = {(int64_t)rows, (int64_t)p->output_size};
    ember_tensor *y;
    tfidf_value *items = NULL;
    s = tfidf_items(k, ctx, x, rows * c, &items);
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, EMBER_DTYPE_FLOAT32, x->rank == 2 ? dims : dims + 1,
                       x->rank == 2 ? 2 : 1, &y);
    if (s != EMBER_OK)
        return s;
    if (rows * p->output_size > 0)
        memset(y->data, 0, rows * p->output_size * sizeof(float));
    if (c == 0 || p->n_nodes <= 1)
        return EMBER_OK;
    tfidf_job job = {.p = p, .items = items, .row_size = c, .y = y->data};
    size_t ops = rows * c * (size_t)(p->max_skip + 1) * (size_t)p->max_n;
    cpu_parallel(ctx, k, rows, ops, tfidf_rows, &job);
    return EMBER_OK;
}

/* ---- kernel_create ----------------------------------------------------- */

static ember_status tfidf_bad(const cpu_kernel *k, const char *attr, const char *why)
{
    return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): attribute '%s' %s", k->name,
                         k->op, attr, why);
}

/* A list attribute (ints, floats or strings) or an empty one. */
static ember_status tfidf_list(const cpu_kernel *k, const ember_node *node, const char *name,
                               uint32_t type, ember_attr *out)
{
    if (!k->host->node_attr(node, name, out)) {
        *out = (ember_attr){.type = type, .n = 0};
        return EMBER_OK;
    }
    if (out->type != type)
        return tfidf_bad(k, name, "has the wrong type");
    return EMBER_OK;
}

/* Copies pool_int64s or pool_strings into p->pool. */
static ember_status tfidf_pool(cpu_kernel *k, const ember_node *node)
{
    tfidf_params *p = k->params;
    ember_attr ints, strs;
    ember_status s = tfidf_list(k, node, "pool_int64s", EMBER_ATTR_INTS, &ints);
    if (s == EMBER_OK)
        s = tfidf_list(k, node, "pool_strings", EMBER_ATTR_STRINGS, &strs);
    if (s != EMBER_OK)
        return s;
    if ((ints.n > 0) == (strs.n > 0))
        return tfidf_bad(k, "pool_int64s", "and 'pool_strings': exactly one must be given");
    p->strings = strs.n > 0;
    p->pool_n = p->strings ? strs.n : ints.n;
    size_t bytes = 1;
    for (size_t i = 0; i < strs.n; i++)
        bytes += strs.strings[i].size;
    p->pool = calloc(p->pool_n, sizeof *p->pool);
    p->pool_bytes = malloc(bytes);
    if (p->pool == NULL || p->pool_bytes == NULL)
        return cpu_fail_oom(k);
    for (size_t i = 0, at = 0; i < p->pool_n; i++) {
        tfidf_value *v = &p->pool[i];
        if (!p->strings) {
            v->i = ints.ints[i];
            v->hash = tfidf_mix((uint64_t)v->i);
            continue;
        }
        v->s = p->pool_bytes + at;
        v->len = strs.strings[i].size;
        if (v->len > 0)
            memcpy(p->pool_bytes + at, strs.strings[i].data, v->len);
        at += v->len;
        tfidf_hash_string(v);
    }
    return EMBER_OK;
}

/* Copies ngram_indexes and weights; sets output_size. */
static ember_status tfidf_outputs(cpu_kernel *k, const ember_node *node)
{
    tfidf_params *p = k->params;
    ember_attr idx, w;
    ember_status s = tfidf_list(k, node, "ngram_indexes", EMBER_ATTR_INTS, &idx);
    if (s == EMBER_OK)
        s = tfidf_list(k, node, "weights", EMBER_ATTR_FLOATS, &w);
    if (s != EMBER_OK)
        return s;
    p->indexes = malloc((idx.n + 1) * sizeof *p->indexes);
    p->weights = malloc((w.n + 1) * sizeof *p->weights);
    if (p->indexes == NULL || p->weights == NULL)
        return cpu_fail_oom(k);
    p->n_indexes = idx.n;
    for (size_t i = 0; i < idx.n; i++) {
        if (idx.ints[i] < 0 || idx.ints[i] >= INT32_MAX)
            return tfidf_bad(k, "ngram_indexes", "has a value out of range");
        p->indexes[i] = idx.ints[i];
        if ((size_t)idx.ints[i] + 1 > p->output_size)
            p->output_size = (size_t)idx.ints[i] + 1;
    }
    p->n_weights = w.n;
    if (w.n > 0)
        memcpy(p->weights, w.floats, w.n * sizeof *p->weights);
    if (w.n > 0 && w.n < p->output_size)
        return tfidf_bad(k, "weights", "has fewer values than the output has columns");
    return EMBER_OK;
}

/* Builds the trie from the pool grouped by ngram_counts. */
static ember_status tfidf_trie(cpu_kernel *k, const ember_node *node)
{
    tfidf_params *p = k->params;
    ember_attr counts;
    ember_status s = tfidf_list(k, node, "ngram_counts", EMBER_ATTR_INTS, &counts);
    if (s != EMBER_OK)
        return s;
    size_t cap = 4;
    while (cap < 2 * (p->pool_n + 1))
        cap *= 2;
    p->table = calloc(cap, sizeof *p->table);
    p->nodes = calloc(p->pool_n + 1, sizeof *p->nodes);
    if (p->table == NULL || p->nodes == NULL)
        return cpu_fail_oom(k);
    p->table_mask = cap - 1;
    p->n_nodes = 1;
    int64_t id = 1;
    for (size_t level = 0; level < counts.n; level++) {
        int64_t size = (int64_t)level + 1;
        int64_t start = counts.ints[level];
        int64_t end = level + 1 < counts.n ? counts.ints[level + 1] : (int64_t)p->pool_n;
        if (start < 0 || start > end || end > (int64_t)p->pool_n)
            return tfidf_bad(k, "ngram_counts", "does not split the pool in order");
        int64_t ngrams = (end - start) / size;
        for (int64_t g = 0; g < ngrams && size >= p->min_n && size <= p->max_n; g++) {
            size_t at = 0;
            for (int64_t t = 0; t < size; t++)
                at = tfidf_child_add(p, at, (size_t)(start + g * size + t));
            p->nodes[at].id = id + g;
        }
        id += ngrams;
    }
    if ((size_t)(id - 1) > p->n_indexes)
        return tfidf_bad(k, "ngram_indexes", "has fewer values than the pool has n-grams");
    return EMBER_OK;
}

static ember_status tfidf_modes(cpu_kernel *k, const ember_node *node)
{
    tfidf_params *p = k->params;
    char mode[16];
    ember_status s = cpu_attr_string(k, node, "mode", "", mode, sizeof mode);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "min_gram_length", 1, &p->min_n);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "max_gram_length", 1, &p->max_n);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "max_skip_count", 0, &p->max_skip);
    if (s != EMBER_OK)
        return s;
    if (strcmp(mode, "TF") == 0)
        p->mode = TFIDF_TF;
    else if (strcmp(mode, "IDF") == 0)
        p->mode = TFIDF_IDF;
    else if (strcmp(mode, "TFIDF") == 0)
        p->mode = TFIDF_TFIDF;
    else
        return tfidf_bad(k, "mode", "must be TF, IDF or TFIDF");
    if (p->min_n < 1 || p->max_n < p->min_n || p->max_n > 1000000)
        return tfidf_bad(k, "min_gram_length", "and 'max_gram_length' are out of range");
    if (p->max_skip < 0 || p->max_skip > INT32_MAX)
        return tfidf_bad(k, "max_skip_count", "is out of range");
    return EMBER_OK;
}

bool cpu_tfidf_check(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0,
                              CPU_DT(EMBER_DTYPE_STRING) | CPU_DT(EMBER_DTYPE_INT32) |
                                  CPU_DT(EMBER_DTYPE_INT64));
}

ember_status cpu_tfidf_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(tfidf_params));
    if (s != EMBER_OK)
        return s;
    k->release = tfidf_release;
    s = tfidf_modes(k, node);
    if (s == EMBER_OK)
        s = tfidf_pool(k, node);
    if (s == EMBER_OK)
        s = tfidf_outputs(k, node);
    if (s == EMBER_OK)
        s = tfidf_trie(k, node);
    k->run = tfidf_run;
    return s;
}
