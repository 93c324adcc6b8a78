/* Format names, MIME types and the export entry point that validates the
 * mesh once for every writer. */
#include "export_internal.h"
#include "orfeas/error.h"
#include "orfeas/log.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    const char *mime;
} formats[ORFEAS_FORMAT_COUNT_] = {
    [ORFEAS_FORMAT_STL] = {"stl", "model/stl"},
    [ORFEAS_FORMAT_OBJ] = {"obj", "model/obj"},
    [ORFEAS_FORMAT_PLY] = {"ply", "application/x-ply"},
    [ORFEAS_FORMAT_GLB] = {"glb", "model/gltf-binary"},
};

/* ASCII-only case folding: strcasecmp would follow the locale. */
static int ascii_ieq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y - 'A' + 'a');
        if (x != y) return 0;
        if (!x) return 1;
    }
}

int orfeas_format_parse(const char *name, orfeas_format *out)
{
    if (!name || !out) return ORFEAS_EINVAL;
    for (int i = 0; i < ORFEAS_FORMAT_COUNT_; i++) {
        if (ascii_ieq(name, formats[i].name)) {
            *out = (orfeas_format)i;
            return 0;
        }
    }
    return ORFEAS_EINVAL;
}

int orfeas_format_from_path(const char *path, orfeas_format *out)
{
    if (!path || !out) return ORFEAS_EINVAL;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return ORFEAS_EINVAL; /* no extension, or a dot file */
    return orfeas_format_parse(dot + 1, out);
}

const char *orfeas_format_name(orfeas_format format)
{
    if ((int)format < 0 || format >= ORFEAS_FORMAT_COUNT_) return "unknown";
    return formats[format].name;
}

const char *orfeas_format_mime(orfeas_format format)
{
    if ((int)format < 0 || format >= ORFEAS_FORMAT_COUNT_) return "application/octet-stream";
    return formats[format].mime;
}

/* Every writer relies on these, so a bad index can never read out of bounds
 * and no format gets NaN/inf (which STL readers and the glTF validator reject). */
static int validate_mesh(const orfeas_mesh *mesh)
{
    if (!mesh->positions || !mesh->indices) return ORFEAS_EINVAL;
    if (mesh->triangle_count == 0 || mesh->vertex_count == 0) {
        ORFEAS_WARN("export: empty mesh (%u vertices, %u triangles)", mesh->vertex_count,
                    mesh->triangle_count);
        return ORFEAS_EINVAL;
    }
    size_t nidx = (size_t)mesh->triangle_count * 3;
    for (size_t i = 0; i < nidx; i++) {
        if (mesh->indices[i] >= mesh->vertex_count) {
            ORFEAS_WARN("export: index %u out of range (%u vertices)", mesh->indices[i],
                        mesh->vertex_count);
            return ORFEAS_EINVAL;
        }
    }
    size_t npos = (size_t)mesh->vertex_count * 3;
    for (size_t i = 0; i < npos; i++) {
        if (!isfinite(mesh->positions[i])) {
            ORFEAS_WARN("export: non-finite position at vertex %zu", i / 3);
            return ORFEAS_EINVAL;
        }
    }
    return 0;
}

int orfeas_export(const orfeas_mesh *mesh, orfeas_format format, int with_colors,
                  orfeas_buffer *out)
{
    if (!mesh || !out) return ORFEAS_EINVAL;
    out->size = 0;
    if ((int)format < 0 || format >= ORFEAS_FORMAT_COUNT_) return ORFEAS_EINVAL;
    int rc = validate_mesh(mesh);
    if (rc) return rc;
    int colors = with_colors && mesh->colors != NULL;
    switch (format) {
    case ORFEAS_FORMAT_STL:
        rc = orfeas_export_stl_(mesh, out);
        break;
    case ORFEAS_FORMAT_OBJ:
        rc = orfeas_export_obj_(mesh, colors, out);
        break;
    case ORFEAS_FORMAT_PLY:
        rc = orfeas_export_ply_(mesh, colors, out);
        break;
    case ORFEAS_FORMAT_GLB:
        rc = orfeas_export_glb_(mesh, colors, out);
        break;
    default:
        rc = ORFEAS_EINVAL;
    }
    if (rc) out->size = 0;
    return rc;
}
