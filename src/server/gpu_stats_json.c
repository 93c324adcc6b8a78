/* The GPU stats object: the VRAM manager's snapshot (orfeas_vram_stats)
 * and the device's telemetry as JSON. */
#include "server/gpu_stats_json.h"
#include "core/clock.h"
#include "orfeas/error.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GB 1e9

int orfeas_gpu_stats_json(orfeas_vram *vram, double model_size_gb, uint32_t queue_depth,
                          double sample_size_mb, char **json_out)
{
    if (!vram || !json_out) return ORFEAS_EINVAL;
    *json_out = NULL;
    orfeas_vram_stats st;
    int rc = orfeas_vram_stats_get(vram, &st);
    if (rc) return rc;
    orfeas_device *dev = orfeas_vram_device(vram);
    orfeas_device_telemetry tel;
    memset(&tel, 0, sizeof tel);
    if (!dev->iface->telemetry || dev->iface->telemetry(dev->ctx, &tel) != 0)
        memset(&tel, 0, sizeof tel);
    /* The same formula as orfeas_vram_optimal_batch_size, on the same
     * snapshot so the object is self-consistent. */
    uint32_t batch =
        orfeas_batch_size_formula((double)st.free_bytes / GB, model_size_gb,
                                  (double)st.cache_reserve_bytes / GB, queue_depth, sample_size_mb);
    char stamp[80];
    orfeas_clock_iso8601(stamp, sizeof stamp);

    cJSON *root = cJSON_CreateObject();
    cJSON *gpu = cJSON_CreateObject();
    if (!root || !gpu) {
        cJSON_Delete(root);
        cJSON_Delete(gpu);
        return ORFEAS_ENOMEM;
    }
    int ok = cJSON_AddStringToObject(root, "timestamp", stamp) != NULL;
    cJSON_AddItemToObject(root, "gpu", gpu);
    int is_gpu = dev->kind != ORFEAS_DEVICE_CPU;
    ok = ok && cJSON_AddBoolToObject(gpu, "available", is_gpu);
    if (!is_gpu) ok = ok && cJSON_AddStringToObject(gpu, "message", "CUDA not available");
    ok = ok && cJSON_AddStringToObject(gpu, "backend", orfeas_device_kind_name(dev->kind));
    ok = ok && cJSON_AddStringToObject(gpu, "name", dev->name);
    ok = ok && cJSON_AddNumberToObject(gpu, "total_bytes", (double)st.total_bytes);
    ok = ok && cJSON_AddNumberToObject(gpu, "free_bytes", (double)st.free_bytes);
    ok = ok && cJSON_AddNumberToObject(gpu, "allocated_bytes", (double)st.allocated_bytes);
    ok = ok && cJSON_AddNumberToObject(gpu, "pooled_bytes", (double)st.pooled_bytes);
    ok = ok && cJSON_AddNumberToObject(gpu, "reserved_bytes", (double)st.reserved_bytes);
    ok = ok && cJSON_AddNumberToObject(gpu, "budget_bytes", (double)st.budget_bytes);
    ok =
        ok && cJSON_AddNumberToObject(gpu, "system_reserve_bytes", (double)st.system_reserve_bytes);
    ok = ok && cJSON_AddNumberToObject(gpu, "cache_reserve_bytes", (double)st.cache_reserve_bytes);
    /* Two decimals, as a number: the value is for people and dashboards. */
    ok = ok && cJSON_AddNumberToObject(gpu, "usage_percent", round(st.usage_percent * 100) / 100);
    ok = ok && cJSON_AddStringToObject(gpu, "precision", orfeas_precision_name(st.precision));
    ok = ok && cJSON_AddBoolToObject(gpu, "mixed_precision", st.mixed_precision);
    ok = ok && cJSON_AddBoolToObject(gpu, "quantization", st.quantization);
    ok = ok && cJSON_AddNumberToObject(gpu, "active_reservations", st.active_reservations);
    ok = ok && cJSON_AddNumberToObject(gpu, "waiting_jobs", st.waiting_jobs);
    ok = ok && cJSON_AddNumberToObject(gpu, "oom_events", (double)st.oom_events);
    /* What loaded models hold for as long as they stay loaded. */
    ok = ok && cJSON_AddNumberToObject(gpu, "resident_bytes", (double)st.resident_bytes);
    cJSON *resident = cJSON_AddArrayToObject(gpu, "resident");
    ok = ok && resident;
    for (uint32_t i = 0; ok && i < st.resident_count; i++) {
        cJSON *item = cJSON_CreateObject();
        ok = item && cJSON_AddItemToArray(resident, item);
        ok = ok && cJSON_AddStringToObject(item, "name", st.resident[i].name);
        ok = ok && cJSON_AddNumberToObject(item, "bytes", (double)st.resident[i].bytes);
    }
    if (tel.has_utilization)
        ok = ok && cJSON_AddNumberToObject(gpu, "utilization_pct", tel.gpu_utilization_pct);
    if (tel.has_temperature)
        ok = ok && cJSON_AddNumberToObject(gpu, "temperature_c", tel.temperature_c);
    ok = ok && cJSON_AddBoolToObject(gpu, "simulated", dev->kind == ORFEAS_DEVICE_SIM);
    ok = ok && cJSON_AddNumberToObject(root, "queue_depth", queue_depth);
    ok = ok && cJSON_AddStringToObject(root, "recommended_precision",
                                       orfeas_precision_name(st.precision));
    ok = ok && cJSON_AddNumberToObject(root, "optimal_batch_size", batch);
    ok = ok && cJSON_AddStringToObject(root, "status", "operational");
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) return ORFEAS_ENOMEM;
    /* cJSON allocates with malloc unless hooks are installed; hand the
     * caller a plain malloc'd copy regardless, so free() is always right. */
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy) memcpy(copy, text, len + 1);
    cJSON_free(text);
    if (!copy) return ORFEAS_ENOMEM;
    *json_out = copy;
    return 0;
}
