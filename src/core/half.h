/* IEEE 754 binary16 conversions (round to nearest even), for fp16 storage
 * on compilers without _Float16. */
#ifndef ORFEAS_CORE_HALF_H
#define ORFEAS_CORE_HALF_H

#include <stdint.h>

uint16_t orfeas_f32_to_f16(float value);
float orfeas_f16_to_f32(uint16_t half);

#endif
