/*
 * External tensor data: the `location`, `offset` and `length` keys of a
 * TensorProto's external_data, resolved inside the model's folder. A
 * location must be relative, must not contain a `..` component, and must
 * still lie inside the folder once symlinks are resolved (realpath), so a
 * model cannot read files elsewhere on the machine. The byte range is
 * checked against the file's size before anything is read.
 */
#include "core/model/model_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/util.h"

void model_ctx_init(model_ctx *ctx, const char *base_dir)
{
    *ctx = (model_ctx){.base_dir = base_dir, .ext_fd = -1};
}

void model_ctx_release(model_ctx *ctx)
{
    if (ctx->ext_fd >= 0)
        close(ctx->ext_fd);
    util_free(ctx->ext_location);
    util_free(ctx->base_real);
    ctx->ext_fd = -1;
    ctx->ext_location = ctx->base_real = NULL;
}

/* ---- the keys ------------------------------------------------------------- */

typedef struct ext_ref {
    const char *location;
    uint64_t offset;
    uint64_t length;
    bool has_length;
} ext_ref;

static bool parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static ember_status read_keys(const Onnx__TensorProto *tp, const char *name, ext_ref *ref)
{
    *ref = (ext_ref){0};
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *key = tp->external_data[i]->key, *value = tp->external_data[i]->value;
        if (!key)
            continue;
        if (strcmp(key, "location") == 0) {
            ref->location = value;
        } else if (strcmp(key, "offset") == 0 || strcmp(key, "length") == 0) {
            bool is_offset = key[0] == 'o';
            if (!parse_u64(value, is_offset ? &ref->offset : &ref->length))
                return ember_fail(EMBER_E_INVALID_MODEL,
                                  "tensor '%s': external data %s '%s' is not a non-negative "
                                  "integer", name, key, value ? value : "");
            ref->has_length |= !is_offset;
        }
        /* "checksum" and unknown keys are ignored. */
    }
    if (!ref->location || !ref->location[0])
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s' uses external data but gives no location", name);
    return EMBER_OK;
}

/* ---- the path -------------------------------------------------------------- */

static bool has_dotdot(const char *path)
{
    const char *p = path;
    while (*p) {
        size_t len = strcspn(p, "/\\");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += len;
        if (*p)
            p++;
    }
    return false;
}

static ember_status check_location(const model_ctx *ctx, const char *location, const char *name)
{
    if (location[0] == '/' || location[0] == '\\')
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': external data path '%s' is absolute; it must be "
                          "relative to the model's folder", name, location);
    if (has_dotdot(location))
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': external data path '%s' contains '..'; it must stay "
                          "inside the model's folder", name, location);
    if (!ctx->base_dir)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s' has external data '%s', but the model was loaded from "
                          "memory without a base directory", name, location);
    return EMBER_OK;
}

static ember_status resolve_failed(const char *name, const char *location)
{
    int err = errno;
    return ember_fail(err == ENOENT || err == ENOTDIR ? EMBER_E_NO_SUCH_FILE : EMBER_E_IO,
                      "tensor '%s': cannot open external data '%s': %s", name, location,
                      strerror(err));
}

/* realpath of base_dir + "/" + location into `resolved`, refusing a
 * result outside realpath(base_dir). */
static ember_status resolve(model_ctx *ctx, const char *location, const char *name,
                            char resolved[PATH_MAX])
{
    char real[PATH_MAX];
    if (!ctx->base_real) {
        if (!realpath(ctx->base_dir, real))
            return resolve_failed(name, ctx->base_dir);
        if (!(ctx->base_real = util_strdup(real)))
            return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory resolving external data");
    }
    char *joined = util_format("%s/%s", ctx->base_dir, location);
    if (!joined)
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory resolving external data");
    char *ok = realpath(joined, resolved);
    util_free(joined);
    if (!ok)
        return resolve_failed(name, location);
    size_t base_len = strlen(ctx->base_real);
    bool inside = strncmp(resolved, ctx->base_real, base_len) == 0 &&
                  (resolved[base_len] == '/' || (base_len == 1 && ctx->base_real[0] == '/'));
    if (!inside)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': external data path '%s' resolves to '%s', outside the "
                          "model's folder '%s'", name, location, resolved, ctx->base_real);
    return EMBER_OK;
}

/* Opens `location` (or reuses the file opened last). */
static ember_status open_location(model_ctx *ctx, const char *location, const char *name)
{
    char resolved[PATH_MAX];
    struct stat st;
    if (ctx->ext_location && strcmp(ctx->ext_location, location) == 0)
        return EMBER_OK;
    EMBER_TRY(resolve(ctx, location, name, resolved));
    int fd = open(resolved, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return resolve_failed(name, location);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': external data '%s' is not a regular file", name,
                          location);
    }
    char *copy = util_strdup(location);
    if (!copy) {
        close(fd);
        return ember_fail(EMBER_E_OUT_OF_MEMORY, "out of memory opening external data");
    }
    if (ctx->ext_fd >= 0)
        close(ctx->ext_fd);
    util_free(ctx->ext_location);
    ctx->ext_fd = fd;
    ctx->ext_location = copy;
    ctx->ext_size = (uint64_t)st.st_size;
    return EMBER_OK;
}

/* ---- the byte range -------------------------------------------------------- */

static ember_status check_range(const model_ctx *ctx, ext_ref *ref, const char *name,
                                size_t bytes)
{
    if (ref->offset > ctx->ext_size)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': external data offset %llu is past the end of '%s' "
                          "(%llu bytes)", name, (unsigned long long)ref->offset,
                          ref->location, (unsigned long long)ctx->ext_size);
    if (!ref->has_length)
        ref->length = ctx->ext_size - ref->offset;
    if (ref->length > ctx->ext_size - ref->offset)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': external data range (offset %llu, length %llu) runs "
                          "past the end of '%s' (%llu bytes)", name,
                          (unsigned long long)ref->offset, (unsigned long long)ref->length,
                          ref->location, (unsigned long long)ctx->ext_size);
    if (ref->length != bytes)
        return ember_fail(EMBER_E_INVALID_MODEL,
                          "tensor '%s': external data in '%s' is %llu bytes, the tensor's type "
                          "and shape need %zu", name, ref->location,
                          (unsigned long long)ref->length, bytes);
    return EMBER_OK;
}

ember_status model_external_locate(model_ctx *ctx, const Onnx__TensorProto *tp,
                                   const char *name, size_t bytes, int *fd, uint64_t *offset)
{
    ext_ref ref;
    EMBER_TRY(read_keys(tp, name, &ref));
    EMBER_TRY(check_location(ctx, ref.location, name));
    EMBER_TRY(open_location(ctx, ref.location, name));
    EMBER_TRY(check_range(ctx, &ref, name, bytes));
    *fd = ctx->ext_fd;
    *offset = ref.offset;
    return EMBER_OK;
}

ember_status model_external_read(int fd, uint64_t offset, void *dst, size_t bytes,
                                 const char *name)
{
    uint8_t *p = dst;
    while (bytes > 0) {
        ssize_t got = pread(fd, p, bytes, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return ember_fail(EMBER_E_IO, "tensor '%s': reading external data failed: %s", name,
                              got < 0 ? strerror(errno) : "unexpected end of file");
        p += got;
        bytes -= (size_t)got;
        offset += (uint64_t)got;
    }
    return EMBER_OK;
}
