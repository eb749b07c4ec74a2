/*
 * Data-moving device kernels of the CUDA provider: the strided copy that
 * Transpose, Slice, Concat, Split, Expand and Gemm's bias share, and
 * Gather. They move elements by size, so one instance serves every type.
 */
#include "cuda_common.cuh"

namespace {

template <typename T>
__global__ void copy_kernel(cuda_index ix, T *dst, const T *src)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < ix.n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t off[2];
        walk<2>(ix, i, off);
        dst[off[0]] = src[off[1]];
    }
}

template <typename T> cudaError_t copy(const cuda_index &ix, void *dst, const void *src,
                                       cudaStream_t s)
{
    copy_kernel<T><<<blocks_for(ix.n), kBlock, 0, s>>>(ix, (T *)dst, (const T *)src);
    return cudaGetLastError();
}

template <typename T, typename I>
__global__ void gather_kernel(T *y, const T *x, const I *idx, int64_t outer, int64_t axis_len,
                              int64_t n_idx, int64_t inner)
{
    int64_t n = outer * n_idx * inner;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t in = i % inner, rest = i / inner;
        int64_t j = rest % n_idx, o = rest / n_idx;
        int64_t at = (int64_t)idx[j];
        if (at < 0)
            at += axis_len;
        at = at < 0 ? 0 : (at >= axis_len ? axis_len - 1 : at);
        y[i] = x[(o * axis_len + at) * inner + in];
    }
}

template <typename T>
cudaError_t gather(int idx_type, void *y, const void *x, const void *idx, int64_t outer,
                   int64_t axis_len, int64_t n_idx, int64_t inner, cudaStream_t s)
{
    unsigned g = blocks_for(outer * n_idx * inner);
    if (idx_type == CUDA_T_I64)
        gather_kernel<T, int64_t><<<g, kBlock, 0, s>>>((T *)y, (const T *)x,
                                                        (const int64_t *)idx, outer, axis_len,
                                                        n_idx, inner);
    else
        gather_kernel<T, int32_t><<<g, kBlock, 0, s>>>((T *)y, (const T *)x,
                                                        (const int32_t *)idx, outer, axis_len,
                                                        n_idx, inner);
    return cudaGetLastError();
}

} // namespace

extern "C" cudaError_t cuda_launch_copy(size_t elem_bytes, const cuda_index *ix, void *dst,
                                        const void *src, cudaStream_t s)
{
    if (ix->n == 0)
        return cudaSuccess;
    switch (elem_bytes) {
    case 1: return copy<uint8_t>(*ix, dst, src, s);
    case 2: return copy<uint16_t>(*ix, dst, src, s);
    case 4: return copy<uint32_t>(*ix, dst, src, s);
    case 8: return copy<uint64_t>(*ix, dst, src, s);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" cudaError_t cuda_launch_gather(size_t elem_bytes, int idx_type, void *y,
                                          const void *x, const void *idx, int64_t outer,
                                          int64_t axis_len, int64_t n_idx, int64_t inner,
                                          cudaStream_t s)
{
    if (outer * n_idx * inner == 0)
        return cudaSuccess;
    if (axis_len == 0 || (idx_type != CUDA_T_I64 && idx_type != CUDA_T_I32))
        return cudaErrorInvalidValue;
    switch (elem_bytes) {
    case 1: return gather<uint8_t>(idx_type, y, x, idx, outer, axis_len, n_idx, inner, s);
    case 2: return gather<uint16_t>(idx_type, y, x, idx, outer, axis_len, n_idx, inner, s);
    case 4: return gather<uint32_t>(idx_type, y, x, idx, outer, axis_len, n_idx, inner, s);
    case 8: return gather<uint64_t>(idx_type, y, x, idx, outer, axis_len, n_idx, inner, s);
    default: return cudaErrorInvalidValue;
    }
}
