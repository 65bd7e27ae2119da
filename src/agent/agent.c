/*
 * agent.c - Net-SNMP 5.9.3 as an AgentX subagent on the agent thread.
 *
 * The call order matters (docs/netsnmp-notes.md):
 *   role + socket -> init_agent() -> ping interval (init_agent resets it) ->
 *   handlers, persistent tokens, sysORTable -> init_snmp() -> snmp_store() -> loop.
 *
 * Platform notes, all measured on Debian 12's 5.9.3:
 *  - A hung (SIGSTOPped) master freezes the subagent for ~18 s with the
 *    library's default timeout/retries (1 s x (5+1)) because ping, open and
 *    register are synchronous; "[snmp] timeout 1" and "[snmp] retries 0"
 *    bound each call to 1 s (docs/netsnmp-notes.md; measured here: notifications
 *    kept flowing with gaps of at most ~3 s while the master was stopped,
 *    agentXPingInterval 5).  agentxTimeout/agentxRetries do not help on the
 *    subagent side.  A unix-socket master does not lose requests, so no
 *    retry is needed; trap host sessions set their own timeout and retries.
 *  - snmp_store() right after init_snmp() persists the engineID and
 *    engineBoots before anything can crash (docs/netsnmp-notes.md).
 *  - No MIB files are read at run time: OIDs are registered numerically and
 *    MIBS is emptied before init (Debian ships no IETF MIBs, docs/netsnmp-notes.md).
 *  - We never read snmpd's or the user's snmp.conf: the configuration
 *    directory is a private one under persistentDir, and SNMPCONFPATH is
 *    ignored.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>
#include <net-snmp/agent/agent_sysORTable.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"
#include "agent_priv.h"
#include "pmirrord/fsutil.h"
#include "pmirrord/log.h"
#include "pmirrord/securemem.h"

static oid pm_mib_oid[] = {1, 3, 6, 1, 4, 1, 4874, 2, 2, 77};

/* RFC 2741 §6.2.16: res.error duplicateRegistration. */
#define AGENTX_DUPLICATE_REGISTRATION 263

static struct {
    int initialised;
    int connected;
    int running;        /* agent_init() is done: a refused registration is retried */
    int checked;        /* the outcome of this connection's registration was handled */
    long reg_error;     /* AgentX error of a refused registration, 0 if none */
    int reg_warned;     /* said once that the MIB is taken, until registered again */
    unsigned int retry; /* alarm registering again, 0 when none */
    unsigned ping;
    char socket[PM_PATH_MAX];
} ag;

void agent_note_register_error(long agentx_error)
{
    ag.reg_error = agentx_error;
}

static void registration_refused(char *msg, size_t len)
{
    if (ag.reg_error == AGENTX_DUPLICATE_REGISTRATION)
        snprintf(msg, len,
                 "the Mirror MIB (1.3.6.1.4.1.4874.2.2.77) is already registered by another "
                 "subagent with the AgentX master at %s: is another pmirrord running?",
                 ag.socket);
    else
        snprintf(msg, len, "the AgentX master at %s refused to register the Mirror MIB (error %ld)",
                 ag.socket, ag.reg_error);
}

static void retry_register(unsigned int reg, void *arg);

/* After each (re)connection, once the library has sent the registrations. */
static void check_registration(void)
{
    char msg[400];
    if (!ag.connected || ag.checked)
        return;
    ag.checked = 1;
    if (ag.reg_error == 0) {
        ag.reg_warned = 0;
        log_info("agentx", "registered with the AgentX master at %s", ag.socket);
        return;
    }
    if (!ag.running)
        return; /* agent_init() refuses to start */
    /* Later, keep trying: the other subagent may go away (the library does
     * not register again by itself while the session stays open). */
    if (!ag.reg_warned) {
        registration_refused(msg, sizeof(msg));
        log_warnx("agentx", "%s; trying again every %u s", msg, ag.ping);
        ag.reg_warned = 1;
    }
    if (ag.retry == 0)
        ag.retry = snmp_alarm_register(ag.ping, 0, retry_register, NULL);
}

static void retry_register(unsigned int reg, void *arg)
{
    ag.retry = 0;
    if (!ag.connected)
        return; /* the next connection registers everything again */
    ag.reg_error = 0;
    ag.checked = 0;
    /* The library marks a subtree attached even when the master refused it;
     * mark them all detached so that reattach sends them again.  pmirrord
     * registers one subtree (juniPacketMirrorTrapEnable): nothing that was
     * accepted is sent twice. */
    register_mib_detach();
    register_mib_reattach();
    check_registration();
}

static void after_open(unsigned int reg, void *arg)
{
    check_registration();
}

static int on_index_start(int major, int minor, void *serverarg, void *clientarg)
{
    /* Called when the session is open, before the registrations are sent
     * (subagent.c agentx_reopen_session, 5.9.3): judge them afterwards. */
    ag.connected = 1;
    ag.checked = 0;
    ag.reg_error = 0;
    if (ag.running) {
        struct timeval now = {0, 0};
        snmp_alarm_register_hr(now, 0, after_open, NULL);
    }
    return 0;
}

static int on_index_stop(int major, int minor, void *serverarg, void *clientarg)
{
    if (ag.connected)
        log_warnx("agentx", "AgentX master went away; registering again when it is back");
    ag.connected = 0;
    return 0;
}

/* Trap receivers need it for `createUser -e` (RFC 3414 §2.6: keys are localised to it). */
static void log_engine_id(void)
{
    u_char eid[SNMP_MAXBUF_SMALL];
    char hex[2 * sizeof(eid) + 1];
    size_t n = snmpv3_get_engineID(eid, sizeof(eid));
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", eid[i]);
    hex[2 * n] = '\0';
    log_info("agent", "SNMP engineID 0x%s (trap receivers: createUser -e 0x%s ...)", hex, hex);
}

int agent_init(const struct pm_conf *c, char *err, size_t errlen)
{
    char confdir[PM_PATH_MAX + 16], line[128], sock[PM_PATH_MAX + 32];

    if (agent_socket_check(c->agentx_socket, err, errlen) < 0)
        return -1;
    if (pm_make_dir(c->persistent_dir, 0700, err, errlen) < 0)
        return -1;
    snprintf(confdir, sizeof(confdir), "%s/snmp", c->persistent_dir);
    snprintf(ag.socket, sizeof(ag.socket), "%s", c->agentx_socket);
    ag.ping = c->agentx_ping_interval;
    /* The master is reached through our own transports (agent_transport.c):
     * numeric TCP address, connect bounded by AGENT_TIMEOUT_S. */
    if (agent_transport_register() < 0) {
        snprintf(err, errlen, "cannot register the AgentX transports");
        return -1;
    }
    agent_transport_spec(c->agentx_socket, sock, sizeof(sock));

    unsetenv("SNMPCONFPATH");
    unsetenv("SNMP_PERSISTENT_DIR");
    unsetenv("SNMP_PERSISTENT_FILE");
    setenv("MIBS", "", 1);

    agent_log_init();

    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1);
    netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, sock);
    /* We say once ourselves that the master is absent (below), not at every retry. */
    netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_NO_CONNECTION_WARNINGS, 1);
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_CONFIGURATION_DIR, confdir);
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_PERSISTENT_DIR, c->persistent_dir);

    /* Lines "remembered" are applied while init_snmp() reads its configuration. */
    snprintf(line, sizeof(line), "[snmp] timeout %d", AGENT_TIMEOUT_S);
    netsnmp_config_remember(line);
    netsnmp_config_remember("[snmp] retries 0");
    if (c->engine_id_len > 0) {
        int n = snprintf(line, sizeof(line), "exactEngineID 0x");
        for (size_t i = 0; i < c->engine_id_len; i++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", c->engine_id[i]);
        netsnmp_config_remember(line);
    }

    if (init_agent(AGENT_APPTYPE) != 0) {
        snprintf(err, errlen, "init_agent failed");
        return -1;
    }
    /* After init_agent(), which resets it to 15 s (docs/netsnmp-notes.md). */
    netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL,
                       (int)c->agentx_ping_interval);

    snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START, on_index_start,
                           NULL);
    snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP, on_index_stop,
                           NULL);

    if (mib_trapenable_register(c->trap_enable) < 0) {
        snprintf(err, errlen, "cannot register juniPacketMirrorTrapEnable");
        return -1;
    }
    register_sysORTable(pm_mib_oid, OID_LENGTH(pm_mib_oid),
                        "Juniper-PACKET-MIRROR-MIB: secure packet mirroring traps (pmirrord)");

    init_snmp(AGENT_APPTYPE);
    snmp_store(AGENT_APPTYPE);
    ag.initialised = 1;

    if (ag.connected && ag.reg_error != 0) {
        /* At start-up a refused registration is fatal: a second instance
         * would otherwise stay up serving nothing. */
        registration_refused(err, errlen);
        agent_shutdown();
        return -1;
    }
    check_registration();
    ag.running = 1;
    log_engine_id();
    log_info("agentx", "juniPacketMirrorTrapEnable is %s (%s)",
             mib_trapenable_value() ? "true" : "false",
             mib_trapenable_persisted() ? "persisted" : "configured default");
    /* The persisted value (an SNMP SET) wins over the configuration's default;
     * an operator who wrote trapEnable must hear that it is not in effect. */
    if (mib_trapenable_persisted() && c->trap_enable_where[0] != '\0' &&
        mib_trapenable_value() != (c->trap_enable != 0))
        log_warnx("agentx",
                  "trapEnable %s (%s) is overridden by the persisted value %s (set by SNMP); "
                  "change it with snmpset (juniPacketMirrorTrapEnable.0)",
                  c->trap_enable ? "yes" : "no", c->trap_enable_where,
                  mib_trapenable_value() ? "true" : "false");
    if (!ag.connected) {
        const char *why = agent_transport_last_error();
        if (why[0] != '\0')
            log_warnx("agentx",
                      "AgentX master at %s is unreachable (%s); pmirrord will register when it "
                      "answers (tried every %u s)",
                      c->agentx_socket, why, c->agentx_ping_interval);
        else
            log_warnx("agentx",
                      "AgentX master at %s is absent; pmirrord will register when it appears "
                      "(checked every %u s)",
                      c->agentx_socket, c->agentx_ping_interval);
    }
    return 0;
}

struct watch {
    void (*cb)(int, void *);
    void *arg;
};

static void watch_dispatch(int fd, void *data)
{
    struct watch *w = data;
    w->cb(fd, w->arg);
}

#define MAX_WATCH 8
static struct {
    int fd;
    struct watch w;
} watches[MAX_WATCH];
static int nwatches;

int agent_watch_fd(int fd, void (*cb)(int fd, void *arg), void *arg)
{
    if (nwatches == MAX_WATCH)
        return -1;
    watches[nwatches].fd = fd;
    watches[nwatches].w.cb = cb;
    watches[nwatches].w.arg = arg;
    if (register_readfd(fd, watch_dispatch, &watches[nwatches].w) != FD_REGISTERED_OK)
        return -1;
    nwatches++;
    return 0;
}

void agent_unwatch_fd(int fd)
{
    unregister_readfd(fd);
}

void agent_run(volatile sig_atomic_t *stop)
{
    while (!*stop) {
        /* One call does external fds, snmp_read/timeout, snmp_store_if_needed(),
         * alarms and outstanding requests (snmp_agent.c:770-858, 5.9.3). */
        if (agent_check_and_process(1) < 0 && errno != EINTR)
            log_warn("agentx", "agent_check_and_process");
        pm_stack_scrub(); /* Net-SNMP's PDUs encoded, notifications built (docs/hygiene.md) */
    }
}

void agent_shutdown(void)
{
    if (!ag.initialised)
        return;
    for (int i = 0; i < nwatches; i++)
        unregister_readfd(watches[i].fd);
    nwatches = 0;
    if (ag.retry != 0)
        snmp_alarm_unregister(ag.retry);
    snmp_shutdown(AGENT_APPTYPE);
    agent_transport_unregistered();
    memset(&ag, 0, sizeof(ag));
}
