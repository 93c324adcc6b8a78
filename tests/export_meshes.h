/* Hand-built test meshes for the exporter tests and the oracle fixture:
 * closed, outward-oriented, with vertex colours. Header-only (static) so
 * both programs share it without a library. */
#ifndef ORFEAS_EXPORT_MESHES_H
#define ORFEAS_EXPORT_MESHES_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "orfeas/mesh.h"

/* Flips triangles whose normal points toward center: correct for convex
 * parts, which is all these builders make. */
static inline void meshes_orient_outward(orfeas_mesh *m, uint32_t first_tri, const double center[3])
{
    for (uint32_t t = first_tri; t < m->triangle_count; t++) {
        uint32_t *tri = m->indices + 3 * (size_t)t;
        const float *a = m->positions + 3 * (size_t)tri[0];
        const float *b = m->positions + 3 * (size_t)tri[1];
        const float *c = m->positions + 3 * (size_t)tri[2];
        double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
        double v[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
        double n[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2],
                       u[0] * v[1] - u[1] * v[0]};
        double d = 0;
        for (int k = 0; k < 3; k++)
            d += n[k] * ((a[k] + b[k] + c[k]) / 3.0 - center[k]);
        if (d < 0) {
            uint32_t tmp = tri[1];
            tri[1] = tri[2];
            tri[2] = tmp;
        }
    }
}

static inline void meshes_color(orfeas_mesh *m, uint32_t v, uint8_t r, uint8_t g, uint8_t b)
{
    if (!m->colors) return;
    uint8_t *c = m->colors + 4 * (size_t)v;
    c[0] = r;
    c[1] = g;
    c[2] = b;
    c[3] = 255;
}

/* Axis-aligned cube [ox, ox+size]^3 etc.: 8 vertices, 12 triangles,
 * written at vertex offset vbase / triangle offset tbase of m. */
static inline void meshes_put_cube(orfeas_mesh *m, uint32_t vbase, uint32_t tbase, float size,
                                   const float origin[3])
{
    for (uint32_t i = 0; i < 8; i++) {
        float *p = m->positions + 3 * (size_t)(vbase + i);
        p[0] = origin[0] + ((i & 1) ? size : 0);
        p[1] = origin[1] + ((i & 2) ? size : 0);
        p[2] = origin[2] + ((i & 4) ? size : 0);
        meshes_color(m, vbase + i, (i & 1) ? 255 : 0, (i & 2) ? 255 : 0, (i & 4) ? 255 : 0);
    }
    /* Per face: axis k fixed at s; corners in cyclic order over the other two. */
    uint32_t t = tbase;
    for (int k = 0; k < 3; k++) {
        int i = (k + 1) % 3, j = (k + 2) % 3;
        for (int s = 0; s < 2; s++) {
            uint32_t q[4];
            static const int ci[4] = {0, 1, 1, 0}, cj[4] = {0, 0, 1, 1};
            for (int c = 0; c < 4; c++)
                q[c] = vbase + (uint32_t)((s << k) | (ci[c] << i) | (cj[c] << j));
            uint32_t *tri = m->indices + 3 * (size_t)t;
            tri[0] = q[0], tri[1] = q[1], tri[2] = q[2];
            tri[3] = q[0], tri[4] = q[2], tri[5] = q[3];
            t += 2;
        }
    }
    uint32_t saved = m->triangle_count;
    m->triangle_count = t;
    double center[3] = {origin[0] + size / 2.0, origin[1] + size / 2.0, origin[2] + size / 2.0};
    meshes_orient_outward(m, tbase, center);
    m->triangle_count = saved;
}

static inline int meshes_cube(orfeas_mesh *m, float size, int with_colors)
{
    int rc = orfeas_mesh_alloc(m, 8, 12, with_colors);
    if (rc) return rc;
    const float origin[3] = {0, 0, 0};
    meshes_put_cube(m, 0, 0, size, origin);
    return 0;
}

static inline int meshes_tetra(orfeas_mesh *m, int with_colors)
{
    int rc = orfeas_mesh_alloc(m, 4, 4, with_colors);
    if (rc) return rc;
    static const float p[12] = {0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10};
    static const uint32_t f[12] = {0, 1, 2, 0, 1, 3, 0, 2, 3, 1, 2, 3};
    memcpy(m->positions, p, sizeof p);
    memcpy(m->indices, f, sizeof f);
    for (uint32_t i = 0; i < 4; i++)
        meshes_color(m, i, (uint8_t)(60 * i), (uint8_t)(255 - 60 * i), 128);
    const double center[3] = {2.5, 2.5, 2.5};
    meshes_orient_outward(m, 0, center);
    return 0;
}

/* UV sphere: two poles plus (stacks-1) rings of `slices` vertices. */
static inline int meshes_sphere(orfeas_mesh *m, float radius, uint32_t stacks, uint32_t slices,
                                const float center[3], int with_colors)
{
    uint32_t rings = stacks - 1;
    uint32_t nv = 2 + rings * slices;
    uint32_t nt = 2 * slices + 2 * slices * (rings - 1);
    int rc = orfeas_mesh_alloc(m, nv, nt, with_colors);
    if (rc) return rc;
    const double pi = 3.14159265358979323846;
    float *p = m->positions;
    p[0] = center[0], p[1] = center[1] + radius, p[2] = center[2];
    p[3] = center[0], p[4] = center[1] - radius, p[5] = center[2];
    meshes_color(m, 0, 255, 255, 255);
    meshes_color(m, 1, 0, 0, 0);
    for (uint32_t r = 0; r < rings; r++) {
        double phi = pi * (r + 1) / stacks;
        for (uint32_t s = 0; s < slices; s++) {
            double th = 2 * pi * s / slices;
            uint32_t v = 2 + r * slices + s;
            float *q = p + 3 * (size_t)v;
            q[0] = center[0] + (float)(radius * sin(phi) * cos(th));
            q[1] = center[1] + (float)(radius * cos(phi));
            q[2] = center[2] + (float)(radius * sin(phi) * sin(th));
            meshes_color(m, v, (uint8_t)(255 * s / slices), (uint8_t)(255 * r / rings), 200);
        }
    }
    uint32_t *f = m->indices;
    for (uint32_t s = 0; s < slices; s++) {
        uint32_t s1 = (s + 1) % slices;
        *f++ = 0, *f++ = 2 + s, *f++ = 2 + s1;
        uint32_t last = 2 + (rings - 1) * slices;
        *f++ = 1, *f++ = last + s, *f++ = last + s1;
    }
    for (uint32_t r = 0; r + 1 < rings; r++) {
        for (uint32_t s = 0; s < slices; s++) {
            uint32_t s1 = (s + 1) % slices;
            uint32_t a = 2 + r * slices + s, b = 2 + r * slices + s1;
            uint32_t c = a + slices, d = b + slices;
            *f++ = a, *f++ = c, *f++ = b;
            *f++ = b, *f++ = c, *f++ = d;
        }
    }
    const double cd[3] = {center[0], center[1], center[2]};
    meshes_orient_outward(m, 0, cd);
    return 0;
}

/* Two disjoint cubes, 10 mm apart along X. */
static inline int meshes_two_parts(orfeas_mesh *m, int with_colors)
{
    int rc = orfeas_mesh_alloc(m, 16, 24, with_colors);
    if (rc) return rc;
    const float o1[3] = {0, 0, 0}, o2[3] = {20, 0, 0};
    meshes_put_cube(m, 0, 0, 10, o1);
    meshes_put_cube(m, 8, 12, 10, o2);
    return 0;
}

#endif
