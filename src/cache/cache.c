/* Two tiers under one mutex. Every key present in either tier has a node in
 * one hash table; nodes sit on an age list (newest first: the order of
 * disk eviction and of the TTL sweep) and, while their bytes are in
 * memory, on an LRU list. File reads and writes happen outside the lock;
 * a per-node generation tells whether a file read is still current. */
#include "orfeas/cache.h"
#include "core/clock.h"
#include "core/fs.h"
#include "cache/key.h"
#include "cache/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 16384u
#define MAGIC "ORFC"
#define FORMAT_VERSION 1u

/* The file header; the payload follows. */
typedef struct file_header {
    char magic[4];
    uint32_t version;
    uint32_t header_size;
    uint32_t reserved;
    uint64_t payload_size;
    double stored_at; /* unix seconds */
    uint8_t sha256[32];
    orfeas_result_meta meta;
} file_header;

typedef struct node {
    char key[ORFEAS_SHA256_HEX];
    orfeas_cache_entry *mem; /* NULL when only on disk */
    uint64_t disk_size;      /* 0 when not on disk */
    double stored_at;
    uint64_t gen;
    struct node *hnext;
    struct node *aprev, *anext; /* age list */
    struct node *lprev, *lnext; /* LRU list (while mem) */
} node;

struct orfeas_cache {
    pthread_mutex_t mu;
    char *dir;
    uint64_t mem_budget, disk_budget;
    double ttl_s;
    double (*now)(void *);
    void *now_ctx;
    node *buckets[BUCKETS];
    node *ahead, *atail, *lhead, *ltail;
    uint64_t nodes, mem_entries, disk_entries, mem_bytes, disk_bytes, gen;
    uint64_t hits, misses, coalesced, evictions, expired, corrupted;
    orfeas_cache_remote remote; /* get == NULL: none */
    char backend[48];
};

static double real_now(void *ctx)
{
    (void)ctx;
    return orfeas_clock_unix_s();
}

void orfeas_result_meta_from(orfeas_result_meta *m, const char *job_id, orfeas_format format,
                             const orfeas_mesh *mesh, const orfeas_generate_stats *stats)
{
    memset(m, 0, sizeof *m);
    snprintf(m->job_id, sizeof m->job_id, "%s", job_id ? job_id : "");
    m->format = (int32_t)format;
    m->precision = (int32_t)stats->precision;
    m->vertices = mesh ? mesh->vertex_count : 0;
    m->triangles = mesh ? mesh->triangle_count : 0;
    memcpy(m->stage_ms, stats->stage_ms, sizeof m->stage_ms);
    m->total_ms = stats->total_ms;
    m->volume = stats->report.volume;
    memcpy(m->min, stats->report.min, sizeof m->min);
    memcpy(m->max, stats->report.max, sizeof m->max);
}

void orfeas_result_meta_to_stats(const orfeas_result_meta *m, orfeas_generate_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->precision = (orfeas_precision)m->precision;
    memcpy(stats->stage_ms, m->stage_ms, sizeof m->stage_ms);
    stats->total_ms = m->total_ms;
    stats->report.volume = m->volume;
    memcpy(stats->report.min, m->min, sizeof m->min);
    memcpy(stats->report.max, m->max, sizeof m->max);
}

void orfeas_cache_entry_ref(orfeas_cache_entry *e)
{
    if (e) atomic_fetch_add(&e->refs, 1);
}

void orfeas_cache_entry_unref(orfeas_cache_entry *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1) return;
    free(e->file);
    free(e);
}

static int valid_key(const char *key)
{
    if (!key || strlen(key) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f'))) return 0;
    return 1;
}

static uint32_t bucket_of(const char *key)
{
    uint32_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 4 | (uint32_t)(key[i] <= '9' ? key[i] - '0' : key[i] - 'a' + 10);
    return h % BUCKETS;
}

int orfeas_cache_path(const orfeas_cache *c, const char *key, char *out, size_t size)
{
    if (!c->dir || !valid_key(key)) return ORFEAS_EINVAL;
    int n = snprintf(out, size, "%s/%.2s/%s", c->dir, key, key);
    return n < 0 || (size_t)n >= size ? ORFEAS_EINVAL : 0;
}

/* --- lists and table (under mu) --- */

static node *find(orfeas_cache *c, const char *key)
{
    node *n = c->buckets[bucket_of(key)];
    while (n && strcmp(n->key, key) != 0)
        n = n->hnext;
    return n;
}

static void age_unlink(orfeas_cache *c, node *n)
{
    if (n->aprev)
        n->aprev->anext = n->anext;
    else
        c->ahead = n->anext;
    if (n->anext)
        n->anext->aprev = n->aprev;
    else
        c->atail = n->aprev;
    n->aprev = n->anext = NULL;
}

static void age_push_front(orfeas_cache *c, node *n)
{
    n->aprev = NULL;
    n->anext = c->ahead;
    if (c->ahead)
        c->ahead->aprev = n;
    else
        c->atail = n;
    c->ahead = n;
}

static int newer_first(const void *a, const void *b)
{
    const node *x = *(node *const *)a, *y = *(node *const *)b;
    return x->stored_at < y->stored_at ? 1 : x->stored_at > y->stored_at ? -1 : 0;
}

/* After loading the index: the age list in stored order, newest first (one
 * sort instead of a sorted insert per file). */
static int sort_age_list(orfeas_cache *c)
{
    if (c->nodes < 2) return 0;
    node **all = malloc(c->nodes * sizeof *all);
    if (!all) return ORFEAS_ENOMEM;
    size_t k = 0;
    for (node *n = c->ahead; n; n = n->anext)
        all[k++] = n;
    qsort(all, k, sizeof *all, newer_first);
    c->ahead = c->atail = NULL;
    for (size_t i = k; i-- > 0;)
        age_push_front(c, all[i]);
    free(all);
    return 0;
}

static void lru_unlink(orfeas_cache *c, node *n)
{
    if (n->lprev)
        n->lprev->lnext = n->lnext;
    else
        c->lhead = n->lnext;
    if (n->lnext)
        n->lnext->lprev = n->lprev;
    else
        c->ltail = n->lprev;
    n->lprev = n->lnext = NULL;
}

static void lru_push_front(orfeas_cache *c, node *n)
{
    n->lprev = NULL;
    n->lnext = c->lhead;
    if (c->lhead)
        c->lhead->lprev = n;
    else
        c->ltail = n;
    c->lhead = n;
}

static uint64_t entry_bytes(const orfeas_cache_entry *e)
{
    return e->file_size + sizeof *e;
}

static void drop_mem(orfeas_cache *c, node *n)
{
    if (!n->mem) return;
    lru_unlink(c, n);
    c->mem_bytes -= entry_bytes(n->mem);
    c->mem_entries--;
    orfeas_cache_entry_unref(n->mem);
    n->mem = NULL;
}

static void drop_disk(orfeas_cache *c, node *n)
{
    if (!n->disk_size) return;
    char path[1200];
    if (!orfeas_cache_path(c, n->key, path, sizeof path) && unlink(path) != 0 && errno != ENOENT)
        ORFEAS_WARN("cache: cannot delete %s: %s", path, strerror(errno));
    c->disk_bytes -= n->disk_size;
    c->disk_entries--;
    n->disk_size = 0;
}

static void remove_node(orfeas_cache *c, node *n)
{
    drop_mem(c, n);
    drop_disk(c, n);
    age_unlink(c, n);
    node **p = &c->buckets[bucket_of(n->key)];
    while (*p && *p != n)
        p = &(*p)->hnext;
    if (*p) *p = n->hnext;
    c->nodes--;
    free(n);
}

/* A node that lost both tiers goes. */
static void prune(orfeas_cache *c, node *n)
{
    if (!n->mem && !n->disk_size) remove_node(c, n);
}

static int expired_at(const orfeas_cache *c, const node *n, double now)
{
    return c->ttl_s > 0 && now - n->stored_at >= c->ttl_s;
}

/* Age first (expired entries), then size, for both tiers. */
static void enforce(orfeas_cache *c, double now)
{
    while (c->atail && expired_at(c, c->atail, now)) {
        c->expired++;
        remove_node(c, c->atail);
    }
    while (c->mem_bytes > c->mem_budget && c->ltail) {
        node *n = c->ltail;
        c->evictions++;
        drop_mem(c, n);
        prune(c, n);
    }
    for (node *n = c->atail; n && c->disk_bytes > c->disk_budget;) {
        node *prev = n->aprev;
        if (n->disk_size) {
            c->evictions++;
            drop_disk(c, n);
            prune(c, n);
        }
        n = prev;
    }
}

/* --- files --- */

static int read_file(const char *path, uint8_t **out, size_t *size)
{
    *out = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? ORFEAS_ENOTFOUND : ORFEAS_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(file_header)) {
        close(fd);
        return ORFEAS_EIO;
    }
    uint8_t *buf = malloc((size_t)st.st_size);
    if (!buf) {
        close(fd);
        return ORFEAS_ENOMEM;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        return ORFEAS_EIO;
    }
    *out = buf;
    *size = got;
    return 0;
}

/* 0 when the header is ours and fits the file's size. */
static int header_ok(const file_header *h, uint64_t file_size)
{
    return memcmp(h->magic, MAGIC, 4) == 0 && h->version == FORMAT_VERSION &&
                   h->header_size == sizeof *h && h->payload_size == file_size - sizeof *h
               ? 0
               : ORFEAS_EIO;
}

/* Takes over file (header + payload) after checking the payload's hash. */
static int entry_from_file(uint8_t *file, size_t file_size, orfeas_cache_entry **out)
{
    file_header h;
    if (!file || file_size < sizeof h) {
        free(file);
        return ORFEAS_EIO;
    }
    memcpy(&h, file, sizeof h);
    uint8_t md[32];
    if (header_ok(&h, file_size) || orfeas_sha256(file + sizeof h, (size_t)h.payload_size, md) ||
        memcmp(md, h.sha256, sizeof md) != 0) {
        free(file);
        return ORFEAS_EIO;
    }
    orfeas_cache_entry *e = calloc(1, sizeof *e);
    if (!e) {
        free(file);
        return ORFEAS_ENOMEM;
    }
    atomic_init(&e->refs, 1);
    e->meta = h.meta;
    e->meta.job_id[sizeof e->meta.job_id - 1] = '\0';
    e->file = file;
    e->file_size = file_size;
    e->data = file + sizeof h;
    e->size = (size_t)h.payload_size;
    *out = e;
    return 0;
}

/* --- API --- */

/* Indexes the files of one <aa> directory by their headers. */
static void scan_subdir(orfeas_cache *c, const char *sub, double now)
{
    DIR *d = opendir(sub);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[1536];
        snprintf(path, sizeof path, "%s/%s", sub, de->d_name);
        if (!valid_key(de->d_name)) {
            /* A temp file left by a crash mid-write. */
            if (strstr(de->d_name, ".tmp.")) unlink(path);
            continue;
        }
        file_header h;
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int ok = fd >= 0 && fstat(fd, &st) == 0 && read(fd, &h, sizeof h) == (ssize_t)sizeof h &&
                 header_ok(&h, (uint64_t)st.st_size) == 0;
        if (fd >= 0) close(fd);
        if (!ok) {
            ORFEAS_WARN("cache: deleting unreadable entry %s", path);
            c->corrupted++;
            unlink(path);
            continue;
        }
        if (c->ttl_s > 0 && now - h.stored_at >= c->ttl_s) {
            c->expired++;
            unlink(path);
            continue;
        }
        node *n = calloc(1, sizeof *n);
        if (!n) break;
        memcpy(n->key, de->d_name, sizeof n->key);
        n->disk_size = (uint64_t)st.st_size;
        n->stored_at = h.stored_at;
        n->gen = ++c->gen;
        uint32_t b = bucket_of(n->key);
        n->hnext = c->buckets[b];
        c->buckets[b] = n;
        age_push_front(c, n);
        c->nodes++;
        c->disk_entries++;
        c->disk_bytes += n->disk_size;
    }
    closedir(d);
}

int orfeas_cache_create(const orfeas_cache_config *config, orfeas_cache **out)
{
    *out = NULL;
    if (!config) return ORFEAS_EINVAL;
    orfeas_cache *c = calloc(1, sizeof *c);
    if (!c) return ORFEAS_ENOMEM;
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return ORFEAS_EINTERNAL;
    }
    c->mem_budget = config->mem_bytes;
    c->disk_budget = config->disk_bytes;
    c->ttl_s = config->ttl_s;
    c->now = config->now ? config->now : real_now;
    c->now_ctx = config->now_ctx;
    if (config->dir && *config->dir) {
        c->dir = strdup(config->dir);
        if (!c->dir) {
            orfeas_cache_destroy(c);
            return ORFEAS_ENOMEM;
        }
        int e = orfeas_mkdir_p(c->dir);
        int rc = !e ? 0 : e == ENAMETOOLONG ? ORFEAS_EINVAL : ORFEAS_EIO;
        if (rc) {
            ORFEAS_ERROR("cache: cannot create %s: %s", c->dir, strerror(e));
            orfeas_cache_destroy(c);
            return rc;
        }
        double now = c->now(c->now_ctx);
        for (int i = 0; i < 256; i++) {
            char sub[1200];
            snprintf(sub, sizeof sub, "%s/%02x", c->dir, i);
            scan_subdir(c, sub, now);
        }
        int rc2 = sort_age_list(c);
        if (rc2) {
            orfeas_cache_destroy(c);
            return rc2;
        }
        enforce(c, now);
        ORFEAS_INFO("cache: %llu entries (%llu bytes) on disk in %s",
                    (unsigned long long)c->disk_entries, (unsigned long long)c->disk_bytes, c->dir);
    }
    *out = c;
    return 0;
}

void orfeas_cache_destroy(orfeas_cache *c)
{
    if (!c) return;
    for (node *n = c->ahead; n;) {
        node *next = n->anext;
        orfeas_cache_entry_unref(n->mem);
        free(n);
        n = next;
    }
    pthread_mutex_destroy(&c->mu);
    free(c->dir);
    free(c);
}

/* Stores an encoded entry in the local tiers (taking e's reference). */
static int put_local(orfeas_cache *c, const char *key, orfeas_cache_entry *e, double stored_at);

/* A local miss asks the shared tier; what it has is kept locally too. */
static int get_remote(orfeas_cache *c, const orfeas_cache_remote *remote, const char *key,
                      orfeas_cache_entry **out)
{
    uint8_t *file = NULL;
    size_t size = 0;
    orfeas_cache_entry *e = NULL;
    if (remote->get(remote->ctx, key, &file, &size)) return ORFEAS_ENOTFOUND;
    int rc = entry_from_file(file, size, &e);
    if (rc) {
        ORFEAS_WARN("cache: shared entry %s failed its check (%s); recomputing", key,
                    orfeas_strerror(rc));
        pthread_mutex_lock(&c->mu);
        c->corrupted++;
        pthread_mutex_unlock(&c->mu);
        return ORFEAS_ENOTFOUND;
    }
    file_header h;
    memcpy(&h, e->file, sizeof h);
    orfeas_cache_entry_ref(e);
    if (put_local(c, key, e, h.stored_at) != 0)
        ORFEAS_DEBUG("cache: shared entry %s not kept locally", key);
    pthread_mutex_lock(&c->mu);
    c->hits++;
    pthread_mutex_unlock(&c->mu);
    *out = e;
    return 0;
}

int orfeas_cache_get(orfeas_cache *c, const char *key, orfeas_cache_entry **out)
{
    *out = NULL;
    if (!c || !valid_key(key)) return ORFEAS_ENOTFOUND;
    pthread_mutex_lock(&c->mu);
    double now = c->now(c->now_ctx);
    node *n = find(c, key);
    if (n && expired_at(c, n, now)) {
        c->expired++;
        remove_node(c, n);
        n = NULL;
    }
    if (!n) {
        orfeas_cache_remote remote = c->remote;
        pthread_mutex_unlock(&c->mu);
        return remote.get ? get_remote(c, &remote, key, out) : ORFEAS_ENOTFOUND;
    }
    if (n->mem) {
        lru_unlink(c, n);
        lru_push_front(c, n);
        orfeas_cache_entry_ref(n->mem);
        *out = n->mem;
        c->hits++;
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    uint64_t gen = n->gen;
    pthread_mutex_unlock(&c->mu);

    /* On disk only: read and check it outside the lock. */
    char path[1200];
    uint8_t *file = NULL;
    size_t file_size = 0;
    orfeas_cache_entry *e = NULL;
    int rc = orfeas_cache_path(c, key, path, sizeof path);
    if (!rc) rc = read_file(path, &file, &file_size);
    if (!rc) rc = entry_from_file(file, file_size, &e);

    pthread_mutex_lock(&c->mu);
    n = find(c, key);
    int current = n && n->gen == gen;
    if (rc) {
        /* A file that vanished (evicted or cleared meanwhile) is no damage. */
        if (current && rc == ORFEAS_ENOTFOUND) {
            remove_node(c, n);
        } else if (current && rc != ORFEAS_ENOMEM) {
            ORFEAS_WARN("cache: entry %s failed its check (%s); deleted, will recompute", key,
                        orfeas_strerror(rc));
            c->corrupted++;
            remove_node(c, n);
        }
        pthread_mutex_unlock(&c->mu);
        return ORFEAS_ENOTFOUND;
    }
    c->hits++;
    if (current && !n->mem && entry_bytes(e) <= c->mem_budget) {
        orfeas_cache_entry_ref(e);
        n->mem = e;
        c->mem_entries++;
        c->mem_bytes += entry_bytes(e);
        lru_push_front(c, n);
        enforce(c, now);
    }
    pthread_mutex_unlock(&c->mu);
    *out = e;
    return 0;
}

int orfeas_cache_entry_encode(const orfeas_result_meta *meta, const uint8_t *data, size_t size,
                              double stored_at, uint8_t **file, size_t *file_size)
{
    *file = NULL;
    *file_size = 0;
    if (!meta || (size && !data)) return ORFEAS_EINVAL;
    uint8_t *buf = malloc(sizeof(file_header) + size);
    if (!buf) return ORFEAS_ENOMEM;
    file_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 4);
    h.version = FORMAT_VERSION;
    h.header_size = sizeof h;
    h.payload_size = size;
    h.stored_at = stored_at;
    h.meta = *meta;
    int rc = orfeas_sha256(data, size, h.sha256);
    if (rc) {
        free(buf);
        return rc;
    }
    memcpy(buf, &h, sizeof h);
    if (size) memcpy(buf + sizeof h, data, size);
    *file = buf;
    *file_size = sizeof h + size;
    return 0;
}

int orfeas_cache_entry_decode(uint8_t *file, size_t file_size, orfeas_cache_entry **out)
{
    return entry_from_file(file, file_size, out);
}

void orfeas_cache_set_remote(orfeas_cache *c, const orfeas_cache_remote *remote)
{
    pthread_mutex_lock(&c->mu);
    if (remote)
        c->remote = *remote;
    else
        memset(&c->remote, 0, sizeof c->remote);
    pthread_mutex_unlock(&c->mu);
}

int orfeas_cache_put(orfeas_cache *c, const char *key, const orfeas_result_meta *meta,
                     const uint8_t *data, size_t size)
{
    if (!c || !valid_key(key) || !meta || (size && !data)) return ORFEAS_EINVAL;
    orfeas_cache_entry *e = calloc(1, sizeof *e);
    if (!e) return ORFEAS_ENOMEM;
    double stored_at = c->now(c->now_ctx);
    int rc = orfeas_cache_entry_encode(meta, data, size, stored_at, &e->file, &e->file_size);
    if (rc) {
        free(e);
        return rc;
    }
    atomic_init(&e->refs, 1);
    e->meta = *meta;
    e->data = e->file + sizeof(file_header);
    e->size = size;
    pthread_mutex_lock(&c->mu);
    orfeas_cache_remote remote = c->remote;
    pthread_mutex_unlock(&c->mu);
    /* The shared tier first: another node may be waiting for it. */
    if (remote.put) remote.put(remote.ctx, key, e->file, e->file_size);
    return put_local(c, key, e, stored_at);
}

static int put_local(orfeas_cache *c, const char *key, orfeas_cache_entry *e, double stored_at)
{
    int rc = 0;
    int on_disk = 0;
    if (c->dir && e->file_size <= c->disk_budget) {
        char path[1200], sub[1200];
        snprintf(sub, sizeof sub, "%s/%.2s", c->dir, key);
        rc = orfeas_cache_path(c, key, path, sizeof path);
        if (!rc && mkdir(sub, 0755) != 0 && errno != EEXIST)
            rc = errno == ENOSPC ? ORFEAS_ENOSPACE : ORFEAS_EIO;
        if (!rc) rc = orfeas_write_file_atomic(path, e->file, e->file_size);
        if (rc) {
            orfeas_cache_entry_unref(e);
            return rc;
        }
        on_disk = 1;
    }

    pthread_mutex_lock(&c->mu);
    node *n = find(c, key);
    if (!n) {
        n = calloc(1, sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&c->mu);
            orfeas_cache_entry_unref(e);
            return ORFEAS_ENOMEM;
        }
        memcpy(n->key, key, sizeof n->key);
        uint32_t b = bucket_of(key);
        n->hnext = c->buckets[b];
        c->buckets[b] = n;
        c->nodes++;
    } else {
        age_unlink(c, n);
        drop_mem(c, n);
        if (n->disk_size) { /* the file was just replaced: account the new one */
            c->disk_bytes -= n->disk_size;
            c->disk_entries--;
            n->disk_size = 0;
        }
    }
    n->stored_at = stored_at;
    n->gen = ++c->gen;
    age_push_front(c, n);
    if (on_disk) {
        n->disk_size = e->file_size;
        c->disk_bytes += n->disk_size;
        c->disk_entries++;
    }
    if (entry_bytes(e) <= c->mem_budget) {
        n->mem = e;
        e = NULL;
        c->mem_entries++;
        c->mem_bytes += entry_bytes(n->mem);
        lru_push_front(c, n);
    }
    prune(c, n);
    enforce(c, stored_at);
    pthread_mutex_unlock(&c->mu);
    orfeas_cache_entry_unref(e);
    return 0;
}

void orfeas_cache_count(orfeas_cache *c, orfeas_cache_outcome outcome)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    if (outcome == ORFEAS_CACHE_MISS)
        c->misses++;
    else
        c->coalesced++;
    pthread_mutex_unlock(&c->mu);
}

uint64_t orfeas_cache_clear(orfeas_cache *c)
{
    if (!c) return 0;
    pthread_mutex_lock(&c->mu);
    uint64_t n = c->nodes;
    while (c->ahead)
        remove_node(c, c->ahead);
    orfeas_cache_remote remote = c->remote;
    pthread_mutex_unlock(&c->mu);
    /* Entries of the shared tier: the cluster-wide count replaces ours
     * (every local entry is also there, unless it was evicted). */
    if (remote.clear) {
        uint64_t shared = remote.clear(remote.ctx);
        if (shared > n) n = shared;
    }
    return n;
}

void orfeas_cache_stats_get(orfeas_cache *c, orfeas_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    out->entries = c->nodes;
    out->memory_entries = c->mem_entries;
    out->disk_entries = c->disk_entries;
    out->bytes = c->mem_bytes;
    out->capacity = c->mem_budget;
    out->disk_bytes = c->disk_bytes;
    out->disk_capacity = c->dir ? c->disk_budget : 0;
    out->hits = c->hits;
    out->misses = c->misses;
    out->coalesced = c->coalesced;
    out->evictions = c->evictions;
    out->expired = c->expired;
    out->corrupted = c->corrupted;
    out->ttl_s = c->ttl_s;
    snprintf(c->backend, sizeof c->backend, "%s%s%s", c->dir ? "memory+disk" : "memory",
             c->remote.get ? "+" : "", c->remote.get ? c->remote.name : "");
    out->backend = c->backend;
    pthread_mutex_unlock(&c->mu);
}
