/* Prometheus text exposition (format 0.0.4). Counters and histograms live
 * in small sorted tables under one mutex: routes, statuses and outcomes are
 * few, and an update is a short scan. Gauges (jobs, queue, VRAM) are read
 * at render time by the caller and passed in. */
#include "server/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds: 1 ms .. 60 s for requests; generation stages reach further. */
static const double http_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5,   1,      2.5,   5,    10,    30,   60};
static const double stage_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                      1,     2.5,    5,     10,   30,    60,   120, 300};
#define HTTP_BUCKETS (sizeof http_bounds / sizeof http_bounds[0])
#define STAGE_BUCKETS (sizeof stage_bounds / sizeof stage_bounds[0])
#define MAX_BUCKETS 17

typedef struct histogram {
    uint64_t buckets[MAX_BUCKETS]; /* per bucket, made cumulative when rendered */
    uint64_t count;
    double sum;
} histogram;

/* One labelled series: a counter (value) or a histogram (hist). The key is
 * the label value(s); `status` is the second label of request counters. */
typedef struct series {
    char *key;
    int status;
    uint64_t value;
    histogram hist;
} series;

typedef struct table {
    series *items;
    size_t count, capacity;
} table;

struct orfeas_metrics {
    pthread_mutex_t lock;
    table requests;    /* route, status -> count */
    table durations;   /* route -> histogram */
    table generations; /* outcome -> count */
    table cache;       /* outcome -> count */
    histogram stages[ORFEAS_STAGE_COUNT_];
};

int orfeas_metrics_create(orfeas_metrics **out)
{
    *out = NULL;
    orfeas_metrics *m = calloc(1, sizeof *m);
    if (!m) return ORFEAS_ENOMEM;
    if (pthread_mutex_init(&m->lock, NULL)) {
        free(m);
        return ORFEAS_EINTERNAL;
    }
    *out = m;
    return 0;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->items[i].key);
    free(t->items);
}

void orfeas_metrics_destroy(orfeas_metrics *m)
{
    if (!m) return;
    table_free(&m->requests);
    table_free(&m->durations);
    table_free(&m->generations);
    table_free(&m->cache);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int series_cmp(const char *key, int status, const series *s)
{
    int c = strcmp(key, s->key);
    return c ? c : (status > s->status) - (status < s->status);
}

/* The series for (key, status), inserted in sorted order so the exposition
 * is stable. NULL when out of memory: the sample is dropped, never the
 * request. */
static series *table_get(table *t, const char *key, int status)
{
    size_t i = 0;
    while (i < t->count) {
        int c = series_cmp(key, status, &t->items[i]);
        if (c == 0) return &t->items[i];
        if (c < 0) break;
        i++;
    }
    if (t->count == t->capacity) {
        size_t cap = t->capacity ? t->capacity * 2 : 8;
        series *items = realloc(t->items, cap * sizeof *items);
        if (!items) return NULL;
        t->items = items;
        t->capacity = cap;
    }
    char *copy = strdup(key);
    if (!copy) return NULL;
    memmove(&t->items[i + 1], &t->items[i], (t->count - i) * sizeof *t->items);
    memset(&t->items[i], 0, sizeof t->items[i]);
    t->items[i].key = copy;
    t->items[i].status = status;
    t->count++;
    return &t->items[i];
}

static void observe(histogram *h, const double *bounds, size_t n, double value)
{
    if (!(value >= 0)) value = 0; /* NaN or a clock step back */
    size_t b = 0;
    while (b < n && value > bounds[b])
        b++;
    if (b < n) h->buckets[b]++;
    h->count++;
    h->sum += value;
}

void orfeas_metrics_request(orfeas_metrics *m, const char *route, int status, double seconds)
{
    if (!m) return;
    if (!route) route = "unmatched";
    pthread_mutex_lock(&m->lock);
    series *s = table_get(&m->requests, route, status);
    if (s) s->value++;
    s = table_get(&m->durations, route, 0);
    if (s) observe(&s->hist, http_bounds, HTTP_BUCKETS, seconds);
    pthread_mutex_unlock(&m->lock);
}

/* Stage times are observed for successful generations only: a failed one
 * stops part-way and would skew the stage it stopped in. */
void orfeas_metrics_generation(orfeas_metrics *m, const orfeas_generate_stats *stats, int err)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    series *s = table_get(&m->generations, err ? orfeas_error_code(err) : "ok", 0);
    if (s) s->value++;
    if (!err && stats)
        for (int i = 0; i < ORFEAS_STAGE_COUNT_; i++)
            observe(&m->stages[i], stage_bounds, STAGE_BUCKETS, stats->stage_ms[i] / 1e3);
    pthread_mutex_unlock(&m->lock);
}

void orfeas_metrics_cache(orfeas_metrics *m, const char *outcome)
{
    if (!m || !outcome) return;
    pthread_mutex_lock(&m->lock);
    series *s = table_get(&m->cache, outcome, 0);
    if (s) s->value++;
    pthread_mutex_unlock(&m->lock);
}

/* Appends formatted text; the first failure sticks in *err. */
static void put(orfeas_buffer *out, int *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put(orfeas_buffer *out, int *err, const char *fmt, ...)
{
    if (*err) return;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        *err = ORFEAS_EINTERNAL;
        return;
    }
    if ((size_t)n < sizeof small) {
        *err = orfeas_buffer_append(out, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        *err = ORFEAS_ENOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *err = orfeas_buffer_append(out, big, (size_t)n);
    free(big);
}

/* A label value as the format wants it: \\, \" and \n escaped. */
static void put_label(orfeas_buffer *out, int *err, const char *value)
{
    for (const char *p = value; *p && !*err; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        *err = esc ? orfeas_buffer_append(out, esc, 2) : orfeas_buffer_append(out, p, 1);
    }
}

static void put_header(orfeas_buffer *out, int *err, const char *name, const char *type,
                       const char *help)
{
    put(out, err, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric of one unlabelled sample. */
static void put_scalar(orfeas_buffer *out, int *err, const char *name, const char *type,
                       const char *help, uint64_t value)
{
    put_header(out, err, name, type, help);
    put(out, err, "%s %llu\n", name, (unsigned long long)value);
}

/* One histogram's _bucket lines (cumulative, then +Inf), _sum and _count,
 * labelled label="value". */
static void put_histogram(orfeas_buffer *out, int *err, const char *name, const char *label,
                          const char *value, const histogram *h, const double *bounds, size_t n)
{
    uint64_t cumulative = 0;
    for (size_t b = 0; b < n; b++) {
        cumulative += h->buckets[b];
        put(out, err, "%s_bucket{%s=\"", name, label);
        put_label(out, err, value);
        put(out, err, "\",le=\"%g\"} %llu\n", bounds[b], (unsigned long long)cumulative);
    }
    put(out, err, "%s_bucket{%s=\"", name, label);
    put_label(out, err, value);
    put(out, err, "\",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
    put(out, err, "%s_sum{%s=\"", name, label);
    put_label(out, err, value);
    put(out, err, "\"} %.9g\n", h->sum);
    put(out, err, "%s_count{%s=\"", name, label);
    put_label(out, err, value);
    put(out, err, "\"} %llu\n", (unsigned long long)h->count);
}

static void put_counters(orfeas_buffer *out, int *err, const char *name, const char *label,
                         const table *t)
{
    for (size_t i = 0; i < t->count; i++) {
        put(out, err, "%s{%s=\"", name, label);
        put_label(out, err, t->items[i].key);
        put(out, err, "\"} %llu\n", (unsigned long long)t->items[i].value);
    }
}

static const char *const job_states[5] = {"queued", "running", "completed", "failed", "cancelled"};

static void render_locked(orfeas_metrics *m, const orfeas_metrics_gauges *g, orfeas_buffer *out,
                          int *err)
{
    put_header(out, err, "orfeas_http_requests_total", "counter",
               "HTTP requests answered, by route and status.");
    for (size_t i = 0; i < m->requests.count; i++) {
        put(out, err, "orfeas_http_requests_total{route=\"");
        put_label(out, err, m->requests.items[i].key);
        put(out, err, "\",status=\"%d\"} %llu\n", m->requests.items[i].status,
            (unsigned long long)m->requests.items[i].value);
    }
    put_header(out, err, "orfeas_http_request_duration_seconds", "histogram",
               "Time from a request's first byte to its response, by route.");
    for (size_t i = 0; i < m->durations.count; i++)
        put_histogram(out, err, "orfeas_http_request_duration_seconds", "route",
                      m->durations.items[i].key, &m->durations.items[i].hist, http_bounds,
                      HTTP_BUCKETS);

    put_header(out, err, "orfeas_jobs", "gauge", "Jobs the scheduler knows, by state.");
    for (int i = 0; i < 5; i++)
        put(out, err, "orfeas_jobs{state=\"%s\"} %llu\n", job_states[i],
            (unsigned long long)(g ? g->jobs_by_state[i] : 0));
    put_header(out, err, "orfeas_queue_depth", "gauge", "Jobs waiting for a worker.");
    put(out, err, "orfeas_queue_depth %llu\n", (unsigned long long)(g ? g->queue_depth : 0));

    put_header(out, err, "orfeas_generation_stage_seconds", "histogram",
               "Time spent in each pipeline stage of successful generations.");
    for (int i = 0; i < ORFEAS_STAGE_COUNT_; i++)
        put_histogram(out, err, "orfeas_generation_stage_seconds", "stage",
                      orfeas_stage_name((orfeas_stage)i), &m->stages[i], stage_bounds,
                      STAGE_BUCKETS);
    put_header(out, err, "orfeas_generations_total", "counter",
               "Finished generations, by outcome (ok or the error code).");
    put_counters(out, err, "orfeas_generations_total", "outcome", &m->generations);
    put_header(out, err, "orfeas_cache_requests_total", "counter",
               "Result cache lookups, by outcome (hit, miss, coalesced).");
    put_counters(out, err, "orfeas_cache_requests_total", "outcome", &m->cache);

    const orfeas_depth_batch_stats *d = g ? g->depth : NULL;
    if (d) {
        put_scalar(out, err, "orfeas_depth_passes_total", "counter",
                   "Batched depth-model forward passes (with batching on).", d->runs);
        put_scalar(out, err, "orfeas_depth_images_total", "counter",
                   "Images those passes ran (images / passes: the mean batch).", d->images);
        put_scalar(out, err, "orfeas_depth_batch_largest", "gauge",
                   "The largest batch one depth pass has run.", d->largest);
    }
    const orfeas_vram_stats *v = g ? g->vram : NULL;
    if (!v) return;
    put_scalar(out, err, "orfeas_vram_total_bytes", "gauge", "Device memory in total.",
               v->total_bytes);
    put_scalar(out, err, "orfeas_vram_used_bytes", "gauge",
               "Device memory in use by anyone (total - free).",
               v->total_bytes > v->free_bytes ? v->total_bytes - v->free_bytes : 0);
    put_scalar(out, err, "orfeas_vram_allocated_bytes", "gauge",
               "Device memory allocated by orfeas.", v->allocated_bytes);
    put_scalar(out, err, "orfeas_vram_reserved_bytes", "gauge",
               "Device memory promised to admitted jobs.", v->reserved_bytes);
    put_scalar(out, err, "orfeas_oom_events_total", "counter", "Device out-of-memory events.",
               v->oom_events);
}

int orfeas_metrics_render(orfeas_metrics *m, const orfeas_metrics_gauges *gauges,
                          orfeas_buffer *out)
{
    if (!m || !out) return ORFEAS_EINVAL;
    out->size = 0;
    int err = 0;
    pthread_mutex_lock(&m->lock);
    render_locked(m, gauges, out, &err);
    pthread_mutex_unlock(&m->lock);
    return err;
}
