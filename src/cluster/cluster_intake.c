/* The puller: while a worker is free, takes the next stream entry
 * (XREADGROUP), or first one a dead node left pending beyond claim_after
 * (XAUTOCLAIM), and runs it here unless the pre-run check (start_lua) finds
 * it done, cancelled or cached. */
#include "cluster/cluster_internal.h"

#include "orfeas/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: job hash, cache entry key ("" without one), inflight key.
 * ARGV: node, now, retention, id. What the taker should do. */
static const char start_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if not st then return 'gone' end\n"
    "if st == 'completed' or st == 'failed' or st == 'cancelled' then return 'done' end\n"
    "local function ended(...)\n"
    "  redis.call('HSET', KEYS[1], 'finished', ARGV[2], 'stage', 'done', ...)\n"
    "  redis.call('HDEL', KEYS[1], 'image', 'mask', 'depth')\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "  if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end\n"
    "  redis.call('PUBLISH', 'orfeas:done', ARGV[4])\n"
    "end\n"
    "if redis.call('HGET', KEYS[1], 'cancel') == '1' then\n"
    "  ended('state', 'cancelled', 'error', 'cancelled', 'message', 'cancelled')\n"
    "  return 'cancelled'\n"
    "end\n"
    "if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "  ended('state', 'completed', 'progress', '100', 'result', KEYS[2])\n"
    "  return 'cached'\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'state', 'running', 'node', ARGV[1], 'started', ARGV[2])\n"
    "return 'run'\n";

/* --- the puller --- */

/* The inputs of a job accepted elsewhere. */
static int fetch_request(orfeas_cluster *c, redis_link *l, const char *id, orfeas_job_request *req)
{
    memset(req, 0, sizeof *req);
    char jk[64];
    job_key(jk, sizeof jk, id);
    redisReply *r = orfeas_cluster_cmdf(c, l, "HMGET %s params key image mask depth", jk);
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
        drop(r);
        return ORFEAS_EIO;
    }
    int rc = orfeas_params_from_canonical(text_of(r->element[0]), &req->params);
    if (!rc && r->element[2]->type != REDIS_REPLY_STRING) rc = ORFEAS_ENOTFOUND;
    snprintf(req->cache_key, sizeof req->cache_key, "%s", text_of(r->element[1]));
    uint8_t **bufs[3] = {&req->image, &req->mask, &req->depth};
    size_t *sizes[3] = {&req->image_size, &req->mask_size, &req->depth_size};
    for (int i = 0; !rc && i < 3; i++) {
        redisReply *e = r->element[2 + i];
        if (e->type != REDIS_REPLY_STRING) continue;
        *bufs[i] = malloc(e->len ? e->len : 1);
        if (!*bufs[i]) {
            rc = ORFEAS_ENOMEM;
            break;
        }
        memcpy(*bufs[i], e->str, e->len);
        *sizes[i] = e->len;
    }
    drop(r);
    if (rc) orfeas_job_request_free(req);
    return rc;
}

static void fail_record(orfeas_cluster *c, redis_link *l, const char *id, int err,
                        const char *message)
{
    char finished[32];
    snprintf(finished, sizeof finished, "%.6f", orfeas_clock_unix_s());
    const char *fields[] = {"state",   "failed", "stage",    "done",  "finished",
                            finished,  "node",   c->node_id, "error", orfeas_error_code(err),
                            "message", message};
    orfeas_cluster_finish_record(c, l, id, NULL, fields, 12);
}

/* One stream entry: run it here unless it is done, cancelled or cached. */
static void take(orfeas_cluster *c, redis_link *l, const char *msg, const char *id, int claimed)
{
    if (strlen(id) != 36) {
        ORFEAS_WARN("cluster: stream entry %s has no job id; dropped", msg);
        orfeas_cluster_ack(c, l, msg);
        return;
    }
    char jk[64], ck[96] = "", ik[96], now[32], retention[24], key[80] = "";
    job_key(jk, sizeof jk, id);
    redisReply *k = orfeas_cluster_cmdf(c, l, "HGET %s key", jk);
    copy_text(key, sizeof key, k);
    drop(k);
    if (key[0]) snprintf(ck, sizeof ck, "orfeas:cache:%s", key);
    inflight_key(ik, sizeof ik, key);
    snprintf(now, sizeof now, "%.6f", orfeas_clock_unix_s());
    snprintf(retention, sizeof retention, "%d", c->retention_s > 0 ? c->retention_s : 86400);
    const char *argv[] = {"EVAL", start_lua, "3", jk, ck, ik, c->node_id, now, retention, id};
    redisReply *r = orfeas_cluster_cmd(c, l, 10, argv, NULL);
    if (is_error(r)) {
        if (r) ORFEAS_WARN("redis: starting job %s: %s", id, r->str);
        drop(r);
        return; /* still pending: taken again later */
    }
    char what[16];
    copy_text(what, sizeof what, r);
    drop(r);
    if (strcmp(what, "run") != 0) {
        ORFEAS_INFO("job %s: %s, not run again", id,
                    strcmp(what, "cached") == 0 ? "its result is already cached"
                    : strcmp(what, "gone") == 0 ? "its record is gone"
                                                : "already finished");
        if (strcmp(what, "cached") == 0 || strcmp(what, "done") == 0)
            atomic_fetch_add(&c->skipped_done, 1);
        orfeas_cluster_ack(c, l, msg);
        return;
    }
    /* Counted before the job can run (and finish), taken back on failure:
     * whoever reads the view after a job ended sees it counted. */
    atomic_uint_fast64_t *counter = claimed ? &c->claimed : &c->taken;
    atomic_fetch_add(counter, 1);
    int rc = orfeas_scheduler_submit_stream(c->sched, NULL, id, msg, NULL);
    if (rc == ORFEAS_ENOTFOUND) {
        orfeas_job_request req;
        rc = fetch_request(c, l, id, &req);
        if (!rc) rc = orfeas_scheduler_submit_stream(c->sched, &req, id, msg, NULL);
        if (rc == ORFEAS_EINVAL || rc == ORFEAS_ENOTFOUND) {
            atomic_fetch_sub(counter, 1);
            fail_record(c, l, id, ORFEAS_EINVAL, "the job's stored inputs are unusable");
            orfeas_cluster_ack(c, l, msg);
            return;
        }
    }
    if (rc) atomic_fetch_sub(counter, 1);
    if (rc == 0) {
        ORFEAS_INFO("job %s taken from the cluster%s", id, claimed ? " (claimed)" : "");
    } else if (rc == ORFEAS_ENOTREADY) {
        ORFEAS_WARN("job %s: delivered again but it runs or ran here already; acknowledged", id);
        orfeas_cluster_ack(c, l, msg);
    } else {
        /* Draining or out of memory: back in the queue for another node. */
        drop(orfeas_cluster_cmdf(c, l, "HSET %s state queued stage queued", jk));
    }
}

/* Entries of an XREADGROUP/XAUTOCLAIM reply: [[msg, [field, value, ...]], ...]. */
static void take_entries(orfeas_cluster *c, redis_link *l, redisReply *entries, int claimed)
{
    for (size_t i = 0; entries && i < entries->elements; i++) {
        redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) continue;
        const char *msg = text_of(e->element[0]);
        const char *id = "";
        redisReply *f = e->element[1];
        for (size_t j = 0; f && f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2)
            if (strcmp(text_of(f->element[j]), "id") == 0) id = text_of(f->element[j + 1]);
        take(c, l, msg, id, claimed);
    }
}

void *orfeas_cluster_puller_main(void *arg)
{
    orfeas_cluster *c = arg;
    redis_link l;
    orfeas_cluster_link_init(c, &l);
    while (!atomic_load(&c->stop_intake)) {
        if (orfeas_scheduler_capacity(c->sched) <= 0) {
            sleep_ms(20);
            continue;
        }
        if (!orfeas_redis_link_get(&l)) {
            orfeas_cluster_mark(c, 0);
            sleep_ms(100);
            continue;
        }
        /* A dead node's entries first: they have waited longest. */
        redisReply *r = orfeas_cluster_cmdf(c, &l, "XAUTOCLAIM %s %s %s %d 0-0 COUNT 1", STREAM,
                                            GROUP, c->node_id, c->claim_after_ms);
        if (!is_error(r) && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
            r->element[1]->type == REDIS_REPLY_ARRAY && r->element[1]->elements > 0) {
            take_entries(c, &l, r->element[1], 1);
            drop(r);
            continue;
        }
        drop(r);
        r = orfeas_cluster_cmdf(c, &l, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %d STREAMS %s >",
                                GROUP, c->node_id, BLOCK_MS, STREAM);
        if (is_error(r)) {
            if (r) ORFEAS_WARN("redis: XREADGROUP: %s", r->str);
            drop(r);
            sleep_ms(100);
            continue;
        }
        /* [[stream, entries]] or nil after the block timeout */
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
            take_entries(c, &l, r->element[0]->element[1], 0);
        drop(r);
    }
    orfeas_redis_link_close(&l);
    return NULL;
}
