/*
 * radius_track.c - RADIUS between the configured peers (radius_track.h,
 * docs/radius.md "The tracker"): which packets are looked at, pairing,
 * verification (RFC 2865, 2866, 3579, 5176), freshness of CoA and
 * Disconnect, and the facts handed to the session engine.
 *
 * Every packet is untrusted: each refusal is a counter, never an abort.
 * The shared secrets live in one locked page the tracker owns.
 */
#include "pmirrord/radius_track.h"
#include "pmirrord/pkt_decode.h"
#include "pmirrord/radius_conf.h"
#include "pmirrord/securemem.h"
#include "radius_track_priv.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define ATTR_ACCT_STATUS_TYPE  40  /* RFC 2866 section 5.1 */
#define ATTR_ACCT_DELAY_TIME   41  /* RFC 2866 section 5.2 */
#define ATTR_ACCT_SESSION_TIME 46  /* RFC 2866 section 5.7 */
#define ATTR_ACCT_TERM_CAUSE   49  /* RFC 2866 section 5.10 */
#define ATTR_EVENT_TIMESTAMP   55  /* RFC 2869 section 5.3 */
#define ATTR_ERROR_CAUSE       101 /* RFC 5176 section 3.5 */
#define ACCT_START             1
#define ACCT_STOP              2
#define ACCT_INTERIM           3
#define IPPROTO_UDP_NUM        17

/* What a packet is, from its code and where it goes. */
enum role { R_NONE, R_REQ, R_RESP, R_COA_REQ, R_COA_RESP };

struct radius_track {
    struct rt_conf conf; /* a copy whose secret fields are zero */
    uint8_t *secrets;    /* locked: peer i's secret at i * RT_SECRET_MAX */
    size_t secrets_len;
    sig_fact_fn fact;
    void *fact_arg;
    void (*mlog)(void *arg, const char *text);
    void *mlog_arg;
    struct rp_table *pairs;
    struct rr_table *seen;      /* CoA and Disconnect-Requests */
    struct rr_table *seen_acct; /* completed Accounting exchanges */
    struct rr_table *seen_auth; /* completed Access exchanges */
    struct rt_stats st;
    struct rad_packet pkt, req; /* scratch: the packet, and its pending request */
    struct sig_fact f;          /* scratch: wiped after each callback */
};

struct radius_track *rt_new(const struct rt_conf *c, sig_fact_fn fact, void *fact_arg,
                            void (*mlog)(void *arg, const char *text), void *mlog_arg, char *err,
                            size_t errlen)
{
    struct radius_track *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "RADIUS tracker: out of memory");
        return NULL;
    }
    if (c != NULL)
        t->conf = *c;
    else
        rt_conf_init(&t->conf);
    t->fact = fact;
    t->fact_arg = fact_arg;
    t->mlog = mlog;
    t->mlog_arg = mlog_arg;
    {
        /* room for every peer a reload may bring: no mlock in the sandbox */
        long page = sysconf(_SC_PAGESIZE);
        size_t need = (size_t)RT_CONF_MAX_PEERS * RT_SECRET_MAX;
        if (page <= 0)
            page = 4096;
        t->secrets_len = (need + (size_t)page - 1) / (size_t)page * (size_t)page;
        t->secrets = pm_secure_alloc(t->secrets_len, "RADIUS secrets", err, errlen);
        if (t->secrets == NULL) {
            OPENSSL_cleanse(&t->conf, sizeof(t->conf));
            free(t);
            return NULL;
        }
        for (unsigned i = 0; i < t->conf.npeers; i++) {
            memcpy(t->secrets + (size_t)i * RT_SECRET_MAX, t->conf.peer[i].secret,
                   t->conf.peer[i].secret_len);
            OPENSSL_cleanse(t->conf.peer[i].secret, sizeof(t->conf.peer[i].secret));
        }
    }
    t->pairs = rp_new();
    t->seen = rr_new();
    t->seen_acct = rr_new();
    t->seen_auth = rr_new();
    if (t->pairs == NULL || t->seen == NULL || t->seen_acct == NULL || t->seen_auth == NULL) {
        snprintf(err, errlen, "RADIUS tracker: out of memory");
        rt_free(t);
        return NULL;
    }
    return t;
}

void rt_free(struct radius_track *t)
{
    if (t == NULL)
        return;
    rp_free(t->pairs);
    rr_free(t->seen);
    rr_free(t->seen_acct);
    rr_free(t->seen_auth);
    pm_secure_free(t->secrets, t->secrets_len);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

/* Same peer (the secret aside)? */
static int same_peer(const struct rt_peer *a, const struct rt_peer *b)
{
    return a->kind == b->kind && a->family == b->family && a->plen == b->plen &&
           !memcmp(a->addr, b->addr, sizeof(a->addr)) && a->ports_given == b->ports_given &&
           a->auth_port == b->auth_port && a->acct_port == b->acct_port &&
           a->coa_port == b->coa_port;
}

void rt_conf_compare(const struct radius_track *t, const struct rt_conf *c, struct rt_conf_diff *d)
{
    static struct rt_conf none;
    const struct rt_conf *o = &t->conf;
    unsigned matched = 0;
    if (c == NULL) {
        rt_conf_init(&none);
        c = &none;
    }
    memset(d, 0, sizeof(*d));
    for (unsigned i = 0; i < c->npeers; i++) {
        const struct rt_peer *np = &c->peer[i];
        unsigned j;
        for (j = 0; j < o->npeers && !same_peer(np, &o->peer[j]); j++)
            ;
        if (j == o->npeers) {
            d->added++;
            continue;
        }
        matched++;
        const uint8_t *old = t->secrets + (size_t)j * RT_SECRET_MAX;
        if (np->secret_len != o->peer[j].secret_len ||
            CRYPTO_memcmp(np->secret, old, np->secret_len) != 0)
            d->changed++;
        else
            d->unchanged++;
    }
    d->removed = o->npeers > matched ? o->npeers - matched : 0;
    d->settings =
        c->require_msgauth != o->require_msgauth || c->pair_timeout_s != o->pair_timeout_s ||
        c->replay_window_s != o->replay_window_s || c->require_event_ts != o->require_event_ts ||
        strcmp(c->secrets_file, o->secrets_file) != 0;
}

int rt_reconfigure(struct radius_track *t, const struct rt_conf *c, struct rt_conf_diff *d,
                   char *err, size_t errlen)
{
    struct rt_conf_diff dd;
    if (c != NULL &&
        (c->npeers > RT_CONF_MAX_PEERS || (size_t)c->npeers * RT_SECRET_MAX > t->secrets_len)) {
        snprintf(err, errlen, "RADIUS tracker: more than %d peers", RT_CONF_MAX_PEERS);
        return -1;
    }
    rt_conf_compare(t, c, d != NULL ? d : &dd);
    OPENSSL_cleanse(t->secrets, t->secrets_len);
    if (c != NULL)
        t->conf = *c;
    else
        rt_conf_init(&t->conf);
    for (unsigned i = 0; i < t->conf.npeers; i++) {
        memcpy(t->secrets + (size_t)i * RT_SECRET_MAX, t->conf.peer[i].secret,
               t->conf.peer[i].secret_len);
        OPENSSL_cleanse(t->conf.peer[i].secret, sizeof(t->conf.peer[i].secret));
    }
    return 0;
}

void rt_get_stats(const struct radius_track *t, struct rt_stats *s)
{
    *s = t->st;
}

/* ---- who is who ---------------------------------------------------------- */

static int std_port(uint16_t port)
{
    return port == 1812 || port == 1813 || port == 1645 || port == 1646;
}

/* The index of the radiusServer at (addr, port), or -1. */
static int server_at(const struct radius_track *t, int fam, const uint8_t *addr, uint16_t port)
{
    for (unsigned i = 0; i < t->conf.npeers; i++) {
        const struct rt_peer *p = &t->conf.peer[i];
        if (p->kind != RT_PEER_SERVER || !rt_peer_match(p, fam, addr))
            continue;
        if (p->ports_given ? port == p->auth_port || port == p->acct_port : std_port(port))
            return (int)i;
    }
    return -1;
}

static int coa_port_of(const struct radius_track *t, unsigned sender, uint16_t port)
{
    const struct rt_peer *p = &t->conf.peer[sender];
    if (p->kind == RT_PEER_SERVER)
        return port == p->coa_port;
    if (port == RT_COA_PORT_DEF)
        return 1;
    for (unsigned i = 0; i < t->conf.npeers; i++)
        if (t->conf.peer[i].kind == RT_PEER_SERVER && t->conf.peer[i].coa_port == port)
            return 1;
    return 0;
}

/* The CoA sender (radiusServer or radiusDynamicClient) at addr whose CoA port
 * is port, or -1. */
static int coa_sender(const struct radius_track *t, int fam, const uint8_t *addr, uint16_t port)
{
    for (unsigned i = 0; i < t->conf.npeers; i++) {
        const struct rt_peer *p = &t->conf.peer[i];
        if ((p->kind == RT_PEER_SERVER || p->kind == RT_PEER_DYNCLIENT) &&
            rt_peer_match(p, fam, addr) && coa_port_of(t, i, port))
            return (int)i;
    }
    return -1;
}

static enum role role_of(uint8_t code)
{
    switch (code) {
    case RAD_ACCESS_REQUEST:
    case RAD_ACCOUNTING_REQUEST:
    case RAD_STATUS_SERVER:
        return R_REQ;
    case RAD_ACCESS_ACCEPT:
    case RAD_ACCESS_REJECT:
    case RAD_ACCESS_CHALLENGE:
    case RAD_ACCOUNTING_RESPONSE:
        return R_RESP;
    case RAD_COA_REQUEST:
    case RAD_DISCONNECT_REQUEST:
        return R_COA_REQ;
    case RAD_COA_ACK:
    case RAD_COA_NAK:
    case RAD_DISCONNECT_ACK:
    case RAD_DISCONNECT_NAK:
        return R_COA_RESP;
    default:
        return R_NONE;
    }
}

/* The configured peer a packet of role r from src to dst belongs to, or -1. */
static int peer_for(const struct radius_track *t, enum role r, const struct pkt_view *v)
{
    int fam = v->family;
    switch (r) {
    case R_REQ:
        return server_at(t, fam, v->dst, v->dport);
    case R_RESP:
        return server_at(t, fam, v->src, v->sport);
    case R_COA_REQ:
        return coa_sender(t, fam, v->src, v->dport);
    case R_COA_RESP:
        return coa_sender(t, fam, v->dst, v->sport);
    default:
        return -1;
    }
}

static int is_udp(const struct pkt_view *v)
{
    return v != NULL && (v->family == PKT_FAM_IPV4 || v->family == PKT_FAM_IPV6) &&
           v->proto == IPPROTO_UDP_NUM && (v->flags & PKT_F_PORTS);
}

static int radius_port(const struct radius_track *t, uint16_t port)
{
    if (std_port(port) || port == RT_COA_PORT_DEF)
        return 1;
    for (unsigned i = 0; i < t->conf.npeers; i++) {
        const struct rt_peer *p = &t->conf.peer[i];
        if (p->kind == RT_PEER_SERVER &&
            ((p->ports_given && (port == p->auth_port || port == p->acct_port)) ||
             port == p->coa_port))
            return 1;
    }
    return 0;
}

int rt_wants(const struct radius_track *t, const struct pkt_view *v)
{
    return t != NULL && is_udp(v) && (radius_port(t, v->sport) || radius_port(t, v->dport));
}

/* ---- helpers ------------------------------------------------------------- */

static void mlogf(struct radius_track *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mlogf(struct radius_track *t, const char *fmt, ...)
{
    if (t->mlog == NULL)
        return;
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    t->mlog(t->mlog_arg, text);
    OPENSSL_cleanse(text, sizeof(text));
}

static const char *addr_str(int fam, const uint8_t *a, char *buf, size_t len)
{
    if (inet_ntop(fam == PKT_FAM_IPV4 ? AF_INET : AF_INET6, a, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
    return buf;
}

static const uint8_t *secret_of(const struct radius_track *t, unsigned idx, size_t *len)
{
    *len = t->conf.peer[idx].secret_len;
    return t->secrets + (size_t)idx * RT_SECRET_MAX;
}

static void make_key(struct rp_key *k, const struct pkt_view *v, int request, uint8_t id)
{
    size_t n = v->family == PKT_FAM_IPV4 ? 4 : 16;
    memset(k, 0, sizeof(*k));
    k->family = (uint8_t)v->family;
    k->id = id;
    const uint8_t *ra = request ? v->src : v->dst, *sa = request ? v->dst : v->src;
    k->req_port = request ? v->sport : v->dport;
    k->resp_port = request ? v->dport : v->sport;
    memcpy(k->req_addr, ra, n);
    memcpy(k->resp_addr, sa, n);
}

static void start_fact(struct radius_track *t, enum sig_kind kind, int64_t ts_sec, uint32_t ts_usec,
                       int fam, const uint8_t *nas)
{
    memset(&t->f, 0, sizeof(t->f));
    t->f.kind = kind;
    t->f.ts_sec = ts_sec;
    t->f.ts_usec = ts_usec;
    t->f.li.action = SIG_LI_ABSENT;
    if (fam == PKT_FAM_IPV4)
        memcpy(&t->f.id.peer_ip, nas, 4);
}

static void emit(struct radius_track *t)
{
    t->st.facts++;
    if (t->fact != NULL)
        t->fact(&t->f, t->fact_arg);
    OPENSSL_cleanse(&t->f, sizeof(t->f));
}

static int has_u32(const struct rad_packet *p, uint8_t type, uint32_t *out)
{
    int i = rad_find(p, type, 0);
    return i >= 0 && rad_value_u32(p->attr[i].value, p->attr[i].len, out) == 0;
}

/* Message-Authenticator rules: verified when present; required for Access-*
 * and CoA/Disconnect packets by requireMessageAuthenticator (BlastRADIUS).
 * 0 fine, -1 refused (counted). */
static int check_msgauth(struct radius_track *t, const struct rad_packet *p,
                         const uint8_t *req_auth, const uint8_t *secret, size_t slen)
{
    if (p->msgauth >= 0) {
        if (rad_verify_msgauth(p, req_auth, secret, slen) != RAD_V_OK) {
            t->st.auth_failed++;
            return -1;
        }
        return 0;
    }
    int needs = p->code == RAD_ACCESS_REQUEST || p->code == RAD_ACCESS_ACCEPT ||
                p->code == RAD_ACCESS_REJECT || p->code == RAD_ACCESS_CHALLENGE ||
                role_of(p->code) == R_COA_REQ || role_of(p->code) == R_COA_RESP;
    if (t->conf.require_msgauth && needs) {
        t->st.msgauth_missing++;
        return -1;
    }
    return 0;
}

static uint64_t ms_of(int64_t ts_sec, uint32_t ts_usec)
{
    return ts_sec < 0 ? 0 : (uint64_t)ts_sec * 1000u + ts_usec / 1000u;
}

/* |ev - now| <= w, without overflow whatever now is */
static int within(int64_t ev, int64_t now, unsigned w)
{
    uint64_t d = ev >= now ? (uint64_t)ev - (uint64_t)now : (uint64_t)now - (uint64_t)ev;
    return d <= (uint64_t)w;
}

static void replay_log(struct radius_track *t, const struct pkt_view *v, const struct rad_packet *p,
                       const char *what)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    t->st.replays++;
    mlogf(t, "RADIUS %s id %u from %s to %s:%u refused as a replay: %s", rad_code_name(p->code),
          (unsigned)p->id, addr_str(v->family, v->src, a, sizeof(a)),
          addr_str(v->family, v->dst, b, sizeof(b)), (unsigned)v->dport, what);
}

static void expire(struct radius_track *t, uint64_t now_ms)
{
    uint64_t to = (uint64_t)t->conf.pair_timeout_s * 1000u;
    if (now_ms >= to) /* a request of time T is gone at T + timeout */
        t->st.pairs_expired += rp_expire(t->pairs, now_ms - to + 1);
}

/* ---- requests ------------------------------------------------------------ */

/* Access-, Accounting-Request (and Status-Server, ignored) to a server. */
static void on_request(struct radius_track *t, const struct pkt_view *v, unsigned srv,
                       int64_t ts_sec, uint64_t now_ms)
{
    const struct rad_packet *p = &t->pkt;
    if (p->code == RAD_STATUS_SERVER)
        return;
    size_t slen;
    const uint8_t *secret =
        secret_of(t, rt_conf_secret_peer(&t->conf, srv, v->family, v->src), &slen);
    if (p->code == RAD_ACCOUNTING_REQUEST && rad_verify_request(p, secret, slen) != RAD_V_OK) {
        t->st.auth_failed++;
        return;
    }
    if (check_msgauth(t, p, NULL, secret, slen) < 0)
        return;
    if (p->code == RAD_ACCOUNTING_REQUEST && rad_find(p, ATTR_EVENT_TIMESTAMP, 0) >= 0) {
        /* the event happened Acct-Delay-Time seconds before it was sent */
        uint32_t ev, delay = 0;
        if (!has_u32(p, ATTR_EVENT_TIMESTAMP, &ev) || (rad_find(p, ATTR_ACCT_DELAY_TIME, 0) >= 0 &&
                                                       !has_u32(p, ATTR_ACCT_DELAY_TIME, &delay))) {
            t->st.malformed++;
            return;
        }
        if (!within((int64_t)ev + (int64_t)delay, ts_sec, t->conf.replay_window_s)) {
            replay_log(t, v, p,
                       "its Event-Timestamp + Acct-Delay-Time is outside the replay window");
            return;
        }
    }
    struct rp_key k;
    unsigned evicted = 0;
    make_key(&k, v, 1, p->id);
    /* Accounting: its authenticator verified above; Access: only a verified
     * Message-Authenticator (check_msgauth()) proves the sender. */
    int is_signed = p->code == RAD_ACCOUNTING_REQUEST || p->msgauth >= 0;
    rp_put(t->pairs, &k, p->code, p->auth, p->pkt, p->len, is_signed, now_ms, &evicted);
    t->st.pairs_expired += evicted;
}

/* Does p carry an ERX LI VSA (26-4874-58..61), which decides interception? */
static int has_li_vsa(const struct rad_packet *p)
{
    for (uint8_t type = 58; type <= 61; type++)
        if (rad_find_sub(p, RAD_VENDOR_ERX, type, 0) >= 0)
            return 1;
    return 0;
}

/* CoA- or Disconnect-Request from a server or dynamic client to a NAS. */
static void on_coa_request(struct radius_track *t, const struct pkt_view *v, unsigned sender,
                           int64_t ts_sec, uint32_t ts_usec, uint64_t now_ms)
{
    const struct rad_packet *p = &t->pkt;
    size_t slen;
    const uint8_t *secret =
        secret_of(t, rt_conf_secret_peer(&t->conf, sender, v->family, v->dst), &slen);
    if (rad_verify_request(p, secret, slen) != RAD_V_OK) {
        t->st.auth_failed++;
        return;
    }
    if (check_msgauth(t, p, NULL, secret, slen) < 0)
        return;
    uint32_t ev = 0;
    int has_ev = rad_find(p, ATTR_EVENT_TIMESTAMP, 0) >= 0;
    if (has_ev && !has_u32(p, ATTR_EVENT_TIMESTAMP, &ev)) {
        t->st.malformed++;
        return;
    }
    const char *what = NULL;
    if (!has_ev && t->conf.require_event_ts)
        what = "it has no Event-Timestamp (radiusRequireEventTimestamp on)";
    else if (!has_ev && p->code == RAD_COA_REQUEST && has_li_vsa(p))
        what = "it carries ERX LI VSAs and no Event-Timestamp";
    else if (has_ev && !within((int64_t)ev, ts_sec, t->conf.replay_window_s))
        what = "its Event-Timestamp is outside the replay window";
    /* Keyed by the NAS it goes to, not by its sender: the same signed packet
     * is valid from any sender that shares the secret (two servers with one
     * secret, or a NAS's radiusClient secret), and a copy resent from another
     * of them is still a replay. */
    else if (rr_check(t->seen, v->family, v->dst, NULL, p->auth, ts_sec, t->conf.replay_window_s) !=
             0)
        what = "its authenticator was seen before within the replay window";
    if (what != NULL) {
        replay_log(t, v, p, what);
        return;
    }
    struct rp_key k;
    unsigned evicted = 0;
    make_key(&k, v, 1, p->id);
    rp_put(t->pairs, &k, p->code, p->auth, p->pkt, p->len, 1, now_ms, &evicted);
    t->st.pairs_expired += evicted;
    if (p->code != RAD_COA_REQUEST)
        return; /* a Disconnect takes effect with its ACK */
    uint8_t vec[RAD_AUTH_LEN];
    start_fact(t, SIG_COA, ts_sec, ts_usec, v->family, v->dst);
    ri_ident_add(p, &t->f.id);
    rad_salt_vector(p->code, NULL, vec);
    if (ri_li(p, secret, slen, vec, &t->f.li) != 0)
        t->st.li_errors++;
    t->f.has_event_ts = has_ev;
    t->f.event_ts = ev;
    emit(t);
}

/* ---- responses ----------------------------------------------------------- */

static void acct_fact(struct radius_track *t, int64_t ts_sec, uint32_t ts_usec, int fam,
                      const uint8_t *nas)
{
    const struct rad_packet *rq = &t->req;
    uint32_t status;
    if (!has_u32(rq, ATTR_ACCT_STATUS_TYPE, &status))
        return;
    enum sig_kind k = status == ACCT_START     ? SIG_ACCT_START
                      : status == ACCT_STOP    ? SIG_ACCT_STOP
                      : status == ACCT_INTERIM ? SIG_ACCT_INTERIM
                                               : (enum sig_kind)0;
    if (k == 0)
        return; /* Accounting-On/Off and others: not about one session */
    start_fact(t, k, ts_sec, ts_usec, fam, nas);
    ri_ident_add(rq, &t->f.id);
    t->f.has_term_cause = has_u32(rq, ATTR_ACCT_TERM_CAUSE, &t->f.term_cause);
    t->f.has_session_time = has_u32(rq, ATTR_ACCT_SESSION_TIME, &t->f.session_time);
    emit(t);
}

static void on_nak(struct radius_track *t, const struct pkt_view *v, int64_t ts_sec,
                   uint32_t ts_usec)
{
    char a[INET6_ADDRSTRLEN];
    uint32_t cause = 0;
    int has_cause = has_u32(&t->pkt, ATTR_ERROR_CAUSE, &cause);
    t->st.coa_naks++;
    char c[32] = "";
    if (has_cause)
        snprintf(c, sizeof(c), " (Error-Cause %u)", (unsigned)cause);
    mlogf(t, "RADIUS %s id %u from NAS %s: the NAS refused the %s%s; the mirroring stands",
          rad_code_name(t->pkt.code), (unsigned)t->pkt.id,
          addr_str(v->family, v->src, a, sizeof(a)), rad_code_name(t->req.code), c);
    start_fact(t, SIG_COA_NAK, ts_sec, ts_usec, v->family, v->src);
    ri_ident_add(&t->req, &t->f.id);
    uint32_t ev;
    t->f.has_event_ts = has_u32(&t->req, ATTR_EVENT_TIMESTAMP, &ev);
    t->f.event_ts = t->f.has_event_ts ? ev : 0;
    emit(t);
}

/* Any response: paired, verified, then its fact. */
static void on_response(struct radius_track *t, const struct pkt_view *v, unsigned peer,
                        int64_t ts_sec, uint32_t ts_usec)
{
    const struct rad_packet *p = &t->pkt;
    int coa = role_of(p->code) == R_COA_RESP;
    /* the NAS: the requester of Access/Accounting, the responder of CoA */
    const uint8_t *nas = coa ? v->src : v->dst;
    struct rp_key k;
    struct rp_entry *e;
    make_key(&k, v, 0, p->id);
    unsigned n = rp_find(t->pairs, &k, p->code, &e);
    if (n == 0) {
        t->st.unpaired++;
        return;
    }
    size_t slen;
    const uint8_t *secret =
        secret_of(t, rt_conf_secret_peer(&t->conf, peer, v->family, nas), &slen);
    /*
     * The Response Authenticator is signed over its request's authenticator:
     * among requests with the same key it names the one it answers.  (An
     * unsigned Access-Request injected with a pending one's Identifier and
     * ports must not make the real answer unusable.)
     */
    struct rp_entry *match = NULL;
    unsigned nmatch = 0;
    for (; e != NULL; e = rp_find_next(t->pairs, &k, p->code, e))
        if (rad_verify_response(p, e->auth, secret, slen) == RAD_V_OK && nmatch++ == 0)
            match = e;
    if (n > 1)
        t->st.ambiguous++;
    if (nmatch == 0) {
        t->st.auth_failed++;
        return; /* the real answer may still come */
    }
    if (nmatch > 1) { /* cannot happen: the same authenticator is one entry */
        rp_drop_all(t->pairs, &k, p->code);
        return;
    }
    e = match;
    if (check_msgauth(t, p, e->auth, secret, slen) < 0)
        return; /* neither: a forged answer (BlastRADIUS) cannot close the exchange */
    if (rad_parse(e->pkt, e->len, &t->req) != RAD_OK) { /* parsed once already */
        rp_remove(t->pairs, e);
        return;
    }
    /* A completed Access or Accounting exchange is remembered for the window
     * by (NAS, server, request authenticator): a second completion is a
     * recorded pair replayed (or a retransmission answered twice). */
    struct rr_table *seen = p->code == RAD_ACCOUNTING_RESPONSE ? t->seen_acct
                            : coa                              ? NULL
                                                               : t->seen_auth;
    if (seen != NULL &&
        rr_check(seen, v->family, nas, v->src, e->auth, ts_sec, t->conf.replay_window_s) != 0) {
        replay_log(t, v, p,
                   "its request's authenticator was answered before within the "
                   "replay window");
        rp_remove(t->pairs, e);
        return;
    }
    uint8_t vec[RAD_AUTH_LEN];
    uint32_t ev;
    switch (p->code) {
    case RAD_ACCESS_ACCEPT:
        start_fact(t, SIG_ACCESS_ACCEPT, ts_sec, ts_usec, v->family, nas);
        ri_ident_add(&t->req, &t->f.id);
        ri_ident_add_accept(p, &t->f.id);
        rad_salt_vector(p->code, e->auth, vec);
        if (ri_li(p, secret, slen, vec, &t->f.li) != 0)
            t->st.li_errors++;
        emit(t);
        break;
    case RAD_ACCESS_REJECT:
        start_fact(t, SIG_ACCESS_REJECT, ts_sec, ts_usec, v->family, nas);
        ri_ident_add(&t->req, &t->f.id);
        emit(t);
        break;
    case RAD_ACCOUNTING_RESPONSE:
        acct_fact(t, ts_sec, ts_usec, v->family, nas);
        break;
    case RAD_DISCONNECT_ACK:
        start_fact(t, SIG_DISCONNECT, ts_sec, ts_usec, v->family, nas);
        ri_ident_add(&t->req, &t->f.id);
        t->f.has_event_ts = has_u32(&t->req, ATTR_EVENT_TIMESTAMP, &ev);
        t->f.event_ts = t->f.has_event_ts ? ev : 0;
        emit(t);
        break;
    case RAD_COA_NAK:
    case RAD_DISCONNECT_NAK:
        on_nak(t, v, ts_sec, ts_usec);
        break;
    default: /* Access-Challenge, CoA-ACK: the exchange is over, nothing to tell */
        break;
    }
    rp_remove(t->pairs, e);
}

/* ---- entry points -------------------------------------------------------- */

static int any_peer(const struct radius_track *t, const struct pkt_view *v)
{
    return server_at(t, v->family, v->dst, v->dport) >= 0 ||
           server_at(t, v->family, v->src, v->sport) >= 0 ||
           coa_sender(t, v->family, v->src, v->dport) >= 0 ||
           coa_sender(t, v->family, v->dst, v->sport) >= 0;
}

void rt_input(struct radius_track *t, const struct pkt_view *v, int64_t ts_sec, uint32_t ts_usec)
{
    if (t == NULL || !is_udp(v) || v->payload == NULL)
        return;
    uint64_t now_ms = ms_of(ts_sec, ts_usec);
    expire(t, now_ms);
    if (!any_peer(t, v)) {
        t->st.not_peer++;
        return;
    }
    if (rad_parse(v->payload, v->payload_len, &t->pkt) != RAD_OK) {
        t->st.malformed++;
        return;
    }
    enum role r = role_of(t->pkt.code);
    int peer = peer_for(t, r, v);
    if (r == R_NONE) {
        t->st.parsed++; /* a code nothing here answers to: decoded, ignored */
        return;
    }
    if (peer < 0) {
        t->st.not_peer++; /* a configured peer's port, but not in this direction */
        return;
    }
    t->st.parsed++;
    switch (r) {
    case R_REQ:
        on_request(t, v, (unsigned)peer, ts_sec, now_ms);
        break;
    case R_COA_REQ:
        on_coa_request(t, v, (unsigned)peer, ts_sec, ts_usec, now_ms);
        break;
    default:
        on_response(t, v, (unsigned)peer, ts_sec, ts_usec);
        break;
    }
}

int rt_tick(struct radius_track *t, uint64_t now_ms)
{
    if (t == NULL)
        return -1;
    expire(t, now_ms);
    int64_t oldest = rp_oldest(t->pairs);
    if (oldest < 0)
        return -1;
    uint64_t due = (uint64_t)oldest + (uint64_t)t->conf.pair_timeout_s * 1000u;
    if (due <= now_ms)
        return 0;
    uint64_t left = due - now_ms;
    return left > 0x7fffffff ? 0x7fffffff : (int)left;
}
