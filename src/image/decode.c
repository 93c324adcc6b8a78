/* orfeas — format sniffing, dispatch to the per-format decoders and the pixel
 * helpers they share. */
#include "image/image_internal.h"

#include "orfeas/error.h"
#include "orfeas/log.h"

#include <stdlib.h>
#include <string.h>

orfeas_image_format orfeas_image_sniff(const uint8_t *data, size_t size)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    if (!data) return ORFEAS_IMAGE_UNKNOWN;
    if (size >= 8 && memcmp(data, png_sig, 8) == 0) return ORFEAS_IMAGE_PNG;
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return ORFEAS_IMAGE_JPEG;
    if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
        return ORFEAS_IMAGE_WEBP;
    return ORFEAS_IMAGE_UNKNOWN;
}

const char *orfeas_image_format_name(orfeas_image_format format)
{
    switch (format) {
    case ORFEAS_IMAGE_PNG:
        return "png";
    case ORFEAS_IMAGE_JPEG:
        return "jpeg";
    case ORFEAS_IMAGE_WEBP:
        return "webp";
    default:
        return "unknown";
    }
}

uint64_t orfeas_img_max_pixels(const orfeas_decode_limits *limits)
{
    return limits && limits->max_pixels ? limits->max_pixels : ORFEAS_DEFAULT_MAX_PIXELS;
}

int orfeas_img_check_dims(uint32_t width, uint32_t height, const orfeas_decode_limits *limits)
{
    if (width == 0 || height == 0) return ORFEAS_EBADIMAGE;
    uint64_t max = orfeas_img_max_pixels(limits);
    if ((uint64_t)width * height > max) {
        ORFEAS_DEBUG("image: %ux%u exceeds the limit of %llu pixels", (unsigned)width,
                     (unsigned)height, (unsigned long long)max);
        return ORFEAS_EIMGTOOBIG;
    }
    return 0;
}

size_t orfeas_img_buffer_size(uint32_t width, uint32_t height, size_t bytes_per_pixel)
{
    uint64_t n = (uint64_t)width * height;
    if (bytes_per_pixel == 0 || n > SIZE_MAX / bytes_per_pixel) return 0;
    return (size_t)n * bytes_per_pixel;
}

void orfeas_img_rgba8_to_grey16(uint8_t *buf, size_t pixel_count)
{
    /* Pixel i is read from byte 4i before byte 2i is written, so forward is safe. */
    for (size_t i = 0; i < pixel_count; i++) {
        const uint8_t *p = buf + 4 * i;
        uint16_t v = orfeas_img_luma16(p[0] * 257u, p[1] * 257u, p[2] * 257u);
        memcpy(buf + 2 * i, &v, 2);
    }
}

void orfeas_img_rgba16_to_grey16(uint8_t *buf, size_t pixel_count)
{
    for (size_t i = 0; i < pixel_count; i++) {
        uint16_t px[3];
        memcpy(px, buf + 8 * i, sizeof px);
        uint16_t v = orfeas_img_luma16(px[0], px[1], px[2]);
        memcpy(buf + 2 * i, &v, 2);
    }
}

int orfeas_img_rgba8_has_transparency(const uint8_t *buf, size_t pixel_count)
{
    for (size_t i = 0; i < pixel_count; i++)
        if (buf[4 * i + 3] != 255) return 1;
    return 0;
}

int orfeas_img_rgba16_has_transparency(const uint8_t *buf, size_t pixel_count)
{
    for (size_t i = 0; i < pixel_count; i++) {
        uint16_t a;
        memcpy(&a, buf + 8 * i + 6, 2);
        if (a != 65535) return 1;
    }
    return 0;
}

static int check_args(const uint8_t *data, size_t size)
{
    if (!data && size) return ORFEAS_EINVAL;
    if (size == 0) return ORFEAS_EUNSUPPORTED;
    return 0;
}

int orfeas_image_probe(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                       orfeas_image_info *info)
{
    if (!info) return ORFEAS_EINVAL;
    memset(info, 0, sizeof *info);
    int rc = check_args(data, size);
    if (rc) return rc;
    switch (orfeas_image_sniff(data, size)) {
    case ORFEAS_IMAGE_PNG:
        return orfeas_img_png_probe(data, size, limits, info);
    case ORFEAS_IMAGE_JPEG:
        return orfeas_img_jpeg_probe(data, size, limits, info);
    case ORFEAS_IMAGE_WEBP:
        return orfeas_img_webp_probe(data, size, limits, info);
    default:
        return ORFEAS_EUNSUPPORTED;
    }
}

int orfeas_image_decode(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                        orfeas_pixel_format pixel_format, orfeas_image *out)
{
    if (!out) return ORFEAS_EINVAL;
    memset(out, 0, sizeof *out);
    if (pixel_format != ORFEAS_PIXELS_RGBA8 && pixel_format != ORFEAS_PIXELS_GREY16)
        return ORFEAS_EINVAL;
    int rc = check_args(data, size);
    if (rc) return rc;
    switch (orfeas_image_sniff(data, size)) {
    case ORFEAS_IMAGE_PNG:
        rc = orfeas_img_png_decode(data, size, limits, pixel_format, out);
        break;
    case ORFEAS_IMAGE_JPEG:
        rc = orfeas_img_jpeg_decode(data, size, limits, pixel_format, out);
        break;
    case ORFEAS_IMAGE_WEBP:
        rc = orfeas_img_webp_decode(data, size, limits, pixel_format, out);
        break;
    default:
        return ORFEAS_EUNSUPPORTED;
    }
    if (rc) {
        /* The back ends clean up; this keeps the contract even if one forgets. */
        orfeas_image_free(out);
        return rc;
    }
    return 0;
}

void orfeas_image_free(orfeas_image *image)
{
    if (!image) return;
    free(image->pixels);
    memset(image, 0, sizeof *image);
}
