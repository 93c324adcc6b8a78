#include "server/server_internal.h"

#include <string.h>

/* Prometheus scrape: counters and histograms from the metrics registry,
 * gauges read now from the scheduler and the VRAM manager. */
enum MHD_Result handle_metrics(request *r, const char *param)
{
    (void)param;
    orfeas_server *s = r->server;
    orfeas_metrics_gauges g;
    memset(&g, 0, sizeof g);
    orfeas_scheduler_counts(s->scheduler, g.jobs_by_state);
    g.queue_depth = orfeas_scheduler_queue_depth(s->scheduler);
    orfeas_vram_stats vram;
    if (s->vram && orfeas_vram_stats_get(s->vram, &vram) == 0) g.vram = &vram;
    orfeas_buffer text = {0};
    int err = orfeas_metrics_render(s->metrics, &g, &text);
    if (err) {
        orfeas_buffer_free(&text);
        return respond_error(r, err, NULL);
    }
    enum MHD_Result rc = respond_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8",
                                       text.data, text.size, NULL);
    orfeas_buffer_free(&text);
    return rc;
}
