/* GET /api/v1/jobs: the jobs the scheduler knows, most recent first. */
#include "server/request_params.h"
#include "server/server_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define JOB_LIST_DEFAULT 20
#define JOB_LIST_MAX 1000

static cJSON *add_time(cJSON *o, const char *name, double unix_s)
{
    return unix_s > 0 ? cJSON_AddNumberToObject(o, name, unix_s) : cJSON_AddNullToObject(o, name);
}

/* One entry: the status route's fields (without the queue position's
 * meaning changing) and, when completed, its result summary. */
static int add_job(cJSON *list, const orfeas_job_snapshot *snap)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(list, o)) {
        cJSON_Delete(o);
        return ORFEAS_ENOMEM;
    }
    int ok = cJSON_AddStringToObject(o, "job_id", snap->id) &&
             cJSON_AddStringToObject(o, "status", orfeas_job_state_name(snap->state)) &&
             cJSON_AddNumberToObject(o, "progress", snap->progress) &&
             cJSON_AddStringToObject(o, "stage", snap->stage ? snap->stage : "") &&
             cJSON_AddNumberToObject(o, "queue_position", snap->queue_position) &&
             add_time(o, "created", snap->created) && add_time(o, "started", snap->started) &&
             add_time(o, "finished", snap->finished);
    if (ok && (snap->state == ORFEAS_JOB_FAILED || snap->state == ORFEAS_JOB_CANCELLED)) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        ok = e && cJSON_AddStringToObject(e, "code", orfeas_error_code(snap->error)) &&
             cJSON_AddStringToObject(e, "message", snap->error_message) &&
             cJSON_AddNumberToObject(e, "status", orfeas_error_http_status(snap->error));
    }
    if (ok && snap->state == ORFEAS_JOB_COMPLETED) {
        cJSON *res = cJSON_AddObjectToObject(o, "result");
        ok = res && orfeas_job_result_json_add(res, snap) == 0;
    }
    return ok ? 0 : ORFEAS_ENOMEM;
}

enum MHD_Result orfeas_handle_job_list(request *r, const char *param)
{
    (void)param;
    long limit = JOB_LIST_DEFAULT;
    const char *text = orfeas_request_query(r, "limit");
    if (text && *text) {
        char *end;
        limit = strtol(text, &end, 10);
        if (*end || limit < 1 || limit > JOB_LIST_MAX)
            return orfeas_respond_error(r, ORFEAS_EINVAL, "limit: an integer from 1 to 1000");
    }
    orfeas_job_snapshot *snaps = malloc((size_t)limit * sizeof *snaps);
    if (!snaps) return orfeas_respond_error(r, ORFEAS_ENOMEM, NULL);
    int n = orfeas_scheduler_list(r->server->scheduler, snaps, (int)limit);
    if (n < 0) {
        free(snaps);
        return orfeas_respond_error(r, n, NULL);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *list = o ? cJSON_AddArrayToObject(o, "jobs") : NULL;
    int rc = list ? 0 : ORFEAS_ENOMEM;
    for (int i = 0; !rc && i < n; i++)
        rc = add_job(list, &snaps[i]);
    free(snaps);
    char *json = rc ? NULL : cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!json) return orfeas_respond_error(r, ORFEAS_ENOMEM, NULL);
    enum MHD_Result ret = orfeas_respond_json(r, 200, json);
    cJSON_free(json);
    return ret;
}
