/*
 * log.h - logging by subsystem token, with a replaceable sink.
 *
 * Every message carries a short subsystem token ("agentx", "conf", "ctl",
 * "notify", "slog", ...).  Debug messages are printed only for tokens enabled
 * with log_set_debug() (-D agentx,conf) or for all with "all".
 *
 * Nothing that identifies a mirrored subscriber, a trigger, an analyzer or a
 * mirror ID may be passed to these functions: only the secure logs
 * (slog_ring.h) may hold those.
 *
 * All functions are thread-safe: one message is formatted into a local
 * buffer and handed to the sink in one call.
 */
#ifndef PMIRRORD_LOG_H
#define PMIRRORD_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define PM_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum log_target {
    LOG_TARGET_STDERR = 0,
    LOG_TARGET_SYSLOG = 1,
};

/* Sink: receives one formatted message (no trailing newline). */
typedef void (*log_sink_fn)(int prio, const char *token, const char *msg, void *arg);

void log_init(const char *progname, enum log_target target);
/* csv of tokens, or "all"; returns -1 and fills err (naming the valid
 * tokens) on an unknown one. */
int log_set_debug(const char *csv, char *err, size_t errlen);
int log_debug_enabled(const char *token);
/* Replace the sink (NULL restores the default stderr/syslog sink). */
void log_set_sink(log_sink_fn fn, void *arg);
/* A second receiver of every message but debug ones, after the sink (NULL:
 * none).  Set it before any thread is started; fn must be thread-safe.  The
 * daemon uses it to show its start-up messages on the terminal that started
 * it (src/daemon/ready.h). */
void log_set_echo(log_sink_fn fn, void *arg);
/* "error", "warning", "info", "debug" ("fatal" above error) for a syslog priority. */
const char *log_prio_name(int prio);
/* One message as a line "LOG level token message\n" (newlines in it made
 * blanks, at most 1400 octets) in a single write(2) to fd: the start-up pipe
 * to the command that started a detached daemon (docs/process-model.md). */
void log_pipe_write(int fd, int prio, const char *token, const char *msg);
/* The tokens -D accepts, ", "-separated, into buf; returns the length wanted. */
size_t log_tokens(char *buf, size_t len);
void log_close(void);

void log_warn(const char *token, const char *fmt, ...) PM_PRINTF(2, 3); /* appends strerror */
void log_warnx(const char *token, const char *fmt, ...) PM_PRINTF(2, 3);
/* Something failed that stops the daemon (a start-up step): error level. */
void log_error(const char *token, const char *fmt, ...) PM_PRINTF(2, 3);
void log_info(const char *token, const char *fmt, ...) PM_PRINTF(2, 3);
void log_debug(const char *token, const char *fmt, ...) PM_PRINTF(2, 3);
void log_msg(int prio, const char *token, const char *fmt, ...) PM_PRINTF(3, 4);
void log_vmsg(int prio, const char *token, const char *fmt, va_list ap) PM_PRINTF(3, 0);
/* Broken invariants only: log and exit(1). */
void fatal(const char *token, const char *fmt, ...) PM_PRINTF(2, 3) __attribute__((noreturn));
void fatalx(const char *token, const char *fmt, ...) PM_PRINTF(2, 3) __attribute__((noreturn));

#endif
