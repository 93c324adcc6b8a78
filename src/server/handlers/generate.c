/* POST /api/v1/generate: the synchronous route. The service (service.h)
 * answers from the cache (X-Orfeas-Cache: hit), joins an identical request
 * already running (coalesced) or queues a job like any other; this
 * connection's thread waits for the job. A client that hangs up gives up its
 * interest: the job is cancelled when no one else waits for it. */
/* POLLRDHUP: a peer that closed its side. */
#define _GNU_SOURCE
#include "orfeas/cache.h"
#include "server/request_params.h"
#include "server/server_internal.h"
#include "server/service.h"

#include <cjson/cJSON.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_SLICE_MS 500

/* 1 when the client closed its side while we were working. */
static int client_gone(void *cls)
{
    request *r = cls;
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
        if (rc) return orfeas_respond_error(r, rc, NULL);
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
        return orfeas_respond_job_bytes(r, job, orfeas_format_mime(snap->format), data, size,
                                        headers);
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
    return orfeas_respond_response(r, 200, response);
}

static enum MHD_Result answer_summary(request *r, const orfeas_job_snapshot *snap,
                                      const char *cache)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "job_id", snap->id) &&
        cJSON_AddStringToObject(o, "status", "completed") &&
        orfeas_job_result_json_add(o, snap) == 0)
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return orfeas_respond_error(r, ORFEAS_ENOMEM, NULL);
    const char *headers[] = {"X-Orfeas-Job",
                             snap->id,
                             "X-Orfeas-Cache",
                             cache,
                             "X-Orfeas-Precision",
                             orfeas_precision_name(snap->stats.precision),
                             NULL};
    enum MHD_Result ret =
        orfeas_respond_bytes(r, 200, "application/json", text, strlen(text), headers);
    cJSON_free(text);
    return ret;
}

enum MHD_Result orfeas_handle_generate(request *r, const char *param)
{
    (void)param;
    orfeas_service_request req = {.mode = ORFEAS_SERVICE_SYNC};
    enum MHD_Result ret;
    if (orfeas_request_job_or_answer(r, &req.job, &ret)) return ret;
    const char *accept = orfeas_request_header(r, MHD_HTTP_HEADER_ACCEPT);
    int want_json = orfeas_request_accepts_json(accept) && orfeas_request_accept_format(accept) < 0;

    orfeas_service_answer ans;
    if (orfeas_service_generate(r->server, &req, &ans)) {
        ret = orfeas_respond_error(r, ans.error, ans.message);
    } else if (ans.entry) {
        memcpy(r->job_id, ans.snap.id, sizeof r->job_id);
        ret = want_json ? answer_summary(r, &ans.snap, ans.cache)
                        : answer_model(r, NULL, ans.entry, &ans.snap, ans.cache);
    } else {
        memcpy(r->job_id, ans.snap.id, sizeof r->job_id);
        orfeas_service_wait(r->server, req.mode, ans.job, WAIT_SLICE_MS, client_gone, r);
        orfeas_job_snapshot_get(ans.job, &ans.snap);
        if (ans.snap.state != ORFEAS_JOB_COMPLETED)
            ret = orfeas_respond_job_error(r, &ans.snap);
        else if (want_json)
            ret = answer_summary(r, &ans.snap, ans.cache);
        else
            ret = answer_model(r, ans.job, NULL, &ans.snap, ans.cache);
    }
    orfeas_service_answer_release(&ans);
    return ret;
}
