/*
 * pm_childtest - a child for tests/unit/test_supervise.c.  Reports over fd 3
 * what it received, one line each:
 *   fd N INODE       every open descriptor (from /proc/self/fd)
 *   env NAME=VALUE   every environment string
 *   arg ARG          argv[1..]
 *   blocked SIG      every blocked signal
 *   ignored SIG      every ignored signal
 *   ready
 * then reads commands from fd 3, one a line:
 *   exit N   exits with status N
 *   crash    raises SIGSYS (what a seccomp violation does)
 *   hang     ignores SIGTERM, answers "hanging", waits forever
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    FILE *out = fdopen(dup(3), "w");
    if (!out)
        return 100;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 101;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name);
        if (fd == dirfd(d) || fd == fileno(out))
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0)
            fprintf(out, "fd %d %llu\n", fd, (unsigned long long)st.st_ino);
    }
    closedir(d);
    for (char **v = environ; v && *v; v++)
        fprintf(out, "env %s\n", *v);
    for (int i = 1; i < argc; i++)
        fprintf(out, "arg %s\n", argv[i]);
    sigset_t mask;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    for (int s = 1; s < NSIG; s++) {
        struct sigaction sa;
        if (sigismember(&mask, s) == 1)
            fprintf(out, "blocked %d\n", s);
        if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            fprintf(out, "ignored %d\n", s);
    }
    fprintf(out, "ready\n");
    fflush(out);

    FILE *in = fdopen(3, "r");
    char line[128];
    while (in && fgets(line, sizeof(line), in)) {
        if (strncmp(line, "exit ", 5) == 0) {
            fclose(out);
            fclose(in);
            return atoi(line + 5);
        }
        if (strncmp(line, "crash", 5) == 0)
            raise(SIGSYS);
        if (strncmp(line, "hang", 4) == 0) {
            signal(SIGTERM, SIG_IGN);
            fprintf(out, "hanging\n");
            fflush(out);
            for (;;)
                pause();
        }
    }
    return 99;
}
