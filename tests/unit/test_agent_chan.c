/*
 * test_agent_chan.c - the agent's reload slices (src/daemon/agent_chan.c):
 * a SAME record whose digest the running lines do not hold refuses the slice
 * with one answer at its END; a record outside a slice is only counted; an
 * unfinished slice (the monitor could not queue its END) is dropped when a
 * new BEGIN comes, and the new one alone is answered; a parse error names
 * the file's own FILE:LINE.  (The apply hook is not reached: every slice
 * here is refused before it.)
 */
#include "daemon/agent_chan.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ipc.h"

static struct ipc_rec r;

static int feed(uint16_t flags, const char *key, const char *value, uint32_t line, uint8_t *st,
                char *text, size_t tlen)
{
    memset(&r, 0, sizeof(r));
    r.type = IPC_CONFIG;
    r.flags = flags;
    snprintf(r.u.config.key, sizeof(r.u.config.key), "%s", key);
    snprintf(r.u.config.value, sizeof(r.u.config.value), "%s", value);
    r.u.config.line = line;
    return agent_chan_config(&r, st, text, tlen);
}

int main(void)
{
    char err[256], text[512];
    uint8_t st = 0;
    struct agent_chan_counts n;

    struct conf_slice *run = conf_slice_new();
    CHECK(conf_slice_add(run, 1, "trapEnable true", 15, err, sizeof(err)) == 0);
    CHECK(conf_slice_add(run, 2, "eventQueueSize 64", 17, err, sizeof(err)) == 0);
    agent_chan_keep(run);

    /* outside a slice: counted, nothing to answer */
    CHECK(feed(0, "trapEnable", "trapEnable false", 1, &st, text, sizeof(text)) == 0);
    agent_chan_counts(&n);
    CHECK(n.stray == 1);

    /* an unknown digest: refused, answered once at END */
    char hex[CONF_DIGEST_LEN * 2 + 1];
    uint8_t d[CONF_DIGEST_LEN];
    conf_line_digest("eventQueueSize 32", 17, d);
    conf_digest_hex(d, hex);
    CHECK(feed(IPC_F_BEGIN, "reload", "/etc/p.conf", 0, &st, text, sizeof(text)) == 0);
    CHECK(feed(IPC_F_SAME, "eventQueueSize", hex, 2, &st, text, sizeof(text)) == 0);
    CHECK(feed(0, "trapEnable", "trapEnable false", 3, &st, text, sizeof(text)) == 0);
    CHECK(feed(IPC_F_END, "end", "", 0, &st, text, sizeof(text)) == 1);
    CHECK(st == IPC_STATUS_RELOAD_FAILED);
    CHECK(strstr(text, "/etc/p.conf:2: an unchanged line (SAME) whose text this process does "
                       "not hold") != NULL);
    agent_chan_counts(&n);
    CHECK(n.reload_failed == 1 && n.reloads == 0);

    /* unfinished, then a new slice: one answer, for the new one */
    CHECK(feed(IPC_F_BEGIN, "reload", "/etc/p.conf", 0, &st, text, sizeof(text)) == 0);
    CHECK(feed(0, "trapEnable", "trapEnable false", 1, &st, text, sizeof(text)) == 0);
    CHECK(feed(IPC_F_BEGIN, "reload", "/etc/p.conf", 0, &st, text, sizeof(text)) == 0);
    conf_line_digest("eventQueueSize 64", 17, d);
    conf_digest_hex(d, hex);
    CHECK(feed(IPC_F_SAME, "eventQueueSize", hex, 1, &st, text, sizeof(text)) == 0);
    CHECK(feed(0, "trapEnable", "trapEnable maybe", 4, &st, text, sizeof(text)) == 0);
    CHECK(feed(IPC_F_END, "end", "", 0, &st, text, sizeof(text)) == 1);
    CHECK(st == IPC_STATUS_RELOAD_FAILED);
    CHECK(strncmp(text, "/etc/p.conf:4: trapEnable", 25) == 0);
    agent_chan_counts(&n);
    CHECK(n.reload_failed == 2 && n.same_lines == 1);

    /* a capture directive is not the agent's */
    CHECK(feed(IPC_F_BEGIN, "reload", "/etc/p.conf", 0, &st, text, sizeof(text)) == 0);
    CHECK(feed(0, "capture", "capture eth0", 1, &st, text, sizeof(text)) == 0);
    CHECK(feed(IPC_F_END, "end", "", 0, &st, text, sizeof(text)) == 1);
    CHECK(st == IPC_STATUS_RELOAD_FAILED && strstr(text, "not this process's") != NULL);

    agent_chan_free();
    printf("test_agent_chan: OK\n");
    return 0;
}
