/*
 * Entry points of core/model: read a file or take bytes, pre-check and
 * unpack the protobuf (protobuf-c, through the core allocator), check the
 * model header (IR version, graph, opset imports), convert metadata and
 * the main graph (inlining calls of model-local functions), and
 * finalize. Every message is prefixed with the model's label.
 */
#include "core/model/model.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/model/model_impl.h"
#include "core/util/util.h"

/* The newest ONNX IR version this loader understands (onnx 1.23's). */
#define MODEL_MAX_IR_VERSION 14

/* ---- unpacking ------------------------------------------------------------- */

typedef struct pb_alloc_state {
    bool failed;
} pb_alloc_state;

static void *pb_alloc(void *data, size_t size)
{
    void *p = util_malloc(size);
    if (!p)
        ((pb_alloc_state *)data)->failed = true;
    return p;
}

static void pb_free(void *data, void *p)
{
    util_free(p);
}

static ember_status unpack(const void *bytes, size_t size, Onnx__ModelProto **out)
{
    pb_alloc_state state = {false};
    ProtobufCAllocator allocator = {pb_alloc, pb_free, &state};
    if (size == 0)
        return ember_fail(EMBER_E_INVALID_MODEL, "not a valid ONNX model (it is empty)");
    EMBER_TRY(model_wire_check(&onnx__model_proto__descriptor, bytes, size));
    *out = onnx__model_proto__unpack(&allocator, size, bytes);
    if (*out)
        return EMBER_OK;
    if (state.failed)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory parsing the model");
    return ember_fail(EMBER_E_INVALID_MODEL, "not a valid ONNX model (protobuf parse failed)");
}

static void unpacked_free(Onnx__ModelProto *mp)
{
    pb_alloc_state state = {false};
    ProtobufCAllocator allocator = {pb_alloc, pb_free, &state};
    if (mp)
        onnx__model_proto__free_unpacked(mp, &allocator);
}

/* ---- the header ---------------------------------------------------------------- */

static ember_status check_header(const Onnx__ModelProto *mp)
{
    if (!mp->has_ir_version || mp->ir_version <= 0)
        return ember_fail(EMBER_E_INVALID_MODEL, "not a valid ONNX model (no ir_version)");
    if (mp->ir_version > MODEL_MAX_IR_VERSION)
        return ember_fail(EMBER_E_NOT_IMPLEMENTED,
                          "IR version %lld is newer than this Ember supports (up to %d); "
                          "convert the model to an older IR version or update Ember",
                          (long long)mp->ir_version, MODEL_MAX_IR_VERSION);
    if (!mp->graph)
        return ember_fail(EMBER_E_INVALID_MODEL, "not a valid ONNX model (it has no graph)");
    return EMBER_OK;
}

static const char *normalize_domain(const char *domain)
{
    return !domain || strcmp(domain, "ai.onnx") == 0 ? "" : domain;
}

static ember_status opset_add(graph *g, const char *domain, int64_t version)
{
    for (size_t i = 0; i < g->n_opsets; i++)
        if (strcmp(g->opsets[i].domain, domain) == 0)
            return ember_fail(EMBER_E_INVALID_MODEL, "opset of domain '%s' is imported twice",
                              domain[0] ? domain : "ai.onnx");
    if (version < 1)
        return ember_fail(EMBER_E_INVALID_MODEL, "opset import of domain '%s' has version %lld",
                          domain[0] ? domain : "ai.onnx", (long long)version);
    char *copy = util_strdup(domain);
    if (!copy)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading opset imports");
    g->opsets[g->n_opsets++] = (graph_opset){copy, version};
    return EMBER_OK;
}

/* Room for the model's imports and those of its functions. */
static size_t opset_capacity(const Onnx__ModelProto *mp)
{
    size_t n = mp->n_opset_import + 1;
    for (size_t i = 0; i < mp->n_functions; i++)
        n += mp->functions[i]->n_opset_import;
    return n;
}

static bool has_opset(const graph *g, const char *domain)
{
    for (size_t i = 0; i < g->n_opsets; i++)
        if (strcmp(g->opsets[i].domain, domain) == 0)
            return true;
    return false;
}

/* Inlined function bodies run under the model's imports; a domain only a
 * function imports is added with the function's version. */
static ember_status function_opsets_load(const Onnx__ModelProto *mp, graph *g)
{
    for (size_t i = 0; i < mp->n_functions; i++) {
        const Onnx__FunctionProto *f = mp->functions[i];
        for (size_t k = 0; k < f->n_opset_import; k++) {
            const char *domain = normalize_domain(f->opset_import[k]->domain);
            if (!has_opset(g, domain))
                EMBER_TRY(opset_add(g, domain, f->opset_import[k]->has_version
                                                   ? f->opset_import[k]->version
                                                   : 0));
        }
    }
    return EMBER_OK;
}

/* IR versions before 3 had no opset imports and meant ai.onnx version 1. */
static ember_status opsets_load(const Onnx__ModelProto *mp, graph *g)
{
    if (!(g->opsets = util_calloc(opset_capacity(mp), sizeof *g->opsets)))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading opset imports");
    if (mp->n_opset_import == 0 && mp->ir_version < 3)
        EMBER_TRY(opset_add(g, "", 1));
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *op = mp->opset_import[i];
        EMBER_TRY(opset_add(g, normalize_domain(op->domain), op->has_version ? op->version : 0));
    }
    return function_opsets_load(mp, g);
}

/* ---- metadata ------------------------------------------------------------------ */

static ember_status dup_field(char **dst, const char *src)
{
    if (!(*dst = util_strdup(src ? src : "")))
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading model metadata");
    return EMBER_OK;
}

static ember_status meta_load(const Onnx__ModelProto *mp, graph_meta *m)
{
    EMBER_TRY(dup_field(&m->producer_name, mp->producer_name));
    EMBER_TRY(dup_field(&m->producer_version, mp->producer_version));
    EMBER_TRY(dup_field(&m->domain, mp->domain));
    EMBER_TRY(dup_field(&m->description, mp->doc_string));
    EMBER_TRY(dup_field(&m->graph_name, mp->graph->name));
    m->model_version = mp->has_model_version ? mp->model_version : 0;
    m->ir_version = mp->ir_version;
    size_t n = mp->n_metadata_props;
    if (n == 0)
        return EMBER_OK;
    m->custom_keys = util_calloc(n, sizeof *m->custom_keys);
    m->custom_values = util_calloc(n, sizeof *m->custom_values);
    if (!m->custom_keys || !m->custom_values)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory loading model metadata");
    m->n_custom = n;
    for (size_t i = 0; i < n; i++) {
        EMBER_TRY(dup_field(&m->custom_keys[i], mp->metadata_props[i]->key));
        EMBER_TRY(dup_field(&m->custom_values[i], mp->metadata_props[i]->value));
    }
    return EMBER_OK;
}

/* ---- loading --------------------------------------------------------------------- */

static ember_status convert(model_ctx *ctx, const Onnx__ModelProto *mp, graph *g)
{
    EMBER_TRY(check_header(mp));
    EMBER_TRY(opsets_load(mp, g));
    EMBER_TRY(meta_load(mp, &g->meta));
    ctx->ir_version = mp->ir_version;
    ctx->model = mp;
    EMBER_TRY(model_graph_load(ctx, mp->graph, g, NULL));
    return graph_finalize(g);
}

/* Unpacks `bytes` and converts them into a graph. The large raw_data of
 * the main graph's initializers is left out of the message first and read
 * straight into the graph's tensors (wire_strip.c): from `bytes` itself,
 * or, when `owned` is given, from the model file `fd` once *owned (the
 * file's bytes, from util_malloc) is freed, so that the weights exist
 * once while loading. */
static ember_status load(const uint8_t *bytes, size_t size, const char *base_dir,
                         uint8_t **owned, int fd, graph **out)
{
    Onnx__ModelProto *mp = NULL;
    graph *g = NULL;
    model_ctx ctx;
    model_ctx_init(&ctx, base_dir);
    model_deferred_set deferred;
    uint8_t *stripped = NULL;
    size_t stripped_size = 0;
    ember_status status = model_strip_raw_data(bytes, size, &stripped, &stripped_size, &deferred);
    if (status == EMBER_OK && stripped) {
        deferred.base = owned ? NULL : bytes;
        deferred.fd = fd;
        ctx.deferred = &deferred;
        if (owned) {
            util_free(*owned);
            *owned = NULL;
        }
        bytes = stripped;
        size = stripped_size;
    }
    if (status == EMBER_OK)
        status = unpack(bytes, size, &mp);
    util_free(stripped);
    if (owned) {
        util_free(*owned);
        *owned = NULL;
    }
    if (status == EMBER_OK)
        status = graph_create(NULL, &g);
    if (status == EMBER_OK)
        status = convert(&ctx, mp, g);
    model_ctx_release(&ctx);
    model_deferred_free(&deferred);
    unpacked_free(mp);
    if (status != EMBER_OK) {
        graph_destroy(g);
        return status;
    }
    *out = g;
    return EMBER_OK;
}

ember_status model_load_bytes(const void *bytes, size_t size, const char *base_dir,
                              const char *label, graph **out)
{
    if (!label)
        label = "<bytes>";
    if ((!bytes && size) || !out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "%s: no model bytes given", label);
    ember_status status = load(bytes, size, base_dir, NULL, -1, out);
    if (status != EMBER_OK)
        return ember_fail_prefix(status, "%s", label);
    return EMBER_OK;
}

/* ---- files ------------------------------------------------------------------------ */

static ember_status open_failed(const char *path, const char *what)
{
    int err = errno;
    return ember_fail(err == ENOENT || err == ENOTDIR ? EMBER_E_NO_SUCH_FILE : EMBER_E_IO,
                      "%s: cannot %s: %s", path, what, strerror(err));
}

static ember_status read_all(int fd, const char *path, size_t size, uint8_t *buf)
{
    size_t done = 0;
    while (done < size) {
        ssize_t got = read(fd, buf + done, size - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return open_failed(path, "read");
        if (got == 0)
            return ember_fail(EMBER_E_IO, "%s: the file shrank while it was read", path);
        done += (size_t)got;
    }
    return EMBER_OK;
}

/* Reads the file at `path` into *out; *fd stays open for reading more. */
static ember_status read_file(const char *path, uint8_t **out, size_t *size, int *fd_out)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return open_failed(path, "open");
    ember_status status = EMBER_OK;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0)
        status = open_failed(path, "stat");
    else if (!S_ISREG(st.st_mode))
        status = ember_fail(EMBER_E_INVALID_ARGUMENT, "%s: not a regular file", path);
    else if (!(buf = util_malloc((size_t)st.st_size)))
        status = ember_fail(EMBER_E_OUT_OF_MEMORY, "%s: out of memory reading %lld bytes", path,
                            (long long)st.st_size);
    else
        status = read_all(fd, path, (size_t)st.st_size, buf);
    if (status != EMBER_OK) {
        close(fd);
        util_free(buf);
        return status;
    }
    *out = buf;
    *size = (size_t)st.st_size;
    *fd_out = fd;
    return EMBER_OK;
}

/* The folder of `path` ("." when it has none). */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return util_strdup(".");
    return util_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

ember_status model_load_file(const char *path, graph **out)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (!path || !out)
        return ember_fail(EMBER_E_INVALID_ARGUMENT, "model_load_file: no path given");
    int fd = -1;
    EMBER_TRY(read_file(path, &bytes, &size, &fd));
    char *folder = folder_of(path);
    ember_status status = folder ? load(bytes, size, folder, &bytes, fd, out)
                                 : ember_fail(EMBER_E_OUT_OF_MEMORY, "%s: out of memory", path);
    close(fd);
    if (status != EMBER_OK)
        status = ember_fail_prefix(status, "%s", path);
    util_free(folder);
    util_free(bytes);
    return status;
}
