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
