"""The jmirror sender (src/capture/jm_send.c, docs/jmirror.md) seen by a real
peer: Wireshark's jmirror dissector (tshark decodes UDP port 30030 as jmirror
with no option) reads the datagrams pm_jmsend sends, the mirror and session
identifiers in jmirror.mid / jmirror.sid, and the mirrored packet inside.

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

    def capture(self, analyzer, mid, sid, sandbox=False):
        """tshark on the namespace's lo; pm_jmsend until one datagram is captured."""
        pcap = os.path.join(self.dir, "jm.pcap")
        err = open(os.path.join(self.dir, "tshark.err"), "w+")
        self.addCleanup(err.close)
        ts = subprocess.Popen(self.nsexec("tshark", "-i", "lo", "-f", "udp port 30030",
                                          "-c", "1", "-w", pcap),
                              stdout=subprocess.DEVNULL, stderr=err)
        self.addCleanup(lambda: ts.poll() is not None or (ts.kill(), ts.wait()))  # by its PID
        pmtest.wait_for(lambda: "Capturing on" in open(err.name).read(), 30,
                        what="tshark capturing")
        args = [JMSEND] + (["-s"] if sandbox else []) + [analyzer, str(mid), str(sid)]

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
        r = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-E", "separator=|",
                            "-e", "jmirror.mid", "-e", "jmirror.sid", "-e", "ip.src",
                            "-e", "ipv6.src", "-e", "udp.dstport", "-Y", "jmirror"],
                           capture_output=True, text=True, check=True)
        lines = r.stdout.split()
        self.assertEqual(len(lines), 1, r.stdout + r.stderr)
        return lines[0].split("|")

    def test_ipv4(self):
        mid, sid, src, src6, dport = self.capture("127.0.0.77:30030", 0x300, 0x90)
        self.assertEqual(int(mid, 0), 0x300)
        self.assertEqual(int(sid, 0), 0x90)
        # the outer header, then the mirrored packet's own addresses
        self.assertEqual(src.split(","), ["127.0.0.1", "198.18.0.1"])
        self.assertEqual(dport.split(","), ["30030", "53"])

    def test_ipv4_sandboxed_largest_ids(self):
        mid, sid, src, _, _ = self.capture("127.0.0.78:30030", 1073741823, 4294967295,
                                           sandbox=True)
        self.assertEqual(int(mid, 0), 1073741823)  # the two version bits are 0
        self.assertEqual(int(sid, 0), 4294967295)
        self.assertIn("198.18.0.1", src.split(","))

    def test_ipv6(self):
        mid, sid, src, src6, dport = self.capture("[::1]:30030", 7, 1234567)
        self.assertEqual(int(mid, 0), 7)
        self.assertEqual(int(sid, 0), 1234567)
        self.assertEqual(src6.split(","), ["::1", "2001:db8::1"])


if __name__ == "__main__":
    unittest.main()
