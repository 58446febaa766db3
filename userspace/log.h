/* Logging: one line per event, level=... msg="...", to stderr or syslog;
 * log_err/warn/info/debug, level raised by -v or server.log-level.
 * libbpf's and libxdp's messages are routed here too. Never pass a secret
 * to these. */
#ifndef XDPNS_LOG_H
#define XDPNS_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(int level);
int log_get_level(void);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_route_libbpf(void);
/* Send log lines to syslog (journald) instead of stderr. */
void log_set_syslog(int on);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
