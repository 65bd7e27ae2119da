/*
 * test_pkt_dedupe.c - SipHash-2-4 against the reference vectors (key
 * 00..0f, message 00..n-1; the same values as `openssl mac SIPHASH`), and
 * duplicate detection (src/capture/pkt_dedupe.c): per-hop fields ignored,
 * the window, the bounded table, frames without IP.
 */
#include "check.h"
#include "pmirrord/pkt_dedupe.h"

#include <pcap/dlt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void test_siphash(void)
{
    static const struct {
        size_t n;
        uint64_t h;
    } vec[] = {{0, 0x726fdb47dd0e0e31ull},
               {8, 0x93f5f5799a932462ull},
               {15, 0xa129ca6149be45e5ull},
               {63, 0x958a324ceb064572ull},
               {100, 0x096f3fec85c52a7eull}};
    uint8_t key[16], msg[100];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 100; i++)
        msg[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
        CHECK(pkt_siphash24(key, msg, vec[i].n) == vec[i].h);
}

/* IPv4 UDP, and the same packet one router later (TTL 63, new checksum) and with other data. */
#define IP4(ttl, ck, last)                                                                         \
    0x45, 0, 0, 32, 0x12, 0x34, 0, 0, (ttl), 17, (ck), 0x00, 192, 0, 2, 1, 198, 51, 100, 2, 4, 0,  \
        7, 0x14, 0, 12, 0, 0, 'a', 'b', 'c', (last)
static const uint8_t a1[] = {IP4(64, 0x11, 'd')};
static const uint8_t a2[] = {IP4(63, 0x12, 'd')};
static const uint8_t b1[] = {IP4(64, 0x11, 'e')};
#define IP6(hop, last)                                                                             \
    0x60, 0, 0, 0, 0, 12, 17, (hop), 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,   \
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 0, 7, 0x14, 0, 12, 0, 0,    \
        'a', 'b', 'c', (last)
static const uint8_t c1[] = {IP6(64, 'd')};
static const uint8_t c2[] = {IP6(1, 'd')};
static const uint8_t d1[] = {IP6(64, 'e')};
/* The IPv4 packet a1 behind Ethernet and a VLAN tag: the same L3 packet. */
static const uint8_t e1[] = {
    2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0, 0, 5, 8, 0, IP4(62, 0x13, 'd')};
static const uint8_t arp[] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1};

static struct pkt_view view(int dlt, const uint8_t *p, size_t n)
{
    struct pkt_view v;
    CHECK(pkt_decode(dlt, p, n, n, &v) == 0);
    return v;
}
#define V(dlt, a) view(dlt, a, sizeof(a))

static void test_dedupe(const uint8_t *key)
{
    struct pkt_dedupe *d = pkt_dedupe_new(64, 50, key);
    CHECK(d != NULL);
    struct pkt_view va1 = V(DLT_RAW, a1), va2 = V(DLT_RAW, a2), vb1 = V(DLT_RAW, b1);
    struct pkt_view vc1 = V(DLT_RAW, c1), vc2 = V(DLT_RAW, c2), vd1 = V(DLT_RAW, d1);
    struct pkt_view ve1 = V(DLT_EN10MB, e1), varp = V(DLT_EN10MB, arp);

    CHECK(pkt_dedupe_seen(d, &va1, 0, 1000) == 0);
    CHECK(pkt_dedupe_seen(d, &va2, 1, 1010) == 1); /* TTL and checksum differ: the same packet */
    CHECK(pkt_dedupe_seen(d, &ve1, 2, 1020) == 1); /* another link layer: the same packet */
    CHECK(pkt_dedupe_seen(d, &vb1, 1, 1020) == 0); /* other data */
    CHECK(pkt_dedupe_seen(d, &va1, 1, 1049) == 1);
    CHECK(pkt_dedupe_seen(d, &va1, 1, 1050) == 0); /* the window has passed: a new packet */
    CHECK(pkt_dedupe_seen(d, &va1, 0, 1060) == 1);
    CHECK(pkt_dedupe_seen(d, &va1, 0, 900) == 0); /* the clock went back: not a duplicate */

    /* the same packet again on the same source: the wire carried it twice */
    CHECK(pkt_dedupe_seen(d, &vb1, 3, 1500) == 0);
    CHECK(pkt_dedupe_seen(d, &vb1, 3, 1501) == 0);
    CHECK(pkt_dedupe_seen(d, &vb1, 4, 1502) == 1); /* ... but its copy on another source is not */

    CHECK(pkt_dedupe_seen(d, &vc1, 0, 2000) == 0);
    CHECK(pkt_dedupe_seen(d, &vc2, 1, 2001) == 1); /* hop limit differs */
    CHECK(pkt_dedupe_seen(d, &vd1, 1, 2002) == 0);

    CHECK(pkt_dedupe_seen(d, &varp, 0, 3000) == 0); /* no IP: never a duplicate */
    CHECK(pkt_dedupe_seen(d, &varp, 1, 3000) == 0);
    CHECK(pkt_dedupe_seen(NULL, &va1, 0, 3000) == 0);
    CHECK(pkt_dedupe_seen(d, NULL, 0, 3000) == 0);
    pkt_dedupe_free(d);
}

/* A table of 4 slots: a fifth packet pushes out the oldest, which then counts as new. */
static void test_bounded(void)
{
    uint8_t key[16] = {1};
    struct pkt_dedupe *d = pkt_dedupe_new(1, 1000, key);
    uint8_t p[5][sizeof(a1)];
    struct pkt_view v[5];
    for (int i = 0; i < 5; i++) {
        memcpy(p[i], a1, sizeof(a1));
        p[i][31] = (uint8_t)('0' + i);
        v[i] = view(DLT_RAW, p[i], sizeof(a1));
        CHECK(pkt_dedupe_seen(d, &v[i], 0, 100 + (uint64_t)i) == 0);
    }
    CHECK(pkt_dedupe_seen(d, &v[4], 1, 200) == 1);
    CHECK(pkt_dedupe_seen(d, &v[1], 1, 200) == 1);
    CHECK(pkt_dedupe_seen(d, &v[0], 1, 200) == 0); /* evicted: handled twice, never lost */
    pkt_dedupe_free(d);
    pkt_dedupe_free(NULL);
}

int main(void)
{
    static const uint8_t key[16] = {0x42, 1, 2, 3};
    test_siphash();
    test_dedupe(key);
    test_dedupe(NULL); /* a random key */
    test_bounded();
    printf("test_pkt_dedupe: ok\n");
    return 0;
}
