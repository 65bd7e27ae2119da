/*
 * radius_replay.c - the request authenticators seen within
 * radiusReplayWindow (radius_track_priv.h; docs/radius.md "Freshness"): of
 * CoA- and Disconnect-Requests, keyed by (NAS, authenticator), and of
 * completed Access and Accounting exchanges, keyed by (NAS, server,
 * authenticator); a hash and a list in arrival order, forgotten as the
 * window moves on.
 */
#include "radius_track_priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define RR_BUCKETS 4096u /* a power of two */
#define RR_KEY_LEN (1 + 16 + 16 + RAD_AUTH_LEN)

struct rr_entry {
    struct rr_entry *hnext;
    struct rr_entry *next; /* arrival order */
    uint8_t key[RR_KEY_LEN];
    int64_t t_s;
};

struct rr_table {
    struct rr_entry *bucket[RR_BUCKETS];
    struct rr_entry *head, *tail;
    size_t n;
};

struct rr_table *rr_new(void)
{
    return calloc(1, sizeof(struct rr_table));
}

static unsigned hash(const uint8_t *k)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < RR_KEY_LEN; i++)
        h = (h ^ k[i]) * 16777619u;
    return h & (RR_BUCKETS - 1);
}

/* Removes the oldest entry. */
static void drop_head(struct rr_table *t)
{
    struct rr_entry *e = t->head;
    struct rr_entry **pp = &t->bucket[hash(e->key)];
    while (*pp != NULL && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp == e)
        *pp = e->hnext;
    t->head = e->next;
    if (t->head == NULL)
        t->tail = NULL;
    t->n--;
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

void rr_free(struct rr_table *t)
{
    if (t == NULL)
        return;
    while (t->head != NULL)
        drop_head(t);
    free(t);
}

/* t_s + window_s < now_s, without overflow */
static int gone(int64_t t_s, int64_t now_s, unsigned window_s)
{
    return now_s > t_s && (uint64_t)now_s - (uint64_t)t_s > (uint64_t)window_s;
}

int rr_check(struct rr_table *t, int family, const uint8_t *addr, const uint8_t *addr2,
             const uint8_t *auth, int64_t now_s, unsigned window_s)
{
    while (t->head != NULL && gone(t->head->t_s, now_s, window_s))
        drop_head(t);
    size_t n = family == 4 ? 4 : 16;
    uint8_t key[RR_KEY_LEN] = {(uint8_t)family};
    memcpy(key + 1, addr, n);
    if (addr2 != NULL)
        memcpy(key + 17, addr2, n);
    memcpy(key + 33, auth, RAD_AUTH_LEN);
    unsigned h = hash(key);
    for (struct rr_entry *e = t->bucket[h]; e != NULL; e = e->hnext)
        if (memcmp(e->key, key, sizeof(key)) == 0 && !gone(e->t_s, now_s, window_s))
            return 1;
    while (t->n >= RR_MAX_SEEN)
        drop_head(t);
    struct rr_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -1;
    memcpy(e->key, key, sizeof(key));
    e->t_s = now_s;
    e->hnext = t->bucket[h];
    t->bucket[h] = e;
    if (t->tail != NULL)
        t->tail->next = e;
    else
        t->head = e;
    t->tail = e;
    t->n++;
    return 0;
}
