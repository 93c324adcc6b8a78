/* Mesh storage and the topology/geometry checks every result must pass. */
#include "orfeas/mesh.h"
#include "orfeas/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int orfeas_mesh_alloc(orfeas_mesh *mesh, uint32_t vertex_count, uint32_t triangle_count,
                      int with_colors)
{
    memset(mesh, 0, sizeof *mesh);
    mesh->positions = malloc((size_t)vertex_count * 3 * sizeof(float) + 1);
    mesh->indices = malloc((size_t)triangle_count * 3 * sizeof(uint32_t) + 1);
    mesh->colors = with_colors ? malloc((size_t)vertex_count * 4 + 1) : NULL;
    if (!mesh->positions || !mesh->indices || (with_colors && !mesh->colors)) {
        orfeas_mesh_free(mesh);
        return ORFEAS_ENOMEM;
    }
    mesh->vertex_count = vertex_count;
    mesh->triangle_count = triangle_count;
    return 0;
}

void orfeas_mesh_free(orfeas_mesh *mesh)
{
    if (!mesh) return;
    free(mesh->positions);
    free(mesh->colors);
    free(mesh->indices);
    memset(mesh, 0, sizeof *mesh);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint32_t uf_find(uint32_t *parent, uint32_t v)
{
    while (parent[v] != v) {
        parent[v] = parent[parent[v]];
        v = parent[v];
    }
    return v;
}

/* Counts edge problems from the sorted directed edges (a<<32|b). */
static void count_edges(const uint64_t *directed, size_t count, orfeas_mesh_report *r)
{
    for (size_t i = 0; i < count; i++) {
        if (i + 1 < count && directed[i + 1] == directed[i]) r->inconsistent_edges++;
        if (i > 0 && directed[i - 1] == directed[i]) continue;
        uint64_t a = directed[i] >> 32, b = directed[i] & 0xffffffffu;
        uint64_t twin = b << 32 | a;
        uint64_t *hit = bsearch(&twin, directed, count, sizeof *directed, cmp_u64);
        if (!hit) {
            r->boundary_edges++;
            continue;
        }
        /* Undirected use count: copies of this direction plus of the twin. */
        if (a < b) {
            size_t uses = 0;
            for (size_t k = i; k < count && directed[k] == directed[i]; k++) uses++;
            const uint64_t *t = hit;
            while (t > directed && t[-1] == twin) t--;
            for (; t < directed + count && *t == twin; t++) uses++;
            if (uses > 2) r->nonmanifold_edges++;
        }
    }
}

int orfeas_mesh_check(const orfeas_mesh *mesh, orfeas_mesh_report *r)
{
    memset(r, 0, sizeof *r);
    size_t tris = mesh->triangle_count;
    for (int k = 0; k < 3; k++) {
        r->min[k] = mesh->vertex_count ? FLT_MAX : 0;
        r->max[k] = mesh->vertex_count ? -FLT_MAX : 0;
    }
    for (uint32_t v = 0; v < mesh->vertex_count; v++)
        for (int k = 0; k < 3; k++) {
            float c = mesh->positions[3 * v + k];
            if (c < r->min[k]) r->min[k] = c;
            if (c > r->max[k]) r->max[k] = c;
        }

    uint64_t *directed = malloc(tris * 3 * sizeof *directed + 1);
    uint64_t *tri_keys = malloc(tris * 2 * sizeof *tri_keys + 1);
    uint32_t *parent = malloc((size_t)mesh->vertex_count * sizeof *parent + 1);
    uint8_t *used = calloc(mesh->vertex_count + 1, 1);
    if (!directed || !tri_keys || !parent || !used) {
        free(directed), free(tri_keys), free(parent), free(used);
        return ORFEAS_ENOMEM;
    }
    for (uint32_t v = 0; v < mesh->vertex_count; v++) parent[v] = v;

    const float *p = mesh->positions;
    for (size_t t = 0; t < tris; t++) {
        const uint32_t *idx = mesh->indices + 3 * t;
        const float *a = p + 3 * idx[0], *b = p + 3 * idx[1], *c = p + 3 * idx[2];
        double ab[3], ac[3], n[3];
        for (int k = 0; k < 3; k++) ab[k] = (double)b[k] - a[k], ac[k] = (double)c[k] - a[k];
        n[0] = ab[1] * ac[2] - ab[2] * ac[1];
        n[1] = ab[2] * ac[0] - ab[0] * ac[2];
        n[2] = ab[0] * ac[1] - ab[1] * ac[0];
        double len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        r->area += 0.5 * len;
        r->volume += (a[0] * ((double)b[1] * c[2] - (double)b[2] * c[1]) -
                      a[1] * ((double)b[0] * c[2] - (double)b[2] * c[0]) +
                      a[2] * ((double)b[0] * c[1] - (double)b[1] * c[0])) /
                     6.0;
        if (idx[0] == idx[1] || idx[1] == idx[2] || idx[0] == idx[2] || len == 0.0)
            r->degenerate_triangles++;
        for (int k = 0; k < 3; k++) {
            uint32_t from = idx[k], to = idx[(k + 1) % 3];
            directed[3 * t + k] = (uint64_t)from << 32 | to;
            used[from] = 1;
            uint32_t ra = uf_find(parent, from), rb = uf_find(parent, to);
            if (ra != rb) parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
        }
        /* Sorted triple packed into two words for duplicate detection. */
        uint32_t s[3] = {idx[0], idx[1], idx[2]};
        for (int i = 0; i < 2; i++)
            for (int j = i + 1; j < 3; j++)
                if (s[j] < s[i]) {
                    uint32_t tmp = s[i];
                    s[i] = s[j];
                    s[j] = tmp;
                }
        tri_keys[2 * t] = (uint64_t)s[0] << 32 | s[1];
        tri_keys[2 * t + 1] = s[2];
    }
    qsort(directed, tris * 3, sizeof *directed, cmp_u64);
    count_edges(directed, tris * 3, r);

    /* Duplicates: sort 128-bit keys as pairs. */
    uint64_t *pairs = tri_keys;
    qsort(pairs, tris, 2 * sizeof *pairs, cmp_u64); /* by first word */
    for (size_t t = 1; t < tris; t++) {
        for (size_t u = t; u-- > 0 && pairs[2 * u] == pairs[2 * t];)
            if (pairs[2 * u + 1] == pairs[2 * t + 1]) {
                r->duplicate_triangles++;
                break;
            }
    }
    for (uint32_t v = 0; v < mesh->vertex_count; v++)
        if (used[v] && uf_find(parent, v) == v) r->components++;
    free(directed), free(tri_keys), free(parent), free(used);
    return 0;
}

int orfeas_mesh_report_ok(const orfeas_mesh_report *r)
{
    return r->boundary_edges == 0 && r->nonmanifold_edges == 0 && r->inconsistent_edges == 0 &&
           r->degenerate_triangles == 0 && r->duplicate_triangles == 0 && r->volume > 0;
}
