/*
 * th_discover.c - engineID discovery for inform hosts (see th_discover.h).
 *
 * Net-SNMP 5.9.3 notes (docs/ and snmp_api.c, snmpusm.c of that release):
 *  - The probe is ours and asynchronous: the library's own probe is
 *    synchronous (6 s per notification with the receiver down), so sessions
 *    are opened with SNMP_FLAGS_DONT_PROBE.  It is a noAuthNoPriv GET with an
 *    empty engineID and an empty user name (RFC 3414 §4), sent with the
 *    session's timeout and retries: that bounds it.
 *  - A PDU takes the session's engineID when it is built, so the session's
 *    engineID is cleared before a probe (informs already sent keep theirs).
 *  - The Report to the probe comes as OP_RECEIVED_MESSAGE, then OP_SEC_ERROR;
 *    the library copies its engineID into the session only after our
 *    callback has run (_sess_process_packet_handle_pdu), and only if the
 *    session has none: we take it from whichever callback comes first.
 *  - usm_create_user_from_session() does nothing once the session carries
 *    SNMP_FLAGS_USER_CREATED, and nothing if a user of that name exists for
 *    that engineID; it localises the session's Ku to the session's engineID.
 *    Ku is copied into the session only for that call and wiped right after.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pmirrord/log.h"
#include "pmirrord/securemem.h"
#include "th_discover.h"
#include "traphost.h"

/* Consecutive failed informs (timeouts, Reports) before discovering again. */
#define TH_DISC_FAILS_PROVISIONAL 1
#define TH_DISC_FAILS_CONFIRMED   3
/* Backoff after an unanswered probe: 1 s, doubled each time, at most this. */
#define TH_DISC_BACKOFF_MAX_S 60
/* SnmpEngineID is OCTET STRING (SIZE(5..32)) (RFC 3411 §5). */
#define TH_ENGINE_ID_MIN 5
#define TH_ENGINE_ID_MAX 32

enum disc_state {
    D_IDLE,    /* no engineID: probe when due (next_ns) */
    D_PROBING, /* probe outstanding */
    D_READY,   /* engineID and USM user in place */
    D_AGAIN,   /* informs failed: probe again now */
};

/* In locked, non-dumpable memory: it holds Ku. */
struct th_disc {
    size_t alloc_len;
    netsnmp_session *ss;
    char name[160];
    char user[64]; /* USM user name (the session is closed before th_disc_free()) */
    u_char auth_ku[USM_AUTH_KU_LEN];
    size_t auth_ku_len;
    u_char priv_ku[USM_PRIV_KU_LEN];
    size_t priv_ku_len;
    u_char eid[TH_ENGINE_ID_MAX]; /* engineID of the USM user in use; eid_len 0: none */
    size_t eid_len;
    int owns_user; /* that USM user was created by us */
    enum disc_state state;
    int confirmed;       /* an authenticated Response came with keys for eid */
    int gave_up;         /* a probe went unanswered; not yet reported by th_disc_poll() */
    int outage;          /* said so in the log; until an inform is acknowledged */
    unsigned fails;      /* informs failed in a row */
    unsigned unanswered; /* probes unanswered in a row (backoff exponent) */
    int reqid;           /* of the outstanding probe */
    int64_t next_ns;     /* D_IDLE: next probe */
};

static void hex(const u_char *b, size_t n, char *out, size_t outlen)
{
    size_t i;
    for (i = 0; i < n && 2 * i + 2 < outlen; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    out[2 * i] = '\0';
}

struct th_disc *th_disc_new(netsnmp_session *ss, const char *name, char *err, size_t errlen)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t len = sizeof(struct th_disc);
    if (page > 0)
        len = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
    struct th_disc *d = pm_secure_alloc(len, "inform engineID discovery", err, errlen);
    if (d == NULL)
        return NULL;
    d->alloc_len = len;
    d->ss = ss;
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(d->user, sizeof(d->user), "%s", ss->securityName != NULL ? ss->securityName : "");
    if (ss->securityAuthKeyLen > sizeof(d->auth_ku) ||
        ss->securityPrivKeyLen > sizeof(d->priv_ku)) {
        snprintf(err, errlen, "trap host %s: unexpected key length", name);
        pm_secure_free(d, len);
        return NULL;
    }
    memcpy(d->auth_ku, ss->securityAuthKey, ss->securityAuthKeyLen);
    d->auth_ku_len = ss->securityAuthKeyLen;
    memcpy(d->priv_ku, ss->securityPrivKey, ss->securityPrivKeyLen);
    d->priv_ku_len = ss->securityPrivKeyLen;
    d->state = D_IDLE;
    return d;
}

static void remove_owned_user(struct th_disc *d)
{
    if (!d->owns_user || d->eid_len == 0)
        return;
    struct usmUser *u = usm_get_user(d->eid, d->eid_len, d->user);
    if (u != NULL) {
        usm_remove_user(u);
        u->next = u->prev = NULL;
        usm_free_user(u); /* zeroises the localised keys */
    }
    d->owns_user = 0;
}

void th_disc_free(struct th_disc *d, int drop_user)
{
    if (d == NULL)
        return;
    if (drop_user)
        remove_owned_user(d);
    pm_secure_free(d, d->alloc_len);
}

static void set_session_engine(netsnmp_session *ss, const u_char *eid, size_t len)
{
    SNMP_FREE(ss->securityEngineID);
    ss->securityEngineIDLen = 0;
    SNMP_FREE(ss->contextEngineID);
    ss->contextEngineIDLen = 0;
    if (len > 0) {
        ss->securityEngineID = netsnmp_memdup(eid, len);
        if (ss->securityEngineID != NULL)
            ss->securityEngineIDLen = len;
    }
}

/* Localises Ku to the session's engineID (creates the USM user if none exists). */
static int create_user(struct th_disc *d)
{
    netsnmp_session *ss = d->ss;
    memcpy(ss->securityAuthKey, d->auth_ku, d->auth_ku_len);
    ss->securityAuthKeyLen = d->auth_ku_len;
    memcpy(ss->securityPrivKey, d->priv_ku, d->priv_ku_len);
    ss->securityPrivKeyLen = d->priv_ku_len;
    ss->flags &= ~SNMP_FLAGS_USER_CREATED;
    int rc = usm_create_user_from_session(ss);
    OPENSSL_cleanse(ss->securityAuthKey, sizeof(ss->securityAuthKey));
    ss->securityAuthKeyLen = 0;
    OPENSSL_cleanse(ss->securityPrivKey, sizeof(ss->securityPrivKey));
    ss->securityPrivKeyLen = 0;
    return rc == SNMPERR_SUCCESS ? 0 : -1;
}

static void probe_unanswered(struct th_disc *d)
{
    unsigned shift = d->unanswered < 6 ? d->unanswered : 6;
    int64_t backoff = (int64_t)1 << shift;
    if (backoff > TH_DISC_BACKOFF_MAX_S)
        backoff = TH_DISC_BACKOFF_MAX_S;
    d->unanswered++;
    d->state = D_IDLE;
    d->gave_up = 1;
    d->next_ns = th_now_ns() + backoff * 1000000000;
}

/* The probe drew an engineID (unauthenticated: provisional, th_discover.h). */
static void engine_found(struct th_disc *d, const u_char *eid, size_t len)
{
    char was[2 * TH_ENGINE_ID_MAX + 1], now[2 * TH_ENGINE_ID_MAX + 1];
    u_char own[TH_ENGINE_ID_MAX + 8];
    size_t ownlen = snmpv3_get_engineID(own, sizeof(own));

    if (len < TH_ENGINE_ID_MIN || len > TH_ENGINE_ID_MAX ||
        (len == ownlen && memcmp(eid, own, len) == 0)) {
        /* Not a receiver's engineID (ours would select the TRAP users). */
        log_debug("traphost", "trap host %s: discovery answered with an unusable engineID",
                  d->name);
        probe_unanswered(d);
        return;
    }
    int same = d->eid_len == len && memcmp(d->eid, eid, len) == 0;
    if (!same)
        remove_owned_user(d); /* its keys are localised to the old engineID */
    set_session_engine(d->ss, eid, len);
    if (d->ss->securityEngineIDLen == 0) {
        probe_unanswered(d);
        return;
    }
    if (usm_get_user(eid, len, d->user) == NULL) {
        if (create_user(d) < 0) {
            log_warnx("traphost", "trap host %s: cannot create the USM user", d->name);
            probe_unanswered(d);
            return;
        }
        d->owns_user = 1;
    } else if (!same) {
        d->owns_user = 0; /* another host's user for the same receiver */
    }
    hex(eid, len, now, sizeof(now));
    if (!same) {
        if (d->eid_len > 0) {
            hex(d->eid, d->eid_len, was, sizeof(was));
            log_info("traphost",
                     "trap host %s: engineID discovered: 0x%s (was 0x%s; provisional until an "
                     "inform is acknowledged)",
                     d->name, now, was);
        } else {
            log_info("traphost",
                     "trap host %s: engineID discovered: 0x%s (provisional until an inform is "
                     "acknowledged)",
                     d->name, now);
        }
        memcpy(d->eid, eid, len);
        d->eid_len = len;
        d->confirmed = 0;
    }
    d->state = D_READY;
    d->fails = 0;
    d->unanswered = 0;
}

static int probe_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu, void *magic)
{
    struct th_disc *d = magic;
    if (op == NETSNMP_CALLBACK_OP_RESEND)
        return 1;
    /* Late callbacks for a probe already judged (OP_SEC_ERROR after the
     * Report, OP_TIMED_OUT when the session closes) change nothing. */
    if (d->state != D_PROBING || reqid != d->reqid)
        return 1;
    if (pdu != NULL && pdu->securityEngineIDLen > 0 &&
        (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || op == NETSNMP_CALLBACK_OP_SEC_ERROR)) {
        engine_found(d, pdu->securityEngineID, pdu->securityEngineIDLen);
    } else if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != NULL &&
               pdu->command == SNMP_MSG_REPORT) {
        return 1; /* OP_SEC_ERROR follows */
    } else {
        probe_unanswered(d); /* timed out (after the retries), or could not be sent */
    }
    notify_kick();
    return 1;
}

static void start_probe(struct th_disc *d)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    if (pdu == NULL) {
        probe_unanswered(d);
        return;
    }
    pdu->version = SNMP_VERSION_3;
    pdu->securityModel = SNMP_SEC_MODEL_USM;
    pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
    /* With no securityName the library would copy the session's (the real
     * user name) into this unauthenticated probe. */
    pdu->securityName = strdup("");
    if (pdu->securityName == NULL) {
        snmp_free_pdu(pdu);
        probe_unanswered(d);
        return;
    }
    pdu->securityNameLen = 0;
    set_session_engine(d->ss, NULL, 0); /* else the PDU would carry it */
    d->state = D_PROBING;
    d->reqid = snmp_async_send(d->ss, pdu, probe_cb, d);
    if (d->reqid == 0) {
        snmp_free_pdu(pdu);
        probe_unanswered(d);
    }
}

enum th_disc_status th_disc_poll(struct th_disc *d, int64_t now_ns)
{
    switch (d->state) {
    case D_READY:
        return TH_DISC_READY;
    case D_PROBING:
        return TH_DISC_WAIT;
    case D_AGAIN:
        if (!d->outage) {
            log_warnx("traphost",
                      "trap host %s: %u inform%s in a row not acknowledged; discovering its "
                      "engineID again",
                      d->name, d->fails, d->fails == 1 ? "" : "s");
            d->outage = 1;
        }
        start_probe(d);
        return TH_DISC_WAIT;
    case D_IDLE:
        break;
    }
    if (d->gave_up) {
        d->gave_up = 0;
        if (!d->outage) {
            log_warnx("traphost",
                      "trap host %s: no answer to engineID discovery (timeout %ld s, %d "
                      "retries); informs waiting for it are discarded as no-response, and "
                      "discovery is tried again at most every %d s",
                      d->name, d->ss->timeout / 1000000, d->ss->retries, TH_DISC_BACKOFF_MAX_S);
            d->outage = 1;
        }
        return TH_DISC_GAVE_UP;
    }
    if (now_ns >= d->next_ns)
        start_probe(d);
    return d->state == D_READY ? TH_DISC_READY : TH_DISC_WAIT;
}

int th_disc_ready(const struct th_disc *d)
{
    return d->state == D_READY;
}

int64_t th_disc_next_due(const struct th_disc *d, int64_t now_ns)
{
    if (d->state == D_PROBING)
        return -1;
    if (d->state != D_IDLE || d->gave_up || d->next_ns <= now_ns)
        return now_ns;
    return d->next_ns;
}

void th_disc_inform_done(struct th_disc *d, int op, const netsnmp_pdu *pdu)
{
    char eid[2 * TH_ENGINE_ID_MAX + 1];
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != NULL &&
        pdu->command != SNMP_MSG_REPORT) {
        /* A Response to an authPriv inform passed USM's digest check with keys
         * localised to the engineID it carries (RFC 3414 §3.2 step 6). */
        if (d->state != D_READY || pdu->securityEngineIDLen != d->eid_len ||
            memcmp(pdu->securityEngineID, d->eid, d->eid_len) != 0)
            return; /* for an engineID no longer in use */
        d->fails = 0;
        if (!d->confirmed) {
            d->confirmed = 1;
            hex(d->eid, d->eid_len, eid, sizeof(eid));
            log_info("traphost", "trap host %s: engineID 0x%s confirmed by an acknowledged inform",
                     d->name, eid);
        }
        if (d->outage) {
            d->outage = 0;
            log_info("traphost", "trap host %s: informs are acknowledged again", d->name);
        }
        return;
    }
    if (op != NETSNMP_CALLBACK_OP_TIMED_OUT && op != NETSNMP_CALLBACK_OP_SEC_ERROR)
        return; /* a local failure says nothing about the receiver */
    if (d->state != D_READY || pdu == NULL)
        return; /* already discovering */
    /* A timeout, or a Report (usmStatsUnknownEngineIDs from a receiver that
     * restarted with another engineID, unknownUserNames, wrongDigests ...).
     * An inform sent to an engineID no longer in use tells nothing about the
     * current one: on a timeout the PDU is ours and carries the engineID it
     * was sent with; an unknownEngineID Report from the engine in use answers
     * such an older inform. */
    int same = pdu->securityEngineIDLen == d->eid_len &&
               memcmp(pdu->securityEngineID, d->eid, d->eid_len) == 0;
    if (op == NETSNMP_CALLBACK_OP_TIMED_OUT && !same)
        return;
    if (op == NETSNMP_CALLBACK_OP_SEC_ERROR && same &&
        snmpv3_get_report_type((netsnmp_pdu *)pdu) == SNMPERR_UNKNOWN_ENG_ID)
        return;
    d->fails++;
    if (d->fails >= (d->confirmed ? TH_DISC_FAILS_CONFIRMED : TH_DISC_FAILS_PROVISIONAL))
        d->state = D_AGAIN;
}
