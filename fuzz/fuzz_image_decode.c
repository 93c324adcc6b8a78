/* Fuzzes image decoding (PNG/JPEG/WebP, sniffed) to RGBA8 under a 4 MP limit,
 * plus the header-only probe, which must agree on the dimensions. */
#include "orfeas/image.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    orfeas_decode_limits limits = {.max_pixels = 4u * 1000u * 1000u};
    orfeas_image_info info;
    int probed = orfeas_image_probe(data, size, &limits, &info);
    orfeas_image img;
    int rc = orfeas_image_decode(data, size, &limits, ORFEAS_PIXELS_RGBA8, &img);
    if (rc == 0) {
        /* A decodable image has a readable header with the same dimensions. */
        if (probed != 0 || info.width != img.width || info.height != img.height) abort();
        if (!img.pixels || img.stride != (size_t)img.width * 4) abort();
        /* Touch the last byte so a short buffer shows up under ASan. */
        volatile uint8_t last = img.pixels[img.stride * img.height - 1];
        (void)last;
    } else if (img.pixels || img.width) {
        abort(); /* on error *out must hold nothing */
    }
    orfeas_image_free(&img);
    return 0;
}
