/*
 * agent_call.c - see agent_call.h.
 */
#include "pmirrord/agent_call.h"
#include "pmirrord/errbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum call_state { CALL_IDLE, CALL_PENDING, CALL_RUNNING, CALL_DONE };

static struct {
    pthread_mutex_t mu;    /* guards everything below */
    pthread_cond_t cv;     /* state changes */
    pthread_mutex_t order; /* one caller at a time */
    int efd;
    int closed;
    enum call_state state;
    pm_agent_fn fn;
    void *arg;
    int rc;
    char err[256];
} ac = {PTHREAD_MUTEX_INITIALIZER,
        PTHREAD_COND_INITIALIZER,
        PTHREAD_MUTEX_INITIALIZER,
        -1,
        0,
        CALL_IDLE,
        NULL,
        NULL,
        0,
        {0}};

int pm_agent_call_init(char *err, size_t errlen)
{
    pthread_condattr_t ca;
    ac.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ac.efd < 0)
        return pm_err(err, errlen, "agent call: eventfd: %s", strerror(errno));
    /* Timed waits on CLOCK_MONOTONIC: a clock step must not cut them short. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&ac.cv);
    pthread_cond_init(&ac.cv, &ca);
    pthread_condattr_destroy(&ca);
    ac.closed = 0;
    ac.state = CALL_IDLE;
    return 0;
}

int pm_agent_call_fd(void)
{
    return ac.efd;
}

void pm_agent_call_service(void)
{
    uint64_t v;
    if (read(ac.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        return;
    pthread_mutex_lock(&ac.mu);
    if (ac.state != CALL_PENDING) {
        pthread_mutex_unlock(&ac.mu);
        return;
    }
    ac.state = CALL_RUNNING;
    pm_agent_fn fn = ac.fn;
    void *arg = ac.arg;
    pthread_mutex_unlock(&ac.mu);

    char err[sizeof(ac.err)] = "";
    int rc = fn(arg, err, sizeof(err));

    pthread_mutex_lock(&ac.mu);
    ac.rc = rc;
    memcpy(ac.err, err, sizeof(err));
    ac.state = CALL_DONE;
    pthread_cond_broadcast(&ac.cv);
    pthread_mutex_unlock(&ac.mu);
}

int pm_agent_call(pm_agent_fn fn, void *arg, int timeout_ms, char *err, size_t errlen)
{
    struct timespec dl;
    int rc;
    uint64_t one = 1;

    pthread_mutex_lock(&ac.order);
    pthread_mutex_lock(&ac.mu);
    if (ac.closed || ac.efd < 0) {
        pthread_mutex_unlock(&ac.mu);
        pthread_mutex_unlock(&ac.order);
        return pm_err(err, errlen, "the agent is shutting down");
    }
    ac.fn = fn;
    ac.arg = arg;
    ac.state = CALL_PENDING;
    if (write(ac.efd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
        ac.state = CALL_IDLE;
        pthread_mutex_unlock(&ac.mu);
        pthread_mutex_unlock(&ac.order);
        return pm_err(err, errlen, "agent call: eventfd: %s", strerror(errno));
    }
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    while (ac.state == CALL_PENDING && !ac.closed)
        if (pthread_cond_timedwait(&ac.cv, &ac.mu, &dl) == ETIMEDOUT)
            break;
    if (ac.state == CALL_PENDING) {
        /* Never started: withdraw it, so fn cannot run after we return. */
        ac.state = CALL_IDLE;
        rc = pm_err(err, errlen,
                    ac.closed ? "the agent is shutting down"
                              : "the agent thread did not answer in time");
    } else {
        while (ac.state == CALL_RUNNING)
            pthread_cond_wait(&ac.cv, &ac.mu);
        rc = ac.rc;
        if (rc < 0)
            pm_err(err, errlen, "%s", ac.err);
        ac.state = CALL_IDLE;
    }
    pthread_mutex_unlock(&ac.mu);
    pthread_mutex_unlock(&ac.order);
    return rc;
}

void pm_agent_call_shutdown(void)
{
    pthread_mutex_lock(&ac.mu);
    ac.closed = 1;
    pthread_cond_broadcast(&ac.cv);
    pthread_mutex_unlock(&ac.mu);
    if (ac.efd >= 0)
        close(ac.efd);
    ac.efd = -1;
}
