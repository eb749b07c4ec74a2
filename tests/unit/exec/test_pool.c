/*
 * The intra-op thread pool: every index visited exactly once, whatever
 * the thread count, and concurrent callers do not interfere.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>

#include <cmocka.h>

#include "core/exec/exec.h"

#define N_ITEMS 10007

typedef struct visits {
    atomic_int count[N_ITEMS];
} visits;

static void visit(void *arg, size_t begin, size_t end)
{
    visits *v = arg;
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add(&v->count[i], 1);
}

static void expect_each_once(visits *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(atomic_load(&v->count[i]), 1);
}

static void test_pool_visits_every_index_once(void **state)
{
    (void)state;
    for (size_t threads = 1; threads <= 4; threads++) {
        exec_pool *pool;
        assert_int_equal(exec_pool_create(threads, &pool), EMBER_OK);
        assert_int_equal(exec_pool_size(pool), threads);
        for (size_t n = 0; n < 40; n += 7) {
            static visits v;
            for (size_t i = 0; i < N_ITEMS; i++)
                atomic_init(&v.count[i], 0);
            exec_pool_parallel_for(pool, n ? n : N_ITEMS, visit, &v);
            expect_each_once(&v, n ? n : N_ITEMS);
        }
        exec_pool_destroy(pool);
    }
}

typedef struct caller {
    exec_pool *pool;
    visits v;
} caller;

static void *call_many_times(void *arg)
{
    caller *c = arg;
    for (int round = 0; round < 50; round++)
        exec_pool_parallel_for(c->pool, 200, visit, &c->v);
    return NULL;
}

static void test_pool_concurrent_callers_each_complete(void **state)
{
    (void)state;
    exec_pool *pool;
    assert_int_equal(exec_pool_create(3, &pool), EMBER_OK);
    static caller callers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        callers[t].pool = pool;
        for (size_t i = 0; i < N_ITEMS; i++)
            atomic_init(&callers[t].v.count[i], 0);
        assert_int_equal(pthread_create(&threads[t], NULL, call_many_times, &callers[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        for (size_t i = 0; i < 200; i++)
            assert_int_equal(atomic_load(&callers[t].v.count[i]), 50);
    }
    exec_pool_destroy(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_visits_every_index_once),
        cmocka_unit_test(test_pool_concurrent_callers_each_complete),
    };
    return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
