/*
 * test_ip_reasm.c - IPv4/IPv6 fragment reassembly (src/capture/ip_reasm.c):
 * orders, duplicates, overlaps (RFC 5722), timeouts, evictions, the byte
 * and size limits, and that a completed datagram decodes as the original.
 * Fragments are cut by hand from hand-written datagrams and go through
 * pkt_decode() first, as in the capture process.
 */
#include "check.h"
#include "pmirrord/ip_reasm.h"
#include "pmirrord/pkt_decode.h"

#include <pcap/dlt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IPv4 192.0.2.1 -> 198.51.100.2, TTL 64, UDP: total length, id, frag field patched in. */
static const uint8_t ip4_tpl[20] = {0x45, 0x00, 0,   0, 0, 0, 0,   0,  0x40, 17,
                                    0,    0,    192, 0, 2, 1, 198, 51, 100,  2};
/* IPv6 2001:db8::1 -> 2001:db8::2, a hop-by-hop header (PadN) then the fragment header. */
static const uint8_t ip6_tpl[48] = {0x60,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0 /* hop-by-hop */,
                                    0x40,
                                    0x20,
                                    0x01,
                                    0x0d,
                                    0xb8,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0x01,
                                    0x20,
                                    0x01,
                                    0x0d,
                                    0xb8,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0x02,
                                    44 /* next: fragment */,
                                    0,
                                    0x01,
                                    0x04,
                                    0,
                                    0,
                                    0,
                                    0};

#define DGRAM_MAX 65600

/* A UDP datagram 1024 -> 1812 with n payload bytes: UDP header + pattern. */
static size_t udp_data(uint8_t *d, size_t n)
{
    d[0] = 0x04;
    d[1] = 0x00;
    d[2] = 0x07;
    d[3] = 0x14;
    d[4] = (uint8_t)((n + 8) >> 8);
    d[5] = (uint8_t)(n + 8);
    d[6] = d[7] = 0;
    for (size_t i = 0; i < n; i++)
        d[8 + i] = (uint8_t)(i * 7 + 3);
    return n + 8;
}

/* An IPv4 fragment of data[off, off + len) into buf; returns its length. */
static size_t frag4(uint8_t *buf, uint16_t id, const uint8_t *data, size_t off, size_t len, int mf,
                    uint8_t src_last)
{
    memcpy(buf, ip4_tpl, 20);
    buf[2] = (uint8_t)((20 + len) >> 8);
    buf[3] = (uint8_t)(20 + len);
    buf[4] = (uint8_t)(id >> 8);
    buf[5] = (uint8_t)id;
    uint16_t ff = (uint16_t)((mf ? 0x2000 : 0) | (off / 8));
    buf[6] = (uint8_t)(ff >> 8);
    buf[7] = (uint8_t)ff;
    buf[15] = src_last;
    memcpy(buf + 20, data + off, len);
    return 20 + len;
}

static size_t frag6(uint8_t *buf, uint32_t id, const uint8_t *data, size_t off, size_t len, int mf)
{
    memcpy(buf, ip6_tpl, 48);
    size_t plen = 8 + 8 + len;
    buf[4] = (uint8_t)(plen >> 8);
    buf[5] = (uint8_t)plen;
    uint8_t *fh = buf + 48;
    fh[0] = 17;
    fh[1] = 0;
    fh[2] = (uint8_t)(off >> 8);
    fh[3] = (uint8_t)((off & 0xf8) | (mf ? 1 : 0));
    fh[4] = (uint8_t)(id >> 24);
    fh[5] = (uint8_t)(id >> 16);
    fh[6] = (uint8_t)(id >> 8);
    fh[7] = (uint8_t)id;
    memcpy(buf + 56, data + off, len);
    return 56 + len;
}

static uint8_t data[DGRAM_MAX], pkt[DGRAM_MAX], out[DGRAM_MAX];
static uint64_t now = 1000;

/* Decodes pkt (n bytes, raw IP) and offers it. */
static int add(struct reasm *r, size_t n, size_t *outn)
{
    struct pkt_view v;
    int rc = pkt_decode(DLT_RAW, pkt, n, n, &v);
    if (rc != 0)
        fprintf(stderr, "decode: %s\n", pkt_reason_name(rc));
    CHECK(rc == 0);
    return reasm_add(r, &v, now, out, sizeof(out), outn);
}

/* The reassembled packet decodes as UDP 1024 -> 1812 carrying the datagram. */
static void check_out(size_t outn, int family, size_t udplen)
{
    struct pkt_view v;
    CHECK(pkt_decode(DLT_RAW, out, outn, outn, &v) == 0);
    CHECK(v.family == family && !(v.flags & PKT_F_FRAG) && v.proto == 17);
    CHECK((v.flags & PKT_F_PORTS) && v.sport == 1024 && v.dport == 1812 && v.udp_len == udplen);
    CHECK(v.payload_len == udplen - 8 && memcmp(v.payload, data + 8, udplen - 8) == 0);
    if (family == PKT_FAM_IPV4) {
        uint32_t sum = 0; /* RFC 1071: a valid header sums to 0xffff */
        for (size_t i = 0; i < 20; i += 2)
            sum += (uint32_t)(out[i] << 8 | out[i + 1]);
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        CHECK(sum == 0xffff);
        CHECK(outn == 20 + udplen && out[6] == 0 && out[7] == 0);
    } else {
        CHECK(v.n_ext == 1 && outn == 48 + udplen); /* hop-by-hop kept, fragment header gone */
        CHECK(out[40] == 17);
    }
}

/* A 4096-byte RADIUS-sized datagram in 576-byte fragments, in the given order. */
static void test_orders(void)
{
    static const int orders[][8] = {
        {0, 1, 2, 3, 4, 5, 6, 7}, {7, 6, 5, 4, 3, 2, 1, 0}, {3, 7, 0, 5, 1, 6, 2, 4}};
    size_t dl = udp_data(data, 4096 - 28);
    const size_t step = 552; /* 576 - 20 - 4 rounded to 8 */
    for (size_t o = 0; o < 3; o++) {
        struct reasm *r = reasm_new(16, 1 << 20, 5000);
        CHECK(r != NULL);
        for (int i = 0; i < 8; i++) {
            size_t off = (size_t)orders[o][i] * step;
            size_t len = off + step < dl ? step : dl - off;
            size_t outn = 99;
            int rc = add(r, frag4(pkt, 0x4242, data, off, len, off + len < dl, 1), &outn);
            CHECK(rc == (i == 7 ? REASM_COMPLETE : REASM_NEED_MORE));
            CHECK(outn == (i == 7 ? 20 + dl : 0));
        }
        check_out(20 + dl, PKT_FAM_IPV4, dl);
        struct reasm_stats st;
        reasm_stats(r, &st);
        CHECK(st.fragments == 8 && st.completed == 1 && st.in_progress == 0 && st.bytes == 0);
        reasm_free(r);
    }
}

static void test_ipv6(void)
{
    size_t dl = udp_data(data, 3000);
    struct reasm *r = reasm_new(4, 1 << 20, 5000);
    size_t outn;
    CHECK(add(r, frag6(pkt, 0xdeadbeef, data, 1232, dl - 1232, 0), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag6(pkt, 0xdeadbeef, data, 0, 1232, 1), &outn) == REASM_COMPLETE);
    check_out(outn, PKT_FAM_IPV6, dl);
    reasm_free(r);
}

static void test_duplicates_and_overlaps(void)
{
    size_t dl = udp_data(data, 100); /* 108 bytes: 0..55, 56..107 */
    struct reasm *r = reasm_new(8, 1 << 16, 5000);
    struct reasm_stats st;
    size_t outn;

    /* An exact duplicate (one packet seen on two sources) is ignored. */
    CHECK(add(r, frag4(pkt, 1, data, 0, 56, 1, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 1, data, 0, 56, 1, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 1, data, 56, dl - 56, 0, 1), &outn) == REASM_COMPLETE);
    check_out(outn, PKT_FAM_IPV4, dl);
    reasm_stats(r, &st);
    CHECK(st.duplicates == 1 && st.completed == 1);

    /* The same range with other bytes: the whole datagram is dropped, later fragments too. */
    CHECK(add(r, frag4(pkt, 2, data, 0, 56, 1, 1), &outn) == REASM_NEED_MORE);
    data[20] ^= 0xff;
    CHECK(add(r, frag4(pkt, 2, data, 0, 56, 1, 1), &outn) == REASM_E_OVERLAP);
    data[20] ^= 0xff;
    CHECK(add(r, frag4(pkt, 2, data, 56, dl - 56, 0, 1), &outn) == REASM_E_OVERLAP);
    reasm_stats(r, &st);
    CHECK(st.overlaps == 1 && st.dead == 1 && st.completed == 1);

    /* A partial overlap with identical bytes is an overlap all the same (RFC 5722). */
    CHECK(add(r, frag4(pkt, 3, data, 0, 56, 1, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 3, data, 48, dl - 48, 0, 1), &outn) == REASM_E_OVERLAP);

    /* Two different last fragments, and data past the end. */
    CHECK(add(r, frag4(pkt, 4, data, 56, dl - 56, 0, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 4, data, 8, 8, 0, 1), &outn) == REASM_E_OVERLAP);
    CHECK(add(r, frag4(pkt, 5, data, 64, 8, 1, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 5, data, 8, 8, 0, 1), &outn) == REASM_E_OVERLAP);
    CHECK(add(r, frag4(pkt, 6, data, 8, 8, 0, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 6, data, 64, 8, 1, 1), &outn) == REASM_E_OVERLAP);
    reasm_stats(r, &st);
    CHECK(st.overlaps == 5 && st.completed == 1);

    /* The key: another source address is another datagram. */
    CHECK(add(r, frag4(pkt, 7, data, 0, 56, 1, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 7, data, 56, dl - 56, 0, 9), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 7, data, 56, dl - 56, 0, 1), &outn) == REASM_COMPLETE);
    reasm_free(r);
}

static void test_limits(void)
{
    size_t dl = udp_data(data, 100);
    struct reasm_stats st;
    size_t outn;

    /* Timeout: a datagram older than timeout_ms is dropped and counted. */
    struct reasm *r = reasm_new(4, 1 << 16, 1000);
    CHECK(add(r, frag4(pkt, 1, data, 0, 56, 1, 1), &outn) == REASM_NEED_MORE);
    now += 999;
    reasm_expire(r, now);
    reasm_stats(r, &st);
    CHECK(st.timeouts == 0 && st.in_progress == 1);
    now += 1;
    CHECK(add(r, frag4(pkt, 1, data, 56, dl - 56, 0, 1), &outn) == REASM_NEED_MORE);
    reasm_stats(r, &st);
    CHECK(st.timeouts == 1 && st.in_progress == 1);
    /* A clock that goes backwards ages nothing. */
    now -= 500;
    CHECK(add(r, frag4(pkt, 1, data, 0, 56, 1, 1), &outn) == REASM_COMPLETE);
    now += 500;
    reasm_free(r);

    /* max_datagrams: the oldest is evicted and counted. */
    r = reasm_new(2, 1 << 16, 5000);
    for (uint16_t id = 1; id <= 3; id++) {
        now++;
        CHECK(add(r, frag4(pkt, id, data, 0, 56, 1, 1), &outn) == REASM_NEED_MORE);
    }
    reasm_stats(r, &st);
    CHECK(st.evictions == 1 && st.in_progress == 2);
    CHECK(add(r, frag4(pkt, 1, data, 56, dl - 56, 0, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 3, data, 56, dl - 56, 0, 1), &outn) == REASM_COMPLETE);
    reasm_free(r);

    /* max_bytes: room is made by evicting older datagrams; a datagram too big for it drops. */
    dl = udp_data(data, 4000);
    r = reasm_new(8, 4096, 5000);
    CHECK(add(r, frag4(pkt, 1, data, 0, 1000, 1, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 2, data, 0, 1000, 1, 1), &outn) == REASM_NEED_MORE);
    reasm_stats(r, &st);
    CHECK(st.bytes == 2048);
    CHECK(add(r, frag4(pkt, 3, data, 2000, 1000, 1, 1), &outn) == REASM_NEED_MORE);
    reasm_stats(r, &st);
    CHECK(st.evictions == 1 && st.bytes == 1024 + 3072);
    CHECK(add(r, frag4(pkt, 4, data, 4000, dl - 4000, 0, 1), &outn) == REASM_NEED_MORE);
    reasm_stats(r, &st);
    CHECK(st.evictions == 3 && st.bytes == 4096 && st.in_progress == 1);
    CHECK(add(r, frag4(pkt, 5, data, 5000, 8, 0, 1), &outn) == REASM_E_MEMORY);
    reasm_stats(r, &st);
    CHECK(st.memory == 1 && st.evictions == 3 && st.bytes == 4096);
    reasm_free(r);

    /* Beyond 65535 bytes; more than REASM_MAX_FRAGS fragments; an output buffer too small. */
    r = reasm_new(8, 1 << 20, 5000);
    memset(data, 0x5a, 64);
    CHECK(add(r, frag4(pkt, 1, data, 0, 16, 1, 1), &outn) == REASM_NEED_MORE);
    struct pkt_view v;
    size_t n = frag4(pkt, 1, data, 0, 16, 0, 1);
    pkt[6] = 0x1f; /* offset 65512 + 16 bytes > 65535 - 20 */
    pkt[7] = 0xfd;
    CHECK(pkt_decode(DLT_RAW, pkt, n, n, &v) == 0);
    CHECK(reasm_add(r, &v, now, out, sizeof(out), &outn) == REASM_E_TOO_BIG);
    for (size_t i = 0; i < REASM_MAX_FRAGS; i++)
        CHECK(add(r, frag4(pkt, 2, data, i * 8, 8, 1, 1), &outn) == REASM_NEED_MORE);
    CHECK(add(r, frag4(pkt, 2, data, 4096, 8, 0, 1), &outn) == REASM_E_TOO_MANY);
    dl = udp_data(data, 100);
    CHECK(add(r, frag4(pkt, 3, data, 0, 56, 1, 1), &outn) == REASM_NEED_MORE);
    n = frag4(pkt, 3, data, 56, dl - 56, 0, 1);
    CHECK(pkt_decode(DLT_RAW, pkt, n, n, &v) == 0);
    CHECK(reasm_add(r, &v, now, out, 127, &outn) == REASM_E_OUTBUF && outn == 0);
    reasm_stats(r, &st);
    CHECK(st.too_big == 1 && st.too_many == 1 && st.outbuf == 1);

    /* Not fragments, and malformed ones. */
    n = frag4(pkt, 4, data, 0, dl, 0, 1);
    CHECK(add(r, n, &outn) == REASM_NOT_FRAGMENT);
    CHECK(add(r, frag4(pkt, 5, data, 0, 12, 1, 1), &outn) == REASM_E_BAD); /* MF, not 8k bytes */
    n = frag4(pkt, 6, data, 0, 56, 1, 1);
    CHECK(pkt_decode(DLT_RAW, pkt, 40, n, &v) == 0 && (v.flags & PKT_F_SNAPPED));
    CHECK(reasm_add(r, &v, now, out, sizeof(out), &outn) == REASM_E_BAD);
    CHECK(reasm_add(NULL, &v, now, out, sizeof(out), &outn) == REASM_E_ARG);
    CHECK(reasm_add(r, NULL, now, out, sizeof(out), &outn) == REASM_E_ARG);
    CHECK(reasm_add(r, &v, now, NULL, 10, &outn) == REASM_E_ARG);
    reasm_stats(r, &st);
    CHECK(st.bad == 2);
    reasm_free(r); /* with datagrams still held: nothing leaks (ASan) */

    /* A view pkt_decode() did not accept is refused, not trusted. */
    r = reasm_new(8, 1 << 20, 5000);
    memset(&v, 0xff, sizeof(v));
    v.family = PKT_FAM_IPV6;
    v.flags = PKT_F_FRAG | PKT_F_MF;
    v.frame = pkt;
    v.caplen = 60;
    CHECK(reasm_add(r, &v, now, out, sizeof(out), &outn) == REASM_E_BAD);
    v.l3_off = 0;
    v.ip_len = v.l3_caplen = 60;
    v.frag_hdr_off = 16;
    CHECK(reasm_add(r, &v, now, out, sizeof(out), &outn) == REASM_E_BAD);
    v.family = PKT_FAM_IPV4;
    v.l3_hdrlen = 64;
    CHECK(reasm_add(r, &v, now, out, sizeof(out), &outn) == REASM_E_BAD);
    reasm_free(r);

    CHECK(reasm_new(0, 1, 1) == NULL);
    CHECK(reasm_new(1, 1, 0) == NULL);
    reasm_free(NULL);
    CHECK(strcmp(reasm_result_name(REASM_E_OVERLAP), "overlap") == 0);
    CHECK(strcmp(reasm_result_name(REASM_COMPLETE), "complete") == 0);
    CHECK(strcmp(reasm_result_name(-99), "unknown") == 0);
}

int main(void)
{
    test_orders();
    test_ipv6();
    test_duplicates_and_overlaps();
    test_limits();
    printf("test_ip_reasm: ok\n");
    return 0;
}
