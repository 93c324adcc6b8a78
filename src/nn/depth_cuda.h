/* Depth Anything V2 Small on a CUDA device: the forward pass of
 * depth_anything.c, op for op, with cuBLAS GEMMs (true fp32: TF32 off) and
 * the library's own kernels for the rest (src/nn/cuda/depth_cuda_*.cu).
 *
 * cuBLAS is opened with dlopen when a model is uploaded, never linked: the
 * binary starts (and every other function works) where there is no driver
 * and no CUDA toolkit. Builds without CUDA compile src/nn/cuda/depth_cuda_stub.c
 * instead, whose functions say "not available", so callers link either way.
 *
 * A handle holds the weights on one device at the host model's precision
 * (fp32 as float, fp16 as binary16, int8 as int8 + per-output-channel float
 * scales, exactly the host model's buffers) and runs one image at a time
 * (calls on one handle are serialised by a lock). fp16 and int8 weights are
 * expanded to float32 on the device per use, as the CPU does, so the three
 * precisions save device memory, not time, and match the CPU's results. */
#ifndef ORFEAS_NN_DEPTH_CUDA_H
#define ORFEAS_NN_DEPTH_CUDA_H

#include "orfeas/depth.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_depth_cuda nn_depth_cuda;

/* 1 when this build has CUDA, a device answers and cuBLAS can be opened;
 * else 0 with the reason in `why` (may be NULL): "built without CUDA",
 * "no CUDA driver: ...", "cuBLAS not found: ...". Cheap after the first call. */
int orfeas_nn_depth_cuda_available(char *why, size_t why_size);

/* Copies the weights of `m` to CUDA device `ordinal` and sets up a stream,
 * a memory pool and a cuBLAS handle. The host model may be freed afterwards.
 * 0; ORFEAS_ENOTFOUND when CUDA, the device or cuBLAS is not there (or the
 * build has no CUDA); ORFEAS_EGPUOOM when the weights do not fit;
 * ORFEAS_EINVAL for a NULL model; ORFEAS_ENOMEM/EINTERNAL otherwise. */
int orfeas_nn_depth_cuda_upload(const orfeas_depth_model *m, int ordinal, nn_depth_cuda **out);

/* Device bytes held by the weights (equal to orfeas_depth_resident_bytes of
 * the model uploaded); 0 for NULL. */
size_t orfeas_nn_depth_cuda_resident_bytes(const nn_depth_cuda *d);
orfeas_depth_precision orfeas_nn_depth_cuda_precision(const nn_depth_cuda *d);

/* Same contract as orfeas_depth_run: a normalised float32 CHW image [3, h, w]
 * in host memory (h, w multiples of 14, at most 128 x 128 patches) to the
 * relative depth [h, w] in host memory. ORFEAS_EINVAL for other sizes;
 * ORFEAS_EGPUOOM when the activations do not fit (nothing stays allocated:
 * the caller may retry at a lower precision); ORFEAS_EINTERNAL for any other
 * CUDA or cuBLAS failure (logged). */
int orfeas_nn_depth_cuda_run(nn_depth_cuda *d, const float *chw, int h, int w, float *out);

/* Bytes the run's activations took at most on the last successful run
 * (device pool high-water mark of that run); 0 before. */
size_t orfeas_nn_depth_cuda_last_run_bytes(const nn_depth_cuda *d);

void orfeas_nn_depth_cuda_free(nn_depth_cuda *d);

#ifdef __cplusplus
}
#endif
#endif
