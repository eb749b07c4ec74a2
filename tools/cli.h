/*
 * Shared declarations of the `ember` command: the error convention, the
 * subcommands and the helpers they share. A failing helper records one line
 * with cli_fail() and returns its exit status; main() prints it as
 * "ember: <message>" on stderr.
 */
#ifndef EMBER_TOOLS_CLI_H
#define EMBER_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ember/ember.h>

enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

/* Records the message and returns CLI_ERROR (or CLI_USAGE). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Records "<what>: <ember_last_error()>" and returns CLI_ERROR. */
int cli_fail_ember(const char *what);
const char *cli_message(void);

/* Subcommands: argv[0] is the subcommand's name. */
int cmd_run(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Parses a whole decimal integer in [min, max]. */
bool cli_parse_int(const char *text, long min, long max, long *out);

/* ---- open_model.c -------------------------------------------------------- */

typedef struct cli_session_config {
    const char *providers; /* comma-separated names, or NULL for the default (CPU) */
    bool strict;
    long threads;          /* -1: the library's default */
    long opt_level;        /* -1: the library's default; 0 runs every node alone */
    bool profile;          /* per-step timing (ember_session_options_set_profiling) */
} cli_session_config;

/* Checks the file and the providers, then creates an environment and a
 * session (both owned by the caller, set only on success). */
int cli_open_model(const char *path, const cli_session_config *config, ember_env **env_out,
                   ember_session **session_out);

/* ---- profile.c ------------------------------------------------------------ */

/* The session's profile now (entries owned by the caller). */
int profile_snapshot(const ember_session *session, ember_profile_entry **out, size_t *n);
/* Writes after - before (same steps) as JSON to `path`. */
int profile_write(const char *path, const ember_profile_entry *before,
                  const ember_profile_entry *after, size_t n);

/* ---- report.c: printing -------------------------------------------------- */

/* "[1,3,N,64]": symbolic dims by name, unknown dims as "?", unknown rank as "[...]". */
void report_format_shape(char *buf, size_t size, const ember_io_info *info);
void report_format_dims(char *buf, size_t size, const int64_t *dims, size_t rank);
/* Prints min/max/mean and the first few elements of a CPU tensor. */
void report_value_summary(FILE *out, const ember_value *value);

/* ---- random_fill.c ------------------------------------------------------- */

/* Fills `data` (n elements of dtype) with seeded pseudo-random values:
 * floats uniform in [-1, 1), integers in [0, 4), bools 0/1. Returns false
 * for dtypes it cannot fill (strings, 4-bit, 8-bit floats). */
bool random_fill(ember_dtype dtype, void *data, size_t n, uint64_t seed);
/* IEEE half <-> float conversions, shared with the summary printer. */
uint16_t half_from_float(float f);
float half_to_float(uint16_t h);

#endif /* EMBER_TOOLS_CLI_H */
