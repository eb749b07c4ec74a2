/*
 * The failing allocator of failing_alloc.h: plain malloc/realloc/free
 * behind a countdown.
 */
#include "failing_alloc.h"

#include <stdlib.h>

#include <ember/ember.h>

static long allocations_left = -1; /* -1: never fail */

static void *failing_malloc(void *user, size_t size)
{
    (void)user;
    if (allocations_left == 0)
        return NULL;
    if (allocations_left > 0)
        allocations_left--;
    return malloc(size);
}

static void *failing_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (allocations_left == 0)
        return NULL;
    if (allocations_left > 0)
        allocations_left--;
    return realloc(ptr, size);
}

static void plain_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

void failing_alloc_begin(long budget)
{
    static const ember_allocator failing = {failing_malloc, failing_realloc, plain_free, NULL};
    ember_set_allocator(&failing);
    allocations_left = budget;
}

void failing_alloc_end(void)
{
    ember_set_allocator(NULL);
    allocations_left = -1;
}
