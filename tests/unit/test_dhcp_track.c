/*
 * test_dhcp_track.c - the DHCPv4 tracker (src/capture/dhcp_track.c): every
 * fact kind with its identity, trust by IP source, the renewal rule,
 * expiry on the packet clock, the binding limit, malformed input counted,
 * identities wiped when a binding ends; and the dhcpServer directive
 * (src/config/conf_dhcp.c).  Messages are built here octet by octet (RFC
 * 2131 section 2); the decoder itself is checked against scapy in
 * test_dhcp_codec.c.
 */
#include "check.h"
#include "free_watch.h"
#include "pmirrord/conf.h"
#include "pmirrord/dhcp_codec.h"
#include "pmirrord/dhcp_conf.h"
#include "pmirrord/dhcp_track.h"
#include "pmirrord/pkt_decode.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#define SERVER  "198.18.1.2"
#define SERVER2 "198.18.1.3"
#define RELAY   "198.18.1.1"
#define GIADDR  "198.18.100.1"
#define ADDR    "198.18.100.10"
#define T0      1700000000

static uint32_t a4(const char *s)
{
    struct in_addr a;
    CHECK(inet_pton(AF_INET, s, &a) == 1);
    return a.s_addr;
}

/* ---- messages ---- */

struct msg {
    uint8_t op, type;
    uint8_t mac; /* last octet of 02:00:00:00:00:xx */
    const char *ciaddr, *yiaddr, *giaddr, *req;
    long lease; /* -1: no option 51 */
    const char *circuit, *remote;
    int hlen; /* 0: 6 */
};

static size_t build(uint8_t *b, const struct msg *m)
{
    memset(b, 0, 576);
    b[0] = m->op;
    b[1] = 1;
    b[2] = (uint8_t)(m->hlen != 0 ? m->hlen : 6);
    uint32_t x;
    if (m->ciaddr != NULL)
        x = a4(m->ciaddr), memcpy(b + 12, &x, 4);
    if (m->yiaddr != NULL)
        x = a4(m->yiaddr), memcpy(b + 16, &x, 4);
    if (m->giaddr != NULL)
        x = a4(m->giaddr), memcpy(b + 24, &x, 4);
    b[28] = 2, b[33] = m->mac;
    b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99;
    size_t o = DHCP_OPTIONS_OFF;
    b[o++] = 53, b[o++] = 1, b[o++] = m->type;
    if (m->lease >= 0) {
        b[o++] = 51, b[o++] = 4;
        for (int i = 3; i >= 0; i--)
            b[o++] = (uint8_t)((unsigned long)m->lease >> (8 * i));
    }
    if (m->req != NULL)
        x = a4(m->req), b[o++] = 50, b[o++] = 4, memcpy(b + o, &x, 4), o += 4;
    if (m->circuit != NULL || m->remote != NULL) {
        size_t lo;
        b[o++] = 82;
        lo = o++;
        if (m->circuit != NULL) {
            b[o++] = 1, b[o++] = (uint8_t)strlen(m->circuit);
            memcpy(b + o, m->circuit, strlen(m->circuit)), o += strlen(m->circuit);
        }
        if (m->remote != NULL) {
            b[o++] = 2, b[o++] = (uint8_t)strlen(m->remote);
            memcpy(b + o, m->remote, strlen(m->remote)), o += strlen(m->remote);
        }
        b[lo] = (uint8_t)(o - lo - 1);
    }
    b[o++] = 255;
    return o;
}

static void feed_raw(struct dhcp_track *t, const char *src, const char *dst, const uint8_t *p,
                     size_t n, int64_t ts)
{
    struct pkt_view v;
    uint32_t s = a4(src), d = a4(dst);
    memset(&v, 0, sizeof(v));
    v.family = PKT_FAM_IPV4;
    v.proto = IPPROTO_UDP;
    v.flags = PKT_F_PORTS;
    memcpy(v.src, &s, 4);
    memcpy(v.dst, &d, 4);
    v.sport = v.dport = 67;
    v.payload = p;
    v.payload_len = n;
    dh_input(t, &v, ts, 250000);
}

static void feed(struct dhcp_track *t, const char *src, const char *dst, const struct msg *m,
                 int64_t ts)
{
    uint8_t b[576];
    size_t n = build(b, m);
    feed_raw(t, src, dst, b, n, ts);
}

/* The relay's ACK from the server, option 82 echoed (RFC 3046 section 2.2). */
static struct msg ack(uint8_t mac, const char *yiaddr, const char *circuit)
{
    return (struct msg){.op = 2,
                        .type = DHCP_ACK,
                        .mac = mac,
                        .yiaddr = yiaddr,
                        .giaddr = GIADDR,
                        .lease = 3600,
                        .circuit = circuit,
                        .remote = "remote-1"};
}

/* ---- facts ---- */

#define NFACTS 16
static struct sig_fact facts[NFACTS];
static size_t nfacts;

static void on_fact(const struct sig_fact *f, void *arg)
{
    (void)arg;
    CHECK(nfacts < NFACTS);
    facts[nfacts++] = *f;
}

static struct dhcp_track *tracker(uint32_t max)
{
    struct dh_conf c;
    char err[128];
    conf_dhcp_init(&c, max);
    c.nservers = 2;
    c.server[0] = a4(SERVER2);
    c.server[1] = a4(SERVER);
    nfacts = 0;
    memset(facts, 0, sizeof(facts));
    struct dhcp_track *t = dh_new(&c, on_fact, NULL, err, sizeof(err));
    CHECK(t != NULL);
    return t;
}

static struct dh_stats stats(const struct dhcp_track *t)
{
    struct dh_stats s;
    dh_get_stats(t, &s);
    return s;
}

static int str_is(const struct sig_str *s, const char *v)
{
    return s->len == strlen(v) && memcmp(s->v, v, s->len) == 0;
}

static void check_ident(const struct sig_fact *f, uint8_t mac, const char *addr,
                        const char *circuit)
{
    static const uint8_t rai_head[] = {1};
    CHECK(f->id.framed_ip == a4(addr) && f->id.peer_ip == a4(GIADDR) && f->id.has_chaddr);
    CHECK(f->id.chaddr[0] == 2 && f->id.chaddr[5] == mac && f->id.chaddr[1] == 0);
    CHECK(str_is(&f->id.circuit, circuit) && str_is(&f->id.remote, "remote-1"));
    size_t cl = strlen(circuit);
    CHECK(f->id.opt82.len == 2 + cl + 2 + 8 && memcmp(f->id.opt82.v, rai_head, 1) == 0);
    CHECK(f->id.opt82.v[1] == cl && memcmp(f->id.opt82.v + 2, circuit, cl) == 0);
    CHECK(f->id.opt82.v[2 + cl] == 2 && memcmp(f->id.opt82.v + 4 + cl, "remote-1", 8) == 0);
    CHECK(f->id.user.len == 0 && f->id.nas_ip == 0 && f->li.present == 0);
}

/* DISCOVER, OFFER, REQUEST, ACK, RELEASE through a relay: one ACK fact, one RELEASE fact. */
static void test_bind_release(void)
{
    struct dhcp_track *t = tracker(0);
    struct msg m = {.op = 1,
                    .type = DHCP_DISCOVER,
                    .mac = 1,
                    .giaddr = GIADDR,
                    .lease = -1,
                    .circuit = "eth0/1/0:100",
                    .remote = "remote-1"};
    feed(t, RELAY, SERVER, &m, T0);
    m = ack(1, ADDR, "eth0/1/0:100");
    m.type = DHCP_OFFER;
    feed(t, SERVER, RELAY, &m, T0);
    m = (struct msg){.op = 1,
                     .type = DHCP_REQUEST,
                     .mac = 1,
                     .giaddr = GIADDR,
                     .lease = -1,
                     .req = ADDR,
                     .circuit = "eth0/1/0:100",
                     .remote = "remote-1"};
    feed(t, RELAY, SERVER, &m, T0 + 1);
    CHECK(nfacts == 0);
    m = ack(1, ADDR, "eth0/1/0:100");
    feed(t, SERVER, RELAY, &m, T0 + 1);
    CHECK(nfacts == 1 && facts[0].kind == SIG_DHCP_ACK);
    check_ident(&facts[0], 1, ADDR, "eth0/1/0:100");
    CHECK(facts[0].lease_s == 3600 && facts[0].ts_sec == T0 + 1 && facts[0].ts_usec == 250000);
    /* the relay's copy towards the client is not from a server: counted, nothing else */
    feed(t, GIADDR, ADDR, &m, T0 + 1);
    CHECK(nfacts == 1 && stats(t).untrusted == 1);

    /* a RELEASE from another client, or to someone other than a server, ends nothing */
    m = (struct msg){.op = 1, .type = DHCP_RELEASE, .mac = 9, .ciaddr = ADDR, .lease = -1};
    feed(t, ADDR, SERVER, &m, T0 + 5);
    m.mac = 1;
    feed(t, ADDR, "198.18.7.7", &m, T0 + 5);
    CHECK(nfacts == 1 && stats(t).untrusted == 2 && stats(t).bindings == 1);
    feed(t, ADDR, SERVER, &m, T0 + 6);
    CHECK(nfacts == 2 && facts[1].kind == SIG_DHCP_RELEASE && facts[1].ts_sec == T0 + 6);
    check_ident(&facts[1], 1, ADDR, "eth0/1/0:100");
    feed(t, ADDR, SERVER, &m, T0 + 7); /* a second copy: the binding is gone */
    CHECK(nfacts == 2);
    struct dh_stats s = stats(t);
    CHECK(s.acks == 1 && s.releases == 1 && s.bindings == 0 && s.facts == 2 && s.malformed == 0);
    CHECK(s.parsed == 7 && s.renewals == 0 && s.declines == 0 && s.expired == 0);
    CHECK(dh_tick(t, T0 + 100000) == -1 && nfacts == 2);
    dh_free(t);
}

/* OFFERs and ACKs from anyone but a dhcpServer bind nothing. */
static void test_untrusted(void)
{
    struct dhcp_track *t = tracker(0);
    struct msg m = ack(1, ADDR, "eth0/1/0:100");
    feed(t, RELAY, GIADDR, &m, T0);
    feed(t, ADDR, GIADDR, &m, T0);
    m.type = DHCP_OFFER;
    feed(t, "198.18.9.9", GIADDR, &m, T0);
    struct dh_stats s = stats(t);
    CHECK(nfacts == 0 && s.untrusted == 3 && s.bindings == 0 && s.acks == 0 && s.parsed == 0);
    /* ... and a RELEASE for it ends nothing */
    m = (struct msg){.op = 1, .type = DHCP_RELEASE, .mac = 1, .ciaddr = ADDR, .lease = -1};
    feed(t, ADDR, SERVER, &m, T0 + 1);
    CHECK(nfacts == 0 && stats(t).releases == 0);
    dh_free(t);

    /* no dhcpServer: nothing is trusted */
    struct dh_conf c;
    char err[64];
    conf_dhcp_init(&c, 10);
    nfacts = 0;
    t = dh_new(&c, on_fact, NULL, err, sizeof(err));
    CHECK(t != NULL);
    m = ack(1, ADDR, "x");
    feed(t, SERVER, GIADDR, &m, T0);
    CHECK(nfacts == 0 && stats(t).untrusted == 1);
    dh_free(t);
}

/* A renewal (chaddr and ciaddr; unicast, no option 82) refreshes the lease, nothing else. */
static void test_renewal_expiry(void)
{
    struct dhcp_track *t = tracker(0);
    struct msg m = ack(1, ADDR, "eth0/1/0:100");
    feed(t, SERVER, RELAY, &m, T0);
    CHECK(nfacts == 1);
    CHECK(dh_tick(t, T0) == 3601 * 1000);
    feed(t, SERVER, RELAY, &m, T0 + 3); /* a retransmitted ACK: the same binding */
    CHECK(nfacts == 1 && stats(t).renewals == 1);
    m = (struct msg){
        .op = 2, .type = DHCP_ACK, .mac = 1, .ciaddr = ADDR, .yiaddr = ADDR, .lease = 7200};
    feed(t, SERVER, ADDR, &m, T0 + 1800);
    struct dh_stats s = stats(t);
    CHECK(nfacts == 1 && s.renewals == 2 && s.acks == 1 && s.bindings == 1);
    /* the old lease's end passes: nothing */
    CHECK(dh_tick(t, T0 + 3601) == (1800 + 7200 - 3601 + 1) * 1000 && nfacts == 1);
    CHECK(dh_tick(t, T0 + 1800 + 7200) == 1000 && nfacts == 1); /* its last second */
    CHECK(dh_tick(t, T0 + 1800 + 7201) == -1);
    CHECK(nfacts == 2 && facts[1].kind == SIG_DHCP_EXPIRE && facts[1].ts_sec == T0 + 9000);
    check_ident(&facts[1], 1, ADDR, "eth0/1/0:100"); /* the option 82 of the binding */
    s = stats(t);
    CHECK(s.expired == 1 && s.bindings == 0 && s.facts == 2);

    /* expiry also runs from the packets' clock, before the packet */
    m = ack(2, "198.18.100.20", "c2");
    feed(t, SERVER, RELAY, &m, T0 + 10000);
    m.mac = 3, m.yiaddr = "198.18.100.21";
    feed(t, SERVER, RELAY, &m, T0 + 20000);
    CHECK(nfacts == 5 && facts[3].kind == SIG_DHCP_EXPIRE && facts[4].kind == SIG_DHCP_ACK);
    CHECK(facts[3].id.framed_ip == a4("198.18.100.20") && facts[3].ts_sec == T0 + 13600);
    CHECK(facts[4].id.chaddr[5] == 3);

    /* an infinite lease never expires */
    m = ack(4, "198.18.100.22", "c4");
    m.lease = DHCP_LEASE_INFINITE;
    feed(t, SERVER, RELAY, &m, T0 + 20001);
    CHECK(nfacts == 6 && facts[5].lease_s == DHCP_LEASE_INFINITE);
    CHECK(dh_tick(t, INT64_MAX / 4) == -1 && nfacts == 7 && stats(t).bindings == 1);
    dh_free(t);
}

/* A renewal's ACK for a binding never seen (the capture started mid-lease)
 * creates it, without option 82; the next relayed ACK with option 82 is a
 * new binding on a known circuit. */
static void test_midlease(void)
{
    struct dhcp_track *t = tracker(0);
    struct msg m = {
        .op = 2, .type = DHCP_ACK, .mac = 1, .ciaddr = ADDR, .yiaddr = ADDR, .lease = 600};
    feed(t, SERVER, ADDR, &m, T0);
    CHECK(nfacts == 1 && facts[0].kind == SIG_DHCP_ACK && facts[0].id.framed_ip == a4(ADDR));
    CHECK(facts[0].id.opt82.len == 0 && facts[0].id.circuit.len == 0 && facts[0].id.peer_ip == 0);
    feed(t, SERVER, ADDR, &m, T0 + 300);
    CHECK(nfacts == 1 && stats(t).renewals == 1);
    m = ack(1, ADDR, "eth0/1/0:100");
    feed(t, SERVER, RELAY, &m, T0 + 400);
    CHECK(nfacts == 3 && facts[1].kind == SIG_DHCP_EXPIRE && facts[2].kind == SIG_DHCP_ACK);
    check_ident(&facts[2], 1, ADDR, "eth0/1/0:100");
    dh_free(t);
}

/* A DHCPDECLINE (option 50, relayed through the binding's circuit) ends the
 * binding it names. */
static void test_decline(void)
{
    struct dhcp_track *t = tracker(0);
    struct msg m = ack(1, ADDR, "eth0/1/0:100");
    feed(t, SERVER, RELAY, &m, T0);
    m = (struct msg){.op = 1,
                     .type = DHCP_DECLINE,
                     .mac = 2,
                     .req = ADDR,
                     .giaddr = GIADDR,
                     .lease = -1,
                     .circuit = "eth0/1/0:100",
                     .remote = "remote-1"};
    feed(t, RELAY, SERVER, &m, T0 + 1); /* another client's: nothing */
    CHECK(nfacts == 1);
    m.mac = 1;
    feed(t, RELAY, SERVER, &m, T0 + 2);
    CHECK(nfacts == 2 && facts[1].kind == SIG_DHCP_DECLINE && facts[1].ts_sec == T0 + 2);
    check_ident(&facts[1], 1, ADDR, "eth0/1/0:100");
    struct dh_stats s = stats(t);
    CHECK(s.declines == 1 && s.bindings == 0);
    dh_free(t);
}

/* A subscriber who knows a target's chaddr and address cannot end the
 * target's binding (and with it the mirroring): a RELEASE must come from the
 * bound address, a DECLINE through the binding's circuit (its option 82). */
static void test_spoofed_end(void)
{
    struct dhcp_track *t = tracker(0);
    struct msg m = ack(1, ADDR, "target-circuit");
    feed(t, SERVER, RELAY, &m, T0);
    /* a RELEASE naming the target, unicast from another subscriber's address */
    m = (struct msg){.op = 1, .type = DHCP_RELEASE, .mac = 1, .ciaddr = ADDR, .lease = -1};
    feed(t, "198.18.100.66", SERVER, &m, T0 + 1);
    /* a DECLINE naming the target, relayed from the attacker's circuit */
    m = (struct msg){.op = 1,
                     .type = DHCP_DECLINE,
                     .mac = 1,
                     .req = ADDR,
                     .giaddr = GIADDR,
                     .lease = -1,
                     .circuit = "attacker-circuit",
                     .remote = "remote-1"};
    feed(t, RELAY, SERVER, &m, T0 + 2);
    /* ... or broadcast without option 82 */
    m.giaddr = NULL, m.circuit = NULL, m.remote = NULL;
    feed(t, "0.0.0.0", "255.255.255.255", &m, T0 + 3);
    CHECK(nfacts == 1 && stats(t).bindings == 1 && stats(t).untrusted == 3);
    /* the target's own RELEASE still ends it */
    m = (struct msg){.op = 1, .type = DHCP_RELEASE, .mac = 1, .ciaddr = ADDR, .lease = -1};
    feed(t, ADDR, SERVER, &m, T0 + 4);
    CHECK(nfacts == 2 && facts[1].kind == SIG_DHCP_RELEASE && stats(t).bindings == 0);
    /* a binding made on the server's own link (no option 82) is declined by
     * a broadcast without one */
    m = ack(2, ADDR, NULL);
    m.remote = NULL, m.giaddr = NULL;
    feed(t, SERVER, "255.255.255.255", &m, T0 + 5);
    m = (struct msg){.op = 1, .type = DHCP_DECLINE, .mac = 2, .req = ADDR, .lease = -1};
    feed(t, "0.0.0.0", "255.255.255.255", &m, T0 + 6);
    CHECK(nfacts == 4 && facts[3].kind == SIG_DHCP_DECLINE && stats(t).bindings == 0);
    dh_free(t);
}

/* The address given to another client, or to the same one on another circuit:
 * the old binding ends, the new one starts. */
static void test_supersede(void)
{
    struct dhcp_track *t = tracker(0);
    struct msg m = ack(1, ADDR, "circuit-A");
    feed(t, SERVER, RELAY, &m, T0);
    m = ack(1, ADDR, "circuit-B"); /* ciaddr 0, other option 82: not a renewal */
    feed(t, SERVER, RELAY, &m, T0 + 10);
    CHECK(nfacts == 3 && facts[1].kind == SIG_DHCP_EXPIRE && facts[2].kind == SIG_DHCP_ACK);
    check_ident(&facts[1], 1, ADDR, "circuit-A");
    check_ident(&facts[2], 1, ADDR, "circuit-B");
    m = ack(7, ADDR, "circuit-B");
    feed(t, SERVER2, RELAY, &m, T0 + 20);
    CHECK(nfacts == 5 && facts[3].kind == SIG_DHCP_EXPIRE && facts[4].kind == SIG_DHCP_ACK);
    CHECK(facts[3].id.chaddr[5] == 1 && facts[4].id.chaddr[5] == 7);
    struct dh_stats s = stats(t);
    CHECK(s.acks == 3 && s.expired == 2 && s.bindings == 1 && s.renewals == 0);
    dh_free(t);
}

/* max_bindings: the next ACK is counted as full and binds nothing. */
static void test_full(void)
{
    struct dhcp_track *t = tracker(2);
    struct msg m = ack(1, "198.18.100.1", "c");
    feed(t, SERVER, RELAY, &m, T0);
    m = ack(2, "198.18.100.2", "c");
    feed(t, SERVER, RELAY, &m, T0);
    m = ack(3, "198.18.100.3", "c");
    feed(t, SERVER, RELAY, &m, T0);
    struct dh_stats s = stats(t);
    CHECK(nfacts == 2 && s.full == 1 && s.bindings == 2 && s.acks == 2);
    m = (struct msg){
        .op = 1, .type = DHCP_RELEASE, .mac = 1, .ciaddr = "198.18.100.1", .lease = -1};
    feed(t, "198.18.100.1", SERVER, &m, T0 + 1);
    m = ack(3, "198.18.100.3", "c");
    feed(t, SERVER, RELAY, &m, T0 + 2);
    CHECK(nfacts == 4 && facts[3].kind == SIG_DHCP_ACK && stats(t).bindings == 2);
    dh_free(t);
}

/* Malformed messages are counted and change nothing. */
static void test_malformed(void)
{
    struct dhcp_track *t = tracker(0);
    uint8_t b[576];
    struct msg m = ack(1, ADDR, "c");
    size_t n = build(b, &m);
    feed_raw(t, SERVER, RELAY, b, 100, T0); /* short */
    b[239] = 0;
    feed_raw(t, SERVER, RELAY, b, n, T0); /* no cookie */
    b[239] = 99;
    feed_raw(t, SERVER, RELAY, b, n - 1, T0); /* no End */
    feed_raw(t, SERVER, RELAY, NULL, 0, T0);
    m.lease = -1; /* an ACK binding an address without a lease time (RFC 2131 table 3) */
    feed(t, SERVER, RELAY, &m, T0);
    m.lease = 60, m.hlen = 8; /* not an Ethernet address: ignored */
    feed(t, SERVER, RELAY, &m, T0);
    m.hlen = 0, m.yiaddr = NULL; /* the answer to an INFORM */
    feed(t, SERVER, RELAY, &m, T0);
    char longid[253];
    memset(longid, 'c', 252);
    longid[252] = '\0';
    m = ack(1, ADDR, longid); /* option 82 of 2 + 252 + 10 octets: too long for a fact */
    m.remote = NULL;          /* 254 octets: still too long */
    feed(t, SERVER, RELAY, &m, T0);
    longid[251] = '\0'; /* 253: fits */
    m = ack(1, ADDR, longid);
    m.remote = NULL;
    feed(t, SERVER, RELAY, &m, T0);
    CHECK(nfacts == 1 && facts[0].id.opt82.len == 253 && facts[0].id.circuit.len == 251);
    nfacts = 0;
    struct dh_stats s = stats(t);
    CHECK(s.malformed == 6 && s.bindings == 1 && s.parsed == 3);
    /* not IPv4 UDP: not the tracker's */
    struct pkt_view v;
    memset(&v, 0, sizeof(v));
    v.family = PKT_FAM_IPV6;
    v.proto = IPPROTO_UDP;
    v.flags = PKT_F_PORTS;
    n = build(b, &(struct msg){.op = 2, .type = DHCP_ACK, .mac = 1, .yiaddr = ADDR, .lease = 9});
    v.payload = b;
    v.payload_len = n;
    dh_input(t, &v, T0, 0);
    dh_input(t, NULL, T0, 0);
    dh_input(NULL, &v, T0, 0);
    CHECK(nfacts == 0 && stats(t).malformed == 6 && stats(t).untrusted == 0);
    CHECK(dh_tick(NULL, T0) == -1);
    dh_free(t);
    dh_free(NULL);
}

/* Many bindings: the table grows, every lease expires once, in order. */
static void test_many(void)
{
    static int64_t last;
    struct dhcp_track *t = tracker(0);
    uint8_t b[576];
    for (unsigned i = 0; i < 5000; i++) {
        struct msg m = ack((uint8_t)i, NULL, "c");
        char a[32];
        snprintf(a, sizeof(a), "10.%u.%u.1", i >> 8, i & 255);
        m.yiaddr = a;
        m.lease = 100 + (long)((i * 7919u) % 5000);
        size_t n = build(b, &m);
        b[32] = (uint8_t)(i >> 8);
        feed_raw(t, SERVER, RELAY, b, n, T0);
        nfacts = 0;
    }
    CHECK(stats(t).bindings == 5000 && stats(t).acks == 5000);
    last = 0;
    for (int64_t now = T0; dh_tick(t, now) != -1; now += 5) {
        for (size_t i = 0; i < nfacts; i++) {
            CHECK(facts[i].kind == SIG_DHCP_EXPIRE && facts[i].ts_sec >= last);
            CHECK(facts[i].ts_sec < now);
            last = facts[i].ts_sec;
        }
        nfacts = 0;
    }
    struct dh_stats s = stats(t);
    CHECK(s.bindings == 0 && s.expired == 5000 && s.facts == 10000);
    dh_free(t);
}

/* The circuit ID is in no heap block freed, when a binding ends or the tracker goes. */
static void test_wiped(void)
{
    static const char needle[] = "circuit-WATCH-7f3a";
    struct dhcp_track *t = tracker(0);
    struct msg m = ack(1, ADDR, needle);
    free_watch_start(needle);
    feed(t, SERVER, RELAY, &m, T0);
    m = ack(2, "198.18.100.99", needle);
    feed(t, SERVER, RELAY, &m, T0);
    m = (struct msg){.op = 1, .type = DHCP_RELEASE, .mac = 1, .ciaddr = ADDR, .lease = -1};
    feed(t, ADDR, SERVER, &m, T0 + 1);
    CHECK(nfacts == 3 && facts[2].kind == SIG_DHCP_RELEASE);
    dh_free(t); /* the other binding */
    free_watch_stop();
    CHECK(!free_watch_seen());
}

/* dhcpServer: FILE:LINE errors, the capture's per-line reader, the values. */
static void test_conf(void)
{
    struct pm_conf c;
    char err[300];
    const char *good = "dhcpServer 198.18.1.2\n# c\nDHCPSERVER 198.18.1.3\n";
    CHECK(conf_directive_dest("dhcpserver") == CONF_DEST_CAPTURE);
    CHECK(conf_load_buffer("f.conf", good, strlen(good), &c, err, sizeof(err)) == 0);
    CHECK(c.ndhcp_servers == 2 && c.dhcp_server[0] == a4(SERVER) &&
          c.dhcp_server[1] == a4(SERVER2));
    struct dh_conf d;
    conf_dhcp_init(&d, 77);
    conf_dhcp_from(&c, &d);
    CHECK(d.nservers == 2 && d.server[1] == a4(SERVER2) && d.max_bindings == 77);
    conf_free(&c);

    static const struct {
        const char *text, *err;
    } bad[] = {
        {"dhcpServer\n", "f.conf:1: dhcpServer takes 1 argument (an IPv4 address), 0 given"},
        {"dhcpServer 1.2.3.4 5.6.7.8\n", "f.conf:1: dhcpServer takes 1 argument"},
        {"\ndhcpServer server.example\n", "f.conf:2: dhcpServer: \"server.example\" is not an"},
        {"dhcpServer 2001:db8::1\n", "f.conf:1: dhcpServer: \"2001:db8::1\" is not an IPv4"},
        {"dhcpServer 198.18.1.2:67\n", "f.conf:1: dhcpServer: \"198.18.1.2:67\" is not"},
        {"dhcpServer 0.0.0.0\n", "f.conf:1: dhcpServer: 0.0.0.0 cannot be"},
        {"dhcpServer 255.255.255.255\n", "f.conf:1: dhcpServer: 255.255.255.255 cannot"},
        {"dhcpServer 224.0.0.1\n", "f.conf:1: dhcpServer: 224.0.0.1 cannot"},
        {"dhcpServer 198.18.1.2\ndhcpServer 198.18.1.2\n",
         "f.conf:2: dhcpServer: 198.18.1.2 is already a DHCP server"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(conf_load_buffer("f.conf", bad[i].text, strlen(bad[i].text), &c, err, sizeof(err)) <
              0);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fprintf(stderr, "got: %s\n", err);
        CHECK(strncmp(err, bad[i].err, strlen(bad[i].err)) == 0);
    }
    char many[1024];
    size_t off = 0;
    for (int i = 1; i <= DH_SERVERS_MAX + 1; i++)
        off += (size_t)snprintf(many + off, sizeof(many) - off, "dhcpServer 198.18.2.%d\n", i);
    CHECK(conf_load_buffer("f.conf", many, off, &c, err, sizeof(err)) < 0);
    CHECK(strcmp(err, "f.conf:17: dhcpServer: at most 16 DHCP servers") == 0);

    /* the capture process's per-line reader */
    conf_dhcp_init(&d, 0);
    CHECK(conf_dhcp_line(&d, "dhcpServer 198.18.1.2", err, sizeof(err)) == 1);
    CHECK(conf_dhcp_line(&d, "  dhcpserver \"198.18.1.3\"  # the second", err, sizeof(err)) == 1);
    CHECK(conf_dhcp_line(&d, "capture eth0", err, sizeof(err)) == 0);
    CHECK(conf_dhcp_line(&d, "", err, sizeof(err)) == 0);
    CHECK(conf_dhcp_line(&d, "dhcpServers 1.2.3.4", err, sizeof(err)) == 0);
    CHECK(conf_dhcp_line(&d, "dhcpServer \"1.2.3.4", err, sizeof(err)) == -1);
    char longline[1200];
    snprintf(longline, sizeof(longline), "dhcpServer 198.18.1.9 # %01000d", 7);
    CHECK(conf_dhcp_line(&d, longline, err, sizeof(err)) == 1 && d.nservers == 3);
    d.nservers = 2;
    CHECK(conf_dhcp_line(&d, "dhcpServer 198.18.1.2", err, sizeof(err)) == -1);
    CHECK(strstr(err, "already") != NULL);
    CHECK(d.nservers == 2 && d.server[0] == a4(SERVER) && d.server[1] == a4(SERVER2));

    /* the tracker refuses a configuration it cannot hold */
    d.nservers = DH_SERVERS_MAX + 1;
    CHECK(dh_new(&d, on_fact, NULL, err, sizeof(err)) == NULL && strstr(err, "16") != NULL);
    CHECK(dh_new(NULL, on_fact, NULL, err, sizeof(err)) == NULL);
}

int main(void)
{
    test_bind_release();
    test_untrusted();
    test_renewal_expiry();
    test_midlease();
    test_decline();
    test_spoofed_end();
    test_supersede();
    test_full();
    test_malformed();
    test_many();
    test_wiped();
    test_conf();
    return 0;
}
