/* Internals of the depth network shared with the tests: the forward pass
 * with a hook that sees every intermediate the golden files hold, the
 * batched forward pass and the batcher behind orfeas_depth_infer_rgba. */
#ifndef ORFEAS_NN_DEPTH_INTERNAL_H
#define ORFEAS_NN_DEPTH_INTERNAL_H

#include "orfeas/depth.h"

#include <stddef.h>

/* Images per forward pass at most (the VRAM manager's batch formula caps
 * at 32 too). */
#define NN_MAX_BATCH ORFEAS_DEPTH_MAX_BATCH

/* Called with "tokens0", "posembed", "feat0".."feat3" ([1+N, 384]),
 * "rn1".."rn4", "path1".."path4" ([64, h, w]) and "prerelu" ([H, W]).
 * With a batch, the encoder's taps show image 0 and the head's come once
 * per image. */
typedef void (*nn_depth_tap_fn)(void *userdata, const char *name, const float *data, size_t n);

int orfeas_nn_depth_forward(const orfeas_depth_model *m, const float *chw, int h, int w, float *out,
                            nn_depth_tap_fn tap, void *userdata);
/* `batch` images chw[i] ([3, h, w]) -> out[i] ([h, w]) in one pass: the
 * encoder's LayerNorms, linears and elementwise steps on [batch * tokens,
 * 384] at once, the attention and the DPT head image by image. Each
 * out[i] is bit-for-bit what orfeas_nn_depth_forward gives for chw[i] alone. */
int orfeas_nn_depth_forward_batch(const orfeas_depth_model *m, const float *const *chw, int batch,
                                  int h, int w, float *const *out, nn_depth_tap_fn tap,
                                  void *userdata);
/* 0 when h x w is an input the network takes, else ORFEAS_EINVAL. */
int orfeas_nn_depth_check_size(int h, int w);

/* The batcher (depth_batch.c), owned by the model once batching is set. */
typedef struct nn_depth_batcher nn_depth_batcher;
void orfeas_nn_depth_batcher_destroy(nn_depth_batcher *b);
/* orfeas_depth_run through the model's batcher (alone without one). */
int orfeas_nn_depth_run_shared(const orfeas_depth_model *m, const float *chw, int h, int w,
                               float *out);

#endif
