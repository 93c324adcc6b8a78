/* Foreground segmentation benchmark: every test photo, median of 5 runs, the
 * confidence, the foreground share and the IoU where a ground-truth matte
 * exists (ms: process CPU time). With ORFEAS_BENCH_MASKS=dir set, the masks are written there as
 * PGM so they can be looked at. */
#include "orfeas/image.h"
#include "shape/segment.h"
#include "testdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 5

/* CPU time of this process: the machine is shared, so wall time is noisy. */
static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int load(const char *name, orfeas_image *img)
{
    char path[4096];
    testdata_image(name, path, sizeof path);
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = orfeas_read_file(path, 0, &data, &size);
    if (rc) return rc;
    rc = orfeas_image_decode(data, size, NULL, ORFEAS_PIXELS_RGBA8, img);
    free(data);
    return rc;
}

int main(void)
{
    static const char *const images[][2] = {
        {"plant.jpg", "plant_matte.png"},
        {"apple.jpg", NULL},
        {"orange.jpg", NULL},
        {"horse.png", NULL},
        {"coffee.png", NULL},
        {"rocket.jpg", NULL},
        {"astronaut.png", NULL},
        {"chelsea.png", NULL},
        {"camera.png", NULL},
        {"opencv-logo.png", NULL},
    };
    if (testdata_check_images(stderr, "bench_segment", &images[0][0],
                              sizeof images / sizeof images[0][0]))
        return 1;
    const char *dump = getenv("ORFEAS_BENCH_MASKS");
    printf("%-16s %9s %8s %6s %6s %6s\n", "image", "size", "ms", "conf", "fg", "IoU");
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++) {
        orfeas_image img;
        if (load(images[i][0], &img)) {
            printf("%-16s (cannot load)\n", images[i][0]);
            continue;
        }
        size_t n = (size_t)img.width * img.height;
        uint8_t *mask = malloc(n);
        if (!mask) return 1;
        double ms[RUNS], conf = 0;
        int rc = 0;
        for (int r = 0; r < RUNS && !rc; r++) {
            double t0 = now_ms();
            rc = orfeas_segment_foreground(img.pixels, img.width, img.height, img.stride, NULL,
                                           NULL, mask, &conf);
            ms[r] = now_ms() - t0;
        }
        if (rc) {
            printf("%-16s error %d\n", images[i][0], rc);
            free(mask);
            orfeas_image_free(&img);
            continue;
        }
        qsort(ms, RUNS, sizeof ms[0], cmp_double);
        size_t fg = 0;
        for (size_t p = 0; p < n; p++)
            fg += mask[p] != 0;
        char iou_text[16] = "-";
        orfeas_image matte;
        if (images[i][1] && load(images[i][1], &matte) == 0) {
            size_t inter = 0, uni = 0;
            for (uint32_t y = 0; y < img.height && y < matte.height; y++)
                for (uint32_t x = 0; x < img.width && x < matte.width; x++) {
                    int truth = matte.pixels[y * matte.stride + 4 * x] >= 128;
                    int got = mask[(size_t)y * img.width + x] != 0;
                    inter += truth && got;
                    uni += truth || got;
                }
            snprintf(iou_text, sizeof iou_text, "%.3f", uni ? (double)inter / uni : 0.0);
            orfeas_image_free(&matte);
        }
        char size_text[32];
        snprintf(size_text, sizeof size_text, "%ux%u", img.width, img.height);
        printf("%-16s %9s %8.1f %6.2f %6.3f %6s\n", images[i][0], size_text, ms[RUNS / 2], conf,
               (double)fg / n, iou_text);
        if (dump) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s.pgm", dump, images[i][0]);
            FILE *f = fopen(path, "wb");
            if (f) {
                fprintf(f, "P5\n%u %u\n255\n", img.width, img.height);
                fwrite(mask, 1, n, f);
                fclose(f);
            }
        }
        free(mask);
        orfeas_image_free(&img);
    }
    return 0;
}
