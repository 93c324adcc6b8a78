/* The generation pipeline. Each stage is a small function over one shared
 * job struct; everything the job allocates is released in job_free. */
#include "orfeas/engine.h"
#include "orfeas/error.h"
#include "orfeas/log.h"

#include "image/resize.h"
#include "mesh/domain.h"
#include "mesh/heightfield.h"
#include "shape/depthmap.h"
#include "shape/inflate.h"
#include "shape/segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Below this share of the frame a segmentation is not trusted as an object. */
#define MIN_OBJECT_FRACTION 0.01
/* Segmentation confidence needed for auto mode to inflate. */
#define AUTO_INFLATE_CONFIDENCE 0.5
/* Share of clearly transparent pixels that makes alpha the foreground. */
#define REAL_ALPHA_FRACTION 0.005
/* Separate parts smaller than this share of the largest are dropped. */
#define SEPARATE_PART_SHARE 0.02
/* The segmentation never needs more than this many pixels on the long side. */
#define SEGMENT_INPUT_SIDE 512u

static const char *const stage_names[ORFEAS_STAGE_COUNT_] = {"decode",  "foreground", "depth",
                                                             "heights", "mesh",       "check"};
/* Share of the overall progress each stage ends at. */
static const double stage_end_percent[ORFEAS_STAGE_COUNT_] = {10, 30, 40, 55, 95, 100};

const char *orfeas_stage_name(orfeas_stage stage)
{
    return (unsigned)stage < ORFEAS_STAGE_COUNT_ ? stage_names[stage] : "unknown";
}

typedef struct job {
    const orfeas_input *input;
    orfeas_params params;
    const orfeas_generate_options *opts;
    orfeas_generate_stats *stats;
    double depth_mm;
    orfeas_image source;
    uint32_t w, h;    /* working grid */
    uint8_t *rgba;    /* w*h*4 working image */
    float *soft_mask; /* w*h in 0..1, NULL = whole frame */
    float *depth;     /* w*h in 0..1, brighter = nearer */
    uint8_t *cells;   /* (w-1)*(h-1) */
    float *front, *back;
    double stage_start;
} job;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void job_free(job *j)
{
    orfeas_image_free(&j->source);
    free(j->rgba), free(j->soft_mask), free(j->depth), free(j->cells);
    free(j->front), free(j->back);
}

static int cancelled(const job *j)
{
    return j->opts && j->opts->cancel && atomic_load(j->opts->cancel);
}

/* Records the stage time and reports progress; non-zero means stop. */
static int stage_done(job *j, orfeas_stage stage)
{
    double t = now_ms();
    j->stats->stage_ms[stage] = t - j->stage_start;
    j->stage_start = t;
    if (j->opts && j->opts->progress &&
        j->opts->progress(j->opts->progress_userdata, stage, stage_end_percent[stage]))
        return ORFEAS_ECANCELLED;
    return cancelled(j) ? ORFEAS_ECANCELLED : 0;
}

static const orfeas_decode_limits *limits_of(const job *j)
{
    return j->opts ? &j->opts->limits : NULL;
}

static int stage_decode(job *j)
{
    int err = orfeas_image_decode(j->input->image, j->input->image_size, limits_of(j),
                                  ORFEAS_PIXELS_RGBA8, &j->source);
    if (err) return err;
    j->stats->source_width = j->source.width;
    j->stats->source_height = j->source.height;
    double side = orfeas_quality_long_side(j->params.quality);
    double scale = side / (j->source.width > j->source.height ? j->source.width : j->source.height);
    j->w = (uint32_t)lround(j->source.width * scale);
    j->h = (uint32_t)lround(j->source.height * scale);
    if (j->w < 2) j->w = 2;
    if (j->h < 2) j->h = 2;
    j->stats->work_width = j->w;
    j->stats->work_height = j->h;
    j->rgba = malloc((size_t)j->w * j->h * 4);
    if (!j->rgba) return ORFEAS_ENOMEM;
    return orfeas_resize_rgba8(j->source.pixels, j->source.width, j->source.height,
                               j->source.stride, j->rgba, j->w, j->h);
}

/* A plane of the source resolution (or any size) resampled to the grid. */
static int plane_to_grid(job *j, const float *plane, uint32_t pw, uint32_t ph, float **out)
{
    *out = malloc((size_t)j->w * j->h * sizeof **out);
    if (!*out) return ORFEAS_ENOMEM;
    return orfeas_resize_f32(plane, pw, ph, *out, j->w, j->h);
}

static int mask_from_alpha(job *j)
{
    size_t n = (size_t)j->w * j->h;
    j->soft_mask = malloc(n * sizeof *j->soft_mask);
    if (!j->soft_mask) return ORFEAS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        j->soft_mask[i] = j->rgba[4 * i + 3] * (1.0f / 255.0f);
    return 0;
}

static int mask_from_upload(job *j)
{
    orfeas_image m = {0};
    int err = orfeas_image_decode(j->input->mask, j->input->mask_size, limits_of(j),
                                  ORFEAS_PIXELS_RGBA8, &m);
    if (err) return err;
    size_t n = (size_t)m.width * m.height;
    float *plane = malloc(n * sizeof *plane);
    if (!plane) {
        orfeas_image_free(&m);
        return ORFEAS_ENOMEM;
    }
    orfeas_luminance(m.pixels, n, plane);
    for (size_t i = 0; i < n; i++)
        plane[i] *= m.pixels[4 * i + 3] * (1.0f / 255.0f);
    err = plane_to_grid(j, plane, m.width, m.height, &j->soft_mask);
    free(plane);
    orfeas_image_free(&m);
    return err;
}

/* Segments a copy of the source no larger than SEGMENT_INPUT_SIDE; returns
 * the confidence through *confidence. */
static int mask_from_segmentation(job *j, double *confidence)
{
    uint32_t sw = j->source.width, sh = j->source.height, side = sw > sh ? sw : sh;
    const uint8_t *pixels = j->source.pixels;
    size_t stride = j->source.stride;
    uint8_t *small = NULL;
    if (side > SEGMENT_INPUT_SIDE) {
        double s = (double)SEGMENT_INPUT_SIDE / side;
        uint32_t dw = (uint32_t)lround(sw * s), dh = (uint32_t)lround(sh * s);
        dw = dw ? dw : 1, dh = dh ? dh : 1;
        small = malloc((size_t)dw * dh * 4);
        if (!small) return ORFEAS_ENOMEM;
        int err = orfeas_resize_rgba8(pixels, sw, sh, stride, small, dw, dh);
        if (err) {
            free(small);
            return err;
        }
        pixels = small, sw = dw, sh = dh, stride = (size_t)dw * 4;
    }
    size_t n = (size_t)sw * sh;
    uint8_t *mask = malloc(n);
    float *plane = malloc(n * sizeof *plane);
    int err = mask && plane ? 0 : ORFEAS_ENOMEM;
    if (!err)
        err = orfeas_segment_foreground(pixels, sw, sh, stride, NULL,
                                        j->opts ? j->opts->cancel : NULL, mask, confidence);
    if (!err) {
        for (size_t i = 0; i < n; i++)
            plane[i] = mask[i] * (1.0f / 255.0f);
        err = plane_to_grid(j, plane, sw, sh, &j->soft_mask);
    }
    free(small), free(mask), free(plane);
    return err;
}

/* Real transparency: a visible share of clearly transparent pixels, not a
 * few stray ones (horse.png has 12 of 131200 below 255). */
static int alpha_is_real(const orfeas_image *img)
{
    uint64_t clear = 0, total = (uint64_t)img->width * img->height;
    if (!img->has_transparency) return 0;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        for (uint32_t x = 0; x < img->width; x++)
            clear += row[4 * x + 3] < 128;
    }
    return (double)clear >= REAL_ALPHA_FRACTION * (double)total && clear < total;
}

static int stage_foreground(job *j)
{
    orfeas_mode mode = j->params.mode;
    orfeas_background bg = j->params.background;
    int flat_frame = mode == ORFEAS_MODE_RELIEF || mode == ORFEAS_MODE_LITHOPHANE;
    j->stats->foreground_source = "none";
    if (bg == ORFEAS_BG_KEEP || (flat_frame && bg != ORFEAS_BG_REMOVE)) return 0;

    int err;
    double confidence = 1.0;
    if (alpha_is_real(&j->source)) {
        j->stats->foreground_source = "alpha";
        err = mask_from_alpha(j);
    } else if (j->input->mask && j->input->mask_size) {
        j->stats->foreground_source = "mask";
        err = mask_from_upload(j);
    } else {
        j->stats->foreground_source = "segmentation";
        err = mask_from_segmentation(j, &confidence);
    }
    if (err) return err;

    size_t n = (size_t)j->w * j->h;
    double area = 0;
    for (size_t i = 0; i < n; i++)
        area += j->soft_mask[i] >= 0.5f;
    int found = area >= MIN_OBJECT_FRACTION * n && confidence >= AUTO_INFLATE_CONFIDENCE;
    if (mode == ORFEAS_MODE_AUTO) {
        /* Auto inflates only a confident object; a whole-frame relief is the
         * safe answer for everything else. */
        j->params.mode = found || bg == ORFEAS_BG_REMOVE ? ORFEAS_MODE_INFLATE : ORFEAS_MODE_RELIEF;
        if (j->params.mode == ORFEAS_MODE_RELIEF) {
            free(j->soft_mask);
            j->soft_mask = NULL;
            j->stats->foreground_source = "none";
        }
    }
    if (area < MIN_OBJECT_FRACTION * n && j->params.mode == ORFEAS_MODE_INFLATE)
        return ORFEAS_ENOFOREGROUND;
    return 0;
}

static int stage_depth(job *j)
{
    size_t n = (size_t)j->w * j->h;
    orfeas_depth_source src = j->params.depth_source;
    int have_upload = j->input->depth && j->input->depth_size;
    if (src == ORFEAS_DEPTH_UPLOAD && !have_upload) {
        snprintf(j->stats->error_detail, sizeof j->stats->error_detail,
                 "depth_source: 'upload' needs a depth image");
        return ORFEAS_EINVAL;
    }
    if (src == ORFEAS_DEPTH_MODEL) {
        snprintf(j->stats->error_detail, sizeof j->stats->error_detail,
                 "depth_source: 'model' needs a depth model, and none is loaded");
        return ORFEAS_EINVAL;
    }
    if (have_upload && src != ORFEAS_DEPTH_LUMINANCE && j->params.mode != ORFEAS_MODE_LITHOPHANE) {
        orfeas_image d = {0};
        int err = orfeas_image_decode(j->input->depth, j->input->depth_size, limits_of(j),
                                      ORFEAS_PIXELS_GREY16, &d);
        if (err) return err;
        size_t dn = (size_t)d.width * d.height;
        float *plane = malloc(dn * sizeof *plane);
        if (!plane) {
            orfeas_image_free(&d);
            return ORFEAS_ENOMEM;
        }
        const uint16_t *px = (const uint16_t *)(const void *)d.pixels;
        for (size_t i = 0; i < dn; i++)
            plane[i] = px[i] * (1.0f / 65535.0f);
        err = plane_to_grid(j, plane, d.width, d.height, &j->depth);
        free(plane);
        orfeas_image_free(&d);
        return err;
    }
    j->depth = malloc(n * sizeof *j->depth);
    if (!j->depth) return ORFEAS_ENOMEM;
    orfeas_luminance(j->rgba, n, j->depth);
    return 0;
}

/* Cell (x, y) is inside when the mask averaged over its corners is. */
static int build_cells(job *j)
{
    uint32_t cw = j->w - 1, ch = j->h - 1;
    j->cells = malloc((size_t)cw * ch);
    if (!j->cells) return ORFEAS_ENOMEM;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++) {
            int inside = 1;
            if (j->soft_mask) {
                const float *m = j->soft_mask + (size_t)y * j->w + x;
                inside = m[0] + m[1] + m[j->w] + m[j->w + 1] >= 2.0f;
            }
            j->cells[(size_t)y * cw + x] = (uint8_t)inside;
        }
    uint64_t kept = 0;
    int err = orfeas_domain_clean(j->cells, cw, ch, SEPARATE_PART_SHARE, &kept);
    if (err) return err;
    return kept >= 4 ? 0 : ORFEAS_ENOFOREGROUND;
}

static int vertex_in_domain(const job *j, uint32_t x, uint32_t y)
{
    uint32_t cw = j->w - 1, ch = j->h - 1;
    for (uint32_t cy = y ? y - 1 : 0; cy <= y && cy < ch; cy++)
        for (uint32_t cx = x ? x - 1 : 0; cx <= x && cx < cw; cx++)
            if (j->cells[(size_t)cy * cw + cx]) return 1;
    return 0;
}

/* Fine detail of the depth map: band-pass, scaled to about -1..1. */
static int detail_band(job *j, float *band)
{
    size_t n = (size_t)j->w * j->h;
    float *low = malloc(n * sizeof *low);
    if (!low) return ORFEAS_ENOMEM;
    memcpy(band, j->depth, n * sizeof *band);
    memcpy(low, j->depth, n * sizeof *low);
    uint32_t side = j->w > j->h ? j->w : j->h;
    int err = orfeas_blur(band, j->w, j->h, side / 512.0f);
    if (!err) err = orfeas_blur(low, j->w, j->h, side / 40.0f);
    if (!err) {
        for (size_t i = 0; i < n; i++)
            band[i] -= low[i];
        err = orfeas_normalize(band, n, 0.02f, 0.98f);
        for (size_t i = 0; i < n; i++)
            band[i] = 2.0f * band[i] - 1.0f;
    }
    free(low);
    return err;
}

static int heights_inflate(job *j)
{
    size_t n = (size_t)j->w * j->h;
    uint32_t cw = j->w - 1;
    uint8_t *interior = calloc(n, 1);
    float *u = malloc(n * sizeof *u);
    float *band = malloc(n * sizeof *band);
    int err = interior && u && band ? 0 : ORFEAS_ENOMEM;
    for (uint32_t y = 1; !err && y + 1 < j->h; y++)
        for (uint32_t x = 1; x + 1 < j->w; x++) {
            const uint8_t *c = j->cells + (size_t)(y - 1) * cw + (x - 1);
            interior[(size_t)y * j->w + x] = c[0] && c[1] && c[cw] && c[cw + 1];
        }
    if (!err) err = orfeas_inflate_solve(interior, j->w, j->h, u, j->opts ? j->opts->cancel : NULL);
    if (!err) err = detail_band(j, band);
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

/* Bas-relief on a plate: the depth map with its local contrast raised by
 * `detail`, on top of base_mm. */
static int heights_relief(job *j)
{
    size_t n = (size_t)j->w * j->h;
    float *low = malloc(n * sizeof *low);
    if (!low) return ORFEAS_ENOMEM;
    memcpy(j->front, j->depth, n * sizeof *j->front);
    memcpy(low, j->depth, n * sizeof *low);
    uint32_t side = j->w > j->h ? j->w : j->h;
    int err = orfeas_blur(j->front, j->w, j->h, side / 1024.0f);
    if (!err) err = orfeas_blur(low, j->w, j->h, side / 40.0f);
    if (!err) {
        float gain = 0.5f + (float)j->params.detail;
        for (size_t i = 0; i < n; i++)
            j->front[i] = low[i] + gain * (j->front[i] - low[i]);
        err = orfeas_normalize(j->front, n, 0.01f, 0.99f);
    }
    free(low);
    if (err) return err;
    float base = (float)j->params.base_mm, span = (float)j->depth_mm - base;
    for (size_t i = 0; i < n; i++) {
        float v = j->front[i];
        if (j->soft_mask) v *= j->soft_mask[i] > 1 ? 1 : j->soft_mask[i];
        j->front[i] = base + span * v;
        j->back[i] = 0;
    }
    return 0;
}

/* Lithophane: thin where bright, thick where dark, flat back. */
static int heights_lithophane(job *j)
{
    size_t n = (size_t)j->w * j->h;
    orfeas_luminance(j->rgba, n, j->front);
    int err = orfeas_blur(j->front, j->w, j->h, 0.5f);
    if (err) return err;
    float base = (float)j->params.base_mm, span = (float)j->depth_mm - base;
    for (size_t i = 0; i < n; i++) {
        float v = 1.0f - j->front[i];
        if (j->soft_mask) v *= j->soft_mask[i] > 1 ? 1 : j->soft_mask[i];
        j->front[i] = base + span * (v < 0 ? 0 : v > 1 ? 1 : v);
        j->back[i] = 0;
    }
    return 0;
}

static int stage_heights(job *j)
{
    int err = build_cells(j);
    if (err) return err;
    size_t n = (size_t)j->w * j->h;
    j->front = malloc(n * sizeof *j->front);
    j->back = malloc(n * sizeof *j->back);
    if (!j->front || !j->back) return ORFEAS_ENOMEM;
    switch (j->params.mode) {
    case ORFEAS_MODE_INFLATE:
        return heights_inflate(j);
    case ORFEAS_MODE_LITHOPHANE:
        return heights_lithophane(j);
    default:
        return heights_relief(j);
    }
}

static uint64_t triangle_budget(const job *j)
{
    return j->params.target_triangles ? j->params.target_triangles
                                      : orfeas_quality_triangle_budget(j->params.quality);
}

static int mesh_once(job *j, orfeas_mesh *mesh)
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
    };
    orfeas_heightfield_stats hs;
    int err = orfeas_heightfield_mesh(&hf, triangle_budget(j), mesh, &hs);
    if (err) return err;
    j->stats->full_triangles = hs.full_triangles;
    j->stats->max_height_error_mm = hs.max_error_mm;
    return 0;
}

/* Resamples the working planes to a coarser grid and drops what was built
 * on the old one. */
static int regrid(job *j, double factor)
{
    uint32_t nw = (uint32_t)lround(j->w * factor), nh = (uint32_t)lround(j->h * factor);
    nw = nw < 2 ? 2 : nw, nh = nh < 2 ? 2 : nh;
    size_t n = (size_t)nw * nh;
    uint8_t *rgba = malloc(n * 4);
    float *mask = j->soft_mask ? malloc(n * sizeof *mask) : NULL;
    float *depth = malloc(n * sizeof *depth);
    int err = rgba && depth && (mask || !j->soft_mask) ? 0 : ORFEAS_ENOMEM;
    if (!err)
        err = orfeas_resize_rgba8(j->source.pixels, j->source.width, j->source.height,
                                  j->source.stride, rgba, nw, nh);
    if (!err && mask) err = orfeas_resize_f32(j->soft_mask, j->w, j->h, mask, nw, nh);
    if (!err) err = orfeas_resize_f32(j->depth, j->w, j->h, depth, nw, nh);
    if (err) {
        free(rgba), free(mask), free(depth);
        return err;
    }
    free(j->rgba), free(j->soft_mask), free(j->depth), free(j->cells), free(j->front),
        free(j->back);
    j->cells = NULL, j->front = j->back = NULL;
    j->rgba = rgba, j->soft_mask = mask, j->depth = depth, j->w = nw, j->h = nh;
    j->stats->work_width = nw, j->stats->work_height = nh;
    return 0;
}

/* The outline stays at grid resolution, so a small budget on a fine grid
 * cannot be met by refinement alone: then the grid gets coarser until the
 * mesh fits. */
static int stage_mesh(job *j, orfeas_mesh *mesh)
{
    int err = mesh_once(j, mesh);
    for (int attempt = 0; !err && attempt < 8 && mesh->triangle_count > triangle_budget(j);
         attempt++) {
        if (j->w < 8 || j->h < 8) break;
        double factor = 0.9 * (double)triangle_budget(j) / mesh->triangle_count;
        orfeas_mesh_free(mesh);
        err = regrid(j, factor < 0.5 ? 0.5 : factor > 0.9 ? 0.9 : factor);
        if (!err) err = stage_heights(j);
        if (!err) err = mesh_once(j, mesh);
    }
    return err;
}

int orfeas_generate(const orfeas_input *input, const orfeas_params *params,
                    const orfeas_generate_options *options, orfeas_mesh *mesh,
                    orfeas_generate_stats *stats)
{
    orfeas_generate_stats local_stats;
    if (!stats) stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    memset(mesh, 0, sizeof *mesh);
    if (!input || !params || !input->image || input->image_size == 0) return ORFEAS_EUNSUPPORTED;
    if (orfeas_params_validate(params, NULL, 0)) return ORFEAS_EINVAL;

    job j = {.input = input, .params = *params, .opts = options, .stats = stats};
    j.depth_mm = params->depth_mm > 0                     ? params->depth_mm
                 : params->mode == ORFEAS_MODE_LITHOPHANE ? 3.0
                                                          : 20.0;
    double start = now_ms();
    j.stage_start = start;
    int err = stage_decode(&j);
    if (!err) err = stage_done(&j, ORFEAS_STAGE_DECODE);
    if (!err) err = stage_foreground(&j);
    if (!err) err = stage_done(&j, ORFEAS_STAGE_FOREGROUND);
    if (!err) err = stage_depth(&j);
    if (!err) err = stage_done(&j, ORFEAS_STAGE_DEPTH);
    if (!err) err = stage_heights(&j);
    if (!err) err = stage_done(&j, ORFEAS_STAGE_HEIGHTS);
    if (!err) err = stage_mesh(&j, mesh);
    if (!err) err = stage_done(&j, ORFEAS_STAGE_MESH);
    if (!err) err = orfeas_mesh_check(mesh, &stats->report);
    /* Never hand out a mesh that breaks the guarantees. */
    if (!err && !orfeas_mesh_report_ok(&stats->report)) {
        ORFEAS_ERROR("mesh check failed: %llu boundary, %llu non-manifold, %llu flipped edges",
                     (unsigned long long)stats->report.boundary_edges,
                     (unsigned long long)stats->report.nonmanifold_edges,
                     (unsigned long long)stats->report.inconsistent_edges);
        err = ORFEAS_EINTERNAL;
    }
    if (!err) err = stage_done(&j, ORFEAS_STAGE_CHECK);
    stats->mode = j.params.mode;
    stats->total_ms = now_ms() - start;
    job_free(&j);
    if (err) orfeas_mesh_free(mesh);
    return err;
}
