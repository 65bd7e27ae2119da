/*
 * conf_traphost.c - parse one secure trap host definition:
 *
 *   trapHost ADDRESS[:PORT] user NAME auth PROTO PASS priv PROTO PASS [inform]
 *            [engineId 0xHEX] [severity 0-7] [queueSize N] [drainRate N]
 *            [queueFull dropLastIn|dropFirstIn] [timeout S] [retries N]
 *
 * Instead of a passphrase, `authKey PROTO 0xKU` and `privKey PROTO 0xKU` give
 * the master key Ku derived from it (RFC 3414 §A.2; RFC 7860 §9.3 for SHA-2),
 * as long as the auth protocol's hash (the priv key too: it is derived with
 * the auth hash).  runtime.conf stores trap hosts so (rtconf.h): the
 * passphrase itself is never written.
 *
 * engineId, timeout and retries are refused without inform.  Error messages
 * never quote a word that may be a passphrase (a protocol left out, an
 * unquoted passphrase with a blank): they give its position instead.
 *
 * The security level is always authPriv (JUNOSe: secure traps only go to
 * SNMPv3 users authorised for packet mirroring).  USM passphrases must be at
 * least 8 characters (RFC 3414 §11.2).
 */
#include "conf_lex.h"
#include "pmirrord/conf.h"
#include "pmirrord/escape.h"
#include "pmirrord/log.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define TH_FAIL(...)                                                                               \
    do {                                                                                           \
        char msg_[400];                                                                            \
        snprintf(msg_, sizeof(msg_), __VA_ARGS__);                                                 \
        snprintf(err, errlen, "%s: trapHost: %s", where, msg_);                                    \
        OPENSSL_cleanse(h, sizeof(*h));                                                            \
        return -1;                                                                                 \
    } while (0)

/* ADDRESS[:PORT]: 198.18.0.1, 198.18.0.1:1162, [2001:db8::1]:162, 2001:db8::1;
 * the port defaults to 162 (RFC 3417 §3). */
static int parse_address(const char *s, char *transport, size_t tlen, char *msg, size_t mlen)
{
    char host[64];
    unsigned long port = 162;
    const char *pstr = NULL;
    struct in6_addr a6;
    struct in_addr a4;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || (size_t)(close - s - 1) >= sizeof(host)) {
            snprintf(msg, mlen, "bad address \"%s\"", s);
            return -1;
        }
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        if (close[1] == ':')
            pstr = close + 2;
        else if (close[1] != '\0') {
            snprintf(msg, mlen, "bad address \"%s\"", s);
            return -1;
        }
    } else if (strchr(s, ':') != NULL && strchr(s, ':') != strrchr(s, ':')) {
        snprintf(host, sizeof(host), "%s", s); /* bare IPv6, no port */
    } else {
        const char *colon = strchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);
        if (n >= sizeof(host)) {
            snprintf(msg, mlen, "bad address \"%s\"", s);
            return -1;
        }
        memcpy(host, s, n);
        host[n] = '\0';
        if (colon)
            pstr = colon + 1;
    }
    if (pstr != NULL && conf_uint(pstr, 1, 65535, &port) < 0) {
        snprintf(msg, mlen, "bad port in \"%s\"", s);
        return -1;
    }
    /* The transport is written from the parsed address (inet_ntop), so one
     * host has one spelling: 2001:DB8:0::1 and [2001:db8::1]:162 are the same. */
    char canon[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, host, &a4) == 1 && inet_ntop(AF_INET, &a4, canon, sizeof(canon)))
        snprintf(transport, tlen, "udp:%s:%lu", canon, port);
    else if (inet_pton(AF_INET6, host, &a6) == 1 && inet_ntop(AF_INET6, &a6, canon, sizeof(canon)))
        snprintf(transport, tlen, "udp6:[%s]:%lu", canon, port);
    else {
        snprintf(msg, mlen, "\"%s\" is not an IPv4 or IPv6 address", host);
        return -1;
    }
    return 0;
}

/*
 * The credential digest is an HMAC-SHA256 (RFC 2104) under a key drawn once
 * per process: two definitions made in this process compare equal when their
 * protocols and passphrases are equal, and the digest is worth nothing for
 * guessing passphrases anywhere else (a bare SHA-256 of a passphrase can be
 * attacked offline).  The key is ordinary memory, not pm_secure_alloc(): that
 * memory is zeroed in a forked child (MADV_WIPEONFORK), and a daemon that
 * parses its file before it forks must still compare digests after.
 */
static uint8_t digest_key[32];
static int digest_key_ok;
static pthread_once_t digest_once = PTHREAD_ONCE_INIT;

static void digest_key_init(void)
{
    digest_key_ok = RAND_bytes(digest_key, sizeof(digest_key)) == 1;
}

static int cred_digest(struct pm_traphost_conf *h)
{
    size_t la = h->auth_ku_len, lp = h->priv_ku_len, outlen = 0;
    uint8_t in[2 + sizeof(h->auth_ku) + sizeof(h->priv_ku)];
    int ok;

    if (pthread_once(&digest_once, digest_key_init) != 0 || !digest_key_ok)
        return -1;
    in[0] = (uint8_t)h->auth;
    in[1] = (uint8_t)h->priv;
    memcpy(in + 2, h->auth_ku, la);
    memcpy(in + 2 + la, h->priv_ku, lp);
    ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, digest_key, sizeof(digest_key), in,
                   2 + la + lp, h->cred_digest, sizeof(h->cred_digest), &outlen) != NULL &&
         outlen == sizeof(h->cred_digest);
    OPENSSL_cleanse(in, sizeof(in));
    return ok ? 0 : -1;
}

static const char *ku_hash(enum th_auth a)
{
    switch (a) {
    case TH_AUTH_SHA1:
        return "SHA1";
    case TH_AUTH_SHA224:
        return "SHA224";
    case TH_AUTH_SHA256:
        return "SHA256";
    case TH_AUTH_SHA384:
        return "SHA384";
    case TH_AUTH_SHA512:
        return "SHA512";
    }
    return NULL;
}

size_t conf_ku_len(enum th_auth a)
{
    static const size_t len[] = {0, 20, 28, 32, 48, 64};
    return a >= TH_AUTH_SHA1 && a <= TH_AUTH_SHA512 ? len[a] : 0;
}

/* RFC 3414 §A.2.1/§A.2.2 (RFC 7860 §9.3 with a SHA-2 hash): Ku is the hash of
 * 1 MiB made of the passphrase repeated.  ku holds conf_ku_len(a) octets. */
static int password_to_key(enum th_auth a, const char *pass, uint8_t *ku)
{
    size_t plen = strlen(pass), idx = 0;
    unsigned outlen = 0;
    uint8_t chunk[64];
    const char *name = ku_hash(a);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && name != NULL && plen > 0 &&
             EVP_DigestInit_ex(ctx, EVP_get_digestbyname(name), NULL) == 1;
    for (size_t done = 0; ok && done < 1048576; done += sizeof(chunk)) {
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (uint8_t)pass[idx++ % plen];
        ok = EVP_DigestUpdate(ctx, chunk, sizeof(chunk)) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, ku, &outlen) == 1 && outlen == conf_ku_len(a);
    OPENSSL_cleanse(chunk, sizeof(chunk));
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

int conf_traphost_transport(const char *address, char *transport, size_t tlen, char *err,
                            size_t errlen)
{
    return parse_address(address, transport, tlen, err, errlen);
}

int conf_parse_traphost(struct pm_traphost_conf *h, int argc, char **argv, const char *where,
                        char *err, size_t errlen)
{
    char msg[200];
    unsigned long v;
    int have_user = 0, have_auth = 0, have_priv = 0;
    int have_engine = 0, have_timeout = 0, have_retries = 0;
    int after_pass = 0; /* the previous word was a passphrase */

    memset(h, 0, sizeof(*h));
    h->severity = 7;
    h->queue_size = 32;
    h->drain_rate = 0;
    h->queue_full = TH_DROP_LAST_IN;
    h->timeout_s = 1;
    h->retries = 5;
    snprintf(h->where, sizeof(h->where), "%s", where);

    if (argc < 2)
        TH_FAIL("missing address");
    if (strlen(argv[1]) >= sizeof(h->address))
        TH_FAIL("address too long");
    snprintf(h->address, sizeof(h->address), "%s", argv[1]);
    if (parse_address(argv[1], h->transport, sizeof(h->transport), msg, sizeof(msg)) < 0)
        TH_FAIL("%s", msg);

    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        int left = argc - i - 1;
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if (left < (n))                                                                            \
            TH_FAIL("\"%s\" needs %d value%s", k, (n), (n) == 1 ? "" : "s");                       \
    } while (0)
        if (!strcasecmp(k, "user")) {
            NEED(1);
            if (strlen(argv[i + 1]) >= sizeof(h->user) || argv[i + 1][0] == '\0')
                TH_FAIL("bad user name");
            snprintf(h->user, sizeof(h->user), "%s", argv[++i]);
            have_user = 1;
        } else if (!strcasecmp(k, "auth") || !strcasecmp(k, "authKey")) {
            int auth_key = !strcasecmp(k, "authKey");
            NEED(2);
            if (have_auth)
                TH_FAIL("auth is given twice");
            const char *p = argv[i + 1];
            if (!strcasecmp(p, "MD5"))
                TH_FAIL("auth MD5 is refused; use SHA-256 (or SHA-224/384/512)");
            else if (!strcasecmp(p, "SHA") || !strcasecmp(p, "SHA-1") || !strcasecmp(p, "SHA1")) {
                h->auth = TH_AUTH_SHA1;
                if (!conf_quiet())
                    log_warnx("conf", "%s: trapHost uses SHA-1 authentication; prefer SHA-256",
                              where);
            } else if (!strcasecmp(p, "SHA-224"))
                h->auth = TH_AUTH_SHA224;
            else if (!strcasecmp(p, "SHA-256"))
                h->auth = TH_AUTH_SHA256;
            else if (!strcasecmp(p, "SHA-384"))
                h->auth = TH_AUTH_SHA384;
            else if (!strcasecmp(p, "SHA-512"))
                h->auth = TH_AUTH_SHA512;
            else /* perhaps the passphrase, with the protocol left out: not shown */
                TH_FAIL("auth: word %d (the address is word 1) is not an auth protocol (SHA-224, "
                        "SHA-256, SHA-384, SHA-512); not shown, as it may be a passphrase",
                        i + 1);
            if (!auth_key) {
                if (strlen(argv[i + 2]) < 8 || strlen(argv[i + 2]) >= sizeof(h->auth_pass))
                    TH_FAIL("auth passphrase must be 8 to %zu characters",
                            sizeof(h->auth_pass) - 1);
                snprintf(h->auth_pass, sizeof(h->auth_pass), "%s", argv[i + 2]);
            } else {
                int n = conf_parse_hex(argv[i + 2], h->auth_ku, sizeof(h->auth_ku));
                if (n <= 0)
                    TH_FAIL("authKey: word %d is not 0x followed by the key in hex", i + 3);
                h->auth_ku_len = (size_t)n;
            }
            i += 2;
            have_auth = 1;
            after_pass = 1;
            continue;
        } else if (!strcasecmp(k, "priv") || !strcasecmp(k, "privKey")) {
            int priv_key = !strcasecmp(k, "privKey");
            NEED(1);
            if (have_priv)
                TH_FAIL("priv is given twice");
            const char *p = argv[i + 1];
            if (!strcasecmp(p, "DES") || !strcasecmp(p, "3DES"))
                TH_FAIL("priv %s is refused; use AES-128, AES-192 or AES-256", p);
            else if (!strcasecmp(p, "AES") || !strcasecmp(p, "AES-128") || !strcasecmp(p, "AES128"))
                h->priv = TH_PRIV_AES128;
            else if (!strcasecmp(p, "AES-192") || !strcasecmp(p, "AES192"))
                h->priv = TH_PRIV_AES192;
            else if (!strcasecmp(p, "AES-256") || !strcasecmp(p, "AES256"))
                h->priv = TH_PRIV_AES256;
            else /* perhaps the passphrase, with the protocol left out: not shown */
                TH_FAIL("priv: word %d (the address is word 1) is not a priv protocol (AES-128, "
                        "AES-192, AES-256); not shown, as it may be a passphrase",
                        i + 1);
            if (left < 2)
                TH_FAIL("priv %s has no passphrase: the security level is always authPriv", p);
            if (!priv_key) {
                if (strlen(argv[i + 2]) < 8 || strlen(argv[i + 2]) >= sizeof(h->priv_pass))
                    TH_FAIL("priv passphrase must be 8 to %zu characters",
                            sizeof(h->priv_pass) - 1);
                snprintf(h->priv_pass, sizeof(h->priv_pass), "%s", argv[i + 2]);
            } else {
                int n = conf_parse_hex(argv[i + 2], h->priv_ku, sizeof(h->priv_ku));
                if (n <= 0)
                    TH_FAIL("privKey: word %d is not 0x followed by the key in hex", i + 3);
                h->priv_ku_len = (size_t)n;
            }
            i += 2;
            have_priv = 1;
            after_pass = 1;
            continue;
        } else if (!strcasecmp(k, "inform")) {
            h->inform = 1;
        } else if (!strcasecmp(k, "engineId")) {
            NEED(1);
            int n = conf_parse_hex(argv[++i], h->engine_id, sizeof(h->engine_id));
            if (n < 5)
                TH_FAIL("engineId \"%s\" is not 0x followed by 5 to 32 octets", argv[i]);
            h->engine_id_len = (size_t)n;
            have_engine = 1;
        } else if (!strcasecmp(k, "severity")) {
            NEED(1);
            if (conf_uint(argv[++i], 0, 7, &v) < 0)
                TH_FAIL("severity \"%s\" is not 0 to 7", argv[i]);
            h->severity = (int)v;
        } else if (!strcasecmp(k, "queueSize")) {
            NEED(1);
            if (conf_uint(argv[++i], 32, 1u << 20, &v) < 0)
                TH_FAIL("queueSize \"%s\" is not 32 to %u", argv[i], 1u << 20);
            h->queue_size = (unsigned)v;
        } else if (!strcasecmp(k, "drainRate")) {
            NEED(1);
            if (conf_uint(argv[++i], 0, 1000000, &v) < 0)
                TH_FAIL("drainRate \"%s\" is not 0 to 1000000 per second", argv[i]);
            h->drain_rate = (unsigned)v;
        } else if (!strcasecmp(k, "queueFull")) {
            NEED(1);
            i++;
            if (!strcasecmp(argv[i], "dropLastIn"))
                h->queue_full = TH_DROP_LAST_IN;
            else if (!strcasecmp(argv[i], "dropFirstIn"))
                h->queue_full = TH_DROP_FIRST_IN;
            else
                TH_FAIL("queueFull \"%s\" is not dropLastIn or dropFirstIn", argv[i]);
        } else if (!strcasecmp(k, "timeout")) {
            NEED(1);
            if (conf_uint(argv[++i], 1, 300, &v) < 0)
                TH_FAIL("timeout \"%s\" is not 1 to 300 seconds", argv[i]);
            h->timeout_s = (unsigned)v;
            have_timeout = 1;
        } else if (!strcasecmp(k, "retries")) {
            NEED(1);
            if (conf_uint(argv[++i], 0, 100, &v) < 0)
                TH_FAIL("retries \"%s\" is not 0 to 100", argv[i]);
            h->retries = (unsigned)v;
            have_retries = 1;
        } else if (!strcasecmp(k, "version") || !strcasecmp(k, "community") ||
                   !strcasecmp(k, "v1") || !strcasecmp(k, "v2c")) {
            TH_FAIL("secure trap hosts are SNMPv3 authPriv only (\"%s\" is not accepted)", k);
        } else if (after_pass) {
            /* An unquoted passphrase with a blank in it: this is its next part. */
            TH_FAIL("unknown keyword at word %d (the address is word 1), not shown as it may be "
                    "part of the passphrase before it: quote a passphrase that has blanks",
                    i);
        } else {
            TH_FAIL("unknown keyword \"%s\"", k);
        }
#undef NEED
        after_pass = 0;
    }
    if (!have_user)
        TH_FAIL("missing \"user NAME\"");
    if (!have_auth)
        TH_FAIL("missing \"auth PROTO PASSPHRASE\": the security level is always authPriv");
    if (!have_priv)
        TH_FAIL("missing \"priv PROTO PASSPHRASE\": the security level is always authPriv");
    /* engineId, timeout and retries describe an inform exchange: a TRAP is
     * sent with our own engineID and never answered (RFC 3416 §4.2.6). */
    if (!h->inform && have_engine)
        TH_FAIL("engineId applies only to inform hosts (add \"inform\" or remove it)");
    if (!h->inform && have_timeout)
        TH_FAIL("timeout applies only to inform hosts (add \"inform\" or remove it)");
    if (!h->inform && have_retries)
        TH_FAIL("retries applies only to inform hosts (add \"inform\" or remove it)");
    /* The master keys: derived from the passphrases, or checked as given. */
    size_t kl = conf_ku_len(h->auth);
    if (h->auth_ku_len == 0 && password_to_key(h->auth, h->auth_pass, h->auth_ku) < 0)
        TH_FAIL("cannot derive the auth key");
    if (h->priv_ku_len == 0 && password_to_key(h->auth, h->priv_pass, h->priv_ku) < 0)
        TH_FAIL("cannot derive the priv key");
    if (h->auth_ku_len != 0 && h->auth_ku_len != kl)
        TH_FAIL("authKey must be %zu octets for this auth protocol", kl);
    if (h->priv_ku_len != 0 && h->priv_ku_len != kl)
        TH_FAIL("privKey must be %zu octets (the auth protocol's hash)", kl);
    h->auth_ku_len = h->priv_ku_len = kl;
    /* A digest of what makes the USM user, so definitions stay comparable
     * once the passphrases are wiped (conf_traphost_conflict()): the keys,
     * so a host given by its keys equals one given by the same passphrases. */
    if (cred_digest(h) < 0)
        TH_FAIL("cannot compute a digest of the credentials");
    return 0;
}

static const char *const auth_names[] = {"?", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"};
static const char *const priv_names[] = {"?", "AES-128", "AES-192", "AES-256"};

const char *conf_traphost_auth_name(int auth)
{
    return auth_names[auth >= TH_AUTH_SHA1 && auth <= TH_AUTH_SHA512 ? auth : 0];
}

const char *conf_traphost_priv_name(int priv)
{
    return priv_names[priv >= TH_PRIV_AES128 && priv <= TH_PRIV_AES256 ? priv : 0];
}

void conf_traphost_describe(const struct pm_traphost_conf *hc, char *what, size_t len)
{
    char addr[4 * sizeof(hc->address)], user[4 * sizeof(hc->user)];
    pm_escape(addr, sizeof(addr), hc->address, strnlen(hc->address, sizeof(hc->address)));
    pm_escape(user, sizeof(user), hc->user, strnlen(hc->user, sizeof(hc->user)));
    int n = snprintf(what, len, "trap-host add %s user %s auth %s priv %s%s", addr, user,
                     conf_traphost_auth_name(hc->auth), conf_traphost_priv_name(hc->priv),
                     hc->inform ? " inform" : "");
    for (size_t i = 0; i < hc->engine_id_len && n > 0 && (size_t)n + 8 < len; i++)
        n += snprintf(what + n, len - (size_t)n, "%s%02x", i ? "" : " engineId 0x",
                      hc->engine_id[i]);
}
