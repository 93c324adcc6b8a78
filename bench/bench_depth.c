/* Depth Anything V2 Small: ms per image and images/s at fp32/fp16/int8 on
 * the CPU (1 and 2 threads, or --threads N) and/or on CUDA (src/nn/cuda),
 * resident weight MiB per precision, and each row's error against the
 * first row (fp32 on the first device) on the same input.
 * usage: bench_depth [--weights FILE] [--size N] [--reps R]
 *                    [--device cpu|cuda|both] [--threads N]
 * Without --weights it uses the seeded test weights (the speed is the same).
 * On CUDA the upload and one warm-up run are not timed; each timed run
 * includes the input's upload and the output's download. */
#include "orfeas/blas.h"
#include "orfeas/depth.h"
#include "orfeas/error.h"

#include "nn/depth_cuda.h"
#include "nn/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct bench {
    int size, reps;
    size_t n;
    const float *x;
    float *ref, *out;
    int have_ref;
} bench;

/* Prints one row: the best of reps, the error against the reference (the
 * first row's output, which it becomes when there is none yet). */
static void row(bench *b, orfeas_depth_precision p, const char *device, const char *threads,
                double best, size_t bytes)
{
    if (!b->have_ref) {
        memcpy(b->ref, b->out, b->n * sizeof(float));
        b->have_ref = 1;
    }
    size_t n = b->n;
    double mx = 0, mean = 0, sa = 0, sr = 0, saa = 0, srr = 0, sar = 0;
    for (size_t i = 0; i < n; i++) {
        const float *out = b->out, *ref = b->ref;
        double d = fabs((double)out[i] - ref[i]);
        mx = fmax(mx, d);
        mean += d;
        sa += out[i];
        sr += ref[i];
        saa += (double)out[i] * out[i];
        srr += (double)ref[i] * ref[i];
        sar += (double)out[i] * ref[i];
    }
    double corr = (sar / n - sa / n * sr / n) /
                  sqrt((saa / n - sa / n * sa / n) * (srr / n - sr / n * sr / n));
    printf("%-5s %-6s %7s %10.1f %9.2f %12.1f %11.3g %11.3g %12.7f\n",
           orfeas_depth_precision_name(p), device, threads, best * 1e3, 1.0 / best,
           bytes / 1048576.0, mx, mean / n, corr);
    fflush(stdout);
}

static int bench_cpu(bench *b, const orfeas_depth_model *m, int threads)
{
    orfeas_depth_set_threads(threads);
    double best = INFINITY;
    for (int r = 0; r < b->reps; r++) {
        double t0 = now_s();
        if (orfeas_depth_run(m, b->x, b->size, b->size, b->out) != 0) return 1;
        best = fmin(best, now_s() - t0);
    }
    char t[16];
    snprintf(t, sizeof t, "%d", threads);
    row(b, orfeas_depth_model_precision(m), "cpu", t, best, orfeas_depth_resident_bytes(m));
    return 0;
}

static int bench_cuda(bench *b, const orfeas_depth_model *m)
{
    nn_depth_cuda *d;
    double t0 = now_s();
    int rc = orfeas_nn_depth_cuda_upload(m, 0, &d);
    if (rc) {
        fprintf(stderr, "bench_depth: cuda upload failed: %s\n", orfeas_strerror(rc));
        return 1;
    }
    double upload = now_s() - t0;
    /* Warm-up: the pool's first blocks, cuBLAS's kernels. */
    t0 = now_s();
    rc = orfeas_nn_depth_cuda_run(d, b->x, b->size, b->size, b->out);
    double first = now_s() - t0;
    double best = INFINITY;
    for (int r = 0; r < b->reps && !rc; r++) {
        t0 = now_s();
        rc = orfeas_nn_depth_cuda_run(d, b->x, b->size, b->size, b->out);
        best = fmin(best, now_s() - t0);
    }
    if (rc) {
        fprintf(stderr, "bench_depth: cuda run failed: %s\n", orfeas_strerror(rc));
        orfeas_nn_depth_cuda_free(d);
        return 1;
    }
    row(b, orfeas_depth_model_precision(m), "cuda", "-", best,
        orfeas_nn_depth_cuda_resident_bytes(d));
    printf("      (cuda: upload %.0f ms, first run %.1f ms, activations %.1f MiB)\n", upload * 1e3,
           first * 1e3, orfeas_nn_depth_cuda_last_run_bytes(d) / 1048576.0);
    orfeas_nn_depth_cuda_free(d);
    return 0;
}

int main(int argc, char **argv)
{
    orfeas_blas_select(argv); /* the kernels orfeas runs with */
    const char *weights = NULL, *device = "cpu";
    int size = 518, reps = 3, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--weights") == 0)
            weights = argv[i + 1];
        else if (strcmp(argv[i], "--size") == 0)
            size = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--device") == 0)
            device = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
    }
    int cpu = strcmp(device, "cpu") == 0 || strcmp(device, "both") == 0;
    int cuda = strcmp(device, "cuda") == 0 || strcmp(device, "both") == 0;
    if (size < 14 || size % 14 || reps < 1 || threads < 0 || (!cpu && !cuda)) {
        fprintf(stderr, "usage: bench_depth [--weights FILE] [--size N (multiple of 14)] "
                        "[--reps R] [--device cpu|cuda|both] [--threads N]\n");
        return 2;
    }
    if (cuda) {
        char why[256];
        if (!orfeas_nn_depth_cuda_available(why, sizeof why)) {
            fprintf(stderr, "bench_depth: cuda not available: %s\n", why);
            return 1;
        }
    }
    size_t n = (size_t)size * size;
    float *x = malloc(3 * n * sizeof(float)), *ref = malloc(n * sizeof(float)),
          *out = malloc(n * sizeof(float));
    if (!x || !ref || !out) return 1;
    uint64_t st = 7;
    for (size_t i = 0; i < 3 * n; i++)
        x[i] = (float)(orfeas_nn_splitmix_signed(&st) * 2.0);
    bench b = {size, reps, n, x, ref, out, 0};
    printf("Depth Anything V2 Small, %dx%d input, %s weights, best of %d runs\n", size, size,
           weights ? weights : "seeded random", reps);
    printf("%-5s %-6s %7s %10s %9s %12s %11s %11s %12s\n", "prec", "device", "threads", "ms/image",
           "images/s", "weights MiB", "max abs", "mean abs", "correlation");
    for (int p = ORFEAS_DEPTH_FP32; p <= ORFEAS_DEPTH_INT8; p++) {
        orfeas_depth_model *m;
        int rc = weights ? orfeas_depth_load(weights, (orfeas_depth_precision)p, &m)
                         : orfeas_depth_load_random(42, (orfeas_depth_precision)p, &m);
        if (rc) {
            fprintf(stderr, "bench_depth: cannot load the weights (%d)\n", rc);
            return 1;
        }
        if (cpu) {
            if (threads) {
                rc = bench_cpu(&b, m, threads);
            } else {
                for (int t = 1; t <= 2 && !rc; t++)
                    rc = bench_cpu(&b, m, t);
            }
        }
        if (cuda && !rc) rc = bench_cuda(&b, m);
        orfeas_depth_free(m);
        if (rc) return 1;
    }
    free(x);
    free(ref);
    free(out);
    return 0;
}
