/*
 * ip_reasm.c - IPv4/IPv6 fragment reassembly (see ip_reasm.h).
 *
 * A small table searched linearly: it holds the few datagrams that are
 * fragmented at once on a RADIUS/DHCP path, and a fragment flood fills it,
 * evicting the oldest, without costing more than max_datagrams comparisons
 * per fragment.  Fragment data lives in a per-datagram buffer grown (never
 * by realloc: the old copy is wiped) to the highest end seen.
 *
 * Abbreviations: fo fragment offset in bytes, dg datagram, unfrag the IPv6
 * header plus the extension headers that precede the fragment header.
 */
#include "pmirrord/ip_reasm.h"

#include <stdlib.h>
#include <string.h>

#define BUF_STEP 1024 /* buffer growth granularity */

struct frag {
    uint32_t off, len;
};

struct dg {
    int used, dead;
    int family;
    uint8_t src[16], dst[16];
    uint8_t proto;
    uint32_t id;
    uint64_t first_ms;
    uint8_t hdr[REASM_MAX_UNFRAG]; /* first fragment's header (IPv6: unfrag part) */
    size_t hdrlen;
    size_t nh_rel; /* IPv6: offset in hdr of the next-header byte naming the fragment header */
    int have_first, have_last;
    size_t total; /* data bytes, once the last fragment is in */
    size_t got;   /* data bytes held (fragments never overlap) */
    uint8_t *buf;
    size_t cap;
    struct frag frags[REASM_MAX_FRAGS];
    unsigned nfrags;
};

struct reasm {
    struct dg *dgs;
    size_t ndg;
    size_t max_bytes;
    unsigned timeout_ms;
    uint64_t next_due; /* no datagram expires before this time */
    struct reasm_stats st;
};

static const char *const result_names[] = {
    "bad-argument", "bad-fragment", "overlap", "too-big", "too-many-fragments", "memory", "outbuf",
};

const char *reasm_result_name(int rc)
{
    switch (rc) {
    case REASM_NOT_FRAGMENT:
        return "not-a-fragment";
    case REASM_COMPLETE:
        return "complete";
    case REASM_NEED_MORE:
        return "need-more";
    default:
        if (rc < 0 && rc >= REASM_E_OUTBUF)
            return result_names[-rc - 1];
        return "unknown";
    }
}

struct reasm *reasm_new(size_t max_datagrams, size_t max_bytes, unsigned timeout_ms)
{
    if (max_datagrams == 0 || max_datagrams > 65536 || timeout_ms == 0)
        return NULL;
    struct reasm *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->dgs = calloc(max_datagrams, sizeof(*r->dgs));
    if (r->dgs == NULL) {
        free(r);
        return NULL;
    }
    r->ndg = max_datagrams;
    r->max_bytes = max_bytes;
    r->timeout_ms = timeout_ms;
    return r;
}

/* Empties a slot, wiping its data. */
static void dg_clear(struct reasm *r, struct dg *d)
{
    if (d->buf != NULL) {
        explicit_bzero(d->buf, d->cap);
        free(d->buf);
        r->st.bytes -= d->cap;
    }
    if (d->used)
        r->st.in_progress--;
    explicit_bzero(d, sizeof(*d));
}

/* Drops a datagram but keeps its key, so its later fragments are dropped too. */
static void dg_kill(struct reasm *r, struct dg *d)
{
    if (d->buf != NULL) {
        explicit_bzero(d->buf, d->cap);
        free(d->buf);
        r->st.bytes -= d->cap;
    }
    d->buf = NULL;
    d->cap = 0;
    d->dead = 1;
}

static uint64_t age(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

void reasm_expire(struct reasm *r, uint64_t now_ms)
{
    if (r == NULL || r->st.in_progress == 0 || now_ms < r->next_due)
        return;
    uint64_t due = UINT64_MAX;
    for (size_t i = 0; i < r->ndg; i++) {
        struct dg *d = &r->dgs[i];
        if (!d->used)
            continue;
        if (age(now_ms, d->first_ms) >= r->timeout_ms) {
            if (!d->dead)
                r->st.timeouts++;
            dg_clear(r, d);
        } else if (d->first_ms + r->timeout_ms < due) {
            due = d->first_ms + r->timeout_ms;
        }
    }
    r->next_due = due;
}

/* The oldest datagram other than keep, or NULL. */
static struct dg *oldest(struct reasm *r, const struct dg *keep, int with_data)
{
    struct dg *o = NULL;
    for (size_t i = 0; i < r->ndg; i++) {
        struct dg *d = &r->dgs[i];
        if (!d->used || d == keep || (with_data && d->buf == NULL))
            continue;
        if (o == NULL || d->first_ms < o->first_ms)
            o = d;
    }
    return o;
}

static void evict(struct reasm *r, struct dg *d)
{
    if (!d->dead)
        r->st.evictions++;
    dg_clear(r, d);
}

struct key {
    int family;
    uint8_t src[16], dst[16];
    uint8_t proto;
    uint32_t id;
};

static struct dg *lookup(struct reasm *r, const struct key *k, uint64_t now)
{
    struct dg *free_slot = NULL;
    for (size_t i = 0; i < r->ndg; i++) {
        struct dg *d = &r->dgs[i];
        if (!d->used) {
            if (free_slot == NULL)
                free_slot = d;
            continue;
        }
        if (d->family == k->family && d->proto == k->proto && d->id == k->id &&
            memcmp(d->src, k->src, 16) == 0 && memcmp(d->dst, k->dst, 16) == 0)
            return d;
    }
    struct dg *d = free_slot;
    if (d == NULL) {
        d = oldest(r, NULL, 0);
        evict(r, d);
    }
    d->used = 1;
    d->family = k->family;
    memcpy(d->src, k->src, 16);
    memcpy(d->dst, k->dst, 16);
    d->proto = k->proto;
    d->id = k->id;
    d->first_ms = now;
    if (now + r->timeout_ms < r->next_due || r->st.in_progress == 0)
        r->next_due = now + r->timeout_ms;
    r->st.in_progress++;
    return d;
}

/* Makes room for need bytes of data; -1 when max_bytes cannot allow it or malloc fails. */
static int grow(struct reasm *r, struct dg *d, size_t need)
{
    if (need <= d->cap)
        return 0;
    size_t cap = (need + BUF_STEP - 1) / BUF_STEP * BUF_STEP;
    if (cap > REASM_MAX_PACKET)
        cap = REASM_MAX_PACKET;
    size_t more = cap - d->cap;
    if (more > r->max_bytes)
        return -1;
    while (r->st.bytes + more > r->max_bytes) {
        struct dg *o = oldest(r, d, 1);
        if (o == NULL)
            return -1;
        evict(r, o);
    }
    uint8_t *nb = calloc(1, cap);
    if (nb == NULL)
        return -1;
    if (d->buf != NULL) {
        memcpy(nb, d->buf, d->cap);
        explicit_bzero(d->buf, d->cap);
        free(d->buf);
    }
    r->st.bytes += cap - d->cap;
    d->buf = nb;
    d->cap = cap;
    return 0;
}

/* The RFC 1071 checksum of an IPv4 header whose checksum field is zero. */
static uint16_t ip_cksum(const uint8_t *h, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(h[i] << 8 | h[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Writes the whole packet; returns its length or a negative reasm_result. */
static int emit(struct dg *d, uint8_t *out, size_t outlen, size_t *outn)
{
    size_t n = d->hdrlen + d->total;
    if (d->family == PKT_FAM_IPV4 ? n > REASM_MAX_PACKET : n - 40 > REASM_MAX_PACKET)
        return REASM_E_TOO_BIG;
    if (n > outlen)
        return REASM_E_OUTBUF;
    memcpy(out, d->hdr, d->hdrlen);
    memcpy(out + d->hdrlen, d->buf, d->total);
    if (d->family == PKT_FAM_IPV4) {
        out[2] = (uint8_t)(n >> 8);
        out[3] = (uint8_t)n;
        out[6] &= 0x40; /* keep DF; clear MF and the offset */
        out[7] = 0;
        out[10] = out[11] = 0;
        uint16_t c = ip_cksum(out, d->hdrlen);
        out[10] = (uint8_t)(c >> 8);
        out[11] = (uint8_t)c;
    } else {
        out[4] = (uint8_t)((n - 40) >> 8);
        out[5] = (uint8_t)(n - 40);
    }
    *outn = n;
    return REASM_COMPLETE;
}

/* Drops d, counting the reason rc; returns rc. */
static int drop(struct reasm *r, struct dg *d, int rc)
{
    switch (rc) {
    case REASM_E_OVERLAP:
        r->st.overlaps++;
        break;
    case REASM_E_TOO_BIG:
        r->st.too_big++;
        break;
    case REASM_E_TOO_MANY:
        r->st.too_many++;
        break;
    case REASM_E_MEMORY:
        r->st.memory++;
        break;
    case REASM_E_OUTBUF:
        r->st.outbuf++;
        break;
    default:
        r->st.bad++;
        break;
    }
    dg_kill(r, d);
    return rc;
}

int reasm_add(struct reasm *r, const struct pkt_view *v, uint64_t now_ms, uint8_t *out,
              size_t outlen, size_t *outn)
{
    size_t dummy;
    if (outn == NULL)
        outn = &dummy;
    *outn = 0;
    if (r == NULL || v == NULL || (out == NULL && outlen > 0))
        return REASM_E_ARG;
    if (v->family == PKT_FAM_NONE || !(v->flags & PKT_F_FRAG))
        return REASM_NOT_FRAGMENT;
    reasm_expire(r, now_ms);
    r->st.fragments++;

    /* The fragment's extent; the checks also refuse a view pkt_decode() did not accept. */
    size_t unfrag = v->family == PKT_FAM_IPV4 ? v->l3_hdrlen : v->frag_hdr_off - v->l3_off;
    size_t dstart = v->l3_off + (v->family == PKT_FAM_IPV4 ? unfrag : unfrag + 8);
    if ((v->flags & PKT_F_SNAPPED) || v->l3_caplen != v->ip_len || v->l3_off > v->caplen ||
        v->ip_len > v->caplen - v->l3_off ||
        (v->family != PKT_FAM_IPV4 && v->frag_hdr_off < v->l3_off + 40) ||
        unfrag > REASM_MAX_UNFRAG || unfrag < 20 || dstart > v->l3_off + v->ip_len) {
        r->st.bad++;
        return REASM_E_BAD;
    }
    const uint8_t *ip = v->frame + v->l3_off;
    struct key k = {.family = v->family, .id = v->frag_id};
    if (v->family == PKT_FAM_IPV4) {
        k.proto = v->proto;
        memcpy(k.src, v->src, 4);
        memcpy(k.dst, v->dst, 4);
    } else {
        k.proto = v->frame[v->frag_hdr_off];
        memcpy(k.src, v->src, 16);
        memcpy(k.dst, v->dst, 16);
    }
    /* Whole fragments only; all but the last carry a multiple of 8 bytes. */
    size_t fo = v->frag_off, dlen = v->l3_off + v->ip_len - dstart;
    int mf = (v->flags & PKT_F_MF) != 0;
    if (dlen == 0 || (mf && dlen % 8 != 0)) {
        r->st.bad++;
        return REASM_E_BAD;
    }
    size_t maxdata =
        v->family == PKT_FAM_IPV4 ? REASM_MAX_PACKET - unfrag : REASM_MAX_PACKET - (unfrag - 40);

    struct dg *d = lookup(r, &k, now_ms);
    if (d->dead) {
        r->st.dead++;
        return REASM_E_OVERLAP;
    }
    if (fo + dlen > maxdata)
        return drop(r, d, REASM_E_TOO_BIG);
    for (unsigned i = 0; i < d->nfrags; i++) {
        const struct frag *f = &d->frags[i];
        if (fo < f->off + f->len && f->off < fo + dlen) {
            if (fo == f->off && dlen == f->len &&
                memcmp(d->buf + fo, ip + (dstart - v->l3_off), dlen) == 0) {
                r->st.duplicates++;
                return REASM_NEED_MORE;
            }
            return drop(r, d, REASM_E_OVERLAP);
        }
        /* Data past the end the last fragment sets contradicts it. */
        if (!mf && f->off + f->len > fo + dlen)
            return drop(r, d, REASM_E_OVERLAP);
    }
    if (d->have_last && (!mf ? fo + dlen != d->total : fo + dlen > d->total))
        return drop(r, d, REASM_E_OVERLAP);
    if (d->nfrags == REASM_MAX_FRAGS)
        return drop(r, d, REASM_E_TOO_MANY);
    if (grow(r, d, fo + dlen) < 0)
        return drop(r, d, REASM_E_MEMORY);

    memcpy(d->buf + fo, v->frame + dstart, dlen);
    d->frags[d->nfrags].off = (uint32_t)fo;
    d->frags[d->nfrags].len = (uint32_t)dlen;
    d->nfrags++;
    d->got += dlen;
    if (fo == 0) {
        memcpy(d->hdr, ip, unfrag);
        d->hdrlen = unfrag;
        if (v->family == PKT_FAM_IPV6) {
            d->nh_rel = v->frag_nh_off - v->l3_off;
            d->hdr[d->nh_rel] = k.proto; /* the fragment header's next header takes its place */
        }
        d->have_first = 1;
    }
    if (!mf) {
        d->have_last = 1;
        d->total = fo + dlen;
    }
    if (!d->have_first || !d->have_last || d->got != d->total)
        return REASM_NEED_MORE;
    int rc = emit(d, out, outlen, outn);
    if (rc != REASM_COMPLETE)
        return drop(r, d, rc);
    r->st.completed++;
    dg_clear(r, d);
    return REASM_COMPLETE;
}

void reasm_stats(const struct reasm *r, struct reasm_stats *out)
{
    if (out == NULL)
        return;
    if (r == NULL) {
        memset(out, 0, sizeof(*out));
        return;
    }
    *out = r->st;
}

void reasm_free(struct reasm *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ndg; i++)
        dg_clear(r, &r->dgs[i]);
    explicit_bzero(r->dgs, r->ndg * sizeof(*r->dgs));
    free(r->dgs);
    explicit_bzero(r, sizeof(*r));
    free(r);
}
