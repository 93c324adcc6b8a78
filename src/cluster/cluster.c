/* The cluster node: hooks the scheduler calls (dispatch, finished, cancel,
 * lookup, claim_key), the cache's shared tier, and two threads: the puller
 * (takes stream entries while a worker is free) and the keeper (heartbeat,
 * refresh of this node's pending entries, progress of the jobs it runs,
 * and the state of jobs waited for here that run elsewhere). */
#include "cluster/cluster.h"
#include "cluster/redis_link.h"

#include "orfeas/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
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

static double unix_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Now + ms on the monotonic clock (kick_cv waits on it). */
static struct timespec deadline(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    return ts;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void mark(orfeas_cluster *c, int ok)
{
    int was = atomic_exchange(&c->up, ok);
    if (ok && !was) atomic_fetch_add(&c->reconnects, 1);
}

static redis_link *acquire(orfeas_cluster *c)
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

static void release(orfeas_cluster *c, redis_link *l)
{
    pthread_mutex_lock(&c->pool_mu);
    c->pool_busy[l - c->pool] = 0;
    pthread_cond_signal(&c->pool_cv);
    pthread_mutex_unlock(&c->pool_mu);
}

/* A command on a link; counts the outcome for the health view. */
static redisReply *cmd(orfeas_cluster *c, redis_link *l, int argc, const char **argv,
                       const size_t *lens)
{
    redisReply *r = redis_link_cmd(l, argc, argv, lens);
    mark(c, r != NULL);
    return r;
}

static redisReply *cmdf(orfeas_cluster *c, redis_link *l, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = redis_link_vcmdf(l, format, ap);
    va_end(ap);
    mark(c, r != NULL);
    return r;
}

static void drop(redisReply *r)
{
    if (r) freeReplyObject(r);
}

static int is_error(const redisReply *r)
{
    return !r || r->type == REDIS_REPLY_ERROR;
}

/* The text of a string/status reply (or an array element), "" otherwise. */
static const char *text_of(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? r->str : "";
}

static void copy_text(char *out, size_t size, const redisReply *r)
{
    snprintf(out, size, "%s", text_of(r));
}

static void job_key(char *out, size_t size, const char *id)
{
    snprintf(out, size, "orfeas:job:%s", id);
}

static void inflight_key(char *out, size_t size, const char *key)
{
    if (key && key[0])
        snprintf(out, size, "orfeas:inflight:%s", key);
    else
        snprintf(out, size, "orfeas:inflight:-");
}

static orfeas_job_state state_parse(const char *name)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(name, orfeas_job_state_name((orfeas_job_state)i)) == 0)
            return (orfeas_job_state)i;
    return ORFEAS_JOB_FAILED;
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

static void link_init(orfeas_cluster *c, redis_link *l)
{
    redis_link_init(l, &c->url, TIMEOUT_MS);
    l->on_connect = on_connect;
    l->userdata = c;
}

/* --- scripts (atomic state changes of a job's hash) --- */

/* KEYS: job hash, inflight key. ARGV: id, retention, then field/value pairs.
 * Does nothing when the job already ended (the first outcome stands). */
static const char finish_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if not st or st == 'completed' or st == 'failed' or st == 'cancelled' then return 0 end\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 3))\n"
    "redis.call('HDEL', KEYS[1], 'image', 'mask', 'depth')\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end\n"
    "redis.call('PUBLISH', 'orfeas:done', ARGV[1])\n"
    "return 1\n";

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

/* Ends a job's record with field/value pairs (strings). 1 when this call
 * set the outcome, 0 when one was there, < 0 on an error. */
static int finish_record(orfeas_cluster *c, redis_link *l, const char *id, const char *cache_key,
                         const char **fields, int nfields)
{
    char jk[64], ik[96], retention[24];
    job_key(jk, sizeof jk, id);
    inflight_key(ik, sizeof ik, cache_key);
    snprintf(retention, sizeof retention, "%d", c->retention_s > 0 ? c->retention_s : 86400);
    const char *argv[48];
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = finish_lua;
    argv[argc++] = "2";
    argv[argc++] = jk;
    argv[argc++] = ik;
    argv[argc++] = id;
    argv[argc++] = retention;
    for (int i = 0; i < nfields && argc < 48; i++)
        argv[argc++] = fields[i];
    redisReply *r = cmd(c, l, argc, argv, NULL);
    int rc = is_error(r) ? -1 : r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    if (r && r->type == REDIS_REPLY_ERROR) ORFEAS_WARN("redis: finishing job %s: %s", id, r->str);
    drop(r);
    return rc;
}

static void ack(orfeas_cluster *c, redis_link *l, const char *msg)
{
    if (!msg || !msg[0]) return;
    drop(cmdf(c, l, "XACK %s %s %s", STREAM, GROUP, msg));
    drop(cmdf(c, l, "XDEL %s %s", STREAM, msg));
}

/* --- the job record --- */

typedef struct job_record {
    char state[16], stage[32], format[8], error[48], message[200], result[160], node[128];
    double progress, created, started, finished;
    int cancel;
} job_record;

/* 0, ORFEAS_ENOTFOUND (no such job) or ORFEAS_EIO (Redis unreachable). */
static int record_get(orfeas_cluster *c, redis_link *l, const char *id, job_record *out)
{
    memset(out, 0, sizeof *out);
    char jk[64];
    job_key(jk, sizeof jk, id);
    redisReply *r = cmdf(c, l,
                         "HMGET %s state stage format error message result node progress created "
                         "started finished cancel",
                         jk);
    if (is_error(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 12) {
        drop(r);
        return ORFEAS_EIO;
    }
    if (r->element[0]->type != REDIS_REPLY_STRING) {
        drop(r);
        return ORFEAS_ENOTFOUND;
    }
    copy_text(out->state, sizeof out->state, r->element[0]);
    copy_text(out->stage, sizeof out->stage, r->element[1]);
    copy_text(out->format, sizeof out->format, r->element[2]);
    copy_text(out->error, sizeof out->error, r->element[3]);
    copy_text(out->message, sizeof out->message, r->element[4]);
    copy_text(out->result, sizeof out->result, r->element[5]);
    copy_text(out->node, sizeof out->node, r->element[6]);
    out->progress = atof(text_of(r->element[7]));
    out->created = atof(text_of(r->element[8]));
    out->started = atof(text_of(r->element[9]));
    out->finished = atof(text_of(r->element[10]));
    out->cancel = strcmp(text_of(r->element[11]), "1") == 0;
    drop(r);
    return 0;
}

static void remote_state_of(const job_record *rec, orfeas_remote_state *st)
{
    memset(st, 0, sizeof *st);
    st->state = state_parse(rec->state);
    st->progress = rec->progress;
    st->stage = rec->stage[0] ? rec->stage : "queued";
    st->created = rec->created;
    st->started = rec->started;
    st->finished = rec->finished;
    orfeas_format f = ORFEAS_FORMAT_STL;
    if (rec->format[0] && orfeas_format_parse(rec->format, &f) == 0) st->format = f;
}

/* A finished record settles the local job: completed ones with the bytes
 * fetched from where the record says. 0 when settled (or nothing to do),
 * ORFEAS_EIO to try again later. */
static int settle_from(orfeas_cluster *c, redis_link *l, orfeas_job *job, const job_record *rec)
{
    orfeas_job_state state = state_parse(rec->state);
    if (state == ORFEAS_JOB_QUEUED || state == ORFEAS_JOB_RUNNING) {
        orfeas_remote_state st;
        remote_state_of(rec, &st);
        orfeas_scheduler_remote_update(c->sched, job, &st);
        return 0;
    }
    if (state != ORFEAS_JOB_COMPLETED) {
        orfeas_scheduler_settle(c->sched, job, state, orfeas_error_from_code(rec->error),
                                rec->message, NULL, NULL, 0);
        return 0;
    }
    if (strncmp(rec->result, "orfeas:", 7) != 0) {
        /* Above --redis-max-result: the bytes stayed on the node that ran it. */
        char msg[200];
        snprintf(msg, sizeof msg, "the result is kept only on node %s", rec->node);
        orfeas_scheduler_settle(c->sched, job, ORFEAS_JOB_COMPLETED, 0, msg, NULL, NULL, 0);
        return 0;
    }
    redisReply *r = cmdf(c, l, "GET %s", rec->result);
    if (is_error(r)) {
        drop(r);
        return ORFEAS_EIO;
    }
    orfeas_cache_entry *e = NULL;
    if (r->type == REDIS_REPLY_STRING) {
        uint8_t *file = malloc(r->len ? r->len : 1);
        if (file) {
            memcpy(file, r->str, r->len);
            if (orfeas_cache_entry_decode(file, r->len, &e))
                ORFEAS_WARN("cluster: the result of job %s failed its check", orfeas_job_id(job));
        }
    }
    drop(r);
    if (!e) {
        orfeas_scheduler_settle(c->sched, job, ORFEAS_JOB_FAILED, ORFEAS_ENOTFOUND,
                                "the result is no longer in Redis (expired or evicted)", NULL, NULL,
                                0);
        return 0;
    }
    orfeas_scheduler_settle(c->sched, job, ORFEAS_JOB_COMPLETED, 0, NULL, &e->meta, e->data,
                            e->size);
    orfeas_cache_entry_unref(e);
    return 0;
}

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
    snprintf(created, sizeof created, "%.6f", unix_s());
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
    redis_link *l = acquire(c);
    redisContext *rctx = redis_link_get(l);
    if (!rctx) {
        release(c, l);
        mark(c, 0);
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
            redis_link_fail(l);
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
    mark(c, connected);
    if (rc && connected) drop(cmdf(c, l, "DEL %s", jk)); /* it runs here instead */
    release(c, l);
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
    if (orfeas_cache_entry_encode(&meta, data, size, unix_s(), &file, &file_size) == 0) {
        char ttl[24];
        snprintf(ttl, sizeof ttl, "%d", c->retention_s > 0 ? c->retention_s : 86400);
        const char *argv[] = {"SET", where, (const char *)file, "EX", ttl};
        size_t lens[] = {3, strlen(where), file_size, 2, strlen(ttl)};
        drop(cmd(c, l, 5, argv, lens));
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
    redis_link *l = acquire(c);
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
        set = finish_record(c, l, snap.id, key, fields, 20);
        atomic_fetch_add(&c->completed, 1);
    } else {
        snprintf(code, sizeof code, "%s", orfeas_error_code(snap.error));
        const char *fields[] = {"state",    orfeas_job_state_name(snap.state),
                                "stage",    "done",
                                "finished", finished,
                                "node",     c->node_id,
                                "error",    code,
                                "message",  snap.error_message};
        set = finish_record(c, l, snap.id, key, fields, 12);
    }
    /* Acknowledged once the outcome is stored: a crash before this line
     * leaves the entry pending, and another node runs it again. */
    if (set >= 0) ack(c, l, orfeas_job_tag(job));
    release(c, l);
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
    snprintf(now, sizeof now, "%.6f", unix_s());
    snprintf(retention, sizeof retention, "%d", c->retention_s > 0 ? c->retention_s : 86400);
    const char *argv[] = {"EVAL", cancel_lua, "2", jk, ik, now, retention, id};
    redis_link *l = acquire(c);
    redisReply *r = cmd(c, l, 8, argv, NULL);
    job_record rec;
    /* Settled at once when it had not started anywhere. */
    if (!is_error(r) && r->type == REDIS_REPLY_INTEGER && r->integer == 1 &&
        record_get(c, l, id, &rec) == 0)
        settle_from(c, l, job, &rec);
    drop(r);
    release(c, l);
}

static orfeas_job *hook_lookup(void *ctx, const char *id)
{
    orfeas_cluster *c = ctx;
    job_record rec;
    redis_link *l = acquire(c);
    orfeas_job *job = NULL;
    if (record_get(c, l, id, &rec) == 0) {
        orfeas_remote_state st;
        remote_state_of(&rec, &st);
        if (orfeas_scheduler_track(c->sched, id, &st, &job) == 0) settle_from(c, l, job, &rec);
    }
    release(c, l);
    return job;
}

static int hook_claim_key(void *ctx, const char *key, const char *job_id, char other[37])
{
    orfeas_cluster *c = ctx;
    char ik[96];
    inflight_key(ik, sizeof ik, key);
    redis_link *l = acquire(c);
    int found = 0;
    for (int attempt = 0; attempt < 2 && !found; attempt++) {
        redisReply *r = cmdf(c, l, "SET %s %s NX PX %d", ik, job_id, INFLIGHT_TTL_MS);
        int claimed = !is_error(r) && r->type == REDIS_REPLY_STATUS;
        int failed = is_error(r);
        drop(r);
        if (claimed || failed) break;
        r = cmdf(c, l, "GET %s", ik);
        if (!is_error(r) && r->type == REDIS_REPLY_STRING && r->len == 36) {
            memcpy(other, r->str, 36);
            other[36] = '\0';
            char jk[64];
            job_key(jk, sizeof jk, other);
            /* The claimer writes its record right after claiming: give it a
             * moment. A claim whose job never made it (refused) is taken over. */
            for (int wait = 0; wait < 10 && !found; wait++) {
                if (wait) sleep_ms(50);
                redisReply *e = cmdf(c, l, "EXISTS %s", jk);
                found = !is_error(e) && e->type == REDIS_REPLY_INTEGER && e->integer == 1;
                drop(e);
            }
            if (!found)
                drop(cmdf(c, l, "EVAL %s 1 %s %s",
                          "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                          "return redis.call('DEL', KEYS[1]) end return 0",
                          ik, other));
        }
        drop(r);
    }
    release(c, l);
    return found;
}

/* --- the cache's shared tier --- */

static int remote_get(void *ctx, const char *key, uint8_t **file, size_t *size)
{
    orfeas_cluster *c = ctx;
    redis_link *l = acquire(c);
    redisReply *r = cmdf(c, l, "GET orfeas:cache:%s", key);
    release(c, l);
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
    redis_link *l = acquire(c);
    redisReply *r = cmd(c, l, c->cache_ttl_s > 0 ? 5 : 3, argv, lens);
    if (r && r->type == REDIS_REPLY_ERROR) ORFEAS_WARN("redis: caching %s: %s", key, r->str);
    drop(r);
    release(c, l);
}

static uint64_t remote_clear(void *ctx)
{
    orfeas_cluster *c = ctx;
    uint64_t n = 0;
    char cursor[32] = "0";
    redis_link *l = acquire(c);
    do {
        redisReply *r = cmdf(c, l, "SCAN %s MATCH orfeas:cache:* COUNT 500", cursor);
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
            redisReply *d = cmd(c, l, (int)nkeys + 1, argv, NULL);
            if (!is_error(d) && d->type == REDIS_REPLY_INTEGER) n += (uint64_t)d->integer;
            drop(d);
            free(argv);
        }
        drop(r);
    } while (strcmp(cursor, "0") != 0);
    release(c, l);
    return n;
}

/* --- the puller --- */

/* The inputs of a job accepted elsewhere. */
static int fetch_request(orfeas_cluster *c, redis_link *l, const char *id, orfeas_job_request *req)
{
    memset(req, 0, sizeof *req);
    char jk[64];
    job_key(jk, sizeof jk, id);
    redisReply *r = cmdf(c, l, "HMGET %s params key image mask depth", jk);
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
    snprintf(finished, sizeof finished, "%.6f", unix_s());
    const char *fields[] = {"state",   "failed", "stage",    "done",  "finished",
                            finished,  "node",   c->node_id, "error", orfeas_error_code(err),
                            "message", message};
    finish_record(c, l, id, NULL, fields, 12);
}

/* One stream entry: run it here unless it is done, cancelled or cached. */
static void take(orfeas_cluster *c, redis_link *l, const char *msg, const char *id, int claimed)
{
    if (strlen(id) != 36) {
        ORFEAS_WARN("cluster: stream entry %s has no job id; dropped", msg);
        ack(c, l, msg);
        return;
    }
    char jk[64], ck[96] = "", ik[96], now[32], retention[24], key[80] = "";
    job_key(jk, sizeof jk, id);
    redisReply *k = cmdf(c, l, "HGET %s key", jk);
    copy_text(key, sizeof key, k);
    drop(k);
    if (key[0]) snprintf(ck, sizeof ck, "orfeas:cache:%s", key);
    inflight_key(ik, sizeof ik, key);
    snprintf(now, sizeof now, "%.6f", unix_s());
    snprintf(retention, sizeof retention, "%d", c->retention_s > 0 ? c->retention_s : 86400);
    const char *argv[] = {"EVAL", start_lua, "3", jk, ck, ik, c->node_id, now, retention, id};
    redisReply *r = cmd(c, l, 10, argv, NULL);
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
        ack(c, l, msg);
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
            ack(c, l, msg);
            return;
        }
    }
    if (rc) atomic_fetch_sub(counter, 1);
    if (rc == 0) {
        ORFEAS_INFO("job %s taken from the cluster%s", id, claimed ? " (claimed)" : "");
    } else if (rc == ORFEAS_ENOTREADY) {
        ORFEAS_WARN("job %s: delivered again but it runs or ran here already; acknowledged", id);
        ack(c, l, msg);
    } else {
        /* Draining or out of memory: back in the queue for another node. */
        drop(cmdf(c, l, "HSET %s state queued stage queued", jk));
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

static void *puller_main(void *arg)
{
    orfeas_cluster *c = arg;
    redis_link l;
    link_init(c, &l);
    while (!atomic_load(&c->stop_intake)) {
        if (orfeas_scheduler_capacity(c->sched) <= 0) {
            sleep_ms(20);
            continue;
        }
        if (!redis_link_get(&l)) {
            mark(c, 0);
            sleep_ms(100);
            continue;
        }
        /* A dead node's entries first: they have waited longest. */
        redisReply *r = cmdf(c, &l, "XAUTOCLAIM %s %s %s %d 0-0 COUNT 1", STREAM, GROUP, c->node_id,
                             c->claim_after_ms);
        if (!is_error(r) && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
            r->element[1]->type == REDIS_REPLY_ARRAY && r->element[1]->elements > 0) {
            take_entries(c, &l, r->element[1], 1);
            drop(r);
            continue;
        }
        drop(r);
        r = cmdf(c, &l, "XREADGROUP GROUP %s %s COUNT 1 BLOCK %d STREAMS %s >", GROUP, c->node_id,
                 BLOCK_MS, STREAM);
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
    redis_link_close(&l);
    return NULL;
}

/* --- the keeper --- */

/* Jobs waited for here that run elsewhere: follow their records. */
static void watch_remote(orfeas_cluster *c, redis_link *l)
{
    orfeas_job *jobs[MAX_TRACKED];
    int n = orfeas_scheduler_collect(c->sched, 0, jobs, MAX_TRACKED);
    for (int i = 0; i < n; i++) {
        job_record rec;
        int rc = redis_link_get(l) ? record_get(c, l, orfeas_job_id(jobs[i]), &rec) : ORFEAS_EIO;
        if (rc == 0)
            settle_from(c, l, jobs[i], &rec);
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
        drop(cmdf(c, l, "XCLAIM %s %s %s 0 %s JUSTID", STREAM, GROUP, c->node_id,
                  orfeas_job_tag(job)));
        if (snap.state == ORFEAS_JOB_RUNNING)
            drop(cmdf(c, l, "HSET %s progress %s stage %s", jk, progress,
                      snap.stage ? snap.stage : "running"));
        redisReply *r = cmdf(c, l, "HGET %s cancel", jk);
        if (!is_error(r) && r->type == REDIS_REPLY_STRING && strcmp(r->str, "1") == 0)
            orfeas_scheduler_cancel(c->sched, job);
        drop(r);
        orfeas_job_unref(job);
    }
}

static void heartbeat(orfeas_cluster *c, redis_link *l)
{
    double now = unix_s();
    orfeas_cluster_view v;
    memset(&v, 0, sizeof v);
    v.nodes_alive = v.stream_length = v.pending = -1;
    drop(cmdf(c, l, "ZADD orfeas:nodes %.3f %s", now, c->node_id));
    drop(cmdf(c, l, "ZREMRANGEBYSCORE orfeas:nodes -inf %.3f", now - 86400));
    redisReply *r = cmdf(c, l, "ZCOUNT orfeas:nodes %.3f +inf", now - ALIVE_S);
    if (!is_error(r) && r->type == REDIS_REPLY_INTEGER) v.nodes_alive = r->integer;
    drop(r);
    r = cmdf(c, l, "XLEN %s", STREAM);
    if (!is_error(r) && r->type == REDIS_REPLY_INTEGER) v.stream_length = r->integer;
    drop(r);
    r = cmdf(c, l, "XPENDING %s %s", STREAM, GROUP);
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

static void *keeper_main(void *arg)
{
    orfeas_cluster *c = arg;
    redis_link l;
    link_init(c, &l);
    /* This node's entries are refreshed well within claim_after (every
     * second, or a third of it when shorter), so that only a dead node's
     * go idle long enough to be claimed. */
    int refresh_ms = c->claim_after_ms / 3 < HEARTBEAT_MS ? c->claim_after_ms / 3 : HEARTBEAT_MS;
    if (refresh_ms < WATCH_MS) refresh_ms = WATCH_MS;
    double next_refresh = 0, next_beat = 0;
    while (!atomic_load(&c->stop)) {
        /* Up or down is what the commands below find: a context still open
         * may be one whose server has gone (not known until it is used). */
        if (redis_link_get(&l)) {
            watch_remote(c, &l);
            double now = mono_ms();
            if (now >= next_refresh) {
                refresh_taken(c, &l);
                next_refresh = now + refresh_ms;
            }
            if (now >= next_beat) {
                heartbeat(c, &l);
                next_beat = now + HEARTBEAT_MS;
            }
        } else {
            mark(c, 0);
        }
        /* Woken early when a job ends somewhere (orfeas:done). */
        pthread_mutex_lock(&c->kick_mu);
        if (!c->kicked && !atomic_load(&c->stop)) {
            struct timespec until = deadline(WATCH_MS);
            pthread_cond_timedwait(&c->kick_cv, &c->kick_mu, &until);
        }
        c->kicked = 0;
        pthread_mutex_unlock(&c->kick_mu);
    }
    redis_link_close(&l);
    return NULL;
}

static void kick(orfeas_cluster *c)
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
static void *listener_main(void *arg)
{
    orfeas_cluster *c = arg;
    redis_link l;
    redis_link_init(&l, &c->url, TIMEOUT_MS);
    while (!atomic_load(&c->stop)) {
        redisContext *ctx = redis_link_get(&l);
        redisReply *r = ctx ? redisCommand(ctx, "SUBSCRIBE orfeas:done") : NULL;
        if (!r) {
            if (ctx) redis_link_fail(&l);
            sleep_ms(WATCH_MS);
            continue;
        }
        freeReplyObject(r);
        kick(c); /* whatever ended while unsubscribed */
        while (!atomic_load(&c->stop)) {
            void *reply = NULL;
            if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK) {
                redis_link_fail(&l);
                break;
            }
            if (reply) {
                kick(c);
                freeReplyObject(reply);
                continue;
            }
            struct pollfd pfd = {ctx->fd, POLLIN, 0};
            int n = poll(&pfd, 1, WATCH_MS);
            if (n == 0 || (n < 0 && errno == EINTR)) continue;
            if (n < 0 || redisBufferRead(ctx) != REDIS_OK) {
                redis_link_fail(&l);
                break;
            }
        }
    }
    redis_link_close(&l);
    return NULL;
}

/* --- lifetime --- */

int orfeas_cluster_start(const orfeas_cluster_config *config, orfeas_scheduler *sched,
                         orfeas_cache *cache, orfeas_cluster **out, char *err, size_t err_size)
{
    *out = NULL;
    orfeas_cluster *c = calloc(1, sizeof *c);
    if (!c) return ORFEAS_ENOMEM;
    int rc = redis_url_parse(config->url, &c->url, err, err_size);
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
        link_init(c, &c->pool[i]);
    snprintf(c->view.node_id, sizeof c->view.node_id, "%s", c->node_id);
    c->view.nodes_alive = c->view.stream_length = c->view.pending = -1;

    /* A first contact tells the operator at once whether Redis is there. */
    redis_link *l = acquire(c);
    int reachable = redis_link_get(l) != NULL;
    release(c, l);
    atomic_store(&c->up, reachable);
    if (reachable)
        ORFEAS_INFO("cluster: node %s on redis %s:%d/%d (claim after %d ms)", c->node_id,
                    c->url.host, c->url.port, c->url.db, c->claim_after_ms);
    else
        ORFEAS_WARN("cluster: redis %s:%d unreachable; serving locally (degraded) and retrying",
                    c->url.host, c->url.port);

    orfeas_scheduler_hooks hooks = {.ctx = c,
                                    .dispatch = hook_dispatch,
                                    .finished = hook_finished,
                                    .cancel = hook_cancel,
                                    .lookup = hook_lookup,
                                    .claim_key = hook_claim_key};
    orfeas_scheduler_set_hooks(sched, &hooks);
    orfeas_scheduler_hold(sched); /* the keeper may outlive its destroy */
    if (cache) {
        orfeas_cache_remote remote = {
            .ctx = c, .name = "redis", .get = remote_get, .put = remote_put, .clear = remote_clear};
        orfeas_cache_set_remote(cache, &remote);
    }
    if (pthread_create(&c->keeper, NULL, keeper_main, c) == 0) c->has_keeper = 1;
    if (pthread_create(&c->puller, NULL, puller_main, c) == 0) c->has_puller = 1;
    if (pthread_create(&c->listener, NULL, listener_main, c) == 0) c->has_listener = 1;
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
    kick(c);
    if (c->has_keeper) pthread_join(c->keeper, NULL);
    if (c->has_listener) pthread_join(c->listener, NULL);
    orfeas_scheduler_set_hooks(c->sched, NULL);
    orfeas_scheduler_release(c->sched);
    if (c->cache) orfeas_cache_set_remote(c->cache, NULL);
    for (int i = 0; i < POOL; i++)
        redis_link_close(&c->pool[i]);
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
