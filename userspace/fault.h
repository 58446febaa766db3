/* Fault injection for tests: named points that fail (or wait) on demand,
 * armed by the environment at the daemon's start and inert otherwise
 * (one load and branch where a point sits; never in XDP). Syntax and
 * points: docs/design.md "Fault injection (a test hook)". */
#ifndef XDPNS_FAULT_H
#define XDPNS_FAULT_H

enum fault_point {
	FAULT_PUBLISH, /* "mapsync.publish": a publish fails midway through
			* writing its entries (half written, undone) */
	FAULT_SAVE, /* "zone.save": a zone's save waits delay_ms (given up
		     * when cancelled) or, without delay_ms, fails */
	FAULT_POINTS
};

#define FAULT_ENV "XDPNS_FAULT"

extern int fault_armed;

/* Arm the points spec names: "POINT[:after=N][:count=M][:delay_ms=D]",
 * comma separated; NULL or "" disarms all. The first N hits of a point
 * go on, the next M (default: every later one) are hit. 0 or -EINVAL
 * (err says why). */
int fault_init(const char *spec, char *err, size_t errlen);

int fault_hit_slow(enum fault_point p, unsigned *delay_ms);

/* 1 when this pass through point p must fail (or, *delay_ms set, wait
 * that long first); 0 otherwise, always when nothing is armed. */
static inline int fault_hit(enum fault_point p, unsigned *delay_ms)
{
	*delay_ms = 0;
	if (__builtin_expect(!fault_armed, 1))
		return 0;
	return fault_hit_slow(p, delay_ms);
}

#endif
