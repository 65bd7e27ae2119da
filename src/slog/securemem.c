/*
 * securemem.c - locked, undumpable memory for intercept data, and a
 * non-dumpable process (see securemem.h).
 */
#include "pmirrord/securemem.h"

#include <errno.h>
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
#ifdef MADV_WIPEONFORK
    /* Linux >= 4.14: a child of fork() gets zero pages here, not a copy.
     * Best effort: older kernels answer EINVAL. */
    (void)madvise(mem, len, MADV_WIPEONFORK);
#endif
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
