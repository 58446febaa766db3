#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

static int cur_level = LOG_LVL_INFO;
static const char *names[] = { "error", "warning", "info", "debug" };

void log_set_level(int level)
{
	cur_level = level < LOG_LVL_ERR ? LOG_LVL_ERR :
		    level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : level;
}

int log_get_level(void)
{
	return cur_level;
}

static int to_syslog;

void log_set_syslog(int on)
{
	to_syslog = on;
	if (on)
		openlog("xdpns", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* One line per event: level=... msg="..." (and ts= on stderr; syslog
 * stamps its own), quotes, backslashes and newlines escaped. */
static void log_line(int level, const char *msg)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char esc[2200], ts[32];
	size_t o = 0, n = strlen(msg);
	struct tm tm;
	time_t now;

	while (n && msg[n - 1] == '\n')
		n--; /* libbpf ends its lines itself */
	for (size_t i = 0; i < n && o + 3 < sizeof(esc); i++) {
		char c = msg[i];

		if (c == '"' || c == '\\') {
			esc[o++] = '\\';
			esc[o++] = c;
		} else if (c == '\n') {
			esc[o++] = '\\';
			esc[o++] = 'n';
		} else {
			esc[o++] = c;
		}
	}
	esc[o] = 0;
	if (to_syslog) {
		syslog(prio[level], "level=%s msg=\"%s\"", names[level], esc);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "ts=%s level=%s msg=\"%s\"\n", ts, names[level], esc);
}

static void log_vmsg(int level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > cur_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_line(level, msg);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	int level = lvl == LIBBPF_WARN ? LOG_LVL_WARN :
		    lvl == LIBBPF_INFO ? LOG_LVL_DEBUG : LOG_LVL_DEBUG + 1;

	char msg[1024], line[1100];

	if (level > cur_level)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(line, sizeof(line), "libbpf: %s", msg);
	log_line(level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : level, line);
	return 0;
}

static int libxdp_print(enum libxdp_print_level lvl, const char *fmt, va_list ap)
{
	int level = lvl == LIBXDP_WARN ? LOG_LVL_WARN :
		    lvl == LIBXDP_INFO ? LOG_LVL_DEBUG : LOG_LVL_DEBUG + 1;

	char msg[1024];

	if (level > cur_level)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_line(level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : level, msg);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
