#include "server/server_internal.h"
#include "server/gpu_stats_json.h"
#include "orfeas/log.h"

#include <stdlib.h>

/* The same object as `orfeas gpu-stats --json`, with the live queue depth
 * and the original's defaults for the batch-size inputs (overridable with
 * model_size_gb, sample_size_mb in the query). */
enum MHD_Result orfeas_handle_gpu_stats(request *r, const char *param)
{
    (void)param;
    orfeas_server *s = r->server;
    double model_gb = 6, sample_mb = 50;
    const char *q;
    if ((q = orfeas_request_query(r, "model_size_gb"))) model_gb = atof(q);
    if ((q = orfeas_request_query(r, "sample_size_mb"))) sample_mb = atof(q);
    if (!(model_gb >= 0 && model_gb < 1e6) || !(sample_mb > 0 && sample_mb < 1e9))
        return orfeas_respond_error(r, ORFEAS_EINVAL,
                                    "model_size_gb or sample_size_mb out of range");
    char *json = NULL;
    int err = orfeas_gpu_stats_json(s->vram, model_gb, orfeas_scheduler_queue_depth(s->scheduler),
                                    sample_mb, &json);
    if (err) return orfeas_respond_error(r, err, NULL);
    enum MHD_Result rc = orfeas_respond_json(r, 200, json);
    free(json);
    return rc;
}
