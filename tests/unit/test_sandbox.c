/*
 * test_sandbox.c - what of src/capture/sandbox.c needs no root: user
 * resolution, the refusal to drop privileges without root, and the seccomp
 * allowlist and Landlock, each case in a forked child that installs them and
 * then makes one call: allowed calls return, forbidden ones kill the child
 * with SIGSYS.  The privilege drop itself is tested as root by
 * tests/integration/test_sandbox.py.
 *
 * Children leave with _exit(): LeakSanitizer's exit check (clone + ptrace)
 * is itself forbidden in the sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/jm_route.h"
#include "pmirrord/sandbox.h"

static char tmpdir[] = "/tmp/test_sandbox.XXXXXX";
static char tmpfile_path[64];

/* Outcome of one child: exit status 0..255, or 1000 + signal number. */
static int in_child(int (*fn)(void), unsigned flags)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char err[256];
        if (sbx_apply_seccomp(flags, err, sizeof(err)) < 0) {
            fprintf(stderr, "child: %s\n", err);
            _exit(99);
        }
        _exit(fn());
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : WEXITSTATUS(st);
}

#define KILLED (1000 + SIGSYS)

/* ---- allowed: return 0 when the call did what it should -------------------------------------- */

static int status_sandboxed(void)
{
    struct sbx_status st;
    char err[256];
    if (sbx_status(&st, err, sizeof(err)) < 0)
        return 1;
    return !(st.seccomp == 2 && st.no_new_privs == 1 && st.landlock >= 1);
}

static int sock_ok(int domain, int type, int proto)
{
    int fd = socket(domain, type | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return 1;
    close(fd);
    return 0;
}

static int unix_socket(void)
{
    return sock_ok(AF_UNIX, SOCK_DGRAM, 0);
}

static int netlink_route(void)
{
    return sock_ok(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
}

static int netlink_generic(void)
{
    return sock_ok(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
}

/* Without CAP_NET_RAW the kernel refuses it; the filter lets it through. */
static int packet_socket(void)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        close(fd);
    return fd >= 0 || errno == EPERM ? 0 : 1;
}

static int sockopts_and_ioctl(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int sz = 65536;
    socklen_t len = sizeof(sz);
    struct ifreq ifr = {.ifr_name = "lo"};
    int rc = fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0 ||
             getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, &len) < 0 ||
             ioctl(fd, SIOCGIFINDEX, &ifr) < 0 || ioctl(fd, SIOCGIFMTU, &ifr) < 0 ||
             fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0;
    close(fd);
    return rc;
}

static int memory(void)
{
    void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) < 0)
        return 1;
    return munmap(p, 1 << 20) < 0;
}

static int read_sysfs(void)
{
    char buf[16];
    int fd = open("/sys/class/net/lo/mtu", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
        return 1;
    close(fd);
    return 0;
}

static int signal_self(void)
{
    return kill(getpid(), 0) < 0;
}

/* Landlock: a readable file outside /sys/class/net and /sys/devices. */
static int read_outside(void)
{
    int fd = open(tmpfile_path, O_RDONLY | O_CLOEXEC);
    return fd < 0 && errno == EACCES ? 0 : 1;
}

/* ---- forbidden: the child must not get to return -------------------------------------------- */

static int do_execve(void)
{
    char *const argv[] = {"/bin/true", NULL};
    execve("/bin/true", argv, argv + 1);
    return 2;
}

static int inet_socket(void)
{
    sock_ok(AF_INET, SOCK_DGRAM, 0);
    return 2;
}

static int inet_socket_logged(void)
{
    return sock_ok(AF_INET, SOCK_DGRAM, 0);
}

static int inet6_socket(void)
{
    sock_ok(AF_INET6, SOCK_STREAM, 0);
    return 2;
}

static int netlink_other(void)
{
    sock_ok(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
    return 2;
}

static int open_write(void)
{
    open(tmpfile_path, O_WRONLY | O_CLOEXEC);
    return 2;
}

static int open_create(void)
{
    char path[80];
    snprintf(path, sizeof(path), "%s/new", tmpdir);
    open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    return 2;
}

static int mmap_exec(void)
{
    mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return 2;
}

static int do_ptrace(void)
{
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    return 2;
}

static int do_fork(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    return 2;
}

static int kill_other(void)
{
    kill(1, 0); /* init: exists, and signal 0 sends nothing */
    return 2;
}

static int set_dumpable(void)
{
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    return 2;
}

static int ioctl_other(void)
{
    int n = 0;
    ioctl(0, TIOCSTI, &n);
    return 2;
}

static int sockopt_ip(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, 0 /* SOL_IP */, 1, &one, sizeof(one));
    return 2;
}

/* connect() is refused with EPERM, not killed (glibc's syslog reconnect). */
static int connect_unix(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr sa = {.sa_family = AF_UNIX};
    int rc = connect(fd, &sa, sizeof(sa));
    return !(rc < 0 && errno == EPERM);
}

/* send() (sendto without an address) on a connected socket works: the
 * pair is made before the filter (socketpair() is not allowed). */
static int pair[2];
static int send_connected(void)
{
    int *sv = pair;
    char c = 0;
    return !(send(sv[0], "x", 1, MSG_DONTWAIT) == 1 && recv(sv[1], &c, 1, 0) == 1 && c == 'x');
}

/* sendto() with an address is not allowed. */
static int sendto_address(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr sa = {.sa_family = AF_UNIX};
    sendto(fd, "x", 1, 0, &sa, sizeof(sa));
    return 2;
}

/* sendmmsg() is not allowed on a descriptor sbx_set_datagram_fds() did not
 * name (none here; test_jm_send.c sends a batch on the jmirror sockets). */
static int sendmmsg_address(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr sa = {.sa_family = AF_UNIX};
    struct iovec iov = {"x", 1};
    struct mmsghdr mm = {
        .msg_hdr = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1}};
    sendmmsg(fd, &mm, 1, 0);
    return 2;
}

#if defined(__x86_64__)
/* getpid through the i386 ABI (int 0x80, call 20): another architecture for the filter */
static int i386_abi(void)
{
    long ret = 20;
    __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
    return 2;
}
#endif

/* A path MTU query (jm_route.h) on the rtnetlink socket opened before the
 * filter: send() to the kernel, recvmsg() of the answer. */
static struct jm_route *route;
static int route_query(void)
{
    struct trig_analyzer a = {.family = 4, .addr = {127, 0, 0, 1}, .port = 30030};
    return jm_route_mtu(route, &a, 1) > 0 ? 0 : 1;
}

/* With the output descriptors set, as the capture process sets them, the
 * route socket may send() once it is registered, and only then. */
static void test_route_fd(void)
{
    char err[256];
    route = jm_route_new(NULL, err, sizeof(err));
    CHECK(route != NULL);
    int outs[] = {2};
    CHECK(sbx_set_output_fds(outs, 1, err, sizeof(err)) == 0);
    CHECK(in_child(route_query, 0) == KILLED);
    sbx_set_route_fd(jm_route_fd(route));
    CHECK(in_child(route_query, 0) == 0);
    sbx_set_route_fd(-1);
    CHECK(sbx_set_output_fds(NULL, 0, err, sizeof(err)) == 0);
    jm_route_free(route);
}

/* The guarded numbers (output and datagram descriptors): close() fails with
 * EPERM and keeps the number; dup3() over one from anything but the hold
 * descriptor kills; from the hold descriptor it works; a packet socket
 * opened afterwards never gets a guarded number, and cannot be written. */
static int guard_out, guard_dgram, guard_hold;
static int close_guarded(void)
{
    if (close(guard_out) == 0 || errno != EPERM || close(guard_dgram) == 0 || errno != EPERM)
        return 1;
    if (fcntl(guard_out, F_GETFL) < 0 || fcntl(guard_dgram, F_GETFL) < 0)
        return 2; /* the numbers are still taken */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return fd < 0 || fd == guard_out || fd == guard_dgram || close(fd) != 0 ? 3 : 0;
}
/* The hold descriptor cannot be closed either: a packet socket would take
 * its number, and dup3() from it would put that socket on an output number. */
static int swap_hold(void)
{
    if (close(guard_hold) == 0 || errno != EPERM)
        return 1;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* no CAP_NET_RAW */
    return fd < 0 || fd == guard_hold ? 2 : 0;
}
/* The syslog connection and the route socket are guarded as well. */
static int guard_send_only, guard_route;
static int close_send_only_route(void)
{
    if (close(guard_send_only) == 0 || errno != EPERM || close(guard_route) == 0 || errno != EPERM)
        return 1;
    return 0;
}
static int dup3_over_guarded(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    dup3(fd, guard_out, O_CLOEXEC);
    return 2;
}
static int dup3_from_hold(void)
{
    return dup3(guard_hold, guard_out, O_CLOEXEC) == guard_out ? 0 : 1;
}
static int write_new_socket(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    (void)!write(fd, "x", 1);
    return 2;
}

static void test_guarded_fds(void)
{
    char err[256];
    int sp[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
    guard_out = sp[0];
    guard_hold = sp[1];
    guard_dgram = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(guard_dgram >= 0);
    int outs[] = {2, guard_out};
    CHECK(sbx_set_output_fds(outs, 2, err, sizeof(err)) == 0);
    CHECK(sbx_set_datagram_fds(&guard_dgram, 1, err, sizeof(err)) == 0);
    CHECK(in_child(dup3_from_hold, 0) == KILLED); /* no hold descriptor: no dup3 */
    sbx_set_hold_fd(guard_hold);
    CHECK(in_child(close_guarded, 0) == 0);
    CHECK(in_child(dup3_over_guarded, 0) == KILLED);
    CHECK(in_child(dup3_from_hold, 0) == 0);
    CHECK(in_child(write_new_socket, 0) == KILLED);
    CHECK(in_child(swap_hold, 0) == 0);
    guard_send_only = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    guard_route = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(guard_send_only >= 0 && guard_route >= 0);
    sbx_set_send_only_fd(guard_send_only);
    sbx_set_route_fd(guard_route);
    CHECK(in_child(close_send_only_route, 0) == 0);
    sbx_set_send_only_fd(-1);
    sbx_set_route_fd(-1);
    close(guard_send_only);
    close(guard_route);
    sbx_set_hold_fd(-1);
    CHECK(sbx_set_datagram_fds(NULL, 0, err, sizeof(err)) == 0);
    CHECK(sbx_set_output_fds(NULL, 0, err, sizeof(err)) == 0);
    close(guard_dgram);
    close(sp[0]);
    close(sp[1]);
}

static void test_resolve_user(void)
{
    char err[256];
    uid_t uid = 1;
    gid_t gid = 1;

    CHECK(sbx_resolve_user("nobody", &uid, &gid, err, sizeof(err)) == 0);
    CHECK(uid == 65534 && gid == 65534);
    uid = gid = 1;
    CHECK(sbx_resolve_user("pm-no-such-user", &uid, &gid, err, sizeof(err)) == 1);
    CHECK(uid == 65534 && gid == 65534);
    CHECK(strstr(err, "pm-no-such-user does not exist; running as nobody") != NULL);
    CHECK(sbx_resolve_user("root", &uid, &gid, err, sizeof(err)) == -1);
    CHECK(strstr(err, "uid or gid 0") != NULL);
    CHECK(sbx_resolve_user("", &uid, &gid, err, sizeof(err)) == -1);
}

/* Without root (a child that gave it up first, if the test runs as root). */
static void test_drop_needs_root(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char err[256];
        if (geteuid() == 0 &&
            (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
            _exit(3);
        int rc = sbx_drop_privileges("nobody", err, sizeof(err));
        _exit(rc == -1 && strstr(err, "needs root") != NULL ? 0 : 1);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* As root: the agent's drop (docs/process-model.md) keeps nothing, or CAP_IPC_LOCK alone. */
static void test_drop_to_user_keeps(uint64_t keep)
{
    if (geteuid() != 0)
        return;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct sbx_status st;
        int rc = sbx_drop_to_user("nobody", keep, err, sizeof(err));
        if (rc != 0 || sbx_status(&st, err, sizeof(err)) < 0)
            _exit(1);
        if (st.euid != 65534 || st.cap_eff != keep || st.cap_prm != keep || st.cap_bnd != keep ||
            st.cap_inh != 0 || st.cap_amb != 0 || st.no_new_privs != 1 || st.dumpable != 0)
            _exit(2);
        _exit(setresuid(0, 0, 0) == 0 ? 3 : 0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_status_unsandboxed(void)
{
    struct sbx_status st;
    char err[256];
    CHECK(sbx_status(&st, err, sizeof(err)) == 0);
    CHECK(st.landlock == 0);
    CHECK(st.euid == geteuid() && st.egid == getegid());
}

int main(void)
{
    CHECK(mkdtemp(tmpdir) != NULL);
    snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/file", tmpdir);
    int fd = open(tmpfile_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0 && write(fd, "x\n", 2) == 2 && close(fd) == 0);
    CHECK(chmod(tmpdir, 0755) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);

    test_resolve_user();
    test_drop_needs_root();
    test_drop_to_user_keeps(0);
    test_drop_to_user_keeps(UINT64_C(1) << 14); /* CAP_IPC_LOCK */
    test_status_unsandboxed();

    static const struct {
        const char *name;
        int (*fn)(void);
        int want;
    } cases[] = {
        {"status", status_sandboxed, 0},
        {"socket AF_UNIX", unix_socket, 0},
        {"socket NETLINK_ROUTE", netlink_route, 0},
        {"socket NETLINK_GENERIC", netlink_generic, 0},
        {"socket AF_PACKET", packet_socket, 0},
        {"sockopts, SIOCGIFINDEX/MTU, fcntl", sockopts_and_ioctl, 0},
        {"mmap, mprotect, munmap", memory, 0},
        {"read /sys/class/net", read_sysfs, 0},
        {"kill self", signal_self, 0},
        {"read outside /sys (Landlock)", read_outside, 0},
        {"execve", do_execve, KILLED},
        {"socket AF_INET", inet_socket, KILLED},
        {"socket AF_INET6", inet6_socket, KILLED},
        {"socket NETLINK_SOCK_DIAG", netlink_other, KILLED},
        {"open O_WRONLY", open_write, KILLED},
        {"open O_CREAT", open_create, KILLED},
        {"mmap PROT_EXEC", mmap_exec, KILLED},
        {"ptrace", do_ptrace, KILLED},
        {"fork", do_fork, KILLED},
        {"kill another process", kill_other, KILLED},
        {"prctl PR_SET_DUMPABLE", set_dumpable, KILLED},
        {"ioctl TIOCSTI", ioctl_other, KILLED},
        {"setsockopt SOL_IP", sockopt_ip, KILLED},
        {"connect (EPERM)", connect_unix, 0},
        {"send on a connected socket", send_connected, 0},
        {"sendto an address", sendto_address, KILLED},
        {"sendmmsg", sendmmsg_address, KILLED},
#if defined(__x86_64__)
        {"i386 system call", i386_abi, KILLED},
#endif
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = in_child(cases[i].fn, 0);
        if (got != cases[i].want) {
            fprintf(stderr, "%s:%d: %s: outcome %d, want %d (1000+N = signal N)\n", __FILE__,
                    __LINE__, cases[i].name, got, cases[i].want);
            failed = 1;
        }
    }
    /* SBX_SECCOMP_LOG: what is not allowed is logged and done (execve would
     * still fail: Landlock grants no execution) */
    CHECK(in_child(unix_socket, SBX_SECCOMP_LOG) == 0);
    CHECK(in_child(inet_socket_logged, SBX_SECCOMP_LOG) == 0);
    test_route_fd();
    test_guarded_fds();

    unlink(tmpfile_path);
    rmdir(tmpdir);
    CHECK(!failed);
    return 0;
}
