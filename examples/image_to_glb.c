/* image_to_glb — an image in, a GLB out, through liborfeas alone.
 *
 *   image_to_glb IMAGE OUT.glb [name=value ...]
 *
 * IMAGE is a PNG, JPEG or WebP file; each name=value sets one generation
 * parameter by its field name (quality=6, mode=relief, width_mm=80: the
 * table in include/orfeas/params.h, `orfeas generate --help` lists them).
 * The GLB is byte for byte what `orfeas generate IMAGE -o OUT.glb
 * --device cpu` writes with the same parameters.
 *
 * It uses only the public headers (include/orfeas/) and links only
 * liborfeas, the engine: no HTTP server, database or Redis. In the default
 * build it is build/examples/image_to_glb. Out of the tree, against a
 * build without CUDA (-DORFEAS_CUDA=OFF):
 *
 *   cc -std=c17 -O2 -I include examples/image_to_glb.c build/liborfeas.a \
 *      $(pkg-config --libs spng libjpeg libwebp libexif libcjson openblas) \
 *      -lmeshoptimizer -lstdc++ -lpthread -lm -o image_to_glb
 *
 * (with CUDA add -L/usr/local/cuda/lib64 -lcudart_static -ldl -lrt). */
#include "orfeas/orfeas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT_BYTES (256u << 20)

static int fail(const char *what, const char *path, int err)
{
    fprintf(stderr, "image_to_glb: %s '%s': %s (%s)\n", what, path, orfeas_strerror(err),
            orfeas_error_code(err));
    return orfeas_error_exit_status(err);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: image_to_glb IMAGE OUT.glb [name=value ...]\n");
        return 2;
    }
    const char *image_path = argv[1], *out_path = argv[2];
    orfeas_log_set_level(ORFEAS_LOG_WARN);

    /* The parameters: the defaults, then name=value pairs. */
    orfeas_params params;
    orfeas_params_init(&params);
    char err_text[256];
    for (int i = 3; i < argc; i++) {
        char name[64];
        const char *eq = strchr(argv[i], '=');
        if (!eq || (size_t)(eq - argv[i]) >= sizeof name) {
            fprintf(stderr, "image_to_glb: '%s' is not name=value\n", argv[i]);
            return 2;
        }
        memcpy(name, argv[i], (size_t)(eq - argv[i]));
        name[eq - argv[i]] = '\0';
        if (orfeas_params_set(&params, name, eq + 1, err_text, sizeof err_text)) {
            fprintf(stderr, "image_to_glb: %s\n", err_text);
            return 2;
        }
    }
    if (orfeas_params_validate(&params, err_text, sizeof err_text)) {
        fprintf(stderr, "image_to_glb: %s\n", err_text);
        return 2;
    }

    /* Decode: the file's bytes, and its header for the summary (the engine
     * decodes the pixels itself, under the same limits). */
    uint8_t *bytes = NULL;
    size_t size = 0;
    int err = orfeas_read_file(image_path, MAX_INPUT_BYTES, &bytes, &size);
    if (err) return fail("reading", image_path, err);
    orfeas_decode_limits limits = {.max_pixels = ORFEAS_DEFAULT_MAX_PIXELS};
    orfeas_image_info info;
    err = orfeas_image_probe(bytes, size, &limits, &info);
    if (err) {
        free(bytes);
        return fail("decoding", image_path, err);
    }

    /* Generate: on the host (no device, cpu kernels). */
    orfeas_input input = {.image = bytes, .image_size = size};
    orfeas_generate_options options = {.limits = limits};
    orfeas_mesh mesh;
    orfeas_generate_stats stats;
    err = orfeas_generate(&input, &params, &options, &mesh, &stats);
    free(bytes);
    if (err) return fail("generating from", image_path, err);

    /* Export: GLB with the vertex colours unless texture=none. */
    orfeas_buffer glb = {0};
    err = orfeas_export(&mesh, ORFEAS_FORMAT_GLB, params.texture == ORFEAS_TEXTURE_VERTEX, &glb);
    if (!err) err = orfeas_write_file_atomic(out_path, glb.data, glb.size);
    if (err) {
        orfeas_buffer_free(&glb);
        orfeas_mesh_free(&mesh);
        return fail("writing", out_path, err);
    }
    printf("%s: %s %ux%u, mode %s: %u vertices, %u triangles -> %s (%zu bytes)\n", image_path,
           orfeas_image_format_name(info.format), info.width, info.height,
           orfeas_mode_name(stats.mode), mesh.vertex_count, mesh.triangle_count, out_path,
           glb.size);
    orfeas_buffer_free(&glb);
    orfeas_mesh_free(&mesh);
    return 0;
}
