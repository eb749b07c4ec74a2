/*
 * Recurrent networks and attention: Attention (opset 23+), RotaryEmbedding,
 * SwiGLU, RNN, GRU, LSTM, LinearAttention and CausalConvWithState. The
 * kernels are small-batch reference kernels: every input is read into a
 * double scratch copy, the arithmetic runs in double (rounded back to the
 * input type where the spec casts), and the results are written back in
 * the input's type. This file holds the shared helpers
 * (kernels_rnn.h) and the registration table; the kernels live in
 * kernels_rnn_attention.c, kernels_rnn_recurrent.c and kernels_rnn_misc.c.
 */
#include "kernels_rnn.h"

#include <cblas.h>
#include <math.h>

/* ---- shared helpers ---------------------------------------------------- */

static bool rnn_is_float(uint32_t dtype)
{
    return (CPU_DT(dtype) & CPU_DT_FLOATS) != 0;
}

ember_status cpu_rnn_alloc(ember_kernel_context *ctx, const cpu_kernel *k, size_t n,
                           double **out)
{
    ember_status s = k->host->ctx_scratch(ctx, n * sizeof(double) + 8, (void **)out);
    if (s == EMBER_OK)
        memset(*out, 0, n * sizeof(double) + 8);
    return s;
}

ember_status cpu_rnn_load(ember_kernel_context *ctx, const cpu_kernel *k,
                          const ember_tensor *t, double **out)
{
    size_t n = cpu_tensor_numel(t);
    ember_status s = cpu_rnn_alloc(ctx, k, n, out);
    if (s != EMBER_OK)
        return s;
    for (size_t i = 0; i < n; i++)
        (*out)[i] = cpu_get_f64(t->data, t->dtype, i);
    return EMBER_OK;
}

bool cpu_rnn_wants_output(const ember_host_api *host, const ember_node *node, size_t index)
{
    ember_type_info info;
    return host->node_output_count(node) > index && host->node_output_type(node, index, &info);
}

ember_status cpu_rnn_store(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
                           uint32_t dtype, const int64_t *dims, size_t rank,
                           const double *src)
{
    ember_tensor *t;
    ember_status s = cpu_output(k, ctx, index, dtype, dims, rank, &t);
    if (s != EMBER_OK)
        return s;
    size_t n = cpu_numel(dims, rank);
    for (size_t i = 0; i < n; i++)
        rnn_put(t, i, src[i]);
    return EMBER_OK;
}

ember_status cpu_rnn_check_float_input(const cpu_kernel *k, size_t index,
                                       const ember_tensor *t)
{
    if (!rnn_is_float(t->dtype))
        return cpu_fail_dtype(k, index, t->dtype);
    return EMBER_OK;
}

const cpu_op_entry cpu_ops_rnn[] = {
    {"Attention", 23, CPU_OPSET_MAX, cpu_check_float, cpu_attn_create},
    {"RotaryEmbedding", 23, CPU_OPSET_MAX, cpu_check_float, cpu_rope_create},
    {"SwiGLU", 28, CPU_OPSET_MAX, cpu_check_float, cpu_swiglu_create},
    {"RNN", 1, CPU_OPSET_MAX, cpu_check_float, cpu_rec_create},
    {"GRU", 1, CPU_OPSET_MAX, cpu_check_float, cpu_rec_create},
    {"LSTM", 1, CPU_OPSET_MAX, cpu_check_float, cpu_rec_create},
    {"LinearAttention", 27, CPU_OPSET_MAX, cpu_check_float, cpu_linattn_create},
    {"CausalConvWithState", 27, CPU_OPSET_MAX, cpu_check_float, cpu_ccws_create},
    {NULL, 0, 0, NULL, NULL},
};
