/*
 * ctl_testd.c - a control server with a few commands, for testing pmirrorctl
 * without the daemon (tests/integration/test_ctl_cli.py).
 *
 *   ctl_testd -s SOCKET [-g GROUP] [-H SECRET_HASH] [-b BACKOFF_MS] [-o]
 *
 * Prints "ready" once the socket listens, one "refused uid=.. gid=.. why=.."
 * line per refusal or failed mirror-enable report and one "enabled uid=.."
 * line per successful mirror-enable; stops on SIGTERM/SIGINT.  -o opens the socket (0666) and
 * its directory (0755) to everybody, so that only the server's peer check
 * stands between an unprivileged client and the commands.
 */
#include "pmirrord/ctl_server.h"

#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int h_things(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    ctl_reply_kv(r, "Enabled Categories", "CliSecurity, PacketMirror");
    ctl_reply_kv_int(r, "Hosts", 2);
    ctl_reply_table(r, "hosts", "Address", "Port", (char *)NULL);
    ctl_reply_row(r, "10.16.2.12", "162", (char *)NULL);
    ctl_reply_row(r, "10.0.0.1", "1162", (char *)NULL);
    return 0;
}

static int h_mirror_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    ctl_reply_table(r, "entries", "Time", "Mirror-ID", "Session-ID", (char *)NULL);
    ctl_reply_row(r, "Mon Jan  1 00:00:00 2024", "42", "sess-1", (char *)NULL);
    return 0;
}

static int h_echo(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    if (argc < 1) {
        ctl_reply_error(r, "%s: address missing", (const char *)arg);
        return -1;
    }
    for (int i = 0; i < argc; i++)
        ctl_reply_printf(r, "%s[%s]", i ? " " : "", argv[i]);
    ctl_reply_printf(r, "\n");
    return 0;
}

static void on_event(const struct ctl_event *ev, void *arg)
{
    printf("%s uid=%u gid=%u why=%s\n", ev->kind == CTL_EV_ENABLE_OK ? "enabled" : "refused",
           (unsigned)ev->peer.uid, (unsigned)ev->peer.gid, ev->why);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *path = NULL, *group = NULL, *hash = NULL;
    unsigned backoff = 0;
    int open_all = 0, ch;
    while ((ch = getopt(argc, argv, "s:g:H:b:o")) != -1) {
        switch (ch) {
        case 's':
            path = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'H':
            hash = optarg;
            break;
        case 'b':
            backoff = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'o':
            open_all = 1;
            break;
        default:
            fprintf(stderr, "usage: ctl_testd -s SOCKET [-g GROUP] [-H HASH] [-b MS] [-o]\n");
            return 2;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "ctl_testd: -s SOCKET is required\n");
        return 2;
    }
    /* SIGTERM/SIGINT are taken with sigwait() below; block them before any thread */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    char err[256];
    struct ctl_server *s = ctl_server_new(path, group, hash, err, sizeof err);
    if (s == NULL) {
        fprintf(stderr, "ctl_testd: %s\n", err);
        return 1;
    }
    ctl_server_set_event_cb(s, on_event, NULL);
    if (backoff)
        ctl_server_set_backoff(s, backoff, backoff * 4);
    if (ctl_server_add_command(s, "show things", 0, "Show some things", h_things, NULL, err,
                               sizeof err) < 0 ||
        ctl_server_add_command(s, "show mirror log", CTL_F_MIRROR, "Show the secure mirror log",
                               h_mirror_log, NULL, err, sizeof err) < 0 ||
        ctl_server_add_command(s, "trap-host add <address> [port] [words...]", 0, "Add a trap host",
                               h_echo, "trap-host add", err, sizeof err) < 0 ||
        ctl_server_add_command(s, "no snmp secure-log [words...]", CTL_F_MIRROR,
                               "Stop the secure log", h_echo, "no snmp secure-log", err,
                               sizeof err) < 0 ||
        ctl_server_start(s, err, sizeof err) < 0) {
        fprintf(stderr, "ctl_testd: %s\n", err);
        ctl_server_free(s);
        return 1;
    }
    if (open_all) {
        char d[4096];
        snprintf(d, sizeof d, "%s", path);
        if (chmod(path, 0666) < 0 || chmod(dirname(d), 0755) < 0)
            perror("ctl_testd: chmod");
    }
    printf("ready\n");
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    ctl_server_free(s);
    return 0;
}
