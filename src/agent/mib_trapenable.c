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
} te = {TV_FALSE, TV_FALSE, 0};

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
    } else {
        log_warnx("mib", "ignoring bad persisted %s value \"%s\"", token, line);
    }
}

static int persist_store(int major, int minor, void *serverarg, void *clientarg)
{
    char line[64];
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

/* Audit: one entry per request as the manager sent it, with the result. */
static int handle_audit(netsnmp_mib_handler *handler, netsnmp_handler_registration *reg,
                        netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
    int mode = reqinfo->mode;
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
    for (netsnmp_request_info *r = requests; r != NULL; r = r->next) {
        char oidbuf[128], val[128];
        const char *result;
        if (r->status != SNMP_ERR_NOERROR)
            result = snmp_errstring(r->status);
        else if (r->requestvb->type == SNMP_NOSUCHOBJECT ||
                 r->requestvb->type == SNMP_NOSUCHINSTANCE ||
                 r->requestvb->type == SNMP_ENDOFMIBVIEW)
            result = "noSuch";
        else
            result = "noError";
        snprint_objid(oidbuf, sizeof(oidbuf), r->requestvb->name, r->requestvb->name_length);
        if (r->requestvb->type == ASN_INTEGER && r->requestvb->val.integer != NULL)
            snprintf(val, sizeof(val), "INTEGER %ld", *r->requestvb->val.integer);
        else if (r->requestvb->type == ASN_NULL)
            snprintf(val, sizeof(val), "NULL");
        else
            snprint_value(val, sizeof(val), r->requestvb->name, r->requestvb->name_length,
                          r->requestvb);
        pm_audit_pdu(op, oidbuf, val, result);
    }
    return ret;
}

int mib_trapenable_register(int conf_default)
{
    te.value = conf_default ? TV_TRUE : TV_FALSE;
    te.persisted = 0;
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

/* After init_snmp(): has the persistent file overridden the config default? */
int mib_trapenable_persisted(void)
{
    return te.persisted;
}
