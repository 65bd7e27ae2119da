"""Sessions and mirroring wired in the capture process (src/capture/cap_sessions.c,
docs/jmirror.md, docs/capture-sources.md "In the capture process").

The test plays the monitor and the agent as test_cap_proc.py does and reads a
pcap file at its recorded pace: a DHCPACK from the trusted server binds
198.18.5.10 (a session); the test pushes an ipAddress trigger for it (the
session becomes a target: InterfaceSessionActivated); the subscriber's
packets that follow come out as jmirror datagrams at an analyzer socket on
127.0.0.61, from inside the sandbox, header and packet as captured; a packet
cut by the snap length is counted, not sent.  Then LIST_REQ "subscribers",
and the STATS sources radius, dhcp, sessions and jmirror.
"""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
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


if __name__ == "__main__":
    unittest.main()
