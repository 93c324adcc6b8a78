/* Inflation of a silhouette (Baran & Lehtinen, "Notes on inflating curves"):
 * solve Laplace(u) = -4 inside, u = 0 outside; sqrt(u) turns a disc of
 * radius r into a hemisphere of radius r (in pixels). */
#ifndef ORFEAS_SHAPE_INFLATE_H
#define ORFEAS_SHAPE_INFLATE_H

#include <stdatomic.h>
#include <stdint.h>

#include "device/devmem.h"

/* interior: w*h bytes (host), 1 where u is unknown (never on the grid
 * border); u: w*h floats (host), receives u (0 outside). Multigrid
 * V-cycles run with the kernels and memory of m (NULL: host, cpu kernels).
 * Returns 0, ORFEAS_ENOMEM, ORFEAS_EGPUOOM or ORFEAS_ECANCELLED. */
int orfeas_inflate_solve(const orfeas_devmem *m, const uint8_t *interior, uint32_t w, uint32_t h,
                         float *u, const atomic_int *cancel);

/* The cpu kernels of the solver (the reference for the device twins). */
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

#endif
