/*
 * rtconf.c - runtime.conf: run-time trap hosts and triggers kept on disk
 * (see rtconf.h), and `show mirror running-config`.
 */
#include "rtconf.h"
#include "memlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config/conf_lex.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/escape.h"
#include "pmirrord/fsutil.h"
#include "pmirrord/log.h"
#include "pmirrord/pm_codec.h"
#include "pmirrord/trapstats.h"

#define RT_LINE_MAX   RTCONF_LINE_MAX
#define RT_FILE_MAX   (8u << 20) /* runtime.conf larger than this is refused */
#define RT_SETTINGS   40         /* settings lines shown */
#define RT_WHERE_MAX  (PM_PATH_MAX + 16)
#define RT_RUNTIME_BY "run time by uid " /* commands.c: where of a host added at run time */

struct rt_host {
    char transport[160];
    char line[RT_LINE_MAX]; /* holds the keys: wiped */
};

struct rt_setting {
    char text[600];
    char where[RT_WHERE_MAX];
};

static struct {
    pthread_mutex_t mu;
    int enabled;
    char dir[PM_PATH_MAX];
    char path[PM_PATH_MAX + 32]; /* DIR/runtime.conf: the name in errors and where */
    struct rt_host hosts[PM_MAX_TRAPHOSTS];
    size_t nhosts;
    char (*dels)[RT_LINE_MAX]; /* `no mirror` and `no trapHost` lines, dels_cap at most */
    size_t dels_cap; /* the file's rules (maxTriggers at the start) and hosts: locked memory */
    size_t ndels;
    int dels_full; /* a removal was not kept: every save says so */
    struct trig_table *triggers;
    struct rt_setting settings[RT_SETTINGS];
    size_t nsettings;
} rt = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char *auth_name(enum th_auth a)
{
    return conf_traphost_auth_name((int)a);
}

static const char *priv_name(enum th_priv p)
{
    return conf_traphost_priv_name((int)p);
}

static int put(char *buf, size_t cap, size_t *n, const char *fmt, ...) PM_PRINTF(4, 5);
static int put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = *n < cap ? vsnprintf(buf + *n, cap - *n, fmt, ap) : -1;
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *n)
        return -1;
    *n += (size_t)k;
    return 0;
}

static int put_hex(char *buf, size_t cap, size_t *n, const uint8_t *v, size_t len)
{
    if (put(buf, cap, n, " 0x") < 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (put(buf, cap, n, "%02x", v[i]) < 0)
            return -1;
    return 0;
}

/* A word as conf_split() reads it back: quoted if it has a blank or a '#'. */
static int put_word(char *buf, size_t cap, size_t *n, const char *w)
{
    /* a control character would end the line (\n, \r) or split the word
     * (\v, \f, which conf_split() takes as blanks): the next start would fail */
    for (const unsigned char *c = (const unsigned char *)w; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f)
            return -1;
    int blank = w[0] == '\0' || w[0] == '"' || strpbrk(w, " #") != NULL;
    if (blank && strchr(w, '"') != NULL)
        return -1;
    return put(buf, cap, n, blank ? " \"%s\"" : " %s", w);
}

/* The trapHost line; keys as "<hidden>" when hide. */
static int host_line(const struct pm_traphost_conf *hc, int hide, char *buf, size_t cap)
{
    size_t n = 0;
    int rc = put(buf, cap, &n, "trapHost");
    rc |= put_word(buf, cap, &n, hc->address);
    rc |= put(buf, cap, &n, " user");
    rc |= put_word(buf, cap, &n, hc->user);
    rc |= put(buf, cap, &n, " authKey %s", auth_name(hc->auth));
    rc |=
        hide ? put(buf, cap, &n, " <hidden>") : put_hex(buf, cap, &n, hc->auth_ku, hc->auth_ku_len);
    rc |= put(buf, cap, &n, " privKey %s", priv_name(hc->priv));
    rc |=
        hide ? put(buf, cap, &n, " <hidden>") : put_hex(buf, cap, &n, hc->priv_ku, hc->priv_ku_len);
    if (hc->inform) {
        rc |= put(buf, cap, &n, " inform");
        if (hc->engine_id_len > 0) {
            rc |= put(buf, cap, &n, " engineId");
            rc |= put_hex(buf, cap, &n, hc->engine_id, hc->engine_id_len);
        }
        rc |= put(buf, cap, &n, " timeout %u retries %u", hc->timeout_s, hc->retries);
    }
    rc |= put(buf, cap, &n, " severity %d queueSize %u drainRate %u queueFull %s", hc->severity,
              hc->queue_size, hc->drain_rate,
              hc->queue_full == TH_DROP_FIRST_IN ? "dropFirstIn" : "dropLastIn");
    return rc < 0 ? -1 : (int)n;
}

int rtconf_host_line(const struct pm_traphost_conf *hc, char *buf, size_t cap)
{
    if (hc->auth_ku_len == 0 || hc->priv_ku_len == 0)
        return -1;
    return host_line(hc, 0, buf, cap);
}

/* Is where an object of runtime.conf ("DIR/runtime.conf:LINE")? */
static int from_rtfile(const char *where)
{
    size_t n = strlen(rt.path);
    return n > 0 && strncmp(where, rt.path, n) == 0 && where[n] == ':';
}

static int from_runtime(const char *where)
{
    return strcmp(where, TRIG_WHERE_CTL) == 0 || from_rtfile(where) ||
           strncmp(where, RT_RUNTIME_BY, strlen(RT_RUNTIME_BY)) == 0;
}

/* ---- settings shown ------------------------------------------------------------------------ */

static void setting(const char *where, const char *fmt, ...) PM_PRINTF(2, 3);
static void setting(const char *where, const char *fmt, ...)
{
    if (rt.nsettings == RT_SETTINGS)
        return;
    struct rt_setting *s = &rt.settings[rt.nsettings++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->text, sizeof(s->text), fmt, ap);
    va_end(ap);
    snprintf(s->where, sizeof(s->where), "%s", where);
}

void rtconf_note_conf(const struct pm_conf *c)
{
    struct pm_conf d;
    char hex[3 + 2 * sizeof(c->engine_id) + 1]; /* " 0x", the octets, NUL */
    conf_defaults(&d);
    /* Where a setting was read is known for some; for the others: the file if
     * the value is not the default, else "default". */
#define SRC(differs) ((differs) ? c->path : "default")
    pthread_mutex_lock(&rt.mu);
    rt.nsettings = 0;
    setting(SRC(strcmp(c->agentx_socket, d.agentx_socket)), "agentXSocket %s", c->agentx_socket);
    setting(SRC(c->agentx_ping_interval != d.agentx_ping_interval), "agentXPingInterval %u",
            c->agentx_ping_interval);
    setting(c->persistent_dir_where[0] ? c->persistent_dir_where : "default", "persistentDir %s",
            c->persistent_dir);
    if (c->engine_id_len > 0) {
        size_t n = 0;
        hex[0] = '\0';
        (void)put_hex(hex, sizeof(hex), &n, c->engine_id, c->engine_id_len);
        setting(c->path, "engineId%s", hex);
    }
    setting(c->trap_enable_where[0] ? c->trap_enable_where : "default", "trapEnable %s",
            c->trap_enable ? "on" : "off");
    setting(SRC(c->global_severity != d.global_severity), "globalTrapSeverity %d",
            c->global_severity);
    for (int i = 1; i <= 10; i++)
        if (c->trap_severity[i] != d.trap_severity[i])
            setting(c->path, "trapSeverity %s %d", pm_trap_name((enum pm_trap)i),
                    c->trap_severity[i]);
    setting(SRC(c->event_queue_size != d.event_queue_size), "eventQueueSize %u",
            c->event_queue_size);
    setting(SRC(c->secure_log_size != d.secure_log_size), "secureLogSize %u", c->secure_log_size);
    setting(SRC(c->mirror_log_size != d.mirror_log_size), "mirrorLogSize %u", c->mirror_log_size);
    setting(SRC(c->secure_log != d.secure_log), "secureLog %s", c->secure_log ? "on" : "off");
    setting(SRC(strcmp(c->control_socket, d.control_socket)), "controlSocket %s",
            c->control_socket);
    if (c->control_group[0])
        setting(c->path, "controlGroup %s", c->control_group);
    if (c->mirror_secret[0])
        setting(c->path, "mirrorSecret <hidden>");
    setting(SRC(c->max_triggers != d.max_triggers), "maxTriggers %u", c->max_triggers);
    setting(c->persist_runtime_where[0] ? c->persist_runtime_where : "default",
            "persistRuntimeChanges %s", c->persist_runtime ? "on" : "off");
    pthread_mutex_unlock(&rt.mu);
#undef SRC
    conf_free(&d);
}

/* ---- the file ------------------------------------------------------------------------------ */

static int add_host_locked(const struct pm_traphost_conf *hc)
{
    struct rt_host *h = NULL;
    for (size_t i = 0; i < rt.nhosts; i++)
        if (strcmp(rt.hosts[i].transport, hc->transport) == 0)
            h = &rt.hosts[i];
    if (h == NULL) {
        if (rt.nhosts == PM_MAX_TRAPHOSTS)
            return -1;
        h = &rt.hosts[rt.nhosts++];
    }
    snprintf(h->transport, sizeof(h->transport), "%s", hc->transport);
    if (rtconf_host_line(hc, h->line, sizeof(h->line)) < 0) {
        OPENSSL_cleanse(h, sizeof(*h));
        rt.nhosts--;
        return -1;
    }
    return 0;
}

static void add_del_locked(const char *line)
{
    for (size_t i = 0; i < rt.ndels; i++)
        if (strcmp(rt.dels[i], line) == 0)
            return;
    if (rt.dels == NULL || rt.ndels == rt.dels_cap) {
        rt.dels_full = 1; /* the removed object would come back at the next start */
        return;
    }
    snprintf(rt.dels[rt.ndels++], RT_LINE_MAX, "%s", line);
}

/* `no mirror TYPE VALUE id N` of a rule: its trig_format() line up to the analyzer. */
static int del_line(const struct pm_trigger *t, char *buf, size_t cap)
{
    char line[RT_LINE_MAX];
    char *an = NULL, *p = line;
    if (trig_format(t, line, sizeof(line)) < 0)
        return -1;
    while ((p = strstr(p, " analyzer ")) != NULL) /* the last one: VALUE comes before it */
        an = p++;
    int rc = -1;
    if (an != NULL) {
        *an = '\0';
        rc = snprintf(buf, cap, "no %s id %u", line, (unsigned)t->mirror_id) < (int)cap ? 0 : -1;
    }
    OPENSSL_cleanse(line, sizeof(line));
    return rc;
}

/* Writes the file from the state (rt.mu held). */
static int save_locked(char *err, size_t errlen)
{
    static const char head[] =
        "# pmirrord run-time changes (persistRuntimeChanges on): trap hosts and triggers added\n"
        "# or removed through pmirrorctl.  Written by the daemon; read at start after the\n"
        "# configuration file.  Trap hosts hold their USM master keys, never the passphrases.\n";
    size_t cap = sizeof(head) + (rt.nhosts + rt.ndels + 1) * (RT_LINE_MAX + 1), n = 0;
    size_t nt = 0;
    struct trig_entry *te = NULL;
    if (rt.triggers != NULL) {
        te = trig_table_copy(rt.triggers, &nt, NULL);
        if (te == NULL && nt > 0)
            return pm_err(err, errlen, "out of memory");
        cap += nt * (RT_LINE_MAX + 1);
    }
    char *buf = malloc(cap);
    int rc = -1;
    if (buf == NULL) {
        (void)pm_err(err, errlen, "out of memory");
        goto out;
    }
    memcpy(buf, head, sizeof(head) - 1);
    n = sizeof(head) - 1;
    for (size_t i = 0; i < rt.ndels; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s\n", rt.dels[i]);
    for (size_t i = 0; i < rt.nhosts; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s\n", rt.hosts[i].line);
    for (size_t i = 0; i < nt; i++) {
        if (!from_runtime(te[i].where))
            continue;
        int k = trig_format(&te[i].rule, buf + n, cap - n - 1);
        if (k < 0) {
            (void)pm_err(err, errlen, "a trigger cannot be written");
            goto out;
        }
        n += (size_t)k;
        buf[n++] = '\n';
    }
    rc = pm_write_atomic(rt.dir, RTCONF_NAME, buf, n, 0600, err, errlen);
    if (rc == 0 && rt.dels_full)
        rc = pm_err(err, errlen,
                    "more removals than %zu: the last ones are not kept in %s (restart to "
                    "drop the ones a reload made pointless)",
                    rt.dels_cap, RTCONF_NAME);
out:
    if (buf != NULL) { /* all of it: a trig_format() that failed wrote past n */
        OPENSSL_cleanse(buf, cap);
        free(buf);
    }
    if (te != NULL) {
        OPENSSL_cleanse(te, nt * sizeof(*te));
        free(te);
    }
    return rc;
}

static int save(char *err, size_t errlen)
{
    pthread_mutex_lock(&rt.mu);
    int rc = rt.enabled ? save_locked(err, errlen) : 0;
    pthread_mutex_unlock(&rt.mu);
    if (rc < 0)
        log_warnx("conf", "%s not written: %s", RTCONF_NAME, err);
    return rc;
}

/* conf_load_more()'s callback: the `no mirror` lines applied are kept as read. */
static int on_line(void *arg, unsigned dest, int line, const char *directive, const char *text)
{
    if (strcmp(directive, "no") == 0)
        add_del_locked(text);
    return 0;
}

static int load(struct pm_conf *c, char *err, size_t errlen)
{
    struct stat st;
    int dfd = open(rt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return pm_err(err, errlen, "%s: %s", rt.dir, strerror(errno));
    /* O_NONBLOCK: a FIFO put there would hang the start (refused below) */
    int fd = openat(dfd, RTCONF_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int e = errno;
    close(dfd);
    if (fd < 0 && e == ENOENT)
        return 0;
    if (fd < 0)
        return pm_err(err, errlen, "%s: %s", rt.path, strerror(e));
    /* one name only: a second one would keep the keys after the next rewrite */
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0 || st.st_nlink != 1 || st.st_size > (off_t)RT_FILE_MAX) {
        close(fd);
        return pm_err(err, errlen,
                      "%s: not a regular file of ours with one name, mode 0600, under %u octets; "
                      "move it away",
                      rt.path, RT_FILE_MAX);
    }
    size_t len = (size_t)st.st_size, got = 0;
    char *buf = malloc(len + 1);
    while (buf != NULL && got < len) {
        ssize_t k = read(fd, buf + got, len - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (buf == NULL || got != len) {
        if (buf != NULL) /* what was read of it: trigger values, keys */
            OPENSSL_cleanse(buf, got);
        free(buf);
        return pm_err(err, errlen, "%s: cannot read it", rt.path);
    }
    /* Its lines are kept (`no` lines) in RT_LINE_MAX: a longer one would be
     * kept cut, and a `no mirror` cut before its `id` removes more rules. */
    int rc = 0, lineno = 1;
    for (size_t i = 0, start = 0; rc == 0 && i <= len; i++) {
        if (i < len && buf[i] != '\n')
            continue;
        if (i - start >= RT_LINE_MAX)
            rc = pm_err(err, errlen, "%s:%d: line longer than %u characters", rt.path, lineno,
                        RT_LINE_MAX - 1);
        start = i + 1;
        lineno++;
    }
    if (rc == 0)
        rc = conf_load_more(rt.path, buf, len, c, on_line, NULL, err, errlen);
    OPENSSL_cleanse(buf, len);
    free(buf);
    /* runtime.conf's hosts, by their where: a `no trapHost` may have moved them */
    for (size_t i = 0; rc == 0 && i < c->nhosts; i++) {
        const struct pm_traphost_conf *h = &c->hosts[i];
        if (!from_rtfile(h->where))
            continue;
        /* locked memory is budgeted for run-time hosts of this size (memlock.h) */
        if (h->queue_size > PM_RUNTIME_QUEUE_MAX)
            rc = pm_err(err, errlen,
                        "%s: trapHost: queueSize %u is more than a run-time host "
                        "may have (%u)",
                        h->where, h->queue_size, PM_RUNTIME_QUEUE_MAX);
        else if (add_host_locked(h) < 0)
            rc = pm_err(err, errlen, "%s: trapHost: cannot be kept", h->where);
    }
    return rc;
}

/* pm_write_atomic()'s temporary files left by a crash before the rename: they
 * hold trigger values and keys that nothing would ever read or remove.  Only
 * regular files of ours. */
static void remove_stale_tmp(const char *dir)
{
    static const char prefix[] = "." RTCONF_NAME ".tmp.";
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int dfd2 = dfd >= 0 ? dup(dfd) : -1;
    DIR *d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
    struct dirent *e;
    size_t removed = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(e->d_name, prefix, sizeof(prefix) - 1) != 0 ||
            fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid())
            continue;
        if (unlinkat(dfd, e->d_name, 0) == 0)
            removed++;
    }
    if (d != NULL)
        closedir(d);
    else if (dfd2 >= 0)
        close(dfd2);
    if (dfd >= 0)
        close(dfd);
    if (removed > 0)
        log_info("conf", "%s: %zu unfinished copies of %s (left by a crash) removed", dir, removed,
                 RTCONF_NAME);
}

int rtconf_start(struct pm_conf *c, char *err, size_t errlen)
{
    rtconf_note_conf(c);
    pthread_mutex_lock(&rt.mu);
    rt.enabled = c->persist_runtime;
    snprintf(rt.dir, sizeof(rt.dir), "%s", c->persistent_dir);
    snprintf(rt.path, sizeof(rt.path), "%s/%s", c->persistent_dir, RTCONF_NAME);
    int rc = 0;
    remove_stale_tmp(rt.dir);
    if (rt.enabled) {
        /* a file holds at most maxTriggers rules (a reload may not raise it above
         * the start's, trig_table.h) and PM_MAX_TRAPHOSTS hosts */
        rt.dels_cap = (c->max_triggers > TRIG_DEFAULT_MAX ? c->max_triggers : TRIG_DEFAULT_MAX) +
                      PM_MAX_TRAPHOSTS;
        rt.dels = calloc(rt.dels_cap, sizeof(*rt.dels));
        if (rt.dels == NULL)
            rc = pm_err(err, errlen, "out of memory");
        else
            rc = load(c, err, errlen);
        if (rc == 0)
            log_info("conf",
                     "run-time changes are kept in %s (%zu trap hosts, %zu removals "
                     "of the configuration's objects read)",
                     rt.path, rt.nhosts, rt.ndels);
    } else if (access(rt.path, F_OK) == 0) {
        log_info("conf", "%s is not read: persistRuntimeChanges is off", rt.path);
    }
    pthread_mutex_unlock(&rt.mu);
    return rc;
}

void rtconf_stop(void)
{
    pthread_mutex_lock(&rt.mu);
    if (rt.dels != NULL) {
        OPENSSL_cleanse(rt.dels, rt.dels_cap * sizeof(*rt.dels));
        free(rt.dels);
    }
    rt.dels = NULL;
    rt.ndels = 0;
    rt.dels_full = 0;
    OPENSSL_cleanse(rt.hosts, sizeof(rt.hosts));
    rt.nhosts = 0;
    rt.triggers = NULL;
    rt.enabled = 0;
    pthread_mutex_unlock(&rt.mu);
}

int rtconf_enabled(void)
{
    pthread_mutex_lock(&rt.mu);
    int on = rt.enabled;
    pthread_mutex_unlock(&rt.mu);
    return on;
}

void rtconf_set_triggers(struct trig_table *t)
{
    pthread_mutex_lock(&rt.mu);
    rt.triggers = t;
    pthread_mutex_unlock(&rt.mu);
}

int rtconf_host_added(const struct pm_traphost_conf *hc, char *err, size_t errlen)
{
    pthread_mutex_lock(&rt.mu);
    int on = rt.enabled, rc = on ? add_host_locked(hc) : 0;
    pthread_mutex_unlock(&rt.mu);
    if (rc < 0)
        return pm_err(err, errlen,
                      "the host cannot be written (a user name with blanks and "
                      "quotes)");
    return on ? save(err, errlen) : 0;
}

/* "no trapHost ADDRESS" of a transport ("udp:A:P" -> "A:P", "udp6:[A]:P" -> "[A]:P"). */
static void no_host_line(const char *transport, char *buf, size_t cap)
{
    const char *a = strncmp(transport, "udp6:", 5) == 0  ? transport + 5
                    : strncmp(transport, "udp:", 4) == 0 ? transport + 4
                                                         : transport;
    snprintf(buf, cap, "no trapHost %s", a);
}

int rtconf_host_removed(const char *transport, int *from_file, char *err, size_t errlen)
{
    *from_file = 1;
    pthread_mutex_lock(&rt.mu);
    int on = rt.enabled;
    for (size_t i = 0; on && i < rt.nhosts; i++)
        if (strcmp(rt.hosts[i].transport, transport) == 0) {
            rt.hosts[i] = rt.hosts[rt.nhosts - 1];
            OPENSSL_cleanse(&rt.hosts[--rt.nhosts], sizeof(rt.hosts[0]));
            *from_file = 0;
            break;
        }
    if (on && *from_file) { /* the configuration file's: kept removed */
        char line[RT_LINE_MAX];
        no_host_line(transport, line, sizeof(line));
        add_del_locked(line);
    }
    pthread_mutex_unlock(&rt.mu);
    return on ? save(err, errlen) : 0;
}

void rtconf_trigger_removing(const struct pm_trigger_del *d)
{
    pthread_mutex_lock(&rt.mu);
    if (rt.enabled && rt.triggers != NULL) {
        size_t n = 0;
        struct trig_entry *te = trig_table_copy(rt.triggers, &n, NULL);
        for (size_t i = 0; te != NULL && i < n; i++) {
            char line[RT_LINE_MAX];
            if (!from_runtime(te[i].where) && trig_del_matches(d, &te[i].rule) &&
                del_line(&te[i].rule, line, sizeof(line)) == 0)
                add_del_locked(line);
            OPENSSL_cleanse(line, sizeof(line));
        }
        if (te != NULL) {
            OPENSSL_cleanse(te, n * sizeof(*te));
            free(te);
        }
    }
    pthread_mutex_unlock(&rt.mu);
}

int rtconf_triggers_changed(char *err, size_t errlen)
{
    return save(err, errlen);
}

size_t rtconf_reload_filter(struct pm_conf *next)
{
    size_t gone = 0;
    pthread_mutex_lock(&rt.mu);
    for (size_t i = 0; rt.enabled && i < rt.ndels; i++) {
        char copy[RT_LINE_MAX], *argv[CONF_MAX_WORDS], why[300];
        struct pm_trigger_del d;
        snprintf(copy, sizeof(copy), "%s", rt.dels[i]);
        int argc = conf_split(copy, argv, CONF_MAX_WORDS, why, sizeof(why));
        char transport[sizeof(next->hosts[0].transport)];
        memset(&d, 0, sizeof(d));
        if (argc == 3 && strcasecmp(argv[1], "trapHost") == 0) {
            if (conf_traphost_transport(argv[2], transport, sizeof(transport), why, sizeof(why)) ==
                0)
                for (size_t k = 0; k < next->nhosts; k++)
                    if (strcmp(next->hosts[k].transport, transport) == 0) {
                        memmove(&next->hosts[k], &next->hosts[k + 1],
                                (next->nhosts - k - 1) * sizeof(next->hosts[0]));
                        OPENSSL_cleanse(&next->hosts[--next->nhosts], sizeof(next->hosts[0]));
                        break;
                    }
        } else if (argc > 0 && trig_parse_del(&d, argc, argv, why, sizeof(why)) == 0) {
            size_t kept = 0, n = next->ntriggers;
            for (size_t k = 0; k < n; k++) {
                if (trig_del_matches(&d, &next->triggers[k].rule))
                    continue;
                if (kept != k)
                    next->triggers[kept] = next->triggers[k];
                kept++;
            }
            OPENSSL_cleanse(next->triggers + kept, (n - kept) * sizeof(*next->triggers));
            next->ntriggers = kept;
            gone += n - kept;
        }
        OPENSSL_cleanse(&d, sizeof(d));
        OPENSSL_cleanse(copy, sizeof(copy));
    }
    pthread_mutex_unlock(&rt.mu);
    return gone;
}

/* ---- show mirror running-config -------------------------------------------------------------- */

/* Where as shown: "pmirrorctl" for what was added at run time and not saved. */
static const char *shown_where(const char *where)
{
    return strncmp(where, RT_RUNTIME_BY, strlen(RT_RUNTIME_BY)) == 0 ? TRIG_WHERE_CTL : where;
}

static void row(struct ctl_reply *r, const char *line, const char *where)
{
    char esc[4 * RT_LINE_MAX], w[4 * RT_WHERE_MAX];
    pm_escape_text(esc, sizeof(esc), line, strlen(line));
    pm_escape(w, sizeof(w), where, strnlen(where, RT_WHERE_MAX));
    ctl_reply_row(r, esc, w, (char *)NULL);
    OPENSSL_cleanse(esc, sizeof(esc));
}

static int c_running_config(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    struct pm_trapstats *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        ctl_reply_error(r, "out of memory");
        return -1;
    }
    int have_st = pm_trapstats_get(st) == 0;
    pthread_mutex_lock(&rt.mu);
    ctl_reply_kv_bool(r, "persist_runtime_changes|persistRuntimeChanges", rt.enabled, "on", "off");
    /* where they are kept when on (not read, not written when off) */
    ctl_reply_kv(r, "runtime_file|Run-time changes file", "%s", rt.path);
    ctl_reply_table(r, "config", "line|Line", "source|Source", (char *)NULL);
    for (size_t i = 0; i < rt.nsettings; i++)
        row(r, rt.settings[i].text, rt.settings[i].where);
    for (size_t i = 0; i < rt.ndels; i++)
        row(r, rt.dels[i], rt.path);
    struct trig_table *tt = rt.triggers;
    pthread_mutex_unlock(&rt.mu);
    for (size_t i = 0; have_st && i < st->nhosts; i++) {
        const struct pm_trapstats_host *h = &st->hosts[i];
        struct pm_traphost_conf hc;
        char line[RT_LINE_MAX];
        memset(&hc, 0, sizeof(hc));
        snprintf(hc.address, sizeof(hc.address), "%s", h->address);
        snprintf(hc.user, sizeof(hc.user), "%s", h->user);
        hc.auth = (enum th_auth)h->auth;
        hc.priv = (enum th_priv)h->priv;
        hc.inform = h->inform;
        hc.severity = h->severity;
        hc.queue_size = h->queue_size;
        hc.drain_rate = h->drain_rate;
        hc.queue_full = h->queue_full;
        hc.timeout_s = h->timeout_s;
        hc.retries = h->retries;
        if (host_line(&hc, 1, line, sizeof(line)) < 0)
            snprintf(line, sizeof(line), "trapHost %s <hidden>", h->address);
        row(r, line, shown_where(h->where));
    }
    size_t n = 0;
    struct trig_entry *te = tt != NULL ? trig_table_copy(tt, &n, NULL) : NULL;
    for (size_t i = 0; te != NULL && i < n; i++) {
        char line[RT_LINE_MAX];
        if (trig_format(&te[i].rule, line, sizeof(line)) < 0)
            snprintf(line, sizeof(line), "mirror (a rule)");
        row(r, line, te[i].where);
        OPENSSL_cleanse(line, sizeof(line));
    }
    if (te != NULL) {
        OPENSSL_cleanse(te, n * sizeof(*te));
        free(te);
    }
    free(st);
    return 0;
}

int rtconf_register(struct ctl_server *s, char *err, size_t errlen)
{
    return ctl_server_add_command(s, "show mirror running-config", CTL_F_MIRROR,
                                  "Show the effective configuration of the agent: the file's "
                                  "settings, trap hosts and triggers, and the run-time changes, "
                                  "each with where it comes from (secrets as <hidden>)",
                                  c_running_config, NULL, err, errlen);
}
