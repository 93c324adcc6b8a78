/* orfeas — generation parameters. One table (see params.c) gives each
 * parameter's name, bounds, default and help; the CLI flags (--width-mm),
 * the server's form fields and query keys (width_mm) and the docs all come
 * from it. */
#ifndef ORFEAS_PARAMS_H
#define ORFEAS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The output format (the writers are the export layer's: orfeas/export.h). */
typedef enum orfeas_format {
    ORFEAS_FORMAT_STL = 0,
    ORFEAS_FORMAT_OBJ,
    ORFEAS_FORMAT_PLY,
    ORFEAS_FORMAT_GLB,
    ORFEAS_FORMAT_COUNT_
} orfeas_format;

typedef enum {
    ORFEAS_MODE_AUTO = 0,
    ORFEAS_MODE_INFLATE,
    ORFEAS_MODE_RELIEF,
    ORFEAS_MODE_LITHOPHANE
} orfeas_mode;
typedef enum { ORFEAS_BG_AUTO = 0, ORFEAS_BG_REMOVE, ORFEAS_BG_KEEP } orfeas_background;
typedef enum {
    ORFEAS_DEPTH_AUTO = 0,
    ORFEAS_DEPTH_LUMINANCE,
    ORFEAS_DEPTH_MODEL,
    ORFEAS_DEPTH_UPLOAD
} orfeas_depth_source;
typedef enum {
    ORFEAS_PRECISION_AUTO = 0,
    ORFEAS_PRECISION_FP32,
    ORFEAS_PRECISION_FP16,
    ORFEAS_PRECISION_INT8
} orfeas_precision;
typedef enum { ORFEAS_TEXTURE_VERTEX = 0, ORFEAS_TEXTURE_NONE } orfeas_texture;

typedef struct orfeas_params {
    int quality; /* 1..10 */
    orfeas_format format;
    orfeas_mode mode;
    double width_mm;  /* > 0 */
    double height_mm; /* 0 = from the aspect ratio */
    double depth_mm;  /* 0 = mode default (20, lithophane 3) */
    double base_mm;
    orfeas_background background;
    double detail; /* 0..1 */
    orfeas_depth_source depth_source;
    orfeas_precision precision;
    uint32_t target_triangles; /* 0 = from quality */
    orfeas_texture texture;
} orfeas_params;

typedef enum { ORFEAS_PARAM_INT, ORFEAS_PARAM_DOUBLE, ORFEAS_PARAM_ENUM } orfeas_param_type;

typedef struct orfeas_param_desc {
    const char *name; /* field name: "width_mm" */
    const char *flag; /* CLI flag: "--width-mm" */
    orfeas_param_type type;
    double min, max;           /* inclusive bounds for numbers */
    const char *const *values; /* NULL-terminated names for enums */
    const char *default_text;
    const char *help;
} orfeas_param_desc;

void orfeas_params_init(orfeas_params *p);
/* The table, terminated by an entry with name == NULL. */
const orfeas_param_desc *orfeas_params_table(void);
/* Finds a parameter by field name ("width_mm") or flag ("--width-mm"). */
const orfeas_param_desc *orfeas_params_find(const char *name_or_flag);
/* Parses and sets one parameter from text. On failure returns ORFEAS_EINVAL
 * and writes a message naming the field into err (when err_size > 0). */
int orfeas_params_set(orfeas_params *p, const char *name, const char *value, char *err,
                      size_t err_size);
/* Cross-field checks (base below depth, ...); same error convention. */
int orfeas_params_validate(const orfeas_params *p, char *err, size_t err_size);
/* Canonical "name=value;..." text of every parameter (for cache keys). */
int orfeas_params_canonical(const orfeas_params *p, char *out, size_t out_size);
/* The canonical text back into parameters (unknown names or bad values:
 * ORFEAS_EINVAL). */
int orfeas_params_from_canonical(const char *text, orfeas_params *p);

/* The per-quality ladder: working long side in pixels and triangle budget. */
uint32_t orfeas_quality_long_side(int quality);
uint32_t orfeas_quality_triangle_budget(int quality);

const char *orfeas_mode_name(orfeas_mode mode);

#ifdef __cplusplus
}
#endif
#endif
