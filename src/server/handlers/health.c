#include "orfeas/cluster.h"
#include "server/server_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* ,"node":...,"cluster":{...} for a node in a cluster; "" otherwise. */
static void cluster_part(orfeas_server *s, char *out, size_t size, int *degraded)
{
    out[0] = '\0';
    *degraded = 0;
    if (!s->cluster) return;
    orfeas_cluster_view v;
    orfeas_cluster_view_get(s->cluster, &v);
    char node[300];
    orfeas_json_escape(v.node_id, node, sizeof node);
    *degraded = !v.redis_up;
    snprintf(out, size,
             ",\"node\":\"%s\",\"cluster\":{\"redis\":\"%s\",\"nodes_alive\":%lld,"
             "\"stream_length\":%lld,\"pending\":%lld,\"dispatched\":%llu,\"taken\":%llu,"
             "\"claimed\":%llu,\"completed\":%llu,\"skipped_done\":%llu}",
             node, v.redis_up ? "up" : "down", (long long)v.nodes_alive, (long long)v.stream_length,
             (long long)v.pending, (unsigned long long)v.dispatched, (unsigned long long)v.taken,
             (unsigned long long)v.claimed, (unsigned long long)v.completed,
             (unsigned long long)v.skipped_done);
}

/* 200 while running (status "degraded" when the cluster's Redis is
 * unreachable: the node still serves what it can locally); 503 while
 * starting or draining, so that a load balancer stops sending work before
 * the process goes away. */
enum MHD_Result orfeas_handle_health(request *r, const char *param)
{
    (void)param;
    orfeas_server *s = r->server;
    int state = atomic_load(&s->state);
    char cluster[800];
    int degraded;
    cluster_part(s, cluster, sizeof cluster, &degraded);
    const char *name = state == SERVER_RUNNING    ? (degraded ? "degraded" : "ok")
                       : state == SERVER_DRAINING ? "draining"
                                                  : "starting";
    char body[1400];
    snprintf(body, sizeof body,
             "{\"status\":\"%s\",\"version\":\"%s\",\"device\":\"%s\",\"backend\":\"%s\","
             "\"uptime_s\":%.1f,\"queue_depth\":%u%s}",
             name, ORFEAS_ENGINE_VERSION, s->device->name, orfeas_device_kind_name(s->device->kind),
             orfeas_clock_unix_s() - s->started_at, orfeas_scheduler_queue_depth(s->scheduler),
             cluster);
    if (state != SERVER_RUNNING) {
        const char *retry[] = {"Retry-After", "5", NULL};
        return orfeas_respond_bytes(r, 503, "application/json", body, strlen(body), retry);
    }
    return orfeas_respond_json(r, 200, body);
}
