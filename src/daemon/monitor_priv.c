/*
 * monitor_priv.c - what the monitor opens for the agent (docs/process-model.md,
 * "The AgentX socket"): a connection to the AgentX master of the
 * configuration the monitor read itself; the agent cannot name another.
 */
#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pmirrord/agentx_addr.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"

void mon_priv_fail(struct ipc_chan *ch, unsigned request_id, int err_no, const char *text)
{
    struct ipc_rec r;
    char err[256];
    memset(&r, 0, sizeof(r));
    r.type = IPC_PRIV_FAIL;
    r.u.priv_fail.request_id = request_id;
    r.u.priv_fail.err_no = err_no > 0 ? (uint32_t)err_no : 0;
    snprintf(r.u.priv_fail.text, sizeof(r.u.priv_fail.text), "%s", text);
    if (ipc_chan_put(ch, &r, err, sizeof(err)) < 0)
        log_warnx("mon", "cannot answer the agent's request %u: %s", request_id, err);
}

void mon_priv_agentx(struct ipc_chan *ch, unsigned request_id, const char *spec)
{
    struct agentx_addr a;
    char why[300], text[600];
    if (agentx_addr_parse(spec, &a, why, sizeof(why)) < 0) {
        mon_priv_fail(ch, request_id, EINVAL, why);
        return;
    }
    int fd = agentx_connect(&a, MON_AGENTX_MS, why, sizeof(why));
    if (fd < 0) {
        int e = errno;
        snprintf(text, sizeof(text), "AgentX master %.200s: %s", spec, why);
        log_debug("mon", "agent's request %u: %s", request_id, text);
        mon_priv_fail(ch, request_id, e, text);
        return;
    }
    struct ipc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = IPC_FD;
    r.u.fd.purpose = IPC_FD_AGENTX;
    r.u.fd.id = request_id;
    snprintf(r.u.fd.name, sizeof(r.u.fd.name), "%.*s", (int)IPC_FDNAME_MAX, spec);
    if (ipc_chan_put_fd(ch, &r, fd, why, sizeof(why)) < 0)
        log_warnx("mon", "cannot send the AgentX socket to the agent: %s", why);
    else
        log_debug("mon", "agent's request %u: connected to the AgentX master %s", request_id, spec);
    close(fd); /* the channel holds its own duplicate */
}
