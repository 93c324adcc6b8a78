/* GET /api/v1/cache/stats and POST /api/v1/cache/clear (both behind the API
 * key when one is set, like every route but health). */
#include "orfeas/cache.h"
#include "server/server_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static enum MHD_Result answer(request *r, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return orfeas_respond_error(r, ORFEAS_ENOMEM, NULL);
    enum MHD_Result ret = orfeas_respond_json(r, 200, text);
    cJSON_free(text);
    return ret;
}

enum MHD_Result orfeas_handle_cache_stats(request *r, const char *param)
{
    (void)param;
    orfeas_cache_stats st;
    orfeas_cache_stats_get(r->server->cache, &st);
    uint64_t lookups = st.hits + st.misses + st.coalesced;
    const struct {
        const char *name;
        double value;
    } numbers[] = {
        {"entries", (double)st.entries},
        {"memory_entries", (double)st.memory_entries},
        {"disk_entries", (double)st.disk_entries},
        {"bytes", (double)st.bytes},
        {"capacity", (double)st.capacity},
        {"disk_bytes", (double)st.disk_bytes},
        {"disk_capacity", (double)st.disk_capacity},
        {"hits", (double)st.hits},
        {"misses", (double)st.misses},
        /* Of all lookups; coalesced ones are counted apart. */
        {"hit_rate", lookups ? (double)st.hits / (double)lookups : 0.0},
        {"coalesced", (double)st.coalesced},
        {"evictions", (double)st.evictions},
        {"expired", (double)st.expired},
        {"corrupted", (double)st.corrupted},
        {"ttl_s", st.ttl_s},
    };
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL;
    for (size_t i = 0; ok && i < sizeof numbers / sizeof numbers[0]; i++)
        ok = cJSON_AddNumberToObject(o, numbers[i].name, numbers[i].value) != NULL;
    ok = ok && cJSON_AddStringToObject(o, "backend", st.backend ? st.backend : "none");
    if (!ok) {
        cJSON_Delete(o);
        o = NULL;
    }
    return answer(r, o);
}

enum MHD_Result orfeas_handle_cache_clear(request *r, const char *param)
{
    (void)param;
    uint64_t n = orfeas_cache_clear(r->server->cache);
    ORFEAS_INFO("cache cleared: %llu entries", (unsigned long long)n);
    char text[64];
    snprintf(text, sizeof text, "{\"cleared\":%llu}", (unsigned long long)n);
    return orfeas_respond_json(r, 200, text);
}
