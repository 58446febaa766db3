/* libFuzzer: the YAML config parser. Either a config or one error that
 * names the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzz_tmp.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path;
	char err[CONFIG_ERR_LEN];
	struct config cfg;

	path = fuzz_tmp_write("config", data, size);
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
