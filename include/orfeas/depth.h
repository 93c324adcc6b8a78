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
 * size. ORFEAS_EINVAL for an aspect ratio beyond 128 x 128 patches. Goes
 * through the model's batcher when batching is set (see below). */
int orfeas_depth_infer_rgba(const orfeas_depth_model *m, const uint8_t *rgba, uint32_t width,
                            uint32_t height, size_t stride, float *out);
/* The network input size orfeas_depth_infer_rgba resizes an image to
 * (short side 518, both sides multiples of 14); ORFEAS_EINVAL beyond
 * 128 x 128 patches. */
int orfeas_depth_input_size(uint32_t width, uint32_t height, int *h, int *w);

/* ---- batches ---------------------------------------------------------- */

#define ORFEAS_DEPTH_MAX_BATCH 32

/* Runs `batch` (1..32) images, chw = [batch, 3, h, w], in one forward pass
 * into out = [batch, h, w]: the encoder's LayerNorms and elementwise steps
 * work on all the images' tokens at once and each linear's fp16/int8 weight
 * is expanded once; every GEMM, the attention and the DPT head run image by
 * image, so each image's result is bit-for-bit orfeas_depth_run's (the
 * determinism contract, docs/depth.md). */
int orfeas_depth_run_batch(const orfeas_depth_model *m, const float *chw, int batch, int h, int w,
                           float *out);

/* Batching of concurrent callers: once set, callers of
 * orfeas_depth_run_batched and orfeas_depth_infer_rgba whose network input
 * has the same h x w, arriving within `window_ms` of the first of them,
 * share one forward pass of up to `max_batch` (1..32; more is clamped)
 * images; a full group starts at once. max_batch 1 or window 0: every
 * call runs alone. Set it before the model is shared between threads; it
 * may be changed later (thread-safe). */
int orfeas_depth_set_batching(orfeas_depth_model *m, int max_batch, double window_ms);
int orfeas_depth_run_batched(const orfeas_depth_model *m, const float *chw, int h, int w,
                             float *out);
typedef struct orfeas_depth_batch_stats {
    uint64_t runs;    /* forward passes */
    uint64_t images;  /* images in them */
    uint32_t largest; /* the largest batch */
} orfeas_depth_batch_stats;
void orfeas_depth_batch_stats_get(const orfeas_depth_model *m, orfeas_depth_batch_stats *out);

/* ---- memory ----------------------------------------------------------- */

/* Bytes one forward pass of `batch` images of h x w allocates at most on
 * top of the resident weights (activations, scratch, and below fp32 the
 * convs' weights expanded for the pass), an upper bound by construction
 * (src/nn/depth_memory.c); 0 for an input the network does not take.
 * Sub-additive: a batch of B needs at most B times one image's. */
size_t orfeas_depth_activation_bytes(int h, int w, int batch, orfeas_depth_precision p);
/* Bytes orfeas_depth_infer_rgba holds at most for a width x height image:
 * the preprocessing's maps and one forward pass; 0 when it refuses it. */
size_t orfeas_depth_infer_bytes(uint32_t width, uint32_t height, orfeas_depth_precision p);

/* ---- the VRAM manager (include/orfeas/vram.h) -------------------------- */

struct orfeas_vram;
/* Reserves the weights (orfeas_depth_resident_bytes) as a resident
 * reservation named "depth-anything-v2-small:<precision>", held until
 * orfeas_depth_free. ORFEAS_EGPUOOM when they do not fit the budget now. */
int orfeas_depth_reserve_resident(orfeas_depth_model *m, struct orfeas_vram *vram);
/* Parses fp32, fp16, int8 or auto. auto: what the VRAM manager
 * recommends for its free memory (free > 10 GB fp32, > 6 GB fp16, else
 * int8), except on the cpu (or without a manager), where it is fp32. */
int orfeas_depth_precision_choose(const char *text, struct orfeas_vram *vram,
                                  orfeas_depth_precision *out);
/* What `serve` and `generate` do with --depth-model and --depth-precision:
 * chooses the precision (orfeas_depth_precision_choose), loads the
 * weights, and with a manager reserves them as resident. On failure a
 * message naming the flag in err. */
int orfeas_depth_load_on(const char *path, const char *precision, struct orfeas_vram *vram,
                         orfeas_depth_model **out, char *err, size_t err_size);
/* The manager's optimal batch size for this model (orfeas_vram_optimal_batch_size
 * with the weights as model size and a 518 x 518 pass as the sample),
 * 1..32; 1 without a manager. */
uint32_t orfeas_depth_batch_limit(const orfeas_depth_model *m, struct orfeas_vram *vram,
                                  uint32_t queue_depth);

#ifdef __cplusplus
}
#endif
#endif
