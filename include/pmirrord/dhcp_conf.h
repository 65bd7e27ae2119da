/*
 * dhcp_conf.h - the DHCP directive (README "Configuration reference",
 * docs/dhcp.md), destination: the capture process.
 *
 *   dhcpServer ADDRESS     an IPv4 address whose DHCPACKs are believed;
 *                          repeatable, at most DH_SERVERS_MAX, each once
 *
 * conf.c calls conf_dhcp_server() for every line of the file (the monitor
 * validates the whole file, errors as FILE:LINE); the capture process
 * either takes the servers from the struct pm_conf its slice loads into
 * (conf_dhcp_from()) or feeds each slice line to conf_dhcp_line().
 */
#ifndef PMIRRORD_DHCP_CONF_H
#define PMIRRORD_DHCP_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/dhcp_track.h"

struct pm_conf;

/* One dhcpServer directive's words (argv[0] = "dhcpServer") added to
 * servers[*n] (network order; room for DH_SERVERS_MAX).  0, or -1 with one
 * sentence (no FILE:LINE) in err. */
int conf_dhcp_server(uint32_t *servers, size_t *n, int argc, char **argv, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* A struct dh_conf with no server and max_bindings (0: the tracker's
 * default, maxSubscribers' 1,000,000). */
void conf_dhcp_init(struct dh_conf *c, uint32_t max_bindings);

/* One configuration line as written (a slice line): a dhcpServer line is
 * added to c (1), another directive's line is left alone (0), a bad
 * dhcpServer line is -1 with a sentence in err.  The copy is wiped. */
int conf_dhcp_line(struct dh_conf *c, const char *text, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The servers of a loaded configuration into c (max_bindings untouched). */
void conf_dhcp_from(const struct pm_conf *pc, struct dh_conf *c);

#endif
