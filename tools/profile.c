/*
 * `ember bench --profile FILE`: the session's per-step times over the timed
 * runs (warm-up excluded: a snapshot taken after it is subtracted), written
 * as a JSON list of {"node", "op", "provider", "nodes", "calls", "total_ns"}.
 */
#include <stdlib.h>

#include "cli.h"

int profile_snapshot(const ember_session *session, ember_profile_entry **out, size_t *n)
{
    size_t count = 0;
    if (ember_session_get_profile(session, NULL, 0, &count) != EMBER_OK)
        return cli_fail_ember("profile");
    ember_profile_entry *entries = calloc(count ? count : 1, sizeof *entries);
    if (!entries)
        return cli_fail("out of memory");
    if (ember_session_get_profile(session, entries, count, &count) != EMBER_OK) {
        free(entries);
        return cli_fail_ember("profile");
    }
    *out = entries;
    *n = count;
    return CLI_OK;
}

static void write_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

int profile_write(const char *path, const ember_profile_entry *before,
                  const ember_profile_entry *after, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_fail("cannot write the profile to '%s'", path);
    fputs("[\n", f);
    for (size_t i = 0; i < n; i++) {
        fputs("  {\"node\": ", f);
        write_json_string(f, after[i].node_name);
        fputs(", \"op\": ", f);
        write_json_string(f, after[i].op_type);
        fputs(", \"provider\": ", f);
        write_json_string(f, after[i].provider);
        fprintf(f, ", \"nodes\": %zu, \"calls\": %llu, \"total_ns\": %llu}%s\n",
                after[i].n_nodes, (unsigned long long)(after[i].calls - before[i].calls),
                (unsigned long long)(after[i].total_ns - before[i].total_ns),
                i + 1 < n ? "," : "");
    }
    fputs("]\n", f);
    if (fclose(f) != 0)
        return cli_fail("cannot write the profile to '%s'", path);
    return CLI_OK;
}
