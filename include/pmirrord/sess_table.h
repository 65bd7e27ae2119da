/*
 * sess_table.h - the subscriber sessions the capture process knows: their
 * identities and the indexes that find them (docs/sessions.md, "Sessions").
 * Storage only: what a session means and when it starts or ends is the
 * session engine's (sess_engine.h).
 *
 * Ownership: the capture process runs one thread (the poll loop of
 * cap_proc.c), which both updates the table and looks packets up in it; so
 * no lookup takes a lock, and none is needed (docs/sessions.md explains the
 * choice and bench/sessions measures it).  Not thread-safe.
 *
 * Memory: identities are kept in one allocation per session of exactly the
 * size they need, and are zeroised (OPENSSL_cleanse) before it is freed, and
 * whenever one is replaced.  At most max_sessions sessions exist; st_create()
 * beyond it fails and says so (the engine counts it).
 */
#ifndef PMIRRORD_SESS_TABLE_H
#define PMIRRORD_SESS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/sig_fact.h"

#define ST_DEFAULT_MAX 1000000u /* maxSubscribers */
/* IPv6 prefixes shorter than this are never a subscriber's (an ISP's whole
 * allocation is a /32): such a prefix from signalling is not kept, so a
 * mistaken or hostile 2000::/3 cannot make one subscriber of everyone. */
#define ST_PREFIX6_MIN 32

/* Which identity (st_get). */
enum st_field {
    ST_USER = 0,
    ST_CSID,
    ST_ACCT_SID,
    ST_NAS_PORT_ID,
    ST_NAS_ID,
    ST_CIRCUIT,
    ST_REMOTE,
    ST_OPT82,
    ST_NFIELDS
};

struct se_icpt; /* the engine's, per session (sess_engine.c) */

/* One session.  The engine's fields are the engine's to use; the identity
 * and address fields are read-only outside sess_table.c (use st_update). */
struct sess {
    /* addresses (indexed) */
    uint32_t framed_ip; /* network order, 0: none */
    uint8_t has_ip6;
    uint8_t nprefix6;
    uint8_t ip6[16];
    uint8_t has_chaddr;
    uint8_t chaddr[6];
    uint32_t nas_ip;
    uint32_t nas_port;
    uint8_t has_nas_port;
    /* the engine's */
    uint8_t state;        /* enum se_state (sess_engine.c) */
    uint8_t flags;        /* SE_F_* (sess_engine.c) */
    uint8_t last_src;     /* capture source index where its data was last seen, 0xff none */
    uint32_t session_id;  /* derived MIB SessionIdentifier (0: not yet) */
    uint32_t router_id;   /* MIB RouterId */
    int64_t t_start;      /* packet time of the login, seconds */
    int64_t t_deadline;   /* sessionStartTimeout / lease expiry, seconds; 0 none */
    struct se_icpt *icpt; /* active intercepts (NULL: not a target right now) */
    /* private to sess_table.c */
    void *priv;
};

struct sess_table;

struct sess_table *st_new(uint32_t max_sessions, char *err, size_t errlen);
/* Destroys every session (identities zeroised) and the table. */
void st_free(struct sess_table *t);
size_t st_count(const struct sess_table *t);
uint32_t st_max(const struct sess_table *t);

/* A new session with the identities and addresses of id; NULL with err if the
 * table is full (err says "maxSubscribers") or memory is short.  An address
 * already indexed for another session is moved to the new one (the newest
 * binding of an address wins) and *stolen (may be NULL) is set to that
 * other session, which keeps its identities but no longer has that address
 * (framed_ip 0, has_ip6 0, or the prefix gone from its list); if addresses
 * came from several sessions, *stolen is the first.  Sessions may share an
 * Acct-Session-Id, a NAS key or a chaddr: the lookup finds the newest that
 * has it (the latest st_create() or st_update()), and the one before once
 * that one goes. */
struct sess *st_create(struct sess_table *t, const struct sig_ident *id, struct sess **stolen,
                       char *err, size_t errlen);
/* Adds to s what id carries and s lacks, replaces what differs (an
 * Accounting-Start's Acct-Session-Id, a renewed address), re-indexes.
 * IPv6 prefixes: id's first, then s's while there is room (SIG_PREFIX6_MAX).
 * An address another session holds moves to s as in st_create(), unreported.
 * -1 with err only when memory is short (s is unchanged then). */
int st_update(struct sess_table *t, struct sess *s, const struct sig_ident *id, char *err,
              size_t errlen);
/* Unindexes s, zeroises its identities, frees it. */
void st_destroy(struct sess_table *t, struct sess *s);

/* Identity of s: its octets in *v (valid until s changes), the length as the
 * result (0: absent). */
size_t st_get(const struct sess *s, enum st_field f, const uint8_t **v);
/* IPv6 prefixes of s (Framed-IPv6-Prefix, Delegated-IPv6-Prefix). */
unsigned st_prefixes6(const struct sess *s, const struct sig_prefix6 **out);
/* The whole identity of s, as a sig_ident (for INTERCEPT records). */
void st_ident(const struct sess *s, struct sig_ident *out);

/* Lookups.  The per-packet ones first: no allocation, no lock. */
struct sess *st_find_ip4(const struct sess_table *t, uint32_t addr_be);
/* Framed-IPv6-Address exact, else the longest prefix that holds addr. */
struct sess *st_find_ip6(const struct sess_table *t, const uint8_t addr[16]);
struct sess *st_find_acct_sid(const struct sess_table *t, const uint8_t *v, size_t n);
/* (NAS-IP-Address or NAS-Identifier, NAS-Port or NAS-Port-Id, User-Name) of id. */
struct sess *st_find_nas_key(const struct sess_table *t, const struct sig_ident *id);
struct sess *st_find_chaddr(const struct sess_table *t, const uint8_t mac[6]);

/* Every session, in no particular order: prev NULL gives the first; NULL at
 * the end.  Destroying the session just returned is allowed. */
struct sess *st_next(const struct sess_table *t, const struct sess *prev);

/* Memory the table holds (sessions, identities, indexes), in bytes. */
size_t st_memory(const struct sess_table *t);

#endif
