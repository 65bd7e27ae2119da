/*
 * test_agent_list.c - agent_list.c: the request IDs of a restarted agent do
 * not repeat its predecessor's.  Chan C outlives an agent (the next one gets
 * the same socket): a LIST_PAGE answering the old agent's request, still in
 * the socket or answered after it died, would otherwise be taken for the
 * answer to the new agent's request of the same ID (both counted from 1).
 */
#include "daemon/agent_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int id_fd;

static int record_id(const struct ipc_list_req *req, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return write(id_fd, &req->request_id, sizeof(req->request_id)) ==
                   (ssize_t)sizeof(req->request_id)
               ? 0
               : -1;
}

/* The ID of a fresh process's first request (an agent just started). */
static uint32_t first_id(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        static struct pm_list_out out;
        char err[256];
        close(p[0]);
        id_fd = p[1];
        (void)agent_list_request(record_id, "subscribers", "", 0, 10, 1, &out, err, sizeof(err));
        _exit(0);
    }
    close(p[1]);
    uint32_t id = 0;
    CHECK(read(p[0], &id, sizeof(id)) == (ssize_t)sizeof(id));
    close(p[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(id != 0);
    return id;
}

int main(void)
{
    uint32_t a = first_id(), b = first_id(), c = first_id();
    CHECK(!(a == b && b == c)); /* 2^-64 by chance */
    return 0;
}
