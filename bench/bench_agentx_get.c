/*
 * bench_agentx_get.c - latency of SNMPv3 authPriv GETs through snmpd.
 *
 * One SNMPv3 authPriv session (SHA-256 / AES-128) is opened once, then N
 * synchronous GETs (snmp_synch_response) are sent, alternating between
 *   sysUpTime.0                    1.3.6.1.2.1.1.3.0            (snmpd itself)
 *   juniPacketMirrorTrapEnable.0   1.3.6.1.4.1.4874.2.2.77.2.1.0 (pmirrord, AgentX)
 * so machine noise hits both alike.  Each request is timed alone with
 * CLOCK_MONOTONIC.  A few warm-up GETs of each (engineID discovery, key
 * localisation, first AgentX round trip) are sent first and not counted.
 *
 * Output, one line per OID (microseconds):
 *   RESULT <name> n=<n> median=<us> p99=<us> mean=<us> min=<us> max=<us> errors=<e>
 * Exit status 0 if every GET got a value, 1 otherwise, 2 on usage/session error.
 *
 * Usage: bench_agentx_get <host:port> <user> <authpass> <privpass> [n_per_oid] [warmup] [which]
 * which: "both" (default, alternating), "sys" or "te" (one OID only, for
 * attributing daemon CPU time to one kind of request).
 * MIBs are never loaded (MIBS="" is set here); OIDs are numeric.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const oid sysuptime_oid[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
static const oid trapenable_oid[] = {1, 3, 6, 1, 4, 1, 4874, 2, 2, 77, 2, 1, 0};

struct target {
    const char *name;
    const oid *id;
    size_t len;
    double *us;
    size_t n;
    size_t errors;
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

/* One GET; returns 0 when the answer holds a real value for the OID. */
static int get_once(netsnmp_session *ss, const struct target *t)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET), *resp = NULL;
    if (pdu == NULL)
        return -1;
    snmp_add_null_var(pdu, t->id, t->len);
    int st = snmp_synch_response(ss, pdu, &resp);
    int ok = st == STAT_SUCCESS && resp != NULL && resp->errstat == SNMP_ERR_NOERROR &&
             resp->variables != NULL && resp->variables->type != SNMP_NOSUCHOBJECT &&
             resp->variables->type != SNMP_NOSUCHINSTANCE &&
             resp->variables->type != SNMP_ENDOFMIBVIEW;
    if (resp != NULL)
        snmp_free_pdu(resp);
    return ok ? 0 : -1;
}

static int set_key(const oid *proto, size_t protolen, const char *pass, u_char *key, size_t *keylen)
{
    *keylen = USM_AUTH_KU_LEN;
    return generate_Ku(proto, (u_int)protolen, (const u_char *)pass, strlen(pass), key, keylen);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s host:port user authpass privpass [n_per_oid] [warmup] [both|sys|te]\n",
                argv[0]);
        return 2;
    }
    const char *peer = argv[1], *user = argv[2], *apass = argv[3], *ppass = argv[4];
    size_t n = argc > 5 ? strtoul(argv[5], NULL, 10) : 1000;
    size_t warm = argc > 6 ? strtoul(argv[6], NULL, 10) : 20;
    const char *which = argc > 7 ? argv[7] : "both";
    int only = -1; /* -1 both, else index into t[] */
    if (strcmp(which, "sys") == 0)
        only = 0;
    else if (strcmp(which, "te") == 0)
        only = 1;
    else if (strcmp(which, "both") != 0)
        return 2;
    if (n == 0)
        return 2;

    setenv("MIBS", "", 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    init_snmp("bench_agentx_get");

    netsnmp_session sess;
    snmp_sess_init(&sess);
    sess.peername = (char *)peer;
    sess.version = SNMP_VERSION_3;
    sess.securityName = (char *)user;
    sess.securityNameLen = strlen(user);
    sess.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
    sess.securityAuthProto = snmp_duplicate_objid(usmHMAC192SHA256AuthProtocol,
                                                  OID_LENGTH(usmHMAC192SHA256AuthProtocol));
    sess.securityAuthProtoLen = OID_LENGTH(usmHMAC192SHA256AuthProtocol);
    sess.securityPrivProto =
        snmp_duplicate_objid(usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol));
    sess.securityPrivProtoLen = OID_LENGTH(usmAESPrivProtocol);
    if (set_key(sess.securityAuthProto, sess.securityAuthProtoLen, apass, sess.securityAuthKey,
                &sess.securityAuthKeyLen) != SNMPERR_SUCCESS ||
        set_key(sess.securityAuthProto, sess.securityAuthProtoLen, ppass, sess.securityPrivKey,
                &sess.securityPrivKeyLen) != SNMPERR_SUCCESS) {
        fprintf(stderr, "bench_agentx_get: generate_Ku failed\n");
        return 2;
    }
    sess.timeout = 2000000; /* 2 s: a timeout is an error, never a sample */
    sess.retries = 0;

    netsnmp_session *ss = snmp_open(&sess);
    if (ss == NULL) {
        snmp_sess_perror("bench_agentx_get: snmp_open", &sess);
        return 2;
    }

    struct target t[2] = {
        {"sysUpTime.0", sysuptime_oid, OID_LENGTH(sysuptime_oid), NULL, 0, 0},
        {"trapEnable", trapenable_oid, OID_LENGTH(trapenable_oid), NULL, 0, 0},
    };
    for (int k = 0; k < 2; k++) {
        t[k].us = calloc(n, sizeof(double));
        if (t[k].us == NULL)
            return 2;
    }

    for (size_t i = 0; i < warm; i++)
        for (int k = 0; k < 2; k++)
            if (get_once(ss, &t[k]) != 0 && i + 1 == warm) {
                fprintf(stderr, "bench_agentx_get: warm-up GET of %s failed\n", t[k].name);
                snmp_close(ss);
                return 2;
            }

    /* Alternate; swap which OID goes first every pair so neither always
     * follows the other. */
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < 2; j++) {
            struct target *tp = &t[(int)((i & 1) ^ (size_t)j)];
            if (only >= 0 && tp != &t[only])
                continue;
            double t0 = now_us();
            int rc = get_once(ss, tp);
            double dt = now_us() - t0;
            if (rc != 0)
                tp->errors++;
            else
                tp->us[tp->n++] = dt;
        }
    }
    snmp_close(ss);

    int bad = 0;
    for (int k = 0; k < 2; k++) {
        struct target *tp = &t[k];
        if (only >= 0 && k != only)
            continue;
        double sum = 0.0;
        for (size_t i = 0; i < tp->n; i++)
            sum += tp->us[i];
        qsort(tp->us, tp->n, sizeof(double), cmp_double);
        printf("RESULT %s n=%zu median=%.1f p99=%.1f mean=%.1f min=%.1f max=%.1f errors=%zu\n",
               tp->name, tp->n, pct(tp->us, tp->n, 50), pct(tp->us, tp->n, 99),
               tp->n ? sum / (double)tp->n : 0.0, tp->n ? tp->us[0] : 0.0,
               tp->n ? tp->us[tp->n - 1] : 0.0, tp->errors);
        bad |= tp->errors != 0;
        free(tp->us);
    }
    snmp_shutdown("bench_agentx_get");
    return bad ? 1 : 0;
}
