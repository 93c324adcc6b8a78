/* Persistence of jobs: one SQLite database (WAL, busy timeout) at
 * <data-dir>/orfeas.db with a row per job (state, times, canonical
 * parameters, input and result hashes, error), and content-addressed files
 * <data-dir>/blobs/<aa>/<sha256> for the inputs and results, written
 * atomically. Thread-safe (one connection behind a mutex). */
#ifndef ORFEAS_JOBS_STORE_H
#define ORFEAS_JOBS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "orfeas/cache.h"
#include "orfeas/jobs.h"

typedef struct orfeas_store orfeas_store;

/* Creates the directory layout and the schema. ORFEAS_EIO with a message
 * in err when the database cannot be opened. */
int orfeas_store_open(const char *data_dir, orfeas_store **out, char *err, size_t err_size);
void orfeas_store_close(orfeas_store *st);

/* An accepted job: its inputs become blobs, then the row (queued) is
 * committed. ORFEAS_ENOSPACE on a full disk, ORFEAS_EIO else. */
int orfeas_store_job_add(orfeas_store *st, const char *id, double created,
                         const orfeas_job_request *req);
int orfeas_store_job_started(orfeas_store *st, const char *id, double started);
/* The result becomes a blob, then the row says completed. */
int orfeas_store_job_completed(orfeas_store *st, const char *id, double finished,
                               const orfeas_result_meta *meta, const uint8_t *data, size_t size);
int orfeas_store_job_finished(orfeas_store *st, const char *id, orfeas_job_state state,
                              double finished, int error, const char *message);
int orfeas_store_job_delete(orfeas_store *st, const char *id);

/* A job as loaded at startup. */
typedef struct orfeas_stored_job {
    char id[37];
    orfeas_job_state state; /* as stored; unfinished ones come with their inputs */
    double created, started, finished;
    orfeas_job_request req; /* params always; inputs for unfinished ones (owned) */
    int error;
    char error_message[200];
    orfeas_result_meta meta; /* completed */
    uint8_t *result;         /* completed and its file intact (owned); else NULL */
    size_t result_size;
} orfeas_stored_job;

/* Calls visit for every unfinished job and for the newest keep_finished
 * finished ones, oldest first. visit takes over the buffers (req's and
 * result; it sets them to NULL when it keeps them). A completed job whose
 * result file is missing or fails its hash comes back queued with its
 * inputs (it runs again); one whose inputs are gone too comes back failed. */
int orfeas_store_load(orfeas_store *st, int keep_finished,
                      void (*visit)(void *ctx, orfeas_stored_job *job), void *ctx);

#endif
