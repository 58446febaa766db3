/* Unit-test fixtures: run a group inside a fresh temporary directory and
 * write small files there. Include after cmocka.h. */
#ifndef XDPNS_UNIT_FS_H
#define XDPNS_UNIT_FS_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char unit_tmpdir[64];
static char unit_olddir[PATH_MAX];

/* Enters /tmp/xdpns-test-TAG.XXXXXX; 0 or -1 (cmocka group setup). */
static inline int unit_tmpdir_enter(const char *tag)
{
	snprintf(unit_tmpdir, sizeof(unit_tmpdir), "/tmp/xdpns-test-%s.XXXXXX", tag);
	if (!getcwd(unit_olddir, sizeof(unit_olddir)) || !mkdtemp(unit_tmpdir) ||
	    chdir(unit_tmpdir))
		return -1;
	return 0;
}

/* Leaves and removes the directory, which must be empty by now. */
static inline int unit_tmpdir_leave(void)
{
	if (chdir(unit_olddir) || rmdir(unit_tmpdir))
		return -1;
	return 0;
}

static inline void unit_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

#endif
