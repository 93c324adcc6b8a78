/* The VRAM manager: stats, budget, precision and batch sizing as the original
 * DynamicVRAMManager computed them, plus FIFO reservations with admission.
 * One mutex guards the counters and the wait queue; the device is always
 * called outside it, so a slow driver never stalls admission or stats. */
#include "orfeas/vram.h"
#include "orfeas/error.h"
#include "orfeas/log.h"
#include "vram/vram_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GB 1e9
#define DEFAULT_SYSTEM_RESERVE 2000000000ull
#define DEFAULT_CACHE_RESERVE 1000000000ull
/* How often a waiter with a cancel flag looks at it. */
#define CANCEL_POLL_MS 10

void orfeas_vram_config_init(orfeas_vram_config *config)
{
    config->system_reserve_bytes = -1;
    config->cache_reserve_bytes = -1;
    config->fp32_min_free_gb = 10.0;
    config->fp16_min_free_gb = 6.0;
    config->monitor_interval_s = 5.0;
}

const char *orfeas_precision_name(orfeas_precision precision)
{
    switch (precision) {
    case ORFEAS_PRECISION_AUTO:
        return "auto";
    case ORFEAS_PRECISION_FP32:
        return "fp32";
    case ORFEAS_PRECISION_FP16:
        return "fp16";
    case ORFEAS_PRECISION_INT8:
        return "int8";
    }
    return "unknown";
}

static int timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int orfeas_vram_create(orfeas_device *dev, const orfeas_vram_config *config, orfeas_vram **out)
{
    if (!dev || !out) return ORFEAS_EINVAL;
    *out = NULL;
    orfeas_vram_config cfg;
    if (config)
        cfg = *config;
    else
        orfeas_vram_config_init(&cfg);
    if (!isfinite(cfg.fp32_min_free_gb) || !isfinite(cfg.fp16_min_free_gb) ||
        isnan(cfg.monitor_interval_s))
        return ORFEAS_EINVAL;

    uint64_t free_bytes = 0, total = 0;
    int rc = orfeas_device_memory(dev, &free_bytes, &total);
    if (rc) return rc;

    orfeas_vram *v = calloc(1, sizeof *v);
    if (!v) return ORFEAS_ENOMEM;
    v->dev = dev;
    v->total_bytes = total;
    /* Default reserves: the original's 2 GB + 1 GB on a big card, a share
     * of a small one so that it keeps a usable budget. */
    v->system_reserve = cfg.system_reserve_bytes >= 0         ? (uint64_t)cfg.system_reserve_bytes
                        : total / 10 < DEFAULT_SYSTEM_RESERVE ? total / 10
                                                              : DEFAULT_SYSTEM_RESERVE;
    v->cache_reserve = cfg.cache_reserve_bytes >= 0         ? (uint64_t)cfg.cache_reserve_bytes
                       : total / 20 < DEFAULT_CACHE_RESERVE ? total / 20
                                                            : DEFAULT_CACHE_RESERVE;
    uint64_t reserves = v->system_reserve + v->cache_reserve;
    if (reserves < v->system_reserve) reserves = UINT64_MAX; /* overflow */
    v->budget = total > reserves ? total - reserves : 0;
    v->fp32_min_free_gb = cfg.fp32_min_free_gb > 0 ? cfg.fp32_min_free_gb : 10.0;
    v->fp16_min_free_gb = cfg.fp16_min_free_gb > 0 ? cfg.fp16_min_free_gb : 6.0;
    v->monitor_interval_s = cfg.monitor_interval_s == 0 ? 5.0 : cfg.monitor_interval_s;
    v->next_id = 1;

    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr)) {
        free(v);
        return ORFEAS_ENOMEM;
    }
    /* Monotonic clock: timeouts must not jump with the wall clock. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int ok = pthread_mutex_init(&v->lock, NULL) == 0;
    if (ok && pthread_cond_init(&v->admit, &attr) != 0) {
        pthread_mutex_destroy(&v->lock);
        ok = 0;
    }
    if (ok && pthread_cond_init(&v->monitor_wake, &attr) != 0) {
        pthread_cond_destroy(&v->admit);
        pthread_mutex_destroy(&v->lock);
        ok = 0;
    }
    pthread_condattr_destroy(&attr);
    if (!ok) {
        free(v);
        return ORFEAS_ENOMEM;
    }
    if (v->monitor_interval_s > 0) {
        rc = orfeas_vram_monitor_start(v);
        if (rc) {
            pthread_cond_destroy(&v->monitor_wake);
            pthread_cond_destroy(&v->admit);
            pthread_mutex_destroy(&v->lock);
            free(v);
            return rc;
        }
    }
    *out = v;
    return 0;
}

void orfeas_vram_destroy(orfeas_vram *vram)
{
    if (!vram) return;
    orfeas_vram_monitor_stop(vram);
    pthread_cond_destroy(&vram->monitor_wake);
    pthread_cond_destroy(&vram->admit);
    pthread_mutex_destroy(&vram->lock);
    free(vram);
}

orfeas_device *orfeas_vram_device(orfeas_vram *vram)
{
    return vram ? vram->dev : NULL;
}

static uint64_t device_pooled(orfeas_device *dev)
{
    return dev->iface->pooled_bytes ? dev->iface->pooled_bytes(dev->ctx) : 0;
}

static orfeas_precision precision_for(const orfeas_vram *v, uint64_t free_bytes)
{
    double free_gb = (double)free_bytes / GB;
    if (free_gb > v->fp32_min_free_gb) return ORFEAS_PRECISION_FP32;
    if (free_gb > v->fp16_min_free_gb) return ORFEAS_PRECISION_FP16;
    return ORFEAS_PRECISION_INT8;
}

int orfeas_vram_stats_get(orfeas_vram *vram, orfeas_vram_stats *out)
{
    if (!vram || !out) return ORFEAS_EINVAL;
    memset(out, 0, sizeof *out);
    uint64_t free_bytes = 0, total = 0;
    int rc = orfeas_device_memory(vram->dev, &free_bytes, &total);
    if (rc) return rc;
    uint64_t pooled = device_pooled(vram->dev);

    pthread_mutex_lock(&vram->lock);
    out->allocated_bytes = vram->allocated;
    out->reserved_bytes = vram->reserved;
    out->active_reservations = vram->active;
    out->waiting_jobs = vram->waiting;
    out->oom_events = vram->oom_events;
    out->resident_bytes = vram->resident_bytes;
    out->resident_count = vram->resident_count;
    for (uint32_t i = 0; i < vram->resident_count; i++) {
        memcpy(out->resident[i].name, vram->resident[i].name, sizeof out->resident[i].name);
        out->resident[i].bytes = vram->resident[i].bytes;
    }
    pthread_mutex_unlock(&vram->lock);

    out->total_bytes = total;
    out->free_bytes = free_bytes;
    out->pooled_bytes = pooled;
    out->budget_bytes = vram->budget;
    out->system_reserve_bytes = vram->system_reserve;
    out->cache_reserve_bytes = vram->cache_reserve;
    out->usage_percent =
        total ? (double)(total - (free_bytes < total ? free_bytes : total)) / (double)total * 100.0
              : 0.0;
    out->precision = precision_for(vram, free_bytes);
    out->mixed_precision = out->precision == ORFEAS_PRECISION_FP16;
    out->quantization = out->precision == ORFEAS_PRECISION_INT8;
    return 0;
}

orfeas_precision orfeas_vram_recommend_precision(orfeas_vram *vram)
{
    uint64_t free_bytes = 0, total = 0;
    /* Without an answer from the device, the cautious choice. */
    if (!vram || orfeas_device_memory(vram->dev, &free_bytes, &total)) return ORFEAS_PRECISION_INT8;
    return precision_for(vram, free_bytes);
}

/* The original, line for line:
 *   batch_memory = available_gb - model_size_gb - cache_reserve_gb
 *   if batch_memory <= 0: return 1
 *   max_batch = int(batch_memory / (sample_size_mb / 1024))
 *   if queue_depth > 10: optimal = max(1, max_batch // 4)
 *   elif queue_depth > 5: optimal = max(1, max_batch // 2)
 *   else: optimal = max_batch
 *   return min(optimal, 32)
 * so the last branch can return 0 when one sample does not fit. Where the
 * original raised (sample size 0) or misbehaved (NaN, negative), 1. */
uint32_t orfeas_batch_size_formula(double available_gb, double model_size_gb,
                                   double cache_reserve_gb, uint32_t queue_depth,
                                   double sample_size_mb)
{
    double batch_mem = available_gb - model_size_gb - cache_reserve_gb;
    if (!(batch_mem > 0)) return 1; /* also NaN */
    if (!(sample_size_mb > 0) || !isfinite(sample_size_mb)) return 1;
    double quotient = floor(batch_mem / (sample_size_mb / 1024.0));
    /* Anything past 4 * 32 gives 32 in every branch; clamp before converting. */
    uint64_t max_batch = quotient >= 1024.0 ? 1024 : (uint64_t)quotient;
    uint64_t optimal;
    if (queue_depth > 10) {
        optimal = max_batch / 4 > 1 ? max_batch / 4 : 1;
    } else if (queue_depth > 5) {
        optimal = max_batch / 2 > 1 ? max_batch / 2 : 1;
    } else {
        optimal = max_batch;
    }
    return (uint32_t)(optimal < 32 ? optimal : 32);
}

uint32_t orfeas_vram_optimal_batch_size(orfeas_vram *vram, double model_size_gb,
                                        uint32_t queue_depth, double sample_size_mb)
{
    uint64_t free_bytes = 0, total = 0;
    if (!vram || orfeas_device_memory(vram->dev, &free_bytes, &total)) return 1;
    return orfeas_batch_size_formula((double)free_bytes / GB, model_size_gb,
                                     (double)vram->cache_reserve / GB, queue_depth, sample_size_mb);
}

int orfeas_vram_clear_cache(orfeas_vram *vram, uint64_t *released_bytes)
{
    if (released_bytes) *released_bytes = 0;
    if (!vram) return ORFEAS_EINVAL;
    uint64_t released = 0;
    int rc = 0;
    if (vram->dev->iface->trim_pool) rc = vram->dev->iface->trim_pool(vram->dev->ctx, &released);
    if (rc) return rc;
    ORFEAS_INFO("cleared %llu MiB of pooled GPU memory",
                (unsigned long long)(released / (1024 * 1024)));
    if (released_bytes) *released_bytes = released;
    return 0;
}

void orfeas_vram_note_oom(orfeas_vram *vram)
{
    if (!vram) return;
    pthread_mutex_lock(&vram->lock);
    vram->oom_events++;
    pthread_mutex_unlock(&vram->lock);
}

int orfeas_vram_alloc(orfeas_vram *vram, size_t bytes, void **ptr)
{
    if (!vram || !ptr) return ORFEAS_EINVAL;
    *ptr = NULL;
    int rc = orfeas_device_alloc(vram->dev, bytes, ptr);
    if (rc == ORFEAS_EGPUOOM) {
        /* Give the pool back and try once more, as caching allocators do:
         * blocks cached by earlier jobs of other sizes are not a shortage.
         * Only a failure after that is an out-of-memory event. */
        uint64_t released = 0;
        orfeas_vram_clear_cache(vram, &released);
        rc = orfeas_device_alloc(vram->dev, bytes, ptr);
        if (rc == ORFEAS_EGPUOOM) {
            orfeas_vram_note_oom(vram);
            ORFEAS_WARN(
                "GPU out of memory allocating %zu bytes (after returning %llu cached bytes)", bytes,
                (unsigned long long)released);
        }
    }
    if (rc) {
        *ptr = NULL;
        return rc;
    }
    pthread_mutex_lock(&vram->lock);
    vram->allocated += bytes;
    pthread_mutex_unlock(&vram->lock);
    return 0;
}

void orfeas_vram_free(orfeas_vram *vram, void *ptr, size_t bytes)
{
    if (!vram || !ptr) return;
    orfeas_device_free(vram->dev, ptr);
    pthread_mutex_lock(&vram->lock);
    vram->allocated = vram->allocated > bytes ? vram->allocated - bytes : 0;
    pthread_mutex_unlock(&vram->lock);
}

/* ---- reservations ---------------------------------------------------- */

/* Under the lock: the queue is strictly FIFO, so a request may be admitted
 * only when nobody is ahead of it, and it fits. */
static int head_fits(const orfeas_vram *v, const vram_waiter *w)
{
    return v->queue_head == w && v->reserved + w->bytes <= v->budget;
}

static void queue_remove(orfeas_vram *v, vram_waiter *w)
{
    vram_waiter **link = &v->queue_head;
    while (*link && *link != w)
        link = &(*link)->next;
    if (*link) *link = w->next;
    if (v->queue_tail == w) {
        v->queue_tail = NULL;
        for (vram_waiter *p = v->queue_head; p; p = p->next)
            v->queue_tail = p;
    }
    v->waiting--;
}

int orfeas_vram_reserve(orfeas_vram *vram, uint64_t bytes, int timeout_ms,
                        const _Atomic int *cancel, orfeas_vram_reservation *out)
{
    if (!vram || !out) return ORFEAS_EINVAL;
    out->bytes = 0;
    out->id = 0;
    if (bytes > orfeas_vram_capacity(vram)) return ORFEAS_EGPUOOM; /* could never fit */
    if (cancel && *cancel) return ORFEAS_ECANCELLED;

    struct timespec deadline = {0, 0};
    if (timeout_ms >= 0) deadline = orfeas_clock_deadline_ms(timeout_ms);

    vram_waiter self = {.bytes = bytes, .next = NULL};
    pthread_mutex_lock(&vram->lock);
    if (vram->queue_tail)
        vram->queue_tail->next = &self;
    else
        vram->queue_head = &self;
    vram->queue_tail = &self;
    vram->waiting++;

    int rc = 0;
    while (!head_fits(vram, &self)) {
        if (cancel && *cancel) {
            rc = ORFEAS_ECANCELLED;
            break;
        }
        struct timespec until;
        if (cancel) {
            until = orfeas_clock_deadline_ms(CANCEL_POLL_MS);
            if (timeout_ms >= 0 && timespec_before(&deadline, &until)) until = deadline;
        } else {
            until = deadline;
        }
        int wrc = (cancel || timeout_ms >= 0)
                      ? pthread_cond_timedwait(&vram->admit, &vram->lock, &until)
                      : pthread_cond_wait(&vram->admit, &vram->lock);
        if (wrc == ETIMEDOUT && timeout_ms >= 0 && !head_fits(vram, &self)) {
            struct timespec now = orfeas_clock_deadline_ms(0); /* now */
            if (!timespec_before(&now, &deadline)) {
                rc = ORFEAS_EBUSY;
                break;
            }
        }
    }
    queue_remove(vram, &self);
    if (rc == 0) {
        vram->reserved += bytes;
        vram->active++;
        out->bytes = bytes;
        out->id = vram->next_id++;
    }
    pthread_mutex_unlock(&vram->lock);
    /* Whether admitted or gone, the head changed: the next one may fit. */
    pthread_cond_broadcast(&vram->admit);
    return rc;
}

int orfeas_vram_reserve_resident(orfeas_vram *vram, const char *name, uint64_t bytes,
                                 orfeas_vram_reservation *out)
{
    if (!vram || !out || !name) return ORFEAS_EINVAL;
    out->bytes = 0;
    out->id = 0;
    pthread_mutex_lock(&vram->lock);
    int rc = 0;
    if (vram->resident_count == VRAM_MAX_RESIDENT) {
        rc = ORFEAS_EINVAL;
    } else if (bytes > vram->budget || vram->reserved + bytes > vram->budget) {
        rc = ORFEAS_EGPUOOM;
    } else {
        vram_resident *r = &vram->resident[vram->resident_count++];
        r->id = vram->next_id++;
        r->bytes = bytes;
        snprintf(r->name, sizeof r->name, "%s", name);
        vram->reserved += bytes;
        vram->resident_bytes += bytes;
        out->bytes = bytes;
        out->id = r->id;
    }
    uint64_t budget = vram->budget, reserved = vram->reserved;
    pthread_mutex_unlock(&vram->lock);
    if (rc == ORFEAS_EGPUOOM)
        ORFEAS_WARN("%s needs %.1f MiB resident; %.1f MiB of the %.1f MiB budget are free", name,
                    bytes / 1048576.0, (budget - reserved) / 1048576.0, budget / 1048576.0);
    else if (!rc)
        ORFEAS_INFO("%s: %.1f MiB resident", name, bytes / 1048576.0);
    return rc;
}

int orfeas_vram_would_fit(orfeas_vram *vram, uint64_t bytes)
{
    if (!vram) return 0;
    pthread_mutex_lock(&vram->lock);
    int fits = !vram->queue_head && bytes <= vram->budget && vram->reserved + bytes <= vram->budget;
    pthread_mutex_unlock(&vram->lock);
    return fits;
}

uint64_t orfeas_vram_capacity(orfeas_vram *vram)
{
    if (!vram) return 0;
    pthread_mutex_lock(&vram->lock);
    uint64_t resident = vram->resident_bytes;
    pthread_mutex_unlock(&vram->lock);
    return vram->budget > resident ? vram->budget - resident : 0;
}

void orfeas_vram_release(orfeas_vram *vram, orfeas_vram_reservation *reservation)
{
    if (!vram || !reservation || reservation->id == 0) return; /* never admitted, or released */
    pthread_mutex_lock(&vram->lock);
    vram->reserved = vram->reserved > reservation->bytes ? vram->reserved - reservation->bytes : 0;
    uint32_t r = 0;
    while (r < vram->resident_count && vram->resident[r].id != reservation->id)
        r++;
    if (r < vram->resident_count) {
        vram->resident_bytes -= vram->resident[r].bytes;
        vram->resident[r] = vram->resident[--vram->resident_count];
    } else if (vram->active) {
        vram->active--;
    }
    pthread_mutex_unlock(&vram->lock);
    reservation->bytes = 0;
    reservation->id = 0;
    pthread_cond_broadcast(&vram->admit);
}
