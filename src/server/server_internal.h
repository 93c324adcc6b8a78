/* Shared by the server's files: the server, one request, the responses. */
#ifndef ORFEAS_SERVER_INTERNAL_H
#define ORFEAS_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <stdatomic.h>

#include "orfeas/jobs.h"
#include "core/clock.h"
#include "server/metrics.h"
#include "orfeas/server.h"

typedef enum { SERVER_STARTING = 0, SERVER_RUNNING, SERVER_DRAINING } server_state;

struct orfeas_server {
    orfeas_server_config config;
    struct MHD_Daemon *daemon;
    orfeas_device *device;
    orfeas_vram *vram;
    orfeas_scheduler *scheduler;
    orfeas_metrics *metrics;
    struct orfeas_depth_model *depth_model; /* --depth-model, or NULL */
    struct orfeas_cache *cache;             /* the dedup cache (src/cache) */
    struct orfeas_store *store;             /* jobs on disk (src/jobs/store.h) */
    struct orfeas_cluster *cluster;         /* --redis, or NULL */
    /* The depth model's identity in cache keys: SHA-256 of its weights file
     * and the precision; "" without a model. */
    char depth_model_id[80];
    atomic_int state;
    atomic_uint_fast64_t requests;
    int port;
    double started_at; /* unix seconds */
};

/* One request, from its first byte to the completion callback, which frees
 * everything hanging off it in one place. */
typedef struct request {
    orfeas_server *server;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    const char *route;  /* route name for metrics and logs */
    orfeas_buffer body; /* the whole upload, at most max_upload */
    int body_too_large;
    int status; /* what was answered */
    double start_ms;
    char job_id[37]; /* for the access log, when there is one */
} request;

/* A route handler answers exactly once (one of the respond_* calls) and
 * returns what that call returned. Path parameters (a job id) come in
 * `param` (NULL when the route has none). */
typedef enum MHD_Result (*route_handler)(request *r, const char *param);

/* Responses. Each queues the response and records the status. */
enum MHD_Result orfeas_respond_json(request *r, int status, const char *json);
/* {"error":{"code","message","status"}} for an ORFEAS_E* code; message may
 * be NULL (the code's default text). */
enum MHD_Result orfeas_respond_error(request *r, int err, const char *message);
/* Bytes with a content type; extra headers as name/value pairs, NULL-ended. */
enum MHD_Result orfeas_respond_bytes(request *r, int status, const char *content_type,
                                     const void *data, size_t size, const char *const *headers);
/* Takes over a response the handler built (a streaming one) and queues it. */
enum MHD_Result orfeas_respond_response(request *r, int status, struct MHD_Response *response);

/* Escapes text for a JSON string (quotes, backslashes, control characters),
 * truncating to fit size. */
void orfeas_json_escape(const char *in, char *out, size_t size);

/* Query-string value or NULL. */
const char *orfeas_request_query(request *r, const char *name);
const char *orfeas_request_header(request *r, const char *name);

/* Handlers (src/server/handlers/). */
enum MHD_Result orfeas_handle_health(request *r, const char *param);
enum MHD_Result orfeas_handle_gpu_stats(request *r, const char *param);
enum MHD_Result orfeas_handle_generate(request *r, const char *param);
enum MHD_Result orfeas_handle_job_create(request *r, const char *param);
enum MHD_Result orfeas_handle_job_list(request *r, const char *param);
enum MHD_Result orfeas_handle_job_status(request *r, const char *param);
enum MHD_Result orfeas_handle_job_result(request *r, const char *param);
enum MHD_Result orfeas_handle_job_thumbnail(request *r, const char *param);
enum MHD_Result orfeas_handle_job_cancel(request *r, const char *param);
enum MHD_Result orfeas_handle_progressive(request *r, const char *param);
enum MHD_Result orfeas_handle_metrics(request *r, const char *param);
enum MHD_Result orfeas_handle_openapi(request *r, const char *param);
enum MHD_Result orfeas_handle_index(request *r, const char *param);
enum MHD_Result orfeas_handle_cache_stats(request *r, const char *param);
enum MHD_Result orfeas_handle_cache_clear(request *r, const char *param);
/* param: the path after /assets/ */
enum MHD_Result orfeas_handle_asset(request *r, const char *param);

#endif
