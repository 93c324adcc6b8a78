/* Internals of the depth network shared with the tests: the forward pass
 * with a hook that sees every intermediate the golden files hold. */
#ifndef ORFEAS_NN_DEPTH_INTERNAL_H
#define ORFEAS_NN_DEPTH_INTERNAL_H

#include "orfeas/depth.h"

#include <stddef.h>

/* Called with "tokens0", "posembed", "feat0".."feat3" ([1+N, 384]),
 * "rn1".."rn4", "path1".."path4" ([64, h, w]) and "prerelu" ([H, W]). */
typedef void (*nn_depth_tap_fn)(void *userdata, const char *name, const float *data, size_t n);

int nn_depth_forward(const orfeas_depth_model *m, const float *chw, int h, int w, float *out,
                     nn_depth_tap_fn tap, void *userdata);

#endif
