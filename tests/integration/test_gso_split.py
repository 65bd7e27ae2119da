"""Super-packets split back into wire packets (src/capture/pkt_segment.c,
docs/wire-packets.md) with real TSO: the capture process captures the
sending end of a veth, where the stack hands down TCP packets of up to
64 KiB that the veth (TSO/GSO on, its default) never cuts.

The test plays the monitor and the agent as test_cap_proc.py does.  Two
namespaces it creates (and deletes): A holds the sender on a0 (198.18.30.1,
2001:db8:30::1), the capture process (`capture a0`) and the analyzer, a UDP
socket on 127.0.0.62 (A's loopback); B holds the peer on b0 (198.18.30.2,
2001:db8:30::2).  Then a TCP transfer of a fixed 1 MiB of random bytes, A to
B, mirrored:
  - IPv4: a DHCPACK from B makes 198.18.30.1 a session and the trigger that
    `mirror ipAddress 198.18.30.1 analyzer 127.0.0.62:40404 id 88` becomes
    makes it a target;
  - IPv6: the trigger of `mirror interface a0 analyzer 127.0.0.62:40404 id 89
    direction egress`.

Asserted: the capture saw super-packets (its super_packets counter); every
inner packet at the analyzer is at most the veth's MTU, well-formed (IPv4
header checksum; TCP checksum valid, or the pseudo-header's sum the stack
leaves to the device on a packet that needed no split); the sender's TCP
payloads, put in place by their sequence numbers, are exactly the bytes
sent; STATS "jmirror" counts split > 0 and unsplit 0, and so does the
intercept's row of `show mirror statistics` (the capture process's LIST
"statistics"), whose analyzer row has the path MTU (A's loopback MTU, asked of
rtnetlink from inside the sandbox).
"""
import os
import random
import re
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import ipcwire as w
import pmtest
import test_cap_proc as tcp

SUB, PEER, DHCPSRV = "198.18.30.1", "198.18.30.2", "198.18.30.9"
SUB6, PEER6 = "2001:db8:30::1", "2001:db8:30::2"
ANALYZER, AN_PORT, MIRROR_ID = "127.0.0.62", 40404, 88
PEER_PORT = 5001
MTU = 1500
SIZE = 1 << 20

RECEIVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)  # SO_RCVBUFFORCE: no datagram lost here
s.bind((sys.argv[2], int(sys.argv[3])))
out = open(sys.argv[1], "wb", buffering=0)
open(sys.argv[1] + ".ready", "w").close()
while True:
    d = s.recv(65536)
    out.write(len(d).to_bytes(4, "big") + d)
"""

SERVER = r"""
import socket, sys
ls = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[2], int(sys.argv[3])))
ls.listen(1)
ls.settimeout(60)
open(sys.argv[1] + ".ready", "w").close()
c, _ = ls.accept()
c.settimeout(60)
n = 0
while True:
    d = c.recv(1 << 16)
    if not d:
        break
    n += len(d)
c.close()
open(sys.argv[1], "w").write(str(n))
"""

CLIENT = r"""
import socket, sys
data = open(sys.argv[1], "rb").read()
s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=60)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
while s.recv(1 << 16):  # the peer's close: everything arrived
    pass
s.close()
"""

LIVE_ACK = r"""
import sys
from scapy.all import IP, UDP, Ether, BOOTP, DHCP, sendp
ack = (Ether(src="02:00:00:00:30:09", dst="ff:ff:ff:ff:ff:ff") /
       IP(src=sys.argv[2], dst=sys.argv[3]) / UDP(sport=67, dport=68) /
       BOOTP(op=2, xid=9, yiaddr=sys.argv[3], chaddr=bytes.fromhex("020000001e01") + bytes(10)) /
       DHCP(options=[("message-type", "ack"), ("server_id", sys.argv[2]),
                     ("lease_time", 3600), "end"]))
sendp(ack, iface=sys.argv[1], verbose=False)
"""


def csum(data):
    """The one's complement sum of data (RFC 1071), folded."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return s


def csum_ok(data):
    return csum(data) == 0xffff


def datagrams(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    out, off = [], 0
    while off + 4 <= len(raw):
        n = int.from_bytes(raw[off:off + 4], "big")
        if off + 4 + n > len(raw):
            break
        out.append(raw[off + 4:off + 4 + n])
        off += 4 + n
    return out


class GsoSplit(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (namespaces, capture)")
        self.dir = tempfile.mkdtemp(prefix="pmgso.")
        os.chmod(self.dir, 0o755)
        self.caps = []
        self.namespaces = []
        self.procs = []
        self.addCleanup(tcp.CaptureProcess._teardown, self)
        self.addCleanup(self._stop_procs)

    def _stop_procs(self):
        for p in self.procs:  # by their PIDs (ip netns exec execs the program)
            if p.poll() is None:
                p.kill()
                p.wait(5)

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, ns, script, *args):
        with open(self.path("py.err"), "a") as err:
            p = subprocess.Popen(["ip", "netns", "exec", ns, tcp.PY, "-c", script, *args],
                                 stdout=subprocess.DEVNULL, stderr=err)
        self.procs.append(p)
        return p

    def world(self, v6):
        """Namespaces A and B joined by a0/b0 (TSO and GSO on), the analyzer in A,
        the peer in B, the capture process in A capturing a0."""
        tag = "%d-%d" % (os.getpid(), int(time.monotonic() * 1000) % 100000)
        nsa, nsb = "pmgsoA-" + tag, "pmgsoB-" + tag
        self.nsa = nsa
        for ns in (nsa, nsb):
            tcp.run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            off = "0" if v6 else "1"
            tcp.run("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                    "net.ipv6.conf.all.disable_ipv6=" + off,
                    "net.ipv6.conf.default.disable_ipv6=" + off)
        tcp.run("ip", "-n", nsa, "link", "set", "lo", "up")
        tcp.run("ip", "link", "add", "a0", "netns", nsa, "type", "veth", "peer", "name", "b0",
                "netns", nsb)
        tcp.run("ip", "-n", nsa, "addr", "add", SUB + "/24", "dev", "a0")
        tcp.run("ip", "-n", nsb, "addr", "add", PEER + "/24", "dev", "b0")
        if v6:
            tcp.run("ip", "-n", nsa, "addr", "add", SUB6 + "/64", "dev", "a0", "nodad")
            tcp.run("ip", "-n", nsb, "addr", "add", PEER6 + "/64", "dev", "b0", "nodad")
        for ns, dev in ((nsa, "a0"), (nsb, "b0")):
            tcp.run("ip", "-n", ns, "link", "set", dev, "mtu", str(MTU), "up")
        if subprocess.run(["which", "ethtool"], stdout=subprocess.DEVNULL).returncode == 0:
            # veth has them on by default; said again where ethtool is installed
            tcp.run("ip", "netns", "exec", nsa, "ethtool", "-K", "a0", "tso", "on", "gso", "on")

        self.got = self.path("analyzer.bin")
        self.spawn(nsa, RECEIVER, self.got, ANALYZER, str(AN_PORT))
        self.spawn(nsb, SERVER, self.path("server.txt"), PEER6 if v6 else PEER, str(PEER_PORT))
        pmtest.wait_for(lambda: os.path.exists(self.got + ".ready") and
                        os.path.exists(self.path("server.txt.ready")), 10,
                        what="the analyzer and the peer listening")

        cp = tcp.CapProc(self, ns=nsa)
        cp.send_slice([(1, "capture", "capture a0"), (2, "dhcpServer", "dhcpServer " + DHCPSRV)])
        cp.ready()
        cp.stats("src:a0", lambda c: c["state"] == 1)
        return nsa, nsb, cp

    def transfer(self, nsa, peer):
        """SIZE random bytes over TCP from A to the peer in B, all of them arrived."""
        data = random.Random(10).randbytes(SIZE)
        with open(self.path("data.bin"), "wb") as f:
            f.write(data)
        r = subprocess.run(["ip", "netns", "exec", nsa, tcp.PY, "-c", CLIENT,
                            self.path("data.bin"), peer, str(PEER_PORT)],
                           capture_output=True, text=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        pmtest.wait_for(lambda: os.path.exists(self.path("server.txt")), 30, what="the peer")
        self.assertEqual(pmtest.read_text(self.path("server.txt")), str(SIZE))
        return data

    def check_analyzer(self, cp, data, v6, mid):
        """Every inner packet within the MTU and well-formed; the sender's TCP payloads,
        put in place by sequence number, are data; split counted, nothing unsplit."""
        sub = SUB6 if v6 else SUB
        state = {}

        def tcp_of(ip):
            """(source address, TCP segment, pseudo-header) of an inner packet, or None."""
            if v6:
                self.assertEqual(ip[0] >> 4, 6)
                self.assertEqual(struct.unpack("!H", ip[4:6])[0] + 40, len(ip))
                if ip[6] != 6:
                    return None
                t = ip[40:]
                pseudo = ip[8:40] + struct.pack("!I3xB", len(t), 6)
                return socket.inet_ntop(socket.AF_INET6, ip[8:24]), t, pseudo
            self.assertEqual(ip[0] >> 4, 4)
            ihl = (ip[0] & 15) * 4
            self.assertEqual(struct.unpack("!H", ip[2:4])[0], len(ip))
            self.assertTrue(csum_ok(ip[:ihl]), "IPv4 header checksum")
            if ip[9] != 6:
                return None
            t = ip[ihl:]
            return socket.inet_ntoa(ip[12:16]), t, ip[12:20] + struct.pack("!BBH", 0, 6, len(t))

        def reassembled():
            segs, isn, fin, valid = {}, None, False, 0
            pkts = datagrams(self.got)
            for d in pkts:
                self.assertEqual(struct.unpack("!I", d[:4])[0], mid)
                ip = d[8:]
                self.assertLessEqual(len(ip), MTU, "an inner packet above the MTU")
                x = tcp_of(ip)
                if x is None or x[0] != sub:
                    continue
                _, t, pseudo = x
                if csum_ok(pseudo + t):
                    valid += 1
                else:  # checksum offload: the stack left the pseudo-header's sum only
                    self.assertEqual(struct.unpack("!H", t[16:18])[0], csum(pseudo),
                                     "TCP checksum neither valid nor left to the device")
                if struct.unpack("!H", t[2:4])[0] != PEER_PORT:
                    continue
                seq, flags = struct.unpack("!I", t[4:8])[0], t[13]
                pay = t[(t[12] >> 4) * 4:]
                if flags & 0x02:  # SYN
                    isn = seq
                    continue
                fin = fin or bool(flags & 0x01)
                if pay:
                    if seq in segs:
                        self.assertEqual(segs[seq], pay, "a retransmission differs")
                    segs[seq] = pay
            state["n"], state["valid"] = len(pkts), valid
            if isn is None or not fin:
                return False
            stream = bytearray()
            for seq in sorted(segs, key=lambda s: (s - isn - 1) & 0xffffffff):
                off = (seq - isn - 1) & 0xffffffff
                if off > len(stream):
                    return False  # a hole: not (yet) everything
                stream[off:off + len(segs[seq])] = segs[seq]
            state["stream"] = bytes(stream)
            return len(stream) == SIZE

        try:
            pmtest.wait_for(reassembled, 30, what="the whole transfer at the analyzer")
        except AssertionError as e:
            jm = [r.counters() for r in cp.C.got if r.type == w.STATS and r.fields[1] == "jmirror"]
            raise AssertionError("%s: %s datagrams; jmirror %r\n%s" %
                                 (e, state.get("n"), jm[-1:], cp.text()))
        self.assertEqual(state["stream"], data)

        cp.stats("src:a0", lambda c: c["super_packets"] > 0)
        jm = cp.stats("jmirror", lambda c: c["split"] > 0)
        self.assertEqual(jm["unsplit"], 0, jm)
        # each split super-packet gave at least 2 segments, each with its TCP
        # checksum computed (the packets that were not split may have been
        # captured before the device's checksum offload filled theirs in)
        self.assertGreaterEqual(state["valid"], 2 * jm["split"])

        # `show mirror statistics`: the capture process's list "statistics"
        cp.C.send([w.Rec(w.LIST_REQ, {1: 21, 2: "statistics", 3: 0, 4: 50, 5: ""})])
        page = cp.C.wait(lambda r: r.type == w.LIST_PAGE and r.fields[1] == 21, 5, "LIST_PAGE")
        rows = page.fields.get(3, [])
        row = [x for x in rows if x.startswith("intercept mid=%d " % mid)]
        self.assertEqual(len(row), 1, rows)
        fields = dict(kv.split("=", 1) for kv in row[0].split()[1:])
        self.assertEqual(int(fields["split"]), jm["split"], row)
        self.assertEqual(fields["unsplit"], "0", row)
        # the path MTU asked of rtnetlink from inside the sandbox (jm_route.c):
        # the analyzer is on A's loopback
        lo = re.search(r"\bmtu (\d+)", tcp.run("ip", "-n", self.nsa, "link", "show", "lo"))
        arow = [x for x in rows if x.startswith("analyzer %s:%d " % (ANALYZER, AN_PORT))]
        self.assertEqual(len(arow), 1, rows)
        self.assertIn(" path-mtu=%s" % lo.group(1), arow[0])
        self.assertEqual(cp.proc.poll(), None)  # under the seccomp filter: alive
        self.assertEqual(cp.stop(), 0, cp.text())

    def test_ipv4_session_target(self):
        nsa, nsb, cp = self.world(v6=False)
        # what the agent sends for `mirror ipAddress SUB analyzer ANALYZER:AN_PORT id 88`
        rule = {1: 1, 2: 2, 3: 1, 4: SUB, 5: MIRROR_ID, 6: ANALYZER, 8: AN_PORT, 10: 2,
                13: SUB, 15: 32}
        cp.C.send([w.Rec(w.TRIGGER_SET, rule, w.BEGIN | w.END)])
        cp.C.wait(lambda r: r.type == w.TRIGGER_ACK, 5, "TRIGGER_ACK")
        tcp.run("ip", "netns", "exec", nsb, tcp.PY, "-c", LIVE_ACK, "b0", DHCPSRV, SUB)
        ev = cp.C.wait(lambda r: r.type == w.EVENT, 10, "SessionStart").event()
        self.assertEqual((ev["trap"], ev["mirror_id"]), (5, MIRROR_ID))
        data = self.transfer(nsa, PEER)
        self.check_analyzer(cp, data, False, MIRROR_ID)

    def test_ipv6_static_interface_mirror(self):
        nsa, _nsb, cp = self.world(v6=True)
        # `mirror interface a0 analyzer ANALYZER:AN_PORT id 89 direction egress`
        rule = {1: 1, 2: 3, 3: 0, 4: "a0", 5: MIRROR_ID + 1, 6: ANALYZER, 8: AN_PORT, 10: 1,
                12: b"a0"}
        cp.C.send([w.Rec(w.TRIGGER_SET, rule, w.BEGIN | w.END)])
        ack = cp.C.wait(lambda r: r.type == w.TRIGGER_ACK, 5, "TRIGGER_ACK")
        self.assertEqual(ack.fields.get(2), 1)
        data = self.transfer(nsa, PEER6)
        self.check_analyzer(cp, data, True, MIRROR_ID + 1)


if __name__ == "__main__":
    unittest.main()
