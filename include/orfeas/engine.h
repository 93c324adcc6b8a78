/* orfeas — the generation pipeline: image bytes in, a closed mesh out.
 *
 *   decode -> working image -> foreground -> depth -> height fields
 *          -> watertight mesh (simplified to the budget) -> colours
 *
 * The same call serves the CLI, the server's sync and async routes. Every
 * stage reports progress and polls the cancel flag. Single-threaded and
 * deterministic: the same input and parameters give the same mesh. */
#ifndef ORFEAS_ENGINE_H
#define ORFEAS_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "orfeas/image.h"
#include "orfeas/mesh.h"
#include "orfeas/params.h"
#include "orfeas/vram.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORFEAS_ENGINE_VERSION "0.1.0"

typedef enum orfeas_stage {
    ORFEAS_STAGE_DECODE = 0,
    ORFEAS_STAGE_FOREGROUND,
    ORFEAS_STAGE_DEPTH,
    ORFEAS_STAGE_HEIGHTS,
    ORFEAS_STAGE_MESH,
    ORFEAS_STAGE_CHECK,
    ORFEAS_STAGE_COUNT_
} orfeas_stage;

const char *orfeas_stage_name(orfeas_stage stage);

/* percent is the overall progress 0..100. Return non-zero to cancel. */
typedef int (*orfeas_progress_fn)(void *userdata, orfeas_stage stage, double percent);

typedef struct orfeas_input {
    const uint8_t *image;
    size_t image_size;
    const uint8_t *mask; /* optional: white = object */
    size_t mask_size;
    const uint8_t *depth; /* optional: 8/16-bit grey, brighter = nearer */
    size_t depth_size;
} orfeas_input;

typedef struct orfeas_generate_options {
    orfeas_decode_limits limits;
    orfeas_progress_fn progress;
    void *progress_userdata;
    const atomic_int *cancel; /* optional: non-zero cancels */
    /* Optional: the device to run on, through its VRAM manager. The job
     * reserves its memory estimate before it starts (waiting, or dropping
     * precision, while the card is busy) and retries once one precision
     * lower after an out-of-memory. NULL: host memory, cpu kernels. */
    orfeas_vram *vram;
    int reserve_timeout_ms; /* < 0 or 0: wait as long as it takes */
    /* Optional: Depth Anything V2 (include/orfeas/depth.h), used for
     * depth_source=model, and for auto when no depth image is uploaded.
     * A job that runs it reserves its pass (orfeas_depth_infer_bytes) with
     * the rest; concurrent jobs share passes when the model batches. */
    const struct orfeas_depth_model *depth_model;
} orfeas_generate_options;

typedef struct orfeas_generate_stats {
    double stage_ms[ORFEAS_STAGE_COUNT_];
    double total_ms;
    uint32_t source_width, source_height;
    uint32_t work_width, work_height;
    orfeas_mode mode;              /* the mode actually used (auto resolved) */
    const char *foreground_source; /* "alpha", "mask", "segmentation", "none" */
    uint64_t full_triangles;       /* before simplification */
    double max_height_error_mm;    /* bound of the simplification */
    orfeas_mesh_report report;
    orfeas_precision precision;     /* the precision the job ran at */
    uint64_t device_estimate_bytes; /* what it reserved */
    uint64_t device_peak_bytes;     /* the most it held on the device */
    int oom_retries;                /* out-of-memory retries (0 or 1) */
    char error_detail[160];         /* on failure, what exactly went wrong (may be empty) */
} orfeas_generate_stats;

/* Runs the pipeline. On success *mesh holds the result (free with
 * orfeas_mesh_free). Errors: those of decoding, ORFEAS_EINVAL,
 * ORFEAS_ENOFOREGROUND (inflate asked for and nothing found),
 * ORFEAS_ECANCELLED, ORFEAS_ENOMEM, ORFEAS_EINTERNAL. */
int orfeas_generate(const orfeas_input *input, const orfeas_params *params,
                    const orfeas_generate_options *options, orfeas_mesh *mesh,
                    orfeas_generate_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
