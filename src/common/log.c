/*
 * log.c - subsystem-token logging to stderr or syslog (see log.h).
 *
 * stderr connected to systemd's journal (JOURNAL_STREAM names its device and
 * inode, systemd.exec(5)): each line starts with the syslog priority as
 * "<N>" (sd-daemon(3)) and has no time stamp, the journal keeps both.
 */
#include "pmirrord/log.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* Tokens a user may name with -D; keep in step with the callers. */
static const char *const known_tokens[] = {
    "main", "conf",  "agentx", "snmp",    "mib", "notify", "traphost", "slog",
    "ctl",  "event", "mon",    "capture", "sd",  "reload", NULL,
};

#define MAX_DEBUG_TOKENS 16

static struct {
    const char *progname;
    enum log_target target;
    int debug_all;
    char debug[MAX_DEBUG_TOKENS][16];
    int ndebug;
    log_sink_fn sink;
    void *sink_arg;
    log_sink_fn echo;
    void *echo_arg;
    int journal; /* stderr is the journal's stream */
} lg = {"pmirrord", LOG_TARGET_STDERR, 0, {{0}}, 0, NULL, NULL, NULL, NULL, 0};

static pthread_mutex_t lg_mtx = PTHREAD_MUTEX_INITIALIZER;

const char *log_prio_name(int prio)
{
    switch (prio) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
        return "fatal";
    case LOG_ERR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_NOTICE:
    case LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

static void default_sink(int prio, const char *token, const char *msg, void *arg)
{
    (void)arg;
    if (lg.target == LOG_TARGET_SYSLOG) {
        syslog(prio, "[%s] %s", token, msg);
        return;
    }
    if (lg.journal) {
        pthread_mutex_lock(&lg_mtx);
        fprintf(stderr, "<%d>%s[%s] %s: %s\n", prio & 7, lg.progname, token, log_prio_name(prio),
                msg);
        fflush(stderr);
        pthread_mutex_unlock(&lg_mtx);
        return;
    }
    struct timespec ts;
    struct tm tm;
    char tbuf[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
    pthread_mutex_lock(&lg_mtx);
    fprintf(stderr, "%s.%03ld %s[%s] %s: %s\n", tbuf, ts.tv_nsec / 1000000, lg.progname, token,
            log_prio_name(prio), msg);
    fflush(stderr);
    pthread_mutex_unlock(&lg_mtx);
}

void log_init(const char *progname, enum log_target target)
{
    lg.progname = progname;
    lg.target = target;
    if (target == LOG_TARGET_SYSLOG)
        openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    /* "DEV:INODE" of the journal's stream, as systemd sets it */
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    lg.journal = target == LOG_TARGET_STDERR && js != NULL &&
                 sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                 (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_close(void)
{
    if (lg.target == LOG_TARGET_SYSLOG)
        closelog();
}

void log_set_sink(log_sink_fn fn, void *arg)
{
    lg.sink = fn;
    lg.sink_arg = arg;
}

void log_set_echo(log_sink_fn fn, void *arg)
{
    lg.echo = fn;
    lg.echo_arg = arg;
}

size_t log_tokens(char *buf, size_t len)
{
    size_t n = 0;
    if (len > 0)
        buf[0] = '\0';
    for (int i = 0; known_tokens[i] != NULL && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i > 0 ? ", " : "", known_tokens[i]);
    return n;
}

int log_set_debug(const char *csv, char *err, size_t errlen)
{
    char buf[256];
    char *save = NULL;
    snprintf(buf, sizeof(buf), "%s", csv);
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "all") == 0) {
            lg.debug_all = 1;
            continue;
        }
        int known = 0;
        for (int i = 0; known_tokens[i] != NULL; i++)
            if (strcmp(known_tokens[i], t) == 0)
                known = 1;
        if (!known) {
            size_t n = (size_t)snprintf(err, errlen, "unknown debug token \"%s\" (valid: all", t);
            for (int i = 0; known_tokens[i] != NULL && n < errlen; i++)
                n += (size_t)snprintf(err + n, errlen - n, ", %s", known_tokens[i]);
            if (n < errlen)
                snprintf(err + n, errlen - n, ")");
            return -1;
        }
        if (lg.ndebug < MAX_DEBUG_TOKENS)
            snprintf(lg.debug[lg.ndebug++], sizeof(lg.debug[0]), "%s", t);
    }
    return 0;
}

int log_debug_enabled(const char *token)
{
    if (lg.debug_all)
        return 1;
    for (int i = 0; i < lg.ndebug; i++)
        if (strcmp(lg.debug[i], token) == 0)
            return 1;
    return 0;
}

void log_vmsg(int prio, const char *token, const char *fmt, va_list ap)
{
    char msg[1024];
    if (prio == LOG_DEBUG && !log_debug_enabled(token))
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* One line per message: a newline from the data logged (a name, an
     * error text, a child's record) would start a line of its own, on the
     * journal's stream with a priority prefix ("<0>") of its choice. */
    for (char *c = msg; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    if (lg.sink != NULL)
        lg.sink(prio, token, msg, lg.sink_arg);
    else
        default_sink(prio, token, msg, NULL);
    if (lg.echo != NULL && prio != LOG_DEBUG)
        lg.echo(prio, token, msg, lg.echo_arg);
}

void log_msg(int prio, const char *token, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(prio, token, fmt, ap);
    va_end(ap);
}

static void log_errno(int prio, const char *token, int saved, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    log_msg(prio, token, "%s: %s", msg, strerror(saved));
}

void log_warn(const char *token, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    log_errno(LOG_WARNING, token, saved, fmt, ap);
    va_end(ap);
}

void log_warnx(const char *token, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(LOG_WARNING, token, fmt, ap);
    va_end(ap);
}

void log_error(const char *token, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(LOG_ERR, token, fmt, ap);
    va_end(ap);
}

void log_info(const char *token, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(LOG_INFO, token, fmt, ap);
    va_end(ap);
}

void log_debug(const char *token, const char *fmt, ...)
{
    va_list ap;
    if (!log_debug_enabled(token))
        return;
    va_start(ap, fmt);
    log_vmsg(LOG_DEBUG, token, fmt, ap);
    va_end(ap);
}

void fatal(const char *token, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    log_errno(LOG_CRIT, token, saved, fmt, ap);
    va_end(ap);
    exit(1);
}

void fatalx(const char *token, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(LOG_CRIT, token, fmt, ap);
    va_end(ap);
    exit(1);
}

void log_pipe_write(int fd, int prio, const char *token, const char *msg)
{
    char line[1400];
    int n = snprintf(line, sizeof(line), "LOG %s %s %s", log_prio_name(prio), token, msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    for (int i = 0; i < n; i++)
        if (line[i] == '\n')
            line[i] = ' '; /* one line per message */
    line[n] = '\n';
    /* one write below PIPE_BUF: lines of several processes never interleave;
     * EPIPE (the parent gone) is ignored, SIGPIPE is */
    ssize_t w;
    do
        w = write(fd, line, (size_t)n + 1);
    while (w < 0 && errno == EINTR);
}
