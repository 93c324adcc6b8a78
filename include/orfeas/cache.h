/* The dedup cache: results by key (cache/key.h) in two tiers, an in-memory
 * LRU bounded in bytes over a disk store of files <dir>/<aa>/<key>, each
 * written atomically with a header carrying the format version and the
 * SHA-256 of the payload (checked on every read: a corrupted file is
 * deleted and counted, never served). Entries older than the TTL are
 * misses and are deleted. Thread-safe; entries handed out are reference
 * counted and immutable. */
#ifndef ORFEAS_CACHE_H
#define ORFEAS_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "orfeas/orfeas.h"

/* What a response needs besides the bytes; fixed layout (it is written to
 * disk as is, behind the file header's version). */
typedef struct orfeas_result_meta {
    char job_id[40]; /* the job that computed it */
    int32_t format;  /* orfeas_format */
    int32_t precision;
    uint32_t vertices, triangles;
    double stage_ms[ORFEAS_STAGE_COUNT_];
    double total_ms;
    double volume;
    float min[3], max[3];
} orfeas_result_meta;

/* From a finished run, and back into the stats the responses read. */
void orfeas_result_meta_from(orfeas_result_meta *m, const char *job_id, orfeas_format format,
                             const orfeas_mesh *mesh, const orfeas_generate_stats *stats);
void orfeas_result_meta_to_stats(const orfeas_result_meta *m, orfeas_generate_stats *stats);

typedef struct orfeas_cache_entry {
    atomic_int refs;
    orfeas_result_meta meta;
    const uint8_t *data; /* the model bytes, inside file */
    size_t size;
    uint8_t *file; /* header + payload, as on disk */
    size_t file_size;
} orfeas_cache_entry;
void orfeas_cache_entry_ref(orfeas_cache_entry *e);
void orfeas_cache_entry_unref(orfeas_cache_entry *e);

typedef struct orfeas_cache orfeas_cache;

typedef struct orfeas_cache_config {
    const char *dir;    /* the disk tier's directory (created); NULL: memory only */
    uint64_t mem_bytes; /* memory tier budget */
    uint64_t disk_bytes;
    double ttl_s; /* <= 0: no expiry */
    /* Unix seconds; NULL: the real-time clock. Tests inject one. */
    double (*now)(void *ctx);
    void *now_ctx;
} orfeas_cache_config;

typedef struct orfeas_cache_stats {
    uint64_t entries, memory_entries, disk_entries;
    uint64_t bytes, capacity; /* memory tier */
    uint64_t disk_bytes, disk_capacity;
    uint64_t hits, misses, coalesced, evictions, expired, corrupted;
    double ttl_s;
    const char *backend; /* "memory+disk" or "memory" */
} orfeas_cache_stats;

/* Loads the disk tier's index (headers only; bad ones are deleted). */
int orfeas_cache_create(const orfeas_cache_config *config, orfeas_cache **out);
void orfeas_cache_destroy(orfeas_cache *c);

/* 0 and a reference in *out on a hit (counted), ORFEAS_ENOTFOUND else.
 * Misses are not counted here: the caller knows whether it coalesced. */
int orfeas_cache_get(orfeas_cache *c, const char *key, orfeas_cache_entry **out);
/* Stores a result (the disk file first: ORFEAS_ENOSPACE when the disk is
 * full, and then nothing is stored). */
int orfeas_cache_put(orfeas_cache *c, const char *key, const orfeas_result_meta *meta,
                     const uint8_t *data, size_t size);
typedef enum { ORFEAS_CACHE_MISS, ORFEAS_CACHE_COALESCED } orfeas_cache_outcome;
void orfeas_cache_count(orfeas_cache *c, orfeas_cache_outcome outcome);
/* Drops every entry of both tiers; the number dropped. */
uint64_t orfeas_cache_clear(orfeas_cache *c);
void orfeas_cache_stats_get(orfeas_cache *c, orfeas_cache_stats *out);
/* A shared tier behind the local ones (cluster mode: Redis). Entries travel
 * in the disk file's encoding, whose payload hash is checked on every read;
 * a remote that fails is a miss, never an error. */
typedef struct orfeas_cache_remote {
    void *ctx;
    const char *name; /* for stats: "redis" */
    /* 0 and a malloc'd encoded entry on a hit. */
    int (*get)(void *ctx, const char *key, uint8_t **file, size_t *size);
    void (*put)(void *ctx, const char *key, const uint8_t *file, size_t size);
    /* Entries dropped. */
    uint64_t (*clear)(void *ctx);
} orfeas_cache_remote;
/* Before use; NULL removes it. */
void orfeas_cache_set_remote(orfeas_cache *c, const orfeas_cache_remote *remote);

/* The encoding of an entry (header with SHA-256, then the bytes): malloc'd. */
int orfeas_cache_entry_encode(const orfeas_result_meta *meta, const uint8_t *data, size_t size,
                              double stored_at, uint8_t **file, size_t *file_size);
/* Checks and decodes one (takes over file, freed on failure):
 * ORFEAS_EIO when it is not an intact entry. */
int orfeas_cache_entry_decode(uint8_t *file, size_t file_size, orfeas_cache_entry **out);

/* The disk file of a key (for tests and tools). */
int orfeas_cache_path(const orfeas_cache *c, const char *key, char *out, size_t size);

#endif
