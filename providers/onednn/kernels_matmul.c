/*
 * MatMul (numpy semantics: 1-D operands promoted, batch dims broadcast)
 * and Gemm (transA/transB read through strides, alpha as the output scale,
 * beta * C as a binary post-op) as one oneDNN matmul. Constant weights are
 * reordered once into the layout the primitive prefers.
 */
#include "onednn_kernel.h"

bool onednn_check_matmul(const ember_host_api *host, const ember_node *node)
{
    return onednn_input_float(host, node, 0, 1, ONEDNN_MAX_RANK) &&
           onednn_input_float(host, node, 1, 1, ONEDNN_MAX_RANK);
}

bool onednn_check_gemm(const ember_host_api *host, const ember_node *node)
{
    return onednn_input_float(host, node, 0, 2, 2) && onednn_input_float(host, node, 1, 2, 2) &&
           onednn_input_float(host, node, 2, 0, 2);
}

/* The weights descriptor: oneDNN's choice when the weights are constant
 * (reordered once), else the user layout itself. */
static ember_status weights_md(const onednn_kernel *k, const dnnl_memory_desc_t *user,
                               dnnl_memory_desc_t *out)
{
    if (((k->const_mask >> 1) & 1u) == 0) {
        *out = *user;
        return EMBER_OK;
    }
    return onednn_md_any(k, out, user->dims, (size_t)user->ndims);
}

/* Runs the common tail: descriptor, primitive descriptor, arguments. */
static ember_status matmul_finish(const onednn_kernel *k, const onednn_shapes *in,
                                  onednn_plan *plan, const dnnl_memory_desc_t *user_md,
                                  dnnl_primitive_attr_t attr, const dnnl_memory_desc_t *post_md)
{
    /* user_md: src, weights, dst as the tensors are laid out. */
    dnnl_matmul_desc_t desc;
    dnnl_memory_desc_t wmd;
    dnnl_primitive_desc_t pd = NULL;
    ember_status s = weights_md(k, &user_md[1], &wmd);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_matmul_desc_init(&desc, &user_md[0], &wmd, NULL, &user_md[2]),
                         "the matmul");
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, 0, &user_md[0], NULL);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_WEIGHTS, 1, &user_md[1],
                              onednn_pd_md(pd, dnnl_query_weights_md, 0));
    if (s == EMBER_OK && post_md != NULL)
        s = onednn_plan_input(k, in, plan,
                              DNNL_ARG_ATTR_MULTIPLE_POST_OP(k->fusion.sum ? 1 : 0) |
                                  DNNL_ARG_SRC_1,
                              2, post_md, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &user_md[2], NULL);
    return onednn_plan_finish(k, plan, s, pd, NULL); /* the caller frees attr */
}

/* alpha * A B + beta * C = beta * ((alpha / beta) * A B + C): an output
 * scale, C as a binary post-op, beta as a linear post-op, then the
 * activation a group fused in. A group's sum (dst += the other operand of
 * an Add) goes first; C's binary post-op index is where matmul_finish
 * finds it (ADDEND_POST_OP). */
static ember_status addend_attr(const onednn_kernel *k, float alpha, float beta,
                                const dnnl_memory_desc_t *c_md, dnnl_primitive_attr_t attr)
{
    dnnl_post_ops_t post = NULL;
    float scale = c_md != NULL ? alpha / beta : alpha;
    ember_status s = EMBER_OK;
    if (scale != 1.0f)
        s = onednn_check(k, dnnl_primitive_attr_set_output_scales(attr, 1, 0, &scale),
                         "the output scale");
    if (s != EMBER_OK || c_md == NULL)
        return s;
    s = onednn_check(k, dnnl_post_ops_create(&post), "post-ops");
    if (s == EMBER_OK && k->fusion.sum)
        s = onednn_check(k, dnnl_post_ops_append_sum(post, 1.0f), "a sum post-op");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_post_ops_append_binary(post, dnnl_binary_add, c_md),
                         "the C post-op");
    if (s == EMBER_OK && beta != 1.0f)
        s = onednn_check(k, dnnl_post_ops_append_eltwise(post, 1.0f, dnnl_eltwise_linear,
                                                         beta, 0.0f),
                         "the beta post-op");
    if (s == EMBER_OK)
        s = onednn_fusion_append_eltwise(k, post);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_primitive_attr_set_post_ops(attr, post), "post-ops");
    dnnl_post_ops_destroy(post);
    return s;
}

/* ---- MatMul ------------------------------------------------------------ */

typedef struct mm_dims {
    size_t rank;
    int64_t a[ONEDNN_MAX_RANK], b[ONEDNN_MAX_RANK], y[ONEDNN_MAX_RANK];
    int64_t out[ONEDNN_MAX_RANK]; /* the ONNX output shape */
    size_t out_rank;
} mm_dims;

/* Promotes both operands to a common rank >= 2 and broadcasts the batch. */
static bool mm_shapes(const onednn_shapes *in, mm_dims *m)
{
    size_t ra = in->rank[0], rb = in->rank[1];
    size_t ra2 = ra < 2 ? 2 : ra, rb2 = rb < 2 ? 2 : rb;
    size_t r = ra2 > rb2 ? ra2 : rb2;
    if (ra == 0 || rb == 0 || r > ONEDNN_MAX_RANK)
        return false;
    for (size_t i = 0; i < r; i++)
        m->a[i] = m->b[i] = 1;
    memcpy(m->a + r - ra, in->dims[0], ra * sizeof(int64_t));
    memcpy(m->b + r - rb, in->dims[1], rb * sizeof(int64_t));
    if (rb == 1) { /* [K] -> [K, 1] */
        m->b[r - 2] = in->dims[1][0];
        m->b[r - 1] = 1;
    }
    for (size_t i = 0; i + 2 < r; i++) {
        if (m->a[i] != m->b[i] && m->a[i] != 1 && m->b[i] != 1)
            return false;
        m->y[i] = m->a[i] == 1 ? m->b[i] : m->a[i];
    }
    m->y[r - 2] = m->a[r - 2];
    m->y[r - 1] = m->b[r - 1];
    m->rank = r;
    return m->a[r - 1] == m->b[r - 2];
}

/* With a 2-D B (weights, usually), A's batch dims fold into its rows: one
 * [M, K] x [K, N] product, for which oneDNN keeps constant weights in its
 * blocked layout (it leaves batched weights dense, which is much slower). */
static void fold_batch(const onednn_shapes *in, mm_dims *m)
{
    if (in->rank[1] != 2 || m->rank <= 2)
        return;
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < m->rank; i++)
        rows *= m->a[i];
    int64_t k = m->a[m->rank - 1], n = m->b[m->rank - 1];
    m->a[0] = rows;
    m->a[1] = k;
    m->b[0] = k;
    m->b[1] = n;
    m->y[0] = rows;
    m->y[1] = n;
    m->rank = 2;
}

static ember_status matmul_build(const onednn_kernel *k, const onednn_shapes *in,
                                 onednn_plan *plan)
{
    mm_dims m;
    dnnl_memory_desc_t md[3];
    dnnl_primitive_attr_t attr = NULL;
    if (!mm_shapes(in, &m))
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (MatMul): operand shapes do not multiply or broadcast",
                             k->name);
    /* The batch dims the output keeps: those of the higher-rank operand. */
    size_t keep = (in->rank[0] > in->rank[1] ? in->rank[0] : in->rank[1]);
    keep = keep > 2 ? keep - 2 : 0;
    m.out_rank = 0;
    for (size_t i = m.rank - 2 - keep; i + 2 < m.rank; i++)
        m.out[m.out_rank++] = m.y[i];
    if (in->rank[0] > 1)
        m.out[m.out_rank++] = m.y[m.rank - 2];
    if (in->rank[1] > 1)
        m.out[m.out_rank++] = m.y[m.rank - 1];
    onednn_plan_shape(plan, 0, m.out, m.out_rank);
    fold_batch(in, &m);
    /* Input 2, which only a group adds: the constant [N] bias of an Add it
     * fused, as a binary post-op. */
    bool has_bias = in->n > 2 && in->present[2];
    int64_t bias[ONEDNN_MAX_RANK];
    for (size_t i = 0; i < m.rank; i++)
        bias[i] = i + 1 < m.rank ? 1 : m.y[m.rank - 1];
    dnnl_memory_desc_t bias_md;
    ember_status s = onednn_md_plain(k, &md[0], m.a, m.rank);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &md[1], m.b, m.rank);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &md[2], m.y, m.rank);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &bias_md, bias, m.rank);
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK && has_bias)
        s = addend_attr(k, 1.0f, 1.0f, &bias_md, attr);
    if (s == EMBER_OK)
        s = matmul_finish(k, in, plan, md, attr, has_bias ? &bias_md : NULL);
    dnnl_primitive_attr_destroy(attr);
    return s;
}

ember_status onednn_create_matmul(onednn_kernel *k, const ember_node *node)
{
    (void)node;
    k->build = matmul_build;
    return EMBER_OK;
}

/* ---- Gemm -------------------------------------------------------------- */

typedef struct gemm_params {
    int64_t trans_a, trans_b;
    float alpha, beta;
} gemm_params;

/* A [rows, cols] descriptor of a 2-D tensor, read transposed when asked. */
static ember_status md_2d(const onednn_kernel *k, const int64_t *stored, bool trans,
                          dnnl_memory_desc_t *md)
{
    dnnl_dims_t dims = {trans ? stored[1] : stored[0], trans ? stored[0] : stored[1]};
    dnnl_dims_t strides = {trans ? 1 : stored[1], trans ? stored[1] : 1};
    return onednn_check(k, dnnl_memory_desc_init_by_strides(md, 2, dims, k->dt, strides),
                        "a memory descriptor");
}

static ember_status gemm_build(const onednn_kernel *k, const onednn_shapes *in,
                               onednn_plan *plan)
{
    const gemm_params *p = k->params;
    const int64_t *a = in->dims[0], *b = in->dims[1];
    int64_t m = p->trans_a ? a[1] : a[0], ka = p->trans_a ? a[0] : a[1];
    int64_t n = p->trans_b ? b[0] : b[1], kb = p->trans_b ? b[1] : b[0];
    int64_t y[2] = {m, n}, c2[2] = {1, 1};
    bool has_c = in->n > 2 && in->present[2] && p->beta != 0.0f;
    if (ka != kb)
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (Gemm): A and B do not multiply (K %lld vs %lld)",
                             k->name, (long long)ka, (long long)kb);
    if (has_c)
        memcpy(c2 + 2 - in->rank[2], in->dims[2], in->rank[2] * sizeof *c2);
    if (has_c && ((c2[0] != m && c2[0] != 1) || (c2[1] != n && c2[1] != 1)))
        return k->host->fail(EMBER_E_INVALID_ARGUMENT,
                             "node '%s' (Gemm): C does not broadcast to [%lld, %lld]", k->name,
                             (long long)m, (long long)n);
    onednn_plan_shape(plan, 0, y, 2);
    dnnl_memory_desc_t md[3], c_md;
    dnnl_primitive_attr_t attr = NULL;
    ember_status s = md_2d(k, a, p->trans_a != 0, &md[0]);
    if (s == EMBER_OK)
        s = md_2d(k, b, p->trans_b != 0, &md[1]);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &md[2], y, 2);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &c_md, c2, 2);
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = addend_attr(k, p->alpha, p->beta, has_c ? &c_md : NULL, attr);
    if (s == EMBER_OK)
        s = matmul_finish(k, in, plan, md, attr, has_c ? &c_md : NULL);
    dnnl_primitive_attr_destroy(attr);
    return s;
}

ember_status onednn_create_gemm(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(gemm_params));
    gemm_params *p = k->params;
    if (s == EMBER_OK)
        s = onednn_attr_int(k, node, "transA", 0, &p->trans_a);
    if (s == EMBER_OK)
        s = onednn_attr_int(k, node, "transB", 0, &p->trans_b);
    if (s == EMBER_OK)
        s = onednn_attr_float(k, node, "alpha", 1.0f, &p->alpha);
    if (s == EMBER_OK)
        s = onednn_attr_float(k, node, "beta", 1.0f, &p->beta);
    k->build = gemm_build;
    return s;
}
