/* The engine with the Depth Anything V2 depth source (seeded random
 * weights: the network's code path, not a meaningful depth). */
#include "testutil.h"

#include "orfeas/depth.h"
#include "orfeas/orfeas.h"

#include <stdlib.h>
#include <string.h>

static int generate(const uint8_t *data, size_t size, const char *depth_source,
                    const orfeas_depth_model *model, orfeas_mesh *mesh, orfeas_generate_stats *st)
{
    orfeas_params p;
    orfeas_params_init(&p);
    char err[128];
    orfeas_params_set(&p, "mode", "relief", err, sizeof err);
    orfeas_params_set(&p, "depth_source", depth_source, err, sizeof err);
    p.quality = 3;
    orfeas_input in = {.image = data, .image_size = size};
    orfeas_generate_options opts = {.depth_model = model};
    return orfeas_generate(&in, &p, &opts, mesh, st);
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
    free(data);
    return testutil_finish("test_engine_model");
}
