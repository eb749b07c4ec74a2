/*
 * RegexFullMatch (part of the string family): the pattern is RE2 syntax;
 * it is translated once at kernel_create into a POSIX extended regex
 * (with the GNU \b \B word boundaries of glibc) anchored at both ends,
 * and compiled with <regex.h>. The translation covers the RE2 features
 * that have a POSIX counterpart: \d \w \s and their negations (also inside
 * brackets), \A \z, \n \t \r \f \v \xHH \x{H..}, escaped punctuation,
 * (?:...) and named groups, a leading (?i) or (?s), lazy quantifiers
 * (which cannot change whether the whole string matches), and '{' that
 * is not a repetition. Anything else RE2-specific (\p classes,
 * backreferences, scoped flags) is refused with EMBER_E_NOT_IMPLEMENTED.
 * Matching is on bytes: a bracket expression with a non-ASCII character
 * is refused.
 */
#include "kernels_string.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct regex_params {
    regex_t re;
    bool compiled;
} regex_params;

static void regex_release(void *params)
{
    regex_params *p = params;
    if (p->compiled)
        regfree(&p->re);
}

/* The translation in progress: output buffer (sized for the worst case
 * expansion at the start) and the error, if any. */
typedef struct rx_state {
    const char *pat;
    size_t n, i;
    char *out;
    size_t len, cap;
    bool dotall;
    const char *error; /* static text; NULL while all is well */
} rx_state;

static void rx_emit(rx_state *st, const char *text)
{
    size_t m = strlen(text);
    if (st->len + m >= st->cap) {
        st->error = "the pattern is too long";
        return;
    }
    memcpy(st->out + st->len, text, m);
    st->len += m;
    st->out[st->len] = '\0';
}

static void rx_emit_char(rx_state *st, char c)
{
    char text[2] = {c, '\0'};
    rx_emit(st, text);
}

/* A literal byte outside brackets, escaped when ERE gives it a meaning. */
static void rx_emit_literal(rx_state *st, unsigned char c)
{
    if (c != '\0' && strchr(".[]()*+?{}|^$\\", c) != NULL)
        rx_emit_char(st, '\\');
    rx_emit_char(st, (char)c);
}

static int rx_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses \xHH or \x{H...} (st->i just past the 'x') into a code point. */
static uint32_t rx_parse_hex(rx_state *st)
{
    uint32_t cp = 0;
    if (st->i < st->n && st->pat[st->i] == '{') {
        size_t j = st->i + 1;
        for (; j < st->n && rx_hex(st->pat[j]) >= 0 && cp <= 0x10ffff; j++)
            cp = cp * 16 + (uint32_t)rx_hex(st->pat[j]);
        if (j >= st->n || st->pat[j] != '}' || j == st->i + 1 || cp > 0x10ffff)
            st->error = "a bad \\x{...} escape";
        st->i = j + 1;
        return cp;
    }
    if (st->i + 2 > st->n || rx_hex(st->pat[st->i]) < 0 || rx_hex(st->pat[st->i + 1]) < 0) {
        st->error = "a bad \\x escape";
        return 0;
    }
    cp = (uint32_t)(rx_hex(st->pat[st->i]) * 16 + rx_hex(st->pat[st->i + 1]));
    st->i += 2;
    return cp;
}

/* Emits a code point as UTF-8 literal bytes. */
static void rx_emit_code_point(rx_state *st, uint32_t cp)
{
    unsigned char b[4];
    size_t m;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp, m = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6)), b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        m = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        m = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        m = 4;
    }
    for (size_t j = 0; j < m; j++)
        rx_emit_literal(st, b[j]);
}

/* The byte a simple escape (\n \t ...) stands for, or -1. */
static int rx_control_escape(char c)
{
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case 'a': return '\a';
    default: return -1;
    }
}

/* The POSIX class text of \d \w \s (inside brackets), or NULL. */
static const char *rx_class_of(char c)
{
    switch (c) {
    case 'd': return "[:digit:]";
    case 'w': return "[:alnum:]_";
    case 's': return "[:space:]";
    default: return NULL;
    }
}

/* An escape outside brackets; st->i is at the character after '\'. */
static void rx_escape(rx_state *st)
{
    if (st->i >= st->n) {
        st->error = "a trailing backslash";
        return;
    }
    char c = st->pat[st->i++];
    bool negated = c == 'D' || c == 'W' || c == 'S';
    const char *cls = rx_class_of(negated ? (char)(c - 'A' + 'a') : c);
    if (cls != NULL) {
        rx_emit(st, negated ? "[^" : "[");
        rx_emit(st, cls);
        rx_emit(st, "]");
    } else if (c == 'b' || c == 'B') {
        rx_emit(st, c == 'b' ? "\\b" : "\\B");
    } else if (c == 'A' || c == 'z') {
        rx_emit(st, c == 'A' ? "^" : "$");
    } else if (c == 'x') {
        uint32_t cp = rx_parse_hex(st);
        if (st->error == NULL)
            rx_emit_code_point(st, cp);
    } else if (rx_control_escape(c) >= 0) {
        rx_emit_literal(st, (unsigned char)rx_control_escape(c));
    } else if (((unsigned char)c < 0x80 && (c < '0' || c > '9') && (c < 'a' || c > 'z') &&
                (c < 'A' || c > 'Z') && c != '_')) {
        rx_emit_literal(st, (unsigned char)c);
    } else {
        st->error = "an escape (\\p, \\Q, backreference, ...) that is not supported";
    }
}

/* One member of a bracket expression; st->i at it. Sets *byte (a single
 * byte), or appends a class to `classes` and sets *byte to -1. */
static void rx_bracket_atom(rx_state *st, int *byte, char *classes, size_t classes_cap)
{
    char c = st->pat[st->i++];
    *byte = (unsigned char)c;
    if ((unsigned char)c >= 0x80) {
        st->error = "a non-ASCII character in a bracket expression";
        return;
    }
    if (c == '[' && st->i < st->n && st->pat[st->i] == ':') {
        const char *end = strstr(st->pat + st->i, ":]");
        size_t m = end != NULL ? (size_t)(end - (st->pat + st->i - 1)) + 2 : 0;
        if (end == NULL || strlen(classes) + m >= classes_cap) {
            st->error = "a bad [:class:]";
            return;
        }
        strncat(classes, st->pat + st->i - 1, m);
        st->i += m - 1;
        *byte = -1;
        return;
    }
    if (c != '\\')
        return;
    if (st->i >= st->n) {
        st->error = "a trailing backslash";
        return;
    }
    c = st->pat[st->i++];
    *byte = (unsigned char)c;
    if (rx_class_of(c) != NULL) {
        if (strlen(classes) + strlen(rx_class_of(c)) >= classes_cap)
            st->error = "too many classes in a bracket expression";
        else
            strcat(classes, rx_class_of(c));
        *byte = -1;
    } else if (c == 'x') {
        uint32_t cp = rx_parse_hex(st);
        *byte = (int)cp;
        if (cp >= 0x80)
            st->error = "a non-ASCII character in a bracket expression";
    } else if (rx_control_escape(c) >= 0) {
        *byte = rx_control_escape(c);
    } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        st->error = "an escape in a bracket expression that is not supported";
    }
}

/* A bracket member as POSIX bracket text: the characters that are special
 * there become collating symbols. */
static void rx_emit_bracket_byte(rx_state *st, int c)
{
    if (c == ']' || c == '-' || c == '^' || c == '[') {
        char text[6] = {'[', '.', (char)c, '.', ']', '\0'};
        rx_emit(st, text);
    } else {
        rx_emit_char(st, (char)c);
    }
}

/* A bracket expression; st->i just past '['. */
static void rx_bracket(rx_state *st)
{
    bool negate = st->i < st->n && st->pat[st->i] == '^';
    if (negate)
        st->i++;
    char classes[256] = "";
    bool lit[128] = {false};
    size_t start = st->len;
    rx_emit(st, negate ? "[^" : "[");
    size_t first = st->i;
    while (st->error == NULL && st->i < st->n && (st->pat[st->i] != ']' || st->i == first)) {
        int lo, hi;
        rx_bracket_atom(st, &lo, classes, sizeof classes);
        bool range = st->i + 1 < st->n && st->pat[st->i] == '-' && st->pat[st->i + 1] != ']';
        if (st->error != NULL || !range || lo < 0) {
            if (lo >= 0 && lo < 128)
                lit[lo] = true;
            continue;
        }
        st->i++;
        rx_bracket_atom(st, &hi, classes, sizeof classes);
        if (st->error == NULL && (hi < lo)) {
            st->error = "a bad range in a bracket expression";
        } else if (st->error == NULL) {
            rx_emit_bracket_byte(st, lo);
            rx_emit_char(st, '-');
            rx_emit_bracket_byte(st, hi);
        }
    }
    if (st->error == NULL && st->i >= st->n)
        st->error = "an unterminated bracket expression";
    st->i++;
    rx_emit(st, classes);
    for (int c = 1; c < 128; c++)
        if (lit[c] && c != '-' && c != '^' && c != ']' && c != '[')
            rx_emit_char(st, (char)c);
    for (int c = 1; c < 128; c++)
        if (lit[c] && (c == '^' || c == ']' || c == '['))
            rx_emit_bracket_byte(st, c);
    if (lit['-'])
        rx_emit_char(st, '-'); /* last: a literal '-' */
    if (lit[0])
        st->error = "a NUL byte in a bracket expression";
    if (st->len == start + (negate ? 2u : 1u))
        st->error = "an empty bracket expression";
    rx_emit(st, "]");
}

/* Whether pat[i..] is a repetition {n}, {n,} or {n,m}; *end gets the
 * index of its '}'. */
static bool rx_is_interval(const rx_state *st, size_t i, size_t *end)
{
    size_t j = i + 1, digits = 0;
    while (j < st->n && st->pat[j] >= '0' && st->pat[j] <= '9')
        j++, digits++;
    if (digits == 0)
        return false;
    if (j < st->n && st->pat[j] == ',') {
        j++;
        while (j < st->n && st->pat[j] >= '0' && st->pat[j] <= '9')
            j++;
    }
    *end = j;
    return j < st->n && st->pat[j] == '}';
}

/* A group opening; st->i just past '('. A leading flag group (?flags)
 * is consumed without emitting anything. */
static void rx_group(rx_state *st, int *cflags)
{
    if (st->i >= st->n || st->pat[st->i] != '?') {
        rx_emit(st, "(");
        return;
    }
    const char *p = st->pat + st->i + 1;
    size_t left = st->n - st->i - 1;
    if (left > 0 && p[0] == ':') {
        st->i += 2;
        rx_emit(st, "(");
    } else if (left > 1 && (p[0] == '<' || (p[0] == 'P' && p[1] == '<'))) {
        const char *close = memchr(p, '>', left);
        if (close == NULL) {
            st->error = "a bad group name";
            return;
        }
        st->i = (size_t)(close - st->pat) + 1;
        rx_emit(st, "(");
    } else {
        /* (?flags): only at the very start, applying to the whole pattern. */
        size_t j = 0;
        bool at_start = st->i == 1;
        while (j < left && (p[j] == 'i' || p[j] == 's'))
            j++;
        if (!at_start || j == 0 || j >= left || p[j] != ')') {
            st->error = "a flag group other than a leading (?i) or (?s)";
            return;
        }
        for (size_t f = 0; f < j; f++) {
            if (p[f] == 'i')
                *cflags |= REG_ICASE;
            else
                st->dotall = true;
        }
        st->i += j + 2;
    }
}

/* Translates st->pat into st->out ("^(" ... ")$"); adds REG_ICASE to
 * *cflags for a leading (?i). */
static void rx_translate(rx_state *st, int *cflags)
{
    rx_emit(st, "^(");
    while (st->error == NULL && st->i < st->n) {
        char c = st->pat[st->i++];
        size_t end;
        if (c == '\\') {
            rx_escape(st);
        } else if (c == '[') {
            rx_bracket(st);
        } else if (c == '(') {
            rx_group(st, cflags);
        } else if (c == '.') {
            rx_emit(st, st->dotall ? "." : "[^\n]");
        } else if (c == '{' && !rx_is_interval(st, st->i - 1, &end)) {
            rx_emit(st, "\\{");
        } else if (c == '{' || c == '*' || c == '+' || c == '?') {
            size_t stop = c == '{' ? end + 1 : st->i;
            for (size_t j = st->i - 1; j < stop; j++)
                rx_emit_char(st, st->pat[j]);
            st->i = stop;
            if (st->i < st->n && st->pat[st->i] == '?')
                st->i++; /* lazy: the same set of full matches */
        } else if (c == '\0') {
            st->error = "a NUL byte";
        } else {
            rx_emit_char(st, c);
        }
    }
    rx_emit(st, ")$");
}

static ember_status regex_compile(cpu_kernel *k, const char *pattern, size_t n)
{
    regex_params *p = k->params;
    rx_state st = {.pat = pattern, .n = n, .cap = 16 * n + 16};
    st.out = malloc(st.cap);
    if (st.out == NULL)
        return cpu_fail_oom(k);
    st.out[0] = '\0';
    int cflags = REG_EXTENDED | REG_NOSUB;
    rx_translate(&st, &cflags);
    ember_status s = EMBER_OK;
    if (st.error != NULL) {
        s = k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                          "node '%s' (%s): attribute 'pattern' (\"%s\") has %s", k->name, k->op,
                          pattern, st.error);
        goto out;
    }
    int rc = regcomp(&p->re, st.out, cflags);
    if (rc != 0) {
        char why[256];
        regerror(rc, &p->re, why, sizeof why);
        s = k->host->fail(EMBER_E_INVALID_MODEL,
                          "node '%s' (%s): attribute 'pattern' (\"%s\") does not compile: %s",
                          k->name, k->op, pattern, why);
        goto out;
    }
    p->compiled = true;
out:
    free(st.out);
    return s;
}

/* Whether one element matches the whole pattern. */
static bool regex_matches(const regex_params *p, const ember_string *x, char *buf)
{
#ifdef REG_STARTEND
    regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)x->size};
    (void)buf;
    return regexec(&p->re, cpu_string_bytes(x), 1, &m, REG_STARTEND) == 0;
#else
    if (memchr(cpu_string_bytes(x), '\0', x->size) != NULL)
        return false;
    if (x->size > 0)
        memcpy(buf, x->data, x->size);
    buf[x->size] = '\0';
    return regexec(&p->re, buf, 0, NULL, 0) == 0;
#endif
}

static ember_status regex_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const regex_params *p = k->params;
    const ember_tensor *x = NULL;
    ember_tensor *y;
    ember_status s = cpu_string_input(k, ctx, 0, &x);
    if (s != EMBER_OK)
        return s;
    s = cpu_output(k, ctx, 0, EMBER_DTYPE_BOOL, x->dims, x->rank, &y);
    size_t n = cpu_tensor_numel(x);
    if (s != EMBER_OK || n == 0)
        return s;
    char *buf;
    s = k->host->ctx_scratch(ctx, cpu_string_max_size(x) + 1, (void **)&buf);
    const ember_string *xs = x->data;
    for (size_t i = 0; s == EMBER_OK && i < n; i++)
        ((uint8_t *)y->data)[i] = regex_matches(p, &xs[i], buf) ? 1 : 0;
    return s;
}

ember_status cpu_regex_create(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(regex_params));
    if (s != EMBER_OK)
        return s;
    k->release = regex_release;
    char *pattern;
    size_t len;
    s = cpu_string_attr_dup(k, node, "pattern", &pattern, &len);
    if (s == EMBER_OK && pattern == NULL)
        return k->host->fail(EMBER_E_INVALID_MODEL,
                             "node '%s' (%s): attribute 'pattern' is missing", k->name, k->op);
    if (s == EMBER_OK)
        s = regex_compile(k, pattern, len);
    free(pattern);
    k->run = regex_run;
    return s;
}
