/*
 * The `ember` command: main() and subcommand dispatch. Each subcommand
 * returns an exit status; on failure it has recorded one line with
 * cli_fail(), printed here as "ember: <message>". Status 1 is an error,
 * 2 a usage error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char cli_message_buf[4096];

static void record(const char *fmt, va_list ap)
{
    vsnprintf(cli_message_buf, sizeof cli_message_buf, fmt, ap);
    /* The message is one line: fold any newline a library message carries. */
    for (char *p = cli_message_buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(fmt, ap);
    va_end(ap);
    return CLI_ERROR;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(fmt, ap);
    va_end(ap);
    return CLI_USAGE;
}

int cli_fail_ember(const char *what)
{
    const char *msg = ember_last_error();
    return cli_fail("%s: %s", what, msg && msg[0] ? msg : "unknown error");
}

const char *cli_message(void)
{
    return cli_message_buf;
}

bool cli_parse_int(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: ember <command> [options]\n"
            "\n"
            "commands:\n"
            "  run MODEL [--providers cpu,...] [--strict] [--threads N] [--opt-level N]\n"
            "            [--input NAME=FILE.npy ...] [--output-dir DIR] [--seed N]\n"
            "      Runs MODEL once. Inputs not given are filled with seeded random data.\n"
            "  bench MODEL [--providers cpu,...] [--threads N] [--opt-level N]\n"
            "            [--input NAME=FILE.npy ...] [--runs N | --seconds S] [--warmup N]\n"
            "            [--profile FILE.json]\n"
            "      Times MODEL: load time, then the median, p90 and minimum latency.\n"
            "      --opt-level 0 runs every node as its own kernel (no provider groups);\n"
            "      a provider takes options as NAME:KEY=VALUE (onednn:winograd=0,cpu);\n"
            "      --profile writes each step's time over the timed runs as JSON.\n"
            "  info MODEL\n"
            "      Prints inputs, outputs, opsets, operator counts and metadata.\n"
            "  help      This text.\n"
            "  version   The Ember version.\n");
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    {"run", cmd_run},
    {"info", cmd_info},
    {"bench", cmd_bench},
};

static int dispatch(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("no command given (try 'ember help')");
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        print_usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(name, "version") || !strcmp(name, "--version")) {
        printf("ember %s\n", ember_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s' (try 'ember help')", name);
}

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = cli_fail("cannot write the output: %s", strerror(errno));
    if (rc != CLI_OK)
        fprintf(stderr, "ember: %s\n", cli_message());
    return rc;
}
