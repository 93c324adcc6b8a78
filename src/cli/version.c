#include "cli/cli.h"
#include "orfeas/orfeas.h"

#include <stdio.h>

#include <jpeglib.h>
#include <spng.h>
#include <string.h>
#include <webp/decode.h>

int cli_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: orfeas version\n\nPrints the engine version and the libraries and "
               "compute backends compiled in.\n");
        return 0;
    }
    int webp = WebPGetDecoderVersion();
    printf("orfeas %s\n", ORFEAS_ENGINE_VERSION);
    printf("libraries: libspng %s, libjpeg %d, libwebp %d.%d.%d\n", spng_version_string(),
           JPEG_LIB_VERSION, webp >> 16, (webp >> 8) & 0xff, webp & 0xff);
    printf("backends: %s\n", orfeas_device_backends());
    char blas[320];
    orfeas_blas_describe(blas, sizeof blas);
    printf("blas: %s\n", blas);
    /* What "auto" would pick here, and why not a GPU when it does not. */
    orfeas_log_set_level(ORFEAS_LOG_WARN);
    orfeas_device *dev = NULL;
    char why[256] = "";
    if (orfeas_device_open("auto", &dev, why, sizeof why) == 0) {
        printf("device (auto): %s %s%s%s\n", orfeas_device_kind_name(dev->kind), dev->name,
               why[0] ? " - " : "", why);
        orfeas_device_close(dev);
    } else {
        printf("device (auto): none (%s)\n", why);
    }
    return 0;
}
