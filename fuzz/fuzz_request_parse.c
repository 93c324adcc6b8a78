/* Fuzzes the upload parser (multipart, JSON with base64, raw) without
 * libmicrohttpd. Input layout, lines ended by '\n':
 *   Content-Type \n query (a=b&c=d, no decoding) \n Accept \n body...
 * Every parse must end in 0 with an image and valid parameters, or in one of
 * the documented error codes with a message. */
#include "server/request_params.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next '\n'-ended line as a NUL-terminated copy inside scratch. */
static const char *take_line(const uint8_t **p, const uint8_t *end, char **scratch)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *out = *scratch;
    memcpy(out, *p, n);
    out[n] = '\0';
    *scratch += n + 1;
    *p = nl ? nl + 1 : end;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *text = malloc(size + 4), *scratch = text;
    if (!text) return 0;
    const char *ct = take_line(&p, end, &scratch);
    char *query_text = (char *)take_line(&p, end, &scratch);
    const char *accept = take_line(&p, end, &scratch);

    const char *query[2 * REQUEST_MAX_QUERY + 4];
    int nq = 0;
    for (char *save = NULL, *pair = strtok_r(query_text, "&", &save);
         pair && nq < REQUEST_MAX_QUERY + 1; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq) *eq = '\0';
        query[2 * nq] = pair;
        query[2 * nq + 1] = eq ? eq + 1 : "";
        nq++;
    }
    query[2 * nq] = NULL;

    /* The body in a buffer of its exact size, so over-reads show up; the
     * parity of the size decides whether it may be taken over. */
    orfeas_buffer owner = {0};
    size_t body_size = (size_t)(end - p);
    if (body_size && orfeas_buffer_append(&owner, p, body_size)) {
        free(text);
        return 0;
    }
    uint8_t *exact = body_size ? malloc(body_size) : NULL;
    if (exact) memcpy(exact, p, body_size);
    request_input in;
    memset(&in, 0, sizeof in);
    in.content_type = *ct ? ct : NULL;
    in.accept = *accept ? accept : NULL;
    in.body = body_size % 2 ? owner.data : exact;
    in.body_size = body_size;
    in.body_owner = body_size % 2 ? &owner : NULL;
    in.query = query;
    in.max_parts = 8;
    in.limits.max_pixels = 4u * 1000u * 1000u;

    orfeas_job_request req;
    char err[256];
    int rc = orfeas_request_params_parse(&in, &req, err, sizeof err);
    if (strlen(err) >= sizeof err) abort();
    if (rc == 0) {
        char why[256];
        if (!req.image || !req.image_size || orfeas_params_validate(&req.params, why, sizeof why))
            abort();
    } else if (rc != ORFEAS_EINVAL && rc != ORFEAS_EUNSUPPORTED && rc != ORFEAS_EIMGTOOBIG &&
               rc != ORFEAS_EBADIMAGE && rc != ORFEAS_ENOMEM) {
        abort();
    } else if (!err[0]) {
        abort(); /* every refusal says why */
    }
    orfeas_job_request_free(&req);
    orfeas_buffer_free(&owner);
    free(exact);
    free(text);
    return 0;
}
