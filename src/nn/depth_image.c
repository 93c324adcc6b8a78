/* The official preprocessing around the network: an RGBA image resized
 * (bicubic) so that its short side is 518 and both sides are multiples of
 * 14 (orfeas_depth_input_size, depth_memory.c), normalised with the ImageNet mean and deviation,
 * run, and the depth resized back (bilinear, align_corners) to the image's size. */
#include "nn/depth_internal.h"
#include "nn/tensor.h"
#include "orfeas/depth.h"
#include "orfeas/error.h"

#include <math.h>
#include <string.h>

int orfeas_depth_infer_rgba(const orfeas_depth_model *m, const uint8_t *rgba, uint32_t width,
                            uint32_t height, size_t stride, float *out)
{
    int iw = (int)width, ih = (int)height, nh, nw;
    if (iw < 1 || ih < 1 || orfeas_depth_input_size(width, height, &nh, &nw)) return ORFEAS_EINVAL;
    nn_map rgb = {0}, rs = {0}, dmap = {0}, full = {0};
    int rc = orfeas_nn_map_alloc(&rgb, 3, ih, iw);
    if (!rc) {
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++)
                for (int c = 0; c < 3; c++)
                    rgb.d[((size_t)c * ih + y) * iw + x] =
                        rgba[(size_t)y * stride + (size_t)x * 4 + c] / 255.0f;
        rc = orfeas_nn_resize_bicubic(&rgb, nh, nw, &rs);
    }
    orfeas_nn_map_free(&rgb);
    if (!rc) {
        static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
        for (int c = 0; c < 3; c++)
            for (size_t i = 0; i < (size_t)nh * nw; i++)
                rs.d[(size_t)c * nh * nw + i] = (rs.d[(size_t)c * nh * nw + i] - mean[c]) / sd[c];
        rc = orfeas_nn_map_alloc(&dmap, 1, nh, nw);
    }
    /* Through the model's batcher: concurrent callers with the same input
     * size share one forward pass (alone when batching is off). */
    if (!rc) rc = orfeas_nn_depth_run_shared(m, rs.d, nh, nw, dmap.d);
    orfeas_nn_map_free(&rs);
    if (!rc) rc = orfeas_nn_resize_bilinear_ac(&dmap, ih, iw, &full);
    orfeas_nn_map_free(&dmap);
    if (!rc) memcpy(out, full.d, (size_t)ih * iw * sizeof *out);
    orfeas_nn_map_free(&full);
    return rc;
}
