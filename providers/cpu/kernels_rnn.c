/*
 * Recurrent networks and attention: Attention (opset 23+), RotaryEmbedding,
 * SwiGLU, RNN, GRU, LSTM, LinearAttention and CausalConvWithState. The
 * kernels are small-batch reference kernels: every input is read into a
 * double scratch copy, the arithmetic runs in double (rounded back to the
 * input type where the spec casts), and the results are written back in
 * the input's type. Parts of the family live in kernels_rnn_*.inc.
 */
#include "cpu_kernel.h"

#include <cblas.h>
#include <math.h>

/* ---- shared helpers ---------------------------------------------------- */

static bool rnn_is_float(uint32_t dtype)
{
    return (CPU_DT(dtype) & CPU_DT_FLOATS) != 0;
}

/* Element i of t (a float, bool or int tensor) as double. */
static double rnn_get(const ember_tensor *t, size_t i)
{
    switch (t->dtype) {
    case EMBER_DTYPE_FLOAT32: return ((const float *)t->data)[i];
    case EMBER_DTYPE_FLOAT64: return ((const double *)t->data)[i];
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(((const uint16_t *)t->data)[i]);
    case EMBER_DTYPE_BFLOAT16: return cpu_bf16_to_f32(((const uint16_t *)t->data)[i]);
    case EMBER_DTYPE_BOOL: return ((const uint8_t *)t->data)[i] != 0;
    case EMBER_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    case EMBER_DTYPE_INT64: return (double)((const int64_t *)t->data)[i];
    default: return 0.0;
    }
}

/* Rounds v to the precision of a float dtype. */
static double rnn_round(uint32_t dtype, double v)
{
    switch (dtype) {
    case EMBER_DTYPE_FLOAT32: return (float)v;
    case EMBER_DTYPE_FLOAT16: return cpu_f16_to_f32(cpu_f32_to_f16((float)v));
    case EMBER_DTYPE_BFLOAT16: return cpu_bf16_to_f32(cpu_f32_to_bf16((float)v));
    default: return v;
    }
}

static void rnn_put(const ember_tensor *t, size_t i, double v)
{
    switch (t->dtype) {
    case EMBER_DTYPE_FLOAT32: ((float *)t->data)[i] = (float)v; break;
    case EMBER_DTYPE_FLOAT64: ((double *)t->data)[i] = v; break;
    case EMBER_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = cpu_f32_to_f16((float)v); break;
    case EMBER_DTYPE_BFLOAT16: ((uint16_t *)t->data)[i] = cpu_f32_to_bf16((float)v); break;
    default: break;
    }
}

/* Scratch array of n doubles (zeroed). */
static ember_status rnn_alloc(ember_kernel_context *ctx, const cpu_kernel *k, size_t n,
                              double **out)
{
    ember_status s = k->host->ctx_scratch(ctx, n * sizeof(double) + 8, (void **)out);
    if (s == EMBER_OK)
        memset(*out, 0, n * sizeof(double) + 8);
    return s;
}

/* Scratch double copy of tensor t. */
static ember_status rnn_load(ember_kernel_context *ctx, const cpu_kernel *k,
                             const ember_tensor *t, double **out)
{
    size_t n = cpu_tensor_numel(t);
    ember_status s = rnn_alloc(ctx, k, n, out);
    if (s != EMBER_OK)
        return s;
    for (size_t i = 0; i < n; i++)
        (*out)[i] = rnn_get(t, i);
    return EMBER_OK;
}

/* Optional input: *t is NULL when absent. */
static const ember_tensor *rnn_opt_input(const cpu_kernel *k, ember_kernel_context *ctx,
                                         size_t index)
{
    if (index >= k->host->ctx_input_count(ctx))
        return NULL;
    return k->host->ctx_input(ctx, index);
}

/* Whether the node asks for output `index`. */
static bool rnn_wants_output(const ember_host_api *host, const ember_node *node, size_t index)
{
    ember_type_info info;
    return host->node_output_count(node) > index && host->node_output_type(node, index, &info);
}

/* Allocates output `index` of dtype and writes src (n doubles) into it. */
static ember_status rnn_store(const cpu_kernel *k, ember_kernel_context *ctx, size_t index,
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

static ember_status rnn_check_float_input(const cpu_kernel *k, size_t index,
                                          const ember_tensor *t)
{
    if (!rnn_is_float(t->dtype))
        return cpu_fail_dtype(k, index, t->dtype);
    return EMBER_OK;
}

static double rnn_sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

#include "kernels_rnn_attention.inc"
#include "kernels_rnn_recurrent.inc"
#include "kernels_rnn_misc.inc"

const cpu_op_entry cpu_ops_rnn[] = {
    {"Attention", 23, CPU_OPSET_MAX, cpu_check_float, attn_create},
    {"RotaryEmbedding", 23, CPU_OPSET_MAX, cpu_check_float, rope_create},
    {"SwiGLU", 28, CPU_OPSET_MAX, cpu_check_float, swiglu_create},
    {"RNN", 1, CPU_OPSET_MAX, cpu_check_float, rec_create},
    {"GRU", 1, CPU_OPSET_MAX, cpu_check_float, rec_create},
    {"LSTM", 1, CPU_OPSET_MAX, cpu_check_float, rec_create},
    {"LinearAttention", 27, CPU_OPSET_MAX, cpu_check_float, linattn_create},
    {"CausalConvWithState", 27, CPU_OPSET_MAX, cpu_check_float, ccws_create},
    {NULL, 0, 0, NULL, NULL},
};
