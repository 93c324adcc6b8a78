/* `orfeas serve --depth-model`: the flag and environment variable of
 * --depth-precision, the precision auto picks on a simulated card, the
 * weights' resident reservation in the VRAM manager and its stats JSON, the
 * cache key's model identity naming the precision, batching set from the
 * manager's batch size, and a start-up refused when the weights do not fit.
 * The server is started in-process on a free loopback port. */
#include "nn/depth_model.h"
#include "orfeas/depth.h"
#include "orfeas/error.h"
#include "orfeas/log.h"
#include "server/gpu_stats_json.h"
#include "server/server_internal.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256], weights[300];

static int start(const char *device, const char *precision, orfeas_server **s, char *err,
                 size_t err_size)
{
    orfeas_server_config c;
    orfeas_server_config_defaults(&c);
    char *argv[] = {"serve",
                    "--port",
                    "0",
                    "--data-dir",
                    dir,
                    "--device",
                    (char *)device,
                    "--depth-model",
                    weights,
                    "--depth-precision",
                    (char *)precision,
                    "--monitor-interval",
                    "3600"};
    REQUIRE(orfeas_server_config_parse(&c, 13, argv, err, err_size) == 0);
    CHECK(strcmp(c.depth_precision, precision) == 0);
    return orfeas_server_start(&c, s, err, err_size);
}

int main(void)
{
    orfeas_log_set_level(ORFEAS_LOG_WARN);
    snprintf(dir, sizeof dir, "/tmp/orfeas_nn_serve_XXXXXX");
    REQUIRE(mkdtemp(dir));
    snprintf(weights, sizeof weights, "%s/model.safetensors", dir);
    REQUIRE(orfeas_depth_write_random(42, weights) == 0);

    /* The table's entry: default auto, the environment, the flag winning. */
    orfeas_server_config c;
    orfeas_server_config_defaults(&c);
    CHECK(strcmp(c.depth_precision, "auto") == 0);
    char err[2048] = "";
    setenv("ORFEAS_DEPTH_PRECISION", "fp16", 1);
    char *none[] = {"serve"};
    REQUIRE(orfeas_server_config_parse(&c, 1, none, err, sizeof err) == 0);
    CHECK(strcmp(c.depth_precision, "fp16") == 0);
    unsetenv("ORFEAS_DEPTH_PRECISION");

    /* auto on a 2 GiB card: int8 (free <= 6 GB); resident, named, in the
     * JSON; the model id names int8; batches from the manager. */
    orfeas_server *s = NULL;
    REQUIRE(start("sim:2GiB", "auto", &s, err, sizeof err) == 0);
    REQUIRE(s->depth_model);
    CHECK(orfeas_depth_model_precision(s->depth_model) == ORFEAS_DEPTH_INT8);
    size_t resident = orfeas_depth_resident_bytes(s->depth_model);
    orfeas_vram_stats vs;
    REQUIRE(orfeas_vram_stats_get(s->vram, &vs) == 0);
    CHECK(vs.resident_bytes == resident && vs.resident_count == 1);
    char *json = NULL;
    REQUIRE(orfeas_gpu_stats_json(s->vram, 6, 0, 50, &json) == 0);
    char want[128];
    snprintf(want, sizeof want,
             "\"resident\":[{\"name\":\"depth-anything-v2-small:int8\","
             "\"bytes\":%zu}]",
             resident);
    CHECKF(strstr(json, want) != NULL, "%s not in %s", want, json);
    free(json);
    size_t id_len = strlen(s->depth_model_id);
    CHECKF(id_len == 64 + 5 && strcmp(s->depth_model_id + 64, ":int8") == 0, "model id %s",
           s->depth_model_id);
    /* The batch limit is the manager's formula on this card (> 1 here). */
    uint32_t limit = orfeas_depth_batch_limit(s->depth_model, s->vram, 0);
    CHECK(limit > 1 && s->depth_model->batcher != NULL);
    orfeas_server_stop(s);

    /* An explicit precision is kept; on the cpu auto is fp32 and there is
     * no batching. */
    REQUIRE(start("sim:2GiB", "fp32", &s, err, sizeof err) == 0);
    CHECK(orfeas_depth_model_precision(s->depth_model) == ORFEAS_DEPTH_FP32);
    CHECK(strcmp(s->depth_model_id + 64, ":fp32") == 0);
    orfeas_server_stop(s);
    REQUIRE(start("cpu", "auto", &s, err, sizeof err) == 0);
    CHECK(orfeas_depth_model_precision(s->depth_model) == ORFEAS_DEPTH_FP32);
    CHECK(s->depth_model->batcher == NULL);
    REQUIRE(orfeas_vram_stats_get(s->vram, &vs) == 0);
    CHECK(vs.resident_bytes == orfeas_depth_resident_bytes(s->depth_model));
    orfeas_server_stop(s);

    /* fp32 weights (94.5 MiB) on a 64 MiB card: refused, saying why. */
    err[0] = '\0';
    CHECK(start("sim:64MiB", "fp32", &s, err, sizeof err) == ORFEAS_EGPUOOM);
    CHECKF(strstr(err, "do not fit") && strstr(err, "--depth-precision int8"), "%s", err);
    err[0] = '\0';
    CHECK(start("sim:2GiB", "fp64", &s, err, sizeof err) == ORFEAS_EINVAL);
    CHECKF(strstr(err, "--depth-precision") != NULL, "%s", err);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return testutil_finish("test_nn_serve");
}
