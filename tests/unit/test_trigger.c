/*
 * test_trigger.c - trigger.h: `mirror` / `no mirror` words parsed, formatted
 * and parsed again to the same rule; every error names its word and never
 * quotes VALUE.
 */
#include "check.h"
#include "pmirrord/conf.h"
#include "pmirrord/trigger.h"

#include <string.h>

#define MAXW 32

/* Splits a copy of line on blanks (quotes group, as conf_split()). */
static int split(const char *line, char *buf, size_t cap, char **argv)
{
    snprintf(buf, cap, "%s", line);
    int n = 0;
    char *p = buf;
    while (*p != '\0' && n < MAXW) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (*p == '"') {
            argv[n++] = ++p;
            while (*p != '\0' && *p != '"')
                p++;
        } else {
            argv[n++] = p;
            while (*p != '\0' && *p != ' ')
                p++;
        }
        if (*p != '\0')
            *p++ = '\0';
    }
    return n;
}

static int parse(const char *line, struct pm_trigger *t, char *err, size_t errlen)
{
    char buf[2048], *argv[MAXW];
    int argc = split(line, buf, sizeof(buf), argv);
    return trig_parse(t, argc, argv, err, errlen);
}

static int parse_del(const char *line, struct pm_trigger_del *d, char *err, size_t errlen)
{
    char buf[2048], *argv[MAXW];
    int argc = split(line, buf, sizeof(buf), argv);
    return trig_parse_del(d, argc, argv, err, errlen);
}

/* parse -> format -> parse: the same rule, and the format is stable. */
static void round_trip(const char *line, const char *want)
{
    struct pm_trigger a, b;
    char err[256], f1[1200], f2[1200];
    if (parse(line, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, "parse failed: %s: %s\n", line, err);
        CHECK(0);
    }
    CHECK(trig_format(&a, f1, sizeof(f1)) > 0);
    if (want != NULL && strcmp(f1, want) != 0) {
        fprintf(stderr, "format: got  %s\n        want %s\n", f1, want);
        CHECK(0);
    }
    CHECK(parse(f1, &b, err, sizeof(err)) == 0);
    CHECK(trig_same(&a, &b));
    CHECK(a.analyzer.family == b.analyzer.family && a.analyzer.port == b.analyzer.port);
    CHECK(memcmp(a.analyzer.addr, b.analyzer.addr, 16) == 0);
    CHECK(a.has_session_id == b.has_session_id && a.session_id == b.session_id);
    CHECK(a.direction == b.direction && a.from == b.from && a.until == b.until);
    CHECK(trig_format(&b, f2, sizeof(f2)) > 0);
    CHECK(strcmp(f1, f2) == 0);
}

/* An error: the word position is named, the secret word is not quoted. */
static void bad(const char *line, const char *pos, const char *secret)
{
    struct pm_trigger t;
    char err[256] = "";
    if (parse(line, &t, err, sizeof(err)) != -1) {
        fprintf(stderr, "accepted: %s\n", line);
        CHECK(0);
    }
    if (pos != NULL && strstr(err, pos) == NULL) {
        fprintf(stderr, "%s -> %s (want %s)\n", line, err, pos);
        CHECK(0);
    }
    CHECK(secret == NULL || strstr(err, secret) == NULL);
}

static void bad_del(const char *line, const char *pos)
{
    struct pm_trigger_del d;
    char err[256] = "";
    CHECK(parse_del(line, &d, err, sizeof(err)) == -1);
    if (strstr(err, pos) == NULL) {
        fprintf(stderr, "%s -> %s (want %s)\n", line, err, pos);
        CHECK(0);
    }
}

static void test_types(void)
{
    static const struct {
        const char *word;
        enum trig_type t;
    } cases[] = {
        {"ipAddress", TRIG_IP},
        {"IP-ADDRESS", TRIG_IP},
        {"nasPortId", TRIG_NAS_PORT_ID},
        {"nas-port-id", TRIG_NAS_PORT_ID},
        {"USERNAME", TRIG_USERNAME},
        {"callingStationId", TRIG_CSID},
        {"calling-station-id", TRIG_CSID},
        {"acctsessionid", TRIG_ACCT_SID},
        {"acct-session-id", TRIG_ACCT_SID},
        {"dhcpOption82", TRIG_OPT82},
        {"dhcp-option-82", TRIG_OPT82},
        {"agentCircuitId", TRIG_CIRCUIT},
        {"Agent-Circuit-Id", TRIG_CIRCUIT},
        {"agentRemoteId", TRIG_REMOTE},
        {"agent-remote-id", TRIG_REMOTE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[200];
        struct pm_trigger t;
        char err[256];
        snprintf(line, sizeof(line), "mirror %s %s analyzer 127.0.0.9:30030 id 5", cases[i].word,
                 cases[i].t == TRIG_IP ? "198.18.0.5" : "v");
        CHECK(parse(line, &t, err, sizeof(err)) == 0);
        CHECK(t.type == cases[i].t);
        round_trip(line, NULL);
    }
    CHECK(trig_type_parse("user-name") == -1);
}

static void test_values(void)
{
    struct pm_trigger t;
    char err[256], f[1200];
    CHECK(parse("mirror dhcpOption82 0x0104AABBccdd analyzer 127.0.0.9:30030 id 1", &t, err,
                sizeof(err)) == 0);
    CHECK(t.value_len == 6 && t.value[0] == 1 && t.value[5] == 0xdd);
    CHECK(strcmp(t.text, "0x0104AABBccdd") == 0);
    round_trip("mirror agentCircuitId 0x00ff00 analyzer 127.0.0.9:30030 id 1",
               "mirror agentCircuitId 0x00ff00 analyzer 127.0.0.9:30030 id 1");
    /* printable octets written in hex come back as text, which parses the same */
    round_trip("mirror username 0x616263 analyzer 127.0.0.9:30030 id 1",
               "mirror username abc analyzer 127.0.0.9:30030 id 1");
    /* text that looks like hex, or holds a quote, a '#', is formatted in hex */
    round_trip("mirror username 0x30787a analyzer 127.0.0.9:30030 id 1",
               "mirror username 0x30787a analyzer 127.0.0.9:30030 id 1");
    round_trip("mirror nasPortId a#b analyzer 127.0.0.9:30030 id 1",
               "mirror nasPortId 0x612362 analyzer 127.0.0.9:30030 id 1");
    /* a blank is quoted */
    round_trip("mirror nasPortId \"atm 1/0.100\" analyzer 127.0.0.9:30030 id 1",
               "mirror nasPortId \"atm 1/0.100\" analyzer 127.0.0.9:30030 id 1");
    /* 253 octets */
    char line[1200], hex[600];
    for (int i = 0; i < 253; i++)
        snprintf(hex + 2 * i, 3, "%02x", i);
    snprintf(line, sizeof(line), "mirror acctSessionId 0x%s analyzer 127.0.0.9:1 id 1", hex);
    CHECK(parse(line, &t, err, sizeof(err)) == 0 && t.value_len == 253);
    round_trip(line, NULL);
    CHECK(trig_format(&t, f, 40) == -1); /* short buffer */
    /* IP addresses and prefixes */
    round_trip("mirror ipAddress 198.18.0.5 analyzer 127.0.0.9:30030 id 1",
               "mirror ipAddress 198.18.0.5 analyzer 127.0.0.9:30030 id 1");
    round_trip("mirror ip-address 198.18.0.0/16 analyzer 127.0.0.9:30030 id 1",
               "mirror ipAddress 198.18.0.0/16 analyzer 127.0.0.9:30030 id 1");
    round_trip("mirror ipAddress 2001:DB8:0:0::/56 analyzer [::1]:30030 id 1",
               "mirror ipAddress 2001:db8::/56 analyzer [::1]:30030 id 1");
    CHECK(parse("mirror ipAddress 2001:db8::1 analyzer 127.0.0.9:1 id 1", &t, err, sizeof(err)) ==
          0);
    CHECK(t.ip_family == 6 && t.ip_plen == 128 && t.ip[15] == 1);
    /* interface */
    round_trip("mirror interface veth-t1 analyzer 127.0.0.9:30030 id 3 direction ingress",
               "mirror interface veth-t1 analyzer 127.0.0.9:30030 id 3 direction ingress");
    CHECK(parse("mirror interface eth0 analyzer 127.0.0.9:1 id 1", &t, err, sizeof(err)) == 0);
    CHECK(t.type == TRIG_INTERFACE && t.value_len == 4 && strcmp(t.text, "eth0") == 0);
}

static void test_options(void)
{
    struct pm_trigger t;
    char err[256];
    CHECK(parse("mirror username a ID 1073741823 direction EGRESS session 4294967295 "
                "analyzer [2001:db8::9]:65535 until 2026-11-27T14:00:00+01:00 "
                "from 2026-11-27T12:00Z",
                &t, err, sizeof(err)) == 0);
    CHECK(t.mirror_id == TRIG_MIRROR_ID_MAX && t.has_session_id && t.session_id == 4294967295u);
    CHECK(t.direction == TRIG_DIR_EGRESS);
    CHECK(t.analyzer.family == 6 && t.analyzer.port == 65535 && t.analyzer.addr[15] == 9);
    CHECK(t.from == 1795780800 && t.until == 1795780800 + 3600);
    CHECK(trig_window_open(&t, t.from) && !trig_window_open(&t, t.until));
    round_trip("mirror username a ID 1073741823 direction EGRESS session 4294967295 "
               "analyzer [2001:db8::9]:65535 until 2026-11-27T14:00:00+01:00 "
               "from 2026-11-27T12:00Z",
               "mirror username a analyzer [2001:db8::9]:65535 id 1073741823 session 4294967295 "
               "direction egress from 2026-11-27T12:00:00Z until 2026-11-27T13:00:00Z");
    CHECK(parse("mirror username a analyzer 127.0.0.9:1 id 0 direction both", &t, err,
                sizeof(err)) == 0);
    CHECK(t.direction == TRIG_DIR_BOTH && t.mirror_id == 0 && !t.has_session_id);
    CHECK(parse("mirror username a analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00:00-0230", &t,
                err, sizeof(err)) == 0);
    CHECK(t.from == 1795784400 + 9000);
}

static void test_errors(void)
{
    const char *A = "analyzer 127.0.0.9:30030 id 1";
    char line[400];
    bad("mirror", "word 2", NULL);
    bad("mirror bogus secretval analyzer 127.0.0.9:1 id 1", "word 2", "secretval");
    bad("mirror username", "word 3", NULL);
    bad("mirror username \"\" analyzer 127.0.0.9:1 id 1", "word 3", NULL);
    bad("mirror username 0xabc analyzer 127.0.0.9:1 id 1", "word 3", "0xabc");
    bad("mirror username 0xzz analyzer 127.0.0.9:1 id 1", "word 3", "0xzz");
    bad("mirror username 0x analyzer 127.0.0.9:1 id 1", "word 3", NULL);
    char big[300];
    memset(big, 'a', 254);
    big[254] = '\0';
    snprintf(line, sizeof(line), "mirror username %s %s", big, A);
    bad(line, "word 3", big);
    bad("mirror ipAddress secret.host analyzer 127.0.0.9:1 id 1", "word 3", "secret.host");
    bad("mirror ipAddress 198.18.0.1/33 analyzer 127.0.0.9:1 id 1", "word 3", "198.18");
    bad("mirror ipAddress 198.18.0.1/24 analyzer 127.0.0.9:1 id 1", "word 3", "198.18");
    bad("mirror ipAddress 2001:db8::1/x analyzer 127.0.0.9:1 id 1", "word 3", "2001");
    bad("mirror ipAddress 0x01020304 analyzer 127.0.0.9:1 id 1", "word 3", "0x01");
    bad("mirror interface averyveryverylongname analyzer 127.0.0.9:1 id 1", "word 3", "avery");
    bad("mirror username secretval id 1", "word 6", "secretval");                 /* no analyzer */
    bad("mirror username secretval analyzer 127.0.0.9:1", "word 6", "secretval"); /* no id */
    bad("mirror username v analyzer", "word 5", NULL);
    bad("mirror username v analyzer 127.0.0.9 id 1", "word 5", "127.0.0.9");
    bad("mirror username v analyzer 127.0.0.9:0 id 1", "word 5", NULL);
    bad("mirror username v analyzer 127.0.0.9:65536 id 1", "word 5", NULL);
    bad("mirror username v analyzer 2001:db8::1:30 id 1", "word 5", "2001");
    bad("mirror username v analyzer [2001:db8::1]30 id 1", "word 5", "2001");
    bad("mirror username v analyzer [127.0.0.9]:30 id 1", "word 5", NULL);
    bad("mirror username v analyzer 0.0.0.0:30 id 1", "word 5", NULL);
    bad("mirror username v analyzer host.example:30 id 1", "word 5", "host.example");
    bad("mirror username v analyzer 127.0.0.9:1 id 1073741824", "word 7", "1073741824");
    bad("mirror username v analyzer 127.0.0.9:1 id -1", "word 7", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id +1", "word 7", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 session 4294967296", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 session x", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 direction up", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 id 2", "word 8", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 colour red", "word 8", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00:00", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-02-30T13:00Z", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27 13:00Z", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 until 2026-11-27T25:00Z", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 until 1969-12-31T23:00Z", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00Z until "
        "2026-11-27T13:00Z",
        "before", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00+05:", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00+05:3", "word 9", NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00+05:30:00", "word 9",
        NULL);
    bad("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00+0530Z", "word 9", NULL);
    {
        struct pm_trigger t;
        char err[256];
        CHECK(parse("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00+05:30", &t,
                    err, sizeof(err)) == 0 &&
              t.from == 1795784400 - 19800);
        CHECK(parse("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00-0530", &t,
                    err, sizeof(err)) == 0 &&
              t.from == 1795784400 + 19800);
        CHECK(parse("mirror username v analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00+05", &t, err,
                    sizeof(err)) == 0 &&
              t.from == 1795784400 - 18000);
        CHECK(parse("mirror username v analyzer 127.0.0.9:1 id 1 from 9999-12-31T23:59:59Z", &t,
                    err, sizeof(err)) == 0 &&
              t.from == 253402300799);
    }
    bad("mirror interface eth0 analyzer 127.0.0.9:1 id 1 session 5", "word 8", NULL);
    bad("mirror interface eth0 analyzer 127.0.0.9:1 id 1 from 2026-11-27T13:00Z", "word 8", NULL);
    bad("nomirror username v analyzer 127.0.0.9:1 id 1", "word 1", NULL);
}

/* A control character in VALUE is refused (CR would make the rule's text,
 * which TRIGGER_SET carries as a configuration line, fail to encode, and
 * every later push of the whole table with it); hex carries such octets. */
static void test_control_chars(void)
{
    struct pm_trigger t;
    struct pm_trigger_del d;
    char err[256];
    bad("mirror username \"ali\rce\" analyzer 127.0.0.9:1 id 1", "word 3", "ali");
    bad("mirror username \"a\tb\" analyzer 127.0.0.9:1 id 1", "word 3", NULL);
    bad("mirror username \"a\x1b[2Jb\" analyzer 127.0.0.9:1 id 1", "word 3", NULL);
    bad("mirror nasPortId \"a\x7f\" analyzer 127.0.0.9:1 id 1", "word 3", NULL);
    bad("mirror interface \"et\rh0\" analyzer 127.0.0.9:1 id 1", "word 3", NULL);
    CHECK(parse_del("no mirror username \"ali\rce\"", &d, err, sizeof(err)) == -1);
    CHECK(strstr(err, "word 4") != NULL && strstr(err, "ali") == NULL);
    CHECK(parse("mirror username 0x616c690d6365 analyzer 127.0.0.9:1 id 1", &t, err, sizeof(err)) ==
          0);
    CHECK(t.value_len == 6 && t.value[3] == '\r');
    /* an interface name as the kernel allows one: no blank, ':' or '/' */
    bad("mirror interface \"eth 0\" analyzer 127.0.0.9:1 id 1", "word 3", NULL);
    bad("mirror interface eth0:1 analyzer 127.0.0.9:1 id 1", "word 3", NULL);
    /* a quoted value with a backslash: pmirrorctl's quotes read it as an
     * escape, the configuration's do not; hex reads the same to both */
    round_trip("mirror username \"a b\\\" analyzer 127.0.0.9:1 id 1",
               "mirror username 0x6120625c analyzer 127.0.0.9:1 id 1");
    round_trip("mirror username DOMAIN\\user analyzer 127.0.0.9:1 id 1",
               "mirror username DOMAIN\\user analyzer 127.0.0.9:1 id 1");
}

static void test_del(void)
{
    struct pm_trigger t, t2;
    struct pm_trigger_del d;
    char err[256];
    CHECK(parse("mirror username Alice analyzer 127.0.0.9:1 id 4", &t, err, sizeof(err)) == 0);
    CHECK(parse("mirror username 0x416c696365 analyzer 127.0.0.8:2 id 4 direction ingress", &t2,
                err, sizeof(err)) == 0);
    CHECK(trig_same(&t, &t2)); /* a duplicate whatever the analyzer */
    CHECK(parse_del("no mirror username Alice", &d, err, sizeof(err)) == 0);
    CHECK(!d.has_mirror_id && trig_del_matches(&d, &t));
    CHECK(parse_del("no mirror USERNAME 0x416c696365 id 4", &d, err, sizeof(err)) == 0);
    CHECK(d.has_mirror_id && d.mirror_id == 4 && trig_del_matches(&d, &t));
    CHECK(parse_del("no mirror username Alice id 5", &d, err, sizeof(err)) == 0);
    CHECK(!trig_del_matches(&d, &t));
    CHECK(parse_del("no mirror username alice", &d, err, sizeof(err)) == 0);
    CHECK(!trig_del_matches(&d, &t)); /* octet for octet */
    CHECK(parse_del("no mirror callingStationId Alice", &d, err, sizeof(err)) == 0);
    CHECK(!trig_del_matches(&d, &t));
    CHECK(parse("mirror ipAddress 2001:db8::/32 analyzer 127.0.0.9:1 id 4", &t, err, sizeof(err)) ==
          0);
    CHECK(parse_del("no mirror ip-address 2001:DB8::/32", &d, err, sizeof(err)) == 0);
    CHECK(trig_del_matches(&d, &t));
    CHECK(parse_del("no mirror ip-address 2001:DB8::/48", &d, err, sizeof(err)) == 0);
    CHECK(!trig_del_matches(&d, &t));
    CHECK(parse("mirror interface eth0 analyzer 127.0.0.9:1 id 4", &t, err, sizeof(err)) == 0);
    CHECK(parse_del("no mirror interface eth0 id 4", &d, err, sizeof(err)) == 0);
    CHECK(trig_del_matches(&d, &t));
    bad_del("no", "word 2");
    bad_del("no trapHost x", "word 2");
    bad_del("no mirror", "word 3");
    bad_del("no mirror username", "word 4");
    bad_del("no mirror username v analyzer 127.0.0.9:1", "word 5");
    bad_del("no mirror username v id", "word 6");
    bad_del("no mirror username v id 1073741824", "word 6");
    bad_del("no mirror username v id 1 x", "word 7");
}

static int load(const char *text, struct pm_conf *c, char *err, size_t errlen)
{
    return conf_load_buffer("t.conf", text, strlen(text), c, err, errlen);
}

static void conf_bad(const char *text, const char *want)
{
    struct pm_conf c;
    char err[600];
    CHECK(load(text, &c, err, sizeof(err)) == -1);
    if (strstr(err, want) == NULL) {
        fprintf(stderr, "got %s, want %s\n", err, want);
        CHECK(0);
    }
    CHECK(strstr(err, "secretval") == NULL);
}

static void test_conf(void)
{
    struct pm_conf c;
    char err[600];
    CHECK(load("", &c, err, sizeof(err)) == 0);
    CHECK(c.max_triggers == TRIG_DEFAULT_MAX && c.ntriggers == 0);
    conf_free(&c);
    CHECK(load("maxTriggers 3\n"
               "mirror username a analyzer 127.0.0.9:1 id 1\n"
               "mirror username a analyzer 127.0.0.9:1 id 2\n"
               "mirror username b analyzer 127.0.0.9:1 id 2\n"
               "no mirror username a id 1\n"
               "mirror ipAddress 198.18.0.0/15 analyzer 127.0.0.9:1 id 2\n",
               &c, err, sizeof(err)) == 0);
    CHECK(c.max_triggers == 3 && c.ntriggers == 3);
    CHECK(c.triggers[0].rule.mirror_id == 2 && strcmp(c.triggers[0].where, "t.conf:3") == 0);
    CHECK(c.triggers[2].rule.type == TRIG_IP && strcmp(c.triggers[2].where, "t.conf:6") == 0);
    conf_free(&c);
    CHECK(c.triggers == NULL && c.ntriggers == 0);
    /* `no mirror` without id removes every mirror ID of the value */
    CHECK(load("mirror username a analyzer 127.0.0.9:1 id 1\n"
               "mirror username a analyzer 127.0.0.9:1 id 2\n"
               "no mirror USERNAME a\n"
               "mirror username a analyzer 127.0.0.9:1 id 1\n",
               &c, err, sizeof(err)) == 0);
    CHECK(c.ntriggers == 1 && strcmp(c.triggers[0].where, "t.conf:4") == 0);
    conf_free(&c);
    conf_bad("mirror username secretval analyzer 127.0.0.9:1 id 1\n"
             "mirror username secretval analyzer 127.0.0.8:2 id 1 direction egress\n",
             "t.conf:2: mirror: the same trigger and mirror ID are defined at t.conf:1");
    conf_bad("maxTriggers 1\n"
             "mirror username secretval analyzer 127.0.0.9:1 id 1\n"
             "mirror username secretval analyzer 127.0.0.9:1 id 2\n",
             "t.conf:3: mirror: more than maxTriggers (1) triggers");
    conf_bad("mirror username secretval analyzer 127.0.0.9:1 id 1\n"
             "mirror username secretval analyzer 127.0.0.9:1 id 2\n"
             "maxTriggers 1\n",
             "t.conf:3: maxTriggers: 2 mirror lines come before it");
    conf_bad("maxTriggers 0\n", "t.conf:1: maxTriggers");
    conf_bad("maxTriggers 10001\n", "t.conf:1: maxTriggers");
    conf_bad("no mirror username secretval\n", "t.conf:1: no mirror: no earlier mirror line");
    /* `no trapHost ADDRESS` removes a trap host (runtime.conf keeps removals so) */
    conf_bad("no trapHost x\n", "t.conf:1: no trapHost: \"x\" is not an IPv4 or IPv6 address");
    conf_bad("no trapHost 127.0.0.1\n", "t.conf:1: no trapHost: no earlier trapHost line");
    conf_bad("no snmp x\n", "t.conf:1: no: word 2");
    conf_bad("\nmirror username secretval analyzer 127.0.0.9:1\n", "t.conf:2: mirror: word 6");
    CHECK(conf_directive_dest("mirror") == CONF_DEST_AGENT);
    CHECK(conf_directive_dest("NO") == CONF_DEST_AGENT);
    CHECK(conf_directive_dest("maxtriggers") == CONF_DEST_AGENT);
}

int main(void)
{
    test_conf();
    test_types();
    test_values();
    test_options();
    test_errors();
    test_control_chars();
    test_del();
    round_trip("mirror username alice@isp analyzer 127.0.0.9:30030 id 7",
               "mirror username alice@isp analyzer 127.0.0.9:30030 id 7");
    printf("test_trigger: ok\n");
    return 0;
}
