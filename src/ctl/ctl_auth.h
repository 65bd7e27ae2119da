/*
 * ctl_auth.h - internal: mirror-enable for the control server.  Secrets are
 * checked (PBKDF2, secret.h) on a worker thread, one at a time, from a
 * bounded queue; failures hold further attempts of the same uid with an
 * exponential backoff; repeated failures of a uid are reported once with a
 * count.  Everything but the worker runs on the server thread.
 */
#ifndef PMIRRORD_CTL_AUTH_H
#define PMIRRORD_CTL_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pmirrord/ctl_server.h"

#define CTL_AUTH_QUEUE 4 /* attempts waiting for or in the worker */

struct ctl_auth;

/* hash: the mirrorSecret string (checked by the caller), NULL: every attempt fails. */
struct ctl_auth *ctl_auth_new(const char *hash, char *err, size_t errlen);
/* Starts the worker (all signals blocked in it).  0, or -1 with err. */
int ctl_auth_start(struct ctl_auth *a, char *err, size_t errlen);
/* Stops the worker, wipes what it held.  NULL is fine. */
void ctl_auth_free(struct ctl_auth *a);
/* A new mirror secret hash (NULL: mirror-enable refused from now on); any
 * thread.  0, or -1 out of memory (the old one stays). */
int ctl_auth_set_hash(struct ctl_auth *a, const char *hash);

void ctl_auth_set_backoff(struct ctl_auth *a, unsigned base_ms, unsigned cap_ms);
void ctl_auth_set_events(struct ctl_auth *a, ctl_event_fn cb, void *arg);

/* Readable (an eventfd) when finished attempts wait for ctl_auth_collect(). */
int ctl_auth_fd(const struct ctl_auth *a);

/*
 * May an attempt of uid be queued now?  1 yes.  0 no: *until is the end of
 * the uid's hold, or 0 if it must wait for a finished attempt (one of the
 * same uid is under way, or the queue is full).
 */
int ctl_auth_may_try(struct ctl_auth *a, uid_t uid, int64_t now, int64_t *until);

/* Queues an attempt (the secret is copied and wiped after use).  0, or -1 if full. */
int ctl_auth_submit(struct ctl_auth *a, uint64_t ticket, const struct ctl_peer *peer,
                    const char *secret, size_t len);

/*
 * Takes one finished attempt and records it (backoff, events), whether or
 * not its client is still there.  Returns 1 with its ticket, ok, and the
 * time before which a failure's answer is held (0 after a success); 0 if
 * none is finished.
 */
int ctl_auth_collect(struct ctl_auth *a, int64_t now, uint64_t *ticket, int *ok,
                     int64_t *hold_until);

/*
 * Forgets uids whose hold ended long enough ago (reporting their unreported
 * failures).  Returns when to call it next, or -1 if nothing is tracked.
 */
int64_t ctl_auth_tick(struct ctl_auth *a, int64_t now);

#endif
