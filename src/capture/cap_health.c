/*
 * cap_health.c - the capture process's answer to the monitor's HEARTBEAT
 * (docs/systemd.md, docs/ipc-protocol.md "7 HEARTBEAT").
 *
 * The poll loop notes, per source, when it last went through it: a dispatch
 * that returned without error, with packets or without (an idle poll).  The
 * answer, sent from the loop itself on chan B, repeats the question's seq and
 * says how many interface sources are up and the longest time one of them
 * went without such a pass.  A loop that is stuck (in a parser, in a system
 * call) answers nothing, or late; a source whose reads keep failing shows a
 * growing quiet time.  pcap files and sources that are down or missing are
 * not live: they are counted nowhere here.
 */
#include <string.h>
#include <time.h>

#include "cap_proc_priv.h"
#include "pmirrord/log.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int live(const struct cp_source *s)
{
    return s->src != NULL && !s->spec.offline && cap_source_state(s->src) == CAP_STATE_UP;
}

void cp_health_pass(struct cp_source *s)
{
    s->pass_ms = now_ms();
}

void cp_health_answer(struct cap_proc *p, const struct ipc_heartbeat *q)
{
    struct ipc_rec rec;
    char err[256];
    int64_t now = now_ms();
    memset(&rec, 0, offsetof(struct ipc_rec, u) + sizeof(rec.u.heartbeat));
    rec.type = IPC_HEARTBEAT;
    rec.u.heartbeat.seq = q->seq;
    rec.u.heartbeat.mono_ms = (uint64_t)now;
    rec.u.heartbeat.has_sources = 1;
    for (size_t i = 0; i < p->nsrc; i++) {
        const struct cp_source *s = &p->src[i];
        if (!live(s))
            continue;
        rec.u.heartbeat.sources++;
        /* a source not passed yet (just opened): quiet since the loop began */
        int64_t since = s->pass_ms > 0 ? s->pass_ms : p->loop_ms;
        uint64_t quiet = since > 0 && now > since ? (uint64_t)(now - since) : 0;
        if (quiet > rec.u.heartbeat.quiet_ms)
            rec.u.heartbeat.quiet_ms = quiet;
    }
    if (ipc_chan_put(p->chan_b, &rec, err, sizeof(err)) < 0)
        log_debug(CP_TOKEN, "a HEARTBEAT answer not sent: %s", err);
}
