/*
 * Ember's public C API: the only header an application needs.
 *
 * Objects are opaque handles. Every fallible call returns an ember_status
 * (EMBER_OK = 0); on failure ember_last_error() describes the fault on the
 * calling thread. Out-parameters are written only on success.
 *
 * Ownership words: _create returns an owned object and _destroy(NULL) is a
 * no-op; _get_ returns a borrowed pointer valid until the parent object is
 * destroyed or modified.
 */
#ifndef EMBER_EMBER_H
#define EMBER_EMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define EMBER_API
#else
#define EMBER_API __attribute__((visibility("default")))
#endif

#define EMBER_VERSION_MAJOR 0
#define EMBER_VERSION_MINOR 1
#define EMBER_VERSION_PATCH 0
#define EMBER_VERSION_STRING "0.1.0"

/* ======================================================================= */
/* Status codes. Explicit numbers; append only.                             */

typedef enum ember_status {
    EMBER_OK = 0,
    EMBER_E_INVALID_ARGUMENT = 1, /* a caller passed something unusable */
    EMBER_E_OUT_OF_MEMORY = 2,
    EMBER_E_INVALID_MODEL = 3,    /* the model file or graph is malformed */
    EMBER_E_NOT_IMPLEMENTED = 4,  /* valid, but no provider can run it */
    EMBER_E_PROVIDER_ABI = 5,     /* a plugin was refused */
    EMBER_E_DEVICE = 6,           /* a device failed or is absent */
    EMBER_E_IO = 7,               /* a file could not be read or written */
    EMBER_E_INTERNAL = 8,         /* a broken invariant: a bug in Ember */
    EMBER_E_NO_SUCH_FILE = 9,     /* a named file does not exist */
} ember_status;

/* A static string naming the status ("EMBER_E_INVALID_MODEL"). */
EMBER_API const char *ember_status_name(ember_status status);

/* The message of the last failing Ember call on this thread, or "" when
 * none failed. Valid until the next failing call on this thread. */
EMBER_API const char *ember_last_error(void);

/* The library's version string, e.g. "0.1.0". */
EMBER_API const char *ember_version(void);

/* ======================================================================= */
/* Element types. The numbers are ONNX's TensorProto.DataType numbers.      */

typedef enum ember_dtype {
    EMBER_DTYPE_UNDEFINED = 0,
    EMBER_DTYPE_FLOAT32 = 1,
    EMBER_DTYPE_UINT8 = 2,
    EMBER_DTYPE_INT8 = 3,
    EMBER_DTYPE_UINT16 = 4,
    EMBER_DTYPE_INT16 = 5,
    EMBER_DTYPE_INT32 = 6,
    EMBER_DTYPE_INT64 = 7,
    EMBER_DTYPE_STRING = 8, /* elements are ember_string */
    EMBER_DTYPE_BOOL = 9,   /* one byte, 0 or 1 */
    EMBER_DTYPE_FLOAT16 = 10,
    EMBER_DTYPE_FLOAT64 = 11,
    EMBER_DTYPE_UINT32 = 12,
    EMBER_DTYPE_UINT64 = 13,
    EMBER_DTYPE_COMPLEX64 = 14,
    EMBER_DTYPE_COMPLEX128 = 15,
    EMBER_DTYPE_BFLOAT16 = 16,
    EMBER_DTYPE_FLOAT8E4M3FN = 17,
    EMBER_DTYPE_FLOAT8E4M3FNUZ = 18,
    EMBER_DTYPE_FLOAT8E5M2 = 19,
    EMBER_DTYPE_FLOAT8E5M2FNUZ = 20,
    EMBER_DTYPE_UINT4 = 21, /* two elements per byte, low nibble first */
    EMBER_DTYPE_INT4 = 22,  /* two elements per byte, low nibble first */
    EMBER_DTYPE_FLOAT4E2M1 = 23,
    EMBER_DTYPE_FLOAT8E8M0 = 24,
    EMBER_DTYPE_UINT2 = 25, /* four elements per byte, lowest bits first */
    EMBER_DTYPE_INT2 = 26,  /* four elements per byte, lowest bits first */
} ember_dtype;

/* A string element: bytes need not be NUL-terminated and may contain NUL. */
typedef struct ember_string {
    const char *data;
    size_t size;
} ember_string;

/* Bytes of one element (0 for UNDEFINED and for the 4-bit and 2-bit types,
 * whose storage is ember_dtype_storage_bytes). */
EMBER_API size_t ember_dtype_size(ember_dtype dtype);
/* Bytes needed to store n_elements of dtype (handles 4-bit packing). */
EMBER_API size_t ember_dtype_storage_bytes(ember_dtype dtype, size_t n_elements);
/* ONNX's type string: "tensor(float)", "tensor(int64)", ... */
EMBER_API const char *ember_dtype_onnx_name(ember_dtype dtype);
/* Short name: "float32", "int64", ... */
EMBER_API const char *ember_dtype_name(ember_dtype dtype);

/* ======================================================================= */
/* Kinds of values. Explicit numbers; append only.                          */

typedef enum ember_value_kind {
    EMBER_VALUE_ABSENT = 0,   /* no value: an omitted optional input */
    EMBER_VALUE_TENSOR = 1,
    EMBER_VALUE_SEQUENCE = 2, /* an ordered list of tensors of one element type */
    EMBER_VALUE_NONE = 3,     /* an optional that holds nothing */
} ember_value_kind;

/* ======================================================================= */
/* Devices. A device is a type and an id ("cuda:1").                        */

typedef enum ember_device_type {
    EMBER_DEVICE_CPU = 0,
    EMBER_DEVICE_CUDA = 1,
    /* Third-party providers pick types at or above this base. */
    EMBER_DEVICE_VENDOR_BASE = 0x10000,
} ember_device_type;

typedef struct ember_device {
    uint32_t type; /* an ember_device_type value */
    int32_t id;
} ember_device;

/* ======================================================================= */
/* Allocator. Every allocation of the core goes through these hooks.         */

typedef struct ember_allocator {
    void *(*malloc_fn)(void *user, size_t size);
    void *(*realloc_fn)(void *user, void *ptr, size_t size);
    void (*free_fn)(void *user, void *ptr);
    void *user;
} ember_allocator;

/* Replaces the core's host allocator; NULL restores malloc. Call it before
 * creating any Ember object, never while one is alive. Not thread-safe. */
EMBER_API void ember_set_allocator(const ember_allocator *allocator);

/* ======================================================================= */
/* Environment: loaded provider plugins, shared by sessions.                 */

typedef struct ember_env ember_env;

typedef enum ember_log_level {
    EMBER_LOG_VERBOSE = 0,
    EMBER_LOG_INFO = 1,
    EMBER_LOG_WARNING = 2,
    EMBER_LOG_ERROR = 3,
    EMBER_LOG_FATAL = 4,
} ember_log_level;

/* Creates an environment. Providers are found by name through the search
 * path, and loaded when first named: a path registered with
 * ember_env_register_provider, then the directories in EMBER_PROVIDER_PATH
 * (':'-separated; ignored in setuid processes), then DIR/ember/providers
 * and DIR/providers where DIR holds the file the core is in (libember.so,
 * or the Python package's extension), then the install's
 * libdir/ember/providers. Thread-safe after
 * creation. Destroy it after every session and value made from it. */
EMBER_API ember_status ember_env_create(ember_env **out);
EMBER_API void ember_env_destroy(ember_env *env);

/* Loads the plugin at `path` now and registers it under the name its table
 * declares; that name then resolves to this file before the search path.
 * Fails with EMBER_E_PROVIDER_ABI or EMBER_E_NO_SUCH_FILE and a message
 * naming the file, both ABI versions and the fix. */
EMBER_API ember_status ember_env_register_provider(ember_env *env, const char *path);

/* Messages at or above `level` go to the log callback (default: none).
 * The callback may be called from any thread. */
typedef void (*ember_log_fn)(void *user, ember_log_level level, const char *message);
EMBER_API void ember_env_set_logger(ember_env *env, ember_log_level level, ember_log_fn fn,
                                    void *user);

/* Whether provider `name` (case-insensitive: "cpu", "CUDA") can be loaded
 * and is usable on this machine. On false, `why` (if not NULL) receives the
 * reason. */
EMBER_API bool ember_env_provider_available(ember_env *env, const char *name, char *why,
                                            size_t why_size);

/* ======================================================================= */
/* Session options.                                                          */

typedef struct ember_session_options ember_session_options;

typedef enum ember_opt_level {
    EMBER_OPT_DISABLED = 0,
    EMBER_OPT_BASIC = 1,
    EMBER_OPT_EXTENDED = 2,
    EMBER_OPT_ALL = 99,
} ember_opt_level;

/* Options with the defaults: providers ["CPU"], not strict, one intra-op
 * thread per core. The setters copy what they keep; a session copies
 * nothing from the options it was created with, so they may be destroyed
 * right after ember_session_create. Not thread-safe. */
EMBER_API ember_status ember_session_options_create(ember_session_options **out);
EMBER_API void ember_session_options_destroy(ember_session_options *opts);

/* Appends provider `name` (case-insensitive) to the priority list, with
 * n_options key/value pairs that are passed to the provider's create.
 * With no provider appended, the list is ["CPU"]. CPU is always added last
 * when absent, unless strict mode forbids fallback. The strings are copied. */
EMBER_API ember_status ember_session_options_append_provider(ember_session_options *opts,
                                                             const char *name,
                                                             const char *const *keys,
                                                             const char *const *values,
                                                             size_t n_options);
/* Strict placement: a node that the first listed provider does not claim is
 * a session-creation error instead of a fallback to a later provider. */
EMBER_API void ember_session_options_set_strict(ember_session_options *opts, bool strict);
/* Threads for the parallel loops inside one run (0 = one per core). */
EMBER_API void ember_session_options_set_intra_op_threads(ember_session_options *opts, int n);
/* EMBER_OPT_DISABLED runs every node as its own kernel; any other level
 * (the default is EMBER_OPT_ALL) lets providers that can fuse run
 * consecutive nodes as one kernel (provider groups, ember_provider.h).
 * The core itself does not rewrite the graph. */
EMBER_API void ember_session_options_set_opt_level(ember_session_options *opts,
                                                   ember_opt_level level);
/* Per-step timing of every run, read with ember_session_get_profile. Off
 * by default (it costs two clock reads per step). */
EMBER_API void ember_session_options_set_profiling(ember_session_options *opts, bool enabled);
/* Recorded; messages are filtered by the env's logger level
 * (ember_env_set_logger) for now. */
EMBER_API void ember_session_options_set_log_level(ember_session_options *opts,
                                                   ember_log_level level);

/* ======================================================================= */
/* Values: tensors with a shape, an element type and a device.              */

typedef struct ember_value ember_value;

/* Wraps `data` (data_bytes long, row-major) without copying. The caller
 * keeps the buffer alive and unchanged while the value is used. `device`
 * says where the buffer lives. dims are copied. Fails when data_bytes is
 * smaller than the shape needs. */
EMBER_API ember_status ember_value_wrap(ember_dtype dtype, const int64_t *dims, size_t rank,
                                        void *data, size_t data_bytes, ember_device device,
                                        ember_value **out);
/* Allocates a tensor on `device`. CPU tensors are zero-filled. A device
 * tensor is allocated by an instance of that device's provider held by
 * `env`: one a session of `env` created, or, for CUDA, one loaded on first
 * use; another device type fails with EMBER_E_INVALID_ARGUMENT until a
 * session of `env` uses its provider. */
EMBER_API ember_status ember_value_create(ember_env *env, ember_dtype dtype, const int64_t *dims,
                                          size_t rank, ember_device device, ember_value **out);
/* Makes a host copy of a string tensor's elements (strings are copied). */
EMBER_API ember_status ember_value_create_strings(const int64_t *dims, size_t rank,
                                                  const ember_string *elements,
                                                  ember_value **out);
/* A host sequence of copies of items[0..n_items) (all tensors of `dtype`;
 * n_items may be 0). */
EMBER_API ember_status ember_value_create_sequence(ember_dtype dtype,
                                                   const ember_value *const *items,
                                                   size_t n_items, ember_value **out);
/* An optional that holds nothing. */
EMBER_API ember_status ember_value_create_none(ember_value **out);
/* Releases the value and what it owns (a device buffer goes back to the
 * provider that allocated it, which the value keeps alive). NULL is a
 * no-op; never destroy a borrowed value (a sequence item, a bound output). */
EMBER_API void ember_value_destroy(ember_value *value);

/* The getters below read; they are safe from any thread while no one
 * modifies or destroys the value. */
EMBER_API ember_value_kind ember_value_get_kind(const ember_value *value);
/* Number of tensors of a sequence (0 for other kinds). */
EMBER_API size_t ember_value_get_sequence_length(const ember_value *value);
/* Tensor `index` of a sequence, borrowed from it; NULL when out of range. */
EMBER_API const ember_value *ember_value_get_sequence_item(const ember_value *value,
                                                           size_t index);

/* The element type (of the items, for a sequence). */
EMBER_API ember_dtype ember_value_get_dtype(const ember_value *value);
/* Shape of a tensor (rank 0 and NULL dims for other kinds); dims borrowed,
 * rank entries. */
EMBER_API size_t ember_value_get_rank(const ember_value *value);
EMBER_API const int64_t *ember_value_get_dims(const ember_value *value);
/* Elements and storage bytes of a tensor; 0 for other kinds. */
EMBER_API size_t ember_value_get_element_count(const ember_value *value);
EMBER_API size_t ember_value_get_byte_size(const ember_value *value);
EMBER_API ember_device ember_value_get_device(const ember_value *value);
/* Borrowed pointer to element 0 on the value's device (never NULL for a
 * host tensor, even an empty one; NULL for other kinds). */
EMBER_API void *ember_value_get_data(const ember_value *value);
/* Copies src's elements into dst, across devices if needed. Both must have
 * the same dtype and element count. The copy is complete when it returns. */
EMBER_API ember_status ember_value_copy(ember_value *dst, const ember_value *src);

/* ======================================================================= */
/* Sessions.                                                                 */

typedef struct ember_session ember_session;

/* Loads, checks, partitions and prepares a model. `opts` may be NULL (CPU,
 * default threads). The session keeps `env` referenced: destroy the session
 * first. */
EMBER_API ember_status ember_session_create(ember_env *env, const char *model_path,
                                            const ember_session_options *opts,
                                            ember_session **out);
/* Same from the bytes of an ONNX model. External data paths are resolved
 * against `base_dir` (NULL: external data refused). */
EMBER_API ember_status ember_session_create_from_bytes(ember_env *env, const void *bytes,
                                                       size_t size, const char *base_dir,
                                                       const ember_session_options *opts,
                                                       ember_session **out);
EMBER_API void ember_session_destroy(ember_session *session);

/* Description of a graph input or output. All pointers are borrowed from
 * the session. dims[i] is -1 where unknown; dim_names[i] is the symbolic
 * name or NULL. rank is -1 when the rank itself is unknown. */
typedef struct ember_io_info {
    const char *name;
    ember_dtype dtype;
    int64_t rank;
    const int64_t *dims;
    const char *const *dim_names;
} ember_io_info;

/* The inputs a caller feeds (graph inputs without an initializer) and the
 * outputs, in the model's order. get_*_info fails with
 * EMBER_E_INVALID_ARGUMENT for an index out of range. Thread-safe. */
EMBER_API size_t ember_session_get_input_count(const ember_session *session);
EMBER_API size_t ember_session_get_output_count(const ember_session *session);
EMBER_API ember_status ember_session_get_input_info(const ember_session *session, size_t index,
                                                    ember_io_info *out);
EMBER_API ember_status ember_session_get_output_info(const ember_session *session, size_t index,
                                                     ember_io_info *out);

/* Model metadata; strings borrowed, "" when absent. */
typedef struct ember_model_meta {
    const char *producer_name;
    const char *producer_version;
    const char *graph_name;
    const char *domain;
    const char *description;
    int64_t model_version;
    int64_t ir_version;
    size_t n_custom;
    const char *const *custom_keys;
    const char *const *custom_values;
} ember_model_meta;

/* Fills *out with pointers borrowed from the session. Thread-safe. */
EMBER_API void ember_session_get_model_meta(const ember_session *session, ember_model_meta *out);

/* Opset imports of the model: domain ("" = ai.onnx) and version. */
EMBER_API size_t ember_session_get_opset_count(const ember_session *session);
EMBER_API ember_status ember_session_get_opset(const ember_session *session, size_t index,
                                               const char **domain, int64_t *version);

/* Placement: which provider runs each node of the main graph, in execution
 * order, and how many copy steps were inserted between devices. */
typedef struct ember_node_placement {
    const char *node_name;
    const char *op_type;
    const char *domain;
    const char *provider; /* provider name, e.g. "CPU"; "core" for If/Loop/Scan, which the
                             core runs itself (their subgraphs go to the providers) */
} ember_node_placement;

/* Nodes of the main graph (not of subgraphs); get_node_placement fails with
 * EMBER_E_INVALID_ARGUMENT for an index out of range; strings borrowed from
 * the session. get_copy_count counts the copy steps whose two sides are
 * different devices, constants uploaded once included. Thread-safe. */
EMBER_API size_t ember_session_get_node_count(const ember_session *session);
EMBER_API ember_status ember_session_get_node_placement(const ember_session *session,
                                                        size_t index,
                                                        ember_node_placement *out);
EMBER_API size_t ember_session_get_copy_count(const ember_session *session);
/* Profiling (ember_session_options_set_profiling): one entry per step of
 * the main graph, in execution order. A step is one node, a provider group
 * of n_nodes consecutive nodes run as one kernel (op_type "group", named
 * after its first node), or a copy between devices (op_type "copy").
 * Totals cover every run so far, from any thread. Copies up to `cap`
 * entries and sets *n to the number of steps; strings are borrowed from the
 * session. EMBER_E_INVALID_ARGUMENT when profiling is off. Thread-safe. */
typedef struct ember_profile_entry {
    const char *node_name;
    const char *op_type;
    const char *provider;  /* "core" for control flow and host copies */
    size_t n_nodes;
    uint64_t calls;
    uint64_t total_ns;
} ember_profile_entry;

EMBER_API ember_status ember_session_get_profile(const ember_session *session,
                                                 ember_profile_entry *entries, size_t cap,
                                                 size_t *n);

/* The providers the session uses, in priority order (borrowed names). */
EMBER_API size_t ember_session_get_provider_count(const ember_session *session);
EMBER_API const char *ember_session_get_provider_name(const ember_session *session,
                                                      size_t index);

/* Run options (may be NULL wherever accepted). The tag (copied) is recorded
 * for onnxruntime compatibility; runs do not use it yet. */
typedef struct ember_run_options ember_run_options;
EMBER_API ember_status ember_run_options_create(ember_run_options **out);
EMBER_API void ember_run_options_destroy(ember_run_options *opts);
EMBER_API void ember_run_options_set_tag(ember_run_options *opts, const char *tag);

/* Runs the model. inputs[i] feeds input_names[i]; every graph input without
 * an initializer must be fed. outputs[i] receives a new owned CPU value for
 * output_names[i]. On failure no output is written. Safe to call from
 * several threads at once on one session. */
EMBER_API ember_status ember_session_run(ember_session *session, const ember_run_options *opts,
                                         const char *const *input_names,
                                         const ember_value *const *inputs, size_t n_inputs,
                                         const char *const *output_names, ember_value **outputs,
                                         size_t n_outputs);

/* ======================================================================= */
/* IO binding: inputs and outputs placed on devices ahead of a run.          */

typedef struct ember_io_binding ember_io_binding;

/* A binding for `session` (borrowed: destroy the binding first). One
 * binding must not be used by two threads at once; separate bindings of one
 * session may run concurrently. Destroying it releases the outputs Ember
 * allocated for it. */
EMBER_API ember_status ember_io_binding_create(ember_session *session, ember_io_binding **out);
EMBER_API void ember_io_binding_destroy(ember_io_binding *binding);

/* Binds input `name` to `value` (borrowed: keep it alive until the binding
 * is cleared or destroyed). The value may live on any device; Ember copies
 * it where its consumers run. */
EMBER_API ember_status ember_io_binding_bind_input(ember_io_binding *binding, const char *name,
                                                   const ember_value *value);
/* Binds output `name` to a preallocated value (borrowed): the run writes
 * into it, and fails if the output's shape or dtype differs. */
EMBER_API ember_status ember_io_binding_bind_output(ember_io_binding *binding, const char *name,
                                                    ember_value *value);
/* Asks Ember to allocate output `name` on `device` at each run. */
EMBER_API ember_status ember_io_binding_bind_output_to_device(ember_io_binding *binding,
                                                              const char *name,
                                                              ember_device device);
/* Forget the bound inputs / outputs (outputs Ember allocated are released). */
EMBER_API void ember_io_binding_clear_inputs(ember_io_binding *binding);
EMBER_API void ember_io_binding_clear_outputs(ember_io_binding *binding);

/* Runs `session` with the binding's inputs and outputs (the binding must
 * belong to the session). Every input without an initializer must be bound.
 * On failure the outputs Ember allocates are left unset. */
EMBER_API ember_status ember_session_run_with_binding(ember_session *session,
                                                      const ember_run_options *opts,
                                                      ember_io_binding *binding);

/* Bound outputs after a run, in binding order. Borrowed: valid until the
 * next run with this binding, clear_outputs or destroy. */
EMBER_API size_t ember_io_binding_get_output_count(const ember_io_binding *binding);
EMBER_API ember_status ember_io_binding_get_output(const ember_io_binding *binding, size_t index,
                                                   const char **name, ember_value **value);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_EMBER_H */
