/* libFuzzer: the slow path's answer to any bytes, UDP and TCP limits. A
 * reply must parse as DNS, keep the query's ID and fit the limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ldns/ldns.h>
#include "engine.h"
#include "zone.h"

static struct engine eng;
static struct engine_zone ez;

static void setup(void)
{
	char err[512];
	const char *zf = getenv("XDPNS_FUZZ_ZONE");

	if (zone_load_file(zf ? zf : "examples/example.com.zone", "example.com",
			   &ez.zone, err, sizeof(err)))
		abort();
	eng.zones = &ez;
	eng.n_zones = 1;
	engine_setup_identity(&eng, "fuzz");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65535];
	struct respond_info info;
	int tcp;

	if (!eng.zones)
		setup();
	for (tcp = 0; tcp < 2; tcp++) {
		size_t n = engine_respond(&eng, data, size, out, sizeof(out), tcp,
					  &info);
		ldns_pkt *p = NULL;

		if (!n)
			continue;
		if (n < 12 || memcmp(out, data, 2) != 0)
			abort();
		if (!tcp && n > 1232)
			abort();
		if (ldns_wire2pkt(&p, out, n) != LDNS_STATUS_OK)
			abort();
		ldns_pkt_free(p);
	}
	return 0;
}
