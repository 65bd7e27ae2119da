/*
 * agent_log.c - route Net-SNMP's own log into ours under the token "snmp".
 *
 * Net-SNMP calls the SNMP_CALLBACK_LOGGING callbacks for every snmp_log();
 * registering a NETSNMP_LOGHANDLER_CALLBACK handler is how an application
 * takes the messages (snmp_logging.c, 5.9.3).
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "agent_priv.h"
#include "pmirrord/log.h"

static int agent_log_cb(int major, int minor, void *serverarg, void *clientarg)
{
    struct snmp_log_message *m = serverarg;
    char buf[1024];
    if (m == NULL || m->msg == NULL)
        return 0;
    snprintf(buf, sizeof(buf), "%s", m->msg);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0)
        return 0;
    /* client.c agentx_register() (5.9.3) reports a refused registration only
     * as this message; agent.c says what it means in plain words. */
    long agentx_error;
    if (sscanf(buf, "registering pdu failed: %ld", &agentx_error) == 1) {
        agent_note_register_error(agentx_error);
        return 0;
    }
    int prio = m->priority;
    /* Net-SNMP says LOG_INFO for AgentX state changes; keep them visible. */
    if (prio > LOG_INFO && !log_debug_enabled("snmp"))
        return 0;
    log_msg(prio, "snmp", "%s", buf);
    return 0;
}

void agent_log_init(void)
{
    netsnmp_log_handler *lh = netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
    if (lh != NULL)
        snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, agent_log_cb, NULL);
}
