/* Backend constructors behind orfeas_device_open. */
#ifndef ORFEAS_DEVICE_INTERNAL_H
#define ORFEAS_DEVICE_INTERNAL_H

#include "orfeas/device.h"

int orfeas_cpu_device_open(orfeas_device **out);
int orfeas_sim_device_open(uint64_t total_bytes, uint64_t oom_after, orfeas_device **out);

#endif
