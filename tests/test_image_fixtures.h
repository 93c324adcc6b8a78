/* Test fixtures for the image decoders, made in memory with the libraries'
 * own encoders (libpng, libjpeg, libwebp) so every decoded pixel can be
 * compared with what went in. Shared by the tests and tools/make_image_seeds.c.
 * Every function returns 0 on success; fx_buf.data is malloc'd (free()). */
#ifndef ORFEAS_TEST_IMAGE_FIXTURES_H
#define ORFEAS_TEST_IMAGE_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

typedef struct fx_buf {
    uint8_t *data;
    size_t size;
} fx_buf;

/* PNG through libpng's write API. samples: w*h*channels values, each in
 * [0, 2^bit_depth) (palette: indices). palette/trns may be NULL; trns_key is
 * the grey (1 value) or RGB (3 values) colour key, or NULL. */
int fx_png(fx_buf *out, uint32_t w, uint32_t h, int color_type, int bit_depth, int interlace,
           const uint16_t *samples, const uint8_t (*palette)[3], int npalette,
           const uint8_t *trns_alpha, int ntrns, const uint16_t *trns_key);

/* A PNG whose IHDR claims w x h (RGBA8) followed by a tiny IDAT and IEND,
 * all CRCs correct. */
int fx_png_header_only(fx_buf *out, uint32_t w, uint32_t h);

/* JPEG through libjpeg. in_cs / jpeg_cs are J_COLOR_SPACE values (jpeg_cs <0:
 * libjpeg's default for in_cs). app1 (may be NULL) is written as an APP1
 * marker right after the ones libjpeg writes. */
int fx_jpeg(fx_buf *out, const uint8_t *pixels, uint32_t w, uint32_t h, int components, int in_cs,
            int jpeg_cs, int progressive, int quality, const uint8_t *app1, size_t app1_len);

/* Builds an EXIF APP1 payload ("Exif\0\0" + TIFF with IFD0 holding only
 * Orientation) into buf (>= 64 bytes); returns its length. */
size_t fx_exif_orientation_app1(uint8_t *buf, int orientation, int big_endian);

/* WebP from RGBA8 (lossy at quality, or lossless). */
int fx_webp(fx_buf *out, const uint8_t *rgba, uint32_t w, uint32_t h, int lossless, float quality);
/* An animated WebP (VP8X + ANIM + one ANMF frame holding a lossless image). */
int fx_webp_animated(fx_buf *out, const uint8_t *rgba, uint32_t w, uint32_t h);

uint32_t fx_crc32(const uint8_t *p, size_t n);

#endif
