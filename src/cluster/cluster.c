/* The cluster node's lifetime (start, stop, free), its pool of Redis links,
 * the commands that count their outcome for the health view, and the view.
 * The rest of the node: cluster_internal.h. */
#include "cluster/cluster_internal.h"

#include "orfeas/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- the pool and commands --- */

void orfeas_cluster_mark(orfeas_cluster *c, int ok)
{
    int was = atomic_exchange(&c->up, ok);
    if (ok && !was) atomic_fetch_add(&c->reconnects, 1);
}

redis_link *orfeas_cluster_acquire(orfeas_cluster *c)
{
    pthread_mutex_lock(&c->pool_mu);
    for (;;) {
        for (int i = 0; i < POOL; i++)
            if (!c->pool_busy[i]) {
                c->pool_busy[i] = 1;
                pthread_mutex_unlock(&c->pool_mu);
                return &c->pool[i];
            }
        pthread_cond_wait(&c->pool_cv, &c->pool_mu);
    }
}

void orfeas_cluster_release(orfeas_cluster *c, redis_link *l)
{
    pthread_mutex_lock(&c->pool_mu);
    c->pool_busy[l - c->pool] = 0;
    pthread_cond_signal(&c->pool_cv);
    pthread_mutex_unlock(&c->pool_mu);
}

redisReply *orfeas_cluster_cmd(orfeas_cluster *c, redis_link *l, int argc, const char **argv,
                               const size_t *lens)
{
    redisReply *r = orfeas_redis_link_cmd(l, argc, argv, lens);
    orfeas_cluster_mark(c, r != NULL);
    return r;
}

redisReply *orfeas_cluster_cmdf(orfeas_cluster *c, redis_link *l, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = orfeas_redis_link_vcmdf(l, format, ap);
    va_end(ap);
    orfeas_cluster_mark(c, r != NULL);
    return r;
}

/* The stream group exists on every connection (MKSTREAM; BUSYGROUP is fine). */
static int on_connect(redisContext *ctx, void *userdata)
{
    (void)userdata;
    redisReply *r = redisCommand(ctx, "XGROUP CREATE %s %s 0 MKSTREAM", STREAM, GROUP);
    int ok = r && (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0);
    if (r && !ok) ORFEAS_WARN("redis: XGROUP CREATE: %s", r->str);
    drop(r);
    return ok ? 0 : -1;
}

void orfeas_cluster_link_init(orfeas_cluster *c, redis_link *l)
{
    orfeas_redis_link_init(l, &c->url, TIMEOUT_MS);
    l->on_connect = on_connect;
    l->userdata = c;
}

/* --- lifetime --- */

int orfeas_cluster_start(const orfeas_cluster_config *config, orfeas_scheduler *sched,
                         orfeas_cache *cache, orfeas_cluster **out, char *err, size_t err_size)
{
    *out = NULL;
    orfeas_cluster *c = calloc(1, sizeof *c);
    if (!c) return ORFEAS_ENOMEM;
    int rc = orfeas_redis_url_parse(config->url, &c->url, err, err_size);
    if (rc) {
        free(c);
        return rc;
    }
    if (config->password && config->password[0])
        snprintf(c->url.password, sizeof c->url.password, "%s", config->password);
    snprintf(c->node_id, sizeof c->node_id, "%s", config->node_id);
    c->claim_after_ms = config->claim_after_ms > 0 ? config->claim_after_ms : 30000;
    c->max_result = config->max_result;
    c->cache_ttl_s = config->cache_ttl_s;
    c->retention_s = config->retention_s > 0 ? config->retention_s : 86400;
    c->sched = sched;
    c->cache = cache;
    pthread_mutex_init(&c->pool_mu, NULL);
    pthread_cond_init(&c->pool_cv, NULL);
    pthread_mutex_init(&c->view_mu, NULL);
    pthread_mutex_init(&c->kick_mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->kick_cv, &attr);
    pthread_condattr_destroy(&attr);
    for (int i = 0; i < POOL; i++)
        orfeas_cluster_link_init(c, &c->pool[i]);
    snprintf(c->view.node_id, sizeof c->view.node_id, "%s", c->node_id);
    c->view.nodes_alive = c->view.stream_length = c->view.pending = -1;

    /* A first contact tells the operator at once whether Redis is there. */
    redis_link *l = orfeas_cluster_acquire(c);
    int reachable = orfeas_redis_link_get(l) != NULL;
    orfeas_cluster_release(c, l);
    atomic_store(&c->up, reachable);
    if (reachable)
        ORFEAS_INFO("cluster: node %s on redis %s:%d/%d (claim after %d ms)", c->node_id,
                    c->url.host, c->url.port, c->url.db, c->claim_after_ms);
    else
        ORFEAS_WARN("cluster: redis %s:%d unreachable; serving locally (degraded) and retrying",
                    c->url.host, c->url.port);

    orfeas_cluster_install_hooks(c);
    if (pthread_create(&c->keeper, NULL, orfeas_cluster_keeper_main, c) == 0) c->has_keeper = 1;
    if (pthread_create(&c->puller, NULL, orfeas_cluster_puller_main, c) == 0) c->has_puller = 1;
    if (pthread_create(&c->listener, NULL, orfeas_cluster_listener_main, c) == 0)
        c->has_listener = 1;
    if (!c->has_keeper || !c->has_puller || !c->has_listener) {
        orfeas_cluster_stop_intake(c);
        orfeas_cluster_free(c);
        snprintf(err, err_size, "cannot start the cluster threads");
        return ORFEAS_EINTERNAL;
    }
    *out = c;
    return 0;
}

void orfeas_cluster_stop_intake(orfeas_cluster *c)
{
    if (!c) return;
    atomic_store(&c->stop_intake, 1);
    if (c->has_puller) pthread_join(c->puller, NULL);
    c->has_puller = 0;
}

void orfeas_cluster_free(orfeas_cluster *c)
{
    if (!c) return;
    orfeas_cluster_stop_intake(c);
    atomic_store(&c->stop, 1);
    orfeas_cluster_kick(c);
    if (c->has_keeper) pthread_join(c->keeper, NULL);
    if (c->has_listener) pthread_join(c->listener, NULL);
    orfeas_scheduler_set_hooks(c->sched, NULL);
    orfeas_scheduler_release(c->sched);
    if (c->cache) orfeas_cache_set_remote(c->cache, NULL);
    for (int i = 0; i < POOL; i++)
        orfeas_redis_link_close(&c->pool[i]);
    pthread_mutex_destroy(&c->pool_mu);
    pthread_cond_destroy(&c->pool_cv);
    pthread_mutex_destroy(&c->view_mu);
    pthread_mutex_destroy(&c->kick_mu);
    pthread_cond_destroy(&c->kick_cv);
    free(c);
}

void orfeas_cluster_view_get(orfeas_cluster *c, orfeas_cluster_view *out)
{
    pthread_mutex_lock(&c->view_mu);
    *out = c->view;
    pthread_mutex_unlock(&c->view_mu);
    out->redis_up = atomic_load(&c->up);
    out->dispatched = atomic_load(&c->dispatched);
    out->taken = atomic_load(&c->taken);
    out->claimed = atomic_load(&c->claimed);
    out->completed = atomic_load(&c->completed);
    out->skipped_done = atomic_load(&c->skipped_done);
    out->reconnects = atomic_load(&c->reconnects);
}
