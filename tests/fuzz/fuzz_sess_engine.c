/*
 * fuzz_sess_engine.c - libFuzzer target for the session engine
 * (src/capture/sess_*.c, docs/sessions.md): the input is a program of
 * operations on one engine of at most four sessions, drawn from small pools
 * of identities and addresses so that joins, steals, full tables,
 * precedence, windows, restores and interface changes all collide.
 *
 * Each operation is one byte (the operation) and the bytes it consumes:
 *   0 a fact (any kind, identities from the pools, LI VSAs good or bad)
 *   1 a new trigger table (0-4 rules, any type, window, analyzer)
 *   2 the clock moves (se_tick)
 *   3 a packet (se_match_packet, IPv4 or IPv6, any source index)
 *   4 a capture source named or unnamed    5 an interface down or up
 *   6 a restored intercept (se_restore)    7 se_list
 *
 * Properties (abort() when one fails):
 *   - every notification is one of the ten, its enumerations in range;
 *   - every notification has its mirror-log entry;
 *   - se_match_packet returns at most max targets, each with an analyzer,
 *     each an intercept se_icpt_active() knows;
 *   - the counters agree with the table (sessions <= maxSubscribers,
 *     targets <= sessions, ended <= created);
 *   - se_list writes at most max NUL-terminated rows.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmirrord/pm_event.h"
#include "pmirrord/sess_engine.h"

#define PROP(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sess_engine: property failed: %s\n", #cond);                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct in {
    const uint8_t *p;
    size_t n;
};

static unsigned byte(struct in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static uint64_t g_events, g_mlog;

static int sink(const struct pm_event *ev, void *arg)
{
    (void)arg;
    PROP(ev->trap >= PM_TRAP_MIN && ev->trap <= PM_TRAP_MAX);
    PROP(ev->config_source >= 0 && ev->config_source <= 3);
    PROP(ev->trigger_type >= 0 && ev->trigger_type <= 8);
    PROP(ev->direction == 0 || ev->direction == 1);
    PROP(ev->termination_reason >= 0 && ev->termination_reason <= 22);
    PROP(ev->error_cause >= 0 && ev->error_cause <= 9);
    PROP(memchr(ev->trigger, 0, sizeof(ev->trigger)) != NULL);
    PROP(memchr(ev->user_name, 0, sizeof(ev->user_name)) != NULL);
    g_events++;
    return 0;
}

static void mlog(void *arg, const char *text)
{
    (void)arg;
    PROP(text != NULL);
    g_mlog++;
}

static void icpt(void *arg, const struct pm_intercept *ic, int up)
{
    (void)arg;
    PROP(ic->mirror_id <= TRIG_MIRROR_ID_MAX && (up == 0 || up == 1));
}

static const char *const names[] = {"alice", "bob", "00-11-22", "1234567890123", "eth0/1:7"};

static void pick(struct sig_str *s, unsigned b)
{
    if (b % 6 == 5)
        return;
    const char *v = names[b % 5];
    s->len = (uint8_t)strlen(v);
    memcpy(s->v, v, s->len);
}

static uint32_t addr4(unsigned b)
{
    return htonl(0xc6120100u + (b & 3)); /* 198.18.1.0-3 */
}

static void addr6(uint8_t a[16], unsigned b)
{
    static const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01};
    memcpy(a, base, 16);
    a[7] = (uint8_t)(b & 3);
    a[15] = (uint8_t)(b >> 2);
}

static void analyzer(struct trig_analyzer *a, unsigned b)
{
    memset(a, 0, sizeof(*a));
    a->family = b & 1 ? 6 : 4;
    if (a->family == 4) {
        uint32_t v = htonl(b & 2 ? 0x7f000002u : 0xe0000001u); /* 127.0.0.2 or multicast */
        memcpy(a->addr, &v, 4);
    } else {
        a->addr[15] = (uint8_t)(b & 2 ? 1 : 0); /* ::1 or :: */
    }
    a->port = (uint16_t)(b & 4 ? 30030 : 0);
}

static void op_fact(struct sess_engine *e, struct in *in, int64_t now)
{
    struct sig_fact f;
    memset(&f, 0, sizeof(f));
    f.kind = (enum sig_kind)(1 + byte(in) % 12);
    f.ts_sec = now;
    unsigned m = byte(in);
    pick(&f.id.user, byte(in));
    pick(&f.id.acct_sid, byte(in));
    if (m & 1)
        pick(&f.id.csid, byte(in));
    if (m & 2)
        pick(&f.id.circuit, byte(in));
    if (m & 4)
        f.id.framed_ip = addr4(byte(in));
    if (m & 8) {
        f.id.has_framed_ip6 = 1;
        addr6(f.id.framed_ip6, byte(in));
    }
    if (m & 16) {
        f.id.nprefix6 = 1;
        addr6(f.id.prefix6[0].addr, 0);
        f.id.prefix6[0].len = (uint8_t)(48 + byte(in) % 17);
    }
    if (m & 32) {
        f.id.nas_ip = htonl(0xc6120001u);
        f.id.has_nas_port = 1;
        f.id.nas_port = byte(in) & 3;
    }
    if (m & 64) {
        f.id.has_chaddr = 1;
        f.id.chaddr[5] = (uint8_t)(byte(in) & 3);
    }
    if (m & 128) {
        unsigned l = byte(in);
        f.li.present = 1;
        f.li.action = (int)(l % 4) - 1;
        f.li.has_handle = (l >> 2) & 1;
        f.li.mirror_id = byte(in) & 3;
        f.li.has_sid = (l >> 3) & 1;
        f.li.session_id = byte(in);
        f.li.has_analyzer = (l >> 4) & 1;
        f.li.analyzer[0] = (uint8_t)(l & 0x20 ? 127 : 224);
        f.li.analyzer[3] = 2;
        f.li.has_port = (l >> 6) & 1;
        f.li.port = 30030;
        f.li.error = l & 0x80 ? 7 : 0;
    }
    f.has_term_cause = 1;
    f.term_cause = byte(in) % 30;
    f.has_session_time = 1;
    f.session_time = byte(in) % 2;
    se_on_fact(&f, e);
}

static void op_rules(struct sess_engine *e, struct in *in, int64_t now)
{
    struct pm_trigger t[4];
    size_t n = byte(in) % 5;
    memset(t, 0, sizeof(t));
    for (size_t i = 0; i < n; i++) {
        unsigned b = byte(in);
        t[i].type = (enum trig_type)(b % 9);
        if (t[i].type == TRIG_INTERFACE) {
            snprintf(t[i].text, sizeof(t[i].text), "%s", b & 16 ? "a" : "zz");
        } else if (t[i].type == TRIG_IP) {
            t[i].ip_family = b & 16 ? 6 : 4;
            if (t[i].ip_family == 4) {
                uint32_t a = addr4(byte(in));
                memcpy(t[i].ip, &a, 4);
                t[i].ip_plen = 24 + byte(in) % 9;
            } else {
                addr6(t[i].ip, byte(in));
                t[i].ip_plen = 32 + byte(in) % 97;
            }
            snprintf(t[i].text, sizeof(t[i].text), "ip");
        } else {
            struct sig_str s = {0};
            pick(&s, byte(in));
            memcpy(t[i].value, s.v, s.len);
            t[i].value_len = s.len;
            memcpy(t[i].text, s.v, s.len);
        }
        unsigned c = byte(in);
        analyzer(&t[i].analyzer, c);
        t[i].mirror_id = (c >> 3) & 3;
        t[i].direction = (enum trig_dir)((c >> 5) % 3);
        t[i].has_session_id = (c >> 7) & 1;
        t[i].session_id = 99;
        unsigned w = byte(in);
        t[i].from = w & 1 ? now + (w >> 4) : 0;
        t[i].until = w & 2 ? now + 8 + (w >> 4) : 0;
    }
    se_set_triggers(e, t, n, now);
}

static void op_packet(struct sess_engine *e, struct in *in)
{
    struct se_target out[SE_TARGETS_MAX];
    uint8_t s[16] = {0}, d[16] = {0};
    unsigned b = byte(in);
    int fam = b & 1 ? 6 : 4;
    if (fam == 4) {
        uint32_t a = addr4(byte(in)), z = addr4(byte(in));
        memcpy(s, &a, 4);
        memcpy(d, &z, 4);
    } else {
        addr6(s, byte(in));
        addr6(d, byte(in));
    }
    size_t max = 1 + (b >> 1) % SE_TARGETS_MAX;
    size_t n = se_match_packet(e, fam, s, d, (b >> 4) % 4, (int)(b >> 6) % 3 - 1, out, max);
    PROP(n <= max);
    for (size_t i = 0; i < n; i++) {
        PROP(out[i].analyzer != NULL && out[i].analyzer->port != 0);
        /* a packet's intercept is an active one (the data path's statistics keep it) */
        PROP(se_icpt_active(e, out[i].mirror_id, out[i].session_id));
    }
}

static void op_restore(struct sess_engine *e, struct in *in, int64_t now)
{
    struct pm_intercept ic;
    memset(&ic, 0, sizeof(ic));
    unsigned b = byte(in);
    pick(&ic.id.user, byte(in));
    pick(&ic.id.acct_sid, byte(in));
    if (b & 1)
        ic.id.framed_ip = addr4(byte(in));
    ic.mirror_id = b & 2 ? TRIG_MIRROR_ID_MAX + 1 : (b >> 2) & 3;
    ic.session_id = byte(in);
    analyzer(&ic.analyzer, byte(in));
    ic.direction = (enum trig_dir)((b >> 4) % 4);
    ic.config_source = (int)((b >> 6) % 4);
    ic.trigger_type = 3;
    snprintf(ic.trigger, sizeof(ic.trigger), "x");
    ic.since_sec = now;
    (void)se_restore(e, &ic);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = {data, size};
    struct se_conf c = {.max_subscribers = 4, .session_start_timeout = 5};
    struct se_out o = {.mlog = mlog, .intercept = icpt};
    char err[128];
    int64_t now = 1795000000;
    static const char *const ifn[] = {"a", "b", ""};

    pm_event_set_sink(sink, NULL);
    g_events = g_mlog = 0;
    struct sess_engine *e = se_new(&c, &o, err, sizeof(err));
    PROP(e != NULL);
    for (int ops = 0; in.n > 0 && ops < 512; ops++) {
        switch (byte(&in) % 8) {
        case 0:
            op_fact(e, &in, now);
            break;
        case 1:
            op_rules(e, &in, now);
            break;
        case 2:
            now += byte(&in) % 40;
            (void)se_tick(e, now, 0);
            break;
        case 3:
            op_packet(e, &in);
            break;
        case 4: {
            unsigned b = byte(&in);
            se_set_source(e, b % 3, ifn[(b >> 2) % 3]);
            break;
        }
        case 5: {
            unsigned b = byte(&in);
            if (b & 1)
                se_interface_down(e, (b >> 1) % 4, now);
            else
                se_interface_up(e, (b >> 1) % 4, now);
            break;
        }
        case 6:
            op_restore(e, &in, now);
            break;
        case 7: {
            char rows[3][256];
            int more = 0;
            size_t n = se_list(e, byte(&in) & 1 ? "alice" : "", byte(&in) % 3, 3, rows, &more);
            PROP(n <= 3);
            for (size_t i = 0; i < n; i++)
                PROP(memchr(rows[i], 0, sizeof(rows[i])) != NULL);
            break;
        }
        }
        struct se_stats st;
        se_get_stats(e, &st);
        PROP(st.sessions <= 4 && st.targets <= st.sessions);
        { /* the counts kept as intercepts come and go agree with a walk */
            char all[4][256];
            int more = 0;
            size_t n = se_list(e, "", 0, 4, all, &more), targets = 0, icpts = 0;
            for (size_t i = 0; i < n; i++) {
                const char *k = strstr(all[i], " intercepts=");
                targets += all[i][0] == '*';
                icpts += k != NULL ? (size_t)strtoul(k + 12, NULL, 10) : 0;
            }
            PROP(n == st.sessions && targets == st.targets && icpts <= st.intercepts);
        }
        PROP(st.sessions_ended <= st.sessions_created + st.restored);
        PROP(g_mlog >= g_events);
    }
    se_free(e);
    pm_event_set_sink(NULL, NULL);
    return 0;
}
