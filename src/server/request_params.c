/* Uploads to job requests: multipart (RFC 7578 over RFC 2046), raw image
 * bodies and JSON with base64 images. See request_params.h. */
#include "server/request_params.h"
#include "server/server_internal.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_BOUNDARY 70 /* RFC 2046 */
#define MAX_PART_NAME 64

typedef struct parse_ctx {
    orfeas_job_request *req;
    int format_explicit;
    char *err;
    size_t err_size;
} parse_ctx;

static int fail(parse_ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parse_ctx *c, int code, const char *fmt, ...)
{
    if (c->err && c->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->err_size, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* One parameter by its field name. Empty values count as not given: HTML
 * forms send every input, filled or not. */
static int set_param(parse_ctx *c, const char *name, const char *value)
{
    if (!value || !*value) return 0;
    const orfeas_param_desc *d = orfeas_params_find(name);
    /* Field names only: "--width-mm" is a CLI flag, not a field. */
    if (!d || strcmp(d->name, name) != 0)
        return fail(c, ORFEAS_EINVAL, "unknown parameter '%.64s'", name);
    if (orfeas_params_set(&c->req->params, name, value, c->err, c->err_size)) return ORFEAS_EINVAL;
    if (strcmp(name, "format") == 0) c->format_explicit = 1;
    return 0;
}

static uint8_t **file_slot(orfeas_job_request *req, const char *name, size_t **size)
{
    if (strcmp(name, "image") == 0) return *size = &req->image_size, &req->image;
    if (strcmp(name, "mask") == 0) return *size = &req->mask_size, &req->mask;
    if (strcmp(name, "depth") == 0) return *size = &req->depth_size, &req->depth;
    return NULL;
}

static int set_file(parse_ctx *c, const char *name, const uint8_t *data, size_t size)
{
    size_t *slot_size;
    uint8_t **slot = file_slot(c->req, name, &slot_size);
    if (*slot) return fail(c, ORFEAS_EINVAL, "duplicate '%s'", name);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return fail(c, ORFEAS_ENOMEM, "out of memory");
    if (size) memcpy(copy, data, size);
    *slot = copy;
    *slot_size = size;
    return 0;
}

/* --- media types --- */

static int is_space(int ch)
{
    return ch == ' ' || ch == '\t';
}

/* Whether the media type of a header value (before any ';') is type. */
static int media_is(const char *value, const char *type)
{
    if (!value) return 0;
    while (is_space(*value))
        value++;
    size_t n = strlen(type);
    if (strncasecmp(value, type, n) != 0) return 0;
    value += n;
    while (is_space(*value))
        value++;
    return *value == '\0' || *value == ';' || *value == ',';
}

/* A parameter of a header value (`; name=token` or `; name="quoted"`),
 * unescaped into out. 1 when found, 0 when not, -1 when malformed or too
 * long. Quoted strings may hold ';', so the value is scanned, not split. */
static int header_param(const char *value, const char *name, char *out, size_t out_size)
{
    const char *p = strchr(value, ';');
    size_t name_len = strlen(name);
    while (p && *p == ';') {
        p++;
        while (is_space(*p))
            p++;
        const char *key = p;
        while (*p && *p != '=' && *p != ';' && !is_space(*p))
            p++;
        size_t key_len = (size_t)(p - key);
        while (is_space(*p))
            p++;
        if (*p != '=') {
            if (*p && *p != ';') return -1;
            continue; /* a bare token */
        }
        p++;
        while (is_space(*p))
            p++;
        size_t o = 0;
        int too_long = 0;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                if (o + 1 < out_size)
                    out[o++] = *p;
                else
                    too_long = 1;
            }
            if (*p != '"') return -1;
            p++;
        } else {
            for (; *p && *p != ';' && !is_space(*p); p++) {
                if (o + 1 < out_size)
                    out[o++] = *p;
                else
                    too_long = 1;
            }
        }
        out[o] = '\0';
        while (is_space(*p))
            p++;
        if (*p && *p != ';') return -1;
        if (key_len == name_len && strncasecmp(key, name, name_len) == 0) return too_long ? -1 : 1;
    }
    return 0;
}

/* --- multipart --- */

/* The next line of [p, end): its length without the CR LF or LF, and where
 * the next line starts; NULL when no line break is left. */
static const uint8_t *next_line(const uint8_t *p, const uint8_t *end, size_t *len)
{
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return NULL;
    *len = (size_t)(nl - p);
    if (*len && nl[-1] == '\r') (*len)--;
    return nl + 1;
}

/* The first "\n--boundary" in [p, p+n) (memmem is a GNU extension). */
static const uint8_t *find_delim(const uint8_t *p, size_t n, const char *delim, size_t dlen)
{
    const uint8_t *end = p + n;
    while ((size_t)(end - p) >= dlen) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p) - dlen + 1);
        if (!nl) return NULL;
        if (memcmp(nl, delim, dlen) == 0) return nl;
        p = nl + 1;
    }
    return NULL;
}

typedef struct part_headers {
    char name[MAX_PART_NAME + 1];
    int has_filename;
} part_headers;

static int parse_part_headers(parse_ctx *c, const uint8_t *p, const uint8_t *end, part_headers *h,
                              const uint8_t **content)
{
    const uint8_t *start = p;
    int disposition = 0;
    memset(h, 0, sizeof *h);
    for (;;) {
        size_t len;
        const uint8_t *next = next_line(p, end, &len);
        if (!next || (size_t)(next - start) > REQUEST_MAX_PART_HEADERS) {
            if ((size_t)(end - start) > REQUEST_MAX_PART_HEADERS)
                return fail(c, ORFEAS_EINVAL, "multipart: part headers over %d bytes",
                            REQUEST_MAX_PART_HEADERS);
            return fail(c, ORFEAS_EINVAL, "multipart: truncated part headers");
        }
        if (len == 0) {
            *content = next;
            break;
        }
        char line[REQUEST_MAX_PART_HEADERS + 1];
        memcpy(line, p, len);
        line[len] = '\0';
        p = next;
        if (memchr(line, '\0', len)) return fail(c, ORFEAS_EINVAL, "multipart: NUL in a header");
        if (is_space(line[0])) continue; /* folded continuation of a header we skip */
        char *colon = strchr(line, ':');
        if (!colon) return fail(c, ORFEAS_EINVAL, "multipart: malformed part header");
        *colon = '\0';
        if (strcasecmp(line, "Content-Disposition") != 0) continue;
        const char *value = colon + 1;
        while (is_space(*value))
            value++;
        if (!media_is(value, "form-data"))
            return fail(c, ORFEAS_EINVAL, "multipart: Content-Disposition must be form-data");
        if (disposition)
            return fail(c, ORFEAS_EINVAL, "multipart: two Content-Disposition headers");
        disposition = 1;
        int rc = header_param(value, "name", h->name, sizeof h->name);
        if (rc < 0) return fail(c, ORFEAS_EINVAL, "multipart: malformed or over-long part name");
        char filename[256];
        rc = header_param(value, "filename", filename, sizeof filename);
        h->has_filename = rc != 0; /* a long file name is still a file */
    }
    if (!h->name[0]) return fail(c, ORFEAS_EINVAL, "multipart: a part without a name");
    return 0;
}

static int handle_part(parse_ctx *c, const part_headers *h, const uint8_t *data, size_t size)
{
    size_t *slot_size;
    if (file_slot(c->req, h->name, &slot_size)) {
        if (size == 0) return 0; /* an empty optional file input */
        return set_file(c, h->name, data, size);
    }
    if (size > REQUEST_MAX_FIELD)
        return fail(c, ORFEAS_EINVAL, "%.64s: value over %d bytes", h->name, REQUEST_MAX_FIELD);
    char value[REQUEST_MAX_FIELD + 1];
    memcpy(value, data, size);
    value[size] = '\0';
    if (memchr(value, '\0', size))
        return fail(c, ORFEAS_EINVAL, "%.64s: NUL in the value", h->name);
    return set_param(c, h->name, value);
}

static int parse_multipart(parse_ctx *c, const request_input *in)
{
    char boundary[MAX_BOUNDARY + 2];
    int rc = header_param(in->content_type, "boundary", boundary, sizeof boundary);
    if (rc <= 0 || !boundary[0] || strlen(boundary) > MAX_BOUNDARY)
        return fail(c, ORFEAS_EINVAL, "multipart: missing or invalid boundary in Content-Type");
    /* "\n--boundary": a delimiter starts a line. */
    char delim[MAX_BOUNDARY + 4];
    int dlen = snprintf(delim, sizeof delim, "\n--%s", boundary);
    if (!in->body || !in->body_size) return fail(c, ORFEAS_EINVAL, "multipart: empty body");
    const uint8_t *body = in->body, *end = in->body + in->body_size;

    const uint8_t *p;
    if (in->body_size >= (size_t)dlen - 1 && memcmp(body, delim + 1, (size_t)dlen - 1) == 0) {
        p = body + dlen - 1;
    } else {
        const uint8_t *at = find_delim(body, in->body_size, delim, (size_t)dlen);
        if (!at) return fail(c, ORFEAS_EINVAL, "multipart: the boundary never appears in the body");
        p = at + dlen;
    }
    int max_parts = in->max_parts > 0 ? in->max_parts : REQUEST_DEFAULT_MAX_PARTS;
    int parts = 0;
    for (;;) {
        /* After a delimiter: "--" closes; else padding and a line break. */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') return 0; /* the epilogue is ignored */
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p == '\r') p++;
        if (p >= end || *p != '\n')
            return fail(c, ORFEAS_EINVAL,
                        p >= end ? "multipart: body ends without the closing boundary"
                                 : "multipart: malformed boundary line");
        p++;
        if (++parts > max_parts)
            return fail(c, ORFEAS_EINVAL, "multipart: too many parts (at most %d, --max-parts)",
                        max_parts);
        part_headers h;
        const uint8_t *content;
        rc = parse_part_headers(c, p, end, &h, &content);
        if (rc) return rc;
        /* Search from the header block's own line break, so a delimiter
         * right after the blank line (an empty part) is found too. */
        const uint8_t *from = content - 1;
        const uint8_t *at = find_delim(from, (size_t)(end - from), delim, (size_t)dlen);
        if (!at) return fail(c, ORFEAS_EINVAL, "multipart: body ends without the closing boundary");
        const uint8_t *content_end = at;
        if (content_end > content && content_end[-1] == '\r') content_end--;
        if (content_end < content) content_end = content;
        rc = handle_part(c, &h, content, (size_t)(content_end - content));
        if (rc) return rc;
        p = at + dlen;
    }
}

/* --- base64 and JSON --- */

int orfeas_request_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    uint8_t *buf = malloc(len / 4 * 3 + 3);
    if (!buf) return ORFEAS_ENOMEM;
    uint32_t acc = 0;
    size_t n = 0, o = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        int v;
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
        if (ch == '=') {
            pad++;
            continue;
        }
        if (pad) goto bad; /* data after padding */
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z')
            v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9')
            v = ch - '0' + 52;
        else if (ch == '+' || ch == '-')
            v = 62;
        else if (ch == '/' || ch == '_')
            v = 63;
        else
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        if (++n % 4 == 0) {
            buf[o++] = (uint8_t)(acc >> 16);
            buf[o++] = (uint8_t)(acc >> 8);
            buf[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    size_t rest = n % 4;
    if (rest == 1 || (pad && (rest == 0 || pad != 4 - rest))) goto bad;
    if (rest == 2) {
        buf[o++] = (uint8_t)(acc >> 4);
    } else if (rest == 3) {
        buf[o++] = (uint8_t)(acc >> 10);
        buf[o++] = (uint8_t)(acc >> 2);
    }
    *out = buf;
    *out_size = o;
    return 0;
bad:
    free(buf);
    return ORFEAS_EINVAL;
}

static int json_file(parse_ctx *c, const cJSON *item)
{
    const char *name = item->string;
    if (cJSON_IsNull(item)) return 0;
    if (!cJSON_IsString(item) || !item->valuestring)
        return fail(c, ORFEAS_EINVAL, "%s: expected a base64 string", name);
    const char *text = item->valuestring;
    /* A data URL ("data:image/png;base64,...") as a browser makes it. */
    if (strncmp(text, "data:", 5) == 0) {
        const char *comma = strchr(text, ',');
        if (!comma) return fail(c, ORFEAS_EINVAL, "%s: malformed data URL", name);
        text = comma + 1;
    }
    size_t *slot_size;
    uint8_t **slot = file_slot(c->req, name, &slot_size);
    if (*slot) return fail(c, ORFEAS_EINVAL, "duplicate '%s'", name);
    if (!*text) return 0;
    int rc = orfeas_request_base64_decode(text, strlen(text), slot, slot_size);
    if (rc == ORFEAS_ENOMEM) return fail(c, rc, "out of memory");
    if (rc) return fail(c, rc, "%s: invalid base64", name);
    return 0;
}

static int parse_json(parse_ctx *c, const request_input *in)
{
    cJSON *root = cJSON_ParseWithLength((const char *)in->body, in->body_size);
    if (!root) return fail(c, ORFEAS_EINVAL, "malformed JSON body");
    int rc = 0;
    if (!cJSON_IsObject(root)) rc = fail(c, ORFEAS_EINVAL, "the JSON body must be an object");
    for (const cJSON *item = root->child; !rc && item; item = item->next) {
        const char *name = item->string ? item->string : "";
        size_t *slot_size;
        if (file_slot(c->req, name, &slot_size)) {
            rc = json_file(c, item);
        } else if (cJSON_IsNull(item)) {
            continue;
        } else if (cJSON_IsNumber(item)) {
            char value[64];
            snprintf(value, sizeof value, "%.17g", item->valuedouble);
            rc = set_param(c, name, value);
        } else if (cJSON_IsString(item) && item->valuestring) {
            if (strlen(item->valuestring) > REQUEST_MAX_FIELD)
                rc = fail(c, ORFEAS_EINVAL, "%.64s: value over %d bytes", name, REQUEST_MAX_FIELD);
            else
                rc = set_param(c, name, item->valuestring);
        } else if (!orfeas_params_find(name) || strcmp(orfeas_params_find(name)->name, name)) {
            rc = fail(c, ORFEAS_EINVAL, "unknown parameter '%.64s'", name);
        } else {
            rc = fail(c, ORFEAS_EINVAL, "%s: expected a number or a string", name);
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* --- the whole request --- */

static int parse_raw(parse_ctx *c, const request_input *in)
{
    if (in->body_size == 0) return 0; /* "missing image" below */
    if (in->body_owner && in->body_owner->data == in->body) {
        /* Taken over: the upload is the image, no copy. */
        c->req->image = in->body_owner->data;
        c->req->image_size = in->body_size;
        memset(in->body_owner, 0, sizeof *in->body_owner);
        return 0;
    }
    return set_file(c, "image", in->body, in->body_size);
}

static int probe(parse_ctx *c, const char *name, const uint8_t *data, size_t size,
                 const orfeas_decode_limits *limits)
{
    if (!data) return 0;
    orfeas_image_info info;
    int rc = orfeas_image_probe(data, size, limits, &info);
    if (!rc) return 0;
    uint64_t max = limits->max_pixels ? limits->max_pixels : ORFEAS_DEFAULT_MAX_PIXELS;
    switch (rc) {
    case ORFEAS_EUNSUPPORTED:
        return fail(c, rc, "%s: not a PNG, JPEG or WebP image", name);
    case ORFEAS_EIMGTOOBIG:
        return fail(c, rc, "%s: more than %llu pixels (--max-pixels)", name,
                    (unsigned long long)max);
    case ORFEAS_EBADIMAGE:
        return fail(c, rc, "%s: corrupt or truncated image header", name);
    default:
        return fail(c, rc, "%s: %s", name, orfeas_strerror(rc));
    }
}

int orfeas_request_params_parse(const request_input *in, orfeas_job_request *req, char *err,
                                size_t err_size)
{
    memset(req, 0, sizeof *req);
    orfeas_params_init(&req->params);
    if (err && err_size) err[0] = '\0';
    parse_ctx c = {req, 0, err, err_size};
    int rc = 0, pairs = 0;
    for (const char *const *q = in->query; !rc && q && q[0]; q += 2, pairs++) {
        if (pairs >= REQUEST_MAX_QUERY)
            return fail(&c, ORFEAS_EINVAL, "too many query parameters (at most %d)",
                        REQUEST_MAX_QUERY);
        rc = set_param(&c, q[0], q[1]);
    }
    if (rc) return rc;

    const char *ct = in->content_type;
    if (media_is(ct, "multipart/form-data"))
        rc = parse_multipart(&c, in);
    else if (media_is(ct, "application/json"))
        rc = parse_json(&c, in);
    else if (!ct || !*ct || media_is(ct, "image/png") || media_is(ct, "image/jpeg") ||
             media_is(ct, "image/jpg") || media_is(ct, "image/webp") ||
             media_is(ct, "application/octet-stream"))
        rc = parse_raw(&c, in);
    else
        rc = fail(&c, ORFEAS_EUNSUPPORTED,
                  "Content-Type '%.64s': send multipart/form-data, application/json or an "
                  "image (image/png, image/jpeg, image/webp)",
                  ct);
    if (rc) return rc;

    if (!req->image)
        return fail(&c, ORFEAS_EINVAL,
                    "missing image: send an 'image' file part, a raw image body or JSON "
                    "{\"image\": \"<base64>\"}");
    if ((rc = probe(&c, "image", req->image, req->image_size, &in->limits)) ||
        (rc = probe(&c, "mask", req->mask, req->mask_size, &in->limits)) ||
        (rc = probe(&c, "depth", req->depth, req->depth_size, &in->limits)))
        return rc;
    if (!c.format_explicit) {
        int f = orfeas_request_accept_format(in->accept);
        if (f >= 0) req->params.format = (orfeas_format)f;
    }
    if (orfeas_params_validate(&req->params, err, err_size)) return ORFEAS_EINVAL;
    return 0;
}

/* Calls fn for each media range of an Accept header until it returns 1. */
static int accept_each(const char *accept, int (*fn)(const char *type, size_t len, void *arg),
                       void *arg)
{
    for (const char *p = accept; p && *p;) {
        while (*p == ',' || is_space(*p))
            p++;
        const char *type = p;
        while (*p && *p != ',' && *p != ';' && !is_space(*p))
            p++;
        size_t len = (size_t)(p - type);
        if (len && fn(type, len, arg)) return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

static int type_is(const char *type, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(type, want, len) == 0;
}

static int match_model(const char *type, size_t len, void *arg)
{
    for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++)
        if (type_is(type, len, orfeas_format_mime((orfeas_format)f))) {
            *(int *)arg = f;
            return 1;
        }
    return 0;
}

static int match_json(const char *type, size_t len, void *arg)
{
    (void)arg;
    return type_is(type, len, "application/json");
}

int orfeas_request_accept_format(const char *accept)
{
    int f = -1;
    accept_each(accept, match_model, &f);
    return f;
}

int orfeas_request_accepts_json(const char *accept)
{
    return accept_each(accept, match_json, NULL);
}

/* --- the HTTP adapter --- */

typedef struct query_list {
    const char *pairs[2 * REQUEST_MAX_QUERY + 4];
    int count;
    int overflow;
} query_list;

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    query_list *q = cls;
    if (q->count >= REQUEST_MAX_QUERY) {
        q->overflow = 1;
        return MHD_NO;
    }
    q->pairs[2 * q->count] = key;
    q->pairs[2 * q->count + 1] = value ? value : "";
    q->count++;
    return MHD_YES;
}

int orfeas_request_params_from_request(struct request *r, orfeas_job_request *req, char *err,
                                       size_t err_size)
{
    query_list q;
    memset(&q, 0, sizeof q);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    if (q.overflow) {
        memset(req, 0, sizeof *req);
        snprintf(err, err_size, "too many query parameters (at most %d)", REQUEST_MAX_QUERY);
        return ORFEAS_EINVAL;
    }
    request_input in;
    memset(&in, 0, sizeof in);
    in.content_type = orfeas_request_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    in.accept = orfeas_request_header(r, MHD_HTTP_HEADER_ACCEPT);
    in.body = r->body.data;
    in.body_size = r->body.size;
    in.body_owner = &r->body;
    in.query = q.pairs;
    in.max_parts = r->server->config.max_parts;
    in.limits.max_pixels = r->server->config.max_pixels;
    return orfeas_request_params_parse(&in, req, err, err_size);
}

int orfeas_request_job_or_answer(request *r, orfeas_job_request *req, enum MHD_Result *answered)
{
    char err[320];
    int rc = orfeas_request_params_from_request(r, req, err, sizeof err);
    if (!rc) return 0;
    orfeas_job_request_free(req);
    *answered = orfeas_respond_error(r, rc, err);
    return 1;
}
