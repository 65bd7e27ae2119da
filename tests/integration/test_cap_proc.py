"""The capture process (src/capture/cap_proc.c, docs/process-model.md) on its own.

The test plays the monitor and the agent: it starts `pm_evtestd --child
capture -f` with one end of two SEQPACKET socketpairs at descriptors 3
(chan B, the monitor's) and 4 (chan C, the agent's), sends the configuration
slice and the descriptors as the monitor does (ipcwire.py speaks the record
format of docs/ipc-protocol.md), and reads what the process sends:
STATUS READY, STATS per source and for the process, HEARTBEAT, TRIGGER_ACK,
EVENT (from the test producer's FIFO), MLOG.  pcap files are written with
scapy; the live test captures on a veth in a namespace it creates
(198.18.0.0/15) and compares with a pcap file of the same frames.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import ipcwire as w
import pmtest

EVTESTD = os.path.join(pmtest.BUILD, "pm_evtestd")
PY = "/usr/bin/python3"

# scapy is imported lazily so that `python3 -m unittest` lists the tests anyway
FRAMES = r"""
from scapy.all import (IP, UDP, Raw, Ether, Dot1Q, Dot1AD, CookedLinux, IPv6, fragment, wrpcap)
from scapy.layers.ppp import PPPoE, PPP
import sys
DST_MAC = "02:00:00:00:00:99"  # nobody's: the capture side's stack drops it (OTHERHOST)
SRC_MAC = "02:00:00:00:00:02"
def rad(code, sport, dport=1812, n=20, src="198.18.1.2", dst="198.18.1.99"):
    body = bytes([code, sport & 0xff]) + n.to_bytes(2, "big") + bytes(range(16)) + b"\x01\x07alice"
    return IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(body)
def dhcp(sport, dport, tag):
    return IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=sport, dport=dport) / Raw(b"\x01\x01\x06\x00" + tag * 240)
def eth(p):
    return Ether(src=SRC_MAC, dst=DST_MAC) / p
# Ethernet: 18 frames, radius 10, dhcp 3, malformed 1
a = [eth(rad(1, 40001)), eth(rad(1, 40002)), eth(rad(1, 40003)),
     eth(rad(4, 40004, 1813)), eth(rad(43, 40005, 3799)), eth(rad(1, 40006, 1645)),
     eth(dhcp(68, 67, b"a")), eth(dhcp(67, 68, b"b")),
     Ether(src=SRC_MAC, dst=DST_MAC) / Dot1Q(vlan=100) / rad(1, 40007),
     Ether(src=SRC_MAC, dst=DST_MAC) / Dot1AD(vlan=200) / Dot1Q(vlan=300) / dhcp(68, 67, b"c"),
     Ether(src=SRC_MAC, dst=DST_MAC, type=0x8864) / PPPoE(sessionid=7) / PPP(proto=0x0021) / rad(4, 40008, 1813)]
big = IP(src="198.18.1.2", dst="198.18.1.99", id=4242) / UDP(sport=40009, dport=1812) / Raw(bytes(i & 0xff for i in range(3000)))
a += [eth(f) for f in fragment(big, fragsize=1400)]  # 3 fragments, 1 RADIUS packet
a += [eth(IP(src="198.18.1.2", dst="198.18.1.99") / UDP(sport=40010 + i, dport=9999) / Raw(b"data")) for i in range(2)]
a += [Ether(src=SRC_MAC, dst=DST_MAC, type=0x0800) / Raw(b"\x45\x00\x00")]  # IPv4 header cut short
a += [Ether(src=SRC_MAC, dst=DST_MAC) / IPv6(src="2001:db8::2", dst="2001:db8::99") / UDP(sport=40020, dport=1812) / Raw(b"\x01\x09\x00\x14" + bytes(16))]
t = 1700000000.0
for i, p in enumerate(a):
    p.time = t + i * 0.01
# Linux cooked (SLL): 3 frames, radius 2, dhcp 1
b = [CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x02\x00\x00\x00\x00\x03\x00\x00", proto=0x0800) / p
     for p in (rad(1, 41001, src="198.18.2.2"), rad(4, 41002, 1813, src="198.18.2.2"), dhcp(68, 67, b"d"))]
for i, p in enumerate(b):
    p.time = t + 1 + i * 0.01
# the same IP packet as a[0], seen on a third source: a duplicate
c = [a[0].copy()]
c[0].time = a[0].time
wrpcap(sys.argv[1] + "/a.pcap", a)
wrpcap(sys.argv[1] + "/b.pcap", b)
wrpcap(sys.argv[1] + "/c.pcap", c)
"""

SEND = r"""
import sys
from scapy.all import rdpcap, sendp
sendp(rdpcap(sys.argv[1]), iface=sys.argv[2], verbose=False)
"""

A_COUNTS = {"packets": 18, "radius": 10, "dhcp": 3, "malformed": 1, "duplicates": 0}


def run(*argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=60).stdout.decode()


class CapProc:
    """pm_evtestd --child capture -f with chan B at fd 3 and chan C at fd 4."""

    def __init__(self, tc, ns=None, foreground=True):
        b_ours, b_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c_ours, c_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fb, fc = b_child.fileno(), c_child.fileno()

        def pre():
            # via high numbers: fb or fc may themselves be 3 or 4
            os.dup2(fb, 100)
            os.dup2(fc, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)
            os.close(100)
            os.close(101)

        self.log = os.path.join(tc.dir, "capture.%d.log" % len(tc.caps))
        argv = [EVTESTD, "--child", "capture"] + (["-f"] if foreground else [])
        if ns is not None:
            argv = ["ip", "netns", "exec", ns] + argv
        # ctest's ASAN_OPTIONS (detect_leaks=1) on purpose: the sandboxed process
        # ends with _exit(), so LeakSanitizer's exit check (clone) never runs
        env = dict(os.environ)
        with open(self.log, "wb") as out:
            # close_fds=False: 3 and 4 are made in pre(); Python's own
            # descriptors are close-on-exec
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, close_fds=False,
                                         preexec_fn=pre, env=env)
        b_child.close()
        # as the monitor does: a copy of both ends of chan C, for a next agent
        self.c_keep = (os.dup(c_ours.fileno()), os.dup(c_child.fileno()))
        c_child.close()
        self.B, self.C = w.Chan(b_ours), w.Chan(c_ours)
        tc.caps.append(self)

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def send_slice(self, lines, fds=()):
        """lines: [(n, directive, text)]; fds: [(purpose, name, fd)], sent before END."""
        recs = w.config_slice("/etc/pmirrord/pmirrord.conf", lines)
        fdrecs = [w.Rec(w.FD, {1: purpose, 3: name}) for purpose, name, _fd in fds]
        self.B.send(recs[:-1] + fdrecs + recs[-1:], [fd for _p, _n, fd in fds])

    def ready(self):
        try:
            st = self.B.wait(lambda r: r.type == w.STATUS, 15, "STATUS")
        except AssertionError as e:
            raise AssertionError("%s\n--- capture log:\n%s" % (e, self.text()))
        if st.fields[1] != w.STATUS_READY:
            raise AssertionError("STATUS %r\n%s" % (st, self.text()))

    def stats(self, source, pred=lambda c: True, timeout=10, chan=None):
        chan = chan or self.C
        try:
            rec = chan.wait(lambda r: r.type == w.STATS and r.fields[1] == source and
                            pred(r.counters()), timeout, "STATS %s" % source)
        except AssertionError as e:
            last = [r.counters() for r in chan.got if r.type == w.STATS and r.fields[1] == source]
            raise AssertionError("%s; last: %r\n--- capture log:\n%s" %
                                 (e, last[-1:] or None, self.text()))
        return rec.counters()

    def proc_status(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            return dict(ln.split(":", 1) for ln in f.read().splitlines() if ":" in ln)

    def stop(self):
        """Closes the monitor's channel: the process exits 0."""
        self.B.sock.close()
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None


class CaptureProcess(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (privilege drop, namespaces)")
        self.dir = tempfile.mkdtemp(prefix="pmcp.")
        os.chmod(self.dir, 0o755)  # the sandbox user reads nothing here, but the FIFO's path
        self.caps = []
        self.namespaces = []
        self.addCleanup(self._teardown)
        run(PY, "-c", FRAMES, self.dir)

    def _teardown(self):
        for c in self.caps:
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait(5)
            for ch in (c.B, c.C):
                ch.sock.close()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        if os.environ.get("PM_KEEP_TMP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def pcap_fd(self, name):
        return os.open(self.path(name), os.O_RDONLY | os.O_CLOEXEC)

    def test_pcap_sources_events_triggers_peer_chan(self):
        fifo = self.path("events.fifo")
        os.mkfifo(fifo, 0o600)
        fifo_fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)  # as the monitor
        cp = CapProc(self)
        a, b, c = self.path("a.pcap"), self.path("b.pcap"), self.path("c.pcap")
        lines = [(3, "capture", "capture pcap:%s pace fast" % a),
                 (4, "capture", "capture\tpcap:%s" % b),
                 (7, "capture", 'capture pcap:%s filter "udp"' % c),
                 (9, "signallingLatency", "signallingLatency 5")]
        fds = [(w.FD_PCAP_FILE, a, self.pcap_fd("a.pcap")),
               (w.FD_PCAP_FILE, "pcap:" + b, self.pcap_fd("b.pcap")),
               (w.FD_PCAP_FILE, c, self.pcap_fd("c.pcap")),
               (w.FD_TEST_FIFO, "", fifo_fd)]
        cp.send_slice(lines, fds)
        for _p, _n, fd in fds:
            os.close(fd)  # the FIFO's too: the monitor keeps its own, the process has its copy
        cp.ready()

        # the sandbox (docs/sandbox.md): CAP_NET_RAW only, no_new_privs, seccomp filter
        st = cp.proc_status()
        self.assertEqual(st["Seccomp"].strip(), "2")
        self.assertEqual(st["NoNewPrivs"].strip(), "1")
        self.assertEqual(st["CapEff"].strip(), "0000000000002000")
        self.assertEqual(st["CapBnd"].strip(), "0000000000002000")
        self.assertNotEqual(st["Uid"].split()[0], "0")

        # per-source statistics once every file is read (state 4 = eof)
        done = lambda c: c["state"] == 4
        sa = cp.stats("src:pcap:" + a, done)
        for k, v in A_COUNTS.items():
            self.assertEqual(sa[k], v, "%s of a.pcap: %r" % (k, sa))
        self.assertEqual(sa["offset"], sa["size"])
        self.assertEqual(sa["last_ts_sec"], 1700000000)
        sb = cp.stats("src:pcap:" + b, done)
        self.assertEqual((sb["packets"], sb["radius"], sb["dhcp"], sb["malformed"]), (3, 2, 1, 0))
        sc = cp.stats("src:pcap:" + c, done)
        self.assertEqual((sc["packets"], sc["radius"], sc["duplicates"]), (1, 0, 1))
        pc = cp.stats("capture")
        self.assertEqual((pc["radius"], pc["dhcp"], pc["malformed"], pc["duplicates"], pc["reasm"]),
                         (12, 4, 1, 1, 1))
        self.assertNotEqual(pc["sig_digest"], 0)

        # heartbeats, one a second, seq counting up
        h1 = cp.C.wait(lambda r: r.type == w.HEARTBEAT, 5, "HEARTBEAT")
        h2 = cp.C.wait(lambda r: r.type == w.HEARTBEAT, 5, "HEARTBEAT")
        self.assertEqual(h2.fields[1], h1.fields[1] + 1)
        self.assertGreaterEqual(h2.fields[2] - h1.fields[2], 500)

        # trigger tables: EMPTY, two entries, and a record outside BEGIN..END
        cp.C.send([w.Rec(w.TRIGGER_SET, {1: 1}, w.BEGIN | w.END | w.EMPTY)])
        ack = cp.C.wait(lambda r: r.type == w.TRIGGER_ACK, 5, "TRIGGER_ACK")
        self.assertEqual((ack.fields[1], ack.fields.get(2)), (1, 0))
        entry = {2: 2, 3: 3, 4: "alice", 5: 42, 6: "198.18.3.9", 8: 5000, 10: 2, 12: b"alice"}
        cp.C.send([w.Rec(w.TRIGGER_SET, {**entry, 1: 2}, w.BEGIN)])
        cp.C.send([w.Rec(w.TRIGGER_SET, {**entry, 1: 2, 4: "bob", 12: b"bob", 5: 43}, w.END)])
        ack = cp.C.wait(lambda r: r.type == w.TRIGGER_ACK, 5, "TRIGGER_ACK")
        self.assertEqual((ack.fields[1], ack.fields[2]), (2, 2))
        cp.C.send([w.Rec(w.TRIGGER_SET, {**entry, 1: 3}, 0)])
        pc = cp.stats("capture", lambda c: c["trigger_rejects"] == 1)
        self.assertEqual((pc["trigger_tables"], pc["trigger_acks"], pc["trigger_entries"]),
                         (2, 2, 2))

        # events from the test producer's FIFO, paced by the loop's timeout
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, b"trap=5 mid=7 sid=9 user=alice tt=3 trigger=alice aa=198.18.3.9\n")
        ev = cp.C.wait(lambda r: r.type == w.EVENT, 5, "EVENT").event()
        self.assertEqual((ev["trap"], ev["mirror_id"], ev["session_id"], ev["user_name"],
                          ev["trigger"], ev["analyzer_ip"]), (5, 7, 9, "alice", "alice",
                                                              "198.18.3.9"))
        t0 = time.monotonic()
        os.write(wfd, b"trap=6 mid=100 count=5 rate=20\nbogus line\n")
        mids = []
        while len(mids) < 5:
            ev = cp.C.wait(lambda r: r.type == w.EVENT, 5, "EVENT").event()
            mids.append(ev["mirror_id"])
        self.assertEqual(mids, [100, 101, 102, 103, 104])
        self.assertGreaterEqual(time.monotonic() - t0, 0.15)  # 4 gaps of 50 ms
        os.close(wfd)
        pmtest.wait_for(lambda: "evtest: raised 5 event(s), 0 dropped by the queue" in cp.text()
                        and "evtest: bad line" in cp.text(), 5, what="evtest log lines")
        pc = cp.stats("capture", lambda c: c["events_sent"] == 6)
        self.assertEqual(pc["events_dropped"], 0)

        # the agent goes away; the monitor keeps its end of chan C, so what the
        # process sends meanwhile waits in the socket for the next agent ...
        cp.C.sock.close()
        pmtest.wait_for(lambda: "evtest" in cp.text(), 1)
        # ... a channel on another socket is refused (in the sandbox the
        # channel's number can be neither closed nor replaced: docs/sandbox.md)
        x_ours, x_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cp.B.send([w.Rec(w.FD, {1: w.FD_PEER_CHAN})], [x_child.fileno()])
        x_child.close()
        pmtest.wait_for(lambda: "a channel to the agent on another socket refused" in cp.text(), 5,
                        what="the other socket refused")
        x_ours.close()
        # ... and the next agent gets the same socket: the monitor sends the
        # process a copy of its own end, the new agent the other end
        cp.B.send([w.Rec(w.FD, {1: w.FD_PEER_CHAN})], [cp.c_keep[1]])
        cp.C = w.Chan(socket.socket(fileno=cp.c_keep[0]))
        os.close(cp.c_keep[1])
        hello = cp.C.wait(lambda r: r.type == w.HELLO, 5, "HELLO to the new agent")
        self.assertEqual(hello.fields.get(2), 3)  # role capture
        pc = cp.stats("capture", lambda c: c["chan_replaced"] == 1)
        self.assertEqual(pc["nochan_drops"], 0)  # nothing was lost meanwhile
        self.assertEqual(cp.proc.poll(), None)
        wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.write(wfd, b"trap=3 mid=9\n")
        os.close(wfd)
        ev = cp.C.wait(lambda r: r.type == w.EVENT, 5, "EVENT on the new channel").event()
        self.assertEqual(ev["trap"], 3)

        # the monitor goes away: the process exits 0 (no SIGSYS on the way out)
        self.assertEqual(cp.stop(), 0, cp.text())
        log = cp.text()
        self.assertNotIn("alice", log)  # nothing of an intercept in the ordinary log

    def test_restart_pcap_already_read(self):
        """A restarted capture process gets no descriptor for a file read before.
        Without -f it logs to syslog: a reconnect to /dev/log under the filter
        (connect() fails with EPERM) does not kill it."""
        a = self.path("a.pcap")
        cp = CapProc(self, foreground=False)
        cp.send_slice([(1, "capture", "capture pcap:%s" % a)])
        cp.ready()
        sa = cp.stats("src:pcap:" + a)
        self.assertEqual((sa["state"], sa["packets"]), (4, 0))
        m = cp.C.wait(lambda r: r.type == w.MLOG, 5, "MLOG", seen=True)
        self.assertIn("already read", m.fields[3])
        cp.stats("capture")  # a second later: still alive and logging
        self.assertEqual(cp.stop(), 0)

    def test_bad_slice_fails(self):
        cp = CapProc(self)
        cp.send_slice([(5, "capture", "capture eth0 role nonsense")])
        st = cp.B.wait(lambda r: r.type == w.STATUS, 15, "STATUS")
        self.assertEqual(st.fields[1], w.STATUS_FAILED)
        self.assertIn("/etc/pmirrord/pmirrord.conf:5:", st.fields[2])
        self.assertEqual(cp.proc.wait(10), 1)

    def test_sigterm_waiting_for_the_slice(self):
        """SIGTERM while the slice has not come (the monitor stopping): out at once."""
        cp = CapProc(self)
        # SIGTERM caught: its handler is in place (it is blocked but in ppoll)
        pmtest.wait_for(lambda: int(cp.proc_status()["SigCgt"], 16) & (1 << 14), 10,
                        what="SIGTERM caught")
        cp.proc.terminate()
        self.assertEqual(cp.proc.wait(3), 1)
        st = cp.B.wait(lambda r: r.type == w.STATUS, 2, "STATUS")
        self.assertEqual(st.fields[1], w.STATUS_FAILED)
        self.assertIn("stopped", st.fields[2])

    def test_veth_equals_pcap(self):
        """A live capture of the frames of a.pcap on a veth gives the counters and
        the signalling digest that the file gives."""
        tag = "%d-%d" % (os.getpid(), int(time.monotonic() * 1000) % 100000)
        nsa, nsb = "pmcpA-" + tag, "pmcpB-" + tag
        for ns in (nsa, nsb):
            run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            run("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        run("ip", "link", "add", "a0", "netns", nsa, "type", "veth", "peer", "name", "b0",
            "netns", nsb)
        run("ip", "-n", nsa, "addr", "add", "198.18.1.1/24", "dev", "a0")
        run("ip", "-n", nsb, "addr", "add", "198.18.1.2/24", "dev", "b0")
        for ns, dev in ((nsa, "a0"), (nsb, "b0")):
            run("ip", "-n", ns, "link", "set", dev, "up")

        live = CapProc(self, ns=nsa)
        live.send_slice([(1, "capture", "capture a0 role signalling")])
        live.ready()
        live.stats("src:a0", lambda c: c["state"] == 1)
        run("ip", "netns", "exec", nsb, PY, "-c", SEND, self.path("a.pcap"), "b0")
        sl = live.stats("src:a0", lambda c: c["packets"] >= A_COUNTS["packets"])

        offline = CapProc(self)
        a = self.path("a.pcap")
        offline.send_slice([(1, "capture", "capture pcap:%s" % a)],
                           [(w.FD_PCAP_FILE, a, self.pcap_fd("a.pcap"))])
        offline.ready()
        so = offline.stats("src:pcap:" + a, lambda c: c["state"] == 4)
        for k in ("packets", "radius", "dhcp", "malformed", "duplicates"):
            self.assertEqual(sl[k], so[k], "%s: live %r, file %r" % (k, sl, so))
            self.assertEqual(so[k], A_COUNTS[k])
        pl, po = live.stats("capture"), offline.stats("capture")
        self.assertEqual(pl["sig_digest"], po["sig_digest"])
        self.assertNotEqual(po["sig_digest"], 0)
        self.assertEqual(live.stop(), 0, live.text())
        self.assertEqual(offline.stop(), 0, offline.text())


if __name__ == "__main__":
    unittest.main()
