/*
 * sess_live.c - which (mirror ID, session ID) pairs an announced intercept
 * on a session holds now, kept as intercepts are announced and go away, so
 * that se_icpt_active() answers without walking the sessions (the data
 * path's statistics ask it for each of their entries; mir_stats.h).
 *
 * A counting set: open addressing, linear probing, keyed hash, deletion by
 * backward shift.  It grows (allocation when intercepts change, never per
 * packet); when it cannot grow, it is dropped and se_icpt_active() walks
 * the sessions instead: slow, never wrong.
 */
#include <stdlib.h>
#include <string.h>

#include "sess_priv.h"

struct se_live_slot {
    uint32_t mid, sid;
    uint32_t count; /* 0: empty */
};

static uint32_t live_hash(const struct sess_engine *e, uint32_t mid, uint32_t sid)
{
    uint64_t h = (((uint64_t)mid << 32) | sid) ^ e->hkey;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static struct se_live_slot *live_find(const struct sess_engine *e, uint32_t mid, uint32_t sid)
{
    if (e->live_cap == 0)
        return NULL;
    uint32_t mask = (uint32_t)e->live_cap - 1;
    for (uint32_t i = live_hash(e, mid, sid) & mask; e->live[i].count != 0; i = (i + 1) & mask)
        if (e->live[i].mid == mid && e->live[i].sid == sid)
            return &e->live[i];
    return NULL;
}

static void live_put(struct se_live_slot *t, size_t cap, uint32_t h, struct se_live_slot v)
{
    uint32_t mask = (uint32_t)cap - 1, i = h & mask;
    while (t[i].count != 0)
        i = (i + 1) & mask;
    t[i] = v;
}

/* Room for one more distinct pair (load at most one half); 0 when memory is short. */
static int live_room(struct sess_engine *e)
{
    if ((e->live_used + 1) * 2 <= e->live_cap)
        return 1;
    size_t cap = e->live_cap == 0 ? 64 : e->live_cap * 2;
    struct se_live_slot *t = calloc(cap, sizeof(*t));
    if (t == NULL)
        return 0;
    for (size_t i = 0; i < e->live_cap; i++)
        if (e->live[i].count != 0)
            live_put(t, cap, live_hash(e, e->live[i].mid, e->live[i].sid), e->live[i]);
    if (e->live != NULL)
        explicit_bzero(e->live, e->live_cap * sizeof(*e->live));
    free(e->live);
    e->live = t;
    e->live_cap = cap;
    return 1;
}

static void live_add(struct sess_engine *e, uint32_t mid, uint32_t sid)
{
    if (e->live_lost)
        return;
    struct se_live_slot *x = live_find(e, mid, sid);
    if (x != NULL) {
        x->count++;
        return;
    }
    if (!live_room(e)) {
        se_live_free(e);
        e->live_lost = 1; /* se_icpt_active walks the sessions from now on */
        return;
    }
    live_put(e->live, e->live_cap, live_hash(e, mid, sid),
             (struct se_live_slot){.mid = mid, .sid = sid, .count = 1});
    e->live_used++;
}

static void live_del(struct sess_engine *e, uint32_t mid, uint32_t sid)
{
    struct se_live_slot *x = live_find(e, mid, sid);
    if (x == NULL || --x->count > 0)
        return;
    uint32_t mask = (uint32_t)e->live_cap - 1, i = (uint32_t)(x - e->live), j = i;
    e->live_used--;
    for (;;) {
        j = (j + 1) & mask;
        if (e->live[j].count == 0) {
            /* the slot left empty: its pair named the intercept (docs/hygiene.md) */
            explicit_bzero(&e->live[i], sizeof(e->live[i]));
            return;
        }
        uint32_t k = live_hash(e, e->live[j].mid, e->live[j].sid) & mask;
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            e->live[i] = e->live[j];
            e->live[j].count = 0;
            i = j;
        }
    }
}

void se_icpt_set_announced(struct sess_engine *e, struct se_icpt *ic, int on)
{
    on = on != 0;
    if (ic->announced == on)
        return;
    if (on) {
        live_add(e, ic->mirror_id, ic->session_id);
        ic->on_us = e->on_us;
    } else {
        live_del(e, ic->mirror_id, ic->session_id);
    }
    ic->announced = on;
}

void se_live_free(struct sess_engine *e)
{
    if (e->live != NULL)
        explicit_bzero(e->live, e->live_cap * sizeof(*e->live));
    free(e->live);
    e->live = NULL;
    e->live_cap = 0;
    e->live_used = 0;
}

static int static_active(const struct sess_engine *e, uint32_t mid, uint32_t sid)
{
    size_t walk = e->static_scan ? e->nrules : e->nstatic;
    for (size_t k = 0; e->nstatic > 0 && k < walk; k++) {
        const struct se_rule *r = &e->rules[e->static_scan ? k : e->static_run[k]];
        if (r->t.type == TRIG_INTERFACE && r->st_active && r->t.mirror_id == mid &&
            r->st_sid == sid)
            return 1;
    }
    return 0;
}

int se_icpt_active(const struct sess_engine *e, uint32_t mirror_id, uint32_t session_id)
{
    if (e == NULL)
        return 0;
    if (static_active(e, mirror_id, session_id))
        return 1;
    if (!e->live_lost)
        return live_find(e, mirror_id, session_id) != NULL;
    for (struct sess *s = st_next(e->st, NULL); s != NULL; s = st_next(e->st, s))
        for (const struct se_icpt *ic = s->icpt; ic != NULL; ic = ic->next)
            if (ic->announced && ic->mirror_id == mirror_id && ic->session_id == session_id)
                return 1;
    return 0;
}
