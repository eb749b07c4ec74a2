/*
 * NumPy .npy reader and writer for `ember run`. The header is a Python dict
 * literal ({'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }),
 * parsed here by a small tokenizer that accepts exactly that grammar.
 */
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* The descr each dtype is written with; reading ignores the byte-order mark
 * of one-byte types and accepts '<' or '=' for the others. */
static const struct {
    const char *descr;
    ember_dtype dtype;
} npy_types[] = {
    {"<f2", EMBER_DTYPE_FLOAT16}, {"<f4", EMBER_DTYPE_FLOAT32}, {"<f8", EMBER_DTYPE_FLOAT64},
    {"|i1", EMBER_DTYPE_INT8},    {"<i2", EMBER_DTYPE_INT16},   {"<i4", EMBER_DTYPE_INT32},
    {"<i8", EMBER_DTYPE_INT64},   {"|u1", EMBER_DTYPE_UINT8},   {"<u2", EMBER_DTYPE_UINT16},
    {"<u4", EMBER_DTYPE_UINT32},  {"<u8", EMBER_DTYPE_UINT64},  {"|b1", EMBER_DTYPE_BOOL},
};
#define N_NPY_TYPES (sizeof npy_types / sizeof npy_types[0])

const char *npy_descr(ember_dtype dtype)
{
    for (size_t i = 0; i < N_NPY_TYPES; i++)
        if (npy_types[i].dtype == dtype)
            return npy_types[i].descr;
    return NULL;
}

/* ---- header parsing -------------------------------------------------------- */

typedef struct header_parser {
    const char *p, *end;
    const char *path;
} header_parser;

typedef struct npy_header {
    char descr[32];
    bool fortran_order;
    bool has_descr, has_order, has_shape;
    size_t rank;
    int64_t dims[NPY_MAX_RANK];
} npy_header;

static void skip_space(header_parser *hp)
{
    while (hp->p < hp->end && isspace((unsigned char)*hp->p))
        hp->p++;
}

static bool accept(header_parser *hp, char c)
{
    skip_space(hp);
    if (hp->p < hp->end && *hp->p == c) {
        hp->p++;
        return true;
    }
    return false;
}

static int bad_header(header_parser *hp, const char *what)
{
    return cli_fail("%s: malformed .npy header (%s)", hp->path, what);
}

static int parse_string(header_parser *hp, char *buf, size_t size)
{
    skip_space(hp);
    if (hp->p >= hp->end || (*hp->p != '\'' && *hp->p != '"'))
        return bad_header(hp, "expected a quoted string");
    char quote = *hp->p++;
    size_t n = 0;
    while (hp->p < hp->end && *hp->p != quote) {
        if (n + 1 >= size)
            return bad_header(hp, "string too long");
        buf[n++] = *hp->p++;
    }
    if (hp->p >= hp->end)
        return bad_header(hp, "unterminated string");
    hp->p++;
    buf[n] = '\0';
    return CLI_OK;
}

static int parse_bool(header_parser *hp, bool *out)
{
    skip_space(hp);
    size_t left = (size_t)(hp->end - hp->p);
    if (left >= 4 && memcmp(hp->p, "True", 4) == 0) {
        hp->p += 4;
        *out = true;
        return CLI_OK;
    }
    if (left >= 5 && memcmp(hp->p, "False", 5) == 0) {
        hp->p += 5;
        *out = false;
        return CLI_OK;
    }
    return bad_header(hp, "expected True or False");
}

static int parse_shape(header_parser *hp, npy_header *h)
{
    if (!accept(hp, '('))
        return bad_header(hp, "expected '(' for the shape");
    h->rank = 0;
    while (!accept(hp, ')')) {
        skip_space(hp);
        if (hp->p >= hp->end || !isdigit((unsigned char)*hp->p))
            return bad_header(hp, "expected a dimension");
        if (h->rank == NPY_MAX_RANK)
            return cli_fail("%s: rank above %d is not supported", hp->path, NPY_MAX_RANK);
        char *after;
        errno = 0;
        long long v = strtoll(hp->p, &after, 10);
        if (errno != 0 || after > hp->end)
            return bad_header(hp, "dimension out of range");
        hp->p = after;
        h->dims[h->rank++] = v;
        if (!accept(hp, ',') && !(skip_space(hp), hp->p < hp->end && *hp->p == ')'))
            return bad_header(hp, "expected ',' or ')' in the shape");
    }
    return CLI_OK;
}

static int parse_entry(header_parser *hp, npy_header *h)
{
    char key[32];
    int rc = parse_string(hp, key, sizeof key);
    if (rc != CLI_OK)
        return rc;
    if (!accept(hp, ':'))
        return bad_header(hp, "expected ':'");
    if (strcmp(key, "descr") == 0) {
        h->has_descr = true;
        skip_space(hp);
        if (hp->p < hp->end && *hp->p == '[')
            return cli_fail("%s: structured dtypes are not supported", hp->path);
        return parse_string(hp, h->descr, sizeof h->descr);
    }
    if (strcmp(key, "fortran_order") == 0) {
        h->has_order = true;
        return parse_bool(hp, &h->fortran_order);
    }
    if (strcmp(key, "shape") == 0) {
        h->has_shape = true;
        return parse_shape(hp, h);
    }
    return cli_fail("%s: unknown key '%s' in the .npy header", hp->path, key);
}

static int parse_header(const char *path, const char *text, size_t len, npy_header *h)
{
    header_parser hp = {text, text + len, path};
    memset(h, 0, sizeof *h);
    if (!accept(&hp, '{'))
        return bad_header(&hp, "expected '{'");
    while (!accept(&hp, '}')) {
        int rc = parse_entry(&hp, h);
        if (rc != CLI_OK)
            return rc;
        if (!accept(&hp, ',') && !(skip_space(&hp), hp.p < hp.end && *hp.p == '}'))
            return bad_header(&hp, "expected ',' or '}'");
    }
    if (!h->has_descr || !h->has_order || !h->has_shape)
        return bad_header(&hp, "needs descr, fortran_order and shape");
    return CLI_OK;
}

/* Maps a descr to a dtype, refusing what Ember cannot take with a reason. */
static int descr_to_dtype(const char *path, const char *descr, ember_dtype *out)
{
    bool has_order = strchr("<>|=", descr[0]) != NULL && descr[0] != '\0';
    char order = has_order ? descr[0] : '=';
    const char *code = has_order ? descr + 1 : descr;
    if (strcmp(code, "O") == 0)
        return cli_fail("%s: object arrays (dtype 'O') are not supported", path);
    for (size_t i = 0; i < N_NPY_TYPES; i++) {
        if (strcmp(code, npy_types[i].descr + 1) != 0)
            continue;
        if (order == '>' && code[1] != '1')
            return cli_fail("%s: big-endian data ('%s') is not supported; save it "
                            "little-endian", path, descr);
        *out = npy_types[i].dtype;
        return CLI_OK;
    }
    return cli_fail("%s: dtype '%s' is not supported (use f2 f4 f8 i1 i2 i4 i8 u1 u2 "
                    "u4 u8 b1)", path, descr);
}

/* ---- reading --------------------------------------------------------------- */

static int read_exact(FILE *f, void *buf, size_t n, const char *path, const char *what)
{
    if (fread(buf, 1, n, f) != n)
        return cli_fail("%s: truncated .npy file (while reading %s)", path, what);
    return CLI_OK;
}

static int read_header_text(FILE *f, const char *path, char **text, size_t *len)
{
    unsigned char pre[8];
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, npy_magic, 6) != 0)
        return cli_fail("%s: not a .npy file (bad magic)", path);
    if (pre[6] < 1 || pre[6] > 3)
        return cli_fail("%s: .npy format version %d.%d is not supported", path, pre[6],
                        pre[7]);
    unsigned char lb[4] = {0};
    size_t n_len_bytes = pre[6] == 1 ? 2 : 4;
    int rc = read_exact(f, lb, n_len_bytes, path, "the header length");
    if (rc != CLI_OK)
        return rc;
    size_t n = (size_t)lb[0] | (size_t)lb[1] << 8 | (size_t)lb[2] << 16 | (size_t)lb[3] << 24;
    if (n > (1u << 20))
        return cli_fail("%s: .npy header of %zu bytes is too large", path, n);
    char *buf = malloc(n + 1);
    if (!buf)
        return cli_fail("out of memory");
    rc = read_exact(f, buf, n, path, "the header");
    if (rc != CLI_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return CLI_OK;
}

static int data_size(const char *path, const npy_header *h, ember_dtype dtype, size_t *out)
{
    size_t n = 1;
    for (size_t i = 0; i < h->rank; i++) {
        if (h->dims[i] < 0 || (h->dims[i] > 0 && n > SIZE_MAX / (size_t)h->dims[i]))
            return cli_fail("%s: shape is too large", path);
        n *= (size_t)h->dims[i];
    }
    size_t elem = ember_dtype_size(dtype);
    if (n > SIZE_MAX / elem)
        return cli_fail("%s: shape is too large", path);
    *out = n * elem;
    return CLI_OK;
}

static int read_payload(FILE *f, const char *path, size_t bytes, void **out)
{
    void *data = malloc(bytes ? bytes : 1);
    if (!data)
        return cli_fail("%s: out of memory for %zu bytes of data", path, bytes);
    size_t got = fread(data, 1, bytes, f);
    if (got != bytes) {
        free(data);
        return cli_fail("%s: truncated .npy file: expected %zu bytes of data, found %zu", path,
                        bytes, got);
    }
    *out = data;
    return CLI_OK;
}

static int read_body(FILE *f, const char *path, npy_array *out)
{
    char *text = NULL;
    size_t len = 0;
    npy_header h;
    ember_dtype dtype = EMBER_DTYPE_UNDEFINED;
    size_t bytes = 0;
    void *data = NULL;
    int rc = read_header_text(f, path, &text, &len);
    if (rc != CLI_OK)
        return rc;
    rc = parse_header(path, text, len, &h);
    if (rc == CLI_OK)
        rc = descr_to_dtype(path, h.descr, &dtype);
    if (rc == CLI_OK && h.fortran_order && h.rank > 1)
        rc = cli_fail("%s: fortran_order arrays are not supported; save a C-order array "
                      "(numpy.ascontiguousarray)", path);
    if (rc == CLI_OK)
        rc = data_size(path, &h, dtype, &bytes);
    if (rc == CLI_OK)
        rc = read_payload(f, path, bytes, &data);
    free(text);
    if (rc != CLI_OK)
        return rc;
    out->dtype = dtype;
    out->rank = h.rank;
    memcpy(out->dims, h.dims, sizeof h.dims);
    out->data = data;
    out->data_bytes = bytes;
    return CLI_OK;
}

int npy_read(const char *path, npy_array *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_fail("cannot open '%s': %s", path, strerror(errno));
    int rc = read_body(f, path, out);
    fclose(f);
    return rc;
}

void npy_array_free(npy_array *array)
{
    if (!array)
        return;
    free(array->data);
    array->data = NULL;
}

/* ---- writing --------------------------------------------------------------- */

static size_t format_header(char *buf, size_t size, const char *descr, const int64_t *dims,
                            size_t rank)
{
    size_t n = (size_t)snprintf(buf, size, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                descr);
    for (size_t i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%lld,%s", (long long)dims[i],
                              i + 1 < rank ? " " : "");
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "), }");
    return n;
}

static int write_file(const char *path, const char *header, size_t header_len,
                      const void *data, size_t data_bytes)
{
    /* Version 1.0 while the header fits 16 bits; the total is padded to 64. */
    bool v1 = header_len + 10 + 64 < 65536;
    size_t pre = v1 ? 10 : 12;
    size_t padded = (pre + header_len + 1 + 63) / 64 * 64 - pre;
    unsigned char head[12];
    memcpy(head, npy_magic, 6);
    head[6] = v1 ? 1 : 2;
    head[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        head[8 + i] = (unsigned char)(padded >> (8 * i));
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_fail("cannot create '%s': %s", path, strerror(errno));
    bool ok = fwrite(head, 1, pre, f) == pre && fwrite(header, 1, header_len, f) == header_len;
    for (size_t i = header_len; ok && i + 1 < padded; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && fwrite(data, 1, data_bytes, f) == data_bytes;
    ok = (fclose(f) == 0) && ok;
    return ok ? CLI_OK : cli_fail("cannot write '%s': %s", path, strerror(errno));
}

int npy_write(const char *path, ember_dtype dtype, const int64_t *dims, size_t rank,
              const void *data, size_t data_bytes)
{
    const char *descr = npy_descr(dtype);
    if (!descr)
        return cli_fail("cannot write '%s': dtype %s has no .npy equivalent", path,
                        ember_dtype_name(dtype));
    size_t cap = 128 + 24 * rank;
    char *header = malloc(cap);
    if (!header)
        return cli_fail("out of memory");
    size_t len = format_header(header, cap, descr, dims, rank);
    int rc = write_file(path, header, len, data, data_bytes);
    free(header);
    return rc;
}
