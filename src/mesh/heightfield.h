/* Closed meshes from two height fields over a 2D domain: a front surface, a
 * back surface below it, and walls joining them along the domain boundary.
 * Front and back share one RTIN triangulation, so the boundary loops match
 * exactly and the result is watertight by construction. */
#ifndef ORFEAS_MESH_HEIGHTFIELD_H
#define ORFEAS_MESH_HEIGHTFIELD_H

#include <stdint.h>

#include "device/devmem.h"
#include "orfeas/mesh.h"

typedef struct orfeas_heightfield {
    uint32_t width, height; /* vertex grid (working image pixels) */
    const uint8_t *cells;   /* (width-1)*(height-1), 1 = inside, cleaned (orfeas_domain_clean) */
    const float *front;     /* width*height, mm */
    const float *back;      /* width*height, mm; front - back > 0 on the domain */
    const uint8_t *rgba;    /* width*height*4 colours, or NULL */
    double pixel_mm;        /* millimetres per pixel step */
    int smooth_boundary;    /* round off the pixel staircase of the outline */
    const orfeas_devmem *devmem; /* where the refinement's error pass runs (NULL: host) */
} orfeas_heightfield;

typedef struct orfeas_heightfield_stats {
    uint64_t full_triangles; /* at full resolution */
    float max_error_mm;      /* RTIN bound of the simplification */
} orfeas_heightfield_stats;

/* Builds the mesh with at most about triangle_budget triangles (the outline
 * stays at full resolution, so a tiny budget may be exceeded). X and Y start
 * at 0; Z is taken from the heights. Returns 0, ORFEAS_ENOFOREGROUND (empty
 * domain), ORFEAS_ENOMEM. */
int orfeas_heightfield_mesh(const orfeas_heightfield *hf, uint64_t triangle_budget,
                            orfeas_mesh *out, orfeas_heightfield_stats *stats);

#endif
