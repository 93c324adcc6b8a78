/* The scheduler's insides, shared by its files (private to src/jobs):
 *   job.c      the job object: ref/unref, wait, snapshot, result, accessors
 *   table.c    ids, the table of jobs by id, the finished ones and eviction
 *   worker.c   the queue, the worker threads (one run in named steps), the
 *              watchdog
 *   scheduler.c create, submit (with coalescing), cancel, destroy, counts
 *   restore.c  the jobs of the store back into the table at start
 *   remote.c   cluster mode: jobs waiting in or tracked from the cluster
 *   preview.c  previews: a job's quick lower-quality runs, in their lane
 *
 * Locking: one mutex (s->mu) guards the queue, the table and every job's
 * mutable state; condvars wake workers (work), waiters (done) and the
 * watchdog (watch). A finished job's mesh, result and thumbnail never change
 * again, so readers use them without the lock while holding a reference.
 * Functions named *_locked are called under s->mu.
 *
 * Lifetime: the scheduler's shared state (the mutex and condvars) is
 * reference counted too; every job holds a reference, so a handler still
 * holding a job after orfeas_scheduler_destroy can read and wait on it. */
#ifndef ORFEAS_JOBS_SCHEDULER_INTERNAL_H
#define ORFEAS_JOBS_SCHEDULER_INTERNAL_H

#include "orfeas/jobs.h"
#include "core/clock.h"

#include <pthread.h>
#include <time.h>

struct orfeas_job {
    atomic_int refs;
    orfeas_scheduler *s; /* holds a reference on the scheduler */
    char id[37];
    orfeas_job_request req; /* inputs, freed once the run is over */
    atomic_int cancel;
    int timed_out;
    orfeas_job_state state;
    double progress;
    const char *stage;
    int error;
    char error_message[200];
    orfeas_generate_stats stats;
    orfeas_mesh mesh;     /* kept for other formats and the thumbnail */
    orfeas_buffer result; /* in req.params.format */
    orfeas_buffer thumb;  /* rendered on first request */
    int thumb_ready;
    double created, started, finished; /* unix seconds */
    double deadline_ms;                /* monotonic; 0 = none */
    orfeas_job *qprev, *qnext;         /* the queue, while queued */
    orfeas_job *hnext;                 /* hash chain */
    orfeas_job *fnext;                 /* finished list, oldest first */
    uint64_t kept_bytes;               /* mesh + result, once finished */
    int interest;                      /* sync waiters (coalesced ones too) */
    int pinned;                        /* an async submit wants it regardless */
    uint32_t vertices, triangles;      /* of the result (kept across restarts) */
    int restored;                      /* loaded from the store: no mesh */
    int shutdown;                      /* cancelled by the shutdown: stays unfinished on disk */
    /* Cluster mode: 1 = dispatched from here and waiting in the cluster,
     * 2 = tracked (accepted elsewhere); 0 = runs here. */
    int remote;
    int from_stream;           /* handed in by the cluster: report the outcome back */
    int dispatching;           /* being offered to the cluster: no record there yet */
    char tag[48];              /* the cluster's handle (its stream entry) */
    orfeas_job *rprev, *rnext; /* the remote list, while remote and unfinished */
    /* A preview (preview.c) of parent (a reference): it waits in the lane,
     * not the queue, and its inputs are shared with its siblings. */
    orfeas_job *parent;
    struct orfeas_sched_inputs *shared;
};

struct orfeas_scheduler {
    atomic_int refs; /* the owner's plus one per job */
    pthread_mutex_t mu;
    pthread_cond_t work, done, watch;
    orfeas_scheduler_config config;
    orfeas_vram *vram;
    orfeas_scheduler_observer observer;
    orfeas_generate_fn generate;
    double timeout_ms;
    uint32_t keep_finished;
    int draining, stopping;
    /* queue */
    orfeas_job *qhead, *qtail;
    uint32_t queued;
    uint32_t running;
    orfeas_job **slots; /* per worker: the running job (for the watchdog) */
    /* table */
    orfeas_job **buckets;
    uint32_t bucket_mask;
    orfeas_job *fhead, *ftail;
    uint32_t finished_kept;
    uint64_t kept_bytes; /* of all finished jobs kept */
    uint64_t totals[5];
    pthread_t *threads;
    int nthreads;
    pthread_t watchdog;
    int has_watchdog;
    orfeas_scheduler_hooks hooks; /* cluster mode when dispatch is set */
    uint32_t awaiting;            /* dispatched from here, not yet run or settled */
    orfeas_job *rhead;            /* unfinished remote jobs */
    /* previews: their lane (ahead of the queue) and how many run; neither
     * counts in queued, running or the totals */
    orfeas_job *phead, *ptail;
    uint32_t previews_queued, previews_running;
};

/* --- job.c --- */
/* Drops a reference on the shared state; the last one frees it. */
void orfeas_sched_unref(orfeas_scheduler *s);
/* A new job's fixed part: the table's reference, no cancel, s; id copied
 * when given. */
void orfeas_sched_job_init(orfeas_job *job, orfeas_scheduler *s, const char *id);
void orfeas_sched_set_error(orfeas_job *job, int err, const char *message);
/* The request's inputs as the pipeline takes them. */
orfeas_input orfeas_sched_input_of(const orfeas_job_request *req);
/* Frees the job's inputs (a preview drops its share of them). */
void orfeas_sched_release_inputs(orfeas_job *job);

/* --- table.c --- */
/* A version-4 UUID from the kernel's random bits. */
int orfeas_sched_make_id(char out[37]);
void orfeas_sched_table_insert(orfeas_scheduler *s, orfeas_job *job);
orfeas_job *orfeas_sched_table_find_locked(orfeas_scheduler *s, const char *id);
/* Marks a job finished, keeps it among the finished ones, evicts the oldest
 * beyond the limit (their table reference dropped after unlocking: the
 * caller passes them back through *evicted) and wakes waiters. */
void orfeas_sched_finish_locked(orfeas_scheduler *s, orfeas_job *job, orfeas_job_state state,
                                orfeas_job **evicted);
/* Appends a finished job to the kept ones (evicting as above). */
void orfeas_sched_keep_locked(orfeas_scheduler *s, orfeas_job *job, orfeas_job **evicted);
/* Drops the references of an evicted list (linked through fnext). */
void orfeas_sched_unref_list(orfeas_job *list);

/* --- scheduler.c --- */
/* A queued job (or preview) leaves its queue as cancelled. */
void orfeas_sched_cancel_queued_locked(orfeas_scheduler *s, orfeas_job *job, const char *why,
                                       orfeas_job **evicted);

/* --- worker.c --- */
/* Into and out of the queue, or the lane for a preview. */
void orfeas_sched_queue_push(orfeas_scheduler *s, orfeas_job *job);
void orfeas_sched_queue_remove(orfeas_scheduler *s, orfeas_job *job);
/* Starts the workers and, with a timeout, the watchdog; on failure the
 * caller destroys the scheduler (s->nthreads counts those started). */
int orfeas_sched_start_threads(orfeas_scheduler *s);

/* --- restore.c --- */
/* Loads the stored jobs (none without a store). */
int orfeas_sched_restore(orfeas_scheduler *s);

/* --- remote.c --- */
void orfeas_sched_remote_push(orfeas_scheduler *s, orfeas_job *job, int kind);
/* Leaves the remote list (it runs here now, or it is settled); the flag
 * stays 2 for a settled tracked job, whose mesh is elsewhere. */
void orfeas_sched_remote_leave(orfeas_scheduler *s, orfeas_job *job, int keep_flag);
/* The job another node computes this key with, if it can be joined (a
 * reference), else NULL. */
orfeas_job *orfeas_sched_claimed_elsewhere(orfeas_scheduler *s, const char *key, const char *id);
/* Offers a new job to the cluster; back to the local queue when it cannot
 * take it. */
void orfeas_sched_dispatch(orfeas_scheduler *s, orfeas_job *job);

/* --- preview.c --- */
/* count previews of req's inputs (one shared copy) at params[i], not yet
 * queued; each holds the lane's reference. */
int orfeas_sched_previews_make(orfeas_scheduler *s, const orfeas_job_request *req,
                               const orfeas_params *params, int count, orfeas_job **out);
/* Frees previews made but never queued. */
void orfeas_sched_previews_discard(orfeas_job **previews, int count);
/* Queues the previews of parent in the lane; out[i]: the caller's
 * references. */
void orfeas_sched_previews_push_locked(orfeas_scheduler *s, orfeas_job *parent,
                                       orfeas_job **previews, int count, orfeas_job **out);
/* The next job a free worker takes: the oldest preview whose parent has
 * no other preview running, else the oldest queued job; NULL when none. */
orfeas_job *orfeas_sched_next_locked(orfeas_scheduler *s);
/* A job finished: its previews not yet started are dropped (cancelled). */
void orfeas_sched_previews_drop_locked(orfeas_scheduler *s, orfeas_job *parent,
                                       orfeas_job **evicted);

#endif
