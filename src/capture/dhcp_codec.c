/*
 * dhcp_codec.c - the DHCPv4/BOOTP message parser (RFC 2131 sections 2, 3
 * and 4.1, RFC 2132, RFC 3046; docs/dhcp.md).
 *
 * Bytes come from the wire: nothing is read outside [p, p + n), nothing is
 * allocated, every malformation is an enum dhcp_reason.  Options are read
 * from the options field, then, when option 52 says so, from the file field
 * and then the sname field (RFC 2131 section 4.1: in that order).
 */
#include "pmirrord/dhcp_codec.h"

#include <string.h>

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Addresses stay in network order: the octets as they are. */
static uint32_t get_addr(const uint8_t *p)
{
    uint32_t a;
    memcpy(&a, p, 4);
    return a;
}

/*
 * Option 82 (RFC 3046 section 2.0): sub-options of code, length, value that
 * tile the option's value exactly.  Sub-options other than 1 and 2 (RFC
 * 3993, 4030, 5107, ...) are stepped over.
 */
static int parse_rai(struct dhcp_msg *m, const uint8_t *v, uint8_t len)
{
    size_t i = 0;
    if (len == 0)
        return DHCP_E_RAI;
    m->has_rai = 1;
    m->rai = v;
    m->rai_len = len;
    while (i < len) {
        if (len - i < 2 || v[i + 1] > len - i - 2)
            return DHCP_E_RAI;
        uint8_t code = v[i], sl = v[i + 1];
        if (code == DHCP_RAI_CIRCUIT_ID || code == DHCP_RAI_REMOTE_ID) {
            const uint8_t **dst = code == DHCP_RAI_CIRCUIT_ID ? &m->circuit : &m->remote;
            uint8_t *dlen = code == DHCP_RAI_CIRCUIT_ID ? &m->circuit_len : &m->remote_len;
            if (sl == 0 || *dst != NULL)
                return DHCP_E_RAI;
            *dst = v + i + 2;
            *dlen = sl;
        }
        i += 2u + sl;
    }
    return DHCP_OK;
}

/* One option the tracker reads; seen: the codes met so far (a bitmap). */
static int take_option(struct dhcp_msg *m, uint8_t code, const uint8_t *v, uint8_t len,
                       uint8_t seen[32], int main_field)
{
    switch (code) {
    case DHCP_OPT_REQ_ADDR:
    case DHCP_OPT_LEASE:
    case DHCP_OPT_SERVER_ID:
    case DHCP_OPT_MSG_TYPE:
    case DHCP_OPT_OVERLOAD:
    case DHCP_OPT_RELAY:
        break;
    default:
        return DHCP_OK;
    }
    if (code == DHCP_OPT_OVERLOAD && !main_field)
        return DHCP_E_OVERLOAD;
    if (seen[code / 8] & (1u << (code % 8)))
        return DHCP_E_DUP;
    seen[code / 8] |= (uint8_t)(1u << (code % 8));
    switch (code) {
    case DHCP_OPT_MSG_TYPE:
        if (len != 1)
            return DHCP_E_OPT_LEN;
        m->type = v[0];
        return DHCP_OK;
    case DHCP_OPT_OVERLOAD:
        if (len != 1)
            return DHCP_E_OPT_LEN;
        if (v[0] < 1 || v[0] > 3)
            return DHCP_E_OVERLOAD;
        m->overload = v[0];
        return DHCP_OK;
    case DHCP_OPT_RELAY:
        return parse_rai(m, v, len);
    default:
        break;
    }
    if (len != 4)
        return DHCP_E_OPT_LEN;
    if (code == DHCP_OPT_LEASE) {
        m->has_lease = 1;
        m->lease_s = get32(v);
    } else if (code == DHCP_OPT_SERVER_ID) {
        m->has_server_id = 1;
        m->server_id = get_addr(v);
    } else {
        m->has_req_addr = 1;
        m->req_addr = get_addr(v);
    }
    return DHCP_OK;
}

/*
 * Options in [f, f + n): Pad (0) is one octet, End (255) stops; every other
 * option is code, length, value.  need_end: the options field must hold End
 * (RFC 2131 section 4.1, "The last option must always be the 'end'
 * option"); an overloaded file or sname field may simply be full.
 */
static int parse_field(struct dhcp_msg *m, const uint8_t *f, size_t n, uint8_t seen[32],
                       int main_field)
{
    size_t i = 0;
    while (i < n) {
        uint8_t code = f[i];
        if (code == DHCP_OPT_PAD) {
            i++;
            continue;
        }
        if (code == DHCP_OPT_END)
            return DHCP_OK;
        if (n - i < 2 || f[i + 1] > n - i - 2)
            return DHCP_E_OPT_TRUNC;
        uint8_t len = f[i + 1];
        m->noptions++;
        int rc = take_option(m, code, f + i + 2, len, seen, main_field);
        if (rc != DHCP_OK)
            return rc;
        i += 2u + len;
    }
    return main_field ? DHCP_E_NO_END : DHCP_OK;
}

int dhcp_parse(const uint8_t *p, size_t n, struct dhcp_msg *out)
{
    uint8_t seen[32];
    if (out == NULL)
        return DHCP_E_ARG;
    memset(out, 0, sizeof(*out));
    out->pkt = p;
    out->len = n;
    if (p == NULL)
        return DHCP_E_ARG;
    if (n < DHCP_FIXED_LEN)
        return DHCP_E_SHORT;
    out->op = p[0];
    out->htype = p[1];
    out->hlen = p[2];
    out->hops = p[3];
    out->xid = get32(p + 4);
    out->secs = get16(p + 8);
    out->flags = get16(p + 10);
    out->ciaddr = get_addr(p + 12);
    out->yiaddr = get_addr(p + 16);
    out->siaddr = get_addr(p + 20);
    out->giaddr = get_addr(p + 24);
    out->chaddr = p + 28;
    if (n < DHCP_OPTIONS_OFF)
        return DHCP_E_SHORT;
    if (out->op != DHCP_BOOTREQUEST && out->op != DHCP_BOOTREPLY)
        return DHCP_E_OP;
    if (out->hlen > DHCP_CHADDR_LEN)
        return DHCP_E_HLEN;
    if (get32(p + DHCP_FIXED_LEN) != DHCP_COOKIE)
        return DHCP_E_COOKIE;
    memset(seen, 0, sizeof(seen));
    int rc = parse_field(out, p + DHCP_OPTIONS_OFF, n - DHCP_OPTIONS_OFF, seen, 1);
    if (rc == DHCP_OK && (out->overload & 1))
        rc = parse_field(out, p + DHCP_FILE_OFF, DHCP_FILE_LEN, seen, 0);
    if (rc == DHCP_OK && (out->overload & 2))
        rc = parse_field(out, p + DHCP_SNAME_OFF, DHCP_SNAME_LEN, seen, 0);
    return rc;
}

const char *dhcp_reason_name(int rc)
{
    static const char *const names[DHCP_REASON_COUNT] = {
        "ok",        "arg",    "short", "op",      "hlen",     "cookie",
        "opt-trunc", "no-end", "dup",   "opt-len", "overload", "rai",
    };
    if (rc > 0 || rc <= -DHCP_REASON_COUNT)
        return "unknown";
    return names[-rc];
}

const char *dhcp_type_name(int type)
{
    static const char *const names[] = {
        "BOOTP",   "DHCPDISCOVER", "DHCPOFFER",   "DHCPREQUEST", "DHCPDECLINE",
        "DHCPACK", "DHCPNAK",      "DHCPRELEASE", "DHCPINFORM",
    };
    if (type < 0 || type >= (int)(sizeof(names) / sizeof(names[0])))
        return "unknown";
    return names[type];
}
