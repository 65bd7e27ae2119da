/*
 * dhcp_track.c - DHCPv4 bindings as the capture process sees them (RFC
 * 2131, RFC 3046; dhcp_track.h; what is trusted and why: docs/dhcp.md).
 *
 * A binding is one leased address and the client (chaddr) it is leased to:
 * an address is bound to one client at a time, so the table is keyed by the
 * address and every match also compares chaddr.  Only a DHCPACK whose IP
 * source is a configured server (`dhcpServer`) creates or refreshes a
 * binding; those addresses come from the server, so the hash is not exposed
 * to a subscriber's choice of keys.  Expiry runs on the packet clock: from
 * dh_tick() and before each packet, so a pcap replayed faster than real time
 * expires leases in the right order.
 *
 * Abbreviations: b binding, rai the relay agent information option (82).
 */
#include "pmirrord/dhcp_track.h"
#include "pmirrord/dhcp_codec.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/pkt_decode.h"

#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define NEVER            INT64_MAX
#define HASH_MIN         1024u
#define LIMITED_BCAST    0xffffffffu /* 255.255.255.255, any byte order */
#define BINDINGS_DEFAULT 1000000u    /* maxSubscribers' default */

struct dh_binding {
    struct dh_binding *next; /* hash chain */
    size_t heap;             /* index in the expiry heap; SIZE_MAX: infinite lease */
    int64_t expires;         /* last second of the lease (packet clock); NEVER */
    uint32_t addr;           /* yiaddr, network order */
    uint32_t giaddr;
    uint32_t lease_s;
    uint8_t chaddr[6];
    uint8_t rai_len;            /* 0: no option 82 */
    uint8_t circ_off, circ_len; /* sub-option 1 inside rai; len 0: absent */
    uint8_t rem_off, rem_len;   /* sub-option 2 inside rai */
    uint8_t rai[];              /* rai_len octets */
};

struct dhcp_track {
    struct dh_conf conf;
    sig_fact_fn fact;
    void *fact_arg;
    struct dh_binding **bucket;
    size_t nbucket; /* a power of two */
    struct dh_binding **heap;
    size_t nheap, heapcap;
    struct dh_stats st;
};

/* ---- the address table ------------------------------------------------ */

static size_t slot(const struct dhcp_track *t, uint32_t addr)
{
    return (size_t)((addr * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (t->nbucket - 1);
}

static struct dh_binding *find(const struct dhcp_track *t, uint32_t addr)
{
    for (struct dh_binding *b = t->bucket[slot(t, addr)]; b != NULL; b = b->next)
        if (b->addr == addr)
            return b;
    return NULL;
}

/* Doubles the table when it holds as many bindings as buckets; on failure
 * the chains just grow longer. */
static void grow(struct dhcp_track *t)
{
    size_t n = t->nbucket * 2;
    struct dh_binding **nb = calloc(n, sizeof(*nb));
    if (nb == NULL)
        return;
    struct dh_binding **old = t->bucket;
    size_t oldn = t->nbucket;
    t->bucket = nb;
    t->nbucket = n;
    for (size_t i = 0; i < oldn; i++)
        for (struct dh_binding *b = old[i], *next; b != NULL; b = next) {
            next = b->next;
            size_t s = slot(t, b->addr);
            b->next = nb[s];
            nb[s] = b;
        }
    free(old);
}

static void unlink_addr(struct dhcp_track *t, struct dh_binding *b)
{
    for (struct dh_binding **pp = &t->bucket[slot(t, b->addr)]; *pp != NULL; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            return;
        }
}

/* ---- the expiry heap (a binary min-heap on expires) ------------------- */

static void heap_set(struct dhcp_track *t, size_t i, struct dh_binding *b)
{
    t->heap[i] = b;
    b->heap = i;
}

static void heap_up(struct dhcp_track *t, size_t i)
{
    struct dh_binding *b = t->heap[i];
    while (i > 0 && t->heap[(i - 1) / 2]->expires > b->expires) {
        heap_set(t, i, t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(t, i, b);
}

static void heap_down(struct dhcp_track *t, size_t i)
{
    struct dh_binding *b = t->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= t->nheap)
            break;
        if (c + 1 < t->nheap && t->heap[c + 1]->expires < t->heap[c]->expires)
            c++;
        if (t->heap[c]->expires >= b->expires)
            break;
        heap_set(t, i, t->heap[c]);
        i = c;
    }
    heap_set(t, i, b);
}

static void heap_remove(struct dhcp_track *t, struct dh_binding *b)
{
    size_t i = b->heap;
    if (i == SIZE_MAX)
        return;
    b->heap = SIZE_MAX;
    struct dh_binding *last = t->heap[--t->nheap];
    if (last == b)
        return;
    heap_set(t, i, last);
    heap_up(t, i);
    heap_down(t, last->heap);
}

static int heap_add(struct dhcp_track *t, struct dh_binding *b)
{
    if (t->nheap == t->heapcap) {
        size_t n = t->heapcap != 0 ? t->heapcap * 2 : 256;
        struct dh_binding **h = realloc(t->heap, n * sizeof(*h));
        if (h == NULL)
            return -1;
        t->heap = h;
        t->heapcap = n;
    }
    heap_set(t, t->nheap++, b);
    heap_up(t, b->heap);
    return 0;
}

/* (Re)sets a binding's lease from a packet at ts_sec. */
static int set_lease(struct dhcp_track *t, struct dh_binding *b, uint32_t lease_s, int64_t ts_sec)
{
    b->lease_s = lease_s;
    if (lease_s == DHCP_LEASE_INFINITE || ts_sec > NEVER - (int64_t)UINT32_MAX) {
        heap_remove(t, b);
        b->expires = NEVER;
        return 0;
    }
    b->expires = ts_sec + (int64_t)lease_s;
    if (b->heap == SIZE_MAX)
        return heap_add(t, b);
    heap_up(t, b->heap);
    heap_down(t, b->heap);
    return 0;
}

/* ---- facts ------------------------------------------------------------ */

static void emit(struct dhcp_track *t, enum sig_kind kind, const struct dh_binding *b,
                 int64_t ts_sec, uint32_t ts_usec)
{
    struct sig_fact f;
    memset(&f, 0, sizeof(f));
    f.kind = kind;
    f.ts_sec = ts_sec;
    f.ts_usec = ts_usec;
    f.id.framed_ip = b->addr;
    f.id.peer_ip = b->giaddr;
    f.id.has_chaddr = 1;
    memcpy(f.id.chaddr, b->chaddr, 6);
    if (b->rai_len > 0 && b->rai_len <= SIG_STR_MAX) {
        f.id.opt82.len = b->rai_len;
        memcpy(f.id.opt82.v, b->rai, b->rai_len);
    }
    if (b->circ_len > 0) {
        f.id.circuit.len = b->circ_len;
        memcpy(f.id.circuit.v, b->rai + b->circ_off, b->circ_len);
    }
    if (b->rem_len > 0) {
        f.id.remote.len = b->rem_len;
        memcpy(f.id.remote.v, b->rai + b->rem_off, b->rem_len);
    }
    f.lease_s = kind == SIG_DHCP_ACK ? b->lease_s : 0;
    f.li.action = SIG_LI_ABSENT;
    t->st.facts++;
    if (t->fact != NULL)
        t->fact(&f, t->fact_arg);
    OPENSSL_cleanse(&f, sizeof(f));
}

/* Ends a binding: unlinked, its fact emitted, its identities wiped. */
static void end_binding(struct dhcp_track *t, struct dh_binding *b, enum sig_kind kind,
                        int64_t ts_sec, uint32_t ts_usec)
{
    unlink_addr(t, b);
    heap_remove(t, b);
    t->st.bindings--;
    if (kind == SIG_DHCP_RELEASE)
        t->st.releases++;
    else if (kind == SIG_DHCP_DECLINE)
        t->st.declines++;
    else
        t->st.expired++;
    emit(t, kind, b, ts_sec, ts_usec);
    OPENSSL_cleanse(b, sizeof(*b) + b->rai_len);
    free(b);
}

/* Every lease whose last second is before now. */
static void expire(struct dhcp_track *t, int64_t now_sec)
{
    while (t->nheap > 0 && t->heap[0]->expires < now_sec) {
        struct dh_binding *b = t->heap[0];
        end_binding(t, b, SIG_DHCP_EXPIRE, b->expires, 0);
    }
}

/* ---- messages --------------------------------------------------------- */

static int is_server(const struct dhcp_track *t, uint32_t addr)
{
    for (size_t i = 0; i < t->conf.nservers; i++)
        if (t->conf.server[i] == addr)
            return 1;
    return 0;
}

/* Ethernet-sized hardware addresses only (RFC 1700 htype 1 Ethernet, 6 IEEE 802). */
static int mac_client(const struct dhcp_msg *m)
{
    return m->hlen == 6 && (m->htype == 1 || m->htype == 6);
}

/* Option 82 as the binding keeps it equals the message's, octet for octet
 * (both absent is equal). */
static int same_rai(const struct dh_binding *b, const struct dhcp_msg *m)
{
    if (!m->has_rai)
        return b->rai_len == 0;
    return b->rai_len == m->rai_len && memcmp(b->rai, m->rai, m->rai_len) == 0;
}

static struct dh_binding *new_binding(const struct dhcp_msg *m)
{
    uint8_t rl = m->has_rai ? m->rai_len : 0;
    struct dh_binding *b = calloc(1, sizeof(*b) + rl);
    if (b == NULL)
        return NULL;
    b->heap = SIZE_MAX;
    b->expires = NEVER;
    b->addr = m->yiaddr;
    b->giaddr = m->giaddr;
    memcpy(b->chaddr, m->chaddr, 6);
    b->rai_len = rl;
    if (rl > 0) {
        memcpy(b->rai, m->rai, rl);
        if (m->circuit != NULL) {
            b->circ_off = (uint8_t)(m->circuit - m->rai);
            b->circ_len = m->circuit_len;
        }
        if (m->remote != NULL) {
            b->rem_off = (uint8_t)(m->remote - m->rai);
            b->rem_len = m->remote_len;
        }
    }
    return b;
}

/*
 * A DHCPACK from a configured server.  The binding at yiaddr, if it is the
 * same client's, is refreshed when the ACK answers a renewal (ciaddr is the
 * bound address: RENEWING or REBINDING, RFC 2131 section 4.3.2; unicast, so
 * no option 82) or repeats the binding octet for octet (a retransmission, or
 * INIT-REBOOT through the same relay).  Any other binding at yiaddr ends
 * (the server gave the address to another client, or to this one on
 * another circuit) before the new one is made.
 */
static void on_ack(struct dhcp_track *t, const struct dhcp_msg *m, int64_t ts_sec, uint32_t ts_usec)
{
    if (m->yiaddr == 0 || !mac_client(m)) {
        t->st.parsed++; /* the answer to a DHCPINFORM binds nothing (RFC 2131 table 3) */
        return;
    }
    if (!m->has_lease || (m->has_rai && m->rai_len > SIG_STR_MAX)) {
        t->st.malformed++; /* RFC 2131 table 3: lease time MUST be in this ACK */
        return;
    }
    t->st.parsed++;
    struct dh_binding *b = find(t, m->yiaddr);
    if (b != NULL && memcmp(b->chaddr, m->chaddr, 6) == 0 &&
        (m->ciaddr == m->yiaddr || same_rai(b, m))) {
        t->st.renewals++;
        if (set_lease(t, b, m->lease_s, ts_sec) < 0) /* no memory for the heap: ends now */
            end_binding(t, b, SIG_DHCP_EXPIRE, ts_sec, ts_usec);
        return;
    }
    if (b != NULL)
        end_binding(t, b, SIG_DHCP_EXPIRE, ts_sec, ts_usec);
    if (t->st.bindings >= t->conf.max_bindings) {
        t->st.full++;
        return;
    }
    b = new_binding(m);
    if (b == NULL) {
        t->st.full++;
        return;
    }
    if (set_lease(t, b, m->lease_s, ts_sec) < 0) {
        OPENSSL_cleanse(b, sizeof(*b) + b->rai_len);
        free(b);
        t->st.full++;
        return;
    }
    size_t s = slot(t, b->addr);
    b->next = t->bucket[s];
    t->bucket[s] = b;
    if (++t->st.bindings > t->nbucket)
        grow(t);
    t->st.acks++;
    emit(t, SIG_DHCP_ACK, b, ts_sec, ts_usec);
}

/*
 * DHCPRELEASE (ciaddr, RFC 2131 section 4.4.6) or DHCPDECLINE (option 50,
 * section 4.4.1) of a known binding of the same client.  A chaddr is no
 * secret (anyone on a shared segment sees it), so the message must also come
 * from where the client is: a RELEASE is unicast from the bound address
 * itself (IP source = ciaddr, which the BNG's source checks vouch for); a
 * DECLINE (sent before the client uses the address) comes through the same
 * relay circuit, so it carries the binding's option 82 octet for octet (both
 * absent: the server's own link).  Anything else is counted as untrusted:
 * otherwise a subscriber who knows a target's MAC address could end the
 * target's binding, and with it the mirroring of the target's traffic.
 */
static void on_client_end(struct dhcp_track *t, const struct dhcp_msg *m, uint32_t src,
                          enum sig_kind kind, int64_t ts_sec, uint32_t ts_usec)
{
    uint32_t addr = m->ciaddr;
    if (kind == SIG_DHCP_DECLINE && m->has_req_addr)
        addr = m->req_addr;
    if (addr == 0 || !mac_client(m)) {
        t->st.parsed++;
        return;
    }
    struct dh_binding *b = find(t, addr);
    if (b == NULL || memcmp(b->chaddr, m->chaddr, 6) != 0) {
        t->st.parsed++;
        return;
    }
    if (kind == SIG_DHCP_RELEASE ? src != addr : !same_rai(b, m)) {
        t->st.untrusted++;
        return;
    }
    t->st.parsed++;
    end_binding(t, b, kind, ts_sec, ts_usec);
}

void dh_input(struct dhcp_track *t, const struct pkt_view *v, int64_t ts_sec, uint32_t ts_usec)
{
    struct dhcp_msg m;
    uint32_t src, dst;
    if (t == NULL || v == NULL)
        return;
    if (v->family != PKT_FAM_IPV4 || v->proto != IPPROTO_UDP || !(v->flags & PKT_F_PORTS))
        return; /* DHCPv4 only */
    expire(t, ts_sec);
    if (dhcp_parse(v->payload, v->payload_len, &m) != DHCP_OK) {
        t->st.malformed++;
        return;
    }
    memcpy(&src, v->src, 4);
    memcpy(&dst, v->dst, 4);
    if (m.op == DHCP_BOOTREPLY) {
        if (!is_server(t, src)) {
            t->st.untrusted++;
            return;
        }
        if (m.type == DHCP_ACK)
            on_ack(t, &m, ts_sec, ts_usec);
        else
            t->st.parsed++; /* OFFER, NAK, BOOTP replies: no binding yet, or none */
        return;
    }
    if (m.type != DHCP_RELEASE && m.type != DHCP_DECLINE) {
        t->st.parsed++;
        return;
    }
    /* A client's end of a binding counts when it goes where a server hears it. */
    if (!is_server(t, dst) && dst != LIMITED_BCAST) {
        t->st.untrusted++;
        return;
    }
    on_client_end(t, &m, src, m.type == DHCP_RELEASE ? SIG_DHCP_RELEASE : SIG_DHCP_DECLINE, ts_sec,
                  ts_usec);
}

int dh_tick(struct dhcp_track *t, int64_t now_sec)
{
    if (t == NULL)
        return -1;
    expire(t, now_sec);
    if (t->nheap == 0)
        return -1;
    int64_t left = t->heap[0]->expires + 1 - now_sec; /* >= 1 after expire() */
    if (left > INT_MAX / 1000)
        return INT_MAX;
    return (int)(left * 1000);
}

struct dhcp_track *dh_new(const struct dh_conf *c, sig_fact_fn fact, void *fact_arg, char *err,
                          size_t errlen)
{
    if (c == NULL || c->nservers > DH_SERVERS_MAX) {
        pm_err(err, errlen, "DHCP tracker: at most %d servers", DH_SERVERS_MAX);
        return NULL;
    }
    struct dhcp_track *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->bucket = calloc(HASH_MIN, sizeof(*t->bucket))) == NULL) {
        free(t);
        pm_err(err, errlen, "DHCP tracker: out of memory");
        return NULL;
    }
    t->nbucket = HASH_MIN;
    t->conf = *c;
    if (t->conf.max_bindings == 0)
        t->conf.max_bindings = BINDINGS_DEFAULT;
    t->fact = fact;
    t->fact_arg = fact_arg;
    return t;
}

void dh_set_servers(struct dhcp_track *t, const struct dh_conf *c)
{
    size_t n = c->nservers <= DH_SERVERS_MAX ? c->nservers : DH_SERVERS_MAX;
    memset(t->conf.server, 0, sizeof(t->conf.server));
    memcpy(t->conf.server, c->server, n * sizeof(c->server[0]));
    t->conf.nservers = n;
}

/* Every binding wiped; no facts (the process is ending or reconfiguring). */
void dh_free(struct dhcp_track *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nbucket; i++)
        for (struct dh_binding *b = t->bucket[i], *next; b != NULL; b = next) {
            next = b->next;
            OPENSSL_cleanse(b, sizeof(*b) + b->rai_len);
            free(b);
        }
    free(t->bucket);
    free(t->heap);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

void dh_get_stats(const struct dhcp_track *t, struct dh_stats *s)
{
    if (t == NULL) {
        memset(s, 0, sizeof(*s));
        return;
    }
    *s = t->st;
}
