/* POST /api/v1/generate: the synchronous route. A cached result answers at
 * once (X-Orfeas-Cache: hit); an identical request already running is
 * joined (coalesced); otherwise the upload becomes a job on the shared queue
 * (so it is admitted like any other), and this connection's thread waits
 * for it. A client that hangs up gives up its interest: the job is
 * cancelled when no one else waits for it. */
/* POLLRDHUP: a peer that closed its side. */
#define _GNU_SOURCE
#include "cache/cache.h"
#include "server/request_params.h"
#include "server/server_internal.h"

#include <cjson/cJSON.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_SLICE_MS 500

/* 1 when the client closed its side while we were working. */
static int client_gone(request *r)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info) return 0;
    struct pollfd pfd = {info->connect_fd, POLLRDHUP, 0};
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void server_timing(const orfeas_generate_stats *stats, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < ORFEAS_STAGE_COUNT_ && o < size; i++)
        o += (size_t)snprintf(out + o, size - o, "%s%s;dur=%.1f", i ? ", " : "",
                              orfeas_stage_name((orfeas_stage)i), stats->stage_ms[i]);
    if (o < size) snprintf(out + o, size - o, ", total;dur=%.1f", stats->total_ms);
}

/* The model bytes with the route's headers. The bytes belong to a job or to
 * a cache entry (exactly one is given); the response holds a reference. */
static void release_entry(void *cls)
{
    orfeas_cache_entry_unref(cls);
}

static enum MHD_Result answer_model(request *r, orfeas_job *job, orfeas_cache_entry *entry,
                                    const orfeas_job_snapshot *snap, const char *cache)
{
    const uint8_t *data;
    size_t size;
    if (entry) {
        data = entry->data;
        size = entry->size;
    } else {
        int rc = orfeas_job_result(job, &data, &size);
        if (rc) return respond_error(r, rc, NULL);
    }
    char disposition[96], timing[512];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"orfeas-%.8s.%s\"", snap->id,
             orfeas_format_name(snap->format));
    server_timing(&snap->stats, timing, sizeof timing);
    const char *headers[] = {"Content-Disposition",
                             disposition,
                             "X-Orfeas-Job",
                             snap->id,
                             "X-Orfeas-Cache",
                             cache,
                             "X-Orfeas-Precision",
                             orfeas_precision_name(snap->stats.precision),
                             "Server-Timing",
                             timing,
                             NULL};
    if (job)
        return respond_job_bytes(r, job, orfeas_format_mime(snap->format), data, size, headers);
    orfeas_cache_entry_ref(entry);
    struct MHD_Response *response = MHD_create_response_from_buffer_with_free_callback_cls(
        size, (void *)data, release_entry, entry);
    if (!response) {
        orfeas_cache_entry_unref(entry);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            orfeas_format_mime(snap->format));
    for (size_t i = 0; headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(response, headers[i], headers[i + 1]);
    return respond_response(r, 200, response);
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

static enum MHD_Result answer_summary(request *r, const orfeas_job_snapshot *snap,
                                      const char *cache)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "job_id", snap->id) &&
        cJSON_AddStringToObject(o, "status", "completed") && job_result_json_add(o, snap) == 0)
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return respond_error(r, ORFEAS_ENOMEM, NULL);
    const char *headers[] = {"X-Orfeas-Job",
                             snap->id,
                             "X-Orfeas-Cache",
                             cache,
                             "X-Orfeas-Precision",
                             orfeas_precision_name(snap->stats.precision),
                             NULL};
    enum MHD_Result ret = respond_bytes(r, 200, "application/json", text, strlen(text), headers);
    cJSON_free(text);
    return ret;
}

enum MHD_Result handle_generate(request *r, const char *param)
{
    (void)param;
    orfeas_server *s = r->server;
    orfeas_job_request req;
    enum MHD_Result answered;
    if (request_job_or_answer(r, &req, &answered)) return answered;
    const char *accept = request_header(r, MHD_HTTP_HEADER_ACCEPT);
    int want_json = request_accepts_json(accept) && request_accept_format(accept) < 0;

    /* No key (it cannot fail but for memory): the job just runs uncached. */
    if (orfeas_job_request_key(&req, s->depth_model_id, req.cache_key)) req.cache_key[0] = '\0';
    orfeas_cache_entry *entry = NULL;
    orfeas_job_snapshot snap;
    if (req.cache_key[0] && orfeas_cache_get(s->cache, req.cache_key, &entry) == 0) {
        orfeas_job_request_free(&req);
        orfeas_metrics_cache(s->metrics, "hit");
        snapshot_from_entry(entry, &snap);
        memcpy(r->job_id, snap.id, sizeof r->job_id);
        enum MHD_Result ret = want_json ? answer_summary(r, &snap, "hit")
                                        : answer_model(r, NULL, entry, &snap, "hit");
        orfeas_cache_entry_unref(entry);
        return ret;
    }

    orfeas_job *job = NULL;
    int attached = 0;
    int rc = orfeas_scheduler_submit_shared(s->scheduler, &req, 0, &job, &attached);
    if (!rc) {
        orfeas_cache_count(s->cache, attached ? ORFEAS_CACHE_COALESCED : ORFEAS_CACHE_MISS);
        orfeas_metrics_cache(s->metrics, attached ? "coalesced" : "miss");
    }
    const char *outcome = attached ? "coalesced" : "miss";
    if (rc == ORFEAS_EBUSY)
        return respond_error(r, rc,
                             atomic_load(&s->state) == SERVER_DRAINING
                                 ? "the server is shutting down"
                                 : "the job queue is full; retry later");
    if (rc) return respond_error(r, rc, NULL);
    orfeas_job_snapshot_get(job, &snap);
    memcpy(r->job_id, snap.id, sizeof r->job_id);

    while (orfeas_job_wait(job, WAIT_SLICE_MS) == ORFEAS_ETIMEOUT) {
        if (client_gone(r)) {
            /* Cancels only when no other request waits for this job. */
            orfeas_scheduler_abandon(s->scheduler, job);
            orfeas_job_wait(job, -1);
            break;
        }
    }
    orfeas_job_snapshot_get(job, &snap);
    enum MHD_Result ret;
    if (snap.state != ORFEAS_JOB_COMPLETED)
        ret = respond_job_error(r, &snap);
    else if (want_json)
        ret = answer_summary(r, &snap, outcome);
    else
        ret = answer_model(r, job, NULL, &snap, outcome);
    orfeas_job_unref(job);
    return ret;
}
