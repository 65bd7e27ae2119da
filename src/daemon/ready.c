/*
 * ready.c - the start-up result for a waiting parent (see ready.h).
 *
 * Protocol on the pipe, child to parent: "READY\n", or "FAILED <reason>\n";
 * end of file without either means the child died (the parent reports how).
 */
#include "ready.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int ready_fd = -1;

static void send_line(const char *s)
{
    if (ready_fd < 0)
        return;
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(ready_fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
    close(ready_fd);
    ready_fd = -1;
}

void daemon_ready(void)
{
    send_line("READY\n");
}

void daemon_failed(const char *why)
{
    char line[1200];
    snprintf(line, sizeof(line), "FAILED %s\n", why);
    send_line(line);
}

static int parent_wait(int fd, pid_t child)
{
    char buf[1200];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == sizeof(buf) - 1)
            break;
    }
    close(fd);
    buf[n] = '\0';
    if (strcmp(buf, "READY\n") == 0)
        return 0;
    if (strncmp(buf, "FAILED ", 7) == 0) {
        buf[strcspn(buf, "\n")] = '\0';
        fprintf(stderr, "pmirrord: %s\n", buf + 7);
        (void)waitpid(child, NULL, 0);
        return 1;
    }
    int st = 0;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
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
