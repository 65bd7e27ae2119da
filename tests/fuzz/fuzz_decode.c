/*
 * fuzz_decode.c - libFuzzer target for the packet decoders
 * (src/capture/pkt_decode.c, pkt_l2.c, ip_reasm.c, pkt_dedupe.c).
 *
 * Input: byte 0 picks the link type (% 8: EN10MB, LINUX_SLL, LINUX_SLL2,
 * RAW, IPV4, IPV6, NULL, LOOP); byte 1 is how many bytes (times 8) the wire
 * had beyond what was captured (0: caplen == wirelen); then records of a
 * 2-byte big-endian length and that many bytes (the last one takes what is
 * left), each a frame, 10 ms apart.  Every frame is decoded from a heap
 * buffer of its exact size, checked, offered to one reassembly table and one
 * dedupe table, and every reassembled datagram is decoded again.
 *
 * Properties (abort() when one fails):
 *   - the result is 0 or a known reason; every offset, pointer and length
 *     of the view lies inside the captured bytes; at most 2 VLAN tags and
 *     8 IPv6 extension headers; SNAPPED exactly when the IP packet is
 *     longer than what was captured, never when caplen == wirelen;
 *   - pkt_dedupe_seen() of a decoded IP packet just seen on another source
 *     says 1, on its own source 0;
 *   - reassembly stays within max_datagrams and max_bytes; a completed
 *     datagram is at most 65535 bytes (IPv4) / 65535 + 40 (IPv6), is not a
 *     fragment, and decodes with the IP length it has.
 */
#include "pmirrord/ip_reasm.h"
#include "pmirrord/pkt_decode.h"
#include "pmirrord/pkt_dedupe.h"

#include <pcap/dlt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_decode: property failed: %s: ", #cond);                          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_DGRAMS 8
#define MAX_BYTES  (64 * 1024)

static const int dlts[8] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                            DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP};

static uint8_t out[REASM_MAX_PACKET + 64];

static void check_view(const struct pkt_view *v, int rc, const uint8_t *p, size_t caplen,
                       size_t wirelen)
{
    CHECK(rc <= 0 && rc > -PKT_REASON_COUNT, "rc %d", rc);
    CHECK(v->frame == p && v->caplen == caplen && v->wirelen == wirelen, "frame");
    CHECK(v->nvlan <= PKT_MAX_VLAN && v->n_ext <= PKT_MAX_IP6_EXT, "%u tags, %u ext", v->nvlan,
          v->n_ext);
    if (rc != 0 || v->family == PKT_FAM_NONE)
        return;
    CHECK(v->family == PKT_FAM_IPV4 || v->family == PKT_FAM_IPV6, "family %d", v->family);
    CHECK(v->l3_off <= caplen && v->l3_caplen <= caplen - v->l3_off, "l3 %zu+%zu of %zu", v->l3_off,
          v->l3_caplen, caplen);
    CHECK(v->l3_caplen <= v->ip_len && v->ip_len <= wirelen - v->l3_off, "ip_len %zu", v->ip_len);
    CHECK(v->l3_hdrlen <= v->l3_caplen, "hdrlen %zu", v->l3_hdrlen);
    CHECK(v->l4_off >= v->l3_off + v->l3_hdrlen && v->l4_off <= v->l3_off + v->l3_caplen,
          "l4_off %zu", v->l4_off);
    CHECK(v->payload >= p + v->l4_off && v->payload <= p + caplen &&
              v->payload_len <= (size_t)(p + caplen - v->payload),
          "payload");
    CHECK(((v->flags & PKT_F_SNAPPED) != 0) == (v->l3_caplen < v->ip_len), "snapped");
    CHECK(caplen < wirelen || !(v->flags & PKT_F_SNAPPED), "snapped without a snap length");
    if (v->flags & PKT_F_FRAG)
        CHECK(v->frag_off + (v->l3_off + v->ip_len - v->l4_off) <= REASM_MAX_PACKET ||
                  v->family == PKT_FAM_IPV6,
              "fragment past 65535");
    if (v->family == PKT_FAM_IPV6 && (v->flags & PKT_F_FRAG))
        CHECK(v->frag_nh_off < v->frag_hdr_off && v->frag_hdr_off + 8 <= v->l4_off, "frag hdr");
}

static void reassembled(size_t n)
{
    struct pkt_view v;
    int rc = pkt_decode(DLT_RAW, out, n, n, &v);
    check_view(&v, rc, out, n, n);
    int v6 = n > 0 && out[0] >> 4 == 6;
    CHECK(n <= REASM_MAX_PACKET + (v6 ? 40 : 0), "%zu bytes", n);
    if (rc == 0) {
        /* IPv6 may nest a fragment header in the fragmentable part; IPv4 cannot. */
        CHECK(v.ip_len == n && (v6 || !(v.flags & PKT_F_FRAG)), "reassembled: ip_len %zu of %zu",
              v.ip_len, n);
    } else {
        /* Only what the fragments' own checks could not see: L4, the fragmentable part. */
        CHECK(rc == PKT_E_UDP_LEN || rc == PKT_E_TCP_HDRLEN ||
                  (v6 && (rc == PKT_E_IP6_EXT || rc == PKT_E_IP_FRAG)),
              "reassembled: %s", pkt_reason_name(rc));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int dlt = dlts[data[0] % 8];
    size_t extra = (size_t)data[1] * 8;
    data += 2;
    size -= 2;
    static const uint8_t key[16] = {1, 2, 3};
    struct reasm *r = reasm_new(MAX_DGRAMS, MAX_BYTES, 1000);
    struct pkt_dedupe *dd = pkt_dedupe_new(16, 100, key);
    CHECK(r != NULL && dd != NULL, "out of memory");
    uint64_t now = 0;
    while (size > 0) {
        size_t len = size;
        if (size >= 2) {
            len = (size_t)(data[0] << 8 | data[1]);
            data += 2;
            size -= 2;
            if (len > size)
                len = size;
        }
        uint8_t *frame = malloc(len ? len : 1);
        CHECK(frame != NULL, "out of memory");
        memcpy(frame, data, len);
        data += len;
        size -= len;
        now += 10;

        struct pkt_view v;
        int rc = pkt_decode(dlt, frame, len, len + extra, &v);
        check_view(&v, rc, frame, len, len + extra);
        CHECK(strcmp(pkt_reason_name(rc), "unknown") != 0, "name of %d", rc);
        if (rc == 0) {
            (void)pkt_is_superpacket(&v, 1500);
            if (v.family != PKT_FAM_NONE && v.l3_caplen > 0) {
                (void)pkt_dedupe_seen(dd, &v, 0, now);
                CHECK(pkt_dedupe_seen(dd, &v, 1, now) == 1, "not seen again on another source");
                CHECK(pkt_dedupe_seen(dd, &v, 0, now) == 0, "again on its own source: handled");
            }
            size_t n = 0;
            int rr = reasm_add(r, &v, now, out, sizeof(out), &n);
            CHECK(rr >= REASM_E_OUTBUF && rr <= REASM_NOT_FRAGMENT, "reasm %d", rr);
            CHECK((rr == REASM_COMPLETE) == (n > 0), "reasm %d with %zu bytes", rr, n);
            if (rr == REASM_COMPLETE)
                reassembled(n);
            struct reasm_stats st;
            reasm_stats(r, &st);
            CHECK(st.in_progress <= MAX_DGRAMS && st.bytes <= MAX_BYTES, "%zu dgrams, %zu bytes",
                  st.in_progress, st.bytes);
        }
        free(frame);
    }
    reasm_free(r);
    pkt_dedupe_free(dd);
    return 0;
}
