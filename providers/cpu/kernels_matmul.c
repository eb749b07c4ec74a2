/*
 * Gemm and MatMul. float32/float64 go to OpenBLAS (single-threaded: the
 * rows of the product are split across host->ctx_parallel_for instead);
 * float16/bfloat16 are computed in float32; 32/64-bit integers use a plain
 * loop with wrapping arithmetic. MatMul follows numpy: 1-D operands and
 * broadcast batch dims.
 */
#include "cpu_kernel.h"

#include <cblas.h>

/* ---- the row-block product shared by Gemm and MatMul ------------------- */

/*
 * C[m, n] (+)= alpha * op(A)[m, k] * op(B)[k, n] for the rows [r0, r1) of C.
 * `accumulate` adds to what C holds (Gemm's beta*C); otherwise C is
 * overwritten.
 */
typedef struct gemm_task {
    uint32_t dtype;
    bool trans_a, trans_b, accumulate;
    size_t m, n, k;
    const void *a;
    size_t lda;
    const void *b;
    size_t ldb;
    void *c;
    float alpha;
} gemm_task;

/* Integer products: wrapping arithmetic in the unsigned type W; a non-unit
 * alpha scales the exact sum through double. */
#define DEFINE_INT_GEMM(NAME, T, W)                                                        \
    static void NAME(const gemm_task *t, size_t r0, size_t r1)                             \
    {                                                                                      \
        const T *a = t->a, *b = t->b;                                                      \
        T *c = t->c;                                                                       \
        size_t as_r = t->trans_a ? 1 : t->lda, as_k = t->trans_a ? t->lda : 1;             \
        size_t bs_k = t->trans_b ? 1 : t->ldb, bs_c = t->trans_b ? t->ldb : 1;             \
        for (size_t i = r0; i < r1; i++) {                                                 \
            for (size_t j = 0; j < t->n; j++) {                                            \
                W acc = 0;                                                                 \
                for (size_t p = 0; p < t->k; p++)                                          \
                    acc += (W)a[i * as_r + p * as_k] * (W)b[p * bs_k + j * bs_c];          \
                T v = t->alpha == 1.0f ? (T)acc : (T)(t->alpha * (double)(T)acc);          \
                c[i * t->n + j] = t->accumulate ? (T)((W)c[i * t->n + j] + (W)v) : v;     \
            }                                                                              \
        }                                                                                  \
    }

DEFINE_INT_GEMM(gemm_i32, int32_t, uint32_t)
DEFINE_INT_GEMM(gemm_i64, int64_t, uint64_t)
DEFINE_INT_GEMM(gemm_u32, uint32_t, uint32_t)
DEFINE_INT_GEMM(gemm_u64, uint64_t, uint64_t)

static void gemm_rows(const gemm_task *t, size_t r0, size_t r1)
{
    CBLAS_TRANSPOSE ta = t->trans_a ? CblasTrans : CblasNoTrans;
    CBLAS_TRANSPOSE tb = t->trans_b ? CblasTrans : CblasNoTrans;
    size_t a_off = t->trans_a ? r0 : r0 * t->lda;
    blasint rows = (blasint)(r1 - r0), n = (blasint)t->n, k = (blasint)t->k;
    switch (t->dtype) {
    case EMBER_DTYPE_FLOAT32:
        cblas_sgemm(CblasRowMajor, ta, tb, rows, n, k, t->alpha, (const float *)t->a + a_off,
                    (blasint)t->lda, t->b, (blasint)t->ldb, t->accumulate ? 1.0f : 0.0f,
                    (float *)t->c + r0 * t->n, n);
        break;
    case EMBER_DTYPE_FLOAT64:
        cblas_dgemm(CblasRowMajor, ta, tb, rows, n, k, t->alpha, (const double *)t->a + a_off,
                    (blasint)t->lda, t->b, (blasint)t->ldb, t->accumulate ? 1.0 : 0.0,
                    (double *)t->c + r0 * t->n, n);
        break;
    case EMBER_DTYPE_INT32: gemm_i32(t, r0, r1); break;
    case EMBER_DTYPE_INT64: gemm_i64(t, r0, r1); break;
    case EMBER_DTYPE_UINT32: gemm_u32(t, r0, r1); break;
    case EMBER_DTYPE_UINT64: gemm_u64(t, r0, r1); break;
    default: break;
    }
}

/* How many row blocks each of n_mats products is cut into so that every
 * thread gets work. */
static size_t row_blocks(ember_kernel_context *ctx, const cpu_kernel *k, size_t n_mats,
                         size_t m, size_t flops)
{
    size_t threads = k->host->ctx_thread_count(ctx);
    if (threads <= 1 || n_mats >= threads || flops < ((size_t)1 << 18))
        return 1;
    size_t blocks = (threads + n_mats - 1) / n_mats;
    return blocks < m ? blocks : m;
}

/* ---- MatMul ------------------------------------------------------------ */

bool cpu_check_matmul(const ember_host_api *host, const ember_node *node)
{
    uint32_t set = CPU_DT_FLOATS;
    if (host->node_opset(node) >= 9)
        set |= CPU_DT(EMBER_DTYPE_INT32) | CPU_DT(EMBER_DTYPE_INT64) |
               CPU_DT(EMBER_DTYPE_UINT32) | CPU_DT(EMBER_DTYPE_UINT64);
    return cpu_input_dtype_in(host, node, 0, set);
}

/* The operands seen as batches of [m, k] x [k, n] matrices. */
typedef struct matmul_shape {
    size_t m, k, n;
    cpu_bcast batch; /* over the batch dims; offsets count matrices */
    size_t n_batch;
    int64_t out_dims[CPU_MAX_RANK + 2];
    size_t out_rank;
} matmul_shape;

static ember_status matmul_batch(const cpu_kernel *k, const ember_tensor *a,
                                 const ember_tensor *b, matmul_shape *ms)
{
    size_t a_batch = a->rank > 2 ? a->rank - 2 : 0, b_batch = b->rank > 2 ? b->rank - 2 : 0;
    if (!cpu_bcast_init(&ms->batch, a->dims, a_batch, b->dims, b_batch))
        return cpu_fail_shape(k, 1, b, "the batch dims do not broadcast with input 0's");
    ms->n_batch = ms->batch.n_out;
    ms->out_rank = ms->batch.out_rank;
    memcpy(ms->out_dims, ms->batch.out_dims, ms->out_rank * sizeof(int64_t));
    if (a->rank > 1)
        ms->out_dims[ms->out_rank++] = (int64_t)ms->m;
    if (b->rank > 1)
        ms->out_dims[ms->out_rank++] = (int64_t)ms->n;
    return EMBER_OK;
}

static ember_status matmul_shape_of(const cpu_kernel *k, const ember_tensor *a,
                                    const ember_tensor *b, matmul_shape *ms)
{
    if (a->rank == 0)
        return cpu_fail_shape(k, 0, a, "MatMul needs at least one dim");
    if (b->rank == 0)
        return cpu_fail_shape(k, 1, b, "MatMul needs at least one dim");
    ms->m = a->rank > 1 ? (size_t)a->dims[a->rank - 2] : 1;
    ms->k = (size_t)a->dims[a->rank - 1];
    size_t kb = (size_t)b->dims[b->rank > 1 ? b->rank - 2 : 0];
    ms->n = b->rank > 1 ? (size_t)b->dims[b->rank - 1] : 1;
    if (kb != ms->k) {
        char a_str[256], b_str[256];
        cpu_format_dims(a_str, sizeof a_str, a->dims, a->rank);
        cpu_format_dims(b_str, sizeof b_str, b->dims, b->rank);
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (%s): input 0 has shape %s and input 1 has shape %s: "
                             "the inner dims differ",
                             k->name, k->op, a_str, b_str);
    }
    return matmul_batch(k, a, b, ms);
}

typedef struct matmul_job {
    gemm_task task; /* one product; a/b/c point at batch 0 */
    const cpu_bcast *batch;
    size_t blocks, rows_per_block, esize;
} matmul_job;

static void matmul_range(void *arg, size_t begin, size_t end)
{
    const matmul_job *j = arg;
    const gemm_task *t0 = &j->task;
    for (size_t it = begin; it < end; it++) {
        size_t bi = it / j->blocks, r0 = (it % j->blocks) * j->rows_per_block;
        size_t r1 = r0 + j->rows_per_block < t0->m ? r0 + j->rows_per_block : t0->m;
        size_t oa, ob;
        cpu_bcast_offsets(j->batch, bi, &oa, &ob);
        gemm_task t = *t0;
        t.a = (const char *)t0->a + oa * t0->m * t0->k * j->esize;
        t.b = (const char *)t0->b + ob * t0->k * t0->n * j->esize;
        t.c = (char *)t0->c + bi * t0->m * t0->n * j->esize;
        if (r0 < r1)
            gemm_rows(&t, r0, r1);
    }
}

/* The product on raw buffers of a BLAS or integer dtype. */
static void matmul_compute(const cpu_kernel *k, ember_kernel_context *ctx,
                           const matmul_shape *ms, uint32_t dtype, const void *a, const void *b,
                           void *y)
{
    size_t esize = cpu_dtype_size(dtype);
    if (ms->k == 0) {
        memset(y, 0, ms->n_batch * ms->m * ms->n * esize);
        return;
    }
    matmul_job j = {{dtype, false, false, false, ms->m, ms->n, ms->k, a, ms->k, b, ms->n, y,
                     1.0f},
                    &ms->batch, 1, ms->m, esize};
    size_t n_mats = ms->n_batch;
    /* B shared by every batch: one tall product covers them all. */
    cpu_bcast single;
    if (ms->batch.strides[1][ms->batch.rank - 1] == 0 && ms->batch.rank == 1 &&
        ms->batch.strides[0][0] == 1) {
        j.task.m *= ms->n_batch;
        n_mats = 1;
        single = ms->batch;
        single.dims[0] = 1;
        j.batch = &single;
    }
    size_t flops = n_mats * j.task.m * ms->n * ms->k;
    j.blocks = row_blocks(ctx, k, n_mats, j.task.m, flops);
    j.rows_per_block = (j.task.m + j.blocks - 1) / j.blocks;
    cpu_parallel(ctx, k, n_mats * j.blocks, flops, matmul_range, &j);
}

/* float16/bfloat16: the product in float32 scratch, converted back. */
static ember_status matmul_half(const cpu_kernel *k, ember_kernel_context *ctx,
                                const matmul_shape *ms, const ember_tensor *a,
                                const ember_tensor *b, ember_tensor *y)
{
    float *fa, *fb, *fy;
    size_t n_out = ms->n_batch * ms->m * ms->n;
    ember_status s = cpu_half_input(ctx, k, a, &fa);
    if (s == EMBER_OK)
        s = cpu_half_input(ctx, k, b, &fb);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (n_out ? n_out : 1) * sizeof(float), (void **)&fy);
    if (s != EMBER_OK)
        return s;
    matmul_compute(k, ctx, ms, EMBER_DTYPE_FLOAT32, fa, fb, fy);
    cpu_float_to_half(y->dtype, fy, y->data, n_out);
    return EMBER_OK;
}

static ember_status matmul_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *a, *b;
    ember_status s = cpu_input(k, ctx, 0, &a);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &b);
    if (s != EMBER_OK)
        return s;
    uint32_t blas_or_int = CPU_DT(EMBER_DTYPE_FLOAT32) | CPU_DT(EMBER_DTYPE_FLOAT64) |
                           CPU_DT(EMBER_DTYPE_INT32) | CPU_DT(EMBER_DTYPE_INT64) |
                           CPU_DT(EMBER_DTYPE_UINT32) | CPU_DT(EMBER_DTYPE_UINT64);
    if (!cpu_is_half(a->dtype) && !(CPU_DT(a->dtype) & blas_or_int))
        return cpu_fail_dtype(k, 0, a->dtype);
    if (b->dtype != a->dtype)
        return cpu_fail_dtype(k, 1, b->dtype);
    matmul_shape ms;
    s = matmul_shape_of(k, a, b, &ms);
    ember_tensor *y;
    if (s == EMBER_OK)
        s = cpu_output(k, ctx, 0, a->dtype, ms.out_dims, ms.out_rank, &y);
    if (s != EMBER_OK || ms.n_batch * ms.m * ms.n == 0)
        return s;
    if (cpu_is_half(a->dtype))
        return matmul_half(k, ctx, &ms, a, b, y);
    matmul_compute(k, ctx, &ms, a->dtype, a->data, b->data, y->data);
    return EMBER_OK;
}

ember_status cpu_create_matmul(cpu_kernel *k, const ember_node *node)
{
    k->run = matmul_run;
    return EMBER_OK;
}

/* ---- Gemm -------------------------------------------------------------- */

typedef struct gemm_params {
    bool trans_a, trans_b;
    float alpha, beta;
} gemm_params;

bool cpu_check_gemm(const ember_host_api *host, const ember_node *node)
{
    return cpu_check_matmul(host, node);
}

/* Fills y[m, n] with beta * C broadcast unidirectionally (C is [], [n],
 * [1|m, 1|n]); returns false when C's shape does not broadcast. */
#define DEFINE_FILL(NAME, T)                                                               \
    static void NAME(T *y, const T *c, size_t m, size_t n, size_t rs, size_t cs,          \
                     double beta)                                                          \
    {                                                                                      \
        for (size_t i = 0; i < m; i++)                                                     \
            for (size_t j = 0; j < n; j++)                                                 \
                y[i * n + j] = beta == 1.0 ? c[i * rs + j * cs] : (T)(beta * c[i * rs + j * cs]); \
    }

DEFINE_FILL(fill_f32, float)
DEFINE_FILL(fill_f64, double)
DEFINE_FILL(fill_i32, int32_t)
DEFINE_FILL(fill_i64, int64_t)
DEFINE_FILL(fill_u32, uint32_t)
DEFINE_FILL(fill_u64, uint64_t)

static ember_status gemm_fill_c(const cpu_kernel *k, const ember_tensor *c, uint32_t dtype,
                                const void *c_data, void *y, size_t m, size_t n)
{
    const gemm_params *p = k->params;
    int64_t cm = c->rank == 2 ? c->dims[0] : 1;
    int64_t cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    if (c->rank > 2 || (cm != 1 && cm != (int64_t)m) || (cn != 1 && cn != (int64_t)n))
        return cpu_fail_shape(k, 2, c, "does not broadcast to the [M, N] output");
    size_t rs = cm == 1 ? 0 : (size_t)cn, cs = cn == 1 ? 0 : 1;
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: fill_f32(y, c_data, m, n, rs, cs, p->beta); break;
    case EMBER_DTYPE_FLOAT64: fill_f64(y, c_data, m, n, rs, cs, p->beta); break;
    case EMBER_DTYPE_INT32: fill_i32(y, c_data, m, n, rs, cs, p->beta); break;
    case EMBER_DTYPE_INT64: fill_i64(y, c_data, m, n, rs, cs, p->beta); break;
    case EMBER_DTYPE_UINT32: fill_u32(y, c_data, m, n, rs, cs, p->beta); break;
    case EMBER_DTYPE_UINT64: fill_u64(y, c_data, m, n, rs, cs, p->beta); break;
    default: break;
    }
    return EMBER_OK;
}

typedef struct gemm_job {
    gemm_task task;
    size_t rows_per_block;
} gemm_job;

static void gemm_range(void *arg, size_t begin, size_t end)
{
    const gemm_job *j = arg;
    for (size_t b = begin; b < end; b++) {
        size_t r0 = b * j->rows_per_block;
        size_t r1 = r0 + j->rows_per_block < j->task.m ? r0 + j->rows_per_block : j->task.m;
        if (r0 < r1)
            gemm_rows(&j->task, r0, r1);
    }
}

/* Y = alpha * op(A) op(B) + beta * C on raw buffers of one BLAS or integer
 * dtype; c_data is NULL when C is absent. */
static ember_status gemm_compute(const cpu_kernel *k, ember_kernel_context *ctx, uint32_t dtype,
                                 const ember_tensor *a, const ember_tensor *b,
                                 const ember_tensor *c, const void *pa, const void *pb,
                                 const void *pc, void *y)
{
    const gemm_params *p = k->params;
    size_t m = (size_t)a->dims[p->trans_a ? 1 : 0], kk = (size_t)a->dims[p->trans_a ? 0 : 1];
    size_t n = (size_t)b->dims[p->trans_b ? 0 : 1];
    bool has_c = pc != NULL && p->beta != 0.0f;
    gemm_job j = {{dtype, p->trans_a, p->trans_b, has_c, m, n, kk, pa, (size_t)a->dims[1], pb,
                   (size_t)b->dims[1], y, p->alpha},
                  m};
    if (has_c) {
        ember_status s = gemm_fill_c(k, c, dtype, pc, y, m, n);
        if (s != EMBER_OK)
            return s;
    }
    if (kk == 0 || p->alpha == 0.0f) {
        if (!has_c)
            memset(y, 0, m * n * cpu_dtype_size(dtype));
        return EMBER_OK;
    }
    size_t flops = m * n * kk, blocks = row_blocks(ctx, k, 1, m, flops);
    j.rows_per_block = (m + blocks - 1) / blocks;
    cpu_parallel(ctx, k, blocks, flops, gemm_range, &j);
    return EMBER_OK;
}

static ember_status gemm_half(const cpu_kernel *k, ember_kernel_context *ctx,
                              const ember_tensor *a, const ember_tensor *b,
                              const ember_tensor *c, ember_tensor *y)
{
    float *fa, *fb, *fc = NULL, *fy;
    size_t n_out = cpu_tensor_numel(y);
    ember_status s = cpu_half_input(ctx, k, a, &fa);
    if (s == EMBER_OK)
        s = cpu_half_input(ctx, k, b, &fb);
    if (s == EMBER_OK && c != NULL)
        s = cpu_half_input(ctx, k, c, &fc);
    if (s == EMBER_OK)
        s = k->host->ctx_scratch(ctx, (n_out ? n_out : 1) * sizeof(float), (void **)&fy);
    if (s == EMBER_OK)
        s = gemm_compute(k, ctx, EMBER_DTYPE_FLOAT32, a, b, c, fa, fb, fc, fy);
    if (s == EMBER_OK)
        cpu_float_to_half(y->dtype, fy, y->data, n_out);
    return s;
}

static ember_status gemm_check(const cpu_kernel *k, const ember_tensor *a,
                               const ember_tensor *b, const ember_tensor *c)
{
    const gemm_params *p = k->params;
    if (a->rank != 2)
        return cpu_fail_shape(k, 0, a, "Gemm needs a 2-D input");
    if (b->rank != 2)
        return cpu_fail_shape(k, 1, b, "Gemm needs a 2-D input");
    if (a->dims[p->trans_a ? 0 : 1] != b->dims[p->trans_b ? 1 : 0])
        return cpu_fail_shape(k, 1, b, "its inner dim differs from input 0's");
    uint32_t ok = CPU_DT(EMBER_DTYPE_FLOAT32) | CPU_DT(EMBER_DTYPE_FLOAT64) |
                  CPU_DT(EMBER_DTYPE_INT32) | CPU_DT(EMBER_DTYPE_INT64) |
                  CPU_DT(EMBER_DTYPE_UINT32) | CPU_DT(EMBER_DTYPE_UINT64);
    if (!cpu_is_half(a->dtype) && !(CPU_DT(a->dtype) & ok))
        return cpu_fail_dtype(k, 0, a->dtype);
    if (b->dtype != a->dtype)
        return cpu_fail_dtype(k, 1, b->dtype);
    if (c != NULL && c->dtype != a->dtype)
        return cpu_fail_dtype(k, 2, c->dtype);
    return EMBER_OK;
}

static ember_status gemm_run(const cpu_kernel *k, ember_kernel_context *ctx)
{
    const gemm_params *p = k->params;
    const ember_tensor *a, *b, *c = NULL;
    ember_status s = cpu_input(k, ctx, 0, &a);
    if (s == EMBER_OK)
        s = cpu_input(k, ctx, 1, &b);
    if (s != EMBER_OK)
        return s;
    if (k->host->ctx_input_count(ctx) > 2)
        c = k->host->ctx_input(ctx, 2);
    s = gemm_check(k, a, b, c);
    if (s != EMBER_OK)
        return s;
    int64_t dims[2] = {a->dims[p->trans_a ? 1 : 0], b->dims[p->trans_b ? 0 : 1]};
    ember_tensor *y;
    s = cpu_output(k, ctx, 0, a->dtype, dims, 2, &y);
    if (s != EMBER_OK || dims[0] * dims[1] == 0)
        return s;
    if (cpu_is_half(a->dtype))
        return gemm_half(k, ctx, a, b, c, y);
    return gemm_compute(k, ctx, a->dtype, a, b, c, a->data, b->data, c ? c->data : NULL,
                        y->data);
}

ember_status cpu_create_gemm(cpu_kernel *k, const ember_node *node)
{
    ember_status s = cpu_kernel_params(k, sizeof(gemm_params));
    if (s != EMBER_OK)
        return s;
    gemm_params *p = k->params;
    int64_t ta = 0, tb = 0;
    s = cpu_attr_int(k, node, "transA", 0, &ta);
    if (s == EMBER_OK)
        s = cpu_attr_int(k, node, "transB", 0, &tb);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "alpha", 1.0f, &p->alpha);
    if (s == EMBER_OK)
        s = cpu_attr_float(k, node, "beta", 1.0f, &p->beta);
    p->trans_a = ta != 0;
    p->trans_b = tb != 0;
    k->run = gemm_run;
    return s;
}
