/*
 * audit.h - the SNMP secure audit log (JUNOSe `snmp secure-log`).
 *
 * Off by default.  When on, every Mirror-MIB GET, GETNEXT and SET that
 * pmirrord serves and every mirror notification it handles is recorded in
 * the secure ring given to pm_audit_init().  Callable from any thread.
 */
#ifndef PMIRRORD_AUDIT_H
#define PMIRRORD_AUDIT_H

#include "pmirrord/log.h"

struct slog_ring;

void pm_audit_init(struct slog_ring *ring);
void pm_audit_set_enabled(int on);
int pm_audit_enabled(void);
/*
 * One request in plain words:
 *   GET juniPacketMirrorTrapEnable.0 = true(1): ok
 *   SET juniPacketMirrorTrapEnable.0 to 7: refused (wrongValue)
 *   GET juniPacketMirrorTrapEnable.1: no such instance
 * op = GET, GETNEXT, SET; oid by name; value as text, NULL when there is
 * none to show; result = "ok", "refused (<error>)", "no such instance" ...
 * AgentX does not pass the requesting SNMP user to a subagent (the PDUs of
 * RFC 2741 carry a context, not a security name), so no entry can name it.
 */
void pm_audit_pdu(const char *op, const char *oid, const char *value, const char *result);
/* A notification: what = sent/queued/filtered/dropped ...; host as configured. */
void pm_audit_notify(const char *what, const char *host, const char *summary);

#endif
