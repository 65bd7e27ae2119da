/*
 * dhcp_track.h - DHCPv4 (RFC 2131, 2132) bindings as the capture process
 * sees them, trusted only from the configured servers (`dhcpServer
 * ADDRESS`): an ACK from the server that creates a binding, a renewal
 * (matched by chaddr and ciaddr; unicast renewals carry no option 82) that
 * changes nothing, RELEASE, DECLINE and lease expiry; option 82 (RFC 3046)
 * sub-options 1 and 2 and the option as a whole.  Each becomes one fact for
 * the session engine (sig_fact.h).  The codec is dhcp_codec.h.
 *
 * Single-threaded (the capture loop).
 */
#ifndef PMIRRORD_DHCP_TRACK_H
#define PMIRRORD_DHCP_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/sig_fact.h"

struct pkt_view;

#define DH_SERVERS_MAX 16

struct dh_conf {
    size_t nservers;
    uint32_t server[DH_SERVERS_MAX]; /* network order */
    uint32_t max_bindings;           /* = maxSubscribers; 0: its default, 1,000,000 */
};

struct dh_stats {
    uint64_t parsed, malformed;
    uint64_t untrusted; /* server messages from an address not configured */
    uint64_t acks, renewals, releases, declines, expired;
    uint64_t bindings; /* now */
    uint64_t full;     /* bindings refused: max reached */
    uint64_t facts;
};

struct dhcp_track *dh_new(const struct dh_conf *c, sig_fact_fn fact, void *fact_arg, char *err,
                          size_t errlen);
void dh_free(struct dhcp_track *t);
/* A reload (docs/reload.md): the trusted servers replaced; the bindings and
 * max_bindings (sized at start) stay. */
void dh_set_servers(struct dhcp_track *t, const struct dh_conf *c);
/* One UDP packet on port 67 or 68 (v decoded; payload = the BOOTP message).
 * Leases that ended before ts_sec expire first.  Facts are handed to the
 * callback from within; v may be anything (non-IPv4 is ignored, a message
 * that does not decode is counted as malformed). */
void dh_input(struct dhcp_track *t, const struct pkt_view *v, int64_t ts_sec, uint32_t ts_usec);
/* Lease expiry; now_sec of the capture clock.  ms to the next (-1 none). */
int dh_tick(struct dhcp_track *t, int64_t now_sec);
void dh_get_stats(const struct dhcp_track *t, struct dh_stats *s);

#endif
