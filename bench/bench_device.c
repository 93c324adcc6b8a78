/* Per-kernel timings of every backend in this build (cpu, sim, cuda when a
 * device answers) on the working grids of quality 4, 7 and 10 (192, 512
 * and 1536 px on the long side). Each cell is the median of several runs:
 * "kernel" with the inputs already in device memory (kernel + sync), "+xfer"
 * with the upload of the inputs and the download of the outputs. Ratios are
 * cpu time / backend time, measured in this same run.
 *   bench_device [--runs N] [--max-seconds S] */
#include "device/devmem.h"
#include "device/kernels.h"
#include "mesh/rtin.h"
#include "orfeas/device.h"
#include "orfeas/error.h"
#include "shape/inflate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    K_SMOOTH,
    K_RESIDUAL,
    K_RESTRICT,
    K_PROLONG,
    K_COARSEN,
    K_BLUR,
    K_SHRINK,
    K_ENLARGE,
    K_RTIN,
    K_SOLVE,
    K_COUNT
};
static const char *const names[K_COUNT] = {
    "mg_smooth x10", "mg_residual", "mg_restrict", "mg_prolong_add",  "mg_coarsen_interior",
    "blur s=3",      "resize 1/2",  "resize 2x",   "rtin all levels", "inflate_solve"};

typedef struct bufs {
    uint32_t w, h, cw, ch, size, levels;
    size_t n, cn, en, celln;
    /* host */
    uint8_t *in, *cin, *cells;
    float *u, *f, *r, *cf, *cu, *plane, *small, *big, *front, *back, *errors;
    /* device */
    uint8_t *d_in, *d_cin, *d_cells;
    float *d_u, *d_f, *d_r, *d_cf, *d_cu, *d_plane, *d_tmp, *d_small, *d_big, *d_front, *d_back,
        *d_errors;
} bufs;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static int failed;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        int e_ = (call);                                                                           \
        if (e_ && !failed) {                                                                       \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, orfeas_strerror(e_));    \
            failed = 1;                                                                            \
        }                                                                                          \
    } while (0)

static void *dev_alloc(orfeas_device *d, size_t bytes)
{
    void *p = NULL;
    TRY(orfeas_device_alloc(d, bytes ? bytes : 1, &p));
    return p;
}

static void put(orfeas_device *d, void *dst, const void *src, size_t bytes)
{
    TRY(orfeas_device_copy(d, dst, src, bytes, ORFEAS_COPY_HOST_TO_DEVICE));
}
static void get(orfeas_device *d, void *dst, const void *src, size_t bytes)
{
    TRY(orfeas_device_copy(d, dst, src, bytes, ORFEAS_COPY_DEVICE_TO_HOST));
}

static void make_host(bufs *b, uint32_t w, uint32_t h)
{
    memset(b, 0, sizeof *b);
    b->w = w, b->h = h, b->cw = (w + 1) / 2, b->ch = (h + 1) / 2;
    b->n = (size_t)w * h, b->cn = (size_t)b->cw * b->ch;
    uint32_t tile = 1, levels = 0;
    while (tile + 1 < w || tile + 1 < h)
        tile *= 2, levels += 2;
    if (tile < 2) tile = 2, levels = 2;
    b->size = tile + 1, b->levels = levels, b->en = (size_t)b->size * b->size;
    b->celln = (size_t)(w - 1) * (h - 1);
    b->in = xmalloc(b->n), b->cin = xmalloc(b->cn), b->cells = xmalloc(b->celln);
    b->u = xmalloc(b->n * 4), b->f = xmalloc(b->n * 4), b->r = xmalloc(b->n * 4);
    b->cf = xmalloc(b->cn * 4), b->cu = xmalloc(b->cn * 4), b->plane = xmalloc(b->n * 4);
    b->small = xmalloc(b->cn * 4), b->big = xmalloc(b->n * 16), b->front = xmalloc(b->n * 4);
    b->back = xmalloc(b->n * 4), b->errors = xmalloc(b->en * 4);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            float dx = (x + 0.5f) / w - 0.5f, dy = (y + 0.5f) / h - 0.5f;
            int inside = dx * dx + dy * dy < 0.16f;
            b->in[i] = inside && x > 0 && y > 0 && x + 1 < w && y + 1 < h;
            b->u[i] = b->plane[i] = sinf(0.01f * x) * cosf(0.013f * y);
            b->f[i] = inside ? 4.0f : 0.0f;
            b->front[i] = inside ? sqrtf(0.16f - dx * dx - dy * dy) : 0;
            b->back[i] = -0.5f * b->front[i];
            if (x + 1 < w && y + 1 < h) b->cells[(size_t)y * (w - 1) + x] = (uint8_t)inside;
        }
    orfeas_cpu_kernels.mg_coarsen_interior(NULL, b->in, w, h, b->cin, b->cw, b->ch);
}

static void make_dev(bufs *b, orfeas_device *d)
{
    b->d_in = dev_alloc(d, b->n), b->d_cin = dev_alloc(d, b->cn);
    b->d_cells = dev_alloc(d, b->celln);
    b->d_u = dev_alloc(d, b->n * 4), b->d_f = dev_alloc(d, b->n * 4);
    b->d_r = dev_alloc(d, b->n * 4), b->d_cf = dev_alloc(d, b->cn * 4);
    b->d_cu = dev_alloc(d, b->cn * 4), b->d_plane = dev_alloc(d, b->n * 4);
    b->d_tmp = dev_alloc(d, b->n * 4), b->d_small = dev_alloc(d, b->cn * 4);
    b->d_big = dev_alloc(d, b->n * 16), b->d_front = dev_alloc(d, b->n * 4);
    b->d_back = dev_alloc(d, b->n * 4), b->d_errors = dev_alloc(d, b->en * 4);
    put(d, b->d_in, b->in, b->n), put(d, b->d_cin, b->cin, b->cn);
    put(d, b->d_cells, b->cells, b->celln);
    put(d, b->d_u, b->u, b->n * 4), put(d, b->d_f, b->f, b->n * 4);
    put(d, b->d_r, b->f, b->n * 4), put(d, b->d_plane, b->plane, b->n * 4);
    put(d, b->d_front, b->front, b->n * 4), put(d, b->d_back, b->back, b->n * 4);
}

static void free_dev(bufs *b, orfeas_device *d)
{
    void *ps[] = {b->d_in,    b->d_cin, b->d_cells, b->d_u,     b->d_f,
                  b->d_r,     b->d_cf,  b->d_cu,    b->d_plane, b->d_tmp,
                  b->d_small, b->d_big, b->d_front, b->d_back,  b->d_errors};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        orfeas_device_free(d, ps[i]);
}

static void free_host(bufs *b)
{
    void *ps[] = {b->in, b->cin,   b->cells, b->u,   b->f,     b->r,    b->cf,
                  b->cu, b->plane, b->small, b->big, b->front, b->back, b->errors};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        free(ps[i]);
}

/* One run of kernel k; with xfer, its inputs go up first and outputs down. */
static void run(orfeas_device *d, bufs *b, int k, int xfer)
{
    const orfeas_kernels *K = d->iface->kernels;
    void *c = d->ctx;
    size_t fb = b->n * 4;
    switch (k) {
    case K_SMOOTH:
        if (xfer) put(d, b->d_in, b->in, b->n), put(d, b->d_u, b->u, fb), put(d, b->d_f, b->f, fb);
        TRY(K->mg_smooth(c, b->d_in, b->d_u, b->d_f, b->w, b->h, 1.0f, 10));
        if (xfer) get(d, b->u, b->d_u, fb);
        break;
    case K_RESIDUAL:
        if (xfer) put(d, b->d_in, b->in, b->n), put(d, b->d_u, b->u, fb), put(d, b->d_f, b->f, fb);
        TRY(K->mg_residual(c, b->d_in, b->d_u, b->d_f, b->d_r, b->w, b->h, 1.0f));
        if (xfer) get(d, b->r, b->d_r, fb);
        break;
    case K_RESTRICT:
        if (xfer) put(d, b->d_r, b->r, fb), put(d, b->d_cin, b->cin, b->cn);
        TRY(K->mg_restrict(c, b->d_r, b->w, b->h, b->d_cin, b->d_cf, b->d_cu, b->cw, b->ch));
        if (xfer) get(d, b->cf, b->d_cf, b->cn * 4), get(d, b->cu, b->d_cu, b->cn * 4);
        break;
    case K_PROLONG:
        if (xfer) put(d, b->d_cu, b->cu, b->cn * 4), put(d, b->d_in, b->in, b->n);
        if (xfer) put(d, b->d_u, b->u, fb);
        TRY(K->mg_prolong_add(c, b->d_cu, b->cw, b->ch, b->d_in, b->d_u, b->w, b->h));
        if (xfer) get(d, b->u, b->d_u, fb);
        break;
    case K_COARSEN:
        if (xfer) put(d, b->d_in, b->in, b->n);
        TRY(K->mg_coarsen_interior(c, b->d_in, b->w, b->h, b->d_cin, b->cw, b->ch));
        if (xfer) get(d, b->cin, b->d_cin, b->cn);
        break;
    case K_BLUR:
        if (xfer) put(d, b->d_plane, b->plane, fb);
        TRY(K->blur(c, b->d_plane, b->d_tmp, b->w, b->h, 3.0f));
        if (xfer) get(d, b->plane, b->d_plane, fb);
        break;
    case K_SHRINK:
        if (xfer) put(d, b->d_plane, b->plane, fb);
        TRY(K->resize_f32(c, b->d_plane, b->w, b->h, b->d_small, b->cw, b->ch));
        if (xfer) get(d, b->small, b->d_small, b->cn * 4);
        break;
    case K_ENLARGE:
        if (xfer) put(d, b->d_plane, b->plane, fb);
        TRY(K->resize_f32(c, b->d_plane, b->w, b->h, b->d_big, 2 * b->w, 2 * b->h));
        if (xfer) get(d, b->big, b->d_big, fb * 4);
        break;
    case K_RTIN:
        if (xfer) {
            put(d, b->d_front, b->front, fb), put(d, b->d_back, b->back, fb);
            put(d, b->d_cells, b->cells, b->celln);
        }
        memset(b->errors, 0, b->en * 4);
        put(d, b->d_errors, b->errors, b->en * 4); /* every pass starts from zeros */
        for (uint32_t level = b->levels; level-- > 0;)
            TRY(K->rtin_level(c, b->d_front, b->d_back, b->d_cells, b->w, b->h, b->size,
                              b->d_errors, level, b->levels - 1));
        if (xfer) get(d, b->errors, b->d_errors, b->en * 4);
        break;
    case K_SOLVE: {
        /* The library's solver: it uploads and downloads itself. */
        orfeas_devmem m = {.dev = d};
        TRY(orfeas_inflate_solve(&m, b->in, b->w, b->h, b->u, NULL));
        break;
    }
    }
    TRY(orfeas_device_sync(d));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_run(orfeas_device *d, bufs *b, int k, int xfer, int runs)
{
    double t[64];
    run(d, b, k, xfer); /* warm-up: pools, caches, module load */
    for (int i = 0; i < runs; i++) {
        double t0 = now();
        run(d, b, k, xfer);
        t[i] = now() - t0;
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    return t[runs / 2];
}

int main(int argc, char **argv)
{
    int runs = 5;
    double max_seconds = 240;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc)
            max_seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--runs N] [--max-seconds S]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    if (runs > 63) runs = 63;

    const char *specs[] = {"cpu", "sim:4GiB", "cuda"};
    orfeas_device *devs[3];
    const char *labels[3];
    int nd = 0;
    for (int i = 0; i < 3; i++) {
        char why[256] = "";
        orfeas_device *d = NULL;
        if (orfeas_device_open(specs[i], &d, why, sizeof why)) {
            printf("%s: not available here (%s)\n", specs[i], why);
            continue;
        }
        printf("%s: %s\n", specs[i], d->name);
        devs[nd] = d, labels[nd] = specs[i], nd++;
    }
    if (nd == 0 || devs[0]->kind != ORFEAS_DEVICE_CPU) return 1;

    static const uint32_t sizes[][3] = {{4, 192, 128}, {7, 512, 341}, {10, 1536, 1024}};
    double start = now();
    printf("\nmedian of %d runs; ratio = cpu time / this backend's time\n", runs);
    printf("%-8s %-10s %-20s %-9s %12s %8s %12s %8s\n", "quality", "grid", "kernel", "backend",
           "kernel ms", "ratio", "+xfer ms", "ratio");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        bufs host;
        make_host(&host, sizes[s][1], sizes[s][2]);
        double cpu_k[K_COUNT], cpu_x[K_COUNT];
        for (int i = 0; i < nd; i++) {
            bufs b = host; /* shares the host arrays, has its own device ones */
            make_dev(&b, devs[i]);
            for (int k = 0; k < K_COUNT && !failed; k++) {
                if (now() - start > max_seconds) {
                    printf("time limit of %.0f s reached; stopping\n", max_seconds);
                    goto out;
                }
                double tk = k == K_SOLVE ? 0 : median_run(devs[i], &b, k, 0, runs);
                double tx = median_run(devs[i], &b, k, 1, runs);
                if (k == K_SOLVE) tk = tx;
                if (i == 0) cpu_k[k] = tk, cpu_x[k] = tx;
                char grid[32];
                snprintf(grid, sizeof grid, "%ux%u", host.w, host.h);
                printf("%-8u %-10s %-20s %-9s %12.3f %8.2f %12.3f %8.2f\n", sizes[s][0], grid,
                       names[k], labels[i], tk * 1e3, cpu_k[k] / tk, tx * 1e3, cpu_x[k] / tx);
                fflush(stdout);
            }
            free_dev(&b, devs[i]);
        }
        free_host(&host);
        if (failed) break;
    }
out:
    for (int i = 0; i < nd; i++)
        orfeas_device_close(devs[i]);
    return failed;
}
