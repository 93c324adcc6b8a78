/* The scheduler: one real generation end to end, then a stand-in pipeline
 * (selected by the quality parameter) for queueing, cancel, timeout,
 * failure, concurrency, eviction and shutdown. No wall-clock assertions:
 * waits are on states, with generous limits. */
#include "orfeas/jobs.h"
#include "testutil.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

enum { FAKE_FAST = 1, FAKE_UNTIL_CANCEL = 2, FAKE_FAIL = 3, FAKE_GATED = 4 };

static atomic_int gate_open;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int tetra(orfeas_mesh *mesh)
{
    static const float p[12] = {0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10};
    static const uint32_t t[12] = {0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3};
    int rc = orfeas_mesh_alloc(mesh, 4, 4, 0);
    if (rc) return rc;
    memcpy(mesh->positions, p, sizeof p);
    memcpy(mesh->indices, t, sizeof t);
    return 0;
}

static int fake_generate(const orfeas_input *input, const orfeas_params *params,
                         const orfeas_generate_options *opts, orfeas_mesh *mesh,
                         orfeas_generate_stats *stats)
{
    (void)input;
    switch (params->quality) {
    case FAKE_FAST:
        opts->progress(opts->progress_userdata, ORFEAS_STAGE_DECODE, 10);
        return tetra(mesh);
    case FAKE_FAIL:
        snprintf(stats->error_detail, sizeof stats->error_detail, "stand-in failure");
        return ORFEAS_EBADIMAGE;
    default:
        for (;;) {
            if (opts->progress(opts->progress_userdata, ORFEAS_STAGE_FOREGROUND, 30) ||
                atomic_load(opts->cancel))
                return ORFEAS_ECANCELLED;
            if (params->quality == FAKE_GATED && atomic_load(&gate_open)) return tetra(mesh);
            sleep_ms(2);
        }
    }
}

static orfeas_job_request fake_request(int kind)
{
    orfeas_job_request req;
    memset(&req, 0, sizeof req);
    orfeas_params_init(&req.params);
    req.params.quality = kind;
    req.params.format = ORFEAS_FORMAT_STL;
    req.image = malloc(4);
    req.image_size = req.image ? 4 : 0;
    return req;
}

static orfeas_scheduler *make(int workers, int queue_max, int timeout_ms, int keep)
{
    orfeas_scheduler_config cfg = {.workers = workers, .queue_max = queue_max};
    orfeas_scheduler_tuning tuning = {keep, timeout_ms, fake_generate};
    orfeas_scheduler *s = NULL;
    REQUIRE(orfeas_scheduler_create_tuned(&cfg, &tuning, NULL, NULL, &s) == 0);
    return s;
}

static orfeas_job_state state_of(orfeas_job *job)
{
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    return snap.state;
}

static void wait_state(orfeas_job *job, orfeas_job_state want)
{
    for (int i = 0; i < 30000 && state_of(job) != want; i++)
        sleep_ms(1);
    CHECKF(state_of(job) == want, "state %s, want %s", orfeas_job_state_name(state_of(job)),
           orfeas_job_state_name(want));
}

static int is_uuid4(const char *id)
{
    if (strlen(id) != 36 || id[14] != '4' || !strchr("89ab", id[19])) return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (id[i] != '-') return 0;
        } else if (!strchr("0123456789abcdef", id[i])) {
            return 0;
        }
    }
    return 1;
}

static void test_real_engine(void)
{
    orfeas_scheduler_config cfg = {.workers = 1, .queue_max = 4, .job_timeout_s = 600};
    orfeas_scheduler *s = NULL;
    REQUIRE(orfeas_scheduler_create(&cfg, NULL, NULL, &s) == 0);
    orfeas_job_request req;
    memset(&req, 0, sizeof req);
    orfeas_params_init(&req.params);
    req.params.quality = 1;
    REQUIRE(orfeas_read_file(testutil_data("images/horse.png"), 0, &req.image, &req.image_size) ==
            0);
    orfeas_job *job = NULL;
    REQUIRE(orfeas_scheduler_submit(s, &req, &job) == 0);
    CHECK(req.image == NULL); /* taken over */
    CHECK(orfeas_job_wait(job, -1) == 0);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    CHECKF(snap.state == ORFEAS_JOB_COMPLETED, "state %s: %s", orfeas_job_state_name(snap.state),
           snap.error_message);
    CHECK(is_uuid4(snap.id));
    CHECK(snap.progress == 100);
    CHECK(snap.triangles > 0 && snap.vertices > 0);
    CHECK(snap.format == ORFEAS_FORMAT_GLB);
    CHECK(snap.created > 0 && snap.started >= snap.created && snap.finished >= snap.started);
    CHECK(snap.stats.report.volume > 0);
    const uint8_t *data;
    size_t size;
    CHECK(orfeas_job_result(job, &data, &size) == 0);
    CHECK(size == snap.result_size && size > 12 && memcmp(data, "glTF", 4) == 0);
    orfeas_buffer stl = {0};
    CHECK(orfeas_job_export(job, ORFEAS_FORMAT_STL, &stl) == 0);
    CHECK(stl.size == 84 + 50 * (size_t)snap.triangles);
    orfeas_buffer_free(&stl);
    const uint8_t *png, *png2;
    size_t png_size, png_size2;
    CHECK(orfeas_job_thumbnail(job, &png, &png_size) == 0);
    CHECK(png_size > 8 && memcmp(png, "\x89PNG", 4) == 0);
    CHECK(orfeas_job_thumbnail(job, &png2, &png_size2) == 0 && png2 == png); /* cached */
    orfeas_job *found = orfeas_scheduler_find(s, snap.id);
    CHECK(found == job);
    orfeas_job_unref(found);
    CHECK(orfeas_scheduler_find(s, "00000000-0000-4000-8000-000000000000") == NULL);

    /* A truncated image fails in the worker with invalid_image. */
    memset(&req, 0, sizeof req);
    orfeas_params_init(&req.params);
    req.params.quality = 1;
    REQUIRE(orfeas_read_file(testutil_data("images/truncated.jpg"), 0, &req.image,
                             &req.image_size) == 0);
    orfeas_job *bad = NULL;
    REQUIRE(orfeas_scheduler_submit(s, &req, &bad) == 0);
    orfeas_job_wait(bad, -1);
    orfeas_job_snapshot_get(bad, &snap);
    CHECK(snap.state == ORFEAS_JOB_FAILED && snap.error == ORFEAS_EBADIMAGE);
    CHECK(orfeas_job_result(bad, &data, &size) == ORFEAS_EBADIMAGE);
    orfeas_job_unref(bad);
    uint64_t counts[5];
    orfeas_scheduler_counts(s, counts);
    CHECK(counts[ORFEAS_JOB_COMPLETED] == 1 && counts[ORFEAS_JOB_FAILED] == 1);
    orfeas_scheduler_destroy(s, 5);
    orfeas_job_unref(job);
}

static void test_queue_cancel(void)
{
    atomic_store(&gate_open, 0);
    orfeas_scheduler *s = make(1, 2, 0, 0);
    orfeas_job *a, *b, *c, *d = NULL;
    orfeas_job_request req = fake_request(FAKE_GATED);
    REQUIRE(orfeas_scheduler_submit(s, &req, &a) == 0);
    wait_state(a, ORFEAS_JOB_RUNNING);
    req = fake_request(FAKE_GATED);
    REQUIRE(orfeas_scheduler_submit(s, &req, &b) == 0);
    req = fake_request(FAKE_GATED);
    REQUIRE(orfeas_scheduler_submit(s, &req, &c) == 0);
    req = fake_request(FAKE_GATED);
    CHECK(orfeas_scheduler_submit(s, &req, &d) == ORFEAS_EBUSY && d == NULL);
    CHECK(req.image == NULL); /* freed on refusal too */
    CHECK(orfeas_scheduler_queue_depth(s) == 2);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(c, &snap);
    CHECK(snap.state == ORFEAS_JOB_QUEUED && snap.queue_position == 2);
    CHECK(strcmp(snap.stage, "queued") == 0);
    const uint8_t *data;
    size_t size;
    CHECK(orfeas_job_result(c, &data, &size) == ORFEAS_ENOTREADY);
    CHECK(orfeas_job_thumbnail(c, &data, &size) == ORFEAS_ENOTREADY);
    CHECK(orfeas_job_wait(c, 10) == ORFEAS_ETIMEOUT);

    /* Cancel the first queued one: at once, and c moves up. */
    CHECK(orfeas_scheduler_cancel(s, b) == 0);
    orfeas_job_snapshot_get(b, &snap);
    CHECK(snap.state == ORFEAS_JOB_CANCELLED && snap.error == ORFEAS_ECANCELLED);
    orfeas_job_snapshot_get(c, &snap);
    CHECK(snap.queue_position == 1);
    /* Cancel the running one: it stops at its next check. */
    orfeas_job_snapshot_get(a, &snap);
    CHECK(snap.state == ORFEAS_JOB_RUNNING && snap.queue_position == 0 && snap.progress > 0);
    CHECK(orfeas_scheduler_cancel(s, a) == 0);
    CHECK(orfeas_job_wait(a, -1) == 0);
    CHECK(state_of(a) == ORFEAS_JOB_CANCELLED);
    CHECK(orfeas_job_result(a, &data, &size) == ORFEAS_ECANCELLED);
    /* c runs next and completes when the gate opens. */
    wait_state(c, ORFEAS_JOB_RUNNING);
    atomic_store(&gate_open, 1);
    CHECK(orfeas_job_wait(c, -1) == 0);
    CHECK(state_of(c) == ORFEAS_JOB_COMPLETED);
    CHECK(orfeas_job_result(c, &data, &size) == 0 && size == 84 + 4 * 50);
    CHECK(orfeas_scheduler_cancel(s, c) == 0 && state_of(c) == ORFEAS_JOB_COMPLETED);
    uint64_t counts[5];
    orfeas_scheduler_counts(s, counts);
    CHECK(counts[ORFEAS_JOB_QUEUED] == 0 && counts[ORFEAS_JOB_RUNNING] == 0);
    CHECK(counts[ORFEAS_JOB_COMPLETED] == 1 && counts[ORFEAS_JOB_CANCELLED] == 2);
    orfeas_job_unref(a);
    orfeas_job_unref(b);
    orfeas_job_unref(c);
    orfeas_scheduler_destroy(s, 1);
}

static void test_timeout_and_failure(void)
{
    orfeas_scheduler *s = make(2, 4, 150, 0);
    orfeas_job *slow, *bad;
    orfeas_job_request req = fake_request(FAKE_UNTIL_CANCEL);
    REQUIRE(orfeas_scheduler_submit(s, &req, &slow) == 0);
    req = fake_request(FAKE_FAIL);
    REQUIRE(orfeas_scheduler_submit(s, &req, &bad) == 0);
    CHECK(orfeas_job_wait(slow, -1) == 0);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(slow, &snap);
    CHECK(snap.state == ORFEAS_JOB_FAILED && snap.error == ORFEAS_ETIMEOUT);
    CHECKF(strcmp(snap.error_message, "timed out after 0.15 s") == 0, "%s", snap.error_message);
    CHECK(orfeas_job_wait(bad, -1) == 0);
    orfeas_job_snapshot_get(bad, &snap);
    CHECK(snap.state == ORFEAS_JOB_FAILED && snap.error == ORFEAS_EBADIMAGE);
    CHECK(strcmp(snap.error_message, "stand-in failure") == 0);
    orfeas_job_unref(slow);
    orfeas_job_unref(bad);
    orfeas_scheduler_destroy(s, 1);
}

typedef struct submitter {
    orfeas_scheduler *s;
    int ok, busy;
    char first_id[37];
} submitter;

static void *submit_many(void *arg)
{
    submitter *t = arg;
    for (int i = 0; i < 40; i++) {
        orfeas_job_request req = fake_request(FAKE_FAST);
        orfeas_job *job = NULL;
        int rc = orfeas_scheduler_submit(t->s, &req, &job);
        if (rc == ORFEAS_EBUSY) {
            t->busy++;
            continue;
        }
        if (rc) continue;
        orfeas_job_snapshot snap;
        if (orfeas_job_wait(job, -1) == 0) {
            orfeas_job_snapshot_get(job, &snap);
            if (snap.state == ORFEAS_JOB_COMPLETED && snap.triangles == 4) t->ok++;
            if (!t->first_id[0]) memcpy(t->first_id, snap.id, sizeof t->first_id);
        }
        orfeas_job_unref(job);
    }
    return NULL;
}

static void test_concurrent_and_eviction(void)
{
    orfeas_scheduler *s = make(3, 1000, 0, 50);
    submitter t[8];
    pthread_t th[8];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 8; i++) {
        t[i].s = s;
        REQUIRE(pthread_create(&th[i], NULL, submit_many, &t[i]) == 0);
    }
    int ok = 0, busy = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += t[i].ok;
        busy += t[i].busy;
    }
    CHECKF(ok == 320 && busy == 0, "ok %d busy %d", ok, busy);
    uint64_t counts[5];
    orfeas_scheduler_counts(s, counts);
    CHECK(counts[ORFEAS_JOB_COMPLETED] == 320);
    /* Only the 50 most recent finished jobs are kept; the first are gone. */
    int gone = 0;
    for (int i = 0; i < 8; i++) {
        orfeas_job *job = orfeas_scheduler_find(s, t[i].first_id);
        gone += job == NULL;
        orfeas_job_unref(job);
    }
    CHECK(gone >= 7);
    orfeas_scheduler_destroy(s, 1);
}

static void test_destroy_with_running(void)
{
    orfeas_scheduler *s = make(2, 8, 0, 0);
    orfeas_job *run1, *run2, *queued;
    orfeas_job_request req = fake_request(FAKE_UNTIL_CANCEL);
    REQUIRE(orfeas_scheduler_submit(s, &req, &run1) == 0);
    req = fake_request(FAKE_UNTIL_CANCEL);
    REQUIRE(orfeas_scheduler_submit(s, &req, &run2) == 0);
    wait_state(run1, ORFEAS_JOB_RUNNING);
    wait_state(run2, ORFEAS_JOB_RUNNING);
    req = fake_request(FAKE_FAST);
    REQUIRE(orfeas_scheduler_submit(s, &req, &queued) == 0);
    req = fake_request(FAKE_FAST);
    orfeas_scheduler_drain(s);
    CHECK(orfeas_scheduler_submit(s, &req, NULL) == ORFEAS_EBUSY);
    orfeas_scheduler_destroy(s, 0);
    /* The jobs outlive the scheduler and read as cancelled. */
    CHECK(state_of(run1) == ORFEAS_JOB_CANCELLED);
    CHECK(state_of(run2) == ORFEAS_JOB_CANCELLED);
    CHECK(state_of(queued) == ORFEAS_JOB_CANCELLED);
    CHECK(orfeas_job_wait(run1, -1) == 0);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(queued, &snap);
    CHECK(strcmp(snap.error_message, "server shutting down") == 0);
    orfeas_job_unref(run2);
    orfeas_job_unref(queued);
    orfeas_job_unref(run1); /* the last reference frees the scheduler */
}

static void test_refs(void)
{
    orfeas_scheduler *s = make(1, 4, 0, 1);
    orfeas_job *job;
    orfeas_job_request req = fake_request(FAKE_FAST);
    REQUIRE(orfeas_scheduler_submit(s, &req, &job) == 0);
    orfeas_job_ref(job);
    orfeas_job_wait(job, -1);
    orfeas_job_unref(job);
    /* A second job evicts the first (keep 1); our reference keeps it alive. */
    req = fake_request(FAKE_FAST);
    orfeas_job *next;
    REQUIRE(orfeas_scheduler_submit(s, &req, &next) == 0);
    orfeas_job_wait(next, -1);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(job, &snap);
    CHECK(snap.state == ORFEAS_JOB_COMPLETED);
    orfeas_job *found = orfeas_scheduler_find(s, snap.id);
    CHECK(found == NULL);
    const uint8_t *data;
    size_t size;
    CHECK(orfeas_job_result(job, &data, &size) == 0 && size == 284);
    orfeas_job_unref(job);
    orfeas_job_unref(next);
    orfeas_scheduler_destroy(s, 1);
}

/* A job of this kind with two previews of the kinds p0 and p1. */
static void submit_previewed(orfeas_scheduler *s, int kind, int p0, int p1, orfeas_job **job,
                             orfeas_job **pv)
{
    orfeas_params pp[2];
    for (int i = 0; i < 2; i++) {
        orfeas_params_init(&pp[i]);
        pp[i].quality = i ? p1 : p0;
        pp[i].format = ORFEAS_FORMAT_STL;
    }
    orfeas_job_request req = fake_request(kind);
    REQUIRE(orfeas_scheduler_submit_previews(s, &req, pp, 2, job, pv) == 0);
    CHECK(req.image == NULL);
}

/* One worker: the previews run first, in order, then the job; they are in
 * no table or count, and only the job counts against the queue. */
static void test_previews_first(void)
{
    atomic_store(&gate_open, 0);
    orfeas_scheduler *s = make(1, 1, 0, 0);
    orfeas_job *job, *pv[2];
    submit_previewed(s, FAKE_GATED, FAKE_FAST, FAKE_UNTIL_CANCEL, &job, pv);
    CHECK(orfeas_job_wait(pv[0], -1) == 0 && state_of(pv[0]) == ORFEAS_JOB_COMPLETED);
    const uint8_t *data;
    size_t size;
    CHECK(orfeas_job_result(pv[0], &data, &size) == 0 && size == 284);
    wait_state(pv[1], ORFEAS_JOB_RUNNING);
    CHECK(state_of(job) == ORFEAS_JOB_QUEUED);
    uint64_t counts[5];
    orfeas_scheduler_counts(s, counts);
    CHECK(counts[ORFEAS_JOB_QUEUED] == 1 && counts[ORFEAS_JOB_RUNNING] == 0);
    CHECK(counts[ORFEAS_JOB_COMPLETED] == 0);
    CHECK(orfeas_scheduler_queue_depth(s) == 1);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(pv[0], &snap);
    CHECK(orfeas_scheduler_find(s, snap.id) == NULL);
    orfeas_job_snapshot list[4];
    CHECK(orfeas_scheduler_list(s, list, 4) == 1);
    /* The queue is full (the job): refused, previews and all. */
    orfeas_job *other = NULL, *opv[1] = {NULL};
    orfeas_job_request req = fake_request(FAKE_FAST);
    orfeas_params pp;
    orfeas_params_init(&pp);
    CHECK(orfeas_scheduler_submit_previews(s, &req, &pp, 1, &other, opv) == ORFEAS_EBUSY);
    CHECK(other == NULL && opv[0] == NULL && req.image == NULL);
    /* The last preview ends: the job runs. */
    CHECK(orfeas_scheduler_cancel(s, pv[1]) == 0);
    wait_state(job, ORFEAS_JOB_RUNNING);
    CHECK(state_of(pv[1]) == ORFEAS_JOB_CANCELLED);
    atomic_store(&gate_open, 1);
    CHECK(orfeas_job_wait(job, -1) == 0 && state_of(job) == ORFEAS_JOB_COMPLETED);
    orfeas_scheduler_counts(s, counts);
    CHECK(counts[ORFEAS_JOB_COMPLETED] == 1 && counts[ORFEAS_JOB_CANCELLED] == 0);
    orfeas_job_unref(pv[0]);
    orfeas_job_unref(pv[1]);
    orfeas_job_unref(job);
    orfeas_scheduler_destroy(s, 1);
}

/* Free workers: a job's previews still run one at a time, the job runs
 * alongside, and a preview not started when the job finishes is dropped. */
static void test_previews_alongside(void)
{
    atomic_store(&gate_open, 0);
    orfeas_scheduler *s = make(3, 4, 0, 0);
    orfeas_job *job, *pv[2];
    submit_previewed(s, FAKE_GATED, FAKE_UNTIL_CANCEL, FAKE_FAST, &job, pv);
    wait_state(pv[0], ORFEAS_JOB_RUNNING);
    wait_state(job, ORFEAS_JOB_RUNNING);
    sleep_ms(30);
    CHECK(state_of(pv[1]) == ORFEAS_JOB_QUEUED); /* a worker is free, but p0 runs */
    atomic_store(&gate_open, 1);
    CHECK(orfeas_job_wait(job, -1) == 0 && state_of(job) == ORFEAS_JOB_COMPLETED);
    CHECK(orfeas_job_wait(pv[1], 5000) == 0);
    orfeas_job_snapshot snap;
    orfeas_job_snapshot_get(pv[1], &snap);
    CHECKF(snap.state == ORFEAS_JOB_CANCELLED && strstr(snap.error_message, "superseded"), "%s %s",
           orfeas_job_state_name(snap.state), snap.error_message);
    CHECK(state_of(pv[0]) == ORFEAS_JOB_RUNNING); /* started: it goes on */
    CHECK(orfeas_scheduler_cancel(s, pv[0]) == 0);
    CHECK(orfeas_job_wait(pv[0], -1) == 0 && state_of(pv[0]) == ORFEAS_JOB_CANCELLED);
    orfeas_job_unref(pv[0]);
    orfeas_job_unref(pv[1]);
    orfeas_job_unref(job);
    orfeas_scheduler_destroy(s, 1);
}

/* The shutdown cancels queued and running previews with their job. */
static void test_previews_destroy(void)
{
    orfeas_scheduler *s = make(1, 4, 0, 0);
    orfeas_job *job, *pv[2];
    submit_previewed(s, FAKE_UNTIL_CANCEL, FAKE_UNTIL_CANCEL, FAKE_FAST, &job, pv);
    wait_state(pv[0], ORFEAS_JOB_RUNNING);
    orfeas_scheduler_destroy(s, 0);
    CHECK(state_of(pv[0]) == ORFEAS_JOB_CANCELLED);
    CHECK(state_of(pv[1]) == ORFEAS_JOB_CANCELLED);
    CHECK(state_of(job) == ORFEAS_JOB_CANCELLED);
    orfeas_job_unref(pv[1]);
    orfeas_job_unref(job);
    orfeas_job_unref(pv[0]);
}

int main(void)
{
    orfeas_log_set_level(ORFEAS_LOG_WARN);
    test_real_engine();
    test_queue_cancel();
    test_timeout_and_failure();
    test_concurrent_and_eviction();
    test_destroy_with_running();
    test_refs();
    test_previews_first();
    test_previews_alongside();
    test_previews_destroy();
    return testutil_finish("test_scheduler");
}
