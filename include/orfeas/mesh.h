/* orfeas — the triangle mesh the engine produces and the checks it must pass. */
#ifndef ORFEAS_MESH_H
#define ORFEAS_MESH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Units are millimetres. Axes: image right = +X, image up = +Y, toward the
 * viewer = +Z. Triangles are counter-clockwise seen from outside. */
typedef struct orfeas_mesh {
    uint32_t vertex_count;
    uint32_t triangle_count;
    float *positions;  /* 3 floats per vertex */
    uint8_t *colors;   /* 4 bytes (RGBA) per vertex, or NULL for no colours */
    uint32_t *indices; /* 3 per triangle */
} orfeas_mesh;

/* Allocates room for the counts (colors only when with_colors). */
int orfeas_mesh_alloc(orfeas_mesh *mesh, uint32_t vertex_count, uint32_t triangle_count,
                      int with_colors);
void orfeas_mesh_free(orfeas_mesh *mesh);

typedef struct orfeas_mesh_report {
    uint64_t boundary_edges;       /* directed edge without its opposite */
    uint64_t nonmanifold_edges;    /* undirected edge used by more than two triangles */
    uint64_t inconsistent_edges;   /* directed edge used twice (orientation flip) */
    uint64_t degenerate_triangles; /* repeated index or zero area */
    uint64_t duplicate_triangles;  /* same three vertices as another triangle */
    uint32_t components;           /* edge-connected parts */
    double volume;                 /* signed, mm^3: > 0 when oriented outward */
    double area;                   /* mm^2 */
    float min[3], max[3];          /* bounding box */
} orfeas_mesh_report;

/* Topology and geometry checks; 0 or ORFEAS_ENOMEM. */
int orfeas_mesh_check(const orfeas_mesh *mesh, orfeas_mesh_report *report);
/* 1 when the report describes a closed, 2-manifold, outward, clean mesh. */
int orfeas_mesh_report_ok(const orfeas_mesh_report *report);

#ifdef __cplusplus
}
#endif
#endif
