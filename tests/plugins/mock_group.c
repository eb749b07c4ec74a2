/*
 * MockGroup: a host-memory provider that runs groups (ABI 1.1), for the
 * group tests of tests/unit/api/test_groups.c. It claims float32 Add, Mul
 * (numpy broadcasting) and Relu, runs each claimed node on its own
 * (kernel_create) and accepts every group it is offered (group_create):
 * the group kernel runs the members in order, keeping the values that only
 * connect members in buffers of its own, and reads and writes the rest
 * through the group's inputs and outputs.
 *
 * Unlike the other mocks it exports test hooks besides its entry point
 * (mock_group_*, below): what it saw at claim time, every group it was
 * offered, and how many node and group kernels ran. The test dlopens the
 * same file to call them. Options: "decline" = "1" makes group_create
 * decline every group (after recording it); "fail" = "1" makes it fail,
 * for the tests of the core's error path; "copy_constants" = "1" makes
 * node kernels copy their constant inputs at kernel_create and release
 * them (node_input_release, ABI 1.2), then run on the copies.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ember/ember_provider.h>

#define MG_MAX_RANK 8
#define MG_MAX_OFFERS 32
#define MG_MAX_VALUES 16
#define MG_MAX_NODES 64
#define MG_MAX_NODE_VALUES 4 /* inputs or outputs recorded per claimed node */
#define MG_TEXT 256

typedef enum mg_op { MG_ADD, MG_MUL, MG_RELU, MG_N_OPS } mg_op;

static const char *const op_names[MG_N_OPS] = {"Add", "Mul", "Relu"};
static const size_t op_arity[MG_N_OPS] = {2, 2, 1};

struct ember_provider {
    const ember_host_api *host;
    bool is_declining, is_failing, is_copying;
};

/* One member of a group: its op and the graph values it reads and writes. */
typedef struct mg_member {
    mg_op op;
    int64_t inputs[2];
    int64_t output;
} mg_member;

/* A node kernel has n_members == 0 and uses `op`; a group kernel lists
 * its members and the values of its ctx inputs and outputs. */
struct ember_kernel {
    const ember_host_api *host;
    mg_op op;
    float *copies[2]; /* copy_constants: node inputs copied and released */
    size_t n_members;
    mg_member *members;
    size_t n_inputs, n_outputs;
    int64_t *inputs, *outputs;
};

/* ---- the record the tests read ------------------------------------------------------ */

typedef struct mg_offer {
    char ops[MG_TEXT];   /* member op types in order, comma-separated */
    char names[MG_TEXT]; /* member node names in order, comma-separated */
    size_t n_inputs, n_outputs;
    int64_t inputs[MG_MAX_VALUES], outputs[MG_MAX_VALUES];
} mg_offer;

/* A node claim saw, with the value ids of its inputs and outputs. */
typedef struct mg_seen {
    char name[64];
    size_t n_inputs, n_outputs;
    int64_t inputs[MG_MAX_NODE_VALUES], outputs[MG_MAX_NODE_VALUES];
} mg_seen;

static struct {
    pthread_mutex_t lock;
    size_t n_offers, n_seen;
    mg_offer offers[MG_MAX_OFFERS];
    mg_seen seen[MG_MAX_NODES];
} record = {.lock = PTHREAD_MUTEX_INITIALIZER};

static atomic_long group_runs, node_runs;
/* Runs that found a released input's data freed (NULL); the thread count
 * the latest kernel_create was told. */
static atomic_long freed_inputs, create_threads;

static void append_text(char *text, const char *item)
{
    size_t used = strlen(text);
    snprintf(text + used, MG_TEXT - used, "%s%s", used ? "," : "", item);
}

static bool has_value_views(const ember_host_api *host)
{
    return EMBER_HAS(host, ember_host_api, node_input_value) &&
           EMBER_HAS(host, ember_host_api, node_output_value);
}

static void note_seen(const ember_host_api *host, const ember_node *node)
{
    pthread_mutex_lock(&record.lock);
    if (record.n_seen < MG_MAX_NODES) {
        mg_seen *s = &record.seen[record.n_seen++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", host->node_name(node));
        s->n_inputs = host->node_input_count(node);
        s->n_outputs = host->node_output_count(node);
        for (size_t i = 0; i < s->n_inputs && i < MG_MAX_NODE_VALUES; i++)
            s->inputs[i] = has_value_views(host) ? host->node_input_value(node, i) : -1;
        for (size_t i = 0; i < s->n_outputs && i < MG_MAX_NODE_VALUES; i++)
            s->outputs[i] = has_value_views(host) ? host->node_output_value(node, i) : -1;
    }
    pthread_mutex_unlock(&record.lock);
}

static void note_offer(const ember_host_api *host, const ember_group *group)
{
    pthread_mutex_lock(&record.lock);
    if (record.n_offers < MG_MAX_OFFERS) {
        mg_offer *o = &record.offers[record.n_offers++];
        memset(o, 0, sizeof *o);
        for (size_t i = 0; i < host->group_node_count(group); i++) {
            append_text(o->ops, host->node_op_type(host->group_node(group, i)));
            append_text(o->names, host->node_name(host->group_node(group, i)));
        }
        o->n_inputs = host->group_input_count(group);
        o->n_outputs = host->group_output_count(group);
        for (size_t i = 0; i < o->n_inputs && i < MG_MAX_VALUES; i++)
            o->inputs[i] = host->group_input_value(group, i);
        for (size_t i = 0; i < o->n_outputs && i < MG_MAX_VALUES; i++)
            o->outputs[i] = host->group_output_value(group, i);
    }
    pthread_mutex_unlock(&record.lock);
}

/* ---- test hooks (exported) ----------------------------------------------------------- */

EMBER_PROVIDER_EXPORT void mock_group_reset(void);
EMBER_PROVIDER_EXPORT void mock_group_reset(void)
{
    pthread_mutex_lock(&record.lock);
    record.n_offers = record.n_seen = 0;
    pthread_mutex_unlock(&record.lock);
    atomic_store(&group_runs, 0);
    atomic_store(&node_runs, 0);
    atomic_store(&freed_inputs, 0);
    atomic_store(&create_threads, 0);
}

/* Inputs that arrived freed after the kernel released them. */
EMBER_PROVIDER_EXPORT long mock_group_freed_input_count(void);
EMBER_PROVIDER_EXPORT long mock_group_freed_input_count(void)
{
    return atomic_load(&freed_inputs);
}

/* node_thread_count at the latest kernel_create. */
EMBER_PROVIDER_EXPORT long mock_group_create_threads(void);
EMBER_PROVIDER_EXPORT long mock_group_create_threads(void)
{
    return atomic_load(&create_threads);
}

EMBER_PROVIDER_EXPORT size_t mock_group_offer_count(void);
EMBER_PROVIDER_EXPORT size_t mock_group_offer_count(void)
{
    return record.n_offers;
}

/* Member op types ("Add,Relu,Mul") of offer `index`, or NULL. */
EMBER_PROVIDER_EXPORT const char *mock_group_offer_ops(size_t index);
EMBER_PROVIDER_EXPORT const char *mock_group_offer_ops(size_t index)
{
    return index < record.n_offers ? record.offers[index].ops : NULL;
}

/* Member node names of offer `index`, or NULL. */
EMBER_PROVIDER_EXPORT const char *mock_group_offer_names(size_t index);
EMBER_PROVIDER_EXPORT const char *mock_group_offer_names(size_t index)
{
    return index < record.n_offers ? record.offers[index].names : NULL;
}

/* Copies the input (or output) value ids of offer `index` into ids[0..cap)
 * and returns how many the group has. */
EMBER_PROVIDER_EXPORT size_t mock_group_offer_values(size_t index, bool outputs, int64_t *ids,
                                                     size_t cap);
EMBER_PROVIDER_EXPORT size_t mock_group_offer_values(size_t index, bool outputs, int64_t *ids,
                                                     size_t cap)
{
    if (index >= record.n_offers)
        return 0;
    const mg_offer *o = &record.offers[index];
    size_t n = outputs ? o->n_outputs : o->n_inputs;
    for (size_t i = 0; i < n && i < cap && i < MG_MAX_VALUES; i++)
        ids[i] = outputs ? o->outputs[i] : o->inputs[i];
    return n;
}

/* The value id of input (or output) `index` of the node named `name`, as
 * node_input_value said at claim time (the latest such node); -2 when
 * claim never saw it. */
EMBER_PROVIDER_EXPORT int64_t mock_group_node_value(const char *name, bool output, size_t index);
EMBER_PROVIDER_EXPORT int64_t mock_group_node_value(const char *name, bool output, size_t index)
{
    for (size_t i = record.n_seen; i-- > 0;) {
        const mg_seen *s = &record.seen[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (index >= (output ? s->n_outputs : s->n_inputs) || index >= MG_MAX_NODE_VALUES)
            return -2;
        return output ? s->outputs[index] : s->inputs[index];
    }
    return -2;
}

/* Runs of group kernels and of node kernels since the last reset. */
EMBER_PROVIDER_EXPORT long mock_group_run_count(void);
EMBER_PROVIDER_EXPORT long mock_group_run_count(void)
{
    return atomic_load(&group_runs);
}

EMBER_PROVIDER_EXPORT long mock_group_node_run_count(void);
EMBER_PROVIDER_EXPORT long mock_group_node_run_count(void)
{
    return atomic_load(&node_runs);
}

/* ---- instances ----------------------------------------------------------------------- */

/* Reads option "decline" or "fail" (= "0" or "1") into self. */
static ember_status read_option(const ember_host_api *host, const ember_option *option,
                                ember_provider *self)
{
    bool is_on = strcmp(option->value, "1") == 0;
    bool is_valid = is_on || strcmp(option->value, "0") == 0;
    if (is_valid && strcmp(option->key, "decline") == 0)
        self->is_declining = is_on;
    else if (is_valid && strcmp(option->key, "fail") == 0)
        self->is_failing = is_on;
    else if (is_valid && strcmp(option->key, "copy_constants") == 0)
        self->is_copying = is_on;
    else
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "MockGroup: unknown option %s=%s; known: decline=0|1, fail=0|1, "
                          "copy_constants=0|1",
                          option->key, option->value);
    return EMBER_OK;
}

static ember_status mg_create(const ember_host_api *host, const ember_option *options,
                              size_t n_options, ember_provider **out)
{
    ember_provider *self = malloc(sizeof *self);
    if (!self)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "MockGroup: out of memory");
    *self = (ember_provider){host, false, false, false};
    ember_status status = EMBER_OK;
    for (size_t i = 0; i < n_options && status == EMBER_OK; i++)
        status = read_option(host, &options[i], self);
    if (status != EMBER_OK) {
        free(self);
        return status;
    }
    *out = self;
    return EMBER_OK;
}

static void mg_destroy(ember_provider *self)
{
    free(self);
}

/* ---- claim and node kernels --------------------------------------------------------- */

static int op_index(const char *name)
{
    for (int i = 0; i < MG_N_OPS; i++)
        if (strcmp(op_names[i], name) == 0)
            return i;
    return -1;
}

static bool inputs_are_float(const ember_host_api *host, const ember_node *node, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ember_type_info type;
        if (!host->node_input_present(node, i) || !host->node_input_type(node, i, &type) ||
            type.dtype != EMBER_DTYPE_FLOAT32)
            return false;
    }
    return true;
}

static ember_status mg_claim(ember_provider *self, const ember_node *node, bool *claimed)
{
    const ember_host_api *host = self->host;
    int op = op_index(host->node_op_type(node));
    note_seen(host, node);
    *claimed = op >= 0 && host->node_domain(node)[0] == '\0' &&
               host->node_input_count(node) == op_arity[op] &&
               host->node_output_count(node) == 1 && inputs_are_float(host, node, op_arity[op]);
    return EMBER_OK;
}

static ember_status mg_kernel_create(ember_provider *self, const ember_node *node,
                                     ember_kernel **out)
{
    int op = op_index(self->host->node_op_type(node));
    if (op < 0)
        return self->host->fail(EMBER_E_INVALID_ARGUMENT,
                                "MockGroup: node '%s' (%s) is not an op MockGroup runs",
                                self->host->node_name(node), self->host->node_op_type(node));
    ember_kernel *kernel = calloc(1, sizeof *kernel);
    if (!kernel)
        return self->host->fail(EMBER_E_OUT_OF_MEMORY, "MockGroup: out of memory");
    kernel->host = self->host;
    kernel->op = (mg_op)op;
    if (EMBER_HAS(self->host, ember_host_api, node_thread_count))
        atomic_store(&create_threads, (long)self->host->node_thread_count(node));
    for (size_t i = 0; self->is_copying && i < op_arity[op]; i++) {
        const ember_tensor *c = self->host->node_input_constant(node, i);
        size_t n = 1;
        for (uint32_t d = 0; c && d < c->rank; d++)
            n *= (size_t)c->dims[d];
        if (!c || !EMBER_HAS(self->host, ember_host_api, node_input_release) ||
            !(kernel->copies[i] = malloc(n * sizeof(float))))
            continue;
        memcpy(kernel->copies[i], c->data, n * sizeof(float));
        self->host->node_input_release(node, i);
    }
    *out = kernel;
    return EMBER_OK;
}

static void mg_kernel_destroy(ember_kernel *kernel)
{
    if (!kernel)
        return;
    free(kernel->members);
    free(kernel->inputs);
    free(kernel->outputs);
    free(kernel->copies[0]);
    free(kernel->copies[1]);
    free(kernel);
}

/* ---- group kernels ------------------------------------------------------------------- */

static bool has_group_views(const ember_host_api *host)
{
    return has_value_views(host) && EMBER_HAS(host, ember_host_api, group_node_count) &&
           EMBER_HAS(host, ember_host_api, group_node) &&
           EMBER_HAS(host, ember_host_api, group_input_count) &&
           EMBER_HAS(host, ember_host_api, group_input_value) &&
           EMBER_HAS(host, ember_host_api, group_output_count) &&
           EMBER_HAS(host, ember_host_api, group_output_value);
}

static ember_status describe_member(const ember_host_api *host, const ember_node *node,
                                    mg_member *member)
{
    int op = op_index(host->node_op_type(node));
    if (op < 0)
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "MockGroup: group member '%s' (%s) is not an op MockGroup claims",
                          host->node_name(node), host->node_op_type(node));
    member->op = (mg_op)op;
    member->inputs[0] = host->node_input_value(node, 0);
    member->inputs[1] = op_arity[op] > 1 ? host->node_input_value(node, 1) : -1;
    member->output = host->node_output_value(node, 0);
    return EMBER_OK;
}

static ember_status describe_group(const ember_host_api *host, const ember_group *group,
                                   ember_kernel *k)
{
    k->n_members = host->group_node_count(group);
    k->n_inputs = host->group_input_count(group);
    k->n_outputs = host->group_output_count(group);
    k->members = calloc(k->n_members + 1, sizeof *k->members);
    k->inputs = calloc(k->n_inputs + 1, sizeof *k->inputs);
    k->outputs = calloc(k->n_outputs + 1, sizeof *k->outputs);
    if (!k->members || !k->inputs || !k->outputs)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "MockGroup: out of memory");
    for (size_t i = 0; i < k->n_inputs; i++)
        k->inputs[i] = host->group_input_value(group, i);
    for (size_t i = 0; i < k->n_outputs; i++)
        k->outputs[i] = host->group_output_value(group, i);
    for (size_t i = 0; i < k->n_members; i++) {
        ember_status status = describe_member(host, host->group_node(group, i), &k->members[i]);
        if (status != EMBER_OK)
            return status;
    }
    return EMBER_OK;
}

static ember_status mg_group_create(ember_provider *self, const ember_group *group,
                                    ember_kernel **out)
{
    const ember_host_api *host = self->host;
    if (!has_group_views(host))
        return host->fail(EMBER_E_PROVIDER_ABI,
                          "MockGroup: the host (ABI %u.%u) offered a group but leaves its "
                          "required 1.1 views (node_input_value, node_output_value, group_*) "
                          "unset",
                          (unsigned)EMBER_ABI_MAJOR_OF(host->abi_version),
                          (unsigned)EMBER_ABI_MINOR_OF(host->abi_version));
    note_offer(host, group);
    if (self->is_failing)
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "MockGroup: group_create of %zu nodes from '%s' fails (option fail=1)",
                          host->group_node_count(group),
                          host->node_name(host->group_node(group, 0)));
    if (self->is_declining) {
        *out = NULL;
        return EMBER_OK;
    }
    ember_kernel *kernel = calloc(1, sizeof *kernel);
    if (!kernel)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "MockGroup: out of memory");
    kernel->host = host;
    ember_status status = describe_group(host, group, kernel);
    if (status != EMBER_OK) {
        mg_kernel_destroy(kernel);
        return status;
    }
    *out = kernel;
    return EMBER_OK;
}

/* ---- arithmetic ---------------------------------------------------------------------- */

/* A float tensor seen by the arithmetic: borrowed data and its shape. */
typedef struct mg_operand {
    const float *data;
    int64_t dims[MG_MAX_RANK];
    uint32_t rank;
} mg_operand;

static size_t element_count(const int64_t *dims, uint32_t rank)
{
    size_t n = 1;
    for (uint32_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    return n;
}

/* The numpy broadcast of a and b (b ignored for Relu) into out's shape. */
static bool result_shape(mg_op op, const mg_operand *a, const mg_operand *b, mg_operand *out)
{
    if (op == MG_RELU) {
        out->rank = a->rank;
        memcpy(out->dims, a->dims, sizeof out->dims);
        return true;
    }
    out->rank = a->rank > b->rank ? a->rank : b->rank;
    for (uint32_t i = 0; i < out->rank; i++) {
        int64_t da = i < a->rank ? a->dims[a->rank - 1 - i] : 1;
        int64_t db = i < b->rank ? b->dims[b->rank - 1 - i] : 1;
        if (da != db && da != 1 && db != 1)
            return false;
        out->dims[out->rank - 1 - i] = da == 1 ? db : da;
    }
    return true;
}

/* Offset into t of the element at flat index `flat` of the shape `to`. */
static size_t broadcast_offset(const mg_operand *t, const mg_operand *to, size_t flat)
{
    size_t offset = 0, stride = 1;
    for (uint32_t d = to->rank; d-- > 0;) {
        size_t coord = flat % (size_t)to->dims[d];
        flat /= (size_t)to->dims[d];
        uint32_t lead = to->rank - t->rank;
        if (d < lead)
            continue;
        int64_t dim = t->dims[d - lead];
        offset += dim == 1 ? 0 : coord * stride;
        stride *= (size_t)dim;
    }
    return offset;
}

static void compute(mg_op op, const mg_operand *a, const mg_operand *b, const mg_operand *shape,
                    float *out)
{
    size_t n = element_count(shape->dims, shape->rank);
    for (size_t i = 0; i < n; i++) {
        float x = a->data[broadcast_offset(a, shape, i)];
        if (op == MG_RELU) {
            out[i] = x > 0.0f ? x : 0.0f;
            continue;
        }
        float y = b->data[broadcast_offset(b, shape, i)];
        out[i] = op == MG_ADD ? x + y : x * y;
    }
}

static ember_status operand_of(const ember_host_api *host, const ember_tensor *t, size_t index,
                               mg_operand *out)
{
    if (!t || t->dtype != EMBER_DTYPE_FLOAT32 || t->rank > MG_MAX_RANK ||
        t->device_type != EMBER_DEVICE_CPU)
        return host->fail(EMBER_E_INVALID_ARGUMENT,
                          "MockGroup: input %zu is absent, not float32 on the host, or above "
                          "rank %d",
                          index, MG_MAX_RANK);
    memset(out, 0, sizeof *out);
    out->data = t->data;
    out->rank = t->rank;
    if (t->rank)
        memcpy(out->dims, t->dims, t->rank * sizeof *t->dims);
    return EMBER_OK;
}

/* ---- running a node ------------------------------------------------------------------ */

static ember_status run_node(ember_kernel *k, ember_kernel_context *ctx)
{
    const ember_host_api *host = k->host;
    mg_operand a, b = {0}, shape;
    ember_status status = operand_of(host, host->ctx_input(ctx, 0), 0, &a);
    if (status == EMBER_OK && op_arity[k->op] > 1)
        status = operand_of(host, host->ctx_input(ctx, 1), 1, &b);
    if (status != EMBER_OK)
        return status;
    mg_operand *operands[2] = {&a, &b};
    for (size_t i = 0; i < 2; i++) {
        if (!k->copies[i])
            continue;
        if (!operands[i]->data)
            atomic_fetch_add(&freed_inputs, 1);
        operands[i]->data = k->copies[i];
    }
    if (!result_shape(k->op, &a, &b, &shape))
        return host->fail(EMBER_E_INVALID_ARGUMENT, "MockGroup %s: shapes do not broadcast",
                          op_names[k->op]);
    ember_tensor *out;
    status = host->ctx_output(ctx, 0, EMBER_DTYPE_FLOAT32, shape.dims, shape.rank, &out);
    if (status != EMBER_OK)
        return status;
    compute(k->op, &a, &b, &shape, out->data);
    atomic_fetch_add(&node_runs, 1);
    return EMBER_OK;
}

/* ---- running a group ------------------------------------------------------------------ */

/* The values a group run knows: its inputs, then each member's result
 * (owned: malloc'd here and freed when the run ends). */
typedef struct mg_value {
    int64_t id;
    mg_operand t;
    float *owned;
} mg_value;

typedef struct mg_run {
    const ember_kernel *k;
    ember_kernel_context *ctx;
    mg_value *values;
    size_t n_values;
} mg_run;

static const mg_operand *find_value(const mg_run *run, int64_t id)
{
    for (size_t i = run->n_values; i-- > 0;)
        if (run->values[i].id == id)
            return &run->values[i].t;
    return NULL;
}

static ember_status load_inputs(mg_run *run)
{
    const ember_host_api *host = run->k->host;
    if (host->ctx_input_count(run->ctx) != run->k->n_inputs ||
        host->ctx_output_count(run->ctx) != run->k->n_outputs)
        return host->fail(EMBER_E_INTERNAL,
                          "MockGroup: the group has %zu inputs and %zu outputs but its "
                          "context %zu and %zu",
                          run->k->n_inputs, run->k->n_outputs, host->ctx_input_count(run->ctx),
                          host->ctx_output_count(run->ctx));
    for (size_t i = 0; i < run->k->n_inputs; i++) {
        mg_value *v = &run->values[run->n_values];
        *v = (mg_value){run->k->inputs[i], {0}, NULL};
        ember_status status = operand_of(host, host->ctx_input(run->ctx, i), i, &v->t);
        if (status != EMBER_OK)
            return status;
        run->n_values++;
    }
    return EMBER_OK;
}

static ember_status member_operand(const mg_run *run, size_t m, size_t index,
                                   const mg_operand **out)
{
    *out = find_value(run, run->k->members[m].inputs[index]);
    if (*out)
        return EMBER_OK;
    return run->k->host->fail(EMBER_E_INTERNAL,
                              "MockGroup: member %zu (%s) reads value %lld, which is neither a "
                              "group input nor written by an earlier member",
                              m, op_names[run->k->members[m].op],
                              (long long)run->k->members[m].inputs[index]);
}

static ember_status run_member(mg_run *run, size_t m)
{
    const ember_host_api *host = run->k->host;
    const mg_member *member = &run->k->members[m];
    const mg_operand *a, *b = NULL;
    ember_status status = member_operand(run, m, 0, &a);
    if (status == EMBER_OK && op_arity[member->op] > 1)
        status = member_operand(run, m, 1, &b);
    if (status != EMBER_OK)
        return status;
    mg_value *v = &run->values[run->n_values];
    *v = (mg_value){member->output, {0}, NULL};
    if (!result_shape(member->op, a, b, &v->t))
        return host->fail(EMBER_E_INVALID_ARGUMENT, "MockGroup %s: shapes do not broadcast",
                          op_names[member->op]);
    size_t n = element_count(v->t.dims, v->t.rank);
    v->owned = malloc(n ? n * sizeof *v->owned : 1);
    if (!v->owned)
        return host->fail(EMBER_E_OUT_OF_MEMORY, "MockGroup: out of memory");
    run->n_values++;
    compute(member->op, a, b, &v->t, v->owned);
    v->t.data = v->owned;
    return EMBER_OK;
}

static ember_status store_outputs(const mg_run *run)
{
    const ember_host_api *host = run->k->host;
    for (size_t i = 0; i < run->k->n_outputs; i++) {
        const mg_operand *t = find_value(run, run->k->outputs[i]);
        if (!t)
            return host->fail(EMBER_E_INTERNAL,
                              "MockGroup: group output %zu (value %lld) is written by no member",
                              i, (long long)run->k->outputs[i]);
        ember_tensor *out;
        ember_status status =
            host->ctx_output(run->ctx, i, EMBER_DTYPE_FLOAT32, t->dims, t->rank, &out);
        if (status != EMBER_OK)
            return status;
        memcpy(out->data, t->data, element_count(t->dims, t->rank) * sizeof(float));
    }
    return EMBER_OK;
}

static ember_status run_group(ember_kernel *k, ember_kernel_context *ctx)
{
    mg_run run = {k, ctx, calloc(k->n_inputs + k->n_members + 1, sizeof(mg_value)), 0};
    if (!run.values)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "MockGroup: out of memory");
    ember_status status = load_inputs(&run);
    for (size_t m = 0; m < k->n_members && status == EMBER_OK; m++)
        status = run_member(&run, m);
    if (status == EMBER_OK)
        status = store_outputs(&run);
    for (size_t i = 0; i < run.n_values; i++)
        free(run.values[i].owned);
    free(run.values);
    if (status == EMBER_OK)
        atomic_fetch_add(&group_runs, 1);
    return status;
}

static ember_status mg_kernel_run(ember_kernel *kernel, ember_kernel_context *ctx)
{
    return kernel->n_members ? run_group(kernel, ctx) : run_node(kernel, ctx);
}

/* ---- the table and entry point ------------------------------------------------------- */

static const ember_provider_api mock_group_api = {
    .abi_version = EMBER_ABI_VERSION,
    .struct_size = sizeof(ember_provider_api),
    .name = "MockGroup",
    .device_name = "cpu",
    .device_type = EMBER_DEVICE_CPU,
    .create = mg_create,
    .destroy = mg_destroy,
    .claim = mg_claim,
    .kernel_create = mg_kernel_create,
    .kernel_run = mg_kernel_run,
    .kernel_destroy = mg_kernel_destroy,
    .group_create = mg_group_create,
};

EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version);
EMBER_PROVIDER_EXPORT const ember_provider_api *ember_provider_entry(uint32_t host_abi_version)
{
    if (EMBER_ABI_MAJOR_OF(host_abi_version) != EMBER_ABI_MAJOR)
        return NULL;
    return &mock_group_api;
}
