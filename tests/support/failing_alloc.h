/*
 * An allocator for the core (ember_set_allocator) that fails on demand:
 * the tests that check every allocation failure is a clean status.
 */
#ifndef EMBER_TEST_FAILING_ALLOC_H
#define EMBER_TEST_FAILING_ALLOC_H

/* Installs the allocator: the next `budget` allocations succeed, every
 * later one fails (budget -1: none fails). Not thread-safe. */
void failing_alloc_begin(long budget);
/* Puts the default allocator back. */
void failing_alloc_end(void);

#endif
