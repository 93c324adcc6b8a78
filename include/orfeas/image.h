/* orfeas — image decoding (PNG via libspng, JPEG via libjpeg-turbo, WebP via
 * libwebp) and the few pixel operations the engine needs.
 *
 * Limits are checked from the header before any large allocation, so a tiny
 * file that claims 60000x60000 pixels is refused cheaply. The caller owns
 * every buffer it gets back and frees it with orfeas_image_free(). */
#ifndef ORFEAS_IMAGE_H
#define ORFEAS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ORFEAS_DEFAULT_MAX_PIXELS (50u * 1000u * 1000u)

typedef enum orfeas_image_format {
    ORFEAS_IMAGE_UNKNOWN = 0,
    ORFEAS_IMAGE_PNG,
    ORFEAS_IMAGE_JPEG,
    ORFEAS_IMAGE_WEBP
} orfeas_image_format;

/* What the caller wants back. */
typedef enum orfeas_pixel_format {
    ORFEAS_PIXELS_RGBA8 = 0, /* 4 bytes per pixel, straight (not premultiplied) alpha */
    ORFEAS_PIXELS_GREY16 = 1 /* 2 bytes per pixel (host order), for uploaded depth maps */
} orfeas_pixel_format;

typedef struct orfeas_image {
    uint32_t width;
    uint32_t height;
    orfeas_pixel_format pixel_format;
    orfeas_image_format source_format;
    /* 1 when the source had an alpha channel (or tRNS) with at least one pixel < 255. */
    int has_transparency;
    size_t stride;   /* bytes per row */
    uint8_t *pixels; /* width*height pixels, malloc'd; freed by orfeas_image_free */
} orfeas_image;

typedef struct orfeas_decode_limits {
    uint64_t max_pixels; /* 0 = ORFEAS_DEFAULT_MAX_PIXELS; checked on the full size */
    /* 0 = full size. Otherwise the decoder may return a smaller image whose
     * long side is still at least this: JPEG uses libjpeg's DCT scaling by
     * n/8, far cheaper than a full decode and a resize; PNG and WebP ignore
     * it. */
    uint32_t min_long_side;
} orfeas_decode_limits;

typedef struct orfeas_image_info {
    orfeas_image_format format;
    uint32_t width, height; /* after EXIF orientation is applied */
} orfeas_image_info;

/* Sniffs the format from the magic bytes (never from a name or a MIME type). */
orfeas_image_format orfeas_image_sniff(const uint8_t *data, size_t size);
const char *orfeas_image_format_name(orfeas_image_format format);

/* Reads only the header. Errors: ORFEAS_EUNSUPPORTED (not PNG/JPEG/WebP or
 * empty), ORFEAS_EBADIMAGE (corrupt header), ORFEAS_EIMGTOOBIG. */
int orfeas_image_probe(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                       orfeas_image_info *info);

/* Decodes the whole image into *out (zeroed first). JPEG EXIF orientation
 * 1..8 is applied, CMYK/YCCK is converted to RGB, grey and palette images are
 * expanded. Errors as for probe, plus ORFEAS_EBADIMAGE for truncated or
 * corrupt data and ORFEAS_ENOMEM. On error *out holds nothing to free. */
int orfeas_image_decode(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                        orfeas_pixel_format pixel_format, orfeas_image *out);

/* Reads a whole file into memory (at most max_bytes; 0 = no limit).
 * Errors: ORFEAS_EIO, ORFEAS_ENOTFOUND, ORFEAS_ETOOBIG, ORFEAS_ENOMEM. */
int orfeas_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size);

void orfeas_image_free(orfeas_image *image);

#ifdef __cplusplus
}
#endif
#endif
