/* Batching of concurrent depth runs. A caller with an input of h x w joins
 * the open group of that size if there is one (and it is not full), else
 * opens one and leads it: the leader waits up to the window (or until the
 * group is full), closes the group, runs one forward pass for all of its
 * images (orfeas_nn_depth_forward_batch) and hands each member its result.
 * Members wait on their own entry, so the leader's stack frame (where the
 * group lives) may go as soon as it has handed out the results. Groups of
 * different sizes run independently, concurrently. */
#include "nn/depth_internal.h"
#include "core/clock.h"
#include "nn/depth_model.h"
#include "orfeas/error.h"
#include "orfeas/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

typedef struct batch_entry {
    const float *chw;
    float *out;
    int rc, done;
    struct batch_entry *next;
} batch_entry;

typedef struct batch_group {
    int h, w, count, max;
    batch_entry *head, *tail;
    struct batch_group *next;
} batch_group;

struct nn_depth_batcher {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a group filled or finished (CLOCK_MONOTONIC) */
    int max_batch;
    double window_ms;
    batch_group *open; /* groups still taking members */
    uint64_t runs, images;
    uint32_t largest;
};

void orfeas_nn_depth_batcher_destroy(nn_depth_batcher *b)
{
    if (!b) return;
    pthread_cond_destroy(&b->cond);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

int orfeas_depth_set_batching(orfeas_depth_model *m, int max_batch, double window_ms)
{
    if (!m || max_batch < 1 || !(window_ms >= 0 && window_ms <= 10000)) return ORFEAS_EINVAL;
    if (max_batch > ORFEAS_DEPTH_MAX_BATCH) max_batch = ORFEAS_DEPTH_MAX_BATCH;
    nn_depth_batcher *b = m->batcher;
    if (b) {
        pthread_mutex_lock(&b->lock);
        b->max_batch = max_batch;
        b->window_ms = window_ms;
        pthread_mutex_unlock(&b->lock);
        return 0;
    }
    b = calloc(1, sizeof *b);
    if (!b) return ORFEAS_ENOMEM;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr)) {
        free(b);
        return ORFEAS_ENOMEM;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int ok = pthread_mutex_init(&b->lock, NULL) == 0;
    if (ok && pthread_cond_init(&b->cond, &attr) != 0) {
        pthread_mutex_destroy(&b->lock);
        ok = 0;
    }
    pthread_condattr_destroy(&attr);
    if (!ok) {
        free(b);
        return ORFEAS_ENOMEM;
    }
    b->max_batch = max_batch;
    b->window_ms = window_ms;
    m->batcher = b;
    return 0;
}

void orfeas_depth_batch_stats_get(const orfeas_depth_model *m, orfeas_depth_batch_stats *out)
{
    out->runs = out->images = 0;
    out->largest = 0;
    nn_depth_batcher *b = m ? m->batcher : NULL;
    if (!b) return;
    pthread_mutex_lock(&b->lock);
    out->runs = b->runs;
    out->images = b->images;
    out->largest = b->largest;
    pthread_mutex_unlock(&b->lock);
}

/* The leader's part: the group is closed; runs it and hands out results. */
static void run_group(const orfeas_depth_model *m, nn_depth_batcher *b, batch_group *g)
{
    const float *in[ORFEAS_DEPTH_MAX_BATCH];
    float *res[ORFEAS_DEPTH_MAX_BATCH];
    int n = 0;
    for (batch_entry *e = g->head; e; e = e->next) {
        in[n] = e->chw;
        res[n] = e->out;
        n++;
    }
    int rc = orfeas_nn_depth_forward_batch(m, in, n, g->h, g->w, res, NULL, NULL);
    int separately = rc == ORFEAS_ENOMEM && n > 1;
    if (separately) {
        /* The batch did not fit: each image alone needs less. */
        ORFEAS_WARN("depth: a batch of %d did not fit; running the images one by one", n);
        for (batch_entry *e = g->head; e; e = e->next)
            e->rc = orfeas_nn_depth_forward(m, e->chw, g->h, g->w, e->out, NULL, NULL);
    }
    pthread_mutex_lock(&b->lock);
    b->runs += separately ? (uint64_t)n : 1;
    b->images += (uint64_t)n;
    if ((uint32_t)n > b->largest && !separately) b->largest = (uint32_t)n;
    for (batch_entry *e = g->head, *next; e; e = next) {
        next = e->next; /* e may be gone once done is seen */
        if (!separately) e->rc = rc;
        e->done = 1;
    }
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

int orfeas_nn_depth_run_shared(const orfeas_depth_model *m, const float *chw, int h, int w,
                               float *out)
{
    nn_depth_batcher *b = m ? m->batcher : NULL;
    if (!b) return orfeas_nn_depth_forward(m, chw, h, w, out, NULL, NULL);
    if (orfeas_nn_depth_check_size(h, w) || !chw || !out) return ORFEAS_EINVAL;
    batch_entry self = {.chw = chw, .out = out};
    pthread_mutex_lock(&b->lock);
    for (batch_group *g = b->open; g; g = g->next) {
        if (g->h != h || g->w != w || g->count >= g->max) continue;
        g->tail->next = &self;
        g->tail = &self;
        g->count++;
        pthread_cond_broadcast(&b->cond); /* the leader may be waiting for a full group */
        while (!self.done)
            pthread_cond_wait(&b->cond, &b->lock);
        pthread_mutex_unlock(&b->lock);
        return self.rc;
    }
    /* Lead a new group. */
    batch_group g = {.h = h, .w = w, .count = 1, .max = b->max_batch, .head = &self, .tail = &self};
    if (g.max > 1 && b->window_ms > 0) {
        g.next = b->open;
        b->open = &g;
        struct timespec until = orfeas_clock_deadline_ms(b->window_ms);
        while (g.count < g.max)
            if (pthread_cond_timedwait(&b->cond, &b->lock, &until) != 0) break; /* window over */
        batch_group **link = &b->open;
        while (*link != &g)
            link = &(*link)->next;
        *link = g.next;
    }
    pthread_mutex_unlock(&b->lock);
    run_group(m, b, &g);
    return self.rc;
}

int orfeas_depth_run_batched(const orfeas_depth_model *m, const float *chw, int h, int w,
                             float *out)
{
    return orfeas_nn_depth_run_shared(m, chw, h, w, out);
}
