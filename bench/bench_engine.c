/* End-to-end engine benchmark: per quality, the median milliseconds of every
 * stage and of the whole run over the test photos, the triangles, the GLB
 * size and the peak memory. Each quality runs in its own child process so
 * its peak RSS is its own.
 *
 * usage: bench_engine [--runs N] [--qualities 1,4,7,10] [--mode MODE]
 *                     [--devices none,cpu,sim:24GiB,cuda] [IMAGES...]
 * "none" runs without a device (host memory, no VRAM manager). */
#include "orfeas/blas.h"
#include "orfeas/orfeas.h"
#include "testdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const default_images[] = {
    "apple.jpg", "astronaut.png",   "camera.png", "chelsea.png", "coffee.png",
    "horse.png", "opencv-logo.png", "orange.jpg", "plant.jpg",   "rocket.jpg"};
#define DEFAULT_IMAGE_COUNT (sizeof default_images / sizeof default_images[0])
#define MAX_IMAGES 64
#define MAX_RUNS 31

typedef struct result_row {
    double stage_ms[ORFEAS_STAGE_COUNT_];
    double total_ms;
    double triangles;
    double glb_bytes;
    long peak_rss_kb;
    int failures;
} result_row;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Runs one quality over every image; the medians go to *row. */
static void bench_quality(int quality, const char *mode, const char *device, char **paths,
                          int count, int runs, result_row *row)
{
    memset(row, 0, sizeof *row);
    orfeas_device *dev = NULL;
    orfeas_vram *vram = NULL;
    if (strcmp(device, "none") != 0) {
        char why[256];
        orfeas_vram_config config;
        orfeas_vram_config_init(&config);
        config.monitor_interval_s = -1;
        if (orfeas_device_open(device, &dev, why, sizeof why) ||
            orfeas_vram_create(dev, &config, &vram)) {
            row->failures = count;
            orfeas_device_close(dev);
            return;
        }
    }
    static double per_image[ORFEAS_STAGE_COUNT_ + 3][MAX_IMAGES];
    int done = 0;
    for (int i = 0; i < count; i++) {
        uint8_t *data;
        size_t size;
        if (orfeas_read_file(paths[i], 0, &data, &size)) {
            row->failures++;
            continue;
        }
        orfeas_params params;
        orfeas_params_init(&params);
        params.quality = quality;
        char err[128];
        orfeas_params_set(&params, "mode", mode, err, sizeof err);
        orfeas_input input = {.image = data, .image_size = size};
        orfeas_generate_options opts = {.vram = vram};
        double samples[ORFEAS_STAGE_COUNT_ + 1][MAX_RUNS];
        int ok = 1;
        orfeas_mesh mesh = {0};
        for (int r = 0; r < runs && ok; r++) {
            orfeas_generate_stats st;
            orfeas_mesh_free(&mesh);
            if (orfeas_generate(&input, &params, &opts, &mesh, &st)) {
                ok = 0;
                break;
            }
            for (int s = 0; s < ORFEAS_STAGE_COUNT_; s++)
                samples[s][r] = st.stage_ms[s];
            samples[ORFEAS_STAGE_COUNT_][r] = st.total_ms;
        }
        if (ok) {
            orfeas_buffer glb = {0};
            orfeas_export(&mesh, ORFEAS_FORMAT_GLB, 1, &glb);
            for (int s = 0; s <= ORFEAS_STAGE_COUNT_; s++)
                per_image[s][done] = median(samples[s], runs);
            per_image[ORFEAS_STAGE_COUNT_ + 1][done] = mesh.triangle_count;
            per_image[ORFEAS_STAGE_COUNT_ + 2][done] = (double)glb.size;
            orfeas_buffer_free(&glb);
            done++;
        } else {
            row->failures++;
        }
        orfeas_mesh_free(&mesh);
        free(data);
    }
    if (done) {
        for (int s = 0; s < ORFEAS_STAGE_COUNT_; s++)
            row->stage_ms[s] = median(per_image[s], done);
        row->total_ms = median(per_image[ORFEAS_STAGE_COUNT_], done);
        row->triangles = median(per_image[ORFEAS_STAGE_COUNT_ + 1], done);
        row->glb_bytes = median(per_image[ORFEAS_STAGE_COUNT_ + 2], done);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    row->peak_rss_kb = ru.ru_maxrss;
    orfeas_vram_destroy(vram);
    orfeas_device_close(dev);
}

int main(int argc, char **argv)
{
    orfeas_blas_select(argv); /* the kernels orfeas runs with */
    int runs = 5;
    int qualities[10] = {1, 4, 7, 10}, quality_count = 4;
    const char *mode = "auto";
    char devices_arg[256] = "none";
    char *paths[MAX_IMAGES];
    int count = 0;
    static char storage[MAX_IMAGES][4096];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
            if (runs < 1) runs = 1;
            if (runs > MAX_RUNS) runs = MAX_RUNS;
        } else if (strcmp(argv[i], "--qualities") == 0 && i + 1 < argc) {
            quality_count = 0;
            for (char *tok = strtok(argv[++i], ","); tok && quality_count < 10;
                 tok = strtok(NULL, ","))
                qualities[quality_count++] = atoi(tok);
        } else if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc) {
            snprintf(devices_arg, sizeof devices_arg, "%s", argv[++i]);
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            mode = argv[++i];
        } else if (count < MAX_IMAGES) {
            paths[count++] = argv[i];
        }
    }
    if (count == 0) {
        if (testdata_check_images(stderr, "bench_engine", default_images, DEFAULT_IMAGE_COUNT))
            return 1;
        for (size_t i = 0; i < DEFAULT_IMAGE_COUNT; i++) {
            testdata_image(default_images[i], storage[i], sizeof storage[i]);
            paths[count++] = storage[i];
        }
    }

    printf("orfeas %s engine benchmark: %d images, mode %s, median of %d runs per image,\n"
           "then the median over the images; one thread; peak RSS of the process per quality\n\n",
           ORFEAS_ENGINE_VERSION, count, mode, runs);
    char *devices[8];
    int device_count = 0;
    for (char *tok = strtok(devices_arg, ","); tok && device_count < 8; tok = strtok(NULL, ","))
        devices[device_count++] = tok;
    printf("| device | q | long side |");
    for (int s = 0; s < ORFEAS_STAGE_COUNT_; s++)
        printf(" %10s ms |", orfeas_stage_name((orfeas_stage)s));
    printf(" total ms | triangles | GLB KiB | peak RSS MiB | failed |\n|---|---|---|");
    for (int s = 0; s <= ORFEAS_STAGE_COUNT_ + 4; s++)
        printf("---|");
    printf("\n");
    for (int dv = 0; dv < device_count; dv++)
        for (int k = 0; k < quality_count; k++) {
            int fds[2];
            if (pipe(fds)) return 1;
            pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
                result_row row;
                bench_quality(qualities[k], mode, devices[dv], paths, count, runs, &row);
                ssize_t wrote = write(fds[1], &row, sizeof row);
                _exit(wrote == (ssize_t)sizeof row ? 0 : 1);
            }
            close(fds[1]);
            result_row row;
            ssize_t got = read(fds[0], &row, sizeof row);
            close(fds[0]);
            int status = 0;
            waitpid(pid, &status, 0);
            if (got != (ssize_t)sizeof row) {
                printf("| %s | %d | child failed |\n", devices[dv], qualities[k]);
                continue;
            }
            printf("| %s | %d | %u |", devices[dv], qualities[k],
                   orfeas_quality_long_side(qualities[k]));
            for (int s = 0; s < ORFEAS_STAGE_COUNT_; s++)
                printf(" %13.1f |", row.stage_ms[s]);
            printf(" %8.1f | %9.0f | %7.0f | %12.1f | %6d |\n", row.total_ms, row.triangles,
                   row.glb_bytes / 1024, row.peak_rss_kb / 1024.0, row.failures);
            fflush(stdout);
        }
    return 0;
}
