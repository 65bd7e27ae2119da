"""The jmirror sender (src/capture/jm_send.c, docs/jmirror.md) seen by a real
peer: Wireshark's jmirror dissector (tshark decodes UDP port 30030 as jmirror
with no option) reads the datagrams pm_jmsend sends, the mirror and session
identifiers in jmirror.mid / jmirror.sid, and the mirrored packet inside;
the outer header as JUNOSe sends it (TTL / hop limit 255, UDP source port =
destination port 30030); and a 1500-octet packet on a 1280-octet MTU leaves
fragmented by the kernel and is reassembled whole by tshark.

Root; the capture runs on the loopback of a network namespace the test
creates (and deletes), so nothing else on the host is seen or disturbed.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import pmtest

JMSEND = os.path.join(pmtest.BUILD, "pm_jmsend")


@unittest.skipUnless(os.geteuid() == 0, "needs root (network namespace, capture)")
@unittest.skipUnless(shutil.which("tshark"), "needs tshark")
class Jmirror(unittest.TestCase):
    def setUp(self):
        self.ns = "pmjm%d" % os.getpid()
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.addCleanup(subprocess.run, ["ip", "netns", "del", self.ns])
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.dir = tempfile.mkdtemp(prefix="pmjm.")
        self.addCleanup(shutil.rmtree, self.dir, True)
        env = os.environ.get("ASAN_OPTIONS", "")
        # pm_jmsend -s runs in the sandbox: LeakSanitizer's exit check is forbidden there
        self.env = dict(os.environ, ASAN_OPTIONS=env.replace("detect_leaks=1", "detect_leaks=0"))

    def nsexec(self, *argv):
        return ["ip", "netns", "exec", self.ns] + list(argv)

    FIELDS = ("jmirror.mid", "jmirror.sid", "ip.src", "ipv6.src", "udp.dstport",
              "udp.srcport", "ip.ttl", "ipv6.hlim", "udp.length")

    def capture(self, analyzer, mid, sid, sandbox=False, length=0,
                filt="udp port 30030", count=1):
        """tshark on the namespace's lo; pm_jmsend until count packets are
        captured; the jmirror datagrams' FIELDS, one dict per datagram."""
        pcap = os.path.join(self.dir, "jm.pcap")
        err = open(os.path.join(self.dir, "tshark.err"), "w+")
        self.addCleanup(err.close)
        ts = subprocess.Popen(self.nsexec("tshark", "-i", "lo", "-f", filt,
                                          "-c", str(count), "-w", pcap),
                              stdout=subprocess.DEVNULL, stderr=err)
        self.addCleanup(lambda: ts.poll() is not None or (ts.kill(), ts.wait()))  # by its PID
        pmtest.wait_for(lambda: "Capturing on" in open(err.name).read(), 30,
                        what="tshark capturing")
        args = [JMSEND] + (["-s"] if sandbox else []) + (["-l", str(length)] if length else [])
        args += [analyzer, str(mid), str(sid)]

        def sent_and_seen():
            r = subprocess.run(self.nsexec(*args), env=self.env, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            try:
                ts.wait(timeout=0.2)
                return True
            except subprocess.TimeoutExpired:
                return False
        pmtest.wait_for(sent_and_seen, 30, interval=0, what="a datagram captured")
        self.assertEqual(ts.returncode, 0)
        fields = []
        for f in self.FIELDS:
            fields += ["-e", f]
        r = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=|"] + fields +
                           ["-Y", "jmirror"], capture_output=True, text=True, check=True)
        lines = r.stdout.split()
        self.assertGreaterEqual(len(lines), 1, r.stdout + r.stderr)
        return [dict(zip(self.FIELDS, line.split("|"))) for line in lines]

    def test_ipv4(self):
        [d] = self.capture("127.0.0.77:30030", 0x300, 0x90)
        self.assertEqual(int(d["jmirror.mid"], 0), 0x300)
        self.assertEqual(int(d["jmirror.sid"], 0), 0x90)
        # the outer header, then the mirrored packet's own addresses
        self.assertEqual(d["ip.src"].split(","), ["127.0.0.1", "198.18.0.1"])
        self.assertEqual(d["udp.dstport"].split(","), ["30030", "53"])
        # as JUNOSe sends it: source port = destination port, TTL 255
        self.assertEqual(d["udp.srcport"].split(","), ["30030", "12345"])
        self.assertEqual(d["ip.ttl"].split(",")[0], "255")

    def test_ipv4_sandboxed_largest_ids(self):
        [d] = self.capture("127.0.0.78:30030", 1073741823, 4294967295, sandbox=True)
        self.assertEqual(int(d["jmirror.mid"], 0), 1073741823)  # the two version bits are 0
        self.assertEqual(int(d["jmirror.sid"], 0), 4294967295)
        self.assertIn("198.18.0.1", d["ip.src"].split(","))

    def test_ipv6(self):
        [d] = self.capture("[::1]:30030", 7, 1234567)
        self.assertEqual(int(d["jmirror.mid"], 0), 7)
        self.assertEqual(int(d["jmirror.sid"], 0), 1234567)
        self.assertEqual(d["ipv6.src"].split(","), ["::1", "2001:db8::1"])
        self.assertEqual(d["udp.srcport"].split(",")[0], "30030")
        self.assertEqual(d["ipv6.hlim"].split(",")[0], "255")

    def fragmented(self, analyzer, filt):
        """A 1500-octet packet on a 1280-octet MTU: the datagram leaves in
        fragments (not refused, not dropped) and is reassembled whole."""
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "mtu", "1280"], check=True)
        # fragments only: two per datagram; a pair cut by the capture's start is not decoded
        for d in self.capture(analyzer, 0x301, 0x91, length=1500, filt=filt, count=4):
            self.assertEqual(int(d["jmirror.mid"], 0), 0x301)
            self.assertEqual(int(d["jmirror.sid"], 0), 0x91)
            # the outer UDP length: header 8 + jmirror 8 + the packet 1500; the inner one's
            self.assertEqual(d["udp.length"].split(","), [str(8 + 8 + 1500), str(1500 - 20)]
                             if analyzer[0] != "[" else [str(8 + 8 + 1500), str(1500 - 40)])

    def test_ipv4_fragmented(self):
        self.fragmented("127.0.0.79:30030", "ip[6:2] & 0x3fff != 0")

    def test_ipv6_fragmented(self):
        self.fragmented("[::1]:30030", "ip6[6] == 44")


if __name__ == "__main__":
    unittest.main()
