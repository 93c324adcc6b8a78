/* POST /api/v1/generate: the synchronous route. The upload becomes a job on
 * the shared queue (so it is admitted like any other), and this connection's
 * thread waits for it; a client that hangs up cancels its job. */
/* POLLRDHUP: a peer that closed its side. */
#define _GNU_SOURCE
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

static enum MHD_Result answer_model(request *r, orfeas_job *job, const orfeas_job_snapshot *snap)
{
    const uint8_t *data;
    size_t size;
    int rc = orfeas_job_result(job, &data, &size);
    if (rc) return respond_error(r, rc, NULL);
    char disposition[96], timing[512];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"orfeas-%.8s.%s\"", snap->id,
             orfeas_format_name(snap->format));
    server_timing(&snap->stats, timing, sizeof timing);
    const char *headers[] = {"Content-Disposition",
                             disposition,
                             "X-Orfeas-Job",
                             snap->id,
                             "X-Orfeas-Cache",
                             "miss",
                             "X-Orfeas-Precision",
                             orfeas_precision_name(snap->stats.precision),
                             "Server-Timing",
                             timing,
                             NULL};
    return respond_job_bytes(r, job, orfeas_format_mime(snap->format), data, size, headers);
}

static enum MHD_Result answer_summary(request *r, const orfeas_job_snapshot *snap)
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
                             "miss",
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
    char err[320];
    int rc = request_params_from_request(r, &req, err, sizeof err);
    if (rc) {
        orfeas_job_request_free(&req);
        return respond_error(r, rc, err);
    }
    const char *accept = request_header(r, MHD_HTTP_HEADER_ACCEPT);
    int want_json = request_accepts_json(accept) && request_accept_format(accept) < 0;

    orfeas_job *job = NULL;
    rc = orfeas_scheduler_submit(s->scheduler, &req, &job);
    if (rc == ORFEAS_EBUSY)
        return respond_error(r, rc,
                             atomic_load(&s->state) == SERVER_DRAINING
                                 ? "the server is shutting down"
                                 : "the job queue is full; retry later");
    if (rc) return respond_error(r, rc, NULL);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    memcpy(r->job_id, snap.id, sizeof r->job_id);

    while (orfeas_job_wait(job, WAIT_SLICE_MS) == ORFEAS_ETIMEOUT) {
        if (client_gone(r)) {
            orfeas_scheduler_cancel(s->scheduler, job);
            orfeas_job_wait(job, -1);
            break;
        }
    }
    orfeas_job_snapshot_get(job, &snap);
    enum MHD_Result ret;
    if (snap.state != ORFEAS_JOB_COMPLETED)
        ret = respond_job_error(r, &snap);
    else if (want_json)
        ret = answer_summary(r, &snap);
    else
        ret = answer_model(r, job, &snap);
    orfeas_job_unref(job);
    return ret;
}
