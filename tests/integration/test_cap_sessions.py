"""Sessions and mirroring wired in the capture process (src/capture/cap_sessions.c,
docs/jmirror.md, docs/capture-sources.md "In the capture process").

The test plays the monitor and the agent as test_cap_proc.py does and reads a
pcap file at its recorded pace: a DHCPACK from the trusted server binds
198.18.5.10 (a session); the test pushes an ipAddress trigger for it (the
session becomes a target: InterfaceSessionActivated); the subscriber's
packets that follow come out as jmirror datagrams at an analyzer socket on
127.0.0.61, from inside the sandbox, header and packet as captured; a packet
cut by the snap length is counted, not sent.  Then LIST_REQ "subscribers",
and the STATS sources radius, dhcp, sessions and jmirror.  A pcap source
waits for the first trigger table.  Live, on a veth of two namespaces the
test creates (198.18.20.0/24) whose far end is the target and its analyzer:
the process's own datagrams, captured as they leave, are never mirrored.
"""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import ipcwire as w
import pmtest
import test_cap_proc as tcp

ANALYZER = "127.0.0.61"
MIRROR_ID = 1234

FRAMES = r"""
import sys
from scapy.all import IP, UDP, Raw, Ether, BOOTP, DHCP, wrpcap
SRV, SUB, PEER = "198.18.5.1", "198.18.5.10", "198.18.9.9"
def eth(p):
    return Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:99") / p
ack = eth(IP(src=SRV, dst=SUB) / UDP(sport=67, dport=68) /
          BOOTP(op=2, xid=0x1234, yiaddr=SUB, siaddr=SRV, giaddr="198.18.5.254",
                chaddr=bytes.fromhex("020000000a0a") + bytes(10)) /
          DHCP(options=[("message-type", "ack"), ("server_id", SRV), ("lease_time", 3600),
                        ("relay_agent_information", b"\x01\x04cir1\x02\x04rem1"), "end"]))
data = [eth(IP(src=SUB, dst=PEER, id=100 + i) / UDP(sport=5000 + i, dport=53) / Raw(b"q%d" % i))
        for i in range(3)]
data.append(eth(IP(src=PEER, dst=SUB, id=200) / UDP(sport=53, dport=5000) / Raw(b"answer")))
other = eth(IP(src="198.18.7.7", dst=PEER) / UDP(sport=1, dport=2) / Raw(b"not a target"))
# a packet of the subscriber cut by the capture's snap length (caplen < wirelen)
whole = bytes(eth(IP(src=SUB, dst=PEER, id=300) / UDP(sport=6000, dport=53) / Raw(bytes(400))))
snapped = Ether(whole[:64])
snapped.wirelen = len(whole)
t = 1700000000.0
ack.time = t
rest = data + [other, snapped]
for i, p in enumerate(rest):
    p.time = t + 4 + i * 0.01  # after the test's trigger table
wrpcap(sys.argv[1] + "/s.pcap", [ack] + rest)
open(sys.argv[1] + "/ips.bin", "wb").write(b"".join(
    len(bytes(p[IP])).to_bytes(2, "big") + bytes(p[IP]) for p in data))
"""


class CaptureSessions(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (privilege drop)")
        self.dir = tempfile.mkdtemp(prefix="pmcs.")
        os.chmod(self.dir, 0o755)
        self.caps = []
        self.namespaces = []
        self.addCleanup(tcp.CaptureProcess._teardown, self)
        tcp.run(tcp.PY, "-c", FRAMES, self.dir)
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(self.rx.close)
        self.rx.bind((ANALYZER, 0))
        self.rx.settimeout(10)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_dhcp_session_trigger_and_mirrored_packets(self):
        cp = tcp.CapProc(self)
        s = self.path("s.pcap")
        fd = os.open(s, os.O_RDONLY | os.O_CLOEXEC)
        cp.send_slice([(2, "capture", "capture pcap:%s pace recorded" % s),
                       (3, "dhcpServer", "dhcpServer 198.18.5.1")],
                      [(w.FD_PCAP_FILE, s, fd)])
        os.close(fd)
        cp.ready()
        # the ACK is read at once: one session
        cp.stats("sessions", lambda c: c["sessions"] == 1)
        dh = cp.stats("dhcp", lambda c: c["acks"] == 1)
        self.assertEqual((dh["untrusted"], dh["bindings"]), (0, 1))

        port = self.rx.getsockname()[1]
        rule = {1: 1, 2: 2, 3: 1, 4: "198.18.5.10", 5: MIRROR_ID, 6: ANALYZER, 8: port, 10: 2,
                13: "198.18.5.10", 15: 32}
        cp.C.send([w.Rec(w.TRIGGER_SET, rule, w.BEGIN | w.END)])
        ack = cp.C.wait(lambda r: r.type == w.TRIGGER_ACK, 5, "TRIGGER_ACK")
        self.assertEqual(ack.fields[2], 1)
        ev = cp.C.wait(lambda r: r.type == w.EVENT and r.event()["trap"] == 7, 5,
                       "InterfaceSessionActivated", seen=True).event()
        self.assertEqual(ev["mirror_id"], MIRROR_ID)

        # the subscriber's four packets, in order, each as one datagram
        ips = open(self.path("ips.bin"), "rb").read()
        want = []
        while ips:
            n = int.from_bytes(ips[:2], "big")
            want.append(ips[2:2 + n])
            ips = ips[2 + n:]
        for ip in want:
            dgram, frm = self.rx.recvfrom(65536)
            mid, sid = struct.unpack("!II", dgram[:8])
            self.assertEqual(mid >> 30, 0)
            self.assertEqual(mid, MIRROR_ID)
            self.assertEqual(sid, ev["session_id"])
            self.assertEqual(dgram[8:], ip)
        jm = cp.stats("jmirror", lambda c: c["snapped"] == 1)
        self.assertEqual((jm["sent"], jm["copies"], jm["packets"], jm["own"], jm["failed"]),
                         (4, 4, 5, 0, 0))
        self.rx.settimeout(0.3)
        with self.assertRaises(socket.timeout):  # not the other host's, not the cut one
            self.rx.recvfrom(65536)

        # show mirror subscribers: the session, marked as a target
        cp.C.send([w.Rec(w.LIST_REQ, {1: 9, 2: "subscribers", 3: 0, 4: 10, 5: ""})])
        page = cp.C.wait(lambda r: r.type == w.LIST_PAGE, 5, "LIST_PAGE")
        self.assertEqual((page.fields[1], page.fields[4]), (9, 0))
        rows = page.fields.get(3, [])
        self.assertEqual(len(rows), 1, rows)
        self.assertIn("198.18.5.10", rows[0])
        self.assertEqual((page.fields.get(5), page.fields.get(6)), (1, 1))  # total, count
        cp.C.send([w.Rec(w.LIST_REQ, {1: 10, 2: "subscribers", 3: 0, 4: 10, 5: "198.18.6."})])
        page = cp.C.wait(lambda r: r.type == w.LIST_PAGE and r.fields[1] == 10, 5, "LIST_PAGE")
        self.assertEqual(page.fields.get(3, []), [])
        self.assertEqual((page.fields.get(5), page.fields.get(6)), (0, 1))

        st = cp.stats("sessions")
        self.assertEqual((st["targets"], st["intercepts"], st["triggers"]), (1, 1, 1))
        self.assertIn("radius", [r.fields[1] for r in cp.C.got if r.type == w.STATS])
        self.assertEqual(cp.proc.poll(), None)  # sending under the seccomp filter: alive
        self.assertEqual(cp.stop(), 0, cp.text())
        self.assertNotIn("198.18.5.10", cp.text())  # no identity in the process's log

    def test_table_in_force_before_the_file_is_read(self):
        """A pcap source waits for the agent's first trigger table: the
        configuration's rules apply from the file's first packet, so the
        binding of a target is its SessionStart (not a later activation)."""
        cp = tcp.CapProc(self)
        s = self.path("s.pcap")
        fd = os.open(s, os.O_RDONLY | os.O_CLOEXEC)
        cp.send_slice([(2, "capture", "capture pcap:%s pace recorded" % s),
                       (3, "dhcpServer", "dhcpServer 198.18.5.1")],
                      [(w.FD_PCAP_FILE, s, fd)])
        os.close(fd)
        cp.ready()
        src = cp.stats("src:pcap:" + s)
        self.assertEqual(src["packets"], 0)  # nothing read without a table
        port = self.rx.getsockname()[1]
        rule = {1: 1, 2: 2, 3: 1, 4: "198.18.5.0/24", 5: MIRROR_ID, 6: ANALYZER, 8: port,
                10: 0, 13: "198.18.5.0", 15: 24}  # ingress: what the subscriber sends
        cp.C.send([w.Rec(w.TRIGGER_SET, rule, w.BEGIN | w.END)])
        ev = cp.C.wait(lambda r: r.type == w.EVENT, 10, "EVENT").event()
        self.assertEqual((ev["trap"], ev["mirror_id"]), (5, MIRROR_ID))  # SessionStart
        for _ in range(3):  # the three queries, not the answer (egress)
            dgram = self.rx.recv(65536)
            self.assertEqual(struct.unpack("!I", dgram[:4])[0], MIRROR_ID)
            self.assertEqual(dgram[8 + 12:8 + 16], socket.inet_aton("198.18.5.10"))
        cp.stats("jmirror", lambda c: c["snapped"] == 1 and c["copies"] == 3)
        self.assertFalse([r for r in cp.C.got if r.type == w.EVENT and r.event()["trap"] == 7])
        self.assertEqual(cp.stop(), 0, cp.text())

    def test_live_never_mirrors_its_own_datagrams(self):
        """Live on a veth whose far end is both the target and its analyzer:
        every jmirror datagram the process sends leaves through the captured
        interface to the target's address, is captured again, recognised as
        its own and not mirrored (no loop); the analyzer gets each copy once."""
        tag = "%d-%d" % (os.getpid(), int(time.monotonic() * 1000) % 100000)
        nsa, nsb = "pmcsA-" + tag, "pmcsB-" + tag
        for ns in (nsa, nsb):
            tcp.run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            tcp.run("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                    "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        tcp.run("ip", "link", "add", "a0", "netns", nsa, "type", "veth", "peer", "name", "b0",
                "netns", nsb)
        tcp.run("ip", "-n", nsa, "addr", "add", "198.18.20.1/24", "dev", "a0")
        tcp.run("ip", "-n", nsb, "addr", "add", "198.18.20.2/24", "dev", "b0")
        for ns, dev in ((nsa, "a0"), (nsb, "b0")):
            tcp.run("ip", "-n", ns, "link", "set", dev, "up")
        got = self.path("analyzer.txt")
        rx = subprocess.Popen(["ip", "netns", "exec", nsb, tcp.PY, "-c", RECEIVER, got],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: rx.poll() is not None or (rx.kill(), rx.wait()))  # by its PID
        pmtest.wait_for(lambda: os.path.exists(got), 10, what="the analyzer listening")

        cp = tcp.CapProc(self, ns=nsa)
        cp.send_slice([(1, "capture", "capture a0"), (2, "dhcpServer", "dhcpServer 198.18.20.9")])
        cp.ready()
        cp.stats("src:a0", lambda c: c["state"] == 1)
        rule = {1: 1, 2: 2, 3: 1, 4: "198.18.20.2", 5: 77, 6: "198.18.20.2", 8: 40404, 10: 2,
                13: "198.18.20.2", 15: 32}
        cp.C.send([w.Rec(w.TRIGGER_SET, rule, w.BEGIN | w.END)])
        cp.C.wait(lambda r: r.type == w.TRIGGER_ACK, 5, "TRIGGER_ACK")
        tcp.run("ip", "netns", "exec", nsb, tcp.PY, "-c", LIVE_ACK, "b0")
        ev = cp.C.wait(lambda r: r.type == w.EVENT, 10, "SessionStart").event()
        self.assertEqual((ev["trap"], ev["mirror_id"]), (5, 77))
        tcp.run("ip", "netns", "exec", nsb, tcp.PY, "-c", LIVE_DATA)
        # each copy sent is seen again on a0 as it leaves, and recognised; a UDP GSO
        # train of k copies (jm_send.c) leaves a0 as one super-packet: seen once
        def own(c):
            return c["copies"] - (c["gso_segments"] - c["gso_msgs"])
        jm = cp.stats("jmirror", lambda c: c["copies"] >= 3 and c["own"] == own(c))
        n, n_own = jm["copies"], jm["own"]
        pmtest.wait_for(lambda: len(open(got).read().split()) >= n, 10, what="datagrams")
        rows = open(got).read().split()
        self.assertEqual(len(rows), n, rows)
        self.assertTrue(all(r.startswith("0000004d") for r in rows), rows)  # mirror ID 77
        later = cp.stats("jmirror")  # a second on: no datagram fed another
        self.assertEqual((later["copies"], later["own"], later["failed"]), (n, n_own, 0))
        self.assertEqual(cp.stop(), 0, cp.text())


RECEIVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.20.2", 40404))
open(sys.argv[1], "w").close()
while True:
    d = s.recv(65536)
    with open(sys.argv[1], "a") as f:
        f.write(d[:8].hex() + "\n")
"""

LIVE_ACK = r"""
import sys
from scapy.all import IP, UDP, Ether, BOOTP, DHCP, sendp
ack = (Ether(src="02:00:00:00:20:09", dst="ff:ff:ff:ff:ff:ff") /
       IP(src="198.18.20.9", dst="198.18.20.2") / UDP(sport=67, dport=68) /
       BOOTP(op=2, xid=7, yiaddr="198.18.20.2", chaddr=bytes.fromhex("020000001402") + bytes(10)) /
       DHCP(options=[("message-type", "ack"), ("server_id", "198.18.20.9"),
                     ("lease_time", 3600), "end"]))
sendp(ack, iface=sys.argv[1], verbose=False)
"""

LIVE_DATA = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    s.sendto(b"data %d" % i, ("198.18.20.1", 9))
"""


if __name__ == "__main__":
    unittest.main()
