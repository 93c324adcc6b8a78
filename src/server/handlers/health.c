#include "server/server_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* 200 while running; 503 while starting or draining, so that a load
 * balancer stops sending work before the process goes away. */
enum MHD_Result handle_health(request *r, const char *param)
{
    (void)param;
    orfeas_server *s = r->server;
    int state = atomic_load(&s->state);
    const char *name = state == SERVER_RUNNING    ? "ok"
                       : state == SERVER_DRAINING ? "draining"
                                                  : "starting";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char body[512];
    snprintf(body, sizeof body,
             "{\"status\":\"%s\",\"version\":\"%s\",\"device\":\"%s\",\"backend\":\"%s\","
             "\"uptime_s\":%.1f,\"queue_depth\":%u}",
             name, ORFEAS_ENGINE_VERSION, s->device->name, orfeas_device_kind_name(s->device->kind),
             ts.tv_sec + ts.tv_nsec / 1e9 - s->started_at,
             orfeas_scheduler_queue_depth(s->scheduler));
    if (state != SERVER_RUNNING) {
        const char *retry[] = {"Retry-After", "5", NULL};
        return respond_bytes(r, 503, "application/json", body, strlen(body), retry);
    }
    return respond_json(r, 200, body);
}
