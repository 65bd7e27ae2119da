/*
 * commands.h - the daemon's control-socket commands (control thread).
 */
#ifndef PMIRRORD_DAEMON_COMMANDS_H
#define PMIRRORD_DAEMON_COMMANDS_H

#include <stddef.h>

#include "mirror_stats.h"

struct ctl_server;
struct slog_ring;

struct pm_commands_ctx {
    struct slog_ring *audit_ring;
    struct slog_ring *mirror_ring;
    /* `show mirror statistics` (the agent process); NULL: the command says
     * there is no capture process */
    pm_mirror_stats_fn mirror_stats;
    void *mirror_stats_arg;
};

int pm_commands_register(struct ctl_server *s, const struct pm_commands_ctx *ctx, char *err,
                         size_t errlen) __attribute__((warn_unused_result));

#endif
