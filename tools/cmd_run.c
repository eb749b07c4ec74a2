/*
 * `ember run MODEL`: runs a model once. Inputs come from .npy files
 * (--input NAME=FILE) or seeded random data; each output is summarized and,
 * with --output-dir, written as DIR/<name>.npy. Ends with the placement of
 * nodes on providers and the number of copies between devices.
 *
 * `ember bench MODEL`: the same session and inputs, timed: load time, a
 * warm-up, then --runs N runs (or as many as fit in --seconds S), and the
 * median, p90 and minimum latency.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "npy.h"

/* One --input NAME=FILE: `name` owns a copy of the whole argument, cut at
 * the '=', and `path` points into it. */
typedef struct input_spec {
    char *name;
    const char *path;
} input_spec;

typedef struct run_args {
    const char *model;
    cli_session_config session;
    input_spec *specs;
    size_t n_specs;
    const char *output_dir;
    unsigned long long seed;
    const char *command;      /* "run" or "bench" */
    long runs, warmup;        /* bench: runs = 0 means "use seconds" */
    double seconds;
    const char *profile_path; /* bench --profile */
} run_args;

/* Everything one run owns; released by run_state_free. */
typedef struct run_state {
    ember_env *env;
    ember_session *session;
    size_t n_inputs, n_outputs;
    const char **input_names; /* borrowed from the session */
    ember_value **inputs;
    void **input_data;        /* buffers the input values wrap */
    const char **output_names;
    ember_value **outputs;
} run_state;

/* ---- arguments ------------------------------------------------------------- */

static void run_args_free(run_args *args)
{
    for (size_t i = 0; i < args->n_specs; i++)
        free(args->specs[i].name);
    free(args->specs);
}

static int add_input_spec(run_args *args, const char *text)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || eq[1] == '\0')
        return cli_usage_error("--input expects NAME=FILE.npy, got '%s'", text);
    input_spec *specs = realloc(args->specs, (args->n_specs + 1) * sizeof *specs);
    if (!specs)
        return cli_fail("out of memory");
    args->specs = specs;
    size_t name_len = (size_t)(eq - text);
    for (size_t i = 0; i < args->n_specs; i++)
        if (strlen(specs[i].name) == name_len && !strncmp(specs[i].name, text, name_len))
            return cli_usage_error("input '%s' is given twice", specs[i].name);
    char *copy = strdup(text);
    if (!copy)
        return cli_fail("out of memory");
    copy[name_len] = '\0';
    specs[args->n_specs++] = (input_spec){copy, copy + name_len + 1};
    return CLI_OK;
}

/* The value of option argv[*i] ("--opt VALUE" or "--opt=VALUE"). */
static int option_value(int argc, char **argv, int *i, const char *opt, const char **out)
{
    size_t len = strlen(opt);
    if (argv[*i][len] == '=') {
        *out = argv[*i] + len + 1;
        return CLI_OK;
    }
    if (*i + 1 >= argc)
        return cli_usage_error("%s needs a value", opt);
    *out = argv[++*i];
    return CLI_OK;
}

static bool is_option(const char *arg, const char *opt)
{
    size_t len = strlen(opt);
    return !strncmp(arg, opt, len) && (arg[len] == '\0' || arg[len] == '=');
}

static int set_providers(run_args *args, const char *value)
{
    size_t n = strlen(value);
    if (n == 0 || value[0] == ',' || value[n - 1] == ',' || strstr(value, ",,"))
        return cli_usage_error("--providers expects a list like 'cuda,cpu', got '%s'", value);
    args->session.providers = value;
    return CLI_OK;
}

static int set_threads(run_args *args, const char *value)
{
    if (!cli_parse_int(value, 0, 4096, &args->session.threads))
        return cli_usage_error("--threads expects a number from 0 to 4096, got '%s'", value);
    return CLI_OK;
}

static int set_opt_level(run_args *args, const char *value)
{
    if (!cli_parse_int(value, 0, 99, &args->session.opt_level))
        return cli_usage_error("--opt-level expects a number from 0 to 99, got '%s'", value);
    return CLI_OK;
}

static int set_profile(run_args *args, const char *value)
{
    if (!value[0])
        return cli_usage_error("--profile needs a file name");
    args->profile_path = value;
    args->session.profile = true;
    return CLI_OK;
}

static int set_seed(run_args *args, const char *value)
{
    char *end;
    errno = 0;
    args->seed = strtoull(value, &end, 10);
    if (errno || end == value || *end || value[0] == '-')
        return cli_usage_error("--seed expects a non-negative integer, got '%s'", value);
    return CLI_OK;
}

static int set_output_dir(run_args *args, const char *value)
{
    if (!value[0])
        return cli_usage_error("--output-dir needs a directory");
    args->output_dir = value;
    return CLI_OK;
}

static int set_runs(run_args *args, const char *value)
{
    if (!cli_parse_int(value, 1, 100000000, &args->runs))
        return cli_usage_error("--runs expects a positive number, got '%s'", value);
    return CLI_OK;
}

static int set_warmup(run_args *args, const char *value)
{
    if (!cli_parse_int(value, 0, 100000000, &args->warmup))
        return cli_usage_error("--warmup expects a number, got '%s'", value);
    return CLI_OK;
}

static int set_seconds(run_args *args, const char *value)
{
    char *end;
    errno = 0;
    args->seconds = strtod(value, &end);
    if (errno || end == value || *end || !(args->seconds > 0 && args->seconds < 1e6))
        return cli_usage_error("--seconds expects a positive number, got '%s'", value);
    args->runs = 0;
    return CLI_OK;
}

static const struct {
    const char *name;
    int (*set)(run_args *args, const char *value);
    bool is_bench_only;
} value_options[] = {
    {"--providers", set_providers, false}, {"--threads", set_threads, false},
    {"--opt-level", set_opt_level, false},
    {"--input", add_input_spec, false},    {"--output-dir", set_output_dir, false},
    {"--seed", set_seed, false},           {"--runs", set_runs, true},
    {"--seconds", set_seconds, true},      {"--warmup", set_warmup, true},
    {"--profile", set_profile, true},
};

static int parse_option(int argc, char **argv, int *i, run_args *args)
{
    const char *arg = argv[*i], *value = NULL;
    if (!strcmp(arg, "--strict")) {
        args->session.strict = true;
        return CLI_OK;
    }
    for (size_t k = 0; k < sizeof value_options / sizeof value_options[0]; k++) {
        if (!is_option(arg, value_options[k].name) ||
            (value_options[k].is_bench_only && strcmp(args->command, "bench") != 0))
            continue;
        int rc = option_value(argc, argv, i, value_options[k].name, &value);
        return rc == CLI_OK ? value_options[k].set(args, value) : rc;
    }
    return cli_usage_error("unknown option '%s' for 'ember %s'", arg, args->command);
}

static int parse_args(int argc, char **argv, run_args *args)
{
    args->command = argv[0];
    args->session.threads = -1;
    args->session.opt_level = -1;
    args->runs = 0;
    args->seconds = 5.0;
    args->warmup = 3;
    for (int i = 1; i < argc; i++) {
        int rc = CLI_OK;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            rc = parse_option(argc, argv, &i, args);
        else if (args->model)
            rc = cli_usage_error("unexpected argument '%s'", argv[i]);
        else
            args->model = argv[i];
        if (rc != CLI_OK)
            return rc;
    }
    if (!args->model)
        return cli_usage_error("'ember %s' needs a model file", args->command);
    return CLI_OK;
}

/* ---- inputs ---------------------------------------------------------------- */

static int find_input(const run_state *st, const char *name, size_t *index)
{
    for (size_t i = 0; i < st->n_inputs; i++)
        if (!strcmp(st->input_names[i], name)) {
            *index = i;
            return CLI_OK;
        }
    char list[1024] = "";
    for (size_t i = 0; i < st->n_inputs; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s'%s'", i ? ", " : "", st->input_names[i]);
    }
    return cli_fail("the model has no input '%s' (its inputs: %s)", name,
                    st->n_inputs ? list : "none");
}

/* An .npy file must match the input's dtype, rank and fixed dims. */
static int check_npy(const ember_io_info *info, const char *path, const npy_array *a)
{
    char want[512], got[512];
    report_format_shape(want, sizeof want, info);
    report_format_dims(got, sizeof got, a->dims, a->rank);
    if (a->dtype != info->dtype)
        return cli_fail("input '%s': '%s' holds %s data, the model expects %s", info->name,
                        path, ember_dtype_name(a->dtype), ember_dtype_name(info->dtype));
    if (info->rank >= 0 && (int64_t)a->rank != info->rank)
        return cli_fail("input '%s': '%s' has rank %zu %s, the model expects rank %lld %s",
                        info->name, path, a->rank, got, (long long)info->rank, want);
    for (size_t d = 0; info->rank >= 0 && d < a->rank; d++)
        if (info->dims[d] >= 0 && info->dims[d] != a->dims[d])
            return cli_fail("input '%s': '%s' has shape %s, the model expects %s (dim %zu)",
                            info->name, path, got, want, d);
    return CLI_OK;
}

static int load_npy_input(run_state *st, const input_spec *spec)
{
    size_t index = 0;
    ember_io_info info;
    npy_array a;
    int rc = find_input(st, spec->name, &index);
    if (rc != CLI_OK)
        return rc;
    if (ember_session_get_input_info(st->session, index, &info) != EMBER_OK)
        return cli_fail_ember("input info");
    rc = npy_read(spec->path, &a);
    if (rc != CLI_OK)
        return rc;
    rc = check_npy(&info, spec->path, &a);
    if (rc == CLI_OK && ember_value_wrap(a.dtype, a.dims, a.rank, a.data, a.data_bytes,
                                         (ember_device){EMBER_DEVICE_CPU, 0},
                                         &st->inputs[index]) != EMBER_OK)
        rc = cli_fail_ember(spec->path);
    if (rc != CLI_OK) {
        npy_array_free(&a);
        return rc;
    }
    st->input_data[index] = a.data;
    char shape[512];
    report_format_dims(shape, sizeof shape, a.dims, a.rank);
    printf("input '%s': %s %s from %s\n", info.name, ember_dtype_name(a.dtype), shape,
           spec->path);
    return CLI_OK;
}

/* Fixed dims of a random input; symbolic or unknown dims become 1. */
static int random_dims(const ember_io_info *info, int64_t *dims)
{
    if (info->rank < 0)
        return cli_fail("input '%s' has an unknown rank; give it with --input %s=FILE.npy",
                        info->name, info->name);
    if (info->rank > NPY_MAX_RANK)
        return cli_fail("input '%s' has rank %lld, above %d", info->name,
                        (long long)info->rank, NPY_MAX_RANK);
    for (int64_t d = 0; d < info->rank; d++) {
        dims[d] = info->dims[d] >= 0 ? info->dims[d] : 1;
        if (info->dims[d] >= 0)
            continue;
        const char *name = info->dim_names ? info->dim_names[d] : NULL;
        if (name && name[0])
            printf("input '%s': dim '%s' set to 1\n", info->name, name);
        else
            printf("input '%s': dim %lld (unknown) set to 1\n", info->name, (long long)d);
    }
    return CLI_OK;
}

static int make_random_input(run_state *st, size_t index, uint64_t seed)
{
    ember_io_info info;
    int64_t dims[NPY_MAX_RANK];
    size_t n = 1;
    if (ember_session_get_input_info(st->session, index, &info) != EMBER_OK)
        return cli_fail_ember("input info");
    int rc = random_dims(&info, dims);
    if (rc != CLI_OK)
        return rc;
    for (int64_t d = 0; d < info.rank; d++) {
        if (dims[d] > 0 && n > SIZE_MAX / 16 / (size_t)dims[d])
            return cli_fail("input '%s' is too large to fill", info.name);
        n *= (size_t)dims[d];
    }
    size_t bytes = ember_dtype_storage_bytes(info.dtype, n);
    void *data = malloc(bytes ? bytes : 1);
    if (!data)
        return cli_fail("out of memory for input '%s' (%zu bytes)", info.name, bytes);
    st->input_data[index] = data;
    if (!random_fill(info.dtype, data, n, seed + index))
        return cli_fail("input '%s' has type %s, which cannot be filled at random; give it "
                        "with --input", info.name, ember_dtype_name(info.dtype));
    if (ember_value_wrap(info.dtype, dims, (size_t)info.rank, data, bytes,
                         (ember_device){EMBER_DEVICE_CPU, 0}, &st->inputs[index]) != EMBER_OK)
        return cli_fail_ember(info.name);
    char shape[512];
    report_format_dims(shape, sizeof shape, dims, (size_t)info.rank);
    printf("input '%s': %s %s (random, seed %llu)\n", info.name, ember_dtype_name(info.dtype),
           shape, (unsigned long long)(seed + index));
    return CLI_OK;
}

static int prepare_inputs(run_state *st, const run_args *args)
{
    for (size_t i = 0; i < args->n_specs; i++) {
        int rc = load_npy_input(st, &args->specs[i]);
        if (rc != CLI_OK)
            return rc;
    }
    for (size_t i = 0; i < st->n_inputs; i++) {
        int rc = st->inputs[i] ? CLI_OK : make_random_input(st, i, args->seed);
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

/* ---- state ------------------------------------------------------------------- */

static int run_state_init(run_state *st)
{
    st->n_inputs = ember_session_get_input_count(st->session);
    st->n_outputs = ember_session_get_output_count(st->session);
    st->input_names = calloc(st->n_inputs + 1, sizeof *st->input_names);
    st->inputs = calloc(st->n_inputs + 1, sizeof *st->inputs);
    st->input_data = calloc(st->n_inputs + 1, sizeof *st->input_data);
    st->output_names = calloc(st->n_outputs + 1, sizeof *st->output_names);
    st->outputs = calloc(st->n_outputs + 1, sizeof *st->outputs);
    if (!st->input_names || !st->inputs || !st->input_data || !st->output_names || !st->outputs)
        return cli_fail("out of memory");
    ember_io_info info;
    for (size_t i = 0; i < st->n_inputs; i++) {
        if (ember_session_get_input_info(st->session, i, &info) != EMBER_OK)
            return cli_fail_ember("input info");
        st->input_names[i] = info.name;
    }
    for (size_t i = 0; i < st->n_outputs; i++) {
        if (ember_session_get_output_info(st->session, i, &info) != EMBER_OK)
            return cli_fail_ember("output info");
        st->output_names[i] = info.name;
    }
    return CLI_OK;
}

static void run_state_free(run_state *st)
{
    for (size_t i = 0; st->inputs && i < st->n_inputs; i++)
        ember_value_destroy(st->inputs[i]);
    for (size_t i = 0; st->input_data && i < st->n_inputs; i++)
        free(st->input_data[i]);
    for (size_t i = 0; st->outputs && i < st->n_outputs; i++)
        ember_value_destroy(st->outputs[i]);
    free(st->input_names);
    free(st->inputs);
    free(st->input_data);
    free(st->output_names);
    free(st->outputs);
    ember_session_destroy(st->session);
    ember_env_destroy(st->env);
}

/* ---- outputs ----------------------------------------------------------------- */

/* A file name from an output name: [A-Za-z0-9._-] kept, anything else '_';
 * never empty, never starting with '.'. */
static void sanitize_name(const char *name, size_t index, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < size; p++) {
        char c = *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-' || (c == '.' && n > 0);
        buf[n++] = keep ? c : '_';
    }
    buf[n] = '\0';
    if (n == 0)
        snprintf(buf, size, "output_%zu", index);
}

typedef char file_name[200];

/* One distinct file name per output; a clash gets the output's index. */
static file_name *output_file_names(const run_state *st)
{
    file_name *names = calloc(st->n_outputs + 1, sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < st->n_outputs; i++) {
        sanitize_name(st->output_names[i], i, names[i], sizeof names[i] - 24);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[j], names[i])) {
                size_t used = strlen(names[i]);
                snprintf(names[i] + used, sizeof names[i] - used, "_%zu", i);
                break;
            }
    }
    return names;
}

static int ensure_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? CLI_OK
                                   : cli_fail("--output-dir '%s' is not a directory", dir);
    if (mkdir(dir, 0777) != 0)
        return cli_fail("cannot create '%s': %s", dir, strerror(errno));
    return CLI_OK;
}

static int write_output(const ember_value *v, const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, file);
    int rc = npy_write(path, ember_value_get_dtype(v), ember_value_get_dims(v),
                       ember_value_get_rank(v), ember_value_get_data(v),
                       ember_value_get_byte_size(v));
    if (rc == CLI_OK)
        printf("    written to %s\n", path);
    return rc;
}

static int report_outputs(const run_state *st, const char *dir)
{
    file_name *files = NULL;
    int rc = dir ? ensure_dir(dir) : CLI_OK;
    if (rc == CLI_OK && dir && !(files = output_file_names(st)))
        rc = cli_fail("out of memory");
    for (size_t i = 0; rc == CLI_OK && i < st->n_outputs; i++) {
        const ember_value *v = st->outputs[i];
        char shape[512];
        report_format_dims(shape, sizeof shape, ember_value_get_dims(v), ember_value_get_rank(v));
        printf("output '%s': %s %s\n", st->output_names[i],
               ember_dtype_name(ember_value_get_dtype(v)), shape);
        report_value_summary(stdout, v);
        if (dir)
            rc = write_output(v, dir, files[i]);
    }
    free(files);
    return rc;
}

static void report_placement(const ember_session *session)
{
    size_t n_nodes = ember_session_get_node_count(session);
    size_t n_providers = ember_session_get_provider_count(session);
    printf("placement (%zu nodes):\n", n_nodes);
    for (size_t p = 0; p < n_providers; p++) {
        const char *name = ember_session_get_provider_name(session, p);
        size_t count = 0;
        ember_node_placement pl;
        for (size_t i = 0; i < n_nodes; i++)
            if (ember_session_get_node_placement(session, i, &pl) == EMBER_OK && pl.provider &&
                name && !strcmp(pl.provider, name))
                count++;
        printf("  %-8s %zu nodes\n", name ? name : "?", count);
    }
    printf("copies: %zu\n", ember_session_get_copy_count(session));
}

/* ---- the command ------------------------------------------------------------- */

static int run_once(run_state *st)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ember_status s = ember_session_run(st->session, NULL, st->input_names,
                                       (const ember_value *const *)st->inputs, st->n_inputs,
                                       st->output_names, st->outputs, st->n_outputs);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (s != EMBER_OK)
        return cli_fail_ember("run failed");
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("run: %.3f ms\n", ms);
    return CLI_OK;
}

static void report_providers(const ember_session *session, const char *model)
{
    printf("model: %s\nproviders:", model);
    for (size_t p = 0; p < ember_session_get_provider_count(session); p++)
        printf(" %s", ember_session_get_provider_name(session, p));
    printf("\n");
}

int cmd_run(int argc, char **argv)
{
    run_args args = {0};
    run_state st = {0};
    int rc = parse_args(argc, argv, &args);
    if (rc == CLI_OK)
        rc = cli_open_model(args.model, &args.session, &st.env, &st.session);
    if (rc == CLI_OK) {
        report_providers(st.session, args.model);
        rc = run_state_init(&st);
    }
    if (rc == CLI_OK)
        rc = prepare_inputs(&st, &args);
    if (rc == CLI_OK)
        rc = run_once(&st);
    if (rc == CLI_OK)
        rc = report_outputs(&st, args.output_dir);
    if (rc == CLI_OK)
        report_placement(st.session);
    run_state_free(&st);
    run_args_free(&args);
    return rc;
}

/* ---- ember bench ------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int timed_run(run_state *st, double *ms)
{
    double t0 = now_ms();
    ember_status s = ember_session_run(st->session, NULL, st->input_names,
                                       (const ember_value *const *)st->inputs, st->n_inputs,
                                       st->output_names, st->outputs, st->n_outputs);
    *ms = now_ms() - t0;
    if (s != EMBER_OK)
        return cli_fail_ember("run failed");
    for (size_t i = 0; i < st->n_outputs; i++) {
        ember_value_destroy(st->outputs[i]);
        st->outputs[i] = NULL;
    }
    return CLI_OK;
}

static int compare_ms(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs until `runs` runs are done (or, with runs 0, `seconds` have passed),
 * printing a progress line on stderr; *times receives each latency. */
static int timed_loop(run_state *st, const run_args *args, double **times, size_t *n)
{
    size_t cap = args->runs ? (size_t)args->runs : 1024;
    double start = now_ms(), last_report = start;
    *times = malloc(cap * sizeof **times);
    *n = 0;
    if (!*times)
        return cli_fail("out of memory");
    for (;;) {
        if (args->runs ? *n >= (size_t)args->runs : now_ms() - start >= args->seconds * 1e3)
            break;
        if (*n == cap) {
            double *grown = realloc(*times, 2 * cap * sizeof *grown);
            if (!grown)
                return cli_fail("out of memory");
            *times = grown;
            cap *= 2;
        }
        int rc = timed_run(st, &(*times)[*n]);
        if (rc != CLI_OK)
            return rc;
        ++*n;
        if (now_ms() - last_report > 1000) {
            fprintf(stderr, "\rbench: %zu runs, last %.3f ms", *n, (*times)[*n - 1]);
            last_report = now_ms();
        }
    }
    fprintf(stderr, "\r%60s\r", "");
    return CLI_OK;
}

static int bench(run_state *st, const run_args *args, double load_ms)
{
    double ms;
    for (long i = 0; i < args->warmup; i++) {
        int rc = timed_run(st, &ms);
        if (rc != CLI_OK)
            return rc;
    }
    double *times = NULL;
    size_t n = 0, n_steps = 0, n_after = 0;
    ember_profile_entry *before = NULL, *after = NULL;
    int rc = args->profile_path ? profile_snapshot(st->session, &before, &n_steps) : CLI_OK;
    if (rc == CLI_OK)
        rc = timed_loop(st, args, &times, &n);
    if (rc == CLI_OK && args->profile_path)
        rc = profile_snapshot(st->session, &after, &n_after);
    if (rc == CLI_OK && args->profile_path)
        rc = profile_write(args->profile_path, before, after, n_steps);
    free(before);
    free(after);
    if (rc == CLI_OK && n > 0) {
        qsort(times, n, sizeof *times, compare_ms);
        printf("load: %.3f ms\nwarm-up runs: %ld\nruns: %zu\n", load_ms, args->warmup, n);
        printf("median: %.4f ms\np90: %.4f ms\nmin: %.4f ms\n", times[n / 2],
               times[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1], times[0]);
    }
    free(times);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    run_args args = {0};
    run_state st = {0};
    int rc = parse_args(argc, argv, &args);
    double t0 = now_ms(), load_ms = 0;
    if (rc == CLI_OK)
        rc = cli_open_model(args.model, &args.session, &st.env, &st.session);
    if (rc == CLI_OK) {
        load_ms = now_ms() - t0;
        report_providers(st.session, args.model);
        rc = run_state_init(&st);
    }
    if (rc == CLI_OK)
        rc = prepare_inputs(&st, &args);
    if (rc == CLI_OK)
        rc = bench(&st, &args, load_ms);
    run_state_free(&st);
    run_args_free(&args);
    return rc;
}
