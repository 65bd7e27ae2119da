/*
 * radius_li.c - the ERX (vendor 4874) lawful-intercept VSAs: 26-58
 * LI-Action, 26-59 Med-Dev-Handle, 26-60 Med-Ip-Address, 26-61
 * Med-Port-Number, each salt-encrypted (RFC 2868 section 3.5, without a
 * tag octet).  Formats: docs/radius.md.
 */
#include "pmirrord/radius.h"

#include <openssl/crypto.h>

#include <string.h>

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks one decrypted VSA into out; 0 or an enum rad_li_reason. */
static int take(uint8_t type, const uint8_t *v, size_t n, struct rad_li *out)
{
    switch (type) {
    case RAD_ERX_LI_ACTION:
        if (n != 4)
            return RAD_LI_E_ACTION_LEN;
        out->action = get32(v);
        if (out->action > RAD_LI_NOOP)
            return RAD_LI_E_ACTION_VALUE;
        out->present |= RAD_LI_ACTION;
        return 0;
    case RAD_ERX_MED_DEV_HANDLE: {
        if (n != 4 && n != 8)
            return RAD_LI_E_HANDLE_LEN;
        uint32_t w = get32(v);
        /* Two top bits: 0 is the 8-byte form, 1 the 4-byte form. */
        if (w >> 30 != (n == 8 ? 0u : 1u))
            return RAD_LI_E_HANDLE_FORM;
        out->handle_len = (uint8_t)n;
        out->mirror_id = w & 0x3fffffffu;
        out->session_id = n == 8 ? get32(v + 4) : 0;
        out->present |= RAD_LI_HANDLE;
        return 0;
    }
    case RAD_ERX_MED_IP_ADDRESS:
        if (n != 4)
            return RAD_LI_E_IP_LEN;
        memcpy(out->med_ip, v, 4);
        out->present |= RAD_LI_MED_IP;
        return 0;
    default: {
        if (n != 4)
            return RAD_LI_E_PORT_LEN;
        uint32_t port = get32(v);
        if (port == 0 || port > 65535)
            return RAD_LI_E_PORT_VALUE;
        out->med_port = (uint16_t)port;
        out->present |= RAD_LI_PORT;
        return 0;
    }
    }
}

static unsigned bit(uint8_t type)
{
    return 1u << (type - RAD_ERX_LI_ACTION);
}

int rad_li_read(const struct rad_packet *p, const uint8_t *secret, size_t secret_len,
                const uint8_t vector[RAD_AUTH_LEN], struct rad_li *out)
{
    if (out == NULL)
        return RAD_LI_E_ARG;
    memset(out, 0, sizeof(*out));
    if (p == NULL || secret == NULL || vector == NULL)
        return RAD_LI_E_ARG;
    unsigned seen = 0;
    uint8_t plain[RAD_SALT_MAX_PLAIN];
    int rc = RAD_LI_OK;
    for (unsigned i = 0; rc == RAD_LI_OK && i < p->nsub; i++) {
        const struct rad_sub *s = &p->sub[i];
        if (s->vendor != RAD_VENDOR_ERX || s->type < RAD_ERX_LI_ACTION ||
            s->type > RAD_ERX_MED_PORT_NUMBER)
            continue;
        out->bad_type = s->type;
        if (seen & bit(s->type)) {
            rc = RAD_LI_E_DUP;
            break;
        }
        seen |= bit(s->type);
        size_t n = 0;
        int src = rad_salt_decrypt(s->value, s->len, secret, secret_len, vector, plain,
                                   sizeof(plain), &n);
        if (src != RAD_S_OK) {
            out->salt_rc = src;
            rc = RAD_LI_E_DECRYPT;
        } else {
            rc = take(s->type, plain, n, out);
        }
    }
    OPENSSL_cleanse(plain, sizeof(plain));
    if (rc != RAD_LI_OK)
        return rc;
    out->bad_type = 0;
    if (seen == 0)
        return RAD_LI_E_ABSENT;
    if (!(out->present & RAD_LI_ACTION))
        return RAD_LI_E_NO_ACTION;
    /* IP mirroring: the handle and the port come together or not at all. */
    if (!(out->present & RAD_LI_HANDLE) != !(out->present & RAD_LI_PORT))
        return RAD_LI_E_HANDLE_PORT;
    return RAD_LI_OK;
}

const char *rad_li_name(int rc)
{
    static const char *const names[RAD_LI_REASON_COUNT] = {
        "ok",
        "bad-argument",
        "absent",
        "duplicate",
        "decrypt",
        "action-length",
        "action-value",
        "no-action",
        "handle-length",
        "handle-form",
        "ip-length",
        "port-length",
        "port-value",
        "handle-without-port",
    };
    if (rc > 0 || rc <= -RAD_LI_REASON_COUNT)
        return "unknown";
    return names[-rc];
}
