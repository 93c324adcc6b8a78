/* orfeas — logging. The library never writes to stdout/stderr itself: it
 * hands formatted lines to the handler the application installs. The macro
 * checks the level before formatting so disabled levels cost one load. */
#ifndef ORFEAS_LOG_H
#define ORFEAS_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum orfeas_log_level {
    ORFEAS_LOG_DEBUG = 0,
    ORFEAS_LOG_INFO = 1,
    ORFEAS_LOG_WARN = 2,
    ORFEAS_LOG_ERROR = 3,
    ORFEAS_LOG_OFF = 4
} orfeas_log_level;

typedef void (*orfeas_log_fn)(void *userdata, orfeas_log_level level, const char *message);

/* Installs the handler (NULL discards every line). Thread-safe. */
void orfeas_log_set_handler(orfeas_log_fn fn, void *userdata);
void orfeas_log_set_level(orfeas_log_level level);
orfeas_log_level orfeas_log_get_level(void);
const char *orfeas_log_level_name(orfeas_log_level level);
/* Parses "debug", "info", "warn", "error", "off"; returns 0 or ORFEAS_EINVAL. */
int orfeas_log_parse_level(const char *text, orfeas_log_level *out);

void orfeas_log_write(orfeas_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define ORFEAS_LOG(level, ...)                                                                     \
    do {                                                                                           \
        if ((level) >= orfeas_log_get_level()) orfeas_log_write((level), __VA_ARGS__);             \
    } while (0)
#define ORFEAS_DEBUG(...) ORFEAS_LOG(ORFEAS_LOG_DEBUG, __VA_ARGS__)
#define ORFEAS_INFO(...) ORFEAS_LOG(ORFEAS_LOG_INFO, __VA_ARGS__)
#define ORFEAS_WARN(...) ORFEAS_LOG(ORFEAS_LOG_WARN, __VA_ARGS__)
#define ORFEAS_ERROR(...) ORFEAS_LOG(ORFEAS_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
