/* The cpu reference of the multigrid kernels (orfeas_kernels.mg_*): the
 * pieces of shape/inflate.c's V-cycles on -Laplace(u) = f, u fixed at 0
 * where interior is 0. */
#include "device/cpu_kernels.h"

#include <string.h>

int orfeas_cpu_mg_smooth(void *ctx, const uint8_t *interior, float *u, const float *f, uint32_t w,
                         uint32_t h, float spacing, int sweeps)
{
    (void)ctx;
    const float h2 = spacing * spacing;
    for (int s = 0; s < sweeps; s++)
        for (uint32_t colour = 0; colour < 2; colour++)
            for (uint32_t y = 1; y + 1 < h; y++) {
                float *row = u + (size_t)y * w;
                const float *above = row - w, *below = row + w, *fr = f + (size_t)y * w;
                const uint8_t *in = interior + (size_t)y * w;
                for (uint32_t x = 1 + ((y + 1 + colour) & 1); x + 1 < w; x += 2)
                    if (in[x])
                        row[x] =
                            (row[x - 1] + row[x + 1] + above[x] + below[x] + h2 * fr[x]) * 0.25f;
            }
    return 0;
}

int orfeas_cpu_mg_residual(void *ctx, const uint8_t *interior, const float *u, const float *f,
                           float *r, uint32_t w, uint32_t h, float spacing)
{
    (void)ctx;
    const float inv_h2 = 1.0f / (spacing * spacing);
    memset(r, 0, (size_t)w * h * sizeof *r);
    for (uint32_t y = 1; y + 1 < h; y++)
        for (uint32_t x = 1; x + 1 < w; x++) {
            size_t i = (size_t)y * w + x;
            if (!interior[i]) continue;
            r[i] = f[i] - (4 * u[i] - u[i - 1] - u[i + 1] - u[i - w] - u[i + w]) * inv_h2;
        }
    return 0;
}

int orfeas_cpu_mg_restrict(void *ctx, const float *r, uint32_t fw, uint32_t fh,
                           const uint8_t *coarse_interior, float *coarse_f, float *coarse_u,
                           uint32_t cw, uint32_t ch)
{
    (void)ctx;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++) {
            size_t ci = (size_t)y * cw + x;
            coarse_u[ci] = 0;
            if (!coarse_interior[ci]) {
                coarse_f[ci] = 0;
                continue;
            }
            float sum = 0, weight = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    long sx = 2 * (long)x + dx, sy = 2 * (long)y + dy;
                    if (sx < 0 || sy < 0 || sx >= (long)fw || sy >= (long)fh) continue;
                    float wgt = (dx ? 1.0f : 2.0f) * (dy ? 1.0f : 2.0f);
                    sum += wgt * r[(size_t)sy * fw + sx];
                    weight += wgt;
                }
            coarse_f[ci] = sum / weight;
        }
    return 0;
}

int orfeas_cpu_mg_prolong_add(void *ctx, const float *e, uint32_t cw, uint32_t ch,
                              const uint8_t *fine_interior, float *fine_u, uint32_t fw, uint32_t fh)
{
    (void)ctx;
    for (uint32_t y = 0; y < fh; y++)
        for (uint32_t x = 0; x < fw; x++) {
            size_t i = (size_t)y * fw + x;
            if (!fine_interior[i]) continue;
            uint32_t x0 = x / 2, y0 = y / 2;
            uint32_t x1 = x0 + (x & 1) < cw ? x0 + (x & 1) : cw - 1;
            uint32_t y1 = y0 + (y & 1) < ch ? y0 + (y & 1) : ch - 1;
            if (x0 >= cw) x0 = cw - 1;
            if (y0 >= ch) y0 = ch - 1;
            fine_u[i] += 0.25f * (e[(size_t)y0 * cw + x0] + e[(size_t)y0 * cw + x1] +
                                  e[(size_t)y1 * cw + x0] + e[(size_t)y1 * cw + x1]);
        }
    return 0;
}

int orfeas_cpu_mg_coarsen_interior(void *ctx, const uint8_t *fine, uint32_t fw, uint32_t fh,
                                   uint8_t *coarse, uint32_t cw, uint32_t ch)
{
    (void)ctx, (void)fh;
    /* A coarse point is unknown only where the fine point under it is. */
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++)
            coarse[(size_t)y * cw + x] =
                fine[(size_t)(2 * y) * fw + 2 * x] && x > 0 && y > 0 && x + 1 < cw && y + 1 < ch;
    return 0;
}
