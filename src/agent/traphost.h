/*
 * traphost.h - secure trap hosts: one SNMPv3 authPriv session and one JUNOSe
 * queue (th_queue.h) per host (agent thread only).
 *
 * Legend: TH = trap host, EV = a reference-counted pm_event shared by the
 * queues of several hosts, INFORM window = informs sent and not yet
 * acknowledged or timed out.
 */
#ifndef PMIRRORD_AGENT_TRAPHOST_H
#define PMIRRORD_AGENT_TRAPHOST_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/conf.h"
#include "pmirrord/pm_event.h"

/* An event shared by several queues; freed when the last queue lets go. */
struct th_ev {
    int refs;
    struct pm_event ev;
};

struct th_ev *th_ev_new(const struct pm_event *ev);
void th_ev_unref(struct th_ev *e);

/* Counters of JUNOSe's trap host table, plus what we know besides. */
struct th_counters {
    uint64_t sent;     /* traps sent / informs acknowledged */
    uint64_t filtered; /* below the host's severity filter */
    uint64_t queue_full_discards;
    uint64_t no_response_discards;  /* informs never acknowledged */
    uint64_t bad_encoding_discards; /* the library could not build or secure the message */
    uint64_t send_failed_discards;  /* built, but the socket refused it (sendto) */
    uint64_t no_memory_discards;    /* out of memory: PDU, queue slot or inform state */
    uint64_t queued;                /* now waiting */
    uint64_t inflight;              /* informs awaiting acknowledgement */
};

struct th_host;

/* Opens the host's session (no engineID probe: never blocks).  Fails if the
 * host's USM user is in use by another host with other credentials. */
struct th_host *th_host_new(const struct pm_traphost_conf *hc, char *err, size_t errlen);
/* Closes the session and lets go of the host's USM user(s) (th_user_release()). */
void th_host_free(struct th_host *h);
/* Do a and b use the same USM user (the same engineID and user name)?  For an
 * inform host that discovers its engineID: the one it holds now, even while
 * it probes. */
int th_host_same_user(const struct th_host *a, const struct th_host *b);
/* The host's discovery state (NULL: TRAP host or configured engineId); for tests. */
struct th_disc *th_host_disc(struct th_host *h);
/* Tests: th_host_new() of an inform host fails as if th_disc_new() had. */
extern int th_test_fail_disc_new;

/*
 * USM users in use (notify.c).  USM keeps one user per (engineID, name), and
 * snmp_open() / usm_create_user_from_session() reuse an existing entry as it
 * is, filling only what is unset (snmpusm.c, 5.9.3): whoever creates a user
 * first decides its keys.  Every host that uses a user holds a reference on
 * it, with the digest of its credentials (pm_traphost_conf.cred_digest); the
 * user and its localised keys go when the last reference goes, so a host
 * defined again with new passphrases never inherits the old keys.
 */
enum th_user_hold {
    TH_USER_HELD,    /* a reference is taken */
    TH_USER_FOREIGN, /* in use with other credentials: the keys are not ours */
    TH_USER_NOMEM,
};
/* A USM user found in USM but not held by anyone (left behind) is removed
 * when the first reference is taken, so that the caller creates it anew. */
enum th_user_hold th_user_hold(const uint8_t *eid, size_t len, const char *name,
                               const uint8_t digest[32]);
/* Removes the USM user, its keys wiped, when its last reference goes. */
void th_user_release(const uint8_t *eid, size_t len, const char *name);
/* References held on (eid, name); 0 if none (tests). */
int th_user_refs(const uint8_t *eid, size_t len, const char *name);
const struct pm_traphost_conf *th_host_conf(const struct th_host *h);
/* A reload (docs/reload.md): queue size, discard method, drain rate,
 * severity filter, timeout and retries, and where, from hc (the same host:
 * transport, user and credentials, inform and engineId unchanged); the queue
 * and the session stay.  0, or -1 with err (nothing changed). */
int th_host_retune(struct th_host *h, const struct pm_traphost_conf *hc, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void th_host_counters(const struct th_host *h, struct th_counters *out);

/* Severity filter passed?  Counts a filtered notification if not. */
int th_host_accepts(struct th_host *h, int severity);
/* Queue e (takes a reference); counts a queue-full discard if the method drops one. */
void th_host_enqueue(struct th_host *h, struct th_ev *e);
/* Send what the drain rate and the inform window allow now. */
void th_host_drain(struct th_host *h, int64_t now_ns);
/* CLOCK_MONOTONIC ns when th_host_drain() may send again; -1 if nothing waits. */
int64_t th_host_next_due(struct th_host *h, int64_t now_ns);

/* Called by the traphost code when a drain may have become possible
 * (an inform acknowledged); notify.c re-arms its drain timer. */
void notify_kick(void);

int64_t th_now_ns(void);

/* Where a notification that did not leave is counted. */
enum th_failure { TH_FAIL_ENCODING, TH_FAIL_SEND, TH_FAIL_NO_MEMORY };
/* The class of a snmp_send()/snmp_async_send() failure, from its SNMPERR_ code. */
enum th_failure th_send_failure(int snmp_err);
/* "bad-encoding", "send-failed", "no-memory" (audit log words). */
const char *th_failure_name(enum th_failure f);

/* One secure-log (audit) entry about ev; the summary is wiped from the stack. */
void th_audit(const char *what, const char *host, const struct pm_event *ev);

#endif
