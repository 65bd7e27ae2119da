/*
 * radius_track_priv.h - the RADIUS tracker's parts (radius_track.h):
 * radius_pair.c (pending requests), radius_replay.c (authenticators seen),
 * radius_ident.c (attributes -> struct sig_ident / sig_li).
 */
#ifndef PMIRRORD_RADIUS_TRACK_PRIV_H
#define PMIRRORD_RADIUS_TRACK_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/radius.h"
#include "pmirrord/sig_fact.h"

/* ---- radius_pair.c ------------------------------------------------------ */

#define RP_MAX_PENDING 65536u /* beyond: the oldest unsigned one, else the oldest, goes early */
#define RP_MAX_PER_KEY 8u     /* requests of one key; beyond: its oldest goes */

/* Who asked whom: the requester's and the responder's address and port. */
struct rp_key {
    uint8_t family; /* 4 or 6 */
    uint8_t id;     /* RADIUS Identifier */
    uint16_t req_port, resp_port;
    uint8_t req_addr[16], resp_addr[16];
};

struct rp_entry {
    struct rp_entry *hnext;       /* bucket chain */
    struct rp_entry *prev, *next; /* age list, oldest first */
    struct rp_key key;
    uint8_t code;      /* the request's */
    uint8_t is_signed; /* its sender proved the secret (which age list) */
    uint8_t auth[RAD_AUTH_LEN];
    uint64_t t_ms;
    size_t len;
    uint8_t *pkt; /* a copy of the request (identities: wiped on removal) */
};

struct rp_table;

struct rp_table *rp_new(void);
/* The table's keyed hash of k (its bucket is the low bits). */
uint32_t rp_hash(const struct rp_table *t, const struct rp_key *k);
void rp_free(struct rp_table *t); /* wipes every entry */
/* Does a response of resp_code answer a request of req_code? */
int rp_answers(uint8_t req_code, uint8_t resp_code);
/*
 * Adds a pending request (a copy of pkt), or refreshes the one with the same
 * key, code and authenticator (a retransmission).  is_signed: its
 * authenticator or Message-Authenticator verified (a full table drops
 * unsigned requests first).  *evicted counts entries dropped to make room.
 * 0 added, 1 refreshed, -1 out of memory.
 */
int rp_put(struct rp_table *t, const struct rp_key *k, uint8_t code, const uint8_t *auth,
           const uint8_t *pkt, size_t len, int is_signed, uint64_t t_ms, unsigned *evicted);
/* The pending requests a response of resp_code with key k could answer:
 * their number, and the first in *first. */
unsigned rp_find(struct rp_table *t, const struct rp_key *k, uint8_t resp_code,
                 struct rp_entry **first);
/* The next such request after `after` (one rp_find() or this returned), or NULL. */
struct rp_entry *rp_find_next(struct rp_table *t, const struct rp_key *k, uint8_t resp_code,
                              struct rp_entry *after);
/* Removes (and wipes) every request rp_find() would return. */
void rp_drop_all(struct rp_table *t, const struct rp_key *k, uint8_t resp_code);
void rp_remove(struct rp_table *t, struct rp_entry *e);
/* Removes the requests sent before cutoff_ms; returns how many. */
unsigned rp_expire(struct rp_table *t, uint64_t cutoff_ms);
/* The time of the oldest pending request, or -1. */
int64_t rp_oldest(const struct rp_table *t);
size_t rp_count(const struct rp_table *t);

/* ---- radius_replay.c ---------------------------------------------------- */

#define RR_MAX_SEEN 65536u /* beyond: the oldest is forgotten early */

struct rr_table;

struct rr_table *rr_new(void);
void rr_free(struct rr_table *t);
/*
 * Has (family, addr, addr2) seen this request authenticator at a time after
 * now_s - window_s?  addr: the NAS; addr2: the server, or NULL (CoA and
 * Disconnect: keyed by the NAS alone).  1 yes (a replay), else 0 and it is remembered at now_s;
 * -1 out of memory.  Entries older than the window are forgotten first.
 */
int rr_check(struct rr_table *t, int family, const uint8_t *addr, const uint8_t *addr2,
             const uint8_t *auth, int64_t now_s, unsigned window_s);

/* ---- radius_ident.c ----------------------------------------------------- */

/*
 * Adds the identity attributes of p to id (RFC 2865 section 5, RFC 3162,
 * RFC 4818, RFC 6911, DSL Forum vendor 3561 types 1 and 2, ERX 4874-159).
 * A value present in p replaces what id holds; IPv6 prefixes are added
 * (duplicates skipped, at most SIG_PREFIX6_MAX).
 */
void ri_ident_add(const struct rad_packet *p, struct sig_ident *id);
/* The address attributes only (8, 168, 97, 123) and Acct-Session-Id (44):
 * what an Access-Accept adds to its request's identity. */
void ri_ident_add_accept(const struct rad_packet *p, struct sig_ident *id);

/*
 * The ERX LI VSAs of p decrypted with vector (rad_li_read()) into li:
 * present 0 when there are none; error missingOrInvalidAttribute(7) or
 * invalidAnalyzerAddress(4) with a sentence when unusable.  Returns
 * li->error.
 */
int ri_li(const struct rad_packet *p, const uint8_t *secret, size_t secret_len,
          const uint8_t vector[RAD_AUTH_LEN], struct sig_li *li);

#define SIG_ERR_INVALID_ANALYZER 4 /* JUNIPER-PACKET-MIRROR-MIB ErrorCause */
#define SIG_ERR_MISSING_ATTR     7

#endif
