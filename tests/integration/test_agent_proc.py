"""The agent process alone (src/daemon/agent_proc.c, docs/process-model.md), with this
test as its monitor and its capture process: it makes the socketpairs, binds the control
socket, sends the configuration slice on chan A (fd 3), answers PRIV_REQ by connecting to
a real snmpd's AgentX socket (which the agent's user may not open itself), and speaks
for the capture process on chan C (fd 4).  Records are built and read here from
docs/ipc-protocol.md, not with the daemon's own codec."""
import array
import errno
import fcntl
import json
import os
import pwd
import signal
import socket
import struct
import subprocess
import time
import unittest

import pmtest
from pmtest import PMIRRORD, wait_for

# record types and flags (docs/ipc-protocol.md)
HELLO, EVENT, MLOG, STATS, TRIGGER_SET, TRIGGER_ACK, HEARTBEAT = 1, 2, 3, 4, 5, 6, 7
LIST_REQ, LIST_PAGE, CONFIG, FD, STATUS, PRIV_REQ, PRIV_FAIL, INTERCEPT = 8, 9, 10, 11, 12, 13, 14, 15
F_BEGIN, F_END, F_EMPTY = 1, 2, 4
F_ICPT_UP, F_ICPT_DOWN, F_ICPT_RESTORE = 8, 16, 32
FD_CONTROL_LISTEN, FD_AGENTX, FD_PEER_CHAN = 1, 2, 4
CAP_IPC_LOCK = 14


def tlv(tag, value):
    return struct.pack("<HH", tag, len(value)) + value


def u8(v):
    return struct.pack("<B", v)


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def rec(rtype, fields, flags=0):
    body = b"".join(tlv(t, v) for t, v in fields)
    return struct.pack("<HHI", rtype, flags, len(body)) + body


def batch(*recs):
    body = b"".join(recs)
    return b"PMIP" + struct.pack("<HHI", 1, len(recs), 12 + len(body)) + body


def parse(msg):
    """[(type, flags, {tag: [values]})] of one batch."""
    assert msg[:4] == b"PMIP", msg[:16]
    _, count, length = struct.unpack("<HHI", msg[4:12])
    assert length == len(msg)
    out, off = [], 12
    for _ in range(count):
        rtype, flags, blen = struct.unpack("<HHI", msg[off:off + 8])
        off += 8
        body, off = msg[off:off + blen], off + blen
        fields, p = {}, 0
        while p < len(body):
            tag, vlen = struct.unpack("<HH", body[p:p + 4])
            fields.setdefault(tag, []).append(body[p + 4:p + 4 + vlen])
            p += 4 + vlen
        out.append((rtype, flags, fields))
    return out


def num(b):
    return int.from_bytes(b, "little")


class Chan:
    """One end of a SEQPACKET socketpair, as the monitor or the capture process."""

    def __init__(self, sock):
        self.s = sock
        self.queue = []

    def send(self, *recs, fds=()):
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.s.sendmsg([batch(*recs)], anc)

    def recv(self, timeout=5.0):
        """The next record, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while not self.queue:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                msg, anc, _, _ = self.s.recvmsg(65536, socket.CMSG_SPACE(8 * 4))
            except socket.timeout:
                return None
            if not msg:
                return "EOF"
            for lvl, typ, data in anc:   # the agent sends none; never leak one
                if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    for fd in array.array("i", data[:len(data) - len(data) % 4]):
                        os.close(fd)
            # `show mirror statistics` asks the capture process for its
            # per-intercept rows; this fake capture process has none (the
            # agent says so after its wait)
            self.queue += [r for r in parse(msg)
                           if not (r[0] == LIST_REQ and r[2].get(2) == [b"statistics"])]
        return self.queue.pop(0)

    def expect(self, rtype, timeout=10.0, handler=None):
        """Records until one of rtype; others go to handler (or fail)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.recv(max(0.0, deadline - time.monotonic()))
            if r is None:
                raise AssertionError("no record of type %d within %.0f s" % (rtype, timeout))
            if r == "EOF":
                raise AssertionError("the agent closed the channel waiting for type %d" % rtype)
            if r[0] == rtype:
                return r
            if handler is None or not handler(r):
                raise AssertionError("unexpected record %r" % (r,))


def stats_rec(source, counters):
    return rec(STATS, [(1, source.encode())] + [(2, u64(v) + n.encode()) for n, v in counters])


def status_of(r):
    return num(r[2][1][0]), r[2].get(2, [b""])[0].decode()


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class AgentProcTest(pmtest.PmTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail("the agent process drops privileges: run as root (CI must not skip)")
        self.env.start_snmpd()
        # the agent's user: "pmirrord", else "nobody" (a build host has no pmirrord account)
        try:
            self.user = pwd.getpwnam("pmirrord")
        except KeyError:
            self.user = pwd.getpwnam("nobody")
        os.chown(self.env.path("agent/persist"), self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.env.path("agent/persist"), 0o700)
        self.proc = None
        self.listen = None
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.listen is not None:
            self.listen.close()
        self.env.cleanup()

    # -- the monitor's part ------------------------------------------------------------
    def start_agent(self):
        a_mon, a_agent = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c_cap, c_agent = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # above 4, so that moving them to 3 and 4 cannot close one another
        a = fcntl.fcntl(a_agent.fileno(), fcntl.F_DUPFD_CLOEXEC, 100)
        c = fcntl.fcntl(c_agent.fileno(), fcntl.F_DUPFD_CLOEXEC, 100)
        log = open(self.env.path("logs", "agent.out"), "ab")
        # bash puts them at 3 and 4 (dash takes single-digit descriptors only)
        self.proc = subprocess.Popen(
            ["bash", "-c", 'exec "$0" --child agent -f -D main 3<&%d 4<&%d %d<&- %d<&-' % (a, c, a, c),
             PMIRRORD],
            pass_fds=(a, c), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env={})
        log.close()
        for fd in (a, c):
            os.close(fd)
        a_agent.close()
        c_agent.close()
        self.a, self.c = Chan(a_mon), Chan(c_cap)
        self.socks += [a_mon, c_cap]
        r = self.a.expect(HELLO)
        self.assertEqual(num(r[2][2][0]), 2)   # role agent

    def bind_control(self):
        path = self.env.path("run", "ctl.sock")
        self.listen = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listen.bind(path)
        os.chmod(path, 0o600)
        self.listen.listen(16)
        return path

    def send_slice(self, text, path="/etc/pmirrord/pmirrord.conf", control=True):
        recs = [rec(CONFIG, [(1, b"file"), (2, path.encode())], F_BEGIN)]
        for n, line in enumerate(text.split("\n"), 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            recs.append(rec(CONFIG, [(1, words[0].encode()), (2, line.encode()), (3, u32(n))]))
        self.a.send(*recs)
        end = rec(CONFIG, [(1, b"end"), (2, b"")], F_END)
        if control:
            self.a.send(rec(FD, [(1, u16(FD_CONTROL_LISTEN))]), end, fds=[self.listen.fileno()])
        else:
            self.a.send(end)

    def answer_priv(self, r, fail_errno=None):
        """A PRIV_REQ: connect to snmpd's AgentX socket as root and pass it on."""
        self.assertEqual(r[0], PRIV_REQ)
        rid, what = num(r[2][1][0]), num(r[2][2][0])
        self.assertEqual(what, 1)   # agentx
        if fail_errno is None:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.env.agentx)
            except OSError as e:
                s.close()
                fail_errno = e.errno
            else:
                self.a.send(rec(FD, [(1, u16(FD_AGENTX)), (2, u32(rid))]), fds=[s.fileno()])
                s.close()
                self.priv_answered += 1
                return True
        self.a.send(rec(PRIV_FAIL, [(1, u32(rid)), (2, u32(fail_errno)),
                                    (3, os.strerror(fail_errno).encode())]))
        self.priv_failed += 1
        return True

    def ready(self, before_answer=()):
        """Answers PRIV_REQ until STATUS READY; before_answer: records sent first, while
        the agent waits for the answer (it must keep them for its loop)."""
        self.priv_answered = self.priv_failed = 0
        first = list(before_answer)

        def on_priv(r):
            if r[0] != PRIV_REQ:
                return False
            if first:
                self.a.send(*first)
                first.clear()
            return self.answer_priv(r)
        r = self.a.expect(STATUS, 20, handler=on_priv)
        self.assertEqual(status_of(r), (1, ""), self.env.read_log("agent"))

    def ctl_json(self, *words):
        return self.env.ctl_json(*words)

    def stats(self):
        return self.ctl_json("show", "mirror", "statistics")

    # -- the tests ----------------------------------------------------------------------
    def test_agent_process(self):
        ctl = self.bind_control()
        self.start_agent()
        conf = self.env.pmirrord_conf()
        self.send_slice(conf)
        self.ready(before_answer=[stats_rec("process:agent", [("starts", 7), ("restarts", 6)])])
        self.assertGreaterEqual(self.priv_answered, 1)
        procs = {p["process"]: p for p in self.stats()["processes"]}
        self.assertEqual((procs["agent"]["starts"], procs["agent"]["restarts"]), (7, 6))

        # unprivileged, with CAP_IPC_LOCK only where RLIMIT_MEMLOCK is short
        st = proc_status(self.proc.pid)
        self.assertEqual(st["Uid"].split(), [str(self.user.pw_uid)] * 4)
        self.assertEqual(st["NoNewPrivs"], "1")
        eff = int(st["CapEff"], 16)
        self.assertIn(eff, (0, 1 << CAP_IPC_LOCK))
        self.assertEqual(int(st["CapBnd"], 16), eff)
        # snmpd's AgentX socket is root's (0660): the agent got it through "the monitor"
        self.assertEqual(os.stat(self.env.agentx).st_mode & 0o777, 0o660)
        self.env.wait_registered()

        # the control socket: served, never changed or unlinked
        before = os.stat(ctl)
        self.assertEqual(self.env.ctl("show", "version").returncode, 0)

        # chan C: the intercept table (empty) comes, is acknowledged
        r = self.c.recv(10)
        self.assertEqual((r[0], num(r[2][2][0]), num(r[2][3][0])), (HELLO, 2, self.proc.pid))
        r = self.c.expect(TRIGGER_SET)
        self.assertEqual(r[1], F_BEGIN | F_END | F_EMPTY)
        gen = num(r[2][1][0])
        self.c.send(rec(HELLO, [(1, u16(1)), (2, u8(3)), (3, u32(4242)), (4, u64(1))]),
                    rec(TRIGGER_ACK, [(1, u64(gen)), (2, u32(0))]),
                    rec(HEARTBEAT, [(1, u64(1)), (2, u64(1000))]),
                    stats_rec("eth0", [("packets", 5), ("kernel_drops", 1), ("backlog_drops", 2)]),
                    stats_rec("pcap:/x/\u202etxt.pcap", [("offset\u200b", 77)]))
        self.a.send(stats_rec("process:capture", [("starts", 3), ("restarts", 2)]),
                    stats_rec("process:agent", [("starts", 1), ("restarts", 0)]))

        def acked():
            s = self.stats()
            return s if s["trigger_acks"] == 1 and len(s["counters"]) >= 8 else None
        s = wait_for(acked, 10, what="the acknowledgement and the counters")
        rows = {(c["source"], c["counter"]): c["value"] for c in s["counters"]}
        self.assertEqual(rows[("eth0", "packets")], 5)
        self.assertEqual(rows[("eth0", "backlog_drops")], 2)
        self.assertEqual(rows[("process:capture", "restarts")], 2)
        # names the capture process chose are escaped: no bidi or invisible character
        for src, ctr in rows:
            self.assertNotIn("\u202e", src)
            self.assertNotIn("\u200b", ctr)
        self.assertTrue(any("pcap:/x/" in src and src != "pcap:/x/\u202etxt.pcap" for src, _ in rows))
        self.assertEqual(s["trigger_ack_generation"], gen)
        procs = {p["process"]: p for p in s["processes"]}
        self.assertEqual(procs["capture"]["pid"], 4242)
        self.assertEqual(procs["capture"]["restarts"], 2)
        self.assertEqual(procs["agent"]["pid"], self.proc.pid)
        self.assertIsNotNone(procs["capture"]["heartbeat_age_ms"])
        self.assertEqual(s["capture_channel"], "connected")
        paths = {p["path"]: p for p in s["paths"]}
        self.assertGreaterEqual(paths["agent-capture"]["received"], 5)
        text = self.env.ctl("show", "mirror", "statistics", secret=pmtest.MIRROR_SECRET)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("backlog_drops", text.stdout)

        # the capture process restarts: a new chan C on chan A; the table again, stale
        # statistics gone, the replacement counted
        c2_cap, c2_agent = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.a.send(rec(FD, [(1, u16(FD_PEER_CHAN))]), fds=[c2_agent.fileno()])
        c2_agent.close()
        self.assertEqual(self.c.recv(10), "EOF")   # the old channel is closed
        c2 = Chan(c2_cap)
        self.socks.append(c2_cap)
        self.assertEqual(c2.recv(10)[0], HELLO)
        r = c2.expect(TRIGGER_SET)
        self.assertEqual(r[1], F_BEGIN | F_END | F_EMPTY)
        self.assertGreater(num(r[2][1][0]), gen)
        s = wait_for(lambda: (lambda s: s if s["capture_restarts_seen"] == 1 else None)(self.stats()), 10,
                     what="the new capture channel")
        self.assertFalse(any(c["source"] == "eth0" for c in s["counters"]))
        self.assertTrue(any(c["source"] == "process:capture" for c in s["counters"]))
        self.assertEqual(s["trigger_acks"], 1)   # the old channel's, kept in the totals

        # the AgentX master goes and comes back: every reconnect asks the monitor again;
        # a PRIV_FAIL is a failed connect, not the end of the agent
        self.env.stop("snmpd")
        self.a.queue.clear()
        r = self.a.expect(PRIV_REQ, 20, handler=lambda r: r[0] == STATS)
        self.answer_priv(r, fail_errno=errno.ECONNREFUSED)
        self.env.start_snmpd(wait=False)
        wait_for(lambda: os.path.exists(self.env.agentx), 20, what="snmpd's AgentX socket")
        answered = self.priv_answered

        def reconnected():
            r = self.a.recv(0.5)
            if r not in (None, "EOF") and r[0] == PRIV_REQ:
                self.answer_priv(r)
            return self.priv_answered > answered
        wait_for(reconnected, 30, what="a PRIV_REQ after snmpd came back")
        self.env.wait_registered(20)
        self.assertIsNone(self.proc.poll())
        # "Operation not permitted" would mean the agent tried the socket itself
        self.assertNotIn("Permission denied", self.env.read_log("agent"))

        # SIGTERM: a clean stop; the control socket the monitor bound is still there
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(15), 0, self.env.read_log("agent"))
        after = os.stat(ctl)
        self.assertEqual((before.st_ino, before.st_mode, before.st_uid), (after.st_ino, after.st_mode,
                                                                           after.st_uid))

    def intercept(self, flags, mirror_id, user):
        """An INTERCEPT record as the capture process sends it (docs/ipc-protocol.md)."""
        return rec(INTERCEPT, [(1, u32(mirror_id)), (2, u32(1000 + mirror_id)),
                               (3, socket.inet_aton("127.0.0.9")), (5, u16(30030)), (6, u8(2)),
                               (7, u8(0)), (8, u8(3)), (9, b"trigger"), (10, u32(0x0a000001)),
                               (11, u64(1700000000)), (12, user), (20, socket.inet_aton("198.18.0.1")),
                               (24, bytes(range(16)) + u8(64))], flags)

    def test_triggers_and_restore(self):
        """The trigger table from the slice and from pmirrorctl reaches the capture
        process; INTERCEPT UP/DOWN keep the RADIUS-provisioned intercepts, and a new
        capture channel gets the table and then every intercept as RESTORE;
        show mirror subscribers asks the capture process and waits at most 2 s."""
        self.env.secrets.update({"cfguser", "x\x00y"})
        self.bind_control()
        self.start_agent()
        conf = self.env.pmirrord_conf("maxTriggers 2\nmirror username cfguser analyzer 127.0.0.9:30030 id 5")
        line = conf.split("\n").index("mirror username cfguser analyzer 127.0.0.9:30030 id 5") + 1
        self.send_slice(conf)
        self.ready()
        self.assertEqual(self.c.recv(10)[0], HELLO)
        r = self.c.expect(TRIGGER_SET)
        self.assertEqual(r[1], F_BEGIN | F_END)
        f = r[2]
        self.assertEqual((num(f[2][0]), num(f[3][0]), f[4][0], f[12][0], num(f[5][0])),
                         (2, 3, b"cfguser", b"cfguser", 5))
        self.assertEqual((f[6][0], num(f[8][0]), num(f[10][0])), (socket.inet_aton("127.0.0.9"), 30030, 2))
        self.c.send(self.intercept(F_ICPT_UP, 9, b"x\x00y"), self.intercept(F_ICPT_UP, 10, b"zz"),
                    self.intercept(F_ICPT_DOWN, 10, b"zz"), self.intercept(F_ICPT_DOWN, 11, b"none"))
        s = wait_for(lambda: (lambda s: s if s["intercepts_held"] == 1 and s["intercepts_down"] == 2
                              else None)(self.stats()), 10, what="the intercept records")
        self.assertEqual((s["intercepts_up"], s["intercepts_dropped"]), (2, 1))
        t = self.ctl_json("show", "mirror", "triggers")
        self.assertEqual((t["trigger_count"], t["max_triggers"], t["intercept_count"]), (1, 2, 1))
        self.assertEqual(t["triggers"][0]["source"], "/etc/pmirrord/pmirrord.conf:%d" % line)
        self.assertEqual(t["triggers"][0]["rule"],
                         "mirror username cfguser analyzer 127.0.0.9:30030 id 5")
        ic = t["intercepts"][0]
        self.assertEqual((ic["mirror_id"], ic["session_id"], ic["config_source"], ic["analyzer"]),
                         (9, 1009, "radiusLogin", "127.0.0.9:30030"))
        self.assertNotIn("\x00", ic["user"])   # escaped

        # pmirrorctl adds a rule: the whole table again
        r = self.env.ctl("mirror", "ip-address", "198.18.0.0/15", "analyzer", "[::1]:30030", "id", "6",
                         secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        a = self.c.expect(TRIGGER_SET)
        b = self.c.expect(TRIGGER_SET)
        self.assertEqual((a[1], b[1]), (F_BEGIN, F_END))
        self.assertEqual((num(b[2][3][0]), b[2][13][0], num(b[2][15][0]), b[2][7][0]),
                         (1, socket.inet_aton("198.18.0.0"), 15, socket.inet_pton(socket.AF_INET6, "::1")))
        self.assertGreater(num(b[2][1][0]), num(f[1][0]))
        r = self.env.ctl("mirror", "username", "third", "analyzer", "127.0.0.9:30030", "id", "7",
                         secret=pmtest.MIRROR_SECRET)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("maxTriggers (2) reached", r.stdout + r.stderr)

        # a new capture channel: the trigger table, then the intercept kept
        c2_cap, c2_agent = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.a.send(rec(FD, [(1, u16(FD_PEER_CHAN))]), fds=[c2_agent.fileno()])
        c2_agent.close()
        self.socks.append(c2_cap)
        c2 = Chan(c2_cap)
        self.assertEqual(c2.recv(10)[0], HELLO)
        a, b = c2.expect(TRIGGER_SET), c2.expect(TRIGGER_SET)
        self.assertEqual((a[1], b[1]), (F_BEGIN, F_END))
        self.assertEqual((a[2][12][0], num(b[2][5][0])), (b"cfguser", 6))
        r = c2.expect(INTERCEPT)
        self.assertEqual(r[1], F_ICPT_RESTORE)
        self.assertEqual((num(r[2][1][0]), r[2][12][0], num(r[2][2][0])), (9, b"x\x00y", 1009))
        self.assertEqual((r[2][3][0], num(r[2][5][0]), r[2][24][0]),
                         (socket.inet_aton("127.0.0.9"), 30030, bytes(range(16)) + u8(64)))
        self.assertIsNone(c2.recv(0.5))   # one intercept, once

        # show mirror subscribers: LIST_REQ to the capture process, its page to the operator
        p = subprocess.Popen([pmtest.PMIRRORCTL, "-s", self.env.path("run", "ctl.sock"), "--json", "-e",
                              "show", "mirror", "subscribers", "x", "page", "2"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.stdin.write(pmtest.MIRROR_SECRET + "\n")
        p.stdin.flush()
        q = c2.expect(LIST_REQ)
        self.assertEqual((q[2][2][0], q[2][5][0], num(q[2][3][0]), num(q[2][4][0])),
                         (b"subscribers", b"x", 20, 20))
        c2.send(rec(LIST_PAGE, [(1, q[2][1][0]), (2, u32(20)), (3, "* 198.18.0.5 user=\"x\\\"y\" x\u202e".encode()),
                                (4, u8(0)), (5, u32(21)), (6, u32(40))]))
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, out + err)
        j = json.loads(out)
        self.assertEqual((j["sessions"], j["matching"], j["page"], j["more"]), (40, 21, 2, False))
        self.assertEqual(len(j["subscribers"]), 1)
        self.assertNotIn("\u202e", j["subscribers"][0]["session"])   # escaped
        # the capture process's own quoting is shown as it is, not escaped twice
        self.assertIn('user="x\\"y"', j["subscribers"][0]["session"])
        # a FILTER of "-" (an identity: kept out of argv) is read after the mirror secret
        p = subprocess.Popen([pmtest.PMIRRORCTL, "-s", self.env.path("run", "ctl.sock"), "--json", "-e",
                              "show", "mirror", "subscribers", "-"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.stdin.write(pmtest.MIRROR_SECRET + "\n" + "x y\n")
        p.stdin.flush()
        q = c2.expect(LIST_REQ)
        self.assertEqual((q[2][5][0], num(q[2][3][0])), (b"x y", 0))
        c2.send(rec(LIST_PAGE, [(1, q[2][1][0]), (2, u32(0)), (4, u8(0))]))
        out, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, out + err)
        # a filter that is not text is refused at once, not sent and waited for
        t0 = time.monotonic()
        r = self.env.ctl("show", "mirror", "subscribers", "a\x01b", secret=pmtest.MIRROR_SECRET)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("the filter is not text", r.stdout + r.stderr)
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertIsNone(c2.recv(0.3))
        t0 = time.monotonic()
        r = self.env.ctl("show", "mirror", "subscribers", secret=pmtest.MIRROR_SECRET)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("did not answer within 2000 ms", r.stdout + r.stderr)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertNotIn("cfguser", self.env.read_log("agent"))

    def test_monitor_silent(self):
        """A monitor that never answers PRIV_REQ: each connect gives up after 2 s, the
        agent starts all the same and says why the master is unreachable."""
        self.bind_control()
        self.start_agent()
        self.send_slice(self.env.pmirrord_conf())
        t0 = time.monotonic()
        r = self.a.expect(STATUS, 20, handler=lambda r: r[0] == PRIV_REQ)
        self.assertEqual(status_of(r), (1, ""))
        self.assertLess(time.monotonic() - t0, 8)
        self.assertIn("the monitor did not answer within 2000 ms", self.env.read_log("agent"))
        s = self.stats()
        self.assertGreaterEqual(s["agentx_refused"], 1)
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(15), 0)

    def test_monitor_gone(self):
        """End of file on chan A: the agent stops (status 0)."""
        self.bind_control()
        self.start_agent()
        self.send_slice(self.env.pmirrord_conf())
        self.ready()
        self.a.s.close()
        self.assertEqual(self.proc.wait(15), 0, self.env.read_log("agent"))

    def test_bad_slice(self):
        """A slice that does not parse: STATUS FAILED naming FILE:LINE, exit 1."""
        self.bind_control()
        self.start_agent()
        text = "\n\n# comments and blank lines are not sent\n" + self.env.pmirrord_conf() + \
            "noSuchDirective 1\n"
        line = text.split("\n").index("noSuchDirective 1") + 1
        self.send_slice(text, path="/etc/pm.conf")
        r = self.a.expect(STATUS, 20)
        state, why = status_of(r)
        self.assertEqual(state, 2)
        self.assertIn("/etc/pm.conf:%d:" % line, why)   # the line where the file has it
        self.assertEqual(self.proc.wait(15), 1)

    def test_no_control_socket(self):
        """No control-listen descriptor with the slice: STATUS FAILED, exit 1."""
        self.start_agent()
        self.send_slice(self.env.pmirrord_conf(), control=False)
        r = self.a.expect(STATUS, 20)
        self.assertEqual(status_of(r)[0], 2)
        self.assertIn("control socket", status_of(r)[1])
        self.assertEqual(self.proc.wait(15), 1)


if __name__ == "__main__":
    unittest.main()
