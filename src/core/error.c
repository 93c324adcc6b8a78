#include "orfeas/error.h"

#include <stddef.h>
#include <string.h>

struct error_row {
    int code;
    const char *api_code;
    int http_status;
    int exit_status;
    const char *message;
};

static const struct error_row error_rows[] = {
#define ROW_(name, code, http, exit_status, msg) {ORFEAS_E##name, #code, http, exit_status, msg},
    ORFEAS_ERROR_MAP(ROW_)
#undef ROW_
};

static const struct error_row *find_row(int err)
{
    for (size_t i = 0; i < sizeof error_rows / sizeof error_rows[0]; i++)
        if (error_rows[i].code == err) return &error_rows[i];
    return NULL;
}

const char *orfeas_strerror(int err)
{
    if (err == 0) return "success";
    const struct error_row *row = find_row(err);
    return row ? row->message : "unknown error";
}

const char *orfeas_error_code(int err)
{
    if (err == 0) return "ok";
    const struct error_row *row = find_row(err);
    return row ? row->api_code : "internal";
}

int orfeas_error_http_status(int err)
{
    if (err == 0) return 200;
    const struct error_row *row = find_row(err);
    return row ? row->http_status : 500;
}

int orfeas_error_exit_status(int err)
{
    if (err == 0) return 0;
    const struct error_row *row = find_row(err);
    return row ? row->exit_status : 1;
}

int orfeas_error_from_code(const char *api_code)
{
    for (size_t i = 0; api_code && i < sizeof error_rows / sizeof error_rows[0]; i++)
        if (strcmp(error_rows[i].api_code, api_code) == 0) return error_rows[i].code;
    return ORFEAS_EINTERNAL;
}
