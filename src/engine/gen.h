/* One generation's state, shared by the stage files. Everything a generation
 * allocates is released by orfeas_gen_release; its device-resident buffers go
 * through j->mem, so the VRAM manager's accounting is true. */
#ifndef ORFEAS_ENGINE_GEN_H
#define ORFEAS_ENGINE_GEN_H

#include "device/devmem.h"
#include "orfeas/engine.h"

/* A w*h plane of values in 0..1, stored at the generation's precision:
 * fp32 4 bytes, fp16 2 bytes, int8 1 byte (0..255) per pixel. */
typedef struct orfeas_plane {
    void *data; /* NULL: absent */
    orfeas_precision precision;
    size_t count;
} orfeas_plane;

typedef struct orfeas_gen {
    const orfeas_input *input;
    orfeas_params params;
    const orfeas_generate_options *opts;
    orfeas_generate_stats *stats;
    orfeas_devmem mem;       /* the device (and its VRAM manager), or host */
    orfeas_devmem plane_mem; /* where planes live: mem on host-memory devices */
    uint64_t mem_in_use, mem_peak;
    orfeas_precision precision; /* fp32, fp16 or int8 */
    double depth_mm;
    orfeas_image source;
    uint32_t w, h;      /* working grid */
    uint8_t *rgba;      /* w*h*4 */
    orfeas_plane mask;  /* soft foreground; absent = whole frame */
    orfeas_plane depth; /* brighter = nearer */
    uint8_t *cells;     /* (w-1)*(h-1) */
    float *front, *back;
    double stage_start;
} orfeas_gen;

/* Memory for the generation's planes and grids (device memory on host-memory
 * devices, host memory otherwise). */
int orfeas_gen_alloc(orfeas_gen *j, size_t bytes, void **ptr);
void orfeas_gen_free(orfeas_gen *j, void *ptr, size_t bytes);
/* Releases everything built on the working grid (not the source). */
void orfeas_gen_release_grid(orfeas_gen *j);

size_t orfeas_precision_bytes(orfeas_precision precision);
/* Stores count values (0..1) into a new plane at the generation's precision. */
int orfeas_plane_store(orfeas_gen *j, orfeas_plane *p, const float *values, size_t count);
void orfeas_plane_release(orfeas_gen *j, orfeas_plane *p);
float orfeas_plane_at(const orfeas_plane *p, size_t i);
/* A host float copy of the plane (malloc'd). */
int orfeas_plane_floats(const orfeas_plane *p, float **out);

const orfeas_decode_limits *orfeas_gen_limits(const orfeas_gen *j);
const atomic_int *orfeas_gen_cancel(const orfeas_gen *j);

/* Stages (stage_input.c, stage_shape.c). */
int orfeas_stage_decode(orfeas_gen *j);
int orfeas_stage_working_image(orfeas_gen *j);
int orfeas_stage_foreground(orfeas_gen *j);
int orfeas_stage_depth(orfeas_gen *j);
int orfeas_stage_heights(orfeas_gen *j);
int orfeas_stage_mesh(orfeas_gen *j, orfeas_mesh *mesh);

/* Device bytes the generation will hold at most on a w x h grid at a precision:
 * the planes (on host-memory devices) and the largest of the stages'
 * buffers: the kernels', or `depth_bytes` (orfeas_gen_depth_bytes) while the
 * depth model runs. */
uint64_t orfeas_gen_estimate(int host_memory_device, orfeas_precision precision, int has_mask,
                             uint32_t w, uint32_t h, uint64_t depth_bytes);
/* 1 when orfeas_stage_depth will run the depth model (depth_source model, or
 * auto without an uploaded depth image, and not a lithophane). */
int orfeas_gen_uses_depth_model(const orfeas_gen *j);
/* What the depth stage holds when it runs the model on the w x h grid:
 * orfeas_depth_infer_bytes at the model's precision and the float orfeas_plane
 * it returns; 0 when it does not run the model. */
uint64_t orfeas_gen_depth_bytes(const orfeas_gen *j);

#endif
