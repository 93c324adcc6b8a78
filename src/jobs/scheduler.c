/* The scheduler: a bounded FIFO of queued jobs, worker threads that run the
 * pipeline, a watchdog for the per-job timeout, and a table of jobs by id
 * that keeps the most recent finished ones.
 *
 * Locking: one mutex (s->mu) guards the queue, the table and every job's
 * mutable state; condvars wake workers (work), waiters (done) and the
 * watchdog (watch). A finished job's mesh, result and thumbnail never change
 * again, so readers use them without the lock while holding a reference.
 *
 * Lifetime: the scheduler's shared state (the mutex and condvars) is
 * reference counted too; every job holds a reference, so a handler still
 * holding a job after orfeas_scheduler_destroy can read and wait on it. */
#include "jobs/scheduler.h"
#include "cache/cache.h"
#include "cache/key.h"
#include "jobs/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define TABLE_MIN_BUCKETS 256u

struct orfeas_job {
    atomic_int refs;
    orfeas_scheduler *s; /* holds a reference on the scheduler */
    char id[37];
    orfeas_job_request req; /* inputs, freed once the run is over */
    atomic_int cancel;
    int timed_out;
    orfeas_job_state state;
    double progress;
    const char *stage;
    int error;
    char error_message[200];
    orfeas_generate_stats stats;
    orfeas_mesh mesh;     /* kept for other formats and the thumbnail */
    orfeas_buffer result; /* in req.params.format */
    orfeas_buffer thumb;  /* rendered on first request */
    int thumb_ready;
    double created, started, finished; /* unix seconds */
    double deadline_ms;                /* monotonic; 0 = none */
    orfeas_job *qprev, *qnext;         /* the queue, while queued */
    orfeas_job *hnext;                 /* hash chain */
    orfeas_job *fnext;                 /* finished list, oldest first */
    uint64_t kept_bytes;               /* mesh + result, once finished */
    int interest;                      /* sync waiters (coalesced ones too) */
    int pinned;                        /* an async submit wants it regardless */
    uint32_t vertices, triangles;      /* of the result (kept across restarts) */
    int restored;                      /* loaded from the store: no mesh */
    int shutdown;                      /* cancelled by the shutdown: stays unfinished on disk */
    /* Cluster mode: 1 = dispatched from here and waiting in the cluster,
     * 2 = tracked (accepted elsewhere); 0 = runs here. */
    int remote;
    int from_stream;           /* handed in by the cluster: report the outcome back */
    int dispatching;           /* being offered to the cluster: no record there yet */
    char tag[48];              /* the cluster's handle (its stream entry) */
    orfeas_job *rprev, *rnext; /* the remote list, while remote and unfinished */
};

struct orfeas_scheduler {
    atomic_int refs; /* the owner's plus one per job */
    pthread_mutex_t mu;
    pthread_cond_t work, done, watch;
    orfeas_scheduler_config config;
    orfeas_vram *vram;
    orfeas_scheduler_observer observer;
    orfeas_generate_fn generate;
    double timeout_ms;
    uint32_t keep_finished;
    int draining, stopping;
    /* queue */
    orfeas_job *qhead, *qtail;
    uint32_t queued;
    uint32_t running;
    orfeas_job **slots; /* per worker: the running job (for the watchdog) */
    /* table */
    orfeas_job **buckets;
    uint32_t bucket_mask;
    orfeas_job *fhead, *ftail;
    uint32_t finished_kept;
    uint64_t kept_bytes; /* of all finished jobs kept */
    uint64_t totals[5];
    pthread_t *threads;
    int nthreads;
    pthread_t watchdog;
    int has_watchdog;
    orfeas_scheduler_hooks hooks; /* cluster mode when dispatch is set */
    uint32_t awaiting;            /* dispatched from here, not yet run or settled */
    orfeas_job *rhead;            /* unfinished remote jobs */
};

const char *orfeas_job_state_name(orfeas_job_state state)
{
    static const char *const names[] = {"queued", "running", "completed", "failed", "cancelled"};
    return (unsigned)state < 5 ? names[state] : "unknown";
}

void orfeas_job_request_free(orfeas_job_request *req)
{
    if (!req) return;
    free(req->image);
    free(req->mask);
    free(req->depth);
    req->image = req->mask = req->depth = NULL;
    req->image_size = req->mask_size = req->depth_size = 0;
}

int orfeas_job_request_key(const orfeas_job_request *req, const char *depth_model_id, char out[65])
{
    if (!req) {
        out[0] = '\0';
        return ORFEAS_EINVAL;
    }
    orfeas_input input = {req->image,     req->image_size, req->mask,
                          req->mask_size, req->depth,      req->depth_size};
    return orfeas_cache_key(&req->params, &input, depth_model_id, out);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double unix_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct timespec mono_abs(double at_ms)
{
    struct timespec ts;
    if (at_ms < 0) at_ms = 0;
    ts.tv_sec = (time_t)(at_ms / 1e3);
    ts.tv_nsec = (long)((at_ms - (double)ts.tv_sec * 1e3) * 1e6);
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    if (ts.tv_nsec < 0) ts.tv_nsec = 0;
    return ts;
}

/* 122 random bits from the kernel, as a version-4 UUID in lowercase. */
static int make_id(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ORFEAS_EIO;
        }
        got += (size_t)n;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

static void scheduler_unref(orfeas_scheduler *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1) return;
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->watch);
    pthread_mutex_destroy(&s->mu);
    free(s->slots);
    free(s->buckets);
    free(s->threads);
    free(s);
}

void orfeas_job_ref(orfeas_job *job)
{
    if (job) atomic_fetch_add(&job->refs, 1);
}

void orfeas_job_unref(orfeas_job *job)
{
    if (!job || atomic_fetch_sub(&job->refs, 1) != 1) return;
    orfeas_scheduler *s = job->s;
    orfeas_job_request_free(&job->req);
    orfeas_mesh_free(&job->mesh);
    orfeas_buffer_free(&job->result);
    orfeas_buffer_free(&job->thumb);
    free(job);
    scheduler_unref(s);
}

/* --- table and lists (under s->mu) --- */

static void table_insert(orfeas_scheduler *s, orfeas_job *job)
{
    uint32_t b = hash_id(job->id) & s->bucket_mask;
    job->hnext = s->buckets[b];
    s->buckets[b] = job;
}

static void table_remove(orfeas_scheduler *s, orfeas_job *job)
{
    orfeas_job **p = &s->buckets[hash_id(job->id) & s->bucket_mask];
    while (*p && *p != job)
        p = &(*p)->hnext;
    if (*p) *p = job->hnext;
    job->hnext = NULL;
}

static void queue_push(orfeas_scheduler *s, orfeas_job *job)
{
    job->qnext = NULL;
    job->qprev = s->qtail;
    if (s->qtail)
        s->qtail->qnext = job;
    else
        s->qhead = job;
    s->qtail = job;
    s->queued++;
}

static void queue_remove(orfeas_scheduler *s, orfeas_job *job)
{
    if (job->qprev)
        job->qprev->qnext = job->qnext;
    else
        s->qhead = job->qnext;
    if (job->qnext)
        job->qnext->qprev = job->qprev;
    else
        s->qtail = job->qprev;
    job->qprev = job->qnext = NULL;
    s->queued--;
}

static void remote_push(orfeas_scheduler *s, orfeas_job *job, int kind)
{
    job->remote = kind;
    job->rprev = NULL;
    job->rnext = s->rhead;
    if (s->rhead) s->rhead->rprev = job;
    s->rhead = job;
    if (kind == 1) s->awaiting++;
}

/* Leaves the remote list (it runs here now, or it is settled); the flag
 * stays 2 for a settled tracked job, whose mesh is elsewhere. */
static void remote_leave(orfeas_scheduler *s, orfeas_job *job, int keep_flag)
{
    if (!job->remote) return;
    if (job->rprev)
        job->rprev->rnext = job->rnext;
    else if (s->rhead == job)
        s->rhead = job->rnext;
    if (job->rnext) job->rnext->rprev = job->rprev;
    job->rprev = job->rnext = NULL;
    if (job->remote == 1) s->awaiting--;
    job->remote = keep_flag ? 2 : 0;
}

/* Marks a job finished, keeps it among the finished ones, evicts the oldest
 * beyond the limit (their table reference dropped after unlocking: the
 * caller passes them back through *evicted) and wakes waiters. */
static void keep_locked(orfeas_scheduler *s, orfeas_job *job, orfeas_job **evicted);

static void finish_locked(orfeas_scheduler *s, orfeas_job *job, orfeas_job_state state,
                          orfeas_job **evicted)
{
    job->state = state;
    job->finished = unix_s();
    job->stage = "done";
    if (state == ORFEAS_JOB_COMPLETED) job->progress = 100;
    s->totals[state]++;
    keep_locked(s, job, evicted);
}

/* Appends a finished job to the kept ones. */
static void keep_locked(orfeas_scheduler *s, orfeas_job *job, orfeas_job **evicted)
{
    job->fnext = NULL;
    if (s->ftail)
        s->ftail->fnext = job;
    else
        s->fhead = job;
    s->ftail = job;
    s->finished_kept++;
    job->kept_bytes = (uint64_t)job->mesh.vertex_count * 16 +
                      (uint64_t)job->mesh.triangle_count * 12 + job->result.size;
    s->kept_bytes += job->kept_bytes;
    /* Bounded both in count and in bytes (a quality-10 mesh and its file
     * take tens of MB); the newest job always stays. */
    while ((s->finished_kept > s->keep_finished || s->kept_bytes > ORFEAS_SCHEDULER_KEEP_BYTES) &&
           s->fhead && s->fhead != job) {
        orfeas_job *old = s->fhead;
        s->fhead = old->fnext;
        if (!s->fhead) s->ftail = NULL;
        s->finished_kept--;
        s->kept_bytes -= old->kept_bytes;
        table_remove(s, old);
        old->fnext = *evicted;
        *evicted = old;
    }
    pthread_cond_broadcast(&s->done);
}

static void unref_list(orfeas_job *list)
{
    while (list) {
        orfeas_job *next = list->fnext;
        orfeas_job_unref(list);
        list = next;
    }
}

static void set_error(orfeas_job *job, int err, const char *message)
{
    job->error = err;
    snprintf(job->error_message, sizeof job->error_message, "%s",
             message && *message ? message : orfeas_strerror(err));
}

/* --- the run --- */

static int on_progress(void *userdata, orfeas_stage stage, double percent)
{
    orfeas_job *job = userdata;
    orfeas_scheduler *s = job->s;
    pthread_mutex_lock(&s->mu);
    job->progress = percent > 99 ? 99 : percent; /* 100 once the result exists */
    job->stage =
        stage + 1 < ORFEAS_STAGE_COUNT_ ? orfeas_stage_name((orfeas_stage)(stage + 1)) : "export";
    /* The watchdog cancels too; this catches a deadline between its ticks. */
    if (job->deadline_ms > 0 && mono_ms() >= job->deadline_ms) {
        job->timed_out = 1;
        atomic_store(&job->cancel, 1);
    }
    pthread_mutex_unlock(&s->mu);
    return atomic_load(&job->cancel);
}

static void run_job(orfeas_scheduler *s, orfeas_job *job, int slot)
{
    orfeas_input input = {job->req.image,     job->req.image_size, job->req.mask,
                          job->req.mask_size, job->req.depth,      job->req.depth_size};
    orfeas_generate_options opts;
    memset(&opts, 0, sizeof opts);
    opts.limits = s->config.limits;
    opts.progress = on_progress;
    opts.progress_userdata = job;
    opts.cancel = &job->cancel;
    opts.vram = s->vram;
    opts.depth_model = s->config.depth_model;
    orfeas_generate_stats stats;
    memset(&stats, 0, sizeof stats);
    orfeas_mesh mesh;
    memset(&mesh, 0, sizeof mesh);
    int err = s->generate(&input, &job->req.params, &opts, &mesh, &stats);
    orfeas_buffer result = {0};
    if (!err) {
        err = orfeas_export(&mesh, job->req.params.format,
                            job->req.params.texture == ORFEAS_TEXTURE_VERTEX, &result);
        if (err)
            snprintf(stats.error_detail, sizeof stats.error_detail, "exporting %s: %s",
                     orfeas_format_name(job->req.params.format), orfeas_strerror(err));
    }
    /* Stored before the job is marked finished: a request arriving in
     * between finds the result in the cache, not a gap. A full disk fails
     * the job (storage_full) rather than leaving a result that would be
     * lost on restart. */
    orfeas_result_meta meta;
    if (!err) orfeas_result_meta_from(&meta, job->id, job->req.params.format, &mesh, &stats);
    if (!err && s->config.store) {
        err = orfeas_store_job_completed(s->config.store, job->id, unix_s(), &meta, result.data,
                                         result.size);
        if (err)
            snprintf(stats.error_detail, sizeof stats.error_detail, "storing the result: %s",
                     orfeas_strerror(err));
    }
    if (!err && s->config.cache && job->req.cache_key[0]) {
        err =
            orfeas_cache_put(s->config.cache, job->req.cache_key, &meta, result.data, result.size);
        if (err)
            snprintf(stats.error_detail, sizeof stats.error_detail, "storing the result: %s",
                     orfeas_strerror(err));
    }
    if (err) {
        orfeas_mesh_free(&mesh);
        orfeas_buffer_free(&result);
    }
    if (s->observer.generation) s->observer.generation(s->observer.ud, &stats, err);

    /* The outcome is settled first and logged before waiters wake, so the
     * job's line precedes the request's in the log. */
    pthread_mutex_lock(&s->mu);
    orfeas_job_request_free(&job->req);
    job->stats = stats;
    orfeas_job_state state = ORFEAS_JOB_COMPLETED;
    if (!err) {
        job->mesh = mesh;
        job->result = result;
        job->vertices = mesh.vertex_count;
        job->triangles = mesh.triangle_count;
    } else if (err == ORFEAS_ECANCELLED && job->timed_out) {
        char msg[64];
        snprintf(msg, sizeof msg, "timed out after %g s", s->timeout_ms / 1e3);
        set_error(job, ORFEAS_ETIMEOUT, msg);
        state = ORFEAS_JOB_FAILED;
    } else if (err == ORFEAS_ECANCELLED) {
        set_error(job, err, "cancelled");
        state = ORFEAS_JOB_CANCELLED;
    } else {
        set_error(job, err, stats.error_detail);
        state = ORFEAS_JOB_FAILED;
    }
    double ms = (unix_s() - job->started) * 1e3;
    pthread_mutex_unlock(&s->mu);

    if (state == ORFEAS_JOB_COMPLETED)
        ORFEAS_INFO("job %s completed in %.0f ms (%u triangles)", job->id, ms,
                    job->mesh.triangle_count);
    else if (state == ORFEAS_JOB_CANCELLED)
        ORFEAS_INFO("job %s cancelled after %.0f ms", job->id, ms);
    else
        ORFEAS_INFO("job %s failed: %s (%s)", job->id, orfeas_error_code(job->error),
                    job->error_message);

    orfeas_job *evicted = NULL;
    pthread_mutex_lock(&s->mu);
    /* Leaving the running set in the same step keeps the counts coherent. */
    s->slots[slot] = NULL;
    s->running--;
    finish_locked(s, job, state, &evicted);
    int persist = state != ORFEAS_JOB_COMPLETED && !job->shutdown;
    pthread_mutex_unlock(&s->mu);
    unref_list(evicted);
    /* A job the shutdown cancelled stays running on disk: it runs again on
     * the next start. */
    if (persist && s->config.store)
        orfeas_store_job_finished(s->config.store, job->id, state, job->finished, job->error,
                                  job->error_message);
    if (job->from_stream && !job->shutdown && s->hooks.finished)
        s->hooks.finished(s->hooks.ctx, job);
}

typedef struct worker_arg {
    orfeas_scheduler *s;
    int slot;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    orfeas_scheduler *s = wa->s;
    int slot = wa->slot;
    free(wa);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stopping && !s->qhead)
            pthread_cond_wait(&s->work, &s->mu);
        if (s->stopping) break;
        orfeas_job *job = s->qhead;
        queue_remove(s, job);
        orfeas_job_ref(job);
        job->state = ORFEAS_JOB_RUNNING;
        job->started = unix_s();
        job->stage = orfeas_stage_name(ORFEAS_STAGE_DECODE);
        job->deadline_ms = s->timeout_ms > 0 ? mono_ms() + s->timeout_ms : 0;
        s->running++;
        s->slots[slot] = job;
        pthread_cond_signal(&s->watch);
        pthread_mutex_unlock(&s->mu);

        ORFEAS_INFO("job %s started", job->id);
        if (s->config.store) orfeas_store_job_started(s->config.store, job->id, job->started);
        run_job(s, job, slot);
        orfeas_job_unref(job);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Cancels running jobs past their deadline; sleeps until the next one. */
static void *watchdog_main(void *arg)
{
    orfeas_scheduler *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        double now = mono_ms(), next = now + 1000;
        for (int i = 0; i < s->nthreads; i++) {
            orfeas_job *job = s->slots[i];
            if (!job || job->deadline_ms <= 0) continue;
            if (now >= job->deadline_ms) {
                if (!job->timed_out) {
                    job->timed_out = 1;
                    atomic_store(&job->cancel, 1);
                    ORFEAS_WARN("job %s: timeout, cancelling", job->id);
                }
            } else if (job->deadline_ms < next) {
                next = job->deadline_ms;
            }
        }
        struct timespec ts = mono_abs(next);
        pthread_cond_timedwait(&s->watch, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* --- the API --- */

int orfeas_scheduler_create(const orfeas_scheduler_config *config, orfeas_vram *vram,
                            const orfeas_scheduler_observer *observer, orfeas_scheduler **out)
{
    return orfeas_scheduler_create_tuned(config, NULL, vram, observer, out);
}

static int init_sync(orfeas_scheduler *s)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr)) return ORFEAS_EINTERNAL;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_mutex_init(&s->mu, NULL);
    if (!rc) rc = pthread_cond_init(&s->work, &attr);
    if (!rc) rc = pthread_cond_init(&s->done, &attr);
    if (!rc) rc = pthread_cond_init(&s->watch, &attr);
    pthread_condattr_destroy(&attr);
    return rc ? ORFEAS_EINTERNAL : 0;
}

/* One stored job back into the table: finished ones as they were (a
 * completed one with its result bytes), unfinished ones queued again. */
static void restore_job(void *ctx, orfeas_stored_job *sj)
{
    orfeas_scheduler *s = ctx;
    orfeas_job *job = calloc(1, sizeof *job);
    if (!job) {
        ORFEAS_ERROR("restoring job %s: out of memory", sj->id);
        return;
    }
    memcpy(job->id, sj->id, sizeof job->id);
    atomic_init(&job->refs, 1);
    atomic_init(&job->cancel, 0);
    job->s = s;
    job->created = sj->created;
    job->req.params = sj->req.params;
    memcpy(job->req.cache_key, sj->req.cache_key, sizeof job->req.cache_key);
    orfeas_job *evicted = NULL;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_lock(&s->mu);
    table_insert(s, job);
    if (sj->state == ORFEAS_JOB_QUEUED) {
        job->req = sj->req; /* takes the inputs */
        memset(&sj->req, 0, sizeof sj->req);
        job->state = ORFEAS_JOB_QUEUED;
        job->stage = "queued";
        job->pinned = 1; /* no waiter left to abandon it */
        queue_push(s, job);
        pthread_cond_signal(&s->work);
    } else {
        job->state = sj->state;
        job->started = sj->started;
        job->finished = sj->finished;
        job->stage = "done";
        job->restored = 1;
        if (sj->state == ORFEAS_JOB_COMPLETED) {
            job->progress = 100;
            job->result = (orfeas_buffer){sj->result, sj->result_size, sj->result_size};
            sj->result = NULL;
            orfeas_result_meta_to_stats(&sj->meta, &job->stats);
            job->vertices = sj->meta.vertices;
            job->triangles = sj->meta.triangles;
        } else {
            job->error = sj->error ? sj->error : ORFEAS_EINTERNAL;
            memcpy(job->error_message, sj->error_message, sizeof job->error_message);
        }
        keep_locked(s, job, &evicted);
    }
    pthread_mutex_unlock(&s->mu);
    unref_list(evicted);
    /* sj's id: a worker may already have taken the job. */
    ORFEAS_INFO("job %s restored (%s)", sj->id,
                sj->state == ORFEAS_JOB_QUEUED ? "runs again" : orfeas_job_state_name(sj->state));
}

int orfeas_scheduler_create_tuned(const orfeas_scheduler_config *config,
                                  const orfeas_scheduler_tuning *tuning, orfeas_vram *vram,
                                  const orfeas_scheduler_observer *observer, orfeas_scheduler **out)
{
    *out = NULL;
    if (!config || config->workers < 1 || config->workers > 1024 || config->queue_max < 1 ||
        config->job_timeout_s < 0)
        return ORFEAS_EINVAL;
    orfeas_scheduler *s = calloc(1, sizeof *s);
    if (!s) return ORFEAS_ENOMEM;
    if (init_sync(s)) {
        free(s);
        return ORFEAS_EINTERNAL;
    }
    atomic_init(&s->refs, 1);
    s->config = *config;
    s->vram = vram;
    if (observer) s->observer = *observer;
    s->generate = tuning && tuning->generate ? tuning->generate : orfeas_generate;
    s->keep_finished = tuning && tuning->keep_finished > 0 ? (uint32_t)tuning->keep_finished
                                                           : ORFEAS_SCHEDULER_KEEP_FINISHED;
    s->timeout_ms =
        tuning && tuning->job_timeout_ms > 0 ? tuning->job_timeout_ms : config->job_timeout_s * 1e3;
    /* Buckets: a power of two at least the most jobs the table can hold. */
    uint64_t most = (uint64_t)s->keep_finished + (uint64_t)config->queue_max + 1024u;
    uint32_t n = TABLE_MIN_BUCKETS;
    while (n < most && n < (1u << 20))
        n <<= 1;
    s->bucket_mask = n - 1;
    s->buckets = calloc(n, sizeof *s->buckets);
    s->slots = calloc((size_t)config->workers, sizeof *s->slots);
    s->threads = calloc((size_t)config->workers, sizeof *s->threads);
    if (!s->buckets || !s->slots || !s->threads) {
        scheduler_unref(s);
        return ORFEAS_ENOMEM;
    }
    for (int i = 0; i < config->workers; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) *wa = (worker_arg){s, i};
        if (!wa || pthread_create(&s->threads[i], NULL, worker_main, wa)) {
            free(wa);
            orfeas_scheduler_destroy(s, 0);
            return ORFEAS_EINTERNAL;
        }
        s->nthreads++;
    }
    if (s->timeout_ms > 0) {
        if (pthread_create(&s->watchdog, NULL, watchdog_main, s)) {
            orfeas_scheduler_destroy(s, 0);
            return ORFEAS_EINTERNAL;
        }
        s->has_watchdog = 1;
    }
    if (config->store) {
        int rc = orfeas_store_load(config->store, (int)s->keep_finished, restore_job, s);
        if (rc) {
            orfeas_scheduler_destroy(s, 0);
            return rc;
        }
    }
    *out = s;
    return 0;
}

int orfeas_scheduler_submit(orfeas_scheduler *s, orfeas_job_request *req, orfeas_job **out)
{
    return orfeas_scheduler_submit_shared(s, req, 0, out, NULL);
}

/* Under s->mu: the unfinished job with this key, if any (the queue and the
 * running slots are short: a scan is enough). */
static orfeas_job *find_inflight_locked(orfeas_scheduler *s, const char *key)
{
    if (!key[0]) return NULL;
    for (int i = 0; i < s->nthreads; i++) {
        orfeas_job *job = s->slots[i];
        if (job && !atomic_load(&job->cancel) && strcmp(job->req.cache_key, key) == 0) return job;
    }
    for (orfeas_job *job = s->qhead; job; job = job->qnext)
        if (strcmp(job->req.cache_key, key) == 0) return job;
    for (orfeas_job *job = s->rhead; job; job = job->rnext)
        if (!atomic_load(&job->cancel) && strcmp(job->req.cache_key, key) == 0) return job;
    return NULL;
}

/* Under s->mu: one more waiter on a job found for a coalesced request. */
static void attach_locked(orfeas_job *same, int pinned, orfeas_job **out)
{
    same->interest++;
    same->pinned |= pinned;
    if (out) {
        orfeas_job_ref(same);
        *out = same;
    }
}

/* The job another node computes this key with, if it can be joined: one
 * that is not finished, or finished with its result. */
static orfeas_job *claimed_elsewhere(orfeas_scheduler *s, const char *key, const char *id)
{
    char other[37];
    if (!s->hooks.claim_key || s->hooks.claim_key(s->hooks.ctx, key, id, other) != 1) return NULL;
    orfeas_job *same = orfeas_scheduler_find(s, other);
    if (!same) return NULL;
    pthread_mutex_lock(&s->mu);
    int joinable = same->state == ORFEAS_JOB_QUEUED || same->state == ORFEAS_JOB_RUNNING ||
                   same->state == ORFEAS_JOB_COMPLETED;
    pthread_mutex_unlock(&s->mu);
    if (joinable) return same;
    orfeas_job_unref(same);
    return NULL;
}

/* Offers a new job to the cluster; back to the local queue when it cannot
 * take it (Redis down): the job still runs, here. */
static void dispatch(orfeas_scheduler *s, orfeas_job *job)
{
    orfeas_job_ref(job);
    int rc = s->hooks.dispatch(s->hooks.ctx, job);
    pthread_mutex_lock(&s->mu);
    job->dispatching = 0;
    if (rc && job->remote == 1 && job->state == ORFEAS_JOB_QUEUED) {
        remote_leave(s, job, 0);
        queue_push(s, job);
        pthread_cond_signal(&s->work);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        ORFEAS_WARN("job %s runs here: the cluster did not take it (%s)", job->id,
                    orfeas_strerror(rc));
    }
    orfeas_job_unref(job);
}

int orfeas_scheduler_submit_shared(orfeas_scheduler *s, orfeas_job_request *req, int pinned,
                                   orfeas_job **out, int *attached)
{
    if (out) *out = NULL;
    if (attached) *attached = 0;
    if (attached && req->cache_key[0]) {
        pthread_mutex_lock(&s->mu);
        orfeas_job *same = s->draining ? NULL : find_inflight_locked(s, req->cache_key);
        if (same) {
            attach_locked(same, pinned, out);
            pthread_mutex_unlock(&s->mu);
            *attached = 1;
            orfeas_job_request_free(req);
            ORFEAS_INFO("request attached to job %s", same->id);
            return 0;
        }
        pthread_mutex_unlock(&s->mu);
    }
    orfeas_job *job = calloc(1, sizeof *job);
    int rc = job ? make_id(job->id) : ORFEAS_ENOMEM;
    if (rc) {
        free(job);
        orfeas_job_request_free(req);
        return rc;
    }
    if (attached && req->cache_key[0]) {
        orfeas_job *same = claimed_elsewhere(s, req->cache_key, job->id);
        if (same) {
            pthread_mutex_lock(&s->mu);
            attach_locked(same, pinned, NULL);
            pthread_mutex_unlock(&s->mu);
            if (out)
                *out = same;
            else
                orfeas_job_unref(same);
            *attached = 1;
            ORFEAS_INFO("request attached to job %s (another node)", same->id);
            orfeas_job_request_free(req);
            free(job);
            return 0;
        }
    }
    job->req = *req;
    memset(req, 0, sizeof *req);
    atomic_init(&job->refs, 1); /* the table's */
    atomic_init(&job->cancel, 0);
    job->s = s;
    job->state = ORFEAS_JOB_QUEUED;
    job->stage = "queued";
    job->created = unix_s();
    job->interest = 1;
    job->pinned = pinned;
    /* Durable before it is accepted: nothing answered 202 is lost. */
    if (s->config.store) {
        rc = orfeas_store_job_add(s->config.store, job->id, job->created, &job->req);
        if (rc) {
            ORFEAS_WARN("job refused: cannot persist it: %s", orfeas_strerror(rc));
            orfeas_job_request_free(&job->req);
            free(job);
            return rc;
        }
    }

    pthread_mutex_lock(&s->mu);
    /* Again: an identical request may have got in meanwhile. */
    orfeas_job *same =
        attached && !s->draining ? find_inflight_locked(s, job->req.cache_key) : NULL;
    if (same) {
        attach_locked(same, pinned, out);
        pthread_mutex_unlock(&s->mu);
        *attached = 1;
        if (s->config.store) orfeas_store_job_delete(s->config.store, job->id);
        orfeas_job_request_free(&job->req);
        free(job);
        return 0;
    }
    if (s->draining || s->queued + s->awaiting >= (uint32_t)s->config.queue_max) {
        int draining = s->draining;
        pthread_mutex_unlock(&s->mu);
        if (s->config.store) orfeas_store_job_delete(s->config.store, job->id);
        orfeas_job_request_free(&job->req);
        free(job);
        ORFEAS_WARN("job refused: %s", draining ? "draining" : "queue full");
        return ORFEAS_EBUSY;
    }
    atomic_fetch_add(&s->refs, 1);
    table_insert(s, job);
    int cluster = s->hooks.dispatch != NULL && !job->req.local;
    if (cluster) {
        remote_push(s, job, 1);
        job->dispatching = 1; /* not collected before its record exists */
    } else {
        queue_push(s, job);
    }
    if (out) {
        orfeas_job_ref(job);
        *out = job;
    }
    uint32_t position = s->queued + s->awaiting;
    if (!cluster) pthread_cond_signal(&s->work);
    orfeas_job_ref(job); /* for the log line and the dispatch below */
    pthread_mutex_unlock(&s->mu);
    ORFEAS_INFO("job %s queued (position %u%s)", job->id, position, cluster ? ", cluster" : "");
    if (cluster) dispatch(s, job);
    orfeas_job_unref(job);
    return 0;
}

orfeas_job *orfeas_scheduler_find(orfeas_scheduler *s, const char *id)
{
    if (!id) return NULL;
    pthread_mutex_lock(&s->mu);
    orfeas_job *job = s->buckets[hash_id(id) & s->bucket_mask];
    while (job && strcmp(job->id, id) != 0)
        job = job->hnext;
    orfeas_job_ref(job);
    pthread_mutex_unlock(&s->mu);
    if (!job && s->hooks.lookup) job = s->hooks.lookup(s->hooks.ctx, id);
    return job;
}

/* Under s->mu: a queued job leaves the queue as cancelled. */
static void cancel_queued_locked(orfeas_scheduler *s, orfeas_job *job, const char *why,
                                 orfeas_job **evicted)
{
    queue_remove(s, job);
    set_error(job, ORFEAS_ECANCELLED, why);
    orfeas_job_request_free(&job->req);
    finish_locked(s, job, ORFEAS_JOB_CANCELLED, evicted);
}

void orfeas_scheduler_abandon(orfeas_scheduler *s, orfeas_job *job)
{
    if (!job) return;
    pthread_mutex_lock(&s->mu);
    int last = --job->interest <= 0 && !job->pinned;
    pthread_mutex_unlock(&s->mu);
    if (last) orfeas_scheduler_cancel(s, job);
}

int orfeas_scheduler_cancel(orfeas_scheduler *s, orfeas_job *job)
{
    if (!job) return ORFEAS_EINVAL;
    orfeas_job *evicted = NULL;
    pthread_mutex_lock(&s->mu);
    int was = job->state;
    int remote =
        job->remote && (job->state == ORFEAS_JOB_QUEUED || job->state == ORFEAS_JOB_RUNNING);
    if (remote)
        atomic_store(&job->cancel, 1); /* settled when the cluster reports it */
    else if (job->state == ORFEAS_JOB_QUEUED)
        cancel_queued_locked(s, job, "cancelled while queued", &evicted);
    else if (job->state == ORFEAS_JOB_RUNNING)
        atomic_store(&job->cancel, 1);
    pthread_mutex_unlock(&s->mu);
    if (remote && s->hooks.cancel) s->hooks.cancel(s->hooks.ctx, job);
    unref_list(evicted);
    if (was == ORFEAS_JOB_QUEUED && !remote && s->config.store)
        orfeas_store_job_finished(s->config.store, job->id, ORFEAS_JOB_CANCELLED, job->finished,
                                  ORFEAS_ECANCELLED, "cancelled while queued");
    if (was == ORFEAS_JOB_QUEUED || was == ORFEAS_JOB_RUNNING)
        ORFEAS_INFO("job %s: cancel requested (%s)", job->id,
                    orfeas_job_state_name((orfeas_job_state)was));
    return 0;
}

uint32_t orfeas_scheduler_queue_depth(orfeas_scheduler *s)
{
    if (!s) return 0;
    pthread_mutex_lock(&s->mu);
    uint32_t n = s->queued;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void orfeas_scheduler_counts(orfeas_scheduler *s, uint64_t counts[5])
{
    memset(counts, 0, 5 * sizeof counts[0]);
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    counts[ORFEAS_JOB_QUEUED] = s->queued;
    counts[ORFEAS_JOB_RUNNING] = s->running;
    for (int i = ORFEAS_JOB_COMPLETED; i < 5; i++)
        counts[i] = s->totals[i];
    pthread_mutex_unlock(&s->mu);
}

void orfeas_scheduler_drain(orfeas_scheduler *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    pthread_mutex_unlock(&s->mu);
}

void orfeas_scheduler_destroy(orfeas_scheduler *s, int grace_s)
{
    if (!s) return;
    orfeas_job *evicted = NULL;
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    /* Queued jobs are not started any more: they end cancelled at once
     * (and stay queued on disk, to run after a restart). */
    while (s->qhead) {
        s->qhead->shutdown = 1;
        cancel_queued_locked(s, s->qhead, "server shutting down", &evicted);
    }
    /* Jobs waiting in the cluster stay there (another node runs them);
     * here they end, so that no waiter blocks the shutdown. */
    while (s->rhead) {
        orfeas_job *job = s->rhead;
        remote_leave(s, job, 1);
        job->shutdown = 1;
        set_error(job, ORFEAS_ECANCELLED, "server shutting down");
        finish_locked(s, job, ORFEAS_JOB_CANCELLED, &evicted);
    }
    double deadline = mono_ms() + (grace_s > 0 ? grace_s * 1e3 : 0);
    while (s->running > 0 && mono_ms() < deadline) {
        struct timespec ts = mono_abs(deadline);
        pthread_cond_timedwait(&s->done, &s->mu, &ts);
    }
    for (int i = 0; i < s->nthreads; i++)
        if (s->slots[i]) {
            s->slots[i]->shutdown = 1;
            atomic_store(&s->slots[i]->cancel, 1);
        }
    if (s->running) ORFEAS_WARN("shutdown: cancelling %u running job(s)", s->running);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->watch);
    pthread_mutex_unlock(&s->mu);
    unref_list(evicted);

    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i], NULL);
    if (s->has_watchdog) pthread_join(s->watchdog, NULL);

    /* Drop the table's references; jobs still held elsewhere live on. */
    pthread_mutex_lock(&s->mu);
    orfeas_job *all = NULL;
    for (uint32_t b = 0; b <= s->bucket_mask; b++) {
        while (s->buckets[b]) {
            orfeas_job *job = s->buckets[b];
            s->buckets[b] = job->hnext;
            job->hnext = NULL;
            job->fnext = all;
            all = job;
        }
    }
    s->fhead = s->ftail = NULL;
    s->finished_kept = 0;
    pthread_mutex_unlock(&s->mu);
    unref_list(all);
    scheduler_unref(s);
}

int orfeas_job_wait(orfeas_job *job, int timeout_ms)
{
    orfeas_scheduler *s = job->s;
    double deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : 0;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (job->state == ORFEAS_JOB_QUEUED || job->state == ORFEAS_JOB_RUNNING) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&s->done, &s->mu);
            continue;
        }
        if (mono_ms() >= deadline) {
            rc = ORFEAS_ETIMEOUT;
            break;
        }
        struct timespec ts = mono_abs(deadline);
        pthread_cond_timedwait(&s->done, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void orfeas_job_snapshot_get(orfeas_job *job, orfeas_job_snapshot *out)
{
    orfeas_scheduler *s = job->s;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    memcpy(out->id, job->id, sizeof out->id);
    out->state = job->state;
    out->progress = job->progress;
    out->stage = job->stage;
    if (job->state == ORFEAS_JOB_QUEUED) {
        uint32_t pos = 1;
        for (orfeas_job *q = s->qhead; q && q != job; q = q->qnext)
            pos++;
        out->queue_position = pos;
    }
    out->error = job->error;
    memcpy(out->error_message, job->error_message, sizeof out->error_message);
    out->format = job->req.params.format;
    out->stats = job->stats;
    out->vertices = job->vertices;
    out->triangles = job->triangles;
    out->result_size = job->result.size;
    out->created = job->created;
    out->started = job->started;
    out->finished = job->finished;
    pthread_mutex_unlock(&s->mu);
}

static int by_created_desc(const void *a, const void *b)
{
    const orfeas_job_snapshot *x = a, *y = b;
    if (x->created != y->created) return x->created < y->created ? 1 : -1;
    return strcmp(x->id, y->id);
}

int orfeas_scheduler_list(orfeas_scheduler *s, orfeas_job_snapshot *out, int max)
{
    if (!s || max < 0 || (max > 0 && !out)) return ORFEAS_EINVAL;
    if (max == 0) return 0;
    /* Take a reference on every job in the table, then snapshot them
     * unlocked (orfeas_job_snapshot_get locks) and keep the newest. */
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (uint32_t b = 0; b <= s->bucket_mask; b++)
        for (orfeas_job *job = s->buckets[b]; job; job = job->hnext)
            n++;
    orfeas_job **jobs = n ? malloc(n * sizeof *jobs) : NULL;
    if (!jobs) {
        pthread_mutex_unlock(&s->mu);
        return n ? ORFEAS_ENOMEM : 0;
    }
    size_t k = 0;
    for (uint32_t b = 0; b <= s->bucket_mask; b++)
        for (orfeas_job *job = s->buckets[b]; job; job = job->hnext) {
            orfeas_job_ref(job);
            jobs[k++] = job;
        }
    pthread_mutex_unlock(&s->mu);
    orfeas_job_snapshot *all = malloc(n * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        if (all) orfeas_job_snapshot_get(jobs[i], &all[i]);
        orfeas_job_unref(jobs[i]);
    }
    free(jobs);
    if (!all) return ORFEAS_ENOMEM;
    qsort(all, n, sizeof *all, by_created_desc);
    int count = n < (size_t)max ? (int)n : max;
    if (count) memcpy(out, all, (size_t)count * sizeof *out);
    free(all);
    return count;
}

/* 0 when completed (the kept data may be read without the lock from now
 * on), else why not. */
static int completed(orfeas_job *job)
{
    orfeas_scheduler *s = job->s;
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (job->state == ORFEAS_JOB_QUEUED || job->state == ORFEAS_JOB_RUNNING)
        rc = ORFEAS_ENOTREADY;
    else if (job->state != ORFEAS_JOB_COMPLETED)
        rc = job->error ? job->error : ORFEAS_EINTERNAL;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int orfeas_job_result(orfeas_job *job, const uint8_t **data, size_t *size)
{
    int rc = completed(job);
    if (rc) return rc;
    /* Completed on another node whose result was too large for Redis. */
    if (job->restored && job->result.size == 0) return ORFEAS_ENOTFOUND;
    *data = job->result.data;
    *size = job->result.size;
    return 0;
}

int orfeas_job_export(orfeas_job *job, orfeas_format format, orfeas_buffer *out)
{
    int rc = completed(job);
    if (rc) return rc;
    if (format == job->req.params.format) {
        out->size = 0;
        return orfeas_buffer_append(out, job->result.data, job->result.size);
    }
    if (job->restored) return ORFEAS_ENOTFOUND;
    return orfeas_export(&job->mesh, format, job->req.params.texture == ORFEAS_TEXTURE_VERTEX, out);
}

int orfeas_job_thumbnail(orfeas_job *job, const uint8_t **data, size_t *size)
{
    int rc = completed(job);
    if (rc) return rc;
    if (job->restored) return ORFEAS_ENOTFOUND;
    orfeas_scheduler *s = job->s;
    pthread_mutex_lock(&s->mu);
    int ready = job->thumb_ready;
    pthread_mutex_unlock(&s->mu);
    if (!ready) {
        /* Rendered outside the lock; if two requests race, one copy wins. */
        orfeas_buffer png = {0};
        rc = orfeas_render_thumbnail(&job->mesh, NULL, &png);
        if (rc) {
            orfeas_buffer_free(&png);
            return rc;
        }
        pthread_mutex_lock(&s->mu);
        if (!job->thumb_ready) {
            job->thumb = png;
            job->thumb_ready = 1;
            png = (orfeas_buffer){0};
        }
        pthread_mutex_unlock(&s->mu);
        orfeas_buffer_free(&png);
    }
    *data = job->thumb.data;
    *size = job->thumb.size;
    return 0;
}

/* --- cluster mode --- */

void orfeas_scheduler_set_hooks(orfeas_scheduler *s, const orfeas_scheduler_hooks *hooks)
{
    pthread_mutex_lock(&s->mu);
    if (hooks)
        s->hooks = *hooks;
    else
        memset(&s->hooks, 0, sizeof s->hooks);
    pthread_mutex_unlock(&s->mu);
}

void orfeas_scheduler_hold(orfeas_scheduler *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void orfeas_scheduler_release(orfeas_scheduler *s)
{
    if (s) scheduler_unref(s);
}

static orfeas_job *table_find_locked(orfeas_scheduler *s, const char *id)
{
    orfeas_job *job = s->buckets[hash_id(id) & s->bucket_mask];
    while (job && strcmp(job->id, id) != 0)
        job = job->hnext;
    return job;
}

int orfeas_scheduler_submit_stream(orfeas_scheduler *s, orfeas_job_request *req, const char *id,
                                   const char *tag, orfeas_job **out)
{
    if (out) *out = NULL;
    if (!id || strlen(id) != 36) {
        orfeas_job_request_free(req);
        return ORFEAS_EINVAL;
    }
    orfeas_job *fresh = NULL;
    if (req) {
        fresh = calloc(1, sizeof *fresh);
        if (!fresh) {
            orfeas_job_request_free(req);
            return ORFEAS_ENOMEM;
        }
    }
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    orfeas_job *job = table_find_locked(s, id);
    if (s->draining) {
        rc = ORFEAS_EBUSY;
    } else if (job) {
        /* A remote job may be reported running: by a node that died. */
        int waiting = job->state == ORFEAS_JOB_QUEUED || job->state == ORFEAS_JOB_RUNNING;
        if (!job->remote || !waiting || atomic_load(&job->cancel)) {
            rc = ORFEAS_ENOTREADY;
        } else if (req) {
            char key[sizeof job->req.cache_key];
            memcpy(key, job->req.cache_key, sizeof key);
            orfeas_job_request_free(&job->req);
            job->req = *req;
            memset(req, 0, sizeof *req);
            if (!job->req.cache_key[0]) memcpy(job->req.cache_key, key, sizeof key);
        } else if (!job->req.image) {
            rc = ORFEAS_ENOTFOUND; /* tracked: its inputs are in the cluster */
        }
    } else if (!req) {
        rc = ORFEAS_ENOTFOUND;
    } else {
        job = fresh;
        fresh = NULL;
        memcpy(job->id, id, sizeof job->id);
        job->req = *req;
        memset(req, 0, sizeof *req);
        atomic_init(&job->refs, 1);
        atomic_init(&job->cancel, 0);
        job->s = s;
        job->created = unix_s();
        job->pinned = 1;
        atomic_fetch_add(&s->refs, 1);
        table_insert(s, job);
    }
    if (!rc) {
        remote_leave(s, job, 0);
        job->state = ORFEAS_JOB_QUEUED;
        job->stage = "queued";
        job->from_stream = 1;
        snprintf(job->tag, sizeof job->tag, "%s", tag ? tag : "");
        queue_push(s, job);
        pthread_cond_signal(&s->work);
        if (out) {
            orfeas_job_ref(job);
            *out = job;
        }
    }
    pthread_mutex_unlock(&s->mu);
    free(fresh);
    if (req) orfeas_job_request_free(req);
    return rc;
}

int orfeas_scheduler_capacity(orfeas_scheduler *s)
{
    pthread_mutex_lock(&s->mu);
    int free_workers = s->draining ? 0 : s->nthreads - (int)s->running - (int)s->queued;
    pthread_mutex_unlock(&s->mu);
    return free_workers > 0 ? free_workers : 0;
}

/* Stage names are static strings: map the reported one onto ours. */
static const char *stage_of(const char *name)
{
    static const char *const fixed[] = {"queued", "export", "done"};
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, fixed[i]) == 0) return fixed[i];
    for (int i = 0; name && i < ORFEAS_STAGE_COUNT_; i++)
        if (strcmp(name, orfeas_stage_name((orfeas_stage)i)) == 0)
            return orfeas_stage_name((orfeas_stage)i);
    return "queued";
}

static void remote_apply_locked(orfeas_job *job, const orfeas_remote_state *st)
{
    if (st->state == ORFEAS_JOB_QUEUED || st->state == ORFEAS_JOB_RUNNING) job->state = st->state;
    job->progress = st->progress > 99 ? 99 : st->progress;
    job->stage = stage_of(st->stage);
    if (st->created > 0) job->created = st->created;
    if (st->started > 0) job->started = st->started;
    job->req.params.format = st->format;
}

int orfeas_scheduler_track(orfeas_scheduler *s, const char *id, const orfeas_remote_state *st,
                           orfeas_job **out)
{
    *out = NULL;
    if (!id || strlen(id) != 36) return ORFEAS_EINVAL;
    orfeas_job *fresh = calloc(1, sizeof *fresh);
    if (!fresh) return ORFEAS_ENOMEM;
    pthread_mutex_lock(&s->mu);
    orfeas_job *job = table_find_locked(s, id);
    if (!job) {
        job = fresh;
        fresh = NULL;
        memcpy(job->id, id, sizeof job->id);
        atomic_init(&job->refs, 1);
        atomic_init(&job->cancel, 0);
        job->s = s;
        job->state = ORFEAS_JOB_QUEUED;
        job->pinned = 1; /* someone else's: never cancelled for lack of waiters here */
        orfeas_params_init(&job->req.params);
        remote_apply_locked(job, st);
        atomic_fetch_add(&s->refs, 1);
        table_insert(s, job);
        remote_push(s, job, 2);
    }
    orfeas_job_ref(job);
    *out = job;
    pthread_mutex_unlock(&s->mu);
    free(fresh);
    return 0;
}

void orfeas_scheduler_remote_update(orfeas_scheduler *s, orfeas_job *job,
                                    const orfeas_remote_state *st)
{
    pthread_mutex_lock(&s->mu);
    if (job->remote && (job->state == ORFEAS_JOB_QUEUED || job->state == ORFEAS_JOB_RUNNING))
        remote_apply_locked(job, st);
    pthread_mutex_unlock(&s->mu);
}

void orfeas_scheduler_settle(orfeas_scheduler *s, orfeas_job *job, orfeas_job_state state, int err,
                             const char *message, const struct orfeas_result_meta *meta,
                             const uint8_t *data, size_t size)
{
    orfeas_buffer copy = {0};
    if (state == ORFEAS_JOB_COMPLETED && orfeas_buffer_append(&copy, data, size)) {
        state = ORFEAS_JOB_FAILED;
        err = ORFEAS_ENOMEM;
        message = "no memory for the result";
    }
    orfeas_job *evicted = NULL;
    pthread_mutex_lock(&s->mu);
    if (!job->remote || (job->state != ORFEAS_JOB_QUEUED && job->state != ORFEAS_JOB_RUNNING)) {
        pthread_mutex_unlock(&s->mu);
        orfeas_buffer_free(&copy);
        return;
    }
    remote_leave(s, job, 1);
    orfeas_job_request_free(&job->req);
    job->restored = 1; /* its mesh is on another node */
    if (state == ORFEAS_JOB_COMPLETED) {
        job->result = copy;
        copy = (orfeas_buffer){0};
        if (meta) {
            orfeas_result_meta_to_stats(meta, &job->stats);
            job->vertices = meta->vertices;
            job->triangles = meta->triangles;
            job->req.params.format = (orfeas_format)meta->format;
        }
    } else {
        set_error(job, err ? err : ORFEAS_EINTERNAL, message);
    }
    finish_locked(s, job, state, &evicted);
    pthread_mutex_unlock(&s->mu);
    unref_list(evicted);
    orfeas_buffer_free(&copy);
}

int orfeas_scheduler_collect(orfeas_scheduler *s, int which, orfeas_job **out, int max)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    if (which == 0) {
        for (orfeas_job *job = s->rhead; job && n < max; job = job->rnext) {
            if (job->dispatching) continue;
            orfeas_job_ref(job);
            out[n++] = job;
        }
    } else {
        for (int i = 0; i < s->nthreads && n < max; i++)
            if (s->slots[i] && s->slots[i]->from_stream) {
                orfeas_job_ref(s->slots[i]);
                out[n++] = s->slots[i];
            }
        for (orfeas_job *job = s->qhead; job && n < max; job = job->qnext)
            if (job->from_stream) {
                orfeas_job_ref(job);
                out[n++] = job;
            }
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

const char *orfeas_job_id(const orfeas_job *job)
{
    return job->id;
}

const char *orfeas_job_tag(const orfeas_job *job)
{
    return job->tag;
}

const orfeas_job_request *orfeas_job_request_of(const orfeas_job *job)
{
    return &job->req;
}

int orfeas_job_stopped_by_shutdown(orfeas_job *job)
{
    pthread_mutex_lock(&job->s->mu);
    int stopped = job->shutdown;
    pthread_mutex_unlock(&job->s->mu);
    return stopped;
}

int orfeas_job_cancel_requested(orfeas_job *job)
{
    return atomic_load(&job->cancel);
}
