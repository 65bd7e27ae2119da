/*
 * notify.h - from events to notifications (agent thread only).
 *
 * Takes events from the queue (pm_event.h), applies JUNOSe's gates in order
 * -- juniPacketMirrorTrapEnable, the global minimum severity
 * (globalTrapSeverity), then each host's filter -- and queues the event on
 * every host that accepts it (traphost.h).  A one-shot alarm drains the
 * queues at their drain rates.  Nothing goes through snmpd's trap sinks.
 */
#ifndef PMIRRORD_AGENT_NOTIFY_H
#define PMIRRORD_AGENT_NOTIFY_H

#include <stddef.h>

#include "pmirrord/conf.h"
#include "pmirrord/pm_event.h"

int notify_init(const struct pm_conf *c, struct pm_evq *q, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void notify_shutdown(void);

/* Trap hosts added and removed at run time (pmirrorctl trap-host, after
 * mirror-enable); agent thread only: call through pm_agent_call().
 * arg is a struct pm_traphost_conf * for add, the address string for remove. */
int notify_add_host(void *arg, char *err, size_t errlen);
int notify_remove_host(void *arg, char *err, size_t errlen);

/* Reload (agent_reload.c, docs/reload.md); agent thread only.  The hosts in
 * order (pointers valid until the next change). */
size_t notify_host_count(void);
const struct pm_traphost_conf *notify_host_conf(size_t i);
/* A host of the file: added (0, or -1 with err), removed by transport (0, or
 * -1 if none), changed in place (th_host_retune(): queue and session kept). */
int notify_reload_add(const struct pm_traphost_conf *hc, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int notify_reload_remove(const char *transport);
int notify_reload_retune(const struct pm_traphost_conf *hc, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* globalTrapSeverity and trapSeverity (index 1..10) from now on. */
void notify_reload_severity(int global, const int trap[11]);

#endif
