/*
 * Conv of the CUDA provider through cuDNN (1-D as 2-D with a height of
 * one; groups, depthwise included). The algorithm is picked once per input
 * shape, by timing (cudnnFind, the default) or by cuDNN's heuristics, and
 * cached in the kernel. A bias goes through
 * cudnnConvolutionBiasActivationForward with an identity activation where
 * cuDNN allows it (float32, IMPLICIT_PRECOMP_GEMM), else through
 * cudnnAddTensor after the convolution. cuDNN pads symmetrically only, so
 * asymmetric padding is declined at claim time.
 */
#include "cuda_provider.h"

#include <limits.h>
#include <string.h>

/* The most workspace an algorithm may ask for. */
#define WORKSPACE_LIMIT ((size_t)512 << 20)
/* Input shapes whose algorithm a kernel remembers. */
#define N_PLANS 8

enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

typedef struct conv_algo {
    int64_t x_dims[4], w_dims[4];
    cudnnConvolutionFwdAlgo_t algo;
    size_t workspace;
} conv_algo;

typedef struct conv_params {
    int auto_pad;
    int64_t group;
    int64_t strides[2], dilations[2], pads[4]; /* [h, w]; pads: h begin, w begin, h end, w end */
    size_t n_spatial;                          /* from the attributes; 0 when they say nothing */
    /* Set up on the first run, under the instance's run_lock. */
    bool has_descs;
    cudnnTensorDescriptor_t x_desc, y_desc, b_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    cudnnActivationDescriptor_t act_desc;
    conv_algo algos[N_PLANS];
    size_t n_algos, next_algo;
} conv_params;

/* The resolved geometry of one run, all as 2-D. */
typedef struct conv_geom {
    int64_t x[4], w[4], y[4]; /* NCHW, MCkk, NMHW */
    int64_t pad[2], stride[2], dilation[2];
} conv_geom;

/* ---- attributes -------------------------------------------------------------------------- */

static ember_status read_auto_pad(cuda_kernel *k, const ember_node *node, int *out)
{
    char s[16];
    CUDA_TRY(cuda_attr_string(k, node, "auto_pad", "NOTSET", s, sizeof s));
    static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return EMBER_OK;
        }
    return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (Conv): auto_pad '%s' is unknown",
                         k->name, s);
}

/* Right-aligns a 1-D attribute into the [h, w] layout. */
static void to_2d(int64_t *v, size_t n, int64_t fill)
{
    if (n == 1) {
        v[1] = v[0];
        v[0] = fill;
    } else if (n == 0) {
        v[0] = v[1] = fill;
    }
}

static ember_status read_window(cuda_kernel *k, const ember_node *node, conv_params *p,
                                int64_t *kernel, size_t *n_kernel)
{
    size_t n_strides, n_dilations, n_pads;
    int64_t pads[4];
    CUDA_TRY(cuda_attr_ints(k, node, "kernel_shape", kernel, 2, n_kernel));
    CUDA_TRY(cuda_attr_ints(k, node, "strides", p->strides, 2, &n_strides));
    CUDA_TRY(cuda_attr_ints(k, node, "dilations", p->dilations, 2, &n_dilations));
    CUDA_TRY(cuda_attr_ints(k, node, "pads", pads, 4, &n_pads));
    p->n_spatial = *n_kernel ? *n_kernel : (n_strides ? n_strides : n_dilations);
    if (n_pads && n_pads != 2 * p->n_spatial)
        return k->host->fail(EMBER_E_INVALID_MODEL, "node '%s' (Conv): pads has %zu values",
                             k->name, n_pads);
    if (n_pads == 2) {
        p->pads[1] = pads[0];
        p->pads[3] = pads[1];
    } else if (n_pads == 4) {
        memcpy(p->pads, pads, sizeof pads);
    }
    to_2d(p->strides, n_strides, 1);
    to_2d(p->dilations, n_dilations, 1);
    to_2d(kernel, *n_kernel, 1);
    return EMBER_OK;
}

/* cuDNN pads both sides alike: decline what it cannot do. With SAME_*
 * the padding is symmetric for stride 1 and an odd dilated kernel. */
static ember_status check_symmetric(cuda_kernel *k, const ember_node *node, const conv_params *p,
                                    int64_t *kernel, size_t n_kernel)
{
    bool ok = true;
    if (p->auto_pad == PAD_NOTSET)
        ok = p->pads[0] == p->pads[2] && p->pads[1] == p->pads[3];
    if (p->auto_pad == PAD_SAME_UPPER || p->auto_pad == PAD_SAME_LOWER) {
        ember_type_info w;
        if (n_kernel == 0 && k->host->node_input_type(node, 1, &w) && w.rank >= 3) {
            kernel[1] = w.dims[w.rank - 1];
            kernel[0] = w.rank == 4 ? w.dims[2] : 1;
            n_kernel = (size_t)w.rank - 2;
        }
        for (int d = 0; d < 2; d++)
            ok = ok && n_kernel > 0 && kernel[d] > 0 && p->strides[d] == 1 &&
                 (p->dilations[d] * (kernel[d] - 1)) % 2 == 0;
    }
    if (!ok)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (Conv): asymmetric padding is not supported by cuDNN",
                             k->name);
    return EMBER_OK;
}

static ember_status run_conv(cuda_kernel *k, ember_kernel_context *ctx);

static void release_conv(cuda_kernel *k)
{
    conv_params *p = k->params;
    if (p == NULL || !p->has_descs)
        return;
    if (p->x_desc)
        cudnnDestroyTensorDescriptor(p->x_desc);
    if (p->y_desc)
        cudnnDestroyTensorDescriptor(p->y_desc);
    if (p->b_desc)
        cudnnDestroyTensorDescriptor(p->b_desc);
    if (p->w_desc)
        cudnnDestroyFilterDescriptor(p->w_desc);
    if (p->conv_desc)
        cudnnDestroyConvolutionDescriptor(p->conv_desc);
    if (p->act_desc)
        cudnnDestroyActivationDescriptor(p->act_desc);
}

static ember_status create_conv(cuda_kernel *k, const ember_node *node)
{
    int64_t kernel[2] = {0, 0};
    size_t n_kernel;
    CUDA_TRY(cuda_params(k, sizeof(conv_params)));
    conv_params *p = k->params;
    k->release = release_conv;
    CUDA_TRY(read_auto_pad(k, node, &p->auto_pad));
    CUDA_TRY(cuda_attr_int(k, node, "group", 1, &p->group));
    CUDA_TRY(read_window(k, node, p, kernel, &n_kernel));
    CUDA_TRY(check_symmetric(k, node, p, kernel, n_kernel));
    ember_type_info x;
    if (!k->host->node_input_type(node, 0, &x) || (x.rank != 3 && x.rank != 4) ||
        (p->n_spatial && p->n_spatial != (size_t)x.rank - 2) || p->group < 1)
        return k->host->fail(EMBER_E_NOT_IMPLEMENTED,
                             "node '%s' (Conv): only 1-D and 2-D convolutions run on CUDA",
                             k->name);
    k->run = run_conv;
    return EMBER_OK;
}

/* ---- geometry ---------------------------------------------------------------------------- */

static int64_t same_total_pad(int64_t in, int64_t k, int64_t s, int64_t d)
{
    int64_t out = (in + s - 1) / s, need = (out - 1) * s + (k - 1) * d + 1 - in;
    return need > 0 ? need : 0;
}

static ember_status resolve(cuda_kernel *k, const ember_tensor *x, const ember_tensor *w,
                            conv_geom *g)
{
    const conv_params *p = k->params;
    if (x->rank != w->rank || (x->rank != 3 && x->rank != 4))
        return cuda_fail_shape(k, 1, w, "the weight's rank does not match the input's");
    bool is_1d = x->rank == 3;
    int64_t x4[4] = {x->dims[0], x->dims[1], is_1d ? 1 : x->dims[2], x->dims[x->rank - 1]};
    int64_t w4[4] = {w->dims[0], w->dims[1], is_1d ? 1 : w->dims[2], w->dims[w->rank - 1]};
    memcpy(g->x, x4, sizeof x4);
    memcpy(g->w, w4, sizeof w4);
    if (w4[1] * p->group != x4[1] || w4[0] % p->group != 0)
        return cuda_fail_shape(k, 1, w, "the channels do not match the input and group");
    for (int d = 0; d < 2; d++) {
        int64_t in = x4[2 + d], kk = w4[2 + d], s = p->strides[d], dil = p->dilations[d];
        int64_t pad = p->auto_pad == PAD_NOTSET ? p->pads[d] : 0;
        if (p->auto_pad == PAD_SAME_UPPER || p->auto_pad == PAD_SAME_LOWER) {
            int64_t total = same_total_pad(in, kk, s, dil);
            if (total % 2 != 0)
                return cuda_fail_shape(k, 0, x, "SAME padding would be asymmetric");
            pad = total / 2;
        }
        int64_t out = (in + 2 * pad - dil * (kk - 1) - 1) / s + 1;
        if (s < 1 || dil < 1 || out < 1)
            return cuda_fail_shape(k, 0, x, "the window does not fit");
        g->pad[d] = pad;
        g->stride[d] = s;
        g->dilation[d] = dil;
        g->y[2 + d] = out;
    }
    g->y[0] = x4[0];
    g->y[1] = w4[0];
    for (int i = 0; i < 4; i++)
        if (g->x[i] > INT_MAX || g->w[i] > INT_MAX || g->y[i] > INT_MAX)
            return cuda_fail_shape(k, 0, x, "a dim is above 2^31");
    return EMBER_OK;
}

/* ---- descriptors and algorithms ------------------------------------------------------------ */

static ember_status create_descs(cuda_kernel *k, conv_params *p)
{
    if (p->has_descs)
        return EMBER_OK;
    cudnnStatus_t st = cudnnCreateTensorDescriptor(&p->x_desc);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnCreateTensorDescriptor(&p->y_desc);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnCreateTensorDescriptor(&p->b_desc);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnCreateFilterDescriptor(&p->w_desc);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnCreateConvolutionDescriptor(&p->conv_desc);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnCreateActivationDescriptor(&p->act_desc);
    p->has_descs = true; /* release destroys whatever was created */
    return cuda_check_cudnn(k, st, "creating cuDNN descriptors");
}

static ember_status set_descs(cuda_kernel *k, conv_params *p, const conv_geom *g,
                              uint32_t dtype)
{
    cudnnDataType_t t = dtype == EMBER_DTYPE_FLOAT16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    cudnnMathType_t math = dtype == EMBER_DTYPE_FLOAT16 ? CUDNN_TENSOR_OP_MATH
                           : k->prov->use_tf32          ? CUDNN_DEFAULT_MATH
                                                        : CUDNN_FMA_MATH;
    cudnnStatus_t st = cudnnSetTensor4dDescriptor(p->x_desc, CUDNN_TENSOR_NCHW, t, (int)g->x[0],
                                                  (int)g->x[1], (int)g->x[2], (int)g->x[3]);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnSetTensor4dDescriptor(p->y_desc, CUDNN_TENSOR_NCHW, t, (int)g->y[0],
                                        (int)g->y[1], (int)g->y[2], (int)g->y[3]);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnSetTensor4dDescriptor(p->b_desc, CUDNN_TENSOR_NCHW, t, 1, (int)g->y[1], 1, 1);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnSetFilter4dDescriptor(p->w_desc, t, CUDNN_TENSOR_NCHW, (int)g->w[0],
                                        (int)g->w[1], (int)g->w[2], (int)g->w[3]);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnSetConvolution2dDescriptor(p->conv_desc, (int)g->pad[0], (int)g->pad[1],
                                             (int)g->stride[0], (int)g->stride[1],
                                             (int)g->dilation[0], (int)g->dilation[1],
                                             CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnSetConvolutionGroupCount(p->conv_desc, (int)p->group);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnSetConvolutionMathType(p->conv_desc, math);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnSetActivationDescriptor(p->act_desc, CUDNN_ACTIVATION_IDENTITY,
                                          CUDNN_NOT_PROPAGATE_NAN, 0.0);
    return cuda_check_cudnn(k, st, "setting cuDNN descriptors");
}

/* The first usable result of a cudnnGet/cudnnFind list. */
static bool pick(const cudnnConvolutionFwdAlgoPerf_t *perf, int n, conv_algo *out)
{
    for (int i = 0; i < n; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= WORKSPACE_LIMIT) {
            out->algo = perf[i].algo;
            out->workspace = perf[i].memory;
            return true;
        }
    return false;
}

/* cudnnFind: times the algorithms on the real buffers (y is overwritten
 * by the run that follows). */
static bool find_timed(cuda_kernel *k, conv_params *p, ember_kernel_context *ctx,
                       const void *x, const void *w, void *y, conv_algo *out)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    void *workspace = NULL;
    if (cuda_scratch(k, WORKSPACE_LIMIT, &workspace) != EMBER_OK)
        return false;
    cudnnStatus_t st = cudnnFindConvolutionForwardAlgorithmEx(
        k->prov->cudnn, p->x_desc, x, p->w_desc, w, p->conv_desc, p->y_desc, y,
        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf, workspace, WORKSPACE_LIMIT);
    return st == CUDNN_STATUS_SUCCESS && pick(perf, n, out);
}

static ember_status choose_algo(cuda_kernel *k, conv_params *p, ember_kernel_context *ctx,
                                const conv_geom *g, const void *x, const void *w, void *y,
                                conv_algo **out)
{
    for (size_t i = 0; i < p->n_algos; i++)
        if (memcmp(p->algos[i].x_dims, g->x, sizeof g->x) == 0 &&
            memcmp(p->algos[i].w_dims, g->w, sizeof g->w) == 0) {
            *out = &p->algos[i];
            return EMBER_OK;
        }
    conv_algo a;
    memcpy(a.x_dims, g->x, sizeof g->x);
    memcpy(a.w_dims, g->w, sizeof g->w);
    if (!k->prov->conv_exhaustive || !find_timed(k, p, ctx, x, w, y, &a)) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int n = 0;
        CUDA_TRY(cuda_check_cudnn(k,
                                  cudnnGetConvolutionForwardAlgorithm_v7(
                                      k->prov->cudnn, p->x_desc, p->w_desc, p->conv_desc,
                                      p->y_desc, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
                                  "cudnnGetConvolutionForwardAlgorithm_v7"));
        if (!pick(perf, n, &a))
            return k->host->fail(EMBER_E_DEVICE,
                                 "node '%s' (Conv): cuDNN has no algorithm for this shape "
                                 "within %zu MiB of workspace",
                                 k->name, WORKSPACE_LIMIT >> 20);
    }
    size_t slot = p->n_algos < N_PLANS ? p->n_algos++ : p->next_algo++ % N_PLANS;
    p->algos[slot] = a;
    *out = &p->algos[slot];
    return EMBER_OK;
}

/* ---- run ------------------------------------------------------------------------------------- */

static ember_status convolve(cuda_kernel *k, conv_params *p, const conv_algo *a,
                             const ember_tensor *x, const ember_tensor *w,
                             const ember_tensor *b, ember_tensor *y, void *workspace)
{
    const float one = 1.0f, zero = 0.0f;
    cudnnHandle_t h = k->prov->cudnn;
    if (b != NULL && x->dtype == EMBER_DTYPE_FLOAT32 &&
        a->algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
        return cuda_check_cudnn(
            k,
            cudnnConvolutionBiasActivationForward(h, &one, p->x_desc, x->data, p->w_desc,
                                                  w->data, p->conv_desc, a->algo, workspace,
                                                  a->workspace, &zero, p->y_desc, y->data,
                                                  p->b_desc, b->data, p->act_desc, p->y_desc,
                                                  y->data),
            "cudnnConvolutionBiasActivationForward");
    CUDA_TRY(cuda_check_cudnn(k,
                              cudnnConvolutionForward(h, &one, p->x_desc, x->data, p->w_desc,
                                                      w->data, p->conv_desc, a->algo, workspace,
                                                      a->workspace, &zero, p->y_desc, y->data),
                              "cudnnConvolutionForward"));
    if (b == NULL)
        return EMBER_OK;
    return cuda_check_cudnn(
        k, cudnnAddTensor(h, &one, p->b_desc, b->data, &one, p->y_desc, y->data),
        "cudnnAddTensor (bias)");
}

static ember_status run_conv(cuda_kernel *k, ember_kernel_context *ctx)
{
    conv_params *p = k->params;
    const ember_tensor *x, *w, *b = NULL;
    ember_tensor *y;
    conv_geom g;
    conv_algo *a = NULL;
    void *workspace = NULL;
    CUDA_TRY(cuda_input(k, ctx, 0, &x));
    CUDA_TRY(cuda_input(k, ctx, 1, &w));
    if (k->host->ctx_input_count(ctx) > 2)
        b = k->host->ctx_input(ctx, 2);
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype) ||
        (x->dtype != EMBER_DTYPE_FLOAT32 && x->dtype != EMBER_DTYPE_FLOAT16))
        return cuda_fail_dtype(k, 1, w->dtype);
    CUDA_TRY(resolve(k, x, w, &g));
    int64_t y_dims[4] = {g.y[0], g.y[1], g.y[2], g.y[3]};
    if (x->rank == 3)
        y_dims[2] = g.y[3];
    CUDA_TRY(cuda_output(k, ctx, 0, x->dtype, y_dims, x->rank, &y));
    if (cuda_numel(y_dims, x->rank) == 0)
        return EMBER_OK;
    CUDA_TRY(create_descs(k, p));
    CUDA_TRY(set_descs(k, p, &g, x->dtype));
    CUDA_TRY(choose_algo(k, p, ctx, &g, x->data, w->data, y->data, &a));
    if (a->workspace > 0)
        CUDA_TRY(cuda_scratch(k, a->workspace, &workspace));
    return convolve(k, p, a, x, w, b, y, workspace);
}

static bool check_conv(const ember_host_api *host, const ember_node *node)
{
    return cuda_check_float(host, node);
}

const cuda_op_entry cuda_ops_conv[] = {
    {"Conv", 1, CUDA_OPSET_MAX, check_conv, create_conv},
    {NULL, 0, 0, NULL, NULL},
};
