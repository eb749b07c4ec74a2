/*
 * The C interface of the CUDA provider's own device kernels (the .cu
 * files). Each launcher enqueues work on `stream`, never synchronizes, and
 * returns the launch's cudaError_t (cudaSuccess, or what cudaGetLastError
 * reported); the caller turns a failure into a message naming the node.
 * Sizes are element counts; every pointer is device memory.
 */
#ifndef EMBER_CUDA_LAUNCH_H
#define EMBER_CUDA_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The highest rank of the broadcasting and strided-copy kernels (after
 * adjacent dims are merged). */
#define CUDA_MAX_RANK 8

/* Element types of the kernels. */
enum cuda_elem_type {
    CUDA_T_NONE = 0,
    CUDA_T_F32 = 1,
    CUDA_T_F16 = 2,
    CUDA_T_F64 = 3,
    CUDA_T_I64 = 4,
    CUDA_T_I32 = 5,
    CUDA_T_I8 = 6,
    CUDA_T_U8 = 7,
    CUDA_T_BOOL = 8,
};

/* An n-dimensional walk: the output's dims (row-major over them gives the
 * output element's linear index) and, per operand, its element stride
 * along each dim (0 where the operand is broadcast). */
typedef struct cuda_index {
    int rank;
    int64_t n; /* product of dims */
    int64_t dims[CUDA_MAX_RANK];
    int64_t strides[3][CUDA_MAX_RANK];
} cuda_index;

enum cuda_binary_op {
    CUDA_BIN_ADD,
    CUDA_BIN_SUB,
    CUDA_BIN_MUL,
    CUDA_BIN_DIV,
    CUDA_BIN_POW,
    CUDA_BIN_MAX,
    CUDA_BIN_MIN,
};

enum cuda_unary_op {
    CUDA_UN_RELU,
    CUDA_UN_SIGMOID,
    CUDA_UN_TANH,
    CUDA_UN_ERF,
    CUDA_UN_SQRT,
    CUDA_UN_GELU,      /* x * Phi(x), the exact form */
    CUDA_UN_GELU_TANH, /* the tanh approximation */
    CUDA_UN_LEAKY_RELU, /* alpha */
    CUDA_UN_CLIP,       /* [alpha, beta] */
    CUDA_UN_NEG,
    CUDA_UN_ABS,
    CUDA_UN_EXP,
    CUDA_UN_LOG,
    CUDA_UN_RECIPROCAL,
};

enum cuda_reduce_op {
    CUDA_RED_SUM,
    CUDA_RED_MEAN,
    CUDA_RED_MAX,
    CUDA_RED_MIN,
};

enum cuda_pool_mode {
    CUDA_POOL_MAX,
    CUDA_POOL_AVG_EXCLUDE_PAD,
    CUDA_POOL_AVG_INCLUDE_PAD,
};

/* A 2-D pooling window over nc planes of ih x iw (1-D pools use ih = 1). */
typedef struct cuda_pool_desc {
    int64_t nc, ih, iw, oh, ow;
    int64_t kh, kw, sh, sw, dh, dw;
    int64_t ph, pw, ph_end, pw_end; /* padding at the start and at the end */
} cuda_pool_desc;

/* y[i] = a[.] op b[.] over ix (strides[0] of a, strides[1] of b); y is
 * contiguous. Types: F32, F16, I64, I32 (POW: F32, F16). */
cudaError_t cuda_launch_binary(int op, int type, const cuda_index *ix, void *y, const void *a,
                               const void *b, cudaStream_t stream);
/* y[i] = op(x[i]) for n contiguous elements; alpha/beta as the op says.
 * Types: F32, F16 (RELU, NEG, ABS also I64, I32). */
cudaError_t cuda_launch_unary(int op, int type, int64_t n, void *y, const void *x, float alpha,
                              float beta, cudaStream_t stream);
/* y[i] = cond[.] ? x[.] : other[.] over ix (strides 0, 1, 2), elements of
 * elem_bytes (1, 2, 4 or 8). */
cudaError_t cuda_launch_where(size_t elem_bytes, const cuda_index *ix, void *y,
                              const uint8_t *cond, const void *x, const void *other,
                              cudaStream_t stream);
/* Converts n elements from type `from` to type `to`. */
cudaError_t cuda_launch_cast(int from, int to, int64_t n, void *y, const void *x,
                             cudaStream_t stream);
/* dst[.] = src[.] over ix (strides[0] of dst, strides[1] of src). */
cudaError_t cuda_launch_copy(size_t elem_bytes, const cuda_index *ix, void *dst,
                             const void *src, cudaStream_t stream);
/* y[o, j, i] = x[o, idx[j], i]; negative indices count from the end and
 * indices out of range are clamped. idx_type is I64 or I32. */
cudaError_t cuda_launch_gather(size_t elem_bytes, int idx_type, void *y, const void *x,
                               const void *idx, int64_t outer, int64_t axis_len, int64_t n_idx,
                               int64_t inner, cudaStream_t stream);
/* y[r] = reduce(x[r, 0..cols)) for each of rows contiguous rows. Types:
 * F32, F16 (accumulated in float), I64, I32. */
cudaError_t cuda_launch_reduce_rows(int op, int type, void *y, const void *x, int64_t rows,
                                    int64_t cols, cudaStream_t stream);
/* Softmax (or LogSoftmax) along the middle axis of [outer, axis, inner]. */
cudaError_t cuda_launch_softmax(int type, bool is_log, void *y, const void *x, int64_t outer,
                                int64_t axis, int64_t inner, cudaStream_t stream);
/* Normalizes each of rows rows of cols elements; scale and bias (may be
 * NULL) have cols elements of the same type. */
cudaError_t cuda_launch_layernorm(int type, void *y, const void *x, const void *scale,
                                  const void *bias, int64_t rows, int64_t cols, float epsilon,
                                  cudaStream_t stream);
/* Inference batch normalization of [n, c, inner]; the four parameter
 * vectors have c elements of x's type. */
cudaError_t cuda_launch_batchnorm(int type, void *y, const void *x, const void *scale,
                                  const void *bias, const void *mean, const void *var,
                                  int64_t n, int64_t c, int64_t inner, float epsilon,
                                  cudaStream_t stream);
/* Max or average pooling; types F32, F16. */
cudaError_t cuda_launch_pool(int type, int mode, const cuda_pool_desc *desc, void *y,
                             const void *x, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_CUDA_LAUNCH_H */
