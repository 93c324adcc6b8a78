/* The error table and the parameter table. */
#include "testutil.h"

#include "orfeas/orfeas.h"

#include <string.h>

static void test_errors(void)
{
    CHECK(strcmp(orfeas_error_code(ORFEAS_EBADIMAGE), "invalid_image") == 0);
    CHECK(orfeas_error_http_status(ORFEAS_EBADIMAGE) == 422);
    CHECK(orfeas_error_http_status(ORFEAS_EGPUOOM) == 507);
    CHECK(strcmp(orfeas_error_code(ORFEAS_EIMGTOOBIG), "image_too_large") == 0);
    CHECK(orfeas_error_http_status(ORFEAS_EIMGTOOBIG) == 413);
    CHECK(orfeas_error_http_status(ORFEAS_EUNSUPPORTED) == 415);
    CHECK(orfeas_error_exit_status(ORFEAS_EINVAL) == 2);
    CHECK(strcmp(orfeas_strerror(12345), "unknown error") == 0);
    CHECK(orfeas_error_http_status(-1) == 500);
    /* Every code has a distinct API name. */
    for (int a = ORFEAS_ERROR_FIRST_ + 1; a < ORFEAS_ERROR_END_; a++)
        for (int b = a + 1; b < ORFEAS_ERROR_END_; b++)
            CHECKF(strcmp(orfeas_error_code(a), orfeas_error_code(b)) != 0, "%d %d", a, b);
    /* ... and its name leads back to it. */
    for (int a = ORFEAS_ERROR_FIRST_ + 1; a < ORFEAS_ERROR_END_; a++)
        CHECKF(orfeas_error_from_code(orfeas_error_code(a)) == a, "%d", a);
    CHECK(orfeas_error_from_code("no_such_code") == ORFEAS_EINTERNAL);
    CHECK(orfeas_error_from_code(NULL) == ORFEAS_EINTERNAL);
}

static void test_params(void)
{
    orfeas_params p;
    orfeas_params_init(&p);
    char err[128];
    CHECK(p.quality == 7 && p.width_mm == 100 && p.detail == 0.3);
    CHECK(orfeas_params_set(&p, "quality", "10", err, sizeof err) == 0 && p.quality == 10);
    CHECK(orfeas_params_set(&p, "--quality", "3", err, sizeof err) == 0 && p.quality == 3);
    CHECK(orfeas_params_set(&p, "quality", "11", err, sizeof err) == ORFEAS_EINVAL);
    CHECK(strstr(err, "quality") != NULL);
    CHECK(orfeas_params_set(&p, "quality", "2.5", err, sizeof err) == ORFEAS_EINVAL);
    CHECK(orfeas_params_set(&p, "quality", "7x", err, sizeof err) == ORFEAS_EINVAL);
    CHECK(orfeas_params_set(&p, "detail", "nan", err, sizeof err) == ORFEAS_EINVAL);
    CHECK(orfeas_params_set(&p, "mode", "RELIEF", err, sizeof err) == 0 &&
          p.mode == ORFEAS_MODE_RELIEF);
    CHECK(orfeas_params_set(&p, "mode", "sculpt", err, sizeof err) == ORFEAS_EINVAL);
    CHECK(strstr(err, "mode") != NULL);
    CHECK(orfeas_params_set(&p, "colour", "red", err, sizeof err) == ORFEAS_EINVAL);
    CHECK(strstr(err, "colour") != NULL);
    CHECK(orfeas_params_set(&p, "target_triangles", "5000", err, sizeof err) == 0 &&
          p.target_triangles == 5000);
    CHECK(orfeas_params_validate(&p, err, sizeof err) == 0);
    CHECK(orfeas_params_set(&p, "base_mm", "30", err, sizeof err) == 0);
    CHECK(orfeas_params_validate(&p, err, sizeof err) == ORFEAS_EINVAL); /* base above depth */

    /* Canonical text: stable, and different when a parameter differs. */
    orfeas_params a, b;
    orfeas_params_init(&a);
    orfeas_params_init(&b);
    char ta[1024], tb[1024];
    REQUIRE(orfeas_params_canonical(&a, ta, sizeof ta) == 0);
    REQUIRE(orfeas_params_canonical(&b, tb, sizeof tb) == 0);
    CHECK(strcmp(ta, tb) == 0);
    orfeas_params_set(&b, "detail", "0.31", err, sizeof err);
    orfeas_params_canonical(&b, tb, sizeof tb);
    CHECK(strcmp(ta, tb) != 0);
    CHECK(strstr(ta, "mode=auto;") != NULL);
    /* ... and it reads back to the same parameters (another node rebuilds a
     * job from it). */
    orfeas_params c;
    char tc[1024];
    REQUIRE(orfeas_params_from_canonical(tb, &c) == 0);
    REQUIRE(orfeas_params_canonical(&c, tc, sizeof tc) == 0);
    CHECK(strcmp(tb, tc) == 0 && c.detail == 0.31);
    CHECK(orfeas_params_from_canonical("quality=11;", &c) == ORFEAS_EINVAL);
    CHECK(orfeas_params_from_canonical("no_equals;", &c) == ORFEAS_EINVAL);
    CHECK(orfeas_params_from_canonical(NULL, &c) == ORFEAS_EINVAL);

    CHECK(orfeas_quality_long_side(1) == 64 && orfeas_quality_long_side(10) == 1536);
    for (int q = 2; q <= 10; q++)
        CHECK(orfeas_quality_triangle_budget(q) > orfeas_quality_triangle_budget(q - 1));
}

int main(void)
{
    test_errors();
    test_params();
    return testutil_finish("test_core");
}
