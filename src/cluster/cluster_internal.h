/* Between the files of the cluster node (not part of its interface):
 *   cluster.c         lifetime, the connection pool, commands and the view
 *   cluster_record.c  a job's record in Redis: read, settle a local job, end
 *   cluster_hooks.c   what the scheduler and the cache call (dispatch,
 *                     finished, cancel, lookup, claim_key; the shared tier)
 *   cluster_intake.c  the puller: takes stream entries while a worker is free
 *   cluster_keeper.c  the keeper (heartbeat, refresh of this node's pending
 *                     entries, jobs run elsewhere) and the orfeas:done
 *                     listener that wakes it */
#ifndef ORFEAS_CLUSTER_CLUSTER_INTERNAL_H
#define ORFEAS_CLUSTER_CLUSTER_INTERNAL_H

#include "orfeas/cluster.h"
#include "core/clock.h"
#include "cluster/redis_link.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define STREAM "orfeas:jobs"
#define GROUP "orfeas"
#define POOL 8
#define TIMEOUT_MS 2000
#define BLOCK_MS 500
#define WATCH_MS 100
#define HEARTBEAT_MS 1000
#define ALIVE_S 5
#define INFLIGHT_TTL_MS 3600000
#define MAX_TRACKED 512

struct orfeas_cluster {
    redis_url url;
    char node_id[128];
    int claim_after_ms;
    uint64_t max_result;
    int cache_ttl_s, retention_s;
    orfeas_scheduler *sched;
    orfeas_cache *cache;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    redis_link pool[POOL];
    int pool_busy[POOL];

    pthread_t puller, keeper, listener;
    int has_puller, has_keeper, has_listener;
    /* The listener wakes the keeper when a job ends anywhere. */
    pthread_mutex_t kick_mu;
    pthread_cond_t kick_cv;
    int kicked;
    atomic_int stop_intake, stop;

    atomic_int up;
    pthread_mutex_t view_mu;
    orfeas_cluster_view view;
    atomic_uint_fast64_t dispatched, taken, claimed, completed, skipped_done, reconnects;
};

/* --- small helpers --- */

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline void drop(redisReply *r)
{
    if (r) freeReplyObject(r);
}

static inline int is_error(const redisReply *r)
{
    return !r || r->type == REDIS_REPLY_ERROR;
}

/* The text of a string/status reply (or an array element), "" otherwise. */
static inline const char *text_of(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? r->str : "";
}

static inline void copy_text(char *out, size_t size, const redisReply *r)
{
    snprintf(out, size, "%s", text_of(r));
}

static inline void job_key(char *out, size_t size, const char *id)
{
    snprintf(out, size, "orfeas:job:%s", id);
}

static inline void inflight_key(char *out, size_t size, const char *key)
{
    if (key && key[0])
        snprintf(out, size, "orfeas:inflight:%s", key);
    else
        snprintf(out, size, "orfeas:inflight:-");
}

/* --- cluster.c: the pool and commands --- */

/* Records whether the last exchange with Redis worked (the health view). */
void orfeas_cluster_mark(orfeas_cluster *c, int ok);
/* A link of the pool, waiting for one to be free; give it back with release. */
redis_link *orfeas_cluster_acquire(orfeas_cluster *c);
void orfeas_cluster_release(orfeas_cluster *c, redis_link *l);
/* A command on a link; counts the outcome for the health view. */
redisReply *orfeas_cluster_cmd(orfeas_cluster *c, redis_link *l, int argc, const char **argv,
                               const size_t *lens);
redisReply *orfeas_cluster_cmdf(orfeas_cluster *c, redis_link *l, const char *format, ...);
/* A link to the node's Redis that makes sure the stream group exists. */
void orfeas_cluster_link_init(orfeas_cluster *c, redis_link *l);

/* --- cluster_record.c: the job record --- */

typedef struct job_record {
    char state[16], stage[32], format[8], error[48], message[200], result[160], node[128];
    double progress, created, started, finished;
    int cancel;
} job_record;

/* 0, ORFEAS_ENOTFOUND (no such job) or ORFEAS_EIO (Redis unreachable). */
int orfeas_cluster_record_get(orfeas_cluster *c, redis_link *l, const char *id, job_record *out);
void orfeas_cluster_remote_state_of(const job_record *rec, orfeas_remote_state *st);
/* A finished record settles the local job: completed ones with the bytes
 * fetched from where the record says. 0 when settled (or nothing to do),
 * ORFEAS_EIO to try again later. */
int orfeas_cluster_settle_from(orfeas_cluster *c, redis_link *l, orfeas_job *job,
                               const job_record *rec);
/* Ends a job's record with field/value pairs (strings). 1 when this call
 * set the outcome, 0 when one was there, < 0 on an error. */
int orfeas_cluster_finish_record(orfeas_cluster *c, redis_link *l, const char *id,
                                 const char *cache_key, const char **fields, int nfields);
/* Acknowledges and deletes a stream entry (none when msg is empty). */
void orfeas_cluster_ack(orfeas_cluster *c, redis_link *l, const char *msg);

/* --- cluster_hooks.c --- */

/* Sets the scheduler's hooks (and holds the scheduler) and the cache's
 * shared tier (when there is a cache). */
void orfeas_cluster_install_hooks(orfeas_cluster *c);

/* --- cluster_intake.c --- */

void *orfeas_cluster_puller_main(void *arg);

/* --- cluster_keeper.c --- */

void *orfeas_cluster_keeper_main(void *arg);
void *orfeas_cluster_listener_main(void *arg);
/* Wakes the keeper (a job ended somewhere, or the node stops). */
void orfeas_cluster_kick(orfeas_cluster *c);

#endif
