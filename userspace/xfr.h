/* Transfer client: SOA query, IXFR (RFC 1995) with fallback to AXFR
 * (RFC 5936), TSIG on every message, limits and timeouts. A job runs in
 * its own thread and hands a finished struct zone back; it never touches
 * what is served. */
#ifndef XDPNS_XFR_H
#define XDPNS_XFR_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include "config.h"
#include "tsig.h"
#include "zone.h"

#ifndef XFR_SOA_TIMEOUT_MS
#define XFR_SOA_TIMEOUT_MS 2000 /* one SOA query over UDP */
#endif
#ifndef XFR_SOA_TRIES
#define XFR_SOA_TRIES 2
#endif

/* Why an attempt failed (counted per zone). */
enum xfr_reason {
	XFR_OK = 0,
	XFR_R_CONNECT, /* TCP connect or send failed */
	XFR_R_TIMEOUT, /* no answer, idle or total timeout */
	XFR_R_TRUNCATED, /* connection closed before the closing SOA */
	XFR_R_MALFORMED, /* unparseable message, wrong ID/question, junk */
	XFR_R_RCODE, /* the primary answered an error (REFUSED, NOTAUTH...) */
	XFR_R_TSIG_UNSIGNED,
	XFR_R_TSIG_BADSIG,
	XFR_R_TSIG_BADKEY,
	XFR_R_TSIG_BADTIME,
	XFR_R_SOA_MISMATCH, /* closing SOA differs, diffs do not chain */
	XFR_R_IXFR_INCONSISTENT, /* deletes a record that is not there */
	XFR_R_SERIAL_BACKWARDS, /* the primary has an older serial */
	XFR_R_LIMIT, /* max records or bytes */
	XFR_R_ZONE_INVALID, /* the result is not a valid zone */
	XFR_R_PUBLISH, /* a good zone the XDP maps could not take (full):
			* the served data stays */
	XFR_R_CANCELLED,
	XFR_R_COUNT
};

enum xfr_kind { XFR_KIND_NONE = 0, XFR_KIND_IXFR, XFR_KIND_AXFR };

struct xfr_primary {
	char id[64];
	char text[64]; /* ADDR@PORT */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct tsig_key key; /* the key requests are signed with now */
	int has_key;
	/* all the remote's keys, in config order (rotation: old, new): when
	 * the primary answers BADKEY or BADSIG to a request signed with
	 * one, the attempt is made again with the next (wrapping around),
	 * each key once. key_idx: the one in key, where the job starts and
	 * (out) the one that worked last. */
	struct tsig_key keys[CONFIG_MAX_REMOTE_KEYS];
	int n_keys, key_idx;
};

struct xfr_job {
	/* in: set by the caller, read-only while the job runs */
	char origin[256];
	struct xfr_primary primaries[CONFIG_MAX_PRIMARIES];
	int n_primaries;
	const struct zone *current; /* not freed while the job runs */
	int force_axfr; /* retransfer: AXFR without comparing serials */
	uint64_t max_records, max_bytes;
	uint32_t idle_ms, timeout_ms;
	int done_fd; /* eventfd written when the job ends (-1: none) */
	char save_path[4096]; /* the caller saves the new data here (temp +
			       * rename) once it serves it */
	volatile int cancel;
	uint64_t notified_us; /* xfr_mono_us() of the NOTIFY that asked for
			       * this job; 0: a timer or a command */

	/* out: read after the job is done */
	volatile int done;
	int result; /* XFR_OK or the reason of the last attempt's failure */
	struct zone *zone; /* new data (finalized), or NULL: none */
	enum xfr_kind kind;
	int primary; /* index that answered (-1: none) */
	int contacted; /* a primary answered our SOA query (or the transfer) */
	uint32_t remote_serial;
	uint64_t bytes, messages, duration_ms;
	/* stages of the last successful attempt, ms (monotonic): the SOA
	 * query, the transfer's connect to its first reply message, the
	 * first to the last message, and the zone built beside the served
	 * one (an IXFR's clone plus the finalize) */
	uint64_t soa_ms, first_ms, recv_ms, build_ms;
	uint64_t started_us, ended_us; /* xfr_mono_us() */
	int fails[XFR_R_COUNT]; /* attempts failed, by reason */
	int key_fallbacks; /* BADKEY/BADSIG from a primary: next key tried */
	/* IXFR: owners of the records the diffs deleted or added (wire,
	 * lowercased, owned; may repeat), so only their answers are
	 * recompiled. changed_all: too many to list, recompile everything. */
	uint8_t **changed;
	size_t n_changed, cap_changed;
	int changed_all;
	int peer_rejected_key; /* the last failure: the peer's BADKEY/BADSIG */
	char error[300];

	pthread_t thread;
	int started;
};

/* Run the job in a thread; done_fd is written when it ends. */
int xfr_start(struct xfr_job *j);
/* Wait for the thread (after done, or after setting cancel). */
void xfr_join(struct xfr_job *j);
/* Free the changed-name list. */
void xfr_changed_free(struct xfr_job *j);
/* Run it in the calling thread (tests). */
void xfr_run(struct xfr_job *j);

/* CLOCK_MONOTONIC in microseconds (the stages of a job). */
uint64_t xfr_mono_us(void);
const char *xfr_reason_name(int reason);
const char *xfr_kind_name(enum xfr_kind k);
/* RFC 1982: a is newer than b. */
int serial_gt(uint32_t a, uint32_t b);

#endif
