/* Kernel conformance: every kernel of every backend in this build ("cpu",
 * "sim:4GiB", "cuda" when a device answers) runs on the same inputs, moved
 * with the device's own copy, and is compared with the cpu reference table.
 *
 * Tolerances (errors relative to the largest |value| of the reference
 * output, so they do not depend on the data's scale):
 *   mg_smooth, mg_residual, mg_restrict, mg_prolong_add  1e-5
 *   blur, resize_f32                                    1e-5
 *   mg_coarsen_interior                                 exact (bytes)
 *   rtin_level (all levels of a build)                  1 ulp; inf exactly
 *   full multigrid solve (orfeas_inflate_solve)         1e-4
 * Why: the CUDA kernels evaluate the reference's expressions in its order
 * (box sums in double as cpu_kernels_blur.c, resize taps in double as
 * cpu_kernels_resize.c) and are built without FMA contraction, so they
 * should agree bit for bit; red-
 * black smoothing is order-free within a colour. The slack covers a
 * compiler that contracts or reassociates anyway: a few ulp per operation,
 * and the solve's six V-cycles of ~400 sweeps amplify those by at most a
 * few hundred. RTIN errors pick among the same few float expressions
 * (explicitly rounded on the GPU) and are thresholds for the mesher, so
 * they must match; inf marks "must split" and must match exactly. The
 * observed maximum is printed next to every tolerance. */
#include "device/devmem.h"
#include "device/kernels.h"
#include "mesh/rtin.h"
#include "orfeas/device.h"
#include "orfeas/error.h"
#include "shape/inflate.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL_MG 1e-5
#define TOL_FILTER 1e-5
#define TOL_SOLVE 1e-4
#define TOL_RTIN_ULP 1

enum {
    K_SMOOTH,
    K_RESIDUAL,
    K_RESTRICT,
    K_PROLONG,
    K_COARSEN,
    K_BLUR,
    K_RESIZE,
    K_RTIN,
    K_SOLVE,
    K_COUNT
};
static const char *const kernel_names[K_COUNT] = {
    "mg_smooth", "mg_residual", "mg_restrict", "mg_prolong_add", "mg_coarsen_interior",
    "blur",      "resize_f32",  "rtin_level",  "inflate_solve"};
static const char *const kernel_tols[K_COUNT] = {
    "1e-5 rel", "1e-5 rel", "1e-5 rel",           "1e-5 rel", "exact",
    "1e-5 rel", "1e-5 rel", "1 ulp (max in ulp)", "1e-4 rel"};

typedef struct backend {
    const char *spec;
    orfeas_device *dev;
    double worst[K_COUNT]; /* largest observed error (relative, or ulp for rtin) */
    int cases[K_COUNT];
} backend;

static const orfeas_kernels *ref; /* the cpu table, on host arrays */

/* ---- inputs ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}
static float frand(void)
{
    return (float)(next_u32() & 0xffffff) / 16777216.0f;
}

static float *random_plane(uint32_t w, uint32_t h)
{
    float *p = malloc((size_t)w * h * sizeof *p + sizeof *p);
    REQUIRE(p);
    /* A smooth ramp plus noise: realistic magnitudes, no degenerate sums. */
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            p[(size_t)y * w + x] = 0.5f * sinf(0.05f * x) * cosf(0.07f * y) + frand();
    return p;
}

/* An ellipse with random holes, never on the border (as inflate wants). */
static uint8_t *random_interior(uint32_t w, uint32_t h)
{
    uint8_t *m = malloc((size_t)w * h + 1);
    REQUIRE(m);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            float dx = (x + 0.5f) / w - 0.5f, dy = (y + 0.5f) / h - 0.45f;
            int in = dx * dx + dy * dy < 0.16f && (next_u32() % 11) != 0;
            m[(size_t)y * w + x] = in && x > 0 && y > 0 && x + 1 < w && y + 1 < h;
        }
    return m;
}

/* ---- device helpers ---- */

static void *dalloc(backend *b, size_t bytes)
{
    void *p = NULL;
    int err = orfeas_device_alloc(b->dev, bytes ? bytes : 1, &p);
    REQUIRE(err == 0 && p);
    return p;
}

static void *up(backend *b, const void *host, size_t bytes)
{
    void *p = dalloc(b, bytes);
    if (bytes) REQUIRE(orfeas_device_copy(b->dev, p, host, bytes, ORFEAS_COPY_HOST_TO_DEVICE) == 0);
    return p;
}

static void down(backend *b, void *host, const void *dptr, size_t bytes)
{
    REQUIRE(orfeas_device_sync(b->dev) == 0);
    if (bytes)
        REQUIRE(orfeas_device_copy(b->dev, host, dptr, bytes, ORFEAS_COPY_DEVICE_TO_HOST) == 0);
}

static const orfeas_kernels *K(backend *b)
{
    return b->dev->iface->kernels;
}

/* ---- comparisons ---- */

static void compare_f32(backend *b, int kernel, const char *what, const float *want,
                        const float *got, size_t n, double tol)
{
    double scale = 0, worst = 0;
    size_t at = 0;
    int special = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > scale) scale = fabs(want[i]);
    if (scale == 0) scale = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(want[i]) || !isfinite(got[i])) {
            if (memcmp(&want[i], &got[i], sizeof(float)) != 0 && !(isnan(want[i]) && isnan(got[i])))
                special++, at = i;
            continue;
        }
        double d = fabs((double)want[i] - got[i]) / scale;
        if (d > worst) worst = d, at = special ? at : i;
    }
    if (worst > b->worst[kernel]) b->worst[kernel] = worst;
    b->cases[kernel]++;
    CHECKF(special == 0 && worst <= tol,
           "%s %s %s: max rel error %.3g (tolerance %.0e), %d inf/nan "
           "mismatches; at %zu want %.9g got %.9g",
           b->spec, kernel_names[kernel], what, worst, tol, special, at, want[at], got[at]);
}

static int32_t ulp_distance(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4), memcpy(&ib, &b, 4);
    if (ia < 0) ia = INT32_MIN - ia;
    if (ib < 0) ib = INT32_MIN - ib;
    int64_t d = (int64_t)ia - ib;
    if (d < 0) d = -d;
    return d > INT32_MAX ? INT32_MAX : (int32_t)d;
}

/* ---- the kernels ---- */

static const uint32_t sizes[][2] = {{1, 1},   {2, 3},     {3, 2},    {5, 7},
                                    {64, 48}, {257, 129}, {130, 257}};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };

static void test_mg(backend *b, uint32_t w, uint32_t h)
{
    char what[64];
    snprintf(what, sizeof what, "%ux%u", w, h);
    size_t n = (size_t)w * h, fb = n * sizeof(float);
    uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
    size_t cn = (size_t)cw * ch;
    uint8_t *in = random_interior(w, h);
    float *u = random_plane(w, h), *f = random_plane(w, h), *want = malloc(fb + 4),
          *got = malloc(fb + 4);
    REQUIRE(want && got);

    /* smooth: two spacings, a few sweeps */
    for (int k = 0; k < 2; k++) {
        float spacing = k ? 4.0f : 1.0f;
        int sweeps = k ? 7 : 3;
        memcpy(want, u, fb);
        REQUIRE(ref->mg_smooth(NULL, in, want, f, w, h, spacing, sweeps) == 0);
        uint8_t *d_in = up(b, in, n);
        float *d_u = up(b, u, fb), *d_f = up(b, f, fb);
        CHECK(K(b)->mg_smooth(b->dev->ctx, d_in, d_u, d_f, w, h, spacing, sweeps) == 0);
        down(b, got, d_u, fb);
        compare_f32(b, K_SMOOTH, what, want, got, n, TOL_MG);

        /* residual of the smoothed u */
        float *r_want = malloc(fb + 4);
        REQUIRE(r_want);
        REQUIRE(ref->mg_residual(NULL, in, want, f, r_want, w, h, spacing) == 0);
        float *d_r = up(b, u, fb); /* garbage first: every point must be written */
        REQUIRE(orfeas_device_copy(b->dev, d_u, want, fb, ORFEAS_COPY_HOST_TO_DEVICE) == 0);
        CHECK(K(b)->mg_residual(b->dev->ctx, d_in, d_u, d_f, d_r, w, h, spacing) == 0);
        down(b, got, d_r, fb);
        compare_f32(b, K_RESIDUAL, what, r_want, got, n, TOL_MG);
        free(r_want);
        orfeas_device_free(b->dev, d_in), orfeas_device_free(b->dev, d_u);
        orfeas_device_free(b->dev, d_f), orfeas_device_free(b->dev, d_r);
    }

    /* coarsen */
    uint8_t *c_want = malloc(cn + 1), *c_got = malloc(cn + 1);
    REQUIRE(c_want && c_got);
    REQUIRE(ref->mg_coarsen_interior(NULL, in, w, h, c_want, cw, ch) == 0);
    uint8_t *d_in = up(b, in, n), *d_cin = up(b, in, cn); /* garbage first */
    CHECK(K(b)->mg_coarsen_interior(b->dev->ctx, d_in, w, h, d_cin, cw, ch) == 0);
    down(b, c_got, d_cin, cn);
    b->cases[K_COARSEN]++;
    int diff = memcmp(c_want, c_got, cn) != 0;
    if (diff) b->worst[K_COARSEN] = 1;
    CHECKF(!diff, "%s mg_coarsen_interior %s differs", b->spec, what);

    /* restrict: coarse f and u from a fine residual (r = f here) */
    float *cf_want = malloc(cn * 4 + 4), *cu_want = malloc(cn * 4 + 4),
          *cf_got = malloc(cn * 4 + 4), *cu_got = malloc(cn * 4 + 4);
    REQUIRE(cf_want && cu_want && cf_got && cu_got);
    for (size_t i = 0; i < cn; i++)
        cu_want[i] = 7.0f;
    REQUIRE(ref->mg_restrict(NULL, f, w, h, c_want, cf_want, cu_want, cw, ch) == 0);
    float *d_r = up(b, f, fb), *d_cf = up(b, u, cn * 4), *d_cu = up(b, u, cn * 4);
    REQUIRE(orfeas_device_copy(b->dev, d_cin, c_want, cn, ORFEAS_COPY_HOST_TO_DEVICE) == 0);
    CHECK(K(b)->mg_restrict(b->dev->ctx, d_r, w, h, d_cin, d_cf, d_cu, cw, ch) == 0);
    down(b, cf_got, d_cf, cn * 4);
    down(b, cu_got, d_cu, cn * 4);
    compare_f32(b, K_RESTRICT, what, cf_want, cf_got, cn, TOL_MG);
    compare_f32(b, K_RESTRICT, what, cu_want, cu_got, cn, TOL_MG);

    /* prolong_add: a random coarse correction onto a random fine u */
    float *e = random_plane(cw, ch);
    memcpy(want, u, fb);
    REQUIRE(ref->mg_prolong_add(NULL, e, cw, ch, in, want, w, h) == 0);
    float *d_e = up(b, e, cn * 4), *d_u = up(b, u, fb);
    CHECK(K(b)->mg_prolong_add(b->dev->ctx, d_e, cw, ch, d_in, d_u, w, h) == 0);
    down(b, got, d_u, fb);
    compare_f32(b, K_PROLONG, what, want, got, n, TOL_MG);

    orfeas_device_free(b->dev, d_in), orfeas_device_free(b->dev, d_cin);
    orfeas_device_free(b->dev, d_r), orfeas_device_free(b->dev, d_cf);
    orfeas_device_free(b->dev, d_cu), orfeas_device_free(b->dev, d_e);
    orfeas_device_free(b->dev, d_u);
    free(in), free(u), free(f), free(want), free(got), free(c_want), free(c_got);
    free(cf_want), free(cu_want), free(cf_got), free(cu_got), free(e);
}

static void test_blur(backend *b, uint32_t w, uint32_t h)
{
    static const float sigmas[] = {0.2f, 0.8f, 2.0f, 7.5f};
    size_t n = (size_t)w * h, fb = n * sizeof(float);
    float *p = random_plane(w, h), *want = malloc(fb + 4), *got = malloc(fb + 4);
    REQUIRE(want && got);
    for (size_t s = 0; s < sizeof sigmas / sizeof sigmas[0]; s++) {
        char what[64];
        snprintf(what, sizeof what, "%ux%u sigma %.1f", w, h, sigmas[s]);
        memcpy(want, p, fb);
        float *tmp = malloc(fb + 4);
        REQUIRE(tmp);
        REQUIRE(ref->blur(NULL, want, tmp, w, h, sigmas[s]) == 0);
        free(tmp);
        float *d_p = up(b, p, fb), *d_tmp = dalloc(b, fb);
        CHECK(K(b)->blur(b->dev->ctx, d_p, d_tmp, w, h, sigmas[s]) == 0);
        down(b, got, d_p, fb);
        compare_f32(b, K_BLUR, what, want, got, n, TOL_FILTER);
        orfeas_device_free(b->dev, d_p), orfeas_device_free(b->dev, d_tmp);
    }
    free(p), free(want), free(got);
}

static void test_resize(backend *b)
{
    static const uint32_t cases[][4] = {
        {1, 1, 3, 2},         {2, 3, 1, 1},          {3, 2, 7, 5},         {257, 129, 64, 48},
        {257, 129, 513, 260}, {64, 48, 64, 48},      {257, 129, 300, 100}, {5, 7, 5, 3},
        {130, 257, 129, 257}, {1536, 1024, 192, 128}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t sw = cases[c][0], sh = cases[c][1], dw = cases[c][2], dh = cases[c][3];
        char what[64];
        snprintf(what, sizeof what, "%ux%u->%ux%u", sw, sh, dw, dh);
        size_t sb = (size_t)sw * sh * 4, dn = (size_t)dw * dh;
        float *src = random_plane(sw, sh), *want = malloc(dn * 4 + 4), *got = malloc(dn * 4 + 4);
        REQUIRE(want && got);
        REQUIRE(ref->resize_f32(NULL, src, sw, sh, want, dw, dh) == 0);
        float *d_src = up(b, src, sb), *d_dst = dalloc(b, dn * 4);
        CHECK(K(b)->resize_f32(b->dev->ctx, d_src, sw, sh, d_dst, dw, dh) == 0);
        down(b, got, d_dst, dn * 4);
        compare_f32(b, K_RESIZE, what, want, got, dn, TOL_FILTER);
        orfeas_device_free(b->dev, d_src), orfeas_device_free(b->dev, d_dst);
        free(src), free(want), free(got);
    }
}

/* Every level of an RTIN error pass, deepest first as orfeas_rtin_build. */
static void rtin_all_levels(const orfeas_kernels *k, void *ctx, const float *front,
                            const float *back, const uint8_t *cells, uint32_t width,
                            uint32_t height, uint32_t size, float *errors, uint32_t levels)
{
    for (uint32_t level = levels; level-- > 0;)
        CHECK(k->rtin_level(ctx, front, back, cells, width, height, size, errors, level,
                            levels - 1) == 0);
}

static void test_rtin(backend *b, uint32_t width, uint32_t height)
{
    uint32_t tile = 1, levels = 0;
    while (tile + 1 < width || tile + 1 < height)
        tile *= 2, levels += 2;
    if (tile < 2) tile = 2, levels = 2;
    uint32_t size = tile + 1;
    size_t n = (size_t)width * height, en = (size_t)size * size;
    size_t cn = (size_t)(width - 1) * (height - 1);
    float *front = random_plane(width, height), *back = random_plane(width, height);
    uint8_t *cells = random_interior(width > 1 ? width - 1 : 1, height > 1 ? height - 1 : 1);
    /* Mostly inside, so that finite errors dominate: reuse the ellipse but
     * fill its border ring too. */
    for (size_t i = 0; i < cn; i++)
        cells[i] = cells[i] || (next_u32() % 3 == 0);
    float *want = calloc(en, sizeof *want), *got = calloc(en, sizeof *got);
    REQUIRE(want && got);
    rtin_all_levels(ref, NULL, front, back, cells, width, height, size, want, levels);

    float *d_front = up(b, front, n * 4), *d_back = up(b, back, n * 4);
    uint8_t *d_cells = up(b, cells, cn);
    float *d_err = up(b, got, en * 4); /* zeros */
    rtin_all_levels(K(b), b->dev->ctx, d_front, d_back, d_cells, width, height, size, d_err,
                    levels);
    down(b, got, d_err, en * 4);
    int32_t worst = 0;
    size_t at = 0, infs = 0;
    for (size_t i = 0; i < en; i++) {
        int32_t d = isinf(want[i]) || isinf(got[i]) ? (want[i] == got[i] ? 0 : INT32_MAX)
                                                    : ulp_distance(want[i], got[i]);
        if (d > worst) worst = d, at = i;
        infs += isinf(want[i]) != 0;
    }
    b->cases[K_RTIN]++;
    if (worst > b->worst[K_RTIN]) b->worst[K_RTIN] = worst;
    CHECKF(worst <= TOL_RTIN_ULP, "%s rtin_level %ux%u: %d ulp at slot %zu: want %.9g got %.9g",
           b->spec, width, height, worst, at, want[at], got[at]);
    CHECKF(infs > 0 || width < 3, "rtin %ux%u: the test should cover infinite slots", width,
           height);

    /* The library's own build through this device, against the host build. */
    orfeas_rtin host_r, dev_r;
    orfeas_devmem m = {.dev = b->dev};
    REQUIRE(orfeas_rtin_build(&host_r, NULL, width, height, front, back, cells) == 0);
    CHECK(orfeas_rtin_build(&dev_r, &m, width, height, front, back, cells) == 0);
    CHECK(memcmp(host_r.errors, want, en * 4) == 0); /* the table is the reference */
    int same = dev_r.errors && memcmp(host_r.errors, dev_r.errors, en * 4) == 0;
    if (!same && dev_r.errors) {
        for (size_t i = 0; i < en; i++) {
            int32_t d = ulp_distance(host_r.errors[i], dev_r.errors[i]);
            if (isinf(host_r.errors[i]) != isinf(dev_r.errors[i])) d = INT32_MAX;
            same = d <= TOL_RTIN_ULP;
            if (!same) break;
        }
    }
    CHECKF(same, "%s orfeas_rtin_build %ux%u differs from the host build", b->spec, width, height);
    orfeas_rtin_free(&host_r), orfeas_rtin_free(&dev_r);

    orfeas_device_free(b->dev, d_front), orfeas_device_free(b->dev, d_back);
    orfeas_device_free(b->dev, d_cells), orfeas_device_free(b->dev, d_err);
    free(front), free(back), free(cells), free(want), free(got);
}

/* The whole multigrid solver (orfeas_inflate_solve) on this device. */
static void test_solve(backend *b, uint32_t w, uint32_t h)
{
    char what[64];
    snprintf(what, sizeof what, "%ux%u", w, h);
    size_t n = (size_t)w * h;
    uint8_t *in = random_interior(w, h);
    float *want = malloc(n * 4 + 4), *got = malloc(n * 4 + 4);
    REQUIRE(want && got);
    REQUIRE(orfeas_inflate_solve(NULL, in, w, h, want, NULL) == 0);
    orfeas_devmem m = {.dev = b->dev};
    CHECK(orfeas_inflate_solve(&m, in, w, h, got, NULL) == 0);
    compare_f32(b, K_SOLVE, what, want, got, n, TOL_SOLVE);
    free(in), free(want), free(got);
}

int main(void)
{
    ref = &orfeas_cpu_kernels;
    backend backends[3];
    int count = 0;
    const char *specs[] = {"cpu", "sim:4GiB", "cuda"};
    printf("backends compiled in: %s\n", orfeas_device_backends());
    for (int i = 0; i < 3; i++) {
        char why[256] = "";
        orfeas_device *dev = NULL;
        int err = orfeas_device_open(specs[i], &dev, why, sizeof why);
        if (err) {
            /* Only cuda may be missing: cpu and sim are always built. */
            CHECKF(strcmp(specs[i], "cuda") == 0, "%s: %s", specs[i], why);
            CHECK(err == ORFEAS_ENOTFOUND);
            printf("%s: not available here (%s)\n", specs[i], why[0] ? why : orfeas_strerror(err));
            continue;
        }
        memset(&backends[count], 0, sizeof backends[count]);
        backends[count].spec = specs[i];
        backends[count].dev = dev;
        printf("%s: %s\n", specs[i], dev->name);
        count++;
    }
    REQUIRE(count >= 2);

    for (int i = 0; i < count; i++) {
        backend *b = &backends[i];
        for (int s = 0; s < NSIZES; s++) {
            test_mg(b, sizes[s][0], sizes[s][1]);
            test_blur(b, sizes[s][0], sizes[s][1]);
        }
        test_blur(b, 1536, 1024);
        test_resize(b);
        static const uint32_t rtin_sizes[][2] = {{1, 1},   {2, 3},     {3, 2},    {17, 17},
                                                 {65, 40}, {257, 129}, {130, 257}};
        for (size_t s = 0; s < sizeof rtin_sizes / sizeof rtin_sizes[0]; s++)
            test_rtin(b, rtin_sizes[s][0], rtin_sizes[s][1]);
        static const uint32_t solve_sizes[][2] = {{5, 7}, {64, 48}, {257, 129}, {200, 300}};
        for (size_t s = 0; s < sizeof solve_sizes / sizeof solve_sizes[0]; s++)
            test_solve(b, solve_sizes[s][0], solve_sizes[s][1]);
    }

    printf("\n%-10s %-20s %6s %12s  %s\n", "backend", "kernel", "cases", "max error", "tolerance");
    for (int i = 0; i < count; i++)
        for (int k = 0; k < K_COUNT; k++)
            printf("%-10s %-20s %6d %12.3g  %s%s\n", backends[i].spec, kernel_names[k],
                   backends[i].cases[k], backends[i].worst[k], kernel_tols[k], "");
    for (int i = 0; i < count; i++)
        orfeas_device_close(backends[i].dev);
    return testutil_finish("test_kernels");
}
