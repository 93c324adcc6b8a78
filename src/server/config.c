/* The serve configuration table: one row per setting drives the flag
 * (--queue-max), the environment variable (ORFEAS_QUEUE_MAX), the bounds,
 * the default and `orfeas serve --help`. Flags override the environment. */
#include "orfeas/server.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(f) offsetof(orfeas_server_config, f), sizeof(((orfeas_server_config *)0)->f)

static const config_entry table[] = {
    {"host", CONFIG_STRING, FIELD(host), 0, 0, "127.0.0.1",
     "address to bind (IPv4 or IPv6); a non-loopback one needs --api-key"},
    {"port", CONFIG_INT, FIELD(port), 0, 65535, "5000", "TCP port (0: any free port)"},
    {"data-dir", CONFIG_STRING, FIELD(data_dir), 0, 0, "$XDG_DATA_HOME/orfeas",
     "job inputs and results"},
    {"device", CONFIG_STRING, FIELD(device), 0, 0, "auto",
     "auto, cpu, cuda[:N], sim:<size>[,oom-after=N]"},
    {"workers", CONFIG_INT, FIELD(workers), 1, 64, "2", "jobs running at once"},
    {"queue-max", CONFIG_INT, FIELD(queue_max), 1, 100000, "64",
     "queued jobs at most; beyond, 503 busy with Retry-After"},
    {"max-upload", CONFIG_SIZE, FIELD(max_upload), 1024, 4294967296.0, "32MiB",
     "largest request body (413 payload_too_large)"},
    {"max-pixels", CONFIG_SIZE, FIELD(max_pixels), 1, 1e12, "50000000",
     "largest image in pixels, checked from the header (413 image_too_large)"},
    {"job-timeout", CONFIG_INT, FIELD(job_timeout_s), 0, 86400, "300",
     "seconds a job may run (0: no limit)"},
    {"api-key", CONFIG_STRING, FIELD(api_key), 0, 0, "",
     "require Authorization: Bearer KEY on every route but /api/health"},
    {"allow-unauthenticated", CONFIG_BOOL, FIELD(allow_unauthenticated), 0, 1, "false",
     "allow a non-loopback --host without --api-key"},
    {"log-format", CONFIG_STRING, FIELD(log_format), 0, 0, "text", "text or json"},
    {"log-level", CONFIG_STRING, FIELD(log_level), 0, 0, "info", "debug, info, warn, error, off"},
    {"monitor-interval", CONFIG_DOUBLE, FIELD(monitor_interval_s), 0.01, 3600, "5",
     "seconds between GPU memory checks"},
    {"connection-timeout", CONFIG_INT, FIELD(connection_timeout_s), 1, 3600, "30",
     "idle seconds before a connection is closed (slow clients)"},
    {"max-connections", CONFIG_INT, FIELD(max_connections), 1, 10000, "256",
     "concurrent connections at most"},
    {"max-parts", CONFIG_INT, FIELD(max_parts), 1, 1000, "32", "multipart parts at most"},
    {"grace", CONFIG_INT, FIELD(grace_s), 0, 3600, "30",
     "seconds running jobs get to finish on SIGTERM/SIGINT"},
    {"cache-mem", CONFIG_SIZE, FIELD(cache_mem), 0, 1e15, "256MiB",
     "dedup cache: memory tier budget (LRU by bytes)"},
    {"cache-disk", CONFIG_SIZE, FIELD(cache_disk), 0, 1e15, "2GiB",
     "dedup cache: disk tier budget under DATA_DIR/cache"},
    {"cache-ttl", CONFIG_INT, FIELD(cache_ttl_s), 0, 31536000, "3600",
     "seconds a cached result stays valid (0: no expiry)"},
    {"depth-model", CONFIG_STRING, FIELD(depth_model), 0, 0, "",
     "Depth Anything V2 Small weights (model.safetensors) for depth_source=model"},
    {"depth-precision", CONFIG_STRING, FIELD(depth_precision), 0, 0, "auto",
     "the depth model's weights: fp32, fp16, int8, or auto (by free device memory; fp32 on the "
     "cpu)"},
    {"depth-batch-window", CONFIG_DOUBLE, FIELD(depth_batch_window_ms), 0, 10000, "5",
     "milliseconds a depth pass waits for same-size jobs to share it (sim and GPU devices)"},
    {"redis", CONFIG_STRING, FIELD(redis_url), 0, 0, "",
     "redis://[:password@]host[:port][/db]: join the nodes sharing that Redis (cache, jobs)"},
    {"redis-password", CONFIG_STRING, FIELD(redis_password), 0, 0, "",
     "Redis password (better through ORFEAS_REDIS_PASSWORD than on the command line)"},
    {"node-id", CONFIG_STRING, FIELD(node_id), 0, 0, "HOST:PORT",
     "this node's name in the cluster (unique per node)"},
    {"claim-after", CONFIG_INT, FIELD(claim_after_s), 1, 86400, "30",
     "seconds a dead node's jobs wait before another node claims them"},
    {"redis-max-result", CONFIG_SIZE, FIELD(redis_max_result), 0, 536870912.0, "64MiB",
     "largest result kept in Redis; larger ones stay on the node that made them"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

const config_entry *orfeas_server_config_table(void)
{
    return table;
}

static int set_value(orfeas_server_config *c, const config_entry *e, const char *value, char *err,
                     size_t err_size)
{
    char *field = (char *)c + e->offset;
    char *end = NULL;
    errno = 0;
    switch (e->type) {
    case CONFIG_STRING:
        if (strlen(value) >= e->size) {
            snprintf(err, err_size, "--%s: too long", e->name);
            return ORFEAS_EINVAL;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    case CONFIG_BOOL:
        if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes")) {
            *(int *)field = 1;
        } else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no")) {
            *(int *)field = 0;
        } else {
            snprintf(err, err_size, "--%s: '%s' is not true or false", e->name, value);
            return ORFEAS_EINVAL;
        }
        return 0;
    case CONFIG_SIZE: {
        uint64_t bytes;
        if (orfeas_parse_size(value, &bytes) || bytes < e->min || (double)bytes > e->max) {
            snprintf(err, err_size, "--%s: '%s' is not a size in %.0f..%.0f (e.g. 32MiB)", e->name,
                     value, e->min, e->max);
            return ORFEAS_EINVAL;
        }
        *(uint64_t *)field = bytes;
        return 0;
    }
    default: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v) || v < e->min || v > e->max ||
            (e->type == CONFIG_INT && v != floor(v))) {
            snprintf(err, err_size, "--%s: '%s' is not a %s in %g..%g", e->name, value,
                     e->type == CONFIG_INT ? "whole number" : "number", e->min, e->max);
            return ORFEAS_EINVAL;
        }
        if (e->type == CONFIG_INT)
            *(int *)field = (int)v;
        else
            *(double *)field = v;
        return 0;
    }
    }
}

void orfeas_server_config_defaults(orfeas_server_config *c)
{
    memset(c, 0, sizeof *c);
    char err[128];
    for (const config_entry *e = table; e->name; e++) {
        /* Computed at start: the home directory, the host name and port. */
        if (strcmp(e->name, "data-dir") == 0 || strcmp(e->name, "node-id") == 0) continue;
        set_value(c, e, e->default_text, err, sizeof err);
    }
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(c->data_dir, sizeof c->data_dir, "%s/orfeas", xdg);
    else
        snprintf(c->data_dir, sizeof c->data_dir, "%s/.local/share/orfeas", home ? home : ".");
}

static void env_name(const char *name, char *out, size_t size)
{
    size_t o = (size_t)snprintf(out, size, "ORFEAS_");
    for (; *name && o + 1 < size; name++)
        out[o++] = *name == '-' ? '_' : (char)toupper(*name);
    out[o] = '\0';
}

int orfeas_server_config_parse(orfeas_server_config *c, int argc, char **argv, char *err,
                               size_t err_size)
{
    for (const config_entry *e = table; e->name; e++) {
        char env[64];
        env_name(e->name, env, sizeof env);
        const char *value = getenv(env);
        if (value && set_value(c, e, value, err, err_size)) return ORFEAS_EINVAL;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, err_size, "unexpected argument '%s'", arg);
            return ORFEAS_EINVAL;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        const config_entry *e = table;
        while (e->name && strcmp(e->name, name) != 0)
            e++;
        if (!e->name) {
            snprintf(err, err_size, "unknown option --%s (see orfeas serve --help)", name);
            return ORFEAS_EINVAL;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && e->type == CONFIG_BOOL) value = "true";
        if (!value && i + 1 < argc) value = argv[++i];
        if (!value) {
            snprintf(err, err_size, "--%s needs a value", name);
            return ORFEAS_EINVAL;
        }
        if (set_value(c, e, value, err, err_size)) return ORFEAS_EINVAL;
    }
    return 0;
}

void orfeas_server_config_help(FILE *out)
{
    fprintf(out, "usage: orfeas serve [options]\n\n"
                 "Serves the HTTP API (and the web page) on HOST:PORT.\n"
                 "Every option can also be set by its environment variable; flags win.\n\n");
    for (const config_entry *e = table; e->name; e++) {
        char env[64], flag[48];
        env_name(e->name, env, sizeof env);
        snprintf(flag, sizeof flag, "--%s%s", e->name, e->type == CONFIG_BOOL ? "" : " V");
        fprintf(out, "  %-26s %s (default %s; %s)\n", flag, e->help,
                e->default_text[0] ? e->default_text : "none", env);
    }
}
