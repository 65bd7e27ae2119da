/*
 * test_ipc_msg.c - the inter-process record codec (src/ipc/ipc_msg.c):
 * HELLO and EVENT against byte vectors written by hand from
 * docs/ipc-protocol.md, a round trip of every record type, and every
 * validation rule (each refusal counted under its reason).
 */
#include "pmirrord/ipc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* ---- helpers ---------------------------------------------------------------- */

#define MAXREC 8
static struct ipc_rec got[MAXREC];
static struct ipc_slice got_rows[IPC_ROWS_MAX];
static char got_row_text[IPC_ROWS_MAX][IPC_ROW_MAX + 1];
static size_t ngot;

static void collect(struct ipc_rec *rec, void *arg)
{
    CHECK(ngot < MAXREC);
    got[ngot] = *rec;
    if (rec->type == IPC_LIST_PAGE) /* rows point into the message: copy them */
        for (size_t i = 0; i < rec->u.list_page.nrows; i++) {
            memcpy(got_row_text[i], rec->u.list_page.rows[i].s, rec->u.list_page.rows[i].len);
            got_rows[i].s = got_row_text[i];
            got_rows[i].len = rec->u.list_page.rows[i].len;
        }
    ngot++;
}

static struct ipc_rx_counts cnt;

/* Parses msg with no descriptors; returns the parser's result. */
static int parse(const uint8_t *msg, size_t len)
{
    memset(&cnt, 0, sizeof(cnt));
    ngot = 0;
    return ipc_batch_parse(msg, len, NULL, 0, collect, NULL, &cnt);
}

/* The only reason counted, or -1 when none. */
static int only_reason(void)
{
    int which = -1;
    for (int i = 0; i < IPC_REJ_NREASONS; i++)
        if (cnt.rejects[i] != 0) {
            CHECK(which < 0 && cnt.rejects[i] == 1);
            which = i;
        }
    return which;
}

/* A batch of one record: header, record header, body. */
static size_t mkbatch(uint8_t *out, unsigned type, unsigned flags, const uint8_t *body, size_t blen)
{
    size_t len = IPC_BATCH_HDR + IPC_REC_HDR + blen;
    ipc_batch_header(out, 1, (uint32_t)len);
    out[12] = (uint8_t)type;
    out[13] = (uint8_t)(type >> 8);
    out[14] = (uint8_t)flags;
    out[15] = (uint8_t)(flags >> 8);
    out[16] = (uint8_t)blen;
    out[17] = (uint8_t)(blen >> 8);
    out[18] = (uint8_t)(blen >> 16);
    out[19] = 0;
    memcpy(out + IPC_BATCH_HDR + IPC_REC_HDR, body, blen);
    return len;
}

/* Appends a TLV to body at *len. */
static void tlv(uint8_t *body, size_t *len, unsigned tag, const void *v, size_t vlen)
{
    body[*len] = (uint8_t)tag;
    body[*len + 1] = (uint8_t)(tag >> 8);
    body[*len + 2] = (uint8_t)vlen;
    body[*len + 3] = (uint8_t)(vlen >> 8);
    memcpy(body + *len + 4, v, vlen);
    *len += 4 + vlen;
}

/* Encodes rec as a one-record batch into out; returns the length. */
static size_t encode(const struct ipc_rec *rec, uint8_t *out, size_t cap)
{
    char err[256] = "";
    ssize_t n = ipc_rec_encode(rec, out + IPC_BATCH_HDR, cap - IPC_BATCH_HDR, err, sizeof(err));
    if (n < 0)
        fprintf(stderr, "encode %s: %s\n", ipc_type_name(rec->type), err);
    CHECK(n > 0);
    ipc_batch_header(out, 1, (uint32_t)(IPC_BATCH_HDR + n));
    return IPC_BATCH_HDR + (size_t)n;
}

static int encode_fails(const struct ipc_rec *rec)
{
    char err[256] = "";
    static uint8_t big[IPC_MSG_MAX];
    ssize_t n = ipc_rec_encode(rec, big, sizeof(big), err, sizeof(err));
    if (n < 0)
        CHECK(err[0] != '\0');
    return n < 0;
}

/* Round trip: encode, parse, one record back; returns it. */
static struct ipc_rec *round_trip(const struct ipc_rec *rec)
{
    static uint8_t buf[IPC_MSG_MAX];
    size_t len = encode(rec, buf, sizeof(buf));
    CHECK(parse(buf, len) == 1);
    CHECK(ngot == 1 && only_reason() == -1);
    CHECK(got[0].type == rec->type && got[0].flags == rec->flags);
    return &got[0];
}

static void new_rec(struct ipc_rec *r, unsigned type)
{
    memset(r, 0, sizeof(*r));
    r->type = (uint16_t)type;
}

/* ---- hand-written vectors (docs/ipc-protocol.md, "Examples") ------------------------- */

static const uint8_t hello_vec[] = {
    0x50, 0x4d, 0x49, 0x50,                         /* magic "PMIP" */
    0x01, 0x00,                                     /* version 1 */
    0x01, 0x00,                                     /* 1 record */
    0x33, 0x00, 0x00, 0x00,                         /* 51 octets in all */
    0x01, 0x00,                                     /* type HELLO */
    0x00, 0x00,                                     /* flags */
    0x1f, 0x00, 0x00, 0x00,                         /* body: 31 octets */
    0x01, 0x00, 0x02, 0x00, 0x01, 0x00,             /* 1 version = 1 (u16) */
    0x02, 0x00, 0x01, 0x00, 0x02,                   /* 2 role = agent (u8) */
    0x03, 0x00, 0x04, 0x00, 0x34, 0x12, 0x00, 0x00, /* 3 pid = 0x1234 (u32) */
    0x04, 0x00, 0x08, 0x00, 0x07, 0x00, 0x00, 0x00, /* 4 generation = 7 (u64) */
    0x00, 0x00, 0x00, 0x00,
};

static const uint8_t event_vec[] = {
    0x50, 0x4d, 0x49, 0x50, 0x01, 0x00, 0x01, 0x00, 0x91, 0x00, 0x00, 0x00, /* batch, 145 */
    0x02, 0x00, 0x00, 0x00, 0x7d, 0x00, 0x00, 0x00,                         /* EVENT, body 125 */
    0x01, 0x00, 0x01, 0x00, 0x05, /* 1 trap = SessionStart */
    0x02, 0x00, 0x08, 0x00, 0x00, 0xf1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00, /* 2 1700000000 */
    0x03, 0x00, 0x04, 0x00, 0x00, 0x65, 0xcd, 0x1d,                         /* 3 nsec 500000000 */
    0x04, 0x00, 0x01, 0x00, 0x02,                   /* 4 config_source cliTrigger */
    0x05, 0x00, 0x01, 0x00, 0x00,                   /* 5 trigger_type 0 */
    0x06, 0x00, 0x04, 0x00, 'e',  't',  'h',  '0',  /* 6 trigger "eth0" */
    0x07, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, /* 7 router_id 1 */
    0x08, 0x00, 0x00, 0x00,                         /* 8 user_name "" */
    0x09, 0x00, 0x04, 0x00, 0x2a, 0x00, 0x00, 0x00, /* 9 mirror_id 42 */
    0x0a, 0x00, 0x04, 0x00, 0x07, 0x00, 0x00, 0x00, /* 10 session_id 7 */
    0x0b, 0x00, 0x01, 0x00, 0x00,                   /* 11 error_cause 0 */
    0x0c, 0x00, 0x01, 0x00, 0x00,                   /* 12 application 0 */
    0x0d, 0x00, 0x00, 0x00,                         /* 13 error_string "" */
    0x0e, 0x00, 0x02, 0x00, 'p',  '1',              /* 14 policy_name "p1" */
    0x0f, 0x00, 0x04, 0x00, 0x09, 0x00, 0x00, 0x00, /* 15 policy_id 9 */
    0x10, 0x00, 0x01, 0x00, 0x01,                   /* 16 direction egress */
    0x11, 0x00, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x01, /* 17 target_ip 10.0.0.1 */
    0x12, 0x00, 0x04, 0x00, 0xc0, 0x00, 0x02, 0x09, /* 18 analyzer_ip 192.0.2.9 */
    0x13, 0x00, 0x01, 0x00, 0x00,                   /* 19 termination_reason 0 */
};

static void vec_event(struct pm_event *e)
{
    memset(e, 0, sizeof(*e));
    e->trap = PM_TRAP_SESSION_START;
    e->when.tv_sec = 1700000000;
    e->when.tv_nsec = 500000000;
    e->config_source = 2;
    strcpy(e->trigger, "eth0");
    e->router_id = 1;
    e->mirror_id = 42;
    e->session_id = 7;
    strcpy(e->policy_name, "p1");
    e->policy_id = 9;
    e->direction = 1;
    e->target_ip = htonl(0x0a000001);
    e->analyzer_ip = htonl(0xc0000209);
}

/* TRIGGER_SET: `mirror username ab analyzer 127.0.0.9:30030 id 7`, generation 1 */
static const uint8_t trigger_vec[] = {
    0x50, 0x4d, 0x49, 0x50, 0x01, 0x00, 0x01, 0x00, 0x51, 0x00, 0x00, 0x00, /* batch, 81 */
    0x05, 0x00, 0x03, 0x00, 0x3d, 0x00, 0x00, 0x00, /* TRIGGER_SET BEGIN|END, body 61 */
    0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 1 generation 1 */
    0x02, 0x00, 0x01, 0x00, 0x02,                   /* 2 config_source cliTrigger */
    0x03, 0x00, 0x01, 0x00, 0x03,                   /* 3 trigger_type username */
    0x04, 0x00, 0x02, 0x00, 'a',  'b',              /* 4 text "ab" */
    0x05, 0x00, 0x04, 0x00, 0x07, 0x00, 0x00, 0x00, /* 5 mirror_id 7 */
    0x06, 0x00, 0x04, 0x00, 0x7f, 0x00, 0x00, 0x09, /* 6 analyzer 127.0.0.9 */
    0x08, 0x00, 0x02, 0x00, 0x4e, 0x75,             /* 8 port 30030 */
    0x0a, 0x00, 0x01, 0x00, 0x02,                   /* 10 direction both */
    0x0c, 0x00, 0x02, 0x00, 'a',  'b',              /* 12 value "ab" */
};

/* INTERCEPT UP: mirror ID 7, User-Name "a" NUL "b" */
static const uint8_t intercept_vec[] = {
    0x50, 0x4d, 0x49, 0x50, 0x01, 0x00, 0x01, 0x00, 0x62, 0x00, 0x00, 0x00, /* batch, 98 */
    0x0f, 0x00, 0x08, 0x00, 0x4e, 0x00, 0x00, 0x00, /* INTERCEPT UP, body 78 */
    0x01, 0x00, 0x04, 0x00, 0x07, 0x00, 0x00, 0x00, /* 1 mirror_id 7 */
    0x02, 0x00, 0x04, 0x00, 0x09, 0x00, 0x00, 0x00, /* 2 session_id 9 */
    0x03, 0x00, 0x04, 0x00, 0x7f, 0x00, 0x00, 0x09, /* 3 analyzer 127.0.0.9 */
    0x05, 0x00, 0x02, 0x00, 0x4e, 0x75,             /* 5 port 30030 */
    0x06, 0x00, 0x01, 0x00, 0x02,                   /* 6 direction both */
    0x07, 0x00, 0x01, 0x00, 0x00,                   /* 7 config_source radiusLogin */
    0x08, 0x00, 0x01, 0x00, 0x03,                   /* 8 trigger_type username */
    0x09, 0x00, 0x02, 0x00, 'a',  'b',              /* 9 trigger "ab" */
    0x0a, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x0a, /* 10 router_id 0x0a000001 */
    0x0b, 0x00, 0x08, 0x00, 0x00, 0xf1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00, /* 11 since */
    0x0c, 0x00, 0x03, 0x00, 'a',  0x00, 'b',                                /* 12 user "a\0b" */
};

static void vec_intercept(struct pm_intercept *ic)
{
    memset(ic, 0, sizeof(*ic));
    ic->mirror_id = 7;
    ic->session_id = 9;
    ic->analyzer.family = 4;
    memcpy(ic->analyzer.addr, "\x7f\0\0\x09", 4);
    ic->analyzer.port = 30030;
    ic->direction = TRIG_DIR_BOTH;
    ic->config_source = 0;
    ic->trigger_type = 3;
    strcpy(ic->trigger, "ab");
    ic->router_id = 0x0a000001;
    ic->since_sec = 1700000000;
    ic->id.user.len = 3;
    memcpy(ic->id.user.v, "a\0b", 3);
}

static void test_vectors(void)
{
    struct ipc_rec r;
    uint8_t buf[512];

    CHECK(sizeof(hello_vec) == 51 && sizeof(event_vec) == 145);
    new_rec(&r, IPC_HELLO);
    r.u.hello.version = 1;
    r.u.hello.role = IPC_ROLE_AGENT;
    r.u.hello.pid = 0x1234;
    r.u.hello.generation = 7;
    CHECK(encode(&r, buf, sizeof(buf)) == sizeof(hello_vec));
    CHECK(memcmp(buf, hello_vec, sizeof(hello_vec)) == 0);
    CHECK(parse(hello_vec, sizeof(hello_vec)) == 1 && ngot == 1);
    CHECK(got[0].type == IPC_HELLO && got[0].u.hello.version == 1);
    CHECK(got[0].u.hello.role == IPC_ROLE_AGENT && got[0].u.hello.pid == 0x1234);
    CHECK(got[0].u.hello.generation == 7);

    new_rec(&r, IPC_EVENT);
    vec_event(&r.u.event);
    CHECK(encode(&r, buf, sizeof(buf)) == sizeof(event_vec));
    CHECK(memcmp(buf, event_vec, sizeof(event_vec)) == 0);
    CHECK(parse(event_vec, sizeof(event_vec)) == 1 && ngot == 1);
    CHECK(memcmp(&got[0].u.event, &r.u.event, sizeof(r.u.event)) == 0);

    CHECK(sizeof(trigger_vec) == 81 && sizeof(intercept_vec) == 98);
    new_rec(&r, IPC_TRIGGER_SET);
    r.flags = IPC_F_BEGIN | IPC_F_END;
    r.u.trigger_set.generation = 1;
    r.u.trigger_set.entry.config_source = 2;
    struct pm_trigger *t = &r.u.trigger_set.entry.rule;
    t->type = TRIG_USERNAME;
    strcpy(t->text, "ab");
    memcpy(t->value, "ab", 2);
    t->value_len = 2;
    t->mirror_id = 7;
    t->analyzer.family = 4;
    memcpy(t->analyzer.addr, "\x7f\0\0\x09", 4);
    t->analyzer.port = 30030;
    t->direction = TRIG_DIR_BOTH;
    CHECK(encode(&r, buf, sizeof(buf)) == sizeof(trigger_vec));
    CHECK(memcmp(buf, trigger_vec, sizeof(trigger_vec)) == 0);
    CHECK(parse(trigger_vec, sizeof(trigger_vec)) == 1 && ngot == 1);
    CHECK(memcmp(&got[0].u.trigger_set, &r.u.trigger_set, sizeof(r.u.trigger_set)) == 0);

    new_rec(&r, IPC_INTERCEPT);
    r.flags = IPC_F_ICPT_UP;
    vec_intercept(&r.u.intercept.ic);
    CHECK(encode(&r, buf, sizeof(buf)) == sizeof(intercept_vec));
    CHECK(memcmp(buf, intercept_vec, sizeof(intercept_vec)) == 0);
    CHECK(parse(intercept_vec, sizeof(intercept_vec)) == 1 && ngot == 1);
    CHECK(got[0].flags == IPC_F_ICPT_UP);
    CHECK(memcmp(&got[0].u.intercept, &r.u.intercept, sizeof(r.u.intercept)) == 0);
}

/* ---- round trips ------------------------------------------------------------ */

static void test_round_trips(void)
{
    struct ipc_rec r, *b;

    /* EVENT: every field a distinct non-zero value, strings at their limits */
    new_rec(&r, IPC_EVENT);
    r.u.event.trap = PM_TRAP_SESSION_END;
    r.u.event.when.tv_sec = -5; /* before 1970: i64 keeps the sign */
    r.u.event.when.tv_nsec = 999999999;
    r.u.event.config_source = 3;
    r.u.event.trigger_type = 8;
    memset(r.u.event.trigger, 'T', PM_EV_TRIGGER_MAX - 1);
    r.u.event.router_id = 0xfffffffe;
    memset(r.u.event.user_name, 'u', PM_EV_USER_MAX - 1);
    r.u.event.mirror_id = 0x01020304;
    r.u.event.session_id = 0x05060708;
    r.u.event.error_cause = 9;
    strcpy(r.u.event.error_string, "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    memset(r.u.event.policy_name, 'p', PM_EV_POLICY_MAX - 1);
    r.u.event.policy_id = 77;
    r.u.event.direction = 1;
    r.u.event.target_ip = 0x11223344;
    r.u.event.analyzer_ip = 0x55667788;
    r.u.event.termination_reason = 22;
    b = round_trip(&r);
    CHECK(memcmp(&b->u.event, &r.u.event, sizeof(r.u.event)) == 0);

    new_rec(&r, IPC_MLOG);
    r.u.mlog.sec = 1700000001;
    r.u.mlog.nsec = 12345;
    memset(r.u.mlog.text, 'm', IPC_MLOG_MAX);
    b = round_trip(&r);
    CHECK(b->u.mlog.sec == 1700000001 && b->u.mlog.nsec == 12345);
    CHECK(strcmp(b->u.mlog.text, r.u.mlog.text) == 0);

    new_rec(&r, IPC_STATS);
    strcpy(r.u.stats.source, "eth1");
    r.u.stats.ncounters = IPC_COUNTER_MAX;
    for (size_t i = 0; i < IPC_COUNTER_MAX; i++) {
        snprintf(r.u.stats.counters[i].name, sizeof(r.u.stats.counters[i].name), "c%zu", i);
        r.u.stats.counters[i].value = 0x0102030405060708ull * i;
    }
    b = round_trip(&r);
    CHECK(strcmp(b->u.stats.source, "eth1") == 0 && b->u.stats.ncounters == IPC_COUNTER_MAX);
    for (size_t i = 0; i < IPC_COUNTER_MAX; i++) {
        CHECK(strcmp(b->u.stats.counters[i].name, r.u.stats.counters[i].name) == 0);
        CHECK(b->u.stats.counters[i].value == r.u.stats.counters[i].value);
    }

    new_rec(&r, IPC_TRIGGER_SET); /* every field: an IPv6 prefix rule */
    r.flags = IPC_F_BEGIN;
    r.u.trigger_set.generation = 99;
    r.u.trigger_set.entry.config_source = 2;
    struct pm_trigger *t = &r.u.trigger_set.entry.rule;
    t->type = TRIG_IP;
    strcpy(t->text, "2001:db8::/56");
    t->ip_family = 6;
    t->ip[0] = 0x20;
    t->ip[1] = 0x01;
    t->ip_plen = 56;
    t->mirror_id = TRIG_MIRROR_ID_MAX;
    t->has_session_id = 1;
    t->session_id = 0xffffffff;
    t->direction = TRIG_DIR_EGRESS;
    t->analyzer.family = 6;
    for (int i = 0; i < 16; i++)
        t->analyzer.addr[i] = (uint8_t)(0x20 + i);
    t->analyzer.port = 9000;
    t->from = 1700000000;
    t->until = 1700003600;
    b = round_trip(&r);
    CHECK(memcmp(&b->u.trigger_set, &r.u.trigger_set, sizeof(r.u.trigger_set)) == 0);
    r.flags = IPC_F_END; /* octets with NUL, an IPv4 analyzer */
    memset(t, 0, sizeof(*t));
    t->type = TRIG_OPT82;
    strcpy(t->text, "0x0100ff");
    memcpy(t->value, "\1\0\xff", 3);
    t->value_len = 3;
    t->analyzer.family = 4;
    memcpy(t->analyzer.addr, "\x7f\0\0\1", 4);
    t->analyzer.port = 1;
    b = round_trip(&r);
    CHECK(memcmp(&b->u.trigger_set, &r.u.trigger_set, sizeof(r.u.trigger_set)) == 0);
    memset(t->value, 'v', TRIG_VALUE_MAX);
    t->value_len = TRIG_VALUE_MAX;
    memset(t->text, 'x', TRIG_TEXT_MAX);
    b = round_trip(&r);
    CHECK(memcmp(&b->u.trigger_set, &r.u.trigger_set, sizeof(r.u.trigger_set)) == 0);
    new_rec(&r, IPC_TRIGGER_SET); /* an empty table in one record */
    r.flags = IPC_F_BEGIN | IPC_F_END | IPC_F_EMPTY;
    r.u.trigger_set.generation = 100;
    b = round_trip(&r);
    CHECK(b->u.trigger_set.generation == 100 && b->u.trigger_set.entry.rule.analyzer.family == 0);

    /* INTERCEPT: every identity, at its limits */
    static const unsigned icpt_flags[] = {IPC_F_ICPT_UP, IPC_F_ICPT_DOWN, IPC_F_ICPT_RESTORE};
    for (size_t k = 0; k < 3; k++) {
        new_rec(&r, IPC_INTERCEPT);
        r.flags = (uint16_t)icpt_flags[k];
        struct pm_intercept *ic = &r.u.intercept.ic;
        vec_intercept(ic);
        ic->analyzer.family = 6;
        memset(ic->analyzer.addr, 0x11, 16);
        ic->config_source = 1;
        memset(ic->trigger, 'T', PM_ICPT_TRIGGER_MAX);
        struct sig_str *ss[] = {&ic->id.user,        &ic->id.csid,   &ic->id.acct_sid,
                                &ic->id.nas_port_id, &ic->id.nas_id, &ic->id.circuit,
                                &ic->id.remote,      &ic->id.opt82};
        for (size_t i = 0; i < 8; i++) {
            ss[i]->len = SIG_STR_MAX;
            memset(ss[i]->v, (int)i, SIG_STR_MAX); /* i = 0: all NUL */
        }
        ic->id.nas_ip = htonl(0xc6120001);
        ic->id.has_nas_port = 1;
        ic->id.framed_ip = htonl(0xc6120005);
        ic->id.has_framed_ip6 = 1;
        ic->id.framed_ip6[15] = 5;
        ic->id.nprefix6 = SIG_PREFIX6_MAX;
        for (unsigned i = 0; i < SIG_PREFIX6_MAX; i++) {
            ic->id.prefix6[i].addr[0] = (uint8_t)(0x20 + i);
            ic->id.prefix6[i].len = (uint8_t)(i == 0 ? 128 : 56);
        }
        ic->id.peer_ip = htonl(0x7f000001);
        ic->id.has_chaddr = 1;
        memcpy(ic->id.chaddr, "\0\1\2\3\4\5", 6);
        b = round_trip(&r);
        CHECK(memcmp(&b->u.intercept, &r.u.intercept, sizeof(r.u.intercept)) == 0);
    }

    new_rec(&r, IPC_TRIGGER_ACK);
    r.u.trigger_ack.generation = 100;
    r.u.trigger_ack.entries = 3;
    b = round_trip(&r);
    CHECK(b->u.trigger_ack.generation == 100 && b->u.trigger_ack.entries == 3);

    new_rec(&r, IPC_HEARTBEAT);
    r.u.heartbeat.seq = UINT64_MAX;
    r.u.heartbeat.mono_ms = 123456789012ull;
    b = round_trip(&r);
    CHECK(b->u.heartbeat.seq == UINT64_MAX && b->u.heartbeat.mono_ms == 123456789012ull);
    CHECK(!b->u.heartbeat.has_sources); /* the agent's, the monitor's: no source fields */
    /* the capture process's answer to the monitor: its live sources */
    r.u.heartbeat.has_sources = 1;
    r.u.heartbeat.sources = 3;
    r.u.heartbeat.quiet_ms = UINT64_MAX;
    b = round_trip(&r);
    CHECK(b->u.heartbeat.has_sources && b->u.heartbeat.sources == 3);
    CHECK(b->u.heartbeat.quiet_ms == UINT64_MAX && b->u.heartbeat.seq == UINT64_MAX);
    r.u.heartbeat.sources = 0; /* no live source: still said */
    r.u.heartbeat.quiet_ms = 0;
    b = round_trip(&r);
    CHECK(b->u.heartbeat.has_sources && b->u.heartbeat.sources == 0);

    new_rec(&r, IPC_LIST_REQ);
    r.u.list_req.request_id = 11;
    strcpy(r.u.list_req.list, "sessions");
    r.u.list_req.offset = 40;
    r.u.list_req.max_rows = 20;
    b = round_trip(&r);
    CHECK(b->u.list_req.request_id == 11 && strcmp(b->u.list_req.list, "sessions") == 0);
    CHECK(b->u.list_req.offset == 40 && b->u.list_req.max_rows == 20);
    CHECK(b->u.list_req.filter[0] == '\0');
    memset(r.u.list_req.filter, 'f', IPC_FILTER_MAX);
    b = round_trip(&r);
    CHECK(strcmp(b->u.list_req.filter, r.u.list_req.filter) == 0);

    static const char *rows[] = {"first row", "", "third \xc3\xbc"};
    new_rec(&r, IPC_LIST_PAGE);
    r.u.list_page.request_id = 11;
    r.u.list_page.offset = 40;
    r.u.list_page.more = 1;
    r.u.list_page.nrows = 3;
    for (size_t i = 0; i < 3; i++) {
        r.u.list_page.rows[i].s = rows[i];
        r.u.list_page.rows[i].len = strlen(rows[i]);
    }
    b = round_trip(&r);
    CHECK(b->u.list_page.request_id == 11 && b->u.list_page.offset == 40);
    CHECK(b->u.list_page.more == 1 && b->u.list_page.nrows == 3);
    CHECK(!b->u.list_page.has_total && !b->u.list_page.has_count);
    r.u.list_page.has_total = r.u.list_page.has_count = 1;
    r.u.list_page.total = 7;
    r.u.list_page.count = 0xffffffff;
    b = round_trip(&r);
    CHECK(b->u.list_page.has_total && b->u.list_page.total == 7);
    CHECK(b->u.list_page.has_count && b->u.list_page.count == 0xffffffff);
    for (size_t i = 0; i < 3; i++)
        CHECK(got_rows[i].len == strlen(rows[i]) &&
              memcmp(got_rows[i].s, rows[i], got_rows[i].len) == 0);

    new_rec(&r, IPC_CONFIG);
    r.flags = IPC_F_BEGIN | IPC_F_END;
    strcpy(r.u.config.key, "radiusSecret");
    strcpy(r.u.config.value, "s3cr3t with spaces");
    r.u.config.line = 12;
    b = round_trip(&r);
    CHECK(strcmp(b->u.config.key, "radiusSecret") == 0 && b->u.config.line == 12);
    CHECK(strcmp(b->u.config.value, "s3cr3t with spaces") == 0);
    /* a config line may hold a tab (FT_LINE); other text fields may not */
    strcpy(r.u.config.value, "trapHost\t127.0.0.1");
    b = round_trip(&r);
    CHECK(strcmp(b->u.config.value, "trapHost\t127.0.0.1") == 0);

    new_rec(&r, IPC_STATUS);
    r.u.status.state = IPC_STATUS_FAILED;
    strcpy(r.u.status.text, "agentXSocket: refused");
    b = round_trip(&r);
    CHECK(b->u.status.state == IPC_STATUS_FAILED &&
          strcmp(b->u.status.text, "agentXSocket: refused") == 0);
    r.u.status.state = IPC_STATUS_RELOAD_FAILED + 1;
    CHECK(encode_fails(&r));

    new_rec(&r, IPC_PRIV_REQ);
    r.u.priv_req.request_id = 7;
    r.u.priv_req.what = IPC_PRIV_AGENTX;
    b = round_trip(&r);
    CHECK(b->u.priv_req.request_id == 7 && b->u.priv_req.what == IPC_PRIV_AGENTX);
    r.u.priv_req.what = IPC_PRIV_WHAT_MAX + 1;
    CHECK(encode_fails(&r));

    new_rec(&r, IPC_PRIV_FAIL);
    r.u.priv_fail.request_id = 7;
    r.u.priv_fail.err_no = 111;
    strcpy(r.u.priv_fail.text, "connect: Connection refused");
    b = round_trip(&r);
    CHECK(b->u.priv_fail.err_no == 111 &&
          strcmp(b->u.priv_fail.text, "connect: Connection refused") == 0);
}

/* ---- validation --------------------------------------------------------------- */

static uint8_t msg[IPC_MSG_MAX + 64];

static void expect_batch_refused(size_t len, enum ipc_reject why)
{
    CHECK(parse(msg, len) == -1);
    CHECK(ngot == 0 && cnt.batches == 0 && only_reason() == (int)why);
}

static void expect_record_refused(size_t len, enum ipc_reject why)
{
    CHECK(parse(msg, len) == 0);
    CHECK(ngot == 0 && cnt.batches == 1 && only_reason() == (int)why);
}

static size_t hello_body(uint8_t *body)
{
    memcpy(body, hello_vec + 20, 31);
    return 31;
}

static void test_batch_rules(void)
{
    size_t len;

    memcpy(msg, hello_vec, sizeof(hello_vec));
    CHECK(parse(msg, sizeof(hello_vec)) == 1);
    /* truncated header: every length below 12 */
    for (len = 0; len < IPC_BATCH_HDR; len++)
        expect_batch_refused(len, IPC_REJ_SHORT);
    msg[3] = 'Q'; /* bad magic */
    expect_batch_refused(sizeof(hello_vec), IPC_REJ_MAGIC);
    msg[3] = 0x50;
    msg[4] = 2; /* another version */
    expect_batch_refused(sizeof(hello_vec), IPC_REJ_VERSION);
    msg[4] = 1;
    /* a message cut short: header length > octets received */
    expect_batch_refused(sizeof(hello_vec) - 1, IPC_REJ_LENGTH);
    /* header length beyond the maximum (and beyond the message) */
    msg[8] = 0xff, msg[9] = 0xff, msg[10] = 0xff, msg[11] = 0xff;
    expect_batch_refused(sizeof(hello_vec), IPC_REJ_LENGTH);
    msg[8] = 0x33, msg[9] = 0, msg[10] = 0, msg[11] = 0;
    /* a message longer than IPC_MSG_MAX, header consistent */
    memset(msg + sizeof(hello_vec), 0, IPC_MSG_MAX + 1 - sizeof(hello_vec));
    ipc_batch_header(msg, 1, IPC_MSG_MAX + 1);
    expect_batch_refused(IPC_MSG_MAX + 1, IPC_REJ_LENGTH);
    memcpy(msg, hello_vec, sizeof(hello_vec));
    /* record length overflows the batch (32-bit value that wraps a size_t sum) */
    msg[16] = 0xff, msg[17] = 0xff, msg[18] = 0xff, msg[19] = 0xff;
    expect_batch_refused(sizeof(hello_vec), IPC_REJ_FRAMING);
    msg[16] = 0x20, msg[17] = 0, msg[18] = 0, msg[19] = 0; /* one octet too many */
    expect_batch_refused(sizeof(hello_vec), IPC_REJ_FRAMING);
    msg[16] = 0x1f;
    /* trailing octets shorter than a record header */
    memcpy(msg + sizeof(hello_vec), "\x01\x00\x00", 3);
    ipc_batch_header(msg, 1, sizeof(hello_vec) + 3);
    expect_batch_refused(sizeof(hello_vec) + 3, IPC_REJ_FRAMING);
    /* count mismatch: 2 announced, 1 present; 0; more than IPC_BATCH_RECS */
    ipc_batch_header(msg, 2, sizeof(hello_vec));
    expect_batch_refused(sizeof(hello_vec), IPC_REJ_COUNT);
    ipc_batch_header(msg, 0, sizeof(hello_vec));
    expect_batch_refused(sizeof(hello_vec), IPC_REJ_COUNT);
    ipc_batch_header(msg, IPC_BATCH_RECS + 1, sizeof(hello_vec));
    expect_batch_refused(sizeof(hello_vec), IPC_REJ_COUNT);
    /* two records, count 1 */
    memcpy(msg + sizeof(hello_vec), hello_vec + 12, sizeof(hello_vec) - 12);
    ipc_batch_header(msg, 1, 2 * sizeof(hello_vec) - 12);
    expect_batch_refused(2 * sizeof(hello_vec) - 12, IPC_REJ_COUNT);
    ipc_batch_header(msg, 2, 2 * sizeof(hello_vec) - 12);
    CHECK(parse(msg, 2 * sizeof(hello_vec) - 12) == 2 && ngot == 2);
}

static void test_record_rules(void)
{
    uint8_t body[IPC_REC_MAX + 64], v[IPC_MLOG_MAX + 2];
    size_t blen, len;

    /* unknown type; undefined flag; body over IPC_REC_MAX */
    blen = hello_body(body);
    len = mkbatch(msg, IPC_TYPE_MAX + 1, 0, body, blen);
    expect_record_refused(len, IPC_REJ_TYPE);
    len = mkbatch(msg, IPC_HELLO, IPC_F_BEGIN, body, blen);
    expect_record_refused(len, IPC_REJ_FLAGS);
    len = mkbatch(msg, IPC_TRIGGER_SET, 0x0008, body, blen);
    expect_record_refused(len, IPC_REJ_FLAGS);
    memset(v, 'x', 100);
    for (blen = hello_body(body); blen <= IPC_REC_MAX;)
        tlv(body, &blen, 60, v, 100); /* unknown tags, to make the body long */
    len = mkbatch(msg, IPC_HELLO, 0, body, blen);
    expect_record_refused(len, IPC_REJ_REC_SIZE);

    /* unknown tags are ignored */
    blen = hello_body(body);
    tlv(body, &blen, 63, "zz", 2);
    tlv(body, &blen, 1000, "", 0);
    len = mkbatch(msg, IPC_HELLO, 0, body, blen);
    CHECK(parse(msg, len) == 1 && got[0].u.hello.pid == 0x1234);

    /* a TLV running past the body; a TLV header cut */
    blen = hello_body(body);
    tlv(body, &blen, 63, "zz", 2);
    body[blen - 4] = 3; /* its length says 3, 2 remain */
    len = mkbatch(msg, IPC_HELLO, 0, body, blen);
    expect_record_refused(len, IPC_REJ_TLV);
    blen = hello_body(body);
    memcpy(body + blen, "\x3f\x00\x00", 3);
    len = mkbatch(msg, IPC_HELLO, 0, body, blen + 3);
    expect_record_refused(len, IPC_REJ_TLV);

    /* duplicate tag; missing required tag; wrong width; out of range */
    blen = hello_body(body);
    tlv(body, &blen, 1, "\x01\x00", 2);
    len = mkbatch(msg, IPC_HELLO, 0, body, blen);
    expect_record_refused(len, IPC_REJ_DUPLICATE);
    blen = 0;
    tlv(body, &blen, 1, "\x01\x00", 2);
    tlv(body, &blen, 2, "\x02", 1);
    tlv(body, &blen, 4, "\0\0\0\0\0\0\0\0", 8);
    len = mkbatch(msg, IPC_HELLO, 0, body, blen);
    expect_record_refused(len, IPC_REJ_MISSING); /* no pid */
    blen = 0;
    tlv(body, &blen, 1, "\x01\x00\x00", 3);
    len = mkbatch(msg, IPC_HELLO, 0, body, blen);
    expect_record_refused(len, IPC_REJ_WIDTH);
    blen = hello_body(body);
    body[10] = 4; /* role 4 */
    len = mkbatch(msg, IPC_HELLO, 0, body, blen);
    expect_record_refused(len, IPC_REJ_RANGE);
    body[10] = 0; /* role 0 */
    len = mkbatch(msg, IPC_HELLO, 0, body, blen);
    expect_record_refused(len, IPC_REJ_RANGE);
}

/* EVENT vector with the value at body offset off replaced by x. */
static size_t event_with(size_t off, uint8_t x)
{
    memcpy(msg, event_vec, sizeof(event_vec));
    msg[20 + off] = x;
    return sizeof(event_vec);
}

/* EVENT vector with its trigger (tag 6, "eth0") replaced by s (len n). */
static size_t event_trigger(const char *s, size_t n)
{
    uint8_t body[600];
    size_t blen = 0;
    const uint8_t *p = event_vec + 20, *end = event_vec + sizeof(event_vec);
    while (p < end) {
        unsigned tag = p[0] | p[1] << 8, vl = p[2] | p[3] << 8;
        if (tag == 6)
            tlv(body, &blen, 6, s, n);
        else
            tlv(body, &blen, tag, p + 4, vl);
        p += 4 + vl;
    }
    return mkbatch(msg, IPC_EVENT, 0, body, blen);
}

/* An MLOG record whose text (a `text` field) is s. */
static size_t mlog_text(const char *s, size_t n)
{
    uint8_t body[600], sec[8] = {0}, nsec[4] = {0};
    size_t blen = 0;
    tlv(body, &blen, 1, sec, 8);
    tlv(body, &blen, 2, nsec, 4);
    tlv(body, &blen, 3, s, n);
    return mkbatch(msg, IPC_MLOG, 0, body, blen);
}

static void test_event_rules(void)
{
    /* offsets into event_vec's body of the u8 values */
    const size_t trap = 4, cs = 29, tt = 34, ec = 75, app = 80, dir = 103, trm = 124;
    char s[300];

    CHECK(parse(event_vec, sizeof(event_vec)) == 1);
    expect_record_refused(event_with(trap, 0), IPC_REJ_RANGE);
    expect_record_refused(event_with(trap, 11), IPC_REJ_RANGE);
    expect_record_refused(event_with(cs, 4), IPC_REJ_RANGE);
    expect_record_refused(event_with(tt, 9), IPC_REJ_RANGE);
    expect_record_refused(event_with(ec, 10), IPC_REJ_RANGE);
    expect_record_refused(event_with(app, 1), IPC_REJ_RANGE);
    expect_record_refused(event_with(dir, 2), IPC_REJ_RANGE);
    expect_record_refused(event_with(trm, 23), IPC_REJ_RANGE);
    CHECK(parse(msg, event_with(trm, 22)) == 1); /* the top of the range is in */
    /* nsec 1000000000 */
    memcpy(msg, event_vec, sizeof(event_vec));
    memcpy(msg + 20 + 21, "\x00\xca\x9a\x3b", 4);
    expect_record_refused(sizeof(event_vec), IPC_REJ_RANGE);

    /* text: not UTF-8, overlong, surrogate, above U+10FFFF, cut sequence, controls */
    static const char *const bad[] = {
        "\xc3\x28",
        "\xc0\xaf",
        "\xe0\x80\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xf8\x88\x80\x80\x80",
        "ab\xe2\x82",
        "\xff",
        "a\x01",
        "a\tb",
        "a\nb",
        "\x7f",
        "\xc2\x85",
        "a\0b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = strlen(bad[i]) ? strlen(bad[i]) : 1;
        if (strcmp(bad[i], "a") == 0)
            n = 3; /* "a\0b" */
        expect_record_refused(mlog_text(bad[i], n), IPC_REJ_TEXT);
        /* an event's strings are octets as the wire gave them: all but NUL */
        if (n == 3 && bad[i][1] == '\0')
            expect_record_refused(event_trigger(bad[i], n), IPC_REJ_TEXT);
        else
            CHECK(parse(msg, event_trigger(bad[i], n)) == 1);
    }
    CHECK(parse(msg, mlog_text("\xf4\x8f\xbf\xbf \xef\xbf\xbd \xc2\xa0", 11)) == 1);

    /* oversize: trigger of 256, policy name of 41 */
    memset(s, 'a', sizeof(s));
    CHECK(parse(msg, event_trigger(s, 255)) == 1);
    expect_record_refused(event_trigger(s, 256), IPC_REJ_SIZE);
    uint8_t body[600];
    size_t blen = 0;
    const uint8_t *p = event_vec + 20, *end = event_vec + sizeof(event_vec);
    for (; p < end; p += 4 + (p[2] | p[3] << 8)) {
        unsigned tag = p[0] | p[1] << 8;
        if (tag == 14)
            tlv(body, &blen, 14, s, 41);
        else
            tlv(body, &blen, tag, p + 4, p[2] | p[3] << 8);
    }
    expect_record_refused(mkbatch(msg, IPC_EVENT, 0, body, blen), IPC_REJ_SIZE);

    /* the encoder refuses what a receiver would */
    struct ipc_rec r;
    new_rec(&r, IPC_EVENT);
    vec_event(&r.u.event);
    r.u.event.direction = 2;
    CHECK(encode_fails(&r));
    r.u.event.direction = -1;
    CHECK(encode_fails(&r));
    r.u.event.direction = 0;
    r.u.event.when.tv_nsec = 1000000000L;
    CHECK(encode_fails(&r));
    r.u.event.when.tv_nsec = 0;
    memset(r.u.event.user_name, 'u', sizeof(r.u.event.user_name)); /* no NUL */
    CHECK(encode_fails(&r));
    r.u.event.user_name[0] = '\0';
    strcpy(r.u.event.trigger, "raw\x01\xff"); /* octets: the agent escapes them */
    CHECK(!encode_fails(&r));
    strcpy(r.u.event.trigger, "ok");
    CHECK(!encode_fails(&r));
}

static void test_other_rules(void)
{
    uint8_t body[IPC_REC_MAX], v[IPC_MLOG_MAX + 2];
    size_t blen;
    struct ipc_rec r;

    /* MLOG: text of 1..4095 octets */
    static const size_t mlog_len[] = {0, 1, IPC_MLOG_MAX, IPC_MLOG_MAX + 1};
    memset(v, 'm', sizeof(v));
    for (size_t i = 0; i < 4; i++) {
        blen = 0;
        tlv(body, &blen, 1, "\0\0\0\0\0\0\0\0", 8);
        tlv(body, &blen, 2, "\0\0\0\0", 4);
        tlv(body, &blen, 3, v, mlog_len[i]);
        if (i == 1 || i == 2)
            CHECK(parse(msg, mkbatch(msg, IPC_MLOG, 0, body, blen)) == 1);
        else
            expect_record_refused(mkbatch(msg, IPC_MLOG, 0, body, blen), IPC_REJ_SIZE);
    }

    /* STATS: a list tag repeats, up to its bound; a counter shorter than its u64 */
    blen = 0;
    tlv(body, &blen, 1, "src", 3);
    for (size_t i = 0; i < IPC_COUNTER_MAX; i++)
        tlv(body, &blen, 2, "\1\0\0\0\0\0\0\0name", 12);
    CHECK(parse(msg, mkbatch(msg, IPC_STATS, 0, body, blen)) == 1);
    CHECK(got[0].u.stats.ncounters == IPC_COUNTER_MAX);
    tlv(body, &blen, 2, "\1\0\0\0\0\0\0\0name", 12);
    expect_record_refused(mkbatch(msg, IPC_STATS, 0, body, blen), IPC_REJ_REPEAT);
    blen = 0;
    tlv(body, &blen, 1, "src", 3);
    tlv(body, &blen, 2, "\1\0\0\0", 4);
    expect_record_refused(mkbatch(msg, IPC_STATS, 0, body, blen), IPC_REJ_WIDTH);
    blen = 0;
    tlv(body, &blen, 1, "src", 3);
    tlv(body, &blen, 2, "\1\0\0\0\0\0\0\0", 8); /* no name */
    expect_record_refused(mkbatch(msg, IPC_STATS, 0, body, blen), IPC_REJ_SIZE);

    /* TRIGGER_SET: entry rules */
    new_rec(&r, IPC_TRIGGER_SET);
    r.u.trigger_set.generation = 1;
    r.u.trigger_set.entry.config_source = 2;
    struct pm_trigger *t = &r.u.trigger_set.entry.rule;
    t->type = TRIG_USERNAME;
    strcpy(t->text, "x");
    t->value[0] = 'x';
    t->value_len = 1;
    t->analyzer.family = 4;
    t->analyzer.port = 1;
    CHECK(!encode_fails(&r));
    t->analyzer.family = 0; /* no analyzer */
    CHECK(encode_fails(&r));
    t->analyzer.family = 4;
    t->analyzer.port = 0;
    CHECK(encode_fails(&r));
    t->analyzer.port = 1;
    t->type = TRIG_TYPE_MAX + 1;
    CHECK(encode_fails(&r));
    t->type = TRIG_USERNAME;
    t->direction = 3;
    CHECK(encode_fails(&r));
    t->direction = TRIG_DIR_BOTH;
    t->mirror_id = TRIG_MIRROR_ID_MAX + 1;
    CHECK(encode_fails(&r));
    t->mirror_id = 0;
    t->value_len = 0; /* a value is needed */
    CHECK(encode_fails(&r));
    t->value_len = 1;
    t->text[0] = '\0';
    CHECK(encode_fails(&r));
    strcpy(t->text, "x");
    t->from = 10;
    t->until = 10;
    CHECK(encode_fails(&r));
    t->from = -1;
    t->until = 0;
    CHECK(encode_fails(&r));
    t->from = 0;
    t->type = TRIG_IP; /* no address */
    CHECK(encode_fails(&r));
    t->ip_family = 4;
    t->ip_plen = 33;
    CHECK(encode_fails(&r));
    t->ip_plen = 32;
    CHECK(!encode_fails(&r));
    t->ip_family = 6;
    t->ip_plen = 128;
    CHECK(!encode_fails(&r));
    blen = 0;
    tlv(body, &blen, 1, "\1\0\0\0\0\0\0\0", 8);
    tlv(body, &blen, 2, "\2", 1);
    tlv(body, &blen, 3, "\3", 1);
    tlv(body, &blen, 4, "x", 1);
    tlv(body, &blen, 5, "\0\0\0\0", 4);
    tlv(body, &blen, 8, "\1\0", 2);
    tlv(body, &blen, 10, "\2", 1);
    tlv(body, &blen, 12, "\0", 1);
    CHECK(parse(msg, mkbatch(msg, IPC_TRIGGER_SET, 0, body, blen)) == 0);
    CHECK(only_reason() == IPC_REJ_MISSING); /* no analyzer */
    tlv(body, &blen, 6, "\1\2\3\4", 4);
    CHECK(parse(msg, mkbatch(msg, IPC_TRIGGER_SET, 0, body, blen)) == 1);
    CHECK(got[0].u.trigger_set.entry.rule.value_len == 1 &&
          got[0].u.trigger_set.entry.rule.value[0] == 0); /* a NUL octet is a value */
    expect_record_refused(mkbatch(msg, IPC_TRIGGER_SET, IPC_F_EMPTY, body, blen),
                          IPC_REJ_SEMANTIC); /* EMPTY with an entry */
    size_t keep = blen;
    tlv(body, &blen, 13, "\1\2\3\4", 4); /* an address on a username rule */
    expect_record_refused(mkbatch(msg, IPC_TRIGGER_SET, 0, body, blen), IPC_REJ_SEMANTIC);
    blen = keep;
    tlv(body, &blen, 7, "0123456789abcdef", 16);
    expect_record_refused(mkbatch(msg, IPC_TRIGGER_SET, 0, body, blen), IPC_REJ_SEMANTIC);
    blen = 0;
    tlv(body, &blen, 1, "\1\0\0\0\0\0\0\0", 8);
    tlv(body, &blen, 7, "0123456789abcde", 15);
    expect_record_refused(mkbatch(msg, IPC_TRIGGER_SET, IPC_F_EMPTY, body, blen), IPC_REJ_WIDTH);

    /* INTERCEPT: exactly one flag, one analyzer, prefixes 17 octets of 1..128 */
    blen = 0;
    tlv(body, &blen, 1, "\7\0\0\0", 4);
    tlv(body, &blen, 2, "\0\0\0\0", 4);
    tlv(body, &blen, 5, "\1\0", 2);
    tlv(body, &blen, 6, "\2", 1);
    tlv(body, &blen, 7, "\0", 1);
    tlv(body, &blen, 8, "\3", 1);
    tlv(body, &blen, 9, "", 0);
    tlv(body, &blen, 10, "\0\0\0\0", 4);
    tlv(body, &blen, 11, "\0\0\0\0\0\0\0\0", 8);
    expect_record_refused(mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_UP, body, blen),
                          IPC_REJ_MISSING); /* no analyzer */
    tlv(body, &blen, 3, "\x7f\0\0\1", 4);
    CHECK(parse(msg, mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_DOWN, body, blen)) == 1);
    expect_record_refused(mkbatch(msg, IPC_INTERCEPT, 0, body, blen), IPC_REJ_FLAGS);
    expect_record_refused(
        mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_UP | IPC_F_ICPT_RESTORE, body, blen), IPC_REJ_FLAGS);
    expect_record_refused(mkbatch(msg, IPC_INTERCEPT, IPC_F_BEGIN, body, blen), IPC_REJ_FLAGS);
    keep = blen;
    tlv(body, &blen, 12, "", 0); /* an identity of 0 octets: absent, not empty */
    expect_record_refused(mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_UP, body, blen), IPC_REJ_SIZE);
    blen = keep;
    uint8_t pfx[17] = {0x20, 0x01};
    tlv(body, &blen, 24, pfx, 17);
    expect_record_refused(mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_UP, body, blen), IPC_REJ_RANGE);
    blen = keep;
    pfx[16] = 129;
    tlv(body, &blen, 24, pfx, 17);
    expect_record_refused(mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_UP, body, blen), IPC_REJ_RANGE);
    blen = keep;
    pfx[16] = 64;
    for (int i = 0; i < SIG_PREFIX6_MAX; i++)
        tlv(body, &blen, 24, pfx, 17);
    CHECK(parse(msg, mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_UP, body, blen)) == 1);
    CHECK(got[0].u.intercept.ic.id.nprefix6 == SIG_PREFIX6_MAX);
    tlv(body, &blen, 24, pfx, 17);
    expect_record_refused(mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_UP, body, blen), IPC_REJ_REPEAT);
    blen = keep;
    tlv(body, &blen, 26, "\0\1\2\3\4", 5);
    expect_record_refused(mkbatch(msg, IPC_INTERCEPT, IPC_F_ICPT_UP, body, blen), IPC_REJ_SIZE);

    /* LIST_REQ max_rows 0; LIST_PAGE more = 2 */
    new_rec(&r, IPC_LIST_REQ);
    strcpy(r.u.list_req.list, "x");
    CHECK(encode_fails(&r));
    r.u.list_req.max_rows = IPC_ROWS_MAX + 1;
    CHECK(encode_fails(&r));
    new_rec(&r, IPC_LIST_PAGE);
    r.u.list_page.more = 2;
    CHECK(encode_fails(&r));
    /* CONFIG: empty key; FD: purpose 0 and 4 */
    new_rec(&r, IPC_CONFIG);
    CHECK(encode_fails(&r));
    new_rec(&r, IPC_FD);
    CHECK(encode_fails(&r));
    r.u.fd.purpose = IPC_FD_PURPOSE_MAX + 1;
    CHECK(encode_fails(&r));
    new_rec(&r, 0);
    CHECK(encode_fails(&r));
    new_rec(&r, IPC_TYPE_MAX + 1);
    CHECK(encode_fails(&r));
}

/* One bad record among good ones costs only itself. */
static void test_mixed_batch(void)
{
    size_t len = IPC_BATCH_HDR;
    size_t rec = sizeof(hello_vec) - IPC_BATCH_HDR;

    memcpy(msg + len, hello_vec + 12, rec);
    len += rec;
    memcpy(msg + len, hello_vec + 12, rec);
    msg[len + 8 + 10] = 9; /* second record: role 9 */
    len += rec;
    memcpy(msg + len, event_vec + 12, sizeof(event_vec) - 12);
    len += sizeof(event_vec) - 12;
    ipc_batch_header(msg, 3, (uint32_t)len);
    CHECK(parse(msg, len) == 2 && ngot == 2);
    CHECK(got[0].type == IPC_HELLO && got[1].type == IPC_EVENT);
    CHECK(only_reason() == IPC_REJ_RANGE && cnt.records == 2 && cnt.batches == 1);
}

static int fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static void take_fd(struct ipc_rec *rec, void *arg)
{
    int *out = arg;
    collect(rec, NULL);
    if (rec->type == IPC_FD) {
        *out = rec->u.fd.fd;
        rec->u.fd.fd = -1;
    }
}

/* Descriptors: the k-th FD record takes the k-th; the rest are closed. */
static void test_fd_mapping(void)
{
    struct ipc_rec r;
    int fds[3], taken = -1;
    size_t len;

    new_rec(&r, IPC_FD);
    r.u.fd.purpose = IPC_FD_PCAP_FILE;
    r.u.fd.id = 2;
    strcpy(r.u.fd.name, "/tmp/x.pcap");
    len = encode(&r, msg, sizeof(msg));
    for (int i = 0; i < 3; i++)
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    memset(&cnt, 0, sizeof(cnt));
    ngot = 0;
    CHECK(ipc_batch_parse(msg, len, fds, 3, take_fd, &taken, &cnt) == 1);
    CHECK(taken == fds[0] && fd_open(fds[0]));
    CHECK(got[0].u.fd.purpose == IPC_FD_PCAP_FILE && got[0].u.fd.id == 2);
    CHECK(strcmp(got[0].u.fd.name, "/tmp/x.pcap") == 0);
    CHECK(!fd_open(fds[1]) && !fd_open(fds[2]) && cnt.fds_closed == 2);
    close(fds[0]);

    /* not taken by the callback: closed */
    fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(ipc_batch_parse(msg, len, fds, 1, collect, NULL, &cnt) == 1);
    CHECK(!fd_open(fds[0]));
    /* an FD record without a descriptor */
    CHECK(parse(msg, len) == 0 && only_reason() == IPC_REJ_FD_MISSING);
    /* a refused batch closes every descriptor */
    fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    msg[0] = 0;
    memset(&cnt, 0, sizeof(cnt));
    CHECK(ipc_batch_parse(msg, len, fds, 1, collect, NULL, &cnt) == -1);
    CHECK(!fd_open(fds[0]) && cnt.fds_closed == 1);
}

static void test_names(void)
{
    CHECK(strcmp(ipc_type_name(IPC_HELLO), "HELLO") == 0);
    CHECK(strcmp(ipc_type_name(IPC_FD), "FD") == 0);
    CHECK(ipc_type_name(0) == NULL && ipc_type_name(IPC_TYPE_MAX + 1) == NULL);
    for (int i = 0; i < IPC_REJ_NREASONS; i++)
        CHECK(ipc_reject_name((enum ipc_reject)i) != NULL);
    CHECK(ipc_reject_name(IPC_REJ_NREASONS) == NULL);
}

int main(void)
{
    test_vectors();
    test_round_trips();
    test_batch_rules();
    test_record_rules();
    test_event_rules();
    test_other_rules();
    test_mixed_batch();
    test_fd_mapping();
    test_names();
    printf("test_ipc_msg: ok\n");
    return 0;
}
