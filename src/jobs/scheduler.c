/* The scheduler: a bounded FIFO of queued jobs, worker threads that run the
 * pipeline, a watchdog for the per-job timeout, and a table of jobs by id
 * that keeps the most recent finished ones. This file: create, submit (with
 * coalescing of identical keyed jobs), cancel, counts and destroy; the rest
 * is listed in scheduler_internal.h, with the locking and lifetime rules. */
#include "jobs/scheduler_internal.h"
#include "jobs/store.h"

#include <stdlib.h>
#include <string.h>

#define TABLE_MIN_BUCKETS 256u

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
        orfeas_sched_unref(s);
        return ORFEAS_ENOMEM;
    }
    int rc = orfeas_sched_start_threads(s);
    if (!rc) rc = orfeas_sched_restore(s);
    if (rc) {
        orfeas_scheduler_destroy(s, 0);
        return rc;
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

/* A new job that was persisted but not accepted after all (never in the
 * table). */
static void discard(orfeas_scheduler *s, orfeas_job *job)
{
    if (s->config.store) orfeas_store_job_delete(s->config.store, job->id);
    orfeas_job_request_free(&job->req);
    free(job);
}

/* Submit, with coalescing when attached is given, and with previews (made,
 * not yet queued: they are queued with the job or discarded). */
static int submit(orfeas_scheduler *s, orfeas_job_request *req, int pinned, orfeas_job **out,
                  int *attached, orfeas_job **previews, int count, orfeas_job **previews_out)
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
    int rc = job ? orfeas_sched_make_id(job->id) : ORFEAS_ENOMEM;
    if (rc) {
        free(job);
        orfeas_job_request_free(req);
        orfeas_sched_previews_discard(previews, count);
        return rc;
    }
    if (attached && req->cache_key[0]) {
        orfeas_job *same = orfeas_sched_claimed_elsewhere(s, req->cache_key, job->id);
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
    orfeas_sched_job_init(job, s, NULL); /* the table's reference */
    job->state = ORFEAS_JOB_QUEUED;
    job->stage = "queued";
    job->created = orfeas_clock_unix_s();
    job->interest = 1;
    job->pinned = pinned;
    /* Durable before it is accepted: nothing answered 202 is lost. */
    if (s->config.store) {
        rc = orfeas_store_job_add(s->config.store, job->id, job->created, &job->req);
        if (rc) {
            ORFEAS_WARN("job refused: cannot persist it: %s", orfeas_strerror(rc));
            orfeas_job_request_free(&job->req);
            free(job);
            orfeas_sched_previews_discard(previews, count);
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
        discard(s, job);
        return 0;
    }
    if (s->draining || s->queued + s->awaiting >= (uint32_t)s->config.queue_max) {
        int draining = s->draining;
        pthread_mutex_unlock(&s->mu);
        discard(s, job);
        orfeas_sched_previews_discard(previews, count);
        ORFEAS_WARN("job refused: %s", draining ? "draining" : "queue full");
        return ORFEAS_EBUSY;
    }
    atomic_fetch_add(&s->refs, 1);
    orfeas_sched_table_insert(s, job);
    int cluster = s->hooks.dispatch != NULL && !job->req.local;
    if (cluster) {
        orfeas_sched_remote_push(s, job, 1);
        job->dispatching = 1; /* not collected before its record exists */
    } else {
        orfeas_sched_queue_push(s, job);
    }
    if (out) {
        orfeas_job_ref(job);
        *out = job;
    }
    orfeas_sched_previews_push_locked(s, job, previews, count, previews_out);
    uint32_t position = s->queued + s->awaiting;
    if (count)
        pthread_cond_broadcast(&s->work); /* the job and its first preview */
    else if (!cluster)
        pthread_cond_signal(&s->work);
    orfeas_job_ref(job); /* for the log line and the dispatch below */
    pthread_mutex_unlock(&s->mu);
    ORFEAS_INFO("job %s queued (position %u%s)", job->id, position, cluster ? ", cluster" : "");
    if (cluster) orfeas_sched_dispatch(s, job);
    orfeas_job_unref(job);
    return 0;
}

int orfeas_scheduler_submit_shared(orfeas_scheduler *s, orfeas_job_request *req, int pinned,
                                   orfeas_job **out, int *attached)
{
    return submit(s, req, pinned, out, attached, NULL, 0, NULL);
}

int orfeas_scheduler_submit_previews(orfeas_scheduler *s, orfeas_job_request *req,
                                     const orfeas_params *params, int count, orfeas_job **out,
                                     orfeas_job **previews)
{
    if (out) *out = NULL;
    for (int i = 0; previews && i < count; i++)
        previews[i] = NULL;
    if (count < 0 || count > ORFEAS_SCHEDULER_MAX_PREVIEWS || (count && (!params || !previews))) {
        orfeas_job_request_free(req);
        return ORFEAS_EINVAL;
    }
    orfeas_job *made[ORFEAS_SCHEDULER_MAX_PREVIEWS];
    int rc = orfeas_sched_previews_make(s, req, params, count, made);
    if (rc) {
        orfeas_job_request_free(req);
        return rc;
    }
    req->local = 1; /* the previews run here, and so does the job */
    return submit(s, req, 0, out, NULL, made, count, previews);
}

void orfeas_sched_cancel_queued_locked(orfeas_scheduler *s, orfeas_job *job, const char *why,
                                       orfeas_job **evicted)
{
    orfeas_sched_queue_remove(s, job);
    orfeas_sched_set_error(job, ORFEAS_ECANCELLED, why);
    orfeas_sched_release_inputs(job);
    orfeas_sched_finish_locked(s, job, ORFEAS_JOB_CANCELLED, evicted);
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
        orfeas_sched_cancel_queued_locked(s, job, "cancelled while queued", &evicted);
    else if (job->state == ORFEAS_JOB_RUNNING)
        atomic_store(&job->cancel, 1);
    pthread_mutex_unlock(&s->mu);
    if (remote && s->hooks.cancel) s->hooks.cancel(s->hooks.ctx, job);
    orfeas_sched_unref_list(evicted);
    if (was == ORFEAS_JOB_QUEUED && !remote && !job->parent && s->config.store)
        orfeas_store_job_finished(s->config.store, job->id, ORFEAS_JOB_CANCELLED, job->finished,
                                  ORFEAS_ECANCELLED, "cancelled while queued");
    if ((was == ORFEAS_JOB_QUEUED || was == ORFEAS_JOB_RUNNING) && !job->parent)
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
    while (s->phead)
        orfeas_sched_cancel_queued_locked(s, s->phead, "server shutting down", &evicted);
    while (s->qhead) {
        s->qhead->shutdown = 1;
        orfeas_sched_cancel_queued_locked(s, s->qhead, "server shutting down", &evicted);
    }
    /* Jobs waiting in the cluster stay there (another node runs them);
     * here they end, so that no waiter blocks the shutdown. */
    while (s->rhead) {
        orfeas_job *job = s->rhead;
        orfeas_sched_remote_leave(s, job, 1);
        job->shutdown = 1;
        orfeas_sched_set_error(job, ORFEAS_ECANCELLED, "server shutting down");
        orfeas_sched_finish_locked(s, job, ORFEAS_JOB_CANCELLED, &evicted);
    }
    double deadline = orfeas_clock_mono_ms() + (grace_s > 0 ? grace_s * 1e3 : 0);
    while (s->running + s->previews_running > 0 && orfeas_clock_mono_ms() < deadline) {
        struct timespec ts = orfeas_clock_mono_at(deadline);
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
    orfeas_sched_unref_list(evicted);

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
    orfeas_sched_unref_list(all);
    orfeas_sched_unref(s);
}
