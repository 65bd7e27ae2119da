/*
 * icpt_table.c - the agent's table of RADIUS-provisioned intercepts
 * (icpt_table.h).  An entry is one allocation: a header, the key (mirror ID
 * and identities in a canonical form) and the encoded INTERCEPT record.
 * Entries stay in ascending sequence order (appended; removal shifts), so
 * icpt_table_next() is a binary search.
 */
#include "pmirrord/icpt_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pmirrord/ipc.h"

#define KEY_MAX (4 + 8 * (1 + SIG_STR_MAX) + 4 + 5 + 4 + 17 + 1 + 17 * SIG_PREFIX6_MAX + 4 + 7)

struct entry {
    uint64_t seq;
    uint16_t keylen, reclen;
    uint8_t data[]; /* key, then the record (header and body) */
};

struct icpt_table {
    pthread_mutex_t mu;
    size_t max, max_bytes;
    struct entry **v;
    size_t n, bytes;
    uint64_t next_seq;
    struct icpt_counts c;
    uint8_t enc[IPC_REC_HDR + IPC_REC_MAX];                   /* scratch: encoding */
    uint8_t batch[IPC_BATCH_HDR + IPC_REC_HDR + IPC_REC_MAX]; /* scratch: decoding */
    struct pm_intercept *out; /* icpt_table_next(): where the decoder writes */
};

static size_t key_of(const struct pm_intercept *ic, uint8_t *k)
{
    const struct sig_ident *id = &ic->id;
    const struct sig_str *s[] = {&id->user,   &id->csid,    &id->acct_sid, &id->nas_port_id,
                                 &id->nas_id, &id->circuit, &id->remote,   &id->opt82};
    size_t n = 0;
    memcpy(k + n, &ic->mirror_id, 4);
    n += 4;
    for (size_t i = 0; i < 8; i++) {
        uint8_t len = s[i]->len > SIG_STR_MAX ? SIG_STR_MAX : s[i]->len;
        k[n++] = len;
        memcpy(k + n, s[i]->v, len);
        n += len;
    }
    memcpy(k + n, &id->nas_ip, 4);
    n += 4;
    k[n++] = id->has_nas_port ? 1 : 0;
    memcpy(k + n, id->has_nas_port ? &id->nas_port : &(uint32_t){0}, 4);
    n += 4;
    memcpy(k + n, &id->framed_ip, 4);
    n += 4;
    k[n++] = id->has_framed_ip6 ? 1 : 0;
    memcpy(k + n, id->framed_ip6, 16);
    n += 16;
    unsigned np = id->nprefix6 > SIG_PREFIX6_MAX ? SIG_PREFIX6_MAX : id->nprefix6;
    k[n++] = (uint8_t)np;
    for (unsigned i = 0; i < np; i++) {
        memcpy(k + n, id->prefix6[i].addr, 16);
        k[n + 16] = id->prefix6[i].len;
        n += 17;
    }
    memcpy(k + n, &id->peer_ip, 4);
    n += 4;
    k[n++] = id->has_chaddr ? 1 : 0;
    memcpy(k + n, id->chaddr, 6);
    n += 6;
    return n;
}

struct icpt_table *icpt_table_new(size_t max, size_t max_bytes)
{
    struct icpt_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->max = max != 0 ? max : ICPT_TABLE_MAX;
    t->max_bytes = max_bytes != 0 ? max_bytes : ICPT_TABLE_BYTES;
    t->v = calloc(t->max, sizeof(*t->v));
    if (t->v == NULL || pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t->v);
        free(t);
        return NULL;
    }
    return t;
}

static size_t entry_size(const struct entry *e)
{
    return sizeof(*e) + e->keylen + e->reclen;
}

static void entry_free(struct entry *e)
{
    OPENSSL_cleanse(e, entry_size(e));
    free(e);
}

void icpt_table_free(struct icpt_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        entry_free(t->v[i]);
    free(t->v);
    pthread_mutex_destroy(&t->mu);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

static size_t find(const struct icpt_table *t, const uint8_t *k, size_t kl)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i]->keylen == kl && memcmp(t->v[i]->data, k, kl) == 0)
            return i;
    return (size_t)-1;
}

int icpt_table_up(struct icpt_table *t, const struct pm_intercept *ic)
{
    uint8_t k[KEY_MAX];
    char err[160];
    struct ipc_rec *r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto drop_unlocked;
    r->type = IPC_INTERCEPT;
    r->flags = IPC_F_ICPT_UP;
    r->u.intercept.ic = *ic;
    size_t kl = key_of(ic, k);
    pthread_mutex_lock(&t->mu);
    ssize_t rl = ipc_rec_encode(r, t->enc, sizeof(t->enc), err, sizeof(err));
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
    if (rl < 0)
        goto drop;
    size_t at = find(t, k, kl);
    size_t old = at != (size_t)-1 ? entry_size(t->v[at]) : 0;
    size_t sz = sizeof(struct entry) + kl + (size_t)rl;
    if ((at == (size_t)-1 && t->n == t->max) || t->bytes - old + sz > t->max_bytes)
        goto drop;
    struct entry *e = malloc(sz);
    if (e == NULL)
        goto drop;
    e->keylen = (uint16_t)kl;
    e->reclen = (uint16_t)rl;
    memcpy(e->data, k, kl);
    memcpy(e->data + kl, t->enc, (size_t)rl);
    OPENSSL_cleanse(t->enc, (size_t)rl);
    int rc;
    if (at != (size_t)-1) {
        e->seq = t->v[at]->seq; /* keeps its place */
        t->bytes -= old;
        entry_free(t->v[at]);
        t->v[at] = e;
        t->c.replaced++;
        rc = 1;
    } else {
        e->seq = ++t->next_seq;
        t->v[t->n++] = e;
        rc = 0;
    }
    t->bytes += sz;
    t->c.ups++;
    pthread_mutex_unlock(&t->mu);
    OPENSSL_cleanse(k, sizeof(k));
    return rc;
drop:
    OPENSSL_cleanse(t->enc, sizeof(t->enc));
    t->c.drops++;
    pthread_mutex_unlock(&t->mu);
    OPENSSL_cleanse(k, sizeof(k));
    return -1;
drop_unlocked:
    pthread_mutex_lock(&t->mu);
    t->c.drops++;
    pthread_mutex_unlock(&t->mu);
    return -1;
}

/* An entry's key e (key_of(), from the UP) names the intercept of a DOWN's key d:
 * the same mirror ID and, field by field, the same identity wherever the entry
 * has one.  A session learns identities after its intercept began
 * (Acct-Session-Id, a framed address at Accounting-Start), so the DOWN of an
 * intercept often carries more than its UP: without this the entry, the
 * subscriber's identities with it, would stay until the agent stops
 * (docs/hygiene.md).  Only the entry's empty fields match anything: a DOWN
 * that lacks an identity the entry has names another intercept (else a DOWN
 * holding little more than a mirror ID would end whichever entry of that
 * mirror ID came first, and a restarted capture process would not get the
 * intercept back).  Returns -1 (not the same), or how many fields of the entry
 * had an identity (the most specific entry wins). */
static int field(const uint8_t *e, const uint8_t *d, size_t *ie, size_t *id, size_t le, size_t ld,
                 size_t el, size_t dl, int *set)
{
    if (*ie + le > el || *id + ld > dl)
        return 0;
    int e_empty = 1;
    for (size_t i = 0; i < le; i++)
        e_empty &= e[*ie + i] == 0;
    int ok = e_empty || (le == ld && memcmp(e + *ie, d + *id, le) == 0);
    *set += !e_empty;
    *ie += le;
    *id += ld;
    return ok;
}

static int same_intercept(const uint8_t *e, size_t el, const uint8_t *d, size_t dl)
{
    size_t ie = 4, id = 4;
    int set = 0;
    if (el < 4 || dl < 4 || memcmp(e, d, 4) != 0)
        return -1;
    for (int i = 0; i < 8; i++) { /* length-prefixed identities */
        if (ie >= el || id >= dl)
            return -1;
        size_t le = e[ie++], ld = d[id++];
        if (!field(e, d, &ie, &id, le, ld, el, dl, &set))
            return -1;
    }
    /* nas_ip, has_nas_port + nas_port, framed_ip, has_framed_ip6 + address */
    static const size_t fixed[] = {4, 5, 4, 17};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (!field(e, d, &ie, &id, fixed[i], fixed[i], el, dl, &set))
            return -1;
    if (ie >= el || id >= dl) /* the IPv6 prefixes: their count, then 17 octets each */
        return -1;
    size_t pe = 17u * e[ie++], pd = 17u * d[id++];
    if (!field(e, d, &ie, &id, pe, pd, el, dl, &set))
        return -1;
    /* peer_ip, has_chaddr + chaddr */
    if (!field(e, d, &ie, &id, 4, 4, el, dl, &set) || !field(e, d, &ie, &id, 7, 7, el, dl, &set) ||
        ie != el || id != dl)
        return -1;
    return set;
}

int icpt_table_down(struct icpt_table *t, const struct pm_intercept *ic)
{
    uint8_t k[KEY_MAX];
    size_t kl = key_of(ic, k);
    pthread_mutex_lock(&t->mu);
    size_t at = find(t, k, kl);
    if (at == (size_t)-1) {
        int best = -1;
        for (size_t i = 0; i < t->n; i++) {
            int set = same_intercept(t->v[i]->data, t->v[i]->keylen, k, kl);
            if (set > best) {
                best = set;
                at = i;
            }
        }
    }
    OPENSSL_cleanse(k, sizeof(k));
    if (at == (size_t)-1) {
        t->c.unknown++;
        pthread_mutex_unlock(&t->mu);
        return -1;
    }
    t->bytes -= entry_size(t->v[at]);
    entry_free(t->v[at]);
    memmove(t->v + at, t->v + at + 1, (t->n - at - 1) * sizeof(*t->v));
    t->v[--t->n] = NULL;
    t->c.downs++;
    pthread_mutex_unlock(&t->mu);
    return 0;
}

void icpt_table_counts(const struct icpt_table *t, struct icpt_counts *out)
{
    pthread_mutex_lock((pthread_mutex_t *)&t->mu);
    *out = t->c;
    out->n = t->n;
    out->bytes = t->bytes;
    pthread_mutex_unlock((pthread_mutex_t *)&t->mu);
}

static void take(struct ipc_rec *rec, void *arg)
{
    struct icpt_table *t = arg;
    if (rec->type == IPC_INTERCEPT)
        *t->out = rec->u.intercept.ic;
}

uint64_t icpt_table_next(struct icpt_table *t, uint64_t after, struct pm_intercept *ic)
{
    struct ipc_rx_counts rc;
    uint64_t seq = 0;
    pthread_mutex_lock(&t->mu);
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* the first entry with seq > after */
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid]->seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n) {
        const struct entry *e = t->v[lo];
        size_t len = IPC_BATCH_HDR + e->reclen;
        ipc_batch_header(t->batch, 1, (uint32_t)len);
        memcpy(t->batch + IPC_BATCH_HDR, e->data + e->keylen, e->reclen);
        memset(&rc, 0, sizeof(rc));
        memset(ic, 0, sizeof(*ic));
        t->out = ic;
        if (ipc_batch_parse(t->batch, len, NULL, 0, take, t, &rc) == 1)
            seq = e->seq;
        t->out = NULL;
        OPENSSL_cleanse(t->batch, len);
    }
    pthread_mutex_unlock(&t->mu);
    return seq;
}

uint64_t icpt_table_last_seq(struct icpt_table *t)
{
    uint64_t seq = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i]->seq > seq)
            seq = t->v[i]->seq;
    pthread_mutex_unlock(&t->mu);
    return seq;
}
