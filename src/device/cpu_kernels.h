/* The cpu backend's kernels: the reference implementations that
 * orfeas_cpu_kernels (device/kernels.h) points to, on host memory, and what
 * the layers above share with them (the host blur, the resampler, the RTIN
 * grid). Every backend's table is compared with these (tests/test_kernels.c);
 * the CUDA twins (device/cuda/kernels.cu) evaluate the same expressions. */
#ifndef ORFEAS_DEVICE_CPU_KERNELS_H
#define ORFEAS_DEVICE_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* ---- multigrid (cpu_kernels_multigrid.c), for shape/inflate.c ---- */
int orfeas_cpu_mg_smooth(void *ctx, const uint8_t *interior, float *u, const float *f, uint32_t w,
                         uint32_t h, float spacing, int sweeps);
int orfeas_cpu_mg_residual(void *ctx, const uint8_t *interior, const float *u, const float *f,
                           float *r, uint32_t w, uint32_t h, float spacing);
int orfeas_cpu_mg_restrict(void *ctx, const float *r, uint32_t fw, uint32_t fh,
                           const uint8_t *coarse_interior, float *coarse_f, float *coarse_u,
                           uint32_t cw, uint32_t ch);
int orfeas_cpu_mg_prolong_add(void *ctx, const float *coarse_u, uint32_t cw, uint32_t ch,
                              const uint8_t *fine_interior, float *fine_u, uint32_t fw,
                              uint32_t fh);
int orfeas_cpu_mg_coarsen_interior(void *ctx, const uint8_t *fine, uint32_t fw, uint32_t fh,
                                   uint8_t *coarse, uint32_t cw, uint32_t ch);

/* ---- blur (cpu_kernels_blur.c) ---- */
/* Gaussian-like blur (three box passes per axis) of a w*h plane in place.
 * sigma in pixels; <= 0.3 leaves the plane unchanged. */
int orfeas_blur(float *plane, uint32_t w, uint32_t h, float sigma);

/* ---- resampling (cpu_kernels_resize.c) ----
 * Per axis: area average when shrinking (each destination pixel is the mean
 * of the source area it covers, fractional edges weighted), bilinear with
 * pixel-centre alignment when enlarging, a copy when the size is equal. The
 * two axes are separable and independent, so 1000x100 -> 500x400 shrinks x
 * and enlarges y. Same input gives the same bytes on every run. */

/* One float channel, both planes packed. NaN propagates. Returns 0,
 * ORFEAS_EINVAL or ORFEAS_ENOMEM. */
int orfeas_resize_f32(const float *src, uint32_t sw, uint32_t sh, float *dst, uint32_t dw,
                      uint32_t dh);

/* The resampler under it, for other pixel formats (image/resize.c's RGBA8):
 * load turns source row y into w*channels floats, store writes destination
 * row y from dw*channels floats. channels is 1 or 4. */
typedef void (*orfeas_resample_load_fn)(const void *src, size_t stride, uint32_t y, uint32_t w,
                                        float *out);
typedef void (*orfeas_resample_store_fn)(const float *row, uint32_t w, void *dst, uint32_t y);
int orfeas_cpu_resample(const void *src, size_t sstride, uint32_t sw, uint32_t sh, void *dst,
                        uint32_t dw, uint32_t dh, int channels, orfeas_resample_load_fn load,
                        orfeas_resample_store_fn store);

/* ---- RTIN error pass (cpu_kernels_rtin.c), for mesh/rtin.c ----
 * The grid of a right-triangulated irregular network: width*height vertices
 * inside a size*size square (size = 2^k + 1), cells (width-1)*(height-1)
 * bytes, 1 = inside. */
typedef struct orfeas_rtin_grid {
    uint32_t width, height; /* vertex grid of the heights */
    uint32_t size;          /* 2^k + 1 >= max(width, height) */
    const uint8_t *cells;   /* (width-1)*(height-1), 1 = inside */
} orfeas_rtin_grid;

static inline uint32_t orfeas_rtin_min3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

static inline int orfeas_rtin_cell_inside(const orfeas_rtin_grid *g, uint32_t x, uint32_t y)
{
    return x + 1 < g->width && y + 1 < g->height && g->cells[(size_t)y * (g->width - 1) + x];
}

/* A half-cell leaf lies in the cell at its smallest corner. */
static inline int orfeas_rtin_leaf_inside(const orfeas_rtin_grid *g, uint32_t ax, uint32_t ay,
                                          uint32_t bx, uint32_t by, uint32_t cx, uint32_t cy)
{
    return orfeas_rtin_cell_inside(g, orfeas_rtin_min3(ax, bx, cx), orfeas_rtin_min3(ay, by, cy));
}

/* True when the triangle covers no cell of the image: nothing under it can
 * be emitted, so both the error pass and the walk skip it. */
static inline int orfeas_rtin_beyond_image(const orfeas_rtin_grid *g, uint32_t ax, uint32_t ay,
                                           uint32_t bx, uint32_t by, uint32_t cx, uint32_t cy)
{
    return orfeas_rtin_min3(ax, bx, cx) + 1 >= g->width ||
           orfeas_rtin_min3(ay, by, cy) + 1 >= g->height;
}

/* One level of the error pass on host memory (orfeas_kernels.rtin_level). */
int orfeas_cpu_rtin_level(void *ctx, const float *front, const float *back, const uint8_t *cells,
                          uint32_t width, uint32_t height, uint32_t size, float *errors,
                          uint32_t level, uint32_t deepest);

#endif
