/* The engine with the Depth Anything V2 depth source (seeded random
 * weights: the network's code path, not a meaningful depth), and the model
 * on a simulated card: its resident reservation, the jobs' estimates that
 * include the forward pass, admission, and precision auto. */
#include "testutil.h"

#include "orfeas/depth.h"
#include "orfeas/orfeas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int generate_on(const uint8_t *data, size_t size, const char *depth_source,
                       const orfeas_depth_model *model, orfeas_vram *vram, orfeas_mesh *mesh,
                       orfeas_generate_stats *st)
{
    orfeas_params p;
    orfeas_params_init(&p);
    char err[128];
    orfeas_params_set(&p, "mode", "relief", err, sizeof err);
    orfeas_params_set(&p, "depth_source", depth_source, err, sizeof err);
    p.quality = 3;
    orfeas_input in = {.image = data, .image_size = size};
    orfeas_generate_options opts = {.depth_model = model, .vram = vram};
    return orfeas_generate(&in, &p, &opts, mesh, st);
}

static int generate(const uint8_t *data, size_t size, const char *depth_source,
                    const orfeas_depth_model *model, orfeas_mesh *mesh, orfeas_generate_stats *st)
{
    return generate_on(data, size, depth_source, model, NULL, mesh, st);
}

static orfeas_vram *open_card(const char *spec, orfeas_device **dev)
{
    char why[256];
    REQUIRE(orfeas_device_open(spec, dev, why, sizeof why) == 0);
    orfeas_vram_config cfg;
    orfeas_vram_config_init(&cfg);
    cfg.monitor_interval_s = -1;
    orfeas_vram *v;
    REQUIRE(orfeas_vram_create(*dev, &cfg, &v) == 0);
    return v;
}

static orfeas_depth_precision choose(const char *spec, const char *text)
{
    orfeas_device *dev;
    orfeas_vram *v = open_card(spec, &dev);
    orfeas_depth_precision p = (orfeas_depth_precision)-1;
    REQUIRE(orfeas_depth_precision_choose(text, v, &p) == 0);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
    return p;
}

static void test_precision_auto(void)
{
    /* By free memory as the VRAM manager recommends (> 10 GB, > 6 GB). */
    CHECK(choose("sim:24GiB", "auto") == ORFEAS_DEPTH_FP32);
    CHECK(choose("sim:8GiB", "auto") == ORFEAS_DEPTH_FP16);
    CHECK(choose("sim:2GiB", "auto") == ORFEAS_DEPTH_INT8);
    /* The cpu, or no manager: fp32. */
    CHECK(choose("cpu", "auto") == ORFEAS_DEPTH_FP32);
    orfeas_depth_precision p;
    CHECK(orfeas_depth_precision_choose("auto", NULL, &p) == 0 && p == ORFEAS_DEPTH_FP32);
    /* An explicit precision is kept whatever the card. */
    CHECK(choose("sim:2GiB", "fp32") == ORFEAS_DEPTH_FP32);
    CHECK(choose("sim:24GiB", "int8") == ORFEAS_DEPTH_INT8);
    CHECK(orfeas_depth_precision_choose("fp64", NULL, &p) == ORFEAS_EINVAL);
}

static void test_on_card(const uint8_t *data, size_t size)
{
    orfeas_device *dev;
    orfeas_vram *v = open_card("sim:2GiB", &dev);
    orfeas_depth_model *m;
    REQUIRE(orfeas_depth_load_random(42, ORFEAS_DEPTH_INT8, &m) == 0);
    REQUIRE(orfeas_depth_reserve_resident(m, v) == 0);
    CHECK(orfeas_depth_reserve_resident(m, v) == ORFEAS_EINVAL); /* once */
    orfeas_vram_stats vs;
    REQUIRE(orfeas_vram_stats_get(v, &vs) == 0);
    CHECK(vs.resident_bytes == orfeas_depth_resident_bytes(m) && vs.resident_count == 1);

    orfeas_mesh mesh;
    orfeas_generate_stats with, without;
    REQUIRE(generate_on(data, size, "model", m, v, &mesh, &with) == 0);
    orfeas_mesh_free(&mesh);
    REQUIRE(generate_on(data, size, "luminance", m, v, &mesh, &without) == 0);
    orfeas_mesh_free(&mesh);
    /* The job reserved the model's pass on its grid on top of its planes. */
    size_t infer = orfeas_depth_infer_bytes(with.work_width, with.work_height, ORFEAS_DEPTH_INT8);
    printf("sim:2GiB, %ux%u grid: estimate %.1f MiB with the model (its pass %.1f MiB), "
           "%.1f MiB without\n",
           with.work_width, with.work_height, with.device_estimate_bytes / 1048576.0,
           infer / 1048576.0, without.device_estimate_bytes / 1048576.0);
    CHECK(infer > 0 && with.device_estimate_bytes >= infer);
    CHECK(with.device_estimate_bytes > without.device_estimate_bytes);
    /* Jobs gave their reservations back; the model's stays. */
    REQUIRE(orfeas_vram_stats_get(v, &vs) == 0);
    CHECK(vs.reserved_bytes == orfeas_depth_resident_bytes(m) && vs.active_reservations == 0);
    orfeas_depth_free(m);
    REQUIRE(orfeas_vram_stats_get(v, &vs) == 0);
    CHECK(vs.resident_bytes == 0 && vs.reserved_bytes == 0);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);

    /* A 64 MiB card holds the int8 weights (27 MiB) but not a pass beside
     * them: the job is refused at admission (507), not run out of memory. */
    v = open_card("sim:64MiB", &dev);
    REQUIRE(orfeas_depth_load_random(42, ORFEAS_DEPTH_INT8, &m) == 0);
    REQUIRE(orfeas_depth_reserve_resident(m, v) == 0);
    CHECK(generate_on(data, size, "model", m, v, &mesh, &with) == ORFEAS_EGPUOOM);
    CHECK(strstr(with.error_detail, "int8") != NULL);
    REQUIRE(generate_on(data, size, "luminance", m, v, &mesh, &without) == 0);
    orfeas_mesh_free(&mesh);
    orfeas_depth_free(m);
    /* fp32 weights (94.5 MiB) do not fit the card at all. */
    REQUIRE(orfeas_depth_load_random(42, ORFEAS_DEPTH_FP32, &m) == 0);
    CHECK(orfeas_depth_reserve_resident(m, v) == ORFEAS_EGPUOOM);
    orfeas_depth_free(m);
    REQUIRE(orfeas_vram_stats_get(v, &vs) == 0);
    CHECK(vs.reserved_bytes == 0);
    orfeas_vram_destroy(v);
    orfeas_device_close(dev);
}

int main(void)
{
    uint8_t *data;
    size_t size;
    REQUIRE(orfeas_read_file(testutil_data("images/apple.jpg"), 0, &data, &size) == 0);
    orfeas_mesh with_model, lum;
    orfeas_generate_stats st;

    /* Without a model, asking for one is a clear parameter error. */
    CHECK(generate(data, size, "model", NULL, &with_model, &st) == ORFEAS_EINVAL);
    CHECK(strstr(st.error_detail, "depth-model") != NULL);

    orfeas_depth_model *model;
    REQUIRE(orfeas_depth_load_random(42, ORFEAS_DEPTH_FP32, &model) == 0);
    REQUIRE(generate(data, size, "model", model, &with_model, &st) == 0);
    CHECK(orfeas_mesh_report_ok(&st.report));
    REQUIRE(generate(data, size, "luminance", model, &lum, &st) == 0);
    /* The model's depth, not the luminance, shaped the relief. */
    int differs = with_model.vertex_count != lum.vertex_count ||
                  memcmp(with_model.positions, lum.positions,
                         (size_t)lum.vertex_count * 3 * sizeof(float)) != 0;
    CHECK(differs);
    /* Same input, same weights: the same mesh. */
    orfeas_mesh again;
    REQUIRE(generate(data, size, "model", model, &again, &st) == 0);
    CHECK(again.vertex_count == with_model.vertex_count &&
          memcmp(again.positions, with_model.positions,
                 (size_t)again.vertex_count * 3 * sizeof(float)) == 0);
    orfeas_mesh_free(&again);
    orfeas_mesh_free(&with_model);
    orfeas_mesh_free(&lum);
    orfeas_depth_free(model);
    test_precision_auto();
    test_on_card(data, size);
    free(data);
    return testutil_finish("test_engine_model");
}
