#include "cli/cli.h"
#include "core/clock.h"
#include "orfeas/orfeas.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_json;

void cli_log_json(int enabled)
{
    log_json = enabled;
}

static void stderr_log(void *userdata, orfeas_log_level level, const char *message)
{
    (void)userdata;
    char now[40];
    orfeas_clock_iso8601(now, sizeof now);
    if (log_json) {
        /* A message that is already a JSON object (access lines) is embedded. */
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",", now, orfeas_log_level_name(level));
        if (message[0] == '{') {
            fprintf(stderr, "\"data\":%s}\n", message);
        } else {
            fputs("\"msg\":\"", stderr);
            for (const char *c = message; *c; c++) {
                if (*c == '"' || *c == '\\') fputc('\\', stderr);
                if ((unsigned char)*c >= 0x20) fputc(*c, stderr);
            }
            fputs("\"}\n", stderr);
        }
        return;
    }
    fprintf(stderr, "%s %-5s %s\n", now, orfeas_log_level_name(level), message);
}

void cli_log_to_stderr(void)
{
    orfeas_log_set_handler(stderr_log, NULL);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: orfeas <command> [options]\n\n"
                 "commands:\n"
                 "  generate   turn an image into a closed 3D model (STL, OBJ, PLY, GLB)\n"
                 "  serve      run the HTTP API server (127.0.0.1:5000 by default)\n"
                 "  gpu-stats  device memory, recommended precision and batch size\n"
                 "  depth      Depth Anything V2 Small depth map (image or raw tensor)\n"
                 "  version    print the version and what was compiled in\n"
                 "  help       this text\n\n"
                 "'orfeas <command> --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    /* First: it may re-execute orfeas with OpenBLAS's right kernels. */
    orfeas_blas_select(argv);
    cli_log_to_stderr();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "generate") == 0) return cli_generate(argc - 1, argv + 1);
    if (strcmp(cmd, "gpu-stats") == 0) return cli_gpu_stats(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0) return cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "depth") == 0) return cli_depth(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
        return cli_version(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "orfeas: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
