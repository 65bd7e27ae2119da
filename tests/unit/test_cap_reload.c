/*
 * test_cap_reload.c - cp_reload_apply() (src/capture/cap_reload.c) on a
 * capture process built in the test (as test_cap_proc.c does): unchanged
 * sources keep their handle and counters, added, removed and changed ones,
 * RADIUS peers and secrets, the settings applied in place, the restart-only
 * directives named with FILE:LINE, and a summary
 * without address or secret.  End to end: tests/integration/test_reload_capture.py.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/cap_proc_priv.h"
#include "capture/sess_priv.h"
#include "check.h"
#include "pmirrord/cap_source.h"
#include "pmirrord/ip_reasm.h"
#include "pmirrord/log.h"
#include "pmirrord/pkt_dedupe.h"
#include "pmirrord/radius_conf.h"

static struct cp_slice sl;

static void line(uint32_t n, const char *key, const char *text)
{
    snprintf(sl.line[sl.nlines].key, sizeof(sl.line[0].key), "%s", key);
    sl.line[sl.nlines].value = strdup(text);
    sl.line[sl.nlines].line = n;
    sl.nlines++;
}

/* The configuration of the lines given so far (the slice is then emptied). */
static void parse(struct cp_conf *c)
{
    char err[512];
    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    int rc = cp_conf_from_slice(&sl, c, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "parse: %s\n", err);
    CHECK(rc == 0);
    cp_slice_clear(&sl);
}

/* The running lines of the tests: two live sources on absent interfaces
 * (activation needs no privilege: the sources wait for them), a RADIUS
 * server, DHCP, the jmirror settings. */
static void base(const char *secret, const char *third)
{
    char t[256];
    line(1, "capture", "capture rlw0 role signalling");
    line(2, "capture", "capture rlx0 role data");
    if (third != NULL)
        line(3, "capture", third);
    snprintf(t, sizeof(t), "radiusServer 127.0.0.9 secret %s", secret);
    line(4, "radiusServer", t);
    line(5, "dhcpServer", "dhcpServer 127.0.0.10");
    line(6, "mirrorDscp", "mirrorDscp 10");
    line(7, "maxSubscribers", "maxSubscribers 1000");
}

static int reload(struct cap_proc *p, char *sum, size_t slen, char *err, size_t elen)
{
    static struct cp_conf next;
    parse(&next);
    return cp_reload_apply(p, &next, sum, slen, err, elen);
}

static struct cp_source *find(struct cap_proc *p, const char *src)
{
    for (size_t i = 0; i < p->nsrc; i++)
        if (!p->src[i].removed && !strcmp(p->src[i].spec.src, src))
            return &p->src[i];
    return NULL;
}

int main(void)
{
    static struct cap_proc p;
    static struct cp_conf c;
    char err[512], sum[1024];

    log_init("test_cap_reload", LOG_TARGET_STDERR);
    memset(&p, 0, sizeof(p));
    CHECK(cp_mlog_init(&p) == 0);
    p.dedupe = pkt_dedupe_new(1024, 50, NULL);
    p.reasm = reasm_new(16, 1 << 16, 1000);
    p.latency_ms = 5;
    base("Sekr1t-one", NULL);
    parse(&c);
    CHECK(c.rt != NULL && c.rt->npeers == 1);
    for (size_t i = 0; i < c.nspec; i++) {
        CHECK(cp_source_open(&p, &p.src[p.nsrc], &c.spec[i], c.where[i], -1, err, sizeof(err)) ==
              0);
        CHECK(cap_source_activate(p.src[p.nsrc].src, err, sizeof(err)) == 0);
        p.nsrc++;
    }
    CHECK(cp_sess_start(&p, &c, err, sizeof(err)) == 0);
    cp_reload_keep(&p, &c);
    CHECK(p.run.rt == NULL && p.run.nspec == 2 && p.run.mirror.dscp == 10);

    /* the same lines: nothing at all */
    struct cap_source *w0 = find(&p, "rlw0")->src, *x0 = find(&p, "rlx0")->src;
    find(&p, "rlw0")->radius = 7;
    base("Sekr1t-one", NULL);
    CHECK(reload(&p, sum, sizeof(sum), err, sizeof(err)) == 0);
    CHECK(!strcmp(sum, "no change"));
    CHECK(find(&p, "rlw0")->src == w0 && find(&p, "rlx0")->src == x0);

    /* a source added, the secret changed, the DSCP (restart-only) changed */
    base("Sekr1t-two", "capture rly0 role both");
    sl.line[5].value[strlen(sl.line[5].value) - 1] = '2'; /* mirrorDscp 12 */
    CHECK(reload(&p, sum, sizeof(sum), err, sizeof(err)) == 0);
    fprintf(stderr, "summary: %s\n", sum);
    CHECK(strstr(sum, "capture: 1 added, 0 removed, 0 changed, 2 unchanged") != NULL);
    CHECK(strstr(sum, "radius peers: 0 added, 0 removed, 1 changed, 0 unchanged") != NULL);
    CHECK(strstr(sum, "/etc/p.conf:6: mirrorDscp changes at the next restart") != NULL);
    CHECK(strstr(sum, "Sekr1t") == NULL && strstr(sum, "127.0.0") == NULL);
    CHECK(p.run.mirror.dscp == 10); /* not applied */
    CHECK(find(&p, "rlw0")->src == w0 && find(&p, "rlw0")->radius == 7);
    CHECK(find(&p, "rly0") != NULL && find(&p, "rly0")->src != NULL);
    CHECK(cap_source_state(find(&p, "rly0")->src) == CAP_STATE_MISSING);
    CHECK(p.nsrc == 3);

    /* the same again: the restart-only change is said again, nothing else */
    base("Sekr1t-two", "capture rly0 role both");
    sl.line[5].value[strlen(sl.line[5].value) - 1] = '2';
    CHECK(reload(&p, sum, sizeof(sum), err, sizeof(err)) == 0);
    CHECK(!strcmp(sum, "/etc/p.conf:6: mirrorDscp changes at the next restart"));

    /* removed, changed (another filter: a new handle in the same slot), pcap
     * added (restart-only), settings applied in place */
    size_t y_slot = (size_t)(find(&p, "rly0") - p.src);
    size_t x_slot = (size_t)(find(&p, "rlx0") - p.src);
    CHECK(!strcmp(p.se->ifname[x_slot], "rlx0") && p.se->ifup[x_slot]);
    line(1, "capture", "capture rlw0 role signalling");
    line(3, "capture", "capture rly0 role both filter \"udp\"");
    line(4, "capture", "capture pcap:/nonexistent/x.pcap");
    line(5, "radiusServer", "radiusServer 127.0.0.9 secret Sekr1t-two");
    line(6, "radiusServer", "radiusServer 127.0.0.11 secret Sekr1t-3");
    line(7, "dhcpServer", "dhcpServer 127.0.0.12");
    line(8, "mirrorDscp", "mirrorDscp 10");
    line(9, "maxSubscribers", "maxSubscribers 2000");
    line(10, "sessionStartTimeout", "sessionStartTimeout 60");
    line(11, "signallingLatency", "signallingLatency 20");
    line(12, "analyzerHoldDown", "analyzerHoldDown 3");
    CHECK(reload(&p, sum, sizeof(sum), err, sizeof(err)) == 0);
    fprintf(stderr, "summary: %s\n", sum);
    CHECK(strstr(sum, "capture: 0 added, 1 removed, 1 changed, 1 unchanged") != NULL);
    CHECK(strstr(sum, "/etc/p.conf:4: capture (a pcap file, added) changes at the next "
                      "restart") != NULL);
    CHECK(strstr(sum, "radius peers: 1 added, 0 removed, 0 changed, 1 unchanged") != NULL);
    CHECK(strstr(sum, "dhcpServer: changed") && strstr(sum, "sessionStartTimeout: changed"));
    CHECK(strstr(sum, "signallingLatency: changed") && strstr(sum, "analyzerHoldDown: changed"));
    CHECK(strstr(sum, "/etc/p.conf:9: maxSubscribers changes at the next restart") != NULL);
    CHECK(strstr(sum, "mirrorDscp") == NULL); /* back to the running value */
    CHECK(strstr(sum, "Sekr1t") == NULL && strstr(sum, "127.0.0") == NULL);
    CHECK(find(&p, "rlx0") == NULL && find(&p, "/nonexistent/x.pcap") == NULL);
    /* the engine forgot the removed interface (a static mirror of it ends) */
    CHECK(p.se->ifname[x_slot][0] == '\0' && !p.se->ifup[x_slot]);
    CHECK(find(&p, "rly0") == &p.src[y_slot] && !strcmp(p.src[y_slot].spec.filter, "udp"));
    CHECK(find(&p, "rlw0")->src == w0 && !strcmp(find(&p, "rlw0")->where, "/etc/p.conf:1"));
    CHECK(p.run.max_subscribers == 1000 && p.run.latency_ms == 20 && p.latency_ms == 20);
    CHECK(p.run.mirror.hold_down == 3 && p.run.session_start_timeout == 60);
    CHECK(p.run.rt == NULL && p.run.nspec == 2);

    /* mirrorSource: the line of the family that changed */
    line(1, "capture", "capture rlw0 role signalling");
    line(3, "capture", "capture rly0 role both filter \"udp\"");
    line(4, "radiusServer", "radiusServer 127.0.0.9 secret Sekr1t-two");
    line(5, "radiusServer", "radiusServer 127.0.0.11 secret Sekr1t-3");
    line(6, "mirrorSource", "mirrorSource 2001:db8::5");
    line(7, "dhcpServer", "dhcpServer 127.0.0.12");
    line(8, "sessionStartTimeout", "sessionStartTimeout 60");
    line(9, "signallingLatency", "signallingLatency 20");
    line(10, "analyzerHoldDown", "analyzerHoldDown 3");
    CHECK(reload(&p, sum, sizeof(sum), err, sizeof(err)) == 0);
    fprintf(stderr, "summary: %s\n", sum);
    CHECK(strstr(sum, "/etc/p.conf:6: mirrorSource changes at the next restart") != NULL);
    /* a restart-only line removed: the file, no line */
    CHECK(strstr(sum, "; /etc/p.conf: mirrorDscp changes at the next restart") != NULL);
    CHECK(strstr(sum, "2001:db8") == NULL && !p.run.mirror.has_src6);
    CHECK(strstr(sum, "capture:") == NULL && strstr(sum, "radius") == NULL);

    /* a source added again reuses a slot no sooner than it must */
    line(1, "capture", "capture rlw0 role signalling");
    line(3, "capture", "capture rly0 role both filter \"udp\"");
    line(4, "capture", "capture rlv0");
    CHECK(reload(&p, sum, sizeof(sum), err, sizeof(err)) == 0);
    CHECK(strstr(sum, "capture: 1 added, 0 removed, 0 changed, 2 unchanged") != NULL);
    CHECK(strstr(sum, "radius peers: 0 added, 2 removed") != NULL);
    CHECK(find(&p, "rlv0") == &p.src[3] && p.nsrc == 4);

    for (size_t i = 0; i < p.nsrc; i++)
        cap_source_free(p.src[i].src);
    cp_sess_free(&p);
    cp_mlog_free(&p);
    pkt_dedupe_free(p.dedupe);
    reasm_free(p.reasm);
    printf("test_cap_reload: ok\n");
    return 0;
}
