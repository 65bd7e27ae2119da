/*
 * agent_call.h - run a function on the agent thread from another thread and
 * wait for its result (the control thread changing trap hosts).
 *
 * Net-SNMP may only be called on the agent thread; this is how the control
 * thread asks it to.  One call at a time (callers queue on a mutex); the
 * agent loop watches pm_agent_call_fd() and runs the call with
 * pm_agent_call_service().  A caller waits at most timeout_ms for the call to
 * *start*; once started it waits for the end, so fn never outlives its
 * argument.  After pm_agent_call_shutdown() every call fails at once.
 */
#ifndef PMIRRORD_AGENT_CALL_H
#define PMIRRORD_AGENT_CALL_H

#include <stddef.h>

/* Runs on the agent thread: 0, or -1 with a sentence in err. */
typedef int (*pm_agent_fn)(void *arg, char *err, size_t errlen);

int pm_agent_call_init(char *err, size_t errlen) __attribute__((warn_unused_result));
int pm_agent_call_fd(void);
/* Agent thread: run the pending call, if any. */
void pm_agent_call_service(void);
/* Any other thread. */
int pm_agent_call(pm_agent_fn fn, void *arg, int timeout_ms, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Agent thread, before it stops servicing: fail pending and future calls. */
void pm_agent_call_shutdown(void);

#endif
