/*
 * pm_sysfilter - runs a program under a system call allowlist, as systemd's
 * SystemCallFilter= would (tests/integration/test_sdnotify.py, docs/systemd.md):
 *
 *   pm_sysfilter ALLOWLIST -- PROGRAM [ARG...]
 *
 * ALLOWLIST holds one system call name a line (the test expands the unit's
 * SystemCallFilter= lines with `systemd-analyze syscall-filter`).  Any other
 * call kills the process (SIGSYS), as systemd's filter does; names this
 * architecture lacks are skipped.  no_new_privs is set (libseccomp's
 * default), as NoNewPrivileges=yes does.  Then PROGRAM is executed in place,
 * so its PID is ours.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: pm_sysfilter ALLOWLIST -- PROGRAM [ARG...]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (f == NULL) {
        fprintf(stderr, "pm_sysfilter: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL) {
        fprintf(stderr, "pm_sysfilter: seccomp_init failed\n");
        return 2;
    }
    char name[128];
    int n = 0;
    while (fgets(name, sizeof(name), f) != NULL) {
        name[strcspn(name, " \t\r\n")] = '\0';
        if (name[0] == '\0' || name[0] == '#')
            continue;
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR || nr < 0)
            continue; /* not on this architecture */
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (rc < 0) {
            fprintf(stderr, "pm_sysfilter: %s: %s\n", name, strerror(-rc));
            return 2;
        }
        n++;
    }
    fclose(f);
    int rc = seccomp_load(ctx);
    if (rc < 0) {
        fprintf(stderr, "pm_sysfilter: seccomp_load: %s\n", strerror(-rc));
        return 2;
    }
    seccomp_release(ctx);
    (void)n;
    execv(argv[3], argv + 3);
    fprintf(stderr, "pm_sysfilter: %s: %s\n", argv[3], strerror(errno));
    return 127;
}
