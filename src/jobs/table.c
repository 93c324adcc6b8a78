/* Ids and the table of jobs by id: a hash of chains that also keeps the
 * most recent finished jobs, bounded in count and in bytes. */
#include "jobs/scheduler_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* 122 random bits from the kernel, as a version-4 UUID in lowercase. */
int orfeas_sched_make_id(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ORFEAS_EIO;
        }
        got += (size_t)n;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

static uint32_t hash_id(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

void orfeas_sched_table_insert(orfeas_scheduler *s, orfeas_job *job)
{
    uint32_t b = hash_id(job->id) & s->bucket_mask;
    job->hnext = s->buckets[b];
    s->buckets[b] = job;
}

static void table_remove(orfeas_scheduler *s, orfeas_job *job)
{
    orfeas_job **p = &s->buckets[hash_id(job->id) & s->bucket_mask];
    while (*p && *p != job)
        p = &(*p)->hnext;
    if (*p) *p = job->hnext;
    job->hnext = NULL;
}

orfeas_job *orfeas_sched_table_find_locked(orfeas_scheduler *s, const char *id)
{
    orfeas_job *job = s->buckets[hash_id(id) & s->bucket_mask];
    while (job && strcmp(job->id, id) != 0)
        job = job->hnext;
    return job;
}

void orfeas_sched_finish_locked(orfeas_scheduler *s, orfeas_job *job, orfeas_job_state state,
                                orfeas_job **evicted)
{
    job->state = state;
    job->finished = orfeas_clock_unix_s();
    job->stage = "done";
    if (state == ORFEAS_JOB_COMPLETED) job->progress = 100;
    if (job->parent) {
        /* A preview is not kept: the lane's reference goes. */
        job->fnext = *evicted;
        *evicted = job;
        pthread_cond_broadcast(&s->done);
        return;
    }
    s->totals[state]++;
    if (s->phead) orfeas_sched_previews_drop_locked(s, job, evicted);
    orfeas_sched_keep_locked(s, job, evicted);
}

/* Appends a finished job to the kept ones. */
void orfeas_sched_keep_locked(orfeas_scheduler *s, orfeas_job *job, orfeas_job **evicted)
{
    job->fnext = NULL;
    if (s->ftail)
        s->ftail->fnext = job;
    else
        s->fhead = job;
    s->ftail = job;
    s->finished_kept++;
    job->kept_bytes = (uint64_t)job->mesh.vertex_count * 16 +
                      (uint64_t)job->mesh.triangle_count * 12 + job->result.size;
    s->kept_bytes += job->kept_bytes;
    /* Bounded both in count and in bytes (a quality-10 mesh and its file
     * take tens of MB); the newest job always stays. */
    while ((s->finished_kept > s->keep_finished || s->kept_bytes > ORFEAS_SCHEDULER_KEEP_BYTES) &&
           s->fhead && s->fhead != job) {
        orfeas_job *old = s->fhead;
        s->fhead = old->fnext;
        if (!s->fhead) s->ftail = NULL;
        s->finished_kept--;
        s->kept_bytes -= old->kept_bytes;
        table_remove(s, old);
        old->fnext = *evicted;
        *evicted = old;
    }
    pthread_cond_broadcast(&s->done);
}

void orfeas_sched_unref_list(orfeas_job *list)
{
    while (list) {
        orfeas_job *next = list->fnext;
        orfeas_job_unref(list);
        list = next;
    }
}

orfeas_job *orfeas_scheduler_find(orfeas_scheduler *s, const char *id)
{
    if (!id) return NULL;
    pthread_mutex_lock(&s->mu);
    orfeas_job *job = orfeas_sched_table_find_locked(s, id);
    orfeas_job_ref(job);
    pthread_mutex_unlock(&s->mu);
    if (!job && s->hooks.lookup) job = s->hooks.lookup(s->hooks.ctx, id);
    return job;
}

static int by_created_desc(const void *a, const void *b)
{
    const orfeas_job_snapshot *x = a, *y = b;
    if (x->created != y->created) return x->created < y->created ? 1 : -1;
    return strcmp(x->id, y->id);
}

int orfeas_scheduler_list(orfeas_scheduler *s, orfeas_job_snapshot *out, int max)
{
    if (!s || max < 0 || (max > 0 && !out)) return ORFEAS_EINVAL;
    if (max == 0) return 0;
    /* Take a reference on every job in the table, then snapshot them
     * unlocked (orfeas_job_snapshot_get locks) and keep the newest. */
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (uint32_t b = 0; b <= s->bucket_mask; b++)
        for (orfeas_job *job = s->buckets[b]; job; job = job->hnext)
            n++;
    orfeas_job **jobs = n ? malloc(n * sizeof *jobs) : NULL;
    if (!jobs) {
        pthread_mutex_unlock(&s->mu);
        return n ? ORFEAS_ENOMEM : 0;
    }
    size_t k = 0;
    for (uint32_t b = 0; b <= s->bucket_mask; b++)
        for (orfeas_job *job = s->buckets[b]; job; job = job->hnext) {
            orfeas_job_ref(job);
            jobs[k++] = job;
        }
    pthread_mutex_unlock(&s->mu);
    orfeas_job_snapshot *all = malloc(n * sizeof *all);
    for (size_t i = 0; i < n; i++) {
        if (all) orfeas_job_snapshot_get(jobs[i], &all[i]);
        orfeas_job_unref(jobs[i]);
    }
    free(jobs);
    if (!all) return ORFEAS_ENOMEM;
    qsort(all, n, sizeof *all, by_created_desc);
    int count = n < (size_t)max ? (int)n : max;
    if (count) memcpy(out, all, (size_t)count * sizeof *out);
    free(all);
    return count;
}
