/* The clocks, in one place: monotonic for durations and timed waits,
 * real time for timestamps. */
#ifndef ORFEAS_CORE_CLOCK_H
#define ORFEAS_CORE_CLOCK_H

#include <stddef.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
double orfeas_clock_mono_ms(void);
/* CLOCK_REALTIME in seconds since the epoch. */
double orfeas_clock_unix_s(void);
/* CLOCK_MONOTONIC now + ms, for pthread_cond_timedwait on a condition
 * variable set to the monotonic clock. */
struct timespec orfeas_clock_deadline_ms(double ms);
/* An absolute CLOCK_MONOTONIC time in ms (orfeas_clock_mono_ms's scale)
 * as a timespec for timed waits. */
struct timespec orfeas_clock_mono_at(double at_ms);
/* Now in UTC, "2026-12-04T18:02:49.123Z". */
void orfeas_clock_iso8601(char *buf, size_t size);

#endif
