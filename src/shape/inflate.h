/* Inflation of a silhouette (Baran & Lehtinen, "Notes on inflating curves"):
 * solve Laplace(u) = -4 inside, u = 0 outside; sqrt(u) turns a disc of
 * radius r into a hemisphere of radius r (in pixels). */
#ifndef ORFEAS_SHAPE_INFLATE_H
#define ORFEAS_SHAPE_INFLATE_H

#include <stdatomic.h>
#include <stdint.h>

/* interior: w*h bytes, 1 where u is unknown (every grid neighbour exists);
 * u: w*h floats, receives u (0 outside). Cascadic multigrid: a coarse solve
 * interpolated up and relaxed with red-black SOR at each finer level.
 * Returns 0, ORFEAS_ENOMEM or ORFEAS_ECANCELLED. Deterministic. */
int orfeas_inflate_solve(const uint8_t *interior, uint32_t w, uint32_t h, float *u,
                         const atomic_int *cancel);

/* One red-black SOR sweep pair of Laplace(u) = -4 h^2 on a grid; exposed for
 * the conformance tests of device kernels. */
void orfeas_inflate_relax(const uint8_t *interior, uint32_t w, uint32_t h, float *u, float spacing,
                          float omega, int sweeps);

#endif
