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
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "engine.h"
#include "entries.h"
#include "fault.h"
#include "loader.h"
#include "log.h"
#include "mapsync.h"
#include "nxsync.h"
#include "rrl.h"
#include "nxsync.h"
#include "zone.h"
#include "bpf/frames.h"

static struct loader ld;
static struct mapsync *ms;
static struct mapsync_fds fds;
/* slot 0: example.com; the NXDOMAIN tests add the zones of nx_zones[] */
#define N_ZONES 8
static struct engine_zone ezs[N_ZONES];
static struct engine eng = { .zones = ezs, .n_zones = N_ZONES };
/* the engine whose replies XDP's are compared with */
static const struct engine *ref = &eng;
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
		 "deleg NS ns.deleg\nns.deleg A 198.18.0.99\n"
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
	if (version == 3) {
		/* version 3 (an IXFR from 1): www moves to .83, new3 appears */
		char *p = strstr(buf, "198.18.0.81\n");

		p[10] = '3';
		strcat(buf, "new3 A 198.18.0.3\n");
	}
	if (version != 1) {
		/* versions 2 and 3: only1 is gone */
		char *p = strstr(buf, "only1 A 198.18.0.1\n");

		memmove(p, p + strlen("only1 A 198.18.0.1\n"),
			strlen(p + strlen("only1 A 198.18.0.1\n")) + 1);
	}
	return buf;
}

static struct zone *load_text(const char *text, const char *origin)
{
	char err[512];
	struct zone *z = NULL;
	FILE *f = fopen(zone_path, "w");

	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	if (zone_load_file(zone_path, origin, &z, err, sizeof(err))) {
		fprintf(stderr, "zone %s: %s\n", origin, err);
		return NULL;
	}
	return z;
}

/* Serve text as the zone of slot (the engine switches at the flip);
 * names (NULL-terminated strings) make it an incremental publish of those
 * owners, as after an IXFR. */
static int publish_zone_names(int slot, const char *text, const char *origin,
			      const char *const *names)
{
	struct zone *z = load_text(text, origin), *old = ezs[slot].zone;
	int r;

	if (!z)
		return -EINVAL;
	ezs[slot].zone = z;
	if (names) {
		uint8_t wire[16][300];
		const uint8_t *list[16];
		size_t n = 0;

		for (; names[n] && n < 16; n++) {
			fr_name(wire[n], names[n]);
			list[n] = wire[n];
		}
		r = mapsync_publish_names(ms, &eng, &ezs[slot], old, list, n);
	} else {
		r = mapsync_publish(ms, &eng, &ezs[slot]);
	}
	if (r) {
		ezs[slot].zone = old;
		zone_free(z);
		return r;
	}
	zone_free(old);
	return 0;
}

static int publish_zone(int slot, const char *text, const char *origin)
{
	return publish_zone_names(slot, text, origin, NULL);
}

static int publish_version_names(int version, const char *const *names)
{
	return publish_zone_names(0, zone_text(version), "example.com", names);
}

static int publish_version(int version)
{
	return publish_version_names(version, NULL);
}

static int setup(void **state)
{
	int fd, r, i;

	(void)state;
	log_set_level(LOG_LVL_WARN);
	{
		/* per-CPU buckets: every run on the same CPU */
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(0, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			return -1;
	}
	fd = mkstemp(zone_path);
	if (fd < 0)
		return -1;
	close(fd);
	r = loader_open(&ld, NULL);
	if (r) {
		fprintf(stderr, "FAIL: cannot load the XDP object (%s): these tests "
				"need root and BPF\n", strerror(-r));
		return -1;
	}
	{
		/* the verifier's budget: what it walked to accept the program */
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(loader_prog_fd(&ld), &info, &len))
			printf("  verifier: %u instructions processed, %u bytes xlated\n",
			       info.verified_insns, info.xlated_prog_len);
	}
	loader_fds(&ld, &fds);
	if (mapsync_new(&fds, &ms))
		return -1;
	for (i = 0; i < N_ZONES; i++)
		ezs[i].slot = i;
	return publish_version(1) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	int i;

	mapsync_free(ms);
	loader_close(&ld);
	for (i = 0; i < N_ZONES; i++)
		zone_free(ezs[i].zone);
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

/* NXDOMAIN made in XDP by the last expect_answer() */
static uint64_t last_nx_synth;

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
	wlen = engine_respond(ref, dns, dlen, want, sizeof(want), 0, &info);
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
	last_nx_synth = delta(&r, XDPNS_CNT_NX_SYNTH);
}

/* Expect the slow path's NXDOMAIN, made in XDP from the zone's names. */
static void expect_nx(const char *name, const struct frame_opts *o)
{
	expect_answer(name, o, 3, 0);
	assert_int_equal(last_nx_synth, 1);
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

/* Expect XDP_PASS for a query of name. */
static void expect_pass(const char *name, const struct frame_opts *o,
			int reason)
{
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen = make_query(name, o, frame, dns, &dlen);

	expect_pass_frame(frame, flen, reason);
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
	assert_int_equal(last_nx_synth, 0);
	/* NXDOMAIN is made in XDP (unsigned zone) */
	expect_nx("nope.example.com", &m);
	/* NODATA for a type not compiled: the slow path */
	m.qtype = 15;
	flen = make_query("www.example.com", &m, frame, dns, &dlen);
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
	/* only1 is gone: NXDOMAIN, made in XDP */
	expect_nx("only1.example.com", &o);
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
	/* NODATA for a type the eager compile does not cover */
	struct frame_opts o = { .qtype = 15, .id = 19, .edns = 1, .udp_size = 1232 };
	uint8_t frame[FR_MAX], dns[FR_MAX], want[FR_MAX];
	size_t dlen, flen = make_query("WwW.example.com", &o, frame, dns, &dlen);
	struct respond_info info;
	size_t wlen;
	struct run r;

	(void)state;
	expect_pass_frame(frame, flen, XDPNS_PASS_MISS);
	wlen = engine_respond(&eng, dns, dlen, want, sizeof(want), 0, &info);
	assert_int_equal(info.rcode, 0);
	assert_int_equal(info.answer->an, 0);
	assert_non_null(info.zone);
	assert_int_equal(mapsync_cache(ms, info.zone, info.qname, info.qname_len,
				       info.qtype, info.dnssec_ok, info.answer),
			 0);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(delta(&r, XDPNS_CNT_LRU_HIT), 1);
	assert_int_equal(delta(&r, XDPNS_CNT_RCODE_BASE + 0), 1);
	assert_int_equal(r.out_len, 42 + wlen);
	assert_memory_equal(r.out + 42, want, wlen);
	assert_int_equal(fr_check_sums(r.out, r.out_len, 0, 0), 0);
	/* the DO variant is another key */
	o.dnssec_ok = 1;
	flen = make_query("www.example.com", &o, frame, dns, &dlen);
	expect_pass_frame(frame, flen, XDPNS_PASS_MISS);
	/* a new generation retires what the LRU holds */
	o.dnssec_ok = 0;
	flen = make_query("www.example.com", &o, frame, dns, &dlen);
	assert_int_equal(publish_version(1), 0);
	expect_pass_frame(frame, flen, XDPNS_PASS_MISS);

	/* an NXDOMAIN the slow path cached: from the LRU while its generation
	 * lasts, then made from the names (a retired LRU answer does not
	 * stand in the way) */
	o.qtype = 1;
	flen = make_query("gone.example.com", &o, frame, dns, &dlen);
	wlen = engine_respond(&eng, dns, dlen, want, sizeof(want), 0, &info);
	assert_int_equal(info.rcode, 3);
	assert_int_equal(mapsync_cache(ms, info.zone, info.qname, info.qname_len,
				       info.qtype, info.dnssec_ok, info.answer),
			 0);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(delta(&r, XDPNS_CNT_LRU_HIT), 1);
	assert_int_equal(delta(&r, XDPNS_CNT_NX_SYNTH), 0);
	assert_int_equal(publish_version(1), 0);
	expect_nx("gone.example.com", &o);
}

/* ---- NXDOMAIN made in XDP (bpf/lib/nx.h, userspace/nxsync.c) ---- */

#define L40 "abcdefghijabcdefghijabcdefghijabcdefghij"
#define L50 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
#define L60 L50 "0123456789"
#define SIG " 20300101000000 20200101000000 12345 signed.test. " \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss" \
	"LS4vMDEyMzQ1Njc4OTo7PD0+Pw==\n"

enum { Z_NX = 1, Z_WILD, Z_SIGNED, Z_EXP, Z_CHILD, Z_BIGSOA, Z_SIZES };

static const char nx_zone[] =
	"$ORIGIN nx.test.\n$TTL 3600\n"
	/* RNAME admin.mail.nx.test: the SOA compresses against mail.nx.test */
	"@ SOA ns.nx.test. admin.mail.nx.test. 1 3600 600 604800 120\n"
	"@ NS ns\nns A 198.18.1.53\n"
	"www A 198.18.1.80\nwww AAAA fd00:5353::1:80\n"
	"a.b.c TXT \"b.c and c are empty non-terminals\"\n"
	"sub NS ns.sub\nns.sub A 198.18.1.54\n"
	"child NS ns.child\nns.child A 198.18.1.55\n"
	"dn DNAME example.com.\n"
	"cn CNAME www\n"
	/* closest enclosers in each key class */
	"k32 A 198.18.1.32\n"
	L40 ".k64 A 198.18.1.64\n"
	L50 "." L50 ".k128 A 198.18.1.128\n"
	L50 "." L50 "." L50 "." L50 ".k256 A 198.18.1.255\n";

static const char wild_zone[] =
	"$ORIGIN wild.test.\n$TTL 300\n"
	/* out of zone: RNAME compresses against MNAME in the body */
	"@ SOA ns.other.example. hostmaster.other.example. 7 3600 600 604800 600\n"
	"@ NS ns.other.example.\n"
	"* A 198.18.2.1\n"
	"x.y A 198.18.2.2\n";

static const char signed_zone[] =
	"$ORIGIN signed.test.\n$TTL 3600\n"
	"@ SOA ns hostmaster 1 3600 600 604800 300\n"
	"@ RRSIG SOA 13 2 3600" SIG
	"@ NS ns\nns A 198.18.3.53\n";

static const char exp_zone[] =
	"$ORIGIN exp.test.\n$TTL 3600\n"
	"@ SOA ns hostmaster 1 3600 600 604800 300\n"
	"@ NS ns\nns A 198.18.5.53\n";

static const char child_zone[] =
	"$ORIGIN child.nx.test.\n$TTL 3600\n"
	"@ SOA ns hostmaster 3 3600 600 604800 60\n"
	"@ NS ns\nns A 198.18.1.55\nwww A 198.18.1.81\n";

/* An SOA of 500+ bytes: its NXDOMAIN does not fit the XDP record */
static const char bigsoa_zone[] =
	"$ORIGIN bigsoa.test.\n$TTL 3600\n"
	"@ SOA " L60 "." L60 "." L60 "." L50 ".m.example. "
	L60 "." L60 "." L60 "." L50 ".r.example. 1 3600 600 604800 300\n"
	"@ NS ns\nns A 198.18.6.53\n";

static int nx_setup(void **state)
{
	(void)state;
	/* the parent first: it knows child.nx.test only as a delegation */
	if (publish_zone(Z_NX, nx_zone, "nx.test") ||
	    publish_zone(Z_WILD, wild_zone, "wild.test") ||
	    publish_zone(Z_SIGNED, signed_zone, "signed.test") ||
	    publish_zone(Z_EXP, exp_zone, "exp.test") ||
	    publish_zone(Z_CHILD, child_zone, "child.nx.test") ||
	    publish_zone(Z_BIGSOA, bigsoa_zone, "bigsoa.test"))
		return -1;
	return 0;
}

/* Every query shape a random-subdomain flood uses, byte for byte. */
static void t_nx_shapes(void **state)
{
	static const char *names[] = {
		"xq7fz.nx.test", "Xq7Fz.nX.TeSt", "a.b.nope.nx.test",
		"zz.www.nx.test", "zz.cn.nx.test", "zz.b.c.nx.test",
		"zz.c.nx.test", "q.y.wild.test", "zz.x.y.wild.test",
		"q.*.wild.test", "zz.child.nx.test", "nope.example.com",
	};
	struct frame_opts shapes[] = {
		{ .qtype = 1, .id = 100 },
		{ .qtype = 28, .id = 101, .flags = 0x0100 },
		{ .qtype = 1, .id = 102, .edns = 1, .udp_size = 1232 },
		{ .qtype = 28, .id = 103, .edns = 1, .udp_size = 4096,
		  .dnssec_ok = 1, .flags = 0x0110 },
		{ .qtype = 16, .id = 104, .ipv6 = 1, .edns = 1, .udp_size = 512 },
		{ .qtype = 1, .id = 105, .ipv6 = 1, .vlan = 1 },
		{ .qtype = 255, .id = 106, .vlan = 1, .edns = 1, .udp_size = 1232,
		  .dnssec_ok = 1 },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
			expect_nx(names[i], &shapes[k]);
}

/* Closest enclosers and qnames in every key class, and the most labels. */
static void t_nx_deep(void **state)
{
	static const char *names[] = {
		"rnd.k32.nx.test",
		"RnD.K32.nX.tEsT",
		"rnd." L40 ".k64.nx.test",
		"r." L50 "." L50 ".k128.nx.test",
		"abcdefghijabcdefghijabcdefghij." L50 "." L50 "." L50 "." L50
		".k256.nx.test",
		/* qname in class 256, encloser in class 32: the walk crosses
		 * every class */
		L60 "." L60 "." L60 ".k32.nx.test",
		L60 "." L60 "." L60 ".nope.nx.test",
	};
	struct frame_opts o = { .qtype = 1, .id = 110, .edns = 1, .udp_size = 1232 };
	struct frame_opts o6 = { .qtype = 28, .id = 111, .ipv6 = 1 };
	char many[300];
	size_t i, n = 0;
	uint8_t w[300];

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		expect_nx(names[i], &o);
		expect_nx(names[i], &o6);
	}
	/* 123 one-letter labels under nx.test: 255 bytes, 125 labels */
	for (i = 0; i < 123; i++)
		n += snprintf(many + n, sizeof(many) - n, "%c.", 'a' + (char)(i % 26));
	snprintf(many + n, sizeof(many) - n, "nx.test");
	assert_int_equal(fr_name(w, many), 255);
	expect_nx(many, &o);
	many[0] = 'Q';
	expect_nx(many, &o6);
}

/* What only the slow path may answer is passed, never made NXDOMAIN. */
static void t_nx_passes(void **state)
{
	/* MX: a type no name here has, so no entry answers it either */
	struct frame_opts o = { .qtype = 15, .id = 120 };
	struct frame_opts e = { .qtype = 15, .id = 121, .edns = 1, .udp_size = 1232,
				.dnssec_ok = 1 };
	uint8_t frame[FR_MAX], dns[FR_MAX], want[FR_MAX];
	struct respond_info info;
	size_t dlen, i;
	static const struct {
		const char *name;
		int rcode; /* what the slow path answers */
	} pass[] = {
		{ "zz.sub.nx.test", 0 }, /* below a delegation: referral */
		{ "zz.ns.sub.nx.test", 0 }, /* below glue */
		{ "ns.sub.nx.test", 0 }, /* glue */
		{ "sub.nx.test", 0 },
		{ "b.c.nx.test", 0 }, /* empty non-terminals: NODATA */
		{ "c.nx.test", 0 },
		{ "y.wild.test", 0 },
		{ "q.wild.test", 0 }, /* wildcard */
		{ "a.b.wild.test", 0 },
		{ "zz.dn.nx.test", 0 }, /* below a DNAME: DNAME + CNAME (RFC 6672) */
		{ "zz.mail.nx.test", 3 }, /* RNAME admin.mail.nx.test ends so */
		{ "mail.nx.test", 3 },
		{ "zz.ns.nx.test", 3 }, /* MNAME ns.nx.test */
		{ "nope.signed.test", 3 }, /* signed: needs NSEC/NSEC3 */
		{ "nope.bigsoa.test", 3 }, /* NXDOMAIN body over 504 bytes */
		{ "a.nope.signed.test", 3 },
		{ "nope.example.org", 5 }, /* not our zone */
		{ "test", 5 },
	};

	(void)state;
	/* zones XDP makes no NXDOMAIN for keep their apex alone (so a walk in
	 * them stops there) */
	assert_int_equal(mapsync_zone_nx(ms, Z_NX), 1);
	assert_int_equal(mapsync_zone_nx(ms, Z_SIGNED), 0);
	assert_int_equal(mapsync_zone_names(ms, Z_SIGNED), 1);
	assert_int_equal(mapsync_zone_nx(ms, Z_BIGSOA), 0);
	assert_int_equal(mapsync_zone_names(ms, Z_BIGSOA), 1);
	for (i = 0; i < sizeof(pass) / sizeof(pass[0]); i++) {
		struct frame_opts *q = i & 1 ? &e : &o;
		size_t flen = make_query(pass[i].name, q, frame, dns, &dlen);

		expect_pass_frame(frame, flen, XDPNS_PASS_MISS);
		assert_true(engine_respond(&eng, dns, dlen, want, sizeof(want), 0,
					   &info) > 0);
		if (info.rcode != pass[i].rcode)
			fail_msg("%s: slow path rcode %d, expected %d", pass[i].name,
				 info.rcode, pass[i].rcode);
	}
}

static void t_nx_expired(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 130 };

	(void)state;
	expect_nx("nope.exp.test", &o);
	assert_int_equal(mapsync_set_flags(ms, Z_EXP, XDPNS_ZONE_F_EXPIRED), 0);
	expect_pass("nope.exp.test", &o, XDPNS_PASS_ZONE_STATE);
	expect_pass("a.b.exp.test", &o, XDPNS_PASS_ZONE_STATE);
	assert_int_equal(mapsync_set_flags(ms, Z_EXP, 0), 0);
	expect_nx("nope.exp.test", &o);
}

/* A zone inside another: the child's names and NXDOMAIN while it is
 * served; when it goes, the parent's delegation (pass), whatever the
 * order the two were published in. */
static void t_nx_nested(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 140 };
	struct zone *child = ezs[Z_CHILD].zone;

	(void)state;
	expect_nx("zz.child.nx.test", &o);
	expect_answer("www.child.nx.test", &o, 0, 0);
	/* removed: the engine refers to it from nx.test; XDP must pass */
	assert_int_equal(mapsync_remove(ms, Z_CHILD), 0);
	ezs[Z_CHILD].zone = NULL;
	expect_pass("zz.child.nx.test", &o, XDPNS_PASS_MISS);
	expect_pass("a.b.child.nx.test", &o, XDPNS_PASS_MISS);
	expect_nx("zz.nx.test", &o);
	/* back, then the parent republished while the child is served (its
	 * names leave the parent's set), then the child removed again */
	ezs[Z_CHILD].zone = child;
	assert_int_equal(mapsync_publish(ms, &eng, &ezs[Z_CHILD]), 0);
	expect_nx("zz.child.nx.test", &o);
	assert_int_equal(publish_zone(Z_NX, nx_zone, "nx.test"), 0);
	expect_nx("zz.child.nx.test", &o);
	expect_nx("zz.nx.test", &o);
	assert_int_equal(mapsync_remove(ms, Z_CHILD), 0);
	ezs[Z_CHILD].zone = NULL;
	expect_pass("zz.child.nx.test", &o, XDPNS_PASS_MISS);
	ezs[Z_CHILD].zone = child;
	assert_int_equal(mapsync_publish(ms, &eng, &ezs[Z_CHILD]), 0);
	expect_nx("zz.child.nx.test", &o);
}

/* A generation being written is invisible until the flip; after it the
 * old generation's names are not trusted even before they are deleted;
 * an abandoned generation leaves the served one as it was. Driven step by
 * step through nxsync on a slot of its own. */
static void t_nx_flip(void **state)
{
	static const char v1[] =
		"$ORIGIN flip.test.\n$TTL 3600\n"
		"@ SOA ns h 1 3600 600 604800 300\n@ NS ns\nns A 198.18.4.53\n"
		"old A 198.18.4.1\n";
	static const char v2[] =
		"$ORIGIN flip.test.\n$TTL 3600\n"
		"@ SOA ns h 2 3600 600 604800 300\n@ NS ns\nns A 198.18.4.53\n"
		"new A 198.18.4.2\n* TXT \"wild\"\n";
	const uint32_t slot = 9;
	struct engine_zone fz = { .slot = slot };
	struct engine fe = { .zones = &fz, .n_zones = 1 };
	struct frame_opts o = { .qtype = 1, .id = 150, .edns = 1, .udp_size = 1232 };
	struct zone *z1 = load_text(v1, "flip.test"), *z2 = load_text(v2, "flip.test");
	struct xdpns_zone zv = { 0, 0 };
	struct nxsync *nx;

	(void)state;
	assert_non_null(z1);
	assert_non_null(z2);
	assert_int_equal(nxsync_new(&fds.nx, &nx), 0);
	ref = &fe;
	fz.zone = z1;
	nxsync_stage(nx, &fe, &fz, 1, NULL, NULL, 0);
	expect_pass("x.old.flip.test", &o, XDPNS_PASS_MISS); /* not flipped */
	zv.gen = 1;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	nxsync_commit(nx, slot);
	assert_int_equal(nxsync_zone_synth(nx, slot), 1);
	expect_nx("x.old.flip.test", &o);
	expect_nx("x.flip.test", &o);
	expect_pass("old.flip.test", &o, XDPNS_PASS_MISS);

	/* v2 written, not flipped: v1 is what XDP serves (serial 1 in the
	 * SOA: the bytes differ from v2's) */
	fz.zone = z2;
	nxsync_stage(nx, &fe, &fz, 2, NULL, NULL, 0);
	fz.zone = z1;
	expect_nx("x.old.flip.test", &o);
	expect_nx("x.flip.test", &o);
	expect_pass("x.new.flip.test", &o, XDPNS_PASS_MISS);
	/* the flip, before the old names are deleted */
	zv.gen = 2;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	fz.zone = z2;
	expect_pass("x.old.flip.test", &o, XDPNS_PASS_MISS); /* wildcard in v2 */
	expect_pass("x.flip.test", &o, XDPNS_PASS_MISS);
	expect_nx("x.new.flip.test", &o);
	nxsync_commit(nx, slot);
	expect_pass("x.old.flip.test", &o, XDPNS_PASS_MISS);
	expect_nx("x.new.flip.test", &o);
	/* @, ns, new, *, and h (RNAME h.flip.test) */
	assert_int_equal(nxsync_zone_names(nx, slot), 5);

	/* v1 again as generation 3, abandoned before the flip */
	fz.zone = z1;
	nxsync_stage(nx, &fe, &fz, 3, NULL, NULL, 0);
	nxsync_abort(nx, slot);
	fz.zone = z2;
	expect_nx("x.new.flip.test", &o);
	expect_pass("x.old.flip.test", &o, XDPNS_PASS_MISS);
	expect_pass("x.flip.test", &o, XDPNS_PASS_MISS);

	zv.gen = 0;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	nxsync_remove(nx, slot);
	expect_pass("x.new.flip.test", &o, XDPNS_PASS_MISS);
	nxsync_free(nx);
	ref = &eng;
	zone_free(z1);
	zone_free(z2);
}

/* The verdict XDP gives a query of name (MX: no entry answers it, so
 * the names decide) against engine fe's reply: 'N' NXDOMAIN made in XDP
 * (bytes checked), 'P' passed. */
static void expect_walk(const struct engine *fe, const char *name, int want)
{
	struct frame_opts o = { .qtype = 15, .id = 170, .edns = 1, .udp_size = 1232 };
	const struct engine *saved = ref;

	ref = fe;
	if (want == 'N')
		expect_nx(name, &o);
	else
		expect_pass(name, &o, XDPNS_PASS_MISS);
	ref = saved;
}

/* A zone inside another that took a key of the parent's (the parent
 * placed kid.claim.test itself, an empty non-terminal, before the kid
 * came) gives it back when removed: the parent, not republished, still
 * serves that name, and the walk below it finds the parent's again (no
 * copy of the parent's names is kept but the claim, nxsync.c keep_claim).
 * Driven through nxsync on slots of their own. */
static void t_nx_claim(void **state)
{
	static const char pz[] =
		"$ORIGIN claim.test.\n$TTL 3600\n"
		"@ SOA ns h 1 3600 600 604800 300\n@ NS ns\nns A 198.18.9.53\n"
		"x.kid A 198.18.9.1\n";
	static const char kz[] =
		"$ORIGIN kid.claim.test.\n$TTL 3600\n"
		"@ SOA ns h 1 3600 600 604800 300\n@ NS ns\nns A 198.18.9.54\n"
		"www A 198.18.9.2\n";
	const uint32_t ps = 20, ks = 21;
	struct engine_zone both[2] = { { .slot = ps }, { .slot = ks } };
	struct engine pe = { .zones = both, .n_zones = 1 };
	struct engine be = { .zones = both, .n_zones = 2 };
	struct xdpns_zone zv = { 0, 0 };
	struct nxsync *nx;

	(void)state;
	both[0].zone = load_text(pz, "claim.test");
	both[1].zone = load_text(kz, "kid.claim.test");
	assert_non_null(both[0].zone);
	assert_non_null(both[1].zone);
	assert_int_equal(nxsync_new(&fds.nx, &nx), 0);
	nxsync_stage(nx, &pe, &both[0], 1, NULL, NULL, 0);
	zv.gen = 1;
	assert_int_equal(bpf_map_update_elem(fds.zones, &ps, &zv, BPF_ANY), 0);
	nxsync_commit(nx, ps);
	expect_walk(&pe, "zz.kid.claim.test", 'N');
	expect_walk(&pe, "zz.x.kid.claim.test", 'N');

	/* the kid takes kid.claim.test (and x.kid.claim.test is its) */
	nxsync_stage(nx, &be, &both[1], 1, NULL, NULL, 0);
	assert_int_equal(bpf_map_update_elem(fds.zones, &ks, &zv, BPF_ANY), 0);
	nxsync_commit(nx, ks);
	expect_walk(&be, "zz.kid.claim.test", 'N');
	expect_walk(&be, "zz.www.kid.claim.test", 'N');

	/* gone: the parent's own names answer again, unpublished */
	zv.gen = 0;
	assert_int_equal(bpf_map_update_elem(fds.zones, &ks, &zv, BPF_ANY), 0);
	nxsync_remove(nx, ks);
	expect_walk(&pe, "zz.kid.claim.test", 'N');
	expect_walk(&pe, "zz.x.kid.claim.test", 'N');
	expect_walk(&pe, "zz.www.kid.claim.test", 'N');
	assert_int_equal(nxsync_zone_names(nx, ps), 5);

	assert_int_equal(bpf_map_update_elem(fds.zones, &ps, &zv, BPF_ANY), 0);
	nxsync_remove(nx, ps);
	expect_walk(&pe, "zz.kid.claim.test", 'P');
	nxsync_free(nx);
	zone_free(both[0].zone);
	zone_free(both[1].zone);
}

/*
 * An IXFR's names, written incrementally: before the flip a reader of
 * the served generation sees its own names (a name only the next one has
 * passes), after the flip the new ones (a name only the old one had
 * passes until it is deleted), after the commit the new ones alone; and
 * only the names that come, go or change flags are written. Each kind:
 * a name added, one deleted, empty non-terminals that appear and go with
 * a name, a wildcard that appears (its parent stops allowing NXDOMAIN)
 * and one that goes, a delegation that appears over a name (it leaves)
 * and one that goes (the name below it comes in), a DNAME that appears.
 */
static void t_nx_changes(void **state)
{
	static const char head[] =
		"$ORIGIN inc.test.\n$TTL 3600\n"
		"@ SOA ns h %d 3600 600 604800 300\n@ NS ns\nns A 198.18.7.53\n"
		"w.c A 198.18.7.3\ng.f A 198.18.7.7\nk.e A 198.18.7.8\n";
	static const char v1_body[] =
		"a A 198.18.7.1\n"
		"x.y.b A 198.18.7.2\n"
		"d A 198.18.7.4\n*.d TXT \"wild\"\n"
		"e A 198.18.7.5\n"
		"f NS ns.other.example.\n"
		"dn A 198.18.7.9\n";
	static const char v2_body[] =
		"new A 198.18.7.10\n"
		"p.q.r A 198.18.7.11\n"
		"*.w.c TXT \"wild\"\n"
		"d A 198.18.7.4\n"
		"e NS ns.other.example.\n"
		"f A 198.18.7.6\n"
		"dn A 198.18.7.9\ndn DNAME example.com.\n";
	static const char *const owners[] = {
		"inc.test", "new.inc.test", "a.inc.test", "p.q.r.inc.test",
		"x.y.b.inc.test", "*.w.c.inc.test", "*.d.inc.test", "e.inc.test",
		"f.inc.test", "dn.inc.test",
	};
	const uint32_t slot = 10, zero = 0;
	struct xdpns_nx_seq seq0, seq1;
	struct engine_zone fz = { .slot = slot };
	struct engine e1 = { .zones = &fz, .n_zones = 1 };
	struct engine_zone fz2 = { .slot = slot };
	struct engine e2 = { .zones = &fz2, .n_zones = 1 };
	struct xdpns_zone zv = { 0, 0 };
	uint8_t wire[16][300];
	const uint8_t *list[16];
	struct nxsync_stats st;
	char t1[1024], t2[1024];
	struct zone *z1, *z2;
	struct nxsync *nx;
	size_t i, n = sizeof(owners) / sizeof(owners[0]);
	/* query name; verdict before the flip (a reader of 1), after it
	 * before the commit (of 2), after the commit, and once 1 is served
	 * again */
	static const struct {
		const char *name;
		char v1, flip, after, back;
	} cases[] = {
		{ "zz.inc.test", 'N', 'N', 'N', 'N' },
		{ "zz.ns.inc.test", 'P', 'P', 'P', 'P' }, /* MNAME */
		{ "zz.w.c.inc.test", 'N', 'P', 'P', 'N' }, /* wildcard comes */
		{ "zz.c.inc.test", 'N', 'N', 'N', 'N' },
		/* added: unknown to 1 (pass), NODATA in 2 */
		{ "new.inc.test", 'P', 'P', 'P', 'N' },
		{ "zz.new.inc.test", 'P', 'N', 'N', 'N' },
		/* deleted: a name until the commit deletes it */
		{ "a.inc.test", 'P', 'P', 'N', 'P' },
		{ "zz.a.inc.test", 'N', 'P', 'N', 'N' },
		/* empty non-terminals come */
		{ "zz.r.inc.test", 'P', 'N', 'N', 'N' },
		{ "zz.q.r.inc.test", 'P', 'N', 'N', 'N' },
		{ "r.inc.test", 'P', 'P', 'P', 'N' },
		{ "q.r.inc.test", 'P', 'P', 'P', 'N' },
		{ "zz.p.q.r.inc.test", 'P', 'N', 'N', 'N' },
		/* and go */
		{ "b.inc.test", 'P', 'P', 'N', 'P' },
		{ "zz.b.inc.test", 'N', 'P', 'N', 'N' },
		{ "y.b.inc.test", 'P', 'P', 'N', 'P' },
		{ "zz.y.b.inc.test", 'N', 'P', 'N', 'N' },
		{ "zz.d.inc.test", 'P', 'N', 'N', 'P' }, /* wildcard goes */
		{ "zz.e.inc.test", 'N', 'P', 'P', 'N' }, /* delegation comes */
		{ "zz.k.e.inc.test", 'N', 'P', 'P', 'N' },
		{ "zz.f.inc.test", 'P', 'N', 'N', 'P' }, /* and goes */
		{ "zz.g.f.inc.test", 'P', 'N', 'N', 'P' },
		{ "g.f.inc.test", 'P', 'P', 'P', 'P' },
		{ "zz.dn.inc.test", 'N', 'P', 'P', 'N' }, /* DNAME comes */
	};

	(void)state;
	snprintf(t1, sizeof(t1), head, 1);
	strcat(t1, v1_body);
	snprintf(t2, sizeof(t2), head, 2);
	strcat(t2, v2_body);
	z1 = load_text(t1, "inc.test");
	z2 = load_text(t2, "inc.test");
	assert_non_null(z1);
	assert_non_null(z2);
	fz.zone = z1;
	fz2.zone = z2;
	for (i = 0; i < n; i++) {
		fr_name(wire[i], owners[i]);
		list[i] = wire[i];
	}
	assert_int_equal(nxsync_new(&fds.nx, &nx), 0);
	nxsync_stage(nx, &e1, &fz, 1, NULL, NULL, 0);
	zv.gen = 1;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	nxsync_commit(nx, slot);
	assert_int_equal(nxsync_zone_synth(nx, slot), 1);
	/* @ ns h a b y.b x.y.b c w.c d *.d e k.e f dn (g.f is below the cut) */
	assert_int_equal(nxsync_zone_names(nx, slot), 15);

	assert_int_equal(bpf_map_lookup_elem(fds.nx.seq, &zero, &seq0), 0);
	nxsync_stage(nx, &e2, &fz2, 2, z1, list, n);
	nxsync_get_stats(nx, &st);
	/* names were written: a walk begun before them passes (nx.h) */
	assert_int_equal(bpf_map_lookup_elem(fds.nx.seq, &zero, &seq1), 0);
	assert_int_not_equal(seq0.seq, seq1.seq);
	/* new, p.q.r, q.r, r, *.w.c, g.f come; a, x.y.b, y.b, b, *.d, k.e
	 * go; w.c, d, e, f, dn change flags */
	assert_int_equal(st.last_written, 17);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_walk(&e1, cases[i].name, cases[i].v1);
	zv.gen = 2;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_walk(&e2, cases[i].name, cases[i].flip);
	nxsync_commit(nx, slot);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_walk(&e2, cases[i].name, cases[i].after);
	/* @ ns h c w.c *.w.c d e f g.f dn new r q.r p.q.r */
	assert_int_equal(nxsync_zone_names(nx, slot), 15);

	/* the names judged from the IXFR's owners are those a look at the
	 * whole zone finds: nothing to write */
	nxsync_stage(nx, &e2, &fz2, 3, NULL, NULL, 0);
	nxsync_get_stats(nx, &st);
	assert_int_equal(st.last_written, 0);
	zv.gen = 3;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	nxsync_commit(nx, slot);

	/* and back, as an IXFR again: the same names go and come */
	nxsync_stage(nx, &e1, &fz, 4, z2, list, n);
	nxsync_get_stats(nx, &st);
	assert_int_equal(st.last_written, 17);
	zv.gen = 4;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	nxsync_commit(nx, slot);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_walk(&e1, cases[i].name, cases[i].back);
	/* a whole publish of the same data finds nothing to write */
	assert_int_equal(bpf_map_lookup_elem(fds.nx.seq, &zero, &seq0), 0);
	nxsync_stage(nx, &e1, &fz, 5, NULL, NULL, 0);
	nxsync_get_stats(nx, &st);
	assert_int_equal(st.last_written, 0);
	assert_int_equal(bpf_map_lookup_elem(fds.nx.seq, &zero, &seq1), 0);
	assert_int_equal(seq0.seq, seq1.seq);
	zv.gen = 5;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	nxsync_commit(nx, slot);
	expect_walk(&e1, "zz.a.inc.test", 'N');
	expect_walk(&e1, "zz.d.inc.test", 'P');

	zv.gen = 0;
	assert_int_equal(bpf_map_update_elem(fds.zones, &slot, &zv, BPF_ANY), 0);
	nxsync_remove(nx, slot);
	nxsync_free(nx);
	zone_free(z1);
	zone_free(z2);
}

/* What an answer costs the program (bpf_prog_test_run's own clock, one
 * run per call: the program rewrites the frame, so repeat cannot be
 * used). Printed for docs/design.md; only the verdicts are checked. */
static void t_nx_cost(void **state)
{
	static const struct {
		const char *what, *name;
		int verdict;
	} c[] = {
		{ "A hit (entries)", "www.example.com", XDP_TX },
		{ "NXDOMAIN, 1 random label", "xq7fz.example.com", XDP_TX },
		{ "NXDOMAIN, 4 labels to the encloser",
		  "a.b.c.xq7fz.nx.test", XDP_TX },
		{ "NXDOMAIN, 248-byte name", "abcdefghijabcdefghijabcdefghij." L50
		  "." L50 "." L50 "." L50 ".k256.nx.test", XDP_TX },
		{ "pass: below a delegation", "zz.sub.nx.test", XDP_PASS },
		{ "pass: outside our zones", "www.example.net", XDP_PASS },
	};
	struct frame_opts o = { .qtype = 1, .id = 160 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint8_t frame[FR_MAX], dns[FR_MAX], out[FR_MAX + 512];
		size_t dlen, flen = make_query(c[i].name, &o, frame, dns, &dlen);
		uint64_t total = 0;
		int k, n = 2000;

		for (k = 0; k < n; k++) {
			LIBBPF_OPTS(bpf_test_run_opts, opts);
			uint8_t in[FR_MAX];

			memcpy(in, frame, flen);
			opts.data_in = in;
			opts.data_size_in = flen;
			opts.data_out = out;
			opts.data_size_out = sizeof(out);
			opts.repeat = 1;
			assert_int_equal(bpf_prog_test_run_opts(loader_prog_fd(&ld), &opts), 0);
			assert_int_equal(opts.retval, c[i].verdict);
			total += opts.duration;
		}
		printf("  %-38s %5llu ns per run (mean of %d)\n", c[i].what,
		       (unsigned long long)(total / n), n);
	}
}

/* ---- response rate limiting and pass limits ---- */

static struct loader_limit_fds lim;

/* Empty every bucket map, then configure. */
static void limits_set(const struct config *cfg, int ncpus)
{
	int n = libbpf_num_possible_cpus();
	struct xdpns_rrl_bucket zero_b[n];
	struct xdpns_rrl_key k;
	uint32_t zero = 0;
	int fds[2], i;

	loader_limit_fds(&ld, &lim);
	fds[0] = lim.rrl;
	fds[1] = lim.pass_buckets;
	for (i = 0; i < 2; i++)
		while (!bpf_map_get_next_key(fds[i], NULL, &k))
			assert_int_equal(bpf_map_delete_elem(fds[i], &k), 0);
	memset(zero_b, 0, sizeof(zero_b));
	assert_int_equal(bpf_map_update_elem(lim.pass_total, &zero, zero_b, BPF_ANY), 0);
	assert_int_equal(rrl_bpf_setup(cfg, lim.limits, lim.exempt, ncpus), 0);
}

static void limits_off(void)
{
	struct config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.rrl.ipv4_prefix = 24;
	cfg.rrl.ipv6_prefix = 56;
	limits_set(&cfg, 1);
}

static void rrl_cfg(struct config *cfg, uint32_t rate, uint32_t slip,
		    uint32_t window)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rrl.enabled = 1;
	cfg->rrl.rate = rate;
	cfg->rrl.slip = slip;
	cfg->rrl.window = window;
	cfg->rrl.ipv4_prefix = 24;
	cfg->rrl.ipv6_prefix = 56;
}

/* Make every bucket in map fd older by ns (the test cannot move
 * bpf_ktime_get_ns(); it moves the buckets' stamps back instead). */
static void age_buckets(int fd, uint64_t ns)
{
	int n = libbpf_num_possible_cpus(), c;
	struct xdpns_rrl_bucket v[n];
	struct xdpns_rrl_key k, next;
	int r = bpf_map_get_next_key(fd, NULL, &next);

	while (!r) {
		k = next;
		assert_int_equal(bpf_map_lookup_elem(fd, &k, v), 0);
		for (c = 0; c < n; c++)
			if (v[c].stamp_ns)
				v[c].stamp_ns -= ns;
		assert_int_equal(bpf_map_update_elem(fd, &k, v, BPF_EXIST), 0);
		r = bpf_map_get_next_key(fd, &k, &next);
	}
}

/* A query frame from src (IPv4 or IPv6 text). */
static size_t query_from(const char *name, struct frame_opts *o, const char *src,
			 uint8_t *frame, uint8_t *dns, size_t *dlen)
{
	size_t flen, l3;

	o->ipv6 = strchr(src, ':') != NULL;
	flen = make_query(name, o, frame, dns, dlen);
	l3 = 14 + (o->vlan ? 4 : 0);
	if (!o->ipv6) {
		uint32_t s;

		assert_int_equal(inet_pton(AF_INET, src, frame + l3 + 12), 1);
		frame[l3 + 10] = frame[l3 + 11] = 0;
		s = ~fr_fold(wire_sum16(frame + l3, 20)) & 0xffff;
		frame[l3 + 10] = s >> 8;
		frame[l3 + 11] = s & 0xff;
	} else {
		assert_int_equal(inet_pton(AF_INET6, src, frame + l3 + 8), 1);
	}
	return flen;
}

enum { V_FULL, V_SLIP, V_DROP, V_PASS };

/* Run one query and classify the outcome: a full answer (XDP_TX, no TC),
 * a slip (XDP_TX, TC=1, no records), a drop, or a pass. */
static int outcome(const char *name, uint16_t qtype, const char *src)
{
	struct frame_opts o = { .qtype = qtype, .id = 0x77 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen = query_from(name, &o, src, frame, dns, &dlen);
	size_t l4 = 14 + (o.ipv6 ? 40 : 20) + 8;
	struct run r;

	run_frame(frame, flen, &r);
	if (r.verdict == XDP_DROP)
		return V_DROP;
	if (r.verdict == XDP_PASS)
		return V_PASS;
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(fr_check_sums(r.out, r.out_len, o.ipv6, 0), 0);
	if (r.out[l4 + 2] & 0x02) {
		/* TC=1: header and question, no records */
		assert_int_equal(r.out_len, l4 + dlen);
		assert_memory_equal(r.out + l4 + 6, "\0\0\0\0\0\0", 6);
		return V_SLIP;
	}
	return V_FULL;
}

static void t_rrl_off_limits_nothing(void **state)
{
	uint64_t before[XDPNS_CNT_COUNT], after[XDPNS_CNT_COUNT];
	int i;

	(void)state;
	limits_off();
	assert_int_equal(loader_counters(&ld, before), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.5.7"), V_FULL);
	for (i = 0; i < 50; i++)
		assert_int_equal(outcome("www.example.com", 15, "198.18.5.7"), V_PASS);
	assert_int_equal(loader_counters(&ld, after), 0);
	for (i = XDPNS_CNT_RRL_BASE; i <= XDPNS_CNT_PASS_LIMIT_TOTAL; i++)
		assert_int_equal(after[i], before[i]);
}

static void t_rrl_slip_pattern(void **state)
{
	/* the TC reply a client sees: ID, QR AA TC RD, counts 1/0/0/0, its
	 * own question */
	static const uint8_t want[] = {
		0, 0x77, 0x87, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
		'o', 'm', 0, 0, 1, 0, 1,
	};
	/* with EDNS over IPv6: ARCOUNT 1 and our OPT (1232, DO as asked) */
	static const uint8_t want6[] = {
		0, 0x78, 0x87, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
		'o', 'm', 0, 0, 28, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,
	};
	struct frame_opts o = { .qtype = 1, .id = 0x77, .flags = 0x0100 };
	struct frame_opts o6 = { .qtype = 28, .id = 0x78, .flags = 0x0100,
				 .edns = 1, .udp_size = 4096 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen;
	struct config cfg;
	uint64_t first[XDPNS_CNT_COUNT] = { 0 };
	struct run r;
	int i;

	(void)state;
	rrl_cfg(&cfg, 4, 2, 15);
	limits_set(&cfg, 1);
	flen = query_from("www.example.com", &o, "198.18.5.7", frame, dns, &dlen);
	for (i = 0; i < 4; i++) {
		run_frame(frame, flen, &r);
		if (!i)
			memcpy(first, r.before, sizeof(first));
		assert_int_equal(r.verdict, XDP_TX);
		assert_int_equal(r.out[42 + 2] & 0x02, 0);
		assert_int_equal(delta(&r, XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_PASS)), 1);
	}
	/* over the rate: slip, drop, slip, drop ... exactly */
	for (i = 0; i < 8; i++) {
		run_frame(frame, flen, &r);
		if (i % 2 == 0) {
			assert_int_equal(r.verdict, XDP_TX);
			assert_int_equal(r.out_len, 42 + sizeof(want));
			assert_memory_equal(r.out + 42, want, sizeof(want));
			assert_int_equal(fr_check_sums(r.out, r.out_len, 0, 0), 0);
			assert_int_equal(delta(&r, XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_SLIP)), 1);
			assert_int_equal(delta(&r, XDPNS_CNT_TRUNCATED), 1);
		} else {
			assert_int_equal(r.verdict, XDP_DROP);
			assert_int_equal(delta(&r, XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_DROP)), 1);
			assert_int_equal(delta(&r, XDPNS_CNT_ANSWERED), 0);
			assert_int_equal(delta(&r, XDPNS_CNT_DROPPED), 0);
		}
	}
	assert_int_equal(r.after[XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_PASS)] -
			 first[XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_PASS)], 4);
	assert_int_equal(r.after[XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_SLIP)] -
			 first[XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_SLIP)], 4);
	assert_int_equal(r.after[XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_DROP)] -
			 first[XDPNS_CNT_RRL(XDPNS_RRL_ANSWER, XDPNS_RRL_DROP)], 4);

	/* IPv6 with EDNS, its own bucket: 4 answers, then the slip */
	flen = query_from("www.example.com", &o6, "fd00:5353:0:100::9", frame,
			  dns, &dlen);
	for (i = 0; i < 4; i++) {
		run_frame(frame, flen, &r);
		assert_int_equal(r.verdict, XDP_TX);
		assert_int_equal(r.out[62 + 2] & 0x02, 0);
	}
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(r.out_len, 62 + sizeof(want6));
	assert_memory_equal(r.out + 62, want6, sizeof(want6));
	assert_int_equal(fr_check_sums(r.out, r.out_len, 1, 0), 0);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_DROP);
	limits_off();
}

static void t_rrl_slip_0_and_1(void **state)
{
	struct config cfg;
	int i;

	(void)state;
	rrl_cfg(&cfg, 3, 0, 15); /* slip 0: drop everything over the rate */
	limits_set(&cfg, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.5.7"), V_FULL);
	for (i = 0; i < 6; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.5.7"), V_DROP);
	rrl_cfg(&cfg, 3, 1, 15); /* slip 1: every one over the rate is TC */
	limits_set(&cfg, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.5.7"), V_FULL);
	for (i = 0; i < 6; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.5.7"), V_SLIP);
	rrl_cfg(&cfg, 3, 3, 15); /* slip 3: TC, drop, drop, TC, ... */
	limits_set(&cfg, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.5.7"), V_FULL);
	for (i = 0; i < 9; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.5.7"),
				 i % 3 == 0 ? V_SLIP : V_DROP);
	limits_off();
}

static void t_rrl_exempt(void **state)
{
	struct config cfg;
	int i;

	(void)state;
	rrl_cfg(&cfg, 2, 2, 15);
	assert_int_equal(config_prefix_parse("198.18.7.0/24", &cfg.rrl.exempt[0]), 0);
	assert_int_equal(config_prefix_parse("fd00:5353:0:700::/56", &cfg.rrl.exempt[1]), 0);
	cfg.rrl.n_exempt = 2;
	limits_set(&cfg, 1);
	for (i = 0; i < 30; i++) {
		assert_int_equal(outcome("www.example.com", 1, "198.18.7.200"), V_FULL);
		assert_int_equal(outcome("www.example.com", 28, "fd00:5353:0:7ff::1"), V_FULL);
	}
	/* next door is limited */
	assert_int_equal(outcome("www.example.com", 1, "198.18.8.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.8.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.8.1"), V_SLIP);
	limits_off();
}

static void t_rrl_prefixes(void **state)
{
	struct config cfg;

	(void)state;
	rrl_cfg(&cfg, 4, 1, 15);
	limits_set(&cfg, 1);
	/* two addresses in one /24 share a bucket */
	assert_int_equal(outcome("www.example.com", 1, "198.18.20.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.20.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.20.254"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.20.254"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.20.1"), V_SLIP);
	assert_int_equal(outcome("www.example.com", 1, "198.18.20.77"), V_SLIP);
	/* another /24 does not */
	assert_int_equal(outcome("www.example.com", 1, "198.18.21.1"), V_FULL);
	/* IPv6: one /56 (fd00:5353:0:1xx::) shares, the next /56 does not */
	assert_int_equal(outcome("www.example.com", 28, "fd00:5353:0:100::1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 28, "fd00:5353:0:1ff::2"), V_FULL);
	assert_int_equal(outcome("www.example.com", 28, "fd00:5353:0:180:1::3"), V_FULL);
	assert_int_equal(outcome("www.example.com", 28, "fd00:5353:0:1ab::4"), V_FULL);
	assert_int_equal(outcome("www.example.com", 28, "fd00:5353:0:100::1"), V_SLIP);
	assert_int_equal(outcome("www.example.com", 28, "fd00:5353:0:200::1"), V_FULL);
	/* another kind has its own bucket: the referral */
	assert_int_equal(outcome("deleg.example.com", 2, "198.18.20.1"), V_FULL);
	limits_off();
}

static void t_rrl_kinds(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 21 };
	struct frame_opts od = { .qtype = 2, .id = 22 };
	uint8_t frame[FR_MAX], dns[FR_MAX], want[FR_MAX];
	size_t dlen, flen;
	struct respond_info info;
	struct config cfg;
	struct run r;
	int i;

	(void)state;
	/* NXDOMAIN from the LRU of slow-path answers */
	flen = query_from("nx-rrl.example.com", &o, "198.18.30.1", frame, dns, &dlen);
	engine_respond(&eng, dns, dlen, want, sizeof(want), 0, &info);
	assert_int_equal(info.rcode, 3);
	assert_int_equal(mapsync_cache(ms, info.zone, info.qname, info.qname_len,
				       info.qtype, info.dnssec_ok, info.answer), 0);
	rrl_cfg(&cfg, 2, 1, 15);
	limits_set(&cfg, 1);
	for (i = 0; i < 3; i++) {
		run_frame(frame, flen, &r);
		assert_int_equal(r.verdict, XDP_TX);
		assert_int_equal(delta(&r, XDPNS_CNT_RRL(XDPNS_RRL_NXDOMAIN,
						 i < 2 ? XDPNS_RRL_PASS : XDPNS_RRL_SLIP)), 1);
	}
	/* the slip keeps the rcode: NXDOMAIN with TC */
	assert_int_equal(r.out[42 + 3] & 0xf, 3);
	assert_int_equal(r.out[42 + 2] & 0x02, 0x02);
	/* a referral (AA=0, the blob says so) is its own kind */
	for (i = 0; i < 3; i++) {
		flen = query_from("deleg.example.com", &od, "198.18.30.1", frame,
				  dns, &dlen);
		run_frame(frame, flen, &r);
		assert_int_equal(r.verdict, XDP_TX);
		assert_int_equal(r.out[42 + 2] & 0x04, 0); /* not AA */
		assert_int_equal(delta(&r, XDPNS_CNT_RRL(XDPNS_RRL_REFERRAL,
						 i < 2 ? XDPNS_RRL_PASS : XDPNS_RRL_SLIP)), 1);
	}
	/* and answers still have their whole bucket */
	assert_int_equal(outcome("www.example.com", 1, "198.18.30.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.30.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.30.1"), V_SLIP);
	limits_off();
}

static void t_rrl_refill(void **state)
{
	struct config cfg;
	int i;

	(void)state;
	rrl_cfg(&cfg, 4, 0, 2);
	limits_set(&cfg, 1);
	for (i = 0; i < 4; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_FULL);
	for (i = 0; i < 4; i++) /* balance -4 tokens */
		assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_DROP);
	/* a second credits 4 tokens: back to 0, so still limited (the debt
	 * of a source that kept asking, as BIND) */
	age_buckets(lim.rrl, 1000000000ULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_DROP);
	/* another second: -1 + 4 = 3 answers, then limited */
	age_buckets(lim.rrl, 1000000000ULL);
	for (i = 0; i < 3; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_DROP);
	/* credit is capped at one second's worth */
	age_buckets(lim.rrl, 1900000000ULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_DROP);
	/* idle longer than the window: starts full */
	for (i = 0; i < 20; i++)
		outcome("www.example.com", 1, "198.18.40.1");
	age_buckets(lim.rrl, 2100000000ULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.40.1"), V_DROP);

	/* two CPUs: each CPU's bucket holds half the rate */
	limits_set(&cfg, 2);
	for (i = 0; i < 2; i++)
		assert_int_equal(outcome("www.example.com", 1, "198.18.41.1"), V_FULL);
	assert_int_equal(outcome("www.example.com", 1, "198.18.41.1"), V_DROP);
	limits_off();
}

static void t_pass_limits(void **state)
{
	/* a pass: NODATA for a type the eager compile leaves to the slow
	 * path (an NXDOMAIN would be made in XDP) */
	struct frame_opts o = { .qtype = 15, .id = 30 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen;
	struct config cfg;
	struct run r;
	int i;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.rrl.ipv4_prefix = 24;
	cfg.rrl.ipv6_prefix = 56;
	cfg.pass_limit_prefix = 3;
	assert_int_equal(config_prefix_parse("198.18.60.0/24", &cfg.rrl.exempt[0]), 0);
	cfg.rrl.n_exempt = 1;
	limits_set(&cfg, 1);
	/* misses from one /24: 3 pass, the rest are dropped and counted */
	for (i = 0; i < 3; i++)
		assert_int_equal(outcome("www.example.com", 15, "198.18.50.1"), V_PASS);
	flen = query_from("www.example.com", &o, "198.18.50.2", frame, dns, &dlen);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_DROP);
	assert_int_equal(delta(&r, XDPNS_CNT_PASS_LIMIT_PREFIX), 1);
	assert_int_equal(delta(&r, XDPNS_CNT_PASS_BASE + XDPNS_PASS_MISS), 0);
	/* hits are not passes: still answered */
	assert_int_equal(outcome("www.example.com", 1, "198.18.50.1"), V_FULL);
	/* NOTIFY (opcode 4) and responses (QR=1) are never capped */
	o.flags = 4 << 11;
	flen = query_from("example.com", &o, "198.18.50.1", frame, dns, &dlen);
	expect_pass_frame(frame, flen, XDPNS_PASS_NOT_QUERY);
	o.flags = 0x8000;
	flen = query_from("example.com", &o, "198.18.50.1", frame, dns, &dlen);
	expect_pass_frame(frame, flen, XDPNS_PASS_NOT_QUERY);
	/* nor is other traffic: UDP to another port */
	o.flags = 0;
	flen = query_from("www.example.com", &o, "198.18.50.1", frame, dns, &dlen);
	frame[14 + 20 + 3] = 54;
	expect_pass_frame(frame, flen, XDPNS_PASS_NOT_UDP53);
	/* another prefix has its own budget; the exempt one has no cap */
	assert_int_equal(outcome("www.example.com", 15, "198.18.51.1"), V_PASS);
	for (i = 0; i < 10; i++)
		assert_int_equal(outcome("www.example.com", 15, "198.18.60.9"), V_PASS);
	/* refilled after a second */
	age_buckets(lim.pass_buckets, 1000000000ULL);
	assert_int_equal(outcome("www.example.com", 15, "198.18.50.1"), V_PASS);

	/* the total cap, with the primaries exempt */
	memset(&cfg, 0, sizeof(cfg));
	cfg.rrl.ipv4_prefix = 24;
	cfg.rrl.ipv6_prefix = 56;
	cfg.pass_limit = 5;
	cfg.n_remotes = 1;
	cfg.remotes = calloc(1, sizeof(*cfg.remotes));
	assert_non_null(cfg.remotes);
	cfg.remotes[0].addr.addr.ss_family = AF_INET6;
	inet_pton(AF_INET6, "fd00:5353::99",
		  &((struct sockaddr_in6 *)&cfg.remotes[0].addr.addr)->sin6_addr);
	limits_set(&cfg, 1);
	free(cfg.remotes);
	for (i = 0; i < 5; i++) {
		char src[32];

		snprintf(src, sizeof(src), "198.18.%d.1", 70 + i);
		assert_int_equal(outcome("www.example.com", 15, src), V_PASS);
	}
	o.flags = 0;
	flen = query_from("www.example.com", &o, "198.18.80.1", frame, dns, &dlen);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_DROP);
	assert_int_equal(delta(&r, XDPNS_CNT_PASS_LIMIT_TOTAL), 1);
	assert_int_equal(outcome("www.example.com", 15, "fd00:5353::99"), V_PASS);
	assert_int_equal(outcome("www.example.com", 15, "fd00:5353::98"), V_DROP);
	limits_off();
}

/* What RRL costs a hit: ns per run over many runs (printed, not judged:
 * a shared machine is noisy), with RRL off and on (within its rate). */
static void t_rrl_cost(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 40 };
	uint8_t frame[FR_MAX], dns[FR_MAX], out[FR_MAX + 512];
	size_t dlen, flen = query_from("www.example.com", &o, "198.18.90.1",
				       frame, dns, &dlen);
	struct config cfg;
	double ns[2];
	int on;

	(void)state;
	/* one run per call: repeated runs would see the frame rewritten */
	for (on = 0; on < 2; on++) {
		uint64_t sum = 0;
		int i;

		rrl_cfg(&cfg, 1000000, 2, 15);
		cfg.rrl.enabled = on;
		limits_set(&cfg, 1);
		for (i = 0; i < 20000; i++) {
			LIBBPF_OPTS(bpf_test_run_opts, opts);

			opts.data_in = frame;
			opts.data_size_in = flen;
			opts.data_out = out;
			opts.data_size_out = sizeof(out);
			opts.repeat = 1;
			assert_int_equal(bpf_prog_test_run_opts(loader_prog_fd(&ld),
								&opts), 0);
			assert_int_equal(opts.retval, XDP_TX);
			sum += opts.duration;
		}
		ns[on] = sum / 20000.0;
	}
	printf("  A hit: %.0f ns per run with RRL off, %.0f ns with RRL on\n",
	       ns[0], ns[1]);
	limits_off();
}


/* A and AAAA bodies (16 and 28 bytes) live in the XS class (48-byte
 * values); XDP expands them and answers byte for byte as the slow path,
 * with and without EDNS/DO, over IPv4 and IPv6. */
static void t_xs_blob(void **state)
{
	static const struct {
		const char *name;
		uint16_t qtype;
		int cls;
	} cases[] = {
		{ "www.example.com", 1, XDPNS_BLOB_XS },
		{ "www.example.com", 28, XDPNS_BLOB_XS },
		{ "ns1.example.com", 1, XDPNS_BLOB_XS },
		{ "big.example.com", 16, XDPNS_BLOB_L },
	};
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mapsync_probe p;
		uint8_t w[300];
		size_t wl = fr_name(w, cases[i].name);

		assert_int_equal(mapsync_probe(ms, w, wl, cases[i].qtype, 0, &p), 0);
		assert_true(p.found);
		assert_int_equal(p.cls, cases[i].cls);
		for (v = 0; v < 8; v++) {
			struct frame_opts o = { .qtype = cases[i].qtype, .id = 40 + v,
						.ipv6 = v & 1, .edns = (v >> 1) & 1,
						.dnssec_ok = (v >> 2) & 1,
						.udp_size = 1232 };

			if (cases[i].cls == XDPNS_BLOB_L && !o.edns)
				continue; /* TC without EDNS: t_truncated_reply */
			if (o.dnssec_ok && !o.edns)
				continue;
			expect_answer(cases[i].name, &o, 0, 0);
		}
	}
}

/* The blob classes are sized from an estimate of each key's body
 * (mapsync_count): it must not be short of what a publish really takes
 * in any class, and must not put larger answers in the XS class. */
static void t_blob_estimate(void **state)
{
	static char text[32768];
	struct mapsync_sizes sz;
	struct mapsync_stats st0, st1;
	struct zone *z;
	size_t n = 0;
	int i, c;

	(void)state;
	n += snprintf(text + n, sizeof(text) - n,
		      "$ORIGIN sizes.test.\n$TTL 300\n"
		      "@ SOA ns1 hostmaster 1 3600 600 604800 300\n"
		      "@ NS ns1\n@ NS ns2\nns1 A 198.18.1.1\nns2 A 198.18.1.2\n"
		      "@ MX 10 mx1\nmx1 A 198.18.1.3\nmx1 AAAA fd00:5353::13\n"
		      "alias CNAME h1\n");
	for (i = 0; i < 40; i++) /* 40 A, 20 AAAA: XS */
		n += snprintf(text + n, sizeof(text) - n, "h%d A 198.18.2.%d\n", i, i);
	for (i = 0; i < 20; i++)
		n += snprintf(text + n, sizeof(text) - n, "h%d AAAA fd00:5353::2:%x\n",
			      i, i);
	for (i = 0; i < 12; i++) /* ~70 bytes: S */
		n += snprintf(text + n, sizeof(text) - n,
			      "t%d TXT \"record number %d of the zone, in the S class\"\n",
			      i, i);
	for (i = 0; i < 5; i++) /* ~300 bytes: M */
		n += snprintf(text + n, sizeof(text) - n, "m%d TXT \"%0250d\"\n", i, i);
	for (i = 0; i < 2; i++) /* 3 x 250: L */
		n += snprintf(text + n, sizeof(text) - n,
			      "l%d TXT \"%0250d\"\nl%d TXT \"%0249d\"\nl%d TXT \"%0248d\"\n",
			      i, i, i, i, i, i);
	z = load_text(text, "sizes.test");
	assert_non_null(z);
	memset(&sz, 0, sizeof(sz));
	mapsync_count(z, &sz);
	zone_free(z);
	mapsync_get_stats(ms, &st0);
	assert_int_equal(publish_zone(Z_SIZES, text, "sizes.test"), 0);
	mapsync_get_stats(ms, &st1);
	for (c = 1; c < XDPNS_BLOB_CLASSES; c++) {
		uint64_t used = st1.blobs[c] - st0.blobs[c];

		if (used > sz.blobs[c])
			fail_msg("class %d: %llu bodies, %llu estimated", c,
				 (unsigned long long)used,
				 (unsigned long long)sz.blobs[c]);
		assert_true(sz.zone_blobs_max[c] == sz.blobs[c]);
	}
	/* XS: the 64 A/AAAA keys (h*, ns1, ns2, mx1 x2), and the keys whose
	 * range reaches down to it: the CNAME's 7 (its own, the CNAME answers
	 * of apex_extra's types) and the apex MX (before glue; counted as a
	 * set and as an apex type); no TXT, NS, SOA or NODATA */
	assert_int_equal(sz.blobs[XDPNS_BLOB_XS], 64 + 7 + 2);
	assert_true(sz.blobs[XDPNS_BLOB_S] >= 12);
	assert_true(sz.blobs[XDPNS_BLOB_M] >= 5);
	assert_true(sz.blobs[XDPNS_BLOB_L] >= 2 && sz.blobs[XDPNS_BLOB_L] < 10);
	assert_int_equal(mapsync_remove(ms, Z_SIZES), 0);
	zone_free(ezs[Z_SIZES].zone);
	ezs[Z_SIZES].zone = NULL;
}

/* The generation of the half that answers for (name, qtype) now. */
static uint32_t live_half_gen(const char *name, uint16_t qtype)
{
	struct xdpns_entry ent;
	const struct xdpns_half *h;
	uint8_t w[300];
	size_t wl = fr_name(w, name);

	if (mapsync_entry(ms, w, wl, qtype, &ent))
		return 0;
	h = xdpns_half_pick(&ent, mapsync_generation(ms, 0));
	return h ? h->gen : 0;
}

/* An IXFR touching www (and the SOA), deleting only1 and adding new3:
 * only the entries those names reach are compiled and written; every
 * other entry is not rewritten and answers across the flip from the half
 * it had. */
/* The key state keeps each key's DO=1 ref apart only once some key's
 * differs from its DO=0 one (a signed zone): an identical republish
 * writes nothing, and going unsigned -> signed -> unsigned -> signed
 * (different data each way) releases every blob the other version held:
 * the blob count ends where it began. */
static uint64_t blob_count(void)
{
	struct mapsync_stats st;
	uint64_t n = 0;
	int c;

	mapsync_get_stats(ms, &st);
	for (c = 0; c < XDPNS_BLOB_CLASSES; c++)
		n += st.blobs[c];
	return n;
}

static void t_key_state_refs(void **state)
{
	static const char unsigned_zone[] =
		"$ORIGIN signed.test.\n$TTL 3600\n"
		"@ SOA ns hostmaster 1 3600 600 604800 300\n"
		"@ NS ns\nns A 198.18.3.54\nu TXT \"unsigned only\"\n";
	struct mapsync_stats st;
	uint64_t b0, u0;
	int i;

	(void)state;
	/* each publish also frees what the one before it retired */
	assert_int_equal(publish_zone(Z_SIGNED, signed_zone, "signed.test"), 0);
	assert_int_equal(publish_zone(Z_SIGNED, signed_zone, "signed.test"), 0);
	mapsync_get_stats(ms, &st);
	assert_int_equal(st.last_written, 0);
	b0 = blob_count();
	/* a fresh key state (no DO=1 refs apart), then each version twice */
	assert_int_equal(mapsync_remove(ms, Z_SIGNED), 0);
	assert_int_equal(publish_zone(Z_SIGNED, unsigned_zone, "signed.test"), 0);
	assert_int_equal(publish_zone(Z_SIGNED, unsigned_zone, "signed.test"), 0);
	mapsync_get_stats(ms, &st);
	assert_int_equal(st.last_written, 0);
	u0 = blob_count();
	for (i = 0; i < 2; i++) {
		assert_int_equal(publish_zone(Z_SIGNED, signed_zone, "signed.test"), 0);
		assert_int_equal(publish_zone(Z_SIGNED, signed_zone, "signed.test"), 0);
		mapsync_get_stats(ms, &st);
		assert_int_equal(st.last_written, 0);
		assert_int_equal(blob_count(), b0);
		if (i)
			break;
		assert_int_equal(publish_zone(Z_SIGNED, unsigned_zone, "signed.test"), 0);
		assert_int_equal(publish_zone(Z_SIGNED, unsigned_zone, "signed.test"), 0);
		assert_int_equal(blob_count(), u0);
	}
}

static void t_incremental_publish(void **state)
{
	static const char *const changed[] = { "example.com", "www.example.com",
					       "only1.example.com", "new3.example.com",
					       NULL };
	struct frame_opts o = { .qtype = 1, .id = 50 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	struct mapsync_stats st;
	uint32_t gen, ns1_gen, big_gen;
	size_t dlen, flen;
	struct run r;

	(void)state;
	assert_int_equal(publish_version(1), 0);
	gen = mapsync_generation(ms, 0);
	ns1_gen = live_half_gen("ns1.example.com", 1);
	big_gen = live_half_gen("big.example.com", 16);
	assert_int_not_equal(ns1_gen, 0);
	assert_int_equal(publish_version_names(3, changed), 0);
	assert_int_equal(mapsync_generation(ms, 0), gen + 1);
	mapsync_get_stats(ms, &st);
	/* compiled: the apex and its NODATA shapes, www, new3, and ftp (a
	 * CNAME to www); never ns1, big or the long name */
	fprintf(stderr, "  incremental: %llu keys compiled, %llu written, %llu entries\n",
		(unsigned long long)st.last_compiled,
		(unsigned long long)st.last_written, (unsigned long long)st.entries);
	assert_true(st.last_compiled > 0);
	assert_true(st.last_compiled < st.entries);
	assert_true(st.last_written >= 3); /* www A, new3 A, only1 dropped */
	assert_true(st.last_written <= st.last_compiled + 1);
	/* untouched entries: the same half, still answering */
	assert_int_equal(live_half_gen("ns1.example.com", 1), ns1_gen);
	assert_int_equal(live_half_gen("big.example.com", 16), big_gen);
	expect_answer("ns1.example.com", &o, 0, 0);
	/* the changed ones answer the new data, from the new half */
	assert_int_equal(live_half_gen("www.example.com", 1), gen + 1);
	flen = make_query("www.example.com", &o, frame, dns, &dlen);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(r.out[r.out_len - 1], 83);
	expect_answer("www.example.com", &o, 0, 0);
	expect_answer("ftp.example.com", &o, 0, 0); /* CNAME to www: .83 */
	expect_answer("new3.example.com", &o, 0, 0);
	expect_nx("only1.example.com", &o); /* gone: NXDOMAIN made in XDP */
	/* an unchanged AAAA at a changed name: compiled, not written */
	assert_true(live_half_gen("www.example.com", 28) <= gen);
	/* a change at www alone (the apex left out on purpose): ftp, a
	 * CNAME to www, is found through the zone's list of pointing names
	 * and recompiled with it */
	{
		static const char *const www_only[] = { "www.example.com",
							"only1.example.com",
							"new3.example.com", NULL };

		assert_int_equal(publish_version_names(1, www_only), 0);
		mapsync_get_stats(ms, &st);
		assert_true(st.last_compiled <= 1 + 1 + 1 + 7);
		expect_answer("www.example.com", &o, 0, 0);
		expect_answer("ftp.example.com", &o, 0, 0);
		flen = make_query("ftp.example.com", &o, frame, dns, &dlen);
		run_frame(frame, flen, &r);
		assert_int_equal(r.out[r.out_len - 1], 80);
	}
	/* back to version 1 with a whole publish: every other test's zone */
	assert_int_equal(publish_version(1), 0);
	expect_answer("only1.example.com", &o, 0, 0);
	expect_nx("new3.example.com", &o); /* gone again */

	/* a change at names that stay (the apex, www): no name for NXDOMAIN
	 * is written, the served ones stand for the new generation too */
	{
		static const char *const stay[] = { "example.com",
						    "www.example.com", NULL };

		assert_int_equal(publish_version_names(1, stay), 0);
		mapsync_get_stats(ms, &st);
		assert_int_equal(st.last_names_written, 0);
		expect_nx("zz.example.com", &o);
		expect_nx("new3.example.com", &o);
		expect_answer("only1.example.com", &o, 0, 0);
		/* twice in a row: the names are in whichever half they were */
		assert_int_equal(publish_version_names(1, stay), 0);
		expect_nx("zz.example.com", &o);
		/* a name that comes and one that goes: those two written */
		assert_int_equal(publish_version_names(3, changed), 0);
		mapsync_get_stats(ms, &st);
		assert_int_equal(st.last_names_written, 2);
		expect_answer("new3.example.com", &o, 0, 0);
		expect_nx("only1.example.com", &o);
		expect_nx("zz.example.com", &o);
		expect_nx("zz.only1.example.com", &o);
		/* a whole publish compares every name: the same two back */
		assert_int_equal(publish_version(1), 0);
		mapsync_get_stats(ms, &st);
		assert_int_equal(st.last_names_written, 2);
		expect_answer("only1.example.com", &o, 0, 0);
		expect_nx("new3.example.com", &o);
	}
}

/* A publish that does not fit (more long names than the 256-byte class
 * holds) fails and changes nothing served: the old answers, no half of
 * the failed generation left behind, and the next publish (which reuses
 * that generation number) is clean. */
static void t_failed_publish_changes_nothing(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 60 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen, len, i, n = 6000; /* the class-256 map holds 4096 */
	char err[512], *text;
	struct zone *z = NULL, *old;
	uint32_t gen;
	struct run r;
	FILE *f;

	(void)state;
	assert_int_equal(publish_version(1), 0);
	gen = mapsync_generation(ms, 0);
	len = strlen(zone_text(2)) + n * 160 + 1;
	text = malloc(len);
	assert_non_null(text);
	strcpy(text, zone_text(2)); /* www moves to .81, only1 goes */
	for (i = 0; i < n; i++)
		sprintf(text + strlen(text), "h%zu.%s.%s.example.com. A 198.18.0.7\n",
			i, LONG_LABEL, LONG_LABEL);
	f = fopen(zone_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	assert_int_equal(zone_load_file(zone_path, "example.com", &z, err, sizeof(err)), 0);
	old = ezs[0].zone;
	ezs[0].zone = z;
	assert_int_not_equal(mapsync_publish(ms, &eng, &ezs[0]), 0);
	ezs[0].zone = old; /* as the daemon does: the served zone stays */
	zone_free(z);
	assert_int_equal(mapsync_generation(ms, 0), gen);
	/* the old answers, from their old halves */
	assert_true(live_half_gen("www.example.com", 1) <= gen);
	flen = make_query("www.example.com", &o, frame, dns, &dlen);
	run_frame(frame, flen, &r);
	assert_int_equal(r.verdict, XDP_TX);
	assert_int_equal(r.out[r.out_len - 1], 80);
	expect_answer("only1.example.com", &o, 0, 0);
	/* a name only the failed generation has: NXDOMAIN, from the names
	 * of the served one */
	expect_nx("h1." LONG_LABEL "." LONG_LABEL ".example.com", &o);
	/* no half of the failed generation is left to surface later */
	{
		struct xdpns_entry ent;
		uint8_t w[300];
		size_t wl = fr_name(w, "www.example.com");

		assert_int_equal(mapsync_entry(ms, w, wl, 1, &ent), 0);
		assert_true(ent.half[0].gen <= gen && ent.half[1].gen <= gen);
	}
	/* and the next publish goes through */
	assert_int_equal(publish_version(2), 0);
	assert_int_equal(mapsync_generation(ms, 0), gen + 1);
	flen = make_query("www.example.com", &o, frame, dns, &dlen);
	run_frame(frame, flen, &r);
	assert_int_equal(r.out[r.out_len - 1], 81);
	assert_int_equal(publish_version(1), 0);
	expect_answer("only1.example.com", &o, 0, 0);
}

/* ---- the entries table (docs/design.md "The entries table") ---- */

/* The home slot of (name, qtype) in the 32-byte table t. */
static uint32_t name_home(const struct etable *t, const char *name, uint16_t qtype)
{
	struct xdpns_key k;
	uint8_t w[300];
	size_t wl = fr_name(w, name);

	mapsync_key(&k, w, wl, qtype);
	return etable_home(t, &k);
}

/* The address's last byte in an A answer XDP sent for name, or -1. */
static int a_answer_byte(const char *name)
{
	struct frame_opts o = { .qtype = 1, .id = 70 };
	uint8_t frame[FR_MAX], dns[FR_MAX];
	size_t dlen, flen = make_query(name, &o, frame, dns, &dlen);
	struct run r;

	run_frame(frame, flen, &r);
	if (r.verdict != XDP_TX || delta(&r, XDPNS_CNT_RCODE_BASE + 0) != 1)
		return -1;
	return r.out[r.out_len - 1];
}

#define T_N (XDPNS_TABLE_PROBES + 2) /* names with one home: 2 overflow */

/* Names "t<i>.SUFFIX" whose keys of qtype (A; 0: the name itself in the
 * names table) share one home slot h, whose probe was never used: T_N + 1
 * of them (the last for the reuse). */
static void colliding_names(const struct etable *t, const char *suffix,
			    uint16_t qtype, char names[][40], uint32_t *h)
{
	uint32_t i, n = 0, j;

	for (i = 0; n < T_N + 1; i++) {
		char cand[40];
		uint32_t hm;

		snprintf(cand, sizeof(cand), "t%u.%s", i, suffix);
		hm = name_home(t, cand, qtype);
		if (!n) {
			for (j = 0; j < XDPNS_TABLE_PROBES; j++)
				if (etable_state(t, hm + j) >= 0)
					break;
			if (j < XDPNS_TABLE_PROBES)
				continue;
			*h = hm;
		} else if (hm != *h) {
			continue;
		}
		memcpy(names[n++], cand, sizeof(cand));
	}
}

/* The example zone plus names[i] A 198.18.7.(i + 1) for each i in use. */
static int publish_with(char names[][40], const int *use)
{
	static char text[16384];
	int i;

	snprintf(text, sizeof(text), "%s", zone_text(1));
	for (i = 0; i < T_N + 1; i++)
		if (use[i])
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "%s. A 198.18.7.%d\n", names[i], i + 1);
	return publish_zone(0, text, "example.com");
}

/* Where the T_N colliding names of a table landed: each slot of the
 * home's probe once, 2 in the overflow hash (its home slot counts them). */
struct tally {
	int seen[XDPNS_TABLE_PROBES];
	int n_ovf, at_home, in_ovf; /* at_home, in_ovf: a name there */
};

static void tally_add(struct tally *t, int i, long slot, uint32_t h)
{
	if (slot < 0) {
		t->n_ovf++;
		t->in_ovf = i;
		return;
	}
	assert_true(slot >= (long)h && slot < (long)h + XDPNS_TABLE_PROBES);
	t->seen[slot - h]++;
	if (slot == (long)h)
		t->at_home = i;
}

static void tally_check(const struct tally *t, const struct etable *et, uint32_t h)
{
	int i;

	assert_int_equal(t->n_ovf, 2);
	for (i = 0; i < XDPNS_TABLE_PROBES; i++)
		assert_int_equal(t->seen[i], 1);
	assert_int_equal(etable_ovf(et, h), 2);
}

/* Publish without names a and b (one at h, one in the overflow): h's slot
 * dead, one name left in the overflow, both of them NXDOMAIN now. */
static void publish_without(char names[][40], int *use, int a, int b,
			    const struct etable *t, uint32_t h,
			    const struct frame_opts *o)
{
	use[a] = use[b] = 0;
	assert_int_equal(publish_with(names, use), 0);
	assert_int_equal(etable_state(t, h), XDPNS_SLOT_DEAD);
	assert_int_equal(etable_ovf(t, h), 1);
	expect_nx(names[a], o);
	expect_nx(names[b], o);
}

/*
 * T_N names whose keys share a home slot: XDPNS_TABLE_PROBES of them fill
 * its probe (found after probing up to 7 slots on), 2 go to the overflow
 * hash (the home slot counts them); every one answered by XDP with its own
 * bytes. Then two of them deleted (one from the home slot, one from the
 * overflow): misses (NXDOMAIN from the names), while the keys behind the
 * dead slot still answer. Then a new key with the same home reuses the
 * dead slot after the grace period, and the deleted key that had it does
 * not get its answer.
 */
static void t_table_probe(void **state)
{
	struct frame_opts o = { .qtype = 1, .id = 71 };
	struct tally ty = { .at_home = -1, .in_ovf = -1 };
	char names[T_N + 1][40];
	int use[T_N + 1], i, at_home, in_ovf;
	struct mapsync_stats st;
	struct mapsync_probe p;
	struct etable t;
	uint32_t h;

	(void)state;
	assert_int_equal(etable_init(&t, 0, fds.table_mem[0], fds.n_table[0],
				     fds.table_home[0]), 0);
	colliding_names(&t, "example.com", 1, names, &h);
	for (i = 0; i < T_N + 1; i++)
		use[i] = i < T_N;
	assert_int_equal(publish_with(names, use), 0);
	for (i = 0; i < T_N; i++) {
		uint8_t w[300];
		size_t wl = fr_name(w, names[i]);

		assert_int_equal(mapsync_probe(ms, w, wl, 1, 0, &p), 0);
		assert_true(p.found);
		assert_int_equal(p.overflow, p.slot == -1);
		if (!p.overflow)
			assert_int_equal(p.probe, p.slot - h);
		tally_add(&ty, i, p.slot, h);
		/* XDP's answer: this name's bytes, wherever the key is */
		expect_answer(names[i], &o, 0, 0);
		assert_int_equal(a_answer_byte(names[i]), i + 1);
	}
	tally_check(&ty, &t, h);
	at_home = ty.at_home;
	in_ovf = ty.in_ovf;
	mapsync_get_stats(ms, &st);
	assert_int_equal(st.entries_overflow, 2);

	/* deleted: the key at the home slot and one in the overflow */
	publish_without(names, use, at_home, in_ovf, &t, h, &o);
	for (i = 0; i < T_N; i++)
		if (use[i]) {
			expect_answer(names[i], &o, 0, 0);
			assert_int_equal(a_answer_byte(names[i]), i + 1);
		}

	/* reused: a new key with the same home takes the dead slot once
	 * its grace period is over (the publish waits it out) */
	use[T_N] = 1;
	assert_int_equal(publish_with(names, use), 0);
	{
		uint8_t w[300];
		size_t wl = fr_name(w, names[T_N]);

		assert_int_equal(mapsync_probe(ms, w, wl, 1, 0, &p), 0);
		assert_true(p.found);
		assert_int_equal(p.slot, (long)h);
	}
	assert_int_equal(etable_state(&t, h), XDPNS_SLOT_LIVE);
	expect_answer(names[T_N], &o, 0, 0);
	assert_int_equal(a_answer_byte(names[T_N]), T_N + 1);
	expect_nx(names[at_home], &o); /* not the new key's answer */
	for (i = 0; i < T_N; i++)
		if (use[i])
			assert_int_equal(a_answer_byte(names[i]), i + 1);

	/* back to the example zone: every one of them gone */
	assert_int_equal(publish_version(1), 0);
	for (i = 0; i < T_N + 1; i++)
		expect_nx(names[i], &o);
	assert_int_equal(etable_ovf(&t, h), 0);
	mapsync_get_stats(ms, &st);
	assert_int_equal(st.entries_overflow, 0);
}

/* A reader on another CPU while publishes delete keys and reuse their
 * slots for others (two sets of names with one home slot, alternating):
 * every answer XDP gives is the asked name's own; misses (NXDOMAIN, pass)
 * are fine. */
struct reader {
	char (*names)[40];
	volatile int stop;
	uint64_t runs, answers, wrong;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	static uint8_t frames[T_N + 1][FR_MAX];
	size_t flen[T_N + 1];
	int i;

	if (sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(1, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	for (i = 0; i < T_N + 1; i++) {
		struct frame_opts o = { .qtype = 1, .id = 80 + i };
		uint8_t dns[FR_MAX];
		size_t dlen;

		flen[i] = make_query(rd->names[i], &o, frames[i], dns, &dlen);
	}
	while (!rd->stop) {
		for (i = 0; i < T_N + 1; i++) {
			LIBBPF_OPTS(bpf_test_run_opts, opts);
			uint8_t in[FR_MAX], out[FR_MAX + 512];
			size_t l4 = 14 + 20 + 8;

			memcpy(in, frames[i], flen[i]);
			opts.data_in = in;
			opts.data_size_in = flen[i];
			opts.data_out = out;
			opts.data_size_out = sizeof(out);
			opts.repeat = 1;
			if (bpf_prog_test_run_opts(loader_prog_fd(&ld), &opts))
				continue;
			rd->runs++;
			if (opts.retval != XDP_TX || (out[l4 + 3] & 0xf) != 0 ||
			    out[l4 + 7] != 1)
				continue; /* a miss, NXDOMAIN: fine */
			rd->answers++;
			if (out[opts.data_size_out - 1] != i + 1)
				rd->wrong++;
		}
	}
	return NULL;
}

static void t_table_readers(void **state)
{
	char names[T_N + 1][40];
	int use[T_N + 1], round, i;
	struct reader rd = { .names = names };
	struct frame_opts o = { .qtype = 1, .id = 72 };
	struct etable t;
	pthread_t th;
	uint32_t h;

	(void)state;
	assert_int_equal(etable_init(&t, 0, fds.table_mem[0], fds.n_table[0],
				     fds.table_home[0]), 0);
	colliding_names(&t, "example.com", 1, names, &h);
	assert_int_equal(pthread_create(&th, NULL, reader_main, &rd), 0);
	for (round = 0; round < 24; round++) {
		for (i = 0; i < T_N + 1; i++)
			use[i] = (i < 5) == !(round & 1);
		assert_int_equal(publish_with(names, use), 0);
	}
	rd.stop = 1;
	pthread_join(th, NULL);
	fprintf(stderr, "  readers: %llu runs, %llu answers, %llu not the name's own\n",
		(unsigned long long)rd.runs, (unsigned long long)rd.answers,
		(unsigned long long)rd.wrong);
	assert_true(rd.answers > 100);
	assert_int_equal(rd.wrong, 0);
	assert_int_equal(publish_version(1), 0);
	for (i = 0; i < T_N + 1; i++)
		expect_nx(names[i], &o);
}

/*
 * The names table (NXDOMAIN in XDP) as t_table_probe the entries': T_N
 * names sharing a home slot, XDPNS_TABLE_PROBES of them in its probe, 2
 * in the overflow hash, each found by XDP's walk (a query of another type
 * for the name itself passes: it exists; missed, XDP would answer
 * NXDOMAIN from the apex) and the encloser of its missing children. Then
 * the name at home and one in the overflow deleted (their children's
 * walk reaches the apex; the names answer NXDOMAIN), the dead slot reused
 * by a new name after the grace period, and all of them gone.
 */
static void t_nx_table_probe(void **state)
{
	struct frame_opts o = { .qtype = 16, .id = 72 };
	struct tally ty = { .at_home = -1, .in_ovf = -1 };
	char names[T_N + 1][40], child[512];
	int use[T_N + 1], i, at_home, in_ovf;
	struct mapsync_probe p;
	struct etable t;
	uint8_t w[300];
	size_t wl;
	uint32_t h;

	(void)state;
	assert_int_equal(etable_init_names(&t, 0, fds.nx.table_mem[0],
					   fds.nx.n_table[0], fds.nx.table_home[0]), 0);
	colliding_names(&t, "example.com", 0, names, &h);
	for (i = 0; i < T_N + 1; i++)
		use[i] = i < T_N;
	assert_int_equal(publish_with(names, use), 0);
	for (i = 0; i < T_N; i++) {
		snprintf(child, sizeof(child), "zz.%s", names[i]);
		wl = fr_name(w, child);
		assert_int_equal(mapsync_probe(ms, w, wl, 1, 0, &p), 0);
		assert_true(p.from_nx);
		assert_int_equal(p.nx_encloser_at, 3);
		tally_add(&ty, i, p.nx_slot, h);
		expect_pass(names[i], &o, XDPNS_PASS_MISS);
		expect_nx(child, &o);
	}
	tally_check(&ty, &t, h);
	at_home = ty.at_home;
	in_ovf = ty.in_ovf;

	publish_without(names, use, at_home, in_ovf, &t, h, &o);
	for (i = 0; i < T_N; i++)
		if (use[i])
			expect_pass(names[i], &o, XDPNS_PASS_MISS);

	/* the dead slot is freed once its grace period (from the commit) is
	 * over, at the next publish */
	usleep((NXSYNC_GRACE_MS + 10) * 1000);
	use[T_N] = 1;
	assert_int_equal(publish_with(names, use), 0);
	snprintf(child, sizeof(child), "zz.%s", names[T_N]);
	wl = fr_name(w, child);
	assert_int_equal(mapsync_probe(ms, w, wl, 1, 0, &p), 0);
	assert_true(p.from_nx);
	assert_int_equal(p.nx_slot, (long)h);
	assert_int_equal(etable_state(&t, h), XDPNS_SLOT_LIVE);
	expect_pass(names[T_N], &o, XDPNS_PASS_MISS);
	expect_nx(names[at_home], &o);

	assert_int_equal(publish_version(1), 0);
	for (i = 0; i < T_N + 1; i++)
		expect_nx(names[i], &o);
	assert_int_equal(etable_ovf(&t, h), 0);
}

/* The names a zone inside move.test takes over, as the outer zone
 * serves them: a table slot (www.kid), a 143-byte name, 76-byte names
 * (their class's hash) and T_N names with one home slot (2 of them in the
 * table's overflow hash); and the XDP verdicts engine fe's data gives
 * there. */
#define MOVED_LONG 16
#define N_MOVED (2 + MOVED_LONG + T_N)
static char moved_coll[T_N + 1][40];

static const char *moved_name(size_t i, char *buf)
{
	if (i == 0)
		return "www.kid.move.test";
	if (i == 1)
		return "moved." L60 "." L60 ".kid.move.test";
	if (i >= 2 + MOVED_LONG)
		return moved_coll[i - 2 - MOVED_LONG];
	snprintf(buf, 300, "m%zu.%s.kid.move.test", i - 2, L60);
	return buf;
}

/* moved_coll: names whose A keys share a home slot of the 32-byte table
 * whose probe was never used (the first T_N are used) */
static void moved_colliding(void)
{
	struct etable t;
	uint32_t h;

	assert_int_equal(etable_init(&t, 0, fds.table_mem[0], fds.n_table[0],
				     fds.table_home[0]), 0);
	colliding_names(&t, "kid.move.test", 1, moved_coll, &h);
}

static void expect_moved(const struct engine *fe, int kid)
{
	struct frame_opts o = { .qtype = 1, .id = 190, .edns = 1, .udp_size = 1232 };
	const struct engine *saved = ref;
	char buf[300];
	size_t i;

	ref = fe;
	for (i = 0; i < N_MOVED; i++) {
		expect_answer(moved_name(i, buf), &o, 0, 0);
		assert_int_equal(last_nx_synth, 0);
	}
	ref = saved;
	expect_walk(fe, "zz.www.kid.move.test", 'N');
	expect_walk(fe, "zz.kid.move.test", 'N');
	/* names that exist (MX: no entry) are never NXDOMAIN: passed */
	expect_walk(fe, "www.kid.move.test", 'P');
	if (!kid) {
		expect_walk(fe, "kid.move.test", 'P');
	} else { /* the kid's apex: its NODATA shape is an entry */
		struct frame_opts mx = { .qtype = 15, .id = 192 };

		ref = fe;
		expect_answer("kid.move.test", &mx, 0, 0);
		ref = saved;
	}
}

/* move.test (octet 0: 198.18.10.x) or kid.move.test (10: 198.18.10.1x)
 * with the moved names, and n more 142-byte names in the kid */
static struct zone *move_zone(int kid, size_t n)
{
	size_t i, len = 4096 + (N_MOVED + n) * 160;
	char *text = malloc(len), buf[300];
	struct zone *z;

	assert_non_null(text);
	snprintf(text, len, "$ORIGIN %s.\n$TTL 3600\n"
		 "@ SOA ns h %d 3600 600 604800 300\n@ NS ns\nns A 198.18.10.%d\n",
		 kid ? "kid.move.test" : "move.test", kid ? 7 : 1, kid ? 54 : 53);
	for (i = 0; i < N_MOVED; i++)
		sprintf(text + strlen(text), "%s. A 198.18.10.%zu\n",
			moved_name(i, buf), (kid ? 100 : 0) + i + 1);
	for (i = 0; i < n; i++)
		sprintf(text + strlen(text), "h%zu.%s.%s.kid.move.test. A 198.18.10.7\n",
			i, L60, L60);
	z = load_text(text, kid ? "kid.move.test" : "move.test");
	free(text);
	assert_non_null(z);
	return z;
}

/*
 * A zone added inside another one (a reload) takes the keys the outer
 * zone served below its apex: a table slot (a new slot, the outer one's
 * killed), an element of a table's overflow hash or of a longer name's
 * hash (replaced). When that
 * publish fails and is undone, the outer zone must answer those names
 * from XDP again, with its own bytes, and its names must still stop
 * NXDOMAIN at them (nxsync gives them back); once the inner zone
 * publishes, they are its. Two failures: a real one (more 142-byte
 * names than their map holds: the table's classes and the 128-byte
 * class are written before the 256-byte one fails) and the fault hook's
 * (half the entries written: some keys replaced, some not). Slots of
 * their own; the engine as the daemon has it (the inner zone without
 * data until it publishes).
 */
static void t_nested_failed_publish(void **state)
{
	/* static: the reference engine of later tests if a check fails */
	static const uint32_t ps = 30, ks = 31;
	static struct engine_zone both[2] = { { .slot = 30 }, { .slot = 31 } };
	static struct engine pe = { .zones = both, .n_zones = 1 };
	static struct engine be = { .zones = both, .n_zones = 2 };
	struct frame_opts o = { .qtype = 1, .id = 191, .edns = 1, .udp_size = 1232 };
	char err[128];
	struct zone *kid;

	(void)state;
	moved_colliding();
	both[0].zone = move_zone(0, 0);
	assert_int_equal(mapsync_publish(ms, &pe, &both[0]), 0);
	expect_moved(&pe, 0);
	{
		struct mapsync_probe pr;
		int i, ovf = 0;

		for (i = 0; i < T_N; i++) {
			uint8_t w[300];
			size_t wl = fr_name(w, moved_coll[i]);

			assert_int_equal(mapsync_probe(ms, w, wl, 1, 0, &pr), 0);
			ovf += pr.overflow;
		}
		assert_int_equal(ovf, 2); /* the in-hash case is there */
	}

	/* the class-256 map holds 4096 */
	both[1].zone = move_zone(1, 6000);
	assert_int_not_equal(mapsync_publish(ms, &be, &both[1]), 0);
	zone_free(both[1].zone);
	both[1].zone = NULL; /* as the daemon does: the kid has no data */
	assert_int_equal(mapsync_generation(ms, ks), 0);
	expect_moved(&be, 0);

	assert_int_equal(fault_init("mapsync.publish:count=1", err, sizeof(err)), 0);
	both[1].zone = move_zone(1, 0);
	assert_int_equal(mapsync_publish(ms, &be, &both[1]), -ENOSPC);
	assert_int_equal(fault_init(NULL, err, sizeof(err)), 0);
	kid = both[1].zone;
	both[1].zone = NULL;
	assert_int_equal(mapsync_generation(ms, ks), 0);
	expect_moved(&be, 0);

	/* the kid as it should be: its answers, its NXDOMAIN */
	both[1].zone = kid;
	assert_int_equal(mapsync_publish(ms, &be, &both[1]), 0);
	expect_moved(&be, 1);
	{
		uint8_t frame[FR_MAX], dns[FR_MAX];
		size_t dlen, flen = make_query("www.kid.move.test", &o, frame, dns, &dlen);
		struct run r;

		run_frame(frame, flen, &r);
		/* 198.18.10.101, the last rdata byte before the 11-byte OPT */
		assert_int_equal(r.out[r.out_len - 1 - 11], 101);
	}

	/* as a reload goes on: the outer zone republished (it gives those
	 * keys up), later the kid removed and the outer zone republished
	 * (they are its again) */
	assert_int_equal(mapsync_publish(ms, &be, &both[0]), 0);
	expect_moved(&be, 1);
	assert_int_equal(mapsync_remove(ms, ks), 0);
	both[1].zone = NULL;
	assert_int_equal(mapsync_publish(ms, &pe, &both[0]), 0);
	expect_moved(&pe, 0);
	assert_int_equal(mapsync_remove(ms, ps), 0);
	zone_free(both[0].zone);
	zone_free(kid);
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
		cmocka_unit_test(t_rrl_off_limits_nothing),
		cmocka_unit_test(t_rrl_slip_pattern),
		cmocka_unit_test(t_rrl_slip_0_and_1),
		cmocka_unit_test(t_rrl_exempt),
		cmocka_unit_test(t_rrl_prefixes),
		cmocka_unit_test(t_rrl_kinds),
		cmocka_unit_test(t_rrl_refill),
		cmocka_unit_test(t_pass_limits),
		cmocka_unit_test(t_rrl_cost),
		cmocka_unit_test_setup(t_nx_shapes, nx_setup),
		cmocka_unit_test(t_nx_deep),
		cmocka_unit_test(t_nx_passes),
		cmocka_unit_test(t_nx_expired),
		cmocka_unit_test(t_nx_nested),
		cmocka_unit_test(t_nx_claim),
		cmocka_unit_test(t_nx_flip),
		cmocka_unit_test(t_nx_changes),
		cmocka_unit_test(t_nx_cost),
		cmocka_unit_test(t_xs_blob),
		cmocka_unit_test(t_key_state_refs),
		cmocka_unit_test(t_blob_estimate),
		cmocka_unit_test(t_incremental_publish),
		cmocka_unit_test(t_failed_publish_changes_nothing),
		cmocka_unit_test(t_nested_failed_publish),
		cmocka_unit_test(t_table_probe),
		cmocka_unit_test(t_nx_table_probe),
		cmocka_unit_test(t_table_readers),
	};

	return cmocka_run_group_tests_name("bpf", tests, setup, teardown);
}
