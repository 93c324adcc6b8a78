/* At start, the jobs of the store back into the table: finished ones
 * readable again, unfinished ones queued to run again. */
#include "jobs/scheduler_internal.h"
#include "jobs/store.h"

#include <stdlib.h>
#include <string.h>

/* One stored job back into the table: finished ones as they were (a
 * completed one with its result bytes), unfinished ones queued again. */
static void restore_job(void *ctx, orfeas_stored_job *sj)
{
    orfeas_scheduler *s = ctx;
    orfeas_job *job = calloc(1, sizeof *job);
    if (!job) {
        ORFEAS_ERROR("restoring job %s: out of memory", sj->id);
        return;
    }
    orfeas_sched_job_init(job, s, sj->id);
    job->created = sj->created;
    job->req.params = sj->req.params;
    memcpy(job->req.cache_key, sj->req.cache_key, sizeof job->req.cache_key);
    orfeas_job *evicted = NULL;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_lock(&s->mu);
    orfeas_sched_table_insert(s, job);
    if (sj->state == ORFEAS_JOB_QUEUED) {
        job->req = sj->req; /* takes the inputs */
        memset(&sj->req, 0, sizeof sj->req);
        job->state = ORFEAS_JOB_QUEUED;
        job->stage = "queued";
        job->pinned = 1; /* no waiter left to abandon it */
        orfeas_sched_queue_push(s, job);
        pthread_cond_signal(&s->work);
    } else {
        job->state = sj->state;
        job->started = sj->started;
        job->finished = sj->finished;
        job->stage = "done";
        job->restored = 1;
        if (sj->state == ORFEAS_JOB_COMPLETED) {
            job->progress = 100;
            job->result = (orfeas_buffer){sj->result, sj->result_size, sj->result_size};
            sj->result = NULL;
            orfeas_result_meta_to_stats(&sj->meta, &job->stats);
            job->vertices = sj->meta.vertices;
            job->triangles = sj->meta.triangles;
        } else {
            job->error = sj->error ? sj->error : ORFEAS_EINTERNAL;
            memcpy(job->error_message, sj->error_message, sizeof job->error_message);
        }
        orfeas_sched_keep_locked(s, job, &evicted);
    }
    pthread_mutex_unlock(&s->mu);
    orfeas_sched_unref_list(evicted);
    /* sj's id: a worker may already have taken the job. */
    ORFEAS_INFO("job %s restored (%s)", sj->id,
                sj->state == ORFEAS_JOB_QUEUED ? "runs again" : orfeas_job_state_name(sj->state));
}

int orfeas_sched_restore(orfeas_scheduler *s)
{
    if (!s->config.store) return 0;
    return orfeas_store_load(s->config.store, (int)s->keep_finished, restore_job, s);
}
