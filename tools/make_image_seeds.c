/* Writes the seed corpora of fuzz/fuzz_image_decode and fuzz/fuzz_depth_decode:
 * small PNG/JPEG/WebP variants (each < 4 KB) made with the libraries' encoders
 * by the test fixtures. Not built by default; from the repository root:
 *
 *   cc -std=c17 -D_DEFAULT_SOURCE -Itests tools/make_image_seeds.c tests/test_image_fixtures.c \
 *      $(pkg-config --cflags --libs libpng libjpeg libwebp) -o /tmp/make_image_seeds
 *   /tmp/make_image_seeds fuzz/corpus/fuzz_image_decode fuzz/corpus/fuzz_depth_decode
 */
#include "test_image_fixtures.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static const char *const *dirs;
static int ndirs;

static void put(const char *name, const fx_buf *b, int ok)
{
    if (!ok || !b->data) {
        fprintf(stderr, "cannot make %s\n", name);
        exit(1);
    }
    if (b->size >= 4096) fprintf(stderr, "warning: %s is %zu bytes\n", name, b->size);
    for (int i = 0; i < ndirs; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(b->data, 1, b->size, f) != b->size || fclose(f) != 0) {
            fprintf(stderr, "cannot write %s\n", path);
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s corpus-dir...\n", argv[0]);
        return 2;
    }
    dirs = (const char *const *)argv + 1;
    ndirs = argc - 1;
    enum { W = 13, H = 11 };
    uint16_t s[W * H * 4];
    uint8_t rgba[W * H * 4], rgb[16 * 16 * 3], grey[16 * 16], cmyk[16 * 16 * 4];
    for (int i = 0; i < W * H * 4; i++) {
        s[i] = (uint16_t)(i * 2654435761u >> 16);
        rgba[i] = (uint8_t)(i % 4 == 3 ? 128 + i % 128 : i * 7);
    }
    for (int i = 0; i < 16 * 16 * 3; i++)
        rgb[i] = (uint8_t)(i * 5 + (i / 48) * 9);
    for (int i = 0; i < 16 * 16; i++)
        grey[i] = (uint8_t)(i * 3);
    for (int i = 0; i < 16 * 16 * 4; i++)
        cmyk[i] = (uint8_t)(i * 11);
    static const uint8_t pal[4][3] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    static const uint8_t trns[2] = {0, 128};
    uint16_t idx[W * H], g1[W * H], g16[W * H];
    for (int i = 0; i < W * H; i++) {
        idx[i] = (uint16_t)(i % 4);
        g1[i] = (uint16_t)((i / 3) % 2);
        g16[i] = (uint16_t)(i * 401);
    }
    fx_buf b;
    put("png_rgba8.png", &b,
        fx_png(&b, W, H, PNG_COLOR_TYPE_RGBA, 8, 0, s, NULL, 0, NULL, 0, NULL) == 0);
    free(b.data);
    for (int i = 0; i < W * H * 3; i++)
        s[i] &= 0xff;
    put("png_rgb8_adam7.png", &b,
        fx_png(&b, W, H, PNG_COLOR_TYPE_RGB, 8, 1, s, NULL, 0, NULL, 0, NULL) == 0);
    free(b.data);
    put("png_grey1.png", &b,
        fx_png(&b, W, H, PNG_COLOR_TYPE_GRAY, 1, 0, g1, NULL, 0, NULL, 0, NULL) == 0);
    free(b.data);
    put("png_grey16.png", &b,
        fx_png(&b, W, H, PNG_COLOR_TYPE_GRAY, 16, 0, g16, NULL, 0, NULL, 0, NULL) == 0);
    free(b.data);
    put("png_palette2_trns_adam7.png", &b,
        fx_png(&b, W, H, PNG_COLOR_TYPE_PALETTE, 2, 1, idx, pal, 4, trns, 2, NULL) == 0);
    free(b.data);
    put("png_huge_header.png", &b, fx_png_header_only(&b, 60000, 60000) == 0);
    free(b.data);

    put("jpeg_baseline.jpg", &b, fx_jpeg(&b, rgb, 16, 16, 3, JCS_RGB, -1, 0, 75, NULL, 0) == 0);
    fx_buf cut = {b.data, b.size * 2 / 3};
    put("jpeg_truncated.jpg", &cut, 1);
    free(b.data);
    put("jpeg_progressive.jpg", &b, fx_jpeg(&b, rgb, 16, 16, 3, JCS_RGB, -1, 1, 75, NULL, 0) == 0);
    free(b.data);
    put("jpeg_grey.jpg", &b, fx_jpeg(&b, grey, 16, 16, 1, JCS_GRAYSCALE, -1, 0, 75, NULL, 0) == 0);
    free(b.data);
    put("jpeg_cmyk_adobe.jpg", &b, fx_jpeg(&b, cmyk, 16, 16, 4, JCS_CMYK, -1, 0, 75, NULL, 0) == 0);
    free(b.data);
    put("jpeg_ycck.jpg", &b, fx_jpeg(&b, cmyk, 16, 16, 4, JCS_CMYK, JCS_YCCK, 0, 75, NULL, 0) == 0);
    free(b.data);
    uint8_t app1[64];
    size_t n = fx_exif_orientation_app1(app1, 6, 1);
    put("jpeg_exif6_mm.jpg", &b, fx_jpeg(&b, rgb, 16, 16, 3, JCS_RGB, -1, 0, 75, app1, n) == 0);
    free(b.data);
    n = fx_exif_orientation_app1(app1, 7, 0);
    put("jpeg_exif7_ii_progressive.jpg", &b,
        fx_jpeg(&b, rgb, 16, 16, 3, JCS_RGB, -1, 1, 75, app1, n) == 0);
    free(b.data);

    put("webp_lossy.webp", &b, fx_webp(&b, rgba, W, H, 0, 70) == 0);
    free(b.data);
    put("webp_lossless_alpha.webp", &b, fx_webp(&b, rgba, W, H, 1, 100) == 0);
    free(b.data);
    for (int i = 0; i < W * H; i++)
        rgba[4 * i + 3] = 255;
    put("webp_lossless.webp", &b, fx_webp(&b, rgba, W, H, 1, 100) == 0);
    free(b.data);
    put("webp_animated.webp", &b, fx_webp_animated(&b, rgba, W, H) == 0);
    free(b.data);
    return 0;
}
