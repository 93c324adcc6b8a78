/* The service between the routes and the jobs (service.h): the cache, then
 * the scheduler, with the cache outcome counted here and only here. */
#include "server/service.h"
#include "orfeas/cache.h"
#include "server/server_internal.h"

#include <string.h>

static const char *source_name(orfeas_service_source source)
{
    static const char *const names[] = {"miss", "coalesced", "hit"};
    return names[source];
}

/* What the responses read, from a cache entry's metadata. */
static void snapshot_from_entry(const orfeas_cache_entry *e, orfeas_job_snapshot *snap)
{
    memset(snap, 0, sizeof *snap);
    memcpy(snap->id, e->meta.job_id, sizeof snap->id - 1); /* a 36-character id */
    snap->state = ORFEAS_JOB_COMPLETED;
    snap->progress = 100;
    snap->stage = "done";
    snap->format = (orfeas_format)e->meta.format;
    orfeas_result_meta_to_stats(&e->meta, &snap->stats);
    snap->vertices = e->meta.vertices;
    snap->triangles = e->meta.triangles;
    snap->result_size = e->size;
}

/* A cached result for the request, as its mode answers it: the entry
 * (SYNC), or the completed job that made it while that job is known
 * (ASYNC). 1 on a hit (out filled), else 0. */
static int from_cache(orfeas_server *s, const orfeas_service_request *req,
                      orfeas_service_answer *out)
{
    orfeas_cache_entry *entry = NULL;
    if (!req->job.cache_key[0] || orfeas_cache_get(s->cache, req->job.cache_key, &entry)) return 0;
    if (req->mode == ORFEAS_SERVICE_SYNC) {
        out->entry = entry;
        snapshot_from_entry(entry, &out->snap);
        return 1;
    }
    orfeas_job *job = orfeas_scheduler_find(s->scheduler, entry->meta.job_id);
    orfeas_cache_entry_unref(entry);
    if (!job) return 0;
    orfeas_job_snapshot_get(job, &out->snap);
    if (out->snap.state != ORFEAS_JOB_COMPLETED) {
        orfeas_job_unref(job);
        return 0;
    }
    out->job = job;
    return 1;
}

/* A new job, or (SYNC, ASYNC) one already in flight for the same key. */
static int submit(orfeas_server *s, orfeas_service_request *req, orfeas_service_answer *out)
{
    if (req->mode == ORFEAS_SERVICE_STREAM) {
        req->job.local = 1; /* the stream's levels and its GLB come from this node */
        int rc = orfeas_scheduler_submit_previews(s->scheduler, &req->job, req->previews,
                                                  req->preview_count, &out->job, out->previews);
        if (!rc) out->preview_count = req->preview_count;
        return rc;
    }
    int attached = 0;
    int rc = orfeas_scheduler_submit_shared(
        s->scheduler, &req->job, req->mode == ORFEAS_SERVICE_ASYNC, &out->job, &attached);
    if (rc) return rc;
    out->source = attached ? ORFEAS_SERVICE_COALESCED : ORFEAS_SERVICE_MISS;
    orfeas_cache_count(s->cache, attached ? ORFEAS_CACHE_COALESCED : ORFEAS_CACHE_MISS);
    orfeas_metrics_cache(s->metrics, source_name(out->source));
    return 0;
}

int orfeas_service_generate(orfeas_server *s, orfeas_service_request *req,
                            orfeas_service_answer *out)
{
    memset(out, 0, sizeof *out);
    /* No key (it cannot fail but for memory): the job just runs uncached. */
    if (req->mode != ORFEAS_SERVICE_STREAM &&
        orfeas_job_request_key(&req->job, s->depth_model_id, req->job.cache_key))
        req->job.cache_key[0] = '\0';
    if (req->mode != ORFEAS_SERVICE_STREAM && from_cache(s, req, out)) {
        orfeas_job_request_free(&req->job);
        out->source = ORFEAS_SERVICE_HIT;
        out->cache = source_name(out->source);
        orfeas_metrics_cache(s->metrics, out->cache);
        return 0;
    }
    int rc = submit(s, req, out);
    out->cache = source_name(out->source);
    if (rc) {
        out->error = rc;
        if (rc == ORFEAS_EBUSY)
            out->message = atomic_load(&s->state) == SERVER_DRAINING
                               ? "the server is shutting down"
                               : "the job queue is full; retry later";
        return rc;
    }
    orfeas_job_snapshot_get(out->job, &out->snap);
    return 0;
}

int orfeas_service_wait(orfeas_server *s, orfeas_service_mode mode, orfeas_job *job, int slice_ms,
                        int (*gone)(void *ud), void *ud)
{
    while (orfeas_job_wait(job, slice_ms) == ORFEAS_ETIMEOUT) {
        if (!gone(ud)) continue;
        if (mode == ORFEAS_SERVICE_SYNC)
            orfeas_scheduler_abandon(s->scheduler, job);
        else
            orfeas_scheduler_cancel(s->scheduler, job);
        orfeas_job_wait(job, -1);
        return ORFEAS_ECANCELLED;
    }
    return 0;
}

void orfeas_service_answer_release(orfeas_service_answer *a)
{
    orfeas_cache_entry_unref(a->entry);
    orfeas_job_unref(a->job);
    for (int i = 0; i < a->preview_count; i++)
        orfeas_job_unref(a->previews[i]);
    a->entry = NULL;
    a->job = NULL;
    a->preview_count = 0;
}
