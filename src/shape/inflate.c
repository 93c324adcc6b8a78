#include "shape/inflate.h"
#include "orfeas/error.h"

#include <stdlib.h>
#include <string.h>

/* Multigrid V-cycles on -Laplace(u) = f with u = 0 off the interior. The
 * masked domain makes plain cascadic smoothing converge slowly (each coarse
 * level moves the outline by a coarse pixel), so coarse levels solve for the
 * correction of the fine residual instead. */
enum { COARSEST_SIDE = 24, COARSE_SWEEPS = 200, PRE_SWEEPS = 3, POST_SWEEPS = 3, CYCLES = 6 };
enum { MAX_LEVELS = 32 };

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

typedef struct level {
    uint32_t w, h;
    float spacing;
    uint8_t *interior; /* device memory, all of them */
    float *u, *f, *r;
} level;

typedef struct solver {
    const orfeas_devmem *m;
    const orfeas_kernels *k;
    void *kctx;
    level levels[MAX_LEVELS];
    int count;
} solver;

static int vcycle(solver *s, int i)
{
    level *l = &s->levels[i];
    const orfeas_kernels *k = s->k;
    if (i == s->count - 1)
        return k->mg_smooth(s->kctx, l->interior, l->u, l->f, l->w, l->h, l->spacing,
                            COARSE_SWEEPS);
    level *c = &s->levels[i + 1];
    int err = k->mg_smooth(s->kctx, l->interior, l->u, l->f, l->w, l->h, l->spacing, PRE_SWEEPS);
    if (!err) err = k->mg_residual(s->kctx, l->interior, l->u, l->f, l->r, l->w, l->h, l->spacing);
    if (!err) err = k->mg_restrict(s->kctx, l->r, l->w, l->h, c->interior, c->f, c->u, c->w, c->h);
    if (!err) err = vcycle(s, i + 1);
    if (!err) err = k->mg_prolong_add(s->kctx, c->u, c->w, c->h, l->interior, l->u, l->w, l->h);
    if (!err)
        err = k->mg_smooth(s->kctx, l->interior, l->u, l->f, l->w, l->h, l->spacing, POST_SWEEPS);
    return err;
}

static void free_levels(solver *s)
{
    for (int i = 0; i < s->count; i++) {
        level *l = &s->levels[i];
        size_t n = (size_t)l->w * l->h;
        orfeas_devmem_free(s->m, l->interior, n);
        orfeas_devmem_free(s->m, l->u, n * sizeof(float));
        orfeas_devmem_free(s->m, l->f, n * sizeof(float));
        orfeas_devmem_free(s->m, l->r, n * sizeof(float));
    }
}

static int alloc_levels(solver *s, uint32_t w, uint32_t h)
{
    for (uint32_t lw = w, lh = h;; lw = (lw + 1) / 2, lh = (lh + 1) / 2) {
        level *l = &s->levels[s->count++];
        memset(l, 0, sizeof *l);
        l->w = lw, l->h = lh;
        l->spacing = s->count > 1 ? s->levels[s->count - 2].spacing * 2 : 1.0f;
        size_t n = (size_t)lw * lh;
        int err = orfeas_devmem_alloc(s->m, n, (void **)&l->interior);
        if (!err) err = orfeas_devmem_alloc(s->m, n * sizeof(float), (void **)&l->u);
        if (!err) err = orfeas_devmem_alloc(s->m, n * sizeof(float), (void **)&l->f);
        if (!err) err = orfeas_devmem_alloc(s->m, n * sizeof(float), (void **)&l->r);
        if (err) return err;
        if (lw <= COARSEST_SIDE || lh <= COARSEST_SIDE || s->count == MAX_LEVELS) return 0;
    }
}

int orfeas_inflate_solve(const orfeas_devmem *m, const uint8_t *interior, uint32_t w, uint32_t h,
                         float *u, const atomic_int *cancel)
{
    solver s = {.m = m};
    s.k = orfeas_devmem_kernels(m, &s.kctx);
    size_t n = (size_t)w * h;
    /* The right-hand side is built on the host and uploaded once; u starts
     * at 0 and comes back at the end. */
    float *f = malloc(n * sizeof *f);
    int err = f ? alloc_levels(&s, w, h) : ORFEAS_ENOMEM;
    if (!err) {
        for (size_t i = 0; i < n; i++)
            f[i] = interior[i] ? 4.0f : 0.0f;
        memset(u, 0, n * sizeof *u);
        level *top = &s.levels[0];
        err = orfeas_devmem_upload(m, top->interior, interior, n);
        if (!err) err = orfeas_devmem_upload(m, top->f, f, n * sizeof *f);
        if (!err) err = orfeas_devmem_upload(m, top->u, u, n * sizeof *u);
    }
    for (int i = 1; !err && i < s.count; i++) {
        level *fine = &s.levels[i - 1], *coarse = &s.levels[i];
        err = s.k->mg_coarsen_interior(s.kctx, fine->interior, fine->w, fine->h, coarse->interior,
                                       coarse->w, coarse->h);
    }
    for (int c = 0; !err && c < CYCLES; c++) {
        if (cancel && atomic_load(cancel)) err = ORFEAS_ECANCELLED;
        if (!err) err = vcycle(&s, 0);
    }
    if (!err) err = orfeas_devmem_download(m, u, s.levels[0].u, n * sizeof *u);
    if (!err) err = orfeas_devmem_sync(m);
    free_levels(&s);
    free(f);
    return err;
}
