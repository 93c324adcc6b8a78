/* orfeas — error codes.
 *
 * Every function of the library returns 0 or a negative ORFEAS_E* code. One
 * table (ORFEAS_ERROR_MAP) yields the enum, the API code string, the HTTP
 * status, the CLI exit status and the human message, so they never drift.
 */
#ifndef ORFEAS_ERROR_H
#define ORFEAS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, api_code, http_status, exit_status, message) */
#define ORFEAS_ERROR_MAP(X)                                                                        \
    X(INVAL, invalid_parameter, 400, 2, "invalid parameter")                                       \
    X(UNAUTHORIZED, unauthorized, 401, 1, "missing or wrong API key")                              \
    X(NOTFOUND, not_found, 404, 3, "not found")                                                    \
    X(METHOD, method_not_allowed, 405, 1, "method not allowed")                                    \
    X(NOTREADY, not_ready, 409, 1, "not finished yet")                                             \
    X(TOOBIG, payload_too_large, 413, 4, "payload too large")                                      \
    X(IMGTOOBIG, image_too_large, 413, 4, "image has too many pixels")                             \
    X(UNSUPPORTED, unsupported_media_type, 415, 5, "unsupported media type")                       \
    X(BADIMAGE, invalid_image, 422, 6, "invalid or corrupt image")                                 \
    X(NOFOREGROUND, no_foreground, 422, 7, "no foreground object found")                           \
    X(BUSY, busy, 503, 8, "server busy")                                                           \
    X(NOSPACE, storage_full, 503, 9, "storage full")                                               \
    X(GPUOOM, gpu_out_of_memory, 507, 10, "GPU out of memory")                                     \
    X(NOMEM, out_of_memory, 500, 11, "out of host memory")                                         \
    X(IO, io_error, 500, 3, "input/output error")                                                  \
    X(CANCELLED, cancelled, 409, 12, "cancelled")                                                  \
    X(TIMEOUT, timeout, 504, 13, "timed out")                                                      \
    X(INTERNAL, internal, 500, 1, "internal error")

typedef enum orfeas_error {
    ORFEAS_OK = 0,
#define ORFEAS_ERROR_ENUM_(name, code, http, exit_status, msg) ORFEAS_E##name,
    ORFEAS_ERROR_FIRST_ = -1000,
    ORFEAS_ERROR_MAP(ORFEAS_ERROR_ENUM_)
#undef ORFEAS_ERROR_ENUM_
        ORFEAS_ERROR_END_
} orfeas_error;

/* Human-readable message; never NULL (unknown codes give "unknown error"). */
const char *orfeas_strerror(int err);
/* Stable API code string, e.g. "invalid_image"; "internal" for unknown codes. */
const char *orfeas_error_code(int err);
/* The code for an API code string ("invalid_image"); ORFEAS_EINTERNAL for
 * unknown strings (jobs from another node carry their error this way). */
int orfeas_error_from_code(const char *api_code);
/* HTTP status for the code (500 for unknown codes). */
int orfeas_error_http_status(int err);
/* Process exit status the CLI uses for the code (1 for unknown codes). */
int orfeas_error_exit_status(int err);

#ifdef __cplusplus
}
#endif
#endif
