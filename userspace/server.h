/* Slow path: UDP and TCP sockets on server.listen answering with the
 * engine. TCP takes pipelined queries, closes idle clients and caps them. */
#ifndef XDPNS_SERVER_H
#define XDPNS_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "config.h"
#include "engine.h"
#include "xdpns_maps.h"

#define SERVER_MAX_TCP 256
#define SERVER_TCP_IDLE_MS 10000

struct server_stats {
	uint64_t udp_queries, tcp_queries;
	uint64_t responses, truncated, no_reply, tcp_refused;
	uint64_t rcode[17]; /* 16 = BADVERS */
	/* UDP responses by RRL kind and action (rrl section; TCP is never
	 * limited) */
	uint64_t rrl[XDPNS_RRL_KINDS][XDPNS_RRL_ACTIONS];
};

/* Slow-path counters of one zone (by its XDP zone slot). */
struct server_zone_stats {
	uint64_t queries; /* queries that fell in the zone, UDP and TCP */
	uint64_t rcode[17];
};

struct server;

/* Bind every listen address; registers its fds with epfd. */
int server_open(const struct config *cfg, int epfd, struct server **out);
void server_close(struct server *s);
/* Response rate limiting from cfg's rrl section instead (buckets start
 * afresh); 0 or -errno, and then the old limits stay. */
int server_set_rrl(struct server *s, const struct config *cfg);

/* Listen on cfg's addresses instead: the new sockets are opened before
 * the old ones are closed, and when one cannot be opened nothing changes
 * (-errno, err says which). */
int server_relisten(struct server *s, const struct config *cfg, char *err,
		    size_t errlen);
/* Offer UDP answers to the XDP LRU through ms (NULL: don't). */
struct mapsync;
void server_set_cache(struct server *s, struct mapsync *ms);
/* NOTIFY (opcode 4) goes to fn instead of the engine: it writes the reply
 * into out and returns its length (0: no reply). */
typedef size_t (*server_notify_fn)(void *ctx, const uint8_t *q, size_t qlen,
				   const struct sockaddr *from, uint8_t *out,
				   size_t cap);
void server_set_notify(struct server *s, server_notify_fn fn, void *ctx);
/* An epoll event for one of our fds; returns 1 if it was ours. */
int server_handle(struct server *s, const struct engine *e, int fd,
		  uint32_t events);
/* Close idle TCP clients; call periodically. */
void server_tick(struct server *s);
void server_get_stats(const struct server *s, struct server_stats *st);
/* Per-zone counters of slot; reset when the slot goes to another zone. */
void server_get_zone_stats(const struct server *s, uint32_t slot,
			   struct server_zone_stats *st);
void server_reset_zone_stats(struct server *s, uint32_t slot);

#endif
