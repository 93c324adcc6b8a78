/* The forward pass against the official PyTorch outputs in
 * ../shared/testdata/depth_golden (seeded random weights, cases a and b):
 * every intermediate the files hold and the depth, at the README's fp32
 * tolerance (max abs <= 5e-5, rms rel <= 1e-5). */
#include "nn/depth_internal.h"
#include "nn/weights.h"
#include "orfeas/depth.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    char c; /* case letter */
    int checked;
    double worst_abs, worst_rms;
} ctx;

/* max abs and rms relative (rms of diff / rms of ref) */
static void compare(ctx *cx, const char *name, const float *got, const float *ref, size_t n)
{
    double mx = 0, se = 0, sr = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        mx = d > mx ? d : mx;
        se += d * d;
        sr += (double)ref[i] * ref[i];
    }
    double rms = sr > 0 ? sqrt(se / sr) : sqrt(se);
    printf("case %c %-8s n=%-8zu max abs %.3g  rms rel %.3g\n", cx->c, name, n, mx, rms);
    CHECKF(mx <= 5e-5 && rms <= 1e-5, "case %c %s: max abs %g rms rel %g", cx->c, name, mx, rms);
    cx->checked++;
    cx->worst_abs = mx > cx->worst_abs ? mx : cx->worst_abs;
    cx->worst_rms = rms > cx->worst_rms ? rms : cx->worst_rms;
}

static void on_tap(void *ud, const char *name, const float *d, size_t n)
{
    ctx *cx = ud;
    char rel[96];
    snprintf(rel, sizeof(rel), "depth_golden/case_%c_%s.f32", cx->c, name);
    float *ref = testutil_read_f32(rel, n);
    if (!ref) return; /* not every intermediate is stored for every case */
    compare(cx, name, d, ref, n);
    free(ref);
}

static void input_for(uint64_t seed, float *x, size_t n)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(orfeas_nn_splitmix_signed(&st) * 2.0);
}

static void run_case(const orfeas_depth_model *m, char c, int h, int w, uint64_t seed,
                     int expect_taps)
{
    size_t n = (size_t)3 * h * w;
    float *x = malloc(n * sizeof(float)), *out = malloc((size_t)h * w * sizeof(float));
    REQUIRE(x && out);
    input_for(seed, x, n);
    if (c == 'a') {
        float *ref = testutil_read_f32("depth_golden/case_a_input.f32", n);
        REQUIRE(ref);
        CHECK(memcmp(ref, x, n * sizeof(float)) == 0);
        free(ref);
    }
    ctx cx = {.c = c};
    REQUIRE(orfeas_nn_depth_forward(m, x, h, w, out, on_tap, &cx) == 0);
    CHECKF(cx.checked == expect_taps, "case %c: %d intermediates compared", c, cx.checked);
    char rel[64];
    snprintf(rel, sizeof(rel), "depth_golden/case_%c_out.f32", c);
    float *ref = testutil_read_f32(rel, (size_t)h * w);
    REQUIRE(ref);
    compare(&cx, "out", out, ref, (size_t)h * w);
    free(ref);
    /* Against the float64 forward of the same weights (informative, same bound). */
    snprintf(rel, sizeof(rel), "depth_golden/case_%c_out.f64", c);
    FILE *fp = fopen(testutil_data(rel), "rb");
    REQUIRE(fp);
    double *r64 = malloc((size_t)h * w * sizeof(double));
    REQUIRE(r64 && fread(r64, sizeof(double), (size_t)h * w, fp) == (size_t)h * w);
    fclose(fp);
    double m64 = 0;
    for (size_t i = 0; i < (size_t)h * w; i++)
        m64 = fmax(m64, fabs((double)out[i] - r64[i]));
    printf("case %c out vs float64 reference: max abs %.3g\n", c, m64);
    CHECK(m64 <= 5e-5);
    free(r64);
    /* The HF-style interpolation's output must be far: we follow the official one. */
    snprintf(rel, sizeof(rel), "depth_golden/case_%c_out_hfinterp.f32", c);
    ref = testutil_read_f32(rel, (size_t)h * w);
    REQUIRE(ref);
    double mx = 0;
    for (size_t i = 0; i < (size_t)h * w; i++)
        mx = fmax(mx, fabs((double)out[i] - ref[i]));
    CHECK(mx > 0.1);
    free(ref);
    printf("case %c: worst over %d tensors: max abs %.3g, rms rel %.3g\n", c, cx.checked,
           cx.worst_abs, cx.worst_rms);
    /* The public entry point gives the same bits. */
    float *out2 = malloc((size_t)h * w * sizeof(float));
    REQUIRE(out2);
    REQUIRE(orfeas_depth_run(m, x, h, w, out2) == 0);
    CHECK(memcmp(out, out2, (size_t)h * w * sizeof(float)) == 0);
    free(out2);
    free(x);
    free(out);
}

int main(void)
{
    testutil_require_data("test_nn_depth", "depth_golden");
    orfeas_depth_set_threads(2);
    orfeas_depth_model *m;
    REQUIRE(orfeas_depth_load_random(42, ORFEAS_DEPTH_FP32, &m) == 0);
    /* a: posembed, tokens0, feat0-3, rn1-4, path1-4, prerelu; b: no rn/path. */
    run_case(m, 'a', 126, 126, 1001, 15);
    run_case(m, 'b', 196, 280, 1002, 7);
    float dummy[1];
    CHECK(orfeas_depth_run(m, dummy, 13, 14, dummy) != 0);
    orfeas_depth_free(m);
    return testutil_finish("test_nn_depth");
}
