/*
 * test_traphost.c - src/agent/traphost.c: a host's USM user goes with its
 * last host (so new passphrases for the same name take effect), how a send
 * that failed is counted, and events wiped before they are freed.
 *
 * Net-SNMP runs in this process with a private, empty configuration and
 * persistent directory; the sessions are opened but nothing is sent.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/traphost.h"
#include "check.h"
#include "free_watch.h"
#include "pmirrord/conf.h"

static struct th_host *host(const char *addr, const char *user, const char *auth, const char *priv)
{
    char line[512], err[400], *argv[16];
    int argc = 0;
    struct pm_traphost_conf hc;
    snprintf(line, sizeof(line), "trapHost %s user %s auth SHA-256 %s priv AES %s", addr, user,
             auth, priv);
    for (char *t = strtok(line, " "); t != NULL; t = strtok(NULL, " "))
        argv[argc++] = t;
    CHECK(conf_parse_traphost(&hc, argc, argv, "t.conf:1", err, sizeof(err)) == 0);
    struct th_host *h = th_host_new(&hc, err, sizeof(err));
    if (h == NULL)
        fprintf(stderr, "%s\n", err);
    CHECK(h != NULL);
    return h;
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
    th_host_free(a, 0);
    CHECK(user_key("rot", k, &l) == 0);
    CHECK(l == l_old && memcmp(k, k_old, l) == 0);

    /* the last host drops it, wiped */
    free_watch_bytes(k_old, l_old);
    th_host_free(b, 1);
    free_watch_stop();
    CHECK(!free_watch_seen());
    CHECK(user_key("rot", k, &l) < 0);
    CHECK(user_key("other", k, &l) == 0);

    /* defined again with new passphrases: the new keys are used */
    a = host("127.0.0.1:9", "rot", "new-auth-pass", "new-priv-pass");
    CHECK(user_key("rot", k_new, &l_new) == 0);
    CHECK(l_new == l_old && memcmp(k_new, k_old, l_old) != 0);
    th_host_free(a, 1);
    th_host_free(c, 1);
    CHECK(user_key("other", k, &l) < 0);
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

    snmp_shutdown("test_traphost");
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    printf("test_traphost: ok\n");
    return 0;
}
