/* The loaded depth model's layout, shared by the CPU forward pass
 * (depth_anything.c) and the device backends that upload its weights. */
#ifndef ORFEAS_NN_DEPTH_MODEL_H
#define ORFEAS_NN_DEPTH_MODEL_H

#include "nn/tensor.h"
#include "nn/weights.h"
#include "orfeas/depth.h"
#include "orfeas/vram.h"

#define NN_DIM 384
#define NN_HEADS 6
#define NN_HDIM 64
#define NN_MLP 1536
#define NN_LAYERS 12
#define NN_GRID 37 /* the position table is 37 x 37 (+ class) */
#define NN_FEAT 64

enum { L_Q, L_K, L_V, L_O, L_FC1, L_FC2, L_COUNT };

struct orfeas_depth_model {
    orfeas_depth_precision precision;
    float *blob; /* float32 tensors (all of them at fp32; the rest otherwise) */
    const float *t[NN_DA_TENSORS];
    nn_linear lin[NN_LAYERS][L_COUNT];
    void *qstore; /* int8 or fp16 linear weights + int8 scales */
    /* Below fp32, the other weights of 2+ dims (convs, embeddings) are kept
     * as fp16 and expanded for the duration of a run. */
    const uint16_t *half[NN_DA_TENSORS];
    uint16_t *hstore;
    size_t half_params;
    size_t bytes;
    /* Batching of concurrent callers (depth_batch.c), or NULL. */
    struct nn_depth_batcher *batcher;
    /* The weights' resident reservation (orfeas_depth_reserve_resident),
     * released by orfeas_depth_free; vram NULL without one. */
    orfeas_vram *vram;
    orfeas_vram_reservation resident;
    /* The weights on a CUDA device (nn/depth_cuda.h) when the model was
     * loaded for one: runs go there instead of the CPU. */
    struct nn_depth_cuda *cuda;
};

#endif
