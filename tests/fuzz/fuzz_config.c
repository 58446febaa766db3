/* libFuzzer: the YAML config parser. Either a config or one error that
 * names the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	char err[CONFIG_ERR_LEN];
	struct config cfg;
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/xdpns-fuzz-config-%d", getpid());
	f = fopen(path, "w");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	memset(&cfg, 0, sizeof(cfg));
	err[0] = 0;
	if (config_load(path, &cfg, err, sizeof(err))) {
		if (!err[0])
			abort();
		return 0;
	}
	config_free(&cfg);
	return 0;
}
