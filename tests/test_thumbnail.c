/* Thumbnail renderer: decode the PNG back and check pixels, orientation,
 * shading, determinism and argument errors. Set ORFEAS_THUMB_DUMP=dir to
 * also write the rendered PNGs there for a look. */
#include "orfeas/thumbnail.h"

#include "orfeas/error.h"
#include "testutil.h"

#include <math.h>
#include <spng.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct image {
    uint32_t w, h;
    uint8_t *px; /* RGBA8 */
} image;

static int decode(const orfeas_buffer *png, image *img)
{
    memset(img, 0, sizeof *img);
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return -1;
    struct spng_ihdr ihdr;
    size_t len = 0;
    int err = spng_set_png_buffer(ctx, png->data, png->size);
    if (!err) err = spng_get_ihdr(ctx, &ihdr);
    if (!err && (ihdr.bit_depth != 8 || ihdr.color_type != SPNG_COLOR_TYPE_TRUECOLOR_ALPHA))
        err = -1;
    if (!err) err = spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &len);
    if (!err) {
        img->px = malloc(len);
        if (!img->px) err = -1;
    }
    if (!err) err = spng_decode_image(ctx, img->px, len, SPNG_FMT_RGBA8, 0);
    spng_ctx_free(ctx);
    if (err) {
        free(img->px);
        img->px = NULL;
        return -1;
    }
    img->w = ihdr.width;
    img->h = ihdr.height;
    return 0;
}

static const uint8_t *pixel(const image *img, uint32_t x, uint32_t y)
{
    return img->px + ((size_t)y * img->w + x) * 4;
}

static int luma(const uint8_t *p)
{
    return (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000;
}

static void dump(const char *name, const orfeas_buffer *png)
{
    const char *dir = getenv("ORFEAS_THUMB_DUMP");
    if (!dir || !*dir) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(png->data, 1, png->size, f);
    fclose(f);
    fprintf(stderr, "wrote %s\n", path);
}

/* Cube of half-size s: vertex i has x = bit 0, y = bit 1, z = bit 2. With
 * colours, each corner is (255*x, 255*y, 255*z), the classic RGB cube. */
static void make_cube(orfeas_mesh *m, float s, int with_colors)
{
    static const uint32_t tris[36] = {4, 5, 7, 4, 7, 6, 0, 2, 3, 0, 3, 1, 1, 3, 7, 1, 7, 5,
                                      0, 4, 6, 0, 6, 2, 2, 6, 7, 2, 7, 3, 0, 1, 5, 0, 5, 4};
    REQUIRE(orfeas_mesh_alloc(m, 8, 12, with_colors) == 0);
    for (uint32_t i = 0; i < 8; i++) {
        for (int a = 0; a < 3; a++) {
            int bit = (i >> a) & 1;
            m->positions[i * 3 + a] = bit ? s : -s;
            if (with_colors) m->colors[i * 4 + a] = bit ? 255 : 0;
        }
        if (with_colors) m->colors[i * 4 + 3] = 255;
    }
    memcpy(m->indices, tris, sizeof tris);
}

/* UV sphere of radius r with the given colour; triangles outward. */
static void make_sphere(orfeas_mesh *m, float radius, uint32_t stacks, uint32_t slices,
                        const uint8_t rgba[4])
{
    uint32_t nv = 2 + (stacks - 1) * slices;
    uint32_t nt = 2 * slices * (stacks - 1);
    REQUIRE(orfeas_mesh_alloc(m, nv, nt, rgba != NULL) == 0);
    const double pi = 3.14159265358979323846;
    float *p = m->positions;
    p[0] = 0, p[1] = radius, p[2] = 0;                  /* north pole: vertex 0 */
    p[3 * (nv - 1)] = 0, p[3 * (nv - 1) + 1] = -radius; /* south pole: last */
    p[3 * (nv - 1) + 2] = 0;
    for (uint32_t i = 1; i < stacks; i++) {
        double th = pi * i / stacks;
        for (uint32_t j = 0; j < slices; j++) {
            double ph = 2.0 * pi * j / slices;
            float *v = p + 3 * (1 + (size_t)(i - 1) * slices + j);
            v[0] = (float)(radius * sin(th) * sin(ph));
            v[1] = (float)(radius * cos(th));
            v[2] = (float)(radius * sin(th) * cos(ph));
        }
    }
    if (rgba)
        for (uint32_t v = 0; v < nv; v++)
            memcpy(m->colors + (size_t)v * 4, rgba, 4);
    uint32_t *t = m->indices;
#define RING(i, j) (1 + ((i)-1) * slices + ((j) % slices))
    for (uint32_t j = 0; j < slices; j++) {
        *t++ = 0, *t++ = RING(1, j), *t++ = RING(1, j + 1);
        *t++ = nv - 1, *t++ = RING(stacks - 1, j + 1), *t++ = RING(stacks - 1, j);
    }
    for (uint32_t i = 1; i + 1 < stacks; i++) {
        for (uint32_t j = 0; j < slices; j++) {
            uint32_t a = RING(i, j), b = RING(i, j + 1), c = RING(i + 1, j), d = RING(i + 1, j + 1);
            *t++ = a, *t++ = c, *t++ = d;
            *t++ = a, *t++ = d, *t++ = b;
        }
    }
#undef RING
}

static void check_closed(const orfeas_mesh *m)
{
    orfeas_mesh_report rep;
    REQUIRE(orfeas_mesh_check(m, &rep) == 0);
    CHECKF(orfeas_mesh_report_ok(&rep), "fixture not closed/outward: volume %g boundary %llu",
           rep.volume, (unsigned long long)rep.boundary_edges);
}

static int render(const orfeas_mesh *m, const orfeas_thumbnail_options *o, orfeas_buffer *png,
                  image *img)
{
    int rc = orfeas_render_thumbnail(m, o, png);
    if (rc) return rc;
    REQUIRE(png->size > 8 && memcmp(png->data, "\x89PNG", 4) == 0);
    REQUIRE(decode(png, img) == 0);
    return 0;
}

static void test_red_sphere(void)
{
    static const uint8_t red[4] = {210, 40, 30, 255};
    orfeas_mesh m = {0};
    make_sphere(&m, 30.0f, 24, 48, red);
    check_closed(&m);
    orfeas_thumbnail_options o = {0};
    o.background[0] = 10, o.background[1] = 20, o.background[2] = 30, o.background[3] = 255;
    orfeas_buffer png = {0};
    image img;
    REQUIRE(render(&m, &o, &png, &img) == 0);
    dump("thumb_sphere.png", &png);
    CHECK(img.w == 256 && img.h == 256);
    const uint32_t cx[4] = {0, 255, 0, 255}, cy[4] = {0, 0, 255, 255};
    for (int i = 0; i < 4; i++)
        CHECK(memcmp(pixel(&img, cx[i], cy[i]), o.background, 4) == 0);
    const uint8_t *c = pixel(&img, 128, 128);
    CHECKF(c[3] == 255 && c[0] > c[1] + 60 && c[0] > c[2] + 60, "centre %u %u %u %u", c[0], c[1],
           c[2], c[3]);
    /* Round silhouette: the fitted sphere spans 88% of the frame. */
    CHECK(pixel(&img, 128, 20)[0] > 60 && pixel(&img, 20, 128)[0] > 60);
    CHECK(memcmp(pixel(&img, 30, 30), o.background, 4) == 0);

    /* Same mesh and options: same bytes. */
    orfeas_buffer again = {0};
    REQUIRE(orfeas_render_thumbnail(&m, &o, &again) == 0);
    CHECK(again.size == png.size && memcmp(again.data, png.data, png.size) == 0);
    /* The buffer is reset, not appended to. */
    REQUIRE(orfeas_render_thumbnail(&m, &o, &again) == 0);
    CHECK(again.size == png.size && memcmp(again.data, png.data, png.size) == 0);

    orfeas_buffer_free(&again);
    orfeas_buffer_free(&png);
    free(img.px);
    orfeas_mesh_free(&m);
}

/* Grey cube, default 3/4 view: three faces with three distinct flat shades;
 * the top face (toward the light) is brighter than the front face. */
static void test_cube_shading(void)
{
    orfeas_mesh m = {0};
    make_cube(&m, 10.0f, 0);
    check_closed(&m);
    orfeas_buffer png = {0};
    image img;
    REQUIRE(render(&m, NULL, &png, &img) == 0);
    dump("thumb_grey_cube.png", &png);
    CHECK(img.w == 256 && img.h == 256);
    /* NULL options: transparent background. */
    CHECK(pixel(&img, 0, 0)[3] == 0 && pixel(&img, 255, 255)[3] == 0);
    /* Down the centre column: top face first, front face last. */
    int first = -1, last = -1;
    for (uint32_t y = 0; y < img.h; y++) {
        if (pixel(&img, 128, y)[3] == 255) {
            if (first < 0) first = (int)y;
            last = (int)y;
        }
    }
    REQUIRE(first > 0 && last > first + 40);
    const uint8_t *top = pixel(&img, 128, (uint32_t)first + 6);
    const uint8_t *front = pixel(&img, 128, (uint32_t)last - 6);
    CHECKF(luma(top) > luma(front) + 20, "top %d front %d", luma(top), luma(front));
    /* Grey mesh stays grey. */
    CHECK(top[0] == top[1] && top[1] == top[2] && front[0] == front[2]);
    /* The left (-X) face shows at the left edge of the cube with its own shade. */
    int lx = -1;
    for (uint32_t x = 0; x < img.w && lx < 0; x++)
        if (pixel(&img, x, 128)[3] == 255) lx = (int)x;
    REQUIRE(lx > 0 && lx < 120);
    const uint8_t *left = pixel(&img, (uint32_t)lx + 6, 128);
    CHECKF(luma(left) != luma(front) && luma(left) != luma(top), "left %d front %d top %d",
           luma(left), luma(front), luma(top));
    /* Anti-aliased silhouette over a transparent background: partial alpha
     * somewhere along the edge, colour not darkened toward black. */
    int partial = 0;
    for (uint32_t x = 0; x < img.w; x++) {
        const uint8_t *p = pixel(&img, x, (uint32_t)first - 1);
        if (p[3] > 0 && p[3] < 255 && p[0] > 100) partial = 1;
        p = pixel(&img, x, (uint32_t)first);
        if (p[3] > 0 && p[3] < 255 && p[0] > 100) partial = 1;
    }
    CHECK(partial);
    orfeas_buffer_free(&png);
    free(img.px);
    orfeas_mesh_free(&m);
}

/* RGB cube seen almost straight from the front (+Z): +Y is up on screen,
 * +X right, and the z = +1 face (all blue) is the one shown. */
static void test_cube_orientation(void)
{
    orfeas_mesh m = {0};
    make_cube(&m, 10.0f, 1);
    check_closed(&m);
    orfeas_thumbnail_options o = {0};
    o.width = 200, o.height = 120;
    o.yaw_deg = 0.01f, o.pitch_deg = 0.0f;
    o.background[3] = 255; /* opaque black */
    orfeas_buffer png = {0};
    image img;
    REQUIRE(render(&m, &o, &png, &img) == 0);
    dump("thumb_rgb_cube_front.png", &png);
    REQUIRE(img.w == 200 && img.h == 120);
    /* The square face spans 88% of the height, centred. */
    const uint8_t *tl = pixel(&img, 100 - 45, 60 - 45), *tr = pixel(&img, 100 + 45, 60 - 45);
    const uint8_t *bl = pixel(&img, 100 - 45, 60 + 45), *br = pixel(&img, 100 + 45, 60 + 45);
    CHECKF(tl[1] > 100 && tl[0] < 40, "top-left %u %u %u", tl[0], tl[1], tl[2]);   /* (-,+) */
    CHECKF(tr[1] > 100 && tr[0] > 100, "top-right %u %u %u", tr[0], tr[1], tr[2]); /* (+,+) */
    CHECKF(bl[1] < 40 && bl[0] < 40, "bottom-left %u %u %u", bl[0], bl[1], bl[2]); /* (-,-) */
    CHECKF(br[0] > 100 && br[1] < 40, "bottom-right %u %u %u", br[0], br[1], br[2]);
    CHECK(tl[2] > 100 && tr[2] > 100 && bl[2] > 100 && br[2] > 100); /* z = +1 face */
    CHECK(memcmp(pixel(&img, 0, 0), o.background, 4) == 0);
    CHECK(memcmp(pixel(&img, 199, 119), o.background, 4) == 0);

    /* Default view of the RGB cube, for a look. */
    o.yaw_deg = o.pitch_deg = 0.0f;
    o.width = o.height = 0;
    o.background[0] = o.background[1] = o.background[2] = 255;
    free(img.px);
    REQUIRE(render(&m, &o, &png, &img) == 0);
    dump("thumb_rgb_cube.png", &png);
    const uint8_t *c = pixel(&img, 128, 128);
    CHECK(c[3] == 255 && memcmp(c, o.background, 4) != 0);
    orfeas_buffer_free(&png);
    free(img.px);
    orfeas_mesh_free(&m);
}

/* Open mesh seen from behind: both sides are drawn. */
static void test_single_triangle_backside(void)
{
    orfeas_mesh m = {0};
    REQUIRE(orfeas_mesh_alloc(&m, 3, 1, 0) == 0);
    const float pos[9] = {-1, -1, 0, 1, -1, 0, 0, 1, 0};
    memcpy(m.positions, pos, sizeof pos);
    m.indices[0] = 0, m.indices[1] = 1, m.indices[2] = 2;
    orfeas_thumbnail_options o = {0};
    o.width = o.height = 64;
    o.yaw_deg = 180.0f;
    orfeas_buffer png = {0};
    image img;
    REQUIRE(render(&m, &o, &png, &img) == 0);
    CHECK(pixel(&img, 32, 40)[3] == 255);
    orfeas_buffer_free(&png);
    free(img.px);
    orfeas_mesh_free(&m);
}

/* A disc fanned into many thin triangles seen face-on over a transparent
 * background: the fill rule leaves no cracks along the shared edges, so
 * every pixel well inside is fully covered. */
static void test_watertight(void)
{
    const uint32_t n = 97;
    orfeas_mesh m = {0};
    REQUIRE(orfeas_mesh_alloc(&m, n + 1, n, 0) == 0);
    memset(m.positions, 0, 3 * sizeof(float));
    for (uint32_t i = 0; i < n; i++) {
        double a = 2.0 * 3.14159265358979323846 * i / n;
        m.positions[3 * (i + 1)] = (float)(7.0 * cos(a));
        m.positions[3 * (i + 1) + 1] = (float)(7.0 * sin(a));
        m.positions[3 * (i + 1) + 2] = 0.0f;
        m.indices[3 * i] = 0, m.indices[3 * i + 1] = 1 + i, m.indices[3 * i + 2] = 1 + (i + 1) % n;
    }
    orfeas_thumbnail_options o = {0};
    o.width = 97, o.height = 61;
    o.yaw_deg = 0.01f;
    orfeas_buffer png = {0};
    image img;
    REQUIRE(render(&m, &o, &png, &img) == 0);
    dump("thumb_disc.png", &png);
    double radius = 0.5 * 61 * (1.0 - 2 * 0.06); /* fitted to the height */
    int cracks = 0, inside = 0;
    for (uint32_t y = 0; y < img.h; y++) {
        for (uint32_t x = 0; x < img.w; x++) {
            double dx = x + 0.5 - 48.5, dy = y + 0.5 - 30.5;
            if (sqrt(dx * dx + dy * dy) > radius - 1.5) continue;
            inside++;
            if (pixel(&img, x, y)[3] != 255) cracks++;
        }
    }
    CHECKF(inside > 1500 && cracks == 0, "%d of %d pixels not covered", cracks, inside);
    free(img.px);
    orfeas_mesh_free(&m);

    /* A square cut along both diagonals, seen exactly face-on (yaw 360):
     * the diagonals run through sample centres, which only the top-left
     * rule assigns to exactly one side. */
    REQUIRE(orfeas_mesh_alloc(&m, 5, 4, 0) == 0);
    const float sq[15] = {0, 0, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 1, 0};
    const uint32_t fan[12] = {0, 1, 2, 0, 2, 3, 0, 3, 4, 0, 4, 1};
    memcpy(m.positions, sq, sizeof sq);
    memcpy(m.indices, fan, sizeof fan);
    o.width = o.height = 64;
    o.yaw_deg = 360.0f;
    REQUIRE(render(&m, &o, &png, &img) == 0);
    cracks = 0;
    for (uint32_t y = 5; y < 59; y++)
        for (uint32_t x = 5; x < 59; x++)
            if (pixel(&img, x, y)[3] != 255) cracks++;
    CHECKF(cracks == 0, "%d pixels not covered", cracks);
    free(img.px);
    orfeas_buffer_free(&png);
    orfeas_mesh_free(&m);
}

static void test_errors(void)
{
    orfeas_buffer png = {0};
    orfeas_mesh empty = {0};
    CHECK(orfeas_render_thumbnail(&empty, NULL, &png) == ORFEAS_EINVAL);
    CHECK(orfeas_render_thumbnail(NULL, NULL, &png) == ORFEAS_EINVAL);

    orfeas_mesh m = {0};
    make_cube(&m, 1.0f, 0);
    CHECK(orfeas_render_thumbnail(&m, NULL, NULL) == ORFEAS_EINVAL);
    orfeas_thumbnail_options o = {0};
    o.width = 4097;
    CHECK(orfeas_render_thumbnail(&m, &o, &png) == ORFEAS_EINVAL);
    o.width = 16, o.height = 4097;
    CHECK(orfeas_render_thumbnail(&m, &o, &png) == ORFEAS_EINVAL);
    o.height = 16;
    REQUIRE(orfeas_render_thumbnail(&m, &o, &png) == 0);
    CHECK(png.size > 0);
    o.yaw_deg = NAN;
    CHECK(orfeas_render_thumbnail(&m, &o, &png) == ORFEAS_EINVAL);
    CHECK(png.size == 0); /* reset on error too */
    o.yaw_deg = 0;
    m.indices[5] = 8;
    CHECK(orfeas_render_thumbnail(&m, &o, &png) == ORFEAS_EINVAL);
    m.indices[5] = 6;
    m.positions[4] = INFINITY;
    CHECK(orfeas_render_thumbnail(&m, &o, &png) == ORFEAS_EINVAL);
    m.positions[4] = 3e38f; /* finite, but overflows once rotated */
    m.positions[5] = 3e38f;
    CHECK(orfeas_render_thumbnail(&m, NULL, &png) == ORFEAS_EINVAL);
    m.positions[4] = m.positions[5] = 1.0f;
    /* Degenerate (a point): renders just the background. */
    memset(m.positions, 0, 8 * 3 * sizeof(float));
    image img;
    REQUIRE(render(&m, &o, &png, &img) == 0);
    CHECK(img.w == 16 && img.h == 16 && pixel(&img, 8, 8)[3] == 0);
    free(img.px);
    orfeas_buffer_free(&png);
    orfeas_mesh_free(&m);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ~2 M triangles at the default size: covered; the time is printed, not
 * checked (sanitizer builds are far slower). */
static void test_dense(void)
{
    static const uint8_t tan_[4] = {200, 170, 120, 255};
    orfeas_mesh m = {0};
    make_sphere(&m, 50.0f, 1000, 1000, tan_);
    orfeas_buffer png = {0};
    image img;
    double t0 = now_s();
    REQUIRE(render(&m, NULL, &png, &img) == 0);
    double t1 = now_s();
    fprintf(stderr, "dense: %u triangles at 256x256 in %.1f ms (incl. PNG encode)\n",
            m.triangle_count, (t1 - t0) * 1e3);
    dump("thumb_dense.png", &png);
    CHECK(pixel(&img, 128, 128)[3] == 255 && pixel(&img, 0, 0)[3] == 0);
    free(img.px);
    orfeas_buffer_free(&png);
    orfeas_mesh_free(&m);
}

/* A frame big enough to be drawn in several bands (1500 x 2048: bands of
 * 1398 sample rows, seams at pixel rows 699 and 1398): no seams show. */
static void test_bands(void)
{
    static const uint8_t blue[4] = {40, 60, 220, 255};
    orfeas_mesh m = {0};
    make_sphere(&m, 50.0f, 100, 200, blue);
    orfeas_thumbnail_options o = {0};
    o.width = 1500, o.height = 2048;
    o.background[0] = 255, o.background[3] = 255;
    orfeas_buffer png = {0};
    image img;
    REQUIRE(render(&m, &o, &png, &img) == 0);
    CHECK(img.w == 1500 && img.h == 2048);
    CHECK(memcmp(pixel(&img, 1499, 0), o.background, 4) == 0);
    int holes = 0;
    for (uint32_t y = 400; y < 1648; y++)
        for (uint32_t x = 700; x < 800; x++)
            if (pixel(&img, x, y)[0] > pixel(&img, x, y)[2]) holes++;
    CHECK(holes == 0);
    free(img.px);
    orfeas_buffer_free(&png);
    orfeas_mesh_free(&m);
}

int main(void)
{
    test_red_sphere();
    test_cube_shading();
    test_cube_orientation();
    test_single_triangle_backside();
    test_watertight();
    test_errors();
    test_dense();
    test_bands();
    return testutil_finish("test_thumbnail");
}
