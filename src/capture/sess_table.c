/*
 * sess_table.c - the session table (sess_table.h; design and sizes in
 * docs/sessions-table.md).
 *
 * Sessions live in chunks of ST_CHUNK_N struct sess, each chunk mapped at an
 * address aligned to its own size, so that a struct sess pointer alone gives
 * its chunk (and so its number) by masking: pointers stay valid for the
 * session's life, and no per-session back pointer is needed.  A session's
 * identities (the strings of enum st_field and its IPv6 prefixes) are one
 * malloc() block of exactly their size, priv of struct sess.
 *
 * Indexes are open-addressing hash tables (sess_index.h).  A slot holds the session's number + 1
 * (0: empty) and either the key itself (IPv4 address, MAC address, IPv6 prefixes up to /64: found
 * without reading the session) or 32 or 64 bits of a keyed hash of it (strings, longer IPv6
 * prefixes: checked against the session).  IPv6 longest-prefix match keeps
 * one table per prefix length in use and probes them from the longest down;
 * a Framed-IPv6-Address is a /128 there.  Hashes are keyed with random
 * numbers drawn at st_new() (SipHash-2-4 for strings), so keys chosen on the
 * wire cannot be made to collide.
 *
 * One thread owns the table (sess_table.h): nothing here locks.
 */
#include "pmirrord/sess_table.h"

#include "pmirrord/errbuf.h"
#include "pmirrord/pkt_dedupe.h"
#include "sess_index.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#define ST_CHUNK_SHIFT 12
#define ST_CHUNK_N     (1u << ST_CHUNK_SHIFT)
#define ST_CHUNK_ALIGN ((size_t)1 << 19) /* >= sizeof(struct st_chunk) */
#define ST_MAX_LIMIT   (1u << 28)        /* sessions: keeps slot numbers and table sizes in range */
#define NAS_KEY_MAX    (2 * (2 + SIG_STR_MAX) + 1 + SIG_STR_MAX)

struct st_chunk {
    uint32_t no;
    uint32_t nlive;
    uint64_t live[ST_CHUNK_N / 64];
    struct sess s[ST_CHUNK_N];
};

_Static_assert(sizeof(struct st_chunk) <= ST_CHUNK_ALIGN, "a chunk fits its alignment");

/* A session's identities: lengths, the prefixes, then the strings in enum
 * st_field order. */
struct st_blob {
    uint8_t nprefix;
    uint8_t len[ST_NFIELDS];
    uint8_t data[]; /* struct sig_prefix6 [nprefix], then the strings */
};

struct sess_table {
    uint32_t max;
    size_t count;
    uint32_t hwm;       /* session numbers ever used */
    uint32_t free_head; /* first free number + 1, linked through router_id of free slots */
    struct st_chunk **chunk;
    uint32_t nchunk;
    uint64_t seed64; /* ip6_key() beyond /64 */
    uint8_t sipkey[16];
    size_t blob_bytes;
    struct ix8 ip4, acct, nas;
    struct ix16 mac;
    struct ix16 ip6[129]; /* by prefix length 1..128 */
    uint64_t len_used[2]; /* bit L-1 of word 0 (L <= 64) or L-65 of word 1: ip6[L] not empty */
};

/* ---- helpers ------------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

static inline uint64_t be64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return __builtin_bswap64(x);
}

static inline struct st_chunk *chunk_of(const struct sess *s)
{
    return (struct st_chunk *)((uintptr_t)s & ~(uintptr_t)(ST_CHUNK_ALIGN - 1));
}

static inline uint32_t sess_no(const struct sess *s)
{
    const struct st_chunk *c = chunk_of(s);
    return (c->no << ST_CHUNK_SHIFT) | (uint32_t)(s - c->s);
}

static inline struct sess *sess_at(const struct sess_table *t, uint32_t v)
{
    uint32_t n = v - 1;
    return &t->chunk[n >> ST_CHUNK_SHIFT]->s[n & (ST_CHUNK_N - 1)];
}

static void *map_zero(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ---- the identity block ------------------------------------------------------------------- */

static struct sig_str *ident_field(struct sig_ident *id, enum st_field f)
{
    switch (f) {
    case ST_USER:
        return &id->user;
    case ST_CSID:
        return &id->csid;
    case ST_ACCT_SID:
        return &id->acct_sid;
    case ST_NAS_PORT_ID:
        return &id->nas_port_id;
    case ST_NAS_ID:
        return &id->nas_id;
    case ST_CIRCUIT:
        return &id->circuit;
    case ST_REMOTE:
        return &id->remote;
    case ST_OPT82:
    default:
        return &id->opt82;
    }
}

static const struct sig_str *ident_str(const struct sig_ident *id, enum st_field f)
{
    return ident_field((struct sig_ident *)(uintptr_t)id, f);
}

/* A string's length, never past its array (a fact is checked, not trusted). */
static inline size_t slen(const struct sig_str *s)
{
    return s->len <= SIG_STR_MAX ? s->len : SIG_STR_MAX;
}

static size_t blob_size(const struct st_blob *b)
{
    size_t n = offsetof(struct st_blob, data) + (size_t)b->nprefix * sizeof(struct sig_prefix6);
    for (int f = 0; f < ST_NFIELDS; f++)
        n += b->len[f];
    return n;
}

static void blob_free(struct sess_table *t, struct st_blob *b)
{
    if (b == NULL)
        return;
    t->blob_bytes -= malloc_usable_size(b) + sizeof(size_t);
    OPENSSL_cleanse(b, blob_size(b));
    free(b);
}

/* Copies prefix p masked to its length; 0 if it is not a prefix. */
static int prefix_norm(const struct sig_prefix6 *p, struct sig_prefix6 *out)
{
    if (p->len < ST_PREFIX6_MIN || p->len > 128)
        return 0;
    memset(out, 0, sizeof(*out));
    out->len = p->len;
    unsigned full = p->len / 8, rest = p->len % 8;
    memcpy(out->addr, p->addr, full);
    if (rest != 0)
        out->addr[full] = (uint8_t)(p->addr[full] & (0xff00u >> rest));
    return 1;
}

/* The block for id (NULL with *empty set when id carries neither strings nor
 * prefixes; NULL otherwise: out of memory). */
static struct st_blob *blob_new(struct sess_table *t, const struct sig_ident *id, int *empty)
{
    struct sig_prefix6 pfx[SIG_PREFIX6_MAX];
    unsigned np = 0;
    size_t strs = 0;
    for (unsigned i = 0; i < id->nprefix6 && i < SIG_PREFIX6_MAX; i++) {
        struct sig_prefix6 p;
        if (!prefix_norm(&id->prefix6[i], &p))
            continue;
        int dup = 0;
        for (unsigned j = 0; j < np; j++)
            dup |= memcmp(&pfx[j], &p, sizeof(p)) == 0;
        if (!dup)
            pfx[np++] = p;
    }
    for (int f = 0; f < ST_NFIELDS; f++)
        strs += slen(ident_str(id, f));
    *empty = np == 0 && strs == 0;
    if (*empty)
        return NULL;
    size_t n = offsetof(struct st_blob, data) + np * sizeof(struct sig_prefix6) + strs;
    struct st_blob *b = malloc(n);
    if (b == NULL)
        return NULL;
    b->nprefix = (uint8_t)np;
    uint8_t *w = b->data;
    memcpy(w, pfx, np * sizeof(struct sig_prefix6));
    w += np * sizeof(struct sig_prefix6);
    for (int f = 0; f < ST_NFIELDS; f++) {
        const struct sig_str *s = ident_str(id, f);
        b->len[f] = (uint8_t)slen(s);
        memcpy(w, s->v, b->len[f]);
        w += b->len[f];
    }
    OPENSSL_cleanse(pfx, sizeof(pfx));
    t->blob_bytes += malloc_usable_size(b) + sizeof(size_t);
    return b;
}

static const struct sig_prefix6 *blob_prefixes(const struct st_blob *b)
{
    return (const struct sig_prefix6 *)(const void *)b->data;
}

size_t st_get(const struct sess *s, enum st_field f, const uint8_t **v)
{
    const struct st_blob *b = s->priv;
    *v = NULL;
    if (b == NULL || (unsigned)f >= ST_NFIELDS || b->len[f] == 0)
        return 0;
    const uint8_t *p = b->data + (size_t)b->nprefix * sizeof(struct sig_prefix6);
    for (int i = 0; i < (int)f; i++)
        p += b->len[i];
    *v = p;
    return b->len[f];
}

unsigned st_prefixes6(const struct sess *s, const struct sig_prefix6 **out)
{
    const struct st_blob *b = s->priv;
    *out = b != NULL ? blob_prefixes(b) : NULL;
    return b != NULL ? b->nprefix : 0;
}

void st_ident(const struct sess *s, struct sig_ident *out)
{
    memset(out, 0, sizeof(*out));
    for (int f = 0; f < ST_NFIELDS; f++) {
        const uint8_t *v;
        size_t n = st_get(s, f, &v);
        struct sig_str *d = ident_field(out, f);
        d->len = (uint8_t)n;
        if (n > 0)
            memcpy(d->v, v, n);
    }
    const struct sig_prefix6 *p;
    out->nprefix6 = st_prefixes6(s, &p);
    if (out->nprefix6 > 0)
        memcpy(out->prefix6, p, out->nprefix6 * sizeof(*p));
    out->nas_ip = s->nas_ip;
    out->has_nas_port = s->has_nas_port;
    out->nas_port = s->nas_port;
    out->framed_ip = s->framed_ip;
    out->has_framed_ip6 = s->has_ip6;
    memcpy(out->framed_ip6, s->ip6, 16);
    out->has_chaddr = s->has_chaddr;
    memcpy(out->chaddr, s->chaddr, 6);
}

/* Drops prefix i of s in place (its address was taken by another session). */
static void blob_drop_prefix(struct sess *s, unsigned i)
{
    struct st_blob *b = s->priv;
    size_t total = blob_size(b);
    uint8_t *p = b->data + i * sizeof(struct sig_prefix6);
    size_t tail = total - (size_t)(p + sizeof(struct sig_prefix6) - (uint8_t *)b);
    memmove(p, p + sizeof(struct sig_prefix6), tail);
    OPENSSL_cleanse((uint8_t *)b + total - sizeof(struct sig_prefix6), sizeof(struct sig_prefix6));
    b->nprefix--;
    s->nprefix6 = b->nprefix;
}

/* ---- keys ---------------------------------------------------------------------------------- */

static uint32_t str_tag(const struct sess_table *t, const uint8_t *v, size_t n)
{
    return (uint32_t)(pkt_siphash24(t->sipkey, v, n) >> 32);
}

/* (NAS-IP-Address or NAS-Identifier, NAS-Port or NAS-Port-Id, User-Name) as
 * one octet string, each part tagged with its kind; 0: incomplete. */
static size_t nas_key(uint8_t *buf, uint32_t nas_ip, const uint8_t *nas_id, size_t nid,
                      int has_port, uint32_t port, const uint8_t *port_id, size_t npid,
                      const uint8_t *user, size_t nuser)
{
    size_t n = 0;
    if ((nas_ip == 0 && nid == 0) || (!has_port && npid == 0) || nuser == 0)
        return 0;
    if (nas_ip != 0) {
        buf[n++] = 'a';
        memcpy(buf + n, &nas_ip, 4);
        n += 4;
    } else {
        buf[n++] = 'i';
        buf[n++] = (uint8_t)nid;
        memcpy(buf + n, nas_id, nid);
        n += nid;
    }
    if (has_port) {
        buf[n++] = 'p';
        memcpy(buf + n, &port, 4);
        n += 4;
    } else {
        buf[n++] = 'q';
        buf[n++] = (uint8_t)npid;
        memcpy(buf + n, port_id, npid);
        n += npid;
    }
    buf[n++] = (uint8_t)nuser;
    memcpy(buf + n, user, nuser);
    return n + nuser;
}

static size_t sess_nas_key(const struct sess *s, uint8_t *buf)
{
    const uint8_t *nid, *pid, *user;
    size_t nn = st_get(s, ST_NAS_ID, &nid), np = st_get(s, ST_NAS_PORT_ID, &pid);
    size_t nu = st_get(s, ST_USER, &user);
    return nas_key(buf, s->nas_ip, nid, nn, s->has_nas_port, s->nas_port, pid, np, user, nu);
}

static inline uint64_t mac_key(const uint8_t m[6])
{
    uint64_t k = 0;
    for (int i = 0; i < 6; i++)
        k = k << 8 | m[i];
    return k | (uint64_t)1 << 48;
}

/* The ip6[len] key of a (masked) address. */
static inline uint64_t ip6_key(const struct sess_table *t, uint64_t hi, uint64_t lo, unsigned len)
{
    if (len <= 64)
        return hi & (~0ull << (64 - len));
    lo &= ~0ull << (128 - len);
    return mix64(mix64(hi ^ t->seed64) ^ lo) | 1;
}

static int prefix_holds(const uint8_t *p, unsigned len, const uint8_t addr[16])
{
    unsigned full = len / 8, rest = len % 8;
    if (memcmp(p, addr, full) != 0)
        return 0;
    return rest == 0 || ((p[full] ^ addr[full]) & (0xff00u >> rest)) == 0;
}

/* Does s hold a /len entry (Framed-IPv6-Address as /128, or a prefix) that covers addr? */
static int sess_has6(const struct sess *s, unsigned len, const uint8_t addr[16])
{
    if (len == 128 && s->has_ip6 && memcmp(s->ip6, addr, 16) == 0)
        return 1;
    const struct sig_prefix6 *p;
    unsigned n = st_prefixes6(s, &p);
    for (unsigned i = 0; i < n; i++)
        if (p[i].len == len && prefix_holds(p[i].addr, len, addr))
            return 1;
    return 0;
}

static void len_mark(struct sess_table *t, unsigned len)
{
    uint64_t bit = (uint64_t)1 << ((len - 1) & 63);
    if (t->ip6[len].count > 0)
        t->len_used[len > 64] |= bit;
    else
        t->len_used[len > 64] &= ~bit;
}

/* ---- lookups ------------------------------------------------------------------------------ */

struct sess *st_find_ip4(const struct sess_table *t, uint32_t addr_be)
{
    const struct ix8 *x = &t->ip4;
    if (x->bits == 0 || addr_be == 0)
        return NULL;
    uint32_t mask = (1u << x->bits) - 1;
    uint32_t pos =
        (uint32_t)(((uint64_t)(addr_be ^ x->seed) * 0x9E3779B97F4A7C15ull) >> (64 - x->bits));
    for (;;) {
        const struct slot8 *e = &x->s[pos];
        if (e->v == 0)
            return NULL;
        if (e->k == addr_be)
            return sess_at(t, e->v);
        pos = (pos + 1) & mask;
    }
}

/* Probes ip6[len] for key k from its home position pos. */
static inline uint32_t probe6(const struct sess_table *t, unsigned len, uint64_t k, uint32_t pos,
                              const uint8_t addr[16])
{
    const struct ix16 *x = &t->ip6[len];
    uint32_t mask = (1u << x->bits) - 1;
    for (; x->s[pos].v != 0; pos = (pos + 1) & mask) {
        if (x->s[pos].k != k)
            continue;
        if (len <= 64 || sess_has6(sess_at(t, x->s[pos].v), len, addr))
            return x->s[pos].v;
    }
    return 0;
}

/* The session number + 1 holding the /len entry for addr, or 0. */
static uint32_t find6_len(const struct sess_table *t, unsigned len, uint64_t hi, uint64_t lo,
                          const uint8_t addr[16])
{
    if (t->ip6[len].bits == 0)
        return 0;
    uint64_t k = ip6_key(t, hi, lo, len);
    return probe6(t, len, k, ix16_pos(&t->ip6[len], k), addr);
}

/* Longest first.  The home slots of the first ST_PREFETCH6 lengths in use are
 * prefetched before any is read, so that their cache misses overlap instead
 * of following one another (docs/sessions-table.md). */
#define ST_PREFETCH6 8

struct sess *st_find_ip6(const struct sess_table *t, const uint8_t addr[16])
{
    uint64_t hi = be64(addr), lo = be64(addr + 8);
    uint64_t m[2] = {t->len_used[0], t->len_used[1]};
    unsigned len[ST_PREFETCH6], n = 0;
    uint64_t key[ST_PREFETCH6];
    uint32_t pos[ST_PREFETCH6];
    for (int w = 1; w >= 0 && n < ST_PREFETCH6; w--)
        while (m[w] != 0 && n < ST_PREFETCH6) {
            unsigned b = 63u - (unsigned)__builtin_clzll(m[w]);
            m[w] &= ~((uint64_t)1 << b);
            len[n] = b + 1 + 64u * (unsigned)w;
            key[n] = ip6_key(t, hi, lo, len[n]);
            pos[n] = ix16_pos(&t->ip6[len[n]], key[n]);
            __builtin_prefetch(&t->ip6[len[n]].s[pos[n]]);
            n++;
        }
    for (unsigned i = 0; i < n; i++) {
        uint32_t v = probe6(t, len[i], key[i], pos[i], addr);
        if (v != 0)
            return sess_at(t, v);
    }
    for (int w = 1; w >= 0; w--) /* the lengths past the first ST_PREFETCH6 */
        while (m[w] != 0) {
            unsigned b = 63u - (unsigned)__builtin_clzll(m[w]);
            m[w] &= ~((uint64_t)1 << b);
            uint32_t v = find6_len(t, b + 1 + 64u * (unsigned)w, hi, lo, addr);
            if (v != 0)
                return sess_at(t, v);
        }
    return NULL;
}

/* The newest entry of a tagged string index whose session's key equals
 * (v, n).  Entries of one key lie along one probe run in the order they were
 * put (sess_index.h), so the last match is the newest. */
static uint32_t find_tagged(const struct sess_table *t, const struct ix8 *x, const uint8_t *v,
                            size_t n, int nas)
{
    if (x->bits == 0 || n == 0)
        return 0;
    uint32_t k = str_tag(t, v, n), mask = (1u << x->bits) - 1, found = 0;
    uint8_t buf[NAS_KEY_MAX];
    size_t used = 0;
    for (uint32_t pos = ix8_pos(x, k); x->s[pos].v != 0; pos = (pos + 1) & mask) {
        if (x->s[pos].k != k)
            continue;
        const struct sess *s = sess_at(t, x->s[pos].v);
        const uint8_t *sv = buf;
        size_t sn = nas ? sess_nas_key(s, buf) : st_get(s, ST_ACCT_SID, &sv);
        if (nas && sn > used)
            used = sn;
        if (sn == n && memcmp(sv, v, n) == 0)
            found = x->s[pos].v;
    }
    OPENSSL_cleanse(buf, used);
    return found;
}

struct sess *st_find_acct_sid(const struct sess_table *t, const uint8_t *v, size_t n)
{
    uint32_t e = find_tagged(t, &t->acct, v, n, 0);
    return e != 0 ? sess_at(t, e) : NULL;
}

struct sess *st_find_nas_key(const struct sess_table *t, const struct sig_ident *id)
{
    uint8_t buf[NAS_KEY_MAX];
    size_t n =
        nas_key(buf, id->nas_ip, id->nas_id.v, slen(&id->nas_id), id->has_nas_port, id->nas_port,
                id->nas_port_id.v, slen(&id->nas_port_id), id->user.v, slen(&id->user));
    uint32_t e = find_tagged(t, &t->nas, buf, n, 1);
    OPENSSL_cleanse(buf, n);
    return e != 0 ? sess_at(t, e) : NULL;
}

struct sess *st_find_chaddr(const struct sess_table *t, const uint8_t mac[6])
{
    const struct ix16 *x = &t->mac;
    if (x->bits == 0)
        return NULL;
    uint64_t k = mac_key(mac);
    uint32_t mask = (1u << x->bits) - 1, found = 0;
    for (uint32_t pos = ix16_pos(x, k); x->s[pos].v != 0; pos = (pos + 1) & mask)
        if (x->s[pos].k == k)
            found = x->s[pos].v; /* the last is the newest, as in find_tagged() */
    return found != 0 ? sess_at(t, found) : NULL;
}

/* ---- indexing ----------------------------------------------------------------------------- */

/* Room in every index for what s-to-be (id, prefixes in b) adds. */
static int reserve_for(struct sess_table *t, const struct sig_ident *id, const struct st_blob *b)
{
    if (ix8_reserve(&t->ip4, 1) < 0 || ix8_reserve(&t->acct, 1) < 0 ||
        ix8_reserve(&t->nas, 1) < 0 || ix16_reserve(&t->mac, 1) < 0)
        return -1;
    if (id->has_framed_ip6 && ix16_reserve(&t->ip6[128], 1) < 0)
        return -1;
    const struct sig_prefix6 *p = b != NULL ? blob_prefixes(b) : NULL;
    for (unsigned i = 0; b != NULL && i < b->nprefix; i++)
        if (ix16_reserve(&t->ip6[p[i].len], SIG_PREFIX6_MAX + 1) < 0)
            return -1;
    return 0;
}

/* Takes every /len entry of other equal to addr's (it moved to another session). */
static void strip6(struct sess *other, unsigned len, const uint8_t addr[16])
{
    if (len == 128 && other->has_ip6 && memcmp(other->ip6, addr, 16) == 0) {
        other->has_ip6 = 0;
        OPENSSL_cleanse(other->ip6, sizeof(other->ip6));
    }
    const struct sig_prefix6 *p;
    unsigned n = st_prefixes6(other, &p);
    for (unsigned i = n; i-- > 0;)
        if (p[i].len == len && prefix_holds(p[i].addr, len, addr))
            blob_drop_prefix(other, i);
}

/* Indexes the /len entry for addr (masked) under v; steals it from another session. */
static void put6(struct sess_table *t, unsigned len, const uint8_t addr[16], uint32_t v,
                 struct sess **stolen)
{
    uint64_t hi = be64(addr), lo = be64(addr + 8);
    struct ix16 *x = &t->ip6[len];
    uint32_t old = find6_len(t, len, hi, lo, addr);
    if (old == v)
        return; /* the same address twice in one session */
    uint64_t k = ip6_key(t, hi, lo, len);
    if (old != 0) {
        struct sess *o = sess_at(t, old);
        ix16_del(x, k, old);
        strip6(o, len, addr);
        if (stolen != NULL && *stolen == NULL)
            *stolen = o;
    }
    ix16_put(x, k, v);
    len_mark(t, len);
}

static void index_sess(struct sess_table *t, struct sess *s, struct sess **stolen)
{
    uint32_t v = sess_no(s) + 1;
    if (s->framed_ip != 0) {
        struct sess *o = st_find_ip4(t, s->framed_ip);
        if (o != s) {
            if (o != NULL) {
                ix8_del(&t->ip4, s->framed_ip, sess_no(o) + 1);
                o->framed_ip = 0;
                if (stolen != NULL && *stolen == NULL)
                    *stolen = o;
            }
            ix8_put(&t->ip4, s->framed_ip, v);
        }
    }
    if (s->has_ip6)
        put6(t, 128, s->ip6, v, stolen);
    const struct sig_prefix6 *p;
    unsigned n = st_prefixes6(s, &p);
    for (unsigned i = 0; i < n; i++)
        put6(t, p[i].len, p[i].addr, v, stolen);
    /* Keys that sessions may share: put after any other's entries of the
     * key, so this session is the one found until it goes. */
    const uint8_t *a;
    size_t na = st_get(s, ST_ACCT_SID, &a);
    if (na > 0)
        ix8_put(&t->acct, str_tag(t, a, na), v);
    uint8_t buf[NAS_KEY_MAX];
    size_t nk = sess_nas_key(s, buf);
    if (nk > 0)
        ix8_put(&t->nas, str_tag(t, buf, nk), v);
    OPENSSL_cleanse(buf, nk);
    if (s->has_chaddr)
        ix16_put(&t->mac, mac_key(s->chaddr), v);
}

static void unindex_sess(struct sess_table *t, struct sess *s)
{
    uint32_t v = sess_no(s) + 1;
    if (s->framed_ip != 0)
        ix8_del(&t->ip4, s->framed_ip, v);
    if (s->has_ip6) {
        ix16_del(&t->ip6[128], ip6_key(t, be64(s->ip6), be64(s->ip6 + 8), 128), v);
        len_mark(t, 128);
    }
    const struct sig_prefix6 *p;
    unsigned n = st_prefixes6(s, &p);
    for (unsigned i = 0; i < n; i++) {
        ix16_del(&t->ip6[p[i].len], ip6_key(t, be64(p[i].addr), be64(p[i].addr + 8), p[i].len), v);
        len_mark(t, p[i].len);
    }
    const uint8_t *a;
    size_t na = st_get(s, ST_ACCT_SID, &a);
    if (na > 0)
        ix8_del(&t->acct, str_tag(t, a, na), v);
    uint8_t buf[NAS_KEY_MAX];
    size_t nk = sess_nas_key(s, buf);
    if (nk > 0)
        ix8_del(&t->nas, str_tag(t, buf, nk), v);
    OPENSSL_cleanse(buf, nk);
    if (s->has_chaddr)
        ix16_del(&t->mac, mac_key(s->chaddr), v);
}

/* ---- the table ---------------------------------------------------------------------------- */

struct sess_table *st_new(uint32_t max_sessions, char *err, size_t errlen)
{
    if (max_sessions == 0 || max_sessions > ST_MAX_LIMIT) {
        pm_err(err, errlen, "maxSubscribers must be from 1 to %u", ST_MAX_LIMIT);
        return NULL;
    }
    struct sess_table *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        pm_err(err, errlen, "out of memory for the session table");
        return NULL;
    }
    t->max = max_sessions;
    t->chunk = calloc((max_sessions + ST_CHUNK_N - 1) / ST_CHUNK_N, sizeof(*t->chunk));
    uint8_t rnd[28];
    if (t->chunk == NULL || getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        free(t->chunk);
        free(t);
        pm_err(err, errlen, "cannot set the session table up (memory or random numbers)");
        return NULL;
    }
    memcpy(&t->ip4.seed, rnd, 4);
    memcpy(&t->seed64, rnd + 4, 8);
    memcpy(t->sipkey, rnd + 12, 16);
    OPENSSL_cleanse(rnd, sizeof(rnd));
    t->acct.tagged = 1;
    t->nas.tagged = 1;
    t->mac.seed = mix64(t->seed64 ^ 0x6d6163u);
    for (unsigned l = 1; l <= 128; l++)
        t->ip6[l].seed = mix64(t->seed64 + l);
    return t;
}

void st_free(struct sess_table *t)
{
    if (t == NULL)
        return;
    for (uint32_t c = 0; c < t->nchunk; c++) {
        struct st_chunk *ch = t->chunk[c];
        for (uint32_t i = 0; i < ST_CHUNK_N; i++)
            if (ch->live[i / 64] & ((uint64_t)1 << (i % 64)))
                blob_free(t, ch->s[i].priv);
        OPENSSL_cleanse(ch, sizeof(*ch));
        munmap(ch, ST_CHUNK_ALIGN);
    }
    ix8_free(&t->ip4);
    ix8_free(&t->acct);
    ix8_free(&t->nas);
    ix16_free(&t->mac);
    for (unsigned l = 1; l <= 128; l++)
        ix16_free(&t->ip6[l]);
    free(t->chunk);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

size_t st_count(const struct sess_table *t)
{
    return t->count;
}

uint32_t st_max(const struct sess_table *t)
{
    return t->max;
}

/* A chunk at an address aligned to ST_CHUNK_ALIGN (chunk_of()). */
static struct st_chunk *chunk_new(uint32_t no)
{
    uint8_t *p = map_zero(2 * ST_CHUNK_ALIGN);
    if (p == NULL)
        return NULL;
    uintptr_t a = ((uintptr_t)p + ST_CHUNK_ALIGN - 1) & ~(uintptr_t)(ST_CHUNK_ALIGN - 1);
    size_t head = a - (uintptr_t)p;
    if (head > 0)
        munmap(p, head);
    munmap((uint8_t *)a + ST_CHUNK_ALIGN, ST_CHUNK_ALIGN - head);
    struct st_chunk *c = (struct st_chunk *)a;
    c->no = no;
    return c;
}

/* A free session slot (zeroed), or NULL. */
static struct sess *slot_take(struct sess_table *t)
{
    uint32_t n;
    if (t->free_head != 0) {
        n = t->free_head - 1;
        struct sess *s = sess_at(t, t->free_head);
        t->free_head = s->router_id;
        s->router_id = 0;
    } else {
        n = t->hwm;
        if ((n >> ST_CHUNK_SHIFT) == t->nchunk) {
            struct st_chunk *c = chunk_new(t->nchunk);
            if (c == NULL)
                return NULL;
            t->chunk[t->nchunk++] = c;
        }
        t->hwm++;
    }
    struct st_chunk *c = t->chunk[n >> ST_CHUNK_SHIFT];
    uint32_t i = n & (ST_CHUNK_N - 1);
    c->live[i / 64] |= (uint64_t)1 << (i % 64);
    c->nlive++;
    return &c->s[i];
}

static void set_addrs(struct sess *s, const struct sig_ident *id)
{
    if (id->framed_ip != 0)
        s->framed_ip = id->framed_ip;
    if (id->has_framed_ip6) {
        s->has_ip6 = 1;
        memcpy(s->ip6, id->framed_ip6, 16);
    }
    if (id->has_chaddr) {
        s->has_chaddr = 1;
        memcpy(s->chaddr, id->chaddr, 6);
    }
    if (id->nas_ip != 0)
        s->nas_ip = id->nas_ip;
    if (id->has_nas_port) {
        s->has_nas_port = 1;
        s->nas_port = id->nas_port;
    }
}

struct sess *st_create(struct sess_table *t, const struct sig_ident *id, struct sess **stolen,
                       char *err, size_t errlen)
{
    if (stolen != NULL)
        *stolen = NULL;
    if (t->count >= t->max) {
        pm_err(err, errlen, "the session table is full (maxSubscribers %u)", t->max);
        return NULL;
    }
    int empty;
    struct st_blob *b = blob_new(t, id, &empty);
    if (b == NULL && !empty) {
        pm_err(err, errlen, "out of memory for a session's identities");
        return NULL;
    }
    struct sess *s = NULL;
    if (reserve_for(t, id, b) < 0 || (s = slot_take(t)) == NULL) {
        blob_free(t, b);
        pm_err(err, errlen, "out of memory for the session indexes");
        return NULL;
    }
    t->count++;
    s->priv = b;
    s->nprefix6 = b != NULL ? b->nprefix : 0;
    s->last_src = 0xff;
    set_addrs(s, id);
    index_sess(t, s, stolen);
    return s;
}

int st_update(struct sess_table *t, struct sess *s, const struct sig_ident *id, char *err,
              size_t errlen)
{
    struct sig_ident *m = malloc(sizeof(*m));
    if (m == NULL)
        return pm_err(err, errlen, "out of memory for a session update");
    st_ident(s, m);
    for (int f = 0; f < ST_NFIELDS; f++) {
        const struct sig_str *n = ident_str(id, f);
        if (n->len > 0)
            *ident_field(m, f) = *n;
    }
    /* Prefixes: the new ones first, then the old ones while there is room. */
    struct sig_prefix6 pf[SIG_PREFIX6_MAX];
    unsigned np = 0;
    for (unsigned i = 0; i < id->nprefix6 && i < SIG_PREFIX6_MAX; i++)
        pf[np++] = id->prefix6[i];
    for (unsigned i = 0; i < m->nprefix6 && np < SIG_PREFIX6_MAX; i++)
        pf[np++] = m->prefix6[i];
    memcpy(m->prefix6, pf, sizeof(pf));
    m->nprefix6 = np;
    OPENSSL_cleanse(pf, sizeof(pf));
    int empty;
    struct st_blob *b = blob_new(t, m, &empty);
    int rc = 0;
    if (b == NULL && !empty)
        rc = pm_err(err, errlen, "out of memory for a session's identities");
    else if (reserve_for(t, id, b) < 0) {
        blob_free(t, b);
        rc = pm_err(err, errlen, "out of memory for the session indexes");
    } else {
        unindex_sess(t, s);
        set_addrs(s, id); /* a renewed address replaces the old one */
        blob_free(t, s->priv);
        s->priv = b;
        s->nprefix6 = b != NULL ? b->nprefix : 0;
        index_sess(t, s, NULL);
    }
    OPENSSL_cleanse(m, sizeof(*m));
    free(m);
    return rc;
}

void st_destroy(struct sess_table *t, struct sess *s)
{
    unindex_sess(t, s);
    blob_free(t, s->priv);
    uint32_t n = sess_no(s);
    OPENSSL_cleanse(s, sizeof(*s));
    struct st_chunk *c = chunk_of(s);
    uint32_t i = n & (ST_CHUNK_N - 1);
    c->live[i / 64] &= ~((uint64_t)1 << (i % 64));
    c->nlive--;
    s->router_id = t->free_head;
    t->free_head = n + 1;
    t->count--;
}

struct sess *st_next(const struct sess_table *t, const struct sess *prev)
{
    uint32_t n = prev != NULL ? sess_no(prev) + 1 : 0;
    while (n < t->hwm) {
        struct st_chunk *c = t->chunk[n >> ST_CHUNK_SHIFT];
        uint32_t i = n & (ST_CHUNK_N - 1);
        uint64_t w = c->live[i / 64] & (~0ull << (i % 64));
        if (w != 0)
            return &c->s[(i & ~63u) + (uint32_t)__builtin_ctzll(w)];
        n = (n | 63u) + 1;
    }
    return NULL;
}

size_t st_memory(const struct sess_table *t)
{
    size_t n = sizeof(*t) + ((t->max + ST_CHUNK_N - 1) / ST_CHUNK_N) * sizeof(*t->chunk);
    n += (size_t)t->nchunk * sizeof(struct st_chunk);
    n += t->blob_bytes;
    n += ix8_bytes(&t->ip4) + ix8_bytes(&t->acct) + ix8_bytes(&t->nas) + ix16_bytes(&t->mac);
    for (unsigned l = 1; l <= 128; l++)
        n += ix16_bytes(&t->ip6[l]);
    return n;
}
