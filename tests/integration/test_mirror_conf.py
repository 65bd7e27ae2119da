"""The jmirror sender's directives end to end (README "Configuration reference",
docs/jmirror.md): pmirrord with `mirrorSource 127.0.0.5`, `mirrorDscp 46` and
`analyzerHoldDown 2` reads a pcap file (`capture pcap:FILE pace fast`) in which a
DHCPACK from the `dhcpServer` binds 198.18.5.10, a subscriber that a `mirror
ipAddress` rule of the file targets; its packets reach an analyzer socket on
127.0.0.2:30030 as jmirror datagrams whose outer header says source 127.0.0.5,
source port 30030 (= the destination port, bound at start because a rule of the
file names it), TOS 184 (DSCP 46 << 2) and TTL 255, read from the receiver's
IP_RECVTOS / IP_RECVTTL ancillary data.  `show mirror statistics` then has the
intercept's row and the analyzer's row with the packets.  The analyzer's address,
the subscriber's and the mirror ID never reach the ordinary log (pmtest.Env).
A bad `mirrorDscp 64` is a FILE:LINE error and the daemon does not start.
"""
import os
import re
import socket
import struct
import subprocess
import unittest

import pmtest
import test_cap_proc as tcp
from pmtest import wait_for

ANALYZER, PORT, SOURCE = "127.0.0.2", 30030, "127.0.0.5"
SUB, SRV, PEER = "198.18.5.10", "198.18.5.1", "198.18.9.9"
MID = 77
N = 5

FRAMES = r"""
import sys
from scapy.all import IP, UDP, Raw, Ether, BOOTP, DHCP, wrpcap
SRV, SUB, PEER, N = "198.18.5.1", "198.18.5.10", "198.18.9.9", int(sys.argv[2])
def eth(p):
    return Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:99") / p
ack = eth(IP(src=SRV, dst=SUB) / UDP(sport=67, dport=68) /
          BOOTP(op=2, xid=0x1234, yiaddr=SUB, siaddr=SRV, giaddr="198.18.5.254",
                chaddr=bytes.fromhex("020000000a0a") + bytes(10)) /
          DHCP(options=[("message-type", "ack"), ("server_id", SRV), ("lease_time", 3600), "end"]))
data = [eth(IP(src=SUB, dst=PEER, id=100 + i) / UDP(sport=5000 + i, dport=53) / Raw(b"q%d" % i))
        for i in range(N)]
t = 1700000000.0
ack.time = t
for i, p in enumerate(data):
    p.time = t + 1 + i * 0.01
wrpcap(sys.argv[1] + "/m.pcap", [ack] + data)
open(sys.argv[1] + "/ips.bin", "wb").write(b"".join(
    len(bytes(p[IP])).to_bytes(2, "big") + bytes(p[IP]) for p in data))
"""

IP_RECVTOS, IP_RECVTTL = getattr(socket, "IP_RECVTOS", 13), getattr(socket, "IP_RECVTTL", 12)
IP_TOS, IP_TTL = socket.IP_TOS, socket.IP_TTL


class MirrorConf(pmtest.PmTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (privilege drop)")
        e = self.env
        e.secrets.update({ANALYZER, SUB})
        e.secret_ids.add(MID)
        tcp.run(tcp.PY, "-c", FRAMES, e.dir, str(N))
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(self.rx.close)
        self.rx.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
        self.rx.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        self.rx.bind((ANALYZER, PORT))
        self.rx.settimeout(20)

    def recv(self):
        data, anc, _, frm = self.rx.recvmsg(65536, socket.CMSG_SPACE(4) * 2)
        tos = ttl = None
        for level, typ, val in anc:
            if level == socket.IPPROTO_IP and typ == IP_TOS:
                tos = val[0]
            elif level == socket.IPPROTO_IP and typ == IP_TTL:
                ttl = struct.unpack("=i", val[:4])[0]
        return data, frm, tos, ttl

    def conf(self, extra):
        return "\n".join([
            "capture pcap:%s pace fast" % self.env.path("m.pcap"),
            "dhcpServer %s" % SRV,
            "mirror ipAddress %s analyzer %s:%d id %d" % (SUB, ANALYZER, PORT, MID),
            extra, ""])

    def test_source_dscp_ttl_port_and_statistics(self):
        e = self.env
        e.start_pmirrord(self.conf("mirrorSource %s\nmirrorDscp 46\nanalyzerHoldDown 2" % SOURCE))
        self.assertAlive()
        with open(e.path("ips.bin"), "rb") as f:
            ips = f.read()
        want = []
        while ips:
            n = int.from_bytes(ips[:2], "big")
            want.append(ips[2:2 + n])
            ips = ips[2 + n:]
        for ip in want:
            data, frm, tos, ttl = self.recv()
            self.assertEqual(frm, (SOURCE, PORT), "mirrorSource and source port = analyzer port")
            self.assertEqual(tos, 184, "mirrorDscp 46")
            self.assertEqual(ttl, 255)
            mid, sid = struct.unpack("!II", data[:8])
            self.assertEqual(mid, MID)
            self.assertEqual(data[8:], ip)

        def rows():
            r = e.ctl("show", "mirror", "statistics", secret=pmtest.MIRROR_SECRET)
            self.assertEqual(r.returncode, 0, r.stderr)
            ic = [ln for ln in r.stdout.splitlines() if ln.startswith("intercept mid=%d " % MID)]
            an = [ln for ln in r.stdout.splitlines()
                  if ln.startswith("analyzer %s:%d " % (ANALYZER, PORT))]
            if ic and an and " packets=%d " % N in ic[0] and " packets=%d " % N in an[0]:
                return ic[0], an[0]
            return None
        ic, an = wait_for(rows, 10, interval=0.2, what="the statistics rows with %d packets" % N)
        self.assertRegex(ic, r"^intercept mid=%d sid=\d+ analyzer=%s:%d packets=%d bytes=%d lost=0 " %
                         (MID, re.escape(ANALYZER), PORT, N, sum(8 + len(ip) for ip in want)))
        self.assertRegex(an, r"^analyzer %s:%d state=up packets=%d bytes=%d send-errors=0 " %
                         (re.escape(ANALYZER), PORT, N, sum(8 + len(ip) for ip in want)))
        self.assertAlive()

    def test_bad_dscp_is_a_file_line_error(self):
        e = self.env
        text = e.pmirrord_conf(self.conf("mirrorDscp 64"))
        line = text.splitlines().index("mirrorDscp 64") + 1
        path = e.path("bad.conf")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        for argv in ([pmtest.PMIRRORD, "-n", "-c", path], [pmtest.PMIRRORD, "-f", "-c", path]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("%s:%d: mirrorDscp: \"64\" is not a number from 0 to 63" % (path, line),
                          r.stderr)
        # nothing reached the analyzer
        self.rx.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            self.rx.recv(100)


if __name__ == "__main__":
    unittest.main()
