/*
 * Shared utilities of the core: the failure message, the host allocator,
 * strings, dtype facts. Every core module may include this header; it
 * depends on nothing but the public API.
 */
#ifndef EMBER_CORE_UTIL_H
#define EMBER_CORE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/ember.h"

/* ---- errors ---------------------------------------------------------- */

/* Records a printf-style message as this thread's last error and returns
 * status, so one line both reports and leaves. */
ember_status ember_fail(ember_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
ember_status ember_failv(ember_status status, const char *fmt, va_list ap);
/* Prepends "prefix: " to the current message and returns status; for a
 * caller that adds context (the file name) to a callee's failure. */
ember_status ember_fail_prefix(ember_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Internal invariant: stops debug builds, reports EMBER_E_INTERNAL in
 * release builds. Never used to validate input. */
#ifdef NDEBUG
#define EMBER_ASSERT(cond)                                                               \
    do {                                                                                 \
        if (!(cond))                                                                     \
            return ember_fail(EMBER_E_INTERNAL, "internal error: %s (%s:%d)", #cond,      \
                              __FILE__, __LINE__);                                       \
    } while (0)
#else
#include <assert.h>
#define EMBER_ASSERT(cond) assert(cond)
#endif

/* Propagates a failing status. */
#define EMBER_TRY(expr)                                                                  \
    do {                                                                                 \
        ember_status try_status_ = (expr);                                               \
        if (try_status_ != EMBER_OK)                                                     \
            return try_status_;                                                          \
    } while (0)

/* ---- memory: every core allocation goes through these ---------------- */

void *util_malloc(size_t size);
void *util_calloc(size_t count, size_t size); /* overflow-checked */
void *util_realloc(void *ptr, size_t size);
void util_free(void *ptr);
/* Grows *items (of item_size bytes) so that it holds at least `need`;
 * *cap tracks the capacity. EMBER_E_OUT_OF_MEMORY on failure. */
ember_status util_grow(void **items, size_t *cap, size_t need, size_t item_size);

/* ---- strings ---------------------------------------------------------- */

char *util_strdup(const char *s);                /* NULL on OOM or NULL s */
char *util_strndup(const char *s, size_t n);     /* always NUL-terminates */
bool util_streq_nocase(const char *a, const char *b);
/* snprintf into a new string; NULL on OOM. */
char *util_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- shapes ----------------------------------------------------------- */

/* Product of dims; false when a dim is negative or the product overflows
 * SIZE_MAX. */
bool util_element_count(const int64_t *dims, size_t rank, size_t *out);
/* Writes "[1,3,224,224]" into buf. */
void util_format_dims(char *buf, size_t size, const int64_t *dims, size_t rank);

#endif /* EMBER_CORE_UTIL_H */
