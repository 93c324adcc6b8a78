#include "mesh/heightfield.h"
#include "mesh/rtin.h"
#include "orfeas/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct surface {
    uint32_t *tris; /* grid vertex ids, front orientation */
    size_t tri_count;
    uint32_t *remap;   /* grid vertex -> compact index, UINT32_MAX unused */
    uint32_t *grid_of; /* compact index -> grid vertex */
    uint32_t vert_count;
    float *xy;      /* compact 2D positions in pixel units (y up) */
    uint32_t *next; /* boundary successor (compact), UINT32_MAX inside */
    uint32_t *prev;
    uint32_t *bnd_from; /* directed boundary edges, front orientation */
    uint32_t *bnd_to;
    size_t bnd_count;
} surface;

static void surface_free(surface *s)
{
    free(s->tris), free(s->remap), free(s->grid_of), free(s->xy);
    free(s->next), free(s->prev), free(s->bnd_from), free(s->bnd_to);
    memset(s, 0, sizeof *s);
}

static double orient2d(const float *a, const float *b, const float *c)
{
    return ((double)b[0] - a[0]) * ((double)c[1] - a[1]) -
           ((double)b[1] - a[1]) * ((double)c[0] - a[0]);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Compacts the used vertices, orients triangles counter-clockwise with y up
 * and finds the boundary edges (directed edges whose twin is missing). */
static int surface_index(surface *s, const orfeas_heightfield *hf)
{
    size_t grid = (size_t)hf->width * hf->height;
    s->remap = malloc(grid * sizeof *s->remap + 1);
    if (!s->remap) return ORFEAS_ENOMEM;
    memset(s->remap, 0xff, grid * sizeof *s->remap);
    uint32_t n = 0;
    /* Number vertices in grid order so the output does not depend on the
     * traversal order of the triangulation. */
    for (size_t t = 0; t < s->tri_count * 3; t++)
        s->remap[s->tris[t]] = 0;
    for (size_t g = 0; g < grid; g++)
        if (s->remap[g] == 0) s->remap[g] = n++;
    s->vert_count = n;
    s->grid_of = malloc((size_t)n * sizeof *s->grid_of + 1);
    s->xy = malloc((size_t)n * 2 * sizeof *s->xy + 1);
    if (!s->grid_of || !s->xy) return ORFEAS_ENOMEM;
    for (size_t g = 0; g < grid; g++)
        if (s->remap[g] != UINT32_MAX) {
            uint32_t v = s->remap[g];
            s->grid_of[v] = (uint32_t)g;
            s->xy[2 * v] = (float)(g % hf->width);
            s->xy[2 * v + 1] = (float)(hf->height - 1 - g / hf->width);
        }
    for (size_t t = 0; t < s->tri_count; t++) {
        uint32_t *tri = s->tris + 3 * t;
        for (int k = 0; k < 3; k++)
            tri[k] = s->remap[tri[k]];
        if (orient2d(s->xy + 2 * tri[0], s->xy + 2 * tri[1], s->xy + 2 * tri[2]) < 0) {
            uint32_t tmp = tri[1];
            tri[1] = tri[2];
            tri[2] = tmp;
        }
    }
    size_t edges = s->tri_count * 3;
    uint64_t *dir = malloc(edges * sizeof *dir + 1);
    if (!dir) return ORFEAS_ENOMEM;
    for (size_t t = 0; t < s->tri_count; t++)
        for (int k = 0; k < 3; k++)
            dir[3 * t + k] = (uint64_t)s->tris[3 * t + k] << 32 | s->tris[3 * t + (k + 1) % 3];
    qsort(dir, edges, sizeof *dir, cmp_u64);
    s->bnd_from = malloc(edges * sizeof *s->bnd_from + 1);
    s->bnd_to = malloc(edges * sizeof *s->bnd_to + 1);
    s->next = malloc((size_t)n * sizeof *s->next + 1);
    s->prev = malloc((size_t)n * sizeof *s->prev + 1);
    if (!s->bnd_from || !s->bnd_to || !s->next || !s->prev) {
        free(dir);
        return ORFEAS_ENOMEM;
    }
    memset(s->next, 0xff, (size_t)n * sizeof *s->next);
    memset(s->prev, 0xff, (size_t)n * sizeof *s->prev);
    for (size_t e = 0; e < edges; e++) {
        uint64_t twin = (dir[e] & 0xffffffffu) << 32 | dir[e] >> 32;
        if (bsearch(&twin, dir, edges, sizeof *dir, cmp_u64)) continue;
        uint32_t from = (uint32_t)(dir[e] >> 32), to = (uint32_t)dir[e];
        s->bnd_from[s->bnd_count] = from;
        s->bnd_to[s->bnd_count] = to;
        s->bnd_count++;
        s->next[from] = to;
        s->prev[to] = from;
    }
    free(dir);
    return 0;
}

/* Moves outline vertices toward the midpoint of their neighbours along the
 * outline, a fraction of a pixel at most, and only where every triangle
 * around them keeps its orientation: the staircase of the pixel mask becomes
 * a smooth curve while the triangulation stays valid. */
static int smooth_outline(surface *s)
{
    uint32_t n = s->vert_count;
    /* Vertex -> incident triangles (CSR), for the orientation check. */
    uint32_t *start = calloc((size_t)n + 1, sizeof *start);
    uint32_t *items = malloc(s->tri_count * 3 * sizeof *items + 1);
    float *moved = malloc((size_t)n * 2 * sizeof *moved + 1);
    if (!start || !items || !moved) {
        free(start), free(items), free(moved);
        return ORFEAS_ENOMEM;
    }
    for (size_t t = 0; t < s->tri_count * 3; t++)
        start[s->tris[t] + 1]++;
    for (uint32_t v = 0; v < n; v++)
        start[v + 1] += start[v];
    uint32_t *fill = malloc((size_t)n * sizeof *fill + 1);
    if (!fill) {
        free(start), free(items), free(moved);
        return ORFEAS_ENOMEM;
    }
    memcpy(fill, start, (size_t)n * sizeof *fill);
    for (size_t t = 0; t < s->tri_count; t++)
        for (int k = 0; k < 3; k++)
            items[fill[s->tris[3 * t + k]]++] = (uint32_t)t;
    free(fill);

    const float max_step = 0.35f;
    for (int pass = 0; pass < 4; pass++) {
        memcpy(moved, s->xy, (size_t)n * 2 * sizeof *moved);
        for (uint32_t v = 0; v < n; v++) {
            if (s->next[v] == UINT32_MAX || s->prev[v] == UINT32_MAX) continue;
            const float *a = s->xy + 2 * s->prev[v], *b = s->xy + 2 * s->next[v];
            float dx = 0.5f * ((a[0] + b[0]) * 0.5f - s->xy[2 * v]);
            float dy = 0.5f * ((a[1] + b[1]) * 0.5f - s->xy[2 * v + 1]);
            float len = sqrtf(dx * dx + dy * dy);
            if (len > max_step) dx *= max_step / len, dy *= max_step / len;
            moved[2 * v] = s->xy[2 * v] + dx;
            moved[2 * v + 1] = s->xy[2 * v + 1] + dy;
        }
        /* Accept a move only if all incident triangles, evaluated with the
         * neighbours' accepted positions so far, keep a positive area. */
        for (uint32_t v = 0; v < n; v++) {
            if (moved[2 * v] == s->xy[2 * v] && moved[2 * v + 1] == s->xy[2 * v + 1]) continue;
            float old[2] = {s->xy[2 * v], s->xy[2 * v + 1]};
            s->xy[2 * v] = moved[2 * v], s->xy[2 * v + 1] = moved[2 * v + 1];
            for (uint32_t k = start[v]; k < start[v + 1]; k++) {
                const uint32_t *t = s->tris + 3 * items[k];
                if (orient2d(s->xy + 2 * t[0], s->xy + 2 * t[1], s->xy + 2 * t[2]) <= 0.05) {
                    s->xy[2 * v] = old[0], s->xy[2 * v + 1] = old[1];
                    break;
                }
            }
        }
    }
    free(start), free(items), free(moved);
    return 0;
}

static int assemble(const surface *s, const orfeas_heightfield *hf, orfeas_mesh *out)
{
    uint32_t n = s->vert_count;
    uint64_t tris = (uint64_t)s->tri_count * 2 + (uint64_t)s->bnd_count * 2;
    if ((uint64_t)n * 2 > UINT32_MAX || tris > UINT32_MAX) return ORFEAS_ENOMEM;
    int err = orfeas_mesh_alloc(out, n * 2, (uint32_t)tris, hf->rgba != NULL);
    if (err) return err;
    float minx = INFINITY, miny = INFINITY;
    for (uint32_t v = 0; v < n; v++) {
        if (s->xy[2 * v] < minx) minx = s->xy[2 * v];
        if (s->xy[2 * v + 1] < miny) miny = s->xy[2 * v + 1];
    }
    for (uint32_t v = 0; v < n; v++) {
        uint32_t g = s->grid_of[v];
        float x = (float)((s->xy[2 * v] - minx) * hf->pixel_mm);
        float y = (float)((s->xy[2 * v + 1] - miny) * hf->pixel_mm);
        float *pf = out->positions + 3 * (size_t)v, *pb = out->positions + 3 * ((size_t)v + n);
        pf[0] = pb[0] = x;
        pf[1] = pb[1] = y;
        pf[2] = hf->front[g];
        pb[2] = hf->back[g];
        if (out->colors) {
            memcpy(out->colors + 4 * (size_t)v, hf->rgba + 4 * (size_t)g, 3);
            out->colors[4 * (size_t)v + 3] = 255;
            memcpy(out->colors + 4 * ((size_t)v + n), out->colors + 4 * (size_t)v, 4);
        }
    }
    uint32_t *idx = out->indices;
    for (size_t t = 0; t < s->tri_count; t++) {
        const uint32_t *tri = s->tris + 3 * t;
        *idx++ = tri[0], *idx++ = tri[1], *idx++ = tri[2];
    }
    for (size_t t = 0; t < s->tri_count; t++) {
        const uint32_t *tri = s->tris + 3 * t;
        *idx++ = tri[0] + n, *idx++ = tri[2] + n, *idx++ = tri[1] + n;
    }
    /* Walls: boundary edge p->q runs counter-clockwise around the front, so
     * the wall faces outward when it walks q->p on top and p->q below. */
    for (size_t e = 0; e < s->bnd_count; e++) {
        uint32_t p = s->bnd_from[e], q = s->bnd_to[e];
        *idx++ = q, *idx++ = p, *idx++ = p + n;
        *idx++ = q, *idx++ = p + n, *idx++ = q + n;
    }
    return 0;
}

/* Cell edges between an inside cell and an outside one or the grid edge. */
static uint64_t outline_edges(const orfeas_heightfield *hf)
{
    uint32_t cw = hf->width - 1, ch = hf->height - 1;
    uint64_t edges = 0;
    for (uint32_t y = 0; y < ch; y++)
        for (uint32_t x = 0; x < cw; x++) {
            if (!hf->cells[(size_t)y * cw + x]) continue;
            edges += x == 0 || !hf->cells[(size_t)y * cw + x - 1];
            edges += x + 1 == cw || !hf->cells[(size_t)y * cw + x + 1];
            edges += y == 0 || !hf->cells[(size_t)(y - 1) * cw + x];
            edges += y + 1 == ch || !hf->cells[(size_t)(y + 1) * cw + x];
        }
    return edges;
}

int orfeas_heightfield_mesh(const orfeas_heightfield *hf, uint64_t triangle_budget,
                            orfeas_mesh *out, orfeas_heightfield_stats *stats)
{
    memset(out, 0, sizeof *out);
    memset(stats, 0, sizeof *stats);
    if (hf->width < 2 || hf->height < 2) return ORFEAS_ENOFOREGROUND;
    orfeas_rtin rtin;
    int err =
        orfeas_rtin_build(&rtin, hf->devmem, hf->width, hf->height, hf->front, hf->back, hf->cells);
    if (err) return err;
    surface s = {0};
    uint64_t inside = 0;
    for (size_t c = 0; c < (size_t)(hf->width - 1) * (hf->height - 1); c++)
        inside += hf->cells[c];
    if (inside == 0) {
        orfeas_rtin_free(&rtin);
        return ORFEAS_ENOFOREGROUND;
    }
    /* The walls follow the outline at (nearly) full resolution whatever the
     * threshold: budget them first, then give the surfaces the rest. */
    uint64_t walls = 2 * outline_edges(hf);
    uint64_t surface_budget = triangle_budget > walls ? (triangle_budget - walls) / 2 : 1;
    float threshold = orfeas_rtin_threshold_for_budget(&rtin, surface_budget);
    err = orfeas_rtin_extract(&rtin, threshold, &s.tris, &s.tri_count);
    orfeas_rtin_free(&rtin);
    if (!err) err = surface_index(&s, hf);
    if (!err && hf->smooth_boundary) err = smooth_outline(&s);
    if (!err) err = assemble(&s, hf, out);
    surface_free(&s);
    if (err) {
        orfeas_mesh_free(out);
        return err;
    }
    stats->full_triangles = inside * 4 + walls;
    stats->max_error_mm = threshold;
    return 0;
}
