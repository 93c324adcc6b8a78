#include "shape/inflate.h"
#include "orfeas/error.h"

#include <stdlib.h>
#include <string.h>

/* Multigrid V-cycles on -Laplace(u) = f with u = 0 off the interior. The
 * masked domain makes plain cascadic smoothing converge slowly (each coarse
 * level moves the outline by a coarse pixel), so coarse levels solve for the
 * correction of the fine residual instead. */
enum { COARSEST_SIDE = 24, COARSE_SWEEPS = 200, PRE_SWEEPS = 3, POST_SWEEPS = 3, CYCLES = 6 };

typedef struct level {
    uint32_t w, h;
    float spacing;
    uint8_t *interior;
    float *u, *f, *r;
} level;

void orfeas_inflate_relax(const uint8_t *interior, uint32_t w, uint32_t h, float *u, float spacing,
                          float omega, int sweeps)
{
    const float rhs = 4.0f * spacing * spacing;
    for (int s = 0; s < sweeps; s++) {
        for (uint32_t colour = 0; colour < 2; colour++) {
            for (uint32_t y = 1; y + 1 < h; y++) {
                uint32_t x0 = 1 + ((y + 1 + colour) & 1);
                float *row = u + (size_t)y * w;
                const float *above = row - w, *below = row + w;
                const uint8_t *in = interior + (size_t)y * w;
                for (uint32_t x = x0; x + 1 < w; x += 2) {
                    if (!in[x]) continue;
                    float gs = (row[x - 1] + row[x + 1] + above[x] + below[x] + rhs) * 0.25f;
                    row[x] += omega * (gs - row[x]);
                }
            }
        }
    }
}

/* Red-black Gauss-Seidel on -Laplace(u) = f. */
static void smooth(level *l, int sweeps)
{
    const float h2 = l->spacing * l->spacing;
    uint32_t w = l->w;
    for (int s = 0; s < sweeps; s++)
        for (uint32_t colour = 0; colour < 2; colour++)
            for (uint32_t y = 1; y + 1 < l->h; y++) {
                float *row = l->u + (size_t)y * w;
                const float *above = row - w, *below = row + w, *f = l->f + (size_t)y * w;
                const uint8_t *in = l->interior + (size_t)y * w;
                for (uint32_t x = 1 + ((y + 1 + colour) & 1); x + 1 < w; x += 2)
                    if (in[x])
                        row[x] =
                            (row[x - 1] + row[x + 1] + above[x] + below[x] + h2 * f[x]) * 0.25f;
            }
}

static void residual(level *l)
{
    const float inv_h2 = 1.0f / (l->spacing * l->spacing);
    uint32_t w = l->w;
    memset(l->r, 0, (size_t)w * l->h * sizeof *l->r);
    for (uint32_t y = 1; y + 1 < l->h; y++)
        for (uint32_t x = 1; x + 1 < w; x++) {
            size_t i = (size_t)y * w + x;
            if (!l->interior[i]) continue;
            const float *u = l->u;
            l->r[i] = l->f[i] - (4 * u[i] - u[i - 1] - u[i + 1] - u[i - w] - u[i + w]) * inv_h2;
        }
}

/* Full weighting of the fine residual onto the coarse interior points. */
static void restrict_residual(const level *fine, level *coarse)
{
    uint32_t fw = fine->w, fh = fine->h;
    for (uint32_t y = 0; y < coarse->h; y++)
        for (uint32_t x = 0; x < coarse->w; x++) {
            size_t ci = (size_t)y * coarse->w + x;
            coarse->u[ci] = 0;
            if (!coarse->interior[ci]) {
                coarse->f[ci] = 0;
                continue;
            }
            uint32_t fx = 2 * x, fy = 2 * y;
            float sum = 0, weight = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    long sx = (long)fx + dx, sy = (long)fy + dy;
                    if (sx < 0 || sy < 0 || sx >= (long)fw || sy >= (long)fh) continue;
                    float wgt = (dx ? 1.0f : 2.0f) * (dy ? 1.0f : 2.0f);
                    sum += wgt * fine->r[(size_t)sy * fw + sx];
                    weight += wgt;
                }
            coarse->f[ci] = sum / weight;
        }
}

/* Adds the bilinear interpolation of the coarse correction. */
static void prolong_add(const level *coarse, level *fine)
{
    uint32_t cw = coarse->w, ch = coarse->h;
    for (uint32_t y = 0; y < fine->h; y++)
        for (uint32_t x = 0; x < fine->w; x++) {
            size_t i = (size_t)y * fine->w + x;
            if (!fine->interior[i]) continue;
            uint32_t x0 = x / 2, y0 = y / 2;
            uint32_t x1 = x0 + (x & 1) < cw ? x0 + (x & 1) : cw - 1;
            uint32_t y1 = y0 + (y & 1) < ch ? y0 + (y & 1) : ch - 1;
            if (x0 >= cw) x0 = cw - 1;
            if (y0 >= ch) y0 = ch - 1;
            const float *e = coarse->u;
            fine->u[i] += 0.25f * (e[(size_t)y0 * cw + x0] + e[(size_t)y0 * cw + x1] +
                                   e[(size_t)y1 * cw + x0] + e[(size_t)y1 * cw + x1]);
        }
}

static void vcycle(level *levels, int count, int k)
{
    level *l = &levels[k];
    if (k == count - 1) {
        smooth(l, COARSE_SWEEPS);
        return;
    }
    smooth(l, PRE_SWEEPS);
    residual(l);
    restrict_residual(l, &levels[k + 1]);
    vcycle(levels, count, k + 1);
    prolong_add(&levels[k + 1], l);
    smooth(l, POST_SWEEPS);
}

static void free_levels(level *levels, int count)
{
    for (int k = 0; k < count; k++) {
        if (k > 0) free(levels[k].interior), free(levels[k].u);
        free(levels[k].f), free(levels[k].r);
    }
}

int orfeas_inflate_solve(const uint8_t *interior, uint32_t w, uint32_t h, float *u,
                         const atomic_int *cancel)
{
    level levels[32];
    int count = 0;
    int err = 0;
    memset(u, 0, (size_t)w * h * sizeof *u);
    for (uint32_t lw = w, lh = h;; lw = (lw + 1) / 2, lh = (lh + 1) / 2) {
        level *l = &levels[count];
        memset(l, 0, sizeof *l);
        l->w = lw, l->h = lh, l->spacing = count ? levels[count - 1].spacing * 2 : 1.0f;
        size_t n = (size_t)lw * lh;
        l->interior = count ? malloc(n) : (uint8_t *)interior;
        l->u = count ? calloc(n, sizeof *l->u) : u;
        l->f = malloc(n * sizeof *l->f);
        l->r = malloc(n * sizeof *l->r);
        count++;
        if (!l->interior || !l->u || !l->f || !l->r) {
            err = ORFEAS_ENOMEM;
            break;
        }
        if (count > 1) {
            /* A coarse point is unknown only where the fine point under it is. */
            const level *fine = &levels[count - 2];
            for (uint32_t y = 0; y < lh; y++)
                for (uint32_t x = 0; x < lw; x++)
                    l->interior[(size_t)y * lw + x] =
                        fine->interior[(size_t)(2 * y) * fine->w + 2 * x] && x > 0 && y > 0 &&
                        x + 1 < lw && y + 1 < lh;
        }
        if (lw <= COARSEST_SIDE || lh <= COARSEST_SIDE || count == 32) break;
    }
    if (!err) {
        size_t n = (size_t)w * h;
        for (size_t i = 0; i < n; i++)
            levels[0].f[i] = interior[i] ? 4.0f : 0.0f;
        for (int c = 0; c < CYCLES && !err; c++) {
            if (cancel && atomic_load(cancel))
                err = ORFEAS_ECANCELLED;
            else
                vcycle(levels, count, 0);
        }
    }
    free_levels(levels, count);
    return err;
}
