/*
 * daemon.c - pmirrord: command line, configuration check, detaching, and the
 * choice of process (docs/process-model.md).
 *
 *   pmirrord [-f] [-n] [-c FILE] [-D token,...] [-p PIDFILE] | -h | -V
 *   pmirrord -n [-c FILE] --ip-allow      (the systemd drop-in, ip_allow.h)
 *   pmirrord --child agent|capture [-f] [-D token,...]     (started by the monitor)
 *
 * Without --child this process becomes the monitor (monitor.c) once the
 * configuration has been read and validated (`-n` stops there) and, without
 * -f, it has detached (ready.h): the parent returns only when the daemon is
 * ready (status 0) or has failed to start (status 1, the reason on stderr).
 * With --child it is one of the monitor's children: the agent
 * (agent_proc.c) or the capture process (cap_proc.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "memlock.h"
#include "agent_proc.h"
#include "ip_allow.h"
#include "monitor.h"
#include "pmirrord/cap_proc.h"
#include "pmirrord/conf.h"
#include "pmirrord/daemon.h"
#include "pmirrord/log.h"
#include "pmirrord/supervise.h"
#include "ready.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PM_SANITIZED 1 /* the sanitizer's allocator replaces glibc's malloc */
#else
#define PM_SANITIZED 0
#endif

static void usage(FILE *out, const struct pm_daemon_hooks *hooks)
{
    char tokens[256];
    log_tokens(tokens, sizeof(tokens));
    fprintf(out,
            "usage: pmirrord [-f] [-n] [-c FILE] [-D TOKEN,...] [-p PIDFILE]\n"
            "       pmirrord -n [-c FILE] --ip-allow\n"
            "       pmirrord -h | --help | -V\n"
            "  -c FILE     configuration file (default " PM_CONF_DEFAULT_PATH ")\n"
            "  -f          stay in the foreground and log to stderr\n"
            "  -n          check the configuration, print the locked memory it needs, exit\n"
            "  -D TOKENS   debug output for these subsystems, comma-separated, or \"all\":\n"
            "              %s\n"
            "  -p PIDFILE  write the process ID to PIDFILE (and hold a lock on it)\n"
            "  --ip-allow  with -n: print the systemd drop-in with the IPAddressAllow= lines\n"
            "              for the file's trap hosts and analyzers (docs/systemd.md)\n"
            "  -h, --help  print this help and exit\n"
            "  -V          print the version and exit\n"
            "Without -f pmirrord runs in the background once it has started (logging to\n"
            "syslog, facility daemon; start-up messages also here), and exits non-zero\n"
            "with the reason if it cannot start.\n",
            tokens);
    if (hooks != NULL && hooks->usage != NULL)
        fputs(hooks->usage, out);
}

/* -n: warnings as plainly as errors ("pmirrord: warning: FILE:LINE: ..."). */
static void plain_sink(int prio, const char *token, const char *msg, void *arg)
{
    (void)token;
    (void)arg;
    if (prio == LOG_DEBUG)
        fprintf(stderr, "pmirrord: debug: %s\n", msg);
    else if (prio == LOG_INFO || prio == LOG_NOTICE)
        fprintf(stderr, "pmirrord: %s\n", msg);
    else
        fprintf(stderr, "pmirrord: %s: %s\n", log_prio_name(prio), msg);
}

/*
 * persistentDir is created at start-up (mode 0700), but not its parents: a
 * missing parent is a configuration error, named before anything starts.
 */
static int check_persistent_dir(const struct pm_conf *c, char *err, size_t errlen)
{
    char where[PM_PATH_MAX + 32], parent[PM_PATH_MAX];
    struct stat st;
    if (c->persistent_dir_where[0] != '\0')
        snprintf(where, sizeof(where), "%s: persistentDir", c->persistent_dir_where);
    else
        snprintf(where, sizeof(where), "persistentDir (default)");
    if (stat(c->persistent_dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        snprintf(err, errlen, "%s: %s is not a directory", where, c->persistent_dir);
        return -1;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
        snprintf(err, errlen, "%s: %s: %s", where, c->persistent_dir, strerror(errno));
        return -1;
    }
    snprintf(parent, sizeof(parent), "%s", c->persistent_dir);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') /* "/var/lib/pmirrord/" */
        parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    if (stat(parent, &st) < 0) {
        snprintf(err, errlen,
                 "%s: the parent directory %s of %s does not exist (%s); create it first: "
                 "pmirrord creates only %s itself",
                 where, parent, c->persistent_dir, strerror(errno), c->persistent_dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: the parent %s of %s is not a directory", where, parent,
                 c->persistent_dir);
        return -1;
    }
    return 0;
}

static void release_conf(void *arg)
{
    conf_free(arg);
}

/* A pidfile given relative to the start directory still names the same file
 * after the daemon moved to "/". */
static int absolute_path(const char *in, char *out, size_t outlen)
{
    char cwd[PATH_MAX];
    if (in[0] == '/')
        return snprintf(out, outlen, "%s", in) < (int)outlen ? 0 : -1;
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return -1;
    return snprintf(out, outlen, "%s/%s", cwd, in) < (int)outlen ? 0 : -1;
}

int pm_daemon_main(int argc, char **argv, const struct pm_daemon_hooks *hooks)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"ip-allow", no_argument, NULL, 'A'},
        {NULL, 0, NULL, 0},
    };
    const char *conf_path = PM_CONF_DEFAULT_PATH, *debug = NULL, *pidfile = NULL;
    char pidpath[PATH_MAX];
    int foreground = 0, check_only = 0, ip_allow = 0, ch, rc;
    char err[1024];
    struct pm_conf conf;

    /* Before any thread: one malloc arena for every thread.  Each further
     * glibc arena reserves a 64 MiB region (HEAP_MAX_SIZE, 128 MiB while it is
     * being aligned), all of it charged to RLIMIT_MEMLOCK under mlockall()
     * (docs/memory-locking.md). */
    if (mallopt(M_ARENA_MAX, 1) != 1 && !PM_SANITIZED) {
        fprintf(stderr, "pmirrord: mallopt(M_ARENA_MAX, 1) failed\n");
        return 1;
    }
    /* A child of the monitor (after mallopt(): the agent locks its memory). */
    const char *mode = sv_child_mode(argc, argv);
    if (mode != NULL) {
        int (*child_main)(int, char **, const struct pm_daemon_hooks *) = NULL;
        if (strcmp(mode, "agent") == 0)
            child_main = pm_agent_proc_main;
        else if (strcmp(mode, "capture") == 0)
            child_main = pm_capture_proc_main;
        if (child_main == NULL) {
            fprintf(stderr, "pmirrord: --child %s: no such process in this build\n", mode);
            return 2;
        }
        return child_main(argc, argv, hooks);
    }
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:fnD:p:hV", longopts, NULL)) != -1) {
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
        case 'A':
            ip_allow = 1;
            break;
        case 'h':
            usage(stdout, hooks);
            return 0;
        case 'V':
            printf("pmirrord %s\n", PM_VERSION);
            return 0;
        default:
            usage(stderr, hooks);
            return 2;
        }
    }
    if (ip_allow && !check_only) {
        fprintf(stderr, "pmirrord: --ip-allow goes with -n\n");
        return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "pmirrord: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr, hooks);
        return 2;
    }
    if (pidfile != NULL) {
        if (absolute_path(pidfile, pidpath, sizeof(pidpath)) < 0) {
            fprintf(stderr, "pmirrord: -p %s: path too long\n", pidfile);
            return 2;
        }
        pidfile = pidpath;
    }

    log_init("pmirrord", LOG_TARGET_STDERR);
    if (check_only)
        log_set_sink(plain_sink, NULL);
    if (debug != NULL && log_set_debug(debug, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: -D: %s\n", err);
        return 2;
    }
    if (conf_load(conf_path, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: %s\n", err);
        return 2;
    }
    if (check_persistent_dir(&conf, err, sizeof(err)) < 0 ||
        pm_monitor_check(&conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: %s\n", err);
        conf_free(&conf);
        return 2;
    }
    size_t memlock = pm_memlock_needed(&conf);
    if (ip_allow) {
        rc = pm_ip_allow_print(&conf, stdout);
        conf_free(&conf);
        return fflush(stdout) == 0 ? rc : 1;
    }
    if (check_only) {
        printf("%s: configuration OK\nmemlock: %zu bytes needed\n", conf_path, memlock);
        conf_free(&conf);
        return 0;
    }

    if (!foreground) {
        if (daemon_detach(release_conf, &conf, err, sizeof(err)) < 0) {
            /* In the child if fork() succeeded: the parent hears it. */
            fprintf(stderr, "pmirrord: %s\n", err);
            daemon_failed(err);
            conf_free(&conf);
            return 1;
        }
        log_init("pmirrord", LOG_TARGET_SYSLOG);
        /* Start-up messages also reach the terminal that ran pmirrord: a
         * host without syslog would lose them (README "Running pmirrord"). */
        log_set_echo(daemon_forward_log, NULL);
    }
    struct mon_options mo = {
        .conf_path = conf_path,
        .pidfile = pidfile,
        .debug = debug,
        .argv0 = argv[0],
        .foreground = foreground,
        .memlock = memlock,
    };
    rc = pm_monitor_run(&conf, &mo, hooks);
    log_close();
    return rc;
}
