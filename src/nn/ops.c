#include "nn/tensor.h"

#include "core/half.h"
#include "orfeas/error.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int orfeas_nn_map_alloc(nn_map *m, int c, int h, int w)
{
    m->d = NULL;
    m->c = m->h = m->w = 0;
    if (c <= 0 || h <= 0 || w <= 0) return ORFEAS_EINVAL;
    size_t n = (size_t)c;
    if (n > SIZE_MAX / sizeof(float) / (size_t)h) return ORFEAS_ENOMEM;
    n *= (size_t)h;
    if (n > SIZE_MAX / sizeof(float) / (size_t)w) return ORFEAS_ENOMEM;
    n *= (size_t)w;
    m->d = orfeas_nn_alloc(n * sizeof(float));
    if (!m->d) return ORFEAS_ENOMEM;
    m->c = c;
    m->h = h;
    m->w = w;
    return 0;
}

void orfeas_nn_map_free(nn_map *m)
{
    orfeas_nn_release(m->d, (size_t)m->c * m->h * m->w * sizeof(float));
    m->d = NULL;
    m->c = m->h = m->w = 0;
}

const float *orfeas_nn_linear_weights(const nn_linear *l, float *scratch)
{
    size_t in = (size_t)l->in;
    if (l->w) return l->w;
    if (l->q) {
        /* Dequantize per use: activations stay float, weights stay int8 in memory. */
        for (int o = 0; o < l->out; o++) {
            const int8_t *qr = l->q + (size_t)o * in;
            float s = l->qscale[o], *dr = scratch + (size_t)o * in;
            for (size_t i = 0; i < in; i++)
                dr[i] = (float)qr[i] * s;
        }
    } else {
        size_t total = in * (size_t)l->out;
        for (size_t i = 0; i < total; i++)
            scratch[i] = orfeas_f16_to_f32(l->h[i]);
    }
    return scratch;
}

void orfeas_nn_linear_apply(const nn_linear *l, const float *w, const float *x, int n, float *y)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, l->out, l->in, 1.0f, x, l->in, w, l->in,
                0.0f, y, l->out);
    if (l->b)
        for (int r = 0; r < n; r++) {
            float *yr = y + (size_t)r * l->out;
            for (int o = 0; o < l->out; o++)
                yr[o] += l->b[o];
        }
}

void orfeas_nn_linear_fwd(const nn_linear *l, const float *x, int n, float *y, float *scratch)
{
    orfeas_nn_linear_apply(l, orfeas_nn_linear_weights(l, scratch), x, n, y);
}

void orfeas_nn_layernorm(const float *x, int n, int c, const float *g, const float *b, float eps,
                         float *y)
{
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * c;
        float *yr = y + (size_t)r * c;
        double s = 0.0;
        for (int i = 0; i < c; i++)
            s += xr[i];
        double mean = s / c, v = 0.0;
        for (int i = 0; i < c; i++) {
            double d = xr[i] - mean;
            v += d * d;
        }
        double inv = 1.0 / sqrt(v / c + (double)eps);
        for (int i = 0; i < c; i++)
            yr[i] = (float)((xr[i] - mean) * inv) * g[i] + b[i];
    }
}

void orfeas_nn_relu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void orfeas_nn_attention(const float *q, const float *k, const float *v, int ld, int n, int heads,
                         int dh, float *out, float *scores)
{
    /* 1/sqrt(dh) is a power of two for dh = 64: scaling the product is the
     * same as scaling q first, as the official code does. */
    float scale = 1.0f / sqrtf((float)dh);
    for (int h = 0; h < heads; h++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dh, scale, q + h * dh, ld,
                    k + h * dh, ld, 0.0f, scores, n);
        orfeas_nn_softmax_rows(scores, n, n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, n, 1.0f, scores, n,
                    v + h * dh, ld, 0.0f, out + h * dh, heads * dh);
    }
}

size_t orfeas_nn_conv_col_floats(int ci, int k, int stride, int pad, int ho, int wo)
{
    if (k == 1 && stride == 1 && pad == 0) return 0;
    size_t kk = (size_t)ci * k * k;
    size_t band = NN_COL_BUDGET / (kk * (size_t)wo);
    if (band < 1) band = 1;
    if (band > (size_t)ho) band = (size_t)ho;
    return kk * band * (size_t)wo;
}

int orfeas_nn_conv2d(const nn_map *x, const float *w, const float *b, int co, int k, int stride,
                     int pad, nn_map *y)
{
    int ho = (x->h + 2 * pad - k) / stride + 1, wo = (x->w + 2 * pad - k) / stride + 1;
    if (ho <= 0 || wo <= 0) return ORFEAS_EINVAL;
    int rc = orfeas_nn_map_alloc(y, co, ho, wo);
    if (rc) return rc;
    size_t hw = (size_t)ho * wo, kk = (size_t)x->c * k * k;
    size_t col_floats = orfeas_nn_conv_col_floats(x->c, k, stride, pad, ho, wo);
    if (col_floats == 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, co, (int)hw, x->c, 1.0f, w, x->c,
                    x->d, (int)hw, 0.0f, y->d, (int)hw);
    } else {
        size_t band = col_floats / (kk * (size_t)wo);
        float *col = orfeas_nn_alloc(col_floats * sizeof(float));
        if (!col) {
            orfeas_nn_map_free(y);
            return ORFEAS_ENOMEM;
        }
        for (int oy0 = 0; oy0 < ho; oy0 += (int)band) {
            int rows = ho - oy0 < (int)band ? ho - oy0 : (int)band;
            size_t ncol = (size_t)rows * wo;
            for (int c = 0; c < x->c; c++)
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        float *dst = col + (((size_t)c * k + ky) * k + kx) * ncol;
                        const float *src = x->d + (size_t)c * x->h * x->w;
                        for (int r = 0; r < rows; r++) {
                            int iy = (oy0 + r) * stride - pad + ky;
                            float *dr = dst + (size_t)r * wo;
                            if (iy < 0 || iy >= x->h) {
                                memset(dr, 0, (size_t)wo * sizeof(float));
                                continue;
                            }
                            const float *sr = src + (size_t)iy * x->w;
                            if (stride == 1) {
                                /* One contiguous span, zeros where it leaves the map. */
                                int lo = pad - kx > 0 ? pad - kx : 0;
                                int hi = x->w + pad - kx < wo ? x->w + pad - kx : wo;
                                if (hi < lo) hi = lo;
                                for (int ox = 0; ox < lo; ox++)
                                    dr[ox] = 0.0f;
                                if (hi > lo)
                                    memcpy(dr + lo, sr + lo - pad + kx,
                                           (size_t)(hi - lo) * sizeof(float));
                                for (int ox = hi; ox < wo; ox++)
                                    dr[ox] = 0.0f;
                                continue;
                            }
                            for (int ox = 0; ox < wo; ox++) {
                                int ix = ox * stride - pad + kx;
                                dr[ox] = (ix >= 0 && ix < x->w) ? sr[ix] : 0.0f;
                            }
                        }
                    }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, co, (int)ncol, (int)kk, 1.0f, w,
                        (int)kk, col, (int)ncol, 0.0f, y->d + (size_t)oy0 * wo, (int)hw);
        }
        orfeas_nn_release(col, col_floats * sizeof(float));
    }
    if (b)
        for (int o = 0; o < co; o++) {
            float *yo = y->d + (size_t)o * hw;
            for (size_t i = 0; i < hw; i++)
                yo[i] += b[o];
        }
    return 0;
}

int orfeas_nn_conv_transpose(const nn_map *x, const float *w, const float *b, int co, int k,
                             nn_map *y)
{
    size_t hw = (size_t)x->h * x->w, rows = (size_t)co * k * k;
    float *tmp = orfeas_nn_alloc(rows * hw * sizeof(float));
    if (!tmp) return ORFEAS_ENOMEM;
    int rc = orfeas_nn_map_alloc(y, co, x->h * k, x->w * k);
    if (rc) {
        orfeas_nn_release(tmp, rows * hw * sizeof(float));
        return rc;
    }
    /* tmp[(o,ky,kx), (i,j)] = sum_c W[c, (o,ky,kx)] x[c, (i,j)] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)hw, x->c, 1.0f, w,
                (int)rows, x->d, (int)hw, 0.0f, tmp, (int)hw);
    for (int o = 0; o < co; o++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *t = tmp + (((size_t)o * k + ky) * k + kx) * hw;
                for (int i = 0; i < x->h; i++)
                    for (int j = 0; j < x->w; j++)
                        y->d[((size_t)o * y->h + (size_t)i * k + ky) * y->w + (size_t)j * k + kx] =
                            t[(size_t)i * x->w + j] + (b ? b[o] : 0.0f);
            }
    orfeas_nn_release(tmp, rows * hw * sizeof(float));
    return 0;
}

int orfeas_nn_resize_bilinear_ac(const nn_map *x, int oh, int ow, nn_map *y)
{
    int rc = orfeas_nn_map_alloc(y, x->c, oh, ow);
    if (rc) return rc;
    /* align_corners=True: src = dst * (in - 1) / (out - 1), as PyTorch (float). */
    float sy = oh > 1 ? (float)(x->h - 1) / (float)(oh - 1) : 0.0f;
    float sx = ow > 1 ? (float)(x->w - 1) / (float)(ow - 1) : 0.0f;
    for (int c = 0; c < x->c; c++) {
        const float *src = x->d + (size_t)c * x->h * x->w;
        float *dst = y->d + (size_t)c * oh * ow;
        for (int i = 0; i < oh; i++) {
            float fy = sy * (float)i;
            int y0 = (int)fy;
            if (y0 > x->h - 1) y0 = x->h - 1;
            int y1 = y0 + (y0 < x->h - 1);
            float ly = fy - (float)y0, hy = 1.0f - ly;
            for (int j = 0; j < ow; j++) {
                float fx = sx * (float)j;
                int x0 = (int)fx;
                if (x0 > x->w - 1) x0 = x->w - 1;
                int x1 = x0 + (x0 < x->w - 1);
                float lx = fx - (float)x0, hx = 1.0f - lx;
                const float *r0 = src + (size_t)y0 * x->w, *r1 = src + (size_t)y1 * x->w;
                dst[(size_t)i * ow + j] =
                    hy * (hx * r0[x0] + lx * r0[x1]) + ly * (hx * r1[x0] + lx * r1[x1]);
            }
        }
    }
    return 0;
}

static void cubic_weights(double t, double wt[4])
{
    const double A = -0.75;
    double x1 = t + 1.0, x2 = 1.0 - t, x3 = 2.0 - t;
    wt[0] = ((A * x1 - 5.0 * A) * x1 + 8.0 * A) * x1 - 4.0 * A;
    wt[1] = ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    wt[2] = ((A + 2.0) * x2 - (A + 3.0)) * x2 * x2 + 1.0;
    wt[3] = ((A * x3 - 5.0 * A) * x3 + 8.0 * A) * x3 - 4.0 * A;
}

/* Taps and weights of one output coordinate (the README's formula). */
static void cubic_taps(int dst, int n, int g, int idx[4], double wt[4])
{
    double src = (dst + 0.5) * ((double)g / (n + 0.1)) - 0.5;
    double f = floor(src);
    cubic_weights(src - f, wt);
    for (int i = 0; i < 4; i++) {
        long v = (long)f - 1 + i;
        idx[i] = v < 0 ? 0 : v > g - 1 ? g - 1 : (int)v;
    }
}

void orfeas_nn_pos_interp(const float *src, int g, int c, int oh, int ow, float *dst)
{
    for (int i = 0; i < oh; i++) {
        int iy[4];
        double wy[4];
        cubic_taps(i, oh, g, iy, wy);
        for (int j = 0; j < ow; j++) {
            int ix[4];
            double wx[4];
            cubic_taps(j, ow, g, ix, wx);
            float *d = dst + ((size_t)i * ow + j) * c;
            for (int ch = 0; ch < c; ch++) {
                double acc = 0.0;
                for (int a = 0; a < 4; a++) {
                    double row = 0.0;
                    for (int bb = 0; bb < 4; bb++)
                        row += wx[bb] * src[((size_t)iy[a] * g + ix[bb]) * c + ch];
                    acc += wy[a] * row;
                }
                d[ch] = (float)acc;
            }
        }
    }
}

int orfeas_nn_resize_bicubic(const nn_map *x, int oh, int ow, nn_map *y)
{
    int rc = orfeas_nn_map_alloc(y, x->c, oh, ow);
    if (rc) return rc;
    int *ix = orfeas_nn_alloc(sizeof(int) * 4 * (size_t)ow);
    double *wx = orfeas_nn_alloc(sizeof(double) * 4 * (size_t)ow);
    if (!ix || !wx) {
        orfeas_nn_release(ix, sizeof(int) * 4 * (size_t)ow);
        orfeas_nn_release(wx, sizeof(double) * 4 * (size_t)ow);
        orfeas_nn_map_free(y);
        return ORFEAS_ENOMEM;
    }
    /* OpenCV INTER_CUBIC: half-pixel centres, scale in/out, replicated border. */
    double sy = (double)x->h / oh, sx = (double)x->w / ow;
    for (int j = 0; j < ow; j++) {
        double src = (j + 0.5) * sx - 0.5, f = floor(src);
        cubic_weights(src - f, wx + 4 * j);
        for (int t = 0; t < 4; t++) {
            long v = (long)f - 1 + t;
            ix[4 * j + t] = v < 0 ? 0 : v > x->w - 1 ? x->w - 1 : (int)v;
        }
    }
    for (int i = 0; i < oh; i++) {
        double src = (i + 0.5) * sy - 0.5, f = floor(src), wy[4];
        int iy[4];
        cubic_weights(src - f, wy);
        for (int t = 0; t < 4; t++) {
            long v = (long)f - 1 + t;
            iy[t] = v < 0 ? 0 : v > x->h - 1 ? x->h - 1 : (int)v;
        }
        for (int c = 0; c < x->c; c++) {
            const float *p = x->d + (size_t)c * x->h * x->w;
            float *d = y->d + ((size_t)c * oh + i) * ow;
            for (int j = 0; j < ow; j++) {
                double acc = 0.0;
                for (int a = 0; a < 4; a++) {
                    const float *r = p + (size_t)iy[a] * x->w;
                    const int *xj = ix + 4 * j;
                    const double *w = wx + 4 * j;
                    acc += wy[a] *
                           (w[0] * r[xj[0]] + w[1] * r[xj[1]] + w[2] * r[xj[2]] + w[3] * r[xj[3]]);
                }
                d[j] = (float)acc;
            }
        }
    }
    orfeas_nn_release(ix, sizeof(int) * 4 * (size_t)ow);
    orfeas_nn_release(wx, sizeof(double) * 4 * (size_t)ow);
    return 0;
}
