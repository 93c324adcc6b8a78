/* What a forward pass allocates, computed from the input size: the
 * estimate behind the VRAM manager's reservation for a depth job.
 *
 * It walks the forward pass of depth_anything.c stage by stage with the
 * same shapes (patch grid ph x pw = h/14 x w/14, nt = ph*pw + 1 tokens of
 * NN_DIM, NN_MLP hidden units, the DPT maps at 4x, 2x, 1x and 1/2x the
 * grid, fused up to 8x, then the head at h x w) and keeps the peak of the
 * bytes alive, as the counting allocator (alloc.c) sees them:
 *
 *   encoder:  feats 4*B*T + x,y,q,k,v,a 6*B*T + hidden B*nt*NN_MLP
 *             + one nt x nt score matrix + one dequantised weight
 *             (NN_MLP*NN_DIM) + one image's patches (ph*pw*588),
 *             T = nt*NN_DIM floats;
 *   head:     the other images' feats + one image's DPT maps, whose peak
 *             is the head's second 3x3 conv at full size (two 32-channel
 *             h x w maps + an im2col band <= 16 MiB);
 *   below fp32, the convs' fp16 weights expanded once per pass.
 *
 * The result gets 1/16 + 64 KiB of headroom for what the walk does not
 * see (allocator rounding); tests/test_nn_batch.c checks it against the
 * measured peak at several sizes, batches and precisions. */
#include "nn/depth_internal.h"
#include "nn/depth_model.h"
#include "nn/tensor.h"
#include "nn/weights.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdint.h>

typedef struct walk {
    uint64_t live, peak;
} walk;

static void take(walk *k, uint64_t bytes)
{
    k->live += bytes;
    if (k->live > k->peak) k->peak = k->live;
}

static void give(walk *k, uint64_t bytes)
{
    k->live -= bytes;
}

static uint64_t map_bytes(int c, int h, int w)
{
    return (uint64_t)c * h * w * sizeof(float);
}

/* orfeas_nn_conv2d: the output map, then its im2col band for the duration. */
static void conv(walk *k, int ci, int co, int ks, int stride, int pad, int h, int w, int *oh,
                 int *ow)
{
    int ho = (h + 2 * pad - ks) / stride + 1, wo = (w + 2 * pad - ks) / stride + 1;
    take(k, map_bytes(co, ho, wo));
    uint64_t col = orfeas_nn_conv_col_floats(ci, ks, stride, pad, ho, wo) * sizeof(float);
    take(k, col);
    give(k, col);
    *oh = ho;
    *ow = wo;
}

/* rcu: a copy of y, conv1 into b, conv2 into c; the copy and b freed. */
static void rcu(walk *k, int h, int w)
{
    int oh, ow;
    take(k, map_bytes(NN_FEAT, h, w));
    conv(k, NN_FEAT, NN_FEAT, 3, 1, 1, h, w, &oh, &ow);
    give(k, map_bytes(NN_FEAT, h, w));
    conv(k, NN_FEAT, NN_FEAT, 3, 1, 1, h, w, &oh, &ow);
    give(k, map_bytes(NN_FEAT, h, w));
}

/* fuse: x (h, w) [+ rcu(skip)] -> rcu -> resize (oh, ow) -> 1x1; x consumed. */
static void fuse(walk *k, int h, int w, int skip, int oh, int ow)
{
    int a, b;
    if (skip) {
        rcu(k, h, w);
        give(k, map_bytes(NN_FEAT, h, w));
    }
    rcu(k, h, w);
    give(k, map_bytes(NN_FEAT, h, w)); /* x */
    take(k, map_bytes(NN_FEAT, oh, ow));
    give(k, map_bytes(NN_FEAT, h, w));
    conv(k, NN_FEAT, NN_FEAT, 1, 1, 0, oh, ow, &a, &b);
    give(k, map_bytes(NN_FEAT, oh, ow));
}

/* reassemble k: tokens -> [384, ph, pw] -> 1x1 -> resize -> neck conv. */
static void reassemble(walk *k, int stage, int ph, int pw, int *rh, int *rw)
{
    static const int ch[4] = {48, 96, 192, 384};
    int c = ch[stage], h = ph, w = pw, oh, ow;
    take(k, map_bytes(NN_DIM, ph, pw));
    conv(k, NN_DIM, c, 1, 1, 0, ph, pw, &oh, &ow);
    give(k, map_bytes(NN_DIM, ph, pw));
    if (stage < 2) {
        int f = stage == 0 ? 4 : 2;
        uint64_t tmp = map_bytes(c * f * f, ph, pw);
        take(k, tmp);
        take(k, map_bytes(c, ph * f, pw * f));
        give(k, tmp);
        give(k, map_bytes(c, ph, pw));
        h = ph * f, w = pw * f;
    } else if (stage == 3) {
        conv(k, c, c, 3, 2, 1, ph, pw, &h, &w);
        give(k, map_bytes(c, ph, pw));
    }
    conv(k, c, NN_FEAT, 3, 1, 1, h, w, rh, rw);
    give(k, map_bytes(c, h, w));
}

/* One image's DPT head; its token layers (4 * tok floats) are alive on
 * entry and released after the reassembly. */
static void head(walk *k, int h, int w)
{
    int ph = h / 14, pw = w / 14, rh[4], rw[4], a, b;
    for (int s = 0; s < 4; s++)
        reassemble(k, s, ph, pw, &rh[s], &rw[s]);
    give(k, 4 * ((uint64_t)ph * pw + 1) * NN_DIM * sizeof(float));
    take(k, map_bytes(NN_FEAT, rh[3], rw[3])); /* the copy of rn4 */
    fuse(k, rh[3], rw[3], 0, rh[2], rw[2]);
    fuse(k, rh[2], rw[2], 1, rh[1], rw[1]);
    fuse(k, rh[1], rw[1], 1, rh[0], rw[0]);
    fuse(k, rh[0], rw[0], 1, 2 * rh[0], 2 * rw[0]);
    for (int s = 0; s < 4; s++)
        give(k, map_bytes(NN_FEAT, rh[s], rw[s]));
    int ph1 = 2 * rh[0], pw1 = 2 * rw[0];
    conv(k, NN_FEAT, 32, 3, 1, 1, ph1, pw1, &a, &b);
    give(k, map_bytes(NN_FEAT, ph1, pw1));
    take(k, map_bytes(32, h, w));
    give(k, map_bytes(32, ph1, pw1));
    conv(k, 32, 32, 3, 1, 1, h, w, &a, &b);
    give(k, map_bytes(32, h, w));
    conv(k, 32, 1, 1, 1, 0, h, w, &a, &b);
    give(k, map_bytes(32, h, w));
    give(k, map_bytes(1, h, w));
}

/* Parameters of the tensors kept as fp16 below fp32: every weight of 2+
 * dims but the encoder's linears. */
static uint64_t half_params(void)
{
    uint64_t n = 0;
    for (int i = 0; i < NN_DA_TENSORS; i++)
        if (orfeas_nn_da_specs[i].ndim >= 2) n += orfeas_nn_spec_numel(&orfeas_nn_da_specs[i]);
    return n - (uint64_t)NN_LAYERS * (4u * NN_DIM * NN_DIM + 2u * NN_DIM * NN_MLP);
}

static uint64_t headroom(uint64_t bytes)
{
    return bytes + bytes / 16 + 64 * 1024;
}

/* The walk's peak, without headroom. */
static uint64_t activation_peak(int h, int w, int batch, orfeas_depth_precision p)
{
    int ph = h / 14, pw = w / 14, np = ph * pw, nt = np + 1;
    uint64_t tok = (uint64_t)nt * NN_DIM * sizeof(float);
    walk k = {0, 0};
    if (p != ORFEAS_DEPTH_FP32) {
        take(&k, sizeof(orfeas_depth_model));
        take(&k, half_params() * sizeof(float));
    }
    take(&k, 4 * tok * (uint64_t)batch); /* feats */
    uint64_t enc = 6 * tok * (uint64_t)batch +
                   (uint64_t)batch * nt * NN_MLP * sizeof(float) /* hidden */
                   + (uint64_t)nt * nt * sizeof(float)           /* scores */
                   + (uint64_t)NN_MLP * NN_DIM * sizeof(float)   /* dequantised weight */
                   + (uint64_t)np * 3 * 14 * 14 * sizeof(float); /* patches */
    take(&k, enc);
    give(&k, enc);
    for (int i = 0; i < batch; i++)
        head(&k, h, w);
    return k.peak;
}

size_t orfeas_depth_activation_bytes(int h, int w, int batch, orfeas_depth_precision p)
{
    if (batch < 1 || batch > ORFEAS_DEPTH_MAX_BATCH || orfeas_nn_depth_check_size(h, w) ||
        (unsigned)p > ORFEAS_DEPTH_INT8)
        return 0;
    return (size_t)headroom(activation_peak(h, w, batch, p));
}

int orfeas_depth_input_size(uint32_t width, uint32_t height, int *h, int *w)
{
    if (width < 1 || height < 1) return ORFEAS_EINVAL;
    double scale = fmax(518.0 / height, 518.0 / width);
    double x[2] = {scale * height, scale * width};
    int y[2];
    /* The official Resize(518, keep_aspect_ratio, lower_bound, multiple of 14). */
    for (int i = 0; i < 2; i++) {
        double v = round(x[i] / 14.0) * 14.0;
        if (v < 518) v = ceil(x[i] / 14.0) * 14.0;
        if (!(v <= 1e7)) return ORFEAS_EINVAL; /* far past 128 x 128 patches anyway */
        y[i] = (int)v;
    }
    if (orfeas_nn_depth_check_size(y[0], y[1])) return ORFEAS_EINVAL;
    *h = y[0];
    *w = y[1];
    return 0;
}

size_t orfeas_depth_infer_bytes(uint32_t width, uint32_t height, orfeas_depth_precision p)
{
    int nh, nw;
    if (orfeas_depth_input_size(width, height, &nh, &nw)) return 0;
    if ((unsigned)p > ORFEAS_DEPTH_INT8) return 0;
    uint64_t act = activation_peak(nh, nw, 1, p);
    /* depth_image.c: the RGB map and the resized one with the bicubic
     * tables; then the resized one, the network's map and the pass; then
     * the network's map and the full-size depth. */
    uint64_t src = map_bytes(3, (int)height, (int)width), in = map_bytes(3, nh, nw);
    uint64_t tables = (uint64_t)4 * nw * (sizeof(int) + sizeof(double));
    uint64_t net = map_bytes(1, nh, nw), full = map_bytes(1, (int)height, (int)width);
    uint64_t peak = src + in + tables;
    if (in + net + act > peak) peak = in + net + act;
    if (net + full > peak) peak = net + full;
    return (size_t)headroom(peak);
}
