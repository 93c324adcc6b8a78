/* orfeas — PNG decoding with libspng. */
#include "image/image_internal.h"

#include "orfeas/error.h"
#include "orfeas/log.h"

#include <spng.h>
#include <stdlib.h>
#include <string.h>

/* Ancillary chunks (text, ICC, EXIF...) are kept in memory by libspng: cap
 * each one and their total so metadata cannot cost more than the pixels. */
#define PNG_MAX_CHUNK_BYTES (16u * 1024u * 1024u)
#define PNG_MAX_CACHE_BYTES (32u * 1024u * 1024u)

static const uint8_t png_iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};

/* Searched from the end: it is normally the last 12 bytes, but trailing
 * bytes after IEND are tolerated as libpng does. */
static int has_iend(const uint8_t *data, size_t size)
{
    for (size_t i = size; i >= 8 + sizeof png_iend; i--)
        if (memcmp(data + i - sizeof png_iend, png_iend, sizeof png_iend) == 0) return 1;
    return 0;
}

static int map_spng_error(int err)
{
    switch (err) {
    case SPNG_EMEM:
        return ORFEAS_ENOMEM;
    case SPNG_EUSER_WIDTH:
    case SPNG_EUSER_HEIGHT:
        return ORFEAS_EIMGTOOBIG;
    default:
        return ORFEAS_EBADIMAGE;
    }
}

/* Creates a decoder over data with every limit set and reads the header. */
static int open_png(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                    spng_ctx **ctx_out, struct spng_ihdr *ihdr)
{
    *ctx_out = NULL;
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return ORFEAS_ENOMEM;
    /* Either side alone above max_pixels already means too many pixels. */
    uint64_t max = orfeas_img_max_pixels(limits);
    uint32_t side = max > 0x7fffffffu ? 0x7fffffffu : (uint32_t)max;
    int err = spng_set_image_limits(ctx, side, side);
    if (!err) err = spng_set_chunk_limits(ctx, PNG_MAX_CHUNK_BYTES, PNG_MAX_CACHE_BYTES);
    if (!err) err = spng_set_png_buffer(ctx, data, size);
    if (err) {
        spng_ctx_free(ctx);
        return err == SPNG_EMEM ? ORFEAS_ENOMEM : ORFEAS_EINTERNAL;
    }
    err = spng_get_ihdr(ctx, ihdr);
    if (err) {
        ORFEAS_DEBUG("png: header: %s", spng_strerror(err));
        spng_ctx_free(ctx);
        return map_spng_error(err);
    }
    int rc = orfeas_img_check_dims(ihdr->width, ihdr->height, limits);
    if (rc) {
        spng_ctx_free(ctx);
        return rc;
    }
    *ctx_out = ctx;
    return 0;
}

int orfeas_img_png_probe(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                         orfeas_image_info *info)
{
    spng_ctx *ctx;
    struct spng_ihdr ihdr;
    int rc = open_png(data, size, limits, &ctx, &ihdr);
    if (rc) return rc;
    info->format = ORFEAS_IMAGE_PNG;
    info->width = ihdr.width;
    info->height = ihdr.height;
    spng_ctx_free(ctx);
    return 0;
}

int orfeas_img_png_decode(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                          orfeas_pixel_format pixel_format, orfeas_image *out)
{
    spng_ctx *ctx;
    struct spng_ihdr ihdr;
    int rc = open_png(data, size, limits, &ctx, &ihdr);
    if (rc) return rc;

    /* GREY16 from a 16-bit file keeps every bit: decode RGBA16 and take the
     * luma in place (grey stays exact). Lower depths go through RGBA8. */
    int wide = pixel_format == ORFEAS_PIXELS_GREY16 && ihdr.bit_depth == 16;
    int fmt = wide ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8;
    size_t bpp = wide ? 8 : 4;
    size_t pixel_count = (size_t)ihdr.width * ihdr.height;
    size_t len = orfeas_img_buffer_size(ihdr.width, ihdr.height, bpp), expect = 0;
    int err = spng_decoded_image_size(ctx, fmt, &expect);
    if (err || len == 0 || expect != len) {
        spng_ctx_free(ctx);
        return err ? map_spng_error(err) : ORFEAS_EIMGTOOBIG;
    }
    uint8_t *pixels = malloc(len);
    if (!pixels) {
        spng_ctx_free(ctx);
        return ORFEAS_ENOMEM;
    }
    err = spng_decode_image(ctx, pixels, len, fmt, SPNG_DECODE_TRNS);
    /* Read up to IEND so that a file cut after its last IDAT is refused too;
     * libspng does not insist on the CRC of IEND, so look for the whole chunk. */
    if (!err) err = spng_decode_chunks(ctx);
    if (!err && !has_iend(data, size)) err = SPNG_EOF;
    spng_ctx_free(ctx);
    if (err) {
        ORFEAS_DEBUG("png: decode: %s", spng_strerror(err));
        free(pixels);
        return map_spng_error(err);
    }

    out->width = ihdr.width;
    out->height = ihdr.height;
    out->source_format = ORFEAS_IMAGE_PNG;
    out->pixel_format = pixel_format;
    if (pixel_format == ORFEAS_PIXELS_RGBA8) {
        out->has_transparency = orfeas_img_rgba8_has_transparency(pixels, pixel_count);
        out->stride = (size_t)ihdr.width * 4;
    } else {
        if (wide) {
            out->has_transparency = orfeas_img_rgba16_has_transparency(pixels, pixel_count);
            orfeas_img_rgba16_to_grey16(pixels, pixel_count);
        } else {
            out->has_transparency = orfeas_img_rgba8_has_transparency(pixels, pixel_count);
            orfeas_img_rgba8_to_grey16(pixels, pixel_count);
        }
        uint8_t *shrunk = realloc(pixels, pixel_count * 2);
        if (shrunk) pixels = shrunk;
        out->stride = (size_t)ihdr.width * 2;
    }
    out->pixels = pixels;
    return 0;
}
