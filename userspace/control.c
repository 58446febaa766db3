#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "control.h"

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int control_listen(const char *path)
{
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)];
	char *slash;
	int fd, r;
	mode_t old;

	r = fill_addr(&sa, path);
	if (r)
		return r;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755); /* /run/xdpns; fine if it exists */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a stale socket from a crashed daemon */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r || chmod(path, 0600) || listen(fd, 16)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int control_accept(int lfd, char *req, size_t size)
{
	struct pollfd p;
	size_t have = 0;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	p.fd = fd;
	p.events = POLLIN;
	while (have + 1 < size) {
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0)
			break;
		n = recv(fd, req + have, size - 1 - have, 0);
		if (n <= 0)
			break;
		have += n;
		if (memchr(req, '\n', have))
			break;
	}
	req[have] = 0;
	req[strcspn(req, "\r\n")] = 0;
	return fd;
}

int control_request(const char *path, const char *req, FILE *out, FILE *err)
{
	struct sockaddr_un sa;
	char buf[65536];
	int fd, r, first = 1, failed = 0;
	ssize_t n;

	r = fill_addr(&sa, path);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		close(fd);
		return r;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		char *p = buf;
		size_t len = n;

		if (first) {
			char *nl = memchr(buf, '\n', len);
			size_t hl = nl ? (size_t)(nl - buf) + 1 : len;

			first = 0;
			if (strncmp(buf, "ok\n", 3) != 0) {
				failed = 1;
				fwrite(buf, 1, len, err);
				continue;
			}
			p += hl;
			len -= hl;
		}
		fwrite(p, 1, len, failed ? err : out);
	}
	close(fd);
	if (first)
		return -EPROTO;
	return failed ? -EPROTO : 0;
}
