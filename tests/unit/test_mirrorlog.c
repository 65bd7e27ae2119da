/*
 * test_mirrorlog.c - entries of the secure mirror log (src/slog/mirrorlog.c).
 */
#include "pmirrord/mirrorlog.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/slog_ring.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static char last[512];

static int keep_last(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    (void)seq;
    (void)ts;
    (void)arg;
    snprintf(last, sizeof(last), "%s", text);
    return 0;
}

static struct slog_ring *ring;

static const char *logged(const struct pm_event *ev)
{
    pm_mirrorlog_event(ev);
    last[0] = '\0';
    slog_ring_foreach(ring, keep_last, NULL);
    return last;
}

/* A session notification: every intercept field. */
static void test_session_event(void)
{
    struct pm_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_SESSION_START;
    ev.config_source = 3;
    ev.trigger_type = 0;
    snprintf(ev.trigger, sizeof(ev.trigger), "veth0");
    ev.mirror_id = 10;
    ev.session_id = 1;
    inet_pton(AF_INET, "127.0.0.5", &ev.analyzer_ip);
    CHECK(strcmp(logged(&ev), "activation SessionStart mirror-id=10 session-id=1 "
                              "trigger-type=interfaceString trigger=\"veth0\" source=cliStatic "
                              "analyzer=127.0.0.5") == 0);
}

/* AnalyzerUnreachable carries the date, the analyzer and the router ID only: its entry
 * showed "mirror-id=0 session-id=0 trigger-type=interfaceString trigger=\"\"
 * source=radiusLogin", fields the event does not have, read as a RADIUS login. */
static void test_analyzer_unreachable(void)
{
    struct pm_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_ANALYZER_UNREACHABLE;
    ev.router_id = 7;
    inet_pton(AF_INET, "127.0.0.5", &ev.analyzer_ip);
    const char *s = logged(&ev);
    CHECK(strcmp(s, "failure AnalyzerUnreachable router-id=7 analyzer=127.0.0.5") == 0);
    CHECK(strstr(s, "radiusLogin") == NULL && strstr(s, "mirror-id") == NULL);
    ev.analyzer_ip = 0; /* an IPv6 analyzer: the capture's own entry has the address */
    CHECK(strcmp(logged(&ev), "failure AnalyzerUnreachable router-id=7 analyzer=-") == 0);
}

int main(void)
{
    char err[256] = "";
    ring = slog_ring_new(8, 1024, err, sizeof(err));
    if (ring == NULL)
        fprintf(stderr, "slog_ring_new: %s\n", err);
    CHECK(ring != NULL);
    pm_mirrorlog_init(ring);
    test_session_event();
    test_analyzer_unreachable();
    pm_mirrorlog_init(NULL);
    slog_ring_free(ring);
    printf("test_mirrorlog: all passed\n");
    return 0;
}
