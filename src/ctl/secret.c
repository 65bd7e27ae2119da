/*
 * secret.c - PBKDF2-HMAC-SHA256 hash strings for the mirror secret (see secret.h).
 *
 * b64 = base64, RFC 4648 §4 alphabet, '=' padding required; dk = derived key.
 */
#include "pmirrord/secret.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define MIN_SALT 8u
#define MAX_SALT 64u
#define MIN_DK   16u
#define MAX_DK   64u

struct parsed {
    unsigned iter;
    unsigned char salt[MAX_SALT];
    size_t saltlen;
    unsigned char dk[MAX_DK];
    size_t dklen;
};

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int b64_val(char c)
{
    const char *p = c ? strchr(b64chars, c) : NULL;
    return p ? (int)(p - b64chars) : -1;
}

/* Decode exactly n chars of padded base64; returns bytes or -1. */
static long b64_decode(const char *in, size_t n, unsigned char *out, size_t outmax)
{
    if (n == 0 || n % 4 != 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64_val(in[i + k])) < 0) {
                return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
        size_t nb = 3 - (size_t)pad;
        if (o + nb > outmax)
            return -1;
        out[o++] = (unsigned char)(w >> 16);
        if (nb > 1)
            out[o++] = (unsigned char)(w >> 8);
        if (nb > 2)
            out[o++] = (unsigned char)w;
    }
    return (long)o;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -1;
}

static int parse(const char *hash, struct parsed *p, char *err, size_t errlen)
{
    if (hash == NULL)
        return fail(err, errlen, "no mirror secret hash");
    size_t slen = strlen(SECRET_SCHEME);
    if (strncmp(hash, SECRET_SCHEME, slen) != 0)
        return fail(err, errlen,
                    "mirror secret hash must start with \"" SECRET_SCHEME
                    "\" (make one with `pmirrorctl hash-secret`)");
    const char *s = hash + slen;
    if (*s < '1' || *s > '9')
        return fail(err, errlen, "mirror secret hash: iteration count is not a number");
    char *end;
    errno = 0;
    unsigned long it = strtoul(s, &end, 10);
    if (errno || *end != '$')
        return fail(err, errlen, "mirror secret hash: iteration count is not a number");
    if (it < SECRET_MIN_ITER || it > SECRET_MAX_ITER)
        return fail(err, errlen,
                    "mirror secret hash: iteration count out of range (1000..10000000)");
    p->iter = (unsigned)it;
    const char *salt = end + 1;
    const char *d = strchr(salt, '$');
    if (d == NULL)
        return fail(err, errlen, "mirror secret hash: missing derived key field");
    long n = b64_decode(salt, (size_t)(d - salt), p->salt, sizeof p->salt);
    if (n < (long)MIN_SALT)
        return fail(err, errlen, "mirror secret hash: salt is not 8..64 bytes of padded base64");
    p->saltlen = (size_t)n;
    const char *dk = d + 1;
    if (strchr(dk, '$') != NULL)
        return fail(err, errlen, "mirror secret hash: too many '$' fields");
    n = b64_decode(dk, strlen(dk), p->dk, sizeof p->dk);
    if (n < (long)MIN_DK)
        return fail(err, errlen,
                    "mirror secret hash: derived key is not 16..64 bytes of padded base64");
    p->dklen = (size_t)n;
    return 0;
}

int secret_check(const char *hash, char *err, size_t errlen)
{
    struct parsed p;
    int rc = parse(hash, &p, err, errlen);
    OPENSSL_cleanse(&p, sizeof p);
    return rc;
}

int secret_verify(const char *hash, const char *secret, size_t len)
{
    struct parsed p;
    unsigned char dk[MAX_DK];
    int rc = -1;

    if (parse(hash, &p, NULL, 0) < 0)
        goto out;
    rc = 0;
    if (secret == NULL || len > SECRET_MAX_LEN)
        goto out;
    if (PKCS5_PBKDF2_HMAC(secret, (int)len, p.salt, (int)p.saltlen, (int)p.iter, EVP_sha256(),
                          (int)p.dklen, dk) != 1)
        goto out;
    rc = CRYPTO_memcmp(dk, p.dk, p.dklen) == 0;
out:
    OPENSSL_cleanse(dk, sizeof dk);
    OPENSSL_cleanse(&p, sizeof p);
    return rc;
}

int secret_make(const char *secret, size_t len, unsigned iter, char *out, size_t outlen, char *err,
                size_t errlen)
{
    unsigned char salt[SECRET_SALT_LEN], dk[SECRET_DK_LEN];
    char salt64[4 * ((SECRET_SALT_LEN + 2) / 3) + 1], dk64[4 * ((SECRET_DK_LEN + 2) / 3) + 1];
    int rc = -1;

    if (iter == 0)
        iter = SECRET_DEFAULT_ITER;
    if (iter < SECRET_MIN_ITER || iter > SECRET_MAX_ITER)
        return fail(err, errlen, "iteration count out of range (1000..10000000)");
    if (secret == NULL || len == 0)
        return fail(err, errlen, "empty secret");
    if (len > SECRET_MAX_LEN)
        return fail(err, errlen, "secret longer than 1024 bytes");
    if (RAND_bytes(salt, sizeof salt) != 1) {
        fail(err, errlen, "RAND_bytes failed");
        goto out;
    }
    if (PKCS5_PBKDF2_HMAC(secret, (int)len, salt, sizeof salt, (int)iter, EVP_sha256(), sizeof dk,
                          dk) != 1) {
        fail(err, errlen, "PKCS5_PBKDF2_HMAC failed");
        goto out;
    }
    b64_encode(salt, sizeof salt, salt64);
    b64_encode(dk, sizeof dk, dk64);
    int n = snprintf(out, outlen, SECRET_SCHEME "%u$%s$%s", iter, salt64, dk64);
    if (n < 0 || (size_t)n >= outlen) {
        fail(err, errlen, "output buffer too small for the hash string");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(dk, sizeof dk);
    OPENSSL_cleanse(dk64, sizeof dk64);
    return rc;
}
