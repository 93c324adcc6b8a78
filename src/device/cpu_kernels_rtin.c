/* The cpu reference of the RTIN error pass (orfeas_kernels.rtin_level):
 * one level of mesh/rtin.c's build, every triangle of that depth folding its
 * error (and its children's) into its hypotenuse midpoint slot. */
#include "device/cpu_kernels.h"

#include <math.h>

static float height_at(const float *h, const orfeas_rtin_grid *r, uint32_t x, uint32_t y)
{
    return x < r->width && y < r->height ? h[(size_t)y * r->width + x] : 0.0f;
}

typedef struct build_ctx {
    const orfeas_rtin_grid *r;
    float *errors;
    const float *front, *back;
    uint32_t target, deepest;
} build_ctx;

static float midpoint_error(const build_ctx *b, uint32_t ax, uint32_t ay, uint32_t bx, uint32_t by,
                            uint32_t mx, uint32_t my)
{
    const orfeas_rtin_grid *r = b->r;
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
    const orfeas_rtin_grid *r = b->r;
    size_t size = r->size;
    uint32_t mx = (ax + bx) >> 1, my = (ay + by) >> 1;
    if (orfeas_rtin_beyond_image(r, ax, ay, bx, by, cx, cy)) {
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
        if (!orfeas_rtin_leaf_inside(r, cx, cy, ax, ay, mx, my) ||
            !orfeas_rtin_leaf_inside(r, bx, by, cx, cy, mx, my))
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
    orfeas_rtin_grid geometry = {.width = width, .height = height, .size = size, .cells = cells};
    build_ctx b = {&geometry, errors, front, back, level, deepest};
    uint32_t tile = size - 1;
    build_level(&b, 0, 0, 0, tile, tile, tile, 0);
    build_level(&b, 0, tile, tile, 0, 0, 0, tile);
    return 0;
}
