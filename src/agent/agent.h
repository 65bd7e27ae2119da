/*
 * agent.h - the agent thread: Net-SNMP as an AgentX subagent.
 *
 * Every function here runs on the agent thread (the thread that called
 * agent_init()); Net-SNMP 5.9.3 is not thread-safe (docs/netsnmp-notes.md).  Other
 * threads reach it only through file descriptors registered with
 * agent_watch_fd() (the event queue's eventfd, the signal pipe).
 */
#ifndef PMIRRORD_AGENT_H
#define PMIRRORD_AGENT_H

#include <signal.h>
#include <stddef.h>

#include "pmirrord/conf.h"

/* The Net-SNMP application type: names the persistent file
 * <persistentDir>/pmirrord-agent.conf (engineID, engineBoots, trap enable). */
#define AGENT_APPTYPE "pmirrord-agent"

/*
 * agentXSocket: a unix path is taken as it is; a TCP master must be numeric
 * (tcp:A.B.C.D[:PORT], tcp:[IPv6][:PORT], port 705 by default) because
 * pmirrord never resolves names on the agent thread.  -1 with err filled
 * otherwise.  Needs no Net-SNMP state: the configuration parser may call it.
 */
int agent_socket_check(const char *spec, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/*
 * Who opens the AgentX socket.  By default the transport connects itself
 * (agent_transport.c).  In the agent process the monitor does
 * (docs/process-model.md, "The AgentX socket"): fn is called on the agent
 * thread for the first connect and every reconnect, and returns a connected
 * stream socket to the master (the transport owns it), or -1 with errno and
 * a sentence in err (ENOENT or ECONNREFUSED: the master is simply absent).
 * It must not take longer than a few seconds.  NULL: connect directly again.
 */
typedef int (*agent_connect_fn)(void *arg, char *err, size_t errlen);
void agent_set_connector(agent_connect_fn fn, void *arg);

int agent_init(const struct pm_conf *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Watch fd for reading on the agent loop; cb runs on the agent thread. */
int agent_watch_fd(int fd, void (*cb)(int fd, void *arg), void *arg)
    __attribute__((warn_unused_result));
void agent_unwatch_fd(int fd);
/* Run until *stop becomes non-zero (write to a watched fd to wake the loop). */
void agent_run(volatile sig_atomic_t *stop);
void agent_shutdown(void);

/* juniPacketMirrorTrapEnable (mib_trapenable.c): the value now (1 true), and
 * a new one, persisted as an SNMP SET would be (a reload, docs/reload.md). */
int mib_trapenable_value(void);
void mib_trapenable_set(int on);

#endif
