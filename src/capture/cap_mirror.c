/*
 * cap_mirror.c - the data path of the capture process (docs/jmirror.md):
 *
 *   every IP packet of a data source -> se_match_packet() -> per target
 *     ms_icpt() (its accounting entry, mir_stats.h) -> jm_queue() with the
 *     entry as the datagram's tag (a GRO/TSO super-packet first cut back
 *     into wire packets, pkt_segment.h)
 *   cp_mirror_flush() after each pass over a ring block and before the loop
 *     sleeps -> jm_flush() (sendmmsg) -> each datagram's outcome -> ms_sent()
 *     (fragmented: larger than the path MTU, jm_route.h) or ms_send_failed()
 *   POLLERR on a jmirror socket -> jm_read_errors() -> ms_icmp()
 *   an analyzer that became unreachable -> AnalyzerUnreachable (pm_event_raise)
 *   each second: the sources' kernel and ring drops -> ms_source_drops()
 *   STATS "jmirror"
 *
 * Log lines carry no analyzer, trigger or mirror ID: those go to the mirror
 * log (cp_mlog) and `show mirror statistics` only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cap_proc_priv.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/jm_route.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/log.h"
#include "pmirrord/mir_stats.h"
#include "pmirrord/pkt_segment.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/sess_engine.h"

#define CP_MTU_MEMO_MS   1000 /* the path MTU of the last analyzer, reused this long */
#define CP_MTU_MEMO_USES 1024 /* datagrams between two clock reads */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The capture clock in ms (a pcap file's time; before its first packet, 0). */
static int64_t cap_now(const struct cap_proc *p)
{
    return (int64_t)cap_clock_now_ms(&p->clock);
}

/* ---- hooks ---------------------------------------------------------------------------------- */

static int same_analyzer(const struct trig_analyzer *a, const struct trig_analyzer *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

/* The path MTU to a (0 unknown), asked of the routing table at most once a
 * second per analyzer in a row (jm_route.c caches per destination too); the
 * clock is read once per CP_MTU_MEMO_USES datagrams to the same analyzer. */
static unsigned path_mtu(struct cap_proc *p, const struct trig_analyzer *a)
{
    if (p->jmr == NULL)
        return 0;
    /* a new accounting entry for this analyzer (its intercept ended and came back, an
     * intercept to it began) starts with path-mtu=0: set it again */
    uint32_t made = p->ms != NULL ? ms_analyzers_made(p->ms) : 0;
    int same = p->mtu_memo_at != 0 && p->mtu_memo_made == made && same_analyzer(&p->mtu_memo_an, a);
    if (same && p->mtu_memo_uses < CP_MTU_MEMO_USES) {
        p->mtu_memo_uses++;
        return p->mtu_memo;
    }
    int64_t now = mono_ms();
    p->mtu_memo_uses = 0;
    if (same && now - p->mtu_memo_at < CP_MTU_MEMO_MS)
        return p->mtu_memo;
    unsigned mtu = jm_route_mtu(p->jmr, a, now);
    p->mtu_memo_an = *a;
    p->mtu_memo = mtu;
    p->mtu_memo_at = now;
    p->mtu_memo_made = made;
    if (p->ms != NULL && mtu != 0)
        ms_set_path_mtu(p->ms, a, mtu);
    return mtu;
}

/* Each datagram of a flush (or one jm_queue() refused: too big, no socket). */
static void on_result(void *arg, const struct jm_result *r)
{
    struct cap_proc *p = arg;
    int64_t now = p->mir_now_ms;
    if (r->err == 0) {
        p->mir_copies++;
        size_t outer = r->bytes + 8 + (r->an->family == 4 ? 20 : 40);
        unsigned mtu = path_mtu(p, r->an);
        int frag = mtu != 0 && outer > mtu;
        ms_note_mtu(p->ms, r->tag, mtu);
        ms_sent(p->ms, r->tag, r->bytes, frag, now);
        return;
    }
    p->mir_failed++;
    if (r->err == EMSGSIZE || r->err == EAFNOSUPPORT) {
        ms_lost(p->ms, r->tag, MS_LOSS_OTHER, 1, now); /* too big, no socket: never sent */
    } else {
        ms_send_failed(p->ms, r->tag, r->err, now);
    }
}

static void on_icmp(void *arg, const struct trig_analyzer *an, int err)
{
    struct cap_proc *p = arg;
    ms_icmp(p->ms, an, err, p->mir_now_ms);
}

/* An analyzer port without a socket of its own (jm_send.c says each only
 * once): to the mirror log, not a log line.  The port is an analyzer's, and
 * for a port learnt after start (RADIUS, pmirrorctl) the moment says when an
 * intercept to it began mirroring. */
static void on_notice(void *arg, const char *text)
{
    cp_mlog(arg, "%s", text);
}

static void on_ms_mlog(void *arg, const char *text)
{
    cp_mlog(arg, "%s", text);
}

/* AnalyzerUnreachable, once per analyzer per outage (mir_stats.c decides):
 * analyzer_ip is IPv4 only in the MIB, 0.0.0.0 for an IPv6 analyzer (the
 * mirror-log entry has its address). */
static void on_unreachable(void *arg, const struct trig_analyzer *an, uint32_t router_id, int err)
{
    struct cap_proc *p = arg;
    struct pm_event ev;
    (void)err;
    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_ANALYZER_UNREACHABLE;
    int64_t now = p->mir_now_ms;
    if (now <= 0) {
        clock_gettime(CLOCK_REALTIME, &ev.when);
    } else {
        ev.when.tv_sec = (time_t)(now / 1000);
        ev.when.tv_nsec = (long)(now % 1000) * 1000000L;
    }
    ev.router_id = router_id;
    if (an->family == 4)
        memcpy(&ev.analyzer_ip, an->addr, 4);
    if (pm_event_raise(&ev) == 0)
        p->mir_unreach_raised++;
    else
        p->mir_unreach_dropped++;
    OPENSSL_cleanse(&ev, sizeof(ev));
}

static int on_active(void *arg, uint32_t mirror_id, uint32_t session_id)
{
    struct cap_proc *p = arg;
    return p->se != NULL && se_icpt_active(p->se, mirror_id, session_id);
}

/* ---- start, stop ---------------------------------------------------------------------------- */

int cp_mirror_start(struct cap_proc *p, const struct cp_conf *c, char *err, size_t errlen)
{
    char e[256];
    struct ms_hooks mh = {
        .mlog = on_ms_mlog, .unreachable = on_unreachable, .active = on_active, .arg = p};
    unsigned hold = c->mirror.hold_down != 0 ? c->mirror.hold_down : MS_HOLD_DOWN_DEFAULT;
    p->ms = ms_new(hold, &mh);
    if (p->ms == NULL)
        return pm_err(err, errlen, "capture: jmirror statistics: out of memory");
    p->jmr = jm_route_new(c->mirror.ifname, e, sizeof(e));
    if (p->jmr == NULL) /* fragments are then not counted; mirroring goes on */
        log_warnx(CP_TOKEN, "jmirror: the path MTU will not be known: %s", e);

    struct jm_opts o;
    memset(&o, 0, sizeof(o));
    o.has_src4 = c->mirror.has_src4;
    o.has_src6 = c->mirror.has_src6;
    memcpy(o.src4, c->mirror.src4, sizeof(o.src4));
    memcpy(o.src6, c->mirror.src6, sizeof(o.src6));
    o.dscp = c->mirror.dscp;
    o.gso = c->mirror.gso;
    p->mirror_gso = c->mirror.gso;
    snprintf(o.ifname, sizeof(o.ifname), "%s", c->mirror.ifname);
    for (size_t i = 0; i < c->nports && o.nports < JM_PORTS_MAX; i++)
        o.ports[o.nports++] = c->ports[i];
    o.dry_run = c->dry_run;
    struct jm_hooks jh = {.result = on_result, .icmp = on_icmp, .notice = on_notice, .arg = p};
    p->jm = jm_new(&o, &jh, e, sizeof(e));
    if (p->jm == NULL)
        return pm_err(err, errlen, "capture: %s", e);
    p->jm_nfds = jm_fds(p->jm, p->jm_fd, JM_FDS_MAX);
    return 0;
}

void cp_mirror_free(struct cap_proc *p)
{
    if (p->jm != NULL) {
        p->mir_now_ms = cap_now(p);
        jm_flush(p->jm); /* what is queued still leaves */
        jm_free(p->jm);
    }
    jm_route_free(p->jmr);
    ms_free(p->ms);
    OPENSSL_cleanse(p->jm_to, sizeof(p->jm_to)); /* analyzers */
    OPENSSL_cleanse(&p->mtu_memo_an, sizeof(p->mtu_memo_an));
    p->jm_nto = p->jm_to_next = 0;
    p->jm = NULL;
    p->jmr = NULL;
    p->ms = NULL;
    p->jm_nfds = 0;
}

/* ---- the loop's part ------------------------------------------------------------------------ */

void cp_mirror_flush(struct cap_proc *p)
{
    if (p->jm == NULL || jm_pending(p->jm) == 0)
        return;
    p->mir_now_ms = cap_now(p);
    jm_flush(p->jm);
}

size_t cp_mirror_pollfds(const struct cap_proc *p, struct pollfd *fds, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->jm_nfds && n < max; i++)
        fds[n++] = (struct pollfd){p->jm_fd[i], 0, 0}; /* POLLERR: the error queue */
    return n;
}

void cp_mirror_errors(struct cap_proc *p)
{
    if (p->jm == NULL)
        return;
    p->mir_now_ms = cap_now(p);
    (void)jm_read_errors(p->jm);
}

int cp_mirror_timers(struct cap_proc *p, uint64_t now_ms)
{
    if (p->ms == NULL)
        return -1;
    p->mir_now_ms = (int64_t)now_ms;
    return ms_tick(p->ms, (int64_t)now_ms);
}

void cp_mirror_source_drops(struct cap_proc *p, struct cp_source *s, uint64_t total, int64_t now)
{
    if (total > s->drops_seen) {
        uint64_t d = total - s->drops_seen;
        p->mir_source_drops += d;
        if (p->ms != NULL && now > 0)
            ms_source_drops(p->ms, (unsigned)(s - p->src), d, now);
    }
    s->drops_seen = total; /* a source reopened: its counters may start again lower */
}

/* Once a second: what the kernel and the rings dropped on each source since
 * the last time, counted against the intercepts last seen on it; the MTU
 * super-packets are cut to. */
void cp_mirror_tick(struct cap_proc *p)
{
    int64_t now = cap_now(p);
    for (size_t i = 0; i < p->nsrc; i++) {
        struct cp_source *s = &p->src[i];
        if (s->src == NULL || s->spec.offline)
            continue;
        struct cap_stats st;
        cap_source_stats(s->src, &st);
        s->mtu = st.mtu > 0 ? (unsigned)st.mtu : 0;
        cp_mirror_source_drops(p, s, st.kernel_drops + st.if_drops + st.backlog_drops, now);
    }
    if (p->ms != NULL && now > 0) {
        p->mir_now_ms = now;
        (void)ms_tick(p->ms, now);
    }
    p->mtu_memo_at = 0; /* a slow flow never reaches CP_MTU_MEMO_USES: ask again */
}

/* ---- own datagrams -------------------------------------------------------------------------- */

static int our_port(const struct cap_proc *p, int family, uint16_t port)
{
    return p->jm != NULL && jm_is_local_port(p->jm, family == PKT_FAM_IPV4 ? 4 : 6, port);
}

/* Is v sent from one of our sockets of its family to analyzer a? */
static int sent_to(const struct cap_proc *p, const struct pkt_view *v,
                   const struct trig_analyzer *a)
{
    if (a->family != v->family)
        return 0;
    if (memcmp(v->dst, a->addr, a->family == 4 ? 4 : 16) != 0)
        return 0;
    if (v->flags & PKT_F_PORTS)
        return v->dport == a->port && our_port(p, v->family, v->sport);
    return (v->flags & PKT_F_FRAG) != 0; /* a later fragment of a datagram to the analyzer */
}

/*
 * A datagram this process sent (captured on its way out, or on the
 * analyzer's own host): never mirrored, it would feed itself.  Not only to
 * a, the analyzer of the target the packet matched: a datagram to target
 * A's analyzer that matches target B (the analyzer lies in B's addresses)
 * would be mirrored to B's analyzer, A's intercepted traffic to another
 * warrant's analyzer, and B's copy could match A again (a loop).  So every
 * analyzer sent to lately counts (the last CP_JM_TO_MAX).
 */
int cp_own_datagram(const struct cap_proc *p, const struct pkt_view *v,
                    const struct trig_analyzer *a)
{
    if (v->proto != IPPROTO_UDP)
        return 0;
    if (a != NULL && sent_to(p, v, a))
        return 1;
    if ((v->flags & PKT_F_PORTS) && !our_port(p, v->family, v->sport))
        return 0; /* the common case: not from our ports */
    for (size_t i = 0; i < p->jm_nto; i++)
        if (sent_to(p, v, &p->jm_to[i]))
            return 1;
    return 0;
}

/* Remembers a as a destination of our datagrams (the newest first looked for). */
static void note_analyzer(struct cap_proc *p, const struct trig_analyzer *a)
{
    for (size_t i = 0; i < p->jm_nto; i++)
        if (same_analyzer(&p->jm_to[i], a))
            return;
    p->jm_to[p->jm_to_next] = *a;
    p->jm_to_next = (p->jm_to_next + 1) % CP_JM_TO_MAX;
    if (p->jm_nto < CP_JM_TO_MAX)
        p->jm_nto++;
}

/* ---- the data path -------------------------------------------------------------------------- */

struct fan {
    struct cap_proc *p;
    const struct se_target *t[SE_TARGETS_MAX];
    uint32_t h[SE_TARGETS_MAX];
    size_t n;
};

/* One IP packet (or one segment of a super-packet) to every target. */
static int queue_all(void *arg, const uint8_t *ip, size_t len)
{
    struct fan *f = arg;
    for (size_t i = 0; i < f->n; i++) {
        const struct se_target *t = f->t[i];
        /* the outcome comes back through on_result(), also when refused here; the path
         * MTU lets a train of datagrams within it leave as one GSO message */
        unsigned mtu = f->p->mirror_gso ? path_mtu(f->p, t->analyzer) : 0;
        (void)jm_queue_mtu(f->p->jm, t->analyzer, t->mirror_id, t->session_id, ip, len, f->h[i],
                           mtu);
    }
    return 0;
}

void cp_mirror(struct cap_proc *p, struct cp_source *s, const struct pkt_view *v, int iface_dir,
               unsigned super_mtu, int64_t now)
{
    struct se_target t[SE_TARGETS_MAX];
    /* a signalling-only source carries no subscriber data: not looked up,
     * so it is not where a session's data was last seen either */
    if (p->se == NULL || p->jm == NULL || v->family == PKT_FAM_NONE ||
        s->spec.role == CAP_ROLE_SIGNALLING)
        return;
    unsigned idx = (unsigned)(s - p->src);
    size_t n = se_match_packet(p->se, v->family, v->src, v->dst, idx, iface_dir, t, SE_TARGETS_MAX);
    /* Sources are read one after another, a data source's frames a ring
     * block at a time: a frame read after the RADIUS packet that began an
     * intercept may have been sent before it (the intercept was off, or not
     * yet on).  Such a frame is not the intercept's (not a loss either). */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p->frame_us != 0 && t[i].since_us > p->frame_us)
            p->mir_before_start++;
        else
            t[k++] = t[i];
    }
    n = k;
    if (n == 0)
        return;
    p->mir_packets++;
    p->mir_now_ms = now;
    if ((v->flags & PKT_F_SNAPPED) || v->l3_caplen < v->ip_len) {
        /* never a part of a packet as if it were the whole: lost, per intercept */
        p->mir_snapped += n;
        for (size_t i = 0; i < n; i++)
            if (t[i].analyzer != NULL && p->ms != NULL)
                ms_lost(p->ms,
                        ms_icpt(p->ms, t[i].mirror_id, t[i].session_id, t[i].analyzer,
                                t[i].router_id, idx, now),
                        MS_LOSS_SNAPPED, 1, now);
        return;
    }
    if (cp_own_datagram(p, v, NULL)) {
        p->mir_own += n;
        return;
    }
    struct fan f = {.p = p};
    for (size_t i = 0; i < n; i++) {
        if (t[i].analyzer == NULL)
            continue;
        if (cp_own_datagram(p, v, t[i].analyzer)) {
            p->mir_own++;
            continue;
        }
        note_analyzer(p, t[i].analyzer);
        f.t[f.n] = &t[i];
        f.h[f.n] = p->ms != NULL ? ms_icpt(p->ms, t[i].mirror_id, t[i].session_id, t[i].analyzer,
                                           t[i].router_id, idx, now)
                                 : MS_NONE;
        f.n++;
    }
    if (f.n == 0)
        return;
    const uint8_t *ip = v->frame + v->l3_off;
    if (super_mtu != 0 && v->ip_len > super_mtu && !(v->flags & PKT_F_FRAG)) {
        static uint8_t seg[65536]; /* one segment at a time; one thread */
        size_t nseg = 0;
        enum pseg_rc rc =
            pkt_segment(ip, v->ip_len, super_mtu, seg, sizeof(seg), queue_all, &f, &nseg);
        if (rc == PSEG_SPLIT) {
            p->mir_split++;
            for (size_t i = 0; i < f.n; i++)
                ms_split(p->ms, f.h[i], 1);
            return;
        }
        if (rc == PSEG_UNSPLIT) {
            p->mir_unsplit++;
            for (size_t i = 0; i < f.n; i++)
                ms_split(p->ms, f.h[i], 0);
        }
    }
    (void)queue_all(&f, ip, v->ip_len);
}

/* ---- STATS "jmirror" ------------------------------------------------------------------------ */

static struct ipc_rec jrec; /* 9 KiB; one thread */

static void ctr(const char *name, uint64_t v)
{
    cp_stats_add(&jrec.u.stats, name, v);
}

void cp_mirror_stats(struct cap_proc *p)
{
    if (p->jm == NULL)
        return;
    struct jm_stats j;
    uint64_t lost[MS_LOSS_KINDS] = {0}, frag = 0, split = 0, unsplit = 0, outages = 0;
    jm_get_stats(p->jm, &j);
    if (p->ms != NULL)
        ms_totals(p->ms, lost, &frag, &split, &unsplit, &outages);
    memset(&jrec, 0, sizeof(jrec));
    jrec.type = IPC_STATS;
    snprintf(jrec.u.stats.source, sizeof(jrec.u.stats.source), "jmirror");
    ctr("sent", j.sent);
    ctr("bytes", j.bytes);
    ctr("send_errors", j.send_errors);
    ctr("too_big", j.too_big);
    ctr("no_socket", j.no_socket);
    ctr("packets", p->mir_packets);
    ctr("copies", p->mir_copies);
    ctr("snapped", p->mir_snapped);
    ctr("own", p->mir_own);
    ctr("failed", p->mir_failed);
    ctr("batches", j.batches);
    ctr("err_unreach", j.err_unreach);
    ctr("err_nobufs", j.err_nobufs);
    ctr("sport_fallback", j.sport_fallback);
    ctr("icmp_errors", j.icmp_errors);
    ctr("built", j.built);
    ctr("gso_msgs", j.gso_msgs);
    ctr("gso_segments", j.gso_segments);
    ctr("gso_off", j.gso_off);
    ctr("fragmented", frag);
    ctr("split", split);
    ctr("unsplit", unsplit);
    ctr("before_start", p->mir_before_start);
    ctr("lost_source", lost[MS_LOSS_SOURCE]);
    ctr("lost_send", lost[MS_LOSS_SEND]);
    ctr("lost_unreach", lost[MS_LOSS_UNREACH]);
    ctr("lost_snapped", lost[MS_LOSS_SNAPPED]);
    ctr("lost_other", lost[MS_LOSS_OTHER]);
    ctr("outages", outages);
    ctr("unattributed", p->ms != NULL ? ms_unattributed(p->ms) : 0);
    ctr("source_drops", p->mir_source_drops);
    ctr("unreachable_raised", p->mir_unreach_raised);
    ctr("unreachable_dropped", p->mir_unreach_dropped);
    (void)cp_put_c(p, &jrec);
}
