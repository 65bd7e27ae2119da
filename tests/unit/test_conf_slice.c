/*
 * test_conf_slice.c - a child's configuration slice (src/config/conf_slice.c)
 * through a real ipc socketpair: the monitor's records (BEGIN, lines, FD
 * records, END) in that order, each process gets only its directives, the
 * rebuilt text parses to the same values, a parse error in the child names
 * the file's own FILE:LINE, a tab inside a line survives, a file that does
 * not validate sends nothing, records out of place are refused, and the
 * passphrases are wiped from every heap block freed on the way.
 */
#include "pmirrord/conf_slice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "free_watch.h"
#include "pmirrord/conf.h"
#include "pmirrord/ipc.h"

static char dir[] = "/tmp/test_conf_slice.XXXXXX";
static char path[256];

static void write_conf(const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(fchmod(fd, 0600) == 0);
    close(fd);
}

/* What the receiving child saw, in order. */
struct rx {
    struct conf_slice *s;
    char order[64]; /* B begin, L line, F fd, E end */
    size_t n;
    int fd;
    int errors;
    char err[256];
};

static void on_rec(struct ipc_rec *rec, void *arg)
{
    struct rx *x = arg;
    char c = '?';
    if (rec->type == IPC_FD) {
        c = 'F';
        x->fd = rec->u.fd.fd;
        rec->u.fd.fd = -1; /* taken */
    } else if (rec->type == IPC_CONFIG) {
        c = rec->flags & IPC_F_BEGIN ? 'B' : rec->flags & IPC_F_END ? 'E' : 'L';
    }
    if (x->n + 1 < sizeof(x->order))
        x->order[x->n++] = c;
    if (conf_slice_rec(x->s, rec, x->err, sizeof(x->err)) < 0)
        x->errors++;
}

static void chans(struct ipc_chan **tx, struct ipc_chan **rxc)
{
    int sv[2];
    char err[256];
    CHECK(ipc_socketpair(sv, 0, err, sizeof(err)) == 0);
    *tx = ipc_chan_new(sv[0], 0, NULL, NULL, err, sizeof(err));
    *rxc = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(*tx != NULL && *rxc != NULL);
}

static void receive(struct ipc_chan *rxc, struct rx *x)
{
    int r;
    while ((r = ipc_chan_recv(rxc, on_rec, x)) == 1)
        ;
    CHECK(r == -1 && errno == EAGAIN);
}

static const char *conf_text =
    "# pmirrord test configuration\n"
    "agentXSocket /tmp/agentx-test\n"
    "\n"
    "capture\tpcap:/tmp/some.pcap\trole signalling   # a tab between the words\n"
    "trapHost 198.18.0.1 user u1 auth SHA-256 \"sekrit-passphrase-1\" priv AES-128 "
    "\"sekrit-passphrase-2\xe9\"\n" /* Latin-1: a passphrase need not be UTF-8 */
    "signallingLatency 25\r\n"
    "eventQueueSize 64\n"
    "capture eth7 role data\n";

static void test_agent_and_capture_slices(void)
{
    struct ipc_chan *tx, *rxc;
    struct pm_conf whole, c;
    char err[512];
    int pfd[2];

    write_conf(conf_text);
    free_watch_start("sekrit-passphrase");
    chans(&tx, &rxc);

    /* agent: its lines, then an FD record, then END */
    CHECK(conf_slice_send(tx, path, CONF_DEST_AGENT, &whole, err, sizeof(err)) == 0);
    CHECK(whole.nhosts == 1 && whole.ncaptures == 2 && whole.signalling_latency == 25);
    conf_free(&whole);
    CHECK(pipe2(pfd, O_CLOEXEC) == 0);
    struct ipc_rec fdr;
    memset(&fdr, 0, sizeof(fdr));
    fdr.type = IPC_FD;
    fdr.u.fd.purpose = IPC_FD_CONTROL_LISTEN;
    CHECK(ipc_chan_put_fd(tx, &fdr, pfd[1], err, sizeof(err)) == 0);
    CHECK(conf_slice_send_end(tx, err, sizeof(err)) == 0);
    CHECK(ipc_chan_flush(tx) == 0);

    struct rx x = {.s = conf_slice_new(), .fd = -1};
    receive(rxc, &x);
    CHECK(x.errors == 0);
    CHECK(strcmp(x.order, "BLLLFE") == 0); /* agentXSocket, trapHost, eventQueueSize */
    CHECK(conf_slice_complete(x.s));
    CHECK(strcmp(conf_slice_name(x.s), path) == 0);
    CHECK(conf_slice_lines(x.s) == 3);
    CHECK(x.fd >= 0 && write(x.fd, "z", 1) == 1); /* the pipe itself */
    char z;
    CHECK(read(pfd[0], &z, 1) == 1 && z == 'z');
    close(x.fd);
    close(pfd[0]);
    close(pfd[1]);
    CHECK(conf_slice_load(x.s, NULL, &c, err, sizeof(err)) == 0);
    CHECK(strcmp(c.path, path) == 0);
    CHECK(strcmp(c.agentx_socket, "/tmp/agentx-test") == 0);
    CHECK(c.nhosts == 1 && strcmp(c.hosts[0].auth_pass, "sekrit-passphrase-1") == 0);
    CHECK(strcmp(c.hosts[0].priv_pass, "sekrit-passphrase-2\xe9") == 0);
    char where[300];
    snprintf(where, sizeof(where), "%s:5", path);
    CHECK(strcmp(c.hosts[0].where, where) == 0); /* the line number as in the file */
    CHECK(c.event_queue_size == 64);
    CHECK(c.ncaptures == 0 && c.signalling_latency == 10); /* not the agent's */
    conf_free(&c);
    conf_slice_free(x.s);

    /* capture: its lines only, the tab kept */
    CHECK(conf_slice_send(tx, path, CONF_DEST_CAPTURE, NULL, err, sizeof(err)) == 0);
    CHECK(conf_slice_send_end(tx, err, sizeof(err)) == 0);
    CHECK(ipc_chan_flush(tx) == 0);
    memset(&x, 0, sizeof(x));
    x.s = conf_slice_new();
    x.fd = -1;
    receive(rxc, &x);
    CHECK(x.errors == 0 && strcmp(x.order, "BLLLE") == 0);
    CHECK(conf_slice_load(x.s, NULL, &c, err, sizeof(err)) == 0);
    CHECK(c.nhosts == 0 && c.event_queue_size == 4096);
    CHECK(strcmp(c.agentx_socket, "/var/agentx/master") == 0);
    CHECK(c.ncaptures == 2 && c.signalling_latency == 25);
    CHECK(c.captures[0].spec.offline && strcmp(c.captures[0].spec.src, "/tmp/some.pcap") == 0);
    CHECK(c.captures[0].spec.role == CAP_ROLE_SIGNALLING);
    snprintf(where, sizeof(where), "%s:8", path);
    CHECK(strcmp(c.captures[1].where, where) == 0 && c.captures[1].spec.role == CAP_ROLE_DATA);
    conf_free(&c);
    conf_slice_free(x.s);

    ipc_chan_free(tx);
    ipc_chan_free(rxc);
    free_watch_stop();
    CHECK(!free_watch_seen());
}

/* An error found only by the child's parse still names FILE:LINE. */
static void test_child_error_line(void)
{
    struct pm_conf c;
    char err[512];
    struct conf_slice *s = conf_slice_new();
    CHECK(conf_slice_add(s, 3, "eventQueueSize 64", 17, err, sizeof(err)) == 0);
    CHECK(conf_slice_add(s, 12, "signallingLatency\t5000", 22, err, sizeof(err)) == 0);
    CHECK(conf_slice_load(s, "/etc/pmirrord/pmirrord.conf", &c, err, sizeof(err)) == -1);
    CHECK(strncmp(err, "/etc/pmirrord/pmirrord.conf:12: signallingLatency", 49) == 0);
    /* lines in order only, no line end inside */
    CHECK(conf_slice_add(s, 12, "x", 1, err, sizeof(err)) == -1);
    CHECK(conf_slice_add(s, 11, "x", 1, err, sizeof(err)) == -1);
    CHECK(conf_slice_add(s, 13, "a\nb", 3, err, sizeof(err)) == -1);
    CHECK(conf_slice_add(s, 0, "x", 1, err, sizeof(err)) == -1);
    CHECK(conf_slice_add(s, CONF_SLICE_LINES_MAX + 1, "x", 1, err, sizeof(err)) == -1);
    conf_slice_free(s);
}

/* A file that does not validate: FILE:LINE, and nothing queued. */
static void test_bad_file_sends_nothing(void)
{
    struct ipc_chan *tx, *rxc;
    char err[512];
    write_conf("eventQueueSize 64\ncapture\n");
    chans(&tx, &rxc);
    CHECK(conf_slice_send(tx, path, CONF_DEST_AGENT, NULL, err, sizeof(err)) == -1);
    char want[300];
    snprintf(want, sizeof(want), "%s:2: capture", path);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    CHECK(!ipc_chan_pending(tx) && ipc_chan_flush(tx) == 0);
    struct rx x = {.s = conf_slice_new(), .fd = -1};
    receive(rxc, &x);
    CHECK(x.n == 0);
    conf_slice_free(x.s);
    /* mode 0644: refused as by conf_load() */
    write_conf("eventQueueSize 64\n");
    CHECK(chmod(path, 0644) == 0);
    CHECK(conf_slice_send(tx, path, CONF_DEST_AGENT, NULL, err, sizeof(err)) == -1);
    CHECK(strstr(err, "mode 0644") != NULL);
    ipc_chan_free(tx);
    ipc_chan_free(rxc);
}

static void config_rec(struct ipc_rec *r, uint16_t flags, const char *key, const char *value,
                       uint32_t line)
{
    memset(r, 0, sizeof(*r));
    r->type = IPC_CONFIG;
    r->flags = flags;
    snprintf(r->u.config.key, sizeof(r->u.config.key), "%s", key);
    snprintf(r->u.config.value, sizeof(r->u.config.value), "%s", value);
    r->u.config.line = line;
}

/* Records out of place are refused, never fatal. */
static void test_records_out_of_place(void)
{
    struct ipc_rec r;
    char err[256];
    struct conf_slice *s = conf_slice_new();
    config_rec(&r, 0, "eventQueueSize", "eventQueueSize 64", 1);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == -1); /* before BEGIN */
    config_rec(&r, IPC_F_BEGIN, "nofile", "/x.conf", 0);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == -1);
    config_rec(&r, IPC_F_BEGIN, "file", "/x.conf", 0);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == 0);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == -1); /* a second BEGIN */
    config_rec(&r, 0, "noSuchDirective", "noSuchDirective 1", 2);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == -1);
    config_rec(&r, 0, "eventQueueSize", "eventQueueSize 64", 0);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == -1); /* no line number */
    config_rec(&r, 0, "eventQueueSize", "eventQueueSize 64", 4);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == 0);
    /* a slice for the agent refuses a capture directive (another process's line) */
    conf_slice_set_dest(s, CONF_DEST_AGENT);
    config_rec(&r, 0, "capture", "capture eth0", 5);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == -1);
    CHECK(strstr(err, "/x.conf:5: a CONFIG record for capture, not this process's") != NULL);
    r.type = IPC_HEARTBEAT;
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == 0); /* not ours */
    CHECK(!conf_slice_complete(s));
    config_rec(&r, IPC_F_END, "end", "", 0);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == 1);
    CHECK(conf_slice_complete(s));
    config_rec(&r, 0, "eventQueueSize", "eventQueueSize 32", 9);
    CHECK(conf_slice_rec(s, &r, err, sizeof(err)) == -1); /* after END */
    struct pm_conf c;
    CHECK(conf_slice_load(s, NULL, &c, err, sizeof(err)) == 0);
    CHECK(c.event_queue_size == 64 && strcmp(c.path, "/x.conf") == 0);
    conf_free(&c);
    conf_slice_free(s);
}

static void test_directive_dest(void)
{
    CHECK(conf_directive_dest("trapHost") == CONF_DEST_AGENT);
    CHECK(conf_directive_dest("MIRRORSECRET") == CONF_DEST_AGENT);
    CHECK(conf_directive_dest("capture") == CONF_DEST_CAPTURE);
    CHECK(conf_directive_dest("signallingLatency") == CONF_DEST_CAPTURE);
    CHECK(conf_directive_dest("bogus") == 0);
}

/* The two capture-process directives: values, defaults, FILE:LINE errors. */
static void test_capture_directives(void)
{
    struct pm_conf c;
    char err[512];
    static const struct {
        const char *text, *error;
    } bad[] = {
        {"signallingLatency 0\n",
         "f.conf:1: signallingLatency: \"0\" is not a number from 1 to 1000"},
        {"signallingLatency 1001\n", "f.conf:1: signallingLatency"},
        {"signallingLatency\n", "f.conf:1: signallingLatency takes 1 argument"},
        {"\ncapture\n", "f.conf:2: capture: needs a source"},
        {"capture eth0 bogus\n", "f.conf:1: capture eth0: unknown option"},
        {"capture pcap:/a\n# x\ncapture pcap:/a role data\n",
         "f.conf:3: capture: pcap:/a is already captured at f.conf:1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(conf_load_buffer("f.conf", bad[i].text, strlen(bad[i].text), &c, err, sizeof(err)) ==
              -1);
        if (strncmp(err, bad[i].error, strlen(bad[i].error)) != 0)
            fprintf(stderr, "got \"%s\", want \"%s\"\n", err, bad[i].error);
        CHECK(strncmp(err, bad[i].error, strlen(bad[i].error)) == 0);
    }
    const char *good = "capture eth0\ncapture pcap:/a pace fast\ncapture eth1 role data\n"
                       "signallingLatency 1000\n";
    CHECK(conf_load_buffer("f.conf", good, strlen(good), &c, err, sizeof(err)) == 0);
    CHECK(c.ncaptures == 3 && c.signalling_latency == 1000);
    CHECK(strcmp(c.captures[0].spec.src, "eth0") == 0 && !c.captures[0].spec.offline);
    CHECK(c.captures[1].spec.offline && strcmp(c.captures[1].where, "f.conf:2") == 0);
    conf_free(&c);
    CHECK(c.captures == NULL && c.ncaptures == 0);
    CHECK(conf_load_buffer("f.conf", "", 0, &c, err, sizeof(err)) == 0);
    CHECK(c.ncaptures == 0 && c.signalling_latency == CAP_LATENCY_MS_DEFAULT);
    conf_free(&c);
}

/* ---- reload slices ------------------------------------------------------- */

static void test_line_digest(void)
{
    uint8_t d[CONF_DIGEST_LEN];
    char hex[CONF_DIGEST_LEN * 2 + 1];
    conf_line_digest("abc", 3, d); /* FIPS 180-2, appendix B.1 */
    conf_digest_hex(d, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    struct conf_digests a = {0}, b = {0};
    CHECK(conf_digests_equal(&a, &b));
    conf_digests_free(&a);
    conf_digests_free(NULL);
}

/* What a child saw of a reload slice: every CONFIG record's flags and value. */
struct rl_rx {
    struct conf_slice *s;
    int errors, same, full, secret_seen;
    char err[256];
};

static void on_rl_rec(struct ipc_rec *rec, void *arg)
{
    struct rl_rx *x = arg;
    if (rec->type != IPC_CONFIG)
        return;
    if (strstr(rec->u.config.value, "sekrit") != NULL)
        x->secret_seen++;
    if (rec->flags & IPC_F_SAME) {
        x->same++;
        CHECK(strlen(rec->u.config.value) == CONF_DIGEST_LEN * 2);
    } else if (!(rec->flags & (IPC_F_BEGIN | IPC_F_END))) {
        x->full++;
    }
    if (conf_slice_rec(x->s, rec, x->err, sizeof(x->err)) < 0)
        x->errors++;
}

/* A start slice received as a child keeps it (its running lines). */
static struct conf_slice *start_slice(struct ipc_chan *tx, struct ipc_chan *rxc, unsigned dest,
                                      struct conf_digests *dg)
{
    char err[512];
    CHECK(conf_slice_send_digests(tx, path, dest, NULL, dg, err, sizeof(err)) == 0);
    CHECK(conf_slice_send_end(tx, err, sizeof(err)) == 0);
    CHECK(ipc_chan_flush(tx) == 0);
    struct rx x = {.s = conf_slice_new(), .fd = -1};
    conf_slice_set_dest(x.s, dest);
    receive(rxc, &x);
    CHECK(x.errors == 0 && conf_slice_complete(x.s));
    CHECK(conf_slice_lines(x.s) == dg->n);
    return x.s;
}

static void test_reload_slice(void)
{
    struct ipc_chan *tx, *rxc;
    struct pm_conf c;
    struct conf_digests dg0, dg1;
    char err[512];

    write_conf(conf_text);
    chans(&tx, &rxc);
    struct conf_slice *running = start_slice(tx, rxc, CONF_DEST_AGENT, &dg0);
    CHECK(dg0.n == 3);

    /* a comment and a blank line added, the trapHost line moved: nothing changed */
    char text[2048];
    snprintf(text, sizeof(text), "# a comment\n\n%s", conf_text);
    write_conf(text);
    struct conf_slice *all = conf_slice_read(path, &c, err, sizeof(err));
    CHECK(all != NULL);
    conf_free(&c);
    CHECK(conf_slice_digests(all, CONF_DEST_AGENT, &dg1) == 0);
    CHECK(conf_digests_equal(&dg0, &dg1));
    conf_digests_free(&dg1);
    conf_slice_free(all);

    /* eventQueueSize changed: only that line in full; the passphrases never again */
    snprintf(text, sizeof(text), "# a comment\n\n%s", conf_text);
    char *q = strstr(text, "eventQueueSize 64");
    CHECK(q != NULL);
    memcpy(q, "eventQueueSize 99", 17);
    write_conf(text);
    all = conf_slice_read(path, &c, err, sizeof(err));
    CHECK(all != NULL);
    conf_free(&c);
    CHECK(conf_slice_digests(all, CONF_DEST_AGENT, &dg1) == 0);
    CHECK(!conf_digests_equal(&dg0, &dg1) && dg1.n == 3);
    size_t nsame = 0;
    free_watch_start("sekrit-passphrase");
    CHECK(conf_slice_send_reload(tx, all, CONF_DEST_AGENT, &dg0, &nsame, err, sizeof(err)) == 0);
    CHECK(nsame == 2);
    CHECK(ipc_chan_flush(tx) == 0);
    struct rl_rx x = {.s = conf_slice_new()};
    conf_slice_set_dest(x.s, CONF_DEST_AGENT);
    conf_slice_set_running(x.s, running);
    CHECK(conf_slice_is_reload(x.s));
    int r;
    while ((r = ipc_chan_recv(rxc, on_rl_rec, &x)) == 1)
        ;
    if (x.errors)
        fprintf(stderr, "%s\n", x.err);
    CHECK(x.errors == 0 && conf_slice_complete(x.s));
    CHECK(x.same == 2 && x.full == 1 && x.secret_seen == 0);
    CHECK(conf_slice_same(x.s) == 2 && conf_slice_lines(x.s) == 3);
    CHECK(conf_slice_load(x.s, NULL, &c, err, sizeof(err)) == 0);
    CHECK(c.event_queue_size == 99);
    CHECK(c.nhosts == 1 && strcmp(c.hosts[0].auth_pass, "sekrit-passphrase-1") == 0);
    char where[300];
    snprintf(where, sizeof(where), "%s:7", path);
    CHECK(strcmp(c.hosts[0].where, where) == 0); /* its new line number */
    conf_free(&c);
    conf_slice_free(x.s);
    conf_slice_free(all);
    free_watch_stop();
    CHECK(!free_watch_seen()); /* every copy wiped */

    /* the capture process's lines: none of the agent's, a SAME of its own */
    conf_digests_free(&dg1);
    write_conf(conf_text);
    struct conf_digests cdg;
    struct conf_slice *crun = start_slice(tx, rxc, CONF_DEST_CAPTURE, &cdg);
    CHECK(cdg.n == 3);
    conf_digests_free(&cdg);
    conf_slice_free(crun);

    /* refused: an unknown digest, a digest under another directive, SAME in a
     * start slice, BEGIN "file" in a reload */
    struct ipc_rec rec;
    char hex[CONF_DIGEST_LEN * 2 + 1];
    struct conf_slice *s = conf_slice_new();
    conf_slice_set_dest(s, CONF_DEST_AGENT);
    conf_slice_set_running(s, running);
    config_rec(&rec, IPC_F_BEGIN, "file", path, 0);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == -1);
    config_rec(&rec, IPC_F_BEGIN, "reload", path, 0);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == 0);
    uint8_t d[CONF_DIGEST_LEN];
    conf_line_digest("eventQueueSize 1", 16, d);
    conf_digest_hex(d, hex);
    config_rec(&rec, IPC_F_SAME, "eventQueueSize", hex, 3);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == -1);
    CHECK(strstr(err, ":3: an unchanged line (SAME) whose text this process does not hold"));
    conf_digest_hex(dg0.d[0], hex); /* agentXSocket's */
    config_rec(&rec, IPC_F_SAME, "eventQueueSize", hex, 3);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == -1);
    config_rec(&rec, IPC_F_SAME, "agentXSocket", "XYZ", 3);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == -1);
    config_rec(&rec, IPC_F_SAME, "agentXSocket", hex, 3);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == 0);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == -1); /* the same line twice */
    conf_slice_free(s);
    s = conf_slice_new();
    config_rec(&rec, IPC_F_BEGIN, "file", path, 0);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == 0);
    config_rec(&rec, IPC_F_SAME, "agentXSocket", hex, 3);
    CHECK(conf_slice_rec(s, &rec, err, sizeof(err)) == -1); /* no running lines */
    conf_slice_free(s);

    conf_digests_free(&dg0);
    conf_slice_free(running);
    ipc_chan_free(tx);
    ipc_chan_free(rxc);
}

/* The lines' text in a caller's arena: refused when it does not fit, wiped when freed. */
static void test_arena(void)
{
    static char arena[64];
    char err[256];
    struct conf_slice *s = conf_slice_new();
    CHECK(conf_slice_set_arena(s, arena, sizeof(arena)) == 0);
    CHECK(conf_slice_add(s, 1, "trapEnable true", 15, err, sizeof(err)) == 0);
    CHECK(memcmp(arena, "trapEnable true", 16) == 0);
    CHECK(conf_slice_set_arena(s, arena, sizeof(arena)) == -1); /* not after a line */
    char big[80];
    memset(big, 'x', sizeof(big));
    CHECK(conf_slice_add(s, 2, big, sizeof(big), err, sizeof(err)) == -1);
    CHECK(strstr(err, "longer than the 64 octets kept for it") != NULL);
    struct conf_slice *copy = conf_slice_new();
    CHECK(conf_slice_copy(copy, s, err, sizeof(err)) == 0 && conf_slice_lines(copy) == 1);
    conf_slice_free(copy);
    conf_slice_free(s);
    for (size_t i = 0; i < sizeof(arena); i++)
        CHECK(arena[i] == 0);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chmod(dir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/pmirrord.conf", dir);
    test_directive_dest();
    test_capture_directives();
    test_agent_and_capture_slices();
    test_child_error_line();
    test_bad_file_sends_nothing();
    test_records_out_of_place();
    test_line_digest();
    test_reload_slice();
    test_arena();
    unlink(path);
    rmdir(dir);
    printf("test_conf_slice: OK\n");
    return 0;
}
