/*
 * The intra-op thread pool: a fixed set of workers that share one
 * parallel loop at a time. The caller of exec_pool_parallel_for works too.
 * A second caller arriving while a loop is in flight (two session runs on
 * two threads) runs its loop inline rather than waiting.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "core/exec/exec.h"
#include "core/util/util.h"

#define CHUNKS_PER_THREAD 4

struct exec_pool {
    size_t n_threads;          /* including the caller */
    size_t n_workers;
    pthread_t *workers;
    pthread_mutex_t lock;
    pthread_cond_t work_ready;
    pthread_cond_t work_done;
    atomic_bool busy;
    /* The current loop; written under lock by the caller. */
    uint64_t generation;
    ember_parallel_fn fn;
    void *arg;
    size_t n, chunk, n_chunks;
    atomic_size_t next_chunk;
    size_t chunks_done;
    size_t active;             /* workers inside the current loop */
    bool stop;
};

/* Takes chunks of the current loop until none is left; returns how many
 * this thread finished. */
static size_t run_chunks(exec_pool *pool, ember_parallel_fn fn, void *arg, size_t n,
                         size_t chunk, size_t n_chunks)
{
    size_t done = 0;
    for (;;) {
        size_t c = atomic_fetch_add(&pool->next_chunk, 1);
        if (c >= n_chunks)
            return done;
        size_t begin = c * chunk, end = begin + chunk < n ? begin + chunk : n;
        fn(arg, begin, end);
        done++;
    }
}

static void *worker_main(void *p)
{
    exec_pool *pool = p;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->generation == seen && !pool->stop)
            pthread_cond_wait(&pool->work_ready, &pool->lock);
        if (pool->stop)
            break;
        seen = pool->generation;
        ember_parallel_fn fn = pool->fn;
        void *arg = pool->arg;
        size_t n = pool->n, chunk = pool->chunk, n_chunks = pool->n_chunks;
        pool->active++;
        pthread_mutex_unlock(&pool->lock);
        size_t done = run_chunks(pool, fn, arg, n, chunk, n_chunks);
        pthread_mutex_lock(&pool->lock);
        pool->chunks_done += done;
        pool->active--;
        pthread_cond_signal(&pool->work_done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static void stop_workers(exec_pool *pool, size_t n_started)
{
    pthread_mutex_lock(&pool->lock);
    pool->stop = true;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (size_t i = 0; i < n_started; i++)
        pthread_join(pool->workers[i], NULL);
}

ember_status exec_pool_create(size_t n_threads, exec_pool **out)
{
    if (n_threads == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = online > 0 ? (size_t)online : 1;
    }
    exec_pool *pool = util_calloc(1, sizeof *pool);
    if (!pool)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating the thread pool");
    pool->n_threads = n_threads;
    pool->workers = util_calloc(n_threads, sizeof *pool->workers);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->work_done, NULL);
    atomic_init(&pool->busy, false);
    atomic_init(&pool->next_chunk, 0);
    if (!pool->workers) {
        exec_pool_destroy(pool);
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory creating the thread pool");
    }
    for (; pool->n_workers + 1 < n_threads; pool->n_workers++) {
        if (pthread_create(&pool->workers[pool->n_workers], NULL, worker_main, pool) != 0) {
            exec_pool_destroy(pool);
            return ember_fail(EMBER_E_INTERNAL, "cannot start thread %zu of the pool",
                              pool->n_workers + 1);
        }
    }
    *out = pool;
    return EMBER_OK;
}

void exec_pool_destroy(exec_pool *pool)
{
    if (!pool)
        return;
    stop_workers(pool, pool->n_workers);
    pthread_cond_destroy(&pool->work_done);
    pthread_cond_destroy(&pool->work_ready);
    pthread_mutex_destroy(&pool->lock);
    util_free(pool->workers);
    util_free(pool);
}

size_t exec_pool_size(const exec_pool *pool)
{
    return pool ? pool->n_threads : 1;
}

static void post_loop(exec_pool *pool, size_t n, ember_parallel_fn fn, void *arg)
{
    size_t want = pool->n_threads * CHUNKS_PER_THREAD;
    size_t n_chunks = n < want ? n : want;
    pthread_mutex_lock(&pool->lock);
    /* A worker that woke late for the previous loop may still be looking
     * for chunks; let it leave before the chunk counter is reset. */
    while (pool->active > 0)
        pthread_cond_wait(&pool->work_done, &pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->chunk = (n + n_chunks - 1) / n_chunks;
    pool->n_chunks = (n + pool->chunk - 1) / pool->chunk;
    pool->chunks_done = 0;
    atomic_store(&pool->next_chunk, 0);
    pool->generation++;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
}

void exec_pool_parallel_for(exec_pool *pool, size_t n, ember_parallel_fn fn, void *arg)
{
    if (n == 0)
        return;
    if (!pool || pool->n_workers == 0 || n == 1 || atomic_exchange(&pool->busy, true)) {
        fn(arg, 0, n);
        return;
    }
    post_loop(pool, n, fn, arg);
    size_t done = run_chunks(pool, fn, arg, n, pool->chunk, pool->n_chunks);
    pthread_mutex_lock(&pool->lock);
    pool->chunks_done += done;
    while (pool->chunks_done < pool->n_chunks || pool->active > 0)
        pthread_cond_wait(&pool->work_done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    atomic_store(&pool->busy, false);
}
