/* CLI commands that talk to a running daemon over the control socket:
 * each returns the process exit code (0 ok, 1 failure, 2 usage). */
#ifndef XDPNS_CLI_H
#define XDPNS_CLI_H

int cli_status(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_reload(int argc, char **argv);
int cli_lookup(int argc, char **argv);
int cli_attach(int argc, char **argv, int attach); /* 0: detach */
int cli_zone(int argc, char **argv);

#endif
