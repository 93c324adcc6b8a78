/* Error-bounded heightfield refinement on a right-triangulated irregular
 * network (RTIN: Evans, Kirkpatrick & Townsend 2001; the error propagation of
 * Mapbox's Martini). Triangles come from recursive bisection of a
 * (2^k+1)-square grid, so any error threshold gives a crack-free
 * triangulation. Two height fields (front and back) share one triangulation:
 * a triangle is split while either surface deviates more than the threshold
 * at a hypotenuse midpoint. Triangles that touch an outside cell always split
 * down to half cells, so the triangulated area is exactly the inside cells. */
#ifndef ORFEAS_MESH_RTIN_H
#define ORFEAS_MESH_RTIN_H

#include <stddef.h>
#include <stdint.h>

#include "device/cpu_kernels.h"
#include "device/devmem.h"

typedef struct orfeas_rtin {
    orfeas_rtin_grid grid; /* width, height, size, cells */
    float *errors;         /* size*size, per hypotenuse midpoint */
    float max_finite_error;
} orfeas_rtin;

/* front/back: width*height heights (host). The error pass runs with the
 * kernels of m (NULL: host). Returns 0, ORFEAS_ENOMEM or a device error. */
int orfeas_rtin_build(orfeas_rtin *rtin, const orfeas_devmem *m, uint32_t width, uint32_t height,
                      const float *front, const float *back, const uint8_t *cells);
/* The cpu kernel of one level of the error pass is the device layer's
 * orfeas_cpu_rtin_level (device/cpu_kernels.h). */
/* Triangles at this threshold, counting stops once above limit. */
uint64_t orfeas_rtin_count(const orfeas_rtin *rtin, float threshold, uint64_t limit);
/* Triangles as vertex ids (y*width + x), 3 per triangle, malloc'd. */
int orfeas_rtin_extract(const orfeas_rtin *rtin, float threshold, uint32_t **triangles,
                        size_t *count);
/* Smallest threshold (within a few percent) whose triangle count fits. */
float orfeas_rtin_threshold_for_budget(const orfeas_rtin *rtin, uint64_t budget);
void orfeas_rtin_free(orfeas_rtin *rtin);

#endif
