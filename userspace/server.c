#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "clock.h"
#include "log.h"
#include "mapsync.h"
#include "rrl.h"
#include "server.h"
#include "tsig.h"

#define TCP_BUF (2 + 65535)

struct tcp_client {
	int fd;
	struct sockaddr_storage peer; /* for DNS cookies */
	uint64_t last_ms; /* last progress: a query completed or bytes sent */
	uint64_t msg_start_ms; /* first byte of the incomplete query, 0: none */
	size_t have; /* bytes in buf */
	uint8_t *buf;
	uint8_t *out; /* replies the socket did not take yet */
	size_t out_len, out_off;
	int writing; /* waiting for EPOLLOUT, not reading */
};

/* Replies queued for one client before it must read them; past this we
 * stop reading its queries (TCP backpressure), we never drop its data. */
#define TCP_OUT_MAX (256 * 1024)

struct server {
	struct mapsync *cache;
	struct rrl *rrl; /* NULL: RRL off */
	server_notify_fn notify; /* NOTIFY hook (issue 4) */
	void *notify_ctx;
	int epfd;
	int udp[CONFIG_MAX_LISTEN], tcp[CONFIG_MAX_LISTEN];
	struct config_listen addr[CONFIG_MAX_LISTEN]; /* of udp[i], tcp[i] */
	int n;
	struct tcp_client clients[SERVER_MAX_TCP];
	int n_clients;
	struct server_stats st;
	struct server_zone_stats zst[XDPNS_MAX_ZONES]; /* by zone slot */
	uint8_t out[TCP_BUF];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int open_sock(const struct config_listen *l, int type)
{
	int one = 1, fd, r;

	fd = socket(l->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) ||
	    (type == SOCK_STREAM && listen(fd, 128))) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int watch(int epfd, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int server_open(const struct config *cfg, int epfd, struct server **out)
{
	struct server *s = calloc(1, sizeof(*s));
	int i, r = 0;

	if (!s)
		return -ENOMEM;
	s->epfd = epfd;
	r = rrl_new(cfg, &s->rrl);
	if (r)
		goto fail;
	for (i = 0; i < cfg->n_listen; i++) {
		int u = open_sock(&cfg->listen[i], SOCK_DGRAM);
		int t = u >= 0 ? open_sock(&cfg->listen[i], SOCK_STREAM) : u;

		if (u < 0 || t < 0) {
			r = u < 0 ? u : t;
			if (u >= 0)
				close(u);
			log_err_kv("cannot listen", "address=%s reason=%s",
				   cfg->listen[i].text, strerror(-r));
			goto fail;
		}
		s->udp[s->n] = u;
		s->tcp[s->n] = t;
		s->addr[s->n] = cfg->listen[i];
		s->n++;
		if ((r = watch(epfd, u, EPOLLIN)) || (r = watch(epfd, t, EPOLLIN)))
			goto fail;
		log_info_kv("slow path listening", "address=%s proto=udp,tcp",
			    cfg->listen[i].text);
	}
	*out = s;
	return 0;
fail:
	server_close(s);
	return r;
}

static void client_drop(struct server *s, int i)
{
	close(s->clients[i].fd);
	free(s->clients[i].buf);
	free(s->clients[i].out);
	s->clients[i] = s->clients[--s->n_clients];
}

void server_close(struct server *s)
{
	int i;

	if (!s)
		return;
	while (s->n_clients)
		client_drop(s, s->n_clients - 1);
	for (i = 0; i < s->n; i++) {
		close(s->udp[i]);
		close(s->tcp[i]);
	}
	rrl_free(s->rrl);
	free(s);
}

static void count(struct server *s, const struct respond_info *info, size_t n)
{
	if (info->qzone && info->qzone->slot < XDPNS_MAX_ZONES) {
		struct server_zone_stats *z = &s->zst[info->qzone->slot];

		z->queries++;
		if (n && info->rcode >= 0 && info->rcode <= 16)
			z->rcode[info->rcode]++;
	}
	if (!n) {
		s->st.no_reply++;
		return;
	}
	s->st.responses++;
	if (info->truncated)
		s->st.truncated++;
	if (info->rcode >= 0 && info->rcode <= 16)
		s->st.rcode[info->rcode]++;
}

#define TSIG_ERR_BADKEY 17
#define RCODE_NOTAUTH 9

/* A query signed with TSIG: we hold no key for queries, so NOTAUTH with
 * an unsigned TSIG record carrying BADKEY (RFC 8945 5.2.1). */
static size_t tsig_refuse(const uint8_t *q, size_t n, uint8_t *out, size_t cap)
{
	size_t off = 12, len;
	int qd = 0;

	if (n < 12 || cap < 512 || (q[2] & 0x80))
		return 0; /* no header, or a response: nothing to say */
	if (((size_t)q[4] << 8 | q[5]) == 1) {
		while (off < n && q[off] && !(q[off] & 0xc0) && q[off] <= 63)
			off += q[off] + 1;
		if (off < n && q[off] == 0 && off + 5 <= n && off - 12 < 256) {
			off += 5;
			qd = 1;
		} else {
			off = 12;
		}
	}
	memcpy(out, q, 2);
	out[2] = 0x80 | (q[2] & 0x79); /* QR, opcode and RD as asked */
	out[3] = RCODE_NOTAUTH;
	memset(out + 4, 0, 8);
	out[5] = qd;
	memcpy(out + 12, q + 12, off - 12);
	len = off;
	if (tsig_append_error(out, &len, cap, q, n, time(NULL), TSIG_ERR_BADKEY))
		return 0;
	return len;
}

/* The slow path's answer to one query (NOTIFY excepted). */
static size_t answer_query(struct server *s, const struct engine *e,
			   const uint8_t *q, size_t n, const struct sockaddr *from,
			   uint8_t *out, size_t cap, int tcp,
			   struct respond_info *info)
{
	size_t r;

	if (n >= 12 && tsig_find(q, n) > 0) {
		memset(info, 0, sizeof(*info));
		r = tsig_refuse(q, n, out, cap);
		info->rcode = r ? RCODE_NOTAUTH : -1;
		count(s, info, r);
		return r;
	}
	r = engine_respond_from(e, q, n, from, out, cap, tcp, info);
	count(s, info, r);
	return r;
}

/* RRL on a UDP reply of len bytes in s->out: the length to send (len,
 * the slip's shorter one, or 0 to drop), counted per kind and action. */
static size_t server_rrl(struct server *s, const struct sockaddr *from,
			 const struct respond_info *info, size_t len)
{
	int kind, act;

	if (!s->rrl || !len || info->rcode < 0)
		return len;
	kind = rrl_response_kind(info->rcode,
				 info->answer && info->answer->referral);
	act = rrl_check(s->rrl, from, kind, now_ns());
	s->st.rrl[kind][act]++;
	if (act == XDPNS_RRL_DROP)
		return 0;
	if (act == XDPNS_RRL_SLIP) {
		len = rrl_truncate(s->out, len);
		if (len)
			s->st.truncated++;
	}
	return len;
}

static void udp_read(struct server *s, const struct engine *e, int fd)
{
	uint8_t q[65536];
	int budget = 64;

	while (budget--) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		struct respond_info info;
		ssize_t n;
		size_t out, sent;

		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		s->st.udp_queries++;
		if (s->notify && n >= 12 && ((q[2] >> 3) & 0xf) == 4) {
			out = s->notify(s->notify_ctx, q, n, (struct sockaddr *)&from,
					s->out, sizeof(s->out));
			if (out)
				sendto(fd, s->out, out, 0, (struct sockaddr *)&from, flen);
			continue;
		}
		out = answer_query(s, e, q, n, (struct sockaddr *)&from, s->out,
				   sizeof(s->out), 0, &info);
		sent = server_rrl(s, (struct sockaddr *)&from, &info, out);
		if (sent)
			sendto(fd, s->out, sent, 0, (struct sockaddr *)&from, flen);
		/* the next identical query can be answered by XDP */
		if (out && s->cache && info.zone)
			mapsync_cache(s->cache, info.zone, info.qname,
				      info.qname_len, info.qtype, info.dnssec_ok,
				      info.answer);
	}
}

static void tcp_accept(struct server *s, int lfd)
{
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tcp_client *c;

		if (fd < 0)
			return;
		if (s->n_clients >= SERVER_MAX_TCP) {
			s->st.tcp_refused++;
			close(fd);
			continue;
		}
		c = &s->clients[s->n_clients];
		memset(c, 0, sizeof(*c));
		c->buf = malloc(TCP_BUF);
		if (!c->buf || watch(s->epfd, fd, EPOLLIN)) {
			free(c->buf);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = peer;
		c->last_ms = mono_ms();
		s->n_clients++;
	}
}

/* Blocking-free best effort write of a whole reply; a client that cannot
 * take it is dropped. */
/* Queue a reply (with its length prefix) behind what is pending. */
static int tcp_queue(struct tcp_client *c, const uint8_t *p, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (!c->out) {
		c->out = malloc(TCP_OUT_MAX + TCP_BUF);
		if (!c->out)
			return -1;
	}
	if (c->out_off && c->out_len + n > TCP_OUT_MAX + TCP_BUF) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > TCP_OUT_MAX + TCP_BUF)
		return -1;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* Write what the socket takes. 0: all sent, 1: some left, -1: error. */
static int tcp_flush(struct tcp_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c->out_off += w;
		c->last_ms = mono_ms();
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static int tcp_has_query(const struct tcp_client *c);

/* Read more (unless replies are piling up), answer complete queries, write
 * what the socket takes; wait for EPOLLOUT while output is pending.
 * Returns -1 to drop the client, 1 when more queries wait, else 0. */
static int tcp_serve_once(struct server *s, const struct engine *e, int i,
			  int can_read)
{
	struct tcp_client *c = &s->clients[i];
	int r;

	if (can_read && !c->writing && c->have < TCP_BUF) {
		ssize_t n = recv(c->fd, c->buf + c->have, TCP_BUF - c->have, 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n > 0) {
			if (!c->have)
				c->msg_start_ms = mono_ms();
			c->have += n;
		}
	}
	while (c->out_len - c->out_off < TCP_OUT_MAX) { /* pipelined queries */
		struct respond_info info;
		size_t len, out;

		if (c->have < 2)
			break;
		len = (size_t)c->buf[0] << 8 | c->buf[1];
		if (len == 0) {
			tcp_flush(c); /* answers to earlier queries first */
			return -1;
		}
		if (c->have < 2 + len)
			break;
		s->st.tcp_queries++;
		if (s->notify && len >= 12 && ((c->buf[4] >> 3) & 0xf) == 4)
			out = s->notify(s->notify_ctx, c->buf + 2, len,
					(struct sockaddr *)&c->peer, s->out + 2,
					sizeof(s->out) - 2);
		else {
			out = answer_query(s, e, c->buf + 2, len,
					   (struct sockaddr *)&c->peer, s->out + 2,
					   sizeof(s->out) - 2, 1, &info);
		}
		if (out) {
			s->out[0] = out >> 8;
			s->out[1] = out & 0xff;
			if (tcp_queue(c, s->out, out + 2))
				return -1;
		}
		memmove(c->buf, c->buf + 2 + len, c->have - 2 - len);
		c->have -= 2 + len;
		c->last_ms = mono_ms();
		c->msg_start_ms = c->have ? c->last_ms : 0;
	}
	r = tcp_flush(c);
	if (r < 0)
		return -1;
	if (r != c->writing) {
		struct epoll_event ev = { .events = r ? EPOLLOUT : EPOLLIN,
					  .data.fd = c->fd };

		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev))
			return -1;
		c->writing = r;
	}
	return !r && tcp_has_query(c) ? 1 : 0;
}

static int tcp_has_query(const struct tcp_client *c)
{
	return c->have >= 2 && c->have >= 2 + ((size_t)c->buf[0] << 8 | c->buf[1]);
}

/* Serve until the client's complete queries are answered and written, or
 * the socket pushes back. */
static int tcp_serve(struct server *s, const struct engine *e, int i, int can_read)
{
	int r;

	while ((r = tcp_serve_once(s, e, i, can_read)) == 1)
		can_read = 0;
	return r;
}

int server_handle(struct server *s, const struct engine *e, int fd,
		  uint32_t events)
{
	int i;

	for (i = 0; i < s->n; i++) {
		if (fd == s->udp[i]) {
			udp_read(s, e, fd);
			return 1;
		}
		if (fd == s->tcp[i]) {
			tcp_accept(s, fd);
			return 1;
		}
	}
	for (i = 0; i < s->n_clients; i++)
		if (s->clients[i].fd == fd) {
			if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
				client_drop(s, i);
			else if (tcp_serve(s, e, i, !!(events & EPOLLIN)))
				client_drop(s, i);
			return 1;
		}
	return 0;
}

void server_tick(struct server *s)
{
	uint64_t now = mono_ms();
	int i;

	/* idle: no progress for the idle time; slow: a query not complete
	 * that long after its first byte (a client trickling bytes cannot
	 * hold a slot for ever) */
	for (i = s->n_clients - 1; i >= 0; i--) {
		const struct tcp_client *c = &s->clients[i];

		if (now - c->last_ms > SERVER_TCP_IDLE_MS ||
		    (c->msg_start_ms && now - c->msg_start_ms > SERVER_TCP_IDLE_MS))
			client_drop(s, i);
	}
}

void server_set_notify(struct server *s, server_notify_fn fn, void *ctx)
{
	s->notify = fn;
	s->notify_ctx = ctx;
}

void server_set_cache(struct server *s, struct mapsync *ms)
{
	s->cache = ms;
}

void server_get_stats(const struct server *s, struct server_stats *st)
{
	*st = s->st;
}

void server_get_zone_stats(const struct server *s, uint32_t slot,
			   struct server_zone_stats *st)
{
	if (slot < XDPNS_MAX_ZONES)
		*st = s->zst[slot];
	else
		memset(st, 0, sizeof(*st));
}

void server_reset_zone_stats(struct server *s, uint32_t slot)
{
	if (slot < XDPNS_MAX_ZONES)
		memset(&s->zst[slot], 0, sizeof(s->zst[slot]));
}

static int listen_find(const struct server *s, const struct config_listen *l)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->addr[i].addrlen == l->addrlen &&
		    !memcmp(&s->addr[i].addr, &l->addr, l->addrlen))
			return i;
	return -1;
}

int server_set_rrl(struct server *s, const struct config *cfg)
{
	struct rrl *r;
	int e = rrl_new(cfg, &r);

	if (e)
		return e;
	rrl_free(s->rrl);
	s->rrl = r;
	return 0;
}

int server_relisten(struct server *s, const struct config *cfg, char *err,
		    size_t errlen)
{
	int udp[CONFIG_MAX_LISTEN], tcp[CONFIG_MAX_LISTEN], i, k, r = 0;

	/* open every new address first: on failure nothing changes */
	for (i = 0; i < cfg->n_listen; i++) {
		udp[i] = tcp[i] = -1;
		k = listen_find(s, &cfg->listen[i]);
		if (k >= 0) {
			udp[i] = s->udp[k];
			tcp[i] = s->tcp[k];
			continue;
		}
		udp[i] = open_sock(&cfg->listen[i], SOCK_DGRAM);
		if (udp[i] >= 0)
			tcp[i] = open_sock(&cfg->listen[i], SOCK_STREAM);
		if (udp[i] < 0 || tcp[i] < 0) {
			r = udp[i] < 0 ? udp[i] : tcp[i];
			snprintf(err, errlen, "%s: %s", cfg->listen[i].text,
				 strerror(-r));
			break;
		}
		if ((r = watch(s->epfd, udp[i], EPOLLIN)) ||
		    (r = watch(s->epfd, tcp[i], EPOLLIN))) {
			snprintf(err, errlen, "%s: %s", cfg->listen[i].text,
				 strerror(-r));
			break;
		}
	}
	if (r) {
		for (k = 0; k <= i && k < cfg->n_listen; k++) {
			if (listen_find(s, &cfg->listen[k]) >= 0)
				continue; /* a running one */
			if (udp[k] >= 0)
				close(udp[k]);
			if (tcp[k] >= 0)
				close(tcp[k]);
		}
		return r;
	}
	/* then close those no longer listed (TCP clients stay connected) */
	for (k = 0; k < s->n; k++) {
		for (i = 0; i < cfg->n_listen; i++)
			if (udp[i] == s->udp[k])
				break;
		if (i < cfg->n_listen)
			continue;
		log_info_kv("slow path stops listening", "address=%s",
			    s->addr[k].text);
		close(s->udp[k]);
		close(s->tcp[k]);
	}
	for (i = 0; i < cfg->n_listen; i++) {
		if (listen_find(s, &cfg->listen[i]) < 0)
			log_info_kv("slow path listening", "address=%s proto=udp,tcp",
				    cfg->listen[i].text);
	}
	for (i = 0; i < cfg->n_listen; i++) {
		s->udp[i] = udp[i];
		s->tcp[i] = tcp[i];
		s->addr[i] = cfg->listen[i];
	}
	s->n = cfg->n_listen;
	return 0;
}
