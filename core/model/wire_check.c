/*
 * A pre-pass over the protobuf wire format, run before protobuf-c unpacks
 * a model. It checks framing (varints, lengths, wire types) and bounds the
 * nesting depth of sub-messages by following the schema's descriptors, so
 * that a crafted file cannot make protobuf-c (which recurses per level)
 * exhaust the stack. It allocates nothing.
 */
#include "core/model/model_impl.h"
#include "core/model/wire.h"

#include "core/util/util.h"

static ember_status malformed(void)
{
    return ember_fail(EMBER_E_INVALID_MODEL, "not a valid ONNX model (protobuf parse failed)");
}

static ember_status check_message(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                                  const uint8_t *end, unsigned depth);

/* A length-delimited field: a sub-message is checked one level deeper. */
static ember_status check_length_field(const ProtobufCMessageDescriptor *desc, uint32_t number,
                                       const uint8_t **p, const uint8_t *end, unsigned depth)
{
    uint64_t len;
    if (!wire_read_varint(p, end, &len) || len > (uint64_t)(end - *p))
        return malformed();
    const ProtobufCFieldDescriptor *field =
        desc ? protobuf_c_message_descriptor_get_field(desc, number) : NULL;
    if (field && field->type == PROTOBUF_C_TYPE_MESSAGE)
        EMBER_TRY(check_message(field->descriptor, *p, *p + len, depth + 1));
    *p += len;
    return EMBER_OK;
}

static ember_status check_message(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                                  const uint8_t *end, unsigned depth)
{
    if (depth > MODEL_MAX_NESTING)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "not a valid ONNX model (messages nest deeper than %d levels)",
                          MODEL_MAX_NESTING);
    while (p < end) {
        uint64_t tag;
        if (!wire_read_varint(&p, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
            return malformed();
        bool ok = true;
        switch (tag & 7) {
        case WIRE_VARINT: ok = wire_read_varint(&p, end, &tag); break;
        case WIRE_FIXED64: ok = wire_skip(&p, end, 8); break;
        case WIRE_FIXED32: ok = wire_skip(&p, end, 4); break;
        case WIRE_LENGTH:
            EMBER_TRY(check_length_field(desc, (uint32_t)(tag >> 3), &p, end, depth));
            break;
        default: ok = false; /* groups are not used by ONNX; protobuf-c rejects them */
        }
        if (!ok)
            return malformed();
    }
    return EMBER_OK;
}

ember_status model_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *bytes,
                              size_t size)
{
    return check_message(desc, bytes, bytes + size, 0);
}
