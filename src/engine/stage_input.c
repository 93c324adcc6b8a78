/* Stages that read the inputs: decode, the working image, the foreground
 * mask and the depth map. */
#include "device/cpu_kernels.h"
#include "engine/gen.h"
#include "image/resize.h"
#include "orfeas/depth.h"
#include "orfeas/error.h"
#include "shape/depthmap.h"
#include "shape/segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Below this share of the frame a segmentation is not trusted as an object. */
#define MIN_OBJECT_FRACTION 0.01
/* Segmentation confidence needed for auto mode to inflate. */
#define AUTO_INFLATE_CONFIDENCE 0.5
/* Share of clearly transparent pixels that makes alpha the foreground. */
#define REAL_ALPHA_FRACTION 0.005
/* The segmentation never needs more than this many pixels on the long side. */
#define SEGMENT_INPUT_SIDE 512u

int orfeas_stage_decode(orfeas_gen *j)
{
    /* When the image is much larger than the working grid, let the decoder
     * scale down (JPEG DCT scaling) to no less than the working side, nor
     * the segmentation's input side, so the foreground is found on the same
     * detail as from a full decode. The stats keep the full size. */
    orfeas_decode_limits limits =
        orfeas_gen_limits(j) ? *orfeas_gen_limits(j) : (orfeas_decode_limits){0, 0};
    orfeas_image_info info;
    int err = orfeas_image_probe(j->input->image, j->input->image_size, &limits, &info);
    if (err) return err;
    uint32_t want = orfeas_quality_long_side(j->params.quality);
    if (want < SEGMENT_INPUT_SIDE) want = SEGMENT_INPUT_SIDE;
    limits.min_long_side =
        (info.width > info.height ? info.width : info.height) >= 2 * want ? want : 0;
    err = orfeas_image_decode(j->input->image, j->input->image_size, &limits, ORFEAS_PIXELS_RGBA8,
                              &j->source);
    if (err) return err;
    j->stats->source_width = info.width;
    j->stats->source_height = info.height;
    double side = orfeas_quality_long_side(j->params.quality);
    /* From the full size, so the grid does not depend on the decode scale. */
    double scale = side / (info.width > info.height ? info.width : info.height);
    j->w = (uint32_t)lround(info.width * scale);
    j->h = (uint32_t)lround(info.height * scale);
    if (j->w < 2) j->w = 2;
    if (j->h < 2) j->h = 2;
    return 0;
}

int orfeas_stage_working_image(orfeas_gen *j)
{
    j->stats->work_width = j->w;
    j->stats->work_height = j->h;
    int err = orfeas_gen_alloc(j, (size_t)j->w * j->h * 4, (void **)&j->rgba);
    if (err) return err;
    return orfeas_resize_rgba8(j->source.pixels, j->source.width, j->source.height,
                               j->source.stride, j->rgba, j->w, j->h);
}

/* A float plane of any size resampled to the grid and stored as a plane. */
static int store_resampled(orfeas_gen *j, orfeas_plane *p, const float *values, uint32_t pw,
                           uint32_t ph)
{
    size_t n = (size_t)j->w * j->h;
    float *grid = malloc(n * sizeof *grid);
    if (!grid) return ORFEAS_ENOMEM;
    int err = orfeas_resize_f32(values, pw, ph, grid, j->w, j->h);
    if (!err) err = orfeas_plane_store(j, p, grid, n);
    free(grid);
    return err;
}

static int mask_from_alpha(orfeas_gen *j)
{
    size_t n = (size_t)j->w * j->h;
    float *alpha = malloc(n * sizeof *alpha);
    if (!alpha) return ORFEAS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        alpha[i] = j->rgba[4 * i + 3] * (1.0f / 255.0f);
    int err = orfeas_plane_store(j, &j->mask, alpha, n);
    free(alpha);
    return err;
}

static int mask_from_upload(orfeas_gen *j)
{
    orfeas_image m = {0};
    int err = orfeas_image_decode(j->input->mask, j->input->mask_size, orfeas_gen_limits(j),
                                  ORFEAS_PIXELS_RGBA8, &m);
    if (err) return err;
    size_t n = (size_t)m.width * m.height;
    float *values = malloc(n * sizeof *values);
    if (!values) {
        orfeas_image_free(&m);
        return ORFEAS_ENOMEM;
    }
    orfeas_luminance(m.pixels, n, values);
    for (size_t i = 0; i < n; i++)
        values[i] *= m.pixels[4 * i + 3] * (1.0f / 255.0f);
    err = store_resampled(j, &j->mask, values, m.width, m.height);
    free(values);
    orfeas_image_free(&m);
    return err;
}

/* Segments a copy of the source no larger than SEGMENT_INPUT_SIDE. */
static int mask_from_segmentation(orfeas_gen *j, double *confidence)
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
    float *values = malloc(n * sizeof *values);
    int err = mask && values ? 0 : ORFEAS_ENOMEM;
    if (!err)
        err = orfeas_segment_foreground(pixels, sw, sh, stride, NULL, orfeas_gen_cancel(j), mask,
                                        confidence);
    if (!err) {
        for (size_t i = 0; i < n; i++)
            values[i] = mask[i] * (1.0f / 255.0f);
        err = store_resampled(j, &j->mask, values, sw, sh);
    }
    free(small), free(mask), free(values);
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

int orfeas_stage_foreground(orfeas_gen *j)
{
    orfeas_mode mode = j->params.mode;
    orfeas_background bg = j->params.background;
    int flat_frame = mode == ORFEAS_MODE_RELIEF || mode == ORFEAS_MODE_LITHOPHANE;
    j->stats->foreground_source = "none";
    if (bg == ORFEAS_BG_KEEP || (flat_frame && bg != ORFEAS_BG_REMOVE)) {
        if (mode == ORFEAS_MODE_AUTO) j->params.mode = ORFEAS_MODE_RELIEF;
        return 0;
    }

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

    size_t n = j->mask.count;
    double area = 0;
    for (size_t i = 0; i < n; i++)
        area += orfeas_plane_at(&j->mask, i) >= 0.5f;
    int found = area >= MIN_OBJECT_FRACTION * n && confidence >= AUTO_INFLATE_CONFIDENCE;
    if (mode == ORFEAS_MODE_AUTO) {
        /* Auto inflates only a confident object; a whole-frame relief is the
         * safe answer for everything else. */
        j->params.mode = found || bg == ORFEAS_BG_REMOVE ? ORFEAS_MODE_INFLATE : ORFEAS_MODE_RELIEF;
        if (j->params.mode == ORFEAS_MODE_RELIEF) {
            orfeas_plane_release(j, &j->mask);
            j->stats->foreground_source = "none";
        }
    }
    if (area < MIN_OBJECT_FRACTION * n && j->params.mode == ORFEAS_MODE_INFLATE)
        return ORFEAS_ENOFOREGROUND;
    return 0;
}

int orfeas_stage_depth(orfeas_gen *j)
{
    size_t n = (size_t)j->w * j->h;
    orfeas_depth_source src = j->params.depth_source;
    int have_upload = j->input->depth && j->input->depth_size;
    if (src == ORFEAS_DEPTH_UPLOAD && !have_upload) {
        snprintf(j->stats->error_detail, sizeof j->stats->error_detail,
                 "depth_source: 'upload' needs a depth image");
        return ORFEAS_EINVAL;
    }
    const orfeas_depth_model *model = j->opts ? j->opts->depth_model : NULL;
    if (src == ORFEAS_DEPTH_MODEL && !model) {
        snprintf(j->stats->error_detail, sizeof j->stats->error_detail,
                 "depth_source: 'model' needs a depth model (--depth-model), and none is loaded");
        return ORFEAS_EINVAL;
    }
    if (orfeas_gen_uses_depth_model(j)) {
        /* The network's relative depth (larger = nearer), spread over 0..1. */
        float *values = malloc(n * sizeof *values);
        if (!values) return ORFEAS_ENOMEM;
        int err = orfeas_depth_infer_rgba(model, j->rgba, j->w, j->h, (size_t)j->w * 4, values);
        if (!err) err = orfeas_normalize(values, n, 0.01f, 0.99f);
        if (!err) err = orfeas_plane_store(j, &j->depth, values, n);
        free(values);
        return err;
    }
    if (have_upload && src != ORFEAS_DEPTH_LUMINANCE && j->params.mode != ORFEAS_MODE_LITHOPHANE) {
        orfeas_image d = {0};
        int err = orfeas_image_decode(j->input->depth, j->input->depth_size, orfeas_gen_limits(j),
                                      ORFEAS_PIXELS_GREY16, &d);
        if (err) return err;
        size_t dn = (size_t)d.width * d.height;
        float *values = malloc(dn * sizeof *values);
        if (!values) {
            orfeas_image_free(&d);
            return ORFEAS_ENOMEM;
        }
        const uint16_t *px = (const uint16_t *)(const void *)d.pixels;
        for (size_t i = 0; i < dn; i++)
            values[i] = px[i] * (1.0f / 65535.0f);
        err = store_resampled(j, &j->depth, values, d.width, d.height);
        free(values);
        orfeas_image_free(&d);
        return err;
    }
    float *lum = malloc(n * sizeof *lum);
    if (!lum) return ORFEAS_ENOMEM;
    orfeas_luminance(j->rgba, n, lum);
    int err = orfeas_plane_store(j, &j->depth, lum, n);
    free(lum);
    return err;
}
