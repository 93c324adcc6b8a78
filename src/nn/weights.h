/* The tensor set of Depth Anything V2 Small in Hugging Face naming, and the
 * seeded generator of ../shared/testdata/depth_golden/README.md that fills it
 * with reproducible random weights (tests need no real weights). */
#ifndef ORFEAS_NN_WEIGHTS_H
#define ORFEAS_NN_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#define NN_DA_TENSORS 287
#define NN_DA_PARAMS 24785089u

typedef struct nn_tensor_spec {
    const char *name;
    int ndim;
    int64_t shape[4];
} nn_tensor_spec;

/* The 287 tensors in strcmp order of their names. */
extern const nn_tensor_spec orfeas_nn_da_specs[NN_DA_TENSORS];
size_t orfeas_nn_spec_numel(const nn_tensor_spec *s);
/* Index of `name` in orfeas_nn_da_specs, or -1. */
int orfeas_nn_da_spec_index(const char *name);

/* splitmix64, exactly as the README gives it. */
uint64_t orfeas_nn_splitmix64(uint64_t *state);
/* 2u - 1 with u the top 24 bits of the next draw: exact, in [-1, 1). */
double orfeas_nn_splitmix_signed(uint64_t *state);

/* Fills `dst` (NN_DA_PARAMS floats, tensors packed in table order) with the
 * README's weights for `seed` (42 for the golden files). */
void orfeas_nn_da_generate(uint64_t seed, float *dst);

#endif
