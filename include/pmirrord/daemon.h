/*
 * daemon.h - pmirrord's start-up, main loop and shutdown, as a function, so
 * that test programs can run the daemon's own core with extra hooks (e.g.
 * tests/tools/pm_evtestd.c raises events) without a back door in pmirrord.
 */
#ifndef PMIRRORD_DAEMON_H
#define PMIRRORD_DAEMON_H

struct pm_conf;

struct pm_daemon_hooks {
    /* After every part is up, on the agent thread; non-zero aborts start-up. */
    int (*started)(const struct pm_conf *c, void *arg);
    /* Before shutdown, on the agent thread. */
    void (*stopping)(void *arg);
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
