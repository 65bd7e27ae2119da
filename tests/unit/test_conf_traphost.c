/*
 * test_conf_traphost.c - the trapHost grammar (src/config/conf_traphost.c):
 * errors that never echo a passphrase, the keyed credential digest, the
 * normalised transport that `trap-host remove` and the duplicate check
 * compare, options that apply only to inform hosts, and a configuration
 * whose host array grows without leaving passphrases in freed memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "free_watch.h"
#include "pmirrord/conf.h"

static int parse(struct pm_traphost_conf *h, const char *line, char *err, size_t errlen)
{
    char copy[1024], *argv[48];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *t = strtok(copy, " "); t != NULL && argc < 48; t = strtok(NULL, " "))
        argv[argc++] = t;
    err[0] = '\0';
    return conf_parse_traphost(h, argc, argv, "t.conf:3", err, errlen);
}

/* Config errors name the position, never a word that may be a passphrase. */
static void test_errors_do_not_echo_secrets(void)
{
    struct pm_traphost_conf h;
    char err[400];
    /* the protocol was left out: the passphrase sits where the protocol belongs */
    CHECK(parse(&h, "trapHost 198.18.0.1 user u auth Secr3tPass priv AES privpass1", err,
                sizeof(err)) < 0);
    CHECK(strstr(err, "t.conf:3: trapHost: ") == err);
    CHECK(strstr(err, "Secr3tPass") == NULL);
    CHECK(strstr(err, "auth") != NULL);
    CHECK(parse(&h, "trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv Pr1vSecret1", err,
                sizeof(err)) < 0);
    CHECK(strstr(err, "Pr1vSecret1") == NULL);
    CHECK(strstr(err, "priv") != NULL);
    /* an unquoted passphrase with a blank: its second word is no keyword */
    CHECK(parse(&h,
                "trapHost 198.18.0.1 user u auth SHA-256 half1secret Half2Secret priv AES "
                "privpass1",
                err, sizeof(err)) < 0);
    CHECK(strstr(err, "Half2Secret") == NULL);
    CHECK(strstr(err, "word 7") != NULL);
    CHECK(parse(&h,
                "trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES half1secret "
                "Half2Secret",
                err, sizeof(err)) < 0);
    CHECK(strstr(err, "Half2Secret") == NULL);
    CHECK(strstr(err, "word 10") != NULL);
    /* a keyword typo elsewhere is no secret: it is named */
    CHECK(parse(&h,
                "trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES privpass1 inform "
                "sevrity 3",
                err, sizeof(err)) < 0);
    CHECK(strstr(err, "unknown keyword \"sevrity\"") != NULL);
}

/* The digest is keyed: it is not the SHA-256 of what an attacker could guess. */
static void test_digest_is_keyed(void)
{
    struct pm_traphost_conf a, b, c;
    char err[400];
    CHECK(parse(&a, "trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES privpass1", err,
                sizeof(err)) == 0);
    CHECK(parse(&b, "trapHost 198.18.0.2 user u auth SHA-256 authpass1 priv AES privpass1", err,
                sizeof(err)) == 0);
    CHECK(parse(&c, "trapHost 198.18.0.3 user u auth SHA-256 authpass2 priv AES privpass1", err,
                sizeof(err)) == 0);
    CHECK(memcmp(a.cred_digest, b.cred_digest, sizeof(a.cred_digest)) == 0);
    CHECK(memcmp(a.cred_digest, c.cred_digest, sizeof(a.cred_digest)) != 0);

    /* the unkeyed digest of the same input */
    uint8_t proto[2] = {(uint8_t)TH_AUTH_SHA256, (uint8_t)TH_PRIV_AES128}, plain[32];
    unsigned n = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    CHECK(md != NULL);
    CHECK(EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1);
    CHECK(EVP_DigestUpdate(md, proto, 2) == 1);
    CHECK(EVP_DigestUpdate(md, "authpass1", 10) == 1);
    CHECK(EVP_DigestUpdate(md, "privpass1", 10) == 1);
    CHECK(EVP_DigestFinal_ex(md, plain, &n) == 1 && n == 32);
    EVP_MD_CTX_free(md);
    CHECK(memcmp(a.cred_digest, plain, sizeof(plain)) != 0);
    uint8_t zero[32] = {0};
    CHECK(memcmp(a.cred_digest, zero, sizeof(zero)) != 0);
}

static void same_transport(const char *x, const char *y, int want)
{
    char tx[160], ty[160], err[200];
    CHECK(conf_traphost_transport(x, tx, sizeof(tx), err, sizeof(err)) == 0);
    CHECK(conf_traphost_transport(y, ty, sizeof(ty), err, sizeof(err)) == 0);
    if ((strcmp(tx, ty) == 0) != want) {
        fprintf(stderr, "%s -> %s, %s -> %s\n", x, tx, y, ty);
        CHECK(!"transports compare as expected");
    }
}

/* `trap-host remove ADDRESS` and the duplicate check compare normalised transports. */
static void test_transport_normalised(void)
{
    char t[160], err[200];
    same_transport("127.0.0.1", "127.0.0.1:162", 1);
    same_transport("127.0.0.1:162", "127.0.0.1", 1);
    same_transport("127.0.0.1", "127.0.0.1:1162", 0);
    same_transport("127.0.0.1", "127.0.0.2", 0);
    same_transport("::1", "[::1]:162", 1);
    same_transport("[0:0:0:0:0:0:0:1]", "::1", 1);
    same_transport("[2001:DB8::1]:162", "2001:db8:0::1", 1);
    same_transport("[::1]:1162", "::1", 0);
    CHECK(conf_traphost_transport("127.0.0.1", t, sizeof(t), err, sizeof(err)) == 0);
    CHECK(strcmp(t, "udp:127.0.0.1:162") == 0);
    CHECK(conf_traphost_transport("[2001:DB8::1]", t, sizeof(t), err, sizeof(err)) == 0);
    CHECK(strcmp(t, "udp6:[2001:db8::1]:162") == 0);
    CHECK(conf_traphost_transport("host.example", t, sizeof(t), err, sizeof(err)) < 0);

    /* the duplicate check sees through the spelling */
    struct pm_traphost_conf a, b;
    char msg[400];
    CHECK(parse(&a, "trapHost 127.0.0.1 user u auth SHA-256 authpass1 priv AES privpass1", err,
                sizeof(err)) == 0);
    CHECK(parse(&b, "trapHost 127.0.0.1:162 user v auth SHA-256 authpass1 priv AES privpass1", err,
                sizeof(err)) == 0);
    CHECK(conf_traphost_conflict(&a, &b, msg, sizeof(msg)) == 1);
    CHECK(strstr(msg, "already defined at t.conf:3") != NULL);
}

/* engineId, timeout and retries mean something only for informs. */
static void test_inform_only_options(void)
{
    static const char *const opts[] = {"engineId 0x80001f8804706d2d7472617064", "timeout 3",
                                       "retries 2"};
    struct pm_traphost_conf h;
    char line[300], err[400];
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        snprintf(line, sizeof(line),
                 "trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES privpass1 %s",
                 opts[i]);
        CHECK(parse(&h, line, err, sizeof(err)) < 0);
        CHECK(strstr(err, "t.conf:3: trapHost: ") == err);
        CHECK(strstr(err, "applies only to inform hosts") != NULL);
        char kw[16];
        sscanf(opts[i], "%15s", kw);
        CHECK(strstr(err, kw) != NULL);
        /* with inform, before or after, it is fine */
        snprintf(line, sizeof(line),
                 "trapHost 198.18.0.1 user u auth SHA-256 authpass1 priv AES privpass1 %s inform",
                 opts[i]);
        CHECK(parse(&h, line, err, sizeof(err)) == 0);
    }
}

/* A configuration with many hosts: the array grows, and no freed copy of it
 * (realloc's old block, the final conf_free) still holds a passphrase. */
static void test_growing_host_array_is_wiped(void)
{
    char text[8192], err[400];
    size_t off = 0;
    for (int i = 1; i <= 20; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off,
                                "trapHost 198.18.0.%d user u auth SHA-256 Gr0wSecretAuth priv AES "
                                "Gr0wSecretPriv\n",
                                i);
    struct pm_conf c;
    free_watch_start("Gr0wSecret");
    CHECK(conf_load_buffer("grow.conf", text, off, &c, err, sizeof(err)) == 0);
    CHECK(c.nhosts == 20);
    conf_free(&c);
    free_watch_stop();
    CHECK(!free_watch_seen());
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"errors", test_errors_do_not_echo_secrets}, {"digest", test_digest_is_keyed},
        {"transport", test_transport_normalised},    {"inform", test_inform_only_options},
        {"grow", test_growing_host_array_is_wiped},
    };
    /* all, or only the one named (to watch it fail) */
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (argc < 2 || strcmp(argv[1], tests[i].name) == 0)
            tests[i].fn();
    printf("test_conf_traphost: ok\n");
    return 0;
}
