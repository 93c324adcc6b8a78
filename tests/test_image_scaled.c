/* Scaled JPEG decoding (orfeas_decode_limits.min_long_side): the n/8 scale
 * chosen, the pixel limit still on the full size, PNG unaffected, and the
 * pixels close to a full decode resized to the same size. Times are
 * printed, never asserted. */
#include "testutil.h"

#include "image/resize.h"
#include "orfeas/orfeas.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t long_side(const orfeas_image *im)
{
    return im->width > im->height ? im->width : im->height;
}

static void test_jpeg(const char *name)
{
    uint8_t *data;
    size_t size;
    REQUIRE(orfeas_read_file(testutil_data(name), 0, &data, &size) == 0);
    orfeas_image full, small;
    orfeas_decode_limits limits = {0, 0};
    double t0 = now_ms();
    REQUIRE(orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_RGBA8, &full) == 0);
    double t1 = now_ms();
    uint32_t side = long_side(&full);

    /* A quarter of the long side: libjpeg's 2/8 scale, rounded up. */
    limits.min_long_side = side / 4;
    REQUIRE(orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_RGBA8, &small) == 0);
    double t2 = now_ms();
    CHECKF(small.width == (full.width * 2 + 7) / 8 && small.height == (full.height * 2 + 7) / 8,
           "%s: %ux%u from %ux%u", name, small.width, small.height, full.width, full.height);
    CHECK(long_side(&small) >= limits.min_long_side);
    printf("%s: full %ux%u %.1f ms, scaled %ux%u %.1f ms\n", name, full.width, full.height, t1 - t0,
           small.width, small.height, t2 - t1);

    /* Close to the full decode resized to the same size (DCT scaling is a
     * different filter, so not equal). */
    uint8_t *ref = malloc((size_t)small.width * small.height * 4);
    REQUIRE(ref);
    REQUIRE(orfeas_resize_rgba8(full.pixels, full.width, full.height, full.stride, ref, small.width,
                                small.height) == 0);
    double diff = 0;
    size_t n = (size_t)small.width * small.height * 4;
    for (size_t i = 0; i < n; i++)
        diff += abs((int)ref[i] - (int)small.pixels[i]);
    diff /= (double)n;
    CHECKF(diff < 4.0, "%s: mean difference %.2f", name, diff);
    free(ref);
    orfeas_image_free(&small);

    /* One pixel: the smallest scale, 1/8. */
    limits.min_long_side = 1;
    REQUIRE(orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_RGBA8, &small) == 0);
    CHECK(small.width == (full.width + 7) / 8 && small.height == (full.height + 7) / 8);
    orfeas_image_free(&small);

    /* At or above the long side: full size. Greyscale output scales too. */
    limits.min_long_side = side;
    REQUIRE(orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_RGBA8, &small) == 0);
    CHECK(small.width == full.width && small.height == full.height);
    orfeas_image_free(&small);
    limits.min_long_side = side / 2;
    REQUIRE(orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_GREY16, &small) == 0);
    CHECK(small.width == (full.width * 4 + 7) / 8 && small.pixel_format == ORFEAS_PIXELS_GREY16);
    orfeas_image_free(&small);

    /* The pixel limit stays on the full size, scaled or not. */
    limits.max_pixels = (uint64_t)full.width * full.height - 1;
    limits.min_long_side = 1;
    CHECK(orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_RGBA8, &small) ==
          ORFEAS_EIMGTOOBIG);
    orfeas_image_free(&full);
    free(data);
}

static void test_png_ignores(void)
{
    uint8_t *data;
    size_t size;
    REQUIRE(orfeas_read_file(testutil_data("images/camera.png"), 0, &data, &size) == 0);
    orfeas_image a, b;
    orfeas_decode_limits limits = {0, 0};
    REQUIRE(orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_RGBA8, &a) == 0);
    limits.min_long_side = 16;
    REQUIRE(orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_RGBA8, &b) == 0);
    CHECK(a.width == b.width && a.height == b.height);
    CHECK(memcmp(a.pixels, b.pixels, a.stride * a.height) == 0);
    orfeas_image_free(&a);
    orfeas_image_free(&b);
    free(data);
}

int main(void)
{
    testutil_require_data("test_image_scaled", "images/plant.jpg", "images/rocket.jpg",
                          "images/camera.png");
    test_jpeg("images/plant.jpg");
    test_jpeg("images/rocket.jpg");
    test_png_ignores();
    return testutil_finish("test_image_scaled");
}
