/*
 * MatMul and Gemm of the CUDA provider through cuBLAS. Tensors are
 * row-major and cuBLAS is column-major, so Y = A.B is computed as
 * Y^T = B^T.A^T: the operands swap places and no data moves. MatMul with
 * a 2-D right side folds the batch into M (one GEMM); equal or one-sided
 * batches use the strided batched call; other broadcasts loop.
 */
#include "cuda_provider.h"

#include <limits.h>
#include <string.h>

typedef struct gemm_params {
    bool trans_a, trans_b;
    float alpha, beta;
} gemm_params;

/* One (batched) row-major GEMM: y[M,N] = alpha * op(a) . op(b) + beta * y. */
typedef struct gemm_call {
    int64_t m, n, k, batch;
    int64_t stride_a, stride_b, stride_y; /* elements; 0 = the same matrix each time */
    bool trans_a, trans_b;
    float alpha, beta;
} gemm_call;

static bool is_float(uint32_t dtype)
{
    return dtype == EMBER_DTYPE_FLOAT32 || dtype == EMBER_DTYPE_FLOAT16;
}

static ember_status gemm(cuda_kernel *k, const gemm_call *c, uint32_t dtype, const void *a,
                         const void *b, void *y)
{
    if (c->m > INT_MAX || c->n > INT_MAX || c->k > INT_MAX || c->batch > INT_MAX)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (%s): a matrix dim above 2^31 is not supported",
                             k->name, k->op);
    if (c->m == 0 || c->n == 0 || c->batch == 0)
        return EMBER_OK;
    cudaDataType_t type = dtype == EMBER_DTYPE_FLOAT16 ? CUDA_R_16F : CUDA_R_32F;
    cublasComputeType_t compute = dtype == EMBER_DTYPE_FLOAT32 && k->prov->use_tf32
                                      ? CUBLAS_COMPUTE_32F_FAST_TF32
                                      : CUBLAS_COMPUTE_32F;
    int m = (int)c->m, n = (int)c->n, kk = (int)c->k;
    cublasOperation_t op_a = c->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_b = c->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    int ld_a = c->trans_a ? m : kk, ld_b = c->trans_b ? kk : n;
    cublasStatus_t st;
    if (c->batch == 1)
        st = cublasGemmEx(k->prov->cublas, op_b, op_a, n, m, kk, &c->alpha, b, type, ld_b, a,
                          type, ld_a, &c->beta, y, type, n, compute, CUBLAS_GEMM_DEFAULT);
    else
        st = cublasGemmStridedBatchedEx(k->prov->cublas, op_b, op_a, n, m, kk, &c->alpha, b,
                                        type, ld_b, c->stride_b, a, type, ld_a, c->stride_a,
                                        &c->beta, y, type, n, c->stride_y, (int)c->batch,
                                        compute, CUBLAS_GEMM_DEFAULT);
    return cuda_check_cublas(k, st, c->batch == 1 ? "cublasGemmEx" : "cublasGemmStridedBatchedEx");
}

/* ---- MatMul -------------------------------------------------------------------------------- */

/* The shapes of a MatMul: operands as [batch..., rows, cols] (1-D ones
 * promoted) and the output's dims. */
typedef struct matmul_shape {
    int64_t a_dims[CUDA_MAX_RANK], b_dims[CUDA_MAX_RANK], batch[CUDA_MAX_RANK];
    size_t a_rank, b_rank, n_batch;
    int64_t m, n, k;
    int64_t out_dims[CUDA_MAX_RANK];
    size_t out_rank;
} matmul_shape;

static bool all_ones(const int64_t *dims, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (dims[i] != 1)
            return false;
    return true;
}

static ember_status matmul_shape_of(cuda_kernel *k, const ember_tensor *a, const ember_tensor *b,
                                    matmul_shape *s)
{
    memset(s, 0, sizeof *s);
    s->a_rank = a->rank < 2 ? 2 : a->rank;
    s->b_rank = b->rank < 2 ? 2 : b->rank;
    if (a->rank == 0 || b->rank == 0)
        return cuda_fail_shape(k, a->rank == 0 ? 0 : 1, a->rank == 0 ? a : b,
                               "MatMul takes no scalars");
    memcpy(s->a_dims + (a->rank == 1), a->dims, a->rank * sizeof *a->dims);
    memcpy(s->b_dims, b->dims, b->rank * sizeof *b->dims);
    if (a->rank == 1)
        s->a_dims[0] = 1;
    if (b->rank == 1)
        s->b_dims[1] = 1;
    s->m = s->a_dims[s->a_rank - 2];
    s->k = s->a_dims[s->a_rank - 1];
    s->n = s->b_dims[s->b_rank - 1];
    if (s->b_dims[s->b_rank - 2] != s->k)
        return cuda_fail_shape(k, 1, b, "its rows do not match input 0's columns");
    size_t na = s->a_rank - 2, nb = s->b_rank - 2;
    s->n_batch = na > nb ? na : nb;
    for (size_t i = 0; i < s->n_batch; i++) {
        int64_t da = i + na >= s->n_batch ? s->a_dims[i + na - s->n_batch] : 1;
        int64_t db = i + nb >= s->n_batch ? s->b_dims[i + nb - s->n_batch] : 1;
        if (da != db && da != 1 && db != 1)
            return cuda_fail_shape(k, 1, b, "its batch dims do not broadcast with input 0's");
        s->batch[i] = da == 1 ? db : da;
    }
    memcpy(s->out_dims, s->batch, s->n_batch * sizeof *s->batch);
    s->out_rank = s->n_batch;
    if (a->rank != 1)
        s->out_dims[s->out_rank++] = s->m;
    if (b->rank != 1)
        s->out_dims[s->out_rank++] = s->n;
    return EMBER_OK;
}

/* Offset (in matrices) of batch element `index` in an operand with
 * batch dims `dims` (right-aligned against the output's batch). */
static int64_t batch_offset(const matmul_shape *s, const int64_t *dims, size_t n_dims,
                            int64_t index)
{
    int64_t offset = 0, stride = 1;
    for (size_t i = s->n_batch; i-- > 0;) {
        int64_t c = index % s->batch[i];
        index /= s->batch[i];
        if (i + n_dims < s->n_batch)
            continue;
        int64_t d = dims[i + n_dims - s->n_batch];
        offset += (d == 1 ? 0 : c) * stride;
        stride *= d;
    }
    return offset;
}

static ember_status matmul_loop(cuda_kernel *k, const matmul_shape *s, gemm_call *c,
                                uint32_t dtype, const char *a, const char *b, char *y)
{
    size_t elem = cuda_dtype_size(dtype);
    int64_t n_batch = (int64_t)cuda_numel(s->batch, s->n_batch);
    c->batch = 1;
    for (int64_t i = 0; i < n_batch; i++) {
        int64_t ia = batch_offset(s, s->a_dims, s->a_rank - 2, i);
        int64_t ib = batch_offset(s, s->b_dims, s->b_rank - 2, i);
        CUDA_TRY(gemm(k, c, dtype, a + (size_t)(ia * s->m * s->k) * elem,
                      b + (size_t)(ib * s->k * s->n) * elem, y + (size_t)(i * s->m * s->n) * elem));
    }
    return EMBER_OK;
}

static ember_status run_matmul(cuda_kernel *k, ember_kernel_context *ctx)
{
    const ember_tensor *a, *b;
    ember_tensor *y;
    matmul_shape s;
    CUDA_TRY(cuda_input(k, ctx, 0, &a));
    CUDA_TRY(cuda_input(k, ctx, 1, &b));
    if (a->dtype != b->dtype || !is_float(a->dtype))
        return cuda_fail_dtype(k, 1, b->dtype);
    CUDA_TRY(matmul_shape_of(k, a, b, &s));
    CUDA_TRY(cuda_output(k, ctx, 0, a->dtype, s.out_dims, s.out_rank, &y));
    int64_t n_batch = (int64_t)cuda_numel(s.batch, s.n_batch);
    int64_t a_batch = (int64_t)cuda_numel(s.a_dims, s.a_rank - 2);
    int64_t b_batch = (int64_t)cuda_numel(s.b_dims, s.b_rank - 2);
    gemm_call c = {s.m, s.n, s.k, 1, s.m * s.k, s.k * s.n, s.m * s.n, false, false, 1.0f, 0.0f};
    if (b_batch == 1 && a_batch == n_batch) {
        c.m = s.m * n_batch; /* a's batch folds into its rows */
        return gemm(k, &c, a->dtype, a->data, b->data, y->data);
    }
    bool a_full = a_batch == n_batch && s.a_rank - 2 == s.n_batch;
    bool b_full = b_batch == n_batch && s.b_rank - 2 == s.n_batch;
    if ((a_full || a_batch == 1) && (b_full || b_batch == 1)) {
        c.batch = n_batch;
        c.stride_a = a_batch == 1 ? 0 : c.stride_a;
        c.stride_b = b_batch == 1 ? 0 : c.stride_b;
        return gemm(k, &c, a->dtype, a->data, b->data, y->data);
    }
    return matmul_loop(k, &s, &c, a->dtype, a->data, b->data, y->data);
}

static ember_status create_matmul(cuda_kernel *k, const ember_node *node)
{
    (void)node;
    k->run = run_matmul;
    return EMBER_OK;
}

/* ---- Gemm ------------------------------------------------------------------------------------ */

static ember_status run_gemm(cuda_kernel *k, ember_kernel_context *ctx)
{
    const gemm_params *p = k->params;
    const ember_tensor *a, *b, *c = NULL;
    ember_tensor *y;
    CUDA_TRY(cuda_input(k, ctx, 0, &a));
    CUDA_TRY(cuda_input(k, ctx, 1, &b));
    if (k->host->ctx_input_count(ctx) > 2)
        c = k->host->ctx_input(ctx, 2);
    if (a->rank != 2 || b->rank != 2)
        return cuda_fail_shape(k, a->rank != 2 ? 0 : 1, a->rank != 2 ? a : b,
                               "Gemm takes 2-D inputs");
    if (b->dtype != a->dtype || (c && c->dtype != a->dtype) || !is_float(a->dtype))
        return cuda_fail_dtype(k, 1, b->dtype);
    int64_t m = p->trans_a ? a->dims[1] : a->dims[0], kk = p->trans_a ? a->dims[0] : a->dims[1];
    int64_t n = p->trans_b ? b->dims[0] : b->dims[1];
    if ((p->trans_b ? b->dims[1] : b->dims[0]) != kk)
        return cuda_fail_shape(k, 1, b, "does not match input 0's inner dim");
    int64_t dims[2] = {m, n};
    CUDA_TRY(cuda_output(k, ctx, 0, a->dtype, dims, 2, &y));
    gemm_call call = {m, n, kk, 1, 0, 0, 0, p->trans_a, p->trans_b, p->alpha, 0.0f};
    if (c != NULL && p->beta != 0.0f) {
        cuda_index ix;
        bool fits = c->rank <= 2;
        for (size_t d = 0; fits && d < c->rank; d++)
            fits = c->dims[d] == 1 || c->dims[d] == dims[2 - c->rank + d];
        if (!fits)
            return cuda_fail_shape(k, 2, c, "does not broadcast to [M, N]");
        cuda_index_expand(c->dims, c->rank, dims, 2, &ix);
        CUDA_TRY(cuda_check(k, cuda_launch_copy(cuda_dtype_size(c->dtype), &ix, y->data,
                                                c->data, k->prov->stream),
                            "the bias copy"));
        call.beta = p->beta;
    }
    return gemm(k, &call, a->dtype, a->data, b->data, y->data);
}

static ember_status create_gemm(cuda_kernel *k, const ember_node *node)
{
    int64_t trans_a, trans_b;
    CUDA_TRY(cuda_params(k, sizeof(gemm_params)));
    gemm_params *p = k->params;
    CUDA_TRY(cuda_attr_int(k, node, "transA", 0, &trans_a));
    CUDA_TRY(cuda_attr_int(k, node, "transB", 0, &trans_b));
    CUDA_TRY(cuda_attr_float(k, node, "alpha", 1.0f, &p->alpha));
    CUDA_TRY(cuda_attr_float(k, node, "beta", 1.0f, &p->beta));
    p->trans_a = trans_a != 0;
    p->trans_b = trans_b != 0;
    k->run = run_gemm;
    return EMBER_OK;
}

static bool check_gemm(const ember_host_api *host, const ember_node *node)
{
    return cuda_check_float(host, node);
}

const cuda_op_entry cuda_ops_matmul[] = {
    {"MatMul", 1, CUDA_OPSET_MAX, check_gemm, create_matmul},
    {"Gemm", 7, CUDA_OPSET_MAX, check_gemm, create_gemm},
    {NULL, 0, 0, NULL, NULL},
};
