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

/* The cpu kernels of the solver (the reference for the device twins) are
 * the device layer's orfeas_cpu_mg_* (device/cpu_kernels.h). */

#endif
