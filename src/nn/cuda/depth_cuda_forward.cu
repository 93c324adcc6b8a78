/* One run of the depth network on CUDA: depth_anything.c's forward pass, op
 * for op and in the same order, on the handle's stream. A run's activations
 * come stream-ordered from the handle's memory pool. */
#include "device/cuda/cuda_backend.h"

#include "nn/cuda/depth_cuda_internal.h"

extern "C" {
#include "orfeas/error.h"
#include "orfeas/log.h"
}

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

using namespace orfeas_dc;

enum { BLOCK = 256 };
/* One chunk of heads' attention scores at most (floats): 512 MiB. A single
 * head's n x n may exceed it (up to 1 GiB at 128 x 128 patches, as on the
 * CPU); then the heads go one at a time. */
static const size_t SCORE_BUDGET = (size_t)128 << 20;
/* The largest im2col band (floats): 128 MiB, whatever the image size. */
static const size_t COL_BUDGET = (size_t)32 << 20;

/* Grid-stride kernels: a bounded grid covers any n. */
static unsigned blocks_for(size_t n)
{
    size_t b = (n + BLOCK - 1) / BLOCK;
    return (unsigned)(b < ((size_t)1 << 20) ? b : ((size_t)1 << 20));
}

/* ---- one run -------------------------------------------------------------- */

typedef struct dmap {
    float *d;
    int c, h, w;
} dmap;

static int launched(const char *what)
{
    return orfeas_cuda_error(cudaGetLastError(), what);
}

static int falloc(fw *f, size_t n, float **p)
{
    *p = NULL;
    if (n == 0) n = 1;
    if (n > SIZE_MAX / sizeof(float)) return ORFEAS_EGPUOOM;
    size_t bytes = n * sizeof(float);
    cudaError_t e = f->d->pool ? cudaMallocFromPoolAsync((void **)p, bytes, f->d->pool, f->st)
                               : cudaMalloc((void **)p, bytes);
    if (e != cudaSuccess) {
        *p = NULL;
        return orfeas_cuda_error(e, "cudaMallocFromPoolAsync");
    }
    f->live += bytes;
    if (f->live > f->peak) f->peak = f->live;
    return 0;
}

static void ffree(fw *f, float **p, size_t n)
{
    if (!*p) return;
    if (n == 0) n = 1;
    cudaError_t e = f->d->pool ? cudaFreeAsync(*p, f->st) : cudaFree(*p);
    orfeas_cuda_error(e, "cudaFreeAsync");
    f->live -= n * sizeof(float);
    *p = NULL;
}

static size_t map_numel(const dmap *m)
{
    return (size_t)m->c * m->h * m->w;
}

static int map_alloc(fw *f, dmap *m, int c, int h, int w)
{
    m->d = NULL;
    m->c = m->h = m->w = 0;
    if (c <= 0 || h <= 0 || w <= 0) return ORFEAS_EINVAL;
    int rc = falloc(f, (size_t)c * h * w, &m->d);
    if (rc) return rc;
    m->c = c;
    m->h = h;
    m->w = w;
    return 0;
}

static void map_free(fw *f, dmap *m)
{
    ffree(f, &m->d, map_numel(m));
    m->c = m->h = m->w = 0;
}

static const float *T(const fw *f, const char *name)
{
    int i = orfeas_nn_da_spec_index(name);
    return i >= 0 ? f->t[i] : NULL;
}

#define LAUNCH(kernel, n, ...)                                                                     \
    ((n) == 0 ? 0 : (kernel<<<blocks_for(n), BLOCK, 0, f->st>>>(__VA_ARGS__), launched(#kernel)))

/* orfeas_nn_linear_fwd: y[n, out] = x[n, in] W^T + b. */
static int linear_fwd(fw *f, const dlin *l, const float *x, int n, float *y)
{
    const float *w = l->w;
    size_t total = (size_t)l->in * l->out;
    int rc;
    if (!w && l->q) {
        if ((rc = LAUNCH(k_dequant, total, l->q, l->scale, (size_t)l->in, total, f->scratch)))
            return rc;
        w = f->scratch;
    } else if (!w && l->h) {
        if ((rc = LAUNCH(k_half_to_float, total, l->h, f->scratch, total))) return rc;
        w = f->scratch;
    }
    if ((rc = gemm(f, false, true, n, l->out, l->in, 1.0f, x, l->in, w, l->in, 0.0f, y, l->out)))
        return rc;
    size_t ny = (size_t)n * l->out;
    return l->b ? LAUNCH(k_bias_rows, ny, y, l->b, (size_t)l->out, ny) : 0;
}

static int layernorm(fw *f, const float *x, int n, int c, const float *g, const float *b, float eps,
                     float *y)
{
    k_layernorm<<<n, 128, 0, f->st>>>(x, c, g, b, eps, y);
    return launched("k_layernorm");
}

/* orfeas_nn_attention, several heads per batched GEMM (all six when the scores fit
 * SCORE_BUDGET, else fewer, one at least). */
static int attention(fw *f, const float *q, const float *k, const float *v, int ld, int n,
                     int heads, int dh, float *out, float *scores, int hb)
{
    float scale = 1.0f / sqrtf((float)dh);
    long long nn = (long long)n * n;
    for (int h0 = 0; h0 < heads; h0 += hb) {
        int cnt = heads - h0 < hb ? heads - h0 : hb;
        int rc = gemm_batched(f, false, true, n, n, dh, scale, q + h0 * dh, ld, dh, k + h0 * dh, ld,
                              dh, 0.0f, scores, n, nn, cnt);
        if (rc) return rc;
        k_softmax_rows<<<(unsigned)((size_t)cnt * n), BLOCK, 0, f->st>>>(scores, n);
        if ((rc = launched("k_softmax_rows"))) return rc;
        rc = gemm_batched(f, false, false, n, dh, n, 1.0f, scores, n, nn, v + h0 * dh, ld, dh, 0.0f,
                          out + h0 * dh, heads * dh, dh, cnt);
        if (rc) return rc;
    }
    return 0;
}

/* orfeas_nn_conv2d: 1x1 as one GEMM, else im2col in row bands. Allocates y. */
static int conv2d(fw *f, const dmap *x, const float *w, const float *b, int co, int k, int stride,
                  int pad, dmap *y)
{
    int ho = (x->h + 2 * pad - k) / stride + 1, wo = (x->w + 2 * pad - k) / stride + 1;
    if (ho <= 0 || wo <= 0) return ORFEAS_EINVAL;
    int rc = map_alloc(f, y, co, ho, wo);
    if (rc) return rc;
    size_t hw = (size_t)ho * wo, kk = (size_t)x->c * k * k;
    if (k == 1 && stride == 1 && pad == 0) {
        rc = gemm(f, false, false, co, (int)hw, x->c, 1.0f, w, x->c, x->d, (int)hw, 0.0f, y->d,
                  (int)hw);
    } else {
        size_t band = COL_BUDGET / (kk * (size_t)wo);
        if (band < 1) band = 1;
        if (band > (size_t)ho) band = (size_t)ho;
        float *col;
        size_t coln = kk * band * wo;
        rc = falloc(f, coln, &col);
        for (int oy0 = 0; oy0 < ho && !rc; oy0 += (int)band) {
            int rows = ho - oy0 < (int)band ? ho - oy0 : (int)band;
            size_t ncol = (size_t)rows * wo, n = kk * ncol;
            rc = LAUNCH(k_im2col, n, x->d, x->h, x->w, k, stride, pad, oy0, wo, ncol, col, n);
            if (!rc)
                rc = gemm(f, false, false, co, (int)ncol, (int)kk, 1.0f, w, (int)kk, col, (int)ncol,
                          0.0f, y->d + (size_t)oy0 * wo, (int)hw);
        }
        ffree(f, &col, coln);
    }
    size_t n = (size_t)co * hw;
    if (!rc && b) rc = LAUNCH(k_bias_channels, n, y->d, b, hw, n);
    if (rc) map_free(f, y);
    return rc;
}

/* orfeas_nn_conv_transpose (kernel == stride), weight [ci, co, k, k]. Allocates y. */
static int conv_transpose(fw *f, const dmap *x, const float *w, const float *b, int co, int k,
                          dmap *y)
{
    size_t hw = (size_t)x->h * x->w, rows = (size_t)co * k * k;
    float *tmp;
    int rc = falloc(f, rows * hw, &tmp);
    if (rc) return rc;
    rc = map_alloc(f, y, co, x->h * k, x->w * k);
    if (!rc)
        rc = gemm(f, true, false, (int)rows, (int)hw, x->c, 1.0f, w, (int)rows, x->d, (int)hw, 0.0f,
                  tmp, (int)hw);
    size_t n = map_numel(y);
    if (!rc) rc = LAUNCH(k_convt_scatter, n, tmp, b, k, x->h, x->w, y->d, n);
    ffree(f, &tmp, rows * hw);
    if (rc) map_free(f, y);
    return rc;
}

static int resize_bilinear_ac(fw *f, const dmap *x, int oh, int ow, dmap *y)
{
    int rc = map_alloc(f, y, x->c, oh, ow);
    if (rc) return rc;
    float sy = oh > 1 ? (float)(x->h - 1) / (float)(oh - 1) : 0.0f;
    float sx = ow > 1 ? (float)(x->w - 1) / (float)(ow - 1) : 0.0f;
    size_t n = map_numel(y);
    rc = LAUNCH(k_resize_bilinear_ac, n, x->d, x->h, x->w, oh, ow, sy, sx, y->d, n);
    if (rc) map_free(f, y);
    return rc;
}

/* RCU(y) = y + conv2(relu(conv1(relu(y)))) */
static int rcu(fw *f, int stage, int which, const dmap *y, dmap *out)
{
    char n1[128], n2[128], b1[128], b2[128];
    const char *pre = "neck.fusion_stage.layers";
    snprintf(n1, sizeof(n1), "%s.%d.residual_layer%d.convolution1.weight", pre, stage, which);
    snprintf(b1, sizeof(b1), "%s.%d.residual_layer%d.convolution1.bias", pre, stage, which);
    snprintf(n2, sizeof(n2), "%s.%d.residual_layer%d.convolution2.weight", pre, stage, which);
    snprintf(b2, sizeof(b2), "%s.%d.residual_layer%d.convolution2.bias", pre, stage, which);
    dmap a, b, c;
    int rc = map_alloc(f, &a, y->c, y->h, y->w);
    if (rc) return rc;
    size_t n = map_numel(y);
    rc = orfeas_cuda_error(
        cudaMemcpyAsync(a.d, y->d, n * sizeof(float), cudaMemcpyDeviceToDevice, f->st),
        "cudaMemcpyAsync");
    if (!rc) rc = LAUNCH(k_relu, n, a.d, n);
    if (!rc) rc = conv2d(f, &a, T(f, n1), T(f, b1), NN_DC_FEAT, 3, 1, 1, &b);
    map_free(f, &a);
    if (rc) return rc;
    rc = LAUNCH(k_relu, n, b.d, n);
    if (!rc) rc = conv2d(f, &b, T(f, n2), T(f, b2), NN_DC_FEAT, 3, 1, 1, &c);
    map_free(f, &b);
    if (rc) return rc;
    rc = LAUNCH(k_add, n, c.d, y->d, n);
    if (rc) {
        map_free(f, &c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Fusion stage j: x (+ RCU1(skip)) -> RCU2 -> bilinear align_corners to
 * (oh, ow) -> 1x1 projection. Consumes x. */
static int fuse(fw *f, int j, dmap *x, const dmap *skip, int oh, int ow, dmap *out)
{
    int rc = 0;
    dmap r, s, p;
    if (skip) {
        rc = rcu(f, j, 1, skip, &r);
        if (rc) {
            map_free(f, x);
            return rc;
        }
        size_t n = map_numel(&r);
        rc = LAUNCH(k_add, n, x->d, r.d, n);
        map_free(f, &r);
        if (rc) {
            map_free(f, x);
            return rc;
        }
    }
    rc = rcu(f, j, 2, x, &r);
    map_free(f, x);
    if (rc) return rc;
    rc = resize_bilinear_ac(f, &r, oh, ow, &s);
    map_free(f, &r);
    if (rc) return rc;
    char wn[96], bn[96];
    snprintf(wn, sizeof(wn), "neck.fusion_stage.layers.%d.projection.weight", j);
    snprintf(bn, sizeof(bn), "neck.fusion_stage.layers.%d.projection.bias", j);
    rc = conv2d(f, &s, T(f, wn), T(f, bn), NN_DC_FEAT, 1, 1, 0, &p);
    map_free(f, &s);
    if (rc) return rc;
    *out = p;
    return 0;
}

/* Reassemble stage k: tokens [N, 384] -> projection -> resize -> neck conv. */
static int reassemble(fw *f, int k, const float *tok, int ph, int pw, dmap *rn)
{
    static const int ch[4] = {48, 96, 192, 384};
    dmap x, p, r;
    int rc = map_alloc(f, &x, NN_DC_DIM, ph, pw);
    if (rc) return rc;
    size_t np = (size_t)ph * pw, n = map_numel(&x);
    rc = LAUNCH(k_tokens_to_map, n, tok, NN_DC_DIM, np, x.d, n);
    char wn[96], bn[96];
    snprintf(wn, sizeof(wn), "neck.reassemble_stage.layers.%d.projection.weight", k);
    snprintf(bn, sizeof(bn), "neck.reassemble_stage.layers.%d.projection.bias", k);
    if (!rc) rc = conv2d(f, &x, T(f, wn), T(f, bn), ch[k], 1, 1, 0, &p);
    map_free(f, &x);
    if (rc) return rc;
    snprintf(wn, sizeof(wn), "neck.reassemble_stage.layers.%d.resize.weight", k);
    snprintf(bn, sizeof(bn), "neck.reassemble_stage.layers.%d.resize.bias", k);
    if (k == 0 || k == 1) {
        rc = conv_transpose(f, &p, T(f, wn), T(f, bn), ch[k], k == 0 ? 4 : 2, &r);
        map_free(f, &p);
    } else if (k == 3) {
        rc = conv2d(f, &p, T(f, wn), T(f, bn), ch[k], 3, 2, 1, &r);
        map_free(f, &p);
    } else {
        r = p;
    }
    if (rc) return rc;
    snprintf(wn, sizeof(wn), "neck.convs.%d.weight", k);
    rc = conv2d(f, &r, T(f, wn), NULL, NN_DC_FEAT, 3, 1, 1, rn);
    map_free(f, &r);
    return rc;
}

typedef struct enc_bufs {
    float *x, *y, *q, *k, *v, *a, *hid, *scores, *patches;
    size_t tok, nhid, nscores, npatches;
} enc_bufs;

static void enc_free(fw *f, enc_bufs *b)
{
    ffree(f, &b->x, b->tok);
    ffree(f, &b->y, b->tok);
    ffree(f, &b->q, b->tok);
    ffree(f, &b->k, b->tok);
    ffree(f, &b->v, b->tok);
    ffree(f, &b->a, b->tok);
    ffree(f, &b->hid, b->nhid);
    ffree(f, &b->scores, b->nscores);
    ffree(f, &b->patches, b->npatches);
}

/* The DINOv2 encoder; writes the four normed taps into feats [4, 1+N, 384]. */
static int encoder(fw *f, const float *img, int h, int w, float *feats)
{
    int ph = h / 14, pw = w / 14, np = ph * pw, nt = np + 1;
    size_t tok = (size_t)nt * NN_DC_DIM;
    size_t nn = (size_t)nt * nt;
    int hb = (int)(SCORE_BUDGET / nn);
    hb = hb < 1 ? 1 : hb > NN_DC_HEADS ? NN_DC_HEADS : hb;
    enc_bufs b;
    memset(&b, 0, sizeof b);
    b.tok = tok;
    b.nhid = (size_t)nt * NN_DC_MLP;
    b.nscores = nn * hb;
    b.npatches = (size_t)np * 3 * 14 * 14;
    int rc = 0;
    float **bufs[] = {&b.x, &b.y, &b.q, &b.k, &b.v, &b.a};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0] && !rc; i++)
        rc = falloc(f, tok, bufs[i]);
    if (!rc) rc = falloc(f, b.nhid, &b.hid);
    if (!rc) rc = falloc(f, b.nscores, &b.scores);
    if (!rc) rc = falloc(f, b.npatches, &b.patches);

    /* Patch embedding: the 14x14 stride-14 conv as one GEMM over patches. */
    const int pk = 3 * 14 * 14;
    if (!rc) rc = LAUNCH(k_patches, b.npatches, img, h, w, pw, b.patches, b.npatches);
    dlin pe;
    memset(&pe, 0, sizeof pe);
    pe.w = T(f, "backbone.embeddings.patch_embeddings.projection.weight");
    pe.b = T(f, "backbone.embeddings.patch_embeddings.projection.bias");
    pe.in = pk;
    pe.out = NN_DC_DIM;
    if (!rc) rc = linear_fwd(f, &pe, b.patches, np, b.x + NN_DC_DIM);
    if (!rc)
        rc = orfeas_cuda_error(cudaMemcpyAsync(b.x, T(f, "backbone.embeddings.cls_token"),
                                               NN_DC_DIM * sizeof(float), cudaMemcpyDeviceToDevice,
                                               f->st),
                               "cudaMemcpyAsync");

    /* Position embedding: the table as is for 37 x 37 square inputs, else
     * the official bicubic interpolation (into y, used as scratch). */
    const float *pos = T(f, "backbone.embeddings.position_embeddings");
    float *pe_used = b.y;
    if (!rc && np == NN_DC_GRID * NN_DC_GRID && h == w) {
        rc = orfeas_cuda_error(
            cudaMemcpyAsync(pe_used, pos, tok * sizeof(float), cudaMemcpyDeviceToDevice, f->st),
            "cudaMemcpyAsync");
    } else if (!rc) {
        rc = orfeas_cuda_error(cudaMemcpyAsync(pe_used, pos, NN_DC_DIM * sizeof(float),
                                               cudaMemcpyDeviceToDevice, f->st),
                               "cudaMemcpyAsync");
        size_t n = (size_t)np * NN_DC_DIM;
        if (!rc)
            rc = LAUNCH(k_pos_interp, n, pos + NN_DC_DIM, NN_DC_GRID, NN_DC_DIM, ph, pw,
                        pe_used + NN_DC_DIM, n);
    }
    if (!rc) rc = LAUNCH(k_add, tok, b.x, pe_used, tok);

    int tapi = 0;
    char name[128];
    for (int l = 0; l < NN_DC_LAYERS && !rc; l++) {
        const dlin *lin = f->lin[l];
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm1.weight", l);
        const float *g1 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm1.bias", l);
        const float *b1 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm2.weight", l);
        const float *g2 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm2.bias", l);
        const float *b2 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.layer_scale1.lambda1", l);
        const float *ls1 = T(f, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.layer_scale2.lambda1", l);
        const float *ls2 = T(f, name);

        rc = layernorm(f, b.x, nt, NN_DC_DIM, g1, b1, 1e-6f, b.y);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_Q], b.y, nt, b.q);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_K], b.y, nt, b.k);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_V], b.y, nt, b.v);
        if (!rc)
            rc = attention(f, b.q, b.k, b.v, NN_DC_DIM, nt, NN_DC_HEADS, NN_DC_HDIM, b.a, b.scores,
                           hb);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_O], b.a, nt, b.y);
        if (!rc) rc = LAUNCH(k_scaled_residual, tok, b.x, ls1, b.y, (size_t)NN_DC_DIM, tok);
        if (!rc) rc = layernorm(f, b.x, nt, NN_DC_DIM, g2, b2, 1e-6f, b.y);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_FC1], b.y, nt, b.hid);
        if (!rc) rc = LAUNCH(k_gelu, b.nhid, b.hid, b.nhid);
        if (!rc) rc = linear_fwd(f, &lin[NN_DC_FC2], b.hid, nt, b.y);
        if (!rc) rc = LAUNCH(k_scaled_residual, tok, b.x, ls2, b.y, (size_t)NN_DC_DIM, tok);
        if (!rc && (l == 2 || l == 5 || l == 8 || l == 11)) {
            rc = layernorm(f, b.x, nt, NN_DC_DIM, T(f, "backbone.layernorm.weight"),
                           T(f, "backbone.layernorm.bias"), 1e-6f, feats + (size_t)tapi * tok);
            tapi++;
        }
    }
    enc_free(f, &b);
    return rc;
}

static int forward(fw *f, const float *img, int h, int w, float *out_dev)
{
    int ph = h / 14, pw = w / 14;
    size_t tok = ((size_t)ph * pw + 1) * NN_DC_DIM;
    float *feats;
    int rc = falloc(f, 4 * tok, &feats);
    if (!rc) rc = encoder(f, img, h, w, feats);
    dmap rn[4], path, next, o1, o2, o3, o4;
    memset(rn, 0, sizeof rn);
    memset(&path, 0, sizeof path);
    memset(&o1, 0, sizeof o1);
    memset(&o2, 0, sizeof o2);
    memset(&o3, 0, sizeof o3);
    memset(&o4, 0, sizeof o4);
    for (int k = 0; k < 4 && !rc; k++)
        rc = reassemble(f, k, feats + (size_t)k * tok + NN_DC_DIM, ph, pw, &rn[k]);
    ffree(f, &feats, 4 * tok);
    /* path4 = F0(rn4) -> size of rn3; path3 = F1(path4, rn3) -> rn2; ... */
    if (!rc) {
        dmap x4;
        rc = map_alloc(f, &x4, rn[3].c, rn[3].h, rn[3].w);
        if (!rc)
            rc = orfeas_cuda_error(cudaMemcpyAsync(x4.d, rn[3].d, map_numel(&x4) * sizeof(float),
                                                   cudaMemcpyDeviceToDevice, f->st),
                                   "cudaMemcpyAsync");
        if (!rc)
            rc = fuse(f, 0, &x4, NULL, rn[2].h, rn[2].w, &path);
        else
            map_free(f, &x4);
    }
    for (int j = 1; j < 4 && !rc; j++) {
        const dmap *skip = &rn[3 - j];
        int oh = j < 3 ? rn[2 - j].h : skip->h * 2, ow = j < 3 ? rn[2 - j].w : skip->w * 2;
        memset(&next, 0, sizeof next);
        rc = fuse(f, j, &path, skip, oh, ow, &next);
        path = next;
    }
    for (int k = 0; k < 4; k++)
        map_free(f, &rn[k]);
    /* Head: conv1 -> bilinear to (h, w) -> conv2 -> ReLU -> conv3 -> ReLU. */
    if (!rc)
        rc = conv2d(f, &path, T(f, "head.conv1.weight"), T(f, "head.conv1.bias"), 32, 3, 1, 1, &o1);
    map_free(f, &path);
    if (!rc) rc = resize_bilinear_ac(f, &o1, h, w, &o2);
    map_free(f, &o1);
    if (!rc)
        rc = conv2d(f, &o2, T(f, "head.conv2.weight"), T(f, "head.conv2.bias"), 32, 3, 1, 1, &o3);
    map_free(f, &o2);
    size_t n3 = map_numel(&o3);
    if (!rc) rc = LAUNCH(k_relu, n3, o3.d, n3);
    if (!rc)
        rc = conv2d(f, &o3, T(f, "head.conv3.weight"), T(f, "head.conv3.bias"), 1, 1, 1, 0, &o4);
    map_free(f, &o3);
    size_t hw = (size_t)h * w;
    if (!rc)
        rc = orfeas_cuda_error(
            cudaMemcpyAsync(out_dev, o4.d, hw * sizeof(float), cudaMemcpyDeviceToDevice, f->st),
            "cudaMemcpyAsync");
    if (!rc) rc = LAUNCH(k_relu, hw, out_dev, hw);
    map_free(f, &o4);
    return rc;
}

/* The run's view of the weights: device pointers per tensor and linear. */
static void bind_view(fw *f)
{
    nn_depth_cuda *d = f->d;
    for (int i = 0; i < NN_DA_TENSORS; i++)
        f->t[i] = d->t_off[i] >= 0   ? d->blob + d->t_off[i]
                  : d->h_off[i] >= 0 ? f->arena + d->h_off[i]
                                     : NULL;
    for (int l = 0; l < NN_DC_LAYERS; l++)
        for (int k = 0; k < NN_DC_LINEARS; k++) {
            const nn_dc_lin *o = &d->lin[l][k];
            dlin *x = &f->lin[l][k];
            x->w = o->w >= 0 ? d->blob + o->w : NULL;
            x->b = o->b >= 0 ? d->blob + o->b : NULL;
            x->q = o->q >= 0 ? (const int8_t *)(d->qstore + o->q) : NULL;
            x->scale = o->s >= 0 ? (const float *)(d->qstore + o->s) : NULL;
            x->h = o->h >= 0 ? (const __half *)(d->qstore + o->h) : NULL;
            x->in = o->in;
            x->out = o->out;
        }
}

static int run_locked(nn_depth_cuda *d, const float *chw, int h, int w, float *out)
{
    int rc = use_device(d->ordinal);
    if (rc) return rc;
    fw *f = (fw *)calloc(1, sizeof *f);
    if (!f) return ORFEAS_ENOMEM;
    f->d = d;
    f->st = d->stream;
    size_t nin = (size_t)3 * h * w, hw = (size_t)h * w;
    float *img = NULL, *res = NULL;
    if (d->half_n) {
        rc = falloc(f, d->half_n, &f->arena);
        if (!rc) rc = LAUNCH(k_half_to_float, d->half_n, d->hstore, f->arena, d->half_n);
    }
    if (!rc && d->precision != NN_DC_FP32)
        rc = falloc(f, (size_t)NN_DC_MLP * NN_DC_DIM, &f->scratch);
    if (!rc) rc = falloc(f, nin, &img);
    if (!rc) rc = falloc(f, hw, &res);
    if (!rc)
        rc = orfeas_cuda_error(
            cudaMemcpyAsync(img, chw, nin * sizeof(float), cudaMemcpyHostToDevice, f->st),
            "cudaMemcpyAsync (input)");
    if (!rc) {
        bind_view(f);
        rc = forward(f, img, h, w, res);
    }
    if (!rc)
        rc = orfeas_cuda_error(
            cudaMemcpyAsync(out, res, hw * sizeof(float), cudaMemcpyDeviceToHost, f->st),
            "cudaMemcpyAsync (output)");
    ffree(f, &img, nin);
    ffree(f, &res, hw);
    ffree(f, &f->arena, d->half_n);
    ffree(f, &f->scratch, (size_t)NN_DC_MLP * NN_DC_DIM);
    /* Waits for the output and surfaces any asynchronous failure. */
    int sync = orfeas_cuda_error(cudaStreamSynchronize(f->st), "cudaStreamSynchronize");
    if (!rc) rc = sync;
    if (!rc) d->last_run_bytes = f->peak;
    free(f);
    return rc;
}

int orfeas_nn_dc_run(nn_depth_cuda *d, const float *chw, int h, int w, float *out)
{
    if (!d || !chw || !out || h < 14 || w < 14 || h % 14 || w % 14) return ORFEAS_EINVAL;
    if ((long)(h / 14) * (w / 14) > 128L * 128L) return ORFEAS_EINVAL;
    pthread_mutex_lock(&d->lock);
    int rc = run_locked(d, chw, h, w, out);
    pthread_mutex_unlock(&d->lock);
    if (rc == ORFEAS_EGPUOOM)
        ORFEAS_WARN("depth cuda: out of device memory for a %dx%d input", w, h);
    return rc;
}
