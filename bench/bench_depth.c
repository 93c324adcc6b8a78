/* Depth Anything V2 Small on the CPU: ms per image and images/s at
 * fp32/fp16/int8 with 1 and 2 threads, resident weight MiB per precision,
 * and each precision's error against fp32 on the same input.
 * usage: bench_depth [--weights FILE] [--size N] [--reps R]
 * Without --weights it uses the seeded test weights (the speed is the same). */
#include "orfeas/depth.h"

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

int main(int argc, char **argv)
{
    const char *weights = NULL;
    int size = 518, reps = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--weights") == 0)
            weights = argv[i + 1];
        else if (strcmp(argv[i], "--size") == 0)
            size = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[i + 1]);
    }
    if (size < 14 || size % 14 || reps < 1) {
        fprintf(stderr,
                "usage: bench_depth [--weights FILE] [--size N (multiple of 14)] [--reps R]\n");
        return 2;
    }
    size_t n = (size_t)size * size;
    float *x = malloc(3 * n * sizeof(float)), *ref = malloc(n * sizeof(float)),
          *out = malloc(n * sizeof(float));
    if (!x || !ref || !out) return 1;
    uint64_t st = 7;
    for (size_t i = 0; i < 3 * n; i++)
        x[i] = (float)(nn_splitmix_signed(&st) * 2.0);
    printf("Depth Anything V2 Small, %dx%d input, %s weights, best of %d runs\n", size, size,
           weights ? weights : "seeded random", reps);
    printf("%-5s %7s %10s %9s %12s %11s %11s %12s\n", "prec", "threads", "ms/image", "images/s",
           "weights MiB", "max abs", "mean abs", "correlation");
    for (int p = ORFEAS_DEPTH_FP32; p <= ORFEAS_DEPTH_INT8; p++) {
        orfeas_depth_model *m;
        int rc = weights ? orfeas_depth_load(weights, (orfeas_depth_precision)p, &m)
                         : orfeas_depth_load_random(42, (orfeas_depth_precision)p, &m);
        if (rc) {
            fprintf(stderr, "bench_depth: cannot load the weights (%d)\n", rc);
            return 1;
        }
        for (int threads = 1; threads <= 2; threads++) {
            orfeas_depth_set_threads(threads);
            double best = INFINITY;
            for (int r = 0; r < reps; r++) {
                double t0 = now_s();
                if (orfeas_depth_run(m, x, size, size, out) != 0) return 1;
                best = fmin(best, now_s() - t0);
            }
            if (p == ORFEAS_DEPTH_FP32 && threads == 1) memcpy(ref, out, n * sizeof(float));
            double mx = 0, mean = 0, sa = 0, sr = 0, saa = 0, srr = 0, sar = 0;
            for (size_t i = 0; i < n; i++) {
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
            printf("%-5s %7d %10.0f %9.2f %12.1f %11.3g %11.3g %12.7f\n",
                   orfeas_depth_precision_name((orfeas_depth_precision)p), threads, best * 1e3,
                   1.0 / best, orfeas_depth_resident_bytes(m) / 1048576.0, mx, mean / n, corr);
            fflush(stdout);
        }
        orfeas_depth_free(m);
    }
    free(x);
    free(ref);
    free(out);
    return 0;
}
