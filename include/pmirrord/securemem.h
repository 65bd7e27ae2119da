/*
 * securemem.h - process-wide hardening for the secure logs.
 *
 * The secure log rings (slog_ring.h) protect their own pages (mlock,
 * MADV_DONTDUMP); this keeps the rest of the process from leaking them:
 * stack copies, stdio buffers, a foreach callback's locals, queued
 * notifications.  The daemon fails to start when any step fails.
 */
#ifndef PMIRRORD_SECUREMEM_H
#define PMIRRORD_SECUREMEM_H

#include <stddef.h>

/*
 * prctl(PR_SET_DUMPABLE, 0): no core dump, and /proc/<pid>/mem, ptrace attach
 * and /proc/<pid>/{environ,maps,...} are denied to other non-root users.
 * setrlimit(RLIMIT_CORE, 0/0): belt and braces for core_pattern pipes.
 *
 * The kernel resets "dumpable" on execve() and on every change of uid/gid or
 * capabilities (see prctl(2), PR_SET_DUMPABLE): call this after dropping
 * privileges, not before.  Returns 0, or -1 with err filled.
 */
int pm_harden_process(char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * RLIMIT_MEMLOCK for a process that locks `need` bytes (docs/memory-locking.md).
 * As root: sets soft and hard limit to need, for the unprivileged process the
 * daemon becomes (root itself, with CAP_IPC_LOCK, is not held to it).  Not
 * root: raises the soft limit to need if the hard one allows, else fails with
 * both figures and the remedy in err.  Returns 0, or -1 on failure, or 1 with
 * a warning in err when root may not raise the hard limit (no
 * CAP_SYS_RESOURCE) and so relies on CAP_IPC_LOCK.
 */
int pm_memlock_limit(size_t need, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): nothing of the process
 * (heap, stacks, Net-SNMP's PDUs and buffers) is ever swapped.  Every later
 * mapping is charged in full against RLIMIT_MEMLOCK.  Returns 0, or -1 with
 * err filled.
 */
int pm_lock_all(char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Memory for intercept data (the secure rings, the event queue): len bytes,
 * a multiple of the page size, zero-filled, locked in RAM (mlock, raising the
 * soft RLIMIT_MEMLOCK if it must), excluded from core dumps (MADV_DONTDUMP)
 * and zero in a forked child (MADV_WIPEONFORK; failure of either advice is an
 * error).  NULL with err filled
 * ("<what>: ...") on failure.
 */
void *pm_secure_alloc(size_t len, const char *what, char *err, size_t errlen);
/* Zeroises, unlocks and unmaps what pm_secure_alloc() returned; NULL is fine. */
void pm_secure_free(void *p, size_t len);

/*
 * Freed heap is overwritten (docs/hygiene.md).  First thing in the entry of each
 * of the three processes, before any allocation worth keeping:
 * - glibc's per-thread cache (tcache) keeps freed chunks of up to 1032 bytes as
 *   they were, and glibc's M_PERTURB does not reach them: unless GLIBC_TUNABLES
 *   already says glibc.malloc.tcache_count=0, this adds it to the environment and
 *   executes /proc/self/exe again with argv (same PID); the monitor passes
 *   GLIBC_TUNABLES on to its children, which so need no second exec;
 * - mallopt(M_PERTURB, PM_PERTURB_BYTE): free() fills every other freed chunk.
 * Sanitizer builds (their allocator replaces glibc's) do neither: there
 * __asan_default_options() (daemon.c) asks AddressSanitizer to fill freed
 * chunks.  Returns 0, or -1 (err filled) when mallopt() refused; a failed exec
 * is returned as 1 with err filled (a warning: M_PERTURB is still set).
 */
#define PM_PERTURB_BYTE   0xa5
#define PM_TCACHE_TUNABLE "glibc.malloc.tcache_count=0"
int pm_heap_hygiene(char *const argv[], char *err, size_t errlen);

/*
 * Zeroes PM_STACK_SCRUB bytes of the calling thread's stack below its frame:
 * what returned functions left there (formatting buffers of libc and Net-SNMP,
 * decoded records, escaped text).  Called by each loop at its top level, after
 * the work that handled intercept data (docs/hygiene.md).  The threads' stacks
 * are 256 KiB (thread.h); 64 KiB covers the deepest paths measured.
 */
#define PM_STACK_SCRUB (64u * 1024u)
void pm_stack_scrub(void);

#endif
