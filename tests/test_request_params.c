/* Uploads to job requests: multipart (line-ending variants, quoted
 * boundary, preamble and epilogue, limits), raw bodies with query
 * parameters, JSON with base64, Accept, and the error codes and messages. */
#include "server/request_params.h"
#include "testutil.h"

#include <string.h>

static uint8_t *png;
static size_t png_size;

typedef struct body {
    char *data;
    size_t size;
} body;

static void add(body *b, const void *bytes, size_t n)
{
    char *grown = realloc(b->data, b->size + n + 1);
    REQUIRE(grown);
    b->data = grown;
    memcpy(b->data + b->size, bytes, n);
    b->size += n;
    b->data[b->size] = '\0';
}

static void adds(body *b, const char *text)
{
    add(b, text, strlen(text));
}

/* A multipart body with line ending nl: an image part and fields. */
static body multipart(const char *nl, const char *boundary, const char *const *fields,
                      int with_image)
{
    body b = {0};
    adds(&b, "preamble to ignore");
    adds(&b, nl);
    for (const char *const *f = fields; f && f[0]; f += 2) {
        adds(&b, "--");
        adds(&b, boundary);
        adds(&b, nl);
        adds(&b, "Content-Disposition: form-data; name=\"");
        adds(&b, f[0]);
        adds(&b, "\"");
        adds(&b, nl);
        adds(&b, nl);
        adds(&b, f[1]);
        adds(&b, nl);
    }
    if (with_image) {
        adds(&b, "--");
        adds(&b, boundary);
        adds(&b, "  "); /* transport padding */
        adds(&b, nl);
        adds(&b, "content-disposition: form-data; name=image; filename=\"a;b.png\"");
        adds(&b, nl);
        adds(&b, "Content-Type: image/png");
        adds(&b, nl);
        adds(&b, nl);
        add(&b, png, png_size);
        adds(&b, nl);
    }
    adds(&b, "--");
    adds(&b, boundary);
    adds(&b, "--");
    adds(&b, nl);
    adds(&b, "epilogue");
    return b;
}

static int parse(const char *ct, const void *data, size_t size, const char *const *query,
                 const char *accept, int max_parts, orfeas_job_request *req, char *err)
{
    request_input in;
    memset(&in, 0, sizeof in);
    in.content_type = ct;
    in.accept = accept;
    in.body = data;
    in.body_size = size;
    in.query = query;
    in.max_parts = max_parts;
    return orfeas_request_params_parse(&in, req, err, 256);
}

static void test_multipart(void)
{
    const char *fields[] = {"quality", "3",         "format", "stl", "width_mm",
                            "55.5",    "height_mm", "",       NULL};
    const char *nls[] = {"\r\n", "\n"};
    for (int i = 0; i < 2; i++) {
        body b = multipart(nls[i], "XyZ-123", fields, 1);
        orfeas_job_request req;
        char err[256];
        int rc = parse("multipart/form-data; boundary=XyZ-123", b.data, b.size, NULL, NULL, 0, &req,
                       err);
        CHECKF(rc == 0, "nl %d: %s", i, err);
        CHECK(req.image_size == png_size && req.image && memcmp(req.image, png, png_size) == 0);
        CHECK(req.params.quality == 3 && req.params.format == ORFEAS_FORMAT_STL);
        CHECK(req.params.width_mm == 55.5 && req.params.height_mm == 0);
        CHECK(req.mask == NULL && req.depth == NULL);
        orfeas_job_request_free(&req);
        free(b.data);
    }
    /* Quoted boundary with characters that need it, charset param first. */
    body b = multipart("\r\n", "a b:c", fields, 1);
    orfeas_job_request req;
    char err[256];
    CHECK(parse("Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"", b.data, b.size, NULL,
                NULL, 0, &req, err) == 0);
    CHECK(req.params.quality == 3);
    orfeas_job_request_free(&req);
    /* Query parameters apply too; the body's fields win. */
    const char *query[] = {"quality", "9", "mode", "relief", NULL};
    CHECK(parse("multipart/form-data; boundary=\"a b:c\"", b.data, b.size, query, NULL, 0, &req,
                err) == 0);
    CHECK(req.params.quality == 3 && req.params.mode == ORFEAS_MODE_RELIEF);
    orfeas_job_request_free(&req);
    /* Truncated: no closing boundary. */
    CHECK(parse("multipart/form-data; boundary=\"a b:c\"", b.data, b.size / 2, NULL, NULL, 0, &req,
                err) == ORFEAS_EINVAL);
    CHECKF(strstr(err, "closing boundary") != NULL, "%s", err);
    orfeas_job_request_free(&req);
    /* Wrong boundary. */
    CHECK(parse("multipart/form-data; boundary=other", b.data, b.size, NULL, NULL, 0, &req, err) ==
          ORFEAS_EINVAL);
    orfeas_job_request_free(&req);
    CHECK(parse("multipart/form-data", b.data, b.size, NULL, NULL, 0, &req, err) == ORFEAS_EINVAL);
    CHECK(strstr(err, "boundary") != NULL);
    orfeas_job_request_free(&req);
    free(b.data);

    /* Too many parts: 4 fields + image against --max-parts 3. */
    b = multipart("\r\n", "B", fields, 1);
    CHECK(parse("multipart/form-data; boundary=B", b.data, b.size, NULL, NULL, 3, &req, err) ==
          ORFEAS_EINVAL);
    CHECKF(strstr(err, "too many parts") != NULL, "%s", err);
    orfeas_job_request_free(&req);
    free(b.data);

    /* Missing image. */
    b = multipart("\r\n", "B", fields, 0);
    CHECK(parse("multipart/form-data; boundary=B", b.data, b.size, NULL, NULL, 0, &req, err) ==
          ORFEAS_EINVAL);
    CHECKF(strstr(err, "missing image") != NULL, "%s", err);
    orfeas_job_request_free(&req);
    free(b.data);

    /* Unknown field, flag spelling, out of range. */
    const char *unknown[] = {"colour", "red", NULL};
    b = multipart("\r\n", "B", unknown, 1);
    CHECK(parse("multipart/form-data; boundary=B", b.data, b.size, NULL, NULL, 0, &req, err) ==
          ORFEAS_EINVAL);
    CHECKF(strstr(err, "colour") != NULL, "%s", err);
    orfeas_job_request_free(&req);
    free(b.data);
    const char *flag[] = {"--quality", "3", NULL};
    b = multipart("\r\n", "B", flag, 1);
    CHECK(parse("multipart/form-data; boundary=B", b.data, b.size, NULL, NULL, 0, &req, err) ==
          ORFEAS_EINVAL);
    orfeas_job_request_free(&req);
    free(b.data);
    const char *range[] = {"quality", "11", NULL};
    b = multipart("\r\n", "B", range, 1);
    CHECK(parse("multipart/form-data; boundary=B", b.data, b.size, NULL, NULL, 0, &req, err) ==
          ORFEAS_EINVAL);
    CHECKF(strstr(err, "quality") != NULL, "%s", err);
    orfeas_job_request_free(&req);
    free(b.data);

    /* A part without a name, a duplicate image. */
    const char *noname = "--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n";
    CHECK(parse("multipart/form-data; boundary=B", noname, strlen(noname), NULL, NULL, 0, &req,
                err) == ORFEAS_EINVAL);
    orfeas_job_request_free(&req);
    body dup = {0};
    for (int i = 0; i < 2; i++) {
        adds(&dup, "--B\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n");
        add(&dup, png, png_size);
        adds(&dup, "\r\n");
    }
    adds(&dup, "--B--");
    CHECK(parse("multipart/form-data; boundary=B", dup.data, dup.size, NULL, NULL, 0, &req, err) ==
          ORFEAS_EINVAL);
    CHECKF(strstr(err, "duplicate") != NULL, "%s", err);
    orfeas_job_request_free(&req);
    free(dup.data);
    /* Empty optional mask part (a form's unused file input) is ignored. */
    body opt = {0};
    adds(&opt, "--B\r\nContent-Disposition: form-data; name=\"mask\"; filename=\"\"\r\n\r\n\r\n");
    adds(&opt, "--B\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n");
    add(&opt, png, png_size);
    adds(&opt, "\r\n--B--\r\n");
    CHECK(parse("multipart/form-data; boundary=B", opt.data, opt.size, NULL, NULL, 0, &req, err) ==
          0);
    CHECK(req.mask == NULL && req.image_size == png_size);
    orfeas_job_request_free(&req);
    free(opt.data);
}

static char *b64(const uint8_t *data, size_t size)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((size + 2) / 3 * 4 + 1);
    REQUIRE(out);
    size_t o = 0;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < size) v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < size) v |= data[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < size ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < size ? t[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static void test_json(void)
{
    char *enc = b64(png, png_size);
    body b = {0};
    adds(&b, "{\"image\": \"");
    adds(&b, enc);
    adds(&b, "\", \"quality\": 2, \"mode\": \"lithophane\", \"detail\": 0.5, \"mask\": null}");
    orfeas_job_request req;
    char err[256];
    CHECKF(parse("application/json; charset=utf-8", b.data, b.size, NULL, NULL, 0, &req, err) == 0,
           "%s", err);
    CHECK(req.image_size == png_size && memcmp(req.image, png, png_size) == 0);
    CHECK(req.params.quality == 2 && req.params.mode == ORFEAS_MODE_LITHOPHANE);
    CHECK(req.params.detail == 0.5);
    orfeas_job_request_free(&req);
    free(b.data);
    /* A data URL. */
    b = (body){0};
    adds(&b, "{\"image\":\"data:image/png;base64,");
    adds(&b, enc);
    adds(&b, "\"}");
    CHECK(parse("application/json", b.data, b.size, NULL, NULL, 0, &req, err) == 0);
    orfeas_job_request_free(&req);
    free(b.data);
    free(enc);

    const char *bad[] = {"[1,2]",
                         "{\"image\": \"@@@@\"}",
                         "{\"image\": 5}",
                         "{\"image\":",
                         "{\"quality\": true, \"image\": \"\"}",
                         "{\"nope\": 1}",
                         "{\"quality\": 0}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECKF(parse("application/json", bad[i], strlen(bad[i]), NULL, NULL, 0, &req, err) ==
                   ORFEAS_EINVAL,
               "%s", bad[i]);
        orfeas_job_request_free(&req);
    }
}

static void test_raw(void)
{
    orfeas_job_request req;
    char err[256];
    const char *query[] = {"quality", "5", "format", "obj", NULL};
    CHECK(parse("image/png", png, png_size, query, NULL, 0, &req, err) == 0);
    CHECK(req.params.quality == 5 && req.params.format == ORFEAS_FORMAT_OBJ);
    CHECK(req.image_size == png_size);
    orfeas_job_request_free(&req);
    /* The Accept header picks the format, unless one was given. */
    CHECK(parse("application/octet-stream", png, png_size, NULL, "text/html, model/stl;q=0.9", 0,
                &req, err) == 0);
    CHECK(req.params.format == ORFEAS_FORMAT_STL);
    orfeas_job_request_free(&req);
    CHECK(parse(NULL, png, png_size, query, "model/stl", 0, &req, err) == 0);
    CHECK(req.params.format == ORFEAS_FORMAT_OBJ);
    orfeas_job_request_free(&req);
    /* Taking over the upload buffer. */
    orfeas_buffer owner = {0};
    REQUIRE(orfeas_buffer_append(&owner, png, png_size) == 0);
    request_input in;
    memset(&in, 0, sizeof in);
    in.content_type = "image/png";
    in.body = owner.data;
    in.body_size = owner.size;
    in.body_owner = &owner;
    uint8_t *was = owner.data;
    CHECK(orfeas_request_params_parse(&in, &req, err, sizeof err) == 0);
    CHECK(req.image == was && owner.data == NULL);
    orfeas_job_request_free(&req);

    const char *unknown[] = {"speed", "9", NULL};
    CHECK(parse("image/png", png, png_size, unknown, NULL, 0, &req, err) == ORFEAS_EINVAL);
    CHECK(strstr(err, "speed") != NULL);
    orfeas_job_request_free(&req);
    CHECK(parse("text/plain", png, png_size, NULL, NULL, 0, &req, err) == ORFEAS_EUNSUPPORTED);
    orfeas_job_request_free(&req);
    CHECK(parse("image/png", "GIF89a......", 12, NULL, NULL, 0, &req, err) == ORFEAS_EUNSUPPORTED);
    orfeas_job_request_free(&req);
    CHECK(parse("image/png", png, 20, NULL, NULL, 0, &req, err) == ORFEAS_EBADIMAGE);
    orfeas_job_request_free(&req);
    CHECK(parse("image/png", "", 0, NULL, NULL, 0, &req, err) == ORFEAS_EINVAL);
    orfeas_job_request_free(&req);
    memset(&in, 0, sizeof in);
    in.content_type = "image/png";
    in.body = png;
    in.body_size = png_size;
    in.limits.max_pixels = 1000;
    CHECK(orfeas_request_params_parse(&in, &req, err, sizeof err) == ORFEAS_EIMGTOOBIG);
    CHECK(strstr(err, "max-pixels") != NULL);
    orfeas_job_request_free(&req);
}

static void test_helpers(void)
{
    struct {
        const char *in, *out;
        int ok;
    } cases[] = {{"", "", 1},
                 {"Zg==", "f", 1},
                 {"Zg", "f", 1},
                 {"Zm9v", "foo", 1},
                 {"Zm9v\r\nYg==", "foob", 1},
                 {"Zm9vYmE=", "fooba", 1},
                 {"Z", NULL, 0},
                 {"Zg=a", NULL, 0},
                 {"Zm9v=", NULL, 0},
                 {"Zg===", NULL, 0},
                 {"Zm*v", NULL, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *out;
        size_t n;
        int rc = orfeas_request_base64_decode(cases[i].in, strlen(cases[i].in), &out, &n);
        CHECKF((rc == 0) == cases[i].ok, "'%s'", cases[i].in);
        if (!rc && cases[i].out)
            CHECKF(n == strlen(cases[i].out) && memcmp(out, cases[i].out, n) == 0, "'%s'",
                   cases[i].in);
        free(out);
    }
    CHECK(orfeas_request_accept_format("model/gltf-binary") == ORFEAS_FORMAT_GLB);
    CHECK(orfeas_request_accept_format("application/x-ply") == ORFEAS_FORMAT_PLY);
    CHECK(orfeas_request_accept_format("*/*") == -1);
    CHECK(orfeas_request_accept_format(NULL) == -1);
    CHECK(orfeas_request_accepts_json("text/html, application/json;q=0.5"));
    CHECK(!orfeas_request_accepts_json("application/jsonx"));
}

int main(void)
{
    REQUIRE(orfeas_read_file(testutil_data("images/horse.png"), 0, &png, &png_size) == 0);
    test_multipart();
    test_json();
    test_raw();
    test_helpers();
    free(png);
    return testutil_finish("test_request_params");
}
