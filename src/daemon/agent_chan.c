/*
 * agent_chan.c - the agent's reload slices (agent_chan.h, docs/reload.md).
 *
 * After start-up the agent keeps its slice's lines (the running lines; its
 * memory is locked, and they are wiped when freed).  A reload slice (BEGIN
 * "reload" .. END, conf_slice.h) is collected with the running lines set, so
 * that each SAME record takes its text from the running line with that
 * SHA-256; an unknown digest, a line of another process's directive, a line
 * out of order or twice refuses it.  The rebuilt text is parsed by the same
 * parser as at start (conf_slice_load()) and handed to agent_reload_apply();
 * on success the reload slice's lines become the running lines.
 */
#include "agent_chan.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "agent_reload.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"

static struct {
    struct conf_slice *running; /* the lines the agent runs */
    struct conf_slice *rl;      /* a reload slice being collected */
    int refusing;               /* a record of it was refused: drop the rest until END */
    char why[512];
    struct agent_chan_counts n;
} ac;

void agent_chan_keep(struct conf_slice *running)
{
    conf_slice_free(ac.running);
    ac.running = running;
}

void agent_chan_free(void)
{
    conf_slice_free(ac.running);
    conf_slice_free(ac.rl);
    ac.running = ac.rl = NULL;
    ac.refusing = 0;
}

void agent_chan_counts(struct agent_chan_counts *out)
{
    *out = ac.n;
}

static int refused(uint8_t *state, char *text, size_t tlen)
{
    conf_slice_free(ac.rl);
    ac.rl = NULL;
    ac.refusing = 0;
    ac.n.reload_failed++;
    *state = IPC_STATUS_RELOAD_FAILED;
    snprintf(text, tlen, "%s", ac.why);
    log_warnx("reload", "reload slice refused: %s", ac.why);
    return 1;
}

/* The complete slice: parsed, applied, answered. */
static int apply(uint8_t *state, char *text, size_t tlen)
{
    static struct pm_conf next; /* large: not on the stack */
    char summary[1024] = "", err[512] = "";
    size_t lines = conf_slice_lines(ac.rl), same = conf_slice_same(ac.rl);
    ac.n.same_lines += same;
    log_info("reload", "reload slice: %zu line(s), %zu unchanged (taken by digest)", lines, same);
    if (conf_slice_load(ac.rl, NULL, &next, ac.why, sizeof(ac.why)) < 0) {
        OPENSSL_cleanse(&next, sizeof(next));
        return refused(state, text, tlen);
    }
    if (agent_reload_apply(&next, summary, sizeof(summary), err, sizeof(err)) < 0) {
        conf_free(&next); /* left to us on failure */
        OPENSSL_cleanse(&next, sizeof(next));
        snprintf(ac.why, sizeof(ac.why), "%s", err[0] ? err : "not applied");
        return refused(state, text, tlen);
    }
    OPENSSL_cleanse(&next, sizeof(next)); /* taken: only our copy of the struct goes */
    agent_chan_keep(ac.rl);               /* the running lines now */
    ac.rl = NULL;
    ac.n.reloads++;
    *state = IPC_STATUS_RELOADED;
    snprintf(text, tlen, "%s", summary[0] ? summary : "applied");
    return 1;
}

int agent_chan_config(const struct ipc_rec *rec, uint8_t *state, char *text, size_t tlen)
{
    if (ac.refusing) { /* the rest of a refused slice */
        return (rec->flags & IPC_F_END) ? refused(state, text, tlen) : 0;
    }
    if (ac.rl == NULL) {
        if (!(rec->flags & IPC_F_BEGIN)) { /* no slice open: nothing to answer */
            ac.n.stray++;
            log_debug("reload", "a CONFIG record outside a reload slice ignored");
            return 0;
        }
        if (ac.running == NULL || (ac.rl = conf_slice_new()) == NULL) {
            snprintf(ac.why, sizeof(ac.why), "%s",
                     ac.running == NULL ? "no running configuration lines" : "out of memory");
            ac.refusing = 1;
            return (rec->flags & IPC_F_END) ? refused(state, text, tlen) : 0;
        }
        conf_slice_set_dest(ac.rl, CONF_DEST_AGENT); /* never a capture secret */
        conf_slice_set_running(ac.rl, ac.running);
    }
    int r = conf_slice_rec(ac.rl, rec, ac.why, sizeof(ac.why));
    if (r < 0) {
        ac.refusing = 1;
        return (rec->flags & IPC_F_END) ? refused(state, text, tlen) : 0;
    }
    if (r == 0)
        return 0;
    return apply(state, text, tlen);
}
