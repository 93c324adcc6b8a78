/* Binary STL: 80-byte header, uint32 triangle count, then per triangle a
 * normal, three vertices and a zero attribute word (no colours). */
#include "export_internal.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

int orfeas_export_stl_(const orfeas_mesh *mesh, orfeas_buffer *out)
{
    size_t n = mesh->triangle_count;
    if (n > (SIZE_MAX - 84) / 50) return ORFEAS_ENOMEM;
    int rc = orfeas_buffer_reserve(out, 84 + 50 * n);
    if (rc) return rc;

    /* The header must not begin with "solid": readers take that as ASCII. */
    uint8_t *header = orfeas_buffer_tail_(out, 84);
    memset(header, 0, 80);
    static const char tag[] = "orfeas binary STL, units mm";
    memcpy(header, tag, sizeof tag - 1);
    orfeas_put_u32le_(header + 80, mesh->triangle_count);

    const float *pos = mesh->positions;
    for (size_t t = 0; t < n; t++) {
        const uint32_t *tri = mesh->indices + 3 * t;
        const float *a = pos + 3 * (size_t)tri[0];
        const float *b = pos + 3 * (size_t)tri[1];
        const float *c = pos + 3 * (size_t)tri[2];
        double nrm[3];
        orfeas_triangle_normal_(mesh, t, nrm);
        double len = sqrt(nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]);
        /* A zero normal is the STL convention for "compute it yourself". */
        double inv = len > 0 ? 1.0 / len : 0.0;

        uint8_t *p = orfeas_buffer_tail_(out, 50);
        for (int k = 0; k < 3; k++)
            orfeas_put_f32le_(p + 4 * k, (float)(nrm[k] * inv));
        for (int k = 0; k < 3; k++) {
            orfeas_put_f32le_(p + 12 + 4 * k, a[k]);
            orfeas_put_f32le_(p + 24 + 4 * k, b[k]);
            orfeas_put_f32le_(p + 36 + 4 * k, c[k]);
        }
        orfeas_put_u16le_(p + 48, 0);
    }
    return 0;
}
