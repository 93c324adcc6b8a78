#include "mesh/rtin.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cell_inside(const orfeas_rtin *r, uint32_t x, uint32_t y)
{
    return x + 1 < r->width && y + 1 < r->height && r->cells[(size_t)y * (r->width - 1) + x];
}

static float height_at(const float *h, const orfeas_rtin *r, uint32_t x, uint32_t y)
{
    return x < r->width && y < r->height ? h[(size_t)y * r->width + x] : 0.0f;
}

static uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* A half-cell leaf lies in the cell at its smallest corner. */
static int leaf_inside(const orfeas_rtin *r, uint32_t ax, uint32_t ay, uint32_t bx, uint32_t by,
                       uint32_t cx, uint32_t cy)
{
    return cell_inside(r, min3(ax, bx, cx), min3(ay, by, cy));
}

/* True when the triangle covers no cell of the image: nothing under it can
 * be emitted, so both the error pass and the walk skip it. */
static int beyond_image(const orfeas_rtin *r, uint32_t ax, uint32_t ay, uint32_t bx, uint32_t by,
                        uint32_t cx, uint32_t cy)
{
    return min3(ax, bx, cx) + 1 >= r->width || min3(ay, by, cy) + 1 >= r->height;
}

typedef struct build_ctx {
    const orfeas_rtin *r;
    float *errors;
    const float *front, *back;
    uint32_t target, deepest;
} build_ctx;

static float midpoint_error(const build_ctx *b, uint32_t ax, uint32_t ay, uint32_t bx, uint32_t by,
                            uint32_t mx, uint32_t my)
{
    const orfeas_rtin *r = b->r;
    float ef = fabsf((height_at(b->front, r, ax, ay) + height_at(b->front, r, bx, by)) * 0.5f -
                     height_at(b->front, r, mx, my));
    float eb = fabsf((height_at(b->back, r, ax, ay) + height_at(b->back, r, bx, by)) * 0.5f -
                     height_at(b->back, r, mx, my));
    return ef > eb ? ef : eb;
}

/* Visits the triangles of depth b->target under (a, b, c) and folds their
 * error into the shared midpoint slot. */
static void build_level(build_ctx *b, uint32_t depth, uint32_t ax, uint32_t ay, uint32_t bx,
                        uint32_t by, uint32_t cx, uint32_t cy)
{
    const orfeas_rtin *r = b->r;
    size_t size = r->size;
    uint32_t mx = (ax + bx) >> 1, my = (ay + by) >> 1;
    if (beyond_image(r, ax, ay, bx, by, cx, cy)) {
        /* Nothing below needs visiting, but the slot must say "split" so a
         * parent that is partly inside never stays whole over outside cells. */
        if (depth == b->target) b->errors[(size_t)my * size + mx] = INFINITY;
        return;
    }
    if (depth < b->target) {
        build_level(b, depth + 1, cx, cy, ax, ay, mx, my);
        build_level(b, depth + 1, bx, by, cx, cy, mx, my);
        return;
    }
    float err;
    if (depth == b->deepest) {
        /* Smallest split: the children are half cells. */
        if (!leaf_inside(r, cx, cy, ax, ay, mx, my) || !leaf_inside(r, bx, by, cx, cy, mx, my))
            err = INFINITY;
        else
            err = midpoint_error(b, ax, ay, bx, by, mx, my);
    } else {
        err = midpoint_error(b, ax, ay, bx, by, mx, my);
        float left = b->errors[(size_t)((ay + cy) >> 1) * size + ((ax + cx) >> 1)];
        float right = b->errors[(size_t)((by + cy) >> 1) * size + ((bx + cx) >> 1)];
        if (left > err) err = left;
        if (right > err) err = right;
    }
    float *slot = &b->errors[(size_t)my * size + mx];
    if (err > *slot) *slot = err;
}

int orfeas_cpu_rtin_level(void *ctx, const float *front, const float *back, const uint8_t *cells,
                          uint32_t width, uint32_t height, uint32_t size, float *errors,
                          uint32_t level, uint32_t deepest)
{
    (void)ctx;
    orfeas_rtin geometry = {.width = width, .height = height, .size = size, .cells = cells};
    build_ctx b = {&geometry, errors, front, back, level, deepest};
    uint32_t tile = size - 1;
    build_level(&b, 0, 0, 0, tile, tile, tile, 0);
    build_level(&b, 0, tile, tile, 0, 0, 0, tile);
    return 0;
}

int orfeas_rtin_build(orfeas_rtin *r, const orfeas_devmem *m, uint32_t width, uint32_t height,
                      const float *front, const float *back, const uint8_t *cells)
{
    memset(r, 0, sizeof *r);
    uint32_t tile = 1, levels = 0;
    while (tile + 1 < width || tile + 1 < height)
        tile *= 2, levels += 2;
    if (tile < 2) tile = 2, levels = 2;
    r->width = width, r->height = height, r->size = tile + 1, r->cells = cells;
    size_t size = r->size;
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
        err = k->rtin_level(kctx, d_front, d_back, d_cells, width, height, r->size, d_errors, level,
                            levels - 1);
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
    if (w->count > w->limit || beyond_image(w->r, ax, ay, bx, by, cx, cy)) return;
    uint32_t mx = (ax + bx) >> 1, my = (ay + by) >> 1;
    uint32_t leg = (ax > cx ? ax - cx : cx - ax) + (ay > cy ? ay - cy : cy - ay);
    float err = w->r->errors[(size_t)my * w->r->size + mx];
    if (leg > 1 && (err > w->threshold || isinf(err))) {
        walk(w, cx, cy, ax, ay, mx, my);
        walk(w, bx, by, cx, cy, mx, my);
        return;
    }
    /* A leaf may be outside; a larger unsplit triangle never is, because a
     * triangle touching an outside cell carries an infinite error. */
    if (leg == 1 && !leaf_inside(w->r, ax, ay, bx, by, cx, cy)) return;
    if (w->out) {
        uint32_t *t = w->out + 3 * w->count;
        t[0] = ay * w->r->width + ax;
        t[1] = by * w->r->width + bx;
        t[2] = cy * w->r->width + cx;
    }
    w->count++;
}

static void walk_roots(walk_ctx *w)
{
    uint32_t tile = w->r->size - 1;
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
