/* orfeas — writing meshes: binary STL, OBJ with vertex colours, binary
 * little-endian PLY, GLB (glTF 2.0). Output is a deterministic function of
 * the mesh: the same mesh always gives the same bytes. */
#ifndef ORFEAS_EXPORT_H
#define ORFEAS_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "orfeas/mesh.h"
#include "orfeas/buffer.h"
#include "orfeas/params.h" /* orfeas_format */

#ifdef __cplusplus
extern "C" {
#endif

/* "stl", "obj", "ply", "glb" (case-insensitive); 0 or ORFEAS_EINVAL. */
int orfeas_format_parse(const char *name, orfeas_format *out);
/* From a file name's extension; 0 or ORFEAS_EINVAL. */
int orfeas_format_from_path(const char *path, orfeas_format *out);
const char *orfeas_format_name(orfeas_format format);
const char *orfeas_format_mime(orfeas_format format);

/* Serialises the mesh; colours are written when the mesh has them and
 * with_colors is set (STL never carries colours). out is reset first. */
int orfeas_export(const orfeas_mesh *mesh, orfeas_format format, int with_colors,
                  orfeas_buffer *out);

/* Writes bytes to path atomically (temp file in the same directory, fsync,
 * rename). Errors: ORFEAS_EIO, ORFEAS_ENOSPACE. */
int orfeas_write_file_atomic(const char *path, const void *data, size_t size);

#ifdef __cplusplus
}
#endif
#endif
