#include "orfeas/log.h"
#include "orfeas/error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static orfeas_log_fn handler_fn;
static void *handler_userdata;
static _Atomic int current_level = ORFEAS_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void orfeas_log_set_handler(orfeas_log_fn fn, void *userdata)
{
    pthread_mutex_lock(&handler_lock);
    handler_fn = fn;
    handler_userdata = userdata;
    pthread_mutex_unlock(&handler_lock);
}

void orfeas_log_set_level(orfeas_log_level level)
{
    atomic_store(&current_level, (int)level);
}

orfeas_log_level orfeas_log_get_level(void)
{
    return (orfeas_log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

const char *orfeas_log_level_name(orfeas_log_level level)
{
    if ((int)level < 0 || (int)level > ORFEAS_LOG_OFF) return "unknown";
    return level_names[level];
}

int orfeas_log_parse_level(const char *text, orfeas_log_level *out)
{
    for (int i = 0; i <= ORFEAS_LOG_OFF; i++) {
        if (text && strcmp(text, level_names[i]) == 0) {
            *out = (orfeas_log_level)i;
            return 0;
        }
    }
    return ORFEAS_EINVAL;
}

void orfeas_log_write(orfeas_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* The lock keeps handler and userdata consistent and serialises output. */
    pthread_mutex_lock(&handler_lock);
    if (handler_fn) handler_fn(handler_userdata, level, line);
    pthread_mutex_unlock(&handler_lock);
}
