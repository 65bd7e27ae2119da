/*
 * sdnotify.h - the monitor's messages to systemd (sd_notify(3), libsystemd;
 * docs/systemd.md).  Only the monitor calls these.  Every call is a no-op
 * when the daemon was not started by systemd (NOTIFY_SOCKET unset), and a
 * failed send is logged once ("sd"), never fatal.  STATUS texts are the
 * operator's: counts and states, never an identity, analyzer or mirror ID.
 */
#ifndef PMIRRORD_SDNOTIFY_H
#define PMIRRORD_SDNOTIFY_H

#include <stdint.h>

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID once (at start, before
 * the children are started) and unsets them so the children never see them. */
void sdn_init(void);
/* READY=1 with STATUS=status (NULL: none): both children are ready, or a
 * reload has been applied (after sdn_reloading()). */
void sdn_ready(const char *status);
/* RELOADING=1: SIGHUP taken, a reload under way. */
void sdn_reloading(void);
/* STATUS=... (printf format). */
void sdn_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STOPPING=1. */
void sdn_stopping(void);
/* The watchdog interval systemd asked for, microseconds; 0: no watchdog. */
uint64_t sdn_watchdog_usec(void);
/* WATCHDOG=1: the caller has checked that the daemon is healthy. */
void sdn_watchdog(void);

#endif
