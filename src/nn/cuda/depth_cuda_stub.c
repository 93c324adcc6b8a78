/* Builds without CUDA: the depth network's CUDA entry points exist and say
 * "not available", so callers link in both builds (the top CMakeLists.txt
 * compiles this file instead of the .cu files and depth_cuda_host.c). */
#include "nn/depth_cuda.h"

#include "orfeas/error.h"

#include <stdio.h>

int orfeas_nn_depth_cuda_available(char *why, size_t why_size)
{
    if (why && why_size) snprintf(why, why_size, "built without CUDA");
    return 0;
}

int orfeas_nn_depth_cuda_upload(const orfeas_depth_model *m, int ordinal, nn_depth_cuda **out)
{
    (void)m;
    (void)ordinal;
    *out = NULL;
    return ORFEAS_ENOTFOUND;
}

size_t orfeas_nn_depth_cuda_resident_bytes(const nn_depth_cuda *d)
{
    (void)d;
    return 0;
}

orfeas_depth_precision orfeas_nn_depth_cuda_precision(const nn_depth_cuda *d)
{
    (void)d;
    return ORFEAS_DEPTH_FP32;
}

int orfeas_nn_depth_cuda_run(nn_depth_cuda *d, const float *chw, int h, int w, float *out)
{
    (void)d;
    (void)chw;
    (void)h;
    (void)w;
    (void)out;
    return ORFEAS_ENOTFOUND;
}

size_t orfeas_nn_depth_cuda_last_run_bytes(const nn_depth_cuda *d)
{
    (void)d;
    return 0;
}

void orfeas_nn_depth_cuda_free(nn_depth_cuda *d)
{
    (void)d;
}
