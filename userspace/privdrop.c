#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "log.h"
#include "privdrop.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif

/* what a running daemon still needs: attach/detach (netlink), BPF
 * objects and maps, BPF stats, and CAP_SYS_ADMIN because libxdp looks
 * attached programs up by id (BPF_PROG_GET_FD_BY_ID) to detach them */
static const int kept[] = { CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON };

/* xdpns's own files in the storage directory: zones and timers */
static int ours(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && !strcmp(name + n - 5, ".zone")) ||
	       (n > 7 && !strcmp(name + n - 7, ".timers"));
}

static int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!strcmp(path, "/"))
		return -EPERM; /* never hand the root directory over */
	if (lchown(path, uid, gid))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return 0;
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char p[PATH_MAX];

		if (!ours(de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (lchown(p, uid, gid)) {
			int r = -errno;

			closedir(dir);
			return r;
		}
	}
	closedir(dir);
	return 0;
}

int privdrop_to(const char *user, const char *const *paths)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct passwd *pw = getpwnam(user);
	size_t i;
	int r;

	if (!pw) {
		log_err_kv("no such user", "key=server.user user=%s", user);
		return -ENOENT;
	}
	for (i = 0; paths && paths[i]; i++) {
		r = chown_tree(paths[i], pw->pw_uid, pw->pw_gid);
		if (r) {
			log_err_kv("cannot hand a path to the user", "path=%s user=%s "
				   "reason=%s", paths[i], user, strerror(-r));
			return r;
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(0, NULL) ||
	    setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		r = -errno;
		log_err_kv("cannot change user", "user=%s reason=%s", user,
			   strerror(-r));
		return r;
	}
	memset(data, 0, sizeof(data));
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		data[kept[i] / 32].effective |= 1u << (kept[i] % 32);
		data[kept[i] / 32].permitted |= 1u << (kept[i] % 32);
	}
	if (syscall(SYS_capset, &hdr, data)) {
		r = -errno;
		log_err_kv("cannot keep the XDP capabilities", "user=%s reason=%s",
			   user, strerror(-r));
		return r;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	log_info_kv("privileges dropped", "user=%s uid=%u caps=%s", user,
		    (unsigned)pw->pw_uid,
		    "CAP_NET_ADMIN,CAP_SYS_ADMIN,CAP_BPF,CAP_PERFMON");
	return 0;
}
