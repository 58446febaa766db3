#include <stdarg.h>
#include <stdio.h>
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

static void log_vmsg(int level, const char *fmt, va_list ap)
{
	if (level > cur_level)
		return;
	fprintf(stderr, "xdpns: %s: ", names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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

	if (level > cur_level)
		return 0;
	fprintf(stderr, "xdpns: libbpf: ");
	return vfprintf(stderr, fmt, ap);
}

static int libxdp_print(enum libxdp_print_level lvl, const char *fmt, va_list ap)
{
	int level = lvl == LIBXDP_WARN ? LOG_LVL_WARN :
		    lvl == LIBXDP_INFO ? LOG_LVL_DEBUG : LOG_LVL_DEBUG + 1;

	if (level > cur_level)
		return 0;
	fprintf(stderr, "xdpns: ");
	return vfprintf(stderr, fmt, ap);
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
