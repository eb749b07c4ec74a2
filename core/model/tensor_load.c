/*
 * TensorProto to graph_tensor: the element type, the shape, and the data
 * from raw_data (little-endian), the typed fields (float_data, int32_data,
 * int64_data, uint64_data, double_data, string_data) or external data.
 * Sizes are checked against the shape before anything is allocated, so a
 * small hostile file cannot ask for a huge buffer. Sparse tensors are
 * densified here too (up to MAX_DENSE_BYTES).
 */
#include "core/model/model_impl.h"

#include <string.h>

#include "core/util/util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ONNX raw_data is little-endian; Ember supports little-endian hosts only"
#endif

/* A sparse tensor is a few bytes in the file whatever its dense size; this
 * bounds what densifying one may allocate. */
#define MAX_DENSE_BYTES ((size_t)1 << 31)

bool model_dtype_known(int64_t onnx_type)
{
    return onnx_type > EMBER_DTYPE_UNDEFINED && onnx_type <= EMBER_DTYPE_INT2;
}

/* Where the elements of a tensor sit in the message. */
typedef enum source {
    SOURCE_RAW,
    SOURCE_FLOAT,
    SOURCE_INT32,
    SOURCE_INT64,
    SOURCE_UINT64,
    SOURCE_DOUBLE,
    SOURCE_STRING,
} source;

/* The typed field that holds dtype's elements, and how many entries n
 * elements need there. */
static source typed_source(uint32_t dtype, size_t n, size_t *count)
{
    *count = n;
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return SOURCE_FLOAT;
    case EMBER_DTYPE_COMPLEX64: *count = 2 * n; return SOURCE_FLOAT;
    case EMBER_DTYPE_INT64: return SOURCE_INT64;
    case EMBER_DTYPE_UINT32:
    case EMBER_DTYPE_UINT64: return SOURCE_UINT64;
    case EMBER_DTYPE_FLOAT64: return SOURCE_DOUBLE;
    case EMBER_DTYPE_COMPLEX128: *count = 2 * n; return SOURCE_DOUBLE;
    case EMBER_DTYPE_STRING: return SOURCE_STRING;
    case EMBER_DTYPE_UINT4:
    case EMBER_DTYPE_INT4:
    case EMBER_DTYPE_FLOAT4E2M1: *count = (n + 1) / 2; return SOURCE_INT32;
    case EMBER_DTYPE_UINT2:
    case EMBER_DTYPE_INT2: *count = (n + 3) / 4; return SOURCE_INT32;
    default: return SOURCE_INT32; /* int8..int32, uint8, uint16, bool, 16- and 8-bit floats */
    }
}

static size_t typed_count(const Onnx__TensorProto *tp, source src)
{
    switch (src) {
    case SOURCE_FLOAT: return tp->n_float_data;
    case SOURCE_INT32: return tp->n_int32_data;
    case SOURCE_INT64: return tp->n_int64_data;
    case SOURCE_UINT64: return tp->n_uint64_data;
    case SOURCE_DOUBLE: return tp->n_double_data;
    case SOURCE_STRING: return tp->n_string_data;
    default: return 0;
    }
}

static const char *source_name(source src)
{
    static const char *const names[] = {"raw_data",    "float_data",  "int32_data",
                                        "int64_data",  "uint64_data", "double_data",
                                        "string_data"};
    return names[src];
}

/* ---- header: type and shape -------------------------------------------------- */

static ember_status check_dtype(const Onnx__TensorProto *tp, const char *name, uint32_t *dtype)
{
    int32_t t = tp->has_data_type ? tp->data_type : 0;
    if (t == 0)
        return ember_fail(EMBER_E_INVALID_MODEL, "tensor '%s' has no data type", name);
    if (!model_dtype_known(t))
        return ember_fail(EMBER_E_NOT_IMPLEMENTED, "tensor '%s' has data type %d, which Ember "
                          "does not support", name, (int)t);
    *dtype = (uint32_t)t;
    return EMBER_OK;
}

static ember_status check_shape(const int64_t *dims, size_t rank, const char *name, size_t *n)
{
    char shape[160];
    util_format_dims(shape, sizeof shape, dims, rank);
    for (size_t i = 0; i < rank; i++)
        if (dims[i] < 0)
            return ember_fail(EMBER_E_INVALID_MODEL, "tensor '%s' has a negative dim in shape %s",
                              name, shape);
    if (rank > UINT32_MAX || !util_element_count(dims, rank, n))
        return ember_fail(EMBER_E_INVALID_MODEL, "tensor '%s' of shape %s is too large", name,
                          shape);
    return EMBER_OK;
}

static ember_status wrong_count(const char *name, const char *field, size_t got, size_t want,
                                uint32_t dtype, const int64_t *dims, size_t rank)
{
    char shape[160];
    util_format_dims(shape, sizeof shape, dims, rank);
    return ember_fail(EMBER_E_INVALID_MODEL,
                      "tensor '%s' (%s %s) has %zu entries in %s where %zu are needed", name,
                      ember_dtype_name((ember_dtype)dtype), shape, got, field, want);
}

/* ---- copying elements ------------------------------------------------------- */

static void copy_int32(const Onnx__TensorProto *tp, uint32_t dtype, uint8_t *dst, size_t count)
{
    const int32_t *src = tp->int32_data;
    size_t width = ember_dtype_size((ember_dtype)dtype);
    if (dtype == EMBER_DTYPE_BOOL) {
        for (size_t i = 0; i < count; i++)
            dst[i] = src[i] != 0;
    } else if (width == 4) {
        memcpy(dst, src, count * 4);
    } else if (width == 2) {
        for (size_t i = 0; i < count; i++) {
            uint16_t v = (uint16_t)src[i];
            memcpy(dst + 2 * i, &v, 2);
        }
    } else { /* one byte per entry: 8-bit types and packed 4-bit pairs */
        for (size_t i = 0; i < count; i++)
            dst[i] = (uint8_t)src[i];
    }
}

static void copy_uint64(const Onnx__TensorProto *tp, uint32_t dtype, uint8_t *dst, size_t count)
{
    if (dtype == EMBER_DTYPE_UINT64) {
        memcpy(dst, tp->uint64_data, count * 8);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t v = (uint32_t)tp->uint64_data[i];
        memcpy(dst + 4 * i, &v, 4);
    }
}

static ember_status copy_strings(const Onnx__TensorProto *tp, graph_tensor *t)
{
    ember_string *dst = t->view.data;
    for (size_t i = 0; i < t->n_elements; i++) {
        const ProtobufCBinaryData *src = &tp->string_data[i];
        char *copy = util_malloc(src->len + 1);
        if (!copy)
            return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory copying tensor '%s'",
                              t->name);
        if (src->len)
            memcpy(copy, src->data, src->len);
        copy[src->len] = '\0';
        dst[i] = (ember_string){copy, src->len};
    }
    return EMBER_OK;
}

static ember_status copy_typed(const Onnx__TensorProto *tp, source src, size_t count,
                               graph_tensor *t)
{
    uint8_t *dst = t->view.data;
    switch (src) {
    case SOURCE_FLOAT: memcpy(dst, tp->float_data, count * sizeof(float)); break;
    case SOURCE_INT32: copy_int32(tp, t->view.dtype, dst, count); break;
    case SOURCE_INT64: memcpy(dst, tp->int64_data, count * sizeof(int64_t)); break;
    case SOURCE_UINT64: copy_uint64(tp, t->view.dtype, dst, count); break;
    case SOURCE_DOUBLE: memcpy(dst, tp->double_data, count * sizeof(double)); break;
    case SOURCE_STRING: return copy_strings(tp, t);
    default: break;
    }
    return EMBER_OK;
}

/* Bools are one byte, 0 or 1, whatever the producer wrote. */
static void normalize_bools(graph_tensor *t)
{
    uint8_t *b = t->view.data;
    for (size_t i = 0; t->view.dtype == EMBER_DTYPE_BOOL && i < t->n_elements; i++)
        b[i] = b[i] != 0;
}

/* ---- the three data paths --------------------------------------------------- */

static ember_status load_external(model_ctx *ctx, const Onnx__TensorProto *tp, const char *name,
                                  uint32_t dtype, size_t n, graph_tensor **out)
{
    int fd;
    uint64_t offset;
    graph_tensor *t;
    if (dtype == EMBER_DTYPE_STRING)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': string tensors cannot use external data", name);
    size_t bytes = ember_dtype_storage_bytes((ember_dtype)dtype, n);
    EMBER_TRY(model_external_locate(ctx, tp, name, bytes, &fd, &offset));
    EMBER_TRY(graph_tensor_create_for_copy(name, dtype, tp->dims, tp->n_dims, &t));
    ember_status status = model_external_read(fd, offset, t->view.data, bytes, name);
    if (status != EMBER_OK) {
        graph_tensor_destroy(t);
        return status;
    }
    normalize_bools(t);
    *out = t;
    return EMBER_OK;
}

/* A tensor for `length` bytes of raw data, checked against its type and
 * shape, to be filled by the caller. */
static ember_status raw_tensor(const Onnx__TensorProto *tp, const char *name, uint32_t dtype,
                               size_t n, uint64_t length, graph_tensor **out)
{
    size_t bytes = ember_dtype_storage_bytes((ember_dtype)dtype, n);
    if (dtype == EMBER_DTYPE_STRING)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': string tensors must use string_data, not raw_data",
                          name);
    if (length != bytes)
        return wrong_count(name, "raw_data (bytes)", (size_t)length, bytes, dtype, tp->dims,
                           tp->n_dims);
    return graph_tensor_create_for_copy(name, dtype, tp->dims, tp->n_dims, out);
}

static ember_status load_raw(const Onnx__TensorProto *tp, const char *name, uint32_t dtype,
                             size_t n, graph_tensor **out)
{
    graph_tensor *t;
    EMBER_TRY(raw_tensor(tp, name, dtype, n, tp->raw_data.len, &t));
    if (tp->raw_data.len)
        memcpy(t->view.data, tp->raw_data.data, tp->raw_data.len);
    normalize_bools(t);
    *out = t;
    return EMBER_OK;
}

static ember_status load_typed(const Onnx__TensorProto *tp, const char *name, uint32_t dtype,
                               size_t n, graph_tensor **out)
{
    graph_tensor *t;
    size_t count;
    source src = typed_source(dtype, n, &count);
    if (n > SIZE_MAX / 2 || typed_count(tp, src) != count)
        return wrong_count(name, source_name(src), typed_count(tp, src), count, dtype, tp->dims,
                           tp->n_dims);
    EMBER_TRY(graph_tensor_create(name, dtype, tp->dims, tp->n_dims, &t));
    ember_status status = count ? copy_typed(tp, src, count, t) : EMBER_OK;
    if (status != EMBER_OK) {
        graph_tensor_destroy(t);
        return status;
    }
    *out = t;
    return EMBER_OK;
}

static ember_status load_deferred(const model_ctx *ctx, const Onnx__TensorProto *tp,
                                  const char *name, uint32_t dtype, size_t n,
                                  const model_deferred *item, graph_tensor **out)
{
    graph_tensor *t;
    EMBER_TRY(raw_tensor(tp, name, dtype, n, item->length, &t));
    const model_deferred_set *set = ctx->deferred;
    ember_status status = EMBER_OK;
    if (set->base)
        memcpy(t->view.data, set->base + item->offset, (size_t)item->length);
    else
        status = model_external_read(set->fd, item->offset, t->view.data, (size_t)item->length,
                                     name);
    if (status != EMBER_OK) {
        graph_tensor_destroy(t);
        return status;
    }
    normalize_bools(t);
    *out = t;
    return EMBER_OK;
}

/* The checks every tensor passes first; *name is the name to report. */
static ember_status check_header_of(const Onnx__TensorProto *tp, const char **name,
                                    uint32_t *dtype, size_t *n)
{
    EMBER_TRY(check_dtype(tp, *name, dtype));
    EMBER_TRY(check_shape(tp->dims, tp->n_dims, *name, n));
    if (tp->segment)
        return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                          "tensor '%s' is a segment of a larger tensor, which Ember does not "
                          "support", *name);
    return EMBER_OK;
}

ember_status model_tensor_load_deferred(model_ctx *ctx, const Onnx__TensorProto *tp,
                                        const char *name, const model_deferred *item,
                                        graph_tensor **out)
{
    uint32_t dtype = EMBER_DTYPE_UNDEFINED;
    size_t n;
    EMBER_TRY(check_header_of(tp, &name, &dtype, &n));
    return load_deferred(ctx, tp, name, dtype, n, item, out);
}

ember_status model_tensor_load(model_ctx *ctx, const Onnx__TensorProto *tp,
                               const char *fallback_name, graph_tensor **out)
{
    const char *name = tp->name && tp->name[0] ? tp->name : fallback_name;
    uint32_t dtype = EMBER_DTYPE_UNDEFINED;
    size_t n;
    EMBER_TRY(check_header_of(tp, &name, &dtype, &n));
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return load_external(ctx, tp, name, dtype, n, out);
    if (tp->has_raw_data)
        return load_raw(tp, name, dtype, n, out);
    return load_typed(tp, name, dtype, n, out);
}

/* ---- sparse tensors ------------------------------------------------------------ */

/* Linear offset of non-zero i from COO indices (shape [nnz, rank] or
 * [nnz] already linear); false when out of bounds. */
static bool sparse_offset(const graph_tensor *indices, const int64_t *dims, size_t rank,
                          size_t n_dense, size_t i, size_t *offset)
{
    const int64_t *idx = indices->view.data;
    if (indices->view.rank == 1) {
        *offset = (size_t)idx[i];
        return idx[i] >= 0 && (size_t)idx[i] < n_dense;
    }
    size_t linear = 0;
    for (size_t d = 0; d < rank; d++) {
        int64_t x = idx[i * rank + d];
        if (x < 0 || x >= dims[d])
            return false;
        linear = linear * (size_t)dims[d] + (size_t)x;
    }
    *offset = linear;
    return true;
}

static ember_status check_sparse(const graph_tensor *values, const graph_tensor *indices,
                                 size_t rank, const char *name)
{
    size_t nnz = values->n_elements;
    if (values->view.rank != 1)
        return ember_fail(EMBER_E_INVALID_MODEL, "sparse tensor '%s': values must be 1-D",
                          name);
    ember_dtype dtype = (ember_dtype)values->view.dtype;
    if (dtype == EMBER_DTYPE_STRING || ember_dtype_size(dtype) == 0)
        return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                          "sparse tensor '%s': %s values are not supported", name,
                          ember_dtype_name(dtype));
    if (indices->view.dtype != EMBER_DTYPE_INT64)
        return ember_fail(EMBER_E_INVALID_MODEL, "sparse tensor '%s': indices must be int64",
                          name);
    bool linear = indices->view.rank == 1 && indices->dims[0] == (int64_t)nnz;
    bool coo = indices->view.rank == 2 && indices->dims[0] == (int64_t)nnz &&
               indices->dims[1] == (int64_t)rank;
    if (!linear && !coo)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "sparse tensor '%s': indices must have shape [%zu] or [%zu,%zu]", name,
                          nnz, nnz, rank);
    return EMBER_OK;
}

static ember_status densify(const graph_tensor *values, const graph_tensor *indices,
                            const int64_t *dims, size_t rank, const char *name,
                            graph_tensor **out)
{
    graph_tensor *t;
    size_t n_dense;
    EMBER_TRY(check_sparse(values, indices, rank, name));
    if (!util_element_count(dims, rank, &n_dense) ||
        n_dense > MAX_DENSE_BYTES / ember_dtype_size((ember_dtype)values->view.dtype))
        return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                          "sparse tensor '%s' is larger than %zu bytes when dense", name,
                          MAX_DENSE_BYTES);
    EMBER_TRY(graph_tensor_create(name, values->view.dtype, dims, rank, &t));
    size_t width = ember_dtype_size((ember_dtype)values->view.dtype);
    for (size_t i = 0; i < values->n_elements; i++) {
        size_t offset;
        if (!sparse_offset(indices, dims, rank, t->n_elements, i, &offset)) {
            graph_tensor_destroy(t);
            return ember_fail(EMBER_E_INVALID_MODEL,
                              "sparse tensor '%s': index of value %zu is out of bounds", name,
                              i);
        }
        memcpy((uint8_t *)t->view.data + offset * width,
               (const uint8_t *)values->view.data + i * width, width);
    }
    *out = t;
    return EMBER_OK;
}

ember_status model_sparse_load(model_ctx *ctx, const Onnx__SparseTensorProto *sp,
                               const char *fallback_name, graph_tensor **out)
{
    graph_tensor *values = NULL, *indices = NULL;
    size_t n;
    const char *name = sp->values && sp->values->name && sp->values->name[0] ? sp->values->name
                                                                             : fallback_name;
    if (!sp->values || !sp->indices)
        return ember_fail(EMBER_E_INVALID_MODEL, "sparse tensor '%s' lacks values or indices",
                          name);
    EMBER_TRY(check_shape(sp->dims, sp->n_dims, name, &n));
    ember_status status = model_tensor_load(ctx, sp->values, name, &values);
    if (status == EMBER_OK)
        status = model_tensor_load(ctx, sp->indices, name, &indices);
    if (status == EMBER_OK)
        status = densify(values, indices, sp->dims, sp->n_dims, name, out);
    graph_tensor_destroy(values);
    graph_tensor_destroy(indices);
    return status;
}
