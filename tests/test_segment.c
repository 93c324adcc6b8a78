/* Foreground segmentation: max-flow against brute force, mask helpers on
 * hand-made masks, the plant IoU against its ground-truth matte, determinism,
 * degenerate images. */
#include "orfeas/error.h"
#include "orfeas/image.h"
#include "shape/mask_ops.h"
#include "shape/maxflow.h"
#include "shape/segment.h"
#include "testutil.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Tiny deterministic generator for the random graphs. */
static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

#define MAXN 10
#define MAXE 30

static void test_maxflow_brute_force(void)
{
    for (int trial = 0; trial < 300; trial++) {
        int n = 1 + (int)(rng() % MAXN);
        int m = (int)(rng() % MAXE);
        double cs[MAXN], ct[MAXN];
        int ei[MAXE], ej[MAXE];
        double ec[MAXE], er[MAXE];
        orfeas_maxflow *g = orfeas_maxflow_create(n, m > 0 ? m : 1);
        REQUIRE(g != NULL);
        /* Reuse the same graph object twice to exercise reset. */
        for (int pass = 0; pass < 2; pass++) {
            orfeas_maxflow_reset(g);
            CHECK(orfeas_maxflow_add_nodes(g, n) == 0);
            for (int i = 0; i < n; i++) {
                /* Integer capacities, many zeros, so ties and free nodes occur. */
                cs[i] = (double)(rng() % 3 == 0 ? 0 : rng() % 10);
                ct[i] = (double)(rng() % 3 == 0 ? 0 : rng() % 10);
                orfeas_maxflow_add_tweights(g, i, cs[i], ct[i]);
            }
            int edges = 0;
            for (int e = 0; e < m; e++) {
                int i = (int)(rng() % n), j = (int)(rng() % n);
                if (i == j) {
                    CHECK(orfeas_maxflow_add_edge(g, i, j, 1, 1) == -1);
                    continue;
                }
                ei[edges] = i;
                ej[edges] = j;
                ec[edges] = (double)(rng() % 8);
                er[edges] = (double)(rng() % 8);
                CHECK(orfeas_maxflow_add_edge(g, i, j, ec[edges], er[edges]) == 0);
                edges++;
            }
            double flow = orfeas_maxflow_solve(g);
            /* Brute force: every labelling, 1 = sink side. */
            double best = INFINITY;
            for (uint32_t s = 0; s < (1u << n); s++) {
                double cost = 0;
                for (int i = 0; i < n; i++)
                    cost += (s >> i & 1) ? cs[i] : ct[i];
                for (int e = 0; e < edges; e++) {
                    int si = (int)(s >> ei[e] & 1), sj = (int)(s >> ej[e] & 1);
                    if (!si && sj) cost += ec[e];
                    if (si && !sj) cost += er[e];
                }
                if (cost < best) best = cost;
            }
            CHECKF(fabs(flow - best) < 1e-9, "trial %d: flow %g, brute-force min cut %g", trial,
                   flow, best);
            /* The labelling returned must achieve the minimum. */
            double cost = 0;
            for (int i = 0; i < n; i++)
                cost += orfeas_maxflow_is_sink(g, i) ? cs[i] : ct[i];
            for (int e = 0; e < edges; e++) {
                int si = orfeas_maxflow_is_sink(g, ei[e]), sj = orfeas_maxflow_is_sink(g, ej[e]);
                if (!si && sj) cost += ec[e];
                if (si && !sj) cost += er[e];
            }
            CHECKF(fabs(cost - best) < 1e-9, "trial %d: labelling costs %g, min %g", trial, cost,
                   best);
        }
        orfeas_maxflow_destroy(g);
    }
    /* Bounds are enforced. */
    orfeas_maxflow *g = orfeas_maxflow_create(2, 1);
    REQUIRE(g != NULL);
    CHECK(orfeas_maxflow_add_nodes(g, 3) == -1);
    CHECK(orfeas_maxflow_add_nodes(g, 2) == 0);
    CHECK(orfeas_maxflow_add_edge(g, 0, 1, 1, 1) == 0);
    CHECK(orfeas_maxflow_add_edge(g, 0, 1, 1, 1) == -1);
    orfeas_maxflow_destroy(g);
    CHECK(orfeas_maxflow_create(0, 1) == NULL);
}

/* Changing t-weights after a solve and solving again (the reuse GrabCut
 * relies on) must give the min cut of the changed graph. */
static void test_maxflow_reuse(void)
{
    for (int trial = 0; trial < 100; trial++) {
        int n = 2 + (int)(rng() % 8), m = (int)(rng() % 20);
        double cs[MAXN], ct[MAXN], ec[MAXE], er[MAXE];
        int ei[MAXE], ej[MAXE], edges = 0;
        orfeas_maxflow *g = orfeas_maxflow_create(n, MAXE);
        REQUIRE(g != NULL);
        orfeas_maxflow_add_nodes(g, n);
        for (int i = 0; i < n; i++) {
            cs[i] = rng() % 10;
            ct[i] = rng() % 10;
            orfeas_maxflow_add_tweights(g, i, cs[i], ct[i]);
        }
        for (int e = 0; e < m; e++) {
            int i = (int)(rng() % n), j = (int)(rng() % n);
            if (i == j) continue;
            ei[edges] = i;
            ej[edges] = j;
            ec[edges] = rng() % 8;
            er[edges] = rng() % 8;
            orfeas_maxflow_add_edge(g, i, j, ec[edges], er[edges]);
            edges++;
        }
        orfeas_maxflow_solve(g);
        for (int i = 0; i < n; i++) {
            double ds = (double)(rng() % 10) - cs[i], dt = (double)(rng() % 10) - ct[i];
            cs[i] += ds;
            ct[i] += dt;
            orfeas_maxflow_add_tweights(g, i, ds, dt);
        }
        orfeas_maxflow_solve(g);
        double best = INFINITY, got = 0;
        for (uint32_t s = 0; s < (1u << n); s++) {
            double cost = 0;
            for (int i = 0; i < n; i++)
                cost += (s >> i & 1) ? cs[i] : ct[i];
            for (int e = 0; e < edges; e++) {
                int si = (int)(s >> ei[e] & 1), sj = (int)(s >> ej[e] & 1);
                if (!si && sj) cost += ec[e];
                if (si && !sj) cost += er[e];
            }
            if (cost < best) best = cost;
        }
        for (int i = 0; i < n; i++)
            got += orfeas_maxflow_is_sink(g, i) ? cs[i] : ct[i];
        for (int e = 0; e < edges; e++) {
            int si = orfeas_maxflow_is_sink(g, ei[e]), sj = orfeas_maxflow_is_sink(g, ej[e]);
            if (!si && sj) got += ec[e];
            if (si && !sj) got += er[e];
        }
        CHECKF(fabs(got - best) < 1e-9, "reuse trial %d: labelling costs %g, min %g", trial, got,
               best);
        orfeas_maxflow_destroy(g);
    }
}

/* Builds a mask from a picture: '#' = object. */
static void from_art(uint8_t *m, const char *const *rows, uint32_t w, uint32_t h)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            m[y * w + x] = rows[y][x] == '#' ? 255 : 0;
}

static int same_as_art(const uint8_t *m, const char *const *rows, uint32_t w, uint32_t h)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            if ((m[y * w + x] != 0) != (rows[y][x] == '#')) return 0;
    return 1;
}

static void test_mask_ops(void)
{
    enum { W = 10, H = 7 };
    uint8_t m[W * H];
    static const char *const start[H] = {
        "##........", "##...###..", "....#...#.", "....#.#.#.",
        "....#...#.", ".....###..", "........#.",
    };
    from_art(m, start, W, H);
    CHECK(orfeas_mask_area(m, W, H) == 18);
    /* The ring (with its diagonal corners, 8-connected) plus its centre dot
     * (isolated) and the tail: the ring is the largest. */
    uint8_t k[W * H];
    memcpy(k, m, sizeof m);
    CHECK(orfeas_mask_keep_largest(k, W, H) == 0);
    static const char *const largest[H] = {
        "..........", ".....###..", "....#...#.", "....#...#.",
        "....#...#.", ".....###..", "........#.",
    };
    CHECK(same_as_art(k, largest, W, H));
    /* Hole filling: the inside of the ring (4-connected background that does
     * not reach the border) becomes object. */
    CHECK(orfeas_mask_fill_holes(k, W, H, 0) == 0);
    static const char *const filled[H] = {
        "..........", ".....###..", "....#####.", "....#####.",
        "....#####.", ".....###..", "........#.",
    };
    CHECK(same_as_art(k, filled, W, H));
    /* A size limit keeps big holes. */
    memcpy(k, m, sizeof m);
    orfeas_mask_keep_largest(k, W, H);
    CHECK(orfeas_mask_fill_holes(k, W, H, 8) == 0); /* the hole has 9 pixels */
    CHECK(orfeas_mask_area(k, W, H) == 13);
    CHECK(orfeas_mask_fill_holes(k, W, H, 9) == 0);
    CHECK(orfeas_mask_area(k, W, H) == 22);
    /* keep_components by fraction of the largest. */
    memcpy(k, m, sizeof m);
    CHECK(orfeas_mask_keep_components(k, W, H, 0.3, 1) == 0);
    CHECK(orfeas_mask_area(k, W, H) == 17); /* ring 13 + block 4; the dot goes */

    /* Opening (radius 1 = a plus-shaped disc) removes specks and rounds
     * corners; outside pixels are ignored, so the block at the frame keeps its
     * frame-side corner. Closing fills small gaps. */
    enum { S = 9 };
    uint8_t b[S * S];
    static const char *const blob[S] = {
        "###......", "###......", "###......", ".........", "...###...",
        "...###.#.", "...###...", ".........", ".........",
    };
    from_art(b, blob, S, S);
    CHECK(orfeas_mask_open(b, S, S, 1) == 0);
    static const char *const opened[S] = {
        "###......", "###......", "##.......", ".........", "....#....",
        "...###...", "....#....", ".........", ".........",
    };
    CHECK(same_as_art(b, opened, S, S));
    static const char *const gap[S] = {
        ".........", ".........", "..##.##..", "..##.##..", "..##.##..",
        ".........", ".........", ".........", ".........",
    };
    from_art(b, gap, S, S);
    CHECK(orfeas_mask_close(b, S, S, 1) == 0);
    CHECK(b[3 * S + 4] == 255); /* the one-pixel gap is closed */
    CHECK(b[0] == 0);
    CHECK(orfeas_mask_dilate(b, S, S, 0) == 0); /* radius 0: no-op */
    from_art(b, gap, S, S);
    CHECK(orfeas_mask_erode(b, S, S, 1) == 0);
    CHECK(orfeas_mask_area(b, S, S) == 0); /* two pixels wide: gone */
    from_art(b, gap, S, S);
    CHECK(orfeas_mask_dilate(b, S, S, 1) == 0);
    CHECK(orfeas_mask_area(b, S, S) == 12 + 3 * 3 + 2 * 4); /* + gap, sides, rows above/below */

    /* Empty masks. */
    memset(b, 0, sizeof b);
    CHECK(orfeas_mask_keep_largest(b, S, S) == 0);
    CHECK(orfeas_mask_fill_holes(b, S, S, 0) == 0);
    CHECK(orfeas_mask_area(b, S, S) == 0);
}

static int load_rgba(const char *rel, orfeas_image *img)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = orfeas_read_file(testutil_data(rel), 0, &data, &size);
    if (rc) return rc;
    rc = orfeas_image_decode(data, size, NULL, ORFEAS_PIXELS_RGBA8, img);
    free(data);
    return rc;
}

static void test_plant_iou(void)
{
    orfeas_image img, matte;
    REQUIRE(load_rgba("images/plant.jpg", &img) == 0);
    REQUIRE(load_rgba("images/plant_matte.png", &matte) == 0);
    REQUIRE(img.width == matte.width && img.height == matte.height);
    size_t n = (size_t)img.width * img.height;
    uint8_t *mask = malloc(n), *again = malloc(n);
    REQUIRE(mask && again);
    double conf = -1;
    CHECK(orfeas_segment_foreground(img.pixels, img.width, img.height, img.stride, NULL, NULL, mask,
                                    &conf) == 0);
    size_t inter = 0, uni = 0;
    for (uint32_t y = 0; y < img.height; y++)
        for (uint32_t x = 0; x < img.width; x++) {
            int truth = matte.pixels[y * matte.stride + 4 * x] >= 128;
            int got = mask[(size_t)y * img.width + x] != 0;
            inter += truth && got;
            uni += truth || got;
        }
    double iou = uni ? (double)inter / uni : 0;
    printf("plant IoU = %.4f (confidence %.3f)\n", iou, conf);
    /* Design target 0.85 (DESIGN.md §3); reached 0.69 so far (the pot, which
     * touches the bottom edge and has the hoodie's colour, is mostly lost):
     * this is a regression floor (reached - 0.03), not the goal. */
    CHECKF(iou >= 0.66, "plant IoU %.4f < 0.66", iou);
    CHECK(conf >= 0 && conf <= 1);

    /* Deterministic: a second run gives the same bytes. */
    double conf2 = -1;
    CHECK(orfeas_segment_foreground(img.pixels, img.width, img.height, img.stride, NULL, NULL,
                                    again, &conf2) == 0);
    CHECK(memcmp(mask, again, n) == 0);
    CHECK(conf == conf2);

    /* A work size above the coarse one adds the band-limited refinement cut. */
    orfeas_segment_options fine = {.work_long_side = 512, .iterations = 0};
    CHECK(orfeas_segment_foreground(img.pixels, img.width, img.height, img.stride, &fine, NULL,
                                    again, &conf2) == 0);
    size_t agree = 0;
    for (size_t p = 0; p < n; p++)
        agree += (mask[p] != 0) == (again[p] != 0);
    CHECKF(agree >= n * 9 / 10, "refined mask agrees on %zu of %zu pixels", agree, n);

    /* Cancellation. */
    atomic_int cancel = 1;
    CHECK(orfeas_segment_foreground(img.pixels, img.width, img.height, img.stride, NULL, &cancel,
                                    again, NULL) == ORFEAS_ECANCELLED);
    free(mask);
    free(again);
    orfeas_image_free(&img);
    orfeas_image_free(&matte);
}

static void test_degenerate(void)
{
    /* Uniform image: no object to speak of. */
    enum { W = 64, H = 48 };
    uint8_t *rgba = malloc(W * H * 4), mask[W * H];
    REQUIRE(rgba);
    for (size_t i = 0; i < W * H; i++) {
        rgba[4 * i] = 120;
        rgba[4 * i + 1] = 130;
        rgba[4 * i + 2] = 140;
        rgba[4 * i + 3] = 255;
    }
    double conf = -1;
    CHECK(orfeas_segment_foreground(rgba, W, H, W * 4, NULL, NULL, mask, &conf) == 0);
    CHECKF(conf < 0.2, "uniform image confidence %.3f", conf);

    /* A plain disc on a plain background: found, confidently. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in = (x - 32) * (x - 32) + (y - 24) * (y - 24) < 14 * 14;
            rgba[4 * (y * W + x)] = in ? 200 : 30;
            rgba[4 * (y * W + x) + 1] = in ? 40 : 60;
        }
    CHECK(orfeas_segment_foreground(rgba, W, H, W * 4, NULL, NULL, mask, &conf) == 0);
    size_t wrong = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in = (x - 32) * (x - 32) + (y - 24) * (y - 24) < 14 * 14;
            wrong += in != (mask[y * W + x] != 0);
        }
    CHECKF(wrong < 40, "disc: %zu pixels wrong", wrong);
    CHECKF(conf > 0.5, "disc confidence %.3f", conf);

    /* 1x1 and 3x2 images, and options at their extremes. */
    double c1 = -1;
    CHECK(orfeas_segment_foreground(rgba, 1, 1, 4, NULL, NULL, mask, &c1) == 0);
    CHECK(c1 >= 0 && c1 <= 1);
    CHECK(orfeas_segment_foreground(rgba, 3, 2, 12, NULL, NULL, mask, &c1) == 0);
    CHECK(c1 >= 0 && c1 <= 1);
    orfeas_segment_options opts = {.work_long_side = 1, .iterations = 1};
    CHECK(orfeas_segment_foreground(rgba, W, H, W * 4, &opts, NULL, mask, NULL) == 0);
    CHECK(orfeas_segment_foreground(NULL, W, H, W * 4, NULL, NULL, mask, NULL) == ORFEAS_EINVAL);
    CHECK(orfeas_segment_foreground(rgba, W, H, W, NULL, NULL, mask, NULL) == ORFEAS_EINVAL);
    free(rgba);
}

int main(void)
{
    test_maxflow_brute_force();
    test_maxflow_reuse();
    test_mask_ops();
    test_degenerate();
    if (testutil_have_data("test_segment, the plant's IoU", "images/plant.jpg",
                           "images/plant_matte.png"))
        test_plant_iou();
    return testutil_finish("test_segment");
}
