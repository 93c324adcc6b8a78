/* The keeper thread (heartbeat and health view, refresh of this node's
 * pending entries so that nobody claims them, progress and cancel requests
 * of the jobs it runs, the records of jobs waited for here that run
 * elsewhere) and the listener on orfeas:done that wakes it. */
#include "cluster/cluster_internal.h"

#include "orfeas/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* --- the keeper --- */

/* Jobs waited for here that run elsewhere: follow their records. */
static void watch_remote(orfeas_cluster *c, redis_link *l)
{
    orfeas_job *jobs[MAX_TRACKED];
    int n = orfeas_scheduler_collect(c->sched, 0, jobs, MAX_TRACKED);
    for (int i = 0; i < n; i++) {
        job_record rec;
        int rc = orfeas_redis_link_get(l)
                     ? orfeas_cluster_record_get(c, l, orfeas_job_id(jobs[i]), &rec)
                     : ORFEAS_EIO;
        if (rc == 0)
            orfeas_cluster_settle_from(c, l, jobs[i], &rec);
        else if (rc == ORFEAS_ENOTFOUND)
            orfeas_scheduler_settle(c->sched, jobs[i], ORFEAS_JOB_FAILED, ORFEAS_ENOTFOUND,
                                    "the job's record is gone from Redis", NULL, NULL, 0);
        orfeas_job_unref(jobs[i]);
    }
}

/* The jobs this node took: keep their entries fresh (so that nobody claims
 * them), publish progress, and pass on cancel requests. */
static void refresh_taken(orfeas_cluster *c, redis_link *l)
{
    orfeas_job *jobs[MAX_TRACKED];
    int n = orfeas_scheduler_collect(c->sched, 1, jobs, MAX_TRACKED);
    for (int i = 0; i < n; i++) {
        orfeas_job *job = jobs[i];
        orfeas_job_snapshot snap;
        orfeas_job_snapshot_get(job, &snap);
        char jk[64], progress[16];
        job_key(jk, sizeof jk, snap.id);
        snprintf(progress, sizeof progress, "%.1f", snap.progress);
        drop(orfeas_cluster_cmdf(c, l, "XCLAIM %s %s %s 0 %s JUSTID", STREAM, GROUP, c->node_id,
                                 orfeas_job_tag(job)));
        if (snap.state == ORFEAS_JOB_RUNNING)
            drop(orfeas_cluster_cmdf(c, l, "HSET %s progress %s stage %s", jk, progress,
                                     snap.stage ? snap.stage : "running"));
        redisReply *r = orfeas_cluster_cmdf(c, l, "HGET %s cancel", jk);
        if (!is_error(r) && r->type == REDIS_REPLY_STRING && strcmp(r->str, "1") == 0)
            orfeas_scheduler_cancel(c->sched, job);
        drop(r);
        orfeas_job_unref(job);
    }
}

static void heartbeat(orfeas_cluster *c, redis_link *l)
{
    double now = orfeas_clock_unix_s();
    orfeas_cluster_view v;
    memset(&v, 0, sizeof v);
    v.nodes_alive = v.stream_length = v.pending = -1;
    drop(orfeas_cluster_cmdf(c, l, "ZADD orfeas:nodes %.3f %s", now, c->node_id));
    drop(orfeas_cluster_cmdf(c, l, "ZREMRANGEBYSCORE orfeas:nodes -inf %.3f", now - 86400));
    redisReply *r = orfeas_cluster_cmdf(c, l, "ZCOUNT orfeas:nodes %.3f +inf", now - ALIVE_S);
    if (!is_error(r) && r->type == REDIS_REPLY_INTEGER) v.nodes_alive = r->integer;
    drop(r);
    r = orfeas_cluster_cmdf(c, l, "XLEN %s", STREAM);
    if (!is_error(r) && r->type == REDIS_REPLY_INTEGER) v.stream_length = r->integer;
    drop(r);
    r = orfeas_cluster_cmdf(c, l, "XPENDING %s %s", STREAM, GROUP);
    if (!is_error(r) && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER)
        v.pending = r->element[0]->integer;
    drop(r);
    pthread_mutex_lock(&c->view_mu);
    c->view.nodes_alive = v.nodes_alive;
    c->view.stream_length = v.stream_length;
    c->view.pending = v.pending;
    pthread_mutex_unlock(&c->view_mu);
}

void *orfeas_cluster_keeper_main(void *arg)
{
    orfeas_cluster *c = arg;
    redis_link l;
    orfeas_cluster_link_init(c, &l);
    /* This node's entries are refreshed well within claim_after (every
     * second, or a third of it when shorter), so that only a dead node's
     * go idle long enough to be claimed. */
    int refresh_ms = c->claim_after_ms / 3 < HEARTBEAT_MS ? c->claim_after_ms / 3 : HEARTBEAT_MS;
    if (refresh_ms < WATCH_MS) refresh_ms = WATCH_MS;
    double next_refresh = 0, next_beat = 0;
    while (!atomic_load(&c->stop)) {
        /* Up or down is what the commands below find: a context still open
         * may be one whose server has gone (not known until it is used). */
        if (orfeas_redis_link_get(&l)) {
            watch_remote(c, &l);
            double now = orfeas_clock_mono_ms();
            if (now >= next_refresh) {
                refresh_taken(c, &l);
                next_refresh = now + refresh_ms;
            }
            if (now >= next_beat) {
                heartbeat(c, &l);
                next_beat = now + HEARTBEAT_MS;
            }
        } else {
            orfeas_cluster_mark(c, 0);
        }
        /* Woken early when a job ends somewhere (orfeas:done). */
        pthread_mutex_lock(&c->kick_mu);
        if (!c->kicked && !atomic_load(&c->stop)) {
            struct timespec until = orfeas_clock_deadline_ms(WATCH_MS);
            pthread_cond_timedwait(&c->kick_cv, &c->kick_mu, &until);
        }
        c->kicked = 0;
        pthread_mutex_unlock(&c->kick_mu);
    }
    orfeas_redis_link_close(&l);
    return NULL;
}

void orfeas_cluster_kick(orfeas_cluster *c)
{
    pthread_mutex_lock(&c->kick_mu);
    c->kicked = 1;
    pthread_cond_signal(&c->kick_cv);
    pthread_mutex_unlock(&c->kick_mu);
}

/* Subscribed to orfeas:done (every recorded outcome is published there):
 * a waiter here hears of its job at once instead of at the next poll. The
 * socket is polled so that the thread notices the stop flag; a lost
 * connection only means polling until it is back. */
void *orfeas_cluster_listener_main(void *arg)
{
    orfeas_cluster *c = arg;
    redis_link l;
    orfeas_redis_link_init(&l, &c->url, TIMEOUT_MS);
    while (!atomic_load(&c->stop)) {
        redisContext *ctx = orfeas_redis_link_get(&l);
        redisReply *r = ctx ? redisCommand(ctx, "SUBSCRIBE orfeas:done") : NULL;
        if (!r) {
            if (ctx) orfeas_redis_link_fail(&l);
            sleep_ms(WATCH_MS);
            continue;
        }
        freeReplyObject(r);
        orfeas_cluster_kick(c); /* whatever ended while unsubscribed */
        while (!atomic_load(&c->stop)) {
            void *reply = NULL;
            if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK) {
                orfeas_redis_link_fail(&l);
                break;
            }
            if (reply) {
                orfeas_cluster_kick(c);
                freeReplyObject(reply);
                continue;
            }
            struct pollfd pfd = {ctx->fd, POLLIN, 0};
            int n = poll(&pfd, 1, WATCH_MS);
            if (n == 0 || (n < 0 && errno == EINTR)) continue;
            if (n < 0 || redisBufferRead(ctx) != REDIS_OK) {
                orfeas_redis_link_fail(&l);
                break;
            }
        }
    }
    orfeas_redis_link_close(&l);
    return NULL;
}
