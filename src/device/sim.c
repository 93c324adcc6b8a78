/* The simulated card: the memory accounting of a card of a given size, with
 * a caching pool like CUDA allocators keep; the work runs on the CPU. An
 * allocation that does not fit fails with ORFEAS_EGPUOOM, as cudaMalloc does;
 * "oom-after=N" makes the N-th allocation and every one after it fail, as
 * if another process had taken the rest of the card. */
#include "device/device_internal.h"
#include "device/kernels.h"
#include "orfeas/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries its size in a header; 64 bytes keep the payload
 * aligned for any vector type. */
#define HEADER 64

typedef struct block {
    size_t size;
    struct block *next; /* in the pool */
} block;

typedef struct sim_ctx {
    pthread_mutex_t lock;
    uint64_t total, used; /* used includes pooled blocks, as on a real card */
    uint64_t pooled;
    uint64_t alloc_calls, oom_after;
    block *pool;
} sim_ctx;

static int sim_memory(void *p, uint64_t *free_bytes, uint64_t *total_bytes)
{
    sim_ctx *s = p;
    pthread_mutex_lock(&s->lock);
    *total_bytes = s->total;
    *free_bytes = s->total - s->used;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static int sim_alloc(void *p, size_t bytes, void **ptr)
{
    sim_ctx *s = p;
    *ptr = NULL;
    pthread_mutex_lock(&s->lock);
    s->alloc_calls++;
    if (s->oom_after && s->alloc_calls >= s->oom_after) {
        pthread_mutex_unlock(&s->lock);
        return ORFEAS_EGPUOOM;
    }
    /* Reuse a pooled block of exactly this size, as a caching allocator does
     * for the repeated shapes of a pipeline. */
    for (block **link = &s->pool; *link; link = &(*link)->next) {
        if ((*link)->size == bytes) {
            block *b = *link;
            *link = b->next;
            s->pooled -= bytes;
            pthread_mutex_unlock(&s->lock);
            *ptr = (char *)b + HEADER;
            return 0;
        }
    }
    if (bytes > s->total - s->used) {
        pthread_mutex_unlock(&s->lock);
        return ORFEAS_EGPUOOM;
    }
    s->used += bytes;
    pthread_mutex_unlock(&s->lock);
    block *b = malloc(HEADER + bytes);
    if (!b) {
        pthread_mutex_lock(&s->lock);
        s->used -= bytes;
        pthread_mutex_unlock(&s->lock);
        return ORFEAS_ENOMEM;
    }
    b->size = bytes;
    b->next = NULL;
    *ptr = (char *)b + HEADER;
    return 0;
}

static void sim_free(void *p, void *ptr)
{
    sim_ctx *s = p;
    if (!ptr) return;
    block *b = (block *)(void *)((char *)ptr - HEADER);
    pthread_mutex_lock(&s->lock);
    b->next = s->pool;
    s->pool = b;
    s->pooled += b->size;
    pthread_mutex_unlock(&s->lock);
}

static int sim_copy(void *ctx, void *dst, const void *src, size_t bytes, orfeas_copy_kind kind)
{
    (void)ctx, (void)kind;
    if (bytes) memmove(dst, src, bytes);
    return 0;
}

static int sim_sync(void *ctx)
{
    (void)ctx;
    return 0;
}

static uint64_t sim_pooled(void *p)
{
    sim_ctx *s = p;
    pthread_mutex_lock(&s->lock);
    uint64_t pooled = s->pooled;
    pthread_mutex_unlock(&s->lock);
    return pooled;
}

static int sim_trim(void *p, uint64_t *released)
{
    sim_ctx *s = p;
    pthread_mutex_lock(&s->lock);
    block *list = s->pool;
    s->pool = NULL;
    *released = s->pooled;
    s->used -= s->pooled;
    s->pooled = 0;
    pthread_mutex_unlock(&s->lock);
    while (list) {
        block *next = list->next;
        free(list);
        list = next;
    }
    return 0;
}

static int sim_telemetry(void *ctx, orfeas_device_telemetry *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
    return 0;
}

static void sim_destroy(void *p)
{
    sim_ctx *s = p;
    uint64_t released;
    sim_trim(s, &released);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const orfeas_device_iface sim_iface = {
    .memory = sim_memory,
    .alloc = sim_alloc,
    .free = sim_free,
    .copy = sim_copy,
    .sync = sim_sync,
    .pooled_bytes = sim_pooled,
    .trim_pool = sim_trim,
    .telemetry = sim_telemetry,
    .destroy = sim_destroy,
    .kernels = &orfeas_cpu_kernels,
};

int orfeas_sim_device_open(uint64_t total_bytes, uint64_t oom_after, orfeas_device **out)
{
    orfeas_device *dev = calloc(1, sizeof *dev);
    sim_ctx *s = calloc(1, sizeof *s);
    if (!dev || !s) {
        free(dev), free(s);
        return ORFEAS_ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->total = total_bytes;
    s->oom_after = oom_after;
    dev->iface = &sim_iface;
    dev->ctx = s;
    dev->kind = ORFEAS_DEVICE_SIM;
    dev->host_accessible = 1;
    dev->oom_after = oom_after;
    strcpy(dev->name, "sim");
    *out = dev;
    return 0;
}
