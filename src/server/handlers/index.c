/* The web page (GET /) and its assets (GET /assets/<tag>/<path>), embedded
 * in the binary at build time (tools/embed.c, src/server/web_assets.h). */
#include "server/server_internal.h"
#include "server/web_assets.h"

#include <string.h>

/* Static bytes, never copied; Cache-Control as given (orfeas_respond_response
 * would add no-store). */
static enum MHD_Result respond_static(request *r, const orfeas_web_asset *a,
                                      const char *cache_control)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    MHD_add_response_header(response, "Cache-Control", cache_control);
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    r->status = 200;
    enum MHD_Result rc = MHD_queue_response(r->conn, 200, response);
    MHD_destroy_response(response);
    return rc;
}

enum MHD_Result orfeas_handle_index(request *r, const char *param)
{
    (void)param;
    /* The page names the assets by their content tag: always revalidate it. */
    return respond_static(r, &orfeas_web_assets[0], "no-cache");
}

enum MHD_Result orfeas_handle_asset(request *r, const char *param)
{
    for (size_t i = 1; param && i < orfeas_web_asset_count; i++)
        if (strcmp(orfeas_web_assets[i].path, param) == 0)
            return respond_static(r, &orfeas_web_assets[i], "public, max-age=31536000, immutable");
    return orfeas_respond_error(r, ORFEAS_ENOTFOUND, "no such asset");
}
