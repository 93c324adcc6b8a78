/* Bit-exact weight generator: every value is computed in double and rounded
 * once to float, so contraction into FMAs would change the bits. */
/* Built with -ffp-contract=off (tests/nn.cmake). */

#include "nn/weights.h"

#include <math.h>
#include <string.h>

const nn_tensor_spec orfeas_nn_da_specs[NN_DA_TENSORS] = {
#include "nn/weights_table.inc"
};

size_t orfeas_nn_spec_numel(const nn_tensor_spec *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (size_t)s->shape[i];
    return n;
}

int orfeas_nn_da_spec_index(const char *name)
{
    int lo = 0, hi = NN_DA_TENSORS;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(orfeas_nn_da_specs[mid].name, name);
        if (c == 0) return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

uint64_t orfeas_nn_splitmix64(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double orfeas_nn_splitmix_signed(uint64_t *state)
{
    double u = (double)(orfeas_nn_splitmix64(state) >> 40) / 16777216.0;
    return 2.0 * u - 1.0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

void orfeas_nn_da_generate(uint64_t seed, float *dst)
{
    uint64_t st = seed;
    for (int ti = 0; ti < NN_DA_TENSORS; ti++) {
        const nn_tensor_spec *s = &orfeas_nn_da_specs[ti];
        const char *n = s->name;
        size_t numel = orfeas_nn_spec_numel(s);
        /* The README's rules, first match wins. */
        int kind; /* 0: s*scale, 1: 1+0.1s */
        double scale;
        int is_ln = strstr(n, ".norm1.") || strstr(n, ".norm2.") ||
                    strncmp(n, "backbone.layernorm.", 19) == 0;
        if (ends_with(n, ".cls_token") || ends_with(n, ".mask_token") ||
            ends_with(n, ".position_embeddings")) {
            kind = 0;
            scale = 1.0;
        } else if (ends_with(n, ".lambda1")) {
            kind = 0;
            scale = 0.5;
        } else if (is_ln && ends_with(n, ".weight")) {
            kind = 1;
            scale = 0.1;
        } else if (is_ln && ends_with(n, ".bias")) {
            kind = 0;
            scale = 0.1;
        } else if (s->ndim >= 2) {
            size_t fan_in = numel / (size_t)s->shape[0];
            double g = sqrt(3.0);
            if (ends_with(n, ".attention.attention.query.weight") ||
                ends_with(n, ".attention.attention.key.weight"))
                g = g * 1.5;
            kind = 0;
            scale = g / sqrt((double)fan_in);
        } else {
            kind = 0;
            scale = 0.1;
        }
        for (size_t i = 0; i < numel; i++) {
            double v = orfeas_nn_splitmix_signed(&st);
            dst[i] = kind ? (float)(1.0 + 0.1 * v) : (float)(v * scale);
        }
        dst += numel;
    }
}
