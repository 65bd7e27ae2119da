/*
 * ip_reasm.h - IP fragment reassembly for the capture process: RADIUS
 * (up to 4096 bytes, RFC 2865 section 3) and DHCP messages that crossed a
 * smaller MTU.  IPv4 (RFC 791) and IPv6 (RFC 8200 section 4.5).
 *
 * Fragments come in as views from pkt_decode(); a complete datagram goes out
 * as a whole IP packet (the first fragment's header, lengths fixed, IPv4
 * checksum recomputed, IPv6 fragment header removed) for
 * pkt_decode(DLT_RAW, ...).  Datagrams are keyed by (family, source,
 * destination, protocol, identification).
 *
 * Attacker-proof limits: at most max_datagrams in progress and max_bytes of
 * fragment data held (the oldest datagram is evicted, and counted, to make
 * room), REASM_MAX_FRAGS fragments per datagram, 65535 bytes per datagram,
 * and timeout_ms from a datagram's first fragment to its completion.  In
 * the spirit of RFC 5722, a fragment that overlaps another with different
 * bytes, or that contradicts the datagram's end, drops the whole datagram;
 * its later fragments are dropped too until the timeout.  An exact
 * duplicate (the same range and bytes, e.g. seen on two sources) is
 * ignored.  Details: docs/decoding.md.
 *
 * Time is the caller's, in ms (the packet timestamps when replaying a file);
 * a clock that goes backwards ages nothing.  Not thread-safe: one per
 * capture thread.  reasm_free() wipes every byte it held.
 */
#ifndef PMIRRORD_IP_REASM_H
#define PMIRRORD_IP_REASM_H

#include "pmirrord/pkt_decode.h"

#include <stddef.h>
#include <stdint.h>

#define REASM_MAX_FRAGS  64  /* fragments per datagram */
#define REASM_MAX_UNFRAG 256 /* IPv6 header + unfragmentable extension headers kept */
#define REASM_MAX_PACKET 65535

enum reasm_result {
    REASM_NOT_FRAGMENT = 2, /* not an IP fragment: use the packet as it is */
    REASM_COMPLETE = 1,     /* *outn bytes of the reassembled IP packet are in out */
    REASM_NEED_MORE = 0,    /* kept (or an exact duplicate ignored) */
    REASM_E_ARG = -1,       /* NULL reasm or view, out NULL with outlen > 0 */
    REASM_E_BAD = -2,       /* malformed fragment: snapped, empty, length not a multiple of 8 */
    REASM_E_OVERLAP = -3,   /* conflicting fragments: the datagram is dropped (RFC 5722) */
    REASM_E_TOO_BIG = -4,   /* the datagram would exceed 65535 bytes: dropped */
    REASM_E_TOO_MANY = -5,  /* more than REASM_MAX_FRAGS fragments: dropped */
    REASM_E_MEMORY = -6,    /* larger than max_bytes, or out of memory: dropped */
    REASM_E_OUTBUF = -7,    /* complete but longer than outlen: dropped */
};

struct reasm_stats {
    uint64_t fragments;  /* fragments offered (REASM_NOT_FRAGMENT not counted) */
    uint64_t completed;  /* datagrams reassembled */
    uint64_t duplicates; /* exact duplicate fragments ignored */
    uint64_t overlaps;   /* datagrams dropped for conflicting fragments */
    uint64_t dead;       /* fragments dropped because their datagram was */
    uint64_t timeouts;   /* datagrams expired incomplete */
    uint64_t evictions;  /* datagrams evicted to make room for another */
    uint64_t bad;        /* REASM_E_BAD */
    uint64_t too_big;    /* REASM_E_TOO_BIG */
    uint64_t too_many;   /* REASM_E_TOO_MANY */
    uint64_t memory;     /* REASM_E_MEMORY */
    uint64_t outbuf;     /* REASM_E_OUTBUF */
    size_t in_progress;  /* datagrams held now (dropped ones included until they expire) */
    size_t bytes;        /* fragment data bytes allocated now */
};

struct reasm;

/* NULL on a bad argument (max_datagrams 0 or above 65536, timeout_ms 0) or out of memory. */
struct reasm *reasm_new(size_t max_datagrams, size_t max_bytes, unsigned timeout_ms);

/*
 * Offers the packet v (pkt_decode() returned 0 for it) at time now_ms.
 * out/outlen receive a completed datagram; *outn (may be NULL) is its
 * length, 0 otherwise.  Returns an enum reasm_result.
 */
int reasm_add(struct reasm *r, const struct pkt_view *v, uint64_t now_ms, uint8_t *out,
              size_t outlen, size_t *outn);

/* Drops (and counts) the datagrams older than the timeout; reasm_add() of a fragment does it too.
 */
void reasm_expire(struct reasm *r, uint64_t now_ms);

void reasm_stats(const struct reasm *r, struct reasm_stats *out);

const char *reasm_result_name(int rc);

/* Wipes and frees everything; NULL is fine. */
void reasm_free(struct reasm *r);

#endif
