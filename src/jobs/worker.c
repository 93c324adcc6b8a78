/* The queue, the worker threads and the watchdog. A worker takes the next
 * job (a preview first, see preview.c, else the oldest queued one) and runs
 * it in steps: generate, export, store, cache, report, settle, log, finish. */
#include "jobs/scheduler_internal.h"
#include "orfeas/cache.h"
#include "jobs/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void orfeas_sched_queue_push(orfeas_scheduler *s, orfeas_job *job)
{
    orfeas_job **head = job->parent ? &s->phead : &s->qhead;
    orfeas_job **tail = job->parent ? &s->ptail : &s->qtail;
    job->qnext = NULL;
    job->qprev = *tail;
    if (*tail)
        (*tail)->qnext = job;
    else
        *head = job;
    *tail = job;
    if (job->parent)
        s->previews_queued++;
    else
        s->queued++;
}

void orfeas_sched_queue_remove(orfeas_scheduler *s, orfeas_job *job)
{
    orfeas_job **head = job->parent ? &s->phead : &s->qhead;
    orfeas_job **tail = job->parent ? &s->ptail : &s->qtail;
    if (job->qprev)
        job->qprev->qnext = job->qnext;
    else
        *head = job->qnext;
    if (job->qnext)
        job->qnext->qprev = job->qprev;
    else
        *tail = job->qprev;
    job->qprev = job->qnext = NULL;
    if (job->parent)
        s->previews_queued--;
    else
        s->queued--;
}

static int on_progress(void *userdata, orfeas_stage stage, double percent)
{
    orfeas_job *job = userdata;
    orfeas_scheduler *s = job->s;
    pthread_mutex_lock(&s->mu);
    job->progress = percent > 99 ? 99 : percent; /* 100 once the result exists */
    job->stage =
        stage + 1 < ORFEAS_STAGE_COUNT_ ? orfeas_stage_name((orfeas_stage)(stage + 1)) : "export";
    /* The watchdog cancels too; this catches a deadline between its ticks. */
    if (job->deadline_ms > 0 && orfeas_clock_mono_ms() >= job->deadline_ms) {
        job->timed_out = 1;
        atomic_store(&job->cancel, 1);
    }
    pthread_mutex_unlock(&s->mu);
    return atomic_load(&job->cancel);
}

/* The pipeline on the job's inputs, with its progress, cancel and limits. */
static int generate_step(orfeas_scheduler *s, orfeas_job *job, orfeas_mesh *mesh,
                         orfeas_generate_stats *stats)
{
    orfeas_input input = orfeas_sched_input_of(&job->req);
    orfeas_generate_options opts;
    memset(&opts, 0, sizeof opts);
    opts.limits = s->config.limits;
    opts.progress = on_progress;
    opts.progress_userdata = job;
    opts.cancel = &job->cancel;
    opts.vram = s->vram;
    opts.depth_model = s->config.depth_model;
    return s->generate(&input, &job->req.params, &opts, mesh, stats);
}

/* The mesh in the job's format. */
static int export_step(orfeas_job *job, const orfeas_mesh *mesh, orfeas_buffer *result,
                       orfeas_generate_stats *stats)
{
    int err = orfeas_export(mesh, job->req.params.format,
                            job->req.params.texture == ORFEAS_TEXTURE_VERTEX, result);
    if (err)
        snprintf(stats->error_detail, sizeof stats->error_detail, "exporting %s: %s",
                 orfeas_format_name(job->req.params.format), orfeas_strerror(err));
    return err;
}

/* Stored before the job is marked finished: a request arriving in between
 * finds the result in the cache, not a gap. A full disk fails the job
 * (storage_full) rather than leaving a result that would be lost on
 * restart. */
static int store_step(orfeas_scheduler *s, orfeas_job *job, const orfeas_result_meta *meta,
                      const orfeas_buffer *result, orfeas_generate_stats *stats)
{
    if (!s->config.store || job->parent) return 0;
    int err = orfeas_store_job_completed(s->config.store, job->id, orfeas_clock_unix_s(), meta,
                                         result->data, result->size);
    if (err)
        snprintf(stats->error_detail, sizeof stats->error_detail, "storing the result: %s",
                 orfeas_strerror(err));
    return err;
}

/* A keyed job's result into the dedup cache. */
static int cache_step(orfeas_scheduler *s, orfeas_job *job, const orfeas_result_meta *meta,
                      const orfeas_buffer *result, orfeas_generate_stats *stats)
{
    if (!s->config.cache || !job->req.cache_key[0]) return 0;
    int err =
        orfeas_cache_put(s->config.cache, job->req.cache_key, meta, result->data, result->size);
    if (err)
        snprintf(stats->error_detail, sizeof stats->error_detail, "storing the result: %s",
                 orfeas_strerror(err));
    return err;
}

/* The outcome into the job (under the lock): its mesh and result, or its
 * error. Returns the final state; *ms: how long it ran. */
static orfeas_job_state settle_step(orfeas_scheduler *s, orfeas_job *job, int err,
                                    const orfeas_mesh *mesh, const orfeas_buffer *result,
                                    const orfeas_generate_stats *stats, double *ms)
{
    pthread_mutex_lock(&s->mu);
    orfeas_sched_release_inputs(job);
    job->stats = *stats;
    orfeas_job_state state = ORFEAS_JOB_COMPLETED;
    if (!err) {
        job->mesh = *mesh;
        job->result = *result;
        job->vertices = mesh->vertex_count;
        job->triangles = mesh->triangle_count;
    } else if (err == ORFEAS_ECANCELLED && job->timed_out) {
        char msg[64];
        snprintf(msg, sizeof msg, "timed out after %g s", s->timeout_ms / 1e3);
        orfeas_sched_set_error(job, ORFEAS_ETIMEOUT, msg);
        state = ORFEAS_JOB_FAILED;
    } else if (err == ORFEAS_ECANCELLED) {
        orfeas_sched_set_error(job, err, "cancelled");
        state = ORFEAS_JOB_CANCELLED;
    } else {
        orfeas_sched_set_error(job, err, stats->error_detail);
        state = ORFEAS_JOB_FAILED;
    }
    *ms = (orfeas_clock_unix_s() - job->started) * 1e3;
    pthread_mutex_unlock(&s->mu);
    return state;
}

static void log_step(const orfeas_job *job, orfeas_job_state state, double ms)
{
    if (job->parent)
        ORFEAS_DEBUG("preview %s (quality %d) of job %s %s in %.0f ms (%u triangles)", job->id,
                     job->req.params.quality, job->parent->id, orfeas_job_state_name(state), ms,
                     job->mesh.triangle_count);
    else if (state == ORFEAS_JOB_COMPLETED)
        ORFEAS_INFO("job %s completed in %.0f ms (%u triangles)", job->id, ms,
                    job->mesh.triangle_count);
    else if (state == ORFEAS_JOB_CANCELLED)
        ORFEAS_INFO("job %s cancelled after %.0f ms", job->id, ms);
    else
        ORFEAS_INFO("job %s failed: %s (%s)", job->id, orfeas_error_code(job->error),
                    job->error_message);
}

/* Leaves the running set and finishes the job; an unsuccessful outcome is
 * persisted, and the cluster hears of a job it handed in. */
static void finish_step(orfeas_scheduler *s, orfeas_job *job, int slot, orfeas_job_state state)
{
    orfeas_job *evicted = NULL;
    pthread_mutex_lock(&s->mu);
    /* Leaving the running set in the same step keeps the counts coherent. */
    s->slots[slot] = NULL;
    if (job->parent)
        s->previews_running--;
    else
        s->running--;
    orfeas_sched_finish_locked(s, job, state, &evicted);
    int persist = state != ORFEAS_JOB_COMPLETED && !job->shutdown && !job->parent;
    pthread_mutex_unlock(&s->mu);
    orfeas_sched_unref_list(evicted);
    /* A job the shutdown cancelled stays running on disk: it runs again on
     * the next start. */
    if (persist && s->config.store)
        orfeas_store_job_finished(s->config.store, job->id, state, job->finished, job->error,
                                  job->error_message);
    if (job->from_stream && !job->shutdown && s->hooks.finished)
        s->hooks.finished(s->hooks.ctx, job);
}

static void run_job(orfeas_scheduler *s, orfeas_job *job, int slot)
{
    orfeas_generate_stats stats;
    memset(&stats, 0, sizeof stats);
    orfeas_mesh mesh;
    memset(&mesh, 0, sizeof mesh);
    orfeas_buffer result = {0};
    int err = generate_step(s, job, &mesh, &stats);
    if (!err) err = export_step(job, &mesh, &result, &stats);
    orfeas_result_meta meta;
    if (!err) orfeas_result_meta_from(&meta, job->id, job->req.params.format, &mesh, &stats);
    if (!err) err = store_step(s, job, &meta, &result, &stats);
    if (!err) err = cache_step(s, job, &meta, &result, &stats);
    if (err) {
        orfeas_mesh_free(&mesh);
        orfeas_buffer_free(&result);
    }
    if (s->observer.generation) s->observer.generation(s->observer.ud, &stats, err);
    /* The outcome is settled first and logged before waiters wake, so the
     * job's line precedes the request's in the log. */
    double ms = 0;
    orfeas_job_state state = settle_step(s, job, err, &mesh, &result, &stats, &ms);
    log_step(job, state, ms);
    finish_step(s, job, slot, state);
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
        orfeas_job *job = NULL;
        while (!s->stopping && !(job = orfeas_sched_next_locked(s)))
            pthread_cond_wait(&s->work, &s->mu);
        if (s->stopping) break;
        orfeas_sched_queue_remove(s, job);
        orfeas_job_ref(job);
        job->state = ORFEAS_JOB_RUNNING;
        job->started = orfeas_clock_unix_s();
        job->stage = orfeas_stage_name(ORFEAS_STAGE_DECODE);
        job->deadline_ms = s->timeout_ms > 0 ? orfeas_clock_mono_ms() + s->timeout_ms : 0;
        if (job->parent)
            s->previews_running++;
        else
            s->running++;
        s->slots[slot] = job;
        pthread_cond_signal(&s->watch);
        pthread_mutex_unlock(&s->mu);

        if (job->parent) {
            ORFEAS_DEBUG("preview %s of job %s started", job->id, job->parent->id);
        } else {
            ORFEAS_INFO("job %s started", job->id);
            if (s->config.store) orfeas_store_job_started(s->config.store, job->id, job->started);
        }
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
        double now = orfeas_clock_mono_ms(), next = now + 1000;
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
        struct timespec ts = orfeas_clock_mono_at(next);
        pthread_cond_timedwait(&s->watch, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int orfeas_sched_start_threads(orfeas_scheduler *s)
{
    for (int i = 0; i < s->config.workers; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) *wa = (worker_arg){s, i};
        if (!wa || pthread_create(&s->threads[i], NULL, worker_main, wa)) {
            free(wa);
            return ORFEAS_EINTERNAL;
        }
        s->nthreads++;
    }
    if (s->timeout_ms > 0) {
        if (pthread_create(&s->watchdog, NULL, watchdog_main, s)) return ORFEAS_EINTERNAL;
        s->has_watchdog = 1;
    }
    return 0;
}
