/*
 * Reads the ONNX test data files with protobuf-c: input_K.pb/output_K.pb as
 * TensorProto turned into host ember_values, and model.onnx scanned for its
 * operator types and for inputs/outputs that are not plain tensors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "onnx.pb-c.h"

static bool fail(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, CONF_WHY_SIZE, fmt, ap);
    va_end(ap);
    return false;
}

static bool read_file(const char *path, uint8_t **bytes, size_t *size, char *why)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(why, "cannot open %s: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!grown)
                break;
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool ok = !ferror(f) && n < cap;
    fclose(f);
    if (!ok) {
        free(buf);
        return fail(why, "cannot read %s", path);
    }
    *bytes = buf;
    *size = n;
    return true;
}

/* ---- TensorProto -> host values ---------------------------------------------- */

/* Narrows int32_data entries (which hold the small integer types, bool, the
 * 16-bit floats' bit patterns and packed 4-bit pairs) to elem bytes each. */
static void narrow_int32(const int32_t *src, size_t n, size_t elem, uint8_t *dst)
{
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < elem; b++)
            dst[i * elem + b] = (uint8_t)((uint32_t)src[i] >> (8 * b));
}

static void widen_uint64(const uint64_t *src, size_t n, size_t elem, uint8_t *dst)
{
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < elem; b++)
            dst[i * elem + b] = (uint8_t)(src[i] >> (8 * b));
}

/* Copies the typed field that holds `dtype` into dst (bytes long). */
static bool copy_typed(const Onnx__TensorProto *t, ember_dtype dtype, size_t bytes, void *dst)
{
    size_t elem = ember_dtype_size(dtype);
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32:
    case EMBER_DTYPE_COMPLEX64:
        if (t->n_float_data * 4 != bytes)
            return false;
        if (bytes)
            memcpy(dst, t->float_data, bytes);
        return true;
    case EMBER_DTYPE_FLOAT64:
    case EMBER_DTYPE_COMPLEX128:
        if (t->n_double_data * 8 != bytes)
            return false;
        if (bytes)
            memcpy(dst, t->double_data, bytes);
        return true;
    case EMBER_DTYPE_INT64:
        if (t->n_int64_data * 8 != bytes)
            return false;
        if (bytes)
            memcpy(dst, t->int64_data, bytes);
        return true;
    case EMBER_DTYPE_UINT32:
    case EMBER_DTYPE_UINT64:
        if (t->n_uint64_data * elem != bytes)
            return false;
        widen_uint64(t->uint64_data, t->n_uint64_data, elem, dst);
        return true;
    default:
        elem = elem ? elem : 1; // 4-bit types: one packed byte per int32
        if (t->n_int32_data * elem != bytes)
            return false;
        narrow_int32(t->int32_data, t->n_int32_data, elem, dst);
        return true;
    }
}

static bool element_count(const Onnx__TensorProto *t, size_t *out)
{
    size_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] > 0 && n > SIZE_MAX / (size_t)t->dims[i]))
            return false;
        n *= (size_t)t->dims[i];
    }
    *out = n;
    return true;
}

static bool load_strings(const Onnx__TensorProto *t, size_t n, conf_tensor *out,
                         const char *path, char *why)
{
    if (t->n_string_data != n)
        return fail(why, "%s: string_data count does not match the shape", path);
    ember_string *items = calloc(n + 1, sizeof *items);
    if (!items)
        return fail(why, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++)
        items[i] = (ember_string){(const char *)t->string_data[i].data, t->string_data[i].len};
    ember_status s = ember_value_create_strings(t->dims, t->n_dims, items, &out->value);
    free(items);
    if (s != EMBER_OK)
        return fail(why, "%s: %s", path, ember_last_error());
    return true;
}

static bool load_numeric(const Onnx__TensorProto *t, size_t n, conf_tensor *out,
                         const char *path, char *why)
{
    ember_dtype dtype = (ember_dtype)t->data_type;
    size_t bytes = ember_dtype_storage_bytes(dtype, n);
    if (bytes == 0 && n > 0)
        return fail(why, "%s: unsupported data_type %s", path, ember_dtype_name(dtype));
    uint8_t *data = malloc(bytes ? bytes : 1);
    if (!data)
        return fail(why, "%s: out of memory", path);
    bool ok = t->has_raw_data ? t->raw_data.len == bytes : copy_typed(t, dtype, bytes, data);
    if (ok && t->has_raw_data && bytes > 0)
        memcpy(data, t->raw_data.data, bytes);
    if (!ok) {
        free(data);
        return fail(why, "%s: the data does not match the shape (%s)", path,
                    t->has_raw_data ? "raw_data" : "typed field");
    }
    ember_status s = ember_value_wrap(dtype, t->dims, t->n_dims, data, bytes,
                                      (ember_device){EMBER_DEVICE_CPU, 0}, &out->value);
    if (s != EMBER_OK) {
        free(data);
        return fail(why, "%s: %s", path, ember_last_error());
    }
    out->data = data;
    return true;
}

static bool tensor_to_value(const Onnx__TensorProto *t, conf_tensor *out, const char *path,
                            char *why)
{
    size_t n;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return fail(why, "%s: external data in a test tensor is not supported", path);
    if (!element_count(t, &n))
        return fail(why, "%s: invalid dims", path);
    if (t->data_type == EMBER_DTYPE_STRING)
        return load_strings(t, n, out, path, why);
    return load_numeric(t, n, out, path, why);
}

bool conf_tensor_load(const char *path, conf_tensor *out, char *why)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (!read_file(path, &bytes, &size, why))
        return false;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, size, bytes);
    free(bytes);
    if (!t)
        return fail(why, "%s: not a valid TensorProto", path);
    conf_tensor result = {0};
    bool ok = (result.name = strdup(t->name ? t->name : "")) != NULL &&
              tensor_to_value(t, &result, path, why);
    onnx__tensor_proto__free_unpacked(t, NULL);
    if (!ok) {
        free(result.name);
        if (!why[0])
            fail(why, "%s: out of memory", path);
        return false;
    }
    *out = result;
    return true;
}

void conf_tensor_free(conf_tensor *tensor)
{
    if (!tensor)
        return;
    ember_value_destroy(tensor->value);
    free(tensor->data);
    free(tensor->name);
    memset(tensor, 0, sizeof *tensor);
}

/* ---- model scan ---------------------------------------------------------------- */

static bool add_op_type(conf_model_scan *scan, const Onnx__NodeProto *node)
{
    const char *domain = node->domain ? node->domain : "";
    const char *op = node->op_type ? node->op_type : "";
    bool is_default = !domain[0] || !strcmp(domain, "ai.onnx");
    char key[512];
    snprintf(key, sizeof key, "%s%s%s", is_default ? "" : domain, is_default ? "" : ".", op);
    for (size_t i = 0; i < scan->n_op_types; i++)
        if (!strcmp(scan->op_types[i], key))
            return true;
    char **grown = realloc(scan->op_types, (scan->n_op_types + 1) * sizeof *grown);
    if (!grown)
        return false;
    scan->op_types = grown;
    return (scan->op_types[scan->n_op_types++] = strdup(key)) != NULL;
}

static bool scan_graph(conf_model_scan *scan, const Onnx__GraphProto *graph)
{
    for (size_t i = 0; graph && i < graph->n_node; i++) {
        const Onnx__NodeProto *node = graph->node[i];
        if (!add_op_type(scan, node))
            return false;
        for (size_t a = 0; a < node->n_attribute; a++) {
            const Onnx__AttributeProto *attr = node->attribute[a];
            if (attr->g && !scan_graph(scan, attr->g))
                return false;
            for (size_t g = 0; g < attr->n_graphs; g++)
                if (!scan_graph(scan, attr->graphs[g]))
                    return false;
        }
    }
    return true;
}

static const char *kind_name(const Onnx__TypeProto *type)
{
    if (!type)
        return "value of unknown type";
    switch (type->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE: return NULL;
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "sequence";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "map";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "optional";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: return "sparse tensor";
    default: return "value of unknown type";
    }
}

static void find_unsupported(conf_model_scan *scan, const Onnx__GraphProto *graph)
{
    for (int pass = 0; pass < 2 && !scan->unsupported[0]; pass++) {
        size_t n = pass ? graph->n_output : graph->n_input;
        Onnx__ValueInfoProto **vis = pass ? graph->output : graph->input;
        for (size_t i = 0; i < n; i++) {
            const char *kind = kind_name(vis[i]->type);
            if (!kind)
                continue;
            snprintf(scan->unsupported, sizeof scan->unsupported, "%s '%s' is a %s",
                     pass ? "output" : "input", vis[i]->name ? vis[i]->name : "", kind);
            break;
        }
    }
}

bool conf_model_scan_file(const char *path, conf_model_scan *out, char *why)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (!read_file(path, &bytes, &size, why))
        return false;
    Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, bytes);
    free(bytes);
    if (!model || !model->graph) {
        onnx__model_proto__free_unpacked(model, NULL);
        return fail(why, "%s: not a valid ONNX model", path);
    }
    conf_model_scan scan = {0};
    bool ok = scan_graph(&scan, model->graph);
    if (ok)
        find_unsupported(&scan, model->graph);
    onnx__model_proto__free_unpacked(model, NULL);
    if (!ok) {
        conf_model_scan_free(&scan);
        return fail(why, "%s: out of memory", path);
    }
    *out = scan;
    return true;
}

void conf_model_scan_free(conf_model_scan *scan)
{
    for (size_t i = 0; scan && i < scan->n_op_types; i++)
        free(scan->op_types[i]);
    if (scan) {
        free(scan->op_types);
        memset(scan, 0, sizeof *scan);
    }
}
