/* Image decoding: every PNG/JPEG/WebP variant the design lists, made in
 * memory with the libraries' encoders and compared pixel by pixel; EXIF
 * orientation; limits; truncation and corruption; the shared test images. */
#include "test_image_fixtures.h"
#include "testutil.h"

#include "orfeas/error.h"
#include "orfeas/image.h"

#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int decode(const fx_buf *b, orfeas_pixel_format pf, orfeas_image *img)
{
    return orfeas_image_decode(b->data, b->size, NULL, pf, img);
}

static const uint8_t *px(const orfeas_image *img, uint32_t x, uint32_t y)
{
    return img->pixels + (size_t)y * img->stride + (size_t)x * 4;
}

static uint16_t px16(const orfeas_image *img, uint32_t x, uint32_t y)
{
    uint16_t v;
    memcpy(&v, img->pixels + (size_t)y * img->stride + (size_t)x * 2, 2);
    return v;
}

/* ---- limits first, while the peak RSS is still that of a small process ---- */

static void test_huge_headers(void)
{
    fx_buf b;
    REQUIRE(fx_png_header_only(&b, 60000, 60000) == 0);
    CHECK(b.size < 100);
    long before = max_rss_kb();
    orfeas_image img;
    orfeas_image_info info;
    CHECK(orfeas_image_probe(b.data, b.size, NULL, &info) == ORFEAS_EIMGTOOBIG);
    CHECK(orfeas_image_decode(b.data, b.size, NULL, ORFEAS_PIXELS_RGBA8, &img) ==
          ORFEAS_EIMGTOOBIG);
    CHECK(img.pixels == NULL && img.width == 0);
    CHECK(orfeas_image_decode(b.data, b.size, NULL, ORFEAS_PIXELS_GREY16, &img) ==
          ORFEAS_EIMGTOOBIG);
    long grown = max_rss_kb() - before;
    CHECKF(grown < 8 * 1024, "max RSS grew by %ld KiB", grown);
    /* The same header under a limit it fits: the (empty) data is then corrupt. */
    orfeas_decode_limits big = {.max_pixels = 4000000000ull};
    CHECK(orfeas_image_probe(b.data, b.size, &big, &info) == 0 && info.width == 60000);
    free(b.data);

    /* A real small JPEG whose SOF is patched to 65000x65000. */
    uint8_t rgb[16 * 16 * 3];
    memset(rgb, 90, sizeof rgb);
    REQUIRE(fx_jpeg(&b, rgb, 16, 16, 3, JCS_RGB, -1, 0, 90, NULL, 0) == 0);
    int patched = 0;
    for (size_t i = 2; i + 9 < b.size; i++) {
        if (b.data[i] == 0xff && b.data[i + 1] == 0xc0) {
            b.data[i + 5] = 0xfd; /* height 0xfde8 = 65000 */
            b.data[i + 6] = 0xe8;
            b.data[i + 7] = 0xfd; /* width */
            b.data[i + 8] = 0xe8;
            patched = 1;
            break;
        }
    }
    CHECK(patched);
    before = max_rss_kb();
    CHECK(decode(&b, ORFEAS_PIXELS_RGBA8, &img) == ORFEAS_EIMGTOOBIG);
    CHECK(orfeas_image_probe(b.data, b.size, NULL, &info) == ORFEAS_EIMGTOOBIG);
    grown = max_rss_kb() - before;
    CHECKF(grown < 8 * 1024, "max RSS grew by %ld KiB", grown);
    free(b.data);

    /* A lossless WebP whose VP8L header says 16384x16384 (268 MP). */
    uint8_t rgba[8 * 8 * 4];
    memset(rgba, 200, sizeof rgba);
    REQUIRE(fx_webp(&b, rgba, 8, 8, 1, 100) == 0);
    REQUIRE(b.size > 25 && memcmp(b.data + 12, "VP8L", 4) == 0);
    /* 14-bit width-1 and height-1 after the 0x2f signature, little-endian. */
    uint32_t bits = (uint32_t)b.data[21] | (uint32_t)b.data[22] << 8 | (uint32_t)b.data[23] << 16 |
                    (uint32_t)b.data[24] << 24;
    bits |= 0x3fffu | 0x3fffu << 14;
    for (int i = 0; i < 4; i++)
        b.data[21 + i] = (uint8_t)(bits >> (8 * i));
    CHECK(orfeas_image_probe(b.data, b.size, NULL, &info) == ORFEAS_EIMGTOOBIG);
    CHECK(decode(&b, ORFEAS_PIXELS_RGBA8, &img) == ORFEAS_EIMGTOOBIG);
    free(b.data);
}

/* ---- sniffing and argument checks ---- */

static void test_sniff(void)
{
    static const uint8_t png_sig[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0};
    static const uint8_t jpg_sig[] = {0xff, 0xd8, 0xff, 0xe0};
    static const uint8_t webp_sig[] = "RIFF\x10\0\0\0WEBPVP8 ";
    CHECK(orfeas_image_sniff(png_sig, sizeof png_sig) == ORFEAS_IMAGE_PNG);
    CHECK(orfeas_image_sniff(png_sig, 7) == ORFEAS_IMAGE_UNKNOWN);
    CHECK(orfeas_image_sniff(jpg_sig, sizeof jpg_sig) == ORFEAS_IMAGE_JPEG);
    CHECK(orfeas_image_sniff(jpg_sig, 2) == ORFEAS_IMAGE_UNKNOWN);
    CHECK(orfeas_image_sniff(webp_sig, 16) == ORFEAS_IMAGE_WEBP);
    CHECK(orfeas_image_sniff((const uint8_t *)"RIFF\x10\0\0\0WAVE", 12) == ORFEAS_IMAGE_UNKNOWN);
    CHECK(orfeas_image_sniff((const uint8_t *)"GIF89a", 6) == ORFEAS_IMAGE_UNKNOWN);
    CHECK(orfeas_image_sniff(NULL, 0) == ORFEAS_IMAGE_UNKNOWN);
    CHECK(strcmp(orfeas_image_format_name(ORFEAS_IMAGE_PNG), "png") == 0);
    CHECK(strcmp(orfeas_image_format_name(ORFEAS_IMAGE_JPEG), "jpeg") == 0);
    CHECK(strcmp(orfeas_image_format_name(ORFEAS_IMAGE_WEBP), "webp") == 0);
    CHECK(strcmp(orfeas_image_format_name(ORFEAS_IMAGE_UNKNOWN), "unknown") == 0);

    orfeas_image img;
    orfeas_image_info info;
    memset(&img, 0x5a, sizeof img);
    CHECK(orfeas_image_decode((const uint8_t *)"", 0, NULL, ORFEAS_PIXELS_RGBA8, &img) ==
          ORFEAS_EUNSUPPORTED);
    CHECK(img.pixels == NULL);
    CHECK(orfeas_image_decode(NULL, 0, NULL, ORFEAS_PIXELS_RGBA8, &img) == ORFEAS_EUNSUPPORTED);
    CHECK(orfeas_image_probe((const uint8_t *)"", 0, NULL, &info) == ORFEAS_EUNSUPPORTED);
    CHECK(orfeas_image_decode((const uint8_t *)"GIF89a....", 10, NULL, ORFEAS_PIXELS_RGBA8, &img) ==
          ORFEAS_EUNSUPPORTED);
    CHECK(orfeas_image_decode((const uint8_t *)"BM", 2, NULL, ORFEAS_PIXELS_RGBA8, &img) ==
          ORFEAS_EUNSUPPORTED);
    CHECK(orfeas_image_decode(png_sig, sizeof png_sig, NULL, ORFEAS_PIXELS_RGBA8, NULL) ==
          ORFEAS_EINVAL);
    CHECK(orfeas_image_decode(png_sig, sizeof png_sig, NULL, (orfeas_pixel_format)7, &img) ==
          ORFEAS_EINVAL);
    orfeas_image_free(NULL);
    orfeas_image zero = {0};
    orfeas_image_free(&zero);
    orfeas_image_free(&zero);
}

/* ---- PNG ---- */

struct png_case {
    const char *name;
    int color_type, bit_depth, interlace;
    int palette, ntrns, key;
};

static const uint8_t test_palette[16][3] = {
    {0, 0, 0},     {255, 255, 255}, {255, 0, 0},   {0, 255, 0},   {0, 0, 255},    {255, 255, 0},
    {0, 255, 255}, {255, 0, 255},   {128, 64, 32}, {32, 64, 128}, {200, 100, 50}, {10, 20, 30},
    {90, 90, 90},  {1, 2, 3},       {254, 253, 1}, {77, 7, 177}};
static const uint8_t test_trns[4] = {0, 128, 255, 10};

/* An asymmetric pattern filling the whole range of the depth. */
static uint16_t sample_at(uint32_t x, uint32_t y, int c, int depth)
{
    uint32_t max = (1u << depth) - 1;
    uint32_t v = x * 7919u + y * 104729u + (uint32_t)c * 15485863u + x * y * 31u;
    return (uint16_t)(v % (max + 1));
}

static void test_png_case(const struct png_case *pc)
{
    const uint32_t w = 37, h = 29; /* odd sizes exercise Adam7's partial passes */
    int ch = pc->color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
             : pc->color_type == PNG_COLOR_TYPE_RGB      ? 3
             : pc->color_type == PNG_COLOR_TYPE_RGBA     ? 4
                                                         : 1;
    int npal = pc->palette ? (1 << pc->bit_depth) : 0;
    if (npal > 16) npal = 16;
    uint16_t *s = malloc((size_t)w * h * ch * sizeof *s);
    REQUIRE(s);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (int c = 0; c < ch; c++)
                s[((size_t)y * w + x) * ch + c] = pc->palette
                                                      ? (uint16_t)(sample_at(x, y, c, 8) % npal)
                                                      : sample_at(x, y, c, pc->bit_depth);
    uint16_t key[3] = {sample_at(3, 2, 0, pc->bit_depth), sample_at(3, 2, 1, pc->bit_depth),
                       sample_at(3, 2, 2, pc->bit_depth)};
    fx_buf b;
    REQUIRE(fx_png(&b, w, h, pc->color_type, pc->bit_depth, pc->interlace, s,
                   pc->palette ? test_palette : NULL, npal, pc->ntrns ? test_trns : NULL, pc->ntrns,
                   pc->key ? key : NULL) == 0);

    orfeas_image img;
    int rc = decode(&b, ORFEAS_PIXELS_RGBA8, &img);
    CHECKF(rc == 0, "%s: rc %d", pc->name, rc);
    if (rc == 0) {
        CHECK(img.width == w && img.height == h && img.stride == w * 4);
        CHECK(img.source_format == ORFEAS_IMAGE_PNG && img.pixel_format == ORFEAS_PIXELS_RGBA8);
        uint32_t max = (1u << pc->bit_depth) - 1;
        int bad = 0, any_transparent = 0;
        for (uint32_t y = 0; y < h; y++) {
            for (uint32_t x = 0; x < w; x++) {
                const uint16_t *v = s + ((size_t)y * w + x) * ch;
                uint32_t e[4];
                /* Expected 8-bit values: depth < 8 scales up to 0..255 exactly,
                 * 16-bit keeps the high byte. */
#define TO8(val) (pc->bit_depth == 16 ? (uint32_t)(val) >> 8 : (uint32_t)(val)*255u / max)
                if (pc->palette) {
                    for (int c = 0; c < 3; c++)
                        e[c] = test_palette[v[0]][c];
                    e[3] = v[0] < pc->ntrns ? test_trns[v[0]] : 255;
                } else if (ch <= 2) {
                    e[0] = e[1] = e[2] = TO8(v[0]);
                    e[3] = ch == 2 ? TO8(v[1]) : (pc->key && v[0] == key[0] ? 0 : 255);
                } else {
                    for (int c = 0; c < 3; c++)
                        e[c] = TO8(v[c]);
                    e[3] = ch == 4 ? TO8(v[3])
                           : (pc->key && v[0] == key[0] && v[1] == key[1] && v[2] == key[2]) ? 0
                                                                                             : 255;
                }
#undef TO8
                const uint8_t *p = px(&img, x, y);
                for (int c = 0; c < 4; c++) {
                    if (p[c] != e[c] && bad++ < 3)
                        fprintf(stderr, "%s: (%u,%u)[%d] = %u, want %u\n", pc->name, x, y, c, p[c],
                                e[c]);
                }
                any_transparent |= e[3] < 255;
            }
        }
        CHECKF(bad == 0, "%s: %d wrong samples", pc->name, bad);
        CHECKF(img.has_transparency == any_transparent, "%s: has_transparency %d", pc->name,
               img.has_transparency);
        orfeas_image_free(&img);
        CHECK(img.pixels == NULL);
    }

    /* GREY16: 16-bit grey exact, lower depths v*257 of the 8-bit value, colour
     * as luma (within rounding of the 16-bit BT.601 weights). */
    if (!pc->palette) {
        rc = decode(&b, ORFEAS_PIXELS_GREY16, &img);
        CHECKF(rc == 0, "%s: grey16 rc %d", pc->name, rc);
        if (rc == 0) {
            CHECK(img.width == w && img.height == h && img.stride == w * 2);
            CHECK(img.pixel_format == ORFEAS_PIXELS_GREY16);
            uint32_t max = (1u << pc->bit_depth) - 1;
            int bad = 0;
            for (uint32_t y = 0; y < h; y++) {
                for (uint32_t x = 0; x < w; x++) {
                    const uint16_t *v = s + ((size_t)y * w + x) * ch;
                    double want;
                    double scale = pc->bit_depth == 16 ? 1.0 : 257.0;
                    double r, g, bl;
                    if (ch <= 2) {
                        r = g = bl = pc->bit_depth == 16 ? v[0] : v[0] * 255.0 / max;
                    } else {
                        r = pc->bit_depth == 16 ? v[0] : v[0] * 255.0 / max;
                        g = pc->bit_depth == 16 ? v[1] : v[1] * 255.0 / max;
                        bl = pc->bit_depth == 16 ? v[2] : v[2] * 255.0 / max;
                    }
                    want = (0.299 * r + 0.587 * g + 0.114 * bl) * scale;
                    double got = px16(&img, x, y);
                    double tol = ch <= 2 ? 0.0 : 1.0;
                    if ((got - want > tol + 1e-6 || want - got > tol + 1e-6) && bad++ < 3)
                        fprintf(stderr, "%s grey16: (%u,%u) = %.0f, want %.2f\n", pc->name, x, y,
                                got, want);
                }
            }
            CHECKF(bad == 0, "%s grey16: %d wrong", pc->name, bad);
            orfeas_image_free(&img);
        }
    }
    free(b.data);
    free(s);
}

static void test_png_variants(void)
{
    static const struct png_case cases[] = {
        {"grey1", PNG_COLOR_TYPE_GRAY, 1, 0, 0, 0, 0},
        {"grey2", PNG_COLOR_TYPE_GRAY, 2, 0, 0, 0, 0},
        {"grey4", PNG_COLOR_TYPE_GRAY, 4, 0, 0, 0, 0},
        {"grey8", PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0, 0},
        {"grey16", PNG_COLOR_TYPE_GRAY, 16, 0, 0, 0, 0},
        {"grey8-key", PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0, 1},
        {"grey-alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0, 0, 0},
        {"grey-alpha16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, 0, 0, 0},
        {"palette1", PNG_COLOR_TYPE_PALETTE, 1, 0, 1, 0, 0},
        {"palette2-trns", PNG_COLOR_TYPE_PALETTE, 2, 0, 1, 2, 0},
        {"palette4", PNG_COLOR_TYPE_PALETTE, 4, 0, 1, 0, 0},
        {"palette8-trns", PNG_COLOR_TYPE_PALETTE, 8, 0, 1, 4, 0},
        {"rgb8", PNG_COLOR_TYPE_RGB, 8, 0, 0, 0, 0},
        {"rgb16", PNG_COLOR_TYPE_RGB, 16, 0, 0, 0, 0},
        {"rgb8-key", PNG_COLOR_TYPE_RGB, 8, 0, 0, 0, 1},
        {"rgba8", PNG_COLOR_TYPE_RGBA, 8, 0, 0, 0, 0},
        {"rgba16", PNG_COLOR_TYPE_RGBA, 16, 0, 0, 0, 0},
        {"adam7-grey1", PNG_COLOR_TYPE_GRAY, 1, 1, 0, 0, 0},
        {"adam7-grey16", PNG_COLOR_TYPE_GRAY, 16, 1, 0, 0, 0},
        {"adam7-palette4-trns", PNG_COLOR_TYPE_PALETTE, 4, 1, 1, 3, 0},
        {"adam7-rgb16", PNG_COLOR_TYPE_RGB, 16, 1, 0, 0, 0},
        {"adam7-rgba8", PNG_COLOR_TYPE_RGBA, 8, 1, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_png_case(&cases[i]);

    /* has_transparency is about the decoded alpha, not about the channel. */
    uint16_t s[8 * 8 * 4];
    for (size_t i = 0; i < 8 * 8 * 4; i++)
        s[i] = (i % 4 == 3) ? 255 : (uint16_t)(i * 3 % 256);
    fx_buf b;
    orfeas_image img;
    REQUIRE(fx_png(&b, 8, 8, PNG_COLOR_TYPE_RGBA, 8, 0, s, NULL, 0, NULL, 0, NULL) == 0);
    CHECK(decode(&b, ORFEAS_PIXELS_RGBA8, &img) == 0 && img.has_transparency == 0);
    orfeas_image_free(&img);
    free(b.data);
    s[4 * 27 + 3] = 254;
    REQUIRE(fx_png(&b, 8, 8, PNG_COLOR_TYPE_RGBA, 8, 0, s, NULL, 0, NULL, 0, NULL) == 0);
    CHECK(decode(&b, ORFEAS_PIXELS_RGBA8, &img) == 0 && img.has_transparency == 1);
    CHECK(img.pixels && px(&img, 3, 3)[3] == 254);
    orfeas_image_free(&img);
    free(b.data);
    /* 16-bit GREY16 output also reports transparency. */
    uint16_t ga[4 * 4 * 2];
    for (int i = 0; i < 16; i++) {
        ga[2 * i] = (uint16_t)(i * 4000);
        ga[2 * i + 1] = i == 5 ? 65534 : 65535;
    }
    REQUIRE(fx_png(&b, 4, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, ga, NULL, 0, NULL, 0, NULL) == 0);
    CHECK(decode(&b, ORFEAS_PIXELS_GREY16, &img) == 0 && img.has_transparency == 1);
    CHECK(img.pixels && px16(&img, 1, 1) == 20000 && px16(&img, 3, 3) == 60000);
    orfeas_image_free(&img);
    free(b.data);
}

/* ---- JPEG ---- */

/* Flat 16x16 blocks of distinct colours: no edges inside an MCU, so the
 * round trip error is small and mostly from quantisation of the DC terms. */
static void block_pattern(uint8_t *rgb, uint32_t w, uint32_t h)
{
    static const uint8_t colours[6][3] = {{230, 30, 40},  {20, 200, 60},   {40, 50, 220},
                                          {240, 240, 30}, {128, 128, 128}, {10, 10, 10}};
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            memcpy(rgb + ((size_t)y * w + x) * 3, colours[((x / 16) + 2 * (y / 16)) % 6], 3);
}

/* Compares block interiors only: fancy chroma upsampling legitimately blends
 * colours across the edges of 4:2:0 blocks. */
static void compare_rgb(const char *name, const orfeas_image *img, const uint8_t *rgb, int comps,
                        double max_mean, int max_abs)
{
    double sum = 0;
    int worst = 0;
    for (uint32_t y = 0; y < img->height; y++) {
        for (uint32_t x = 0; x < img->width; x++) {
            if (x % 16 < 2 || x % 16 > 13 || y % 16 < 2 || y % 16 > 13) continue;
            const uint8_t *p = px(img, x, y);
            const uint8_t *q = rgb + ((size_t)y * img->width + x) * comps;
            for (int c = 0; c < 3; c++) {
                int d = abs((int)p[c] - (int)q[comps == 1 ? 0 : c]);
                sum += d;
                if (d > worst) worst = d;
            }
            if (p[3] != 255) worst = 999;
        }
    }
    double mean = sum / ((double)img->width * img->height * 3 * (12.0 * 12.0) / (16.0 * 16.0));
    CHECKF(mean <= max_mean && worst <= max_abs, "%s: mean error %.2f, max %d", name, mean, worst);
}

static void test_jpeg_variants(void)
{
    const uint32_t w = 64, h = 48;
    uint8_t rgb[64 * 48 * 3], grey[64 * 48];
    block_pattern(rgb, w, h);
    for (size_t i = 0; i < (size_t)w * h; i++)
        grey[i] = (uint8_t)((i % w) * 4 + (i / w) % 7);
    fx_buf b;
    orfeas_image img;
    for (int progressive = 0; progressive <= 1; progressive++) {
        const char *name = progressive ? "jpeg progressive" : "jpeg baseline";
        REQUIRE(fx_jpeg(&b, rgb, w, h, 3, JCS_RGB, -1, progressive, 95, NULL, 0) == 0);
        int rc = decode(&b, ORFEAS_PIXELS_RGBA8, &img);
        CHECKF(rc == 0, "%s: rc %d", name, rc);
        if (rc == 0) {
            CHECK(img.width == w && img.height == h && img.stride == w * 4);
            CHECK(img.source_format == ORFEAS_IMAGE_JPEG && img.has_transparency == 0);
            compare_rgb(name, &img, rgb, 3, 2.0, 24);
            orfeas_image_free(&img);
        }
        free(b.data);

        REQUIRE(fx_jpeg(&b, grey, w, h, 1, JCS_GRAYSCALE, -1, progressive, 95, NULL, 0) == 0);
        rc = decode(&b, ORFEAS_PIXELS_RGBA8, &img);
        CHECKF(rc == 0, "grey %s: rc %d", name, rc);
        if (rc == 0) {
            compare_rgb("jpeg grey", &img, grey, 1, 1.5, 12);
            orfeas_image_free(&img);
        }
        rc = decode(&b, ORFEAS_PIXELS_GREY16, &img);
        CHECK(rc == 0 && img.stride == w * 2);
        if (rc == 0) {
            int bad = 0;
            for (uint32_t y = 0; y < h; y++)
                for (uint32_t x = 0; x < w; x++) {
                    uint16_t v = px16(&img, x, y);
                    bad += v % 257 != 0 || abs((int)(v / 257) - grey[y * w + x]) > 12;
                }
            CHECKF(bad == 0, "jpeg grey16: %d wrong", bad);
            orfeas_image_free(&img);
        }
        free(b.data);
    }

    /* CMYK with Adobe's inverted convention (255 = no ink), plain and YCCK.
     * Blocks with obvious meaning: no ink is white, full cyan ink is cyan... */
    static const struct {
        uint8_t cmyk[4];
        uint8_t rgb[3];
    } inks[6] = {
        {{255, 255, 255, 255}, {255, 255, 255}}, /* no ink */
        {{0, 255, 255, 255}, {0, 255, 255}},     /* cyan */
        {{255, 0, 255, 255}, {255, 0, 255}},     /* magenta */
        {{255, 0, 0, 255}, {255, 0, 0}},         /* magenta + yellow = red */
        {{255, 255, 255, 0}, {0, 0, 0}},         /* black ink */
        {{255, 255, 255, 128}, {128, 128, 128}}, /* half black */
    };
    uint8_t cmyk[64 * 48 * 4], want[64 * 48 * 3];
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int k = ((x / 16) + 2 * (y / 16)) % 6;
            memcpy(cmyk + ((size_t)y * w + x) * 4, inks[k].cmyk, 4);
            memcpy(want + ((size_t)y * w + x) * 3, inks[k].rgb, 3);
        }
    for (int ycck = 0; ycck <= 1; ycck++) {
        REQUIRE(fx_jpeg(&b, cmyk, w, h, 4, JCS_CMYK, ycck ? JCS_YCCK : JCS_CMYK, ycck, 95, NULL,
                        0) == 0);
        int rc = decode(&b, ORFEAS_PIXELS_RGBA8, &img);
        CHECKF(rc == 0, "cmyk: rc %d", rc);
        if (rc == 0) {
            compare_rgb(ycck ? "jpeg ycck" : "jpeg cmyk", &img, want, 3, 3.0, 30);
            orfeas_image_free(&img);
        }
        rc = decode(&b, ORFEAS_PIXELS_GREY16, &img);
        CHECK(rc == 0);
        if (rc == 0) {
            /* no-ink block ~65535, black-ink block ~0 */
            CHECKF(px16(&img, 6, 6) > 60000 && px16(&img, 6, 38) < 4000, "%u %u", px16(&img, 6, 6),
                   px16(&img, 6, 38));
            orfeas_image_free(&img);
        }
        free(b.data);
    }
}

/* A valid progressive grey JPEG with one spectral-selection scan per AC
 * coefficient and `refine` successive-approximation refinements of each:
 * 1 + 63 * (1 + refine) scans. */
static int many_scan_jpeg(fx_buf *out, int refine)
{
    static jpeg_scan_info scans[1 + 63 * 11];
    int n = 0;
    scans[n++] = (jpeg_scan_info){1, {0}, 0, 0, 0, 0};
    for (int k = 1; k <= 63; k++) {
        scans[n++] = (jpeg_scan_info){1, {0}, k, k, 0, refine};
        for (int al = refine; al > 0; al--)
            scans[n++] = (jpeg_scan_info){1, {0}, k, k, al, al - 1};
    }
    uint8_t grey[16 * 16];
    for (int i = 0; i < 256; i++)
        grey[i] = (uint8_t)(i * 37);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *buf = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &buf, &len);
    c.image_width = 16;
    c.image_height = 16;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    c.scan_info = scans;
    c.num_scans = n;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < 16) {
        JSAMPROW row = grey + c.next_scanline * 16;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    out->data = buf;
    out->size = len;
    return n;
}

static void test_jpeg_scan_limit(void)
{
    fx_buf b;
    orfeas_image img;
    int n = many_scan_jpeg(&b, 0); /* 64 scans: fine */
    CHECK(n == 64);
    CHECK(decode(&b, ORFEAS_PIXELS_RGBA8, &img) == 0 && img.width == 16);
    orfeas_image_free(&img);
    free(b.data);
    n = many_scan_jpeg(&b, 10); /* 694 valid scans: refused as a CPU bomb */
    CHECK(n == 694);
    CHECK(decode(&b, ORFEAS_PIXELS_RGBA8, &img) == ORFEAS_EBADIMAGE && img.pixels == NULL);
    free(b.data);
}

/* Stored image: four quadrant colours. Where each corner must land after
 * orientation o, from the EXIF 2.3 figures ("F" rotated/mirrored). */
enum { TL, TR, BL, BR };
static const uint8_t quadrant[4][3] = {
    {250, 10, 10}, {10, 250, 10}, {10, 10, 250}, {240, 240, 240}};
static const int corner_lands[9][4] = {
    /* stored:   TL  TR  BL  BR */
    [1] = {TL, TR, BL, BR}, [2] = {TR, TL, BR, BL}, [3] = {BR, BL, TR, TL}, [4] = {BL, BR, TL, TR},
    [5] = {TL, BL, TR, BR}, [6] = {TR, BR, TL, BL}, [7] = {BR, TR, BL, TL}, [8] = {BL, TL, BR, TR},
};

static int corner_is(const orfeas_image *img, int corner, const uint8_t *rgb)
{
    uint32_t x = (corner == TR || corner == BR) ? img->width - 4 : 3;
    uint32_t y = (corner == BL || corner == BR) ? img->height - 4 : 3;
    const uint8_t *p = px(img, x, y);
    for (int c = 0; c < 3; c++)
        if (abs((int)p[c] - rgb[c]) > 24) return 0;
    return 1;
}

static void test_exif_orientation(void)
{
    const uint32_t w = 64, h = 32; /* non-square so 5..8 visibly swap */
    uint8_t rgb[64 * 32 * 3];
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int q = (x < w / 2 ? 0 : 1) + (y < h / 2 ? 0 : 2);
            memcpy(rgb + ((size_t)y * w + x) * 3, quadrant[q], 3);
        }
    for (int big = 0; big <= 1; big++) {
        for (int o = 1; o <= 8; o++) {
            uint8_t app1[64];
            size_t n = fx_exif_orientation_app1(app1, o, big);
            fx_buf b;
            REQUIRE(fx_jpeg(&b, rgb, w, h, 3, JCS_RGB, -1, o % 2, 95, app1, n) == 0);
            orfeas_image_info info;
            int swapped = o >= 5;
            CHECK(orfeas_image_probe(b.data, b.size, NULL, &info) == 0);
            CHECKF(info.width == (swapped ? h : w) && info.height == (swapped ? w : h),
                   "orientation %d: probe %ux%u", o, info.width, info.height);
            orfeas_image img;
            int rc = decode(&b, ORFEAS_PIXELS_RGBA8, &img);
            CHECKF(rc == 0, "orientation %d: rc %d", o, rc);
            if (rc == 0) {
                CHECK(img.width == info.width && img.height == info.height &&
                      img.stride == img.width * 4);
                for (int corner = 0; corner < 4; corner++)
                    CHECKF(corner_is(&img, corner_lands[o][corner], quadrant[corner]),
                           "orientation %d (%s): stored corner %d misplaced", o, big ? "MM" : "II",
                           corner);
                orfeas_image_free(&img);
            }
            /* The GREY16 path is oriented too. */
            rc = decode(&b, ORFEAS_PIXELS_GREY16, &img);
            CHECK(rc == 0 && img.width == info.width && img.height == info.height &&
                  img.stride == img.width * 2);
            orfeas_image_free(&img);
            free(b.data);
        }
    }
    /* Out-of-range orientation values are ignored. */
    uint8_t app1[64];
    size_t n = fx_exif_orientation_app1(app1, 9, 0);
    fx_buf b;
    REQUIRE(fx_jpeg(&b, rgb, w, h, 3, JCS_RGB, -1, 0, 95, app1, n) == 0);
    orfeas_image img;
    CHECK(decode(&b, ORFEAS_PIXELS_RGBA8, &img) == 0 && img.width == w);
    if (img.pixels) CHECK(corner_is(&img, TL, quadrant[TL]));
    orfeas_image_free(&img);
    free(b.data);
}

/* ---- WebP ---- */

static void rgba_pattern(uint8_t *rgba, uint32_t w, uint32_t h, int with_alpha)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = rgba + ((size_t)y * w + x) * 4;
            p[0] = (uint8_t)(x * 4);
            p[1] = (uint8_t)(y * 5);
            p[2] = (uint8_t)((x + y) * 2);
            /* alpha: never 0, so lossless keeps the colour under it */
            p[3] = with_alpha ? (uint8_t)(x < w / 2 ? 255 : 40 + y * 3) : 255;
        }
}

static void test_webp_variants(void)
{
    const uint32_t w = 48, h = 40;
    uint8_t rgba[48 * 40 * 4];
    fx_buf b;
    orfeas_image img;
    for (int alpha = 0; alpha <= 1; alpha++) {
        rgba_pattern(rgba, w, h, alpha);
        /* lossless: exact */
        REQUIRE(fx_webp(&b, rgba, w, h, 1, 100) == 0);
        int rc = decode(&b, ORFEAS_PIXELS_RGBA8, &img);
        CHECKF(rc == 0, "webp lossless: rc %d", rc);
        if (rc == 0) {
            CHECK(img.width == w && img.height == h && img.stride == w * 4);
            CHECK(img.source_format == ORFEAS_IMAGE_WEBP);
            CHECK(memcmp(img.pixels, rgba, sizeof rgba) == 0);
            CHECK(img.has_transparency == alpha);
            orfeas_image_free(&img);
        }
        rc = decode(&b, ORFEAS_PIXELS_GREY16, &img);
        CHECK(rc == 0 && img.stride == w * 2);
        if (rc == 0) {
            int bad = 0;
            for (uint32_t i = 0; i < w * h; i++) {
                const uint8_t *p = rgba + 4 * i;
                double want = (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) * 257.0;
                uint16_t v;
                memcpy(&v, img.pixels + 2 * i, 2);
                bad += v > want + 1.0 || v < want - 1.0;
            }
            CHECKF(bad == 0, "webp grey16: %d wrong", bad);
            orfeas_image_free(&img);
        }
        free(b.data);

        /* lossy: colour within tolerance, alpha (lossless by default) close */
        REQUIRE(fx_webp(&b, rgba, w, h, 0, 90) == 0);
        rc = decode(&b, ORFEAS_PIXELS_RGBA8, &img);
        CHECKF(rc == 0, "webp lossy: rc %d", rc);
        if (rc == 0) {
            double sum = 0;
            int worst_alpha = 0;
            for (uint32_t i = 0; i < w * h; i++) {
                for (int c = 0; c < 3; c++)
                    sum += abs((int)img.pixels[4 * i + c] - rgba[4 * i + c]);
                int da = abs((int)img.pixels[4 * i + 3] - rgba[4 * i + 3]);
                if (da > worst_alpha) worst_alpha = da;
            }
            double mean = sum / (w * h * 3.0);
            CHECKF(mean < 6.0, "webp lossy: mean error %.2f", mean);
            CHECKF(worst_alpha <= 2, "webp lossy alpha error %d", worst_alpha);
            CHECK(img.has_transparency == alpha);
            orfeas_image_free(&img);
        }
        free(b.data);
    }
    REQUIRE(fx_webp_animated(&b, rgba, w, h) == 0);
    orfeas_image_info info;
    CHECK(orfeas_image_probe(b.data, b.size, NULL, &info) == ORFEAS_EUNSUPPORTED);
    CHECK(decode(&b, ORFEAS_PIXELS_RGBA8, &img) == ORFEAS_EUNSUPPORTED && img.pixels == NULL);
    free(b.data);
}

/* ---- limits ---- */

static void test_custom_limit(void)
{
    uint8_t rgba[64 * 64 * 4];
    uint16_t s[64 * 64];
    rgba_pattern(rgba, 64, 64, 0);
    for (int i = 0; i < 64 * 64; i++)
        s[i] = (uint16_t)(i % 256);
    fx_buf files[3];
    REQUIRE(fx_png(&files[0], 64, 64, PNG_COLOR_TYPE_GRAY, 8, 0, s, NULL, 0, NULL, 0, NULL) == 0);
    uint8_t rgb[64 * 64 * 3];
    block_pattern(rgb, 64, 64);
    REQUIRE(fx_jpeg(&files[1], rgb, 64, 64, 3, JCS_RGB, -1, 0, 90, NULL, 0) == 0);
    REQUIRE(fx_webp(&files[2], rgba, 64, 64, 0, 80) == 0);
    orfeas_decode_limits small = {.max_pixels = 64 * 64 - 1}, exact = {.max_pixels = 64 * 64};
    for (int i = 0; i < 3; i++) {
        orfeas_image img;
        orfeas_image_info info;
        CHECKF(orfeas_image_probe(files[i].data, files[i].size, &small, &info) == ORFEAS_EIMGTOOBIG,
               "format %d", i);
        CHECK(orfeas_image_decode(files[i].data, files[i].size, &small, ORFEAS_PIXELS_RGBA8,
                                  &img) == ORFEAS_EIMGTOOBIG &&
              img.pixels == NULL);
        CHECK(orfeas_image_decode(files[i].data, files[i].size, &small, ORFEAS_PIXELS_GREY16,
                                  &img) == ORFEAS_EIMGTOOBIG);
        CHECK(orfeas_image_probe(files[i].data, files[i].size, &exact, &info) == 0 &&
              info.width == 64 && info.height == 64 && info.format == (orfeas_image_format)(i + 1));
        CHECK(orfeas_image_decode(files[i].data, files[i].size, &exact, ORFEAS_PIXELS_RGBA8,
                                  &img) == 0);
        orfeas_image_free(&img);
        free(files[i].data);
    }
}

/* ---- truncation and corruption ---- */

static uint32_t rng_state = 0x12345678u;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void check_truncations(const char *name, const fx_buf *b)
{
    int bad = 0;
    for (size_t n = 0; n < b->size; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size so ASan sees overreads */
        REQUIRE(copy);
        memcpy(copy, b->data, n);
        orfeas_image img;
        int rc = orfeas_image_decode(copy, n, NULL,
                                     n % 2 ? ORFEAS_PIXELS_GREY16 : ORFEAS_PIXELS_RGBA8, &img);
        /* Short of the magic bytes it is not an image; after them, a broken one. */
        int want = orfeas_image_sniff(copy, n) == ORFEAS_IMAGE_UNKNOWN ? ORFEAS_EUNSUPPORTED
                                                                       : ORFEAS_EBADIMAGE;
        if (rc != want && bad++ < 3)
            fprintf(stderr, "%s: prefix %zu of %zu gives %d, want %d\n", name, n, b->size, rc,
                    want);
        if (rc != 0) CHECK(img.pixels == NULL);
        orfeas_image_free(&img);
        free(copy);
    }
    CHECKF(bad == 0, "%s: %d truncations not refused", name, bad);
}

static void check_flips(const char *name, const fx_buf *b, int rounds)
{
    uint8_t *copy = malloc(b->size);
    REQUIRE(copy);
    int decoded = 0;
    for (int r = 0; r < rounds; r++) {
        memcpy(copy, b->data, b->size);
        int flips = 1 + (int)(rng() % 4);
        for (int k = 0; k < flips; k++)
            copy[rng() % b->size] ^= (uint8_t)(1u << (rng() % 8));
        orfeas_image img;
        int rc = orfeas_image_decode(copy, b->size, NULL,
                                     r % 3 ? ORFEAS_PIXELS_RGBA8 : ORFEAS_PIXELS_GREY16, &img);
        if (rc == 0) {
            decoded++;
            CHECK(img.pixels && img.width > 0 && img.height > 0);
        } else {
            CHECK(rc < 0 && img.pixels == NULL);
        }
        orfeas_image_free(&img);
    }
    printf("%s: %d of %d corrupted copies still decoded\n", name, decoded, rounds);
    free(copy);
}

static void test_truncation_and_flips(void)
{
    uint16_t s[12 * 10 * 4];
    for (int i = 0; i < 12 * 10 * 4; i++)
        s[i] = (uint16_t)((i * 37) % 256);
    uint8_t rgba[12 * 10 * 4], rgb[16 * 16 * 3];
    rgba_pattern(rgba, 12, 10, 1);
    block_pattern(rgb, 16, 16);
    uint8_t app1[64];
    size_t app1_len = fx_exif_orientation_app1(app1, 6, 1);
    struct {
        const char *name;
        fx_buf b;
        int ok;
    } f[7];
    f[0].name = "png rgba";
    f[0].ok = fx_png(&f[0].b, 12, 10, PNG_COLOR_TYPE_RGBA, 8, 0, s, NULL, 0, NULL, 0, NULL) == 0;
    f[1].name = "png adam7 palette";
    for (int i = 0; i < 120; i++)
        s[i] %= 16;
    f[1].ok = fx_png(&f[1].b, 12, 10, PNG_COLOR_TYPE_PALETTE, 4, 1, s, test_palette, 16, test_trns,
                     4, NULL) == 0;
    f[2].name = "jpeg baseline exif";
    f[2].ok = fx_jpeg(&f[2].b, rgb, 16, 16, 3, JCS_RGB, -1, 0, 80, app1, app1_len) == 0;
    f[3].name = "jpeg progressive";
    f[3].ok = fx_jpeg(&f[3].b, rgb, 16, 16, 3, JCS_RGB, -1, 1, 80, NULL, 0) == 0;
    f[4].name = "webp lossy alpha";
    f[4].ok = fx_webp(&f[4].b, rgba, 12, 10, 0, 80) == 0;
    f[5].name = "webp lossless";
    f[5].ok = fx_webp(&f[5].b, rgba, 12, 10, 1, 100) == 0;
    f[6].name = "jpeg cmyk";
    uint8_t cmyk[16 * 16 * 4];
    for (int i = 0; i < 16 * 16 * 4; i++)
        cmyk[i] = (uint8_t)(i * 13);
    f[6].ok = fx_jpeg(&f[6].b, cmyk, 16, 16, 4, JCS_CMYK, -1, 0, 80, NULL, 0) == 0;
    for (int i = 0; i < 7; i++) {
        REQUIRE(f[i].ok);
        orfeas_image img;
        CHECKF(decode(&f[i].b, ORFEAS_PIXELS_RGBA8, &img) == 0, "%s", f[i].name);
        orfeas_image_free(&img);
        check_truncations(f[i].name, &f[i].b);
        check_flips(f[i].name, &f[i].b, 400);
        free(f[i].b.data);
    }
}

/* ---- the shared test images ---- */

static void test_shared_images(void)
{
    static const struct {
        const char *name;
        uint32_t w, h;
        int transparency; /* -1: not asserted */
    } files[] = {
        {"astronaut.png", 512, 512, 0},
        {"chelsea.png", 451, 300, 0},
        {"coffee.png", 600, 400, 0},
        {"rocket.jpg", 640, 427, 0},
        /* SOURCES.md calls horse.png's alpha fully opaque, but 12 of its
         * pixels have alpha 110 or 217: it does have transparency. */
        {"camera.png", 512, 512, 0},
        {"horse.png", 400, 328, 1},
        {"apple.jpg", 512, 512, 0},
        {"orange.jpg", 512, 512, 0},
        {"opencv-logo.png", 600, 794, 1},
        {"plant.jpg", 500, 333, 0},
        {"plant_matte.png", 500, 333, -1},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "images/%s", files[i].name);
        uint8_t *data;
        size_t size;
        int rc = orfeas_read_file(testutil_data(rel), 0, &data, &size);
        CHECKF(rc == 0, "%s: read %d", files[i].name, rc);
        if (rc) continue;
        orfeas_image_info info;
        rc = orfeas_image_probe(data, size, NULL, &info);
        CHECKF(rc == 0 && info.width == files[i].w && info.height == files[i].h,
               "%s: probe rc %d %ux%u", files[i].name, rc, info.width, info.height);
        orfeas_image img;
        rc = orfeas_image_decode(data, size, NULL, ORFEAS_PIXELS_RGBA8, &img);
        CHECKF(rc == 0 && img.width == files[i].w && img.height == files[i].h,
               "%s: decode rc %d %ux%u", files[i].name, rc, img.width, img.height);
        if (files[i].transparency >= 0)
            CHECKF(img.has_transparency == files[i].transparency, "%s: has_transparency %d",
                   files[i].name, img.has_transparency);
        orfeas_image_free(&img);
        rc = orfeas_image_decode(data, size, NULL, ORFEAS_PIXELS_GREY16, &img);
        CHECKF(rc == 0 && img.width == files[i].w, "%s: grey16 rc %d", files[i].name, rc);
        orfeas_image_free(&img);
        free(data);
    }
}

/* The shared truncated.jpg (shipped in tests/fixtures/). */
static void test_truncated_file(void)
{
    uint8_t *data;
    size_t size;
    REQUIRE(orfeas_read_file(testutil_data("images/truncated.jpg"), 0, &data, &size) == 0);
    orfeas_image img;
    CHECK(orfeas_image_decode(data, size, NULL, ORFEAS_PIXELS_RGBA8, &img) == ORFEAS_EBADIMAGE);
    CHECK(img.pixels == NULL);
    CHECK(orfeas_image_decode(data, size, NULL, ORFEAS_PIXELS_GREY16, &img) == ORFEAS_EBADIMAGE);
    free(data);
}

/* ---- orfeas_read_file ---- */

static void test_read_file(void)
{
    char dir[] = "/tmp/orfeas-image-test-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/f.bin", dir);
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    for (int i = 0; i < 100000; i++)
        fputc(i % 251, f);
    fclose(f);
    uint8_t *data = (uint8_t *)1;
    size_t size = 1;
    CHECK(orfeas_read_file(path, 0, &data, &size) == 0 && size == 100000);
    if (data && size == 100000) CHECK(data[99999] == 99999 % 251 && data[1000] == 1000 % 251);
    free(data);
    CHECK(orfeas_read_file(path, 100000, &data, &size) == 0 && size == 100000);
    free(data);
    CHECK(orfeas_read_file(path, 99999, &data, &size) == ORFEAS_ETOOBIG && data == NULL &&
          size == 0);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    CHECK(orfeas_read_file(missing, 0, &data, &size) == ORFEAS_ENOTFOUND);
    snprintf(missing, sizeof missing, "%s/f.bin/below", dir);
    CHECK(orfeas_read_file(missing, 0, &data, &size) == ORFEAS_ENOTFOUND);
    CHECK(orfeas_read_file(dir, 0, &data, &size) == ORFEAS_EIO);
    CHECK(orfeas_read_file(NULL, 0, &data, &size) == ORFEAS_EINVAL);
    /* A file without a size (procfs) is read until EOF, still bounded. */
    CHECK(orfeas_read_file("/proc/self/status", 0, &data, &size) == 0 && size > 0);
    free(data);
    CHECK(orfeas_read_file("/proc/self/status", 10, &data, &size) == ORFEAS_ETOOBIG);
    char empty[300];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    f = fopen(empty, "wb");
    REQUIRE(f);
    fclose(f);
    CHECK(orfeas_read_file(empty, 0, &data, &size) == 0 && data != NULL && size == 0);
    free(data);
    unlink(empty);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_huge_headers();
    test_sniff();
    test_png_variants();
    test_jpeg_variants();
    test_jpeg_scan_limit();
    test_exif_orientation();
    test_webp_variants();
    test_custom_limit();
    test_truncation_and_flips();
    if (testutil_have_data("test_image_decode, the shared images", "images")) test_shared_images();
    test_truncated_file();
    test_read_file();
    return testutil_finish("test_image_decode");
}
