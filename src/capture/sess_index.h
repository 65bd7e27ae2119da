/*
 * sess_index.h - the open-addressing hash tables behind the session table's
 * indexes (sess_table.c, docs/sessions-table.md), private to src/capture.
 *
 * Linear probing, grown by doubling past 3/4 load (struct ix8) or 1/2 load
 * (struct ix16: the IPv6 tables, where a longest-prefix lookup mostly probes
 * for keys that are not there, and such a probe runs to the next empty slot),
 * backward-shift deletion (no tombstones).  A slot maps a key to a value v != 0 (the session number
 * + 1; 0 marks an empty slot).  Several entries may share a key: ix*_put()
 * does not look, the caller removes what it replaces.  Each table is its own
 * anonymous mapping, so that a grown-out table goes back to the kernel.
 */
#ifndef PMIRRORD_SESS_INDEX_H
#define PMIRRORD_SESS_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct slot8 {
    uint32_t k; /* IPv4 address (network order), or the top 32 bits of a keyed hash */
    uint32_t v; /* 0: empty */
};

struct slot16 {
    uint64_t k; /* IPv6 prefix (<= /64), a keyed hash (> /64), or a MAC address */
    uint32_t v;
    uint32_t pad;
};

/* 32-bit keys.  tagged: k is already the top 32 bits of a keyed hash, and
 * its top bits give the slot; else k is mixed with seed first. */
struct ix8 {
    struct slot8 *s;
    unsigned bits; /* 2^bits slots; 0: not allocated */
    int tagged;
    uint32_t seed;
    size_t count;
};

struct ix16 {
    struct slot16 *s;
    unsigned bits;
    uint64_t seed;
    size_t count;
};

static inline uint32_t ix8_pos(const struct ix8 *x, uint32_t k)
{
    if (x->tagged)
        return k >> (32 - x->bits);
    return (uint32_t)(((uint64_t)(k ^ x->seed) * 0x9E3779B97F4A7C15ull) >> (64 - x->bits));
}

/* One multiply, the high half folded in first, so that a prefix's bits above
 * the table's size still move its slot.  The keys are addresses the servers
 * assigned or keyed hashes, never chosen by a packet; a lookup of any other
 * key only reads. */
static inline uint32_t ix16_pos(const struct ix16 *x, uint64_t k)
{
    k ^= x->seed;
    k ^= k >> 29;
    return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> (64 - x->bits));
}

/* Room for extra more entries: 0, or -1 when memory is short (x unchanged). */
int ix8_reserve(struct ix8 *x, size_t extra);
int ix16_reserve(struct ix16 *x, size_t extra);
/* Adds (k, v); room must have been reserved. */
void ix8_put(struct ix8 *x, uint32_t k, uint32_t v);
void ix16_put(struct ix16 *x, uint64_t k, uint32_t v);
/* Removes the entry (k, v) if there is one. */
void ix8_del(struct ix8 *x, uint32_t k, uint32_t v);
void ix16_del(struct ix16 *x, uint64_t k, uint32_t v);
/* Unmaps the slots. */
void ix8_free(struct ix8 *x);
void ix16_free(struct ix16 *x);
/* Bytes the slots take. */
size_t ix8_bytes(const struct ix8 *x);
size_t ix16_bytes(const struct ix16 *x);

#endif
