/*
 * mib_trapenable.c - juniPacketMirrorTrapEnable (1.3.6.1.4.1.4874.2.2.77.2.1.0),
 * TruthValue, read-write, DEFVAL false.
 *
 * The value is kept in Net-SNMP's persistent file for our application type
 * (<persistentDir>/pmirrord-agent.conf, token "pmTrapEnable") and stored on
 * the loop iteration after each committed SET (snmp_store_needed()), so it
 * survives a restart and even a SIGKILL.  `trapEnable` in pmirrord.conf gives
 * the value used when nothing is persisted.
 *
 * An audit handler sits on top of the scalar helper so the secure audit log
 * sees the request as the manager sent it (GET, GETNEXT or SET), before the
 * helper turns a GETNEXT into a GET (agent/helpers/scalar.c).
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <stdio.h>
#include <string.h>

#include "agent_priv.h"
#include "pmirrord/audit.h"
#include "pmirrord/log.h"

#define TV_TRUE       1
#define TV_FALSE      2
#define PERSIST_TOKEN "pmTrapEnable"

static const oid trapenable_oid[] = {1, 3, 6, 1, 4, 1, 4874, 2, 2, 77, 2, 1};

static struct {
    long value;    /* TV_TRUE / TV_FALSE */
    long old;      /* for UNDO */
    int persisted; /* a value was read from the persistent file */
    int store;     /* persisted or changed at run time: write it at every store */
} te = {TV_FALSE, TV_FALSE, 0, 0};

int mib_trapenable_value(void)
{
    return te.value == TV_TRUE;
}

static void persist_parse(const char *token, char *line)
{
    long v = strtol(line, NULL, 10);
    if (v == TV_TRUE || v == TV_FALSE) {
        te.value = v;
        te.persisted = 1;
        te.store = 1;
    } else {
        log_warnx("mib", "ignoring bad persisted %s value \"%s\"", token, line);
    }
}

static int persist_store(int major, int minor, void *serverarg, void *clientarg)
{
    char line[64];
    /* The configuration's default is not persisted: only a value an SNMP SET
     * or a reload gave, or one read back, so that a later edit of trapEnable
     * in the file is not overridden by what the file said before. */
    if (!te.store)
        return SNMPERR_SUCCESS;
    snprintf(line, sizeof(line), "%s %ld", PERSIST_TOKEN, te.value);
    read_config_store(netsnmp_ds_get_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_APPTYPE), line);
    return SNMPERR_SUCCESS;
}

static int handle_trapenable(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
                             netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    int ret;
    for (netsnmp_request_info *r = requests; r != NULL; r = r->next) {
        switch (reqinfo->mode) {
        case MODE_GET:
            snmp_set_var_typed_value(r->requestvb, ASN_INTEGER, &te.value, sizeof(te.value));
            break;
        case MODE_SET_RESERVE1:
            ret =
                netsnmp_check_vb_truthvalue(r->requestvb); /* wrongType, wrongLength, wrongValue */
            if (ret != SNMP_ERR_NOERROR)
                netsnmp_set_request_error(reqinfo, r, ret);
            break;
        case MODE_SET_RESERVE2:
        case MODE_SET_FREE:
            break;
        case MODE_SET_ACTION:
            te.old = te.value;
            te.value = *r->requestvb->val.integer;
            break;
        case MODE_SET_UNDO:
            te.value = te.old;
            break;
        case MODE_SET_COMMIT:
            if (te.value != te.old)
                log_info("mib", "juniPacketMirrorTrapEnable set to %s",
                         te.value == TV_TRUE ? "true" : "false");
            te.store = 1;
            snmp_store_needed(NULL);
            break;
        default:
            netsnmp_set_request_error(reqinfo, r, SNMP_ERR_GENERR);
            break;
        }
    }
    return SNMP_ERR_NOERROR;
}

static const char *mode_name(int mode)
{
    switch (mode) {
    case MODE_GET:
        return "GET";
    case MODE_GETNEXT:
        return "GETNEXT";
    case MODE_GETBULK:
        return "GETBULK";
    case MODE_SET_RESERVE1:
        return "SET";
    default:
        return NULL;
    }
}

/* The OID by name: juniPacketMirrorTrapEnable.0 (numeric outside the scalar). */
static void oid_text(char *buf, size_t len, const oid *name, size_t n)
{
    const size_t base = OID_LENGTH(trapenable_oid);
    if (n < base || snmp_oid_compare(name, base, trapenable_oid, base) != 0) {
        snprint_objid(buf, len, name, n);
        return;
    }
    size_t o = (size_t)snprintf(buf, len, "juniPacketMirrorTrapEnable");
    for (size_t i = base; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, ".%lu", (unsigned long)name[i]);
}

/* A TruthValue (SNMPv2-TC) as the MIB names it: true(1), false(2); else the number. */
static void value_text(char *buf, size_t len, const netsnmp_variable_list *vb)
{
    if (vb->type == ASN_INTEGER && vb->val.integer != NULL) {
        long v = *vb->val.integer;
        if (v == TV_TRUE || v == TV_FALSE)
            snprintf(buf, len, "%s(%ld)", v == TV_TRUE ? "true" : "false", v);
        else
            snprintf(buf, len, "%ld", v);
    } else {
        snprint_value(buf, len, vb->name, vb->name_length, vb);
    }
}

/* The error-status names of RFC 3416 §3. */
static const char *error_name(int status)
{
    static const char *const names[] = {"noError",
                                        "tooBig",
                                        "noSuchName",
                                        "badValue",
                                        "readOnly",
                                        "genErr",
                                        "noAccess",
                                        "wrongType",
                                        "wrongLength",
                                        "wrongEncoding",
                                        "wrongValue",
                                        "noCreation",
                                        "inconsistentValue",
                                        "resourceUnavailable",
                                        "commitFailed",
                                        "undoFailed",
                                        "authorizationError",
                                        "notWritable",
                                        "inconsistentName"};
    return status >= 0 && status < (int)(sizeof(names) / sizeof(names[0])) ? names[status]
                                                                           : "error";
}

#define AUDIT_KEEP_REQS 16 /* requests whose OID is kept as sent */
#define AUDIT_KEEP_SUBS 32 /* sub-identifiers kept of each */

/* Audit: one entry per request as the manager sent it, with the result in words. */
static int handle_audit(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
                        netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    int mode = reqinfo->mode;
    /* A GET or SET names the OID asked for; the handlers below may shorten the
     * varbind's name when they answer noSuchInstance. */
    oid asked[AUDIT_KEEP_REQS][AUDIT_KEEP_SUBS];
    size_t asked_len[AUDIT_KEEP_REQS] = {0};
    size_t k = 0;
    for (netsnmp_request_info *r = requests; r != NULL && k < AUDIT_KEEP_REQS; r = r->next, k++) {
        if (r->requestvb->name_length <= AUDIT_KEEP_SUBS) {
            asked_len[k] = r->requestvb->name_length;
            memcpy(asked[k], r->requestvb->name, asked_len[k] * sizeof(oid));
        }
    }
    int ret = netsnmp_call_next_handler(handler, reg, reqinfo, requests);
    const char *op = mode_name(mode);
    /* A SET is audited once, at RESERVE1 when it fails, or at COMMIT. */
    if (mode == MODE_SET_COMMIT)
        op = "SET";
    else if (mode == MODE_SET_RESERVE1) {
        int failed = 0;
        for (netsnmp_request_info *r = requests; r != NULL; r = r->next)
            failed |= r->status != SNMP_ERR_NOERROR;
        if (!failed)
            op = NULL;
    }
    if (op == NULL || !pm_audit_enabled())
        return ret;
    k = 0;
    for (netsnmp_request_info *r = requests; r != NULL; r = r->next, k++) {
        char oidbuf[128], val[128], result[64];
        const netsnmp_variable_list *vb = r->requestvb;
        const char *value = val;
        int set = op[0] == 'S';
        if (r->status != SNMP_ERR_NOERROR)
            snprintf(result, sizeof(result), "%s (%s)", set ? "refused" : "failed",
                     error_name(r->status));
        else
            snprintf(result, sizeof(result), "ok");
        if (vb->type == SNMP_NOSUCHOBJECT || vb->type == SNMP_NOSUCHINSTANCE ||
            vb->type == SNMP_ENDOFMIBVIEW) {
            snprintf(result, sizeof(result), "%s",
                     vb->type == SNMP_NOSUCHOBJECT     ? "no such object"
                     : vb->type == SNMP_NOSUCHINSTANCE ? "no such instance"
                                                       : "end of the MIB view");
            value = NULL;
        } else if (vb->type == ASN_NULL) {
            /* No value filled in: a GETNEXT past the scalar (the master goes on to
             * the next subtree) or a request that failed first. */
            if (r->status == SNMP_ERR_NOERROR)
                snprintf(result, sizeof(result), "%s",
                         mode == MODE_GETNEXT ? "nothing follows" : "no value");
            value = NULL;
        } else {
            value_text(val, sizeof(val), vb);
        }
        if (mode != MODE_GETNEXT && mode != MODE_GETBULK && k < AUDIT_KEEP_REQS && asked_len[k])
            oid_text(oidbuf, sizeof(oidbuf), asked[k], asked_len[k]);
        else
            oid_text(oidbuf, sizeof(oidbuf), vb->name, vb->name_length);
        pm_audit_pdu(op, oidbuf, value, result);
    }
    return ret;
}

int mib_trapenable_register(int conf_default)
{
    te.value = conf_default ? TV_TRUE : TV_FALSE;
    te.persisted = 0;
    te.store = 0;
    /* Persistent token and store callback must exist before init_snmp(). */
    register_app_config_handler(PERSIST_TOKEN, persist_parse, NULL, "1|2");
    snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_STORE_DATA, persist_store, NULL);

    netsnmp_handler_registration *reg = netsnmp_create_handler_registration(
        "juniPacketMirrorTrapEnable", handle_trapenable, trapenable_oid, OID_LENGTH(trapenable_oid),
        HANDLER_CAN_RWRITE);
    if (reg == NULL || netsnmp_register_scalar(reg) != MIB_REGISTERED_OK)
        return -1;
    netsnmp_mib_handler *audit = netsnmp_create_handler("pmAudit", handle_audit);
    if (audit == NULL || netsnmp_inject_handler(reg, audit) != SNMPERR_SUCCESS)
        return -1;
    return 0;
}

void mib_trapenable_set(int on)
{
    long v = on ? TV_TRUE : TV_FALSE;
    if (v == te.value)
        return;
    te.value = v;
    te.store = 1;
    snmp_store_needed(NULL); /* persisted as after a SET */
}

/* After init_snmp(): has the persistent file overridden the config default? */
int mib_trapenable_persisted(void)
{
    return te.persisted;
}
