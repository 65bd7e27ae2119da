"""The inter-process record format of docs/ipc-protocol.md, for tests.

A batch is one SEQPACKET message: a 12-octet header ("PMIP", version 1,
record count, total length) and records; a record is an 8-octet header
(type, flags, body length) and TLV fields (tag u16, length u16, value).
Integers are little-endian, addresses in network order.

    encode_batch([Rec(CONFIG, {1: "file", 2: "/x.conf"}, flags=BEGIN), ...]) -> bytes
    decode_batch(bytes) -> [Rec, ...]     (fields converted by SCHEMA)
    Chan(sock): send(recs, fds=()) / recv(timeout) -> ([Rec], [fds]) / wait(pred, timeout)
"""
import os
import select
import socket
import struct
import time

HELLO, EVENT, MLOG, STATS, TRIGGER_SET, TRIGGER_ACK, HEARTBEAT = 1, 2, 3, 4, 5, 6, 7
LIST_REQ, LIST_PAGE, CONFIG, FD, STATUS, PRIV_REQ, PRIV_FAIL = 8, 9, 10, 11, 12, 13, 14
INTERCEPT = 15
NAMES = {1: "HELLO", 2: "EVENT", 3: "MLOG", 4: "STATS", 5: "TRIGGER_SET", 6: "TRIGGER_ACK",
         7: "HEARTBEAT", 8: "LIST_REQ", 9: "LIST_PAGE", 10: "CONFIG", 11: "FD", 12: "STATUS",
         13: "PRIV_REQ", 14: "PRIV_FAIL"}
BEGIN, END, EMPTY = 0x1, 0x2, 0x4
FD_CONTROL_LISTEN, FD_AGENTX, FD_PCAP_FILE, FD_PEER_CHAN, FD_TEST_FIFO = 1, 2, 3, 4, 5
STATUS_READY, STATUS_FAILED = 1, 2
MAGIC = b"PMIP"
VERSION = 1
MSG_MAX = 65536

# Field types per record type and tag (docs/ipc-protocol.md, "Records").
SCHEMA = {
    HELLO: {1: "u16", 2: "u8", 3: "u32", 4: "u64"},
    EVENT: {1: "u8", 2: "i64", 3: "u32", 4: "u8", 5: "u8", 6: "text", 7: "u32", 8: "text",
            9: "u32", 10: "u32", 11: "u8", 12: "u8", 13: "text", 14: "text", 15: "u32",
            16: "u8", 17: "ip4", 18: "ip4", 19: "u8"},
    MLOG: {1: "i64", 2: "u32", 3: "text"},
    STATS: {1: "text", 2: "named"},
    TRIGGER_SET: {1: "u64", 2: "u8", 3: "u8", 4: "text", 5: "u32", 6: "ip4", 7: "ip6",
                  8: "u16", 9: "u32", 10: "u8", 12: "bytes", 13: "ip4", 14: "ip6", 15: "u8",
                  16: "i64", 17: "i64"},
    TRIGGER_ACK: {1: "u64", 2: "u32"},
    HEARTBEAT: {1: "u64", 2: "u64", 3: "u32", 4: "u64"},
    LIST_REQ: {1: "u32", 2: "text", 3: "u32", 4: "u32", 5: "text"},
    LIST_PAGE: {1: "u32", 2: "u32", 3: "text", 4: "u8", 5: "u32", 6: "u32"},
    CONFIG: {1: "text", 2: "text", 3: "u32"},
    FD: {1: "u16", 2: "u32", 3: "text"},
    STATUS: {1: "u8", 2: "text"},
    PRIV_REQ: {1: "u32", 2: "u16"},
    PRIV_FAIL: {1: "u32", 2: "u32", 3: "text"},
    INTERCEPT: {1: "u32", 2: "u32", 3: "ip4", 4: "ip6", 5: "u16", 6: "u8", 7: "u8", 8: "u8",
                9: "bytes", 10: "u32", 11: "i64", 12: "bytes", 13: "bytes", 14: "bytes",
                15: "bytes", 16: "bytes", 17: "bytes", 18: "bytes", 19: "bytes", 20: "ip4",
                21: "u32", 22: "ip4", 23: "ip6", 24: "bytes", 25: "ip4", 26: "bytes"},
}
LISTS = {(STATS, 2), (LIST_PAGE, 3), (INTERCEPT, 24)}
INTS = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q", "i64": "<q"}

# EVENT tag -> struct pm_event field name (for readable asserts)
EVENT_FIELDS = {1: "trap", 2: "when_sec", 3: "when_nsec", 4: "config_source", 5: "trigger_type",
                6: "trigger", 7: "router_id", 8: "user_name", 9: "mirror_id", 10: "session_id",
                11: "error_cause", 12: "application", 13: "error_string", 14: "policy_name",
                15: "policy_id", 16: "direction", 17: "target_ip", 18: "analyzer_ip",
                19: "termination_reason"}


class Rec:
    """type, flags, fields {tag: value} (a list for list tags: STATS counters are
    (name, value) pairs)."""

    def __init__(self, type, fields=None, flags=0):
        self.type, self.flags, self.fields = type, flags, dict(fields or {})

    def __repr__(self):
        return "Rec(%s, %r, flags=%#x)" % (NAMES.get(self.type, self.type), self.fields,
                                            self.flags)

    def counters(self):
        """STATS: {name: value}."""
        return dict(self.fields.get(2, []))

    def event(self):
        return {EVENT_FIELDS[t]: v for t, v in self.fields.items() if t in EVENT_FIELDS}


def _enc_value(kind, v):
    if kind in INTS:
        return struct.pack(INTS[kind], v)
    if kind == "ip4":
        return socket.inet_pton(socket.AF_INET, v) if isinstance(v, str) else bytes(v)
    if kind == "ip6":
        return socket.inet_pton(socket.AF_INET6, v) if isinstance(v, str) else bytes(v)
    if kind == "text":
        return v.encode() if isinstance(v, str) else bytes(v)
    if kind == "named":
        name, val = v
        return struct.pack("<Q", val) + name.encode()
    if kind == "bytes":
        return v.encode() if isinstance(v, str) else bytes(v)
    raise ValueError(kind)


def _dec_value(kind, b):
    if kind in INTS:
        if len(b) != struct.calcsize(INTS[kind]):
            raise ValueError("width")
        return struct.unpack(INTS[kind], b)[0]
    if kind == "ip4":
        return socket.inet_ntop(socket.AF_INET, b)
    if kind == "ip6":
        return socket.inet_ntop(socket.AF_INET6, b)
    if kind == "text":
        return b.decode()
    if kind == "named":
        return (b[8:].decode(), struct.unpack("<Q", b[:8])[0])
    if kind == "bytes":
        return bytes(b)
    raise ValueError(kind)


def encode_record(rec):
    schema = SCHEMA[rec.type]
    body = b""
    for tag in sorted(rec.fields):
        kind = schema.get(tag, "text")
        vals = rec.fields[tag] if (rec.type, tag) in LISTS else [rec.fields[tag]]
        for v in vals:
            raw = _enc_value(kind, v)
            body += struct.pack("<HH", tag, len(raw)) + raw
    return struct.pack("<HHI", rec.type, rec.flags, len(body)) + body


def encode_batch(recs):
    body = b"".join(encode_record(r) for r in recs)
    return MAGIC + struct.pack("<HHI", VERSION, len(recs), 12 + len(body)) + body


def decode_batch(msg):
    if len(msg) < 12 or msg[:4] != MAGIC:
        raise ValueError("not a batch")
    version, count, length = struct.unpack("<HHI", msg[4:12])
    if version != VERSION or length != len(msg):
        raise ValueError("bad batch header")
    out, off = [], 12
    while off < len(msg):
        rtype, flags, blen = struct.unpack("<HHI", msg[off:off + 8])
        body = msg[off + 8:off + 8 + blen]
        off += 8 + blen
        schema = SCHEMA.get(rtype, {})
        fields, p = {}, 0
        while p < len(body):
            tag, flen = struct.unpack("<HH", body[p:p + 4])
            raw = body[p + 4:p + 4 + flen]
            p += 4 + flen
            val = _dec_value(schema[tag], raw) if tag in schema else raw
            if (rtype, tag) in LISTS:
                fields.setdefault(tag, []).append(val)
            else:
                fields[tag] = val
        out.append(Rec(rtype, fields, flags))
    if len(out) != count:
        raise ValueError("count %d, found %d" % (count, len(out)))
    return out


class Chan:
    """One end of a SEQPACKET socketpair speaking the record format."""

    def __init__(self, sock):
        self.sock = sock
        self.got = []  # every record received, in order

    def send(self, recs, fds=()):
        msg = encode_batch(recs)
        if fds:
            socket.send_fds(self.sock, [msg], list(fds))
        else:
            self.sock.send(msg)

    def recv(self, timeout=1.0):
        """One message's records and descriptors, or ([], []) after timeout;
        None at end of file."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return [], []
        msg, fds, _flags, _addr = socket.recv_fds(self.sock, MSG_MAX, 16)
        if not msg:
            return None
        recs = decode_batch(msg)
        self.got.extend(recs)
        return recs, fds

    def wait(self, pred, timeout=10.0, what="record", seen=False):
        """Reads until pred(rec) holds for a newly received record (or, with
        seen, for one received before); returns it."""
        if seen:
            for rec in self.got:
                if pred(rec):
                    return rec
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            res = self.recv(min(0.2, max(0.01, deadline - time.monotonic())))
            if res is None:
                raise AssertionError("channel closed while waiting for %s" % what)
            for rec in res[0]:
                if pred(rec):
                    return rec
            for fd in res[1]:
                os.close(fd)
        raise AssertionError("no %s within %.1f s" % (what, timeout))

    def drain(self, seconds):
        """Reads for that long (or until end of file); returns True at end of file."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.recv(0.1) is None:
                return True
        return False


def config_slice(path, lines):
    """The records of a slice: lines is [(lineno, directive, text)]."""
    recs = [Rec(CONFIG, {1: "file", 2: path}, BEGIN)]
    for n, key, text in lines:
        recs.append(Rec(CONFIG, {1: key, 2: text, 3: n}))
    recs.append(Rec(CONFIG, {1: "end", 2: ""}, END))
    return recs
