/*
 * Large weights, read once. protobuf-c copies every bytes field out of the
 * buffer it unpacks, so a model's raw_data would sit in memory twice (the
 * file's bytes and the unpacked message) before the graph takes a third
 * copy. This pass runs first, on the wire format: it writes the model again
 * without the raw_data of the main graph's large initializers and records
 * where each one is (model_deferred); the loader then reads those bytes
 * straight into the graph's tensors, from the file or from the caller's
 * buffer. Peak memory while loading: the file once, plus a small message.
 */
#include "core/model/model_impl.h"
#include "core/model/wire.h"

#include <string.h>

#include "core/util/util.h"

/* Field numbers of onnx.proto3. */
enum {
    MODEL_GRAPH = 7,
    GRAPH_INITIALIZER = 5,
    TENSOR_RAW_DATA = 9,
    TENSOR_DATA_LOCATION = 14,
};

/* raw_data below this stays in the message (copying it costs nothing). */
#define DEFER_MIN_BYTES ((uint64_t)64 << 10)

/* One field: [start, end) in all; a length-delimited one's payload starts
 * at `payload`, after the length varint that starts at `length_at`. */
typedef struct wire_field {
    uint32_t number;
    unsigned type;
    const uint8_t *start, *length_at, *payload, *end;
} wire_field;

static bool next_field(const uint8_t **p, const uint8_t *end, wire_field *f)
{
    uint64_t tag, value;
    f->start = *p;
    if (!wire_read_varint(p, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return false;
    f->number = (uint32_t)(tag >> 3);
    f->type = (unsigned)(tag & 7);
    f->length_at = f->payload = *p;
    bool ok;
    switch (f->type) {
    case WIRE_VARINT: ok = wire_read_varint(p, end, &value); break;
    case WIRE_FIXED64: ok = wire_skip(p, end, 8); break;
    case WIRE_FIXED32: ok = wire_skip(p, end, 4); break;
    case WIRE_LENGTH:
        ok = wire_read_varint(p, end, &value) && value <= (uint64_t)(end - *p);
        f->payload = *p;
        ok = ok && wire_skip(p, end, value);
        break;
    default: ok = false;
    }
    f->end = *p;
    return ok;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    for (; v >= 0x80; v >>= 7)
        *p++ = (uint8_t)(v | 0x80);
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *put_bytes(uint8_t *p, const uint8_t *from, const uint8_t *to)
{
    memcpy(p, from, (size_t)(to - from));
    return p + (to - from);
}

/* The raw_data field of an initializer worth deferring, or false: exactly
 * one raw_data of DEFER_MIN_BYTES or more, and no data_location (external
 * data keeps its own path). */
static bool deferrable_raw(const wire_field *tensor, wire_field *raw)
{
    size_t n_raw = 0;
    const uint8_t *p = tensor->payload;
    wire_field f;
    while (p < tensor->end) {
        if (!next_field(&p, tensor->end, &f) || f.number == TENSOR_DATA_LOCATION)
            return false;
        if (f.number == TENSOR_RAW_DATA && f.type == WIRE_LENGTH) {
            *raw = f;
            n_raw++;
        }
    }
    return n_raw == 1 && (uint64_t)(raw->end - raw->payload) >= DEFER_MIN_BYTES;
}

/* The graph field of the model: exactly one, length-delimited. */
static bool find_graph(const uint8_t *bytes, size_t size, wire_field *graph_field)
{
    const uint8_t *p = bytes, *end = bytes + size;
    size_t n = 0;
    wire_field f;
    while (p < end) {
        if (!next_field(&p, end, &f))
            return false;
        if (f.number == MODEL_GRAPH) {
            *graph_field = f;
            n += f.type == WIRE_LENGTH ? 1 : 2;
        }
    }
    return n == 1;
}

static ember_status add_item(model_deferred_set *set, size_t initializer, const uint8_t *bytes,
                             const wire_field *raw)
{
    EMBER_TRY(util_grow((void **)&set->items, &set->cap, set->n + 1, sizeof *set->items));
    set->items[set->n++] = (model_deferred){initializer, (uint64_t)(raw->payload - bytes),
                                            (uint64_t)(raw->end - raw->payload)};
    return EMBER_OK;
}

/* Writes the graph's payload without the deferred raw_data fields; with
 * out NULL, only measures it (and records the items). */
static ember_status write_graph(const uint8_t *bytes, const wire_field *graph_field,
                                model_deferred_set *set, uint8_t **out, size_t *size)
{
    const uint8_t *p = graph_field->payload;
    size_t n_initializers = 0, total = 0;
    wire_field f, raw;
    while (p < graph_field->end) {
        next_field(&p, graph_field->end, &f); /* find_graph walked it whole */
        bool is_tensor = f.number == GRAPH_INITIALIZER && f.type == WIRE_LENGTH;
        size_t index = n_initializers;
        n_initializers += is_tensor;
        if (!is_tensor || !deferrable_raw(&f, &raw)) {
            total += (size_t)(f.end - f.start);
            if (*out)
                *out = put_bytes(*out, f.start, f.end);
            continue;
        }
        uint64_t length = (uint64_t)(f.end - f.payload) - (uint64_t)(raw.end - raw.start);
        total += (size_t)(f.length_at - f.start) + varint_size(length) + (size_t)length;
        if (!*out) {
            EMBER_TRY(add_item(set, index, bytes, &raw));
            continue;
        }
        *out = put_bytes(*out, f.start, f.length_at);
        *out = put_varint(*out, length);
        *out = put_bytes(*out, f.payload, raw.start);
        *out = put_bytes(*out, raw.end, f.end);
    }
    *size = total;
    return EMBER_OK;
}

ember_status model_strip_raw_data(const uint8_t *bytes, size_t size, uint8_t **out,
                                  size_t *out_size, model_deferred_set *set)
{
    wire_field graph_field;
    uint8_t *none = NULL;
    size_t graph_size = 0;
    *out = NULL;
    *set = (model_deferred_set){0};
    if (!find_graph(bytes, size, &graph_field))
        return EMBER_OK; /* unusual framing: protobuf-c and its checks decide */
    ember_status status = write_graph(bytes, &graph_field, set, &none, &graph_size);
    if (status != EMBER_OK || set->n == 0) {
        model_deferred_free(set);
        return status;
    }
    size_t graph_field_size =
        (size_t)(graph_field.length_at - graph_field.start) + varint_size(graph_size) + graph_size;
    *out_size = size - (size_t)(graph_field.end - graph_field.start) + graph_field_size;
    uint8_t *buf = util_malloc(*out_size ? *out_size : 1), *p = buf;
    if (!buf) {
        model_deferred_free(set);
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory reading the model");
    }
    p = put_bytes(p, bytes, graph_field.length_at);
    p = put_varint(p, graph_size);
    write_graph(bytes, &graph_field, set, &p, &graph_size);
    put_bytes(p, graph_field.end, bytes + size);
    *out = buf;
    return EMBER_OK;
}

void model_deferred_free(model_deferred_set *set)
{
    util_free(set->items);
    set->items = NULL;
    set->n = set->cap = 0;
}
