/* orfeas — helpers shared by the exporters (not part of the public API). */
#ifndef ORFEAS_EXPORT_INTERNAL_H
#define ORFEAS_EXPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "orfeas/export.h"

/* Per-format writers. The caller (orfeas_export) has already validated the
 * mesh (non-empty, indices in range, finite positions) and reset out. */
int orfeas_export_stl_(const orfeas_mesh *mesh, orfeas_buffer *out);
int orfeas_export_obj_(const orfeas_mesh *mesh, int with_colors, orfeas_buffer *out);
int orfeas_export_ply_(const orfeas_mesh *mesh, int with_colors, orfeas_buffer *out);
int orfeas_export_glb_(const orfeas_mesh *mesh, int with_colors, orfeas_buffer *out);

/* Writes all of data to fd, retrying short writes and EINTR; maps errno to
 * ORFEAS_ENOSPACE (ENOSPC, EDQUOT) or ORFEAS_EIO. Exposed for the tests,
 * which drive it with /dev/full. */
int orfeas_write_all_fd_(int fd, const void *data, size_t size);

/* Little-endian stores: byte shifts, so the output is the same on any host. */
/* The unnormalised normal of triangle t (twice its area, outward for a
 * counter-clockwise triangle). */
static inline void orfeas_triangle_normal_(const orfeas_mesh *mesh, size_t t, double n[3])
{
    const uint32_t *tri = mesh->indices + 3 * t;
    const float *a = mesh->positions + 3 * (size_t)tri[0];
    const float *b = mesh->positions + 3 * (size_t)tri[1];
    const float *c = mesh->positions + 3 * (size_t)tri[2];
    double u[3] = {(double)b[0] - a[0], (double)b[1] - a[1], (double)b[2] - a[2]};
    double v[3] = {(double)c[0] - a[0], (double)c[1] - a[1], (double)c[2] - a[2]};
    n[0] = u[1] * v[2] - u[2] * v[1];
    n[1] = u[2] * v[0] - u[0] * v[2];
    n[2] = u[0] * v[1] - u[1] * v[0];
}

static inline void orfeas_put_u32le_(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void orfeas_put_u16le_(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void orfeas_put_f32le_(uint8_t *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    orfeas_put_u32le_(p, bits);
}

/* Appends without a capacity check: the caller reserved enough. */
static inline uint8_t *orfeas_buffer_tail_(orfeas_buffer *buf, size_t size)
{
    uint8_t *p = buf->data + buf->size;
    buf->size += size;
    return p;
}

#endif
