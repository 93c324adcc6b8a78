/* Responses and request accessors. */
#include "server/server_internal.h"

#include <stdio.h>
#include <string.h>

enum MHD_Result orfeas_respond_response(request *r, int status, struct MHD_Response *response)
{
    if (!response) return MHD_NO;
    r->status = status;
    MHD_add_response_header(response, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned int)status, response);
    MHD_destroy_response(response);
    return rc;
}

enum MHD_Result orfeas_respond_bytes(request *r, int status, const char *content_type,
                                     const void *data, size_t size, const char *const *headers)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(size, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    if (content_type) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(response, headers[i], headers[i + 1]);
    return orfeas_respond_response(r, status, response);
}

enum MHD_Result orfeas_respond_json(request *r, int status, const char *json)
{
    return orfeas_respond_bytes(r, status, "application/json", json, strlen(json), NULL);
}

void orfeas_json_escape(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (; *in && o + 7 < size; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == '"' || c == '\\') {
            out[o++] = '\\', out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

enum MHD_Result orfeas_respond_error(request *r, int err, const char *message)
{
    int status = orfeas_error_http_status(err);
    char escaped[512], body[768];
    orfeas_json_escape(message && *message ? message : orfeas_strerror(err), escaped,
                       sizeof escaped);
    snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"status\":%d}}",
             orfeas_error_code(err), escaped, status);
    const char *retry[] = {"Retry-After", "5", NULL};
    return orfeas_respond_bytes(r, status, "application/json", body, strlen(body),
                                status == 503 ? retry : NULL);
}

const char *orfeas_request_query(request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *orfeas_request_header(request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}
