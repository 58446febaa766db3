/* The input as a file (the loaders under test read files): one per
 * process, in /tmp, removed when the process exits normally (a crash
 * leaves it beside the artifact). */
#ifndef XDPNS_FUZZ_TMP_H
#define XDPNS_FUZZ_TMP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_tmp_path[64];

static void fuzz_tmp_remove(void)
{
	unlink(fuzz_tmp_path);
}

static const char *fuzz_tmp_write(const char *what, const uint8_t *data,
				  size_t size)
{
	FILE *f;

	if (!fuzz_tmp_path[0]) {
		snprintf(fuzz_tmp_path, sizeof(fuzz_tmp_path),
			 "/tmp/xdpns-fuzz-%s-%d", what, (int)getpid());
		atexit(fuzz_tmp_remove);
	}
	f = fopen(fuzz_tmp_path, "w");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	return fuzz_tmp_path;
}

#endif
