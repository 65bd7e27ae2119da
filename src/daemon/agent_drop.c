/*
 * agent_drop.c - the agent process becomes its user (docs/process-model.md):
 * no capability kept, or CAP_IPC_LOCK alone where the hard RLIMIT_MEMLOCK is
 * below the locked-memory figure and root could not raise it
 * (docs/memory-locking.md).  The sandbox module does the drop itself.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/capability.h>

#include "agent_proc.h"
#include "pmirrord/log.h"
#include "pmirrord/sandbox.h"

/* Drop to our user: nothing kept, or CAP_IPC_LOCK when the limit is short. */
int agent_drop_privileges(size_t need, char *err, size_t errlen)
{
    struct rlimit rl;
    char why[300];

    if (geteuid() != 0) {
        log_warnx("main",
                  "the agent process is not root (uid %u): it cannot change user and runs as "
                  "it is",
                  (unsigned)geteuid());
        return 0;
    }
    if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0) {
        snprintf(err, errlen, "getrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
        return -1;
    }
    uint64_t keep = 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)need)
        keep = UINT64_C(1) << CAP_IPC_LOCK;
    int rc = sbx_drop_to_user(AGENT_PROC_USER, keep, why, sizeof(why));
    if (rc < 0) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    if (rc > 0)
        log_warnx("main", "%s", why);
    if (keep != 0)
        log_info("main",
                 "RLIMIT_MEMLOCK is %llu bytes, %zu needed: the agent process keeps "
                 "CAP_IPC_LOCK (docs/memory-locking.md)",
                 (unsigned long long)rl.rlim_max, need);
    return 0;
}
