/*
 * sandbox.h - the capture process's sandbox: an unprivileged user holding
 * only CAP_NET_RAW, no_new_privs, not dumpable, and a seccomp allowlist
 * (libseccomp).  docs/sandbox.md lists every allowed system call and why.
 *
 * Two phases, in this order, each once per process:
 *
 *   1. sbx_drop_privileges(user) while root, before anything parses input:
 *      the user's uid/gid (no supplementary groups), CAP_NET_RAW alone in the
 *      permitted and effective sets and in the bounding set, nothing
 *      inheritable or ambient, no_new_privs, not dumpable.  Verified by
 *      reading it all back.  libpcap handles can be activated afterwards
 *      (CAP_NET_RAW is what AF_PACKET needs).
 *   2. sbx_apply_seccomp() after OpenSSL and libpcap are initialised and the
 *      sources activated: Landlock first (files can only be read, and only
 *      below /sys/class/net and /sys/devices), then the seccomp filter: from
 *      then on, every system call outside the allowlist kills the whole
 *      process with SIGSYS.  Sources may still reopen (socket
 *      AF_PACKET/AF_NETLINK, bind, setsockopt, mmap, ioctl).
 *
 * Errors: -1 and one sentence in err.  Nothing here logs.
 */
#ifndef PMIRRORD_SANDBOX_H
#define PMIRRORD_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SBX_FALLBACK_USER "nobody"

/* sbx_apply_seccomp() flags */
#define SBX_SECCOMP_LOG 0x1u /* development: log (audit) what is not allowed instead of killing */

/* Resolves user to its uid and primary gid.  An account that does not exist
 * falls back to SBX_FALLBACK_USER: returns 1 with a warning in err.  Returns 0
 * when the account exists, -1 (err) when neither exists or the account is
 * uid 0 or gid 0 (a sandbox as root is no sandbox).  No privilege needed. */
int sbx_resolve_user(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* Phase 1, as root (uid 0 with CAP_SETUID, CAP_SETGID, CAP_SETPCAP).
 * Returns 0, or 1 with a warning in err when the fallback user was taken,
 * or -1 with err (the process must not go on: part of it may be dropped). */
int sbx_drop_privileges(const char *user, char *err, size_t errlen);

/* The same drop with another set of capabilities kept (bit n = capability
 * n): sbx_drop_privileges() is this with CAP_NET_RAW; the agent process keeps
 * nothing, or CAP_IPC_LOCK alone when RLIMIT_MEMLOCK is below what it must
 * lock (docs/process-model.md).  Same results and checks. */
int sbx_drop_to_user(const char *user, uint64_t keep_caps, char *err, size_t errlen);

/* Phase 2.  Sets no_new_privs itself (needed to load a filter without
 * CAP_SYS_ADMIN), so it works unprivileged too (the unit test).  Returns 0,
 * 1 with a warning in err when the kernel has no Landlock (the filter is in
 * place; files are then limited by their permissions only), or -1 with err. */
int sbx_apply_seccomp(unsigned flags, char *err, size_t errlen);
/* Before phase 2: the only descriptors the process may write to (write,
 * writev, sendmsg, send): its channels, stderr, its syslog connection.
 * Sockets it opens later (capture sockets) can then never send.  Without
 * this call any descriptor may be written.  At most SBX_OUTPUT_FDS_MAX. */
#define SBX_OUTPUT_FDS_MAX 8
int sbx_set_output_fds(const int *fds, size_t n, char *err, size_t errlen);
/* A descriptor that may only send() (sendto without an address; no write,
 * no sendmsg, which could name another socket): the syslog connection. */
int sbx_set_send_only_fd(int fd);
/* Another descriptor that may only send(): the rtnetlink socket of the path
 * MTU queries (jm_route_fd(), jm_route.h), answered by recvmsg().  -1 none. */
int sbx_set_route_fd(int fd);
/* Before phase 2: datagram sockets the process opened for sending (the
 * jmirror sender's, jm_send.h) on which sendto, sendmsg and sendmmsg may
 * name a destination address; every other descriptor still cannot.
 * Negative entries are skipped.  At most SBX_DGRAM_FDS_MAX (at least
 * JM_FDS_MAX). */
#define SBX_DGRAM_FDS_MAX 40
int sbx_set_datagram_fds(const int *fds, size_t n, char *err, size_t errlen);
/* Before phase 2: the one descriptor dup3() may copy over another number
 * (the capture process fills a number it gives up with its monitor
 * channel); -1 (the default): no dup3().  The output, datagram, send-only
 * and route descriptors cannot be closed (EPERM) nor replaced by anything
 * else, so a socket opened later never takes their numbers. */
int sbx_set_hold_fd(int fd);

/* What the process holds now, read with system calls the allowlist keeps
 * (getresuid, getresgid, getgroups, capget, prctl PR_GET_*), so it works
 * before and after phase 2. */
struct sbx_status {
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    int ngroups;
    uint64_t cap_eff, cap_prm, cap_inh;
    uint64_t cap_bnd; /* bounding set, bit n = capability n */
    uint64_t cap_amb; /* ambient set */
    int no_new_privs;
    int dumpable;
    int seccomp;  /* 0 none, 1 strict, 2 filter */
    int landlock; /* Landlock ABI version sbx_apply_seccomp() put in force, 0 none */
};

int sbx_status(struct sbx_status *st, char *err, size_t errlen);

#endif
