/* The seeded weight generator against tensors.json: PRNG test vectors, the
 * tensor table (names, shapes, stream offsets) and every tensor's sha256. */
#include "nn/weights.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static void test_prng(void)
{
    uint64_t s = 42;
    CHECK(orfeas_nn_splitmix64(&s) == 0xbdd732262feb6e95ull);
    CHECK(orfeas_nn_splitmix64(&s) == 0x28efe333b266f103ull);
    CHECK(orfeas_nn_splitmix64(&s) == 0x47526757130f9f52ull);
    s = 42;
    const double u[3] = {0.7415648698806763, 0.1599103808403015, 0.27860110998153687};
    for (int i = 0; i < 3; i++)
        CHECK(orfeas_nn_splitmix_signed(&s) == 2.0 * u[i] - 1.0);
    s = 1001;
    CHECK(orfeas_nn_splitmix64(&s) == 0x533e00f7f3c606d4ull);
    CHECK(orfeas_nn_splitmix64(&s) == 0x3ac55a494710ce58ull);
}

static void test_tensors(void)
{
    size_t len;
    char *text = slurp(testutil_data("depth_golden/tensors.json"), &len);
    REQUIRE(text);
    cJSON *root = cJSON_ParseWithLength(text, len);
    REQUIRE(root);
    cJSON *list = cJSON_GetObjectItem(root, "tensors");
    REQUIRE(cJSON_GetArraySize(list) == NN_DA_TENSORS);
    CHECK(cJSON_GetObjectItem(root, "total_params")->valuedouble == NN_DA_PARAMS);
    float *w = malloc(sizeof(float) * NN_DA_PARAMS);
    REQUIRE(w);
    orfeas_nn_da_generate(42, w);
    size_t off = 0;
    int i = 0, matched = 0;
    for (cJSON *t = list->child; t; t = t->next, i++) {
        const nn_tensor_spec *s = &orfeas_nn_da_specs[i];
        CHECKF(strcmp(s->name, cJSON_GetObjectItem(t, "name")->valuestring) == 0, "%s", s->name);
        cJSON *shape = cJSON_GetObjectItem(t, "shape");
        CHECK(cJSON_GetArraySize(shape) == s->ndim);
        int d = 0;
        for (cJSON *x = shape->child; x; x = x->next, d++)
            CHECK(d < 4 && x->valuedouble == (double)s->shape[d]);
        CHECK(cJSON_GetObjectItem(t, "stream_offset")->valuedouble == (double)off);
        CHECK(orfeas_nn_da_spec_index(s->name) == i);
        size_t n = orfeas_nn_spec_numel(s);
        unsigned char md[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)(w + off), n * sizeof(float), md);
        char hex[65];
        for (int k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", md[k]);
        int ok = strcmp(hex, cJSON_GetObjectItem(t, "sha256")->valuestring) == 0;
        CHECKF(ok, "sha256 of %s", s->name);
        matched += ok;
        off += n;
    }
    CHECK(off == NN_DA_PARAMS);
    printf("generated weights: %d/%d tensors match their sha256\n", matched, NN_DA_TENSORS);
    free(w);
    cJSON_Delete(root);
    free(text);
}

int main(void)
{
    test_prng();
    if (testutil_have_data("test_nn_weights, the tensor table", "depth_golden/tensors.json"))
        test_tensors();
    return testutil_finish("test_nn_weights");
}
