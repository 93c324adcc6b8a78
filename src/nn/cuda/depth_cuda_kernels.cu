/* The depth network's kernels on CUDA: grid-stride elementwise kernels
 * (launched with blocks_for's bounded grid) and the row reductions
 * (LayerNorm, softmax: one block a row), each evaluating the CPU's float (or
 * double) expressions in the CPU's order. */
#include "nn/cuda/depth_cuda_internal.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>

namespace orfeas_dc
{

#define FOR_EACH(i, n)                                                                             \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                        \
         i += (size_t)gridDim.x * blockDim.x)

__global__ void k_half_to_float(const __half *src, float *dst, size_t n)
{
    FOR_EACH(i, n) dst[i] = __half2float(src[i]);
}

/* orfeas_nn_linear_fwd's dequantisation: (float)q * scale per output row. */
__global__ void k_dequant(const int8_t *q, const float *scale, size_t in, size_t n, float *dst)
{
    FOR_EACH(i, n) dst[i] = (float)q[i] * scale[i / in];
}

__global__ void k_bias_rows(float *y, const float *b, size_t out, size_t n)
{
    FOR_EACH(i, n) y[i] += b[i % out];
}

__global__ void k_bias_channels(float *y, const float *b, size_t hw, size_t n)
{
    FOR_EACH(i, n) y[i] += b[i / hw];
}

__global__ void k_add(float *x, const float *y, size_t n)
{
    FOR_EACH(i, n) x[i] += y[i];
}

/* x += ls[c] * y (layer scale), as the encoder's residuals. */
__global__ void k_scaled_residual(float *x, const float *ls, const float *y, size_t c, size_t n)
{
    FOR_EACH(i, n) x[i] += ls[i % c] * y[i];
}

__global__ void k_relu(float *x, size_t n)
{
    FOR_EACH(i, n) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void k_gelu(float *x, size_t n)
{
    FOR_EACH(i, n) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

/* The 14 x 14 stride-14 patches as rows [np, 3*14*14] (the encoder's copy). */
__global__ void k_patches(const float *img, int h, int w, int pw, float *patches, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t p = id / 588, r = id % 588;
        int c = (int)(r / 196), ky = (int)(r % 196) / 14, kx = (int)(r % 14);
        int i = (int)(p / (size_t)pw), j = (int)(p % (size_t)pw);
        patches[id] = img[((size_t)c * h + (size_t)i * 14 + ky) * w + (size_t)j * 14 + kx];
    }
}

/* Tokens [n, c] (class token skipped by the caller) to a map [c, n]. */
__global__ void k_tokens_to_map(const float *tok, int c, size_t np, float *map, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t ch = id / np, i = id % np;
        map[id] = tok[i * (size_t)c + ch];
    }
}

__global__ void k_im2col(const float *x, int xh, int xw, int k, int stride, int pad, int oy0,
                         int wo, size_t ncol, float *col, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t q = id / ncol, rem = id % ncol;
        int r = (int)(rem / (size_t)wo), ox = (int)(rem % (size_t)wo);
        int kx = (int)(q % (size_t)k), ky = (int)(q / (size_t)k % (size_t)k);
        size_t c = q / ((size_t)k * k);
        int iy = (oy0 + r) * stride - pad + ky, ix = ox * stride - pad + kx;
        col[id] = (iy >= 0 && iy < xh && ix >= 0 && ix < xw)
                      ? x[(c * xh + (size_t)iy) * xw + (size_t)ix]
                      : 0.0f;
    }
}

/* orfeas_nn_conv_transpose's scatter: y[o, i*k+ky, j*k+kx] = tmp[(o,ky,kx), (i,j)] + b[o]. */
__global__ void k_convt_scatter(const float *tmp, const float *b, int k, int xh, int xw, float *y,
                                size_t n)
{
    FOR_EACH(id, n)
    {
        size_t yh = (size_t)xh * k, yw = (size_t)xw * k, hw = (size_t)xh * xw;
        size_t o = id / (yh * yw), rem = id % (yh * yw);
        size_t yy = rem / yw, xx = rem % yw;
        size_t i = yy / k, ky = yy % k, j = xx / k, kx = xx % k;
        const float *t = tmp + ((o * k + ky) * k + kx) * hw;
        y[id] = t[i * xw + j] + (b ? b[o] : 0.0f);
    }
}

/* orfeas_nn_resize_bilinear_ac, the same float expressions. */
__global__ void k_resize_bilinear_ac(const float *x, int xh, int xw, int oh, int ow, float sy,
                                     float sx, float *y, size_t n)
{
    FOR_EACH(id, n)
    {
        size_t c = id / ((size_t)oh * ow), rem = id % ((size_t)oh * ow);
        int i = (int)(rem / (size_t)ow), j = (int)(rem % (size_t)ow);
        const float *src = x + c * xh * xw;
        float fy = sy * (float)i;
        int y0 = (int)fy;
        if (y0 > xh - 1) y0 = xh - 1;
        int y1 = y0 + (y0 < xh - 1);
        float ly = fy - (float)y0, hy = 1.0f - ly;
        float fx = sx * (float)j;
        int x0 = (int)fx;
        if (x0 > xw - 1) x0 = xw - 1;
        int x1 = x0 + (x0 < xw - 1);
        float lx = fx - (float)x0, hx = 1.0f - lx;
        const float *r0 = src + (size_t)y0 * xw, *r1 = src + (size_t)y1 * xw;
        y[id] = hy * (hx * r0[x0] + lx * r0[x1]) + ly * (hx * r1[x0] + lx * r1[x1]);
    }
}

/* orfeas_nn_pos_interp (ops.c), in double as there, one thread per value. */
static __device__ void cubic_weights(double t, double wt[4])
{
    const double A = -0.75;
    double x1 = t + 1.0, x2 = 1.0 - t, x3 = 2.0 - t;
    wt[0] = ((A * x1 - 5.0 * A) * x1 + 8.0 * A) * x1 - 4.0 * A;
    wt[1] = ((A + 2.0) * t - (A + 3.0)) * t * t + 1.0;
    wt[2] = ((A + 2.0) * x2 - (A + 3.0)) * x2 * x2 + 1.0;
    wt[3] = ((A * x3 - 5.0 * A) * x3 + 8.0 * A) * x3 - 4.0 * A;
}

static __device__ void cubic_taps(int dst, int n, int g, int idx[4], double wt[4])
{
    double src = (dst + 0.5) * ((double)g / (n + 0.1)) - 0.5;
    double f = floor(src);
    cubic_weights(src - f, wt);
    for (int i = 0; i < 4; i++) {
        long long v = (long long)f - 1 + i;
        idx[i] = v < 0 ? 0 : v > g - 1 ? g - 1 : (int)v;
    }
}

__global__ void k_pos_interp(const float *src, int g, int c, int oh, int ow, float *dst, size_t n)
{
    FOR_EACH(id, n)
    {
        int ch = (int)(id % (size_t)c);
        size_t p = id / (size_t)c;
        int i = (int)(p / (size_t)ow), j = (int)(p % (size_t)ow);
        int iy[4], ix[4];
        double wy[4], wx[4];
        cubic_taps(i, oh, g, iy, wy);
        cubic_taps(j, ow, g, ix, wx);
        double acc = 0.0;
        for (int a = 0; a < 4; a++) {
            double row = 0.0;
            for (int bb = 0; bb < 4; bb++)
                row += wx[bb] * src[((size_t)iy[a] * g + ix[bb]) * c + ch];
            acc += wy[a] * row;
        }
        dst[id] = (float)acc;
    }
}

template <typename T> static __device__ T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

static __device__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}

/* The block's sum (or max), returned to every thread; sh holds 32 values. */
template <typename T, bool MAX> static __device__ T block_reduce(T v, T *sh)
{
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    if constexpr (MAX)
        v = warp_max(v);
    else
        v = warp_sum(v);
    __syncthreads(); /* sh may still be read by the previous reduction */
    if (lane == 0) sh[wid] = v;
    __syncthreads();
    if (wid == 0) {
        T t = lane < warps ? sh[lane] : (MAX ? sh[0] : (T)0);
        if constexpr (MAX)
            t = warp_max(t);
        else
            t = warp_sum(t);
        if (lane == 0) sh[0] = t;
    }
    __syncthreads();
    return sh[0];
}

/* orfeas_nn_layernorm: one block per row, mean and variance summed in double. */
__global__ void k_layernorm(const float *x, int c, const float *g, const float *b, float eps,
                            float *y)
{
    __shared__ double sh[32];
    const float *xr = x + (size_t)blockIdx.x * c;
    float *yr = y + (size_t)blockIdx.x * c;
    double s = 0.0;
    for (int i = threadIdx.x; i < c; i += blockDim.x)
        s += xr[i];
    s = block_reduce<double, false>(s, sh);
    double mean = s / c, v = 0.0;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        double dd = xr[i] - mean;
        v += dd * dd;
    }
    v = block_reduce<double, false>(v, sh);
    double inv = 1.0 / sqrt(v / c + (double)eps);
    for (int i = threadIdx.x; i < c; i += blockDim.x)
        yr[i] = (float)((xr[i] - mean) * inv) * g[i] + b[i];
}

/* orfeas_nn_softmax_rows: one block per row. */
__global__ void k_softmax_rows(float *s, int n)
{
    __shared__ float sh[32];
    float *x = s + (size_t)blockIdx.x * n;
    float mx = x[0];
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        mx = fmaxf(mx, x[j]);
    mx = block_reduce<float, true>(mx, sh);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float e = expf(x[j] - mx);
        x[j] = e;
        sum += e;
    }
    sum = block_reduce<float, false>(sum, sh);
    float inv = 1.0f / sum;
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        x[j] *= inv;
}

} // namespace orfeas_dc
