/* orfeas — internals shared by the image decoders (not public). */
#ifndef ORFEAS_IMAGE_INTERNAL_H
#define ORFEAS_IMAGE_INTERNAL_H

#include "orfeas/image.h"

#include <stddef.h>
#include <stdint.h>

/* A progressive JPEG may carry any number of scans and each one walks the
 * whole coefficient buffer: cap them so a tiny file cannot burn minutes of CPU.
 * Real encoders write about 10; libjpeg-turbo's own fuzzers use 500. */
#define ORFEAS_JPEG_MAX_SCANS 500

/* 0 (or a missing struct) means ORFEAS_DEFAULT_MAX_PIXELS. */
uint64_t orfeas_img_max_pixels(const orfeas_decode_limits *limits);
/* ORFEAS_EBADIMAGE for a zero dimension, ORFEAS_EIMGTOOBIG above the limit. */
int orfeas_img_check_dims(uint32_t width, uint32_t height, const orfeas_decode_limits *limits);
/* width*height*bytes_per_pixel, or 0 when it does not fit in size_t. */
size_t orfeas_img_buffer_size(uint32_t width, uint32_t height, size_t bytes_per_pixel);

/* Per-format back ends; sniffing is done by the caller. On error *out is
 * left zeroed with nothing allocated. */
int orfeas_img_png_probe(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                         orfeas_image_info *info);
int orfeas_img_png_decode(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                          orfeas_pixel_format pixel_format, orfeas_image *out);
int orfeas_img_jpeg_probe(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                          orfeas_image_info *info);
int orfeas_img_jpeg_decode(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                           orfeas_pixel_format pixel_format, orfeas_image *out);
int orfeas_img_webp_probe(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                          orfeas_image_info *info);
int orfeas_img_webp_decode(const uint8_t *data, size_t size, const orfeas_decode_limits *limits,
                           orfeas_pixel_format pixel_format, orfeas_image *out);

/* EXIF orientation (1..8) from an APP1 payload that starts with "Exif\0\0";
 * 1 when absent or unreadable. */
int orfeas_img_exif_orientation(const uint8_t *app1, size_t size);
/* Rewrites image->pixels so that it displays upright (swapping width and
 * height for 5..8). Returns 0 or ORFEAS_ENOMEM (image left unchanged). */
int orfeas_img_apply_orientation(orfeas_image *image, int orientation);

/* BT.601 luma with weights summing to 65536, so grey inputs keep their value. */
static inline uint16_t orfeas_img_luma16(uint32_t r16, uint32_t g16, uint32_t b16)
{
    return (uint16_t)((19595u * (uint64_t)r16 + 38470u * (uint64_t)g16 + 7471u * (uint64_t)b16 +
                       32768u) >>
                      16);
}

/* In-place conversions to GREY16 (the output is smaller than the input). */
void orfeas_img_rgba8_to_grey16(uint8_t *buf, size_t pixel_count);
void orfeas_img_rgba16_to_grey16(uint8_t *buf, size_t pixel_count);
/* 1 if some alpha sample of an RGBA8 / RGBA16 (host order) buffer is not opaque. */
int orfeas_img_rgba8_has_transparency(const uint8_t *buf, size_t pixel_count);
int orfeas_img_rgba16_has_transparency(const uint8_t *buf, size_t pixel_count);

#endif
