/* Jobs and the scheduler: a bounded queue, worker threads, per-job state,
 * progress, cancel and timeout. Jobs are reference counted: every pointer
 * handed out holds a reference the caller drops with orfeas_job_unref. */
#ifndef ORFEAS_JOBS_H
#define ORFEAS_JOBS_H

#include <stdatomic.h>
#include <stdint.h>

#include "orfeas/orfeas.h"

typedef enum orfeas_job_state {
    ORFEAS_JOB_QUEUED = 0,
    ORFEAS_JOB_RUNNING,
    ORFEAS_JOB_COMPLETED,
    ORFEAS_JOB_FAILED,
    ORFEAS_JOB_CANCELLED
} orfeas_job_state;

const char *orfeas_job_state_name(orfeas_job_state state);

/* What a job is asked to do; the scheduler takes ownership of the buffers
 * (malloc'd) on submit, whatever the result. */
typedef struct orfeas_job_request {
    uint8_t *image, *mask, *depth;
    size_t image_size, mask_size, depth_size;
    orfeas_params params;
    /* Optional dedup key (cache/key.h): an identical keyed job still queued
     * or running is shared instead of run again, and the result is stored
     * in the cache. Empty: neither. */
    char cache_key[65];
    /* Cluster mode: run it on this node (a progressive stream needs the
     * mesh here), never through the cluster. */
    int local;
} orfeas_job_request;
void orfeas_job_request_free(orfeas_job_request *req);
/* The request's cache key (orfeas_cache_key over its parameters and inputs;
 * depth_model_id may be NULL) into out, e.g. req->cache_key. 0,
 * ORFEAS_EINVAL or ORFEAS_EINTERNAL; out is empty on failure. */
int orfeas_job_request_key(const orfeas_job_request *req, const char *depth_model_id, char out[65]);

typedef struct orfeas_job orfeas_job;
typedef struct orfeas_scheduler orfeas_scheduler;

typedef struct orfeas_scheduler_config {
    int workers;       /* threads running jobs */
    int queue_max;     /* queued (not yet running) jobs at most */
    int job_timeout_s; /* 0 = none */
    orfeas_decode_limits limits;
    struct orfeas_cache *cache; /* optional: results of keyed jobs go there */
    /* Optional (jobs/store.h): every job is persisted on submit, start and
     * finish, and the scheduler starts with the stored ones: finished ones
     * readable again, unfinished ones queued to run again. */
    struct orfeas_store *store;
    /* Optional: the depth model every job may use (read-only, shared). */
    const struct orfeas_depth_model *depth_model;
} orfeas_scheduler_config;

/* Finished jobs kept for lookups by default; the oldest beyond are evicted. */
#define ORFEAS_SCHEDULER_KEEP_FINISHED 1000
/* Bytes of meshes and results kept for finished jobs at most (oldest go first). */
#define ORFEAS_SCHEDULER_KEEP_BYTES ((uint64_t)512 << 20)

/* The pipeline's signature (orfeas_generate). */
typedef int (*orfeas_generate_fn)(const orfeas_input *input, const orfeas_params *params,
                                  const orfeas_generate_options *options, orfeas_mesh *mesh,
                                  orfeas_generate_stats *stats);

/* Less common knobs, mostly for tests; zero means the default. */
typedef struct orfeas_scheduler_tuning {
    int keep_finished;           /* 0 = ORFEAS_SCHEDULER_KEEP_FINISHED */
    int job_timeout_ms;          /* > 0 overrides config->job_timeout_s */
    orfeas_generate_fn generate; /* NULL = orfeas_generate */
} orfeas_scheduler_tuning;

/* Who hears of what the scheduler does (the server's metrics): set at
 * create, called without the lock; any callback may be NULL. */
typedef struct orfeas_scheduler_observer {
    void *ud;
    /* Every run here ends with its stats and err (0: completed), before the
     * job is marked finished. */
    void (*generation)(void *ud, const orfeas_generate_stats *stats, int err);
} orfeas_scheduler_observer;

/* vram may be NULL (host memory). observer may be NULL (copied). */
int orfeas_scheduler_create(const orfeas_scheduler_config *config, orfeas_vram *vram,
                            const orfeas_scheduler_observer *observer, orfeas_scheduler **out);
/* The same with tuning (may be NULL). */
int orfeas_scheduler_create_tuned(const orfeas_scheduler_config *config,
                                  const orfeas_scheduler_tuning *tuning, orfeas_vram *vram,
                                  const orfeas_scheduler_observer *observer,
                                  orfeas_scheduler **out);
/* Stops taking jobs and cancels the queued ones at once, waits up to grace_s
 * for running ones, cancels the rest, joins the workers and drops the
 * scheduler. Jobs still referenced stay readable (snapshot, result, wait)
 * after it returns: every job holds the scheduler's shared state alive. */
void orfeas_scheduler_destroy(orfeas_scheduler *s, int grace_s);

/* ORFEAS_EBUSY when the queue is full or the scheduler is draining. The
 * request's buffers are taken over (and *req zeroed) whatever the result.
 * job may be NULL when the caller needs no reference. */
int orfeas_scheduler_submit(orfeas_scheduler *s, orfeas_job_request *req, orfeas_job **job);
/* The same with coalescing: when a job with the same cache_key is queued or
 * running (and not being cancelled), *job is that one, *attached is set and
 * the request is dropped. A pinned submit (the async route) keeps the job
 * alive whoever abandons it; a sync waiter that goes away calls
 * orfeas_scheduler_abandon instead of cancelling, so that it does not cancel
 * a job others wait for. */
int orfeas_scheduler_submit_shared(orfeas_scheduler *s, orfeas_job_request *req, int pinned,
                                   orfeas_job **job, int *attached);
/* A job with previews: quick runs of the same inputs at other parameters
 * (params[i]: lower qualities, for a progressive stream) to show while the
 * job runs. Admitted as one, like orfeas_scheduler_submit (the job counts
 * against queue_max, its previews do not), and run on this node (req->local
 * is set). The previews run on the workers, so `workers` bounds them too,
 * from a lane ahead of the queue: a free worker takes the oldest preview
 * whose job has no other preview running before the oldest queued job. So
 * a job's previews run one at a time, in order, the first as soon as a
 * worker is free, and the job alongside them when a second worker is. A
 * preview not started when its job finishes is dropped (cancelled). The
 * previews are the caller's alone (previews[i]: one reference each): not in
 * the table (find, list), not persisted, cached or coalesced, not counted in
 * the queue depth or the counts; their generations reach the observer like
 * any. count: 0..ORFEAS_SCHEDULER_MAX_PREVIEWS. */
#define ORFEAS_SCHEDULER_MAX_PREVIEWS 8
int orfeas_scheduler_submit_previews(orfeas_scheduler *s, orfeas_job_request *req,
                                     const orfeas_params *params, int count, orfeas_job **job,
                                     orfeas_job **previews);
/* One waiter fewer; the job is cancelled when none is left and no pinned
 * submit asked for it. */
void orfeas_scheduler_abandon(orfeas_scheduler *s, orfeas_job *job);
/* NULL when unknown. */
orfeas_job *orfeas_scheduler_find(orfeas_scheduler *s, const char *id);
/* Sets the cancel flag; a queued job is cancelled at once. 0 also when the
 * job had already finished (its state says how). */
int orfeas_scheduler_cancel(orfeas_scheduler *s, orfeas_job *job);
uint32_t orfeas_scheduler_queue_depth(orfeas_scheduler *s);
/* By orfeas_job_state: queued and running now; completed, failed and
 * cancelled since start (eviction does not lower them). */
void orfeas_scheduler_counts(orfeas_scheduler *s, uint64_t counts[5]);
/* Refuses new jobs from now on (shutdown). */
void orfeas_scheduler_drain(orfeas_scheduler *s);

void orfeas_job_ref(orfeas_job *job);
void orfeas_job_unref(orfeas_job *job);
/* Blocks until the job is finished (completed, failed or cancelled);
 * timeout_ms < 0 waits for ever. 0 when finished, ORFEAS_ETIMEOUT else. */
int orfeas_job_wait(orfeas_job *job, int timeout_ms);

typedef struct orfeas_job_snapshot {
    char id[37];
    orfeas_job_state state;
    double progress;         /* 0..100 */
    const char *stage;       /* "queued", a pipeline stage, "export" or "done" */
    uint32_t queue_position; /* 1-based while queued, else 0 */
    int error;               /* ORFEAS_E* when failed */
    char error_message[200];
    orfeas_format format;
    orfeas_generate_stats stats; /* when completed */
    uint32_t vertices, triangles;
    size_t result_size;
    double created, started, finished; /* unix seconds; 0 when not yet */
} orfeas_job_snapshot;
void orfeas_job_snapshot_get(orfeas_job *job, orfeas_job_snapshot *out);
/* Snapshots of up to max jobs the scheduler knows (queued, running and the
 * finished ones kept), most recently created first. Returns how many were
 * written, or a negative ORFEAS_E* code. */
int orfeas_scheduler_list(orfeas_scheduler *s, orfeas_job_snapshot *out, int max);

/* The result bytes in the job's format, valid while the caller holds its
 * reference; ORFEAS_ENOTREADY while queued or running, the job's error when
 * it failed or was cancelled. The same for export and thumbnail. */
int orfeas_job_result(orfeas_job *job, const uint8_t **data, size_t *size);
/* The result in another format (exported from the kept mesh). A job
 * restored after a restart keeps only its result bytes, not its mesh:
 * ORFEAS_ENOTFOUND then (and for the thumbnail). */
int orfeas_job_export(orfeas_job *job, orfeas_format format, orfeas_buffer *out);
/* A PNG preview rendered from the kept mesh (cached after the first call). */
int orfeas_job_thumbnail(orfeas_job *job, const uint8_t **data, size_t *size);

/* --- cluster mode (src/cluster) ---
 * With hooks set, a new job is offered to the cluster (dispatch) instead of
 * the local queue and waits there as a "remote" job until the cluster either
 * runs it here (orfeas_scheduler_submit_stream) or settles it with the
 * outcome another node reached (orfeas_scheduler_settle). Jobs other nodes
 * accepted appear in the table through lookup (orfeas_scheduler_track). */
struct orfeas_result_meta;
typedef struct orfeas_scheduler_hooks {
    void *ctx;
    /* 0 when the cluster took the job; else it runs in the local queue.
     * Called without the lock, holding a reference. */
    int (*dispatch)(void *ctx, orfeas_job *job);
    /* A job handed in by the cluster ended here (not called when the
     * shutdown cancelled it: it stays pending for another node). */
    void (*finished)(void *ctx, orfeas_job *job);
    /* Cancel asked for a job that runs elsewhere (or waits in the cluster). */
    void (*cancel)(void *ctx, orfeas_job *job);
    /* An id not in the table: a tracked job for it, or NULL. */
    orfeas_job *(*lookup)(void *ctx, const char *id);
    /* A new keyed job: 1 and the id of the job computing the same key
     * elsewhere, or 0 after recording job_id as the one computing it. */
    int (*claim_key)(void *ctx, const char *key, const char *job_id, char other[37]);
} orfeas_scheduler_hooks;
/* Before any job is submitted. */
void orfeas_scheduler_set_hooks(orfeas_scheduler *s, const orfeas_scheduler_hooks *hooks);
/* Keeps the scheduler's memory valid past orfeas_scheduler_destroy (for a
 * thread that may still call it: after destroy it has no jobs and takes
 * none); every hold is released once. */
void orfeas_scheduler_hold(orfeas_scheduler *s);
void orfeas_scheduler_release(orfeas_scheduler *s);

/* Runs the job with this id here (tag: the cluster's handle for it, e.g. the
 * stream entry). A remote job known here takes req's inputs when given, or
 * keeps its own; with no job known, req creates one (pinned). ORFEAS_ENOTFOUND
 * when neither (fetch the inputs and call again), ORFEAS_ENOTREADY when the
 * job is not waiting any more (running here, finished, cancelled). A remote
 * job reported running is taken over (its node died). */
int orfeas_scheduler_submit_stream(orfeas_scheduler *s, orfeas_job_request *req, const char *id,
                                   const char *tag, orfeas_job **job);
/* Free workers (no local queue in front of them). */
int orfeas_scheduler_capacity(orfeas_scheduler *s);

/* A job known from the cluster, as another node reports it. */
typedef struct orfeas_remote_state {
    orfeas_job_state state;
    double progress;
    const char *stage; /* a pipeline stage name, "queued", "export" or "done" */
    double created, started, finished;
    orfeas_format format;
} orfeas_remote_state;
/* Adds a tracked job (or returns the one with this id already known). */
int orfeas_scheduler_track(orfeas_scheduler *s, const char *id, const orfeas_remote_state *st,
                           orfeas_job **job);
/* Progress of a remote job that is not finished. */
void orfeas_scheduler_remote_update(orfeas_scheduler *s, orfeas_job *job,
                                    const orfeas_remote_state *st);
/* Finishes a remote job: completed with its result bytes (copied) and meta,
 * or failed/cancelled with err and message. Waiters wake. */
void orfeas_scheduler_settle(orfeas_scheduler *s, orfeas_job *job, orfeas_job_state state, int err,
                             const char *message, const struct orfeas_result_meta *meta,
                             const uint8_t *data, size_t size);
/* References to up to max jobs: the unfinished remote ones (which = 0; not
 * those whose dispatch is still under way: their record may not exist yet)
 * or the unfinished ones the cluster handed in (which = 1). */
int orfeas_scheduler_collect(orfeas_scheduler *s, int which, orfeas_job **out, int max);

const char *orfeas_job_id(const orfeas_job *job);
const char *orfeas_job_tag(const orfeas_job *job);
/* The request (inputs valid until the job starts running). */
const orfeas_job_request *orfeas_job_request_of(const orfeas_job *job);
/* The shutdown cancelled it (it should run again elsewhere). */
int orfeas_job_stopped_by_shutdown(orfeas_job *job);
int orfeas_job_cancel_requested(orfeas_job *job);

#endif
