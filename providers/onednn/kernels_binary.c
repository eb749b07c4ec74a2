/*
 * Elementwise arithmetic: Add, Sub, Mul and Div (opset 7+, numpy
 * broadcasting) as one oneDNN binary primitive, and Erf, which oneDNN has
 * no primitive for.
 *
 * Broadcasting. ONNX broadcasts both operands, across ranks; oneDNN's
 * binary broadcasts src1 onto src0 only (src1's dims 1 or equal to src0's,
 * same rank) and its dst has src0's dims. Both shapes are right-aligned to
 * the output's rank (leading 1s, which leave a dense row-major buffer as it
 * is). When A would need broadcasting and B would not, a commutative op
 * (Add, Mul) runs B as src0. Otherwise (Sub and Div with A broadcast, or
 * both operands broadcast, [3,1] + [1,4]) src0 is read through a view with
 * stride 0 on its broadcast dims, which oneDNN runs with a slower generic
 * kernel: so every float32 node is claimed, and each plan picks for its
 * shapes. Operands keep their plain layout, so a constant operand (a scalar
 * divisor, a bias) needs no reorder: onednn_plan_input reads it in place;
 * inside a group, same-shaped operands kept in a blocked layout are taken
 * in it.
 *
 * Erf. oneDNN 2.x has erf only inside GELU, so Erf is erff in a C loop.
 * The shared runner always executes the plan's primitive and then calls
 * `finish`, which sees the outputs but neither the inputs nor the kernel
 * context. The least intrusive fit is therefore a plan whose primitive is a
 * plain copy (a oneDNN reorder, input to output) and a `finish` that
 * applies erff in place. The loop is split with OpenMP, which oneDNN runs
 * on here: the runner has set the calling thread's OpenMP thread count to
 * the plan's (the session's intra-op count) before the primitive, so one
 * thread stays one thread. host->ctx_parallel_for would be the natural
 * split but needs the context `finish` does not get; a `finish` given the
 * context and the inputs, with the runner skipping a plan that has no
 * primitive, would remove both the copy and the OpenMP loop.
 */
#include "onednn_kernel.h"

#include <math.h>
#include <string.h>

typedef struct binary_params {
    dnnl_alg_kind_t alg;
    bool is_commutative;
} binary_params;

static int64_t numel(const int64_t *dims, size_t rank)
{
    int64_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* ---- claim ------------------------------------------------------------- */

bool onednn_check_binary(const ember_host_api *host, const ember_node *node)
{
    return host->node_input_count(node) == 2 && host->node_input_present(node, 0) &&
           host->node_input_present(node, 1) &&
           onednn_input_float(host, node, 0, 0, ONEDNN_MAX_RANK) &&
           onednn_input_float(host, node, 1, 0, ONEDNN_MAX_RANK);
}

/* ---- Add, Sub, Mul, Div ------------------------------------------------ */

/* The operands right-aligned to the output's rank; oneDNN sees rank
 * n_dims = max(rank, 1), so two scalars are one-element vectors. */
typedef struct binary_shapes {
    size_t rank;
    size_t n_dims;
    int64_t a[ONEDNN_MAX_RANK], b[ONEDNN_MAX_RANK], out[ONEDNN_MAX_RANK];
} binary_shapes;

static void align(const onednn_shapes *in, size_t index, size_t n_dims, int64_t *dims)
{
    size_t lead = n_dims - in->rank[index];
    for (size_t i = 0; i < n_dims; i++)
        dims[i] = i < lead ? 1 : in->dims[index][i - lead];
}

static ember_status broadcast(const onednn_kernel *k, const onednn_shapes *in,
                              binary_shapes *bs)
{
    bs->rank = in->rank[0] > in->rank[1] ? in->rank[0] : in->rank[1];
    bs->n_dims = bs->rank > 0 ? bs->rank : 1;
    align(in, 0, bs->n_dims, bs->a);
    align(in, 1, bs->n_dims, bs->b);
    for (size_t i = 0; i < bs->n_dims; i++) {
        int64_t da = bs->a[i], db = bs->b[i];
        if (da != db && da != 1 && db != 1)
            return k->host->fail(EMBER_E_INVALID_MODEL,
                                 "node '%s' (%s): inputs do not broadcast: aligned dim %zu is "
                                 "%lld in A and %lld in B",
                                 k->name, k->op, i, (long long)da, (long long)db);
        bs->out[i] = da == 1 ? db : da;
    }
    return EMBER_OK;
}

static bool is_broadcast(const int64_t *dims, const int64_t *out, size_t n_dims)
{
    return memcmp(dims, out, n_dims * sizeof *dims) != 0;
}

/* The input that runs as src0: A, or B when only A needs broadcasting and
 * the op commutes. */
static size_t pick_src0(const onednn_kernel *k, const binary_shapes *bs)
{
    const binary_params *p = k->params;
    bool a_broadcast = is_broadcast(bs->a, bs->out, bs->n_dims);
    bool b_broadcast = is_broadcast(bs->b, bs->out, bs->n_dims);
    return a_broadcast && !b_broadcast && p->is_commutative ? 1 : 0;
}

/* src0 as oneDNN reads it: dense, or with stride 0 where it broadcasts. */
static ember_status src0_md(const onednn_kernel *k, const onednn_shapes *in, size_t i0,
                            const binary_shapes *bs, const int64_t *d0, dnnl_memory_desc_t *md)
{
    if (!is_broadcast(d0, bs->out, bs->n_dims)) {
        if (in->layout[i0] != NULL && bs->rank == in->rank[i0])
            return onednn_md_input(k, in, i0, md);
        return onednn_md_plain(k, md, d0, bs->n_dims);
    }
    dnnl_dims_t dims, strides;
    int64_t stride = 1;
    for (size_t i = bs->n_dims; i-- > 0;) {
        dims[i] = bs->out[i];
        strides[i] = d0[i] == 1 ? 0 : stride;
        stride *= d0[i];
    }
    return onednn_check(k,
                        dnnl_memory_desc_init_by_strides(md, (int)bs->n_dims, dims, k->dt,
                                                         strides),
                        "a broadcast view");
}

/* src1: in src0's blocked layout when both are kept in it, else dense. */
static ember_status src1_md(const onednn_kernel *k, const onednn_shapes *in, size_t i1,
                            const binary_shapes *bs, const int64_t *d1,
                            const dnnl_memory_desc_t *md0, dnnl_memory_desc_t *md)
{
    if (in->layout[i1] != NULL && bs->rank == in->rank[i1] &&
        !is_broadcast(d1, bs->out, bs->n_dims) && dnnl_memory_desc_equal(in->layout[i1], md0))
        return onednn_md_input(k, in, i1, md);
    return onednn_md_plain(k, md, d1, bs->n_dims);
}

/* Descriptors, primitive descriptor and arguments for src0 = input i0. */
static ember_status binary_primitive(const onednn_kernel *k, const onednn_shapes *in,
                                     onednn_plan *plan, const binary_shapes *bs, size_t i0)
{
    const binary_params *p = k->params;
    const int64_t *d0 = i0 == 0 ? bs->a : bs->b, *d1 = i0 == 0 ? bs->b : bs->a;
    dnnl_memory_desc_t md0, md1, md_out, user_out;
    dnnl_binary_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    ember_status s = src0_md(k, in, i0, bs, d0, &md0);
    if (s == EMBER_OK)
        s = src1_md(k, in, 1 - i0, bs, d1, &md0, &md1);
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &user_out, bs->out, bs->n_dims);
    /* A blocked src0 gives a blocked destination (oneDNN's choice). */
    if (s == EMBER_OK && in->layout[i0] != NULL && dnnl_memory_desc_equal(&md0, in->layout[i0]))
        s = onednn_md_any(k, &md_out, bs->out, bs->n_dims);
    else
        md_out = user_out;
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_binary_desc_init(&desc, p->alg, &md0, &md1, &md_out),
                         "the binary");
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC_0, i0, &md0, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC_1, 1 - i0, &md1, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &user_out,
                               onednn_pd_md(pd, dnnl_query_dst_md, 0));
    return onednn_plan_finish(k, plan, s, pd, attr);
}

static ember_status binary_build(const onednn_kernel *k, const onednn_shapes *in,
                                 onednn_plan *plan)
{
    binary_shapes bs;
    size_t src0 = 0;
    if (!in->present[0] || !in->present[1])
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (%s): needs inputs A and B",
                             k->name, k->op);
    ember_status s = broadcast(k, in, &bs);
    if (s != EMBER_OK)
        return s;
    src0 = pick_src0(k, &bs);
    onednn_plan_shape(plan, 0, bs.out, bs.rank);
    /* An empty output is never computed (the runner stops after
     * allocating it), so it needs no primitive. */
    if (numel(bs.out, bs.n_dims) == 0)
        return EMBER_OK;
    return binary_primitive(k, in, plan, &bs, src0);
}

ember_status onednn_create_binary(onednn_kernel *k, const ember_node *node)
{
    ember_status s = onednn_params(k, sizeof(binary_params));
    binary_params *p = k->params;
    if (s != EMBER_OK)
        return s;
    k->build = binary_build;
    if (strcmp(k->op, "Add") == 0)
        p->alg = dnnl_binary_add;
    else if (strcmp(k->op, "Sub") == 0)
        p->alg = dnnl_binary_sub;
    else if (strcmp(k->op, "Mul") == 0)
        p->alg = dnnl_binary_mul;
    else /* Div */
        p->alg = dnnl_binary_div;
    p->is_commutative = p->alg == dnnl_binary_add || p->alg == dnnl_binary_mul;
    return EMBER_OK;
}

/* ---- Erf --------------------------------------------------------------- */

bool onednn_check_erf(const ember_host_api *host, const ember_node *node)
{
    return host->node_input_count(node) == 1 && host->node_input_present(node, 0) &&
           onednn_input_f32(host, node, 0, 0, ONEDNN_MAX_RANK);
}

/* The output, a copy of the input, becomes erf of it. */
static void erf_finish(const onednn_kernel *k, const onednn_plan *plan,
                       ember_tensor *const *outputs)
{
    float *y = outputs[0]->data;
    int64_t n = numel(plan->out_dims[0], plan->out_rank[0]);
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t i = 0; i < n; i++)
        y[i] = erff(y[i]);
}

/* The copy: a reorder between two identical flat layouts. */
static ember_status erf_build(const onednn_kernel *k, const onednn_shapes *in,
                              onednn_plan *plan)
{
    int64_t n = numel(in->dims[0], in->rank[0]);
    dnnl_memory_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_engine_t engine = k->provider->engine;
    onednn_plan_shape(plan, 0, in->dims[0], in->rank[0]);
    if (n == 0) /* never run, as for an empty binary output */
        return EMBER_OK;
    ember_status s = onednn_md_plain(k, &md, &n, 1);
    if (s == EMBER_OK)
        s = onednn_attr_create(k, &attr);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_reorder_primitive_desc_create(&pd, &md, engine, &md, engine,
                                                               attr),
                         "the copy");
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_FROM, 0, &md, NULL);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_TO, 0, &md, NULL);
    return onednn_plan_finish(k, plan, s, pd, attr);
}

ember_status onednn_create_erf(onednn_kernel *k, const ember_node *node)
{
    k->build = erf_build;
    k->finish = erf_finish;
    return EMBER_OK;
}
