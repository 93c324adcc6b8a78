/* orfeas — PNG thumbnails: a small software rasteriser.
 *
 * Pipeline: rotate every vertex into view space (orthographic camera, so no
 * near-plane clipping), fit the projected bounding box into the supersampled
 * frame, snap x/y to 24.8 fixed point and rasterise with integer edge
 * functions and a top-left fill rule, so shared edges are covered exactly
 * once and the output depends on nothing but the mesh and the options. The
 * 2x-supersampled frame is drawn in horizontal bands that bound memory for
 * big sizes; each band is averaged down 2x2 into the final RGBA image. */
#include "orfeas/thumbnail.h"

#include "orfeas/error.h"
#include "orfeas/log.h"

#include <math.h>
#include <spng.h>
#include <stdlib.h>
#include <string.h>

#define SS 2                     /* supersampling factor per axis */
#define SUB_BITS 8               /* fixed-point sub-sample precision */
#define SUB_ONE (1 << SUB_BITS)  /* one sample in fixed point */
#define SUB_HALF (SUB_ONE / 2)   /* sample centre offset */
#define MARGIN 0.06f             /* fraction of the frame left free per side */
#define BAND_SAMPLES (1u << 22)  /* samples per band: 32 MiB of depth + colour */
#define AMBIENT 0.32f            /* light that reaches faces turned away from the key */
#define DIFFUSE (1.0f - AMBIENT) /* key light strength: lit faces reach full colour */
#define GREY 200                 /* colour of meshes without vertex colours */
#define FLOOR_BIAS (1 << 24)     /* keeps floor_div's shifted operand non-negative */

/* Each vertex in screen space: x/y in samples (image axes, y down), z in
 * the same scale growing toward the viewer, plus x/y snapped to fixed point.
 * Kept in two arrays: the rejection test that decides most triangles of a
 * dense mesh reads only the 8-byte fixed-point one. */
typedef struct fpt {
    int32_t x, y;
} fpt;
typedef struct vpos {
    float x, y, z;
} vpos;

typedef struct raster {
    const orfeas_mesh *mesh;
    const fpt *fxy;
    const vpos *pos;
    uint32_t sw, sh;    /* supersampled frame size */
    uint32_t band_y0;   /* first sample row of the current band */
    uint32_t band_rows; /* rows in the current band */
    float *depth;       /* band_rows * sw, larger = closer */
    uint8_t *color;     /* band_rows * sw RGBA, alpha 0 = empty */
    float light[3];     /* unit vector toward the key light, view space */
} raster;

/* Depth and shaded colour of one triangle as functions of the barycentric
 * weights of its second and third vertices. */
typedef struct tri_shade {
    float z0, dz1, dz2;
    float c0[3], d1[3], d2[3];
} tri_shade;

/* floor(a / SUB_ONE) for the small coordinates used here, without relying on
 * the implementation-defined right shift of negative numbers. */
static int32_t floor_div(int64_t a)
{
    return (int32_t)((a + FLOOR_BIAS) >> SUB_BITS) - (FLOOR_BIAS >> SUB_BITS);
}

static int64_t orient(const fpt *a, const fpt *b, int64_t px, int64_t py)
{
    return (int64_t)(b->x - a->x) * (py - a->y) - (int64_t)(b->y - a->y) * (px - a->x);
}

/* Top-left rule for triangles with positive orient() (clockwise on the
 * y-down screen): top edges run right, left edges run up. Samples exactly on
 * other edges belong to the neighbouring triangle, hence the -1 bias. */
static int64_t edge_bias(const fpt *a, const fpt *b)
{
    int32_t dx = b->x - a->x, dy = b->y - a->y;
    return (dy < 0 || (dy == 0 && dx > 0)) ? 0 : -1;
}

static uint8_t to_u8(float v)
{
    if (!(v > 0.0f)) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)(v + 0.5f);
}

/* Flat Lambert from the face normal times the vertex colours. Screen space
 * is view space mirrored in y, so (nx, -ny, nz) is the view normal up to
 * sign; it is turned toward the viewer because both sides are drawn. */
static void shade_setup(const raster *r, const uint32_t vid[3], tri_shade *s)
{
    const vpos *a = &r->pos[vid[0]], *b = &r->pos[vid[1]], *c = &r->pos[vid[2]];
    float ux = b->x - a->x, uy = b->y - a->y, uz = b->z - a->z;
    float vx = c->x - a->x, vy = c->y - a->y, vz = c->z - a->z;
    float nx = uy * vz - uz * vy, ny = -(uz * vx - ux * vz), nz = ux * vy - uy * vx;
    float len = sqrtf(nx * nx + ny * ny + nz * nz);
    float shade = AMBIENT;
    if (len > 0.0f) {
        if (nz < 0.0f) len = -len;
        float d = (nx * r->light[0] + ny * r->light[1] + nz * r->light[2]) / len;
        if (d > 0.0f) shade += DIFFUSE * d;
    }
    float col[3][3];
    for (int k = 0; k < 3; k++) {
        for (int ch = 0; ch < 3; ch++) {
            uint8_t v = r->mesh->colors ? r->mesh->colors[(size_t)vid[k] * 4 + ch] : GREY;
            col[k][ch] = (float)v * shade;
        }
    }
    for (int ch = 0; ch < 3; ch++) {
        s->c0[ch] = col[0][ch];
        s->d1[ch] = col[1][ch] - col[0][ch];
        s->d2[ch] = col[2][ch] - col[0][ch];
    }
    s->z0 = a->z;
    s->dz1 = b->z - a->z;
    s->dz2 = c->z - a->z;
}

static void draw_triangle(raster *r, uint32_t t)
{
    const uint32_t *idx = r->mesh->indices + (size_t)t * 3;
    uint32_t vid[3] = {idx[0], idx[1], idx[2]};
    const fpt *a = &r->fxy[vid[0]], *b = &r->fxy[vid[1]], *c = &r->fxy[vid[2]];

    /* Cheap rejection first: at 256 px most triangles of a dense mesh miss
     * every sample centre, so the bounding box test decides most of them. */
    int32_t miny = a->y < b->y ? a->y : b->y;
    int32_t maxy = a->y > b->y ? a->y : b->y;
    if (c->y < miny) miny = c->y;
    if (c->y > maxy) maxy = c->y;
    int32_t iy0 = floor_div((int64_t)miny - SUB_HALF + SUB_ONE - 1);
    int32_t iy1 = floor_div((int64_t)maxy - SUB_HALF);
    int32_t by0 = (int32_t)r->band_y0, by1 = (int32_t)(r->band_y0 + r->band_rows) - 1;
    if (iy0 < by0) iy0 = by0;
    if (iy1 > by1) iy1 = by1;
    if (iy0 > iy1) return;
    int32_t minx = a->x < b->x ? a->x : b->x;
    int32_t maxx = a->x > b->x ? a->x : b->x;
    if (c->x < minx) minx = c->x;
    if (c->x > maxx) maxx = c->x;
    int32_t ix0 = floor_div((int64_t)minx - SUB_HALF + SUB_ONE - 1);
    int32_t ix1 = floor_div((int64_t)maxx - SUB_HALF);
    if (ix0 < 0) ix0 = 0;
    if (ix1 > (int32_t)r->sw - 1) ix1 = (int32_t)r->sw - 1;
    if (ix0 > ix1) return;

    int64_t area = orient(a, b, c->x, c->y);
    if (area == 0) return;
    if (area < 0) { /* draw both sides: make every triangle clockwise on screen */
        const fpt *tmp = b;
        b = c;
        c = tmp;
        uint32_t ti = vid[1];
        vid[1] = vid[2];
        vid[2] = ti;
        area = -area;
    }
    float inv_area = 1.0f / (float)area;

    /* Edge functions at the first sample centre, then stepped per sample.
     * wb weighs vertex b (edge c->a), wc vertex c (edge a->b). */
    int64_t px = (int64_t)ix0 * SUB_ONE + SUB_HALF, py = (int64_t)iy0 * SUB_ONE + SUB_HALF;
    int64_t bias_a = edge_bias(b, c), bias_b = edge_bias(c, a), bias_c = edge_bias(a, b);
    int64_t wa_row = orient(b, c, px, py) + bias_a;
    int64_t wb_row = orient(c, a, px, py) + bias_b;
    int64_t wc_row = orient(a, b, px, py) + bias_c;
    int64_t wa_dx = (int64_t)(b->y - c->y) * SUB_ONE, wa_dy = (int64_t)(c->x - b->x) * SUB_ONE;
    int64_t wb_dx = (int64_t)(c->y - a->y) * SUB_ONE, wb_dy = (int64_t)(a->x - c->x) * SUB_ONE;
    int64_t wc_dx = (int64_t)(a->y - b->y) * SUB_ONE, wc_dy = (int64_t)(b->x - a->x) * SUB_ONE;

    /* Shading is set up at the first covered sample: many tiny triangles
     * whose box holds a sample centre still cover none. */
    tri_shade s;
    int ready = 0;
    for (int32_t y = iy0; y <= iy1; y++) {
        int64_t wa = wa_row, wb = wb_row, wc = wc_row;
        size_t row = (size_t)(y - (int32_t)r->band_y0) * r->sw;
        for (int32_t x = ix0; x <= ix1; x++) {
            if ((wa | wb | wc) >= 0) {
                if (!ready) {
                    shade_setup(r, vid, &s);
                    ready = 1;
                }
                float lb = (float)(wb - bias_b) * inv_area;
                float lc = (float)(wc - bias_c) * inv_area;
                float z = s.z0 + lb * s.dz1 + lc * s.dz2;
                size_t i = row + (size_t)x;
                if (z > r->depth[i]) {
                    r->depth[i] = z;
                    uint8_t *p = r->color + i * 4;
                    for (int ch = 0; ch < 3; ch++)
                        p[ch] = to_u8(s.c0[ch] + lb * s.d1[ch] + lc * s.d2[ch]);
                    p[3] = 255;
                }
            }
            wa += wa_dx;
            wb += wb_dx;
            wc += wc_dx;
        }
        wa_row += wa_dy;
        wb_row += wb_dy;
        wc_row += wc_dy;
    }
}

/* Averages the band's 2x2 sample blocks with the background, weighting
 * colour by alpha so partly covered edge pixels over a transparent
 * background keep the mesh colour instead of fading to black. */
static void resolve_band(const raster *r, const uint8_t bg[4], uint8_t *image, uint32_t width)
{
    for (uint32_t sy = 0; sy < r->band_rows; sy += SS) {
        uint8_t *dst = image + ((size_t)(r->band_y0 + sy) / SS) * width * 4;
        for (uint32_t px = 0; px < width; px++) {
            uint32_t sum_a = 0, sum_c[3] = {0, 0, 0};
            for (uint32_t dy = 0; dy < SS; dy++) {
                const uint8_t *src = r->color + ((size_t)(sy + dy) * r->sw + (size_t)px * SS) * 4;
                for (uint32_t dx = 0; dx < SS; dx++, src += 4) {
                    const uint8_t *s = src[3] ? src : bg;
                    for (int ch = 0; ch < 3; ch++)
                        sum_c[ch] += (uint32_t)s[ch] * s[3];
                    sum_a += s[3];
                }
            }
            for (int ch = 0; ch < 3; ch++)
                dst[px * 4 + ch] = sum_a ? (uint8_t)((sum_c[ch] + sum_a / 2) / sum_a) : 0;
            dst[px * 4 + 3] = (uint8_t)((sum_a + SS * SS / 2) / (SS * SS));
        }
    }
}

/* Rotates into view space, fits the bounding box into the frame and fills
 * pos and fxy. ORFEAS_EINVAL for a non-finite (or overflowing) position. */
static int transform(const orfeas_mesh *mesh, float yaw_deg, float pitch_deg, uint32_t sw,
                     uint32_t sh, vpos *pos, fpt *fxy)
{
    const double deg = 3.14159265358979323846 / 180.0;
    /* Camera on the unit sphere at (sin yaw cos pitch, sin pitch, cos yaw
     * cos pitch); rotating by -yaw about Y then +pitch about X brings it to
     * +Z while keeping +Y up on screen. */
    float cy = (float)cos(yaw_deg * deg), sy = (float)sin(yaw_deg * deg);
    float cp = (float)cos(pitch_deg * deg), sp = (float)sin(pitch_deg * deg);
    float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (uint32_t v = 0; v < mesh->vertex_count; v++) {
        const float *p = mesh->positions + (size_t)v * 3;
        if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2])) return ORFEAS_EINVAL;
        float x1 = p[0] * cy - p[2] * sy, z1 = p[0] * sy + p[2] * cy;
        float y2 = p[1] * cp - z1 * sp, z2 = p[1] * sp + z1 * cp;
        /* Coordinates near FLT_MAX can overflow in the rotation. */
        if (!isfinite(x1) || !isfinite(y2) || !isfinite(z2)) return ORFEAS_EINVAL;
        pos[v].x = x1;
        pos[v].y = y2;
        pos[v].z = z2;
        if (x1 < lo[0]) lo[0] = x1;
        if (x1 > hi[0]) hi[0] = x1;
        if (y2 < lo[1]) lo[1] = y2;
        if (y2 > hi[1]) hi[1] = y2;
        if (z2 < lo[2]) lo[2] = z2;
        if (z2 > hi[2]) hi[2] = z2;
    }
    /* Scale in double: a huge coordinate range must not overflow the fit. */
    double ex = (double)hi[0] - lo[0], ey = (double)hi[1] - lo[1];
    double avail_x = sw * (1.0 - 2.0 * MARGIN), avail_y = sh * (1.0 - 2.0 * MARGIN);
    double k = 1.0;
    if (ex > 0.0 || ey > 0.0) {
        double kx = ex > 0.0 ? avail_x / ex : INFINITY, ky = ey > 0.0 ? avail_y / ey : INFINITY;
        k = kx < ky ? kx : ky;
    }
    double mx = 0.5 * ((double)lo[0] + hi[0]), my = 0.5 * ((double)lo[1] + hi[1]);
    double mz = 0.5 * ((double)lo[2] + hi[2]);
    for (uint32_t v = 0; v < mesh->vertex_count; v++) {
        vpos *t = &pos[v];
        double x = 0.5 * sw + k * (t->x - mx), y = 0.5 * sh - k * (t->y - my);
        t->x = (float)x;
        t->y = (float)y;
        t->z = (float)(k * (t->z - mz));
        /* Within the frame by construction, so 24.8 fixed point cannot overflow. */
        fxy[v].x = (int32_t)floor(x * SUB_ONE + 0.5);
        fxy[v].y = (int32_t)floor(y * SUB_ONE + 0.5);
    }
    return 0;
}

typedef struct png_sink {
    orfeas_buffer *out;
    int rc;
} png_sink;

static int png_write(spng_ctx *ctx, void *user, void *data, size_t length)
{
    (void)ctx;
    png_sink *sink = user;
    int rc = orfeas_buffer_append(sink->out, data, length);
    if (rc) {
        sink->rc = rc;
        return SPNG_IO_ERROR;
    }
    return 0;
}

static int encode_png(const uint8_t *image, uint32_t width, uint32_t height, orfeas_buffer *out)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx) return ORFEAS_ENOMEM;
    png_sink sink = {out, 0};
    struct spng_ihdr ihdr = {0};
    ihdr.width = width;
    ihdr.height = height;
    ihdr.bit_depth = 8;
    ihdr.color_type = SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
    int err = spng_set_png_stream(ctx, png_write, &sink);
    if (!err) err = spng_set_ihdr(ctx, &ihdr);
    if (!err)
        err = spng_encode_image(ctx, image, (size_t)width * height * 4, SPNG_FMT_PNG,
                                SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    if (sink.rc) return sink.rc;
    if (err == SPNG_EMEM) return ORFEAS_ENOMEM;
    if (err) {
        ORFEAS_ERROR("thumbnail: png encoder: %s", spng_strerror(err));
        return ORFEAS_EINTERNAL;
    }
    return 0;
}

/* malloc(n * size) that fails instead of wrapping around. */
static void *alloc_array(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    return malloc(n * size);
}

static int render(const orfeas_mesh *mesh, const orfeas_thumbnail_options *opts, uint32_t width,
                  uint32_t height, orfeas_buffer *out)
{
    float yaw = ORFEAS_THUMBNAIL_DEFAULT_YAW, pitch = ORFEAS_THUMBNAIL_DEFAULT_PITCH;
    uint8_t bg[4] = {0, 0, 0, 0};
    if (opts) {
        if (opts->yaw_deg != 0.0f || opts->pitch_deg != 0.0f) {
            yaw = opts->yaw_deg;
            pitch = opts->pitch_deg;
        }
        memcpy(bg, opts->background, 4);
    }
    if (!isfinite(yaw) || !isfinite(pitch)) return ORFEAS_EINVAL;

    raster r = {0};
    r.mesh = mesh;
    r.sw = width * SS;
    r.sh = height * SS;
    /* Even band heights so no output pixel straddles two bands. */
    uint32_t rows = BAND_SAMPLES / r.sw;
    rows -= rows % SS;
    if (rows < SS) rows = SS;
    if (rows > r.sh) rows = r.sh;
    /* Key light from above, in front and slightly right, fixed to the camera
     * so every view is lit alike: in the default view the top, front and
     * left faces of a box get three clearly different shades. */
    const float l[3] = {0.10f, 0.60f, 0.80f};
    float ll = sqrtf(l[0] * l[0] + l[1] * l[1] + l[2] * l[2]);
    for (int i = 0; i < 3; i++)
        r.light[i] = l[i] / ll;

    int rc = ORFEAS_ENOMEM;
    vpos *pos = alloc_array(mesh->vertex_count, sizeof(vpos));
    fpt *fxy = alloc_array(mesh->vertex_count, sizeof(fpt));
    uint8_t *image = NULL;
    image = alloc_array((size_t)width * height, 4);
    r.depth = alloc_array((size_t)rows * r.sw, sizeof(float));
    r.color = alloc_array((size_t)rows * r.sw, 4);
    if (!pos || !fxy || !image || !r.depth || !r.color) goto done;

    rc = transform(mesh, yaw, pitch, r.sw, r.sh, pos, fxy);
    if (rc) goto done;
    r.pos = pos;
    r.fxy = fxy;
    for (uint32_t y0 = 0; y0 < r.sh; y0 += rows) {
        r.band_y0 = y0;
        r.band_rows = r.sh - y0 < rows ? r.sh - y0 : rows;
        size_t n = (size_t)r.band_rows * r.sw;
        for (size_t i = 0; i < n; i++)
            r.depth[i] = -INFINITY;
        memset(r.color, 0, n * 4);
        for (uint32_t t = 0; t < mesh->triangle_count; t++)
            draw_triangle(&r, t);
        resolve_band(&r, bg, image, width);
    }
    rc = encode_png(image, width, height, out);
done:
    free(r.color);
    free(r.depth);
    free(image);
    free(fxy);
    free(pos);
    return rc;
}

int orfeas_render_thumbnail(const orfeas_mesh *mesh, const orfeas_thumbnail_options *opts,
                            orfeas_buffer *out)
{
    if (!out) return ORFEAS_EINVAL;
    out->size = 0;
    if (!mesh || mesh->vertex_count == 0 || mesh->triangle_count == 0 || !mesh->positions ||
        !mesh->indices)
        return ORFEAS_EINVAL;
    uint32_t width = opts && opts->width ? opts->width : ORFEAS_THUMBNAIL_DEFAULT_SIZE;
    uint32_t height = opts && opts->height ? opts->height : ORFEAS_THUMBNAIL_DEFAULT_SIZE;
    if (width > ORFEAS_THUMBNAIL_MAX_SIZE || height > ORFEAS_THUMBNAIL_MAX_SIZE)
        return ORFEAS_EINVAL;
    /* Validate indices up front so the rasteriser never checks them. */
    size_t n = (size_t)mesh->triangle_count * 3;
    for (size_t i = 0; i < n; i++)
        if (mesh->indices[i] >= mesh->vertex_count) return ORFEAS_EINVAL;

    int rc = render(mesh, opts, width, height, out);
    if (rc) {
        out->size = 0;
        ORFEAS_DEBUG("thumbnail: %ux%u of %u triangles failed: %s", width, height,
                     mesh->triangle_count, orfeas_strerror(rc));
    }
    return rc;
}
