/*
 * ready.h - telling whoever waits for pmirrord's start-up how it ended.
 *
 * Without -f the daemon forks; the parent waits on a pipe until the child is
 * ready (pidfile written, control socket answering) or has failed, then
 * exits 0, or prints the child's reason on stderr and exits 1.  The same two
 * calls are where a service manager would be told (systemd: sd_notify
 * "READY=1" / "STATUS=..." with "ERRNO=").  Daemon-private.
 */
#ifndef PMIRRORD_DAEMON_READY_H
#define PMIRRORD_DAEMON_READY_H

#include <stddef.h>

/* fork(): returns 0 in the child (a new session, stdio on /dev/null, in /),
 * and never in the parent, which exits 0 once the child said ready, else 1.
 * -1 with err filled if fork() or pipe() failed.  `release` is called in the
 * parent before it exits (to free what the caller holds). */
int daemon_detach(void (*release)(void *), void *arg, char *err, size_t errlen);
/* The pipe to the waiting parent, -1 once it is closed (or in the foreground). */
int daemon_ready_fd(void);
/* A child process of the daemon (docs/process-model.md): fd is its copy of
 * that pipe; its log lines are echoed there (log_set_echo) until
 * daemon_release().  Takes fd. */
void daemon_adopt_log_fd(int fd);
/* Stops echoing and closes the pipe, saying nothing (the monitor says READY
 * or FAILED for the whole daemon). */
void daemon_release(void);
/* Start-up is complete. */
void daemon_ready(void);
/* Start-up failed with this reason (one line, no secrets). */
void daemon_failed(const char *why);
/* A log_sink_fn for log_set_echo(): until daemon_ready() or daemon_failed(),
 * sends each message to the waiting parent, which prints it on its stderr;
 * afterwards (and in the foreground) does nothing.  Thread-safe. */
void daemon_forward_log(int prio, const char *token, const char *msg, void *arg);

#endif
