/*
 * ipc_msg.c - the inter-process record codec: typed records to wire bytes
 * and back, with every record checked against its type's schema
 * (docs/ipc-protocol.md).
 *
 * All integers are little-endian.  A batch is a 12-octet header and
 * records; a record is an 8-octet header and TLV fields.  Framing errors
 * refuse the whole batch (a receiver cannot find the next record); schema
 * errors refuse one record.  Both are counted by reason, never fatal.
 *
 * Abbreviations: FT = field type, vw = the view of a record's fields after
 * validation (value pointer and length per tag).
 */
#include "pmirrord/ipc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pmirrord/pm_codec.h"

#include "ipc_schema.h"

/* ---- little-endian access ------------------------------------------------ */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

void ipc_batch_header(uint8_t out[IPC_BATCH_HDR], uint16_t count, uint32_t len)
{
    out[0] = IPC_MAGIC0;
    out[1] = IPC_MAGIC1;
    out[2] = IPC_MAGIC2;
    out[3] = IPC_MAGIC3;
    wr16(out + 4, IPC_VERSION);
    wr16(out + 6, count);
    wr32(out + 8, len);
}

/* ---- validation ---------------------------------------------------------- */

/*
 * Text (RFC 3629 UTF-8): no overlong forms, no surrogates, nothing above
 * U+10FFFF, and no control character (C0, DEL, C1).  NUL is a C0 control,
 * so text never holds one.
 */
static int text_ok(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4, cp = c & 0x07;
        else
            return 0;
        if (len - i < n)
            return 0;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += n;
    }
    return 1;
}

/* The fields of one record after validation: where each single tag's value is. */
struct view {
    uint64_t seen; /* bit per tag */
    const uint8_t *val[IPC_TAGS_MAX];
    uint16_t len[IPC_TAGS_MAX];
    const uint8_t *body;
    size_t body_len;
};

static const struct field_def *field_def(const struct type_def *td, unsigned tag)
{
    for (size_t i = 0; i < td->ndefs; i++)
        if (td->defs[i].tag == tag)
            return &td->defs[i];
    return NULL;
}

static int value_check(const struct field_def *d, const uint8_t *v, size_t len)
{
    static const size_t width[] = {[FT_U8] = 1,  [FT_U16] = 2, [FT_U32] = 4, [FT_U64] = 8,
                                   [FT_I64] = 8, [FT_IP4] = 4, [FT_IP6] = 16};
    uint64_t lo = d->lo, hi = d->hi, x;

    if (d->mib != 0) {
        const struct pm_obj_def *od = pm_obj_def(d->mib);
        lo = od->lo;
        hi = od->hi;
    }
    switch (d->ft) {
    case FT_U8:
    case FT_U16:
    case FT_U32:
    case FT_U64:
        if (len != width[d->ft])
            return IPC_REJ_WIDTH;
        x = d->ft == FT_U8 ? v[0] : d->ft == FT_U16 ? rd16(v) : d->ft == FT_U32 ? rd32(v) : rd64(v);
        return x < lo || x > hi ? IPC_REJ_RANGE : -1;
    case FT_I64:
    case FT_IP4:
    case FT_IP6:
        return len != width[d->ft] ? IPC_REJ_WIDTH : -1;
    case FT_TEXT:
        if (len < lo || len > hi)
            return IPC_REJ_SIZE;
        return text_ok(v, len) ? -1 : IPC_REJ_TEXT;
    case FT_LINE:
        /* a configuration line as the file holds it: any octet but NUL, CR
         * and LF (a passphrase need not be UTF-8) */
        if (len < lo || len > hi)
            return IPC_REJ_SIZE;
        for (size_t i = 0; i < len; i++)
            if (v[i] == '\0' || v[i] == '\r' || v[i] == '\n')
                return IPC_REJ_TEXT;
        return -1;
    case FT_OCTETS:
        /* the octets of a subscriber string as the wire gave them; the agent
         * escapes them wherever it displays them */
        if (len < lo || len > hi)
            return IPC_REJ_SIZE;
        return memchr(v, '\0', len) != NULL ? IPC_REJ_TEXT : -1;
    case FT_BYTES:
        /* identity octets as the wire gave them, NUL included: never text */
        return len < lo || len > hi ? IPC_REJ_SIZE : -1;
    case FT_NAMED_U64:
        if (len < 8 + lo || len > 8 + hi)
            return len < 8 ? IPC_REJ_WIDTH : IPC_REJ_SIZE;
        return text_ok(v + 8, len - 8) ? -1 : IPC_REJ_TEXT;
    }
    return IPC_REJ_WIDTH; /* not reached: every schema type is above */
}

static int has(const struct view *vw, unsigned tag)
{
    return (vw->seen >> tag) & 1;
}

static int miss_or_bad(int r, unsigned tag, unsigned *bad_tag)
{
    *bad_tag = tag;
    return r;
}

/* Exactly one of tags a and b (an IPv4 or an IPv6 address). */
static int one_of(const struct view *vw, unsigned a, unsigned b, unsigned *bad_tag)
{
    if (has(vw, a) == has(vw, b))
        return miss_or_bad(has(vw, a) ? IPC_REJ_SEMANTIC : IPC_REJ_MISSING, has(vw, a) ? b : a,
                           bad_tag);
    return -1;
}

static int64_t g_i64(const struct view *vw, unsigned tag);

/* TRIGGER_SET: a whole rule (trigger.h), or none with IPC_F_EMPTY. */
static int trigger_set_check(uint16_t flags, const struct view *vw, unsigned *bad_tag)
{
    static const unsigned need[] = {2, 3, 4, 5, 8, 10};
    if (flags & IPC_F_EMPTY) {
        for (unsigned t = 2; t < IPC_TAGS_MAX; t++)
            if (has(vw, t))
                return miss_or_bad(IPC_REJ_SEMANTIC, t, bad_tag);
        return -1;
    }
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        if (!has(vw, need[i]))
            return miss_or_bad(IPC_REJ_MISSING, need[i], bad_tag);
    int r = one_of(vw, 6, 7, bad_tag);
    if (r >= 0)
        return r;
    if (vw->val[3][0] == TRIG_IP) {
        if ((r = one_of(vw, 13, 14, bad_tag)) >= 0)
            return r;
        if (!has(vw, 15))
            return miss_or_bad(IPC_REJ_MISSING, 15, bad_tag);
        if (vw->val[15][0] > (has(vw, 13) ? 32 : 128))
            return miss_or_bad(IPC_REJ_RANGE, 15, bad_tag);
        if (has(vw, 12))
            return miss_or_bad(IPC_REJ_SEMANTIC, 12, bad_tag);
    } else {
        if (!has(vw, 12))
            return miss_or_bad(IPC_REJ_MISSING, 12, bad_tag);
        for (unsigned t = 13; t <= 15; t++)
            if (has(vw, t))
                return miss_or_bad(IPC_REJ_SEMANTIC, t, bad_tag);
    }
    /* a window bound is a time after the epoch; from before until */
    for (unsigned t = 16; t <= 17; t++)
        if (has(vw, t) && g_i64(vw, t) <= 0)
            return miss_or_bad(IPC_REJ_RANGE, t, bad_tag);
    if (has(vw, 16) && has(vw, 17) && g_i64(vw, 16) >= g_i64(vw, 17))
        return miss_or_bad(IPC_REJ_SEMANTIC, 17, bad_tag);
    return -1;
}

/* INTERCEPT: exactly one of UP, DOWN, RESTORE; one analyzer address; each
 * IPv6 prefix 16 octets and a length of 1..128. */
static int intercept_check(uint16_t flags, const struct view *vw, unsigned *bad_tag)
{
    unsigned f = flags & (IPC_F_ICPT_UP | IPC_F_ICPT_DOWN | IPC_F_ICPT_RESTORE);
    if (f == 0 || (f & (f - 1)) != 0)
        return miss_or_bad(IPC_REJ_FLAGS, 0, bad_tag);
    int r = one_of(vw, 3, 4, bad_tag);
    if (r >= 0)
        return r;
    size_t off = 0;
    while (off + IPC_TLV_HDR <= vw->body_len) {
        unsigned t = (unsigned)(vw->body[off] | vw->body[off + 1] << 8);
        size_t n = (size_t)(vw->body[off + 2] | vw->body[off + 3] << 8);
        if (t == 24) {
            uint8_t len = vw->body[off + IPC_TLV_HDR + 16];
            if (len < 1 || len > 128)
                return miss_or_bad(IPC_REJ_RANGE, 24, bad_tag);
        }
        off += IPC_TLV_HDR + n;
    }
    return -1;
}

/*
 * Checks a record's body against its type's schema and fills vw.  Returns
 * -1 when valid, else the enum ipc_reject; *bad_tag names the tag (0 if
 * none).  Unknown tags are skipped (forward compatibility).
 */
static int rec_check(unsigned type, uint16_t flags, const uint8_t *body, size_t len,
                     struct view *vw, unsigned *bad_tag)
{
    const struct type_def *td = ipc_schema_type(type);
    uint16_t nrep[IPC_TAGS_MAX] = {0};
    size_t off = 0;

    *bad_tag = 0;
    if (td == NULL)
        return IPC_REJ_TYPE;
    if (flags & ~td->flags)
        return IPC_REJ_FLAGS;
    if (len > IPC_REC_MAX)
        return IPC_REJ_REC_SIZE;
    vw->seen = 0;
    vw->body = body;
    vw->body_len = len;
    while (off < len) {
        if (len - off < IPC_TLV_HDR)
            return IPC_REJ_TLV;
        unsigned tag = rd16(body + off);
        size_t vlen = rd16(body + off + 2);
        const uint8_t *v = body + off + IPC_TLV_HDR;
        if (vlen > len - off - IPC_TLV_HDR) {
            *bad_tag = tag;
            return IPC_REJ_TLV;
        }
        off += IPC_TLV_HDR + vlen;
        const struct field_def *d = field_def(td, tag);
        if (d == NULL)
            continue;
        *bad_tag = tag;
        if (d->repeat == 0 && has(vw, tag))
            return IPC_REJ_DUPLICATE;
        if (d->repeat != 0 && ++nrep[tag] > d->repeat)
            return IPC_REJ_REPEAT;
        int r = value_check(d, v, vlen);
        if (r >= 0)
            return r;
        vw->seen |= (uint64_t)1 << tag;
        vw->val[tag] = v;
        vw->len[tag] = (uint16_t)vlen;
    }
    for (size_t i = 0; i < td->ndefs; i++)
        if (td->defs[i].required && !has(vw, td->defs[i].tag)) {
            *bad_tag = td->defs[i].tag;
            return IPC_REJ_MISSING;
        }
    *bad_tag = 0;
    if (type == IPC_TRIGGER_SET)
        return trigger_set_check(flags, vw, bad_tag);
    if (type == IPC_INTERCEPT)
        return intercept_check(flags, vw, bad_tag);
    return -1;
}

/* ---- typed values from a valid view -------------------------------------- */

static uint64_t g_uint(const struct view *vw, unsigned tag)
{
    if (!has(vw, tag))
        return 0;
    const uint8_t *v = vw->val[tag];
    switch (vw->len[tag]) {
    case 1:
        return v[0];
    case 2:
        return rd16(v);
    case 4:
        return rd32(v);
    default:
        return rd64(v);
    }
}

static int64_t g_i64(const struct view *vw, unsigned tag)
{
    return has(vw, tag) ? (int64_t)rd64(vw->val[tag]) : 0;
}

/* dst has room for the schema's maximum and a NUL. */
static void g_text(const struct view *vw, unsigned tag, char *dst)
{
    size_t n = has(vw, tag) ? vw->len[tag] : 0;
    if (n > 0)
        memcpy(dst, vw->val[tag], n);
    dst[n] = '\0';
}

static void g_octets(const struct view *vw, unsigned tag, void *dst, size_t n)
{
    if (has(vw, tag))
        memcpy(dst, vw->val[tag], n);
}

/* Calls fn(value, len, arg) for every occurrence of a list tag, in order. */
static void g_list(const struct view *vw, unsigned tag,
                   void (*fn)(const uint8_t *v, size_t len, void *arg), void *arg)
{
    size_t off = 0;
    while (off + IPC_TLV_HDR <= vw->body_len) {
        unsigned t = rd16(vw->body + off);
        size_t n = rd16(vw->body + off + 2);
        if (t == tag)
            fn(vw->body + off + IPC_TLV_HDR, n, arg);
        off += IPC_TLV_HDR + n;
    }
}

static void add_counter(const uint8_t *v, size_t len, void *arg)
{
    struct ipc_stats *s = arg;
    struct ipc_counter *c = &s->counters[s->ncounters++];
    c->value = rd64(v);
    memcpy(c->name, v + 8, len - 8);
    c->name[len - 8] = '\0';
}

static void add_row(const uint8_t *v, size_t len, void *arg)
{
    struct ipc_list_page *p = arg;
    p->rows[p->nrows].s = (const char *)v;
    p->rows[p->nrows].len = len;
    p->nrows++;
}

static void g_str(const struct view *vw, unsigned tag, struct sig_str *dst)
{
    dst->len = has(vw, tag) ? (uint8_t)vw->len[tag] : 0;
    g_octets(vw, tag, dst->v, dst->len);
}

static void add_prefix6(const uint8_t *v, size_t len, void *arg)
{
    struct sig_ident *id = arg;
    if (id->nprefix6 < SIG_PREFIX6_MAX) { /* the schema allows no more */
        memcpy(id->prefix6[id->nprefix6].addr, v, 16);
        id->prefix6[id->nprefix6].len = v[16];
        id->nprefix6++;
    }
}

static void fill_intercept(struct pm_intercept *ic, const struct view *vw)
{
    struct sig_ident *id = &ic->id;
    ic->mirror_id = (uint32_t)g_uint(vw, 1);
    ic->session_id = (uint32_t)g_uint(vw, 2);
    ic->analyzer.family = has(vw, 3) ? 4 : 6;
    g_octets(vw, has(vw, 3) ? 3 : 4, ic->analyzer.addr, has(vw, 3) ? 4 : 16);
    ic->analyzer.port = (uint16_t)g_uint(vw, 5);
    ic->direction = (enum trig_dir)g_uint(vw, 6);
    ic->config_source = (int)g_uint(vw, 7);
    ic->trigger_type = (int)g_uint(vw, 8);
    g_text(vw, 9, ic->trigger);
    ic->router_id = (uint32_t)g_uint(vw, 10);
    ic->since_sec = g_i64(vw, 11);
    g_str(vw, 12, &id->user);
    g_str(vw, 13, &id->csid);
    g_str(vw, 14, &id->acct_sid);
    g_str(vw, 15, &id->nas_port_id);
    g_str(vw, 16, &id->nas_id);
    g_str(vw, 17, &id->circuit);
    g_str(vw, 18, &id->remote);
    g_str(vw, 19, &id->opt82);
    g_octets(vw, 20, &id->nas_ip, 4);
    id->has_nas_port = has(vw, 21);
    id->nas_port = (uint32_t)g_uint(vw, 21);
    g_octets(vw, 22, &id->framed_ip, 4);
    id->has_framed_ip6 = has(vw, 23);
    g_octets(vw, 23, id->framed_ip6, 16);
    g_list(vw, 24, add_prefix6, id);
    g_octets(vw, 25, &id->peer_ip, 4);
    id->has_chaddr = has(vw, 26);
    g_octets(vw, 26, id->chaddr, 6);
}

static void fill(struct ipc_rec *r, const struct view *vw)
{
    switch (r->type) {
    case IPC_HELLO:
        r->u.hello.version = (uint16_t)g_uint(vw, 1);
        r->u.hello.role = (uint8_t)g_uint(vw, 2);
        r->u.hello.pid = (uint32_t)g_uint(vw, 3);
        r->u.hello.generation = g_uint(vw, 4);
        break;
    case IPC_EVENT: {
        struct pm_event *e = &r->u.event;
        e->trap = (enum pm_trap)g_uint(vw, 1);
        e->when.tv_sec = (time_t)(int64_t)g_uint(vw, 2);
        e->when.tv_nsec = (long)g_uint(vw, 3);
        e->config_source = (int)g_uint(vw, 4);
        e->trigger_type = (int)g_uint(vw, 5);
        g_text(vw, 6, e->trigger);
        e->router_id = (uint32_t)g_uint(vw, 7);
        g_text(vw, 8, e->user_name);
        e->mirror_id = (uint32_t)g_uint(vw, 9);
        e->session_id = (uint32_t)g_uint(vw, 10);
        e->error_cause = (int)g_uint(vw, 11);
        e->application = (int)g_uint(vw, 12);
        g_text(vw, 13, e->error_string);
        g_text(vw, 14, e->policy_name);
        e->policy_id = (uint32_t)g_uint(vw, 15);
        e->direction = (int)g_uint(vw, 16);
        g_octets(vw, 17, &e->target_ip, 4);
        g_octets(vw, 18, &e->analyzer_ip, 4);
        e->termination_reason = (int)g_uint(vw, 19);
        break;
    }
    case IPC_MLOG:
        r->u.mlog.sec = (int64_t)g_uint(vw, 1);
        r->u.mlog.nsec = (uint32_t)g_uint(vw, 2);
        g_text(vw, 3, r->u.mlog.text);
        break;
    case IPC_STATS:
        g_text(vw, 1, r->u.stats.source);
        g_list(vw, 2, add_counter, &r->u.stats);
        break;
    case IPC_TRIGGER_SET: {
        struct ipc_trigger *t = &r->u.trigger_set.entry;
        struct pm_trigger *q = &t->rule;
        r->u.trigger_set.generation = g_uint(vw, 1);
        if (r->flags & IPC_F_EMPTY)
            break;
        t->config_source = (uint8_t)g_uint(vw, 2);
        q->type = (enum trig_type)g_uint(vw, 3);
        g_text(vw, 4, q->text);
        q->mirror_id = (uint32_t)g_uint(vw, 5);
        q->analyzer.family = has(vw, 6) ? 4 : 6;
        g_octets(vw, has(vw, 6) ? 6 : 7, q->analyzer.addr, has(vw, 6) ? 4 : 16);
        q->analyzer.port = (uint16_t)g_uint(vw, 8);
        q->has_session_id = has(vw, 9);
        q->session_id = (uint32_t)g_uint(vw, 9);
        q->direction = (enum trig_dir)g_uint(vw, 10);
        q->value_len = has(vw, 12) ? vw->len[12] : 0;
        g_octets(vw, 12, q->value, q->value_len);
        if (has(vw, 13) || has(vw, 14)) {
            q->ip_family = has(vw, 13) ? 4 : 6;
            g_octets(vw, has(vw, 13) ? 13 : 14, q->ip, has(vw, 13) ? 4 : 16);
            q->ip_plen = (unsigned)g_uint(vw, 15);
        }
        q->from = g_i64(vw, 16);
        q->until = g_i64(vw, 17);
        break;
    }
    case IPC_INTERCEPT:
        fill_intercept(&r->u.intercept.ic, vw);
        break;
    case IPC_TRIGGER_ACK:
        r->u.trigger_ack.generation = g_uint(vw, 1);
        r->u.trigger_ack.entries = (uint32_t)g_uint(vw, 2);
        break;
    case IPC_HEARTBEAT:
        r->u.heartbeat.seq = g_uint(vw, 1);
        r->u.heartbeat.mono_ms = g_uint(vw, 2);
        r->u.heartbeat.has_sources = has(vw, 3);
        r->u.heartbeat.sources = (uint32_t)g_uint(vw, 3);
        r->u.heartbeat.quiet_ms = g_uint(vw, 4);
        break;
    case IPC_LIST_REQ:
        r->u.list_req.request_id = (uint32_t)g_uint(vw, 1);
        g_text(vw, 2, r->u.list_req.list);
        r->u.list_req.offset = (uint32_t)g_uint(vw, 3);
        r->u.list_req.max_rows = (uint32_t)g_uint(vw, 4);
        g_text(vw, 5, r->u.list_req.filter);
        break;
    case IPC_LIST_PAGE:
        r->u.list_page.request_id = (uint32_t)g_uint(vw, 1);
        r->u.list_page.offset = (uint32_t)g_uint(vw, 2);
        g_list(vw, 3, add_row, &r->u.list_page);
        r->u.list_page.more = (uint8_t)g_uint(vw, 4);
        r->u.list_page.has_total = has(vw, 5);
        r->u.list_page.total = (uint32_t)g_uint(vw, 5);
        r->u.list_page.has_count = has(vw, 6);
        r->u.list_page.count = (uint32_t)g_uint(vw, 6);
        break;
    case IPC_CONFIG:
        g_text(vw, 1, r->u.config.key);
        g_text(vw, 2, r->u.config.value);
        r->u.config.line = (uint32_t)g_uint(vw, 3);
        break;
    case IPC_FD:
        r->u.fd.purpose = (uint16_t)g_uint(vw, 1);
        r->u.fd.id = (uint32_t)g_uint(vw, 2);
        g_text(vw, 3, r->u.fd.name);
        r->u.fd.fd = -1;
        break;
    case IPC_STATUS:
        r->u.status.state = (uint8_t)g_uint(vw, 1);
        g_text(vw, 2, r->u.status.text);
        break;
    case IPC_PRIV_REQ:
        r->u.priv_req.request_id = (uint32_t)g_uint(vw, 1);
        r->u.priv_req.what = (uint16_t)g_uint(vw, 2);
        break;
    case IPC_PRIV_FAIL:
        r->u.priv_fail.request_id = (uint32_t)g_uint(vw, 1);
        r->u.priv_fail.err_no = (uint32_t)g_uint(vw, 2);
        g_text(vw, 3, r->u.priv_fail.text);
        break;
    }
}

/* ---- encoding ------------------------------------------------------------ */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    const char *too_long; /* name of a field that did not fit, or NULL */
};

static void put(struct wbuf *w, unsigned tag, const void *v, size_t len, const char *name)
{
    if (len > 0xffff || w->cap - w->len < IPC_TLV_HDR + len) {
        if (w->too_long == NULL)
            w->too_long = name;
        return;
    }
    wr16(w->p + w->len, (uint16_t)tag);
    wr16(w->p + w->len + 2, (uint16_t)len);
    if (len > 0)
        memcpy(w->p + w->len + IPC_TLV_HDR, v, len);
    w->len += IPC_TLV_HDR + len;
}

static void put_u8(struct wbuf *w, unsigned tag, uint64_t v, const char *name)
{
    uint8_t b = (uint8_t)v;
    if (v > 0xff) /* kept out of range so the check below refuses it */
        put(w, tag, (uint8_t[2]){0xff, 0xff}, 2, name);
    else
        put(w, tag, &b, 1, name);
}

static void put_u16(struct wbuf *w, unsigned tag, uint16_t v, const char *name)
{
    uint8_t b[2];
    wr16(b, v);
    put(w, tag, b, 2, name);
}

static void put_u32(struct wbuf *w, unsigned tag, uint32_t v, const char *name)
{
    uint8_t b[4];
    wr32(b, v);
    put(w, tag, b, 4, name);
}

static void put_u64(struct wbuf *w, unsigned tag, uint64_t v, const char *name)
{
    uint8_t b[8];
    wr64(b, v);
    put(w, tag, b, 8, name);
    OPENSSL_cleanse(b, sizeof(b));
}

/* A NUL-terminated string in a buffer of size octets. */
static void put_str(struct wbuf *w, unsigned tag, const char *s, size_t size, const char *name)
{
    size_t n = strnlen(s, size);
    if (n == size) { /* no NUL: refused as too long */
        if (w->too_long == NULL)
            w->too_long = name;
        return;
    }
    put(w, tag, s, n, name);
}

/* An enumeration held in an int: negative values are kept out of range. */
static void put_enum(struct wbuf *w, unsigned tag, int v, const char *name)
{
    put_u8(w, tag, v < 0 ? 0x100 : (uint64_t)v, name);
}

/* An analyzer: tag a for IPv4, b for IPv6 (neither, and the check refuses it). */
static void put_analyzer(struct wbuf *w, unsigned a, unsigned b, const struct trig_analyzer *an)
{
    if (an->family == 4)
        put(w, a, an->addr, 4, "analyzer_ip4");
    else if (an->family == 6)
        put(w, b, an->addr, 16, "analyzer_ip6");
}

/* An identity string: absent when empty. */
static void put_sstr(struct wbuf *w, unsigned tag, const struct sig_str *s, const char *name)
{
    if (s->len > 0)
        put(w, tag, s->v, s->len > SIG_STR_MAX ? SIG_STR_MAX + 1 : s->len, name);
}

static void encode_intercept(const struct pm_intercept *ic, struct wbuf *w)
{
    const struct sig_ident *id = &ic->id;
    put_u32(w, 1, ic->mirror_id, "mirror_id");
    put_u32(w, 2, ic->session_id, "session_id");
    put_analyzer(w, 3, 4, &ic->analyzer);
    put_u16(w, 5, ic->analyzer.port, "analyzer_port");
    put_enum(w, 6, (int)ic->direction, "direction");
    put_enum(w, 7, ic->config_source, "config_source");
    put_enum(w, 8, ic->trigger_type, "trigger_type");
    put_str(w, 9, ic->trigger, sizeof(ic->trigger), "trigger");
    put_u32(w, 10, ic->router_id, "router_id");
    put_u64(w, 11, (uint64_t)ic->since_sec, "since_sec");
    put_sstr(w, 12, &id->user, "user");
    put_sstr(w, 13, &id->csid, "csid");
    put_sstr(w, 14, &id->acct_sid, "acct_sid");
    put_sstr(w, 15, &id->nas_port_id, "nas_port_id");
    put_sstr(w, 16, &id->nas_id, "nas_id");
    put_sstr(w, 17, &id->circuit, "circuit");
    put_sstr(w, 18, &id->remote, "remote");
    put_sstr(w, 19, &id->opt82, "opt82");
    if (id->nas_ip != 0)
        put(w, 20, &id->nas_ip, 4, "nas_ip");
    if (id->has_nas_port)
        put_u32(w, 21, id->nas_port, "nas_port");
    if (id->framed_ip != 0)
        put(w, 22, &id->framed_ip, 4, "framed_ip");
    if (id->has_framed_ip6)
        put(w, 23, id->framed_ip6, 16, "framed_ip6");
    if (id->nprefix6 > SIG_PREFIX6_MAX) {
        w->too_long = "prefix6";
        return;
    }
    for (unsigned i = 0; i < id->nprefix6; i++) {
        uint8_t b[17];
        memcpy(b, id->prefix6[i].addr, 16);
        b[16] = id->prefix6[i].len;
        put(w, 24, b, 17, "prefix6");
    }
    if (id->peer_ip != 0)
        put(w, 25, &id->peer_ip, 4, "peer_ip");
    if (id->has_chaddr)
        put(w, 26, id->chaddr, 6, "chaddr");
}

static void encode_body(const struct ipc_rec *r, struct wbuf *w)
{
    switch (r->type) {
    case IPC_HELLO:
        put_u16(w, 1, r->u.hello.version, "version");
        put_u8(w, 2, r->u.hello.role, "role");
        put_u32(w, 3, r->u.hello.pid, "pid");
        put_u64(w, 4, r->u.hello.generation, "generation");
        break;
    case IPC_EVENT: {
        const struct pm_event *e = &r->u.event;
        put_enum(w, 1, (int)e->trap, "trap");
        put_u64(w, 2, (uint64_t)(int64_t)e->when.tv_sec, "when_sec");
        if (e->when.tv_nsec < 0 || e->when.tv_nsec > 999999999L)
            put_u32(w, 3, 0xffffffffu, "when_nsec"); /* refused below */
        else
            put_u32(w, 3, (uint32_t)e->when.tv_nsec, "when_nsec");
        put_enum(w, 4, e->config_source, "config_source");
        put_enum(w, 5, e->trigger_type, "trigger_type");
        put_str(w, 6, e->trigger, sizeof(e->trigger), "trigger");
        put_u32(w, 7, e->router_id, "router_id");
        put_str(w, 8, e->user_name, sizeof(e->user_name), "user_name");
        put_u32(w, 9, e->mirror_id, "mirror_id");
        put_u32(w, 10, e->session_id, "session_id");
        put_enum(w, 11, e->error_cause, "error_cause");
        put_enum(w, 12, e->application, "application");
        put_str(w, 13, e->error_string, sizeof(e->error_string), "error_string");
        put_str(w, 14, e->policy_name, sizeof(e->policy_name), "policy_name");
        put_u32(w, 15, e->policy_id, "policy_id");
        put_enum(w, 16, e->direction, "direction");
        put(w, 17, &e->target_ip, 4, "target_ip");
        put(w, 18, &e->analyzer_ip, 4, "analyzer_ip");
        put_enum(w, 19, e->termination_reason, "termination_reason");
        break;
    }
    case IPC_MLOG:
        put_u64(w, 1, (uint64_t)r->u.mlog.sec, "sec");
        put_u32(w, 2, r->u.mlog.nsec, "nsec");
        put_str(w, 3, r->u.mlog.text, sizeof(r->u.mlog.text), "text");
        break;
    case IPC_STATS: {
        const struct ipc_stats *s = &r->u.stats;
        put_str(w, 1, s->source, sizeof(s->source), "source");
        if (s->ncounters > IPC_COUNTER_MAX) {
            w->too_long = "counter";
            break;
        }
        for (size_t i = 0; i < s->ncounters; i++) {
            uint8_t b[8 + IPC_NAME_MAX];
            size_t n = strnlen(s->counters[i].name, sizeof(s->counters[i].name));
            if (n > IPC_NAME_MAX) {
                w->too_long = "counter";
                break;
            }
            wr64(b, s->counters[i].value);
            memcpy(b + 8, s->counters[i].name, n);
            put(w, 2, b, 8 + n, "counter");
        }
        break;
    }
    case IPC_TRIGGER_SET: {
        const struct ipc_trigger *t = &r->u.trigger_set.entry;
        const struct pm_trigger *q = &t->rule;
        put_u64(w, 1, r->u.trigger_set.generation, "generation");
        if (r->flags & IPC_F_EMPTY)
            break;
        put_u8(w, 2, t->config_source, "config_source");
        put_enum(w, 3, (int)q->type, "trigger_type");
        put_str(w, 4, q->text, sizeof(q->text), "text");
        put_u32(w, 5, q->mirror_id, "mirror_id");
        put_analyzer(w, 6, 7, &q->analyzer);
        put_u16(w, 8, q->analyzer.port, "analyzer_port");
        if (q->has_session_id)
            put_u32(w, 9, q->session_id, "session_id");
        put_enum(w, 10, (int)q->direction, "direction");
        if (q->type == TRIG_IP) {
            if (q->ip_family == 4)
                put(w, 13, q->ip, 4, "ip4");
            else if (q->ip_family == 6)
                put(w, 14, q->ip, 16, "ip6");
            put_u8(w, 15, q->ip_plen, "prefix_len");
        } else if (q->value_len > TRIG_VALUE_MAX) {
            w->too_long = "value";
        } else {
            put(w, 12, q->value, q->value_len, "value");
        }
        if (q->from != 0)
            put_u64(w, 16, (uint64_t)q->from, "from");
        if (q->until != 0)
            put_u64(w, 17, (uint64_t)q->until, "until");
        break;
    }
    case IPC_INTERCEPT:
        encode_intercept(&r->u.intercept.ic, w);
        break;
    case IPC_TRIGGER_ACK:
        put_u64(w, 1, r->u.trigger_ack.generation, "generation");
        put_u32(w, 2, r->u.trigger_ack.entries, "entries");
        break;
    case IPC_HEARTBEAT:
        put_u64(w, 1, r->u.heartbeat.seq, "seq");
        put_u64(w, 2, r->u.heartbeat.mono_ms, "mono_ms");
        if (r->u.heartbeat.has_sources) {
            put_u32(w, 3, r->u.heartbeat.sources, "sources");
            put_u64(w, 4, r->u.heartbeat.quiet_ms, "quiet_ms");
        }
        break;
    case IPC_LIST_REQ:
        put_u32(w, 1, r->u.list_req.request_id, "request_id");
        put_str(w, 2, r->u.list_req.list, sizeof(r->u.list_req.list), "list");
        put_u32(w, 3, r->u.list_req.offset, "offset");
        put_u32(w, 4, r->u.list_req.max_rows, "max_rows");
        if (r->u.list_req.filter[0] != '\0')
            put_str(w, 5, r->u.list_req.filter, sizeof(r->u.list_req.filter), "filter");
        break;
    case IPC_LIST_PAGE: {
        const struct ipc_list_page *p = &r->u.list_page;
        put_u32(w, 1, p->request_id, "request_id");
        put_u32(w, 2, p->offset, "offset");
        if (p->nrows > IPC_ROWS_MAX) {
            w->too_long = "row";
            break;
        }
        for (size_t i = 0; i < p->nrows; i++)
            put(w, 3, p->rows[i].s, p->rows[i].len, "row");
        put_u8(w, 4, p->more, "more");
        if (p->has_total)
            put_u32(w, 5, p->total, "total");
        if (p->has_count)
            put_u32(w, 6, p->count, "count");
        break;
    }
    case IPC_CONFIG:
        put_str(w, 1, r->u.config.key, sizeof(r->u.config.key), "key");
        put_str(w, 2, r->u.config.value, sizeof(r->u.config.value), "value");
        if (r->u.config.line != 0)
            put_u32(w, 3, r->u.config.line, "line");
        break;
    case IPC_FD:
        put_u16(w, 1, r->u.fd.purpose, "purpose");
        if (r->u.fd.id != 0)
            put_u32(w, 2, r->u.fd.id, "id");
        if (r->u.fd.name[0] != '\0')
            put_str(w, 3, r->u.fd.name, sizeof(r->u.fd.name), "name");
        break;
    case IPC_STATUS:
        put_u8(w, 1, r->u.status.state, "state");
        if (r->u.status.text[0] != '\0')
            put_str(w, 2, r->u.status.text, sizeof(r->u.status.text), "text");
        break;
    case IPC_PRIV_REQ:
        put_u32(w, 1, r->u.priv_req.request_id, "request_id");
        put_u16(w, 2, r->u.priv_req.what, "what");
        break;
    case IPC_PRIV_FAIL:
        put_u32(w, 1, r->u.priv_fail.request_id, "request_id");
        put_u32(w, 2, r->u.priv_fail.err_no, "errno");
        if (r->u.priv_fail.text[0] != '\0')
            put_str(w, 3, r->u.priv_fail.text, sizeof(r->u.priv_fail.text), "text");
        break;
    }
}

static const char *tag_name(unsigned type, unsigned tag)
{
    const struct type_def *td = ipc_schema_type(type);
    const struct field_def *d = td && tag ? field_def(td, tag) : NULL;
    return d ? d->name : "-";
}

ssize_t ipc_rec_encode(const struct ipc_rec *rec, uint8_t *out, size_t outlen, char *err,
                       size_t errlen)
{
    const struct type_def *td = ipc_schema_type(rec->type);
    struct wbuf w;
    struct view vw;
    unsigned bad_tag;
    int r;

    if (td == NULL) {
        snprintf(err, errlen, "record type %u is unknown", rec->type);
        return -1;
    }
    if (outlen < IPC_REC_HDR) {
        snprintf(err, errlen, "%s: no room for the record header", td->name);
        return -1;
    }
    w.p = out + IPC_REC_HDR;
    w.len = 0;
    w.cap = outlen - IPC_REC_HDR < IPC_REC_MAX ? outlen - IPC_REC_HDR : IPC_REC_MAX;
    w.too_long = NULL;
    encode_body(rec, &w);
    if (w.too_long != NULL) {
        OPENSSL_cleanse(w.p, w.len);
        snprintf(err, errlen, "%s: %s does not fit the record", td->name, w.too_long);
        return -1;
    }
    wr16(out, rec->type);
    wr16(out + 2, rec->flags);
    wr32(out + 4, (uint32_t)w.len);
    /* What a receiver would refuse is never sent. */
    r = rec_check(rec->type, rec->flags, w.p, w.len, &vw, &bad_tag);
    if (r >= 0) {
        OPENSSL_cleanse(out, IPC_REC_HDR + w.len);
        snprintf(err, errlen, "%s: field %s refused (%s)", td->name, tag_name(rec->type, bad_tag),
                 ipc_reject_name((enum ipc_reject)r));
        return -1;
    }
    OPENSSL_cleanse(&vw, sizeof(vw));
    return (ssize_t)(IPC_REC_HDR + w.len);
}

/* ---- parsing ------------------------------------------------------------- */

static void close_fds(const int *fds, size_t n, const uint8_t *used, struct ipc_rx_counts *c)
{
    for (size_t i = 0; i < n; i++)
        if (used == NULL || !used[i]) {
            close(fds[i]);
            c->fds_closed++;
        }
}

static int batch_refuse(enum ipc_reject why, const int *fds, size_t nfds, struct ipc_rx_counts *c)
{
    c->rejects[why]++;
    close_fds(fds, nfds, NULL, c);
    return -1;
}

int ipc_batch_parse(const uint8_t *msg, size_t len, const int *fds, size_t nfds, ipc_rec_fn fn,
                    void *arg, struct ipc_rx_counts *c)
{
    uint8_t used[IPC_FDS_MAX] = {0};
    size_t off, count, n, kfd = 0;
    int delivered = 0;

    if (nfds > IPC_FDS_MAX) { /* the channel never passes more; close the surplus */
        close_fds(fds + IPC_FDS_MAX, nfds - IPC_FDS_MAX, NULL, c);
        nfds = IPC_FDS_MAX;
    }
    if (len < IPC_BATCH_HDR)
        return batch_refuse(IPC_REJ_SHORT, fds, nfds, c);
    if (msg[0] != IPC_MAGIC0 || msg[1] != IPC_MAGIC1 || msg[2] != IPC_MAGIC2 ||
        msg[3] != IPC_MAGIC3)
        return batch_refuse(IPC_REJ_MAGIC, fds, nfds, c);
    if (rd16(msg + 4) != IPC_VERSION)
        return batch_refuse(IPC_REJ_VERSION, fds, nfds, c);
    if (rd32(msg + 8) != len || len > IPC_MSG_MAX)
        return batch_refuse(IPC_REJ_LENGTH, fds, nfds, c);
    count = rd16(msg + 6);
    if (count == 0 || count > IPC_BATCH_RECS)
        return batch_refuse(IPC_REJ_COUNT, fds, nfds, c);
    /* Framing first: records must tile the batch exactly. */
    for (off = IPC_BATCH_HDR, n = 0; off < len; n++) {
        if (len - off < IPC_REC_HDR || rd32(msg + off + 4) > len - off - IPC_REC_HDR)
            return batch_refuse(IPC_REJ_FRAMING, fds, nfds, c);
        off += IPC_REC_HDR + rd32(msg + off + 4);
    }
    if (n != count)
        return batch_refuse(IPC_REJ_COUNT, fds, nfds, c);
    c->batches++;

    for (off = IPC_BATCH_HDR; off < len;) {
        struct ipc_rec rec;
        struct view vw;
        unsigned type = rd16(msg + off), bad_tag;
        uint16_t flags = rd16(msg + off + 2);
        size_t rlen = rd32(msg + off + 4);
        const uint8_t *body = msg + off + IPC_REC_HDR;
        int fdi = -1;

        off += IPC_REC_HDR + rlen;
        if (type == IPC_FD) { /* the k-th FD record, valid or not, owns the k-th descriptor */
            if (kfd < nfds)
                fdi = (int)kfd;
            kfd++;
        }
        int r = rec_check(type, flags, body, rlen, &vw, &bad_tag);
        if (r < 0 && type == IPC_FD && fdi < 0)
            r = IPC_REJ_FD_MISSING;
        if (r >= 0) {
            c->rejects[r]++;
            continue;
        }
        const struct type_def *td = ipc_schema_type(type);
        memset(&rec.u, 0, td->size);
        rec.type = (uint16_t)type;
        rec.flags = flags;
        fill(&rec, &vw);
        if (type == IPC_FD && fdi >= 0) { /* always: FD_MISSING above otherwise */
            rec.u.fd.fd = fds[fdi];
            used[fdi] = 1;
        }
        c->records++;
        delivered++;
        fn(&rec, arg);
        if (type == IPC_FD && rec.u.fd.fd >= 0)
            close(rec.u.fd.fd);
        OPENSSL_cleanse(&rec.u, td->size);
        OPENSSL_cleanse(&vw, sizeof(vw));
    }
    close_fds(fds, nfds, used, c);
    return delivered;
}
