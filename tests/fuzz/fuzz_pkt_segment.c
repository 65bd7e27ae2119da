/*
 * fuzz_pkt_segment.c - libFuzzer target for the GRO/TSO super-packet split
 * (src/capture/pkt_segment.c).
 *
 * Input: bytes 0-1 (big-endian) pick the MTU, 0 (unknown) when both are 0,
 * else 500 + the value % 1600 (below PSEG_MTU_MIN too); byte 2 are fix-ups
 * applied to the packet so that the split path is reached: bit 0 the IPv4
 * total length / IPv6 payload length made the packet's, bit 1 the protocol
 * / next header made TCP, bit 2 the IPv4 flags and fragment offset cleared;
 * the rest is the IP packet, split from a heap buffer of its exact size
 * into a buffer of exactly MTU octets.
 *
 * Properties (abort() when one fails):
 *   - FITS exactly when the MTU is 0 or the packet is no longer than it;
 *     FITS or UNSPLIT: the callback was never called, *nseg is 0;
 *   - SPLIT: at least 2 segments, *nseg of them, each no longer than the
 *     MTU, each a well-formed IP packet of its own length (IPv4 header
 *     checksum and TCP checksum with the pseudo-header verified here,
 *     independently of the code under test) with the headers of the
 *     original apart from the fields the cut changes; the sequence numbers
 *     advance by the payloads and the payloads concatenate to the
 *     original's; FIN and PSH only on the last, CWR only on the first.
 */
#include "pmirrord/pkt_segment.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_pkt_segment: property failed: %s: ", #cond);                     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct ctx {
    const uint8_t *ip;
    size_t len, iphl, hl, off, n;
    unsigned mtu;
    int v6;
};

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

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

static int on_seg(void *arg, const uint8_t *g, size_t len)
{
    struct ctx *c = arg;
    const uint8_t *o = c->ip;
    size_t iphl = c->iphl, hl = c->hl;
    CHECK(len <= c->mtu && len > hl, "segment %zu of %zu octets, MTU %u", c->n, len, c->mtu);
    uint8_t ph[40] = {0};
    size_t tl = len - iphl, phl;
    if (c->v6) {
        CHECK(be16(g + 4) == len - 40, "payload length");
        CHECK(memcmp(g, o, 4) == 0 && memcmp(g + 6, o + 6, 34) == 0, "IPv6 header");
        memcpy(ph, g + 8, 32);
        ph[34] = (uint8_t)(tl >> 8), ph[35] = (uint8_t)tl, ph[39] = 6;
        phl = 40;
    } else {
        CHECK(be16(g + 2) == len, "total length");
        CHECK(be16(g + 4) == ((be16(o + 4) + c->n) & 0xffff), "identifier");
        CHECK(ck_ok(ck_sum(0, g, iphl)), "IPv4 header checksum");
        CHECK(g[0] == o[0] && g[1] == o[1] && memcmp(g + 6, o + 6, 4) == 0 &&
                  memcmp(g + 12, o + 12, iphl - 12) == 0,
              "IPv4 header");
        memcpy(ph, g + 12, 8);
        ph[9] = 6, ph[10] = (uint8_t)(tl >> 8), ph[11] = (uint8_t)tl;
        phl = 12;
    }
    CHECK(ck_ok(ck_sum(ck_sum(0, ph, phl), g + iphl, tl)), "TCP checksum");
    const uint8_t *t = g + iphl, *ot = o + iphl;
    int last = c->off + (len - hl) == c->len - hl;
    CHECK(be32(t + 4) == be32(ot + 4) + (uint32_t)c->off, "sequence number");
    CHECK(memcmp(t, ot, 4) == 0 && memcmp(t + 8, ot + 8, 5) == 0 &&
              memcmp(t + 14, ot + 14, 2) == 0 && memcmp(t + 18, ot + 18, hl - iphl - 18) == 0,
          "TCP header");
    uint8_t want = ot[13];
    if (!last)
        want &= (uint8_t)~0x09;
    if (c->n > 0)
        want &= (uint8_t)~0x80;
    CHECK(t[13] == want, "flags %02x, want %02x", t[13], want);
    CHECK(memcmp(g + hl, o + hl + c->off, len - hl) == 0, "payload");
    c->off += len - hl;
    c->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    unsigned v = be16(data);
    unsigned mtu = v == 0 ? 0 : 500 + v % 1600;
    unsigned fix = data[2];
    size_t len = size - 3;
    uint8_t *ip = calloc(len ? len : 1, 1);
    if (len)
        memcpy(ip, data + 3, len);
    int ver = len ? ip[0] >> 4 : 0;
    if (ver == 4 && len >= 20) {
        if (fix & 1)
            ip[2] = (uint8_t)(len >> 8), ip[3] = (uint8_t)len;
        if (fix & 2)
            ip[9] = 6;
        if (fix & 4)
            ip[6] &= 0x80, ip[7] = 0;
    } else if (ver == 6 && len >= 40) {
        if (fix & 1)
            ip[4] = (uint8_t)((len - 40) >> 8), ip[5] = (uint8_t)(len - 40);
        if (fix & 2)
            ip[6] = 6;
    }
    uint8_t *buf = malloc(mtu ? mtu : 1);
    struct ctx c = {.ip = ip, .len = len, .mtu = mtu, .v6 = ver == 6};
    if (ver == 4 && len >= 20)
        c.iphl = (size_t)(ip[0] & 15) * 4;
    else if (ver == 6)
        c.iphl = 40;
    if (c.iphl >= 20 && c.iphl + 20 <= len)
        c.hl = c.iphl + (size_t)(ip[c.iphl + 12] >> 4) * 4;
    size_t nseg = 99;
    enum pseg_rc rc = pkt_segment(ip, len, mtu, buf, mtu, on_seg, &c, &nseg);
    CHECK(rc == PSEG_FITS || rc == PSEG_SPLIT || rc == PSEG_UNSPLIT, "rc %d", (int)rc);
    CHECK((rc == PSEG_FITS) == (mtu == 0 || len <= mtu), "FITS, len %zu MTU %u", len, mtu);
    if (rc == PSEG_SPLIT) {
        CHECK(nseg == c.n && nseg >= 2, "%zu segments, %zu seen", nseg, c.n);
        CHECK(c.off == len - c.hl, "payloads %zu of %zu", c.off, len - c.hl);
    } else {
        CHECK(nseg == 0 && c.n == 0, "no segments");
    }
    free(buf);
    free(ip);
    return 0;
}
