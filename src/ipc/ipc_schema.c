/*
 * ipc_schema.c - the tables behind ipc_schema.h: each record type's fields,
 * the type names and the reject-reason names (docs/ipc-protocol.md).
 */
#include "ipc_schema.h"

#define F(t, ft, req, lo, hi, n)                                                                   \
    {                                                                                              \
        t, ft, req, 0, lo, hi, 0, n                                                                \
    }
#define FM(t, ft, req, mib, n)                                                                     \
    {                                                                                              \
        t, ft, req, 0, 0, 0, mib, n                                                                \
    }
#define FL(t, ft, rep, lo, hi, n)                                                                  \
    {                                                                                              \
        t, ft, 0, rep, lo, hi, 0, n                                                                \
    }
#define U64MAX UINT64_MAX

static const struct field_def hello_defs[] = {
    F(1, FT_U16, 1, 1, 0xffff, "version"),
    F(2, FT_U8, 1, IPC_ROLE_MONITOR, IPC_ROLE_CAPTURE, "role"),
    F(3, FT_U32, 1, 1, 0x7fffffff, "pid"),
    F(4, FT_U64, 1, 0, U64MAX, "generation"),
};

static const struct field_def event_defs[] = {
    F(1, FT_U8, 1, PM_TRAP_MIN, PM_TRAP_MAX, "trap"),
    F(2, FT_I64, 1, 0, 0, "when_sec"),
    F(3, FT_U32, 1, 0, 999999999, "when_nsec"),
    FM(4, FT_U8, 1, PM_OBJ_CONFIG_SOURCE, "config_source"),
    FM(5, FT_U8, 1, PM_OBJ_TRIGGER_TYPE, "trigger_type"),
    F(6, FT_OCTETS, 1, 0, PM_EV_TRIGGER_MAX - 1, "trigger"),
    F(7, FT_U32, 1, 0, 0xffffffff, "router_id"),
    F(8, FT_OCTETS, 1, 0, PM_EV_USER_MAX - 1, "user_name"),
    F(9, FT_U32, 1, 0, 0xffffffff, "mirror_id"),
    F(10, FT_U32, 1, 0, 0xffffffff, "session_id"),
    FM(11, FT_U8, 1, PM_OBJ_ERROR_CAUSE, "error_cause"),
    FM(12, FT_U8, 1, PM_OBJ_APPLICATION, "application"),
    F(13, FT_OCTETS, 1, 0, PM_EV_ERRSTR_MAX - 1, "error_string"),
    F(14, FT_OCTETS, 1, 0, PM_EV_POLICY_MAX - 1, "policy_name"),
    F(15, FT_U32, 1, 0, 0xffffffff, "policy_id"),
    FM(16, FT_U8, 1, PM_OBJ_DIRECTION, "direction"),
    F(17, FT_IP4, 1, 0, 0, "target_ip"),
    F(18, FT_IP4, 1, 0, 0, "analyzer_ip"),
    FM(19, FT_U8, 1, PM_OBJ_TERMINATION_REASON, "termination_reason"),
};

static const struct field_def mlog_defs[] = {
    F(1, FT_I64, 1, 0, 0, "sec"),
    F(2, FT_U32, 1, 0, 999999999, "nsec"),
    F(3, FT_TEXT, 1, 1, IPC_MLOG_MAX, "text"),
};

static const struct field_def stats_defs[] = {
    F(1, FT_TEXT, 1, 1, IPC_NAME_MAX, "source"),
    FL(2, FT_NAMED_U64, IPC_COUNTER_MAX, 1, IPC_NAME_MAX, "counter"),
};

/* Tags 2..17 are the entry (a whole struct pm_trigger): docs/ipc-protocol.md
 * says which are needed together.  Tag 11 is retired. */
static const struct field_def trigger_set_defs[] = {
    F(1, FT_U64, 1, 0, U64MAX, "generation"),
    FM(2, FT_U8, 0, PM_OBJ_CONFIG_SOURCE, "config_source"),
    F(3, FT_U8, 0, 0, TRIG_TYPE_MAX, "trigger_type"),
    F(4, FT_LINE, 0, 1, TRIG_TEXT_MAX, "text"),
    F(5, FT_U32, 0, 0, TRIG_MIRROR_ID_MAX, "mirror_id"),
    F(6, FT_IP4, 0, 0, 0, "analyzer_ip4"),
    F(7, FT_IP6, 0, 0, 0, "analyzer_ip6"),
    F(8, FT_U16, 0, 1, 0xffff, "analyzer_port"),
    F(9, FT_U32, 0, 0, 0xffffffff, "session_id"),
    F(10, FT_U8, 0, TRIG_DIR_INGRESS, TRIG_DIR_BOTH, "direction"),
    F(12, FT_BYTES, 0, 1, TRIG_VALUE_MAX, "value"),
    F(13, FT_IP4, 0, 0, 0, "ip4"),
    F(14, FT_IP6, 0, 0, 0, "ip6"),
    F(15, FT_U8, 0, 0, 128, "prefix_len"),
    F(16, FT_I64, 0, 0, 0, "from"),
    F(17, FT_I64, 0, 0, 0, "until"),
};

/* INTERCEPT: one struct pm_intercept; tags 12..26 are its identities. */
static const struct field_def intercept_defs[] = {
    F(1, FT_U32, 1, 0, TRIG_MIRROR_ID_MAX, "mirror_id"),
    F(2, FT_U32, 1, 0, 0xffffffff, "session_id"),
    F(3, FT_IP4, 0, 0, 0, "analyzer_ip4"),
    F(4, FT_IP6, 0, 0, 0, "analyzer_ip6"),
    F(5, FT_U16, 1, 1, 0xffff, "analyzer_port"),
    F(6, FT_U8, 1, TRIG_DIR_INGRESS, TRIG_DIR_BOTH, "direction"),
    FM(7, FT_U8, 1, PM_OBJ_CONFIG_SOURCE, "config_source"),
    FM(8, FT_U8, 1, PM_OBJ_TRIGGER_TYPE, "trigger_type"),
    F(9, FT_OCTETS, 1, 0, PM_ICPT_TRIGGER_MAX, "trigger"),
    F(10, FT_U32, 1, 0, 0xffffffff, "router_id"),
    F(11, FT_I64, 1, 0, 0, "since_sec"),
    F(12, FT_BYTES, 0, 1, SIG_STR_MAX, "user"),
    F(13, FT_BYTES, 0, 1, SIG_STR_MAX, "csid"),
    F(14, FT_BYTES, 0, 1, SIG_STR_MAX, "acct_sid"),
    F(15, FT_BYTES, 0, 1, SIG_STR_MAX, "nas_port_id"),
    F(16, FT_BYTES, 0, 1, SIG_STR_MAX, "nas_id"),
    F(17, FT_BYTES, 0, 1, SIG_STR_MAX, "circuit"),
    F(18, FT_BYTES, 0, 1, SIG_STR_MAX, "remote"),
    F(19, FT_BYTES, 0, 1, SIG_STR_MAX, "opt82"),
    F(20, FT_IP4, 0, 0, 0, "nas_ip"),
    F(21, FT_U32, 0, 0, 0xffffffff, "nas_port"),
    F(22, FT_IP4, 0, 0, 0, "framed_ip"),
    F(23, FT_IP6, 0, 0, 0, "framed_ip6"),
    FL(24, FT_BYTES, SIG_PREFIX6_MAX, 17, 17, "prefix6"),
    F(25, FT_IP4, 0, 0, 0, "peer_ip"),
    F(26, FT_BYTES, 0, 6, 6, "chaddr"),
};

static const struct field_def trigger_ack_defs[] = {
    F(1, FT_U64, 1, 0, U64MAX, "generation"),
    F(2, FT_U32, 0, 0, 0xffffffff, "entries"),
};

static const struct field_def heartbeat_defs[] = {
    F(1, FT_U64, 1, 0, U64MAX, "seq"),
    F(2, FT_U64, 1, 0, U64MAX, "mono_ms"),
    F(3, FT_U32, 0, 0, 0xffffffff, "sources"),
    F(4, FT_U64, 0, 0, U64MAX, "quiet_ms"),
};

static const struct field_def list_req_defs[] = {
    F(1, FT_U32, 1, 0, 0xffffffff, "request_id"),  F(2, FT_TEXT, 1, 1, IPC_NAME_MAX, "list"),
    F(3, FT_U32, 1, 0, 0xffffffff, "offset"),      F(4, FT_U32, 1, 1, IPC_ROWS_MAX, "max_rows"),
    F(5, FT_TEXT, 0, 0, IPC_FILTER_MAX, "filter"),
};

static const struct field_def list_page_defs[] = {
    F(1, FT_U32, 1, 0, 0xffffffff, "request_id"),
    F(2, FT_U32, 1, 0, 0xffffffff, "offset"),
    FL(3, FT_TEXT, IPC_ROWS_MAX, 0, IPC_ROW_MAX, "row"),
    F(4, FT_U8, 1, 0, 1, "more"),
    F(5, FT_U32, 0, 0, 0xffffffff, "total"),
    F(6, FT_U32, 0, 0, 0xffffffff, "count"),
};

static const struct field_def config_defs[] = {
    F(1, FT_TEXT, 1, 1, IPC_NAME_MAX, "key"),
    F(2, FT_LINE, 1, 0, IPC_CONFIG_MAX, "value"),
    F(3, FT_U32, 0, 0, 0xffffffff, "line"),
};

static const struct field_def fd_defs[] = {
    F(1, FT_U16, 1, 1, IPC_FD_PURPOSE_MAX, "purpose"),
    F(2, FT_U32, 0, 0, 0xffffffff, "id"),
    F(3, FT_TEXT, 0, 0, IPC_FDNAME_MAX, "name"),
};

static const struct field_def status_defs[] = {
    F(1, FT_U8, 1, IPC_STATUS_READY, IPC_STATUS_RELOAD_FAILED, "state"),
    F(2, FT_TEXT, 0, 0, IPC_MLOG_MAX, "text"),
};

static const struct field_def priv_req_defs[] = {
    F(1, FT_U32, 1, 0, 0xffffffff, "request_id"),
    F(2, FT_U16, 1, 1, IPC_PRIV_WHAT_MAX, "what"),
};

static const struct field_def priv_fail_defs[] = {
    F(1, FT_U32, 1, 0, 0xffffffff, "request_id"),
    F(2, FT_U32, 1, 0, 4095, "errno"),
    F(3, FT_TEXT, 0, 0, IPC_MLOG_MAX, "text"),
};

#define T(n, d, fl, m)                                                                             \
    {                                                                                              \
        n, d, sizeof(d) / sizeof(d[0]), fl, sizeof(((struct ipc_rec *)0)->u.m)                     \
    }

static const struct type_def type_defs[IPC_TYPE_MAX + 1] = {
    [IPC_HELLO] = T("HELLO", hello_defs, 0, hello),
    [IPC_EVENT] = T("EVENT", event_defs, 0, event),
    [IPC_MLOG] = T("MLOG", mlog_defs, 0, mlog),
    [IPC_STATS] = T("STATS", stats_defs, 0, stats),
    [IPC_TRIGGER_SET] =
        T("TRIGGER_SET", trigger_set_defs, IPC_F_BEGIN | IPC_F_END | IPC_F_EMPTY, trigger_set),
    [IPC_TRIGGER_ACK] = T("TRIGGER_ACK", trigger_ack_defs, 0, trigger_ack),
    [IPC_HEARTBEAT] = T("HEARTBEAT", heartbeat_defs, 0, heartbeat),
    [IPC_LIST_REQ] = T("LIST_REQ", list_req_defs, 0, list_req),
    [IPC_LIST_PAGE] = T("LIST_PAGE", list_page_defs, 0, list_page),
    [IPC_CONFIG] = T("CONFIG", config_defs, IPC_F_BEGIN | IPC_F_END | IPC_F_SAME, config),
    [IPC_FD] = T("FD", fd_defs, 0, fd),
    [IPC_STATUS] = T("STATUS", status_defs, 0, status),
    [IPC_PRIV_REQ] = T("PRIV_REQ", priv_req_defs, 0, priv_req),
    [IPC_PRIV_FAIL] = T("PRIV_FAIL", priv_fail_defs, 0, priv_fail),
    [IPC_INTERCEPT] = T("INTERCEPT", intercept_defs,
                        IPC_F_ICPT_UP | IPC_F_ICPT_DOWN | IPC_F_ICPT_RESTORE, intercept),
};

static const char *const reject_names[IPC_REJ_NREASONS] = {
    [IPC_REJ_SHORT] = "SHORT",
    [IPC_REJ_MAGIC] = "MAGIC",
    [IPC_REJ_VERSION] = "VERSION",
    [IPC_REJ_LENGTH] = "LENGTH",
    [IPC_REJ_FRAMING] = "FRAMING",
    [IPC_REJ_COUNT] = "COUNT",
    [IPC_REJ_TYPE] = "TYPE",
    [IPC_REJ_FLAGS] = "FLAGS",
    [IPC_REJ_REC_SIZE] = "REC_SIZE",
    [IPC_REJ_TLV] = "TLV",
    [IPC_REJ_DUPLICATE] = "DUPLICATE",
    [IPC_REJ_REPEAT] = "REPEAT",
    [IPC_REJ_MISSING] = "MISSING",
    [IPC_REJ_WIDTH] = "WIDTH",
    [IPC_REJ_RANGE] = "RANGE",
    [IPC_REJ_TEXT] = "TEXT",
    [IPC_REJ_SIZE] = "SIZE",
    [IPC_REJ_SEMANTIC] = "SEMANTIC",
    [IPC_REJ_FD_MISSING] = "FD_MISSING",
};

const char *ipc_reject_name(enum ipc_reject r)
{
    return (unsigned)r < IPC_REJ_NREASONS ? reject_names[r] : NULL;
}

const struct type_def *ipc_schema_type(unsigned type)
{
    return type >= IPC_TYPE_MIN && type <= IPC_TYPE_MAX ? &type_defs[type] : NULL;
}

const char *ipc_type_name(unsigned type)
{
    const struct type_def *td = ipc_schema_type(type);
    return td ? td->name : NULL;
}
