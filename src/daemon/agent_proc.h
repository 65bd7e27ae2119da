/*
 * agent_proc.h - the agent process (docs/process-model.md): Net-SNMP, the
 * secure rings, the control socket and the intake of the capture channel,
 * as an unprivileged child of the monitor.
 *
 * Started by the monitor as `PROG --child agent [-f] [-D TOKENS]`, as root,
 * with fd 3 = chan A (the monitor) and fd 4 = chan C (the capture process),
 * both SOCK_SEQPACKET ends carrying docs/ipc-protocol.md records.
 *
 * On chan A it expects, within AGENT_PROC_SLICE_MS:
 *   CONFIG BEGIN (key "file", value: the configuration's path),
 *   CONFIG (key: the directive, value: the line as written, line: its number)...,
 *   FD purpose control-listen (the bound, listening control socket),
 *   CONFIG END (key "end");
 * and answers STATUS READY once it serves, or STATUS FAILED (the reason) and
 * exits 1.  It sends HELLO (role agent) first, PRIV_REQ (agentx) for each
 * AgentX connect, and takes on the loop: FD peer-chan (a new chan C: the
 * capture process restarted), STATS process:agent / process:capture (shown
 * by `show mirror statistics`), end of file (the monitor is gone: stop).
 */
#ifndef PMIRRORD_DAEMON_AGENT_PROC_H
#define PMIRRORD_DAEMON_AGENT_PROC_H

#include <stddef.h>

#include "pmirrord/daemon.h"

#define AGENT_PROC_USER     "pmirrord" /* its account; "nobody" when it does not exist */
#define AGENT_PROC_SLICE_MS 10000      /* the slice must have come by then */
#define AGENT_PROC_PRIV_MS  2000       /* the monitor answers a PRIV_REQ within this */

/* Exit status: 0 stopped (SIGTERM, or the monitor went away), 1 failed to
 * start or run, 2 usage. */
int pm_agent_proc_main(int argc, char **argv, const struct pm_daemon_hooks *hooks);

/* agent_drop.c: run as root, become AGENT_PROC_USER (nobody with a warning),
 * keeping CAP_IPC_LOCK only if the hard RLIMIT_MEMLOCK is below need bytes;
 * not root: a warning and nothing changes.  0, or -1 with err. */
int agent_drop_privileges(size_t need, char *err, size_t errlen);

#endif
