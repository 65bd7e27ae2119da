/*
 * main.c - pmirrord: command line, configuration, start-up and shutdown.
 *
 *   pmirrord [-f] [-n] [-c FILE] [-D token,...] [-p PIDFILE]
 *
 * The main thread becomes the agent thread (the only one that calls Net-SNMP).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "pmirrord/conf.h"
#include "pmirrord/log.h"

static volatile sig_atomic_t stop_requested;
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    stop_requested = 1;
    ssize_t w = write(sig_pipe[1], "x", 1); /* wake the agent loop */
    (void)w;
    errno = saved;
}

static void on_sig_pipe(int fd, void *arg)
{
    char buf[16];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void usage(void)
{
    fprintf(stderr, "usage: pmirrord [-f] [-n] [-c FILE] [-D token,...] [-p PIDFILE]\n"
                    "  -c FILE   configuration file (default " PM_CONF_DEFAULT_PATH ")\n"
                    "  -f        stay in the foreground and log to stderr\n"
                    "  -n        check the configuration and exit\n"
                    "  -D LIST   debug output for these subsystems (or \"all\")\n"
                    "  -p FILE   write the process ID to FILE\n");
    exit(2);
}

static int write_pidfile(const char *path)
{
    char tmp[PM_PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) < 0)
        return -1;
    return 0;
}

static int setup_signals(void)
{
    struct sigaction sa;
    if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: select() returns EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf_path = PM_CONF_DEFAULT_PATH, *debug = NULL, *pidfile = NULL;
    int foreground = 0, check_only = 0, ch;
    char err[1024];
    struct pm_conf conf;

    while ((ch = getopt(argc, argv, "c:fnD:p:hV")) != -1) {
        switch (ch) {
        case 'c':
            conf_path = optarg;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'n':
            check_only = 1;
            break;
        case 'D':
            debug = optarg;
            break;
        case 'p':
            pidfile = optarg;
            break;
        case 'V':
            printf("pmirrord %s\n", PM_VERSION);
            return 0;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();

    log_init("pmirrord", LOG_TARGET_STDERR);
    if (debug != NULL && log_set_debug(debug, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: -D: %s\n", err);
        return 2;
    }
    if (conf_load(conf_path, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: %s\n", err);
        return 2;
    }
    if (check_only) {
        printf("%s: configuration OK\n", conf_path);
        conf_free(&conf);
        return 0;
    }

    if (!foreground) {
        if (daemon(0, 0) < 0) {
            fprintf(stderr, "pmirrord: daemon: %s\n", strerror(errno));
            return 1;
        }
        log_init("pmirrord", LOG_TARGET_SYSLOG);
    }
    if (setup_signals() < 0)
        fatal("main", "signals");
    if (pidfile != NULL && write_pidfile(pidfile) < 0)
        fatal("main", "cannot write pidfile %s", pidfile);

    if (agent_init(&conf, err, sizeof(err)) < 0)
        fatalx("main", "%s", err);
    if (agent_watch_fd(sig_pipe[0], on_sig_pipe, NULL) < 0)
        fatalx("main", "cannot watch the signal pipe");

    log_info("main", "pmirrord %s started", PM_VERSION);
    agent_run(&stop_requested);
    log_info("main", "stopping");
    agent_shutdown();
    conf_free(&conf);
    if (pidfile != NULL)
        unlink(pidfile);
    log_close();
    return 0;
}
