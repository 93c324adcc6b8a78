/* Resampling: area average when shrinking, bilinear when enlarging, alpha
 * weighting, exact constants and means, argument checks. Times are printed,
 * never asserted. */
#include "testutil.h"

#include "device/cpu_kernels.h"
#include "image/resize.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_args(void)
{
    uint8_t a[16] = {0}, b[16];
    float f[4] = {0}, g[4];
    CHECK(orfeas_resize_rgba8(NULL, 1, 1, 4, b, 1, 1) == ORFEAS_EINVAL);
    CHECK(orfeas_resize_rgba8(a, 1, 1, 4, NULL, 1, 1) == ORFEAS_EINVAL);
    CHECK(orfeas_resize_rgba8(a, 0, 1, 4, b, 1, 1) == ORFEAS_EINVAL);
    CHECK(orfeas_resize_rgba8(a, 2, 1, 4, b, 1, 1) == ORFEAS_EINVAL); /* stride < width*4 */
    CHECK(orfeas_resize_rgba8(a, 1, 1, 4, b, 1, 0) == ORFEAS_EINVAL);
    CHECK(orfeas_resize_f32(NULL, 1, 1, g, 1, 1) == ORFEAS_EINVAL);
    CHECK(orfeas_resize_f32(f, 1, 1, g, 0, 1) == ORFEAS_EINVAL);
}

static void test_f32_weights(void)
{
    /* 4x4 -> 2x2: each output is the mean of its 2x2 block. */
    float s[16], d[4];
    for (int i = 0; i < 16; i++)
        s[i] = (float)(i * i);
    REQUIRE(orfeas_resize_f32(s, 4, 4, d, 2, 2) == 0);
    CHECK(fabsf(d[0] - (0 + 1 + 16 + 25) / 4.0f) < 1e-4f);
    CHECK(fabsf(d[3] - (100 + 121 + 196 + 225) / 4.0f) < 1e-4f);

    /* 3 -> 2: fractional coverage, the middle pixel split in halves. */
    float t[3] = {3, 6, 12}, u[2];
    REQUIRE(orfeas_resize_f32(t, 3, 1, u, 2, 1) == 0);
    CHECK(fabsf(u[0] - (3 + 0.5f * 6) / 1.5f) < 1e-5f);
    CHECK(fabsf(u[1] - (0.5f * 6 + 12) / 1.5f) < 1e-5f);

    /* 2 -> 4 bilinear with pixel centres aligned and edges clamped. */
    float e[2] = {0, 1}, v[4];
    REQUIRE(orfeas_resize_f32(e, 1, 2, v, 1, 4) == 0);
    CHECK(v[0] == 0.0f && fabsf(v[1] - 0.25f) < 1e-6f && fabsf(v[2] - 0.75f) < 1e-6f &&
          v[3] == 1.0f);

    /* Mixed: shrink one axis, enlarge the other; a constant stays exact. */
    float *c = malloc(100 * 70 * sizeof *c), *o = malloc(33 * 141 * sizeof *o);
    REQUIRE(c && o);
    for (int i = 0; i < 100 * 70; i++)
        c[i] = 0.375f;
    REQUIRE(orfeas_resize_f32(c, 100, 70, o, 33, 141) == 0);
    int bad = 0;
    for (int i = 0; i < 33 * 141; i++)
        bad += fabsf(o[i] - 0.375f) > 1e-6f;
    CHECKF(bad == 0, "%d samples off the constant", bad);
    free(c);
    free(o);
}

static double mean_f(const float *p, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s / n;
}

static void test_f32_large(void)
{
    const uint32_t n = 1536;
    float *s = malloc((size_t)n * n * sizeof *s), *d = malloc((size_t)1000 * 777 * sizeof *d);
    float *d2 = malloc((size_t)1000 * 777 * sizeof *d2);
    REQUIRE(s && d && d2);
    uint32_t r = 1;
    for (size_t i = 0; i < (size_t)n * n; i++) {
        r = r * 1664525u + 1013904223u;
        s[i] = (float)(r >> 8) / (float)(1u << 24);
    }
    double t0 = now_ms();
    REQUIRE(orfeas_resize_f32(s, n, n, d, 1000, 777) == 0);
    double t1 = now_ms();
    printf("resize_f32 1536x1536 -> 1000x777: %.1f ms\n", t1 - t0);
    /* Area averaging keeps the mean (every source pixel weighs the same). */
    CHECKF(fabs(mean_f(s, (size_t)n * n) - mean_f(d, 1000 * 777)) < 1e-4, "%f vs %f",
           mean_f(s, (size_t)n * n), mean_f(d, 1000 * 777));
    REQUIRE(orfeas_resize_f32(s, n, n, d2, 1000, 777) == 0);
    CHECK(memcmp(d, d2, (size_t)1000 * 777 * sizeof *d) == 0);
    free(s);
    free(d);
    free(d2);
}

static void test_rgba(void)
{
    /* Transparent red next to opaque blue: the result is blue, half opaque. */
    uint8_t s[8] = {255, 0, 0, 0, 0, 0, 255, 255}, d[4];
    REQUIRE(orfeas_resize_rgba8(s, 2, 1, 8, d, 1, 1) == 0);
    CHECKF(d[0] == 0 && d[1] == 0 && d[2] == 255 && d[3] == 128, "%u %u %u %u", d[0], d[1], d[2],
           d[3]);
    /* Fully transparent stays transparent with colour 0. */
    uint8_t t[16] = {9, 9, 9, 0, 200, 100, 50, 0, 1, 2, 3, 0, 4, 5, 6, 0}, u[4 * 9];
    REQUIRE(orfeas_resize_rgba8(t, 2, 2, 8, u, 3, 3) == 0);
    int nonzero = 0;
    for (int i = 0; i < 36; i++)
        nonzero += u[i] != 0;
    CHECK(nonzero == 0);

    /* Identity honours the source stride. */
    uint8_t padded[2 * 12], out[2 * 8];
    for (int i = 0; i < 24; i++)
        padded[i] = (uint8_t)i;
    REQUIRE(orfeas_resize_rgba8(padded, 2, 2, 12, out, 2, 2) == 0);
    CHECK(memcmp(out, padded, 8) == 0 && memcmp(out + 8, padded + 12, 8) == 0);

    /* Opaque constant colour survives any ratio exactly. */
    const uint32_t sw = 97, sh = 61;
    uint8_t *c = malloc((size_t)sw * sh * 4), *o = malloc((size_t)150 * 40 * 4);
    REQUIRE(c && o);
    for (size_t i = 0; i < (size_t)sw * sh; i++) {
        c[4 * i] = 17;
        c[4 * i + 1] = 200;
        c[4 * i + 2] = 99;
        c[4 * i + 3] = 255;
    }
    REQUIRE(orfeas_resize_rgba8(c, sw, sh, sw * 4, o, 150, 40) == 0);
    int bad = 0;
    for (size_t i = 0; i < 150 * 40; i++)
        bad += o[4 * i] != 17 || o[4 * i + 1] != 200 || o[4 * i + 2] != 99 || o[4 * i + 3] != 255;
    CHECKF(bad == 0, "%d pixels off the constant", bad);
    free(c);
    free(o);

    /* 2x shrink of opaque pixels is the rounded mean of each 2x2 block. */
    uint8_t g[4 * 4 * 4], h[2 * 2 * 4];
    for (int i = 0; i < 16; i++) {
        g[4 * i] = (uint8_t)(i * 10);
        g[4 * i + 1] = (uint8_t)(255 - i * 3);
        g[4 * i + 2] = (uint8_t)(i % 2 ? 255 : 0);
        g[4 * i + 3] = 255;
    }
    REQUIRE(orfeas_resize_rgba8(g, 4, 4, 16, h, 2, 2) == 0);
    /* block (0,0): pixels 0,1,4,5 */
    CHECK(h[0] == 25 && h[1] == 248 && h[2] == 128 && h[3] == 255);

    /* Enlarging a horizontal gradient keeps it monotonic. */
    uint8_t grad[16 * 4], big[100 * 4];
    for (int i = 0; i < 16; i++) {
        grad[4 * i] = grad[4 * i + 1] = grad[4 * i + 2] = (uint8_t)(i * 17);
        grad[4 * i + 3] = 255;
    }
    REQUIRE(orfeas_resize_rgba8(grad, 16, 1, 64, big, 100, 1) == 0);
    int mono = 1;
    for (int i = 1; i < 100; i++)
        mono &= big[4 * i] >= big[4 * (i - 1)];
    CHECK(mono && big[0] == 0 && big[4 * 99] == 255);

    /* Speed at the engine's largest working size. */
    const uint32_t n = 1536;
    uint8_t *L = malloc((size_t)n * n * 4), *M = malloc((size_t)1024 * 1024 * 4);
    uint8_t *N = malloc((size_t)n * n * 4);
    REQUIRE(L && M && N);
    for (size_t i = 0; i < (size_t)n * n * 4; i++)
        L[i] = (uint8_t)(i * 2654435761u >> 24);
    double t0 = now_ms();
    REQUIRE(orfeas_resize_rgba8(L, n, n, (size_t)n * 4, M, 1024, 1024) == 0);
    double t1 = now_ms();
    REQUIRE(orfeas_resize_rgba8(M, 1024, 1024, 1024 * 4, N, n, n) == 0);
    double t2 = now_ms();
    printf("resize_rgba8 1536^2 -> 1024^2: %.1f ms, 1024^2 -> 1536^2: %.1f ms\n", t1 - t0, t2 - t1);
    free(L);
    free(M);
    free(N);
}

int main(void)
{
    test_args();
    test_f32_weights();
    test_f32_large();
    test_rgba();
    return testutil_finish("test_image_resize");
}
