/*
 * The provider ABI: everything an execution provider plugin includes.
 *
 * A provider is a shared object with one exported symbol,
 * ember_provider_entry, that returns a static table of function pointers
 * (ember_provider_api). The core passes a table of its own services
 * (ember_host_api) to the provider's create. Both tables start with
 * abi_version and struct_size and only ever grow by appending fields in a
 * new band; a field is read only when EMBER_HAS says it exists.
 *
 * Versions:
 *   1.0  the first band of both tables.
 *   1.1  groups: a provider may run a run of consecutive nodes it claimed as
 *        one kernel (group_create), seeing which values connect them
 *        (node_input_value, node_output_value, group_*).
 */
#ifndef EMBER_EMBER_PROVIDER_H
#define EMBER_EMBER_PROVIDER_H

#include <stdarg.h>
#include <stddef.h>

#include "ember/ember.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EMBER_ABI_MAJOR 1
#define EMBER_ABI_MINOR 2
#define EMBER_ABI_VERSION (((uint32_t)EMBER_ABI_MAJOR << 16) | EMBER_ABI_MINOR)
#define EMBER_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define EMBER_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)

/* True when `field` lies inside the layout the other side declared
 * (struct_size) and is set. The only sanctioned way to read a slot. */
#define EMBER_HAS(api, type, field)                                                        \
    (offsetof(type, field) + sizeof((api)->field) <= (api)->struct_size &&                \
     (api)->field != NULL)

#if defined(_WIN32)
#define EMBER_PROVIDER_EXPORT __declspec(dllexport)
#else
#define EMBER_PROVIDER_EXPORT __attribute__((visibility("default")))
#endif

/* ----------------------------------------------------------------------- */
/* Plain data shared by both sides.                                         */

/* A dense row-major tensor. The core owns every ember_tensor a provider
 * sees and the dims array; `data` lives on (device_type, device_id). */
typedef struct ember_tensor {
    void *data;           /* element 0; on the host never NULL, even when empty */
    const int64_t *dims;  /* rank entries */
    uint32_t rank;
    uint32_t dtype;       /* an ember_dtype value */
    uint32_t device_type; /* an ember_device_type value */
    int32_t device_id;
} ember_tensor;

/* Static knowledge of a value at load time. */
typedef struct ember_type_info {
    uint32_t dtype;       /* EMBER_DTYPE_UNDEFINED when unknown */
    int32_t rank;         /* -1 when unknown */
    const int64_t *dims;  /* rank entries; -1 for an unknown dim */
} ember_type_info;

/* Attribute types: ONNX's AttributeProto.AttributeType numbers. */
typedef enum ember_attr_type {
    EMBER_ATTR_UNDEFINED = 0,
    EMBER_ATTR_FLOAT = 1,
    EMBER_ATTR_INT = 2,
    EMBER_ATTR_STRING = 3,
    EMBER_ATTR_TENSOR = 4,
    EMBER_ATTR_GRAPH = 5,
    EMBER_ATTR_FLOATS = 6,
    EMBER_ATTR_INTS = 7,
    EMBER_ATTR_STRINGS = 8,
    EMBER_ATTR_TENSORS = 9,
    EMBER_ATTR_GRAPHS = 10,
    EMBER_ATTR_SPARSE_TENSOR = 11,
    EMBER_ATTR_SPARSE_TENSORS = 12,
    EMBER_ATTR_TYPE_PROTO = 13,
    EMBER_ATTR_TYPE_PROTOS = 14,
} ember_attr_type;

typedef struct ember_graph ember_graph; /* a subgraph; opaque (reserved) */

/* A view of one attribute; valid during the call that produced it. Only
 * the members matching `type` are meaningful; `n` counts list elements. */
typedef struct ember_attr {
    uint32_t type;              /* an ember_attr_type value */
    int64_t i;
    float f;
    ember_string s;
    const int64_t *ints;
    const float *floats;
    const ember_string *strings;
    const ember_tensor *tensor; /* host memory */
    const ember_graph *graph;
    size_t n;
} ember_attr;

/* One key/value option handed to a provider's create. */
typedef struct ember_option {
    const char *key;
    const char *value;
} ember_option;

typedef struct ember_node ember_node;                     /* core-owned */
typedef struct ember_kernel_context ember_kernel_context; /* core-owned */
typedef struct ember_provider ember_provider;             /* provider-owned */
typedef struct ember_kernel ember_kernel;                 /* provider-owned */
typedef struct ember_group ember_group;                   /* core-owned */

/* Body of a parallel loop: process items [begin, end). */
typedef void (*ember_parallel_fn)(void *arg, size_t begin, size_t end);

/* ----------------------------------------------------------------------- */
/* What the core offers a provider.                                         */

typedef struct ember_host_api {
    uint32_t abi_version; /* EMBER_ABI_VERSION of the core */
    uint32_t struct_size; /* sizeof(ember_host_api) as the core saw it */

    /* ---- ABI 1.0 ---- */

    /* Records a message for the failing call and returns `status`, so a
     * provider writes `return host->fail(EMBER_E_..., "...", ...)`. The core
     * copies the text. Any thread. Required. */
    ember_status (*fail)(ember_status status, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
    /* Sends a message to the session's logger. Any thread. Required. */
    void (*log)(ember_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

    /* Node views, valid during claim and kernel_create only. Strings are
     * NUL-terminated and borrowed. Required. */
    const char *(*node_op_type)(const ember_node *node);
    const char *(*node_domain)(const ember_node *node); /* "" = ai.onnx */
    const char *(*node_name)(const ember_node *node);
    int64_t (*node_opset)(const ember_node *node);       /* of the node's domain */
    size_t (*node_input_count)(const ember_node *node);
    size_t (*node_output_count)(const ember_node *node);
    /* False when input `index` is absent (an empty optional input). */
    bool (*node_input_present)(const ember_node *node, size_t index);
    /* Static type of input/output `index`; false when index is out of range
     * or the input is absent. */
    bool (*node_input_type)(const ember_node *node, size_t index, ember_type_info *out);
    bool (*node_output_type)(const ember_node *node, size_t index, ember_type_info *out);
    /* The value of input `index` when it is a constant (an initializer or
     * a Constant's output): a host tensor, or NULL. */
    const ember_tensor *(*node_input_constant)(const ember_node *node, size_t index);
    /* Attribute `name`; false when the node has none by that name. */
    bool (*node_attr)(const ember_node *node, const char *name, ember_attr *out);

    /* Kernel context, valid during kernel_run only. */
    size_t (*ctx_input_count)(const ember_kernel_context *ctx);
    /* Input `index`, or NULL when absent. Lives on the kernel's device. */
    const ember_tensor *(*ctx_input)(const ember_kernel_context *ctx, size_t index);
    size_t (*ctx_output_count)(const ember_kernel_context *ctx);
    /* Allocates output `index` with `dtype` and shape dims[0..rank) on the
     * kernel's device. Call once per output. Returns a core-owned tensor. */
    ember_status (*ctx_output)(ember_kernel_context *ctx, size_t index, uint32_t dtype,
                               const int64_t *dims, size_t rank, ember_tensor **out);
    /* Scratch memory on the kernel's device, 64-byte aligned, released when
     * kernel_run returns. */
    ember_status (*ctx_scratch)(ember_kernel_context *ctx, size_t bytes, void **out);
    /* Runs fn over [0, n) split into chunks on the session's intra-op
     * threads; returns when all chunks are done. fn must not fail. */
    void (*ctx_parallel_for)(ember_kernel_context *ctx, size_t n, ember_parallel_fn fn,
                             void *arg);
    /* Number of threads ctx_parallel_for may use (>= 1). */
    size_t (*ctx_thread_count)(const ember_kernel_context *ctx);
    /* Sets element `index` of a host string tensor that ctx_output
     * allocated (elements start empty) to a copy of data[0..size). The
     * core owns the bytes. Required. */
    ember_status (*tensor_set_string)(ember_tensor *tensor, size_t index, const char *data,
                                      size_t size);

    /* Sequences and optionals, during kernel_run. ctx_input returns NULL
     * for any input that is not a tensor; ctx_input_kind says what it is
     * (an ember_value_kind value). Sequences live on the host. Required. */
    uint32_t (*ctx_input_kind)(const ember_kernel_context *ctx, size_t index);
    /* Number of tensors of sequence input `index` (0 if not a sequence). */
    size_t (*ctx_sequence_length)(const ember_kernel_context *ctx, size_t index);
    /* Tensor `item` of sequence input `index`, or NULL. */
    const ember_tensor *(*ctx_sequence_item)(const ember_kernel_context *ctx, size_t index,
                                             size_t item);
    /* Element type of sequence input `index`, known even when it is empty. */
    uint32_t (*ctx_sequence_dtype)(const ember_kernel_context *ctx, size_t index);
    /* Makes output `index` a sequence of n_items tensors of `dtype`; each
     * item is then allocated once with ctx_output_item. */
    ember_status (*ctx_output_sequence)(ember_kernel_context *ctx, size_t index, uint32_t dtype,
                                        size_t n_items);
    ember_status (*ctx_output_item)(ember_kernel_context *ctx, size_t index, size_t item,
                                    const int64_t *dims, size_t rank, ember_tensor **out);
    /* Makes output `index` an optional that holds nothing. */
    ember_status (*ctx_output_none)(ember_kernel_context *ctx, size_t index);

    /* ---- ABI 1.1 ---- */

    /* Which graph value input/output `index` of a node is: a number that
     * is the same for every node reading or writing that value in one
     * graph, or -1 when the input/output is absent. Valid where node
     * views are. Required. */
    int64_t (*node_input_value)(const ember_node *node, size_t index);
    int64_t (*node_output_value)(const ember_node *node, size_t index);

    /* Group views, valid during group_create only. Required. The nodes
     * come in execution order. The inputs are every value a member reads
     * that no member writes (constants included), in the order the group
     * kernel's ctx_input sees them; the outputs are the values members
     * write that someone outside the group (or the caller) reads, in the
     * order of ctx_output. Values that only connect members have no slot:
     * the group kernel keeps them however it likes. */
    size_t (*group_node_count)(const ember_group *group);
    const ember_node *(*group_node)(const ember_group *group, size_t index);
    size_t (*group_input_count)(const ember_group *group);
    int64_t (*group_input_value)(const ember_group *group, size_t index);
    size_t (*group_output_count)(const ember_group *group);
    int64_t (*group_output_value)(const ember_group *group, size_t index);

    /* ---- ABI 1.2 ---- */

    /* The intra-op thread count the node's session runs kernels with
     * (ctx_thread_count in every run), for building ahead at
     * kernel_create and group_create; 0 during claim. Required. */
    size_t (*node_thread_count)(const ember_node *node);
    /* Called during kernel_create, or group_create for a member node: the
     * kernel keeps its own copy of constant input `index` and will never
     * read that input's data again, neither at create nor in any run.
     * Once every kernel reading the constant has released it, the core
     * frees it; runs then pass that input with its shape and data NULL.
     * Calling it is optional: it saves memory. Required (the slot). */
    void (*node_input_release)(const ember_node *node, size_t index);

    /* ---- ABI 1.3: append below this line only ---- */
} ember_host_api;

/* ----------------------------------------------------------------------- */
/* What a provider offers the core.                                         */

enum {
    /* The plugin must stay mapped after its last use (no dlclose). */
    EMBER_PROVIDER_FLAG_NO_UNLOAD = 1u << 0,
};

typedef struct ember_provider_api {
    uint32_t abi_version; /* EMBER_ABI_VERSION the provider was built with */
    uint32_t struct_size; /* sizeof(ember_provider_api) as the provider saw it */

    /* ---- ABI 1.0 ---- */

    /* Identity, static storage. Required. `name` is what users list
     * ("CPU"); `device_name` names the device type in strings ("cpu",
     * "cuda"); device_type is an ember_device_type value. */
    const char *name;
    const char *device_name;
    uint32_t device_type;
    uint32_t flags; /* EMBER_PROVIDER_FLAG_* */

    /* Optional; NULL means usable with score 1. Cheap and read-only: says
     * whether the provider can run on this machine (score 0 = unusable,
     * with the reason written to `why`). */
    ember_status (*probe)(const ember_host_api *host, uint32_t *score, char *why,
                          size_t why_size);

    /* Required. Makes an instance for one session from key/value options
     * (copied if kept). Unknown keys are an EMBER_E_INVALID_ARGUMENT. */
    ember_status (*create)(const ember_host_api *host, const ember_option *options,
                           size_t n_options, ember_provider **out);
    /* Required. Called after all kernels of the instance are destroyed. */
    void (*destroy)(ember_provider *self);

    /* Required. Sets *claimed when the provider can run `node` as it is
     * (op, domain, opset, types, attributes). Called at session creation,
     * one thread at a time. A non-OK status aborts session creation. */
    ember_status (*claim)(ember_provider *self, const ember_node *node, bool *claimed);

    /* Required. Builds the kernel for a claimed node. Bad attributes or
     * types are reported here with a message naming the node. */
    ember_status (*kernel_create)(ember_provider *self, const ember_node *node,
                                  ember_kernel **out);
    /* Required. Runs the kernel. May be called from several threads at once
     * on the same kernel (concurrent session runs): keep per-run state in
     * ctx_scratch or on the stack. */
    ember_status (*kernel_run)(ember_kernel *kernel, ember_kernel_context *ctx);
    /* Required. */
    void (*kernel_destroy)(ember_kernel *kernel);

    /* Device memory. Required unless device_type is EMBER_DEVICE_CPU (host
     * memory is the core's). Any thread. alloc of 0 bytes may return NULL. */
    ember_status (*alloc)(ember_provider *self, int32_t device_id, size_t bytes, void **out);
    void (*free)(ember_provider *self, int32_t device_id, void *ptr);
    /* Copies `bytes` between host and this provider's device or within the
     * device; at least one side is on the provider's device type. Required
     * unless device_type is EMBER_DEVICE_CPU. Completes before returning
     * unless the provider also implements synchronize. */
    ember_status (*copy)(ember_provider *self, void *dst, ember_device dst_device,
                         const void *src, ember_device src_device, size_t bytes);
    /* Optional; NULL means every call completes synchronously. Waits for
     * all work queued by this instance. */
    ember_status (*synchronize)(ember_provider *self);

    /* Optional. Called once before the plugin is unloaded, after every
     * instance is destroyed. */
    void (*shutdown)(void);

    /* ---- ABI 1.1 ---- */

    /* Optional. After every node is placed, the core offers each run of
     * two or more consecutive nodes (in execution order) that this
     * instance claimed; the provider returns one kernel that runs them all
     * (fusing, keeping its own layouts between them), or sets *out to NULL
     * to have them run node by node. A group kernel is run and destroyed
     * through kernel_run and kernel_destroy; its context's inputs and
     * outputs are the group's (see group_input_value). Not offered when
     * the session's optimization level is EMBER_OPT_DISABLED. */
    ember_status (*group_create)(ember_provider *self, const ember_group *group,
                                 ember_kernel **out);

    /* ---- ABI 1.2: append below this line only ---- */
} ember_provider_api;

/* The plugin's only exported symbol. Returns the table when the plugin
 * speaks host_abi_version's major, else NULL. No side effects. */
typedef const ember_provider_api *(*ember_provider_entry_fn)(uint32_t host_abi_version);
#define EMBER_PROVIDER_ENTRY_SYMBOL "ember_provider_entry"

#ifdef __cplusplus
}
#endif
#endif /* EMBER_EMBER_PROVIDER_H */
