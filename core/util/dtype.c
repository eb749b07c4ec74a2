/*
 * Facts about element types: sizes, storage of packed types, names.
 */
#include "core/util/util.h"

typedef struct dtype_fact {
    size_t size;
    const char *name;
    const char *onnx_name;
} dtype_fact;

static const dtype_fact facts[] = {
    [EMBER_DTYPE_UNDEFINED] = {0, "undefined", "tensor(undefined)"},
    [EMBER_DTYPE_FLOAT32] = {4, "float32", "tensor(float)"},
    [EMBER_DTYPE_UINT8] = {1, "uint8", "tensor(uint8)"},
    [EMBER_DTYPE_INT8] = {1, "int8", "tensor(int8)"},
    [EMBER_DTYPE_UINT16] = {2, "uint16", "tensor(uint16)"},
    [EMBER_DTYPE_INT16] = {2, "int16", "tensor(int16)"},
    [EMBER_DTYPE_INT32] = {4, "int32", "tensor(int32)"},
    [EMBER_DTYPE_INT64] = {8, "int64", "tensor(int64)"},
    [EMBER_DTYPE_STRING] = {sizeof(ember_string), "string", "tensor(string)"},
    [EMBER_DTYPE_BOOL] = {1, "bool", "tensor(bool)"},
    [EMBER_DTYPE_FLOAT16] = {2, "float16", "tensor(float16)"},
    [EMBER_DTYPE_FLOAT64] = {8, "float64", "tensor(double)"},
    [EMBER_DTYPE_UINT32] = {4, "uint32", "tensor(uint32)"},
    [EMBER_DTYPE_UINT64] = {8, "uint64", "tensor(uint64)"},
    [EMBER_DTYPE_COMPLEX64] = {8, "complex64", "tensor(complex64)"},
    [EMBER_DTYPE_COMPLEX128] = {16, "complex128", "tensor(complex128)"},
    [EMBER_DTYPE_BFLOAT16] = {2, "bfloat16", "tensor(bfloat16)"},
    [EMBER_DTYPE_FLOAT8E4M3FN] = {1, "float8e4m3fn", "tensor(float8e4m3fn)"},
    [EMBER_DTYPE_FLOAT8E4M3FNUZ] = {1, "float8e4m3fnuz", "tensor(float8e4m3fnuz)"},
    [EMBER_DTYPE_FLOAT8E5M2] = {1, "float8e5m2", "tensor(float8e5m2)"},
    [EMBER_DTYPE_FLOAT8E5M2FNUZ] = {1, "float8e5m2fnuz", "tensor(float8e5m2fnuz)"},
    [EMBER_DTYPE_UINT4] = {0, "uint4", "tensor(uint4)"},
    [EMBER_DTYPE_INT4] = {0, "int4", "tensor(int4)"},
    [EMBER_DTYPE_FLOAT4E2M1] = {0, "float4e2m1", "tensor(float4e2m1)"},
    [EMBER_DTYPE_FLOAT8E8M0] = {1, "float8e8m0", "tensor(float8e8m0)"},
    [EMBER_DTYPE_UINT2] = {0, "uint2", "tensor(uint2)"},
    [EMBER_DTYPE_INT2] = {0, "int2", "tensor(int2)"},
};

#define N_FACTS (sizeof facts / sizeof facts[0])

static bool is_packed4(ember_dtype dtype)
{
    return dtype == EMBER_DTYPE_UINT4 || dtype == EMBER_DTYPE_INT4 ||
           dtype == EMBER_DTYPE_FLOAT4E2M1;
}

EMBER_API size_t ember_dtype_size(ember_dtype dtype)
{
    return (unsigned)dtype < N_FACTS ? facts[dtype].size : 0;
}

EMBER_API size_t ember_dtype_storage_bytes(ember_dtype dtype, size_t n_elements)
{
    if (is_packed4(dtype))
        return n_elements / 2 + n_elements % 2;
    if (dtype == EMBER_DTYPE_UINT2 || dtype == EMBER_DTYPE_INT2)
        return n_elements / 4 + (n_elements % 4 != 0);
    size_t size = ember_dtype_size(dtype);
    return size && n_elements > SIZE_MAX / size ? SIZE_MAX : n_elements * size;
}

EMBER_API const char *ember_dtype_name(ember_dtype dtype)
{
    return (unsigned)dtype < N_FACTS ? facts[dtype].name : "unknown";
}

EMBER_API const char *ember_dtype_onnx_name(ember_dtype dtype)
{
    return (unsigned)dtype < N_FACTS ? facts[dtype].onnx_name : "tensor(unknown)";
}
