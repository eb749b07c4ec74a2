/*
 * Private header of the CUDA provider: the instance (one per session: a
 * stream, cuBLAS and cuDNN handles bound to it, a caching device memory
 * pool and a pinned staging buffer), the kernel object, the registration
 * rows of the kernel families, and helpers for attributes, shapes and CUDA
 * errors. Host C only; the device code lives in the .cu files behind
 * cuda_launch.h. Nothing here crosses the ABI.
 */
#ifndef EMBER_CUDA_PROVIDER_H
#define EMBER_CUDA_PROVIDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <ember/ember_provider.h>

#include "cuda_launch.h"

/* The newest ai.onnx opset the kernels were checked against (as the CPU
 * provider's table). */
#define CUDA_OPSET_MAX 28
/* Scratch buffers one kernel run may hold. */
#define CUDA_MAX_SCRATCH 4
/* Device ids the memory pools track. */
#define CUDA_MAX_DEVICES 16

/* Bit of a dtype in a set of dtypes. */
#define CUDA_DT(d) (1u << (d))
#define CUDA_DT_FLOAT (CUDA_DT(EMBER_DTYPE_FLOAT32) | CUDA_DT(EMBER_DTYPE_FLOAT16))
#define CUDA_DT_INDEX (CUDA_DT(EMBER_DTYPE_INT64) | CUDA_DT(EMBER_DTYPE_INT32))
#define CUDA_DT_ARITH (CUDA_DT_FLOAT | CUDA_DT_INDEX)
/* What the data-moving kernels (Reshape, Transpose, Concat, ...) carry. */
#define CUDA_DT_MOVE                                                                       \
    (CUDA_DT_ARITH | CUDA_DT(EMBER_DTYPE_BOOL) | CUDA_DT(EMBER_DTYPE_UINT8) |              \
     CUDA_DT(EMBER_DTYPE_INT8) | CUDA_DT(EMBER_DTYPE_FLOAT64))

/* The free lists of one device: blocks handed out by cudaMalloc, each
 * either in use or parked on the free stack of its size class. */
typedef struct cuda_block {
    void *ptr;
    size_t bytes; /* the size class, what cudaMalloc was given */
    bool in_use;
} cuda_block;

/*
 * A caching allocator for one device. Invariants: every block in `blocks`
 * came from cudaMalloc on this device and is freed by cudaFree only in
 * cuda_pool_trim or at destroy; `index` maps a block's pointer to its
 * position (open addressing, capacity a power of two, -1 = empty); a block
 * not in use sits on exactly one free stack. Guarded by `lock`.
 */
typedef struct cuda_pool {
    pthread_mutex_t lock;
    cuda_block *blocks;
    size_t n_blocks, cap_blocks;
    int32_t *index;
    size_t cap_index;
    size_t **free_stacks; /* per size class: block positions */
    size_t *n_free, *cap_free;
    size_t bytes_held; /* sum over blocks */
} cuda_pool;

/* The instance: one per session (and one per env for user values). The
 * handles are used under run_lock; the pools and the staging buffer have
 * their own locks, so an allocation from inside a kernel never waits on
 * run_lock. */
struct ember_provider {
    const ember_host_api *host;
    int device_id;
    bool use_tf32;
    bool conv_exhaustive; /* cudnnFind instead of the heuristics */
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    pthread_mutex_t run_lock;
    pthread_mutex_t pools_lock; /* guards pool_used (set up on first use) */
    cuda_pool pools[CUDA_MAX_DEVICES];
    bool pool_used[CUDA_MAX_DEVICES];
    /* Scratch of the running kernel (under run_lock), back to the pool
     * when kernel_run returns. The core offers no device scratch yet. */
    void *scratch[CUDA_MAX_SCRATCH];
    size_t n_scratch;
    pthread_mutex_t staging_lock;
    void *staging; /* pinned host memory */
    size_t staging_bytes;
};

typedef struct ember_kernel cuda_kernel;
typedef ember_status (*cuda_run_fn)(cuda_kernel *k, ember_kernel_context *ctx);

/*
 * A kernel: what kernel_create decoded from one node. `params` belongs to
 * the family; `release` (optional) frees what params owns (descriptors, a
 * cache) before the provider frees params. Runs of one instance are
 * serialized by run_lock, so a family may keep caches in params.
 */
struct ember_kernel {
    ember_provider *prov;
    const ember_host_api *host;
    cuda_run_fn run;
    void (*release)(cuda_kernel *k);
    char *name;     /* the node's name (copy), for messages */
    const char *op; /* static storage */
    int64_t opset;
    void *params;
};

/* Claim check on the node's static types; kernel creation (attributes,
 * constant inputs) is then tried as well before a node is claimed. */
typedef bool (*cuda_check_fn)(const ember_host_api *host, const ember_node *node);
typedef ember_status (*cuda_create_fn)(cuda_kernel *k, const ember_node *node);

typedef struct cuda_op_entry {
    const char *op;
    int64_t min_opset;
    int64_t max_opset;
    cuda_check_fn check;
    cuda_create_fn create;
} cuda_op_entry;

/* The families' tables, each ending with a NULL op. */
extern const cuda_op_entry cuda_ops_elementwise[]; /* kernels_elementwise.c */
extern const cuda_op_entry cuda_ops_shape[];       /* kernels_shape.c */
extern const cuda_op_entry cuda_ops_index[];       /* kernels_index.c */
extern const cuda_op_entry cuda_ops_matmul[];      /* kernels_matmul.c */
extern const cuda_op_entry cuda_ops_conv[];        /* kernels_conv.c */
extern const cuda_op_entry cuda_ops_norm[];        /* kernels_norm.c */
extern const cuda_op_entry cuda_ops_pool[];        /* kernels_pool.c */
extern const cuda_op_entry cuda_ops_reduce[];      /* kernels_reduce.c */

/* ---- memory and copies (cuda_memory.c, cuda_copy.c) ---------------------- */

ember_status cuda_pool_init(ember_provider *prov, int device_id);
void cuda_pool_destroy(ember_provider *prov, int device_id);
ember_status cuda_alloc(ember_provider *prov, int32_t device_id, size_t bytes, void **out);
void cuda_free(ember_provider *prov, int32_t device_id, void *ptr);
ember_status cuda_copy(ember_provider *prov, void *dst, ember_device dst_device,
                       const void *src, ember_device src_device, size_t bytes);
ember_status cuda_synchronize(ember_provider *prov);
void cuda_staging_release(ember_provider *prov);
/* Device memory on the instance's device for the running kernel, returned
 * to the pool when kernel_run returns (stream order makes the reuse safe). */
ember_status cuda_scratch(cuda_kernel *k, size_t bytes, void **out);
void cuda_scratch_release(ember_provider *prov);

/* ---- claim checks (cuda_util.c) ------------------------------------------- */

/* The static dtype of input `index` (UNDEFINED when unknown or absent). */
uint32_t cuda_input_dtype(const ember_host_api *host, const ember_node *node, size_t index);
/* Input `index` has a known dtype in `set`. */
bool cuda_input_in(const ember_host_api *host, const ember_node *node, size_t index,
                   uint32_t set);
/* Input 0 is float32/float16 and every other present input has its type. */
bool cuda_check_float(const ember_host_api *host, const ember_node *node);
/* Input 0 is a dtype the data-moving kernels carry; int64 only when it is
 * not a shape-like vector (rank <= 1), which stays with the CPU. */
bool cuda_check_move(const ember_host_api *host, const ember_node *node);

/* ---- attributes and constants (cuda_util.c) ------------------------------- */

ember_status cuda_params(cuda_kernel *k, size_t bytes);
ember_status cuda_attr_int(const cuda_kernel *k, const ember_node *node, const char *name,
                           int64_t dflt, int64_t *out);
ember_status cuda_attr_float(const cuda_kernel *k, const ember_node *node, const char *name,
                             float dflt, float *out);
ember_status cuda_attr_ints(const cuda_kernel *k, const ember_node *node, const char *name,
                            int64_t *out, size_t cap, size_t *n);
ember_status cuda_attr_string(const cuda_kernel *k, const ember_node *node, const char *name,
                              const char *dflt, char *out, size_t cap);
/* Reads constant input `index` (an int32/int64 vector or scalar) into
 * out[]; fails when the input is present but not a constant. *n is 0 when
 * the input is absent. */
ember_status cuda_const_ints(const cuda_kernel *k, const ember_node *node, size_t index,
                             int64_t *out, size_t cap, size_t *n);
/* Reads a constant float scalar input (float32 or float16); *present is
 * false when the input is absent. */
ember_status cuda_const_float(const cuda_kernel *k, const ember_node *node, size_t index,
                              float *out, bool *present);

/* ---- run-time helpers (cuda_util.c) --------------------------------------- */

ember_status cuda_input(const cuda_kernel *k, ember_kernel_context *ctx, size_t index,
                        const ember_tensor **out);
ember_status cuda_output(const cuda_kernel *k, ember_kernel_context *ctx, size_t index,
                         uint32_t dtype, const int64_t *dims, size_t rank, ember_tensor **out);
/* Fails with EMBER_E_DEVICE naming the node, `what` and the CUDA error,
 * unless err is cudaSuccess. */
ember_status cuda_check(const cuda_kernel *k, cudaError_t err, const char *what);
ember_status cuda_check_cublas(const cuda_kernel *k, cublasStatus_t st, const char *what);
ember_status cuda_check_cudnn(const cuda_kernel *k, cudnnStatus_t st, const char *what);
ember_status cuda_fail_dtype(const cuda_kernel *k, size_t index, uint32_t dtype);
ember_status cuda_fail_shape(const cuda_kernel *k, size_t index, const ember_tensor *t,
                             const char *why);
/* Copies `bytes` from src to dst on the instance's stream. */
ember_status cuda_copy_d2d(const cuda_kernel *k, void *dst, const void *src, size_t bytes);

/* ---- dtypes and shapes ---------------------------------------------------- */

size_t cuda_dtype_size(uint32_t dtype);
/* The launchers' element type for a dtype; CUDA_T_NONE when unsupported. */
int cuda_elem_type(uint32_t dtype);
size_t cuda_numel(const int64_t *dims, size_t rank);
bool cuda_normalize_axis(int64_t axis, size_t rank, size_t *out);
void cuda_format_dims(char *buf, size_t size, const int64_t *dims, size_t rank);
/* Element strides of a row-major shape. */
void cuda_row_strides(const int64_t *dims, size_t rank, int64_t *strides);
/* Broadcasts n_in shapes (n_in <= 3) into out_dims (numpy rules) and fills
 * ix with the output dims and each input's strides (0 where broadcast),
 * merging dims where possible. False when they do not broadcast or the
 * rank exceeds CUDA_MAX_RANK. */
bool cuda_broadcast(const ember_tensor *const *in, size_t n_in, int64_t *out_dims,
                    size_t *out_rank, cuda_index *ix);
/* Merges adjacent dims of ix (all operands contiguous along them) and
 * drops dims of one; sets ix->n. */
void cuda_index_coalesce(cuda_index *ix, int n_operands);
/* The walk that copies x (x_dims, broadcast to out_dims; x_rank <=
 * out_rank and the shapes compatible) into a contiguous tensor:
 * strides[0] are the output's, strides[1] x's. */
void cuda_index_expand(const int64_t *x_dims, size_t x_rank, const int64_t *out_dims,
                       size_t out_rank, cuda_index *ix);

#define CUDA_TRY(expr)                                                                     \
    do {                                                                                   \
        ember_status try_status_ = (expr);                                                 \
        if (try_status_ != EMBER_OK)                                                       \
            return try_status_;                                                            \
    } while (0)

#endif /* EMBER_CUDA_PROVIDER_H */
