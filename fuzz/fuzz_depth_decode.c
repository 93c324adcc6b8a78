/* Fuzzes image decoding to GREY16 (the path for uploaded depth maps) under a
 * 4 MP limit. */
#include "orfeas/image.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orfeas_decode_limits limits = {.max_pixels = 4u * 1000u * 1000u};
    orfeas_image img;
    int rc = orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_GREY16, &img);
    if (rc == 0) {
        if (!img.pixels || img.stride != (size_t)img.width * 2 ||
            (uint64_t)img.width * img.height > limits.max_pixels)
            abort();
        volatile uint8_t last = img.pixels[img.stride * img.height - 1];
        (void)last;
    } else if (img.pixels || img.width) {
        abort();
    }
    orfeas_image_free(&img);
    return 0;
}
