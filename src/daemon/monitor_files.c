/*
 * monitor_files.c - the files the monitor prepares, as root, for its
 * unprivileged children (docs/process-model.md): persistentDir given to the
 * agent's user, and pcap:FILE sources opened for the capture process.  Both
 * are checked first without changing anything (pm_monitor_check(), also for
 * `pmirrord -n`).
 */
#include "monitor.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmirrord/conf.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/log.h"
#include "pmirrord/sandbox.h"
#include "pmirrord/trigger.h"

/* Whether the directory open on fd holds only what pmirrord puts there:
 * regular files and the index directories Net-SNMP creates in its persistent
 * directory.  A shared directory (/var/lib) holds other subdirectories. */
static int only_regular_files(int fd, char *bad, size_t badlen)
{
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d != NULL)
        rewinddir(d); /* a dup shares the offset: read from the start */
    struct dirent *e;
    int ok = d != NULL;
    while (ok && (e = readdir(d)) != NULL) {
        struct stat fs;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fstatat(fd, e->d_name, &fs, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(fs.st_mode) &&
            (strcmp(e->d_name, "cert_indexes") == 0 || strcmp(e->d_name, "mib_indexes") == 0))
            continue;
        if (!S_ISREG(fs.st_mode)) {
            snprintf(bad, badlen, "%s", e->d_name);
            ok = 0;
        }
    }
    if (d != NULL)
        closedir(d);
    else if (dfd >= 0)
        close(dfd);
    return ok;
}

/* The first directory on the way to dir (dir included) that uid/gid may not
 * search (mode bits as the kernel applies them, no ACLs), into bad; 0 if none. */
static int unsearchable(const char *dir, uid_t uid, gid_t gid, char *bad, size_t badlen)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", dir);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && p[i] != '/')
            continue;
        char c = p[i];
        p[i] = '\0';
        struct stat st;
        int ok = stat(p, &st) == 0 && (st.st_mode & (st.st_uid == uid   ? S_IXUSR
                                                     : st.st_gid == gid ? S_IXGRP
                                                                        : S_IXOTH)) != 0;
        if (!ok) {
            snprintf(bad, badlen, "%s", p);
            return -1;
        }
        p[i] = c;
    }
    return 0;
}

/* The parent directory of path into out ("/" for "/x"). */
static void parent_of(const char *path, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", path);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == out)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
}

/*
 * persistentDir opened for reading or, when root may not read it and it is
 * already the agent's (0700: the systemd unit leaves the monitor no
 * CAP_DAC_READ_SEARCH, docs/systemd.md), as a path only (O_PATH, *readable
 * 0): its owner and mode are what is checked then, not its content.
 */
static int open_persistent(const char *dir, int *readable)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    *readable = fd >= 0;
    if (fd < 0 && errno == EACCES) {
        fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            errno = EACCES;
    }
    return fd;
}

/* "FILE:LINE: persistentDir DIR" (or without FILE:LINE for the default). */
static void where_of(const struct pm_conf *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%spersistentDir %s",
             c->persistent_dir_where[0] ? c->persistent_dir_where : "",
             c->persistent_dir_where[0] ? ": " : "", c->persistent_dir);
}

/*
 * The directory open on fd (st its fstat) can be the agent's: owned by root
 * or by uid, holding only pmirrord's files, every directory above it
 * searchable by uid/gid.  0, or -1 with "WHERE ..." in err.
 */
static int dir_can_be_agents(int fd, const struct stat *st, const struct pm_conf *c, uid_t uid,
                             gid_t gid, char *err, size_t errlen)
{
    char where[2 * PM_PATH_MAX + 64], bad[PM_PATH_MAX] = "", parent[PM_PATH_MAX];
    where_of(c, where, sizeof(where));
    if (st->st_uid != 0 && st->st_uid != uid)
        return pm_err(err, errlen,
                      "%s is owned by uid %u: give pmirrord a directory of its own (owned by "
                      "root or by the agent's user, uid %u)",
                      where, (unsigned)st->st_uid, (unsigned)uid);
    if (fd >= 0 && !only_regular_files(fd, bad, sizeof(bad)))
        return pm_err(err, errlen,
                      "%s holds \"%s\", which pmirrord did not put there: it does not look like "
                      "pmirrord's own directory, and pmirrord gives that directory to its agent's "
                      "user; name a directory of its own",
                      where, bad);
    /* The agent runs as that user: every directory on the way must let it in. */
    parent_of(c->persistent_dir, parent, sizeof(parent));
    if (unsearchable(parent, uid, gid, bad, sizeof(bad)) < 0)
        return pm_err(err, errlen,
                      "%s: the agent's user (uid %u) cannot reach it: %s is not searchable by "
                      "it (chmod o+x, or put persistentDir elsewhere)",
                      where, (unsigned)uid, bad);
    return 0;
}

/* Taken over once, from root (a single-process pmirrord left its files
 * there): the files and Net-SNMP's index directories in it.  Never again
 * once the directory is the agent's: its user could have linked any file
 * there.  Each file is opened without following a link and given only if it
 * is a regular file with no other name. */
static void take_over_content(int fd, const char *dir, uid_t uid, gid_t gid)
{
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d != NULL)
        rewinddir(d); /* a dup shares the offset: read from the start */
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int ffd = openat(fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat fs;
        int ok = ffd >= 0 && fstat(ffd, &fs) == 0;
        if (ok && fs.st_uid == uid) {
            close(ffd);
            continue;
        }
        if (!ok || !((S_ISREG(fs.st_mode) && fs.st_nlink == 1) || S_ISDIR(fs.st_mode)) ||
            fchown(ffd, uid, gid) < 0)
            log_warnx("mon", "persistentDir %s: %s not taken over (not a plain file of root)", dir,
                      e->d_name);
        if (ffd >= 0)
            close(ffd);
    }
    if (d != NULL)
        closedir(d);
    else if (dfd >= 0)
        close(dfd);
}

int mon_persistent_dir(const struct pm_conf *c, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    const char *dir = c->persistent_dir;
    char where[2 * PM_PATH_MAX + 64];
    where_of(c, where, sizeof(where));
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return pm_err(err, errlen, "%s: %s", where, strerror(errno));
    int readable;
    int fd = open_persistent(dir, &readable);
    if (fd < 0)
        return pm_err(err, errlen, "%s: %s", where, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = pm_err(err, errlen, "%s: %s", where, strerror(errno));
    else if (geteuid() != 0) /* no separation: the children run as we do */
        rc = 0;
    else if (!readable && (st.st_uid != uid || (st.st_mode & 07777) != 0700))
        rc = pm_err(err, errlen, "%s: %s (not the agent's own directory, mode 0700)", where,
                    strerror(EACCES));
    else if (!readable) /* the agent's already: nothing to give */
        rc = 0;
    else if (dir_can_be_agents(fd, &st, c, uid, gid, err, errlen) < 0)
        rc = -1;
    else if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
        rc = pm_err(err, errlen, "%s: %s", where, strerror(errno));
    else if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
        rc = pm_err(err, errlen, "%s: %s", where, strerror(errno));
    else if (st.st_uid == 0 && uid != 0) {
        take_over_content(fd, dir, uid, gid);
        log_info("mon", "persistentDir %s given to the agent's user, mode 0700", dir);
    }
    close(fd);
    return rc;
}

int mon_open_pcap(const char *where, const char *path, char *err, size_t errlen)
{
    /* Root opens it for an unprivileged reader: a regular file only (never a
     * FIFO that would hang the monitor, a device or a link to another name),
     * opened without blocking, then checked. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return pm_err(err, errlen, "%s: capture pcap:%s: %s", where, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        close(fd);
        return pm_err(err, errlen,
                      "%s: capture pcap:%s: not a regular file with one name (a FIFO, a device "
                      "or a hard link is refused)",
                      where, path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        close(fd);
        return pm_err(err, errlen, "%s: capture pcap:%s: %s", where, path, strerror(errno));
    }
    return fd;
}

/* mirrorInterface and mirrorSource as the capture process will use them (jm_sock.c): an
 * interface that does not exist or an address that is not this host's keeps the daemon
 * from starting, so `-n` says so with FILE:LINE rather than the capture process later
 * without one. */
static int check_mirror(const struct pm_mirror_conf *m, char *err, size_t errlen)
{
    if (m->ifname[0] != '\0' && if_nametoindex(m->ifname) == 0)
        return pm_err(err, errlen, "%s: mirrorInterface %s: %s", m->ifname_where, m->ifname,
                      strerror(errno));
    for (int fam = 0; fam < 2; fam++) {
        if (!(fam == 0 ? m->has_src4 : m->has_src6))
            continue;
        struct sockaddr_storage ss;
        socklen_t len;
        memset(&ss, 0, sizeof(ss));
        if (fam == 0) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            s4->sin_family = AF_INET;
            memcpy(&s4->sin_addr, m->src4, 4);
            len = sizeof(*s4);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            s6->sin6_family = AF_INET6;
            memcpy(&s6->sin6_addr, m->src6, 16);
            len = sizeof(*s6);
        }
        int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue; /* no such family here: the capture process says so */
        if (bind(fd, (struct sockaddr *)&ss, len) < 0 && errno == EADDRNOTAVAIL) {
            int e = errno;
            close(fd);
            char a[INET6_ADDRSTRLEN];
            inet_ntop(ss.ss_family, fam == 0 ? (const void *)m->src4 : (const void *)m->src6, a,
                      sizeof(a));
            return pm_err(err, errlen, "%s: mirrorSource %s is not an address of this host (%s)",
                          fam == 0 ? m->src4_where : m->src6_where, a, strerror(e));
        }
        close(fd);
    }
    return 0;
}

/* Rules of the file that are accepted and cannot work: said at `-n` and at start-up, by
 * FILE:LINE and word position only (a rule's interface or analyzer is intercept data,
 * never in a log line). */
static void warn_mirror_rules(const struct pm_conf *c)
{
    for (size_t i = 0; i < c->ntriggers; i++) {
        const struct pm_trigger *t = &c->triggers[i].rule;
        int captured = 0;
        for (size_t k = 0; t->type == TRIG_INTERFACE && k < c->ncaptures; k++)
            captured |=
                !c->captures[k].spec.offline && strcmp(c->captures[k].spec.src, t->text) == 0;
        if (t->type == TRIG_INTERFACE && !captured)
            log_warnx("conf",
                      "%s: mirror interface: word 3 is not the interface of a `capture` line: "
                      "the rule mirrors nothing (CliTriggerBasedMirroringFailure)",
                      c->triggers[i].where);
        if (t->analyzer.port < 1024)
            log_warnx("conf",
                      "%s: mirror: the analyzer's port is below 1024, which the capture process "
                      "may not bind: its datagrams leave from another source port "
                      "(docs/jmirror.md, \"Sockets and the sandbox\")",
                      c->triggers[i].where);
    }
}

int pm_monitor_check(const struct pm_conf *c, char *err, size_t errlen)
{
    if (check_mirror(&c->mirror, err, errlen) < 0)
        return -1;
    warn_mirror_rules(c);
    for (size_t i = 0; i < c->ncaptures; i++) {
        if (!c->captures[i].spec.offline)
            continue;
        int fd = mon_open_pcap(c->captures[i].where, c->captures[i].spec.src, err, errlen);
        if (fd < 0)
            return -1;
        close(fd);
    }
    if (geteuid() != 0)
        return 0; /* no separation: the children run as we do */
    uid_t uid;
    gid_t gid;
    char why[256], where[2 * PM_PATH_MAX + 64];
    if (sbx_resolve_user(MON_AGENT_USER, &uid, &gid, why, sizeof(why)) < 0)
        return 0; /* said at start-up; the agent then runs as we do */
    where_of(c, where, sizeof(where));
    int readable;
    int fd = open_persistent(c->persistent_dir, &readable);
    struct stat st;
    if (fd < 0) {
        if (errno != ENOENT)
            return pm_err(err, errlen, "%s: %s", where, strerror(errno));
        st.st_uid = 0; /* to be made by root: only the way to it matters */
    } else if (fstat(fd, &st) < 0) {
        close(fd);
        return pm_err(err, errlen, "%s: %s", where, strerror(errno));
    }
    int rc;
    if (fd >= 0 && !readable && st.st_uid != uid)
        rc = pm_err(err, errlen, "%s: %s", where, strerror(EACCES));
    else
        rc = dir_can_be_agents(fd >= 0 && readable ? fd : -1, &st, c, uid, gid, err, errlen);
    if (fd >= 0)
        close(fd);
    return rc;
}
