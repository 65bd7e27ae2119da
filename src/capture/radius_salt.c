/*
 * radius_salt.c - the salt encryption of RFC 2868 section 3.5 (the
 * Tunnel-Password scheme), used by the ERX lawful-intercept VSAs
 * (docs/radius.md).
 *
 * value = salt (2 octets, high bit set) + ciphertext; plaintext = one length
 * octet + data + zero padding to a multiple of 16 octets;
 * b(1) = MD5(secret + R + salt), c(i) = p(i) xor b(i), b(i) = MD5(secret + c(i-1)).
 * Every buffer holding a key stream or plaintext is wiped.
 */
#include "pmirrord/radius.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string.h>

#define BLK        16
#define MAX_CIPHER 240 /* 15 blocks: the most a 253-octet value can hold */

static const uint8_t zeros[RAD_AUTH_LEN];

/* b = MD5(secret + a + b_in), a_len octets of a, 2 or 16 of b_in. */
static int md5_3(EVP_MD_CTX *c, const uint8_t *secret, size_t secret_len, const uint8_t *a,
                 size_t a_len, const uint8_t *b_in, size_t b_len, uint8_t out[BLK])
{
    unsigned olen = 0;
    return EVP_DigestInit_ex(c, EVP_md5(), NULL) == 1 &&
                   EVP_DigestUpdate(c, secret, secret_len) == 1 &&
                   EVP_DigestUpdate(c, a, a_len) == 1 && EVP_DigestUpdate(c, b_in, b_len) == 1 &&
                   EVP_DigestFinal_ex(c, out, &olen) == 1 && olen == BLK
               ? 0
               : -1;
}

/*
 * The key stream applied to n octets: decrypt (cipher is the input) or
 * encrypt (cipher is the output); either way b(i+1) chains on c(i).
 */
static int xcrypt(const uint8_t *in, uint8_t *out, size_t n, int decrypt, const uint8_t *secret,
                  size_t secret_len, const uint8_t vector[RAD_AUTH_LEN], const uint8_t salt[2])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t b[BLK];
    int rc = c != NULL ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i += BLK) {
        if (i == 0)
            rc = md5_3(c, secret, secret_len, vector, RAD_AUTH_LEN, salt, 2, b);
        else
            rc = md5_3(c, secret, secret_len, decrypt ? in + i - BLK : out + i - BLK, BLK, NULL, 0,
                       b);
        for (size_t j = 0; rc == 0 && j < BLK; j++)
            out[i + j] = in[i + j] ^ b[j];
    }
    OPENSSL_cleanse(b, sizeof(b));
    EVP_MD_CTX_free(c);
    return rc;
}

int rad_salt_decrypt(const uint8_t *val, size_t len, const uint8_t *secret, size_t secret_len,
                     const uint8_t vector[RAD_AUTH_LEN], uint8_t *out, size_t cap, size_t *out_len)
{
    if (out_len != NULL)
        *out_len = 0;
    if (val == NULL || secret == NULL || secret_len == 0 || vector == NULL || out_len == NULL ||
        (out == NULL && cap > 0))
        return RAD_S_ARG;
    if (len < 2 + BLK || (len - 2) % BLK != 0 || len - 2 > MAX_CIPHER)
        return RAD_S_LEN;
    if (!(val[0] & 0x80))
        return RAD_S_SALT;
    size_t clen = len - 2;
    uint8_t plain[MAX_CIPHER];
    if (xcrypt(val + 2, plain, clen, 1, secret, secret_len, vector, val) != 0) {
        OPENSSL_cleanse(plain, sizeof(plain));
        return RAD_S_CRYPTO;
    }
    size_t dlen = plain[0];
    int rc = RAD_S_OK;
    if (dlen > clen - 1)
        rc = RAD_S_DATA_LEN;
    else if ((1 + dlen + BLK - 1) / BLK * BLK != clen)
        rc = RAD_S_PADDING;
    for (size_t i = 1 + dlen; rc == RAD_S_OK && i < clen; i++)
        if (plain[i] != 0)
            rc = RAD_S_PADDING;
    if (rc == RAD_S_OK && dlen > cap)
        rc = RAD_S_ARG;
    if (rc == RAD_S_OK) {
        if (dlen > 0)
            memcpy(out, plain + 1, dlen);
        *out_len = dlen;
    }
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

int rad_salt_encrypt(const uint8_t *plain, size_t plen, uint16_t salt, const uint8_t *secret,
                     size_t secret_len, const uint8_t vector[RAD_AUTH_LEN], uint8_t *out,
                     size_t cap, size_t *out_len)
{
    if (out_len != NULL)
        *out_len = 0;
    if ((plain == NULL && plen > 0) || plen > RAD_SALT_MAX_PLAIN || !(salt & 0x8000) ||
        secret == NULL || secret_len == 0 || vector == NULL || out == NULL || out_len == NULL)
        return RAD_S_ARG;
    size_t clen = (1 + plen + BLK - 1) / BLK * BLK;
    if (cap < 2 + clen)
        return RAD_S_ARG;
    uint8_t p[MAX_CIPHER] = {0};
    p[0] = (uint8_t)plen;
    if (plen > 0)
        memcpy(p + 1, plain, plen);
    out[0] = (uint8_t)(salt >> 8);
    out[1] = (uint8_t)salt;
    int rc = xcrypt(p, out + 2, clen, 0, secret, secret_len, vector, out);
    OPENSSL_cleanse(p, sizeof(p));
    if (rc != 0)
        return RAD_S_CRYPTO;
    *out_len = 2 + clen;
    return RAD_S_OK;
}

int rad_salt_vector(uint8_t code, const uint8_t *req_auth, uint8_t out[RAD_AUTH_LEN])
{
    if (out == NULL)
        return -1;
    switch (code) {
    case RAD_ACCESS_ACCEPT:
    case RAD_ACCESS_REJECT:
    case RAD_ACCESS_CHALLENGE:
        if (req_auth == NULL)
            return -1;
        memcpy(out, req_auth, RAD_AUTH_LEN);
        return 0;
    case RAD_ACCOUNTING_REQUEST:
    case RAD_COA_REQUEST:
    case RAD_DISCONNECT_REQUEST:
        memcpy(out, zeros, RAD_AUTH_LEN);
        return 0;
    default:
        return -1;
    }
}

const char *rad_salt_name(int rc)
{
    static const char *const names[RAD_SALT_COUNT] = {
        "ok", "bad-argument", "length", "salt", "data-length", "padding", "crypto-error",
    };
    if (rc > 0 || rc <= -RAD_SALT_COUNT)
        return "unknown";
    return names[-rc];
}
