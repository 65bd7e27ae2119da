/*
 * test_conf_mirror.c - the jmirror sender's directives (src/config/conf_mirror.c):
 * mirrorSource (one per family; a second names the first's FILE:LINE),
 * mirrorDscp 0..63, mirrorInterface (an interface name's syntax),
 * analyzerHoldDown 1..3600 (default 10), errors as FILE:LINE, the lines in the
 * capture process's slice only, and the analyzer ports of the `mirror` rules
 * that travel with that slice (never a trigger value nor an analyzer address).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_mirror.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ipc.h"

static int load(const char *text, struct pm_conf *c, char *err, size_t errlen)
{
    return conf_load_buffer("m.conf", text, strlen(text), c, err, errlen);
}

static void bad(const char *text, const char *want)
{
    struct pm_conf c;
    char err[512];
    CHECK(load(text, &c, err, sizeof(err)) == -1);
    if (strstr(err, want) != err) {
        fprintf(stderr, "got \"%s\", want \"%s...\"\n", err, want);
        CHECK(0);
    }
}

static void test_defaults(void)
{
    struct pm_conf c;
    char err[512];
    CHECK(load("", &c, err, sizeof(err)) == 0);
    CHECK(!c.mirror.has_src4 && !c.mirror.has_src6 && c.mirror.dscp == -1);
    CHECK(c.mirror.ifname[0] == '\0' && c.mirror.hold_down == 10);
    conf_free(&c);
}

static void test_values(void)
{
    struct pm_conf c;
    char err[512];
    CHECK(load("mirrorSource 127.0.0.5\n"
               "mirrorSource 2001:db8::5\n"
               "mirrordscp 46\n"
               "mirrorInterface veth-an0\n"
               "analyzerHoldDown 2\n",
               &c, err, sizeof(err)) == 0);
    CHECK(c.mirror.has_src4 && memcmp(c.mirror.src4, "\x7f\x00\x00\x05", 4) == 0);
    CHECK(c.mirror.has_src6 && c.mirror.src6[0] == 0x20 && c.mirror.src6[1] == 0x01 &&
          c.mirror.src6[15] == 5);
    CHECK(!strcmp(c.mirror.src4_where, "m.conf:1") && !strcmp(c.mirror.src6_where, "m.conf:2"));
    CHECK(c.mirror.dscp == 46 && !strcmp(c.mirror.ifname, "veth-an0") && c.mirror.hold_down == 2);
    conf_free(&c);
    CHECK(load("mirrorDscp 0\nmirrorDscp 63\nanalyzerHoldDown 1\nanalyzerHoldDown 3600\n", &c, err,
               sizeof(err)) == 0);
    CHECK(c.mirror.dscp == 63 && c.mirror.hold_down == 3600);
    CHECK(c.mirror.gso == 0); /* mirrorGso: off unless asked */
    conf_free(&c);
    CHECK(load("mirrorGso on\n", &c, err, sizeof(err)) == 0 && c.mirror.gso == 1);
    conf_free(&c);
    CHECK(load("mirrorInterface abcdefghijklmno\n", &c, err, sizeof(err)) == 0); /* 15 */
    conf_free(&c);
}

static void test_errors(void)
{
    bad("\n\nmirrorDscp 64\n", "m.conf:3: mirrorDscp: \"64\" is not a number from 0 to 63");
    bad("mirrorDscp -1\n", "m.conf:1: mirrorDscp");
    bad("mirrorDscp\n", "m.conf:1: mirrorDscp takes 1 argument, 0 given");
    bad("mirrorDscp 1 2\n", "m.conf:1: mirrorDscp takes 1 argument, 2 given");
    bad("analyzerHoldDown 0\n", "m.conf:1: analyzerHoldDown: \"0\" is not a number from 1 to 3600");
    bad("analyzerHoldDown 3601\n", "m.conf:1: analyzerHoldDown");
    bad("analyzerHoldDown ten\n", "m.conf:1: analyzerHoldDown");
    bad("mirrorGso 1\n", "m.conf:1: mirrorGso: \"1\" is not yes/no, on/off");
    bad("mirrorInterface abcdefghijklmnop\n", "m.conf:1: mirrorInterface: \"abcdefghijklmnop\" is "
                                              "not an interface name");
    bad("mirrorInterface a/b\n", "m.conf:1: mirrorInterface");
    bad("mirrorInterface eth0:1\n", "m.conf:1: mirrorInterface");
    bad("mirrorInterface ..\n", "m.conf:1: mirrorInterface");
    bad("mirrorSource analyzer.example\n",
        "m.conf:1: mirrorSource: \"analyzer.example\" is not a numeric IPv4 or IPv6 address");
    bad("mirrorSource 127.0.0.5/32\n", "m.conf:1: mirrorSource");
    /* one per family: the second names the first */
    bad("mirrorSource 127.0.0.5\n# x\nmirrorSource 127.0.0.6\n",
        "m.conf:3: mirrorSource: an IPv4 source is already set at m.conf:1");
    bad("mirrorSource ::1\nmirrorSource 127.0.0.6\nmirrorSource 2001:db8::1\n",
        "m.conf:3: mirrorSource: an IPv6 source is already set at m.conf:1");
}

static void test_dest(void)
{
    static const char *const names[] = {"mirrorSource", "mirrorDscp", "mirrorInterface",
                                        "analyzerHoldDown"};
    for (size_t i = 0; i < 4; i++)
        CHECK(conf_directive_dest(names[i]) == CONF_DEST_CAPTURE);
}

static void test_ports_codec(void)
{
    uint16_t p[CONF_MIRROR_PORTS_MAX], q[CONF_MIRROR_PORTS_MAX];
    size_t n = 0, m = 0;
    char buf[128];
    for (unsigned i = 0; i < 40; i++)
        conf_mirror_ports_add(p, &n, CONF_MIRROR_PORTS_MAX, (uint16_t)(30030 + i % 20));
    conf_mirror_ports_add(p, &n, CONF_MIRROR_PORTS_MAX, 0);
    CHECK(n == CONF_MIRROR_PORTS_MAX && p[0] == 30030 && p[15] == 30045);
    conf_mirror_ports_format(p, n, buf, sizeof(buf));
    CHECK(!strncmp(buf, "30030 30031 ", 12));
    CHECK(conf_mirror_ports_parse(buf, q, CONF_MIRROR_PORTS_MAX, &m) == 0 && m == n);
    CHECK(memcmp(p, q, n * sizeof(p[0])) == 0);
    CHECK(conf_mirror_ports_parse("1 2 3", q, 2, &m) == -1); /* too many */
    CHECK(conf_mirror_ports_parse("0", q, 2, &m) == -1);
    CHECK(conf_mirror_ports_parse("65536", q, 2, &m) == -1);
    CHECK(conf_mirror_ports_parse("12a", q, 2, &m) == -1);
    CHECK(conf_mirror_ports_parse("", q, 2, &m) == 0 && m == 0);
}

/* What a child receives: the lines' keys and values. */
struct rx {
    char keys[1024];
    char ports[IPC_CONFIG_MAX + 1];
    int has_ports;
    int leak; /* a trigger value or analyzer address in a capture record */
};

static void on_rec(struct ipc_rec *rec, void *arg)
{
    struct rx *x = arg;
    if (rec->type != IPC_CONFIG || (rec->flags & (IPC_F_BEGIN | IPC_F_END)))
        return;
    size_t l = strlen(x->keys);
    snprintf(x->keys + l, sizeof(x->keys) - l, "%s,", rec->u.config.key);
    if (!strcmp(rec->u.config.key, CONF_SLICE_KEY_PORTS)) {
        x->has_ports = 1;
        snprintf(x->ports, sizeof(x->ports), "%s", rec->u.config.value);
        CHECK(rec->u.config.line == 0);
    }
    if (strstr(rec->u.config.value, "alice") || strstr(rec->u.config.value, "127.0.0.9"))
        x->leak = 1;
}

static void slice(const char *path, unsigned dest, struct rx *x)
{
    int sv[2];
    char err[512];
    CHECK(ipc_socketpair(sv, 0, err, sizeof(err)) == 0);
    struct ipc_chan *tx = ipc_chan_new(sv[0], 0, NULL, NULL, err, sizeof(err));
    struct ipc_chan *rxc = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(tx != NULL && rxc != NULL);
    CHECK(conf_slice_send(tx, path, dest, NULL, err, sizeof(err)) == 0);
    CHECK(conf_slice_send_end(tx, err, sizeof(err)) == 0);
    CHECK(ipc_chan_flush(tx) == 0);
    memset(x, 0, sizeof(*x));
    int r;
    while ((r = ipc_chan_recv(rxc, on_rec, x)) == 1)
        ;
    CHECK(r == -1 && errno == EAGAIN);
    ipc_chan_free(tx);
    ipc_chan_free(rxc);
}

static void test_slice_ports(void)
{
    char dir[] = "/tmp/test_conf_mirror.XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/p.conf", dir);
    const char *text = "mirrorSource 127.0.0.5\n"
                       "mirror username alice analyzer 127.0.0.9:4000 id 1\n"
                       "mirror username bob analyzer 127.0.0.9:30030 id 2\n"
                       "mirror username carol analyzer 127.0.0.9:4000 id 3\n"
                       "no mirror username carol\n"
                       "mirror username dave analyzer [::1]:5000 id 4\n"
                       "analyzerHoldDown 2\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);

    struct rx x;
    slice(path, CONF_DEST_CAPTURE, &x);
    CHECK(!strcmp(x.keys, "mirrorSource,analyzerHoldDown,mirror-ports,"));
    CHECK(x.has_ports && !strcmp(x.ports, "4000 30030 5000") && !x.leak);
    slice(path, CONF_DEST_AGENT, &x); /* the agent: the rules, no ports record */
    CHECK(!x.has_ports && !strcmp(x.keys, "mirror,mirror,mirror,no,mirror,"));

    /* no rules: no ports record */
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    CHECK(fd >= 0 && write(fd, "mirrorDscp 46\n", 14) == 14);
    close(fd);
    slice(path, CONF_DEST_CAPTURE, &x);
    CHECK(!x.has_ports && !strcmp(x.keys, "mirrorDscp,"));

    /* the agent's slice reader passes the record over (a child that gets one) */
    struct conf_slice *s = conf_slice_new();
    struct ipc_rec rec;
    char err[256];
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_CONFIG;
    rec.flags = IPC_F_BEGIN;
    snprintf(rec.u.config.key, sizeof(rec.u.config.key), "%s", CONF_SLICE_KEY_FILE);
    snprintf(rec.u.config.value, sizeof(rec.u.config.value), "%s", path);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == 0);
    rec.flags = 0;
    snprintf(rec.u.config.key, sizeof(rec.u.config.key), "%s", CONF_SLICE_KEY_PORTS);
    snprintf(rec.u.config.value, sizeof(rec.u.config.value), "4000");
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == 0 && conf_slice_lines(s) == 0);
    conf_slice_free(s);

    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_defaults();
    test_values();
    test_errors();
    test_dest();
    test_ports_codec();
    test_slice_ports();
    printf("test_conf_mirror: ok\n");
    return 0;
}
