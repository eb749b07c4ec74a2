/*
 * Test support: ONNX models built in memory with protobuf-c (see
 * model_builder.h). Plain malloc throughout; protobuf-c's free_unpacked
 * with its default allocator frees a whole model.
 */
#include "model_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory ----------------------------------------------------------- */

static void *must(void *p)
{
    if (!p) {
        fprintf(stderr, "model_builder: out of memory\n");
        abort();
    }
    return p;
}

static void *zalloc(size_t size)
{
    return must(calloc(1, size ? size : 1));
}

static char *dup(const char *s)
{
    return must(strdup(s ? s : ""));
}

/* Appends item to a protobuf-c repeated field (*items, *n). */
static void push(void ***items, size_t *n, void *item)
{
    *items = must(realloc(*items, (*n + 1) * sizeof **items));
    (*items)[(*n)++] = item;
}

#define PUSH(array, count, item) push((void ***)&(array), &(count), (item))

/* ---- models ------------------------------------------------------------ */

Onnx__ModelProto *mb_model_create(int64_t opset)
{
    Onnx__ModelProto *m = zalloc(sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    m->producer_name = dup("ember-tests");
    m->graph = mb_graph_create("main");
    if (opset > 0)
        mb_model_add_opset(m, "", opset);
    return m;
}

void mb_model_destroy(Onnx__ModelProto *m)
{
    if (m)
        onnx__model_proto__free_unpacked(m, NULL);
}

void mb_model_add_opset(Onnx__ModelProto *m, const char *domain, int64_t version)
{
    Onnx__OperatorSetIdProto *op = zalloc(sizeof *op);
    onnx__operator_set_id_proto__init(op);
    op->domain = dup(domain);
    op->has_version = 1;
    op->version = version;
    PUSH(m->opset_import, m->n_opset_import, op);
}

void mb_model_add_metadata(Onnx__ModelProto *m, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = zalloc(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = dup(key);
    e->value = dup(value);
    PUSH(m->metadata_props, m->n_metadata_props, e);
}

uint8_t *mb_model_pack(const Onnx__ModelProto *m, size_t *size)
{
    size_t n = onnx__model_proto__get_packed_size(m);
    uint8_t *bytes = zalloc(n);
    *size = onnx__model_proto__pack(m, bytes);
    return bytes;
}

/* ---- graphs ------------------------------------------------------------ */

Onnx__GraphProto *mb_graph_create(const char *name)
{
    Onnx__GraphProto *g = zalloc(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = dup(name);
    return g;
}

void mb_graph_destroy(Onnx__GraphProto *g)
{
    if (g)
        onnx__graph_proto__free_unpacked(g, NULL);
}

static Onnx__ValueInfoProto *value_info(const char *name, int32_t dtype, int rank,
                                        const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = zalloc(sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = dup(name);
    Onnx__TypeProto *type = zalloc(sizeof *type);
    onnx__type_proto__init(type);
    Onnx__TypeProto__Tensor *tensor = zalloc(sizeof *tensor);
    onnx__type_proto__tensor__init(tensor);
    if (dtype) {
        tensor->has_elem_type = 1;
        tensor->elem_type = dtype;
    }
    if (rank >= 0) {
        tensor->shape = zalloc(sizeof *tensor->shape);
        onnx__tensor_shape_proto__init(tensor->shape);
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = zalloc(sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (dims[i] >= 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            }
            PUSH(tensor->shape->dim, tensor->shape->n_dim, d);
        }
    }
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tensor;
    vi->type = type;
    return vi;
}

Onnx__ValueInfoProto *mb_graph_add_input(Onnx__GraphProto *g, const char *name, int32_t dtype,
                                         int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = value_info(name, dtype, rank, dims);
    PUSH(g->input, g->n_input, vi);
    return vi;
}

Onnx__ValueInfoProto *mb_graph_add_output(Onnx__GraphProto *g, const char *name, int32_t dtype,
                                          int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = value_info(name, dtype, rank, dims);
    PUSH(g->output, g->n_output, vi);
    return vi;
}

Onnx__ValueInfoProto *mb_graph_add_value_info(Onnx__GraphProto *g, const char *name,
                                              int32_t dtype, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = value_info(name, dtype, rank, dims);
    PUSH(g->value_info, g->n_value_info, vi);
    return vi;
}

void mb_value_set_dim_param(Onnx__ValueInfoProto *vi, size_t axis, const char *name)
{
    Onnx__TensorShapeProto *shape = vi->type->tensor_type->shape;
    if (!shape || axis >= shape->n_dim)
        abort();
    Onnx__TensorShapeProto__Dimension *d = shape->dim[axis];
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d->dim_param = dup(name);
}

/* Splits "a,,b" into a repeated string field. */
static void split_names(const char *list, char ***items, size_t *n)
{
    if (!list || !*list)
        return;
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        PUSH(*items, *n, must(strndup(p, len)));
        if (!p[len])
            break;
        p += len + 1;
    }
}

static Onnx__NodeProto *node_new(const char *op_type, const char *name, const char *inputs,
                                 const char *outputs)
{
    Onnx__NodeProto *n = zalloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = dup(op_type);
    if (name)
        n->name = dup(name);
    split_names(inputs, &n->input, &n->n_input);
    split_names(outputs, &n->output, &n->n_output);
    return n;
}

Onnx__NodeProto *mb_graph_add_node(Onnx__GraphProto *g, const char *op_type, const char *name,
                                   const char *inputs, const char *outputs)
{
    Onnx__NodeProto *n = node_new(op_type, name, inputs, outputs);
    PUSH(g->node, g->n_node, n);
    return n;
}

void mb_node_set_domain(Onnx__NodeProto *n, const char *domain)
{
    free(n->domain);
    n->domain = dup(domain);
}

Onnx__ModelProto *mb_model_single_node(const char *op_type, const char *inputs,
                                       const char *outputs, int64_t opset, int32_t dtype,
                                       int rank, const int64_t *dims)
{
    Onnx__ModelProto *m = mb_model_create(opset);
    Onnx__NodeProto *n = mb_graph_add_node(m->graph, op_type, "node", inputs, outputs);
    for (size_t i = 0; i < n->n_input; i++)
        if (n->input[i][0])
            mb_graph_add_input(m->graph, n->input[i], dtype, rank, dims);
    for (size_t i = 0; i < n->n_output; i++)
        if (n->output[i][0])
            mb_graph_add_output(m->graph, n->output[i], dtype, rank, dims);
    return m;
}

/* ---- model-local functions --------------------------------------------- */

Onnx__FunctionProto *mb_model_add_function(Onnx__ModelProto *m, const char *domain,
                                           const char *name, const char *inputs,
                                           const char *outputs)
{
    Onnx__FunctionProto *f = zalloc(sizeof *f);
    onnx__function_proto__init(f);
    f->domain = dup(domain);
    f->name = dup(name);
    split_names(inputs, &f->input, &f->n_input);
    split_names(outputs, &f->output, &f->n_output);
    Onnx__OperatorSetIdProto *op = zalloc(sizeof *op);
    onnx__operator_set_id_proto__init(op);
    op->domain = dup("");
    op->has_version = 1;
    op->version = m->n_opset_import ? m->opset_import[0]->version : 1;
    PUSH(f->opset_import, f->n_opset_import, op);
    PUSH(m->functions, m->n_functions, f);
    return f;
}

Onnx__NodeProto *mb_function_add_node(Onnx__FunctionProto *f, const char *op_type,
                                      const char *name, const char *inputs,
                                      const char *outputs)
{
    Onnx__NodeProto *n = node_new(op_type, name, inputs, outputs);
    PUSH(f->node, f->n_node, n);
    return n;
}

void mb_function_add_attr(Onnx__FunctionProto *f, const char *name)
{
    PUSH(f->attribute, f->n_attribute, dup(name));
}

static Onnx__AttributeProto *attr_new(const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = zalloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = dup(name);
    a->has_type = 1;
    a->type = type;
    return a;
}

void mb_function_add_attr_float(Onnx__FunctionProto *f, const char *name, float value)
{
    Onnx__AttributeProto *a = attr_new(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = value;
    PUSH(f->attribute_proto, f->n_attribute_proto, a);
}

/* ---- tensors ----------------------------------------------------------- */

Onnx__TensorProto *mb_tensor_create(const char *name, int32_t dtype, size_t rank,
                                    const int64_t *dims, const void *raw, size_t raw_bytes)
{
    Onnx__TensorProto *t = zalloc(sizeof *t);
    onnx__tensor_proto__init(t);
    if (name)
        t->name = dup(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = rank;
    t->dims = zalloc(rank * sizeof *t->dims);
    if (rank)
        memcpy(t->dims, dims, rank * sizeof *dims);
    if (raw) {
        t->has_raw_data = 1;
        t->raw_data.len = raw_bytes;
        t->raw_data.data = zalloc(raw_bytes);
        memcpy(t->raw_data.data, raw, raw_bytes);
    }
    return t;
}

static void *copy_array(const void *src, size_t n, size_t size)
{
    void *dst = zalloc(n * size);
    if (n)
        memcpy(dst, src, n * size);
    return dst;
}

void mb_tensor_set_floats(Onnx__TensorProto *t, const float *values, size_t n)
{
    free(t->float_data);
    t->float_data = copy_array(values, n, sizeof *values);
    t->n_float_data = n;
}

void mb_tensor_set_int32s(Onnx__TensorProto *t, const int32_t *values, size_t n)
{
    free(t->int32_data);
    t->int32_data = copy_array(values, n, sizeof *values);
    t->n_int32_data = n;
}

void mb_tensor_set_int64s(Onnx__TensorProto *t, const int64_t *values, size_t n)
{
    free(t->int64_data);
    t->int64_data = copy_array(values, n, sizeof *values);
    t->n_int64_data = n;
}

void mb_tensor_set_strings(Onnx__TensorProto *t, const char *const *values, size_t n)
{
    t->string_data = zalloc(n * sizeof *t->string_data);
    t->n_string_data = n;
    for (size_t i = 0; i < n; i++) {
        t->string_data[i].len = strlen(values[i]);
        t->string_data[i].data = copy_array(values[i], t->string_data[i].len, 1);
    }
}

static void add_entry(Onnx__TensorProto *t, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = zalloc(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = dup(key);
    e->value = dup(value);
    PUSH(t->external_data, t->n_external_data, e);
}

void mb_tensor_set_external(Onnx__TensorProto *t, const char *location, int64_t offset,
                            int64_t length)
{
    char number[32];
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    add_entry(t, "location", location);
    if (offset >= 0) {
        snprintf(number, sizeof number, "%lld", (long long)offset);
        add_entry(t, "offset", number);
    }
    if (length >= 0) {
        snprintf(number, sizeof number, "%lld", (long long)length);
        add_entry(t, "length", number);
    }
}

void mb_tensor_destroy(Onnx__TensorProto *t)
{
    if (t)
        onnx__tensor_proto__free_unpacked(t, NULL);
}

void mb_graph_add_initializer(Onnx__GraphProto *g, Onnx__TensorProto *t)
{
    PUSH(g->initializer, g->n_initializer, t);
}

/* ---- attributes -------------------------------------------------------- */

static Onnx__AttributeProto *add_attr(Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = attr_new(name, type);
    PUSH(n->attribute, n->n_attribute, a);
    return a;
}

void mb_attr_ref(Onnx__NodeProto *n, const char *name, int type, const char *ref)
{
    add_attr(n, name, (Onnx__AttributeProto__AttributeType)type)->ref_attr_name = dup(ref);
}

void mb_attr_int(Onnx__NodeProto *n, const char *name, int64_t value)
{
    Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = value;
}

void mb_attr_float(Onnx__NodeProto *n, const char *name, float value)
{
    Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = value;
}

void mb_attr_string(Onnx__NodeProto *n, const char *name, const char *value)
{
    Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(value);
    a->s.data = copy_array(value, a->s.len, 1);
}

void mb_attr_ints(Onnx__NodeProto *n, const char *name, const int64_t *values, size_t count)
{
    Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->ints = copy_array(values, count, sizeof *values);
    a->n_ints = count;
}

void mb_attr_floats(Onnx__NodeProto *n, const char *name, const float *values, size_t count)
{
    Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->floats = copy_array(values, count, sizeof *values);
    a->n_floats = count;
}

void mb_attr_strings(Onnx__NodeProto *n, const char *name, const char *const *values,
                     size_t count)
{
    Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->strings = zalloc(count * sizeof *a->strings);
    a->n_strings = count;
    for (size_t i = 0; i < count; i++) {
        a->strings[i].len = strlen(values[i]);
        a->strings[i].data = copy_array(values[i], a->strings[i].len, 1);
    }
}

void mb_attr_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
}

void mb_attr_graph(Onnx__NodeProto *n, const char *name, Onnx__GraphProto *g)
{
    add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = g;
}
