/*
 * Shared utilities of the core: the thread's failure message, the
 * replaceable host allocator, strings and shapes.
 */
#include "core/util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_SIZE 2048

static _Thread_local char last_message[MESSAGE_SIZE];

ember_status ember_failv(ember_status status, const char *fmt, va_list ap)
{
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    return status;
}

ember_status ember_fail(ember_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ember_failv(status, fmt, ap);
    va_end(ap);
    return status;
}

ember_status ember_fail_prefix(ember_status status, const char *fmt, ...)
{
    char prefix[512], old[MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_message, sizeof old);
    int n = snprintf(last_message, sizeof last_message, "%s: ", prefix);
    size_t used = n < 0 ? 0 : (size_t)n; /* prefix is at most 511 bytes: it fits */
    size_t n_old = strnlen(old, sizeof old);
    if (n_old > sizeof last_message - 1 - used)
        n_old = sizeof last_message - 1 - used;
    memcpy(last_message + used, old, n_old);
    last_message[used + n_old] = '\0';
    return status;
}

EMBER_API const char *ember_last_error(void)
{
    return last_message;
}

EMBER_API const char *ember_status_name(ember_status status)
{
    switch (status) {
    case EMBER_OK: return "EMBER_OK";
    case EMBER_E_INVALID_ARGUMENT: return "EMBER_E_INVALID_ARGUMENT";
    case EMBER_E_OUT_OF_MEMORY: return "EMBER_E_OUT_OF_MEMORY";
    case EMBER_E_INVALID_MODEL: return "EMBER_E_INVALID_MODEL";
    case EMBER_E_NOT_IMPLEMENTED: return "EMBER_E_NOT_IMPLEMENTED";
    case EMBER_E_PROVIDER_ABI: return "EMBER_E_PROVIDER_ABI";
    case EMBER_E_DEVICE: return "EMBER_E_DEVICE";
    case EMBER_E_IO: return "EMBER_E_IO";
    case EMBER_E_INTERNAL: return "EMBER_E_INTERNAL";
    case EMBER_E_NO_SUCH_FILE: return "EMBER_E_NO_SUCH_FILE";
    }
    return "EMBER_E_UNKNOWN";
}

EMBER_API const char *ember_version(void)
{
    return EMBER_VERSION_STRING;
}

/* ---- memory ------------------------------------------------------------- */

static void *default_malloc(void *user, size_t size) { (void)user; return malloc(size); }
static void *default_realloc(void *user, void *p, size_t size) { (void)user; return realloc(p, size); }
static void default_free(void *user, void *p) { (void)user; free(p); }

static ember_allocator allocator = {default_malloc, default_realloc, default_free, NULL};

EMBER_API void ember_set_allocator(const ember_allocator *a)
{
    if (a && a->malloc_fn && a->realloc_fn && a->free_fn)
        allocator = *a;
    else
        allocator = (ember_allocator){default_malloc, default_realloc, default_free, NULL};
}

void *util_malloc(size_t size)
{
    return allocator.malloc_fn(allocator.user, size ? size : 1);
}

void *util_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t bytes = count * size;
    void *p = util_malloc(bytes);
    if (p)
        memset(p, 0, bytes > 0 ? bytes : 1);
    return p;
}

void *util_realloc(void *ptr, size_t size)
{
    return allocator.realloc_fn(allocator.user, ptr, size ? size : 1);
}

void util_free(void *ptr)
{
    if (ptr)
        allocator.free_fn(allocator.user, ptr);
}

ember_status util_grow(void **items, size_t *cap, size_t need, size_t item_size)
{
    if (need <= *cap)
        return EMBER_OK;
    size_t new_cap = *cap ? *cap : 8;
    while (new_cap < need)
        new_cap *= 2;
    if (new_cap > SIZE_MAX / item_size)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory growing an array");
    void *p = util_realloc(*items, new_cap * item_size);
    if (!p)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory growing an array to %zu items",
                          new_cap);
    *items = p;
    *cap = new_cap;
    return EMBER_OK;
}

/* ---- strings ------------------------------------------------------------ */

char *util_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = util_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *util_strdup(const char *s)
{
    return s ? util_strndup(s, strlen(s)) : NULL;
}

bool util_streq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

char *util_format(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? util_malloc((size_t)n + 1) : NULL;
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

/* ---- shapes ------------------------------------------------------------- */

bool util_element_count(const int64_t *dims, size_t rank, size_t *out)
{
    size_t count = 1;
    for (size_t i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] != 0 && count > SIZE_MAX / (uint64_t)dims[i])
            return false;
        count *= (size_t)dims[i];
    }
    *out = count;
    return true;
}

void util_format_dims(char *buf, size_t size, const int64_t *dims, size_t rank)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ",%lld" : "%lld",
                                 (long long)dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}
