/*
 * Private to core/model: reading the protobuf wire format by hand, for the
 * passes that run before protobuf-c unpacks a model (wire_check.c,
 * wire_strip.c).
 */
#ifndef EMBER_CORE_MODEL_WIRE_H
#define EMBER_CORE_MODEL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    WIRE_VARINT = 0,
    WIRE_FIXED64 = 1,
    WIRE_LENGTH = 2,
    WIRE_FIXED32 = 5,
};

static inline bool wire_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = value;
            return true;
        }
    }
    return false;
}

static inline bool wire_skip(const uint8_t **p, const uint8_t *end, uint64_t n)
{
    if (n > (uint64_t)(end - *p))
        return false;
    *p += n;
    return true;
}

#endif /* EMBER_CORE_MODEL_WIRE_H */
