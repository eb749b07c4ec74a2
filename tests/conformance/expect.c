/*
 * The expected-failure list: one test name per line ("test_x" or
 * "set/test_x"), optionally followed by "# reason"; '#' lines and blank
 * lines are ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static bool add_entry(conf_expect_list *list, const char *name, const char *reason)
{
    char **names = realloc(list->names, (list->n_names + 1) * sizeof *names);
    if (names)
        list->names = names;
    char **reasons = realloc(list->reasons, (list->n_names + 1) * sizeof *reasons);
    if (reasons)
        list->reasons = reasons;
    char *n = strdup(name), *r = strdup(reason);
    if (!names || !reasons || !n || !r) {
        free(n);
        free(r);
        return false;
    }
    list->names[list->n_names] = n;
    list->reasons[list->n_names++] = r;
    return true;
}

/* One line: the name, then an optional "# reason". */
static bool parse_line(conf_expect_list *list, char *line, const char *path, int line_no,
                       char *why)
{
    char *hash = strchr(line, '#');
    const char *reason = "";
    if (hash) {
        *hash = '\0';
        reason = trim(hash + 1);
    }
    char *name = trim(line);
    if (!name[0])
        return true;
    if (strpbrk(name, " \t")) {
        snprintf(why, CONF_WHY_SIZE, "%s:%d: expected one test name, got '%s'", path, line_no,
                 name);
        return false;
    }
    if (!add_entry(list, name, reason)) {
        snprintf(why, CONF_WHY_SIZE, "%s: out of memory", path);
        return false;
    }
    return true;
}

bool conf_expect_load(const char *path, conf_expect_list *out, char *why)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, CONF_WHY_SIZE, "cannot open expected-failure list %s: %s", path,
                 strerror(errno));
        return false;
    }
    conf_expect_list list = {0};
    char line[4096];
    int line_no = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f))
        ok = parse_line(&list, line, path, ++line_no, why);
    fclose(f);
    if (!ok) {
        conf_expect_free(&list);
        return false;
    }
    *out = list;
    return true;
}

long conf_expect_find(const conf_expect_list *list, const char *set, const char *name)
{
    size_t set_len = strlen(set);
    for (size_t i = 0; i < list->n_names; i++) {
        const char *entry = list->names[i];
        if (!strcmp(entry, name))
            return (long)i;
        if (!strncmp(entry, set, set_len) && entry[set_len] == '/' &&
            !strcmp(entry + set_len + 1, name))
            return (long)i;
    }
    return -1;
}

void conf_expect_free(conf_expect_list *list)
{
    for (size_t i = 0; list && i < list->n_names; i++) {
        free(list->names[i]);
        free(list->reasons[i]);
    }
    if (list) {
        free(list->names);
        free(list->reasons);
        memset(list, 0, sizeof *list);
    }
}
