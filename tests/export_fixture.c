/* Writes the oracle-test meshes into the directory argv[1]:
 *   cube.*, sphere.*, twoparts.*  in stl/obj/ply/glb (good meshes)
 *   cube_plain.{glb,ply,obj}  the cube without vertex colours
 *   broken_hole.stl   cube with one triangle removed (open)
 *   broken_flip.stl   cube with one triangle reversed
 *   broken_inverted.stl  cube with every triangle reversed (inside out)
 *   broken_count.glb  cube GLB whose index accessor count exceeds its data
 * The broken files prove the oracle wrappers can fail. */
#include "export_meshes.h"
#include "orfeas/error.h"
#include "orfeas/export.h"

#include <stdio.h>
#include <string.h>

static int write_one(const char *dir, const char *stem, const orfeas_mesh *m, orfeas_format f,
                     int with_colors)
{
    orfeas_buffer buf = {0};
    int rc = orfeas_export(m, f, with_colors, &buf);
    if (!rc) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.%s", dir, stem, orfeas_format_name(f));
        rc = orfeas_write_file_atomic(path, buf.data, buf.size);
    }
    if (rc)
        fprintf(stderr, "export_fixture: %s.%s: %s\n", stem, orfeas_format_name(f),
                orfeas_strerror(rc));
    orfeas_buffer_free(&buf);
    return rc;
}

static int write_all(const char *dir, const char *stem, const orfeas_mesh *m)
{
    for (int f = 0; f < ORFEAS_FORMAT_COUNT_; f++)
        if (write_one(dir, stem, m, (orfeas_format)f, 1)) return 1;
    return 0;
}

/* Rewrites the last "count":N in the JSON chunk to the same number of 9s:
 * same length, so the chunk sizes stay valid and only the accessor lies. */
static int corrupt_last_count(orfeas_buffer *glb)
{
    static const char key[] = "\"count\":";
    size_t json_len = glb->size > 20 ? (size_t)glb->data[12] | (size_t)glb->data[13] << 8 |
                                           (size_t)glb->data[14] << 16 | (size_t)glb->data[15] << 24
                                     : 0;
    char *json = (char *)glb->data + 20;
    char *hit = NULL;
    for (size_t i = 0; i + sizeof key - 1 <= json_len; i++)
        if (memcmp(json + i, key, sizeof key - 1) == 0) hit = json + i + sizeof key - 1;
    if (!hit) return 1;
    int changed = 0;
    for (; *hit >= '0' && *hit <= '9'; hit++) {
        changed |= *hit != '9';
        *hit = '9';
    }
    return changed ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: export_fixture OUTDIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int bad = 0;
    orfeas_mesh m;

    if (meshes_cube(&m, 20, 1)) return 1;
    bad |= write_all(dir, "cube", &m);
    bad |= write_one(dir, "cube_plain", &m, ORFEAS_FORMAT_GLB, 0) != 0;
    bad |= write_one(dir, "cube_plain", &m, ORFEAS_FORMAT_PLY, 0) != 0;
    bad |= write_one(dir, "cube_plain", &m, ORFEAS_FORMAT_OBJ, 0) != 0;

    orfeas_buffer buf = {0};
    if (orfeas_export(&m, ORFEAS_FORMAT_GLB, 1, &buf) == 0 && corrupt_last_count(&buf) == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/broken_count.glb", dir);
        bad |= orfeas_write_file_atomic(path, buf.data, buf.size) != 0;
    } else {
        bad = 1;
    }
    orfeas_buffer_free(&buf);

    /* Reverse one triangle: every edge of it is then used twice in the
     * same direction by it and its neighbours. */
    uint32_t tmp = m.indices[1];
    m.indices[1] = m.indices[2];
    m.indices[2] = tmp;
    if (write_one(dir, "broken_flip", &m, ORFEAS_FORMAT_STL, 1)) bad = 1;
    m.indices[2] = m.indices[1];
    m.indices[1] = tmp;
    for (uint32_t t = 0; t < m.triangle_count; t++) {
        uint32_t *tri = m.indices + 3 * (size_t)t;
        tmp = tri[1], tri[1] = tri[2], tri[2] = tmp;
    }
    if (write_one(dir, "broken_inverted", &m, ORFEAS_FORMAT_STL, 1)) bad = 1;
    for (uint32_t t = 0; t < m.triangle_count; t++) {
        uint32_t *tri = m.indices + 3 * (size_t)t;
        tmp = tri[1], tri[1] = tri[2], tri[2] = tmp;
    }
    m.triangle_count--; /* drop the last triangle: a hole */
    if (write_one(dir, "broken_hole", &m, ORFEAS_FORMAT_STL, 1)) bad = 1;
    orfeas_mesh_free(&m);

    const float center[3] = {0, 0, 0};
    if (meshes_sphere(&m, 10, 24, 48, center, 1)) return 1;
    bad |= write_all(dir, "sphere", &m);
    orfeas_mesh_free(&m);

    if (meshes_two_parts(&m, 1)) return 1;
    bad |= write_all(dir, "twoparts", &m);
    orfeas_mesh_free(&m);

    return bad ? 1 : 0;
}
