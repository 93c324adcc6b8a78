/* The monitor thread: samples device memory every interval and logs when
 * usage passes 80 % (INFO) or 90 % (WARN), as the original did. It sleeps
 * on a condition variable so that destroy wakes it at once. */
#include "orfeas/error.h"
#include "orfeas/log.h"
#include "vram/vram_internal.h"

#include <errno.h>

static void monitor_check(orfeas_vram *v)
{
    uint64_t free_bytes = 0, total = 0;
    if (orfeas_device_memory(v->dev, &free_bytes, &total) || total == 0) return;
    if (free_bytes > total) free_bytes = total;
    double usage = (double)(total - free_bytes) / (double)total * 100.0;
    double available_gb = (double)free_bytes / 1e9;
    if (usage > 90.0)
        ORFEAS_WARN("GPU memory usage: %.1f%% (%.2f GB available)", usage, available_gb);
    else if (usage > 80.0)
        ORFEAS_INFO("GPU memory usage: %.1f%% (%.2f GB available)", usage, available_gb);
}

static void *monitor_main(void *arg)
{
    orfeas_vram *v = arg;
    pthread_mutex_lock(&v->lock);
    while (!v->monitor_stop) {
        /* The device is asked outside the lock. */
        pthread_mutex_unlock(&v->lock);
        monitor_check(v);
        pthread_mutex_lock(&v->lock);
        struct timespec until = orfeas_clock_deadline_ms(v->monitor_interval_s * 1e3);
        while (!v->monitor_stop) {
            if (pthread_cond_timedwait(&v->monitor_wake, &v->lock, &until) == ETIMEDOUT) break;
        }
    }
    pthread_mutex_unlock(&v->lock);
    return NULL;
}

int orfeas_vram_monitor_start(orfeas_vram *v)
{
    v->monitor_stop = 0;
    if (pthread_create(&v->monitor, NULL, monitor_main, v) != 0) return ORFEAS_EINTERNAL;
    v->monitor_running = 1;
    return 0;
}

void orfeas_vram_monitor_stop(orfeas_vram *v)
{
    if (!v->monitor_running) return;
    pthread_mutex_lock(&v->lock);
    v->monitor_stop = 1;
    pthread_cond_signal(&v->monitor_wake);
    pthread_mutex_unlock(&v->lock);
    pthread_join(v->monitor, NULL);
    v->monitor_running = 0;
}
