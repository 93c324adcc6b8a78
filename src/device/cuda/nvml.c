/* NVML through dlopen: the binary must start where no NVIDIA driver (and so
 * no libnvidia-ml) is installed, and telemetry is a nicety, never a
 * requirement. Only the few types used are declared here, as in nvml.h. */
#include "device/cuda/cuda_backend.h"
#include "orfeas/error.h"
#include "orfeas/log.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

typedef int nvml_return;   /* nvmlReturn_t: 0 is NVML_SUCCESS */
typedef void *nvml_device; /* nvmlDevice_t */
typedef struct nvml_utilization {
    unsigned int gpu, memory;
} nvml_utilization;
enum { NVML_TEMPERATURE_GPU = 0 };

static struct {
    int ready;
    nvml_return (*init)(void);
    nvml_return (*by_pci)(const char *bus_id, nvml_device *dev);
    nvml_return (*by_index)(unsigned int index, nvml_device *dev);
    nvml_return (*utilization)(nvml_device dev, nvml_utilization *out);
    nvml_return (*temperature)(nvml_device dev, int sensor, unsigned int *out);
    nvml_return (*power)(nvml_device dev, unsigned int *milliwatts);
} nvml;

static pthread_once_t nvml_once = PTHREAD_ONCE_INIT;

/* Loaded once and kept for the life of the process (never nvmlShutdown):
 * several devices share it and telemetry may be asked for until exit. */
static void nvml_load(void)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        ORFEAS_DEBUG("nvml: not available (%s)", dlerror());
        return;
    }
    *(void **)&nvml.init = dlsym(lib, "nvmlInit_v2");
    *(void **)&nvml.by_pci = dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2");
    *(void **)&nvml.by_index = dlsym(lib, "nvmlDeviceGetHandleByIndex_v2");
    *(void **)&nvml.utilization = dlsym(lib, "nvmlDeviceGetUtilizationRates");
    *(void **)&nvml.temperature = dlsym(lib, "nvmlDeviceGetTemperature");
    *(void **)&nvml.power = dlsym(lib, "nvmlDeviceGetPowerUsage");
    if (!nvml.init || nvml.init() != 0) {
        ORFEAS_DEBUG("nvml: nvmlInit_v2 failed or missing");
        dlclose(lib);
        memset(&nvml, 0, sizeof nvml);
        return;
    }
    nvml.ready = 1;
}

void *orfeas_nvml_device(const char *pci_bus_id, int index)
{
    pthread_once(&nvml_once, nvml_load);
    if (!nvml.ready) return NULL;
    nvml_device dev = NULL;
    /* CUDA ordinals and NVML indices differ under CUDA_VISIBLE_DEVICES and
     * CUDA's fastest-first order; the PCI bus id names the same card. */
    if (pci_bus_id && nvml.by_pci && nvml.by_pci(pci_bus_id, &dev) == 0 && dev) return dev;
    dev = NULL;
    if (index >= 0 && nvml.by_index && nvml.by_index((unsigned)index, &dev) == 0 && dev) return dev;
    return NULL;
}

int orfeas_nvml_telemetry(void *handle, orfeas_device_telemetry *out)
{
    memset(out, 0, sizeof *out);
    if (!handle || !nvml.ready) return ORFEAS_ENOTFOUND;
    nvml_utilization u;
    if (nvml.utilization && nvml.utilization(handle, &u) == 0) {
        out->has_utilization = 1;
        out->gpu_utilization_pct = u.gpu;
        out->memory_utilization_pct = u.memory;
    }
    unsigned int t;
    if (nvml.temperature && nvml.temperature(handle, NVML_TEMPERATURE_GPU, &t) == 0) {
        out->has_temperature = 1;
        out->temperature_c = (int)t;
    }
    unsigned int mw;
    if (nvml.power && nvml.power(handle, &mw) == 0) {
        out->has_power = 1;
        out->power_w = mw / 1000.0;
    }
    return 0;
}
