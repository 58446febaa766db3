/* Logging: one line per event in logfmt (key=value), to stderr or syslog.
 * An event is a fixed message and its details as fields:
 *   log_info_kv("zone loaded", "zone=%s serial=%u", name, serial)
 * gives  ts=... level=info msg="zone loaded" zone=example.com. serial=7
 * Every %s value is escaped and quoted when needed, so a hostile zone name
 * cannot forge fields or lines. log_err/warn/info/debug (free text in msg)
 * remain for libbpf's messages and the like. Never pass a secret. */
#ifndef XDPNS_LOG_H
#define XDPNS_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An event: msg is fixed text, fields a format of " key=%conv" pairs
 * (conversions d i u x ld lu lld llu zu s, %% and widths are not taken). */
void log_kv(int level, const char *msg, const char *fields, ...)
	__attribute__((format(printf, 3, 4)));
void log_route_libbpf(void);
/* Send log lines to syslog (journald) instead of stderr. */
void log_set_syslog(int on);
/* Name of a level ("error", "warning", "info", "debug"), or NULL. */
const char *log_level_name(int level);

/* The formatting, exposed for tests: one logfmt value (bare when it is
 * plain, else quoted with \" \\ \n \r \t \xHH escapes) appended at *o;
 * and the line after ts=/level= (msg= and the fields). Both truncate at
 * cap and keep the result a valid line. */
void log_put_value(char *buf, size_t cap, size_t *o, const char *v);
size_t log_format_kv(char *buf, size_t cap, const char *msg,
		     const char *fields, va_list ap);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_err_kv(...) log_kv(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn_kv(...) log_kv(LOG_LVL_WARN, __VA_ARGS__)
#define log_info_kv(...) log_kv(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug_kv(...) log_kv(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
