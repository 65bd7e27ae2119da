"""The mirroring data path end to end (docs/jmirror.md; README "Mirror triggers",
"Configuration"), with real peers on veths between network namespaces.

Every test builds its own world and deletes it afterwards, whatever happens:

    namespace S (subscribers)       namespace B (the BNG side)          namespace A (analyzer)
    s0 198.18.1.2 .3 .4 .5   <--->  b0 198.18.1.1      b1 198.18.2.1  <--->  a1 198.18.2.2
       2001:db8:1::2                   2001:db8:1::1      2001:db8:2::1         2001:db8:2::2

pmirrord (the real three processes), snmptrapd (with Juniper-PACKET-MIRROR-MIB) and the
subscribers' peer (UDP port 9 on b0's addresses) run in B; pmirrord captures b0
(`capture b0`).  A subscriber logs in by RADIUS (an Access-Request and its Access-Accept
with a framed address, frames built by tests/tools/sigpcap.py and put on s0 by a packet
socket in S, between addresses that are not B's: B drops them after the capture saw them);
the target is a CLI trigger, `mirror ipAddress SUBSCRIBER analyzer A:30030 id N session S
[direction D]`.  The analyzer is a UDP socket on a1 in A plus tcpdump on a1; the
subscriber's own packets are captured independently by tcpdump on s0 in S.  Sockets in
the namespaces are the test's own (setns() in a thread), so every exchange is known to
have arrived before the next begins: both sides' captures then see the same order.

What is asserted comes from the peers: tshark's jmirror dissector over the analyzer's
capture (jmirror.mid, jmirror.sid), the raw bytes of the two pcap files, the datagrams at
the analyzer socket, the notifications snmptrapd decoded, and after mirror-enable the
mirror log and `show mirror statistics` through pmirrorctl.  Traffic is bounded in count;
waiting is polling, and the few paced loops (one datagram every 0.1 s while an outage
lasts) pace traffic, never decide a result.
"""
import ctypes
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

import pmtest
import test_capsrc as capsrc
import test_notify as tn
import test_procmodel as pm
import test_session_events as tse
from pmtest import PmTestCase, wait_for

sys.path.insert(0, os.path.join(pmtest.SRC, "tests", "tools"))
import sigpcap as sp  # noqa: E402

CLONE_NEWNET = 0x40000000
SECRET = "mirror-path-radius-secret"
NAS, RADSRV = "198.18.1.20", "198.18.1.21"       # on the subscriber link, not B's addresses
PEER, PEER6 = "198.18.1.1", "2001:db8:1::1"      # b0: the subscribers' far end
BNG_AN, BNG_AN6 = "198.18.2.1", "2001:db8:2::1"  # b1
AN, AN6 = "198.18.2.2", "2001:db8:2::2"          # a1: the analyzer
JM = 30030
SUB_PORT, PEER_PORT = 5000, 9
SUBS = {"sub": "198.18.1.2", "other": "198.18.1.3", "in": "198.18.1.4", "eg": "198.18.1.5"}
SUB6 = "2001:db8:1::2"
MLOG = r"^(?:capture: )?"   # how the agent writes the capture process's mirror-log entries


# -- plumbing ---------------------------------------------------------------------------------
def rule(sub, an, mid, sid):
    """A CLI trigger on a subscriber's address (an: the analyzer's address)."""
    return "mirror ipAddress %s analyzer %s:%d id %d session %d" % (sub, "[%s]" % an if ":" in an else an,
                                                                    JM, mid, sid)


def run(*argv):
    return capsrc.run(*argv)


def in_netns(ns, fn):
    """fn() called in a thread that entered network namespace ns; its result (a socket made
    there stays there).  The test's other threads stay where they are."""
    libc = ctypes.CDLL(None, use_errno=True)
    out = {}

    def enter():
        try:
            fd = os.open("/run/netns/" + ns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns " + ns)
            finally:
                os.close(fd)
            out["v"] = fn()
        except Exception as e:  # noqa: BLE001 - handed to the caller
            out["err"] = e

    t = threading.Thread(target=enter)
    t.start()
    t.join()
    if "err" in out:
        raise out["err"]
    return out["v"]


def udp_in(ns, addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET

    def mk():
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((addr, port))
        return s
    return in_netns(ns, mk)


def read_pcap(path):
    """The complete records of a classic pcap file (a file still being written included)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise AssertionError("%s: not a pcap file" % path)
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != 1:
        raise AssertionError("%s: link type %d, want Ethernet" % (path, linktype))
    out, off = [], 24
    while off + 16 <= len(data):
        incl, orig = struct.unpack(end + "II", data[off + 8:off + 16])
        if off + 16 + incl > len(data):
            break
        if incl != orig:
            raise AssertionError("%s: a frame cut by the snap length" % path)
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def ip_packet(frame):
    """The IP packet of an Ethernet frame, cut to the length its header states; None if
    the frame is not IPv4 or IPv6."""
    et = frame[12:14]
    p = frame[14:]
    if et == b"\x08\x00":
        return p[:struct.unpack("!H", p[2:4])[0]]
    if et == b"\x86\xdd":
        return p[:40 + struct.unpack("!H", p[4:6])[0]]
    return None


def udp_to(frame, port):
    """The UDP payload of an unfragmented IPv4 or IPv6 (no extension header) datagram to
    port, else None."""
    p = ip_packet(frame)
    if p is None:
        return None
    if p[0] >> 4 == 4:
        if p[9] != 17 or struct.unpack("!H", p[6:8])[0] & 0x3fff:
            return None
        u = p[(p[0] & 15) * 4:]
    else:
        if p[6] != 17:
            return None
        u = p[40:]
    return u[8:] if struct.unpack("!H", u[2:4])[0] == port else None


class Tcpdump:
    """tcpdump -w in a namespace, started when it says it listens; stopped by its PID."""

    def __init__(self, tc, ns, dev, name, flt):
        self.path = tc.env.path(name + ".pcap")
        self.err = tc.env.path("logs", name + ".tcpdump")
        with open(self.err, "wb") as e:
            # ip netns exec execs tcpdump: the PID is tcpdump's
            self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "tcpdump", "-i", dev, "-n", "-s", "0",
                                          "-Z", "root", "-U", "--immediate-mode", "-w", self.path, flt],
                                         stdout=subprocess.DEVNULL, stderr=e, stdin=subprocess.DEVNULL)
        tc.addCleanup(self.stop)
        wait_for(lambda: "listening on" in pmtest.read_text(self.err) or self.proc.poll() is not None, 20,
                 what="tcpdump on " + dev)
        if self.proc.poll() is not None:
            raise AssertionError("tcpdump exited: " + pmtest.read_text(self.err))

    def frames(self):
        return read_pcap(self.path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def tshark(pcap, display, *fields):
    r = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", display, "-T", "fields", "-E", "separator=|",
                        *[a for f in fields for a in ("-e", f)]],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("tshark: " + r.stderr)
    return [ln.split("|") for ln in r.stdout.splitlines() if ln.strip()]


# -- the world ----------------------------------------------------------------------------------
@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespaces, capture)")
class MirrorPathCase(PmTestCase):
    def setUp(self):
        for exe in ("/usr/bin/tshark", "/usr/bin/tcpdump", "/usr/sbin/snmptrapd"):
            if not os.access(exe, os.X_OK):
                self.fail("missing %s (scripts/deps installs it)" % exe)
        tag = "%d-%d" % (os.getpid(), int(time.monotonic() * 1000) % 100000)
        self.ns = {k: "pmmp%s-%s" % (k, tag) for k in "SBA"}
        # registered first, run last: after the daemons, captures and sockets are gone
        self.addCleanup(self._delete_namespaces)
        super().setUp()
        self.socks = []
        self.addCleanup(lambda: [s.close() for s in self.socks])
        for ns in self.ns.values():
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            for k, v in (("net.ipv6.conf.all.accept_dad", 0), ("net.ipv6.conf.default.accept_dad", 0),
                         ("net.ipv6.conf.default.router_solicitations", 0),
                         ("net.ipv4.icmp_ratelimit", 0),    # every refused datagram answered
                         ("net.ipv6.icmp.ratelimit", 0)):
                run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "%s=%s" % (k, v))
        S, B, A = self.ns["S"], self.ns["B"], self.ns["A"]
        run("ip", "link", "add", "s0", "netns", S, "type", "veth", "peer", "name", "b0", "netns", B)
        run("ip", "link", "add", "b1", "netns", B, "type", "veth", "peer", "name", "a1", "netns", A)
        for ns, dev, addrs in ((S, "s0", [a + "/24" for a in SUBS.values()] + [SUB6 + "/64"]),
                               (B, "b0", [PEER + "/24", PEER6 + "/64"]),
                               (B, "b1", [BNG_AN + "/24", BNG_AN6 + "/64"]),
                               (A, "a1", [AN + "/24", AN6 + "/64"])):
            for a in addrs:
                run("ip", "-n", ns, "addr", "add", a, "dev", dev, "nodad")
            run("ip", "-n", ns, "link", "set", dev, "mtu", "1500", "up")
        self.mac = {dev: run("ip", "-n", ns, "-o", "link", "show", dev).split("link/ether ")[1].split()[0]
                    for ns, dev in ((S, "s0"), (B, "b0"), (B, "b1"), (A, "a1"))}
        # static neighbours: no ARP or neighbour discovery between the test's packets
        for ns, dev, addrs, peer in ((S, "s0", [PEER, PEER6], "b0"),
                                     (B, "b0", list(SUBS.values()) + [SUB6], "s0"),
                                     (B, "b1", [AN, AN6], "a1"), (A, "a1", [BNG_AN, BNG_AN6], "b1")):
            for a in addrs:
                run("ip", "-n", ns, "neigh", "replace", a, "lladdr", self.mac[peer], "dev", dev,
                    "nud", "permanent")
        e = self.env
        e.netns = B   # snmptrapd and pmirrord run in B
        e.secrets.update(list(SUBS.values()) + [SUB6, AN, AN6])
        self.wire = sp.Wire(t0=float(int(time.time())))
        self.radius = sp.Radius(self.wire, SECRET, nas=NAS, server=RADSRV)
        self.peer = udp_in(B, PEER, PEER_PORT)
        self.peer6 = udp_in(B, PEER6, PEER_PORT)
        self.socks += [self.peer, self.peer6]
        self.analyzer = None

    def _delete_namespaces(self):
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)

    def listen(self, addr=AN):
        """The analyzer's UDP socket on a1."""
        self.analyzer = udp_in(self.ns["A"], addr, JM)
        self.analyzer.setblocking(False)
        self.socks.append(self.analyzer)
        return self.analyzer

    def start(self, rules, extra="", capture="capture b0"):
        """snmptrapd and pmirrord in B; returns when the capture source is up (or the file
        read) and the rules are in force in the capture process."""
        e = self.env
        if "snmptrapd" not in e.daemons:
            tn.NotifyCase.start_trapd_with_mibs(self, "snmptrapd", e.trap_port)
        for r in rules:
            m = re.search(r"\bid (\d+)(?: session (\d+))?", r)
            e.secret_ids.update(int(x) for x in m.groups() if x)
        conf = "\n".join(["trapEnable true", e.trap_host(), capture,
                          "radiusServer %s secret %s" % (RADSRV, SECRET), extra] + rules + [""])
        e.start_pmirrord(conf)
        pm.ready_tree(e)
        src = "src:" + capture.split()[1]

        def ready():
            self.assertAlive()
            try:
                st = pm.mirror_stats(e)["by_source"]
            except AssertionError:   # the control socket is not there yet
                return False
            return (st.get(src, {}).get("state") in (pm.SRC_UP, pm.SRC_EOF) and
                    st.get("sessions", {}).get("triggers") == len(rules))
        wait_for(ready, 30, interval=0.1, what="%s up and %d rules in force" % (src, len(rules)))

    def login(self, *subs):
        """RADIUS logins (Access-Request, Access-Accept with the framed address) put on s0:
        B's capture sees them, B's stack drops them (not its addresses)."""
        frames = []
        for user, ip in subs:
            kw = {"ipv6": ip} if ":" in ip else {"ip": ip}
            self.env.secrets.add(user)
            frames += self.radius.login(sp.Subscriber(user=user, **kw))
        eth = bytes.fromhex(self.mac["b0"].replace(":", "") + self.mac["s0"].replace(":", "")) + b"\x08\x00"

        def put():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            try:
                s.bind(("s0", 0))
                for f in frames:
                    s.send(eth + f.ip)
            finally:
                s.close()
        in_netns(self.ns["S"], put)

    def session_starts(self):
        return [v for n, v in (tse.decode(ln) for ln in self.env.trap_lines()) if n == "SessionStart"]

    def wait_started(self, mids):
        wait_for(lambda: self.assertAlive() or set(mids) <= {v.get("MID") for v in self.session_starts()},
                 20, what="SessionStart of mirror IDs %s" % sorted(mids))

    def subscriber(self, ip):
        s = udp_in(self.ns["S"], ip, SUB_PORT)
        self.socks.append(s)
        return s

    def pump(self, src, dst, to, payloads):
        """payloads from socket src to address `to`, each received by socket dst before the
        function returns (so what follows is seen after them everywhere)."""
        for p in payloads:
            src.sendto(p, to)
        got = []
        end = time.monotonic() + 10
        while len(got) < len(payloads):
            left = end - time.monotonic()
            if left <= 0 or not select.select([dst], [], [], left)[0]:
                raise AssertionError("%d of %d datagrams arrived: %r" % (len(got), len(payloads), got))
            got.append(dst.recv(65536))
        self.assertEqual(got, payloads)

    def up(self, sub, payloads):
        peer = self.peer6 if sub.family == socket.AF_INET6 else self.peer
        self.pump(sub, peer, (PEER6 if sub.family == socket.AF_INET6 else PEER, PEER_PORT), payloads)

    def down(self, sub, payloads):
        peer = self.peer6 if sub.family == socket.AF_INET6 else self.peer
        self.pump(peer, sub, sub.getsockname()[:2], payloads)

    def jmirror(self, n, timeout=15):
        """n datagrams at the analyzer socket: [(mirror ID, session ID, inner packet)]."""
        got, end = [], time.monotonic() + timeout
        while len(got) < n:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.analyzer], [], [], left)[0]:
                raise AssertionError("%d of %d jmirror datagrams: %r" % (len(got), n, got))
            d = self.analyzer.recv(65536)
            self.assertGreaterEqual(len(d), 8, d)
            mid, sid = struct.unpack("!II", d[:8])
            self.assertEqual(mid >> 30, 0, "jmirror version")
            got.append((mid, sid, d[8:]))
        return got

    def drain(self):
        out = []
        while True:
            try:
                out.append(self.analyzer.recv(65536))
            except BlockingIOError:
                return out

    def assertNoMoreDatagrams(self):
        self.assertEqual(self.drain(), [], "datagrams nobody asked for")

    # -- pmirrorctl ------------------------------------------------------------------------------
    def ctl(self, *words):
        r = self.env.ctl(*words, secret=pmtest.MIRROR_SECRET)
        self.assertEqual(r.returncode, 0, "pmirrorctl %s: %s %s" % (" ".join(words), r.stdout, r.stderr))
        return r.stdout

    def mirror_log(self):
        return [r["entry"] for r in self.env.ctl_json("show", "mirror", "log").get("log_entries", [])]

    def stat_rows(self):
        """`show mirror statistics`: ({mid: intercept row}, {analyzer: analyzer row}), each row
        {key: value} as COMMON's format writes them (numbers as int)."""
        out = self.ctl("show", "mirror", "statistics")
        icpt, ana = {}, {}
        for ln in out.splitlines():
            m = re.match(r"^\s*intercept ((?:\S+=\S+ ?)+)\s*$", ln)
            if m:
                row = dict(kv.split("=", 1) for kv in m.group(1).split())
                row = {k: int(v) if v.isdigit() else v for k, v in row.items()}
                icpt[row["mid"]] = row
                continue
            m = re.match(r"^\s*analyzer (\S+) ((?:\S+=\S+ ?)+)\s*$", ln)
            if m:
                row = dict(kv.split("=", 1) for kv in m.group(2).split())
                ana[m.group(1)] = {k: int(v) if v.isdigit() else v for k, v in row.items()}
        return icpt, ana

    def traps(self, name):
        return [v for n, v in (tse.decode(ln) for ln in self.env.trap_lines()) if n == name]

    # -- checks ------------------------------------------------------------------------------
    def assertJmirrorDecoded(self, pcap, want):
        """tshark decodes every datagram to the analyzer port as jmirror, with the mirror and
        session IDs of want ([(mid, sid)] in order)."""
        rows = tshark(pcap, "jmirror", "jmirror.mid", "jmirror.sid")
        self.assertEqual([(int(m, 0), int(s, 0)) for m, s in rows], want, "tshark's jmirror fields")
        self.assertEqual(tshark(pcap, "udp.dstport == %d && !jmirror" % JM, "frame.number"), [],
                         "datagrams to the analyzer port tshark does not decode as jmirror")


# ==============================================================================================
class TestIdenticalAndOrdered(MirrorPathCase):
    MID, SID = 1101, 71101

    def live(self):
        """Cases 1 and 6's live part: the subscriber's packets (sizes from 1 to 1000 octets
        of payload, both ways, alternating) with tcpdump on s0, b0 and a1.  Returns (what
        the analyzer socket got, the subscriber side's IP packets, the BNG side's pcap)."""
        self.listen()
        sub_cap = Tcpdump(self, self.ns["S"], "s0", "subscriber", "ip host %s" % SUBS["sub"])
        bng_cap = Tcpdump(self, self.ns["B"], "b0", "bng", "")
        an_cap = Tcpdump(self, self.ns["A"], "a1", "analyzer", "udp port %d" % JM)
        self.start([rule(SUBS["sub"], AN, self.MID, self.SID)])
        self.login(("mp-alice", SUBS["sub"]))
        self.wait_started({self.MID})
        sub = self.subscriber(SUBS["sub"])
        sizes = [1, 18, 100, 700, 1000, 0]
        for r in range(3):
            two = sizes[r * 2:r * 2 + 2]
            self.up(sub, [b"u%d-%d-" % (r, i) + bytes(n) for i, n in enumerate(two)])
            self.down(sub, [b"d%d-%d-" % (r, i) + b"\xa5" * n for i, n in enumerate(two)])
        n = 12
        got = self.jmirror(n)
        sent = wait_for(lambda: len(sub_cap.frames()) >= n and sub_cap.frames(), 10,
                        what="the subscriber's packets in tcpdump's file")
        wait_for(lambda: len([f for f in an_cap.frames() if udp_to(f, JM) is not None]) >= n, 10,
                 what="%d datagrams in the analyzer's capture" % n)
        an_cap.stop()
        sub_cap.stop()
        bng_cap.stop()
        return got, [ip_packet(f) for f in sent], an_cap, bng_cap

    def test_tshark_decodes_jmirror_and_inner_packets_are_the_subscribers(self):
        """Case 1.  Breaks when: the header's words (mirror/session ID, MHV bits), the cut to
        the IP length (Ethernet padding or the link header sent), the order of the batch, or
        a packet lost or doubled in the data path."""
        got, sent, an_cap, _ = self.live()
        self.assertEqual(len(sent), 12, "the subscriber's capture")
        # the analyzer socket: header and packet, in the subscriber's order
        self.assertEqual(got, [(self.MID, self.SID, p) for p in sent])
        self.assertNoMoreDatagrams()
        # the analyzer's own capture, read byte for byte, and tshark's dissector on it
        inner = [udp_to(f, JM) for f in an_cap.frames()]
        inner = [d for d in inner if d is not None]
        self.assertEqual([d[8:] for d in inner], sent, "inner packets in the analyzer's pcap")
        self.assertEqual([d[:8] for d in inner], [struct.pack("!II", self.MID, self.SID)] * len(sent))
        self.assertJmirrorDecoded(an_cap.path, [(self.MID, self.SID)] * len(sent))
        # the outer datagram: from B's b1 address, source port = the analyzer's port
        rows = tshark(an_cap.path, "jmirror", "ip.src", "udp.srcport", "udp.dstport")
        self.assertEqual({(r[0].split(",")[0], r[1].split(",")[0], r[2].split(",")[0]) for r in rows},
                         {(BNG_AN, str(JM), str(JM))}, "outer addresses and ports")
        # accounted to the intercept and the analyzer: every packet, its UDP payload octets
        octets = sum(8 + len(p) for p in sent)
        icpt, ana = wait_for(lambda: self.stat_rows()[0].get(self.MID, {}).get("packets") == len(sent) and
                             self.stat_rows(), 10, interval=0.2, what="packets=%d in the row" % len(sent))
        r = icpt[self.MID]
        self.assertEqual((r["sid"], r["bytes"], r["lost"], r["fragmented"]), (self.SID, octets, 0, 0), r)
        a = ana["%s:%d" % (AN, JM)]
        self.assertEqual((a["state"], a["packets"], a["bytes"], a["outages"]),
                         ("up", len(sent), octets, 0), a)

    def test_offline_replay_sends_what_live_capture_sent(self):
        """Case 6: the pcap tcpdump wrote on b0 during the live run, replayed through
        `capture pcap:FILE pace fast` by a second daemon, sends the same datagrams, in the
        same order.  Breaks when the offline path (pcap source, its wait for the trigger
        table, the flush at end of file) differs from the live one."""
        live, sent, _, bng_cap = self.live()
        self.assertEqual(len(live), 12)
        self.assertNoMoreDatagrams()
        self.env.stop("pmirrord")
        self.start([rule(SUBS["sub"], AN, self.MID, self.SID)],
                   capture="capture pcap:%s pace fast" % bng_cap.path)
        replay = self.jmirror(len(live))
        self.assertEqual(replay, live)
        src = "src:pcap:" + bng_cap.path
        wait_for(lambda: pm.mirror_stats(self.env)["by_source"].get(src, {}).get("state") == pm.SRC_EOF, 20,
                 what="the file read to its end")
        wait_for(lambda: pm.mirror_stats(self.env)["by_source"].get("jmirror", {}).get("sent") == len(live),
                 10, what="jmirror sent == %d" % len(live))
        self.assertNoMoreDatagrams()


class TestDirections(MirrorPathCase):
    def test_only_the_chosen_directions_and_nothing_of_another_subscriber(self):
        """Case 2: rules with direction both, ingress (from the subscriber) and egress (to
        it), 3 packets up and 2 down for each subscriber: exactly 5, 3 and 2 datagrams, each
        of the right direction; a logged-in subscriber no rule names: none.  Breaks when
        se_match_packet ignores or inverts a rule's direction, or mirrors a non-target."""
        self.listen()
        rules = {"sub": (1201, 1, "both"), "in": (1202, 2, "ingress"), "eg": (1203, 3, "egress")}
        self.start(["mirror ipAddress %s analyzer %s:%d id %d session %d direction %s" %
                    (SUBS[k], AN, JM, mid, sid, d) for k, (mid, sid, d) in rules.items()])
        self.login(*[("mp-%s" % k, SUBS[k]) for k in ("other", "sub", "in", "eg")])
        self.wait_started({m for m, _, _ in rules.values()})
        socks = {k: self.subscriber(SUBS[k]) for k in ("other", "in", "eg", "sub")}
        # the non-target first: its datagrams, if any, would come before the others'
        for k, s in socks.items():
            self.up(s, [b"%s up %d" % (k.encode(), i) for i in range(3)])
            self.down(s, [b"%s down %d" % (k.encode(), i) for i in range(2)])
        got = self.jmirror(5 + 3 + 2)
        self.assertNoMoreDatagrams()
        by = {}
        for mid, sid, p in got:
            src, dst = socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20])
            by.setdefault(mid, []).append(("up" if src != PEER else "down", sid, src, dst, p[28:]))
        for k, (mid, sid, d) in rules.items():
            a = SUBS[k]
            up = [("up", sid, a, PEER, b"%s up %d" % (k.encode(), i)) for i in range(3)]
            down = [("down", sid, PEER, a, b"%s down %d" % (k.encode(), i)) for i in range(2)]
            want = {"both": up + down, "ingress": up, "egress": down}[d]
            self.assertEqual(by.get(mid), want, "direction %s" % d)
        self.assertEqual(set(by), {m for m, _, _ in rules.values()})
        self.assertFalse([p for _, _, p in got if socket.inet_aton(SUBS["other"]) in (p[12:16], p[16:20])],
                         "the non-target's packets were mirrored")


class TestIpv6(MirrorPathCase):
    MID, SID = 1401, 71401

    def test_ipv6_subscriber_to_ipv6_analyzer(self):
        """Case 4: a subscriber with a Framed-IPv6-Address, the analyzer [2001:db8:2::2]:30030
        on a1: tshark decodes jmirror over IPv6 (a UDP checksum the kernel computed: IPv6
        needs it), the inner IPv6 packets are the subscriber's.  Breaks with no IPv6 socket,
        a wrong outer family, or a zero UDP checksum (the analyzer's stack drops those)."""
        self.listen(AN6)
        sub_cap = Tcpdump(self, self.ns["S"], "s0", "subscriber6", "ip6 host %s" % SUB6)
        an_cap = Tcpdump(self, self.ns["A"], "a1", "analyzer6", "udp port %d" % JM)
        self.start([rule(SUB6, AN6, self.MID, self.SID)])
        self.login(("mp-v6", SUB6))
        self.wait_started({self.MID})
        sub = self.subscriber(SUB6)
        self.up(sub, [b"six up %d" % i + bytes(i * 100) for i in range(3)])
        self.down(sub, [b"six down %d" % i for i in range(2)])
        got = self.jmirror(5)
        sent = wait_for(lambda: len(sub_cap.frames()) >= 5 and sub_cap.frames(), 10, what="s0's capture")
        sent = [ip_packet(f) for f in sent]
        self.assertEqual(got, [(self.MID, self.SID, p) for p in sent])
        self.assertNoMoreDatagrams()
        wait_for(lambda: len(an_cap.frames()) >= 5, 10, what="a1's capture")
        an_cap.stop()
        self.assertJmirrorDecoded(an_cap.path, [(self.MID, self.SID)] * 5)
        rows = tshark(an_cap.path, "jmirror", "ipv6.src", "ipv6.dst", "udp.checksum")
        self.assertEqual({(r[0].split(",")[0], r[1].split(",")[0]) for r in rows}, {(BNG_AN6, AN6)})
        self.assertNotIn("0x0000", [r[2].split(",")[0] for r in rows], "a zero UDP checksum over IPv6")


class TestGsoTrains(MirrorPathCase):
    MID, SID = 1601, 71601

    def test_trains_leave_as_the_same_datagrams(self):
        """`mirrorGso on`: a burst of equal packets leaves as UDP GSO trains (STATS jmirror
        gso_segments > 0), and the analyzer's socket gets the same datagrams, byte for byte
        and in the subscriber's order (a capture on the analyzer's veth may see a train
        whole: docs/jmirror.md).  Breaks when a train's segments are not the queued
        datagrams (lengths, order, a header missing) or when mirrorGso is ignored."""
        self.listen()
        self.start([rule(SUBS["sub"], AN, self.MID, self.SID)], extra="mirrorGso on")
        self.login(("mp-gso", SUBS["sub"]))
        self.wait_started({self.MID})
        sub = self.subscriber(SUBS["sub"])
        n = 48
        payloads = [b"g%02d-" % i + bytes(60) for i in range(n)]
        self.up(sub, payloads)
        got = self.jmirror(n)
        # each datagram: the header, then the subscriber's IPv4/UDP packet whose payload is the
        # one sent, in the order sent (compared with what the test sent, not with a capture)
        self.assertEqual([(m, s_) for m, s_, _ in got], [(self.MID, self.SID)] * n)
        self.assertEqual([p[12:16] for _, _, p in got], [socket.inet_aton(SUBS["sub"])] * n)
        self.assertEqual([p[(p[0] & 0x0f) * 4 + 8:] for _, _, p in got], payloads)
        stats = wait_for(lambda: pm.mirror_stats(self.env)["by_source"].get("jmirror", {}).get(
            "gso_segments", 0) > 0 and pm.mirror_stats(self.env)["by_source"]["jmirror"], 10,
            what="STATS jmirror gso_segments")
        self.assertGreater(stats["gso_msgs"], 0)
        self.assertLessEqual(stats["gso_segments"], n)
        self.assertEqual(stats.get("gso_off", 0), 0)
        self.assertNoMoreDatagrams()


class TestFragmented(MirrorPathCase):
    MID, SID = 1501, 71501

    def test_full_mtu_packet_leaves_fragmented_not_dropped(self):
        """Case 5: a 1500-octet packet (the subscriber link's MTU) becomes a 1508-octet jmirror
        payload, more than a1's path MTU: it leaves in two fragments, tshark reassembles it
        whole, the analyzer socket gets it byte for byte; `show mirror statistics` counts it
        fragmented=1 and lost=0.  Breaks with IP_PMTUDISC_DO/WANT (EMSGSIZE: dropped) or
        when jm_route's path MTU or the fragmented count is wrong."""
        self.listen()
        sub_cap = Tcpdump(self, self.ns["S"], "s0", "subscriber", "ip host %s" % SUBS["sub"])
        an_cap = Tcpdump(self, self.ns["A"], "a1", "analyzer",
                         "udp port %d or (ip[6:2] & 0x1fff != 0)" % JM)   # and the second fragment
        self.start([rule(SUBS["sub"], AN, self.MID, self.SID)])
        self.login(("mp-mtu", SUBS["sub"]))
        self.wait_started({self.MID})
        sub = self.subscriber(SUBS["sub"])
        self.up(sub, [b"full" + bytes(1500 - 28 - 4), b"small after"])
        got = self.jmirror(2)
        sent = [ip_packet(f) for f in wait_for(lambda: len(sub_cap.frames()) >= 2 and sub_cap.frames(), 10,
                                               what="s0's capture")]
        self.assertEqual([len(p) for p in sent], [1500, 39])
        self.assertEqual(got, [(self.MID, self.SID, p) for p in sent])
        # three frames at a1: the big datagram's two fragments, then the small one
        wait_for(lambda: len(an_cap.frames()) >= 3, 10, what="a1's capture")
        an_cap.stop()
        frags = tshark(an_cap.path, "ip.flags.mf == 1 || ip.frag_offset > 0", "ip.frag_offset")
        self.assertEqual(len(frags), 2, "fragments at the analyzer: %r" % frags)
        self.assertJmirrorDecoded(an_cap.path, [(self.MID, self.SID)] * 2)
        inner = tshark(an_cap.path, "jmirror", "ip.len")
        self.assertEqual([r[0].split(",")[-1] for r in inner], ["1500", "39"], "reassembled inner lengths")

        def counted():
            icpt, ana = self.stat_rows()
            r = icpt.get(self.MID)
            return r if r and r.get("packets") == 2 else None
        row = wait_for(counted, 10, interval=0.2, what="the intercept's row with packets=2")
        self.assertEqual((row["sid"], row["analyzer"], row["fragmented"], row["lost"], row["bytes"]),
                         (self.SID, "%s:%d" % (AN, JM), 1, 0, 1508 + 47))
        _, ana = self.stat_rows()
        a = ana["%s:%d" % (AN, JM)]
        self.assertEqual((a["state"], a["fragmented"], a["path-mtu"], a["send-errors"]), ("up", 1, 1500, 0))


class UnreachableCase(MirrorPathCase):
    MID, SID = 1301, 71301
    HOLD = 1
    ANA = AN          # the analyzer's address
    AA = AN           # AnalyzerAddress in the notification (IPv4 only: 0.0.0.0 for IPv6)

    @property
    def key(self):
        """The analyzer as the mirror log and the statistics write it."""
        return ("[%s]:%d" if ":" in self.ANA else "%s:%d") % (self.ANA, JM)

    def begin(self, listener):
        if listener:
            self.listen(self.ANA)
        self.start([rule(SUBS["sub"], self.ANA, self.MID, self.SID)],
                   extra="analyzerHoldDown %d" % self.HOLD)
        self.login(("mp-unreach", SUBS["sub"]))
        self.wait_started({self.MID})
        self.ctl("show", "mirror", "log")   # the log, readable (mirror-enable)
        self.sub = self.subscriber(SUBS["sub"])
        self.n = 0

    def one(self):
        """One datagram from the subscriber (paced by the callers' polls)."""
        self.n += 1
        self.up(self.sub, [b"pkt %d" % self.n])
        return self.n

    def outage(self, cause, k, start, end):
        """An outage: begun by start(), k-th AnalyzerUnreachable at snmptrapd and its
        mirror-log entry; kept up for 2 hold-downs more with traffic (no second
        notification); end() and traffic until "reachable again"; then the loss episode.
        The agent writes the capture process's entries with "capture: " before them."""
        entries = len(self.mirror_log())
        start()
        unreach = re.compile(MLOG + r"analyzer %s unreachable \(%s\): AnalyzerUnreachable raised$" %
                             (re.escape(self.key), cause))
        wait_for(lambda: self.one() and len(self.traps("AnalyzerUnreachable")) >= k, 20, interval=0.1,
                 what="AnalyzerUnreachable number %d" % k)
        wait_for(lambda: [e for e in self.mirror_log()[entries:] if unreach.search(e)], 10,
                 what="the unreachable entry: %r" % self.mirror_log()[entries:])
        # the outage goes on longer than two hold-downs: still one notification
        t = time.monotonic()
        while time.monotonic() - t < 2.5 * self.HOLD:
            self.one()
            time.sleep(0.1)   # pacing the traffic, not waiting for a result
        _, ana = self.stat_rows()
        self.assertEqual(ana[self.key]["state"], "down")
        end()
        back = re.compile(MLOG + r"analyzer %s reachable again: unreachable from (\S+) to (\S+), "
                          r"(\d+) datagram\(s\) sent while unreachable, (\d+) refused$" %
                          re.escape(self.key))
        wait_for(lambda: self.one() and [e for e in self.mirror_log()[entries:] if back.search(e)], 30,
                 interval=0.1, what="reachable again in the mirror log")
        self.assertEqual(len(self.traps("AnalyzerUnreachable")), k, "one AnalyzerUnreachable per outage")
        loss = re.compile(MLOG + r"loss: mirror ID %d session ID %d to %s: (\d+) packet\(s\) not "
                          r"mirrored from (\S+) to (\S+) \(source drops 0, send errors (\d+), "
                          r"analyzer unreachable (\d+), snapped 0, other 0\)$" %
                          (self.MID, self.SID, re.escape(self.key)))
        log = wait_for(lambda: [e for e in self.mirror_log()[entries:] if loss.search(e)] and
                       self.mirror_log()[entries:], 10, what="the loss episode in the mirror log")
        episodes = [m for m in (loss.search(e) for e in log) if m]
        self.assertEqual(len(episodes), 1, "one loss episode in %r" % log)
        lost = int(episodes[0].group(1))
        self.assertGreater(lost, 0)
        self.assertEqual(lost, int(episodes[0].group(4)) + int(episodes[0].group(5)))
        self.assertLessEqual(lost, self.n)
        v = self.traps("AnalyzerUnreachable")[-1]
        self.assertEqual((v.get("AA"), sorted(v)), (self.AA, ["AA", "DT", "RID"]), "varbinds %r" % v)
        # mirroring resumes by itself: the next datagrams all arrive, after the paced ones
        marks = [b"resumed %d %d" % (k, i) for i in range(3)]
        self.up(self.sub, marks)
        got = []
        while got[-3:] != marks:
            got += [p[28:] for _, _, p in self.jmirror(1)]
        self.assertTrue(all(p.startswith(b"pkt ") for p in got[:-3]), got)
        self.assertEqual(len(self.traps("AnalyzerUnreachable")), k, "one AnalyzerUnreachable per outage")
        return lost

    def stats_after(self, outages, lost):
        """The rows agree with the mirror log: every packet lost is in one episode."""
        icpt, ana = self.stat_rows()
        a = ana[self.key]
        self.assertEqual((a["state"], a["outages"]), ("up", outages), a)
        self.assertGreater(a["unreachable-errors"], 0, a)
        r = icpt[self.MID]
        self.assertEqual((r["lost"], r["lost-send"] + r["lost-unreachable"], r["lost-source"]),
                         (lost, lost, 0), r)


class TestUnreachableNoListener(UnreachableCase):
    def test_port_unreachable_one_notification_per_outage_and_resume(self):
        """Case 3a: nothing listens on the analyzer port: ICMP port unreachable (IP_RECVERR)
        starts an outage; a listener: after analyzerHoldDown the outage ends, "reachable
        again" and the loss episode are in the mirror log, mirroring resumes; twice, so one
        AnalyzerUnreachable per outage (not once ever).  Breaks when the error queue is not
        read, the hold-down is not honoured, or recovery is not noticed."""
        self.begin(listener=False)

        def close():
            self.analyzer.close()
            self.socks.remove(self.analyzer)
            self.analyzer = None
        lost = self.outage("Connection refused", 1, lambda: None, lambda: self.listen(self.ANA))
        lost += self.outage("Connection refused", 2, close, lambda: self.listen(self.ANA))
        self.stats_after(2, lost)


class TestUnreachableNoListenerIpv6(TestUnreachableNoListener):
    """Case 3a with the analyzer [2001:db8:2::2]:30030: ICMPv6 port unreachable
    (IPV6_RECVERR); AnalyzerAddress 0.0.0.0 in the notification, the full address in the
    mirror log and the rows."""
    ANA, AA = AN6, "0.0.0.0"


class TestUnreachableRoute(UnreachableCase):
    def test_route_removed_one_notification_per_outage_and_resume(self):
        """Case 3b: the route to the analyzer removed (ENETUNREACH from sendmmsg), then an
        unreachable route (EHOSTUNREACH): an outage each, one AnalyzerUnreachable each,
        resumed by itself when the route is back.  Breaks when send errors of a batch are not
        attributed to the analyzer, or are taken for ordinary send errors."""
        self.begin(listener=True)
        B = self.ns["B"]
        net = "198.18.2.0/24"
        lost = self.outage("Network is unreachable", 1,
                           lambda: run("ip", "-n", B, "route", "del", net, "dev", "b1"),
                    lambda: run("ip", "-n", B, "route", "add", net, "dev", "b1", "src", BNG_AN))
        lost += self.outage("No route to host", 2,
                    lambda: run("ip", "-n", B, "route", "add", "unreachable", AN + "/32"),
                    lambda: run("ip", "-n", B, "route", "del", "unreachable", AN + "/32"))
        self.stats_after(2, lost)


if __name__ == "__main__":
    unittest.main()
