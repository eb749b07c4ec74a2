/*
 * Device-side helpers shared by the CUDA provider's .cu files: float
 * conversion of the element types, the n-dimensional offset walk of a
 * cuda_index, and the launch geometry. Everything here is internal to one
 * translation unit (anonymous namespace), so no symbol leaves the plugin.
 */
#ifndef EMBER_CUDA_COMMON_CUH
#define EMBER_CUDA_COMMON_CUH

#include <cuda_fp16.h>
#include <stdint.h>

#include "cuda_launch.h"

namespace {

constexpr int kBlock = 256;
/* Grid-stride loops cover any size with at most this many blocks. */
constexpr int64_t kMaxBlocks = 1 << 20;

inline unsigned blocks_for(int64_t n)
{
    int64_t b = (n + kBlock - 1) / kBlock;
    return (unsigned)(b < kMaxBlocks ? (b > 0 ? b : 1) : kMaxBlocks);
}

template <typename T> __device__ __forceinline__ float to_f(T v)
{
    return (float)v;
}
template <> __device__ __forceinline__ float to_f<__half>(__half v)
{
    return __half2float(v);
}
template <typename T> __device__ __forceinline__ T from_f(float v)
{
    return (T)v;
}
template <> __device__ __forceinline__ __half from_f<__half>(float v)
{
    return __float2half(v);
}

/* Offsets of output element i in the first n_ops operands of ix. */
template <int N_OPS>
__device__ __forceinline__ void walk(const cuda_index &ix, int64_t i, int64_t *off)
{
    for (int k = 0; k < N_OPS; k++)
        off[k] = 0;
    for (int d = ix.rank - 1; d >= 0; d--) {
        int64_t c = i % ix.dims[d];
        i /= ix.dims[d];
        for (int k = 0; k < N_OPS; k++)
            off[k] += c * ix.strides[k][d];
    }
}

/* The sum (or max) of v over the block; blockDim.x is a multiple of 32, at
 * most 1024. Every thread gets the result. */
template <bool IS_MAX> __device__ float block_reduce(float v)
{
    __shared__ float partial[32];
    for (int o = 16; o > 0; o >>= 1) {
        float w = __shfl_xor_sync(0xffffffffu, v, o);
        v = IS_MAX ? fmaxf(v, w) : v + w;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    __syncthreads(); /* partial may still be read by a previous call */
    if (lane == 0)
        partial[warp] = v;
    __syncthreads();
    v = lane < n_warps ? partial[lane] : (IS_MAX ? -INFINITY : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
        float w = __shfl_xor_sync(0xffffffffu, v, o);
        v = IS_MAX ? fmaxf(v, w) : v + w;
    }
    return v;
}

/* Threads for a block that walks a row of `cols` elements. */
inline unsigned row_threads(int64_t cols)
{
    if (cols >= 1024)
        return 1024;
    unsigned t = (unsigned)((cols + 31) / 32) * 32;
    return t < 32 ? 32 : t;
}

} // namespace

#endif /* EMBER_CUDA_COMMON_CUH */
