/*
 * pkt_dedupe.c - duplicate detection across capture sources (see
 * pkt_dedupe.h), with SipHash-2-4 written out from the reference
 * description (https://131002.net/siphash/siphash.pdf): 2 compression
 * rounds, 4 finalisation rounds, little-endian words.
 */
#include "pmirrord/pkt_dedupe.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MAX_SLOTS ((size_t)1 << 24)

struct sip {
    uint64_t v0, v1, v2, v3;
    uint8_t tail[8];
    size_t ntail;
    uint64_t total;
};

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static void sip_round(struct sip *s)
{
    s->v0 += s->v1;
    s->v1 = rotl(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl(s->v2, 32);
}

static void sip_block(struct sip *s, uint64_t m)
{
    s->v3 ^= m;
    sip_round(s);
    sip_round(s);
    s->v0 ^= m;
}

static void sip_init(struct sip *s, const uint8_t key[16])
{
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    s->v0 = k0 ^ 0x736f6d6570736575ull;
    s->v1 = k1 ^ 0x646f72616e646f6dull;
    s->v2 = k0 ^ 0x6c7967656e657261ull;
    s->v3 = k1 ^ 0x7465646279746573ull;
    s->ntail = 0;
    s->total = 0;
}

static void sip_update(struct sip *s, const uint8_t *p, size_t n)
{
    s->total += n;
    while (n > 0 && s->ntail > 0) {
        s->tail[s->ntail++] = *p++;
        n--;
        if (s->ntail == 8) {
            sip_block(s, le64(s->tail));
            s->ntail = 0;
        }
    }
    for (; n >= 8; p += 8, n -= 8)
        sip_block(s, le64(p));
    memcpy(s->tail + s->ntail, p, n);
    s->ntail += n;
}

static uint64_t sip_final(struct sip *s)
{
    uint64_t b = (uint64_t)(s->total & 0xff) << 56;
    for (size_t i = 0; i < s->ntail; i++)
        b |= (uint64_t)s->tail[i] << (8 * i);
    sip_block(s, b);
    s->v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(s);
    uint64_t h = s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
    explicit_bzero(s, sizeof(*s));
    return h;
}

uint64_t pkt_siphash24(const uint8_t key[16], const uint8_t *p, size_t n)
{
    struct sip s;
    sip_init(&s, key);
    sip_update(&s, p, n);
    return sip_final(&s);
}

struct slot {
    uint64_t h;
    uint64_t t;
    unsigned src; /* where it was seen first */
    int used;
};

struct pkt_dedupe {
    uint8_t key[16];
    unsigned window_ms;
    size_t nbuckets; /* a power of two */
    struct slot *slots;
};

struct pkt_dedupe *pkt_dedupe_new(size_t slots, unsigned window_ms, const uint8_t *key)
{
    size_t n = PKT_DEDUPE_WAYS;
    while (n < slots && n < MAX_SLOTS)
        n <<= 1;
    struct pkt_dedupe *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->slots = calloc(n, sizeof(*d->slots));
    if (d->slots == NULL) {
        free(d);
        return NULL;
    }
    if (key != NULL)
        memcpy(d->key, key, 16);
    else if (getrandom(d->key, sizeof(d->key), 0) != (ssize_t)sizeof(d->key)) {
        pkt_dedupe_free(d);
        return NULL;
    }
    d->nbuckets = n / PKT_DEDUPE_WAYS;
    d->window_ms = window_ms;
    return d;
}

/* The hash of the IP packet with the per-hop fields zeroed. */
static uint64_t packet_hash(const struct pkt_dedupe *d, const struct pkt_view *v)
{
    const uint8_t *ip = v->frame + v->l3_off;
    size_t n = v->l3_caplen;
    uint8_t hdr[12];
    size_t hn = n < sizeof(hdr) ? n : sizeof(hdr);
    memcpy(hdr, ip, hn);
    if (v->family == PKT_FAM_IPV4 && hn == sizeof(hdr)) {
        hdr[8] = 0;  /* TTL */
        hdr[10] = 0; /* header checksum */
        hdr[11] = 0;
    } else if (v->family == PKT_FAM_IPV6 && hn >= 8) {
        hdr[7] = 0; /* hop limit */
    }
    struct sip s;
    sip_init(&s, d->key);
    sip_update(&s, hdr, hn);
    sip_update(&s, ip + hn, n - hn);
    return sip_final(&s);
}

int pkt_dedupe_seen(struct pkt_dedupe *d, const struct pkt_view *v, unsigned src, uint64_t now_ms)
{
    if (d == NULL || v == NULL || v->family == PKT_FAM_NONE || v->l3_caplen == 0)
        return 0;
    uint64_t h = packet_hash(d, v);
    struct slot *b = &d->slots[(h & (d->nbuckets - 1)) * PKT_DEDUPE_WAYS];
    struct slot *victim = NULL;
    for (int i = 0; i < PKT_DEDUPE_WAYS; i++) {
        struct slot *s = &b[i];
        if (s->used && s->h == h) {
            if (now_ms >= s->t && now_ms - s->t < d->window_ms && s->src != src)
                return 1;
            s->t = now_ms; /* long ago, or again on its own source: a new first sighting */
            s->src = src;
            return 0;
        }
        if (victim == NULL || !s->used || (victim->used && s->t < victim->t))
            victim = s;
    }
    victim->h = h;
    victim->t = now_ms;
    victim->src = src;
    victim->used = 1;
    return 0;
}

void pkt_dedupe_free(struct pkt_dedupe *d)
{
    if (d == NULL)
        return;
    explicit_bzero(d->slots, (d->nbuckets ? d->nbuckets * PKT_DEDUPE_WAYS : 0) * sizeof(*d->slots));
    free(d->slots);
    explicit_bzero(d, sizeof(*d));
    free(d);
}
