/*
 * test_sess_engine.c - the session engine (sess_engine.h, docs/sessions.md):
 * one case per row of the event table with every varbind asserted (events
 * captured through pm_event_set_sink()), then precedence, two mirror IDs on
 * one subscriber, warrant windows through se_tick(), restore, IPv6
 * longest-prefix matching and directions in se_match_packet(), the
 * SessionIdentifier derivation, the mirror log and sessionStartTimeout.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pmirrord/conf.h"
#include "pmirrord/ipc.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/sess_engine.h"

/* the private SessionIdentifier derivation (sess_sid.c) */
uint32_t se_sid_from_acct(const uint8_t *v, size_t n);

#define T0  1795000000 /* 2026-11-17 */
#define NAS "198.18.0.1"
#define RID 3323068417u /* 198.18.0.1 as a big-endian Unsigned32 */

/* ---- what the engine hands out ---- */

#define MAXEV 32
static struct pm_event g_ev[MAXEV];
static size_t g_nev;
static char g_mlog[64][8192];
static size_t g_nmlog;
static struct pm_intercept g_ic[16];
static int g_ic_up[16];
static size_t g_nic;

static int sink(const struct pm_event *ev, void *arg)
{
    (void)arg;
    CHECK(g_nev < MAXEV);
    g_ev[g_nev++] = *ev;
    return 0;
}

static void mlog(void *arg, const char *text)
{
    (void)arg;
    if (g_nmlog < 64)
        snprintf(g_mlog[g_nmlog], sizeof(g_mlog[0]), "%s", text);
    g_nmlog++;
}

static void icpt(void *arg, const struct pm_intercept *ic, int up)
{
    (void)arg;
    CHECK(g_nic < 16);
    g_ic[g_nic] = *ic;
    g_ic_up[g_nic++] = up;
}

static void mark(void)
{
    g_nev = 0;
    g_nmlog = 0;
    g_nic = 0;
}

static struct sess_engine *engine(uint32_t max)
{
    struct se_conf c = {.max_subscribers = max, .session_start_timeout = 30};
    struct se_out o = {.mlog = mlog, .intercept = icpt};
    char err[128];
    struct sess_engine *e = se_new(&c, &o, err, sizeof(err));
    CHECK(e != NULL);
    mark();
    return e;
}

/* ---- building facts and rules ---- */

static uint32_t ip4(const char *s)
{
    uint32_t a;
    CHECK(inet_pton(AF_INET, s, &a) == 1);
    return a;
}

static void sstr(struct sig_str *x, const char *v)
{
    x->len = (uint8_t)strlen(v);
    memcpy(x->v, v, x->len);
}

static struct sig_fact fact(enum sig_kind k, int64_t ts)
{
    struct sig_fact f;
    memset(&f, 0, sizeof(f));
    f.kind = k;
    f.ts_sec = ts;
    f.ts_usec = 250000;
    return f;
}

/* alice on NAS 198.18.0.1 port 7 */
static struct sig_fact alice(enum sig_kind k, int64_t ts, int framed)
{
    struct sig_fact f = fact(k, ts);
    sstr(&f.id.user, "alice");
    sstr(&f.id.acct_sid, "1234567890123");
    f.id.nas_ip = ip4(NAS);
    f.id.peer_ip = ip4("198.18.0.2");
    f.id.has_nas_port = 1;
    f.id.nas_port = 7;
    if (framed)
        f.id.framed_ip = ip4("198.18.1.10");
    return f;
}

/* LI VSAs: on, 8-byte handle MID 0x300 SID 0x90, analyzer 127.0.0.2:30030 */
static void li_on(struct sig_li *li, uint32_t mid, uint32_t sid, const char *an, uint16_t port)
{
    memset(li, 0, sizeof(*li));
    li->present = 1;
    li->action = SIG_LI_ON;
    li->has_handle = 1;
    li->handle_len = 8;
    li->mirror_id = mid;
    li->has_sid = 1;
    li->session_id = sid;
    li->has_analyzer = 1;
    uint32_t a = ip4(an);
    memcpy(li->analyzer, &a, 4);
    li->has_port = 1;
    li->port = port;
}

static struct sig_fact dhcp(enum sig_kind k, int64_t ts)
{
    struct sig_fact f = fact(k, ts);
    f.id.framed_ip = ip4("198.18.1.20");
    f.id.peer_ip = ip4("198.18.0.254"); /* giaddr */
    f.id.has_chaddr = 1;
    memcpy(f.id.chaddr, "\x02\x00\x00\x00\x00\x01", 6);
    sstr(&f.id.circuit, "eth0/1:100");
    sstr(&f.id.remote, "cpe-77");
    sstr(&f.id.opt82, "\x01\x0a"
                      "eth0/1:100");
    f.lease_s = 3600;
    return f;
}

static struct pm_trigger rule(enum trig_type t, const char *v, uint32_t mid)
{
    struct pm_trigger r;
    memset(&r, 0, sizeof(r));
    r.type = t;
    snprintf(r.text, sizeof(r.text), "%s", v);
    if (t == TRIG_IP) {
        char a[64];
        snprintf(a, sizeof(a), "%s", v);
        char *sl = strchr(a, '/');
        if (sl != NULL)
            *sl = '\0';
        r.ip_family = strchr(a, ':') != NULL ? 6 : 4;
        CHECK(inet_pton(r.ip_family == 6 ? AF_INET6 : AF_INET, a, r.ip) == 1);
        r.ip_plen = sl != NULL ? (unsigned)atoi(sl + 1) : (r.ip_family == 6 ? 128u : 32u);
    } else if (t != TRIG_INTERFACE) {
        r.value_len = strlen(v);
        memcpy(r.value, v, r.value_len);
    }
    r.analyzer.family = 4;
    uint32_t a = ip4("127.0.0.2");
    memcpy(r.analyzer.addr, &a, 4);
    r.analyzer.port = 30030;
    r.mirror_id = mid;
    r.direction = TRIG_DIR_BOTH;
    return r;
}

static void on(struct sess_engine *e, struct sig_fact f)
{
    se_on_fact(&f, e);
}

/* ---- expected notifications ---- */

struct xev {
    enum pm_trap trap;
    int64_t ts;
    int cs, tt;
    const char *tr;
    uint32_t rid, mid, sid;
    int dir;
    const char *tip, *aa;
    int trm, ec;
    const char *user;
};

static void check_ev(const char *row, size_t i, const struct pm_event *g, const struct xev *x)
{
    char pn[41];
    int ok = 1;
#define EQ(c)                                                                                      \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s, event %zu: %s\n", row, i, #c);                                    \
            ok = 0;                                                                                \
        }                                                                                          \
    } while (0)
    snprintf(pn, sizeof(pn), "spl_%08x", x->mid);
    EQ(g->trap == x->trap);
    EQ(g->when.tv_sec == x->ts);
    EQ(g->config_source == x->cs);
    EQ(g->trigger_type == x->tt);
    EQ(strcmp(g->trigger, x->tr) == 0);
    EQ(g->router_id == x->rid);
    EQ(g->mirror_id == x->mid);
    EQ(g->application == 0);
    if (x->trap == PM_TRAP_RADIUS_FAILURE || x->trap == PM_TRAP_CLI_FAILURE) {
        EQ(g->error_cause == x->ec);
        EQ(g->error_string[0] != '\0');
    }
    if (x->trap == PM_TRAP_RADIUS_FAILURE) {
        EQ(g->session_id == x->sid);
        EQ(strcmp(g->user_name, x->user) == 0);
    }
    if (x->trap != PM_TRAP_RADIUS_FAILURE) {
        EQ(strcmp(g->policy_name, pn) == 0);
        EQ(g->policy_id == x->mid);
    }
    if (x->trap != PM_TRAP_RADIUS_FAILURE && x->trap != PM_TRAP_CLI_FAILURE) {
        EQ(g->session_id == x->sid);
        EQ(g->direction == x->dir);
    }
    if (x->trap >= PM_TRAP_SESSION_START && x->trap != PM_TRAP_SESSION_REJECT) {
        EQ(g->target_ip == ip4(x->tip));
        EQ(g->analyzer_ip == ip4(x->aa));
    }
    if (x->trap == PM_TRAP_SESSION_END || x->trap == PM_TRAP_SESSION_FAILED)
        EQ(g->termination_reason == x->trm);
#undef EQ
    if (!ok) {
        fprintf(stderr,
                "got trap %d cs %d tt %d tr \"%s\" rid %u mid %u sid %u dir %d trm %d "
                "ec %d user \"%s\" ts %lld\n",
                (int)g->trap, g->config_source, g->trigger_type, g->trigger, g->router_id,
                g->mirror_id, g->session_id, g->direction, g->termination_reason, g->error_cause,
                g->user_name, (long long)g->when.tv_sec);
        exit(1);
    }
}

/* ---- the rows of the event table ---- */

static const char *const AN = "127.0.0.2";
#define SUB "198.18.1.10"
#define BIG 1912276171u /* "1234567890123" mod 2^32 */

static void r_acct_start(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    se_set_triggers(e, &t, 1, T0);
    on(e, alice(SIG_ACCESS_ACCEPT, T0, 0)); /* no framed address: the Start is the login */
    CHECK(g_nev == 0);
    on(e, alice(SIG_ACCT_START, T0 + 1, 1));
}

static void r_accept_framed(struct sess_engine *e)
{
    struct sig_fact f = alice(SIG_ACCESS_ACCEPT, T0, 1);
    sstr(&f.id.acct_sid, "abc-XYZ!");
    li_on(&f.li, 0x300, 0x90, AN, 30030);
    on(e, f);
    f = alice(SIG_ACCT_START, T0 + 1, 1); /* one login, one event */
    sstr(&f.id.acct_sid, "abc-XYZ!");
    on(e, f);
}

static void r_dhcp_bind(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_CIRCUIT, "eth0/1:100", 9);
    se_set_triggers(e, &t, 1, T0);
    on(e, dhcp(SIG_DHCP_ACK, T0));
}

static void up_alice(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    se_set_triggers(e, &t, 1, T0);
    on(e, alice(SIG_ACCT_START, T0, 1));
    mark();
}

static void r_stop_cause(struct sess_engine *e)
{
    up_alice(e);
    struct sig_fact f = alice(SIG_ACCT_STOP, T0 + 60, 1);
    f.has_term_cause = 1;
    f.term_cause = 4; /* Idle-Timeout */
    f.has_session_time = 1;
    f.session_time = 60;
    on(e, f);
}

static void r_stop_unknown_cause(struct sess_engine *e)
{
    up_alice(e);
    struct sig_fact f = alice(SIG_ACCT_STOP, T0 + 60, 1);
    f.has_term_cause = 1;
    f.term_cause = 99;
    f.has_session_time = 1;
    f.session_time = 60;
    on(e, f);
}

static void up_dhcp(struct sess_engine *e)
{
    r_dhcp_bind(e);
    mark();
}

static void r_dhcp_release(struct sess_engine *e)
{
    up_dhcp(e);
    on(e, dhcp(SIG_DHCP_RELEASE, T0 + 5));
}

static void r_dhcp_expire(struct sess_engine *e)
{
    up_dhcp(e);
    on(e, dhcp(SIG_DHCP_EXPIRE, T0 + 3600));
}

static void r_disconnect(struct sess_engine *e)
{
    up_alice(e);
    struct sig_fact d = fact(SIG_DISCONNECT, T0 + 9);
    sstr(&d.id.acct_sid, "1234567890123");
    on(e, d);
    struct sig_fact f = alice(SIG_ACCT_STOP, T0 + 10, 1); /* after the ACK: nothing */
    f.has_term_cause = 1;
    f.term_cause = 6;
    on(e, f);
}

static void r_start_timeout(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    se_set_triggers(e, &t, 1, T0);
    on(e, alice(SIG_ACCESS_ACCEPT, T0, 1));
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_SESSION_START);
    mark();
    CHECK(se_tick(e, T0 + 29, 0) == 1250); /* the Accept came at T0 + 0.25 */
    CHECK(se_tick(e, T0 + 30, 0) == 250);
    CHECK(g_nev == 0);
    CHECK(se_tick(e, T0 + 30, 250000) == -1);
}

static void r_stop_zero(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    se_set_triggers(e, &t, 1, T0);
    on(e, alice(SIG_ACCESS_ACCEPT, T0, 1));
    mark();
    struct sig_fact f = alice(SIG_ACCT_STOP, T0 + 2, 1);
    f.has_term_cause = 1;
    f.term_cause = 17; /* User-Error */
    f.has_session_time = 1;
    f.session_time = 0;
    on(e, f);
}

static void r_dhcp_decline(struct sess_engine *e)
{
    up_dhcp(e);
    on(e, dhcp(SIG_DHCP_DECLINE, T0 + 1));
}

static struct sig_fact coa(int64_t ts, int action, uint32_t mid)
{
    struct sig_fact f = fact(SIG_COA, ts);
    sstr(&f.id.acct_sid, "1234567890123");
    li_on(&f.li, mid, 0x91, "127.0.0.3", 30031);
    f.li.action = action;
    return f;
}

static void up_plain(struct sess_engine *e)
{
    on(e, alice(SIG_ACCT_START, T0, 1));
    CHECK(g_nev == 0);
    mark();
}

static void r_coa_on(struct sess_engine *e)
{
    up_plain(e);
    on(e, coa(T0 + 20, SIG_LI_ON, 0x301));
}

static void r_trigger_added(struct sess_engine *e)
{
    up_plain(e);
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    se_set_triggers(e, &t, 1, T0 + 30);
}

static void r_window_opens(struct sess_engine *e)
{
    up_plain(e);
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    t.from = T0 + 100;
    se_set_triggers(e, &t, 1, T0 + 1);
    CHECK(g_nev == 0);
    CHECK(se_tick(e, T0 + 50, 0) == 50000);
    CHECK(g_nev == 0);
    se_tick(e, T0 + 100, 0);
}

static void r_static_added(struct sess_engine *e)
{
    se_set_source(e, 0, "veth-a");
    struct pm_trigger t = rule(TRIG_INTERFACE, "veth-a", 11);
    se_set_triggers(e, &t, 1, T0 + 3);
}

static void r_static_back(struct sess_engine *e)
{
    r_static_added(e);
    se_interface_down(e, 0, T0 + 4);
    CHECK(g_nev == 2 && g_ev[1].trap == PM_TRAP_INTERFACE_DELETED);
    mark();
    se_interface_up(e, 0, T0 + 5);
}

static void r_coa_off(struct sess_engine *e)
{
    r_coa_on(e);
    mark();
    on(e, coa(T0 + 40, SIG_LI_OFF, 0x301));
}

static void r_trigger_removed(struct sess_engine *e)
{
    r_trigger_added(e);
    mark();
    se_set_triggers(e, NULL, 0, T0 + 40);
}

static void r_window_closes(struct sess_engine *e)
{
    up_plain(e);
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    t.until = T0 + 50;
    se_set_triggers(e, &t, 1, T0 + 1);
    CHECK(g_nev == 1);
    mark();
    se_tick(e, T0 + 49, 0);
    CHECK(g_nev == 0);
    se_tick(e, T0 + 50, 0);
}

static void r_static_removed(struct sess_engine *e)
{
    r_static_added(e);
    mark();
    se_set_triggers(e, NULL, 0, T0 + 6);
}

static void r_reject(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_CSID, "00-11-22-33-44-55", 12);
    t.has_session_id = 1;
    t.session_id = 4242;
    t.direction = TRIG_DIR_EGRESS;
    se_set_triggers(e, &t, 1, T0);
    struct sig_fact f = fact(SIG_ACCESS_REJECT, T0 + 1);
    sstr(&f.id.user, "mallory");
    sstr(&f.id.csid, "00-11-22-33-44-55");
    f.id.nas_ip = ip4(NAS);
    on(e, f);
}

static void r_interim_midlife(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    se_set_triggers(e, &t, 1, T0);
    on(e, alice(SIG_ACCT_INTERIM, T0 + 300, 1));
}

static void r_stop_midlife(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    se_set_triggers(e, &t, 1, T0);
    struct sig_fact f = alice(SIG_ACCT_STOP, T0 + 300, 1);
    f.has_term_cause = 1;
    f.term_cause = 1;
    f.has_session_time = 1;
    f.session_time = 250;
    on(e, f);
}

static void fill_table(struct sess_engine *e)
{
    struct sig_fact f = fact(SIG_ACCT_START, T0);
    sstr(&f.id.user, "bob");
    sstr(&f.id.acct_sid, "1");
    f.id.framed_ip = ip4("198.18.1.99");
    on(e, f);
    mark();
}

static void r_full_cli(struct sess_engine *e)
{
    fill_table(e);
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    se_set_triggers(e, &t, 1, T0);
    on(e, alice(SIG_ACCT_START, T0 + 1, 1));
}

static void r_full_cli_once(struct sess_engine *e)
{
    r_full_cli(e);
    struct sig_fact f = alice(SIG_ACCT_INTERIM, T0 + 301, 1); /* counted only */
    on(e, f);
    f = alice(SIG_ACCT_STOP, T0 + 302, 1);
    f.has_session_time = 1;
    f.session_time = 301;
    on(e, f);
}

static void r_full_radius(struct sess_engine *e)
{
    fill_table(e);
    struct sig_fact f = alice(SIG_ACCESS_ACCEPT, T0 + 1, 1);
    li_on(&f.li, 0x300, 0x90, AN, 30030);
    on(e, f);
}

static void r_li_invalid(struct sess_engine *e)
{
    struct sig_fact f = alice(SIG_ACCESS_ACCEPT, T0, 1);
    li_on(&f.li, 0x300, 0x90, AN, 30030);
    f.li.has_port = 0;
    f.li.error = 7;
    snprintf(f.li.error_text, sizeof(f.li.error_text), "ERX-Med-Dev-Handle without port");
    on(e, f);
}

static void r_li_invalid_nouser(struct sess_engine *e)
{
    struct sig_fact f = fact(SIG_ACCESS_ACCEPT, T0);
    sstr(&f.id.csid, "00-aa-bb");
    f.id.peer_ip = ip4("198.18.0.2"); /* no NAS-IP-Address: the client's source */
    f.id.framed_ip = ip4(SUB);
    li_on(&f.li, 0x300, 0x90, AN, 30030);
    f.li.error = 7;
    on(e, f);
}

static void r_li_bad_analyzer(struct sess_engine *e)
{
    struct sig_fact f = alice(SIG_ACCESS_ACCEPT, T0, 1);
    li_on(&f.li, 0x300, 0x90, "224.0.0.5", 30030);
    on(e, f);
}

static void r_cli_bad_analyzer(struct sess_engine *e)
{
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    memset(t.analyzer.addr, 0, sizeof(t.analyzer.addr));
    se_set_triggers(e, &t, 1, T0);
    on(e, alice(SIG_ACCT_START, T0 + 1, 1)); /* not applied: nothing more */
}

static void r_static_unknown(struct sess_engine *e)
{
    se_set_source(e, 0, "veth-a");
    struct pm_trigger t = rule(TRIG_INTERFACE, "veth-zz", 11);
    se_set_triggers(e, &t, 1, T0);
}

static void r_if_deleted(struct sess_engine *e)
{
    se_set_source(e, 0, "veth-a");
    se_set_source(e, 1, "veth-b");
    struct pm_trigger t[2] = {rule(TRIG_INTERFACE, "veth-a", 11), rule(TRIG_USERNAME, "alice", 7)};
    se_set_triggers(e, t, 2, T0);
    on(e, alice(SIG_ACCT_START, T0 + 1, 1));
    struct se_target out[SE_TARGETS_MAX];
    uint32_t sub = ip4(SUB), far = ip4("203.0.113.1");
    CHECK(se_match_packet(e, 4, (const uint8_t *)&far, (const uint8_t *)&sub, 0, -1, out,
                          SE_TARGETS_MAX) == 2);
    mark();
    se_interface_down(e, 0, T0 + 7);
    se_interface_down(e, 1, T0 + 7); /* nothing of ours there */
}

#define START(ts, cs, tt, tr, rid, mid, sid, tip, aa)                                              \
    {                                                                                              \
        PM_TRAP_SESSION_START, ts, cs, tt, tr, rid, mid, sid, 0, tip, aa, 0, 0, NULL               \
    }
#define EV(trap, ts, cs, tt, tr, rid, mid, sid, dir, tip, aa, trm)                                 \
    {                                                                                              \
        trap, ts, cs, tt, tr, rid, mid, sid, dir, tip, aa, trm, 0, NULL                            \
    }
#define FAIL(trap, ts, cs, tt, tr, rid, mid, sid, ec, user)                                        \
    {                                                                                              \
        trap, ts, cs, tt, tr, rid, mid, sid, 0, "0.0.0.0", "0.0.0.0", 0, ec, user                  \
    }

static const struct row {
    const char *name;
    struct sess_engine *(*make)(void);
    void (*run)(struct sess_engine *e);
    size_t n;
    struct xev ev[3];
} rows[] = {
    {"SessionStart: Accounting-Start of a targeted login",
     NULL,
     r_acct_start,
     1,
     {START(T0 + 1, 2, 3, "alice", RID, 7, BIG, SUB, "127.0.0.2")}},
    {"SessionStart: Access-Accept with a framed address and LI VSAs, one event",
     NULL,
     r_accept_framed,
     1,
     {START(T0, 0, 5, "abc-XYZ!", RID, 0x300, 0x90, SUB, "127.0.0.2")}},
    {"SessionStart: a DHCP binding matching a trigger",
     NULL,
     r_dhcp_bind,
     1,
     {START(T0, 2, 7, "eth0/1:100", 3323068670u, 9, 1, "198.18.1.20", "127.0.0.2")}},
    {"SessionEnd: Accounting-Stop, Acct-Terminate-Cause as is",
     NULL,
     r_stop_cause,
     1,
     {EV(PM_TRAP_SESSION_END, T0 + 60, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 4)}},
    {"SessionEnd: an unknown Acct-Terminate-Cause is genericFailure",
     NULL,
     r_stop_unknown_cause,
     1,
     {EV(PM_TRAP_SESSION_END, T0 + 60, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0)}},
    {"SessionEnd: DHCP RELEASE is userRequest",
     NULL,
     r_dhcp_release,
     1,
     {EV(PM_TRAP_SESSION_END, T0 + 5, 2, 7, "eth0/1:100", 3323068670u, 9, 1, 0, "198.18.1.20",
         "127.0.0.2", 1)}},
    {"SessionEnd: lease expiry is sessionTimeout",
     NULL,
     r_dhcp_expire,
     1,
     {EV(PM_TRAP_SESSION_END, T0 + 3600, 2, 7, "eth0/1:100", 3323068670u, 9, 1, 0, "198.18.1.20",
         "127.0.0.2", 5)}},
    {"SessionEnd: Disconnect-ACK before any Stop is adminReset; the Stop adds nothing",
     NULL,
     r_disconnect,
     1,
     {EV(PM_TRAP_SESSION_END, T0 + 9, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 6)}},
    {"SessionFailed: no Accounting-Start within sessionStartTimeout",
     NULL,
     r_start_timeout,
     1,
     {EV(PM_TRAP_SESSION_FAILED, T0 + 30, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0)}},
    {"SessionFailed: a Stop with zero Acct-Session-Time",
     NULL,
     r_stop_zero,
     1,
     {EV(PM_TRAP_SESSION_FAILED, T0 + 2, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 17)}},
    {"SessionFailed: DHCP DECLINE",
     NULL,
     r_dhcp_decline,
     1,
     {EV(PM_TRAP_SESSION_FAILED, T0 + 1, 2, 7, "eth0/1:100", 3323068670u, 9, 1, 0, "198.18.1.20",
         "127.0.0.2", 0)}},
    {"InterfaceSessionActivated: CoA LI-Action on",
     NULL,
     r_coa_on,
     1,
     {EV(PM_TRAP_IFSESS_ACTIVATED, T0 + 20, 1, 5, "1234567890123", RID, 0x301, 0x91, 0, SUB,
         "127.0.0.3", 0)}},
    {"InterfaceSessionActivated: a trigger added while the session is up",
     NULL,
     r_trigger_added,
     1,
     {EV(PM_TRAP_IFSESS_ACTIVATED, T0 + 30, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0)}},
    {"InterfaceSessionActivated: a warrant window opens by itself",
     NULL,
     r_window_opens,
     1,
     {EV(PM_TRAP_IFSESS_ACTIVATED, T0 + 100, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0)}},
    {"InterfaceSessionActivated: a static mirror added",
     NULL,
     r_static_added,
     1,
     {EV(PM_TRAP_IFSESS_ACTIVATED, T0 + 3, 3, 0, "veth-a", 0, 11, 1, 0, "0.0.0.0", "127.0.0.2",
         0)}},
    {"InterfaceSessionActivated: a static mirror's interface back",
     NULL,
     r_static_back,
     1,
     {EV(PM_TRAP_IFSESS_ACTIVATED, T0 + 5, 3, 0, "veth-a", 0, 11, 1, 0, "0.0.0.0", "127.0.0.2",
         0)}},
    {"InterfaceSessionDeactivated: CoA LI-Action off",
     NULL,
     r_coa_off,
     1,
     {EV(PM_TRAP_IFSESS_DEACTIVATED, T0 + 40, 1, 5, "1234567890123", RID, 0x301, 0x91, 0, SUB,
         "127.0.0.3", 0)}},
    {"InterfaceSessionDeactivated: a trigger removed",
     NULL,
     r_trigger_removed,
     1,
     {EV(PM_TRAP_IFSESS_DEACTIVATED, T0 + 40, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0)}},
    {"InterfaceSessionDeactivated: a warrant window closes by itself",
     NULL,
     r_window_closes,
     1,
     {EV(PM_TRAP_IFSESS_DEACTIVATED, T0 + 50, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0)}},
    {"InterfaceSessionDeactivated: a static mirror removed",
     NULL,
     r_static_removed,
     1,
     {EV(PM_TRAP_IFSESS_DEACTIVATED, T0 + 6, 3, 0, "veth-a", 0, 11, 1, 0, "0.0.0.0", "127.0.0.2",
         0)}},
    {"SessionReject: an Access-Reject a trigger matches",
     NULL,
     r_reject,
     1,
     {EV(PM_TRAP_SESSION_REJECT, T0 + 1, 2, 4, "00-11-22-33-44-55", RID, 12, 4242, 1, SUB,
         "127.0.0.2", 0)}},
    {"mid-life: an Interim-Update without a seen start",
     NULL,
     r_interim_midlife,
     1,
     {EV(PM_TRAP_IFSESS_ACTIVATED, T0 + 300, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0)}},
    {"mid-life: a Stop without a seen start",
     NULL,
     r_stop_midlife,
     2,
     {EV(PM_TRAP_IFSESS_ACTIVATED, T0 + 300, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0),
      EV(PM_TRAP_SESSION_END, T0 + 300, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 1)}},
    {"maxSubscribers reached for a CLI target",
     NULL,
     r_full_cli,
     1,
     {FAIL(PM_TRAP_CLI_FAILURE, T0 + 1, 2, 3, "alice", RID, 7, 0, 1, NULL)}},
    {"maxSubscribers reached for a CLI target: once, not at every Interim or the Stop",
     NULL,
     r_full_cli_once,
     1,
     {FAIL(PM_TRAP_CLI_FAILURE, T0 + 1, 2, 3, "alice", RID, 7, 0, 1, NULL)}},
    {"maxSubscribers reached for a RADIUS target",
     NULL,
     r_full_radius,
     1,
     {FAIL(PM_TRAP_RADIUS_FAILURE, T0 + 1, 0, 5, "1234567890123", RID, 0x300, 0x90, 1, "alice")}},
    {"LI VSAs invalid",
     NULL,
     r_li_invalid,
     1,
     {FAIL(PM_TRAP_RADIUS_FAILURE, T0, 0, 5, "1234567890123", RID, 0x300, 0x90, 7, "alice")}},
    {"LI VSAs invalid, no User-Name: Calling-Station-Id, the client's address",
     NULL,
     r_li_invalid_nouser,
     1,
     {FAIL(PM_TRAP_RADIUS_FAILURE, T0, 0, 4, "00-aa-bb", 3323068418u, 0x300, 0x90, 7, "00-aa-bb")}},
    {"LI VSAs with an unusable analyzer",
     NULL,
     r_li_bad_analyzer,
     1,
     {FAIL(PM_TRAP_RADIUS_FAILURE, T0, 0, 5, "1234567890123", RID, 0x300, 0x90, 4, "alice")}},
    {"a CLI trigger that cannot be applied: its analyzer",
     NULL,
     r_cli_bad_analyzer,
     1,
     {FAIL(PM_TRAP_CLI_FAILURE, T0, 2, 3, "alice", 0, 7, 0, 4, NULL)}},
    {"a static mirror that cannot be applied: no such interface",
     NULL,
     r_static_unknown,
     1,
     {FAIL(PM_TRAP_CLI_FAILURE, T0, 3, 0, "veth-zz", 0, 11, 0, 5, NULL)}},
    {"InterfaceDeleted: the static mirror on it and the sessions last seen there",
     NULL,
     r_if_deleted,
     2,
     {EV(PM_TRAP_INTERFACE_DELETED, T0 + 7, 3, 0, "veth-a", 0, 11, 1, 0, "0.0.0.0", "127.0.0.2", 0),
      EV(PM_TRAP_INTERFACE_DELETED, T0 + 7, 2, 3, "alice", RID, 7, BIG, 0, SUB, "127.0.0.2", 0)}},
};

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        int full = strstr(r->name, "maxSubscribers") != NULL;
        struct sess_engine *e = engine(full ? 1 : 100);
        r->run(e);
        if (g_nev != r->n) {
            fprintf(stderr, "%s: %zu events, %zu expected\n", r->name, g_nev, r->n);
            for (size_t k = 0; k < g_nev; k++)
                fprintf(stderr, "  trap %d\n", (int)g_ev[k].trap);
            exit(1);
        }
        for (size_t k = 0; k < r->n; k++)
            check_ev(r->name, k, &g_ev[k], &r->ev[k]);
        CHECK(g_nmlog >= r->n); /* every event has its mirror-log entry */
        se_free(e);
    }
}

/* ---- beyond the table ---- */

static void test_session_survives_interface(void)
{
    struct sess_engine *e = engine(100);
    r_if_deleted(e);
    struct se_target out[SE_TARGETS_MAX];
    uint32_t sub = ip4(SUB), far = ip4("203.0.113.1");
    /* the session still mirrors (its data now arrives on source 1) */
    CHECK(se_match_packet(e, 4, (const uint8_t *)&sub, (const uint8_t *)&far, 1, -1, out,
                          SE_TARGETS_MAX) == 1);
    CHECK(out[0].mirror_id == 7);
    struct se_stats st;
    se_get_stats(e, &st);
    CHECK(st.sessions == 1 && st.targets == 1 && st.intercepts == 1);
    se_free(e);
}

static void test_precedence(void)
{
    struct sess_engine *e = engine(100);
    /* same mirror ID: acct-session-id beats username beats nas-port-id */
    struct pm_trigger t[3] = {rule(TRIG_NAS_PORT_ID, "port-7", 5), rule(TRIG_USERNAME, "alice", 5),
                              rule(TRIG_ACCT_SID, "1234567890123", 5)};
    se_set_triggers(e, t, 2, T0); /* nas-port-id and username only */
    struct sig_fact f = alice(SIG_ACCT_START, T0 + 1, 1);
    sstr(&f.id.nas_port_id, "port-7");
    on(e, f);
    CHECK(g_nev == 1 && g_ev[0].trigger_type == TRIG_USERNAME && g_ev[0].mirror_id == 5);
    mark();
    /* a rule of higher precedence added later takes over */
    se_set_triggers(e, t, 3, T0 + 2);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_ACTIVATED);
    CHECK(g_ev[0].trigger_type == TRIG_ACCT_SID);
    mark();
    /* it goes: the next rule of the same mirror ID takes over again */
    se_set_triggers(e, t, 2, T0 + 3);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_ACTIVATED);
    CHECK(g_ev[0].trigger_type == TRIG_USERNAME);
    mark();
    /* an unchanged table changes nothing */
    se_set_triggers(e, t, 2, T0 + 4);
    CHECK(g_nev == 0);
    se_free(e);

    /* RADIUS wins at login over a CLI rule of the same mirror ID */
    e = engine(100);
    struct pm_trigger u = rule(TRIG_USERNAME, "alice", 0x300);
    se_set_triggers(e, &u, 1, T0);
    f = alice(SIG_ACCESS_ACCEPT, T0 + 1, 1);
    li_on(&f.li, 0x300, 0x90, AN, 30030);
    on(e, f);
    CHECK(g_nev == 1 && g_ev[0].config_source == 0 && g_ev[0].session_id == 0x90);
    CHECK(g_nic == 1 && g_ic_up[0] == 1 && g_ic[0].mirror_id == 0x300);
    CHECK(g_ic[0].id.user.len == 5 && g_ic[0].config_source == 0);
    mark();
    /* ... and the newest wins later: a CLI rule added now replaces it */
    se_set_triggers(e, NULL, 0, T0 + 2);
    CHECK(g_nev == 0);
    u.direction = TRIG_DIR_INGRESS;
    se_set_triggers(e, &u, 1, T0 + 3);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_ACTIVATED && g_ev[0].config_source == 2);
    CHECK(g_nic == 1 && g_ic_up[0] == 0); /* the agent forgets the RADIUS one */
    mark();
    /* ... and a CoA after it wins again */
    struct sig_fact c = coa(T0 + 4, SIG_LI_ON, 0x300);
    on(e, c);
    CHECK(g_nev == 1 && g_ev[0].config_source == 1 && g_nic == 1 && g_ic_up[0] == 1);
    mark();
    /* the same CoA again changes nothing */
    on(e, c);
    CHECK(g_nev == 0 && g_nic == 0);
    se_free(e);
}

/* JUNOSe's whole order: with all eight rules of one mirror ID matching, each
 * removal from the top hands the intercept to the next type in the order */
static void test_precedence_order(void)
{
    static const enum trig_type order[] = {TRIG_ACCT_SID, TRIG_CSID,        TRIG_IP,
                                           TRIG_USERNAME, TRIG_NAS_PORT_ID, TRIG_OPT82,
                                           TRIG_CIRCUIT,  TRIG_REMOTE};
    static const char *const value[] = {"1234567890123", "00-aa", "198.18.1.0/24", "alice",
                                        "port-7",        "o82",   "circ",          "rem"};
    struct pm_trigger t[8];
    /* in the table in reverse: the order is the types', not the table's */
    for (int i = 0; i < 8; i++)
        t[7 - i] = rule(order[i], value[i], 9);
    struct sess_engine *e = engine(100);
    se_set_triggers(e, t, 8, T0);
    struct sig_fact f = alice(SIG_ACCT_START, T0, 1);
    sstr(&f.id.csid, "00-aa");
    sstr(&f.id.nas_port_id, "port-7");
    sstr(&f.id.opt82, "o82");
    sstr(&f.id.circuit, "circ");
    sstr(&f.id.remote, "rem");
    on(e, f);
    CHECK(g_nev == 1 && g_ev[0].trigger_type == TRIG_ACCT_SID);
    for (int k = 1; k < 8; k++) {
        mark();
        se_set_triggers(e, t, (size_t)(8 - k), T0 + k); /* drops order[k - 1] */
        CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_ACTIVATED);
        CHECK(g_ev[0].trigger_type == (int)order[k] && strcmp(g_ev[0].trigger, value[k]) == 0);
    }
    mark();
    se_set_triggers(e, t, 0, T0 + 9);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_DEACTIVATED);
    se_free(e);
}

static void test_two_mirror_ids(void)
{
    struct sess_engine *e = engine(100);
    struct pm_trigger t[2] = {rule(TRIG_USERNAME, "alice", 1), rule(TRIG_IP, "198.18.1.0/24", 2)};
    t[1].analyzer.addr[3] = 3; /* 127.0.0.3 */
    se_set_triggers(e, t, 2, T0);
    on(e, alice(SIG_ACCT_START, T0, 1));
    CHECK(g_nev == 2);
    CHECK(g_ev[0].mirror_id == 1 && g_ev[1].mirror_id == 2); /* in mirror-ID order */
    struct se_target out[SE_TARGETS_MAX];
    uint32_t sub = ip4(SUB), far = ip4("203.0.113.1");
    size_t n = se_match_packet(e, 4, (const uint8_t *)&sub, (const uint8_t *)&far, 0, -1, out,
                               SE_TARGETS_MAX);
    CHECK(n == 2);
    CHECK(out[0].mirror_id != out[1].mirror_id);
    CHECK(out[0].session_id == BIG && out[1].session_id == BIG);
    se_free(e);
}

/* RADIUS at login and a CLI rule, different mirror IDs: both start, in
 * mirror-ID order whatever configured them */
static void test_two_sources(void)
{
    struct sess_engine *e = engine(100);
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 0x2ff);
    se_set_triggers(e, &t, 1, T0);
    struct sig_fact f = alice(SIG_ACCESS_ACCEPT, T0 + 1, 1);
    li_on(&f.li, 0x300, 0x90, AN, 30030);
    on(e, f);
    CHECK(g_nev == 2);
    CHECK(g_ev[0].mirror_id == 0x2ff && g_ev[0].config_source == 2 && g_ev[0].session_id == BIG);
    CHECK(g_ev[1].mirror_id == 0x300 && g_ev[1].config_source == 0 && g_ev[1].session_id == 0x90);
    mark();
    struct sig_fact s = alice(SIG_ACCT_STOP, T0 + 9, 1);
    s.has_session_time = 1;
    s.session_time = 8;
    on(e, s);
    CHECK(g_nev == 2 && g_ev[0].mirror_id == 0x2ff && g_ev[1].mirror_id == 0x300);
    CHECK(g_ev[0].termination_reason == 0 && g_ev[1].trap == PM_TRAP_SESSION_END);
    se_free(e);
}

static void test_directions_and_ipv6(void)
{
    struct sess_engine *e = engine(100);
    struct pm_trigger t[2] = {rule(TRIG_IP, "2001:db8:100::/40", 1),
                              rule(TRIG_USERNAME, "carol", 2)};
    t[0].direction = TRIG_DIR_INGRESS;
    t[1].direction = TRIG_DIR_EGRESS;
    se_set_triggers(e, t, 2, T0);
    /* carol: Framed-IPv6-Prefix 2001:db8:100:1::/64 and a delegated /56 */
    struct sig_fact f = fact(SIG_ACCT_START, T0);
    sstr(&f.id.user, "carol");
    sstr(&f.id.acct_sid, "C0FFEE0012345678");
    f.id.nprefix6 = 2;
    inet_pton(AF_INET6, "2001:db8:100:1::", f.id.prefix6[0].addr);
    f.id.prefix6[0].len = 64;
    inet_pton(AF_INET6, "2001:db8:100:200::", f.id.prefix6[1].addr);
    f.id.prefix6[1].len = 56;
    /* dave: a longer prefix inside carol's /56 */
    struct sig_fact g = fact(SIG_ACCT_START, T0);
    sstr(&g.id.user, "dave");
    sstr(&g.id.acct_sid, "d-1");
    g.id.nprefix6 = 1;
    inet_pton(AF_INET6, "2001:db8:100:2aa::", g.id.prefix6[0].addr);
    g.id.prefix6[0].len = 64;
    on(e, f);
    CHECK(g_nev == 2);
    CHECK(g_ev[0].target_ip == 0 && g_ev[0].session_id == 0x12345678u);
    CHECK(strstr(g_mlog[0], "ipv6Prefix=2001:db8:100:1::/64") != NULL);
    on(e, g);
    CHECK(g_nev == 3 && g_ev[2].mirror_id == 1); /* dave is in the /40 as well */
    uint8_t a[16], far[16];
    inet_pton(AF_INET6, "2001:db8:ffff::1", far);
    struct se_target out[SE_TARGETS_MAX];
    /* carol sends: ingress rule 1 only */
    inet_pton(AF_INET6, "2001:db8:100:1::5", a);
    CHECK(se_match_packet(e, 6, a, far, 0, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 1);
    /* carol receives: egress rule 2 only */
    CHECK(se_match_packet(e, 6, far, a, 0, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 2);
    /* in carol's /56, outside dave's /64: carol */
    inet_pton(AF_INET6, "2001:db8:100:2ff::9", a);
    CHECK(se_match_packet(e, 6, far, a, 0, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 2);
    /* in dave's /64 (longest prefix): dave, who has rule 1 only (ingress) */
    inet_pton(AF_INET6, "2001:db8:100:2aa::9", a);
    CHECK(se_match_packet(e, 6, far, a, 0, -1, out, SE_TARGETS_MAX) == 0);
    CHECK(se_match_packet(e, 6, a, far, 0, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 1);
    /* nobody's */
    CHECK(se_match_packet(e, 6, far, far, 0, -1, out, SE_TARGETS_MAX) == 0);
    se_free(e);
}

static void test_restore(void)
{
    struct sess_engine *e = engine(100);
    struct sig_fact f = alice(SIG_ACCESS_ACCEPT, T0, 1);
    li_on(&f.li, 0x300, 0x90, AN, 30030);
    on(e, f);
    CHECK(g_nic == 1 && g_ic_up[0] == 1);
    struct pm_intercept kept = g_ic[0];
    se_free(e);

    e = engine(100); /* the restarted capture process */
    CHECK(se_restore(e, &kept) == 0);
    CHECK(g_nev == 0 && g_nic == 0); /* silently */
    struct se_target out[SE_TARGETS_MAX];
    uint32_t sub = ip4(SUB), far = ip4("203.0.113.1");
    CHECK(se_match_packet(e, 4, (const uint8_t *)&far, (const uint8_t *)&sub, 0, -1, out,
                          SE_TARGETS_MAX) == 1);
    CHECK(out[0].mirror_id == 0x300 && out[0].session_id == 0x90 && out[0].analyzer->port == 30030);
    struct se_stats st;
    se_get_stats(e, &st);
    CHECK(st.restored == 1 && st.intercepts == 1);
    /* its Stop ends it as usual */
    struct sig_fact s = alice(SIG_ACCT_STOP, T0 + 100, 1);
    s.has_session_time = 1;
    s.session_time = 100;
    s.has_term_cause = 1;
    s.term_cause = 1;
    on(e, s);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_SESSION_END && g_ev[0].config_source == 0);
    CHECK(g_ev[0].session_id == 0x90 && g_nic == 1 && g_ic_up[0] == 0);
    /* a record that makes no sense is refused */
    kept.mirror_id = TRIG_MIRROR_ID_MAX + 1;
    CHECK(se_restore(e, &kept) == -1);
    se_free(e);
}

static void test_windows(void)
{
    struct sess_engine *e = engine(100);
    up_plain(e);
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    t.from = T0 + 10;
    t.until = T0 + 20;
    se_set_triggers(e, &t, 1, T0);
    CHECK(se_tick(e, T0 + 1, 0) == 9000);
    se_tick(e, T0 + 10, 0);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_ACTIVATED);
    CHECK(se_tick(e, T0 + 11, 0) == 9000);
    se_tick(e, T0 + 25, 0);
    CHECK(g_nev == 2 && g_ev[1].trap == PM_TRAP_IFSESS_DEACTIVATED);
    CHECK(se_tick(e, T0 + 26, 0) == -1);
    se_free(e);
}

/* a login after a window opened, before any tick: the rule is in force for
 * it (one SessionStart, not an activation at the next tick) */
static void test_window_before_tick(void)
{
    struct sess_engine *e = engine(100);
    struct pm_trigger t = rule(TRIG_USERNAME, "alice", 7);
    t.from = T0 + 10;
    se_set_triggers(e, &t, 1, T0);
    on(e, alice(SIG_ACCT_START, T0 + 12, 1));
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_SESSION_START && g_ev[0].when.tv_sec == T0 + 12);
    se_tick(e, T0 + 13, 0);
    CHECK(g_nev == 1);
    se_free(e);
}

static void test_sid(void)
{
    CHECK(se_sid_from_acct((const uint8_t *)"1234567890123", 13) == BIG);
    CHECK(se_sid_from_acct((const uint8_t *)"42", 2) == 42);
    CHECK(se_sid_from_acct((const uint8_t *)"0A1b2C3d4E", 10) == 0x1b2c3d4eu);
    CHECK(se_sid_from_acct((const uint8_t *)"abc-XYZ!", 8) == 0x58595a21u);
    CHECK(se_sid_from_acct((const uint8_t *)"ab!", 3) == 0x616221u);
    /* the counter: sessions without Acct-Session-Id, from 1 */
    struct sess_engine *e = engine(100);
    struct pm_trigger t = rule(TRIG_IP, "198.18.1.0/24", 3);
    se_set_triggers(e, &t, 1, T0);
    on(e, dhcp(SIG_DHCP_ACK, T0));
    struct sig_fact g = dhcp(SIG_DHCP_ACK, T0);
    g.id.framed_ip = ip4("198.18.1.21");
    g.id.chaddr[5] = 2;
    on(e, g);
    CHECK(g_nev == 2 && g_ev[0].session_id == 1 && g_ev[1].session_id == 2);
    se_free(e);
}

static void test_mlog_and_untracked(void)
{
    struct sess_engine *e = engine(1);
    struct sig_fact f = alice(SIG_ACCT_START, T0, 1);
    uint8_t longname[253];
    memset(longname, 'n', sizeof(longname));
    longname[252] = 'Z';
    f.id.user.len = 253;
    memcpy(f.id.user.v, longname, 253);
    f.id.has_framed_ip6 = 1;
    inet_pton(AF_INET6, "2001:db8::77", f.id.framed_ip6);
    struct pm_trigger t = rule(TRIG_IP, "2001:db8::77", 7);
    se_set_triggers(e, &t, 1, T0);
    on(e, f);
    CHECK(g_nev == 1 && g_nmlog == 1);
    /* the full values: a 253-octet name (the MIB's 64 are the agent's cut), IPv6 */
    CHECK(strstr(g_mlog[0], "nZ\"") != NULL);
    CHECK(strstr(g_mlog[0], "framedIpv6=2001:db8::77") != NULL);
    CHECK(strstr(g_mlog[0], "trigger=\"2001:db8::77\"") != NULL);
    CHECK(strstr(g_mlog[0], "SessionStart configurationSource=cliTrigger") == g_mlog[0]);
    mark();
    /* the table is full: untargeted sessions are counted, one entry per episode */
    for (int i = 0; i < 3; i++) {
        struct sig_fact u = fact(SIG_ACCT_START, T0 + 1);
        sstr(&u.id.user, "nobody");
        sstr(&u.id.acct_sid, "u");
        u.id.acct_sid.v[0] = (uint8_t)('a' + i);
        on(e, u);
    }
    CHECK(g_nev == 0 && g_nmlog == 1 && strstr(g_mlog[0], "maxSubscribers") != NULL);
    CHECK(strstr(g_mlog[0], "nobody") == NULL);
    struct se_stats st;
    se_get_stats(e, &st);
    CHECK(st.untracked == 3 && st.sessions == 1);
    /* subscribers listed, escaped, targets marked */
    char list[4][256];
    int more = 0;
    CHECK(se_list(e, "", 0, 4, list, &more) == 1 && more == 0 && list[0][0] == '*');
    CHECK(se_list(e, "2001:db8::77", 0, 4, list, &more) == 1);
    CHECK(se_list(e, "nomatch", 0, 4, list, &more) == 0);
    CHECK(se_list(e, "", 1, 4, list, &more) == 0 && more == 0);
    CHECK(se_list(e, "", 0, 0, list, &more) == 0 && more == 1);
    se_free(e);
}

/* The address a target held goes to another client (the target's end was
 * never seen: a restart, a lost packet): the new client's ACK does not join
 * the target's session, so its traffic is not mirrored under the target's
 * intercept; the target's session keeps its intercept without the address,
 * and an end naming the address and the new chaddr leaves it alone. */
static void test_dhcp_other_client(void)
{
    struct sess_engine *e = engine(100);
    struct pm_trigger t = rule(TRIG_REMOTE, "cpe-77", 4);
    se_set_triggers(e, &t, 1, T0);
    on(e, dhcp(SIG_DHCP_ACK, T0));
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_SESSION_START && g_ev[0].mirror_id == 4);
    mark();
    struct sig_fact g = dhcp(SIG_DHCP_ACK, T0 + 10);
    g.id.chaddr[5] = 2;
    sstr(&g.id.circuit, "eth0/1:200");
    sstr(&g.id.remote, "cpe-99");
    sstr(&g.id.opt82, "\x01\x0a"
                      "eth0/1:200");
    on(e, g);
    CHECK(g_nev == 0);
    struct se_stats st;
    se_get_stats(e, &st);
    CHECK(st.sessions == 2);
    struct se_target out[SE_TARGETS_MAX];
    uint32_t sub = ip4("198.18.1.20"), far = ip4("203.0.113.1");
    CHECK(se_match_packet(e, 4, (const uint8_t *)&far, (const uint8_t *)&sub, 0, -1, out,
                          SE_TARGETS_MAX) == 0);
    /* the new client's binding ends: the target's session stays */
    g.kind = SIG_DHCP_EXPIRE;
    on(e, g);
    se_get_stats(e, &st);
    CHECK(g_nev == 0 && st.sessions == 1);
    /* the target's own end (its chaddr, the address it no longer holds) ends it */
    on(e, dhcp(SIG_DHCP_RELEASE, T0 + 20));
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_SESSION_END && g_ev[0].mirror_id == 4);
    se_free(e);
}

/* Outside its quotes, does row hold text?  Quotes and backslash escapes as
 * pm_escape writes them; 0 also when a quote is left open. */
static int unquoted_has(const char *row, const char *text)
{
    char outside[512];
    size_t o = 0;
    int in = 0;
    for (const char *c = row; *c != '\0'; c++) {
        if (in && *c == '\\' && c[1] != '\0') {
            c++;
            continue;
        }
        if (*c == '"')
            in = !in;
        else if (!in && o + 1 < sizeof(outside))
            outside[o++] = *c;
    }
    outside[o] = '\0';
    CHECK(!in);
    return strstr(outside, text) != NULL;
}

/* A subscriber's identities cannot forge fields in `show mirror subscribers`:
 * a value cut to fit is never cut inside an escape, whose lone backslash
 * would swallow the closing quote and turn the next value into fields. */
static void test_list_escape(void)
{
    struct sess_engine *e = engine(100);
    struct sig_fact f = fact(SIG_ACCT_START, T0);
    char name[80];
    memset(name, 'n', sizeof(name));
    name[62] = '"'; /* escaped as \" over the 63rd and 64th characters */
    f.id.user.len = sizeof(name);
    memcpy(f.id.user.v, name, sizeof(name));
    sstr(&f.id.csid, " ip=203.0.113.66 circuit=forged ");
    sstr(&f.id.acct_sid, "a1");
    on(e, f);
    char list[4][256];
    int more = 0;
    CHECK(se_list(e, "", 0, 4, list, &more) == 1);
    CHECK(strstr(list[0], "csid=\"") != NULL);
    CHECK(!unquoted_has(list[0], "203.0.113.66") && !unquoted_has(list[0], "forged"));
    /* a field that does not fit whole is left out, never cut open */
    f = fact(SIG_ACCT_START, T0);
    sstr(&f.id.acct_sid, "a2");
    for (int i = 0; i < 8; i++) {
        f.id.prefix6[i % 4].len = 64;
        f.id.prefix6[i % 4].addr[0] = 0x20, f.id.prefix6[i % 4].addr[1] = 0x01;
        f.id.prefix6[i % 4].addr[7] = (uint8_t)(i + 1);
    }
    f.id.nprefix6 = 4;
    f.id.user.len = sizeof(name);
    memcpy(f.id.user.v, name, sizeof(name));
    sstr(&f.id.circuit, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f");
    on(e, f);
    CHECK(se_list(e, "", 0, 4, list, &more) == 2);
    for (int i = 0; i < 2; i++) {
        size_t l = strlen(list[i]);
        CHECK(l > 0 && l < 256 && list[i][l - 1] != '\\');
        (void)unquoted_has(list[i], "\x01"); /* quotes balanced */
    }
    se_free(e);
}

/* A mirror-log entry whose identities do not all fit leaves whole fields out:
 * its quotes stay balanced and its time is there. */
static void test_mlog_full(void)
{
    struct sess_engine *e = engine(100);
    struct sig_fact f = alice(SIG_ACCT_START, T0, 1);
    struct sig_str *str[] = {&f.id.user,   &f.id.csid,    &f.id.acct_sid, &f.id.nas_port_id,
                             &f.id.nas_id, &f.id.circuit, &f.id.remote,   &f.id.opt82};
    for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
        str[i]->len = SIG_STR_MAX; /* 4 characters each escaped: 8 x 1012 > 8192 */
        memset(str[i]->v, 0x01, SIG_STR_MAX);
        str[i]->v[SIG_STR_MAX - 2] = '"';
    }
    struct pm_trigger t = rule(TRIG_IP, "198.18.1.10", 5);
    se_set_triggers(e, &t, 1, T0);
    on(e, f);
    CHECK(g_nmlog == 1);
    (void)unquoted_has(g_mlog[0], "x"); /* quotes balanced */
    CHECK(strstr(g_mlog[0], " time=2026-11-") != NULL);
    CHECK(strlen(g_mlog[0]) <= IPC_MLOG_MAX); /* the capture process cuts nothing */
    se_free(e);
}

/* An address given to another subscriber while its old session's Stop was
 * lost: the new login ends the old session instead of joining it, so the old
 * target's intercept never mirrors the new subscriber; the old subscriber's
 * late Stop does not end the new session. */
static void test_address_reused(void)
{
    struct sess_engine *e = engine(100);
    struct pm_trigger t[2] = {rule(TRIG_USERNAME, "alice", 5), rule(TRIG_USERNAME, "bob", 6)};
    se_set_triggers(e, t, 2, T0);
    on(e, alice(SIG_ACCESS_ACCEPT, T0, 1));
    on(e, alice(SIG_ACCT_START, T0 + 1, 1));
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_SESSION_START && g_ev[0].mirror_id == 5);
    mark();
    /* bob, another port of the NAS, gets alice's address: no Stop of alice seen */
    struct sig_fact b = alice(SIG_ACCESS_ACCEPT, T0 + 60, 1);
    sstr(&b.id.user, "bob");
    sstr(&b.id.acct_sid, "bob-1");
    b.id.nas_port = 8;
    b.id.acct_sid.len = 0; /* the Access-Request has none */
    on(e, b);
    CHECK(g_nev == 2);
    CHECK(g_ev[0].trap == PM_TRAP_SESSION_END && g_ev[0].mirror_id == 5);
    CHECK(g_ev[0].termination_reason == 0);
    CHECK(g_ev[1].trap == PM_TRAP_SESSION_START && g_ev[1].mirror_id == 6);
    struct se_target out[SE_TARGETS_MAX];
    uint32_t sub = ip4(SUB), far = ip4("198.51.100.1");
    CHECK(se_match_packet(e, 4, (const uint8_t *)&sub, (const uint8_t *)&far, 0, -1, out,
                          SE_TARGETS_MAX) == 1);
    CHECK(out[0].mirror_id == 6);
    mark();
    sstr(&b.id.acct_sid, "bob-1");
    b.kind = SIG_ACCT_START;
    b.ts_sec = T0 + 61;
    on(e, b);
    CHECK(g_nev == 0); /* bob's own Start joins bob's login */
    /* alice's late Stop: found by the address only, not bob's */
    on(e, alice(SIG_ACCT_STOP, T0 + 62, 1));
    CHECK(g_nev == 0);
    struct se_stats st;
    se_get_stats(e, &st);
    CHECK(st.sessions == 1 && st.sessions_ended == 1 && st.targets == 1);
    se_free(e);
}

/* Static mirrors among other rules: a packet is given exactly the running
 * static mirrors of its own source (the engine keeps their indexes), also
 * after the table changes and an interface goes down. */
static void test_static_among_rules(void)
{
    struct sess_engine *e = engine(100);
    se_set_source(e, 0, "veth-a");
    se_set_source(e, 1, "veth-b");
    se_set_source(e, 2, "veth-c");
    struct pm_trigger t[5] = {
        rule(TRIG_USERNAME, "nobody-here", 1), rule(TRIG_INTERFACE, "veth-b", 21),
        rule(TRIG_USERNAME, "nobody-either", 2), rule(TRIG_INTERFACE, "veth-c", 22),
        rule(TRIG_INTERFACE, "veth-a", 23)};
    se_set_triggers(e, t, 5, T0);
    struct se_target out[SE_TARGETS_MAX];
    uint32_t a = ip4("203.0.113.1"), b = ip4("203.0.113.2");
    const uint8_t *pa = (const uint8_t *)&a, *pb = (const uint8_t *)&b;
    CHECK(se_match_packet(e, 4, pa, pb, 1, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 21);
    CHECK(se_match_packet(e, 4, pa, pb, 2, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 22);
    CHECK(se_match_packet(e, 4, pa, pb, 0, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 23);
    /* the table shrinks: the indexes follow */
    se_set_triggers(e, &t[3], 2, T0 + 1);
    CHECK(se_match_packet(e, 4, pa, pb, 1, -1, out, SE_TARGETS_MAX) == 0);
    CHECK(se_match_packet(e, 4, pa, pb, 2, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 22);
    CHECK(se_match_packet(e, 4, pa, pb, 0, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 23);
    se_interface_down(e, 2, T0 + 2);
    CHECK(se_match_packet(e, 4, pa, pb, 2, -1, out, SE_TARGETS_MAX) == 0);
    CHECK(se_match_packet(e, 4, pa, pb, 0, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 23);
    se_free(e);
}

/* A static mirror's direction: ingress takes only frames received on its
 * interface, egress only frames sent, both every frame, also of unknown
 * direction (-1: a pcap file); a session's directions are unaffected. */
static void test_static_directions(void)
{
    struct sess_engine *e = engine(100);
    se_set_source(e, 0, "veth-in");
    se_set_source(e, 1, "veth-out");
    se_set_source(e, 2, "veth-both");
    struct pm_trigger t[3] = {rule(TRIG_INTERFACE, "veth-in", 31),
                              rule(TRIG_INTERFACE, "veth-out", 32),
                              rule(TRIG_INTERFACE, "veth-both", 33)};
    t[0].direction = TRIG_DIR_INGRESS;
    t[1].direction = TRIG_DIR_EGRESS;
    t[2].direction = TRIG_DIR_BOTH;
    se_set_triggers(e, t, 3, T0);
    struct se_target out[SE_TARGETS_MAX];
    uint32_t a = ip4("203.0.113.1"), b = ip4("203.0.113.2");
    const uint8_t *pa = (const uint8_t *)&a, *pb = (const uint8_t *)&b;
    const int in = TRIG_DIR_INGRESS, eg = TRIG_DIR_EGRESS;
    CHECK(se_match_packet(e, 4, pa, pb, 0, in, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 31);
    CHECK(se_match_packet(e, 4, pa, pb, 0, eg, out, SE_TARGETS_MAX) == 0);
    CHECK(se_match_packet(e, 4, pa, pb, 0, -1, out, SE_TARGETS_MAX) == 0);
    CHECK(se_match_packet(e, 4, pa, pb, 1, in, out, SE_TARGETS_MAX) == 0);
    CHECK(se_match_packet(e, 4, pa, pb, 1, eg, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 32);
    CHECK(se_match_packet(e, 4, pa, pb, 1, -1, out, SE_TARGETS_MAX) == 0);
    CHECK(se_match_packet(e, 4, pa, pb, 2, in, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 33);
    CHECK(se_match_packet(e, 4, pa, pb, 2, eg, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 33);
    CHECK(se_match_packet(e, 4, pa, pb, 2, -1, out, SE_TARGETS_MAX) == 1 && out[0].mirror_id == 33);
    /* the other source's frames never reach a mirror of another interface */
    CHECK(se_match_packet(e, 4, pa, pb, 3, in, out, SE_TARGETS_MAX) == 0);
    se_free(e);
}

static void test_join_and_misc(void)
{
    /* an Access-Accept and a DHCP binding with the same address: one session */
    struct sess_engine *e = engine(100);
    struct pm_trigger t = rule(TRIG_REMOTE, "cpe-77", 4);
    se_set_triggers(e, &t, 1, T0);
    struct sig_fact a = alice(SIG_ACCESS_ACCEPT, T0, 0);
    a.id.framed_ip = ip4("198.18.1.20");
    on(e, a);
    CHECK(g_nev == 0); /* alice matches nothing yet */
    on(e, dhcp(SIG_DHCP_ACK, T0 + 1));
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_ACTIVATED && g_ev[0].mirror_id == 4);
    CHECK(g_ev[0].router_id == RID); /* the login's NAS, not the relay */
    struct se_stats st;
    se_get_stats(e, &st);
    CHECK(st.sessions == 1);
    mark();
    /* its Accounting-Start joins by the NAS key and announces nothing new */
    on(e, alice(SIG_ACCT_START, T0 + 2, 0));
    CHECK(g_nev == 0);
    on(e, dhcp(SIG_DHCP_RELEASE, T0 + 3));
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_SESSION_END && g_ev[0].termination_reason == 1);
    se_get_stats(e, &st);
    CHECK(st.sessions == 0 && st.sessions_ended == 1);
    se_free(e);

    /* an Access-Accept with only a framed address reports ipAddress */
    e = engine(100);
    struct sig_fact f = fact(SIG_ACCESS_ACCEPT, T0);
    f.id.framed_ip = ip4(SUB);
    f.id.nas_ip = ip4(NAS);
    li_on(&f.li, 0x300, 0x90, AN, 30030);
    on(e, f);
    CHECK(g_nev == 1 && g_ev[0].trigger_type == TRIG_IP && strcmp(g_ev[0].trigger, SUB) == 0);
    mark();
    /* ... while with a User-Name the name comes first (the address is the Accept's) */
    sstr(&f.id.user, "erin");
    f.id.framed_ip = ip4("198.18.1.11");
    f.li.mirror_id = 0x302;
    on(e, f);
    CHECK(g_nev == 1 && g_ev[0].trigger_type == TRIG_USERNAME);
    CHECK(strcmp(g_ev[0].trigger, "erin") == 0);
    mark();
    /* a CoA for no known session */
    struct sig_fact c = coa(T0 + 1, SIG_LI_ON, 0x303);
    sstr(&c.id.acct_sid, "nope");
    on(e, c);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_RADIUS_FAILURE && g_ev[0].error_cause == 5);
    CHECK(g_ev[0].config_source == 1 && g_ev[0].mirror_id == 0x303);
    mark();
    /* a CoA-NAK: logged, nothing else */
    on(e, fact(SIG_COA_NAK, T0 + 2));
    CHECK(g_nev == 0 && g_nmlog == 1);
    /* a CoA that names the session by Calling-Station-Id alone */
    struct sig_fact g = alice(SIG_ACCT_START, T0 + 3, 0);
    sstr(&g.id.csid, "00-de-ad");
    g.id.framed_ip = ip4("198.18.1.12");
    on(e, g);
    mark();
    c = coa(T0 + 4, SIG_LI_ON, 0x304);
    c.id.acct_sid.len = 0;
    sstr(&c.id.csid, "00-de-ad");
    on(e, c);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_ACTIVATED);
    CHECK(g_ev[0].trigger_type == TRIG_CSID && g_ev[0].target_ip == ip4("198.18.1.12"));
    se_free(e);

    /* a value with a quote and a control octet: Trigger and mirror log escaped */
    e = engine(100);
    t = rule(TRIG_USERNAME, "q\"x\001", 6);
    se_set_triggers(e, &t, 1, T0);
    g = fact(SIG_ACCT_START, T0);
    sstr(&g.id.user, "q\"x\001");
    sstr(&g.id.acct_sid, "7");
    on(e, g);
    CHECK(g_nev == 1 && strcmp(g_ev[0].trigger, "q\\\"x\\x01") == 0);
    CHECK(strstr(g_mlog[0], "trigger=\"q\\\"x\\x01\"") != NULL);
    CHECK(strstr(g_mlog[0], "userName=\"q\\\"x\\x01\"") != NULL);
    se_free(e);
    mark();

    /* a static mirror whose capture source is named after the rule arrives */
    e = engine(100);
    t = rule(TRIG_INTERFACE, "veth-c", 11);
    se_set_triggers(e, &t, 1, T0);
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_CLI_FAILURE);
    mark();
    se_set_source(e, 2, "veth-c");
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_IFSESS_ACTIVATED && g_ev[0].config_source == 3);
    struct se_target out[SE_TARGETS_MAX];
    uint32_t x = ip4("203.0.113.1"), y = ip4("203.0.113.2");
    CHECK(se_match_packet(e, 4, (const uint8_t *)&x, (const uint8_t *)&y, 2, -1, out,
                          SE_TARGETS_MAX) == 1);
    CHECK(se_match_packet(e, 4, (const uint8_t *)&x, (const uint8_t *)&y, 1, -1, out,
                          SE_TARGETS_MAX) == 0);
    se_free(e);
}

/* A Stop with another Acct-Session-Id (a replayed old one) must not end the
 * session now holding the NAS key and address, nor take that address. */
static void test_stale_stop(void)
{
    struct sess_engine *e = engine(100);
    up_alice(e);
    struct se_stats st;
    se_get_stats(e, &st);
    CHECK(st.sessions == 1 && st.intercepts == 1);
    struct sig_fact f = alice(SIG_ACCT_STOP, T0 + 600, 1);
    sstr(&f.id.acct_sid, "1234567000001"); /* the session before this one */
    f.has_session_time = 1;
    f.session_time = 60;
    on(e, f);
    CHECK(g_nev == 0 && g_nic == 0);
    se_get_stats(e, &st);
    CHECK(st.sessions == 1 && st.intercepts == 1 && st.stops_unmatched == 1);
    /* the real Stop still ends it, with the address it had */
    on(e, alice(SIG_ACCT_STOP, T0 + 700, 1));
    CHECK(g_nev == 1 && g_ev[0].trap == PM_TRAP_SESSION_END);
    CHECK(g_ev[0].target_ip == ip4("198.18.1.10"));
    se_get_stats(e, &st);
    CHECK(st.sessions == 0 && st.intercepts == 0);
    mark();
    /* an Accounting-Start with another Acct-Session-Id is another session */
    up_alice(e);
    struct sig_fact g = alice(SIG_ACCT_START, T0 + 800, 1);
    sstr(&g.id.acct_sid, "1234567000002");
    on(e, g);
    se_get_stats(e, &st);
    CHECK(st.sessions == 2 && st.sessions_created == 3);
    se_free(e);
}

/* se_icpt_active() follows every way an intercept begins and ends (CLI rule,
 * RADIUS, CoA, a static mirror, a shared session ID, many sessions), and each
 * target carries its intercept's RouterId. */
static void test_icpt_active(void)
{
    struct sess_engine *e = engine(1000);
    up_alice(e); /* username rule, mirror ID 7, the session's SessionIdentifier */
    CHECK(se_icpt_active(e, 7, BIG) == 1);
    CHECK(se_icpt_active(e, 7, BIG + 1) == 0 && se_icpt_active(e, 8, BIG) == 0);
    struct se_target out[SE_TARGETS_MAX];
    uint32_t sub = ip4(SUB), far = ip4("203.0.113.1");
    const uint8_t *ps = (const uint8_t *)&sub, *pf = (const uint8_t *)&far;
    CHECK(se_match_packet(e, 4, ps, pf, 0, -1, out, SE_TARGETS_MAX) == 1);
    CHECK(out[0].mirror_id == 7 && out[0].session_id == BIG && out[0].router_id == RID);
    /* a CoA adds 0x301 (RouterId: the CoA's NAS, none here: the session's) */
    on(e, coa(T0 + 20, SIG_LI_ON, 0x301));
    CHECK(se_icpt_active(e, 0x301, 0x91) == 1 && se_icpt_active(e, 7, BIG) == 1);
    CHECK(se_match_packet(e, 4, pf, ps, 0, -1, out, SE_TARGETS_MAX) == 2);
    CHECK(out[0].router_id == RID && out[1].router_id == RID);
    /* each takes packets from the time it was announced on (a frame read
     * late, stamped earlier, is not its packet): the CoA's for 0x301 */
    for (int i = 0; i < 2; i++) {
        int64_t lo = out[i].mirror_id == 0x301 ? (int64_t)(T0 + 20) * 1000000 : 1;
        CHECK(out[i].since_us >= lo && out[i].since_us < (int64_t)(T0 + 21) * 1000000);
    }
    on(e, coa(T0 + 21, SIG_LI_OFF, 0x301));
    CHECK(se_icpt_active(e, 0x301, 0x91) == 0 && se_icpt_active(e, 7, BIG) == 1);
    /* a static mirror: active while it runs, RouterId 0 */
    se_set_source(e, 1, "veth-a");
    struct pm_trigger t[2] = {rule(TRIG_USERNAME, "alice", 7), rule(TRIG_INTERFACE, "veth-a", 11)};
    se_set_triggers(e, t, 2, T0 + 30);
    CHECK(se_match_packet(e, 4, pf, pf, 1, -1, out, SE_TARGETS_MAX) == 1);
    CHECK(out[0].mirror_id == 11 && out[0].router_id == 0);
    uint32_t st_sid = out[0].session_id;
    CHECK(se_icpt_active(e, 11, st_sid) == 1 && se_icpt_active(e, 7, BIG) == 1);
    se_interface_down(e, 1, T0 + 31);
    CHECK(se_icpt_active(e, 11, st_sid) == 0);
    se_interface_up(e, 1, T0 + 32);
    CHECK(se_icpt_active(e, 11, st_sid) == 1);
    /* the username rule goes: alice's intercept ends */
    se_set_triggers(e, &t[1], 1, T0 + 33);
    CHECK(se_icpt_active(e, 7, BIG) == 0 && se_icpt_active(e, 11, st_sid) == 1);
    se_set_triggers(e, NULL, 0, T0 + 34);
    CHECK(se_icpt_active(e, 11, st_sid) == 0);
    /* two sessions with the same (mirror ID, session ID): active until both end */
    struct pm_trigger p = rule(TRIG_IP, "198.18.1.0/24", 5);
    p.has_session_id = 1;
    p.session_id = 55;
    se_set_triggers(e, &p, 1, T0 + 40);
    on(e, dhcp(SIG_DHCP_ACK, T0 + 41));
    CHECK(se_icpt_active(e, 5, 55) == 1);
    on(e, alice(SIG_ACCT_STOP, T0 + 42, 1));
    CHECK(se_icpt_active(e, 5, 55) == 1);
    on(e, dhcp(SIG_DHCP_RELEASE, T0 + 43));
    CHECK(se_icpt_active(e, 5, 55) == 0);
    /* many sessions: the set grows and every one is found, and forgotten */
    struct pm_trigger q = rule(TRIG_IP, "198.18.0.0/16", 6);
    se_set_triggers(e, &q, 1, T0 + 50);
    uint32_t sid[300];
    for (int i = 0; i < 300; i++) {
        struct sig_fact f = fact(SIG_ACCT_START, T0 + 51);
        char u[32], v[32];
        snprintf(u, sizeof(u), "u%d", i);
        sstr(&f.id.user, u);
        snprintf(v, sizeof(v), "as-%d", i);
        sstr(&f.id.acct_sid, v);
        f.id.nas_ip = ip4(NAS);
        f.id.framed_ip = htonl(0xc6120200u + (uint32_t)i); /* 198.18.2.0 + i */
        on(e, f);
        mark(); /* one notification each: not kept */
        sid[i] = se_sid_from_acct((const uint8_t *)v, strlen(v));
        CHECK(se_icpt_active(e, 6, sid[i]) == 1);
    }
    for (int i = 0; i < 300; i++) {
        CHECK(se_icpt_active(e, 6, sid[i]) == 1);
        struct sig_fact f = fact(SIG_ACCT_STOP, T0 + 60);
        char u[32], v[32];
        snprintf(u, sizeof(u), "u%d", i);
        sstr(&f.id.user, u);
        snprintf(v, sizeof(v), "as-%d", i);
        sstr(&f.id.acct_sid, v);
        f.id.nas_ip = ip4(NAS);
        f.id.framed_ip = htonl(0xc6120200u + (uint32_t)i);
        on(e, f);
        mark();
        CHECK(se_icpt_active(e, 6, sid[i]) == 0);
    }
    struct se_stats st;
    se_get_stats(e, &st);
    CHECK(st.intercepts == 0);
    CHECK(se_icpt_active(NULL, 6, sid[0]) == 0);
    se_free(e);
}

static void test_conf(void)
{
    struct pm_conf c;
    char err[256];
    const char *ok = "sessionStartTimeout 45\n";
    CHECK(conf_load_buffer("t.conf", ok, strlen(ok), &c, err, sizeof(err)) == 0);
    CHECK(c.session_start_timeout == 45);
    conf_free(&c);
    CHECK(conf_load_buffer("t.conf", "", 0, &c, err, sizeof(err)) == 0);
    CHECK(c.session_start_timeout == SE_START_TIMEOUT_DEFAULT);
    conf_free(&c);
    const char *bad = "sessionStartTimeout 0\n";
    CHECK(conf_load_buffer("t.conf", bad, strlen(bad), &c, err, sizeof(err)) == -1);
    CHECK(strstr(err, "t.conf:1: sessionStartTimeout") == err);
    CHECK(conf_directive_dest("sessionStartTimeout") == CONF_DEST_CAPTURE);
}

int main(void)
{
    pm_event_set_sink(sink, NULL);
    test_rows();
    test_session_survives_interface();
    test_precedence();
    test_precedence_order();
    test_two_mirror_ids();
    test_two_sources();
    test_directions_and_ipv6();
    test_restore();
    test_windows();
    test_window_before_tick();
    test_sid();
    test_mlog_and_untracked();
    test_join_and_misc();
    test_static_among_rules();
    test_static_directions();
    test_dhcp_other_client();
    test_list_escape();
    test_mlog_full();
    test_address_reused();
    test_stale_stop();
    test_icpt_active();
    test_conf();
    pm_event_set_sink(NULL, NULL);
    printf("test_sess_engine: ok\n");
    return 0;
}
