/* The monotonic clock in the units the daemon's timers and statistics use. */
#ifndef XDPNS_CLOCK_H
#define XDPNS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline uint64_t mono_ms(void)
{
	return mono_us() / 1000;
}

#endif
