/*
 * securemem.h - process-wide hardening for the secure logs.
 *
 * The secure log rings (slog_ring.h) protect their own pages (mlock,
 * MADV_DONTDUMP); this keeps the rest of the process from leaking them:
 * stack copies, stdio buffers, a foreach callback's locals.
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
 * Memory for intercept data (the secure rings, the event queue): len bytes,
 * a multiple of the page size, zero-filled, locked in RAM (mlock, raising the
 * soft RLIMIT_MEMLOCK if it must), excluded from core dumps (MADV_DONTDUMP)
 * and zero in a forked child (MADV_WIPEONFORK).  NULL with err filled
 * ("<what>: ...") on failure.
 */
void *pm_secure_alloc(size_t len, const char *what, char *err, size_t errlen);
/* Zeroises, unlocks and unmaps what pm_secure_alloc() returned; NULL is fine. */
void pm_secure_free(void *p, size_t len);

#endif
