/* Surface simplification: the engine's RTIN refinement against meshoptimizer's
 * edge-collapse simplifier (border locked), on real height fields, compared at
 * equal triangle counts and at equal true max vertical error.
 *
 * Usage: bench_simplify [--quick]   (--quick: 512 only, 3 runs) */
#include "device/cpu_kernels.h"
#include "image/resize.h"
#include "mesh/domain.h"
#include "mesh/rtin.h"
#include "orfeas/error.h"
#include "orfeas/image.h"
#include "shape/depthmap.h"
#include "shape/inflate.h"
#include "testdata.h"

#include <float.h>
#include <math.h>
#include <meshoptimizer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_runs = 5;

/* A front surface over a domain of grid cells. */
typedef struct field {
    char name[64];
    uint32_t w, h;  /* vertex grid */
    uint8_t *cells; /* (w-1)*(h-1), 1 = inside */
    float *front;   /* w*h, mm */
    double pixel_mm;
    uint64_t inside_cells;
} field;

/* Triangles as grid vertex ids (y*w + x). */
typedef struct tris {
    uint32_t *idx;
    size_t count;
} tris;

typedef struct quality {
    double max_err;      /* true max |z - front| over inside grid points, mm */
    uint64_t uncovered;  /* inside grid points no triangle covers */
    uint64_t flipped;    /* triangles against the majority orientation in the plane */
    uint64_t vertical;   /* zero area in the plane, not in 3D: a fold */
    uint64_t degenerate; /* zero area in 3D */
    int area_exact;      /* sum of |areas| == domain area: no overlap, no gap */
} quality;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int vertex_inside(const field *f, uint32_t x, uint32_t y)
{
    uint32_t cw = f->w - 1, ch = f->h - 1;
    for (uint32_t cy = y ? y - 1 : 0; cy <= y && cy < ch; cy++)
        for (uint32_t cx = x ? x - 1 : 0; cx <= x && cx < cw; cx++)
            if (f->cells[(size_t)cy * cw + cx]) return 1;
    return 0;
}

static void field_finish(field *f)
{
    uint32_t cw = f->w - 1, ch = f->h - 1, minx = cw, maxx = 0;
    f->inside_cells = 0;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++)
            if (f->cells[(size_t)y * cw + x]) {
                f->inside_cells++;
                if (x < minx) minx = x;
                if (x + 1 > maxx) maxx = x + 1;
            }
    f->pixel_mm = 100.0 / (maxx - minx); /* default width_mm */
}

static void field_free(field *f)
{
    free(f->cells), free(f->front);
    memset(f, 0, sizeof *f);
}

/* ---- height fields ---------------------------------------------------- */

static int load_rgba(const char *file, uint32_t side, uint8_t **rgba, uint32_t *w, uint32_t *h)
{
    char path[4096];
    testdata_image(file, path, sizeof path);
    uint8_t *data = NULL;
    size_t size = 0;
    orfeas_image img = {0};
    int err = orfeas_read_file(path, 0, &data, &size);
    if (!err) err = orfeas_image_decode(data, size, NULL, ORFEAS_PIXELS_RGBA8, &img);
    free(data);
    if (err) return err;
    double scale = (double)side / (img.width > img.height ? img.width : img.height);
    *w = (uint32_t)lround(img.width * scale);
    *h = (uint32_t)lround(img.height * scale);
    *rgba = xmalloc((size_t)*w * *h * 4);
    err = orfeas_resize_rgba8(img.pixels, img.width, img.height, img.stride, *rgba, *w, *h);
    orfeas_image_free(&img);
    return err;
}

/* The engine's relief: luminance, local contrast raised by detail 0.3,
 * normalised, 2 + 18 * value mm, every cell inside. */
static int relief_field(field *f, const char *file, uint32_t side)
{
    uint8_t *rgba = NULL;
    int err = load_rgba(file, side, &rgba, &f->w, &f->h);
    if (err) return err;
    snprintf(f->name, sizeof f->name, "%s relief", file);
    size_t n = (size_t)f->w * f->h;
    f->front = xmalloc(n * sizeof *f->front);
    float *low = xmalloc(n * sizeof *low);
    orfeas_luminance(rgba, n, f->front);
    memcpy(low, f->front, n * sizeof *low);
    err = orfeas_blur(f->front, f->w, f->h, side / 1024.0f);
    if (!err) err = orfeas_blur(low, f->w, f->h, side / 40.0f);
    for (size_t i = 0; !err && i < n; i++)
        f->front[i] = low[i] + 0.8f * (f->front[i] - low[i]);
    if (!err) err = orfeas_normalize(f->front, n, 0.01f, 0.99f);
    for (size_t i = 0; i < n; i++)
        f->front[i] = 2.0f + 18.0f * f->front[i];
    free(low), free(rgba);
    size_t cells = (size_t)(f->w - 1) * (f->h - 1);
    f->cells = xmalloc(cells);
    memset(f->cells, 1, cells);
    field_finish(f);
    return err;
}

/* sqrt of the inflation solution over the cells, 10 mm at its peak. */
static int inflate_heights(field *f)
{
    size_t n = (size_t)f->w * f->h;
    uint32_t cw = f->w - 1;
    uint8_t *interior = calloc(n, 1);
    f->front = xmalloc(n * sizeof *f->front);
    if (!interior) return ORFEAS_ENOMEM;
    for (uint32_t y = 1; y + 1 < f->h; y++)
        for (uint32_t x = 1; x + 1 < f->w; x++) {
            const uint8_t *c = f->cells + (size_t)(y - 1) * cw + (x - 1);
            interior[(size_t)y * f->w + x] = c[0] && c[1] && c[cw] && c[cw + 1];
        }
    int err = orfeas_inflate_solve(NULL, interior, f->w, f->h, f->front, NULL);
    free(interior);
    if (err) return err;
    float peak = 0;
    for (size_t i = 0; i < n; i++) {
        f->front[i] = f->front[i] > 0 ? sqrtf(f->front[i]) : 0;
        if (f->front[i] > peak) peak = f->front[i];
    }
    for (size_t i = 0; i < n; i++)
        f->front[i] *= peak > 0 ? 10.0f / peak : 0;
    field_finish(f);
    return 0;
}

static int disc_field(field *f, uint32_t side)
{
    snprintf(f->name, sizeof f->name, "disc inflate");
    f->w = f->h = side;
    uint32_t cw = side - 1;
    f->cells = xmalloc((size_t)cw * cw);
    double c = cw * 0.5, r = cw * 0.45;
    for (uint32_t y = 0; y < cw; y++)
        for (uint32_t x = 0; x < cw; x++)
            f->cells[(size_t)y * cw + x] = hypot(x + 0.5 - c, y + 0.5 - c) < r;
    return inflate_heights(f);
}

/* The engine's domain from an alpha channel: a cell is inside when the
 * average alpha of its corners is at least one half, then cleaned. */
static int alpha_field(field *f, const char *file, uint32_t side)
{
    uint8_t *rgba = NULL;
    int err = load_rgba(file, side, &rgba, &f->w, &f->h);
    if (err) return err;
    snprintf(f->name, sizeof f->name, "%s inflate", file);
    uint32_t cw = f->w - 1, ch = f->h - 1;
    f->cells = xmalloc((size_t)cw * ch);
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++) {
            const uint8_t *p = rgba + ((size_t)y * f->w + x) * 4 + 3;
            unsigned sum = p[0] + p[4] + p[(size_t)f->w * 4] + p[(size_t)f->w * 4 + 4];
            f->cells[(size_t)y * cw + x] = sum >= 2 * 255;
        }
    free(rgba);
    uint64_t kept = 0;
    err = orfeas_domain_clean(f->cells, cw, ch, 0.1, &kept);
    return err ? err : inflate_heights(f);
}

/* ---- shared measurement ------------------------------------------------ */

static int64_t orient(int64_t ax, int64_t ay, int64_t bx, int64_t by, int64_t cx, int64_t cy)
{
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/* Rasterises every triangle over the grid points it covers (edges included),
 * interpolates z barycentrically from its corners and compares with the
 * full-resolution front. Exact integer inside tests; one row span per scan
 * line, so slivers cost their area, not their bounding box. */
static quality measure(const field *f, const tris *t)
{
    quality q = {0};
    uint8_t *covered = calloc((size_t)f->w * f->h, 1);
    if (!covered) exit(1);
    int64_t area2 = 0;
    uint64_t pos = 0, neg = 0;
    for (size_t k = 0; k < t->count; k++) {
        int64_t x[3], y[3];
        float z[3];
        for (int i = 0; i < 3; i++) {
            uint32_t g = t->idx[3 * k + i];
            x[i] = g % f->w, y[i] = g / f->w, z[i] = f->front[g];
        }
        int64_t a = orient(x[0], y[0], x[1], y[1], x[2], y[2]);
        pos += a > 0, neg += a < 0;
        if (a == 0) {
            double ux = (double)(x[1] - x[0]), uy = (double)(y[1] - y[0]), uz = z[1] - z[0];
            double vx = (double)(x[2] - x[0]), vy = (double)(y[2] - y[0]), vz = z[2] - z[0];
            double cx = uy * vz - uz * vy, cy = uz * vx - ux * vz;
            if (cx == 0 && cy == 0)
                q.degenerate++;
            else
                q.vertical++;
            continue;
        }
        area2 += a < 0 ? -a : a;
        int64_t ymin = y[0], ymax = y[0];
        for (int i = 1; i < 3; i++) {
            if (y[i] < ymin) ymin = y[i];
            if (y[i] > ymax) ymax = y[i];
        }
        for (int64_t py = ymin; py <= ymax; py++) {
            double lo = INFINITY, hi = -INFINITY;
            for (int i = 0; i < 3; i++) {
                int j = (i + 1) % 3;
                if ((y[i] - py) * (y[j] - py) > 0) continue;
                double px;
                if (y[i] == y[j]) {
                    px = (double)(x[i] < x[j] ? x[i] : x[j]);
                    if (px < lo) lo = px;
                    px = (double)(x[i] > x[j] ? x[i] : x[j]);
                } else {
                    px = x[i] + (double)(py - y[i]) * (x[j] - x[i]) / (double)(y[j] - y[i]);
                }
                if (px < lo) lo = px;
                if (px > hi) hi = px;
            }
            for (int64_t px = (int64_t)floor(lo) - 1; px <= (int64_t)ceil(hi) + 1; px++) {
                int64_t w0 = orient(x[1], y[1], x[2], y[2], px, py);
                int64_t w1 = orient(x[2], y[2], x[0], y[0], px, py);
                int64_t w2 = orient(x[0], y[0], x[1], y[1], px, py);
                if (a < 0) w0 = -w0, w1 = -w1, w2 = -w2;
                if (w0 < 0 || w1 < 0 || w2 < 0) continue;
                size_t g = (size_t)py * f->w + (size_t)px;
                double zi = ((double)w0 * z[0] + (double)w1 * z[1] + (double)w2 * z[2]) /
                            (double)(a < 0 ? -a : a);
                double e = fabs(zi - f->front[g]);
                if (e > q.max_err) q.max_err = e;
                covered[g] = 1;
            }
        }
    }
    for (uint32_t y = 0; y < f->h; y++)
        for (uint32_t x = 0; x < f->w; x++)
            if (!covered[(size_t)y * f->w + x] && vertex_inside(f, x, y)) q.uncovered++;
    q.flipped = pos < neg ? pos : neg;
    q.area_exact = area2 == 2 * (int64_t)f->inside_cells;
    free(covered);
    return q;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Undirected edges used by exactly one triangle, sorted. */
static uint64_t *boundary_edges(const tris *t, size_t *count)
{
    size_t n = t->count * 3, m = 0;
    uint64_t *e = xmalloc(n * sizeof *e);
    for (size_t k = 0; k < t->count; k++)
        for (int i = 0; i < 3; i++) {
            uint64_t a = t->idx[3 * k + i], b = t->idx[3 * k + (i + 1) % 3];
            e[3 * k + i] = a < b ? a << 32 | b : b << 32 | a;
        }
    qsort(e, n, sizeof *e, cmp_u64);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && e[j] == e[i])
            j++;
        if (j - i == 1) e[m++] = e[i];
        i = j;
    }
    *count = m;
    return e;
}

/* Full-resolution boundary edges that are no longer boundary edges (the
 * outline moved or collapsed) and new boundary edges (holes or cracks). */
static void outline_check(const uint64_t *full, size_t nfull, const tris *t, size_t *lost,
                          size_t *extra)
{
    size_t n;
    uint64_t *e = boundary_edges(t, &n);
    *lost = 0;
    for (size_t i = 0; i < nfull; i++)
        if (!bsearch(&full[i], e, n, sizeof *e, cmp_u64)) ++*lost;
    *extra = n + *lost - nfull;
    free(e);
}

/* ---- the two methods ---------------------------------------------------- */

static void full_surface(const field *f, tris *t)
{
    uint32_t cw = f->w - 1, ch = f->h - 1;
    t->idx = xmalloc(f->inside_cells * 6 * sizeof *t->idx);
    t->count = 0;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++) {
            if (!f->cells[(size_t)y * cw + x]) continue;
            uint32_t a = y * f->w + x, b = a + 1, c = a + f->w, d = c + 1;
            uint32_t *o = t->idx + 3 * t->count;
            o[0] = a, o[1] = b, o[2] = d, o[3] = a, o[4] = d, o[5] = c;
            t->count += 2;
        }
}

/* RTIN on the front alone (back = front). threshold < 0: fit the budget.
 * Returns the threshold used. */
static float rtin_run(const field *f, uint64_t budget, float threshold, tris *out)
{
    orfeas_rtin r;
    if (orfeas_rtin_build(&r, NULL, f->w, f->h, f->front, f->front, f->cells)) exit(1);
    if (threshold < 0) threshold = orfeas_rtin_threshold_for_budget(&r, budget);
    if (orfeas_rtin_extract(&r, threshold, &out->idx, &out->count)) exit(1);
    orfeas_rtin_free(&r);
    return threshold;
}

typedef struct mo_out {
    float scale;      /* meshopt_simplifyScale, mm */
    float result_err; /* meshopt's own error estimate, mm */
} mo_out;

/* Full-resolution mesh (compacted to inside vertices, x/y/z in mm) simplified
 * by meshopt_simplify with the border locked; output in grid ids. */
static void mo_run(const field *f, size_t target_tris, float target_err_mm, tris *out, mo_out *mo)
{
    tris full;
    full_surface(f, &full);
    size_t grid = (size_t)f->w * f->h, nv = 0;
    uint32_t *remap = xmalloc(grid * sizeof *remap);
    memset(remap, 0xff, grid * sizeof *remap);
    for (size_t i = 0; i < full.count * 3; i++)
        remap[full.idx[i]] = 0;
    uint32_t *grid_of = xmalloc(grid * sizeof *grid_of);
    float *pos = xmalloc(grid * 3 * sizeof *pos);
    for (size_t g = 0; g < grid; g++) {
        if (remap[g] == UINT32_MAX) continue;
        remap[g] = (uint32_t)nv;
        grid_of[nv] = (uint32_t)g;
        pos[3 * nv] = (float)((g % f->w) * f->pixel_mm);
        pos[3 * nv + 1] = (float)((g / f->w) * f->pixel_mm);
        pos[3 * nv + 2] = f->front[g];
        nv++;
    }
    for (size_t i = 0; i < full.count * 3; i++)
        full.idx[i] = remap[full.idx[i]];
    mo->scale = meshopt_simplifyScale(pos, nv, 3 * sizeof *pos);
    float target = target_err_mm < 0 ? FLT_MAX : target_err_mm / mo->scale, err = 0;
    out->idx = xmalloc(full.count * 3 * sizeof *out->idx);
    out->count = meshopt_simplify(out->idx, full.idx, full.count * 3, pos, nv, 3 * sizeof *pos,
                                  target_tris * 3, target, meshopt_SimplifyLockBorder, &err) /
                 3;
    for (size_t i = 0; i < out->count * 3; i++)
        out->idx[i] = grid_of[out->idx[i]];
    mo->result_err = err * mo->scale;
    free(full.idx), free(remap), free(grid_of), free(pos);
}

/* ---- report -------------------------------------------------------------- */

typedef struct row {
    const char *method;
    size_t triangles;
    quality q;
    double ms;        /* < 0: not timed */
    double threshold; /* RTIN's error threshold, 0 for meshopt */
    size_t lost, extra;
    int outline; /* outline checked */
} row;

typedef struct totals {
    double log_tri_ratio, log_tri2_ratio, log_ms_ratio, log_ms2_ratio, log_err_ratio;
    int n, folded, bounds;
    double rtin_over; /* largest true max error / threshold */
    size_t lost;
} totals;

static void print_row(const field *f, const row *r)
{
    char ms[32], notes[96] = "";
    if (r->ms >= 0)
        snprintf(ms, sizeof ms, "%.1f", r->ms);
    else
        snprintf(ms, sizeof ms, "-");
    int len = 0;
    if (r->q.uncovered || !r->q.area_exact || r->q.flipped || r->q.vertical)
        len += snprintf(notes + len, sizeof notes - len,
                        "FOLDS: %llu flipped %llu vertical; %llu uncovered; ",
                        (unsigned long long)r->q.flipped, (unsigned long long)r->q.vertical,
                        (unsigned long long)r->q.uncovered);
    if (r->threshold > 0)
        len += snprintf(notes + len, sizeof notes - len, "threshold %.4f (true max %.2fx)",
                        r->threshold, r->q.max_err / r->threshold);
    if (r->q.degenerate)
        len += snprintf(notes + len, sizeof notes - len, "%llu zero-area; ",
                        (unsigned long long)r->q.degenerate);
    if (r->outline)
        snprintf(notes + len, sizeof notes - len, "outline lost %zu new %zu", r->lost, r->extra);
    printf("| %-25s | %4ux%-4u | %-28s | %9zu | %10.4f | %9s | %s\n", f->name, f->w, f->h,
           r->method, r->triangles, r->q.max_err, ms, notes);
}

/* What one configuration does, for the timing loop. */
typedef struct job {
    const field *f;
    int meshopt;
    uint64_t count; /* budget (RTIN) or target triangles (meshopt) */
    float err_mm;   /* threshold (RTIN) or target error (meshopt); < 0: by count */
    float used;     /* RTIN: the threshold it ran with */
    mo_out mo;
} job;

static void job_run(job *j, tris *t)
{
    if (j->meshopt)
        mo_run(j->f, (size_t)j->count, j->err_mm, t, &j->mo);
    else
        j->used = rtin_run(j->f, j->count, j->err_mm, t);
}

/* Median wall time of g_runs runs; keeps the last result. runs 0: once,
 * untimed. */
static row timed(const char *method, job *j, int runs, const uint64_t *fb, size_t nfull)
{
    double times[16];
    tris t = {0};
    int n = runs ? runs : 1;
    for (int i = 0; i < n; i++) {
        free(t.idx);
        double t0 = now_ms();
        job_run(j, &t);
        times[i] = now_ms() - t0;
    }
    row r = {method,
             t.count,
             measure(j->f, &t),
             runs ? median(times, runs) : -1,
             j->meshopt ? 0 : j->used,
             0,
             0,
             0};
    if (j->meshopt) {
        outline_check(fb, nfull, &t, &r.lost, &r.extra);
        r.outline = 1;
    }
    free(t.idx);
    return r;
}

static void run_case(const field *f, uint64_t budget, totals *tot)
{
    tris full;
    full_surface(f, &full);
    size_t nfull;
    uint64_t *fb = boundary_edges(&full, &nfull);

    /* (a) RTIN at the budget. */
    job rj = {f, 0, budget, -1, 0, {0, 0}};
    row rt = timed("rtin @budget", &rj, g_runs, fb, nfull);
    print_row(f, &rt);
    double target = rt.q.max_err;

    /* (b1) meshopt at RTIN's triangle count. */
    job mj = {f, 1, rt.triangles, -1, 0, {0, 0}};
    row m1 = timed("meshopt @rtin tris", &mj, g_runs, fb, nfull);
    print_row(f, &m1);

    /* (b2) meshopt given RTIN's true max error as target_error (relative to
     * meshopt_simplifyScale, converted inside mo_run). */
    mj.count = 0, mj.err_mm = (float)target;
    row m2 = timed("meshopt target_error=rtin", &mj, g_runs, fb, nfull);
    print_row(f, &m2);
    printf("|   (target_error %.3g of scale %.1f mm; meshopt's own result_error %.4f mm)\n",
           target / mj.mo.scale, mj.mo.scale, mj.mo.result_err);

    /* (b3) meshopt's smallest count whose TRUE max error is within RTIN's:
     * log-space bisection on the target count, bracketed by b1 and b2. */
    size_t lo = 0, hi = full.count;
    const row *known[2] = {&m1, &m2};
    for (int k = 0; k < 2; k++) {
        if (known[k]->q.max_err <= target && known[k]->triangles < hi) hi = known[k]->triangles;
        if (known[k]->q.max_err > target && known[k]->triangles > lo) lo = known[k]->triangles;
    }
    row best = {0};
    int probes = 0;
    mj.err_mm = -1;
    while (lo < hi && (lo == 0 || (double)hi / lo > 1.08)) {
        mj.count = lo ? (size_t)sqrt((double)lo * hi) : hi / 2;
        /* Often nothing below the full mesh qualifies: find out first. */
        if (probes == 0 && hi == full.count && lo) mj.count = (size_t)(hi / 1.08);
        row p = timed("", &mj, 0, fb, nfull);
        probes++;
        if (p.q.max_err <= target) {
            hi = p.triangles < hi ? p.triangles : (size_t)mj.count;
            best = p;
        } else {
            lo = (size_t)mj.count;
        }
    }
    if (!best.method) { /* the bracket came from b1/b2 or the full mesh */
        mj.count = hi;
        best = timed("", &mj, 0, fb, nfull);
        probes++;
    }
    char label[64];
    if (best.triangles >= full.count)
        snprintf(label, sizeof label, "meshopt @rtin err: none<full");
    else
        snprintf(label, sizeof label, "meshopt @rtin err (%d probes)", probes);
    best.method = label;
    print_row(f, &best);

    /* (a2) RTIN at meshopt's true error from b1: equal error the other way. */
    rj.err_mm = (float)m1.q.max_err;
    row r2 = timed("rtin @meshopt-tris err", &rj, g_runs, fb, nfull);
    print_row(f, &r2);

    tot->log_tri_ratio += log((double)best.triangles / rt.triangles);
    tot->log_tri2_ratio += log((double)m1.triangles / r2.triangles);
    tot->bounds += best.triangles >= full.count;
    tot->log_err_ratio += log(m1.q.max_err / rt.q.max_err);
    tot->log_ms_ratio += log(m1.ms / rt.ms);
    tot->log_ms2_ratio += log(m2.ms / rt.ms);
    tot->lost += m1.lost + m2.lost + best.lost;
    tot->folded += (m1.q.flipped || m1.q.vertical || !m1.q.area_exact) +
                   (m2.q.flipped || m2.q.vertical || !m2.q.area_exact);
    if (rt.q.max_err / rt.threshold > tot->rtin_over) tot->rtin_over = rt.q.max_err / rt.threshold;
    if (r2.q.max_err / r2.threshold > tot->rtin_over) tot->rtin_over = r2.q.max_err / r2.threshold;
    tot->n++;
    free(fb), free(full.idx);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    if (quick) g_runs = 3;
    static const char *const images[] = {"astronaut.png", "coffee.png", "opencv-logo.png"};
    if (testdata_check_images(stderr, "bench_simplify", images, 3)) return 1;
    /* Budgets: per-surface share of quality 7 (512) and 9 (1024). The 1024
     * pass keeps one relief and one inflate case to stay within ~2 min. */
    const struct {
        uint32_t side;
        uint64_t budget;
        int kinds; /* bit mask of the cases below */
    } sizes[] = {{512, 60000, 0xf}, {1024, 175000, 0x9}};
    double t0 = now_ms();
    printf("| %-25s | %-9s | %-28s | %9s | %10s | %9s | notes\n", "image", "size", "method",
           "triangles", "max err mm", "ms (med)");
    printf("|%.27s|%.11s|%.30s|%.11s|%.12s|%.11s|------\n", "-----------------------------",
           "-----------------------------", "------------------------------",
           "-----------------------------", "-----------------------------",
           "-----------------------------");
    totals tot = {0};
    for (size_t s = 0; s < (quick ? 1u : 2u); s++) {
        for (int kind = 0; kind < 4; kind++) {
            if (!(sizes[s].kinds >> kind & 1)) continue;
            field f = {0};
            int err = kind == 0   ? relief_field(&f, images[0], sizes[s].side)
                      : kind == 1 ? relief_field(&f, images[1], sizes[s].side)
                      : kind == 2 ? disc_field(&f, sizes[s].side)
                                  : alpha_field(&f, images[2], sizes[s].side);
            if (err) {
                fprintf(stderr, "case %d: error %d\n", kind, err);
                return 1;
            }
            run_case(&f, sizes[s].budget, &tot);
            field_free(&f);
            fflush(stdout);
        }
    }
    double tri = exp(tot.log_tri_ratio / tot.n), tri2 = exp(tot.log_tri2_ratio / tot.n);
    double ms = exp(tot.log_ms_ratio / tot.n), ms2 = exp(tot.log_ms2_ratio / tot.n);
    double er = exp(tot.log_err_ratio / tot.n);
    printf("\nGeometric means over %d cases; times are medians of %d runs on a shared machine; "
           "errors are true max vertical errors:\n",
           tot.n, g_runs);
    printf("  equal error (RTIN's): meshopt needs %s%.2fx RTIN's triangles (%d of %d cases: no "
           "count below the full mesh reached it)\n",
           tot.bounds ? ">= " : "", tri, tot.bounds, tot.n);
    printf("  equal error (meshopt's at RTIN's count): meshopt has %.2fx the triangles RTIN "
           "needs\n",
           tri2);
    printf("  equal triangles: meshopt's max error is %.2fx RTIN's\n", er);
    printf("  meshopt takes %.1fx RTIN's time at equal triangles, %.1fx with target_error\n", ms,
           ms2);
    printf("  meshopt folds (flipped/vertical triangles in the plane): %d of %d results; RTIN: "
           "none, area exact\n",
           tot.folded, 2 * tot.n);
    printf("  meshopt outline (LockBorder): %zu full-resolution boundary edges lost\n", tot.lost);
    printf(
        "  RTIN's true max error is up to %.2fx its threshold (the Martini error is not a strict "
        "bound)\n",
        tot.rtin_over);
    printf("WINNER fewer triangles at equal max error: %s (%s%.2fx / %.2fx); WINNER speed: %s "
           "(%.1fx); total %.0f s\n",
           tri > 1 && tri2 > 1 ? "RTIN" : "meshopt", tot.bounds ? ">= " : "", tri, tri2,
           ms > 1 ? "RTIN" : "meshopt", ms, (now_ms() - t0) / 1e3);
    return 0;
}
