/*
 * daemon.h - pmirrord's start-up, main loop and shutdown, as a function, so
 * that test programs can run the daemon's own core with extra hooks (e.g.
 * tests/tools/pm_evtestd.c raises events) without a back door in pmirrord.
 */
#ifndef PMIRRORD_DAEMON_H
#define PMIRRORD_DAEMON_H

struct pm_conf;

/*
 * Test builds only (tests/tools/pm_evtestd.c): a producer of events inside the
 * capture process (docs/process-model.md).  pmirrord itself passes NULL, and
 * its capture process refuses a test-fifo descriptor.
 */
struct pm_daemon_hooks {
    /* Monitor, before the first child starts: a descriptor handed to every
     * capture process as IPC_FD_TEST_FIFO (the monitor keeps it open), or -1
     * with err (start-up fails).  NULL: none. */
    int (*monitor_test_fd)(char *err, size_t errlen);
    /* Capture process, once its sandbox is in place: its copy of that
     * descriptor (the hook owns it).  Non-zero aborts start-up. */
    int (*capture_test_start)(int fd, void *arg);
    /* Capture process loop: the descriptor the hook wants polled (POLLIN), or
     * -1; and ms until capture_test_run() is due (-1 none, 0 now). */
    int (*capture_test_pollfd)(void *arg);
    int (*capture_test_timeout)(void *arg);
    /* Called when the fd is readable or the timeout has passed; events are
     * raised with pm_event_raise(), which sends them to the agent. */
    void (*capture_test_run)(void *arg);
    void *arg;
    /* Printed after pmirrord's own usage by -h (what the hooks add), or NULL. */
    const char *usage;
};

/* pmirrord's main(): parses argv, runs until SIGTERM/SIGINT.  Exit status:
 * 0 stopped cleanly (or -h, -V, -n with a good configuration), 1 start-up or
 * runtime failure, 2 usage or configuration error.  Without -f it forks and
 * the calling process returns only once the daemon is ready (status 0) or has
 * failed to start (status 1, the reason on stderr); see src/daemon/ready.h. */
int pm_daemon_main(int argc, char **argv, const struct pm_daemon_hooks *hooks);

#endif
