/* Turning an upload into a job request, in the three styles of the API:
 *   multipart/form-data: an `image` file part (optional `mask`, `depth`)
 *     and one text part per parameter;
 *   a raw image body (image/png, image/jpeg, image/webp,
 *     application/octet-stream) with the parameters in the query string;
 *   application/json: {"image": "<base64>", "mask": ..., "quality": 7, ...}.
 * Query parameters apply in every style; body fields override them. An
 * explicit `format` wins over a model type in the Accept header.
 *
 * The parser works on bytes, not on libmicrohttpd, so that it can be fuzzed
 * and unit tested; orfeas_request_params_from_request adapts an HTTP request. */
#ifndef ORFEAS_SERVER_REQUEST_PARAMS_H
#define ORFEAS_SERVER_REQUEST_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "orfeas/jobs.h"

#define REQUEST_DEFAULT_MAX_PARTS 32
#define REQUEST_MAX_QUERY 64          /* query parameters at most */
#define REQUEST_MAX_PART_HEADERS 8192 /* bytes of one part's header block */
#define REQUEST_MAX_FIELD 256         /* bytes of one text field's value */

typedef struct request_input {
    const char *content_type; /* may be NULL */
    const char *accept;       /* the Accept header; may be NULL */
    const uint8_t *body;
    size_t body_size;
    /* Optional: the buffer holding body. A raw image body is then taken
     * over (moved into the job request) instead of copied. */
    orfeas_buffer *body_owner;
    /* Query parameters as name, value pairs, NULL-terminated. */
    const char *const *query;
    int max_parts; /* 0 = REQUEST_DEFAULT_MAX_PARTS */
    orfeas_decode_limits limits;
} request_input;

/* Fills *req (zeroed first; the caller frees it with
 * orfeas_job_request_free, also on failure). Returns 0 or an ORFEAS_E* code
 * with a message for the client in err: ORFEAS_EINVAL (malformed body,
 * unknown or bad parameter, missing image), ORFEAS_EUNSUPPORTED (content
 * type, image format), ORFEAS_EIMGTOOBIG, ORFEAS_EBADIMAGE, ORFEAS_ENOMEM. */
int orfeas_request_params_parse(const request_input *in, orfeas_job_request *req, char *err,
                                size_t err_size);

/* The format a model type in an Accept header asks for; -1 when none. */
int orfeas_request_accept_format(const char *accept);
/* 1 when the Accept header names application/json. */
int orfeas_request_accepts_json(const char *accept);

/* Strict base64 (standard or URL-safe alphabet, padding optional,
 * whitespace ignored). *out is malloc'd. 0 or ORFEAS_EINVAL/ORFEAS_ENOMEM. */
int orfeas_request_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_size);

struct request;
/* orfeas_request_params_parse over an HTTP request (its headers, query, body). */
int orfeas_request_params_from_request(struct request *r, orfeas_job_request *req, char *err,
                                       size_t err_size);

/* The handlers' common start: parses the request into *req, or answers the
 * error (freeing what was parsed) and returns 1 with *answered set. */
int orfeas_request_job_or_answer(struct request *r, orfeas_job_request *req,
                                 enum MHD_Result *answered);

/* Shared by the generate and jobs handlers (implemented in handlers/jobs.c). */
struct cJSON;
/* Adds "format","bytes","vertices","triangles","volume_mm3","bbox_mm",
 * "precision","timings_ms","download_url","thumbnail_url" of a completed job
 * to o. 0 or ORFEAS_ENOMEM. */
int orfeas_job_result_json_add(struct cJSON *o, const orfeas_job_snapshot *snap);
/* The JSON error of a failed or cancelled job, with its status. */
enum MHD_Result orfeas_respond_job_error(struct request *r, const orfeas_job_snapshot *snap);
/* Answers bytes owned by the job without copying them: the response holds
 * a reference on the job until libmicrohttpd is done with it. */
enum MHD_Result orfeas_respond_job_bytes(struct request *r, orfeas_job *job,
                                         const char *content_type, const uint8_t *data, size_t size,
                                         const char *const *headers);

#endif
