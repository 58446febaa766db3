/*
 * BPF tests: the real XDP object loaded through the loader, maps filled by
 * the real map sync, crafted frames run with bpf_prog_test_run_opts.
 * Each case checks the verdict, the output bytes (against the engine's
 * slow-path reply and, for one case, literal bytes) and the counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "engine.h"
#include "loader.h"
#include "log.h"
#include "mapsync.h"
#include "zone.h"
#include "bpf/frames.h"

static struct loader ld;
static struct mapsync *ms;
static struct engine eng;
static struct engine_zone ez;
static char zone_path[] = "/tmp/xdpns-bpftest-XXXXXX";

#define LONG_LABEL "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll" /* 62 */
#define LABEL_50 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" /* 50 */

static const char *zone_text(int version)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf),
		 "$ORIGIN example.com.\n$TTL 3600\n"
		 "@ SOA ns1 hostmaster %d 3600 600 604800 300\n"
		 "@ NS ns1\n@ A 198.18.0.10\n"
		 "ns1 A 198.18.0.53\n"
		 "www A 198.18.0.%d\nwww AAAA fd00:5353::80\n"
		 "ftp CNAME www\n"
		 "big TXT \"%0200d\"\nbig TXT \"%0200d\"\nbig TXT \"%0200d\"\n"
		 "only1 A 198.18.0.1\n"
		 /* the in-place parser's limits (bpf/lib/dns.h): 7 labels and
		  * 64 bytes are its own, 8 labels and 65 bytes the copy's */
		 "b.c.d.e.f.example.com. A 198.18.0.7\n"
		 "a.b.c.d.e.f.example.com. A 198.18.0.8\n"
		 "%s.example.com. A 198.18.0.64\n"
		 "%sx.example.com. A 198.18.0.65\n"
		 /* (62+1) x3 + (52+1) + example.com (13) = 255 */
		 "%s.%s.%s.%s.example.com. A 198.18.0.255\n",
		 version, version == 1 ? 80 : 81, 1, 2, 3, LABEL_50, LABEL_50,
		 LONG_LABEL, LONG_LABEL,
		 LONG_LABEL, "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm");
	if (version != 1) {
		/* version 2: only1 is gone */
		char *p = strstr(buf, "only1 A 198.18.0.1\n");

		memmove(p, p + strlen("only1 A 198.18.0.1\n"),
			strlen(p + strlen("only1 A 198.18.0.1\n")) + 1);
	}
	return buf;
}

static int publish_version(int version)
{
	char err[512];
	struct zone *z = NULL;
	FILE *f = fopen(zone_path, "w");
	int r;

	if (!f)
		return -errno;
	fputs(zone_text(version), f);
	fclose(f);
	r = zone_load_file(zone_path, "example.com", &z, err, sizeof(err));
	if (r) {
		fprintf(stderr, "zone: %s\n", err);
		return r;
	}
	struct zone *old = ez.zone;

	ez.zone = z;
	r = mapsync_publish(ms, &eng, &ez);
	zone_free(old);
	return r;
}

static int setup(void **state)
{
	struct mapsync_fds fds;
	int fd, r;

	(void)state;
	log_set_level(LOG_LVL_WARN);
	fd = mkstemp(zone_path);
	if (fd < 0)
		return -1;
	close(fd);
	r = loader_open(&ld, 100);
	if (r) {
		fprintf(stderr, "FAIL: cannot load the XDP object (%s): these tests "
				"need root and BPF\n", strerror(-r));
		return -1;
	}
	loader_fds(&ld, &fds);
	if (mapsync_new(&fds, &ms))
		return -1;
	ez.slot = 0;
	eng.zones = &ez;
	eng.n_zones = 1;
	return publish_version(1) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	mapsync_free(ms);
	loader_close(&ld);
	zone_free(ez.zone);
	unlink(zone_path);
	return 0;
}

struct run {
	int verdict;
	uint8_t out[FR_MAX + 512];
	uint32_t out_len;
	uint64_t before[XDPNS_CNT_COUNT], after[XDPNS_CNT_COUNT];
};

static void run_frame(const uint8_t *f, size_t len, struct run *r)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint8_t in[FR_MAX];

	memcpy(in, f, len);
	opts.data_in = in;
	opts.data_size_in = len;
	opts.data_out = r->out;
	opts.data_size_out = sizeof(r->out);
	opts.repeat = 1;
	assert_int_equal(loader_counters(&ld, r->before), 0);
	assert_int_equal(bpf_prog_test_run_opts(loader_prog_fd(&ld), &opts), 0);
	assert_int_equal(loader_counters(&ld, r->after), 0);
	r->verdict = opts.retval;
	r->out_len = opts.data_size_out;
}

static uint64_t delta(const struct run *r, int idx)
{
	return r->after[idx] - r->before[idx];
}

/* Build a query frame; returns frame length, DNS part in dns/dlen. */
static size_t make_query(const char *name, const struct frame_opts *o,
			 uint8_t *frame, uint8_t *dns, size_t *dlen)
{
	uint8_t w[300];
	size_t wl = fr_name(w, name);

	*dlen = fr_dns(dns, w, wl, o);
	return fr_wrap(frame, dns, *dlen, o);
}

/* Expect XDP_TX with exactly the slow path's reply and swapped headers. */
static void expect_answer(const char *name, const struct frame_opts *o,
			  int rcode, int tc)
{
	uint8_t frame[FR_MAX], dns[FR_MAX], want[FR_MAX];
	size_t dlen, flen = make_query(name, o, frame, dns, &dlen);
	size_t l3 = 14 + (o->vlan ? 4 : 0), l4 = l3 + (o->ipv6 ? 40 : 20);
	struct respond_info info;
	size_t wlen;
	struct run r;

	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	wlen = engine_respond(&eng, dns, dlen, want, sizeof(want), 0, &info);
	assert_true(wlen > 0);
	assert_int_equal(info.rcode, rcode);
	assert_int_equal(info.truncated, tc);
	assert_int_equal(r.out_len, l4 + 8 + wlen);
	assert_memory_equal(r.out + l4 + 8, want, wlen);
	/* Ethernet, IP and ports swapped, VLAN tag kept */
	assert_memory_equal(r.out, fr_mac_cli, 6);
	assert_memory_equal(r.out + 6, fr_mac_srv, 6);
	assert_memory_equal(r.out + 12, frame + 12, l3 - 12);
	if (!o->ipv6) {
		assert_memory_equal(r.out + l3 + 12, frame + l3 + 16, 4);
		assert_memory_equal(r.out + l3 + 16, frame + l3 + 12, 4);
	} else {
		assert_memory_equal(r.out + l3 + 8, frame + l3 + 24, 16);
		assert_memory_equal(r.out + l3 + 24, frame + l3 + 8, 16);
	}
	assert_memory_equal(r.out + l4, frame + l4 + 2, 2);
	assert_memory_equal(r.out + l4 + 2, frame + l4, 2);
	assert_int_equal(fr_check_sums(r.out, r.out_len, o->ipv6, o->vlan), 0);
	assert_int_equal(delta(&r, XDPNS_CNT_RX), 1);
	assert_int_equal(delta(&r, XDPNS_CNT_ANSWERED), 1);
	assert_int_equal(delta(&r, XDPNS_CNT_TRUNCATED), tc);
	assert_int_equal(delta(&r, XDPNS_CNT_RCODE_BASE + rcode), 1);
}

/* Expect XDP_PASS with the frame untouched and one reason counted. */
static void expect_pass_frame(const uint8_t *frame, size_t flen, int reason)
{
	struct run r;

	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_PASS);
	assert_int_equal(r.out_len, flen);
	assert_memory_equal(r.out, frame, flen);
	assert_int_equal(delta(&r, XDPNS_CNT_RX), 1);
	assert_int_equal(delta(&r, XDPNS_CNT_ANSWERED), 0);
	assert_int_equal(delta(&r, XDPNS_CNT_PASS_BASE + reason), 1);
}

static void t_ipv4_a_literal(void **state)
{
	/* independent of the engine: the bytes a resolver must see */
	static const uint8_t want[] = {
		0xbe, 0xef, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 0, /* header, AA RD */
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
		'o', 'm', 0, 0, 1, 0, 1, /* question */
		0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 198, 18, 0, 80,
	};
	struct frame_opts o = { .qtype = 1, .id = 0xbeef, .flags = 0x0100 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen = make_query("www.example.com", &o, frame, dns, &dlen);
	struct run r;

	(void)state;
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(r.out_len, 14 + 20 + 8 + sizeof(want));
	assert_memory_equal(r.out + 42, want, sizeof(want));
	assert_int_equal(fr_check_sums(r.out, r.out_len, 0, 0), 0);
}

static void t_ipv4_noedns(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 1 };

	(void)state;
	expect_answer("www.example.com", &o, 0, 0);
}

static void t_ipv6_edns(void **state)
{
	struct frame_opts o = { .ipv6 = 1, .qtype = 28, .edns = 1,
				.udp_size = 4096, .id = 2 };

	(void)state;
	expect_answer("www.example.com", &o, 0, 0);
}

static void t_dnssec_ok(void **state)
{
	struct frame_opts o = { .qtype = 1, .edns = 1, .dnssec_ok = 1,
				.udp_size = 1232, .id = 3, .flags = 0x0110 };

	(void)state;
	expect_answer("ftp.example.com", &o, 0, 0);
}

static void t_vlan(void **state)
{
	struct frame_opts o4 = { .vlan = 1, .qtype = 1, .id = 4 };
	struct frame_opts o6 = { .vlan = 1, .ipv6 = 1, .qtype = 28, .edns = 1,
				 .udp_size = 1232, .id = 5 };

	(void)state;
	expect_answer("www.example.com", &o4, 0, 0);
	expect_answer("www.example.com", &o6, 0, 0);
}

static void t_mixed_case(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 6 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen = make_query("wWw.ExAmPlE.cOm", &o, frame, dns, &dlen);
	struct run r;

	(void)state;
	expect_answer("wWw.ExAmPlE.cOm", &o, 0, 0);
	run_frame(frame, flen, &r);
	/* the question keeps the client's case */
	assert_memory_equal(r.out + 42 + 12, dns + 12, 17);
}

/* Both sides of the in-place parser's limits answer exactly as the slow
 * path: label counts, name lengths, case, with and without EDNS, IPv4 and
 * IPv6 (the last name word runs past a message without OPT). */
static void t_parser_limits(void **state)
{
	static const char *names[] = {
		"b.c.d.e.f.example.com", "a.b.c.d.e.f.example.com",
		"B.c.D.e.F.eXample.COM", "A.b.C.d.E.f.Example.Com",
		LABEL_50 ".example.com", LABEL_50 "x.example.com",
		"NNNNNNNNNNnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn.EXAMPLE.com",
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnNX.example.COM",
	};
	unsigned int i, v;

	(void)state;
	{
		uint8_t w[300];

		assert_int_equal(fr_name(w, names[4]), 64);
		assert_int_equal(fr_name(w, names[5]), 65);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (v = 0; v < 4; v++) {
			struct frame_opts o = { .qtype = 1, .id = 100 + i * 4 + v,
						.ipv6 = v & 1, .edns = v >> 1,
						.udp_size = 1232 };

			expect_answer(names[i], &o, 0, 0);
		}
}

/* More than 272 bytes after the header: passed with the reason it always
 * had (the in-place parser would take the name, but not this message). */
static void t_long_message_passes(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 9 };
	uint8_t frame[FR_MAX], dns[FR_MAX], w[300];
	size_t wl = fr_name(w, "www.example.com"), dlen, flen;

	(void)state;
	dlen = fr_dns(dns, w, wl, &o);
	memset(dns + dlen, 0, 300);
	dlen += 300;
	flen = fr_wrap(frame, dns, dlen, &o);
	expect_pass_frame(frame, flen, XDPNS_PASS_QNAME);
	o.edns = 1;
	o.udp_size = 1232;
	dlen = fr_dns(dns, w, wl, &o);
	memset(dns + dlen, 0, 300);
	dlen += 300;
	flen = fr_wrap(frame, dns, dlen, &o);
	expect_pass_frame(frame, flen, XDPNS_PASS_EDNS);
}

static void t_name_255(void **state)
{
	char name[300];
	struct frame_opts o = { .qtype = 1, .edns = 1, .udp_size = 1232, .id = 7 };

	(void)state;
	snprintf(name, sizeof(name), "%s.%s.%s.%s.example.com", LONG_LABEL,
		 LONG_LABEL, LONG_LABEL,
		 "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM");
	{
		uint8_t w[300];

		assert_int_equal(fr_name(w, name), 255);
	}
	expect_answer(name, &o, 0, 0);
}

static void t_name_256_passes(void **state)
{
	char name[300];
	struct frame_opts o = { .qtype = 1, .id = 8 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen;

	(void)state;
	snprintf(name, sizeof(name), "%s.%s.%s.%s.example.com", LONG_LABEL,
		 LONG_LABEL, LONG_LABEL,
		 "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm");
	flen = make_query(name, &o, frame, dns, &dlen);
	assert_int_equal(dlen, 12 + 256 + 4);
	expect_pass_frame(frame, flen, XDPNS_PASS_QNAME);
}

static void t_truncated_reply(void **state)
{
	struct frame_opts o = { .qtype = 16, .id = 9 };
	struct frame_opts oe = { .qtype = 16, .id = 10, .edns = 1, .udp_size = 512 };
	struct frame_opts ob = { .qtype = 16, .id = 11, .edns = 1, .udp_size = 1232 };

	(void)state;
	expect_answer("big.example.com", &o, 0, 1);
	expect_answer("big.example.com", &oe, 0, 1);
	expect_answer("big.example.com", &ob, 0, 0);
}

static void t_negative_shapes(void **state)
{
	struct frame_opts o = { .qtype = 257, .id = 12 }; /* CAA at apex */
	struct frame_opts m = { .qtype = 1, .id = 13 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen;

	(void)state;
	expect_answer("example.com", &o, 0, 0); /* NODATA, compiled eagerly */
	flen = make_query("nope.example.com", &m, frame, dns, &dlen);
	expect_pass_frame(frame, flen, XDPNS_PASS_MISS);
}

static void t_every_truncation_passes(void **state)
{
	struct frame_opts o = { .qtype = 1, .edns = 1, .udp_size = 1232, .id = 14 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen = make_query("www.example.com", &o, frame, dns, &dlen);
	size_t cut;

	(void)state;
	for (cut = 0; cut < flen; cut++) {
		struct run r;

		if (cut < 14) /* the kernel refuses test frames under ETH_HLEN */
			continue;
		run_frame(frame, cut, &r);
		assert_int_equal(r.verdict, XDP_PASS);
		assert_int_equal(delta(&r, XDPNS_CNT_ANSWERED), 0);
		assert_int_equal(r.out_len, cut);
	}
}

static void t_bad_queries_pass(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 15 };
	uint8_t frame[FR_MAX], dns[FR_MAX], f2[FR_MAX];
	size_t dlen, flen = make_query("www.example.com", &o, frame, dns, &dlen);
	size_t l4 = 34, d = 42;

	(void)state;
	/* QDCOUNT 0 and 2 */
	memcpy(f2, frame, flen);
	f2[d + 5] = 0;
	expect_pass_frame(f2, flen, XDPNS_PASS_NOT_QUERY);
	f2[d + 5] = 2;
	expect_pass_frame(f2, flen, XDPNS_PASS_NOT_QUERY);
	/* QR=1 */
	memcpy(f2, frame, flen);
	f2[d + 2] |= 0x80;
	expect_pass_frame(f2, flen, XDPNS_PASS_NOT_QUERY);
	/* opcode NOTIFY (4) */
	memcpy(f2, frame, flen);
	f2[d + 2] = 4 << 3;
	expect_pass_frame(f2, flen, XDPNS_PASS_NOT_QUERY);
	/* a compression pointer as the question name */
	{
		uint8_t q[64] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				  0xc0, 0x0c, 0, 1, 0, 1 };
		size_t fl = fr_wrap(f2, q, 18, &o);

		expect_pass_frame(f2, fl, XDPNS_PASS_QNAME);
	}
	/* IPv4 fragment: MF set */
	memcpy(f2, frame, flen);
	f2[14 + 6] |= 0x20;
	expect_pass_frame(f2, flen, XDPNS_PASS_FRAGMENT);
	/* IPv4 options: IHL 6 */
	{
		uint8_t g[FR_MAX];

		memcpy(g, frame, 34);
		g[14] = 0x46;
		g[14 + 3] += 4;
		memset(g + 34, 1, 4); /* NOP options */
		memcpy(g + 38, frame + 34, flen - 34);
		expect_pass_frame(g, flen + 4, XDPNS_PASS_IP_OPTIONS);
	}
	/* not port 53 */
	memcpy(f2, frame, flen);
	f2[l4 + 3] = 54;
	expect_pass_frame(f2, flen, XDPNS_PASS_NOT_UDP53);
	/* class CH */
	{
		struct frame_opts c = { .qtype = 16, .qclass = 3, .id = 16 };

		flen = make_query("id.server", &c, f2, dns, &dlen);
		expect_pass_frame(f2, flen, XDPNS_PASS_QCLASS);
	}
	/* EDNS version 1 and EDNS options go to the slow path */
	{
		struct frame_opts e = { .qtype = 1, .edns = 1, .udp_size = 1232 };

		flen = make_query("www.example.com", &e, f2, dns, &dlen);
		f2[flen - 5] = 1; /* version */
		expect_pass_frame(f2, flen, XDPNS_PASS_EDNS);
	}
	/* ARP */
	memcpy(f2, frame, flen);
	f2[12] = 0x08;
	f2[13] = 0x06;
	expect_pass_frame(f2, flen, XDPNS_PASS_NOT_IP);
}

static void t_generation_flip(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 17 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen;
	uint32_t gen = mapsync_generation(ms, 0);
	struct run r;

	(void)state;
	flen = make_query("only1.example.com", &o, frame, dns, &dlen);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(publish_version(2), 0);
	assert_int_equal(mapsync_generation(ms, 0), gen + 1);
	/* www moved to .81; only1 is gone (a miss for XDP, NXDOMAIN later) */
	flen = make_query("www.example.com", &o, frame, dns, &dlen);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(r.out[r.out_len - 1], 81);
	flen = make_query("only1.example.com", &o, frame, dns, &dlen);
	expect_pass_frame(frame, flen, XDPNS_PASS_MISS);
	/* and back again: the other half of every entry is used */
	assert_int_equal(publish_version(1), 0);
	flen = make_query("www.example.com", &o, frame, dns, &dlen);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(r.out[r.out_len - 1], 80);
	expect_answer("only1.example.com", &o, 0, 0);
}

static void t_expired_zone_passes(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 18 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen = make_query("www.example.com", &o, frame, dns, &dlen);

	(void)state;
	assert_int_equal(mapsync_set_flags(ms, 0, XDPNS_ZONE_F_EXPIRED), 0);
	expect_pass_frame(frame, flen, XDPNS_PASS_ZONE_STATE);
	assert_int_equal(mapsync_set_flags(ms, 0, 0), 0);
	expect_answer("www.example.com", &o, 0, 0);
}

/* Random damage to valid queries: never anything but PASS or TX, and
 * every TX is exactly the slow path's reply to the damaged query. */
static void t_random_mutations(void **state)
{
	static const char *names[] = { "www.example.com", "ftp.example.com",
				       "example.com", "big.example.com",
				       "nope.example.com" };
	static const uint16_t types[] = { 1, 28, 16, 6, 257 };
	unsigned int seed = 5353, i, tx = 0;

	(void)state;
	for (i = 0; i < 4000; i++) {
		struct frame_opts o = { .qtype = types[rand_r(&seed) % 5],
					.ipv6 = rand_r(&seed) & 1,
					.edns = rand_r(&seed) & 1,
					.dnssec_ok = rand_r(&seed) & 1,
					.udp_size = 512 + rand_r(&seed) % 1024,
					.id = rand_r(&seed) };
		uint8_t frame[FR_MAX], dns[FR_MAX], want[FR_MAX];
		size_t dlen, flen, l4, k, n;
		struct respond_info info;
		struct run r;

		flen = make_query(names[rand_r(&seed) % 5], &o, frame, dns, &dlen);
		l4 = o.ipv6 ? 54 : 34;
		n = 1 + rand_r(&seed) % 3;
		for (k = 0; k < n; k++) {
			/* mostly the DNS part, sometimes the headers */
			size_t at = rand_r(&seed) % 8 ? l4 + 8 + rand_r(&seed) % dlen :
							rand_r(&seed) % flen;

			frame[at] ^= 1 << (rand_r(&seed) % 8);
		}
		run_frame(frame, flen, &r);
		assert_true(r.verdict == XDP_PASS || r.verdict == XDP_TX);
		if (r.verdict != XDP_TX)
			continue;
		tx++;
		assert_int_equal(fr_check_sums(r.out, r.out_len, o.ipv6, 0), 0);
		n = engine_respond(&eng, frame + l4 + 8, dlen, want, sizeof(want), 0,
				   &info);
		assert_int_equal(r.out_len, l4 + 8 + n);
		assert_memory_equal(r.out + l4 + 8, want, n);
	}
	/* the damage must leave a fair share answerable, or this tests little */
	printf("  %u of 4000 damaged frames answered by XDP\n", tx);
	assert_true(tx > 100);
}

/* A slow-path answer offered to the LRU is served by XDP until the zone
 * flips to a new generation. */
static void t_lru_cache(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 19, .edns = 1, .udp_size = 1232 };
	uint8_t frame[FR_MAX], dns[FR_MAX], want[FR_MAX];
	size_t dlen, flen = make_query("NoPe.example.com", &o, frame, dns, &dlen);
	struct respond_info info;
	size_t wlen;
	struct run r;

	(void)state;
	expect_pass_frame(frame, flen, XDPNS_PASS_MISS);
	wlen = engine_respond(&eng, dns, dlen, want, sizeof(want), 0, &info);
	assert_int_equal(info.rcode, 3);
	assert_non_null(info.zone);
	assert_int_equal(mapsync_cache(ms, info.zone, info.qname, info.qname_len,
				       info.qtype, info.dnssec_ok, info.answer),
			 0);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(delta(&r, XDPNS_CNT_LRU_HIT), 1);
	assert_int_equal(delta(&r, XDPNS_CNT_RCODE_BASE + 3), 1);
	assert_int_equal(r.out_len, 42 + wlen);
	assert_memory_equal(r.out + 42, want, wlen);
	assert_int_equal(fr_check_sums(r.out, r.out_len, 0, 0), 0);
	/* the DO variant is another key */
	o.dnssec_ok = 1;
	flen = make_query("nope.example.com", &o, frame, dns, &dlen);
	expect_pass_frame(frame, flen, XDPNS_PASS_MISS);
	/* a new generation retires what the LRU holds */
	o.dnssec_ok = 0;
	flen = make_query("nope.example.com", &o, frame, dns, &dlen);
	assert_int_equal(publish_version(1), 0);
	expect_pass_frame(frame, flen, XDPNS_PASS_MISS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_ipv4_a_literal),
		cmocka_unit_test(t_ipv4_noedns),
		cmocka_unit_test(t_ipv6_edns),
		cmocka_unit_test(t_dnssec_ok),
		cmocka_unit_test(t_vlan),
		cmocka_unit_test(t_mixed_case),
		cmocka_unit_test(t_parser_limits),
		cmocka_unit_test(t_long_message_passes),
		cmocka_unit_test(t_name_255),
		cmocka_unit_test(t_name_256_passes),
		cmocka_unit_test(t_truncated_reply),
		cmocka_unit_test(t_negative_shapes),
		cmocka_unit_test(t_every_truncation_passes),
		cmocka_unit_test(t_bad_queries_pass),
		cmocka_unit_test(t_generation_flip),
		cmocka_unit_test(t_expired_zone_passes),
		cmocka_unit_test(t_random_mutations),
		cmocka_unit_test(t_lru_cache),
	};

	return cmocka_run_group_tests_name("bpf", tests, setup, teardown);
}
