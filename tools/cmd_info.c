/*
 * `ember info MODEL`: what a model takes and gives (names, types, shapes
 * with symbolic dims), its opset imports, how many nodes of each operator
 * it has (read from the placement of a CPU session) and its metadata.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct op_count {
    const char *op_type; /* borrowed from the session */
    const char *domain;
    size_t count;
} op_count;

static void print_io(const ember_session *session, bool inputs)
{
    size_t n = inputs ? ember_session_get_input_count(session)
                      : ember_session_get_output_count(session);
    printf("%s (%zu):\n", inputs ? "inputs" : "outputs", n);
    for (size_t i = 0; i < n; i++) {
        ember_io_info info;
        ember_status s = inputs ? ember_session_get_input_info(session, i, &info)
                                : ember_session_get_output_info(session, i, &info);
        if (s != EMBER_OK)
            continue;
        char shape[1024];
        report_format_shape(shape, sizeof shape, &info);
        printf("  %s: %s %s\n", info.name, ember_dtype_name(info.dtype), shape);
    }
}

static void print_opsets(const ember_session *session)
{
    printf("opsets:");
    for (size_t i = 0; i < ember_session_get_opset_count(session); i++) {
        const char *domain = NULL;
        int64_t version = 0;
        if (ember_session_get_opset(session, i, &domain, &version) == EMBER_OK)
            printf(" %s %lld%s", domain && domain[0] ? domain : "ai.onnx", (long long)version,
                   i + 1 < ember_session_get_opset_count(session) ? "," : "");
    }
    printf("\n");
}

static int by_count_then_name(const void *a, const void *b)
{
    const op_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    int c = strcmp(x->domain, y->domain);
    return c ? c : strcmp(x->op_type, y->op_type);
}

static void add_op(op_count *ops, size_t *n_ops, const ember_node_placement *pl)
{
    const char *domain = pl->domain ? pl->domain : "";
    for (size_t j = 0; j < *n_ops; j++)
        if (!strcmp(ops[j].op_type, pl->op_type) && !strcmp(ops[j].domain, domain)) {
            ops[j].count++;
            return;
        }
    ops[(*n_ops)++] = (op_count){pl->op_type, domain, 1};
}

static int print_ops(const ember_session *session)
{
    size_t n_nodes = ember_session_get_node_count(session), n_ops = 0;
    op_count *ops = calloc(n_nodes + 1, sizeof *ops);
    if (!ops)
        return cli_fail("out of memory");
    for (size_t i = 0; i < n_nodes; i++) {
        ember_node_placement pl;
        if (ember_session_get_node_placement(session, i, &pl) == EMBER_OK && pl.op_type)
            add_op(ops, &n_ops, &pl);
    }
    qsort(ops, n_ops, sizeof *ops, by_count_then_name);
    printf("operators (%zu nodes, %zu kinds):\n", n_nodes, n_ops);
    for (size_t j = 0; j < n_ops; j++)
        printf("  %s%s%-24s %zu\n", ops[j].domain, ops[j].domain[0] ? "." : "", ops[j].op_type,
               ops[j].count);
    free(ops);
    return CLI_OK;
}

static void print_field(const char *label, const char *value)
{
    if (value && value[0])
        printf("%s: %s\n", label, value);
}

static void print_meta(const ember_session *session)
{
    ember_model_meta meta;
    memset(&meta, 0, sizeof meta);
    ember_session_get_model_meta(session, &meta);
    printf("ir_version: %lld\n", (long long)meta.ir_version);
    print_field("producer", meta.producer_name);
    print_field("producer_version", meta.producer_version);
    print_field("graph", meta.graph_name);
    print_field("domain", meta.domain);
    if (meta.model_version)
        printf("model_version: %lld\n", (long long)meta.model_version);
    print_field("description", meta.description);
    if (meta.n_custom)
        printf("metadata (%zu):\n", meta.n_custom);
    for (size_t i = 0; i < meta.n_custom; i++)
        printf("  %s: %s\n", meta.custom_keys[i], meta.custom_values[i]);
}

int cmd_info(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("'ember info' needs a model file");
    if (argc > 2)
        return cli_usage_error("unexpected argument '%s' for 'ember info'", argv[2]);
    if (argv[1][0] == '-' && argv[1][1] != '\0')
        return cli_usage_error("unknown option '%s' for 'ember info'", argv[1]);
    cli_session_config config = {.providers = NULL, .strict = false, .threads = -1, .opt_level = -1};
    ember_env *env = NULL;
    ember_session *session = NULL;
    int rc = cli_open_model(argv[1], &config, &env, &session);
    if (rc != CLI_OK)
        return rc;
    printf("model: %s\n", argv[1]);
    print_meta(session);
    print_opsets(session);
    print_io(session, true);
    print_io(session, false);
    rc = print_ops(session);
    ember_session_destroy(session);
    ember_env_destroy(env);
    return rc;
}
