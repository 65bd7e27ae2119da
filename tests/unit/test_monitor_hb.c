/*
 * test_monitor_hb.c - the monitor's heartbeats and the watchdog rule
 * (src/daemon/monitor_hb.c, docs/systemd.md), with sd_notify() going to a
 * datagram socket this test binds as NOTIFY_SOCKET (WATCHDOG_USEC 1 s):
 * an answer counts only for a question asked and not yet answered; the
 * watchdog is fed when due while both children answered within W and no
 * live source was quiet longer than W, before READY regardless; never to a
 * child that is not ready; the children's environment loses NOTIFY_SOCKET.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "daemon/monitor.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"
#include "pmirrord/sdnotify.h"

static int nsock = -1;

/* The datagrams that came, joined by '|'. */
static void drain(char *out, size_t len)
{
    char buf[512];
    ssize_t n;
    out[0] = '\0';
    while ((n = recv(nsock, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
        buf[n] = '\0';
        if (out[0] != '\0')
            strncat(out, "|", len - strlen(out) - 1);
        strncat(out, buf, len - strlen(out) - 1);
    }
}

static struct ipc_heartbeat answer(uint64_t seq, int sources, uint32_t n, uint64_t quiet)
{
    struct ipc_heartbeat a;
    memset(&a, 0, sizeof(a));
    a.seq = seq;
    a.has_sources = sources;
    a.sources = n;
    a.quiet_ms = quiet;
    return a;
}

int main(void)
{
    char path[108], got[2048];
    snprintf(path, sizeof(path), "/tmp/pm-hb-%ld.sock", (long)getpid());
    unlink(path);
    nsock = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    CHECK(nsock >= 0 && bind(nsock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "1000000", 1);
    log_init("test_monitor_hb", LOG_TARGET_STDERR);

    sdn_init();
    /* taken out of the environment the children inherit */
    CHECK(getenv("NOTIFY_SOCKET") == NULL && getenv("WATCHDOG_USEC") == NULL);
    CHECK(sdn_watchdog_usec() == 1000000);
    sdn_status("starting");
    drain(got, sizeof(got));
    CHECK(strcmp(got, "STATUS=starting") == 0);
    CHECK(getenv("NOTIFY_SOCKET") == NULL); /* put back for the call only */

    uint64_t t = 1000000; /* a monotonic ms clock of our own */
    mon_wd_init(t);
    /* heartbeats every W/4 = 250 ms, the first one after that */
    CHECK(mon_hb_due(t) == 0 && mon_hb_due(t + 250) == 1 && mon_hb_due(t + 260) == 0);
    CHECK(mon_wd_timeout_ms(t) == 0); /* the first feed is due at once */

    struct mon_hb agent, cap;
    memset(&agent, 0, sizeof(agent));
    memset(&cap, 0, sizeof(cap));
    struct mon_wd_child c[2] = {{"agent", 0, 0, &agent}, {"capture", 1, 0, &cap}};

    /* before READY: fed, whatever the children do */
    mon_wd_check(c, 2, 0, t);
    drain(got, sizeof(got));
    CHECK(strcmp(got, "WATCHDOG=1") == 0);
    mon_wd_check(c, 2, 0, t + 100); /* not due yet: every W/2 */
    drain(got, sizeof(got));
    CHECK(got[0] == '\0');

    /* both ready: asked and answered */
    mon_hb_start(&agent, t + 500);
    mon_hb_start(&cap, t + 500);
    c[0].ready = c[1].ready = 1;
    struct ipc_heartbeat a = answer(1, 0, 0, 0);
    CHECK(mon_hb_answer(&agent, &a, t + 510) == -1); /* nothing asked yet */
    CHECK(agent.bad == 1);
    agent.asked_seq = cap.asked_seq = 1; /* as mon_hb_ask() counts */
    CHECK(mon_hb_answer(&agent, &a, t + 510) == 0);
    CHECK(mon_hb_answer(&agent, &a, t + 511) == -1); /* the same again */
    a = answer(2, 0, 0, 0);
    CHECK(mon_hb_answer(&agent, &a, t + 512) == -1); /* never asked */
    CHECK(agent.bad == 3 && agent.answer_ms == t + 510);
    a = answer(1, 1, 2, 40);
    CHECK(mon_hb_answer(&cap, &a, t + 520) == 0);
    CHECK(cap.has_sources && cap.sources == 2 && cap.quiet_ms == 40);
    mon_wd_check(c, 2, 1, t + 600);
    drain(got, sizeof(got));
    CHECK(strcmp(got, "WATCHDOG=1") == 0);

    /* the capture process silent for more than W: not fed */
    agent.asked_seq = 2;
    a = answer(2, 0, 0, 0);
    CHECK(mon_hb_answer(&agent, &a, t + 1500) == 0);
    mon_wd_check(c, 2, 1, t + 1600); /* capture's answer 1080 ms old */
    drain(got, sizeof(got));
    CHECK(got[0] == '\0');
    /* it answers again, but a live source was quiet longer than W */
    cap.asked_seq = 2;
    a = answer(2, 1, 2, 1200);
    CHECK(mon_hb_answer(&cap, &a, t + 1650) == 0);
    mon_wd_check(c, 2, 1, t + 2200);
    drain(got, sizeof(got));
    CHECK(got[0] == '\0');
    /* no live source at all is fine (nothing a restart would bring back) */
    cap.asked_seq = 3;
    a = answer(3, 1, 0, 0);
    CHECK(mon_hb_answer(&cap, &a, t + 2300) == 0);
    agent.asked_seq = 3;
    a = answer(3, 0, 0, 0);
    CHECK(mon_hb_answer(&agent, &a, t + 2300) == 0);
    mon_wd_check(c, 2, 1, t + 2800);
    drain(got, sizeof(got));
    CHECK(strcmp(got, "WATCHDOG=1") == 0);

    /* a child that died is not asked and stops the feeding */
    mon_hb_stop(&agent);
    CHECK(mon_hb_ask(NULL, &agent) == 0 && agent.asked_seq == 3);
    a = answer(3, 0, 0, 0);
    CHECK(mon_hb_answer(&agent, &a, t + 2900) == -1);
    mon_wd_check(c, 2, 1, t + 3400);
    drain(got, sizeof(got));
    CHECK(got[0] == '\0');
    /* started again and READY: its READY counts as an answer until the first */
    mon_hb_start(&agent, t + 3500);
    cap.asked_seq = 4;
    a = answer(4, 1, 1, 10);
    CHECK(mon_hb_answer(&cap, &a, t + 3500) == 0);
    mon_wd_check(c, 2, 1, t + 3900);
    drain(got, sizeof(got));
    CHECK(strcmp(got, "WATCHDOG=1") == 0);

    sdn_stopping();
    drain(got, sizeof(got));
    CHECK(strcmp(got, "STOPPING=1\nSTATUS=stopping") == 0);
    sdn_ready("running: a\nb"); /* one line: controls made blanks */
    drain(got, sizeof(got));
    CHECK(strcmp(got, "READY=1\nSTATUS=running: a b") == 0);

    close(nsock);
    unlink(path);
    puts("test_monitor_hb: ok");
    return 0;
}
