"""Static interface mirroring on a live interface whose analyzer is reached through it
(README "Mirror triggers"; docs/sessions.md "Static mirrors"; docs/capture-sources.md
"Direction" and "Exclusion").

The test creates two network namespaces, A and B, joined by a veth (a0 198.18.0.1 in A,
b0 198.18.0.2 in B, static neighbours both ways, no IPv6: nothing on the link but what the
test sends and the daemon's datagrams).  pmirrord runs in A, captures a0 and has one rule
`mirror interface a0 analyzer 198.18.0.2:30030 id 77 direction D`: the analyzer is a UDP
socket in B, so every jmirror datagram leaves through the mirrored interface itself.

Traffic, in bounded counts, built with scapy and sent with sendp(): IN_N frames from b0 to
A's UDP sink (received on a0: ingress) and OUT_N frames from a0, with a0's own Ethernet
address, to B's UDP sink (sent on a0: egress).  For each direction the analyzer receives
exactly the frames of that direction (IN_N, OUT_N, both: IN_N + OUT_N, in the order sent),
each the IP packet byte for byte after the 8-octet jmirror header with mirror ID 77.

No loop: the datagrams to the analyzer never reach the capture.  The source's BPF filter
excludes them (STATS src:a0 `excluding` 1), so the source counts exactly the test's frames
(`packets`) and the data path's after-capture check finds none of its own (STATS jmirror
`own` 0).  Without the exclusion each datagram would be captured on its way out: `packets`
would count them too and `own` would count each one (the check after capture keeps them
from being mirrored, so the count at the analyzer alone cannot tell).

Ordering without sleeping: the last frame of each case is sent only after the analyzer has
received everything before it; the capture ring is read in order, so by the time that
frame's datagram arrives, any datagram of ours the capture could have seen has been seen.
"""
import ctypes
import os
import select
import socket
import struct
import threading
import time
import unittest

import pmtest
import test_capsrc as capsrc
import test_session_events as tse
from pmtest import wait_for

from scapy.all import IP, UDP, Ether, Raw  # noqa: E402

A_IP, B_IP = "198.18.0.1", "198.18.0.2"
A_IP6, B_IP6 = "2001:db8:18::1", "2001:db8:18::2"
AN_PORT = 30030               # the analyzer, in B, reached through a0
A_SINK, B_SINK = 7001, 7000   # where the test's traffic goes (no ICMP back)
MID = 77
IN_N, OUT_N = 3, 5            # different, so a count tells the direction
CLONE_NEWNET = 0x40000000

SENDP = r"""
import sys
from scapy.all import Raw, sendp
frames = [Raw(bytes.fromhex(l)) for l in open(sys.argv[1]).read().split()]
sendp(frames, iface=sys.argv[2], verbose=False)
"""


def udp_socket_in_netns(ns, addr, port):
    """A UDP socket bound to addr:port in network namespace ns (setns() in a thread of its
    own: the namespace is a thread's, the test's other threads stay where they are)."""
    libc = ctypes.CDLL(None, use_errno=True)
    out = {}

    def enter():
        fd = os.open("/run/netns/" + ns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                out["err"] = OSError(ctypes.get_errno(), "setns " + ns)
                return
        finally:
            os.close(fd)
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, port))
        s.setblocking(False)
        out["sock"] = s

    t = threading.Thread(target=enter)
    t.start()
    t.join()
    if "err" in out:
        raise out["err"]
    return out["sock"]


class StaticMirror(pmtest.PmTestCase):
    """A private world per test: namespaces A and B, pmirrord in A capturing a0."""
    _teardown = capsrc.CaptureSources._teardown
    veth = capsrc.CaptureSources.veth
    link_up = capsrc.CaptureSources.link_up
    mirror_stats = tse.RowsCase.mirror_stats

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (network namespaces)")
        capsrc.CaptureSources.setUp(self)   # namespaces A and B, removed at cleanup
        super().setUp()                     # pmirrord stopped before the namespaces go
        self.socks = []
        self.addCleanup(lambda: [s.close() for s in self.socks])

    def mac(self, ns, dev):
        return capsrc.run("ip", "-n", ns, "-o", "link", "show", dev) \
            .split("link/ether ")[1].split()[0]

    def start(self, direction, v6=False):
        """a0/b0, static neighbours, the sinks and the analyzer (IPv6 on the veth when v6,
        with a capture filter `udp` that leaves out the IPv6 link's own ICMPv6), pmirrord."""
        self.veth(0)
        self.a_mac, self.b_mac = self.mac(self.nsa, "a0"), self.mac(self.nsb, "b0")
        capsrc.run("ip", "-n", self.nsa, "neigh", "replace", B_IP, "lladdr", self.b_mac,
                   "dev", "a0", "nud", "permanent")
        an_ip, capture = B_IP, "capture a0"
        if v6:
            for ns, dev, addr, peer, mac in ((self.nsa, "a0", A_IP6, B_IP6, self.b_mac),
                                             (self.nsb, "b0", B_IP6, A_IP6, self.a_mac)):
                capsrc.run("ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                           "net.ipv6.conf.%s.disable_ipv6=0" % dev)
                capsrc.run("ip", "-n", ns, "addr", "add", addr + "/64", "dev", dev, "nodad")
                capsrc.run("ip", "-n", ns, "neigh", "replace", peer, "lladdr", mac, "dev", dev,
                           "nud", "permanent")
            an_ip, capture = B_IP6, 'capture a0 filter "udp"'
        self.an = udp_socket_in_netns(self.nsb, an_ip, AN_PORT)
        self.socks += [self.an, udp_socket_in_netns(self.nsa, A_IP, A_SINK),
                       udp_socket_in_netns(self.nsb, B_IP, B_SINK)]
        self.env.netns = self.nsa
        an = ("[%s]:%d" if v6 else "%s:%d") % (an_ip, AN_PORT)
        conf = self.env.pmirrord_conf("\n".join([
            capture, "mirror interface a0 analyzer %s id %d direction %s" % (an, MID, direction)]))
        self.env.start_pmirrord(conf_text=conf)

        def ready():
            self.assertAlive()
            try:
                st = self.mirror_stats()
            except AssertionError:   # the control socket is not there yet
                return False
            return {("src:a0", "state", 1), ("sessions", "intercepts", 1),
                    ("src:a0", "excluding", 1)} <= set(st)
        try:
            wait_for(ready, 30, what="a0 up, the static mirror running, its exclusion set")
        except AssertionError:
            raise AssertionError("not ready; statistics: %r" % (self.mirror_stats(),))

    # -- frames ---------------------------------------------------------------------------
    def inbound(self, i):
        """Received on a0: from B to A's sink."""
        return (Ether(src=self.b_mac, dst=self.a_mac) /
                IP(src=B_IP, dst=A_IP, id=1000 + i, ttl=64) / UDP(sport=40000 + i, dport=A_SINK) /
                Raw(b"ingress frame %d " % i + bytes(range(40))))

    def outbound(self, i):
        """Sent on a0 (a0's own address): from A to B's sink."""
        return (Ether(src=self.a_mac, dst=self.b_mac) /
                IP(src=A_IP, dst=B_IP, id=2000 + i, ttl=64) / UDP(sport=41000 + i, dport=B_SINK) /
                Raw(b"egress frame %d " % i + bytes(range(60))))

    def send(self, ns, dev, frames):
        path = self.env.path("frames-%d.hex" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write("".join(bytes(fr).hex() + "\n" for fr in frames))
        capsrc.run("ip", "netns", "exec", ns, capsrc.PY, "-c", SENDP, path, dev)

    def send_in(self, frames):
        self.send(self.nsb, "b0", frames)

    def send_out(self, frames):
        self.send(self.nsa, "a0", frames)

    # -- the analyzer ---------------------------------------------------------------------
    def jmirror(self, n, timeout=15):
        """n datagrams at the analyzer: [(mirror ID, session ID, the packet)]."""
        got, end = [], time.monotonic() + timeout
        while len(got) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("%d of %d jmirror datagrams: %r" % (len(got), n, got))
            if select.select([self.an], [], [], left)[0]:
                d = self.an.recv(65536)
                self.assertGreaterEqual(len(d), 8, d)
                mid, sid = struct.unpack("!II", d[:8])
                self.assertEqual(mid >> 30, 0, "jmirror version")
                got.append((mid, sid, d[8:]))
        return got

    def assertNoMoreDatagrams(self):
        try:
            d = self.an.recv(65536)
        except BlockingIOError:
            return
        self.fail("an unexpected datagram at the analyzer: %r" % d)

    def stat(self, source, name):
        for s, c, v in self.mirror_stats():
            if s == source and c == name:
                return v
        return None

    # -- the case -------------------------------------------------------------------------
    def run_case(self, direction, v6=False):
        self.start(direction, v6)
        ins = [self.inbound(i) for i in range(IN_N + 1)]
        outs = [self.outbound(i) for i in range(OUT_N + 1)]
        # IN_N frames in, OUT_N out; then, once the analyzer has them, one last frame of
        # the mirrored direction (its datagram arrives after anything the capture saw)
        self.send_in(ins[:IN_N])
        self.send_out(outs[:OUT_N])
        first = {"ingress": ins[:IN_N], "egress": outs[:OUT_N],
                 "both": ins[:IN_N] + outs[:OUT_N]}[direction]
        got = self.jmirror(len(first))
        last = outs[OUT_N:] if direction == "egress" else ins[IN_N:]
        (self.send_out if direction == "egress" else self.send_in)(last)
        got += self.jmirror(1)
        sids = {sid for _, sid, _ in got}
        self.assertEqual(len(sids), 1, got)
        want = [(MID, sid, bytes(f)[14:]) for f in first + last for sid in sids]
        self.assertEqual(got, want, "the frames of direction %s, byte for byte, in order"
                         % direction)
        self.assertNoMoreDatagrams()
        self.assertCaptured(IN_N + OUT_N + 1, len(want))

    def assertCaptured(self, sent, copies):
        """Every frame the test sent captured, and nothing else: the datagrams to the analyzer
        never came back through the capture."""
        try:
            wait_for(lambda: (self.stat("src:a0", "packets") or 0) >= sent and
                     (self.stat("jmirror", "copies") or 0) >= copies, 10,
                     what="the statistics of %d frames" % sent)
        except AssertionError:
            raise AssertionError("statistics: %r" % (self.mirror_stats(),))
        self.assertEqual(self.stat("src:a0", "packets"), sent,
                         "frames captured: the test's only, none of the datagrams to the "
                         "analyzer; statistics: %r" % (self.mirror_stats(),))
        self.assertEqual(self.stat("src:a0", "excluding"), 1)
        self.assertEqual(self.stat("jmirror", "own"), 0, "own datagrams captured")
        self.assertEqual(self.stat("jmirror", "copies"), copies)
        self.assertNoMoreDatagrams()

    def test_ingress_takes_only_received_frames(self):
        self.run_case("ingress")

    def test_egress_takes_only_sent_frames(self):
        self.run_case("egress")

    def test_both_takes_every_frame(self):
        self.run_case("both")

    def test_ipv6_analyzer_through_the_interface(self):
        """The analyzer at an IPv6 address of the link, a capture filter of the directive's
        own (`udp`): "(udp) and not (the IPv6 exclusion)" keeps the datagrams out."""
        self.run_case("both", v6=True)

    def test_fragments_of_our_datagrams_are_excluded_too(self):
        """A received packet of 1500 octets (a0's MTU) leaves as a datagram the kernel
        fragments (IP_PMTUDISC_DONT); the later fragment carries no ports and is excluded
        by its own clause (ip[6:2] & 0x1fff != 0): captured, it would count as a frame."""
        self.start("ingress")
        big = (Ether(src=self.b_mac, dst=self.a_mac) /
               IP(src=B_IP, dst=A_IP, id=3000, ttl=64) / UDP(sport=42000, dport=A_SINK) /
               Raw(bytes(i & 0xff for i in range(1472))))
        self.assertEqual(len(bytes(big)) - 14, 1500)
        self.send_in([big])
        got = self.jmirror(1)
        self.send_in([self.inbound(0)])
        got += self.jmirror(1)
        sid = got[0][1]
        self.assertEqual(got, [(MID, sid, bytes(big)[14:]),
                               (MID, sid, bytes(self.inbound(0))[14:])])
        self.assertCaptured(2, 2)

    def test_egress_follows_a_new_interface_address(self):
        """a0's Ethernet address changes while it is captured (RTM_NEWLINK): the frames sent
        from the new address are egress, those from the old one no longer are."""
        self.start("egress")
        old = self.a_mac
        self.a_mac = "02:00:00:18:00:01"
        capsrc.run("ip", "-n", self.nsa, "link", "set", "a0", "address", self.a_mac)
        capsrc.run("ip", "-n", self.nsb, "neigh", "replace", A_IP, "lladdr", self.a_mac,
                   "dev", "b0", "nud", "permanent")
        # the NEWLINK reaches the capture process at some point after the change: frames
        # until one of them is mirrored, bounded (sent one at a time)
        got, sent = [], 0
        for i in range(20):
            self.send_out([self.outbound(i)])
            sent += 1
            try:
                got = self.jmirror(1, timeout=0.5)
                break
            except AssertionError:
                continue
        self.assertEqual(len(got), 1, "no frame from the new address mirrored")
        self.assertEqual(got[0][2], bytes(self.outbound(i))[14:])
        # from the old address: not ours any more, so received, and not mirrored
        stale = Ether(src=old, dst=self.b_mac) / IP(src=A_IP, dst=B_IP, id=4000) / \
            UDP(sport=43000, dport=B_SINK) / Raw(b"from the old address" + bytes(40))
        self.send_out([stale, self.outbound(99)])
        got += self.jmirror(1)
        self.assertEqual(got[1][2], bytes(self.outbound(99))[14:])
        self.assertNoMoreDatagrams()
        # the address change may make the kernel send frames of its own: no exact count
        wait_for(lambda: (self.stat("jmirror", "copies") or 0) >= 2, 10, what="2 copies")
        self.assertEqual((self.stat("jmirror", "copies"), self.stat("jmirror", "own")), (2, 0))
        self.assertGreaterEqual(self.stat("src:a0", "packets"), sent + 2)


if __name__ == "__main__":
    unittest.main()
