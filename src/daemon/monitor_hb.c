/*
 * monitor_hb.c - the monitor's heartbeats to its children and systemd's
 * watchdog (monitor.h, docs/systemd.md).
 *
 * Every MON_HB_MS (a quarter of the watchdog interval when that is shorter)
 * the monitor sends a HEARTBEAT on the monitor channel of each child that
 * said READY; the child answers from the loop that does its work, the
 * capture process with its live sources and the longest time one of them went
 * without a packet or an idle poll (docs/ipc-protocol.md, "7 HEARTBEAT").
 *
 * Every half watchdog interval (W) the monitor feeds the watchdog (WATCHDOG=1)
 * if, for both children, it is ready and its last answer (or, before the
 * first, its READY) is at most W old, and the capture process's live sources
 * were all quiet for at most W.  Before the daemon is ready it feeds
 * unconditionally: start-up has its own limit (MON_START_MS).  When it stops
 * feeding it logs why, once ("sd"), and once again when it feeds again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "monitor.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"
#include "pmirrord/sdnotify.h"

static struct {
    uint64_t window_ms; /* W: the watchdog interval, 0 none */
    uint64_t hb_ms;     /* between heartbeats */
    uint64_t next_hb_ms, next_feed_ms;
    int starving; /* not fed at the last check: said once */
} wd;

void mon_wd_init(uint64_t now_ms)
{
    wd.window_ms = sdn_watchdog_usec() / 1000u;
    if (wd.window_ms == 0 && sdn_watchdog_usec() > 0)
        wd.window_ms = 1;
    wd.hb_ms = MON_HB_MS;
    if (wd.window_ms > 0 && wd.window_ms / 4 < wd.hb_ms)
        wd.hb_ms = wd.window_ms / 4 > 0 ? wd.window_ms / 4 : 1;
    wd.next_hb_ms = now_ms + wd.hb_ms;
    wd.next_feed_ms = now_ms;
    wd.starving = 0;
    if (wd.window_ms > 0)
        log_info("sd", "watchdog: %" PRIu64 " ms; heartbeats every %" PRIu64 " ms", wd.window_ms,
                 wd.hb_ms);
}

int mon_wd_timeout_ms(uint64_t now_ms)
{
    uint64_t due = wd.next_hb_ms;
    if (wd.window_ms > 0 && wd.next_feed_ms < due)
        due = wd.next_feed_ms;
    if (due <= now_ms)
        return 0;
    return due - now_ms > 60000 ? 60000 : (int)(due - now_ms);
}

int mon_hb_due(uint64_t now_ms)
{
    if (now_ms < wd.next_hb_ms)
        return 0;
    wd.next_hb_ms = now_ms + wd.hb_ms;
    return 1;
}

void mon_hb_start(struct mon_hb *h, uint64_t now_ms)
{
    uint64_t bad = h->bad;
    memset(h, 0, sizeof(*h));
    h->bad = bad;
    h->since_ms = now_ms;
    h->live = 1;
}

void mon_hb_stop(struct mon_hb *h)
{
    h->live = 0;
}

int mon_hb_ask(struct ipc_chan *ch, struct mon_hb *h)
{
    if (!h->live || ch == NULL)
        return 0;
    if (ipc_chan_heartbeat(ch, h->asked_seq + 1) < 0)
        return -1;
    h->asked_seq++;
    return 0;
}

/* An answer counts only if it names a question asked and not yet answered. */
int mon_hb_answer(struct mon_hb *h, const struct ipc_heartbeat *a, uint64_t now_ms)
{
    if (!h->live || a->seq == 0 || a->seq > h->asked_seq || a->seq <= h->answered_seq) {
        h->bad++;
        return -1;
    }
    h->answered_seq = a->seq;
    h->answer_ms = now_ms;
    h->has_sources = a->has_sources;
    h->sources = a->sources;
    h->quiet_ms = a->quiet_ms;
    return 0;
}

/* Why the child is not healthy now (into why), or 0. */
static int unhealthy(const struct mon_wd_child *c, uint64_t now, char *why, size_t len)
{
    const struct mon_hb *h = c->hb;
    if (!c->ready || !h->live) {
        snprintf(why, len, "the %s process is not running or not ready", c->name);
        return 1;
    }
    uint64_t last = h->answer_ms > h->since_ms ? h->answer_ms : h->since_ms;
    if (now > last && now - last > wd.window_ms) {
        snprintf(why, len, "the %s process has not answered a heartbeat for %" PRIu64 " ms",
                 c->name, now - last);
        return 1;
    }
    if (c->capture && h->answer_ms > 0 && h->has_sources && h->sources > 0 &&
        h->quiet_ms > wd.window_ms) {
        snprintf(why, len,
                 "a live capture source had neither a packet nor an idle poll for %" PRIu64 " ms",
                 h->quiet_ms);
        return 1;
    }
    return 0;
}

void mon_wd_check(const struct mon_wd_child *c, size_t n, int ready, uint64_t now_ms)
{
    char why[200];
    if (wd.window_ms == 0 || now_ms < wd.next_feed_ms)
        return;
    wd.next_feed_ms = now_ms + (wd.window_ms / 2 > 0 ? wd.window_ms / 2 : 1);
    if (ready) {
        for (size_t i = 0; i < n; i++) {
            if (!unhealthy(&c[i], now_ms, why, sizeof(why)))
                continue;
            if (!wd.starving)
                log_warnx("sd", "watchdog no longer fed: %s", why);
            wd.starving = 1;
            return;
        }
    }
    if (wd.starving)
        log_info("sd", "watchdog fed again: both processes answer");
    wd.starving = 0;
    sdn_watchdog();
}
