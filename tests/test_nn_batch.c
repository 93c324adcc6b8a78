/* The depth network's memory estimate and batching.
 *
 * - orfeas_depth_activation_bytes against the real peak of the forward pass,
 *   measured by the nn runtime's counting allocator (every buffer of the
 *   pass goes through orfeas_nn_alloc): an upper bound, and at most 2x the peak,
 *   at several sizes, batch sizes and precisions; sub-additive in the
 *   batch; orfeas_depth_infer_bytes likewise for orfeas_depth_infer_rgba.
 * - orfeas_depth_run_batch gives each image bit-for-bit what
 *   orfeas_depth_run gives it alone (fp32 and int8): the determinism
 *   contract of docs/depth.md.
 * - The batcher: threads submitting same-size and different-size inputs
 *   get their own images' results, bit-for-bit; groups of one size fill up
 *   to max_batch and run as one pass; different sizes never share a pass.
 *   orfeas_depth_infer_rgba of two images whose network inputs are the same
 *   size (different pixel sizes) share a pass. */
#include "nn/depth_internal.h"
#include "nn/tensor.h"
#include "nn/weights.h"
#include "orfeas/depth.h"
#include "orfeas/error.h"
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *input(uint64_t seed, int batch, int h, int w)
{
    size_t n = (size_t)batch * 3 * h * w;
    float *x = malloc(n * sizeof(float));
    REQUIRE(x);
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(orfeas_nn_splitmix_signed(&st) * 2.0);
    return x;
}

/* The peak of bytes live during one batched pass, above what was live. */
static size_t measure(const orfeas_depth_model *m, const float *x, int batch, int h, int w,
                      float *out)
{
    size_t before = orfeas_nn_alloc_live();
    orfeas_nn_alloc_reset_peak();
    REQUIRE(orfeas_depth_run_batch(m, x, batch, h, w, out) == 0);
    CHECK(orfeas_nn_alloc_live() == before); /* every buffer released, with its size */
    return orfeas_nn_alloc_peak() - before;
}

static void test_activation_estimate(orfeas_depth_model *const models[3])
{
    static const struct {
        int h, w, max_batch;
    } sizes[] = {{14, 14, 3}, {126, 126, 3}, {196, 280, 3}, {518, 518, 2}, {518, 784, 1}};
    printf("%-9s %-5s %5s %12s %12s %6s\n", "input", "prec", "batch", "measured MiB",
           "estimate MiB", "ratio");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int h = sizes[s].h, w = sizes[s].w;
        if (TESTUTIL_SANITIZED && h >= 518) {
            printf("%dx%d: skipped in a sanitizer build\n", h, w);
            continue;
        }
        float *x = input(11 + s, sizes[s].max_batch, h, w);
        float *out = malloc((size_t)sizes[s].max_batch * h * w * sizeof(float));
        REQUIRE(out);
        for (int p = ORFEAS_DEPTH_FP32; p <= ORFEAS_DEPTH_INT8; p++) {
            /* The big sizes at fp32 and int8 only: fp16 allocates as int8. */
            if (h >= 518 && p == ORFEAS_DEPTH_FP16) continue;
            size_t one = orfeas_depth_activation_bytes(h, w, 1, (orfeas_depth_precision)p);
            for (int b = 1; b <= sizes[s].max_batch; b++) {
                size_t got = measure(models[p], x, b, h, w, out);
                size_t est = orfeas_depth_activation_bytes(h, w, b, (orfeas_depth_precision)p);
                printf("%4dx%-4d %-5s %5d %12.2f %12.2f %6.3f\n", h, w,
                       orfeas_depth_precision_name((orfeas_depth_precision)p), b, got / 1048576.0,
                       est / 1048576.0, (double)est / (double)got);
                CHECKF(got <= est, "%dx%d b%d p%d: measured %zu > estimate %zu", h, w, b, p, got,
                       est);
                CHECKF(est <= 2 * got, "%dx%d b%d p%d: estimate %zu > 2 x measured %zu", h, w, b, p,
                       est, got);
                /* Jobs reserve one image each; a batch of theirs must fit in the sum. */
                CHECK(est <= (size_t)b * one);
            }
        }
        free(x);
        free(out);
    }
    CHECK(orfeas_depth_activation_bytes(13, 14, 1, ORFEAS_DEPTH_FP32) == 0);
    CHECK(orfeas_depth_activation_bytes(14, 14, 0, ORFEAS_DEPTH_FP32) == 0);
    CHECK(orfeas_depth_activation_bytes(14, 14, ORFEAS_DEPTH_MAX_BATCH + 1, ORFEAS_DEPTH_FP32) ==
          0);
    CHECK(orfeas_depth_activation_bytes(14 * 129, 14 * 128, 1, ORFEAS_DEPTH_FP32) == 0);
}

static uint8_t *image(uint32_t w, uint32_t h, uint32_t seed)
{
    uint8_t *px = malloc((size_t)w * h * 4);
    REQUIRE(px);
    uint64_t st = seed;
    for (size_t i = 0; i < (size_t)w * h * 4; i++)
        px[i] = (uint8_t)(orfeas_nn_splitmix64(&st) >> 56);
    return px;
}

static void test_infer_estimate(const orfeas_depth_model *m)
{
    if (TESTUTIL_SANITIZED) {
        printf("infer estimate (518-pixel passes): skipped in a sanitizer build\n");
        return;
    }
    static const uint32_t dims[][2] = {{300, 200}, {64, 64}, {700, 500}};
    for (size_t i = 0; i < 3; i++) {
        uint32_t w = dims[i][0], h = dims[i][1];
        uint8_t *px = image(w, h, (uint32_t)i + 5);
        float *out = malloc((size_t)w * h * sizeof(float));
        REQUIRE(out);
        size_t before = orfeas_nn_alloc_live();
        orfeas_nn_alloc_reset_peak();
        REQUIRE(orfeas_depth_infer_rgba(m, px, w, h, (size_t)w * 4, out) == 0);
        CHECK(orfeas_nn_alloc_live() == before);
        size_t got = orfeas_nn_alloc_peak() - before;
        size_t est = orfeas_depth_infer_bytes(w, h, orfeas_depth_model_precision(m));
        int nh, nw;
        REQUIRE(orfeas_depth_input_size(w, h, &nh, &nw) == 0);
        printf("infer %ux%u (network %dx%d): measured %.2f MiB, estimate %.2f MiB\n", w, h, nw, nh,
               got / 1048576.0, est / 1048576.0);
        CHECK(got <= est && est <= 2 * got);
        free(px);
        free(out);
    }
    int nh, nw;
    CHECK(orfeas_depth_input_size(100, 100, &nh, &nw) == 0 && nh == 518 && nw == 518);
    CHECK(orfeas_depth_input_size(300, 200, &nh, &nw) == 0 && nh == 518 && nw == 784);
    CHECK(orfeas_depth_input_size(20000, 10, &nh, &nw) == ORFEAS_EINVAL);
    CHECK(orfeas_depth_infer_bytes(20000, 10, ORFEAS_DEPTH_FP32) == 0);
}

/* Batched = alone, bit for bit. */
static void test_run_batch(orfeas_depth_model *const models[3])
{
    /* A batch runs one GEMM per image of the single run's shape, so this
     * holds on every OpenBLAS kernel (tests/blas.cmake runs it on Prescott too);
     * it asks of OpenBLAS only that the same call gives the same bytes. */
    static const int hw[][2] = {{14, 14}, {28, 28}, {126, 126}, {196, 280}};
    for (int p = ORFEAS_DEPTH_FP32; p <= ORFEAS_DEPTH_INT8; p += 2)
        for (int s = 0; s < 4; s++) {
            int h = hw[s][0], w = hw[s][1], b = 3;
            size_t n = (size_t)h * w;
            float *x = input(100 + s, b, h, w), *batched = malloc(b * n * sizeof(float)),
                  *alone = malloc(n * sizeof(float));
            REQUIRE(batched && alone);
            REQUIRE(orfeas_depth_run_batch(models[p], x, b, h, w, batched) == 0);
            for (int i = 0; i < b; i++) {
                REQUIRE(orfeas_depth_run(models[p], x + (size_t)i * 3 * n, h, w, alone) == 0);
                CHECKF(memcmp(alone, batched + (size_t)i * n, n * sizeof(float)) == 0,
                       "p%d %dx%d image %d differs batched", p, h, w, i);
            }
            free(x);
            free(batched);
            free(alone);
        }
    float dummy[4] = {0};
    CHECK(orfeas_depth_run_batch(models[0], dummy, 0, 14, 14, dummy) == ORFEAS_EINVAL);
    CHECK(orfeas_depth_run_batch(models[0], dummy, 33, 14, 14, dummy) == ORFEAS_EINVAL);
}

typedef struct submit {
    const orfeas_depth_model *m;
    const float *x;
    int h, w, rc;
    float *out;
    /* image form */
    const uint8_t *px;
    uint32_t iw, ih;
} submit;

static void *submit_main(void *arg)
{
    submit *s = arg;
    s->rc = s->px ? orfeas_depth_infer_rgba(s->m, s->px, s->iw, s->ih, (size_t)s->iw * 4, s->out)
                  : orfeas_depth_run_batched(s->m, s->x, s->h, s->w, s->out);
    return NULL;
}

static void run_threads(submit *s, int n)
{
    pthread_t t[16];
    for (int i = 0; i < n; i++)
        REQUIRE(pthread_create(&t[i], NULL, submit_main, &s[i]) == 0);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static void test_batcher(orfeas_depth_model *m)
{
    /* Three inputs of each of two sizes, six threads at once; groups of
     * three with a long window: each size fills its group and starts at
     * once, so exactly two passes of three. */
    enum { N = 6 };
    static const int hw[2][2] = {{126, 126}, {140, 182}};
    float *x[N], *ref[N], *out[N];
    submit s[N];
    for (int i = 0; i < N; i++) {
        int h = hw[i % 2][0], w = hw[i % 2][1];
        x[i] = input(500 + i, 1, h, w);
        ref[i] = malloc((size_t)h * w * sizeof(float));
        out[i] = malloc((size_t)h * w * sizeof(float));
        REQUIRE(ref[i] && out[i]);
        REQUIRE(orfeas_depth_run(m, x[i], h, w, ref[i]) == 0);
        s[i] = (submit){.m = m, .x = x[i], .h = h, .w = w, .out = out[i], .rc = -1};
    }
    REQUIRE(orfeas_depth_set_batching(m, 3, 10000) == 0);
    run_threads(s, N);
    orfeas_depth_batch_stats st;
    orfeas_depth_batch_stats_get(m, &st);
    printf("batcher: %llu passes for %llu images, largest %u\n", (unsigned long long)st.runs,
           (unsigned long long)st.images, st.largest);
    CHECK(st.images == N && st.runs == 2 && st.largest == 3);
    for (int i = 0; i < N; i++) {
        CHECK(s[i].rc == 0);
        CHECKF(memcmp(out[i], ref[i], (size_t)s[i].h * s[i].w * sizeof(float)) == 0,
               "thread %d: not its own image's result", i);
    }

    /* A short window, groups up to 4: however the threads meet, each gets
     * its own result and passes never mix sizes (checked by the results:
     * a mixed pass would be refused or wrong). */
    REQUIRE(orfeas_depth_set_batching(m, 4, 2) == 0);
    for (int i = 0; i < N; i++)
        memset(out[i], 0, (size_t)s[i].h * s[i].w * sizeof(float));
    run_threads(s, N);
    orfeas_depth_batch_stats st2;
    orfeas_depth_batch_stats_get(m, &st2);
    CHECK(st2.images == 2 * N && st2.runs > st.runs && st2.runs <= st.runs + N);
    for (int i = 0; i < N; i++)
        CHECK(s[i].rc == 0 && memcmp(out[i], ref[i], (size_t)s[i].h * s[i].w * sizeof(float)) == 0);

    /* Invalid sizes are refused before joining anything. */
    float dummy[4];
    CHECK(orfeas_depth_run_batched(m, dummy, 13, 14, dummy) == ORFEAS_EINVAL);
    CHECK(orfeas_depth_set_batching(m, 0, 1) == ORFEAS_EINVAL);
    for (int i = 0; i < N; i++) {
        free(x[i]);
        free(ref[i]);
        free(out[i]);
    }
}

/* Two images of different pixel sizes with the same network input (both
 * 518 x 518) share a pass through orfeas_depth_infer_rgba. */
static void test_infer_batched(void)
{
    orfeas_depth_model *m;
    REQUIRE(orfeas_depth_load_random(42, ORFEAS_DEPTH_INT8, &m) == 0);
    static const uint32_t dims[2] = {40, 90};
    uint8_t *px[2];
    float *ref[2], *out[2];
    submit s[2];
    for (int i = 0; i < 2; i++) {
        uint32_t d = dims[i];
        px[i] = image(d, d, 77 + i);
        ref[i] = malloc((size_t)d * d * sizeof(float));
        out[i] = malloc((size_t)d * d * sizeof(float));
        REQUIRE(ref[i] && out[i]);
        REQUIRE(orfeas_depth_infer_rgba(m, px[i], d, d, (size_t)d * 4, ref[i]) == 0);
        s[i] = (submit){.m = m, .px = px[i], .iw = d, .ih = d, .out = out[i], .rc = -1};
    }
    REQUIRE(orfeas_depth_set_batching(m, 2, 10000) == 0);
    run_threads(s, 2);
    orfeas_depth_batch_stats st;
    orfeas_depth_batch_stats_get(m, &st);
    CHECK(st.runs == 1 && st.images == 2 && st.largest == 2);
    for (int i = 0; i < 2; i++) {
        CHECK(s[i].rc == 0);
        CHECK(memcmp(out[i], ref[i], (size_t)dims[i] * dims[i] * sizeof(float)) == 0);
        free(px[i]);
        free(ref[i]);
        free(out[i]);
    }
    orfeas_depth_free(m);
}

int main(void)
{
    orfeas_depth_set_threads(2);
    orfeas_depth_model *models[3];
    for (int p = ORFEAS_DEPTH_FP32; p <= ORFEAS_DEPTH_INT8; p++)
        REQUIRE(orfeas_depth_load_random(42, (orfeas_depth_precision)p, &models[p]) == 0);
    test_run_batch(models);
    test_batcher(models[ORFEAS_DEPTH_FP32]);
    test_infer_batched();
    test_activation_estimate(models);
    test_infer_estimate(models[ORFEAS_DEPTH_FP32]);
    for (int p = 0; p < 3; p++)
        orfeas_depth_free(models[p]);
    return testutil_finish("test_nn_batch");
}
