/*
 * ip_allow.h - `pmirrord -n --ip-allow`: the systemd drop-in with the
 * IPAddressAllow= lines a configuration needs (docs/systemd.md).
 * Daemon-private.
 */
#ifndef PMIRRORD_DAEMON_IP_ALLOW_H
#define PMIRRORD_DAEMON_IP_ALLOW_H

#include <stdio.h>

struct pm_conf;

/* Writes the drop-in ([Service] and one IPAddressAllow= line per address the
 * processes' inet sockets reach: trap hosts, the analyzers of the file's
 * mirror rules, a TCP AgentX master; loopback left out) to out.  0. */
int pm_ip_allow_print(const struct pm_conf *c, FILE *out);

#endif
