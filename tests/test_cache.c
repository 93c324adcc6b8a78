/* The cache key and the two-tier cache. Time comes from an injected clock,
 * so TTL cases need no sleeping. */
#include "orfeas/cache.h"
#include "cache/key.h"
#include "orfeas/jobs.h" /* the requests keyed */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static double fake_time = 1e9;
static double fake_now(void *ctx)
{
    (void)ctx;
    return fake_time;
}

static orfeas_job_request request_of(const char *image, const char *mask)
{
    orfeas_job_request req;
    memset(&req, 0, sizeof req);
    orfeas_params_init(&req.params);
    req.image = (uint8_t *)image;
    req.image_size = strlen(image);
    if (mask) {
        req.mask = (uint8_t *)mask;
        req.mask_size = strlen(mask);
    }
    return req;
}

static void test_key(void)
{
    char a[ORFEAS_SHA256_HEX], b[ORFEAS_SHA256_HEX];
    orfeas_job_request r1 = request_of("image-bytes", NULL), r2 = request_of("image-bytes", NULL);
    CHECK(orfeas_job_request_key(&r1, NULL, a) == 0);
    CHECK(strlen(a) == 64);
    /* Parameters set in another order give the same canonical text. */
    char err[128];
    CHECK(orfeas_params_set(&r1.params, "quality", "7", err, sizeof err) == 0);
    CHECK(orfeas_params_set(&r1.params, "format", "glb", err, sizeof err) == 0);
    CHECK(orfeas_params_set(&r2.params, "format", "glb", err, sizeof err) == 0);
    CHECK(orfeas_params_set(&r2.params, "quality", "7", err, sizeof err) == 0);
    CHECK(orfeas_job_request_key(&r1, NULL, a) == 0 && orfeas_job_request_key(&r2, NULL, b) == 0);
    CHECK(strcmp(a, b) == 0);
    /* Any change changes it: a parameter, the image, the mask, the model. */
    CHECK(orfeas_params_set(&r2.params, "quality", "8", err, sizeof err) == 0);
    CHECK(orfeas_job_request_key(&r2, NULL, b) == 0 && strcmp(a, b) != 0);
    r2 = r1;
    r2.image_size--;
    CHECK(orfeas_job_request_key(&r2, NULL, b) == 0 && strcmp(a, b) != 0);
    r2 = r1;
    r2.mask = (uint8_t *)"m";
    r2.mask_size = 1;
    CHECK(orfeas_job_request_key(&r2, NULL, b) == 0 && strcmp(a, b) != 0);
    CHECK(orfeas_job_request_key(&r1, "depth-anything-v2", b) == 0 && strcmp(a, b) != 0);
    /* Length prefixes: moving bytes between fields changes the key. */
    orfeas_job_request x = request_of("ab", "c"), y = request_of("a", "bc");
    CHECK(orfeas_job_request_key(&x, NULL, a) == 0 && orfeas_job_request_key(&y, NULL, b) == 0);
    CHECK(strcmp(a, b) != 0);
    /* A known SHA-256. */
    CHECK(orfeas_sha256_hex("abc", 3, a) == 0);
    CHECK(strcmp(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
}

static void key_of(int i, char out[ORFEAS_SHA256_HEX])
{
    char text[32];
    snprintf(text, sizeof text, "key-%d", i);
    orfeas_sha256_hex(text, strlen(text), out);
}

static orfeas_result_meta meta_of(int i)
{
    orfeas_result_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.job_id, sizeof m.job_id, "job-%d", i);
    m.triangles = (uint32_t)i;
    return m;
}

static void test_lru_bytes(void)
{
    /* An entry takes its 1000 bytes plus a few hundred of header. */
    orfeas_cache_config cfg = {NULL, 3 * 1500, 0, 0, fake_now, NULL};
    orfeas_cache *c;
    REQUIRE(orfeas_cache_create(&cfg, &c) == 0);
    uint8_t data[1000];
    memset(data, 7, sizeof data);
    char k[4][ORFEAS_SHA256_HEX];
    for (int i = 0; i < 4; i++)
        key_of(i, k[i]);
    for (int i = 0; i < 3; i++)
        CHECK(orfeas_cache_put(c, k[i], &(orfeas_result_meta){0}, data, sizeof data) == 0);
    orfeas_cache_entry *e;
    /* Touch 0 so that 1 is the least recently used when 3 comes in. */
    CHECK(orfeas_cache_get(c, k[0], &e) == 0);
    orfeas_cache_entry_unref(e);
    CHECK(orfeas_cache_put(c, k[3], &(orfeas_result_meta){0}, data, sizeof data) == 0);
    orfeas_cache_stats st;
    orfeas_cache_stats_get(c, &st);
    CHECKF(st.bytes <= st.capacity, "%llu > %llu", (unsigned long long)st.bytes,
           (unsigned long long)st.capacity);
    CHECK(st.evictions == 1 && st.entries == 3);
    CHECK(orfeas_cache_get(c, k[1], &e) == ORFEAS_ENOTFOUND);
    CHECK(orfeas_cache_get(c, k[0], &e) == 0 && e && e->size == sizeof data);
    orfeas_cache_entry_unref(e);
    CHECK(orfeas_cache_clear(c) == 3);
    orfeas_cache_stats_get(c, &st);
    CHECK(st.entries == 0 && st.bytes == 0);
    orfeas_cache_destroy(c);
}

static void test_ttl_and_disk(const char *dir)
{
    orfeas_cache_config cfg = {dir, 1 << 20, 1 << 20, 100, fake_now, NULL};
    orfeas_cache *c;
    REQUIRE(orfeas_cache_create(&cfg, &c) == 0);
    char k0[ORFEAS_SHA256_HEX], k1[ORFEAS_SHA256_HEX];
    key_of(100, k0);
    key_of(101, k1);
    const char *payload = "solid model bytes";
    orfeas_result_meta m = meta_of(5);
    CHECK(orfeas_cache_put(c, k0, &m, (const uint8_t *)payload, strlen(payload)) == 0);
    fake_time += 60;
    CHECK(orfeas_cache_put(c, k1, &m, (const uint8_t *)payload, strlen(payload)) == 0);
    orfeas_cache_destroy(c);

    /* A fresh cache finds both on disk, with their metadata. */
    REQUIRE(orfeas_cache_create(&cfg, &c) == 0);
    orfeas_cache_entry *e;
    CHECK(orfeas_cache_get(c, k0, &e) == 0);
    if (e) {
        CHECK(e->size == strlen(payload) && memcmp(e->data, payload, e->size) == 0);
        CHECK(strcmp(e->meta.job_id, "job-5") == 0 && e->meta.triangles == 5);
        orfeas_cache_entry_unref(e);
    }
    /* k0 is 100 s old now: expired, a miss, and its file is gone. */
    fake_time += 40;
    char path[1200];
    CHECK(orfeas_cache_path(c, k0, path, sizeof path) == 0);
    CHECK(orfeas_cache_get(c, k0, &e) == ORFEAS_ENOTFOUND);
    CHECK(access(path, F_OK) != 0);
    orfeas_cache_stats st;
    orfeas_cache_stats_get(c, &st);
    CHECK(st.expired == 1 && st.entries == 1);
    orfeas_cache_destroy(c);

    /* Flip one payload byte on disk: detected, deleted, never served. */
    REQUIRE(orfeas_cache_create(&cfg, &c) == 0);
    CHECK(orfeas_cache_path(c, k1, path, sizeof path) == 0);
    FILE *f = fopen(path, "r+b");
    REQUIRE(f);
    fseek(f, -3, SEEK_END);
    int ch = fgetc(f);
    fseek(f, -3, SEEK_END);
    fputc(ch ^ 0x20, f);
    fclose(f);
    CHECK(orfeas_cache_get(c, k1, &e) == ORFEAS_ENOTFOUND);
    CHECK(access(path, F_OK) != 0);
    orfeas_cache_stats_get(c, &st);
    CHECK(st.corrupted == 1 && st.entries == 0 && st.hits == 0);
    orfeas_cache_destroy(c);
}

static void test_disk_budget(const char *dir)
{
    /* Memory holds nothing; the disk holds two files of ~1.2 KB. */
    orfeas_cache_config cfg = {dir, 0, 3000, 0, fake_now, NULL};
    orfeas_cache *c;
    REQUIRE(orfeas_cache_create(&cfg, &c) == 0);
    uint8_t data[1000] = {1};
    char k[3][ORFEAS_SHA256_HEX];
    for (int i = 0; i < 3; i++) {
        key_of(200 + i, k[i]);
        fake_time += 1;
        CHECK(orfeas_cache_put(c, k[i], &(orfeas_result_meta){0}, data, sizeof data) == 0);
    }
    orfeas_cache_stats st;
    orfeas_cache_stats_get(c, &st);
    CHECK(st.disk_entries == 2 && st.disk_bytes <= 3000 && st.evictions == 1);
    orfeas_cache_entry *e;
    CHECK(orfeas_cache_get(c, k[0], &e) == ORFEAS_ENOTFOUND); /* the oldest went */
    CHECK(orfeas_cache_get(c, k[2], &e) == 0);
    orfeas_cache_entry_unref(e);
    orfeas_cache_destroy(c);
    /* Reloaded with room for one file: the index is rebuilt in age order,
     * so the older of the two goes. */
    cfg.disk_bytes = 1500;
    REQUIRE(orfeas_cache_create(&cfg, &c) == 0);
    CHECK(orfeas_cache_get(c, k[1], &e) == ORFEAS_ENOTFOUND);
    CHECK(orfeas_cache_get(c, k[2], &e) == 0);
    orfeas_cache_entry_unref(e);
    orfeas_cache_destroy(c);
}

typedef struct {
    orfeas_cache *c;
    int id;
} worker;

static void *hammer(void *arg)
{
    worker *w = arg;
    uint8_t data[512];
    memset(data, w->id, sizeof data);
    for (int i = 0; i < 400; i++) {
        char k[ORFEAS_SHA256_HEX];
        key_of(i % 37, k);
        orfeas_cache_entry *e;
        if (orfeas_cache_get(w->c, k, &e) == 0) {
            CHECK(e->size == sizeof data);
            orfeas_cache_entry_unref(e);
        } else {
            orfeas_cache_count(w->c, ORFEAS_CACHE_MISS);
            CHECK(orfeas_cache_put(w->c, k, &(orfeas_result_meta){0}, data, sizeof data) == 0);
        }
        if (i % 97 == 0) orfeas_cache_clear(w->c);
    }
    return NULL;
}

static void test_concurrency(const char *dir)
{
    /* Small budgets so that eviction runs all the time. */
    orfeas_cache_config cfg = {dir, 8 * 1024, 16 * 1024, 0, NULL, NULL};
    orfeas_cache *c;
    REQUIRE(orfeas_cache_create(&cfg, &c) == 0);
    pthread_t t[6];
    worker w[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (worker){c, i};
        REQUIRE(pthread_create(&t[i], NULL, hammer, &w[i]) == 0);
    }
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    orfeas_cache_stats st;
    orfeas_cache_stats_get(c, &st);
    CHECK(st.hits + st.misses == 6 * 400);
    CHECK(st.bytes <= st.capacity && st.disk_bytes <= st.disk_capacity);
    orfeas_cache_destroy(c);
}

int main(void)
{
    char dir[] = "/tmp/orfeas-test-cache-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char sub[4][256];
    for (int i = 0; i < 4; i++)
        snprintf(sub[i], sizeof sub[i], "%s/c%d", dir, i);
    test_key();
    test_lru_bytes();
    test_ttl_and_disk(sub[0]);
    test_disk_budget(sub[1]);
    test_concurrency(sub[2]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return testutil_finish("test_cache");
}
