/* The Prometheus exposition: exact lines after known updates (counters,
 * cumulative buckets, _sum/_count, label escaping, gauges), and thread
 * safety. With --dump FILE it writes a rendered sample for promtool
 * (tests/test_metrics_promtool.sh). */
#include "server/metrics.h"
#include "testutil.h"

#include <pthread.h>
#include <string.h>

/* 1 when `line` is a whole line of the text. */
static int has_line(const orfeas_buffer *text, const char *line)
{
    size_t n = strlen(line);
    const char *p = (const char *)text->data, *end = p + text->size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len == n && memcmp(p, line, n) == 0) return 1;
        p += len + 1;
    }
    return 0;
}

#define CHECK_LINE(text, line) CHECKF(has_line(text, line), "missing line: %s", line)
#define CHECK_NO_LINE(text, line) CHECKF(!has_line(text, line), "unexpected line: %s", line)

static void fill(orfeas_metrics *m)
{
    orfeas_metrics_request(m, "generate", 200, 0.0005); /* first bucket */
    orfeas_metrics_request(m, "generate", 200, 0.001);  /* le is inclusive */
    orfeas_metrics_request(m, "generate", 200, 0.3);
    orfeas_metrics_request(m, "generate", 422, 2.0);
    orfeas_metrics_request(m, "generate", 200, 100.0); /* only +Inf */
    orfeas_metrics_request(m, "health", 200, 0.002);
    orfeas_metrics_request(m, "we\"ird\\route\nx", 404, 0.01);

    orfeas_generate_stats st;
    memset(&st, 0, sizeof st);
    st.stage_ms[ORFEAS_STAGE_DECODE] = 4;     /* 0.004 s -> le 0.005 */
    st.stage_ms[ORFEAS_STAGE_MESH] = 1500;    /* 1.5 s -> le 2.5 */
    st.stage_ms[ORFEAS_STAGE_DEPTH] = 200000; /* 200 s -> le 300 */
    orfeas_metrics_generation(m, &st, 0);
    orfeas_metrics_generation(m, &st, 0);
    orfeas_metrics_generation(m, &st, ORFEAS_EBADIMAGE); /* counted, stages not observed */
    orfeas_metrics_cache(m, "hit");
    orfeas_metrics_cache(m, "miss");
    orfeas_metrics_cache(m, "miss");
}

static orfeas_vram_stats vram_sample(void)
{
    orfeas_vram_stats v;
    memset(&v, 0, sizeof v);
    v.total_bytes = 8000000000ull;
    v.free_bytes = 6000000000ull;
    v.allocated_bytes = 123456789;
    v.reserved_bytes = 1000000000;
    v.oom_events = 3;
    return v;
}

static void test_exposition(void)
{
    orfeas_metrics *m = NULL;
    REQUIRE(orfeas_metrics_create(&m) == 0);
    fill(m);
    orfeas_vram_stats v = vram_sample();
    orfeas_depth_batch_stats d = {3, 7, 3};
    orfeas_metrics_gauges g = {{2, 1, 10, 3, 4}, 2, &v, &d};
    orfeas_buffer text = {0};
    REQUIRE(orfeas_metrics_render(m, &g, &text) == 0);
    CHECK_LINE(&text, "# TYPE orfeas_depth_passes_total counter");
    CHECK_LINE(&text, "orfeas_depth_passes_total 3");
    CHECK_LINE(&text, "orfeas_depth_images_total 7");
    CHECK_LINE(&text, "orfeas_depth_batch_largest 3");

    CHECK_LINE(&text,
               "# HELP orfeas_http_requests_total HTTP requests answered, by route and status.");
    CHECK_LINE(&text, "# TYPE orfeas_http_requests_total counter");
    CHECK_LINE(&text, "orfeas_http_requests_total{route=\"generate\",status=\"200\"} 4");
    CHECK_LINE(&text, "orfeas_http_requests_total{route=\"generate\",status=\"422\"} 1");
    CHECK_LINE(&text, "orfeas_http_requests_total{route=\"health\",status=\"200\"} 1");
    /* \, " and newline escaped as the format says. */
    CHECK_LINE(&text,
               "orfeas_http_requests_total{route=\"we\\\"ird\\\\route\\nx\",status=\"404\"} 1");

    CHECK_LINE(&text, "# TYPE orfeas_http_request_duration_seconds histogram");
    CHECK_LINE(&text,
               "orfeas_http_request_duration_seconds_bucket{route=\"generate\",le=\"0.001\"} 2");
    CHECK_LINE(&text,
               "orfeas_http_request_duration_seconds_bucket{route=\"generate\",le=\"0.25\"} 2");
    CHECK_LINE(&text,
               "orfeas_http_request_duration_seconds_bucket{route=\"generate\",le=\"0.5\"} 3");
    CHECK_LINE(&text,
               "orfeas_http_request_duration_seconds_bucket{route=\"generate\",le=\"2.5\"} 4");
    CHECK_LINE(&text,
               "orfeas_http_request_duration_seconds_bucket{route=\"generate\",le=\"60\"} 4");
    CHECK_LINE(&text,
               "orfeas_http_request_duration_seconds_bucket{route=\"generate\",le=\"+Inf\"} 5");
    CHECK_LINE(&text, "orfeas_http_request_duration_seconds_count{route=\"generate\"} 5");
    CHECK_LINE(&text, "orfeas_http_request_duration_seconds_sum{route=\"generate\"} 102.3015");
    CHECK_LINE(&text,
               "orfeas_http_request_duration_seconds_bucket{route=\"health\",le=\"0.001\"} 0");
    CHECK_LINE(&text,
               "orfeas_http_request_duration_seconds_bucket{route=\"health\",le=\"0.0025\"} 1");

    CHECK_LINE(&text, "# TYPE orfeas_jobs gauge");
    CHECK_LINE(&text, "orfeas_jobs{state=\"queued\"} 2");
    CHECK_LINE(&text, "orfeas_jobs{state=\"running\"} 1");
    CHECK_LINE(&text, "orfeas_jobs{state=\"completed\"} 10");
    CHECK_LINE(&text, "orfeas_jobs{state=\"failed\"} 3");
    CHECK_LINE(&text, "orfeas_jobs{state=\"cancelled\"} 4");
    CHECK_LINE(&text, "orfeas_queue_depth 2");

    CHECK_LINE(&text, "# TYPE orfeas_generation_stage_seconds histogram");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_bucket{stage=\"decode\",le=\"0.0025\"} 0");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_bucket{stage=\"decode\",le=\"0.005\"} 2");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_count{stage=\"decode\"} 2");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_sum{stage=\"decode\"} 0.008");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_bucket{stage=\"mesh\",le=\"1\"} 0");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_bucket{stage=\"mesh\",le=\"2.5\"} 2");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_bucket{stage=\"depth\",le=\"120\"} 0");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_bucket{stage=\"depth\",le=\"300\"} 2");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_sum{stage=\"depth\"} 400");
    /* Zero-time stages still count an observation in the first bucket. */
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_bucket{stage=\"check\",le=\"0.001\"} 2");

    CHECK_LINE(&text, "# TYPE orfeas_generations_total counter");
    CHECK_LINE(&text, "orfeas_generations_total{outcome=\"ok\"} 2");
    CHECK_LINE(&text, "orfeas_generations_total{outcome=\"invalid_image\"} 1");
    CHECK_LINE(&text, "orfeas_cache_requests_total{outcome=\"hit\"} 1");
    CHECK_LINE(&text, "orfeas_cache_requests_total{outcome=\"miss\"} 2");

    CHECK_LINE(&text, "# TYPE orfeas_vram_total_bytes gauge");
    CHECK_LINE(&text, "orfeas_vram_total_bytes 8000000000");
    CHECK_LINE(&text, "orfeas_vram_used_bytes 2000000000");
    CHECK_LINE(&text, "orfeas_vram_allocated_bytes 123456789");
    CHECK_LINE(&text, "orfeas_vram_reserved_bytes 1000000000");
    CHECK_LINE(&text, "# TYPE orfeas_oom_events_total counter");
    CHECK_LINE(&text, "orfeas_oom_events_total 3");
    CHECK(text.size > 0 && text.data[text.size - 1] == '\n');

    /* Without VRAM stats those families are left out; render resets out. */
    g.vram = NULL;
    REQUIRE(orfeas_metrics_render(m, &g, &text) == 0);
    CHECK_NO_LINE(&text, "orfeas_vram_total_bytes 8000000000");
    CHECK_NO_LINE(&text, "# TYPE orfeas_oom_events_total counter");
    CHECK_LINE(&text, "orfeas_generations_total{outcome=\"ok\"} 2");
    size_t once = text.size;
    REQUIRE(orfeas_metrics_render(m, &g, &text) == 0);
    CHECK(text.size == once);

    orfeas_buffer_free(&text);
    orfeas_metrics_destroy(m);
}

static void test_empty(void)
{
    orfeas_metrics *m = NULL;
    REQUIRE(orfeas_metrics_create(&m) == 0);
    orfeas_buffer text = {0};
    REQUIRE(orfeas_metrics_render(m, NULL, &text) == 0);
    CHECK_LINE(&text, "# TYPE orfeas_http_requests_total counter");
    CHECK_LINE(&text, "orfeas_queue_depth 0");
    CHECK_LINE(&text, "orfeas_jobs{state=\"running\"} 0");
    CHECK_LINE(&text, "orfeas_generation_stage_seconds_count{stage=\"decode\"} 0");
    orfeas_buffer_free(&text);
    orfeas_metrics_destroy(m);
    /* NULL registry: updates are no-ops. */
    orfeas_metrics_request(NULL, "x", 200, 1);
    orfeas_metrics_cache(NULL, "hit");
}

#define THREADS 4
#define PER_THREAD 5000

static void *hammer(void *arg)
{
    orfeas_metrics *m = arg;
    static const char *const routes[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    for (int i = 0; i < PER_THREAD; i++)
        orfeas_metrics_request(m, routes[i % 10], 200 + i % 3, 0.01);
    return NULL;
}

static void test_threads(void)
{
    orfeas_metrics *m = NULL;
    REQUIRE(orfeas_metrics_create(&m) == 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, hammer, m) == 0);
    orfeas_buffer text = {0};
    for (int i = 0; i < 20; i++)
        CHECK(orfeas_metrics_render(m, NULL, &text) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    REQUIRE(orfeas_metrics_render(m, NULL, &text) == 0);
    char line[128];
    snprintf(line, sizeof line, "orfeas_http_request_duration_seconds_count{route=\"a\"} %d",
             THREADS * PER_THREAD / 10);
    CHECK_LINE(&text, line);
    orfeas_buffer_free(&text);
    orfeas_metrics_destroy(m);
}

static int dump(const char *path)
{
    orfeas_metrics *m = NULL;
    if (orfeas_metrics_create(&m)) return 1;
    fill(m);
    orfeas_vram_stats v = vram_sample();
    orfeas_depth_batch_stats d = {3, 7, 3};
    orfeas_metrics_gauges g = {{2, 1, 10, 3, 4}, 2, &v, &d};
    orfeas_buffer text = {0};
    int rc = orfeas_metrics_render(m, &g, &text);
    FILE *f = rc ? NULL : fopen(path, "wb");
    if (f) {
        rc = fwrite(text.data, 1, text.size, f) != text.size;
        rc |= fclose(f) != 0;
    } else {
        rc = 1;
    }
    orfeas_buffer_free(&text);
    orfeas_metrics_destroy(m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0) return dump(argv[2]);
    test_exposition();
    test_empty();
    test_threads();
    return testutil_finish("test_metrics");
}
