/* Prometheus metrics (text format 0.0.4, names prefixed orfeas_). All
 * updates are lock-free atomics or under one short mutex; rendering takes a
 * consistent-enough snapshot. */
#ifndef ORFEAS_SERVER_METRICS_H
#define ORFEAS_SERVER_METRICS_H

#include "orfeas/depth.h"
#include "orfeas/orfeas.h"

typedef struct orfeas_metrics orfeas_metrics;

int orfeas_metrics_create(orfeas_metrics **out);
void orfeas_metrics_destroy(orfeas_metrics *m);

/* One finished HTTP request: route is the route's name ("generate",
 * "job_status", ... or "unmatched"); seconds from first byte to response. */
void orfeas_metrics_request(orfeas_metrics *m, const char *route, int status, double seconds);
/* A finished generation: per-stage seconds and the outcome. */
void orfeas_metrics_generation(orfeas_metrics *m, const orfeas_generate_stats *stats, int err);
/* Cache outcomes (hit, miss, coalesced) for when the cache lands. */
void orfeas_metrics_cache(orfeas_metrics *m, const char *outcome);

typedef struct orfeas_metrics_gauges {
    uint64_t jobs_by_state[5]; /* queued, running, completed, failed, cancelled */
    uint64_t queue_depth;
    const orfeas_vram_stats *vram;         /* may be NULL */
    const orfeas_depth_batch_stats *depth; /* NULL without a depth model */
} orfeas_metrics_gauges;

/* Writes the exposition text into out (reset first). */
int orfeas_metrics_render(orfeas_metrics *m, const orfeas_metrics_gauges *gauges,
                          orfeas_buffer *out);

#endif
