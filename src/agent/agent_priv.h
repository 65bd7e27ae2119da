/*
 * agent_priv.h - functions shared between the files of src/agent (agent thread only).
 */
#ifndef PMIRRORD_AGENT_PRIV_H
#define PMIRRORD_AGENT_PRIV_H

void agent_log_init(void);

/* mib_trapenable.c: juniPacketMirrorTrapEnable (.77.2.1.0) */
int mib_trapenable_register(int conf_default);
int mib_trapenable_value(void); /* 1 true, 0 false */
int mib_trapenable_persisted(void);

#endif
