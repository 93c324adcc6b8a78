/* Several orfeas nodes as one service through Redis (DESIGN §8).
 *
 * Keys (prefix orfeas:):
 *   jobs            stream of accepted jobs (field id), consumer group "orfeas"
 *   job:<id>        hash: state, node, times, params, key, error, message,
 *                   result location; the inputs while unfinished
 *   cache:<key>     a cached result, encoded as in the disk tier (EX ttl)
 *   result:<id>     the result of a job without a cache key (EX retention)
 *   inflight:<key>  the job computing a key (cross-node coalescing)
 *   nodes           sorted set: node id -> last heartbeat (unix s)
 *   done            pub/sub channel: ids of jobs whose outcome was recorded
 *
 * Any node accepts a job (HSET job + XADD); a node with a free worker takes
 * the next entry (XREADGROUP) and acknowledges it once the outcome is
 * stored. A live node refreshes its pending entries every second (a third
 * of claim_after when that is shorter), so only a dead node's entries go
 * idle beyond --claim-after and are claimed
 * (XAUTOCLAIM) by another. Before running, a node checks whether the job
 * (or its key) is already done: the second finisher does not recompute. */
#ifndef ORFEAS_CLUSTER_H
#define ORFEAS_CLUSTER_H

#include <stdint.h>

#include "orfeas/cache.h"
#include "orfeas/jobs.h"

typedef struct orfeas_cluster orfeas_cluster;

typedef struct orfeas_cluster_config {
    const char *url;      /* redis://[[user]:password@]host[:port][/db] */
    const char *password; /* overrides the URL's; may be NULL or "" */
    const char *node_id;  /* unique per node */
    int claim_after_ms;   /* idle time after which a pending job is claimed */
    uint64_t max_result;  /* bytes: larger results stay on their node */
    int cache_ttl_s;      /* of cache:<key> (0: no expiry) */
    int retention_s;      /* of job:<id> and result:<id> once finished */
} orfeas_cluster_config;

/* Parses the URL and starts the node's threads. An unreachable Redis is no
 * error: the node starts degraded and keeps trying. ORFEAS_EINVAL with the
 * reason in err for a bad URL. */
int orfeas_cluster_start(const orfeas_cluster_config *config, orfeas_scheduler *sched,
                         orfeas_cache *cache, orfeas_cluster **out, char *err, size_t err_size);
/* Stops taking jobs from the stream (first step of a shutdown). */
void orfeas_cluster_stop_intake(orfeas_cluster *c);
/* After the scheduler is destroyed and no request can call the hooks (the
 * HTTP daemon stopped). */
void orfeas_cluster_free(orfeas_cluster *c);

typedef struct orfeas_cluster_view {
    char node_id[128];
    int redis_up;          /* the last exchange with Redis worked */
    int64_t nodes_alive;   /* heartbeats within the last 5 s; -1 unknown */
    int64_t stream_length; /* -1 unknown */
    int64_t pending;       /* delivered, not acknowledged; -1 unknown */
    uint64_t dispatched, taken, claimed, completed, skipped_done, reconnects;
} orfeas_cluster_view;
void orfeas_cluster_view_get(orfeas_cluster *c, orfeas_cluster_view *out);

#endif
