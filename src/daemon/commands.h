/*
 * commands.h - the daemon's control-socket commands (control thread).
 */
#ifndef PMIRRORD_DAEMON_COMMANDS_H
#define PMIRRORD_DAEMON_COMMANDS_H

#include <stddef.h>

#include "mirror_stats.h"
#include "pmirrord/icpt_table.h"
#include "trig_table.h"

struct ctl_server;
struct ctl_reply;
struct slog_ring;

/* One page of a listing another process holds (LIST_PAGE, docs/ipc-protocol.md). */
struct pm_list_out {
    uint32_t offset;
    int more, has_total, has_count;
    uint32_t total, count;
    size_t nrows;
    char rows[IPC_ROWS_MAX][IPC_ROW_MAX + 1]; /* as sent: untrusted, escaped when shown */
};

/* Asks for a page and waits for it (at most timeout_ms): 0, or -1 with err. */
typedef int (*pm_list_fn)(const char *list, const char *filter, uint32_t offset, uint32_t max_rows,
                          int timeout_ms, struct pm_list_out *out, char *err, size_t errlen,
                          void *arg);

struct pm_commands_ctx {
    struct slog_ring *audit_ring;
    struct slog_ring *mirror_ring;
    /* `show mirror statistics` (the agent process); NULL: the command says
     * there is no capture process */
    pm_mirror_stats_fn mirror_stats;
    void *mirror_stats_arg;
    /* mirror triggers (NULL: the trigger commands say there is no table) */
    struct trig_table *triggers;
    void (*triggers_changed)(void *arg); /* push the table to the capture process */
    struct icpt_table *intercepts;       /* RADIUS-provisioned intercepts kept */
    pm_list_fn list;                     /* show mirror subscribers, statistics */
    void *agent_arg;                     /* for triggers_changed and list */
};

/* The trigger commands (cmd_triggers.c), registered by pm_commands_register(). */
int pm_trigger_commands_register(struct ctl_server *s, const struct pm_commands_ctx *ctx, char *err,
                                 size_t errlen) __attribute__((warn_unused_result));

/* `show mirror statistics [page N]` (cmd_stats.c): the page argument (0, or
 * -1 with the error replied), then the mirroring rows of that page from the
 * capture process (a failure to get them is said in the reply, not an error). */
int pm_stats_page_arg(struct ctl_reply *r, int argc, char **argv, unsigned long *page);
void pm_stats_rows(struct ctl_reply *r, const struct pm_commands_ctx *ctx, unsigned long page);

int pm_commands_register(struct ctl_server *s, const struct pm_commands_ctx *ctx, char *err,
                         size_t errlen) __attribute__((warn_unused_result));

#endif
