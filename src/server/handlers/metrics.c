#include "orfeas/cluster.h"
#include "server/server_internal.h"

#include <stdio.h>
#include <string.h>

/* The cluster's gauges and counters, labelled with this node's id. */
static int append_cluster(orfeas_server *s, orfeas_buffer *text)
{
    if (!s->cluster) return 0;
    orfeas_cluster_view v;
    orfeas_cluster_view_get(s->cluster, &v);
    char node[300], buf[3000];
    /* Prometheus label values escape \, " and newlines like JSON does. */
    orfeas_json_escape(v.node_id, node, sizeof node);
    int n = snprintf(
        buf, sizeof buf,
        "# HELP orfeas_cluster_redis_up 1 when this node's last exchange with Redis worked.\n"
        "# TYPE orfeas_cluster_redis_up gauge\n"
        "orfeas_cluster_redis_up{node=\"%s\"} %d\n"
        "# HELP orfeas_cluster_nodes_alive Nodes with a heartbeat in the last 5 s.\n"
        "# TYPE orfeas_cluster_nodes_alive gauge\n"
        "orfeas_cluster_nodes_alive{node=\"%s\"} %lld\n"
        "# HELP orfeas_cluster_stream_length Entries in the job stream.\n"
        "# TYPE orfeas_cluster_stream_length gauge\n"
        "orfeas_cluster_stream_length{node=\"%s\"} %lld\n"
        "# HELP orfeas_cluster_pending Stream entries delivered and not acknowledged.\n"
        "# TYPE orfeas_cluster_pending gauge\n"
        "orfeas_cluster_pending{node=\"%s\"} %lld\n"
        "# HELP orfeas_cluster_jobs_total Cluster job events on this node.\n"
        "# TYPE orfeas_cluster_jobs_total counter\n"
        "orfeas_cluster_jobs_total{node=\"%s\",event=\"dispatched\"} %llu\n"
        "orfeas_cluster_jobs_total{node=\"%s\",event=\"taken\"} %llu\n"
        "orfeas_cluster_jobs_total{node=\"%s\",event=\"claimed\"} %llu\n"
        "orfeas_cluster_jobs_total{node=\"%s\",event=\"completed\"} %llu\n"
        "orfeas_cluster_jobs_total{node=\"%s\",event=\"skipped_done\"} %llu\n",
        node, v.redis_up, node, (long long)v.nodes_alive, node, (long long)v.stream_length, node,
        (long long)v.pending, node, (unsigned long long)v.dispatched, node,
        (unsigned long long)v.taken, node, (unsigned long long)v.claimed, node,
        (unsigned long long)v.completed, node, (unsigned long long)v.skipped_done);
    if (n < 0 || (size_t)n >= sizeof buf) return ORFEAS_EINTERNAL;
    return orfeas_buffer_append(text, buf, (size_t)n);
}

/* Prometheus scrape: counters and histograms from the metrics registry,
 * gauges read now from the scheduler, the VRAM manager and the cluster. */
enum MHD_Result orfeas_handle_metrics(request *r, const char *param)
{
    (void)param;
    orfeas_server *s = r->server;
    orfeas_metrics_gauges g;
    memset(&g, 0, sizeof g);
    orfeas_scheduler_counts(s->scheduler, g.jobs_by_state);
    g.queue_depth = orfeas_scheduler_queue_depth(s->scheduler);
    orfeas_vram_stats vram;
    if (s->vram && orfeas_vram_stats_get(s->vram, &vram) == 0) g.vram = &vram;
    orfeas_depth_batch_stats depth;
    if (s->depth_model) {
        orfeas_depth_batch_stats_get(s->depth_model, &depth);
        g.depth = &depth;
    }
    orfeas_buffer text = {0};
    int err = orfeas_metrics_render(s->metrics, &g, &text);
    if (!err) err = append_cluster(s, &text);
    if (err) {
        orfeas_buffer_free(&text);
        return orfeas_respond_error(r, err, NULL);
    }
    enum MHD_Result rc = orfeas_respond_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8",
                                              text.data, text.size, NULL);
    orfeas_buffer_free(&text);
    return rc;
}
