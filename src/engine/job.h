/* One generation's state, shared by the stage files. Everything a job
 * allocates is released by job_release; its device-resident buffers go
 * through job->mem, so the VRAM manager's accounting is true. */
#ifndef ORFEAS_ENGINE_JOB_H
#define ORFEAS_ENGINE_JOB_H

#include "device/devmem.h"
#include "orfeas/engine.h"

/* A w*h plane of values in 0..1, stored at the job's precision:
 * fp32 4 bytes, fp16 2 bytes, int8 1 byte (0..255) per pixel. */
typedef struct plane {
    void *data; /* NULL: absent */
    orfeas_precision precision;
    size_t count;
} plane;

typedef struct job {
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
    uint32_t w, h;  /* working grid */
    uint8_t *rgba;  /* w*h*4 */
    plane mask;     /* soft foreground; absent = whole frame */
    plane depth;    /* brighter = nearer */
    uint8_t *cells; /* (w-1)*(h-1) */
    float *front, *back;
    double stage_start;
} job;

/* Memory for the job's planes and grids (device memory on host-memory
 * devices, host memory otherwise). */
int job_alloc(job *j, size_t bytes, void **ptr);
void job_free(job *j, void *ptr, size_t bytes);
/* Releases everything built on the working grid (not the source). */
void job_release_grid(job *j);

size_t precision_bytes(orfeas_precision precision);
/* Stores count values (0..1) into a new plane at the job's precision. */
int plane_store(job *j, plane *p, const float *values, size_t count);
void plane_release(job *j, plane *p);
float plane_at(const plane *p, size_t i);
/* A host float copy of the plane (malloc'd). */
int plane_floats(const plane *p, float **out);

const orfeas_decode_limits *job_limits(const job *j);
const atomic_int *job_cancel(const job *j);

/* Stages (stage_input.c, stage_shape.c). */
int stage_decode(job *j);
int stage_working_image(job *j);
int stage_foreground(job *j);
int stage_depth(job *j);
int stage_heights(job *j);
int stage_mesh(job *j, orfeas_mesh *mesh);

/* Device bytes the job will hold at most on a w x h grid at a precision:
 * the planes (on host-memory devices) and the largest of the stages'
 * buffers: the kernels', or `depth_bytes` (job_depth_bytes) while the
 * depth model runs. */
uint64_t job_estimate(int host_memory_device, orfeas_precision precision, int has_mask, uint32_t w,
                      uint32_t h, uint64_t depth_bytes);
/* 1 when stage_depth will run the depth model (depth_source model, or
 * auto without an uploaded depth image, and not a lithophane). */
int job_uses_depth_model(const job *j);
/* What the depth stage holds when it runs the model on the w x h grid:
 * orfeas_depth_infer_bytes at the model's precision and the float plane
 * it returns; 0 when it does not run the model. */
uint64_t job_depth_bytes(const job *j);

#endif
