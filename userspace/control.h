/* Control socket: a unix stream socket (0600). One request line per
 * connection ("status --json"), answered with "ok\n" or "error: ...\n"
 * followed by the payload, then closed. */
#ifndef XDPNS_CONTROL_H
#define XDPNS_CONTROL_H

#include <stddef.h>
#include <stdio.h>

#define CONTROL_DEFAULT_PATH "/run/xdpns/control.sock"
#define CONTROL_MAX_REQ 1024

int control_listen(const char *path);
/* Accept one client and read its request line into req. Returns the
 * client fd (the caller writes the reply and closes it) or -errno. */
int control_accept(int lfd, char *req, size_t size);
/* Client side: send req, copy the payload to out. Returns 0 when the
 * daemon said ok, -ECONNREFUSED/-ENOENT when no daemon, -EPROTO when it
 * answered an error (printed to err). */
int control_request(const char *path, const char *req, FILE *out, FILE *err);

#endif
