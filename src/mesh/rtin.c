#include "mesh/rtin.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int orfeas_rtin_build(orfeas_rtin *r, const orfeas_devmem *m, uint32_t width, uint32_t height,
                      const float *front, const float *back, const uint8_t *cells)
{
    memset(r, 0, sizeof *r);
    uint32_t tile = 1, levels = 0;
    while (tile + 1 < width || tile + 1 < height)
        tile *= 2, levels += 2;
    if (tile < 2) tile = 2, levels = 2;
    r->grid =
        (orfeas_rtin_grid){.width = width, .height = height, .size = tile + 1, .cells = cells};
    size_t size = r->grid.size;
    size_t err_bytes = size * size * sizeof(float), grid = (size_t)width * height;
    size_t cell_bytes = (size_t)(width - 1) * (height - 1);
    r->errors = calloc(size * size, sizeof *r->errors);
    if (!r->errors) return ORFEAS_ENOMEM;

    /* Device copies of the inputs (the same pointers on host memory). */
    int host = orfeas_devmem_host_accessible(m);
    float *d_errors = r->errors, *d_front = (float *)front, *d_back = (float *)back;
    uint8_t *d_cells = (uint8_t *)cells;
    int err = 0;
    if (!host) {
        d_errors = d_front = d_back = NULL, d_cells = NULL;
        err = orfeas_devmem_alloc(m, err_bytes, (void **)&d_errors);
        if (!err) err = orfeas_devmem_alloc(m, grid * sizeof(float), (void **)&d_front);
        if (!err) err = orfeas_devmem_alloc(m, grid * sizeof(float), (void **)&d_back);
        if (!err) err = orfeas_devmem_alloc(m, cell_bytes, (void **)&d_cells);
        if (!err) err = orfeas_devmem_upload(m, d_errors, r->errors, err_bytes);
        if (!err) err = orfeas_devmem_upload(m, d_front, front, grid * sizeof(float));
        if (!err) err = orfeas_devmem_upload(m, d_back, back, grid * sizeof(float));
        if (!err) err = orfeas_devmem_upload(m, d_cells, cells, cell_bytes);
    }
    /* Deepest level first: a triangle's error includes its children's, and
     * each child's slot must already hold its twin's error across the
     * hypotenuse, which may live under another parent. */
    void *kctx;
    const orfeas_kernels *k = orfeas_devmem_kernels(m, &kctx);
    for (uint32_t level = levels; !err && level-- > 0;)
        err = k->rtin_level(kctx, d_front, d_back, d_cells, width, height, r->grid.size, d_errors,
                            level, levels - 1);
    if (!err && !host) err = orfeas_devmem_download(m, r->errors, d_errors, err_bytes);
    if (!err) err = orfeas_devmem_sync(m);
    if (!host) {
        orfeas_devmem_free(m, d_errors, err_bytes);
        orfeas_devmem_free(m, d_front, grid * sizeof(float));
        orfeas_devmem_free(m, d_back, grid * sizeof(float));
        orfeas_devmem_free(m, d_cells, cell_bytes);
    }
    if (err) {
        orfeas_rtin_free(r);
        return err;
    }
    r->max_finite_error = 0;
    for (size_t k2 = 0; k2 < size * size; k2++)
        if (isfinite(r->errors[k2]) && r->errors[k2] > r->max_finite_error)
            r->max_finite_error = r->errors[k2];
    return 0;
}

typedef struct walk_ctx {
    const orfeas_rtin *r;
    float threshold;
    uint64_t count, limit;
    uint32_t *out; /* NULL when only counting */
} walk_ctx;

static void walk(walk_ctx *w, uint32_t ax, uint32_t ay, uint32_t bx, uint32_t by, uint32_t cx,
                 uint32_t cy)
{
    if (w->count > w->limit || orfeas_rtin_beyond_image(&w->r->grid, ax, ay, bx, by, cx, cy))
        return;
    uint32_t mx = (ax + bx) >> 1, my = (ay + by) >> 1;
    uint32_t leg = (ax > cx ? ax - cx : cx - ax) + (ay > cy ? ay - cy : cy - ay);
    float err = w->r->errors[(size_t)my * w->r->grid.size + mx];
    if (leg > 1 && (err > w->threshold || isinf(err))) {
        walk(w, cx, cy, ax, ay, mx, my);
        walk(w, bx, by, cx, cy, mx, my);
        return;
    }
    /* A leaf may be outside; a larger unsplit triangle never is, because a
     * triangle touching an outside cell carries an infinite error. */
    if (leg == 1 && !orfeas_rtin_leaf_inside(&w->r->grid, ax, ay, bx, by, cx, cy)) return;
    if (w->out) {
        uint32_t *t = w->out + 3 * w->count;
        t[0] = ay * w->r->grid.width + ax;
        t[1] = by * w->r->grid.width + bx;
        t[2] = cy * w->r->grid.width + cx;
    }
    w->count++;
}

static void walk_roots(walk_ctx *w)
{
    uint32_t tile = w->r->grid.size - 1;
    walk(w, 0, 0, tile, tile, tile, 0);
    walk(w, tile, tile, 0, 0, 0, tile);
}

uint64_t orfeas_rtin_count(const orfeas_rtin *r, float threshold, uint64_t limit)
{
    walk_ctx w = {r, threshold, 0, limit, NULL};
    walk_roots(&w);
    return w.count;
}

int orfeas_rtin_extract(const orfeas_rtin *r, float threshold, uint32_t **triangles, size_t *count)
{
    uint64_t n = orfeas_rtin_count(r, threshold, UINT64_MAX);
    uint32_t *out = malloc(n * 3 * sizeof *out + 1);
    if (!out) return ORFEAS_ENOMEM;
    walk_ctx w = {r, threshold, 0, UINT64_MAX, out};
    walk_roots(&w);
    *triangles = out;
    *count = (size_t)w.count;
    return 0;
}

float orfeas_rtin_threshold_for_budget(const orfeas_rtin *r, uint64_t budget)
{
    if (orfeas_rtin_count(r, 0.0f, budget) <= budget) return 0.0f;
    /* Bisect in log space between a negligible error and the largest one;
     * the count only grows as the threshold falls. */
    float hi = r->max_finite_error > 0 ? r->max_finite_error : 1.0f;
    float lo = hi * 1e-6f;
    if (orfeas_rtin_count(r, lo, budget) <= budget) return lo;
    for (int it = 0; it < 40 && hi / lo > 1.02f; it++) {
        float mid = sqrtf(lo * hi);
        if (orfeas_rtin_count(r, mid, budget) <= budget)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

void orfeas_rtin_free(orfeas_rtin *r)
{
    if (!r) return;
    free(r->errors);
    memset(r, 0, sizeof *r);
}
