/* Previews: quick runs of a job's inputs at other parameters (the coarse
 * levels of a progressive stream). They wait in a lane of their own, ahead
 * of the queue, and run on the workers like any job; a job's previews run
 * one at a time, in order, and those not started when the job finishes are
 * dropped. They share one copy of the inputs, are in no table, store or
 * cache, and hold a reference on their job (the parent). */
#include "jobs/scheduler_internal.h"

#include <stdlib.h>
#include <string.h>

/* The inputs a job's previews share (their req points into it). */
typedef struct orfeas_sched_inputs {
    atomic_int refs;
    orfeas_job_request req;
} orfeas_sched_inputs;

static int copy_bytes(const uint8_t *src, size_t size, uint8_t **dst)
{
    *dst = NULL;
    if (!src || !size) return 0;
    *dst = malloc(size);
    if (!*dst) return ORFEAS_ENOMEM;
    memcpy(*dst, src, size);
    return 0;
}

static orfeas_sched_inputs *inputs_copy(const orfeas_job_request *req)
{
    orfeas_sched_inputs *in = calloc(1, sizeof *in);
    if (!in) return NULL;
    int rc = copy_bytes(req->image, req->image_size, &in->req.image);
    if (!rc) rc = copy_bytes(req->mask, req->mask_size, &in->req.mask);
    if (!rc) rc = copy_bytes(req->depth, req->depth_size, &in->req.depth);
    if (rc) {
        orfeas_job_request_free(&in->req);
        free(in);
        return NULL;
    }
    in->req.image_size = in->req.image ? req->image_size : 0;
    in->req.mask_size = in->req.mask ? req->mask_size : 0;
    in->req.depth_size = in->req.depth ? req->depth_size : 0;
    atomic_init(&in->refs, 1); /* the maker's, dropped once the previews have theirs */
    return in;
}

static void inputs_unref(orfeas_sched_inputs *in)
{
    if (!in || atomic_fetch_sub(&in->refs, 1) != 1) return;
    orfeas_job_request_free(&in->req);
    free(in);
}

void orfeas_sched_release_inputs(orfeas_job *job)
{
    if (!job->shared) {
        orfeas_job_request_free(&job->req);
        return;
    }
    inputs_unref(job->shared);
    job->shared = NULL;
    job->req.image = job->req.mask = job->req.depth = NULL;
    job->req.image_size = job->req.mask_size = job->req.depth_size = 0;
}

int orfeas_sched_previews_make(orfeas_scheduler *s, const orfeas_job_request *req,
                               const orfeas_params *params, int count, orfeas_job **out)
{
    if (count == 0) return 0;
    orfeas_sched_inputs *in = inputs_copy(req);
    if (!in) return ORFEAS_ENOMEM;
    for (int i = 0; i < count; i++) {
        orfeas_job *p = calloc(1, sizeof *p);
        int rc = p ? orfeas_sched_make_id(p->id) : ORFEAS_ENOMEM;
        if (rc) {
            free(p);
            orfeas_sched_previews_discard(out, i);
            inputs_unref(in);
            return rc;
        }
        orfeas_sched_job_init(p, s, NULL); /* the lane's reference */
        atomic_fetch_add(&in->refs, 1);
        p->shared = in;
        p->req = in->req;
        p->req.params = params[i];
        p->req.local = 1;
        p->state = ORFEAS_JOB_QUEUED;
        p->stage = "queued";
        p->created = orfeas_clock_unix_s();
        out[i] = p;
    }
    inputs_unref(in);
    return 0;
}

void orfeas_sched_previews_discard(orfeas_job **previews, int count)
{
    for (int i = 0; i < count; i++) {
        orfeas_sched_release_inputs(previews[i]);
        free(previews[i]);
        previews[i] = NULL;
    }
}

void orfeas_sched_previews_push_locked(orfeas_scheduler *s, orfeas_job *parent,
                                       orfeas_job **previews, int count, orfeas_job **out)
{
    for (int i = 0; i < count; i++) {
        orfeas_job *p = previews[i];
        atomic_fetch_add(&s->refs, 1); /* the job's hold on the shared state */
        orfeas_job_ref(parent);
        p->parent = parent;
        orfeas_sched_queue_push(s, p);
        orfeas_job_ref(p);
        out[i] = p;
    }
}

/* Under s->mu: a preview of this parent is running. */
static int sibling_running_locked(orfeas_scheduler *s, const orfeas_job *parent)
{
    for (int i = 0; i < s->nthreads; i++)
        if (s->slots[i] && s->slots[i]->parent == parent) return 1;
    return 0;
}

orfeas_job *orfeas_sched_next_locked(orfeas_scheduler *s)
{
    for (orfeas_job *p = s->phead; p; p = p->qnext)
        if (!sibling_running_locked(s, p->parent)) return p;
    return s->qhead;
}

void orfeas_sched_previews_drop_locked(orfeas_scheduler *s, orfeas_job *parent,
                                       orfeas_job **evicted)
{
    for (orfeas_job *p = s->phead, *next; p; p = next) {
        next = p->qnext;
        if (p->parent == parent)
            orfeas_sched_cancel_queued_locked(s, p, "superseded: its job finished first", evicted);
    }
}
