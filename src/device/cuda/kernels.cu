/* The kernel table on CUDA. Every kernel evaluates the same float
 * expressions, in the same order, as the cpu reference (device/cpu_kernels_*.c:
 * multigrid, blur, resize, rtin), and the library's .cu files
 * are built with --fmad=false, so results match the reference bit for bit
 * wherever the reference's order does not depend on a sequential sweep
 * (tests/test_kernels.c states the tolerances). All work goes to the
 * device's stream; sync() waits for it. */
#include "device/cuda/cuda_backend.h"

extern "C" {
#include "device/kernels.h"
#include "orfeas/error.h"
#include "orfeas/log.h"
}

#include <cuda_runtime.h>

#include <math.h>
#include <stdint.h>

enum { BLOCK_X = 32, BLOCK_Y = 8, BLOCK_1D = 256, MAX_GRID_Y = 65535 };

static int begin(void *ctx, orfeas_cuda_ctx **c)
{
    *c = (orfeas_cuda_ctx *)ctx;
    return orfeas_cuda_error(cudaSetDevice((*c)->ordinal), "cudaSetDevice");
}

static int launched(const char *what)
{
    return orfeas_cuda_error(cudaGetLastError(), what);
}

static int grid2d(uint32_t w, uint32_t h, dim3 *grid)
{
    uint32_t gy = (h + BLOCK_Y - 1) / BLOCK_Y;
    if (gy > MAX_GRID_Y) return ORFEAS_EINVAL;
    *grid = dim3((w + BLOCK_X - 1) / BLOCK_X, gy);
    return 0;
}

static unsigned blocks1d(uint64_t n)
{
    return (unsigned)((n + BLOCK_1D - 1) / BLOCK_1D);
}

/* ---- multigrid ---- */

/* One colour of a red-black sweep: points with (x + y + colour) even, the
 * ones cpu_kernels_multigrid.c's smooth visits as x0 = 1 + ((y + 1 + colour) & 1).
 * A point of one colour reads only the other colour, so the order within a
 * launch does not matter and the result equals the sequential sweep. */
static __global__ void k_smooth(const uint8_t *in, float *u, const float *f, uint32_t w, uint32_t h,
                                float h2, uint32_t colour)
{
    uint32_t y = blockIdx.y * blockDim.y + threadIdx.y;
    uint32_t x = 2 * (blockIdx.x * blockDim.x + threadIdx.x) + ((y + colour) & 1);
    if (y < 1 || y + 1 >= h || x < 1 || x + 1 >= w) return;
    size_t i = (size_t)y * w + x;
    if (!in[i]) return;
    u[i] = (u[i - 1] + u[i + 1] + u[i - w] + u[i + w] + h2 * f[i]) * 0.25f;
}

static int cuda_mg_smooth(void *ctx, const uint8_t *interior, float *u, const float *f, uint32_t w,
                          uint32_t h, float spacing, int sweeps)
{
    orfeas_cuda_ctx *c;
    int err = begin(ctx, &c);
    if (err || w < 3 || h < 3) return err;
    dim3 grid;
    if ((err = grid2d((w + 1) / 2, h, &grid))) return err;
    const float h2 = spacing * spacing;
    for (int s = 0; s < sweeps; s++)
        for (uint32_t colour = 0; colour < 2; colour++) {
            k_smooth<<<grid, dim3(BLOCK_X, BLOCK_Y), 0, c->stream>>>(interior, u, f, w, h, h2,
                                                                     colour);
            if ((err = launched("k_smooth"))) return err;
        }
    return 0;
}

static __global__ void k_residual(const uint8_t *in, const float *u, const float *f, float *r,
                                  uint32_t w, uint32_t h, float inv_h2)
{
    uint32_t x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    size_t i = (size_t)y * w + x;
    float v = 0;
    if (x >= 1 && y >= 1 && x + 1 < w && y + 1 < h && in[i])
        v = f[i] - (4 * u[i] - u[i - 1] - u[i + 1] - u[i - w] - u[i + w]) * inv_h2;
    r[i] = v;
}

static int cuda_mg_residual(void *ctx, const uint8_t *interior, const float *u, const float *f,
                            float *r, uint32_t w, uint32_t h, float spacing)
{
    orfeas_cuda_ctx *c;
    int err = begin(ctx, &c);
    if (err || w == 0 || h == 0) return err;
    dim3 grid;
    if ((err = grid2d(w, h, &grid))) return err;
    const float inv_h2 = 1.0f / (spacing * spacing);
    k_residual<<<grid, dim3(BLOCK_X, BLOCK_Y), 0, c->stream>>>(interior, u, f, r, w, h, inv_h2);
    return launched("k_residual");
}

static __global__ void k_restrict(const float *r, uint32_t fw, uint32_t fh, const uint8_t *cin,
                                  float *cf, float *cu, uint32_t cw, uint32_t ch)
{
    uint32_t x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= cw || y >= ch) return;
    size_t ci = (size_t)y * cw + x;
    cu[ci] = 0;
    if (!cin[ci]) {
        cf[ci] = 0;
        return;
    }
    long fx = 2 * (long)x, fy = 2 * (long)y;
    float sum = 0, weight = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            long sx = fx + dx, sy = fy + dy;
            if (sx < 0 || sy < 0 || sx >= (long)fw || sy >= (long)fh) continue;
            float wgt = (dx ? 1.0f : 2.0f) * (dy ? 1.0f : 2.0f);
            sum += wgt * r[(size_t)sy * fw + sx];
            weight += wgt;
        }
    cf[ci] = sum / weight;
}

static int cuda_mg_restrict(void *ctx, const float *r, uint32_t fw, uint32_t fh,
                            const uint8_t *coarse_interior, float *coarse_f, float *coarse_u,
                            uint32_t cw, uint32_t ch)
{
    orfeas_cuda_ctx *c;
    int err = begin(ctx, &c);
    if (err || cw == 0 || ch == 0) return err;
    dim3 grid;
    if ((err = grid2d(cw, ch, &grid))) return err;
    k_restrict<<<grid, dim3(BLOCK_X, BLOCK_Y), 0, c->stream>>>(r, fw, fh, coarse_interior, coarse_f,
                                                               coarse_u, cw, ch);
    return launched("k_restrict");
}

static __global__ void k_prolong_add(const float *e, uint32_t cw, uint32_t ch, const uint8_t *fin,
                                     float *fu, uint32_t fw, uint32_t fh)
{
    uint32_t x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= fw || y >= fh) return;
    size_t i = (size_t)y * fw + x;
    if (!fin[i]) return;
    uint32_t x0 = x / 2, y0 = y / 2;
    uint32_t x1 = x0 + (x & 1) < cw ? x0 + (x & 1) : cw - 1;
    uint32_t y1 = y0 + (y & 1) < ch ? y0 + (y & 1) : ch - 1;
    if (x0 >= cw) x0 = cw - 1;
    if (y0 >= ch) y0 = ch - 1;
    fu[i] += 0.25f * (e[(size_t)y0 * cw + x0] + e[(size_t)y0 * cw + x1] + e[(size_t)y1 * cw + x0] +
                      e[(size_t)y1 * cw + x1]);
}

static int cuda_mg_prolong_add(void *ctx, const float *coarse_u, uint32_t cw, uint32_t ch,
                               const uint8_t *fine_interior, float *fine_u, uint32_t fw,
                               uint32_t fh)
{
    orfeas_cuda_ctx *c;
    int err = begin(ctx, &c);
    if (err || fw == 0 || fh == 0) return err;
    if (cw == 0 || ch == 0) return ORFEAS_EINVAL;
    dim3 grid;
    if ((err = grid2d(fw, fh, &grid))) return err;
    k_prolong_add<<<grid, dim3(BLOCK_X, BLOCK_Y), 0, c->stream>>>(coarse_u, cw, ch, fine_interior,
                                                                  fine_u, fw, fh);
    return launched("k_prolong_add");
}

static __global__ void k_coarsen(const uint8_t *fine, uint32_t fw, uint32_t fh, uint8_t *coarse,
                                 uint32_t cw, uint32_t ch)
{
    uint32_t x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= cw || y >= ch) return;
    /* The border test first: it also keeps 2x, 2y inside the fine grid. */
    int inside = x > 0 && y > 0 && x + 1 < cw && y + 1 < ch && 2 * x < fw && 2 * y < fh &&
                 fine[(size_t)(2 * y) * fw + 2 * x];
    coarse[(size_t)y * cw + x] = (uint8_t)inside;
}

static int cuda_mg_coarsen_interior(void *ctx, const uint8_t *fine, uint32_t fw, uint32_t fh,
                                    uint8_t *coarse, uint32_t cw, uint32_t ch)
{
    orfeas_cuda_ctx *c;
    int err = begin(ctx, &c);
    if (err || cw == 0 || ch == 0) return err;
    dim3 grid;
    if ((err = grid2d(cw, ch, &grid))) return err;
    k_coarsen<<<grid, dim3(BLOCK_X, BLOCK_Y), 0, c->stream>>>(fine, fw, fh, coarse, cw, ch);
    return launched("k_coarsen");
}

/* ---- blur ---- */

/* cpu_kernels_blur.c's box_line: a running sum in double of the edge-clamped line,
 * out of place (src to dst), one thread per line. */
static __device__ void box_line(const float *src, float *dst, long n, size_t stride, int r,
                                float inv)
{
    double sum = 0;
    for (int k = -r; k <= r; k++)
        sum += src[(size_t)(k < 0 ? 0 : k < n ? k : n - 1) * stride];
    for (long i = 0; i < n; i++) {
        dst[(size_t)i * stride] = (float)(sum * inv);
        long out = i - r, in = i + r + 1;
        sum +=
            src[(size_t)(in < n ? in : n - 1) * stride] - src[(size_t)(out < 0 ? 0 : out) * stride];
    }
}

/* Rows: neighbouring threads walk neighbouring rows, so each load touches a
 * different line; L1 serves the rest of each line to the next 7 steps. */
static __global__ void k_box_rows(const float *src, float *dst, uint32_t w, uint32_t h, int r,
                                  float inv)
{
    uint32_t y = blockIdx.x * blockDim.x + threadIdx.x;
    if (y >= h) return;
    box_line(src + (size_t)y * w, dst + (size_t)y * w, w, 1, r, inv);
}

/* Columns: a warp reads 32 consecutive floats per step (coalesced). */
static __global__ void k_box_cols(const float *src, float *dst, uint32_t w, uint32_t h, int r,
                                  float inv)
{
    uint32_t x = blockIdx.x * blockDim.x + threadIdx.x;
    if (x >= w) return;
    box_line(src + x, dst + x, h, w, r, inv);
}

static int cuda_blur(void *ctx, float *plane, float *tmp, uint32_t w, uint32_t h, float sigma)
{
    orfeas_cuda_ctx *c;
    int err = begin(ctx, &c);
    if (err) return err;
    if (sigma <= 0.3f || w == 0 || h == 0) return 0;
    /* The radius exactly as orfeas_blur computes it, on the host. */
    int r = (int)floorf(0.5f * (sqrtf(4.0f * sigma * sigma + 1.0f) - 1.0f) + 0.5f);
    if (r < 1) r = 1;
    float inv = 1.0f / (2 * r + 1);
    for (int pass = 0; pass < 3; pass++) {
        k_box_rows<<<blocks1d(h), BLOCK_1D, 0, c->stream>>>(plane, tmp, w, h, r, inv);
        if ((err = launched("k_box_rows"))) return err;
        k_box_cols<<<blocks1d(w), BLOCK_1D, 0, c->stream>>>(tmp, plane, w, h, r, inv);
        if ((err = launched("k_box_cols"))) return err;
    }
    return 0;
}

/* ---- resize ---- */

/* cpu_kernels_resize.c's taps for destination i of an axis, computed in place of its
 * tables with the same double arithmetic (IEEE on both sides), applied with
 * the same float accumulation order. */
template <typename Load>
static __device__ float filter_axis(uint32_t i, uint32_t sn, uint32_t dn, Load load)
{
    float acc = 0;
    if (dn < sn) {
        uint64_t lo = (uint64_t)i * sn, hi = lo + sn;
        uint32_t j0 = (uint32_t)(lo / dn), j1 = (uint32_t)((hi + dn - 1) / dn);
        for (uint32_t j = j0; j < j1; j++) {
            uint64_t a = (uint64_t)j * dn, b = a + dn;
            uint64_t overlap = (hi < b ? hi : b) - (lo > a ? lo : a);
            acc += (float)((double)overlap / sn) * load(j);
        }
    } else if (dn > sn) {
        double cpos = ((double)i + 0.5) * sn / dn - 0.5;
        if (cpos < 0) cpos = 0;
        uint32_t j0 = (uint32_t)cpos;
        double f = cpos - j0;
        if (j0 >= sn - 1) {
            j0 = sn - 1;
            f = 0;
        }
        acc += (float)(1.0 - f) * load(j0);
        if (f > 0) acc += (float)f * load(j0 + 1);
    } else {
        acc += 1.0f * load(i);
    }
    return acc;
}

static __global__ void k_resize_rows(const float *src, uint32_t sw, uint32_t sh, float *mid,
                                     uint32_t dw)
{
    uint32_t x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dw || y >= sh) return;
    const float *row = src + (size_t)y * sw;
    mid[(size_t)y * dw + x] = filter_axis(x, sw, dw, [row](uint32_t j) { return row[j]; });
}

static __global__ void k_resize_cols(const float *mid, uint32_t sh, float *dst, uint32_t dw,
                                     uint32_t dh)
{
    uint32_t x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= dw || y >= dh) return;
    const float *col = mid + x;
    dst[(size_t)y * dw + x] =
        filter_axis(y, sh, dh, [col, dw](uint32_t j) { return col[(size_t)j * dw]; });
}

static int cuda_resize_f32(void *ctx, const float *src, uint32_t sw, uint32_t sh, float *dst,
                           uint32_t dw, uint32_t dh)
{
    orfeas_cuda_ctx *c;
    int err = begin(ctx, &c);
    if (err) return err;
    if (!src || !dst || !sw || !sh || !dw || !dh) return ORFEAS_EINVAL;
    if (sw == dw && sh == dh)
        return orfeas_cuda_error(cudaMemcpyAsync(dst, src, (size_t)sw * sh * sizeof(float),
                                                 cudaMemcpyDeviceToDevice, c->stream),
                                 "cudaMemcpyAsync");
    dim3 g1, g2;
    if ((err = grid2d(dw, sh, &g1)) || (err = grid2d(dw, dh, &g2))) return err;
    void *mid;
    if ((err = orfeas_cuda_scratch_alloc(c, (size_t)dw * sh * sizeof(float), &mid))) return err;
    k_resize_rows<<<g1, dim3(BLOCK_X, BLOCK_Y), 0, c->stream>>>(src, sw, sh, (float *)mid, dw);
    err = launched("k_resize_rows");
    if (!err) {
        k_resize_cols<<<g2, dim3(BLOCK_X, BLOCK_Y), 0, c->stream>>>((const float *)mid, sh, dst, dw,
                                                                    dh);
        err = launched("k_resize_cols");
    }
    orfeas_cuda_scratch_free(c, mid); /* stream-ordered: after the kernels */
    return err;
}

/* ---- RTIN error pass ---- */

struct rtin_args {
    const float *front, *back;
    const uint8_t *cells;
    uint32_t width, height, size;
    float *errors;
    uint32_t level, deepest;
};

static __device__ uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

static __device__ bool beyond_image(const rtin_args &a, uint32_t ax, uint32_t ay, uint32_t bx,
                                    uint32_t by, uint32_t cx, uint32_t cy)
{
    return min3(ax, bx, cx) + 1 >= a.width || min3(ay, by, cy) + 1 >= a.height;
}

static __device__ bool cell_inside(const rtin_args &a, uint32_t x, uint32_t y)
{
    return x + 1 < a.width && y + 1 < a.height && a.cells[(size_t)y * (a.width - 1) + x];
}

static __device__ float height_at(const float *h, const rtin_args &a, uint32_t x, uint32_t y)
{
    return x < a.width && y < a.height ? h[(size_t)y * a.width + x] : 0.0f;
}

/* Explicitly rounded operations: the exact rounding of cpu_kernels_rtin.c whatever the
 * contraction flags. */
static __device__ float midpoint_error(const rtin_args &a, uint32_t ax, uint32_t ay, uint32_t bx,
                                       uint32_t by, uint32_t mx, uint32_t my)
{
    float ef = fabsf(__fsub_rn(
        __fmul_rn(__fadd_rn(height_at(a.front, a, ax, ay), height_at(a.front, a, bx, by)), 0.5f),
        height_at(a.front, a, mx, my)));
    float eb = fabsf(__fsub_rn(
        __fmul_rn(__fadd_rn(height_at(a.back, a, ax, ay), height_at(a.back, a, bx, by)), 0.5f),
        height_at(a.back, a, mx, my)));
    return ef > eb ? ef : eb;
}

/* Non-negative floats (and +inf) order as their bit patterns do, and any
 * negative float's pattern is a negative int: an int max is "err > slot". */
static __device__ void fold_max(float *slot, float err)
{
    if (err > 0.0f) atomicMax((int *)slot, __float_as_int(err));
}

/* One thread per triangle of depth `level`. Bit 0 of the id picks the root
 * (1: cpu_kernels_rtin.c's first root (0,0),(t,t),(t,0)), bit d the child at depth d
 * (1: the left child (c, a, m), 0: the right child (b, c, m)), as Martini
 * numbers its triangles. A triangle whose ancestor lies beyond the image is
 * never reached by cpu_kernels_rtin.c's recursion, so it writes nothing here either. */
static __global__ void k_rtin_level(rtin_args a, uint64_t count)
{
    uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= count) return;
    uint32_t tile = a.size - 1;
    uint32_t ax, ay, bx, by, cx, cy;
    if (t & 1) {
        ax = 0, ay = 0, bx = tile, by = tile, cx = tile, cy = 0;
    } else {
        ax = tile, ay = tile, bx = 0, by = 0, cx = 0, cy = tile;
    }
    for (uint32_t d = 0; d < a.level; d++) {
        if (beyond_image(a, ax, ay, bx, by, cx, cy)) return;
        uint32_t mx = (ax + bx) >> 1, my = (ay + by) >> 1;
        if ((t >> (d + 1)) & 1) {
            uint32_t ox = ax, oy = ay;
            ax = cx, ay = cy, bx = ox, by = oy;
        } else {
            ax = bx, ay = by, bx = cx, by = cy;
        }
        cx = mx, cy = my;
    }
    uint32_t mx = (ax + bx) >> 1, my = (ay + by) >> 1;
    float *slot = &a.errors[(size_t)my * a.size + mx];
    if (beyond_image(a, ax, ay, bx, by, cx, cy)) {
        fold_max(slot, INFINITY); /* "split": see rtin.c */
        return;
    }
    float err;
    if (a.level == a.deepest) {
        if (!cell_inside(a, min3(cx, ax, mx), min3(cy, ay, my)) ||
            !cell_inside(a, min3(bx, cx, mx), min3(by, cy, my)))
            err = INFINITY;
        else
            err = midpoint_error(a, ax, ay, bx, by, mx, my);
    } else {
        err = midpoint_error(a, ax, ay, bx, by, mx, my);
        /* Written by the deeper levels' launches, earlier on the stream. */
        float left = a.errors[(size_t)((ay + cy) >> 1) * a.size + ((ax + cx) >> 1)];
        float right = a.errors[(size_t)((by + cy) >> 1) * a.size + ((bx + cx) >> 1)];
        if (left > err) err = left;
        if (right > err) err = right;
    }
    fold_max(slot, err);
}

static int cuda_rtin_level(void *ctx, const float *front, const float *back, const uint8_t *cells,
                           uint32_t width, uint32_t height, uint32_t size, float *errors,
                           uint32_t level, uint32_t deepest)
{
    orfeas_cuda_ctx *c;
    int err = begin(ctx, &c);
    if (err) return err;
    if (size < 3 || level > 36) return ORFEAS_EINVAL; /* 2^37 threads at most */
    rtin_args a = {front, back, cells, width, height, size, errors, level, deepest};
    uint64_t count = (uint64_t)2 << level; /* two roots, 2^level each */
    k_rtin_level<<<blocks1d(count), BLOCK_1D, 0, c->stream>>>(a, count);
    return launched("k_rtin_level");
}

const orfeas_kernels orfeas_cuda_kernels = {
    cuda_mg_smooth,           cuda_mg_residual, cuda_mg_restrict, cuda_mg_prolong_add,
    cuda_mg_coarsen_interior, cuda_blur,        cuda_resize_f32,  cuda_rtin_level,
};
