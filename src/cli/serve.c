/* orfeas serve: runs until SIGTERM or SIGINT, then drains and exits 0. */
#include "cli/cli.h"
#include "orfeas/orfeas.h"
#include "orfeas/server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

int cli_serve(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            orfeas_server_config_help(stdout);
            return 0;
        }
    orfeas_server_config config;
    orfeas_server_config_defaults(&config);
    char err[512];
    if (orfeas_server_config_parse(&config, argc, argv, err, sizeof err)) {
        fprintf(stderr, "orfeas serve: %s\n", err);
        return orfeas_error_exit_status(ORFEAS_EINVAL);
    }
    orfeas_log_level level;
    if (orfeas_log_parse_level(config.log_level, &level)) {
        fprintf(stderr, "orfeas serve: --log-level: unknown level '%s'\n", config.log_level);
        return orfeas_error_exit_status(ORFEAS_EINVAL);
    }
    if (strcmp(config.log_format, "text") != 0 && strcmp(config.log_format, "json") != 0) {
        fprintf(stderr, "orfeas serve: --log-format: text or json, not '%s'\n", config.log_format);
        return orfeas_error_exit_status(ORFEAS_EINVAL);
    }
    orfeas_log_set_level(level);
    cli_log_json(strcmp(config.log_format, "json") == 0);
    char blas[320];
    if (orfeas_blas_describe(blas, sizeof blas))
        ORFEAS_WARN("blas: %s", blas);
    else
        ORFEAS_INFO("blas: %s", blas);

    /* Signals are taken synchronously by this thread; every other thread
     * (MHD's, the workers) inherits the blocked mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    orfeas_server *server;
    int rc = orfeas_server_start(&config, &server, err, sizeof err);
    if (rc) {
        fprintf(stderr, "orfeas serve: %s\n", err);
        return orfeas_error_exit_status(rc);
    }
    /* Printed whatever the log level: scripts read the port from it. */
    fprintf(stderr, "orfeas %s listening on http://%s%s%s:%d/ (device %s)\n", ORFEAS_ENGINE_VERSION,
            strchr(config.host, ':') ? "[" : "", config.host, strchr(config.host, ':') ? "]" : "",
            orfeas_server_port(server), config.device);
    int sig = 0;
    sigwait(&stop, &sig);
    ORFEAS_INFO("%s: draining (grace %d s)", sig == SIGTERM ? "SIGTERM" : "SIGINT", config.grace_s);
    orfeas_server_stop(server);
    ORFEAS_INFO("stopped");
    return 0;
}
