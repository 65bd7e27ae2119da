/*
 * ctl_auth.c - mirror-enable: PBKDF2 on a worker thread, per-uid backoff,
 * coalesced failure reports (see ctl_auth.h, docs/control-protocol.md).
 *
 * The tracked table has CTL_ENABLE_MAX_UIDS entries and one more shared by
 * every uid that finds it full: that entry's backoff is the ceiling for all
 * untracked uids together, and with one attempt under way per entry at most
 * CTL_ENABLE_MAX_UIDS + 1 uids can guess in parallel, each as slowly as its
 * backoff allows.  uid 0 has an entry of its own besides: however many uids
 * fail, root is never held by another uid's failures.
 */
#include "ctl_auth.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pmirrord/ctl_wire.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/secret.h"
#include "pmirrord/securemem.h"
#include "pmirrord/thread.h"

#define NTRACK   ((int)CTL_ENABLE_MAX_UIDS + 2)
#define OVERFLOW ((int)CTL_ENABLE_MAX_UIDS)
#define ROOT     ((int)CTL_ENABLE_MAX_UIDS + 1) /* uid 0's own, never shared */

enum job_state { J_FREE, J_QUEUED, J_RUNNING, J_DONE };

struct job {
    enum job_state state;
    uint64_t seq; /* queue order */
    uint64_t ticket;
    struct ctl_peer peer;
    int track; /* index into tracked[] */
    int ok;
    uint64_t gen; /* J_DONE: the hash_gen it was checked against */
    size_t len;
    char secret[CTL_MAX_REQUEST];
};

struct tracked {
    int used;
    uid_t uid;
    struct ctl_peer last; /* of the last failure */
    unsigned fails;       /* consecutive */
    unsigned unreported;  /* failures since the last report */
    int64_t until;        /* hold: no attempt evaluated before */
    int inflight;
};

struct ctl_auth {
    char *hash;        /* under mtx */
    uint64_t hash_gen; /* under mtx: ctl_auth_set_hash() calls */
    unsigned base_ms, cap_ms;
    ctl_event_fn cb;
    void *cb_arg;
    int efd;
    pthread_mutex_t mtx;
    pthread_cond_t cv;
    int stop, started;
    pthread_t thr;
    uint64_t seq;
    struct job jobs[CTL_AUTH_QUEUE]; /* under mtx */
    struct tracked t[NTRACK];        /* server thread only */
};

struct ctl_auth *ctl_auth_new(const char *hash, char *err, size_t errlen)
{
    struct ctl_auth *a = calloc(1, sizeof *a);
    if (a == NULL || (hash != NULL && (a->hash = strdup(hash)) == NULL)) {
        free(a);
        pm_err(err, errlen, "out of memory");
        return NULL;
    }
    a->base_ms = CTL_BACKOFF_BASE_MS;
    a->cap_ms = CTL_BACKOFF_CAP_MS;
    a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (a->efd < 0) {
        pm_err(err, errlen, "eventfd: %s", strerror(errno));
        free(a->hash);
        free(a);
        return NULL;
    }
    pthread_mutex_init(&a->mtx, NULL);
    pthread_cond_init(&a->cv, NULL);
    return a;
}

static void *worker(void *arg)
{
    struct ctl_auth *a = arg;
    pthread_mutex_lock(&a->mtx);
    for (;;) {
        struct job *j = NULL;
        for (int i = 0; i < CTL_AUTH_QUEUE; i++)
            if (a->jobs[i].state == J_QUEUED && (j == NULL || a->jobs[i].seq < j->seq))
                j = &a->jobs[i];
        if (a->stop)
            break;
        if (j == NULL) {
            pthread_cond_wait(&a->cv, &a->mtx);
            continue;
        }
        j->state = J_RUNNING;
        /* The job is ours while J_RUNNING: nobody else touches it.  The hash
         * is a copy taken under the lock; a reload may replace it while the
         * secret is checked (ctl_auth_set_hash()): then it is checked again
         * against the new one, so that once ctl_auth_set_hash() has returned
         * no attempt succeeds with the old secret. */
        int ok;
        uint64_t gen;
        for (;;) {
            gen = a->hash_gen;
            char *hash = a->hash != NULL ? strdup(a->hash) : NULL;
            pthread_mutex_unlock(&a->mtx);
            ok = hash != NULL && j->len > 0 && secret_verify(hash, j->secret, j->len) == 1;
            if (hash != NULL) {
                OPENSSL_cleanse(hash, strlen(hash));
                free(hash);
            }
            pthread_mutex_lock(&a->mtx);
            if (a->hash_gen == gen)
                break;
        }
        OPENSSL_cleanse(j->secret, sizeof j->secret);
        pm_stack_scrub(); /* what the key derivation left of the secret */
        j->ok = ok;
        j->gen = gen;
        j->state = J_DONE;
        uint64_t one = 1;
        (void)!write(a->efd, &one, sizeof one);
    }
    pthread_mutex_unlock(&a->mtx);
    return NULL;
}

int ctl_auth_start(struct ctl_auth *a, char *err, size_t errlen)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pm_thread_create(&a->thr, worker, a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return pm_err(err, errlen, "pthread_create: %s", strerror(rc));
    a->started = 1;
    return 0;
}

int ctl_auth_set_hash(struct ctl_auth *a, const char *hash)
{
    char *h = hash != NULL ? strdup(hash) : NULL;
    if (hash != NULL && h == NULL)
        return -1;
    pthread_mutex_lock(&a->mtx);
    char *old = a->hash;
    a->hash = h;
    a->hash_gen++;
    pthread_mutex_unlock(&a->mtx);
    if (old != NULL) {
        OPENSSL_cleanse(old, strlen(old));
        free(old);
    }
    return 0;
}

void ctl_auth_free(struct ctl_auth *a)
{
    if (a == NULL)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->mtx);
        a->stop = 1;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mtx);
        pthread_join(a->thr, NULL);
    }
    close(a->efd);
    pthread_mutex_destroy(&a->mtx);
    pthread_cond_destroy(&a->cv);
    if (a->hash) {
        OPENSSL_cleanse(a->hash, strlen(a->hash));
        free(a->hash);
    }
    OPENSSL_cleanse(a, sizeof *a);
    free(a);
}

void ctl_auth_set_backoff(struct ctl_auth *a, unsigned base_ms, unsigned cap_ms)
{
    a->base_ms = base_ms ? base_ms : CTL_BACKOFF_BASE_MS;
    a->cap_ms = cap_ms ? cap_ms : CTL_BACKOFF_CAP_MS;
}

void ctl_auth_set_events(struct ctl_auth *a, ctl_event_fn cb, void *arg)
{
    a->cb = cb;
    a->cb_arg = arg;
}

int ctl_auth_fd(const struct ctl_auth *a)
{
    return a->efd;
}

/* The entry of uid, or (make) a new one, or the shared one when the table is full. */
static int find(struct ctl_auth *a, uid_t uid, int make)
{
    int free_slot = -1;
    if (uid == 0) {
        if (!a->t[ROOT].used && !make)
            return -1;
        a->t[ROOT].used = 1; /* uid 0: memset by calloc and on reset */
        return ROOT;
    }
    for (int i = 0; i < OVERFLOW; i++) {
        if (a->t[i].used && a->t[i].uid == uid)
            return i;
        if (!a->t[i].used && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        a->t[OVERFLOW].used = 1;
        return OVERFLOW;
    }
    if (!make)
        return -1;
    memset(&a->t[free_slot], 0, sizeof a->t[free_slot]);
    a->t[free_slot].used = 1;
    a->t[free_slot].uid = uid;
    return free_slot;
}

static void emit(struct ctl_auth *a, enum ctl_event_kind kind, const struct ctl_peer *p,
                 unsigned count, const char *why)
{
    if (a->cb == NULL)
        return;
    struct ctl_event ev = {kind, *p, count, why};
    a->cb(&ev, a->cb_arg);
}

static void summary(struct ctl_auth *a, int i)
{
    struct tracked *e = &a->t[i];
    if (e->unreported == 0)
        return;
    char why[160];
    if (i == OVERFLOW)
        snprintf(why, sizeof why,
                 "mirror-enable: %u further wrong secrets by uids not tracked one by one "
                 "(the last by uid %u)",
                 e->unreported, (unsigned)e->last.uid);
    else
        snprintf(why, sizeof why, "mirror-enable: %u further wrong secrets by uid %u",
                 e->unreported, (unsigned)e->uid);
    emit(a, CTL_EV_ENABLE_REPEATED, &e->last, e->unreported, why);
    e->unreported = 0;
}

static int queue_full(struct ctl_auth *a)
{
    int full = 1;
    pthread_mutex_lock(&a->mtx);
    for (int i = 0; i < CTL_AUTH_QUEUE; i++)
        if (a->jobs[i].state == J_FREE)
            full = 0;
    pthread_mutex_unlock(&a->mtx);
    return full;
}

int ctl_auth_may_try(struct ctl_auth *a, uid_t uid, int64_t now, int64_t *until)
{
    int i = find(a, uid, 0);
    *until = 0;
    if (i >= 0 && a->t[i].inflight)
        return 0;
    if (i >= 0 && a->t[i].until > now) {
        *until = a->t[i].until;
        return 0;
    }
    return !queue_full(a);
}

int ctl_auth_submit(struct ctl_auth *a, uint64_t ticket, const struct ctl_peer *peer,
                    const char *secret, size_t len)
{
    if (len > sizeof a->jobs[0].secret)
        len = 0; /* cannot be right: fails, but costs the same backoff */
    pthread_mutex_lock(&a->mtx);
    struct job *j = NULL;
    for (int k = 0; k < CTL_AUTH_QUEUE && j == NULL; k++)
        if (a->jobs[k].state == J_FREE)
            j = &a->jobs[k];
    if (j == NULL) {
        pthread_mutex_unlock(&a->mtx);
        return -1;
    }
    int i = find(a, peer->uid, 1);
    a->t[i].inflight++;
    j->seq = ++a->seq;
    j->ticket = ticket;
    j->peer = *peer;
    j->track = i;
    j->len = len;
    memcpy(j->secret, secret, len);
    j->state = J_QUEUED;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mtx);
    return 0;
}

int ctl_auth_collect(struct ctl_auth *a, int64_t now, uint64_t *ticket, int *ok,
                     int64_t *hold_until)
{
    uint64_t cnt;
    (void)!read(a->efd, &cnt, sizeof cnt); /* drained; the loop below takes every result */
    struct ctl_peer peer;
    int track = -1;
    pthread_mutex_lock(&a->mtx);
    for (int k = 0; k < CTL_AUTH_QUEUE && track < 0; k++) {
        struct job *j = &a->jobs[k];
        if (j->state != J_DONE)
            continue;
        *ticket = j->ticket;
        /* checked against a hash replaced since: not a success */
        *ok = j->ok && j->gen == a->hash_gen;
        peer = j->peer;
        track = j->track;
        memset(j, 0, sizeof *j); /* J_FREE; the secret was wiped by the worker */
    }
    pthread_mutex_unlock(&a->mtx);
    if (track < 0)
        return 0;
    struct tracked *e = &a->t[track];
    e->inflight--;
    *hold_until = 0;
    if (*ok) {
        summary(a, track);
        emit(a, CTL_EV_ENABLE_OK, &peer, 1, "mirror-enable: mirror mode enabled");
        /* a success resets the uid; the shared entry keeps counting for the others */
        if (track != OVERFLOW && e->inflight == 0)
            memset(e, 0, sizeof *e);
        return 1;
    }
    if (e->fails < 31)
        e->fails++;
    e->last = peer;
    if (e->fails == 1) {
        emit(a, CTL_EV_ENABLE_FAILED, &peer, 1, "mirror-enable: wrong secret");
    } else if (++e->unreported >= CTL_ENABLE_COALESCE) {
        summary(a, track);
    }
    uint64_t d = (uint64_t)a->base_ms << (e->fails - 1 < 20 ? e->fails - 1 : 20);
    if (d > a->cap_ms)
        d = a->cap_ms;
    e->until = now + (int64_t)d;
    *hold_until = e->until;
    return 1;
}

/* A uid is forgotten (its count reset) this long after its hold ended. */
static int64_t forget_after(const struct ctl_auth *a)
{
    return 2 * (int64_t)a->cap_ms + 1000;
}

int64_t ctl_auth_tick(struct ctl_auth *a, int64_t now)
{
    int64_t next = -1;
    for (int i = 0; i < NTRACK; i++) {
        struct tracked *e = &a->t[i];
        if (!e->used || e->inflight)
            continue;
        int64_t at = e->until + forget_after(a);
        if (e->fails == 0 || now >= at) {
            summary(a, i);
            memset(e, 0, sizeof *e);
            continue;
        }
        next = next < 0 || at < next ? at : next;
    }
    return next;
}
