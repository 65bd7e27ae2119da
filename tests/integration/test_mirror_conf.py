"""The jmirror sender's directives end to end (README "Configuration reference",
docs/jmirror.md): pmirrord with `mirrorSource 127.0.0.5`, `mirrorDscp 46` and
`analyzerHoldDown 2` reads a pcap file (`capture pcap:FILE pace fast`) in which a
DHCPACK from the `dhcpServer` binds 198.18.5.10, a subscriber that a `mirror
ipAddress` rule of the file targets; its packets reach an analyzer socket on
127.0.0.2:30030 (in a network namespace of the test's own) as jmirror
datagrams whose outer header says source 127.0.0.5,
source port 30030 (= the destination port, bound at start because a rule of the
file names it), TOS 184 (DSCP 46 << 2) and TTL 255, read from the receiver's
IP_RECVTOS / IP_RECVTTL ancillary data.  `show mirror statistics` then has the
intercept's row and the analyzer's row with the packets.  The analyzer's address,
the subscriber's and the mirror ID never reach the ordinary log (pmtest.Env).
With nothing listening on the analyzer's port it goes down once (the error queue
read in the capture loop).  A bad `mirrorDscp 64` is a FILE:LINE error and the daemon
does not start.
"""
import os
import re
import struct
import subprocess
import unittest

import pmtest
import radpeer as rp
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

RECEIVER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTOS", 13), 1)
s.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[3]))
print("listening", flush=True)
while True:
    try:
        data, anc, _, frm = s.recvmsg(65536, socket.CMSG_SPACE(4) * 2)
    except socket.timeout:
        break
    tos = ttl = -1
    for level, typ, val in anc:
        if level == socket.IPPROTO_IP and typ == socket.IP_TOS:
            tos = val[0]
        elif level == socket.IPPROTO_IP and typ == socket.IP_TTL:
            ttl = struct.unpack("=i", val[:4])[0]
    print("dgram", frm[0], frm[1], tos, ttl, data.hex(), flush=True)
"""


class MirrorConf(pmtest.PmTestCase):
    """In a network namespace of the test's own: port 30030 on this host's loopback
    may be anyone's (a pmirrord of another test binds it on the wildcard address)."""

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (privilege drop, a network namespace)")
        e = self.env
        e.secrets.update({ANALYZER, SUB})
        e.secret_ids.add(MID)
        tcp.run(tcp.PY, "-c", FRAMES, e.dir, str(N))
        self.ns = rp.Netns("pmmc")
        self.addCleanup(self.ns.delete)
        e.netns = self.ns.name  # the daemon runs in it
        self.rx_log = e.path("rx.out")
        self.rx = self.ns.popen([tcp.PY, "-c", RECEIVER, ANALYZER, str(PORT), "60"], self.rx_log)
        self.addCleanup(rp.stop_pid, self.rx)
        wait_for(lambda: "listening" in pmtest.read_text(self.rx_log) or self.rx.poll() is not None,
                 10, what="the analyzer socket")
        self.assertIsNone(self.rx.poll(), pmtest.read_text(self.rx_log))

    def received(self):
        out = []
        for ln in pmtest.read_text(self.rx_log).splitlines():
            w = ln.split()
            if len(w) == 6 and w[0] == "dgram":
                out.append(((w[1], int(w[2])), int(w[3]), int(w[4]), bytes.fromhex(w[5])))
        return out

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
        got = wait_for(lambda: len(self.received()) >= N and self.received(), 20,
                       what="%d datagrams at the analyzer" % N)
        self.assertEqual(len(got), N, got)
        for ip, (frm, tos, ttl, data) in zip(want, got):
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

    def test_analyzer_without_listener_goes_down_once(self):
        """Nothing listens on the analyzer's port (our socket is bound to mirrorSource,
        not to the wildcard address, so the port is free there): the ICMP port
        unreachable errors come back on the error queue (POLLERR in the capture loop),
        the analyzer is down, one outage, AnalyzerUnreachable raised once, the mirror
        log says so with the analyzer's address."""
        e = self.env
        conf = self.conf("mirrorSource %s\nanalyzerHoldDown 2" % SOURCE)
        e.start_pmirrord(conf.replace(":%d id" % PORT, ":%d id" % (PORT + 10)))
        self.assertAlive()

        def down():
            r = e.ctl("show", "mirror", "statistics", secret=pmtest.MIRROR_SECRET)
            an = [ln for ln in r.stdout.splitlines()
                  if ln.startswith("analyzer %s:%d " % (ANALYZER, PORT + 10))]
            return an[0] if an and " state=down " in an[0] else None
        an = wait_for(down, 10, interval=0.2, what="the analyzer down")
        self.assertIn(" outages=1 ", an)
        self.assertRegex(an, r" unreachable-errors=[1-9]")

        def jm():
            j = e.ctl_json("show", "mirror", "statistics")
            c = {x["counter"]: x["value"] for x in j.get("counters", []) if x["source"] == "jmirror"}
            return c if c.get("unreachable_raised") == 1 else None
        c = wait_for(jm, 10, interval=0.2, what="AnalyzerUnreachable raised")
        self.assertGreaterEqual(c["icmp_errors"], 1)
        self.assertEqual(c["outages"], 1)
        log = [x["entry"] for x in e.ctl_json("show", "mirror", "log").get("log_entries", [])]
        want = "analyzer %s:%d unreachable (Connection refused): AnalyzerUnreachable raised" % (
            ANALYZER, PORT + 10)
        self.assertEqual(sum(want in x for x in log), 1, log)
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
        self.assertEqual(self.received(), [])  # nothing reached the analyzer

    def test_missing_interface_and_foreign_source_are_file_line_errors(self):
        """Both kept the daemon from starting (the capture process could not open its
        sockets) while `-n` said "configuration OK", and the start-up error had no
        FILE:LINE ("capture: jmirror: jmirror: mirrorInterface ... cannot be used")."""
        e = self.env
        for bad, want in (("mirrorInterface pmnosuch0", "mirrorInterface pmnosuch0: No such device"),
                          ("mirrorSource 198.19.254.253",
                           "mirrorSource 198.19.254.253 is not an address of this host")):
            text = e.pmirrord_conf(self.conf(bad))
            line = text.splitlines().index(bad) + 1
            path = e.path("bad.conf")
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o600)
            for argv in ([pmtest.PMIRRORD, "-n", "-c", path], [pmtest.PMIRRORD, "-f", "-c", path]):
                r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("%s:%d: %s" % (path, line, want), r.stderr)
        self.assertEqual(self.received(), [])

    def test_rules_that_cannot_work_draw_file_line_warnings(self):
        """`mirror interface` on an interface no `capture` line names, and an analyzer port
        below 1024, were accepted by `-n` without a word; the first mirrors nothing, the
        second leaves from another source port.  The warnings name the line, never the
        interface or the analyzer."""
        e = self.env
        rules = ["mirror interface pmnocap0 analyzer %s:%d id 78" % (ANALYZER, PORT),
                 "mirror username 0x70 analyzer %s:514 id 79" % ANALYZER]
        text = e.pmirrord_conf(self.conf("\n".join(rules)))
        lines = [text.splitlines().index(r) + 1 for r in rules]
        path = e.path("warn.conf")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        r = subprocess.run([pmtest.PMIRRORD, "-n", "-c", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: %s:%d: mirror interface: word 3 is not the interface of a "
                      "`capture` line" % (path, lines[0]), r.stderr)
        self.assertIn("warning: %s:%d: mirror: the analyzer's port is below 1024" % (path, lines[1]),
                      r.stderr)
        said = r.stderr.replace(path, "FILE")
        for secret in ("pmnocap0", ANALYZER, "514"):
            self.assertNotIn(secret, said)


if __name__ == "__main__":
    unittest.main()
