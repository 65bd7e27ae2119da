/*
 * test_cap_static.c - cp_static_exclude() (cap_static.c): when the trigger
 * table changes, the live sources named by a static mirror get the exclusion
 * of our datagrams to every static mirror's analyzer, the others none; a
 * table without static mirrors takes the exclusions away.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "capture/cap_proc_priv.h"
#include "check.h"
#include "pmirrord/cap_source.h"
#include "pmirrord/jm_send.h"

static int on_packet(void *arg, struct cap_source *src, const struct cap_packet *pkt)
{
    (void)arg, (void)src, (void)pkt;
    return CAP_PKT_TAKEN;
}

static struct ipc_trigger rule(enum trig_type type, const char *text, const char *an, int port)
{
    struct ipc_trigger t;
    memset(&t, 0, sizeof(t));
    t.config_source = type == TRIG_INTERFACE ? 3 : 2;
    t.rule.type = type;
    snprintf(t.rule.text, sizeof(t.rule.text), "%s", text);
    t.rule.analyzer.family = strchr(an, ':') != NULL ? 6 : 4;
    CHECK(inet_pton(t.rule.analyzer.family == 6 ? AF_INET6 : AF_INET, an, t.rule.analyzer.addr) ==
          1);
    t.rule.analyzer.port = (uint16_t)port;
    t.rule.direction = TRIG_DIR_BOTH;
    return t;
}

static int excluding(struct cp_source *s)
{
    struct cap_stats st;
    cap_source_stats(s->src, &st);
    return st.excluding;
}

int main(void)
{
    static struct cap_proc p;
    char err[256];
    const char *names[3] = {"veth-s1", "veth-s2", "/dev/null"};
    for (int i = 0; i < 3; i++) {
        struct cp_source *s = &p.src[i];
        s->proc = &p;
        snprintf(s->spec.src, sizeof(s->spec.src), "%s", names[i]);
        s->spec.offline = i == 2;
        snprintf(s->where, sizeof(s->where), "pmirrord.conf:%d", i + 1);
        s->src = cap_source_new(&s->spec, on_packet, NULL, s, err, sizeof(err));
        CHECK(s->src != NULL);
    }
    p.nsrc = 3;
    struct jm_opts o;
    memset(&o, 0, sizeof(o));
    o.dscp = -1;
    struct jm_hooks h;
    memset(&h, 0, sizeof(h));
    p.jm = jm_new(&o, &h, err, sizeof(err));
    CHECK(p.jm != NULL);

    /* static mirrors on veth-s1 (two sharing an analyzer) and one on a pcap
     * file's name; a subscriber rule */
    struct ipc_trigger t[5] = {
        rule(TRIG_INTERFACE, "veth-s1", "127.0.0.9", 30030),
        rule(TRIG_USERNAME, "veth-s2", "127.0.0.10", 30030),
        rule(TRIG_INTERFACE, "veth-s1", "127.0.0.9", 30030),
        rule(TRIG_INTERFACE, "/dev/null", "::1", 30030),
        rule(TRIG_INTERFACE, "veth-none", "127.0.0.11", 4000),
    };
    p.trig = t;
    p.ntrig = 5;
    cp_static_exclude(&p);
    CHECK(excluding(&p.src[0]) == 1); /* named by a static mirror */
    CHECK(excluding(&p.src[1]) == 0); /* named by a subscriber rule only */
    CHECK(excluding(&p.src[2]) == 0); /* a pcap file: no datagrams of ours */
    CHECK(p.excl_set == 2 && p.excl_failed == 0);

    /* the static mirror of veth-s1 removed: its exclusion goes */
    p.trig = &t[3];
    p.ntrig = 2;
    cp_static_exclude(&p);
    CHECK(excluding(&p.src[0]) == 0 && excluding(&p.src[1]) == 0);
    CHECK(p.excl_failed == 0);

    p.trig = NULL;
    p.ntrig = 0;
    for (int i = 0; i < 3; i++)
        cap_source_free(p.src[i].src);
    jm_free(p.jm);
    return 0;
}
