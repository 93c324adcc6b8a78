/* Device specs, "auto" selection and the thin wrappers over the iface. */
#include "orfeas/device.h"
#include "orfeas/error.h"
#include "orfeas/log.h"

#include "device/device_internal.h"
#ifdef ORFEAS_HAVE_CUDA
#include "device/cuda/cuda_backend.h"
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *orfeas_device_kind_name(orfeas_device_kind kind)
{
    switch (kind) {
    case ORFEAS_DEVICE_CPU:
        return "cpu";
    case ORFEAS_DEVICE_CUDA:
        return "cuda";
    case ORFEAS_DEVICE_SIM:
        return "sim";
    }
    return "unknown";
}

const char *orfeas_device_backends(void)
{
#ifdef ORFEAS_HAVE_CUDA
    return "cpu,sim,cuda";
#else
    return "cpu,sim";
#endif
}

int orfeas_parse_size(const char *text, uint64_t *bytes)
{
    static const struct {
        const char *suffix;
        double scale;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"k", 1e3},
                 {"kb", 1e3},
                 {"m", 1e6},
                 {"mb", 1e6},
                 {"g", 1e9},
                 {"gb", 1e9},
                 {"t", 1e12},
                 {"tb", 1e12},
                 {"kib", 1024.0},
                 {"mib", 1048576.0},
                 {"gib", 1073741824.0},
                 {"tib", 1099511627776.0}};
    if (!text || !*text) return ORFEAS_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || !(v > 0) || !isfinite(v)) return ORFEAS_EINVAL;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            double b = v * units[i].scale;
            if (b >= 1.8e19 || b < 1) return ORFEAS_EINVAL;
            *bytes = (uint64_t)llround(b);
            return 0;
        }
    }
    return ORFEAS_EINVAL;
}

static void set_why(char *why, size_t why_size, const char *fmt, const char *arg)
{
    if (why && why_size) snprintf(why, why_size, fmt, arg);
}

/* "sim:<size>[,oom-after=N]" */
static int open_sim(const char *rest, orfeas_device **out, char *why, size_t why_size)
{
    char size_text[64];
    const char *comma = strchr(rest, ',');
    size_t len = comma ? (size_t)(comma - rest) : strlen(rest);
    if (len == 0 || len >= sizeof size_text) {
        set_why(why, why_size, "sim needs a size, e.g. sim:24GiB%s", "");
        return ORFEAS_EINVAL;
    }
    memcpy(size_text, rest, len);
    size_text[len] = '\0';
    uint64_t total = 0, oom_after = 0;
    if (orfeas_parse_size(size_text, &total)) {
        set_why(why, why_size, "sim: '%s' is not a size (e.g. 24GiB, 512MiB)", size_text);
        return ORFEAS_EINVAL;
    }
    if (comma) {
        const char *opt = comma + 1;
        char *end;
        if (strncmp(opt, "oom-after=", 10) != 0) {
            set_why(why, why_size, "sim: unknown option '%s' (oom-after=N)", opt);
            return ORFEAS_EINVAL;
        }
        errno = 0;
        unsigned long long n = strtoull(opt + 10, &end, 10);
        if (errno || *end || n == 0 || opt[10] == '-') {
            set_why(why, why_size, "sim: oom-after needs a positive count, got '%s'", opt + 10);
            return ORFEAS_EINVAL;
        }
        oom_after = n;
    }
    int err = orfeas_sim_device_open(total, oom_after, out);
    if (!err) snprintf((*out)->name, sizeof(*out)->name, "sim:%s", size_text);
    return err;
}

static int open_cuda(const char *rest, orfeas_device **out, char *why, size_t why_size)
{
    int ordinal = 0;
    if (rest) {
        char *end;
        errno = 0;
        long v = strtol(rest, &end, 10);
        if (errno || *end || end == rest || v < 0 || v > 1024) {
            set_why(why, why_size, "cuda: '%s' is not a device number", rest);
            return ORFEAS_EINVAL;
        }
        ordinal = (int)v;
    }
#ifdef ORFEAS_HAVE_CUDA
    return orfeas_cuda_device_open(ordinal, out, why, why_size);
#else
    (void)ordinal;
    (void)out;
    set_why(why, why_size, "the cuda backend is not compiled into this binary%s", "");
    return ORFEAS_ENOTFOUND;
#endif
}

int orfeas_device_open(const char *spec, orfeas_device **out, char *why, size_t why_size)
{
    *out = NULL;
    if (why && why_size) why[0] = '\0';
    if (!spec || !*spec || strcmp(spec, "auto") == 0) {
        char reason[256] = "";
        if (open_cuda(NULL, out, reason, sizeof reason) == 0) return 0;
        set_why(why, why_size, "no usable GPU (%s); using the cpu", reason);
        ORFEAS_INFO("device auto: no usable GPU (%s); using the cpu", reason);
        return orfeas_cpu_device_open(out);
    }
    if (strcmp(spec, "cpu") == 0) return orfeas_cpu_device_open(out);
    if (strcmp(spec, "cuda") == 0) return open_cuda(NULL, out, why, why_size);
    if (strncmp(spec, "cuda:", 5) == 0) return open_cuda(spec + 5, out, why, why_size);
    if (strncmp(spec, "sim:", 4) == 0) return open_sim(spec + 4, out, why, why_size);
    set_why(why, why_size, "unknown device '%s' (auto, cpu, cuda[:N], sim:<size>[,oom-after=N])",
            spec);
    return ORFEAS_EINVAL;
}

void orfeas_device_close(orfeas_device *dev)
{
    if (!dev) return;
    dev->iface->destroy(dev->ctx);
    free(dev);
}

int orfeas_device_memory(orfeas_device *dev, uint64_t *free_bytes, uint64_t *total_bytes)
{
    return dev->iface->memory(dev->ctx, free_bytes, total_bytes);
}

int orfeas_device_alloc(orfeas_device *dev, size_t bytes, void **ptr)
{
    return dev->iface->alloc(dev->ctx, bytes, ptr);
}

void orfeas_device_free(orfeas_device *dev, void *ptr)
{
    if (ptr) dev->iface->free(dev->ctx, ptr);
}

int orfeas_device_copy(orfeas_device *dev, void *dst, const void *src, size_t bytes,
                       orfeas_copy_kind kind)
{
    return dev->iface->copy(dev->ctx, dst, src, bytes, kind);
}

int orfeas_device_sync(orfeas_device *dev)
{
    return dev->iface->sync(dev->ctx);
}
