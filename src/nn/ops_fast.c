/* The elementwise hot loops (softmax, GELU), built with -O3 -ffast-math
 * (tests/nn.cmake) so they vectorise, with glibc's vector expf/erff. Their
 * inputs are always finite; the error stays ~1e-7 relative, far inside the
 * golden tolerance. */
#include "nn/tensor.h"

#include <math.h>

void orfeas_nn_softmax_rows(float *s, int rows, int n)
{
    for (int r = 0; r < rows; r++) {
        float *x = s + (size_t)r * n, mx = x[0], sum = 0.0f;
        for (int j = 1; j < n; j++)
            mx = fmaxf(mx, x[j]);
        for (int j = 0; j < n; j++) {
            x[j] = expf(x[j] - mx);
            sum += x[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < n; j++)
            x[j] *= inv;
    }
}

void orfeas_nn_gelu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}
