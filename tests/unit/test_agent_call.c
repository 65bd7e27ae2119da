/*
 * test_agent_call.c - pm_agent_call(): the function runs on the servicing
 * thread, a call nobody services is withdrawn (never runs later), and
 * shutdown fails callers at once.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "pmirrord/agent_call.h"

static pthread_t agent;
static atomic_int ran;
static atomic_int stop;

static int fn(void *arg, char *err, size_t errlen)
{
    CHECK(pthread_equal(pthread_self(), agent));
    atomic_fetch_add(&ran, 1);
    if (arg != NULL) {
        snprintf(err, errlen, "refused: %s", (const char *)arg);
        return -1;
    }
    return 0;
}

static void *agent_main(void *arg)
{
    while (!atomic_load(&stop)) {
        struct pollfd p = {.fd = pm_agent_call_fd(), .events = POLLIN};
        if (poll(&p, 1, 50) == 1)
            pm_agent_call_service();
    }
    return NULL;
}

int main(void)
{
    char err[128];
    CHECK(pm_agent_call_init(err, sizeof(err)) == 0);

    /* nobody services: the call is withdrawn after the timeout and never runs */
    agent = pthread_self();
    CHECK(pm_agent_call(fn, NULL, 100, err, sizeof(err)) == -1);
    CHECK(strstr(err, "did not answer") != NULL);
    pm_agent_call_service(); /* a late service finds nothing pending */
    CHECK(atomic_load(&ran) == 0);

    /* serviced: runs on the agent thread, result and error come back */
    CHECK(pthread_create(&agent, NULL, agent_main, NULL) == 0);
    CHECK(pm_agent_call(fn, NULL, 2000, err, sizeof(err)) == 0);
    CHECK(pm_agent_call(fn, "dup", 2000, err, sizeof(err)) == -1);
    CHECK(strcmp(err, "refused: dup") == 0);
    CHECK(atomic_load(&ran) == 2);
    atomic_store(&stop, 1);
    pthread_join(agent, NULL);

    /* after shutdown every call fails at once */
    pm_agent_call_shutdown();
    CHECK(pm_agent_call(fn, NULL, 2000, err, sizeof(err)) == -1);
    CHECK(strstr(err, "shutting down") != NULL);
    CHECK(atomic_load(&ran) == 2);
    return 0;
}
