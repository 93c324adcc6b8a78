/* orfeas — Depth Anything V2 Small (DINOv2 ViT-S/14 encoder + DPT head) on
 * the CPU, from a Hugging Face `model.safetensors`
 * (depth-anything/Depth-Anything-V2-Small-hf naming). */
#ifndef ORFEAS_DEPTH_H
#define ORFEAS_DEPTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum orfeas_depth_precision {
    ORFEAS_DEPTH_FP32 = 0,
    /* Weights of 2+ dims stored as IEEE binary16 (biases and norms float32);
     * activations float32. */
    ORFEAS_DEPTH_FP16,
    /* Encoder linear weights int8, symmetric, one scale per output channel;
     * the other 2+ dim weights binary16 as in FP16. */
    ORFEAS_DEPTH_INT8,
} orfeas_depth_precision;

typedef struct orfeas_depth_model orfeas_depth_model;

/* Parses "fp32", "fp16" or "int8"; 0 or ORFEAS_EINVAL. */
int orfeas_depth_precision_parse(const char *text, orfeas_depth_precision *out);
const char *orfeas_depth_precision_name(orfeas_depth_precision p);

/* Loads the weights (F32/F16/BF16 tensors; every tensor of the model must be
 * present with its shape). A malformed file is ORFEAS_EINVAL. */
int orfeas_depth_load(const char *path, orfeas_depth_precision precision, orfeas_depth_model **out);
/* The seeded random weights of ../shared/testdata/depth_golden (seed 42 there). */
int orfeas_depth_load_random(uint64_t seed, orfeas_depth_precision precision,
                             orfeas_depth_model **out);
/* Writes the seeded random weights as an F32 safetensors file. */
int orfeas_depth_write_random(uint64_t seed, const char *path);
/* L1 magnitude pruning of the encoder's linear weights: zeroes the fraction
 * `sparsity` (0..1) of each layer's smallest |w|. Call before quantizing,
 * i.e. on an fp32 model. */
int orfeas_depth_prune(orfeas_depth_model *m, double sparsity);
/* Converts an fp32 model to `precision` (fp16 or int8 linear weights),
 * releasing the float32 copies. */
int orfeas_depth_convert(orfeas_depth_model *m, orfeas_depth_precision precision);
void orfeas_depth_free(orfeas_depth_model *m);
/* Bytes held by the weights at the model's precision. */
size_t orfeas_depth_resident_bytes(const orfeas_depth_model *m);
orfeas_depth_precision orfeas_depth_model_precision(const orfeas_depth_model *m);

/* Threads used by the GEMMs (OpenBLAS), process-wide. */
void orfeas_depth_set_threads(int threads);

/* Runs the network on a normalised float32 CHW image [3, h, w] (h and w
 * multiples of 14, at most 128 x 128 patches) and writes the relative depth
 * [h, w] (larger = nearer). ORFEAS_EINVAL for other sizes. */
int orfeas_depth_run(const orfeas_depth_model *m, const float *chw, int h, int w, float *out);

/* The official preprocessing and the network on an RGBA8 image: out gets
 * width*height floats of relative depth (larger = nearer) at the image's
 * size. ORFEAS_EINVAL for an aspect ratio beyond 128 x 128 patches. */
int orfeas_depth_infer_rgba(const orfeas_depth_model *m, const uint8_t *rgba, uint32_t width,
                            uint32_t height, size_t stride, float *out);

#ifdef __cplusplus
}
#endif
#endif
