/*
 * mirrorlog.h - the secure mirror log (JUNOSe `show mirror log`), always on.
 *
 * One entry per mirroring activation, deactivation and failure (from the
 * events of pm_event.h), per refused control-socket peer or failed
 * mirror-enable, and per operator action on the control socket.  Entries hold intercept data: they
 * live only in the locked ring given to pm_mirrorlog_init().  Callable from any thread.
 */
#ifndef PMIRRORD_MIRRORLOG_H
#define PMIRRORD_MIRRORLOG_H

#include <sys/types.h>

#include "pmirrord/pm_event.h"

struct slog_ring;

void pm_mirrorlog_init(struct slog_ring *ring);
void pm_mirrorlog_event(const struct pm_event *ev);
void pm_mirrorlog_refusal(uid_t uid, gid_t gid, pid_t pid, const char *why);
/*
 * An operator's action, with the peer's credentials (SO_PEERCRED):
 * "operator uid=U gid=G pid=P: ACTION".  action is plain words the caller has
 * already made printable ("trap-host remove 198.18.0.1:162", "mirror-enable");
 * it never holds a passphrase or a secret.
 */
void pm_mirrorlog_operator(uid_t uid, gid_t gid, pid_t pid, const char *action);
/* A change a configuration reload made (docs/reload.md): "reload WHERE:
 * ACTION", action as for pm_mirrorlog_operator(), where "FILE:LINE" or the
 * file's name. */
void pm_mirrorlog_reload(const char *where, const char *action);

#endif
