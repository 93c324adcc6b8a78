/* Mesher properties: random domains and heights must always give closed,
 * oriented, clean meshes; the inflation of a disc is a hemisphere; the mesh
 * check catches broken meshes. */
#include "testutil.h"

#include "mesh/domain.h"
#include "mesh/heightfield.h"
#include "mesh/rtin.h"
#include "orfeas/orfeas.h"
#include "shape/inflate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_pinch_repair(void)
{
    /* 1 0 / 0 1 touching at a corner gets a filled cell. */
    uint8_t cells[4] = {1, 0, 0, 1};
    orfeas_domain_repair_pinches(cells, 2, 2);
    CHECK(cells[0] + cells[1] + cells[2] + cells[3] == 3);
    uint8_t other[4] = {0, 1, 1, 0};
    orfeas_domain_repair_pinches(other, 2, 2);
    CHECK(other[0] + other[1] + other[2] + other[3] == 3);
}

static void test_fill_and_keep(void)
{
    /* A ring with a hole, plus a small island far away. */
    enum { W = 12, H = 10 };
    uint8_t cells[W * H] = {0};
    for (int y = 1; y <= 6; y++)
        for (int x = 1; x <= 6; x++)
            cells[y * W + x] = (x == 1 || x == 6 || y == 1 || y == 6);
    cells[8 * W + 10] = 1;
    uint64_t kept = 0;
    REQUIRE(orfeas_domain_clean(cells, W, H, 1.0, &kept) == 0);
    CHECKF(kept == 36, "kept %llu", (unsigned long long)kept);
    CHECK(cells[3 * W + 3] == 1);  /* hole filled */
    CHECK(cells[8 * W + 10] == 0); /* island dropped */
}

/* Random blobby domain: a few random discs, then the same cleanup the
 * engine runs. */
static void random_domain(uint8_t *cells, uint32_t cw, uint32_t ch)
{
    memset(cells, 0, (size_t)cw * ch);
    int discs = 1 + rng() % 6;
    for (int d = 0; d < discs; d++) {
        float cx = rng() % cw, cy = rng() % ch, r = 1 + rng() % (cw / 2 + 1);
        for (uint32_t y = 0; y < ch; y++)
            for (uint32_t x = 0; x < cw; x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) cells[y * cw + x] = 1;
    }
    /* Salt noise makes pinches and holes. */
    for (uint32_t k = 0; k < cw * ch / 8; k++)
        cells[rng() % (cw * ch)] ^= 1;
}

/* On failure the domain is printed, to turn it into a unit case. */
static void dump_cells(const uint8_t *cells, uint32_t cw, uint32_t ch)
{
    for (uint32_t y = 0; y < ch; y++) {
        for (uint32_t x = 0; x < cw; x++)
            fputc(cells[y * cw + x] ? '#' : '.', stderr);
        fputc('\n', stderr);
    }
}

static void test_random_meshes(void)
{
    int ok = 0, runs = 0;
    for (int run = 0; run < 60; run++) {
        uint32_t w = 3 + rng() % 70, h = 3 + rng() % 70;
        uint32_t cw = w - 1, ch = h - 1;
        uint8_t *cells = malloc((size_t)cw * ch);
        float *front = malloc((size_t)w * h * sizeof *front);
        float *back = malloc((size_t)w * h * sizeof *back);
        uint8_t *rgba = malloc((size_t)w * h * 4);
        REQUIRE(cells && front && back && rgba);
        random_domain(cells, cw, ch);
        uint64_t kept = 0;
        REQUIRE(orfeas_domain_clean(cells, cw, ch, run % 2 ? 1.0 : 0.1, &kept) == 0);
        for (size_t i = 0; i < (size_t)w * h; i++) {
            back[i] = -(float)(rng() % 100) / 50.0f - 0.1f;
            front[i] = (float)(rng() % 100) / 50.0f + 0.1f;
            memset(rgba + 4 * i, (int)(i & 0xff), 4);
        }
        orfeas_heightfield hf = {w, h, cells, front, back, rgba, 0.5, (int)(run % 3 == 0), NULL};
        uint64_t budget = run % 4 == 0 ? 1000000 : 50 + rng() % 2000;
        orfeas_mesh mesh;
        orfeas_heightfield_stats hs;
        int err = orfeas_heightfield_mesh(&hf, budget, &mesh, &hs);
        if (kept == 0) {
            CHECK(err == ORFEAS_ENOFOREGROUND);
        } else {
            runs++;
            CHECKF(err == 0, "run %d: %s", run, orfeas_strerror(err));
            orfeas_mesh_report r;
            if (!err && orfeas_mesh_check(&mesh, &r) == 0) {
                int good = orfeas_mesh_report_ok(&r);
                CHECKF(good,
                       "run %d %ux%u: boundary %llu nonmanifold %llu flipped %llu degen %llu dup "
                       "%llu vol %g",
                       run, w, h, (unsigned long long)r.boundary_edges,
                       (unsigned long long)r.nonmanifold_edges,
                       (unsigned long long)r.inconsistent_edges,
                       (unsigned long long)r.degenerate_triangles,
                       (unsigned long long)r.duplicate_triangles, r.volume);
                ok += good;
                if (!good) dump_cells(cells, cw, ch);
                CHECK(r.min[0] >= 0 && r.min[1] >= 0);
                CHECK(r.max[0] <= (w - 1) * 0.5f + 1e-4f && r.max[1] <= (h - 1) * 0.5f + 1e-4f);
            }
            orfeas_mesh_free(&mesh);
        }
        free(cells), free(front), free(back), free(rgba);
    }
    printf("random meshes: %d of %d closed and clean\n", ok, runs);
    CHECK(runs > 30);
}

/* The RTIN bound: every grid height is within the reported error of the
 * surface (checked at triangle vertices and their midpoints). */
static void test_rtin_budget(void)
{
    enum { W = 129, H = 97 };
    uint8_t *cells = malloc((W - 1) * (H - 1));
    float *front = malloc(W * H * sizeof *front), *back = calloc(W * H, sizeof *back);
    REQUIRE(cells && front && back);
    memset(cells, 1, (W - 1) * (H - 1));
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            front[y * W + x] = sinf(x * 0.1f) * cosf(y * 0.13f) + 2;
    orfeas_rtin r;
    REQUIRE(orfeas_rtin_build(&r, NULL, W, H, front, back, cells) == 0);
    uint64_t full = orfeas_rtin_count(&r, 0, UINT64_MAX);
    uint64_t prev = full;
    float prev_t = 0;
    for (uint64_t budget = 8000; budget >= 500; budget /= 2) {
        float t = orfeas_rtin_threshold_for_budget(&r, budget);
        uint64_t n = orfeas_rtin_count(&r, t, UINT64_MAX);
        CHECKF(n <= budget, "budget %llu gave %llu", (unsigned long long)budget,
               (unsigned long long)n);
        CHECK(n <= prev && t >= prev_t);
        prev = n, prev_t = t;
    }
    CHECKF(full >= 2 * 96 * 128 * 9 / 10, "full %llu", (unsigned long long)full);
    orfeas_rtin_free(&r);
    free(cells), free(front), free(back);
}

/* Laplace(u) = -4 on a disc of radius R gives u = R^2 - r^2, so sqrt(u)
 * is a hemisphere: compare with the analytic profile. */
static void test_inflate_disc(void)
{
    enum { N = 201 };
    const float R = 90, C = 100;
    uint8_t *in = calloc(N * N, 1);
    float *u = malloc(N * N * sizeof *u);
    REQUIRE(in && u);
    for (int y = 1; y < N - 1; y++)
        for (int x = 1; x < N - 1; x++)
            in[y * N + x] = (x - C) * (x - C) + (y - C) * (y - C) < R * R;
    REQUIRE(orfeas_inflate_solve(NULL, in, N, N, u, NULL) == 0);
    double worst = 0;
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            double r2 = (x - C) * (x - C) + (y - C) * (y - C);
            if (r2 > 0.8 * R * R) continue; /* the pixel outline blurs the rim */
            double want = sqrt(R * R - r2), got = sqrt(u[y * N + x] > 0 ? u[y * N + x] : 0);
            if (fabs(want - got) > worst) worst = fabs(want - got);
        }
    printf("inflated disc: max deviation from the hemisphere %.3f px (radius %.0f)\n", worst, R);
    CHECKF(worst < 0.02 * R, "worst %.3f", worst);
    free(in), free(u);
}

/* The check itself must catch each kind of defect. */
static void test_check_catches_defects(void)
{
    /* Tetrahedron, outward. */
    float pos[12] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    uint32_t good[12] = {0, 2, 1, 0, 1, 3, 1, 2, 3, 0, 3, 2};
    orfeas_mesh m = {4, 4, pos, NULL, good};
    orfeas_mesh_report r;
    REQUIRE(orfeas_mesh_check(&m, &r) == 0);
    CHECK(orfeas_mesh_report_ok(&r));
    CHECK(fabs(r.volume - 1.0 / 6) < 1e-9);
    CHECK(r.components == 1);

    uint32_t flipped[12] = {0, 1, 2, 0, 1, 3, 1, 2, 3, 0, 3, 2};
    m.indices = flipped;
    orfeas_mesh_check(&m, &r);
    CHECK(!orfeas_mesh_report_ok(&r) && r.inconsistent_edges > 0);

    m.indices = good;
    m.triangle_count = 3; /* a hole */
    orfeas_mesh_check(&m, &r);
    CHECK(!orfeas_mesh_report_ok(&r) && r.boundary_edges == 3);

    uint32_t inside_out[12] = {0, 1, 2, 0, 3, 1, 1, 3, 2, 0, 2, 3};
    m.indices = inside_out;
    m.triangle_count = 4;
    orfeas_mesh_check(&m, &r);
    CHECK(!orfeas_mesh_report_ok(&r) && r.volume < 0);

    /* Two triangles back to back: closed edges but duplicates. */
    uint32_t pillow[6] = {0, 1, 2, 0, 2, 1};
    m.indices = pillow;
    m.triangle_count = 2;
    orfeas_mesh_check(&m, &r);
    CHECK(r.duplicate_triangles == 1 && !orfeas_mesh_report_ok(&r));
}

int main(void)
{
    test_pinch_repair();
    test_fill_and_keep();
    test_random_meshes();
    test_rtin_budget();
    test_inflate_disc();
    test_check_catches_defects();
    return testutil_finish("test_mesh");
}
