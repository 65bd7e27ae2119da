"""DHCPv4 with option 82 on a live interface (README, "Subscribers, triggers and mirroring
events", "Mirror triggers"; docs/dhcp.md).

The test creates two network namespaces, A and B, joined by a veth (a0 in A, b0 in B,
198.18.0.0/24).  snmptrapd (with Juniper-PACKET-MIRROR-MIB) and pmirrord run in A;
pmirrord captures a0 (`capture a0`) with `dhcpServer` DHCP_SERVER and `mirror` rules whose
analyzer is a UDP socket of the test on 127.0.0.2 in A.  scapy builds the frames of a
relayed exchange (the relay-to-server and server-to-relay legs, option 82 echoed by the
server) and of subscribers' data, and sends them with sendp() on b0 in B.

How "no other notification" and "not mirrored" are known without sleeping: every test ends
with a marker subscriber whose binding matches a rule of its own (mirror ID MARK_ID) and
whose data follow it.  The capture process handles packets in the order they arrive, and
notifications and jmirror datagrams leave in the order of their events, so once the
marker's SessionStart is at snmptrapd and its datagrams are at the analyzer, everything the
earlier frames caused is there too.
"""
import ctypes
import os
import select
import socket
import struct
import threading
import time
import unittest

import test_capsrc as capsrc
import test_session_events as tse
from pmtest import wait_for

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, Raw  # noqa: E402

DHCP_SERVER, RELAY, GIADDR = "198.18.1.2", "198.18.1.1", "198.18.100.1"
ROGUE = "198.18.1.66"
PEER = "198.19.0.7"                      # the far end of subscribers' data
AN = "127.0.0.2"                         # the analyzer, in namespace A
CLONE_NEWNET = 0x40000000

CIRCUIT = b"eth0/1/0:100"
REMOTE = bytes.fromhex("0011223344aa")
MARK_CIRCUIT = b"marker-circuit"

# sendp() of frames the test built, one hex line each, on an interface
SENDP = r"""
import sys
from scapy.all import Raw, sendp
frames = [Raw(bytes.fromhex(l)) for l in open(sys.argv[1]).read().split()]
sendp(frames, iface=sys.argv[2], verbose=False)
"""


def opt82(circuit, remote=None):
    """Option 82's value: sub-option 1 (Agent Circuit ID), then 2 (Agent Remote ID)."""
    v = bytes([1, len(circuit)]) + circuit
    if remote is not None:
        v += bytes([2, len(remote)]) + remote
    return v


def udp_socket_in_netns(ns, addr):
    """A UDP socket bound to addr:0 in network namespace ns (setns() in a thread of its own:
    the namespace is a thread's, so the test's other threads stay where they are)."""
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
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, 0))
        out["sock"] = s

    t = threading.Thread(target=enter)
    t.start()
    t.join()
    if "err" in out:
        raise out["err"]
    return out["sock"]


class Client:
    def __init__(self, n, ip, rai):
        self.n, self.ip, self.rai = n, ip, rai
        self.mac = "02:00:00:00:02:%02x" % n
        self.chaddr = bytes.fromhex(self.mac.replace(":", "")) + bytes(10)


class DhcpLive(tse.RowsCase):
    """A private world per test: namespaces A and B, snmptrapd and pmirrord in A."""
    _teardown = capsrc.CaptureSources._teardown
    veth = capsrc.CaptureSources.veth
    link_up = capsrc.CaptureSources.link_up

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (network namespaces)")
        # namespaces A and B (lo up, no IPv6 chatter); `ip netns del` at cleanup, after
        # the daemons are stopped (cleanups run last in, first out)
        capsrc.CaptureSources.setUp(self)
        super().setUp()
        self.env.secrets.update({CIRCUIT.decode(), MARK_CIRCUIT.decode(), "eth9/9/9:9", "rid-9"})
        self.rx = None
        self.mark = Client(99, "198.18.100.250", opt82(MARK_CIRCUIT))

    def tearDown(self):
        if self.rx is not None:
            self.rx.close()
        super().tearDown()

    # -- the world ------------------------------------------------------------------------
    def start(self, rules):
        """veth a0/b0, the analyzer socket, snmptrapd and pmirrord (capture a0) in A; returns
        when a0 is up and the rules (and the marker's) are in force in the capture process."""
        self.veth(0)
        self.a0_mac = capsrc.run("ip", "-n", self.nsa, "-o", "link", "show", "a0") \
            .split("link/ether ")[1].split()[0]
        self.rx = udp_socket_in_netns(self.nsa, AN)
        self.port = self.rx.getsockname()[1]
        self.rx.setblocking(False)
        self.env.netns = self.nsa
        self.start_trapd_with_mibs("snmptrapd", self.env.trap_port)
        rules = [r % {"an": "%s:%d" % (AN, self.port)} for r in rules]
        rules.append("mirror agentCircuitId %s analyzer %s:%d id %d" % (MARK_CIRCUIT.decode(), AN, self.port,
                                                                      tse.MARK_ID))
        conf = "\n".join(["trapEnable true", self.env.trap_host(), "capture a0",
                          "dhcpServer %s" % DHCP_SERVER] + rules + [""])
        self.env.start_pmirrord(conf)

        def ready():
            self.assertAlive()
            try:
                st = self.mirror_stats()
            except AssertionError:   # the control socket is not there yet
                return False
            return (("src:a0", "state", 1) in st and ("sessions", "triggers", len(rules)) in st)
        try:
            wait_for(ready, 30, what="a0 up and the rules in force")
        except AssertionError:
            raise AssertionError("not ready; statistics: %r" % (self.mirror_stats(),))

    # -- frames ---------------------------------------------------------------------------
    def eth(self, p):
        return Ether(src="02:00:00:00:01:01", dst=self.a0_mac) / p

    def to_server(self, c, msg, extra=()):
        """The relay's copy of a client's message towards the server, option 82 added."""
        opts = [("message-type", msg), *extra, ("relay_agent_information", c.rai), "end"]
        return self.eth(IP(src=RELAY, dst=DHCP_SERVER) / UDP(sport=67, dport=67) /
                        BOOTP(op=1, hops=1, xid=c.n, giaddr=GIADDR, chaddr=c.chaddr) / DHCP(options=opts))

    def from_server(self, c, msg, src=DHCP_SERVER):
        """The server's reply to the relay (the server-to-relay leg), option 82 echoed."""
        opts = [("message-type", msg), ("server_id", DHCP_SERVER), ("lease_time", 3600),
                ("relay_agent_information", c.rai), "end"]
        return self.eth(IP(src=src, dst=RELAY) / UDP(sport=67, dport=67) /
                        BOOTP(op=2, hops=1, xid=c.n, yiaddr=c.ip, giaddr=GIADDR, chaddr=c.chaddr) /
                        DHCP(options=opts))

    def exchange(self, c):
        """DISCOVER, OFFER, REQUEST, ACK through the relay."""
        return [self.to_server(c, "discover"), self.from_server(c, "offer"),
                self.to_server(c, "request", [("requested_addr", c.ip), ("server_id", DHCP_SERVER)]),
                self.from_server(c, "ack")]

    def release(self, c):
        """RELEASE, unicast from the client's own address to the server (no relay)."""
        return self.eth(IP(src=c.ip, dst=DHCP_SERVER) / UDP(sport=68, dport=67) /
                        BOOTP(op=1, xid=c.n + 1000, ciaddr=c.ip, chaddr=c.chaddr) /
                        DHCP(options=[("message-type", "release"), ("server_id", DHCP_SERVER), "end"]))

    def data(self, c, tag, count=2):
        """count datagrams from the client to PEER and one answer back."""
        out = [self.eth(IP(src=c.ip, dst=PEER, id=c.n * 100 + i) / UDP(sport=4000 + i, dport=9) /
                        Raw(b"%s client %d packet %d" % (tag, c.n, i))) for i in range(count)]
        out.append(self.eth(IP(src=PEER, dst=c.ip, id=c.n * 100 + 99) / UDP(sport=9, dport=4000) /
                            Raw(b"%s answer to client %d" % (tag, c.n))))
        return out

    def send(self, frames):
        """The frames, in order, by scapy's sendp() on b0 in B; returns (before, after) in
        wall time (the packet times DateAndTime comes from)."""
        raw = [bytes(f) for f in frames]
        path = self.env.path("frames-%d.hex" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write("".join(r.hex() + "\n" for r in raw))
        t0 = time.time()
        capsrc.run("ip", "netns", "exec", self.nsb, capsrc.PY, "-c", SENDP, path, "b0")
        return t0, time.time()

    # -- the analyzer ---------------------------------------------------------------------
    def jmirror(self, n, timeout=15):
        """n jmirror datagrams: [(mirror ID, session ID, the packet from its IP header)]."""
        got, end = [], time.monotonic() + timeout
        while len(got) < n:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("%d of %d jmirror datagrams: %r" % (len(got), n, got))
            if select.select([self.rx], [], [], left)[0]:
                d = self.rx.recv(65536)
                self.assertGreaterEqual(len(d), 8, d)
                mid, sid = struct.unpack("!II", d[:8])
                self.assertEqual(mid >> 30, 0, "jmirror version")
                got.append((mid, sid, d[8:]))
        return got

    def assertNoMoreDatagrams(self):
        try:
            d = self.rx.recv(65536)
        except BlockingIOError:
            return
        self.fail("an unexpected jmirror datagram: %r" % d)

    def want_mirrored(self, frames, mid, sid):
        return [(mid, sid, bytes(f)[14:]) for f in frames]

    def marker_frames(self):
        self.mark_data = self.data(self.mark, b"marker")
        return self.exchange(self.mark) + self.mark_data

    def until_marker_all(self):
        """The notifications before the marker's, and the marker's session ID."""
        before = self.until_marker()
        mark = [v for _, v in self.lines() if v.get("MID") == tse.MARK_ID]
        self.assertEqual(len(mark), 1, mark)
        return before, mark[0]["SID"]

    def session(self, tt, tr, mid, sid, c):
        return tse.Session(2, tt, tr, tse.u32(GIADDR), mid, sid, AN, tip=c.ip)

    # -- cases ------------------------------------------------------------------------------
    def test_option82_rules_start_sessions_and_mirror(self):
        """agentCircuitId (text), agentRemoteId (0x octets), dhcpOption82 (0x, the whole
        option): each client's relayed exchange raises one SessionStart with its rule's
        values; a client no rule matches raises nothing; then each bound client's packets,
        both ways, reach the analyzer as jmirror (mirror ID, session ID, the IP packet byte
        for byte), and the other client's do not."""
        whole = opt82(b"eth9/9/9:9", b"rid-9")
        self.start(["mirror agentCircuitId %s analyzer %%(an)s id 900" % CIRCUIT.decode(),
                    "mirror agentRemoteId 0x%s analyzer %%(an)s id 901" % REMOTE.hex(),
                    "mirror dhcpOption82 0x%s analyzer %%(an)s id 902" % whole.hex()])
        c1 = Client(1, "198.18.100.11", opt82(CIRCUIT, b"remote-one"))
        c2 = Client(2, "198.18.100.12", opt82(b"eth0/1/0:200", REMOTE))
        c3 = Client(3, "198.18.100.13", whole)
        c4 = Client(4, "198.18.100.14", opt82(CIRCUIT + b"0", REMOTE + b"\x00"))   # matches no rule
        dt = self.send(self.exchange(c1) + self.exchange(c2) + self.exchange(c3) + self.exchange(c4))
        wait_for(lambda: self.assertAlive() or len(self.lines()) >= 3, 15, what="three SessionStarts")
        d1, d2, d3, d4 = (self.data(c, b"bound") for c in (c1, c2, c3, c4))
        self.send(d1 + d2 + d3 + d4 + self.marker_frames())
        got, mark_sid = self.until_marker_all()
        want = [self.session(7, CIRCUIT.decode(), 900, 1, c1),
                self.session(8, {"0x" + REMOTE.hex(), REMOTE}, 901, 2, c2),
                self.session(6, {"0x" + whole.hex(), whole}, 902, 3, c3)]
        self.assertEvents(got, [s.ev("SessionStart", dt) for s in want])
        mirrored = (self.want_mirrored(d1, 900, 1) + self.want_mirrored(d2, 901, 2) +
                    self.want_mirrored(d3, 902, 3) +
                    self.want_mirrored(self.mark_data, tse.MARK_ID, mark_sid))
        self.assertEqual(self.jmirror(len(mirrored)), mirrored)
        self.assertNoMoreDatagrams()

    def test_ack_from_an_untrusted_address_binds_nothing(self):
        """An ACK with a rule's option 82 from an address that is not a dhcpServer: no
        notification, counted as untrusted, the client's packets are not mirrored."""
        self.start(["mirror agentCircuitId %s analyzer %%(an)s id 910" % CIRCUIT.decode()])
        x = Client(5, "198.18.100.15", opt82(CIRCUIT, REMOTE))
        self.send([self.to_server(x, "request", [("requested_addr", x.ip), ("server_id", DHCP_SERVER)]),
                   self.from_server(x, "ack", src=ROGUE)] + self.data(x, b"rogue") + self.marker_frames())
        got, mark_sid = self.until_marker_all()
        self.assertEqual(got, [])
        self.assertCounter("dhcp", "untrusted", 1, at_least=True)
        mirrored = self.want_mirrored(self.mark_data, tse.MARK_ID, mark_sid)
        self.assertEqual(self.jmirror(len(mirrored)), mirrored)
        self.assertNoMoreDatagrams()

    def test_release_from_the_bound_address_ends_the_session(self):
        """RELEASE from the bound client's own address: SessionEnd userRequest(1); the
        RELEASE is the last of its packets mirrored, those after it are not."""
        self.start(["mirror agentCircuitId %s analyzer %%(an)s id 920" % CIRCUIT.decode()])
        c = Client(6, "198.18.100.16", opt82(CIRCUIT, REMOTE))
        before = self.data(c, b"before")
        dt_start = self.send(self.exchange(c) + before)
        self.assertEqual(self.jmirror(len(before)), self.want_mirrored(before, 920, 1))
        rel = self.release(c)
        dt_end = self.send([rel] + self.data(c, b"after") + self.marker_frames())
        got, mark_sid = self.until_marker_all()
        s = self.session(7, CIRCUIT.decode(), 920, 1, c)
        self.assertEvents(got, [s.ev("SessionStart", dt_start),
                                s.ev("SessionEnd", dt_end, TRM=tse.TRM[1])])
        # the RELEASE is the target's own packet, the last one mirrored
        mirrored = (self.want_mirrored([rel], 920, 1) +
                    self.want_mirrored(self.mark_data, tse.MARK_ID, mark_sid))
        self.assertEqual(self.jmirror(len(mirrored)), mirrored)
        self.assertNoMoreDatagrams()

if __name__ == "__main__":
    unittest.main()
