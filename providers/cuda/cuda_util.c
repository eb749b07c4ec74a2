/*
 * Helpers shared by the CUDA provider's kernel families: claim checks on
 * static types, attribute and constant-input decoding, failure messages
 * that name the node and the CUDA/cuBLAS/cuDNN error, dtype facts, and the
 * broadcasting walk (cuda_index) that the device kernels consume.
 */
#include "cuda_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- claim checks ------------------------------------------------------------ */

uint32_t cuda_input_dtype(const ember_host_api *host, const ember_node *node, size_t index)
{
    ember_type_info info;
    if (index >= host->node_input_count(node) || !host->node_input_present(node, index) ||
        !host->node_input_type(node, index, &info))
        return EMBER_DTYPE_UNDEFINED;
    return info.dtype;
}

bool cuda_input_in(const ember_host_api *host, const ember_node *node, size_t index,
                   uint32_t set)
{
    uint32_t dtype = cuda_input_dtype(host, node, index);
    return dtype != EMBER_DTYPE_UNDEFINED && dtype < 32 && (set & CUDA_DT(dtype)) != 0;
}

bool cuda_check_float(const ember_host_api *host, const ember_node *node)
{
    if (!cuda_input_in(host, node, 0, CUDA_DT_FLOAT))
        return false;
    uint32_t dtype = cuda_input_dtype(host, node, 0);
    for (size_t i = 1; i < host->node_input_count(node); i++)
        if (host->node_input_present(node, i) && cuda_input_dtype(host, node, i) != dtype)
            return false;
    return true;
}

/* An int64 vector (or scalar) is shape arithmetic; the CPU keeps those. */
static bool is_shape_like(const ember_host_api *host, const ember_node *node, size_t index)
{
    ember_type_info info;
    if (!host->node_input_type(node, index, &info))
        return false;
    return (info.dtype == EMBER_DTYPE_INT64 || info.dtype == EMBER_DTYPE_INT32) &&
           (info.rank < 0 || info.rank <= 1);
}

bool cuda_check_move(const ember_host_api *host, const ember_node *node)
{
    return cuda_input_in(host, node, 0, CUDA_DT_MOVE) && !is_shape_like(host, node, 0);
}

/* ---- attributes ----------------------------------------------------------------- */

ember_status cuda_params(cuda_kernel *k, size_t bytes)
{
    k->params = calloc(1, bytes);
    if (k->params == NULL)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (%s): out of memory", k->name,
                             k->op);
    return EMBER_OK;
}

static ember_status attr_lookup(const cuda_kernel *k, const ember_node *node, const char *name,
                                uint32_t type, ember_attr *out, bool *found)
{
    *found = k->host->node_attr(node, name, out);
    if (*found && out->type != type)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute '%s' has type %u, expected %u", k->name,
                             k->op, name, (unsigned)out->type, (unsigned)type);
    return EMBER_OK;
}

ember_status cuda_attr_int(const cuda_kernel *k, const ember_node *node, const char *name,
                           int64_t dflt, int64_t *out)
{
    ember_attr attr;
    bool found;
    CUDA_TRY(attr_lookup(k, node, name, EMBER_ATTR_INT, &attr, &found));
    *out = found ? attr.i : dflt;
    return EMBER_OK;
}

ember_status cuda_attr_float(const cuda_kernel *k, const ember_node *node, const char *name,
                             float dflt, float *out)
{
    ember_attr attr;
    bool found;
    CUDA_TRY(attr_lookup(k, node, name, EMBER_ATTR_FLOAT, &attr, &found));
    *out = found ? attr.f : dflt;
    return EMBER_OK;
}

ember_status cuda_attr_ints(const cuda_kernel *k, const ember_node *node, const char *name,
                            int64_t *out, size_t cap, size_t *n)
{
    ember_attr attr;
    bool found;
    CUDA_TRY(attr_lookup(k, node, name, EMBER_ATTR_INTS, &attr, &found));
    if (found && attr.n > cap)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): attribute '%s' has %zu values, the CUDA kernel "
                             "takes at most %zu",
                             k->name, k->op, name, attr.n, cap);
    if (found && attr.n > 0)
        memcpy(out, attr.ints, attr.n * sizeof *out);
    *n = found ? attr.n : 0;
    return EMBER_OK;
}

ember_status cuda_attr_string(const cuda_kernel *k, const ember_node *node, const char *name,
                              const char *dflt, char *out, size_t cap)
{
    ember_attr attr;
    bool found;
    CUDA_TRY(attr_lookup(k, node, name, EMBER_ATTR_STRING, &attr, &found));
    const char *src = found ? attr.s.data : dflt;
    size_t len = found ? attr.s.size : strlen(dflt);
    if (len >= cap)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute '%s' is too long (%zu bytes)", k->name,
                             k->op, name, len);
    if (len > 0)
        memcpy(out, src, len);
    out[len] = '\0';
    return EMBER_OK;
}

/* ---- constant inputs ------------------------------------------------------------- */

static const ember_tensor *constant_input(const cuda_kernel *k, const ember_node *node,
                                          size_t index, bool *present)
{
    *present = index < k->host->node_input_count(node) &&
               k->host->node_input_present(node, index);
    return *present ? k->host->node_input_constant(node, index) : NULL;
}

ember_status cuda_const_ints(const cuda_kernel *k, const ember_node *node, size_t index,
                             int64_t *out, size_t cap, size_t *n)
{
    bool present;
    const ember_tensor *t = constant_input(k, node, index, &present);
    *n = 0;
    if (!present)
        return EMBER_OK;
    if (t == NULL)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): input %zu is not a constant; the CUDA kernel "
                             "reads it when it is built",
                             k->name, k->op, index);
    size_t count = cuda_numel(t->dims, t->rank);
    if ((t->dtype != EMBER_DTYPE_INT64 && t->dtype != EMBER_DTYPE_INT32) || t->rank > 1 ||
        count > cap)
        return cuda_fail_shape(k, index, t, "expected a 1-D int32/int64 constant");
    for (size_t i = 0; i < count; i++)
        out[i] = t->dtype == EMBER_DTYPE_INT64 ? ((const int64_t *)t->data)[i]
                                               : ((const int32_t *)t->data)[i];
    *n = count;
    return EMBER_OK;
}

/* IEEE half to float, for a constant read on the host. */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        exp = 113;
        while (!(man & 0x400)) {
            man <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

ember_status cuda_const_float(const cuda_kernel *k, const ember_node *node, size_t index,
                              float *out, bool *present)
{
    const ember_tensor *t = constant_input(k, node, index, present);
    if (!*present)
        return EMBER_OK;
    if (t == NULL)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): input %zu is not a constant", k->name, k->op,
                             index);
    if (cuda_numel(t->dims, t->rank) != 1 ||
        (t->dtype != EMBER_DTYPE_FLOAT32 && t->dtype != EMBER_DTYPE_FLOAT16))
        return cuda_fail_shape(k, index, t, "expected one float32/float16 value");
    *out = t->dtype == EMBER_DTYPE_FLOAT32 ? *(const float *)t->data
                                           : half_to_float(*(const uint16_t *)t->data);
    return EMBER_OK;
}

/* ---- run-time helpers -------------------------------------------------------------- */

ember_status cuda_input(const cuda_kernel *k, ember_kernel_context *ctx, size_t index,
                        const ember_tensor **out)
{
    const ember_tensor *t = NULL;
    if (index < k->host->ctx_input_count(ctx))
        t = k->host->ctx_input(ctx, index);
    if (t == NULL)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): required input %zu is missing", k->name, k->op,
                             index);
    if (t->rank > CUDA_MAX_RANK)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): input %zu has rank %u; the CUDA kernels take "
                             "at most %d",
                             k->name, k->op, index, (unsigned)t->rank, CUDA_MAX_RANK);
    *out = t;
    return EMBER_OK;
}

ember_status cuda_output(const cuda_kernel *k, ember_kernel_context *ctx, size_t index,
                         uint32_t dtype, const int64_t *dims, size_t rank, ember_tensor **out)
{
    return k->host->ctx_output(ctx, index, dtype, dims, rank, out);
}

ember_status cuda_check(const cuda_kernel *k, cudaError_t err, const char *what)
{
    if (err == cudaSuccess)
        return EMBER_OK;
    return k->host->fail(EMBER_E_DEVICE, "node '%s' (%s): %s failed on CUDA device %d: %s (%s)",
                         k->name, k->op, what, k->prov->device_id, cudaGetErrorString(err),
                         cudaGetErrorName(err));
}

ember_status cuda_check_cublas(const cuda_kernel *k, cublasStatus_t st, const char *what)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return EMBER_OK;
    return k->host->fail(EMBER_E_DEVICE, "node '%s' (%s): %s failed: %s (%s)", k->name, k->op,
                         what, cublasGetStatusString(st), cublasGetStatusName(st));
}

ember_status cuda_check_cudnn(const cuda_kernel *k, cudnnStatus_t st, const char *what)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return EMBER_OK;
    return k->host->fail(EMBER_E_DEVICE, "node '%s' (%s): %s failed: %s", k->name, k->op, what,
                         cudnnGetErrorString(st));
}

/* The ONNX name of a dtype, for messages. A plugin may not call the core's
 * public API (ember_dtype_name): it is dlopened by hosts, such as the
 * Python extension, whose libember symbols are not global. */
static const char *dtype_label(uint32_t dtype)
{
    static const char *const names[] = {
        "undefined", "float", "uint8",  "int8",   "uint16",    "int16",      "int32",
        "int64",     "string", "bool",  "float16", "double",   "uint32",     "uint64",
        "complex64", "complex128", "bfloat16",
    };
    return dtype < sizeof names / sizeof names[0] ? names[dtype] : "another type";
}

ember_status cuda_fail_dtype(const cuda_kernel *k, size_t index, uint32_t dtype)
{
    return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                         "node '%s' (%s): input %zu has type %s (ONNX %u), which the CUDA "
                         "kernel does not support",
                         k->name, k->op, index, dtype_label(dtype), (unsigned)dtype);
}

ember_status cuda_fail_shape(const cuda_kernel *k, size_t index, const ember_tensor *t,
                             const char *why)
{
    char dims[256];
    cuda_format_dims(dims, sizeof dims, t->dims, t->rank);
    return k->host->fail(EMBER_E_INVALID_ARGUMENT, "node '%s' (%s): input %zu has shape %s: %s",
                         k->name, k->op, index, dims, why);
}

ember_status cuda_copy_d2d(const cuda_kernel *k, void *dst, const void *src, size_t bytes)
{
    if (bytes == 0 || dst == src)
        return EMBER_OK;
    return cuda_check(k, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice,
                                         k->prov->stream),
                      "cudaMemcpyAsync (device to device)");
}

/* ---- dtypes and shapes -------------------------------------------------------------- */

size_t cuda_dtype_size(uint32_t dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT64:
    case EMBER_DTYPE_INT64:
    case EMBER_DTYPE_UINT64: return 8;
    case EMBER_DTYPE_FLOAT32:
    case EMBER_DTYPE_INT32:
    case EMBER_DTYPE_UINT32: return 4;
    case EMBER_DTYPE_FLOAT16:
    case EMBER_DTYPE_BFLOAT16:
    case EMBER_DTYPE_INT16:
    case EMBER_DTYPE_UINT16: return 2;
    case EMBER_DTYPE_INT8:
    case EMBER_DTYPE_UINT8:
    case EMBER_DTYPE_BOOL: return 1;
    default: return 0;
    }
}

int cuda_elem_type(uint32_t dtype)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return CUDA_T_F32;
    case EMBER_DTYPE_FLOAT16: return CUDA_T_F16;
    case EMBER_DTYPE_FLOAT64: return CUDA_T_F64;
    case EMBER_DTYPE_INT64: return CUDA_T_I64;
    case EMBER_DTYPE_INT32: return CUDA_T_I32;
    case EMBER_DTYPE_INT8: return CUDA_T_I8;
    case EMBER_DTYPE_UINT8: return CUDA_T_U8;
    case EMBER_DTYPE_BOOL: return CUDA_T_BOOL;
    default: return CUDA_T_NONE;
    }
}

size_t cuda_numel(const int64_t *dims, size_t rank)
{
    size_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

bool cuda_normalize_axis(int64_t axis, size_t rank, size_t *out)
{
    int64_t r = (int64_t)rank;
    if (axis < -r || axis >= r)
        return false;
    *out = (size_t)(axis < 0 ? axis + r : axis);
    return true;
}

void cuda_format_dims(char *buf, size_t size, const int64_t *dims, size_t rank)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i <= rank && used + 1 < size; i++) {
        int n = i == rank    ? snprintf(buf + used, size - used, "]")
                : i == 0     ? snprintf(buf + used, size - used, "[%lld", (long long)dims[i])
                             : snprintf(buf + used, size - used, ",%lld", (long long)dims[i]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
    if (rank == 0 && used + 1 < size)
        snprintf(buf, size, "[]");
}

void cuda_row_strides(const int64_t *dims, size_t rank, int64_t *strides)
{
    int64_t s = 1;
    for (size_t i = rank; i-- > 0;) {
        strides[i] = s;
        s *= dims[i];
    }
}

void cuda_index_coalesce(cuda_index *ix, int n_operands)
{
    int rank = 0;
    ix->n = 1;
    for (int d = 0; d < ix->rank; d++) {
        ix->n *= ix->dims[d];
        if (ix->dims[d] == 1)
            continue; /* a dim of one never moves an offset */
        bool merge = rank > 0;
        for (int k = 0; merge && k < n_operands; k++)
            merge = ix->strides[k][rank - 1] == ix->strides[k][d] * ix->dims[d];
        if (merge) {
            ix->dims[rank - 1] *= ix->dims[d];
            for (int k = 0; k < n_operands; k++)
                ix->strides[k][rank - 1] = ix->strides[k][d];
            continue;
        }
        ix->dims[rank] = ix->dims[d];
        for (int k = 0; k < n_operands; k++)
            ix->strides[k][rank] = ix->strides[k][d];
        rank++;
    }
    if (rank == 0) {
        ix->dims[0] = 1;
        for (int k = 0; k < n_operands; k++)
            ix->strides[k][0] = 0;
        rank = 1;
    }
    ix->rank = rank;
}

bool cuda_broadcast(const ember_tensor *const *in, size_t n_in, int64_t *out_dims,
                    size_t *out_rank, cuda_index *ix)
{
    size_t rank = 0;
    for (size_t k = 0; k < n_in; k++)
        rank = in[k]->rank > rank ? in[k]->rank : rank;
    if (rank > CUDA_MAX_RANK || n_in > 3)
        return false;
    memset(ix, 0, sizeof *ix);
    for (size_t d = 0; d < rank; d++)
        out_dims[d] = 1;
    for (size_t k = 0; k < n_in; k++)
        for (size_t d = 0; d < in[k]->rank; d++) {
            int64_t v = in[k]->dims[d], *o = &out_dims[rank - in[k]->rank + d];
            if (v != 1 && *o != 1 && v != *o)
                return false;
            *o = v != 1 ? v : *o;
        }
    for (size_t k = 0; k < n_in; k++) {
        int64_t strides[CUDA_MAX_RANK];
        size_t off = rank - in[k]->rank;
        cuda_row_strides(in[k]->dims, in[k]->rank, strides);
        for (size_t d = 0; d < rank; d++)
            ix->strides[k][d] = d < off || in[k]->dims[d - off] == 1 ? 0 : strides[d - off];
    }
    ix->rank = (int)rank;
    memcpy(ix->dims, out_dims, rank * sizeof *out_dims);
    *out_rank = rank;
    cuda_index_coalesce(ix, (int)n_in);
    return true;
}

void cuda_index_expand(const int64_t *x_dims, size_t x_rank, const int64_t *out_dims,
                       size_t out_rank, cuda_index *ix)
{
    int64_t x_strides[CUDA_MAX_RANK];
    size_t off = out_rank - x_rank;
    memset(ix, 0, sizeof *ix);
    cuda_row_strides(x_dims, x_rank, x_strides);
    ix->rank = (int)out_rank;
    memcpy(ix->dims, out_dims, out_rank * sizeof *out_dims);
    cuda_row_strides(out_dims, out_rank, ix->strides[0]);
    for (size_t d = 0; d < out_rank; d++)
        ix->strides[1][d] = d < off || x_dims[d - off] == 1 ? 0 : x_strides[d - off];
    cuda_index_coalesce(ix, 2);
}
