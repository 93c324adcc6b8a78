/* glTF 2.0 binary (GLB): one mesh, one triangle primitive with POSITION,
 * NORMAL, optional COLOR_0 and UNSIGNED_INT indices, a default material
 * and a one-node scene. The JSON is written by hand; numbers are formatted
 * under a private "C" locale so the bytes never depend on LC_NUMERIC. */
#include "export_internal.h"
#include "orfeas/error.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GLB_MAGIC 0x46546C67u /* "glTF" */
#define GLB_CHUNK_JSON 0x4E4F534Au
#define GLB_CHUNK_BIN 0x004E4942u
#define GL_FLOAT 5126
#define GL_UNSIGNED_BYTE 5121
#define GL_UNSIGNED_INT 5125
#define GL_ARRAY_BUFFER 34962
#define GL_ELEMENT_ARRAY_BUFFER 34963

static int json_printf(orfeas_buffer *json, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int json_printf(orfeas_buffer *json, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) return ORFEAS_EINTERNAL;
    return orfeas_buffer_append(json, tmp, (size_t)n);
}

/* %.17g makes the JSON number parse back to exactly the float's value, so
 * the validator's min/max comparison with the data is exact. */
static int json_vec3(orfeas_buffer *json, const char *key, const float v[3])
{
    return json_printf(json, ",\"%s\":[%.17g,%.17g,%.17g]", key, (double)v[0], (double)v[1],
                       (double)v[2]);
}

static int build_json(orfeas_buffer *json, size_t nv, size_t nt, int with_colors,
                      const float pmin[3], const float pmax[3], size_t bin_len)
{
    size_t off_nrm = 12 * nv, off_col = 24 * nv, off_idx = (with_colors ? 28 : 24) * nv;
    int rc = 0;
    rc = rc ? rc
            : json_printf(json, "{\"asset\":{\"version\":\"2.0\",\"generator\":\"orfeas\"},"
                                "\"scene\":0,\"scenes\":[{\"nodes\":[0]}],"
                                "\"nodes\":[{\"mesh\":0}],");
    rc = rc ? rc
            : json_printf(json,
                          "\"meshes\":[{\"primitives\":[{\"attributes\":{\"POSITION\":0,"
                          "\"NORMAL\":1%s},\"indices\":%d,\"material\":0,\"mode\":4}]}],",
                          with_colors ? ",\"COLOR_0\":2" : "", with_colors ? 3 : 2);
    /* metallicFactor 0: the glTF default of 1 would render vertex colours
     * as dark metal. */
    rc = rc ? rc
            : json_printf(json, "\"materials\":[{\"pbrMetallicRoughness\":{\"baseColorFactor\":"
                                "[1,1,1,1],\"metallicFactor\":0,\"roughnessFactor\":1},"
                                "\"doubleSided\":false}],");
    rc = rc ? rc : json_printf(json, "\"buffers\":[{\"byteLength\":%zu}],", bin_len);
    rc = rc ? rc
            : json_printf(json,
                          "\"bufferViews\":["
                          "{\"buffer\":0,\"byteOffset\":0,\"byteLength\":%zu,"
                          "\"byteStride\":12,\"target\":%d},"
                          "{\"buffer\":0,\"byteOffset\":%zu,\"byteLength\":%zu,"
                          "\"byteStride\":12,\"target\":%d},",
                          12 * nv, GL_ARRAY_BUFFER, off_nrm, 12 * nv, GL_ARRAY_BUFFER);
    if (with_colors)
        rc = rc ? rc
                : json_printf(json,
                              "{\"buffer\":0,\"byteOffset\":%zu,\"byteLength\":%zu,"
                              "\"byteStride\":4,\"target\":%d},",
                              off_col, 4 * nv, GL_ARRAY_BUFFER);
    /* Index views carry no byteStride: the spec forbids it there. */
    rc = rc ? rc
            : json_printf(json,
                          "{\"buffer\":0,\"byteOffset\":%zu,\"byteLength\":%zu,\"target\":%d}],",
                          off_idx, 12 * nt, GL_ELEMENT_ARRAY_BUFFER);
    rc = rc ? rc
            : json_printf(json,
                          "\"accessors\":[{\"bufferView\":0,\"componentType\":%d,"
                          "\"count\":%zu,\"type\":\"VEC3\"",
                          GL_FLOAT, nv);
    rc = rc ? rc : json_vec3(json, "min", pmin);
    rc = rc ? rc : json_vec3(json, "max", pmax);
    rc = rc ? rc
            : json_printf(json,
                          "},{\"bufferView\":1,\"componentType\":%d,\"count\":%zu,"
                          "\"type\":\"VEC3\"}",
                          GL_FLOAT, nv);
    if (with_colors)
        rc = rc ? rc
                : json_printf(json,
                              ",{\"bufferView\":2,\"componentType\":%d,\"normalized\":true,"
                              "\"count\":%zu,\"type\":\"VEC4\"}",
                              GL_UNSIGNED_BYTE, nv);
    rc = rc ? rc
            : json_printf(json,
                          ",{\"bufferView\":%d,\"componentType\":%d,\"count\":%zu,"
                          "\"type\":\"SCALAR\"}]}",
                          with_colors ? 3 : 2, GL_UNSIGNED_INT, 3 * nt);
    return rc;
}

/* Area-weighted vertex normals: the unnormalised face cross products are
 * summed, so big faces dominate. Accumulated in double for stable sums. */
static int vertex_normals(const orfeas_mesh *mesh, double **out)
{
    size_t nv = mesh->vertex_count, nt = mesh->triangle_count;
    if (nv > SIZE_MAX / (3 * sizeof(double))) return ORFEAS_ENOMEM;
    double *acc = calloc(nv * 3, sizeof(double));
    if (!acc) return ORFEAS_ENOMEM;
    for (size_t t = 0; t < nt; t++) {
        const uint32_t *tri = mesh->indices + 3 * t;
        double n[3];
        orfeas_triangle_normal_(mesh, t, n);
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 3; j++)
                acc[3 * (size_t)tri[k] + (size_t)j] += n[j];
    }
    *out = acc;
    return 0;
}

/* glTF's COLOR_0 is linear; the mesh holds sRGB bytes from the image.
 * Tabulated (not computed with powf) so the bytes never depend on libm. */
static const uint8_t srgb_to_linear[256] = {
    0,   0,   0,   0,   0,   0,   0,   1,   1,   1,   1,   1,   1,   1,   1,   1,   1,   1,   2,
    2,   2,   2,   2,   2,   2,   2,   3,   3,   3,   3,   3,   3,   4,   4,   4,   4,   4,   5,
    5,   5,   5,   6,   6,   6,   6,   7,   7,   7,   8,   8,   8,   8,   9,   9,   9,   10,  10,
    10,  11,  11,  12,  12,  12,  13,  13,  13,  14,  14,  15,  15,  16,  16,  17,  17,  17,  18,
    18,  19,  19,  20,  20,  21,  22,  22,  23,  23,  24,  24,  25,  25,  26,  27,  27,  28,  29,
    29,  30,  30,  31,  32,  32,  33,  34,  35,  35,  36,  37,  37,  38,  39,  40,  41,  41,  42,
    43,  44,  45,  45,  46,  47,  48,  49,  50,  51,  51,  52,  53,  54,  55,  56,  57,  58,  59,
    60,  61,  62,  63,  64,  65,  66,  67,  68,  69,  70,  71,  72,  73,  74,  76,  77,  78,  79,
    80,  81,  82,  84,  85,  86,  87,  88,  90,  91,  92,  93,  95,  96,  97,  99,  100, 101, 103,
    104, 105, 107, 108, 109, 111, 112, 114, 115, 116, 118, 119, 121, 122, 124, 125, 127, 128, 130,
    131, 133, 134, 136, 138, 139, 141, 142, 144, 146, 147, 149, 151, 152, 154, 156, 157, 159, 161,
    163, 164, 166, 168, 170, 171, 173, 175, 177, 179, 181, 183, 184, 186, 188, 190, 192, 194, 196,
    198, 200, 202, 204, 206, 208, 210, 212, 214, 216, 218, 220, 222, 224, 226, 229, 231, 233, 235,
    237, 239, 242, 244, 246, 248, 250, 253, 255,
};

int orfeas_export_glb_(const orfeas_mesh *mesh, int with_colors, orfeas_buffer *out)
{
    size_t nv = mesh->vertex_count, nt = mesh->triangle_count;
    /* GLB lengths are uint32: the whole file must stay under 4 GiB. */
    uint64_t bin_len = (uint64_t)nv * (with_colors ? 28 : 24) + (uint64_t)nt * 12;
    if (bin_len > UINT32_MAX - 65536) return ORFEAS_ETOOBIG;

    float pmin[3], pmax[3];
    for (int k = 0; k < 3; k++)
        pmin[k] = pmax[k] = mesh->positions[k];
    for (size_t i = 1; i < nv; i++) {
        for (int k = 0; k < 3; k++) {
            float x = mesh->positions[3 * i + (size_t)k];
            if (x < pmin[k]) pmin[k] = x;
            if (x > pmax[k]) pmax[k] = x;
        }
    }

    orfeas_buffer json = {0};
    locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (c_locale == (locale_t)0) return ORFEAS_ENOMEM;
    locale_t previous = uselocale(c_locale);
    int rc = build_json(&json, nv, nt, with_colors, pmin, pmax, (size_t)bin_len);
    uselocale(previous);
    freelocale(c_locale);
    if (rc) goto done;

    size_t json_pad = (4 - json.size % 4) % 4;
    size_t bin_pad = (size_t)((4 - bin_len % 4) % 4); /* always 0 today; kept for safety */
    uint64_t total = 12 + 8 + (uint64_t)json.size + json_pad + 8 + bin_len + bin_pad;
    if (total > UINT32_MAX) {
        rc = ORFEAS_ETOOBIG;
        goto done;
    }
    double *normals = NULL;
    rc = vertex_normals(mesh, &normals);
    if (rc) goto done;
    rc = orfeas_buffer_reserve(out, (size_t)total);
    if (rc) {
        free(normals);
        goto done;
    }

    uint8_t *p = orfeas_buffer_tail_(out, 12);
    orfeas_put_u32le_(p, GLB_MAGIC);
    orfeas_put_u32le_(p + 4, 2);
    orfeas_put_u32le_(p + 8, (uint32_t)total);

    p = orfeas_buffer_tail_(out, 8);
    orfeas_put_u32le_(p, (uint32_t)(json.size + json_pad));
    orfeas_put_u32le_(p + 4, GLB_CHUNK_JSON);
    memcpy(orfeas_buffer_tail_(out, json.size), json.data, json.size);
    memset(orfeas_buffer_tail_(out, json_pad), ' ', json_pad); /* the spec pads JSON with spaces */

    p = orfeas_buffer_tail_(out, 8);
    orfeas_put_u32le_(p, (uint32_t)(bin_len + bin_pad));
    orfeas_put_u32le_(p + 4, GLB_CHUNK_BIN);

    p = orfeas_buffer_tail_(out, 12 * nv);
    for (size_t i = 0; i < 3 * nv; i++)
        orfeas_put_f32le_(p + 4 * i, mesh->positions[i]);
    p = orfeas_buffer_tail_(out, 12 * nv);
    for (size_t i = 0; i < nv; i++) {
        const double *n = normals + 3 * i;
        double len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        float f[3] = {0.0f, 0.0f, 1.0f}; /* isolated or degenerate-only vertex: any unit vector */
        if (len > 0 && isfinite(len))
            for (int k = 0; k < 3; k++)
                f[k] = (float)(n[k] / len);
        for (int k = 0; k < 3; k++)
            orfeas_put_f32le_(p + 12 * i + 4 * (size_t)k, f[k]);
    }
    free(normals);
    if (with_colors) {
        uint8_t *col = orfeas_buffer_tail_(out, 4 * nv);
        for (size_t i = 0; i < 4 * nv; i++)
            col[i] = (i & 3) == 3 ? mesh->colors[i] : srgb_to_linear[mesh->colors[i]];
    }
    p = orfeas_buffer_tail_(out, 12 * nt);
    for (size_t i = 0; i < 3 * nt; i++)
        orfeas_put_u32le_(p + 4 * i, mesh->indices[i]);
    memset(orfeas_buffer_tail_(out, bin_pad), 0, bin_pad);

done:
    orfeas_buffer_free(&json);
    return rc;
}
