/* POST /api/v1/generate-progressive: coarse to fine over one response.
 *
 * The requested quality q becomes a ladder q, q-2, q-4, ... >= 1 run from
 * the bottom (7: 1, 3, 5, 7). The service submits the top level as a job
 * with the coarse levels as its previews (orfeas/jobs.h): all of them run
 * on the scheduler's workers, the previews one at a time ahead of the queue
 * (so the first line comes as soon as a worker is free) and the job
 * alongside them; a real job backs the last line (its result and thumbnail
 * routes work). Each level is one NDJSON line with the GLB in base64,
 * produced by the content reader when the previous line has been handed to
 * libmicrohttpd (thread per connection: the reader may block). */
#include "server/request_params.h"
#include "server/server_internal.h"
#include "server/service.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WAIT_SLICE_MS 250
#define STREAM_BLOCK (32 * 1024)
#define MAX_LEVELS (ORFEAS_SERVICE_MAX_PREVIEWS + 1)

typedef struct stream {
    orfeas_server *server;
    int fd; /* the client's socket, for noticing a hang-up */
    double start_ms;
    orfeas_service_answer ans; /* the top level's job and the coarse levels' previews */
    int levels[MAX_LEVELS];
    int count, next; /* levels; index of the next line to produce */
    atomic_int cancel;
    char *line; /* the line being sent */
    size_t line_size, line_pos;
    int done; /* the final or an error line was produced */
} stream;

/* 1 when the client has closed the connection: a non-blocking peek reads
 * end-of-file (pipelined bytes or nothing yet both mean it is still there). */
static int client_gone(const stream *st)
{
    if (st->fd < 0) return 0;
    char byte;
    ssize_t n = recv(st->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Whether the stream gave up (the client went away): asked while waiting. */
static int stream_gone(void *cls)
{
    stream *st = cls;
    if (client_gone(st)) atomic_store(&st->cancel, 1);
    return atomic_load(&st->cancel);
}

/* q, q-2, ... >= 1, coarse first. */
static int ladder(int quality, int *levels)
{
    int n = 0;
    for (int q = quality; q >= 1 && n < MAX_LEVELS; q -= 2)
        n++;
    for (int i = 0; i < n; i++)
        levels[i] = quality - 2 * (n - 1 - i);
    return n;
}

/* Replaces the current line with head + base64(data) + tail + "\n". */
static int set_line(stream *st, const char *head, const uint8_t *data, size_t size,
                    const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail), bl = data ? 4 * ((size + 2) / 3) : 0;
    char *line = malloc(hl + bl + tl + 2);
    if (!line) return ORFEAS_ENOMEM;
    memcpy(line, head, hl);
    size_t o = hl;
    /* In slices: EVP_EncodeBlock's length is an int. */
    for (size_t done = 0; data && done < size;) {
        size_t n = size - done > (size_t)3 << 28 ? (size_t)3 << 28 : size - done;
        o += (size_t)EVP_EncodeBlock((unsigned char *)line + o, data + done, (int)n);
        done += n;
    }
    memcpy(line + o, tail, tl);
    o += tl;
    line[o++] = '\n';
    free(st->line);
    st->line = line;
    st->line_size = o;
    st->line_pos = 0;
    return 0;
}

/* The error line; the stream ends after it. */
static void error_line(stream *st, int err, const char *message)
{
    char escaped[400], head[600];
    orfeas_json_escape(message && *message ? message : orfeas_strerror(err), escaped,
                       sizeof escaped);
    snprintf(head, sizeof head, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"status\":%d}}",
             orfeas_error_code(err), escaped, orfeas_error_http_status(err));
    st->done = 1;
    if (set_line(st, head, NULL, 0, "")) {
        /* Without memory for the line, end the stream short. */
        free(st->line);
        st->line = NULL;
        st->line_size = st->line_pos = 0;
    }
    ORFEAS_INFO("progressive: stream ended with %s: %s", orfeas_error_code(err),
                message && *message ? message : orfeas_strerror(err));
}

/* One level's line: the metadata, then the GLB. */
static int level_line(stream *st, int index, uint32_t resolution, uint32_t triangles,
                      const uint8_t *glb, size_t glb_size, const char *job_id)
{
    char head[512], tail[128] = "\"}";
    snprintf(head, sizeof head,
             "{\"stage\":%d,\"stages\":%d,\"quality\":%d,\"progress\":%.1f,\"resolution\":%u,"
             "\"format\":\"glb\",\"triangles\":%u,\"elapsed_ms\":%.1f,\"data\":\"",
             index + 1, st->count, st->levels[index], 100.0 * (index + 1) / st->count, resolution,
             triangles, orfeas_clock_mono_ms() - st->start_ms);
    if (job_id) snprintf(tail, sizeof tail, "\",\"final\":true,\"job_id\":\"%s\"}", job_id);
    return set_line(st, head, glb, glb_size, tail);
}

/* A coarse level's parameters: the request's at a lower quality, as GLB,
 * with a triangle budget no larger than that quality's. */
static orfeas_params level_params(const orfeas_params *top, int quality)
{
    orfeas_params p = *top;
    p.quality = quality;
    p.format = ORFEAS_FORMAT_GLB;
    uint32_t budget = orfeas_quality_triangle_budget(p.quality);
    if (p.target_triangles > budget) p.target_triangles = budget;
    return p;
}

static int job_finished(orfeas_job *job)
{
    return orfeas_job_wait(job, 0) == 0;
}

static int snapshot_error(const orfeas_job_snapshot *snap)
{
    return snap->state == ORFEAS_JOB_CANCELLED ? ORFEAS_ECANCELLED
           : snap->error                       ? snap->error
                                               : ORFEAS_EINTERNAL;
}

static uint32_t long_side(const orfeas_generate_stats *stats)
{
    return stats->work_width > stats->work_height ? stats->work_width : stats->work_height;
}

/* Waits for a coarse level's preview and makes its line (or the error
 * line): 1. 0 when there is none: the top level finished first and the
 * preview was dropped, or the client went away. */
static int coarse_level(stream *st, int index)
{
    orfeas_job *preview = st->ans.previews[index];
    if (orfeas_service_wait(st->server, ORFEAS_SERVICE_STREAM, preview, WAIT_SLICE_MS, stream_gone,
                            st))
        return 0;
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(preview, &snap);
    if (snap.state == ORFEAS_JOB_CANCELLED && job_finished(st->ans.job)) return 0;
    if (snap.state != ORFEAS_JOB_COMPLETED) {
        error_line(st, snapshot_error(&snap), snap.error_message);
        return 1;
    }
    ORFEAS_DEBUG("progressive: level %d/%d (quality %d) in %.0f ms, %u triangles", index + 1,
                 st->count, st->levels[index], snap.stats.total_ms, snap.triangles);
    const uint8_t *data = NULL;
    size_t size = 0;
    int err = orfeas_job_result(preview, &data, &size);
    if (!err) err = level_line(st, index, long_side(&snap.stats), snap.triangles, data, size, NULL);
    if (err) error_line(st, err, NULL);
    return 1;
}

/* Waits for the job (noticing a hang-up) and makes the last line. */
static void final_level(stream *st)
{
    orfeas_job *job = st->ans.job;
    orfeas_service_wait(st->server, ORFEAS_SERVICE_STREAM, job, WAIT_SLICE_MS, stream_gone, st);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    if (snap.state != ORFEAS_JOB_COMPLETED) {
        error_line(st, snapshot_error(&snap), snap.error_message);
        return;
    }
    const uint8_t *data = NULL;
    size_t size = 0;
    orfeas_buffer other = {0};
    int err = snap.format == ORFEAS_FORMAT_GLB ? orfeas_job_result(job, &data, &size)
                                               : orfeas_job_export(job, ORFEAS_FORMAT_GLB, &other);
    if (!err && snap.format != ORFEAS_FORMAT_GLB) data = other.data, size = other.size;
    if (!err)
        err = level_line(st, st->count - 1, long_side(&snap.stats), snap.triangles, data, size,
                         snap.id);
    orfeas_buffer_free(&other);
    if (err)
        error_line(st, err, NULL);
    else
        st->done = 1;
}

/* Makes the next line (blocking while its level runs). */
static void next_line(stream *st)
{
    while (st->next < st->count - 1 && !atomic_load(&st->cancel))
        if (coarse_level(st, st->next++)) return;
    st->next = st->count;
    final_level(st);
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *st = cls;
    while (st->line_pos == st->line_size) {
        if (st->done || atomic_load(&st->cancel)) return MHD_CONTENT_READER_END_OF_STREAM;
        next_line(st);
        if (!st->line) return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = st->line_size - st->line_pos;
    if (n > max) n = max;
    memcpy(buf, st->line + st->line_pos, n);
    st->line_pos += n;
    return (ssize_t)n;
}

/* libmicrohttpd is done with the response: after the last byte, or early
 * when the client went away. Nothing more runs: the unfinished levels are
 * cancelled (nobody will learn of them), and the request's references go. */
static void free_stream(void *cls)
{
    stream *st = cls;
    atomic_store(&st->cancel, 1);
    orfeas_scheduler_cancel(st->server->scheduler, st->ans.job);
    for (int i = 0; i < st->ans.preview_count; i++)
        orfeas_scheduler_cancel(st->server->scheduler, st->ans.previews[i]);
    orfeas_service_answer_release(&st->ans);
    free(st->line);
    free(st);
}

enum MHD_Result orfeas_handle_progressive(request *r, const char *param)
{
    (void)param;
    orfeas_service_request req = {.mode = ORFEAS_SERVICE_STREAM};
    enum MHD_Result answered;
    if (orfeas_request_job_or_answer(r, &req.job, &answered)) return answered;
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        orfeas_job_request_free(&req.job);
        return orfeas_respond_error(r, ORFEAS_ENOMEM, NULL);
    }
    st->server = r->server;
    st->start_ms = r->start_ms;
    st->count = ladder(req.job.params.quality, st->levels);
    req.preview_count = st->count - 1;
    for (int i = 0; i < req.preview_count; i++)
        req.previews[i] = level_params(&req.job.params, st->levels[i]);
    atomic_init(&st->cancel, 0);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    st->fd = info ? info->connect_fd : -1;
    /* Submitted before the stream starts, so a full queue is a plain 503. */
    if (orfeas_service_generate(r->server, &req, &st->ans)) {
        enum MHD_Result ret = orfeas_respond_error(r, st->ans.error, st->ans.message);
        free(st);
        return ret;
    }
    memcpy(r->job_id, st->ans.snap.id, sizeof r->job_id);

    struct MHD_Response *response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK, read_stream, st, free_stream);
    if (!response) {
        free_stream(st);
        return orfeas_respond_error(r, ORFEAS_ENOMEM, NULL);
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
    MHD_add_response_header(response, "X-Orfeas-Job", st->ans.snap.id);
    /* Proxies (nginx) would otherwise hold the lines back. */
    MHD_add_response_header(response, "X-Accel-Buffering", "no");
    return orfeas_respond_response(r, 200, response);
}
