/* Depth Anything V2 Small: DINOv2 ViT-S/14 + DPT head, following the
 * official code (DepthAnything/Depth-Anything-V2, dpt.py / dinov2.py). */
#include "nn/depth_internal.h"
#include "nn/depth_cuda.h"
#include "nn/depth_model.h"

#include "core/half.h"
#include "nn/safetensors.h"
#include "nn/tensor.h"
#include "nn/weights.h"

#include "orfeas/error.h"
#include "orfeas/log.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const lin_names[L_COUNT] = {"attention.attention.query",
                                               "attention.attention.key",
                                               "attention.attention.value",
                                               "attention.output.dense",
                                               "mlp.fc1",
                                               "mlp.fc2"};

int orfeas_depth_precision_parse(const char *text, orfeas_depth_precision *out)
{
    static const char *const names[] = {"fp32", "fp16", "int8"};
    for (int i = 0; i < 3; i++)
        if (text && strcmp(text, names[i]) == 0) {
            *out = (orfeas_depth_precision)i;
            return 0;
        }
    return ORFEAS_EINVAL;
}

const char *orfeas_depth_precision_name(orfeas_depth_precision p)
{
    return p == ORFEAS_DEPTH_FP16 ? "fp16" : p == ORFEAS_DEPTH_INT8 ? "int8" : "fp32";
}

orfeas_depth_precision orfeas_depth_model_precision(const orfeas_depth_model *m)
{
    return m->precision;
}

size_t orfeas_depth_resident_bytes(const orfeas_depth_model *m)
{
    return m->bytes;
}

void orfeas_depth_set_threads(int threads)
{
    /* OPENBLAS_NUM_THREADS, when set, caps what callers ask for: operators
     * (and the ThreadSanitizer run, which cannot see OpenBLAS's own threads)
     * keep the last word. */
    const char *cap = getenv("OPENBLAS_NUM_THREADS");
    int limit = cap ? atoi(cap) : 0;
    if (threads < 1) threads = 1;
    if (limit > 0 && threads > limit) threads = limit;
    openblas_set_num_threads(threads);
}

static const float *T(const orfeas_depth_model *m, const char *name)
{
    int i = orfeas_nn_da_spec_index(name);
    return i >= 0 ? m->t[i] : NULL;
}

static int spec_of_linear(int layer, int which, int *wi, int *bi)
{
    char name[128];
    snprintf(name, sizeof(name), "backbone.encoder.layer.%d.%s.weight", layer, lin_names[which]);
    *wi = orfeas_nn_da_spec_index(name);
    snprintf(name, sizeof(name), "backbone.encoder.layer.%d.%s.bias", layer, lin_names[which]);
    *bi = orfeas_nn_da_spec_index(name);
    return *wi >= 0 && *bi >= 0 ? 0 : ORFEAS_EINTERNAL;
}

static int is_linear_weight(int idx)
{
    for (int l = 0; l < NN_LAYERS; l++)
        for (int k = 0; k < L_COUNT; k++) {
            int wi, bi;
            if (spec_of_linear(l, k, &wi, &bi) == 0 && wi == idx) return 1;
        }
    return 0;
}

void orfeas_depth_free(orfeas_depth_model *m)
{
    if (!m) return;
    if (m->vram) orfeas_vram_release(m->vram, &m->resident);
    orfeas_nn_depth_batcher_destroy(m->batcher);
    orfeas_nn_depth_cuda_free(m->cuda);
    free(m->blob);
    free(m->qstore);
    free(m->hstore);
    free(m);
}

/* Binds the tensor pointers to a blob of every tensor packed in table order. */
static void bind_full(orfeas_depth_model *m)
{
    size_t off = 0;
    for (int i = 0; i < NN_DA_TENSORS; i++) {
        m->t[i] = m->blob + off;
        off += orfeas_nn_spec_numel(&orfeas_nn_da_specs[i]);
    }
    for (int l = 0; l < NN_LAYERS; l++)
        for (int k = 0; k < L_COUNT; k++) {
            int wi, bi;
            spec_of_linear(l, k, &wi, &bi);
            nn_linear *lin = &m->lin[l][k];
            memset(lin, 0, sizeof(*lin));
            lin->w = m->t[wi];
            lin->b = m->t[bi];
            lin->out = (int)orfeas_nn_da_specs[wi].shape[0];
            lin->in = (int)orfeas_nn_da_specs[wi].shape[1];
        }
    m->bytes = (size_t)NN_DA_PARAMS * sizeof(float);
}

/* Converts the encoder's linear weights to the model's precision and drops
 * their float32 copies, so the resident size is what the precision says. */
static int pack_precision(orfeas_depth_model *m)
{
    if (m->precision == ORFEAS_DEPTH_FP32) return 0;
    size_t lin_params = 0, rest = 0, rows = 0, halves = 0;
    for (int i = 0; i < NN_DA_TENSORS; i++) {
        size_t n = orfeas_nn_spec_numel(&orfeas_nn_da_specs[i]);
        if (is_linear_weight(i)) {
            lin_params += n;
            rows += (size_t)orfeas_nn_da_specs[i].shape[0];
        } else if (orfeas_nn_da_specs[i].ndim >= 2) {
            halves += n;
        } else {
            rest += n; /* biases, LayerNorm, layer scale: small, kept exact */
        }
    }
    int int8 = m->precision == ORFEAS_DEPTH_INT8;
    size_t qbytes = int8 ? rows * sizeof(float) + lin_params : lin_params * sizeof(uint16_t);
    float *blob = malloc(rest * sizeof(float));
    uint8_t *q = malloc(qbytes);
    uint16_t *hs = malloc(halves * sizeof(uint16_t));
    if (!blob || !q || !hs) {
        free(blob);
        free(q);
        free(hs);
        return ORFEAS_ENOMEM;
    }
    size_t hoff = 0;
    /* Layout of q: [int8 scales (floats)] then the weights. */
    float *scales = (float *)q;
    uint8_t *qw = int8 ? q + rows * sizeof(float) : q;
    size_t roff = 0, qoff = 0, soff = 0;
    for (int i = 0; i < NN_DA_TENSORS; i++) {
        size_t n = orfeas_nn_spec_numel(&orfeas_nn_da_specs[i]);
        if (is_linear_weight(i)) continue;
        if (orfeas_nn_da_specs[i].ndim >= 2) {
            for (size_t k = 0; k < n; k++)
                hs[hoff + k] = orfeas_f32_to_f16(m->t[i][k]);
            m->half[i] = hs + hoff;
            m->t[i] = NULL;
            hoff += n;
        } else {
            memcpy(blob + roff, m->t[i], n * sizeof(float));
            m->t[i] = blob + roff;
            roff += n;
        }
    }
    for (int l = 0; l < NN_LAYERS; l++)
        for (int k = 0; k < L_COUNT; k++) {
            int wi, bi;
            spec_of_linear(l, k, &wi, &bi);
            nn_linear *lin = &m->lin[l][k];
            const float *w = lin->w;
            size_t in = (size_t)lin->in;
            if (int8) {
                int8_t *dst = (int8_t *)(qw + qoff);
                for (int o = 0; o < lin->out; o++) {
                    const float *wr = w + (size_t)o * in;
                    float mx = 0.0f;
                    for (size_t c = 0; c < in; c++)
                        mx = fabsf(wr[c]) > mx ? fabsf(wr[c]) : mx;
                    float s = mx > 0.0f ? mx / 127.0f : 1.0f;
                    scales[soff + (size_t)o] = s;
                    for (size_t c = 0; c < in; c++) {
                        long v = lrintf(wr[c] / s);
                        dst[(size_t)o * in + c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
                    }
                }
                lin->q = dst;
                lin->qscale = scales + soff;
                soff += (size_t)lin->out;
                qoff += in * (size_t)lin->out;
            } else {
                uint16_t *dst = (uint16_t *)(qw + qoff);
                for (size_t c = 0; c < in * (size_t)lin->out; c++)
                    dst[c] = orfeas_f32_to_f16(w[c]);
                lin->h = dst;
                qoff += in * (size_t)lin->out * sizeof(uint16_t);
            }
            lin->w = NULL;
            m->t[wi] = NULL;
            lin->b = m->t[bi];
        }
    free(m->blob);
    m->blob = blob;
    m->qstore = q;
    m->hstore = hs;
    m->half_params = halves;
    m->bytes = rest * sizeof(float) + qbytes + halves * sizeof(uint16_t);
    return 0;
}

int orfeas_depth_convert(orfeas_depth_model *m, orfeas_depth_precision p)
{
    if ((unsigned)p > ORFEAS_DEPTH_INT8 || (m->precision != ORFEAS_DEPTH_FP32 && p != m->precision))
        return ORFEAS_EINVAL;
    if (p == m->precision) return 0;
    m->precision = p;
    int rc = pack_precision(m);
    if (rc) m->precision = ORFEAS_DEPTH_FP32; /* pack leaves the model as it was */
    return rc;
}

static int model_new(orfeas_depth_precision p, orfeas_depth_model **out)
{
    *out = NULL;
    if ((unsigned)p > ORFEAS_DEPTH_INT8) return ORFEAS_EINVAL;
    orfeas_depth_model *m = calloc(1, sizeof(*m));
    if (!m) return ORFEAS_ENOMEM;
    m->blob = malloc((size_t)NN_DA_PARAMS * sizeof(float));
    if (!m->blob) {
        free(m);
        return ORFEAS_ENOMEM;
    }
    m->precision = p;
    *out = m;
    return 0;
}

static int model_finish(orfeas_depth_model *m, orfeas_depth_model **out)
{
    bind_full(m);
    int rc = pack_precision(m);
    if (rc) {
        orfeas_depth_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int orfeas_depth_load_random(uint64_t seed, orfeas_depth_precision p, orfeas_depth_model **out)
{
    orfeas_depth_model *m;
    int rc = model_new(p, &m);
    if (rc) return rc;
    orfeas_nn_da_generate(seed, m->blob);
    return model_finish(m, out);
}

int orfeas_depth_write_random(uint64_t seed, const char *path)
{
    float *w = malloc((size_t)NN_DA_PARAMS * sizeof(float));
    nn_st_out *t = calloc(NN_DA_TENSORS, sizeof(*t));
    if (!w || !t) {
        free(w);
        free(t);
        return ORFEAS_ENOMEM;
    }
    orfeas_nn_da_generate(seed, w);
    size_t off = 0;
    for (int i = 0; i < NN_DA_TENSORS; i++) {
        t[i] = (nn_st_out){orfeas_nn_da_specs[i].name, orfeas_nn_da_specs[i].ndim,
                           orfeas_nn_da_specs[i].shape, w + off};
        off += orfeas_nn_spec_numel(&orfeas_nn_da_specs[i]);
    }
    int rc = orfeas_nn_st_write_f32(path, t, NN_DA_TENSORS);
    free(w);
    free(t);
    return rc;
}

int orfeas_depth_load(const char *path, orfeas_depth_precision p, orfeas_depth_model **out)
{
    *out = NULL;
    nn_st_file f;
    char err[256];
    int rc = orfeas_nn_st_load(path, &f, err, sizeof(err));
    if (rc) {
        ORFEAS_ERROR("depth model %s: %s", path, err);
        return rc;
    }
    orfeas_depth_model *m;
    rc = model_new(p, &m);
    if (rc) {
        orfeas_nn_st_free(&f);
        return rc;
    }
    size_t off = 0;
    for (int i = 0; i < NN_DA_TENSORS && !rc; i++) {
        const nn_tensor_spec *s = &orfeas_nn_da_specs[i];
        size_t n = orfeas_nn_spec_numel(s);
        const nn_st_tensor *t = orfeas_nn_st_find(&f, s->name);
        if (!t && strcmp(s->name, "backbone.embeddings.mask_token") == 0) {
            memset(m->blob + off, 0, n * sizeof(float)); /* unused at inference */
        } else if (!t) {
            ORFEAS_ERROR("depth model %s: tensor %s is missing", path, s->name);
            rc = ORFEAS_EINVAL;
        } else {
            int same = t->ndim == s->ndim;
            for (int d = 0; same && d < s->ndim; d++)
                same = t->shape[d] == s->shape[d];
            if (!same) {
                ORFEAS_ERROR("depth model %s: tensor %s has the wrong shape", path, s->name);
                rc = ORFEAS_EINVAL;
            } else {
                orfeas_nn_st_to_f32(&f, t, m->blob + off);
            }
        }
        off += n;
    }
    orfeas_nn_st_free(&f);
    if (rc) {
        orfeas_depth_free(m);
        return rc;
    }
    return model_finish(m, out);
}

static int cmp_abs(const void *a, const void *b)
{
    float x = fabsf(*(const float *)a), y = fabsf(*(const float *)b);
    return x < y ? -1 : x > y;
}

int orfeas_depth_prune(orfeas_depth_model *m, double sparsity)
{
    if (!(sparsity >= 0.0 && sparsity <= 1.0)) return ORFEAS_EINVAL;
    if (m->precision != ORFEAS_DEPTH_FP32) return ORFEAS_EINVAL;
    float *tmp = malloc((size_t)NN_MLP * NN_DIM * sizeof(float));
    if (!tmp) return ORFEAS_ENOMEM;
    for (int l = 0; l < NN_LAYERS; l++)
        for (int k = 0; k < L_COUNT; k++) {
            nn_linear *lin = &m->lin[l][k];
            size_t n = (size_t)lin->in * lin->out;
            /* torch.nn.utils.prune.l1_unstructured: round(amount * n) smallest |w|. */
            size_t cut = (size_t)llround(sparsity * (double)n);
            if (cut == 0) continue;
            memcpy(tmp, lin->w, n * sizeof(float));
            qsort(tmp, n, sizeof(float), cmp_abs);
            float thr = fabsf(tmp[cut - 1]);
            float *w = (float *)lin->w;
            size_t zeroed = 0;
            for (size_t i = 0; i < n && zeroed < cut; i++)
                if (fabsf(w[i]) < thr) {
                    w[i] = 0.0f;
                    zeroed++;
                }
            for (size_t i = 0; i < n && zeroed < cut; i++)
                if (w[i] != 0.0f && fabsf(w[i]) == thr) {
                    w[i] = 0.0f;
                    zeroed++;
                }
        }
    free(tmp);
    return 0;
}

/* ---- forward ---------------------------------------------------------- */

static void tap_out(nn_depth_tap_fn tap, void *ud, const char *name, const float *d, size_t n)
{
    if (tap) tap(ud, name, d, n);
}

/* RCU(y) = y + conv2(relu(conv1(relu(y)))) */
static int rcu(const orfeas_depth_model *m, int stage, int which, const nn_map *y, nn_map *out)
{
    char n1[128], n2[128], b1[128], b2[128];
    const char *pre = "neck.fusion_stage.layers";
    snprintf(n1, sizeof(n1), "%s.%d.residual_layer%d.convolution1.weight", pre, stage, which);
    snprintf(b1, sizeof(b1), "%s.%d.residual_layer%d.convolution1.bias", pre, stage, which);
    snprintf(n2, sizeof(n2), "%s.%d.residual_layer%d.convolution2.weight", pre, stage, which);
    snprintf(b2, sizeof(b2), "%s.%d.residual_layer%d.convolution2.bias", pre, stage, which);
    nn_map a, b, c;
    if (orfeas_nn_map_alloc(&a, y->c, y->h, y->w)) return ORFEAS_ENOMEM;
    size_t n = (size_t)y->c * y->h * y->w;
    memcpy(a.d, y->d, n * sizeof(float));
    orfeas_nn_relu(a.d, n);
    int rc = orfeas_nn_conv2d(&a, T(m, n1), T(m, b1), NN_FEAT, 3, 1, 1, &b);
    orfeas_nn_map_free(&a);
    if (rc) return rc;
    orfeas_nn_relu(b.d, n);
    rc = orfeas_nn_conv2d(&b, T(m, n2), T(m, b2), NN_FEAT, 3, 1, 1, &c);
    orfeas_nn_map_free(&b);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++)
        c.d[i] += y->d[i];
    *out = c;
    return 0;
}

/* Fusion stage j (official refinenet 4-j): x (+ RCU1(skip)) -> RCU2 ->
 * bilinear align_corners to (oh, ow) -> 1x1 projection. Consumes x. */
static int fuse(const orfeas_depth_model *m, int j, nn_map *x, const nn_map *skip, int oh, int ow,
                nn_map *out)
{
    int rc = 0;
    nn_map r, s, p;
    if (skip) {
        rc = rcu(m, j, 1, skip, &r);
        if (rc) {
            orfeas_nn_map_free(x);
            return rc;
        }
        size_t n = (size_t)r.c * r.h * r.w;
        for (size_t i = 0; i < n; i++)
            x->d[i] += r.d[i];
        orfeas_nn_map_free(&r);
    }
    rc = rcu(m, j, 2, x, &r);
    orfeas_nn_map_free(x);
    if (rc) return rc;
    rc = orfeas_nn_resize_bilinear_ac(&r, oh, ow, &s);
    orfeas_nn_map_free(&r);
    if (rc) return rc;
    char wn[96], bn[96];
    snprintf(wn, sizeof(wn), "neck.fusion_stage.layers.%d.projection.weight", j);
    snprintf(bn, sizeof(bn), "neck.fusion_stage.layers.%d.projection.bias", j);
    rc = orfeas_nn_conv2d(&s, T(m, wn), T(m, bn), NN_FEAT, 1, 1, 0, &p);
    orfeas_nn_map_free(&s);
    if (rc) return rc;
    *out = p;
    return 0;
}

/* Reassemble stage k: tokens [N, 384] -> projection -> resize -> neck conv. */
static int reassemble(const orfeas_depth_model *m, int k, const float *tok, int ph, int pw,
                      nn_map *rn)
{
    static const int ch[4] = {48, 96, 192, 384};
    nn_map x, p, r;
    int rc = orfeas_nn_map_alloc(&x, NN_DIM, ph, pw);
    if (rc) return rc;
    size_t n = (size_t)ph * pw;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < NN_DIM; c++)
            x.d[(size_t)c * n + i] = tok[i * NN_DIM + c];
    char wn[96], bn[96];
    snprintf(wn, sizeof(wn), "neck.reassemble_stage.layers.%d.projection.weight", k);
    snprintf(bn, sizeof(bn), "neck.reassemble_stage.layers.%d.projection.bias", k);
    rc = orfeas_nn_conv2d(&x, T(m, wn), T(m, bn), ch[k], 1, 1, 0, &p);
    orfeas_nn_map_free(&x);
    if (rc) return rc;
    snprintf(wn, sizeof(wn), "neck.reassemble_stage.layers.%d.resize.weight", k);
    snprintf(bn, sizeof(bn), "neck.reassemble_stage.layers.%d.resize.bias", k);
    if (k == 0 || k == 1) {
        rc = orfeas_nn_conv_transpose(&p, T(m, wn), T(m, bn), ch[k], k == 0 ? 4 : 2, &r);
        orfeas_nn_map_free(&p);
    } else if (k == 3) {
        rc = orfeas_nn_conv2d(&p, T(m, wn), T(m, bn), ch[k], 3, 2, 1, &r);
        orfeas_nn_map_free(&p);
    } else {
        r = p;
    }
    if (rc) return rc;
    snprintf(wn, sizeof(wn), "neck.convs.%d.weight", k);
    rc = orfeas_nn_conv2d(&r, T(m, wn), NULL, NN_FEAT, 3, 1, 1, rn);
    orfeas_nn_map_free(&r);
    return rc;
}

/* The encoder's buffers for `batch` images of nt tokens: the token
 * matrices are [batch * nt, 384] (image after image), so LayerNorm and the
 * elementwise steps run on all images at once; the linears (linear_batch)
 * and the attention (one n x n score matrix) run image by image. */
typedef struct enc_bufs {
    float *x, *y, *q, *k, *v, *a, *hid, *scores, *scratch, *patches;
    size_t all, hid_n, scores_n, scratch_n, patches_n; /* floats */
} enc_bufs;

static void enc_free(enc_bufs *b)
{
    float **six[] = {&b->x, &b->y, &b->q, &b->k, &b->v, &b->a};
    for (int i = 0; i < 6; i++) {
        orfeas_nn_release(*six[i], b->all * sizeof(float));
        *six[i] = NULL;
    }
    orfeas_nn_release(b->hid, b->hid_n * sizeof(float));
    orfeas_nn_release(b->scores, b->scores_n * sizeof(float));
    orfeas_nn_release(b->scratch, b->scratch_n * sizeof(float));
    orfeas_nn_release(b->patches, b->patches_n * sizeof(float));
    b->hid = b->scores = b->scratch = b->patches = NULL;
}

static float *falloc(size_t n)
{
    return n <= SIZE_MAX / sizeof(float) ? orfeas_nn_alloc(n * sizeof(float)) : NULL;
}

/* The determinism contract (docs/depth.md): an image's result must not
 * depend on what it was batched with. A GEMM over [batch * nt, 384] is not
 * bit-identical to batch GEMMs over [nt, 384]: OpenBLAS's kernels and their
 * blocking depend on the CPU and on the shape. So a batch shares the weights'
 * expansion (fp16/int8) and the pass, and runs one GEMM per image, of the
 * shape a single run has. */
static void linear_batch(const nn_linear *l, const float *x, int batch, int nt, float *y,
                         float *scratch)
{
    const float *w = orfeas_nn_linear_weights(l, scratch);
    for (int i = 0; i < batch; i++)
        orfeas_nn_linear_apply(l, w, x + (size_t)i * nt * l->in, nt, y + (size_t)i * nt * l->out);
}

/* feats[i] receives image i's four tapped layers: feats[i] + k * tok is
 * layer k, [nt, 384]. */
static int encoder(const orfeas_depth_model *m, const float *const *img, int batch, int h, int w,
                   enc_bufs *b, float *const *feats, nn_depth_tap_fn tap, void *ud)
{
    int ph = h / 14, pw = w / 14, np = ph * pw, nt = np + 1, rows = batch * nt;
    size_t tok = (size_t)nt * NN_DIM;
    const int pk = 3 * 14 * 14;
    b->all = (size_t)batch * tok;
    b->hid_n = (size_t)rows * NN_MLP;
    b->scores_n = (size_t)nt * nt;
    b->scratch_n = (size_t)NN_MLP * NN_DIM;
    b->patches_n = (size_t)np * pk;
    b->x = falloc(b->all);
    b->y = falloc(b->all);
    b->q = falloc(b->all);
    b->k = falloc(b->all);
    b->v = falloc(b->all);
    b->a = falloc(b->all);
    b->hid = falloc(b->hid_n);
    b->scores = falloc(b->scores_n);
    b->scratch = falloc(b->scratch_n);
    b->patches = falloc(b->patches_n);
    if (!b->x || !b->y || !b->q || !b->k || !b->v || !b->a || !b->hid || !b->scores ||
        !b->scratch || !b->patches)
        return ORFEAS_ENOMEM;

    /* Patch embedding: the 14x14 stride-14 conv as one GEMM over patches,
     * image by image (the class token sits between the images' rows). */
    nn_linear pe = {.w = T(m, "backbone.embeddings.patch_embeddings.projection.weight"),
                    .b = T(m, "backbone.embeddings.patch_embeddings.projection.bias"),
                    .in = pk,
                    .out = NN_DIM};
    for (int im = 0; im < batch; im++) {
        const float *src = img[im];
        for (int i = 0; i < ph; i++)
            for (int j = 0; j < pw; j++) {
                float *p = b->patches + ((size_t)i * pw + j) * pk;
                for (int c = 0; c < 3; c++)
                    for (int ky = 0; ky < 14; ky++)
                        memcpy(p + (c * 14 + ky) * 14,
                               src + ((size_t)c * h + (size_t)i * 14 + ky) * w + (size_t)j * 14,
                               14 * sizeof(float));
            }
        float *x = b->x + (size_t)im * tok;
        orfeas_nn_linear_fwd(&pe, b->patches, np, x + NN_DIM, NULL);
        memcpy(x, T(m, "backbone.embeddings.cls_token"), NN_DIM * sizeof(float));
    }

    /* Position embedding: the table as is for 37 x 37 square inputs, else
     * the official bicubic interpolation (into y, used as scratch). */
    const float *pos = T(m, "backbone.embeddings.position_embeddings");
    float *pe_used = b->y;
    if (np == NN_GRID * NN_GRID && h == w) {
        memcpy(pe_used, pos, tok * sizeof(float));
    } else {
        memcpy(pe_used, pos, NN_DIM * sizeof(float));
        orfeas_nn_pos_interp(pos + NN_DIM, NN_GRID, NN_DIM, ph, pw, pe_used + NN_DIM);
    }
    tap_out(tap, ud, "posembed", pe_used, tok);
    for (int im = 0; im < batch; im++) {
        float *x = b->x + (size_t)im * tok;
        for (size_t i = 0; i < tok; i++)
            x[i] += pe_used[i];
    }
    tap_out(tap, ud, "tokens0", b->x, tok);

    int tapi = 0;
    char name[128];
    for (int l = 0; l < NN_LAYERS; l++) {
        const nn_linear *lin = m->lin[l];
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm1.weight", l);
        const float *g1 = T(m, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm1.bias", l);
        const float *b1 = T(m, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm2.weight", l);
        const float *g2 = T(m, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.norm2.bias", l);
        const float *b2 = T(m, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.layer_scale1.lambda1", l);
        const float *ls1 = T(m, name);
        snprintf(name, sizeof(name), "backbone.encoder.layer.%d.layer_scale2.lambda1", l);
        const float *ls2 = T(m, name);

        orfeas_nn_layernorm(b->x, rows, NN_DIM, g1, b1, 1e-6f, b->y);
        linear_batch(&lin[L_Q], b->y, batch, nt, b->q, b->scratch);
        linear_batch(&lin[L_K], b->y, batch, nt, b->k, b->scratch);
        linear_batch(&lin[L_V], b->y, batch, nt, b->v, b->scratch);
        for (int im = 0; im < batch; im++) {
            size_t o = (size_t)im * tok;
            orfeas_nn_attention(b->q + o, b->k + o, b->v + o, NN_DIM, nt, NN_HEADS, NN_HDIM,
                                b->a + o, b->scores);
        }
        linear_batch(&lin[L_O], b->a, batch, nt, b->y, b->scratch);
        for (size_t i = 0; i < b->all; i++)
            b->x[i] += ls1[i % NN_DIM] * b->y[i];
        orfeas_nn_layernorm(b->x, rows, NN_DIM, g2, b2, 1e-6f, b->y);
        linear_batch(&lin[L_FC1], b->y, batch, nt, b->hid, b->scratch);
        orfeas_nn_gelu(b->hid, b->hid_n);
        linear_batch(&lin[L_FC2], b->hid, batch, nt, b->y, b->scratch);
        for (size_t i = 0; i < b->all; i++)
            b->x[i] += ls2[i % NN_DIM] * b->y[i];
        if (l == 2 || l == 5 || l == 8 || l == 11) {
            for (int im = 0; im < batch; im++)
                orfeas_nn_layernorm(
                    b->x + (size_t)im * tok, nt, NN_DIM, T(m, "backbone.layernorm.weight"),
                    T(m, "backbone.layernorm.bias"), 1e-6f, feats[im] + (size_t)tapi * tok);
            snprintf(name, sizeof(name), "feat%d", tapi);
            tap_out(tap, ud, name, feats[0] + (size_t)tapi * tok, tok);
            tapi++;
        }
    }
    return 0;
}

/* The DPT head of one image from its four token layers (feats + k * tok,
 * [1+N, 384]); releases feats once they are reassembled. */
static int head(const orfeas_depth_model *m, float *feats, int h, int w, float *out,
                nn_depth_tap_fn tap, void *ud)
{
    int ph = h / 14, pw = w / 14, rc = 0;
    size_t tok = ((size_t)ph * pw + 1) * NN_DIM;
    nn_map rn[4] = {{0}}, path = {0}, next = {0}, o1 = {0}, o2 = {0}, o3 = {0}, o4 = {0};
    for (int k = 0; k < 4 && !rc; k++) {
        rc = reassemble(m, k, feats + (size_t)k * tok + NN_DIM, ph, pw, &rn[k]);
        if (!rc) {
            char nm[8];
            snprintf(nm, sizeof(nm), "rn%d", k + 1);
            tap_out(tap, ud, nm, rn[k].d, (size_t)rn[k].c * rn[k].h * rn[k].w);
        }
    }
    orfeas_nn_release(feats, 4 * tok * sizeof(float));
    /* path4 = F0(rn4) -> size of rn3; path3 = F1(path4, rn3) -> rn2; ... */
    if (!rc) {
        nn_map x4;
        rc = orfeas_nn_map_alloc(&x4, rn[3].c, rn[3].h, rn[3].w);
        if (!rc) {
            memcpy(x4.d, rn[3].d, (size_t)x4.c * x4.h * x4.w * sizeof(float));
            rc = fuse(m, 0, &x4, NULL, rn[2].h, rn[2].w, &path);
        }
    }
    for (int j = 1; j < 4 && !rc; j++) {
        char nm[8];
        snprintf(nm, sizeof(nm), "path%d", 5 - j);
        tap_out(tap, ud, nm, path.d, (size_t)path.c * path.h * path.w);
        const nn_map *skip = &rn[3 - j];
        int oh = j < 3 ? rn[2 - j].h : skip->h * 2, ow = j < 3 ? rn[2 - j].w : skip->w * 2;
        next = (nn_map){0};
        rc = fuse(m, j, &path, skip, oh, ow, &next);
        path = next;
    }
    if (!rc) tap_out(tap, ud, "path1", path.d, (size_t)path.c * path.h * path.w);
    for (int k = 0; k < 4; k++)
        orfeas_nn_map_free(&rn[k]);
    /* Head: conv1 -> bilinear to (h, w) -> conv2 -> ReLU -> conv3 -> ReLU. */
    if (!rc)
        rc = orfeas_nn_conv2d(&path, T(m, "head.conv1.weight"), T(m, "head.conv1.bias"), 32, 3, 1,
                              1, &o1);
    orfeas_nn_map_free(&path);
    if (!rc) rc = orfeas_nn_resize_bilinear_ac(&o1, h, w, &o2);
    orfeas_nn_map_free(&o1);
    if (!rc)
        rc = orfeas_nn_conv2d(&o2, T(m, "head.conv2.weight"), T(m, "head.conv2.bias"), 32, 3, 1, 1,
                              &o3);
    orfeas_nn_map_free(&o2);
    if (!rc) {
        orfeas_nn_relu(o3.d, (size_t)o3.c * h * w);
        rc = orfeas_nn_conv2d(&o3, T(m, "head.conv3.weight"), T(m, "head.conv3.bias"), 1, 1, 1, 0,
                              &o4);
    }
    orfeas_nn_map_free(&o3);
    if (!rc) {
        tap_out(tap, ud, "prerelu", o4.d, (size_t)h * w);
        memcpy(out, o4.d, (size_t)h * w * sizeof(float));
        orfeas_nn_relu(out, (size_t)h * w);
    }
    orfeas_nn_map_free(&o4);
    return rc;
}

/* The encoder on the whole batch, then the head image by image (its maps
 * are the big ones: one image's at a time). */
static int forward(const orfeas_depth_model *m, const float *const *chw, int batch, int h, int w,
                   float *const *out, nn_depth_tap_fn tap, void *ud)
{
    size_t tok = ((size_t)(h / 14) * (w / 14) + 1) * NN_DIM;
    float *feats[NN_MAX_BATCH] = {NULL};
    int rc = 0;
    for (int im = 0; im < batch && !rc; im++)
        if (!(feats[im] = falloc(4 * tok))) rc = ORFEAS_ENOMEM;
    enc_bufs b = {0};
    if (!rc) rc = encoder(m, chw, batch, h, w, &b, feats, tap, ud);
    /* Frees the encoder's buffers before the head's big maps. */
    enc_free(&b);
    for (int im = 0; im < batch; im++) {
        if (!rc)
            rc = head(m, feats[im], h, w, out[im], tap, ud); /* releases feats[im] */
        else
            orfeas_nn_release(feats[im], 4 * tok * sizeof(float));
    }
    if (rc == ORFEAS_ENOMEM)
        ORFEAS_ERROR("depth: out of memory for %d input(s) of %dx%d", batch, w, h);
    return rc;
}

int orfeas_nn_depth_check_size(int h, int w)
{
    if (h < 14 || w < 14 || h % 14 || w % 14) return ORFEAS_EINVAL;
    /* At most 128 x 128 patches (1792 x 1792): one head's n x n scores are then
     * <= 1 GiB and every size stays far from overflow. */
    if ((long)(h / 14) * (w / 14) > 128L * 128L) return ORFEAS_EINVAL;
    return 0;
}

int orfeas_nn_depth_forward_batch(const orfeas_depth_model *m, const float *const *chw, int batch,
                                  int h, int w, float *const *out, nn_depth_tap_fn tap, void *ud)
{
    if (!m || !chw || !out || batch < 1 || batch > NN_MAX_BATCH || orfeas_nn_depth_check_size(h, w))
        return ORFEAS_EINVAL;
    for (int i = 0; i < batch; i++)
        if (!chw[i] || !out[i]) return ORFEAS_EINVAL;
    /* On the device the model was uploaded to, one image at a time (the
     * taps of the tests read host intermediates: those stay on the CPU). */
    if (m->cuda && !tap) {
        int rc = 0;
        for (int i = 0; i < batch && !rc; i++)
            rc = orfeas_nn_depth_cuda_run(m->cuda, chw[i], h, w, out[i]);
        return rc;
    }
    if (!m->half_params) return forward(m, chw, batch, h, w, out, tap, ud);
    /* A view of the model whose fp16 tensors are expanded for this run
     * (once for the whole batch). */
    orfeas_depth_model *view = orfeas_nn_alloc(sizeof(*view));
    float *arena = falloc(m->half_params);
    if (!view || !arena) {
        orfeas_nn_release(view, sizeof(*view));
        orfeas_nn_release(arena, m->half_params * sizeof(float));
        return ORFEAS_ENOMEM;
    }
    *view = *m;
    size_t off = 0;
    for (int i = 0; i < NN_DA_TENSORS; i++) {
        if (!m->half[i]) continue;
        size_t n = orfeas_nn_spec_numel(&orfeas_nn_da_specs[i]);
        for (size_t k = 0; k < n; k++)
            arena[off + k] = orfeas_f16_to_f32(m->half[i][k]);
        view->t[i] = arena + off;
        off += n;
    }
    int rc = forward(view, chw, batch, h, w, out, tap, ud);
    orfeas_nn_release(arena, m->half_params * sizeof(float));
    orfeas_nn_release(view, sizeof(*view));
    return rc;
}

int orfeas_nn_depth_forward(const orfeas_depth_model *m, const float *chw, int h, int w, float *out,
                            nn_depth_tap_fn tap, void *ud)
{
    return orfeas_nn_depth_forward_batch(m, &chw, 1, h, w, &out, tap, ud);
}

int orfeas_depth_run(const orfeas_depth_model *m, const float *chw, int h, int w, float *out)
{
    return orfeas_nn_depth_forward(m, chw, h, w, out, NULL, NULL);
}

int orfeas_depth_run_batch(const orfeas_depth_model *m, const float *chw, int batch, int h, int w,
                           float *out)
{
    if (!chw || !out || batch < 1 || batch > NN_MAX_BATCH || orfeas_nn_depth_check_size(h, w))
        return ORFEAS_EINVAL;
    const float *in[NN_MAX_BATCH];
    float *res[NN_MAX_BATCH];
    for (int i = 0; i < batch; i++) {
        in[i] = chw + (size_t)i * 3 * h * w;
        res[i] = out + (size_t)i * h * w;
    }
    return orfeas_nn_depth_forward_batch(m, in, batch, h, w, res, NULL, NULL);
}
