/*
 * test_rtconf.c - runtime.conf (rtconf.h): the master keys derived by the
 * parse (RFC 3414 §A.3 vector, Net-SNMP's generate_Ku()), a trap host written
 * with its keys and read back as the same USM user without its passphrases,
 * pm_write_atomic() (mode 0600, an interrupted write leaves the old file
 * whole), and conf_load_more() (only trapHost, mirror, no mirror; errors name
 * NAME:LINE; a removal that finds nothing is skipped).
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config/conf_lex.h"
#include "daemon/rtconf.h"
#include "pmirrord/conf.h"
#include "pmirrord/fsutil.h"

static char err[1024];

static int parse_line(struct pm_traphost_conf *h, const char *text)
{
    char copy[2048], *argv[CONF_MAX_WORDS];
    snprintf(copy, sizeof(copy), "%s", text);
    int argc = conf_split(copy, argv, CONF_MAX_WORDS, err, sizeof(err));
    CHECK(argc > 0);
    return conf_parse_traphost(h, argc, argv, "t.conf:3", err, sizeof(err));
}

static void test_keys(void)
{
    static const uint8_t maplesyrup_sha1[20] = {0x9f, 0xb5, 0xcc, 0x03, 0x81, 0x49, 0x7b,
                                                0x37, 0x93, 0x52, 0x89, 0x39, 0xff, 0x78,
                                                0x8d, 0x5d, 0x79, 0x14, 0x52, 0x11};
    struct pm_traphost_conf h;
    /* RFC 3414 §A.3.2: "maplesyrup" with SHA-1 */
    CHECK(parse_line(&h, "trapHost 127.0.0.9 user u auth SHA-1 maplesyrup priv AES maplesyrup") ==
          0);
    CHECK(h.auth_ku_len == 20 && memcmp(h.auth_ku, maplesyrup_sha1, 20) == 0);
    CHECK(h.priv_ku_len == 20 && memcmp(h.priv_ku, maplesyrup_sha1, 20) == 0);

    /* the SHA-2 protocols as Net-SNMP derives them (RFC 7860) */
    static const struct {
        const char *name;
        const oid *proto;
        size_t len;
    } p[] = {{"SHA-256", usmHMAC192SHA256AuthProtocol, 32},
             {"SHA-512", usmHMAC384SHA512AuthProtocol, 64}};
    for (size_t i = 0; i < 2; i++) {
        char line[256];
        u_char ku[USM_AUTH_KU_LEN];
        size_t kulen = sizeof(ku);
        snprintf(line, sizeof(line),
                 "trapHost 127.0.0.9 user u auth %s authpass-%zu priv AES-256 "
                 "privpass-%zu",
                 p[i].name, i, i);
        CHECK(parse_line(&h, line) == 0);
        char pass[32];
        snprintf(pass, sizeof(pass), "privpass-%zu", i);
        CHECK(generate_Ku(p[i].proto, USM_AUTH_PROTO_SHA_LEN, (u_char *)pass, strlen(pass), ku,
                          &kulen) == SNMPERR_SUCCESS);
        CHECK(kulen == p[i].len && h.priv_ku_len == kulen && memcmp(h.priv_ku, ku, kulen) == 0);
    }

    /* a key of the wrong length, a passphrase and a key for one protocol */
    CHECK(parse_line(&h, "trapHost 127.0.0.9 user u authKey SHA-256 0x0102 priv AES privpass-1") <
          0);
    CHECK(strstr(err, "authKey must be 32 octets") != NULL);
    CHECK(parse_line(&h, "trapHost 127.0.0.9 user u auth SHA-256 authpass-1 authKey SHA-256 "
                         "0x01 priv AES privpass-1") < 0);
}

static void test_host_line(void)
{
    struct pm_traphost_conf a, b;
    char line[1200];
    CHECK(parse_line(&a, "trapHost 127.0.0.9:1162 user \"trap user\" auth SHA-256 Auth-Secret-1 "
                         "priv AES-192 Priv-Secret-1 inform engineId 0x8000000001020304 "
                         "severity 5 queueSize 32 drainRate 10 queueFull dropFirstIn timeout 2 "
                         "retries 3") == 0);
    CHECK(rtconf_host_line(&a, line, sizeof(line)) > 0);
    CHECK(strstr(line, "Auth-Secret-1") == NULL && strstr(line, "Priv-Secret-1") == NULL);
    CHECK(strstr(line, " authKey SHA-256 0x") != NULL && strstr(line, " privKey AES-192 0x"));
    CHECK(parse_line(&b, line) == 0);
    CHECK(b.auth_pass[0] == '\0' && b.priv_pass[0] == '\0');
    CHECK(strcmp(a.transport, b.transport) == 0 && strcmp(b.user, "trap user") == 0);
    CHECK(b.auth == a.auth && b.priv == a.priv && b.inform && b.engine_id_len == 8);
    CHECK(b.severity == 5 && b.queue_size == 32 && b.drain_rate == 10 &&
          b.queue_full == TH_DROP_FIRST_IN && b.timeout_s == 2 && b.retries == 3);
    CHECK(b.auth_ku_len == a.auth_ku_len && memcmp(a.auth_ku, b.auth_ku, a.auth_ku_len) == 0);
    CHECK(b.priv_ku_len == a.priv_ku_len && memcmp(a.priv_ku, b.priv_ku, a.priv_ku_len) == 0);
    /* the same USM user: the same credentials digest, no conflict for another address */
    CHECK(memcmp(a.cred_digest, b.cred_digest, sizeof(a.cred_digest)) == 0);
    snprintf(b.transport, sizeof(b.transport), "udp:127.0.0.10:162");
    char msg[400];
    CHECK(conf_traphost_conflict(&a, &b, msg, sizeof(msg)) == 0);
    /* a user name that cannot be written back */
    snprintf(a.user, sizeof(a.user), "a \"b");
    CHECK(rtconf_host_line(&a, line, sizeof(line)) < 0);
}

static void read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static size_t count_tmp(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, ".runtime.conf.tmp.", 18) == 0;
    closedir(d);
    return n;
}

static void test_atomic(void)
{
    char dir[] = "/tmp/pm_rtconf_XXXXXX", path[PATH_MAX], buf[256];
    struct stat st;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/runtime.conf", dir);
    mode_t old = umask(0); /* the mode must not depend on the umask */
    CHECK(pm_write_atomic(dir, "runtime.conf", "first\n", 6, 0600, err, sizeof(err)) == 0);
    umask(old);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    read_file(path, buf, sizeof(buf));
    CHECK(strcmp(buf, "first\n") == 0);
    /* interrupted before the rename: the old file stands whole */
    pm_write_atomic_test_crash = 1;
    CHECK(pm_write_atomic(dir, "runtime.conf", "second\n", 7, 0600, err, sizeof(err)) < 0);
    read_file(path, buf, sizeof(buf));
    CHECK(strcmp(buf, "first\n") == 0);
    CHECK(count_tmp(dir) == 1);
    /* the next write replaces it despite the stray temporary file */
    CHECK(pm_write_atomic(dir, "runtime.conf", "third\n", 6, 0600, err, sizeof(err)) == 0);
    read_file(path, buf, sizeof(buf));
    CHECK(strcmp(buf, "third\n") == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    /* a directory that is not there */
    CHECK(pm_write_atomic("/nonexistent-pm-dir", "runtime.conf", "x", 1, 0600, err, sizeof(err)) <
          0);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static int lines_seen;
static int on_line(void *arg, unsigned dest, int line, const char *directive, const char *text)
{
    lines_seen++;
    return 0;
}

static void test_load_more(void)
{
    static const char file[] =
        "mirror username alice analyzer 127.0.0.5:3000 id 7\n"
        "mirror username bob analyzer 127.0.0.5:3000 id 8\n"
        "trapHost 127.0.0.9 user u auth SHA-256 authpass-1 priv AES privpass-1\n";
    struct pm_conf c;
    struct pm_traphost_conf h;
    char line[1200], rt[4096];
    CHECK(conf_load_buffer("f.conf", file, sizeof(file) - 1, &c, err, sizeof(err)) == 0);
    CHECK(parse_line(&h, "trapHost 127.0.0.10:1162 user u auth SHA-256 authpass-1 priv AES "
                         "privpass-1") == 0);
    CHECK(rtconf_host_line(&h, line, sizeof(line)) > 0);
    snprintf(rt, sizeof(rt),
             "# comment\n"
             "no mirror username alice id 7\n"
             "no mirror username carol id 9\n" /* gone from the file since: skipped */
             "%s\n"
             "mirror username dave analyzer 127.0.0.6:3000 id 10\n",
             line);
    lines_seen = 0;
    CHECK(conf_load_more("/d/runtime.conf", rt, strlen(rt), &c, on_line, NULL, err, sizeof(err)) ==
          0);
    CHECK(lines_seen == 3);
    CHECK(c.ntriggers == 2 && strcmp(c.triggers[0].rule.text, "bob") == 0);
    CHECK(strcmp(c.triggers[1].where, "/d/runtime.conf:5") == 0);
    CHECK(c.nhosts == 2 && strcmp(c.hosts[1].where, "/d/runtime.conf:4") == 0);
    /* the same user and passphrases as the file's host: no conflict */
    CHECK(memcmp(c.hosts[0].cred_digest, c.hosts[1].cred_digest, 32) == 0);

    /* only objects belong there; errors name the file and the line */
    static const char bad1[] = "\nagentXSocket /x\n";
    CHECK(conf_load_more("/d/runtime.conf", bad1, sizeof(bad1) - 1, &c, NULL, NULL, err,
                         sizeof(err)) < 0);
    CHECK(strncmp(err, "/d/runtime.conf:2: agentXSocket: only", 37) == 0);
    static const char bad2[] = "mirror username bob analyzer 127.0.0.5:3000 id 8\n";
    CHECK(conf_load_more("/d/runtime.conf", bad2, sizeof(bad2) - 1, &c, NULL, NULL, err,
                         sizeof(err)) < 0);
    CHECK(strstr(err, "/d/runtime.conf:1: mirror: the same trigger") == err);
    static const char bad3[] = "trapHost 127.0.0.9 user u auth SHA-256 authpass-1 priv AES "
                               "privpass-1\n";
    CHECK(conf_load_more("/d/runtime.conf", bad3, sizeof(bad3) - 1, &c, NULL, NULL, err,
                         sizeof(err)) < 0);
    CHECK(strstr(err, "already defined at f.conf:3") != NULL);
    /* no trapHost: the file's host at that address (any spelling) goes; none there: skipped */
    static const char nohost[] = "no trapHost 127.0.0.9:162\nno trapHost 127.0.0.77\n";
    lines_seen = 0;
    CHECK(conf_load_more("/d/runtime.conf", nohost, sizeof(nohost) - 1, &c, on_line, NULL, err,
                         sizeof(err)) == 0);
    CHECK(lines_seen == 1 && c.nhosts == 1 && strcmp(c.hosts[0].where, "/d/runtime.conf:4") == 0);
    static const char nohost_bad[] = "no trapHost nowhere\n";
    CHECK(conf_load_more("/d/runtime.conf", nohost_bad, sizeof(nohost_bad) - 1, &c, NULL, NULL, err,
                         sizeof(err)) < 0);
    CHECK(strstr(err, "/d/runtime.conf:1: no trapHost: ") == err);

    conf_free(&c);

    /* in the configuration file, a no trapHost that matches nothing is an error */
    static const char nofile[] = "trapHost 127.0.0.9 user u auth SHA-256 authpass-1 priv AES "
                                 "privpass-1\nno trapHost 127.0.0.9\nno trapHost 127.0.0.9\n";
    CHECK(conf_load_buffer("f.conf", nofile, sizeof(nofile) - 1, &c, err, sizeof(err)) < 0);
    CHECK(strstr(err, "f.conf:3: no trapHost: no earlier trapHost line") == err);

    /* persistRuntimeChanges: off by default, on/off parsed */
    static const char on[] = "persistRuntimeChanges on\n";
    conf_defaults(&c);
    CHECK(c.persist_runtime == 0);
    CHECK(conf_load_buffer("f.conf", on, sizeof(on) - 1, &c, err, sizeof(err)) == 0);
    CHECK(c.persist_runtime == 1 && strcmp(c.persist_runtime_where, "f.conf:1") == 0);
    conf_free(&c);
    static const char bad[] = "persistRuntimeChanges maybe\n";
    CHECK(conf_load_buffer("f.conf", bad, sizeof(bad) - 1, &c, err, sizeof(err)) < 0);
    CHECK(conf_directive_dest("persistRuntimeChanges") == CONF_DEST_AGENT);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0);
    CHECK(chmod(path, mode) == 0);
}

/* rtconf_start() reads DIR/runtime.conf into the configuration; a reload keeps
 * the file's rules removed at run time removed (rtconf_reload_filter()). */
static void test_start_and_reload(void)
{
    char dir[] = "/tmp/pm_rtconf_XXXXXX", path[PATH_MAX], text[1024], cmd[PATH_MAX + 16];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/runtime.conf", dir);
    snprintf(text, sizeof(text),
             "persistentDir %s\npersistRuntimeChanges on\n"
             "mirror username alice analyzer 127.0.0.5:3000 id 7\n"
             "mirror username bob analyzer 127.0.0.5:3000 id 8\n"
             "trapHost 127.0.0.9 user u auth SHA-256 authpass-1 priv AES privpass-1\n",
             dir);
    struct pm_conf c;

    /* no file: nothing read */
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) == 0 && c.ntriggers == 2);
    rtconf_stop();
    conf_free(&c);

    write_file(path,
               "no mirror username alice id 7\nno trapHost 127.0.0.9\n"
               "mirror username carol analyzer 127.0.0.5:3000 id 9\n",
               0600);
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) == 0);
    CHECK(rtconf_enabled());
    CHECK(c.ntriggers == 2 && strcmp(c.triggers[0].rule.text, "bob") == 0 &&
          strcmp(c.triggers[1].rule.text, "carol") == 0);
    char want[PATH_MAX + 8];
    CHECK(c.nhosts == 0);
    snprintf(want, sizeof(want), "%s:3", path);
    CHECK(strcmp(c.triggers[1].where, want) == 0);
    conf_free(&c);
    /* the file read again by a reload: alice stays removed */
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(c.nhosts == 1);
    CHECK(rtconf_reload_filter(&c) == 1 && c.nhosts == 0 && c.ntriggers == 1 &&
          strcmp(c.triggers[0].rule.text, "bob") == 0);
    conf_free(&c);
    rtconf_stop();

    /* off: the file is not read */
    char off[1024];
    snprintf(off, sizeof(off),
             "persistentDir %s\nmirror username alice analyzer 127.0.0.5:3000 "
             "id 7\n",
             dir);
    CHECK(conf_load_buffer("f.conf", off, strlen(off), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) == 0 && !rtconf_enabled() && c.ntriggers == 1);
    CHECK(rtconf_reload_filter(&c) == 0);
    rtconf_stop();
    conf_free(&c);

    /* a file others may read, or with an error, stops the start naming it */
    write_file(path, "mirror username carol analyzer 127.0.0.5:3000 id 9\n", 0644);
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) < 0 && strstr(err, "mode 0600") != NULL);
    rtconf_stop();
    conf_free(&c);
    write_file(path, "\n\nmirror username carol analyzer 127.0.0.5 id 9\n", 0600);
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "%s:3: ", path);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    rtconf_stop();
    conf_free(&c);
    /* a run-time host with a queue larger than budgeted */
    struct pm_traphost_conf h;
    char line[1200];
    CHECK(parse_line(&h, "trapHost 127.0.0.10 user u auth SHA-256 authpass-1 priv AES privpass-1 "
                         "queueSize 64") == 0);
    CHECK(rtconf_host_line(&h, line, sizeof(line)) > 0);
    strcat(line, "\n");
    write_file(path, line, 0600);
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) < 0 && strstr(err, "queueSize 64") != NULL);
    rtconf_stop();
    conf_free(&c);

    /* a runtime.conf with a second name is refused (the rewrite would leave
     * the keys under the other one) */
    char other[PATH_MAX + 16], stale[PATH_MAX + 32];
    write_file(path, "mirror username carol analyzer 127.0.0.5:3000 id 9\n", 0600);
    snprintf(other, sizeof(other), "%s/copy", dir);
    CHECK(link(path, other) == 0);
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) < 0 && strstr(err, "one name") != NULL);
    rtconf_stop();
    conf_free(&c);
    CHECK(unlink(other) == 0);

    /* a FIFO in its place is refused, not waited on */
    CHECK(unlink(path) == 0 && mkfifo(path, 0600) == 0);
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) < 0 && strstr(err, "regular file") != NULL);
    rtconf_stop();
    conf_free(&c);
    CHECK(unlink(path) == 0);
    write_file(path, "mirror username carol analyzer 127.0.0.5:3000 id 9\n", 0600);

    /* the temporary copy a crash left before its rename is removed at start */
    snprintf(stale, sizeof(stale), "%s/.runtime.conf.tmp.99999.0", dir);
    write_file(stale, "mirror username dave analyzer 127.0.0.5:3000 id 10\n", 0600);
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) == 0);
    CHECK(access(stale, F_OK) < 0);
    rtconf_stop();
    conf_free(&c);

    /* a line longer than what is kept of it: refused, not kept cut (this
     * `no mirror` cut before its id would remove every rule for alice) */
    {
        char longline[RTCONF_LINE_MAX + 64];
        int k = snprintf(longline, sizeof(longline), "\n%s", "no mirror username alice");
        memset(longline + k, ' ', RTCONF_LINE_MAX);
        snprintf(longline + k + RTCONF_LINE_MAX, sizeof(longline) - (size_t)k - RTCONF_LINE_MAX,
                 "id 7\n");
        write_file(path, longline, 0600);
        CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
        CHECK(rtconf_start(&c, err, sizeof(err)) < 0);
        char want2[PATH_MAX + 32];
        snprintf(want2, sizeof(want2), "%s:2: line longer", path);
        CHECK(strncmp(err, want2, strlen(want2)) == 0);
        rtconf_stop();
        conf_free(&c);
    }

    /* a removal beyond what the file keeps is not silently dropped: the answer
     * says it is not kept (the object would come back at the next start) */
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(unlink(path) == 0);
    CHECK(rtconf_start(&c, err, sizeof(err)) == 0);
    int from_file = 0, failed = 0;
    for (unsigned port = 1; port <= 1000 && !failed; port++) {
        char tr[64];
        snprintf(tr, sizeof(tr), "udp:127.0.0.1:%u", port);
        failed = rtconf_host_removed(tr, &from_file, err, sizeof(err)) < 0;
    }
    CHECK(failed && strstr(err, "not kept") != NULL);
    rtconf_stop();
    conf_free(&c);

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* `show mirror running-config`'s settings: an engineId of 32 octets (the
 * most) is written in full, not one octet past the buffer (ASan). */
static void test_note_long_engine_id(void)
{
    char text[256] = "engineId 0x";
    for (int i = 0; i < 32; i++)
        strcat(text, "ab");
    strcat(text, "\n");
    struct pm_conf c;
    CHECK(conf_load_buffer("f.conf", text, strlen(text), &c, err, sizeof(err)) == 0);
    CHECK(c.engine_id_len == 32);
    rtconf_note_conf(&c);
    conf_free(&c);
}

/* a user name with a control character is not written: \n would end the
 * line and \v split the word, and the next start would stop on the file */
static void test_host_line_control(void)
{
    static const char *const users[] = {"a\vb", "a\nb", "a\rb", "a\tb"};
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        char *argv[] = {(char *)"trapHost",   (char *)"127.0.0.9", (char *)"user",
                        (char *)users[i],     (char *)"auth",      (char *)"SHA-256",
                        (char *)"authpass-1", (char *)"priv",      (char *)"AES",
                        (char *)"privpass-1"};
        struct pm_traphost_conf h;
        char line[1200];
        CHECK(conf_parse_traphost(&h, 10, argv, "t.conf:1", err, sizeof(err)) == 0);
        CHECK(rtconf_host_line(&h, line, sizeof(line)) < 0);
    }
}

int main(void)
{
    test_host_line_control();
    test_note_long_engine_id();
    test_start_and_reload();
    test_keys();
    test_host_line();
    test_atomic();
    test_load_more();
    printf("test_rtconf: ok\n");
    return 0;
}
