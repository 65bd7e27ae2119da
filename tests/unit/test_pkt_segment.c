/*
 * test_pkt_segment.c - pkt_segment(): TCP super-packets over IPv4 (with and
 * without options) and IPv6 cut as GSO cuts them, every checksum verified by
 * a checker of this file; UDP, extension headers and malformed input not
 * split and never read past their length.
 */
#include "pmirrord/pkt_segment.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXSEG 64

struct seen {
    size_t n;
    size_t len[MAXSEG];
    uint8_t seg[MAXSEG][1600];
    int stop_after; /* 0: never */
};

static int collect(void *arg, const uint8_t *seg, size_t len)
{
    struct seen *s = arg;
    CHECK(s->n < MAXSEG && len <= sizeof s->seg[0]);
    memcpy(s->seg[s->n], seg, len);
    s->len[s->n++] = len;
    return s->stop_after && (int)s->n >= s->stop_after ? -1 : 0;
}

static int never(void *arg, const uint8_t *seg, size_t len)
{
    (void)arg, (void)seg, (void)len;
    CHECK(!"callback called");
    return -1;
}

/* The checker: a plain 32-bit one's complement sum, octet by octet. */
static uint32_t ck_sum(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
    return sum;
}

static int ck_ok(uint32_t sum)
{
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The TCP checksum of a segment with its pseudo-header (RFC 9293, RFC 8200). */
static int tcp_ok(const uint8_t *seg, size_t len, size_t iphl, int v6)
{
    uint8_t ph[40];
    size_t tl = len - iphl, phl;
    memset(ph, 0, sizeof ph);
    if (v6) {
        memcpy(ph, seg + 8, 32);
        ph[34] = (uint8_t)(tl >> 8), ph[35] = (uint8_t)tl, ph[39] = 6;
        phl = 40;
    } else {
        memcpy(ph, seg + 12, 8);
        ph[9] = 6, ph[10] = (uint8_t)(tl >> 8), ph[11] = (uint8_t)tl;
        phl = 12;
    }
    return ck_ok(ck_sum(ck_sum(0, ph, phl), seg + iphl, tl));
}

static void set16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

/* A TCP header with timestamps (32 octets) at p; flags ACK PSH FIN CWR. */
static size_t put_tcp(uint8_t *p, uint32_t seq)
{
    memset(p, 0, 32);
    set16(p, 40000), set16(p + 2, 5001);
    p[4] = (uint8_t)(seq >> 24), p[5] = (uint8_t)(seq >> 16), p[6] = (uint8_t)(seq >> 8);
    p[7] = (uint8_t)seq;
    p[11] = 7;      /* ack 7 */
    p[12] = 8 << 4; /* 32 octets */
    p[13] = 0x80 | 0x10 | 0x08 | 0x01;
    set16(p + 14, 501);
    p[20] = 1, p[21] = 1, p[22] = 8, p[23] = 10; /* NOP NOP TS */
    p[24] = 0xaa, p[31] = 0xbb;
    return 32;
}

static void fill_payload(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + i / 251);
}

/* An IPv4 TCP packet of total octets; opts: 4 octets of IP options. */
static uint8_t *make4(size_t total, int opts, int proto, size_t *iphl_out)
{
    uint8_t *p = calloc(1, total);
    size_t ihl = opts ? 24 : 20;
    p[0] = (uint8_t)(0x40 | ihl / 4);
    set16(p + 2, (unsigned)total);
    set16(p + 4, 0xfffe); /* the identifier wraps within the test */
    p[6] = 0x40;          /* DF */
    p[8] = 64, p[9] = (uint8_t)proto;
    p[12] = 198, p[13] = 18, p[14] = 0, p[15] = 1;
    p[16] = 198, p[17] = 18, p[18] = 0, p[19] = 2;
    if (opts)
        p[20] = 0x94, p[21] = 4; /* router alert (RFC 2113) */
    size_t th = put_tcp(p + ihl, 0xfffff000u);
    fill_payload(p + ihl + th, total - ihl - th);
    *iphl_out = ihl;
    return p;
}

static uint8_t *make6(size_t total, int nh)
{
    uint8_t *p = calloc(1, total);
    p[0] = 0x60;
    set16(p + 4, (unsigned)(total - 40));
    p[6] = (uint8_t)nh, p[7] = 64;
    p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 1;
    p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = 2;
    size_t th = put_tcp(p + 40, 0xfffff000u);
    fill_payload(p + 40 + th, total - 40 - th);
    return p;
}

/* Checks the segments of a split TCP packet against the original. */
static void check_split(const uint8_t *orig, size_t total, size_t iphl, int v6, unsigned mtu,
                        const struct seen *s, size_t want)
{
    size_t hl = iphl + 32, plen = total - hl, mss = mtu - hl, off = 0;
    CHECK(s->n == want);
    for (size_t i = 0; i < s->n; i++) {
        const uint8_t *g = s->seg[i];
        size_t len = s->len[i];
        int last = i + 1 == s->n;
        CHECK(len <= mtu);
        CHECK(len == hl + (last ? plen - off : mss));
        if (v6) {
            CHECK(be16(g + 4) == len - 40);
            CHECK(memcmp(g, orig, 4) == 0 && memcmp(g + 6, orig + 6, 34) == 0);
        } else {
            CHECK(be16(g + 2) == len);
            CHECK(be16(g + 4) == ((0xfffe + i) & 0xffff));
            CHECK(ck_ok(ck_sum(0, g, iphl)));
            CHECK(g[6] == orig[6] && g[9] == 6 && memcmp(g + 12, orig + 12, iphl - 12) == 0);
        }
        const uint8_t *t = g + iphl;
        CHECK(tcp_ok(g, len, iphl, v6));
        CHECK(be32(t + 4) == (uint32_t)(0xfffff000u + off)); /* wraps too */
        CHECK(memcmp(t, orig + iphl, 4) == 0 && memcmp(t + 8, orig + iphl + 8, 5) == 0);
        CHECK(memcmp(t + 18, orig + iphl + 18, 14) == 0); /* urgent pointer, options */
        unsigned want_flags = 0x10;
        if (i == 0)
            want_flags |= 0x80;
        if (last)
            want_flags |= 0x08 | 0x01;
        CHECK(t[13] == want_flags);
        CHECK(memcmp(g + hl, orig + hl + off, len - hl) == 0);
        off += len - hl;
    }
    CHECK(off == plen); /* the payloads concatenate to the original's */
}

static struct seen S;
static uint8_t buf[1600];

static void test_ipv4(int opts)
{
    size_t iphl, n = 99;
    uint8_t *p = make4(4000, opts, 6, &iphl);
    memset(&S, 0, sizeof S);
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, collect, &S, &n) == PSEG_SPLIT);
    CHECK(n == 3);
    check_split(p, 4000, iphl, 0, 1500, &S, 3);
    /* an odd MSS: 9 segments at MTU 576 */
    memset(&S, 0, sizeof S);
    CHECK(pkt_segment(p, 4000, 576, buf, sizeof buf, collect, &S, &n) == PSEG_SPLIT);
    size_t mss = 576 - iphl - 32, want = (4000 - iphl - 32 + mss - 1) / mss;
    check_split(p, 4000, iphl, 0, 576, &S, want);
    CHECK(n == want);
    free(p);
}

static void test_ipv6(void)
{
    size_t n = 0;
    uint8_t *p = make6(4000, 6);
    memset(&S, 0, sizeof S);
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, collect, &S, &n) == PSEG_SPLIT);
    CHECK(n == 3);
    check_split(p, 4000, 40, 1, 1500, &S, 3);
    free(p);
    /* extension headers (hop-by-hop first): not split */
    p = make6(4000, 0);
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT && n == 0);
    free(p);
}

static void test_not_split(void)
{
    size_t iphl, n = 5;
    uint8_t *p = make4(4000, 0, 17, &iphl); /* UDP GRO */
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT && n == 0);
    free(p);
    p = make4(1500, 0, 6, &iphl); /* fits: nothing to do, whatever it holds */
    CHECK(pkt_segment(p, 1500, 1500, buf, 1500, never, NULL, &n) == PSEG_FITS && n == 0);
    CHECK(pkt_segment(p, 1500, 0, buf, 1500, never, NULL, &n) == PSEG_FITS);
    CHECK(pkt_segment(p, 0, 1500, buf, 1500, never, NULL, &n) == PSEG_FITS);
    free(p);
    p = make4(4000, 0, 6, &iphl);
    /* an MTU too small to use, a buffer too small for one segment */
    CHECK(pkt_segment(p, 4000, 500, buf, sizeof buf, never, NULL, &n) == PSEG_UNSPLIT);
    CHECK(pkt_segment(p, 4000, 1500, buf, 1499, never, NULL, &n) == PSEG_UNSPLIT);
    /* a fragment; total length not the packet's; a bad header length */
    p[6] = 0x20;
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT);
    p[6] = 0x00, p[7] = 0x01;
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT);
    p[7] = 0;
    CHECK(pkt_segment(p, 3999, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT);
    p[0] = 0x44;
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT);
    p[0] = 0x45, p[20 + 12] = 0x40; /* TCP data offset 4 */
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT);
    p[20 + 12] = 0x80, p[0] = 0x55; /* version 5 */
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT);
    free(p);
    /* IPv6 jumbo payload length 0 */
    p = make6(4000, 6);
    set16(p + 4, 0);
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, never, NULL, &n) == PSEG_UNSPLIT);
    free(p);
}

static void test_stop(void)
{
    size_t iphl, n = 0;
    uint8_t *p = make4(4000, 0, 6, &iphl);
    memset(&S, 0, sizeof S);
    S.stop_after = 1;
    CHECK(pkt_segment(p, 4000, 1500, buf, 1500, collect, &S, &n) == PSEG_SPLIT);
    CHECK(n == 1 && S.n == 1);
    free(p);
}

/* Truncated copies of good packets and random octets, each in a heap buffer
 * of its exact size (ASan: no read past len). */
static void test_garbage(void)
{
    size_t iphl, n;
    uint8_t *good4 = make4(3000, 1, 6, &iphl), *good6 = make6(3000, 6);
    for (size_t len = 1; len <= 3000; len += 7) {
        for (int k = 0; k < 2; k++) {
            uint8_t *p = malloc(len);
            memcpy(p, k ? good6 : good4, len);
            memset(&S, 0, sizeof S);
            enum pseg_rc rc = pkt_segment(p, len, 576, buf, sizeof buf, collect, &S, &n);
            CHECK(rc == (len <= 576 ? PSEG_FITS : PSEG_UNSPLIT) && S.n == 0);
            free(p);
        }
    }
    srand(10);
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % 2000) + 1;
        uint8_t *p = malloc(len);
        for (size_t j = 0; j < len; j++)
            p[j] = (uint8_t)rand();
        if (i & 1) /* plausible headers, random rest */
            memcpy(p, (i & 2) ? good6 : good4, len < 60 ? len : 60);
        memset(&S, 0, sizeof S);
        unsigned mtu = 576 + (unsigned)(rand() % 1000);
        enum pseg_rc rc = pkt_segment(p, len, mtu, buf, sizeof buf, collect, &S, &n);
        CHECK(rc == PSEG_FITS || rc == PSEG_SPLIT || rc == PSEG_UNSPLIT);
        CHECK(rc == PSEG_SPLIT ? n == S.n && n >= 2 : S.n == 0);
        for (size_t s = 0; s < S.n; s++)
            CHECK(S.len[s] <= mtu);
        free(p);
    }
    free(good4);
    free(good6);
}

int main(void)
{
    test_ipv4(0);
    test_ipv4(1);
    test_ipv6();
    test_not_split();
    test_stop();
    test_garbage();
    return 0;
}
