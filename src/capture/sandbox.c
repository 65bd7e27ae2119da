/*
 * sandbox.c - privilege drop and seccomp allowlist of the capture process
 * (sandbox.h; docs/sandbox.md lists the allowed calls and why).
 *
 * Capabilities are read and set with the raw capget/capset system calls
 * (capget(2), version 3: two 32-bit words per set), so no libcap is needed.
 * The order of the drop follows capabilities(7): the bounding set is pruned
 * while CAP_SETPCAP is still effective; PR_SET_KEEPCAPS keeps the permitted
 * set across setresuid() away from uid 0 (the effective set is cleared by the
 * kernel there and raised again from the permitted set with capset);
 * setgroups() and setresgid() come before setresuid(), which gives up the
 * right to call them.
 */
#include "pmirrord/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/landlock.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"

#ifndef SOL_PACKET
#define SOL_PACKET 263
#endif

/* Landlock rights newer than the 6.1 uapi headers (ABI 3 and 5). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define SBX_KEEP_CAP  CAP_NET_RAW
#define SBX_KEEP_MASK (UINT64_C(1) << SBX_KEEP_CAP)

/* Directories the capture process may read below, once sandboxed: libpcap
 * looks at /sys/class/net/IF/ at activation, and those entries are symbolic
 * links into /sys/devices/ (docs/sandbox.md). */
static const char *const sbx_read_dirs[] = {"/sys/class/net", "/sys/devices"};

static int sbx_landlock_abi; /* in force in this process; 0 none */

int sbx_resolve_user(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int fell = 0;

    if (user == NULL || *user == '\0')
        return pm_err(err, errlen, "sandbox: no user name");
    errno = 0;
    if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
        if (!strcmp(user, SBX_FALLBACK_USER))
            return pm_err(err, errlen, "sandbox: user %s does not exist", user);
        if (getpwnam_r(SBX_FALLBACK_USER, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
            return pm_err(err, errlen, "sandbox: neither user %s nor %s exists", user,
                          SBX_FALLBACK_USER);
        pm_err(err, errlen, "sandbox: user %s does not exist; running as %s", user,
               SBX_FALLBACK_USER);
        fell = 1;
    }
    if (res->pw_uid == 0 || res->pw_gid == 0)
        return pm_err(err, errlen, "sandbox: user %s has uid or gid 0; refusing it", res->pw_name);
    *uid = res->pw_uid;
    *gid = res->pw_gid;
    return fell;
}

static int cap_read(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return -1;
    *eff = d[0].effective | (uint64_t)d[1].effective << 32;
    *prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    *inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    return 0;
}

static int cap_write(uint64_t eff, uint64_t prm, uint64_t inh)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {
        {(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
        {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)},
    };
    return (int)syscall(SYS_capset, &h, d);
}

int sbx_status(struct sbx_status *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    if (getresuid(&st->ruid, &st->euid, &st->suid) < 0 ||
        getresgid(&st->rgid, &st->egid, &st->sgid) < 0)
        return pm_err(err, errlen, "sandbox: getresuid/getresgid: %s", strerror(errno));
    st->ngroups = getgroups(0, NULL);
    if (st->ngroups < 0 || cap_read(&st->cap_eff, &st->cap_prm, &st->cap_inh) < 0)
        return pm_err(err, errlen, "sandbox: getgroups/capget: %s", strerror(errno));
    /* PR_CAPBSET_READ and PR_CAP_AMBIENT_IS_SET fail with EINVAL past the
     * last capability the kernel knows. */
    for (int cap = 0; cap < 64; cap++) {
        int b = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (b < 0)
            break;
        if (b > 0)
            st->cap_bnd |= UINT64_C(1) << cap;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0)
            st->cap_amb |= UINT64_C(1) << cap;
    }
    st->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    st->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    st->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
    st->landlock = sbx_landlock_abi;
    if (st->no_new_privs < 0 || st->dumpable < 0 || st->seccomp < 0)
        return pm_err(err, errlen, "sandbox: prctl: %s", strerror(errno));
    return 0;
}

static int verify_dropped(uid_t uid, gid_t gid, uint64_t keep, char *err, size_t errlen)
{
    struct sbx_status st;
    if (sbx_status(&st, err, errlen) < 0)
        return -1;
    if (st.ruid != uid || st.euid != uid || st.suid != uid)
        return pm_err(err, errlen, "sandbox: uids are %u/%u/%u, not %u", (unsigned)st.ruid,
                      (unsigned)st.euid, (unsigned)st.suid, (unsigned)uid);
    if (st.rgid != gid || st.egid != gid || st.sgid != gid || st.ngroups != 0)
        return pm_err(err, errlen, "sandbox: gids are %u/%u/%u with %d groups, not %u and none",
                      (unsigned)st.rgid, (unsigned)st.egid, (unsigned)st.sgid, st.ngroups,
                      (unsigned)gid);
    if (st.cap_eff != keep || st.cap_prm != keep || st.cap_inh != 0 || st.cap_amb != 0 ||
        st.cap_bnd != keep)
        return pm_err(err, errlen,
                      "sandbox: capabilities eff %#llx prm %#llx inh %#llx amb %#llx bnd %#llx, "
                      "not %#llx alone",
                      (unsigned long long)st.cap_eff, (unsigned long long)st.cap_prm,
                      (unsigned long long)st.cap_inh, (unsigned long long)st.cap_amb,
                      (unsigned long long)st.cap_bnd, (unsigned long long)keep);
    if (st.no_new_privs != 1 || st.dumpable != 0)
        return pm_err(err, errlen, "sandbox: no_new_privs %d, dumpable %d", st.no_new_privs,
                      st.dumpable);
    /* The saved uid is the user's too: no way back to root. */
    if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0)
        return pm_err(err, errlen, "sandbox: could become root again");
    return 0;
}

int sbx_drop_privileges(const char *user, char *err, size_t errlen)
{
    return sbx_drop_to_user(user, SBX_KEEP_MASK, err, errlen);
}

/* ---- Landlock ----------------------------------------------------------------------------- */

/* Confines every later open to reading below sbx_read_dirs (Landlock,
 * landlock(7)): what seccomp cannot do, since a path is a pointer it cannot
 * follow.  Descriptors open before (pcap files, sockets, stdout) keep working.
 * Returns the ABI version in force, 0 when the kernel has no Landlock (err
 * holds a warning), or -1. */
static int apply_landlock(char *err, size_t errlen)
{
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        if (errno == ENOSYS || errno == EOPNOTSUPP) {
            pm_err(err, errlen,
                   "sandbox: the kernel has no Landlock (%s); files are limited by "
                   "their permissions only",
                   strerror(errno));
            return 0;
        }
        return pm_err(err, errlen, "sandbox: Landlock version: %s", strerror(errno));
    }
    /* Every right this kernel knows is handled, i.e. denied unless a rule grants it. */
    uint64_t handled = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */
    if (abi >= 2)
        handled |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
    if (rs < 0)
        return pm_err(err, errlen, "sandbox: Landlock ruleset: %s", strerror(errno));
    for (size_t i = 0; i < sizeof(sbx_read_dirs) / sizeof(sbx_read_dirs[0]); i++) {
        int dfd = open(sbx_read_dirs[i], O_PATH | O_CLOEXEC | O_DIRECTORY);
        if (dfd < 0)
            continue; /* no sysfs here: nothing to grant */
        struct landlock_path_beneath_attr pb = {
            .allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR,
            .parent_fd = dfd,
        };
        long rc = syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
        int e = errno;
        close(dfd);
        if (rc < 0) {
            close(rs);
            return pm_err(err, errlen, "sandbox: Landlock rule for %s: %s", sbx_read_dirs[i],
                          strerror(e));
        }
    }
    long rc = syscall(SYS_landlock_restrict_self, rs, 0);
    int e = errno;
    close(rs);
    if (rc < 0)
        return pm_err(err, errlen, "sandbox: Landlock restrict_self: %s", strerror(e));
    sbx_landlock_abi = abi;
    return abi;
}

/* ---- seccomp ------------------------------------------------------------------------------- */

/* int arguments compared on their low 32 bits: the upper half of the
 * register is not defined by the C calling convention. */
#define A32(n, v) SCMP_CMP64((n), SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)(v))

/* System calls allowed with any arguments (docs/sandbox.md says why each). */
static const int sbx_plain[] = {
    /* descriptors the process holds: sockets, pcap files, stdio */
    SCMP_SYS(read),
    SCMP_SYS(lseek),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(recvfrom),
    SCMP_SYS(recvmsg),
    SCMP_SYS(bind),
    SCMP_SYS(getsockname),
    SCMP_SYS(eventfd2),
    /* memory (no PROT_EXEC: mmap and mprotect are filtered below) */
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(munlock), /* rt_free(): the RADIUS secrets' locked page (docs/radius.md) */
    /* time, locks, randomness, kernel version */
    SCMP_SYS(clock_gettime),
    SCMP_SYS(futex),
    SCMP_SYS(sched_yield),
    SCMP_SYS(getrandom),
    SCMP_SYS(uname),
    /* identity, read back by sbx_status() */
    SCMP_SYS(getpid),
    SCMP_SYS(getresuid),
    SCMP_SYS(getresgid),
    SCMP_SYS(getgroups),
    SCMP_SYS(capget),
    /* signals and exit */
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
};

static const unsigned long sbx_ioctls[] = {
    SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFFLAGS, SIOCETHTOOL, TCGETS,
};

static const int sbx_sockopt_levels[] = {SOL_SOCKET, SOL_PACKET};

/* SOL_PACKET options libpcap 1.10 sets to receive (linux/if_packet.h). */
static const int sbx_packet_opts[] = {
    PACKET_ADD_MEMBERSHIP, PACKET_DROP_MEMBERSHIP, PACKET_RX_RING,   PACKET_AUXDATA,
    PACKET_VERSION,        PACKET_RESERVE,         PACKET_TIMESTAMP, PACKET_IGNORE_OUTGOING,
};

static const int sbx_fcntls[] = {F_GETFL, F_SETFL};

static const int sbx_prctls[] = {PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP, PR_GET_DUMPABLE,
                                 PR_CAPBSET_READ};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* sbx_set_output_fds(): the only descriptors written to (none set: any). */
static int out_fds[SBX_OUTPUT_FDS_MAX];
static size_t n_out_fds;
static int send_only_fd = -1;            /* sbx_set_send_only_fd() */
static int route_fd = -1;                /* sbx_set_route_fd() */
static int dgram_fds[SBX_DGRAM_FDS_MAX]; /* sbx_set_datagram_fds() */
static size_t n_dgram_fds;
static int hold_src_fd = -1; /* sbx_set_hold_fd() */

int sbx_set_hold_fd(int fd)
{
    hold_src_fd = fd;
    return 0;
}

int sbx_set_datagram_fds(const int *fds, size_t n, char *err, size_t errlen)
{
    if (n > SBX_DGRAM_FDS_MAX)
        return pm_err(err, errlen, "sandbox: more than %d datagram descriptors", SBX_DGRAM_FDS_MAX);
    n_dgram_fds = 0;
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            dgram_fds[n_dgram_fds++] = fds[i];
    return 0;
}

int sbx_set_send_only_fd(int fd)
{
    send_only_fd = fd;
    return 0;
}

int sbx_set_route_fd(int fd)
{
    route_fd = fd;
    return 0;
}

int sbx_set_output_fds(const int *fds, size_t n, char *err, size_t errlen)
{
    if (n > SBX_OUTPUT_FDS_MAX)
        return pm_err(err, errlen, "sandbox: more than %d output descriptors", SBX_OUTPUT_FDS_MAX);
    for (size_t i = 0; i < n; i++)
        out_fds[i] = fds[i];
    n_out_fds = n;
    return 0;
}

/* write, writev, sendmsg and send (sendto without an address): on the output
 * descriptors only, when they are set.  A capture socket (AF_PACKET) can then
 * never send a frame, nor can any socket reach another address; the channels,
 * stderr and the syslog connection are written as before. */
static int add_output_rules(scmp_filter_ctx ctx)
{
    static const int calls[] = {SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(sendmsg)};
    int rc = 0;
    for (size_t c = 0; c < NELEM(calls) && rc == 0; c++) {
        if (n_out_fds == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[c], 0);
        for (size_t i = 0; i < n_out_fds && rc == 0; i++)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[c], 1, A32(0, out_fds[i]));
    }
    if (n_out_fds == 0 && rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1, SCMP_A4_64(SCMP_CMP_EQ, 0));
    for (size_t i = 0; i < n_out_fds && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 2, A32(0, out_fds[i]),
                              SCMP_A4_64(SCMP_CMP_EQ, 0));
    if (send_only_fd >= 0 && rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 2, A32(0, send_only_fd),
                              SCMP_A4_64(SCMP_CMP_EQ, 0));
    /* The jmirror sockets (UDP, opened before the filter): datagrams to an
     * address, with sendto, sendmsg or sendmmsg (a batch), on them and on no
     * other descriptor. */
    for (size_t i = 0; i < n_dgram_fds && rc == 0; i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1, A32(0, dgram_fds[i]));
        if (rc == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1, A32(0, dgram_fds[i]));
        if (rc == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmmsg), 1, A32(0, dgram_fds[i]));
    }
    return rc;
}

/* The descriptors that may write or name an address can be neither closed
 * nor replaced: a capture socket (AF_PACKET) that took such a number could
 * send frames with it.  close() is allowed on any other descriptor and fails
 * with EPERM on these (it keeps the number taken); dup3() may only copy the
 * hold descriptor (sbx_set_hold_fd()) over a number.  Without output
 * descriptors (sbx_set_output_fds() not called) nothing is guarded. */
static int add_guard_rules(scmp_filter_ctx ctx)
{
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(close), 1, SCMP_A0_64(SCMP_CMP_GE, 0));
    int guarded[SBX_OUTPUT_FDS_MAX + SBX_DGRAM_FDS_MAX + 3];
    size_t n = 0;
    if (n_out_fds > 0) {
        for (size_t i = 0; i < n_out_fds; i++)
            guarded[n++] = out_fds[i];
        for (size_t i = 0; i < n_dgram_fds; i++)
            guarded[n++] = dgram_fds[i];
        if (send_only_fd >= 0)
            guarded[n++] = send_only_fd;
        if (route_fd >= 0)
            guarded[n++] = route_fd;
    }
    /* The hold descriptor too: were it closed, a packet socket could take
     * its number and dup3() would copy that socket over an output number. */
    if (hold_src_fd >= 0)
        guarded[n++] = hold_src_fd;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int dup = 0; /* one rule per number: the hold descriptor may be an output one */
        for (size_t j = 0; j < i; j++)
            dup |= guarded[j] == guarded[i];
        if (!dup)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(close), 1,
                                  A32(0, guarded[i]));
    }
    if (rc == 0 && hold_src_fd >= 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(dup3), 1, A32(0, hold_src_fd));
    return rc;
}

static int add_rules(scmp_filter_ctx ctx, const char **what)
{
    const uint32_t allow = SCMP_ACT_ALLOW;
    int rc = 0;

    *what = "plain";
    for (size_t i = 0; i < NELEM(sbx_plain) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, allow, sbx_plain[i], 0);

    /* socket(): AF_PACKET (libpcap's capture socket, any type/protocol),
     * AF_NETLINK with NETLINK_ROUTE (link watcher) or NETLINK_GENERIC
     * (libpcap's ioctl socket), AF_UNIX (glibc's if_nametoindex() and
     * friends open one for their ioctls; without connect() it reaches no
     * other process). */
    *what = "socket";
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socket), 1, A32(0, AF_PACKET));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socket), 1, A32(0, AF_UNIX));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socket), 2, A32(0, AF_NETLINK),
                              A32(2, NETLINK_ROUTE));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(socket), 2, A32(0, AF_NETLINK),
                              A32(2, NETLINK_GENERIC));

    /* Socket options: any of SOL_SOCKET; of SOL_PACKET only those libpcap
     * sets on a receiving socket, so never a transmit ring (PACKET_TX_RING):
     * the process only receives. */
    *what = "setsockopt/getsockopt";
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(setsockopt), 1, A32(1, SOL_SOCKET));
    for (size_t i = 0; i < NELEM(sbx_packet_opts) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(setsockopt), 2, A32(1, SOL_PACKET),
                              A32(2, sbx_packet_opts[i]));
    for (size_t i = 0; i < NELEM(sbx_sockopt_levels) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(getsockopt), 1, A32(1, sbx_sockopt_levels[i]));

    *what = "ioctl";
    for (size_t i = 0; i < NELEM(sbx_ioctls) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(ioctl), 1, A32(1, sbx_ioctls[i]));

    *what = "fcntl";
    for (size_t i = 0; i < NELEM(sbx_fcntls) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(fcntl), 1, A32(1, sbx_fcntls[i]));

    /* Memory never becomes executable: no PROT_EXEC in mmap or mprotect. */
    *what = "mmap/mprotect";
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(mmap), 1,
                              SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(mprotect), 1,
                              SCMP_A2_64(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));

    /* openat() read-only only: no write access, no creation, no truncation,
     * no O_TMPFILE (020000000 is its own bit; O_TMPFILE adds O_DIRECTORY).
     * The path is a pointer seccomp cannot read: where is Landlock's
     * concern (apply_landlock), and the file modes'. */
    *what = "openat";
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(openat), 1,
                              SCMP_A2_64(SCMP_CMP_MASKED_EQ,
                                         O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND | 020000000,
                                         O_RDONLY));

    /* send() is sendto() with no address on x86-64: glibc's syslog() on the
     * connection openlog(LOG_NDELAY) made before the filter, the channels.
     * A datagram to an address stays forbidden; see add_output_rules(). */
    *what = "write/sendmsg/sendto";
    if (rc == 0)
        rc = add_output_rules(ctx);
    /* the path MTU queries: a request to the kernel (no address) on the
     * rtnetlink socket jm_route_new() opened; the answers come by recvmsg */
    if (rc == 0 && route_fd >= 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(sendto), 2, A32(0, route_fd),
                              SCMP_A4_64(SCMP_CMP_EQ, 0));
    /* close() and dup3(): the guarded numbers (add_guard_rules()). */
    *what = "close/dup3";
    if (rc == 0)
        rc = add_guard_rules(ctx);

    /* connect() fails with EPERM instead of killing: glibc's syslog() tries
     * to reconnect to /dev/log when syslogd restarted, and must not take the
     * process down; the message is lost, nothing reaches another process. */
    *what = "connect";
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(connect), 0);

    /* Signals to itself only: abort() and raise(). */
    *what = "kill/tgkill";
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(kill), 1, A32(0, getpid()));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(tgkill), 1, A32(0, getpid()));

    /* prctl(): reading the state (sbx_status), nothing that changes it. */
    *what = "prctl";
    for (size_t i = 0; i < NELEM(sbx_prctls) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(prctl), 1, A32(0, sbx_prctls[i]));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, allow, SCMP_SYS(prctl), 2, A32(0, PR_CAP_AMBIENT),
                              A32(1, PR_CAP_AMBIENT_IS_SET));
    return rc;
}

int sbx_apply_seccomp(unsigned flags, char *err, size_t errlen)
{
    const char *what = "init";
    char warn[256] = "";
    /* Landlock needs no_new_privs (or CAP_SYS_ADMIN), and its own system
     * calls, which the filter below does not allow: first. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return pm_err(err, errlen, "sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    int ll = apply_landlock(warn, sizeof(warn));
    if (ll < 0)
        return pm_err(err, errlen, "%s", warn);
    uint32_t deny = (flags & SBX_SECCOMP_LOG) ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;

    scmp_filter_ctx ctx = seccomp_init(deny);
    if (ctx == NULL)
        return pm_err(err, errlen, "sandbox: seccomp_init failed");
    /* libseccomp sets no_new_privs before loading (SCMP_FLTATR_CTL_NNP, on by
     * default); the filter applies to every thread (TSYNC), though there is one. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0) /* i386 or x32 calls on x86-64: the process too, not the thread */
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc == 0)
        rc = add_rules(ctx, &what);
    if (rc == 0) {
        what = "load";
        rc = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (rc != 0)
        return pm_err(err, errlen, "sandbox: seccomp %s: %s", what, strerror(-rc));
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return pm_err(err, errlen, "sandbox: seccomp filter not in place after loading");
    if (ll == 0) {
        pm_err(err, errlen, "%s", warn);
        return 1;
    }
    return 0;
}

/* ---- privilege drop, any set of capabilities kept ------------------------------------------ */

int sbx_drop_to_user(const char *user, uint64_t keep_caps, char *err, size_t errlen)
{
    char warn[256] = "";
    uid_t uid;
    gid_t gid;

    if (geteuid() != 0)
        return pm_err(err, errlen, "sandbox: dropping privileges needs root (euid is %u)",
                      (unsigned)geteuid());
    int fell = sbx_resolve_user(user, &uid, &gid, warn, sizeof(warn));
    if (fell < 0)
        return pm_err(err, errlen, "%s", warn);
    /* The kernel clears the parent-death signal when the credentials change
     * (prctl(2)): a child of the monitor must keep it, see below. */
    int deathsig = 0;
    pid_t parent = getppid();
    if (prctl(PR_GET_PDEATHSIG, &deathsig, 0, 0, 0) < 0)
        deathsig = 0;

    for (int cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
            break; /* past the last capability of this kernel */
        if ((keep_caps & (UINT64_C(1) << cap)) == 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            return pm_err(err, errlen, "sandbox: dropping capability %d from the bounding set: %s",
                          cap, strerror(errno));
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return pm_err(err, errlen, "sandbox: clearing the ambient set: %s", strerror(errno));
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return pm_err(err, errlen, "sandbox: PR_SET_KEEPCAPS: %s", strerror(errno));
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0)
        return pm_err(err, errlen, "sandbox: setgroups/setresgid %u: %s", (unsigned)gid,
                      strerror(errno));
    if (setresuid(uid, uid, uid) < 0)
        return pm_err(err, errlen, "sandbox: setresuid %u: %s", (unsigned)uid, strerror(errno));
    /* Kept until here only to carry the permitted set over setresuid. */
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return pm_err(err, errlen, "sandbox: clearing PR_SET_KEEPCAPS: %s", strerror(errno));
    if (cap_write(keep_caps, keep_caps, 0) < 0)
        return pm_err(err, errlen, "sandbox: capset %#llx: %s", (unsigned long long)keep_caps,
                      strerror(errno));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return pm_err(err, errlen, "sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    /* Not dumpable: no core file, and /proc/PID (mem, environ, fds) belongs
     * to root, so another process of the same user cannot ptrace or read it. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return pm_err(err, errlen, "sandbox: PR_SET_DUMPABLE: %s", strerror(errno));
    if (verify_dropped(uid, gid, keep_caps, err, errlen) < 0)
        return -1;
    if (deathsig != 0 && (prctl(PR_SET_PDEATHSIG, deathsig, 0, 0, 0) < 0 || getppid() != parent))
        return pm_err(err, errlen, "sandbox: the parent process went away during the drop");
    if (fell)
        pm_err(err, errlen, "%s", warn);
    return fell;
}
