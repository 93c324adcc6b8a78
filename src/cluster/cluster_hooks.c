/* What the scheduler calls on a cluster node (dispatch, finished, cancel,
 * lookup, claim_key: coalescing across nodes) and the cache's shared tier. */
#include "cluster/cluster_internal.h"

#include "orfeas/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEYS: job hash, inflight key. ARGV: now, retention, id. 1 when the job
 * was still queued (it ends cancelled now), 0 when a runner will see the
 * flag, -1 when unknown. */
static const char cancel_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "redis.call('HSET', KEYS[1], 'cancel', '1')\n"
    "if redis.call('HGET', KEYS[1], 'state') ~= 'queued' then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'state', 'cancelled', 'error', 'cancelled', 'message',\n"
    "  'cancelled while queued', 'finished', ARGV[1], 'stage', 'done')\n"
    "redis.call('HDEL', KEYS[1], 'image', 'mask', 'depth')\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end\n"
    "redis.call('PUBLISH', 'orfeas:done', ARGV[3])\n"
    "return 1\n";

/* --- scheduler hooks --- */

static int hook_dispatch(void *ctx, orfeas_job *job)
{
    orfeas_cluster *c = ctx;
    const orfeas_job_request *req = orfeas_job_request_of(job);
    const char *id = orfeas_job_id(job);
    char params[1024], jk[64], created[32], retention[24];
    int rc = orfeas_params_canonical(&req->params, params, sizeof params);
    if (rc) return rc;
    job_key(jk, sizeof jk, id);
    snprintf(created, sizeof created, "%.6f", orfeas_clock_unix_s());
    /* Unfinished records live long: a queue may be deep. */
    snprintf(retention, sizeof retention, "%d", 7 * 86400);
    const char *argv[24];
    size_t lens[24];
    int argc = 0;
#define ARG(p, n) (argv[argc] = (const char *)(p), lens[argc++] = (n))
#define STR(s) ARG(s, strlen(s))
    STR("HSET");
    STR(jk);
    STR("state");
    STR("queued");
    STR("stage");
    STR("queued");
    STR("accepted_by");
    STR(c->node_id);
    STR("created");
    STR(created);
    STR("params");
    STR(params);
    STR("format");
    STR(orfeas_format_name(req->params.format));
    STR("key");
    STR(req->cache_key);
    STR("image");
    ARG(req->image, req->image_size);
    if (req->mask) {
        STR("mask");
        ARG(req->mask, req->mask_size);
    }
    if (req->depth) {
        STR("depth");
        ARG(req->depth, req->depth_size);
    }
#undef STR
#undef ARG
    redis_link *l = orfeas_cluster_acquire(c);
    redisContext *rctx = orfeas_redis_link_get(l);
    if (!rctx) {
        orfeas_cluster_release(c, l);
        orfeas_cluster_mark(c, 0);
        return ORFEAS_EIO;
    }
    /* One round trip; the inputs are copied into hiredis's buffer here, so
     * the job may start running (and free them) as soon as XADD lands. */
    redisAppendCommandArgv(rctx, argc, argv, lens);
    redisAppendCommand(rctx, "EXPIRE %s %s", jk, retention);
    redisAppendCommand(rctx, "XADD %s * id %s", STREAM, id);
    rc = 0;
    for (int i = 0; i < 3; i++) {
        redisReply *r = NULL;
        if (redisGetReply(rctx, (void **)&r) != REDIS_OK) {
            orfeas_redis_link_fail(l);
            rc = ORFEAS_EIO;
            break;
        }
        if (is_error(r)) {
            ORFEAS_WARN("redis: dispatching job %s: %s", id, r ? r->str : "no reply");
            rc = ORFEAS_EIO;
        }
        drop(r);
    }
    /* An error reply leaves the link up; a lost connection does not. */
    int connected = l->ctx != NULL;
    orfeas_cluster_mark(c, connected);
    if (rc && connected) drop(orfeas_cluster_cmdf(c, l, "DEL %s", jk)); /* it runs here instead */
    orfeas_cluster_release(c, l);
    if (!rc) atomic_fetch_add(&c->dispatched, 1);
    return rc;
}

/* Where a result lives in Redis, or "node:<id>" when it is too large. */
static void store_result(orfeas_cluster *c, redis_link *l, orfeas_job *job, const uint8_t *data,
                         size_t size, const orfeas_job_snapshot *snap, char *where,
                         size_t where_size)
{
    const orfeas_job_request *req = orfeas_job_request_of(job);
    if (size > c->max_result) {
        snprintf(where, where_size, "node:%s", c->node_id);
        return;
    }
    if (req->cache_key[0]) {
        /* The cache's shared tier already holds it (run_job stored it). */
        snprintf(where, where_size, "orfeas:cache:%s", req->cache_key);
        return;
    }
    orfeas_result_meta meta;
    memset(&meta, 0, sizeof meta);
    orfeas_result_meta_from(&meta, snap->id, snap->format, NULL, &snap->stats);
    meta.vertices = snap->vertices;
    meta.triangles = snap->triangles;
    uint8_t *file = NULL;
    size_t file_size = 0;
    snprintf(where, where_size, "orfeas:result:%s", snap->id);
    if (orfeas_cache_entry_encode(&meta, data, size, orfeas_clock_unix_s(), &file, &file_size) ==
        0) {
        char ttl[24];
        snprintf(ttl, sizeof ttl, "%d", c->retention_s > 0 ? c->retention_s : 86400);
        const char *argv[] = {"SET", where, (const char *)file, "EX", ttl};
        size_t lens[] = {3, strlen(where), file_size, 2, strlen(ttl)};
        drop(orfeas_cluster_cmd(c, l, 5, argv, lens));
    }
    free(file);
}

static void hook_finished(void *ctx, orfeas_job *job)
{
    orfeas_cluster *c = ctx;
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    const char *key = orfeas_job_request_of(job)->cache_key;
    char finished[32], where[160] = "", verts[16], tris[16], bytes[24], code[48];
    snprintf(finished, sizeof finished, "%.6f", snap.finished);
    redis_link *l = orfeas_cluster_acquire(c);
    int set;
    if (snap.state == ORFEAS_JOB_COMPLETED) {
        const uint8_t *data = NULL;
        size_t size = 0;
        orfeas_job_result(job, &data, &size);
        store_result(c, l, job, data, size, &snap, where, sizeof where);
        snprintf(verts, sizeof verts, "%u", snap.vertices);
        snprintf(tris, sizeof tris, "%u", snap.triangles);
        snprintf(bytes, sizeof bytes, "%zu", size);
        const char *fields[] = {
            "state",  "completed", "progress", "100",    "stage",
            "done",   "finished",  finished,   "node",   c->node_id,
            "result", where,       "vertices", verts,    "triangles",
            tris,     "bytes",     bytes,      "format", orfeas_format_name(snap.format)};
        set = orfeas_cluster_finish_record(c, l, snap.id, key, fields, 20);
        atomic_fetch_add(&c->completed, 1);
    } else {
        snprintf(code, sizeof code, "%s", orfeas_error_code(snap.error));
        const char *fields[] = {"state",    orfeas_job_state_name(snap.state),
                                "stage",    "done",
                                "finished", finished,
                                "node",     c->node_id,
                                "error",    code,
                                "message",  snap.error_message};
        set = orfeas_cluster_finish_record(c, l, snap.id, key, fields, 12);
    }
    /* Acknowledged once the outcome is stored: a crash before this line
     * leaves the entry pending, and another node runs it again. */
    if (set >= 0) orfeas_cluster_ack(c, l, orfeas_job_tag(job));
    orfeas_cluster_release(c, l);
    if (set == 0)
        ORFEAS_INFO("job %s: another node had already finished it; its outcome stands", snap.id);
}

static void hook_cancel(void *ctx, orfeas_job *job)
{
    orfeas_cluster *c = ctx;
    const char *id = orfeas_job_id(job);
    char jk[64], ik[96], now[32], retention[24];
    job_key(jk, sizeof jk, id);
    inflight_key(ik, sizeof ik, orfeas_job_request_of(job)->cache_key);
    snprintf(now, sizeof now, "%.6f", orfeas_clock_unix_s());
    snprintf(retention, sizeof retention, "%d", c->retention_s > 0 ? c->retention_s : 86400);
    const char *argv[] = {"EVAL", cancel_lua, "2", jk, ik, now, retention, id};
    redis_link *l = orfeas_cluster_acquire(c);
    redisReply *r = orfeas_cluster_cmd(c, l, 8, argv, NULL);
    job_record rec;
    /* Settled at once when it had not started anywhere. */
    if (!is_error(r) && r->type == REDIS_REPLY_INTEGER && r->integer == 1 &&
        orfeas_cluster_record_get(c, l, id, &rec) == 0)
        orfeas_cluster_settle_from(c, l, job, &rec);
    drop(r);
    orfeas_cluster_release(c, l);
}

static orfeas_job *hook_lookup(void *ctx, const char *id)
{
    orfeas_cluster *c = ctx;
    job_record rec;
    redis_link *l = orfeas_cluster_acquire(c);
    orfeas_job *job = NULL;
    if (orfeas_cluster_record_get(c, l, id, &rec) == 0) {
        orfeas_remote_state st;
        orfeas_cluster_remote_state_of(&rec, &st);
        if (orfeas_scheduler_track(c->sched, id, &st, &job) == 0)
            orfeas_cluster_settle_from(c, l, job, &rec);
    }
    orfeas_cluster_release(c, l);
    return job;
}

static int hook_claim_key(void *ctx, const char *key, const char *job_id, char other[37])
{
    orfeas_cluster *c = ctx;
    char ik[96];
    inflight_key(ik, sizeof ik, key);
    redis_link *l = orfeas_cluster_acquire(c);
    int found = 0;
    for (int attempt = 0; attempt < 2 && !found; attempt++) {
        redisReply *r =
            orfeas_cluster_cmdf(c, l, "SET %s %s NX PX %d", ik, job_id, INFLIGHT_TTL_MS);
        int claimed = !is_error(r) && r->type == REDIS_REPLY_STATUS;
        int failed = is_error(r);
        drop(r);
        if (claimed || failed) break;
        r = orfeas_cluster_cmdf(c, l, "GET %s", ik);
        if (!is_error(r) && r->type == REDIS_REPLY_STRING && r->len == 36) {
            memcpy(other, r->str, 36);
            other[36] = '\0';
            char jk[64];
            job_key(jk, sizeof jk, other);
            /* The claimer writes its record right after claiming: give it a
             * moment. A claim whose job never made it (refused) is taken over. */
            for (int wait = 0; wait < 10 && !found; wait++) {
                if (wait) sleep_ms(50);
                redisReply *e = orfeas_cluster_cmdf(c, l, "EXISTS %s", jk);
                found = !is_error(e) && e->type == REDIS_REPLY_INTEGER && e->integer == 1;
                drop(e);
            }
            if (!found)
                drop(orfeas_cluster_cmdf(c, l, "EVAL %s 1 %s %s",
                                         "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                         "return redis.call('DEL', KEYS[1]) end return 0",
                                         ik, other));
        }
        drop(r);
    }
    orfeas_cluster_release(c, l);
    return found;
}

/* --- the cache's shared tier --- */

static int remote_get(void *ctx, const char *key, uint8_t **file, size_t *size)
{
    orfeas_cluster *c = ctx;
    redis_link *l = orfeas_cluster_acquire(c);
    redisReply *r = orfeas_cluster_cmdf(c, l, "GET orfeas:cache:%s", key);
    orfeas_cluster_release(c, l);
    int rc = ORFEAS_ENOTFOUND;
    if (!is_error(r) && r->type == REDIS_REPLY_STRING && r->len > 0) {
        *file = malloc(r->len);
        if (*file) {
            memcpy(*file, r->str, r->len);
            *size = r->len;
            rc = 0;
        }
    }
    drop(r);
    return rc;
}

static void remote_put(void *ctx, const char *key, const uint8_t *file, size_t size)
{
    orfeas_cluster *c = ctx;
    if (size > c->max_result) return;
    char name[96], ttl[24];
    snprintf(name, sizeof name, "orfeas:cache:%s", key);
    snprintf(ttl, sizeof ttl, "%d", c->cache_ttl_s);
    const char *argv[] = {"SET", name, (const char *)file, "EX", ttl};
    size_t lens[] = {3, strlen(name), size, 2, strlen(ttl)};
    redis_link *l = orfeas_cluster_acquire(c);
    redisReply *r = orfeas_cluster_cmd(c, l, c->cache_ttl_s > 0 ? 5 : 3, argv, lens);
    if (r && r->type == REDIS_REPLY_ERROR) ORFEAS_WARN("redis: caching %s: %s", key, r->str);
    drop(r);
    orfeas_cluster_release(c, l);
}

static uint64_t remote_clear(void *ctx)
{
    orfeas_cluster *c = ctx;
    uint64_t n = 0;
    char cursor[32] = "0";
    redis_link *l = orfeas_cluster_acquire(c);
    do {
        redisReply *r = orfeas_cluster_cmdf(c, l, "SCAN %s MATCH orfeas:cache:* COUNT 500", cursor);
        if (is_error(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            drop(r);
            break;
        }
        copy_text(cursor, sizeof cursor, r->element[0]);
        redisReply *keys = r->element[1];
        /* One UNLINK for the batch (SCAN's COUNT bounds it). */
        size_t nkeys = keys->type == REDIS_REPLY_ARRAY ? keys->elements : 0;
        const char **argv = nkeys ? malloc((nkeys + 1) * sizeof *argv) : NULL;
        if (argv) {
            argv[0] = "UNLINK";
            for (size_t i = 0; i < nkeys; i++)
                argv[i + 1] = text_of(keys->element[i]);
            redisReply *d = orfeas_cluster_cmd(c, l, (int)nkeys + 1, argv, NULL);
            if (!is_error(d) && d->type == REDIS_REPLY_INTEGER) n += (uint64_t)d->integer;
            drop(d);
            free(argv);
        }
        drop(r);
    } while (strcmp(cursor, "0") != 0);
    orfeas_cluster_release(c, l);
    return n;
}

/* --- installed by orfeas_cluster_start --- */

void orfeas_cluster_install_hooks(orfeas_cluster *c)
{
    orfeas_scheduler_hooks hooks = {.ctx = c,
                                    .dispatch = hook_dispatch,
                                    .finished = hook_finished,
                                    .cancel = hook_cancel,
                                    .lookup = hook_lookup,
                                    .claim_key = hook_claim_key};
    orfeas_scheduler_set_hooks(c->sched, &hooks);
    orfeas_scheduler_hold(c->sched); /* the keeper may outlive its destroy */
    if (c->cache) {
        orfeas_cache_remote remote = {
            .ctx = c, .name = "redis", .get = remote_get, .put = remote_put, .clear = remote_clear};
        orfeas_cache_set_remote(c->cache, &remote);
    }
}
