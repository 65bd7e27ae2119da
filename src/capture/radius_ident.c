/*
 * radius_ident.c - a RADIUS packet's subscriber identity and ERX LI VSAs as
 * the session engine wants them (sig_fact.h; radius_track_priv.h;
 * docs/radius.md "Identity").
 */
#include "radius_track_priv.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#define ATTR_NAS_IP_ADDRESS   4   /* RFC 2865 section 5.4 */
#define ATTR_NAS_PORT         5   /* RFC 2865 section 5.5 */
#define ATTR_NAS_IDENTIFIER   32  /* RFC 2865 section 5.32 */
#define ATTR_FRAMED_IPV6_PFX  97  /* RFC 3162 section 2.3 */
#define ATTR_DELEGATED_PFX    123 /* RFC 4818 section 3 */
#define ATTR_FRAMED_IPV6_ADDR 168 /* RFC 6911 section 3.1 */
#define VENDOR_DSL_FORUM      3561
#define DSL_AGENT_CIRCUIT_ID  1
#define DSL_AGENT_REMOTE_ID   2
#define ERX_DHCP_OPTION_82    159

static void set_str(struct sig_str *s, const uint8_t *v, size_t len)
{
    if (len == 0 || len > SIG_STR_MAX)
        return;
    memcpy(s->v, v, len);
    s->len = (uint8_t)len;
}

static void add_prefix(struct sig_ident *id, const uint8_t *v, size_t len)
{
    /* Reserved, Prefix-Length, then at least the octets the length needs. */
    if (len < 2 || len > 18 || v[1] == 0 || v[1] > 128 || (size_t)(v[1] + 7) / 8 > len - 2)
        return;
    struct sig_prefix6 p;
    memset(&p, 0, sizeof(p));
    p.len = v[1];
    memcpy(p.addr, v + 2, (size_t)(p.len + 7) / 8);
    if (p.len % 8 != 0)
        p.addr[p.len / 8] &= (uint8_t)(0xffu << (8 - p.len % 8));
    for (unsigned i = 0; i < id->nprefix6; i++)
        if (id->prefix6[i].len == p.len && memcmp(id->prefix6[i].addr, p.addr, 16) == 0)
            return;
    if (id->nprefix6 < SIG_PREFIX6_MAX)
        id->prefix6[id->nprefix6++] = p;
}

static void add_addresses(const struct rad_attr *a, struct sig_ident *id)
{
    switch (a->type) {
    case RAD_ATTR_FRAMED_IP_ADDRESS:
        if (a->len == 4)
            memcpy(&id->framed_ip, a->value, 4);
        break;
    case ATTR_FRAMED_IPV6_ADDR:
        if (a->len == 16) {
            memcpy(id->framed_ip6, a->value, 16);
            id->has_framed_ip6 = 1;
        }
        break;
    case ATTR_FRAMED_IPV6_PFX:
    case ATTR_DELEGATED_PFX:
        add_prefix(id, a->value, a->len);
        break;
    case RAD_ATTR_ACCT_SESSION_ID:
        set_str(&id->acct_sid, a->value, a->len);
        break;
    default:
        break;
    }
}

void ri_ident_add_accept(const struct rad_packet *p, struct sig_ident *id)
{
    for (unsigned i = 0; i < p->nattr; i++)
        add_addresses(&p->attr[i], id);
}

void ri_ident_add(const struct rad_packet *p, struct sig_ident *id)
{
    uint32_t u;
    for (unsigned i = 0; i < p->nattr; i++) {
        const struct rad_attr *a = &p->attr[i];
        switch (a->type) {
        case RAD_ATTR_USER_NAME:
            set_str(&id->user, a->value, a->len);
            break;
        case RAD_ATTR_CALLING_STATION:
            set_str(&id->csid, a->value, a->len);
            break;
        case RAD_ATTR_NAS_PORT_ID:
            set_str(&id->nas_port_id, a->value, a->len);
            break;
        case ATTR_NAS_IDENTIFIER:
            set_str(&id->nas_id, a->value, a->len);
            break;
        case ATTR_NAS_IP_ADDRESS:
            if (a->len == 4)
                memcpy(&id->nas_ip, a->value, 4);
            break;
        case ATTR_NAS_PORT:
            if (rad_value_u32(a->value, a->len, &u) == 0) {
                id->nas_port = u;
                id->has_nas_port = 1;
            }
            break;
        default:
            add_addresses(a, id);
            break;
        }
    }
    for (unsigned i = 0; i < p->nsub; i++) {
        const struct rad_sub *s = &p->sub[i];
        if (s->vendor == VENDOR_DSL_FORUM && s->type == DSL_AGENT_CIRCUIT_ID)
            set_str(&id->circuit, s->value, s->len);
        else if (s->vendor == VENDOR_DSL_FORUM && s->type == DSL_AGENT_REMOTE_ID)
            set_str(&id->remote, s->value, s->len);
        else if (s->vendor == RAD_VENDOR_ERX && s->type == ERX_DHCP_OPTION_82)
            set_str(&id->opt82, s->value, s->len);
    }
}

/* 0.0.0.0, multicast (224.0.0.0/4) or the limited broadcast cannot be an analyzer. */
static int bad_analyzer(const uint8_t a[4])
{
    static const uint8_t zero[4], bcast[4] = {255, 255, 255, 255};
    return memcmp(a, zero, 4) == 0 || (a[0] & 0xf0) == 0xe0 || memcmp(a, bcast, 4) == 0;
}

int ri_li(const struct rad_packet *p, const uint8_t *secret, size_t secret_len,
          const uint8_t vector[RAD_AUTH_LEN], struct sig_li *li)
{
    struct rad_li r;
    memset(li, 0, sizeof(*li));
    li->action = SIG_LI_ABSENT;
    int rc = rad_li_read(p, secret, secret_len, vector, &r);
    if (rc == RAD_LI_E_ABSENT)
        goto out;
    li->present = 1;
    if (rc != RAD_LI_OK && rc != RAD_LI_E_NO_ACTION && rc != RAD_LI_E_HANDLE_PORT) {
        li->error = SIG_ERR_MISSING_ATTR;
        if (rc == RAD_LI_E_DECRYPT)
            snprintf(li->error_text, sizeof(li->error_text),
                     "ERX LI VSA 26-4874-%u does not decrypt (%s)", (unsigned)r.bad_type,
                     rad_salt_name(r.salt_rc));
        else
            snprintf(li->error_text, sizeof(li->error_text),
                     "ERX LI VSA 26-4874-%u is invalid (%s)", (unsigned)r.bad_type,
                     rad_li_name(rc));
        goto out;
    }
    /* Without LI-Action the other VSAs mean "on" (sig_fact.h). */
    li->action = (r.present & RAD_LI_ACTION) ? (int)r.action : SIG_LI_ON;
    if (r.present & RAD_LI_HANDLE) {
        li->has_handle = 1;
        li->handle_len = r.handle_len;
        li->mirror_id = r.mirror_id;
        li->has_sid = r.handle_len == 8;
        li->session_id = r.session_id;
    }
    if (r.present & RAD_LI_MED_IP) {
        li->has_analyzer = 1;
        memcpy(li->analyzer, r.med_ip, 4);
    }
    if (r.present & RAD_LI_PORT) {
        li->has_port = 1;
        li->port = r.med_port;
    }
    if (rc == RAD_LI_E_HANDLE_PORT) {
        li->error = SIG_ERR_MISSING_ATTR;
        snprintf(li->error_text, sizeof(li->error_text),
                 "ERX Med-Dev-Handle (26-59) and Med-Port-Number (26-61) must come together");
    } else if (li->action == SIG_LI_ON && !li->has_analyzer) {
        li->error = SIG_ERR_MISSING_ATTR;
        snprintf(li->error_text, sizeof(li->error_text),
                 "ERX LI-Action on without Med-Ip-Address (26-60)");
    } else if (li->has_analyzer && bad_analyzer(li->analyzer)) {
        li->error = SIG_ERR_INVALID_ANALYZER;
        snprintf(li->error_text, sizeof(li->error_text),
                 "ERX Med-Ip-Address (26-60) is not a unicast address");
    }
out:
    OPENSSL_cleanse(&r, sizeof(r));
    return li->error;
}
