/*
 * Winograd convolution, F(4x4, 3x3) and F(2x2, 3x3), for the 3x3 stride-1
 * convolutions that dominate CNNs (ResNet's bottlenecks). oneDNN 2.6 has
 * no Winograd implementation for current CPUs, so the provider does the
 * transforms itself and leaves the multiplications to one batched oneDNN
 * matmul:
 *
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A
 *
 * per m x m output tile (m = 4 or 2), d the (m+2) x (m+2) input patch
 * under it, g the 3x3 filter. Per tile and channel pair that is 36
 * multiplications instead of 144 (F(4x4)), or 16 instead of 36 (F(2x2)).
 * Summed over input channels, the element-wise products at each of the P
 * = (m+2)^2 points become P matrix products  M[p] = V[p] x U[p]  with V[p]
 * [tiles, C] (transformed input), U[p] [C, K] (transformed weights,
 * computed once) and M[p] [tiles, K], run as one matmul with batch P.
 * Both transforms take 16 channels per AVX-512 vector from and to nhwc
 * tensors; the output transform also adds the bias and applies the
 * post-ops a group fused into the Conv (sum, then Relu, LeakyRelu or
 * Clip).
 *
 * U is P/9 times the size of the weights (4x for F(4x4)), and the matmul
 * streams it from memory once per run, so the larger tile pays only on
 * large images: F(4x4) from F4_MIN_TILES tiles up, else F(2x2) from
 * F2_MIN_TILES tiles up, else oneDNN's direct convolution (thresholds
 * measured on ResNet-50's layers: docs/onednn.md). Also required: float32,
 * 2-D, group 1, stride 1, no dilation, channel counts multiples of 16,
 * constant weights (and bias), an AVX-512 CPU, and the provider's
 * winograd option on. Results differ from direct convolution by rounding
 * only (relative error about 1e-5 per layer with the interpolation points
 * 0, +-1, +-2 and infinity).
 */
#include "onednn_kernel.h"

#include <immintrin.h>
#include <stdlib.h>

#define MAX_TILE 4
#define MAX_ALPHA 6  /* input patch edge: tile + 3 - 1 */
#define MAX_POINTS 36 /* alpha * alpha */
#define LANES 16     /* floats per AVX-512 vector */
#define F4_MIN_TILES 64
#define F2_MIN_TILES 32
#define MAX_SCRATCH ((size_t)256 << 20)

typedef struct winograd {
    onednn_custom base;
    int tile, alpha, points; /* F(tile x tile, 3x3) */
    int64_t n, c, k, h, w, oh, ow, pad_t, pad_l, tiles_h, tiles_w, tiles;
    size_t n_threads;
    onednn_fusion fusion;
    dnnl_primitive_t gemm;
    dnnl_memory_desc_t v_md, m_md, u_md, gemm_pad_md;
    dnnl_memory_t u; /* borrowed from the kernel's constant store */
    size_t v_bytes, m_bytes;
    float *bias; /* k floats, zeros without a bias */
} winograd;

/* ---- fits --------------------------------------------------------------- */

static bool fusion_fits(const onednn_fusion *f)
{
    return f->eltwise == dnnl_alg_kind_undef || f->eltwise == dnnl_eltwise_relu ||
           f->eltwise == dnnl_eltwise_clip_v2;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* The output tile edge for these shapes (0: no Winograd). */
static int choose_tile(const onednn_kernel *k, const onednn_shapes *in, const onednn_window *w)
{
    if (!k->provider->use_winograd || k->is_trial || k->dtype != EMBER_DTYPE_FLOAT32 ||
        in->rank[0] != 4 || w->rank != 2 || !__builtin_cpu_supports("avx512f"))
        return 0;
    const int64_t *x = in->dims[0], *wd = in->dims[1];
    bool has_bias = in->n > 2 && in->present[2];
    if (wd[2] != 3 || wd[3] != 3 || wd[1] != x[1] || in->data[1] == NULL ||
        (has_bias && in->data[2] == NULL) || x[1] % LANES != 0 || wd[0] % LANES != 0)
        return 0;
    for (size_t d = 0; d < 2; d++)
        if (w->strides[d] != 1 || w->dilates[d] != 0 || w->out[d] < 1)
            return 0;
    if (!fusion_fits(&k->fusion))
        return 0;
    for (int tile = MAX_TILE; tile >= 2; tile -= 2) {
        int64_t tiles = x[0] * ceil_div(w->out[0], tile) * ceil_div(w->out[1], tile);
        size_t points = (size_t)(tile + 2) * (size_t)(tile + 2);
        size_t scratch = (size_t)tiles * points * (size_t)(x[1] + wd[0]) * sizeof(float);
        if (tiles >= (tile == 4 ? F4_MIN_TILES : F2_MIN_TILES) && scratch <= MAX_SCRATCH)
            return tile;
    }
    return 0;
}

bool onednn_winograd_fits(const onednn_kernel *k, const onednn_shapes *in,
                          const onednn_window *w)
{
    return choose_tile(k, in, w) != 0;
}

/* ---- transforms ----------------------------------------------------------- */

#define AVX512 __attribute__((target("avx512f,fma")))
#define INLINE static inline __attribute__((always_inline))

/* B^T d over (tile + 2) vectors spaced `s` apart. */
INLINE AVX512 void input_1d(int tile, __m512 *o, const __m512 *d, int s)
{
    if (tile == 2) {
        __m512 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
        o[0] = _mm512_sub_ps(d0, d2);
        o[s] = _mm512_add_ps(d1, d2);
        o[2 * s] = _mm512_sub_ps(d2, d1);
        o[3 * s] = _mm512_sub_ps(d1, d3);
        return;
    }
    __m512 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    __m512 four = _mm512_set1_ps(4.f), five = _mm512_set1_ps(5.f), two = _mm512_set1_ps(2.f);
    o[0] = _mm512_fnmadd_ps(five, d2, _mm512_fmadd_ps(four, d0, d4));
    o[s] = _mm512_fnmadd_ps(four, _mm512_add_ps(d1, d2), _mm512_add_ps(d3, d4));
    o[2 * s] = _mm512_fmadd_ps(four, _mm512_sub_ps(d1, d2), _mm512_sub_ps(d4, d3));
    o[3 * s] = _mm512_fmadd_ps(two, _mm512_sub_ps(d3, d1), _mm512_sub_ps(d4, d2));
    o[4 * s] = _mm512_fmadd_ps(two, _mm512_sub_ps(d1, d3), _mm512_sub_ps(d4, d2));
    o[5 * s] = _mm512_fnmadd_ps(five, d3, _mm512_fmadd_ps(four, d1, d5));
}

/* A^T m: (tile + 2) vectors spaced `is` apart to `tile` spaced `os` apart. */
INLINE AVX512 void output_1d(int tile, __m512 *o, const __m512 *m, int is, int os)
{
    if (tile == 2) {
        o[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[is]), m[2 * is]);
        o[os] = _mm512_sub_ps(_mm512_sub_ps(m[is], m[2 * is]), m[3 * is]);
        return;
    }
    __m512 a = _mm512_add_ps(m[is], m[2 * is]), b = _mm512_sub_ps(m[is], m[2 * is]);
    __m512 c = _mm512_add_ps(m[3 * is], m[4 * is]), e = _mm512_sub_ps(m[3 * is], m[4 * is]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
    o[os] = _mm512_fmadd_ps(_mm512_set1_ps(2.f), e, b);
    o[2 * os] = _mm512_fmadd_ps(_mm512_set1_ps(4.f), c, a);
    o[3 * os] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.f), e, b), m[5 * is]);
}

/* V[p][t][c] = (B^T d B)[p] for every tile t and channel c of nhwc x. */
INLINE AVX512 void input_tiles(const winograd *g, int tile, const float *x, float *v)
{
    const int alpha = tile + 2, points = alpha * alpha;
    const int64_t per_image = g->tiles_h * g->tiles_w;
#pragma omp parallel for schedule(static) num_threads(g->n_threads) if (g->n_threads > 1)
    for (int64_t t = 0; t < g->tiles; t++) {
        int64_t n = t / per_image, ty = t % per_image / g->tiles_w, tx = t % g->tiles_w;
        int64_t y0 = ty * tile - g->pad_t, x0 = tx * tile - g->pad_l;
        bool inside = y0 >= 0 && x0 >= 0 && y0 + alpha <= g->h && x0 + alpha <= g->w;
        const float *image = x + n * g->h * g->w * g->c;
        for (int64_t c = 0; c < g->c; c += LANES) {
            __m512 d[MAX_POINTS], u[MAX_POINTS];
            for (int i = 0; i < alpha; i++) {
                int64_t y = y0 + i;
                for (int j = 0; j < alpha; j++) {
                    int64_t xx = x0 + j;
                    bool in = inside || (y >= 0 && y < g->h && xx >= 0 && xx < g->w);
                    d[i * alpha + j] = in ? _mm512_loadu_ps(image + (y * g->w + xx) * g->c + c)
                                          : _mm512_setzero_ps();
                }
            }
            for (int j = 0; j < alpha; j++)
                input_1d(tile, u + j, d + j, alpha);
            for (int i = 0; i < alpha; i++)
                input_1d(tile, d + i * alpha, u + i * alpha, 1);
            for (int p = 0; p < points; p++)
                _mm512_storeu_ps(v + (p * g->tiles + t) * g->c + c, d[p]);
        }
    }
}

static AVX512 void input_transform(const winograd *g, const float *x, float *v)
{
    if (g->tile == 4)
        input_tiles(g, 4, x, v);
    else
        input_tiles(g, 2, x, v);
}

/* The fused post-ops on one output vector: bias, sum, activation. */
INLINE AVX512 __m512 post_ops(const winograd *g, __m512 r, __m512 bias, const float *y)
{
    r = _mm512_add_ps(r, bias);
    if (g->fusion.sum)
        r = _mm512_add_ps(r, _mm512_loadu_ps(y));
    if (g->fusion.eltwise == dnnl_eltwise_relu && g->fusion.alpha == 0.f) {
        r = _mm512_max_ps(r, _mm512_setzero_ps());
    } else if (g->fusion.eltwise == dnnl_eltwise_relu) {
        __mmask16 negative = _mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_LT_OQ);
        r = _mm512_mask_mul_ps(r, negative, r, _mm512_set1_ps(g->fusion.alpha));
    } else if (g->fusion.eltwise == dnnl_eltwise_clip_v2) {
        r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(g->fusion.alpha)),
                          _mm512_set1_ps(g->fusion.beta));
    }
    return r;
}

/* y (nhwc) = post-ops of (A^T M A) for every tile and output channel. */
INLINE AVX512 void output_tiles(const winograd *g, int tile, const float *m, float *y)
{
    const int alpha = tile + 2, points = alpha * alpha;
    const int64_t per_image = g->tiles_h * g->tiles_w;
#pragma omp parallel for schedule(static) num_threads(g->n_threads) if (g->n_threads > 1)
    for (int64_t t = 0; t < g->tiles; t++) {
        int64_t n = t / per_image, ty = t % per_image / g->tiles_w, tx = t % g->tiles_w;
        int64_t rows = g->oh - ty * tile < tile ? g->oh - ty * tile : tile;
        int64_t cols = g->ow - tx * tile < tile ? g->ow - tx * tile : tile;
        float *image = y + n * g->oh * g->ow * g->k;
        for (int64_t c = 0; c < g->k; c += LANES) {
            __m512 in[MAX_POINTS], u[MAX_TILE * MAX_ALPHA], o[MAX_TILE * MAX_TILE];
            for (int p = 0; p < points; p++)
                in[p] = _mm512_loadu_ps(m + (p * g->tiles + t) * g->k + c);
            for (int j = 0; j < alpha; j++)
                output_1d(tile, u + j, in + j, alpha, alpha);
            for (int i = 0; i < tile; i++)
                output_1d(tile, o + i * tile, u + i * alpha, 1, 1);
            __m512 bias = _mm512_loadu_ps(g->bias + c);
            for (int64_t i = 0; i < rows; i++) {
                for (int64_t j = 0; j < cols; j++) {
                    float *at = image + ((ty * tile + i) * g->ow + tx * tile + j) * g->k + c;
                    _mm512_storeu_ps(at, post_ops(g, o[i * tile + j], bias, at));
                }
            }
        }
    }
}

static AVX512 void output_transform(const winograd *g, const float *m, float *y)
{
    if (g->tile == 4)
        output_tiles(g, 4, m, y);
    else
        output_tiles(g, 2, m, y);
}

/* G for F(4x4, 3x3) and F(2x2, 3x3). */
static const double G4[6][3] = {
    {1 / 4., 0, 0},           {-1 / 6., -1 / 6., -1 / 6.}, {-1 / 6., 1 / 6., -1 / 6.},
    {1 / 24., 1 / 12., 1 / 6.}, {1 / 24., -1 / 12., 1 / 6.}, {0, 0, 1},
};
static const double G2[4][3] = {{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};

/* U[p][c][k] = (G g G^T)[p] for the ONNX weights g [K, C, 3, 3], in
 * double before rounding once. */
static void weights_transform(const winograd *g, const float *weights, float *u)
{
    const double(*G)[3] = g->tile == 4 ? G4 : G2;
    const int alpha = g->alpha;
    for (int64_t k = 0; k < g->k; k++) {
        for (int64_t c = 0; c < g->c; c++) {
            const float *f = weights + (k * g->c + c) * 9;
            double t[MAX_ALPHA][3];
            for (int i = 0; i < alpha; i++)
                for (int j = 0; j < 3; j++)
                    t[i][j] = G[i][0] * f[j] + G[i][1] * f[3 + j] + G[i][2] * f[6 + j];
            for (int i = 0; i < alpha; i++)
                for (int j = 0; j < alpha; j++)
                    u[((i * alpha + j) * g->c + c) * g->k + k] =
                        (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
        }
    }
}

/* ---- running ------------------------------------------------------------ */

static ember_status memory(const onednn_kernel *k, const dnnl_memory_desc_t *md, void *data,
                           dnnl_memory_t *out)
{
    return onednn_check(k, dnnl_memory_create(out, md, k->provider->engine, data),
                        "a memory object");
}

static ember_status multiply(const onednn_kernel *k, const winograd *g, dnnl_stream_t stream,
                             float *v, float *m, char *pad)
{
    dnnl_memory_t mv = NULL, mm = NULL, mp = NULL;
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_WEIGHTS, g->u}};
    int n = 1;
    ember_status s = memory(k, &g->v_md, v, &mv);
    if (s == EMBER_OK) {
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mv};
        s = memory(k, &g->m_md, m, &mm);
    }
    if (s == EMBER_OK) {
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, mm};
        if (dnnl_memory_desc_get_size(&g->gemm_pad_md) > 0) {
            s = memory(k, &g->gemm_pad_md, pad, &mp);
            args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mp};
        }
    }
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_primitive_execute(g->gemm, stream, n, args), "to run");
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_stream_wait(stream), "to finish");
    dnnl_memory_destroy(mv);
    dnnl_memory_destroy(mm);
    dnnl_memory_destroy(mp);
    return s;
}

static ember_status winograd_run(const onednn_kernel *k, const onednn_custom *c,
                                 dnnl_stream_t stream, const dnnl_exec_arg_t *args, int n_args)
{
    const winograd *g = (const winograd *)c;
    void *src = NULL, *dst = NULL, *pad = NULL;
    for (int i = 0; i < n_args; i++) {
        void *data = NULL;
        dnnl_memory_get_data_handle(args[i].memory, &data);
        if (args[i].arg == DNNL_ARG_SRC)
            src = data;
        else if (args[i].arg == DNNL_ARG_DST)
            dst = data;
        else if (args[i].arg == DNNL_ARG_SCRATCHPAD)
            pad = data;
    }
    if (src == NULL || dst == NULL || pad == NULL)
        return k->host->fail(EMBER_E_INTERNAL, "node '%s' (Conv): Winograd run without memory",
                             k->name);
    float *v = pad, *m = (float *)((char *)pad + g->v_bytes);
    onednn_set_threads(g->n_threads);
    input_transform(g, src, v);
    ONEDNN_TRY(multiply(k, g, stream, v, m, (char *)pad + g->v_bytes + g->m_bytes));
    output_transform(g, m, dst);
    return EMBER_OK;
}

static void winograd_destroy(onednn_custom *c)
{
    winograd *g = (winograd *)c;
    dnnl_primitive_destroy(g->gemm);
    free(g->bias);
    free(g);
}

/* ---- building ----------------------------------------------------------- */

static ember_status md_3d(const onednn_kernel *k, dnnl_memory_desc_t *md, int64_t a, int64_t b,
                          int64_t c, dnnl_format_tag_t tag)
{
    dnnl_dims_t dims = {a, b, c};
    return onednn_check(k, dnnl_memory_desc_init_by_tag(md, 3, dims, dnnl_f32, tag),
                        "a Winograd descriptor");
}

/* The batched matmul and the transformed weights in its layout. */
static ember_status build_gemm(const onednn_kernel *k, const onednn_shapes *in,
                               const onednn_plan *plan, winograd *g)
{
    dnnl_memory_desc_t u_any;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    float *u = NULL;
    ember_status s = md_3d(k, &g->v_md, g->points, g->tiles, g->c, dnnl_abc);
    if (s == EMBER_OK)
        s = md_3d(k, &g->m_md, g->points, g->tiles, g->k, dnnl_abc);
    if (s == EMBER_OK)
        s = md_3d(k, &g->u_md, g->points, g->c, g->k, dnnl_abc);
    if (s == EMBER_OK)
        s = md_3d(k, &u_any, g->points, g->c, g->k, dnnl_format_tag_any);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_matmul_desc_init(&desc, &g->v_md, &u_any, NULL, &g->m_md),
                         "the Winograd matmul");
    if (s == EMBER_OK)
        s = onednn_attr_plain(k, &attr);
    if (s == EMBER_OK)
        s = onednn_pd_create(k, plan, &desc, attr, &pd);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_primitive_create(&g->gemm, pd), "the Winograd matmul");
    if (s == EMBER_OK) {
        g->gemm_pad_md = *onednn_pd_md(pd, dnnl_query_scratchpad_md, 0);
        u = malloc((size_t)g->points * (size_t)(g->c * g->k) * sizeof *u);
        if (u == NULL)
            s = k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (Conv): out of memory",
                              k->name);
    }
    if (s == EMBER_OK) {
        weights_transform(g, in->data[1], u);
        s = onednn_const_memory(k, 1, &g->u_md, onednn_pd_md(pd, dnnl_query_weights_md, 0), u,
                                &g->u);
    }
    free(u);
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    return s;
}

/* Source and destination arguments: nhwc, reordered from and to the
 * caller's nchw tensors outside groups. */
static ember_status build_args(const onednn_kernel *k, const onednn_shapes *in,
                               const int64_t *y_dims, onednn_plan *plan)
{
    dnnl_memory_desc_t user_src, src, user_dst, dst;
    ember_status s = onednn_md_plain(k, &user_src, in->dims[0], 4);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_memory_desc_init_by_tag(&src, 4, in->dims[0], dnnl_f32,
                                                         dnnl_nhwc),
                         "the source descriptor");
    if (s == EMBER_OK)
        s = onednn_md_plain(k, &user_dst, y_dims, 4);
    if (s == EMBER_OK)
        s = onednn_check(k, dnnl_memory_desc_init_by_tag(&dst, 4, y_dims, dnnl_f32, dnnl_nhwc),
                         "the destination descriptor");
    if (s == EMBER_OK)
        s = onednn_plan_input(k, in, plan, DNNL_ARG_SRC, 0, &user_src, &src);
    if (s == EMBER_OK)
        s = onednn_plan_output(k, plan, DNNL_ARG_DST, 0, &user_dst, &dst);
    return s;
}

ember_status onednn_winograd_build(const onednn_kernel *k, const onednn_shapes *in,
                                   const onednn_window *w, const int64_t *y_dims,
                                   onednn_plan *plan)
{
    winograd *g = calloc(1, sizeof *g);
    if (g == NULL)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (Conv): out of memory", k->name);
    g->base.run = winograd_run;
    g->base.destroy = winograd_destroy;
    plan->custom = &g->base;
    const int64_t *x = in->dims[0];
    g->n = x[0];
    g->c = x[1];
    g->h = x[2];
    g->w = x[3];
    g->k = in->dims[1][0];
    g->oh = w->out[0];
    g->ow = w->out[1];
    g->pad_t = w->pad_l[0];
    g->pad_l = w->pad_l[1];
    g->tile = choose_tile(k, in, w);
    g->alpha = g->tile + 2;
    g->points = g->alpha * g->alpha;
    g->tiles_h = ceil_div(g->oh, g->tile);
    g->tiles_w = ceil_div(g->ow, g->tile);
    g->tiles = g->n * g->tiles_h * g->tiles_w;
    g->n_threads = (size_t)plan->key[plan->n_key - 1];
    g->fusion = k->fusion;
    g->v_bytes = (size_t)(g->points * g->tiles * g->c) * sizeof(float);
    g->m_bytes = (size_t)(g->points * g->tiles * g->k) * sizeof(float);
    g->bias = calloc((size_t)g->k, sizeof *g->bias);
    if (g->bias == NULL)
        return k->host->fail(EMBER_E_OUT_OF_MEMORY, "node '%s' (Conv): out of memory", k->name);
    if (in->n > 2 && in->present[2])
        memcpy(g->bias, in->data[2], (size_t)g->k * sizeof *g->bias);
    onednn_plan_shape(plan, 0, y_dims, 4);
    ONEDNN_TRY(build_gemm(k, in, plan, g));
    g->base.scratch_bytes = g->v_bytes + g->m_bytes + dnnl_memory_desc_get_size(&g->gemm_pad_md);
    return build_args(k, in, y_dims, plan);
}
