/*
 * test_traphost.c - src/agent/traphost.c, th_discover.c and the table of USM
 * users in use (notify.c): a USM user goes with its last holder (so new
 * passphrases for the same name take effect), whatever the discovery state of
 * the hosts that share it; a user held with other credentials is never
 * adopted; a confirmed engineID is kept until another one is confirmed; how a
 * send that failed is counted, and events wiped before they are freed.
 *
 * Net-SNMP runs in this process with a private, empty configuration and
 * persistent directory; the sessions are opened, and only discovery probes
 * and informs to 127.0.0.x:9 (discard) are sent.  Discovery answers are
 * handed to th_disc_found() with made-up engineIDs.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/th_discover.h"
#include "agent/traphost.h"
#include "check.h"
#include "free_watch.h"
#include "pmirrord/conf.h"

static struct th_host *host_ex(const char *addr, const char *user, const char *auth,
                               const char *priv, const char *extra)
{
    char line[512], err[400], *argv[16];
    int argc = 0;
    struct pm_traphost_conf hc;
    snprintf(line, sizeof(line), "trapHost %s user %s auth SHA-256 %s priv AES %s %s", addr, user,
             auth, priv, extra);
    for (char *t = strtok(line, " "); t != NULL; t = strtok(NULL, " "))
        argv[argc++] = t;
    CHECK(conf_parse_traphost(&hc, argc, argv, "t.conf:1", err, sizeof(err)) == 0);
    struct th_host *h = th_host_new(&hc, err, sizeof(err));
    if (h == NULL)
        fprintf(stderr, "%s\n", err);
    CHECK(h != NULL);
    return h;
}

static struct th_host *host(const char *addr, const char *user, const char *auth, const char *priv)
{
    return host_ex(addr, user, auth, priv, "");
}

/* An inform host that discovers its receiver's engineID. */
static struct th_host *ihost(const char *addr, const char *user, const char *auth, const char *priv)
{
    struct th_host *h = host_ex(addr, user, auth, priv, "inform timeout 1 retries 0");
    CHECK(th_host_disc(h) != NULL);
    return h;
}

/* Made-up receiver engineIDs (RFC 3411 format 4: text). */
static const u_char E1[] = "\x80\x00\x1f\x88\x04rcv-one";
static const u_char E2[] = "\x80\x00\x1f\x88\x04rcv-two";
static const u_char E3[] = "\x80\x00\x1f\x88\x04rcv-forged";
#define EL(e) (sizeof(e) - 1)

/* The localised auth key USM holds for (eid, name); -1: no such user. */
static int eid_key(const u_char *eid, size_t n, const char *name, u_char *key, size_t *len)
{
    struct usmUser *u = usm_get_user((u_char *)eid, n, (char *)name);
    if (u == NULL)
        return -1;
    CHECK(u->authKeyLen <= *len);
    memcpy(key, u->authKey, u->authKeyLen);
    *len = u->authKeyLen;
    return 0;
}

static int has_user(const u_char *eid, size_t n, const char *name)
{
    return usm_get_user((u_char *)eid, n, (char *)name) != NULL;
}

/* The end of one inform, as the library reports it to the inform's callback. */
static void inform_end(struct th_host *h, int op, int command, const u_char *eid, size_t n)
{
    netsnmp_pdu *pdu = snmp_pdu_create(command);
    CHECK(pdu != NULL);
    pdu->securityEngineID = netsnmp_memdup(eid, n);
    pdu->securityEngineIDLen = n;
    th_disc_inform_done(th_host_disc(h), op, pdu);
    snmp_free_pdu(pdu);
}

static void timed_out(struct th_host *h, const u_char *eid, size_t n)
{
    inform_end(h, NETSNMP_CALLBACK_OP_TIMED_OUT, SNMP_MSG_INFORM, eid, n);
}

static void acknowledged(struct th_host *h, const u_char *eid, size_t n)
{
    inform_end(h, NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE, SNMP_MSG_RESPONSE, eid, n);
}

/* The session's engineID: where the next inform goes. */
static int sends_to(struct th_host *h, const u_char *eid, size_t n)
{
    const u_char *held;
    return th_disc_poll(th_host_disc(h), th_now_ns()) == TH_DISC_READY &&
           th_disc_engine(th_host_disc(h), &held) == n && memcmp(held, eid, n) == 0;
}

/* The localised auth key USM holds for name under our engineID (NULL: no user). */
static int user_key(const char *name, u_char *key, size_t *len)
{
    u_char eid[64];
    size_t n = snmpv3_get_engineID(eid, sizeof(eid));
    struct usmUser *u = usm_get_user(eid, n, name);
    if (u == NULL)
        return -1;
    CHECK(u->authKeyLen <= *len);
    memcpy(key, u->authKey, u->authKeyLen);
    *len = u->authKeyLen;
    return 0;
}

static void test_usm_user_goes_with_its_last_host(void)
{
    u_char k_old[64], k_new[64], k[64];
    size_t l_old = sizeof(k_old), l_new = sizeof(k_new), l = sizeof(k);

    struct th_host *a = host("127.0.0.1:9", "rot", "old-auth-pass", "old-priv-pass");
    struct th_host *b = host("127.0.0.2:9", "rot", "old-auth-pass", "old-priv-pass");
    struct th_host *c = host("127.0.0.3:9", "other", "old-auth-pass", "old-priv-pass");
    CHECK(th_host_same_user(a, b));
    CHECK(!th_host_same_user(a, c));
    CHECK(user_key("rot", k_old, &l_old) == 0);

    /* b still uses the user: freeing a without dropping it keeps the keys */
    th_host_free(a);
    CHECK(user_key("rot", k, &l) == 0);
    CHECK(l == l_old && memcmp(k, k_old, l) == 0);

    /* the last host drops it, wiped */
    free_watch_bytes(k_old, l_old);
    th_host_free(b);
    free_watch_stop();
    CHECK(!free_watch_seen());
    CHECK(user_key("rot", k, &l) < 0);
    CHECK(user_key("other", k, &l) == 0);

    /* defined again with new passphrases: the new keys are used */
    a = host("127.0.0.1:9", "rot", "new-auth-pass", "new-priv-pass");
    CHECK(user_key("rot", k_new, &l_new) == 0);
    CHECK(l_new == l_old && memcmp(k_new, k_old, l_old) != 0);
    th_host_free(a);
    th_host_free(c);
    CHECK(user_key("other", k, &l) < 0);
}

/* A host that probes again still holds the user of the engineID it used: the
 * user is shared, and goes (wiped) only with its last holder; a host defined
 * again under that name with new passphrases gets its own keys. */
static void test_user_held_while_probing(void)
{
    u_char k_old[64], k_new[64], k[64];
    size_t l_old = sizeof(k_old), l_new = sizeof(k_new), l = sizeof(k);
    struct th_host *a = ihost("127.0.0.1:9", "disc", "old-auth-pass", "old-priv-pass");
    struct th_host *b = ihost("127.0.0.2:9", "disc", "old-auth-pass", "old-priv-pass");

    CHECK(!has_user(E1, EL(E1), "disc"));
    th_disc_found(th_host_disc(a), E1, EL(E1));
    th_disc_found(th_host_disc(b), E1, EL(E1));
    CHECK(eid_key(E1, EL(E1), "disc", k_old, &l_old) == 0);
    CHECK(th_user_refs(E1, EL(E1), "disc") == 2);
    CHECK(th_host_same_user(a, b));

    /* a's inform times out: a probes again (the session's engineID is cleared) */
    timed_out(a, E1, EL(E1));
    CHECK(th_disc_poll(th_host_disc(a), th_now_ns()) == TH_DISC_WAIT);
    CHECK(!th_disc_ready(th_host_disc(a)));
    CHECK(th_host_same_user(a, b));

    /* b goes: a still holds the user */
    th_host_free(b);
    CHECK(eid_key(E1, EL(E1), "disc", k, &l) == 0);
    CHECK(l == l_old && memcmp(k, k_old, l) == 0);
    CHECK(th_user_refs(E1, EL(E1), "disc") == 1);

    /* a goes while probing: the user goes, wiped */
    free_watch_bytes(k_old, l_old);
    th_host_free(a);
    free_watch_stop();
    CHECK(!free_watch_seen());
    CHECK(!has_user(E1, EL(E1), "disc"));
    CHECK(th_user_refs(E1, EL(E1), "disc") == 0);

    /* defined again with new passphrases: new keys, not the old ones */
    struct th_host *c = ihost("127.0.0.3:9", "disc", "new-auth-pass", "new-priv-pass");
    th_disc_found(th_host_disc(c), E1, EL(E1));
    CHECK(eid_key(E1, EL(E1), "disc", k_new, &l_new) == 0);
    CHECK(memcmp(k_new, k_old, l_old) != 0);
    th_host_free(c);
    CHECK(!has_user(E1, EL(E1), "disc"));
}

/* A host that finds another engineID lets go of the old user only for
 * itself: another host still sending with it keeps it. */
static void test_rediscovery_keeps_a_shared_user(void)
{
    struct th_host *a = ihost("127.0.0.1:9", "moved", "old-auth-pass", "old-priv-pass");
    struct th_host *b = ihost("127.0.0.2:9", "moved", "old-auth-pass", "old-priv-pass");
    th_disc_found(th_host_disc(a), E1, EL(E1));
    th_disc_found(th_host_disc(b), E1, EL(E1));
    timed_out(a, E1, EL(E1));
    CHECK(th_disc_poll(th_host_disc(a), th_now_ns()) == TH_DISC_WAIT);
    th_disc_found(th_host_disc(a), E2, EL(E2));
    CHECK(has_user(E1, EL(E1), "moved")); /* b sends with it */
    CHECK(has_user(E2, EL(E2), "moved"));
    CHECK(!th_host_same_user(a, b));
    CHECK(sends_to(b, E1, EL(E1)));
    CHECK(sends_to(a, E2, EL(E2)));
    th_host_free(b);
    CHECK(!has_user(E1, EL(E1), "moved"));
    CHECK(has_user(E2, EL(E2), "moved"));
    th_host_free(a);
    CHECK(!has_user(E2, EL(E2), "moved"));
}

/* The same user name with other passphrases for an engineID whose user is
 * held (key rotation, cloned receivers, or a forged discovery answer): the
 * engineID is refused, the first host's keys are never used for the second. */
static void test_foreign_keys_refused(void)
{
    u_char k1[64], k[64];
    size_t l1 = sizeof(k1), l = sizeof(k);
    struct th_host *a = ihost("127.0.0.1:9", "rot2", "old-auth-pass", "old-priv-pass");
    struct th_host *b = ihost("127.0.0.2:9", "rot2", "new-auth-pass", "new-priv-pass");
    th_disc_found(th_host_disc(a), E1, EL(E1));
    CHECK(eid_key(E1, EL(E1), "rot2", k1, &l1) == 0);
    th_disc_found(th_host_disc(b), E1, EL(E1));
    CHECK(!th_disc_ready(th_host_disc(b)));
    CHECK(th_disc_refused(th_host_disc(b)) == 1);
    CHECK(!th_host_same_user(a, b));
    CHECK(th_user_refs(E1, EL(E1), "rot2") == 1);
    CHECK(eid_key(E1, EL(E1), "rot2", k, &l) == 0 && memcmp(k, k1, l1) == 0);
    /* waiting informs are discarded (no-response), discovery backs off */
    CHECK(th_disc_poll(th_host_disc(b), th_now_ns()) == TH_DISC_GAVE_UP);
    CHECK(th_disc_next_due(th_host_disc(b), th_now_ns()) > th_now_ns());
    /* a confirmed host whose rediscovery is answered with such an engineID keeps
     * its confirmed one */
    struct th_host *d = ihost("127.0.0.5:9", "rot2", "new-auth-pass", "new-priv-pass");
    th_disc_found(th_host_disc(d), E2, EL(E2));
    acknowledged(d, E2, EL(E2));
    for (int i = 0; i < 3; i++)
        timed_out(d, E2, EL(E2));
    CHECK(th_disc_poll(th_host_disc(d), th_now_ns()) == TH_DISC_WAIT);
    th_disc_found(th_host_disc(d), E1, EL(E1));
    CHECK(th_disc_refused(th_host_disc(d)) == 1);
    CHECK(sends_to(d, E2, EL(E2)));
    CHECK(th_user_refs(E1, EL(E1), "rot2") == 1);
    th_host_free(d);
    CHECK(!has_user(E2, EL(E2), "rot2"));

    /* once a is gone, b may use that engineID with its own keys */
    th_host_free(a);
    CHECK(!has_user(E1, EL(E1), "rot2"));
    th_disc_found(th_host_disc(b), E1, EL(E1));
    CHECK(sends_to(b, E1, EL(E1)));
    CHECK(eid_key(E1, EL(E1), "rot2", k, &l) == 0 && memcmp(k, k1, l1) != 0);
    /* and a TRAP or configured-engineId host can be refused the same way */
    char eid_hex[2 * sizeof(E1) + 8] = "0x";
    for (size_t i = 0; i < EL(E1); i++)
        snprintf(eid_hex + 2 + 2 * i, 3, "%02x", E1[i]);
    char extra[128], line[512], err[400], *argv[20];
    int argc = 0;
    struct pm_traphost_conf hc;
    snprintf(extra, sizeof(extra), "inform engineId %s", eid_hex);
    snprintf(line, sizeof(line),
             "trapHost 127.0.0.4:9 user rot2 auth SHA-256 old-auth-pass priv AES old-priv-pass %s",
             extra);
    for (char *t = strtok(line, " "); t != NULL; t = strtok(NULL, " "))
        argv[argc++] = t;
    CHECK(conf_parse_traphost(&hc, argc, argv, "t.conf:1", err, sizeof(err)) == 0);
    CHECK(th_host_new(&hc, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "other credentials") != NULL);
    th_host_free(b);
    CHECK(!has_user(E1, EL(E1), "rot2"));
}

/* A USM user removed under a READY host: the failed send discovers again. */
static void test_lost_user_rediscovers(void)
{
    struct pm_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_SESSION_START;
    struct th_host *a = ihost("127.0.0.1:9", "lost", "old-auth-pass", "old-priv-pass");
    th_disc_found(th_host_disc(a), E1, EL(E1));
    CHECK(sends_to(a, E1, EL(E1)));
    struct usmUser *u = usm_get_user((u_char *)E1, EL(E1), "lost");
    CHECK(u != NULL);
    usm_remove_user(u);
    u->next = u->prev = NULL;
    usm_free_user(u);
    struct th_ev *e = th_ev_new(&ev);
    th_host_enqueue(a, e);
    th_ev_unref(e);
    th_host_drain(a, th_now_ns());
    struct th_counters c;
    th_host_counters(a, &c);
    CHECK(c.bad_encoding_discards == 1);
    CHECK(th_disc_poll(th_host_disc(a), th_now_ns()) == TH_DISC_WAIT); /* probing */
    th_disc_found(th_host_disc(a), E1, EL(E1));
    CHECK(has_user(E1, EL(E1), "lost"));
    CHECK(sends_to(a, E1, EL(E1)));
    th_host_free(a);
    CHECK(!has_user(E1, EL(E1), "lost"));
}

/* Unauthenticated Reports can make a host probe again, and anyone can answer
 * the probe: a confirmed engineID stays (and its user) until another one is
 * confirmed; a rediscovery that finds the same engineID backs off. */
static void test_confirmed_engine_kept(void)
{
    struct th_host *a = ihost("127.0.0.1:9", "kept", "old-auth-pass", "old-priv-pass");
    th_disc_found(th_host_disc(a), E1, EL(E1));
    acknowledged(a, E1, EL(E1)); /* confirmed */
    for (int i = 0; i < 3; i++)
        timed_out(a, E1, EL(E1));
    CHECK(th_disc_poll(th_host_disc(a), th_now_ns()) == TH_DISC_WAIT);
    th_disc_found(th_host_disc(a), E3, EL(E3)); /* a forged answer */
    CHECK(has_user(E1, EL(E1), "kept"));
    CHECK(sends_to(a, E3, EL(E3))); /* provisional */
    timed_out(a, E3, EL(E3));
    CHECK(sends_to(a, E1, EL(E1))); /* back, without a probe */
    CHECK(!has_user(E3, EL(E3), "kept"));
    /* informs to it fail again at once: no probe until the backoff ends */
    for (int i = 0; i < 3; i++)
        timed_out(a, E1, EL(E1));
    CHECK(sends_to(a, E1, EL(E1)));

    /* a receiver that rejects every inform (wrongDigests): a rediscovery that
     * found the engineID in use is not repeated at the next failure */
    struct th_host *w = ihost("127.0.0.3:9", "again", "old-auth-pass", "old-priv-pass");
    th_disc_found(th_host_disc(w), E1, EL(E1));
    timed_out(w, E1, EL(E1));
    CHECK(th_disc_poll(th_host_disc(w), th_now_ns()) == TH_DISC_WAIT);
    th_disc_found(th_host_disc(w), E1, EL(E1));
    timed_out(w, E1, EL(E1));
    CHECK(sends_to(w, E1, EL(E1)));
    th_host_free(w);

    /* a real change: confirmed by an acknowledgement, the old user goes */
    struct th_host *b = ihost("127.0.0.2:9", "kept", "old-auth-pass", "old-priv-pass");
    th_disc_found(th_host_disc(b), E1, EL(E1));
    acknowledged(b, E1, EL(E1));
    th_disc_found(th_host_disc(b), E2, EL(E2));
    CHECK(th_user_refs(E1, EL(E1), "kept") == 2); /* a, and b's kept one */
    acknowledged(b, E2, EL(E2));
    CHECK(th_user_refs(E1, EL(E1), "kept") == 1);
    CHECK(sends_to(b, E2, EL(E2)));
    th_host_free(a);
    th_host_free(b);
    CHECK(!has_user(E1, EL(E1), "kept"));
    CHECK(!has_user(E2, EL(E2), "kept"));
}

/* A sendto() failure is a failed send, not a bad encoding. */
static void test_failure_classes(void)
{
    CHECK(th_send_failure(SNMPERR_BAD_SENDTO) == TH_FAIL_SEND);
    CHECK(th_send_failure(SNMPERR_MALLOC) == TH_FAIL_NO_MEMORY);
    CHECK(th_send_failure(SNMPERR_TOO_LONG) == TH_FAIL_ENCODING);
    CHECK(th_send_failure(SNMPERR_BAD_ASN1_BUILD) == TH_FAIL_ENCODING);
    CHECK(th_send_failure(SNMPERR_USM_ENCRYPTIONERROR) == TH_FAIL_ENCODING);
    CHECK(strcmp(th_failure_name(TH_FAIL_SEND), "send-failed") == 0);
    CHECK(strcmp(th_failure_name(TH_FAIL_NO_MEMORY), "no-memory") == 0);
    CHECK(strcmp(th_failure_name(TH_FAIL_ENCODING), "bad-encoding") == 0);
}

/* An event shared by several queues is wiped when its last reference goes. */
static void test_event_wiped_when_freed(void)
{
    struct pm_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_SESSION_START;
    snprintf(ev.trigger, sizeof(ev.trigger), "Subscr1berTrigger");
    struct th_ev *e = th_ev_new(&ev);
    CHECK(e != NULL);
    e->refs++; /* a second queue */
    free_watch_start("Subscr1berTrigger");
    th_ev_unref(e);
    th_ev_unref(e);
    free_watch_stop();
    CHECK(!free_watch_seen());
}

/* An acknowledgement overtakes a decision taken on an earlier failure (the
 * drain that would act on it found the queue empty): the engineID it confirms
 * stays, with its user, and no probe follows. */
static void test_stale_revert(void)
{
    struct th_host *a = ihost("127.0.0.5:9", "stale", "old-auth-pass", "old-priv-pass");
    th_disc_found(th_host_disc(a), E1, EL(E1));
    acknowledged(a, E1, EL(E1));
    for (int i = 0; i < 3; i++)
        timed_out(a, E1, EL(E1));
    CHECK(th_disc_poll(th_host_disc(a), th_now_ns()) == TH_DISC_WAIT); /* probing */
    th_disc_found(th_host_disc(a), E2, EL(E2)); /* a real new engineID, provisional */
    timed_out(a, E2, EL(E2));                   /* one inform lost: back to E1 decided */
    acknowledged(a, E2, EL(E2));                /* another one acknowledged: E2 confirmed */
    CHECK(th_user_refs(E1, EL(E1), "stale") == 0);
    CHECK(sends_to(a, E2, EL(E2)));
    CHECK(has_user(E2, EL(E2), "stale"));
    CHECK(th_user_refs(E2, EL(E2), "stale") == 1);
    th_host_free(a);
    CHECK(!has_user(E2, EL(E2), "stale"));

    /* a rediscovery decided (3 failures) and overtaken by an acknowledgement */
    struct th_host *g = ihost("127.0.0.6:9", "stale2", "old-auth-pass", "old-priv-pass");
    th_disc_found(th_host_disc(g), E1, EL(E1));
    acknowledged(g, E1, EL(E1));
    for (int i = 0; i < 3; i++)
        timed_out(g, E1, EL(E1));
    acknowledged(g, E1, EL(E1));
    CHECK(sends_to(g, E1, EL(E1))); /* no probe: the receiver just answered */
    th_host_free(g);
}

/* An inform in flight holds the USM user it was sent with: a retransmission
 * looks the user up again, so it must neither vanish nor be taken over by
 * another host with other passphrases until the inform ends. */
static void test_release_with_inform_in_flight(void)
{
    struct pm_event ev;
    struct th_counters c;
    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_SESSION_START;
    struct th_host *a = ihost("127.0.0.7:9", "shared", "old-auth-pass", "old-priv-pass");
    th_disc_found(th_host_disc(a), E1, EL(E1));
    acknowledged(a, E1, EL(E1));
    for (int i = 0; i < 3; i++)
        timed_out(a, E1, EL(E1));
    CHECK(th_disc_poll(th_host_disc(a), th_now_ns()) == TH_DISC_WAIT);
    th_disc_found(th_host_disc(a), E2, EL(E2));
    struct th_ev *e = th_ev_new(&ev);
    th_host_enqueue(a, e);
    th_ev_unref(e);
    th_host_drain(a, th_now_ns());
    th_host_counters(a, &c);
    CHECK(c.inflight == 1);   /* to E2 (discard port: never acknowledged) */
    timed_out(a, E2, EL(E2)); /* another inform's failure: back to E1 */
    CHECK(sends_to(a, E1, EL(E1)));
    CHECK(th_user_refs(E2, EL(E2), "shared") > 0);
    CHECK(has_user(E2, EL(E2), "shared"));
    struct th_host *b = ihost("127.0.0.8:9", "shared", "new-auth-pass", "new-priv-pass");
    th_disc_found(th_host_disc(b), E2, EL(E2));
    CHECK(th_disc_refused(th_host_disc(b)) == 1); /* foreign while a's inform is out */
    /* the inform times out (timeout 1 s, no retries) */
    int64_t until = th_now_ns() + 5000000000LL;
    do {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        snmp_timeout();
        th_host_counters(a, &c);
    } while (c.inflight > 0 && th_now_ns() < until);
    CHECK(c.inflight == 0);
    CHECK(th_user_refs(E2, EL(E2), "shared") == 0);
    CHECK(!has_user(E2, EL(E2), "shared"));
    CHECK(th_disc_poll(th_host_disc(b), th_now_ns()) == TH_DISC_GAVE_UP);
    th_disc_found(th_host_disc(b), E2, EL(E2));
    CHECK(sends_to(b, E2, EL(E2))); /* b's own keys now */
    th_host_free(b);
    /* an inform in flight when the host goes: closing the session ends it */
    e = th_ev_new(&ev);
    th_host_enqueue(a, e);
    th_ev_unref(e);
    th_host_drain(a, th_now_ns());
    th_host_counters(a, &c);
    CHECK(c.inflight == 1);
    CHECK(th_user_refs(E1, EL(E1), "shared") == 2);
    th_host_free(a);
    CHECK(!has_user(E1, EL(E1), "shared"));
    CHECK(!has_user(E2, EL(E2), "shared"));
}

/* Ku is password-equivalent: a host that fails after its session is open
 * (here: no locked memory for discovery) frees the session with Ku wiped. */
static void test_ku_wiped_on_failure(void)
{
    char line[512], err[400], *argv[16];
    int argc = 0;
    struct pm_traphost_conf hc;
    u_char ku[USM_AUTH_KU_LEN];
    size_t kul = sizeof(ku);
    const char *pass = "ku-auth-pass";
    CHECK(generate_Ku(usmHMAC192SHA256AuthProtocol, USM_AUTH_PROTO_SHA_LEN, (u_char *)pass,
                      strlen(pass), ku, &kul) == SNMPERR_SUCCESS);
    snprintf(line, sizeof(line),
             "trapHost 127.0.0.9:9 user ku auth SHA-256 %s priv AES ku-priv-pass inform", pass);
    for (char *t = strtok(line, " "); t != NULL; t = strtok(NULL, " "))
        argv[argc++] = t;
    CHECK(conf_parse_traphost(&hc, argc, argv, "t.conf:1", err, sizeof(err)) == 0);
    th_test_fail_disc_new = 1;
    free_watch_bytes(ku, kul);
    CHECK(th_host_new(&hc, err, sizeof(err)) == NULL);
    free_watch_stop();
    th_test_fail_disc_new = 0;
    CHECK(!free_watch_seen());
}

int main(void)
{
    char dir[] = "/tmp/test_traphost.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("SNMPCONFPATH", dir, 1);
    setenv("SNMP_PERSISTENT_DIR", dir, 1);
    setenv("MIBS", "", 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    snmp_disable_log(); /* "Created directory" notices */
    init_snmp("test_traphost");

    test_failure_classes();
    test_event_wiped_when_freed();
    test_usm_user_goes_with_its_last_host();
    test_user_held_while_probing();
    test_rediscovery_keeps_a_shared_user();
    test_foreign_keys_refused();
    test_lost_user_rediscovers();
    test_confirmed_engine_kept();
    test_stale_revert();
    test_release_with_inform_in_flight();
    test_ku_wiped_on_failure();

    snmp_shutdown("test_traphost");
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    printf("test_traphost: ok\n");
    return 0;
}
