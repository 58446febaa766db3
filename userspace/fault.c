#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fault.h"
#include "log.h"

int fault_armed;

static const char *const point_names[FAULT_POINTS] = {
	[FAULT_PUBLISH] = "mapsync.publish",
	[FAULT_SAVE] = "zone.save",
};

static struct fault {
	int on;
	unsigned long after, count; /* count 0: no end */
	unsigned delay_ms;
	unsigned long hits; /* passes so far (atomic: any thread) */
} faults[FAULT_POINTS];

static int parse_num(const char *s, size_t n, unsigned long *v)
{
	char buf[24], *end;

	if (!n || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	*v = strtoul(buf, &end, 10);
	return *end || errno || buf[0] == '-' ? -EINVAL : 0;
}

/* One "POINT[:key=value]..." of length n. */
static int parse_one(const char *s, size_t n, char *err, size_t errlen)
{
	const char *end = s + n, *p = memchr(s, ':', n);
	size_t nl = p ? (size_t)(p - s) : n;
	struct fault f = { .on = 1 };
	int i;

	for (i = 0; i < FAULT_POINTS; i++)
		if (strlen(point_names[i]) == nl && !memcmp(point_names[i], s, nl))
			break;
	if (i == FAULT_POINTS) {
		snprintf(err, errlen, "unknown fault point \"%.*s\" (known: "
			 "mapsync.publish, zone.save)", (int)nl, s);
		return -EINVAL;
	}
	while (p && p < end) {
		const char *k = p + 1, *q = memchr(k, ':', end - k), *eq;
		size_t kl = (q ? q : end) - k;
		unsigned long v;

		eq = memchr(k, '=', kl);
		if (!eq || parse_num(eq + 1, k + kl - eq - 1, &v)) {
			snprintf(err, errlen, "fault %s: \"%.*s\" is not KEY=NUMBER",
				 point_names[i], (int)kl, k);
			return -EINVAL;
		}
		if (eq - k == 5 && !memcmp(k, "after", 5))
			f.after = v;
		else if (eq - k == 5 && !memcmp(k, "count", 5))
			f.count = v;
		else if (eq - k == 8 && !memcmp(k, "delay_ms", 8) && v <= 600000)
			f.delay_ms = v;
		else {
			snprintf(err, errlen, "fault %s: unknown or out-of-range "
				 "\"%.*s\" (after=N, count=N, delay_ms=N up to 600000)",
				 point_names[i], (int)kl, k);
			return -EINVAL;
		}
		p = q;
	}
	faults[i] = f;
	return 0;
}

int fault_init(const char *spec, char *err, size_t errlen)
{
	const char *s = spec;
	int r;

	memset(faults, 0, sizeof(faults));
	fault_armed = 0;
	if (!spec || !*spec)
		return 0;
	while (*s) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);

		r = parse_one(s, n, err, errlen);
		if (r) {
			memset(faults, 0, sizeof(faults));
			return r;
		}
		s += n + (c != NULL);
	}
	fault_armed = 1;
	log_warn_kv("fault injection armed (a test hook)", "spec=%s", spec);
	return 0;
}

int fault_hit_slow(enum fault_point p, unsigned *delay_ms)
{
	struct fault *f = &faults[p];
	unsigned long n;

	if (p >= FAULT_POINTS || !f->on)
		return 0;
	n = __atomic_fetch_add(&f->hits, 1, __ATOMIC_RELAXED);
	if (n < f->after || (f->count && n - f->after >= f->count))
		return 0;
	*delay_ms = f->delay_ms;
	log_warn_kv("fault injected", "point=%s hit=%lu delay_ms=%u",
		    point_names[p], n + 1, f->delay_ms);
	return 1;
}
