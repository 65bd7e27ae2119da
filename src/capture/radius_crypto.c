/*
 * radius_crypto.c - RADIUS authenticators with OpenSSL 3: the MD5
 * Response Authenticator (RFC 2865 section 3), the Request Authenticator of
 * Accounting-, CoA- and Disconnect-Requests (RFC 2866 section 3, RFC 5176
 * section 2.3) and the HMAC-MD5 Message-Authenticator (RFC 3579 section
 * 3.2, RFC 2869 section 5.14, RFC 5176 section 3).  docs/radius.md.
 *
 * Comparisons are constant-time (CRYPTO_memcmp); computed values are wiped.
 */
#include "pmirrord/radius.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <string.h>

static const uint8_t zeros[RAD_AUTH_LEN];

static int is_response(uint8_t code)
{
    switch (code) {
    case RAD_ACCESS_ACCEPT:
    case RAD_ACCESS_REJECT:
    case RAD_ACCESS_CHALLENGE:
    case RAD_ACCOUNTING_RESPONSE:
    case RAD_DISCONNECT_ACK:
    case RAD_DISCONNECT_NAK:
    case RAD_COA_ACK:
    case RAD_COA_NAK:
        return 1;
    default:
        return 0;
    }
}

static int is_zero_vector_request(uint8_t code)
{
    return code == RAD_ACCOUNTING_REQUEST || code == RAD_COA_REQUEST ||
           code == RAD_DISCONNECT_REQUEST;
}

int rad_compute_md5_auth(const uint8_t *pkt, size_t len, const uint8_t vector[RAD_AUTH_LEN],
                         const uint8_t *secret, size_t secret_len, uint8_t out[RAD_AUTH_LEN])
{
    if (pkt == NULL || len < RAD_HDR_LEN || vector == NULL || secret == NULL || out == NULL)
        return -1;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned olen = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(c, pkt, 4) == 1 && EVP_DigestUpdate(c, vector, RAD_AUTH_LEN) == 1 &&
             EVP_DigestUpdate(c, pkt + RAD_HDR_LEN, len - RAD_HDR_LEN) == 1 &&
             EVP_DigestUpdate(c, secret, secret_len) == 1 &&
             EVP_DigestFinal_ex(c, out, &olen) == 1 && olen == RAD_AUTH_LEN;
    EVP_MD_CTX_free(c); /* cleanses the digest state */
    return ok ? 0 : -1;
}

int rad_compute_msgauth(const uint8_t *pkt, size_t len, size_t msgauth_off,
                        const uint8_t vector[RAD_AUTH_LEN], const uint8_t *secret,
                        size_t secret_len, uint8_t out[RAD_AUTH_LEN])
{
    if (pkt == NULL || len < RAD_HDR_LEN || vector == NULL || secret == NULL || out == NULL ||
        msgauth_off < RAD_HDR_LEN || msgauth_off + 2 + RAD_AUTH_LEN > len)
        return -1;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    char digest[] = "MD5";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t olen = 0;
    size_t val = msgauth_off + 2, rest = val + RAD_AUTH_LEN;
    int ok = c != NULL && EVP_MAC_init(c, secret, secret_len, params) == 1 &&
             EVP_MAC_update(c, pkt, 4) == 1 && EVP_MAC_update(c, vector, RAD_AUTH_LEN) == 1 &&
             EVP_MAC_update(c, pkt + RAD_HDR_LEN, val - RAD_HDR_LEN) == 1 &&
             EVP_MAC_update(c, zeros, RAD_AUTH_LEN) == 1 &&
             EVP_MAC_update(c, pkt + rest, len - rest) == 1 &&
             EVP_MAC_final(c, out, &olen, RAD_AUTH_LEN) == 1 && olen == RAD_AUTH_LEN;
    EVP_MAC_CTX_free(c); /* cleanses the keyed state */
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

static int compare(const uint8_t *wire, uint8_t calc[RAD_AUTH_LEN])
{
    int same = CRYPTO_memcmp(wire, calc, RAD_AUTH_LEN) == 0;
    OPENSSL_cleanse(calc, RAD_AUTH_LEN);
    return same ? RAD_V_OK : RAD_V_MISMATCH;
}

int rad_verify_response(const struct rad_packet *resp, const uint8_t req_auth[RAD_AUTH_LEN],
                        const uint8_t *secret, size_t secret_len)
{
    if (resp == NULL || resp->auth == NULL || req_auth == NULL || secret == NULL || secret_len == 0)
        return RAD_V_ARG;
    if (!is_response(resp->code))
        return RAD_V_CODE;
    uint8_t calc[RAD_AUTH_LEN];
    if (rad_compute_md5_auth(resp->pkt, resp->len, req_auth, secret, secret_len, calc) != 0)
        return RAD_V_CRYPTO;
    return compare(resp->auth, calc);
}

int rad_verify_request(const struct rad_packet *req, const uint8_t *secret, size_t secret_len)
{
    if (req == NULL || req->auth == NULL || secret == NULL || secret_len == 0)
        return RAD_V_ARG;
    if (!is_zero_vector_request(req->code))
        return RAD_V_CODE;
    uint8_t calc[RAD_AUTH_LEN];
    if (rad_compute_md5_auth(req->pkt, req->len, zeros, secret, secret_len, calc) != 0)
        return RAD_V_CRYPTO;
    return compare(req->auth, calc);
}

int rad_msgauth_vector(uint8_t code, const uint8_t *wire_auth, const uint8_t *req_auth,
                       uint8_t out[RAD_AUTH_LEN])
{
    const uint8_t *v = NULL;
    if (code == RAD_ACCESS_REQUEST || code == RAD_STATUS_SERVER)
        v = wire_auth;
    else if (is_zero_vector_request(code))
        v = zeros;
    else if (is_response(code))
        v = req_auth;
    if (v == NULL || out == NULL)
        return -1;
    memcpy(out, v, RAD_AUTH_LEN);
    return 0;
}

int rad_verify_msgauth(const struct rad_packet *p, const uint8_t req_auth[RAD_AUTH_LEN],
                       const uint8_t *secret, size_t secret_len)
{
    if (p == NULL || p->auth == NULL || secret == NULL || secret_len == 0)
        return RAD_V_ARG;
    if (p->msgauth < 0 || (unsigned)p->msgauth >= p->nattr)
        return RAD_V_NO_MSGAUTH;
    uint8_t vec[RAD_AUTH_LEN], calc[RAD_AUTH_LEN];
    if (rad_msgauth_vector(p->code, p->auth, req_auth, vec) != 0)
        return is_response(p->code) ? RAD_V_ARG : RAD_V_CODE;
    const struct rad_attr *a = &p->attr[p->msgauth];
    if (rad_compute_msgauth(p->pkt, p->len, a->off, vec, secret, secret_len, calc) != 0)
        return RAD_V_CRYPTO;
    return compare(a->value, calc);
}

int rad_crypto_init(void)
{
    static const uint8_t pkt[RAD_HDR_LEN + 2 + RAD_AUTH_LEN] = {1, 0, 0, 38, [20] = 80, 18};
    uint8_t out[RAD_AUTH_LEN];
    if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
        return -1;
    int rc = rad_compute_md5_auth(pkt, sizeof(pkt), zeros, pkt, 1, out) == 0 &&
                     rad_compute_msgauth(pkt, sizeof(pkt), RAD_HDR_LEN, zeros, pkt, 1, out) == 0
                 ? 0
                 : -1;
    OPENSSL_cleanse(out, sizeof(out));
    return rc;
}

const char *rad_verdict_name(int rc)
{
    static const char *const names[RAD_VERDICT_COUNT] = {
        "ok", "bad-argument", "wrong-code", "mismatch", "no-msgauth", "crypto-error",
    };
    if (rc > 0 || rc <= -RAD_VERDICT_COUNT)
        return "unknown";
    return names[-rc];
}
