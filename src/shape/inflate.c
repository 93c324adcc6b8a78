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
