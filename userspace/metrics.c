#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "log.h"
#include "metrics.h"

int metrics_listen(const struct config_listen *l)
{
	int one = 1, fd, r;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) ||
	    listen(fd, 16)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLOUT };

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (poll(&pf, 1, 200) <= 0)
				return; /* a scraper that does not read: give up */
			continue;
		}
		if (w <= 0)
			return;
		p += w;
		n -= w;
	}
}

void metrics_handle(int lfd, metrics_write_fn fn, void *ctx)
{
	struct pollfd pf;
	char req[2048], head[256];
	size_t have = 0, len = 0;
	char *body = NULL;
	FILE *f;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pf.fd = fd;
	pf.events = POLLIN;
	/* the request line is all we need; wait briefly for it */
	while (have < sizeof(req) - 1 && !memchr(req, '\n', have)) {
		ssize_t n;

		if (poll(&pf, 1, 200) <= 0)
			break;
		n = recv(fd, req + have, sizeof(req) - 1 - have, 0);
		if (n <= 0)
			break;
		have += n;
	}
	req[have] = 0;
	if (strncmp(req, "GET /metrics ", 13) && strncmp(req, "GET /metrics?", 13)) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Type: "
					 "text/plain\r\nContent-Length: 25\r\n\r\n"
					 "try GET /metrics instead\n";

		send_all(fd, nf, sizeof(nf) - 1);
		close(fd);
		return;
	}
	f = open_memstream(&body, &len);
	if (f) {
		fn(ctx, f);
		fclose(f);
		snprintf(head, sizeof(head),
			 "HTTP/1.0 200 OK\r\nContent-Type: text/plain; "
			 "version=0.0.4; charset=utf-8\r\nContent-Length: %zu\r\n\r\n",
			 len);
		send_all(fd, head, strlen(head));
		send_all(fd, body, len);
		free(body);
	}
	close(fd);
}
