/* orfeas — server-side PNG thumbnails of a mesh: a small deterministic
 * software renderer (orthographic camera, z-buffer, Lambert shading, 2x2
 * supersampling). The same mesh and options always give the same bytes. */
#ifndef ORFEAS_THUMBNAIL_H
#define ORFEAS_THUMBNAIL_H

#include <stdint.h>

#include "orfeas/export.h"
#include "orfeas/mesh.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORFEAS_THUMBNAIL_DEFAULT_SIZE 256u
#define ORFEAS_THUMBNAIL_MAX_SIZE 4096u
#define ORFEAS_THUMBNAIL_DEFAULT_YAW (-25.0f)
#define ORFEAS_THUMBNAIL_DEFAULT_PITCH 20.0f

typedef struct orfeas_thumbnail_options {
    uint32_t width, height; /* each 0 = 256; at most 4096 */
    /* Camera orbit around the mesh centre, in degrees. yaw > 0 moves the
     * camera toward +X (shows the right side), pitch > 0 raises it (shows
     * the top). Both 0 = the default 3/4 front view: yaw -25, pitch 20. */
    float yaw_deg, pitch_deg;
    uint8_t background[4]; /* RGBA; all zero = transparent background */
} orfeas_thumbnail_options;

/* Renders the mesh (or NULL opts for the defaults) into an 8-bit RGBA PNG
 * written into out, which is reset first. Orthographic view, the mesh's
 * projected bounding box fitted to the frame with a margin; flat Lambert
 * shading (one key light from above and in front, fixed to the camera, plus
 * ambient) times the interpolated vertex colours (grey when none); both
 * sides of every triangle are drawn, so open meshes render too.
 * Returns 0, ORFEAS_EINVAL (NULL/empty mesh, index out of range, non-finite
 * position, size > 4096), ORFEAS_ENOMEM or ORFEAS_EINTERNAL (encoder). */
int orfeas_render_thumbnail(const orfeas_mesh *mesh, const orfeas_thumbnail_options *opts,
                            orfeas_buffer *out);

#ifdef __cplusplus
}
#endif
#endif
