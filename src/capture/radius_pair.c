/*
 * radius_pair.c - pending RADIUS requests, found again by their response
 * (radius_track_priv.h; docs/radius.md "Pairing"): a hash of (Identifier,
 * addresses, ports) and a list oldest first for expiry.
 */
#include "radius_track_priv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define RP_BUCKETS 16384u /* a power of two */

/* Two age lists: [0] requests nothing signs (an Access-Request without a
 * Message-Authenticator: anyone can send them), [1] signed ones.  A full
 * table gives up unsigned requests first, so a flood of forged
 * Access-Requests cannot push out pending Accounting-, CoA- and
 * Disconnect-Requests. */
struct rp_age {
    struct rp_entry *head, *tail;
};

struct rp_table {
    uint32_t seed; /* the hash's, random: a key's bucket cannot be chosen */
    struct rp_entry *bucket[RP_BUCKETS];
    struct rp_age age[2];
    size_t n;
};

struct rp_table *rp_new(void)
{
    struct rp_table *t = calloc(1, sizeof(struct rp_table));
    if (t != NULL && getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t->seed = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec * 2654435761u ^ (uint32_t)getpid();
    }
    return t;
}

/*
 * The requester's address and port, and the Identifier, are whatever anyone
 * puts on the wire: with a fixed hash, keys chosen to share one bucket
 * would make every lookup walk tens of thousands of entries.  FNV-1a from
 * a random basis, then a finaliser (MurmurHash3 fmix32) so that the low
 * bits depend on all of them.  (No padding: the struct is 4+32 octets.)
 */
uint32_t rp_hash(const struct rp_table *t, const struct rp_key *k)
{
    const uint8_t *p = (const uint8_t *)k;
    uint32_t h = 2166136261u ^ t->seed;
    for (size_t i = 0; i < sizeof(*k); i++)
        h = (h ^ p[i]) * 16777619u;
    h ^= t->seed;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static unsigned key_hash(const struct rp_table *t, const struct rp_key *k)
{
    return rp_hash(t, k) & (RP_BUCKETS - 1);
}

static int key_eq(const struct rp_key *a, const struct rp_key *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static void unlink_age(struct rp_table *t, struct rp_entry *e)
{
    struct rp_age *a = &t->age[e->is_signed];
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        a->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        a->tail = e->prev;
    e->prev = e->next = NULL;
}

static void link_tail(struct rp_table *t, struct rp_entry *e)
{
    struct rp_age *a = &t->age[e->is_signed];
    e->prev = a->tail;
    e->next = NULL;
    if (a->tail != NULL)
        a->tail->next = e;
    else
        a->head = e;
    a->tail = e;
}

/* The oldest entry of either list, or NULL. */
static struct rp_entry *oldest(const struct rp_table *t)
{
    struct rp_entry *u = t->age[0].head, *s = t->age[1].head;
    if (u == NULL)
        return s;
    if (s == NULL)
        return u;
    return s->t_ms < u->t_ms ? s : u;
}

static void wipe_free(struct rp_entry *e)
{
    if (e->pkt != NULL) {
        OPENSSL_cleanse(e->pkt, e->len);
        free(e->pkt);
    }
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

void rp_remove(struct rp_table *t, struct rp_entry *e)
{
    struct rp_entry **pp = &t->bucket[key_hash(t, &e->key)];
    while (*pp != NULL && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp == e)
        *pp = e->hnext;
    unlink_age(t, e);
    t->n--;
    wipe_free(e);
}

void rp_free(struct rp_table *t)
{
    if (t == NULL)
        return;
    struct rp_entry *e;
    while ((e = oldest(t)) != NULL)
        rp_remove(t, e);
    free(t);
}

int rp_answers(uint8_t req, uint8_t resp)
{
    switch (req) {
    case RAD_ACCESS_REQUEST:
        return resp == RAD_ACCESS_ACCEPT || resp == RAD_ACCESS_REJECT ||
               resp == RAD_ACCESS_CHALLENGE;
    case RAD_ACCOUNTING_REQUEST:
        return resp == RAD_ACCOUNTING_RESPONSE;
    case RAD_COA_REQUEST:
        return resp == RAD_COA_ACK || resp == RAD_COA_NAK;
    case RAD_DISCONNECT_REQUEST:
        return resp == RAD_DISCONNECT_ACK || resp == RAD_DISCONNECT_NAK;
    default:
        return 0;
    }
}

int rp_put(struct rp_table *t, const struct rp_key *k, uint8_t code, const uint8_t *auth,
           const uint8_t *pkt, size_t len, int is_signed, uint64_t t_ms, unsigned *evicted)
{
    unsigned h = key_hash(t, k);
    for (struct rp_entry *e = t->bucket[h]; e != NULL; e = e->hnext)
        if (key_eq(&e->key, k) && e->code == code && memcmp(e->auth, auth, RAD_AUTH_LEN) == 0) {
            e->t_ms = t_ms; /* a retransmission: the timeout starts again */
            unlink_age(t, e);
            link_tail(t, e);
            return 1;
        }
    /* A response is verified against each request of its key: a key holds
     * few, the oldest gives way (a NAS has one, two when it reuses an
     * Identifier; more are forged). */
    struct rp_entry *oldest_same = NULL;
    unsigned same = 0;
    for (struct rp_entry *e = t->bucket[h]; e != NULL; e = e->hnext)
        if (key_eq(&e->key, k)) {
            same++;
            if (oldest_same == NULL || e->t_ms <= oldest_same->t_ms)
                oldest_same = e;
        }
    if (same >= RP_MAX_PER_KEY) {
        rp_remove(t, oldest_same);
        (*evicted)++;
    }
    while (t->n >= RP_MAX_PENDING) {
        struct rp_entry *old = t->age[0].head != NULL ? t->age[0].head : t->age[1].head;
        if (old == NULL)
            break;
        rp_remove(t, old);
        (*evicted)++;
    }
    struct rp_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -1;
    e->pkt = malloc(len);
    if (e->pkt == NULL) {
        free(e);
        return -1;
    }
    memcpy(e->pkt, pkt, len);
    e->len = len;
    e->key = *k;
    e->code = code;
    memcpy(e->auth, auth, RAD_AUTH_LEN);
    e->t_ms = t_ms;
    e->is_signed = is_signed ? 1 : 0;
    e->hnext = t->bucket[h];
    t->bucket[h] = e;
    link_tail(t, e);
    t->n++;
    return 0;
}

unsigned rp_find(struct rp_table *t, const struct rp_key *k, uint8_t resp_code,
                 struct rp_entry **first)
{
    unsigned n = 0;
    *first = NULL;
    for (struct rp_entry *e = t->bucket[key_hash(t, k)]; e != NULL; e = e->hnext)
        if (key_eq(&e->key, k) && rp_answers(e->code, resp_code)) {
            if (n++ == 0)
                *first = e;
        }
    return n;
}

struct rp_entry *rp_find_next(struct rp_table *t, const struct rp_key *k, uint8_t resp_code,
                              struct rp_entry *after)
{
    (void)t;
    for (struct rp_entry *e = after != NULL ? after->hnext : NULL; e != NULL; e = e->hnext)
        if (key_eq(&e->key, k) && rp_answers(e->code, resp_code))
            return e;
    return NULL;
}

void rp_drop_all(struct rp_table *t, const struct rp_key *k, uint8_t resp_code)
{
    struct rp_entry *e;
    while (rp_find(t, k, resp_code, &e) > 0)
        rp_remove(t, e);
}

unsigned rp_expire(struct rp_table *t, uint64_t cutoff_ms)
{
    unsigned n = 0;
    struct rp_entry *e;
    while ((e = oldest(t)) != NULL && e->t_ms < cutoff_ms) {
        rp_remove(t, e);
        n++;
    }
    return n;
}

int64_t rp_oldest(const struct rp_table *t)
{
    const struct rp_entry *e = oldest(t);
    return e != NULL ? (int64_t)e->t_ms : -1;
}

size_t rp_count(const struct rp_table *t)
{
    return t->n;
}
