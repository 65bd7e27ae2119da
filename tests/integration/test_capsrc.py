"""Capture sources (src/capture, docs/capture-sources.md) through pm_capdump.

Each test creates two network namespaces, capture side A and peer side B, joined
by veth pairs with 198.18.x.x addresses (RFC 2544 benchmarking range), runs
pm_capdump in A and sends from B.  Nothing leaves the namespaces; tearDown
deletes them (and with them every veth), always.  The packet list from a live
capture is compared with dumpcap's pcap of the same traffic replayed through
`pcap:FILE`; pcap files for pacing are written byte by byte here.
"""
import os
import re
import signal
import struct
import subprocess
import tempfile
import time
import unittest

import pmtest

CAPDUMP = os.path.join(pmtest.BUILD, "pm_capdump")
PY = "/usr/bin/python3"

SENDER = r"""
import socket, sys
dst = sys.argv[1]
for spec in sys.argv[2:]:
    port, size = spec.split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(bytes((i * 7) & 0xff for i in range(int(size))), (dst, int(port)))
    s.close()
"""


def run(*argv, check=True):
    return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=30).stdout.decode()


def udp_frames(lines, name=None):
    """(caplen, wirelen, dport, hex) of the IPv4 UDP frames in pm_capdump's pkt lines."""
    out = []
    for ln in lines:
        w = ln.split()
        if len(w) < 7 or w[0] != "pkt" or (name and w[1] != name):
            continue
        frame = bytes.fromhex(w[6])
        if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 0x0f) * 4
        dport = struct.unpack("!H", frame[14 + ihl + 2:14 + ihl + 4])[0]
        out.append((int(w[3]), int(w[4]), dport, w[6]))
    return out


class Capdump:
    """pm_capdump in a namespace; stdout to a file read by polling."""

    def __init__(self, tc, ns, *specs, args=()):
        self.path = os.path.join(tc.dir, "capdump.%d.out" % len(tc.capdumps))
        out = open(self.path, "wb")
        argv = ["ip", "netns", "exec", ns, CAPDUMP, "-x", "256"] + list(args) + list(specs)
        if ns is None:
            argv = argv[4:]
        self.t0 = time.monotonic()
        # ip netns exec execs the program: the PID is pm_capdump's
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        tc.capdumps.append(self)

    def lines(self):
        with open(self.path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()

    def wait_line(self, pattern, timeout=10, count=1):
        rx = re.compile(pattern)

        def found():
            hits = [ln for ln in self.lines() if rx.search(ln)]
            if self.proc.poll() is not None and len(hits) < count:
                raise AssertionError("pm_capdump exited (%s):\n%s" % (self.proc.returncode,
                                                                      "\n".join(self.lines())))
            return hits if len(hits) >= count else None
        try:
            return pmtest.wait_for(found, timeout, what=pattern)
        except AssertionError as e:
            raise AssertionError("%s\n--- pm_capdump output:\n%s" % (e, "\n".join(self.lines())))

    def wait_udp(self, n, name=None, timeout=10):
        return pmtest.wait_for(lambda: len(udp_frames(self.lines(), name)) >= n and
                               udp_frames(self.lines(), name), timeout,
                               what="%d UDP frames in %s" % (n, self.path))

    def stats(self, name):
        before = len([ln for ln in self.lines() if ln.startswith("stats %s " % name)])
        self.proc.send_signal(signal.SIGUSR1)
        hit = self.wait_line(r"^stats %s " % re.escape(name), count=before + 1)[-1]
        return dict(kv.split("=", 1) for kv in hit.split()[2:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class CaptureSources(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pmcap.")
        self.capdumps = []
        self.procs = []
        tag = "%d-%d" % (os.getpid(), int(time.monotonic() * 1000) % 100000)
        self.nsa, self.nsb = "pmcapA-" + tag, "pmcapB-" + tag
        self.addCleanup(self._teardown)
        for ns in (self.nsa, self.nsb):
            run("ip", "netns", "add", ns)
            # no IPv6 autoconfiguration chatter on the veths
            run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1")
            run("ip", "-n", ns, "link", "set", "lo", "up")

    def _teardown(self):
        for c in self.capdumps:
            c.stop()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
            for f in (p.stdout, p.stderr):
                if f is not None:
                    f.close()
        for ns in (self.nsa, self.nsb):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        if os.environ.get("PM_KEEP_TMP"):
            print("kept", self.dir)
        else:
            subprocess.run(["rm", "-rf", self.dir])

    def veth(self, i, up=True):
        """veth a<i> in A (198.18.<i>.1) <-> b<i> in B (198.18.<i>.2), up, static ARP."""
        a, b = "a%d" % i, "b%d" % i
        run("ip", "link", "add", a, "netns", self.nsa, "type", "veth", "peer", "name", b,
            "netns", self.nsb)
        run("ip", "-n", self.nsa, "addr", "add", "198.18.%d.1/24" % i, "dev", a)
        run("ip", "-n", self.nsb, "addr", "add", "198.18.%d.2/24" % i, "dev", b)
        mac = run("ip", "-n", self.nsa, "-o", "link", "show", a).split("link/ether ")[1].split()[0]
        run("ip", "-n", self.nsb, "neigh", "replace", "198.18.%d.1" % i, "lladdr", mac, "dev", b,
            "nud", "permanent")
        if up:
            self.link_up(i)
        return a

    def link_up(self, i):
        run("ip", "-n", self.nsa, "link", "set", "a%d" % i, "up")
        run("ip", "-n", self.nsb, "link", "set", "b%d" % i, "up")

    def send(self, i, *port_sizes):
        """UDP datagrams from B to 198.18.<i>.1, in order: (port, payload size)..."""
        run("ip", "netns", "exec", self.nsb, PY, "-c", SENDER, "198.18.%d.1" % i,
            *["%d:%d" % ps for ps in port_sizes])

    # ---------------------------------------------------------------------
    def test_live_capture_and_pcap_replay_agree(self):
        a0 = self.veth(0)
        traffic = [(1812, 20), (1813, 100), (67, 300), (5000, 1000), (1812, 1472), (5001, 0)]
        pcap = os.path.join(self.dir, "live.pcap")
        dumpcap = subprocess.Popen(["ip", "netns", "exec", self.nsa, "dumpcap", "-i", a0, "-f",
                                    "udp", "-c", str(len(traffic)), "-P", "-w", pcap],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(dumpcap)
        cd = Capdump(self, self.nsa, a0)
        # role both (the default): TPACKET_V3 blocks, half of signallingLatency
        cd.wait_line(r"^state a0 up .*TPACKET_V3 blocks, timeout 5 ms")
        cd.wait_line(r"^ready$")
        # dumpcap says "Capturing on 'a0'" once its filter is in place
        line = b""
        while b"Capturing on" not in line:
            line = dumpcap.stderr.readline()
            self.assertTrue(line, "dumpcap ended before capturing")
        self.send(0, *traffic)

        live = cd.wait_udp(len(traffic))
        self.assertEqual([(p, 14 + 20 + 8 + n, 14 + 20 + 8 + n) for p, n in traffic],
                         [(d, cl, wl) for cl, wl, d, _ in live])
        # the payload bytes are what was sent (first 256 bytes of each frame printed)
        payload = bytes((i * 7) & 0xff for i in range(100))
        self.assertEqual(bytes.fromhex(live[1][3])[42:], payload)
        self.assertEqual(dumpcap.wait(20), 0)
        st = cd.stats("a0")
        self.assertEqual(st["state"], "up")
        self.assertGreaterEqual(int(st["packets"]), len(traffic))
        self.assertEqual(st["kernel_drops"], "0")

        # the same traffic from the file, fast, and with backpressure ("full"
        # every 2nd packet: every packet still arrives, once, in order)
        for args in ((), ("-F", "2")):
            rp = Capdump(self, None, "pcap:" + pcap, args=("-e",) + args)
            self.assertEqual(rp.proc.wait(20), 0)
            lines = rp.lines()
            self.assertEqual(udp_frames(lines), live, "\n".join(lines))
            self.assertTrue(any(re.match(r"^state pcap:\S+ eof cause=end ", ln) for ln in lines),
                            lines)
            st = [ln for ln in lines if ln.startswith("stats ")][-1]
            size = os.path.getsize(pcap)
            self.assertIn("packets=%d " % len(traffic), st)
            self.assertIn("offset=%d size=%d" % (size, size), st)
            self.assertIn("backlog_drops=0 ", st)

    def test_filter_passes_only_its_packets(self):
        a0 = self.veth(0)
        cd = Capdump(self, self.nsa, 'a0 filter "udp port 1812" role signalling')
        cd.wait_line(r"^state a0 up .*immediate mode \(TPACKET_V2\)")
        cd.wait_line(r"^ready$")
        self.send(0, (1813, 10), (1812, 11), (67, 12), (1812, 13), (5000, 14), (1812, 15))
        got = cd.wait_udp(3)
        time.sleep(0.2)  # anything else would have arrived before the last 1812 datagram
        got = udp_frames(cd.lines())
        self.assertEqual([(d, cl) for cl, _, d, _ in got], [(1812, 53), (1812, 55), (1812, 57)])
        self.assertEqual(len([ln for ln in cd.lines() if ln.startswith("pkt ")]), 3)
        self.assertEqual(a0, "a0")

    def test_deleted_interface_goes_down_others_keep_running_and_it_returns(self):
        self.veth(0)
        self.veth(1)
        cd = Capdump(self, self.nsa, "a0", "a1")
        cd.wait_line(r"^ready$")
        cd.wait_line(r"^state a1 up ")
        self.send(0, (1812, 10))
        self.send(1, (1812, 11))
        cd.wait_udp(1, "a0")
        cd.wait_udp(1, "a1")

        t0 = time.monotonic()
        run("ip", "-n", self.nsa, "link", "del", "a0")
        down = cd.wait_line(r"^state a0 down cause=(deleted|error) ", timeout=5)[0]
        self.assertLess(time.monotonic() - t0, 2.0, "down noticed late")
        self.assertIn("reopens when the interface returns", down)
        # the other source keeps printing
        self.send(1, (1812, 12), (1812, 13))
        self.assertEqual([cl for cl, _, _, _ in cd.wait_udp(3, "a1")], [53, 54, 55])
        self.assertEqual(cd.stats("a0")["state"], "down")

        # same name, new ifindex: the source reopens by itself
        self.veth(0)
        cd.wait_line(r"^state a0 up ", count=2)
        self.send(0, (1812, 20))
        self.assertEqual([cl for cl, _, _, _ in cd.wait_udp(2, "a0")], [52, 62])
        st = cd.stats("a0")
        self.assertEqual((st["state"], st["reopens"], int(st["packets"]) >= 2), ("up", "1", True))
        self.assertEqual(cd.stats("a1")["reopens"], "0")

    def test_missing_interface_at_start_comes_up_when_created(self):
        self.veth(0)
        cd = Capdump(self, self.nsa, "a2 role signalling", "a0")
        missing = cd.wait_line(r"^state a2 missing cause=absent ")[0]
        self.assertIn("capture begins when it appears", missing)
        cd.wait_line(r"^ready$")
        self.assertEqual(cd.stats("a2")["state"], "missing")
        self.veth(2)
        cd.wait_line(r"^state a2 up cause=opened ")
        self.send(2, (67, 30))
        self.assertEqual([(d, cl) for cl, _, d, _ in cd.wait_udp(1, "a2")], [(67, 72)])
        self.assertEqual(cd.stats("a2")["reopens"], "0")

    def test_interface_not_up_at_start_is_waited_for(self):
        # libpcap refuses an interface that is down; the source waits for IFF_UP
        self.veth(3, up=False)
        cd = Capdump(self, self.nsa, "a3")
        down = cd.wait_line(r"^state a3 down cause=not-up ")[0]
        self.assertIn("not up", down)
        cd.wait_line(r"^ready$")
        self.link_up(3)
        cd.wait_line(r"^state a3 up ")
        self.send(3, (1812, 40))
        self.assertEqual([(d, cl) for cl, _, d, _ in cd.wait_udp(1, "a3")], [(1812, 82)])
        self.assertFalse([ln for ln in cd.lines() if ln.startswith("warn ")])

    def test_super_packets_are_flagged_and_warned_once(self):
        # veth passes TCP segmentation-offload packets whole: AF_PACKET sees
        # frames far larger than the MTU, as behind GRO/LRO on a NIC
        self.veth(0)
        cd = Capdump(self, self.nsa, 'a0 filter "tcp port 5001"', args=("-x", "0"))
        cd.wait_line(r"^ready$")
        server = subprocess.Popen(
            ["ip", "netns", "exec", self.nsa, PY, "-c",
             "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
             "s.bind(('198.18.0.1',5001))\ns.listen(1)\nprint('l',flush=True)\nc,_=s.accept()\n"
             "while c.recv(65536): pass\n"], stdout=subprocess.PIPE)
        self.procs.append(server)
        server.stdout.readline()
        run("ip", "netns", "exec", self.nsb, PY, "-c",
            "import socket\ns=socket.create_connection(('198.18.0.1',5001))\n"
            "s.sendall(b'z'*2000000)\ns.close()\n")
        server.wait(20)
        cd.wait_line(r"^pkt a0 .* super$")
        warns = cd.wait_line(r"^warn a0 .*super-packet")
        st = cd.stats("a0")
        self.assertGreater(int(st["super"]), 0)
        self.assertEqual(len([ln for ln in cd.lines() if "super-packet" in ln]), 1)
        big = [ln.split() for ln in cd.lines() if ln.endswith(" super")]
        self.assertTrue(all(int(w[4]) > 1500 + 14 for w in big))
        small = [ln.split() for ln in cd.lines() if ln.startswith("pkt ") and not ln.endswith("super")]
        self.assertTrue(all(int(w[4]) <= 1500 + 22 for w in small), small[:3])
        self.assertIn("MTU 1500", warns[0])

    def write_pcap(self, path, gaps):
        """Ethernet/IPv4/UDP frames at 100 + cumulative gaps seconds, byte by byte."""
        out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)]
        t = 100.0
        for i, gap in enumerate(gaps):
            t += gap
            udp = struct.pack("!HHHH", 40000, 1812, 8 + 4, 0) + struct.pack("!I", i)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                             bytes([198, 18, 9, 2]), bytes([198, 18, 9, 1]))
            frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp
            sec = int(t)
            out.append(struct.pack("<IIII", sec, int(round((t - sec) * 1e6)), len(frame),
                                   len(frame)) + frame)
        with open(path, "wb") as f:
            f.write(b"".join(out))

    def test_pace_recorded_keeps_the_gaps_fast_does_not(self):
        pcap = os.path.join(self.dir, "paced.pcap")
        gaps = [0, 0.5, 0.01, 0.7, 0.3, 0.0, 1.0]   # 2.51 s from first to last
        self.write_pcap(pcap, gaps)
        runs = {}
        for pace in ("recorded", "fast"):
            t0 = time.monotonic()
            cd = Capdump(self, None, "pcap:%s pace %s" % (pcap, pace), args=("-e",))
            self.assertEqual(cd.proc.wait(30), 0)
            runs[pace] = (time.monotonic() - t0, udp_frames(cd.lines()))
        for pace, (_, frames) in runs.items():
            # every packet, in file order (the sequence number in the payload)
            self.assertEqual([int(h[84:92], 16) for _, _, _, h in frames], list(range(len(gaps))),
                             pace)
        self.assertGreaterEqual(runs["recorded"][0], sum(gaps))
        self.assertLess(runs["fast"][0], sum(gaps))


if __name__ == "__main__":
    unittest.main()
