/* The parameter table: names, bounds, defaults and help for every generation
 * parameter. CLI flags, server fields and docs are all derived from it. */
#include "orfeas/params.h"
#include "orfeas/error.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const format_values[] = {"stl", "obj", "ply", "glb", NULL};
static const char *const mode_values[] = {"auto", "inflate", "relief", "lithophane", NULL};
static const char *const background_values[] = {"auto", "remove", "keep", NULL};
static const char *const depth_values[] = {"auto", "luminance", "model", "upload", NULL};
static const char *const precision_values[] = {"auto", "fp32", "fp16", "int8", NULL};
static const char *const texture_values[] = {"vertex", "none", NULL};

enum {
    P_QUALITY,
    P_FORMAT,
    P_MODE,
    P_WIDTH,
    P_HEIGHT,
    P_DEPTH,
    P_BASE,
    P_BACKGROUND,
    P_DETAIL,
    P_DEPTH_SOURCE,
    P_PRECISION,
    P_TARGET,
    P_TEXTURE,
    P_COUNT
};

static const orfeas_param_desc table[P_COUNT + 1] = {
    [P_QUALITY] = {"quality", "--quality", ORFEAS_PARAM_INT, 1, 10, NULL, "7",
                   "1..10: working resolution 64..1536 px and triangle budget"},
    [P_FORMAT] = {"format", "--format", ORFEAS_PARAM_ENUM, 0, 0, format_values, "glb",
                  "output format"},
    [P_MODE] = {"mode", "--mode", ORFEAS_PARAM_ENUM, 0, 0, mode_values, "auto",
                "inflate: rounded solid from the silhouette; relief: bas-relief on a plate; "
                "lithophane: thickness from inverted luminance; auto: inflate when a "
                "foreground is found, else relief"},
    [P_WIDTH] = {"width_mm", "--width-mm", ORFEAS_PARAM_DOUBLE, 1, 2000, NULL, "100",
                 "width of the bounding box in mm"},
    [P_HEIGHT] = {"height_mm", "--height-mm", ORFEAS_PARAM_DOUBLE, 0, 2000, NULL, "0",
                  "height of the bounding box in mm (0: from the aspect ratio); with both "
                  "width and height the model fits inside, aspect kept"},
    [P_DEPTH] = {"depth_mm", "--depth-mm", ORFEAS_PARAM_DOUBLE, 0, 1000, NULL, "0",
                 "thickness in mm (0: 20, or 3 for lithophanes)"},
    [P_BASE] = {"base_mm", "--base-mm", ORFEAS_PARAM_DOUBLE, 0, 100, NULL, "2",
                "base plate thickness for relief and lithophane (lithophane: thinnest part)"},
    [P_BACKGROUND] = {"background", "--background", ORFEAS_PARAM_ENUM, 0, 0, background_values,
                      "auto", "remove: cut the object out; keep: use the whole frame"},
    [P_DETAIL] = {"detail", "--detail", ORFEAS_PARAM_DOUBLE, 0, 1, NULL, "0.3",
                  "0..1, how much image relief is added on the shape"},
    [P_DEPTH_SOURCE] = {"depth_source", "--depth-source", ORFEAS_PARAM_ENUM, 0, 0, depth_values,
                        "auto", "where relief comes from (auto: upload if given, else luminance)"},
    [P_PRECISION] = {"precision", "--precision", ORFEAS_PARAM_ENUM, 0, 0, precision_values, "auto",
                     "numeric precision on the device (auto: by free memory)"},
    [P_TARGET] = {"target_triangles", "--target-triangles", ORFEAS_PARAM_INT, 0, 20000000, NULL,
                  "0", "triangle budget (0: from quality; at least 1000 otherwise)"},
    [P_TEXTURE] = {"texture", "--texture", ORFEAS_PARAM_ENUM, 0, 0, texture_values, "vertex",
                   "vertex: vertex colours in glb/ply/obj; none: geometry only"},
    [P_COUNT] = {NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};

static const uint32_t long_sides[10] = {64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536};
static const uint32_t budgets[10] = {4000,  8000,   15000,  30000,  50000,
                                     80000, 120000, 200000, 350000, 600000};

uint32_t orfeas_quality_long_side(int quality)
{
    if (quality < 1) quality = 1;
    if (quality > 10) quality = 10;
    return long_sides[quality - 1];
}

uint32_t orfeas_quality_triangle_budget(int quality)
{
    if (quality < 1) quality = 1;
    if (quality > 10) quality = 10;
    return budgets[quality - 1];
}

const char *orfeas_mode_name(orfeas_mode mode)
{
    return (unsigned)mode < 4 ? mode_values[mode] : "unknown";
}

void orfeas_params_init(orfeas_params *p)
{
    memset(p, 0, sizeof *p);
    p->quality = 7;
    p->format = ORFEAS_FORMAT_GLB;
    p->mode = ORFEAS_MODE_AUTO;
    p->width_mm = 100;
    p->base_mm = 2;
    p->detail = 0.3;
}

const orfeas_param_desc *orfeas_params_table(void)
{
    return table;
}

const orfeas_param_desc *orfeas_params_find(const char *name)
{
    for (const orfeas_param_desc *d = table; d->name; d++)
        if (strcmp(d->name, name) == 0 || strcmp(d->flag, name) == 0) return d;
    return NULL;
}

static void *field_of(orfeas_params *p, int which)
{
    switch (which) {
    case P_QUALITY:
        return &p->quality;
    case P_FORMAT:
        return &p->format;
    case P_MODE:
        return &p->mode;
    case P_WIDTH:
        return &p->width_mm;
    case P_HEIGHT:
        return &p->height_mm;
    case P_DEPTH:
        return &p->depth_mm;
    case P_BASE:
        return &p->base_mm;
    case P_BACKGROUND:
        return &p->background;
    case P_DETAIL:
        return &p->detail;
    case P_DEPTH_SOURCE:
        return &p->depth_source;
    case P_PRECISION:
        return &p->precision;
    case P_TARGET:
        return &p->target_triangles;
    case P_TEXTURE:
        return &p->texture;
    default:
        return NULL;
    }
}

static int fail(char *err, size_t err_size, const char *fmt, const char *a, const char *b)
{
    if (err && err_size) snprintf(err, err_size, fmt, a, b);
    return ORFEAS_EINVAL;
}

int orfeas_params_set(orfeas_params *p, const char *name, const char *value, char *err,
                      size_t err_size)
{
    const orfeas_param_desc *d = orfeas_params_find(name);
    if (!d) return fail(err, err_size, "unknown parameter '%s'%s", name, "");
    if (!value || !*value) return fail(err, err_size, "%s: empty value%s", d->name, "");
    void *field = field_of(p, (int)(d - table));
    if (d->type == ORFEAS_PARAM_ENUM) {
        for (int i = 0; d->values[i]; i++)
            if (strcasecmp(d->values[i], value) == 0) {
                *(int *)field = i;
                return 0;
            }
        return fail(err, err_size, "%s: unknown value '%s'", d->name, value);
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end != '\0' || !isfinite(v))
        return fail(err, err_size, "%s: '%s' is not a number", d->name, value);
    if (v < d->min || v > d->max) {
        char range[64];
        snprintf(range, sizeof range, "%g..%g", d->min, d->max);
        return fail(err, err_size, "%s: out of range (%s)", d->name, range);
    }
    if (d->type == ORFEAS_PARAM_INT) {
        if (v != floor(v)) return fail(err, err_size, "%s: '%s' is not an integer", d->name, value);
        if (field == &p->target_triangles)
            *(uint32_t *)field = (uint32_t)v;
        else
            *(int *)field = (int)v;
    } else {
        *(double *)field = v;
    }
    return 0;
}

int orfeas_params_validate(const orfeas_params *p, char *err, size_t err_size)
{
    if (p->target_triangles != 0 && p->target_triangles < 1000)
        return fail(err, err_size, "target_triangles: at least 1000 (or 0)%s%s", "", "");
    if (p->height_mm != 0 && p->height_mm < 1)
        return fail(err, err_size, "height_mm: at least 1 (or 0)%s%s", "", "");
    if (p->depth_mm != 0 && p->depth_mm < 0.5)
        return fail(err, err_size, "depth_mm: at least 0.5 (or 0)%s%s", "", "");
    double depth = p->depth_mm != 0 ? p->depth_mm : p->mode == ORFEAS_MODE_LITHOPHANE ? 3 : 20;
    if (p->mode != ORFEAS_MODE_INFLATE && p->base_mm >= depth)
        return fail(err, err_size, "base_mm: must be below depth_mm%s%s", "", "");
    return 0;
}

int orfeas_params_canonical(const orfeas_params *p, char *out, size_t out_size)
{
    orfeas_params copy = *p;
    size_t used = 0;
    for (int i = 0; i < P_COUNT; i++) {
        const orfeas_param_desc *d = &table[i];
        void *field = field_of(&copy, i);
        int n;
        if (d->type == ORFEAS_PARAM_ENUM)
            n = snprintf(out + used, out_size - used, "%s=%s;", d->name, d->values[*(int *)field]);
        else if (d->type == ORFEAS_PARAM_INT)
            n = snprintf(out + used, out_size - used, "%s=%lld;", d->name,
                         field == &copy.target_triangles ? (long long)copy.target_triangles
                                                         : (long long)*(int *)field);
        else
            n = snprintf(out + used, out_size - used, "%s=%.17g;", d->name, *(double *)field);
        if (n < 0 || (size_t)n >= out_size - used) return ORFEAS_EINVAL;
        used += (size_t)n;
    }
    return 0;
}

int orfeas_params_from_canonical(const char *text, orfeas_params *p)
{
    orfeas_params_init(p);
    char buf[1024];
    if (!text || strlen(text) >= sizeof buf) return ORFEAS_EINVAL;
    memcpy(buf, text, strlen(text) + 1);
    char *save = NULL;
    for (char *item = strtok_r(buf, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) return ORFEAS_EINVAL;
        *eq = '\0';
        char err[160];
        if (orfeas_params_set(p, item, eq + 1, err, sizeof err)) return ORFEAS_EINVAL;
    }
    return 0;
}
