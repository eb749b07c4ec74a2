/*
 * Row-wise device kernels of the CUDA provider: reductions over contiguous
 * rows, Softmax, LayerNormalization, inference BatchNormalization and the
 * 2-D pools. One block walks one row; sums are kept in float.
 */
#include <math.h>

#include "cuda_common.cuh"

namespace {

/* ---- reductions ------------------------------------------------------------ */

template <typename T, int OP>
__global__ void reduce_rows_kernel(T *y, const T *x, int64_t rows, int64_t cols)
{
    const bool is_max = OP == CUDA_RED_MAX || OP == CUDA_RED_MIN;
    const float sign = OP == CUDA_RED_MIN ? -1.0f : 1.0f;
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *row = x + r * cols;
        float acc = is_max ? -INFINITY : 0.0f;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
            float v = sign * to_f(row[c]);
            acc = is_max ? fmaxf(acc, v) : acc + v;
        }
        acc = is_max ? block_reduce<true>(acc) : block_reduce<false>(acc);
        if (threadIdx.x == 0)
            y[r] = from_f<T>(OP == CUDA_RED_MEAN ? acc / (float)cols : sign * acc);
    }
}

/* Integers keep every bit: one thread per row. */
template <typename T>
__global__ void reduce_rows_int_kernel(int op, T *y, const T *x, int64_t rows, int64_t cols)
{
    for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < rows;
         r += (int64_t)gridDim.x * blockDim.x) {
        const T *row = x + r * cols;
        T acc = cols > 0 ? row[0] : (T)0;
        for (int64_t c = 1; c < cols; c++) {
            T v = row[c];
            acc = op == CUDA_RED_MAX ? (v > acc ? v : acc)
                  : op == CUDA_RED_MIN ? (v < acc ? v : acc)
                                       : acc + v;
        }
        y[r] = op == CUDA_RED_MEAN && cols > 0 ? acc / (T)cols : acc;
    }
}

template <typename T>
cudaError_t reduce_rows(int op, void *y, const void *x, int64_t rows, int64_t cols,
                        cudaStream_t s)
{
    unsigned g = (unsigned)(rows < kMaxBlocks ? rows : kMaxBlocks), t = row_threads(cols);
    T *py = (T *)y;
    const T *px = (const T *)x;
    switch (op) {
    case CUDA_RED_SUM: reduce_rows_kernel<T, CUDA_RED_SUM><<<g, t, 0, s>>>(py, px, rows, cols); break;
    case CUDA_RED_MEAN: reduce_rows_kernel<T, CUDA_RED_MEAN><<<g, t, 0, s>>>(py, px, rows, cols); break;
    case CUDA_RED_MAX: reduce_rows_kernel<T, CUDA_RED_MAX><<<g, t, 0, s>>>(py, px, rows, cols); break;
    default: reduce_rows_kernel<T, CUDA_RED_MIN><<<g, t, 0, s>>>(py, px, rows, cols); break;
    }
    return cudaGetLastError();
}

template <typename T>
cudaError_t reduce_rows_int(int op, void *y, const void *x, int64_t rows, int64_t cols,
                            cudaStream_t s)
{
    reduce_rows_int_kernel<T><<<blocks_for(rows), kBlock, 0, s>>>(op, (T *)y, (const T *)x,
                                                                   rows, cols);
    return cudaGetLastError();
}

/* ---- softmax ----------------------------------------------------------------- */

template <typename T>
__global__ void softmax_rows_kernel(T *y, const T *x, int64_t rows, int64_t cols, bool is_log)
{
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *in = x + r * cols;
        T *out = y + r * cols;
        float m = -INFINITY;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
            m = fmaxf(m, to_f(in[c]));
        m = block_reduce<true>(m);
        float sum = 0.0f;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
            sum += expf(to_f(in[c]) - m);
        sum = block_reduce<false>(sum);
        float log_sum = logf(sum), inv = 1.0f / sum;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
            float v = to_f(in[c]) - m;
            out[c] = from_f<T>(is_log ? v - log_sum : expf(v) * inv);
        }
    }
}

/* Softmax along a middle axis: one thread per (outer, inner) pair. */
template <typename T>
__global__ void softmax_strided_kernel(T *y, const T *x, int64_t outer, int64_t axis,
                                       int64_t inner, bool is_log)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < outer * inner;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t base = (i / inner) * axis * inner + i % inner;
        float m = -INFINITY, sum = 0.0f;
        for (int64_t a = 0; a < axis; a++)
            m = fmaxf(m, to_f(x[base + a * inner]));
        for (int64_t a = 0; a < axis; a++)
            sum += expf(to_f(x[base + a * inner]) - m);
        float log_sum = logf(sum);
        for (int64_t a = 0; a < axis; a++) {
            float v = to_f(x[base + a * inner]) - m;
            y[base + a * inner] = from_f<T>(is_log ? v - log_sum : expf(v) / sum);
        }
    }
}

template <typename T>
cudaError_t softmax(void *y, const void *x, int64_t outer, int64_t axis, int64_t inner,
                    bool is_log, cudaStream_t s)
{
    if (inner == 1) {
        unsigned g = (unsigned)(outer < kMaxBlocks ? outer : kMaxBlocks);
        softmax_rows_kernel<T><<<g, row_threads(axis), 0, s>>>((T *)y, (const T *)x, outer,
                                                                 axis, is_log);
    } else {
        softmax_strided_kernel<T><<<blocks_for(outer * inner), kBlock, 0, s>>>(
            (T *)y, (const T *)x, outer, axis, inner, is_log);
    }
    return cudaGetLastError();
}

/* ---- layer normalization ----------------------------------------------------------- */

template <typename T>
__global__ void layernorm_kernel(T *y, const T *x, const T *scale, const T *bias, int64_t rows,
                                 int64_t cols, float epsilon)
{
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T *in = x + r * cols;
        T *out = y + r * cols;
        float sum = 0.0f;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
            sum += to_f(in[c]);
        float mean = block_reduce<false>(sum) / (float)cols;
        float sq = 0.0f;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
            float d = to_f(in[c]) - mean;
            sq += d * d;
        }
        float inv_std = rsqrtf(block_reduce<false>(sq) / (float)cols + epsilon);
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
            float v = (to_f(in[c]) - mean) * inv_std * to_f(scale[c]);
            out[c] = from_f<T>(bias ? v + to_f(bias[c]) : v);
        }
    }
}

template <typename T>
cudaError_t layernorm(void *y, const void *x, const void *scale, const void *bias, int64_t rows,
                      int64_t cols, float epsilon, cudaStream_t s)
{
    unsigned g = (unsigned)(rows < kMaxBlocks ? rows : kMaxBlocks);
    layernorm_kernel<T><<<g, row_threads(cols), 0, s>>>((T *)y, (const T *)x,
                                                         (const T *)scale, (const T *)bias,
                                                         rows, cols, epsilon);
    return cudaGetLastError();
}

/* ---- batch normalization -------------------------------------------------------------- */

template <typename T>
__global__ void batchnorm_kernel(T *y, const T *x, const T *scale, const T *bias,
                                 const T *mean, const T *var, int64_t n, int64_t c,
                                 int64_t inner, float epsilon)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n * c * inner;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t ch = (i / inner) % c;
        float k = to_f(scale[ch]) * rsqrtf(to_f(var[ch]) + epsilon);
        y[i] = from_f<T>((to_f(x[i]) - to_f(mean[ch])) * k + to_f(bias[ch]));
    }
}

template <typename T>
cudaError_t batchnorm(void *y, const void *x, const void *scale, const void *bias,
                      const void *mean, const void *var, int64_t n, int64_t c, int64_t inner,
                      float epsilon, cudaStream_t s)
{
    batchnorm_kernel<T><<<blocks_for(n * c * inner), kBlock, 0, s>>>(
        (T *)y, (const T *)x, (const T *)scale, (const T *)bias, (const T *)mean,
        (const T *)var, n, c, inner, epsilon);
    return cudaGetLastError();
}

/* ---- pools ------------------------------------------------------------------------------- */

template <typename T>
__global__ void pool_kernel(cuda_pool_desc d, int mode, T *y, const T *x)
{
    int64_t n = d.nc * d.oh * d.ow;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t ow = i % d.ow, oh = (i / d.ow) % d.oh, p = i / (d.ow * d.oh);
        const T *plane = x + p * d.ih * d.iw;
        float acc = mode == CUDA_POOL_MAX ? -INFINITY : 0.0f;
        int64_t count = 0, padded = 0;
        for (int64_t a = 0; a < d.kh; a++) {
            int64_t h = oh * d.sh - d.ph + a * d.dh;
            for (int64_t b = 0; b < d.kw; b++) {
                int64_t w = ow * d.sw - d.pw + b * d.dw;
                bool inside = h >= 0 && h < d.ih && w >= 0 && w < d.iw;
                padded += h < d.ih + d.ph_end && w < d.iw + d.pw_end;
                if (!inside)
                    continue;
                float v = to_f(plane[h * d.iw + w]);
                acc = mode == CUDA_POOL_MAX ? fmaxf(acc, v) : acc + v;
                count++;
            }
        }
        if (mode == CUDA_POOL_AVG_EXCLUDE_PAD)
            acc = count ? acc / (float)count : 0.0f;
        else if (mode == CUDA_POOL_AVG_INCLUDE_PAD)
            acc = padded ? acc / (float)padded : 0.0f;
        y[i] = from_f<T>(acc);
    }
}

} // namespace

extern "C" cudaError_t cuda_launch_reduce_rows(int op, int type, void *y, const void *x,
                                               int64_t rows, int64_t cols, cudaStream_t s)
{
    if (rows == 0)
        return cudaSuccess;
    switch (type) {
    case CUDA_T_F32: return reduce_rows<float>(op, y, x, rows, cols, s);
    case CUDA_T_F16: return reduce_rows<__half>(op, y, x, rows, cols, s);
    case CUDA_T_I64: return reduce_rows_int<int64_t>(op, y, x, rows, cols, s);
    case CUDA_T_I32: return reduce_rows_int<int32_t>(op, y, x, rows, cols, s);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cuda_launch_softmax(int type, bool is_log, void *y, const void *x,
                                           int64_t outer, int64_t axis, int64_t inner,
                                           cudaStream_t s)
{
    if (outer * axis * inner == 0)
        return cudaSuccess;
    switch (type) {
    case CUDA_T_F32: return softmax<float>(y, x, outer, axis, inner, is_log, s);
    case CUDA_T_F16: return softmax<__half>(y, x, outer, axis, inner, is_log, s);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cuda_launch_layernorm(int type, void *y, const void *x,
                                             const void *scale, const void *bias, int64_t rows,
                                             int64_t cols, float epsilon, cudaStream_t s)
{
    if (rows * cols == 0)
        return cudaSuccess;
    switch (type) {
    case CUDA_T_F32: return layernorm<float>(y, x, scale, bias, rows, cols, epsilon, s);
    case CUDA_T_F16: return layernorm<__half>(y, x, scale, bias, rows, cols, epsilon, s);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cuda_launch_batchnorm(int type, void *y, const void *x,
                                             const void *scale, const void *bias,
                                             const void *mean, const void *var, int64_t n,
                                             int64_t c, int64_t inner, float epsilon,
                                             cudaStream_t s)
{
    if (n * c * inner == 0)
        return cudaSuccess;
    switch (type) {
    case CUDA_T_F32: return batchnorm<float>(y, x, scale, bias, mean, var, n, c, inner, epsilon, s);
    case CUDA_T_F16: return batchnorm<__half>(y, x, scale, bias, mean, var, n, c, inner, epsilon, s);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cuda_launch_pool(int type, int mode, const cuda_pool_desc *d, void *y,
                                        const void *x, cudaStream_t s)
{
    int64_t n = d->nc * d->oh * d->ow;
    if (n == 0)
        return cudaSuccess;
    switch (type) {
    case CUDA_T_F32: pool_kernel<float><<<blocks_for(n), kBlock, 0, s>>>(*d, mode, (float *)y, (const float *)x); break;
    case CUDA_T_F16: pool_kernel<__half><<<blocks_for(n), kBlock, 0, s>>>(*d, mode, (__half *)y, (const __half *)x); break;
    default: return cudaErrorInvalidValue;
    }
    return cudaGetLastError();
}
