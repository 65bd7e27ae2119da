/*
 * memlock.h - how much locked memory pmirrord needs for a configuration
 * (docs/memory-locking.md).  Daemon-private.
 */
#ifndef PMIRRORD_DAEMON_MEMLOCK_H
#define PMIRRORD_DAEMON_MEMLOCK_H

#include <stddef.h>

struct pm_conf;

/*
 * Bytes per secure log entry, including the NUL.  An audit entry holds a whole
 * notification summary (PM_NOTIFY_SUMMARY_MAX, every string escaped) behind its
 * prefix; a mirror-log entry holds an event with a 255-octet trigger and error
 * string, escaped.  Slots are fixed-size: the figure grows with the ring sizes.
 */
#define PM_AUDIT_ENTRY_MAX  4352u
#define PM_MIRROR_ENTRY_MAX 2048u

/* "pmirrorctl trap-host add" may add hosts at run time, up to PM_MAX_TRAPHOSTS
 * in all: each free slot is budgeted as a host with this queueSize (the
 * default, conf_traphost.c: keep in step), and a larger one is refused at run
 * time (commands.c): it belongs in the configuration file, whose hosts are
 * counted as configured (docs/memory-locking.md). */
#define PM_RUNTIME_QUEUE_MAX 32u

/* Libraries (Net-SNMP, OpenSSL, Perl, Kerberos, libc: all their mappings are
 * charged), their heap and the main thread's stack.
 * Measured VmLck of a running daemon with the default configuration, less
 * the parts below: about 17 MiB on Debian 12 (docs/memory-locking.md). */
#define PM_MEMLOCK_MARGIN (32u << 20)

/* RLIMIT_MEMLOCK, in bytes, that the configuration c needs. */
size_t pm_memlock_needed(const struct pm_conf *c);
/* Whether CAP_IPC_LOCK is in the effective set (capget(2)): locking is then
 * not held to RLIMIT_MEMLOCK (mm/mlock.c). */
int pm_memlock_cap_ipc_lock(void);

#endif
