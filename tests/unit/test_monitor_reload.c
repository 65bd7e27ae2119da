/*
 * test_monitor_reload.c - the monitor's bookkeeping of reload answers
 * (src/daemon/monitor_reload.c): a child that answers a slice after its
 * wait timed out must not have that late answer taken for the next
 * slice's (which would record as running digests of lines it may not run,
 * and silence the reload after: "unchanged").  The late answer is ignored;
 * the next one is the current slice's.  A restarted child owes nothing.
 */
#include "daemon/monitor_reload.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ipc.h"

static struct ipc_chan *no_chan(void *arg, struct mon_rl_child *c)
{
    (void)arg;
    (void)c;
    return NULL;
}

static struct conf_digests digests(uint8_t fill)
{
    struct conf_digests d = {malloc(CONF_DIGEST_LEN), 1};
    CHECK(d.d != NULL);
    memset(d.d, fill, CONF_DIGEST_LEN);
    return d;
}

/* What mon_rl_sighup() leaves after sending c a slice whose digests are next. */
static void sent(struct mon_rl *r, struct mon_rl_child *c, uint8_t fill)
{
    r->active = 1;
    r->sent = 1;
    r->answered = r->failed = r->unanswered = 0;
    conf_digests_free(&c->next);
    c->next = digests(fill);
    c->waiting = 1;
    r->deadline = 0; /* due */
}

int main(void)
{
    struct mon_rl r;
    struct mon_rl_child agent = {.name = "agent", .dest = CONF_DEST_AGENT};
    struct mon_rl_child cap = {.name = "capture", .dest = CONF_DEST_CAPTURE};
    struct ipc_status ok = {.state = IPC_STATUS_RELOADED},
                      bad = {.state = IPC_STATUS_RELOAD_FAILED};
    mon_rl_init(&r, "/nonexistent/pmirrord.conf", &agent, &cap, no_chan, NULL);
    struct conf_digests d = digests(0xa1);
    mon_rl_started(&r, &cap, &d);

    /* slice B: no answer within the time */
    sent(&r, &cap, 0xb2);
    mon_rl_tick(&r);
    CHECK(!r.active && !cap.waiting && !cap.known && r.unanswered == 1);

    /* slice C is sent (in full); then B's answer arrives late, then C's refusal */
    sent(&r, &cap, 0xc3);
    r.deadline = UINT64_MAX;
    CHECK(mon_rl_status(&r, &cap, &ok) == 1);
    CHECK(cap.waiting && r.active); /* still C's answer awaited */
    CHECK(!cap.known);              /* B's digests, or C's, not recorded */
    CHECK(mon_rl_status(&r, &cap, &bad) == 1);
    CHECK(!cap.waiting && !r.active && r.failed == 1);
    CHECK(!cap.known); /* C refused: what it runs is still unknown: all in full next time */

    /* slice D answered in time: recorded */
    sent(&r, &cap, 0xd4);
    r.deadline = UINT64_MAX;
    CHECK(mon_rl_status(&r, &cap, &ok) == 1);
    CHECK(cap.known && cap.dg.n == 1 && cap.dg.d[0][0] == 0xd4);

    /* a child that timed out and then restarted owes nothing */
    sent(&r, &cap, 0xe5);
    mon_rl_tick(&r);
    d = digests(0xf6);
    mon_rl_started(&r, &cap, &d);
    sent(&r, &cap, 0x17);
    r.deadline = UINT64_MAX;
    CHECK(mon_rl_status(&r, &cap, &ok) == 1);
    CHECK(cap.known && cap.dg.d[0][0] == 0x17);

    mon_rl_free(&r);
    return 0;
}
