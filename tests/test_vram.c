/* The VRAM manager on simulated cards: the batch formula, budget defaults,
 * precision thresholds, reservations (admission, FIFO, cancel, timeout),
 * allocation accounting with OOM retry, cache clearing, the monitor thread
 * and the JSON object. Small cards only: the sim backend really mallocs. */
#include "orfeas/device.h"
#include "orfeas/error.h"
#include "orfeas/log.h"
#include "orfeas/vram.h"
#include "server/gpu_stats_json.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define MiB (1024u * 1024u)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static orfeas_device *open_dev(const char *spec)
{
    orfeas_device *dev = NULL;
    char why[256] = "";
    int rc = orfeas_device_open(spec, &dev, why, sizeof why);
    if (rc) fprintf(stderr, "open %s: %s\n", spec, why);
    REQUIRE(rc == 0 && dev);
    return dev;
}

/* A manager without monitor thread unless the test wants one. */
static orfeas_vram *make_vram(orfeas_device *dev, const orfeas_vram_config *cfg_in)
{
    orfeas_vram_config cfg;
    if (cfg_in) {
        cfg = *cfg_in;
    } else {
        orfeas_vram_config_init(&cfg);
        cfg.monitor_interval_s = -1;
    }
    orfeas_vram *v = NULL;
    REQUIRE(orfeas_vram_create(dev, &cfg, &v) == 0 && v);
    return v;
}

/* ---- log capture ---- */

#define MAX_LINES 4096
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_lines[MAX_LINES][160];
static orfeas_log_level log_levels[MAX_LINES];
static int log_count;

static void capture(void *ud, orfeas_log_level level, const char *message)
{
    (void)ud;
    pthread_mutex_lock(&log_lock);
    if (log_count < MAX_LINES) {
        snprintf(log_lines[log_count], sizeof log_lines[0], "%s", message);
        log_levels[log_count] = level;
        log_count++;
    }
    pthread_mutex_unlock(&log_lock);
}

static void log_reset(void)
{
    pthread_mutex_lock(&log_lock);
    log_count = 0;
    pthread_mutex_unlock(&log_lock);
}

/* 1 when a line equal to text was logged at level. */
static int log_has(orfeas_log_level level, const char *text)
{
    pthread_mutex_lock(&log_lock);
    int found = 0;
    for (int i = 0; i < log_count && !found; i++)
        found = log_levels[i] == level && strcmp(log_lines[i], text) == 0;
    pthread_mutex_unlock(&log_lock);
    return found;
}

static int log_has_prefix(const char *prefix)
{
    pthread_mutex_lock(&log_lock);
    int found = 0;
    for (int i = 0; i < log_count && !found; i++)
        found = strncmp(log_lines[i], prefix, strlen(prefix)) == 0;
    pthread_mutex_unlock(&log_lock);
    return found;
}

static int wait_log(orfeas_log_level level, const char *text, double seconds)
{
    double end = now_s() + seconds;
    while (now_s() < end) {
        if (log_has(level, text)) return 1;
        sleep_ms(10);
    }
    return log_has(level, text);
}

/* ---- the formula ---- */

typedef struct formula_case {
    double available_gb, model_gb, cache_gb;
    uint32_t queue_depth;
    double sample_mb;
    uint32_t want;
} formula_case;

static void test_formula(void)
{
    /* Worked by hand. per = sample_mb / 1024 GB; mem = avail - model - cache;
     * max = floor(mem / per); qd > 10: max(1, max // 4); qd > 5: max(1,
     * max // 2); else max; then min(., 32). */
    static const formula_case cases[] = {
        /* mem = 24-6-1 = 17; per = 50/1024 = 0.048828125; 17/per = 348.16
         * -> 348; qd 0 -> 348; cap -> 32 */
        {24, 6, 1, 0, 50, 32},
        /* mem = 0.5; 0.5/0.048828125 = 10.24 -> 10; qd 0 -> 10 */
        {7.5, 6, 1, 0, 50, 10},
        /* max 10 as above; qd 6 > 5 -> max(1, 10//2 = 5) = 5 */
        {7.5, 6, 1, 6, 50, 5},
        /* max 10; qd 11 > 10 -> max(1, 10//4 = 2) = 2 */
        {7.5, 6, 1, 11, 50, 2},
        /* mem = 7-6-1 = 0 -> <= 0 -> 1 */
        {7, 6, 1, 0, 50, 1},
        /* mem = 5-6-1 = -2 -> <= 0 -> 1 (queue depth irrelevant) */
        {5, 6, 1, 11, 50, 1},
        /* mem = 0.01 (a hair under in binary); 0.01/0.048828125 = 0.2048
         * -> 0; qd 0: the original returns max itself -> 0 */
        {7.01, 6, 1, 0, 50, 0},
        /* max 0; qd 6 -> max(1, 0//2 = 0) = 1 */
        {7.01, 6, 1, 6, 50, 1},
        /* max 0; qd 11 -> max(1, 0//4 = 0) = 1 */
        {7.01, 6, 1, 11, 50, 1},
        /* mem = 1; per = 100/1024 = 0.09765625; 1/per = 10.24 -> 10; qd 5
         * is not > 5 -> 10 */
        {8, 6, 1, 5, 100, 10},
        /* max 10; qd 10 is not > 10 but > 5 -> 10//2 = 5 */
        {8, 6, 1, 10, 100, 5},
        /* max 10; qd 11 -> 10//4 = 2 */
        {8, 6, 1, 11, 100, 2},
        /* mem 17, max 348; qd 11 -> 348//4 = 87 -> cap 32 */
        {24, 6, 1, 11, 50, 32},
        /* max 348; qd 6 -> 348//2 = 174 -> cap 32 */
        {24, 6, 1, 6, 50, 32},
        /* per = 1024/1024 = 1 GB; mem = 39-6-1 = 32 -> 32; at the cap */
        {39, 6, 1, 0, 1024, 32},
        /* mem = 38-6-1 = 31 -> 31, under the cap */
        {38, 6, 1, 0, 1024, 31},
        /* mem = 33 -> 33 -> cap 32 */
        {40, 6, 1, 0, 1024, 32},
        /* mem = 1; per = 300/1024 = 0.29296875; 1/per = 3.41 -> 3; qd 11
         * -> max(1, 3//4 = 0) = 1 */
        {8, 6, 1, 11, 300, 1},
        /* mem = 0.5; per = 512/1024 = 0.5; 0.5/0.5 = 1 exactly -> 1 */
        {7.5, 6, 1, 0, 512, 1},
        /* model 0, cache 0: mem = 2; per = 0.048828125; 2/per = 40.96 ->
         * 40; qd 6 -> 40//2 = 20 */
        {2, 0, 0, 6, 50, 20},
        /* the gpu-stats defaults on sim:24GiB: avail = 25.769803776, model
         * 6, cache 1 -> mem 18.77; /0.048828125 = 384.4 -> 384 -> cap 32 */
        {25.769803776, 6, 1, 0, 50, 32},
        /* Where the original raised (sample 0) or would misbehave: 1. */
        {24, 6, 1, 0, 0, 1},
        {24, 6, 1, 0, -5, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const formula_case *c = &cases[i];
        uint32_t got = orfeas_batch_size_formula(c->available_gb, c->model_gb, c->cache_gb,
                                                 c->queue_depth, c->sample_mb);
        CHECKF(got == c->want, "case %zu: (%g, %g, %g, %u, %g) gave %u, want %u", i,
               c->available_gb, c->model_gb, c->cache_gb, c->queue_depth, c->sample_mb, got,
               c->want);
    }
    /* NaN in: the safe answer. */
    CHECK(orfeas_batch_size_formula(0.0 / 0.0, 6, 1, 0, 50) == 1);
    /* Huge card, tiny samples: no overflow, capped. */
    CHECK(orfeas_batch_size_formula(1e12, 0, 0, 0, 1e-9) == 32);
}

/* ---- budget ---- */

static void check_budget(const char *spec, uint64_t total, uint64_t sys, uint64_t cache,
                         uint64_t budget)
{
    orfeas_device *dev = open_dev(spec);
    orfeas_vram *v = make_vram(dev, NULL);
    orfeas_vram_stats st;
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECKF(st.total_bytes == total, "%s total %llu", spec, (unsigned long long)st.total_bytes);
    CHECKF(st.system_reserve_bytes == sys, "%s sys %llu", spec,
           (unsigned long long)st.system_reserve_bytes);
    CHECKF(st.cache_reserve_bytes == cache, "%s cache %llu", spec,
           (unsigned long long)st.cache_reserve_bytes);
    CHECKF(st.budget_bytes == budget, "%s budget %llu", spec, (unsigned long long)st.budget_bytes);
    CHECK(orfeas_vram_capacity(v) == budget);
    CHECK(st.free_bytes == total && st.allocated_bytes == 0 && st.pooled_bytes == 0);
    CHECK(st.usage_percent == 0.0);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

static void test_budget(void)
{
    /* 24 GiB = 25769803776 B: 10 % = 2.58e9 > 2e9 -> 2e9; 5 % = 1.29e9 >
     * 1e9 -> 1e9; budget = 25769803776 - 3e9 = 22769803776. */
    check_budget("sim:24GiB", 25769803776ull, 2000000000ull, 1000000000ull, 22769803776ull);
    /* 24 GB = 24e9: 10 % = 2.4e9 -> 2e9; 5 % = 1.2e9 -> 1e9; 21e9 left. */
    check_budget("sim:24GB", 24000000000ull, 2000000000ull, 1000000000ull, 21000000000ull);
    /* 2 GiB = 2147483648: 10 % = 214748364 (floor); 5 % = 107374182;
     * budget = 2147483648 - 214748364 - 107374182 = 1825361102. */
    check_budget("sim:2GiB", 2147483648ull, 214748364ull, 107374182ull, 1825361102ull);
    /* 512 MiB = 536870912: 53687091 + 26843545 -> 456340276. */
    check_budget("sim:512MiB", 536870912ull, 53687091ull, 26843545ull, 456340276ull);

    /* Configured reserves. */
    orfeas_device *dev = open_dev("sim:512MiB");
    orfeas_vram_config cfg;
    orfeas_vram_config_init(&cfg);
    cfg.monitor_interval_s = -1;
    cfg.system_reserve_bytes = 100 * MiB;
    cfg.cache_reserve_bytes = 0;
    orfeas_vram *v = make_vram(dev, &cfg);
    CHECK(orfeas_vram_capacity(v) == 412ull * MiB);
    orfeas_vram_destroy(v);
    /* Reserves beyond the card: budget 0, every non-empty request refused. */
    cfg.system_reserve_bytes = 400 * MiB;
    cfg.cache_reserve_bytes = 200 * MiB;
    v = make_vram(dev, &cfg);
    CHECK(orfeas_vram_capacity(v) == 0);
    orfeas_vram_reservation r;
    CHECK(orfeas_vram_reserve(v, 1, 0, NULL, &r) == ORFEAS_EGPUOOM);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);

    CHECK(orfeas_vram_create(NULL, NULL, &v) == ORFEAS_EINVAL);
}

/* ---- precision ---- */

static void check_precision(const char *spec, orfeas_precision want)
{
    orfeas_device *dev = open_dev(spec);
    orfeas_vram *v = make_vram(dev, NULL);
    CHECKF(orfeas_vram_recommend_precision(v) == want, "%s: %s", spec,
           orfeas_precision_name(orfeas_vram_recommend_precision(v)));
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

static void test_precision(void)
{
    CHECK(strcmp(orfeas_precision_name(ORFEAS_PRECISION_AUTO), "auto") == 0);
    CHECK(strcmp(orfeas_precision_name(ORFEAS_PRECISION_FP32), "fp32") == 0);
    CHECK(strcmp(orfeas_precision_name(ORFEAS_PRECISION_FP16), "fp16") == 0);
    CHECK(strcmp(orfeas_precision_name(ORFEAS_PRECISION_INT8), "int8") == 0);

    /* Default thresholds (10 GB, 6 GB), on free = total of empty cards. */
    check_precision("sim:24GiB", ORFEAS_PRECISION_FP32); /* 25.8 GB */
    check_precision("sim:10GiB", ORFEAS_PRECISION_FP32); /* 10.74 GB > 10 */
    check_precision("sim:10GB", ORFEAS_PRECISION_FP16);  /* 10 is not > 10 */
    check_precision("sim:8GiB", ORFEAS_PRECISION_FP16);  /* 8.59 GB */
    check_precision("sim:6GB", ORFEAS_PRECISION_INT8);   /* 6 is not > 6 */
    check_precision("sim:2GiB", ORFEAS_PRECISION_INT8);

    /* Configured thresholds on a 100 MB card, walked down by allocating. */
    orfeas_device *dev = open_dev("sim:100MB");
    orfeas_vram_config cfg;
    orfeas_vram_config_init(&cfg);
    cfg.monitor_interval_s = -1;
    cfg.fp32_min_free_gb = 0.08;
    cfg.fp16_min_free_gb = 0.05;
    orfeas_vram *v = make_vram(dev, &cfg);
    orfeas_vram_stats st;
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.precision == ORFEAS_PRECISION_FP32 && !st.mixed_precision && !st.quantization);
    void *a = NULL, *b = NULL;
    REQUIRE(orfeas_vram_alloc(v, 30000000, &a) == 0); /* free 0.07 GB */
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(orfeas_vram_recommend_precision(v) == ORFEAS_PRECISION_FP16);
    CHECK(st.precision == ORFEAS_PRECISION_FP16 && st.mixed_precision && !st.quantization);
    REQUIRE(orfeas_vram_alloc(v, 30000000, &b) == 0); /* free 0.04 GB */
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(orfeas_vram_recommend_precision(v) == ORFEAS_PRECISION_INT8);
    CHECK(st.precision == ORFEAS_PRECISION_INT8 && !st.mixed_precision && st.quantization);
    CHECK(st.usage_percent > 59.99 && st.usage_percent < 60.01);
    orfeas_vram_free(v, a, 30000000);
    orfeas_vram_free(v, b, 30000000);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

static void test_optimal_batch(void)
{
    /* sim:8GiB, cache reserve 5 % -> min(1e9, 429496729) = 429496729 B;
     * avail = 8.589934592, model 6: mem = 8.589934592 - 6 - 0.429496729 =
     * 2.160437863; /(50/1024) = 44.25 -> 44; qd 0 -> 32 (cap); qd 6 ->
     * 22; qd 11 -> 11. */
    orfeas_device *dev = open_dev("sim:8GiB");
    orfeas_vram *v = make_vram(dev, NULL);
    CHECK(orfeas_vram_optimal_batch_size(v, 6, 0, 50) == 32);
    CHECK(orfeas_vram_optimal_batch_size(v, 6, 6, 50) == 22);
    CHECK(orfeas_vram_optimal_batch_size(v, 6, 11, 50) == 11);
    /* model 8: mem = 0.16 -> /0.048828125 = 3.28 -> 3 */
    CHECK(orfeas_vram_optimal_batch_size(v, 8, 0, 50) == 3);
    /* model 9: mem < 0 -> 1 */
    CHECK(orfeas_vram_optimal_batch_size(v, 9, 0, 50) == 1);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

/* ---- reservations ---- */

typedef struct reserve_job {
    orfeas_vram *vram;
    uint64_t bytes;
    int timeout_ms, hold_ms;
    _Atomic int *cancel;
    _Atomic int *order_counter;
    _Atomic int done;
    int rc, order;
    pthread_t thread;
} reserve_job;

static void *reserve_main(void *arg)
{
    reserve_job *j = arg;
    orfeas_vram_reservation r;
    j->rc = orfeas_vram_reserve(j->vram, j->bytes, j->timeout_ms, j->cancel, &r);
    if (j->rc == 0) {
        j->order = j->order_counter ? atomic_fetch_add(j->order_counter, 1) : 0;
        if (j->hold_ms) sleep_ms(j->hold_ms);
        orfeas_vram_release(j->vram, &r);
    }
    atomic_store(&j->done, 1);
    return NULL;
}

static void start_job(reserve_job *j, orfeas_vram *v, uint64_t bytes, int timeout_ms,
                      _Atomic int *cancel, _Atomic int *order_counter, int hold_ms)
{
    memset(j, 0, sizeof *j);
    j->vram = v;
    j->bytes = bytes;
    j->timeout_ms = timeout_ms;
    j->cancel = cancel;
    j->order_counter = order_counter;
    j->hold_ms = hold_ms;
    j->order = -1;
    atomic_store(&j->done, 0);
    REQUIRE(pthread_create(&j->thread, NULL, reserve_main, j) == 0);
}

static uint32_t waiting(orfeas_vram *v)
{
    orfeas_vram_stats st;
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    return st.waiting_jobs;
}

static int wait_waiting(orfeas_vram *v, uint32_t n)
{
    for (int i = 0; i < 300; i++) {
        if (waiting(v) == n) return 1;
        sleep_ms(10);
    }
    return 0;
}

static void test_reservations(void)
{
    orfeas_device *dev = open_dev("sim:2GiB");
    orfeas_vram *v = make_vram(dev, NULL);
    uint64_t budget = orfeas_vram_capacity(v);
    REQUIRE(budget == 1825361102ull);
    orfeas_vram_reservation r, r2;
    orfeas_vram_stats st;

    /* Too big for the budget itself: refused at once, even with no timeout. */
    /* (If it waited, the test would hang and ctest's timeout would fail it.) */
    double t0;
    CHECK(orfeas_vram_reserve(v, budget + 1, -1, NULL, &r) == ORFEAS_EGPUOOM);
    CHECK(r.id == 0 && r.bytes == 0);
    /* Exactly the budget fits. */
    CHECK(orfeas_vram_reserve(v, budget, 0, NULL, &r) == 0);
    CHECK(r.bytes == budget && r.id != 0);
    CHECK(!orfeas_vram_would_fit(v, 1));
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.reserved_bytes == budget && st.active_reservations == 1);
    orfeas_vram_release(v, &r);
    orfeas_vram_release(v, &r); /* twice: a no-op */
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.reserved_bytes == 0 && st.active_reservations == 0);
    CHECK(orfeas_vram_would_fit(v, budget));
    CHECK(!orfeas_vram_would_fit(v, budget + 1));

    /* Admission blocks, then release unblocks. */
    uint64_t big = budget / 10 * 6;
    REQUIRE(orfeas_vram_reserve(v, big, 0, NULL, &r) == 0);
    reserve_job j1;
    start_job(&j1, v, big, -1, NULL, NULL, 0);
    CHECK(wait_waiting(v, 1));
    sleep_ms(100);
    CHECK(!atomic_load(&j1.done));
    orfeas_vram_release(v, &r);
    pthread_join(j1.thread, NULL);
    CHECK(j1.rc == 0);
    CHECK(waiting(v) == 0);

    /* FIFO: with half the budget taken, a job wanting all of it waits; a
     * small job arriving after it would fit now but must queue behind it,
     * so the big one is not starved. */
    _Atomic int counter = 0;
    REQUIRE(orfeas_vram_reserve(v, budget / 2, 0, NULL, &r) == 0);
    reserve_job jbig, jsmall[3];
    start_job(&jbig, v, budget, -1, NULL, &counter, 50);
    REQUIRE(wait_waiting(v, 1));
    CHECK(!orfeas_vram_would_fit(v, budget / 10)); /* someone is ahead */
    for (int i = 0; i < 3; i++) {
        start_job(&jsmall[i], v, budget / 10, -1, NULL, &counter, 0);
        REQUIRE(wait_waiting(v, 2 + (uint32_t)i));
    }
    sleep_ms(100);
    CHECK(!atomic_load(&jsmall[0].done) && !atomic_load(&jbig.done));
    orfeas_vram_release(v, &r);
    pthread_join(jbig.thread, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_join(jsmall[i].thread, NULL);
        CHECK(jsmall[i].rc == 0);
    }
    CHECK(jbig.rc == 0);
    CHECKF(jbig.order == 0, "big admitted as %d", jbig.order);
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.reserved_bytes == 0 && st.active_reservations == 0 && st.waiting_jobs == 0);

    /* Cancel while waiting. */
    REQUIRE(orfeas_vram_reserve(v, budget, 0, NULL, &r) == 0);
    _Atomic int cancel = 0;
    reserve_job jc;
    start_job(&jc, v, 1, -1, &cancel, NULL, 0);
    REQUIRE(wait_waiting(v, 1));
    atomic_store(&cancel, 1);
    pthread_join(jc.thread, NULL);
    CHECK(jc.rc == ORFEAS_ECANCELLED);
    CHECK(waiting(v) == 0);
    /* Cancelled before asking. */
    CHECK(orfeas_vram_reserve(v, 1, -1, &cancel, &r2) == ORFEAS_ECANCELLED);

    /* Timeout. */
    t0 = now_s();
    CHECK(orfeas_vram_reserve(v, 1, 100, NULL, &r2) == ORFEAS_EBUSY);
    double took = now_s() - t0;
    /* Never before the timeout; the upper bound only catches a hang. */
    CHECKF(took >= 0.09 && took < 30.0, "timeout took %.3f s", took);
    CHECK(r2.id == 0);
    /* Timeout with a cancel flag polled alongside. */
    atomic_store(&cancel, 0);
    CHECK(orfeas_vram_reserve(v, 1, 50, &cancel, &r2) == ORFEAS_EBUSY);
    CHECK(waiting(v) == 0);
    orfeas_vram_release(v, &r);

    /* When the head of the queue gives up, the one behind it moves up. */
    REQUIRE(orfeas_vram_reserve(v, budget / 2, 0, NULL, &r) == 0);
    atomic_store(&cancel, 0);
    reserve_job jhead, jnext;
    start_job(&jhead, v, budget, -1, &cancel, NULL, 0);
    REQUIRE(wait_waiting(v, 1));
    start_job(&jnext, v, budget / 10, -1, NULL, NULL, 0);
    REQUIRE(wait_waiting(v, 2));
    atomic_store(&cancel, 1);
    pthread_join(jhead.thread, NULL);
    pthread_join(jnext.thread, NULL);
    CHECK(jhead.rc == ORFEAS_ECANCELLED);
    CHECK(jnext.rc == 0);
    orfeas_vram_release(v, &r);

    /* Many threads, tiny budget share each: sums always back to zero. */
    reserve_job many[8];
    for (int i = 0; i < 8; i++)
        start_job(&many[i], v, budget / 3, 5000, NULL, NULL, 5);
    for (int i = 0; i < 8; i++) {
        pthread_join(many[i].thread, NULL);
        CHECK(many[i].rc == 0);
    }
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.reserved_bytes == 0 && st.active_reservations == 0 && st.waiting_jobs == 0);

    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

/* ---- allocation, OOM, cache ---- */

static void test_alloc(void)
{
    orfeas_device *dev = open_dev("sim:64MiB");
    orfeas_vram *v = make_vram(dev, NULL);
    orfeas_vram_stats st;
    void *p[4];
    for (int i = 0; i < 4; i++)
        REQUIRE(orfeas_vram_alloc(v, MiB, &p[i]) == 0 && p[i]);
    memset(p[3], 0xab, MiB); /* it is host memory on sim */
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.allocated_bytes == 4ull * MiB);
    CHECK(st.free_bytes == 60ull * MiB);
    for (int i = 0; i < 4; i++)
        orfeas_vram_free(v, p[i], MiB);
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.allocated_bytes == 0);
    /* Freed blocks stay pooled: the card still counts them. */
    CHECK(st.pooled_bytes == 4ull * MiB);
    CHECK(st.free_bytes == 60ull * MiB);

    /* clear_cache gives the pool back and says how much. */
    log_reset();
    uint64_t released = 0;
    CHECK(orfeas_vram_clear_cache(v, &released) == 0);
    CHECK(released == 4ull * MiB);
    CHECK(log_has(ORFEAS_LOG_INFO, "cleared 4 MiB of pooled GPU memory"));
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.pooled_bytes == 0 && st.free_bytes == 64ull * MiB);
    CHECK(orfeas_vram_clear_cache(v, NULL) == 0);
    CHECK(log_has(ORFEAS_LOG_INFO, "cleared 0 MiB of pooled GPU memory"));

    /* The pool alone makes the card look full: the retry after clearing
     * succeeds, and that is no out-of-memory event. */
    void *a = NULL, *b = NULL;
    REQUIRE(orfeas_vram_alloc(v, 48ull * MiB, &a) == 0);
    orfeas_vram_free(v, a, 48ull * MiB); /* pooled: free is 16 MiB */
    log_reset();
    CHECK(orfeas_vram_alloc(v, 32ull * MiB, &b) == 0 && b);
    CHECK(log_has(ORFEAS_LOG_INFO, "cleared 48 MiB of pooled GPU memory"));
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.oom_events == 0);
    CHECK(st.allocated_bytes == 32ull * MiB && st.pooled_bytes == 0);

    /* Really full: the retry fails too, one event, the accounting unchanged. */
    void *c = (void *)1;
    CHECK(orfeas_vram_alloc(v, 40ull * MiB, &c) == ORFEAS_EGPUOOM);
    CHECK(c == NULL);
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.oom_events == 1);
    CHECK(st.allocated_bytes == 32ull * MiB);
    orfeas_vram_free(v, b, 32ull * MiB);
    orfeas_vram_note_oom(v);
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.oom_events == 2 && st.allocated_bytes == 0);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);

    /* oom-after=2: the second allocation and every later one fail, as if
     * another process took the card: one OOM event, the cache cleared
     * before the retry, the retry fails too, and only what was handed out
     * is counted. */
    dev = open_dev("sim:64MiB,oom-after=2");
    v = make_vram(dev, NULL);
    REQUIRE(orfeas_vram_alloc(v, MiB, &a) == 0);
    log_reset();
    b = (void *)1;
    int rc = orfeas_vram_alloc(v, MiB, &b);
    CHECK(log_has_prefix("cleared "));
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.oom_events == 1);
    CHECK(rc == ORFEAS_EGPUOOM);
    CHECK(b == NULL);
    CHECK(st.allocated_bytes == MiB);
    orfeas_vram_free(v, a, MiB);
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.allocated_bytes == 0);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

/* ---- monitor ---- */

static void test_monitor(void)
{
    /* 100 MiB card: 85 MiB used is 85.0 %, 15 MiB = 0.0157 GB -> "0.02";
     * 95 MiB used is 95.0 %, 5 MiB = 0.0052 GB -> "0.01". */
    orfeas_device *dev = open_dev("sim:100MiB");
    orfeas_vram_config cfg;
    orfeas_vram_config_init(&cfg);
    cfg.monitor_interval_s = 0.05;
    log_reset();
    orfeas_vram *v = make_vram(dev, &cfg);
    sleep_ms(200); /* a few ticks at 0 %: nothing to say */
    CHECK(!log_has_prefix("GPU memory usage"));

    void *a = NULL, *b = NULL;
    REQUIRE(orfeas_vram_alloc(v, 85ull * MiB, &a) == 0);
    CHECK(wait_log(ORFEAS_LOG_INFO, "GPU memory usage: 85.0% (0.02 GB available)", 3.0));
    CHECK(!log_has(ORFEAS_LOG_WARN, "GPU memory usage: 85.0% (0.02 GB available)"));
    REQUIRE(orfeas_vram_alloc(v, 10ull * MiB, &b) == 0);
    CHECK(wait_log(ORFEAS_LOG_WARN, "GPU memory usage: 95.0% (0.01 GB available)", 3.0));
    CHECK(!log_has(ORFEAS_LOG_INFO, "GPU memory usage: 95.0% (0.01 GB available)"));
    orfeas_vram_free(v, a, 85ull * MiB);
    orfeas_vram_free(v, b, 10ull * MiB);
    double t0 = now_s();
    orfeas_vram_destroy(v);
    CHECK(now_s() - t0 < 30.0); /* not the 5 s interval times many */

    /* A 60 s interval: destroy wakes the thread instead of waiting it out
     * (the margin is wide so a loaded machine cannot fail it). */
    cfg.monitor_interval_s = 60.0;
    v = make_vram(dev, &cfg);
    sleep_ms(100);
    t0 = now_s();
    orfeas_vram_destroy(v);
    double took = now_s() - t0;
    CHECKF(took < 30.0, "destroy took %.3f s", took);
    /* The default (0 -> 5 s) behaves the same. */
    cfg.monitor_interval_s = 0;
    v = make_vram(dev, &cfg);
    t0 = now_s();
    orfeas_vram_destroy(v);
    CHECK(now_s() - t0 < 30.0); /* not the 5 s interval times many */
    orfeas_device_close(dev);
}

/* ---- JSON ---- */

static void test_json(void)
{
    orfeas_device *dev = open_dev("sim:24GiB");
    orfeas_vram *v = make_vram(dev, NULL);
    char *json = NULL;
    REQUIRE(orfeas_gpu_stats_json(v, 6, 3, 50, &json) == 0 && json);
    cJSON *root = cJSON_Parse(json);
    REQUIRE(root);
    const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(root, "gpu");
    REQUIRE(cJSON_IsObject(gpu));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gpu, "available")));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gpu, "simulated")));
    const cJSON *backend = cJSON_GetObjectItemCaseSensitive(gpu, "backend");
    CHECK(cJSON_IsString(backend) && strcmp(backend->valuestring, "sim") == 0);
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(gpu, "total_bytes");
    CHECK(cJSON_IsNumber(total) && total->valuedouble == 25769803776.0);
    const cJSON *budget = cJSON_GetObjectItemCaseSensitive(gpu, "budget_bytes");
    CHECK(cJSON_IsNumber(budget) && budget->valuedouble == 22769803776.0);
    const cJSON *prec = cJSON_GetObjectItemCaseSensitive(root, "recommended_precision");
    CHECK(cJSON_IsString(prec) && strcmp(prec->valuestring, "fp32") == 0);
    const cJSON *batch = cJSON_GetObjectItemCaseSensitive(root, "optimal_batch_size");
    CHECK(cJSON_IsNumber(batch) && batch->valueint == 32);
    const cJSON *qd = cJSON_GetObjectItemCaseSensitive(root, "queue_depth");
    CHECK(cJSON_IsNumber(qd) && qd->valueint == 3);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    CHECK(cJSON_IsString(status) && strcmp(status->valuestring, "operational") == 0);
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "timestamp");
    CHECK(cJSON_IsString(ts) && strlen(ts->valuestring) == 24 && ts->valuestring[23] == 'Z');
    cJSON_Delete(root);
    free(json);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);

    dev = open_dev("cpu");
    v = make_vram(dev, NULL);
    REQUIRE(orfeas_gpu_stats_json(v, 6, 0, 50, &json) == 0 && json);
    root = cJSON_Parse(json);
    REQUIRE(root);
    gpu = cJSON_GetObjectItemCaseSensitive(root, "gpu");
    REQUIRE(cJSON_IsObject(gpu));
    CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(gpu, "available")));
    CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(gpu, "simulated")));
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(gpu, "message");
    CHECK(cJSON_IsString(msg) && strcmp(msg->valuestring, "CUDA not available") == 0);
    backend = cJSON_GetObjectItemCaseSensitive(gpu, "backend");
    CHECK(cJSON_IsString(backend) && strcmp(backend->valuestring, "cpu") == 0);
    total = cJSON_GetObjectItemCaseSensitive(gpu, "total_bytes");
    CHECK(cJSON_IsNumber(total) && total->valuedouble > 0);
    cJSON_Delete(root);
    free(json);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

/* Resident reservations (a loaded model's weights): admitted at once or
 * refused, part of reserved, taken off what jobs can ever get, listed in
 * the JSON by name, gone when released. */
static void test_resident(void)
{
    orfeas_device *dev = open_dev("sim:1GiB");
    orfeas_vram *v = make_vram(dev, NULL);
    uint64_t budget = orfeas_vram_capacity(v);
    orfeas_vram_reservation model = {0}, job = {0}, too_big = {0};
    CHECK(orfeas_vram_reserve_resident(v, "big", budget + 1, &too_big) == ORFEAS_EGPUOOM);
    CHECK(too_big.id == 0);
    REQUIRE(orfeas_vram_reserve_resident(v, "depth:fp16", 100 * MiB, &model) == 0);
    CHECK(model.id != 0 && model.bytes == 100 * MiB);
    orfeas_vram_stats st;
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.resident_bytes == 100 * MiB && st.resident_count == 1);
    CHECK(st.reserved_bytes == 100 * MiB && st.active_reservations == 0);
    /* Jobs get the rest of the budget, never more: a job of the whole
     * budget is refused at once instead of waiting for ever. */
    CHECK(orfeas_vram_capacity(v) == budget - 100 * MiB);
    CHECK(orfeas_vram_reserve(v, budget - 100 * MiB + 1, 0, NULL, &job) == ORFEAS_EGPUOOM);
    REQUIRE(orfeas_vram_reserve(v, budget - 100 * MiB, 100, NULL, &job) == 0);
    /* A second model no longer fits beside the job. */
    CHECK(orfeas_vram_reserve_resident(v, "other", 1, &too_big) == ORFEAS_EGPUOOM);
    orfeas_vram_release(v, &job);

    char *json = NULL;
    REQUIRE(orfeas_gpu_stats_json(v, 6, 0, 50, &json) == 0 && json);
    cJSON *root = cJSON_Parse(json);
    REQUIRE(root);
    const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(root, "gpu");
    const cJSON *rb = cJSON_GetObjectItemCaseSensitive(gpu, "resident_bytes");
    CHECK(cJSON_IsNumber(rb) && rb->valuedouble == 100.0 * MiB);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(gpu, "resident");
    REQUIRE(cJSON_IsArray(list) && cJSON_GetArraySize(list) == 1);
    const cJSON *item = cJSON_GetArrayItem(list, 0);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(item, "bytes");
    CHECK(cJSON_IsString(name) && strcmp(name->valuestring, "depth:fp16") == 0);
    CHECK(cJSON_IsNumber(bytes) && bytes->valuedouble == 100.0 * MiB);
    cJSON_Delete(root);
    free(json);

    orfeas_vram_release(v, &model);
    CHECK(model.id == 0);
    REQUIRE(orfeas_vram_stats_get(v, &st) == 0);
    CHECK(st.resident_bytes == 0 && st.resident_count == 0 && st.reserved_bytes == 0);
    CHECK(orfeas_vram_capacity(v) == budget);
    REQUIRE(orfeas_gpu_stats_json(v, 6, 0, 50, &json) == 0 && json);
    CHECK(strstr(json, "\"resident\":[]") != NULL);
    free(json);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

int main(void)
{
    orfeas_log_set_level(ORFEAS_LOG_INFO);
    orfeas_log_set_handler(capture, NULL);
    test_formula();
    test_budget();
    test_precision();
    test_optimal_batch();
    test_reservations();
    test_alloc();
    test_monitor();
    test_json();
    test_resident();
    orfeas_log_set_handler(NULL, NULL);
    return testutil_finish("test_vram");
}
