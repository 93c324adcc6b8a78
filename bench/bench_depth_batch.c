/* Depth Anything V2 Small on the CPU, batched: for fp32/fp16/int8, 1 and 2
 * OpenBLAS threads and batches of 1, 2 and 4 images of one size, the ms per
 * image and images/s of orfeas_depth_run_batch, the resident weights and
 * the activation estimate of the pass (orfeas_depth_activation_bytes) with
 * the peak the nn runtime's counting allocator measured. For comparison,
 * the "2x1 conc" rows run two single-image passes at once on two threads
 * (what two server workers do without batching).
 * usage: bench_depth_batch [--weights FILE] [--size N] [--reps R] [--batches 1,2,4]
 * Without --weights it uses the seeded test weights (the speed is the same). */
#include "orfeas/blas.h"
#include "orfeas/depth.h"

#include "nn/tensor.h"
#include "nn/weights.h"

#include <math.h>
#include <pthread.h>
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

typedef struct single {
    const orfeas_depth_model *m;
    const float *x;
    float *out;
    int size, rc;
} single;

static void *single_main(void *arg)
{
    single *s = arg;
    s->rc = orfeas_depth_run(s->m, s->x, s->size, s->size, s->out);
    return NULL;
}

int main(int argc, char **argv)
{
    orfeas_blas_select(argv); /* the kernels orfeas runs with */
    const char *weights = NULL;
    int size = 518, reps = 1, batches[8] = {1, 2, 4}, nb = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--weights") == 0) {
            weights = argv[i + 1];
        } else if (strcmp(argv[i], "--size") == 0) {
            size = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--reps") == 0) {
            reps = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--batches") == 0) {
            nb = 0;
            for (char *p = argv[i + 1]; *p && nb < 8;) {
                batches[nb++] = (int)strtol(p, &p, 10);
                if (*p == ',') p++;
            }
        }
    }
    int max_b = 0;
    for (int i = 0; i < nb; i++)
        max_b = batches[i] > max_b ? batches[i] : max_b;
    if (size < 14 || size % 14 || reps < 1 || max_b < 1 || max_b > ORFEAS_DEPTH_MAX_BATCH) {
        fprintf(stderr, "usage: bench_depth_batch [--weights FILE] [--size N (multiple of 14)] "
                        "[--reps R] [--batches 1,2,4]\n");
        return 2;
    }
    size_t n = (size_t)size * size;
    float *x = malloc((size_t)max_b * 3 * n * sizeof(float)),
          *out = malloc((size_t)max_b * n * sizeof(float)), *ref = malloc(n * sizeof(float));
    if (!x || !out || !ref) return 1;
    uint64_t st = 7;
    for (size_t i = 0; i < (size_t)max_b * 3 * n; i++)
        x[i] = (float)(orfeas_nn_splitmix_signed(&st) * 2.0);
    printf("Depth Anything V2 Small, batches of %dx%d inputs, %s weights, best of %d rounds\n",
           size, size, weights ? weights : "seeded random", reps);
    orfeas_depth_model *models[3];
    for (int p = ORFEAS_DEPTH_FP32; p <= ORFEAS_DEPTH_INT8; p++) {
        int rc = weights ? orfeas_depth_load(weights, (orfeas_depth_precision)p, &models[p])
                         : orfeas_depth_load_random(42, (orfeas_depth_precision)p, &models[p]);
        if (rc) {
            fprintf(stderr, "bench_depth_batch: cannot load the weights (%d)\n", rc);
            return 1;
        }
    }
    /* best[p][threads-1][column]: the batches, then the concurrent pair.
     * The rounds are the outer loop, so that a burst of load from other
     * processes hits one round of every cell rather than every round of a
     * few cells. */
    double best[3][2][9];
    size_t peak[3][2][8] = {{{0}}};
    for (int p = 0; p < 3; p++)
        for (int t = 0; t < 2; t++)
            for (int c = 0; c <= nb; c++)
                best[p][t][c] = INFINITY;
    for (int r = 0; r < reps; r++)
        for (int p = ORFEAS_DEPTH_FP32; p <= ORFEAS_DEPTH_INT8; p++)
            for (int threads = 1; threads <= 2; threads++) {
                const orfeas_depth_model *m = models[p];
                orfeas_depth_set_threads(threads);
                /* (OpenBLAS may round differently with another thread count.) */
                if (r == 0 && orfeas_depth_run(m, x, size, size, ref)) return 1;
                for (int bi = 0; bi < nb; bi++) {
                    int b = batches[bi];
                    size_t live = orfeas_nn_alloc_live();
                    orfeas_nn_alloc_reset_peak();
                    double t0 = now_s();
                    if (orfeas_depth_run_batch(m, x, b, size, size, out) != 0) return 1;
                    best[p][threads - 1][bi] = fmin(best[p][threads - 1][bi], now_s() - t0);
                    peak[p][threads - 1][bi] = orfeas_nn_alloc_peak() - live;
                    /* Image 0 of the batch is the reference input: same bits. */
                    if (r == 0 && memcmp(out, ref, n * sizeof(float)) != 0) {
                        fprintf(stderr, "bench_depth_batch: batch %d differs from a single run\n",
                                b);
                        return 1;
                    }
                }
                /* Two single-image passes at once, on two threads. */
                single s[2];
                pthread_t t[2];
                double t0 = now_s();
                for (int i = 0; i < 2; i++) {
                    s[i] = (single){m, x + (size_t)i * 3 * n, out + (size_t)i * n, size, -1};
                    pthread_create(&t[i], NULL, single_main, &s[i]);
                }
                for (int i = 0; i < 2; i++)
                    pthread_join(t[i], NULL);
                if (s[0].rc || s[1].rc) return 1;
                best[p][threads - 1][nb] = fmin(best[p][threads - 1][nb], now_s() - t0);
            }
    printf("%-5s %7s %8s %10s %9s %8s %12s %13s %13s\n", "prec", "threads", "batch", "ms/image",
           "images/s", "vs b=1", "weights MiB", "estimate MiB", "measured MiB");
    for (int p = ORFEAS_DEPTH_FP32; p <= ORFEAS_DEPTH_INT8; p++)
        for (int t = 0; t < 2; t++) {
            double one = batches[0] / best[p][t][0];
            for (int c = 0; c <= nb; c++) {
                int b = c < nb ? batches[c] : 2;
                double ips = b / best[p][t][c];
                char label[16];
                snprintf(label, sizeof label, c < nb ? "%d" : "2x1 conc", b);
                printf("%-5s %7d %8s %10.0f %9.3f %8.2f %12.1f", orfeas_depth_precision_name(p),
                       t + 1, label, best[p][t][c] * 1e3 / b, ips, ips / one,
                       orfeas_depth_resident_bytes(models[p]) / 1048576.0);
                if (c < nb)
                    printf(" %13.1f %13.1f\n",
                           orfeas_depth_activation_bytes(size, size, b, p) / 1048576.0,
                           peak[p][t][c] / 1048576.0);
                else
                    printf("\n");
            }
        }
    for (int p = 0; p < 3; p++)
        orfeas_depth_free(models[p]);
    free(x);
    free(out);
    free(ref);
    return 0;
}
