/* GET /api/v1/openapi.json: the OpenAPI 3.0 document. The generation
 * parameters come from orfeas_params_table() and the error codes from
 * ORFEAS_ERROR_MAP, so names, enums, bounds, defaults and statuses always
 * match what the server does. */
#include "server/openapi.h"
#include "server/server_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builder: every helper records an allocation failure in d->failed and
 * tolerates a NULL parent, so the document is built straight through and
 * checked once at the end. */
typedef struct doc {
    int failed;
} doc;

static cJSON *check(doc *d, cJSON *item)
{
    if (!item) d->failed = 1;
    return item;
}

static cJSON *obj(doc *d, cJSON *parent, const char *key)
{
    return check(d, cJSON_AddObjectToObject(parent, key));
}

static cJSON *arr(doc *d, cJSON *parent, const char *key)
{
    return check(d, cJSON_AddArrayToObject(parent, key));
}

static void str(doc *d, cJSON *parent, const char *key, const char *value)
{
    check(d, cJSON_AddStringToObject(parent, key, value));
}

static void num(doc *d, cJSON *parent, const char *key, double value)
{
    check(d, cJSON_AddNumberToObject(parent, key, value));
}

static void boolean(doc *d, cJSON *parent, const char *key, int value)
{
    check(d, cJSON_AddBoolToObject(parent, key, value));
}

static void push_str(doc *d, cJSON *array, const char *value)
{
    cJSON *item = check(d, cJSON_CreateString(value));
    if (item && !cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        d->failed = 1;
    }
}

static cJSON *push_obj(doc *d, cJSON *array)
{
    cJSON *item = check(d, cJSON_CreateObject());
    if (item && !cJSON_AddItemToArray(array, item)) {
        cJSON_Delete(item);
        d->failed = 1;
        return NULL;
    }
    return item;
}

/* parent[key] = {"$ref": target} */
static void ref(doc *d, cJSON *parent, const char *key, const char *target)
{
    str(d, obj(d, parent, key), "$ref", target);
}

static void push_ref(doc *d, cJSON *array, const char *target)
{
    str(d, push_obj(d, array), "$ref", target);
}

/* {"type": type, "description": text} under parent[key]. */
static cJSON *typed(doc *d, cJSON *parent, const char *key, const char *type, const char *text)
{
    cJSON *o = obj(d, parent, key);
    str(d, o, "type", type);
    if (text) str(d, o, "description", text);
    return o;
}

static void binary(doc *d, cJSON *parent, const char *key, const char *text)
{
    str(d, typed(d, parent, key, "string", text), "format", "binary");
}

/* ------------------------------------------------------------------ */
/* From the tables */

static const int error_codes[] = {
#define ORFEAS_OPENAPI_CODE_(name, code, http, exit_status, msg) ORFEAS_E##name,
    ORFEAS_ERROR_MAP(ORFEAS_OPENAPI_CODE_)
#undef ORFEAS_OPENAPI_CODE_
};
#define ERROR_COUNT (sizeof error_codes / sizeof error_codes[0])

/* The schema of one generation parameter. */
static void param_schema(doc *d, cJSON *s, const orfeas_param_desc *p)
{
    char text[600];
    if (p->type == ORFEAS_PARAM_ENUM) {
        str(d, s, "type", "string");
        cJSON *values = arr(d, s, "enum");
        for (int i = 0; p->values[i]; i++)
            push_str(d, values, p->values[i]);
        str(d, s, "default", p->default_text);
    } else {
        str(d, s, "type", p->type == ORFEAS_PARAM_INT ? "integer" : "number");
        num(d, s, "minimum", p->min);
        num(d, s, "maximum", p->max);
        num(d, s, "default", strtod(p->default_text, NULL));
    }
    snprintf(text, sizeof text, "%s (CLI: %s)", p->help, p->flag);
    str(d, s, "description", text);
}

static void schema_error(doc *d, cJSON *schemas)
{
    cJSON *e = typed(d, schemas, "Error", "object",
                     "Every error: a stable code, a human message and the HTTP status.");
    push_str(d, arr(d, e, "required"), "error");
    cJSON *inner = typed(d, obj(d, e, "properties"), "error", "object", NULL);
    cJSON *req = arr(d, inner, "required");
    push_str(d, req, "code");
    push_str(d, req, "message");
    push_str(d, req, "status");
    cJSON *props = obj(d, inner, "properties");
    cJSON *code = typed(d, props, "code", "string", "stable machine-readable code");
    cJSON *codes = arr(d, code, "enum");
    for (size_t i = 0; i < ERROR_COUNT; i++)
        push_str(d, codes, orfeas_error_code(error_codes[i]));
    typed(d, props, "message", "string", "what went wrong, for people");
    typed(d, props, "status", "integer", "the HTTP status, repeated");
}

/* One reusable response per HTTP status that some error code maps to, its
 * description listing those codes. */
static void error_responses(doc *d, cJSON *responses)
{
    for (size_t i = 0; i < ERROR_COUNT; i++) {
        int status = orfeas_error_http_status(error_codes[i]);
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= orfeas_error_http_status(error_codes[k]) == status;
        if (seen) continue;
        char name[32], text[512] = "Error. Codes:";
        size_t len = strlen(text);
        for (size_t k = i; k < ERROR_COUNT; k++) {
            if (orfeas_error_http_status(error_codes[k]) != status) continue;
            int n = snprintf(text + len, sizeof text - len, " %s (%s);",
                             orfeas_error_code(error_codes[k]), orfeas_strerror(error_codes[k]));
            if (n > 0 && (size_t)n < sizeof text - len) len += (size_t)n;
        }
        if (len && text[len - 1] == ';') text[len - 1] = '.';
        snprintf(name, sizeof name, "Error%d", status);
        cJSON *r = obj(d, responses, name);
        str(d, r, "description", text);
        if (status == 503) {
            cJSON *retry = obj(d, obj(d, r, "headers"), "Retry-After");
            str(d, retry, "description", "seconds to wait before trying again");
            str(d, obj(d, retry, "schema"), "type", "integer");
        }
        ref(d, obj(d, obj(d, r, "content"), "application/json"), "schema",
            "#/components/schemas/Error");
    }
}

static void schema_params(doc *d, cJSON *schemas, cJSON *parameters)
{
    const orfeas_param_desc *table = orfeas_params_table();
    cJSON *gp = typed(d, schemas, "GenerationParameters", "object",
                      "The generation parameters (the same names as form fields, query keys "
                      "and JSON members).");
    cJSON *props = obj(d, gp, "properties");
    for (const orfeas_param_desc *p = table; p->name; p++) {
        param_schema(d, obj(d, props, p->name), p);
        cJSON *qp = obj(d, parameters, p->name);
        str(d, qp, "name", p->name);
        str(d, qp, "in", "query");
        str(d, qp, "description", p->help);
        param_schema(d, obj(d, qp, "schema"), p);
    }
    /* The multipart form: the files, then the same fields. */
    cJSON *form = typed(d, schemas, "GenerateForm", "object",
                        "multipart/form-data: the image file, optional mask and depth files, "
                        "and any generation parameter as a field.");
    push_str(d, arr(d, form, "required"), "image");
    props = obj(d, form, "properties");
    binary(d, props, "image", "PNG, JPEG or WebP (sniffed from the bytes)");
    binary(d, props, "mask", "optional foreground mask: white = object");
    binary(d, props, "depth", "optional depth map: 8/16-bit grey, brighter = nearer");
    for (const orfeas_param_desc *p = table; p->name; p++)
        param_schema(d, obj(d, props, p->name), p);
    /* JSON with base64 images. */
    cJSON *js = typed(d, schemas, "GenerateJson", "object",
                      "application/json: base64 images and any generation parameter.");
    push_str(d, arr(d, js, "required"), "image");
    props = obj(d, js, "properties");
    const char *files[3][2] = {{"image", "the image, base64"},
                               {"mask", "optional mask, base64"},
                               {"depth", "optional depth map, base64"}};
    for (int i = 0; i < 3; i++)
        str(d, typed(d, props, files[i][0], "string", files[i][1]), "format", "byte");
    for (const orfeas_param_desc *p = table; p->name; p++)
        param_schema(d, obj(d, props, p->name), p);
}

static const char *const job_states[] = {"queued", "running", "completed", "failed", "cancelled"};

static void schema_jobs(doc *d, cJSON *schemas)
{
    cJSON *c = typed(d, schemas, "JobCreated", "object", "An accepted asynchronous job.");
    cJSON *req = arr(d, c, "required");
    const char *created[] = {"job_id", "status", "status_url", "result_url", "queue_position"};
    for (int i = 0; i < 5; i++)
        push_str(d, req, created[i]);
    cJSON *props = obj(d, c, "properties");
    str(d, typed(d, props, "job_id", "string", NULL), "format", "uuid");
    push_str(d, arr(d, typed(d, props, "status", "string", NULL), "enum"), "queued");
    typed(d, props, "status_url", "string", NULL);
    typed(d, props, "result_url", "string", NULL);
    typed(d, props, "queue_position", "integer", "1-based place in the queue");

    cJSON *s = typed(d, schemas, "JobStatus", "object", "A job's state and, when done, result.");
    req = arr(d, s, "required");
    push_str(d, req, "job_id");
    push_str(d, req, "status");
    props = obj(d, s, "properties");
    str(d, typed(d, props, "job_id", "string", NULL), "format", "uuid");
    cJSON *states = arr(d, typed(d, props, "status", "string", NULL), "enum");
    for (size_t i = 0; i < sizeof job_states / sizeof job_states[0]; i++)
        push_str(d, states, job_states[i]);
    cJSON *progress = typed(d, props, "progress", "number", "percent");
    num(d, progress, "minimum", 0);
    num(d, progress, "maximum", 100);
    cJSON *stages = arr(d, typed(d, props, "stage", "string", "the running stage"), "enum");
    for (int i = 0; i < ORFEAS_STAGE_COUNT_; i++)
        push_str(d, stages, orfeas_stage_name((orfeas_stage)i));
    typed(d, props, "queue_position", "integer", "1-based while queued");
    ref(d, props, "error", "#/components/schemas/ErrorBody");
    typed(d, props, "result", "object", "when completed: format, size, mesh figures, stats");

    /* The inner object of Error, for the job's "error" member. */
    cJSON *eb = typed(d, schemas, "ErrorBody", "object", "An error as stored with a job.");
    props = obj(d, eb, "properties");
    typed(d, props, "code", "string", NULL);
    typed(d, props, "message", "string", NULL);
    typed(d, props, "status", "integer", NULL);
}

static void schema_misc(doc *d, cJSON *schemas)
{
    cJSON *h = typed(d, schemas, "Health", "object", NULL);
    push_str(d, arr(d, h, "required"), "status");
    cJSON *props = obj(d, h, "properties");
    cJSON *st = arr(d, typed(d, props, "status", "string", NULL), "enum");
    push_str(d, st, "ok");
    push_str(d, st, "degraded");
    push_str(d, st, "starting");
    push_str(d, st, "draining");
    typed(d, props, "version", "string", NULL);
    typed(d, props, "device", "string", NULL);
    typed(d, props, "backend", "string", NULL);
    typed(d, props, "uptime_s", "number", NULL);
    typed(d, props, "queue_depth", "integer", NULL);
    typed(d, props, "node", "string", "this node's id (cluster mode)");
    typed(d, props, "cluster", "object",
          "cluster mode: redis (up or down), nodes_alive, stream_length, pending, and this "
          "node's dispatched, taken, claimed, completed and skipped_done counts");

    cJSON *g = typed(d, schemas, "GpuStats", "object",
                     "Device memory and the VRAM manager's view (gpu.available is false "
                     "without a GPU).");
    props = obj(d, g, "properties");
    typed(d, props, "timestamp", "number", "unix seconds");
    typed(d, props, "gpu", "object", "backend, memory figures, precision, flags, telemetry");
    typed(d, props, "queue_depth", "integer", NULL);
    typed(d, props, "recommended_precision", "string", NULL);
    typed(d, props, "optimal_batch_size", "integer", NULL);
    typed(d, props, "status", "string", NULL);

    cJSON *sum = typed(d, schemas, "GenerateSummary", "object",
                       "The answer to a sync generation with Accept: application/json.");
    props = obj(d, sum, "properties");
    str(d, typed(d, props, "job_id", "string", NULL), "format", "uuid");
    typed(d, props, "download_url", "string", "GET it for the model bytes");

    cJSON *line = typed(d, schemas, "ProgressiveLine", "object",
                        "One NDJSON line per level, coarse to fine.");
    cJSON *req = arr(d, line, "required");
    const char *required[] = {"stage",  "stages",    "progress",   "resolution",
                              "format", "triangles", "elapsed_ms", "data"};
    for (int i = 0; i < 8; i++)
        push_str(d, req, required[i]);
    props = obj(d, line, "properties");
    num(d, typed(d, props, "stage", "integer", "1-based level number"), "minimum", 1);
    num(d, typed(d, props, "stages", "integer", "number of levels"), "minimum", 1);
    typed(d, props, "progress", "number", "percent of the levels sent");
    typed(d, props, "quality", "integer", "the quality this level ran at");
    typed(d, props, "resolution", "integer", "long side of the working grid in pixels");
    push_str(d, arr(d, typed(d, props, "format", "string", NULL), "enum"), "glb");
    typed(d, props, "triangles", "integer", NULL);
    typed(d, props, "elapsed_ms", "number", "since the request arrived");
    str(d, typed(d, props, "data", "string", "the GLB, base64"), "format", "byte");
    typed(d, props, "final", "boolean", "only on the last line");
    str(d, typed(d, props, "job_id", "string", "on the last line: the job behind it"), "format",
        "uuid");
}

/* ------------------------------------------------------------------ */
/* Paths */

static const int generate_errors[] = {400, 401, 413, 415, 422, 503, 504, 507};
static const int job_create_errors[] = {400, 401, 413, 415, 503};
static const int job_errors[] = {401, 404};
static const int job_result_errors[] = {401, 404, 409};
static const int auth_errors[] = {401};

static cJSON *operation(doc *d, cJSON *paths, const char *path, const char *method, const char *id,
                        const char *summary, const char *text, const int *errors,
                        size_t error_count)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, path);
    if (!item) item = obj(d, paths, path);
    cJSON *op = obj(d, item, method);
    str(d, op, "operationId", id);
    str(d, op, "summary", summary);
    if (text) str(d, op, "description", text);
    cJSON *responses = obj(d, op, "responses");
    for (size_t i = 0; i < error_count; i++) {
        char code[8], target[64];
        snprintf(code, sizeof code, "%d", errors[i]);
        snprintf(target, sizeof target, "#/components/responses/Error%d", errors[i]);
        ref(d, responses, code, target);
    }
    ref(d, responses, "default", "#/components/responses/Error500");
    return op;
}

static cJSON *ok_response(doc *d, cJSON *op, const char *status, const char *text)
{
    cJSON *r = obj(d, cJSON_GetObjectItemCaseSensitive(op, "responses"), status);
    str(d, r, "description", text);
    return r;
}

static void content_ref(doc *d, cJSON *response, const char *type, const char *schema)
{
    ref(d, obj(d, obj(d, response, "content"), type), "schema", schema);
}

static void content_type(doc *d, cJSON *response, const char *type, const char *schema_type,
                         const char *format)
{
    cJSON *s = obj(d, obj(d, obj(d, response, "content"), type), "schema");
    str(d, s, "type", schema_type);
    if (format) str(d, s, "format", format);
}

static void header(doc *d, cJSON *response, const char *name, const char *text,
                   const char *const *values)
{
    cJSON *h = obj(d, obj(d, response, "headers"), name);
    str(d, h, "description", text);
    cJSON *s = obj(d, h, "schema");
    str(d, s, "type", "string");
    if (values) {
        cJSON *e = arr(d, s, "enum");
        for (int i = 0; values[i]; i++)
            push_str(d, e, values[i]);
    }
}

/* The generation parameters as query references, and the request body in
 * its three shapes. */
static void generation_input(doc *d, cJSON *op)
{
    cJSON *params = arr(d, op, "parameters");
    char target[128];
    for (const orfeas_param_desc *p = orfeas_params_table(); p->name; p++) {
        snprintf(target, sizeof target, "#/components/parameters/%s", p->name);
        push_ref(d, params, target);
    }
    ref(d, op, "requestBody", "#/components/requestBodies/GenerationInput");
}

static void generation_body(doc *d, cJSON *bodies)
{
    cJSON *b = obj(d, bodies, "GenerationInput");
    str(d, b, "description",
        "The image in one of three shapes: a multipart form, the raw image bytes (parameters "
        "then go in the query), or JSON with base64 images.");
    boolean(d, b, "required", 1);
    cJSON *content = obj(d, b, "content");
    ref(d, obj(d, content, "multipart/form-data"), "schema", "#/components/schemas/GenerateForm");
    ref(d, obj(d, content, "application/json"), "schema", "#/components/schemas/GenerateJson");
    const char *raw[] = {"image/png", "image/jpeg", "image/webp", "application/octet-stream"};
    for (int i = 0; i < 4; i++) {
        cJSON *s = obj(d, obj(d, content, raw[i]), "schema");
        str(d, s, "type", "string");
        str(d, s, "format", "binary");
    }
}

static void paths_all(doc *d, cJSON *paths)
{
    static const char *const cache_values[] = {"hit", "miss", "coalesced", NULL};
    static const char *const precision_values[] = {"fp32", "fp16", "int8", NULL};
    cJSON *op = operation(d, paths, "/api/health", "get", "health", "Liveness and readiness",
                          "200 while running (status degraded while a cluster node cannot "
                          "reach Redis); 503 while starting or draining. Never needs the "
                          "API key.",
                          NULL, 0);
    arr(d, op, "security"); /* empty: no authentication */
    content_ref(d, ok_response(d, op, "200", "running"), "application/json",
                "#/components/schemas/Health");
    content_ref(d, ok_response(d, op, "503", "starting or draining"), "application/json",
                "#/components/schemas/Health");

    op = operation(d, paths, "/api/v1/gpu/stats", "get", "gpuStats", "Device memory statistics",
                   NULL, (const int[]){400, 401}, 2);
    cJSON *params = arr(d, op, "parameters");
    const char *inputs[2][2] = {{"model_size_gb", "model size for the batch-size formula (6)"},
                                {"sample_size_mb", "sample size for the formula (50)"}};
    for (int i = 0; i < 2; i++) {
        cJSON *p = push_obj(d, params);
        str(d, p, "name", inputs[i][0]);
        str(d, p, "in", "query");
        str(d, p, "description", inputs[i][1]);
        str(d, obj(d, p, "schema"), "type", "number");
    }
    content_ref(d, ok_response(d, op, "200", "the statistics"), "application/json",
                "#/components/schemas/GpuStats");

    op = operation(d, paths, "/api/v1/generate", "post", "generate", "Generate a model (sync)",
                   "Waits for the job and answers the model bytes in the requested format; "
                   "with Accept: application/json a summary with a download_url instead.",
                   generate_errors, sizeof generate_errors / sizeof generate_errors[0]);
    generation_input(d, op);
    cJSON *r = ok_response(d, op, "200", "the model");
    for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++)
        content_type(d, r, orfeas_format_mime((orfeas_format)f), "string", "binary");
    content_ref(d, r, "application/json", "#/components/schemas/GenerateSummary");
    header(d, r, "X-Orfeas-Job", "the job's id (its result and thumbnail routes work)", NULL);
    header(d, r, "X-Orfeas-Cache", "whether the result came from the cache", cache_values);
    header(d, r, "X-Orfeas-Precision", "the precision the job ran at", precision_values);
    header(d, r, "Server-Timing", "per-stage milliseconds (decode, foreground, ...)", NULL);

    op = operation(d, paths, "/api/v1/generate-progressive", "post", "generateProgressive",
                   "Generate coarse to fine, streamed",
                   "application/x-ndjson: one line per level of a quality ladder up to the "
                   "requested quality (7: 1, 3, 5, 7), each flushed as it is done, with the "
                   "GLB in base64. The last line has \"final\": true and the job_id of a real "
                   "job. An error after the stream started is a line {\"error\":{...}} and "
                   "ends the stream.",
                   generate_errors, sizeof generate_errors / sizeof generate_errors[0]);
    generation_input(d, op);
    r = ok_response(d, op, "200", "the stream, one JSON object per line");
    cJSON *one = obj(d, obj(d, obj(d, r, "content"), "application/x-ndjson"), "schema");
    cJSON *alts = arr(d, one, "oneOf");
    push_ref(d, alts, "#/components/schemas/ProgressiveLine");
    push_ref(d, alts, "#/components/schemas/Error");

    op = operation(d, paths, "/api/v1/jobs", "post", "createJob", "Queue a generation (async)",
                   NULL, job_create_errors, sizeof job_create_errors / sizeof job_create_errors[0]);
    generation_input(d, op);
    content_ref(d, ok_response(d, op, "202", "queued"), "application/json",
                "#/components/schemas/JobCreated");

    op = operation(d, paths, "/api/v1/jobs", "get", "listJobs", "Recent jobs, newest first",
                   "{\"jobs\":[...]} with the status object of each; ?limit=N (1..1000, "
                   "default 20).",
                   auth_errors, 1);
    content_type(d, ok_response(d, op, "200", "the jobs"), "application/json", "object", NULL);

    op = operation(d, paths, "/api/v1/jobs/{id}", "get", "getJob", "A job's status", NULL,
                   job_errors, 2);
    content_ref(d, ok_response(d, op, "200", "the status"), "application/json",
                "#/components/schemas/JobStatus");
    op = operation(d, paths, "/api/v1/jobs/{id}", "delete", "cancelJob", "Cancel a job",
                   "A queued job is cancelled at once; a running one at its next stage.",
                   job_errors, 2);
    content_ref(d, ok_response(d, op, "200", "the status after cancelling"), "application/json",
                "#/components/schemas/JobStatus");
    cJSON *id_params =
        arr(d, cJSON_GetObjectItemCaseSensitive(paths, "/api/v1/jobs/{id}"), "parameters");
    push_ref(d, id_params, "#/components/parameters/JobId");

    op = operation(d, paths, "/api/v1/jobs/{id}/result", "get", "getJobResult", "A job's model",
                   "409 not_ready while the job is not finished.", job_result_errors, 3);
    push_ref(d, arr(d, op, "parameters"), "#/components/parameters/JobId");
    r = ok_response(d, op, "200", "the model bytes");
    for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++)
        content_type(d, r, orfeas_format_mime((orfeas_format)f), "string", "binary");

    op = operation(d, paths, "/api/v1/jobs/{id}/thumbnail.png", "get", "getJobThumbnail",
                   "A rendered preview of a job's model", NULL, job_result_errors, 3);
    push_ref(d, arr(d, op, "parameters"), "#/components/parameters/JobId");
    content_type(d, ok_response(d, op, "200", "PNG"), "image/png", "string", "binary");

    op = operation(d, paths, "/api/v1/cache/stats", "get", "cacheStats", "The result cache",
                   "{entries, bytes, capacity, hits, misses, hit_rate, coalesced, evictions, "
                   "expired, corrupted, ttl_s, backend}.",
                   auth_errors, 1);
    content_type(d, ok_response(d, op, "200", "the cache's figures"), "application/json", "object",
                 NULL);
    op = operation(d, paths, "/api/v1/cache/clear", "post", "cacheClear", "Empty the result cache",
                   "{\"cleared\": N}", auth_errors, 1);
    content_type(d, ok_response(d, op, "200", "how many entries went"), "application/json",
                 "object", NULL);

    op = operation(d, paths, "/metrics", "get", "metrics", "Prometheus metrics",
                   "Text format 0.0.4, names prefixed orfeas_.", auth_errors, 1);
    content_type(d, ok_response(d, op, "200", "the exposition"), "text/plain", "string", NULL);

    op = operation(d, paths, "/api/v1/openapi.json", "get", "openapi", "This document", NULL,
                   auth_errors, 1);
    content_type(d, ok_response(d, op, "200", "OpenAPI 3.0"), "application/json", "object", NULL);

    op = operation(d, paths, "/", "get", "index", "The web page", NULL, auth_errors, 1);
    content_type(d, ok_response(d, op, "200", "HTML"), "text/html", "string", NULL);
}

static void build(doc *d, cJSON *root)
{
    str(d, root, "openapi", "3.0.3");
    cJSON *info = obj(d, root, "info");
    str(d, info, "title", "orfeas");
    str(d, info, "version", ORFEAS_ENGINE_VERSION);
    str(d, info, "description",
        "Image-to-3D: upload a picture, get a watertight mesh (STL, OBJ, PLY or GLB). "
        "Errors are always {\"error\":{\"code\",\"message\",\"status\"}}.");
    str(d, push_obj(d, arr(d, root, "servers")), "url", "/");

    cJSON *components = obj(d, root, "components");
    cJSON *scheme = obj(d, obj(d, components, "securitySchemes"), "bearer");
    str(d, scheme, "type", "http");
    str(d, scheme, "scheme", "bearer");
    str(d, scheme, "description",
        "The server's --api-key (ORFEAS_API_KEY), when it has one; every route but "
        "/api/health then needs it.");
    /* Either the key, or nothing when the server runs without one. */
    cJSON *security = arr(d, root, "security");
    arr(d, push_obj(d, security), "bearer");
    push_obj(d, security);

    cJSON *schemas = obj(d, components, "schemas");
    schema_error(d, schemas);
    cJSON *parameters = obj(d, components, "parameters");
    schema_params(d, schemas, parameters);
    schema_jobs(d, schemas);
    schema_misc(d, schemas);
    cJSON *job_id = obj(d, parameters, "JobId");
    str(d, job_id, "name", "id");
    str(d, job_id, "in", "path");
    boolean(d, job_id, "required", 1);
    str(d, job_id, "description", "the job's id");
    str(d, obj(d, job_id, "schema"), "type", "string");
    error_responses(d, obj(d, components, "responses"));
    generation_body(d, obj(d, components, "requestBodies"));
    paths_all(d, obj(d, root, "paths"));
}

int orfeas_openapi_json(char **out)
{
    *out = NULL;
    doc d = {0};
    cJSON *root = cJSON_CreateObject();
    if (!root) return ORFEAS_ENOMEM;
    build(&d, root);
    if (!d.failed) *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return *out ? 0 : ORFEAS_ENOMEM;
}

enum MHD_Result orfeas_handle_openapi(request *r, const char *param)
{
    (void)param;
    char *json = NULL;
    int err = orfeas_openapi_json(&json);
    if (err) return orfeas_respond_error(r, err, NULL);
    enum MHD_Result rc = orfeas_respond_json(r, 200, json);
    free(json);
    return rc;
}
