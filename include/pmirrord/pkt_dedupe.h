/*
 * pkt_dedupe.h - "one packet seen on two sources is handled once".
 *
 * A packet is identified by a keyed hash (SipHash-2-4 with a random 128-bit
 * key, so that nobody can craft colliding packets without the key) of its
 * IP packet from the IP header on, with the fields a router changes on the
 * way zeroed: the IPv4 TTL and header checksum, the IPv6 hop limit.  A
 * packet whose hash was seen less than window_ms ago on ANOTHER source is a
 * duplicate: the same packet seen again on the same source is the wire
 * carrying it twice (a TCP retransmission is byte for byte the same), which
 * mirroring must see each time.  The
 * table is bounded: a hash lands in one of PKT_DEDUPE_WAYS slots of its
 * bucket and replaces the oldest; a packet pushed out early is handled
 * twice, never lost.  Frames without IP are never duplicates.
 *
 * Time is the caller's, in ms.  Not thread-safe: one per capture thread
 * that merges sources.
 */
#ifndef PMIRRORD_PKT_DEDUPE_H
#define PMIRRORD_PKT_DEDUPE_H

#include "pmirrord/pkt_decode.h"

#include <stddef.h>
#include <stdint.h>

#define PKT_DEDUPE_WAYS 4

struct pkt_dedupe;

/*
 * slots is rounded up to a power of two (at least PKT_DEDUPE_WAYS, at most
 * 2^24).  key: 16 bytes, or NULL for a random key from getrandom(2).
 * NULL when out of memory or without randomness.
 */
struct pkt_dedupe *pkt_dedupe_new(size_t slots, unsigned window_ms, const uint8_t *key);

/* 1 when v's IP packet was seen within the window on a source other than
 * src (the first sighting starts it), else 0. */
int pkt_dedupe_seen(struct pkt_dedupe *d, const struct pkt_view *v, unsigned src, uint64_t now_ms);

/* Wipes the key and the table. NULL is fine. */
void pkt_dedupe_free(struct pkt_dedupe *d);

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of n bytes under a 16-byte key. */
uint64_t pkt_siphash24(const uint8_t key[16], const uint8_t *p, size_t n);

#endif
