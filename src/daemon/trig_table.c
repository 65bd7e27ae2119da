/*
 * trig_table.c - the agent's trigger table (trig_table.h).
 */
#include "trig_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int trig_table_init(struct trig_table *t, const struct pm_conf *c, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->max = c->max_triggers != 0 ? c->max_triggers : TRIG_DEFAULT_MAX;
    if (c->ntriggers > t->max) { /* conf.c refuses it: a slice that says otherwise is broken */
        snprintf(err, errlen, "%zu triggers, more than maxTriggers (%zu)", c->ntriggers, t->max);
        return -1;
    }
    t->v = calloc(t->max, sizeof(*t->v));
    if (t->v == NULL || pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t->v);
        t->v = NULL;
        snprintf(err, errlen, "out of memory for %zu triggers", t->max);
        return -1;
    }
    for (size_t i = 0; i < c->ntriggers; i++) {
        t->v[i].rule = c->triggers[i].rule;
        snprintf(t->v[i].where, sizeof(t->v[i].where), "%s", c->triggers[i].where);
    }
    t->n = c->ntriggers;
    t->cap = t->max;
    return 0;
}

void trig_table_free(struct trig_table *t)
{
    if (t->v == NULL)
        return;
    OPENSSL_cleanse(t->v, t->max * sizeof(*t->v));
    free(t->v);
    pthread_mutex_destroy(&t->mu);
    memset(t, 0, sizeof(*t));
}

int trig_table_add(struct trig_table *t, const struct pm_trigger *r, const char *where,
                   char *dup_where, size_t dup_len)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++)
        if (trig_same(&t->v[i].rule, r)) {
            snprintf(dup_where, dup_len, "%s", t->v[i].where);
            pthread_mutex_unlock(&t->mu);
            return TRIG_ADD_DUP;
        }
    if (t->n == t->max) {
        pthread_mutex_unlock(&t->mu);
        return TRIG_ADD_FULL;
    }
    t->v[t->n].rule = *r;
    snprintf(t->v[t->n].where, sizeof(t->v[t->n].where), "%s", where);
    t->n++;
    t->changes++;
    pthread_mutex_unlock(&t->mu);
    return TRIG_ADD_OK;
}

size_t trig_table_del(struct trig_table *t, const struct pm_trigger_del *d)
{
    pthread_mutex_lock(&t->mu);
    size_t kept = 0, n = t->n;
    for (size_t i = 0; i < n; i++) {
        if (trig_del_matches(d, &t->v[i].rule))
            continue;
        if (kept != i)
            t->v[kept] = t->v[i];
        kept++;
    }
    OPENSSL_cleanse(t->v + kept, (n - kept) * sizeof(*t->v));
    t->n = kept;
    if (kept != n)
        t->changes++;
    pthread_mutex_unlock(&t->mu);
    return n - kept;
}

struct trig_entry *trig_table_copy(struct trig_table *t, size_t *n, size_t *max)
{
    pthread_mutex_lock(&t->mu);
    *n = t->n;
    if (max != NULL)
        *max = t->max;
    struct trig_entry *c = t->n > 0 ? calloc(t->n, sizeof(*c)) : NULL;
    if (c != NULL)
        memcpy(c, t->v, t->n * sizeof(*c));
    pthread_mutex_unlock(&t->mu);
    return c;
}

struct ipc_trigger *trig_table_ipc(struct trig_table *t, size_t *n)
{
    pthread_mutex_lock(&t->mu);
    *n = t->n;
    struct ipc_trigger *c = t->n > 0 ? calloc(t->n, sizeof(*c)) : NULL;
    for (size_t i = 0; c != NULL && i < t->n; i++) {
        c[i].config_source = t->v[i].rule.type == TRIG_INTERFACE ? 3 : 2;
        c[i].rule = t->v[i].rule;
    }
    pthread_mutex_unlock(&t->mu);
    return c;
}

int trig_rule_equal(const struct pm_trigger *a, const struct pm_trigger *b)
{
    return trig_same(a, b) && strcmp(a->text, b->text) == 0 &&
           a->analyzer.family == b->analyzer.family &&
           memcmp(a->analyzer.addr, b->analyzer.addr, a->analyzer.family == 6 ? 16 : 4) == 0 &&
           a->analyzer.port == b->analyzer.port && a->direction == b->direction &&
           a->has_session_id == b->has_session_id &&
           (!a->has_session_id || a->session_id == b->session_id) && a->from == b->from &&
           a->until == b->until;
}

/* Is e one of the file's entries ("FILE:LINE")? */
static int from_file(const struct trig_entry *e, const char *file, size_t flen)
{
    return strncmp(e->where, file, flen) == 0 && e->where[flen] == ':';
}

int trig_table_reload(struct trig_table *t, const char *file, const struct pm_conf_trigger *v,
                      size_t n, size_t max, struct trig_reload_counts *counts, int *changed,
                      trig_note_fn note, void *note_arg, char *err, size_t errlen)
{
    size_t flen = strlen(file), k = 0;
    memset(counts, 0, sizeof(*counts));
    *changed = 0;
    if (max == 0)
        max = TRIG_DEFAULT_MAX;
    if (max > t->cap) {
        snprintf(err, errlen, "maxTriggers %zu is above %zu, the size locked at the start", max,
                 t->cap);
        return -1;
    }
    unsigned char *used = calloc(n ? n : 1, 1);
    struct trig_entry *nv = calloc(t->cap, sizeof(*nv));
    if (used == NULL || nv == NULL) {
        free(used);
        free(nv);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++) {
        const struct trig_entry *e = &t->v[i];
        if (!from_file(e, file, flen)) {
            if (k == t->cap)
                goto full;
            nv[k++] = *e; /* pmirrorctl's: stays */
            continue;
        }
        size_t j = 0;
        while (j < n && (used[j] || !trig_rule_equal(&v[j].rule, &e->rule)))
            j++;
        if (j == n) {
            counts->removed++;
            continue;
        }
        used[j] = 1;
        if (k == t->cap)
            goto full;
        nv[k].rule = e->rule;
        snprintf(nv[k].where, sizeof(nv[k].where), "%s", v[j].where);
        k++;
        counts->unchanged++;
    }
    size_t kept = k;
    for (size_t j = 0; j < n; j++) {
        if (used[j])
            continue;
        size_t i = 0;
        while (i < kept && !trig_same(&nv[i].rule, &v[j].rule))
            i++;
        if (i < kept) { /* the same rule from pmirrorctl, or twice in the file */
            counts->kept_ctl++;
            continue;
        }
        if (k == t->cap)
            goto full;
        nv[k].rule = v[j].rule;
        snprintf(nv[k].where, sizeof(nv[k].where), "%s", v[j].where);
        k++;
        counts->added++;
    }
    if (k > max)
        goto full;
    for (size_t i = 0; note != NULL && i < t->n; i++) {
        if (!from_file(&t->v[i], file, flen))
            continue;
        size_t j = 0;
        while (j < kept &&
               !(from_file(&nv[j], file, flen) && trig_rule_equal(&nv[j].rule, &t->v[i].rule)))
            j++;
        if (j == kept)
            note(note_arg, 0, &t->v[i]);
    }
    for (size_t i = kept; note != NULL && i < k; i++)
        note(note_arg, 1, &nv[i]);
    OPENSSL_cleanse(t->v, t->cap * sizeof(*t->v));
    free(t->v);
    t->v = nv;
    t->n = k;
    t->max = max;
    *changed = counts->added > 0 || counts->removed > 0;
    if (*changed)
        t->changes++;
    pthread_mutex_unlock(&t->mu);
    OPENSSL_cleanse(used, n ? n : 1);
    free(used);
    return 0;
full:
    pthread_mutex_unlock(&t->mu);
    snprintf(err, errlen, "the trigger table would hold more than maxTriggers (%zu) rules", max);
    OPENSSL_cleanse(nv, t->cap * sizeof(*nv));
    free(nv);
    free(used);
    memset(counts, 0, sizeof(*counts));
    return -1;
}
