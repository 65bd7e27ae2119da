/*
 * fuzz_radius_track.c - libFuzzer target for the RADIUS tracker
 * (src/capture/radius_track.c, radius_pair.c, radius_replay.c,
 * radius_ident.c) fed sequences of packets through rt_input().
 *
 * Input: byte 0 flags: bit 0 requireMessageAuthenticator on, bit 1 IPv6
 * peers, bit 2 radiusPairTimeout and radiusReplayWindow of 1 s, bit 3
 * radiusRequireEventTimestamp on.  Then
 * records: a flow byte (low 4 bits: which peers and ports, below; bit 7:
 * re-sign the packet here, so that fuzzed attributes get past the
 * authenticators), a byte of seconds to advance the clock, a 2-byte
 * big-endian length and the packet (cut at the end of the input).  A
 * response is re-signed with the authenticator of the last request of its
 * flow pair (flow & ~1).
 *
 *   0/1  NAS:40000 <-> SRV:1812      2/3  NAS:40001 <-> SRV:1813
 *   4/5  SRV:50000 <-> NAS:3799      6/7  DAC:50001 <-> NAS:3799 (own secret)
 *   8/9  NAS2:40000 <-> SRV:1812 (radiusClient secret)
 *   10/11 OTHER:40000 <-> SRV:3799 / OTHER:1812 (not peers)
 *
 * Properties (abort() when one fails): every packet is counted once (twice
 * at most: a verified CoA or Accounting-Request with a malformed
 * Event-Timestamp or Acct-Delay-Time is parsed and malformed); counters never go down; facts
 * counted = facts delivered; each fact has a known kind, li.error 0, 4 or 7, at most
 * SIG_PREFIX6_MAX prefixes of length 1..128 with no bit set past it; rt_tick() returns -1 or at
 * most the pair timeout.  ASan/LSan: no overflow, no leak.
 */
#include "pmirrord/pkt_decode.h"
#include "pmirrord/radius.h"
#include "pmirrord/radius_conf.h"
#include "pmirrord/radius_track.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_radius_track: property failed: %s: ", #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const uint8_t SRV4[4] = {198, 18, 0, 1}, NAS4[4] = {198, 18, 0, 2},
                     DAC4[4] = {198, 18, 0, 3}, NAS2_4[4] = {198, 18, 1, 7},
                     OTH4[4] = {198, 18, 0, 9};
static const uint8_t SRV6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
                     NAS6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2},
                     DAC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 3},
                     NAS2_6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7},
                     OTH6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 9};

static unsigned delivered;

static void on_fact(const struct sig_fact *f, void *arg)
{
    (void)arg;
    delivered++;
    CHECK(f->kind >= SIG_ACCESS_ACCEPT && f->kind <= SIG_DISCONNECT, "kind %d", (int)f->kind);
    CHECK(f->li.error == 0 || f->li.error == 4 || f->li.error == 7, "li.error %d", f->li.error);
    CHECK(!f->li.present || f->li.error != 0 ||
              (f->li.action >= SIG_LI_OFF && f->li.action <= SIG_LI_NOOP),
          "action %d", f->li.action);
    CHECK(f->li.present || f->li.action == SIG_LI_ABSENT, "absent li");
    CHECK(f->id.nprefix6 <= SIG_PREFIX6_MAX, "nprefix6 %u", f->id.nprefix6);
    for (unsigned i = 0; i < f->id.nprefix6; i++) {
        const struct sig_prefix6 *p = &f->id.prefix6[i];
        CHECK(p->len >= 1 && p->len <= 128, "prefix len %u", p->len);
        for (unsigned b = p->len; b < 128; b++)
            CHECK(!(p->addr[b / 8] & (0x80u >> (b % 8))), "bit %u past /%u", b, p->len);
    }
}

static void on_mlog(void *arg, const char *text)
{
    (void)arg;
    CHECK(text != NULL && strlen(text) < 400, "mlog");
}

struct flow {
    const uint8_t *src4, *dst4, *src6, *dst6;
    uint16_t sport, dport;
    const char *secret;
};

static const struct flow flows[12] = {
    {NAS4, SRV4, NAS6, SRV6, 40000, 1812, "li-test-secret"},
    {SRV4, NAS4, SRV6, NAS6, 1812, 40000, "li-test-secret"},
    {NAS4, SRV4, NAS6, SRV6, 40001, 1813, "li-test-secret"},
    {SRV4, NAS4, SRV6, NAS6, 1813, 40001, "li-test-secret"},
    {SRV4, NAS4, SRV6, NAS6, 50000, 3799, "li-test-secret"},
    {NAS4, SRV4, NAS6, SRV6, 3799, 50000, "li-test-secret"},
    {DAC4, NAS4, DAC6, NAS6, 50001, 3799, "dac-secret"},
    {NAS4, DAC4, NAS6, DAC6, 3799, 50001, "dac-secret"},
    {NAS2_4, SRV4, NAS2_6, SRV6, 40000, 1812, "nas-secret"},
    {SRV4, NAS2_4, SRV6, NAS2_6, 1812, 40000, "nas-secret"},
    {OTH4, SRV4, OTH6, SRV6, 40000, 3799, "li-test-secret"},
    {SRV4, OTH4, SRV6, OTH6, 3799, 1812, "li-test-secret"},
};

static struct rad_packet P;

/* Recomputes the Message-Authenticator and the authenticator of b (a copy). */
static void resign(uint8_t *b, size_t n, const uint8_t *req_auth, const char *secret)
{
    static const uint8_t zero16[16];
    if (rad_parse(b, n, &P) != RAD_OK)
        return;
    const uint8_t *s = (const uint8_t *)secret;
    size_t sl = strlen(secret);
    uint8_t vec[16], out[16];
    int req = P.code == RAD_ACCOUNTING_REQUEST || P.code == RAD_COA_REQUEST ||
              P.code == RAD_DISCONNECT_REQUEST;
    if (P.code == RAD_ACCESS_REQUEST || P.code == RAD_STATUS_SERVER)
        memcpy(vec, b + 4, 16);
    else
        memcpy(vec, req ? zero16 : req_auth, 16);
    if (P.msgauth >= 0 &&
        rad_compute_msgauth(b, P.len, P.attr[P.msgauth].off, vec, s, sl, out) == 0)
        memcpy(b + P.attr[P.msgauth].off + 2, out, 16);
    if (P.code != RAD_ACCESS_REQUEST && P.code != RAD_STATUS_SERVER &&
        rad_compute_md5_auth(b, P.len, vec, s, sl, out) == 0)
        memcpy(b + 4, out, 16);
}

static uint64_t sum(const struct rt_stats *s)
{
    return s->parsed + s->malformed + s->not_peer;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        CHECK(rad_crypto_init() == 0, "crypto");
        init = 1;
    }
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    int v6 = (flags & 2) != 0;
    struct rt_conf c;
    char err[256];
    rt_conf_init(&c);
    static const char *const lines[] = {
        "radiusServer 198.18.0.1 secret li-test-secret",
        "radiusServer 2001:db8::1 secret li-test-secret",
        "radiusDynamicClient 198.18.0.3 secret dac-secret",
        "radiusDynamicClient 2001:db8::3 secret dac-secret",
        "radiusClient 198.18.1.0/24 secret nas-secret",
        "radiusClient 2001:db8:1::/48 secret nas-secret",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        CHECK(rt_conf_add_line(&c, "fuzz", (unsigned)i + 1, lines[i], err, sizeof(err)) == 0, "%s",
              err);
    c.require_msgauth = flags & 1;
    c.require_event_ts = (flags & 8) != 0;
    if (flags & 4)
        c.pair_timeout_s = c.replay_window_s = 1;
    delivered = 0;
    struct radius_track *t = rt_new(&c, on_fact, NULL, on_mlog, NULL, err, sizeof(err));
    CHECK(t != NULL, "%s", err);

    static uint8_t buf[RAD_MAX_LEN + 64];
    uint8_t last_req[6][16];
    memset(last_req, 0, sizeof(last_req));
    int64_t now = 1800000000;
    struct rt_stats before, after;
    size_t off = 1;
    while (off + 4 <= size) {
        unsigned fl = data[off] & 0x0f;
        int sign = (data[off] & 0x80) != 0;
        now += data[off + 1];
        size_t n = (size_t)data[off + 2] << 8 | data[off + 3];
        off += 4;
        if (n > size - off)
            n = size - off;
        if (n > sizeof(buf))
            n = sizeof(buf);
        memcpy(buf, data + off, n);
        off += n;
        if (fl >= 12)
            fl %= 12;
        const struct flow *f = &flows[fl];
        if (sign)
            resign(buf, n, last_req[fl / 2], f->secret);
        if ((fl & 1) == 0 && n >= 20)
            memcpy(last_req[fl / 2], buf + 4, 16);
        struct pkt_view v;
        memset(&v, 0, sizeof(v));
        v.family = v6 ? PKT_FAM_IPV6 : PKT_FAM_IPV4;
        v.proto = 17;
        v.flags = PKT_F_PORTS;
        memcpy(v.src, v6 ? f->src6 : f->src4, v6 ? 16 : 4);
        memcpy(v.dst, v6 ? f->dst6 : f->dst4, v6 ? 16 : 4);
        v.sport = f->sport;
        v.dport = f->dport;
        v.payload = buf;
        v.payload_len = n;
        CHECK(rt_wants(t, &v), "wants flow %u", fl);
        rt_get_stats(t, &before);
        rt_input(t, &v, now, 0);
        rt_get_stats(t, &after);
        uint64_t d = sum(&after) - sum(&before);
        CHECK(d == 1 || d == 2, "counted %llu times", (unsigned long long)d);
        CHECK(after.auth_failed >= before.auth_failed && after.replays >= before.replays &&
                  after.pairs_expired >= before.pairs_expired && after.facts >= before.facts,
              "counters");
        CHECK(after.facts == delivered, "facts %llu delivered %u", (unsigned long long)after.facts,
              delivered);
    }
    if (getenv("PM_FUZZ_VERBOSE") != NULL) { /* what a seed reaches */
        rt_get_stats(t, &after);
        fprintf(stderr,
                "parsed %llu malformed %llu not_peer %llu auth_failed %llu msgauth_missing %llu "
                "replays %llu expired %llu ambiguous %llu unpaired %llu naks %llu li_errors %llu "
                "facts %llu\n",
                (unsigned long long)after.parsed, (unsigned long long)after.malformed,
                (unsigned long long)after.not_peer, (unsigned long long)after.auth_failed,
                (unsigned long long)after.msgauth_missing, (unsigned long long)after.replays,
                (unsigned long long)after.pairs_expired, (unsigned long long)after.ambiguous,
                (unsigned long long)after.unpaired, (unsigned long long)after.coa_naks,
                (unsigned long long)after.li_errors, (unsigned long long)after.facts);
    }
    int left = rt_tick(t, (uint64_t)now * 1000);
    CHECK(left == -1 || (left >= 0 && left <= (int)c.pair_timeout_s * 1000), "tick %d", left);
    CHECK(rt_tick(t, (uint64_t)(now + 4000) * 1000) == -1, "all expired");
    rt_free(t);
    memset(&c, 0, sizeof(c));
    return 0;
}
