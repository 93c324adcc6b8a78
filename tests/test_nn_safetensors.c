/* safetensors parser: hand-built valid files and every kind of malformed one. */
#include "nn/safetensors.h"
#include "orfeas/depth.h"
#include "orfeas/error.h"
#include "testutil.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

/* Builds header length + JSON header + `data_len` bytes of data. */
static size_t build(uint8_t *buf, const char *json, size_t data_len)
{
    size_t jl = strlen(json);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)jl >> (8 * i));
    memcpy(buf + 8, json, jl);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + jl + i] = (uint8_t)i;
    return 8 + jl + data_len;
}

static int parse_json(const char *json, size_t data_len, char *err)
{
    static uint8_t buf[4096];
    size_t n = build(buf, json, data_len);
    nn_st_file f;
    int rc = orfeas_nn_st_parse(buf, n, &f, err, 200);
    orfeas_nn_st_free(&f);
    return rc;
}

static void test_valid(void)
{
    uint8_t buf[1024];
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"c\":{\"dtype\":\"BF16\",\"shape\":[1,1],\"data_offsets\":[12,14]},"
                       "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[14,14]}}";
    size_t n = build(buf, json, 14);
    size_t jl = strlen(json);
    /* a = {1.0f, -2.0f}, b = {1.0h, 0.5h}, c = 3.0bf16 */
    const uint8_t data[14] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 0, 0x3c, 0, 0x38, 0x40, 0x40};
    memcpy(buf + 8 + jl, data, 14);
    nn_st_file f;
    char err[200] = "";
    REQUIRE(orfeas_nn_st_parse(buf, n, &f, err, sizeof(err)) == 0);
    CHECK(f.count == 4);
    CHECK(strcmp(f.tensors[0].name, "a") == 0 && strcmp(f.tensors[3].name, "e") == 0);
    const nn_st_tensor *a = orfeas_nn_st_find(&f, "a"), *b = orfeas_nn_st_find(&f, "b"),
                       *c = orfeas_nn_st_find(&f, "c");
    REQUIRE(a && b && c && !orfeas_nn_st_find(&f, "__metadata__") && !orfeas_nn_st_find(&f, "z"));
    float v[2];
    orfeas_nn_st_to_f32(&f, a, v);
    CHECK(v[0] == 1.0f && v[1] == -2.0f);
    orfeas_nn_st_to_f32(&f, b, v);
    CHECK(v[0] == 1.0f && v[1] == 0.5f);
    orfeas_nn_st_to_f32(&f, c, v);
    CHECK(v[0] == 3.0f && c->ndim == 2 && c->numel == 1);
    orfeas_nn_st_free(&f);
}

static void test_malformed(void)
{
    char err[200];
    static const struct {
        const char *json;
        size_t data;
        const char *why;
    } bad[] = {
        {"[1,2]", 0, "not a JSON object"},
        {"{\"a\":", 0, "not valid JSON"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8,
         "unsupported dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "bytes for"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "outside"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 8, "outside"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 8, "bad dimension"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 8, "bad dimension"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
         "\"data_offsets\":[0,4]}}",
         8, "overflows"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8, "two integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 8, "lacks"},
        {"{\"a\":7}", 8, "not an object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "twice"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 8,
         "dims"},
        {"{\"__metadata__\":3}", 0, "__metadata__"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
         "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}",
         8, "overlap"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = 0;
        int rc = parse_json(bad[i].json, bad[i].data, err);
        CHECKF(rc == ORFEAS_EINVAL && strstr(err, bad[i].why), "case %zu: rc %d err '%s'", i, rc,
               err);
    }
    /* Header length beyond the file, truncated length, huge length. */
    uint8_t buf[64] = {0};
    nn_st_file f;
    CHECK(orfeas_nn_st_parse(buf, 4, &f, err, sizeof(err)) == ORFEAS_EINVAL);
    buf[0] = 100;
    CHECK(orfeas_nn_st_parse(buf, 64, &f, err, sizeof(err)) == ORFEAS_EINVAL &&
          strstr(err, "exceeds"));
    memset(buf, 0xff, 8);
    CHECK(orfeas_nn_st_parse(buf, 64, &f, err, sizeof(err)) == ORFEAS_EINVAL);
    CHECK(f.count == 0 && f.tensors == NULL);
    CHECK(orfeas_nn_st_load("/nonexistent/x.safetensors", &f, err, sizeof(err)) ==
          ORFEAS_ENOTFOUND);
}

static void test_roundtrip(void)
{
    const float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {-7};
    const int64_t sa[2] = {2, 3}, sb[1] = {1};
    const nn_st_out t[2] = {{"w.a", 2, sa, a}, {"w.b", 1, sb, b}};
    char path[] = "/tmp/orfeas_st_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    REQUIRE(orfeas_nn_st_write_f32(path, t, 2) == 0);
    nn_st_file f;
    char err[200];
    REQUIRE(orfeas_nn_st_load(path, &f, err, sizeof(err)) == 0);
    const nn_st_tensor *x = orfeas_nn_st_find(&f, "w.a");
    REQUIRE(x && x->ndim == 2 && x->shape[0] == 2 && x->shape[1] == 3);
    float v[6];
    orfeas_nn_st_to_f32(&f, x, v);
    CHECK(memcmp(v, a, sizeof(a)) == 0);
    CHECK(((uintptr_t)(f.data + x->begin) - (uintptr_t)f.owned) % 8 == 0);
    orfeas_nn_st_free(&f);
    /* A valid file that is not the model: missing tensors, then a wrong shape. */
    orfeas_depth_model *m = (orfeas_depth_model *)1;
    CHECK(orfeas_depth_load(path, ORFEAS_DEPTH_FP32, &m) == ORFEAS_EINVAL && m == NULL);
    const int64_t bad_shape[3] = {1, 1, 383};
    float zeros[384] = {0};
    const nn_st_out wrong = {"backbone.embeddings.cls_token", 3, bad_shape, zeros};
    REQUIRE(orfeas_nn_st_write_f32(path, &wrong, 1) == 0);
    CHECK(orfeas_depth_load(path, ORFEAS_DEPTH_FP32, &m) == ORFEAS_EINVAL);
    unlink(path);
    CHECK(orfeas_depth_load(path, ORFEAS_DEPTH_FP32, &m) == ORFEAS_ENOTFOUND);
}

int main(void)
{
    test_valid();
    test_malformed();
    test_roundtrip();
    return testutil_finish("test_nn_safetensors");
}
