/*
 * Element-wise device kernels of the CUDA provider: numpy-broadcasting
 * binary ops, unary activations, Where and Cast. Half-precision elements
 * are computed in float. Launchers are declared in cuda_launch.h.
 */
#include <type_traits>

#include "cuda_common.cuh"

namespace {

template <typename T> struct is_int {
    static constexpr bool value = false;
};
template <> struct is_int<int64_t> {
    static constexpr bool value = true;
};
template <> struct is_int<int32_t> {
    static constexpr bool value = true;
};

/* ---- binary ---------------------------------------------------------------- */

template <typename T> __device__ __forceinline__ T bin_int(int op, T a, T b)
{
    switch (op) {
    case CUDA_BIN_ADD: return a + b;
    case CUDA_BIN_SUB: return a - b;
    case CUDA_BIN_MUL: return a * b;
    case CUDA_BIN_DIV: return b == 0 ? (T)0 : a / b; /* ONNX leaves it undefined */
    case CUDA_BIN_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

__device__ __forceinline__ float bin_float(int op, float a, float b)
{
    switch (op) {
    case CUDA_BIN_ADD: return a + b;
    case CUDA_BIN_SUB: return a - b;
    case CUDA_BIN_MUL: return a * b;
    case CUDA_BIN_DIV: return a / b;
    case CUDA_BIN_POW: return b == 2.0f ? a * a : powf(a, b);
    case CUDA_BIN_MAX: return fmaxf(a, b);
    default: return fminf(a, b);
    }
}

template <typename T> __device__ __forceinline__ T apply_bin(int op, T a, T b)
{
    if constexpr (is_int<T>::value)
        return bin_int<T>(op, a, b);
    else
        return from_f<T>(bin_float(op, to_f(a), to_f(b)));
}

/* MODE 0: both contiguous and of the output's shape; 1: b is one scalar
 * and a contiguous; 2: the general walk. */
template <typename T, int MODE>
__global__ void binary_kernel(int op, cuda_index ix, T *y, const T *a, const T *b)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < ix.n;
         i += (int64_t)gridDim.x * blockDim.x) {
        if (MODE == 0) {
            y[i] = apply_bin<T>(op, a[i], b[i]);
        } else if (MODE == 1) {
            y[i] = apply_bin<T>(op, a[i], b[0]);
        } else {
            int64_t off[2];
            walk<2>(ix, i, off);
            y[i] = apply_bin<T>(op, a[off[0]], b[off[1]]);
        }
    }
}

int binary_mode(const cuda_index &ix)
{
    if (ix.rank == 1 && ix.strides[0][0] == 1 && ix.strides[1][0] == 1)
        return 0;
    if (ix.rank == 1 && ix.strides[0][0] == 1 && ix.strides[1][0] == 0)
        return 1;
    return 2;
}

template <typename T>
cudaError_t binary(int op, const cuda_index &ix, void *y, const void *a, const void *b,
                   cudaStream_t s)
{
    unsigned g = blocks_for(ix.n);
    T *py = (T *)y;
    const T *pa = (const T *)a, *pb = (const T *)b;
    switch (binary_mode(ix)) {
    case 0: binary_kernel<T, 0><<<g, kBlock, 0, s>>>(op, ix, py, pa, pb); break;
    case 1: binary_kernel<T, 1><<<g, kBlock, 0, s>>>(op, ix, py, pa, pb); break;
    default: binary_kernel<T, 2><<<g, kBlock, 0, s>>>(op, ix, py, pa, pb); break;
    }
    return cudaGetLastError();
}

/* ---- unary ----------------------------------------------------------------- */

__device__ __forceinline__ float un_float(int op, float x, float alpha, float beta)
{
    switch (op) {
    case CUDA_UN_RELU: return x > 0.0f ? x : 0.0f;
    case CUDA_UN_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case CUDA_UN_TANH: return tanhf(x);
    case CUDA_UN_ERF: return erff(x);
    case CUDA_UN_SQRT: return sqrtf(x);
    case CUDA_UN_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case CUDA_UN_GELU_TANH:
        return 0.5f * x *
               (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case CUDA_UN_LEAKY_RELU: return x >= 0.0f ? x : alpha * x;
    case CUDA_UN_CLIP: return fminf(fmaxf(x, alpha), beta);
    case CUDA_UN_NEG: return -x;
    case CUDA_UN_ABS: return fabsf(x);
    case CUDA_UN_EXP: return expf(x);
    case CUDA_UN_LOG: return logf(x);
    default: return 1.0f / x;
    }
}

template <typename T> __device__ __forceinline__ T un_int(int op, T x)
{
    switch (op) {
    case CUDA_UN_RELU: return x > 0 ? x : (T)0;
    case CUDA_UN_NEG: return -x;
    default: return x < 0 ? -x : x;
    }
}

template <typename T>
__global__ void unary_kernel(int op, int64_t n, T *y, const T *x, float alpha, float beta)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        if constexpr (is_int<T>::value)
            y[i] = un_int<T>(op, x[i]);
        else
            y[i] = from_f<T>(un_float(op, to_f(x[i]), alpha, beta));
    }
}

template <typename T>
cudaError_t unary(int op, int64_t n, void *y, const void *x, float alpha, float beta,
                  cudaStream_t s)
{
    unary_kernel<T><<<blocks_for(n), kBlock, 0, s>>>(op, n, (T *)y, (const T *)x, alpha, beta);
    return cudaGetLastError();
}

/* ---- where ----------------------------------------------------------------- */

template <typename T>
__global__ void where_kernel(cuda_index ix, T *y, const uint8_t *cond, const T *x,
                             const T *other)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < ix.n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t off[3];
        walk<3>(ix, i, off);
        y[i] = cond[off[0]] ? x[off[1]] : other[off[2]];
    }
}

template <typename T>
cudaError_t where(const cuda_index &ix, void *y, const uint8_t *cond, const void *x,
                  const void *other, cudaStream_t s)
{
    where_kernel<T><<<blocks_for(ix.n), kBlock, 0, s>>>(ix, (T *)y, cond, (const T *)x,
                                                          (const T *)other);
    return cudaGetLastError();
}

/* ---- cast ------------------------------------------------------------------ */

/* Every conversion goes through double, except the integer ones, which
 * keep all 64 bits. */
template <typename T> __device__ __forceinline__ double to_d(T v)
{
    return (double)v;
}
template <> __device__ __forceinline__ double to_d<__half>(__half v)
{
    return (double)__half2float(v);
}
template <typename T> __device__ __forceinline__ T from_d(double v)
{
    return (T)v;
}
template <> __device__ __forceinline__ __half from_d<__half>(double v)
{
    return __float2half((float)v);
}
template <> __device__ __forceinline__ bool from_d<bool>(double v)
{
    return v != 0.0;
}

template <typename S, typename D> __global__ void cast_kernel(int64_t n, D *y, const S *x)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        if constexpr (is_int<S>::value && is_int<D>::value)
            y[i] = (D)x[i];
        else if constexpr (is_int<S>::value && std::is_same<D, bool>::value)
            y[i] = x[i] != 0;
        else
            y[i] = from_d<D>(to_d<S>(x[i]));
    }
}

template <typename S, typename D>
cudaError_t cast_to(int64_t n, void *y, const void *x, cudaStream_t s)
{
    cast_kernel<S, D><<<blocks_for(n), kBlock, 0, s>>>(n, (D *)y, (const S *)x);
    return cudaGetLastError();
}

template <typename S> cudaError_t cast_from(int to, int64_t n, void *y, const void *x,
                                            cudaStream_t s)
{
    switch (to) {
    case CUDA_T_F32: return cast_to<S, float>(n, y, x, s);
    case CUDA_T_F16: return cast_to<S, __half>(n, y, x, s);
    case CUDA_T_F64: return cast_to<S, double>(n, y, x, s);
    case CUDA_T_I64: return cast_to<S, int64_t>(n, y, x, s);
    case CUDA_T_I32: return cast_to<S, int32_t>(n, y, x, s);
    case CUDA_T_I8: return cast_to<S, int8_t>(n, y, x, s);
    case CUDA_T_U8: return cast_to<S, uint8_t>(n, y, x, s);
    case CUDA_T_BOOL: return cast_to<S, bool>(n, y, x, s);
    default: return cudaErrorInvalidValue;
    }
}

} // namespace

extern "C" cudaError_t cuda_launch_binary(int op, int type, const cuda_index *ix, void *y,
                                          const void *a, const void *b, cudaStream_t s)
{
    if (ix->n == 0)
        return cudaSuccess;
    switch (type) {
    case CUDA_T_F32: return binary<float>(op, *ix, y, a, b, s);
    case CUDA_T_F16: return binary<__half>(op, *ix, y, a, b, s);
    case CUDA_T_I64: return op == CUDA_BIN_POW ? cudaErrorInvalidValue
                                               : binary<int64_t>(op, *ix, y, a, b, s);
    case CUDA_T_I32: return op == CUDA_BIN_POW ? cudaErrorInvalidValue
                                               : binary<int32_t>(op, *ix, y, a, b, s);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cuda_launch_unary(int op, int type, int64_t n, void *y, const void *x,
                                         float alpha, float beta, cudaStream_t s)
{
    bool int_ok = op == CUDA_UN_RELU || op == CUDA_UN_NEG || op == CUDA_UN_ABS;
    if (n == 0)
        return cudaSuccess;
    switch (type) {
    case CUDA_T_F32: return unary<float>(op, n, y, x, alpha, beta, s);
    case CUDA_T_F16: return unary<__half>(op, n, y, x, alpha, beta, s);
    case CUDA_T_I64: return int_ok ? unary<int64_t>(op, n, y, x, 0, 0, s) : cudaErrorInvalidValue;
    case CUDA_T_I32: return int_ok ? unary<int32_t>(op, n, y, x, 0, 0, s) : cudaErrorInvalidValue;
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cuda_launch_where(size_t elem_bytes, const cuda_index *ix, void *y,
                                         const uint8_t *cond, const void *x, const void *other,
                                         cudaStream_t s)
{
    if (ix->n == 0)
        return cudaSuccess;
    switch (elem_bytes) {
    case 1: return where<uint8_t>(*ix, y, cond, x, other, s);
    case 2: return where<uint16_t>(*ix, y, cond, x, other, s);
    case 4: return where<uint32_t>(*ix, y, cond, x, other, s);
    case 8: return where<uint64_t>(*ix, y, cond, x, other, s);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cuda_launch_cast(int from, int to, int64_t n, void *y, const void *x,
                                        cudaStream_t s)
{
    if (n == 0)
        return cudaSuccess;
    switch (from) {
    case CUDA_T_F32: return cast_from<float>(to, n, y, x, s);
    case CUDA_T_F16: return cast_from<__half>(to, n, y, x, s);
    case CUDA_T_F64: return cast_from<double>(to, n, y, x, s);
    case CUDA_T_I64: return cast_from<int64_t>(to, n, y, x, s);
    case CUDA_T_I32: return cast_from<int32_t>(to, n, y, x, s);
    case CUDA_T_I8: return cast_from<int8_t>(to, n, y, x, s);
    case CUDA_T_U8: return cast_from<uint8_t>(to, n, y, x, s);
    case CUDA_T_BOOL: return cast_from<bool>(to, n, y, x, s);
    default: return cudaErrorInvalidValue;
    }
}
