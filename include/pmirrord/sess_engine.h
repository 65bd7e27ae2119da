/*
 * sess_engine.h - sessions, triggers and intercepts: what the capture
 * process makes of the facts the signalling trackers report (sig_fact.h),
 * of the trigger table the agent pushes (trigger.h) and of the clock; it
 * raises the ten notifications with their exact values (pm_event_raise(),
 * pm_event.h) and answers, per packet, which intercepts a packet belongs to
 * (docs/sessions.md has the rules, event by event).
 *
 * One thread (the capture loop) calls everything here; no lock.  Mirror-log
 * text goes to out->mlog (the full values: IPv6 addresses, identities
 * escaped with pm_escape, up to 253 octets); nothing here logs a subscriber
 * identity to syslog.
 */
#ifndef PMIRRORD_SESS_ENGINE_H
#define PMIRRORD_SESS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/intercept.h"
#include "pmirrord/sig_fact.h"
#include "pmirrord/trigger.h"

#define SE_START_TIMEOUT_DEFAULT 30u /* sessionStartTimeout, seconds */
#define SE_SOURCES_MAX           64  /* capture sources (PM_MAX_CAPTURES) */

struct se_conf {
    uint32_t max_subscribers;       /* maxSubscribers */
    unsigned session_start_timeout; /* sessionStartTimeout, seconds */
};

struct se_out {
    /* one mirror-log entry (the text is the whole entry) */
    void (*mlog)(void *arg, const char *text);
    /* a RADIUS-provisioned intercept began (up 1) or ended (up 0); the agent
     * keeps it so that a restarted capture process gets it back */
    void (*intercept)(void *arg, const struct pm_intercept *ic, int up);
    void *arg;
};

/* A packet's mirroring work: where one copy goes. */
struct se_target {
    uint32_t mirror_id;
    uint32_t session_id;
    uint32_t router_id; /* the intercept's (AnalyzerUnreachable) */
    int64_t since_us;   /* packet time (us) from which the intercept takes packets: a
                         * frame stamped earlier, read late from a ring block, was sent
                         * before the intercept began (0: no bound) */
    const struct trig_analyzer *analyzer; /* valid until the next engine call */
};
#define SE_TARGETS_MAX 8 /* intercepts one packet can feed (two ends, several agencies) */

struct se_stats {
    uint64_t sessions;   /* now */
    uint64_t targets;    /* sessions with an active intercept, now */
    uint64_t intercepts; /* active intercepts, now */
    uint64_t sessions_created, sessions_ended;
    uint64_t untracked; /* sessions not tracked: maxSubscribers reached */
    uint64_t events_raised, events_dropped;
    uint64_t triggers;        /* CLI triggers in force */
    uint64_t li_errors;       /* LI VSAs missing or invalid */
    uint64_t restored;        /* intercepts taken back after a restart */
    uint64_t stops_unmatched; /* Accounting-Stops of another session, ignored */
};

struct sess_engine;

struct sess_engine *se_new(const struct se_conf *c, const struct se_out *out, char *err,
                           size_t errlen);
void se_free(struct sess_engine *e); /* zeroises every identity */
/* A reload (docs/reload.md): sessionStartTimeout for sessions that start
 * from now on (0: the default); max_subscribers stays (the table is sized once). */
void se_set_start_timeout(struct sess_engine *e, unsigned seconds);

/* A fact from a tracker (sig_fact_fn: pass e as the argument). */
void se_on_fact(const struct sig_fact *f, void *e);

/*
 * Replaces the CLI trigger table (config file and pmirrorctl; config_source[i]
 * is cliTrigger(2) or cliStatic(3)).  Rules that are new start on matching
 * live sessions at once (InterfaceSessionActivated), rules that are gone stop
 * (InterfaceSessionDeactivated); unchanged rules change nothing.  now: the
 * capture clock, seconds.
 */
void se_set_triggers(struct sess_engine *e, const struct pm_trigger *t, size_t n, int64_t now);

/* The capture sources, by index (the data path passes the index of the
 * source a packet came from); static mirrors name one by IFNAME. */
void se_set_source(struct sess_engine *e, unsigned idx, const char *ifname);
/* A live source's interface went away (InterfaceDeleted for the sessions
 * whose data was last seen there and the static mirrors on it) or came
 * back (static mirrors on it resume: InterfaceSessionActivated). */
void se_interface_down(struct sess_engine *e, unsigned idx, int64_t now);
void se_interface_up(struct sess_engine *e, unsigned idx, int64_t now);

/* Timers: warrant windows, sessionStartTimeout, lease expiry.  now: seconds
 * of the capture clock; returns ms until the next is due (-1 none). */
int se_tick(struct sess_engine *e, int64_t now_sec, uint32_t now_usec);

/*
 * Per packet (any source): the intercepts the IP packet with these
 * addresses belongs to, in out[] (at most max).  ingress: src is the
 * subscriber; egress: dst is.  src_idx: the capture source, remembered per
 * session (InterfaceDeleted) and used for static mirrors.  iface_dir: how
 * the frame crossed that source's interface, TRIG_DIR_INGRESS (received),
 * TRIG_DIR_EGRESS (sent) or -1 (not known: a pcap file, a link type without
 * it); a static mirror of one direction takes only frames known to be of
 * it.  No allocation, no lock; 0 for almost every packet.
 */
size_t se_match_packet(struct sess_engine *e, int family, const uint8_t *src, const uint8_t *dst,
                       unsigned src_idx, int iface_dir, struct se_target *out, size_t max);

/* An intercept the agent kept (INTERCEPT record with RESTORE): the session
 * and its intercept come back without a notification.  0, or -1 if refused
 * (counted). */
int se_restore(struct sess_engine *e, const struct pm_intercept *ic);

/* Every active RADIUS-provisioned intercept through out->intercept (up 1)
 * again: for a restarted agent, whose intercept table starts empty.
 * Returns how many. */
size_t se_report_all(struct sess_engine *e);

/*
 * `show mirror subscribers`: rows of text (one per session matching filter,
 * a substring of any identity or address; "" all), from offset, at most max
 * rows of at most rowcap octets; targets marked.  Returns rows written; *more
 * says whether rows follow.  Identities escaped (pm_escape).
 */
size_t se_list(struct sess_engine *e, const char *filter, uint32_t offset, size_t max,
               char rows[][256], int *more);

/* Is an intercept with this mirror ID and session ID active now (a
 * session's or a static mirror's)?  For the data path's per-intercept
 * statistics (mir_stats.h), which forget intercepts that ended. */
int se_icpt_active(const struct sess_engine *e, uint32_t mirror_id, uint32_t session_id);

void se_get_stats(const struct sess_engine *e, struct se_stats *s);

#endif
