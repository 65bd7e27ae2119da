/*
 * radius_codec.c - the RADIUS packet parser and typed readers
 * (RFC 2865 sections 3 and 5, RFC 2866, RFC 5176; docs/radius.md).
 *
 * Bytes come from the wire: nothing is read outside [p, p + Length), nothing
 * is allocated, every malformation is an enum rad_malformed.
 */
#include "pmirrord/radius.h"

#include <string.h>

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Splits a Vendor-Specific's data (after the Vendor-Id) into sub-attributes
 * of the suggested format (RFC 2865 section 5.26: vendor type, vendor
 * length >= 2, value).  Data that does not tile exactly is kept raw: some
 * vendors use other layouts, which is not malformed.
 */
static int split_vsa(struct rad_packet *out, struct rad_attr *a, unsigned idx)
{
    const uint8_t *d = a->value + 4;
    size_t n = (size_t)a->len - 4, i = 0, count = 0;

    while (i < n) {
        if (n - i < 2 || d[i + 1] < 2 || d[i + 1] > n - i) {
            a->flags |= RAD_A_VSA_RAW;
            out->nraw++;
            return RAD_OK;
        }
        i += d[i + 1];
        count++;
    }
    if (out->nsub + count > RAD_MAX_SUBS)
        return RAD_E_TOO_MANY_SUBS;
    a->sub_first = (uint16_t)out->nsub;
    a->sub_count = (uint16_t)count;
    for (i = 0; i < n; i += d[i + 1]) {
        struct rad_sub *s = &out->sub[out->nsub++];
        s->vendor = a->vendor;
        s->type = d[i];
        s->len = (uint8_t)(d[i + 1] - 2);
        s->attr = (uint16_t)idx;
        s->value = d + i + 2;
    }
    return RAD_OK;
}

int rad_parse(const uint8_t *p, size_t n, struct rad_packet *out)
{
    if (out == NULL)
        return RAD_E_ARG;
    out->pkt = p;
    out->len = 0;
    out->code = out->id = 0;
    out->auth = NULL;
    out->msgauth = -1;
    out->nattr = out->nsub = out->nraw = 0;
    if (p == NULL)
        return RAD_E_ARG;
    if (n < RAD_HDR_LEN)
        return RAD_E_SHORT;
    out->code = p[0];
    out->id = p[1];
    out->auth = p + 4;
    size_t len = get16(p + 2);
    if (len < RAD_MIN_LEN || len > RAD_MAX_LEN)
        return RAD_E_LENGTH;
    if (len > n)
        return RAD_E_TRUNCATED;
    out->len = len; /* RFC 2865 section 3: octets beyond Length are padding */

    for (size_t off = RAD_HDR_LEN; off < len;) {
        if (len - off < 2)
            return RAD_E_ATTR_HEADER;
        uint8_t alen = p[off + 1];
        if (alen < 2)
            return RAD_E_ATTR_LEN;
        if (alen > len - off)
            return RAD_E_ATTR_OVERRUN;
        if (out->nattr == RAD_MAX_ATTRS)
            return RAD_E_TOO_MANY_ATTRS;
        unsigned idx = out->nattr;
        struct rad_attr *a = &out->attr[idx];
        memset(a, 0, sizeof(*a));
        a->type = p[off];
        a->len = (uint8_t)(alen - 2);
        a->off = (uint16_t)off;
        a->value = p + off + 2;
        if (a->type == RAD_ATTR_VENDOR_SPECIFIC) {
            if (a->len < 5)
                return RAD_E_VSA_SHORT;
            a->flags = RAD_A_VSA;
            a->vendor = get32(a->value);
            int rc = split_vsa(out, a, idx);
            if (rc != RAD_OK)
                return rc;
        } else if (a->type == RAD_ATTR_MESSAGE_AUTH) {
            if (a->len != RAD_AUTH_LEN)
                return RAD_E_MSGAUTH_LEN;
            if (out->msgauth >= 0)
                return RAD_E_MSGAUTH_DUP;
            out->msgauth = (int)idx;
        }
        out->nattr++;
        off += alen;
    }
    return RAD_OK;
}

const char *rad_malformed_name(int rc)
{
    static const char *const names[RAD_MALFORMED_COUNT] = {
        "ok",
        "bad-argument",
        "short",
        "length",
        "truncated",
        "attr-header",
        "attr-length",
        "attr-overrun",
        "too-many-attrs",
        "vsa-short",
        "too-many-subs",
        "msgauth-length",
        "msgauth-duplicate",
    };
    if (rc > 0 || rc <= -RAD_MALFORMED_COUNT)
        return "unknown";
    return names[-rc];
}

const char *rad_code_name(int code)
{
    switch (code) {
    case RAD_ACCESS_REQUEST:
        return "Access-Request";
    case RAD_ACCESS_ACCEPT:
        return "Access-Accept";
    case RAD_ACCESS_REJECT:
        return "Access-Reject";
    case RAD_ACCOUNTING_REQUEST:
        return "Accounting-Request";
    case RAD_ACCOUNTING_RESPONSE:
        return "Accounting-Response";
    case RAD_ACCESS_CHALLENGE:
        return "Access-Challenge";
    case RAD_STATUS_SERVER:
        return "Status-Server";
    case RAD_STATUS_CLIENT:
        return "Status-Client";
    case RAD_DISCONNECT_REQUEST:
        return "Disconnect-Request";
    case RAD_DISCONNECT_ACK:
        return "Disconnect-ACK";
    case RAD_DISCONNECT_NAK:
        return "Disconnect-NAK";
    case RAD_COA_REQUEST:
        return "CoA-Request";
    case RAD_COA_ACK:
        return "CoA-ACK";
    case RAD_COA_NAK:
        return "CoA-NAK";
    default:
        return "unknown";
    }
}

int rad_find(const struct rad_packet *p, uint8_t type, unsigned from)
{
    for (unsigned i = from; p != NULL && i < p->nattr; i++)
        if (p->attr[i].type == type)
            return (int)i;
    return -1;
}

int rad_find_sub(const struct rad_packet *p, uint32_t vendor, uint8_t type, unsigned from)
{
    for (unsigned i = from; p != NULL && i < p->nsub; i++)
        if (p->sub[i].vendor == vendor && p->sub[i].type == type)
            return (int)i;
    return -1;
}

int rad_value_u32(const uint8_t *v, size_t len, uint32_t *out)
{
    if (v == NULL || out == NULL || len != 4)
        return -1;
    *out = get32(v);
    return 0;
}

int rad_value_ipv4(const uint8_t *v, size_t len, uint8_t out[4])
{
    if (v == NULL || out == NULL || len != 4)
        return -1;
    memcpy(out, v, 4);
    return 0;
}

int rad_value_string(const uint8_t *v, size_t len, char *buf, size_t cap)
{
    if ((v == NULL && len > 0) || buf == NULL || cap == 0)
        return -1;
    buf[0] = '\0';
    if (len >= cap || (len > 0 && memchr(v, 0, len) != NULL))
        return -1;
    if (len > 0)
        memcpy(buf, v, len);
    buf[len] = '\0';
    return 0;
}
