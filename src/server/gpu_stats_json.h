/* The body of GET /api/v1/gpu/stats and of `orfeas gpu-stats --json`. */
#ifndef ORFEAS_SERVER_GPU_STATS_JSON_H
#define ORFEAS_SERVER_GPU_STATS_JSON_H

#include <stdint.h>

#include "orfeas/vram.h"

/* The stats as one JSON object (malloc'd, the caller frees): timestamp, gpu
 * (backend, memory figures, precision, flags, resident reservations,
 * telemetry when known), queue_depth, recommended_precision,
 * optimal_batch_size, status. */
int orfeas_gpu_stats_json(orfeas_vram *vram, double model_size_gb, uint32_t queue_depth,
                          double sample_size_mb, char **json_out);

#endif
