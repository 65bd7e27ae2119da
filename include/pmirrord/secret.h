/*
 * secret.h - the mirror-enable secret: salted hash, verification.
 *
 * The configuration holds only a self-describing hash string
 *
 *     $pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64>
 *
 * PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) through OpenSSL PKCS5_PBKDF2_HMAC; salt
 * and derived key in standard base64 with padding (RFC 4648 §4).  The same
 * string can be produced independently with Python:
 *
 *     hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, dklen)
 *
 * `pmirrorctl hash-secret` prints one.  Verification compares in constant
 * time (CRYPTO_memcmp) and wipes every intermediate (OPENSSL_cleanse).
 */
#ifndef PMIRRORD_SECRET_H
#define PMIRRORD_SECRET_H

#include <stddef.h>

#define SECRET_SCHEME       "$pbkdf2-sha256$"
#define SECRET_DEFAULT_ITER 600000u /* OWASP 2023 figure for PBKDF2-HMAC-SHA256 */
#define SECRET_MIN_ITER     1000u
#define SECRET_MAX_ITER     10000000u /* bounds the CPU one mirror-enable can cost */
#define SECRET_SALT_LEN     16u       /* made by secret_make() */
#define SECRET_DK_LEN       32u       /* made by secret_make() */
#define SECRET_MAX_LEN      1024u     /* longest accepted secret */
#define SECRET_HASH_MAX     192u      /* room for any hash string we accept, with NUL */

/*
 * Hash `secret` (len bytes) with a fresh random salt into `out`.  iter 0 means
 * SECRET_DEFAULT_ITER.  Returns 0, or -1 with err filled.
 */
int secret_make(const char *secret, size_t len, unsigned iter, char *out, size_t outlen, char *err,
                size_t errlen) __attribute__((warn_unused_result));

/* 0 if `hash` is a well-formed hash string, else -1 with err filled. */
int secret_check(const char *hash, char *err, size_t errlen) __attribute__((warn_unused_result));

/* 1 if `secret` matches `hash`, 0 if not, -1 if `hash` is malformed. */
int secret_verify(const char *hash, const char *secret, size_t len)
    __attribute__((warn_unused_result));

#endif
