/*
 * sess_priv.h - the session engine's inside (sess_engine.h is its face):
 * the engine object, the per-session intercept list and the functions the
 * engine's files share.  docs/sessions.md has the rules these implement.
 *
 * Abbreviations: CS ConfigurationSource, TT TriggerType, TR Trigger, RID
 * RouterId, MID mirror ID (Identifier), SID SessionIdentifier, TRM
 * TerminationReason (Juniper-PACKET-MIRROR-MIB, docs/mirror-mib.md).
 */
#ifndef PMIRRORD_SESS_PRIV_H
#define PMIRRORD_SESS_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/log.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/sess_engine.h"
#include "pmirrord/sess_table.h"

/* MIB ConfigurationSource. */
enum { SE_CS_RADIUS_LOGIN = 0, SE_CS_RADIUS_COA = 1, SE_CS_CLI_TRIGGER = 2, SE_CS_CLI_STATIC = 3 };
/* MIB ErrorCause values used here. */
enum {
    SE_EC_GENERIC = 0,
    SE_EC_NO_RESOURCES = 1,
    SE_EC_INVALID_ANALYZER = 4,
    SE_EC_NO_SUCH_USER = 5,
    SE_EC_MISSING_ATTR = 7,
};
/* MIB TerminationReason values used here (docs/sessions.md, "SessionEnd"). */
enum { SE_TRM_GENERIC = 0, SE_TRM_USER_REQUEST = 1, SE_TRM_SESSION_TIMEOUT = 5, SE_TRM_ADMIN = 6 };

/* struct sess.state */
enum se_state {
    SE_ST_ACCEPTED = 1, /* Access-Accept seen, Accounting-Start awaited */
    SE_ST_ACTIVE = 2,   /* Accounting-Start, Interim, or a DHCP binding */
};
/* struct sess.flags */
#define SE_F_PENDING 0x01 /* in the sessionStartTimeout queue */
#define SE_F_STARTED 0x02 /* the login event has happened */
#define SE_F_DHCP    0x04 /* a DHCP binding is part of it */
#define SE_F_RADIUS  0x08 /* RADIUS signalling is part of it */
#define SE_F_SID     0x10 /* session_id is fixed */
#define SE_F_SID_CTR 0x20 /* ... from the counter, before any Acct-Session-Id was seen */

struct se_live_slot;

/* One intercept on one session. */
struct se_icpt {
    struct se_icpt *next;
    uint32_t mirror_id;
    uint32_t session_id;
    struct trig_analyzer analyzer;
    enum trig_dir direction;
    int cs;        /* MIB ConfigurationSource */
    int tt;        /* MIB TriggerType */
    uint32_t rule; /* CLI rule serial (0: RADIUS-provisioned) */
    int rank;      /* JUNOSe precedence of the rule's type (1 best) */
    int announced; /* SessionStart or InterfaceSessionActivated sent */
    uint32_t rid;  /* MIB RouterId */
    int64_t since;
    int64_t on_us; /* packet time (us) it was last announced (se_target.since_us) */
    char tr[PM_ICPT_TRIGGER_MAX + 1]; /* MIB Trigger: escaped value or address text */
};

/* One CLI rule (config or pmirrorctl) as the engine keeps it. */
struct se_rule {
    struct pm_trigger t;
    uint32_t serial;
    int open;                         /* warrant window open at the last look */
    int usable;                       /* its analyzer is one mirroring can send to */
    int st_active;                    /* static mirror: running */
    uint32_t st_sid;                  /* static mirror: its SessionIdentifier */
    int ifidx;                        /* static mirror: its capture source, -1 unknown */
    char tr[PM_ICPT_TRIGGER_MAX + 1]; /* MIB Trigger: VALUE as written, escaped */
};

/* A session waiting for its Accounting-Start. */
struct se_pend {
    struct sess *s; /* NULL: gone */
    int64_t due;    /* microseconds of the capture clock */
};

/* A session ended by a Disconnect-ACK: its Accounting-Stop, when it comes,
 * changes nothing.  Keyed digests, not identities. */
#define SE_TOMB_MAX 256
struct se_tomb {
    uint64_t h_sid, h_nas;
    uint32_t ip4;
    int64_t until;
};

struct sess_engine {
    struct se_conf conf;
    struct se_out out;
    struct sess_table *st;
    struct se_rule *rules;
    size_t nrules;
    uint32_t next_serial;
    uint32_t next_sid; /* per-daemon SessionIdentifier counter, from 1 */
    char ifname[SE_SOURCES_MAX][32];
    uint8_t ifup[SE_SOURCES_MAX];
    struct se_pend *pend;
    size_t pend_head, pend_len, pend_cap;
    struct se_tomb tomb[SE_TOMB_MAX];
    unsigned tomb_next;
    uint64_t hkey;
    int untracked_episode;
    size_t nstatic;             /* static mirrors running (se_match_packet skips them at 0) */
    uint64_t n_icpt, n_targets; /* intercepts on sessions, sessions with one */
    uint32_t *static_run;       /* their indexes in rules[] (se_static_eval), so that a
                                 * packet visits the running static mirrors, not every rule */
    size_t static_cap;
    int static_scan;  /* static_run could not be grown: packets walk rules[] */
    int64_t now;      /* the latest capture-clock second seen (facts, ticks, tables) */
    int64_t on_us;    /* the time (us) of the fact, tick or table being handled: an
                       * intercept announced now takes packets stamped from then on */
    int64_t win_next; /* the next warrant-window boundary, seconds (0: none) */
    struct se_stats stats;
    struct se_live_slot *live; /* (mirror ID, session ID) of announced intercepts (sess_live.c) */
    size_t live_cap, live_used;
    int live_lost; /* it could not grow: se_icpt_active() walks the sessions */
};

/* A read-only view of a subscriber's identities: a session's, or a
 * request's (Access-Reject, CoA). */
struct se_view {
    const uint8_t *f[ST_NFIELDS];
    size_t l[ST_NFIELDS];
    uint32_t ip4;
    int has_ip6;
    const uint8_t *ip6;
    unsigned np6;
    const struct sig_prefix6 *p6;
};
void se_view_sess(struct se_view *v, const struct sess *s);
void se_view_ident(struct se_view *v, const struct sig_ident *id);

/* sess_sid.c */
uint32_t se_sid_from_acct(const uint8_t *v, size_t n);
uint32_t se_sid_counter(struct sess_engine *e);
uint32_t se_sess_sid(struct sess_engine *e, struct sess *s);
void se_sess_sid_refine(struct sess_engine *e, struct sess *s);
uint32_t se_router_id(const struct sig_ident *id);
/* JUNOSe's precedence of trigger types: 1 (acct-session-id) .. 8. */
int se_type_rank(int tt);
/* The first identity present in JUNOSe precedence: *tt and tr (escaped).
 * addr_last: the address only when nothing else is there (an Access-Accept's
 * Framed-IP-Address is the server's answer, not the request's). */
void se_first_trigger(const struct se_view *v, int addr_last, int *tt, char *tr, size_t cap);
int se_analyzer_usable(const struct trig_analyzer *a);
/* Copies text into dst, cut to cap - 1 octets, NUL-terminated. */
void se_copy(char *dst, size_t cap, const char *text);

/* sess_events.c */
struct se_evctx {
    enum pm_trap trap;
    int64_t sec;
    uint32_t usec;
    const struct sess *s;       /* may be NULL */
    const struct se_view *view; /* identities for the mirror log; may be NULL */
    int trm;
    int ec;
    const char *es;
};
void se_raise_icpt(struct sess_engine *e, const struct se_evctx *c, const struct se_icpt *ic);
/* The failure traps: one of the two, with the values given. */
void se_raise_failure(struct sess_engine *e, const struct se_evctx *c, int cs, int tt,
                      const char *tr, uint32_t rid, uint32_t mid, uint32_t sid, const char *user);
void se_mlogf(struct sess_engine *e, const char *fmt, ...) PM_PRINTF(2, 3);

/* sess_icpt.c */
struct se_icpt *se_icpt_find(const struct sess *s, uint32_t mid);
/* A new intercept for mid in s's list, which is kept in mirror-ID order (the
 * order of a session's notifications); NULL when memory is short. */
struct se_icpt *se_icpt_add(struct sess_engine *e, struct sess *s, uint32_t mid);
void se_icpt_unlink(struct sess_engine *e, struct sess *s, struct se_icpt *ic);
size_t se_icpt_count(const struct sess *s);
int se_rule_matches(const struct pm_trigger *t, const struct se_view *v);
/* The best open, usable rule for mirror ID mid that matches v (NULL none). */
struct se_rule *se_best_rule(struct sess_engine *e, const struct se_view *v, uint32_t mid,
                             uint32_t skip_serial);
struct se_rule *se_rule_by_serial(struct sess_engine *e, uint32_t serial);
void se_icpt_from_rule(struct sess_engine *e, struct sess *s, struct se_icpt *ic,
                       const struct se_rule *r);
/* Applies the CLI rules in force to s (a login or new identities: an
 * intercept from RADIUS stays): new or switched intercepts are left
 * unannounced for the caller. */
void se_apply_rules(struct sess_engine *e, struct sess *s, int64_t sec, uint32_t usec);
/* Raises trap for every unannounced intercept of s and marks it announced. */
void se_announce(struct sess_engine *e, struct sess *s, enum pm_trap trap, int64_t sec,
                 uint32_t usec);
/* The CLI rules changed (a new table, a window opened or closed): intercepts
 * whose rule is no longer in force fall back or stop, rules in added[] start
 * on matching sessions, static mirrors follow. */
void se_rules_changed(struct sess_engine *e, const uint32_t *added, size_t nadded, int64_t sec,
                      uint32_t usec);
/* Warrant windows at time now: rules whose window opened or closed start
 * or stop; returns the seconds to the next boundary (-1 none). */
int64_t se_rules_tick(struct sess_engine *e, int64_t now, uint32_t usec);
void se_static_eval(struct sess_engine *e, int64_t sec, uint32_t usec, int interface_event);
void se_report(struct sess_engine *e, const struct sess *s, const struct se_icpt *ic, int up);

/* sess_live.c: every change of ic->announced goes through here (and an
 * announced intercept is set unannounced before its IDs change or it is
 * unlinked), so that se_icpt_active() knows without a walk. */
void se_icpt_set_announced(struct sess_engine *e, struct se_icpt *ic, int on);
void se_live_free(struct sess_engine *e);

/* sess_engine.c */
void se_end_session(struct sess_engine *e, struct sess *s, enum pm_trap trap, int trm, int64_t sec,
                    uint32_t usec);
int se_session_live(const struct sess *s);

#endif
