/*
 * ember_conformance: walks onnx's backend test data (DATA_DIR/node/<test>/
 * model.onnx + test_data_set_N/{input,output}_K.pb, and the simple,
 * pytorch-converted and pytorch-operator sets beside it), runs each test
 * through the public API and compares the outputs. Each test runs in a
 * child process (unless --no-fork) so that a crash or a hang is reported
 * as that test's failure. Ends with "N passed, N failed, N skipped".
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"

#define MAX_TENSORS 64

static const char *const test_sets[] = {"node", "simple", "pytorch-converted",
                                        "pytorch-operator"};

typedef struct runner_args {
    const char *data_dir;
    const char *default_data_dir;
    char *providers; /* comma-separated, owned copy, or NULL */
    bool strict;
    const char *filter;
    char *only_ops; /* ",Op1,Op2," for lookups, or NULL */
    const char *expect_path;
    bool verbose;
    bool use_fork;
    long timeout_s;
} runner_args;

enum { RESULT_PASS, RESULT_FAIL, RESULT_SKIP };

typedef struct test_result {
    int kind;
    char why[CONF_WHY_SIZE];
} test_result;

typedef struct totals {
    size_t passed, failed, skipped, expected_failures, unexpected_passes;
} totals;

typedef struct tensor_list {
    conf_tensor items[MAX_TENSORS];
    size_t n;
} tensor_list;

static void result_set(test_result *r, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void result_set(test_result *r, int kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->kind = kind;
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    for (char *p = r->why; *p; p++) // one line per test
        if (*p == '\n')
            *p = ' ';
}

/* Joins "a/b" into buf; false (and an empty buf) when it does not fit. */
static bool join_path(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);
    if (n < 0 || (size_t)n >= size) {
        buf[0] = '\0';
        return false;
    }
    return true;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- inputs, outputs, one data set ------------------------------------------ */

static void tensor_list_free(tensor_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        conf_tensor_free(&list->items[i]);
    list->n = 0;
}

/* Reads PREFIX_0.pb, PREFIX_1.pb, ... until one is missing; file k holds
 * what the model's k-th input/output (types[k]) holds. */
static bool load_tensors(const char *set_dir, const char *prefix, const conf_io_type *types,
                         size_t n_types, tensor_list *out, char *why)
{
    for (size_t k = 0; k < MAX_TENSORS; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s_%zu.pb", set_dir, prefix, k);
        if (!is_file(path))
            return true;
        if (!conf_value_load(path, k < n_types ? &types[k] : NULL, &out->items[k], why))
            return false;
        out->n = k + 1;
    }
    snprintf(why, CONF_WHY_SIZE, "%s: more than %d %s files", set_dir, MAX_TENSORS, prefix);
    return false;
}

/* The name of input or output i, or NULL. */
static const char *session_io_name(const ember_session *session, bool input, size_t i)
{
    ember_io_info info;
    ember_status s = input ? ember_session_get_input_info(session, i, &info)
                           : ember_session_get_output_info(session, i, &info);
    return s == EMBER_OK ? info.name : NULL;
}

/* The session's name for the k-th data file: the tensor's own name when the
 * model has it, else the k-th input/output. */
static const char *io_name(const ember_session *session, bool input, const conf_tensor *t,
                           size_t k)
{
    size_t n = input ? ember_session_get_input_count(session)
                     : ember_session_get_output_count(session);
    for (size_t i = 0; t->name[0] && i < n; i++) {
        const char *name = session_io_name(session, input, i);
        if (name && !strcmp(name, t->name))
            return name;
    }
    return k < n ? session_io_name(session, input, k) : NULL;
}

static bool compare_outputs(ember_session *session, const tensor_list *expected,
                            const char **names, ember_value **actual, double rtol,
                            double atol, char *why)
{
    size_t n_out = ember_session_get_output_count(session);
    for (size_t k = 0; k < expected->n; k++) {
        const char *name = io_name(session, false, &expected->items[k], k);
        size_t i = 0;
        while (name && i < n_out && strcmp(names[i], name))
            i++;
        if (!name || i == n_out) {
            snprintf(why, CONF_WHY_SIZE, "output_%zu.pb matches no model output", k);
            return false;
        }
        if (!conf_compare(name, expected->items[k].value, actual[i], rtol, atol, why))
            return false;
    }
    return true;
}

static bool run_and_compare(ember_session *session, const tensor_list *in,
                            const tensor_list *expected, double rtol, double atol, char *why)
{
    size_t n_out = ember_session_get_output_count(session);
    const char *in_names[MAX_TENSORS], *out_names[MAX_TENSORS];
    const ember_value *in_values[MAX_TENSORS];
    ember_value *outputs[MAX_TENSORS] = {0};
    if (n_out > MAX_TENSORS) {
        snprintf(why, CONF_WHY_SIZE, "more than %d outputs", MAX_TENSORS);
        return false;
    }
    for (size_t k = 0; k < in->n; k++) {
        in_names[k] = io_name(session, true, &in->items[k], k);
        in_values[k] = in->items[k].value;
        if (!in_names[k]) {
            snprintf(why, CONF_WHY_SIZE, "input_%zu.pb matches no model input", k);
            return false;
        }
    }
    for (size_t i = 0; i < n_out; i++) {
        const char *name = session_io_name(session, false, i);
        out_names[i] = name ? name : "";
    }
    if (ember_session_run(session, NULL, in_names, in_values, in->n, out_names, outputs,
                          n_out) != EMBER_OK) {
        snprintf(why, CONF_WHY_SIZE, "run: %s", ember_last_error());
        return false;
    }
    bool ok = compare_outputs(session, expected, out_names, outputs, rtol, atol, why);
    for (size_t i = 0; i < n_out; i++)
        ember_value_destroy(outputs[i]);
    return ok;
}

static bool run_data_set(ember_session *session, const char *set_dir,
                         const conf_model_scan *scan, double rtol, double atol, char *why)
{
    tensor_list in = {0}, expected = {0};
    bool ok = load_tensors(set_dir, "input", scan->inputs, scan->n_inputs, &in, why) &&
              load_tensors(set_dir, "output", scan->outputs, scan->n_outputs, &expected, why) &&
              run_and_compare(session, &in, &expected, rtol, atol, why);
    tensor_list_free(&in);
    tensor_list_free(&expected);
    return ok;
}

/* ---- one test ------------------------------------------------------------------ */

static void read_tolerance(const char *test_dir, double *rtol, double *atol)
{
    char path[4096];
    join_path(path, sizeof path, test_dir, "tolerance.txt");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    double r, a;
    if (fscanf(f, "%lf %lf", &r, &a) == 2)
        *rtol = r, *atol = a;
    fclose(f);
}

static bool make_options(const runner_args *args, ember_session_options **out)
{
    ember_session_options *opts = NULL;
    if (ember_session_options_create(&opts) != EMBER_OK)
        return false;
    ember_session_options_set_strict(opts, args->strict);
    char *list = args->providers ? strdup(args->providers) : NULL, *save = NULL;
    for (char *name = list ? strtok_r(list, ",", &save) : NULL; name;
         name = strtok_r(NULL, ",", &save))
        if (ember_session_options_append_provider(opts, name, NULL, NULL, 0) != EMBER_OK) {
            free(list);
            ember_session_options_destroy(opts);
            return false;
        }
    free(list);
    *out = opts;
    return true;
}

static int filter_sets(const struct dirent *d)
{
    return !strncmp(d->d_name, "test_data_set_", 14);
}

/* Creates a session for the test's model and runs every data set. */
static void execute_test(const runner_args *args, const char *test_dir,
                         const conf_model_scan *scan, test_result *r)
{
    ember_env *env = NULL;
    ember_session_options *opts = NULL;
    ember_session *session = NULL;
    struct dirent **sets = NULL;
    char model[4096], set_dir[4096];
    double rtol = 1e-3, atol = 1e-7;
    read_tolerance(test_dir, &rtol, &atol);
    join_path(model, sizeof model, test_dir, "model.onnx");
    result_set(r, RESULT_PASS, "%s", "");
    if (ember_env_create(&env) != EMBER_OK || !make_options(args, &opts)) {
        result_set(r, RESULT_FAIL, "setup: %s", ember_last_error());
        goto out;
    }
    if (ember_session_create(env, model, opts, &session) != EMBER_OK) {
        result_set(r, RESULT_FAIL, "load: %s", ember_last_error());
        goto out;
    }
    int n_sets = scandir(test_dir, &sets, filter_sets, alphasort);
    if (n_sets <= 0)
        result_set(r, RESULT_FAIL, "no test_data_set_* directory");
    for (int i = 0; i < n_sets && r->kind == RESULT_PASS; i++) {
        char why[CONF_WHY_SIZE] = "";
        join_path(set_dir, sizeof set_dir, test_dir, sets[i]->d_name);
        if (!run_data_set(session, set_dir, scan, rtol, atol, why))
            result_set(r, RESULT_FAIL, "%s: %s", sets[i]->d_name, why);
    }
    for (int i = 0; i < n_sets; i++)
        free(sets[i]);
    free(sets);
out:
    ember_session_destroy(session);
    ember_session_options_destroy(opts);
    ember_env_destroy(env);
}

static bool write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w, n -= (size_t)w;
    }
    return true;
}

static size_t read_all(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Reads what a child left: its result, or why it has none. */
static void collect_child(const runner_args *args, pid_t pid, int fd, test_result *r)
{
    size_t got = read_all(fd, r, sizeof *r);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        result_set(r, RESULT_FAIL, "timed out after %ld s", args->timeout_s);
    else if (WIFSIGNALED(status))
        result_set(r, RESULT_FAIL, "crashed: signal %d (%s)", WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
    else if (WEXITSTATUS(status) != 0)
        result_set(r, RESULT_FAIL, "test process exited with status %d (see stderr)",
                   WEXITSTATUS(status));
    else if (got != sizeof *r)
        result_set(r, RESULT_FAIL, "test process gave no result");
    r->why[sizeof r->why - 1] = '\0';
}

static void execute_forked(const runner_args *args, const char *test_dir,
                           const conf_model_scan *scan, test_result *r)
{
    int fds[2];
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0) {
        result_set(r, RESULT_FAIL, "pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        result_set(r, RESULT_FAIL, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        alarm((unsigned)args->timeout_s);
        execute_test(args, test_dir, scan, r);
        bool ok = write_all(fds[1], r, sizeof *r);
        close(fds[1]);
        exit(ok ? 0 : 3); // exit, not _exit: leak checkers run at exit
    }
    close(fds[1]);
    collect_child(args, pid, fds[0], r);
    close(fds[0]);
}

/* Decides whether the test runs at all: its ops and its value kinds. */
static bool check_runnable(const runner_args *args, const conf_model_scan *scan,
                           test_result *r)
{
    for (size_t i = 0; args->only_ops && i < scan->n_op_types && r->kind != RESULT_SKIP; i++) {
        char key[520];
        snprintf(key, sizeof key, ",%s,", scan->op_types[i]);
        if (!strstr(args->only_ops, key))
            result_set(r, RESULT_SKIP, "op '%s' is not in --only-ops", scan->op_types[i]);
    }
    if (r->kind != RESULT_SKIP && scan->unsupported[0])
        result_set(r, RESULT_SKIP, "%s (not supported by the runner)", scan->unsupported);
    return r->kind != RESULT_SKIP;
}

static void run_test(const runner_args *args, const char *test_dir, test_result *r)
{
    char model[4096], why[CONF_WHY_SIZE] = "";
    conf_model_scan scan;
    result_set(r, RESULT_PASS, "%s", "");
    join_path(model, sizeof model, test_dir, "model.onnx");
    if (!conf_model_scan_file(model, &scan, why)) {
        result_set(r, RESULT_FAIL, "%s", why);
        return;
    }
    if (check_runnable(args, &scan, r)) {
        if (args->use_fork)
            execute_forked(args, test_dir, &scan, r);
        else
            execute_test(args, test_dir, &scan, r);
    }
    conf_model_scan_free(&scan);
}

/* ---- reporting and the walk ------------------------------------------------------- */

static void record(const runner_args *args, const conf_expect_list *expect, totals *t,
                   const char *set, const char *name, const test_result *r)
{
    long listed = expect ? conf_expect_find(expect, set, name) : -1;
    if (r->kind == RESULT_SKIP) {
        t->skipped++;
        if (args->verbose)
            printf("SKIP %s/%s: %s\n", set, name, r->why);
    } else if (r->kind == RESULT_PASS && listed >= 0) {
        t->passed++;
        t->unexpected_passes++;
        printf("XPASS %s/%s: unexpectedly passed: remove it from the list %s\n", set, name,
               args->expect_path);
    } else if (r->kind == RESULT_PASS) {
        t->passed++;
        if (args->verbose)
            printf("PASS %s/%s\n", set, name);
    } else if (listed >= 0) {
        t->expected_failures++;
        if (args->verbose)
            printf("XFAIL %s/%s: %s\n", set, name, r->why);
    } else {
        t->failed++;
        printf("FAIL %s/%s: %s\n", set, name, r->why);
    }
}

static int filter_tests(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

static void run_set(const runner_args *args, const char *data_dir, const char *set,
                    const conf_expect_list *expect, totals *t)
{
    char set_dir[4096], test_dir[4096];
    join_path(set_dir, sizeof set_dir, data_dir, set);
    struct dirent **tests = NULL;
    int n = scandir(set_dir, &tests, filter_tests, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = tests[i]->d_name;
        char full[1024];
        join_path(full, sizeof full, set, name);
        join_path(test_dir, sizeof test_dir, set_dir, name);
        if (is_dir(test_dir) && (!args->filter || strstr(full, args->filter))) {
            test_result r;
            run_test(args, test_dir, &r);
            record(args, expect, t, set, name, &r);
            fflush(stdout);
        }
        free(tests[i]);
    }
    free(tests);
}

/* ---- arguments ----------------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ember_conformance [DATA_DIR] [--providers cpu,...] [--strict]\n"
            "                         [--filter SUBSTR] [--only-ops Op1,Op2]\n"
            "                         [--expect-fail FILE] [--timeout S] [--no-fork] [-v]\n"
            "DATA_DIR defaults to $EMBER_NODE_DATA, then --default-data-dir DIR.\n"
            "Generate it with: python3 tests/conformance/gen_node_data.py DATA_DIR\n");
}

static char *wrap_commas(const char *list)
{
    size_t n = strlen(list);
    char *s = malloc(n + 3);
    if (s)
        snprintf(s, n + 3, ",%s,", list);
    return s;
}

static int take_value(int argc, char **argv, int *i, const char **out)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "ember_conformance: %s needs a value\n", argv[*i]);
        return 2;
    }
    *out = argv[++*i];
    return 0;
}

static int parse_option(int argc, char **argv, int *i, runner_args *a)
{
    const char *arg = argv[*i], *v = NULL;
    int rc = 0;
    if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose"))
        a->verbose = true;
    else if (!strcmp(arg, "--strict"))
        a->strict = true;
    else if (!strcmp(arg, "--no-fork"))
        a->use_fork = false;
    else if (!strcmp(arg, "--providers") && !(rc = take_value(argc, argv, i, &v)))
        a->providers = strdup(v);
    else if (!strcmp(arg, "--filter") && !(rc = take_value(argc, argv, i, &v)))
        a->filter = v;
    else if (!strcmp(arg, "--only-ops") && !(rc = take_value(argc, argv, i, &v)))
        a->only_ops = wrap_commas(v);
    else if (!strcmp(arg, "--expect-fail") && !(rc = take_value(argc, argv, i, &v)))
        a->expect_path = v;
    else if (!strcmp(arg, "--default-data-dir") && !(rc = take_value(argc, argv, i, &v)))
        a->default_data_dir = v;
    else if (!strcmp(arg, "--timeout") && !(rc = take_value(argc, argv, i, &v))) {
        a->timeout_s = strtol(v, NULL, 10);
        if (a->timeout_s <= 0)
            rc = 2, fprintf(stderr, "ember_conformance: --timeout needs seconds > 0\n");
    } else if (!rc) {
        fprintf(stderr, "ember_conformance: unknown option '%s'\n", arg);
        usage(stderr);
        rc = 2;
    }
    return rc;
}

static int parse_args(int argc, char **argv, runner_args *a)
{
    a->use_fork = true;
    a->timeout_s = 300;
    for (int i = 1; i < argc; i++) {
        int rc = 0;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            exit(0);
        }
        if (argv[i][0] == '-')
            rc = parse_option(argc, argv, &i, a);
        else if (!a->data_dir)
            a->data_dir = argv[i];
        else
            rc = 2, fprintf(stderr, "ember_conformance: unexpected argument '%s'\n", argv[i]);
        if (rc)
            return rc;
    }
    if (!a->data_dir && getenv("EMBER_NODE_DATA") && getenv("EMBER_NODE_DATA")[0])
        a->data_dir = getenv("EMBER_NODE_DATA");
    if (!a->data_dir)
        a->data_dir = a->default_data_dir;
    if (!a->data_dir) {
        fprintf(stderr, "ember_conformance: no data directory given\n");
        usage(stderr);
        return 2;
    }
    return 0;
}

/* The data directory must hold at least one test set. */
static bool check_data_dir(const char *dir)
{
    for (size_t i = 0; i < sizeof test_sets / sizeof test_sets[0]; i++) {
        char path[4096];
        join_path(path, sizeof path, dir, test_sets[i]);
        if (is_dir(path))
            return true;
    }
    fprintf(stderr,
            "ember_conformance: no ONNX test data in '%s' (expected %s/node/...); generate "
            "it with: python3 tests/conformance/gen_node_data.py %s\n",
            dir, dir, dir);
    return false;
}

int main(int argc, char **argv)
{
    runner_args args = {0};
    conf_expect_list expect = {0};
    totals t = {0};
    char why[CONF_WHY_SIZE];
    int rc = parse_args(argc, argv, &args);
    if (rc == 0 && !check_data_dir(args.data_dir))
        rc = 1;
    if (rc == 0 && args.expect_path && !conf_expect_load(args.expect_path, &expect, why)) {
        fprintf(stderr, "ember_conformance: %s\n", why);
        rc = 1;
    }
    for (size_t i = 0; rc == 0 && i < sizeof test_sets / sizeof test_sets[0]; i++)
        run_set(&args, args.data_dir, test_sets[i], args.expect_path ? &expect : NULL, &t);
    if (rc == 0) {
        if (args.expect_path)
            printf("%zu expected failures, %zu unexpected passes\n", t.expected_failures,
                   t.unexpected_passes);
        printf("%zu passed, %zu failed, %zu skipped\n", t.passed, t.failed, t.skipped);
        rc = t.failed || t.unexpected_passes ? 1 : 0;
    }
    conf_expect_free(&expect);
    free(args.providers);
    free(args.only_ops);
    return rc;
}
