/*
 * sdnotify.c - the monitor's messages to systemd through libsystemd's
 * sd_notify(3) (sdnotify.h, docs/systemd.md).
 *
 * sdn_init() takes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID out of the
 * environment once, before any child is started: the children are started
 * with an environment of their own (monitor.c) and, even so, nothing they
 * could inherit names the notification socket.  sd_notify() reads the socket
 * from the environment, so each message puts NOTIFY_SOCKET back for the one
 * call and sd_notify(unset_environment=1) takes it out again; the monitor is
 * single-threaded, nothing else reads the environment meanwhile.
 */
#include "pmirrord/sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "pmirrord/log.h"

#define SDN_SOCKET_MAX 256 /* sockaddr_un path, or "@abstract" */

static struct {
    int inited;
    char socket[SDN_SOCKET_MAX]; /* "" : not started by systemd */
    uint64_t watchdog_usec;
    int failed_logged; /* a failed send is logged once */
} sdn;

void sdn_init(void)
{
    if (sdn.inited)
        return;
    sdn.inited = 1;
    const char *s = getenv("NOTIFY_SOCKET");
    if (s != NULL && s[0] != '\0') {
        if (strlen(s) < sizeof(sdn.socket))
            snprintf(sdn.socket, sizeof(sdn.socket), "%s", s);
        else
            log_warnx("sd", "NOTIFY_SOCKET longer than %d octets: systemd is not told anything",
                      SDN_SOCKET_MAX - 1);
    }
    /* sd_watchdog_enabled() checks WATCHDOG_PID against our PID and, with
     * unset_environment, removes both variables. */
    uint64_t usec = 0;
    int r = sd_watchdog_enabled(1, &usec);
    if (r > 0 && sdn.socket[0] != '\0')
        sdn.watchdog_usec = usec;
    else if (r < 0)
        log_warnx("sd", "WATCHDOG_USEC: %s; no watchdog", strerror(-r));
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    if (sdn.socket[0] != '\0')
        log_debug("sd", "notifications to systemd on; watchdog %llu us",
                  (unsigned long long)sdn.watchdog_usec);
}

static void send_msg(const char *msg)
{
    if (sdn.socket[0] == '\0')
        return;
    if (setenv("NOTIFY_SOCKET", sdn.socket, 1) < 0) {
        if (!sdn.failed_logged++)
            log_warn("sd", "setenv NOTIFY_SOCKET");
        return;
    }
    int r = sd_notify(1, msg); /* 1: unsets NOTIFY_SOCKET again */
    unsetenv("NOTIFY_SOCKET");
    if (r < 0 && !sdn.failed_logged++)
        log_warnx("sd", "cannot notify systemd: %s (logged once)", strerror(-r));
    else if (r > 0)
        sdn.failed_logged = 0; /* working again: a new failure is logged */
}

/* "KEY=...\nSTATUS=text": a status is one line, without control characters. */
static void with_status(const char *head, const char *status)
{
    char msg[512];
    size_t n = (size_t)snprintf(msg, sizeof(msg), "%s", head);
    if (status != NULL && n < sizeof(msg)) {
        n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%sSTATUS=", n > 0 ? "\n" : "");
        for (const char *s = status; *s != '\0' && n + 1 < sizeof(msg); s++)
            msg[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
        if (n >= sizeof(msg))
            n = sizeof(msg) - 1;
        msg[n] = '\0';
    }
    send_msg(msg);
}

void sdn_ready(const char *status)
{
    with_status("READY=1", status);
}

void sdn_reloading(void)
{
    with_status("RELOADING=1", "reloading the configuration");
}

void sdn_status(const char *fmt, ...)
{
    char text[400];
    va_list ap;
    if (sdn.socket[0] == '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    with_status("", text);
}

void sdn_stopping(void)
{
    with_status("STOPPING=1", "stopping");
}

uint64_t sdn_watchdog_usec(void)
{
    return sdn.watchdog_usec;
}

void sdn_watchdog(void)
{
    if (sdn.watchdog_usec > 0)
        send_msg("WATCHDOG=1");
}
