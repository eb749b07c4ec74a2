/*
 * Execution: tensors and their memory, the thread pool, and the program
 * that runs a partition_plan. exec_prepare creates one kernel per node
 * through its provider, uploads constants to the devices that read them,
 * and computes when each slot's buffer can be released. exec_run then
 * executes the steps in order with state private to the call, so one
 * program may run on several threads at once.
 */
#ifndef EMBER_CORE_EXEC_H
#define EMBER_CORE_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/graph/graph.h"
#include "core/partition/partition.h"
#include "core/provider/provider.h"

/* ---- tensors ---------------------------------------------------------------- */

/* A value: a tensor, a sequence of tensors, or an empty optional, plus the
 * facts needed to release it. A zeroed exec_tensor is an empty slot (kind
 * EMBER_VALUE_ABSENT).
 *  - Tensor: `view.dims` points at `dims`. When `is_owned`, the memory at
 *    `base` belongs to it: host memory (owner NULL) from util_malloc, or
 *    device memory from `owner` (retained); otherwise `view.data` is
 *    borrowed. Owned string tensors own each element's bytes.
 *  - Sequence (host only): `items[0..n_items)`, owned with their array when
 *    `is_owned`; `view.dtype` is the element type, even when empty.
 *  - None: nothing else is set. */
typedef struct exec_tensor {
    ember_tensor view;
    int64_t *dims;
    void *base;
    provider_instance *owner;
    bool is_owned;
    uint32_t kind;                /* an ember_value_kind value */
    size_t n_items;
    struct exec_tensor *items;
} exec_tensor;

/* Allocates an owned tensor on `device`; `owner` must be the provider of
 * that device (NULL for the host). Host memory is 64-byte aligned and, for
 * strings, zeroed. */
ember_status exec_tensor_alloc(exec_tensor *t, provider_instance *owner, ember_device device,
                               uint32_t dtype, const int64_t *dims, size_t rank);
/* Makes `t` a borrowed view of `src` (dims copied). */
ember_status exec_tensor_borrow(exec_tensor *t, const ember_tensor *src);
/* Makes `t` a borrowed view of any kind of value. */
ember_status exec_tensor_alias(exec_tensor *t, const exec_tensor *src);
/* Makes `t` an owned host copy of any kind of value (src on the host). */
ember_status exec_tensor_dup(exec_tensor *t, const exec_tensor *src);
/* Makes `t` an owned host sequence of n_items empty items of `dtype`. */
ember_status exec_tensor_make_sequence(exec_tensor *t, uint32_t dtype, size_t n_items);
/* Makes `t` an empty optional. */
void exec_tensor_make_none(exec_tensor *t);
static inline bool exec_tensor_is_present(const exec_tensor *t)
{
    return t->kind != EMBER_VALUE_ABSENT;
}
/* Releases owned memory and dims; leaves *t zeroed. */
void exec_tensor_release(exec_tensor *t);
size_t exec_tensor_bytes(const ember_tensor *t);
/* Copies the elements of src into dst (same dtype and element count),
 * across devices through `dst_provider` or `src_provider` (the one whose
 * device is not the host; NULL allowed for host sides). */
ember_status exec_tensor_copy(const ember_tensor *dst, provider_instance *dst_provider,
                              const ember_tensor *src, provider_instance *src_provider);

/* ---- thread pool ------------------------------------------------------------ */

typedef struct exec_pool exec_pool;

/* n_threads = 0 means one per online CPU. */
ember_status exec_pool_create(size_t n_threads, exec_pool **out);
void exec_pool_destroy(exec_pool *pool);
size_t exec_pool_size(const exec_pool *pool);
/* Runs fn over [0, n) in chunks; the caller takes part. When the pool is
 * already busy with another call (concurrent runs), runs inline. */
void exec_pool_parallel_for(exec_pool *pool, size_t n, ember_parallel_fn fn, void *arg);

/* ---- the program ------------------------------------------------------------ */

typedef struct exec_program exec_program;

/* Creates the kernels of every step and the release schedule. Borrows g,
 * plan and providers, which must outlive the program. */
ember_status exec_prepare(const graph *g, const partition_plan *plan,
                          const partition_provider *providers, size_t n_providers,
                          exec_pool *pool, exec_program **out);

void exec_destroy(exec_program *prog);

/* A graph input for one run: a borrowed value (a tensor on any device). */
typedef struct exec_feed {
    int value;            /* graph value index of a graph input */
    const exec_tensor *tensor;
} exec_feed;

/* A graph output for one run. Before the run: value, device wanted, and
 * optionally `into` (a preallocated tensor to write). After the run,
 * without `into`: `result` holds an owned tensor on `device`. */
typedef struct exec_fetch {
    int value;
    ember_device device;
    const ember_tensor *into;
    exec_tensor result;
} exec_fetch;

/* Runs the program once. On failure every result is released. */
ember_status exec_run(const exec_program *prog, const exec_feed *feeds, size_t n_feeds,
                      exec_fetch *fetches, size_t n_fetches);

/* Profiling: per-step call counts and times, added by every run once
 * enabled (before the first run). exec_profile_read fills up to `cap`
 * entries and returns the number of steps; 0 when profiling is off. */
ember_status exec_profile_enable(exec_program *prog);
size_t exec_profile_read(const exec_program *prog, ember_profile_entry *entries, size_t cap);

/* The provider instance of the session that owns `device`, or NULL. */
provider_instance *exec_provider_for_device(const exec_program *prog, ember_device device);

/* ---- kernel context: the host table's ctx_* slots ----------------------------- */

size_t exec_ctx_input_count(const ember_kernel_context *ctx);
const ember_tensor *exec_ctx_input(const ember_kernel_context *ctx, size_t index);
size_t exec_ctx_output_count(const ember_kernel_context *ctx);
ember_status exec_ctx_output(ember_kernel_context *ctx, size_t index, uint32_t dtype,
                             const int64_t *dims, size_t rank, ember_tensor **out);
ember_status exec_ctx_scratch(ember_kernel_context *ctx, size_t bytes, void **out);
void exec_ctx_parallel_for(ember_kernel_context *ctx, size_t n, ember_parallel_fn fn,
                           void *arg);
size_t exec_ctx_thread_count(const ember_kernel_context *ctx);
uint32_t exec_ctx_input_kind(const ember_kernel_context *ctx, size_t index);
size_t exec_ctx_sequence_length(const ember_kernel_context *ctx, size_t index);
const ember_tensor *exec_ctx_sequence_item(const ember_kernel_context *ctx, size_t index,
                                           size_t item);
uint32_t exec_ctx_sequence_dtype(const ember_kernel_context *ctx, size_t index);
ember_status exec_ctx_output_sequence(ember_kernel_context *ctx, size_t index, uint32_t dtype,
                                      size_t n_items);
ember_status exec_ctx_output_item(ember_kernel_context *ctx, size_t index, size_t item,
                                  const int64_t *dims, size_t rank, ember_tensor **out);
ember_status exec_ctx_output_none(ember_kernel_context *ctx, size_t index);
size_t exec_group_node_count(const ember_group *group);
const ember_node *exec_group_node(const ember_group *group, size_t index);
size_t exec_group_input_count(const ember_group *group);
int64_t exec_group_input_value(const ember_group *group, size_t index);
size_t exec_group_output_count(const ember_group *group);
int64_t exec_group_output_value(const ember_group *group, size_t index);
ember_status exec_tensor_set_string(ember_tensor *tensor, size_t index, const char *data,
                                    size_t size);

#endif /* EMBER_CORE_EXEC_H */
