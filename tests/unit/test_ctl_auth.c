/*
 * test_ctl_auth.c - exercises src/ctl/ctl_auth.c without sockets: the worker's
 * bounded queue, one attempt per uid at a time, the per-uid holds, and the
 * shared hold of the uids that find the tracked table full, root's own entry.
 */
#include "ctl/ctl_auth.h"

#include <poll.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "check.h"
#include "pmirrord/secret.h"

/* "open sesame", salt "ctl-test-salt-16", 1000 iterations (Python hashlib) */
static const char hash[] =
    "$pbkdf2-sha256$1000$Y3RsLXRlc3Qtc2FsdC0xNg==$qTU7ieWEaKVxuaRBoA08lnjommS3ZHIt0GbFcoS0j8g=";

static int nfailed, nrepeated, nok;

static void on_event(const struct ctl_event *ev, void *arg)
{
    nfailed += ev->kind == CTL_EV_ENABLE_FAILED;
    nrepeated += ev->kind == CTL_EV_ENABLE_REPEATED;
    nok += ev->kind == CTL_EV_ENABLE_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits (at most 5 s) for one finished attempt and collects it. */
static uint64_t collect(struct ctl_auth *a, int *ok, int64_t *hold)
{
    uint64_t ticket = 0;
    for (int i = 0; i < 50; i++) {
        if (ctl_auth_collect(a, now_ms(), &ticket, ok, hold) == 1)
            return ticket;
        struct pollfd p = {.fd = ctl_auth_fd(a), .events = POLLIN};
        poll(&p, 1, 100);
    }
    CHECK(!"no attempt finished");
    return 0;
}

/* CPU time of the other threads (the worker's) */
static double cpu_s(void)
{
    struct timespec p, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)(p.tv_sec - t.tv_sec) + (double)(p.tv_nsec - t.tv_nsec) / 1e9;
}

static void attempt(struct ctl_auth *a, uid_t uid, const char *secret, int want_ok)
{
    struct ctl_peer p = {uid, uid, 1000 + (pid_t)uid};
    int64_t until, hold;
    int ok;
    CHECK(ctl_auth_may_try(a, uid, now_ms(), &until) == 1);
    CHECK(ctl_auth_submit(a, uid, &p, secret, strlen(secret)) == 0);
    CHECK(collect(a, &ok, &hold) == uid);
    CHECK(ok == want_ok);
    CHECK(want_ok ? hold == 0 : hold > now_ms());
}

int main(void)
{
    char err[256];
    struct ctl_auth *a = ctl_auth_new(hash, err, sizeof err);
    CHECK(a != NULL);
    ctl_auth_set_backoff(a, 5000, 10000);
    ctl_auth_set_events(a, on_event, NULL);
    CHECK(ctl_auth_start(a, err, sizeof err) == 0);
    int64_t until;

    /* the queue holds CTL_AUTH_QUEUE attempts; one per uid at a time */
    struct ctl_peer p = {1, 1, 1};
    for (uid_t u = 1; u <= CTL_AUTH_QUEUE; u++) {
        p.uid = u;
        CHECK(ctl_auth_submit(a, u, &p, "open sesame", 11) == 0);
    }
    CHECK(ctl_auth_may_try(a, 1, now_ms(), &until) == 0 && until == 0);  /* its own under way */
    CHECK(ctl_auth_may_try(a, 99, now_ms(), &until) == 0 && until == 0); /* queue full */
    p.uid = 99;
    CHECK(ctl_auth_submit(a, 99, &p, "open sesame", 11) == -1);
    for (int i = 0; i < CTL_AUTH_QUEUE; i++) {
        int ok;
        int64_t hold;
        CHECK(collect(a, &ok, &hold) != 0 && ok == 1 && hold == 0);
    }
    CHECK(nok == CTL_AUTH_QUEUE && nfailed == 0);
    CHECK(ctl_auth_tick(a, now_ms()) == -1); /* successes leave nothing tracked */

    /* CTL_ENABLE_MAX_UIDS uids fail once each: each is held, alone */
    for (uid_t u = 1000; u < 1000 + CTL_ENABLE_MAX_UIDS; u++)
        attempt(a, u, "wrong", 0);
    CHECK(nfailed == (int)CTL_ENABLE_MAX_UIDS);
    CHECK(ctl_auth_may_try(a, 1000, now_ms(), &until) == 0 && until > now_ms());
    /* the table is full: the next uid fails into the shared entry... */
    attempt(a, 5000, "wrong", 0);
    CHECK(nfailed == (int)CTL_ENABLE_MAX_UIDS + 1);
    /* ...whose hold then covers every untracked uid: a global ceiling */
    CHECK(ctl_auth_may_try(a, 5001, now_ms(), &until) == 0 && until > now_ms());
    CHECK(ctl_auth_may_try(a, 5000, now_ms(), &until) == 0 && until > now_ms());
    /* root has an entry of its own: never held by the shared entry */
    CHECK(ctl_auth_may_try(a, 0, now_ms(), &until) == 1 && until == 0);
    attempt(a, 0, "wrong", 0);
    CHECK(ctl_auth_may_try(a, 0, now_ms(), &until) == 0 && until > now_ms()); /* its own hold */
    CHECK(nfailed == (int)CTL_ENABLE_MAX_UIDS + 2); /* reported as a first failure */

    /* forgotten after their hold (tick far in the future): no summary without repeats */
    CHECK(ctl_auth_tick(a, now_ms()) > now_ms());
    CHECK(ctl_auth_tick(a, now_ms() + 3600 * 1000) == -1);
    CHECK(nrepeated == 0);
    CHECK(ctl_auth_may_try(a, 5001, now_ms(), &until) == 1);

    /* a reload's new hash (ctl_auth_set_hash): the old secret fails, none refuses all */
    attempt(a, 6000, "open sesame", 1);
    CHECK(ctl_auth_set_hash(a, "$pbkdf2-sha256$1000$Y3RsLXRlc3Qtc2FsdC0xNg==$"
                               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") == 0);
    attempt(a, 6001, "open sesame", 0);
    CHECK(ctl_auth_set_hash(a, hash) == 0);
    attempt(a, 6002, "open sesame", 1);
    CHECK(ctl_auth_set_hash(a, NULL) == 0);
    attempt(a, 6003, "open sesame", 0);

    /* a new hash while an attempt with the old secret is being checked (a
     * reload during a slow PBKDF2): once ctl_auth_set_hash() has returned,
     * the old secret enables nothing */
    char slow[SECRET_HASH_MAX];
    CHECK(secret_make("open sesame", 11, 2000000, slow, sizeof slow, err, sizeof err) == 0);
    CHECK(ctl_auth_set_hash(a, slow) == 0);
    struct ctl_peer q = {6004, 6004, 7004};
    CHECK(ctl_auth_may_try(a, 6004, now_ms(), &until) == 1);
    CHECK(ctl_auth_submit(a, 6004, &q, "open sesame", 11) == 0);
    /* the worker is checking it once it has spent CPU time */
    double t0 = cpu_s();
    for (int i = 0; i < 3000 && cpu_s() - t0 < 0.03; i++)
        poll(NULL, 0, 2);
    CHECK(cpu_s() - t0 >= 0.03);
    CHECK(ctl_auth_set_hash(a, "$pbkdf2-sha256$1000$Y3RsLXRlc3Qtc2FsdC0xNg==$"
                               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") == 0);
    uint64_t ticket = 0;
    int ok = -1;
    int64_t hold;
    for (int i = 0; i < 600 && ctl_auth_collect(a, now_ms(), &ticket, &ok, &hold) != 1; i++) {
        struct pollfd pf = {.fd = ctl_auth_fd(a), .events = POLLIN};
        poll(&pf, 1, 100);
    }
    CHECK(ticket == 6004);
    CHECK(ok == 0);
    OPENSSL_cleanse(slow, sizeof slow);
    ctl_auth_free(a);
    printf("test_ctl_auth: ok\n");
    return 0;
}
