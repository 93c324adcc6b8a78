/* One connection to Redis (hiredis) that reconnects by itself: after a
 * failure it stays down for a backoff that doubles from 100 ms to 5 s, so a
 * missing Redis costs callers no more than a failed connect now and then.
 * Not thread-safe: one link per thread, or a pool (cluster.c). */
#ifndef ORFEAS_CLUSTER_REDIS_LINK_H
#define ORFEAS_CLUSTER_REDIS_LINK_H

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stddef.h>

/* redis://[[user]:password@]host[:port][/db] */
typedef struct redis_url {
    char host[256];
    int port;
    int db;
    char user[128];
    char password[256];
} redis_url;

/* 0, or ORFEAS_EINVAL with the reason in err. */
int orfeas_redis_url_parse(const char *text, redis_url *out, char *err, size_t err_size);

typedef struct redis_link {
    redisContext *ctx;
    const redis_url *url;
    int timeout_ms;  /* connect and command timeout */
    double retry_at; /* monotonic ms before which no connect is tried */
    double backoff;  /* ms */
    int failures;    /* consecutive */
    /* Run once on every new connection (after AUTH and SELECT); non-zero
     * fails the connection. */
    int (*on_connect)(redisContext *ctx, void *userdata);
    void *userdata;
} redis_link;

void orfeas_redis_link_init(redis_link *l, const redis_url *url, int timeout_ms);
void orfeas_redis_link_close(redis_link *l);
/* The connected context, or NULL while Redis is unreachable. */
redisContext *orfeas_redis_link_get(redis_link *l);
/* After an I/O error: drop the connection and back off. */
void orfeas_redis_link_fail(redis_link *l);
/* One command (binary-safe arguments). NULL on an I/O error (the link is
 * then dropped); an error reply is returned as such. Free with
 * freeReplyObject. */
redisReply *orfeas_redis_link_cmd(redis_link *l, int argc, const char **argv, const size_t *lens);
/* The same with printf-style text arguments (hiredis's format). */
redisReply *orfeas_redis_link_cmdf(redis_link *l, const char *format, ...);
redisReply *orfeas_redis_link_vcmdf(redis_link *l, const char *format, va_list ap);

#endif
