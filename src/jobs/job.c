/* The job object: references, the time helpers, waiting, snapshots and the
 * finished job's result, other formats and thumbnail. */
#include "jobs/scheduler_internal.h"
#include "cache/key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

orfeas_input orfeas_sched_input_of(const orfeas_job_request *req)
{
    orfeas_input input = {req->image,     req->image_size, req->mask,
                          req->mask_size, req->depth,      req->depth_size};
    return input;
}

int orfeas_job_request_key(const orfeas_job_request *req, const char *depth_model_id, char out[65])
{
    if (!req) {
        out[0] = '\0';
        return ORFEAS_EINVAL;
    }
    orfeas_input input = orfeas_sched_input_of(req);
    return orfeas_cache_key(&req->params, &input, depth_model_id, out);
}

void orfeas_sched_unref(orfeas_scheduler *s)
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

void orfeas_sched_job_init(orfeas_job *job, orfeas_scheduler *s, const char *id)
{
    if (id) memcpy(job->id, id, sizeof job->id);
    atomic_init(&job->refs, 1);
    atomic_init(&job->cancel, 0);
    job->s = s;
}

void orfeas_job_ref(orfeas_job *job)
{
    if (job) atomic_fetch_add(&job->refs, 1);
}

void orfeas_job_unref(orfeas_job *job)
{
    if (!job || atomic_fetch_sub(&job->refs, 1) != 1) return;
    orfeas_scheduler *s = job->s;
    orfeas_sched_release_inputs(job);
    orfeas_job_unref(job->parent);
    orfeas_mesh_free(&job->mesh);
    orfeas_buffer_free(&job->result);
    orfeas_buffer_free(&job->thumb);
    free(job);
    orfeas_sched_unref(s);
}

void orfeas_sched_set_error(orfeas_job *job, int err, const char *message)
{
    job->error = err;
    snprintf(job->error_message, sizeof job->error_message, "%s",
             message && *message ? message : orfeas_strerror(err));
}

int orfeas_job_wait(orfeas_job *job, int timeout_ms)
{
    orfeas_scheduler *s = job->s;
    double deadline = timeout_ms >= 0 ? orfeas_clock_mono_ms() + timeout_ms : 0;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (job->state == ORFEAS_JOB_QUEUED || job->state == ORFEAS_JOB_RUNNING) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&s->done, &s->mu);
            continue;
        }
        if (orfeas_clock_mono_ms() >= deadline) {
            rc = ORFEAS_ETIMEOUT;
            break;
        }
        struct timespec ts = orfeas_clock_mono_at(deadline);
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
        for (orfeas_job *q = job->parent ? s->phead : s->qhead; q && q != job; q = q->qnext)
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
