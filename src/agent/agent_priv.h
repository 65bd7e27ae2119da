/*
 * agent_priv.h - functions shared between the files of src/agent (agent thread only).
 */
#ifndef PMIRRORD_AGENT_PRIV_H
#define PMIRRORD_AGENT_PRIV_H

/* Seconds every synchronous AgentX call (and the TCP connect) may take: "[snmp] timeout". */
#define AGENT_TIMEOUT_S 1

void agent_log_init(void);
/* agent.c: the master refused a registration (agent_log.c sees the library say so). */
void agent_note_register_error(long agentx_error);

/* agent_tcp.c: the transport behind "tcp:" AgentX sockets (AGENT_TCP_PREFIX:ADDRESS). */
#define AGENT_TCP_PREFIX "pmirrord-tcp"
int agent_tcp_register(void);
void agent_tcp_unregistered(void);      /* after snmp_shutdown(), which freed it */
const char *agent_tcp_last_error(void); /* why the last connect failed, "" if it did not */

/* mib_trapenable.c: juniPacketMirrorTrapEnable (.77.2.1.0) */
int mib_trapenable_register(int conf_default);
int mib_trapenable_value(void); /* 1 true, 0 false */
int mib_trapenable_persisted(void);

#endif
