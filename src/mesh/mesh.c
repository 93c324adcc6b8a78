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

static uint32_t uf_find(uint32_t *parent, uint32_t v)
{
    while (parent[v] != v) {
        parent[v] = parent[parent[v]];
        v = parent[v];
    }
    return v;
}

/* LSD radix sort of 64-bit keys carrying a 32-bit payload, 16 bits a pass;
 * passes over digits that never vary are skipped. */
static int radix_sort(uint64_t *keys, uint32_t *vals, size_t n)
{
    uint64_t *k2 = malloc(n * sizeof *k2 + 1);
    uint32_t *v2 = malloc(n * sizeof *v2 + 1);
    size_t *count = malloc(65536 * sizeof *count);
    if (!k2 || !v2 || !count) {
        free(k2), free(v2), free(count);
        return ORFEAS_ENOMEM;
    }
    uint64_t all_or = 0, all_and = ~(uint64_t)0;
    for (size_t i = 0; i < n; i++)
        all_or |= keys[i], all_and &= keys[i];
    for (int shift = 0; shift < 64; shift += 16) {
        if ((((all_or ^ all_and) >> shift) & 0xffff) == 0) continue;
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(keys[i] >> shift) & 0xffff]++;
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t at = count[(keys[i] >> shift) & 0xffff]++;
            k2[at] = keys[i];
            v2[at] = vals[i];
        }
        memcpy(keys, k2, n * sizeof *keys);
        memcpy(vals, v2, n * sizeof *vals);
    }
    free(k2), free(v2), free(count);
    return 0;
}

static uint32_t third_vertex(const uint32_t *tri, uint32_t a, uint32_t b)
{
    for (int k = 0; k < 3; k++)
        if (tri[k] != a && tri[k] != b) return tri[k];
    return tri[0];
}

/* Directed edges are grouped by their undirected edge: the key is
 * (min << 33 | max << 1 | reversed). A clean closed surface has, for every
 * edge, exactly one use in each direction, and the two triangles meeting
 * there have different third vertices (else they are duplicates). */
static void count_edges(const uint64_t *keys, const uint32_t *tri_of, size_t count,
                        const uint32_t *indices, orfeas_mesh_report *r)
{
    for (size_t i = 0; i < count;) {
        size_t j = i, forward = 0, backward = 0;
        while (j < count && keys[j] >> 1 == keys[i] >> 1) {
            if (keys[j] & 1)
                backward++;
            else
                forward++;
            j++;
        }
        if (forward != backward) r->boundary_edges++;
        if (forward > 1 || backward > 1) r->inconsistent_edges++;
        if (forward + backward > 2) r->nonmanifold_edges++;
        if (forward == 1 && backward == 1) {
            uint32_t a = (uint32_t)(keys[i] >> 33), b = (uint32_t)(keys[i] >> 1) & 0xffffffffu;
            const uint32_t *t0 = indices + 3 * (size_t)tri_of[i];
            const uint32_t *t1 = indices + 3 * (size_t)tri_of[i + 1];
            if (third_vertex(t0, a, b) == third_vertex(t1, a, b)) r->duplicate_triangles++;
        }
        i = j;
    }
    /* Each duplicate pair shares three edges. */
    r->duplicate_triangles /= 3;
}

int orfeas_mesh_check(const orfeas_mesh *mesh, orfeas_mesh_report *r)
{
    memset(r, 0, sizeof *r);
    size_t tris = mesh->triangle_count;
    if (mesh->vertex_count >= (1u << 31)) return ORFEAS_ENOMEM;
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

    uint64_t *keys = malloc(tris * 3 * sizeof *keys + 1);
    uint32_t *tri_of = malloc(tris * 3 * sizeof *tri_of + 1);
    uint32_t *parent = malloc((size_t)mesh->vertex_count * sizeof *parent + 1);
    uint8_t *used = calloc(mesh->vertex_count + 1, 1);
    if (!keys || !tri_of || !parent || !used) {
        free(keys), free(tri_of), free(parent), free(used);
        return ORFEAS_ENOMEM;
    }
    for (uint32_t v = 0; v < mesh->vertex_count; v++)
        parent[v] = v;

    const float *p = mesh->positions;
    for (size_t t = 0; t < tris; t++) {
        const uint32_t *idx = mesh->indices + 3 * t;
        const float *a = p + 3 * idx[0], *b = p + 3 * idx[1], *c = p + 3 * idx[2];
        double ab[3], ac[3], n[3];
        for (int k = 0; k < 3; k++)
            ab[k] = (double)b[k] - a[k], ac[k] = (double)c[k] - a[k];
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
            uint64_t from = idx[k], to = idx[(k + 1) % 3];
            keys[3 * t + k] = from < to ? from << 33 | to << 1 : to << 33 | from << 1 | 1;
            tri_of[3 * t + k] = (uint32_t)t;
            used[from] = 1;
            uint32_t ra = uf_find(parent, (uint32_t)from), rb = uf_find(parent, (uint32_t)to);
            if (ra != rb) parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
        }
    }
    int err = radix_sort(keys, tri_of, tris * 3);
    if (!err) count_edges(keys, tri_of, tris * 3, mesh->indices, r);
    for (uint32_t v = 0; v < mesh->vertex_count; v++)
        if (used[v] && uf_find(parent, v) == v) r->components++;
    free(keys), free(tri_of), free(parent), free(used);
    return err;
}

int orfeas_mesh_report_ok(const orfeas_mesh_report *r)
{
    return r->boundary_edges == 0 && r->nonmanifold_edges == 0 && r->inconsistent_edges == 0 &&
           r->degenerate_triangles == 0 && r->duplicate_triangles == 0 && r->volume > 0;
}
