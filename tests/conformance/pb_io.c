/*
 * Reads the ONNX test data files with protobuf-c: input_K.pb/output_K.pb as
 * the proto the model's input/output type calls for (TensorProto,
 * SequenceProto of tensors, OptionalProto of a tensor or a sequence) turned
 * into host ember_values, and model.onnx scanned for its operator types and
 * the kinds of its inputs and outputs.
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
    for (size_t i = 0; i < n; i++) { // protobuf-c leaves data NULL for an empty string
        const char *data = (const char *)t->string_data[i].data;
        items[i] = (ember_string){data ? data : "", t->string_data[i].len};
    }
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

/* ---- SequenceProto and OptionalProto -> host values ------------------------- */

static const char *data_type_name(int32_t elem_type)
{
    static const char *const names[] = {"undefined", "tensors", "sparse tensors",
                                        "sequences", "maps",    "optionals"};
    return elem_type >= 0 && elem_type <= 5 ? names[elem_type] : "unknown values";
}

/* A host sequence of copies of the proto's tensors; `declared` gives the
 * element type of an empty one (float32 when the model does not say, as
 * for SequenceEmpty's default). */
static bool sequence_to_value(const Onnx__SequenceProto *sp, ember_dtype declared,
                              ember_value **out, const char *path, char *why)
{
    size_t n = sp->n_tensor_values;
    bool is_tensors = sp->elem_type == ONNX__SEQUENCE_PROTO__DATA_TYPE__TENSOR ||
                      (sp->elem_type == ONNX__SEQUENCE_PROTO__DATA_TYPE__UNDEFINED && n == 0);
    if (!is_tensors)
        return fail(why, "%s: a sequence of %s is not supported", path,
                    data_type_name(sp->elem_type));
    conf_tensor *items = calloc(n + 1, sizeof *items);
    const ember_value **values = calloc(n + 1, sizeof *values);
    bool ok = items && values;
    for (size_t i = 0; ok && i < n; i++) {
        ok = tensor_to_value(sp->tensor_values[i], &items[i], path, why);
        values[i] = items[i].value;
    }
    ember_dtype dtype = n > 0 && ok ? ember_value_get_dtype(values[0]) : declared;
    dtype = dtype == EMBER_DTYPE_UNDEFINED ? EMBER_DTYPE_FLOAT32 : dtype;
    if (ok && ember_value_create_sequence(dtype, values, n, out) != EMBER_OK)
        ok = fail(why, "%s: %s", path, ember_last_error());
    for (size_t i = 0; items && i < n; i++)
        conf_tensor_free(&items[i]);
    free(items);
    free(values);
    if (!ok && !why[0])
        fail(why, "%s: out of memory", path);
    return ok;
}

/* An optional holding a tensor is that tensor, one holding a sequence that
 * sequence; an empty one (no elem_type, or no value) is a NONE value. */
static bool optional_to_value(const Onnx__OptionalProto *op, ember_dtype declared,
                              conf_tensor *out, const char *path, char *why)
{
    switch (op->elem_type) {
    case ONNX__OPTIONAL_PROTO__DATA_TYPE__TENSOR:
        if (op->tensor_value)
            return tensor_to_value(op->tensor_value, out, path, why);
        break;
    case ONNX__OPTIONAL_PROTO__DATA_TYPE__SEQUENCE:
        if (op->sequence_value)
            return sequence_to_value(op->sequence_value, declared, &out->value, path, why);
        break;
    case ONNX__OPTIONAL_PROTO__DATA_TYPE__UNDEFINED: break;
    default:
        return fail(why, "%s: an optional of %s is not supported", path,
                    data_type_name(op->elem_type));
    }
    if (ember_value_create_none(&out->value) != EMBER_OK)
        return fail(why, "%s: %s", path, ember_last_error());
    return true;
}

/* ---- one data file -------------------------------------------------------------- */

static bool tensor_file(const uint8_t *bytes, size_t size, conf_tensor *out, const char *path,
                        char *why)
{
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, size, bytes);
    if (!t)
        return fail(why, "%s: not a valid TensorProto", path);
    bool ok = (out->name = strdup(t->name ? t->name : "")) != NULL &&
              tensor_to_value(t, out, path, why);
    onnx__tensor_proto__free_unpacked(t, NULL);
    return ok;
}

static bool sequence_file(const uint8_t *bytes, size_t size, ember_dtype declared,
                          conf_tensor *out, const char *path, char *why)
{
    Onnx__SequenceProto *sp = onnx__sequence_proto__unpack(NULL, size, bytes);
    if (!sp)
        return fail(why, "%s: not a valid SequenceProto", path);
    bool ok = (out->name = strdup(sp->name ? sp->name : "")) != NULL &&
              sequence_to_value(sp, declared, &out->value, path, why);
    onnx__sequence_proto__free_unpacked(sp, NULL);
    return ok;
}

static bool optional_file(const uint8_t *bytes, size_t size, ember_dtype declared,
                          conf_tensor *out, const char *path, char *why)
{
    Onnx__OptionalProto *op = onnx__optional_proto__unpack(NULL, size, bytes);
    if (!op)
        return fail(why, "%s: not a valid OptionalProto", path);
    bool ok = (out->name = strdup(op->name ? op->name : "")) != NULL &&
              optional_to_value(op, declared, out, path, why);
    onnx__optional_proto__free_unpacked(op, NULL);
    return ok;
}

bool conf_value_load(const char *path, const conf_io_type *type, conf_tensor *out, char *why)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (!read_file(path, &bytes, &size, why))
        return false;
    conf_kind kind = type ? type->kind : CONF_KIND_TENSOR;
    ember_dtype declared = type ? type->dtype : EMBER_DTYPE_UNDEFINED;
    conf_tensor result = {0};
    bool ok = kind == CONF_KIND_SEQUENCE ? sequence_file(bytes, size, declared, &result, path, why)
              : kind == CONF_KIND_OPTIONAL
                  ? optional_file(bytes, size, declared, &result, path, why)
                  : tensor_file(bytes, size, &result, path, why);
    free(bytes);
    if (!ok) {
        conf_tensor_free(&result);
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

static const char *type_case_name(const Onnx__TypeProto *type)
{
    switch (type->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE: return "tensor";
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "sequence";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "map";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "optional";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: return "sparse tensor";
    default: return "value of unknown type";
    }
}

/* The element type when `type` is a tensor type (UNDEFINED when unstated). */
static bool tensor_elem(const Onnx__TypeProto *type, ember_dtype *out)
{
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !type->tensor_type)
        return false;
    const Onnx__TypeProto__Tensor *tt = type->tensor_type;
    *out = tt->has_elem_type ? (ember_dtype)tt->elem_type : EMBER_DTYPE_UNDEFINED;
    return true;
}

/* Whether `type` is a sequence of tensors; *out gets their element type. */
static bool sequence_elem(const Onnx__TypeProto *type, ember_dtype *out)
{
    return type && type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE &&
           type->sequence_type && tensor_elem(type->sequence_type->elem_type, out);
}

/* Decodes what an input/output holds; returns NULL, or the name of a kind
 * the runner does not read. */
static const char *io_type(const Onnx__TypeProto *type, conf_io_type *out)
{
    *out = (conf_io_type){CONF_KIND_TENSOR, EMBER_DTYPE_UNDEFINED};
    if (!type)
        return "value of unknown type";
    if (tensor_elem(type, &out->dtype))
        return NULL;
    if (type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) {
        out->kind = CONF_KIND_SEQUENCE;
        return sequence_elem(type, &out->dtype) ? NULL : "sequence of non-tensors";
    }
    if (type->value_case != ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)
        return type_case_name(type);
    out->kind = CONF_KIND_OPTIONAL;
    const Onnx__TypeProto *elem = type->optional_type ? type->optional_type->elem_type : NULL;
    if (tensor_elem(elem, &out->dtype) || sequence_elem(elem, &out->dtype))
        return NULL;
    return "optional of neither a tensor nor a sequence of tensors";
}

/* Decodes the types of a graph's inputs or outputs into *types; the first
 * kind the runner lacks goes into scan->unsupported. */
static bool scan_io(conf_model_scan *scan, Onnx__ValueInfoProto *const *vis, size_t n,
                    const char *what, conf_io_type **types)
{
    *types = calloc(n + 1, sizeof **types);
    if (!*types)
        return false;
    for (size_t i = 0; i < n; i++) {
        const char *kind = io_type(vis[i]->type, &(*types)[i]);
        if (!kind || scan->unsupported[0])
            continue;
        snprintf(scan->unsupported, sizeof scan->unsupported, "%s '%s' is a %s", what,
                 vis[i]->name ? vis[i]->name : "", kind);
    }
    return true;
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
    const Onnx__GraphProto *g = model->graph;
    bool ok = scan_graph(&scan, g) &&
              scan_io(&scan, g->input, g->n_input, "input", &scan.inputs) &&
              scan_io(&scan, g->output, g->n_output, "output", &scan.outputs);
    scan.n_inputs = g->n_input;
    scan.n_outputs = g->n_output;
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
        free(scan->inputs);
        free(scan->outputs);
        memset(scan, 0, sizeof *scan);
    }
}
