/*
 * pidfile.h - the pidfile, which is also the instance lock (pidfile.c).
 * Daemon-private.
 */
#ifndef PMIRRORD_DAEMON_PIDFILE_H
#define PMIRRORD_DAEMON_PIDFILE_H

#include <stddef.h>

/* Writes our PID to path and holds an exclusive flock(2) on it for the
 * process's lifetime: a second pmirrord with the same pidfile is refused.
 * 0, or -1 with one sentence in err. */
int pidfile_write(const char *path, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Removes the pidfile if it is still ours (same file, our PID), then drops the lock. */
void pidfile_remove(void);

#endif
