/* The engine's heavy kernels, one table per backend. Every pointer argument
 * is device memory of the backend that owns the table (host memory for cpu
 * and sim). The cpu table is the reference: tests/test_kernels.c runs every
 * kernel of every backend present and compares with it. */
#ifndef ORFEAS_DEVICE_KERNELS_H
#define ORFEAS_DEVICE_KERNELS_H

#include <stdint.h>

typedef struct orfeas_kernels {
    /* Multigrid pieces for -Laplace(u) = f on a grid with spacing h, u fixed
     * at 0 where interior is 0 (see shape/inflate.c). */
    int (*mg_smooth)(void *ctx, const uint8_t *interior, float *u, const float *f, uint32_t w,
                     uint32_t h, float spacing, int sweeps); /* red-black Gauss-Seidel */
    int (*mg_residual)(void *ctx, const uint8_t *interior, const float *u, const float *f, float *r,
                       uint32_t w, uint32_t h, float spacing);
    /* Full weighting of r onto the coarse interior; coarse u set to 0. */
    int (*mg_restrict)(void *ctx, const float *r, uint32_t fw, uint32_t fh,
                       const uint8_t *coarse_interior, float *coarse_f, float *coarse_u,
                       uint32_t cw, uint32_t ch);
    /* fine u += bilinear(coarse u) on the fine interior. */
    int (*mg_prolong_add)(void *ctx, const float *coarse_u, uint32_t cw, uint32_t ch,
                          const uint8_t *fine_interior, float *fine_u, uint32_t fw, uint32_t fh);
    /* coarse(x, y) = fine(2x, 2y) and not on the coarse border. */
    int (*mg_coarsen_interior)(void *ctx, const uint8_t *fine, uint32_t fw, uint32_t fh,
                               uint8_t *coarse, uint32_t cw, uint32_t ch);
    /* Three box passes per axis approximating a Gaussian of sigma pixels;
     * tmp holds w*h floats. */
    int (*blur)(void *ctx, float *plane, float *tmp, uint32_t w, uint32_t h, float sigma);
    /* Area average when shrinking, bilinear when enlarging. */
    int (*resize_f32)(void *ctx, const float *src, uint32_t sw, uint32_t sh, float *dst,
                      uint32_t dw, uint32_t dh);
    /* One level of the RTIN error pass (mesh/rtin.c): every triangle of that
     * depth folds its error (and its children's) into its midpoint slot. */
    int (*rtin_level)(void *ctx, const float *front, const float *back, const uint8_t *cells,
                      uint32_t width, uint32_t height, uint32_t size, float *errors, uint32_t level,
                      uint32_t deepest);
} orfeas_kernels;

/* The reference implementations (host memory). */
extern const orfeas_kernels orfeas_cpu_kernels;

#endif
