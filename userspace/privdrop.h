/* Dropping root after start (server.user): the daemon keeps only the
 * capabilities XDP attach/detach and BPF need; files it must write later
 * (control socket, storage) are handed to the user first. */
#ifndef XDPNS_PRIVDROP_H
#define XDPNS_PRIVDROP_H

/* Returns 0 or -errno (logged). paths: NULL-terminated, chowned first;
 * in a directory, xdpns's own *.zone and *.timers files too. */
int privdrop_to(const char *user, const char *const *paths);

#endif
