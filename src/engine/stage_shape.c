/* Stages that make the shape: the domain, the height fields per mode, and
 * the closed mesh (with a coarser grid when the budget asks for it). */
#include "device/cpu_kernels.h"
#include "engine/gen.h"
#include "image/resize.h"
#include "mesh/domain.h"
#include "mesh/heightfield.h"
#include "orfeas/error.h"
#include "shape/depthmap.h"
#include "shape/inflate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Separate parts smaller than this share of the largest are dropped. */
#define SEPARATE_PART_SHARE 0.02

/* Cell (x, y) is inside when the mask averaged over its corners is. */
static int build_cells(orfeas_gen *j)
{
    uint32_t cw = j->w - 1, ch = j->h - 1;
    int err = orfeas_gen_alloc(j, (size_t)cw * ch, (void **)&j->cells);
    if (err) return err;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++) {
            int inside = 1;
            if (j->mask.data) {
                size_t i = (size_t)y * j->w + x;
                inside = orfeas_plane_at(&j->mask, i) + orfeas_plane_at(&j->mask, i + 1) +
                             orfeas_plane_at(&j->mask, i + j->w) +
                             orfeas_plane_at(&j->mask, i + j->w + 1) >=
                         2.0f;
            }
            j->cells[(size_t)y * cw + x] = (uint8_t)inside;
        }
    uint64_t kept = 0;
    err = orfeas_domain_clean(j->cells, cw, ch, SEPARATE_PART_SHARE, &kept);
    if (err) return err;
    return kept >= 4 ? 0 : ORFEAS_ENOFOREGROUND;
}

static int vertex_in_domain(const orfeas_gen *j, uint32_t x, uint32_t y)
{
    uint32_t cw = j->w - 1, ch = j->h - 1;
    for (uint32_t cy = y ? y - 1 : 0; cy <= y && cy < ch; cy++)
        for (uint32_t cx = x ? x - 1 : 0; cx <= x && cx < cw; cx++)
            if (j->cells[(size_t)cy * cw + cx]) return 1;
    return 0;
}

/* The depth map at two blur scales: fine detail and the low-pass under it. */
static int depth_scales(orfeas_gen *j, float fine_fraction, float **fine, float **low)
{
    uint32_t side = j->w > j->h ? j->w : j->h;
    *low = NULL;
    int err = orfeas_plane_floats(&j->depth, fine);
    if (!err) err = orfeas_plane_floats(&j->depth, low);
    if (!err) err = orfeas_devmem_blur(&j->mem, *fine, j->w, j->h, side * fine_fraction);
    if (!err) err = orfeas_devmem_blur(&j->mem, *low, j->w, j->h, side / 40.0f);
    return err;
}

/* Fine detail of the depth map: band-pass, scaled to about -1..1. */
static int detail_band(orfeas_gen *j, float **band)
{
    size_t n = (size_t)j->w * j->h;
    float *low = NULL;
    int err = depth_scales(j, 1.0f / 512.0f, band, &low);
    if (!err) {
        for (size_t i = 0; i < n; i++)
            (*band)[i] -= low[i];
        err = orfeas_normalize(*band, n, 0.02f, 0.98f);
        for (size_t i = 0; i < n; i++)
            (*band)[i] = 2.0f * (*band)[i] - 1.0f;
    }
    free(low);
    return err;
}

static int heights_inflate(orfeas_gen *j)
{
    size_t n = (size_t)j->w * j->h;
    uint32_t cw = j->w - 1;
    uint8_t *interior = calloc(n, 1);
    float *u = malloc(n * sizeof *u);
    float *band = NULL;
    int err = interior && u ? 0 : ORFEAS_ENOMEM;
    for (uint32_t y = 1; !err && y + 1 < j->h; y++)
        for (uint32_t x = 1; x + 1 < j->w; x++) {
            const uint8_t *c = j->cells + (size_t)(y - 1) * cw + (x - 1);
            interior[(size_t)y * j->w + x] = c[0] && c[1] && c[cw] && c[cw + 1];
        }
    if (!err) err = detail_band(j, &band);
    if (!err) err = orfeas_inflate_solve(&j->mem, interior, j->w, j->h, u, orfeas_gen_cancel(j));
    if (err) {
        free(interior), free(u), free(band);
        return err;
    }
    float rmax = 0;
    for (size_t i = 0; i < n; i++) {
        u[i] = u[i] > 0 ? sqrtf(u[i]) : 0;
        if (u[i] > rmax) rmax = u[i];
    }
    /* Shape in units of half the thickness: a rim keeps the outline
     * printable, detail rides on the front and fades out toward the rim. */
    const float rim = 0.08f, relief = 0.35f * (float)j->params.detail;
    for (size_t i = 0; i < n; i++) {
        float shape = rmax > 0 ? u[i] / rmax : 0;
        float fade = shape < 0.3f ? shape / 0.3f : 1.0f;
        j->front[i] = rim + (1 - rim) * shape + relief * band[i] * fade * shape;
        j->back[i] = -(rim + (1 - rim) * shape);
    }
    free(interior), free(u), free(band);
    /* Scale so the thickness over the domain is exactly depth_mm. */
    float lo = INFINITY, hi = -INFINITY;
    for (uint32_t y = 0; y < j->h; y++)
        for (uint32_t x = 0; x < j->w; x++) {
            if (!vertex_in_domain(j, x, y)) continue;
            size_t i = (size_t)y * j->w + x;
            if (j->back[i] < lo) lo = j->back[i];
            if (j->front[i] > hi) hi = j->front[i];
        }
    float scale = (float)j->depth_mm / (hi - lo);
    for (size_t i = 0; i < n; i++) {
        j->front[i] = (j->front[i] - lo) * scale;
        j->back[i] = (j->back[i] - lo) * scale;
        /* Detail must never push the front through the back. */
        float min_front = j->back[i] + 0.02f * (float)j->depth_mm;
        if (j->front[i] < min_front) j->front[i] = min_front;
    }
    return 0;
}

static float mask_weight(const orfeas_gen *j, size_t i)
{
    if (!j->mask.data) return 1.0f;
    float m = orfeas_plane_at(&j->mask, i);
    return m > 1 ? 1 : m;
}

/* Bas-relief on a plate: the depth map with its local contrast raised by
 * `detail`, on top of base_mm. */
static int heights_relief(orfeas_gen *j)
{
    size_t n = (size_t)j->w * j->h;
    float *fine = NULL, *low = NULL;
    int err = depth_scales(j, 1.0f / 1024.0f, &fine, &low);
    if (!err) {
        float gain = 0.5f + (float)j->params.detail;
        for (size_t i = 0; i < n; i++)
            fine[i] = low[i] + gain * (fine[i] - low[i]);
        err = orfeas_normalize(fine, n, 0.01f, 0.99f);
    }
    if (!err) {
        float base = (float)j->params.base_mm, span = (float)j->depth_mm - base;
        for (size_t i = 0; i < n; i++) {
            j->front[i] = base + span * fine[i] * mask_weight(j, i);
            j->back[i] = 0;
        }
    }
    free(fine), free(low);
    return err;
}

/* Lithophane: thin where bright, thick where dark, flat back. */
static int heights_lithophane(orfeas_gen *j)
{
    size_t n = (size_t)j->w * j->h;
    orfeas_luminance(j->rgba, n, j->front);
    int err = orfeas_devmem_blur(&j->mem, j->front, j->w, j->h, 0.5f);
    if (err) return err;
    float base = (float)j->params.base_mm, span = (float)j->depth_mm - base;
    for (size_t i = 0; i < n; i++) {
        float v = (1.0f - j->front[i]) * mask_weight(j, i);
        j->front[i] = base + span * (v < 0 ? 0 : v > 1 ? 1 : v);
        j->back[i] = 0;
    }
    return 0;
}

int orfeas_stage_heights(orfeas_gen *j)
{
    int err = build_cells(j);
    if (err) return err;
    size_t n = (size_t)j->w * j->h;
    err = orfeas_gen_alloc(j, n * sizeof *j->front, (void **)&j->front);
    if (!err) err = orfeas_gen_alloc(j, n * sizeof *j->back, (void **)&j->back);
    if (err) return err;
    switch (j->params.mode) {
    case ORFEAS_MODE_INFLATE:
        return heights_inflate(j);
    case ORFEAS_MODE_LITHOPHANE:
        return heights_lithophane(j);
    default:
        return heights_relief(j);
    }
}

static uint64_t triangle_budget(const orfeas_gen *j)
{
    return j->params.target_triangles ? j->params.target_triangles
                                      : orfeas_quality_triangle_budget(j->params.quality);
}

static int mesh_once(orfeas_gen *j, orfeas_mesh *mesh)
{
    uint32_t cw = j->w - 1, ch = j->h - 1;
    uint32_t minx = cw, maxx = 0, miny = ch, maxy = 0;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++)
            if (j->cells[(size_t)y * cw + x]) {
                if (x < minx) minx = x;
                if (x + 1 > maxx) maxx = x + 1;
                if (y < miny) miny = y;
                if (y + 1 > maxy) maxy = y + 1;
            }
    /* Fit the object's box into width x height millimetres, aspect kept. */
    double pixel_mm = j->params.width_mm / (maxx - minx);
    if (j->params.height_mm > 0 && j->params.height_mm / (maxy - miny) < pixel_mm)
        pixel_mm = j->params.height_mm / (maxy - miny);
    orfeas_heightfield hf = {
        .width = j->w,
        .height = j->h,
        .cells = j->cells,
        .front = j->front,
        .back = j->back,
        .rgba = j->params.texture == ORFEAS_TEXTURE_VERTEX ? j->rgba : NULL,
        .pixel_mm = pixel_mm,
        .smooth_boundary = j->params.mode == ORFEAS_MODE_INFLATE,
        .devmem = &j->mem,
    };
    orfeas_heightfield_stats hs;
    int err = orfeas_heightfield_mesh(&hf, triangle_budget(j), mesh, &hs);
    if (err) return err;
    j->stats->full_triangles = hs.full_triangles;
    j->stats->max_height_error_mm = hs.max_error_mm;
    return 0;
}

/* Rebuilds the working image and planes on a coarser grid. The old grid is
 * released before the new one is allocated, so the generation never holds both. */
static int regrid(orfeas_gen *j, double factor)
{
    uint32_t nw = (uint32_t)lround(j->w * factor), nh = (uint32_t)lround(j->h * factor);
    nw = nw < 2 ? 2 : nw, nh = nh < 2 ? 2 : nh;
    uint32_t ow = j->w, oh = j->h;
    size_t n = (size_t)nw * nh;
    float *old_mask = NULL, *old_depth = NULL, *mask = NULL, *depth = NULL;
    int had_mask = j->mask.data != NULL;
    int err = had_mask ? orfeas_plane_floats(&j->mask, &old_mask) : 0;
    if (!err) err = orfeas_plane_floats(&j->depth, &old_depth);
    orfeas_gen_release_grid(j);
    j->w = nw, j->h = nh;
    if (!err) err = orfeas_stage_working_image(j);
    if (!err && had_mask) {
        mask = malloc(n * sizeof *mask);
        err = mask ? orfeas_resize_f32(old_mask, ow, oh, mask, nw, nh) : ORFEAS_ENOMEM;
        if (!err) err = orfeas_plane_store(j, &j->mask, mask, n);
    }
    if (!err) {
        depth = malloc(n * sizeof *depth);
        err = depth ? orfeas_resize_f32(old_depth, ow, oh, depth, nw, nh) : ORFEAS_ENOMEM;
        if (!err) err = orfeas_plane_store(j, &j->depth, depth, n);
    }
    free(old_mask), free(old_depth), free(mask), free(depth);
    return err;
}

/* The outline stays at grid resolution, so a small budget on a fine grid
 * cannot be met by refinement alone: then the grid gets coarser until the
 * mesh fits. */
int orfeas_stage_mesh(orfeas_gen *j, orfeas_mesh *mesh)
{
    int err = mesh_once(j, mesh);
    for (int attempt = 0; !err && attempt < 8 && mesh->triangle_count > triangle_budget(j);
         attempt++) {
        if (j->w < 8 || j->h < 8) break;
        double factor = 0.9 * (double)triangle_budget(j) / mesh->triangle_count;
        orfeas_mesh_free(mesh);
        err = regrid(j, factor < 0.5 ? 0.5 : factor > 0.9 ? 0.9 : factor);
        if (!err) err = orfeas_stage_heights(j);
        if (!err) err = mesh_once(j, mesh);
    }
    return err;
}
