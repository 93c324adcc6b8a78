/* orfeas command line: one file per subcommand. */
#ifndef ORFEAS_CLI_H
#define ORFEAS_CLI_H

int cli_generate(int argc, char **argv);
int cli_version(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_gpu_stats(int argc, char **argv);
int cli_depth(int argc, char **argv);
/* Installs the stderr log handler used by every subcommand. */
void cli_log_to_stderr(void);
/* Log lines as JSON objects instead of text. */
void cli_log_json(int enabled);

#endif
