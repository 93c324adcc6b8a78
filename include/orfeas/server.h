/* orfeas serve: the HTTP API of DESIGN §6 on libmicrohttpd.
 *
 * Threading: MHD runs one thread per connection, so a handler may block
 * (a sync generate waits for its job, a progressive stream for its levels).
 * The heavy work itself, every level included, runs on the scheduler's
 * workers (through service.h), admitted by the VRAM manager. */
#ifndef ORFEAS_SERVER_H
#define ORFEAS_SERVER_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "orfeas/orfeas.h"

typedef struct orfeas_server_config {
    char host[256];
    int port;
    char data_dir[1024];
    char device[128];
    int queue_max;
    int workers;
    uint64_t max_upload;
    uint64_t max_pixels;
    int job_timeout_s;
    char api_key[256];
    int allow_unauthenticated;
    char log_format[16]; /* text or json */
    char log_level[16];
    double monitor_interval_s;
    int connection_timeout_s;
    int max_connections;
    int max_parts;
    int grace_s;
    char depth_model[1024];
    char depth_precision[16]; /* fp32, fp16, int8 or auto */
    double depth_batch_window_ms;
    uint64_t cache_mem;  /* bytes of the cache's memory tier */
    uint64_t cache_disk; /* bytes of its disk tier under data_dir/cache */
    int cache_ttl_s;     /* 0: entries never expire */
    /* Cluster mode (src/cluster): empty url = embedded, one node. */
    char redis_url[512];
    char redis_password[256];
    char node_id[128]; /* empty: host name and port */
    int claim_after_s;
    uint64_t redis_max_result;
} orfeas_server_config;

/* The config table: flags, ORFEAS_* environment variables and help text. */
typedef enum { CONFIG_STRING, CONFIG_INT, CONFIG_SIZE, CONFIG_DOUBLE, CONFIG_BOOL } config_type;
typedef struct config_entry {
    const char *name; /* flag without dashes: "queue-max"; env: ORFEAS_QUEUE_MAX */
    config_type type;
    size_t offset, size; /* into orfeas_server_config */
    double min, max;
    const char *default_text;
    const char *help;
} config_entry;

const config_entry *orfeas_server_config_table(void);
void orfeas_server_config_defaults(orfeas_server_config *c);
/* Environment first, then flags (flags win). Returns 0 or ORFEAS_EINVAL with
 * a message naming the flag in err. */
int orfeas_server_config_parse(orfeas_server_config *c, int argc, char **argv, char *err,
                               size_t err_size);
void orfeas_server_config_help(FILE *out);

typedef struct orfeas_server orfeas_server;

/* Opens the device, the VRAM manager, the scheduler, and binds. */
int orfeas_server_start(const orfeas_server_config *config, orfeas_server **out, char *err,
                        size_t err_size);
/* Stops accepting, lets running jobs finish within the grace period, exits. */
void orfeas_server_stop(orfeas_server *server);
/* The port actually bound (useful with --port 0). */
int orfeas_server_port(const orfeas_server *server);

#endif
