/* The cluster (src/cluster) in one process. First the Redis URL parser;
 * then two in-process nodes (a scheduler with one worker, a memory cache
 * and a cluster node each, on a stand-in pipeline) sharing a real
 * redis-server that the test starts on a free loopback port:
 *   (a) a job accepted by node 1 is readable through node 2 (a tracked job
 *       settled with the same bytes);
 *   (b) jobs accepted by a busy node are taken by the free one, and both
 *       take work once both are free, each job run exactly once;
 *   (c) a job queued in the cluster is cancelled from the other node, and
 *       a keyed job queued there is joined from the other node;
 *   (d) a keyed job running on one node is joined from the other (one run);
 *   (e) the cache's shared tier: hits across nodes, corrupted or foreign
 *       values in Redis are misses;
 *   (g) the entry of a node that died (read, never acknowledged) is claimed
 *       and run by a live node;
 *   (h) bursts of jobs from both nodes: every one completes, exactly once;
 *   (f) Redis killed: jobs still complete locally and the nodes say Redis
 *       is down; Redis back: they reconnect and dispatch through it again.
 * The stand-in pipeline makes a tetrahedron scaled by the first byte of
 * the image (the job's seed), so every result says which inputs it ran on,
 * and it counts its runs per seed. No wall-clock assertions: waits are on
 * states, with generous deadlines. Exit 77 (skipped) without redis-server. */
#include "orfeas/cache.h"
#include "orfeas/cluster.h"
#include "cluster/redis_link.h"
#include "orfeas/jobs.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls cond every 10 ms until it holds or ms have passed; ok says which. */
#define WAIT_UNTIL(ok, cond, ms)                                                                   \
    do {                                                                                           \
        double until_ = now_ms() + (ms);                                                           \
        while (!((ok) = !!(cond)) && now_ms() < until_)                                            \
            sleep_ms(10);                                                                          \
    } while (0)

/* ------------------------------------------------------------------ */
/* 1. orfeas_redis_url_parse                                                   */

static void url_ok(const char *text, const char *host, int port, int db, const char *user,
                   const char *password)
{
    redis_url u;
    char err[256] = "";
    int rc = orfeas_redis_url_parse(text, &u, err, sizeof err);
    CHECKF(rc == 0, "%s: rc %d (%s)", text, rc, err);
    if (rc) return;
    CHECKF(strcmp(u.host, host) == 0, "%s: host '%s', want '%s'", text, u.host, host);
    CHECKF(u.port == port, "%s: port %d, want %d", text, u.port, port);
    CHECKF(u.db == db, "%s: db %d, want %d", text, u.db, db);
    CHECKF(strcmp(u.user, user) == 0, "%s: user '%s', want '%s'", text, u.user, user);
    CHECKF(strcmp(u.password, password) == 0, "%s: password '%s', want '%s'", text, u.password,
           password);
}

/* Fails with ORFEAS_EINVAL and a reason that mentions `about`. */
static void url_bad(const char *text, const char *about)
{
    redis_url u;
    char err[256] = "";
    int rc = orfeas_redis_url_parse(text, &u, err, sizeof err);
    CHECKF(rc == ORFEAS_EINVAL, "%s: rc %d, want EINVAL", text ? text : "(null)", rc);
    CHECKF(err[0] && strstr(err, about), "%s: reason '%s' should mention '%s'",
           text ? text : "(null)", err, about);
}

static void test_url_parse(void)
{
    url_ok("redis://localhost", "localhost", 6379, 0, "", "");
    url_ok("redis://localhost/", "localhost", 6379, 0, "", "");
    url_ok("redis://10.0.0.7:6380/3", "10.0.0.7", 6380, 3, "", "");
    url_ok("redis://cache.example:1/0", "cache.example", 1, 0, "", "");
    url_ok("redis://h:65535", "h", 65535, 0, "", "");
    url_ok("redis://h/15", "h", 6379, 15, "", "");
    url_ok("redis://:s3cret@h:7000", "h", 7000, 0, "", "s3cret");
    url_ok("redis://alice:s3cret@h/2", "h", 6379, 2, "alice", "s3cret");
    /* %XX escapes in the user and the password; the last @ ends them. */
    url_ok("redis://al%69ce:p%40ss%3Aw%2Fd@h:6390", "h", 6390, 0, "alice", "p@ss:w/d");
    url_ok("redis://:a@b@h", "h", 6379, 0, "", "a@b");
    url_ok("redis://bob@h", "h", 6379, 0, "bob", "");
    /* IPv6 in brackets. */
    url_ok("redis://[::1]:6380", "::1", 6380, 0, "", "");
    url_ok("redis://[::1]", "::1", 6379, 0, "", "");
    url_ok("redis://:pw@[fe80::1]:7/4", "fe80::1", 7, 4, "", "pw");
    /* The longest host that fits (255 characters). */
    char text[400], host[300];
    memset(host, 'a', 255);
    host[255] = '\0';
    snprintf(text, sizeof text, "redis://%s:9", host);
    url_ok(text, host, 9, 0, "", "");

    url_bad(NULL, "redis://");
    url_bad("", "redis://");
    url_bad("localhost:6379", "redis://");
    url_bad("http://localhost", "redis://");
    url_bad("rediss://localhost", "redis://");
    url_bad("redis://", "host");
    url_bad("redis://:6379", "host");
    url_bad("redis:///0", "host");
    url_bad("redis://:pw@", "host");
    url_bad("redis://[]:6379", "host");
    url_bad("redis://[::1:6379", "[");
    url_bad("redis://h:0", "port");
    url_bad("redis://h:65536", "port");
    url_bad("redis://h:-1", "port");
    url_bad("redis://h:abc", "port");
    url_bad("redis://h:", "port");
    url_bad("redis://h:6379x", "port");
    url_bad("redis://h:99999999999999999999", "port");
    url_bad("redis://h/x", "database");
    url_bad("redis://h/-1", "database");
    url_bad("redis://h/1x", "database");
    url_bad("redis://h/1/2", "database");
    url_bad("redis://h:6379/0 extra", "database");
    url_bad("redis://[::1]x", "after the host");
    url_bad("redis://[::1]:80x", "port");
    url_bad("redis://:%zz@h", "password");
    url_bad("redis://:%00@h", "password");
    memset(host, 'a', 256);
    host[256] = '\0';
    snprintf(text, sizeof text, "redis://%s", host);
    url_bad(text, "host");
    snprintf(text, sizeof text, "redis://:%s@h", host); /* a 256-character password */
    url_bad(text, "password");
}

/* ------------------------------------------------------------------ */
/* the stand-in pipeline                                                */

enum { MODE_FAST = 1, MODE_GATE_A, MODE_GATE_B, MODE_GATE_C };

static atomic_int gate[MODE_GATE_C + 1]; /* by mode: open when non-zero */
static atomic_int runs[256];             /* by seed */

static int tetra(orfeas_mesh *mesh, int seed)
{
    static const float p[12] = {0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10};
    static const uint32_t t[12] = {0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3};
    int rc = orfeas_mesh_alloc(mesh, 4, 4, 0);
    if (rc) return rc;
    for (int i = 0; i < 12; i++)
        mesh->positions[i] = p[i] * (float)(1 + seed);
    memcpy(mesh->indices, t, sizeof t);
    return 0;
}

static int fake_generate(const orfeas_input *input, const orfeas_params *params,
                         const orfeas_generate_options *opts, orfeas_mesh *mesh,
                         orfeas_generate_stats *stats)
{
    (void)stats;
    int seed = input->image_size ? input->image[0] : 0;
    atomic_fetch_add(&runs[seed], 1);
    if (opts->progress(opts->progress_userdata, ORFEAS_STAGE_DECODE, 10)) return ORFEAS_ECANCELLED;
    int mode = params->quality;
    if (mode >= MODE_GATE_A && mode <= MODE_GATE_C)
        while (!atomic_load(&gate[mode])) {
            if (opts->progress(opts->progress_userdata, ORFEAS_STAGE_FOREGROUND, 30) ||
                atomic_load(opts->cancel))
                return ORFEAS_ECANCELLED;
            sleep_ms(2);
        }
    return tetra(mesh, seed);
}

/* The STL the stand-in makes for a seed. */
static void expected_stl(int seed, orfeas_buffer *out)
{
    orfeas_mesh mesh;
    memset(&mesh, 0, sizeof mesh);
    REQUIRE(tetra(&mesh, seed) == 0);
    REQUIRE(orfeas_export(&mesh, ORFEAS_FORMAT_STL, 0, out) == 0);
    orfeas_mesh_free(&mesh);
}

static orfeas_job_request request(int mode, int seed, const char *key, int local)
{
    orfeas_job_request req;
    memset(&req, 0, sizeof req);
    orfeas_params_init(&req.params);
    req.params.quality = mode;
    req.params.format = ORFEAS_FORMAT_STL;
    req.image = malloc(16);
    REQUIRE(req.image);
    memset(req.image, seed, 16);
    req.image_size = 16;
    if (key) snprintf(req.cache_key, sizeof req.cache_key, "%s", key);
    req.local = local;
    return req;
}

static void key_of(int n, char out[65])
{
    snprintf(out, 65, "%016x%048x", 0xc0ffeeu, (unsigned)n);
}

static orfeas_job_snapshot snap_of(orfeas_job *job)
{
    orfeas_job_snapshot s;
    orfeas_job_snapshot_get(job, &s);
    return s;
}

/* The job completed with the stand-in's STL for seed. */
static void check_result(orfeas_job *job, int seed, const char *what)
{
    orfeas_job_snapshot s = snap_of(job);
    CHECKF(s.state == ORFEAS_JOB_COMPLETED, "%s: state %s (%s)", what,
           orfeas_job_state_name(s.state), s.error_message);
    const uint8_t *data = NULL;
    size_t size = 0;
    orfeas_buffer want = {0};
    expected_stl(seed, &want);
    int rc = orfeas_job_result(job, &data, &size);
    CHECKF(rc == 0 && size == want.size && memcmp(data, want.data, size) == 0,
           "%s: result rc %d, %zu bytes, want the %zu of seed %d", what, rc, size, want.size, seed);
    CHECKF(s.triangles == 4 && s.vertices == 4, "%s: %u triangles, %u vertices", what, s.triangles,
           s.vertices);
    orfeas_buffer_free(&want);
}

/* ------------------------------------------------------------------ */
/* redis-server                                                          */

static pid_t redis_pid = -1;
static int redis_port;
static char redis_dir[] = "/tmp/orfeas-cluster-unit-XXXXXX";
static char redis_bin[512];

static int find_redis(void)
{
    if (access("/usr/bin/redis-server", X_OK) == 0) {
        snprintf(redis_bin, sizeof redis_bin, "/usr/bin/redis-server");
        return 1;
    }
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(redis_bin, sizeof redis_bin, "%.*s/redis-server", (int)n, path);
        if (n && access(redis_bin, X_OK) == 0) return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static redisContext *admin_connect(void)
{
    struct timeval tv = {2, 0};
    redisContext *ctx = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    if (ctx && ctx->err) {
        redisFree(ctx);
        return NULL;
    }
    if (ctx) redisSetTimeout(ctx, tv);
    return ctx;
}

static int redis_pings(void)
{
    redisContext *ctx = admin_connect();
    if (!ctx) return 0;
    redisReply *r = redisCommand(ctx, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
    if (r) freeReplyObject(r);
    redisFree(ctx);
    return ok;
}

static void redis_kill(void)
{
    if (redis_pid <= 0) return;
    kill(redis_pid, SIGKILL);
    waitpid(redis_pid, NULL, 0);
    redis_pid = -1;
}

/* Starts redis-server on redis_port; 1 once it answers PING. */
static int redis_spawn(void)
{
    char port[16], logfile[600];
    snprintf(port, sizeof port, "%d", redis_port);
    snprintf(logfile, sizeof logfile, "%s/redis.log", redis_dir);
    char *argv[] = {redis_bin, "--port",       port, "--bind", "127.0.0.1", "--save",
                    "",        "--appendonly", "no", "--dir",  redis_dir,   "--logfile",
                    logfile,   "--daemonize",  "no", NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* Only system calls between fork and exec (other threads exist). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(redis_bin, argv);
        _exit(127);
    }
    redis_pid = pid;
    for (int i = 0; i < 200; i++) { /* 10 s */
        if (redis_pings()) return 1;
        if (waitpid(pid, NULL, WNOHANG) == pid) { /* exited: port taken? */
            redis_pid = -1;
            return 0;
        }
        sleep_ms(50);
    }
    redis_kill();
    return 0;
}

static void print_redis_log(void)
{
    char path[600], line[512];
    snprintf(path, sizeof path, "%s/redis.log", redis_dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static void remove_redis_dir(void)
{
    DIR *d = opendir(redis_dir);
    if (d) {
        struct dirent *e;
        char path[800];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", redis_dir, e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    rmdir(redis_dir);
}

static void at_exit(void)
{
    redis_kill();
    remove_redis_dir();
}

/* A command on a fresh admin connection; NULL when Redis does not answer. */
static redisReply *admin(const char *format, ...)
{
    redisContext *ctx = admin_connect();
    if (!ctx) return NULL;
    va_list ap;
    va_start(ap, format);
    redisReply *r = redisvCommand(ctx, format, ap);
    va_end(ap);
    redisFree(ctx);
    return r;
}

static long long admin_int(const char *format, const char *arg)
{
    redisReply *r = admin(format, arg);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
    if (r) freeReplyObject(r);
    return v;
}

/* Entries delivered and not acknowledged; -1 when unknown. */
static long long pending_entries(void)
{
    redisReply *r = admin("XPENDING orfeas:jobs orfeas");
    long long n = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                          r->element[0]->type == REDIS_REPLY_INTEGER
                      ? r->element[0]->integer
                      : -1;
    if (r) freeReplyObject(r);
    return n;
}

/* ------------------------------------------------------------------ */
/* the nodes                                                            */

typedef struct node {
    const char *name;
    orfeas_cache *cache;
    orfeas_scheduler *sched;
    orfeas_cluster *cluster;
} node;

static void node_start(node *n, const char *name)
{
    n->name = name;
    orfeas_cache_config cc = {.mem_bytes = 16u << 20, .ttl_s = 3600};
    REQUIRE(orfeas_cache_create(&cc, &n->cache) == 0);
    orfeas_scheduler_config sc = {.workers = 1, .queue_max = 64, .cache = n->cache};
    orfeas_scheduler_tuning tuning = {.generate = fake_generate};
    REQUIRE(orfeas_scheduler_create_tuned(&sc, &tuning, NULL, NULL, &n->sched) == 0);
    char url[64], err[256] = "";
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", redis_port);
    orfeas_cluster_config cfg = {.url = url,
                                 .node_id = name,
                                 .claim_after_ms = 500,
                                 .max_result = 1u << 20,
                                 .cache_ttl_s = 600,
                                 .retention_s = 600};
    int rc = orfeas_cluster_start(&cfg, n->sched, n->cache, &n->cluster, err, sizeof err);
    CHECKF(rc == 0, "cluster start: %s", err);
    REQUIRE(rc == 0);
}

static void node_stop(node *n)
{
    orfeas_cluster_stop_intake(n->cluster);
    orfeas_scheduler_destroy(n->sched, 5);
}

static void node_free(node *n)
{
    orfeas_cluster_free(n->cluster);
    orfeas_cache_destroy(n->cache);
}

static orfeas_cluster_view view(const node *n)
{
    orfeas_cluster_view v;
    orfeas_cluster_view_get(n->cluster, &v);
    return v;
}

static orfeas_job *submit(node *n, orfeas_job_request req)
{
    orfeas_job *job = NULL;
    int rc = orfeas_scheduler_submit(n->sched, &req, &job);
    CHECKF(rc == 0, "%s: submit rc %d", n->name, rc);
    REQUIRE(job);
    return job;
}

/* A local job that keeps the node's only worker busy until the gate of
 * mode opens. Once it runs, the node's puller stops reading the stream;
 * a read it had already blocked in expires within BLOCK_MS (500 ms). */
static orfeas_job *occupy(node *n, int mode, int seed)
{
    atomic_store(&gate[mode], 0);
    orfeas_job *job = submit(n, request(mode, seed, NULL, 1));
    int ok;
    WAIT_UNTIL(ok, snap_of(job).state == ORFEAS_JOB_RUNNING, 10000);
    CHECKF(ok, "%s: the local job runs", n->name);
    return job;
}

static void let_blocked_reads_expire(void)
{
    sleep_ms(1000);
}

static int wait_done(orfeas_job *job, int ms)
{
    return orfeas_job_wait(job, ms) == 0;
}

/* ------------------------------------------------------------------ */
/* the checks                                                           */

static node n1, n2;

static void test_shared_status(void)
{
    orfeas_cluster_view b1 = view(&n1), b2 = view(&n2);
    orfeas_job *busy = occupy(&n2, MODE_GATE_A, 10);
    let_blocked_reads_expire();
    orfeas_job *job = submit(&n1, request(MODE_FAST, 11, NULL, 0));
    CHECK(wait_done(job, 20000));
    check_result(job, 11, "(a) on node 1");
    orfeas_job_snapshot s = snap_of(job);
    /* The outcome is recorded (and counted) just after the job finishes. */
    int ok;
    WAIT_UNTIL(ok, view(&n1).completed == b1.completed + 1, 5000);
    orfeas_cluster_view v1 = view(&n1), v2 = view(&n2);
    CHECKF(ok && v1.dispatched == b1.dispatched + 1 && v1.taken == b1.taken + 1,
           "(a) node 1 dispatched %llu taken %llu completed %llu (before %llu %llu %llu)",
           (unsigned long long)v1.dispatched, (unsigned long long)v1.taken,
           (unsigned long long)v1.completed, (unsigned long long)b1.dispatched,
           (unsigned long long)b1.taken, (unsigned long long)b1.completed);
    CHECKF(v2.taken == b2.taken, "(a) node 2 (busy) took %llu job(s)",
           (unsigned long long)(v2.taken - b2.taken));

    /* Node 2 never saw it: a tracked job settled from the record. */
    orfeas_job *seen = orfeas_scheduler_find(n2.sched, s.id);
    CHECK(seen != NULL && seen != job);
    if (seen) {
        CHECK(wait_done(seen, 5000));
        check_result(seen, 11, "(a) through node 2");
        orfeas_job_snapshot t = snap_of(seen);
        CHECK(strcmp(t.id, s.id) == 0 && t.format == ORFEAS_FORMAT_STL);
        CHECK(t.progress == 100 && strcmp(t.stage, "done") == 0);
        orfeas_job *again = orfeas_scheduler_find(n2.sched, s.id);
        CHECK(again == seen); /* now in node 2's table */
        orfeas_job_unref(again);
        orfeas_job_unref(seen);
    }
    CHECK(orfeas_scheduler_find(n2.sched, "00000000-0000-4000-8000-000000000000") == NULL);
    CHECK(orfeas_scheduler_find(n2.sched, "not-a-job") == NULL);
    CHECK(atomic_load(&runs[11]) == 1);

    atomic_store(&gate[MODE_GATE_A], 1);
    CHECK(wait_done(busy, 10000));
    check_result(busy, 10, "(a) node 2's local job");
    CHECK(view(&n2).taken == b2.taken); /* a local job is not taken from the stream */
    orfeas_job_unref(busy);
    orfeas_job_unref(job);
}

static void test_spread(void)
{
    orfeas_job *busy = occupy(&n1, MODE_GATE_A, 20);
    let_blocked_reads_expire();
    orfeas_cluster_view b1 = view(&n1), b2 = view(&n2);
    atomic_store(&gate[MODE_GATE_B], 0);
    orfeas_job *jobs[6];
    for (int i = 0; i < 6; i++)
        jobs[i] = submit(&n1, request(MODE_GATE_B, 21 + i, NULL, 0));
    int ok;
    WAIT_UNTIL(ok, view(&n2).taken > b2.taken, 10000);
    CHECKF(ok, "(b) node 2 takes work while node 1 is busy");
    CHECK(view(&n1).taken == b1.taken);
    atomic_store(&gate[MODE_GATE_A], 1); /* node 1 free */
    WAIT_UNTIL(ok, view(&n1).taken > b1.taken, 10000);
    CHECKF(ok, "(b) node 1 takes work once free");
    atomic_store(&gate[MODE_GATE_B], 1);
    for (int i = 0; i < 6; i++) {
        char what[32];
        snprintf(what, sizeof what, "(b) job %d", i);
        CHECKF(wait_done(jobs[i], 30000), "%s finishes", what);
        check_result(jobs[i], 21 + i, what);
        /* Readable from node 2 too, with the same bytes. */
        orfeas_job_snapshot s = snap_of(jobs[i]);
        orfeas_job *other = orfeas_scheduler_find(n2.sched, s.id);
        CHECK(other != NULL);
        if (other) {
            CHECK(wait_done(other, 5000));
            snprintf(what, sizeof what, "(b) job %d on node 2", i);
            check_result(other, 21 + i, what);
            orfeas_job_unref(other);
        }
        CHECKF(atomic_load(&runs[21 + i]) == 1, "(b) job %d ran %d times", i,
               atomic_load(&runs[21 + i]));
        orfeas_job_unref(jobs[i]);
    }
    orfeas_cluster_view v1 = view(&n1), v2 = view(&n2);
    uint64_t t1 = v1.taken - b1.taken, t2 = v2.taken - b2.taken;
    CHECKF(t1 > 0 && t2 > 0 && t1 + t2 == 6, "(b) taken: node 1 %llu, node 2 %llu",
           (unsigned long long)t1, (unsigned long long)t2);
    CHECK(v1.dispatched == b1.dispatched + 6);
    CHECK(v1.claimed == b1.claimed && v2.claimed == b2.claimed); /* nobody died */
    CHECK(wait_done(busy, 10000));
    orfeas_job_unref(busy);
    WAIT_UNTIL(ok, pending_entries() == 0, 10000);
    CHECKF(ok, "(b) nothing left pending (%lld)", pending_entries());
}

static void test_cancel_and_join_queued(void)
{
    orfeas_job *busy1 = occupy(&n1, MODE_GATE_A, 30);
    orfeas_job *busy2 = occupy(&n2, MODE_GATE_A, 31);
    let_blocked_reads_expire();
    orfeas_cluster_view b1 = view(&n1), b2 = view(&n2);

    /* A job waiting in the cluster, cancelled from the other node. */
    orfeas_job *job = submit(&n1, request(MODE_FAST, 32, NULL, 0));
    orfeas_job_snapshot s = snap_of(job);
    CHECK(s.state == ORFEAS_JOB_QUEUED);
    orfeas_job *other = orfeas_scheduler_find(n2.sched, s.id);
    CHECK(other != NULL);
    if (other) {
        CHECK(snap_of(other).state == ORFEAS_JOB_QUEUED);
        CHECK(orfeas_scheduler_cancel(n2.sched, other) == 0);
        orfeas_job_snapshot t = snap_of(other);
        CHECKF(t.state == ORFEAS_JOB_CANCELLED && t.error == ORFEAS_ECANCELLED,
               "(c) cancelled on node 2 at once: %s", orfeas_job_state_name(t.state));
        orfeas_job_unref(other);
    }
    CHECK(wait_done(job, 10000));
    s = snap_of(job);
    CHECKF(s.state == ORFEAS_JOB_CANCELLED && s.error == ORFEAS_ECANCELLED,
           "(c) node 1 sees the cancel: %s (%s)", orfeas_job_state_name(s.state), s.error_message);
    CHECKF(strcmp(s.error_message, "cancelled while queued") == 0, "(c) '%s'", s.error_message);
    redisReply *r = admin("HGET orfeas:job:%s state", s.id);
    CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "cancelled") == 0);
    if (r) freeReplyObject(r);

    /* A keyed job waiting in the cluster, joined from the other node. */
    char key[65];
    key_of(1, key);
    orfeas_job_request req = request(MODE_FAST, 33, key, 0);
    orfeas_job *first = NULL, *joined = NULL;
    int attached = -1;
    CHECK(orfeas_scheduler_submit_shared(n1.sched, &req, 1, &first, &attached) == 0);
    CHECK(attached == 0 && first);
    req = request(MODE_FAST, 34, key, 0);
    CHECK(orfeas_scheduler_submit_shared(n2.sched, &req, 1, &joined, &attached) == 0);
    CHECKF(attached == 1, "(c) the queued keyed job is joined from node 2");
    CHECK(joined && first && strcmp(snap_of(joined).id, snap_of(first).id) == 0);

    atomic_store(&gate[MODE_GATE_A], 1);
    CHECK(wait_done(busy1, 10000) && wait_done(busy2, 10000));
    if (first) {
        CHECK(wait_done(first, 20000));
        check_result(first, 33, "(c) keyed job on node 1");
    }
    if (joined) {
        CHECK(wait_done(joined, 20000));
        check_result(joined, 33, "(c) keyed job joined on node 2");
    }
    CHECK(atomic_load(&runs[33]) == 1 && atomic_load(&runs[34]) == 0);
    /* The cancelled job's entry is acknowledged without running it. */
    int ok;
    WAIT_UNTIL(ok,
               view(&n1).skipped_done + view(&n2).skipped_done > b1.skipped_done + b2.skipped_done,
               10000);
    CHECKF(ok, "(c) the cancelled entry is skipped");
    CHECK(atomic_load(&runs[32]) == 0);
    WAIT_UNTIL(ok, pending_entries() == 0, 10000);
    CHECKF(ok, "(c) nothing left pending (%lld)", pending_entries());
    orfeas_job_unref(first);
    orfeas_job_unref(joined);
    orfeas_job_unref(busy1);
    orfeas_job_unref(busy2);
    orfeas_job_unref(job);
}

static void test_join_running(void)
{
    char key[65];
    key_of(2, key);
    atomic_store(&gate[MODE_GATE_C], 0);
    orfeas_job_request req = request(MODE_GATE_C, 40, key, 0);
    orfeas_job *first = NULL, *joined = NULL;
    int attached = -1;
    CHECK(orfeas_scheduler_submit_shared(n1.sched, &req, 1, &first, &attached) == 0);
    CHECK(attached == 0 && first);
    int ok;
    WAIT_UNTIL(ok, atomic_load(&runs[40]) == 1, 10000);
    CHECKF(ok, "(d) the keyed job runs");
    /* Held well beyond claim_after (500 ms): a live node's entry is kept
     * fresh, so the other node (free, polling XAUTOCLAIM) never claims it. */
    orfeas_cluster_view b1 = view(&n1), b2 = view(&n2);
    sleep_ms(2000);
    req = request(MODE_GATE_C, 41, key, 0);
    CHECK(orfeas_scheduler_submit_shared(n2.sched, &req, 1, &joined, &attached) == 0);
    CHECKF(attached == 1, "(d) the running keyed job is joined from node 2");
    CHECK(joined && first && strcmp(snap_of(joined).id, snap_of(first).id) == 0);
    atomic_store(&gate[MODE_GATE_C], 1);
    if (first) {
        CHECK(wait_done(first, 20000));
        check_result(first, 40, "(d) on node 1");
    }
    if (joined) {
        CHECK(wait_done(joined, 20000));
        check_result(joined, 40, "(d) joined on node 2");
    }
    CHECKF(atomic_load(&runs[40]) == 1 && atomic_load(&runs[41]) == 0, "(d) runs %d + %d",
           atomic_load(&runs[40]), atomic_load(&runs[41]));
    CHECKF(view(&n1).claimed == b1.claimed && view(&n2).claimed == b2.claimed,
           "(d) a live node's job was claimed");
    /* The result is in both nodes' caches (the runner's, and the other's
     * through the shared tier). */
    orfeas_buffer want = {0};
    expected_stl(40, &want);
    node *nodes[2] = {&n1, &n2};
    for (int i = 0; i < 2; i++) {
        orfeas_cache_entry *e = NULL;
        CHECKF(orfeas_cache_get(nodes[i]->cache, key, &e) == 0, "(d) cache hit on %s",
               nodes[i]->name);
        if (e) {
            CHECK(e->size == want.size && memcmp(e->data, want.data, want.size) == 0);
            CHECK(e->meta.triangles == 4 && e->meta.format == ORFEAS_FORMAT_STL);
            orfeas_cache_entry_unref(e);
        }
    }
    orfeas_buffer_free(&want);
    CHECK(admin_int("EXISTS orfeas:inflight:%s", key) == 0); /* released when done */
    orfeas_job_unref(first);
    orfeas_job_unref(joined);
}

/* SET orfeas:cache:<key> to bytes, through the admin connection. */
static void admin_set_cache(const char *key, const void *bytes, size_t size)
{
    redisReply *r = admin("SET orfeas:cache:%s %b", key, bytes, size);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    if (r) freeReplyObject(r);
}

static void test_shared_cache(void)
{
    char key[65], bad[65];
    key_of(3, key);
    orfeas_buffer data = {0};
    expected_stl(50, &data);
    orfeas_result_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.job_id, sizeof meta.job_id, "11111111-2222-4333-8444-555555555555");
    meta.format = ORFEAS_FORMAT_STL;
    meta.vertices = meta.triangles = 4;
    meta.total_ms = 12.5;
    CHECK(orfeas_cache_put(n1.cache, key, &meta, data.data, data.size) == 0);
    CHECK(admin_int("EXISTS orfeas:cache:%s", key) == 1);
    long long ttl = admin_int("TTL orfeas:cache:%s", key);
    CHECKF(ttl > 0 && ttl <= 600, "(e) TTL %lld", ttl);

    orfeas_cache_stats before, after;
    orfeas_cache_stats_get(n2.cache, &before);
    orfeas_cache_entry *e = NULL;
    CHECK(orfeas_cache_get(n2.cache, key, &e) == 0 && e);
    if (e) {
        CHECK(e->size == data.size && memcmp(e->data, data.data, data.size) == 0);
        CHECK(strcmp(e->meta.job_id, meta.job_id) == 0 && e->meta.triangles == 4 &&
              e->meta.total_ms == 12.5);
        orfeas_cache_entry_unref(e);
    }
    orfeas_cache_stats_get(n2.cache, &after);
    CHECK(after.hits == before.hits + 1 && after.corrupted == before.corrupted);
    CHECK(strstr(after.backend, "redis") != NULL);

    /* What Redis holds, damaged in several ways: misses, counted. */
    redisReply *r = admin("GET orfeas:cache:%s", key);
    REQUIRE(r && r->type == REDIS_REPLY_STRING && r->len > data.size);
    size_t len = r->len;
    uint8_t *copy = malloc(len);
    REQUIRE(copy);
    memcpy(copy, r->str, len);
    freeReplyObject(r);
    struct {
        const void *bytes;
        size_t size;
        int corrupted; /* counted as corrupted (an empty value is just absent) */
    } cases[4];
    uint8_t *flipped = malloc(len);
    REQUIRE(flipped);
    memcpy(flipped, copy, len);
    flipped[len - 1] ^= 0x5a; /* the payload no longer matches its hash */
    cases[0].bytes = "garbage", cases[0].size = 7, cases[0].corrupted = 1;
    cases[1].bytes = flipped, cases[1].size = len, cases[1].corrupted = 1;
    cases[2].bytes = copy, cases[2].size = len - 10, cases[2].corrupted = 1; /* truncated */
    cases[3].bytes = "", cases[3].size = 0, cases[3].corrupted = 0;
    for (int i = 0; i < 4; i++) {
        key_of(100 + i, bad);
        admin_set_cache(bad, cases[i].bytes, cases[i].size);
        orfeas_cache_stats_get(n2.cache, &before);
        e = NULL;
        CHECKF(orfeas_cache_get(n2.cache, bad, &e) == ORFEAS_ENOTFOUND && e == NULL,
               "(e) damaged value %d is a miss", i);
        orfeas_cache_stats_get(n2.cache, &after);
        CHECKF(after.corrupted == before.corrupted + (uint64_t)cases[i].corrupted &&
                   after.hits == before.hits,
               "(e) damaged value %d: corrupted %llu -> %llu", i,
               (unsigned long long)before.corrupted, (unsigned long long)after.corrupted);
    }
    /* A key of another type (WRONGTYPE on GET): a miss too. */
    key_of(104, bad);
    r = admin("HSET orfeas:cache:%s a b", bad);
    if (r) freeReplyObject(r);
    e = NULL;
    CHECK(orfeas_cache_get(n2.cache, bad, &e) == ORFEAS_ENOTFOUND && e == NULL);
    /* The intact entry still reads fine afterwards. */
    e = NULL;
    CHECK(orfeas_cache_get(n2.cache, key, &e) == 0);
    orfeas_cache_entry_unref(e);
    free(flipped);
    free(copy);
    orfeas_buffer_free(&data);
}

/* A job taken by a node that then died: its entry stays pending under that
 * consumer and a live node claims it after claim_after. */
static void test_claim_dead(void)
{
    static const char id[] = "6f1c2d3e-0000-4000-8000-0000000000aa";
    orfeas_job *busy1 = occupy(&n1, MODE_GATE_A, 70);
    orfeas_job *busy2 = occupy(&n2, MODE_GATE_A, 71);
    let_blocked_reads_expire();
    orfeas_cluster_view b1 = view(&n1), b2 = view(&n2);

    orfeas_params p;
    orfeas_params_init(&p);
    p.quality = MODE_FAST;
    p.format = ORFEAS_FORMAT_STL;
    char params[1024], now[32];
    REQUIRE(orfeas_params_canonical(&p, params, sizeof params) == 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(now, sizeof now, "%.6f", ts.tv_sec + ts.tv_nsec / 1e9);
    uint8_t image[16];
    memset(image, 72, sizeof image);
    redisReply *r = admin("HSET orfeas:job:%s state running stage decode accepted_by ghost node "
                          "ghost created %s started %s params %s format stl key %s image %b",
                          id, now, now, params, "", image, sizeof image);
    CHECK(r && r->type == REDIS_REPLY_INTEGER);
    if (r) freeReplyObject(r);
    r = admin("XADD orfeas:jobs * id %s", id);
    CHECK(r && r->type == REDIS_REPLY_STRING);
    if (r) freeReplyObject(r);
    /* The ghost reads it (both nodes are busy, so it is the only reader). */
    r = admin("XREADGROUP GROUP orfeas ghost COUNT 1 STREAMS orfeas:jobs >");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    if (r) freeReplyObject(r);
    CHECK(pending_entries() == 1);

    /* Node 2 shows it as running elsewhere. */
    orfeas_job *seen = orfeas_scheduler_find(n2.sched, id);
    CHECK(seen && snap_of(seen).state == ORFEAS_JOB_RUNNING);

    atomic_store(&gate[MODE_GATE_A], 1);
    int ok;
    WAIT_UNTIL(ok, view(&n1).claimed + view(&n2).claimed == b1.claimed + b2.claimed + 1, 10000);
    CHECKF(ok, "(g) a live node claims the dead node's job");
    if (seen) {
        CHECK(wait_done(seen, 20000));
        check_result(seen, 72, "(g) the claimed job, through node 2");
        orfeas_job_unref(seen);
    }
    CHECK(atomic_load(&runs[72]) == 1);
    WAIT_UNTIL(ok, pending_entries() == 0, 10000);
    CHECKF(ok, "(g) nothing left pending (%lld)", pending_entries());
    CHECK(wait_done(busy1, 10000) && wait_done(busy2, 10000));
    orfeas_job_unref(busy1);
    orfeas_job_unref(busy2);
}

/* Many jobs back to back from both nodes: each completes once. */
static void test_burst(void)
{
    enum { BATCH = 40, ROUNDS = 5 };
    int failed = 0;
    char first_error[200] = "";
    for (int round = 0; round < ROUNDS; round++) {
        orfeas_job *jobs[BATCH];
        for (int i = 0; i < BATCH; i++)
            jobs[i] = submit(i % 2 ? &n2 : &n1, request(MODE_FAST, 130 + i, NULL, 0));
        for (int i = 0; i < BATCH; i++) {
            CHECK(wait_done(jobs[i], 30000));
            orfeas_job_snapshot s = snap_of(jobs[i]);
            if (s.state != ORFEAS_JOB_COMPLETED) {
                if (!failed++) snprintf(first_error, sizeof first_error, "%s", s.error_message);
            }
            orfeas_job_unref(jobs[i]);
        }
    }
    CHECKF(failed == 0, "(h) %d of %d jobs did not complete (first: %s)", failed, BATCH * ROUNDS,
           first_error);
    int twice = 0;
    for (int i = 0; i < BATCH; i++)
        twice += atomic_load(&runs[130 + i]) != ROUNDS;
    CHECKF(twice == 0, "(h) %d seeds ran other than %d times", twice, ROUNDS);
}

static void test_redis_down(void)
{
    redis_kill();
    int ok;
    WAIT_UNTIL(ok, view(&n1).redis_up == 0 && view(&n2).redis_up == 0, 10000);
    CHECKF(ok, "(f) both nodes see Redis down");
    orfeas_cluster_view b1 = view(&n1), b2 = view(&n2);

    orfeas_job *job = submit(&n1, request(MODE_FAST, 80, NULL, 0));
    CHECK(wait_done(job, 20000));
    check_result(job, 80, "(f) a job while Redis is down");
    CHECK(view(&n1).dispatched == b1.dispatched); /* it ran here */
    CHECK(orfeas_scheduler_find(n2.sched, snap_of(job).id) == NULL);

    char key[65];
    key_of(4, key);
    orfeas_job_request req = request(MODE_FAST, 81, key, 0);
    orfeas_job *keyed = NULL;
    int attached = -1;
    CHECK(orfeas_scheduler_submit_shared(n2.sched, &req, 1, &keyed, &attached) == 0);
    CHECK(attached == 0 && keyed);
    if (keyed) {
        CHECK(wait_done(keyed, 20000));
        check_result(keyed, 81, "(f) a keyed job while Redis is down");
    }
    orfeas_cache_entry *e = NULL;
    CHECK(orfeas_cache_get(n2.cache, key, &e) == 0); /* its local tier */
    orfeas_cache_entry_unref(e);
    e = NULL;
    CHECK(orfeas_cache_get(n1.cache, key, &e) == ORFEAS_ENOTFOUND && !e);
    CHECK(view(&n1).redis_up == 0 && view(&n2).redis_up == 0);

    /* Back on the same port (empty: no persistence). */
    REQUIRE(redis_spawn());
    WAIT_UNTIL(ok, view(&n1).redis_up == 1 && view(&n2).redis_up == 1, 10000);
    CHECKF(ok, "(f) both nodes see Redis again");
    CHECK(view(&n1).reconnects > b1.reconnects && view(&n2).reconnects > b2.reconnects);
    /* Jobs go through the cluster again (every pooled connection is back
     * within its backoff, at most 5 s). */
    int dispatched = 0;
    double until = now_ms() + 10000;
    for (int seed = 90; !dispatched && seed < 120 && now_ms() < until; seed++) {
        orfeas_job *j = submit(&n1, request(MODE_FAST, seed, NULL, 0));
        CHECK(wait_done(j, 20000));
        check_result(j, seed, "(f) a job after Redis came back");
        dispatched = view(&n1).dispatched > b1.dispatched;
        orfeas_job_unref(j);
        if (!dispatched) sleep_ms(200);
    }
    CHECKF(dispatched, "(f) node 1 dispatches through Redis again");
    redisReply *r = admin("XINFO GROUPS orfeas:jobs");
    CHECKF(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1, "(f) the group is re-created");
    if (r) freeReplyObject(r);
    WAIT_UNTIL(ok, view(&n1).nodes_alive == 2, 10000);
    CHECKF(ok, "(f) heartbeats again (%lld alive)", (long long)view(&n1).nodes_alive);
    orfeas_job_unref(keyed);
    orfeas_job_unref(job);
}

int main(void)
{
    orfeas_log_set_level(ORFEAS_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN); /* as the server does: a dead Redis is a write error */
    test_url_parse();

    if (!find_redis()) {
        printf("SKIP test_cluster_unit: redis-server not installed (tools/deps.sh test installs "
               "it)\n");
        return 77;
    }
    REQUIRE(mkdtemp(redis_dir));
    atexit(at_exit);
    int started = 0;
    for (int i = 0; i < 10 && !started; i++) {
        redis_port = free_port();
        started = redis_spawn();
    }
    if (!started) print_redis_log();
    REQUIRE(started);

    node_start(&n1, "node-1");
    node_start(&n2, "node-2");
    int ok;
    WAIT_UNTIL(ok, view(&n1).redis_up && view(&n2).redis_up && view(&n1).nodes_alive == 2, 10000);
    CHECKF(ok, "both nodes up, 2 alive (%lld)", (long long)view(&n1).nodes_alive);
    orfeas_cluster_view v = view(&n2);
    CHECK(strcmp(v.node_id, "node-2") == 0 && v.stream_length == 0 && v.pending == 0);

    test_shared_status();
    test_spread();
    test_cancel_and_join_queued();
    test_join_running();
    test_shared_cache();
    test_claim_dead();
    test_burst();
    test_redis_down();

    node_stop(&n1);
    node_stop(&n2);
    /* The cluster outlives its scheduler ("after the scheduler is gone"):
     * its threads keep running meanwhile. */
    sleep_ms(300);
    node_free(&n1);
    node_free(&n2);
    return testutil_finish("test_cluster_unit");
}
