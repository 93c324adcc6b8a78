/* Unit checks of the exporters: byte layout of every format, JSON of the
 * GLB (parsed with cJSON), determinism, locale independence, error paths
 * and the atomic file write. The third-party oracles run in
 * test_export_oracles.sh. */
#include "export/export_internal.h"
#include "export_meshes.h"
#include "orfeas/error.h"
#include "orfeas/export.h"
#include "testutil.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* REQUIRE evaluates its condition twice: calls with side effects go here. */
#define REQUIRE_OK(expr)                                                                           \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        REQUIRE(rc_ == 0);                                                                         \
    } while (0)

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float get_f32(const uint8_t *p)
{
    uint32_t u = get_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_formats(void)
{
    static const struct {
        const char *name, *mime, *path;
        orfeas_format f;
    } cases[] = {
        {"stl", "model/stl", "out/model.stl", ORFEAS_FORMAT_STL},
        {"obj", "model/obj", "a.b/x.OBJ", ORFEAS_FORMAT_OBJ},
        {"ply", "application/x-ply", "mesh.tar.ply", ORFEAS_FORMAT_PLY},
        {"glb", "model/gltf-binary", "/tmp/r.Glb", ORFEAS_FORMAT_GLB},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        orfeas_format f = ORFEAS_FORMAT_COUNT_;
        CHECK(orfeas_format_parse(cases[i].name, &f) == 0 && f == cases[i].f);
        char upper[8];
        for (size_t k = 0; k < 4; k++)
            upper[k] = (char)(cases[i].name[k] >= 'a' ? cases[i].name[k] - 32 : 0);
        f = ORFEAS_FORMAT_COUNT_;
        CHECK(orfeas_format_parse(upper, &f) == 0 && f == cases[i].f);
        CHECK(strcmp(orfeas_format_name(cases[i].f), cases[i].name) == 0);
        CHECK(strcmp(orfeas_format_mime(cases[i].f), cases[i].mime) == 0);
        f = ORFEAS_FORMAT_COUNT_;
        CHECK(orfeas_format_from_path(cases[i].path, &f) == 0 && f == cases[i].f);
        /* name -> parse round trip */
        CHECK(orfeas_format_parse(orfeas_format_name(cases[i].f), &f) == 0 && f == cases[i].f);
    }
    orfeas_format f;
    const char *bad[] = {"", "st", "stlx", "gltf", "3mf", " stl"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(orfeas_format_parse(bad[i], &f) == ORFEAS_EINVAL, "'%s'", bad[i]);
    CHECK(orfeas_format_parse(NULL, &f) == ORFEAS_EINVAL);
    const char *bad_paths[] = {"noext", ".stl", "dir.stl/file", "x.", "model.gltf"};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++)
        CHECKF(orfeas_format_from_path(bad_paths[i], &f) == ORFEAS_EINVAL, "'%s'", bad_paths[i]);
    CHECK(strcmp(orfeas_format_name(ORFEAS_FORMAT_COUNT_), "unknown") == 0);
}

static void test_buffer(void)
{
    orfeas_buffer b = {0};
    CHECK(orfeas_buffer_append(&b, "abc", 3) == 0 && b.size == 3);
    CHECK(orfeas_buffer_reserve(&b, 100000) == 0 && b.capacity >= 100003 && b.size == 3);
    uint8_t *before = b.data;
    for (int i = 0; i < 1000; i++)
        CHECK(orfeas_buffer_append(&b, "0123456789", 10) == 0);
    CHECK(b.data == before); /* the reservation held: no reallocation */
    CHECK(b.size == 10003 && memcmp(b.data, "abc0123", 7) == 0);
    CHECK(orfeas_buffer_append(&b, NULL, 0) == 0);
    CHECK(orfeas_buffer_reserve(&b, SIZE_MAX) == ORFEAS_ENOMEM);
    orfeas_buffer_free(&b);
    CHECK(b.data == NULL && b.size == 0 && b.capacity == 0);
}

static void test_invalid(void)
{
    orfeas_mesh m;
    orfeas_buffer out = {0};
    REQUIRE_OK(meshes_cube(&m, 20, 1));
    orfeas_buffer_append(&out, "junk", 4);

    uint32_t saved = m.triangle_count;
    m.triangle_count = 0;
    for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++)
        CHECK(orfeas_export(&m, (orfeas_format)f, 1, &out) == ORFEAS_EINVAL && out.size == 0);
    m.triangle_count = saved;

    m.indices[5] = 8; /* out of range */
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_GLB, 1, &out) == ORFEAS_EINVAL);
    m.indices[5] = 3;
    float x = m.positions[4];
    m.positions[4] = NAN;
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_STL, 1, &out) == ORFEAS_EINVAL);
    m.positions[4] = INFINITY;
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_OBJ, 1, &out) == ORFEAS_EINVAL);
    m.positions[4] = x;
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_COUNT_, 1, &out) == ORFEAS_EINVAL);
    CHECK(orfeas_export(NULL, ORFEAS_FORMAT_STL, 1, &out) == ORFEAS_EINVAL);
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_STL, 1, &out) == 0);
    orfeas_buffer_free(&out);
    orfeas_mesh_free(&m);

    orfeas_mesh empty = {0};
    CHECK(orfeas_export(&empty, ORFEAS_FORMAT_GLB, 1, &out) == ORFEAS_EINVAL);
    orfeas_buffer_free(&out);
}

static void test_stl(const orfeas_mesh *m)
{
    orfeas_buffer out = {0};
    REQUIRE_OK(orfeas_export(m, ORFEAS_FORMAT_STL, 1, &out));
    CHECK(out.size == 84 + 50 * (size_t)m->triangle_count);
    CHECK(get_u32(out.data + 80) == m->triangle_count);
    CHECK(memcmp(out.data, "solid", 5) != 0); /* would read as ASCII STL */
    for (uint32_t t = 0; t < m->triangle_count && out.size >= 84 + 50 * (size_t)(t + 1); t++) {
        const uint8_t *p = out.data + 84 + 50 * (size_t)t;
        const uint32_t *tri = m->indices + 3 * (size_t)t;
        double e1[3], e2[3], n[3];
        for (int k = 0; k < 3; k++) {
            CHECK(get_f32(p + 12 + 4 * k) == m->positions[3 * tri[0] + (uint32_t)k]);
            CHECK(get_f32(p + 24 + 4 * k) == m->positions[3 * tri[1] + (uint32_t)k]);
            CHECK(get_f32(p + 36 + 4 * k) == m->positions[3 * tri[2] + (uint32_t)k]);
            e1[k] = m->positions[3 * tri[1] + (uint32_t)k] - m->positions[3 * tri[0] + (uint32_t)k];
            e2[k] = m->positions[3 * tri[2] + (uint32_t)k] - m->positions[3 * tri[0] + (uint32_t)k];
            n[k] = get_f32(p + 4 * k);
        }
        double c[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2],
                       e1[0] * e2[1] - e1[1] * e2[0]};
        double cl = sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
        double nl = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        CHECK(fabs(nl - 1) < 1e-5);
        CHECK(fabs((c[0] * n[0] + c[1] * n[1] + c[2] * n[2]) / cl - 1) < 1e-5);
        CHECK(p[48] == 0 && p[49] == 0);
    }
    orfeas_buffer_free(&out);
}

static void test_ply(const orfeas_mesh *m, int with_colors)
{
    orfeas_buffer out = {0};
    REQUIRE_OK(orfeas_export(m, ORFEAS_FORMAT_PLY, with_colors, &out));
    char expect[1024];
    snprintf(expect, sizeof expect,
             "ply\nformat binary_little_endian 1.0\ncomment generated by orfeas, units mm\n"
             "element vertex %u\nproperty float x\nproperty float y\nproperty float z\n%s"
             "element face %u\nproperty list uchar uint vertex_indices\nend_header\n",
             m->vertex_count,
             with_colors ? "property uchar red\nproperty uchar green\nproperty uchar blue\n"
                           "property uchar alpha\n"
                         : "",
             m->triangle_count);
    size_t hlen = strlen(expect);
    REQUIRE(out.size > hlen);
    CHECK(memcmp(out.data, expect, hlen) == 0);
    size_t vsize = with_colors ? 16 : 12;
    CHECK(out.size == hlen + vsize * m->vertex_count + 13 * (size_t)m->triangle_count);
    if (out.size == hlen + vsize * m->vertex_count + 13 * (size_t)m->triangle_count) {
        const uint8_t *v = out.data + hlen + vsize * (m->vertex_count - 1);
        for (int k = 0; k < 3; k++)
            CHECK(get_f32(v + 4 * k) == m->positions[3 * (m->vertex_count - 1) + (uint32_t)k]);
        if (with_colors) CHECK(memcmp(v + 12, m->colors + 4 * (m->vertex_count - 1), 4) == 0);
        const uint8_t *f = out.data + hlen + vsize * m->vertex_count;
        CHECK(f[0] == 3);
        for (int k = 0; k < 3; k++)
            CHECK(get_u32(f + 1 + 4 * k) == m->indices[k]);
    }
    orfeas_buffer_free(&out);
}

/* Counts lines starting with prefix and checks each has `fields` tokens. */
static size_t count_lines(const orfeas_buffer *b, const char *prefix, int fields)
{
    size_t n = 0, plen = strlen(prefix);
    const char *s = (const char *)b->data, *end = s + b->size;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) nl = end;
        if ((size_t)(nl - s) >= plen && memcmp(s, prefix, plen) == 0) {
            n++;
            int tokens = 0;
            for (const char *c = s; c < nl; c++)
                if (*c != ' ' && (c == s || c[-1] == ' ')) tokens++;
            CHECKF(tokens == fields && !memchr(s, ',', (size_t)(nl - s)), "%.*s", (int)(nl - s),
                   s); /* no locale decimal comma either */
        }
        s = nl + 1;
    }
    return n;
}

static void test_obj(const orfeas_mesh *m, int with_colors)
{
    orfeas_buffer out = {0};
    REQUIRE_OK(orfeas_export(m, ORFEAS_FORMAT_OBJ, with_colors, &out));
    CHECK(count_lines(&out, "v ", with_colors ? 7 : 4) == m->vertex_count);
    CHECK(count_lines(&out, "f ", 4) == m->triangle_count);
    CHECK(out.size > 0 && out.data[out.size - 1] == '\n');
    /* The first face, 1-based. */
    char expect[64];
    snprintf(expect, sizeof expect, "\nf %u %u %u\n", m->indices[0] + 1, m->indices[1] + 1,
             m->indices[2] + 1);
    orfeas_buffer z = out;
    CHECK(orfeas_buffer_append(&z, "", 1) == 0); /* NUL-terminate for strstr */
    out = z;
    CHECK(strstr((const char *)out.data, expect) != NULL);
    orfeas_buffer_free(&out);
}

/* Number formatting of OBJ: exact strings for awkward values. */
static void test_obj_numbers(void)
{
    orfeas_mesh m;
    REQUIRE_OK(orfeas_mesh_alloc(&m, 3, 1, 1));
    const float p[9] = {1.5f, -0.0000001f, -2.25f, 1e13f, 0.1f, -0.0f, 123456.5f, -1e-3f, 3};
    memcpy(m.positions, p, sizeof p);
    const uint32_t idx[3] = {0, 1, 2};
    memcpy(m.indices, idx, sizeof idx);
    memset(m.colors, 0, 12);
    m.colors[0] = 255, m.colors[1] = 128, m.colors[2] = 1;
    orfeas_buffer out = {0};
    REQUIRE_OK(orfeas_export(&m, ORFEAS_FORMAT_OBJ, 1, &out));
    REQUIRE_OK(orfeas_buffer_append(&out, "", 1));
    const char *s = (const char *)out.data;
    CHECKF(strstr(s, "\nv 1.5 0 -2.25 1 0.501961 0.003922\n") != NULL, "%s", s);
    /* 1e13f is exactly 9999999827968 */
    CHECKF(strstr(s, "\nv 9999999827968 0.1 0 0 0 0\n") != NULL, "%s", s);
    CHECKF(strstr(s, "\nv 123456.5 -0.001 3 0 0 0\n") != NULL, "%s", s);
    CHECK(strstr(s, "\nf 1 2 3\n") != NULL);
    orfeas_buffer_free(&out);
    orfeas_mesh_free(&m);
}

static const cJSON *item(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *x = item(obj, key);
    return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

static void test_glb(const orfeas_mesh *m, int with_colors)
{
    orfeas_buffer out = {0};
    REQUIRE_OK(orfeas_export(m, ORFEAS_FORMAT_GLB, with_colors, &out));
    REQUIRE(out.size >= 28);
    CHECK(get_u32(out.data) == 0x46546C67u);
    CHECK(get_u32(out.data + 4) == 2);
    CHECK(get_u32(out.data + 8) == out.size);
    CHECK(out.size % 4 == 0);
    uint32_t jlen = get_u32(out.data + 12);
    CHECK(get_u32(out.data + 16) == 0x4E4F534Au);
    CHECK(jlen % 4 == 0);
    REQUIRE(20 + (size_t)jlen + 8 <= out.size);
    const uint8_t *bin_hdr = out.data + 20 + jlen;
    uint32_t blen = get_u32(bin_hdr);
    CHECK(get_u32(bin_hdr + 4) == 0x004E4942u);
    CHECK(blen % 4 == 0);
    REQUIRE(20 + (size_t)jlen + 8 + blen == out.size);
    const uint8_t *bin = bin_hdr + 8;

    cJSON *root = cJSON_ParseWithLength((const char *)out.data + 20, jlen);
    REQUIRE(root != NULL);
    const cJSON *asset = item(root, "asset");
    CHECK(cJSON_IsString(item(asset, "version")) &&
          strcmp(item(asset, "version")->valuestring, "2.0") == 0);
    CHECK(cJSON_IsString(item(asset, "generator")) &&
          strcmp(item(asset, "generator")->valuestring, "orfeas") == 0);
    CHECK(num(root, "scene") == 0);
    CHECK(cJSON_GetArraySize(item(root, "nodes")) == 1);
    const cJSON *mat = cJSON_GetArrayItem(item(root, "materials"), 0);
    CHECK(cJSON_IsFalse(item(mat, "doubleSided")));
    CHECK(num(item(mat, "pbrMetallicRoughness"), "metallicFactor") == 0);
    const cJSON *buffers = item(root, "buffers");
    CHECK(cJSON_GetArraySize(buffers) == 1);
    CHECK(num(cJSON_GetArrayItem(buffers, 0), "byteLength") == blen);

    const cJSON *prim =
        cJSON_GetArrayItem(item(cJSON_GetArrayItem(item(root, "meshes"), 0), "primitives"), 0);
    const cJSON *attr = item(prim, "attributes");
    CHECK(num(prim, "mode") == 4);
    CHECK((item(attr, "COLOR_0") != NULL) == (with_colors != 0));
    const cJSON *accessors = item(root, "accessors"), *views = item(root, "bufferViews");
    CHECK(cJSON_GetArraySize(accessors) == (with_colors ? 4 : 3));
    CHECK(cJSON_GetArraySize(views) == (with_colors ? 4 : 3));

    /* Every view lies inside the buffer, 4-byte aligned. */
    const cJSON *view;
    cJSON_ArrayForEach(view, views)
    {
        double off = num(view, "byteOffset"), len = num(view, "byteLength");
        CHECK(off >= 0 && len > 0 && off + len <= blen && fmod(off, 4) == 0);
    }
    const cJSON *pos = cJSON_GetArrayItem(accessors, (int)num(attr, "POSITION"));
    const cJSON *nrm = cJSON_GetArrayItem(accessors, (int)num(attr, "NORMAL"));
    const cJSON *ind = cJSON_GetArrayItem(accessors, (int)num(prim, "indices"));
    CHECK(num(pos, "count") == m->vertex_count && num(pos, "componentType") == 5126);
    CHECK(num(nrm, "count") == m->vertex_count);
    CHECK(num(ind, "count") == 3.0 * m->triangle_count && num(ind, "componentType") == 5125);
    CHECK(item(cJSON_GetArrayItem(views, (int)num(ind, "bufferView")), "byteStride") == NULL);
    if (with_colors) {
        const cJSON *col = cJSON_GetArrayItem(accessors, (int)num(attr, "COLOR_0"));
        CHECK(num(col, "count") == m->vertex_count && num(col, "componentType") == 5121);
        CHECK(cJSON_IsTrue(item(col, "normalized")));
        const cJSON *cv = cJSON_GetArrayItem(views, (int)num(col, "bufferView"));
        /* COLOR_0 is linear (glTF 2.0 §3.7.2.1): the sRGB bytes converted
         * with the sRGB transfer function (IEC 61966-2-1), alpha unchanged. */
        const uint8_t *got = bin + (size_t)num(cv, "byteOffset");
        int worst = 0;
        for (size_t i = 0; i < 4 * (size_t)m->vertex_count; i++) {
            double c = m->colors[i] / 255.0;
            double lin = c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
            int want = (i & 3) == 3 ? m->colors[i] : (int)lround(lin * 255.0);
            int d = abs(got[i] - want);
            if (d > worst) worst = d;
        }
        CHECKF(worst <= 1, "COLOR_0 off by %d from the sRGB-to-linear conversion", worst);
    }
    /* min/max are exactly the float extremes. */
    for (int k = 0; k < 3; k++) {
        float lo = m->positions[k], hi = m->positions[k];
        for (uint32_t v = 1; v < m->vertex_count; v++) {
            float x = m->positions[3 * v + (uint32_t)k];
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        CHECK(cJSON_GetArrayItem(item(pos, "min"), k)->valuedouble == (double)lo);
        CHECK(cJSON_GetArrayItem(item(pos, "max"), k)->valuedouble == (double)hi);
    }
    /* Normals are unit length; indices match the mesh. */
    const cJSON *nv = cJSON_GetArrayItem(views, (int)num(nrm, "bufferView"));
    const uint8_t *np = bin + (size_t)num(nv, "byteOffset");
    for (uint32_t v = 0; v < m->vertex_count; v++) {
        double x = get_f32(np + 12 * v), y = get_f32(np + 12 * v + 4), z = get_f32(np + 12 * v + 8);
        CHECKF(fabs(sqrt(x * x + y * y + z * z) - 1) < 1e-5, "normal %u", v);
    }
    const cJSON *iv = cJSON_GetArrayItem(views, (int)num(ind, "bufferView"));
    const uint8_t *ip = bin + (size_t)num(iv, "byteOffset");
    for (size_t i = 0; i < 3 * (size_t)m->triangle_count; i++)
        CHECK(get_u32(ip + 4 * i) == m->indices[i]);
    /* JSON padding is spaces. */
    const char *json = (const char *)out.data + 20;
    size_t last = jlen;
    while (last > 0 && json[last - 1] == ' ')
        last--;
    CHECK(last > 0 && json[last - 1] == '}' && jlen - last < 4);
    cJSON_Delete(root);
    orfeas_buffer_free(&out);
}

/* Cube corner normal: area-weighted over its faces gives (±1,±1,±1)/sqrt3;
 * an unused vertex (no triangles) still gets a unit normal. */
static void test_glb_normals(void)
{
    orfeas_mesh cube, m;
    REQUIRE_OK(meshes_cube(&cube, 2, 0));
    REQUIRE_OK(orfeas_mesh_alloc(&m, 9, 12, 0));
    memcpy(m.positions, cube.positions, 8 * 12);
    m.positions[24] = 5, m.positions[25] = 5, m.positions[26] = 5; /* isolated vertex */
    memcpy(m.indices, cube.indices, 36 * 4);
    orfeas_buffer out = {0};
    REQUIRE_OK(orfeas_export(&m, ORFEAS_FORMAT_GLB, 0, &out));
    uint32_t jlen = get_u32(out.data + 12);
    const uint8_t *normals = out.data + 20 + jlen + 8 + 12 * 9; /* after positions */
    double s = 1 / sqrt(3.0);
    double n0[3] = {get_f32(normals), get_f32(normals + 4), get_f32(normals + 8)};
    CHECKF(fabs(n0[0] + s) < 1e-6 && fabs(n0[1] + s) < 1e-6 && fabs(n0[2] + s) < 1e-6,
           "corner 0 normal %g %g %g", n0[0], n0[1], n0[2]);
    const uint8_t *n8 = normals + 12 * 8;
    CHECK(get_f32(n8) == 0 && get_f32(n8 + 4) == 0 && get_f32(n8 + 8) == 1);
    orfeas_buffer_free(&out);
    orfeas_mesh_free(&m);
    orfeas_mesh_free(&cube);
}

static void export_all(const orfeas_mesh *m, orfeas_buffer outs[ORFEAS_FORMAT_COUNT_])
{
    for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++) {
        outs[f] = (orfeas_buffer){0};
        CHECK(orfeas_export(m, (orfeas_format)f, 1, &outs[f]) == 0);
    }
}

/* Same mesh, same bytes: repeated, and under a comma-decimal locale. */
static void test_deterministic(const orfeas_mesh *m)
{
    orfeas_buffer a[ORFEAS_FORMAT_COUNT_], b[ORFEAS_FORMAT_COUNT_];
    export_all(m, a);
    export_all(m, b);
    for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++)
        CHECKF(a[f].size == b[f].size && memcmp(a[f].data, b[f].data, a[f].size) == 0, "%s",
               orfeas_format_name((orfeas_format)f));
    const char *comma[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE", NULL};
    const char *used = NULL;
    for (int i = 0; comma[i] && !used; i++)
        if (setlocale(LC_NUMERIC, comma[i])) used = comma[i];
    if (used) {
        orfeas_buffer c[ORFEAS_FORMAT_COUNT_];
        export_all(m, c);
        setlocale(LC_NUMERIC, "C");
        for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++) {
            CHECKF(a[f].size == c[f].size && memcmp(a[f].data, c[f].data, a[f].size) == 0,
                   "%s differs under %s", orfeas_format_name((orfeas_format)f), used);
            orfeas_buffer_free(&c[f]);
        }
    } else {
        printf("test_export: no comma-decimal locale installed; locale check skipped\n");
    }
    for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++) {
        orfeas_buffer_free(&a[f]);
        orfeas_buffer_free(&b[f]);
    }
}

/* A 1M-triangle grid: every format must finish (linear time) with the
 * exact sizes. Not timed: tests never assert on wall-clock. */
static void test_large(void)
{
    const uint32_t n = 708; /* (n-1)^2 * 2 = 998 k triangles */
    orfeas_mesh m;
    REQUIRE_OK(orfeas_mesh_alloc(&m, n * n, (n - 1) * (n - 1) * 2, 1));
    for (uint32_t y = 0; y < n; y++)
        for (uint32_t x = 0; x < n; x++) {
            uint32_t v = y * n + x;
            m.positions[3 * (size_t)v] = (float)x * 0.1f;
            m.positions[3 * (size_t)v + 1] = (float)y * 0.1f;
            m.positions[3 * (size_t)v + 2] = (float)((x * 7 + y * 13) % 17) * 0.01f;
            memset(m.colors + 4 * (size_t)v, (int)(v & 0xff), 4);
        }
    uint32_t *f = m.indices;
    for (uint32_t y = 0; y + 1 < n; y++)
        for (uint32_t x = 0; x + 1 < n; x++) {
            uint32_t a = y * n + x;
            *f++ = a, *f++ = a + 1, *f++ = a + n;
            *f++ = a + 1, *f++ = a + n + 1, *f++ = a + n;
        }
    orfeas_buffer out = {0};
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_STL, 1, &out) == 0);
    CHECK(out.size == 84 + 50 * (size_t)m.triangle_count);
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_GLB, 1, &out) == 0);
    CHECK(get_u32(out.data + 8) == out.size);
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_PLY, 1, &out) == 0);
    CHECK(orfeas_export(&m, ORFEAS_FORMAT_OBJ, 1, &out) == 0);
    CHECK(count_lines(&out, "f ", 4) == m.triangle_count);
    orfeas_buffer_free(&out);
    orfeas_mesh_free(&m);
}

static int read_file(const char *path, orfeas_buffer *out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    out->size = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        orfeas_buffer_append(out, chunk, n);
    fclose(fp);
    return 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_atomic_write(void)
{
    char dir[] = "/tmp/orfeas-test-export.XXXXXX";
    char *made = mkdtemp(dir);
    REQUIRE(made != NULL);
    char path[256], sub[256];
    snprintf(path, sizeof path, "%s/out.stl", dir);
    snprintf(sub, sizeof sub, "%s/adir", dir);

    orfeas_buffer got = {0};
    CHECK(orfeas_write_file_atomic(path, "first", 5) == 0);
    CHECK(read_file(path, &got) == 0 && got.size == 5 && memcmp(got.data, "first", 5) == 0);
    CHECK(orfeas_write_file_atomic(path, "second!", 7) == 0); /* replaces */
    CHECK(read_file(path, &got) == 0 && got.size == 7 && memcmp(got.data, "second!", 7) == 0);
    CHECK(orfeas_write_file_atomic(path, "", 0) == 0);
    CHECK(read_file(path, &got) == 0 && got.size == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(count_entries(dir) == 1); /* no temp files left behind */

    /* rename onto a directory fails: ORFEAS_EIO and the temp file is gone. */
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(orfeas_write_file_atomic(sub, "x", 1) == ORFEAS_EIO);
    CHECK(count_entries(dir) == 2);

    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir/out.glb", dir);
    CHECK(orfeas_write_file_atomic(missing, "x", 1) == ORFEAS_EIO);
    CHECK(orfeas_write_file_atomic(NULL, "x", 1) == ORFEAS_EINVAL);

    /* A full disk, via /dev/full (ENOSPC on write). A real ENOSPC through
     * orfeas_write_file_atomic needs a tiny mounted tmpfs (root): not done. */
    int fd = open("/dev/full", O_WRONLY);
    if (fd >= 0) {
        CHECK(orfeas_write_all_fd_(fd, "abc", 3) == ORFEAS_ENOSPACE);
        close(fd);
    } else {
        printf("test_export: /dev/full not available; ENOSPC mapping not checked\n");
    }
    CHECK(orfeas_write_all_fd_(-1, "abc", 3) == ORFEAS_EIO);

    rmdir(sub);
    unlink(path);
    CHECK(rmdir(dir) == 0);
    orfeas_buffer_free(&got);
}

int main(void)
{
    test_formats();
    test_buffer();
    test_invalid();

    orfeas_mesh cube, tetra, sphere, two;
    const float center[3] = {1, 2, 3};
    REQUIRE_OK(meshes_cube(&cube, 20, 1));
    REQUIRE_OK(meshes_tetra(&tetra, 1));
    REQUIRE_OK(meshes_sphere(&sphere, 7.5f, 12, 20, center, 1));
    REQUIRE_OK(meshes_two_parts(&two, 1));
    const orfeas_mesh *meshes[] = {&cube, &tetra, &sphere, &two};

    for (size_t i = 0; i < sizeof meshes / sizeof meshes[0]; i++) {
        /* The hand-built meshes are what the oracles expect: closed and outward. */
        orfeas_mesh_report r;
        CHECK(orfeas_mesh_check(meshes[i], &r) == 0 && orfeas_mesh_report_ok(&r));
        test_stl(meshes[i]);
        for (int colors = 0; colors <= 1; colors++) {
            test_ply(meshes[i], colors);
            test_obj(meshes[i], colors);
            test_glb(meshes[i], colors);
        }
        test_deterministic(meshes[i]);
    }
    test_obj_numbers();
    test_glb_normals();
    test_large();
    test_atomic_write();

    orfeas_mesh_free(&cube);
    orfeas_mesh_free(&tetra);
    orfeas_mesh_free(&sphere);
    orfeas_mesh_free(&two);
    return testutil_finish("test_export");
}
