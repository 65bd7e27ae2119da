/*
 * securemem.c - make the process non-dumpable (see securemem.h).
 */
#include "pmirrord/securemem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

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
