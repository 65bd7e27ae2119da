/*
 * test_secret.c - exercises src/ctl/secret.c.
 *
 * The known-answer strings were computed independently with Python:
 *   hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, dklen) + base64.b64encode
 */
#include "pmirrord/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* secret "correct horse battery staple", salt "pmirrord-kat-salt", 1000 iterations, dklen 32 */
static const char kat1[] = "$pbkdf2-sha256$1000$cG1pcnJvcmQta2F0LXNhbHQ=$"
                           "bi1I2g9P9G4qMrcyvIsQqT6QKX+L/stm4cBuMJkYF8Y=";
/* secret "S3cret!", salt bytes 00..0f, 2000 iterations, dklen 20 */
static const char kat2[] =
    "$pbkdf2-sha256$2000$AAECAwQFBgcICQoLDA0ODw==$uXBpw97u8iPifEQrJZhKecuDMf4=";

static void test_known_answers(void)
{
    const char *s1 = "correct horse battery staple";
    CHECK(secret_verify(kat1, s1, strlen(s1)) == 1);
    CHECK(secret_verify(kat1, "correct horse battery stapl", strlen(s1) - 1) == 0);
    CHECK(secret_verify(kat2, "S3cret!", 7) == 1);
    CHECK(secret_verify(kat2, "S3cret?", 7) == 0);
    CHECK(secret_verify(kat2, "", 0) == 0);
    /* one flipped character in the stored key */
    char bad[sizeof kat1];
    memcpy(bad, kat1, sizeof kat1);
    bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
    CHECK(secret_verify(bad, s1, strlen(s1)) == 0);
}

static void test_roundtrip(void)
{
    char h1[SECRET_HASH_MAX], h2[SECRET_HASH_MAX], err[256] = "";
    const char *s = "mirror me";
    CHECK(secret_make(s, strlen(s), 1000, h1, sizeof h1, err, sizeof err) == 0);
    CHECK(strncmp(h1, "$pbkdf2-sha256$1000$", 20) == 0);
    CHECK(secret_check(h1, err, sizeof err) == 0);
    CHECK(secret_verify(h1, s, strlen(s)) == 1);
    CHECK(secret_verify(h1, "mirror mE", 9) == 0);
    CHECK(secret_verify(h1, s, strlen(s) - 1) == 0);
    /* fresh salt each time */
    CHECK(secret_make(s, strlen(s), 1000, h2, sizeof h2, err, sizeof err) == 0);
    CHECK(strcmp(h1, h2) != 0);
    CHECK(secret_verify(h2, s, strlen(s)) == 1);
    /* default iteration count */
    CHECK(secret_make(s, strlen(s), 0, h2, sizeof h2, err, sizeof err) == 0);
    CHECK(strncmp(h2, "$pbkdf2-sha256$600000$", 22) == 0);
    /* refusals */
    CHECK(secret_make("", 0, 1000, h2, sizeof h2, err, sizeof err) == -1);
    CHECK(strstr(err, "empty") != NULL);
    CHECK(secret_make(s, strlen(s), 10, h2, sizeof h2, err, sizeof err) == -1);
    CHECK(secret_make(s, strlen(s), 1000, h2, 20, err, sizeof err) == -1);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "",
        "secret",
        "$pbkdf2-sha1$1000$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/stm4cBuMJkYF8Y=",
        "$pbkdf2-sha256$$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/stm4cBuMJkYF8Y=",
        "$pbkdf2-sha256$999$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/stm4cBuMJkYF8Y=",
        "$pbkdf2-sha256$-1000$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/"
        "stm4cBuMJkYF8Y=",
        "$pbkdf2-sha256$1000x$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/"
        "stm4cBuMJkYF8Y=",
        "$pbkdf2-sha256$99999999999$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/"
        "stm4cBuMJk=",
        "$pbkdf2-sha256$1000$cG1pcnJvcmQta2F0LXNhbHQ=",
        "$pbkdf2-sha256$1000$cG1pcnJvcmQta2F0LXNhbHQ$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/stm4cBuMJkYF8Y=",
        "$pbkdf2-sha256$1000$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/stm4cBuMJkYF8Y",
        "$pbkdf2-sha256$1000$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/"
        "stm4cBuMJkYF8Y=$",
        "$pbkdf2-sha256$1000$cG1p*nJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/stm4cBuMJkYF8Y=",
        "$pbkdf2-sha256$1000$AAAA$bi1I2g9P9G4qMrcyvIsQqT6QKX+L/stm4cBuMJkYF8Y=", /* 3-byte salt */
        "$pbkdf2-sha256$1000$cG1pcnJvcmQta2F0LXNhbHQ=$AAAA",                     /* short dk */
        "$pbkdf2-sha256$1000$cG1pcnJvcmQta2F0LXNhbHQ=$bi1I2g9P9G4q=MrcyvIsQqT6QKX+L/"
        "stm4cBuMJkYF8Y=",
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = secret_check(bad[i], err, sizeof err);
        if (rc != -1 || strstr(err, "hash") == NULL) {
            fprintf(stderr, "malformed #%zu accepted or unclear error: rc=%d err=\"%s\"\n", i, rc,
                    err);
        }
        CHECK(rc == -1 && strstr(err, "hash") != NULL);
        CHECK(secret_verify(bad[i], "correct horse battery staple", 28) == -1);
    }
    CHECK(secret_check(NULL, err, sizeof err) == -1);
    CHECK(secret_verify(NULL, "x", 1) == -1);
    /* the error names what is wrong */
    CHECK(secret_check(bad[4], err, sizeof err) == -1 && strstr(err, "iteration") != NULL);
    CHECK(secret_check(bad[1], err, sizeof err) == -1 && strstr(err, "$pbkdf2-sha256$") != NULL);
}

int main(void)
{
    test_known_answers();
    test_roundtrip();
    test_malformed();
    printf("test_secret: ok\n");
    return 0;
}
