/* A job's record in Redis (orfeas:job:<id>): read it, settle a local job
 * from it, end it (the first outcome stands) and acknowledge its stream
 * entry. */
#include "cluster/cluster_internal.h"

#include "orfeas/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static orfeas_job_state state_parse(const char *name)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(name, orfeas_job_state_name((orfeas_job_state)i)) == 0)
            return (orfeas_job_state)i;
    return ORFEAS_JOB_FAILED;
}

/* --- the end of a job (an atomic change of its hash) --- */

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

int orfeas_cluster_finish_record(orfeas_cluster *c, redis_link *l, const char *id,
                                 const char *cache_key, const char **fields, int nfields)
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
    redisReply *r = orfeas_cluster_cmd(c, l, argc, argv, NULL);
    int rc = is_error(r) ? -1 : r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    if (r && r->type == REDIS_REPLY_ERROR) ORFEAS_WARN("redis: finishing job %s: %s", id, r->str);
    drop(r);
    return rc;
}

void orfeas_cluster_ack(orfeas_cluster *c, redis_link *l, const char *msg)
{
    if (!msg || !msg[0]) return;
    drop(orfeas_cluster_cmdf(c, l, "XACK %s %s %s", STREAM, GROUP, msg));
    drop(orfeas_cluster_cmdf(c, l, "XDEL %s %s", STREAM, msg));
}

/* --- the job record --- */

int orfeas_cluster_record_get(orfeas_cluster *c, redis_link *l, const char *id, job_record *out)
{
    memset(out, 0, sizeof *out);
    char jk[64];
    job_key(jk, sizeof jk, id);
    redisReply *r = orfeas_cluster_cmdf(
        c, l,
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

void orfeas_cluster_remote_state_of(const job_record *rec, orfeas_remote_state *st)
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

int orfeas_cluster_settle_from(orfeas_cluster *c, redis_link *l, orfeas_job *job,
                               const job_record *rec)
{
    orfeas_job_state state = state_parse(rec->state);
    if (state == ORFEAS_JOB_QUEUED || state == ORFEAS_JOB_RUNNING) {
        orfeas_remote_state st;
        orfeas_cluster_remote_state_of(rec, &st);
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
    redisReply *r = orfeas_cluster_cmdf(c, l, "GET %s", rec->result);
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
