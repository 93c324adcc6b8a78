#include "cluster/redis_link.h"
#include "core/clock.h"

#include "orfeas/error.h"
#include "orfeas/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 100.0
#define BACKOFF_MAX_MS 5000.0

/* %XX escapes in the user and password parts. */
static int unescape(const char *in, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        if (ch == '%' && i + 2 < n) {
            char hex[3] = {in[i + 1], in[i + 2], 0};
            char *end;
            long v = strtol(hex, &end, 16);
            if (*end || v <= 0) return ORFEAS_EINVAL;
            ch = (char)v;
            i += 2;
        }
        if (o + 1 >= size) return ORFEAS_EINVAL;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

int orfeas_redis_url_parse(const char *text, redis_url *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    static const char scheme[] = "redis://";
    if (!text || strncmp(text, scheme, sizeof scheme - 1) != 0) {
        snprintf(err, err_size, "expected redis://[:password@]host[:port][/db]");
        return ORFEAS_EINVAL;
    }
    const char *p = text + sizeof scheme - 1;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *user_end = colon ? colon : at;
        if (unescape(p, (size_t)(user_end - p), out->user, sizeof out->user) ||
            (colon &&
             unescape(colon + 1, (size_t)(at - colon - 1), out->password, sizeof out->password))) {
            snprintf(err, err_size, "bad user or password in the URL");
            return ORFEAS_EINVAL;
        }
        p = at + 1;
    }
    size_t host_len;
    const char *rest;
    if (*p == '[') { /* [IPv6] */
        const char *close = strchr(p, ']');
        if (!close) {
            snprintf(err, err_size, "unclosed [ in the host");
            return ORFEAS_EINVAL;
        }
        host_len = (size_t)(close - p - 1);
        p++;
        rest = close + 1;
    } else {
        host_len = strcspn(p, ":/");
        rest = p + host_len;
    }
    if (host_len == 0 || host_len >= sizeof out->host) {
        snprintf(err, err_size, "missing or too long host");
        return ORFEAS_EINVAL;
    }
    memcpy(out->host, p, host_len);
    out->host[host_len] = '\0';
    char *end;
    if (*rest == ':') {
        long port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535 || (*end && *end != '/')) {
            snprintf(err, err_size, "port: expected 1..65535");
            return ORFEAS_EINVAL;
        }
        out->port = (int)port;
        rest = end;
    }
    if (*rest == '/' && rest[1]) {
        long db = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || *end || db < 0 || db > 1000000) {
            snprintf(err, err_size, "database: expected a number after /");
            return ORFEAS_EINVAL;
        }
        out->db = (int)db;
    } else if (*rest && strcmp(rest, "/") != 0) {
        snprintf(err, err_size, "unexpected '%s' after the host", rest);
        return ORFEAS_EINVAL;
    }
    return 0;
}

void orfeas_redis_link_init(redis_link *l, const redis_url *url, int timeout_ms)
{
    memset(l, 0, sizeof *l);
    l->url = url;
    l->timeout_ms = timeout_ms;
    l->backoff = BACKOFF_MIN_MS;
}

void orfeas_redis_link_close(redis_link *l)
{
    if (l->ctx) redisFree(l->ctx);
    l->ctx = NULL;
}

void orfeas_redis_link_fail(redis_link *l)
{
    if (l->ctx && l->failures == 0)
        ORFEAS_WARN("redis %s:%d: connection lost (%s); reconnecting with backoff", l->url->host,
                    l->url->port, l->ctx->errstr[0] ? l->ctx->errstr : "error");
    orfeas_redis_link_close(l);
    l->failures++;
    l->retry_at = orfeas_clock_mono_ms() + l->backoff;
    l->backoff = l->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff * 2;
}

/* An OK-ish reply (not an error, not missing). */
static int reply_ok(redisReply *r)
{
    return r && r->type != REDIS_REPLY_ERROR;
}

static int handshake(redis_link *l)
{
    const redis_url *u = l->url;
    redisReply *r = NULL;
    if (u->password[0]) {
        r = u->user[0] ? redisCommand(l->ctx, "AUTH %s %s", u->user, u->password)
                       : redisCommand(l->ctx, "AUTH %s", u->password);
        if (!reply_ok(r)) {
            ORFEAS_WARN("redis %s:%d: AUTH failed: %s", u->host, u->port,
                        r ? r->str : l->ctx->errstr);
            if (r) freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    if (u->db) {
        r = redisCommand(l->ctx, "SELECT %d", u->db);
        if (!reply_ok(r)) {
            if (r) freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return l->on_connect ? l->on_connect(l->ctx, l->userdata) : 0;
}

redisContext *orfeas_redis_link_get(redis_link *l)
{
    if (l->ctx) return l->ctx;
    if (orfeas_clock_mono_ms() < l->retry_at) return NULL;
    struct timeval tv = {l->timeout_ms / 1000, (l->timeout_ms % 1000) * 1000};
    l->ctx = redisConnectWithTimeout(l->url->host, l->url->port, tv);
    if (!l->ctx || l->ctx->err) {
        if (l->failures == 0)
            ORFEAS_WARN("redis %s:%d: cannot connect: %s", l->url->host, l->url->port,
                        l->ctx ? l->ctx->errstr : "out of memory");
        orfeas_redis_link_close(l);
        orfeas_redis_link_fail(l);
        return NULL;
    }
    redisSetTimeout(l->ctx, tv);
    redisEnableKeepAlive(l->ctx);
    if (handshake(l)) {
        orfeas_redis_link_fail(l);
        return NULL;
    }
    if (l->failures) ORFEAS_INFO("redis %s:%d: connected again", l->url->host, l->url->port);
    l->failures = 0;
    l->backoff = BACKOFF_MIN_MS;
    return l->ctx;
}

redisReply *orfeas_redis_link_cmd(redis_link *l, int argc, const char **argv, const size_t *lens)
{
    redisContext *c = orfeas_redis_link_get(l);
    if (!c) return NULL;
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (!r) orfeas_redis_link_fail(l);
    return r;
}

redisReply *orfeas_redis_link_vcmdf(redis_link *l, const char *format, va_list ap)
{
    redisContext *c = orfeas_redis_link_get(l);
    if (!c) return NULL;
    redisReply *r = redisvCommand(c, format, ap);
    if (!r) orfeas_redis_link_fail(l);
    return r;
}

redisReply *orfeas_redis_link_cmdf(redis_link *l, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    redisReply *r = orfeas_redis_link_vcmdf(l, format, ap);
    va_end(ap);
    return r;
}
