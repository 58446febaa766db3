#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "log.h"

#define LOG_LINE_MAX 2048

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

const char *log_level_name(int level)
{
	return level >= LOG_LVL_ERR && level <= LOG_LVL_DEBUG ? names[level] : NULL;
}

static int to_syslog;

void log_set_syslog(int on)
{
	to_syslog = on;
	if (on)
		openlog("xdpns", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* A byte that may stand in a bare logfmt value. */
static int plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\';
}

/* Append v at *o, quoted when force or when it is not plain. Escapes
 * keep one value on one line whatever the bytes; a value cut short by cap
 * is still closed by its quote. */
static void put_value(char *buf, size_t cap, size_t *o, const char *v,
		      size_t n, int force)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, p = *o;
	int quote = force || n == 0;

	if (cap == 0 || p >= cap)
		return;
	for (i = 0; i < n && !quote; i++)
		quote = !plain((unsigned char)v[i]);
	if (!quote) {
		for (i = 0; i < n && p + 1 < cap; i++)
			buf[p++] = v[i];
		buf[p] = 0;
		*o = p;
		return;
	}
	if (p + 3 > cap) { /* no room for "" and the NUL */
		buf[p] = 0;
		return;
	}
	buf[p++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		char e[4];
		size_t k, el = 0;

		if (c == '"' || c == '\\') {
			e[el++] = '\\';
			e[el++] = c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			e[el++] = '\\';
			e[el++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c >= 0x7f) {
			e[el++] = '\\';
			e[el++] = 'x';
			e[el++] = hex[c >> 4];
			e[el++] = hex[c & 0xf];
		} else {
			e[el++] = c;
		}
		if (p + el + 2 > cap) /* keep room for the quote and NUL */
			break;
		for (k = 0; k < el; k++)
			buf[p++] = e[k];
	}
	buf[p++] = '"';
	buf[p] = 0;
	*o = p;
}

void log_put_value(char *buf, size_t cap, size_t *o, const char *v)
{
	put_value(buf, cap, o, v ? v : "", v ? strlen(v) : 0, 0);
}

static void put_raw(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && *o + 1 < cap; i++)
		buf[(*o)++] = s[i];
	if (*o < cap)
		buf[*o] = 0;
}

/* The fields format: literal text is ours (keys, '=', spaces); each
 * conversion's value is formatted and, for %s, escaped. */
static void put_fields(char *buf, size_t cap, size_t *o, const char *f,
		       va_list ap)
{
	while (*f) {
		char spec[16], num[64];
		size_t sl = 0, prec = (size_t)-1;
		int lng = 0, sz = 0;
		const char *lit = f;

		while (*f && *f != '%')
			f++;
		put_raw(buf, cap, o, lit, f - lit);
		if (!*f)
			break;
		spec[sl++] = *f++; /* '%' */
		if (*f == '%') {
			put_raw(buf, cap, o, "%", 1);
			f++;
			continue;
		}
		while (*f && strchr("-+ #0123456789.", *f) && sl < 8) {
			if (*f == '.') {
				prec = 0;
				while (f[1] >= '0' && f[1] <= '9' && sl < 8) {
					prec = prec * 10 + (f[1] - '0');
					spec[sl++] = *f++;
				}
			}
			spec[sl++] = *f++;
		}
		while (*f == 'l' && lng < 2) {
			spec[sl++] = *f++;
			lng++;
		}
		if (*f == 'z') {
			spec[sl++] = *f++;
			sz = 1;
		}
		if (!*f)
			break;
		spec[sl++] = *f;
		spec[sl] = 0;
		switch (*f++) {
		case 's': {
			const char *v = va_arg(ap, const char *);
			size_t n = v ? strlen(v) : 0;

			if (n > prec)
				n = prec;
			put_value(buf, cap, o, v ? v : "", n, 0);
			continue;
		}
		case 'd':
		case 'i':
			if (sz)
				snprintf(num, sizeof(num), spec, va_arg(ap, ssize_t));
			else if (lng == 2)
				snprintf(num, sizeof(num), spec, va_arg(ap, long long));
			else if (lng == 1)
				snprintf(num, sizeof(num), spec, va_arg(ap, long));
			else
				snprintf(num, sizeof(num), spec, va_arg(ap, int));
			break;
		case 'u':
		case 'x':
		case 'X':
			if (sz)
				snprintf(num, sizeof(num), spec, va_arg(ap, size_t));
			else if (lng == 2)
				snprintf(num, sizeof(num), spec,
					 va_arg(ap, unsigned long long));
			else if (lng == 1)
				snprintf(num, sizeof(num), spec, va_arg(ap, unsigned long));
			else
				snprintf(num, sizeof(num), spec, va_arg(ap, unsigned));
			break;
		case 'f':
		case 'g':
			snprintf(num, sizeof(num), spec, va_arg(ap, double));
			break;
		case 'c':
			num[0] = (char)va_arg(ap, int);
			num[1] = 0;
			put_value(buf, cap, o, num, 1, 0);
			continue;
		default:
			/* not a conversion we take: stop, the arguments
			 * after it cannot be read safely */
			return;
		}
		put_value(buf, cap, o, num, strlen(num), 0);
	}
}

size_t log_format_kv(char *buf, size_t cap, const char *msg,
		     const char *fields, va_list ap)
{
	size_t o = 0, n = msg ? strlen(msg) : 0;

	if (!cap)
		return 0;
	buf[0] = 0;
	while (n && msg[n - 1] == '\n')
		n--; /* libbpf ends its lines itself */
	put_raw(buf, cap, &o, "msg=", 4);
	put_value(buf, cap, &o, msg ? msg : "", n, 1);
	if (fields && *fields) {
		if (*fields != ' ')
			put_raw(buf, cap, &o, " ", 1);
		put_fields(buf, cap, &o, fields, ap);
	}
	return o;
}

/* One line per event: ts= (stderr only; syslog stamps its own) level=
 * then msg= and the fields. */
static void log_emit(int level, const char *line)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char ts[32];
	struct timespec now;
	struct tm tm;

	if (to_syslog) {
		syslog(prio[level], "level=%s %s", names[level], line);
		return;
	}
	/* RFC 3339 with milliseconds: the stages of a transfer (NOTIFY,
	 * SOA query, IXFR, publish) are milliseconds apart */
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "ts=%s.%03ldZ level=%s %s\n", ts, now.tv_nsec / 1000000,
		names[level], line);
}

static void log_vkv(int level, const char *msg, const char *fields, va_list ap)
{
	char line[LOG_LINE_MAX];

	if (level > cur_level)
		return;
	log_format_kv(line, sizeof(line), msg, fields, ap);
	log_emit(level, line);
}

void log_kv(int level, const char *msg, const char *fields, ...)
{
	va_list ap;

	va_start(ap, fields);
	log_vkv(level, msg, fields, ap);
	va_end(ap);
}

/* Free text: the whole text is the msg value. */
static void log_text(int level, const char *text)
{
	log_kv(level, text, NULL);
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_text(level, msg);
}

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	int level = lvl == LIBBPF_WARN ? LOG_LVL_WARN :
		    lvl == LIBBPF_INFO ? LOG_LVL_DEBUG : LOG_LVL_DEBUG + 1;
	char msg[1024];

	if (level > cur_level)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_kv(level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : level, "libbpf", " text=%s",
	       msg);
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
	log_kv(level > LOG_LVL_DEBUG ? LOG_LVL_DEBUG : level, "libxdp", " text=%s",
	       msg);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
