/* Jobs in SQLite, bytes in content-addressed files. A row is committed
 * only after the files it names are durable (atomic write: temp, fsync,
 * rename), so a crash at any point leaves either no row or a row whose
 * files exist. synchronous=FULL: a 202 means the job survives power loss
 * too, not only a process crash. */
#include "jobs/store.h"
#include "core/fs.h"
#include "cache/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct orfeas_store {
    pthread_mutex_t mu;
    sqlite3 *db;
    char dir[1024];
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS jobs ("
    " id TEXT PRIMARY KEY, state TEXT NOT NULL, created REAL NOT NULL,"
    " started REAL NOT NULL DEFAULT 0, finished REAL NOT NULL DEFAULT 0,"
    " params TEXT NOT NULL, cache_key TEXT NOT NULL DEFAULT '',"
    " image_hash TEXT, mask_hash TEXT, depth_hash TEXT,"
    " result_hash TEXT, result_meta BLOB,"
    " error_code INTEGER NOT NULL DEFAULT 0, error_message TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created);";

static int sql_error(orfeas_store *st, int rc, const char *what)
{
    ORFEAS_WARN("store: %s: %s", what, sqlite3_errmsg(st->db));
    return rc == SQLITE_FULL ? ORFEAS_ENOSPACE : ORFEAS_EIO;
}

/* orfeas_mkdir_p's errno as the store reports it. */
static int mkdir_p(const char *path)
{
    int e = orfeas_mkdir_p(path);
    return !e ? 0 : e == ENAMETOOLONG ? ORFEAS_EINVAL : e == ENOSPC ? ORFEAS_ENOSPACE : ORFEAS_EIO;
}

int orfeas_store_open(const char *data_dir, orfeas_store **out, char *err, size_t err_size)
{
    *out = NULL;
    orfeas_store *st = calloc(1, sizeof *st);
    if (!st) return ORFEAS_ENOMEM;
    if (pthread_mutex_init(&st->mu, NULL)) {
        free(st);
        return ORFEAS_EINTERNAL;
    }
    snprintf(st->dir, sizeof st->dir, "%s", data_dir);
    char path[1200];
    snprintf(path, sizeof path, "%s/blobs", data_dir);
    int rc = mkdir_p(path);
    if (rc) {
        snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
        orfeas_store_close(st);
        return rc;
    }
    snprintf(path, sizeof path, "%s/orfeas.db", data_dir);
    int src = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (src == SQLITE_OK) src = sqlite3_busy_timeout(st->db, 5000);
    if (src == SQLITE_OK)
        src = sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
                           NULL);
    if (src == SQLITE_OK) src = sqlite3_exec(st->db, schema, NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        snprintf(err, err_size, "cannot open the job database %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(src));
        orfeas_store_close(st);
        return src == SQLITE_FULL ? ORFEAS_ENOSPACE : ORFEAS_EIO;
    }
    *out = st;
    return 0;
}

void orfeas_store_close(orfeas_store *st)
{
    if (!st) return;
    if (st->db && sqlite3_close(st->db) != SQLITE_OK)
        ORFEAS_WARN("store: close: %s", sqlite3_errmsg(st->db));
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* --- blobs --- */

static void blob_path(const orfeas_store *st, const char *hash, char *out, size_t size)
{
    snprintf(out, size, "%s/blobs/%.2s/%s", st->dir, hash, hash);
}

/* Writes bytes under their hash (skipped when a file of that size is
 * there: same name, same content). hash gets the name; "" for no bytes. */
static int blob_put(orfeas_store *st, const uint8_t *data, size_t size, char hash[65])
{
    hash[0] = '\0';
    if (!data) return 0;
    int rc = orfeas_sha256_hex(data, size, hash);
    if (rc) return rc;
    char path[1200], sub[1200];
    blob_path(st, hash, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) == 0 && (size_t)sb.st_size == size) return 0;
    snprintf(sub, sizeof sub, "%s/blobs/%.2s", st->dir, hash);
    rc = mkdir_p(sub);
    if (!rc) rc = orfeas_write_file_atomic(path, data, size);
    return rc;
}

/* Reads a blob and checks it against its name. */
static int blob_get(const orfeas_store *st, const char *hash, uint8_t **out, size_t *size)
{
    *out = NULL;
    *size = 0;
    if (!hash || strlen(hash) != 64) return ORFEAS_ENOTFOUND;
    char path[1200];
    blob_path(st, hash, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ORFEAS_ENOTFOUND;
    struct stat sb;
    uint8_t *buf = NULL;
    size_t got = 0;
    if (fstat(fd, &sb) == 0 && (buf = malloc(sb.st_size ? (size_t)sb.st_size : 1))) {
        while (got < (size_t)sb.st_size) {
            ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += (size_t)n;
        }
    }
    close(fd);
    char check[65];
    if (!buf || got != (size_t)sb.st_size || orfeas_sha256_hex(buf, got, check) ||
        strcmp(check, hash) != 0) {
        ORFEAS_WARN("store: blob %s is missing or damaged", hash);
        free(buf);
        return ORFEAS_EIO;
    }
    *out = buf;
    *size = got;
    return 0;
}

/* --- rows --- */

static void bind_text_or_null(sqlite3_stmt *stmt, int i, const char *text)
{
    if (text && *text)
        sqlite3_bind_text(stmt, i, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, i);
}

int orfeas_store_job_add(orfeas_store *st, const char *id, double created,
                         const orfeas_job_request *req)
{
    if (!st) return 0;
    char params[1024], image[65], mask[65], depth[65];
    int rc = orfeas_params_canonical(&req->params, params, sizeof params);
    if (!rc) rc = blob_put(st, req->image, req->image_size, image);
    if (!rc) rc = blob_put(st, req->mask, req->mask_size, mask);
    if (!rc) rc = blob_put(st, req->depth, req->depth_size, depth);
    if (rc) return rc;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *stmt = NULL;
    int src = sqlite3_prepare_v2(st->db,
                                 "INSERT INTO jobs(id,state,created,params,cache_key,image_hash,"
                                 "mask_hash,depth_hash) VALUES(?,'queued',?,?,?,?,?,?)",
                                 -1, &stmt, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(stmt, 2, created);
        sqlite3_bind_text(stmt, 3, params, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 4, req->cache_key, -1, SQLITE_TRANSIENT);
        bind_text_or_null(stmt, 5, image);
        bind_text_or_null(stmt, 6, mask);
        bind_text_or_null(stmt, 7, depth);
        src = sqlite3_step(stmt);
    }
    rc = src == SQLITE_DONE ? 0 : sql_error(st, src, "adding a job");
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

/* One UPDATE with up to a few bound values. */
static int update(orfeas_store *st, const char *sql, const char *id, double t, const char *text,
                  int code, const void *blob, int blob_size)
{
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *stmt = NULL;
    int src = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    if (src == SQLITE_OK) {
        int n = sqlite3_bind_parameter_count(stmt);
        sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
        if (n >= 2) sqlite3_bind_double(stmt, 2, t);
        if (n >= 3) sqlite3_bind_text(stmt, 3, text ? text : "", -1, SQLITE_TRANSIENT);
        if (n >= 4) sqlite3_bind_int(stmt, 4, code);
        if (n >= 5) sqlite3_bind_blob(stmt, 5, blob, blob_size, SQLITE_TRANSIENT);
        src = sqlite3_step(stmt);
    }
    int rc = src == SQLITE_DONE ? 0 : sql_error(st, src, "updating a job");
    sqlite3_finalize(stmt);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int orfeas_store_job_started(orfeas_store *st, const char *id, double started)
{
    if (!st) return 0;
    return update(st, "UPDATE jobs SET state='running', started=?2 WHERE id=?1", id, started, NULL,
                  0, NULL, 0);
}

int orfeas_store_job_completed(orfeas_store *st, const char *id, double finished,
                               const orfeas_result_meta *meta, const uint8_t *data, size_t size)
{
    if (!st) return 0;
    char hash[65];
    int rc = blob_put(st, data ? data : (const uint8_t *)"", size, hash);
    if (rc) return rc;
    return update(st,
                  "UPDATE jobs SET state='completed', finished=?2, result_hash=?3, error_code=?4,"
                  " result_meta=?5 WHERE id=?1",
                  id, finished, hash, 0, meta, (int)sizeof *meta);
}

int orfeas_store_job_finished(orfeas_store *st, const char *id, orfeas_job_state state,
                              double finished, int error, const char *message)
{
    if (!st) return 0;
    const char *sql =
        state == ORFEAS_JOB_CANCELLED
            ? "UPDATE jobs SET state='cancelled', finished=?2, error_message=?3, error_code=?4"
              " WHERE id=?1"
            : "UPDATE jobs SET state='failed', finished=?2, error_message=?3, error_code=?4"
              " WHERE id=?1";
    return update(st, sql, id, finished, message, error, NULL, 0);
}

int orfeas_store_job_delete(orfeas_store *st, const char *id)
{
    if (!st) return 0;
    return update(st, "DELETE FROM jobs WHERE id=?1", id, 0, NULL, 0, NULL, 0);
}

/* --- loading --- */

static orfeas_job_state state_of(const char *name)
{
    static const char *const names[] = {"queued", "running", "completed", "failed", "cancelled"};
    for (int i = 0; i < 5; i++)
        if (name && strcmp(name, names[i]) == 0) return (orfeas_job_state)i;
    return ORFEAS_JOB_FAILED;
}

static int load_inputs(orfeas_store *st, sqlite3_stmt *row, orfeas_job_request *req)
{
    const char *image = (const char *)sqlite3_column_text(row, 7);
    const char *mask = (const char *)sqlite3_column_text(row, 8);
    const char *depth = (const char *)sqlite3_column_text(row, 9);
    int rc = blob_get(st, image, &req->image, &req->image_size);
    if (!rc && mask) rc = blob_get(st, mask, &req->mask, &req->mask_size);
    if (!rc && depth) rc = blob_get(st, depth, &req->depth, &req->depth_size);
    return rc;
}

int orfeas_store_load(orfeas_store *st, int keep_finished,
                      void (*visit)(void *ctx, orfeas_stored_job *job), void *ctx)
{
    if (!st) return 0;
    /* Unfinished ones all; finished ones the newest keep_finished; oldest
     * first so that the scheduler's finished list keeps its order. */
    static const char sql[] =
        "SELECT id,state,created,started,finished,params,cache_key,image_hash,mask_hash,"
        "depth_hash,result_hash,result_meta,error_code,error_message FROM jobs"
        " WHERE state IN ('queued','running') OR id IN (SELECT id FROM jobs WHERE state IN"
        " ('completed','failed','cancelled') ORDER BY created DESC LIMIT ?1)"
        " ORDER BY created ASC";
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *row = NULL;
    int src = sqlite3_prepare_v2(st->db, sql, -1, &row, NULL);
    if (src == SQLITE_OK) sqlite3_bind_int(row, 1, keep_finished);
    int loaded = 0;
    while (src == SQLITE_OK && (src = sqlite3_step(row)) == SQLITE_ROW) {
        orfeas_stored_job job;
        memset(&job, 0, sizeof job);
        snprintf(job.id, sizeof job.id, "%s", (const char *)sqlite3_column_text(row, 0));
        job.state = state_of((const char *)sqlite3_column_text(row, 1));
        job.created = sqlite3_column_double(row, 2);
        job.started = sqlite3_column_double(row, 3);
        job.finished = sqlite3_column_double(row, 4);
        const char *key = (const char *)sqlite3_column_text(row, 6);
        snprintf(job.req.cache_key, sizeof job.req.cache_key, "%s", key ? key : "");
        job.error = sqlite3_column_int(row, 12);
        const char *msg = (const char *)sqlite3_column_text(row, 13);
        snprintf(job.error_message, sizeof job.error_message, "%s", msg ? msg : "");
        if (orfeas_params_from_canonical((const char *)sqlite3_column_text(row, 5),
                                         &job.req.params)) {
            ORFEAS_WARN("store: job %s has unreadable parameters; skipped", job.id);
            src = SQLITE_OK;
            continue;
        }
        if (job.state == ORFEAS_JOB_COMPLETED) {
            const void *meta = sqlite3_column_blob(row, 11);
            if (meta && sqlite3_column_bytes(row, 11) == (int)sizeof job.meta)
                memcpy(&job.meta, meta, sizeof job.meta);
            if (!meta || blob_get(st, (const char *)sqlite3_column_text(row, 10), &job.result,
                                  &job.result_size)) {
                ORFEAS_WARN("store: job %s lost its result; it runs again", job.id);
                job.state = ORFEAS_JOB_QUEUED;
            }
        }
        if (job.state == ORFEAS_JOB_QUEUED || job.state == ORFEAS_JOB_RUNNING) {
            job.state = ORFEAS_JOB_QUEUED;
            if (load_inputs(st, row, &job.req)) {
                orfeas_job_request_free(&job.req);
                job.state = ORFEAS_JOB_FAILED;
                job.error = ORFEAS_EIO;
                snprintf(job.error_message, sizeof job.error_message,
                         "the job's inputs were lost before it could run again");
            }
        }
        visit(ctx, &job);
        orfeas_job_request_free(&job.req);
        free(job.result);
        loaded++;
        src = SQLITE_OK;
    }
    int rc = src == SQLITE_DONE ? 0 : sql_error(st, src, "loading jobs");
    sqlite3_finalize(row);
    pthread_mutex_unlock(&st->mu);
    if (!rc) ORFEAS_INFO("store: %d job(s) loaded", loaded);
    return rc;
}
