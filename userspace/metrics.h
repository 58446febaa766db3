/* Prometheus text exposition over HTTP: a listening socket in the event
 * loop; GET /metrics gets what the writer callback prints, anything else
 * a 404. One request per connection, answered at once, then closed. */
#ifndef XDPNS_METRICS_H
#define XDPNS_METRICS_H

#include <stdio.h>
#include "config.h"

typedef void (*metrics_write_fn)(void *ctx, FILE *f);

int metrics_listen(const struct config_listen *l);
/* Accept one client on lfd and answer it. */
void metrics_handle(int lfd, metrics_write_fn fn, void *ctx);

#endif
