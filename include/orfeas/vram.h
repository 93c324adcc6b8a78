/* orfeas — the VRAM manager: one per device, thread-safe. What the original
 * Python server's DynamicVRAMManager did (stats, budget, precision
 * recommendation, batch sizing, a monitor thread, cache clearing) plus what
 * it lacked: reservations with admission, so that jobs sharing a card wait
 * for memory instead of crashing on out-of-memory. */
#ifndef ORFEAS_VRAM_H
#define ORFEAS_VRAM_H

#include <stdint.h>

#include "orfeas/device.h"
#include "orfeas/params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct orfeas_vram orfeas_vram;

typedef struct orfeas_vram_config {
    int64_t system_reserve_bytes; /* < 0: default min(2 GB, 10 % of total) */
    int64_t cache_reserve_bytes;  /* < 0: default min(1 GB, 5 % of total) */
    double fp32_min_free_gb;      /* <= 0: default 10 (recommend fp32 above) */
    double fp16_min_free_gb;      /* <= 0: default 6 (fp16 above, else int8) */
    double monitor_interval_s;    /* 0: default 5; < 0: no monitor thread */
} orfeas_vram_config;

/* A resident reservation as the stats list it. */
#define ORFEAS_VRAM_MAX_RESIDENT 8
typedef struct orfeas_vram_resident_stat {
    char name[64];
    uint64_t bytes;
} orfeas_vram_resident_stat;

typedef struct orfeas_vram_stats {
    uint64_t total_bytes;     /* device total */
    uint64_t free_bytes;      /* free on the device (driver's view) */
    uint64_t allocated_bytes; /* in use by orfeas through this manager */
    uint64_t pooled_bytes;    /* held by the pool, not in use */
    uint64_t reserved_bytes;  /* promised to admitted jobs */
    uint64_t budget_bytes;    /* total - system reserve - cache reserve */
    uint64_t system_reserve_bytes, cache_reserve_bytes;
    double usage_percent;       /* (total - free) / total * 100 */
    orfeas_precision precision; /* what recommend_precision says now */
    int mixed_precision;        /* precision is fp16 */
    int quantization;           /* precision is int8 */
    uint32_t active_reservations, waiting_jobs;
    uint64_t oom_events;
    uint64_t resident_bytes; /* of reserved_bytes, held by loaded models */
    uint32_t resident_count; /* resident reservations */
    orfeas_vram_resident_stat resident[ORFEAS_VRAM_MAX_RESIDENT]; /* the first resident_count */
} orfeas_vram_stats;

void orfeas_vram_config_init(orfeas_vram_config *config);
/* Creates the manager and starts its monitor thread (unless disabled). */
int orfeas_vram_create(orfeas_device *dev, const orfeas_vram_config *config, orfeas_vram **out);
/* Stops and joins the monitor thread, then frees the manager. */
void orfeas_vram_destroy(orfeas_vram *vram);
orfeas_device *orfeas_vram_device(orfeas_vram *vram);

int orfeas_vram_stats_get(orfeas_vram *vram, orfeas_vram_stats *out);
/* free > 10 GB: fp32, > 6 GB: fp16, else int8 (thresholds configurable). */
orfeas_precision orfeas_vram_recommend_precision(orfeas_vram *vram);
/* The original formula, on free device bytes / 1e9 as available GB. */
uint32_t orfeas_vram_optimal_batch_size(orfeas_vram *vram, double model_size_gb,
                                        uint32_t queue_depth, double sample_size_mb);
/* The same formula as a pure function, for tables and tests. */
uint32_t orfeas_batch_size_formula(double available_gb, double model_size_gb,
                                   double cache_reserve_gb, uint32_t queue_depth,
                                   double sample_size_mb);
/* Returns pooled device memory to the driver and logs how much. */
int orfeas_vram_clear_cache(orfeas_vram *vram, uint64_t *released_bytes);

/* Allocation through the manager, so "allocated" is true. */
int orfeas_vram_alloc(orfeas_vram *vram, size_t bytes, void **ptr);
void orfeas_vram_free(orfeas_vram *vram, void *ptr, size_t bytes);

/* Reservations. A job asks for `bytes` before it allocates; the call blocks
 * until the reservation fits in the budget (alongside the others), or
 * fails at once with ORFEAS_EGPUOOM when it could not fit even alone, or
 * with ORFEAS_ECANCELLED when *cancel becomes non-zero while waiting
 * (cancel may be NULL). timeout_ms < 0 waits for ever; on timeout
 * ORFEAS_EBUSY. */
typedef struct orfeas_vram_reservation {
    uint64_t bytes;
    uint64_t id;
} orfeas_vram_reservation;

int orfeas_vram_reserve(orfeas_vram *vram, uint64_t bytes, int timeout_ms,
                        const _Atomic int *cancel, orfeas_vram_reservation *out);
/* A resident reservation: memory held for as long as something stays
 * loaded (a model's weights), not for one job. Admitted at once or
 * refused (ORFEAS_EGPUOOM when `bytes` does not fit the budget beside
 * what is reserved now); counted in reserved_bytes and resident_bytes,
 * listed by `name` in the stats JSON, and taken off the capacity left to
 * jobs. Released with orfeas_vram_release. At most
 * ORFEAS_VRAM_MAX_RESIDENT at a time. */
int orfeas_vram_reserve_resident(orfeas_vram *vram, const char *name, uint64_t bytes,
                                 orfeas_vram_reservation *out);
/* Non-blocking: 1 when `bytes` could be reserved now. */
int orfeas_vram_would_fit(orfeas_vram *vram, uint64_t bytes);
/* Largest reservation that could ever be admitted: the budget less the
 * resident reservations. */
uint64_t orfeas_vram_capacity(orfeas_vram *vram);
void orfeas_vram_release(orfeas_vram *vram, orfeas_vram_reservation *reservation);
/* Counts an out-of-memory event (for stats and metrics). */
void orfeas_vram_note_oom(orfeas_vram *vram);

const char *orfeas_precision_name(orfeas_precision precision);

/* The stats as JSON (GET /api/v1/gpu/stats, `orfeas gpu-stats --json`) are
 * written by the server layer: server/gpu_stats_json.h. */

#ifdef __cplusplus
}
#endif
#endif
