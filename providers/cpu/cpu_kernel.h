/*
 * Private header of the CPU provider: the kernel object every kernel file
 * fills in, the create/claim hooks of the registration table in
 * cpu_provider.c, and helpers shared by the kernel families (attribute
 * decoding on top of host->node_attr, shapes, broadcasting, dtype facts,
 * float16/bfloat16 conversion). Nothing here crosses the ABI.
 */
#ifndef EMBER_CPU_KERNEL_H
#define EMBER_CPU_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ember/ember_provider.h>

/* The highest rank the shape helpers handle; ONNX sets no limit, so a
 * larger rank is refused with EMBER_E_NOT_IMPLEMENTED. */
#define CPU_MAX_RANK 16

/* The newest ai.onnx opset the kernels were checked against (ONNX 1.23:
 * opset 28; none of the ops here changed after opset 25). A later opset
 * may redefine an op, so nodes of later opsets are not claimed. */
#define CPU_OPSET_MAX 28

/* Bit of a dtype in a set of dtypes (every ember_dtype is below 32). */
#define CPU_DT(d) (1u << (d))
#define CPU_DT_FLOATS                                                                     \
    (CPU_DT(EMBER_DTYPE_FLOAT32) | CPU_DT(EMBER_DTYPE_FLOAT64) |                         \
     CPU_DT(EMBER_DTYPE_FLOAT16) | CPU_DT(EMBER_DTYPE_BFLOAT16))
#define CPU_DT_SIGNED                                                                     \
    (CPU_DT(EMBER_DTYPE_INT8) | CPU_DT(EMBER_DTYPE_INT16) | CPU_DT(EMBER_DTYPE_INT32) |  \
     CPU_DT(EMBER_DTYPE_INT64))
#define CPU_DT_UNSIGNED                                                                   \
    (CPU_DT(EMBER_DTYPE_UINT8) | CPU_DT(EMBER_DTYPE_UINT16) |                            \
     CPU_DT(EMBER_DTYPE_UINT32) | CPU_DT(EMBER_DTYPE_UINT64))
#define CPU_DT_NUMERIC (CPU_DT_FLOATS | CPU_DT_SIGNED | CPU_DT_UNSIGNED)

typedef struct ember_kernel cpu_kernel;

/* Runs a kernel. The kernel is read-only here: several threads may run it
 * at once, so per-run memory comes from the stack or host->ctx_scratch. */
typedef ember_status (*cpu_run_fn)(const cpu_kernel *k, ember_kernel_context *ctx);

/*
 * A kernel: what kernel_create decoded from one node. Invariants: `params`
 * is written only by the family's create function and read-only once
 * kernel_create returned; `release` (optional) frees what params owns
 * before the provider frees params itself.
 */
struct ember_kernel {
    const ember_host_api *host;
    cpu_run_fn run;
    void (*release)(void *params);
    char *name;     /* the node's name (copy), for messages */
    const char *op; /* the op type, static storage */
    int64_t opset;
    void *params;   /* the family's own struct, calloc'd by cpu_kernel_params */
};

/* Claim check: whether the node's static types (and attributes) suit the
 * kernel. Unknown static types are accepted; kernels check at run time. */
typedef bool (*cpu_check_fn)(const ember_host_api *host, const ember_node *node);
/* Decodes and validates attributes into k->params and sets k->run. */
typedef ember_status (*cpu_create_fn)(cpu_kernel *k, const ember_node *node);

/* One row of a family's registration table: the op, the opset range it
 * covers (of the op's domain: node_opset is the model's import of the
 * node's domain), the claim check, the kernel builder and the domain. A
 * table ends with a row whose op is NULL. */
typedef struct cpu_op_entry {
    const char *op;
    int64_t min_opset;
    int64_t max_opset;
    cpu_check_fn check; /* NULL: any type */
    cpu_create_fn create;
    const char *domain; /* NULL or "" (the rows that leave it out): ai.onnx */
} cpu_op_entry;

/* The families' tables, each defined in its own file and searched in this
 * order by cpu_provider.c. */
extern const cpu_op_entry cpu_ops_base[];     /* cpu_ops_base.c: the first 26 ops */
extern const cpu_op_entry cpu_ops_math[];     /* kernels_math.c */
extern const cpu_op_entry cpu_ops_cast[];     /* kernels_cast.c */
extern const cpu_op_entry cpu_ops_cast_act[]; /* kernels_cast_act.c */
extern const cpu_op_entry cpu_ops_reduce[];   /* kernels_reduce.c */
extern const cpu_op_entry cpu_ops_shape[];    /* kernels_shape.c */
extern const cpu_op_entry cpu_ops_image[];    /* kernels_image.c */
extern const cpu_op_entry cpu_ops_quant[];    /* kernels_quant.c */
extern const cpu_op_entry cpu_ops_sequence[]; /* kernels_sequence.c */
extern const cpu_op_entry cpu_ops_rnn[];      /* kernels_rnn.c */
extern const cpu_op_entry cpu_ops_string[];   /* kernels_string.c */
extern const cpu_op_entry cpu_ops_ml[];       /* kernels_ml.c: ai.onnx.ml, training */

/* ---- kernels of the first ops (kernels_elementwise.c ... kernels_tensor.c) */

ember_status cpu_create_binary(cpu_kernel *k, const ember_node *node);
bool cpu_check_binary(const ember_host_api *host, const ember_node *node);

ember_status cpu_create_unary(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_clip(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_softmax(cpu_kernel *k, const ember_node *node);
bool cpu_check_relu(const ember_host_api *host, const ember_node *node);
bool cpu_check_clip(const ember_host_api *host, const ember_node *node);

ember_status cpu_create_gemm(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_matmul(cpu_kernel *k, const ember_node *node);
bool cpu_check_gemm(const ember_host_api *host, const ember_node *node);
bool cpu_check_matmul(const ember_host_api *host, const ember_node *node);

ember_status cpu_create_conv(cpu_kernel *k, const ember_node *node);

ember_status cpu_create_maxpool(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_avgpool(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_global_avgpool(cpu_kernel *k, const ember_node *node);
bool cpu_check_maxpool(const ember_host_api *host, const ember_node *node);

ember_status cpu_create_batchnorm(cpu_kernel *k, const ember_node *node);

ember_status cpu_create_reshape(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_flatten(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_transpose(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_concat(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_identity(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_constant(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_shape(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_gather(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_unsqueeze(cpu_kernel *k, const ember_node *node);
ember_status cpu_create_squeeze(cpu_kernel *k, const ember_node *node);
bool cpu_check_constant(const ember_host_api *host, const ember_node *node);
bool cpu_check_gather(const ember_host_api *host, const ember_node *node);

/* ---- claim checks shared by families (cpu_kernel.c) -------------------- */

/* Input 0 (and every other present input of the same type) is a float
 * type: float32, float64, float16 or bfloat16. */
bool cpu_check_float(const ember_host_api *host, const ember_node *node);
/* Input 0 has a fixed element size and is not a string. */
bool cpu_check_any_fixed(const ember_host_api *host, const ember_node *node);
/* Whether the static dtype of input `index` is in `set` (true if unknown
 * or absent). */
bool cpu_input_dtype_in(const ember_host_api *host, const ember_node *node, size_t index,
                        uint32_t set);

/* ---- kernel set-up ----------------------------------------------------- */

/* Allocates k->params (zeroed, `bytes` long). */
ember_status cpu_kernel_params(cpu_kernel *k, size_t bytes);

/* Attributes: each returns `dflt` (or leaves the array empty) when the node
 * has no attribute of that name, and fails with EMBER_E_INVALID_MODEL when
 * it has one of another type or too many elements. */
ember_status cpu_attr_int(const cpu_kernel *k, const ember_node *node, const char *name,
                          int64_t dflt, int64_t *out);
ember_status cpu_attr_float(const cpu_kernel *k, const ember_node *node, const char *name,
                            float dflt, float *out);
/* Copies at most `cap` ints into out[]; *n receives the count (0 when absent). */
ember_status cpu_attr_ints(const cpu_kernel *k, const ember_node *node, const char *name,
                           int64_t *out, size_t cap, size_t *n);
/* Copies the string (NUL-terminated, at most cap-1 bytes) or `dflt`. */
ember_status cpu_attr_string(const cpu_kernel *k, const ember_node *node, const char *name,
                             const char *dflt, char *out, size_t cap);
bool cpu_attr_has(const cpu_kernel *k, const ember_node *node, const char *name);

/* ---- run-time helpers -------------------------------------------------- */

/* Input `index` of the running kernel, failing with a message naming the
 * node when a required input is missing. */
ember_status cpu_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                       const ember_tensor **out);
/* Optional input `index`: NULL when the node has fewer inputs or leaves it
 * out. */
const ember_tensor *cpu_opt_input(const cpu_kernel *k, ember_kernel_context *ctx, size_t index);
/* Allocates output `index` (a thin wrapper that keeps call sites short). */
ember_status cpu_output(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                        uint32_t dtype, const int64_t *dims, size_t rank, ember_tensor **out);
/* Fails with EMBER_E_NOT_IMPLEMENTED naming the node and the dtype of input
 * `index`. */
ember_status cpu_fail_dtype(const cpu_kernel *k, size_t index, uint32_t dtype);
/* Fails with EMBER_E_INVALID_ARGUMENT: "node 'n' (Op): input i has shape
 * [..]: <why>". */
ember_status cpu_fail_shape(const cpu_kernel *k, size_t index, const ember_tensor *t,
                            const char *why);
/* Fails with EMBER_E_OUT_OF_MEMORY naming the node. */
ember_status cpu_fail_oom(const cpu_kernel *k);
/* Writes "[1,3,224,224]" into buf. */
void cpu_format_dims(char *buf, size_t size, const int64_t *dims, size_t rank);

/* Reads a 1-D (or scalar) int32/int64 tensor into out[] (at most cap). */
ember_status cpu_read_ints(const cpu_kernel *k, size_t index, const ember_tensor *t,
                           int64_t *out, size_t cap, size_t *n);

/* Runs fn over [0, n) on the session's threads when the work is worth it
 * (n_ops: a rough count of the scalar operations in the whole loop),
 * serially otherwise. */
void cpu_parallel(ember_kernel_context *ctx, const cpu_kernel *k, size_t n, size_t n_ops,
                  ember_parallel_fn fn, void *arg);

/* ---- dtypes and shapes ------------------------------------------------- */

/* Bytes of one element; 0 for strings, 4-bit types and unknown values. */
size_t cpu_dtype_size(uint32_t dtype);
const char *cpu_dtype_name(uint32_t dtype);
/* Product of dims (1 for rank 0). */
size_t cpu_numel(const int64_t *dims, size_t rank);
static inline size_t cpu_tensor_numel(const ember_tensor *t)
{
    return cpu_numel(t->dims, t->rank);
}
/* Maps axis in [-rank, rank) to [0, rank); false when out of range. */
bool cpu_normalize_axis(int64_t axis, size_t rank, size_t *out);
/* The lanes of Softmax, LogSoftmax and Hardmax over `axis` of dims[0..rank):
 * before opset 13 (coerce_2d) the input is flattened to 2-D at `axis`
 * (0..rank) and each row is one lane of *len elements; from 13 each lane
 * runs along `axis` alone (-rank..rank-1), *inner elements apart. False
 * when the axis is out of range. */
bool cpu_axis_lanes(const int64_t *dims, size_t rank, int64_t axis, bool coerce_2d,
                    size_t *n_lanes, size_t *len, size_t *inner);

/*
 * Multidirectional (numpy) broadcasting of two shapes, with adjacent dims
 * merged where both inputs are contiguous or both broadcast, so that the
 * innermost dim is as long as possible. strides[i][d] is the element stride
 * of input i along output dim d (0 when broadcast).
 */
typedef struct cpu_bcast {
    size_t rank;
    int64_t dims[CPU_MAX_RANK];
    int64_t strides[2][CPU_MAX_RANK];
    int64_t out_dims[CPU_MAX_RANK]; /* the unmerged output shape */
    size_t out_rank;
    size_t n_out;
} cpu_bcast;

/* False when the shapes do not broadcast (or the rank is too large). */
bool cpu_bcast_init(cpu_bcast *b, const int64_t *a_dims, size_t a_rank, const int64_t *b_dims,
                    size_t b_rank);
/* Element offsets in both inputs of output element `index` (row-major over
 * the merged dims). */
void cpu_bcast_offsets(const cpu_bcast *b, size_t index, size_t *off_a, size_t *off_b);

/* ---- sliding windows (Conv and the pools) ------------------------------ */

enum { CPU_PAD_NOTSET, CPU_PAD_SAME_UPPER, CPU_PAD_SAME_LOWER, CPU_PAD_VALID };

/* The window attributes as the node states them, decoded and validated at
 * kernel_create; counts are 0 for absent attributes. */
typedef struct cpu_window_attrs {
    int auto_pad;
    bool ceil_mode;
    size_t n_kernel, n_strides, n_dilations, n_pads;
    int64_t kernel[CPU_MAX_RANK];
    int64_t strides[CPU_MAX_RANK];
    int64_t dilations[CPU_MAX_RANK];
    int64_t pads[2 * CPU_MAX_RANK];
} cpu_window_attrs;

/* The window resolved for one input shape [N, C, spatial...]. */
typedef struct cpu_window {
    size_t rank; /* spatial dims */
    int64_t in[CPU_MAX_RANK], out[CPU_MAX_RANK], kernel[CPU_MAX_RANK];
    int64_t stride[CPU_MAX_RANK], dilation[CPU_MAX_RANK];
    int64_t pad_begin[CPU_MAX_RANK], pad_end[CPU_MAX_RANK];
    size_t in_size, out_size, kernel_size; /* products over the spatial dims */
} cpu_window;

/* Decodes auto_pad, kernel_shape, strides, dilations, pads and (when
 * `has_ceil_mode`) ceil_mode. */
ember_status cpu_window_decode(const cpu_kernel *k, const ember_node *node, bool has_ceil_mode,
                               cpu_window_attrs *out);
/* Resolves the window for input x; `kernel` gives the kernel's spatial
 * shape when it comes from a weight tensor (Conv), NULL to use the
 * attribute (the pools, where it is required). */
ember_status cpu_window_resolve(const cpu_kernel *k, const cpu_window_attrs *attrs,
                                const ember_tensor *x, const int64_t *kernel, cpu_window *w);

/* ---- float16 / bfloat16 ------------------------------------------------ */

float cpu_f16_to_f32(uint16_t h);
uint16_t cpu_f32_to_f16(float f);
static inline float cpu_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
uint16_t cpu_f32_to_bf16(float f);
/* Converts n half-precision elements (FLOAT16 or BFLOAT16) to float and
 * back. */
void cpu_half_to_float(uint32_t dtype, const uint16_t *src, float *dst, size_t n);
void cpu_float_to_half(uint32_t dtype, const float *src, uint16_t *dst, size_t n);
static inline bool cpu_is_half(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_FLOAT16 || dtype == EMBER_DTYPE_BFLOAT16;
}
/* Element i of a numeric or bool tensor's data as a double (bool: 0 or 1;
 * 0 for the other dtypes). */
static inline double cpu_get_f64(const void *data, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return ((const float *)data)[i];
    case EMBER_DTYPE_FLOAT64: return ((const double *)data)[i];
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(((const uint16_t *)data)[i]);
    case EMBER_DTYPE_BFLOAT16: return cpu_bf16_to_f32(((const uint16_t *)data)[i]);
    case EMBER_DTYPE_INT8: return ((const int8_t *)data)[i];
    case EMBER_DTYPE_INT16: return ((const int16_t *)data)[i];
    case EMBER_DTYPE_INT32: return ((const int32_t *)data)[i];
    case EMBER_DTYPE_INT64: return (double)((const int64_t *)data)[i];
    case EMBER_DTYPE_UINT8: return ((const uint8_t *)data)[i];
    case EMBER_DTYPE_UINT16: return ((const uint16_t *)data)[i];
    case EMBER_DTYPE_UINT32: return ((const uint32_t *)data)[i];
    case EMBER_DTYPE_UINT64: return (double)((const uint64_t *)data)[i];
    case EMBER_DTYPE_BOOL: return ((const uint8_t *)data)[i] != 0;
    default: return 0.0;
    }
}
/* Scratch copy of a half tensor as float32: *out gets numel floats. */
ember_status cpu_half_input(ember_kernel_context *ctx, const cpu_kernel *k, const ember_tensor *t,
                            float **out);

#endif /* EMBER_CPU_KERNEL_H */
