/* The engine on devices through the VRAM manager: estimates cover what jobs
 * really hold, precision changes real memory, many jobs share a small card
 * without running out, and an out-of-memory fails cleanly with the
 * accounting back at idle. */
#include "testutil.h"

#include "orfeas/orfeas.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *load(const char *name, size_t *size)
{
    uint8_t *data;
    char path[256];
    snprintf(path, sizeof path, "images/%s", name);
    REQUIRE(orfeas_read_file(testutil_data(path), 0, &data, size) == 0);
    return data;
}

static orfeas_vram *open_vram(const char *spec, orfeas_device **dev)
{
    char why[256];
    int err = orfeas_device_open(spec, dev, why, sizeof why);
    REQUIRE(err == 0);
    orfeas_vram_config config;
    orfeas_vram_config_init(&config);
    config.monitor_interval_s = -1;
    orfeas_vram *vram;
    REQUIRE(orfeas_vram_create(*dev, &config, &vram) == 0);
    return vram;
}

static void expect_idle(orfeas_vram *vram, const char *what)
{
    orfeas_vram_stats st;
    REQUIRE(orfeas_vram_stats_get(vram, &st) == 0);
    CHECKF(st.allocated_bytes == 0, "%s: %llu bytes still allocated", what,
           (unsigned long long)st.allocated_bytes);
    CHECKF(st.reserved_bytes == 0 && st.active_reservations == 0, "%s: reservations left", what);
}

static int run(orfeas_vram *vram, const uint8_t *data, size_t size, const char *mode, int quality,
               const char *precision, orfeas_generate_stats *st)
{
    orfeas_params p;
    orfeas_params_init(&p);
    char err[128];
    orfeas_params_set(&p, "mode", mode, err, sizeof err);
    orfeas_params_set(&p, "precision", precision, err, sizeof err);
    p.quality = quality;
    orfeas_input in = {.image = data, .image_size = size};
    orfeas_generate_options opts = {.vram = vram};
    orfeas_mesh mesh;
    int rc = orfeas_generate(&in, &p, &opts, &mesh, st);
    if (rc == 0) CHECK(orfeas_mesh_report_ok(&st->report));
    orfeas_mesh_free(&mesh);
    return rc;
}

/* The reservation must cover the most the job ever holds. */
static void test_estimates_cover_peaks(void)
{
    orfeas_device *dev;
    orfeas_vram *vram = open_vram("sim:8GiB", &dev);
    const char *images[] = {"apple.jpg", "opencv-logo.png", "coffee.png"};
    const char *modes[] = {"inflate", "relief", "lithophane"};
    const char *precisions[] = {"fp32", "fp16", "int8"};
    for (int i = 0; i < 3; i++) {
        size_t size;
        uint8_t *data = load(images[i], &size);
        for (int m = 0; m < 3; m++)
            for (int q = 2; q <= 8; q += 3) {
                orfeas_generate_stats st;
                int rc = run(vram, data, size, modes[m], q, precisions[(i + m + q) % 3], &st);
                CHECKF(rc == 0, "%s %s q%d: %s", images[i], modes[m], q, orfeas_strerror(rc));
                CHECKF(st.device_peak_bytes > 0 && st.device_peak_bytes <= st.device_estimate_bytes,
                       "%s %s q%d: peak %llu > estimate %llu", images[i], modes[m], q,
                       (unsigned long long)st.device_peak_bytes,
                       (unsigned long long)st.device_estimate_bytes);
            }
        free(data);
    }
    expect_idle(vram, "after the matrix");
    orfeas_vram_destroy(vram);
    orfeas_device_close(dev);
}

/* fp32 > fp16 > int8 in what is reserved and what is really held. */
static void test_precision_changes_memory(void)
{
    orfeas_device *dev;
    orfeas_vram *vram = open_vram("sim:8GiB", &dev);
    size_t size;
    uint8_t *data = load("plant.jpg", &size);
    orfeas_generate_stats st[3];
    const char *names[3] = {"fp32", "fp16", "int8"};
    for (int k = 0; k < 3; k++) {
        CHECK(run(vram, data, size, "relief", 7, names[k], &st[k]) == 0);
        CHECK(st[k].precision == (orfeas_precision)(ORFEAS_PRECISION_FP32 + k));
        printf("plant relief q7 %s: reserved %.2f MiB, peak %.2f MiB\n", names[k],
               st[k].device_estimate_bytes / 1048576.0, st[k].device_peak_bytes / 1048576.0);
    }
    CHECK(st[0].device_estimate_bytes > st[1].device_estimate_bytes);
    CHECK(st[1].device_estimate_bytes > st[2].device_estimate_bytes);
    CHECK(st[0].device_peak_bytes > st[1].device_peak_bytes);
    CHECK(st[1].device_peak_bytes > st[2].device_peak_bytes);
    free(data);
    expect_idle(vram, "precision runs");
    orfeas_vram_destroy(vram);
    orfeas_device_close(dev);
}

typedef struct worker {
    orfeas_vram *vram;
    const uint8_t *data;
    size_t size;
    int rc;
    orfeas_generate_stats st;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    w->rc = run(w->vram, w->data, w->size, "auto", 10, "auto", &w->st);
    return NULL;
}

/* 16 quality-10 jobs at once on a card that holds only a few: they wait or
 * drop precision, and none runs out of memory. */
static void test_many_jobs_small_card(void)
{
    enum { JOBS = 16 };
    orfeas_device *dev;
    orfeas_vram *vram = open_vram("sim:512MiB", &dev);
    size_t sizes[2];
    uint8_t *data[2] = {load("horse.png", &sizes[0]), load("orange.jpg", &sizes[1])};
    worker workers[JOBS];
    pthread_t threads[JOBS];
    for (int i = 0; i < JOBS; i++) {
        workers[i] = (worker){.vram = vram, .data = data[i % 2], .size = sizes[i % 2]};
        REQUIRE(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    int ok = 0, lowered = 0;
    for (int i = 0; i < JOBS; i++) {
        pthread_join(threads[i], NULL);
        ok += workers[i].rc == 0;
        lowered += workers[i].st.precision != ORFEAS_PRECISION_FP32;
        CHECKF(workers[i].rc == 0, "job %d: %s", i, orfeas_strerror(workers[i].rc));
        CHECK(workers[i].st.oom_retries == 0);
    }
    orfeas_vram_stats st;
    orfeas_vram_stats_get(vram, &st);
    printf("16 quality-10 jobs on sim:512MiB: %d finished, %d below fp32, %llu OOM events\n", ok,
           lowered, (unsigned long long)st.oom_events);
    CHECK(st.oom_events == 0);
    expect_idle(vram, "16 jobs");
    free(data[0]), free(data[1]);
    orfeas_vram_destroy(vram);
    orfeas_device_close(dev);
}

/* An allocation failure in the middle of a job: one retry one precision
 * lower, then gpu_out_of_memory, and nothing left allocated. */
static void test_injected_oom(void)
{
    orfeas_device *dev;
    orfeas_vram *vram = open_vram("sim:4GiB,oom-after=4", &dev);
    size_t size;
    uint8_t *data = load("apple.jpg", &size);
    orfeas_generate_stats st;
    int rc = run(vram, data, size, "inflate", 6, "fp32", &st);
    CHECKF(rc == ORFEAS_EGPUOOM, "got %s", orfeas_strerror(rc));
    CHECK(st.oom_retries == 1);
    orfeas_vram_stats vs;
    orfeas_vram_stats_get(vram, &vs);
    CHECK(vs.oom_events >= 1);
    expect_idle(vram, "injected oom");
    orfeas_vram_destroy(vram);
    orfeas_device_close(dev);

    /* A card too small for the job even at int8 refuses it before it runs. */
    vram = open_vram("sim:24MiB", &dev);
    rc = run(vram, data, size, "inflate", 10, "auto", &st);
    CHECK(rc == ORFEAS_EGPUOOM);
    CHECK(strstr(st.error_detail, "int8") != NULL);
    expect_idle(vram, "too small");
    orfeas_vram_destroy(vram);
    orfeas_device_close(dev);
    free(data);
}

int main(void)
{
    testutil_require_data("test_engine_device", "images/apple.jpg", "images/opencv-logo.png",
                          "images/coffee.png", "images/plant.jpg", "images/horse.png",
                          "images/orange.jpg");
    test_estimates_cover_peaks();
    test_precision_changes_memory();
    test_many_jobs_small_card();
    test_injected_oom();
    return testutil_finish("test_engine_device");
}
