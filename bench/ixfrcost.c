// SPDX-License-Identifier: GPL-2.0
/*
 * What an IXFR of one record costs the daemon in proportion to the zone
 * (issue 6, NOTIFY to served): the copy of the served zone
 * (zone_clone_unfinished), the diff (the SOA replaced, one A added),
 * zone_finalize, and after the flip zone_free_into (the old zone's nodes
 * handed to the new one). No network, no maps.
 *
 *   make build/ixfrcost
 *   python3 bench/zone_gen.py scale.test 1000000 /tmp/z.zone
 *   build/ixfrcost /tmp/z.zone scale.test. [ROUNDS]
 *
 * Prints each round's stages in ms, then the median of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ldns/ldns.h>
#include "zone.h"

#define MAX_ROUNDS 100

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static ldns_rr *rr_of(const char *s)
{
	ldns_rr *r = NULL;

	return ldns_rr_new_frm_str(&r, s, 0, NULL, NULL) == LDNS_STATUS_OK ? r : NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static double st[4][MAX_ROUNDS];
	char why[256], line[512];
	struct zone *z = NULL;
	int k, rounds;
	double t;

	if (argc < 3) {
		fprintf(stderr, "usage: ixfrcost ZONEFILE ORIGIN [ROUNDS]\n");
		return 2;
	}
	rounds = argc > 3 ? atoi(argv[3]) : 7;
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 7;
	t = now_ms();
	if (zone_load_file(argv[1], argv[2], &z, why, sizeof(why))) {
		fprintf(stderr, "%s\n", why);
		return 1;
	}
	printf("loaded in %.0f ms: %zu names, table of %zu slots\n", now_ms() - t,
	       z->n_nodes, z->mask + 1);
	for (k = 0; k < rounds; k++) {
		ldns_rr *soa = zone_soa_ldns(z), *nsoa, *a;
		char *text = soa ? ldns_rdf2str(ldns_rr_rdf(soa, 0)) : NULL;
		char *mbox = soa ? ldns_rdf2str(ldns_rr_rdf(soa, 1)) : NULL;
		struct zone *c;
		double t0, t1, t2, t3, t4;
		int r;

		snprintf(line, sizeof(line), "%s 3600 IN SOA %s %s %u 3600 600 86400 300",
			 argv[2], text ? text : ".", mbox ? mbox : ".", z->serial + 1);
		free(text);
		free(mbox);
		nsoa = rr_of(line);
		snprintf(line, sizeof(line), "ixfrcost%d.%s 300 IN A 198.19.0.%d", k,
			 argv[2], k % 250);
		a = rr_of(line);
		if (!soa || !nsoa || !a) {
			fprintf(stderr, "cannot make the diff's records\n");
			return 1;
		}
		t0 = now_ms();
		c = zone_clone_unfinished(z);
		t1 = now_ms();
		if (!c || zone_del_rr(c, soa) || zone_add_rr(c, nsoa, why, sizeof(why)) ||
		    zone_add_rr(c, a, why, sizeof(why))) {
			fprintf(stderr, "the diff does not apply\n");
			return 1;
		}
		t2 = now_ms();
		r = zone_finalize(c, why, sizeof(why));
		t3 = now_ms();
		if (r) {
			fprintf(stderr, "finalize: %s\n", why);
			return 1;
		}
		zone_free_into(z, c);
		t4 = now_ms();
		z = c;
		ldns_rr_free(soa);
		st[0][k] = t1 - t0;
		st[1][k] = t2 - t1;
		st[2][k] = t3 - t2;
		st[3][k] = t4 - t3;
		printf("round %d: clone %.1f diff %.2f finalize %.1f free_into %.1f ms\n",
		       k + 1, st[0][k], st[1][k], st[2][k], st[3][k]);
	}
	printf("median of %d: clone %.1f diff %.2f finalize %.1f free_into %.1f ms\n",
	       rounds, median(st[0], rounds), median(st[1], rounds),
	       median(st[2], rounds), median(st[3], rounds));
	zone_free(z);
	return 0;
}
