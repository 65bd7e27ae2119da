/*
 * sess_sid.c - the values the session engine derives for the MIB's
 * varbinds (docs/sessions.md, "Varbind values"): SessionIdentifier,
 * RouterId, the trigger a RADIUS-provisioned intercept reports, and JUNOSe's
 * precedence of trigger types.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "pmirrord/escape.h"
#include "sess_priv.h"

/*
 * SessionIdentifier from an Acct-Session-Id (RFC 2866 section 5.5; the
 * 4-byte form of VSA 26-59 takes the Session-ID from it): all decimal digits
 * -> the number mod 2^32; all hexadecimal digits -> the last eight of them;
 * anything else -> its last four octets, big-endian.
 */
uint32_t se_sid_from_acct(const uint8_t *v, size_t n)
{
    int dec = n > 0, hex = n > 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            dec = 0;
        if (!((v[i] >= '0' && v[i] <= '9') || ((v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'f')))
            hex = 0;
    }
    uint32_t r = 0;
    if (dec) {
        for (size_t i = 0; i < n; i++)
            r = r * 10u + (uint32_t)(v[i] - '0'); /* unsigned: wraps mod 2^32 */
        return r;
    }
    if (hex) {
        for (size_t i = n > 8 ? n - 8 : 0; i < n; i++) {
            uint8_t c = v[i];
            uint32_t d = c <= '9' ? (uint32_t)(c - '0') : (uint32_t)((c | 0x20) - 'a' + 10);
            r = (r << 4) | d;
        }
        return r;
    }
    for (size_t i = n > 4 ? n - 4 : 0; i < n; i++)
        r = (r << 8) | v[i];
    return r;
}

uint32_t se_sid_counter(struct sess_engine *e)
{
    uint32_t v = e->next_sid++;
    if (e->next_sid == 0)
        e->next_sid = 1;
    return v;
}

/* A session's own SessionIdentifier, fixed at its first use: from its
 * Acct-Session-Id, else the counter. */
uint32_t se_sess_sid(struct sess_engine *e, struct sess *s)
{
    if (s->flags & SE_F_SID)
        return s->session_id;
    const uint8_t *v;
    size_t n = st_get(s, ST_ACCT_SID, &v);
    s->session_id = n > 0 ? se_sid_from_acct(v, n) : se_sid_counter(e);
    s->flags |= SE_F_SID | (n > 0 ? 0 : SE_F_SID_CTR);
    return s->session_id;
}

/* A login whose Access-Request and Accept carried no Acct-Session-Id took a
 * counter value; when its Accounting-Start brings one before anything was
 * announced, the SessionIdentifier is the Acct-Session-Id's after all (the
 * order of the rules), for the session and its intercepts that use it. */
void se_sess_sid_refine(struct sess_engine *e, struct sess *s)
{
    const uint8_t *v;
    size_t n = st_get(s, ST_ACCT_SID, &v);
    if (!(s->flags & SE_F_SID_CTR) || (s->flags & SE_F_STARTED) || n == 0)
        return;
    uint32_t old = s->session_id;
    s->session_id = se_sid_from_acct(v, n);
    s->flags &= (uint8_t)~SE_F_SID_CTR;
    for (struct se_icpt *ic = s->icpt; ic != NULL; ic = ic->next) {
        if (ic->announced || ic->session_id != old)
            continue;
        const struct se_rule *r = ic->rule != 0 ? se_rule_by_serial(e, ic->rule) : NULL;
        if (r != NULL && r->t.has_session_id)
            continue; /* the rule's own `session` */
        if (ic->rule == 0)
            se_report(e, s, ic, 0);
        ic->session_id = s->session_id;
        if (ic->rule == 0)
            se_report(e, s, ic, 1);
    }
}

/* RouterId: NAS-IP-Address as a big-endian Unsigned32, else the RADIUS
 * client's IPv4 source (DHCP: giaddr); 0 when neither is known. */
uint32_t se_router_id(const struct sig_ident *id)
{
    if (id->nas_ip != 0)
        return ntohl(id->nas_ip);
    return ntohl(id->peer_ip);
}

int se_type_rank(int tt)
{
    static const int rank[TRIG_TYPE_MAX + 1] = {
        [TRIG_ACCT_SID] = 1, [TRIG_CSID] = 2,        [TRIG_IP] = 3,
        [TRIG_USERNAME] = 4, [TRIG_NAS_PORT_ID] = 5, [TRIG_OPT82] = 6,
        [TRIG_CIRCUIT] = 7,  [TRIG_REMOTE] = 8,      [TRIG_INTERFACE] = 9,
    };
    return tt >= 0 && tt <= TRIG_TYPE_MAX ? rank[tt] : 10;
}

static void ip_text(const struct se_view *v, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    if (v->ip4 != 0) {
        inet_ntop(AF_INET, &v->ip4, a, sizeof(a));
        snprintf(buf, cap, "%s", a);
    } else if (v->has_ip6) {
        inet_ntop(AF_INET6, v->ip6, a, sizeof(a));
        snprintf(buf, cap, "%s", a);
    } else {
        inet_ntop(AF_INET6, v->p6[0].addr, a, sizeof(a));
        snprintf(buf, cap, "%s/%u", a, (unsigned)v->p6[0].len);
    }
}

/* The first identity present among JUNOSe's eight, in its precedence
 * (acct-session-id, calling-station-id, ip-address, username, nas-port-id,
 * dhcp-option-82, agent-circuit-id, agent-remote-id). */
void se_first_trigger(const struct se_view *v, int addr_last, int *tt, char *tr, size_t cap)
{
    static const struct {
        int tt;
        int field; /* enum st_field, -1 for the address */
    } order[] = {
        {TRIG_ACCT_SID, ST_ACCT_SID},
        {TRIG_CSID, ST_CSID},
        {TRIG_IP, -1},
        {TRIG_USERNAME, ST_USER},
        {TRIG_NAS_PORT_ID, ST_NAS_PORT_ID},
        {TRIG_OPT82, ST_OPT82},
        {TRIG_CIRCUIT, ST_CIRCUIT},
        {TRIG_REMOTE, ST_REMOTE},
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (order[i].field < 0) {
            if (!addr_last && (v->ip4 != 0 || v->has_ip6 || v->np6 > 0)) {
                *tt = TRIG_IP;
                ip_text(v, tr, cap);
                return;
            }
            continue;
        }
        if (v->l[order[i].field] > 0) {
            *tt = order[i].tt;
            pm_escape(tr, cap, (const char *)v->f[order[i].field], v->l[order[i].field]);
            return;
        }
    }
    if (addr_last && (v->ip4 != 0 || v->has_ip6 || v->np6 > 0)) {
        *tt = TRIG_IP;
        ip_text(v, tr, cap);
        return;
    }
    *tt = TRIG_INTERFACE; /* nothing that names a subscriber */
    if (cap > 0)
        tr[0] = '\0';
}

/* An analyzer mirroring can send to: a unicast address and a port. */
int se_analyzer_usable(const struct trig_analyzer *a)
{
    static const uint8_t zero[16];
    if (a->port == 0)
        return 0;
    if (a->family == 4)
        return a->addr[0] != 0 && a->addr[0] < 224;
    if (a->family == 6)
        return memcmp(a->addr, zero, 16) != 0 && a->addr[0] != 0xff;
    return 0;
}

void se_view_sess(struct se_view *v, const struct sess *s)
{
    memset(v, 0, sizeof(*v));
    for (int f = 0; f < ST_NFIELDS; f++)
        v->l[f] = st_get(s, (enum st_field)f, &v->f[f]);
    v->ip4 = s->framed_ip;
    v->has_ip6 = s->has_ip6;
    v->ip6 = s->ip6;
    v->np6 = st_prefixes6(s, &v->p6);
}

void se_view_ident(struct se_view *v, const struct sig_ident *id)
{
    const struct sig_str *f[ST_NFIELDS] = {
        [ST_USER] = &id->user,         [ST_CSID] = &id->csid,
        [ST_ACCT_SID] = &id->acct_sid, [ST_NAS_PORT_ID] = &id->nas_port_id,
        [ST_NAS_ID] = &id->nas_id,     [ST_CIRCUIT] = &id->circuit,
        [ST_REMOTE] = &id->remote,     [ST_OPT82] = &id->opt82,
    };
    memset(v, 0, sizeof(*v));
    for (int i = 0; i < ST_NFIELDS; i++) {
        v->f[i] = f[i]->v;
        v->l[i] = f[i]->len;
    }
    v->ip4 = id->framed_ip;
    v->has_ip6 = id->has_framed_ip6;
    v->ip6 = id->framed_ip6;
    v->np6 = id->nprefix6 > SIG_PREFIX6_MAX ? SIG_PREFIX6_MAX : id->nprefix6;
    v->p6 = id->prefix6;
}

void se_copy(char *dst, size_t cap, const char *text)
{
    if (cap == 0)
        return;
    size_t n = strnlen(text, cap - 1);
    memcpy(dst, text, n);
    dst[n] = '\0';
}
