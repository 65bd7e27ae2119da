/*
 * cap_static.c - static interface mirrors in the capture process: each
 * source named by a `mirror interface` rule never delivers the data path's
 * own datagrams to the analyzers of the table's static mirrors
 * (cap_exclude.h), so an analyzer reached through a mirrored interface makes
 * no loop.  Set when the trigger table changes; the source keeps it across
 * its reopenings.  The userspace check (cp_own_datagram) stays behind it.
 */
#include <openssl/crypto.h>
#include <string.h>

#include "cap_proc_priv.h"
#include "pmirrord/cap_exclude.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/log.h"

#define CP_EXCL_DESTS 128 /* analyzers of static mirrors excluded (the text's room ends first) */

static int named_by_static(const struct cap_proc *p, const char *ifname)
{
    for (size_t i = 0; i < p->ntrig; i++)
        if (p->trig[i].rule.type == TRIG_INTERFACE && strcmp(p->trig[i].rule.text, ifname) == 0)
            return 1;
    return 0;
}

/* Is a among d[0..n) already (many static mirrors share an analyzer)? */
static int known(const struct cx_dest *d, size_t n, const struct trig_analyzer *a)
{
    for (size_t i = 0; i < n; i++)
        if (d[i].an.family == a->family && d[i].an.port == a->port &&
            memcmp(d[i].an.addr, a->addr, sizeof(a->addr)) == 0)
            return 1;
    return 0;
}

void cp_static_exclude(struct cap_proc *p)
{
    static struct cx_dest d[CP_EXCL_DESTS]; /* one thread */
    static char expr[CAP_EXCLUDE_MAX];
    char err[256];
    size_t n = 0;
    int too_many = 0;

    for (size_t i = 0; i < p->ntrig; i++) {
        const struct pm_trigger *r = &p->trig[i].rule;
        if (r->type != TRIG_INTERFACE || known(d, n, &r->analyzer))
            continue;
        if (n == CP_EXCL_DESTS) {
            too_many = 1;
            break;
        }
        d[n].an = r->analyzer;
        d[n].sport = p->jm != NULL ? jm_source_port(p->jm, &r->analyzer) : 0;
        n++;
    }
    if (too_many || cx_build(d, n, expr, sizeof(expr), err, sizeof(err)) < 0) {
        p->excl_failed++;
        log_warnx(CP_TOKEN, "static mirrors: too many analyzers to exclude our own datagrams in "
                            "the capture filter; they are recognised after capture instead");
        expr[0] = '\0';
    }
    for (size_t i = 0; i < p->nsrc; i++) {
        struct cp_source *s = &p->src[i];
        if (s->src == NULL || s->spec.offline)
            continue;
        const char *x = named_by_static(p, s->spec.src) ? expr : "";
        if (cap_source_set_exclude(s->src, x, err, sizeof(err)) == 0) {
            p->excl_set++;
            continue;
        }
        p->excl_failed++;
        /* err may quote the expression: analyzers stay out of the log */
        log_warnx(CP_TOKEN,
                  "%s: the filter excluding our own datagrams was not set (it did not "
                  "compile); they are recognised after capture instead",
                  s->where);
    }
    OPENSSL_cleanse(d, sizeof(d));
    OPENSSL_cleanse(expr, sizeof(expr));
}
