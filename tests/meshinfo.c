/* meshinfo: reads a binary STL, merges vertices by exact position and
 * prints its size, bounding box, volume and edge topology as "key value"
 * lines for the shell oracles (bbox checks). Not an oracle itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float p[3];
    uint32_t corner;
} corner_key;

static int cmp_pos(const void *a, const void *b)
{
    const corner_key *x = a, *y = b;
    for (int k = 0; k < 3; k++) {
        /* Compare bit patterns: exact, and total even for -0/+0 (kept apart). */
        uint32_t u, v;
        memcpy(&u, &x->p[k], 4);
        memcpy(&v, &y->p[k], 4);
        if (u != v) return u < v ? -1 : 1;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint32_t find(uint32_t *parent, uint32_t v)
{
    while (parent[v] != v)
        v = parent[v] = parent[parent[v]];
    return v;
}

static float get_f32le(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: meshinfo FILE.stl\n");
        return 2;
    }
    FILE *fp = fopen(argv[1], "rb");
    if (!fp) {
        perror(argv[1]);
        return 1;
    }
    fseek(fp, 0, SEEK_END);
    long fsize = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *data = fsize > 0 ? malloc((size_t)fsize) : NULL;
    if (!data || fread(data, 1, (size_t)fsize, fp) != (size_t)fsize) {
        fprintf(stderr, "meshinfo: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(fp);
    if (fsize < 84) {
        fprintf(stderr, "meshinfo: %s: too short for binary STL\n", argv[1]);
        return 1;
    }
    uint32_t nt = (uint32_t)data[80] | (uint32_t)data[81] << 8 | (uint32_t)data[82] << 16 |
                  (uint32_t)data[83] << 24;
    if ((uint64_t)fsize != 84 + 50 * (uint64_t)nt) {
        fprintf(stderr, "meshinfo: %s: size %ld does not match %u triangles\n", argv[1], fsize, nt);
        return 1;
    }
    size_t nc = (size_t)nt * 3;
    corner_key *keys = malloc(nc * sizeof *keys + 1);
    uint32_t *vid = malloc(nc * sizeof *vid + 1);
    if (!keys || !vid) return 1;
    for (size_t c = 0; c < nc; c++) {
        const uint8_t *p = data + 84 + 50 * (c / 3) + 12 + 12 * (c % 3);
        for (int k = 0; k < 3; k++)
            keys[c].p[k] = get_f32le(p + 4 * k);
        keys[c].corner = (uint32_t)c;
    }
    qsort(keys, nc, sizeof *keys, cmp_pos);
    uint32_t nv = 0;
    for (size_t i = 0; i < nc; i++) {
        if (i > 0 && cmp_pos(&keys[i - 1], &keys[i]) != 0) nv++;
        vid[keys[i].corner] = nv;
    }
    if (nc) nv++;

    double mn[3] = {0, 0, 0}, mx[3] = {0, 0, 0}, volume = 0;
    for (size_t c = 0; c < nc; c++)
        for (int k = 0; k < 3; k++) {
            double x = keys[c].p[k];
            if (c == 0 || x < mn[k]) mn[k] = x;
            if (c == 0 || x > mx[k]) mx[k] = x;
        }
    uint64_t *edges = malloc(nc * sizeof *edges + 1);
    uint32_t *parent = malloc((size_t)nv * sizeof *parent + 1);
    if (!edges || !parent) return 1;
    for (uint32_t v = 0; v < nv; v++)
        parent[v] = v;
    uint64_t degenerate = 0;
    for (size_t t = 0; t < nt; t++) {
        const uint8_t *p = data + 84 + 50 * t + 12;
        double a[3], b[3], c[3];
        for (int k = 0; k < 3; k++) {
            a[k] = get_f32le(p + 4 * k);
            b[k] = get_f32le(p + 12 + 4 * k);
            c[k] = get_f32le(p + 24 + 4 * k);
        }
        volume += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) +
                   a[2] * (b[0] * c[1] - b[1] * c[0])) /
                  6.0;
        uint32_t v[3] = {vid[3 * t], vid[3 * t + 1], vid[3 * t + 2]};
        if (v[0] == v[1] || v[1] == v[2] || v[0] == v[2]) degenerate++;
        for (int k = 0; k < 3; k++) {
            edges[3 * t + (size_t)k] = (uint64_t)v[k] << 32 | v[(k + 1) % 3];
            uint32_t r1 = find(parent, v[k]), r2 = find(parent, v[(k + 1) % 3]);
            if (r1 != r2) parent[r1] = r2;
        }
    }
    qsort(edges, nc, sizeof *edges, cmp_u64);
    uint64_t boundary = 0, inconsistent = 0, nonmanifold = 0;
    for (size_t i = 0; i < nc; i++) {
        if (i > 0 && edges[i] == edges[i - 1]) {
            inconsistent++;
            continue;
        }
        uint64_t twin = (edges[i] & 0xffffffffu) << 32 | edges[i] >> 32;
        uint64_t *hit = bsearch(&twin, edges, nc, sizeof *edges, cmp_u64);
        if (!hit) boundary++;
        /* An undirected edge in more than two triangles: count its uses. */
        size_t uses = 1;
        while (i + uses < nc && edges[i + uses] == edges[i])
            uses++;
        if (hit) {
            while (hit > edges && hit[-1] == twin)
                hit--;
            while (hit < edges + nc && *hit == twin) {
                uses++;
                hit++;
            }
        }
        if (uses > 2 && (edges[i] >> 32) < (edges[i] & 0xffffffffu)) nonmanifold++;
    }
    uint32_t components = 0;
    for (uint32_t v = 0; v < nv; v++)
        if (find(parent, v) == v) components++;

    printf("triangles %u\n", nt);
    printf("vertices %u\n", nv);
    printf("min %.6f %.6f %.6f\n", mn[0], mn[1], mn[2]);
    printf("max %.6f %.6f %.6f\n", mx[0], mx[1], mx[2]);
    printf("size %.6f %.6f %.6f\n", mx[0] - mn[0], mx[1] - mn[1], mx[2] - mn[2]);
    printf("volume %.6f\n", volume);
    printf("degenerate_triangles %llu\n", (unsigned long long)degenerate);
    printf("boundary_edges %llu\n", (unsigned long long)boundary);
    printf("inconsistent_edges %llu\n", (unsigned long long)inconsistent);
    printf("nonmanifold_edges %llu\n", (unsigned long long)nonmanifold);
    printf("components %u\n", components);
    printf("manifold %s\n", boundary == 0 && inconsistent == 0 && nonmanifold == 0 ? "yes" : "no");
    free(edges);
    free(parent);
    free(keys);
    free(vid);
    free(data);
    return 0;
}
