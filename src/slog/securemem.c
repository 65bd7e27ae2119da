/*
 * securemem.c - locked, undumpable memory for intercept data, and a
 * non-dumpable process (see securemem.h).
 */
#include "pmirrord/securemem.h"
#include "pmirrord/thread.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

int pm_harden_process(char *err, size_t errlen)
{
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
        snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
        return -1;
    }
    /* Lowering both limits needs no privilege; it cannot be raised again
     * without CAP_SYS_RESOURCE, which is what we want. */
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_CORE, &rl) == -1) {
        snprintf(err, errlen, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Whether CAP_IPC_LOCK is in the effective set (capget(2), version 3). */
static int has_ipc_lock(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    memset(d, 0, sizeof(d));
    if (syscall(SYS_capget, &h, d) == -1)
        return 0;
    return (d[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32))) != 0;
}

int pm_memlock_limit(size_t need, char *err, size_t errlen)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == -1) {
        snprintf(err, errlen, "getrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
        return -1;
    }
    if (geteuid() == 0) {
        /* Root (CAP_IPC_LOCK) is not held to the limit; the unprivileged
         * process it becomes will be, and cannot raise it itself. */
        rl.rlim_cur = rl.rlim_max = (rlim_t)need;
    } else if (has_ipc_lock()) {
        return 0; /* mm/mlock.c: CAP_IPC_LOCK is not held to RLIMIT_MEMLOCK */
    } else if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)need) {
        return 0;
    } else if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (rlim_t)need) {
        rl.rlim_cur = (rlim_t)need; /* an unprivileged process may raise its soft limit */
    } else {
        snprintf(err, errlen,
                 "RLIMIT_MEMLOCK is %llu bytes, this configuration needs %zu bytes of locked "
                 "memory (pmirrord -n shows the figure); raise LimitMEMLOCK= in the systemd unit "
                 "(or ulimit -l, in KiB)",
                 (unsigned long long)rl.rlim_max, need);
        return -1;
    }
    if (setrlimit(RLIMIT_MEMLOCK, &rl) == -1) {
        if (errno == EPERM && geteuid() == 0) {
            /* Raising the hard limit needs CAP_SYS_RESOURCE, which a container
             * may withhold; root locks with CAP_IPC_LOCK regardless. */
            snprintf(err, errlen,
                     "cannot raise RLIMIT_MEMLOCK to %zu bytes (no CAP_SYS_RESOURCE); the "
                     "monitor (root) locks regardless, the agent process keeps CAP_IPC_LOCK "
                     "for it; or set LimitMEMLOCK=%zu",
                     need, need);
            return 1;
        }
        snprintf(err, errlen, "setrlimit(RLIMIT_MEMLOCK, %zu): %s", need, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * mlockall() through syscall() for the reason given at lock_pages() below.
 * MCL_ONFAULT: pages are locked as they are first touched, not all faulted
 * in now (Linux >= 4.4); the limit is charged with the whole mapping anyway.
 */
int pm_lock_all(char *err, size_t errlen)
{
    if (syscall(SYS_mlockall, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == -1) {
        int e = errno;
        struct rlimit rl = {0, 0};
        (void)getrlimit(RLIMIT_MEMLOCK, &rl);
        snprintf(err, errlen,
                 "cannot lock the process in memory (mlockall: %s; RLIMIT_MEMLOCK is %llu "
                 "bytes): raise LimitMEMLOCK= in the systemd unit or grant CAP_IPC_LOCK",
                 strerror(e), (unsigned long long)rl.rlim_cur);
        return -1;
    }
    return 0;
}

/*
 * Without CAP_IPC_LOCK, mlock() fails with ENOMEM once the process's locked
 * pages would exceed the soft RLIMIT_MEMLOCK (mm/mlock.c); with it there is
 * no limit.  An unprivileged process may raise its soft limit up to the hard
 * one, so do that, by just what this mapping needs.
 */
/*
 * mlock()/munlock() through syscall(): the ASan, TSan and MSan runtimes
 * intercept the libc wrappers and make them no-ops that return 0
 * (compiler-rt asan_interceptors.cpp, MlockIsUnsupported(): the worry there
 * is mlockall() over the 16 TiB shadow), so the PM_SANITIZE build would keep
 * the entries swappable without a word.  Locking our own few pages is safe.
 */
static int lock_pages(void *p, size_t len)
{
    return (int)syscall(SYS_mlock, p, len);
}

static void unlock_pages(void *p, size_t len)
{
    (void)syscall(SYS_munlock, p, len);
}

static int raise_memlock(size_t len)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == -1)
        return -1;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= rl.rlim_max)
        return -1;
    rlim_t want = rl.rlim_cur + (rlim_t)len;
    if (want < rl.rlim_cur || want > rl.rlim_max)
        want = rl.rlim_max;
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_MEMLOCK, &rl);
}

void *pm_secure_alloc(size_t len, const char *what, char *err, size_t errlen)
{
    void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap(%zu bytes): %s", what, len, strerror(errno));
        return NULL;
    }
    /* Exclude from core dumps before anything is written (Linux >= 3.4). */
    if (madvise(mem, len, MADV_DONTDUMP) == -1) {
        snprintf(err, errlen, "%s: madvise(MADV_DONTDUMP): %s", what, strerror(errno));
        munmap(mem, len);
        return NULL;
    }
    /* Linux >= 4.14: a child of fork() gets zero pages here, not a copy. */
    if (madvise(mem, len, MADV_WIPEONFORK) == -1) {
        snprintf(err, errlen, "%s: madvise(MADV_WIPEONFORK): %s", what, strerror(errno));
        munmap(mem, len);
        return NULL;
    }
    if (lock_pages(mem, len) == -1) {
        int e = errno;
        if (!(e == ENOMEM && raise_memlock(len) == 0 && lock_pages(mem, len) == 0)) {
            snprintf(err, errlen,
                     "%s: cannot lock %zu bytes in memory (mlock: %s); raise RLIMIT_MEMLOCK "
                     "(ulimit -l, LimitMEMLOCK= in the systemd unit) or grant CAP_IPC_LOCK",
                     what, len, strerror(e));
            munmap(mem, len);
            return NULL;
        }
    }
    return mem;
}

void pm_secure_free(void *p, size_t len)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, len);
    unlock_pages(p, len);
    munmap(p, len);
}

/* ---- freed heap overwritten (docs/hygiene.md) ------------------------------------ */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PM_HEAP_SANITIZED 1 /* the sanitizer's allocator replaces glibc's malloc */
#else
#define PM_HEAP_SANITIZED 0
#endif

/* GLIBC_TUNABLES is NAME=VALUE:NAME=VALUE...; glibc applies them in order, the
 * last of a name wins.  A substring match would take "...tcache_count=07" or a
 * later "...tcache_count=7" for the tcache turned off. */
static int tcache_off_requested(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    const size_t nl = strlen(PM_TCACHE_TUNABLE) - 1; /* "glibc.malloc.tcache_count=" */
    int off = 0;
    while (t != NULL && *t != '\0') {
        const char *end = strchr(t, ':');
        size_t len = end != NULL ? (size_t)(end - t) : strlen(t);
        if (len >= nl && memcmp(t, PM_TCACHE_TUNABLE, nl) == 0)
            off = len == nl + 1 && t[nl] == '0';
        t = end != NULL ? end + 1 : NULL;
    }
    return off;
}

int pm_heap_hygiene(char *const argv[], char *err, size_t errlen)
{
    if (PM_HEAP_SANITIZED)
        return 0;
    if (!tcache_off_requested() && getauxval(AT_SECURE) != 0) {
        /* A secure-execution start (set-user-ID, file capabilities): the loader
         * erases glibc.malloc.* from GLIBC_TUNABLES, so each exec would find it
         * missing again and execute once more, for ever. */
        snprintf(err, errlen, "secure execution: %s cannot be set (GLIBC_TUNABLES erased)",
                 PM_TCACHE_TUNABLE);
        if (mallopt(M_PERTURB, PM_PERTURB_BYTE) != 1)
            return -1;
        return 1;
    }
    if (!tcache_off_requested()) {
        /* glibc reads its tunables once, at start: only a new image sees them. */
        const char *old = getenv("GLIBC_TUNABLES");
        char val[1024];
        int n = old != NULL && old[0] != '\0'
                    ? snprintf(val, sizeof(val), "%s:%s", old, PM_TCACHE_TUNABLE)
                    : snprintf(val, sizeof(val), "%s", PM_TCACHE_TUNABLE);
        if (n > 0 && (size_t)n < sizeof(val) && setenv("GLIBC_TUNABLES", val, 1) == 0) {
            execv("/proc/self/exe", argv);
            snprintf(err, errlen, "execv(/proc/self/exe) for %s: %s", PM_TCACHE_TUNABLE,
                     strerror(errno));
        } else {
            snprintf(err, errlen, "GLIBC_TUNABLES too long for %s", PM_TCACHE_TUNABLE);
        }
        if (mallopt(M_PERTURB, PM_PERTURB_BYTE) != 1)
            return -1;
        return 1;
    }
    if (mallopt(M_PERTURB, PM_PERTURB_BYTE) != 1) {
        snprintf(err, errlen, "mallopt(M_PERTURB) failed");
        return -1;
    }
    return 0;
}

/* The scrub runs at a loop's top level: a quarter of a thread's stack at most, so
 * that 64 KiB below the frame never passes the guard page (a 4 KiB guard under a
 * stack this array would jump, writing into whatever is mapped below it). */
_Static_assert(PM_STACK_SCRUB * 4 <= PM_THREAD_STACK, "pm_stack_scrub() fits a thread's stack");

__attribute__((noinline)) void pm_stack_scrub(void)
{
    unsigned char below[PM_STACK_SCRUB];
    explicit_bzero(below, sizeof(below));
    __asm__ volatile("" : : "r"(below) : "memory"); /* the array is used */
}
