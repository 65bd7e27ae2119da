/*
 * th_discover.h - the receiver's engineID for an inform host without a
 * configured `engineId`: discovered, confirmed, rediscovered (agent thread only).
 *
 * A trap host (traphost.c) owns one th_disc per such host and asks it, before
 * each drain, whether informs may be sent.  Lifecycle of the engineID:
 *
 *   none --probe answered--> provisional --inform acknowledged--> confirmed
 *     ^                          |                                   |
 *     +------ probe unanswered   +-- 1 inform failed --+   3 in a row failed
 *             (backoff, the      |                      \         |
 *             waiting informs    +----------------------- rediscover (probe again)
 *             are discarded)
 *
 * A confirmed engineID (and its USM user) is kept while a rediscovered one is
 * provisional: one failed inform to the new one goes back to it, without a
 * probe.  A rediscovery that finds the engineID in use delays the next one
 * (1 s, doubled, at most 60 s): Reports are unauthenticated, and a receiver
 * that rejects every inform would otherwise draw a probe each time.  The USM
 * user of the engineID in use is held (th_user_hold(), traphost.h) whatever
 * the probe state; an engineID whose user another host holds with other
 * credentials is refused like an unanswered probe.
 *
 * The probe (RFC 3414 §4) is unauthenticated: anyone on the path can answer
 * it with a forged engineID.  The engineID stays provisional until the
 * receiver acknowledges an inform: that Response is authenticated with keys
 * localised to the engineID (RFC 3414 §2.6), which only a receiver knowing
 * the passphrases can produce.  Informs to a forged or stale engineID time
 * out or draw Reports, and the host discovers again; see README.md for what
 * this does not protect against.
 */
#ifndef PMIRRORD_AGENT_TH_DISCOVER_H
#define PMIRRORD_AGENT_TH_DISCOVER_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stddef.h>
#include <stdint.h>

struct th_disc;

enum th_disc_status {
    TH_DISC_READY,   /* informs may be sent: the session has an engineID and its USM user */
    TH_DISC_WAIT,    /* a probe is outstanding, or the next one is not due yet */
    TH_DISC_GAVE_UP, /* a probe went unanswered: discard what waits, as no-response
                        (reported once per unanswered probe) */
};

/*
 * For ss, an open SNMPv3 session (SNMP_FLAGS_DONT_PROBE, no engineID) that
 * still holds Ku, the passphrase-derived keys: they are copied into locked
 * memory (pm_secure_alloc) so that keys can be localised again to a new
 * engineID; the caller wipes the session's copy.  name is the host's address,
 * for the log.  NULL with err filled on failure.
 */
struct th_disc *th_disc_new(netsnmp_session *ss, const char *name, const uint8_t digest[32],
                            char *err, size_t errlen);
/* After snmp_close(ss) (closing calls back the outstanding probe); NULL is fine.
 * Lets go of the USM user(s) it holds (th_user_release()); wipes the keys. */
void th_disc_free(struct th_disc *d);

/* The engineID whose USM user d holds now, whatever its probe state (the
 * session's is cleared while it probes); 0 if none. */
size_t th_disc_engine(const struct th_disc *d, const u_char **eid);
/* An engineID answered the probe (unauthenticated: provisional).  Called by
 * the probe's callback; tests call it directly. */
void th_disc_found(struct th_disc *d, const u_char *eid, size_t len);
/* A send failed for want of the USM user: discover again. */
void th_disc_user_lost(struct th_disc *d);
/* engineIDs refused because another host uses the user with other
 * credentials for them (th_user_hold()). */
unsigned long th_disc_refused(const struct th_disc *d);

/* Before sending: starts a probe when one is due.  Calls the library. */
enum th_disc_status th_disc_poll(struct th_disc *d, int64_t now_ns);
int th_disc_ready(const struct th_disc *d);
/* When th_disc_poll() has something to do (CLOCK_MONOTONIC ns); -1 while a
 * probe is outstanding (its answer calls notify_kick()). */
int64_t th_disc_next_due(const struct th_disc *d, int64_t now_ns);
/* The end of one inform: op and pdu as the library passed them to the inform's
 * callback (an acknowledgement confirms the engineID; timeouts and Reports
 * count towards rediscovery).  Does not call the library. */
void th_disc_inform_done(struct th_disc *d, int op, const netsnmp_pdu *pdu);

#endif
