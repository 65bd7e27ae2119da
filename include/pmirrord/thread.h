/*
 * thread.h - every thread of the daemon is made here, with an explicit stack.
 *
 * pmirrord locks all its memory (mlockall(MCL_FUTURE), securemem.h), so a
 * thread's whole stack mapping counts against RLIMIT_MEMLOCK from the moment
 * it is created.  glibc's default stack is RLIMIT_STACK (8 MiB on Debian):
 * far more than any of our threads uses.  PM_THREAD_STACK is what every
 * thread gets, and PM_THREADS_MAX how many the memory budget allows for
 * (docs/memory-locking.md).
 */
#ifndef PMIRRORD_THREAD_H
#define PMIRRORD_THREAD_H

#include <pthread.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* Sanitizers pad every frame with red zones: give them room. */
#define PM_THREAD_STACK (1024u * 1024)
#else
#define PM_THREAD_STACK (256u * 1024)
#endif
/* Threads besides the main (agent) thread that the budget allows for: the
 * control server, a worker it may use, and two event producers. */
#define PM_THREADS_MAX 4u

/* pthread_create() with a PM_THREAD_STACK stack; returns its error number.
 * The new thread blocks every signal: the main thread handles them. */
int pm_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
    __attribute__((warn_unused_result));

#endif
