/* The runtime's operators against direct reference formulas (the golden
 * forward covers them end to end; these pin each one down, including the
 * image-preprocessing bicubic resize the golden files do not exercise). */
#include "nn/tensor.h"
#include "nn/weights.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 5;

static void fill(float *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (float)orfeas_nn_splitmix_signed(&rng);
}

static void test_conv(int ci, int co, int h, int w, int k, int stride, int pad)
{
    nn_map x, y;
    REQUIRE(orfeas_nn_map_alloc(&x, ci, h, w) == 0);
    fill(x.d, (size_t)ci * h * w);
    size_t wn = (size_t)co * ci * k * k;
    float *wt = malloc(wn * sizeof(float)), b[64];
    REQUIRE(wt && co <= 64);
    fill(wt, wn);
    fill(b, (size_t)co);
    REQUIRE(orfeas_nn_conv2d(&x, wt, b, co, k, stride, pad, &y) == 0);
    CHECK(y.c == co && y.h == (h + 2 * pad - k) / stride + 1 &&
          y.w == (w + 2 * pad - k) / stride + 1);
    double worst = 0;
    for (int o = 0; o < co; o++)
        for (int i = 0; i < y.h; i++)
            for (int j = 0; j < y.w; j++) {
                double acc = b[o];
                for (int c = 0; c < ci; c++)
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int iy = i * stride - pad + ky, ix = j * stride - pad + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            acc += (double)wt[((o * ci + c) * k + ky) * k + kx] *
                                   x.d[((size_t)c * h + iy) * w + ix];
                        }
                worst = fmax(worst, fabs(acc - y.d[((size_t)o * y.h + i) * y.w + j]));
            }
    CHECKF(worst < 1e-4, "conv %dx%d s%d p%d: %g", k, k, stride, pad, worst);
    orfeas_nn_map_free(&x);
    orfeas_nn_map_free(&y);
    free(wt);
}

static void test_conv_transpose(int k)
{
    int ci = 5, co = 3, h = 4, w = 6;
    nn_map x, y;
    REQUIRE(orfeas_nn_map_alloc(&x, ci, h, w) == 0);
    fill(x.d, (size_t)ci * h * w);
    float wt[5 * 3 * 16], b[3];
    fill(wt, (size_t)ci * co * k * k);
    fill(b, 3);
    REQUIRE(orfeas_nn_conv_transpose(&x, wt, b, co, k, &y) == 0);
    CHECK(y.h == h * k && y.w == w * k);
    double worst = 0;
    for (int o = 0; o < co; o++)
        for (int i = 0; i < y.h; i++)
            for (int j = 0; j < y.w; j++) {
                double acc = b[o];
                for (int c = 0; c < ci; c++) /* PyTorch layout [ci, co, k, k] */
                    acc += (double)wt[((c * co + o) * k + i % k) * k + j % k] *
                           x.d[((size_t)c * h + i / k) * w + j / k];
                worst = fmax(worst, fabs(acc - y.d[((size_t)o * y.h + i) * y.w + j]));
            }
    CHECKF(worst < 1e-5, "conv transpose k%d: %g", k, worst);
    orfeas_nn_map_free(&x);
    orfeas_nn_map_free(&y);
}

static void test_resizes(void)
{
    nn_map x, y;
    REQUIRE(orfeas_nn_map_alloc(&x, 2, 5, 7) == 0);
    fill(x.d, 70);
    /* align_corners=True keeps the corners exactly and is linear in between. */
    REQUIRE(orfeas_nn_resize_bilinear_ac(&x, 9, 13, &y) == 0);
    for (int c = 0; c < 2; c++) {
        const float *s = x.d + c * 35, *d = y.d + c * 117;
        CHECK(d[0] == s[0] && d[12] == s[6] && d[8 * 13] == s[4 * 7] && d[116] == s[34]);
        CHECK(fabsf(d[1] - (s[0] + s[1]) / 2) < 1e-6f); /* (13-1)/(7-1) = 2 */
    }
    orfeas_nn_map_free(&y);
    /* Bicubic (OpenCV INTER_CUBIC): same size is the identity, constants are
     * kept (A = -0.75 reproduces constants, not ramps), a ramp stays monotone
     * away from the border, and integer-aligned samples are exact. */
    REQUIRE(orfeas_nn_resize_bicubic(&x, 5, 7, &y) == 0);
    CHECK(memcmp(x.d, y.d, 70 * sizeof(float)) == 0);
    orfeas_nn_map_free(&y);
    for (int i = 0; i < 35; i++) {
        x.d[i] = 0.25f;
        x.d[35 + i] = (float)(i % 7); /* ramp along x */
    }
    REQUIRE(orfeas_nn_resize_bicubic(&x, 10, 21, &y) == 0);
    double worst_c = 0;
    int monotone = 1;
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 21; j++) {
            worst_c = fmax(worst_c, fabs(y.d[i * 21 + j] - 0.25));
            if (j > 3 && j < 18) monotone &= y.d[210 + i * 21 + j] > y.d[210 + i * 21 + j - 1];
        }
    CHECKF(worst_c < 1e-6, "bicubic constant: %g", worst_c);
    CHECK(monotone);
    /* x3 upscale: output j = 3 s + 1 lands exactly on source sample s. */
    for (int j = 1; j < 21; j += 3)
        CHECK(fabsf(y.d[210 + 4 * 21 + j] - (float)(j / 3)) < 1e-6f);
    orfeas_nn_map_free(&y);
    orfeas_nn_map_free(&x);
}

static void test_elementwise(void)
{
    float s[3 * 50];
    fill(s, 150);
    for (int i = 0; i < 150; i++)
        s[i] *= 20.0f;
    orfeas_nn_softmax_rows(s, 3, 50);
    for (int r = 0; r < 3; r++) {
        double sum = 0;
        for (int j = 0; j < 50; j++)
            sum += s[r * 50 + j];
        CHECK(fabs(sum - 1.0) < 1e-5);
    }
    float g[5] = {-3.0f, -1.0f, 0.0f, 1.0f, 3.0f};
    orfeas_nn_gelu(g, 5);
    for (int i = 0; i < 5; i++) {
        double v = i - 2 == 0 ? 0 : (i - 2) * ((i == 0 || i == 4) ? 3 : 1) / abs(i - 2);
        double ref = 0.5 * v * (1 + erf(v / sqrt(2.0)));
        CHECKF(fabs(g[i] - ref) < 1e-6, "gelu(%g) %g vs %g", v, g[i], ref);
    }
    float x[2 * 4] = {1, 2, 3, 4, -1, 0, 1, 10}, gg[4] = {1, 1, 1, 1}, bb[4] = {0, 0, 0, 0}, y[8];
    orfeas_nn_layernorm(x, 2, 4, gg, bb, 1e-6f, y);
    for (int r = 0; r < 2; r++) {
        double m = 0, v = 0;
        for (int i = 0; i < 4; i++)
            m += y[r * 4 + i] / 4.0;
        for (int i = 0; i < 4; i++)
            v += (y[r * 4 + i] - m) * (y[r * 4 + i] - m) / 4.0;
        CHECK(fabs(m) < 1e-6 && fabs(v - 1.0) < 1e-5);
    }
}

int main(void)
{
    test_conv(3, 4, 9, 11, 3, 1, 1);
    test_conv(5, 6, 9, 7, 3, 2, 1);
    test_conv(7, 3, 6, 5, 1, 1, 0);
    test_conv(3, 2, 28, 14, 14, 14, 0);
    test_conv_transpose(2);
    test_conv_transpose(4);
    test_resizes();
    test_elementwise();
    return testutil_finish("test_nn_ops");
}
