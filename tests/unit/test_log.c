/*
 * test_log.c - log.c: a message is one line whatever it carries; on the
 * journal's stream (JOURNAL_STREAM) a newline in a message would start a
 * line of its own, with a priority prefix ("<0>") of the writer's choice.
 */
#include "pmirrord/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"

/* What one log_msg() with text writes to stderr (a pipe), journal or not. */
static void one_line(int journal, const char *text)
{
    int p[2];
    CHECK(pipe(p) == 0);
    int saved = dup(STDERR_FILENO);
    CHECK(saved >= 0 && dup2(p[1], STDERR_FILENO) == STDERR_FILENO);
    close(p[1]);
    struct stat st;
    CHECK(fstat(STDERR_FILENO, &st) == 0);
    char js[64];
    snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    if (journal)
        setenv("JOURNAL_STREAM", js, 1);
    else
        unsetenv("JOURNAL_STREAM");
    log_init("test_log", LOG_TARGET_STDERR);
    log_msg(LOG_INFO, "daemon", "name %s end", text);
    CHECK(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    close(saved);
    char buf[2048];
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    CHECK(n > 0);
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    CHECK(nl != NULL && nl[1] == '\0'); /* one line, ended */
    CHECK(strchr(buf, '\r') == NULL);
    CHECK(strstr(buf, " end\n") != NULL); /* the rest of the message kept */
    if (journal)
        CHECK(strncmp(buf, "<6>test_log[daemon] info: name ", 31) == 0);
}

int main(void)
{
    one_line(1, "plain");
    one_line(1, "x\n<0>test_log[daemon] fatal: forged");
    one_line(1, "x\r\n<2>forged\x1b[2J");
    one_line(0, "x\n12:00:00.000 test_log[daemon] fatal: forged");
    unsetenv("JOURNAL_STREAM");
    return 0;
}
