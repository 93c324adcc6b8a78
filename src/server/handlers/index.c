#include "server/server_internal.h"

#include <string.h>

/* Until the web page lands (its own issue), / says what the server offers. */
static const char page[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>orfeas</title></head><body><h1>orfeas</h1>"
    "<p>Image-to-3D server. The web page is not built yet; use the API:</p><ul>"
    "<li><code>POST /api/v1/generate</code> (multipart <code>image</code> + parameters)</li>"
    "<li><code>POST /api/v1/jobs</code>, <code>GET /api/v1/jobs/{id}</code></li>"
    "<li><a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a></li>"
    "<li><a href=\"/api/health\">/api/health</a>, <a href=\"/metrics\">/metrics</a></li>"
    "</ul></body></html>";

enum MHD_Result handle_index(request *r, const char *param)
{
    (void)param;
    return respond_bytes(r, 200, "text/html; charset=utf-8", page, strlen(page), NULL);
}
