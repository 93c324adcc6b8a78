/* POST /api/v1/generate-progressive: coarse to fine over one response.
 *
 * The requested quality q becomes a ladder q, q-2, q-4, ... >= 1 run from
 * the bottom (7: 1, 3, 5, 7). The top level is submitted to the scheduler
 * up front, so it runs on a worker while the coarse levels run here, in the
 * connection's thread, through the server's VRAM manager; a real job then
 * backs the last line (its result and thumbnail routes work). Each level is
 * one NDJSON line with the GLB in base64, produced by the content reader
 * when the previous line has been handed to libmicrohttpd (thread per
 * connection: the reader may block). */
#include "server/request_params.h"
#include "server/server_internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define WAIT_SLICE_MS 250
#define STREAM_BLOCK (32 * 1024)
#define MAX_LEVELS 10

typedef struct stream {
    orfeas_server *server;
    int fd; /* the client's socket, for noticing a hang-up */
    double start_ms;
    /* Copies of the inputs for the coarse levels (the job owns its own). */
    uint8_t *image, *mask, *depth;
    size_t image_size, mask_size, depth_size;
    orfeas_params params;
    int levels[MAX_LEVELS];
    int count, next; /* levels; index of the next line to produce */
    orfeas_job *job; /* the top level */
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

static int on_progress(void *userdata, orfeas_stage stage, double percent)
{
    (void)stage, (void)percent;
    stream *st = userdata;
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

static int copy_bytes(const uint8_t *src, size_t size, uint8_t **dst)
{
    *dst = NULL;
    if (!src || !size) return 0;
    *dst = malloc(size);
    if (!*dst) return ORFEAS_ENOMEM;
    memcpy(*dst, src, size);
    return 0;
}

static void stream_free(stream *st)
{
    free(st->image);
    free(st->mask);
    free(st->depth);
    free(st->line);
    free(st);
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
    json_escape(message && *message ? message : orfeas_strerror(err), escaped, sizeof escaped);
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
             triangles, server_now_ms() - st->start_ms);
    if (job_id) snprintf(tail, sizeof tail, "\",\"final\":true,\"job_id\":\"%s\"}", job_id);
    return set_line(st, head, glb, glb_size, tail);
}

/* A coarse level computed here, with the same parameters at a lower
 * quality (and a triangle budget no larger than that quality's). */
static void coarse_level(stream *st, int index)
{
    orfeas_server *s = st->server;
    orfeas_params p = st->params;
    p.quality = st->levels[index];
    p.format = ORFEAS_FORMAT_GLB;
    uint32_t budget = orfeas_quality_triangle_budget(p.quality);
    if (p.target_triangles > budget) p.target_triangles = budget;
    orfeas_input in = {st->image,     st->image_size, st->mask,
                       st->mask_size, st->depth,      st->depth_size};
    orfeas_generate_options opts;
    memset(&opts, 0, sizeof opts);
    opts.limits.max_pixels = s->config.max_pixels;
    opts.progress = on_progress;
    opts.progress_userdata = st;
    opts.cancel = &st->cancel;
    opts.vram = s->vram;
    opts.depth_model = s->depth_model;
    opts.reserve_timeout_ms = s->config.job_timeout_s * 1000;
    orfeas_generate_stats stats;
    memset(&stats, 0, sizeof stats);
    orfeas_mesh mesh;
    memset(&mesh, 0, sizeof mesh);
    int err = orfeas_generate(&in, &p, &opts, &mesh, &stats);
    orfeas_buffer glb = {0};
    if (!err)
        err = orfeas_export(&mesh, ORFEAS_FORMAT_GLB, p.texture == ORFEAS_TEXTURE_VERTEX, &glb);
    orfeas_metrics_generation(s->metrics, &stats, err);
    if (!err) {
        uint32_t side = stats.work_width > stats.work_height ? stats.work_width : stats.work_height;
        ORFEAS_DEBUG("progressive: level %d/%d (quality %d) in %.0f ms, %u triangles", index + 1,
                     st->count, p.quality, stats.total_ms, mesh.triangle_count);
        err = level_line(st, index, side, mesh.triangle_count, glb.data, glb.size, NULL);
    }
    orfeas_mesh_free(&mesh);
    orfeas_buffer_free(&glb);
    if (err) error_line(st, err, stats.error_detail);
}

static int job_finished(orfeas_job *job)
{
    return orfeas_job_wait(job, 0) == 0;
}

/* Waits for the job (noticing a hang-up) and makes the last line. */
static void final_level(stream *st)
{
    orfeas_scheduler *sched = st->server->scheduler;
    while (orfeas_job_wait(st->job, WAIT_SLICE_MS) == ORFEAS_ETIMEOUT) {
        if (atomic_load(&st->cancel) || client_gone(st)) {
            atomic_store(&st->cancel, 1);
            orfeas_scheduler_cancel(sched, st->job);
            orfeas_job_wait(st->job, -1);
            break;
        }
    }
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(st->job, &snap);
    if (snap.state != ORFEAS_JOB_COMPLETED) {
        int err = snap.state == ORFEAS_JOB_CANCELLED ? ORFEAS_ECANCELLED
                  : snap.error                       ? snap.error
                                                     : ORFEAS_EINTERNAL;
        error_line(st, err, snap.error_message);
        return;
    }
    const uint8_t *data = NULL;
    size_t size = 0;
    orfeas_buffer other = {0};
    int err = snap.format == ORFEAS_FORMAT_GLB
                  ? orfeas_job_result(st->job, &data, &size)
                  : orfeas_job_export(st->job, ORFEAS_FORMAT_GLB, &other);
    if (!err && snap.format != ORFEAS_FORMAT_GLB) data = other.data, size = other.size;
    uint32_t side = snap.stats.work_width > snap.stats.work_height ? snap.stats.work_width
                                                                   : snap.stats.work_height;
    if (!err) err = level_line(st, st->count - 1, side, snap.triangles, data, size, snap.id);
    orfeas_buffer_free(&other);
    if (err)
        error_line(st, err, NULL);
    else
        st->done = 1;
}

/* Makes the next line (blocking while a level runs). */
static void next_line(stream *st)
{
    while (st->next < st->count - 1) {
        int index = st->next++;
        /* The top level finished first (an idle GPU): the rest is moot. */
        if (job_finished(st->job)) continue;
        if (atomic_load(&st->cancel)) break;
        coarse_level(st, index);
        return;
    }
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
 * when the client went away. Nothing more runs; an unfinished job is
 * cancelled (nobody will learn its id). */
static void free_stream(void *cls)
{
    stream *st = cls;
    atomic_store(&st->cancel, 1);
    if (st->job) {
        if (!job_finished(st->job)) orfeas_scheduler_cancel(st->server->scheduler, st->job);
        orfeas_job_unref(st->job);
    }
    stream_free(st);
}

enum MHD_Result handle_progressive(request *r, const char *param)
{
    (void)param;
    orfeas_server *s = r->server;
    orfeas_job_request req;
    enum MHD_Result answered;
    if (request_job_or_answer(r, &req, &answered)) return answered;
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        orfeas_job_request_free(&req);
        return respond_error(r, ORFEAS_ENOMEM, NULL);
    }
    st->server = s;
    st->start_ms = r->start_ms;
    st->params = req.params;
    st->count = ladder(req.params.quality, st->levels);
    atomic_init(&st->cancel, 0);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    st->fd = info ? info->connect_fd : -1;
    int rc = 0;
    if (st->count > 1) {
        rc = copy_bytes(req.image, req.image_size, &st->image);
        if (!rc) rc = copy_bytes(req.mask, req.mask_size, &st->mask);
        if (!rc) rc = copy_bytes(req.depth, req.depth_size, &st->depth);
        if (rc) {
            orfeas_job_request_free(&req);
            stream_free(st);
            return respond_error(r, rc, NULL);
        }
        st->image_size = req.image_size, st->mask_size = req.mask_size;
        st->depth_size = req.depth_size;
    }
    /* Submitted before the stream starts, so a full queue is a plain 503. */
    req.local = 1; /* the stream's levels and its GLB come from this node */
    rc = orfeas_scheduler_submit(s->scheduler, &req, &st->job);
    if (rc) {
        stream_free(st);
        if (rc == ORFEAS_EBUSY)
            return respond_error(r, rc,
                                 atomic_load(&s->state) == SERVER_DRAINING
                                     ? "the server is shutting down"
                                     : "the job queue is full; retry later");
        return respond_error(r, rc, NULL);
    }
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(st->job, &snap);
    memcpy(r->job_id, snap.id, sizeof r->job_id);

    struct MHD_Response *response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK, read_stream, st, free_stream);
    if (!response) {
        free_stream(st);
        return respond_error(r, ORFEAS_ENOMEM, NULL);
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
    MHD_add_response_header(response, "X-Orfeas-Job", snap.id);
    /* Proxies (nginx) would otherwise hold the lines back. */
    MHD_add_response_header(response, "X-Accel-Buffering", "no");
    return respond_response(r, 200, response);
}
