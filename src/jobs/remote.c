/* Cluster mode: the remote-job side of the scheduler. A job dispatched from
 * here waits in the cluster (remote 1) until it runs here after all
 * (orfeas_scheduler_submit_stream) or is settled with another node's
 * outcome; a job accepted elsewhere is tracked (remote 2). Both stay on the
 * remote list while unfinished. */
#include "jobs/scheduler_internal.h"
#include "orfeas/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void orfeas_sched_remote_push(orfeas_scheduler *s, orfeas_job *job, int kind)
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
void orfeas_sched_remote_leave(orfeas_scheduler *s, orfeas_job *job, int keep_flag)
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

/* The job another node computes this key with, if it can be joined: one
 * that is not finished, or finished with its result. */
orfeas_job *orfeas_sched_claimed_elsewhere(orfeas_scheduler *s, const char *key, const char *id)
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
void orfeas_sched_dispatch(orfeas_scheduler *s, orfeas_job *job)
{
    orfeas_job_ref(job);
    int rc = s->hooks.dispatch(s->hooks.ctx, job);
    pthread_mutex_lock(&s->mu);
    job->dispatching = 0;
    if (rc && job->remote == 1 && job->state == ORFEAS_JOB_QUEUED) {
        orfeas_sched_remote_leave(s, job, 0);
        orfeas_sched_queue_push(s, job);
        pthread_cond_signal(&s->work);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        ORFEAS_WARN("job %s runs here: the cluster did not take it (%s)", job->id,
                    orfeas_strerror(rc));
    }
    orfeas_job_unref(job);
}

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
    if (s) orfeas_sched_unref(s);
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
    orfeas_job *job = orfeas_sched_table_find_locked(s, id);
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
        orfeas_sched_job_init(job, s, id);
        job->req = *req;
        memset(req, 0, sizeof *req);
        job->created = orfeas_clock_unix_s();
        job->pinned = 1;
        atomic_fetch_add(&s->refs, 1);
        orfeas_sched_table_insert(s, job);
    }
    if (!rc) {
        orfeas_sched_remote_leave(s, job, 0);
        job->state = ORFEAS_JOB_QUEUED;
        job->stage = "queued";
        job->from_stream = 1;
        snprintf(job->tag, sizeof job->tag, "%s", tag ? tag : "");
        orfeas_sched_queue_push(s, job);
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
    int free_workers = s->draining ? 0
                                   : s->nthreads - (int)s->running - (int)s->queued -
                                         (int)s->previews_running - (int)s->previews_queued;
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
    orfeas_job *job = orfeas_sched_table_find_locked(s, id);
    if (!job) {
        job = fresh;
        fresh = NULL;
        orfeas_sched_job_init(job, s, id);
        job->state = ORFEAS_JOB_QUEUED;
        job->pinned = 1; /* someone else's: never cancelled for lack of waiters here */
        orfeas_params_init(&job->req.params);
        remote_apply_locked(job, st);
        atomic_fetch_add(&s->refs, 1);
        orfeas_sched_table_insert(s, job);
        orfeas_sched_remote_push(s, job, 2);
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
    orfeas_sched_remote_leave(s, job, 1);
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
        orfeas_sched_set_error(job, err ? err : ORFEAS_EINTERNAL, message);
    }
    orfeas_sched_finish_locked(s, job, state, &evicted);
    pthread_mutex_unlock(&s->mu);
    orfeas_sched_unref_list(evicted);
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
