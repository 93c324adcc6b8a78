/* The daemon: accept, buffer the body within limits, authenticate, route,
 * log one line per request, and shut down gracefully. */
#include "server/server_internal.h"
#include "core/fs.h"
#include "orfeas/cache.h"
#include "cache/sha256.h"
#include "jobs/store.h"
#include "orfeas/depth.h"
#include "orfeas/cluster.h"
#include "orfeas/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

/* The scheduler's runs into the metrics (jobs sits below the server). */
static void observe_generation(void *ud, const orfeas_generate_stats *stats, int err)
{
    orfeas_metrics_generation(ud, stats, err);
}

typedef struct route {
    const char *method;
    const char *prefix; /* path, or the part before a {id} */
    const char *suffix; /* after the {id}; NULL: exact path; ROUTE_REST: prefix */
    const char *name;
    route_handler handler;
} route;

/* The suffix of a prefix route: any non-empty rest of the path matches and
 * the handler gets it as param (compared by address). */
static const char ROUTE_REST[] = "*";

static const route routes[] = {
    {"GET", "/api/health", NULL, "health", orfeas_handle_health},
    {"GET", "/api/v1/gpu/stats", NULL, "gpu_stats", orfeas_handle_gpu_stats},
    {"POST", "/api/v1/generate", NULL, "generate", orfeas_handle_generate},
    {"POST", "/api/v1/generate-progressive", NULL, "generate_progressive",
     orfeas_handle_progressive},
    {"POST", "/api/v1/jobs", NULL, "job_create", orfeas_handle_job_create},
    {"GET", "/api/v1/jobs", NULL, "job_list", orfeas_handle_job_list},
    {"GET", "/api/v1/jobs/", "/result", "job_result", orfeas_handle_job_result},
    {"GET", "/api/v1/jobs/", "/thumbnail.png", "job_thumbnail", orfeas_handle_job_thumbnail},
    {"GET", "/api/v1/jobs/", "", "job_status", orfeas_handle_job_status},
    {"DELETE", "/api/v1/jobs/", "", "job_cancel", orfeas_handle_job_cancel},
    {"GET", "/api/v1/cache/stats", NULL, "cache_stats", orfeas_handle_cache_stats},
    {"POST", "/api/v1/cache/clear", NULL, "cache_clear", orfeas_handle_cache_clear},
    {"GET", "/metrics", NULL, "metrics", orfeas_handle_metrics},
    {"GET", "/api/v1/openapi.json", NULL, "openapi", orfeas_handle_openapi},
    {"GET", "/", NULL, "index", orfeas_handle_index},
    {"GET", "/assets/", ROUTE_REST, "asset", orfeas_handle_asset},
};
#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

/* Matches url against a route; for {id} routes copies the id (up to the
 * suffix) into param. Returns 1 on a path match. */
static int match_path(const route *rt, const char *url, char *param, size_t param_size)
{
    size_t plen = strlen(rt->prefix);
    if (rt->suffix == ROUTE_REST) return strncmp(url, rt->prefix, plen) == 0 && url[plen] != '\0';
    if (!rt->suffix) return strcmp(url, rt->prefix) == 0;
    if (strncmp(url, rt->prefix, plen) != 0) return 0;
    const char *id = url + plen;
    size_t id_len = strcspn(id, "/");
    if (id_len == 0 || strcmp(id + id_len, rt->suffix) != 0) return 0;
    if (id_len >= param_size) id_len = param_size - 1; /* the handler rejects it */
    memcpy(param, id, id_len);
    param[id_len] = '\0';
    return 1;
}

/* Constant time in the length of the expected key. */
static int key_matches(const char *given, const char *expected)
{
    size_t n = strlen(expected), m = given ? strlen(given) : 0;
    unsigned diff = (unsigned)(n ^ m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)expected[i] ^ (unsigned char)(i < m ? given[i] : 0);
    return diff == 0;
}

static int authorized(request *r)
{
    const char *key = r->server->config.api_key;
    if (!key[0]) return 1;
    const char *auth = orfeas_request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return 0;
    return key_matches(auth + 7, key);
}

/* Health, and the web page with its assets (no data in them): a browser
 * loads the page without a key, and the page asks for one on a 401. */
static int public_route(const char *name)
{
    return strcmp(name, "health") == 0 || strcmp(name, "index") == 0 || strcmp(name, "asset") == 0;
}

static enum MHD_Result dispatch(request *r)
{
    orfeas_server *s = r->server;
    char param[64] = "";
    int path_known = 0;
    for (size_t i = 0; i < ROUTE_COUNT; i++) {
        char candidate[64] = "";
        if (!match_path(&routes[i], r->url, candidate, sizeof candidate)) continue;
        path_known = 1;
        if (strcmp(routes[i].method, r->method) != 0) continue;
        r->route = routes[i].name;
        memcpy(param, candidate, sizeof param);
        if (!public_route(routes[i].name) && !authorized(r))
            return orfeas_respond_error(r, ORFEAS_EUNAUTHORIZED,
                                        "missing or wrong API key (Authorization: Bearer)");
        if (r->body_too_large) {
            char msg[128];
            snprintf(msg, sizeof msg, "the body exceeds the %llu-byte limit (--max-upload)",
                     (unsigned long long)s->config.max_upload);
            return orfeas_respond_error(r, ORFEAS_ETOOBIG, msg);
        }
        if (routes[i].suffix == ROUTE_REST)
            return routes[i].handler(r, r->url + strlen(routes[i].prefix));
        return routes[i].handler(r, routes[i].suffix ? param : NULL);
    }
    r->route = "unmatched";
    if (path_known) return orfeas_respond_error(r, ORFEAS_EMETHOD, NULL);
    return orfeas_respond_error(r, ORFEAS_ENOTFOUND, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    orfeas_server *s = cls;
    request *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->server = s;
        r->conn = conn;
        r->method = method;
        r->url = url;
        r->route = "unmatched";
        r->start_ms = orfeas_clock_mono_ms();
        *con_cls = r;
        /* Refuse a declared oversize body before reading any of it. */
        const char *length =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > s->config.max_upload) {
            /* Answer 413 before reading any of it; MHD closes afterwards. */
            r->body_too_large = 1;
            return dispatch(r);
        }
        return MHD_YES;
    }
    if (r->status) {
        /* Answered early: the rest of the body is dropped. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (r->body.size + *upload_data_size > s->config.max_upload ||
            orfeas_buffer_append(&r->body, upload_data, *upload_data_size)) {
            r->body_too_large = 1;
            *upload_data_size = 0;
            return dispatch(r);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    orfeas_server *s = cls;
    request *r = *con_cls;
    if (!r) return;
    double ms = orfeas_clock_mono_ms() - r->start_ms;
    int status = r->status ? r->status : 499; /* the client went away first */
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->status) status = 499;
    orfeas_metrics_request(s->metrics, r->route, status, ms / 1e3);
    if (strcmp(s->config.log_format, "json") == 0) {
        char path[512];
        orfeas_json_escape(r->url, path, sizeof path);
        ORFEAS_INFO("{\"event\":\"request\",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d,"
                    "\"ms\":%.1f,\"route\":\"%s\"%s%s%s}",
                    r->method, path, status, ms, r->route, r->job_id[0] ? ",\"job\":\"" : "",
                    r->job_id, r->job_id[0] ? "\"" : "");
    } else {
        ORFEAS_INFO("%s %s %d %.1f ms%s%s", r->method, r->url, status, ms,
                    r->job_id[0] ? " job " : "", r->job_id);
    }
    orfeas_buffer_free(&r->body);
    free(r);
    *con_cls = NULL;
}

static int is_loopback(const char *host)
{
    return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0 ||
           strcmp(host, "::1") == 0 || strncmp(host, "127.", 4) == 0;
}

static int bind_address(const orfeas_server_config *c, struct sockaddr_storage *ss, socklen_t *len,
                        int *ipv6)
{
    memset(ss, 0, sizeof *ss);
    const char *host = strcmp(c->host, "localhost") == 0 ? "127.0.0.1" : c->host;
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)c->port);
        *len = sizeof *v4;
        *ipv6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)c->port);
        *len = sizeof *v6;
        *ipv6 = 1;
        return 0;
    }
    return ORFEAS_EINVAL;
}

/* --redis: this node joins the others (src/cluster). */
static int start_cluster(orfeas_server *s, char *err, size_t err_size)
{
    const orfeas_server_config *config = &s->config;
    char node[128];
    if (config->node_id[0]) {
        snprintf(node, sizeof node, "%s", config->node_id);
    } else {
        char host[64] = "orfeas";
        gethostname(host, sizeof host - 1);
        snprintf(node, sizeof node, "%s:%d", host, s->port);
    }
    orfeas_cluster_config cc = {.url = config->redis_url,
                                .password = config->redis_password,
                                .node_id = node,
                                .claim_after_ms = config->claim_after_s * 1000,
                                .max_result = config->redis_max_result,
                                .cache_ttl_s = config->cache_ttl_s,
                                .retention_s = 86400};
    char why[256] = "";
    int rc = orfeas_cluster_start(&cc, s->scheduler, s->cache, &s->cluster, why, sizeof why);
    if (rc) snprintf(err, err_size, "--redis: %s", why);
    return rc;
}

int orfeas_server_start(const orfeas_server_config *config, orfeas_server **out, char *err,
                        size_t err_size)
{
    *out = NULL;
    if (config->api_key[0] == '\0' && !is_loopback(config->host) &&
        !config->allow_unauthenticated) {
        snprintf(
            err, err_size,
            "refusing to bind %s without --api-key; pass --allow-unauthenticated to do it anyway",
            config->host);
        return ORFEAS_EINVAL;
    }
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int ipv6;
    if (bind_address(config, &addr, &addr_len, &ipv6)) {
        snprintf(err, err_size, "--host: '%s' is not an IPv4 or IPv6 address", config->host);
        return ORFEAS_EINVAL;
    }
    int dir_err = orfeas_mkdir_p(config->data_dir);
    if (dir_err) {
        snprintf(err, err_size, "--data-dir: cannot create %s: %s", config->data_dir,
                 strerror(dir_err));
        return ORFEAS_EIO;
    }
    orfeas_server *s = calloc(1, sizeof *s);
    if (!s) return ORFEAS_ENOMEM;
    s->config = *config;
    atomic_store(&s->state, SERVER_STARTING);
    char why[256] = "";
    int rc = orfeas_device_open(config->device, &s->device, why, sizeof why);
    if (rc) {
        snprintf(err, err_size, "--device: %s", why);
        free(s);
        return rc;
    }
    orfeas_vram_config vc;
    orfeas_vram_config_init(&vc);
    vc.monitor_interval_s = config->monitor_interval_s;
    rc = orfeas_vram_create(s->device, &vc, &s->vram);
    if (!rc && config->depth_model[0]) {
        /* At --depth-precision (auto: by free memory), its weights a resident
         * reservation of the VRAM manager until the model is freed. */
        rc = orfeas_depth_load_on(config->depth_model, config->depth_precision, s->vram,
                                  &s->depth_model, err, err_size);
        if (rc) {
            orfeas_server_stop(s);
            return rc;
        }
        /* Jobs whose network inputs have the same size share forward passes,
         * up to the manager's optimal batch; not on the cpu, where two
         * passes side by side beat one batched pass (docs/depth.md). */
        uint32_t batch = s->device->kind == ORFEAS_DEVICE_CPU
                             ? 1
                             : orfeas_depth_batch_limit(s->depth_model, s->vram, 0);
        if (batch > 1)
            orfeas_depth_set_batching(s->depth_model, (int)batch, config->depth_batch_window_ms);
        ORFEAS_INFO("depth model batches: up to %u images (window %g ms)", batch,
                    config->depth_batch_window_ms);
        /* Other weights, or these at another precision, must never answer
         * from results of these. */
        char sha[ORFEAS_SHA256_HEX];
        rc = orfeas_sha256_file_hex(config->depth_model, sha);
        if (rc) {
            snprintf(err, err_size, "--depth-model '%s': cannot hash it: %s", config->depth_model,
                     orfeas_strerror(rc));
            orfeas_server_stop(s);
            return rc;
        }
        snprintf(s->depth_model_id, sizeof s->depth_model_id, "%s:%s", sha,
                 orfeas_depth_precision_name(orfeas_depth_model_precision(s->depth_model)));
    }
    if (!rc) rc = orfeas_metrics_create(&s->metrics);
    char cache_dir[1100];
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", config->data_dir);
    orfeas_cache_config cc = {.dir = cache_dir,
                              .mem_bytes = config->cache_mem,
                              .disk_bytes = config->cache_disk,
                              .ttl_s = config->cache_ttl_s};
    if (!rc) rc = orfeas_cache_create(&cc, &s->cache);
    char why_store[1300] = "";
    /* In a cluster, Redis holds the jobs (a node's own SQLite copy would run
     * them a second time after a restart, while another node claims them). */
    if (!rc && !config->redis_url[0])
        rc = orfeas_store_open(config->data_dir, &s->store, why_store, sizeof why_store);
    if (rc && why_store[0]) {
        snprintf(err, err_size, "--data-dir: %s", why_store);
        orfeas_server_stop(s);
        return rc;
    }
    if (!rc) {
        orfeas_scheduler_config sc = {.workers = config->workers,
                                      .queue_max = config->queue_max,
                                      .job_timeout_s = config->job_timeout_s,
                                      .limits = {.max_pixels = config->max_pixels},
                                      .cache = s->cache,
                                      .store = s->store,
                                      .depth_model = s->depth_model};
        orfeas_scheduler_observer observer = {.ud = s->metrics, .generation = observe_generation};
        rc = orfeas_scheduler_create(&sc, s->vram, &observer, &s->scheduler);
    }
    if (rc) {
        snprintf(err, err_size, "starting: %s", orfeas_strerror(rc));
        orfeas_server_stop(s);
        return rc;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)config->connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)config->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)64 * 1024, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, err_size, "cannot listen on %s:%d (in use, or not allowed)", config->host,
                 config->port);
        orfeas_server_stop(s);
        return ORFEAS_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : config->port;
    if (config->redis_url[0]) {
        rc = start_cluster(s, err, err_size);
        if (rc) {
            orfeas_server_stop(s);
            return rc;
        }
    }
    s->started_at = orfeas_clock_unix_s();
    atomic_store(&s->state, SERVER_RUNNING);
    *out = s;
    return 0;
}

int orfeas_server_port(const orfeas_server *s)
{
    return s->port;
}

void orfeas_server_stop(orfeas_server *s)
{
    if (!s) return;
    atomic_store(&s->state, SERVER_DRAINING);
    /* Stop accepting first; running jobs get the grace period; then the
     * connections (whose handlers may wait on jobs) are closed. */
    if (s->daemon) MHD_quiesce_daemon(s->daemon);
    if (s->scheduler) orfeas_scheduler_drain(s->scheduler);
    /* No more jobs from the cluster; those taken finish (or stay pending
     * for another node) while the cluster can still record them. */
    orfeas_cluster_stop_intake(s->cluster);
    if (s->scheduler) orfeas_scheduler_destroy(s->scheduler, s->config.grace_s);
    if (s->daemon) MHD_stop_daemon(s->daemon);
    orfeas_cluster_free(s->cluster); /* no handler can reach its hooks now */
    orfeas_cache_destroy(s->cache);
    orfeas_store_close(s->store);
    orfeas_metrics_destroy(s->metrics);
    orfeas_depth_free(s->depth_model);
    orfeas_vram_destroy(s->vram);
    orfeas_device_close(s->device);
    free(s);
}
