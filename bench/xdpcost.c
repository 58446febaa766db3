/*
 * xdpcost: the XDP program's cost per packet, measured in the kernel with
 * BPF_PROG_TEST_RUN on crafted frames, and variants of the program compared
 * with it on the same frames in the same run.
 *
 * The real object is loaded through the loader and its maps are filled by
 * the real map sync from the zone files given. Each further program (-p
 * NAME=OBJ: a variant of bpf/xdpns.bpf.c built with other flags, or the
 * reflector) is loaded with the same maps (reused by name), so every
 * program sees the same data.
 *
 * An answer rewrites the frame in place, so a run cannot be repeated on
 * the same buffer: each sample is one BPF_PROG_TEST_RUN with repeat = 1,
 * whose duration is the kernel's own clock around that one run (two clock
 * reads, like kernel.bpf_stats_enabled). The samples of all programs and
 * cases are interleaved in rounds, so machine noise hits them alike; the
 * report gives the median and the 10th percentile of each.
 *
 * Every variant's verdict and output bytes are compared with the real
 * program's (a variant that answers differently is reported, not timed
 * silently).
 *
 * Usage (root): xdpcost [-n SAMPLES] [-r ROUNDS] [-j FILE]
 *                       -z ORIGIN=ZONEFILE [-z ...] [-p NAME=OBJ ...]
 * The first zone gives the A/AAAA cases (www.ORIGIN); a second zone, if
 * given, the DO=1 case (www.ORIGIN2 A, EDNS 1232, DO).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "engine.h"
#include "loader.h"
#include "log.h"
#include "mapsync.h"
#include "zone.h"
#include "xdpns.skel.h"
#include "bpf/frames.h"

#define MAX_PROGS 16
#define MAX_ZONES 4
#define MAX_CASES 8

struct prog {
	const char *name;
	int fd;
	struct bpf_object *obj; /* NULL for the real program */
	int compare; /* output must equal the real program's */
};

struct tcase {
	char name[32];
	char qname[300];
	struct frame_opts o;
	uint8_t frame[FR_MAX];
	size_t len;
	int want_tx; /* the real program must answer it */
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("xdpcost: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Load the first program of obj with the real object's maps. */
static int load_variant(struct loader *ld, struct prog *p, const char *path)
{
	struct bpf_object *obj;
	struct bpf_program *bp;
	struct bpf_map *m;
	int r;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		die("cannot open %s: %s", path, strerror(errno));
	bpf_object__for_each_map(m, obj) {
		struct bpf_map *real =
			bpf_object__find_map_by_name(ld->skel->obj, bpf_map__name(m));

		const char *dot = strchr(bpf_map__name(m), '.');

		/* libbpf names it from the object file's name (xdpns_bp.rodata
		 * for xdpns.bpf.o, v1.bpf.rodata for v1.bpf.o): match the end */
		if (dot && strlen(bpf_map__name(m)) >= 7 &&
		    !strcmp(bpf_map__name(m) + strlen(bpf_map__name(m)) - 7, ".rodata")) {
			real = ld->skel->maps.rodata;
			/* the same read-only globals as the real program (the
			 * entries tables' home slot counts), if laid out alike */
			size_t sz = 0;
			const void *v = bpf_map__initial_value(real, &sz);

			if (v && sz == bpf_map__value_size(m) &&
			    (r = bpf_map__set_initial_value(m, v, sz)))
				die("%s: cannot set .rodata: %s", path, strerror(-r));
			continue;
		}
		if (!real || dot)
			continue; /* .bss and the like: its own */
		r = bpf_map__reuse_fd(m, bpf_map__fd(real));
		if (r)
			die("%s: cannot share map %s: %s", path, bpf_map__name(m),
			    strerror(-r));
	}
	r = bpf_object__load(obj);
	if (r)
		die("cannot load %s: %s", path, strerror(-r));
	bp = bpf_object__next_program(obj, NULL);
	if (!bp)
		die("%s has no program", path);
	p->obj = obj;
	p->fd = bpf_program__fd(bp);
	return 0;
}

static int repeat = 1; /* -R: only for frames the programs leave as they are */

static int run_once(int fd, const struct tcase *c, uint8_t *out, uint32_t *out_len,
		    uint32_t *retval, uint32_t *ns, int rep)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint8_t in[FR_MAX];
	int r;

	memcpy(in, c->frame, c->len);
	opts.data_in = in;
	opts.data_size_in = c->len;
	opts.data_out = out;
	opts.data_size_out = FR_MAX + 512;
	opts.repeat = rep;
	r = bpf_prog_test_run_opts(fd, &opts);
	if (r)
		return r;
	*out_len = opts.data_size_out;
	*retval = opts.retval;
	*ns = opts.duration;
	return 0;
}

static void add_case(struct tcase *c, const char *name, const char *qname,
		     uint16_t qtype, int ipv6, int dnssec_ok)
{
	uint8_t w[300], dns[FR_MAX];
	size_t wl, dl;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->qname, sizeof(c->qname), "%s", qname);
	c->o.ipv6 = ipv6;
	c->o.qtype = qtype;
	c->o.id = 0x1234;
	c->o.flags = 0x0100; /* RD, as kxdpgun sends */
	if (dnssec_ok) {
		c->o.edns = 1;
		c->o.dnssec_ok = 1;
		c->o.udp_size = 1232;
	}
	wl = fr_name(w, qname);
	dl = fr_dns(dns, w, wl, &c->o);
	c->len = fr_wrap(c->frame, dns, dl, &c->o);
}

int main(int argc, char **argv)
{
	static struct engine_zone ezs[MAX_ZONES];
	struct mapsync_sizes sizes = { 0 };
	static struct prog progs[MAX_PROGS];
	static struct tcase cases[MAX_CASES];
	static uint32_t *samples[MAX_CASES][MAX_PROGS];
	const char *origins[MAX_ZONES], *json = NULL;
	int n_zones = 0, n_progs = 1, n_cases = 0;
	int n_samples = 20000, rounds = 10, opt, i, j, k, rd;
	struct mapsync_fds fds;
	struct mapsync *ms;
	struct engine eng = { 0 };
	struct loader ld;
	char qn[300];
	FILE *jf = NULL;

	progs[0].name = "xdpns";
	while ((opt = getopt(argc, argv, "n:r:R:z:p:j:h")) != -1) {
		char *eq;

		switch (opt) {
		case 'n':
			n_samples = atoi(optarg);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'j':
			json = optarg;
			break;
		case 'R':
			repeat = atoi(optarg);
			break;
		case 'z':
		case 'p':
			eq = strchr(optarg, '=');
			if (!eq)
				die("-%c wants NAME=PATH, got '%s'", opt, optarg);
			*eq = 0;
			if (opt == 'z') {
				char err[512];
				struct zone *z = NULL;

				if (n_zones == MAX_ZONES)
					die("at most %d zones", MAX_ZONES);
				if (zone_load_file(eq + 1, optarg, &z, err, sizeof(err)))
					die("%s: %s", eq + 1, err);
				origins[n_zones] = optarg;
				ezs[n_zones].zone = z;
				ezs[n_zones].slot = n_zones;
				n_zones++;
			} else {
				if (n_progs == MAX_PROGS)
					die("at most %d programs", MAX_PROGS);
				progs[n_progs].name = optarg;
				progs[n_progs].fd = -1;
				progs[n_progs].compare = strncmp(optarg, "xdpns", 5) == 0;
				/* the path, loaded once the real object is */
				progs[n_progs].obj = (void *)(eq + 1);
				n_progs++;
			}
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n SAMPLES] [-r ROUNDS] [-j JSON] -z ORIGIN=FILE "
				"[-z ...] [-p NAME=OBJ ...]\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!n_zones)
		die("no zone (-z ORIGIN=FILE)");
	if (n_samples < rounds || rounds < 1)
		die("need SAMPLES >= ROUNDS >= 1");

	log_set_level(LOG_LVL_WARN);
	/* maps sized for these zones, as the daemon sizes them */
	for (i = 0; i < n_zones; i++)
		mapsync_count(ezs[i].zone, &sizes);
	if (loader_open(&ld, &sizes))
		die("cannot load the XDP object (root and BPF needed)");
	progs[0].fd = loader_prog_fd(&ld);
	for (i = 1; i < n_progs; i++)
		load_variant(&ld, &progs[i], (const char *)progs[i].obj);
	loader_fds(&ld, &fds);
	if (mapsync_new(&fds, &ms))
		die("mapsync_new failed");
	eng.zones = ezs;
	eng.n_zones = n_zones;
	for (i = 0; i < n_zones; i++)
		if (mapsync_publish(ms, &eng, &ezs[i]))
			die("publishing %s failed", origins[i]);

	snprintf(qn, sizeof(qn), "www.%s", origins[0]);
	add_case(&cases[n_cases], "a_v4", qn, 1, 0, 0);
	cases[n_cases++].want_tx = 1;
	add_case(&cases[n_cases], "aaaa_v6", qn, 28, 1, 0);
	cases[n_cases++].want_tx = 1;
	if (n_zones > 1) {
		snprintf(qn, sizeof(qn), "www.%s", origins[1]);
		add_case(&cases[n_cases], "do_signed", qn, 1, 0, 1);
		cases[n_cases++].want_tx = 1;
	}
	add_case(&cases[n_cases], "miss", "www.example.net", 1, 0, 0);
	cases[n_cases++].want_tx = 0;

	/* correctness first: each variant answers exactly as the real one */
	for (k = 0; k < n_cases; k++) {
		static uint8_t ref[FR_MAX + 512], out[FR_MAX + 512];
		uint32_t ref_len, ref_rv, len, rv, ns;

		if (run_once(progs[0].fd, &cases[k], ref, &ref_len, &ref_rv, &ns, 1))
			die("test run failed: %s", strerror(errno));
		if ((ref_rv == XDP_TX) != cases[k].want_tx)
			die("%s: the real program returned %u", cases[k].name, ref_rv);
		for (i = 1; i < n_progs; i++) {
			if (run_once(progs[i].fd, &cases[k], out, &len, &rv, &ns, 1))
				die("test run failed: %s", strerror(errno));
			if (progs[i].compare &&
			    (rv != ref_rv || len != ref_len || memcmp(out, ref, len)))
				die("%s: %s answers differently from xdpns "
				    "(verdict %u/%u, %u/%u bytes)", cases[k].name,
				    progs[i].name, rv, ref_rv, len, ref_len);
		}
	}

	for (k = 0; k < n_cases; k++)
		for (i = 0; i < n_progs; i++) {
			samples[k][i] = calloc(n_samples, sizeof(uint32_t));
			if (!samples[k][i])
				die("out of memory");
		}
	/* rounds: every program and case gets n_samples / rounds in a row */
	for (rd = 0; rd < rounds; rd++) {
		int per = n_samples / rounds, base = rd * per;

		if (rd == rounds - 1)
			per = n_samples - base;
		for (k = 0; k < n_cases; k++)
			for (i = 0; i < n_progs; i++)
				for (j = 0; j < per; j++) {
					static uint8_t out[FR_MAX + 512];
					uint32_t len, rv;

					if (run_once(progs[i].fd, &cases[k], out, &len, &rv,
						     &samples[k][i][base + j], repeat))
						die("test run failed: %s", strerror(errno));
				}
	}

	if (json) {
		jf = fopen(json, "w");
		if (!jf)
			die("%s: %s", json, strerror(errno));
		fprintf(jf, "{\"samples\": %d, \"rounds\": %d, \"cases\": {", n_samples,
			rounds);
	}
	printf("%-10s %-22s %8s %8s %8s %8s\n", "case", "program", "mean", "median",
	       "p10", "p90");
	for (k = 0; k < n_cases; k++) {
		if (jf)
			fprintf(jf, "%s\"%s\": {", k ? ", " : "", cases[k].name);
		for (i = 0; i < n_progs; i++) {
			uint32_t *s = samples[k][i];

			double mean = 0;
			int lo = n_samples / 20, hi = n_samples - n_samples / 20, m;

			qsort(s, n_samples, sizeof(*s), cmp_u32);
			/* the clock ticks in steps (10 ns here): the mean of the
			 * middle 90 % resolves what the median cannot */
			for (m = lo; m < hi; m++)
				mean += s[m];
			mean /= hi - lo;
			printf("%-10s %-22s %8.1f %8u %8u %8u\n", cases[k].name,
			       progs[i].name, mean, s[n_samples / 2], s[n_samples / 10],
			       s[n_samples * 9 / 10]);
			if (jf)
				fprintf(jf, "%s\"%s\": {\"mean90_ns\": %.1f, \"median_ns\": %u, "
					    "\"p10_ns\": %u, \"p90_ns\": %u}", i ? ", " : "",
					progs[i].name, mean, s[n_samples / 2], s[n_samples / 10],
					s[n_samples * 9 / 10]);
			free(s);
		}
		if (jf)
			fputs("}", jf);
	}
	if (jf) {
		fputs("}}\n", jf);
		fclose(jf);
	}
	for (i = 1; i < n_progs; i++)
		bpf_object__close(progs[i].obj);
	mapsync_free(ms);
	loader_close(&ld);
	for (i = 0; i < n_zones; i++)
		zone_free(ezs[i].zone);
	return 0;
}
