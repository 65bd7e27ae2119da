/*
 * traphost.c - one secure trap host: its SNMPv3 session, its JUNOSe queue and
 * its counters (see traphost.h).  Agent thread only.
 *
 * Net-SNMP 5.9.3 notes (docs/netsnmp-notes.md):
 *  - We never use send_v2trap(): in a subagent it also forwards every
 *    notification to the AgentX master, whose sinks may be v1/v2c.  Each host
 *    has its own session and we snmp_send()/snmp_async_send() to it.
 *  - The session is opened with SNMP_FLAGS_DONT_PROBE: the library's engineID
 *    probe is synchronous (6 s per notification with the receiver down).
 *    TRAPs are sent with our own engineID as the authoritative one; the USM
 *    user is created from the session (usm_create_user_from_session(), run
 *    by the post-probe hook even when probing is off) with keys localised to
 *    that engineID, so no createUser line is needed.
 *  - INFORMs need the receiver's engineID: configured (`engineId`), or
 *    discovered, confirmed and rediscovered by th_discover.c.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "notify_pdu.h"
#include "pmirrord/audit.h"
#include "pmirrord/log.h"
#include "pmirrord/th_queue.h"
#include "th_discover.h"
#include "traphost.h"

/* Informs outstanding at once per host; the rest wait in the queue. */
#define TH_INFORM_WINDOW 64

struct inform_ctx;

struct th_host {
    struct pm_traphost_conf conf;
    struct inform_ctx *done; /* finished informs, freed at the next drain (inform_cb) */
    netsnmp_session *ss;     /* from snmp_open(): in the library's session list */
    struct thq *q;
    struct th_counters c;
    struct th_disc *disc; /* inform host without a configured engineId */
    char name[160];       /* for logs: host address (not secret) */
    u_char eid[32];       /* TRAP host or configured engineId: the engineID of the USM */
    size_t eid_len;       /* user held (th_user_hold()); 0 if none */
};

static void free_done(struct th_host *h);

int th_test_fail_disc_new;

int64_t th_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct th_ev *th_ev_new(const struct pm_event *ev)
{
    struct th_ev *e = malloc(sizeof(*e));
    if (e == NULL)
        return NULL;
    e->refs = 1;
    e->ev = *ev;
    return e;
}

void th_ev_unref(struct th_ev *e)
{
    if (e != NULL && --e->refs == 0) {
        OPENSSL_cleanse(e, sizeof(*e)); /* subscriber data */
        free(e);
    }
}

void th_audit(const char *what, const char *host, const struct pm_event *ev)
{
    char summary[PM_NOTIFY_SUMMARY_MAX];
    if (!pm_audit_enabled())
        return;
    pm_notify_summary(ev, summary, sizeof(summary));
    pm_audit_notify(what, host, summary);
    OPENSSL_cleanse(summary, sizeof(summary)); /* subscriber data on the stack */
}

static void release_ev(void *item, void *arg)
{
    th_ev_unref(item);
}

static int set_auth(netsnmp_session *s, enum th_auth a)
{
    switch (a) {
    case TH_AUTH_SHA1:
        s->securityAuthProto = usmHMACSHA1AuthProtocol;
        break;
    case TH_AUTH_SHA224:
        s->securityAuthProto = usmHMAC128SHA224AuthProtocol;
        break;
    case TH_AUTH_SHA256:
        s->securityAuthProto = usmHMAC192SHA256AuthProtocol;
        break;
    case TH_AUTH_SHA384:
        s->securityAuthProto = usmHMAC256SHA384AuthProtocol;
        break;
    case TH_AUTH_SHA512:
        s->securityAuthProto = usmHMAC384SHA512AuthProtocol;
        break;
    default:
        return -1;
    }
    s->securityAuthProtoLen = USM_AUTH_PROTO_SHA_LEN;
    return 0;
}

static int set_priv(netsnmp_session *s, enum th_priv p)
{
    switch (p) {
    case TH_PRIV_AES128:
        s->securityPrivProto = usmAESPrivProtocol;
        s->securityPrivProtoLen = OID_LENGTH(usmAESPrivProtocol);
        break;
#ifdef NETSNMP_DRAFT_BLUMENTHAL_AES_04
    case TH_PRIV_AES192:
        s->securityPrivProto = usmAES192PrivProtocol;
        s->securityPrivProtoLen = OID_LENGTH(usmAES192PrivProtocol);
        break;
    case TH_PRIV_AES256:
        s->securityPrivProto = usmAES256PrivProtocol;
        s->securityPrivProtoLen = OID_LENGTH(usmAES256PrivProtocol);
        break;
#endif
    default:
        return -1;
    }
    return 0;
}

/*
 * Ku (the passphrase-derived key) is not bound to an engine: it is
 * password-equivalent.  Net-SNMP reads the session's copy only when it opens
 * the session and when it creates the USM user from it (snmpusm.c, 5.9.3);
 * once the localised keys exist, wipe it.
 */
static void forget_ku(netsnmp_session *ss)
{
    OPENSSL_cleanse(ss->securityAuthKey, sizeof(ss->securityAuthKey));
    ss->securityAuthKeyLen = 0;
    OPENSSL_cleanse(ss->securityPrivKey, sizeof(ss->securityPrivKey));
    ss->securityPrivKeyLen = 0;
}

/*
 * Token-bucket depth for a drain rate.  Strict pacing (1) below 1000/s; above
 * it, the drain timer wakes ~0.1 ms late on a loaded host, and with a depth of
 * 1 the credit earned meanwhile is lost (bench/notify measured 5.7k/s
 * delivered at drainRate 16000).  2 ms worth of tokens carries it over while
 * the long-run rate still holds.
 */
static uint32_t drain_burst(unsigned rate)
{
    return rate >= 1000 ? rate / 500 : 1;
}

struct th_host *th_host_new(const struct pm_traphost_conf *hc, char *err, size_t errlen)
{
    netsnmp_session s;
    u_char eid[64];
    struct th_host *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "%s: out of memory", hc->where);
        return NULL;
    }
    h->conf = *hc;
    snprintf(h->name, sizeof(h->name), "%s", hc->address);
    h->q = thq_new(release_ev, NULL);
    if (h->q == NULL || thq_set_capacity(h->q, hc->queue_size, err, errlen) < 0 ||
        thq_set_full_method(
            h->q, hc->queue_full == TH_DROP_FIRST_IN ? THQ_DROP_FIRST_IN : THQ_DROP_LAST_IN, err,
            errlen) < 0 ||
        thq_set_drain_rate(h->q, hc->drain_rate, drain_burst(hc->drain_rate), err, errlen) < 0) {
        if (h->q == NULL)
            snprintf(err, errlen, "%s: out of memory", hc->where);
        th_host_free(h);
        return NULL;
    }

    snmp_sess_init(&s);
    s.version = SNMP_VERSION_3;
    s.peername = h->conf.transport;
    s.securityModel = SNMP_SEC_MODEL_USM;
    s.securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
    s.securityName = h->conf.user;
    s.securityNameLen = strlen(h->conf.user);
    s.timeout = (long)hc->timeout_s * 1000000L;
    s.retries = (int)hc->retries;
    s.flags |= SNMP_FLAGS_DONT_PROBE;
    if (set_auth(&s, hc->auth) < 0 || set_priv(&s, hc->priv) < 0) {
        snprintf(err, errlen, "%s: trapHost: protocol not supported by this Net-SNMP", hc->where);
        th_host_free(h);
        return NULL;
    }
    /* Ku, derived from the passphrases (or given as keys) by the parse (conf_traphost.c). */
    if (hc->auth_ku_len == 0 || hc->auth_ku_len > sizeof(s.securityAuthKey) ||
        hc->priv_ku_len == 0 || hc->priv_ku_len > sizeof(s.securityPrivKey)) {
        snprintf(err, errlen, "%s: trapHost: no USM keys", hc->where);
        th_host_free(h);
        return NULL;
    }
    memcpy(s.securityAuthKey, hc->auth_ku, hc->auth_ku_len);
    s.securityAuthKeyLen = hc->auth_ku_len;
    memcpy(s.securityPrivKey, hc->priv_ku, hc->priv_ku_len);
    s.securityPrivKeyLen = hc->priv_ku_len;
    if (!hc->inform) {
        /* TRAP: we are the authoritative engine (RFC 3414 §1.5.1). */
        size_t n = snmpv3_get_engineID(eid, sizeof(eid));
        s.securityEngineID = eid;
        s.securityEngineIDLen = n;
    } else if (hc->engine_id_len > 0) {
        memcpy(eid, hc->engine_id, hc->engine_id_len);
        s.securityEngineID = eid;
        s.securityEngineIDLen = hc->engine_id_len;
    }
    if (s.securityEngineIDLen > 0) {
        /* Before snmp_open(): it would reuse another host's user as it is. */
        enum th_user_hold r =
            s.securityEngineIDLen <= sizeof(h->eid)
                ? th_user_hold(eid, s.securityEngineIDLen, h->conf.user, h->conf.cred_digest)
                : TH_USER_FOREIGN;
        if (r != TH_USER_HELD) {
            if (r == TH_USER_NOMEM)
                snprintf(err, errlen, "%s: out of memory", hc->where);
            else
                snprintf(err, errlen,
                         "%s: trapHost %s: user %s is in use by another trap host with other "
                         "credentials for the same engineID; use another user name",
                         hc->where, hc->address, hc->user);
            OPENSSL_cleanse(s.securityAuthKey, sizeof(s.securityAuthKey));
            OPENSSL_cleanse(s.securityPrivKey, sizeof(s.securityPrivKey));
            th_host_free(h);
            return NULL;
        }
        memcpy(h->eid, eid, s.securityEngineIDLen);
        h->eid_len = s.securityEngineIDLen;
    }
    h->ss = snmp_open(&s);
    OPENSSL_cleanse(s.securityAuthKey, sizeof(s.securityAuthKey));
    OPENSSL_cleanse(s.securityPrivKey, sizeof(s.securityPrivKey));
    if (h->ss == NULL) {
        snprintf(err, errlen, "%s: trapHost %s: cannot open session: %s", hc->where, hc->address,
                 snmp_api_errstring(snmp_errno));
        th_host_free(h);
        return NULL;
    }
    /* snmp_sess_add_ex() clears SNMP_FLAGS_DONT_PROBE once the session is open
     * (snmp_api.c, 5.9.3); set it again so no send ever runs the synchronous probe. */
    h->ss->flags |= SNMP_FLAGS_DONT_PROBE;
    if (hc->inform && hc->engine_id_len == 0) {
        /* keeps Ku in locked memory */
        if (th_test_fail_disc_new)
            snprintf(err, errlen, "%s: th_disc_new() failed (test)", hc->where);
        else
            h->disc = th_disc_new(h->ss, h->name, h->conf.cred_digest, err, errlen);
        if (h->disc == NULL) {
            th_host_free(h); /* no user yet: the engineID is still unknown */
            return NULL;
        }
    }
    forget_ku(h->ss); /* the USM user exists now (post-probe hook), or th_disc has Ku */
    /* The passphrases are no longer needed; only the localised keys remain (in USM). */
    OPENSSL_cleanse(h->conf.auth_pass, sizeof(h->conf.auth_pass));
    OPENSSL_cleanse(h->conf.priv_pass, sizeof(h->conf.priv_pass));
    OPENSSL_cleanse(h->conf.auth_ku, sizeof(h->conf.auth_ku));
    OPENSSL_cleanse(h->conf.priv_ku, sizeof(h->conf.priv_ku));
    return h;
}

/* The engineID of the USM user h holds (th_user_hold()); 0 if none yet. */
static size_t held_engine(const struct th_host *h, const u_char **eid)
{
    if (h->disc != NULL)
        return th_disc_engine(h->disc, eid);
    *eid = h->eid;
    return h->eid_len;
}

int th_host_same_user(const struct th_host *a, const struct th_host *b)
{
    const u_char *x, *y;
    size_t nx = held_engine(a, &x), ny = held_engine(b, &y);
    return nx > 0 && nx == ny && memcmp(x, y, nx) == 0 && strcmp(a->conf.user, b->conf.user) == 0;
}

struct th_disc *th_host_disc(struct th_host *h)
{
    return h->disc;
}

void th_host_free(struct th_host *h)
{
    if (h == NULL)
        return;
    if (h->ss != NULL) {
        forget_ku(h->ss);  /* still there if th_host_new() failed after snmp_open() */
        snmp_close(h->ss); /* outstanding informs get OP_TIMED_OUT (snmp_sess_close) */
    }
    free_done(h); /* snmp_close() has dropped every request */
    /* after snmp_close(): lets go of the user(s) it holds, wipes Ku */
    th_disc_free(h->disc);
    if (h->eid_len > 0)
        th_user_release(h->eid, h->eid_len, h->conf.user);
    thq_free(h->q);
    OPENSSL_cleanse(h, sizeof(*h));
    free(h);
}

const struct pm_traphost_conf *th_host_conf(const struct th_host *h)
{
    return &h->conf;
}

int th_host_retune(struct th_host *h, const struct pm_traphost_conf *hc, char *err, size_t errlen)
{
    /* The full method first: a lower capacity then discards as the new method says. */
    if (thq_set_full_method(
            h->q, hc->queue_full == TH_DROP_FIRST_IN ? THQ_DROP_FIRST_IN : THQ_DROP_LAST_IN, err,
            errlen) < 0)
        return -1;
    if (hc->queue_size != h->conf.queue_size &&
        thq_set_capacity(h->q, hc->queue_size, err, errlen) < 0)
        return -1;
    /* Resetting the bucket only when the rate changes keeps the pace of an unchanged one. */
    if (hc->drain_rate != h->conf.drain_rate &&
        thq_set_drain_rate(h->q, hc->drain_rate, drain_burst(hc->drain_rate), err, errlen) < 0)
        return -1;
    h->conf.queue_size = hc->queue_size;
    h->conf.queue_full = hc->queue_full;
    h->conf.drain_rate = hc->drain_rate;
    h->conf.severity = hc->severity;
    h->conf.timeout_s = hc->timeout_s;
    h->conf.retries = hc->retries;
    /* for the requests sent from now on (snmp_async_send() copies them) */
    h->ss->timeout = (long)hc->timeout_s * 1000000L;
    h->ss->retries = (int)hc->retries;
    snprintf(h->conf.where, sizeof(h->conf.where), "%s", hc->where);
    return 0;
}

void th_host_counters(const struct th_host *h, struct th_counters *out)
{
    *out = h->c;
    out->queued = thq_count(h->q);
    struct thq_stats st;
    thq_get_stats(h->q, &st);
    out->queue_full_discards = st.queue_full_discards;
    out->no_memory_discards += st.nomem_discards; /* the queue's ring could not grow */
}

int th_host_accepts(struct th_host *h, int severity)
{
    if (severity <= h->conf.severity)
        return 1;
    h->c.filtered++;
    return 0;
}

void th_host_enqueue(struct th_host *h, struct th_ev *e)
{
    /* The audit entry is written before the push: a dropped item may be the
     * last reference to e. */
    int full = thq_count(h->q) >= thq_capacity(h->q);
    if (full && thq_full_method(h->q) == THQ_DROP_FIRST_IN) {
        struct th_ev *oldest = thq_peek(h->q);
        th_audit("queue-full-dropped-oldest", h->name, &oldest->ev);
    }
    e->refs++;
    int r = thq_push(h->q, e);
    if (r == THQ_DISCARDED_NEW || r == THQ_NOMEM)
        th_audit(r == THQ_NOMEM ? "no-memory-dropped" : "queue-full-dropped", h->name, &e->ev);
}

/* -- informs ------------------------------------------------------------ */

/*
 * snmp_resend_request() looks the USM user up again for each retransmission
 * (snmp_api.c, 5.9.3): an inform holds the user of the engineID it was sent
 * with (th_user_hold()) until it ends, so that the user is neither removed
 * nor taken over by another host with other passphrases (whose keys the
 * retransmission would then use) while it is in flight.
 */
struct inform_ctx {
    struct th_host *h;
    struct th_ev *e;
    int in_send;             /* inside snmp_async_send(): a failure callback must not free */
    int done;                /* counted and audited: later callbacks change nothing */
    struct inform_ctx *next; /* on h->done */
    u_char eid[32];          /* the engineID whose user is held; eid_len 0: none */
    size_t eid_len;
};

/* Takes a reference on the user of the session's engineID for ctx. */
static int inform_hold(struct th_host *h, struct inform_ctx *ctx)
{
    size_t n = h->ss->securityEngineIDLen;
    ctx->eid_len = 0;
    /* The host holds the user of its session's engineID; with no holder a
     * new reference would remove the user as left behind (th_user_hold()). */
    if (n == 0 || n > sizeof(ctx->eid) ||
        th_user_refs(h->ss->securityEngineID, n, h->conf.user) == 0)
        return 0; /* nothing to hold: the send fails for want of the user */
    if (th_user_hold(h->ss->securityEngineID, n, h->conf.user, h->conf.cred_digest) != TH_USER_HELD)
        return -1;
    memcpy(ctx->eid, h->ss->securityEngineID, n);
    ctx->eid_len = n;
    return 0;
}

static void inform_release(struct th_host *h, struct inform_ctx *ctx)
{
    if (ctx->eid_len > 0)
        th_user_release(ctx->eid, ctx->eid_len, h->conf.user);
    ctx->eid_len = 0;
}

/* Frees the contexts of finished informs.  Only outside the library's
 * callbacks (th_host_drain(), th_host_free() after snmp_close()). */
static void free_done(struct th_host *h)
{
    while (h->done != NULL) {
        struct inform_ctx *ctx = h->done;
        h->done = ctx->next;
        free(ctx);
    }
}

/*
 * Called for each inform until the library drops the request.  One inform
 * may draw several callbacks with the same magic: for a Report, 5.9.3
 * (_sess_process_packet_handle_pdu) calls OP_RECEIVED_MESSAGE and then
 * OP_SEC_ERROR, and the order has been seen reversed, so neither callback may
 * assume it is the last one.  The request is unlinked (and the library stops
 * using magic) only after the last callback returns, within the same library
 * call: the context is therefore never freed here, but queued on h->done and
 * freed at the next th_host_drain(), which never runs inside a callback
 * (notify_kick() defers to an alarm).
 */
static int inform_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu, void *magic)
{
    struct inform_ctx *ctx = magic;
    struct th_host *h = ctx->h;
    const char *what;

    if (ctx->done)
        return 1;
    /* snmp_async_send() calls us with SEC_ERROR/SEND_FAILED/TIMED_OUT and
     * then returns 0 when the PDU cannot be built or sent (snmp_api.c
     * _sess_async_send, 5.9.3): the sender handles that case. */
    if (ctx->in_send)
        return 1;
    /* OP_RESEND only tells of a retransmission; a Report (notInTimeWindow
     * after the receiver restarted) is followed by a resend or by OP_SEC_ERROR. */
    if (op == NETSNMP_CALLBACK_OP_RESEND)
        return 1;
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != NULL &&
        pdu->command == SNMP_MSG_REPORT)
        return 1;
    if (h->disc != NULL)
        th_disc_inform_done(h->disc, op, pdu);
    if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE) {
        h->c.sent++;
        what = "acknowledged";
    } else if (op == NETSNMP_CALLBACK_OP_TIMED_OUT || op == NETSNMP_CALLBACK_OP_SEC_ERROR) {
        h->c.no_response_discards++;
        what = "no-response";
    } else {
        /* OP_SEND_FAILED (a retransmission could not be sent), OP_DISCONNECT */
        h->c.send_failed_discards++;
        what = "send-failed";
    }
    th_audit(what, h->name, &ctx->e->ev);
    h->c.inflight--;
    th_ev_unref(ctx->e);
    ctx->e = NULL;
    inform_release(h, ctx); /* no retransmission any more */
    ctx->done = 1;
    ctx->next = h->done;
    h->done = ctx;
    notify_kick();
    return 1;
}

/* Informs still waiting when discovery went unanswered: no-response discards. */
static void discard_waiting(struct th_host *h)
{
    struct th_ev *e;
    while ((e = thq_pop(h->q)) != NULL) {
        h->c.no_response_discards++;
        th_audit("no-response", h->name, &e->ev);
        th_ev_unref(e);
    }
}

static int engine_ready(struct th_host *h, int64_t now)
{
    if (h->disc == NULL)
        return 1;
    switch (th_disc_poll(h->disc, now)) {
    case TH_DISC_READY:
        return 1;
    case TH_DISC_GAVE_UP:
        discard_waiting(h);
        return 0;
    default:
        return 0;
    }
}

enum th_failure th_send_failure(int snmp_err)
{
    switch (snmp_err) {
    case SNMPERR_MALLOC:
        return TH_FAIL_NO_MEMORY;
    case SNMPERR_BAD_SENDTO:  /* sendto() refused: no route, EACCES, ENOBUFS ... */
    case SNMPERR_NO_SOCKET:   /* the transport is gone */
    case SNMPERR_BAD_SESSION: /* the session is gone */
    case SNMPERR_ABORT:       /* the session is being closed */
        return TH_FAIL_SEND;
    default:
        return TH_FAIL_ENCODING; /* the library could not build or secure the message */
    }
}

/* Counts one notification that did not leave; logged at the 1st, 10th,
 * 100th ... failure of the host, so a host that keeps failing does not flood
 * the log. */
static void count_failure(struct th_host *h, enum th_failure f, const char *why)
{
    uint64_t *ctr = f == TH_FAIL_NO_MEMORY ? &h->c.no_memory_discards
                    : f == TH_FAIL_SEND    ? &h->c.send_failed_discards
                                           : &h->c.bad_encoding_discards;
    uint64_t n = ++*ctr;
    while (n % 10 == 0)
        n /= 10;
    if (n == 1)
        log_warnx("traphost", "trap host %s: notification not sent (%s, %llu so far): %s", h->name,
                  th_failure_name(f), (unsigned long long)*ctr, why);
}

const char *th_failure_name(enum th_failure f)
{
    switch (f) {
    case TH_FAIL_NO_MEMORY:
        return "no-memory";
    case TH_FAIL_SEND:
        return "send-failed";
    default:
        return "bad-encoding";
    }
}

static void send_one(struct th_host *h, struct th_ev *e)
{
    netsnmp_pdu *pdu = snmp_pdu_create(h->conf.inform ? SNMP_MSG_INFORM : SNMP_MSG_TRAP2);
    netsnmp_variable_list *vb = pm_notify_varbinds(&e->ev);
    enum th_failure f = TH_FAIL_NO_MEMORY;
    const char *why = "cannot build the PDU (out of memory)";

    /* pm_notify_varbinds() fails only for want of memory on a checked event. */
    if (pdu != NULL && vb != NULL) {
        pdu->variables = vb;
        vb = NULL;
        h->ss->s_snmp_errno = SNMPERR_SUCCESS;
        if (h->conf.inform) {
            struct inform_ctx *ctx = malloc(sizeof(*ctx));
            if (ctx != NULL && inform_hold(h, ctx) < 0) {
                free(ctx); /* out of memory (the host itself holds the user) */
                ctx = NULL;
            }
            if (ctx != NULL) {
                ctx->h = h;
                ctx->e = e;
                ctx->in_send = 1;
                ctx->done = 0;
                ctx->next = NULL;
                int reqid = snmp_async_send(h->ss, pdu, inform_cb, ctx);
                ctx->in_send = 0;
                if (reqid != 0) {
                    h->c.inflight++;
                    return; /* e's reference now belongs to ctx */
                }
                inform_release(h, ctx);
                free(ctx);
                why = NULL;
            }
        } else if (snmp_send(h->ss, pdu) != 0) {
            h->c.sent++;
            th_audit("sent", h->name, &e->ev);
            th_ev_unref(e);
            return; /* the library freed the PDU */
        } else {
            why = NULL;
        }
        if (why == NULL) {
            int err = h->ss->s_snmp_errno != SNMPERR_SUCCESS ? h->ss->s_snmp_errno : snmp_errno;
            f = th_send_failure(err);
            why = snmp_api_errstring(err);
            /* No USM user for the engineID in use (removed under us): such a
             * send fails in snmp_async_send() with no callback, so nothing
             * else would ever discover again. */
            if (h->disc != NULL &&
                (err == SNMPERR_UNKNOWN_USER_NAME || err == SNMPERR_USM_UNKNOWNSECURITYNAME))
                th_disc_user_lost(h->disc);
        }
    }
    count_failure(h, f, why);
    if (pdu != NULL)
        snmp_free_pdu(pdu);
    if (vb != NULL)
        snmp_free_varbind(vb);
    th_audit(th_failure_name(f), h->name, &e->ev);
    th_ev_unref(e);
}

void th_host_drain(struct th_host *h, int64_t now_ns)
{
    free_done(h);
    if (thq_count(h->q) == 0 || !engine_ready(h, now_ns))
        return;
    size_t n = thq_ready(h->q, now_ns);
    while (n-- > 0) {
        if (h->conf.inform && h->c.inflight >= TH_INFORM_WINDOW)
            break;
        struct th_ev *e = thq_pop(h->q);
        if (e == NULL)
            break;
        send_one(h, e);
    }
}

int64_t th_host_next_due(struct th_host *h, int64_t now_ns)
{
    if (thq_count(h->q) == 0)
        return -1;
    if (h->disc != NULL && !th_disc_ready(h->disc))
        return th_disc_next_due(h->disc, now_ns);
    if (h->conf.inform && h->c.inflight >= TH_INFORM_WINDOW)
        return -1; /* an acknowledgement kicks us */
    return thq_next_due_ns(h->q, now_ns);
}
