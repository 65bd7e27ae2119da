/*
 * fuzz_dhcp.c - libFuzzer target for the DHCPv4 decoder and tracker
 * (src/capture/dhcp_codec.c, dhcp_track.c).
 *
 * Input: byte 0 is the mode.  Even: the rest is one message for
 * dhcp_parse(), from a heap buffer of its exact size.  Odd: the rest is
 * records for a tracker trusting 198.18.1.2: a flags octet (bit 0: from the
 * server, else from 198.18.100.10; bit 1: to the server, else to
 * 198.18.1.1; bits 2-7: minutes the packet clock advances first), a 2-byte
 * big-endian length and the message; every message is also parsed alone.
 * tests/dhcp/dhcp_vectors.py seeds writes the corpus.
 *
 * Properties (abort() when one fails):
 *   - dhcp_parse() returns 0 or a known reason; every pointer it fills lies
 *     inside the buffer; circuit and remote IDs lie inside option 82's value;
 *     an accepted message has the cookie and its op is 1 or 2;
 *   - the tracker's facts carry a bound address, a chaddr, option 82 IDs no
 *     longer than the option, and come in order: an ACK fact for an address
 *     before any end of it, one end per ACK;
 *   - its counters agree: bindings = ACK facts - ends, facts = ACK facts +
 *     ends, untrusted binds nothing; after a tick far in the future no
 *     binding is left, and every binding ended with one fact.
 */
#include "pmirrord/dhcp_codec.h"
#include "pmirrord/dhcp_track.h"
#include "pmirrord/pkt_decode.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_dhcp: property failed: %s: ", #cond);                            \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define INSIDE(ptr, len, b, n) ((ptr) >= (b) && (size_t)((ptr) - (b)) + (len) <= (n))

static void check_parse(const uint8_t *data, size_t n)
{
    struct dhcp_msg m;
    uint8_t *b = malloc(n > 0 ? n : 1);
    CHECK(b != NULL, "malloc");
    memcpy(b, data, n);
    int rc = dhcp_parse(b, n, &m);
    CHECK(rc <= 0 && rc > -DHCP_REASON_COUNT, "rc %d", rc);
    CHECK(strcmp(dhcp_reason_name(rc), "unknown") != 0, "name of %d", rc);
    CHECK(m.pkt == b && m.len == n, "buffer");
    if (m.chaddr != NULL)
        CHECK(INSIDE(m.chaddr, DHCP_CHADDR_LEN, b, n), "chaddr");
    if (m.rai != NULL) {
        CHECK(m.has_rai && m.rai_len > 0 && INSIDE(m.rai, m.rai_len, b, n), "rai");
        if (m.circuit != NULL)
            CHECK(m.circuit_len > 0 && INSIDE(m.circuit, m.circuit_len, m.rai, m.rai_len),
                  "circuit");
        if (m.remote != NULL)
            CHECK(m.remote_len > 0 && INSIDE(m.remote, m.remote_len, m.rai, m.rai_len), "remote");
    } else {
        CHECK(m.circuit == NULL && m.remote == NULL, "ids without option 82");
    }
    if (rc == DHCP_OK) {
        CHECK(n >= DHCP_OPTIONS_OFF && b[236] == 99 && b[237] == 130 && b[238] == 83 &&
                  b[239] == 99,
              "cookie");
        CHECK(m.op == 1 || m.op == 2, "op %u", m.op);
        CHECK(m.hlen <= DHCP_CHADDR_LEN && m.overload <= 3, "hlen/overload");
        if (m.type != DHCP_NONE)
            CHECK(m.type >= 0 && m.type <= 255, "type");
    }
    free(b);
}

#define NADDR 64
struct state {
    uint64_t acks, ends;
    uint32_t bound[NADDR]; /* addresses with a live ACK fact */
    size_t nbound;
};

static void on_fact(const struct sig_fact *f, void *arg)
{
    struct state *s = arg;
    CHECK(f->id.framed_ip != 0 && f->id.has_chaddr, "fact identity");
    CHECK(f->id.circuit.len <= f->id.opt82.len && f->id.remote.len <= f->id.opt82.len, "ids");
    size_t i;
    for (i = 0; i < s->nbound; i++)
        if (s->bound[i] == f->id.framed_ip)
            break;
    if (f->kind == SIG_DHCP_ACK) {
        CHECK(i == s->nbound, "a second ACK fact for a bound address");
        if (s->nbound < NADDR)
            s->bound[s->nbound++] = f->id.framed_ip;
        s->acks++;
        return;
    }
    CHECK(f->kind == SIG_DHCP_RELEASE || f->kind == SIG_DHCP_DECLINE || f->kind == SIG_DHCP_EXPIRE,
          "kind %d", (int)f->kind);
    CHECK(i < s->nbound || s->nbound == NADDR, "an end without an ACK");
    if (i < s->nbound)
        s->bound[i] = s->bound[--s->nbound];
    s->ends++;
}

static void view(struct pkt_view *v, uint8_t flags, const uint8_t *p, size_t n)
{
    static const uint8_t server[4] = {198, 18, 1, 2}, client[4] = {198, 18, 100, 10},
                         relay[4] = {198, 18, 1, 1};
    memset(v, 0, sizeof(*v));
    v->family = PKT_FAM_IPV4;
    v->proto = IPPROTO_UDP;
    v->flags = PKT_F_PORTS;
    memcpy(v->src, flags & 1 ? server : client, 4);
    memcpy(v->dst, flags & 2 ? server : relay, 4);
    v->sport = 67;
    v->dport = 67;
    v->payload = p;
    v->payload_len = n;
}

static void run_tracker(const uint8_t *d, size_t n)
{
    struct state s;
    struct dh_conf c;
    struct dh_stats st;
    char err[128];
    memset(&s, 0, sizeof(s));
    memset(&c, 0, sizeof(c));
    c.nservers = 1;
    c.server[0] = htonl(0xc6120102); /* 198.18.1.2 */
    c.max_bindings = 8;
    struct dhcp_track *t = dh_new(&c, on_fact, &s, err, sizeof(err));
    CHECK(t != NULL, "dh_new: %s", err);
    int64_t now = 1700000000;
    size_t i = 0;
    while (n - i >= 3) {
        uint8_t flags = d[i];
        size_t len = (size_t)d[i + 1] << 8 | d[i + 2];
        i += 3;
        if (len > n - i)
            len = n - i;
        uint8_t *b = malloc(len > 0 ? len : 1);
        CHECK(b != NULL, "malloc");
        memcpy(b, d + i, len);
        i += len;
        check_parse(b, len);
        now += (int64_t)(flags >> 2) * 60;
        struct pkt_view v;
        view(&v, flags, b, len);
        dh_get_stats(t, &st);
        uint64_t acks = st.acks;
        dh_input(t, &v, now, 0);
        dh_get_stats(t, &st);
        free(b);
        /* a message not from the server may end bindings, never create one */
        CHECK((flags & 1) || st.acks == acks, "a binding from an untrusted source");
        CHECK(st.bindings == s.acks - s.ends && st.facts == s.acks + s.ends, "counters");
        CHECK(st.acks == s.acks && st.bindings <= c.max_bindings, "acks %llu bindings %llu",
              (unsigned long long)st.acks, (unsigned long long)st.bindings);
        CHECK(st.releases + st.declines + st.expired == s.ends, "ends");
        int ms = dh_tick(t, now);
        CHECK(ms == -1 || ms >= 1000, "tick %d", ms);
    }
    CHECK(dh_tick(t, INT64_MAX / 2) == -1, "a lease left after every lease's end");
    dh_get_stats(t, &st);
    /* infinite leases stay; everything else has ended with its one fact */
    CHECK(st.bindings == s.acks - s.ends, "after the last tick");
    dh_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        run_tracker(data + 1, size - 1);
    else
        check_parse(data + 1, size - 1);
    return 0;
}
