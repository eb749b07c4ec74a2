/*
 * Private header of the oneDNN provider: the kernel object, the plan (one
 * oneDNN primitive built for one set of input shapes and one thread count,
 * with its weights already reordered), the registration table and the
 * helpers the kernel families share. Nothing here crosses the ABI. The
 * prefix is onednn_, as dnnl_ belongs to the library itself.
 */
#ifndef EMBER_ONEDNN_KERNEL_H
#define EMBER_ONEDNN_KERNEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ember/ember_provider.h>
#include <oneapi/dnnl/dnnl.h>

/* Kernels were checked against ONNX 1.23 (opset 28); later opsets may
 * redefine an op and are left to other providers. */
#define ONEDNN_OPSET_MAX 28
#define ONEDNN_MAX_RANK DNNL_MAX_NDIMS
#define ONEDNN_MAX_IO 10 /* QLinearConv has 9 inputs */
#define ONEDNN_MAX_ARGS 10
/* The shape key: per input a presence flag, the rank and the dims (and,
 * for inputs in the kernel's value_mask, the scalar's bits), then the
 * thread count. */
#define ONEDNN_KEY_MAX (ONEDNN_MAX_IO * (ONEDNN_MAX_RANK + 3) + 1)

typedef struct ember_kernel onednn_kernel;

/* Returns from the calling function when `expr` is not EMBER_OK. */
#define ONEDNN_TRY(expr)                                                                    \
    do {                                                                                    \
        ember_status onednn_try_status_ = (expr);                                           \
        if (onednn_try_status_ != EMBER_OK)                                                 \
            return onednn_try_status_;                                                      \
    } while (0)

struct ember_provider {
    const ember_host_api *host;
    dnnl_engine_t engine;
    /* The thread count plans are built for at kernel_create when the core
     * does not tell the session's (node_thread_count, ABI 1.2): the
     * intra_op_num_threads option, else one per online CPU. */
    size_t n_threads;
    /* The winograd option: 3x3 convolutions may run as Winograd F(4x4, 3x3)
     * (kernels_conv_winograd.c). */
    bool use_winograd;
};

/* A constant input reordered into one layout; owned by the kernel and
 * shared by every plan that wants that layout (plans for other thread
 * counts or shapes usually do), so weights are stored once. */
typedef struct onednn_const {
    struct onednn_const *next;
    size_t index;
    dnnl_memory_desc_t md;
    dnnl_memory_t memory;
} onednn_const;

/* Where a primitive argument's memory comes from at run time. */
enum { ONEDNN_FROM_INPUT, ONEDNN_FROM_OUTPUT, ONEDNN_FROM_CONST };

/* One argument of a plan's primitive. `user_md` describes the Ember tensor
 * (dense row-major, possibly read transposed); `md` is the layout the
 * primitive takes. When they differ `reorder` converts between them
 * through scratch memory at each run, except for constant inputs, which
 * were converted once into `constant` (borrowed from the kernel's
 * constant store). */
typedef struct onednn_arg {
    int arg; /* DNNL_ARG_* */
    int from;
    size_t index; /* input or output index */
    dnnl_memory_desc_t user_md;
    dnnl_memory_desc_t md;
    dnnl_primitive_t reorder;
    dnnl_memory_t constant;
} onednn_arg;

/* Work a plan does itself instead of running one oneDNN primitive (the
 * Winograd convolution): `run` gets the arguments a primitive would, plus
 * DNNL_ARG_SCRATCHPAD (a buffer of scratch_bytes) when scratch_bytes > 0.
 * Immutable once built, like the plan that owns it. */
typedef struct onednn_custom onednn_custom;
struct onednn_custom {
    ember_status (*run)(const onednn_kernel *k, const onednn_custom *c, dnnl_stream_t stream,
                        const dnnl_exec_arg_t *args, int n_args);
    void (*destroy)(onednn_custom *c);
    size_t scratch_bytes;
};

/*
 * A plan: everything needed to run the node for one key (input shapes and
 * thread count). Invariants: immutable once built and published (in
 * k->fixed or on k->cache), so any number of threads may run it at once;
 * per-run state (memory objects, the stream, the scratchpad) lives on the
 * stack and in host->ctx_scratch.
 */
typedef struct onednn_plan {
    struct onednn_plan *next;
    int64_t key[ONEDNN_KEY_MAX];
    size_t n_key;
    dnnl_primitive_t prim; /* user scratchpad mode; NULL in claim-time probes */
    onednn_custom *custom; /* instead of prim when set; owned */
    onednn_arg args[ONEDNN_MAX_ARGS];
    size_t n_args;
    size_t n_outputs;
    uint32_t out_dtype[ONEDNN_MAX_IO]; /* 0: the kernel's dtype */
    size_t out_rank[ONEDNN_MAX_IO];
    int64_t out_dims[ONEDNN_MAX_IO][ONEDNN_MAX_RANK];
} onednn_plan;

/* Input shapes for building a plan; data[i] is set for constant inputs
 * (the weights to reorder once) and for the float scalars whose value the
 * primitive is built for (value_mask), NULL otherwise. layout[i], set only
 * inside a group, is the (blocked) layout input i is kept in; families
 * whose primitive takes any layout (eltwise, pooling, batch norm) build
 * for it instead of dense row-major (see onednn_md_input). */
typedef struct onednn_shapes {
    size_t n;
    bool present[ONEDNN_MAX_IO];
    size_t rank[ONEDNN_MAX_IO];
    int64_t dims[ONEDNN_MAX_IO][ONEDNN_MAX_RANK];
    const void *data[ONEDNN_MAX_IO];
    const dnnl_memory_desc_t *layout[ONEDNN_MAX_IO];
    uint32_t dtype[ONEDNN_MAX_IO];
} onednn_shapes;

/* Post-ops a group fuses into a Conv, MatMul or Gemm primitive: first the
 * sum (dst += what dst held before, the other operand of an Add), then an
 * eltwise (dnnl_alg_kind_undef: none). */
typedef struct onednn_fusion {
    bool sum;
    dnnl_alg_kind_t eltwise;
    float alpha, beta;
} onednn_fusion;

typedef struct onednn_group onednn_group;

/* Builds the plan's primitive, arguments and output shapes for `in`. */
typedef ember_status (*onednn_build_fn)(const onednn_kernel *k, const onednn_shapes *in,
                                        onednn_plan *plan);
/* Optional: runs after the primitive, on the allocated outputs. */
typedef void (*onednn_finish_fn)(const onednn_kernel *k, const onednn_plan *plan,
                                 ember_tensor *const *outputs);

/*
 * A kernel. Invariants: everything but `cache` and `consts` is written by
 * kernel_create only; `fixed` is the plan built there when every input shape was static
 * (NULL otherwise); `cache` holds the plans built at run time and
 * `consts` the reordered constant inputs, both guarded by `lock` after
 * kernel_create, and both only grow.
 */
struct ember_kernel {
    const ember_host_api *host;
    const ember_provider *provider;
    char *name;
    const char *op; /* static storage */
    int64_t opset;
    /* The node's floating type: float32, or bfloat16 for the families
     * whose check takes onednn_input_float; EMBER_DTYPE_UNDEFINED for a
     * family of mixed types (quantized ops), which checks its inputs
     * itself and sets each plan's out_dtype. */
    uint32_t dtype;
    dnnl_data_type_t dt;
    size_t n_inputs, n_outputs;
    uint32_t const_mask; /* inputs that are constants of the model */
    /* Float scalar inputs whose values are baked into the primitive (Clip's
     * bounds): part of the plan key, so new values build a new plan. */
    uint32_t value_mask;
    /* Inputs whose float type may differ from the kernel's (float32 or
     * bfloat16 statistics and scales of a normalization). */
    uint32_t param_mask;
    onednn_build_fn build;
    onednn_finish_fn finish;
    void *params; /* the family's own struct */
    onednn_plan *fixed;
    pthread_mutex_t lock;
    bool has_lock;
    /* Claim-time probe: plans stop at primitive descriptors (enough to
     * know oneDNN supports the node) and compile nothing. */
    bool is_trial;
    onednn_plan *cache;
    onednn_const *consts;
    /* Set by a group before it builds this kernel's plans. */
    onednn_fusion fusion;
    /* Set on the kernel that stands for a whole group (onednn_group.c). */
    onednn_group *group;
};

typedef bool (*onednn_check_fn)(const ember_host_api *host, const ember_node *node);
/* Decodes attributes into k->params and sets k->build (and k->finish). */
typedef ember_status (*onednn_create_fn)(onednn_kernel *k, const ember_node *node);

typedef struct onednn_op_entry {
    const char *op;
    int64_t min_opset;
    int64_t max_opset;
    onednn_check_fn check;
    onednn_create_fn create;
} onednn_op_entry;

/* ---- families ---------------------------------------------------------- */

ember_status onednn_create_conv(onednn_kernel *k, const ember_node *node);
bool onednn_check_conv(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_conv_transpose(onednn_kernel *k, const ember_node *node);
ember_status onednn_create_matmul(onednn_kernel *k, const ember_node *node);
bool onednn_check_matmul(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_gemm(onednn_kernel *k, const ember_node *node);
bool onednn_check_gemm(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_pool(onednn_kernel *k, const ember_node *node);
bool onednn_check_pool(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_batchnorm(onednn_kernel *k, const ember_node *node);
/* The epsilon of a BatchNormalization kernel. */
float onednn_batchnorm_epsilon(const onednn_kernel *k);
bool onednn_check_batchnorm(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_layernorm(onednn_kernel *k, const ember_node *node);
bool onednn_check_layernorm(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_lrn(onednn_kernel *k, const ember_node *node);
bool onednn_check_lrn(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_eltwise(onednn_kernel *k, const ember_node *node);
ember_status onednn_create_qlinear_matmul(onednn_kernel *k, const ember_node *node);
bool onednn_check_qlinear_matmul(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_qlinear_conv(onednn_kernel *k, const ember_node *node);
bool onednn_check_qlinear_conv(const ember_host_api *host, const ember_node *node);
bool onednn_check_eltwise(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_softmax(onednn_kernel *k, const ember_node *node);
bool onednn_check_softmax(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_binary(onednn_kernel *k, const ember_node *node);
bool onednn_check_binary(const ember_host_api *host, const ember_node *node);
ember_status onednn_create_erf(onednn_kernel *k, const ember_node *node);
bool onednn_check_erf(const ember_host_api *host, const ember_node *node);

/* When k is an eltwise activation (not Softmax), sets f's eltwise to it
 * (with the bounds in `in` for Clip) and returns true. */
bool onednn_eltwise_post_op(const onednn_kernel *k, const onednn_shapes *in, onednn_fusion *f);

/* ---- groups (onednn_group.c) ------------------------------------------- */

ember_status onednn_group_create(ember_provider *self, const ember_group *group,
                                 ember_kernel **out);
ember_status onednn_group_run(onednn_kernel *k, ember_kernel_context *ctx);
void onednn_group_destroy(onednn_group *g);
/* A kernel for `node` with its attributes decoded and no plan built
 * (onednn_provider.c), and its destructor. */
ember_status onednn_kernel_new(ember_provider *self, const ember_node *node,
                               onednn_kernel **out);
void onednn_kernel_free(onednn_kernel *k);

/* ---- claim checks (onednn_kernel.c) ------------------------------------ */

/* Input `index` is absent or statically float32 with a known rank in
 * [min_rank, max_rank]. */
bool onednn_input_f32(const ember_host_api *host, const ember_node *node, size_t index,
                      int min_rank, int max_rank);
/* The same for float32 or bfloat16, the type of the node's first input
 * (all floating inputs of such a node share it). */
bool onednn_input_float(const ember_host_api *host, const ember_node *node, size_t index,
                        int min_rank, int max_rank);
/* Output `index` is absent from the graph (an optional output left empty
 * or beyond the node's outputs). */
bool onednn_output_unused(const ember_host_api *host, const ember_node *node, size_t index);
/* Attribute values at claim time, with defaults. */
int64_t onednn_node_int(const ember_host_api *host, const ember_node *node, const char *name,
                        int64_t dflt);
float onednn_node_float(const ember_host_api *host, const ember_node *node, const char *name,
                        float dflt);

/* ---- kernel set-up ----------------------------------------------------- */

ember_status onednn_params(onednn_kernel *k, size_t bytes);
ember_status onednn_attr_int(const onednn_kernel *k, const ember_node *node, const char *name,
                             int64_t dflt, int64_t *out);
ember_status onednn_attr_float(const onednn_kernel *k, const ember_node *node,
                               const char *name, float dflt, float *out);
ember_status onednn_attr_ints(const onednn_kernel *k, const ember_node *node, const char *name,
                              int64_t *out, size_t cap, size_t *n);
ember_status onednn_attr_string(const onednn_kernel *k, const ember_node *node,
                                const char *name, const char *dflt, char *out, size_t cap);

/* ---- plans ------------------------------------------------------------- */

/* A dense row-major descriptor of dims[0..rank) in the kernel's type. */
ember_status onednn_md_plain(const onednn_kernel *k, dnnl_memory_desc_t *md,
                             const int64_t *dims, size_t rank);
/* Appends the fused activation (if any) to `ops`: for families that set
 * post-ops of their own, which replace onednn_attr_create's. */
ember_status onednn_fusion_append_eltwise(const onednn_kernel *k, dnnl_post_ops_t ops);
/* A dense row-major descriptor of dims[0..rank) in `dtype` (float32 or
 * bfloat16, an ember_dtype). */
ember_status onednn_md_plain_as(const onednn_kernel *k, dnnl_memory_desc_t *md,
                                const int64_t *dims, size_t rank, uint32_t dtype);
/* The descriptor input `index` arrives in: in->layout[index] when set,
 * else dense row-major. */
ember_status onednn_md_input(const onednn_kernel *k, const onednn_shapes *in, size_t index,
                             dnnl_memory_desc_t *md);
/* A descriptor in the kernel's type with format `any`, for the primitive
 * to choose. */
ember_status onednn_md_any(const onednn_kernel *k, dnnl_memory_desc_t *md, const int64_t *dims,
                           size_t rank);
/* Checks a oneDNN status; fails naming the node and `what` otherwise. */
ember_status onednn_check(const onednn_kernel *k, dnnl_status_t st, const char *what);
/* A new primitive attribute in user scratchpad mode, without post-ops. */
ember_status onednn_attr_plain(const onednn_kernel *k, dnnl_primitive_attr_t *out);
/* A new primitive attribute in user scratchpad mode, so that concurrent
 * runs each bring their own scratchpad (from host->ctx_scratch), with the
 * post-ops a group fused into the kernel (k->fusion). */
ember_status onednn_attr_create(const onednn_kernel *k, dnnl_primitive_attr_t *out);
/* Creates the primitive descriptor for `op_desc` with `attr`, on the
 * plan's thread count. */
ember_status onednn_pd_create(const onednn_kernel *k, const onednn_plan *plan,
                              const void *op_desc, const_dnnl_primitive_attr_t attr,
                              dnnl_primitive_desc_t *out);
/* The layout the primitive descriptor chose for `what` (a dnnl_query_*_md). */
const dnnl_memory_desc_t *onednn_pd_md(const_dnnl_primitive_desc_t pd, int what, int index);
/* Adds an input argument: reorders constant data once into the
 * primitive's layout, or prepares a per-run reorder when layouts differ. */
ember_status onednn_plan_input(const onednn_kernel *k, const onednn_shapes *in,
                               onednn_plan *plan, int arg, size_t index,
                               const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *md);
/* Adds an output argument (reordered back after the run when needed). */
ember_status onednn_plan_output(const onednn_kernel *k, onednn_plan *plan, int arg,
                                size_t index, const dnnl_memory_desc_t *user_md,
                                const dnnl_memory_desc_t *md);
/* Sets output `index`'s shape. */
void onednn_plan_shape(onednn_plan *plan, size_t index, const int64_t *dims, size_t rank);
/* A reorder primitive from `src` to `dst` (none in claim-time trials). */
ember_status onednn_reorder_create(const onednn_kernel *k, const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *dst, dnnl_primitive_t *out);
/* The kernel's copy of constant input `index` in layout md, converted
 * from `data` (laid out as user_md) on first use and shared by every plan
 * that asks for the same layout; borrowed. Called while building plans. */
ember_status onednn_const_memory(const onednn_kernel *k, size_t index,
                                 const dnnl_memory_desc_t *user_md,
                                 const dnnl_memory_desc_t *md, const void *data,
                                 dnnl_memory_t *out);
/* Scratchpad bytes one run of the primitive (0 for NULL) or of the plan needs. */
size_t onednn_scratch_bytes(const_dnnl_primitive_t prim);
size_t onednn_plan_scratch_bytes(const onednn_plan *plan);
/* Runs the plan's primitive (or its custom work) on stream with args,
 * which end with the scratchpad when the plan needs one. */
ember_status onednn_plan_run(const onednn_kernel *k, const onednn_plan *plan,
                             dnnl_stream_t stream, const dnnl_exec_arg_t *args, int n_args);
/* The end of a family's build: frees `attr` (may be NULL) and, when s is
 * EMBER_OK, creates the plan's primitive from `pd` (none in claim-time
 * trials); frees `pd` either way and returns the status. */
ember_status onednn_plan_finish(const onednn_kernel *k, onednn_plan *plan, ember_status s,
                                dnnl_primitive_desc_t pd, dnnl_primitive_attr_t attr);
void onednn_plan_destroy(onednn_plan *plan);

/* ---- kernel lifecycle (onednn_kernel.c) -------------------------------- */

/* Sets the input and output counts and the constant mask (before the
 * family's create, which may narrow n_outputs). */
void onednn_kernel_counts(onednn_kernel *k, const ember_node *node);
/* Builds k->fixed when every input shape is static. */
ember_status onednn_kernel_prepare(onednn_kernel *k, const ember_node *node);
/* Claim-time check: whether oneDNN builds a plan for the node's static
 * shapes (true when they are not static: the run decides). */
bool onednn_kernel_trial(onednn_kernel *k, const ember_node *node);
/* The node's static input shapes with constant data; false when one is
 * not static. */
bool onednn_kernel_static_shapes(const onednn_kernel *k, const ember_node *node,
                                 onednn_shapes *in);
/* A new plan for `in` on n_threads, owned by the caller. */
ember_status onednn_kernel_build(const onednn_kernel *k, const onednn_shapes *in,
                                 size_t n_threads, onednn_plan **out);
/* Sets the calling thread's OpenMP thread count. */
void onednn_set_threads(size_t n);
/* The thread count the node's session runs with (ABI 1.2's
 * node_thread_count), else the provider's. */
size_t onednn_node_threads(const ember_provider *self, const ember_node *node);
/* Whether every argument of `plan` for input `index` is a copy the kernel
 * made (a constant reordered into the kernel's store), at least one, so
 * that runs and later plans need not read the input's data. Only for the
 * families that read constant data nowhere else: Conv, ConvTranspose,
 * MatMul, Gemm (not a Winograd plan, whose weights are transformed). */
bool onednn_plan_copied(const onednn_kernel *k, const onednn_plan *plan, size_t index);
/* Tells the core (node_input_release, ABI 1.2) that the node's input
 * `index` is no longer read. */
void onednn_release_input(const ember_host_api *host, const ember_node *node, size_t index);
ember_status onednn_kernel_execute(onednn_kernel *k, ember_kernel_context *ctx);
void onednn_kernel_release(onednn_kernel *k);

/* ---- sliding windows (onednn_window.c) --------------------------------- */

enum { ONEDNN_PAD_NOTSET, ONEDNN_PAD_SAME_UPPER, ONEDNN_PAD_SAME_LOWER, ONEDNN_PAD_VALID };

typedef struct onednn_window_attrs {
    int auto_pad;
    bool ceil_mode;
    size_t n_kernel, n_strides, n_dilations, n_pads;
    int64_t kernel[ONEDNN_MAX_RANK];
    int64_t strides[ONEDNN_MAX_RANK];
    int64_t dilations[ONEDNN_MAX_RANK];
    int64_t pads[2 * ONEDNN_MAX_RANK];
} onednn_window_attrs;

/* The window for one input shape, in oneDNN's terms (dilation - 1). */
typedef struct onednn_window {
    size_t rank;
    dnnl_dims_t kernel, strides, dilates, pad_l, pad_r;
    int64_t out[ONEDNN_MAX_RANK];
} onednn_window;

ember_status onednn_window_decode(const onednn_kernel *k, const ember_node *node,
                                  bool has_ceil_mode, onednn_window_attrs *out);
/* Resolves the window for x dims [N, C, spatial...]; `kernel` is the
 * spatial kernel shape when it comes from the weights, else NULL. */
ember_status onednn_window_resolve(const onednn_kernel *k, const onednn_window_attrs *a,
                                   const int64_t *x_dims, size_t x_rank, const int64_t *kernel,
                                   onednn_window *w);

/* ---- Winograd convolution (kernels_conv_winograd.c) ----------------- */

/* Whether the Conv for `in` with window w runs as
 * Winograd F(4x4, 3x3), and its plan (output 0 of y_dims). */
bool onednn_winograd_fits(const onednn_kernel *k, const onednn_shapes *in,
                          const onednn_window *w);
ember_status onednn_winograd_build(const onednn_kernel *k, const onednn_shapes *in,
                                   const onednn_window *w, const int64_t *y_dims,
                                   onednn_plan *plan);

#endif /* EMBER_ONEDNN_KERNEL_H */
