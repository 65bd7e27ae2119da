/*
 * radius_track.h - RADIUS between the configured peers, as the capture
 * process sees it: requests paired with their responses, every
 * authenticator and Message-Authenticator verified, CoA and Disconnect
 * checked for freshness, the ERX LI VSAs salt-decrypted; each verified
 * exchange becomes one fact for the session engine (sig_fact.h).  RFC 2865,
 * 2866, 5176; docs/radius.md.
 *
 *   radiusServer ADDRESS[:AUTHPORT[,ACCTPORT]] secret SECRET [coaPort PORT]
 *   radiusClient ADDRESS[/LEN] secret SECRET
 *   radiusDynamicClient ADDRESS secret SECRET
 *   radiusSecretsFile PATH
 *   requireMessageAuthenticator on|off
 *   radiusPairTimeout SECONDS        (default 30)
 *   radiusReplayWindow SECONDS       (default 300)
 *   radiusRequireEventTimestamp on|off
 *
 * Single-threaded (the capture loop).  Secrets live in memory the tracker
 * owns and wipes in rt_free().
 */
#ifndef PMIRRORD_RADIUS_TRACK_H
#define PMIRRORD_RADIUS_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/sig_fact.h"

struct pkt_view;
struct rt_conf; /* the parsed directives (radius_conf.h) */

struct rt_stats {
    uint64_t parsed;          /* RADIUS packets between configured peers, decoded */
    uint64_t malformed;       /* refused by the codec */
    uint64_t not_peer;        /* RADIUS ports, but not between configured peers */
    uint64_t auth_failed;     /* authenticator or Message-Authenticator wrong */
    uint64_t msgauth_missing; /* requireMessageAuthenticator on, none present */
    uint64_t replays;         /* CoA/Disconnect seen before or outside the window */
    uint64_t pairs_expired;   /* requests never answered within radiusPairTimeout */
    uint64_t ambiguous;       /* a response two pending requests could own */
    uint64_t unpaired;        /* a response with no request */
    uint64_t coa_naks;        /* CoA-NAK / Disconnect-NAK from the NAS */
    uint64_t li_errors;       /* LI VSAs present but unusable */
    uint64_t facts;           /* facts handed to the engine */
};

/*
 * mlog: one mirror-log entry per replay, NAK, ... (may be NULL).  c may be
 * NULL (no peers).  The secrets are copied into one page rt_new() locks
 * (pm_secure_alloc(): mlock, so call it before the seccomp filter is on);
 * the caller then wipes c (rt_conf_free()).  NULL with a sentence in err.
 */
struct radius_track *rt_new(const struct rt_conf *c, sig_fact_fn fact, void *fact_arg,
                            void (*mlog)(void *arg, const char *text), void *mlog_arg, char *err,
                            size_t errlen);
void rt_free(struct radius_track *t);

/* What rt_reconfigure() found: peers matched by kind, address, prefix and
 * ports; "changed" is the same peer with another secret. */
struct rt_conf_diff {
    unsigned added, removed, changed, unchanged;
    int settings; /* requireMessageAuthenticator, radiusPairTimeout, ... differ */
};
/*
 * A reloaded configuration (docs/reload.md): peers and secrets replaced in
 * place, in the page rt_new() locked (sized for RT_CONF_MAX_PEERS, so no
 * mlock is needed inside the sandbox); pending requests, the replay windows
 * and the counters stay.  c NULL: no peers.  d (may be NULL) receives the
 * difference.  The caller wipes c.  0, or -1 with a sentence in err
 * (nothing changed).
 */
int rt_reconfigure(struct radius_track *t, const struct rt_conf *c, struct rt_conf_diff *d,
                   char *err, size_t errlen);
/* The difference rt_reconfigure() would apply, nothing changed. */
void rt_conf_compare(const struct radius_track *t, const struct rt_conf *c, struct rt_conf_diff *d);

/* Is this UDP packet one the tracker wants: a RADIUS port (1812, 1813, 1645,
 * 1646, 3799 or a configured one) at either end?  rt_input() then counts
 * those not between configured peers as not_peer. */
int rt_wants(const struct radius_track *t, const struct pkt_view *v);
/* One UDP packet (v: decoded, reassembled; payload = the RADIUS packet). */
void rt_input(struct radius_track *t, const struct pkt_view *v, int64_t ts_sec, uint32_t ts_usec);
/* Expires pairs; now in ms since the epoch on the packets' clock (ts_sec of
 * rt_input(); the replayed packets' time for a pcap file).  Returns ms to
 * the next expiry (-1 none). */
int rt_tick(struct radius_track *t, uint64_t now_ms);
void rt_get_stats(const struct radius_track *t, struct rt_stats *s);

#endif
