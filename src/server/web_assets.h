/* The web page and its assets (web/ and three.js from web/node_modules),
 * embedded at build time by tools/embed.c into a generated web_assets.c. */
#ifndef ORFEAS_SERVER_WEB_ASSETS_H
#define ORFEAS_SERVER_WEB_ASSETS_H

#include <stddef.h>

typedef struct orfeas_web_asset {
    const char *path; /* "index.html", or "<tag>/app.js" (served as /assets/<tag>/app.js) */
    const char *content_type;
    const unsigned char *data;
    size_t size;
} orfeas_web_asset;

/* The page comes first; the tag is a hash of every asset's path and bytes,
 * so asset URLs change whenever their content does (long-cacheable). */
extern const orfeas_web_asset orfeas_web_assets[];
extern const size_t orfeas_web_asset_count;

#endif
