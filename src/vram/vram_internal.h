/* The VRAM manager's state, shared by vram.c and monitor.c. */
#ifndef ORFEAS_VRAM_INTERNAL_H
#define ORFEAS_VRAM_INTERNAL_H

#include "orfeas/vram.h"
#include "core/clock.h"

#include <pthread.h>
#include <time.h>

/* A request waiting for admission; lives on the waiter's stack. */
typedef struct vram_waiter {
    uint64_t bytes;
    struct vram_waiter *next;
} vram_waiter;

/* A resident reservation (model weights): held until released. */
#define VRAM_MAX_RESIDENT ORFEAS_VRAM_MAX_RESIDENT
typedef struct vram_resident {
    uint64_t id, bytes;
    char name[64];
} vram_resident;

struct orfeas_vram {
    orfeas_device *dev;
    /* Fixed at create. */
    uint64_t total_bytes, system_reserve, cache_reserve, budget;
    double fp32_min_free_gb, fp16_min_free_gb, monitor_interval_s;

    pthread_mutex_t lock; /* everything below */
    pthread_cond_t admit; /* the queue head or the reserved sum changed */
    uint64_t allocated, reserved, oom_events, next_id;
    uint32_t active, waiting;
    vram_waiter *queue_head, *queue_tail; /* FIFO: arrival order */
    vram_resident resident[VRAM_MAX_RESIDENT];
    uint32_t resident_count;
    uint64_t resident_bytes; /* part of reserved */

    pthread_cond_t monitor_wake; /* stop requested */
    pthread_t monitor;
    int monitor_running, monitor_stop;
};

/* CLOCK_MONOTONIC now + seconds, for the condition variables. */
int orfeas_vram_monitor_start(orfeas_vram *vram);
void orfeas_vram_monitor_stop(orfeas_vram *vram);

#endif
