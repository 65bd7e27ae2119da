/*
 * supervise.h - the monitor's child supervisor: fork and exec a child with
 * exactly the descriptors and environment it is given, notice when it dies,
 * restart it after a backoff, count the restarts and say why it died.
 *
 * A child is an execve() of an executable (the monitor uses /proc/self/exe
 * with `--child MODE`), so each child starts from a fresh address space and
 * inherits no secret from the monitor's memory.  Between fork and execve the
 * child, using only async-signal-safe calls:
 *   - moves the descriptors given to sv_child_set_fds() to 3, 4, ... in that
 *     order (O_CLOEXEC cleared on those only) and closes every other
 *     descriptor from 3 up (close_range(2), or a walk of /proc/self/fd on a
 *     kernel without it); 0, 1 and 2 are kept;
 *   - empties its signal mask and resets every signal to SIG_DFL (an ignored
 *     signal would otherwise stay ignored across execve);
 *   - asks for SIGKILL when the monitor dies (PR_SET_PDEATHSIG);
 *   - gets only the environment given to sv_child_set_env() (none by default):
 *     nothing of the monitor's environment is inherited.
 * A failed execve is reported to sv_child_start() through a close-on-exec
 * pipe, so a wrong path is an error at once, not a child that exits 127.
 *
 * Signals (no threads, no signal handler): sv_set_new() blocks SIGCHLD in the
 * calling thread and opens a signalfd for it; create the set before any thread
 * exists so that every thread inherits the blocked mask.  The owner polls
 * sv_set_fd() for POLLIN and calls sv_reap(), and calls sv_restart_due() when
 * sv_next_timeout_ms() has passed.  sv_reap() waits only for the PIDs it
 * started (waitpid(pid, WNOHANG) per child, never waitpid(-1)), so other
 * children of the process are left alone.  A PID is signalled only while it
 * is a child of ours not yet reaped, so the kernel cannot have given it to
 * another process.
 *
 * Backoff: a child that dies is started again after 1 s, then 2 s, 4 s, ...
 * at most 60 s; a child that stayed up 60 s or more starts again from 1 s.
 * Times come from CLOCK_MONOTONIC, or from sv_set_clock() (tests).
 *
 * Errors: -1 and one sentence in err.  Nothing here logs: events go to the
 * owner's callback (sv_set_events()), which logs and counts them.
 */
#ifndef PMIRRORD_SUPERVISE_H
#define PMIRRORD_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SV_BACKOFF_MIN_MS 1000u
#define SV_BACKOFF_MAX_MS 60000u
#define SV_STABLE_MS      60000u /* up this long: the next backoff starts again from the minimum */
#define SV_KILL_WAIT_MS   2000u  /* sv_stop_all(): the longest wait for a child after SIGKILL */

struct sv_set;
struct sv_child;

enum sv_event {
    SV_EV_STARTED,      /* detail: NULL */
    SV_EV_DIED,         /* detail: "exited with status 3", "killed by SIGSYS" ... */
    SV_EV_START_FAILED, /* detail: why (fork or execve failed); retried after the backoff */
};

typedef uint64_t (*sv_clock_fn)(void *arg); /* milliseconds, monotonic */
typedef void (*sv_event_fn)(void *arg, const struct sv_child *c, enum sv_event ev,
                            const char *detail);
/* Called by sv_child_start() (and so by every restart) before it forks: the
 * place to make the descriptors of this start (sv_child_set_fds()).  -1 with
 * err: no fork; a restart is then retried after the backoff
 * (SV_EV_START_FAILED). */
typedef int (*sv_prestart_fn)(void *arg, struct sv_child *c, char *err, size_t errlen);

/* Blocks SIGCHLD (sigprocmask) and opens the signalfd.  NULL with err. */
struct sv_set *sv_set_new(char *err, size_t errlen);
/* Frees the set and its children without signalling them: call
 * sv_stop_all() first.  Closes the signalfd; SIGCHLD stays blocked. */
void sv_set_free(struct sv_set *set);
void sv_set_events(struct sv_set *set, sv_event_fn fn, void *arg);
/* Tests: replace CLOCK_MONOTONIC for the backoff (not for sv_stop_all()). */
void sv_set_clock(struct sv_set *set, sv_clock_fn fn, void *arg);
/* The signalfd to poll for POLLIN. */
int sv_set_fd(const struct sv_set *set);

/* A child of set (the set owns it), not started.  argv is copied (argv[0]
 * included, NULL-terminated).  NULL with err. */
struct sv_child *sv_child_new(struct sv_set *set, const char *name, const char *exe,
                              char *const argv[], char *err, size_t errlen);
/* The descriptors the child receives at 3, 4, ... in that order.  The set
 * keeps duplicates (close-on-exec), so the owner may close its own at once;
 * they replace those of an earlier call and serve every start until
 * sv_child_drop_fds() or the next call.  At most 64. */
__attribute__((warn_unused_result)) int sv_child_set_fds(struct sv_child *c, const int *fds,
                                                         size_t n, char *err, size_t errlen);
/* Closes the set's duplicates (e.g. once a start has passed them on: the set
 * must not hold a channel's end open after the child that had it died). */
void sv_child_drop_fds(struct sv_child *c);
/* fn runs before every fork of c (NULL: none). */
void sv_child_set_prestart(struct sv_child *c, sv_prestart_fn fn, void *arg);
/* The child's whole environment, "NAME=value" strings, NULL-terminated. */
__attribute__((warn_unused_result)) int sv_child_set_env(struct sv_child *c, char *const envp[],
                                                         char *err, size_t errlen);
/* Fork and exec now.  -1 with err if fork or execve failed (nothing is
 * scheduled then: the caller decides). */
__attribute__((warn_unused_result)) int sv_child_start(struct sv_child *c, char *err,
                                                       size_t errlen);

/* Drains the signalfd and reaps the children of set that died: each gets its
 * cause, SV_EV_DIED, and a restart time (unless the set is stopping).
 * Returns the number of children reaped. */
int sv_reap(struct sv_set *set);
/* Starts the children whose restart time has come; returns how many. */
int sv_restart_due(struct sv_set *set);
/* Milliseconds until the next restart is due (0: now), -1 if none. */
int sv_next_timeout_ms(const struct sv_set *set);
/* SIGTERM to every running child, waits up to timeout_ms for them, then
 * SIGKILL to those left and waits for them at most SV_KILL_WAIT_MS (a child
 * still not gone is left running, sv_child_pid() non-zero).  No restart
 * afterwards.  Returns the number of children that needed SIGKILL. */
int sv_stop_all(struct sv_set *set, int timeout_ms);

const char *sv_child_name(const struct sv_child *c);
/* The running child's PID, 0 when not running. */
pid_t sv_child_pid(const struct sv_child *c);
/* Starts so far (sv_child_start() and restarts). */
unsigned sv_child_starts(const struct sv_child *c);
/* Starts after the first one (restarts by the backoff and sv_child_start()). */
unsigned sv_child_restarts(const struct sv_child *c);
/* Why it last died ("" if it never did). */
const char *sv_child_last_cause(const struct sv_child *c);
/* The wait before the next restart that was scheduled last, in ms. */
unsigned sv_child_last_backoff_ms(const struct sv_child *c);

/* main(): "MODE" when argv is `PROG --child MODE ...`, else NULL. */
const char *sv_child_mode(int argc, char *const argv[]);

#endif
