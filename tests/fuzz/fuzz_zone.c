/* libFuzzer: the zone loader. Any text either loads (and then answers
 * queries for its names without crashing) or is rejected with a message
 * that names the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzz_tmp.h"
#include "engine.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path;
	char err[1024];
	struct zone *z = NULL;
	int r;

	path = fuzz_tmp_write("zone", data, size);
	err[0] = 0;
	r = zone_load_file(path, "example.com", &z, err, sizeof(err));
	if (r) {
		if (!strstr(err, path))
			abort(); /* every error names the file */
		return 0;
	}
	{
		struct engine_zone ez = { .zone = z };
		static struct answer a;
		size_t i;

		for (i = 0; i <= z->mask; i++)
			if (z->nodes[i].name) {
				engine_answer(&ez, z->nodes[i].name, z->nodes[i].len, 1,
					      1, &a);
				engine_answer(&ez, z->nodes[i].name, z->nodes[i].len,
					      255, 0, &a);
			}
	}
	zone_free(z);
	return 0;
}
