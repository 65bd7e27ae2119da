/*
 * agent_list.h - `show mirror subscribers` in the agent: one LIST_REQ at a
 * time to the capture process (docs/ipc-protocol.md, LIST_REQ/LIST_PAGE),
 * the control thread waiting for its page, at most timeout_ms on
 * CLOCK_MONOTONIC (a wall clock set back does not stretch the wait).
 * Private to src/daemon.
 */
#ifndef PMIRRORD_AGENT_LIST_H
#define PMIRRORD_AGENT_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"
#include "pmirrord/ipc.h"

/* Queues req towards the capture process: 0, or -1 with err. */
typedef int (*agent_list_send_fn)(const struct ipc_list_req *req, char *err, size_t errlen);

/* The intake's handler for LIST_PAGE records (intake thread). */
void agent_list_on_page(const struct ipc_rec *rec, void *arg);

/* Builds the request, refuses a filter that cannot travel (not text), sends it
 * with send and waits for its page: 0, or -1 with err. */
int agent_list_request(agent_list_send_fn send, const char *list, const char *filter,
                       uint32_t offset, uint32_t max_rows, int timeout_ms, struct pm_list_out *out,
                       char *err, size_t errlen);

#endif
