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
    printf("backends: cpu\n");
    printf("device: cpu (auto)\n");
    return 0;
}
