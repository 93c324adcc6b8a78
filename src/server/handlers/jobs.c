/* The async job routes: create, status, result, thumbnail, cancel. */
#include "server/request_params.h"
#include "server/server_internal.h"
#include "server/service.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANCEL_WAIT_MS 2000

/* --- shared with generate.c --- */

/* Fewer digits than a double prints: enough for millimetres and ms. */
static double round_to(double v, double step)
{
    return round(v / step) * step;
}

int orfeas_job_result_json_add(cJSON *o, const orfeas_job_snapshot *snap)
{
    const orfeas_mesh_report *rep = &snap->stats.report;
    char url[96];
    cJSON *bbox = cJSON_CreateArray(), *timings = cJSON_CreateObject();
    int ok = bbox && timings;
    for (int i = 0; ok && i < 3; i++)
        ok = cJSON_AddItemToArray(
            bbox, cJSON_CreateNumber(round_to((double)rep->max[i] - rep->min[i], 1e-3)));
    for (int i = 0; ok && i < ORFEAS_STAGE_COUNT_; i++)
        ok = cJSON_AddNumberToObject(timings, orfeas_stage_name((orfeas_stage)i),
                                     round_to(snap->stats.stage_ms[i], 1e-2)) != NULL;
    ok = ok && cJSON_AddNumberToObject(timings, "total", round_to(snap->stats.total_ms, 1e-2));
    ok = ok && cJSON_AddStringToObject(o, "format", orfeas_format_name(snap->format));
    ok = ok && cJSON_AddNumberToObject(o, "bytes", (double)snap->result_size);
    ok = ok && cJSON_AddNumberToObject(o, "vertices", snap->vertices);
    ok = ok && cJSON_AddNumberToObject(o, "triangles", snap->triangles);
    ok = ok && cJSON_AddNumberToObject(o, "volume_mm3", round_to(rep->volume, 1e-2));
    ok = ok && cJSON_AddItemToObject(o, "bbox_mm", bbox);
    if (ok) bbox = NULL;
    ok =
        ok && cJSON_AddStringToObject(o, "precision", orfeas_precision_name(snap->stats.precision));
    ok = ok && cJSON_AddItemToObject(o, "timings_ms", timings);
    if (ok) timings = NULL;
    snprintf(url, sizeof url, "/api/v1/jobs/%s/result", snap->id);
    ok = ok && cJSON_AddStringToObject(o, "download_url", url);
    snprintf(url, sizeof url, "/api/v1/jobs/%s/thumbnail.png", snap->id);
    ok = ok && cJSON_AddStringToObject(o, "thumbnail_url", url);
    cJSON_Delete(bbox);
    cJSON_Delete(timings);
    return ok ? 0 : ORFEAS_ENOMEM;
}

enum MHD_Result orfeas_respond_job_error(request *r, const orfeas_job_snapshot *snap)
{
    if (snap->state == ORFEAS_JOB_QUEUED || snap->state == ORFEAS_JOB_RUNNING) {
        char msg[96];
        snprintf(msg, sizeof msg, "job %s is %s", snap->id, orfeas_job_state_name(snap->state));
        return orfeas_respond_error(r, ORFEAS_ENOTREADY, msg);
    }
    /* A job cancelled by the shutdown is the server's doing, not the
     * client's: answer busy, so that the client retries elsewhere. */
    if (snap->state == ORFEAS_JOB_CANCELLED && atomic_load(&r->server->state) == SERVER_DRAINING)
        return orfeas_respond_error(r, ORFEAS_EBUSY, "the server is shutting down");
    int err = snap->error ? snap->error : ORFEAS_EINTERNAL;
    return orfeas_respond_error(r, err, snap->error_message);
}

static void release_job(void *cls)
{
    orfeas_job_unref(cls);
}

enum MHD_Result orfeas_respond_job_bytes(request *r, orfeas_job *job, const char *content_type,
                                         const uint8_t *data, size_t size,
                                         const char *const *headers)
{
    orfeas_job_ref(job);
    struct MHD_Response *response = MHD_create_response_from_buffer_with_free_callback_cls(
        size, (void *)data, release_job, job);
    if (!response) {
        orfeas_job_unref(job);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(response, headers[i], headers[i + 1]);
    return orfeas_respond_response(r, 200, response);
}

/* --- ids --- */

/* Canonical lowercase UUID text: 8-4-4-4-12 hex digits. */
static int valid_id(const char *id)
{
    if (!id || strlen(id) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        char ch = id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (ch != '-') return 0;
        } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* Looks the job up, answering 400/404 itself when it cannot (*job NULL). */
static enum MHD_Result find_job(request *r, const char *id, orfeas_job **job)
{
    *job = NULL;
    if (!valid_id(id))
        return orfeas_respond_error(r, ORFEAS_EINVAL, "job id: expected a lowercase UUID");
    memcpy(r->job_id, id, sizeof r->job_id);
    *job = orfeas_scheduler_find(r->server->scheduler, id);
    if (!*job) return orfeas_respond_error(r, ORFEAS_ENOTFOUND, "no such job (unknown or expired)");
    return MHD_YES;
}

static enum MHD_Result respond_cjson(request *r, int status, cJSON *o, const char *location)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return orfeas_respond_error(r, ORFEAS_ENOMEM, NULL);
    const char *headers[] = {"Location", location, NULL};
    enum MHD_Result ret = orfeas_respond_bytes(r, status, "application/json", text, strlen(text),
                                               location ? headers : NULL);
    cJSON_free(text);
    return ret;
}

/* --- routes --- */

enum MHD_Result orfeas_handle_job_create(request *r, const char *param)
{
    (void)param;
    orfeas_service_request req = {.mode = ORFEAS_SERVICE_ASYNC};
    enum MHD_Result answered;
    if (orfeas_request_job_or_answer(r, &req.job, &answered)) return answered;
    orfeas_service_answer ans;
    int rc = orfeas_service_generate(r->server, &req, &ans);
    orfeas_service_answer_release(&ans); /* the snapshot is all this needs */
    if (rc) return orfeas_respond_error(r, ans.error, ans.message);
    const orfeas_job_snapshot *snap = &ans.snap;
    memcpy(r->job_id, snap->id, sizeof r->job_id);

    char status_url[64], result_url[80];
    snprintf(status_url, sizeof status_url, "/api/v1/jobs/%s", snap->id);
    snprintf(result_url, sizeof result_url, "/api/v1/jobs/%s/result", snap->id);
    cJSON *o = cJSON_CreateObject();
    if (o && !(cJSON_AddStringToObject(o, "job_id", snap->id) &&
               cJSON_AddStringToObject(o, "status", orfeas_job_state_name(snap->state)) &&
               cJSON_AddStringToObject(o, "status_url", status_url) &&
               cJSON_AddStringToObject(o, "result_url", result_url) &&
               cJSON_AddNumberToObject(o, "queue_position", snap->queue_position) &&
               cJSON_AddStringToObject(o, "cache", ans.cache))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return respond_cjson(r, 202, o, status_url);
}

static cJSON *add_time(cJSON *o, const char *name, double unix_s)
{
    return unix_s > 0 ? cJSON_AddNumberToObject(o, name, unix_s) : cJSON_AddNullToObject(o, name);
}

enum MHD_Result orfeas_handle_job_status(request *r, const char *param)
{
    orfeas_job *job;
    enum MHD_Result ret = find_job(r, param, &job);
    if (!job) return ret;
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    orfeas_job_unref(job);

    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "job_id", snap.id) &&
             cJSON_AddStringToObject(o, "status", orfeas_job_state_name(snap.state)) &&
             cJSON_AddNumberToObject(o, "progress", snap.progress) &&
             cJSON_AddStringToObject(o, "stage", snap.stage ? snap.stage : "") &&
             cJSON_AddNumberToObject(o, "queue_position", snap.queue_position) &&
             add_time(o, "created", snap.created) && add_time(o, "started", snap.started) &&
             add_time(o, "finished", snap.finished);
    if (ok && (snap.state == ORFEAS_JOB_FAILED || snap.state == ORFEAS_JOB_CANCELLED)) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        ok = e && cJSON_AddStringToObject(e, "code", orfeas_error_code(snap.error)) &&
             cJSON_AddStringToObject(e, "message", snap.error_message) &&
             cJSON_AddNumberToObject(e, "status", orfeas_error_http_status(snap.error));
    }
    if (ok && snap.state == ORFEAS_JOB_COMPLETED) {
        cJSON *res = cJSON_AddObjectToObject(o, "result");
        ok = res && orfeas_job_result_json_add(res, &snap) == 0;
    }
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
    return respond_cjson(r, 200, o, NULL);
}

enum MHD_Result orfeas_handle_job_result(request *r, const char *param)
{
    orfeas_job *job;
    enum MHD_Result ret = find_job(r, param, &job);
    if (!job) return ret;
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    orfeas_format format = snap.format;
    const char *asked = orfeas_request_query(r, "format");
    if (asked && *asked && orfeas_format_parse(asked, &format)) {
        orfeas_job_unref(job);
        return orfeas_respond_error(r, ORFEAS_EINVAL, "format: one of stl, obj, ply, glb");
    }
    if (snap.state != ORFEAS_JOB_COMPLETED) {
        orfeas_job_unref(job);
        return orfeas_respond_job_error(r, &snap);
    }
    char disposition[96];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"orfeas-%.8s.%s\"", snap.id,
             orfeas_format_name(format));
    const char *headers[] = {"Content-Disposition", disposition, "X-Orfeas-Job", snap.id, NULL};
    if (format == snap.format) {
        const uint8_t *data;
        size_t size;
        int rc = orfeas_job_result(job, &data, &size);
        ret =
            rc ? orfeas_respond_error(r, rc, NULL)
               : orfeas_respond_job_bytes(r, job, orfeas_format_mime(format), data, size, headers);
        orfeas_job_unref(job);
        return ret;
    }
    orfeas_buffer out = {0};
    int rc = orfeas_job_export(job, format, &out);
    orfeas_job_unref(job);
    if (rc) {
        orfeas_buffer_free(&out);
        return orfeas_respond_error(r, rc,
                                    rc == ORFEAS_ENOTFOUND
                                        ? "only this job's own format is kept here (it "
                                          "was restored after a restart or ran on "
                                          "another node); submit it again for another"
                                        : NULL);
    }
    /* The exported copy is handed to libmicrohttpd, which frees it. */
    struct MHD_Response *response =
        MHD_create_response_from_buffer(out.size, out.data, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        orfeas_buffer_free(&out);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, orfeas_format_mime(format));
    for (size_t i = 0; headers[i]; i += 2)
        MHD_add_response_header(response, headers[i], headers[i + 1]);
    return orfeas_respond_response(r, 200, response);
}

enum MHD_Result orfeas_handle_job_thumbnail(request *r, const char *param)
{
    orfeas_job *job;
    enum MHD_Result ret = find_job(r, param, &job);
    if (!job) return ret;
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    if (snap.state != ORFEAS_JOB_COMPLETED) {
        orfeas_job_unref(job);
        return orfeas_respond_job_error(r, &snap);
    }
    const uint8_t *data;
    size_t size;
    int rc = orfeas_job_thumbnail(job, &data, &size);
    const char *headers[] = {"X-Orfeas-Job", snap.id, NULL};
    ret = rc ? orfeas_respond_error(r, rc,
                                    rc == ORFEAS_ENOTFOUND
                                        ? "this job's mesh (for the preview) is not "
                                          "kept here: it was restored after a "
                                          "restart or ran on another node"
                                        : NULL)
             : orfeas_respond_job_bytes(r, job, "image/png", data, size, headers);
    orfeas_job_unref(job);
    return ret;
}

enum MHD_Result orfeas_handle_job_cancel(request *r, const char *param)
{
    orfeas_job *job;
    enum MHD_Result ret = find_job(r, param, &job);
    if (!job) return ret;
    orfeas_scheduler_cancel(r->server->scheduler, job);
    /* A running job stops at its next cancellation point: usually soon. */
    orfeas_job_wait(job, CANCEL_WAIT_MS);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    orfeas_job_unref(job);
    cJSON *o = cJSON_CreateObject();
    const char *status =
        snap.state == ORFEAS_JOB_RUNNING ? "cancelling" : orfeas_job_state_name(snap.state);
    if (o && !(cJSON_AddStringToObject(o, "job_id", snap.id) &&
               cJSON_AddStringToObject(o, "status", status))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return respond_cjson(r, 200, o, NULL);
}
