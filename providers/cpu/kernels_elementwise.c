/*
 * Binary arithmetic: Add, Sub, Mul, Div with numpy (multidirectional)
 * broadcasting, and the legacy `broadcast`/`axis` attributes of opsets
 * 1-6. The output is walked in contiguous runs of the merged innermost
 * dim; each run calls one typed loop in which either input is contiguous
 * or a scalar, so the same-shape and scalar cases are plain loops.
 */
#include "cpu_kernel.h"

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, N_OPS };

/* Elements per parallel work item when the innermost run is long. */
#define PIECE_ELEMS 16384

typedef struct binary_params {
    int op;
    bool legacy;           /* opset < 7: attributes broadcast/axis */
    bool legacy_broadcast; /* broadcast=1 */
    bool has_axis;
    int64_t axis;
} binary_params;

/* One contiguous run: sa/sb are 1 when the input advances, 0 when it is
 * a scalar for the whole run. */
typedef void (*binary_fn)(const void *a, size_t sa, const void *b, size_t sb, void *out,
                          size_t n);

/* The typed loops differ only in element type and expression, so a macro
 * writes them: T the storage type, C the compute type (an unsigned type for
 * integers, so that overflow wraps instead of being undefined), LOAD/STORE
 * the conversions between them. */
#define DEFINE_BINARY(NAME, T, C, LOAD, STORE, EXPR)                                       \
    static void NAME(const void *pa, size_t sa, const void *pb, size_t sb, void *po,        \
                     size_t n)                                                             \
    {                                                                                      \
        const T *a = pa;                                                                   \
        const T *b = pb;                                                                   \
        T *o = po;                                                                         \
        if (sa && sb) {                                                                    \
            for (size_t i = 0; i < n; i++) {                                               \
                C x = LOAD(a[i]), y = LOAD(b[i]);                                          \
                o[i] = STORE(EXPR);                                                        \
            }                                                                              \
        } else if (sa) {                                                                   \
            C y = LOAD(b[0]);                                                              \
            for (size_t i = 0; i < n; i++) {                                               \
                C x = LOAD(a[i]);                                                          \
                o[i] = STORE(EXPR);                                                        \
            }                                                                              \
        } else if (sb) {                                                                   \
            C x = LOAD(a[0]);                                                              \
            for (size_t i = 0; i < n; i++) {                                               \
                C y = LOAD(b[i]);                                                          \
                o[i] = STORE(EXPR);                                                        \
            }                                                                              \
        } else {                                                                           \
            C x = LOAD(a[0]), y = LOAD(b[0]);                                              \
            T r = STORE(EXPR);                                                             \
            for (size_t i = 0; i < n; i++)                                                 \
                o[i] = r;                                                                  \
        }                                                                                  \
    }

#define SAME(x) (x)

#define DEFINE_ARITH(SUF, T, C, LOAD, STORE)                                               \
    DEFINE_BINARY(add_##SUF, T, C, LOAD, STORE, x + y)                                     \
    DEFINE_BINARY(sub_##SUF, T, C, LOAD, STORE, x - y)                                     \
    DEFINE_BINARY(mul_##SUF, T, C, LOAD, STORE, x * y)

/* Floats: IEEE division, x/0 is inf or nan. */
#define DEFINE_FLOAT(SUF, T, C, LOAD, STORE)                                               \
    DEFINE_ARITH(SUF, T, C, LOAD, STORE)                                                   \
    DEFINE_BINARY(div_##SUF, T, C, LOAD, STORE, x / y)

/* Unsigned integers: a zero divisor is rejected before the loop runs. */
#define DEFINE_UNSIGNED(SUF, T, W)                                                         \
    DEFINE_ARITH(SUF, T, W, (W), (T))                                                      \
    DEFINE_BINARY(div_##SUF, T, T, SAME, SAME, (T)(x / y))

/* Signed integers: MIN / -1 wraps to MIN instead of trapping. */
#define DEFINE_SIGNED(SUF, T, W)                                                           \
    DEFINE_ARITH(SUF, T, W, (W), (T))                                                      \
    DEFINE_BINARY(div_##SUF, T, T, SAME, SAME, y == -1 ? (T)(0u - (W)x) : (T)(x / y))

DEFINE_FLOAT(f32, float, float, SAME, SAME)
DEFINE_FLOAT(f64, double, double, SAME, SAME)
DEFINE_FLOAT(f16, uint16_t, float, cpu_f16_to_f32, cpu_f32_to_f16)
DEFINE_FLOAT(bf16, uint16_t, float, cpu_bf16_to_f32, cpu_f32_to_bf16)
DEFINE_SIGNED(i8, int8_t, uint32_t)
DEFINE_SIGNED(i16, int16_t, uint32_t)
DEFINE_SIGNED(i32, int32_t, uint32_t)
DEFINE_SIGNED(i64, int64_t, uint64_t)
DEFINE_UNSIGNED(u8, uint8_t, uint32_t)
DEFINE_UNSIGNED(u16, uint16_t, uint32_t)
DEFINE_UNSIGNED(u32, uint32_t, uint32_t)
DEFINE_UNSIGNED(u64, uint64_t, uint64_t)

#define ROW(P)                                                                             \
    {                                                                                      \
        [EMBER_DTYPE_FLOAT32] = P##_f32, [EMBER_DTYPE_FLOAT64] = P##_f64,                  \
        [EMBER_DTYPE_FLOAT16] = P##_f16, [EMBER_DTYPE_BFLOAT16] = P##_bf16,                \
        [EMBER_DTYPE_INT8] = P##_i8, [EMBER_DTYPE_INT16] = P##_i16,                        \
        [EMBER_DTYPE_INT32] = P##_i32, [EMBER_DTYPE_INT64] = P##_i64,                      \
        [EMBER_DTYPE_UINT8] = P##_u8, [EMBER_DTYPE_UINT16] = P##_u16,                      \
        [EMBER_DTYPE_UINT32] = P##_u32, [EMBER_DTYPE_UINT64] = P##_u64,                    \
    }

#define N_DTYPES 17 /* covers every dtype listed above */

static const binary_fn binary_fns[N_OPS][N_DTYPES] = {
    [OP_ADD] = ROW(add),
    [OP_SUB] = ROW(sub),
    [OP_MUL] = ROW(mul),
    [OP_DIV] = ROW(div),
};

/* ---- create ------------------------------------------------------------ */

bool cpu_check_binary(const ember_host_api *host, const ember_node *node)
{
    return cpu_input_dtype_in(host, node, 0, CPU_DT_NUMERIC) &&
           cpu_input_dtype_in(host, node, 1, CPU_DT_NUMERIC);
}

static ember_status binary_run(const cpu_kernel *k, ember_kernel_context *ctx);

ember_status cpu_create_binary(cpu_kernel *k, const ember_node *node)
{
    static const char *const names[N_OPS] = {"Add", "Sub", "Mul", "Div"};
    int op = 0;
    while (op < N_OPS && strcmp(names[op], k->op) != 0)
        op++;
    ember_status s = cpu_kernel_params(k, sizeof(binary_params));
    if (s != EMBER_OK)
        return s;
    binary_params *p = k->params;
    p->op = op;
    p->legacy = k->opset < 7;
    if (p->legacy) {
        int64_t broadcast = 0;
        s = cpu_attr_int(k, node, "broadcast", 0, &broadcast);
        if (s == EMBER_OK)
            s = cpu_attr_int(k, node, "axis", 0, &p->axis);
        p->legacy_broadcast = broadcast != 0;
        p->has_axis = cpu_attr_has(k, node, "axis");
    }
    k->run = binary_run;
    return s;
}

/* ---- run --------------------------------------------------------------- */

/* Opsets 1-6: B's shape is aligned to A at `axis` (or at the end) and must
 * be a contiguous sub-shape; written out as B's dims padded with ones. */
static ember_status legacy_b_dims(const cpu_kernel *k, const ember_tensor *a,
                                  const ember_tensor *b, int64_t *dims)
{
    const binary_params *p = k->params;
    if (!p->legacy_broadcast) {
        bool same = a->rank == b->rank;
        for (size_t i = 0; same && i < a->rank; i++)
            same = a->dims[i] == b->dims[i];
        if (!same)
            return cpu_fail_shape(k, 1, b, "must equal input 0's shape without broadcast=1");
        memcpy(dims, b->dims, b->rank * sizeof *dims);
        return EMBER_OK;
    }
    int64_t axis = p->has_axis ? p->axis : (int64_t)a->rank - (int64_t)b->rank;
    if (axis < 0)
        axis += a->rank;
    if (axis < 0 || axis + (int64_t)b->rank > (int64_t)a->rank)
        return cpu_fail_shape(k, 1, b, "does not fit input 0 at the broadcast axis");
    for (size_t i = 0; i < a->rank; i++)
        dims[i] = 1;
    for (size_t i = 0; i < b->rank; i++)
        dims[(size_t)axis + i] = b->dims[i];
    return EMBER_OK;
}

static bool has_zero(const ember_tensor *t)
{
    size_t n = cpu_tensor_numel(t), size = cpu_dtype_size(t->dtype);
    const unsigned char *bytes = t->data;
    for (size_t i = 0; i < n; i++) {
        bool zero = true;
        for (size_t j = 0; j < size; j++)
            zero = zero && bytes[i * size + j] == 0;
        if (zero)
            return true;
    }
    return false;
}

typedef struct binary_job {
    binary_fn fn;
    const cpu_bcast *bc;
    const unsigned char *a, *b;
    unsigned char *out;
    size_t esize, inner, pieces;
} binary_job;

static void binary_range(void *arg, size_t begin, size_t end)
{
    const binary_job *j = arg;
    size_t d = j->bc->rank - 1;
    size_t sa = (size_t)j->bc->strides[0][d], sb = (size_t)j->bc->strides[1][d];
    for (size_t it = begin; it < end; it++) {
        size_t row = it / j->pieces, start = (it % j->pieces) * PIECE_ELEMS;
        size_t len = j->inner - start < PIECE_ELEMS ? j->inner - start : PIECE_ELEMS;
        size_t oa, ob;
        cpu_bcast_offsets(j->bc, row * j->inner + start, &oa, &ob);
        j->fn(j->a + oa * j->esize, sa, j->b + ob * j->esize, sb,
              j->out + (row * j->inner + start) * j->esize, len);
    }
}

static ember_status binary_inputs(const cpu_kernel *k, ember_kernel_context *ctx,
                                  const ember_tensor **a, const ember_tensor **b, binary_fn *fn)
{
    const binary_params *p = k->params;
    ember_status s = cpu_input(k, ctx, 0, a);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, b);
    if (s != EMBER_OK)
        return s;
    uint32_t dtype = (*a)->dtype;
    if ((*b)->dtype != dtype)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input 1 has type %s, input 0 has type %s", k->name,
                             k->op, cpu_dtype_name((*b)->dtype), cpu_dtype_name(dtype));
    *fn = dtype < N_DTYPES ? binary_fns[p->op][dtype] : NULL;
    if (*fn == NULL)
        return cpu_fail_dtype(k, 0, dtype);
    bool is_int = (CPU_DT(dtype) & (CPU_DT_SIGNED | CPU_DT_UNSIGNED)) != 0;
    if (p->op == OP_DIV && is_int && has_zero(*b))
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input 1 holds an integer zero divisor", k->name,
                             k->op);
    return EMBER_OK;
}

static ember_status binary_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const binary_params *p = k->params;
    const ember_tensor *a, *b;
    binary_fn fn = NULL;
    ember_status s = binary_inputs(k, ctx, &a, &b, &fn);
    if (s != EMBER_OK)
        return s;
    int64_t b_dims[CPU_MAX_RANK];
    size_t b_rank = p->legacy ? a->rank : b->rank;
    s = p->legacy ? legacy_b_dims(k, a, b, b_dims) : EMBER_OK;
    if (s != EMBER_OK)
        return s;
    cpu_bcast bc;
    const int64_t *bd = p->legacy ? b_dims : b->dims;
    if (!cpu_bcast_init(&bc, a->dims, a->rank, bd, b_rank)) {
        char a_str[256], b_str[256];
        cpu_format_dims(a_str, sizeof a_str, a->dims, a->rank);
        cpu_format_dims(b_str, sizeof b_str, b->dims, b->rank);
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input 0 has shape %s and input 1 has shape %s, "
                             "which do not broadcast",
                             k->name, k->op, a_str, b_str);
    }
    ember_tensor *out;
    s = cpu_output(k, ctx, 0, a->dtype, bc.out_dims, bc.out_rank, &out);
    if (s != EMBER_OK || bc.n_out == 0)
        return s;
    binary_job job = {fn, &bc, a->data, b->data, out->data, cpu_dtype_size(a->dtype), 0, 0};
    job.inner = (size_t)bc.dims[bc.rank - 1];
    job.pieces = (job.inner + PIECE_ELEMS - 1) / PIECE_ELEMS;
    size_t rows = bc.n_out / job.inner;
    cpu_parallel(ctx, k, rows * job.pieces, bc.n_out, binary_range, &job);
    return EMBER_OK;
}
