/*
 * sess_report.c - the engine's RADIUS-provisioned intercepts told again
 * (sess_engine.h, se_report_all()): a restarted agent starts with an empty
 * intercept table, and only what the capture process tells it survives a
 * later restart of the capture process (docs/sessions.md, "Restart").
 */
#include "sess_priv.h"

size_t se_report_all(struct sess_engine *e)
{
    size_t n = 0;
    for (struct sess *s = st_next(e->st, NULL); s != NULL; s = st_next(e->st, s))
        for (const struct se_icpt *ic = s->icpt; ic != NULL; ic = ic->next)
            if (ic->rule == 0) { /* RADIUS-provisioned: the ones the agent keeps */
                se_report(e, s, ic, 1);
                n++;
            }
    return n;
}
