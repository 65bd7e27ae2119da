/*
 * mirror_stats.h - what `show mirror statistics` shows: a snapshot the agent
 * process (agent_proc.c) takes for the control thread (commands.c).
 * Daemon-private.  Everything named by the capture process (sources,
 * counters) is untrusted text: commands.c escapes it.
 */
#ifndef PMIRRORD_DAEMON_MIRROR_STATS_H
#define PMIRRORD_DAEMON_MIRROR_STATS_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pmirrord/ipc.h"
#include "pmirrord/ipc_intake.h"

enum { PM_PROC_AGENT = 0, PM_PROC_CAPTURE = 1, PM_PROC_N = 2 };

/* What earlier capture channels (before a restart replaced them) counted. */
struct pm_mirror_totals {
    uint64_t events, event_drops, mlogs, records, unexpected, trigger_acks;
    uint64_t tx_full_drops, tx_errors;
    uint64_t rejects[IPC_REJ_NREASONS];
};

struct pm_mirror_stats {
    struct timespec now; /* CLOCK_MONOTONIC when taken */
    pid_t agent_pid;
    /* chan C: the current capture channel */
    int have_intake;
    enum intake_state state;
    struct intake_counts counts;
    struct intake_peer peer;
    size_t nsources; /* as intake_stats_snapshot() says: may exceed INTAKE_SOURCES_MAX */
    struct intake_source sources[INTAKE_SOURCES_MAX];
    uint64_t chan_replacements; /* peer-chan descriptors taken (capture restarts) */
    struct pm_mirror_totals before;
    uint64_t table_generation; /* the last intercept table pushed */
    /* chan A: the monitor */
    struct ipc_chan_stats chan_a;
    int have_proc[PM_PROC_N]; /* STATS process:agent, process:capture from the monitor */
    struct ipc_stats proc[PM_PROC_N];
    struct timespec proc_at[PM_PROC_N];
    uint64_t monitor_unexpected; /* records from the monitor the agent had no use for */
    uint64_t pending_drops;      /* records that arrived during a PRIV_REQ and found no room */
    uint64_t priv_requests, priv_fds, priv_fails, priv_timeouts;
};

/* Fills *out (heap: it is large); 0, or -1 when there is nothing to show. */
typedef int (*pm_mirror_stats_fn)(struct pm_mirror_stats *out, void *arg);

#endif
