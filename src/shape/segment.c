#include "shape/segment.h"

#include "orfeas/error.h"
#include "orfeas/log.h"
#include "shape/gmm.h"
#include "shape/mask_ops.h"
#include "shape/maxflow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SEG_K 5             /* components per colour model (GrabCut) */
#define SEG_FRAME_K 8       /* components of the frame model that decides what to release */
#define SEG_FRAME_FRAC 0.03 /* frame strip width, fraction of the short side */
#define SEG_CENTRE 0.25     /* the central box spans [0.25, 0.75] of each side */
#define SEG_RELEASE_Q 9.0   /* squared Mahalanobis distance: "explained by a component" */
#define SEG_RELEASE_TAU 1.5 /* centre share / frame share above which a colour is released */
#define SEG_GAMMA 50.0      /* smoothness weight (Rother et al.) */
#define SEG_VAR_FLOOR 4.0   /* added to covariance diagonals (8-bit units^2) */
#define SEG_QUANT 16.0      /* capacity units per nat */
/* The GrabCut rounds run at most at this long side (the max-flow cost grows
 * faster than the pixel count); a larger work_long_side adds one cut at that
 * size restricted to a band around the coarse outline. */
#ifndef SEG_COARSE_LONG_SIDE
#define SEG_COARSE_LONG_SIDE 128
#endif
#ifndef SEG_SELECT_LONG_SIDE
#define SEG_SELECT_LONG_SIDE 64 /* the frame-side hypotheses are compared at this size */
#endif
#ifndef SEG_SELECT_ITERATIONS
#define SEG_SELECT_ITERATIONS 3
#endif
#ifndef SEG_SELECT_MARGIN
#define SEG_SELECT_MARGIN 0.1 /* confidence a three-sided frame must gain */
#endif

typedef struct seg_ctx {
    uint32_t w, h; /* working size */
    size_t n;
    float *rgb;               /* working image, 3 floats per pixel, 0..255 */
    float *edge[4];           /* n-link weights to the right, down, down-right, down-left */
    uint8_t *hard;            /* 1 = definite background (the frame strip) */
    uint8_t *label;           /* 1 = foreground */
    uint8_t *comp;            /* GMM component of every pixel */
    float *dfg, *dbg;         /* data terms: -log likelihood under each model */
    float *old_dfg, *old_dbg; /* the previous iteration's, for the flow reuse */
    orfeas_gmm fg, bg;
} seg_ctx;

static int cancelled(const atomic_int *cancel)
{
    return cancel && atomic_load(cancel) != 0;
}

/* Area-average downscale (box filter with fractional coverage) of the RGB
 * channels: one pass over the source, so the cost is linear in its size. */
static int downscale(const uint8_t *rgba, uint32_t width, uint32_t height, size_t stride,
                     uint32_t w, uint32_t h, float *out, const atomic_int *cancel)
{
    if (w == width && h == height) {
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    out[3 * ((size_t)y * w + x) + c] = rgba[(size_t)y * stride + 4 * x + c];
        return 0;
    }
    /* Source pixel i covers [i, i+1) * m/n in output units: split it between
     * output j0 and j0+1 by overlap. */
    uint32_t *x0 = malloc(width * sizeof *x0);
    float *xw = malloc(width * sizeof *xw);
    double *row = malloc((size_t)w * 3 * sizeof *row);
    double *acc = calloc((size_t)w * h * 3, sizeof *acc);
    double *wx = calloc(w, sizeof *wx), *wy = calloc(h, sizeof *wy);
    int rc = 0;
    if (!x0 || !xw || !row || !acc || !wx || !wy) {
        rc = ORFEAS_ENOMEM;
        goto done;
    }
    double sx = (double)w / width, sy = (double)h / height;
    for (uint32_t i = 0; i < width; i++) {
        double a = i * sx, b = (i + 1) * sx;
        uint32_t j = (uint32_t)a;
        if (j >= w) j = w - 1;
        double w0 = (b > j + 1 && j + 1 < w) ? (j + 1) - a : b - a;
        x0[i] = j;
        xw[i] = (float)(w0 / (b - a)); /* share of the first output */
        wx[j] += w0;
        if (j + 1 < w) wx[j + 1] += (b - a) - w0;
    }
    for (uint32_t y = 0; y < height; y++) {
        if ((y & 255) == 0 && cancelled(cancel)) {
            rc = ORFEAS_ECANCELLED;
            goto done;
        }
        memset(row, 0, (size_t)w * 3 * sizeof *row);
        const uint8_t *src = rgba + (size_t)y * stride;
        for (uint32_t i = 0; i < width; i++) {
            double *r0 = &row[3 * x0[i]];
            double f = xw[i];
            double r = src[4 * i], g = src[4 * i + 1], b = src[4 * i + 2];
            r0[0] += f * r;
            r0[1] += f * g;
            r0[2] += f * b;
            if (f < 1 && x0[i] + 1 < w) {
                r0[3] += (1 - f) * r;
                r0[4] += (1 - f) * g;
                r0[5] += (1 - f) * b;
            }
        }
        double a = y * sy, b = (y + 1) * sy;
        uint32_t j = (uint32_t)a;
        if (j >= h) j = h - 1;
        double w0 = (b > j + 1 && j + 1 < h) ? (j + 1) - a : b - a;
        double w1 = (b - a) - w0;
        wy[j] += w0;
        double *d0 = &acc[(size_t)j * w * 3];
        for (size_t k = 0; k < (size_t)w * 3; k++)
            d0[k] += w0 * row[k];
        if (w1 > 0 && j + 1 < h) {
            wy[j + 1] += w1;
            double *d1 = d0 + (size_t)w * 3;
            for (size_t k = 0; k < (size_t)w * 3; k++)
                d1[k] += w1 * row[k];
        }
    }
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double norm = wx[x] * wy[y];
            norm = norm > 0 ? 1.0 / norm : 0;
            for (int c = 0; c < 3; c++) {
                size_t k = 3 * ((size_t)y * w + x) + c;
                out[k] = (float)(acc[k] * norm);
            }
        }
done:
    free(x0);
    free(xw);
    free(row);
    free(acc);
    free(wx);
    free(wy);
    return rc;
}

/* N-link weights gamma/dist * exp(-beta |dI|^2), beta = 1 / (2 <|dI|^2>)
 * (Rother et al.), for the four forward neighbours of the 8-neighbourhood. */
static void edge_weights(seg_ctx *s, double gamma)
{
    static const int dx[4] = {1, 0, 1, -1}, dy[4] = {0, 1, 1, 1};
    double sum = 0;
    size_t count = 0;
    for (int d = 0; d < 4; d++)
        for (uint32_t y = 0; y + dy[d] < s->h; y++)
            for (uint32_t x = 0; x < s->w; x++) {
                int64_t nx = (int64_t)x + dx[d];
                if (nx < 0 || nx >= s->w) continue;
                const float *a = &s->rgb[3 * ((size_t)y * s->w + x)];
                const float *b = &s->rgb[3 * ((size_t)(y + dy[d]) * s->w + (size_t)nx)];
                double e0 = a[0] - b[0], e1 = a[1] - b[1], e2 = a[2] - b[2];
                sum += e0 * e0 + e1 * e1 + e2 * e2;
                count++;
            }
    double beta = (count && sum > 0) ? 1.0 / (2.0 * sum / count) : 0;
    for (int d = 0; d < 4; d++) {
        double g = gamma / sqrt((double)(dx[d] * dx[d] + dy[d] * dy[d]));
        for (uint32_t y = 0; y < s->h; y++)
            for (uint32_t x = 0; x < s->w; x++) {
                size_t p = (size_t)y * s->w + x;
                int64_t nx = (int64_t)x + dx[d];
                if (y + dy[d] >= s->h || nx < 0 || nx >= s->w) {
                    s->edge[d][p] = 0;
                    continue;
                }
                const float *a = &s->rgb[3 * p];
                const float *b = &s->rgb[3 * ((size_t)(y + dy[d]) * s->w + (size_t)nx)];
                double e0 = a[0] - b[0], e1 = a[1] - b[1], e2 = a[2] - b[2];
                s->edge[d][p] =
                    (float)nearbyint(SEG_QUANT * g * exp(-beta * (e0 * e0 + e1 * e1 + e2 * e2)));
            }
    }
}

/* Refits both colour models to the current labels (hard assignment of every
 * pixel to its most likely component, then re-estimation). */
static void fit_models(seg_ctx *s, int first, double var_floor)
{
    if (first) {
        orfeas_gmm_init(&s->fg, SEG_K, s->rgb, s->n, s->label, 1, s->comp, var_floor);
        orfeas_gmm_init(&s->bg, SEG_K, s->rgb, s->n, s->label, 0, s->comp, var_floor);
    }
    for (size_t p = 0; p < s->n; p++) {
        int k;
        orfeas_gmm_nll(s->label[p] ? &s->fg : &s->bg, &s->rgb[3 * p], &k);
        s->comp[p] = (uint8_t)k;
    }
    orfeas_gmm_learn(&s->fg, s->rgb, s->n, s->label, 1, s->comp, var_floor);
    orfeas_gmm_learn(&s->bg, s->rgb, s->n, s->label, 0, s->comp, var_floor);
}

/* -log likelihoods, capped: an empty model (no pixel left) must not give
 * infinite capacities. */
static void data_terms(seg_ctx *s)
{
    const double cap = 60;
    for (size_t p = 0; p < s->n; p++) {
        double f = orfeas_gmm_nll(&s->fg, &s->rgb[3 * p], NULL);
        double b = orfeas_gmm_nll(&s->bg, &s->rgb[3 * p], NULL);
        /* Only the difference matters to the cut; shift by the smaller one so
         * the cap acts on the difference. */
        double m = f < b ? f : b;
        f -= m;
        b -= m;
        /* Integer-valued capacities (1/SEG_QUANT units): the max-flow then
         * works in exact arithmetic, without the long tails of tiny
         * floating-point residual augmentations. */
        s->dfg[p] = (float)nearbyint((f < cap ? f : cap) * SEG_QUANT);
        s->dbg[p] = (float)nearbyint((b < cap ? b : cap) * SEG_QUANT);
    }
}

/* One graph cut; returns the number of pixels whose label changed, or < 0.
 * The first call builds the graph; later ones only add the change of the
 * data terms (old_dfg/old_dbg) to the residual graph, so the flow already
 * pushed through the n-links is kept (Kohli & Torr's dynamic graph cuts):
 * the later cuts cost a fraction of the first. */
static long cut(seg_ctx *s, orfeas_maxflow *g, double hard_cap, const float *old_dfg,
                const float *old_dbg)
{
    static const int dx[4] = {1, 0, 1, -1}, dy[4] = {0, 1, 1, 1};
    if (old_dfg) {
        for (size_t p = 0; p < s->n; p++)
            if (!s->hard[p])
                orfeas_maxflow_add_tweights(g, (int32_t)p, (double)s->dbg[p] - old_dbg[p],
                                            (double)s->dfg[p] - old_dfg[p]);
        goto solve;
    }
    orfeas_maxflow_reset(g);
    if (orfeas_maxflow_add_nodes(g, (int32_t)s->n) != 0) return -1;
    for (size_t p = 0; p < s->n; p++) {
        /* Source = foreground: a node cut from the source pays its background cost. */
        if (s->hard[p])
            orfeas_maxflow_add_tweights(g, (int32_t)p, 0, hard_cap);
        else
            orfeas_maxflow_add_tweights(g, (int32_t)p, s->dbg[p], s->dfg[p]);
    }
    for (uint32_t y = 0; y < s->h; y++)
        for (uint32_t x = 0; x < s->w; x++) {
            size_t p = (size_t)y * s->w + x;
            for (int d = 0; d < 4; d++) {
                float c = s->edge[d][p];
                if (c <= 0) continue;
                size_t q = (size_t)(y + dy[d]) * s->w + (size_t)((int64_t)x + dx[d]);
                if (orfeas_maxflow_add_edge(g, (int32_t)p, (int32_t)q, c, c)) return -1;
            }
        }
solve:
    orfeas_maxflow_solve(g);
    long changed = 0;
    for (size_t p = 0; p < s->n; p++) {
        uint8_t l = s->hard[p] ? 0 : (uint8_t)!orfeas_maxflow_is_sink(g, (int32_t)p);
        changed += l != s->label[p];
        s->label[p] = l;
    }
    return changed;
}

/* The object may be cut by the frame (a plant whose leaves leave the top of
 * the picture): then some colours of the frame strip are much more common in
 * the centre of the image than on the frame. Fits a mixture to the frame,
 * counts the central pixels each component explains well (Mahalanobis
 * distance), and frees the frame pixels of the components that are over-
 * represented in the centre by more than tau: they start as foreground. */
static int release_frame(seg_ctx *s, double tau, double var_floor)
{
    uint8_t *zone = malloc(s->n);
    if (!zone) return ORFEAS_ENOMEM;
    const double cf = SEG_CENTRE, q_max = SEG_RELEASE_Q;
    size_t n_frame = 0, n_centre = 0;
    for (uint32_t y = 0; y < s->h; y++)
        for (uint32_t x = 0; x < s->w; x++) {
            size_t p = (size_t)y * s->w + x;
            int centre =
                x >= cf * s->w && x < s->w - cf * s->w && y >= cf * s->h && y < s->h - cf * s->h;
            zone[p] = s->hard[p] ? 1 : centre ? 2 : 0;
        }
    orfeas_gmm model;
    orfeas_gmm_init(&model, SEG_FRAME_K, s->rgb, s->n, zone, 1, s->comp, var_floor);
    double frame_count[ORFEAS_GMM_MAX_K] = {0}, centre_count[ORFEAS_GMM_MAX_K] = {0};
    for (size_t p = 0; p < s->n; p++) {
        if (!zone[p]) continue;
        int k;
        orfeas_gmm_nll(&model, &s->rgb[3 * p], &k);
        s->comp[p] = (uint8_t)k;
        if (zone[p] == 1) {
            frame_count[k]++;
            n_frame++;
        } else {
            n_centre++;
            if (orfeas_gmm_mahalanobis2(&model, k, &s->rgb[3 * p]) < q_max) centre_count[k]++;
        }
    }
    int release[ORFEAS_GMM_MAX_K] = {0};
    for (int k = 0; k < model.k; k++) {
        double fs = n_frame ? frame_count[k] / n_frame : 0;
        double cs = n_centre ? centre_count[k] / n_centre : 0;
        release[k] = cs > 0.05 && cs > tau * fs;
        ORFEAS_DEBUG("segment: frame component %d: frame %.3f centre %.3f%s", k, fs, cs,
                     release[k] ? " released" : "");
    }
    for (size_t p = 0; p < s->n; p++)
        if (zone[p] == 1 && release[s->comp[p]]) {
            s->hard[p] = 0;
            s->label[p] = 1;
        }
    free(zone);
    return 0;
}

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* How sure we are that the mask is one real object: the colour models must
 * separate the two sides (mean log-likelihood ratio on each side), and the
 * object must cover neither almost nothing nor almost everything. */
static double confidence(const seg_ctx *s, const uint8_t *mask)
{
    double llr_fg = 0, llr_bg = 0;
    size_t n_fg = 0, n_bg = 0, wrong = 0;
    for (size_t p = 0; p < s->n; p++) {
        double r =
            ((double)s->dbg[p] - (double)s->dfg[p]) / SEG_QUANT; /* > 0: looks like foreground */
        if (r > 10) r = 10;
        if (r < -10) r = -10;
        if (mask[p]) {
            llr_fg += r;
            n_fg++;
            wrong += r < 0;
        } else {
            llr_bg -= r;
            n_bg++;
            wrong += r > 0;
        }
    }
    if (n_fg == 0 || n_bg == 0) return 0;
    llr_fg /= n_fg;
    llr_bg /= n_bg;
    double frac = (double)n_fg / s->n;
    double sep = llr_fg < llr_bg ? llr_fg : llr_bg;
    double sep_score = clamp01((sep - 1.0) / 3.0);
    /* A sliver of a few percent is more often a detail the models latched on
     * to (chelsea: 3%) than the subject of the photo. */
    double area_score = clamp01((frac - 0.03) / 0.05) * clamp01((0.97 - frac) / 0.12);
    double err = (double)wrong / s->n;
    double err_score = clamp01(1 - (err - 0.02) / 0.15);
    /* A real outline follows image edges: the mean n-link weight across the
     * cut, relative to a flat region's, is low (apple 0.17, plant 0.37); an
     * outline through the sky or a wall gets near 0.5 and above (rocket). */
    double link = 0;
    size_t n_link = 0;
    for (uint32_t y = 0; y < s->h; y++)
        for (uint32_t x = 0; x < s->w; x++) {
            size_t p = (size_t)y * s->w + x;
            if (x + 1 < s->w && (mask[p] != 0) != (mask[p + 1] != 0)) {
                link += s->edge[0][p];
                n_link++;
            }
            if (y + 1 < s->h && (mask[p] != 0) != (mask[p + s->w] != 0)) {
                link += s->edge[1][p];
                n_link++;
            }
        }
    double contrast = n_link ? link / (n_link * SEG_QUANT * SEG_GAMMA) : 1;
    double contrast_score = clamp01((0.55 - contrast) / 0.15);
    ORFEAS_DEBUG("segment: fg %.3f llr fg %.2f bg %.2f err %.3f contrast %.3f -> sep %.2f area "
                 "%.2f err %.2f contrast %.2f",
                 frac, llr_fg, llr_bg, err, contrast, sep_score, area_score, err_score,
                 contrast_score);
    return sep_score * area_score * err_score * contrast_score;
}

/* Smooths the working-size mask (3x3 binomial), upsamples it bilinearly to
 * the full size and thresholds at 1/2: a smooth outline without staircase. */
static int upsample(const uint8_t *m, uint32_t w, uint32_t h, uint8_t *out, uint32_t width,
                    uint32_t height)
{
    float *soft = malloc((size_t)w * h * sizeof *soft);
    float *tmp = malloc((size_t)w * h * sizeof *tmp);
    int32_t *xi = malloc((size_t)width * sizeof *xi);
    float *xf = malloc((size_t)width * sizeof *xf);
    if (!soft || !tmp || !xi || !xf) {
        free(soft);
        free(tmp);
        free(xi);
        free(xf);
        return ORFEAS_ENOMEM;
    }
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t xl = x ? x - 1 : 0, xr = x + 1 < w ? x + 1 : x;
            const uint8_t *r = m + (size_t)y * w;
            tmp[(size_t)y * w + x] = (float)((r[xl] != 0) + 2 * (r[x] != 0) + (r[xr] != 0)) / 4;
        }
    for (uint32_t y = 0; y < h; y++) {
        uint32_t yu = y ? y - 1 : 0, yd = y + 1 < h ? y + 1 : y;
        for (uint32_t x = 0; x < w; x++)
            soft[(size_t)y * w + x] =
                (tmp[(size_t)yu * w + x] + 2 * tmp[(size_t)y * w + x] + tmp[(size_t)yd * w + x]) /
                4;
    }
    double sx = (double)w / width, sy = (double)h / height;
    for (uint32_t x = 0; x < width; x++) {
        double u = (x + 0.5) * sx - 0.5;
        if (u < 0) u = 0;
        if (u > w - 1) u = w - 1;
        xi[x] = (int32_t)u;
        if (xi[x] > (int32_t)w - 2) xi[x] = w >= 2 ? (int32_t)w - 2 : 0;
        xf[x] = (float)(u - xi[x]);
    }
    for (uint32_t y = 0; y < height; y++) {
        double v = (y + 0.5) * sy - 0.5;
        if (v < 0) v = 0;
        if (v > h - 1) v = h - 1;
        int32_t yi = (int32_t)v;
        if (yi > (int32_t)h - 2) yi = h >= 2 ? (int32_t)h - 2 : 0;
        float fy = (float)(v - yi);
        const float *r0 = soft + (size_t)yi * w;
        const float *r1 = h >= 2 ? r0 + w : r0;
        uint8_t *o = out + (size_t)y * width;
        for (uint32_t x = 0; x < width; x++) {
            int32_t i = xi[x];
            int32_t i1 = w >= 2 ? i + 1 : i;
            float fx = xf[x];
            float top = r0[i] + fx * (r0[i1] - r0[i]);
            float bot = r1[i] + fx * (r1[i1] - r1[i]);
            o[x] = top + fy * (bot - top) >= 0.5f ? 255 : 0;
        }
    }
    free(soft);
    free(tmp);
    free(xi);
    free(xf);
    return 0;
}

static void work_size(uint32_t width, uint32_t height, uint32_t long_side, uint32_t *w, uint32_t *h)
{
    uint32_t big = width > height ? width : height;
    if (big <= long_side) {
        *w = width;
        *h = height;
        return;
    }
    double scale = (double)long_side / big;
    *w = (uint32_t)lround(width * scale);
    *h = (uint32_t)lround(height * scale);
    if (*w < 1) *w = 1;
    if (*h < 1) *h = 1;
}

static void ctx_free(seg_ctx *s)
{
    free(s->rgb);
    for (int d = 0; d < 4; d++)
        free(s->edge[d]);
    free(s->hard);
    free(s->label);
    free(s->comp);
    free(s->dfg);
    free(s->dbg);
    free(s->old_dfg);
    free(s->old_dbg);
}

static int ctx_alloc(seg_ctx *s, uint32_t w, uint32_t h)
{
    memset(s, 0, sizeof *s);
    s->w = w;
    s->h = h;
    s->n = (size_t)w * h;
    s->rgb = malloc(s->n * 3 * sizeof *s->rgb);
    for (int d = 0; d < 4; d++)
        s->edge[d] = malloc(s->n * sizeof *s->edge[d]);
    s->hard = malloc(s->n);
    s->label = malloc(s->n);
    s->comp = malloc(s->n);
    s->dfg = malloc(s->n * sizeof *s->dfg);
    s->dbg = malloc(s->n * sizeof *s->dbg);
    s->old_dfg = malloc(s->n * sizeof *s->old_dfg);
    s->old_dbg = malloc(s->n * sizeof *s->old_dbg);
    if (!s->rgb || !s->edge[0] || !s->edge[1] || !s->edge[2] || !s->edge[3] || !s->hard ||
        !s->label || !s->comp || !s->dfg || !s->dbg || !s->old_dfg || !s->old_dbg) {
        ctx_free(s);
        memset(s, 0, sizeof *s);
        return ORFEAS_ENOMEM;
    }
    return 0;
}

/* The GrabCut rounds on the coarse image: frame seeds, model fitting and
 * graph cuts until the labels settle. Leaves the cleaned-up mask in mask. */
static int coarse_segment(seg_ctx *s, int iterations, unsigned sides, const atomic_int *cancel,
                          uint8_t *mask)
{
    /* Seeds: a frame strip is background for sure; the rest is "probably
     * foreground" and only starts the foreground model. */
    uint32_t small = s->w < s->h ? s->w : s->h;
    uint32_t b = (uint32_t)lround(SEG_FRAME_FRAC * small);
    if (b < 1) b = 1;
    for (uint32_t y = 0; y < s->h; y++)
        for (uint32_t x = 0; x < s->w; x++) {
            size_t p = (size_t)y * s->w + x;
            /* sides: 1 top, 2 right, 4 bottom, 8 left. */
            int frame = ((sides & 8) && x < b) || ((sides & 1) && y < b) ||
                        ((sides & 2) && x + b >= s->w) || ((sides & 4) && y + b >= s->h);
            s->hard[p] = (uint8_t)frame;
            s->label[p] = (uint8_t)!frame;
        }
    const double gamma = SEG_GAMMA, var_floor = SEG_VAR_FLOOR;
    int rc = release_frame(s, SEG_RELEASE_TAU, var_floor);
    if (rc) return rc;
    edge_weights(s, gamma);
    orfeas_maxflow *g = orfeas_maxflow_create((int32_t)s->n, (int64_t)s->n * 4);
    if (!g) return ORFEAS_ENOMEM;
    double hard_cap = SEG_QUANT * (9 * gamma + 1);
    for (int it = 0; it < iterations; it++) {
        if (cancelled(cancel)) {
            rc = ORFEAS_ECANCELLED;
            break;
        }
        fit_models(s, it == 0, var_floor);
        if (it > 0) {
            float *t = s->old_dfg;
            s->old_dfg = s->dfg;
            s->dfg = t;
            t = s->old_dbg;
            s->old_dbg = s->dbg;
            s->dbg = t;
        }
        data_terms(s);
        long changed = cut(s, g, hard_cap, it > 0 ? s->old_dfg : NULL, it > 0 ? s->old_dbg : NULL);
        if (changed < 0) {
            rc = ORFEAS_EINTERNAL;
            break;
        }
        ORFEAS_DEBUG("segment: iteration %d, %ld labels changed", it, changed);
        /* Early stop: a handful of flipped pixels will not move the models. */
        if ((size_t)changed * 1000 <= s->n) break;
    }
    orfeas_maxflow_destroy(g);
    if (rc) return rc;
    for (size_t p = 0; p < s->n; p++)
        mask[p] = s->label[p] ? 255 : 0;
    if ((rc = orfeas_mask_keep_largest(mask, s->w, s->h))) return rc;
    return orfeas_mask_fill_holes(mask, s->w, s->h, 0);
}

/* One graph cut at the finer size, only in a band around the upsampled
 * coarse outline (pixels further away keep their coarse label through
 * terminal links that cannot be cut), with the coarse colour models: the
 * outline gets the finer detail for a fraction of the cost of iterating at
 * this size. mask: in = upsampled coarse mask, out = refined. */
static int refine_band(seg_ctx *f, const seg_ctx *c, uint8_t *mask, int radius)
{
    size_t n = f->n;
    uint8_t *in = malloc(n), *out = malloc(n);
    orfeas_maxflow *g = orfeas_maxflow_create((int32_t)n, (int64_t)n * 4);
    int rc = 0;
    if (!in || !out || !g) {
        rc = ORFEAS_ENOMEM;
        goto done;
    }
    memcpy(in, mask, n);
    memcpy(out, mask, n);
    if ((rc = orfeas_mask_erode(in, f->w, f->h, radius))) goto done;
    if ((rc = orfeas_mask_dilate(out, f->w, f->h, radius))) goto done;
    f->fg = c->fg;
    f->bg = c->bg;
    edge_weights(f, SEG_GAMMA);
    double hard_cap = SEG_QUANT * (9 * SEG_GAMMA + 1);
    if (orfeas_maxflow_add_nodes(g, (int32_t)n) != 0) {
        rc = ORFEAS_EINTERNAL;
        goto done;
    }
    for (size_t p = 0; p < n; p++) {
        /* hard: 0 = in the band, 1 = fixed background, 2 = fixed object. */
        f->hard[p] = in[p] ? 2 : out[p] ? 0 : 1;
        if (f->hard[p]) {
            orfeas_maxflow_add_tweights(g, (int32_t)p, f->hard[p] == 2 ? hard_cap : 0,
                                        f->hard[p] == 1 ? hard_cap : 0);
            continue;
        }
        double fl = orfeas_gmm_nll(&f->fg, &f->rgb[3 * p], NULL);
        double bl = orfeas_gmm_nll(&f->bg, &f->rgb[3 * p], NULL);
        double m = fl < bl ? fl : bl, cap = 60;
        fl -= m;
        bl -= m;
        orfeas_maxflow_add_tweights(g, (int32_t)p, nearbyint((bl < cap ? bl : cap) * SEG_QUANT),
                                    nearbyint((fl < cap ? fl : cap) * SEG_QUANT));
    }
    static const int dx[4] = {1, 0, 1, -1}, dy[4] = {0, 1, 1, 1};
    for (uint32_t y = 0; y < f->h; y++)
        for (uint32_t x = 0; x < f->w; x++) {
            size_t p = (size_t)y * f->w + x;
            for (int d = 0; d < 4; d++) {
                float cw = f->edge[d][p];
                if (cw <= 0) continue;
                size_t q = (size_t)(y + dy[d]) * f->w + (size_t)((int64_t)x + dx[d]);
                /* Links between two fixed pixels cannot be cut. */
                if (f->hard[p] && f->hard[q]) continue;
                if (orfeas_maxflow_add_edge(g, (int32_t)p, (int32_t)q, cw, cw)) {
                    rc = ORFEAS_EINTERNAL;
                    goto done;
                }
            }
        }
    orfeas_maxflow_solve(g);
    for (size_t p = 0; p < n; p++)
        mask[p] = orfeas_maxflow_is_sink(g, (int32_t)p) ? 0 : 255;
    if ((rc = orfeas_mask_keep_largest(mask, f->w, f->h))) goto done;
    rc = orfeas_mask_fill_holes(mask, f->w, f->h, 0);
done:
    free(in);
    free(out);
    orfeas_maxflow_destroy(g);
    return rc;
}

/* The object may touch the frame (a plant whose leaves leave the top of the
 * picture, a pot cut by the bottom edge). Runs quick, small segmentations
 * with the hard background strip on all four sides and on every three of
 * them, and returns the side set whose result the confidence measure likes
 * best; all four sides win ties, so a margin is needed to drop one. */
static int choose_sides(const uint8_t *rgba, uint32_t width, uint32_t height, size_t stride,
                        uint32_t long_side, const atomic_int *cancel, unsigned *sides)
{
    static const unsigned candidates[] = {15, 14, 13, 11, 7};
    uint32_t w, h;
    work_size(width, height, long_side, &w, &h);
    *sides = 15;
    if (w < 16 || h < 16) return 0;
    seg_ctx s;
    int rc = ctx_alloc(&s, w, h);
    if (rc) return rc;
    uint8_t *mask = malloc(s.n);
    if (!mask) {
        ctx_free(&s);
        return ORFEAS_ENOMEM;
    }
    if ((rc = downscale(rgba, width, height, stride, w, h, s.rgb, cancel))) goto done;
    double best = -1;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if ((rc = coarse_segment(&s, SEG_SELECT_ITERATIONS, candidates[i], cancel, mask)))
            goto done;
        double score = confidence(&s, mask) - (candidates[i] == 15 ? 0 : SEG_SELECT_MARGIN);
        ORFEAS_DEBUG("segment: sides %u score %.3f", candidates[i], score);
        if (score > best) {
            best = score;
            *sides = candidates[i];
        }
    }
done:
    free(mask);
    ctx_free(&s);
    return rc;
}

int orfeas_segment_foreground(const uint8_t *rgba, uint32_t width, uint32_t height, size_t stride,
                              const orfeas_segment_options *opts, const atomic_int *cancel,
                              uint8_t *mask_out, double *confidence_out)
{
    if (confidence_out) *confidence_out = 0;
    if (!rgba || !mask_out || width == 0 || height == 0 || stride < (size_t)width * 4)
        return ORFEAS_EINVAL;

    uint32_t long_side =
        opts && opts->work_long_side ? opts->work_long_side : ORFEAS_SEGMENT_DEFAULT_LONG_SIDE;
    int iterations =
        opts && opts->iterations > 0 ? opts->iterations : ORFEAS_SEGMENT_DEFAULT_ITERATIONS;
    if (long_side < 8) long_side = 8;
    if (long_side > 4096) long_side = 4096;
    uint32_t coarse_side = long_side < SEG_COARSE_LONG_SIDE ? long_side : SEG_COARSE_LONG_SIDE;
    seg_ctx c, f;
    uint32_t cw, ch, fw, fh;
    work_size(width, height, coarse_side, &cw, &ch);
    work_size(width, height, long_side, &fw, &fh);
    int refine = fw > cw;
    uint8_t *cmask = NULL, *fmask = NULL;
    int rc = ctx_alloc(&c, cw, ch);
    if (rc) return rc;
    if (refine && (rc = ctx_alloc(&f, fw, fh))) {
        ctx_free(&c);
        return rc;
    }
    cmask = malloc(c.n);
    if (refine) fmask = malloc(f.n);
    if (!cmask || (refine && !fmask)) {
        rc = ORFEAS_ENOMEM;
        goto done;
    }
    if ((rc = downscale(rgba, width, height, stride, c.w, c.h, c.rgb, cancel))) goto done;
    unsigned sides = 15;
    if ((rc = choose_sides(rgba, width, height, stride,
                           coarse_side < SEG_SELECT_LONG_SIDE ? coarse_side : SEG_SELECT_LONG_SIDE,
                           cancel, &sides)))
        goto done;
    if ((rc = coarse_segment(&c, iterations, sides, cancel, cmask))) goto done;
    if (cancelled(cancel)) {
        rc = ORFEAS_ECANCELLED;
        goto done;
    }
    if (confidence_out) *confidence_out = confidence(&c, cmask);
    if (!refine) {
        rc = upsample(cmask, c.w, c.h, mask_out, width, height);
        goto done;
    }
    if ((rc = downscale(rgba, width, height, stride, f.w, f.h, f.rgb, cancel))) goto done;
    if ((rc = upsample(cmask, c.w, c.h, fmask, f.w, f.h))) goto done;
    /* The band covers the coarse pixel the outline may sit in, and a bit. */
    int radius = (int)ceil(2.0 * f.w / c.w);
    if ((rc = refine_band(&f, &c, fmask, radius))) goto done;
    if (cancelled(cancel)) {
        rc = ORFEAS_ECANCELLED;
        goto done;
    }
    rc = upsample(fmask, f.w, f.h, mask_out, width, height);

done:
    ctx_free(&c);
    if (refine) ctx_free(&f);
    free(cmask);
    free(fmask);
    return rc;
}
