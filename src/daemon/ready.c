/*
 * ready.c - the start-up result for a waiting parent (see ready.h).
 *
 * Protocol on the pipe, child to parent: any number of "LOG <level> <token>
 * <message>\n" (start-up messages, which the parent prints on its stderr as
 * -f would), then "READY <word>\n", or "FAILED <word> <reason>\n"; end of
 * file without either means the child died (the parent reports how).  The
 * daemon's own children write LOG lines to the same pipe; <word> is random,
 * known only to the forked daemon, so only it can end the start-up.
 */
#include "ready.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/random.h>
#include <unistd.h>

#include "pmirrord/escape.h"
#include "pmirrord/log.h"

/* Start-up messages are logged from the agent thread and from threads that
 * hooks start before readiness: one writer at a time. */
static pthread_mutex_t ready_mtx = PTHREAD_MUTEX_INITIALIZER;
static int ready_fd = -1;
/* The children of the daemon write LOG lines to the same pipe (IPC_FD_START_LOG):
 * READY and FAILED count only with this random word, which only the process
 * that forked knows (a child is a fresh execve and never sees it). */
static char ready_word[33];

#define LINE_MAX_LEN 1400 /* a log message (1024) and its prefix */

static void write_all(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(ready_fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* EPIPE: the parent is gone; start-up goes on without it */
        s += w;
        n -= (size_t)w;
    }
}

static void send_last(const char *s)
{
    pthread_mutex_lock(&ready_mtx);
    if (ready_fd >= 0) {
        write_all(s);
        close(ready_fd);
        ready_fd = -1;
    }
    pthread_mutex_unlock(&ready_mtx);
}

void daemon_forward_log(int prio, const char *token, const char *msg, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&ready_mtx);
    if (ready_fd >= 0)
        log_pipe_write(ready_fd, prio, token, msg);
    pthread_mutex_unlock(&ready_mtx);
}

int daemon_ready_fd(void)
{
    pthread_mutex_lock(&ready_mtx);
    int fd = ready_fd;
    pthread_mutex_unlock(&ready_mtx);
    return fd;
}

void daemon_adopt_log_fd(int fd)
{
    pthread_mutex_lock(&ready_mtx);
    if (ready_fd >= 0)
        close(ready_fd);
    ready_fd = fd;
    pthread_mutex_unlock(&ready_mtx);
    log_set_echo(daemon_forward_log, NULL);
}

void daemon_release(void)
{
    log_set_echo(NULL, NULL);
    pthread_mutex_lock(&ready_mtx);
    if (ready_fd >= 0)
        close(ready_fd);
    ready_fd = -1;
    pthread_mutex_unlock(&ready_mtx);
}

void daemon_ready(void)
{
    char line[64];
    snprintf(line, sizeof(line), "READY %s\n", ready_word);
    send_last(line);
}

void daemon_failed(const char *why)
{
    char line[LINE_MAX_LEN];
    snprintf(line, sizeof(line), "FAILED %s %s\n", ready_word, why);
    send_last(line);
}

/* Printed escaped (escape.h): a start-up message may quote what a file or a
 * peer wrote, and must not drive the terminal.  Its own quotes stay as they
 * are, as with -f (a value it quotes was escaped when the line was made). */
static void print_escaped(const char *prefix, const char *msg)
{
    char esc[4 * LINE_MAX_LEN + 1];
    pm_escape_text(esc, sizeof(esc), msg, strlen(msg));
    fprintf(stderr, "%s%s\n", prefix, esc);
}

/* One line from the child; returns 0 ready, 1 failed, -1 go on. */
static int parent_line(char *line)
{
    size_t w = strlen(ready_word);
    if (strncmp(line, "READY ", 6) == 0 && strcmp(line + 6, ready_word) == 0)
        return 0;
    if (strncmp(line, "FAILED ", 7) == 0 && strncmp(line + 7, ready_word, w) == 0 &&
        line[7 + w] == ' ') {
        print_escaped("pmirrord: ", line + 8 + w);
        return 1;
    }
    if (strncmp(line, "LOG ", 4) == 0) {
        /* "LOG level token message" -> "pmirrord[token] level: message" */
        char *level = line + 4, *token = strchr(level, ' ');
        char *msg = token != NULL ? strchr(token + 1, ' ') : NULL;
        if (msg != NULL) {
            *token++ = '\0';
            *msg++ = '\0';
            char prefix[128], t[64], l[32];
            pm_escape(t, sizeof(t), token, strlen(token));
            pm_escape(l, sizeof(l), level, strlen(level));
            snprintf(prefix, sizeof(prefix), "pmirrord[%s] %s: ", t, l);
            print_escaped(prefix, msg);
        }
    }
    return -1;
}

static int parent_wait(int fd, pid_t child)
{
    char buf[2 * LINE_MAX_LEN];
    size_t n = 0;
    int result = -1;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        char *p = buf, *nl;
        while ((nl = strchr(p, '\n')) != NULL) {
            *nl = '\0';
            int lr = parent_line(p);
            if (lr >= 0)
                result = lr;
            p = nl + 1;
        }
        n = (size_t)(buf + n - p);
        memmove(buf, p, n);
        if (n == sizeof(buf) - 1)
            n = 0; /* no line is this long: drop it */
    }
    close(fd);
    fflush(stderr);
    if (result == 0)
        return 0;
    int st = 0;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    if (result == 1)
        return 1;
    if (WIFSIGNALED(st))
        fprintf(stderr, "pmirrord: start-up failed: killed by signal %d\n", WTERMSIG(st));
    else
        fprintf(stderr, "pmirrord: start-up failed (exit status %d); see the system log\n",
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 1;
}

int daemon_detach(void (*release)(void *), void *arg, char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        snprintf(err, errlen, "getrandom: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(ready_word + 2 * i, 3, "%02x", rnd[i]);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        int rc = parent_wait(p[0], pid);
        if (release != NULL)
            release(arg);
        exit(rc);
    }
    close(p[0]);
    /* Before anything is written to the pipe: a parent that is gone (killed,
     * its terminal closed) must not take the starting daemon with it.  The
     * daemon ignores SIGPIPE for good later on (daemon.c). */
    signal(SIGPIPE, SIG_IGN);
    ready_fd = p[1];
    if (setsid() < 0 || chdir("/") < 0) {
        snprintf(err, errlen, "setsid/chdir: %s", strerror(errno));
        return -1;
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) {
        snprintf(err, errlen, "/dev/null: %s", strerror(errno));
        return -1;
    }
    if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
        snprintf(err, errlen, "dup2: %s", strerror(errno));
        return -1;
    }
    if (null > 2)
        close(null);
    return 0;
}
