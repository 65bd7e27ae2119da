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
 *  - A Report draws two callbacks with the same magic: OP_RECEIVED_MESSAGE
 *    and OP_SEC_ERROR (in this order in _sess_process_packet_handle_pdu; the
 *    reverse order has been observed with informs, so neither is taken to be
 *    the last).  The library copies the Report's engineID into the session
 *    only after the callbacks, and only if the session has none: we take it
 *    from whichever callback comes first and ignore the later one.
 *  - usm_create_user_from_session() does nothing once the session carries
 *    SNMP_FLAGS_USER_CREATED, and nothing if a user of that name exists for
 *    that engineID; it localises the session's Ku to the session's engineID.
 *    Ku is copied into the session only for that call and wiped right after.
 *    An existing user may therefore hold another host's keys: every user is
 *    held through th_user_hold() with our credentials' digest, and an
 *    engineID whose user is held with other credentials is refused.
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
/* Backoff after an unanswered probe, and between rediscoveries that found the
 * engineID already in use: 1 s, doubled each time, at most this. */
#define TH_DISC_BACKOFF_MAX_S 60
/* SnmpEngineID is OCTET STRING (SIZE(5..32)) (RFC 3411 §5). */
#define TH_ENGINE_ID_MIN 5
#define TH_ENGINE_ID_MAX 32

enum disc_state {
    D_IDLE,    /* no usable engineID: probe when due (next_ns) */
    D_PROBING, /* probe outstanding */
    D_READY,   /* engineID and USM user in place */
    D_AGAIN,   /* informs failed: probe again now */
    D_REVERT,  /* the provisional engineID failed: back to the confirmed one (keep) */
};

/* In locked, non-dumpable memory: it holds Ku. */
struct th_disc {
    size_t alloc_len;
    netsnmp_session *ss;
    char name[160];
    char user[64];      /* USM user name (the session is closed before th_disc_free()) */
    uint8_t digest[32]; /* of our credentials (pm_traphost_conf.cred_digest) */
    u_char auth_ku[USM_AUTH_KU_LEN];
    size_t auth_ku_len;
    u_char priv_ku[USM_PRIV_KU_LEN];
    size_t priv_ku_len;
    /* engineID in use; its USM user is held (th_user_hold()) whatever the probe
     * state, until another engineID replaces it or d is freed; eid_len 0: none */
    u_char eid[TH_ENGINE_ID_MAX];
    size_t eid_len;
    /* a confirmed engineID kept (and its user held) while a rediscovered one is
     * still provisional: an unauthenticated answer cannot take it away */
    u_char keep[TH_ENGINE_ID_MAX];
    size_t keep_len;
    enum disc_state state;
    int confirmed;         /* an authenticated Response came with keys for eid */
    int gave_up;           /* a probe went unanswered; not yet reported by th_disc_poll() */
    int outage;            /* said so in the log; until an inform is acknowledged */
    int rediscovering;     /* the outstanding probe replaces an engineID in use */
    unsigned fails;        /* informs failed in a row */
    unsigned unanswered;   /* probes unanswered in a row (backoff exponent) */
    unsigned again;        /* rediscoveries in a row that changed nothing (backoff exponent) */
    unsigned long refused; /* engineIDs refused: user held with other credentials */
    int reqid;             /* of the outstanding probe */
    int64_t next_ns;       /* D_IDLE: next probe */
    int64_t again_ns;      /* no rediscovery before this */
};

static void hex(const u_char *b, size_t n, char *out, size_t outlen)
{
    size_t i;
    for (i = 0; i < n && 2 * i + 2 < outlen; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    out[2 * i] = '\0';
}

static int64_t backoff_ns(unsigned n)
{
    unsigned shift = n < 6 ? n : 6;
    int64_t s = (int64_t)1 << shift;
    return (s > TH_DISC_BACKOFF_MAX_S ? TH_DISC_BACKOFF_MAX_S : s) * 1000000000;
}

struct th_disc *th_disc_new(netsnmp_session *ss, const char *name, const uint8_t digest[32],
                            char *err, size_t errlen)
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
    memcpy(d->digest, digest, sizeof(d->digest));
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

void th_disc_free(struct th_disc *d)
{
    if (d == NULL)
        return;
    if (d->eid_len > 0)
        th_user_release(d->eid, d->eid_len, d->user);
    if (d->keep_len > 0)
        th_user_release(d->keep, d->keep_len, d->user);
    pm_secure_free(d, d->alloc_len);
}

size_t th_disc_engine(const struct th_disc *d, const u_char **eid)
{
    *eid = d->eid;
    return d->eid_len;
}

unsigned long th_disc_refused(const struct th_disc *d)
{
    return d->refused;
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
    d->state = D_IDLE;
    d->gave_up = 1;
    d->next_ns = th_now_ns() + backoff_ns(d->unanswered);
    d->unanswered++;
}

/* The engineID in use is usable (again): send to it. */
static int use_engine(struct th_disc *d)
{
    set_session_engine(d->ss, d->eid, d->eid_len);
    if (d->ss->securityEngineIDLen == 0)
        return -1;
    if (usm_get_user(d->eid, d->eid_len, d->user) == NULL && create_user(d) < 0) {
        log_warnx("traphost", "trap host %s: cannot create the USM user", d->name);
        return -1;
    }
    d->state = D_READY;
    d->fails = 0;
    d->unanswered = 0;
    return 0;
}

/* A rediscovery changed nothing: the next one waits, longer each time. */
static void rediscovery_backoff(struct th_disc *d)
{
    d->again_ns = th_now_ns() + backoff_ns(d->again);
    d->again++;
}

/* Logged at the 1st, 10th, 100th ... time. */
static int decade(unsigned long n)
{
    while (n % 10 == 0)
        n /= 10;
    return n == 1;
}

void th_disc_found(struct th_disc *d, const u_char *eid, size_t len)
{
    char was[2 * TH_ENGINE_ID_MAX + 1], now[2 * TH_ENGINE_ID_MAX + 1];
    u_char own[TH_ENGINE_ID_MAX + 8];
    size_t ownlen = snmpv3_get_engineID(own, sizeof(own));
    int rediscovering = d->rediscovering;

    d->rediscovering = 0;
    if (len < TH_ENGINE_ID_MIN || len > TH_ENGINE_ID_MAX ||
        (len == ownlen && memcmp(eid, own, len) == 0)) {
        /* Not a receiver's engineID (ours would select the TRAP users). */
        log_debug("traphost", "trap host %s: discovery answered with an unusable engineID",
                  d->name);
        probe_unanswered(d);
        return;
    }
    if (d->eid_len == len && memcmp(d->eid, eid, len) == 0) {
        if (use_engine(d) < 0) {
            probe_unanswered(d);
            return;
        }
        if (rediscovering)
            rediscovery_backoff(d);
        return;
    }
    if (d->keep_len == len && memcmp(d->keep, eid, len) == 0) {
        d->state = D_REVERT; /* the confirmed engineID answered again */
        return;
    }
    hex(eid, len, now, sizeof(now));
    switch (th_user_hold(eid, len, d->user, d->digest)) {
    case TH_USER_HELD:
        break;
    case TH_USER_FOREIGN:
        /* Its keys were localised from other passphrases: sending with them
         * would hand this receiver another host's credentials. */
        if (decade(++d->refused))
            log_warnx("traphost",
                      "trap host %s: engineID 0x%s refused (%lu so far): its USM user is in use "
                      "by another trap host with other credentials; give one of them another "
                      "user name",
                      d->name, now, d->refused);
        d->outage = 1; /* said: not also "no answer to engineID discovery" */
        if (d->keep_len > 0) {
            d->state = D_REVERT; /* back to the confirmed engineID */
        } else if (d->eid_len > 0 && d->confirmed && use_engine(d) == 0) {
            rediscovery_backoff(d); /* keep the confirmed one a while */
        } else {
            probe_unanswered(d);
        }
        return;
    default:
        log_warnx("traphost", "trap host %s: out of memory", d->name);
        probe_unanswered(d);
        return;
    }
    set_session_engine(d->ss, eid, len);
    if (d->ss->securityEngineIDLen == 0 ||
        (usm_get_user((u_char *)eid, len, d->user) == NULL && create_user(d) < 0)) {
        log_warnx("traphost", "trap host %s: cannot create the USM user", d->name);
        th_user_release(eid, len, d->user);
        set_session_engine(d->ss, NULL, 0);
        probe_unanswered(d);
        return;
    }
    if (d->eid_len > 0) {
        hex(d->eid, d->eid_len, was, sizeof(was));
        log_info("traphost",
                 "trap host %s: engineID discovered: 0x%s (was 0x%s; provisional until an "
                 "inform is acknowledged)",
                 d->name, now, was);
        if (d->confirmed && d->keep_len == 0) {
            memcpy(d->keep, d->eid, d->eid_len); /* its reference moves with it */
            d->keep_len = d->eid_len;
        } else {
            th_user_release(d->eid, d->eid_len, d->user);
        }
    } else {
        log_info("traphost",
                 "trap host %s: engineID discovered: 0x%s (provisional until an inform is "
                 "acknowledged)",
                 d->name, now);
    }
    memcpy(d->eid, eid, len);
    d->eid_len = len;
    d->confirmed = 0;
    d->state = D_READY;
    d->fails = 0;
    d->unanswered = 0;
}

static int probe_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu, void *magic)
{
    struct th_disc *d = magic;
    if (op == NETSNMP_CALLBACK_OP_RESEND)
        return 1;
    /* Late callbacks for a probe already judged (the second callback of a
     * Report, OP_TIMED_OUT when the session closes) change nothing. */
    if (d->state != D_PROBING || reqid != d->reqid)
        return 1;
    if (pdu != NULL && pdu->securityEngineIDLen > 0 &&
        (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || op == NETSNMP_CALLBACK_OP_SEC_ERROR)) {
        th_disc_found(d, pdu->securityEngineID, pdu->securityEngineIDLen);
    } else if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != NULL &&
               pdu->command == SNMP_MSG_REPORT) {
        return 1; /* OP_SEC_ERROR follows */
    } else {
        d->rediscovering = 0;
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
    /* Else the PDU would carry it.  The user of d->eid stays held. */
    set_session_engine(d->ss, NULL, 0);
    d->state = D_PROBING;
    d->rediscovering = d->eid_len > 0;
    d->reqid = snmp_async_send(d->ss, pdu, probe_cb, d);
    if (d->reqid == 0) {
        snmp_free_pdu(pdu);
        d->rediscovering = 0;
        probe_unanswered(d);
    }
}

/* Back to the confirmed engineID kept while a rediscovered one was provisional. */
static void revert(struct th_disc *d)
{
    char was[2 * TH_ENGINE_ID_MAX + 1], now[2 * TH_ENGINE_ID_MAX + 1];
    if (d->keep_len == 0) {
        /* An acknowledgement confirmed the provisional engineID after the
         * failure that decided this: it stays (the session's engineID may
         * have been cleared by a probe since; use_engine() sets it again). */
        if (use_engine(d) < 0)
            probe_unanswered(d);
        return;
    }
    hex(d->eid, d->eid_len, was, sizeof(was));
    hex(d->keep, d->keep_len, now, sizeof(now));
    log_info("traphost",
             "trap host %s: informs to the provisional engineID 0x%s failed; back to the "
             "confirmed engineID 0x%s",
             d->name, was, now);
    th_user_release(d->eid, d->eid_len, d->user);
    memcpy(d->eid, d->keep, d->keep_len); /* its reference moves with it */
    d->eid_len = d->keep_len;
    d->keep_len = 0;
    d->confirmed = 1;
    rediscovery_backoff(d);
    if (use_engine(d) < 0)
        probe_unanswered(d);
}

enum th_disc_status th_disc_poll(struct th_disc *d, int64_t now_ns)
{
    switch (d->state) {
    case D_READY:
        return TH_DISC_READY;
    case D_PROBING:
        return TH_DISC_WAIT;
    case D_REVERT:
        revert(d);
        return d->state == D_READY ? TH_DISC_READY : TH_DISC_WAIT;
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

void th_disc_user_lost(struct th_disc *d)
{
    if (d->state == D_READY)
        d->state = D_AGAIN; /* use_engine() creates it again if the engineID holds */
}

void th_disc_inform_done(struct th_disc *d, int op, const netsnmp_pdu *pdu)
{
    char eid[2 * TH_ENGINE_ID_MAX + 1];
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != NULL &&
        pdu->command != SNMP_MSG_REPORT) {
        /* A Response to an authPriv inform passed USM's digest check with keys
         * localised to the engineID it carries (RFC 3414 §3.2 step 6). */
        if (d->eid_len == 0 || pdu->securityEngineIDLen != d->eid_len ||
            memcmp(pdu->securityEngineID, d->eid, d->eid_len) != 0)
            return; /* for an engineID no longer in use */
        d->fails = 0;
        d->again = 0;
        if (!d->confirmed) {
            d->confirmed = 1;
            hex(d->eid, d->eid_len, eid, sizeof(eid));
            log_info("traphost", "trap host %s: engineID 0x%s confirmed by an acknowledged inform",
                     d->name, eid);
        }
        if (d->keep_len > 0) {
            th_user_release(d->keep, d->keep_len, d->user); /* replaced for good */
            d->keep_len = 0;
        }
        /* The receiver answered: a rediscovery decided on earlier failures and
         * not yet started is void (the session still has eid, D_AGAIN is only
         * entered from D_READY).  A pending D_REVERT has no engineID to go
         * back to any more: revert() keeps eid. */
        if (d->state == D_AGAIN)
            d->state = D_READY;
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
    if (d->fails < (d->confirmed ? TH_DISC_FAILS_CONFIRMED : TH_DISC_FAILS_PROVISIONAL))
        return;
    /* Reports are unauthenticated (RFC 3414 §3.2): they may be forged, and
     * a receiver that rejects every inform would draw a probe each time.
     * The state changes here, the library is called from th_disc_poll(). */
    if (d->keep_len > 0)
        d->state = D_REVERT; /* the provisional engineID failed */
    else if (th_now_ns() >= d->again_ns)
        d->state = D_AGAIN;
    else
        d->fails = 0; /* a rediscovery just found this engineID: keep it a while */
}
