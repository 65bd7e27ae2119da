/*
 * test_conf_radius.c - the radius* directives (src/config/conf_radius.c and
 * their lines in conf.c): grammar, defaults, FILE:LINE errors that never
 * echo a secret, and radiusSecretsFile (owner and mode refused, only peer
 * directives, its lines passed on like the main file's and parsed again
 * from a slice as the capture process does).
 */
#include "check.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ipc.h"
#include "pmirrord/radius_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int add(struct rt_conf *c, const char *line, char *err, size_t errlen)
{
    err[0] = '\0';
    return rt_conf_add_line(c, "t.conf", 7, line, err, errlen);
}

static void test_grammar(void)
{
    struct rt_conf c;
    char err[512];
    uint8_t a[16];
    rt_conf_init(&c);
    CHECK(c.pair_timeout_s == 30 && c.replay_window_s == 300 && !c.require_msgauth);
    CHECK(add(&c, "radiusServer 198.18.0.1 secret s3cret", err, sizeof(err)) == 0);
    const struct rt_peer *p = &c.peer[0];
    CHECK(c.npeers == 1 && p->kind == RT_PEER_SERVER && p->family == 4 && p->plen == 32);
    CHECK(!p->ports_given && p->coa_port == 3799 && p->secret_len == 6);
    CHECK(memcmp(p->secret, "s3cret", 6) == 0 && strcmp(p->where, "t.conf:7") == 0);
    CHECK(add(&c, "radiusServer 198.18.0.5:21812 secret \"two words\" coaPort 23799", err,
              sizeof(err)) == 0);
    p = &c.peer[1];
    CHECK(p->ports_given && p->auth_port == 21812 && p->acct_port == 21813);
    CHECK(p->coa_port == 23799 && p->secret_len == 9);
    CHECK(add(&c, "RADIUSSERVER [2001:db8::1]:1645,1646 secret x", err, sizeof(err)) == 0);
    p = &c.peer[2];
    inet_pton(AF_INET6, "2001:db8::1", a);
    CHECK(p->family == 6 && memcmp(p->addr, a, 16) == 0 && p->auth_port == 1645);
    CHECK(p->acct_port == 1646);
    CHECK(add(&c, "radiusServer 2001:db8::7 secret x", err, sizeof(err)) == 0);
    CHECK(c.peer[3].family == 6 && !c.peer[3].ports_given);
    CHECK(add(&c, "radiusClient 198.18.4.0/22 secret nas", err, sizeof(err)) == 0);
    CHECK(c.peer[4].kind == RT_PEER_CLIENT && c.peer[4].plen == 22);
    CHECK(add(&c, "radiusClient 2001:db8:1::/48 secret nas6", err, sizeof(err)) == 0);
    CHECK(add(&c, "radiusClient 198.18.4.9 secret one", err, sizeof(err)) == 0);
    CHECK(add(&c, "radiusDynamicClient 198.18.0.3 secret dac", err, sizeof(err)) == 0);
    CHECK(c.peer[7].kind == RT_PEER_DYNCLIENT && c.npeers == 8);
    CHECK(add(&c, "requireMessageAuthenticator on", err, sizeof(err)) == 0 && c.require_msgauth);
    CHECK(add(&c, "radiusPairTimeout 10", err, sizeof(err)) == 0 && c.pair_timeout_s == 10);
    CHECK(add(&c, "radiusReplayWindow 60", err, sizeof(err)) == 0 && c.replay_window_s == 60);
    CHECK(!c.require_event_ts);
    CHECK(add(&c, "radiusRequireEventTimestamp on", err, sizeof(err)) == 0 && c.require_event_ts);
    CHECK(add(&c, "radiusRequireEventTimestamp off", err, sizeof(err)) == 0 && !c.require_event_ts);
    CHECK(conf_directive_dest("radiusRequireEventTimestamp") == CONF_DEST_CAPTURE);
    CHECK(add(&c, "  # a comment", err, sizeof(err)) == 0 && add(&c, "", err, sizeof(err)) == 0);

    /* Whose secret: the longest radiusClient prefix for a server, else the sender's own. */
    inet_pton(AF_INET, "198.18.4.9", a);
    CHECK(rt_conf_secret_peer(&c, 0, 4, a) == 6);
    inet_pton(AF_INET, "198.18.5.1", a);
    CHECK(rt_conf_secret_peer(&c, 0, 4, a) == 4);
    inet_pton(AF_INET, "198.18.9.1", a);
    CHECK(rt_conf_secret_peer(&c, 0, 4, a) == 0);
    inet_pton(AF_INET, "198.18.4.9", a);
    CHECK(rt_conf_secret_peer(&c, 7, 4, a) == 7); /* a dynamic client keeps its own */
    inet_pton(AF_INET6, "2001:db8:1::9", a);
    CHECK(rt_conf_secret_peer(&c, 2, 6, a) == 5);

    /* Errors: FILE:LINE, and never the secret. */
    static const char *const bad[] = {
        "radiusServer 198.18.0.1 secret dup-Secret1",    /* already defined */
        "radiusServer 198.18.0.9",                       /* no secret */
        "radiusServer 198.18.0.9 Secret1word",           /* word 3 */
        "radiusServer 198.18.0.9 secret",                /* no value */
        "radiusServer not-an-address secret Secret1",    /* address */
        "radiusServer 198.18.0.9:0 secret Secret1",      /* port */
        "radiusServer 198.18.0.9:1812,x secret Secret1", /* port */
        "radiusServer [2001:db8::1 secret Secret1",      /* bracket */
        "radiusServer 198.18.0.9 secret Secret1 coaPort 0",
        "radiusServer 198.18.0.9 secret Secret1 secret Secret1",
        "radiusClient 198.18.4.1/22 secret Secret1", /* host bits */
        "radiusClient 198.18.4.0/33 secret Secret1",
        "radiusClient 198.18.4.0/22 secret Secret1 coaPort 1",
        "radiusDynamicClient 198.18.0.3/32 secret Secret1",
        "radiusDynamicClient 198.18.0.3 secret dup-Secret1",
        "requireMessageAuthenticator maybe",
        "radiusPairTimeout 0",
        "radiusReplayWindow 86401",
        "radiusRequireEventTimestamp maybe",
        "radiusSecretsFile relative/path",
        "capture eth0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (add(&c, bad[i], err, sizeof(err)) == 0) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            CHECK(0);
        }
        CHECK(strncmp(err, "t.conf:7: ", 10) == 0);
        CHECK(strstr(err, "Secret1") == NULL);
    }
    CHECK(add(&c, bad[0], err, sizeof(err)) < 0 && strstr(err, "already defined at t.conf:7"));
    CHECK(c.npeers == 8);
    /* too many peers */
    char line[128];
    int rc = 0;
    for (int i = 0; i < RT_CONF_MAX_PEERS && rc == 0; i++) {
        snprintf(line, sizeof(line), "radiusClient 10.0.%d.0/24 secret s", i);
        rc = add(&c, line, err, sizeof(err));
    }
    CHECK(rc < 0 && strstr(err, "at most") != NULL && c.npeers == RT_CONF_MAX_PEERS);
    /* long secrets */
    rt_conf_init(&c);
    char longl[400], ks[200];
    memset(ks, 'k', sizeof(ks) - 1);
    ks[sizeof(ks) - 1] = '\0';
    snprintf(longl, sizeof(longl), "radiusServer 198.18.0.1 secret %.128s", ks);
    CHECK(add(&c, longl, err, sizeof(err)) == 0 && c.peer[0].secret_len == 128);
    snprintf(longl, sizeof(longl), "radiusServer 198.18.0.2 secret %.129s", ks);
    CHECK(add(&c, longl, err, sizeof(err)) < 0 && strstr(err, "kkkk") == NULL);
}

/* ---- files --------------------------------------------------------------- */

static char dir[] = "/tmp/test_conf_radius.XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    CHECK(fclose(f) == 0);
    CHECK(chmod(path, mode) == 0);
}

struct line_log {
    unsigned n;
    int no[16];
    unsigned dest[16];
    char key[16][64];
    char text[16][256];
};

static int log_line(void *arg, unsigned dest, int line, const char *directive, const char *text)
{
    struct line_log *l = arg;
    CHECK(l->n < 16);
    l->no[l->n] = line;
    l->dest[l->n] = dest;
    snprintf(l->key[l->n], sizeof(l->key[0]), "%s", directive);
    snprintf(l->text[l->n], sizeof(l->text[0]), "%s", text);
    l->n++;
    return 0;
}

/* ---- through the monitor's channel (conf_slice_send) --------------------- */

struct rx {
    struct conf_slice *s;
    unsigned lines, errors;
    char keys[512];
};

static void on_rec(struct ipc_rec *rec, void *arg)
{
    struct rx *x = arg;
    char e[256];
    if (rec->type == IPC_CONFIG && !(rec->flags & (IPC_F_BEGIN | IPC_F_END))) {
        x->lines++;
        size_t n = strlen(x->keys);
        snprintf(x->keys + n, sizeof(x->keys) - n, "%s:%u ", rec->u.config.key,
                 (unsigned)rec->u.config.line);
    }
    if (conf_slice_rec(x->s, rec, e, sizeof(e)) < 0) {
        fprintf(stderr, "%s\n", e);
        x->errors++;
    }
}

/* The monitor sends a slice for dest; the child (refusing other processes'
 * lines) receives and parses it. */
static void send_receive(const char *conf, unsigned dest, struct rx *x, struct pm_conf *c)
{
    int sv[2];
    char err[1024];
    CHECK(ipc_socketpair(sv, 0, err, sizeof(err)) == 0);
    struct ipc_chan *tx = ipc_chan_new(sv[0], 0, NULL, NULL, err, sizeof(err));
    struct ipc_chan *rxc = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(tx != NULL && rxc != NULL);
    CHECK(conf_slice_send(tx, conf, dest, NULL, err, sizeof(err)) == 0);
    CHECK(conf_slice_send_end(tx, err, sizeof(err)) == 0);
    CHECK(ipc_chan_flush(tx) == 0);
    memset(x, 0, sizeof(*x));
    x->s = conf_slice_new();
    conf_slice_set_dest(x->s, dest);
    int r;
    while ((r = ipc_chan_recv(rxc, on_rec, x)) == 1)
        ;
    CHECK(r == -1 && errno == EAGAIN);
    CHECK(x->errors == 0 && conf_slice_complete(x->s));
    CHECK(conf_slice_load(x->s, NULL, c, err, sizeof(err)) == 0);
    conf_slice_free(x->s);
    ipc_chan_free(tx);
    ipc_chan_free(rxc);
}

static void test_secrets_file(void)
{
    char conf[300], sec[300], text[1024], err[1024];
    struct pm_conf c;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(conf, sizeof(conf), "%s/pmirrord.conf", dir);
    snprintf(sec, sizeof(sec), "%s/radius.secrets", dir);
    snprintf(text, sizeof(text),
             "capture eth0\n"
             "radiusServer 198.18.0.1 secret main-secret\n"
             "radiusSecretsFile %s\n"
             "requireMessageAuthenticator on\n"
             "\n",
             sec);
    write_file(conf, text, 0600);
    write_file(sec,
               "# the RADIUS peers\n"
               "radiusServer 198.18.0.7:21812 secret Hidden-Secret coaPort 23799\n"
               "\n"
               "radiusClient 198.18.1.0/24 secret Nas-Secret\n",
               0600);

    /* The monitor's read: the secrets file's lines come with the main file's,
     * for the capture process, numbered after the main file's last line. */
    struct line_log log;
    memset(&log, 0, sizeof(log));
    CHECK(conf_load_lines(conf, &c, log_line, &log, err, sizeof(err)) == 0);
    CHECK(c.radius != NULL && c.radius->npeers == 3 && c.radius->require_msgauth);
    CHECK(c.radius->peer[1].coa_port == 23799 && c.radius->peer[2].kind == RT_PEER_CLIENT);
    char where[400];
    snprintf(where, sizeof(where), "%s:2", sec);
    CHECK(strcmp(c.radius->peer[1].where, where) == 0);
    conf_free(&c);
    CHECK(log.n == 6);
    CHECK(log.no[1] == 2 && strcmp(log.key[1], "radiusServer") == 0);
    CHECK(log.no[2] == 3 && strcmp(log.key[2], "radiusSecretsFile") == 0);
    CHECK(log.no[4] == 5 + 2 && strcmp(log.key[4], "radiusServer") == 0);
    CHECK(strstr(log.text[4], "Hidden-Secret") != NULL && log.dest[4] == CONF_DEST_CAPTURE);
    CHECK(log.no[5] == 5 + 4 && strcmp(log.key[5], "radiusClient") == 0);
    for (unsigned i = 1; i < log.n; i++)
        CHECK(log.dest[i] == CONF_DEST_CAPTURE);

    /* The capture process: the same lines as a slice, parsed again (the
     * secrets file itself is not opened: the slice is a buffer). */
    struct conf_slice *s = conf_slice_new();
    CHECK(s != NULL);
    for (unsigned i = 0; i < log.n; i++) {
        CHECK(conf_slice_line_for(CONF_DEST_CAPTURE, log.key[i], log.text[i]));
        CHECK(conf_slice_add(s, (uint32_t)log.no[i], log.text[i], strlen(log.text[i]), err,
                             sizeof(err)) == 0);
    }
    CHECK(unlink(sec) == 0);
    CHECK(conf_slice_load(s, conf, &c, err, sizeof(err)) == 0);
    CHECK(c.radius != NULL && c.radius->npeers == 3 && c.radius->require_msgauth);
    CHECK(c.radius->peer[1].secret_len == 13 &&
          memcmp(c.radius->peer[1].secret, "Hidden-Secret", 13) == 0);
    conf_slice_free(s);
    conf_free(&c);

    /* The same through the monitor's channel: the capture process gets the
     * secrets file's lines, the agent none of the RADIUS lines. */
    write_file(sec,
               "# the RADIUS peers\n"
               "radiusServer 198.18.0.7:21812 secret Hidden-Secret coaPort 23799\n"
               "\n"
               "radiusClient 198.18.1.0/24 secret Nas-Secret\n",
               0600);
    struct rx x;
    send_receive(conf, CONF_DEST_CAPTURE, &x, &c);
    CHECK(x.lines == 6);
    CHECK(strstr(x.keys, "radiusServer:7 ") != NULL && strstr(x.keys, "radiusClient:9 ") != NULL);
    CHECK(c.radius != NULL && c.radius->npeers == 3);
    CHECK(c.radius->peer[2].secret_len == 10 &&
          memcmp(c.radius->peer[2].secret, "Nas-Secret", 10) == 0);
    conf_free(&c);
    send_receive(conf, CONF_DEST_AGENT, &x, &c);
    CHECK(x.lines == 0 && c.radius == NULL);
    conf_free(&c);
    CHECK(unlink(sec) == 0);

    /* A missing secrets file, a group-readable one, one owned by someone else. */
    CHECK(conf_load(conf, &c, err, sizeof(err)) < 0);
    CHECK(strncmp(err, conf, strlen(conf)) == 0 && strstr(err, ":3: radiusSecretsFile: ") != NULL);
    write_file(sec, "radiusServer 198.18.0.7 secret Hidden-Secret\n", 0640);
    CHECK(conf_load(conf, &c, err, sizeof(err)) < 0);
    CHECK(strstr(err, ":3: radiusSecretsFile: ") != NULL && strstr(err, "mode 0640") != NULL);
    CHECK(strstr(err, "Hidden-Secret") == NULL);
    CHECK(chmod(sec, 0600) == 0);
    if (geteuid() == 0) {
        CHECK(chown(sec, 65534, 65534) == 0);
        CHECK(conf_load(conf, &c, err, sizeof(err)) < 0);
        CHECK(strstr(err, ":3: radiusSecretsFile: ") != NULL && strstr(err, "owned by uid 65534"));
        CHECK(chown(sec, 0, 0) == 0);
    }
    /* only peer directives, FILE:LINE of the secrets file */
    write_file(sec, "radiusClient 198.18.1.0/24 secret Nas-Secret\nradiusPairTimeout 5\n", 0600);
    CHECK(conf_load(conf, &c, err, sizeof(err)) < 0);
    snprintf(where, sizeof(where), "%s:2: a RADIUS secrets file holds only", sec);
    CHECK(strstr(err, where) != NULL);
    write_file(sec, "radiusClient 198.18.1.0/24 secret\n", 0600);
    CHECK(conf_load(conf, &c, err, sizeof(err)) < 0);
    snprintf(where, sizeof(where), "%s:1: radiusClient: `secret` needs a value", sec);
    CHECK(strstr(err, where) != NULL);
    /* a peer in both files */
    write_file(sec, "radiusServer 198.18.0.1 secret Other-Secret\n", 0600);
    CHECK(conf_load(conf, &c, err, sizeof(err)) < 0);
    CHECK(strstr(err, "already defined at") != NULL && strstr(err, "Other-Secret") == NULL);
    /* a symbolic link is not followed */
    char link[320];
    snprintf(link, sizeof(link), "%s/link.secrets", dir);
    write_file(sec, "radiusServer 198.18.0.9 secret x\n", 0600);
    CHECK(symlink(sec, link) == 0);
    snprintf(text, sizeof(text), "radiusSecretsFile %s\n", link);
    write_file(conf, text, 0600);
    CHECK(conf_load(conf, &c, err, sizeof(err)) < 0 && strstr(err, "symbolic link") != NULL);
    /* two radiusSecretsFile lines */
    snprintf(text, sizeof(text), "radiusSecretsFile %s\nradiusSecretsFile %s\n", sec, sec);
    write_file(conf, text, 0600);
    CHECK(conf_load(conf, &c, err, sizeof(err)) < 0 &&
          strstr(err, ":2: radiusSecretsFile: already"));
    /* a buffer never opens the file */
    CHECK(conf_load_buffer("buf", "radiusSecretsFile /nonexistent/x\n", 33, &c, err, sizeof(err)) ==
          0);
    CHECK(c.radius != NULL && c.radius->npeers == 0);
    conf_free(&c);
    unlink(link);
    unlink(sec);
    unlink(conf);
    rmdir(dir);
}

int main(void)
{
    test_grammar();
    test_secrets_file();
    printf("test_conf_radius: ok\n");
    return 0;
}
