/* orfeas — WebP decoding with libwebp (still images only). */
#include "image/image_internal.h"

#include "orfeas/error.h"
#include "orfeas/log.h"

#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>

static int map_status(VP8StatusCode st)
{
    switch (st) {
    case VP8_STATUS_OK:
        return 0;
    case VP8_STATUS_OUT_OF_MEMORY:
        return ORFEAS_ENOMEM;
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return ORFEAS_EUNSUPPORTED;
    default:
        return ORFEAS_EBADIMAGE;
    }
}

/* Features, animation and limits from the header. libwebp decodes a file
 * whose tail is missing as long as the frame data is there, so also refuse a
 * file shorter than its RIFF header says. */
static int read_features(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                         WebPBitstreamFeatures *f)
{
    VP8StatusCode st = WebPGetFeatures(data, size, f);
    if (st != VP8_STATUS_OK) {
        ORFEAS_DEBUG("webp: header: status %d", (int)st);
        return map_status(st);
    }
    if (f->has_animation) {
        ORFEAS_DEBUG("webp: animated images are not supported");
        return ORFEAS_EUNSUPPORTED;
    }
    if (f->width <= 0 || f->height <= 0) return ORFEAS_EBADIMAGE;
    int rc = orfeas_img_check_dims((uint32_t)f->width, (uint32_t)f->height, limits);
    if (rc) return rc;
    uint32_t riff = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
                    (uint32_t)data[7] << 24;
    if ((uint64_t)riff + 8 > size) return ORFEAS_EBADIMAGE;
    return 0;
}

int orfeas_img_webp_probe(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                          orfeas_image_info *info)
{
    WebPBitstreamFeatures f;
    int rc = read_features(data, size, limits, &f);
    if (rc) return rc;
    info->format = ORFEAS_IMAGE_WEBP;
    info->width = (uint32_t)f.width;
    info->height = (uint32_t)f.height;
    return 0;
}

int orfeas_img_webp_decode(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                           orfeas_pixel_format pixel_format, orfeas_image *out)
{
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) return ORFEAS_EINTERNAL;
    int rc = read_features(data, size, limits, &config.input);
    if (rc) return rc;

    uint32_t w = (uint32_t)config.input.width, h = (uint32_t)config.input.height;
    size_t pixel_count = (size_t)w * h;
    size_t len = orfeas_img_buffer_size(w, h, 4);
    if (len == 0 || (size_t)w * 4 > (size_t)INT32_MAX) return ORFEAS_EIMGTOOBIG;
    uint8_t *pixels = malloc(len);
    if (!pixels) return ORFEAS_ENOMEM;

    config.output.colorspace = MODE_RGBA; /* straight alpha */
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = pixels;
    config.output.u.RGBA.stride = (int)(w * 4);
    config.output.u.RGBA.size = len;
    VP8StatusCode st = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output); /* external memory: frees nothing of ours */
    if (st != VP8_STATUS_OK) {
        ORFEAS_DEBUG("webp: decode: status %d", (int)st);
        free(pixels);
        return map_status(st);
    }

    out->width = w;
    out->height = h;
    out->source_format = ORFEAS_IMAGE_WEBP;
    out->pixel_format = pixel_format;
    out->has_transparency =
        config.input.has_alpha ? orfeas_img_rgba8_has_transparency(pixels, pixel_count) : 0;
    if (pixel_format == ORFEAS_PIXELS_GREY16) {
        orfeas_img_rgba8_to_grey16(pixels, pixel_count);
        uint8_t *shrunk = realloc(pixels, pixel_count * 2);
        if (shrunk) pixels = shrunk;
        out->stride = (size_t)w * 2;
    } else {
        out->stride = (size_t)w * 4;
    }
    out->pixels = pixels;
    return 0;
}
