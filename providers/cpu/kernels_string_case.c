/*
 * Case mapping for StringNormalizer (part of the string family): UTF-8 text
 * is mapped code point by code point with the simple (one to one) Unicode
 * mappings of the scripts with case most often met: ASCII, Latin-1,
 * Latin Extended-A, Latin Extended Additional, Greek, Cyrillic, Armenian
 * and the fullwidth Latin letters. Turkish and Azeri locales map i/I to
 * dotted/dotless forms. Bytes that are not valid UTF-8 are copied as they
 * are. No code point grows by more than one byte, so the output of n
 * bytes fits in 2n bytes.
 */
#include "kernels_string.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

/* Decodes one code point of s[0..n) (n >= 1); *len gets its byte count.
 * Returns -1 (with *len = 1) for a byte that starts no valid sequence. */
static int32_t case_decode(const unsigned char *s, size_t n, size_t *len)
{
    *len = 1;
    if (s[0] < 0x80)
        return s[0];
    size_t m = s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (m == 0 || m > n || (m == 3 && s[0] >= 0xf0))
        return -1;
    int32_t cp = s[0] & (0x7f >> m);
    for (size_t j = 1; j < m; j++) {
        if ((s[j] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[j] & 0x3f);
    }
    if ((m == 3 && cp < 0x800) || (m == 4 && cp < 0x10000) || (cp >= 0xd800 && cp < 0xe000) ||
        cp > 0x10ffff)
        return -1;
    *len = m;
    return cp;
}

static size_t case_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Ranges where upper and lower case alternate (upper at the even or odd
 * code point given by `upper_odd`). */
typedef struct case_pairs {
    uint32_t first, last;
    bool upper_odd;
} case_pairs;

static const case_pairs case_pair_ranges[] = {
    {0x0100, 0x012f, false}, {0x0132, 0x0137, false}, {0x0139, 0x0148, true},
    {0x014a, 0x0177, false}, {0x0179, 0x017e, true},  {0x0460, 0x0481, false},
    {0x048a, 0x04bf, false}, {0x04c1, 0x04ce, true},  {0x04d0, 0x052f, false},
    {0x1e00, 0x1e95, false}, {0x1ea0, 0x1eff, false},
};

/* Ranges whose lower case is `delta` code points above the upper case. */
typedef struct case_block {
    uint32_t upper_first, upper_last;
    uint32_t delta;
} case_block;

static const case_block case_blocks[] = {
    {'A', 'Z', 0x20},         {0x00c0, 0x00d6, 0x20}, {0x00d8, 0x00de, 0x20},
    {0x0388, 0x038a, 0x25},   {0x038e, 0x038f, 0x3f}, {0x0391, 0x03a1, 0x20},
    {0x03a3, 0x03ab, 0x20},   {0x0400, 0x040f, 0x50}, {0x0410, 0x042f, 0x20},
    {0x0531, 0x0556, 0x30},   {0xff21, 0xff3a, 0x20},
};

/* Single mappings outside the tables: {upper, lower}. */
static const uint32_t case_singles[][2] = {
    {0x0178, 0x00ff}, {0x0386, 0x03ac}, {0x038c, 0x03cc}, {0x04c0, 0x04cf},
};

static uint32_t case_to_lower(uint32_t c, bool turkish)
{
    if (turkish && (c == 'I' || c == 0x0130))
        return c == 'I' ? 0x0131 : 'i';
    if (c == 0x0130)
        return 'i';
    for (size_t i = 0; i < sizeof case_blocks / sizeof case_blocks[0]; i++)
        if (c >= case_blocks[i].upper_first && c <= case_blocks[i].upper_last)
            return c + case_blocks[i].delta;
    for (size_t i = 0; i < sizeof case_pair_ranges / sizeof case_pair_ranges[0]; i++) {
        const case_pairs *r = &case_pair_ranges[i];
        if (c >= r->first && c <= r->last && ((c & 1) != 0) == r->upper_odd)
            return c + 1;
    }
    for (size_t i = 0; i < sizeof case_singles / sizeof case_singles[0]; i++)
        if (c == case_singles[i][0])
            return case_singles[i][1];
    return c;
}

static uint32_t case_to_upper(uint32_t c, bool turkish)
{
    if (turkish && (c == 'i' || c == 0x0131))
        return c == 'i' ? 0x0130 : 'I';
    if (c == 0x0131 || c == 0x017f)
        return c == 0x0131 ? 'I' : 'S';
    if (c == 0x00b5)
        return 0x039c;
    if (c == 0x03c2)
        return 0x03a3;
    for (size_t i = 0; i < sizeof case_blocks / sizeof case_blocks[0]; i++)
        if (c >= case_blocks[i].upper_first + case_blocks[i].delta &&
            c <= case_blocks[i].upper_last + case_blocks[i].delta)
            return c - case_blocks[i].delta;
    for (size_t i = 0; i < sizeof case_pair_ranges / sizeof case_pair_ranges[0]; i++) {
        const case_pairs *r = &case_pair_ranges[i];
        if (c > r->first && c <= r->last && ((c & 1) != 0) != r->upper_odd)
            return c - 1;
    }
    for (size_t i = 0; i < sizeof case_singles / sizeof case_singles[0]; i++)
        if (c == case_singles[i][1])
            return case_singles[i][0];
    return c;
}

size_t cpu_case_map(const char *src, size_t n, int action, bool turkish, char *dst)
{
    const unsigned char *s = (const unsigned char *)src;
    unsigned char *d = (unsigned char *)dst;
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        int32_t cp = case_decode(s + i, n - i, &len);
        if (cp < 0 || action == CASE_NONE) {
            memcpy(d + out, s + i, len);
            out += len;
        } else {
            uint32_t m = action == CASE_LOWER ? case_to_lower((uint32_t)cp, turkish)
                                              : case_to_upper((uint32_t)cp, turkish);
            out += case_encode(m, d + out);
        }
        i += len;
    }
    return out;
}
