/*
 * agent_priv.h - functions shared between the files of src/agent (agent thread only).
 */
#ifndef PMIRRORD_AGENT_PRIV_H
#define PMIRRORD_AGENT_PRIV_H

/* Seconds every synchronous AgentX call (and the connect to the master) may take: "[snmp] timeout".
 */
#define AGENT_TIMEOUT_S 1

void agent_log_init(void);
/* agent.c: the master refused a registration (agent_log.c sees the library say so). */
void agent_note_register_error(long agentx_error);

/* agent_transport.c: the transports behind AgentX sockets ("tcp:ADDRESS" and unix paths):
 * connect without blocking longer than AGENT_TIMEOUT_S. */
#define AGENT_TCP_PREFIX  "pmirrord-tcp"
#define AGENT_UNIX_PREFIX "pmirrord-unix"
int agent_transport_register(void);
void agent_transport_unregistered(void); /* after snmp_shutdown(), which freed them */
/* Why the last connect failed when the master is there but does not accept,
 * or the error is unusual; "" when it is simply absent or the connect worked. */
const char *agent_transport_last_error(void);
/* The library's AgentX socket string for agentXSocket conf_socket (checked). */
void agent_transport_spec(const char *conf_socket, char *buf, size_t len);

/* mib_trapenable.c: juniPacketMirrorTrapEnable (.77.2.1.0) */
int mib_trapenable_register(int conf_default);
int mib_trapenable_value(void); /* 1 true, 0 false */
int mib_trapenable_persisted(void);

#endif
